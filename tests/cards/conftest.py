"""Fixtures of the card tests: an intake station of Phường Hoàn Kiếm with its capture set, images that
pass the quality checks, and the issuer's key directory in the test's own temporary folder."""

from __future__ import annotations

import importlib
import io
import random
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from PIL import Image

from dancu.audit.models import AuditEvent
from dancu.audit.services import Actor
from dancu.cards import biometrics, services
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint, IssuerKey, ProductionBatch
from dancu.registry.models import Citizen
from tests.conftest import HOAN_KIEM, HONG_HA, Personas, commune

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
# A Tuesday morning, inside shift 1, with no holiday in the following two weeks.
TUESDAY_MORNING = datetime(2026, 3, 10, 9, 30, tzinfo=HANOI)


def load_fee_table() -> None:
    """The fee table is reference data loaded by a migration; a test on `transactional_db` run earlier
    empties every table when it ends (see tests/web/conftest.py), so it is loaded again the same way."""
    fee_table = importlib.import_module("dancu.cards.migrations.0002_fee_table_2024")
    fee_table.add_rates(django_apps, None)


@pytest.fixture(autouse=True)
def _fee_table(db: None) -> None:
    load_fee_table()


@pytest.fixture(autouse=True)
def _issuer_keys(settings: Any, tmp_path: Path) -> None:
    settings.DANCU_ISSUER_KEY_DIR = tmp_path / "issuer_keys"


def png(width: int, height: int, *, seed: int = 1, blank: bool = False) -> bytes:
    """A synthetic capture: random grey noise (or one flat colour when `blank`)."""
    rng = random.Random(seed)
    image = Image.new("L", (width, height), 200)
    if not blank:
        image.putdata([rng.randrange(256) for _ in range(width * height)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


_IMAGES: dict[str, bytes] = {}


def capture(*, iris: bool = False) -> dict[str, bytes]:
    """Every image a capture set takes from a citizen aged 6 or more."""
    if not _IMAGES:
        for kind, (width, height) in biometrics.MIN_SIZE.items():
            _IMAGES[kind] = png(width, height, seed=len(_IMAGES))
    kinds = biometrics.required_kinds(age=30, device_has_iris=iris)
    return {kind: _IMAGES[kind] for kind in kinds}


@pytest.fixture
def station(personas: Personas) -> IntakePoint:
    return services.intake_point_create(
        actor=Actor(personas.cuong),
        code="HK-01",
        name="Công an phường Hoàn Kiếm",
        kind=IntakePoint.Kind.STATION,
        commune=commune(HOAN_KIEM),
    )


@pytest.fixture
def device(personas: Personas, station: IntakePoint) -> IntakeDevice:
    return services.intake_device_register(
        actor=Actor(personas.cuong), point=station, serial="TN-0001", has_iris=False
    )


@pytest.fixture
def hong_ha_station(personas: Personas) -> IntakePoint:
    point = services.intake_point_create(
        actor=Actor(personas.cuong),
        code="HH-MOBILE-1",
        name="Tổ lưu động phường Hồng Hà",
        kind=IntakePoint.Kind.MOBILE,
        team="Tổ 1",
        commune=commune(HONG_HA),
        shifts="23",
    )
    services.intake_device_register(actor=Actor(personas.cuong), point=point, serial="TN-0002", has_iris=True)
    return point


def take(
    officer: Any,
    citizen: Citizen,
    point: IntakePoint,
    device: IntakeDevice | None,
    *,
    kind: str = "first_issue",
    shift: str = "1",
    images: dict[str, bytes] | None = None,
    **extra: Any,
) -> Application:
    return services.application_take(
        actor=Actor(officer),
        citizen=citizen,
        intake=services.Intake(kind=kind, point=point, shift=shift, device=device, **extra),
        images=capture() if images is None else images,
        taken_at=TUESDAY_MORNING,
    )


@pytest.fixture
def application(personas: Personas, people: Any, station: IntakePoint, device: IntakeDevice) -> Application:
    """Hùng's first card application, taken by Lan at the Hoàn Kiếm station."""
    return take(personas.lan, people.hung, station, device)


def centre_answers(
    personas: Personas, batch: ProductionBatch, application: Application, serial: str = "VN00000001"
) -> None:
    """The production centre's result for `batch`, which Cường imports: `application` made as `serial`."""
    services.batch_import_result(
        actor=Actor(personas.cuong),
        batch=batch,
        text=f"application,serial,error\n{application.number},{serial},\n",
    )


def produce(personas: Personas, application: Application, serial: str = "VN00000001") -> Card:
    """Cường approves the application, batches it, and the centre answers with `serial`."""
    services.application_approve(actor=Actor(personas.cuong), application=application)
    batch = services.batch_create(actor=Actor(personas.cuong))
    centre_answers(personas, batch, application, serial)
    return Card.objects.get(application=application)


@pytest.fixture
def delivered(personas: Personas, people: Any, station: IntakePoint, device: IntakeDevice) -> Card:
    """Hùng's card, taken at the Hoàn Kiếm station, approved, produced and handed to him."""
    card = produce(personas, take(personas.lan, people.hung, station, device))
    services.application_deliver(
        actor=Actor(personas.lan), application=card.application, received_by="Nguyễn Văn Hùng"
    )
    card.refresh_from_db()
    return card


# Issuer keys on a node that lost sight of the shared key directory (tests of issuer.key_missing and
# issuer.key_not_here).


@pytest.fixture
def current_key(personas: Personas) -> IssuerKey:
    """The issuer's key, made on the shared directory before this node lost sight of it."""
    return services.issuer_key_create(actor=Actor(personas.minh))


@pytest.fixture
def unmounted(settings: Any, tmp_path: Path, current_key: IssuerKey) -> Path:
    """This node's DANCU_ISSUER_KEY_DIR: the empty mount point of a shared directory that failed to mount."""
    settings.DANCU_ISSUER_KEY_DIR = tmp_path / "not-mounted"
    settings.DANCU_ISSUER_KEY_DIR.mkdir()
    return settings.DANCU_ISSUER_KEY_DIR


def trail() -> tuple[list[tuple[str, Any]], list[str]]:
    """The issuer keys (id, retired) and the audit events: equal before and after a refusal."""
    keys = list(IssuerKey.objects.order_by("key_id").values_list("key_id", "retired_at"))
    return keys, list(AuditEvent.objects.order_by("pk").values_list("event_type", flat=True))
