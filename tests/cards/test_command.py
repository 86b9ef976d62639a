"""`dancu card`: the issuer's key is rotated and its key set printed for offline verifiers, and `verify`
reads a file or standard input, refusing clearly what it cannot read."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dancu.audit.models import AuditEvent, EventType
from dancu.cards.models import Card, IssuerKey

QR = "001090012345||Nguyễn Văn Hùng|17051990|Nam|Số 1 phố Hàng Trống, Hà Nội|20032026"


def test_rotate_key_signs_with_a_new_key_and_keys_prints_them_all(tmp_path: Path, delivered: Card) -> None:
    first = IssuerKey.objects.get()
    out = io.StringIO()
    call_command("card", "rotate-key", stdout=out)
    new = IssuerKey.objects.get(retired_at__isnull=True)
    assert out.getvalue().strip() == f"{new.key_id} {new.public_key}"
    assert new != first
    event = AuditEvent.objects.get(event_type=EventType.CARD_ISSUER_KEY_CREATED, subject_id=new.key_id)
    assert event.actor_label == "system:cards-rotate-key"

    out = io.StringIO()
    call_command("card", "keys", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed == {first.key_id: first.public_key, new.key_id: new.public_key}
    key_file = tmp_path / "keys.json"
    call_command("card", "keys", "--output", str(key_file), stdout=io.StringIO())
    assert json.loads(key_file.read_text(encoding="utf-8")) == printed
    # The card signed with the retired key still verifies offline against the exported set.
    chip_file = tmp_path / "chip.json"
    chip_file.write_text(delivered.chip_document, encoding="utf-8")
    out = io.StringIO()
    call_command("card", "verify", str(chip_file), "--keys", str(key_file), stdout=out)
    assert out.getvalue().startswith("OK chip")


def test_verify_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(QR.encode("utf-8"))))
    out = io.StringIO()
    call_command("card", "verify", stdout=out)
    assert out.getvalue().startswith("OK qr: ")
    assert '"full_name": "Nguyễn Văn Hùng"' in out.getvalue()


def test_verify_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    qr_file = tmp_path / "qr.txt"
    qr_file.write_text(QR, encoding="utf-8")
    with pytest.raises(CommandError, match="No such file or directory"):
        call_command("card", "verify", str(tmp_path / "missing.txt"))
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 100_001)
    with pytest.raises(CommandError, match="larger than 100000 bytes: not a card's data"):
        call_command("card", "verify", str(big))
    with pytest.raises(CommandError, match="--keys: cannot read the key set"):
        call_command("card", "verify", str(qr_file), "--keys", str(tmp_path / "none.json"))
    not_json = tmp_path / "keys.txt"
    not_json.write_text("C06-1 AAAA", encoding="utf-8")
    with pytest.raises(CommandError, match="--keys: cannot read the key set"):
        call_command("card", "verify", str(qr_file), "--keys", str(not_json))
    a_list = tmp_path / "list.json"
    a_list.write_text('["C06-1"]', encoding="utf-8")
    with pytest.raises(CommandError, match="must be a JSON object"):
        call_command("card", "verify", str(qr_file), "--keys", str(a_list))
