"""The trail every change and every read leaves: audit events and the access log.

Each service writes exactly its events, in the transaction of its change: a change that fails, however
late, leaves no event behind; and no event can be written outside a transaction. Every citizen whose
data is shown to an officer gets one access-log row, with the purpose the officer chose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from dancu.accounts.services import api_token_create, api_token_revoke, officer_create, otp_device_confirm
from dancu.audit import services as audit_services
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor, access_log_record, audit_event_record
from dancu.lib.errors import DomainError
from dancu.registry import services
from dancu.registry.models import Citizen, Household, HouseholdMember, RecordVersion, Residence
from tests.conftest import (
    HOAN_KIEM,
    HONG_HA,
    PASSWORD,
    SYSTEM,
    People,
    Personas,
    commune,
    household_of,
    make_citizen,
)


def trail_of(call: Callable[[], Any]) -> list[str]:
    """The event types a call writes, in order; every version it writes points at one of them."""
    last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    last_version = RecordVersion.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    call()
    new_events = AuditEvent.objects.filter(pk__gt=last_event).order_by("pk")
    new_ids = set(new_events.values_list("pk", flat=True))
    for version in RecordVersion.objects.filter(pk__gt=last_version):
        assert version.event_id in new_ids, f"{version} points at an event of another change"
    return list(new_events.values_list("event_type", flat=True))


def nothing_left_by(call: Callable[[], Any], exception: type[Exception] = DomainError) -> None:
    models = (AuditEvent, RecordVersion, Citizen, Residence, Household, HouseholdMember)
    before = [m.objects.count() for m in models]
    with pytest.raises(exception), transaction.atomic():
        call()
    assert [m.objects.count() for m in models] == before


# Every service, its events --------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_registry_service_writes_exactly_its_events(people: People) -> None:
    wife = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    household: list[Household] = []

    # Each step reads the records afresh, as a request would: a copy whose version another change has
    # since moved on is refused (see test_a_write_from_a_stale_copy_fails_whole_and_leaves_no_event).
    def hung() -> Citizen:
        return Citizen.objects.get(pk=people.hung.pk)

    def mai() -> Citizen:
        return Citizen.objects.get(pk=people.mai.pk)

    def hanh() -> Citizen:
        return Citizen.objects.get(pk=wife.pk)

    def kw(**extra: Any) -> dict[str, Any]:
        return {"actor": SYSTEM, "reason": "Kiểm thử", "source_document": "Văn bản 1"} | extra

    steps: list[tuple[Callable[[], Any], list[str]]] = [
        (
            lambda: make_citizen(full_name="Vũ Văn Nam", birth_date="2001"),
            [EventType.CITIZEN_CREATED, EventType.RESIDENCE_REGISTERED],
        ),
        (
            lambda: services.citizen_create(
                **kw(data=services.NewCitizen("Vũ Văn Bắc", "2002", "M", "001"), residence=None)
            ),
            [EventType.CITIZEN_CREATED],
        ),
        (
            lambda: services.citizen_update(**kw(citizen=hung(), changes={"phone": "0912345678"})),
            [EventType.CITIZEN_UPDATED],
        ),
        (lambda: services.citizen_update(**kw(citizen=hung(), changes={"phone": "0912345678"})), []),
        (
            lambda: services.citizen_update(**kw(citizen=mai(), changes={"date_of_death": "2024"})),
            [EventType.CITIZEN_DECEASED],
        ),
        (lambda: services.pin_reissue(**kw(citizen=mai(), new_sex="M")), [EventType.PIN_REISSUED]),
        (
            lambda: services.residence_register(
                **kw(
                    citizen=hung(),
                    kind="temporary",
                    commune=commune(HONG_HA),
                    address_detail="Số 9 phố Huế",
                    registered_on=date(2024, 1, 1),
                    expires_on=date(2025, 1, 1),
                    today=date(2024, 1, 1),
                )
            ),
            [EventType.RESIDENCE_REGISTERED],
        ),
        (
            lambda: services.residence_end(
                **kw(residence=hung().residences.get(kind="temporary"), ended_on=date(2024, 6, 1))
            ),
            [EventType.RESIDENCE_ENDED],
        ),
        (
            lambda: household.append(
                services.household_create(
                    **kw(
                        head=hung(),
                        commune=commune(HOAN_KIEM),
                        address_detail="Số 1 phố Hàng Trống",
                        registered_on=date(2016, 1, 1),
                    )
                )
            ),
            [EventType.RESIDENCE_REGISTERED, EventType.HOUSEHOLD_CREATED],
        ),
        (
            lambda: services.household_add_member(
                **kw(
                    household=household[0],
                    citizen=hanh(),
                    relation_to_head="spouse",
                    joined_on=date(2017, 1, 1),
                )
            ),
            [EventType.RESIDENCE_REGISTERED, EventType.HOUSEHOLD_MEMBER_ADDED],
        ),
        (
            lambda: services.household_change_head(
                **kw(
                    household=household[0],
                    new_head=hanh(),
                    previous_head_relation="spouse",
                    changed_on=date(2018, 1, 1),
                )
            ),
            [EventType.HOUSEHOLD_HEAD_CHANGED],
        ),
        (
            lambda: services.family_link_add(**kw(citizen=hung(), kind="spouse", relative=hanh())),
            [EventType.FAMILY_LINKED],
        ),
    ]

    for call, expected in steps:
        assert trail_of(call) == expected


@pytest.mark.django_db
def test_account_services_write_their_events(personas: Personas) -> None:
    unit = personas.lan.police_unit
    created: list[Any] = []

    assert trail_of(
        lambda: created.extend(
            officer_create(
                actor=Actor(personas.minh),
                username="tam",
                password=PASSWORD,
                role="collector",
                police_unit=unit,
            )
        )
    ) == [EventType.OFFICER_CREATED]
    user, device = created
    assert trail_of(lambda: otp_device_confirm(user=user, device=device)) == [EventType.OTP_DEVICE_CONFIRMED]
    tokens: list[Any] = []
    assert trail_of(lambda: tokens.extend(api_token_create(user=user, name="tablet"))) == [
        EventType.API_TOKEN_CREATED
    ]
    assert trail_of(lambda: api_token_revoke(user=user, token=tokens[0])) == [EventType.API_TOKEN_REVOKED]
    event = AuditEvent.objects.get(event_type=EventType.OFFICER_CREATED, subject_id=str(user.pk))
    assert (event.actor, event.actor_label, event.subject_type, event.subject_id) == (
        personas.minh,
        "minh",
        "user",
        str(user.pk),
    )


@pytest.mark.django_db
def test_an_officers_write_names_the_officer(personas: Personas) -> None:
    citizen = services.citizen_create(
        actor=Actor(personas.lan),
        data=services.NewCitizen("Vũ Văn Nam", "2001", "M", "001"),
        residence=services.NewResidence(
            "permanent", commune(HOAN_KIEM), "Số 3 phố Hàng Gai", date(2020, 1, 1)
        ),
        reason="Thu thập",
        source_document="DC01",
    )

    events = AuditEvent.objects.filter(subject_type="citizen", subject_id=str(citizen.pk))
    assert {(e.actor_id, e.actor_label) for e in events} == {(personas.lan.pk, "lan")}
    versions = RecordVersion.objects.filter(entity="citizen", entity_id=citizen.pk)
    assert {(v.actor_id, v.actor_label, v.reason, v.source_document) for v in versions} == {
        (personas.lan.pk, "lan", "Thu thập", "DC01")
    }


# A failed change leaves no event --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_citizen_refused_after_its_event_was_written_leaves_no_event() -> None:
    # The residence rules run after the citizen, its PIN, its creation event and version 1 were written.
    nothing_left_by(
        lambda: services.citizen_create(
            actor=SYSTEM,
            data=services.NewCitizen("Vũ Văn Nam", "2001", "M", "001"),
            residence=services.NewResidence("permanent", commune(HOAN_KIEM), "Số 3", date(2020, 1, 1)),
            reason="Thu thập",
            source_document="DC01",
            today=date(2019, 12, 31),
        )
    )


@pytest.mark.django_db
def test_a_household_refused_halfway_leaves_no_event(people: People) -> None:
    # The membership is written before the head's residence is refused (dated before the current one).
    nothing_left_by(lambda: household_of(people.hung, registered_on=date(2010, 1, 1)))
    assert not HouseholdMember.objects.exists()


@pytest.mark.django_db
def test_a_write_from_a_stale_copy_keeps_both_changes_and_numbers_versions_in_order(people: People) -> None:
    stale = Citizen.objects.get(pk=people.hung.pk)
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"phone": "0912345678"},
        reason="Officer A",
        source_document="",
    )

    # Officer B still holds the copy read before A's change: B's write touches only the field B changed
    # and takes the next version number, so A's change is neither lost nor overwritten.
    services.citizen_update(
        actor=SYSTEM,
        citizen=stale,
        changes={"email": "b@example.vn"},
        reason="Officer B",
        source_document="",
    )
    reloaded = Citizen.objects.get(pk=people.hung.pk)
    assert (reloaded.phone, reloaded.email, reloaded.version) == ("0912345678", "b@example.vn", 4)
    versions = RecordVersion.objects.filter(entity="citizen", entity_id=reloaded.pk).order_by("version")
    assert [v.reason for v in versions][-2:] == ["Officer A", "Officer B"]
    assert versions.last().snapshot["phone"] == "0912345678"


@pytest.mark.django_db
def test_an_event_rolls_back_with_the_transaction_it_was_written_in() -> None:
    before = AuditEvent.objects.count()
    seen_inside: list[int] = []

    def write_then_fail() -> None:
        with transaction.atomic():
            audit_event_record(
                actor=SYSTEM, event_type=EventType.UNITS_LOADED, subject_type="geo", subject_id="x"
            )
            seen_inside.append(AuditEvent.objects.count())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail()

    assert seen_inside == [before + 1]
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db
def test_an_event_keeps_the_unit_its_work_counts_toward() -> None:
    with transaction.atomic():
        counted = audit_event_record(
            actor=SYSTEM,
            event_type=EventType.FORM_APPLIED,
            subject_type="form",
            subject_id=1,
            unit=commune(HOAN_KIEM),
        )
        arealess = audit_event_record(
            actor=SYSTEM, event_type=EventType.UNITS_LOADED, subject_type="geo", subject_id="all"
        )

    counted.refresh_from_db()
    arealess.refresh_from_db()
    assert counted.unit == commune(HOAN_KIEM)
    assert arealess.unit is None


def test_an_event_cannot_be_written_outside_a_transaction() -> None:
    # No database access is granted to this test: the check refuses before any query is made.
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_event_record(
            actor=SYSTEM, event_type=EventType.UNITS_LOADED, subject_type="geo", subject_id="all"
        )


def test_an_actor_is_an_account_or_a_named_job() -> None:
    with pytest.raises(ValueError, match="named system job"):
        Actor()
    assert Actor(system="import").label == "system:import"
    # Its label is what a log line or a traceback shows of it.
    assert repr(Actor(system="import")) == "Actor(system:import)"


# The access log -------------------------------------------------------------------------------------


def logged(actor: Any) -> list[tuple[int, str, str]]:
    return list(
        AccessLog.objects.filter(actor=actor).order_by("pk").values_list("citizen_id", "action", "channel")
    )


@pytest.mark.django_db
def test_one_row_per_citizen_shown_on_each_page(lan: Client, personas: Personas, people: People) -> None:
    neighbour = make_citizen(full_name="Nguyễn Văn Hải", birth_date="1991")

    lan.get("/search/", {"q": "nguyen van"})
    assert sorted(logged(personas.lan)) == sorted(
        [(people.hung.pk, "search", "web"), (neighbour.pk, "search", "web")]
    )
    AccessLog.objects.all().delete()

    lan.get("/search/", {"q": "khong ai"})
    lan.get("/search/")
    assert logged(personas.lan) == []

    lan.get(f"/citizens/{people.hung.pk}/")
    lan.get(f"/citizens/{people.hung.pk}/history/", {"on": "2024-01-01"})
    lan.get(f"/citizens/{people.mai.pk}/")  # another commune: not shown, not logged
    assert logged(personas.lan) == [
        (people.hung.pk, "view", "web"),
        (people.hung.pk, "history", "web"),
        (people.hung.pk, "history", "web"),
    ]


@pytest.mark.django_db
def test_a_read_names_its_reader_an_officer_or_a_system_job(
    personas: Personas, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [people.hung.pk, people.mai.pk, people.tuan.pk]
    common = {"action": AccessLog.Action.PROCESS, "channel": AccessLog.Channel.CLI, "purpose": "Kiểm thử"}
    before = timezone.now()
    assert access_log_record(actor=Actor(system="quality"), citizen_ids=iter(ids), **common) == 3
    # Several rows go in as one statement, outside the model: the time reads back as the model's does.
    for row in AccessLog.objects.all():
        assert before <= row.accessed_at <= timezone.now()
        assert (row.action, row.channel, row.purpose, row.detail) == ("process", "cli", "Kiểm thử", "")
    assert access_log_record(actor=personas.lan, citizen_ids=[people.hung.pk], **common) == 1
    assert access_log_record(actor=Actor(personas.cuong), citizen_ids=[], **common) == 0
    rows = AccessLog.objects.order_by("pk").values_list("citizen_id", "actor_id", "actor_label")
    assert list(rows) == [
        (people.hung.pk, None, "system:quality"),
        (people.mai.pk, None, "system:quality"),
        (people.tuan.pk, None, "system:quality"),
        (people.hung.pk, personas.lan.pk, "lan"),
    ]
    # Batches of two: five rows in three statements, none lost between them; one row alone too.
    monkeypatch.setattr(audit_services, "ACCESS_LOG_BATCH", 2)
    AccessLog.objects.all().delete()
    assert access_log_record(actor=Actor(system="quality"), citizen_ids=iter(ids + ids[:2]), **common) == 5
    assert access_log_record(actor=Actor(system="quality"), citizen_ids=iter(ids[:1]), **common) == 1
    assert sorted(AccessLog.objects.values_list("citizen_id", flat=True)) == sorted(ids + ids[:2] + ids[:1])
    # The database refuses a read that names no one.
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessLog.objects.create(citizen=people.hung, **common)


@pytest.mark.django_db
def test_a_household_page_logs_each_member(lan: Client, personas: Personas, people: People) -> None:
    wife = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    household = household_of(people.hung, spouse=wife)

    lan.get(f"/households/{household.pk}/")

    rows = AccessLog.objects.filter(actor=personas.lan)
    assert sorted(rows.values_list("citizen_id", flat=True)) == sorted([people.hung.pk, wife.pk])
    assert {r.detail for r in rows} == {f"hộ {household.number}"}


@pytest.mark.django_db
def test_the_purpose_chosen_is_written_with_every_read(
    lan: Client, personas: Personas, people: People
) -> None:
    lan.get(f"/citizens/{people.hung.pk}/")
    lan.post("/purpose/", {"purpose": "procedure", "next": "/"})
    lan.get(f"/citizens/{people.hung.pk}/")
    lan.post("/purpose/", {"purpose": "made-up", "next": "/"})
    lan.get(f"/citizens/{people.hung.pk}/")

    purposes = list(
        AccessLog.objects.filter(actor=personas.lan).order_by("pk").values_list("purpose", flat=True)
    )
    assert purposes == [
        "Thu thập, cập nhật dữ liệu dân cư",
        "Giải quyết thủ tục hành chính",
        "Giải quyết thủ tục hành chính",
    ]


@pytest.mark.django_db
def test_api_reads_are_logged_on_the_api_channel(personas: Personas, people: People) -> None:
    _token, secret = api_token_create(user=personas.lan, name="tablet")
    api = Client(headers={"Authorization": f"Bearer {secret}"})

    api.get(f"/api/v1/citizens/{people.hung.pin}")
    api.get("/api/v1/citizens", {"q": "hung"})
    api.get(f"/api/v1/citizens/{people.mai.pin}")  # another commune

    assert logged(personas.lan) == [(people.hung.pk, "view", "api"), (people.hung.pk, "search", "api")]
