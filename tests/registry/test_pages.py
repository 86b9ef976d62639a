"""The pages an officer uses, driven through the real sign-in (password, then the TOTP code).

Lan, collector of Phường Hoàn Kiếm, searches, opens records, looks at a record's past, registers a
newcomer, a temporary residence and a household member; a refused form says which field broke which
rule and writes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dancu.audit.models import AccessLog, AuditEvent
from dancu.lib import pin as pin_codec
from dancu.registry import services
from dancu.registry.models import Citizen, Household, RecordVersion
from tests.conftest import (
    HOAN_KIEM,
    SAI_GON,
    SYSTEM,
    People,
    Personas,
    commune,
    counts,
    household_of,
    make_citizen,
)
from tests.pages import field_errors, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def household(people: People) -> Household:
    wife = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    opened = household_of(people.hung, spouse=wife)
    services.family_link_add(
        actor=SYSTEM,
        citizen=people.hung,
        kind="spouse",
        relative=wife,
        reason="Kết hôn",
        source_document="GCN",
    )
    return opened


# Search ---------------------------------------------------------------------------------------------


def test_the_search_page_finds_and_links_the_record(lan: Client, people: People) -> None:
    page = html(lan.get("/search/", {"q": "NGUYEN VAN HUNG"}))

    assert page.startswith("<!doctype html>")
    assert 'id="results-table"' in page
    assert f'href="/citizens/{people.hung.pk}/"' in page
    assert people.hung.pin in page
    assert 'value="NGUYEN VAN HUNG"' in page  # what was typed stays in the box


def test_an_htmx_search_returns_only_the_results(lan: Client, people: People) -> None:
    response = lan.get("/search/", {"q": "hung"}, headers={"HX-Request": "true"})

    partial = html(response)
    assert response.templates[0].name == "registry/_results.html"
    assert "<html" not in partial
    assert "<form" not in partial
    assert 'id="results-table"' in partial
    assert people.hung.pin in partial


def test_an_htmx_search_that_breaks_a_rule_shows_the_rule(lan: Client, people: People) -> None:
    partial = html(lan.get("/search/", {"q": "nguyen van 3"}, headers={"HX-Request": "true"}))

    assert "<html" not in partial
    assert "[search.text]" in partial
    assert "results-table" not in partial


def test_a_search_without_results_says_so(lan: Client, people: People) -> None:
    page = html(lan.get("/search/", {"q": "le thi mai"}))  # Mai lives in another commune

    assert 'id="no-results"' in page
    assert people.mai.pin not in page


def test_search_errors_are_shown_next_to_their_field(lan: Client, people: People) -> None:
    page = html(lan.get("/search/", {"q": "hung", "birth": "31/02/1973"}))

    assert "[date.day_range]" in field_errors(page, "birth")
    assert "results-table" not in page


def test_the_search_pages_through_results(lan: Client, people: People) -> None:
    for letter in "ABCDEGHIKLMNOPQRSTUVX":  # 21 people
        make_citizen(full_name=f"Đặng Văn {letter}", birth_date="1980")

    first = html(lan.get("/search/", {"q": "dang van"}))
    second = html(lan.get("/search/", {"q": "dang van", "page": "2"}))

    assert 'rel="next"' in first
    assert 'rel="prev"' not in first
    assert first.count("<tr>") == 20 + 1  # the header row and twenty results
    assert 'rel="prev"' in second
    assert 'rel="next"' not in second
    assert "Đặng Văn X" in second
    assert "Đặng Văn X" not in first
    # Each link carries the search once, with its own page.
    assert 'href="?q=dang+van&amp;page=1" rel="prev"' in second
    assert 'href="?q=dang+van&amp;page=2" rel="next"' in first


def test_a_page_past_the_last_says_it_is_empty_and_links_the_first(lan: Client, people: People) -> None:
    page = html(lan.get("/search/", {"q": "nguyen", "page": "50"}))

    assert 'id="no-results"' not in page
    assert "Trang 50 không có kết quả nào" in page.split('id="empty-page"')[1]
    assert 'href="?q=nguyen&amp;page=1"' in page


# The record, its history and its state on a date ----------------------------------------------------


def test_the_record_page_shows_data_household_family_and_residences(
    lan: Client, people: People, household: Household
) -> None:
    page = html(lan.get(f"/citizens/{people.hung.pk}/"))

    assert "<h1>Nguyễn Văn Hùng" in page
    assert f'<code id="pin">{people.hung.pin}</code>' in page
    assert "012345678" in page  # the old CMND
    assert "17/05/1990" in page
    assert f'href="/households/{household.pk}/"' in page
    assert household.number in page
    assert "Đỗ Thị Hạnh" in page  # the spouse, in the family section
    residences = page.split('id="residences"')[1].split("</table>")[0]
    assert residences.count("Số 1 phố Hàng Trống") == 2  # the household address and the first one
    assert "đã chấm dứt" in residences


def test_a_partial_birth_date_is_shown_with_its_precision(
    personas: Personas, people: People, sign_in: Any
) -> None:
    client = sign_in(Client(), personas.cuong)

    mai = html(client.get(f"/citizens/{people.mai.pk}/"))
    nga = html(client.get(f"/citizens/{people.nga.pk}/"))

    assert "<dd>1985 <span" in mai
    assert "chỉ rõ năm" in mai
    assert "<dd>03/1970 <span" in nga
    assert "chỉ rõ tháng, năm" in nga
    assert "Địa chỉ cũ" in nga  # the legacy address is kept next to the 2025 unit


def test_the_history_page_shows_each_change(lan: Client, people: People) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"phone": "0912345678"},
        reason="Bổ sung số điện thoại",
        source_document="DC02",
    )

    page = html(lan.get(f"/citizens/{people.hung.pk}/history/"))

    assert page.count('class="version card"') == 3
    assert '<span class="diff-old">—</span> → <span class="diff-new">0912345678</span>' in page
    assert "Bổ sung số điện thoại" in page
    assert 'id="state-on"' not in page


def test_the_history_shows_labels_choices_and_dates_as_the_record_does(lan: Client, people: People) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=people.hung,
        changes={"marital_status": "married", "birth_date": "1990-05", "religion": "01"},
        reason="Cập nhật theo giấy tờ",
        source_document="GKS 12",
    )

    page = html(lan.get(f"/citizens/{people.hung.pk}/history/", {"on": "2100-01-01"}))

    changes = page.split("Các phiên bản")[1]
    assert "Tình trạng hôn nhân: " in changes
    assert '<span class="diff-new">Đã kết hôn</span>' in changes
    assert (
        'Ngày sinh: <span class="diff-old">17/05/1990</span> → <span class="diff-new">05/1990</span>'
        in changes
    )
    assert "marital_status" not in changes.replace('data-field="marital_status"', "")
    assert "1990-05" not in changes
    assert (
        'Tôn giáo: <span class="diff-old">Không</span> → <span class="diff-new">Phật giáo</span>' in changes
    )
    state = page.split('id="state-on"')[1]
    assert '<dd data-field="birth_date">05/1990</dd>' in state
    assert '<dd data-field="marital_status">Đã kết hôn</dd>' in state

    lan.post("/i18n/setlang/", {"language": "en"})
    english = html(lan.get(f"/citizens/{people.hung.pk}/history/"))
    assert "Marital status: " in english
    assert "Married" in english


def test_the_numbers_and_the_history_of_a_merged_record_lead_to_the_kept_one(
    lan: Client, people: People
) -> None:
    duplicate = make_citizen(
        full_name="Nguyen Van Hung", address="Số 3 phố Hàng Gai", old_id_number="023456789"
    )
    services.citizen_merge(
        actor=SYSTEM,
        keep=Citizen.objects.get(pk=people.hung.pk),
        absorb=Citizen.objects.get(pk=duplicate.pk),
        reason="Hai hồ sơ cùng một người",
        source_document="Biên bản xác minh 7",
        choices={"permanent": "keep", "old_id_number": "keep"},
    )
    assert Citizen.objects.get(pk=duplicate.pk).old_id_number == "023456789"  # stayed on the merged record

    # The officer holds papers with the cancelled PIN, or the CMND left on the merged record.
    for number in (duplicate.pin, "023456789"):
        page = html(lan.get("/search/", {"q": number}))
        assert f'href="/citizens/{people.hung.pk}/"' in page, number
        assert f"<code>{people.hung.pin}</code>" in page
        assert AccessLog.objects.filter(
            citizen=people.hung, action="search", detail__contains=f"từ khoá: {number}"
        ).exists()

    history = html(lan.get(f"/citizens/{duplicate.pk}/history/"))
    assert f'href="/citizens/{people.hung.pk}/"' in history
    assert 'id="merged-records"' in history
    assert AccessLog.objects.filter(citizen=people.hung, action="history").exists()


def test_the_page_of_a_merged_record_moves_to_the_kept_one_and_says_why(lan: Client, people: People) -> None:
    duplicate = make_citizen(full_name="Nguyen Van Hung", address="Số 3 phố Hàng Gai")
    services.citizen_merge(
        actor=SYSTEM,
        keep=Citizen.objects.get(pk=people.hung.pk),
        absorb=Citizen.objects.get(pk=duplicate.pk),
        reason="Hai hồ sơ cùng một người",
        source_document="Biên bản xác minh 7",
        choices={"permanent": "keep"},
    )
    reads = AccessLog.objects.filter(citizen=people.hung, action="view")
    before = reads.count()

    response = lan.get(f"/citizens/{duplicate.pk}/", follow=True)

    # Under the kept record's own address, not another person's PIN under the merged record's.
    assert response.redirect_chain == [(f"/citizens/{people.hung.pk}/", 302)]
    page = html(response)
    assert "Hồ sơ bạn mở đã được hợp nhất vào hồ sơ này, hồ sơ được giữ lại" in page
    assert people.hung.pin in page
    # One read, one row: the step that found the kept record read nothing of it.
    assert reads.count() == before + 1


def test_the_state_on_a_date_form(lan: Client, people: People) -> None:
    RecordVersion.objects.filter(entity="citizen", entity_id=people.hung.pk).update(
        recorded_at="2020-01-10T03:00:00Z"
    )

    on = html(lan.get(f"/citizens/{people.hung.pk}/history/", {"on": "2020-01-10"}))
    before = html(lan.get(f"/citizens/{people.hung.pk}/history/", {"on": "2020-01-09"}))
    invalid = html(lan.get(f"/citizens/{people.hung.pk}/history/", {"on": "2023-02-30"}))

    state = on.split('id="state-on"')[1]
    assert "10/01/2020" in state
    assert '<dd data-field="full_name">Nguyễn Văn Hùng</dd>' in state
    assert "Số 1 phố Hàng Trống" in state
    assert "Hồ sơ chưa tồn tại vào ngày này." in before
    assert 'id="state-on"' not in invalid
    assert 'role="alert"' in invalid


# Writes ---------------------------------------------------------------------------------------------


def newcomer(**overrides: str) -> dict[str, str]:
    return {
        "full_name": "hoàng thị thu",
        "birth_date": "12/08/1995",
        "sex": "F",
        "birth_registration_place": "001",
        "pin": "",
        "ethnicity": "01",
        "religion": "00",
        "marital_status": "",
        "residence_kind": "permanent",
        "commune_code": HOAN_KIEM,
        "address_detail": "Số 20 phố Hàng Bạc",
        "registered_on": "2020-02-01",
        "reason": "Thu thập thông tin dân cư",
        "source_document": "Phiếu DC01",
    } | overrides


def test_the_new_citizen_form_registers_and_opens_the_record(lan: Client, personas: Personas) -> None:
    assert 'name="full_name"' in html(lan.get("/citizens/new/"))

    response = lan.post("/citizens/new/", newcomer(), follow=True)

    created = Citizen.objects.get(name_key="hoang thi thu")
    assert response.redirect_chain == [(f"/citizens/{created.pk}/", 302)]
    page = html(response)
    assert created.pin in page
    assert (pin_codec.decode(created.pin).sex, created.area_commune) == ("F", commune(HOAN_KIEM))
    assert AuditEvent.objects.get(
        event_type="registry.citizen.created", subject_id=str(created.pk)
    ).actor == (personas.lan)


def test_a_new_citizen_is_registered_at_a_temporary_residence(lan: Client, personas: Personas) -> None:
    today = timezone.localdate()
    body = newcomer(
        residence_kind="temporary",
        registered_on=today.isoformat(),
        expires_on=(today + timedelta(days=365)).isoformat(),
    )

    response = lan.post("/citizens/new/", body)

    assert response.status_code == 302, response.content[:2000]
    created = Citizen.objects.get(name_key="hoang thi thu")
    stay = created.residences.get()
    assert (stay.kind, stay.expires_on) == ("temporary", today + timedelta(days=365))


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"birth_date": "31/13/1990"}, "birth_date", "date.month_range"),
        ({"birth_date": "2023-02-30"}, "birth_date", "date.day_range"),
        ({"birth_date": "2999"}, "birth_date", "date.future"),
        ({"pin": "001095123456"}, "pin", "pin.sex_mismatch"),
        ({"pin": "00109512345"}, "pin", "pin.format"),
        ({"full_name": "Thu 2"}, "full_name", "name.digits"),
        ({"full_name": "Тху"}, "full_name", "name.letters"),
        ({"birth_registration_place": "003"}, "birth_registration_place", "place.unknown"),
        ({"old_id_number": "1234"}, "old_id_number", "cmnd.format"),
        ({"phone": "12345"}, "phone", "phone.format"),
        ({"email": "thu@"}, "email", "email.format"),
        ({"commune_code": "99999"}, "commune_code", "unit.unknown"),
        ({"commune_code": SAI_GON}, "commune_code", "unit.outside_jurisdiction"),
        ({"residence_kind": "temporary"}, "expires_on", "residence.expiry_required"),
        ({"residence_kind": "temporary", "expires_on": "2999-01-01"}, "expires_on", "residence.expiry_range"),
        ({"registered_on": "2999-01-01"}, "registered_on", "date.future"),
        ({"address_detail": "Số 20\u202e phố"}, "address_detail", "text.control_chars"),
    ],
)
def test_a_bad_new_citizen_form_names_the_field_and_rule_and_writes_nothing(
    lan: Client, people: People, overrides: dict[str, str], field: str, code: str
) -> None:
    before = counts()

    page = html(lan.post("/citizens/new/", newcomer(**overrides)))

    if field:
        assert f"[{code}]" in field_errors(page, field)
    else:
        assert f"[{code}]" in page  # a rule about a field the form does not have is shown on top
    assert counts() == before


def test_the_same_person_submitted_twice_is_one_record_until_the_officer_confirms_another(
    lan: Client, personas: Personas
) -> None:
    assert "not_a_duplicate" not in html(lan.get("/citizens/new/"))
    lan.post("/citizens/new/", newcomer())
    before = counts()

    # The double submit (or a second officer with the same paper): refused, the box to confirm offered.
    page = html(lan.post("/citizens/new/", newcomer()))

    assert "[citizen.possible_duplicate]" in field_errors(page, "not_a_duplicate")
    assert counts() == before
    response = lan.post("/citizens/new/", newcomer(not_a_duplicate="on"))
    assert response.status_code == 302
    assert Citizen.objects.filter(name_key="hoang thi thu").count() == 2


def test_form_level_refusals_keep_what_was_typed(lan: Client, people: People) -> None:
    page = html(lan.post("/citizens/new/", newcomer(birth_date="")))

    assert field_errors(page, "birth_date")
    assert 'value="hoàng thị thu"' in page
    assert 'value="Số 20 phố Hàng Bạc"' in page


def test_the_residence_form_registers_a_temporary_residence(lan: Client, people: People) -> None:
    assert "Nguyễn Văn Hùng" in html(lan.get(f"/citizens/{people.hung.pk}/residences/new/"))
    start = timezone.localdate() - timedelta(days=30)
    body = {
        "kind": "temporary",
        "commune_code": HOAN_KIEM,
        "address_detail": "Phòng 3, số 8 phố Hàng Bè",
        "registered_on": start.isoformat(),
        "expires_on": (start + timedelta(days=365)).isoformat(),
        "reason": "Đăng ký tạm trú",
        "source_document": "CT01",
    }

    response = lan.post(f"/citizens/{people.hung.pk}/residences/new/", body)
    again = html(lan.post(f"/citizens/{people.hung.pk}/residences/new/", body))
    too_long = html(
        lan.post(
            f"/citizens/{people.hung.pk}/residences/new/",
            body | {"expires_on": (start + timedelta(days=800)).isoformat()},
        )
    )
    expired = html(
        lan.post(
            f"/citizens/{people.hung.pk}/residences/new/",
            body | {"registered_on": "2024-01-01", "expires_on": "2025-01-01"},
        )
    )

    assert (response.status_code, response["Location"]) == (302, f"/citizens/{people.hung.pk}/")
    assert people.hung.residences.filter(kind="temporary", ended_on__isnull=True).count() == 1
    assert "[residence.overlap]" in field_errors(again, "kind")
    assert "[residence.expiry_range]" in field_errors(too_long, "expires_on")
    assert "[residence.already_expired]" in field_errors(expired, "expires_on")


def test_a_permanent_residence_sent_twice_is_written_once(lan: Client, people: People) -> None:
    body = {
        "kind": "permanent",
        "commune_code": HOAN_KIEM,
        "address_detail": "Số 11 phố Hàng Đào",
        "registered_on": timezone.localdate().isoformat(),
        "reason": "Chuyển nơi thường trú",
    }
    assert lan.post(f"/citizens/{people.hung.pk}/residences/new/", body).status_code == 302
    before = counts()

    again = html(lan.post(f"/citizens/{people.hung.pk}/residences/new/", body))

    assert "[residence.unchanged]" in field_errors(again, "address_detail")
    assert counts() == before


def test_a_temporary_residence_is_renewed_and_ended_from_the_record(lan: Client, people: People) -> None:
    today = timezone.localdate()
    stay = services.residence_register(
        actor=SYSTEM,
        citizen=people.hung,
        kind="temporary",
        commune=commune(HOAN_KIEM),
        address_detail="Phòng 3, số 8 phố Hàng Bè",
        registered_on=today - timedelta(days=30),
        expires_on=today + timedelta(days=30),
        reason="Đăng ký tạm trú",
        source_document="CT01",
    )
    record = html(lan.get(f"/citizens/{people.hung.pk}/"))
    assert f'href="/citizens/{people.hung.pk}/residences/{stay.pk}/renew/"' in record
    assert f'href="/citizens/{people.hung.pk}/residences/{stay.pk}/end/"' in record
    assert "Phòng 3, số 8 phố Hàng Bè" in html(
        lan.get(f"/citizens/{people.hung.pk}/residences/{stay.pk}/renew/")
    )

    later = today + timedelta(days=400)
    renewed = lan.post(
        f"/citizens/{people.hung.pk}/residences/{stay.pk}/renew/",
        {"expires_on": later.isoformat(), "reason": "Gia hạn tạm trú", "source_document": "CT01"},
    )
    assert (renewed.status_code, renewed["Location"]) == (302, f"/citizens/{people.hung.pk}/")
    stay.refresh_from_db()
    assert stay.expires_on == later

    too_long = html(
        lan.post(
            f"/citizens/{people.hung.pk}/residences/{stay.pk}/renew/",
            {"expires_on": (later + timedelta(days=800)).isoformat(), "reason": "Gia hạn"},
        )
    )
    assert "[residence.expiry_range]" in field_errors(too_long, "expires_on")

    ended = lan.post(
        f"/citizens/{people.hung.pk}/residences/{stay.pk}/end/",
        {"ended_on": today.isoformat(), "reason": "Xoá đăng ký tạm trú", "source_document": "Đơn"},
    )
    assert (ended.status_code, ended["Location"]) == (302, f"/citizens/{people.hung.pk}/")
    stay.refresh_from_db()
    assert stay.ended_on == today
    # An ended residence offers no action any more.
    assert lan.get(f"/citizens/{people.hung.pk}/residences/{stay.pk}/end/").status_code == 404
    assert f"/residences/{stay.pk}/end/" not in html(lan.get(f"/citizens/{people.hung.pk}/"))


def test_the_end_of_a_residence_names_the_rule_and_writes_nothing(lan: Client, people: People) -> None:
    home = people.hung.residences.get()
    before = counts()

    page = html(
        lan.post(
            f"/citizens/{people.hung.pk}/residences/{home.pk}/end/",
            {"ended_on": "2999-01-01", "reason": "Xoá đăng ký thường trú"},
        )
    )

    assert "[date.future]" in field_errors(page, "ended_on")
    assert counts() == before


def test_the_household_page_lists_members_and_versions(
    lan: Client, people: People, household: Household
) -> None:
    page = html(lan.get(f"/households/{household.pk}/"))

    members = page.split('id="members"')[1].split("</table>")[0]
    assert members.index("Nguyễn Văn Hùng") < members.index("Đỗ Thị Hạnh")
    assert "Chủ hộ" in members
    assert "Vợ/Chồng" in members
    assert page.count('class="version"') == 2
    assert f'href="/households/{household.pk}/members/new/"' in page


def test_the_member_form_adds_a_member(lan: Client, people: People, household: Household) -> None:
    child = make_citizen(full_name="Nguyễn Minh Khang", birth_date="2018-04-02")

    response = lan.post(
        f"/households/{household.pk}/members/new/",
        {
            "pin": child.pin,
            "relation_to_head": "child",
            "joined_on": "2019-01-01",
            "reason": "Nhập hộ",
            "source_document": "CT01",
        },
    )

    assert (response.status_code, response["Location"]) == (302, f"/households/{household.pk}/")
    assert household.memberships.get(citizen=child).relation_to_head == "child"
    assert "Nguyễn Minh Khang" in html(lan.get(f"/households/{household.pk}/"))


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"relation_to_head": "head"}, "relation_to_head", "household.second_head"),
        ({"pin": "001090999999"}, "pin", "citizen.not_found"),
        ({"joined_on": "2000-01-01"}, "joined_on", "residence.overlap"),
        ({"joined_on": "2999-01-01"}, "joined_on", "date.future"),
    ],
)
def test_a_bad_member_form_names_the_rule_and_writes_nothing(
    lan: Client, people: People, household: Household, *, overrides: dict[str, str], field: str, code: str
) -> None:
    child = make_citizen(full_name="Nguyễn Minh Khang", birth_date="2018-04-02")
    body = {
        "pin": child.pin,
        "relation_to_head": "child",
        "joined_on": "2019-01-01",
        "reason": "Nhập hộ",
        "source_document": "CT01",
    } | overrides
    before = counts()

    page = html(lan.post(f"/households/{household.pk}/members/new/", body))

    assert f"[{code}]" in (field_errors(page, field) if field else page)
    assert counts() == before


def test_the_head_is_changed_from_the_household_page(
    lan: Client, people: People, household: Household
) -> None:
    page = html(lan.get(f"/households/{household.pk}/"))
    assert f'href="/households/{household.pk}/head/"' in page
    form = html(lan.get(f"/households/{household.pk}/head/"))
    # Only the members who are not the head are offered.
    wife = household.memberships.get(relation_to_head="spouse").citizen
    assert f'value="{wife.pin}"' in form
    assert f'value="{people.hung.pin}"' not in form

    response = lan.post(
        f"/households/{household.pk}/head/",
        {
            "new_head": wife.pin,
            "previous_head_relation": "spouse",
            "changed_on": "2023-01-01",
            "reason": "Chủ hộ cũ đề nghị",
            "source_document": "Đơn đề nghị",
        },
    )

    assert (response.status_code, response["Location"]) == (302, f"/households/{household.pk}/")
    relations = dict(household.memberships.values_list("citizen_id", "relation_to_head"))
    assert relations == {wife.pk: "head", people.hung.pk: "spouse"}
    assert AuditEvent.objects.latest("pk").event_type == "registry.household.head_changed"


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"changed_on": "2016-06-01"}, "changed_on", "household.change_before_join"),
        ({"changed_on": "2999-01-01"}, "changed_on", "date.future"),
    ],
)
def test_a_bad_change_of_head_names_the_rule_and_writes_nothing(
    lan: Client, people: People, household: Household, *, overrides: dict[str, str], field: str, code: str
) -> None:
    wife = household.memberships.get(relation_to_head="spouse").citizen
    body = {
        "new_head": wife.pin,
        "previous_head_relation": "spouse",
        "changed_on": "2023-01-01",
        "reason": "Thay đổi chủ hộ",
    } | overrides
    before = counts()

    page = html(lan.post(f"/households/{household.pk}/head/", body))

    assert f"[{code}]" in field_errors(page, field)
    assert counts() == before


def test_a_household_without_members_says_so(lan: Client, people: People) -> None:
    opened = household_of(people.hung)
    services.residence_register(
        actor=SYSTEM,
        citizen=people.hung,
        kind="permanent",
        commune=commune(HOAN_KIEM),
        address_detail="Số 3 phố Hàng Bạc",
        registered_on=opened.memberships.get().joined_on.replace(year=2024),
        reason="Chuyển nơi thường trú",
        source_document="CT01",
    )

    page = html(lan.get(f"/households/{opened.pk}/"))

    assert 'id="household-state"' in page
    assert 'data-stat="households">0<' in html(lan.get("/"))


# Language -------------------------------------------------------------------------------------------


def test_the_language_switches_to_english_and_back(lan: Client, people: People) -> None:
    assert '<html lang="vi">' in html(lan.get("/search/"))

    response = lan.post("/i18n/setlang/", {"language": "en", "next": "/search/?q=hung"})
    english = html(lan.get("/search/", {"q": "hung"}))
    lan.post("/i18n/setlang/", {"language": "vi", "next": "/search/"})
    vietnamese = html(lan.get(f"/citizens/{people.hung.pk}/"))

    assert (response.status_code, response["Location"]) == (302, "/search/?q=hung")
    assert '<html lang="en">' in english
    assert people.hung.pin in english
    assert '<html lang="vi">' in vietnamese


def test_an_officer_of_a_pre_2025_unit_is_offered_no_write_he_could_never_make(
    lan: Client, people: People, personas: Personas, sign_in: Any
) -> None:
    # Hòa's district police reads the records declared in its old units; every residence is written in a
    # 2025 commune, outside that area, so each write page would only refuse him.
    hoa = sign_in(Client(), personas.hoa)
    record = html(hoa.get(f"/citizens/{people.nga.pk}/"))
    assert people.nga.full_name in record
    assert "/citizens/new/" not in record
    assert f"/citizens/{people.nga.pk}/residences/new/" not in record
    assert "Chấm dứt" not in record
    # Lan, of a 2025 commune, has them on her own citizen's record.
    own = html(lan.get(f"/citizens/{people.hung.pk}/"))
    assert "/citizens/new/" in own
    assert f"/citizens/{people.hung.pk}/residences/new/" in own
    assert "Chấm dứt" in own
