"""Writes about e-ID accounts: level-2 registration in person, activation by the citizen, locking."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from dancu.accounts.models import User
from dancu.accounts.selectors import citizen_scope
from dancu.accounts.services import password_refusal
from dancu.audit.models import EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.eid.models import EidAccount
from dancu.eid.selectors import citizen_refusal, has_valid_card
from dancu.lib.errors import DomainError, FieldError, NotFoundError
from dancu.registry.models import Citizen

# The officers who register e-ID accounts in person: those who meet citizens at the commune police
# station (the same roles that take card applications).
REGISTERING_ROLES = frozenset({User.Role.COLLECTOR, User.Role.COMMUNE_REVIEWER})
# An activation code not used within this time is void; the officer registers the account again, which
# issues a new code for the same pending account (eid_account_register).
ACTIVATION_VALID_FOR = timedelta(days=7)
# No 0/O, 1/I/L: the code is read off a slip and typed on a phone.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 12
# The age from which a citizen has a level-2 account of their own (NĐ 69/2024).
ELIGIBLE_AGE = 14


def activation_code_digest(code: str) -> str:
    """The digest of a code as typed: spaces, dashes and case do not matter."""
    clean = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(clean.encode()).hexdigest()


def _new_activation_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _CODE_LENGTH, 4))


def _aged_14_on(citizen: Citizen, day: date) -> bool:
    """Whether every birth day the record allows is at least 14 years before `day`.

    NĐ 69/2024 gives an account of one's own from 14; a younger child is registered through a parent's
    account. The test is the strict one the campaigns count with (campaigns.population.born_on_or_before):
    a record born "2012" is certainly 14 only on 31 December 2026, and the officer who knows better
    corrects the birth date first, so that the count and the desk never disagree on who is due."""
    if citizen.birth_date is None:
        # The column requires a birth date; a record without one could not show the citizen is 14.
        return False
    latest = citizen.birth_date.latest()
    try:
        fourteenth = latest.replace(year=latest.year + ELIGIBLE_AGE)
    except ValueError:  # born on 29 February: 14 years on, the day after 28 February
        fourteenth = date(latest.year + ELIGIBLE_AGE, 3, 1)
    return fourteenth <= day


def _registration_refusals(
    user: User, citizen: Citizen, account: EidAccount | None, *, identity_checked: bool
) -> list[FieldError]:
    """Why `user` may not register an account for `citizen` (whose account, if any, is `account`), in the
    order an officer would check."""
    if user.role not in REGISTERING_ROLES or user.police_unit is None:
        return [
            FieldError(
                "actor",
                "role.not_allowed",
                "Chỉ cán bộ công an xã, phường đăng ký tài khoản định danh điện tử mức độ 2",
                "Only commune police officers register level-2 e-ID accounts",
            )
        ]
    if not Citizen.objects.filter(citizen_scope(user)).filter(pk=citizen.pk).exists():
        # Outside the officer's area is the same answer as a record that does not exist.
        raise NotFoundError("citizen")
    errors = []
    if citizen.merged_into_id is not None:
        errors.append(
            FieldError(
                "citizen",
                "citizen.merged",
                "Hồ sơ đã được hợp nhất vào hồ sơ khác: hãy đăng ký trên hồ sơ được giữ lại",
                "The record was merged into another: register the account on the record that was kept",
            )
        )
    if citizen.is_deceased:
        errors.append(
            FieldError(
                "citizen", "citizen.deceased", "Công dân đã mất", "The citizen is recorded as deceased"
            )
        )
    # A court's declaration stands until the court cancels it (Bộ luật Dân sự 2015, art. 70): someone at
    # the counter under that name is either the citizen back, whose record must first say so, or not the
    # citizen. Card intake refuses them for the same reason (cards.services.citizen_errors).
    if citizen.missing_declared_on is not None:
        errors.append(
            FieldError(
                "citizen",
                "citizen.missing",
                "Công dân đã bị tuyên bố mất tích: chưa đăng ký được. Nếu công dân đã trở về, hãy cập nhật "
                "hồ sơ theo quyết định huỷ tuyên bố mất tích của Toà án rồi đăng ký lại",
                "The citizen has been declared missing: no account can be registered. If the citizen has "
                "returned, record the court's decision cancelling the declaration, then register again",
            )
        )
    if not errors and not _aged_14_on(citizen, timezone.localdate()):
        errors.append(
            FieldError(
                "citizen",
                "eid.under_14",
                "Công dân chưa đủ 14 tuổi theo ngày sinh trong hồ sơ: tài khoản mức độ 2 riêng chỉ đăng ký "
                "cho người từ đủ 14 tuổi; trẻ dưới 14 tuổi được đăng ký qua tài khoản của cha, mẹ hoặc "
                "người giám hộ (chưa hỗ trợ)",
                "By the birth date on record the citizen is not yet 14: an account of their own is "
                "registered from 14; a child under 14 is registered through the account of a parent or "
                "guardian (not supported yet)",
            )
        )
    # A death or a merge ends the cards too (cards.services.cards_end_for_death, the merge): the card is
    # the consequence, and the officer is told the cause alone.
    if not errors and not has_valid_card(citizen):
        errors.append(
            FieldError(
                "citizen",
                "card.none_active",
                # The officer's next step is the card: one expired, lost or revoked is replaced first.
                "Công dân chưa có thẻ căn cước đang sử dụng (đăng ký mức độ 2 cần thẻ còn giá trị): thẻ hết "
                "hạn, bị mất, hỏng hoặc bị thu hồi thì làm thủ tục cấp đổi, cấp lại thẻ trước; đăng ký khi "
                "công dân đã nhận thẻ mới",
                "The citizen holds no active identity card (level 2 needs a valid card): if the card has "
                "expired, was lost, damaged or revoked, apply for its renewal or re-issue first; register "
                "once the citizen has received the new card",
            )
        )
    # A pending account is registered again (a new code), a locked one is opened again the same way
    # (`_account_reopen`), an active one is refused. A user of that name without an account would be an
    # officer named with a PIN: refused too.
    if (account is not None and account.status == EidAccount.Status.ACTIVE) or (
        account is None and User.objects.filter(username=citizen.pin).exists()
    ):
        errors.append(
            FieldError(
                "citizen",
                "eid.account_exists",
                "Công dân đã có tài khoản định danh điện tử",
                "The citizen already has an e-ID account",
            )
        )
    if not identity_checked:
        errors.append(
            FieldError(
                "identity_checked",
                "eid.identity_not_checked",
                "Cán bộ phải đối chiếu khuôn mặt của công dân với ảnh trên thẻ trước khi đăng ký",
                "The officer must compare the citizen's face with the card photo before registering",
            )
        )
    return errors


def eid_registration_refusals(*, user: User, citizen: Citizen) -> list[FieldError]:
    """What would refuse registering `citizen` now, the face check aside: the page shows it when it opens,
    so that the officer does not check the face of a citizen the registry refuses (a death, a missing
    declaration, a card to replace), and tells them what to do instead. Writes nothing; the registration
    asks again under its lock. An officer outside the citizen's area gets NotFoundError."""
    account = EidAccount.objects.filter(citizen=citizen).first()
    return _registration_refusals(user, citizen, account, identity_checked=True)


def eid_account_register(*, actor: Actor, citizen: Citizen, identity_checked: bool) -> tuple[EidAccount, str]:
    """Register a level-2 account for a citizen standing at the station; returns the account and its
    one-time activation code, to be handed to the citizen (it is never shown again).

    A citizen whose account is still pending (the code was lost, has expired, or the page that showed it
    was sent twice and the browser kept the second answer) is registered again: the same account gets a
    new code and a new expiry, and the old code stops working. The officer checks the face again, since
    the code goes to whoever stands at the counter. A locked account is opened again the same way, in
    person (`_account_reopen`), once nothing else refuses the citizen (a new card after a lost one)."""
    user = actor.user
    if user is None:
        raise DomainError(
            FieldError("actor", "actor.officer_required", "Cần cán bộ thực hiện", "An officer is required")
        )
    with transaction.atomic():
        # The citizen's row is the lock that orders concurrent registrations: the second finds the
        # account the first created and gives it a new code.
        citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
        existing = EidAccount.objects.select_for_update().filter(citizen=citizen).first()
        errors = _registration_refusals(user, citizen, existing, identity_checked=identity_checked)
        if errors:
            raise DomainError(errors)
        code = _new_activation_code()
        if existing is not None and existing.status == EidAccount.Status.LOCKED:
            return _account_reopen(actor, existing, citizen, code), code
        if existing is not None:
            return _activation_code_reissue(actor, existing, citizen, code), code
        first, _, last = citizen.full_name.rpartition(" ")
        try:
            # A concurrent registration of the same citizen fails on the unique user name or citizen.
            with transaction.atomic():
                account_user = User.objects.create_user(
                    username=citizen.pin,
                    password=None,
                    role=User.Role.CITIZEN,
                    first_name=first[:150],
                    last_name=last[:150],
                )
                account = EidAccount.objects.create(
                    user=account_user,
                    citizen=citizen,
                    status=EidAccount.Status.PENDING,
                    activation_digest=activation_code_digest(code),
                    activation_expires_at=timezone.now() + ACTIVATION_VALID_FOR,
                    created_by=user,
                )
        except IntegrityError:
            raise DomainError(
                FieldError(
                    "citizen",
                    "eid.account_exists",
                    "Công dân đã có tài khoản định danh điện tử",
                    "The citizen already has an e-ID account",
                )
            ) from None
        audit_event_record(
            actor=actor,
            event_type=EventType.EID_ACCOUNT_REGISTERED,
            subject_type="eid_account",
            subject_id=account.pk,
            data={"citizen": citizen.pk, "level": account.level},
            unit=citizen.area_commune,
        )
    return account, code


def _give_code(account: EidAccount, code: str) -> None:
    """The account's new activation code, valid from now: the one before, if any, stops working."""
    account.activation_digest = activation_code_digest(code)
    account.activation_expires_at = timezone.now() + ACTIVATION_VALID_FOR


def _activation_code_reissue(actor: Actor, account: EidAccount, citizen: Citizen, code: str) -> EidAccount:
    expired = account.activation_expires_at is None or account.activation_expires_at < timezone.now()
    _give_code(account, code)
    account.save(update_fields=["activation_digest", "activation_expires_at", "updated_at"])
    audit_event_record(
        actor=actor,
        event_type=EventType.EID_ACCOUNT_CODE_REISSUED,
        subject_type="eid_account",
        subject_id=account.pk,
        data={"citizen": citizen.pk, "previous_code_expired": expired},
        unit=citizen.area_commune,
    )
    return account


def _account_reopen(actor: Actor, account: EidAccount, citizen: Citizen, code: str) -> EidAccount:
    """A locked account opened again at the desk, as a new registration: the citizen stands at the
    counter with their card, the officer checks the face, and the account waits for its activation with
    a new code. The password and the authenticator of before stop working: the account was locked because
    the phone or the card was lost, and whoever holds the old phone or knows the old password must not
    find the account open again. At activation the citizen chooses a new password, and sets up an
    authenticator at the next sign-in."""
    previous_reason = account.lock_reason
    user = account.user
    user.set_unusable_password()
    user.save(update_fields=["password"])
    TOTPDevice.objects.filter(user=user).delete()
    account.status = EidAccount.Status.PENDING
    account.lock_reason = ""
    account.locked_at = None
    _give_code(account, code)
    account.save(
        update_fields=[
            "status",
            "lock_reason",
            "locked_at",
            "activation_digest",
            "activation_expires_at",
            "updated_at",
        ]
    )
    audit_event_record(
        actor=actor,
        event_type=EventType.EID_ACCOUNT_REOPENED,
        subject_type="eid_account",
        subject_id=account.pk,
        data={"citizen": citizen.pk, "lock_reason": previous_reason},
        unit=citizen.area_commune,
    )
    return account


_ACTIVATION_REFUSED = FieldError(
    "code",
    "eid.activation_refused",
    # The citizen is told what to do next: the same answer for the three cases (no guessing what is
    # wrong), so both ways out are named.
    f"Số định danh hoặc mã kích hoạt không đúng, hoặc mã đã hết hạn. Hãy kiểm tra lại mã trên giấy cán bộ "
    f"đã trao; mã dùng được {ACTIVATION_VALID_FOR.days} ngày, quá hạn hoặc mất mã thì đến công an xã, phường "
    "nơi đăng ký để nhận mã mới.",
    f"Wrong PIN or activation code, or the code has expired. Check the code on the slip the officer gave "
    f"you; a code works for {ACTIVATION_VALID_FOR.days} days: if it has expired or is lost, go to the "
    "commune police where you registered for a new one.",
)


def eid_account_activate(
    *,
    pin: str,
    code: str,
    password: str,
    otp_secret_hex: str | None = None,
    otp_device_name: str = "default",
) -> EidAccount:
    """The citizen's first visit: the activation code proves it is them; they choose a password. A wrong
    PIN, a wrong code and an expired code get the same answer. The TOTP device is set up at the next step
    (confirmed at once only when a secret is provisioned, as for the demo account)."""
    with transaction.atomic():
        account = (
            EidAccount.objects.select_for_update()
            .select_related("user", "citizen")
            .filter(user__username=pin, status=EidAccount.Status.PENDING)
            .first()
        )
        if (
            account is None
            or not hmac.compare_digest(account.activation_digest, activation_code_digest(code))
            or account.activation_expires_at is None
            or account.activation_expires_at < timezone.now()
        ):
            raise DomainError(_ACTIVATION_REFUSED)
        # Asked only once the code is right, so a stranger learns nothing about the record; the holder of
        # the code is told why, as the sign-in would tell them, before a password is set.
        if (refused := citizen_refusal(account.citizen)) is not None:
            raise DomainError(refused)
        user = account.user
        if (weak := password_refusal(password, user=user)) is not None:
            raise DomainError(weak)
        user.set_password(password)
        user.save(update_fields=["password"])
        account.status = EidAccount.Status.ACTIVE
        account.activation_digest = ""
        account.activation_expires_at = None
        account.activated_at = timezone.now()
        account.save(update_fields=["status", "activation_digest", "activation_expires_at", "activated_at"])
        if otp_secret_hex is not None:
            TOTPDevice.objects.create(user=user, name=otp_device_name, key=otp_secret_hex, confirmed=True)
        audit_event_record(
            actor=Actor(user),
            event_type=EventType.EID_ACCOUNT_ACTIVATED,
            subject_type="eid_account",
            subject_id=account.pk,
            # The citizen's commune, as registration records it: campaigns count activations there.
            unit=account.citizen.area_commune,
        )
    return account


def _lock_refusal(actor: Actor, account: EidAccount) -> None:
    """The holder, a commune officer of the citizen's area or a system job may lock an account."""
    user = actor.user
    if user is None or user.pk == account.user_id:
        return
    if user.role not in REGISTERING_ROLES or user.police_unit is None:
        raise DomainError(
            FieldError(
                "actor",
                "role.not_allowed",
                "Chỉ công dân hoặc cán bộ công an xã, phường được khoá tài khoản định danh điện tử",
                "Only the citizen or a commune police officer may lock an e-ID account",
            )
        )
    if not Citizen.objects.filter(citizen_scope(user)).filter(pk=account.citizen_id).exists():
        raise NotFoundError("eid_account")


def eid_account_lock(*, actor: Actor, account: EidAccount, reason: str, note: str = "") -> EidAccount:
    """Lock an account (on the citizen's request, on death, when the card stops being valid). A locked
    account cannot sign in until the citizen has it opened again at the desk (`eid_account_register`)."""
    if reason not in EidAccount.LockReason.values:
        raise DomainError(
            FieldError(
                "reason", "eid.lock_reason", "Lý do khoá tài khoản không hợp lệ", "Unknown reason to lock"
            )
        )
    _lock_refusal(actor, account)
    with transaction.atomic():
        account = EidAccount.objects.select_for_update().select_related("citizen").get(pk=account.pk)
        if account.status == EidAccount.Status.LOCKED:
            raise DomainError(
                FieldError(
                    "status", "eid.already_locked", "Tài khoản đã bị khoá", "The account is already locked"
                )
            )
        account.status = EidAccount.Status.LOCKED
        account.lock_reason = reason
        account.locked_at = timezone.now()
        account.save(update_fields=["status", "lock_reason", "locked_at"])
        audit_event_record(
            actor=actor,
            event_type=EventType.EID_ACCOUNT_LOCKED,
            subject_type="eid_account",
            subject_id=account.pk,
            data={"reason": reason},
            reason=note[:500],
            unit=account.citizen.area_commune,
        )
    return account
