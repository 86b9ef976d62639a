"""An officer never sees a citizen outside their unit's area: pages, search, history, households, API.

"Forbidden" and "missing" give the same answer, so a guessed id or PIN reveals nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.lib.errors import DomainError
from dancu.registry import services
from dancu.registry.models import Citizen, HouseholdMember
from tests.conftest import People, Personas, household_of, make_citizen

pytestmark = pytest.mark.django_db


def visible_ids(client: Client, query: str) -> set[str]:
    response = client.get("/search/", {"q": query})
    if response.status_code == 302:
        # A full PIN of one record in the area opens that record (review session 27): the one found.
        return {Citizen.objects.get(pk=resolve(response["Location"]).kwargs["pk"]).pin}
    assert response.status_code == 200
    return {c.pin for c in response.context["page"].results} if response.context["page"] else set()


def test_commune_collector_sees_only_own_commune_in_search(
    personas: Personas, people: People, sign_in
) -> None:
    client = sign_in(Client(), personas.lan)
    assert visible_ids(client, "nguyen van hung") == {people.hung.pin}
    assert visible_ids(client, "le thi mai") == set()
    assert visible_ids(client, people.mai.pin) == set()
    assert visible_ids(client, people.tuan.pin) == set()


def test_province_supervisor_sees_every_commune_of_the_province(
    personas: Personas, people: People, sign_in
) -> None:
    client = sign_in(Client(), personas.cuong)
    assert visible_ids(client, people.hung.pin) == {people.hung.pin}
    assert visible_ids(client, people.mai.pin) == {people.mai.pin}
    assert visible_ids(client, people.nga.pin) == {people.nga.pin}
    assert visible_ids(client, people.tuan.pin) == set()


def test_legacy_district_police_sees_records_declared_in_its_old_communes(
    personas: Personas, people: People, sign_in
) -> None:
    client = sign_in(Client(), personas.hoa)
    assert visible_ids(client, people.nga.pin) == {people.nga.pin}
    assert visible_ids(client, people.hung.pin) == set()


def test_ministry_sees_the_whole_country(personas: Personas, people: People, sign_in) -> None:
    client = sign_in(Client(), personas.minh)
    for citizen in (people.hung, people.mai, people.tuan, people.nga):
        assert visible_ids(client, citizen.pin) == {citizen.pin}


def test_auditor_reads_no_records(personas: Personas, people: People, sign_in) -> None:
    client = sign_in(Client(), personas.an)
    assert client.get("/search/", {"q": people.hung.pin}).status_code == 403
    assert client.get(f"/citizens/{people.hung.pk}/").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/citizens/{pk}/",
        "/citizens/{pk}/history/",
        "/citizens/{pk}/history/?on=2030-01-01",
        "/citizens/{pk}/residences/new/",
    ],
)
def test_record_pages_of_another_commune_look_missing(
    personas: Personas, people: People, sign_in, path: str
) -> None:
    client = sign_in(Client(), personas.lan)
    other = client.get(path.format(pk=people.mai.pk))
    missing = client.get(path.format(pk=Citizen.objects.order_by("-pk").first().pk + 1000))
    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    own = client.get(path.format(pk=people.hung.pk))
    assert own.status_code == 200


def test_household_pages_of_another_commune_look_missing(personas: Personas, people: People, sign_in) -> None:
    from dancu.registry import services
    from tests.conftest import SYSTEM, commune

    household = services.household_create(
        actor=SYSTEM,
        head=people.mai,
        commune=commune("00097"),
        address_detail="Số 5 ngõ Gạch",
        registered_on=people.mai.residences.get().registered_on,
        reason="Lập hộ",
        source_document="Hồ sơ cư trú",
    )
    client = sign_in(Client(), personas.lan)
    assert client.get(f"/households/{household.pk}/").status_code == 404
    assert client.get(f"/households/{household.pk}/members/new/").status_code == 404
    assert client.get(f"/households/{household.pk}/head/").status_code == 404
    assert client.get(f"/households/{household.pk + 999}/").status_code == 404
    binh = sign_in(Client(), personas.binh)
    assert binh.get(f"/households/{household.pk}/").status_code == 200


def test_every_record_read_is_logged_with_purpose(personas: Personas, people: People, sign_in) -> None:
    client = sign_in(Client(), personas.lan)
    client.get(f"/citizens/{people.hung.pk}/")
    client.get("/search/", {"q": "nguyen"})
    entries = AccessLog.objects.filter(actor=personas.lan, citizen=people.hung).order_by("pk")
    assert [e.action for e in entries] == [AccessLog.Action.VIEW, AccessLog.Action.SEARCH]
    assert all(e.purpose for e in entries)
    # Nothing was shown of the other communes, so nothing is logged about them.
    assert not AccessLog.objects.filter(actor=personas.lan, citizen=people.mai).exists()


def _api(user, name="test") -> Client:
    _token, secret = api_token_create(user=user, name=name)
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_api_scoping_for_every_endpoint(personas: Personas, people: People) -> None:
    lan = _api(personas.lan)
    # Search.
    body = lan.get("/api/v1/citizens", {"q": "le thi mai"}).json()
    assert body["results"] == []
    body = lan.get("/api/v1/citizens", {"q": "nguyen van hung"}).json()
    assert [r["pin"] for r in body["results"]] == [people.hung.pin]
    # Detail, history, state: another commune's PIN and an unknown PIN answer alike.
    for suffix in ("", "/history", "/state?on=2030-01-01"):
        other = lan.get(f"/api/v1/citizens/{people.mai.pin}{suffix}")
        unknown = lan.get(f"/api/v1/citizens/001090999999{suffix}")
        assert other.status_code == unknown.status_code == 404
        assert other.json() == unknown.json()
        assert lan.get(f"/api/v1/citizens/{people.hung.pin}{suffix}").status_code == 200
    # Writes to another commune's citizen look missing too.
    patch = lan.patch(
        f"/api/v1/citizens/{people.mai.pin}",
        {"changes": {"phone": "0912345678"}, "reason": "Cập nhật"},
        content_type="application/json",
    )
    assert patch.status_code == 404


def test_api_refuses_without_a_valid_token(people: People) -> None:
    assert Client().get("/api/v1/citizens", {"q": "nguyen"}).status_code == 401
    bad = Client(headers={"Authorization": "Bearer dcu_not-a-token"}).get("/api/v1/citizens")
    assert bad.status_code == 401
    assert bad.json()["errors"][0]["code"] == "auth.required"


def test_auditor_token_reads_no_records(personas: Personas, people: People) -> None:
    assert _api(personas.an).get(f"/api/v1/citizens/{people.hung.pin}").status_code == 401


def test_officer_cannot_register_residence_outside_area(personas: Personas, people: People) -> None:
    lan = _api(personas.lan)
    response = lan.post(
        f"/api/v1/citizens/{people.hung.pin}/residences",
        {
            "kind": "temporary",
            "commune_code": "26740",
            "address_detail": "12 Lê Lợi",
            "registered_on": str(timezone.localdate() - timedelta(days=30)),
            "expires_on": str(timezone.localdate() + timedelta(days=300)),
            "reason": "Tạm trú",
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "unit.outside_jurisdiction"


def test_the_head_of_a_household_is_changed_only_inside_the_area(
    personas: Personas, people: People, sign_in
) -> None:
    """Bình (Phường Hồng Hà) can neither open nor post the change of head of a Hoàn Kiếm household, on
    the page or over the API; it looks missing, and nothing changes. Lan, of Hoàn Kiếm, can."""
    wife = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    household = household_of(people.hung, spouse=wife)
    body = {
        "new_head_pin": wife.pin,
        "previous_head_relation": "spouse",
        "changed_on": "2023-01-01",
        "reason": "Thay đổi chủ hộ",
    }
    form = {
        "new_head": wife.pin,
        "previous_head_relation": "spouse",
        "changed_on": "2023-01-01",
        "reason": "x",
    }
    binh = sign_in(Client(), personas.binh)

    assert binh.get(f"/households/{household.pk}/head/").status_code == 404
    assert binh.post(f"/households/{household.pk}/head/", form).status_code == 404
    answer = _api(personas.binh).post(
        f"/api/v1/households/{household.pk}/head", body, content_type="application/json"
    )
    assert answer.status_code == 404
    assert HouseholdMember.objects.get(citizen=wife).relation_to_head == "spouse"
    # The service itself refuses the officer of another area, whatever calls it.
    with pytest.raises(DomainError) as refused:
        services.household_change_head(
            actor=Actor(personas.binh),
            household=household,
            new_head=wife,
            previous_head_relation="spouse",
            changed_on=date(2023, 1, 1),
            reason="Thay đổi chủ hộ",
            source_document="",
        )
    assert [e.code for e in refused.value.errors] == ["unit.outside_jurisdiction"]
    lan = _api(personas.lan).post(
        f"/api/v1/households/{household.pk}/head", body, content_type="application/json"
    )
    assert lan.status_code == 200, lan.content
    assert HouseholdMember.objects.get(citizen=wife).relation_to_head == "head"


def test_a_residence_is_ended_or_renewed_only_inside_the_area(
    personas: Personas, people: People, sign_in
) -> None:
    """Bình (Phường Hồng Hà) finds no residence of a Hoàn Kiếm citizen to end or renew, on the pages
    or over the API: they look missing, and nothing changes."""
    residence = people.hung.residences.get()
    binh = sign_in(Client(), personas.binh)
    # Each action's own body: a field of the other's is refused as unknown before the record is looked up.
    bodies = {
        "end": {"ended_on": "2024-01-01", "reason": "x"},
        "renew": {"expires_on": "2027-01-01", "reason": "x"},
    }
    for action, body in bodies.items():
        assert binh.get(f"/citizens/{people.hung.pk}/residences/{residence.pk}/{action}/").status_code == 404
        answer = _api(personas.binh).post(
            f"/api/v1/citizens/{people.hung.pin}/residences/{residence.pk}/{action}",
            body,
            content_type="application/json",
        )
        assert answer.status_code == 404
    residence.refresh_from_db()
    assert residence.ended_on is None
