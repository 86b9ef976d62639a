"""Jurisdiction: what part of the country an officer's police unit answers for.

Every selector that reads personal data filters with these Q objects, so the rule "an officer of one
commune never sees a citizen of another" lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Concat

from dancu.accounts.models import PoliceUnit, User
from dancu.audit.models import AccessLog, AuditEvent, EventType
from dancu.geo.models import AdminUnit
from dancu.geo.selectors import within
from dancu.lib.errors import FieldError, NotFoundError

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


def access_log_reader_scope(user: User) -> Q:
    """The accounts an auditor may be shown as readers, as a filter on User: every account to the
    ministry's auditor; to another, the accounts of the police units of their unit's area and those with
    a row of the log they read (`access_log_scope`: a ministry officer or a legacy district's police who
    read a citizen of the area). A province's auditor who typed part of a name was shown the officers of
    every province that held it."""
    if not auditor_can_read_log(user):
        return _NOTHING
    unit = user.police_unit
    assert unit is not None
    if unit.level == PoliceUnit.Level.MINISTRY:
        return Q()
    if unit.admin_unit is None:
        return _NOTHING
    in_area = within("police_unit__admin_unit", unit.admin_unit)
    # Probed by the reader's own index of the log (actor, id), within the area's rows.
    read_in_area = Exists(AccessLog.objects.filter(access_log_scope(user), actor=OuterRef("pk")))
    return in_area | Q(read_in_area)


def officer_can_read_records(user: User) -> bool:
    return user.is_active and user.role in RECORD_READER_ROLES and user.police_unit is not None


def _covers(police_unit: PoliceUnit | None, unit: AdminUnit | None) -> bool:
    """Whether an administrative unit lies in the area of a police unit (the ministry's: the country)."""
    if police_unit is None:
        return False
    if police_unit.level == PoliceUnit.Level.MINISTRY:
        return True
    area = police_unit.admin_unit
    if area is None or unit is None:
        return False
    return unit.path == area.path or unit.path.startswith(area.path + "/")


def unit_in_area(user: User, unit: AdminUnit) -> bool:
    """Whether a (2025 or legacy) commune lies in the area of the user's police unit."""
    return officer_can_read_records(user) and _covers(user.police_unit, unit)


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


def last_administrator_refusal(
    user: User, *, active: bool, role: str, is_superuser: bool
) -> FieldError | None:
    """Why the account may not take this state (active or not, its role, superuser or not), or None: it
    would leave the platform without an active ministry administrator, who restores officers' accounts
    from the pages, or without an active superuser, who is made again only on the server
    (`dancu createsuperuser`). Both checks look at the other accounts, so an account that is not the last
    of its kind changes freely."""
    others = User.objects.filter(is_active=True).exclude(pk=user.pk)
    loses_admin = (
        user.is_active
        and user.role == User.Role.MINISTRY_ADMIN
        and not (active and role == User.Role.MINISTRY_ADMIN)
    )
    if loses_admin and not others.filter(role=User.Role.MINISTRY_ADMIN).exists():
        return FieldError(
            "account",
            "account.last_administrator",
            "Đây là tài khoản quản trị cấp Bộ cuối cùng còn hoạt động: hãy tạo hoặc kích hoạt một "
            "tài khoản quản trị khác trước",
            "This is the last active ministry administrator: create or reactivate another first",
        )
    loses_superuser = user.is_active and user.is_superuser and not (active and is_superuser)
    if loses_superuser and not others.filter(is_superuser=True).exists():
        return FieldError(
            "account",
            "account.last_superuser",
            "Đây là tài khoản quản trị hệ thống cuối cùng còn hoạt động: hãy tạo một tài khoản khác "
            "trước (dancu createsuperuser)",
            "This is the last active superuser: create another first (dancu createsuperuser)",
        )
    return None


# Officers' accounts in the pages (/officers/): the ministry's administrators manage those of their unit's
# area. Superusers and staff accounts are managed in the Django admin only, by those who hold them.
OFFICERS_PAGE_SIZE = 50


def officers_manager(user: User) -> bool:
    return user.is_active and user.role == User.Role.MINISTRY_ADMIN and user.police_unit is not None


def police_unit_find(text: str) -> PoliceUnit | None:
    """The police unit an administrator types on the officers' pages: by its code (`CA-commune-00004`,
    `C06`, any case) or, since the code is found nowhere in the pages, by its name when no other unit has
    it, with or without "Công an" ("Phường Ba Đình"); None for a name several units share."""
    text = " ".join(text.split())
    if not text:
        return None
    units = PoliceUnit.objects.select_related("admin_unit")
    if (unit := units.filter(code__iexact=text).first()) is not None:
        return unit
    named = police_units_named(text, limit=2)
    return named[0] if len(named) == 1 else None


def police_units_named(text: str, *, limit: int) -> list[PoliceUnit]:
    """The police units of this name, with or without "Công an", by code, `limit` at most: the units an
    administrator may have meant by a name several share (253 names of the 2025 communes are shared,
    "Xã Tân Phú" by five provinces), for the refusal to list them with their codes."""
    text = " ".join(text.split())
    if not text:
        return []
    units = PoliceUnit.objects.select_related("parent").filter(
        Q(name__iexact=text) | Q(name__iexact=f"Công an {text}")
    )
    return list(units.order_by("code")[:limit])


def police_unit_in_reach(user: User, unit: PoliceUnit) -> bool:
    """Whether an administrator may give an account this police unit: one in the area of their own (the
    ministry's own unit, which has no area, only to an administrator of the ministry)."""
    return officers_manager(user) and _covers(user.police_unit, unit.admin_unit)


def officer_scope(user: User) -> Q:
    """The accounts an administrator manages, as a filter on User: officers (never a citizen's e-ID
    account, nor a superuser's or staff account) of police units in the area of the administrator's."""
    if not officers_manager(user):
        return _NOTHING
    own = user.police_unit
    assert own is not None
    officers = Q(police_unit__isnull=False, is_superuser=False, is_staff=False) & ~Q(role=User.Role.CITIZEN)
    if own.level == PoliceUnit.Level.MINISTRY:
        return officers
    if own.admin_unit is None:
        return _NOTHING
    return officers & within("police_unit__admin_unit", own.admin_unit)


@dataclass
class OfficerPage:
    results: list[User]
    page: int
    has_next: bool


def officer_list(
    *, actor: User, text: str = "", role: str = "", active: bool | None = None, page: int = 1
) -> OfficerPage:
    """The officers the administrator manages, by user name, by unit, newest account first: `text` finds
    a user name, a name or a unit's code or name (any part, case and tone marks as typed)."""
    found = User.objects.filter(officer_scope(actor)).select_related("police_unit")
    if text := " ".join(text.split()):
        # The name is kept in two columns (officer_create puts the given name alone in last_name) but
        # shown and typed as one: "Thị Lan" finds Nguyễn Thị Lan across the two.
        found = found.annotate(full_name=Concat("first_name", Value(" "), "last_name")).filter(
            Q(username__icontains=text)
            | Q(full_name__icontains=text)
            | Q(police_unit__code__icontains=text)
            | Q(police_unit__name__icontains=text)
        )
    if role:
        found = found.filter(role=role)
    if active is not None:
        found = found.filter(is_active=active)
    page = max(page, 1)
    start = (page - 1) * OFFICERS_PAGE_SIZE
    rows = list(found.order_by("-date_joined", "-pk")[start : start + OFFICERS_PAGE_SIZE + 1])
    return OfficerPage(results=rows[:OFFICERS_PAGE_SIZE], page=page, has_next=len(rows) > OFFICERS_PAGE_SIZE)


def officer_get(*, actor: User, pk: int) -> User:
    """One account the administrator manages; the same NotFoundError for one outside their reach."""
    officer = User.objects.filter(officer_scope(actor), pk=pk).select_related("police_unit").first()
    if officer is None:
        raise NotFoundError("officer")
    return officer


# The trail of an account as its page shows it: the officers' pages' and sign-in services' events
# ("user"), and the admin's changes to it ("admin:accounts.user").
OFFICER_HISTORY_LIMIT = 50


def officer_history(*, actor: User, officer: User) -> list[AuditEvent]:
    """What was done to an account the administrator manages, newest first: created, moved, deactivated,
    a new password or authenticator, changed in the admin. Sign-ins are left out (the trail has them)."""
    if not User.objects.filter(officer_scope(actor), pk=officer.pk).exists():
        raise NotFoundError("officer")
    signed_in = (EventType.OFFICER_SIGNED_IN, EventType.OFFICER_SIGN_IN_FAILED)
    events = (
        AuditEvent.objects.filter(
            Q(subject_type="user") | Q(subject_type=f"admin:{User._meta.label_lower}"),
            subject_id=str(officer.pk),
        )
        .exclude(event_type__in=signed_in)
        .order_by("-occurred_at", "-pk")
    )
    return list(events[:OFFICER_HISTORY_LIMIT])
