"""Tách hộ: members of a household form a household of their own at the same address (Luật Cư trú 2020
art. 25), on the household's page and over the API.

Hùng heads the household at Số 1 phố Hàng Trống with his wife Hạnh; his younger brother Đức lives there
too, with his wife Thảo and their daughter An. Đức's family splits off, Đức as head. Lan (Phường Hoàn
Kiếm) does it; a refused split says which field broke which rule and writes nothing; Bình (Phường Hồng
Hà) finds the household missing, and Hòa, of a pre-2025 district, may not write the registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.test import Client

from dancu.accounts.services import api_token_create
from dancu.audit.models import AuditEvent
from dancu.audit.services import Actor
from dancu.geo.selectors import successor_of
from dancu.registry import services
from dancu.registry.models import Citizen, Household, HouseholdMember, RecordVersion, Residence
from tests.conftest import (
    DUONG_LIEU_LEGACY,
    HOAN_KIEM,
    SYSTEM,
    People,
    Personas,
    commune,
    counts,
    household_of,
    legacy_commune,
    make_citizen,
)
from tests.pages import field_errors, html
from tests.registry.merge_support import reviewer

pytestmark = pytest.mark.django_db

SPLIT_ON = "2024-03-01"


@dataclass
class Family:
    household: Household
    hung: Citizen  # the head, who stays
    hanh: Citizen  # his wife, who stays
    duc: Citizen  # his younger brother, the new head
    thao: Citizen  # Đức's wife
    an: Citizen  # their daughter, born 2019


def _join(household: Household, citizen: Citizen, relation: str, joined_on: date) -> None:
    services.household_add_member(
        actor=SYSTEM,
        household=household,
        citizen=citizen,
        relation_to_head=relation,
        joined_on=joined_on,
        reason="Nhập hộ",
        source_document="CT01",
    )


@pytest.fixture
def family(people: People) -> Family:
    hanh = make_citizen(full_name="Đỗ Thị Hạnh", sex="F", birth_date="1992")
    household = household_of(people.hung, spouse=hanh)
    duc = make_citizen(full_name="Nguyễn Văn Đức", birth_date="1996-03-10")
    thao = make_citizen(full_name="Vũ Thị Thảo", sex="F", birth_date="1997-08-21")
    an = make_citizen(full_name="Nguyễn Bảo An", sex="F", birth_date="2019-05-01", place="001")
    _join(household, duc, "sibling", date(2018, 1, 1))
    _join(household, thao, "other", date(2019, 1, 1))
    _join(household, an, "other", date(2019, 6, 1))
    for citizen in (people.hung, hanh, duc, thao, an):
        citizen.refresh_from_db()
    return Family(household=household, hung=people.hung, hanh=hanh, duc=duc, thao=thao, an=an)


@pytest.fixture
def lan_api(personas: Personas) -> Client:
    # Made before the test counts the rows: a token's creation is an audit event.
    return _api(personas.lan)


def _api(user: Any) -> Client:
    _token, secret = api_token_create(user=user, name="máy tính bảng")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def form_body(f: Family, **overrides: Any) -> dict[str, Any]:
    body = {
        "members": [f.duc.pin, f.thao.pin, f.an.pin],
        "new_head": f.duc.pin,
        f"relation_{f.thao.pin}": "spouse",
        f"relation_{f.an.pin}": "child",
        "split_on": SPLIT_ON,
        "reason": "Tách hộ theo đề nghị",
        "source_document": "Tờ khai CT01 có ý kiến đồng ý của chủ hộ",
    }
    return body | overrides


def api_body(f: Family, **overrides: Any) -> dict[str, Any]:
    body = {
        "members": [
            {"pin": f.duc.pin},
            {"pin": f.thao.pin, "relation_to_head": "spouse"},
            {"pin": f.an.pin, "relation_to_head": "child"},
        ],
        "new_head_pin": f.duc.pin,
        "split_on": SPLIT_ON,
        "reason": "Tách hộ theo đề nghị",
        "source_document": "Tờ khai CT01 có ý kiến đồng ý của chủ hộ",
    }
    return body | overrides


def post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def rules(response: Any, status: int = 422) -> set[tuple[str, str]]:
    assert response.status_code == status, response.content[:800]
    errors = response.json()["errors"]
    for e in errors:
        assert e["message_vi"], e
        assert e["message_en"], e
    return {(e["field"], e["code"]) for e in errors}


def state(f: Family) -> dict[str, Any]:
    """Everything a split writes, to compare before and after a refusal (`counts` sees only new rows)."""
    return {
        "counts": counts(),
        "memberships": sorted(HouseholdMember.objects.values_list("pk", "household_id", "left_on")),
        "residences": sorted(Residence.objects.values_list("pk", "household_id", "ended_on")),
        "versions": sorted(Citizen.objects.values_list("pk", "version")),
        "households": sorted(Household.objects.values_list("pk", "version")),
    }


def current(household: Household) -> dict[int, str]:
    return dict(
        household.memberships.filter(left_on__isnull=True).values_list("citizen_id", "relation_to_head")
    )


def _assert_split(
    f: Family, formed: Household, *, homes: dict[int, Residence], before: dict[str, Any]
) -> None:
    movers = (f.duc, f.thao, f.an)
    assert formed.pk != f.household.pk
    assert formed.number == f"{HOAN_KIEM}-00000002"
    assert (formed.commune_id, formed.address_detail) == (f.household.commune_id, f.household.address_detail)
    assert current(formed) == {f.duc.pk: "head", f.thao.pk: "spouse", f.an.pk: "child"}
    assert set(formed.memberships.values_list("joined_on", flat=True)) == {date(2024, 3, 1)}
    assert current(f.household) == {f.hung.pk: "head", f.hanh.pk: "spouse"}
    left = f.household.memberships.filter(citizen__in=movers).values_list("left_on", flat=True)
    assert set(left) == {date(2024, 3, 1)}
    # Their legal place of residence is kept: the same residences, registered as before, now of the
    # household formed; no residence is opened or ended.
    for citizen in movers:
        home = Residence.objects.get(citizen=citizen, ended_on__isnull=True, kind="permanent")
        assert (home.pk, home.registered_on) == (homes[citizen.pk].pk, homes[citizen.pk].registered_on)
        assert home.household_id == formed.pk
    assert Residence.objects.count() == before["counts"]["Residence"]
    # One event; a new version of both households and of each member who moved, none of those who stay.
    event = AuditEvent.objects.latest("pk")
    assert event.event_type == "registry.household.split"
    assert AuditEvent.objects.count() == before["counts"]["AuditEvent"] + 1
    assert (event.data["from_household_id"], event.data["household_id"]) == (f.household.pk, formed.pk)
    versions = RecordVersion.objects.filter(event=event)
    assert sorted(versions.values_list("entity", "entity_id")) == sorted(
        [("household", f.household.pk), ("household", formed.pk)] + [("citizen", c.pk) for c in movers]
    )
    old_versions = dict(before["versions"])
    for citizen in (*movers, f.hung, f.hanh):
        citizen.refresh_from_db()
    assert [c.version - old_versions[c.pk] for c in movers] == [1, 1, 1]
    assert [c.version - old_versions[c.pk] for c in (f.hung, f.hanh)] == [0, 0]
    snapshot = versions.get(entity="citizen", entity_id=f.thao.pk).snapshot
    assert snapshot["household"]["household_id"] == formed.pk
    assert snapshot["household"]["relation_to_head"] == "spouse"


def _homes(f: Family) -> dict[int, Residence]:
    return {
        c.pk: Residence.objects.get(citizen=c, ended_on__isnull=True, kind="permanent")
        for c in (f.duc, f.thao, f.an)
    }


# The page -------------------------------------------------------------------------------------------


def test_a_household_is_split_from_its_page(lan: Client, family: Family) -> None:
    f = family
    page = html(lan.get(f"/households/{f.household.pk}/"))
    assert f'href="/households/{f.household.pk}/split/"' in page
    form = html(lan.get(f"/households/{f.household.pk}/split/"))
    for citizen in (f.hung, f.hanh, f.duc, f.thao, f.an):
        assert f'name="members" value="{citizen.pin}"' in form
        assert f'name="relation_{citizen.pin}"' in form
    homes, before = _homes(f), state(f)

    response = lan.post(f"/households/{f.household.pk}/split/", form_body(f))

    formed = Household.objects.latest("pk")
    assert (response.status_code, response["Location"]) == (302, f"/households/{formed.pk}/")
    _assert_split(f, formed, homes=homes, before=before)
    landed = html(lan.get(response["Location"]))
    assert formed.number in landed
    assert f.duc.full_name in landed.split('id="members"')[1]
    assert f.hung.full_name not in landed.split('id="members"')[1]
    history = html(lan.get(f"/citizens/{f.thao.pk}/history/"))
    assert "Tách hộ theo đề nghị" in history


def test_the_split_page_speaks_english(lan: Client, family: Family) -> None:
    lan.post("/i18n/setlang/", {"language": "en", "next": "/"})

    form = html(lan.get(f"/households/{family.household.pk}/split/"))
    refused = html(lan.post(f"/households/{family.household.pk}/split/", form_body(family, members=[])))

    assert "Split the household" in form
    assert "Choose the members who leave" in field_errors(refused, "members")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        (lambda f: {"members": [], "new_head": ""}, "members", "household.split_no_member"),
        (lambda f: {"new_head": ""}, "new_head", "household.split_no_head"),
        (lambda f: {"new_head": f.hanh.pin}, "new_head", "household.split_no_head"),
        (
            lambda f: {"new_head": f.an.pin, f"relation_{f.duc.pin}": "father"},
            "new_head",
            "household.head_minor",
        ),
        (
            lambda f: {"members": [f.hung.pin, f.duc.pin], f"relation_{f.hung.pin}": "sibling"},
            "members",
            "household.head_leaving",
        ),
        (
            lambda f: {
                "members": [f.hung.pin, f.hanh.pin, f.duc.pin, f.thao.pin, f.an.pin],
                f"relation_{f.hung.pin}": "sibling",
                f"relation_{f.hanh.pin}": "other",
            },
            "members",
            "household.split_all_members",
        ),
        (lambda f: {f"relation_{f.thao.pin}": ""}, "relation_{thao}", "field.required"),
        (lambda f: {"split_on": "2018-06-01"}, "split_on", "household.split_before_join"),
        (lambda f: {"split_on": "2999-01-01"}, "split_on", "date.future"),
        (lambda f: {"reason": "Tách hộ\nngay"}, "reason", "text.control_chars"),
    ],
)
def test_a_bad_split_names_the_rule_and_writes_nothing(
    lan: Client, family: Family, *, change: Any, field: str, code: str
) -> None:
    before = state(family)

    page = html(lan.post(f"/households/{family.household.pk}/split/", form_body(family, **change(family))))

    assert f"[{code}]" in field_errors(page, field.format(thao=family.thao.pin)), page
    assert state(family) == before


def test_a_deceased_member_does_not_split_off(lan: Client, family: Family) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=family.thao,
        changes={"date_of_death": "2023-12-01"},
        reason="Ghi nhận đã mất",
        source_document="Trích lục khai tử",
    )
    before = state(family)

    page = html(lan.post(f"/households/{family.household.pk}/split/", form_body(family)))

    assert "[citizen.deceased]" in field_errors(page, "members")
    assert state(family) == before


def test_a_member_gone_since_the_page_was_shown_is_refused_by_name(lan: Client, family: Family) -> None:
    # Thảo moves away after the officer opened the page with her ticked.
    services.residence_register(
        actor=SYSTEM,
        citizen=family.thao,
        kind="permanent",
        commune=commune(HOAN_KIEM),
        address_detail="Số 3 phố Hàng Bạc",
        registered_on=date(2024, 1, 1),
        reason="Chuyển nơi thường trú",
        source_document="CT01",
    )
    before = state(family)

    page = html(lan.post(f"/households/{family.household.pk}/split/", form_body(family)))

    errors = field_errors(page, "members")
    assert "[household.not_member]" in errors
    assert family.thao.pin in errors
    assert state(family) == before


def test_a_household_of_one_offers_no_split(lan: Client, people: People) -> None:
    alone = household_of(people.hung)

    assert "/split/" not in html(lan.get(f"/households/{alone.pk}/"))
    assert 'name="members"' not in html(lan.get(f"/households/{alone.pk}/split/"))


# The API --------------------------------------------------------------------------------------------


def test_a_household_is_split_over_the_api(lan_api: Client, family: Family) -> None:
    f = family
    api = lan_api
    homes, before = _homes(f), state(f)

    response = post_json(api, f"/api/v1/households/{f.household.pk}/split", api_body(f))

    assert response.status_code == 201, response.content
    formed = Household.objects.latest("pk")
    body = response.json()
    assert (body["id"], body["number"]) == (formed.pk, formed.number)
    assert [(m["pin"], m["relation_to_head"], m["joined_on"]) for m in body["members"]] == [
        (f.duc.pin, "head", SPLIT_ON),
        (f.thao.pin, "spouse", SPLIT_ON),
        (f.an.pin, "child", SPLIT_ON),
    ]
    _assert_split(f, formed, homes=homes, before=before)
    stayed = api.get(f"/api/v1/households/{f.household.pk}").json()["members"]
    assert [(m["pin"], m["relation_to_head"]) for m in stayed] == [
        (f.hung.pin, "head"),
        (f.hanh.pin, "spouse"),
    ]


@pytest.mark.parametrize(
    ("change", "status", "rule"),
    [
        (lambda f: {"members": []}, 422, ("members", "household.split_no_member")),
        (lambda f: {"new_head_pin": f.hanh.pin}, 422, ("new_head_pin", "household.split_no_head")),
        (
            lambda f: {
                "members": [{"pin": f.an.pin}, {"pin": f.duc.pin, "relation_to_head": "father"}],
                "new_head_pin": f.an.pin,
            },
            422,
            ("new_head_pin", "household.head_minor"),
        ),
        (
            lambda f: {"members": [{"pin": f.duc.pin}, {"pin": f.hung.pin, "relation_to_head": "sibling"}]},
            422,
            ("members", "household.head_leaving"),
        ),
        (
            lambda f: {
                "members": [{"pin": f.duc.pin}, {"pin": f.thao.pin, "relation_to_head": "head"}],
            },
            422,
            ("members.1.relation_to_head", "household.second_head"),
        ),
        (
            lambda f: {"members": [{"pin": f.duc.pin}, {"pin": f.thao.pin, "relation_to_head": "lodger"}]},
            422,
            ("members.1.relation_to_head", "relation.invalid"),
        ),
        (
            lambda f: {"members": [{"pin": f.duc.pin}, {"pin": f.duc.pin}]},
            422,
            ("members.1", "household.split_member_twice"),
        ),
        (
            lambda f: {"members": [{"pin": f.duc.pin}, {"pin": "001090999999", "relation_to_head": "child"}]},
            404,
            ("members.1.pin", "not_found"),
        ),
        (lambda f: {"split_on": "2017-12-31"}, 422, ("split_on", "household.split_before_join")),
        (lambda f: {"split_on": "2999-01-01"}, 422, ("split_on", "date.future")),
        (lambda f: {"split_on": "2024-02-30"}, 422, ("split_on", "schema.date_from_datetime_parsing")),
        (lambda f: {"reason": ""}, 422, ("reason", "reason.required")),
    ],
)
def test_bad_splits_are_refused_over_the_api_and_nothing_is_written(
    lan_api: Client, family: Family, *, change: Any, status: int, rule: tuple[str, str]
) -> None:
    before = state(family)

    response = post_json(
        lan_api,
        f"/api/v1/households/{family.household.pk}/split",
        api_body(family, **change(family)),
    )

    assert rule in rules(response, status)
    assert state(family) == before


def test_a_person_of_another_household_is_not_split_off_this_one(lan_api: Client, family: Family) -> None:
    neighbour = make_citizen(full_name="Lê Văn Nam", birth_date="1980", address="Số 7 phố Hàng Trống")
    before = state(family)

    response = post_json(
        lan_api,
        f"/api/v1/households/{family.household.pk}/split",
        api_body(
            family, members=[{"pin": family.duc.pin}, {"pin": neighbour.pin, "relation_to_head": "other"}]
        ),
    )

    assert rules(response) == {("members.1", "household.not_member")}
    assert state(family) == before


def test_a_deceased_member_is_refused_over_the_api(lan_api: Client, family: Family) -> None:
    services.citizen_update(
        actor=SYSTEM,
        citizen=family.an,
        changes={"date_of_death": "2023-12-01"},
        reason="Ghi nhận đã mất",
        source_document="Trích lục khai tử",
    )

    response = post_json(lan_api, f"/api/v1/households/{family.household.pk}/split", api_body(family))

    assert rules(response) == {("members.2", "citizen.deceased")}


# Jurisdiction ---------------------------------------------------------------------------------------


def test_an_officer_of_another_commune_finds_the_household_missing(
    personas: Personas, family: Family, sign_in: Any
) -> None:
    """Bình (Phường Hồng Hà) gets for a Hoàn Kiếm household the answer he gets for none at all."""
    f = family
    binh = sign_in(Client(), personas.binh)
    api = _api(personas.binh)
    missing = f.household.pk + 999
    before = state(f)

    for pk in (f.household.pk, missing):
        assert binh.get(f"/households/{pk}/split/").status_code == 404
        assert binh.post(f"/households/{pk}/split/", form_body(f)).status_code == 404
    theirs = post_json(api, f"/api/v1/households/{f.household.pk}/split", api_body(f))
    nothing = post_json(api, f"/api/v1/households/{missing}/split", api_body(f))

    assert (theirs.status_code, theirs.json()) == (nothing.status_code, nothing.json())
    assert theirs.status_code == 404
    assert state(f) == before


def test_an_officer_of_a_pre_2025_unit_splits_no_household(
    personas: Personas, people: People, sign_in: Any
) -> None:
    """Hòa's district police sees the households declared in its old communes but writes the registry in
    none: no split is offered, and one sent anyway is refused as outside her jurisdiction."""
    successor = successor_of(legacy_commune(DUONG_LIEU_LEGACY))
    household = services.household_create(
        actor=SYSTEM,
        head=people.nga,
        commune=successor,
        legacy_commune=legacy_commune(DUONG_LIEU_LEGACY),
        address_detail="Thôn Thượng",
        registered_on=date(2016, 1, 1),
        reason="Lập hộ",
        source_document="CT01",
    )
    son = make_citizen(
        full_name="Phạm Văn Long",
        birth_date="1995",
        commune_code=successor.code,
        legacy_code=DUONG_LIEU_LEGACY,
        address="Thôn Thượng",
    )
    _join(household, son, "child", date(2017, 1, 1))
    hoa = sign_in(Client(), personas.hoa)
    api = _api(personas.hoa)
    before = counts()

    page = html(hoa.get(f"/households/{household.pk}/"))
    refused = html(
        hoa.post(
            f"/households/{household.pk}/split/",
            {"members": [son.pin], "new_head": son.pin, "split_on": SPLIT_ON, "reason": "Tách hộ"},
        )
    )
    answer = post_json(
        api,
        f"/api/v1/households/{household.pk}/split",
        {"members": [{"pin": son.pin}], "new_head_pin": son.pin, "split_on": SPLIT_ON, "reason": "Tách hộ"},
    )

    assert "/split/" not in page
    assert "[unit.outside_jurisdiction]" in refused
    assert rules(answer) == {("household", "unit.outside_jurisdiction")}
    assert counts() == before


# Hostile input ----------------------------------------------------------------------------------------

HOSTILE = {
    "nul": "001096\x00044283",
    "script": "<script>alert(1)</script>",
    "sql": "' OR '1'='1",
    "long": "9" * 10_000,
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("field", ["members", "new_head", "relation"])
def test_the_split_page_never_fails_on_hostile_input(
    lan: Client, family: Family, *, field: str, value: str
) -> None:
    name = f"relation_{family.thao.pin}" if field == "relation" else field
    before = state(family)

    page = html(lan.post(f"/households/{family.household.pk}/split/", form_body(family, **{name: value})))

    assert "<script>alert(1)</script>" not in page
    assert 'class="errorlist"' in page
    assert state(family) == before


def test_a_move_dated_before_the_split_is_refused_by_its_rule(lan_api: Client, family: Family) -> None:
    """After the split Đức's household membership starts on the day of the split while his residence
    keeps its earlier registration: a move dated between the two would end the membership before it began,
    which the database refuses (a 500). It is refused by name, and nothing is written."""
    f = family
    assert post_json(lan_api, f"/api/v1/households/{f.household.pk}/split", api_body(f)).status_code == 201
    f.household.refresh_from_db()
    before = state(f)

    response = post_json(
        lan_api,
        f"/api/v1/citizens/{f.thao.pin}/residences",
        {
            "kind": "permanent",
            "commune_code": HOAN_KIEM,
            "address_detail": "Số 9 phố Hàng Bông",
            "registered_on": "2023-06-01",
            "reason": "Chuyển chỗ ở trong phường",
        },
    )

    assert rules(response) == {("registered_on", "residence.before_household")}
    assert "01/03/2024" in response.json()["errors"][0]["message_vi"]
    assert state(f) == before


def test_the_api_takes_the_pin_of_a_record_merged_into_a_member(lan_api: Client, family: Family) -> None:
    """Đức was also collected from a legacy file, and that record merged into his: its PIN leads to his
    record everywhere, as a member of the split and as the new head alike."""
    f = family
    duplicate = make_citizen(full_name="Nguyen Van Duc", birth_date="1996-03-10", address="Số 3 phố Hàng Gai")
    services.citizen_merge(
        actor=Actor(reviewer()),
        keep=f.duc,
        absorb=duplicate,
        reason="Hai hồ sơ cùng một người",
        source_document="Biên bản xác minh",
        choices={"permanent": "keep"},
    )
    members = api_body(f)["members"]
    members[0] = {"pin": duplicate.pin}

    response = post_json(
        lan_api,
        f"/api/v1/households/{f.household.pk}/split",
        api_body(f, members=members, new_head_pin=duplicate.pin),
    )

    assert response.status_code == 201, response.content
    assert [(m["pin"], m["relation_to_head"]) for m in response.json()["members"]] == [
        (f.duc.pin, "head"),
        (f.thao.pin, "spouse"),
        (f.an.pin, "child"),
    ]
