"""Writes about officers and units: accounts, second factors, API tokens, police units."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone, translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.areas import outside_area_error, user_area
from dancu.accounts.models import ApiToken, PoliceUnit, User
from dancu.accounts.selectors import (
    last_administrator_refusal,
    officer_scope,
    officers_manager,
    police_unit_in_reach,
    police_units_named,
)
from dancu.audit.models import EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError, FieldError, NotFoundError, in_each_language
from dancu.lib.vntext import nfc, text_errors

# The fields' names as the pages show them, for the refusals of lib.vntext.text_errors: "Trường «full_name»"
# named the form's code, not the field the administrator sees.
_FULL_NAME = ("Họ và tên", "Full name")
_REASON = ("Lý do", "Reason")


def police_unit_for_area(*, area: AdminUnit | None, parent: PoliceUnit | None = None) -> PoliceUnit:
    """The police unit answering for an administrative unit (or the ministry), created once."""
    if area is None:
        unit, _ = PoliceUnit.objects.get_or_create(
            code="C06", defaults={"name": "Bộ Công an (C06)", "level": PoliceUnit.Level.MINISTRY}
        )
        return unit
    unit, _ = PoliceUnit.objects.get_or_create(
        code=_police_code(area),
        defaults={
            "name": f"Công an {area.name}",
            "level": police_level_for_area(area),
            "admin_unit": area,
            "parent": parent,
        },
    )
    return unit


def police_level_for_area(area: AdminUnit | None) -> str:
    """The level of the police answering for an area: a province's, a (legacy) district's or a commune's
    police; the ministry's, which has no area, for the whole country."""
    if area is None:
        return PoliceUnit.Level.MINISTRY
    levels: dict[str, str] = {
        AdminUnit.Level.PROVINCE: PoliceUnit.Level.PROVINCE,
        AdminUnit.Level.DISTRICT: PoliceUnit.Level.DISTRICT,
    }
    return levels.get(area.level, PoliceUnit.Level.COMMUNE)


# Ministry, province, district, commune: a unit's parent is of a level before its own, its children after.
_LEVEL_RANK = {level: rank for rank, level in enumerate(PoliceUnit.Level.values)}


def police_unit_shape_refusals(
    *, unit: PoliceUnit, level: str, area: AdminUnit | None, parent: PoliceUnit | None
) -> list[FieldError]:
    """The refusals of a police unit's level, area and parent that do not fit together, for the admin's
    unit page (the one path where they are typed by hand; `police_unit_for_area` derives them).

    A unit's jurisdiction is its area, and the roles it may hold are those of its level (ROLE_LEVELS): a
    commune's police given a province's area would have let its collectors read the whole province. So
    the level is the area's (`police_level_for_area`); the unit above is of a level above it, and the
    units below, of a level below it (which also keeps the tree free of cycles)."""
    refusals = []
    if level in _LEVEL_RANK and (expected := police_level_for_area(area)) != level:
        names = in_each_language(
            lambda: (
                str(PoliceUnit.Level(level).label),
                str(PoliceUnit.Level(expected).label),
                str(area.name) if area else "",
            )
        )
        if area is None:
            refusals.append(
                FieldError(
                    "admin_unit",
                    "police_unit.area_required",
                    f"Đơn vị cấp {names['vi'][0]} cần có địa bàn: chỉ Bộ Công an không có",
                    f"A unit of the level {names['en'][0]} needs an area: only the ministry has none",
                )
            )
        else:
            refusals.append(
                FieldError(
                    "level",
                    "police_unit.level_area",
                    f"Địa bàn {names['vi'][2]} là địa bàn của cấp {names['vi'][1]}, không phải "
                    f"{names['vi'][0]}: cấp của đơn vị là cấp của địa bàn",
                    f"The area {names['en'][2]} is one of the level {names['en'][1]}, not "
                    f"{names['en'][0]}: a unit's level is its area's",
                )
            )
    if level not in _LEVEL_RANK:
        return refusals
    if parent is not None and (parent.pk == unit.pk or _LEVEL_RANK[parent.level] >= _LEVEL_RANK[level]):
        above = in_each_language(lambda: str(PoliceUnit.Level(parent.level).label))
        refusals.append(
            FieldError(
                "parent",
                "police_unit.parent_level",
                f"Đơn vị cấp trên phải ở cấp cao hơn đơn vị này, không phải {above['vi']}",
                f"The unit above must be of a level above this one, not {above['en']}",
            )
        )
    if unit.pk is not None:
        below = [
            other
            for other in PoliceUnit.objects.filter(parent=unit).order_by("code")
            if _LEVEL_RANK[other.level] <= _LEVEL_RANK[level]
        ]
        if below:
            codes = ", ".join(other.code for other in below[:5]) + (", …" if len(below) > 5 else "")
            refusals.append(
                FieldError(
                    "level",
                    "police_unit.children_level",
                    f"{len(below)} đơn vị cấp dưới không ở cấp thấp hơn cấp mới ({codes}): hãy chuyển chúng "
                    "sang đơn vị khác trước",
                    f"{len(below)} units below would not be of a lower level than the new one ({codes}): "
                    "move them under another unit first",
                    params={"units": len(below)},
                )
            )
    return refusals


def password_refusal(password: str, *, user: User | None = None) -> FieldError | None:
    """The refusal of a password that the validators of AUTH_PASSWORD_VALIDATORS reject, giving their
    reasons in each language, or None for a password they accept. Django words the reasons in the active
    language, so they are asked for once under each: the English message once carried Vietnamese reasons
    when Vietnamese was active, and the other way round."""
    reasons: dict[str, str] = {}
    for language in ("vi", "en"):
        with translation.override(language):
            try:
                validate_password(password, user=user)
            except ValidationError as exc:
                reasons[language] = " ".join(exc.messages)
            else:
                return None
    return FieldError(
        "password",
        "password.weak",
        f"Mật khẩu chưa đủ mạnh: {reasons['vi']}",
        f"The password is too weak: {reasons['en']}",
    )


def username_refusal(username: str) -> FieldError | None:
    """The refusal of a user name that the account's field would not take (its validators:
    letters without tone marks, digits and @ . + - _, at most 150 characters), or None."""
    if username:
        # The field's validators: the name's characters and its length (they pass an empty name).
        with contextlib.suppress(ValidationError):
            User._meta.get_field("username").run_validators(username)
            return None
    return FieldError(
        "username",
        "username.format",
        "Tên đăng nhập 1–150 ký tự, chỉ gồm chữ cái không dấu a-z, chữ số và các ký tự @ . + - _ "
        "(không có dấu cách, không có chữ có dấu)",
        "A user name has 1–150 characters: unaccented letters a-z, digits and @ . + - _ only "
        "(no spaces, no accented letters)",
    )


def username_taken_refusal(username: str) -> FieldError | None:
    """The refusal of a user name that an account has already, case aside, or None.

    "CanBo.HoanKiem" beside "canbo.hoankiem" is the same name to the people who type and read it; the
    database holds the rule too (the constraint `user_username_unique_case_insensitive`); this gives its
    message first, to the services and to `dancu createsuperuser`."""
    return USERNAME_TAKEN if User.objects.filter(username__iexact=username).exists() else None


# The refusal of `username_taken_refusal`, given as it is by `dancu createsuperuser` when the database's
# constraint refuses the name of an account made between the command's check and its write.
USERNAME_TAKEN = FieldError(
    "username", "username.taken", "Tên đăng nhập đã tồn tại", "Username already taken"
)


def _new_account_errors(username: str, password: str) -> list[FieldError]:
    errors = []
    if (refusal := username_refusal(username) or username_taken_refusal(username)) is not None:
        errors.append(refusal)
    if (weak := password_refusal(password)) is not None:
        errors.append(weak)
    return errors


def officer_create(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: User.Role | str,
    police_unit: PoliceUnit,
    full_name: str = "",
    otp_secret_hex: str | None = None,
    otp_device_name: str = "default",
) -> tuple[User, TOTPDevice]:
    """Create an officer account with its TOTP device (confirmed when a secret is provisioned)."""
    first, _, last = full_name.rpartition(" ")
    with transaction.atomic():
        # The unit's level is read from its locked row (police_unit_lock): a new level given to the unit at
        # the same moment is either seen here or waits for this account, which it then counts.
        # The caller's unit object stays the account's (with what it has loaded, its area): only the check
        # reads the locked row.
        errors = []
        if role not in User.Role.values:
            errors.append(FieldError("role", "role.invalid", "Vai trò không hợp lệ", "Invalid role"))
        elif (misplaced := role_unit_level_refusal(role, police_unit_lock(police_unit))) is not None:
            errors.append(misplaced)
        errors += _new_account_errors(username, password)
        if errors:
            raise DomainError(errors)
        user = User.objects.create_user(
            username=username,
            password=password,
            role=role,
            police_unit=police_unit,
            first_name=first[:150],
            last_name=last[:150],
        )
        device_kwargs = {"user": user, "name": otp_device_name, "confirmed": otp_secret_hex is not None}
        if otp_secret_hex is not None:
            device_kwargs["key"] = otp_secret_hex
        device = TOTPDevice.objects.create(**device_kwargs)
        audit_event_record(
            actor=actor,
            event_type=EventType.OFFICER_CREATED,
            subject_type="user",
            subject_id=user.pk,
            data={"username": username, "role": role, "police_unit": police_unit.code},
        )
    return user, device


# How long a set-up page's secret waits for its first code before another session's visit removes it.
SETUP_DEVICE_LIFETIME = timedelta(hours=1)


def otp_setup_device(*, user: User, device_id: int | None) -> TOTPDevice:
    """The unconfirmed authenticator a browser sets up: the one it was given (`device_id`, kept by its
    session) while it waits for its first code, else a new one, whose secret reaches no other session.

    Two sessions past the password at once (the holder, and someone who learnt the password) each get a
    secret of their own, where sharing one device showed the holder's secret to the other and let them
    sign in with it once the holder had confirmed it. The first to confirm keeps the account's only
    authenticator, and the other sessions' devices are removed then (`otp_device_confirm`). Nothing is
    audited until then: an unconfirmed device opens nothing.
    """
    waiting = TOTPDevice.objects.filter(user=user, confirmed=False)
    if device_id is not None and (device := waiting.filter(pk=device_id).first()) is not None:
        return device
    # Set-up pages abandoned long ago go first: each password step to the page makes a device, and the
    # account's table would otherwise grow with every one repeated (by anyone holding the password).
    stale = timezone.now() - SETUP_DEVICE_LIFETIME
    waiting.filter(created_at__lt=stale).delete()
    return TOTPDevice.objects.create(user=user, name="default", confirmed=False)


def otp_device_confirm(*, user: User, device: TOTPDevice) -> None:
    """Confirm the account's authenticator, its first and only one: a second could be set up by anyone
    who has the password without the code, and would open the account to them from then on."""
    with transaction.atomic():
        # Two confirmations racing for one account are taken one after the other.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).exists():
            raise DomainError(
                FieldError(
                    "token",
                    "otp.already_set_up",
                    "Tài khoản đã có ứng dụng xác thực; nhập mã của ứng dụng đó",
                    "The account already has an authenticator; enter its code",
                )
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # The secrets other sessions were shown at the same step (`views._setup_device`) open nothing now.
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        audit_event_record(
            actor=Actor(user),
            event_type=EventType.OTP_DEVICE_CONFIRMED,
            subject_type="user",
            subject_id=user.pk,
        )


def otp_second_device_refusal(*, user: User, device: TOTPDevice | None = None) -> FieldError | None:
    """The refusal of a confirmed authenticator (`device`, or a new one) for an account that has another
    confirmed one, or None. An account has one second factor: a second, made in the admin, opened the
    account to whoever held it beside the holder's, and `otp_devices_reset` is the way to a new one. The
    account's row is locked until the caller's transaction ends, as `otp_device_confirm` locks it, so that
    two such writes for one account are taken one after the other."""
    User.objects.select_for_update().filter(pk=user.pk).first()
    others = TOTPDevice.objects.filter(user=user, confirmed=True)
    if device is not None and device.pk is not None:
        others = others.exclude(pk=device.pk)
    if not others.exists():
        return None
    return FieldError(
        "user",
        "otp.already_set_up",
        "Tài khoản đã có ứng dụng xác thực đã xác nhận; mỗi tài khoản chỉ có một. Để thay nó, dùng thao "
        "tác «Đặt lại ứng dụng xác thực» (như dancu otp_reset)",
        "The account already has a confirmed authenticator, and an account has only one. To replace it, "
        "use the action «Reset the account's authenticator» (as dancu otp_reset)",
    )


def otp_admin_confirmed_refusal() -> FieldError:
    """The refusal of a device added in the admin already confirmed. An authenticator is confirmed by its
    holder's first code at sign-in (`otp_device_confirm`), from a secret only the holder's browser was
    shown; one added confirmed opened the account to the administrator who typed or read its secret on
    the add page. A device added unconfirmed opens nothing: the holder's set-up makes a device of its own."""
    return FieldError(
        "confirmed",
        "otp.confirmed_by_holder",
        "Ứng dụng xác thực chỉ được xác nhận bằng mã đầu tiên của người giữ tài khoản khi đăng nhập, để "
        "quản trị viên không bao giờ biết khoá bí mật của nó: bỏ chọn ô này, người giữ tài khoản tự cài "
        "ứng dụng ở lần đăng nhập tới",
        "An authenticator is confirmed only by its holder's first code at sign-in, so that an administrator "
        "never knows its secret: untick this box, and the holder sets up the app at their next sign-in",
    )


OTP_RESET_REASON_MAX_LENGTH = 200


def otp_devices_reset(*, actor: Actor, user: User, reason: str) -> tuple[int, int]:
    """Remove the account's authenticators (a lost or replaced phone), so that its next sign-in sets up
    a new one from the QR code, and revoke its API tokens; returns how many of each.

    The sign-in pages never let a password alone replace a confirmed authenticator, so this is the only
    way to a new one: an operator's act at the holder's request, with its reason in the trail. A reset
    follows a phone lost or stolen, and whoever holds it may hold the tokens too (a token is shown once
    and is kept wherever the officer copied it, a phone's notes or mail among them): every token issued
    before the reset stops working with it, and the officer creates new ones once signed in again.
    """
    reason = reason.strip()
    if not reason:
        raise DomainError(FieldError("reason", "reason.required", "Cần ghi lý do", "A reason is required"))
    if errors := text_errors(
        reason, field="reason", max_length=OTP_RESET_REASON_MAX_LENGTH, prose=True, label=_REASON
    ):
        raise DomainError(errors)
    with transaction.atomic():
        removed, _by_model = TOTPDevice.objects.filter(user=user).delete()
        tokens = list(
            ApiToken.objects.select_for_update()
            .filter(user=user, revoked_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        ApiToken.objects.filter(pk__in=tokens).update(revoked_at=timezone.now())
        audit_event_record(
            actor=actor,
            event_type=EventType.OTP_DEVICES_RESET,
            subject_type="user",
            subject_id=user.pk,
            data={"devices": removed, "api_tokens_revoked": tokens},
            reason=reason,
        )
    return removed, len(tokens)


# A citizen's e-ID account signs in through the same steps as an officer; its trail says "citizen".
_CITIZEN_SIGN_IN_EVENTS = {
    EventType.OFFICER_SIGNED_IN: EventType.EID_SIGNED_IN,
    EventType.OFFICER_SIGN_IN_FAILED: EventType.EID_SIGN_IN_FAILED,
    EventType.OFFICER_LOCKED_OUT: EventType.EID_LOCKED_OUT,
}


def _sign_in_event(user: User, event_type: EventType, channel: str, refusal: str | None = None) -> None:
    if user.role == User.Role.CITIZEN:
        event_type = _CITIZEN_SIGN_IN_EVENTS[event_type]
    data = {"channel": channel}
    if refusal is not None:
        data["refusal"] = refusal
    with transaction.atomic():
        audit_event_record(
            actor=Actor(user),
            event_type=event_type,
            subject_type="user",
            subject_id=user.pk,
            data=data,
        )


def sign_in_record(*, user: User, succeeded: bool, channel: str, refusal: str | None = None) -> None:
    """A sign-in of `user`, or one refused after the password was right (`refusal` names the rule, such
    as `account.deactivated`, when there is one)."""
    _sign_in_event(
        user,
        EventType.OFFICER_SIGNED_IN if succeeded else EventType.OFFICER_SIGN_IN_FAILED,
        channel,
        refusal,
    )


def sign_in_failed_record(*, username: str, channel: str, locked_out: bool) -> None:
    """A refused sign-in for an existing account (unknown names leave no trace: there is no subject)."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        _sign_in_event(
            user, EventType.OFFICER_LOCKED_OUT if locked_out else EventType.OFFICER_SIGN_IN_FAILED, channel
        )


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token; the secret is returned once and only its digest is kept."""
    if not user.is_officer:
        raise DomainError(
            FieldError(
                "user",
                "token.officers_only",
                "Chỉ cán bộ được cấp mã truy cập API",
                "API tokens are for officers",
            )
        )
    if not name.strip() or len(name) > 100:
        raise DomainError(
            FieldError("name", "token.name", "Tên mã truy cập 1–100 ký tự", "Token name: 1–100 characters")
        )
    secret = ApiToken.new_secret()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name.strip(), prefix=secret[4:12], digest=ApiToken.digest_of(secret)
        )
        audit_event_record(
            actor=Actor(user),
            event_type=EventType.API_TOKEN_CREATED,
            subject_type="api_token",
            subject_id=token.pk,
            data={"name": token.name, "prefix": token.prefix},
        )
    return token, secret


def api_token_revoke(*, user: User, token: ApiToken) -> ApiToken:
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_event_record(
            actor=Actor(user),
            event_type=EventType.API_TOKEN_REVOKED,
            subject_type="api_token",
            subject_id=token.pk,
        )
    return token


def api_token_authenticate(secret: str) -> User | None:
    """The active officer a bearer token belongs to, or None."""
    if not secret.startswith("dcu_") or len(secret) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__police_unit", "user__police_unit__admin_unit")
        .filter(digest=ApiToken.digest_of(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def police_units_sync() -> int:
    """One police unit per administrative unit that has one: the ministry, every 2025 province and
    commune, and the legacy district police that answer for records still declared in the old units.
    Idempotent; returns how many units were created."""
    with transaction.atomic():
        ministry = police_unit_for_area(area=None)
        existing = set(PoliceUnit.objects.values_list("code", flat=True))
        areas = AdminUnit.objects.filter(
            models.Q(structure="2025") | models.Q(structure="legacy", level="district")
        ).select_related("parent")
        provinces: dict[tuple[str, str], PoliceUnit] = {}
        created = 0
        # Provinces first, so that communes and districts can point at their province police.
        for area in sorted(areas, key=lambda a: a.level != "province"):
            code = _police_code(area)
            if area.level == "province":
                if code not in existing:
                    created += 1
                provinces[(area.structure, area.code)] = police_unit_for_area(area=area, parent=ministry)
                continue
            if code in existing:
                continue
            parent = provinces.get(("2025", area.province_code)) if area.structure == "2025" else None
            PoliceUnit.objects.create(
                code=code,
                name=f"Công an {area.name}",
                level=PoliceUnit.Level.COMMUNE if area.level == "commune" else PoliceUnit.Level.DISTRICT,
                admin_unit=area,
                parent=parent or ministry,
            )
            created += 1
        if created:
            audit_event_record(
                actor=Actor(system="setup"),
                event_type=EventType.POLICE_UNITS_SYNCED,
                subject_type="police_units",
                subject_id="all",
                data={"created": created},
            )
    return created


def _police_code(area: AdminUnit) -> str:
    prefix = "CA" if area.structure == "2025" else "CA-cu"
    return f"{prefix}-{area.level}-{area.code}"


# --- Officers' accounts managed from the pages (/officers/) by the ministry's administrators ---------------

# The police units each role works in: a collector and a commune reviewer in a commune's police, a
# supervisor (phúc tra) in a district's or a province's, a ministry administrator in the ministry; an
# auditor audits the area of whichever unit they belong to.
ROLE_LEVELS: dict[str, frozenset[str]] = {
    User.Role.COLLECTOR: frozenset({PoliceUnit.Level.COMMUNE}),
    User.Role.COMMUNE_REVIEWER: frozenset({PoliceUnit.Level.COMMUNE}),
    User.Role.SUPERVISOR: frozenset({PoliceUnit.Level.DISTRICT, PoliceUnit.Level.PROVINCE}),
    User.Role.MINISTRY_ADMIN: frozenset({PoliceUnit.Level.MINISTRY}),
    User.Role.AUDITOR: frozenset(PoliceUnit.Level.values),
}
OFFICER_REASON_MAX_LENGTH = 200


def _manager(actor: Actor) -> User:
    """The administrator behind a page's write; anyone else is refused as the page refuses them."""
    user = actor.user
    if user is None or not officers_manager(user):
        raise DomainError(
            FieldError(
                "account",
                "role.not_allowed",
                "Chỉ quản trị cấp Bộ được quản lý tài khoản cán bộ",
                "Only ministry administrators manage officers' accounts",
            )
        )
    return user


# The units listed when a name several units share is typed; past it, the administrator is told how many more.
NAMESAKES_LISTED = 8


def _role_unit_errors(manager: User, role: str, unit: PoliceUnit | None, typed: str = "") -> list[FieldError]:
    if role not in ROLE_LEVELS:
        return [FieldError("role", "role.invalid", "Vai trò không hợp lệ", "Invalid role")]
    if unit is None and (namesakes := _namesakes(manager, typed)):
        return [namesakes]
    if unit is None:
        return [
            FieldError(
                "police_unit",
                "unit.unknown",
                "Không tìm thấy đơn vị công an có mã hoặc tên này (nhiều đơn vị trùng tên: hãy nhập mã)",
                "No police unit has this code or name (several units share a name: type the code)",
            )
        ]
    if not police_unit_in_reach(manager, unit):
        # The unit by name and code, and the administrator's own area: the name typed may be shared by
        # units of several provinces (the list of namesakes shows only those in reach).
        return [outside_area_error("police_unit", unit=unit, area=user_area(manager))]
    if (refusal := role_unit_level_refusal(role, unit)) is not None:
        return [refusal]
    return []


def _namesakes(manager: User, typed: str) -> FieldError | None:
    """The refusal of a name several police units share, listing those in the administrator's reach with
    their codes and the unit above them: the codes are shown nowhere else in the pages, and "type the
    code" alone left the administrator of "Xã Tân Phú" (five provinces) with no way to find it."""
    named = [unit for unit in police_units_named(typed, limit=200) if police_unit_in_reach(manager, unit)]
    if len(named) < 2:
        return None
    shown = "; ".join(
        f"{unit.name}{f' – {unit.parent.name}' if unit.parent else ''} ({unit.code})"
        for unit in named[:NAMESAKES_LISTED]
    )
    more = len(named) - NAMESAKES_LISTED
    return FieldError(
        "police_unit",
        # The code of a unit not found, as before: no single unit has the name.
        "unit.unknown",
        f"{len(named)} đơn vị công an mang tên này, hãy nhập mã của đơn vị cần chọn: {shown}"
        + (f"; và {more} đơn vị khác" if more > 0 else ""),
        f"{len(named)} police units have this name; type the code of the one you mean: {shown}"
        + (f"; and {more} more" if more > 0 else ""),
    )


def role_unit_level_refusal(role: str, unit: PoliceUnit) -> FieldError | None:
    """The refusal of an officer's role in a police unit of a level the role does not work at
    (ROLE_LEVELS), or None. Every path that makes an officer or changes their role or unit asks it: the
    officers' pages, `officer_create` (the demo, the tests' personas) and the Django admin's account page."""
    if role not in ROLE_LEVELS or unit.level in ROLE_LEVELS[role]:
        return None
    # The levels' names in each language: the labels are gettext_lazy, read under each language.
    names = in_each_language(
        lambda: ", ".join(
            str(PoliceUnit.Level(level).label)
            for level in PoliceUnit.Level.values
            if level in ROLE_LEVELS[role]
        )
    )
    return FieldError(
        "police_unit",
        "role.unit_level",
        f"Vai trò này làm việc tại: {names['vi']}",
        f"This role works in: {names['en']}",
    )


def police_unit_lock(unit: PoliceUnit) -> PoliceUnit:
    """The police unit's row, locked until the current transaction ends, as it is stored now.

    A unit's level and the roles of its officers must agree (ROLE_LEVELS), and two writes check it from
    either end: a new level for the unit (`police_unit_level_refusal`, the admin's unit page) and an
    officer placed in it (`officer_create`, `officer_change`, the admin's account page). Each takes this
    lock before its check, so that one waits for the other and then sees what it wrote: checked unlocked,
    a unit made a province's police and a collector placed in it at the same instant both passed. The lock
    order: the unit first, then the officer's row."""
    if not transaction.get_connection().in_atomic_block:
        # A lock outside a transaction ends with the statement that took it: a caller's mistake.
        raise RuntimeError("a police unit is locked inside the transaction of the write")
    return PoliceUnit.objects.select_for_update().get(pk=unit.pk)


def police_unit_level_refusal(*, unit: PoliceUnit, level: str) -> FieldError | None:
    """The refusal of a new level for a police unit that has officers whose role does not work at it
    (ROLE_LEVELS), or None: a commune's police made a province's in the admin kept its collectors, each a
    collector in a province's police as `role_unit_level_refusal` refuses everywhere else. The level kept
    as it is, or a unit not yet saved, is never refused: only a new level must suit the unit's officers
    (deactivated ones too, who may be reactivated), who are moved or given another role first.

    Called inside the transaction that saves the level (the admin's page is one): the unit's row is locked
    until it ends (police_unit_lock), so that an officer placed in the unit meanwhile is counted here, or
    waits and is refused the new level."""
    if unit.pk is None:
        return None
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a police unit is locked inside the transaction of the write")
    stored = PoliceUnit.objects.select_for_update().filter(pk=unit.pk).values_list("level", flat=True).first()
    if stored is None or stored == level:
        return None
    elsewhere = [role for role, levels in ROLE_LEVELS.items() if level not in levels]
    counts = dict(
        User.objects.filter(police_unit=unit, role__in=elsewhere)
        .order_by()
        .values("role")
        .annotate(count=models.Count("pk"))
        .values_list("role", "count")
    )
    if not counts:
        return None
    # The roles' and the level's names in each language: the labels are gettext_lazy, read under each.
    names = in_each_language(
        lambda: (
            str(PoliceUnit.Level(level).label),
            ", ".join(f"{counts[role]} {User.Role(role).label}" for role in sorted(counts)),
        )
    )
    return FieldError(
        "level",
        "role.unit_level",
        f"Đơn vị có cán bộ mà vai trò không làm việc tại cấp {names['vi'][0]}: {names['vi'][1]}. Hãy chuyển "
        "họ sang đơn vị khác hoặc đổi vai trò của họ trước",
        f"The unit has officers whose role does not work at the level {names['en'][0]}: {names['en'][1]}. "
        "Move them to another unit or give them another role first",
        params={"officers": sum(counts.values())},
    )


def _officer_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise DomainError(FieldError("reason", "reason.required", "Cần ghi lý do", "A reason is required"))
    if errors := text_errors(
        reason, field="reason", max_length=OFFICER_REASON_MAX_LENGTH, prose=True, label=_REASON
    ):
        raise DomainError(errors)
    return reason


def officer_add_refusals(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    police_unit: PoliceUnit | None,
    full_name: str,
    police_unit_typed: str = "",
) -> list[FieldError]:
    """Every rule that officer_add would refuse these values by, all at once, writing nothing: the page
    shows them beside their fields together, those of a half-filled form too. `police_unit_typed` is what
    the administrator typed for the unit, named in the refusal when it finds no single unit."""
    manager = _manager(actor)
    return [
        *_new_account_errors(username, password),
        *_role_unit_errors(manager, role, police_unit, police_unit_typed),
        *text_errors(full_name, field="full_name", max_length=300, label=_FULL_NAME),
    ]


def officer_add(
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    police_unit: PoliceUnit | None,
    full_name: str,
    police_unit_typed: str = "",
) -> User:
    """An administrator's new officer account, in a police unit of their area and of the level its role
    works at; the officer sets up an authenticator at the first sign-in (the QR code)."""
    values = {"username": username, "password": password, "role": role, "full_name": full_name}
    if errors := officer_add_refusals(
        actor=actor, police_unit=police_unit, police_unit_typed=police_unit_typed, **values
    ):
        raise DomainError(errors)
    assert police_unit is not None
    user, _device = officer_create(
        actor=actor,
        username=username,
        password=password,
        role=role,
        police_unit=police_unit,
        full_name=full_name.strip(),
    )
    return user


def _locked_officer(manager: User, officer: User) -> User:
    """The officer's row, locked for the change, when the administrator manages it; NotFoundError, as the
    pages answer for an account that does not exist, otherwise."""
    locked = (
        User.objects.select_for_update(of=("self",))
        .select_related("police_unit")
        .filter(officer_scope(manager), pk=officer.pk)
        .first()
    )
    if locked is None:
        raise NotFoundError("officer")
    return locked


def officer_change(
    *,
    actor: Actor,
    officer: User,
    role: str,
    police_unit: PoliceUnit | None,
    reason: str,
    police_unit_typed: str = "",
) -> User:
    """Move an officer to another police unit or give them another role; the trail keeps both, before and
    after. What the officer sees follows at their next page: the jurisdiction is their unit's area."""
    manager = _manager(actor)
    reason = _officer_reason(reason)
    with transaction.atomic():
        # The unit before the officer (the lock order of police_unit_lock), its level as it stands now.
        if police_unit is not None and police_unit.pk is not None:
            police_unit = police_unit_lock(police_unit)
        if errors := _role_unit_errors(manager, role, police_unit, police_unit_typed):
            raise DomainError(errors)
        assert police_unit is not None
        locked = _locked_officer(manager, officer)
        refusal = last_administrator_refusal(
            locked, active=locked.is_active, role=role, is_superuser=locked.is_superuser
        )
        if refusal is not None:
            raise DomainError(refusal)
        assert locked.police_unit is not None  # the scope holds officers of a unit only
        before = {"role": locked.role, "police_unit": locked.police_unit.code}
        after = {"role": role, "police_unit": police_unit.code}
        if before == after:
            return locked
        locked.role, locked.police_unit = role, police_unit
        locked.save(update_fields=["role", "police_unit"])
        audit_event_record(
            actor=actor,
            event_type=EventType.OFFICER_CHANGED,
            subject_type="user",
            subject_id=locked.pk,
            data={"username": locked.username, "before": before, "after": after},
            reason=reason,
        )
    return locked


OFFICER_NAME_MAX_LENGTH = 300
OFFICER_NAME_PART_MAX_LENGTH = 150  # User.first_name and User.last_name


def officer_rename(*, actor: Actor, officer: User, full_name: str, reason: str) -> User:
    """Correct an officer's full name (a typing mistake at creation, a legal change of name); the trail
    keeps the name before and after, as the account's history shows them."""
    manager = _manager(actor)
    reason = _officer_reason(reason)
    full_name = nfc(full_name.strip())
    if not full_name:
        raise DomainError(
            FieldError("full_name", "full_name.required", "Cần ghi họ và tên", "The full name is required")
        )
    if errors := text_errors(
        full_name, field="full_name", max_length=OFFICER_NAME_MAX_LENGTH, label=_FULL_NAME
    ):
        raise DomainError(errors)
    # Kept as officer_create keeps it: the given name alone in last_name, the rest in first_name, each
    # column of 150 characters (officer_create cuts a longer part short; a correction is refused instead).
    first, _, last = full_name.rpartition(" ")
    if max(len(first), len(last)) > OFFICER_NAME_PART_MAX_LENGTH:
        raise DomainError(
            FieldError(
                "full_name",
                "full_name.part_too_long",
                f"Họ và tên đệm, và tên, mỗi phần tối đa {OFFICER_NAME_PART_MAX_LENGTH} ký tự",
                f"The family and middle names, and the given name, have at most "
                f"{OFFICER_NAME_PART_MAX_LENGTH} characters each",
            )
        )
    with transaction.atomic():
        locked = _locked_officer(manager, officer)
        before = locked.get_full_name()
        if (locked.first_name, locked.last_name) == (first, last):
            return locked
        locked.first_name, locked.last_name = first, last
        locked.save(update_fields=["first_name", "last_name"])
        audit_event_record(
            actor=actor,
            event_type=EventType.OFFICER_RENAMED,
            subject_type="user",
            subject_id=locked.pk,
            data={
                "username": locked.username,
                "before": {"full_name": before},
                "after": {"full_name": full_name},
            },
            reason=reason,
        )
    return locked


def officer_set_active(*, actor: Actor, officer: User, active: bool, reason: str) -> User:
    """Deactivate an officer's account (who left, who is suspended) or reactivate it. A deactivated account
    signs in no more, its open sessions end at their next page, and its API tokens stop working."""
    manager = _manager(actor)
    reason = _officer_reason(reason)
    with transaction.atomic():
        locked = _locked_officer(manager, officer)
        if locked.is_active == active:
            return locked
        refusal = last_administrator_refusal(
            locked, active=active, role=locked.role, is_superuser=locked.is_superuser
        )
        if refusal is not None:
            raise DomainError(refusal)
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        audit_event_record(
            actor=actor,
            event_type=EventType.OFFICER_REACTIVATED if active else EventType.OFFICER_DEACTIVATED,
            subject_type="user",
            subject_id=locked.pk,
            data={"username": locked.username},
            reason=reason,
        )
    return locked


def officer_password_set(*, actor: Actor, officer: User, password: str, reason: str) -> User:
    """A new password for an officer who forgot theirs, given to them in person; the password is in no
    record, the trail says who set one and why."""
    manager = _manager(actor)
    reason = _officer_reason(reason)
    if (weak := password_refusal(password, user=officer)) is not None:
        raise DomainError(weak)
    with transaction.atomic():
        locked = _locked_officer(manager, officer)
        locked.set_password(password)
        locked.save(update_fields=["password"])
        audit_event_record(
            actor=actor,
            event_type=EventType.OFFICER_PASSWORD_SET,
            subject_type="user",
            subject_id=locked.pk,
            data={"username": locked.username},
            reason=reason,
        )
    return locked


def officer_authenticator_reset(*, actor: Actor, officer: User, reason: str) -> tuple[int, int]:
    """otp_devices_reset from the pages: the officer's lost phone, for an administrator who manages them."""
    manager = _manager(actor)
    with transaction.atomic():
        locked = _locked_officer(manager, officer)
        return otp_devices_reset(actor=actor, user=locked, reason=reason)
