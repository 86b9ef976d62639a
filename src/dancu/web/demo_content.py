"""The demo's content beyond the population: one small, believable piece of work in every domain.

`dancu demo` calls these after the population and the demo accounts exist. Every write goes through the
domain's own services, as an officer's would (so the trail, the review queues and the campaign tallies
are the real ones). Each step first looks for what an earlier run made and then does nothing, so a second
`dancu demo` adds nothing twice.
"""

from __future__ import annotations

import functools
import io
import random
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from django.db.models import Q
from django.utils import timezone
from PIL import Image

from dancu.accounts.models import User
from dancu.audit.services import Actor
from dancu.campaigns.models import Campaign, Metric
from dancu.campaigns.services import MetricChoice, campaign_create, target_set
from dancu.cards import biometrics
from dancu.cards import services as cards
from dancu.cards.models import Application, ApplicationKind, Card, IntakeDevice, IntakePoint
from dancu.collection import workflow
from dancu.collection.models import CollectionForm, ImportRun
from dancu.collection.quality.models import QualityPass
from dancu.collection.quality.services import quality_pass_run
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.eid import services as eid
from dancu.eid.models import EidAccount
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError, FieldError
from dancu.matching.models import MatchRun
from dancu.matching.services.runs import match_run_registry
from dancu.registry.bulk import placement_choices
from dancu.registry.dirty import write_dirty_csv
from dancu.registry.generator import generate_population, person_csv_rows
from dancu.registry.models import Citizen
from dancu.registry.normalize import COLUMNS

Say = Callable[[str], None]

HOAN_KIEM = "00070"
HONG_HA = "00097"
IMPORT_SOURCE = "Sổ hộ khẩu giấy phường Hoàn Kiếm, Hồng Hà (chạy thử)"
IMPORT_PEOPLE = 300
CAMPAIGN_NAME = "Cấp căn cước 2025"
STATION_CODE = "HK-01"
MOBILE_CODE = "HH-LD-01"


def _user(username: str) -> User:
    return User.objects.select_related("police_unit__admin_unit").get(username=username)


def _commune(code: str) -> AdminUnit:
    return AdminUnit.objects.get(structure=AdminUnit.Structure.CURRENT, level="commune", code=code)


# Collection: a legacy import -------------------------------------------------------------------------------


# The share of people the legacy book holds twice: once from the household book with their PIN, once from an
# older temporary-residence book written before PINs existed. The generator's own duplicates keep the PIN,
# so the import turns them away as a PIN given twice; these reach staging, where the matcher finds them.
_RECORDED_TWICE = 0.12


def _recorded_twice(rows: Iterable[dict[str, str]], *, seed: int) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)  # noqa: S311 (which synthetic people are copied, not a secret)
    for row in rows:
        yield row
        if rng.random() < _RECORDED_TWICE:
            yield {
                **row,
                "record_id": f"{row['record_id']}-TT",
                "source": "so-tam-tru-giay",
                "id_number": "",
                "old_id_number": "",
            }


def legacy_import(*, seed: int, say: Say) -> ImportRun:
    """A few hundred dirty person records of two Hà Nội wards, staged by the Hà Nội supervisor; the rows
    move on (`legacy_import_promote`) after the match run has looked at them, as with `dancu import
    --stage-only` then `dancu match --registry` then `dancu import`."""
    found = (
        ImportRun.objects.filter(source=IMPORT_SOURCE, status=ImportRun.Status.DONE).order_by("pk").first()
    )
    if found is not None:
        say(f"Legacy import already there: run {found.pk}, {found.rows_read} rows (reused).")
        return found
    actor = Actor(_user("phuctra.hanoi"))
    with tempfile.TemporaryDirectory(prefix="dancu-demo-") as folder:
        path = Path(folder) / "so-ho-khau-hoan-kiem.csv"
        households = generate_population(
            people=IMPORT_PEOPLE, seed=seed + 1, communes=placement_choices(communes=(HOAN_KIEM, HONG_HA))
        )
        # The generator's reference date keeps the file byte for byte the same from run to run, so an
        # interrupted import resumes (the run is found by the file's digest) instead of starting again.
        written = write_dirty_csv(
            _recorded_twice(person_csv_rows(households, source="so-ho-khau-giay"), seed=seed),
            path,
            columns=COLUMNS,
            seed=seed + 1,
            faults_path=Path(folder) / "faults.csv",
        )
        say(f"Legacy import: {written.rows} dirty rows ({written.faults} faults injected), staging...")
        run, source = import_start(path=path, source_name=IMPORT_SOURCE, actor=actor, file_name=path.name)
        run = import_rows(run=run, source=source, actor=actor, policy=ImportPolicy.from_settings())
    say(
        f"  run {run.pk}: {run.rows_accepted} accepted, {run.rows_review} for review, "
        f"{run.rows_rejected} rejected"
    )
    return run


def legacy_import_promote(*, run: ImportRun, say: Say) -> ImportRun:
    """The staged rows on: accepted ones into the registry, the others into the wards' review queues."""
    if run.promoted_at is not None:
        return run
    run = import_promote(run=run, actor=Actor(_user("phuctra.hanoi")))
    say(
        f"Legacy import promoted: {run.rows_applied} rows in the registry, {run.rows_queued} in review queues"
    )
    return run


# Collection: DC01/DC02 forms at each step ------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    full_name: str
    birth_date: str
    sex: str
    address: str


# Synthetic people, as a collector would meet them door to door in Phường Hoàn Kiếm.
_DOOR_TO_DOOR = (
    _Person("Đỗ Minh Khang", "12/03/1992", "M", "Số 8 phố Hàng Bè"),
    _Person("Nguyễn Thị Thu Hà", "04/11/1988", "F", "Số 21 phố Hàng Bạc"),
    _Person("Phạm Gia Huy", "30/07/2001", "M", "Số 5 ngõ Tạm Thương"),
    _Person("Trịnh Ngọc Ánh", "17/01/1979", "F", "Số 14 phố Hàng Mành"),
    _Person("Vương Đức Toàn", "09/09/1965", "M", "Số 3 phố Lò Sũ"),
    _Person("Lý Thanh Mai", "22/05/1995", "F", "Số 40 phố Hàng Đào"),
)


def _dc01_data(person: _Person) -> dict[str, str]:
    return {
        "full_name": person.full_name,
        "birth_date": person.birth_date,
        "sex": person.sex,
        "birth_registration_place": "001",
        "ethnicity": "01",
        "religion": "00",
        "residence_kind": "permanent",
        "commune_code": HOAN_KIEM,
        "address_detail": person.address,
        "registered_on": "2024-06-01",
    }


def _warnings(form: CollectionForm) -> list[str]:
    return [str(warning["code"]) for warning in form.warnings]


def collection_forms(*, say: Say) -> int:
    """DC01 and DC02 forms of Phường Hoàn Kiếm at each step: drafts, submitted, checked, re-checked and one
    applied to the registry; returns how many forms the demo officers have written."""
    collector, reviewer, supervisor = (
        _user("canbo.hoankiem"),
        _user("kiemtra.hoankiem"),
        _user("phuctra.hanoi"),
    )
    written = CollectionForm.objects.filter(created_by=collector, staging_record__isnull=True)
    if written.exists():
        say(f"Collection forms already there: {written.count()} (reused).")
        return written.count()
    by_collector, by_reviewer, by_supervisor = Actor(collector), Actor(reviewer), Actor(supervisor)
    people = iter(_DOOR_TO_DOOR)
    # A draft saved half-way through a visit (no birth registration place nor registration date yet).
    incomplete = _dc01_data(next(people))
    del incomplete["birth_registration_place"], incomplete["registered_on"]
    workflow.form_create_draft(actor=by_collector, kind="DC01", data=incomplete, document="")
    workflow.form_create_draft(
        actor=by_collector, kind="DC01", data=_dc01_data(next(people)), document="Giấy khai sinh số 88/1988"
    )
    for step in ("submitted", "checked", "rechecked", "applied"):
        form = workflow.form_create_draft(
            actor=by_collector, kind="DC01", data=_dc01_data(next(people)), document="Giấy khai sinh bản sao"
        )
        form = workflow.form_submit(actor=by_collector, form=form)
        if step == "submitted":
            continue
        form = workflow.form_check(actor=by_reviewer, form=form, acknowledged=_warnings(form))
        if step == "checked":
            continue
        form = workflow.form_recheck(actor=by_supervisor, form=form, acknowledged=_warnings(form))
        if step == "applied":
            workflow.form_apply(actor=by_supervisor, form=form)
    # A DC02: a citizen of the ward asks to correct their phone number, with the supporting document.
    citizen = (
        Citizen.objects.filter(area_commune__code=HOAN_KIEM, date_of_death__isnull=True)
        .order_by("pk")
        .first()
    )
    if citizen is not None:
        form = workflow.form_create_draft(
            actor=by_collector,
            kind="DC02",
            citizen=citizen,
            data={"changes": {"phone": "0987654321"}},
            document="Đơn đề nghị của công dân",
            reason="Công dân đổi số điện thoại",
        )
        workflow.form_submit(actor=by_collector, form=form)
    count = written.count()
    say(f"Collection forms: {count} in Phường Hoàn Kiếm (drafts, submitted, checked, re-checked, applied).")
    return count


# Quality and matching ---------------------------------------------------------------------------------------


def quality_pass(*, say: Say) -> QualityPass:
    """One pass over every record, so the scorecard has figures for every unit."""
    found = QualityPass.objects.order_by("pk").first()
    if found is not None:
        say(f"Quality pass already there: {found.assessed:,} records assessed (reused).")
        return found
    say("Quality pass over every record...")
    run = quality_pass_run(actor=Actor(system="demo"), scope=QualityPass.Scope.ALL)
    say(f"  {run.assessed:,} records assessed, {run.cleaned:,} newly clean.")
    return run


def match_run(*, say: Say) -> MatchRun:
    """One run over the registry and the staged rows, so the duplicates queue has pairs to decide."""
    found = MatchRun.objects.filter(status=MatchRun.Status.FINISHED).order_by("pk").first()
    if found is not None:
        say(f"Match run already there: {found.proposed_pairs:,} pairs proposed (reused).")
        return found
    say("Match run over the registry and the staged rows...")
    run = match_run_registry(
        actor=Actor(system="demo"), today=timezone.localdate(), progress=lambda text: say(f"  {text}")
    )
    say(f"  {run.records:,} records, {run.proposed_pairs:,} pairs proposed for review.")
    return run


# Cards ------------------------------------------------------------------------------------------------------


@functools.cache
def _capture(kind: str) -> bytes:
    """A synthetic capture (grey noise) that passes the intake's size and contrast checks."""
    width, height = biometrics.MIN_SIZE[kind]
    # Noise, not a secret: the seeded generator makes the same images on every run.
    rng = random.Random(kind)  # noqa: S311
    image = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class _Point:
    code: str
    name: str
    kind: str
    commune: str
    team: str
    device_serial: str
    device_has_iris: bool
    collector: str  # the demo account who takes the applications there


_POINTS = (
    _Point(
        STATION_CODE,
        "Công an phường Hoàn Kiếm, bộ phận một cửa",
        IntakePoint.Kind.STATION,
        HOAN_KIEM,
        "",
        "TN-HK-0001",
        False,
        "canbo.hoankiem",
    ),
    _Point(
        MOBILE_CODE,
        "Tổ thu nhận lưu động phường Hồng Hà",
        IntakePoint.Kind.MOBILE,
        HONG_HA,
        "Tổ lưu động số 1",
        "TN-HH-0001",
        True,
        "canbo.hongha",
    ),
)


def _intake_point(actor: Actor, wanted: _Point) -> tuple[IntakePoint, IntakeDevice]:
    point = IntakePoint.objects.filter(code=wanted.code).first()
    if point is None:
        point = cards.intake_point_create(
            actor=actor,
            code=wanted.code,
            name=wanted.name,
            kind=wanted.kind,
            commune=_commune(wanted.commune),
            team=wanted.team,
        )
    device = IntakeDevice.objects.filter(serial=wanted.device_serial).first()
    if device is None:
        device = cards.intake_device_register(
            actor=actor, point=point, serial=wanted.device_serial, has_iris=wanted.device_has_iris
        )
    return point, device


# How the dozen applications are left: how many stay at each stage of their way to the citizen.
CARD_STAGES = (("taken", 3), ("approved", 2), ("in_batch", 2), ("produced", 2), ("delivered", 3))


def card_applications(*, say: Say) -> int:
    """A station in Phường Hoàn Kiếm and a mobile team in Phường Hồng Hà, each with a capture set, and a
    dozen applications left at every stage from taken to delivered; returns the number of applications."""
    supervisor = Actor(_user("phuctra.hanoi"))
    where = [
        (Actor(_user(point.collector)), *_intake_point(supervisor, point), point.commune) for point in _POINTS
    ]
    demo_applications = Application.objects.filter(point__code__in=(STATION_CODE, MOBILE_CODE))
    if demo_applications.exists():
        say(f"Card applications already there: {demo_applications.count()} (reused).")
        return demo_applications.count()
    wanted = sum(n for _stage, n in CARD_STAGES)
    taken: list[Application] = []
    today = timezone.localdate()
    for index in range(wanted):
        officer, point, device, code = where[index % 2]
        taken.append(_take_one(officer, point, device, code, today=today, skip=[a.citizen_id for a in taken]))
    say(f"Card applications: {len(taken)} taken at {STATION_CODE} and {MOBILE_CODE}; moving them on...")
    _move_on(supervisor, taken)
    return demo_applications.count()


# What the officer takes, by what the citizen holds: a first card, a chip card for an old CMND, a renewal,
# or, for a valid card, a re-issue (the demo's reason: a damaged chip).
_KINDS = (
    (ApplicationKind.FIRST_ISSUE, ""),
    (ApplicationKind.CONVERSION, ""),
    (ApplicationKind.RENEWAL, ""),
    (ApplicationKind.LOST_OR_DAMAGED, "Thẻ bị hỏng, chip không đọc được"),
)


def _take_one(
    officer: Actor, point: IntakePoint, device: IntakeDevice, commune: str, *, today: date, skip: list[int]
) -> Application:
    """The application of the first adult of the commune the rules let apply, of the kind their papers call
    for. A record failing "đúng" needs a DC02 first and a child a representative: the demo passes them
    by, as the officer would send them away (the rules are asked before any image is taken)."""
    citizens = (
        Citizen.objects.filter(area_commune__code=commune, date_of_death__isnull=True)
        .filter(~Q(pk__in=skip))
        .order_by("pk")
    )
    for citizen in citizens[:400]:
        if cards.record_errors(citizen, today=today):
            continue
        for kind, reason in _KINDS:
            if cards.eligibility_errors(citizen=citizen, kind=kind, today=today, reason=reason):
                continue
            images = biometrics.required_kinds(age=30, device_has_iris=device.has_iris)
            return cards.application_take(
                actor=officer,
                citizen=citizen,
                intake=cards.Intake(kind=kind, point=point, shift="1", device=device, reason=reason),
                images={image: _capture(image) for image in images},
            )
    raise DomainError(
        FieldError(
            "citizen",
            "demo.no_applicant",
            f"Không công dân nào của xã {commune} đủ điều kiện làm thẻ",
            f"No citizen of commune {commune} may apply for a card",
        )
    )


def _move_on(supervisor: Actor, applications: list[Application]) -> None:
    """Approve, batch, produce and deliver the applications as far as CARD_STAGES says."""
    stages = [stage for stage, n in CARD_STAGES for _ in range(n)]
    by_stage: dict[str, list[Application]] = {}
    for application, stage in zip(applications, stages, strict=True):
        by_stage.setdefault(stage, []).append(application)
    # The cards that reach the citizen are produced first, in a batch the centre has answered.
    finished = by_stage["produced"] + by_stage["delivered"]
    for application in finished:
        cards.application_approve(actor=supervisor, application=application)
    batch = cards.batch_create(actor=supervisor)
    lines = [f"{a.number},VNDEMO{index:06d}," for index, a in enumerate(finished, start=1)]
    cards.batch_import_result(
        actor=supervisor, batch=batch, text="application,serial,error\n" + "\n".join(lines) + "\n"
    )
    for application in by_stage["delivered"]:
        application.refresh_from_db()
        collector = _user(next(p.collector for p in _POINTS if p.code == application.point.code))
        cards.application_deliver(
            actor=Actor(collector), application=application, received_by=application.citizen.full_name
        )
    # A second batch still at the centre, then approvals waiting for the next batch.
    for application in by_stage["in_batch"]:
        cards.application_approve(actor=supervisor, application=application)
    cards.batch_create(actor=supervisor)
    for application in by_stage["approved"]:
        cards.application_approve(actor=supervisor, application=application)


# Campaigns --------------------------------------------------------------------------------------------------


# The campaign's metrics (built in by campaigns' migration 0002), each with its denominator, and the targets
# handed down: (country, each province, each commune of the demo), in the scale of the demo's own work.
_CAMPAIGN_METRICS = (
    ("cards_taken", "due_for_card", (80, 40, 8)),
    ("cards_delivered", "", (60, 30, 6)),
    ("forms_collected", "residents", (60, 30, 6)),
    ("records_cleaned", "", (3_000, 1_000, 200)),
    ("eid_registered", "due_for_eid", (40, 20, 4)),
)


def campaign(*, communes: list[str], say: Say) -> Campaign:
    """ "Cấp căn cước 2025": set up by the ministry, with the targets handed down the chain of command: the
    ministry sets the country's and the provinces', each province supervisor those of its communes."""
    found = Campaign.objects.filter(name=CAMPAIGN_NAME).order_by("pk").first()
    if found is not None:
        say(f"Campaign already there: {found.name} (reused).")
        return found
    ministry = Actor(_user("quantri.c06"))
    today = timezone.localdate()
    metrics = {metric.code: metric for metric in Metric.objects.all()}
    created = campaign_create(
        actor=ministry,
        name=CAMPAIGN_NAME,
        starts_on=today - timedelta(days=30),
        ends_on=today + timedelta(days=150),
        metrics=[
            MetricChoice(metrics[code], metrics[denominator] if denominator else None)
            for code, denominator, _targets in _CAMPAIGN_METRICS
        ],
    )
    supervisors = {
        account.police_unit.admin_unit_id: Actor(account)
        for account in User.objects.filter(username__in=("phuctra.hanoi", "phuctra.haiphong")).select_related(
            "police_unit"
        )
        if account.police_unit is not None
    }
    units = [_commune(code) for code in communes]
    provinces = [unit.parent for unit in units if unit.parent is not None]
    provinces = list({unit.pk: unit for unit in provinces}.values())
    reason = "Giao chỉ tiêu đợt cao điểm cấp căn cước / targets of the 2025 card drive"
    set_count = 0
    for campaign_metric in created.campaign_metrics.select_related("metric"):
        country, province, commune = next(
            targets for code, _d, targets in _CAMPAIGN_METRICS if code == campaign_metric.metric.code
        )
        for unit, total, actor in [
            (None, country, ministry),
            *((unit, province, ministry) for unit in provinces),
            *((unit, commune, supervisors.get(unit.parent_id)) for unit in units),
        ]:
            if actor is None:
                continue
            target_set(
                actor=actor,
                campaign_metric=campaign_metric,
                unit=unit,
                total=total,
                per_day=None,
                reason=reason,
            )
            set_count += 1
    say(f"Campaign «{CAMPAIGN_NAME}»: {created.campaign_metrics.count()} metrics, {set_count} targets set.")
    return created


# e-ID: one citizen's account for the portal ---------------------------------------------------------------

# The demo collectors who register e-ID accounts at their station, by the commune they serve.
_EID_REGISTRARS = {"00070": "canbo.hoankiem", "00097": "canbo.hongha"}


def citizen_account(*, password: str, otp_secret_hex: str, otp_device_name: str, say: Say) -> User | None:
    """The level-2 e-ID account of the first citizen whose card the demo delivered, registered by the
    commune's collector and activated at once with the demo password and a known TOTP secret (so that
    `dancu otp_code PIN` answers for it, as for the officers' demo accounts). None when no card was
    delivered in a commune with a demo collector."""
    existing = (
        EidAccount.objects.select_related("user").filter(user__totpdevice__name=otp_device_name).first()
    )
    if existing is not None:
        say(f"Citizen e-ID account already there: {existing.user.username} (reused).")
        return existing.user
    card = (
        Card.objects.filter(state=Card.State.ACTIVE, citizen__area_commune__code__in=list(_EID_REGISTRARS))
        .filter(citizen__eid_account__isnull=True)
        .select_related("citizen__area_commune")
        .order_by("pk")
        .first()
    )
    if card is None:
        say("No delivered card in a demo commune: no citizen e-ID account.")
        return None
    citizen = card.citizen
    assert citizen.area_commune is not None
    officer = _user(_EID_REGISTRARS[citizen.area_commune.code])
    _account, code = eid.eid_account_register(actor=Actor(officer), citizen=citizen, identity_checked=True)
    account = eid.eid_account_activate(
        pin=citizen.pin,
        code=code,
        password=password,
        otp_secret_hex=otp_secret_hex,
        otp_device_name=otp_device_name,
    )
    say(f"Citizen e-ID account: {citizen.pin} ({citizen.full_name}), registered by {officer.username}.")
    return account.user
