"""A DC01's relatives: the father, mother, spouse and legal representative the collector writes down,
checked against the registry wherever the relative lives, and linked when the form is applied.

Lan collects in Phường Hoàn Kiếm the record of Đỗ Minh Khang (born 12/03/1992). His father, Đỗ Văn Thành,
is registered in Phường Sài Gòn, outside her area; his mother is known by name only.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from dancu.accounts.services import api_token_create
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.audit.services import Actor
from dancu.collection import workflow
from dancu.collection.models import CollectionForm
from dancu.collection.services import ImportPolicy, import_promote, import_rows, import_start
from dancu.lib import pin as pin_codec
from dancu.lib.errors import DomainError
from dancu.registry import services
from dancu.registry.models import Citizen, FamilyLink, RecordVersion
from tests.collection.forms_support import (
    Reviewers,
    advance,
    dc01,
    dc01_data,
    dc02,
    merge_into_duplicate,
    verifications,
)
from tests.conftest import SAI_GON, SYSTEM, People, Personas, make_citizen

pytestmark = pytest.mark.django_db

# A PIN of the right shape for a man born in 1960 in Hà Nội that nobody in the tests holds.
UNKNOWN_MANS_PIN = pin_codec.compose(place_code="001", sex="M", birth_year=1960, serial="777777")
UNKNOWN_WOMANS_PIN = pin_codec.compose(place_code="001", sex="F", birth_year=1962, serial="777777")


@pytest.fixture
def father(db: None) -> Citizen:
    return make_citizen(
        full_name="Đỗ Văn Thành",
        birth_date="1960-02-01",
        commune_code=SAI_GON,
        place="079",
        address="12 Lê Lợi",
    )


def problems(personas: Personas, **changes: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    check = workflow.form_validate(user=personas.lan, kind="DC01", data=dc01_data(**changes))
    return {(e.field, e.code) for e in check.errors}, {(w.field, w.code) for w in check.warnings}


def test_applying_a_dc01_links_the_relatives_it_names(
    personas: Personas, staff: Reviewers, father: Citizen
) -> None:
    form = dc01(
        personas.lan, father_pin=father.pin, mother_name="trần thị  hoa", spouse_name="Phạm Thu Trang"
    )
    assert (form.errors, form.warnings) == ([], [])
    form = advance(form, "applied", reviewer=staff.hang, supervisor=personas.cuong)

    links = {link.kind: link for link in FamilyLink.objects.filter(citizen_id=form.citizen_id)}
    assert set(links) == {"father", "mother", "spouse"}
    # The father's number led to his record: the link is to it, with the name the registry holds.
    assert (links["father"].relative, links["father"].relative_name, links["father"].relative_pin) == (
        father,
        "Đỗ Văn Thành",
        father.pin,
    )
    # The others are known by name, stored as the registry stores names.
    assert (links["mother"].relative, links["mother"].relative_name) == (None, "Trần Thị Hoa")
    assert (links["spouse"].relative, links["spouse"].relative_name) == (None, "Phạm Thu Trang")
    # His record gets the link back, though he lives outside the collector's area.
    child = FamilyLink.objects.get(citizen=father)
    assert (child.kind, child.relative_id, child.relative_name) == ("child", form.citizen_id, "Đỗ Minh Khang")

    # Each link is an audit event and a version of both records, citing the form.
    linked = AuditEvent.objects.filter(event_type=EventType.FAMILY_LINKED, subject_id=str(form.citizen_id))
    assert sorted(event.data["kind"] for event in linked) == ["father", "mother", "spouse"]
    assert {event.source_document for event in linked} == {f"DC01 #{form.pk}"}
    newest = RecordVersion.objects.filter(entity="citizen", entity_id=form.citizen_id).latest("version")
    assert sorted(link["kind"] for link in newest.snapshot["family"]) == ["father", "mother", "spouse"]
    fathers = RecordVersion.objects.filter(entity="citizen", entity_id=father.pk).latest("version")
    assert fathers.source_document == f"DC01 #{form.pk}"


def test_a_relative_written_without_tone_marks_is_the_same_name(personas: Personas, father: Citizen) -> None:
    assert problems(personas, father_pin=father.pin, father_name="do van thanh") == (set(), set())


@pytest.mark.parametrize(
    ("changes", "errors", "warnings"),
    [
        # A number nobody holds: most often a typing error, for the reviewer to confirm.
        (
            {"father_pin": UNKNOWN_MANS_PIN, "father_name": "Đỗ Văn Thành"},
            set(),
            {("father_pin", "family.relative_unknown")},
        ),
        # ... and without a record, a name is all the link could show.
        (
            {"father_pin": UNKNOWN_MANS_PIN},
            {("father_name", "name.required")},
            {("father_pin", "family.relative_unknown")},
        ),
        (
            {"mother_pin": UNKNOWN_MANS_PIN, "mother_name": "Trần Thị Hoa"},
            {("mother_pin", "family.parent_sex")},
            set(),
        ),
        (
            {"father_pin": UNKNOWN_WOMANS_PIN, "father_name": "Đỗ Văn Thành"},
            {("father_pin", "family.parent_sex")},
            set(),
        ),
        ({"spouse_pin": "12345", "spouse_name": "Phạm Thu Trang"}, {("spouse_pin", "pin.format")}, set()),
        ({"mother_name": "Hoa 2"}, {("mother_name", "name.digits")}, set()),
        ({"representative_name": "<script>"}, {("representative_name", "name.letters")}, set()),
        # The spouse's and the representative's numbers carry either sex digit.
        (
            {"spouse_pin": UNKNOWN_WOMANS_PIN, "spouse_name": "Phạm Thu Trang"},
            set(),
            {("spouse_pin", "family.relative_unknown")},
        ),
        # One's own number is nobody's relative.
        (
            {"pin": pin_codec.compose(place_code="001", sex="M", birth_year=1992, serial="777777")}
            | {"spouse_pin": pin_codec.compose(place_code="001", sex="M", birth_year=1992, serial="777777")}
            | {"spouse_name": "Phạm Thu Trang"},
            {("spouse_pin", "family.self")},
            set(),
        ),
    ],
)
def test_the_rules_of_a_relative(
    personas: Personas, changes: dict[str, str], errors: set[tuple[str, str]], warnings: set[tuple[str, str]]
) -> None:
    assert problems(personas, **changes) == (errors, warnings)


def test_as_the_officer_types_only_what_was_typed_is_judged(personas: Personas) -> None:
    check = workflow.form_validate(
        user=personas.lan, kind="DC01", data={"father_pin": UNKNOWN_MANS_PIN}, complete=False
    )
    assert [(e.field, e.code) for e in check.errors] == []
    assert [(w.field, w.code) for w in check.warnings] == [("father_pin", "family.relative_unknown")]


def test_a_relatives_record_is_compared_but_never_shown(personas: Personas, father: Citizen) -> None:
    # Another name than his record's: a warning that says so without telling the record's name.
    check = workflow.form_validate(
        user=personas.lan, kind="DC01", data=dc01_data(father_pin=father.pin, father_name="Đỗ Văn Hải")
    )
    assert [(w.field, w.code) for w in check.warnings] == [("father_name", "family.name_differs")]
    said = " ".join(f"{p.message_vi} {p.message_en} {p.params}" for p in check.errors + check.warnings)
    assert "Thành" not in said
    assert "Thanh" not in said


def test_each_comparison_with_a_relatives_record_is_logged(
    personas: Personas, sign_in: Any, staff: Reviewers, father: Citizen
) -> None:
    purpose = "Đối chiếu người thân khai trên phiếu thu thập"
    # Judging alone writes nothing: whoever shows the verdicts logs them.
    workflow.form_validate(user=personas.lan, kind="DC01", data=dc01_data(father_pin=father.pin))
    assert verifications(father) == []

    client = sign_in(Client(), personas.lan)
    for name, address in (("Đỗ Văn Hải", "Số 1"), ("Đỗ Văn Thành", "Số 1"), ("Đỗ Văn Thành", "Số 2")):
        # The father lives outside Lan's area: each name compared with his record is a row, since each
        # verdict says whether it is his; the same name checked again as another field changes is not.
        checked = client.post(
            "/forms/validate/",
            {"kind": "DC01", "father_pin": father.pin, "father_name": name, "address_detail": address},
        )
        assert checked.status_code == 200
    assert verifications(father) == [("lan", "web", "DC01", purpose)] * 2
    with translation.override("en"):  # as the auditor's and the citizen's pages show it in English
        assert (
            translation.gettext(purpose) == "Relatives named on a collection form compared with their records"
        )
    rows = list(AccessLog.objects.filter(citizen=father, action=AccessLog.Action.VERIFY).order_by("pk"))
    # Each row ends with a digest of what was compared, the same for the same values, never the values.
    digests = {re.search(r"\[([0-9a-f]{12})\]$", row.detail).group(1) for row in rows}  # type: ignore[union-attr]
    assert len(digests) == 2
    assert all("Hải" not in row.detail and "Thành" not in row.detail for row in rows)
    # The row goes to the auditors of the relative's own area, outside the officer's.
    assert rows[0].area_commune_id == father.area_commune_id != personas.lan.police_unit.admin_unit_id
    AccessLog.objects.filter(pk=rows[1].pk).delete()
    row = rows[0]

    # Yesterday's row does not stand for today's comparison; a number nobody holds logs nothing.
    AccessLog.objects.filter(pk=row.pk).update(accessed_at=row.accessed_at - timedelta(days=1))
    form = dc01(
        personas.lan, father_pin=father.pin, mother_pin=UNKNOWN_WOMANS_PIN, mother_name="Trần Thị Hoa"
    )
    assert verifications(father)[1:] == [("lan", "web", form.label, purpose)]

    # Submitting, checking and applying judge the saved form again, which its author's rows cover.
    before = AccessLog.objects.filter(action=AccessLog.Action.VERIFY).count()
    advance(
        form,
        "applied",
        reviewer=staff.hang,
        supervisor=personas.cuong,
        acknowledged=("family.relative_unknown",),
    )
    assert AccessLog.objects.filter(action=AccessLog.Action.VERIFY).count() == before


def test_comparisons_with_records_outside_the_area_are_rationed_per_day(
    personas: Personas, sign_in: Any, father: Citizen, settings: Any
) -> None:
    """A collector trying names and birth dates against a number outside the area until the verdicts
    give the holder away: past the day's budget the check is refused whole, and says so."""
    settings.DANCU_OUTSIDE_CHECKS_PER_RECORD = 3
    settings.DANCU_OUTSIDE_CHECKS_PER_DAY = 5
    neighbour = make_citizen(full_name="Lê Văn Hàng", birth_date="1958-01-01")  # in Lan's ward
    other = make_citizen(full_name="Vũ Văn Xa", birth_date="1961-01-01", commune_code=SAI_GON, place="079")
    client = sign_in(Client(), personas.lan)

    def check(pin: str, name: str) -> str:
        response = client.post(
            "/forms/validate/",
            {"kind": "DC01", "full_name": "Đỗ Minh Khang", "birth_date": "12/03/1992", "sex": "M"}
            | {"father_pin": pin, "father_name": name},
        )
        assert response.status_code == 200
        return response.content.decode()

    for name in ("Đỗ Văn Một", "Đỗ Văn Hai", "Đỗ Văn Ba"):
        assert "family.name_differs" in check(father.pin, name)
    # The record's own budget is spent: the fourth guess gets no verdict, the same guess again still does.
    refused = check(father.pin, "Đỗ Văn Thành")
    assert "check.record_limit" in refused
    assert "family.name_differs" not in refused
    assert "family.name_differs" in check(father.pin, "Đỗ Văn Ba")
    assert len(verifications(father)) == 3
    # A record of the ward is the collector's to open anyway: checked as often as need be, one row a day.
    for name in ("Lê Văn Một", "Lê Văn Hai", "Lê Văn Ba", "Lê Văn Bốn"):
        assert "family.name_differs" in check(neighbour.pin, name)
    assert len(verifications(neighbour)) == 1
    # The day's budget over all records outside the area: five comparisons.
    assert "family.name_differs" in check(other.pin, "Vũ Văn Một")
    assert "family.name_differs" in check(other.pin, "Vũ Văn Hai")
    refused = check(other.pin, "Vũ Văn Ba")
    assert "check.daily_limit" in refused
    assert "family.name_differs" not in refused
    # Saving a draft that would compare once more is refused the same way, and nothing is written.
    before = CollectionForm.objects.count()
    with pytest.raises(DomainError) as caught:
        dc01(personas.lan, father_pin=other.pin, father_name="Vũ Văn Bốn")
    assert [e.code for e in caught.value.errors] == ["check.daily_limit"]
    assert "5 lần" in caught.value.errors[0].message_vi
    assert CollectionForm.objects.count() == before
    assert len(verifications(other)) == 2
    # Tomorrow is another day.
    AccessLog.objects.filter(actor=personas.lan).update(accessed_at=timezone.now() - timedelta(days=1))
    assert "family.name_differs" in check(other.pin, "Vũ Văn Ba")


def test_the_api_logs_the_comparisons_of_the_forms_it_writes(personas: Personas, father: Citizen) -> None:
    _token, secret = api_token_create(user=personas.lan, name="máy tính bảng")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    created = api.post(
        "/api/v1/forms",
        json.dumps({"kind": "DC01", "data": dc01_data()}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert verifications(father) == []
    form_id = created.json()["id"]
    updated = api.put(
        f"/api/v1/forms/{form_id}",
        json.dumps({"data": dc01_data(father_pin=father.pin)}),
        content_type="application/json",
    )
    assert updated.status_code == 200, updated.content
    assert [row[:3] for row in verifications(father)] == [("lan", "api", f"DC01 #{form_id}")]


def test_the_pin_of_a_merged_record_leads_to_the_record_kept(personas: Personas, staff: Reviewers) -> None:
    # Recorded twice in Hoàn Kiếm, then merged: the PIN written on old papers is the absorbed record's.
    twice = make_citizen(full_name="Đỗ Văn Thành", birth_date="1960-02-01")
    old_pin = twice.pin
    kept = merge_into_duplicate(twice)
    assert kept.pin != old_pin
    form = dc01(personas.lan, father_pin=old_pin)
    assert (form.errors, form.warnings) == ([], [])
    form = advance(form, "applied", reviewer=staff.hang, supervisor=personas.cuong)
    link = FamilyLink.objects.get(citizen_id=form.citizen_id)
    assert (link.relative, link.relative_pin) == (kept, kept.pin)


def test_a_parent_must_be_older_than_the_child_by_the_rules_margin(
    personas: Personas, people: People
) -> None:
    # Hùng was born on 17/05/1990: two years before the person collected.
    errors, warnings = problems(personas, father_pin=people.hung.pin)
    assert (errors, warnings) == ({("father_pin", "family.parent_too_young")}, set())
    older = make_citizen(full_name="Đỗ Văn Lộc", birth_date="1978-08-01")
    errors, warnings = problems(personas, father_pin=older.pin)
    assert (errors, warnings) == (set(), {("father_pin", "family.parent_young")})


def test_a_form_with_a_wrong_relative_cannot_be_submitted(personas: Personas, people: People) -> None:
    form = dc01(personas.lan, father_pin=people.hung.pin)
    assert [(e["field"], e["code"]) for e in form.errors] == [("father_pin", "family.parent_too_young")]
    with pytest.raises(DomainError):
        workflow.form_submit(actor=Actor(personas.lan), form=form)
    assert not FamilyLink.objects.exists()


def test_an_unknown_relative_waits_for_the_reviewers_acknowledgement(
    personas: Personas, staff: Reviewers
) -> None:
    form = dc01(personas.lan, father_pin=UNKNOWN_MANS_PIN, father_name="Đỗ Văn Thành")
    form = workflow.form_submit(actor=Actor(personas.lan), form=form)
    with pytest.raises(DomainError) as refused:
        workflow.form_check(actor=Actor(staff.hang), form=form)
    assert [(e.field, e.code) for e in refused.value.errors] == [("father_pin", "warning.unacknowledged")]
    assert "[family.relative_unknown]" in refused.value.errors[0].message_vi
    form = advance(
        form,
        "applied",
        reviewer=staff.hang,
        supervisor=personas.cuong,
        acknowledged=("family.relative_unknown",),
    )
    link = FamilyLink.objects.get(citizen_id=form.citizen_id)
    assert (link.kind, link.relative, link.relative_name, link.relative_pin) == (
        "father",
        None,
        "Đỗ Văn Thành",
        UNKNOWN_MANS_PIN,
    )


def test_the_dc01_page_asks_for_the_relatives_and_checks_them_as_typed(
    personas: Personas, sign_in: Any, father: Citizen
) -> None:
    client = sign_in(Client(), personas.lan)
    page = client.get("/forms/new/").content.decode()
    assert "Cha, mẹ, vợ/chồng, người đại diện (nếu có)" in page
    for name in workflow.FAMILY_FIELDS:
        assert f'name="{name}"' in page
    checked = client.post(
        "/forms/validate/",
        {"kind": "DC01", "father_pin": UNKNOWN_WOMANS_PIN, "mother_name": "Hoa 2"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert '<div class="field-errors" id="err-father_pin" hx-swap-oob="true">' in checked
    assert "[family.parent_sex]" in checked
    assert "Số định danh của cha" in checked
    assert "[name.digits]" in checked

    response = client.post(
        "/forms/new/", {**dc01_data(father_pin=father.pin, mother_name="Trần Thị Hoa"), "action": "save"}
    )
    assert response.status_code == 302
    form = CollectionForm.objects.get()
    assert (form.data["father_pin"], form.data["mother_name"]) == (father.pin, "Trần Thị Hoa")
    shown = client.get(f"/forms/{form.pk}/").content.decode()
    assert "Số định danh cá nhân của cha" in shown
    assert father.pin in shown


def test_the_api_takes_the_relatives_of_a_dc01(personas: Personas, father: Citizen) -> None:
    _token, secret = api_token_create(user=personas.lan, name="máy tính bảng")
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    data = dc01_data(father_pin=father.pin, mother_name="Trần Thị Hoa")
    created = api.post(
        "/api/v1/forms", json.dumps({"kind": "DC01", "data": data}), content_type="application/json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["errors"] == []
    data["grandfather_name"] = "Đỗ Văn Tư"
    refused = api.post(
        "/api/v1/forms", json.dumps({"kind": "DC01", "data": data}), content_type="application/json"
    )
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("grandfather_name", "form.unknown_field")
    ]


HEADER = (
    "record_id,full_name,gender,birth_date,birth_place,id_number,old_id_number,father_name,mother_name,"
    "address"
)
ADDRESS = '"Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Thành phố Hà Nội"'


def test_an_imported_rows_parents_become_the_records_parents(tmp_path: Path, personas: Personas) -> None:
    path = tmp_path / "so_ho_khau.csv"
    rows = [
        f"R1,nguyễn văn hùng,Nam,17/05/1990,Hà Nội,,,nguyễn văn an,lê thị bình,{ADDRESS}",
        # A warning (an unknown province of birth): the row waits for an officer, its parents on the form.
        f"R2,Đỗ Thị Hoa,Nữ,02/03/1970,Sao Hỏa,,,Đỗ Văn Cường,,{ADDRESS}",
    ]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    actor = Actor(system="import")
    run, source = import_start(path=path, source_name="Sổ hộ khẩu Hoàn Kiếm", actor=actor)
    run = import_promote(run=import_rows(run=run, source=source, actor=actor, policy=ImportPolicy()))
    assert (run.rows_applied, run.rows_queued) == (1, 1)

    applied = Citizen.objects.get(full_name="Nguyễn Văn Hùng")
    links = {link.kind: (link.relative, link.relative_name) for link in applied.family_links.all()}
    assert links == {"father": (None, "Nguyễn Văn An"), "mother": (None, "Lê Thị Bình")}
    form = CollectionForm.objects.get()
    assert form.data["father_name"] == "Đỗ Văn Cường"
    assert "mother_name" not in form.data


# DC02: the relatives as they are to be --------------------------------------------------------------------


def _linked(citizen: Citizen, kind: str, **relative: Any) -> None:
    """The record names a relative (`relative=` a record, or `relative_name=`), as an earlier form did."""
    services.family_link_add(
        actor=SYSTEM,
        citizen=citizen,
        kind=kind,
        reason="Thu thập dữ liệu thử nghiệm",
        source_document="DC01 thử nghiệm",
        **relative,
    )


def _named_father(citizen: Citizen, name: str) -> None:
    _linked(citizen, "father", relative_name=name)


def test_a_dc02_corrects_the_fathers_name_and_the_history_keeps_the_old_one(
    personas: Personas, people: People, staff: Reviewers
) -> None:
    _named_father(people.hung, "Nguyễn Văn Tý")
    before = RecordVersion.objects.filter(entity="citizen", entity_id=people.hung.pk).latest("version")

    form = dc02(personas.lan, people.hung, {"father_name": "nguyễn văn tí"})
    assert (form.errors, form.warnings) == ([], [])
    form = advance(form, "applied", reviewer=staff.hang, supervisor=personas.cuong)

    [link] = FamilyLink.objects.filter(citizen=people.hung)
    assert (link.kind, link.relative_name, link.relative) == ("father", "Nguyễn Văn Tí", None)
    events = AuditEvent.objects.filter(
        subject_type="citizen", subject_id=str(people.hung.pk), source_document=f"DC02 #{form.pk}"
    )
    assert sorted(events.values_list("event_type", flat=True)) == [
        EventType.FAMILY_LINKED,
        EventType.FAMILY_UNLINKED,
    ]
    assert [f["relative_name"] for f in before.snapshot["family"]] == ["Nguyễn Văn Tý"]
    newest = RecordVersion.objects.filter(entity="citizen", entity_id=people.hung.pk).latest("version")
    assert [f["relative_name"] for f in newest.snapshot["family"]] == ["Nguyễn Văn Tí"]


def test_a_dc02_links_a_spouse_by_number_and_another_clears_it_from_both_records(
    personas: Personas, people: People, staff: Reviewers
) -> None:
    # Mai lives in Phường Hồng Hà, outside Lan's area: her record is linked all the same, never shown.
    form = advance(
        dc02(personas.lan, people.hung, {"spouse_pin": people.mai.pin}),
        "applied",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    spouse = FamilyLink.objects.get(citizen=people.hung)
    assert (spouse.kind, spouse.relative, spouse.relative_name) == ("spouse", people.mai, "Lê Thị Mai")
    assert FamilyLink.objects.get(citizen=people.mai).relative == people.hung

    # Through the API a blank value clears the field: the record then names no spouse.
    cleared = advance(
        dc02(personas.lan, people.hung, {"spouse_pin": "", "spouse_name": ""}, reason="Ly hôn"),
        "applied",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    assert not FamilyLink.objects.filter(citizen__in=[people.hung, people.mai]).exists()
    unlinked = AuditEvent.objects.get(event_type=EventType.FAMILY_UNLINKED)
    assert (unlinked.source_document, unlinked.data["relatives"]) == (
        f"DC02 #{cleared.pk}",
        [{"relative_id": people.mai.pk, "relative_name": "Lê Thị Mai"}],
    )
    mais = RecordVersion.objects.filter(entity="citizen", entity_id=people.mai.pk).latest("version")
    assert (mais.source_document, mais.snapshot["family"]) == (f"DC02 #{cleared.pk}", [])
    assert form.pk != cleared.pk


def test_the_rules_of_a_relative_on_a_dc02(personas: Personas, people: People) -> None:
    _named_father(people.hung, "Nguyễn Văn Tý")

    def problems_of(changes: dict[str, str]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        check = workflow.form_validate(
            user=personas.lan,
            kind="DC02",
            citizen=people.hung,
            data={"changes": changes},
            document="Trích lục",
            reason="Sửa",
        )
        return {(e.field, e.code) for e in check.errors}, {(w.field, w.code) for w in check.warnings}

    assert problems_of({"father_pin": people.mai.pin}) == ({("father_pin", "family.parent_sex")}, set())
    # The name the record holds is kept where the form gives none, and compared with the number's record.
    assert problems_of({"father_pin": people.tuan.pin}) == (
        {("father_pin", "family.parent_too_young")},
        {("father_name", "family.name_differs")},
    )
    assert problems_of({"father_name": "Nguyễn Văn Tý"}) == (set(), {("father_name", "change.same_value")})
    assert problems_of({"spouse_pin": people.hung.pin}) == ({("spouse_pin", "family.self")}, set())
    assert problems_of({"mother_name": "Hoa 2"}) == ({("mother_name", "name.digits")}, set())


def test_a_spouse_and_the_marital_status_must_agree_on_a_dc01(personas: Personas) -> None:
    spouse = {"spouse_name": "Trần Thị Hoa"}
    assert problems(personas, marital_status="married", **spouse) == (set(), set())
    for status in ("single", "divorced", "widowed"):
        assert problems(personas, marital_status=status, **spouse) == (
            set(),
            {("spouse_name", "family.spouse_not_married")},
        )
    # An unknown status says nothing; a married person whose spouse is not named is common.
    assert problems(personas, **spouse) == (set(), set())
    assert problems(personas, marital_status="married") == (set(), set())


def _divorce_check(personas: Personas, citizen: Citizen, changes: dict[str, str]) -> workflow.FormCheck:
    """The check of a DC02 with these changes to the record as it is now, made from a divorce judgment."""
    check = workflow.form_validate(
        user=personas.lan,
        kind="DC02",
        citizen=Citizen.objects.get(pk=citizen.pk),
        data={"changes": changes},
        document="Trích lục bản án ly hôn số 7/2026",
        reason="Ly hôn",
    )
    assert check.errors == []
    return check


def test_a_dc02_that_records_half_a_divorce_is_warned(
    personas: Personas, people: People, staff: Reviewers
) -> None:
    married = advance(
        dc02(personas.lan, people.hung, {"spouse_pin": people.mai.pin, "marital_status": "married"}),
        "applied",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    assert married.warnings == []

    def warnings_of(changes: dict[str, str]) -> set[tuple[str, str]]:
        return {(w.field, w.code) for w in _divorce_check(personas, people.hung, changes).warnings}

    not_married = {("spouse_name", "family.spouse_not_married")}
    still_married = {("spouse_name", "family.spouse_removed_married")}
    # The status changed and the spouse kept, or the spouse removed and the status kept: half a change.
    assert warnings_of({"marital_status": "divorced"}) == not_married
    assert warnings_of({"spouse_pin": "", "spouse_name": ""}) == still_married
    # Both at once is the whole of it.
    assert warnings_of({"marital_status": "divorced", "spouse_pin": "", "spouse_name": ""}) == set()
    # A form that touches neither does not inherit an old disagreement.
    Citizen.objects.filter(pk=people.hung.pk).update(marital_status="single")
    assert warnings_of({"native_place": "Xã Phù Đổng, Hà Nội"}) == set()
    assert warnings_of({"spouse_pin": "", "spouse_name": "Trần Thị Hoa"}) == not_married


def test_a_dc02_that_ends_a_marriage_says_when_the_former_spouse_is_still_married(
    personas: Personas, people: People, staff: Reviewers
) -> None:
    advance(
        dc02(personas.lan, people.hung, {"spouse_pin": people.mai.pin, "marital_status": "married"}),
        "applied",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    divorce = {"marital_status": "divorced", "spouse_pin": "", "spouse_name": ""}

    def check_of(changes: dict[str, str]) -> workflow.FormCheck:
        return _divorce_check(personas, people.hung, changes)

    def warnings_of(changes: dict[str, str]) -> set[tuple[str, str]]:
        return {(w.field, w.code) for w in check_of(changes).warnings}

    # Mai's record does not say "married": nothing of hers is left to correct.
    assert warnings_of(divorce) == set()
    Citizen.objects.filter(pk=people.mai.pk).update(marital_status="married")
    left_married = {("spouse_name", "family.former_spouse_married")}
    assert warnings_of(divorce) == left_married
    # Her record was compared, and the reading goes into the access log as the other relatives' do.
    assert set(check_of(divorce).relatives_read) == {people.mai.pk}
    # Another spouse in her place leaves her married as well; naming her again ends nothing.
    assert warnings_of({"spouse_pin": people.tuan.pin, "spouse_name": ""}) >= left_married
    assert ("spouse_name", "family.former_spouse_married") not in warnings_of({"spouse_name": "Lê Thị Mai"})
    # A form that leaves the spouse alone says nothing of her.
    assert warnings_of({"native_place": "Xã Phù Đổng, Hà Nội"}) == set()
    # A late spouse's record is not corrected by a divorce.
    Citizen.objects.filter(pk=people.mai.pk).update(date_of_death="2026-01-05")
    assert warnings_of({"marital_status": "widowed", "spouse_pin": "", "spouse_name": ""}) == set()


def test_one_person_in_two_relations_is_refused_but_a_parent_may_represent(
    personas: Personas, father: Citizen
) -> None:
    assert problems(personas, father_pin=father.pin, spouse_pin=father.pin) == (
        {("spouse_pin", "family.two_roles")},
        set(),
    )
    # A father who is also the legal representative (of a child, most often) is one person in two roles.
    assert problems(personas, father_pin=father.pin, representative_pin=father.pin) == (set(), set())


def test_a_dc02_names_neither_the_record_itself_nor_a_relative_it_keeps(
    personas: Personas, people: People, staff: Reviewers, father: Citizen
) -> None:
    form = advance(
        dc02(personas.lan, people.hung, {"father_pin": father.pin}),
        "applied",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    assert form.warnings == []
    hung = Citizen.objects.get(pk=people.hung.pk)

    def errors_of(citizen: Citizen, changes: dict[str, str]) -> set[tuple[str, str]]:
        check = workflow.form_validate(
            user=personas.lan,
            kind="DC02",
            citizen=citizen,
            data={"changes": changes},
            document="Trích lục",
            reason="Sửa",
        )
        return {(e.field, e.code) for e in check.errors}

    # The father the record keeps cannot become the spouse too, not even by the PIN of a record of him
    # merged into his (it leads to his record).
    assert errors_of(hung, {"spouse_pin": father.pin}) == {("spouse_pin", "family.two_roles")}
    duplicate = make_citizen(
        full_name="Đỗ Văn Thành",
        birth_date="1960-02-01",
        commune_code=SAI_GON,
        place="079",
        address="12 Lê Lợi",
    )
    services.citizen_merge(
        actor=SYSTEM, keep=father, absorb=duplicate, reason="Hai hồ sơ cùng một người", source_document="BB 8"
    )
    assert errors_of(hung, {"spouse_pin": duplicate.pin}) == {("spouse_pin", "family.two_roles")}
    # A PIN of a record merged into this one is this record's own: not its relative.
    twice = make_citizen(full_name="Nguyễn Văn Hùng", birth_date="1990-05-17")
    absorbed_pin = twice.pin
    kept = merge_into_duplicate(twice)
    assert errors_of(kept, {"representative_pin": absorbed_pin}) == {("representative_pin", "family.self")}


def test_a_spouse_of_age_living_and_married_to_no_one_else(
    personas: Personas, people: People, father: Citizen
) -> None:
    assert problems(personas, spouse_pin=people.mai.pin, marital_status="married") == (set(), set())
    child = make_citizen(full_name="Đỗ Thị Bé", sex="F", birth_date=f"{timezone.localdate().year - 1}-01-15")
    assert problems(personas, spouse_pin=child.pin) == (set(), {("spouse_pin", "family.spouse_young")})
    assert problems(personas, representative_pin=child.pin) == (
        set(),
        {("representative_pin", "family.representative_minor")},
    )
    # The person themselves, a boy of sixteen, is under the age of marriage too.
    young = f"{timezone.localdate().year - 16}-01-01"
    assert problems(personas, birth_date=young, spouse_name="Trần Thị Hoa") == (
        set(),
        {("birth_date", "family.spouse_young")},
    )

    # Mai's record names a husband already: a second marriage needs the papers of the first's end.
    _linked(people.mai, "spouse", relative=people.tuan)
    assert problems(personas, spouse_pin=people.mai.pin) == (
        set(),
        {("spouse_pin", "family.spouse_married_elsewhere")},
    )
    # A record that names the person by name only, from before they were registered, is no other marriage.
    FamilyLink.objects.filter(citizen=people.mai).update(
        relative=None, relative_pin="", relative_name="Đỗ Minh Khang"
    )
    assert problems(personas, spouse_pin=people.mai.pin) == (set(), set())

    # A late father is named as any father; a late spouse or representative is for the reviewer to see.
    Citizen.objects.filter(pk=father.pk).update(date_of_death="2020-01-01")
    assert problems(personas, father_pin=father.pin) == (set(), set())
    assert problems(personas, spouse_pin=father.pin, sex="F")[1] == {("spouse_pin", "family.relative_dead")}


def test_a_warning_that_appears_after_the_recheck_stops_the_apply(
    personas: Personas, people: People, staff: Reviewers, father: Citizen
) -> None:
    form = advance(
        dc02(personas.lan, people.hung, {"father_pin": father.pin, "father_name": "Đỗ Văn Thành"}),
        "rechecked",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    assert form.acknowledged_warnings == []
    # Meanwhile the father's record is corrected to another name: the form's name no longer fits it.
    Citizen.objects.filter(pk=father.pk).update(full_name="Đỗ Văn Thịnh", name_key="do van thinh")

    with pytest.raises(DomainError) as refused:
        workflow.form_apply(actor=Actor(personas.cuong), form=form)

    assert [(e.field, e.code) for e in refused.value.errors] == [("father_name", "warning.new_since_review")]
    assert "[family.name_differs]" in refused.value.errors[0].message_vi
    form.refresh_from_db()
    assert (form.status, [e["code"] for e in form.apply_errors]) == (
        "rechecked",
        ["warning.new_since_review"],
    )
    assert not FamilyLink.objects.filter(citizen=people.hung).exists()


def test_a_relatives_rename_shows_on_the_links_to_them(
    personas: Personas, people: People, staff: Reviewers, father: Citizen
) -> None:
    advance(
        dc02(personas.lan, people.hung, {"representative_pin": father.pin}),
        "applied",
        reviewer=staff.hang,
        supervisor=personas.cuong,
    )
    services.citizen_update(
        actor=SYSTEM,
        citizen=father,
        changes={"full_name": "Đỗ Văn Thịnh"},
        reason="Cải chính họ tên",
        source_document="Quyết định cải chính số 5",
    )
    [link] = FamilyLink.objects.filter(citizen=people.hung)
    assert (link.relative, link.relative_name) == (father, "Đỗ Văn Thịnh")
    # A DC02 that types the new name for the same number now changes nothing, as it should.
    check = workflow.form_validate(
        user=personas.lan,
        kind="DC02",
        citizen=Citizen.objects.get(pk=people.hung.pk),
        data={"changes": {"representative_name": "Đỗ Văn Thịnh"}},
        document="Trích lục",
        reason="Sửa",
    )
    assert [(w.field, w.code) for w in check.warnings] == [("representative_name", "change.same_value")]


def test_the_dc02_page_shows_the_relatives_the_record_names(
    personas: Personas, people: People, sign_in: Any
) -> None:
    _named_father(people.hung, "Nguyễn Văn Tý")
    client = sign_in(Client(), personas.lan)
    page = client.get(f"/forms/new/dc02/{people.hung.pk}/").content.decode()
    assert 'data-current="father_name">Hiện tại: Nguyễn Văn Tý<' in page
    assert 'name="spouse_pin"' in page

    response = client.post(
        f"/forms/new/dc02/{people.hung.pk}/",
        {
            "father_name": "Nguyễn Văn Tí",
            "document": "Trích lục khai sinh",
            "reason": "Sửa tên cha",
            "action": "submit",
        },
    )
    assert response.status_code == 302
    form = CollectionForm.objects.get(kind="DC02")
    assert (form.status, form.data) == ("submitted", {"changes": {"father_name": "Nguyễn Văn Tí"}})


def test_the_dc02_page_replaces_a_relative_known_by_number_with_one_known_by_name(
    personas: Personas, people: People, staff: Reviewers, sign_in: Any
) -> None:
    # Hùng's spouse is Mai, by her number; he remarried someone not in the registry.
    _linked(people.hung, "spouse", relative=people.mai)
    client = sign_in(Client(), personas.lan)
    url = f"/forms/new/dc02/{people.hung.pk}/"
    sent = {"document": "Giấy chứng nhận kết hôn số 9", "reason": "Kết hôn", "action": "save"}
    saved = client.post(url, {**sent, "spouse_clear": "on", "spouse_name": "Lê Thu Hà"})
    assert saved.status_code == 302
    form = CollectionForm.objects.get()
    assert form.data == {"changes": {"spouse_name": "Lê Thu Hà", "spouse_pin": ""}}
    edit = client.get(f"/forms/{form.pk}/edit/").content.decode()
    assert re.search(r'<input type="checkbox" name="spouse_clear"[^>]* checked', edit)
    assert 'value="Lê Thu Hà"' in edit

    advance(form, "applied", reviewer=staff.hang, supervisor=personas.cuong)
    [link] = FamilyLink.objects.filter(citizen=people.hung)
    assert (link.relative, link.relative_pin, link.relative_name) == (None, "", "Lê Thu Hà")
    assert not FamilyLink.objects.filter(citizen=people.mai).exists()


def test_the_dc02_page_removes_a_relative_by_its_own_choice(
    personas: Personas, people: People, staff: Reviewers, sign_in: Any
) -> None:
    _linked(people.hung, "spouse", relative_name="Phạm Thu Trang")
    client = sign_in(Client(), personas.lan)
    url = f"/forms/new/dc02/{people.hung.pk}/"
    page = client.get(url).content.decode()
    assert 'name="spouse_clear"' in page
    assert 'data-current="spouse_clear"' not in page
    sent = {"document": "Trích lục ghi chú ly hôn số 3", "reason": "Ly hôn"}

    saved = client.post(url, {**sent, "spouse_clear": "on", "action": "save"})
    assert saved.status_code == 302
    form = CollectionForm.objects.get()
    assert form.data == {"changes": {"spouse_name": "", "spouse_pin": ""}}
    edit = client.get(f"/forms/{form.pk}/edit/").content.decode()
    assert re.search(r'<input type="checkbox" name="spouse_clear"[^>]* checked', edit)

    form = advance(form, "applied", reviewer=staff.hang, supervisor=personas.cuong)
    assert not FamilyLink.objects.filter(citizen=people.hung).exists()
