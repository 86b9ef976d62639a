"""Jurisdiction: what part of the country an officer's police unit answers for.

Every selector that reads personal data filters with these Q objects, so the rule "an officer of one
commune never sees a citizen of another" lives in one place.
"""

from __future__ import annotations

from django.db.models import Q

from dancu.accounts.models import PoliceUnit, User
from dancu.geo.models import AdminUnit
from dancu.lib.errors import FieldError

# Roles that work with citizens' records. The auditor reads the access log, not the records.
RECORD_READER_ROLES = frozenset(
    {
        User.Role.COLLECTOR,
        User.Role.COMMUNE_REVIEWER,
        User.Role.SUPERVISOR,
        User.Role.MINISTRY_ADMIN,
    }
)

_NOTHING = Q(pk__in=[])


def _area_q(unit: PoliceUnit, *, commune: str, province: str, legacy_commune: str) -> Q:
    if unit.level == PoliceUnit.Level.MINISTRY:
        return Q()
    area = unit.admin_unit
    if area is None:
        return _NOTHING
    if area.structure == "2025":
        if area.level == "province":
            return Q(**{province: area.pk})
        if area.level == "commune":
            return Q(**{commune: area.pk})
        return _NOTHING
    # Legacy units (district police before the 2025 reform, or a legacy commune or province): the
    # records whose address was declared in that legacy unit.
    if area.level == "commune":
        return Q(**{legacy_commune: area.pk})
    if area.level == "district":
        return Q(**{f"{legacy_commune}__parent_id": area.pk})
    return Q(**{f"{legacy_commune}__province_code": area.code, f"{legacy_commune}__structure": "legacy"})


def citizen_scope(user: User) -> Q:
    """The citizens `user` may see, as a filter on Citizen."""
    if not officer_can_read_records(user) or user.police_unit is None:
        return _NOTHING
    return _area_q(
        user.police_unit,
        commune="area_commune_id",
        province="area_province_id",
        legacy_commune="area_legacy_commune",
    )


def household_scope(user: User) -> Q:
    """The households `user` may see, as a filter on Household (by the household's own address)."""
    if not officer_can_read_records(user) or user.police_unit is None:
        return _NOTHING
    return _area_q(
        user.police_unit,
        commune="commune_id",
        province="commune__parent_id",
        legacy_commune="legacy_commune",
    )


def stay_scope(user: User) -> Q:
    """The current temporary residences (tạm trú) `user` answers for, as a filter on Residence: those
    whose commune lies in the area of the user's police unit, whatever the citizen's permanent residence.

    The police of the place a person stays at register the stay, renew it and end it (Luật Cư trú 2020,
    art. 27-29), so they see the stay and who stays, though the record itself belongs to the area of the
    permanent residence (`citizen_scope`). A stay past its end date counts until it is ended: it is still
    on the commune's books, and ending it is that commune's work."""
    if not officer_can_read_records(user) or user.police_unit is None:
        return _NOTHING
    return Q(kind="temporary", ended_on__isnull=True) & _area_q(
        user.police_unit,
        commune="commune_id",
        province="commune__parent_id",
        legacy_commune="legacy_commune",
    )


def auditor_can_read_log(user: User) -> bool:
    return user.is_active and user.role == User.Role.AUDITOR and user.police_unit is not None


def access_log_scope(user: User) -> Q:
    """The access-log rows an auditor may read, as a filter on AccessLog: the reads of citizens of the
    auditor's unit's area. A row names the citizen read, so it is personal data of that citizen, and
    the rule of jurisdiction is the records' own: the row's area is its citizen's area now (kept equal
    when the citizen moves), read from the row itself so that no page joins every row to its citizen."""
    if not auditor_can_read_log(user):
        return _NOTHING
    assert user.police_unit is not None
    return _area_q(
        user.police_unit,
        commune="area_commune_id",
        province="area_province_id",
        legacy_commune="area_legacy_commune",
    )


def officer_can_read_records(user: User) -> bool:
    return user.is_active and user.role in RECORD_READER_ROLES and user.police_unit is not None


def unit_in_area(user: User, unit: AdminUnit) -> bool:
    """Whether a (2025 or legacy) commune lies in the area of the user's police unit."""
    if not officer_can_read_records(user):
        return False
    police_unit = user.police_unit
    assert police_unit is not None
    if police_unit.level == PoliceUnit.Level.MINISTRY:
        return True
    area = police_unit.admin_unit
    if area is None:
        return False
    return unit.path == area.path or unit.path.startswith(area.path + "/")


def account_sign_in_refusal(user: User) -> FieldError | None:
    """Why an account whose password was right may not sign in, or None.

    Asked only once the password is known to be right (`backends.DeactivatedAccountBackend`): a wrong one
    is refused as "wrong user name or password", whatever the account's state, so that the answer tells
    the account's state to its holder only. A deactivated account is restored by an administrator (the
    officer's unit's; for a citizen, the commune police), never by trying again.
    """
    if user.is_active:
        return None
    if user.role == User.Role.CITIZEN:
        return FieldError(
            "account",
            "account.deactivated",
            "Tài khoản đã bị vô hiệu hoá. Liên hệ công an xã, phường nơi cư trú.",
            "This account has been deactivated. Contact the commune police where you live.",
        )
    return FieldError(
        "account",
        "account.deactivated",
        "Tài khoản đã bị vô hiệu hoá. Liên hệ quản trị viên của đơn vị bạn để được kích hoạt lại.",
        "This account has been deactivated. Ask your unit's administrator to reactivate it.",
    )
