"""`dancu card verify [FILE]`: check a card's QR payload, 3-line MRZ or chip document.

Reads FILE, or standard input when FILE is absent or "-", recognizes which of the three it is, exits 0 when
it is valid and 1 otherwise, saying exactly what fails. Chip documents are checked against the issuers'
public keys in the database, or, offline, against a key set file (`--keys`, JSON {key id: public key}).

`dancu card keys` prints that key set; `dancu card rotate-key [--key-lost]` starts a new issuer key, on a
node that can read the current one unless the operator declares it lost; `dancu card expire` marks the
cards past their expiry (the workers do it every night, `cards.tasks.expire_due`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dancu.audit.services import Actor
from dancu.cards.services import cards_expire_due, issuer_key_create, public_key_set
from dancu.cards.verify import verify_text
from dancu.lib.command_options import check_output_files
from dancu.lib.errors import DomainError, command_error_from

MAX_INPUT = 100_000
NO_KEY_YET = (
    "Chưa có khóa ký nào của cơ quan cấp thẻ: khóa đầu tiên được tạo khi ký lần đầu (lô sản xuất đầu tiên) "
    "hoặc bằng lệnh dancu card rotate-key / No issuer signing key yet: the first one is made at the first "
    "signature (the first production batch) or by the command dancu card rotate-key"
)


class Command(BaseCommand):
    help = (
        "Kiểm tra thẻ căn cước: nội dung QR, MRZ 3 dòng hoặc dữ liệu chip. "
        "Verify an identity card's QR payload, 3-line MRZ or chip document."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="verify a QR payload, an MRZ or a chip document")
        verify.add_argument("file", nargs="?", default="-")
        verify.add_argument("--keys", type=Path, help="JSON key set {key id: public key}, for offline use")
        keys = sub.add_parser("keys", help="print the issuers' public key set (JSON) for offline verifiers")
        keys.add_argument("--output", type=Path)
        sub.add_parser(
            "expire", help="mark active cards past their expiry as expired (the workers do it nightly)"
        )
        rotate = sub.add_parser(
            "rotate-key", help="start signing chips with a new issuer key; old keys keep verifying"
        )
        rotate.add_argument(
            "--key-lost",
            action="store_true",
            help="the current key's private file is truly lost: rotate without it (recorded in the audit)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "expire":
            count = cards_expire_due(actor=Actor(system="cards-expire"))
            self.stdout.write(f"{count} thẻ hết hạn / cards expired")
            return
        if options["action"] == "rotate-key":
            try:
                key = issuer_key_create(actor=Actor(system="cards-rotate-key"), key_lost=options["key_lost"])
            except DomainError as exc:
                raise command_error_from(exc) from None
            self.stdout.write(f"{key.key_id} {key.public_key}")
            return
        if options["action"] == "keys":
            if options["output"]:
                # Checked before the key set is read, by the rules of every command's output file: a folder
                # that does not exist (a mount missing on this node) was a FileNotFoundError's traceback.
                check_output_files({"--output": options["output"]}, inputs={})
            key_set = public_key_set()
            text = json.dumps(key_set, indent=2, sort_keys=True)
            if options["output"]:
                options["output"].write_text(text + "\n", encoding="utf-8")
            if not key_set:
                # A bare `{}` leaves the operator guessing: say why the set is empty (the file, when asked
                # for, is still written, a valid empty set).
                self.stdout.write(NO_KEY_YET)
            elif not options["output"]:
                self.stdout.write(text)
            return
        text = self._read(options["file"])
        if options["keys"]:
            try:
                keys = json.loads(options["keys"].read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"--keys: cannot read the key set: {exc}") from None
            if not isinstance(keys, dict):
                raise CommandError("--keys: the key set must be a JSON object {key id: public key}")
        else:
            keys = public_key_set()
        verdict = verify_text(text, public_keys=keys, today=timezone.localdate())
        if verdict.valid:
            self.stdout.write(
                f"OK {verdict.kind}: " + json.dumps(verdict.summary, ensure_ascii=False, default=str)
            )
            return
        self.stderr.write(f"INVALID {verdict.kind}:")
        for error in verdict.errors:
            self.stderr.write(f"  {error.field}: {error.code}: {error.message_en} / {error.message_vi}")
        sys.exit(1)

    def _read(self, name: str) -> str:
        try:
            if name == "-":
                raw = sys.stdin.buffer.read(MAX_INPUT + 1)
            else:
                with Path(name).open("rb") as handle:
                    raw = handle.read(MAX_INPUT + 1)
        except OSError as exc:
            raise CommandError(f"{name}: {exc.strerror}") from None
        if len(raw) > MAX_INPUT:
            raise CommandError(f"{name}: larger than {MAX_INPUT} bytes: not a card's data")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CommandError(f"{name}: not UTF-8 text") from None
