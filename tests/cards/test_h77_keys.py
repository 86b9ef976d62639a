"""The issuer's signing key on a node that cannot read it: the first key is made on first use, but a current
key whose private half is missing or unreadable here (a shared DANCU_ISSUER_KEY_DIR that failed to mount)
refuses to sign, by name, and writes nothing; it never rotates the national key behind the operator's back.
The operator mounts the directory again, or starts a new key with `dancu card rotate-key --key-lost`."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

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
CODE = "issuer.key_missing"


def vi_message(key: IssuerKey) -> str:
    return (
        f"Máy chủ này không đọc được khóa ký {key.key_id} của cơ quan cấp thẻ trong thư mục "
        "DANCU_ISSUER_KEY_DIR: chưa ký gì. Quản trị viên gắn lại thư mục khóa dùng chung, "
        "hoặc, nếu khóa thật sự bị mất, chủ động tạo khóa mới bằng lệnh dancu card rotate-key --key-lost"
    )


def test_the_first_key_is_still_made_on_first_use(personas: Personas, application: Application) -> None:
    assert not IssuerKey.objects.exists()
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    key = IssuerKey.objects.get()
    assert key.retired_at is None
    assert batch.manifest["kid"] == key.key_id


def test_an_unmounted_key_directory_refuses_the_batch_page_and_writes_nothing(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    application: Application,
    current_key: IssuerKey,
    unmounted: Path,
    client: Client,
    sign_in: SignIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    sign_in(client, personas.cuong)
    before = trail()

    response = client.post("/cards/batches/", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == []
    assert messages_of(response) == [f"{vi_message(current_key)} [issuer_key: {CODE}]"]
    # No new key, the current one not retired, no batch, the application still waiting.
    assert trail() == before
    assert not ProductionBatch.objects.exists()
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    assert not any(unmounted.iterdir())
    # The operator's log says which file could not be read.
    assert str(unmounted / f"{current_key.key_id}.pem") in caplog.text


def test_the_api_answers_422_by_name_in_both_languages(
    personas: Personas, application: Application, current_key: IssuerKey, unmounted: Path
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    api = api_client(personas.cuong)
    before = trail()

    response = api.post("/api/v1/cards/batches")

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "issuer_key"
    assert error["code"] == CODE
    assert error["message_vi"] == vi_message(current_key)
    assert error["message_en"] == (
        f"This server cannot read the card issuer's signing key {current_key.key_id} in "
        "DANCU_ISSUER_KEY_DIR: nothing was signed. The administrator mounts the shared key directory "
        "again, or, if the key is truly lost, deliberately starts a new key with the command "
        "dancu card rotate-key --key-lost"
    )
    assert trail() == before
    assert not ProductionBatch.objects.exists()


def test_the_production_result_is_refused_on_its_page_and_by_the_api(  # noqa: PLR0917 (fixtures)
    personas: Personas,
    application: Application,
    current_key: IssuerKey,
    settings: Any,
    tmp_path: Path,
    client: Client,
    sign_in: SignIn,
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    settings.DANCU_ISSUER_KEY_DIR = tmp_path / "not-mounted"
    sign_in(client, personas.cuong)
    api = api_client(personas.cuong)
    before = trail()
    csv = f"application,serial,error\n{application.number},VN00000001,\n"

    upload = SimpleUploadedFile("result.csv", csv.encode())
    response = client.post(f"/cards/batches/{batch.pk}/", {"result": upload}, follow=True)
    assert messages_of(response) == [f"{vi_message(current_key)} [issuer_key: {CODE}]"]
    answer = api.post(
        f"/api/v1/cards/batches/{batch.pk}/result", json.dumps({"csv": csv}), content_type="application/json"
    )
    assert answer.status_code == 422
    assert [e["code"] for e in answer.json()["errors"]] == [CODE]

    assert trail() == before
    assert not Card.objects.exists()
    batch.refresh_from_db()
    assert batch.status == ProductionBatch.Status.EXPORTED
    application.refresh_from_db()
    assert application.status == Application.Status.IN_PRODUCTION


@pytest.mark.parametrize("content", ["garbage", "not ed25519"])
def test_an_unreadable_private_half_is_refused_too(
    personas: Personas, application: Application, current_key: IssuerKey, settings: Any, content: str
) -> None:
    path = settings.DANCU_ISSUER_KEY_DIR / f"{current_key.key_id}.pem"
    if content == "garbage":
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    else:
        other = ec.generate_private_key(ec.SECP256R1())
        path.write_bytes(other.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    services.application_approve(actor=Actor(personas.cuong), application=application)
    before = trail()

    with pytest.raises(DomainError) as refused:
        services.batch_create(actor=Actor(personas.cuong))

    assert [(e.field, e.code, e.params) for e in refused.value.errors] == [
        ("issuer_key", CODE, {"key_id": current_key.key_id})
    ]
    assert trail() == before


def test_rotate_key_is_the_operators_deliberate_way_out(
    personas: Personas, application: Application, current_key: IssuerKey, unmounted: Path
) -> None:
    services.application_approve(actor=Actor(personas.cuong), application=application)
    with pytest.raises(DomainError):
        services.batch_create(actor=Actor(personas.cuong))

    out = io.StringIO()
    # Without --key-lost this node refuses (issuer.key_not_here, tests/cards/test_h84_keys.py).
    call_command("card", "rotate-key", "--key-lost", stdout=out)

    new = IssuerKey.objects.get(retired_at__isnull=True)
    assert new.key_id != current_key.key_id
    assert out.getvalue().startswith(new.key_id)
    current_key.refresh_from_db()
    assert current_key.retired_at is not None
    assert (unmounted / f"{new.key_id}.pem").exists()
    event = AuditEvent.objects.get(event_type=EventType.CARD_ISSUER_KEY_CREATED, subject_id=new.key_id)
    assert event.actor_label == "system:cards-rotate-key"
    batch = services.batch_create(actor=Actor(personas.cuong))
    assert batch.manifest["kid"] == new.key_id
    centre_answers(personas, batch, application)
    assert Card.objects.get().application == application
