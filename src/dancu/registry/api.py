"""Registry endpoints: thin handlers over the same selectors and services as the pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_noop
from ninja import Query, Router
from ninja.responses import Status

from dancu.accounts.models import User
from dancu.audit.models import AccessLog
from dancu.audit.services import Actor
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import unit_get
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.registry import selectors, services
from dancu.registry.models import AbsenceDeclaration, Citizen, Household, HouseholdMember, Residence
from dancu.registry.schemas import (
    AbsenceCorrectIn,
    AbsenceIn,
    AbsenceOut,
    AbsenceReturnIn,
    AbsenceWithdrawIn,
    ArrivalIn,
    CitizenDetail,
    CitizenIn,
    CitizenPageOut,
    CitizenPatch,
    HeadChangeIn,
    HouseholdIn,
    HouseholdOut,
    HouseholdSplitIn,
    MemberIn,
    PinReissueIn,
    ResidenceEndIn,
    ResidenceIn,
    ResidenceOut,
    ResidenceRenewIn,
    SearchParams,
    StayIn,
    StayOut,
    StayPageOut,
    StayParams,
    VersionOut,
)

router = Router(tags=["registry"])
API = AccessLog.Channel.API
PURPOSE = gettext_noop("API: tra cứu nghiệp vụ")


def _actor(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _commune(code: str, *, field: str = "commune_code") -> AdminUnit:
    code = code.strip()
    try:
        # Unit codes are ASCII digits; anything else names no unit (and a NUL would make PostgreSQL
        # refuse the look-up itself).
        if not (code.isascii() and code.isdigit()):
            raise AdminUnit.DoesNotExist
        return unit_get(structure="2025", level="commune", code=code)
    except AdminUnit.DoesNotExist:
        raise DomainError(
            FieldError(
                field=field,
                code="unit.unknown",
                message_vi="Không có xã/phường/đặc khu với mã này",
                message_en="No current commune, ward or special zone has this code",
            )
        ) from None


@contextmanager
def _fields_as_sent(names: dict[str, str]) -> Iterator[None]:
    """A service's refusal names its own parameters ("commune"); the answer names the field of the body
    that carried the value ("commune_code"), so that a client can show it beside the right input."""
    try:
        yield
    except DomainError as exc:
        raise DomainError(
            [dataclasses.replace(error, field=names.get(error.field, error.field)) for error in exc.errors]
        ) from exc


# What the residence services call the parts of a residence, and where a body carries them.
_RESIDENCE_FIELDS = {"commune": "commune_code", "legacy_commune": "commune_code"}
_NESTED_RESIDENCE_FIELDS = {
    name: f"residence.{sent}"
    for name, sent in {
        **_RESIDENCE_FIELDS,
        "kind": "kind",
        "address_detail": "address_detail",
        "registered_on": "registered_on",
        "expires_on": "expires_on",
    }.items()
}


def _residence_out(r: Residence) -> dict[str, Any]:
    return {
        "id": r.pk,
        "kind": r.kind,
        "commune_code": r.commune.code,
        "commune_name": r.commune.name,
        "province_name": r.commune.parent.name if r.commune.parent else "",
        "legacy_commune_name": r.legacy_commune.full_name() if r.legacy_commune else None,
        "address_detail": r.address_detail,
        "address_original": r.address_original,
        "household_id": r.household_id,
        "registered_on": r.registered_on,
        "expires_on": r.expires_on,
        "ended_on": r.ended_on,
    }


def _absence_out(a: AbsenceDeclaration) -> dict[str, Any]:
    # The status the record page shows: a person who has died is away from nowhere, whatever a declaration
    # made in their life says.
    status = a.status
    return {
        "id": a.pk,
        "starts_on": a.starts_on,
        "ends_on": a.ends_on,
        "destination": a.destination,
        "reason": a.reason,
        "returned_on": a.returned_on,
        "ended_by_move": a.ended_by_move,
        "withdrawn_on": a.withdrawn_on,
        "status": status,
        "current": status == AbsenceDeclaration.Status.CURRENT,
    }


def _summary(c: Citizen, *, away: bool = False) -> dict[str, Any]:
    return {
        "id": c.pk,
        "pin": c.pin,
        "full_name": c.full_name,
        "birth_date": c.birth_date.to_storage() if c.birth_date else "",
        "sex": c.sex,
        "commune_name": str(c.area_commune) if c.area_commune else None,
        "deceased": c.is_deceased,
        "away": away,
    }


def _detail(c: Citizen) -> dict[str, Any]:
    membership: HouseholdMember | None = next(
        (m for m in c.household_memberships.all() if m.left_on is None), None
    )
    absences = [_absence_out(a) for a in c.absences.all()]
    return _summary(c, away=any(a["current"] for a in absences)) | {
        "other_names": c.other_names,
        "birth_place": c.birth_place,
        "birth_registration_place": c.birth_registration_place,
        "native_place": c.native_place,
        "ethnicity": c.ethnicity,
        "religion": c.religion,
        "nationality": c.nationality,
        "blood_type": c.blood_type,
        "old_id_number": c.old_id_number,
        "marital_status": c.marital_status,
        "date_of_death": c.date_of_death.to_storage() if c.date_of_death else None,
        "phone": c.phone,
        "email": c.email,
        "version": c.version,
        "residences": [_residence_out(r) for r in c.residences.all()],
        "household": (
            {
                "id": membership.household_id,
                "number": membership.household.number,
                "relation_to_head": membership.relation_to_head,
            }
            if membership
            else None
        ),
        "family": [
            {
                "kind": f.kind,
                "relative_name": f.relative_name,
                "relative_pin": f.relative_pin,
                "relative_id": f.relative_id,
            }
            for f in c.family_links.all()
        ],
        "cards": [
            {
                "kind": k.kind,
                "number": k.number,
                "issued_on": k.issued_on,
                "issued_by": k.issued_by,
                "expires_on": k.expires_on,
            }
            for k in c.card_records.all()
        ],
        "pin_history": [p.pin for p in c.pin_records.all()],
        "absences": absences,
    }


def _get(request: HttpRequest, pin: str, *, field: str = "") -> Citizen:
    """The citizen of a PIN in the caller's area; `field` names the body's field when the PIN came in one,
    so that a 404 says which of the request's ids to look at (the path's, or the body's)."""
    try:
        return selectors.citizen_get(actor=_actor(request), pin=pin, purpose=PURPOSE, channel=API)
    except NotFoundError as exc:
        if not field:
            raise
        raise NotFoundError("citizen", field=field) from exc


@router.get("/citizens", response=CitizenPageOut, summary="Search citizens in your jurisdiction")
def search_citizens(request: HttpRequest, filters: Query[SearchParams]) -> dict[str, Any]:
    result = selectors.citizen_search(
        actor=_actor(request),
        query=selectors.CitizenQuery(
            text=filters.q,
            birth=filters.birth,
            commune_code=filters.commune,
            legacy_commune_code=filters.legacy_commune,
            address=filters.address,
        ),
        page=filters.page,
        page_size=filters.page_size,
        purpose=PURPOSE,
        channel=API,
    )
    return {
        "results": [_summary(c, away=c.pk in result.away) for c in result.results],
        "page": result.page,
        "page_size": result.page_size,
        "has_next": result.has_next,
    }


@router.get("/citizens/{pin}", response=CitizenDetail, summary="One citizen's record")
def get_citizen(request: HttpRequest, pin: str) -> dict[str, Any]:
    return _detail(_get(request, pin))


@router.get("/citizens/{pin}/history", response=list[VersionOut], summary="Every version of the record")
def citizen_history(request: HttpRequest, pin: str) -> list[dict[str, Any]]:
    citizen = _get(request, pin)
    versions = selectors.citizen_history(
        actor=_actor(request), citizen_id=citizen.pk, purpose=PURPOSE, channel=API
    )
    return [
        {
            "version": v.version,
            "recorded_at": v.recorded_at,
            "actor": v.actor_label,
            "event_type": v.event.event_type if v.event else None,
            "reason": v.reason,
            "source_document": v.source_document,
            "snapshot": v.snapshot,
        }
        for v in versions
    ]


@router.get(
    "/citizens/{pin}/state", response={200: VersionOut, 404: dict}, summary="The record on a past date"
)
def citizen_state(request: HttpRequest, pin: str, on: date) -> Any:
    citizen = _get(request, pin)
    version = selectors.citizen_state_on(
        actor=_actor(request), citizen_id=citizen.pk, when=on, purpose=PURPOSE, channel=API
    )
    if version is None:
        return Status(
            404,
            {
                "errors": [
                    {
                        "field": "on",
                        "code": "history.before_record",
                        "message_vi": "Hồ sơ chưa tồn tại vào ngày này",
                        "message_en": "The record did not exist on that date",
                    }
                ]
            },
        )
    return {
        "version": version.version,
        "recorded_at": version.recorded_at,
        "actor": version.actor_label,
        "event_type": version.event.event_type if version.event else None,
        "reason": version.reason,
        "source_document": version.source_document,
        "snapshot": version.snapshot,
    }


@router.post("/citizens", response={201: CitizenDetail}, summary="Register a person at the address collected")
def create_citizen(request: HttpRequest, body: CitizenIn) -> Status[dict[str, Any]]:
    personal = body.dict(exclude={"residence", "reason", "source_document", "not_a_duplicate"})
    with _fields_as_sent(_NESTED_RESIDENCE_FIELDS):
        citizen = services.citizen_create(
            actor=Actor(_actor(request)),
            data=services.NewCitizen(**personal),
            residence=services.NewResidence(
                kind=body.residence.kind,
                commune=_commune(body.residence.commune_code, field="residence.commune_code"),
                address_detail=body.residence.address_detail,
                registered_on=body.residence.registered_on,
                expires_on=body.residence.expires_on,
            ),
            reason=body.reason,
            source_document=body.source_document,
            not_a_duplicate=body.not_a_duplicate,
            channel=API,
        )
    return Status(201, _detail(_get(request, citizen.pin)))


@router.patch("/citizens/{pin}", response=CitizenDetail, summary="Correct or update a record")
def update_citizen(request: HttpRequest, pin: str, body: CitizenPatch) -> dict[str, Any]:
    citizen = _get(request, pin)
    services.citizen_update(
        actor=Actor(_actor(request)),
        citizen=citizen,
        changes=body.changes,
        reason=body.reason,
        source_document=body.source_document,
        channel=API,
    )
    return _detail(_get(request, pin))


@router.post(
    "/citizens/{pin}/pin-reissue",
    response=CitizenDetail,
    summary="Re-issue the PIN after a legal change of sex",
)
def reissue_pin(request: HttpRequest, pin: str, body: PinReissueIn) -> dict[str, Any]:
    citizen = services.pin_reissue(
        actor=Actor(_actor(request)),
        citizen=_get(request, pin),
        new_sex=body.new_sex,
        reason=body.reason,
        source_document=body.source_document,
    )
    return _detail(_get(request, citizen.pin))


@router.post("/citizens/{pin}/residences", response={201: ResidenceOut}, summary="Register a residence")
def register_residence(request: HttpRequest, pin: str, body: ResidenceIn) -> Status[dict[str, Any]]:
    citizen = _get(request, pin)
    with _fields_as_sent(_RESIDENCE_FIELDS):
        residence = services.residence_register(
            actor=Actor(_actor(request)),
            citizen=citizen,
            kind=_residence_kind(body.kind),
            commune=_commune(body.commune_code),
            address_detail=body.address_detail,
            registered_on=body.registered_on,
            expires_on=body.expires_on,
            reason=body.reason,
            source_document=body.source_document,
        )
    return Status(
        201,
        _residence_out(
            Residence.objects.select_related("commune__parent", "legacy_commune").get(pk=residence.pk)
        ),
    )


@router.post(
    "/arrivals",
    response={201: CitizenDetail},
    summary="Register the permanent residence of a person moving into your commune",
    description=(
        "Đăng ký thường trú cho người chuyển đến. For an officer of a 2025 commune (otherwise 422 "
        "`role.not_allowed`). The record is found country-wide by the PIN on the card and must have the "
        "name (compared without tone marks or case) and the date of birth on the card: an unknown PIN, "
        "another name and another date all answer 422 `arrival.not_found` on `pin`, and the record compared "
        "is written to the access log as a check. The person joins the household `household_number` of "
        "your commune with `relation_to_head`, or heads a new household at `address_detail`. The old "
        "permanent residence and household membership end; a head who leaves other members behind leaves "
        "that household without a head, for its commune to choose one. The answer is the record, now in "
        "your area."
    ),
)
def register_arrival(request: HttpRequest, body: ArrivalIn) -> Status[dict[str, Any]]:
    citizen = services.residence_arrival_register(
        actor=Actor(_actor(request)),
        pin=body.pin,
        full_name=body.full_name,
        birth_date=body.birth_date,
        registered_on=body.registered_on,
        household_number=body.household_number,
        relation_to_head=body.relation_to_head,
        address_detail=body.address_detail,
        reason=body.reason,
        source_document=body.source_document,
        channel=API,
    )
    return Status(201, _detail(_get(request, citizen.pin)))


def _residence_of(citizen: Citizen, residence_id: int) -> Residence:
    """One of the citizen's residences; another's id is "not found", as an unknown one is."""
    residence = next((r for r in citizen.residences.all() if r.pk == residence_id), None)
    if residence is None:
        raise NotFoundError("residence")
    return residence


def _residence_answer(residence: Residence) -> dict[str, Any]:
    return _residence_out(
        Residence.objects.select_related("commune__parent", "legacy_commune").get(pk=residence.pk)
    )


def _stay_out(stay: Residence, *, today: date) -> dict[str, Any]:
    c = stay.citizen
    home = selectors.stay_home(stay)
    return _residence_out(stay) | {
        "citizen": {
            "id": c.pk,
            "pin": c.pin,
            "full_name": c.full_name,
            # As every other answer writes a birth date: ISO, or "1990-05" / "1990" when partial.
            "birth_date": c.birth_date.to_storage() if c.birth_date else "",
            "sex": c.sex,
            "deceased": c.is_deceased,
        },
        "expired": stay.expired_on(today),
        "permanent_commune_name": home.commune.name if home else None,
        "permanent_province_name": home.commune.parent.name if home and home.commune.parent else None,
        "absences": [_absence_out(a) for a in selectors.stay_open_absences(stay)],
    }


@router.get(
    "/stays",
    response=StayPageOut,
    summary="People staying in your area (người tạm trú trong địa bàn)",
    description=(
        "The current temporary residences of your area, whatever the commune of the person's permanent "
        "residence, the stays past their end date first. `q` is a PIN (also in groups, `079 090 413 733`), "
        "the start of a name or a given name alone (tone marks optional). Every person listed is written "
        "to the access log. The record itself stays with the police of the permanent residence: "
        "`GET /citizens/{pin}` answers 404 for a person who only stays here."
    ),
)
def list_stays(request: HttpRequest, filters: Query[StayParams]) -> dict[str, Any]:
    result = selectors.stays_list(
        actor=_actor(request),
        text=filters.q,
        expired_only=filters.expired,
        page=filters.page,
        page_size=filters.page_size,
        purpose=PURPOSE,
        channel=API,
    )
    return {
        "results": [_stay_out(r, today=result.today) for r in result.results],
        "page": result.page,
        "page_size": result.page_size,
        "has_next": result.has_next,
    }


@router.post(
    "/stays",
    response={201: StayOut},
    summary="Register the temporary residence of a person staying in your commune (đăng ký tạm trú)",
    description=(
        "For an officer of a 2025 commune (otherwise 422 `role.not_allowed`). As for `POST /arrivals`, the "
        "record is found country-wide by the PIN on the card and must have the card's name and date of "
        "birth (422 `arrival.not_found` on `pin` otherwise; the record compared is logged as a check). A "
        "person whose record is in your area already answers 422 `arrival.in_area`: register the residence "
        "on their record. The stay lasts at most 2 years; it ends the person's stay elsewhere, if any, and "
        "keeps their permanent residence and household. The answer is the stay, as `GET /stays` lists it."
    ),
)
def register_stay(request: HttpRequest, body: StayIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    stay = services.residence_stay_register(
        actor=Actor(actor),
        pin=body.pin,
        full_name=body.full_name,
        birth_date=body.birth_date,
        address_detail=body.address_detail,
        registered_on=body.registered_on,
        expires_on=body.expires_on,
        reason=body.reason,
        source_document=body.source_document,
        channel=API,
    )
    shown = selectors.stay_get(actor=actor, pk=stay.pk, purpose=PURPOSE, channel=API)
    return Status(201, _stay_out(shown, today=timezone.localdate()))


def _reached(request: HttpRequest, pin: str, stay_id: int | None = None) -> selectors.Reached:
    """The citizen of this PIN through the record or through their stay in the officer's area."""
    return selectors.citizen_or_stay_get(
        actor=_actor(request), pin=pin, stay_id=stay_id, purpose=PURPOSE, channel=API
    )


def _residence_to_change(request: HttpRequest, pin: str, residence_id: int) -> Residence:
    """The residence of the citizen of this PIN that an end or a renewal is for: one of a record in the
    officer's area, or a stay in the area of a person whose record lies elsewhere (the police of the place
    a person stays at renew and end the stay); "not found" otherwise."""
    reached = _reached(request, pin, residence_id)
    return reached.stay or _residence_of(reached.citizen, residence_id)


@router.post(
    "/citizens/{pin}/residences/{residence_id}/end",
    response=ResidenceOut,
    summary="End a current residence (xoá đăng ký thường trú/tạm trú)",
)
def end_residence(request: HttpRequest, pin: str, residence_id: int, body: ResidenceEndIn) -> dict[str, Any]:
    residence = services.residence_end(
        actor=Actor(_actor(request)),
        residence=_residence_to_change(request, pin, residence_id),
        ended_on=body.ended_on,
        reason=body.reason,
        source_document=body.source_document,
    )
    return _residence_answer(residence)


@router.post(
    "/citizens/{pin}/residences/{residence_id}/renew",
    response=ResidenceOut,
    summary="Renew a temporary residence (gia hạn tạm trú)",
)
def renew_residence(
    request: HttpRequest, pin: str, residence_id: int, body: ResidenceRenewIn
) -> dict[str, Any]:
    residence = services.residence_renew(
        actor=Actor(_actor(request)),
        residence=_residence_to_change(request, pin, residence_id),
        expires_on=body.expires_on,
        reason=body.reason,
        source_document=body.source_document,
    )
    return _residence_answer(residence)


@router.post(
    "/citizens/{pin}/absences",
    response={201: AbsenceOut},
    summary="Declare an absence from the place of residence (khai báo tạm vắng)",
)
def declare_absence(request: HttpRequest, pin: str, body: AbsenceIn) -> Status[dict[str, Any]]:
    absence = services.absence_declare(
        actor=Actor(_actor(request)),
        citizen=_reached(request, pin).citizen,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        destination=body.destination,
        reason=body.reason,
        source_document=body.source_document,
    )
    return Status(201, _absence_out(absence))


def _absence_of(citizen: Citizen, absence_id: int) -> AbsenceDeclaration:
    """One of the citizen's declarations; another's id is "not found", as an unknown one is."""
    absence = next((a for a in citizen.absences.all() if a.pk == absence_id), None)
    if absence is None:
        raise NotFoundError("absence")
    return absence


@router.patch(
    "/citizens/{pin}/absences/{absence_id}",
    response=AbsenceOut,
    summary="Correct a declared absence not yet over (its period, destination or reason)",
)
def correct_absence(
    request: HttpRequest, pin: str, absence_id: int, body: AbsenceCorrectIn
) -> dict[str, Any]:
    absence = _absence_of(_reached(request, pin).citizen, absence_id)
    absence = services.absence_correct(
        actor=Actor(_actor(request)),
        absence=absence,
        starts_on=absence.starts_on if body.starts_on is None else body.starts_on,
        ends_on=absence.ends_on if body.ends_on is None else body.ends_on,
        destination=absence.destination if body.destination is None else body.destination,
        absence_reason=absence.reason if body.absence_reason is None else body.absence_reason,
        reason=body.reason,
        source_document=body.source_document,
    )
    return _absence_out(absence)


@router.post(
    "/citizens/{pin}/absences/{absence_id}/return",
    response=AbsenceOut,
    summary="Record the return before the end of a declared absence",
)
def return_from_absence(
    request: HttpRequest, pin: str, absence_id: int, body: AbsenceReturnIn
) -> dict[str, Any]:
    absence = _absence_of(_reached(request, pin).citizen, absence_id)
    absence = services.absence_return(
        actor=Actor(_actor(request)),
        absence=absence,
        returned_on=body.returned_on,
        reason=body.reason,
        source_document=body.source_document,
    )
    return _absence_out(absence)


@router.post(
    "/citizens/{pin}/absences/{absence_id}/withdraw",
    response=AbsenceOut,
    summary="Withdraw a declared absence whose period has not begun (huỷ khai báo tạm vắng)",
)
def withdraw_absence(
    request: HttpRequest, pin: str, absence_id: int, body: AbsenceWithdrawIn
) -> dict[str, Any]:
    absence = _absence_of(_reached(request, pin).citizen, absence_id)
    absence = services.absence_withdraw(
        actor=Actor(_actor(request)),
        absence=absence,
        reason=body.reason,
        source_document=body.source_document,
    )
    return _absence_out(absence)


def _residence_kind(kind: str) -> Residence.Kind:
    if kind not in Residence.Kind.values:
        raise DomainError(
            FieldError(
                field="kind",
                code="residence.kind_invalid",
                message_vi="Loại cư trú phải là permanent, temporary hoặc current",
                message_en="Residence kind must be permanent, temporary or current",
            )
        )
    return Residence.Kind(kind)


def _household_out(household: Household, members: list[HouseholdMember]) -> dict[str, Any]:
    return {
        "id": household.pk,
        "number": household.number,
        "commune_code": household.commune.code,
        "commune_name": str(household.commune),
        "legacy_commune_name": household.legacy_commune.full_name() if household.legacy_commune else None,
        "address_detail": household.address_detail,
        "address_original": household.address_original,
        "members": [
            {
                "citizen_id": m.citizen_id,
                "pin": m.citizen.pin,
                "full_name": m.citizen.full_name,
                "relation_to_head": m.relation_to_head,
                "joined_on": m.joined_on,
            }
            for m in members
        ],
    }


@router.get("/households/{household_id}", response=HouseholdOut, summary="A household and its members")
def get_household(request: HttpRequest, household_id: int) -> dict[str, Any]:
    household, members = selectors.household_get(
        actor=_actor(request), pk=household_id, purpose=PURPOSE, channel=API
    )
    return _household_out(household, members)


@router.post("/households", response={201: HouseholdOut}, summary="Open a household with its head")
def create_household(request: HttpRequest, body: HouseholdIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    head = _get(request, body.head_pin, field="head_pin")
    with _fields_as_sent(_RESIDENCE_FIELDS | {"head": "head_pin"}):
        household = services.household_create(
            actor=Actor(actor),
            head=head,
            commune=_commune(body.commune_code),
            address_detail=body.address_detail,
            registered_on=body.registered_on,
            reason=body.reason,
            source_document=body.source_document,
        )
    household, members = selectors.household_get(actor=actor, pk=household.pk, purpose=PURPOSE, channel=API)
    return Status(201, _household_out(household, members))


@router.post("/households/{household_id}/members", response={201: HouseholdOut}, summary="Add a member")
def add_member(request: HttpRequest, household_id: int, body: MemberIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    household, _members = selectors.household_get(actor=actor, pk=household_id, purpose=PURPOSE, channel=API)
    # Joining registers the member's permanent residence from the date they join: the residence's rules
    # about its date are about `joined_on`.
    with _fields_as_sent({"registered_on": "joined_on", "citizen": "pin"}):
        services.household_add_member(
            actor=Actor(actor),
            household=household,
            citizen=_get(request, body.pin, field="pin"),
            relation_to_head=body.relation_to_head,
            joined_on=body.joined_on,
            reason=body.reason,
            source_document=body.source_document,
        )
    household, members = selectors.household_get(actor=actor, pk=household_id, purpose=PURPOSE, channel=API)
    return Status(201, _household_out(household, members))


@router.post(
    "/households/{household_id}/head", response=HouseholdOut, summary="Change the head of a household"
)
def change_head(request: HttpRequest, household_id: int, body: HeadChangeIn) -> dict[str, Any]:
    actor = _actor(request)
    household, _members = selectors.household_get(actor=actor, pk=household_id, purpose=PURPOSE, channel=API)
    with _fields_as_sent({"new_head": "new_head_pin"}):
        services.household_change_head(
            actor=Actor(actor),
            household=household,
            new_head=_get(request, body.new_head_pin, field="new_head_pin"),
            previous_head_relation=body.previous_head_relation,
            changed_on=body.changed_on,
            reason=body.reason,
            source_document=body.source_document,
        )
    household, members = selectors.household_get(actor=actor, pk=household_id, purpose=PURPOSE, channel=API)
    return _household_out(household, members)


@router.post(
    "/households/{household_id}/split",
    response={201: HouseholdOut},
    summary="Split a household: members form their own at the same address",
)
def split_household(
    request: HttpRequest, household_id: int, body: HouseholdSplitIn
) -> Status[dict[str, Any]]:
    actor = _actor(request)
    household, members = selectors.household_get(actor=actor, pk=household_id, purpose=PURPOSE, channel=API)
    # The household's members are read (and logged) with it; a PIN that is not among them is looked up in
    # the caller's area, and the split says it is not a member, or the answer says it is not found.
    current = {m.citizen.pin: m.citizen for m in members}

    def member(pin: str, field: str) -> Citizen:
        pin = pin.strip()
        if pin in current:
            return current[pin]
        try:
            return _get(request, pin)
        except NotFoundError as exc:
            raise NotFoundError("citizen", field=field) from exc

    chosen = [
        services.SplitMember(citizen=member(m.pin, f"members.{i}.pin"), relation_to_head=m.relation_to_head)
        for i, m in enumerate(body.members)
    ]
    # The new head is named as the members are: by the PIN sent for one of them (a PIN merged away leads
    # to the kept record), or by a record's own PIN.
    new_head_pin = body.new_head_pin.strip()
    sent = {m.pin.strip(): c.citizen for m, c in zip(body.members, chosen, strict=True)}
    new_head = sent.get(new_head_pin) or next(
        (m.citizen for m in chosen if m.citizen.pin == new_head_pin), None
    )
    if new_head is None and new_head_pin in current:
        new_head = current[new_head_pin]
    with _fields_as_sent({"new_head": "new_head_pin"}):
        formed = services.household_split(
            actor=Actor(actor),
            household=household,
            members=chosen,
            new_head=new_head,
            split_on=body.split_on,
            reason=body.reason,
            source_document=body.source_document,
        )
    formed, members = selectors.household_get(actor=actor, pk=formed.pk, purpose=PURPOSE, channel=API)
    return Status(201, _household_out(formed, members))
