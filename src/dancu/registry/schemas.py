"""API shapes of the registry. Inputs are loose strings: the services apply the rules and name them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from dancu.lib.schemas import BodySchema

# Generous limits that only stop abuse (a megabyte in a name field); the real rules are the services'.
_SHORT = 1000


class ResidenceOut(Schema):
    id: int
    kind: str
    commune_code: str
    commune_name: str
    province_name: str
    legacy_commune_name: str | None
    address_detail: str
    address_original: str
    household_id: int | None
    registered_on: date
    expires_on: date | None
    ended_on: date | None


class FamilyLinkOut(Schema):
    kind: str
    relative_name: str
    relative_pin: str
    relative_id: int | None


class CardOut(Schema):
    kind: str
    number: str
    issued_on: date
    issued_by: str
    expires_on: date | None


class HouseholdRef(Schema):
    id: int
    number: str
    relation_to_head: str


class AbsenceOut(Schema):
    id: int
    starts_on: date
    ends_on: date
    destination: str
    reason: str
    returned_on: date | None = Field(description="the day the absence ended before its declared end")
    ended_by_move: bool = Field(
        description="the absence ended on returned_on because the person's permanent residence moved to "
        "another commune, not because they came back"
    )
    withdrawn_on: date | None = Field(
        description="the day the declaration was withdrawn (huỷ khai báo), before its period began: the "
        "person did not leave, and the declaration counts as no absence"
    )
    status: str = Field(
        description="where the declaration stands today, as the record page shows it: upcoming (sắp đi), "
        "current (đang tạm vắng), expired (the period ran out), returned, ended_by_move, withdrawn, or "
        "deceased (the person died while it was open)"
    )
    current: bool = Field(description="away today: the period has begun and not run out, and no return")


class CitizenSummary(Schema):
    id: int
    pin: str
    full_name: str
    birth_date: str
    sex: str
    commune_name: str | None
    deceased: bool
    away: bool = Field(False, description="away today under a declared absence (tạm vắng)")


class CitizenDetail(CitizenSummary):
    other_names: str
    birth_place: str
    birth_registration_place: str
    native_place: str
    ethnicity: str
    religion: str
    nationality: str
    blood_type: str
    old_id_number: str | None
    marital_status: str
    date_of_death: str | None
    phone: str
    email: str
    version: int
    residences: list[ResidenceOut]
    household: HouseholdRef | None
    family: list[FamilyLinkOut]
    cards: list[CardOut]
    pin_history: list[str]
    absences: list[AbsenceOut]


class SearchParams(Schema):
    q: str = Field(
        "",
        max_length=200,
        description="PIN or old CMND (its digits may be grouped by spaces, dots or dashes: "
        '"001 090 123 456"), or the start of a name with or without tone marks',
    )
    birth: str = Field("", max_length=20, description="date, month or year of birth")
    commune: str = Field("", max_length=10, description="code of a 2025 commune")
    legacy_commune: str = Field("", max_length=10, description="code of a pre-2025 (legacy) commune")
    address: str = Field("", max_length=200)
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


class CitizenPageOut(Schema):
    results: list[CitizenSummary]
    page: int
    page_size: int
    has_next: bool


class StayParams(Schema):
    q: str = Field(
        "",
        max_length=200,
        description=(
            'a PIN (also in groups, "079 090 413 733"), the start of a name or a given name alone, with or '
            "without tone marks"
        ),
    )
    expired: bool = Field(False, description="only the stays past their end date")
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=100)


class StayPerson(Schema):
    id: int
    pin: str
    full_name: str
    birth_date: str
    sex: str
    deceased: bool


class StayOut(ResidenceOut):
    """A temporary residence in your area, with who stays and where their permanent residence is."""

    citizen: StayPerson
    expired: bool = Field(description="past its end date and not yet renewed or ended")
    permanent_commune_name: str | None = Field(
        description="the commune of the person's permanent residence, if they have one"
    )
    permanent_province_name: str | None
    absences: list[AbsenceOut] = Field(
        description="the person's declared absences not yet over (upcoming or current), newest first: "
        "those you record returns to, correct and withdraw (POST/PATCH /citizens/{pin}/absences/...)"
    )


class StayPageOut(Schema):
    results: list[StayOut]
    page: int
    page_size: int
    has_next: bool


class StayIn(BodySchema):
    pin: str = Field(max_length=20, description="the PIN on the citizen's identity card")
    full_name: str = Field(max_length=_SHORT, description="the full name on the card")
    birth_date: str = Field(
        max_length=20, description="the date of birth on the card: DD/MM/YYYY or YYYY-MM-DD"
    )
    address_detail: str = Field(max_length=_SHORT, description="the address stayed at (no commune)")
    registered_on: date
    expires_on: date = Field(description="the end of the stay, at most 2 years after registered_on")
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class VersionOut(Schema):
    version: int
    recorded_at: datetime
    actor: str
    event_type: str | None
    reason: str
    source_document: str
    snapshot: dict[str, Any]


class ResidenceIn(BodySchema):
    kind: str = Field(max_length=20)
    commune_code: str = Field(max_length=10)
    address_detail: str = Field(max_length=_SHORT)
    registered_on: date
    expires_on: date | None = None
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class ResidenceEndIn(BodySchema):
    ended_on: date
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class ResidenceRenewIn(BodySchema):
    expires_on: date = Field(description="the new end date: at most 2 years after the current one")
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class AbsenceIn(BodySchema):
    starts_on: date = Field(description="the first day away; may be to come (declared before leaving)")
    ends_on: date = Field(description="the last day of the declared period, after starts_on")
    destination: str = Field(max_length=_SHORT)
    reason: str = Field(max_length=_SHORT, description="the reason for the absence")
    source_document: str = Field("", max_length=_SHORT)


class AbsenceCorrectIn(BodySchema):
    starts_on: date | None = Field(None, description="the corrected first day away; omitted: unchanged")
    ends_on: date | None = Field(None, description="the corrected last day; omitted: unchanged")
    destination: str | None = Field(None, max_length=_SHORT)
    absence_reason: str | None = Field(None, max_length=_SHORT, description="the reason for the absence")
    reason: str = Field(max_length=_SHORT, description="why the declaration is corrected")
    source_document: str = Field("", max_length=_SHORT)


class AbsenceWithdrawIn(BodySchema):
    reason: str = Field(max_length=_SHORT, description="why the declaration is withdrawn")
    source_document: str = Field("", max_length=_SHORT)


class AbsenceReturnIn(BodySchema):
    returned_on: date = Field(description="the day the person came back, before the declared end")
    reason: str = Field("Trở về nơi cư trú", max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class NewResidenceIn(BodySchema):
    kind: str = Field("permanent", max_length=20)
    commune_code: str = Field(max_length=10)
    address_detail: str = Field(max_length=_SHORT)
    registered_on: date
    expires_on: date | None = Field(None, description="the end of a temporary residence (at most 2 years)")


class CitizenIn(BodySchema):
    full_name: str = Field(max_length=_SHORT)
    birth_date: str = Field(max_length=20, description="YYYY-MM-DD, DD/MM/YYYY, MM/YYYY or YYYY")
    sex: str = Field(max_length=1, description="M or F")
    birth_registration_place: str = Field(max_length=3, description="province code, e.g. 001")
    pin: str = Field("", max_length=20, description="blank to allocate a new PIN")
    other_names: str = Field("", max_length=_SHORT)
    birth_place: str = Field("", max_length=_SHORT)
    native_place: str = Field("", max_length=_SHORT)
    ethnicity: str = Field("01", max_length=2)
    religion: str = Field("00", max_length=2)
    nationality: str = Field("VN", max_length=2)
    blood_type: str = Field("", max_length=3)
    blood_type_source: str = Field("", max_length=_SHORT)
    old_id_number: str = Field("", max_length=20)
    marital_status: str = Field("", max_length=16)
    phone: str = Field("", max_length=30)
    email: str = Field("", max_length=_SHORT)
    residence: NewResidenceIn
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)
    not_a_duplicate: bool = Field(
        False,
        description="true once the registry's record of the same name and date of birth was checked and is "
        "another person (refused as citizen.possible_duplicate otherwise)",
    )


class CitizenPatch(BodySchema):
    changes: dict[str, str | None]
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class HouseholdMemberOut(Schema):
    citizen_id: int
    pin: str
    full_name: str
    relation_to_head: str
    joined_on: date


class HouseholdOut(Schema):
    id: int
    number: str
    commune_code: str
    commune_name: str
    legacy_commune_name: str | None
    address_detail: str
    address_original: str
    members: list[HouseholdMemberOut]


class HouseholdIn(BodySchema):
    head_pin: str = Field(max_length=20)
    commune_code: str = Field(max_length=10)
    address_detail: str = Field(max_length=_SHORT)
    registered_on: date
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class MemberIn(BodySchema):
    pin: str = Field(max_length=20)
    relation_to_head: str = Field(max_length=20)
    joined_on: date
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class HeadChangeIn(BodySchema):
    new_head_pin: str = Field(max_length=20, description="PIN of the current member who becomes the head")
    previous_head_relation: str = Field(
        "", max_length=20, description="the previous head's relation to the new one; blank when there is none"
    )
    changed_on: date
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class SplitMemberIn(BodySchema):
    pin: str = Field(max_length=20)
    relation_to_head: str = Field(
        "", max_length=20, description="relation to the new head; not used for the new head"
    )


class HouseholdSplitIn(BodySchema):
    members: list[SplitMemberIn] = Field(
        max_length=100, description="every member who leaves to form the new household, the new head included"
    )
    new_head_pin: str = Field(
        max_length=20, description="PIN of the leaving member who heads the new household"
    )
    split_on: date
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)


class PinReissueIn(BodySchema):
    new_sex: str = Field(max_length=1, description="M or F: the sex recorded by the legal decision")
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field(max_length=_SHORT, description="the decision on the change of sex")


class ArrivalIn(BodySchema):
    pin: str = Field(max_length=20, description="the PIN on the citizen's identity card")
    full_name: str = Field(max_length=_SHORT, description="the full name on the card")
    birth_date: str = Field(
        max_length=20, description="the date of birth on the card: DD/MM/YYYY or YYYY-MM-DD"
    )
    registered_on: date = Field(description="the date of the permanent residence registered here")
    household_number: str = Field(
        "",
        max_length=40,
        description="the file number of a household of your commune to join; blank to open one",
    )
    relation_to_head: str = Field("", max_length=20, description="the relation to that household's head")
    address_detail: str = Field(
        "", max_length=_SHORT, description="the address of a new household (no number)"
    )
    reason: str = Field(max_length=_SHORT)
    source_document: str = Field("", max_length=_SHORT)
