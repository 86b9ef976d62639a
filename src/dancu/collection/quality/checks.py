"""The four indicators of a stored citizen record, "đúng, đủ, sạch, sống", read operationally.

DESIGN.md gives the standard; this module says exactly what passes. Every check is a rule of the
registry's catalogue (`registry.rules`, `registry.validation`, `registry.normalize`), run on the record
as the registry holds it today, so a failure names the same rule code, with the same message in
Vietnamese and English, as the form or the import that would have refused the value.

đúng (correct): the record is internally consistent and valid.
  - The personal fields pass `validation.citizen_field_errors` (names of letters only, a known sex,
    dates not in the future, death not before birth, ethnicity, religion, nationality, CMND, blood type
    with its medical source, phone, e-mail).
  - The PIN agrees with the birth year, the sex and the place of birth registration
    (`rules.check_pin`: `pin.*`), and the place of birth registration is a province or country code
    (`place.unknown`).
  - Each parent recorded as a citizen is older than the child by a plausible margin
    (`rules.check_parent_age`: `family.parent_too_young`), seen from the child's and the parent's record.
  - The units of the current residences exist and are valid today (`rules.check_units`).
  Warnings of the catalogue (a mother aged 14, a legacy commune that went elsewhere) ask a reviewer to
  look; they do not fail đúng.
đủ (complete): every field Luật Căn cước 2023 art. 9 requires of everyone is present, and the household
  is complete.
  - Full name, date of birth, sex, place of birth, place of birth registration, native place
    (quê quán), ethnicity, religion, nationality (`name.required`, `field.required`,
    `date.required`, `sex.required`; the PIN is guaranteed by a database constraint), and
    a current residence (`residence.required`).
  - A citizen with a permanent residence is a member of a household (`household.none`) whose members
    include exactly one head and each have a relation to the head (`rules.check_household`:
    `household.no_head`, `household.second_head`, `field.required` for a relation left blank,
    `relation.invalid` for one that is no relation).
  Fields the law records only when they exist (other names, blood type, CMND, spouse, phone...) are not
  required.
sạch (clean): normalized, and one record per person.
  - Names (full name, other names) are in their canonical spelling: NFC, the registry's tone placement,
    title case, no stray space or punctuation (`registry.normalize`; `name.not_canonical` lists the
    repairs the name still needs). Places of birth and native places are NFC without stray space.
  - Every current residence is in a 2025 commune (`unit.not_commune`): legacy units are kept beside it,
    never instead of it.
  - No candidate pair of the matcher names the record as possibly the same person as another and waits
    for review (`record.duplicate_pending`), or was confirmed and not merged yet
    (`record.duplicate_confirmed`: two records of the registry; a staged row of an import confirmed as
    the citizen's was settled then, and leaves no second record).
sống (alive): kept up to date.
  - No current temporary residence past its expiry (`residence.expired`).
  - Nobody over 120 years old without a date of death (`date.age_implausible`).
  - A deceased citizen has no residence still registered (`residence.after_death`): a death that
    reached the record must also reach the residence register.

A record passes an indicator when none of its checks fails, and scores 25 points per indicator passed.
Nothing here writes; `load_facts` reads what the checks need for a batch of citizens in a fixed number
of queries, and `assess` judges one record from those facts.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q
from django.db.models.functions import Coalesce

from dancu.lib import pin as pin_codec
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import nfc
from dancu.registry import rules, validation
from dancu.registry.history import CITIZEN_FIELDS as SNAPSHOT_FIELDS
from dancu.registry.models import Citizen, FamilyLink, HouseholdMember, Residence
from dancu.registry.normalize import normalize_name_value, normalize_text_value
from dancu.registry.rules import Issue, MemberInput, UnitIndex


class Indicator(enum.StrEnum):
    DUNG = "dung"
    DU = "du"
    SACH = "sach"
    SONG = "song"

    @property
    def label(self) -> str:
        return INDICATOR_LABELS[self][0]


# (Vietnamese, English) names of the indicators, as the pages and the API show them.
INDICATOR_LABELS: dict[Indicator, tuple[str, str]] = {
    Indicator.DUNG: ("Đúng", "Correct"),
    Indicator.DU: ("Đủ", "Complete"),
    Indicator.SACH: ("Sạch", "Clean"),
    Indicator.SONG: ("Sống", "Up to date"),
}
POINTS_PER_INDICATOR = 25


@dataclass(frozen=True, slots=True)
class Failure:
    """One failing check: the indicator it counts against and the broken rule."""

    indicator: Indicator
    issue: Issue

    def as_json(self) -> dict[str, Any]:
        return {
            "indicator": str(self.indicator),
            "field": self.issue.field,
            "code": self.issue.rule_code,
            "params": dict(self.issue.params),
        }


def failure_message(failure: Mapping[str, Any], language: str = "vi") -> str:
    """The message of a stored failure in the reader's language."""
    return Issue(failure["field"], failure["code"], failure.get("params") or {}).message(language)


@dataclass(frozen=True, slots=True)
class Verdict:
    failures: tuple[Failure, ...]

    def passes(self, indicator: Indicator) -> bool:
        return all(f.indicator is not indicator for f in self.failures)

    @property
    def passed_all(self) -> bool:
        return not self.failures

    @property
    def score(self) -> int:
        return POINTS_PER_INDICATOR * sum(self.passes(indicator) for indicator in Indicator)


# What the checks read about one citizen besides the record itself -------------------------------------------


@dataclass(frozen=True, slots=True)
class ResidenceFact:
    kind: str
    commune_code: str
    commune_is_2025_commune: bool
    legacy_commune_code: str | None
    registered_on: date
    expires_on: date | None


@dataclass(slots=True)
class RecordFacts:
    citizen: Citizen
    residences: list[ResidenceFact] = field(default_factory=list)
    # The current household's number, and what the household rules say of its current members (shared
    # by every member, so checked once per household).
    household_number: str | None = None
    household_issues: list[Issue] = field(default_factory=list)
    # Birth dates of the parents (father/mother links) and of the children (child links) in the registry.
    parent_births: list[tuple[str, PartialDate]] = field(default_factory=list)
    child_births: list[PartialDate] = field(default_factory=list)
    # Candidate pairs naming this record: (pair id, status).
    pairs: list[tuple[int, str]] = field(default_factory=list)


# The fields `load_facts` reads of a citizen: the personal fields (those a version snapshot keeps), the
# version and the area.
CITIZEN_FIELDS = (*SNAPSHOT_FIELDS, "version", "area_commune", "area_province")


def load_facts(citizen_ids: Sequence[int]) -> list[RecordFacts]:
    """The facts of a batch of citizens in six queries, whatever the batch size (keep it to a few
    thousand: the ids go into IN lists). The household rules are run here, once per household."""
    from dancu.matching.models import CandidatePair

    # A record merged into another is no longer anyone's record: it is not assessed (see services).
    citizens = (
        Citizen.objects.filter(pk__in=citizen_ids, merged_into__isnull=True)
        .only(*CITIZEN_FIELDS)
        .order_by("pk")
    )
    facts = {citizen.pk: RecordFacts(citizen) for citizen in citizens}
    ids = list(facts)
    for row in Residence.objects.filter(citizen_id__in=ids, ended_on__isnull=True).values(
        "citizen_id",
        "kind",
        "commune__code",
        "commune__structure",
        "commune__level",
        "legacy_commune__code",
        "registered_on",
        "expires_on",
    ):
        facts[row["citizen_id"]].residences.append(
            ResidenceFact(
                kind=row["kind"],
                commune_code=row["commune__code"],
                commune_is_2025_commune=row["commune__structure"] == "2025"
                and row["commune__level"] == "commune",
                legacy_commune_code=row["legacy_commune__code"],
                registered_on=row["registered_on"],
                expires_on=row["expires_on"],
            )
        )
    household_of: dict[int, int] = {}
    for citizen_id, household_id, number in HouseholdMember.objects.filter(
        citizen_id__in=ids, left_on__isnull=True
    ).values_list("citizen_id", "household_id", "household__number"):
        household_of[citizen_id] = household_id
        facts[citizen_id].household_number = number
    members: dict[int, list[MemberInput]] = defaultdict(list)
    for household_id, member_id, relation in HouseholdMember.objects.filter(
        household_id__in=set(household_of.values()), left_on__isnull=True
    ).values_list("household_id", "citizen_id", "relation_to_head"):
        members[household_id].append(MemberInput(str(member_id), relation))
    numbers = {
        household_id: facts[citizen_id].household_number for citizen_id, household_id in household_of.items()
    }
    household_issues = {
        household_id: rules.check_household(members[household_id], household=number or "")
        for household_id, number in numbers.items()
    }
    for citizen_id, household_id in household_of.items():
        facts[citizen_id].household_issues = household_issues[household_id]
    for citizen_id, kind, relative_birth in FamilyLink.objects.filter(
        citizen_id__in=ids,
        kind__in=(FamilyLink.Kind.FATHER, FamilyLink.Kind.MOTHER, FamilyLink.Kind.CHILD),
        relative__isnull=False,
    ).values_list("citizen_id", "kind", "relative__birth_date"):
        # Null only through the nullable join, which the filter excludes: every citizen has a birth date.
        assert relative_birth is not None
        if kind == FamilyLink.Kind.CHILD:
            facts[citizen_id].child_births.append(relative_birth)
        else:
            facts[citizen_id].parent_births.append((f"{kind}_birth_date", relative_birth))
    # A side of a pair is a citizen or a staged row of an import; a staged row written to the registry since
    # (auto-approved, or its form applied) is that citizen, and the pair names the citizen as much.
    for pair_id, status, left, right in (
        CandidatePair.objects.filter(
            Q(left_citizen_id__in=ids)
            | Q(right_citizen_id__in=ids)
            | Q(left_staging__citizen_id__in=ids)
            | Q(right_staging__citizen_id__in=ids),
            status__in=(CandidatePair.Status.PENDING, CandidatePair.Status.SAME),
        )
        .annotate(
            left_record=Coalesce("left_citizen_id", "left_staging__citizen_id"),
            right_record=Coalesce("right_citizen_id", "right_staging__citizen_id"),
        )
        .values_list("pk", "status", "left_record", "right_record")
    ):
        if status == CandidatePair.Status.SAME and (left is None or right is None or left == right):
            # "Same person" for a citizen and a staged row the import never wrote to the registry: the
            # row was settled as that citizen's (import.duplicate) and no second record exists, so there
            # is nothing left to merge. Likewise two sides that are one record already.
            continue
        for side in {left, right}:
            if side in facts:
                facts[side].pairs.append((pair_id, status))
    return list(facts.values())


# The checks -------------------------------------------------------------------------------------------------

# Art. 9 fields held as text that everyone has; the rest of the required set is checked by the rules of
# their own (name, date of birth, sex) or is a choice with a default (ethnicity, religion, nationality).
# The PIN is not among them: the database refuses a citizen without a 12-digit one.
_REQUIRED_TEXT = ("birth_place", "birth_registration_place", "native_place")


_BLANK_CODES = frozenset({"name.required", "date.required"})


def _dung(facts: RecordFacts, *, today: date, units: UnitIndex) -> list[Issue]:
    citizen = facts.citizen
    # Validity is judged on the NFC form: whether the text is stored in that form is a question for sạch.
    data: dict[str, Any] = {
        "full_name": nfc(citizen.full_name),
        "other_names": nfc(citizen.other_names),
        "birth_place": nfc(citizen.birth_place),
        "native_place": nfc(citizen.native_place),
        "birth_date": citizen.birth_date,
        "date_of_death": citizen.date_of_death,
        "missing_declared_on": citizen.missing_declared_on,
        "ethnicity": citizen.ethnicity,
        "religion": citizen.religion,
        "nationality": citizen.nationality,
        "blood_type": citizen.blood_type,
        "blood_type_source": citizen.blood_type_source,
        "old_id_number": citizen.old_id_number,
        "marital_status": citizen.marital_status,
        "phone": citizen.phone,
        "email": citizen.email,
    }
    if citizen.sex:
        data["sex"] = citizen.sex
    issues = [
        Issue(error.field, error.code, error.params)
        for error in validation.citizen_field_errors(data, today=today)
        # Blank required fields are đủ's concern, not đúng's.
        if error.code not in _BLANK_CODES
    ]
    place = citizen.birth_registration_place
    if place and pin_codec.place_name(place) is None:
        issues.append(Issue("birth_registration_place", "place.unknown"))
    if citizen.pin:
        issues += rules.check_pin(
            citizen.pin,
            sex=citizen.sex if citizen.sex in (pin_codec.SEX_MALE, pin_codec.SEX_FEMALE) else None,
            birth=citizen.birth_date,
            registration_place=place or None,
        )
    for parent_field, parent_birth in facts.parent_births:
        issues += rules.check_parent_age(parent_birth, citizen.birth_date, field=parent_field)
    for child_birth in facts.child_births:
        issues += [
            Issue("birth_date", issue.rule_code, issue.params)
            for issue in rules.check_parent_age(citizen.birth_date, child_birth, field="birth_date")
        ]
    for residence in facts.residences:
        if residence.commune_is_2025_commune:
            issues += rules.check_units(
                commune_code=residence.commune_code,
                legacy_commune_code=residence.legacy_commune_code,
                on=today,
                units=units,
            )
    return rules.errors_of(issues)


def _du(facts: RecordFacts) -> list[Issue]:
    citizen = facts.citizen
    issues = []
    if not citizen.full_name.strip():
        issues.append(Issue("full_name", "name.required"))
    if citizen.birth_date is None:
        issues.append(Issue("birth_date", "date.required"))
    if not citizen.sex:
        issues.append(Issue("sex", "sex.required"))
    issues += [Issue(name, "field.required") for name in _REQUIRED_TEXT if not getattr(citizen, name).strip()]
    issues += [
        Issue(name, "field.required")
        for name in ("ethnicity", "religion", "nationality")
        if not getattr(citizen, name)
    ]
    if not facts.residences:
        issues.append(Issue("residence", "residence.required"))
    has_permanent = any(r.kind == Residence.Kind.PERMANENT for r in facts.residences)
    if facts.household_number is None:
        if has_permanent and not citizen.is_deceased:
            issues.append(Issue("household", "household.none"))
    else:
        issues += facts.household_issues
    return issues


def _canonical(value: str, *, field: str, name: bool) -> list[Issue]:
    if not value:
        return []
    canonical, repairs = (normalize_name_value if name else normalize_text_value)(value, field=field)
    if canonical == value:
        return []
    steps = ", ".join(dict.fromkeys(repair.code for repair in repairs))
    return [Issue(field, "name.not_canonical", {"canonical": canonical, "steps": steps})]


def _sach(facts: RecordFacts) -> list[Issue]:
    citizen = facts.citizen
    issues = _canonical(citizen.full_name, field="full_name", name=True)
    issues += _canonical(citizen.other_names, field="other_names", name=True)
    issues += _canonical(citizen.birth_place, field="birth_place", name=False)
    issues += _canonical(citizen.native_place, field="native_place", name=False)
    issues += [
        Issue("commune", "unit.not_commune") for r in facts.residences if not r.commune_is_2025_commune
    ]
    for pair_id, status in sorted(facts.pairs):
        if status == "pending":
            issues.append(Issue("pin", "record.duplicate_pending", {"pair": pair_id}))
        else:
            issues.append(Issue("pin", "record.duplicate_confirmed", {"pair": pair_id}))
    return issues


def _song(facts: RecordFacts, *, today: date) -> list[Issue]:
    citizen = facts.citizen
    issues = rules.check_age_plausible(citizen.birth_date, citizen.date_of_death, today=today)
    for residence in facts.residences:
        if citizen.is_deceased:
            issues.append(
                Issue(
                    "residence",
                    "residence.after_death",
                    {"registered_on": residence.registered_on.isoformat()},
                )
            )
        elif (
            residence.kind == Residence.Kind.TEMPORARY
            and residence.expires_on is not None
            and residence.expires_on < today
        ):
            issues.append(
                Issue("residence", "residence.expired", {"expires_on": residence.expires_on.isoformat()})
            )
    return issues


def assess(facts: RecordFacts, *, today: date, units: UnitIndex) -> Verdict:
    """Judge one record; `units` is loaded once per pass (`UnitIndex.load`)."""
    groups: Iterable[tuple[Indicator, list[Issue]]] = (
        (Indicator.DUNG, _dung(facts, today=today, units=units)),
        (Indicator.DU, _du(facts)),
        (Indicator.SACH, _sach(facts)),
        (Indicator.SONG, _song(facts, today=today)),
    )
    return Verdict(tuple(Failure(indicator, issue) for indicator, issues in groups for issue in issues))
