"""The platform commands of the quick start: `dancu setup`, `dancu demo`, `dancu otp_code`."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from dancu.accounts.management.commands.otp_code import DEMO_DEVICE_NAME
from dancu.accounts.models import PoliceUnit, User
from dancu.audit.models import AuditEvent
from dancu.audit.services import Actor
from dancu.campaigns.models import Campaign, CampaignMetric, Target
from dancu.cards import services as cards
from dancu.cards.models import Application, Card, IntakeDevice, IntakePoint, ProductionBatch
from dancu.collection.models import CollectionForm, ImportRun, StagingRecord
from dancu.collection.quality.models import QualityAssessment, QualityPass
from dancu.eid.models import EidAccount
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError
from dancu.matching.models import CandidatePair, MatchRun
from dancu.registry.models import Citizen
from dancu.web import demo_content as content
from dancu.web.management.commands.demo import CITIZEN_OTP_SECRET, DEMO_PASSWORD
from tests.conftest import HOAN_KIEM, Personas, commune

pytestmark = pytest.mark.django_db

# `make demo` runs on the embedded database (SQLite), and that is the run these tests make; each takes
# tens of seconds. What the demo writes through is tested on both databases by the domains' own tests.
DEMO_DATABASE = pytest.mark.one_database


def run(*args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def test_setup_creates_a_police_unit_for_every_unit_and_is_idempotent() -> None:
    first = run("setup")
    assert "Database ready." in first
    provinces = AdminUnit.objects.filter(structure="2025", level="province").count()
    communes = AdminUnit.objects.filter(structure="2025", level="commune").count()
    districts = AdminUnit.objects.filter(structure="legacy", level="district").count()
    assert PoliceUnit.objects.count() == 1 + provinces + communes + districts
    hoan_kiem = PoliceUnit.objects.get(code="CA-commune-00070")
    assert hoan_kiem.level == PoliceUnit.Level.COMMUNE
    assert hoan_kiem.parent.code == "CA-province-01"

    second = run("setup")
    assert "Police units: 0 created" in second
    assert PoliceUnit.objects.count() == 1 + provinces + communes + districts


def demo_content() -> dict[str, Any]:
    """What the demo made in every domain, kind by kind, to compare one run with the next."""
    forms = CollectionForm.objects.filter(created_by__username="canbo.hoankiem", staging_record__isnull=True)
    return {
        "citizens": Citizen.objects.count(),
        "events": AuditEvent.objects.count(),
        "imports": ImportRun.objects.count(),
        "staged": StagingRecord.objects.count(),
        "import_forms": CollectionForm.objects.filter(staging_record__isnull=False).count(),
        "forms": sorted(forms.values_list("kind", "status")),
        "quality_passes": QualityPass.objects.count(),
        "assessed": QualityAssessment.objects.count(),
        "match_runs": MatchRun.objects.count(),
        "pairs": CandidatePair.objects.count(),
        "points": sorted(IntakePoint.objects.values_list("code", "kind")),
        "devices": IntakeDevice.objects.count(),
        "applications": sorted(Application.objects.values_list("status", flat=True)),
        "batches": ProductionBatch.objects.count(),
        "cards": Card.objects.count(),
        "campaigns": sorted(Campaign.objects.values_list("name", flat=True)),
        "campaign_metrics": CampaignMetric.objects.count(),
        "targets": sorted(Target.objects.values_list("set_by__username", flat=True)),
        "eid_accounts": sorted(EidAccount.objects.values_list("user__username", "status")),
    }


@pytest.mark.slow
@DEMO_DATABASE
def test_demo_prepares_people_and_one_account_per_role_then_reuses_them_and_its_logins_work() -> None:
    out = run("demo", people=600, seed=7, no_serve=True)

    # Both kinds of placement: 2025 addresses in Hà Nội, legacy-only addresses in old Hải Dương.
    assert Citizen.objects.filter(area_province__code="01", area_legacy_commune__isnull=True).exists()
    assert Citizen.objects.filter(area_legacy_commune__province_code="30").exists()
    roles = set(User.objects.filter(username__contains=".").values_list("role", flat=True))
    assert roles == set(User.Role.values) - {User.Role.CITIZEN}
    for username in ("canbo.hoankiem", "phuctra.hanoi", "quantri.c06", "kiemtoan.c06"):
        assert username in out
    assert "dancu-demo-2025" in out

    made = demo_content()
    # A legacy import of a few hundred dirty rows: clean ones in the registry, the others in the wards'
    # review queues, the unreadable ones rejected in the report.
    run_ = ImportRun.objects.get()
    assert run_.promoted_at is not None
    assert run_.rows_read >= 300
    assert run_.rows_applied > 0
    assert run_.rows_queued > 0
    assert run_.rows_rejected > 0
    # The population, the clean imported rows and the DC01 form applied.
    assert made["citizens"] == 600 + run_.rows_applied + 1
    # Most generated people live in the four Hà Nội wards (as do the imported ones), so each demo officer
    # there has a real commune to work.
    hanoi = Citizen.objects.filter(area_province__code="01").count() - run_.rows_applied
    assert 0.5 * 600 < hanoi < 0.8 * 600
    assert made["staged"] == run_.rows_read
    assert made["import_forms"] == run_.rows_queued
    # Forms of Phường Hoàn Kiếm at every step of the workflow, written by the demo collector.
    assert made["forms"] == [
        ("DC01", "applied"),
        ("DC01", "checked"),
        ("DC01", "draft"),
        ("DC01", "draft"),
        ("DC01", "rechecked"),
        ("DC01", "submitted"),
        ("DC02", "submitted"),
    ]
    assert CollectionForm.objects.filter(commune__code="00070", staging_record__isnull=True).count() == 7
    # A quality pass over every record and a match run with pairs to review.
    assert made["quality_passes"] == 1
    assert made["assessed"] == made["citizens"]
    assert MatchRun.objects.get().status == MatchRun.Status.FINISHED
    assert made["pairs"] > 0
    # The matcher saw the staged rows before they reached the registry: no row is paired with the citizen
    # it became.
    for pair in CandidatePair.objects.exclude(left_staging=None).exclude(right_citizen=None):
        assert pair.left_staging.citizen_id != pair.right_citizen_id
    # A station and a mobile team with their devices, and a dozen applications at every stage.
    assert made["points"] == [("HH-LD-01", "mobile"), ("HK-01", "station")]
    assert made["devices"] == 2
    assert made["applications"] == sorted(
        ["taken"] * 3 + ["approved"] * 2 + ["in_production"] * 2 + ["produced"] * 2 + ["delivered"] * 3
    )
    assert made["batches"] == 2
    assert made["cards"] == 5
    # The campaign, its targets handed down: the ministry for the country and the provinces, each province
    # supervisor for its communes (four Hà Nội wards, the Hải Phòng commune of the demo).
    assert made["campaigns"] == ["Cấp căn cước 2025"]
    # Cards taken and delivered, forms collected, records cleaned and e-ID accounts registered.
    assert made["campaign_metrics"] == 5
    assert made["targets"].count("quantri.c06") == 5 * 3
    assert made["targets"].count("phuctra.hanoi") == 5 * 4
    assert made["targets"].count("phuctra.haiphong") == 5 * 1
    # One citizen's e-ID account, active, whose PIN is printed with the logins.
    [(pin, status)] = made["eid_accounts"]
    assert status == "active"
    assert pin in out
    # The new pages are printed next to the logins.
    for path in ("/forms/", "/quality/", "/duplicates/", "/cards/", f"/imports/{run_.pk}/", "/campaigns/"):
        assert f"http://127.0.0.1:8000{path}" in out

    again = run("demo", people=600, seed=7, no_serve=True)
    assert "reused" in again
    assert demo_content() == made

    # The demo's people sign in with what it printed (a demo of their own would cost tens of seconds of
    # the suite): an officer on the officers' pages, then the demo citizen on the portal.
    demo_accounts_sign_in()


def demo_accounts_sign_in() -> None:
    """The demo officer of Phường Hoàn Kiếm and the demo citizen sign in with the printed password and
    the codes `dancu otp_code` gives."""
    client = Client()
    response = client.post("/login/", {"username": "canbo.hoankiem", "password": "dancu-demo-2025"})
    assert response["Location"] == "/login/otp/"
    code = run("otp_code", "canbo.hoankiem").strip()
    assert len(code) == 6
    assert code.isdigit()
    assert client.post("/login/otp/", {"token": code}).status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Phường Hoàn Kiếm" in home.content.decode()

    citizen = EidAccount.objects.select_related("user", "citizen").get()
    client = Client()
    response = client.post("/me/login/", {"pin": citizen.user.username, "password": "dancu-demo-2025"})
    assert response["Location"] == "/me/login/otp/"
    code = run("otp_code", citizen.user.username).strip()
    assert client.post("/me/login/otp/", {"token": code}).status_code == 302
    page = client.get("/me/")
    assert page.status_code == 200
    assert citizen.citizen.full_name in page.content.decode()


def test_otp_code_answers_only_for_demo_accounts(personas: Any) -> None:
    with pytest.raises(CommandError, match="not a demo account"):
        run("otp_code", personas.lan.username)


def test_the_demo_citizen_account_waits_for_a_delivered_card(db: None) -> None:
    said: list[str] = []
    account = content.citizen_account(
        password=DEMO_PASSWORD,
        otp_secret_hex=CITIZEN_OTP_SECRET,
        otp_device_name=DEMO_DEVICE_NAME,
        say=said.append,
    )

    assert account is None
    assert said == ["No delivered card in a demo commune: no citizen e-ID account."]
    assert not EidAccount.objects.exists()


def test_the_demo_names_the_commune_where_no_citizen_may_apply_for_a_card(personas: Personas) -> None:
    # Phường Hoàn Kiếm with nobody registered: the demo stops with a refusal naming the commune, not with
    # a card application for no one.
    point = cards.intake_point_create(
        actor=Actor(personas.cuong),
        code="HK-DEMO",
        name="Công an phường Hoàn Kiếm",
        kind=IntakePoint.Kind.STATION,
        commune=commune(HOAN_KIEM),
    )
    device = cards.intake_device_register(
        actor=Actor(personas.cuong), point=point, serial="TN-9", has_iris=False
    )

    with pytest.raises(DomainError) as refused:
        content._take_one(Actor(personas.lan), point, device, HOAN_KIEM, today=timezone.localdate(), skip=[])

    [error] = refused.value.errors
    assert (error.field, error.code) == ("citizen", "demo.no_applicant")
    assert HOAN_KIEM in error.message_en
    assert not Application.objects.exists()
