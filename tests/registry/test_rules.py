"""The rules library: every rule by example, with its severity; the catalogue against the code that
raises rule codes; the context that lets a batch be checked without a query per record."""

from __future__ import annotations

import ast
import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest

from dancu.geo.models import AdminUnit
from dancu.geo.selectors import province_get, successor_of, unit_get
from dancu.lib.errors import FieldError
from dancu.lib.partial_date import PartialDate
from dancu.registry import validation
from dancu.registry.rules import (
    FIELD_LABELS,
    RULES,
    IdentifierIndex,
    Issue,
    MemberInput,
    PersonInput,
    RuleContext,
    Severity,
    UnitIndex,
    check_household,
    check_person,
    check_units,
    errors_of,
    registered_identifiers,
    warnings_of,
)
from tests.conftest import DUONG_LIEU_LEGACY, HOAN_KIEM, make_citizen

TODAY = date(2025, 9, 1)
PIN = "001090123456"  # Hà Nội, male, born 1990
E, W = Severity.ERROR, Severity.WARNING


def clean(**overrides) -> PersonInput:
    values = {
        "full_name": "Nguyễn Văn Hùng",
        "sex": "M",
        "birth_date": PartialDate(1990, 5, 17),
        "birth_place": "001",
        "id_number": PIN,
        "old_id_number": "012345678",
        "father_name": "Nguyễn Văn Minh",
        "mother_name": "Trần Thị Lan",
        "address": "Số 1 phố Hàng Trống, Phường Hoàn Kiếm, Hà Nội",
        "father_birth_date": PartialDate(1960),
        "mother_birth_date": PartialDate(1963, 2),
        "record_id": "r1",
    }
    return PersonInput(**{**values, **overrides})


def found(issues: list[Issue]) -> set[tuple[str, str, Severity]]:
    return {(issue.field, issue.rule_code, issue.severity) for issue in issues}


# Units without the database: two 2025 communes, two legacy ones, and which became which.
UNITS = UnitIndex(
    communes=frozenset({"00070", "00097"}),
    legacy_communes=frozenset({"00001", "00004"}),
    successors={"00001": frozenset({"00097"}), "00004": frozenset({"00070", "00097"})},
)


def test_a_clean_record_breaks_no_rule():
    context = RuleContext(today=TODAY, pins=IdentifierIndex(set()), cmnds=IdentifierIndex(set()), units=UNITS)
    assert check_person(clean(commune_code="00070"), context=context) == []


# Every rule check_person applies, by example ---------------------------------------------------------------

PERSON_EXAMPLES = [
    # The PIN's structure and its agreement with the record.
    ({"id_number": "12345"}, "id_number", "pin.format", E),
    ({"id_number": "00109012345x"}, "id_number", "pin.format", E),
    ({"id_number": "003090123456"}, "id_number", "pin.place", E),
    ({"id_number": "001090000000"}, "id_number", "pin.serial", E),
    ({"sex": "F"}, "id_number", "pin.sex_mismatch", E),
    ({"birth_date": PartialDate(1991)}, "id_number", "pin.year_mismatch", E),
    ({"birth_registration_place": "079"}, "id_number", "pin.place_mismatch", E),
    ({"birth_place": "079"}, "id_number", "pin.birth_place_mismatch", W),
    # CMND.
    ({"old_id_number": "12345"}, "old_id_number", "cmnd.format", E),
    ({"old_id_number": "０12345678"}, "old_id_number", "cmnd.format", E),
    # Dates.
    ({"birth_date": None}, "birth_date", "date.required", E),
    ({"birth_date": PartialDate(2026), "id_number": None}, "birth_date", "date.future", E),
    ({"date_of_death": PartialDate(2030)}, "date_of_death", "date.future", E),
    ({"date_of_death": PartialDate(1989, 12)}, "date_of_death", "date.death_before_birth", E),
    ({"birth_date": PartialDate(1890), "id_number": None}, "birth_date", "date.age_implausible", W),
    ({"father_birth_date": PartialDate(2030)}, "father_birth_date", "date.future", E),
    # Parents: older than the child by a plausible margin.
    ({"father_birth_date": PartialDate(1980)}, "father_birth_date", "family.parent_too_young", E),
    ({"mother_birth_date": PartialDate(1995)}, "mother_birth_date", "family.parent_too_young", E),
    ({"mother_birth_date": PartialDate(1976, 1, 1)}, "mother_birth_date", "family.parent_young", W),
    ({"father_birth_date": PartialDate(1925)}, "father_birth_date", "family.parent_old", W),
    # Names.
    ({"full_name": ""}, "full_name", "name.required", E),
    ({"full_name": "Nguyễn Văn 3"}, "full_name", "name.digits", E),
    ({"full_name": "Nguyễn <b>Hùng</b>"}, "full_name", "name.letters", E),
    ({"full_name": "Nguyễn Văn\u200bHùng"}, "full_name", "name.control_chars", E),
    ({"full_name": "Nguyễn " + "Văn " * 30 + "Hùng"}, "full_name", "name.too_long", E),
    ({"full_name": "Hùng"}, "full_name", "name.single_word", W),
    ({"father_name": "Trần 2"}, "father_name", "name.digits", E),
    ({"mother_name": "Лан"}, "mother_name", "name.letters", E),
    # Sex and places.
    ({"sex": None}, "sex", "sex.required", E),
    ({"sex": "X"}, "sex", "sex.invalid", E),
    ({"birth_place": "000"}, "birth_place", "birth_place.unknown", W),
    # Blood type only with a medical source.
    ({"blood_type": "A", "blood_type_source": ""}, "blood_type_source", "blood_type.no_source", E),
    ({"blood_type": "Z", "blood_type_source": "Bệnh viện Bạch Mai"}, "blood_type", "blood_type.unknown", E),
    # Address and units valid at the date.
    ({"address": ""}, "address", "address.required", E),
    ({"commune_code": "99999"}, "commune", "unit.unknown", E),
    ({"commune_code": "00070", "legacy_commune_code": "88888"}, "legacy_commune", "unit.unknown", E),
    ({"legacy_commune_code": "00001"}, "legacy_commune", "unit.not_valid_at_date", E),
    (
        {"commune_code": "00070", "address_date": date(2024, 12, 31)},
        "commune",
        "unit.not_valid_at_date",
        E,
    ),
    ({"commune_code": "00070", "legacy_commune_code": "00001"}, "commune", "unit.succession_mismatch", W),
]


@pytest.mark.parametrize(("overrides", "field", "code", "severity"), PERSON_EXAMPLES)
def test_each_rule_by_example(overrides, field, code, severity):
    context = RuleContext(today=TODAY, units=UNITS)
    issues = check_person(clean(**overrides), context=context)
    assert (field, code, severity) in found(issues)
    assert RULES[code].severity is severity


def test_valid_units_at_their_dates_pass():
    context = RuleContext(today=TODAY, units=UNITS)
    before_reform = date(2024, 6, 1)
    assert check_person(clean(legacy_commune_code="00001", address_date=before_reform), context=context) == []
    assert check_person(clean(commune_code="00070"), context=context) == []
    # A legacy address with the 2025 commune it became is valid at any date.
    assert check_person(clean(commune_code="00097", legacy_commune_code="00004"), context=context) == []
    assert check_units(commune_code="00070", legacy_commune_code=None, on=date(2025, 7, 1), units=UNITS) == []
    assert (
        check_units(commune_code=None, legacy_commune_code="00001", on=date(2025, 6, 30), units=UNITS) == []
    )


def test_without_units_in_the_context_unit_codes_are_not_checked():
    assert check_person(clean(commune_code="99999"), context=RuleContext(today=TODAY)) == []


@pytest.mark.parametrize(
    ("parent", "child", "code"),
    [
        # Known only to the year, the parent gets the benefit of the doubt: 1978 to 1990 can be 12 years.
        (PartialDate(1978), PartialDate(1990), "family.parent_young"),
        (PartialDate(1979), PartialDate(1990), "family.parent_too_young"),
        (PartialDate(1978, 6, 1), PartialDate(1990, 5, 31), "family.parent_too_young"),
        (PartialDate(1975), PartialDate(1990), None),
        (PartialDate(1930), PartialDate(1990), None),
        (PartialDate(1929, 12, 31), PartialDate(1990, 1, 1), None),
        (PartialDate(1929, 1, 1), PartialDate(1990, 1, 2), "family.parent_old"),
    ],
)
def test_parent_age_margins_with_partial_dates(parent, child, code):
    issues = check_person(
        clean(birth_date=child, id_number=None, father_birth_date=parent), context=RuleContext(today=TODAY)
    )
    codes = {issue.rule_code for issue in issues if issue.field == "father_birth_date"}
    assert codes == ({code} if code else set())


def test_a_partial_date_is_in_the_future_only_when_all_of_it_is():
    today = date(2025, 5, 20)
    this_month = clean(
        birth_date=PartialDate(2025, 5), id_number=None, father_birth_date=None, mother_birth_date=None
    )
    assert check_person(this_month, context=RuleContext(today=today)) == []
    next_month = dataclasses.replace(this_month, birth_date=PartialDate(2025, 6))
    assert ("birth_date", "date.future", E) in found(
        check_person(next_month, context=RuleContext(today=today))
    )


def test_the_same_death_year_as_the_birth_is_not_before_it():
    record = clean(birth_date=PartialDate(1990, 5, 17), date_of_death=PartialDate(1990))
    assert check_person(record, context=RuleContext(today=TODAY)) == []


def test_an_unreadable_pin_is_reported_once_and_not_checked_for_duplicates():
    context = RuleContext(today=TODAY, pins=IdentifierIndex({"12345"}))
    issues = check_person(clean(id_number="12345"), context=context)
    assert [issue.rule_code for issue in issues] == ["pin.format"]


# Duplicates: against the registry and within the batch ------------------------------------------------------


def test_duplicates_against_the_registry_from_a_set():
    context = RuleContext(today=TODAY, pins=IdentifierIndex({PIN}), cmnds=IdentifierIndex({"012345678"}))
    assert found(check_person(clean(), context=context)) == {
        ("id_number", "pin.duplicate", E),
        ("old_id_number", "cmnd.duplicate", E),
    }


def test_duplicates_against_the_registry_from_a_callable():
    asked = []

    def registered(pin: str) -> bool:
        asked.append(pin)
        return True

    context = RuleContext(today=TODAY, pins=IdentifierIndex(registered))
    assert ("id_number", "pin.duplicate", E) in found(check_person(clean(), context=context))
    assert asked == [PIN]


def test_duplicates_within_a_batch_name_the_first_record():
    context = RuleContext(today=TODAY, pins=IdentifierIndex(), cmnds=IdentifierIndex())
    assert check_person(clean(record_id="r1"), context=context) == []
    issues = check_person(clean(record_id="r2"), context=context)
    assert found(issues) == {
        ("id_number", "pin.duplicate_in_batch", E),
        ("old_id_number", "cmnd.duplicate_in_batch", E),
    }
    assert all(issue.params["first_record"] == "r1" for issue in issues)
    assert "r1" in issues[0].message("vi")
    assert "r1" in issues[0].message("en")
    # Checking the first record again (a re-validation) does not make it its own duplicate.
    assert check_person(clean(record_id="r1"), context=context) == []


def test_records_without_an_id_are_each_a_record_of_their_own():
    index = IdentifierIndex()
    assert index.claim("x") == (False, None)
    in_registry, earlier = index.claim("x")
    assert not in_registry
    assert earlier is not None


@pytest.mark.django_db
def test_registered_identifiers_reads_a_chunk_in_one_query_each(django_assert_num_queries):
    citizen = make_citizen(full_name="Nguyễn Văn Hùng", old_id_number="012345678")
    with django_assert_num_queries(2):
        pins, cmnds = registered_identifiers(
            pins=[citizen.pin, "001090999999", ""], cmnds=["012345678", "999999999", ""]
        )
    assert (pins, cmnds) == ({citizen.pin}, {"012345678"})
    with django_assert_num_queries(0):
        assert registered_identifiers(pins=[], cmnds=[]) == (set(), set())


# Units from the database ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unit_index_loads_both_structures_and_the_successions(django_assert_num_queries):
    with django_assert_num_queries(2):
        units = UnitIndex.load()
    legacy = unit_get(structure="legacy", level="commune", code=DUONG_LIEU_LEGACY)
    successor = successor_of(legacy)
    assert HOAN_KIEM in units.communes
    assert DUONG_LIEU_LEGACY in units.legacy_communes
    assert successor.code in units.successors[DUONG_LIEU_LEGACY]
    assert len(units.communes) == 3321
    # The island districts with no communes map from the district itself.
    assert len(units.legacy_communes) > 10_000
    assert (
        check_units(commune_code=successor.code, legacy_commune_code=DUONG_LIEU_LEGACY, on=TODAY, units=units)
        == []
    )
    assert [
        issue.rule_code
        for issue in check_units(
            commune_code=HOAN_KIEM, legacy_commune_code=DUONG_LIEU_LEGACY, on=TODAY, units=units
        )
    ] == ["unit.succession_mismatch"]


@pytest.mark.django_db
def test_the_current_unit_index_is_read_again_only_when_the_units_change(django_assert_num_queries):
    """A pass, a reassessment and an import each ask for the units: the process keeps them, and asks only
    their version (three aggregates) until a reload changes it."""
    first = UnitIndex.current()
    with django_assert_num_queries(3):
        assert UnitIndex.current() is first
    # A reload that gives Hà Nội a new commune moves the version: the next caller sees the commune.
    AdminUnit.objects.create(
        structure=AdminUnit.Structure.CURRENT,
        level=AdminUnit.Level.COMMUNE,
        code="99990",
        name="Phường Thử",
        short_name="Thử",
        kind="Phường",
        parent=province_get("01"),
        province_code="01",
        search_key="phuong thu",
        path="2025/01/99990",
    )
    with django_assert_num_queries(3 + 2):
        after = UnitIndex.current()
    assert "99990" in after.communes
    assert "99990" not in first.communes
    assert after.successors == first.successors


# Households -------------------------------------------------------------------------------------------------


def test_a_household_has_exactly_one_head():
    good = [MemberInput("a", "head"), MemberInput("b", "spouse"), MemberInput("c", "child")]
    assert check_household(good, household="H1") == []
    assert found(check_household([MemberInput("a", "spouse")], household="H1")) == {
        ("household", "household.no_head", E)
    }
    two = check_household([MemberInput("a", "head"), MemberInput("b", "head")], household="H1")
    assert found(two) == {("relation_to_head", "household.second_head", E)}
    assert two[0].params == {"household": "H1", "first_head": "a", "record_id": "b"}
    unknown = check_household([MemberInput("a", "head"), MemberInput("b", "cousin")], household="H1")
    assert found(unknown) == {("relation_to_head", "relation.invalid", E)}


# Issues -----------------------------------------------------------------------------------------------------


def test_an_issue_speaks_both_languages_and_becomes_a_field_error():
    issue = Issue("birth_date", "date.future")
    assert issue.severity is E
    assert issue.message("vi") == "Ngày sinh không được ở tương lai."
    assert issue.message("en") == "Date of birth must not be in the future."
    assert issue.message("en-us") == issue.message("en")
    error = issue.as_field_error()
    assert error == FieldError("birth_date", "date.future", issue.message("vi"), issue.message("en"), {})
    assert Issue.from_field_error(error) == issue
    assert Issue.from_field_error(error, field="ngay_sinh").field == "ngay_sinh"


def test_a_message_with_a_missing_param_shows_the_gap_instead_of_failing():
    assert "{first_record}" in Issue("id_number", "pin.duplicate_in_batch").message("en")


def test_errors_and_warnings_are_told_apart():
    issues = [Issue("sex", "sex.required"), Issue("full_name", "name.single_word"), Issue("x", "repair.case")]
    assert errors_of(issues) == issues[:1]
    assert warnings_of(issues) == issues[1:2]
    assert issues[2].severity is Severity.REPAIR


# The catalogue ----------------------------------------------------------------------------------------------

CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")
SRC = Path(__file__).resolve().parents[2] / "src" / "dancu"
# The modules whose errors reach forms, the API, services and imports.
RAISING_MODULES = [
    "registry/services.py",
    "registry/validation.py",
    "registry/selectors.py",
    "registry/api.py",
    "registry/bulk.py",
    "registry/rules.py",
    "registry/normalize.py",
    "lib/pin.py",
    "lib/vntext.py",
    "lib/partial_date.py",
    # The import's reader and services: their row codes are rules too, so a ragged row weighs the same
    # everywhere.
    "collection/readers.py",
    "collection/quality/checks.py",
    "collection/services.py",
    # Why an interrupted run is continued on the server, not from its page (`import_server_resume`).
    "collection/selectors.py",
    # The refusal of a place outside an officer's area, which the registry's writes, the forms, the
    # imports and the accounts' pages all give.
    "accounts/areas.py",
]
ERROR_CONSTRUCTORS = {
    "error",
    "_error",
    "FieldError",
    "PartialDateError",
    "_placement_error",
    "Issue",
    "_row_problem",
}


def raised_codes(path: Path, constructors: frozenset[str] | set[str] = ERROR_CONSTRUCTORS) -> set[str]:
    """Rule codes a module passes to an error constructor, or writes under "code" in an error body."""
    codes = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in constructors:
                candidates = [
                    *node.args[:2],
                    *(kw.value for kw in node.keywords if kw.arg in ("code", "rule_code")),
                ]
                codes |= {
                    arg.value
                    for arg in candidates
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and CODE.match(arg.value)
                }
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "code"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    codes.add(value.value)
    return codes


@pytest.mark.parametrize("module", RAISING_MODULES)
def test_every_code_the_registry_raises_is_in_the_catalogue(module):
    codes = raised_codes(SRC / module)
    assert codes, f"no rule code found in {module}: has the way errors are raised changed?"
    assert codes <= set(RULES), sorted(codes - set(RULES))


def form_rule_codes() -> set[str]:
    # The forms' workflow names catalogue rules through `_rule`; its own `FieldError`s are refusals of the
    # workflow (a form in the wrong status, the wrong role), not rules about the data.
    return raised_codes(SRC / "collection/workflow.py", {"_rule", "Issue"})


def test_every_rule_the_forms_name_is_in_the_catalogue():
    codes = form_rule_codes()
    assert {"field.required", "date.partial", "change.identity"} <= codes
    assert codes <= set(RULES), sorted(codes - set(RULES))


def test_the_catalogue_has_no_rule_nothing_raises():
    raised = set().union(*(raised_codes(SRC / module) for module in RAISING_MODULES), form_rule_codes())
    # Codes built from a kind ("pin" or "cmnd") and codes that repairs carry.
    built = {"pin.duplicate", "pin.duplicate_in_batch", "cmnd.duplicate", "cmnd.duplicate_in_batch"}
    repairs = {code for code in RULES if code.startswith("repair.")}
    assert set(RULES) - raised - built - repairs == set()


def test_issues_from_validation_carry_catalogue_codes():
    errors = validation.citizen_field_errors(
        {"full_name": "Nguyễn 2", "sex": "X", "birth_date": None, "blood_type": "A", "old_id_number": "1"},
        today=TODAY,
    )
    assert {error.code for error in errors} <= set(RULES)
    assert {error.code for error in errors} >= {"name.digits", "sex.invalid", "date.required", "cmnd.format"}


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_has_a_severity_and_two_different_messages(code):
    rule = RULES[code]
    assert rule.code == code
    assert CODE.match(code)
    assert isinstance(rule.severity, Severity)
    if code.startswith("repair."):
        assert rule.severity is Severity.REPAIR
    issue = Issue("full_name", code, EXAMPLE_PARAMS)
    vietnamese, english = issue.message("vi"), issue.message("en")
    assert vietnamese.strip()
    assert english.strip()
    assert vietnamese != english
    # Every placeholder a message uses is a param some issue carries.
    assert "{" not in vietnamese + english, (vietnamese, english)


# One value for every param a message may use.
EXAMPLE_PARAMS = {
    "place_code": "003",
    "pin_birth_year": 1990,
    "record_birth_year": 1991,
    "pin_place_code": "001",
    "record_place_code": "079",
    "birth_place_code": "079",
    "first_record": "r1",
    "formats": "YYYY",
    "birth_year": 1890,
    "max_age": 120,
    "min_age": 12,
    "age": 15,
    "male_age": 20,
    "female_age": 18,
    "max_length": 100,
    "length": 120,
    "characters": "<",
    "value": "X",
    "code": "00070",
    "legacy_code": "00001",
    "on": "2024-01-01",
    "household": "H1",
    "first_head": "a",
    "encoding": "vni",
    "canonical": "Nguyễn Văn A",
    "steps": "repair.case",
    "pair": 12,
    "expires_on": "2024-01-01",
    "registered_on": "2015-01-01",
    "reason": "người này đã chuyển đi",
    "run": 7,
    "row": 12,
    "source": "Sổ hộ khẩu cũ",
}


def test_every_labelled_field_has_both_languages():
    assert all(vietnamese.strip() and english.strip() for vietnamese, english in FIELD_LABELS.values())
