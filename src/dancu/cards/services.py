"""Every write of the cards app: one transaction and one audit event each (a batch: one per card).

The card milestones (`cards.application.taken`, `.approved`, `.rejected`, `cards.card.produced`,
`.delivered`) carry `unit=` the 2025 commune of the intake point and, in `data`, the point, its team and
the shift, so that campaign figures can be drilled down to a point, a team, a shift and an officer (the
event's actor) from the trail alone.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dancu.accounts.models import PoliceUnit, User
from dancu.accounts.selectors import citizen_scope, officer_can_read_records, unit_in_area
from dancu.audit.models import AuditEvent, EventType
from dancu.audit.services import Actor, audit_event_record
from dancu.cards import biometrics, chip, policy
from dancu.cards.models import (
    SHIFTS,
    Application,
    ApplicationKind,
    Biometric,
    Card,
    FeeCategory,
    FeeRate,
    IntakeDevice,
    IntakePoint,
    IssuerKey,
    ProductionBatch,
    unexpired_on,
)
from dancu.cards.printing import card_printed_data
from dancu.cards.scope import application_scope, batch_scope, card_scope
from dancu.cards.workdays import DELIVERY_WORKING_DAYS, add_working_days
from dancu.collection.models import CollectionForm
from dancu.geo.models import AdminUnit
from dancu.lib.errors import DomainError, FieldError, NotFoundError, in_each_language
from dancu.lib.partial_date import PartialDate
from dancu.lib.vntext import nfc, text_errors
from dancu.registry import rules
from dancu.registry.models import Citizen, IdentityCardRecord, Residence
from dancu.registry.services import citizen_lock, identity_card_record_add

logger = logging.getLogger(__name__)

Status = Application.Status
Kind = ApplicationKind
# The authority that issues every card (Cục Cảnh sát QLHC về TTXH, C06) and signs its chip.
ISSUER = "Cục Cảnh sát quản lý hành chính về trật tự xã hội"
ISSUER_CODE = "C06"
INTAKE_ROLES = frozenset({User.Role.COLLECTOR, User.Role.COMMUNE_REVIEWER})
SERIAL_RE = re.compile(r"^[A-Z0-9]{6,20}$")
# Grounds on which a card is revoked (thu hồi, Luật Căn cước 2023 art. 29) or held (tạm giữ, art. 29).
REVOCATION_GROUNDS = {
    "nationality_lost": ("Bị tước, thôi hoặc huỷ quốc tịch Việt Nam", "Vietnamese nationality lost"),
    "issued_wrongly": ("Cấp sai quy định", "Issued against the rules"),
    "deceased": ("Công dân đã chết", "The citizen died"),
}
# Why an application was cancelled (Application.cancellation_reason), on each path that cancels one: the
# citizen died before a card was made, or the card made was revoked before it was handed over (which is
# also how a death during production ends). Migration cards/0005 gave older cancellations the same texts.
CANCELLED_FOR_DEATH = REVOCATION_GROUNDS["deceased"][0]


def cancelled_for_revocation(grounds: str) -> str:
    return f"Thẻ đã sản xuất bị thu hồi trước khi trả cho công dân: {grounds}"


HOLD_GROUNDS = {
    "detained": ("Bị tạm giữ, tạm giam, chấp hành án phạt tù", "Detained or serving a prison sentence"),
    "administrative": ("Chấp hành quyết định đưa vào cơ sở giáo dục bắt buộc", "Administrative detention"),
}


def _officer(actor: Actor) -> User:
    if actor.user is None or not officer_can_read_records(actor.user):
        raise DomainError(
            FieldError(
                "actor",
                "role.not_allowed",
                "Chỉ cán bộ mới làm việc với hồ sơ thẻ",
                "Only officers work with card applications",
            )
        )
    return actor.user


def _role_refusal(who_vi: str, who_en: str) -> DomainError:
    return DomainError(
        FieldError(
            "actor", "role.not_allowed", f"Chỉ {who_vi} được làm việc này", f"Only {who_en} may do this"
        )
    )


def _is_province_reviewer(user: User) -> bool:
    unit = user.police_unit
    return unit is not None and (
        (user.role == User.Role.SUPERVISOR and unit.level == PoliceUnit.Level.PROVINCE)
        or user.role == User.Role.MINISTRY_ADMIN
    )


def _text(
    value: str, *, field: str, max_length: int, required: bool = False, vi: str = "", en: str = ""
) -> str:
    clean = nfc(value or "").strip()
    errors = text_errors(clean, field=field, max_length=max_length, prose=True)
    if required and not clean:
        errors.append(FieldError(field, f"{field}.required", f"Cần ghi {vi}", f"{en} is required"))
    if errors:
        raise DomainError(errors)
    return clean


def milestone_data(application: Application) -> dict[str, Any]:
    """What every card milestone event carries so campaigns can drill to point, team and shift."""
    point = application.point
    return {
        "application_id": application.pk,
        "intake_point_id": point.pk,
        "intake_point": point.name,
        "team": point.team if point.kind == IntakePoint.Kind.MOBILE else "",
        "shift": application.shift,
        "kind": application.kind,
    }


# Intake points and devices ----------------------------------------------------------------------------------

_POINT_CODE_TAKEN = FieldError(
    "code", "point.code_taken", "Mã điểm đã được dùng", "The point code is already used"
)
_DEVICE_SERIAL_TAKEN = FieldError(
    "serial",
    "device.serial_taken",
    "Số sê-ri thiết bị đã được đăng ký",
    "The device serial is already registered",
)


def intake_point_create(
    *, actor: Actor, code: str, name: str, kind: str, commune: AdminUnit, team: str = "", shifts: str = "123"
) -> IntakePoint:
    """Open a station or a mobile team for a commune of the actor's area (province police or ministry)."""
    user = _officer(actor)
    if not (_is_province_reviewer(user) or user.role == User.Role.COMMUNE_REVIEWER):
        raise _role_refusal(
            "cán bộ cấp tỉnh, cấp Bộ hoặc cán bộ kiểm tra cấp xã",
            "province, ministry or commune reviewing officers",
        )
    if commune.structure != "2025" or commune.level != "commune" or not unit_in_area(user, commune):
        raise NotFoundError("commune")
    errors: list[FieldError] = []

    def text(value: str, **rules: Any) -> str:
        # Every field's refusal at once, so that the officer corrects the form in one go.
        try:
            return _text(value, **rules)
        except DomainError as exc:
            errors.extend(exc.errors)
            return ""

    code = text(code, field="code", max_length=32, required=True, vi="mã điểm", en="The point code")
    name = text(name, field="name", max_length=200, required=True, vi="tên điểm", en="The point name")
    team = text(team, field="team", max_length=100)
    if kind not in IntakePoint.Kind.values:
        errors.append(
            FieldError(
                "kind",
                "point.kind",
                "Loại điểm phải là điểm cố định hoặc tổ lưu động",
                "The kind must be a station or a mobile team",
            )
        )
    if kind == IntakePoint.Kind.MOBILE and not team:
        errors.append(
            FieldError(
                "team", "point.team_required", "Tổ lưu động cần có tên tổ", "A mobile team needs a team name"
            )
        )
    if not re.fullmatch(r"1?2?3?", shifts) or not shifts:
        errors.append(
            FieldError(
                "shifts",
                "point.shifts",
                "Ca làm việc phải là một hoặc nhiều ca 1, 2, 3 theo thứ tự",
                "Shifts must be one or more of 1, 2, 3 in order",
            )
        )
    if code and IntakePoint.objects.filter(code=code).exists():
        errors.append(_POINT_CODE_TAKEN)
    if errors:
        raise DomainError(errors)
    with transaction.atomic():
        try:
            with transaction.atomic():
                point = IntakePoint.objects.create(
                    code=code,
                    name=name,
                    kind=kind,
                    commune=commune,
                    team=team if kind == IntakePoint.Kind.MOBILE else "",
                    shifts=shifts,
                )
        except IntegrityError:
            # The check above saw no such code, but another request (a form sent twice) opened the point
            # since: the unique index refuses the second, which is told as the same rule.
            raise DomainError(_POINT_CODE_TAKEN) from None
        audit_event_record(
            actor=actor,
            event_type=EventType.INTAKE_POINT_CREATED,
            subject_type="intake_point",
            subject_id=point.pk,
            data={"code": code, "kind": kind, "team": point.team, "shifts": shifts},
            unit=commune,
        )
    return point


def intake_device_register(*, actor: Actor, point: IntakePoint, serial: str, has_iris: bool) -> IntakeDevice:
    user = _officer(actor)
    if not unit_in_area(user, point.commune):
        raise NotFoundError("intake_point")
    serial = _text(
        serial, field="serial", max_length=64, required=True, vi="số sê-ri thiết bị", en="The device serial"
    )
    if IntakeDevice.objects.filter(serial=serial).exists():
        raise DomainError(_DEVICE_SERIAL_TAKEN)
    with transaction.atomic():
        try:
            with transaction.atomic():
                device = IntakeDevice.objects.create(point=point, serial=serial, has_iris=has_iris)
        except IntegrityError:
            # Registered by another request since the check above (a form sent twice): the same rule.
            raise DomainError(_DEVICE_SERIAL_TAKEN) from None
        audit_event_record(
            actor=actor,
            event_type=EventType.INTAKE_DEVICE_REGISTERED,
            subject_type="intake_device",
            subject_id=device.pk,
            data={"serial": serial, "has_iris": has_iris, "intake_point_id": point.pk},
            unit=point.commune,
        )
    return device


# Eligibility and fees ---------------------------------------------------------------------------------------


def record_errors(citizen: Citizen, *, today: date) -> list[FieldError]:
    """The registry's "đúng" rules on the record as it stands: a card prints what the record says."""
    residence = next(
        (r for r in citizen.residences.all() if r.ended_on is None and r.kind == Residence.Kind.PERMANENT),
        None,
    )
    record = rules.PersonInput(
        full_name=citizen.full_name,
        sex=citizen.sex,
        birth_date=citizen.birth_date,
        id_number=citizen.pin,
        old_id_number=citizen.old_id_number,
        date_of_death=citizen.date_of_death,
        blood_type=citizen.blood_type,
        blood_type_source=citizen.blood_type_source,
        birth_registration_place=citizen.birth_registration_place,
        address=residence.address_detail if residence else "",
        commune_code=residence.commune.code if residence else None,
    )
    issues = rules.errors_of(rules.check_person(record, context=rules.RuleContext(today=today)))
    return rules.field_errors(issues)


def _birth(citizen: Citizen) -> date:
    if citizen.birth_date is None:
        raise DomainError(
            FieldError(
                "birth_date", "date.required", "Hồ sơ thiếu ngày sinh", "The record has no date of birth"
            )
        )
    return policy.birth_day(citizen.birth_date)


def _current_card(citizen: Citizen) -> Card | None:
    return citizen.cards.filter(state=Card.State.ACTIVE).first()


def _latest_card(citizen: Citizen) -> Card | None:
    """The last card handed to the citizen: one made but never delivered (waiting, or revoked before
    delivery) was never theirs, and does not make a first issue a re-issue."""
    return citizen.cards.filter(application__status=Status.DELIVERED).order_by("-issued_on", "-pk").first()


def _latest_chip_card_record(citizen: Citizen) -> IdentityCardRecord | None:
    """The registry's record of the last chip card handed to the citizen, the only trace of a card
    issued before the cards app took over the issuing (most adults hold such a CCCD)."""
    return (
        IdentityCardRecord.objects.filter(
            citizen=citizen, kind__in=[IdentityCardRecord.Kind.CCCD, IdentityCardRecord.Kind.CAN_CUOC]
        )
        .order_by("-issued_on", "-pk")
        .first()
    )


def citizen_errors(citizen: Citizen) -> list[FieldError]:
    """Why no card is made or handed over for `citizen` at all: recorded dead, or declared missing. Read
    at intake, at approval, when a batch is made and at delivery, since the record may change between."""
    if citizen.is_deceased:
        return [
            FieldError(
                "citizen",
                "citizen.deceased",
                "Công dân đã chết: không cấp thẻ",
                "The citizen is deceased: no card is issued",
            )
        ]
    if citizen.missing_declared_on is not None:
        return [
            FieldError(
                "citizen",
                "citizen.missing",
                "Công dân đã bị tuyên bố mất tích",
                "The citizen has been declared missing",
            )
        ]
    return []


def _pending_errors(citizen: Citizen) -> list[FieldError]:
    pending = (
        Application.objects.filter(citizen=citizen, status__in=Application.OPEN_STATUSES)
        .order_by("-taken_at", "-pk")
        .first()
    )
    if pending is None:
        return []
    # The citizen at the counter asks where their card is: the refusal names the application, its state
    # and the day the card is promised, so that the officer answers without a second search.
    status = in_each_language(lambda: str(pending.get_status_display()))
    status_vi, status_en = status["vi"], status["en"]
    due = f"{pending.due_on:%d/%m/%Y}"
    return [
        FieldError(
            "citizen",
            "application.pending",
            f"Công dân đã có hồ sơ cấp thẻ đang giải quyết: hồ sơ {pending.number} ({status_vi}), "
            f"hẹn trả {due}",
            f"The citizen already has a card application in progress: {pending.number} ({status_en}), "
            f"due {due}",
        )
    ]


def intake_refusals(citizen: Citizen) -> list[FieldError]:
    """What refuses every application of `citizen`, whatever its kind: recorded dead or declared missing,
    or an application already in progress. The intake page shows them on the check sheet, so that an
    officer does not attach a dozen captures to be refused for a reason the record told already."""
    return citizen_errors(citizen) or _pending_errors(citizen)


def intake_kinds(citizen: Citizen, *, today: date) -> list[tuple[str, FieldError | None]]:
    """Each kind of application, with what refuses it for `citizen` today by the cards they hold or held
    (None when the record allows it): a first issue for a holder of a card, a renewal not yet due, a
    conversion without an old card. The check sheet lists them, so that the officer picks the kind before
    the captures; what the form asks for (a representative, a reason) is refused on fields of its own,
    left out here, and judged when the form is sent."""
    kinds = []
    for kind in Kind.values:
        errors = eligibility_errors(citizen=citizen, kind=kind, today=today)
        kinds.append((kind, next((error for error in errors if error.field == "kind"), None)))
    return kinds


def eligibility_errors(
    *, citizen: Citizen, kind: str, today: date, representative: str = "", reason: str = ""
) -> list[FieldError]:
    """Why `citizen` may not apply for a card of `kind` today; empty when they may."""
    refusal = citizen_errors(citizen)
    if refusal:
        return refusal
    if kind not in Kind.values:
        return [
            FieldError("kind", "application.kind", "Loại thủ tục không hợp lệ", "Unknown application kind")
        ]
    errors = _pending_errors(citizen)
    birth = _birth(citizen)
    age = policy.age_on(birth, today)
    if age < policy.MANDATORY_AGE and not representative:
        errors.append(
            FieldError(
                "representative",
                "application.representative_required",
                "Dưới 14 tuổi: thẻ được cấp theo đề nghị của người đại diện hợp pháp, "
                "cần ghi họ tên người đại diện",
                "Under 14 a card is issued on request of the legal representative, whose name is required",
            )
        )
    current = _current_card(citizen)
    latest = _latest_card(citizen)
    # A citizen the cards app never handed a card to may still hold one issued before it: the registry's
    # record of it is then the card in use, which they renew, correct or replace when it is lost. Once
    # the app has delivered a card, its own states (lost, revoked, replaced) are the ones that count.
    recorded = _latest_chip_card_record(citizen) if current is None and latest is None else None
    held: Card | IdentityCardRecord | None = current
    if held is None:
        # An expired card is still the one the citizen holds, but it is only changed for a new one
        # (cấp đổi, as every expired card is due): a change of data or of PIN goes through that renewal.
        ended = latest if latest is not None and latest.state == Card.State.EXPIRED else recorded
        expired = ended is not None and ended.expires_on is not None and ended.expires_on < today
        held = ended if kind == Kind.RENEWAL or not expired else None
    has_chip_card = current is not None or latest is not None or recorded is not None
    if kind == Kind.FIRST_ISSUE and has_chip_card:
        errors.append(
            FieldError(
                "kind",
                "application.not_first",
                "Công dân đã được cấp thẻ: không cấp lần đầu",
                "The citizen already had a card: this is not a first issue",
            )
        )
    elif kind == Kind.CONVERSION:
        if has_chip_card:
            errors.append(
                FieldError(
                    "kind",
                    "application.already_converted",
                    "Công dân đã có thẻ căn cước gắn chip",
                    "The citizen already has a chip card",
                )
            )
        elif (
            not citizen.old_id_number
            and not citizen.card_records.filter(kind=IdentityCardRecord.Kind.CMND).exists()
        ):
            errors.append(
                FieldError(
                    "kind",
                    "application.no_old_card",
                    "Không có CMND hoặc thẻ cũ để chuyển đổi",
                    "There is no old ID card to convert",
                )
            )
    elif kind in (Kind.RENEWAL, Kind.CHANGE_OF_DATA, Kind.PIN_REISSUED) and held is None:
        errors.append(
            FieldError(
                "kind",
                "application.no_current_card",
                "Công dân không có thẻ đang sử dụng để cấp đổi",
                "The citizen has no card in use to change",
            )
        )
    elif kind == Kind.RENEWAL and held is not None and not policy.renewal_due(held.expires_on, today):
        errors.append(
            FieldError(
                "kind",
                "application.renewal_not_due",
                "Chưa đến tuổi đổi thẻ: chỉ đổi khi thẻ hết hạn hoặc trong 2 năm trước tuổi 14, 25, 40, 60",
                "Not yet due: a card is changed when it expires or within 2 years before 14, 25, 40 or 60",
            )
        )
    elif kind == Kind.PIN_REISSUED and held is not None and held.number == citizen.pin:
        errors.append(
            FieldError(
                "kind",
                "application.pin_unchanged",
                "Số định danh không thay đổi so với thẻ",
                "The PIN has not changed since the card was issued",
            )
        )
    elif kind == Kind.LOST_OR_DAMAGED:
        if latest is None and recorded is None:
            errors.append(
                FieldError(
                    "kind",
                    "application.no_card",
                    "Công dân chưa có thẻ để cấp lại",
                    "The citizen has no card to re-issue",
                )
            )
        elif latest is not None and latest.state == Card.State.REVOKED:
            # A re-issue replaces a card that was lost or damaged. A card withdrawn on legal grounds (the
            # nationality lost, issued against the rules) ended for a reason a re-issue would undo.
            errors.append(
                FieldError(
                    "kind",
                    "application.card_revoked",
                    "Thẻ gần nhất của công dân đã bị thu hồi: không cấp lại",
                    "The citizen's latest card was revoked: it is not re-issued",
                )
            )
        if not reason:
            errors.append(
                FieldError(
                    "reason",
                    "reason.required",
                    "Cần ghi lý do cấp lại (mất, hư hỏng)",
                    "The reason for re-issue (lost, damaged) is required",
                )
            )
    if kind == Kind.CHANGE_OF_DATA and not reason:
        errors.append(
            FieldError(
                "reason",
                "reason.required",
                "Cần ghi thông tin thay đổi",
                "The changed information is required",
            )
        )
    return errors


def fee_for(*, kind: str, on: date, category: str) -> int:
    """The fee in the dated table for `kind` on `on`; exempt categories pay nothing."""
    if category not in FeeCategory.values:
        raise DomainError(
            FieldError(
                "fee_category",
                "fee.category",
                "Diện miễn lệ phí không hợp lệ",
                "Unknown fee exemption category",
            )
        )
    rate = FeeRate.objects.filter(kind=kind, valid_from__lte=on).order_by("-valid_from").first()
    if rate is None:
        raise DomainError(
            FieldError(
                "kind",
                "fee.no_rate",
                "Chưa có biểu lệ phí cho thủ tục này vào ngày này",
                "No fee rate for this procedure on this day",
            )
        )
    return 0 if category else rate.amount


# Intake -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    """What the officer fills in at the intake point, besides the citizen and the images."""

    kind: str
    point: IntakePoint
    shift: str
    device: IntakeDevice | None = None
    fee_category: str = ""
    representative: str = ""
    reason: str = ""
    delivery: str = Application.Delivery.STATION
    postal_address: str = ""
    correction_form: CollectionForm | None = None


def _checked_images(
    *, citizen: Citizen, device: IntakeDevice | None, images: Mapping[str, bytes], today: date
) -> list[biometrics.CheckedImage]:
    age = policy.age_on(_birth(citizen), today)
    if age < biometrics.BIOMETRICS_FROM_AGE:
        if images:
            raise DomainError(
                FieldError(
                    "biometrics",
                    "biometrics.under_6",
                    "Không thu sinh trắc học của trẻ dưới 6 tuổi",
                    "No biometrics are taken under 6",
                )
            )
        return []
    if device is None:
        raise DomainError(
            FieldError(
                "device", "device.required", "Cần chọn bộ thiết bị thu nhận", "Choose the capture device"
            )
        )
    required = biometrics.required_kinds(age=age, device_has_iris=device.has_iris)
    errors: list[FieldError] = []
    for kind in images:
        if kind not in required:
            if kind in biometrics.IRISES:
                errors.append(
                    FieldError(
                        kind,
                        "biometrics.no_iris_device",
                        "Thiết bị này không thu mống mắt",
                        "This device does not capture irises",
                    )
                )
            else:
                errors.append(
                    FieldError(
                        kind, "biometrics.kind", "Loại sinh trắc học không hợp lệ", "Unknown biometric kind"
                    )
                )
    checked: list[biometrics.CheckedImage] = []
    for kind in required:
        data = images.get(kind, b"")
        problems = biometrics.image_errors(kind, data)
        errors += problems
        if not problems:
            checked.append(biometrics.check_image(kind, data))
    if errors:
        raise DomainError(errors)
    return checked


def _visible_citizen(user: User, citizen: Citizen) -> Citizen:
    found = (
        Citizen.objects.filter(citizen_scope(user))
        .filter(pk=citizen.pk)
        .prefetch_related("residences__commune")
        .first()
    )
    if found is None:
        raise NotFoundError("citizen")
    return found


def _check_intake(user: User, citizen: Citizen, intake: Intake, *, today: date) -> tuple[str, str, str]:
    """Refuse what cannot be taken; return the clean representative, reason and postal address."""
    point = intake.point
    if not point.active or not unit_in_area(user, point.commune):
        raise NotFoundError("intake_point")
    errors: list[FieldError] = []
    if intake.shift not in SHIFTS or intake.shift not in point.shifts:
        errors.append(
            FieldError(
                "shift",
                "intake.shift",
                f"Điểm thu nhận này làm các ca {', '.join(point.shifts)}",
                f"This intake point works shifts {', '.join(point.shifts)}",
            )
        )
    if intake.device is not None and (intake.device.point_id != point.pk or not intake.device.active):
        errors.append(
            FieldError(
                "device",
                "device.other_point",
                "Thiết bị không thuộc điểm thu nhận này",
                "The device does not belong to this intake point",
            )
        )
    representative = _text(intake.representative, field="representative", max_length=100)
    reason = _text(intake.reason, field="reason", max_length=300)
    postal = _text(intake.postal_address, field="postal_address", max_length=300)
    if intake.delivery not in Application.Delivery.values:
        errors.append(
            FieldError(
                "delivery", "delivery.kind", "Hình thức nhận thẻ không hợp lệ", "Unknown delivery method"
            )
        )
    elif intake.delivery == Application.Delivery.POST and not postal:
        errors.append(
            FieldError(
                "postal_address",
                "delivery.address_required",
                "Nhận qua bưu chính cần địa chỉ nhận",
                "Delivery by post needs a postal address",
            )
        )
    if errors:
        raise DomainError(errors)
    return representative, reason, postal


def _check_correction(citizen: Citizen, form: CollectionForm | None, *, today: date) -> bool:
    """Whether the application waits for a DC02; refuses a record failing "đúng" with no DC02 to fix it."""
    if form is not None:
        if form.kind != CollectionForm.Kind.DC02 or form.citizen_id != citizen.pk:
            raise DomainError(
                FieldError(
                    "correction_form",
                    "correction.other",
                    "Phiếu điều chỉnh phải là phiếu DC02 của chính công dân này",
                    "The correction must be a DC02 form of this citizen",
                )
            )
        if form.status == CollectionForm.Status.APPLIED:
            form = None
    if form is not None:
        return True
    problems = record_errors(citizen, today=today)
    if problems:
        codes = ", ".join(sorted({p.code for p in problems}))
        raise DomainError(
            [
                FieldError(
                    "citizen",
                    "record.not_correct",
                    f"Hồ sơ công dân chưa đạt chuẩn «đúng» ({codes}): lập phiếu DC02 để điều chỉnh trước",
                    f"The citizen's record fails the «đúng» rules ({codes}): file a DC02 correction first",
                ),
                *problems,
            ]
        )
    return False


def application_take(
    *,
    actor: Actor,
    citizen: Citizen,
    intake: Intake,
    images: Mapping[str, bytes],
    taken_at: datetime | None = None,
) -> Application:
    """Take an application at an intake point: the record's checks, eligibility, fee, images, due date."""
    user = _officer(actor)
    if user.role not in INTAKE_ROLES:
        raise _role_refusal("cán bộ công an xã", "commune police officers")
    taken_at = taken_at or timezone.now()
    today = timezone.localdate(taken_at)
    citizen = _visible_citizen(user, citizen)
    with transaction.atomic():
        # The application is a write about the citizen: it takes the record's lock first, like the
        # registry's own writes, so a merge of the record either sees this application (and is refused
        # while it is open) or has happened, and then a record merged away is refused here, naming the
        # record it went into, before any other rule speaks.
        citizen_lock(citizen)
        representative, reason, postal = _check_intake(user, citizen, intake, today=today)
        errors = eligibility_errors(
            citizen=citizen, kind=intake.kind, today=today, representative=representative, reason=reason
        )
        if errors:
            raise DomainError(errors)
        waiting = _check_correction(citizen, intake.correction_form, today=today)
        fee = fee_for(kind=intake.kind, on=today, category=intake.fee_category)
        checked = _checked_images(citizen=citizen, device=intake.device, images=images, today=today)
        try:
            with transaction.atomic():
                application = Application.objects.create(
                    citizen=citizen,
                    kind=intake.kind,
                    status=Status.WAITING_CORRECTION if waiting else Status.TAKEN,
                    status_since=taken_at,
                    point=intake.point,
                    device=intake.device,
                    shift=intake.shift,
                    officer=user,
                    taken_at=taken_at,
                    due_on=add_working_days(today, DELIVERY_WORKING_DAYS),
                    fee_amount=fee,
                    fee_category=intake.fee_category,
                    representative=representative,
                    reason=reason,
                    correction_form=intake.correction_form if waiting else None,
                    delivery=intake.delivery,
                    postal_address=postal,
                )
                Biometric.objects.bulk_create(
                    Biometric(
                        application=application,
                        kind=image.kind,
                        image=image.data,
                        image_format=image.image_format,
                        width=image.width,
                        height=image.height,
                        sha256=image.sha256,
                        captured_at=taken_at,
                    )
                    for image in checked
                )
                audit_event_record(
                    actor=actor,
                    event_type=EventType.CARD_APPLICATION_TAKEN,
                    subject_type="card_application",
                    subject_id=application.pk,
                    data={**milestone_data(application), "fee": fee, "waiting_correction": waiting},
                    unit=intake.point.commune,
                )
        except IntegrityError:
            # Another officer took an application for the same citizen at the same moment.
            raise DomainError(
                FieldError(
                    "citizen",
                    "application.pending",
                    "Công dân đã có hồ sơ cấp thẻ đang giải quyết",
                    "The citizen already has a card application in progress",
                )
            ) from None
    return application


def _locked_application(user: User, application: Application) -> Application:
    locked = (
        Application.objects.select_for_update()
        .filter(application_scope(user))
        .filter(pk=application.pk)
        .first()
    )
    if locked is None:
        raise NotFoundError("application")
    # Reload the relations the events and checks read (select_for_update cannot join nullable ones on
    # PostgreSQL).
    return Application.objects.select_related("point__commune", "citizen").get(pk=locked.pk)


def _status_refusal(application: Application, *, expected: str) -> DomainError:
    return DomainError(
        FieldError(
            "status",
            "application.status",
            f"Hồ sơ đang ở trạng thái «{application.get_status_display()}», không thể làm việc này",
            f"The application is «{application.status}», which does not allow this",
        )
    )


def application_resume(*, actor: Actor, application: Application, today: date | None = None) -> Application:
    """Go on with an application once its DC02 reached the registry; the 7 days count from now."""
    user = _officer(actor)
    today = today or timezone.localdate()
    with transaction.atomic():
        application = _locked_application(user, application)
        if application.status != Status.WAITING_CORRECTION:
            raise _status_refusal(application, expected=Status.WAITING_CORRECTION)
        form = application.correction_form
        if form is None or form.status != CollectionForm.Status.APPLIED:
            raise DomainError(
                FieldError(
                    "correction_form",
                    "correction.not_applied",
                    "Phiếu DC02 chưa được cập nhật vào CSDL",
                    "The DC02 form has not reached the registry yet",
                )
            )
        problems = record_errors(application.citizen, today=today)
        if problems:
            raise DomainError(problems)
        application.status = Status.TAKEN
        application.status_since = timezone.now()
        application.due_on = add_working_days(today, DELIVERY_WORKING_DAYS)
        application.save(update_fields=["status", "status_since", "due_on"])
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_APPLICATION_RESUMED,
            subject_type="card_application",
            subject_id=application.pk,
            data={**milestone_data(application), "correction_form": form.pk},
            unit=application.point.commune,
        )
    return application


# Approval ---------------------------------------------------------------------------------------------------


def application_approve(*, actor: Actor, application: Application) -> Application:
    """Province-level approval: the record still qualifies and every required image is there."""
    user = _officer(actor)
    if not _is_province_reviewer(user):
        raise _role_refusal("cán bộ duyệt cấp tỉnh", "province-level reviewers")
    today = timezone.localdate()
    with transaction.atomic():
        application = _locked_application(user, application)
        if application.status != Status.TAKEN:
            raise _status_refusal(application, expected=Status.TAKEN)
        citizen = application.citizen
        refusal = citizen_errors(citizen)
        if refusal:
            raise DomainError(refusal)
        age = policy.age_on(_birth(citizen), application.taken_at.date())
        device_iris = application.device.has_iris if application.device else False
        required = set(biometrics.required_kinds(age=age, device_has_iris=device_iris))
        missing = required - set(application.biometrics.values_list("kind", flat=True))
        if missing:
            raise DomainError(
                FieldError(
                    "biometrics",
                    "biometrics.missing",
                    f"Thiếu dữ liệu sinh trắc: {', '.join(sorted(missing))}",
                    f"Missing biometrics: {', '.join(sorted(missing))}",
                )
            )
        problems = record_errors(citizen, today=today)
        if problems:
            raise DomainError(problems)
        application.status = Status.APPROVED
        application.status_since = timezone.now()
        application.reviewed_by = user
        application.reviewed_at = application.status_since
        application.save(update_fields=["status", "status_since", "reviewed_by", "reviewed_at"])
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_APPLICATION_APPROVED,
            subject_type="card_application",
            subject_id=application.pk,
            data=milestone_data(application),
            unit=application.point.commune,
        )
    return application


def application_reject(*, actor: Actor, application: Application, reason: str) -> Application:
    user = _officer(actor)
    if not _is_province_reviewer(user):
        raise _role_refusal("cán bộ duyệt cấp tỉnh", "province-level reviewers")
    reason = _text(
        reason,
        field="rejection_reason",
        max_length=500,
        required=True,
        vi="lý do từ chối",
        en="The reason for rejection",
    )
    with transaction.atomic():
        application = _locked_application(user, application)
        if application.status not in (Status.TAKEN, Status.WAITING_CORRECTION):
            raise _status_refusal(application, expected=Status.TAKEN)
        application.status = Status.REJECTED
        application.status_since = timezone.now()
        application.reviewed_by = user
        application.reviewed_at = application.status_since
        application.rejection_reason = reason
        application.save(
            update_fields=["status", "status_since", "reviewed_by", "reviewed_at", "rejection_reason"]
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_APPLICATION_REJECTED,
            subject_type="card_application",
            subject_id=application.pk,
            data=milestone_data(application),
            reason=reason,
            unit=application.point.commune,
        )
    return application


# Issuer keys ------------------------------------------------------------------------------------------------


def _key_path(key_id: str) -> Any:
    return settings.DANCU_ISSUER_KEY_DIR / f"{key_id}.pem"


def issuer_key_create(*, actor: Actor, authority: str = ISSUER_CODE, key_lost: bool = False) -> IssuerKey:
    """A new signing key for `authority`; its previous key is retired but kept, so its cards verify.

    The new key replaces the current one for every node, so it is made only where the current key's
    private half can be read (the shared DANCU_ISSUER_KEY_DIR is mounted here): a node that cannot read it
    is refused (`issuer.key_not_here`) unless the operator declares the key truly lost (`key_lost`), which
    the audit event records. The first key, when there is none, is made without question."""
    private_key = Ed25519PrivateKey.generate()
    now = timezone.now()
    with transaction.atomic():
        current = IssuerKey.objects.filter(authority=authority, retired_at__isnull=True).first()
        key_id = f"{authority}-{now:%Y%m%d%H%M%S}-{IssuerKey.objects.filter(authority=authority).count() + 1}"
        path = _key_path(key_id)
        try:
            settings.DANCU_ISSUER_KEY_DIR.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # A directory that is a file or not ours: no key is made, whatever the current key's state.
            raise _key_dir_unwritable(key_id, path, exc) from None
        previous_lost = False
        if current is not None:
            try:
                _private_key(current)
            except DomainError:
                if not key_lost:
                    raise _key_not_here(current) from None
                previous_lost = True
        IssuerKey.objects.filter(authority=authority, retired_at__isnull=True).update(retired_at=now)
        key = IssuerKey.objects.create(
            key_id=key_id, authority=authority, public_key=chip.public_key_text(private_key), created_at=now
        )
        try:
            path.write_bytes(private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
            path.chmod(0o600)
        except OSError as exc:
            # A read-only directory or not ours: the key is not made (the transaction rolls the new row
            # and the retirement back), and the node says so instead of answering 500.
            raise _key_dir_unwritable(key_id, path, exc) from None
        data: dict[str, Any] = {"authority": authority, "public_key": key.public_key}
        if current is not None:
            data["retired_key"] = current.key_id
            # True only when the operator declared the key lost and this node indeed could not read it.
            data["retired_key_lost"] = previous_lost
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_ISSUER_KEY_CREATED,
            subject_type="issuer_key",
            subject_id=key.key_id,
            data=data,
            reason="khóa ký trước bị mất / the previous signing key was lost" if previous_lost else "",
        )
    return key


def _key_dir_unwritable(key_id: str, path: Any, exc: OSError) -> DomainError:
    # As for a key that cannot be read: the path and the cause go to the log, the message names the setting.
    logger.error("issuer key %s: cannot write %s: %s", key_id, path, exc)
    return DomainError(
        FieldError(
            "issuer_key",
            "issuer.key_dir_unwritable",
            "Máy chủ này không ghi được khóa ký mới của cơ quan cấp thẻ vào thư mục DANCU_ISSUER_KEY_DIR: "
            "chưa tạo khóa, khóa hiện tại vẫn dùng. Quản trị viên kiểm tra thư mục khóa dùng chung (đã gắn, "
            "là thư mục, cho phép ghi) rồi làm lại",
            "This server cannot write the card issuer's new signing key into DANCU_ISSUER_KEY_DIR: no key "
            "was made and the current key stays in use. The administrator checks the shared key directory "
            "(mounted, a directory, writable) and tries again",
            {"key_id": key_id},
        )
    )


def _key_missing(key: IssuerKey, reason: str) -> DomainError:
    # The path and the cause go to the log for the operator; the officer's page names the setting only.
    logger.error("issuer key %s: cannot read %s: %s", key.key_id, _key_path(key.key_id), reason)
    return DomainError(
        FieldError(
            "issuer_key",
            "issuer.key_missing",
            f"Máy chủ này không đọc được khóa ký {key.key_id} của cơ quan cấp thẻ trong thư mục "
            "DANCU_ISSUER_KEY_DIR: chưa ký gì. Quản trị viên gắn lại thư mục khóa dùng chung, "
            "hoặc, nếu khóa thật sự bị mất, chủ động tạo khóa mới bằng lệnh dancu card rotate-key --key-lost",
            f"This server cannot read the card issuer's signing key {key.key_id} in "
            "DANCU_ISSUER_KEY_DIR: nothing was signed. The administrator mounts the shared key directory "
            "again, or, if the key is truly lost, deliberately starts a new key with the command "
            "dancu card rotate-key --key-lost",
            {"key_id": key.key_id},
        )
    )


def _key_not_here(key: IssuerKey) -> DomainError:
    # A rotation on a node without the shared directory would retire the national key for every node and
    # leave its successor in this node's empty directory only: the operator mounts it, or says it is lost.
    return DomainError(
        FieldError(
            "issuer_key",
            "issuer.key_not_here",
            f"Máy chủ này không đọc được khóa ký hiện tại {key.key_id} của cơ quan cấp thẻ trong thư mục "
            "DANCU_ISSUER_KEY_DIR: chưa tạo khóa mới, khóa hiện tại vẫn dùng. Khóa mới tạo ở đây sẽ thay "
            "khóa của mọi máy chủ. Quản trị viên gắn thư mục khóa dùng chung rồi làm lại; chỉ khi khóa "
            "thật sự bị mất mới chạy lệnh dancu card rotate-key --key-lost",
            f"This server cannot read the card issuer's current signing key {key.key_id} in "
            "DANCU_ISSUER_KEY_DIR: no key was made and the current key stays in use. A key made here "
            "would replace it for every server. The administrator mounts the shared key directory and "
            "tries again; only if the key is truly lost, run the command dancu card rotate-key --key-lost",
            {"key_id": key.key_id},
        )
    )


def _signing_key(actor: Actor) -> tuple[IssuerKey, Ed25519PrivateKey]:
    """The issuer's current key and its private half. A key is made when there is none (first use); a
    current key whose private half this node cannot read (a shared directory that failed to mount) is
    refused, never replaced: a new key made here would retire the national key for every node."""
    key = IssuerKey.objects.filter(authority=ISSUER_CODE, retired_at__isnull=True).first()
    if key is None:
        key = issuer_key_create(actor=actor)
    return key, _private_key(key)


def _private_key(key: IssuerKey) -> Ed25519PrivateKey:
    """The private half of `key` from this node's DANCU_ISSUER_KEY_DIR, or `issuer.key_missing`."""
    try:
        private_key = load_pem_private_key(_key_path(key.key_id).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise _key_missing(key, str(exc)) from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise _key_missing(key, f"not an Ed25519 key: {type(private_key).__name__}")
    return private_key


def public_key_set() -> dict[str, str]:
    """Every issuer key ever used, current and retired: the set a verifier needs."""
    return dict(IssuerKey.objects.values_list("key_id", "public_key"))


# Production -------------------------------------------------------------------------------------------------


def _export_line(application: Application, face: bytes | None, signature: bytes | None) -> dict[str, Any]:
    return {
        "application": application.number,
        "kind": application.kind,
        "printed": card_printed_data(application.citizen),
        "face_png": base64.b64encode(face).decode("ascii") if face else None,
        "signature_png": base64.b64encode(signature).decode("ascii") if signature else None,
        "delivery": application.delivery,
        "postal_address": application.postal_address,
        "intake_point": application.point.code,
    }


def batch_create(*, actor: Actor, province: AdminUnit | None = None, limit: int = 10_000) -> ProductionBatch:
    """Group the approved applications of the actor's province into a batch, oldest first, with the export
    file for the card production centre and a manifest signed by the issuer."""
    user = _officer(actor)
    if not _is_province_reviewer(user):
        raise _role_refusal("cán bộ duyệt cấp tỉnh", "province-level reviewers")
    unit = user.police_unit
    assert unit is not None
    if province is None:
        province = unit.admin_unit
    if (
        province is None
        or province.level != "province"
        or province.structure != "2025"
        or not unit_in_area(user, province)
    ):
        raise DomainError(
            FieldError(
                "province",
                "batch.province",
                "Chọn tỉnh/thành phố của lô sản xuất",
                "Choose the province of the batch",
            )
        )
    limit = max(1, min(limit, 10_000))
    key, private_key = _signing_key(actor)
    with transaction.atomic():
        # Only the applications' rows are locked: the joined points and units are shared by every batch.
        applications = list(
            Application.objects.select_for_update(of=("self",))
            .filter(application_scope(user), status=Status.APPROVED, point__commune__parent=province)
            # No card is made for a citizen recorded dead or declared missing since the approval: the
            # application waits (a death closes it, see cards_end_for_death).
            .filter(citizen__date_of_death__isnull=True, citizen__missing_declared_on__isnull=True)
            .order_by("reviewed_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not applications:
            raise DomainError(
                FieldError(
                    "applications",
                    "batch.empty",
                    "Không có hồ sơ đã duyệt chờ sản xuất",
                    "No approved application is waiting for production",
                )
            )
        rows = list(
            Application.objects.filter(pk__in=applications)
            .select_related("citizen", "point")
            .prefetch_related("citizen__residences__commune__parent")
            .order_by("reviewed_at", "pk")
        )
        images: dict[tuple[int, str], bytes] = {
            (application_id, kind): bytes(image)
            for application_id, kind, image in Biometric.objects.filter(
                application_id__in=applications, kind__in=[Biometric.Kind.FACE, Biometric.Kind.SIGNATURE]
            ).values_list("application_id", "kind", "image")
        }
        now = timezone.now()
        count = ProductionBatch.objects.filter(province=province).count() + 1
        # The day in the number is the day in Việt Nam, as the officers and the centre read it: the
        # server's clock is UTC, seven hours behind, and a batch made before 07:00 carried yesterday.
        number = f"LO-{province.code}-{timezone.localdate(now):%Y%m%d}-{count:04d}"
        lines = [
            json.dumps(
                _export_line(
                    a, images.get((a.pk, Biometric.Kind.FACE)), images.get((a.pk, Biometric.Kind.SIGNATURE))
                ),
                ensure_ascii=False,
                sort_keys=True,
            )
            for a in rows
        ]
        export = ("\n".join(lines) + "\n").encode("utf-8")
        digest = hashlib.sha256(export).hexdigest()
        manifest_body = {
            "batch": number,
            "province": province.code,
            "created_at": now.isoformat(),
            "count": len(rows),
            "export_sha256": digest,
            "applications": [a.number for a in rows],
        }
        manifest = json.loads(chip.sign(manifest_body, key_id=key.key_id, private_key=private_key))
        batch = ProductionBatch.objects.create(
            number=number,
            province=province,
            created_by=user,
            created_at=now,
            size=len(rows),
            export_sha256=digest,
            manifest=manifest,
            export=export,
        )
        Application.objects.filter(pk__in=applications).update(
            status=Status.IN_PRODUCTION, status_since=now, batch=batch
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_BATCH_EXPORTED,
            subject_type="card_batch",
            subject_id=batch.pk,
            data={"number": number, "count": len(rows), "export_sha256": batch.export_sha256},
            unit=province,
        )
    return batch


def batch_export_file(batch: ProductionBatch) -> bytes:
    return bytes(batch.export)


@dataclass(frozen=True)
class ResultRow:
    line: int
    application: str
    serial: str
    error: str


def _parse_result(text: str) -> list[ResultRow]:
    """The production centre's answer: CSV `application,serial,error`, one of serial or error per row."""
    # A file saved by a spreadsheet starts with a byte order mark; the upload page decodes it away
    # (utf-8-sig), and a file sent through the API as a string is read the same way.
    text = text.removeprefix("\ufeff")
    try:
        return _result_rows(text)
    except csv.Error as exc:  # a field past the csv module's limit, a quote left open
        raise DomainError(
            FieldError(
                "file",
                "result.unreadable",
                f"Tệp kết quả không đọc được như CSV: {exc}",
                f"The result file cannot be read as CSV: {exc}",
            )
        ) from exc


def _result_rows(text: str) -> list[ResultRow]:
    # newline="": the csv module reads the line ends itself, so a file with Mac (CR) line ends is read too.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or [f.strip() for f in reader.fieldnames] != [
        "application",
        "serial",
        "error",
    ]:
        raise DomainError(
            FieldError(
                "file",
                "result.columns",
                "Tệp kết quả phải có đúng các cột application,serial,error",
                "The result file must have exactly the columns application,serial,error",
            )
        )
    rows: list[ResultRow] = []
    errors: list[FieldError] = []
    for line, raw in enumerate(reader, start=2):
        values = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if None in raw:
            errors.append(
                FieldError(
                    f"line {line}",
                    "result.extra_columns",
                    f"Dòng {line}: thừa cột",
                    f"Line {line}: too many columns",
                )
            )
            continue
        row = ResultRow(line, values["application"], values["serial"], nfc(values["error"]))
        if bool(row.serial) == bool(row.error):
            errors.append(
                FieldError(
                    f"line {line}",
                    "result.serial_or_error",
                    f"Dòng {line}: cần đúng một trong số sê-ri hoặc lý do từ chối",
                    f"Line {line}: give exactly one of a serial or a rejection reason",
                )
            )
        elif row.serial and not SERIAL_RE.match(row.serial):
            errors.append(
                FieldError(
                    f"line {line}",
                    "result.serial",
                    f"Dòng {line}: số sê-ri phải gồm 6-20 chữ hoa hoặc số",
                    f"Line {line}: the serial must be 6-20 capital letters or digits",
                )
            )
        elif row.error:
            problems = text_errors(row.error, field=f"line {line}", max_length=300, prose=True)
            errors += problems
        rows.append(row)
    if errors:
        raise DomainError(errors[:50])
    if not rows:
        raise DomainError(
            FieldError("file", "result.empty", "Tệp kết quả không có dòng nào", "The result file has no rows")
        )
    return rows


def _chip_payload(card: Card, face_sha256: str) -> dict[str, Any]:
    printed = card.printed
    return {
        "pin": card.number,
        "full_name": printed["full_name"],
        "birth_date": printed["birth_date"],
        "sex": printed["sex"],
        "nationality": printed["nationality"],
        "native_place": printed["native_place"],
        "residence": printed["residence"],
        "issued_on": card.issued_on.isoformat(),
        "expires_on": card.expires_on.isoformat() if card.expires_on else None,
        "serial": card.serial,
        "issuer": ISSUER_CODE,
        "face_sha256": face_sha256,
    }


def batch_import_result(
    *, actor: Actor, batch: ProductionBatch, text: str, issued_on: date | None = None
) -> ProductionBatch:
    """Record the production centre's result: a card per serial, a failed application per reason.

    Every row is checked before anything is written: an application that is not in the batch (unknown, of
    another batch, already answered), a serial given twice or already used, refuses the whole file.
    """
    user = _officer(actor)
    if not _is_province_reviewer(user):
        raise _role_refusal("cán bộ duyệt cấp tỉnh", "province-level reviewers")
    if not ProductionBatch.objects.filter(batch_scope(user)).filter(pk=batch.pk).exists():
        raise NotFoundError("batch")
    rows = _parse_result(text)
    issued_on = issued_on or timezone.localdate()
    key, private_key = _signing_key(actor)
    with transaction.atomic():
        waiting = {
            a.number: a
            for a in Application.objects.select_for_update()
            .filter(batch=batch, status=Status.IN_PRODUCTION)
            .only("pk", "citizen_id", "point_id", "kind", "shift", "status")
        }
        # A batch comes from a handful of points: each is read once and shared by its applications,
        # instead of joined (and built again) for each of thousands of rows.
        points = IntakePoint.objects.select_related("commune").in_bulk({a.point_id for a in waiting.values()})
        for application in waiting.values():
            application.point = points[application.point_id]
        errors: list[FieldError] = []
        seen_applications: set[str] = set()
        seen_serials: set[str] = set()
        for row in rows:
            if row.application not in waiting or row.application in seen_applications:
                errors.append(
                    FieldError(
                        f"line {row.line}",
                        "result.unknown_application",
                        f"Dòng {row.line}: hồ sơ «{row.application[:20]}» không có trong lô "
                        "hoặc đã có kết quả",
                        f"Line {row.line}: application «{row.application[:20]}» is not in this batch "
                        "or already has a result",
                    )
                )
            seen_applications.add(row.application)
            if row.serial:
                if row.serial in seen_serials:
                    errors.append(
                        FieldError(
                            f"line {row.line}",
                            "result.serial_repeated",
                            f"Dòng {row.line}: số sê-ri lặp lại",
                            f"Line {row.line}: the serial is repeated",
                        )
                    )
                seen_serials.add(row.serial)
        taken = set(Card.objects.filter(serial__in=seen_serials).values_list("serial", flat=True))
        errors += [
            FieldError(
                f"line {row.line}",
                "result.serial_taken",
                f"Dòng {row.line}: số sê-ri đã được dùng cho thẻ khác",
                f"Line {row.line}: the serial is already used by another card",
            )
            for row in rows
            if row.serial in taken
        ]
        if errors:
            raise DomainError(errors[:50])
        printed = {
            line["application"]: line["printed"]
            for line in map(json.loads, bytes(batch.export).decode("utf-8").splitlines())
        }
        faces = dict(
            Biometric.objects.filter(application__batch=batch, kind=Biometric.Kind.FACE).values_list(
                "application_id", "sha256"
            )
        )
        now = timezone.now()
        # A citizen recorded dead while the batch was at the centre: the card made is recorded (its serial
        # is accounted for) but revoked at once, and the application closes (cards_end_for_death leaves
        # the applications in production to this import).
        dead = set(
            Citizen.objects.filter(
                pk__in={a.citizen_id for a in waiting.values()}, date_of_death__isnull=False
            ).values_list("pk", flat=True)
        )
        cards: list[Card] = []
        events: list[AuditEvent] = []
        produced_ids: list[int] = []
        cancelled_ids: list[int] = []
        for row in rows:
            application = waiting[row.application]
            data = milestone_data(application)
            if row.error:
                application.status = Status.PRODUCTION_FAILED
                application.production_error = row.error
                application.status_since = now
                events.append(
                    _event(
                        actor,
                        EventType.CARD_PRODUCTION_FAILED,
                        "card_application",
                        application.pk,
                        data,
                        application,
                        reason=row.error,
                    )
                )
                continue
            # The card shows what the centre printed: the data of the export file, even if the record
            # changed since the batch was sent.
            card_data = printed[application.number]
            card = Card(
                citizen_id=application.citizen_id,
                application=application,
                number=card_data["pin"],
                serial=row.serial,
                issued_on=issued_on,
                expires_on=policy.card_expiry(
                    policy.birth_day(PartialDate.from_storage(card_data["birth_date"])), issued_on
                ),
                issued_by=ISSUER,
                printed=card_data,
                state=Card.State.PRODUCED,
                state_since=now,
            )
            card.chip_document = chip.sign(
                _chip_payload(card, faces.get(application.pk, "")), key_id=key.key_id, private_key=private_key
            )
            cards.append(card)
            application.status_since = now
            died = application.citizen_id in dead
            if died:
                card.state = Card.State.REVOKED
                card.state_reason = REVOCATION_GROUNDS["deceased"][0]
                application.status = Status.CANCELLED
                application.cancellation_reason = cancelled_for_revocation(card.state_reason)
                cancelled_ids.append(application.pk)
            else:
                application.status = Status.PRODUCED
                produced_ids.append(application.pk)
            events.append(
                _event(
                    actor,
                    EventType.CARD_PRODUCED,
                    "card_application",
                    application.pk,
                    {**data, "serial": row.serial, "state": card.state},
                    application,
                )
            )
            if died:
                # The application's trail ends with its cancellation, as on every path that cancels one.
                events.append(
                    _event(
                        actor,
                        EventType.CARD_APPLICATION_CANCELLED,
                        "card_application",
                        application.pk,
                        data,
                        application,
                        reason=application.cancellation_reason,
                    )
                )
        Card.objects.bulk_create(cards, batch_size=1000)
        # One UPDATE per chunk for the produced applications (all get the same values); the refused ones,
        # few, each keep their own reason. bulk_update would build a CASE over every row instead.
        cancelled_reason = cancelled_for_revocation(REVOCATION_GROUNDS["deceased"][0])
        for ids, values in (
            (produced_ids, {"status": Status.PRODUCED}),
            (cancelled_ids, {"status": Status.CANCELLED, "cancellation_reason": cancelled_reason}),
        ):
            for start in range(0, len(ids), 900):
                Application.objects.filter(pk__in=ids[start : start + 900]).update(**values, status_since=now)
        for row in rows:
            if row.error:
                Application.objects.filter(pk=waiting[row.application].pk).update(
                    status=Status.PRODUCTION_FAILED, status_since=now, production_error=row.error
                )
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        remaining = Application.objects.filter(batch=batch, status=Status.IN_PRODUCTION).exists()
        if not remaining:
            batch.status = ProductionBatch.Status.IMPORTED
            batch.imported_at = now
            batch.save(update_fields=["status", "imported_at"])
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_BATCH_IMPORTED,
            subject_type="card_batch",
            subject_id=batch.pk,
            data={"number": batch.number, "produced": len(cards), "failed": len(rows) - len(cards)},
            unit=batch.province,
        )
    return batch


def _event(  # noqa: PLR0917 (a private constructor called the same way in two places)
    actor: Actor,
    event_type: EventType,
    subject_type: str,
    subject_id: int,
    data: dict[str, Any],
    application: Application,
    *,
    reason: str = "",
) -> AuditEvent:
    """An event built for a bulk insert: the same fields `audit_event_record` writes, thousands at once
    inside the import's transaction."""
    return AuditEvent(
        actor=actor.user,
        actor_label=actor.label,
        event_type=event_type,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data=data,
        reason=reason,
        unit=application.point.commune,
    )


# Delivery and the life of a card ----------------------------------------------------------------------------


def application_deliver(*, actor: Actor, application: Application, received_by: str) -> Card:
    """Hand the card over (at the station, or confirmed by the post): it becomes the active card, the
    previous card is replaced, and the registry records the card."""
    user = _officer(actor)
    if user.role not in INTAKE_ROLES:
        raise _role_refusal("cán bộ công an xã", "commune police officers")
    received_by = _text(
        received_by,
        field="received_by",
        max_length=200,
        required=True,
        vi="người nhận thẻ (công dân ký nhận hoặc phiếu báo phát)",
        en="Who received the card (the citizen's signature or the postal proof)",
    )
    with transaction.atomic():
        application = _locked_application(user, application)
        if application.status != Status.PRODUCED:
            raise _status_refusal(application, expected=Status.PRODUCED)
        card = Card.objects.select_for_update().get(application=application)
        if card.state != Card.State.PRODUCED:
            # Only a card made and not yet handed over is delivered; one revoked meanwhile closes its
            # application (card_change_state), and this guards the records kept from before that rule.
            raise DomainError(
                FieldError(
                    "card",
                    "card.not_deliverable",
                    f"Thẻ đang ở trạng thái «{card.get_state_display()}»: không trả cho công dân",
                    f"The card is «{card.state}»: it is not handed over",
                )
            )
        citizen = application.citizen
        refusal = citizen_errors(citizen)
        if refusal:
            raise DomainError(refusal)
        now = timezone.now()
        # The new card supersedes every earlier card that is or could again be in use: the active one
        # and one held by the police, which would otherwise come back as a second card on release. A
        # lost, revoked or expired card has already ended, and keeps the state that says why.
        earlier = list(
            Card.objects.select_for_update()
            .filter(citizen=citizen, state__in=[Card.State.ACTIVE, Card.State.HELD])
            .order_by("-issued_on", "-pk")
        )
        for old_card in earlier:
            old_card.state = Card.State.REPLACED
            old_card.state_since = now
            old_card.state_reason = f"Thay bằng thẻ {card.serial}"
            old_card.save(update_fields=["state", "state_since", "state_reason"])
        card.state = Card.State.ACTIVE
        card.state_since = now
        card.save(update_fields=["state", "state_since"])
        previous = earlier[0] if earlier else None
        if previous is not None:
            # A card is replaced by one card: the latest of those superseded carries the link.
            Card.objects.filter(pk=previous.pk).update(replaced_by=card)
        application.status = Status.DELIVERED
        application.status_since = now
        application.delivered_at = now
        application.delivered_by = user
        application.received_by = received_by
        application.save(
            update_fields=["status", "status_since", "delivered_at", "delivered_by", "received_by"]
        )
        event = audit_event_record(
            actor=actor,
            event_type=EventType.CARD_DELIVERED,
            subject_type="card_application",
            subject_id=application.pk,
            data={
                **milestone_data(application),
                "serial": card.serial,
                "delivery": application.delivery,
                "replaced": previous.serial if previous else "",
                "superseded": [c.serial for c in earlier],
            },
            unit=application.point.commune,
        )
        identity_card_record_add(
            actor=actor,
            citizen=citizen,
            event=event,
            kind=IdentityCardRecord.Kind.CAN_CUOC,
            number=card.number,
            issued_on=card.issued_on,
            issued_by=card.issued_by,
            expires_on=card.expires_on,
            reason="Trả thẻ căn cước cho công dân",
            source_document=f"Hồ sơ {application.number}",
        )
    return card


# Which states a card may move to, and from where.
_TRANSITIONS: dict[str, frozenset[str]] = {
    Card.State.LOST: frozenset({Card.State.ACTIVE, Card.State.HELD}),
    Card.State.REVOKED: frozenset({Card.State.ACTIVE, Card.State.HELD, Card.State.LOST, Card.State.PRODUCED}),
    Card.State.HELD: frozenset({Card.State.ACTIVE}),
    Card.State.ACTIVE: frozenset({Card.State.HELD}),
    Card.State.EXPIRED: frozenset({Card.State.ACTIVE}),
}


def card_change_state(*, actor: Actor, card: Card, state: str, grounds: str = "", note: str = "") -> Card:
    """Report a card lost, revoke it (legal grounds), hold or release it, or mark it expired."""
    user = _officer(actor)
    note = _text(note, field="note", max_length=300)
    if state not in _TRANSITIONS:
        raise DomainError(
            FieldError("state", "card.state", "Trạng thái thẻ không hợp lệ", "Unknown card state")
        )
    if state == Card.State.REVOKED and grounds not in REVOCATION_GROUNDS:
        raise DomainError(
            FieldError(
                "grounds",
                "card.revocation_grounds",
                "Thu hồi thẻ cần căn cứ pháp lý trong danh mục",
                "A revocation needs legal grounds from the list",
            )
        )
    if state == Card.State.HELD and grounds not in HOLD_GROUNDS:
        raise DomainError(
            FieldError(
                "grounds",
                "card.hold_grounds",
                "Tạm giữ thẻ cần căn cứ pháp lý trong danh mục",
                "Holding a card needs legal grounds from the list",
            )
        )
    if (
        state in (Card.State.REVOKED, Card.State.HELD, Card.State.ACTIVE)
        and not _is_province_reviewer(user)
        and user.role != User.Role.COMMUNE_REVIEWER
    ):
        raise _role_refusal(
            "cán bộ kiểm tra cấp xã hoặc cán bộ cấp tỉnh", "commune reviewers or province officers"
        )
    with transaction.atomic():
        locked = Card.objects.select_for_update().filter(card_scope(user)).filter(pk=card.pk).first()
        if locked is None:
            raise NotFoundError("card")
        card = Card.objects.select_related("application__point__commune").get(pk=locked.pk)
        if card.state not in _TRANSITIONS[state]:
            raise DomainError(
                FieldError(
                    "state",
                    "card.transition",
                    f"Không thể chuyển thẻ từ «{card.get_state_display()}» sang «{Card.State(state).label}»",
                    f"A card cannot go from «{card.state}» to «{state}»",
                )
            )
        if state == Card.State.EXPIRED and not card.is_expired_on(timezone.localdate()):
            raise DomainError(
                FieldError("state", "card.not_expired", "Thẻ chưa hết hạn", "The card has not expired")
            )
        if (
            state == Card.State.ACTIVE
            and Card.objects.filter(citizen_id=card.citizen_id, state=Card.State.ACTIVE)
            .exclude(pk=card.pk)
            .exists()
        ):
            # One card in use per citizen (also a database rule). A delivered card supersedes a held one,
            # so this is a card held before that rule, or one released while another was handed over.
            raise DomainError(
                FieldError(
                    "state",
                    "card.other_active",
                    "Công dân đã có thẻ khác đang sử dụng: không trả lại thẻ này",
                    "The citizen has another card in use: this one is not released",
                )
            )
        old_state = card.state
        grounds_text = (REVOCATION_GROUNDS | HOLD_GROUNDS).get(grounds, ("", ""))[0]
        now = timezone.now()
        card.state = state
        card.state_since = now
        card.state_reason = "; ".join(part for part in (grounds_text, note) if part)
        card.save(update_fields=["state", "state_since", "state_reason"])
        cancellation = cancelled_for_revocation(card.state_reason)
        closed = old_state == Card.State.PRODUCED and _close_application(
            card.application, now=now, reason=cancellation
        )
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_STATE_CHANGED,
            subject_type="card",
            subject_id=card.pk,
            data={
                "from": old_state,
                "to": state,
                "grounds": grounds,
                "serial": card.serial,
                "application_cancelled": closed,
            },
            reason=card.state_reason,
            unit=card.application.point.commune,
        )
        if closed:
            # The application's own trail says it was cancelled, and why, as on every path that cancels one.
            audit_event_record(
                actor=actor,
                event_type=EventType.CARD_APPLICATION_CANCELLED,
                subject_type="card_application",
                subject_id=card.application.pk,
                data=milestone_data(card.application),
                reason=cancellation,
                unit=card.application.point.commune,
            )
    return card


def _close_application(application: Application, *, now: datetime, reason: str) -> bool:
    """Close an application whose card will not be handed over (revoked before delivery, the citizen
    died), for `reason`: it no longer counts as in progress, so the citizen may apply again where the law
    allows. Whether it was open, and so closed now."""
    return bool(
        Application.objects.filter(pk=application.pk, status__in=Application.OPEN_STATUSES).update(
            status=Status.CANCELLED, status_since=now, cancellation_reason=reason
        )
    )


def cards_end_for_death(*, actor: Actor, citizen: Citizen) -> list[Card]:
    """The cards app's part of recording a death, run by the registry in the same transaction: every card
    that is or could be in use (active, held, made and not yet handed over) is revoked on the grounds of
    death, and the applications in progress close. An application whose batch is at the production centre
    stays until the centre's answer is imported, which then revokes the card made (batch_import_result).

    One event per card revoked and per application closed, under the actor who recorded the death."""
    now = timezone.now()
    grounds_text = REVOCATION_GROUNDS["deceased"][0]
    revoked = list(
        Card.objects.select_for_update(of=("self",))
        .filter(citizen=citizen, state__in=[Card.State.ACTIVE, Card.State.HELD, Card.State.PRODUCED])
        .select_related("application__point__commune")
        .order_by("pk")
    )
    for card in revoked:
        old_state = card.state
        card.state = Card.State.REVOKED
        card.state_since = now
        card.state_reason = grounds_text
        card.save(update_fields=["state", "state_since", "state_reason"])
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_STATE_CHANGED,
            subject_type="card",
            subject_id=card.pk,
            data={"from": old_state, "to": Card.State.REVOKED, "grounds": "deceased", "serial": card.serial},
            reason=grounds_text,
            unit=card.application.point.commune,
        )
    open_applications = (
        Application.objects.select_for_update(of=("self",))
        .filter(citizen=citizen, status__in=Application.OPEN_STATUSES)
        .exclude(status=Status.IN_PRODUCTION)
        .select_related("point__commune")
    )
    # An application whose card was made and is revoked above says so, as a revocation before delivery
    # does; the others had no card yet.
    with_card_revoked = {card.application_id for card in revoked}
    for application in open_applications:
        application.status = Status.CANCELLED
        application.status_since = now
        if application.pk in with_card_revoked:
            application.cancellation_reason = cancelled_for_revocation(grounds_text)
        else:
            application.cancellation_reason = CANCELLED_FOR_DEATH
        application.save(update_fields=["status", "status_since", "cancellation_reason"])
        audit_event_record(
            actor=actor,
            event_type=EventType.CARD_APPLICATION_CANCELLED,
            subject_type="card_application",
            subject_id=application.pk,
            data=milestone_data(application),
            reason=application.cancellation_reason,
            unit=application.point.commune,
        )
    return revoked


def cards_expire_due(*, actor: Actor, today: date | None = None) -> int:
    """The daily job: active cards past their expiry become expired (one event per card). A card is
    valid through the date printed on it (`unexpired_on`), so it expires the day after."""
    today = today or timezone.localdate()
    count = 0
    due = Card.objects.filter(state=Card.State.ACTIVE).exclude(unexpired_on(today))
    for card in due.select_related("application__point__commune"):
        with transaction.atomic():
            updated = Card.objects.filter(pk=card.pk, state=Card.State.ACTIVE).update(
                state=Card.State.EXPIRED, state_since=timezone.now(), state_reason="Hết thời hạn sử dụng"
            )
            if updated:
                count += 1
                audit_event_record(
                    actor=actor,
                    event_type=EventType.CARD_STATE_CHANGED,
                    subject_type="card",
                    subject_id=card.pk,
                    data={"from": Card.State.ACTIVE, "to": Card.State.EXPIRED, "serial": card.serial},
                    unit=card.application.point.commune,
                )
    return count
