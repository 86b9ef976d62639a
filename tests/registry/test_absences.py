"""Khai báo tạm vắng (Luật Cư trú 2020, art. 31): a person away from their place of residence for a period.

Lan, collector of Phường Hoàn Kiếm, declares Hùng's absence from his record page, records his return, and
withdraws a declaration whose period has not begun; the API does the same. Each rule refuses with its
field and code in both languages and writes nothing; an officer of another commune finds the record no
more than a record that does not exist.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError
from dancu.registry import selectors, services
from dancu.registry.models import AbsenceDeclaration, RecordVersion
from tests import conftest
from tests.conftest import SESSION_TODAY, SYSTEM, People, Personas, counts, make_citizen
from tests.registry.merge_support import full_snapshot, reviewer
from tests.registry.test_api import errors_of
from tests.registry.test_pages import field_errors, html

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today_pinned")]

TODAY = SESSION_TODAY
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def rows() -> dict[str, int]:
    """The rows a refused declaration or return must leave as they were."""
    return counts() | {
        "AbsenceDeclaration": AbsenceDeclaration.objects.count(),
        "returned": AbsenceDeclaration.objects.filter(returned_on__isnull=False).count(),
        "withdrawn": AbsenceDeclaration.objects.filter(withdrawn_on__isnull=False).count(),
    }


def token_client(user: Any) -> Client:
    _token, secret = api_token_create(user=user, name="máy tính bảng")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def post_json(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def declaration(**overrides: Any) -> dict[str, str]:
    return {
        "starts_on": str(TODAY - timedelta(days=5)),
        "ends_on": str(TODAY + timedelta(days=90)),
        "destination": "Thành phố Đà Nẵng",
        "reason": "Đi làm việc theo hợp đồng",
        "source_document": "Tờ khai CT01",
    } | {key: str(value) for key, value in overrides.items()}


def record_death(citizen: Any, on: date) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=citizen,
        changes={"date_of_death": on.isoformat()},
        reason="Khai tử",
        source_document="Trích lục khai tử",
    )


def declare(citizen: Any, **kwargs: Any) -> AbsenceDeclaration:
    fields: dict[str, Any] = {
        "starts_on": TODAY - timedelta(days=5),
        "ends_on": TODAY + timedelta(days=90),
        "destination": "Thành phố Đà Nẵng",
        "reason": "Đi làm việc",
    }
    return services.absence_declare(actor=SYSTEM, citizen=citizen, **(fields | kwargs))


# The pages ------------------------------------------------------------------------------------------------


def test_an_absence_is_declared_from_the_record_and_shown_in_it_the_search_and_the_history(
    lan: Client, people: People
) -> None:
    hung = people.hung
    record = html(lan.get(f"/citizens/{hung.pk}/"))
    assert "Chưa khai báo tạm vắng" in record
    assert f'href="/citizens/{hung.pk}/absences/new/"' in record
    assert 'id="away"' not in record
    versions = hung.version

    form = html(lan.get(f"/citizens/{hung.pk}/absences/new/"))
    assert 'name="destination"' in form
    sent = lan.post(f"/citizens/{hung.pk}/absences/new/", declaration())

    assert (sent.status_code, sent["Location"]) == (302, f"/citizens/{hung.pk}/")
    absence = hung.absences.get()
    assert (absence.starts_on, absence.ends_on, absence.returned_on) == (
        TODAY - timedelta(days=5),
        TODAY + timedelta(days=90),
        None,
    )
    event = AuditEvent.objects.latest("pk")
    assert (event.event_type, event.subject_id, event.actor_label) == (
        "registry.absence.declared",
        str(hung.pk),
        "lan",
    )
    assert event.data["absence_id"] == absence.pk
    # A new version of the record, whose snapshot holds the absence: the state on a date shows it.
    version = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk).latest("version")
    assert version.version == versions + 1
    assert version.event_id == event.pk
    assert version.snapshot["absences"] == [
        {
            "id": absence.pk,
            "starts_on": str(TODAY - timedelta(days=5)),
            "ends_on": str(TODAY + timedelta(days=90)),
            "destination": "Thành phố Đà Nẵng",
            "reason": "Đi làm việc theo hợp đồng",
        }
    ]

    record = html(lan.get(f"/citizens/{hung.pk}/"))
    section = record.split('id="h-absences"')[1]
    assert "Thành phố Đà Nẵng" in section
    assert "Đi làm việc theo hợp đồng" in section
    assert 'id="away"' in record
    assert f'href="/citizens/{hung.pk}/absences/{absence.pk}/return/"' in section

    found = html(lan.get("/search/", {"q": "nguyen van hung"}))
    assert "Đang tạm vắng" in found.split('id="results-table"')[1]

    history = html(lan.get(f"/citizens/{hung.pk}/history/", {"on": TODAY.isoformat()}))
    state = history.split('id="state-on"')[1]
    assert 'data-field="absence"' in state
    assert "Thành phố Đà Nẵng" in state
    assert "Khai báo tạm vắng" in history.split("Các phiên bản")[1]


def test_a_run_past_local_midnight_still_shows_a_declaration_of_today_in_the_state_on_today(
    lan: Client, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run began on TODAY and the real clock now reads 00:30 the next day in Vietnam (17:30 UTC): the
    # version stamped "now" must still fall on TODAY, the day the test's dates count from.
    past_midnight = datetime.combine(TODAY + timedelta(days=1), time(0, 30), tzinfo=VIETNAM)
    monkeypatch.setattr(conftest.clock, "now", lambda: past_midnight)
    hung = people.hung

    lan.post(f"/citizens/{hung.pk}/absences/new/", declaration())

    version = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk).latest("version")
    assert timezone.localdate(version.recorded_at) == TODAY
    history = html(lan.get(f"/citizens/{hung.pk}/history/", {"on": TODAY.isoformat()}))
    assert "Thành phố Đà Nẵng" in history.split('id="state-on"')[1]


def test_the_return_is_recorded_from_the_record_and_ends_the_absence(lan: Client, people: People) -> None:
    hung = people.hung
    absence = declare(hung)
    page = html(lan.get(f"/citizens/{hung.pk}/absences/{absence.pk}/return/"))
    assert "Thành phố Đà Nẵng" in page

    sent = lan.post(
        f"/citizens/{hung.pk}/absences/{absence.pk}/return/",
        {"returned_on": TODAY.isoformat(), "reason": "Trở về nơi cư trú", "source_document": ""},
    )

    assert (sent.status_code, sent["Location"]) == (302, f"/citizens/{hung.pk}/")
    absence.refresh_from_db()
    assert absence.returned_on == TODAY
    assert AuditEvent.objects.latest("pk").event_type == "registry.absence.returned"
    version = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk).latest("version")
    assert "absences" not in version.snapshot
    record = html(lan.get(f"/citizens/{hung.pk}/"))
    assert 'id="away"' not in record
    assert f"đã trở về {TODAY:%d/%m/%Y}" in record
    assert "/return/" not in record
    # A closed absence offers no return any more, and the search no longer marks him away.
    assert lan.get(f"/citizens/{hung.pk}/absences/{absence.pk}/return/").status_code == 404
    assert "Đang tạm vắng" not in html(lan.get("/search/", {"q": "nguyen van hung"}))


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"ends_on": TODAY - timedelta(days=5)}, "ends_on", "absence.end_before_start"),
        (
            {"starts_on": TODAY - timedelta(days=60), "ends_on": TODAY - timedelta(days=1)},
            "ends_on",
            "absence.already_over",
        ),
        ({"starts_on": date(1980, 1, 1)}, "starts_on", "absence.before_birth"),
        # Hùng's residence in the ward was registered on 1 January 2015.
        ({"starts_on": date(2014, 12, 31)}, "starts_on", "absence.before_residence"),
        ({"destination": "Đà Nẵng\nHuế"}, "destination", "text.control_chars"),
        ({"reason": "x" * 301}, "reason", "text.too_long"),
    ],
)
def test_a_declaration_that_breaks_a_rule_names_it_and_writes_nothing(
    lan: Client, people: People, overrides: dict[str, Any], field: str, rule: str
) -> None:
    before = rows()

    page = html(lan.post(f"/citizens/{people.hung.pk}/absences/new/", declaration(**overrides)))

    assert f"[{rule}]" in field_errors(page, field), page
    assert rows() == before


def test_an_absence_overlapping_another_is_refused(lan: Client, people: People) -> None:
    declare(people.hung)
    before = rows()

    page = html(
        lan.post(
            f"/citizens/{people.hung.pk}/absences/new/",
            declaration(starts_on=TODAY + timedelta(days=30), ends_on=TODAY + timedelta(days=200)),
        )
    )

    assert "[absence.overlap]" in field_errors(page, "starts_on")
    assert rows() == before
    # The day he came back, he may leave again.
    services.absence_return(
        actor=SYSTEM, absence=people.hung.absences.get(), returned_on=TODAY, reason="Trở về"
    )
    again = lan.post(
        f"/citizens/{people.hung.pk}/absences/new/",
        declaration(starts_on=TODAY, ends_on=TODAY + timedelta(days=200)),
    )
    assert again.status_code == 302


def test_a_deceased_person_declares_no_absence(lan: Client, personas: Personas) -> None:
    ong = make_citizen(full_name="Nguyễn Văn Ông", birth_date="1930")
    record_death(ong, date(2024, 3, 1))
    record = html(lan.get(f"/citizens/{ong.pk}/"))
    assert "/absences/new/" not in record
    before = rows()

    page = html(lan.post(f"/citizens/{ong.pk}/absences/new/", declaration()))

    assert "[citizen.deceased]" in page
    assert rows() == before


@pytest.mark.parametrize(
    ("returned_on", "rule"),
    [
        (TODAY + timedelta(days=1), "date.future"),
        (TODAY - timedelta(days=6), "absence.return_before_start"),
    ],
)
def test_a_return_that_breaks_a_rule_names_it_and_writes_nothing(
    lan: Client, people: People, returned_on: date, rule: str
) -> None:
    absence = declare(people.hung)
    before = rows()

    page = html(
        lan.post(
            f"/citizens/{people.hung.pk}/absences/{absence.pk}/return/",
            {"returned_on": returned_on.isoformat(), "reason": "Trở về"},
        )
    )

    assert f"[{rule}]" in field_errors(page, "returned_on")
    assert rows() == before


def test_an_absence_past_its_end_is_shown_as_over_and_takes_no_return(lan: Client, people: People) -> None:
    over = declare(
        people.hung,
        starts_on=date(2024, 1, 1),
        ends_on=date(2024, 2, 1),
        today=date(2024, 1, 1),
    )
    record = html(lan.get(f"/citizens/{people.hung.pk}/"))
    assert "đã hết hạn" in record
    assert 'id="away"' not in record
    before = rows()

    page = html(
        lan.post(
            f"/citizens/{people.hung.pk}/absences/{over.pk}/return/",
            {"returned_on": "2024-03-01", "reason": "Trở về"},
        )
    )

    assert "[absence.return_after_end]" in field_errors(page, "returned_on")
    assert rows() == before
    # Nor is it corrected into a new absence: that is a new declaration.
    edit = html(
        lan.post(
            f"/citizens/{people.hung.pk}/absences/{over.pk}/edit/",
            {
                "starts_on": "2024-01-01",
                "ends_on": str(TODAY + timedelta(days=10)),
                "destination": "Thành phố Đà Nẵng",
                "absence_reason": "Đi làm việc",
                "reason": "Sửa",
            },
        )
    )
    assert "[absence.already_over]" in edit
    assert rows() == before


def test_a_declaration_is_corrected_from_the_record_and_the_history_shows_what_changed(
    lan: Client, people: People
) -> None:
    hung = people.hung
    absence = declare(hung)
    record = html(lan.get(f"/citizens/{hung.pk}/"))
    assert f'href="/citizens/{hung.pk}/absences/{absence.pk}/edit/"' in record
    form = html(lan.get(f"/citizens/{hung.pk}/absences/{absence.pk}/edit/"))
    assert 'value="Thành phố Đà Nẵng"' in form
    later = TODAY + timedelta(days=150)
    corrected = {
        "starts_on": str(absence.starts_on),
        "ends_on": str(later),
        "destination": "Thành phố Huế",
        "absence_reason": "Đi làm việc",
        "reason": "Công dân báo ở lại lâu hơn",
        "source_document": "Đơn",
    }

    sent = lan.post(f"/citizens/{hung.pk}/absences/{absence.pk}/edit/", corrected)

    assert (sent.status_code, sent["Location"]) == (302, f"/citizens/{hung.pk}/")
    absence.refresh_from_db()
    assert (absence.ends_on, absence.destination) == (later, "Thành phố Huế")
    event = AuditEvent.objects.latest("pk")
    assert event.event_type == "registry.absence.corrected"
    assert event.data["changes"] == {
        "ends_on": {"old": str(TODAY + timedelta(days=90)), "new": str(later)},
        "destination": {"old": "Thành phố Đà Nẵng", "new": "Thành phố Huế"},
    }
    version = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk).latest("version")
    assert version.snapshot["absences"][0]["destination"] == "Thành phố Huế"
    history = html(lan.get(f"/citizens/{hung.pk}/history/"))
    assert "Sửa khai báo tạm vắng" in history
    assert f"{later:%d/%m/%Y}" in history.split('data-field="ends_on"')[1]
    # The same form sent again changes nothing, and is refused rather than written twice.
    before = rows()
    again = html(lan.post(f"/citizens/{hung.pk}/absences/{absence.pk}/edit/", corrected))
    assert "[absence.unchanged]" in again
    assert rows() == before


def test_a_correction_follows_the_rules_of_a_declaration_and_a_closed_one_takes_none(
    lan: Client, people: People
) -> None:
    first = declare(people.hung, ends_on=TODAY + timedelta(days=20))
    second = declare(people.hung, starts_on=TODAY + timedelta(days=40), ends_on=TODAY + timedelta(days=60))
    before = rows()
    body = {
        "starts_on": str(first.starts_on),
        "ends_on": str(TODAY + timedelta(days=45)),
        "destination": "Thành phố Đà Nẵng",
        "absence_reason": "Đi làm việc",
        "reason": "Sửa",
    }

    overlapping = html(lan.post(f"/citizens/{people.hung.pk}/absences/{first.pk}/edit/", body))
    assert "[absence.overlap]" in field_errors(overlapping, "starts_on")
    assert rows() == before

    services.absence_return(actor=SYSTEM, absence=first, returned_on=TODAY, reason="Trở về")
    # A closed declaration is history: no page to correct it, and the service refuses it.
    assert lan.get(f"/citizens/{people.hung.pk}/absences/{first.pk}/edit/").status_code == 404
    with pytest.raises(DomainError) as refused:
        services.absence_correct(
            actor=SYSTEM,
            absence=first,
            starts_on=first.starts_on,
            ends_on=TODAY + timedelta(days=30),
            destination="Huế",
            absence_reason="Đi làm",
            reason="Sửa",
        )
    assert {e.code for e in refused.value.errors} >= {"absence.already_returned"}
    assert second.pk in {a.pk for a in people.hung.absences.all()}


def test_an_officer_of_another_commune_finds_no_record_to_declare_on(
    personas: Personas, people: People, sign_in: Any
) -> None:
    binh = sign_in(Client(), personas.binh)
    absence = declare(people.hung)
    before = rows()

    answers = [
        binh.get(f"/citizens/{people.hung.pk}/absences/new/"),
        binh.post(f"/citizens/{people.hung.pk}/absences/new/", declaration()),
        binh.get(f"/citizens/{people.hung.pk}/absences/{absence.pk}/return/"),
        binh.post(
            f"/citizens/{people.hung.pk}/absences/{absence.pk}/return/",
            {"returned_on": TODAY.isoformat(), "reason": "Trở về"},
        ),
    ]
    missing = binh.get("/citizens/99999999/absences/new/")

    assert [a.status_code for a in answers] == [404] * 4
    assert all(a.content == missing.content for a in answers)
    assert rows() == before


def test_another_citizens_absence_is_not_found_on_a_record(lan: Client, people: People) -> None:
    other = make_citizen(full_name="Đỗ Văn Long", birth_date="1988-02-03", address="Số 9 phố Hàng Gai")
    absence = declare(other)

    assert lan.get(f"/citizens/{people.hung.pk}/absences/{absence.pk}/return/").status_code == 404


def test_an_officer_of_a_pre_2025_unit_records_no_absence(
    people: People, personas: Personas, sign_in: Any
) -> None:
    # Hòa's district police reads the records declared in its old units, but writes no residence of a 2025
    # commune: the declaration is made at the police of the place of residence.
    hoa = sign_in(Client(), personas.hoa)
    record = html(hoa.get(f"/citizens/{people.nga.pk}/"))
    assert "/absences/new/" not in record
    before = rows()

    page = html(hoa.post(f"/citizens/{people.nga.pk}/absences/new/", declaration()))

    # Refused for what the unit is (it writes no residence), not as if Nga lived outside its area.
    assert "[role.not_allowed]" in page
    assert rows() == before


def test_the_absence_pages_speak_english(lan: Client, people: People) -> None:
    absence = declare(people.hung)
    lan.post("/i18n/setlang/", {"language": "en", "next": "/"})

    record = html(lan.get(f"/citizens/{people.hung.pk}/"))
    refused = html(
        lan.post(
            f"/citizens/{people.hung.pk}/absences/new/",
            declaration(starts_on=TODAY + timedelta(days=10), ends_on=TODAY + timedelta(days=20)),
        )
    )

    section = record.split('id="h-absences"')[1].split("</section>")[0]
    assert "Temporary absence" in section
    assert "Back home" in section
    assert f'href="/citizens/{people.hung.pk}/absences/{absence.pk}/return/"' in section
    assert "overlaps" in field_errors(refused, "starts_on")


# Withdrawal (huỷ khai báo tạm vắng) -------------------------------------------------------------------------

SOON = {"starts_on": TODAY + timedelta(days=10), "ends_on": TODAY + timedelta(days=40)}
WITHDRAWAL = {"reason": "Công dân không đi nữa", "source_document": "Đơn đề nghị"}


def test_a_declaration_not_yet_begun_is_withdrawn_from_the_record_and_kept_in_its_history(
    lan: Client, people: People
) -> None:
    hung = people.hung
    absence = declare(hung, **SOON)
    record = html(lan.get(f"/citizens/{hung.pk}/"))
    withdraw = f"/citizens/{hung.pk}/absences/{absence.pk}/withdraw/"
    assert f'href="{withdraw}"' in record
    assert "Thành phố Đà Nẵng" in html(lan.get(withdraw))
    declared = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk).latest("version")
    assert [a["id"] for a in declared.snapshot["absences"]] == [absence.pk]

    sent = lan.post(withdraw, WITHDRAWAL)

    assert (sent.status_code, sent["Location"]) == (302, f"/citizens/{hung.pk}/")
    absence.refresh_from_db()
    # Marked, not deleted: the row keeps what was declared.
    assert (absence.withdrawn_on, absence.returned_on, absence.starts_on) == (TODAY, None, SOON["starts_on"])
    event = AuditEvent.objects.latest("pk")
    assert (event.event_type, event.subject_id, event.actor_label, event.reason) == (
        "registry.absence.withdrawn",
        str(hung.pk),
        "lan",
        "Công dân không đi nữa",
    )
    assert event.data == {
        "absence_id": absence.pk,
        "starts_on": str(SOON["starts_on"]),
        "ends_on": str(SOON["ends_on"]),
        "withdrawn_on": str(TODAY),
    }
    # The version that withdraws it is the first without it; the one before still shows it declared.
    version = RecordVersion.objects.filter(entity="citizen", entity_id=hung.pk).latest("version")
    assert (version.version, version.event_id) == (declared.version + 1, event.pk)
    assert "absences" not in version.snapshot
    record = html(lan.get(f"/citizens/{hung.pk}/"))
    row = record.split(f'data-absence="{absence.pk}"')[1].split("</tr>")[0]
    assert f"đã huỷ khai báo {TODAY:%d/%m/%Y}" in row
    assert "/withdraw/" not in record
    assert f"/absences/{absence.pk}/edit/" not in record
    assert 'class="muted" data-absence' in record
    history = html(lan.get(f"/citizens/{hung.pk}/history/"))
    assert "Huỷ khai báo tạm vắng" in history.split("Các phiên bản")[1]
    # A withdrawn declaration takes nothing more, and its days are free to declare again.
    assert lan.get(withdraw).status_code == 404
    assert lan.get(f"/citizens/{hung.pk}/absences/{absence.pk}/edit/").status_code == 404
    again = lan.post(f"/citizens/{hung.pk}/absences/new/", declaration(**SOON))
    assert again.status_code == 302


@pytest.mark.parametrize("days", [0, -5])
def test_an_absence_already_begun_is_not_withdrawn(lan: Client, people: People, days: int) -> None:
    """From its first day the person has left: the absence ends with a return, not a withdrawal."""
    hung = people.hung
    absence = declare(hung, starts_on=TODAY + timedelta(days=days))
    assert "/withdraw/" not in html(lan.get(f"/citizens/{hung.pk}/"))
    before = rows()

    page = html(lan.post(f"/citizens/{hung.pk}/absences/{absence.pk}/withdraw/", WITHDRAWAL))

    assert f"Tạm vắng từ ngày: Lần tạm vắng đã bắt đầu ngày {absence.starts_on:%d/%m/%Y}" in page
    assert "[absence.already_started]" in page
    assert rows() == before


def test_a_withdrawn_declaration_takes_no_return_correction_or_second_withdrawal(people: People) -> None:
    hung = people.hung
    absence = declare(hung, **SOON)
    with pytest.raises(DomainError) as no_reason:
        services.absence_withdraw(actor=SYSTEM, absence=absence, reason=" ")
    assert {(e.field, e.code) for e in no_reason.value.errors} == {("reason", "reason.required")}
    services.absence_withdraw(actor=SYSTEM, absence=absence, reason="Không đi nữa")
    before = rows()

    refusals = [
        lambda: services.absence_withdraw(actor=SYSTEM, absence=absence, reason="Không đi nữa"),
        lambda: services.absence_return(
            actor=SYSTEM, absence=absence, returned_on=TODAY, reason="Trở về", today=SOON["starts_on"]
        ),
        lambda: services.absence_correct(
            actor=SYSTEM,
            absence=absence,
            starts_on=absence.starts_on,
            ends_on=absence.ends_on + timedelta(days=5),
            destination="Thành phố Huế",
            absence_reason="Đi làm việc",
            reason="Sửa",
        ),
    ]
    for refused in refusals:
        with pytest.raises(DomainError) as caught:
            refused()
        assert ("absence", "absence.withdrawn") in {(e.field, e.code) for e in caught.value.errors}
        assert f"huỷ ngày {TODAY:%d/%m/%Y}" in caught.value.errors[0].message("vi")
    assert rows() == before
    # When its days come, the person it named is not away under it.
    absence.refresh_from_db()
    assert not absence.is_current_on(SOON["starts_on"])
    assert selectors.citizens_away([hung.pk], on=SOON["starts_on"]) == set()


def test_a_declaration_the_person_came_back_from_is_not_withdrawn(people: People) -> None:
    absence = declare(people.hung)
    services.absence_return(actor=SYSTEM, absence=absence, returned_on=TODAY, reason="Trở về")
    before = rows()

    with pytest.raises(DomainError) as refused:
        services.absence_withdraw(actor=SYSTEM, absence=absence, reason="Không đi nữa")

    assert {(e.field, e.code) for e in refused.value.errors} == {("absence", "absence.already_returned")}
    assert rows() == before


def test_an_officer_of_another_commune_finds_no_declaration_to_withdraw(
    personas: Personas, people: People, sign_in: Any
) -> None:
    binh = sign_in(Client(), personas.binh)
    binh_api = token_client(personas.binh)
    absence = declare(people.hung, **SOON)
    before = rows()

    pages = [
        binh.get(f"/citizens/{people.hung.pk}/absences/{absence.pk}/withdraw/"),
        binh.post(f"/citizens/{people.hung.pk}/absences/{absence.pk}/withdraw/", WITHDRAWAL),
    ]
    missing_page = binh.get("/citizens/99999999/absences/new/")
    answer = post_json(
        binh_api, f"/api/v1/citizens/{people.hung.pin}/absences/{absence.pk}/withdraw", WITHDRAWAL
    )
    missing = post_json(binh_api, f"/api/v1/citizens/001090999999/absences/{absence.pk}/withdraw", WITHDRAWAL)

    assert [p.status_code for p in pages] == [404, 404]
    assert all(p.content == missing_page.content for p in pages)
    assert answer.status_code == missing.status_code == 404
    assert answer.json() == missing.json()
    assert rows() == before
    # The service itself refuses an officer whose area holds none of the person's residences.
    with pytest.raises(DomainError) as refused:
        services.absence_withdraw(actor=Actor(personas.binh), absence=absence, reason="Không đi nữa")
    assert {(e.field, e.code) for e in refused.value.errors} == {("citizen", "unit.outside_jurisdiction")}
    assert rows() == before


def test_the_withdrawal_speaks_english(lan: Client, people: People) -> None:
    absence = declare(people.hung, **SOON)
    lan.post("/i18n/setlang/", {"language": "en", "next": "/"})

    offered = html(lan.get(f"/citizens/{people.hung.pk}/"))
    lan.post(f"/citizens/{people.hung.pk}/absences/{absence.pk}/withdraw/", WITHDRAWAL)
    shown = html(lan.get(f"/citizens/{people.hung.pk}/"))

    assert "Withdraw" in offered.split(f'data-absence="{absence.pk}"')[1].split("</tr>")[0]
    assert f"withdrawn {TODAY:%d/%m/%Y}" in shown.split(f'data-absence="{absence.pk}"')[1].split("</tr>")[0]


# The API ---------------------------------------------------------------------------------------------------


def test_the_api_declares_an_absence_shows_it_and_records_the_return(
    personas: Personas, people: People
) -> None:
    api = token_client(personas.lan)
    pin = people.hung.pin

    made = post_json(api, f"/api/v1/citizens/{pin}/absences", declaration())

    assert made.status_code == 201, made.content
    body = made.json()
    assert body | {"id": 0} == {
        "id": 0,
        "starts_on": str(TODAY - timedelta(days=5)),
        "ends_on": str(TODAY + timedelta(days=90)),
        "destination": "Thành phố Đà Nẵng",
        "reason": "Đi làm việc theo hợp đồng",
        "returned_on": None,
        "ended_by_move": False,
        "withdrawn_on": None,
        "status": "current",
        "current": True,
    }
    record = api.get(f"/api/v1/citizens/{pin}").json()
    assert record["away"] is True
    assert [a["id"] for a in record["absences"]] == [body["id"]]
    found = api.get("/api/v1/citizens", {"q": "nguyen van hung"}).json()["results"]
    assert [(c["pin"], c["away"]) for c in found] == [(pin, True)]
    history = api.get(f"/api/v1/citizens/{pin}/history").json()
    assert history[0]["event_type"] == "registry.absence.declared"
    assert history[0]["snapshot"]["absences"][0]["destination"] == "Thành phố Đà Nẵng"

    back = post_json(api, f"/api/v1/citizens/{pin}/absences/{body['id']}/return", {"returned_on": str(TODAY)})

    assert back.status_code == 200, back.content
    assert (back.json()["returned_on"], back.json()["ended_by_move"], back.json()["current"]) == (
        str(TODAY),
        False,
        False,
    )
    assert api.get(f"/api/v1/citizens/{pin}").json()["away"] is False
    before = rows()
    again = post_json(
        api, f"/api/v1/citizens/{pin}/absences/{body['id']}/return", {"returned_on": str(TODAY)}
    )
    assert {(e["field"], e["code"]) for e in errors_of(again, 422)} == {
        ("absence", "absence.already_returned")
    }
    assert rows() == before


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"destination": "  "}, "destination", "absence.destination_required"),
        ({"reason": ""}, "reason", "absence.reason_required"),
        ({"ends_on": TODAY - timedelta(days=5)}, "ends_on", "absence.end_before_start"),
        ({"starts_on": date(1980, 1, 1)}, "starts_on", "absence.before_birth"),
    ],
)
def test_the_api_names_the_field_and_rule_of_a_refused_declaration(
    personas: Personas, people: People, overrides: dict[str, Any], field: str, rule: str
) -> None:
    api = token_client(personas.lan)
    before = rows()

    response = post_json(api, f"/api/v1/citizens/{people.hung.pin}/absences", declaration(**overrides))

    errors = errors_of(response, 422)
    assert (field, rule) in {(e["field"], e["code"]) for e in errors}
    assert rows() == before


def test_the_api_corrects_a_declaration(personas: Personas, people: People) -> None:
    absence = declare(people.hung)
    api, binh = token_client(personas.lan), token_client(personas.binh)
    path = f"/api/v1/citizens/{people.hung.pin}/absences/{absence.pk}"
    later = TODAY + timedelta(days=120)

    response = api.patch(
        path, json.dumps({"ends_on": str(later), "reason": "Ở lại lâu hơn"}), content_type="application/json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["ends_on"], response.json()["destination"]) == (str(later), "Thành phố Đà Nẵng")
    before = rows()
    refused = api.patch(
        path,
        json.dumps({"ends_on": str(absence.starts_on), "reason": "Sửa"}),
        content_type="application/json",
    )
    assert {(e["field"], e["code"]) for e in errors_of(refused, 422)} == {
        ("ends_on", "absence.end_before_start")
    }
    hidden = binh.patch(path, json.dumps({"reason": "Sửa"}), content_type="application/json")
    assert hidden.status_code == 404
    assert rows() == before


def test_a_person_without_a_residence_declares_no_absence(personas: Personas, people: People) -> None:
    home = people.tuan.residences.get()
    services.residence_end(
        actor=SYSTEM,
        residence=home,
        ended_on=date(2024, 1, 1),
        reason="Xoá đăng ký thường trú",
        source_document="",
    )
    minh = token_client(personas.minh)
    before = rows()

    response = post_json(minh, f"/api/v1/citizens/{people.tuan.pin}/absences", declaration())

    assert {(e["field"], e["code"]) for e in errors_of(response, 422)} == {
        ("citizen", "absence.no_residence")
    }
    assert rows() == before


def test_the_api_of_another_commune_answers_as_for_a_missing_record(
    personas: Personas, people: People
) -> None:
    absence = declare(people.hung)
    binh = token_client(personas.binh)
    before = rows()

    declared = post_json(binh, f"/api/v1/citizens/{people.hung.pin}/absences", declaration())
    returned = post_json(
        binh, f"/api/v1/citizens/{people.hung.pin}/absences/{absence.pk}/return", {"returned_on": str(TODAY)}
    )
    missing = post_json(binh, "/api/v1/citizens/001090999999/absences", declaration())

    assert declared.status_code == returned.status_code == missing.status_code == 404
    assert declared.json() == returned.json() == missing.json()
    assert rows() == before
    # Lan, whose record it is, gets "not found" for another citizen's absence id on it.
    other = make_citizen(full_name="Đỗ Văn Long", birth_date="1988-02-03", address="Số 9 phố Hàng Gai")
    elsewhere = declare(other)
    wrong = post_json(
        token_client(personas.lan),
        f"/api/v1/citizens/{people.hung.pin}/absences/{elsewhere.pk}/return",
        {"returned_on": str(TODAY)},
    )
    assert wrong.status_code == 404


def test_the_api_withdraws_a_declaration_not_yet_begun(personas: Personas, people: People) -> None:
    api = token_client(personas.lan)
    pin = people.hung.pin
    soon = declare(people.hung, **SOON)
    now = declare(people.hung, starts_on=TODAY - timedelta(days=5), ends_on=TODAY + timedelta(days=5))

    withdrawn = post_json(api, f"/api/v1/citizens/{pin}/absences/{soon.pk}/withdraw", WITHDRAWAL)

    assert withdrawn.status_code == 200, withdrawn.content
    assert withdrawn.json() == {
        "id": soon.pk,
        "starts_on": str(SOON["starts_on"]),
        "ends_on": str(SOON["ends_on"]),
        "destination": "Thành phố Đà Nẵng",
        "reason": "Đi làm việc",
        "returned_on": None,
        "ended_by_move": False,
        "withdrawn_on": str(TODAY),
        "status": "withdrawn",
        "current": False,
    }
    record = api.get(f"/api/v1/citizens/{pin}").json()
    assert [(a["id"], a["withdrawn_on"]) for a in record["absences"]] == [
        (soon.pk, str(TODAY)),
        (now.pk, None),
    ]
    history = api.get(f"/api/v1/citizens/{pin}/history").json()
    assert history[0]["event_type"] == "registry.absence.withdrawn"
    assert [a["id"] for a in history[0]["snapshot"]["absences"]] == [now.pk]
    before = rows()
    again = post_json(api, f"/api/v1/citizens/{pin}/absences/{soon.pk}/withdraw", WITHDRAWAL)
    begun = post_json(api, f"/api/v1/citizens/{pin}/absences/{now.pk}/withdraw", WITHDRAWAL)
    no_reason = post_json(api, f"/api/v1/citizens/{pin}/absences/{now.pk}/withdraw", {})
    assert {(e["field"], e["code"]) for e in errors_of(again, 422)} == {("absence", "absence.withdrawn")}
    assert {(e["field"], e["code"]) for e in errors_of(begun, 422)} == {
        ("starts_on", "absence.already_started")
    }
    assert no_reason.status_code == 422
    assert rows() == before


# Merged records --------------------------------------------------------------------------------------------


def test_a_merge_keeps_one_of_two_declarations_of_the_same_absence(
    lan: Client, people: People, personas: Personas
) -> None:
    """Hùng was collected twice, and his absence declared on both records. The merge moves the absorbed
    record's declarations to the kept one; a declaration overlapping one the kept record has stays on the
    absorbed record, as a family link the kept record has already does: two periods at once would show
    him away twice and leave each declaration uncorrectable, every correction clashing with the other."""
    hung = people.hung
    duplicate = make_citizen(full_name="Nguyen Van Hung", address="Số 3 phố Hàng Gai")
    kept = declare(hung)
    twin = declare(duplicate, ends_on=TODAY + timedelta(days=60))
    later = declare(duplicate, starts_on=TODAY + timedelta(days=200), ends_on=TODAY + timedelta(days=230))
    before = full_snapshot(hung, duplicate)
    thu = Actor(reviewer())

    merge = services.citizen_merge(
        actor=thu,
        keep=hung,
        absorb=duplicate,
        reason="Hai hồ sơ cùng một người",
        source_document="Biên bản xác minh 7",
        choices={"permanent": "keep"},
    )

    assert sorted(hung.absences.values_list("pk", flat=True)) == [kept.pk, later.pk]
    assert list(duplicate.absences.values_list("pk", flat=True)) == [twin.pk]
    assert merge.summary["left_on_absorbed"]["absences"] == 1
    page = html(lan.get(f"/citizens/{hung.pk}/"))
    assert page.count('id="away"') == 1
    corrected = token_client(personas.lan).patch(
        f"/api/v1/citizens/{hung.pin}/absences/{kept.pk}",
        json.dumps({"ends_on": str(TODAY + timedelta(days=120)), "reason": "Ở lại lâu hơn dự định"}),
        content_type="application/json",
    )
    assert corrected.status_code == 200, corrected.content

    services.citizen_merge_undo(actor=thu, merge=merge, reason="Hai người khác")
    assert full_snapshot(hung, duplicate)["absences"] == [
        row if row["id"] != kept.pk else row | {"ends_on": TODAY + timedelta(days=120)}
        for row in before["absences"]
    ]


def test_a_person_who_died_while_away_is_not_shown_away(
    lan: Client, people: People, personas: Personas
) -> None:
    """Hùng dies during his declared absence: the record, the search and the API no longer show him away
    (the declaration stays in the record, as it was)."""
    hung = people.hung
    away = declare(hung)
    record_death(hung, TODAY - timedelta(days=1))

    record = html(lan.get(f"/citizens/{hung.pk}/"))
    found = html(lan.get("/search/", {"q": "nguyen van hung"}))
    body = token_client(personas.lan).get(f"/api/v1/citizens/{hung.pin}").json()

    assert "Đã mất" in record
    assert 'id="away"' not in record
    assert "đang tạm vắng" not in record.split('id="absences"')[1]
    assert f'data-absence="{away.pk}"' in record
    assert "Đang tạm vắng" not in found
    assert body["away"] is False
    assert [(a["id"], a["status"], a["current"]) for a in body["absences"]] == [(away.pk, "deceased", False)]
    assert "—" in record.split(f'data-absence="{away.pk}"')[1].split("</tr>")[0]


def test_the_declarations_of_a_person_who_died_take_no_return_and_no_withdrawal(
    people: People, personas: Personas
) -> None:
    """A death ends the open declarations (status "deceased"): one that was running takes no return, one
    not yet begun is not withdrawn, through the API as on the pages (which offer neither)."""
    hung = people.hung
    away = declare(hung)
    upcoming = declare(hung, starts_on=TODAY + timedelta(days=100), ends_on=TODAY + timedelta(days=120))
    record_death(hung, TODAY - timedelta(days=1))
    api = token_client(personas.lan)
    before = rows()

    came_back = post_json(
        api,
        f"/api/v1/citizens/{hung.pin}/absences/{away.pk}/return",
        {"returned_on": TODAY.isoformat(), "reason": "Trở về"},
    )
    withdrawn = post_json(
        api, f"/api/v1/citizens/{hung.pin}/absences/{upcoming.pk}/withdraw", {"reason": "Không đi nữa"}
    )

    for answer in (came_back, withdrawn):
        assert answer.status_code == 422, answer.content
        assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("citizen", "citizen.deceased")]
    assert rows() == before


def test_a_merge_moves_a_withdrawn_declaration_whatever_its_days(people: People) -> None:
    """A withdrawn declaration is no absence: on the absorbed record it clashes with none of the kept
    record's, and moves with the rest of the record's history."""
    hung = people.hung
    duplicate = make_citizen(full_name="Nguyen Van Hung", address="Số 3 phố Hàng Gai")
    kept = declare(hung, **SOON)
    withdrawn = declare(duplicate, **SOON)
    services.absence_withdraw(actor=SYSTEM, absence=withdrawn, reason="Khai trùng")

    merge = services.citizen_merge(
        actor=Actor(reviewer()),
        keep=hung,
        absorb=duplicate,
        reason="Hai hồ sơ cùng một người",
        source_document="Biên bản xác minh 7",
        choices={"permanent": "keep"},
    )

    assert sorted(hung.absences.values_list("pk", flat=True)) == sorted([kept.pk, withdrawn.pk])
    assert merge.summary["moved"]["absences"] == 1
    assert "absences" not in merge.summary.get("left_on_absorbed", {})
