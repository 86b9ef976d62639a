"""The issuer's keys, by the operator's command (session h84): `dancu card rotate-key` on a node whose shared
DANCU_ISSUER_KEY_DIR is not mounted refuses (`issuer.key_not_here`) instead of retiring the national key
for every node, unless the operator declares the key lost (`--key-lost`, kept in the audit event); `dancu
card keys` explains an empty key set; the issuer-key messages name the command without backticks, which
the officer's page would show as they are."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from dancu.accounts.models import User
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.cards import services
from dancu.cards.models import Application, Card, IssuerKey, ProductionBatch
from dancu.lib.errors import DomainError
from tests.cards.conftest import centre_answers, trail
from tests.cards.test_page_actions import messages_of
from tests.cards.test_pages_and_api import api_client
from tests.conftest import Personas

SignIn = Callable[[Client, User], Client]
NOT_HERE = "issuer.key_not_here"


def not_here_vi(key: IssuerKey) -> str:
    return (
        f"Máy chủ này không đọc được khóa ký hiện tại {key.key_id} của cơ quan cấp thẻ trong thư mục "
        "DANCU_ISSUER_KEY_DIR: chưa tạo khóa mới, khóa hiện tại vẫn dùng. Khóa mới tạo ở đây sẽ thay "
        "khóa của mọi máy chủ. Quản trị viên gắn thư mục khóa dùng chung rồi làm lại; chỉ khi khóa "
        "thật sự bị mất mới chạy lệnh dancu card rotate-key --key-lost"
    )


def not_here_en(key: IssuerKey) -> str:
    return (
        f"This server cannot read the card issuer's current signing key {key.key_id} in "
        "DANCU_ISSUER_KEY_DIR: no key was made and the current key stays in use. A key made here "
        "would replace it for every server. The administrator mounts the shared key directory and "
        "tries again; only if the key is truly lost, run the command dancu card rotate-key --key-lost"
    )


def creation_of(key: IssuerKey) -> AuditEvent:
    return AuditEvent.objects.get(event_type=EventType.CARD_ISSUER_KEY_CREATED, subject_id=key.key_id)


# 1. rotate-key on a node without the shared directory ---------------------------------------------------


def test_rotate_key_on_a_node_without_the_key_is_refused_by_name_and_changes_nothing(
    current_key: IssuerKey, unmounted: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = trail()
    out = io.StringIO()

    with pytest.raises(CommandError) as refused:
        call_command("card", "rotate-key", stdout=out)

    # Was: a new key written into the empty local directory and the national key retired, silently.
    assert str(refused.value) == f"{not_here_vi(current_key)} / {not_here_en(current_key)}"
    assert out.getvalue() == ""
    assert trail() == before
    assert IssuerKey.objects.get(retired_at__isnull=True) == current_key
    assert not any(unmounted.iterdir())
    # The operator's log names the file this node looked for.
    assert str(unmounted / f"{current_key.key_id}.pem") in caplog.text


@pytest.mark.parametrize("content", ["garbage", "not ed25519"])
def test_the_service_names_the_rule_and_the_key_for_an_unreadable_private_half(
    personas: Personas, current_key: IssuerKey, settings: Any, content: str
) -> None:
    path = settings.DANCU_ISSUER_KEY_DIR / f"{current_key.key_id}.pem"
    if content == "garbage":
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    else:
        other = ec.generate_private_key(ec.SECP256R1())
        path.write_bytes(other.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    before = trail()

    with pytest.raises(DomainError) as refused:
        services.issuer_key_create(actor=Actor(personas.minh))

    assert [(e.field, e.code, e.params) for e in refused.value.errors] == [
        ("issuer_key", NOT_HERE, {"key_id": current_key.key_id})
    ]
    [error] = refused.value.errors
    assert (error.message_vi, error.message_en) == (not_here_vi(current_key), not_here_en(current_key))
    assert trail() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_key_lost_rotates_without_the_key_and_the_audit_event_says_so(
    personas: Personas, application: Application, current_key: IssuerKey, unmounted: Path
) -> None:
    out = io.StringIO()

    call_command("card", "rotate-key", "--key-lost", stdout=out)

    new = IssuerKey.objects.get(retired_at__isnull=True)
    assert out.getvalue().strip() == f"{new.key_id} {new.public_key}"
    current_key.refresh_from_db()
    assert current_key.retired_at is not None
    assert [p.name for p in unmounted.iterdir()] == [f"{new.key_id}.pem"]
    event = creation_of(new)
    assert event.actor_label == "system:cards-rotate-key"
    assert event.data == {
        "authority": "C06",
        "public_key": new.public_key,
        "retired_key": current_key.key_id,
        "retired_key_lost": True,
    }
    assert event.reason == "khóa ký trước bị mất / the previous signing key was lost"
    # The new key signs, here.
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    assert batch.manifest["kid"] == new.key_id
    centre_answers(personas, batch, application)
    assert Card.objects.get().application == application


@pytest.mark.parametrize("key_lost", [False, True], ids=["plain", "key-lost-but-present"])
def test_a_normal_rotation_works_as_before_and_records_the_key_it_retired(
    current_key: IssuerKey, settings: Any, key_lost: bool
) -> None:
    args = ["rotate-key", "--key-lost"] if key_lost else ["rotate-key"]
    out = io.StringIO()

    call_command("card", *args, stdout=out)

    new = IssuerKey.objects.get(retired_at__isnull=True)
    assert out.getvalue().strip() == f"{new.key_id} {new.public_key}"
    current_key.refresh_from_db()
    assert current_key.retired_at is not None
    assert (settings.DANCU_ISSUER_KEY_DIR / f"{new.key_id}.pem").exists()
    assert (settings.DANCU_ISSUER_KEY_DIR / f"{current_key.key_id}.pem").exists()
    event = creation_of(new)
    # The key was readable: an operator's --key-lost changes nothing and is not recorded as a loss.
    assert event.data["retired_key"] == current_key.key_id
    assert event.data["retired_key_lost"] is False
    assert event.reason == ""


def test_a_key_file_that_cannot_be_written_still_rolls_the_rotation_back(
    personas: Personas, current_key: IssuerKey, settings: Any
) -> None:
    # The directory is there and the current key readable, but the new key's file name is taken by a
    # directory (the ids are the authority, the second and a counter: every id of the next minute).
    start = timezone.now()
    for second in range(60):
        stamp = start + timedelta(seconds=second)
        (settings.DANCU_ISSUER_KEY_DIR / f"C06-{stamp:%Y%m%d%H%M%S}-2.pem").mkdir()
    before = trail()

    with pytest.raises(DomainError) as refused:
        services.issuer_key_create(actor=Actor(personas.minh))

    assert [(e.field, e.code) for e in refused.value.errors] == [("issuer_key", "issuer.key_dir_unwritable")]
    assert trail() == before
    assert IssuerKey.objects.get(retired_at__isnull=True) == current_key


def test_the_first_key_is_made_by_rotate_key_as_before(settings: Any) -> None:
    assert not IssuerKey.objects.exists()
    out = io.StringIO()

    call_command("card", "rotate-key", stdout=out)

    key = IssuerKey.objects.get()
    assert key.retired_at is None
    assert out.getvalue().strip() == f"{key.key_id} {key.public_key}"
    assert (settings.DANCU_ISSUER_KEY_DIR / f"{key.key_id}.pem").exists()
    event = creation_of(key)
    assert event.data == {"authority": "C06", "public_key": key.public_key}


# 2. `dancu card keys` with no key yet --------------------------------------------------------------------

NO_KEY_YET = (
    "Chưa có khóa ký nào của cơ quan cấp thẻ: khóa đầu tiên được tạo khi ký lần đầu (lô sản xuất đầu tiên) "
    "hoặc bằng lệnh dancu card rotate-key / No issuer signing key yet: the first one is made at the first "
    "signature (the first production batch) or by the command dancu card rotate-key\n"
)


def test_keys_explains_an_empty_key_set_instead_of_printing_braces(tmp_path: Path) -> None:
    assert not IssuerKey.objects.exists()
    out = io.StringIO()

    call_command("card", "keys", stdout=out)

    # Was: "{}".
    assert out.getvalue() == NO_KEY_YET
    # A file asked for is still written, a valid empty set for scripts, and the note says why.
    key_file = tmp_path / "keys.json"
    out = io.StringIO()
    call_command("card", "keys", "--output", str(key_file), stdout=out)
    assert json.loads(key_file.read_text(encoding="utf-8")) == {}
    assert out.getvalue() == NO_KEY_YET


def test_keys_prints_existing_keys_as_before(current_key: IssuerKey, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("card", "keys", stdout=out)
    assert out.getvalue() == json.dumps({current_key.key_id: current_key.public_key}, indent=2) + "\n"
    out = io.StringIO()
    call_command("card", "keys", "--output", str(tmp_path / "keys.json"), stdout=out)
    assert out.getvalue() == ""


# 3. the issuer-key messages, as the officer's page shows them --------------------------------------------


def test_the_key_missing_message_names_the_command_without_backticks(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    application: Application,
    current_key: IssuerKey,
    unmounted: Path,
    client: Client,
    sign_in: SignIn,
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    sign_in(client, personas.cuong)

    response = client.post("/cards/batches/", follow=True)

    [message] = messages_of(response)
    assert "`" not in message
    assert message.endswith(
        "hoặc, nếu khóa thật sự bị mất, chủ động tạo khóa mới bằng lệnh dancu card rotate-key --key-lost "
        "[issuer_key: issuer.key_missing]"
    )
    answer = api_client(personas.cuong).post("/api/v1/cards/batches")
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["code"] == "issuer.key_missing"
    assert "`" not in error["message_vi"] + error["message_en"]
    assert error["message_en"].endswith(
        "or, if the key is truly lost, deliberately starts a new key with the command "
        "dancu card rotate-key --key-lost"
    )
    assert not ProductionBatch.objects.exists()


def test_no_issuer_key_message_has_a_backtick(
    personas: Personas, current_key: IssuerKey, settings: Any, tmp_path: Path
) -> None:
    messages = []
    settings.DANCU_ISSUER_KEY_DIR = tmp_path / "not-mounted"
    for refusal in (
        lambda: services.issuer_key_create(actor=Actor(personas.minh)),
        lambda: services.batch_create(actor=Actor(personas.cuong)),
    ):
        with pytest.raises(DomainError) as refused:
            refusal()
        messages += refused.value.errors
    settings.DANCU_ISSUER_KEY_DIR = tmp_path / "a-file"
    settings.DANCU_ISSUER_KEY_DIR.write_text("x", encoding="utf-8")
    with pytest.raises(DomainError) as refused:
        services.issuer_key_create(actor=Actor(personas.minh))
    messages += refused.value.errors

    assert [e.code for e in messages] == [NOT_HERE, "issuer.key_missing", "issuer.key_dir_unwritable"]
    assert all("`" not in e.message_vi + e.message_en for e in messages)
