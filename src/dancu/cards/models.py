"""Thẻ căn cước: intake points, applications, biometrics, production batches and the cards themselves.

An application is taken by an officer at an intake point (a commune police station or a mobile team,
tổ thu nhận lưu động) during one of the point's shifts, reviewed at province level, sent to the card
production centre in a batch, and the card it yields is delivered to the citizen, at which moment the
previous card ends. Invariants that must hold under concurrency (one open application per citizen, one
active card per citizen, one image of each kind per application) are database constraints.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The three intake shifts of a day (ca thu nhận), local time: the campaign ran sets from 7:00 to 22:00.
SHIFTS: dict[str, tuple[int, int]] = {"1": (7, 12), "2": (12, 17), "3": (17, 22)}


def shift_label(key: str) -> str:
    """A shift as people name it, in the reader's language ("Ca 1 (7:00–12:00)"); a value that is no shift
    of ours (a shift named in words by an older source) as it is."""
    hours = SHIFTS.get(key)
    if hours is None:
        return key
    return gettext("Ca %(n)s (%(start)s:00–%(end)s:00)") % {"n": key, "start": hours[0], "end": hours[1]}


class IntakePoint(models.Model):
    """Điểm thu nhận: a fixed station or a mobile team, filed under the 2025 commune it works for."""

    class Kind(models.TextChoices):
        STATION = "station", _("Điểm cố định")
        MOBILE = "mobile", _("Tổ thu nhận lưu động")

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The commune the work counts toward: campaign figures are tallied per commune from the trail.
    commune = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+")
    # The team's name for a mobile team ("Tổ 2 — KCN Thăng Long"); blank for a station.
    team = models.CharField(max_length=100, blank=True)
    # Which of the three shifts the point runs, e.g. "123" or "12".
    shifts = models.CharField(max_length=3, default="123")
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="intake_point_mobile_has_team", condition=~Q(kind="mobile") | ~Q(team="")
            ),
            models.CheckConstraint(name="intake_point_shifts", condition=Q(shifts__regex=r"^1?2?3?$")),
        ]

    def __str__(self) -> str:
        return self.name


class IntakeDevice(models.Model):
    """A capture set (bộ thu nhận): camera, ten-print scanner, signature pad and, on some, an iris camera."""

    point = models.ForeignKey(IntakePoint, on_delete=models.PROTECT, related_name="devices")
    serial = models.CharField(max_length=64, unique=True)
    has_iris = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.serial


class ApplicationKind(models.TextChoices):
    FIRST_ISSUE = "first_issue", _("Cấp lần đầu")
    RENEWAL = "renewal", _("Cấp đổi khi đủ tuổi")
    CHANGE_OF_DATA = "change_of_data", _("Cấp đổi do thay đổi thông tin")
    PIN_REISSUED = "pin_reissued", _("Cấp đổi do xác lập lại số định danh")
    LOST_OR_DAMAGED = "lost_or_damaged", _("Cấp lại do mất, hư hỏng")
    CONVERSION = "conversion", _("Chuyển đổi từ CMND/thẻ cũ")


class FeeCategory(models.TextChoices):
    """Who pays no fee (Thông tư 59/2019/TT-BTC art. 5, kept by its successors)."""

    NONE = "", _("Không thuộc diện miễn")
    MARTYR_FAMILY = "martyr_family", _("Thân nhân liệt sĩ")
    WAR_INVALID = "war_invalid", _("Thương binh, bệnh binh")
    POOR_HOUSEHOLD = "poor_household", _("Hộ nghèo")
    ETHNIC_HARDSHIP = "ethnic_hardship", _("Dân tộc thiểu số ở xã đặc biệt khó khăn")
    BORDER_COMMUNE = "border_commune", _("Thường trú tại xã biên giới")
    ORPHAN = "orphan", _("Trẻ em mồ côi dưới 18 tuổi")
    STATE_CHANGE = "state_change", _("Do Nhà nước thay đổi địa giới, sai sót của cơ quan cấp")


class FeeRate(models.Model):
    """The dated fee table (lệ phí): a row holds from `valid_from` until the next row of the same kind."""

    kind = models.CharField(max_length=32, choices=ApplicationKind.choices)
    valid_from = models.DateField()
    amount = models.PositiveIntegerField()  # VND
    legal_basis = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "valid_from"], name="fee_rate_kind_from")]

    def __str__(self) -> str:
        return f"{self.kind} {self.valid_from}: {self.amount}"


class Application(models.Model):
    """Hồ sơ đề nghị cấp thẻ: one request for a card, from intake to delivery."""

    class Status(models.TextChoices):
        WAITING_CORRECTION = "waiting_correction", _("Chờ điều chỉnh thông tin (DC02)")
        TAKEN = "taken", _("Đã thu nhận, chờ duyệt")
        APPROVED = "approved", _("Đã duyệt, chờ sản xuất")
        REJECTED = "rejected", _("Bị từ chối")
        IN_PRODUCTION = "in_production", _("Đang sản xuất")
        PRODUCTION_FAILED = "production_failed", _("Trung tâm sản xuất từ chối")
        PRODUCED = "produced", _("Đã sản xuất, chờ trả thẻ")
        DELIVERED = "delivered", _("Đã trả thẻ")
        # Closed before delivery: the citizen died, or the card made for it was revoked (issued wrongly,
        # nationality lost). The citizen may apply again where the law allows.
        CANCELLED = "cancelled", _("Đã huỷ")

    class Delivery(models.TextChoices):
        STATION = "station", _("Nhận tại nơi làm thủ tục")
        POST = "post", _("Nhận qua bưu chính")

    citizen = models.ForeignKey(
        "registry.Citizen", on_delete=models.PROTECT, related_name="card_applications"
    )
    kind = models.CharField(max_length=32, choices=ApplicationKind.choices)
    status = models.CharField(max_length=32, choices=Status.choices)
    status_since = models.DateTimeField()
    point = models.ForeignKey(IntakePoint, on_delete=models.PROTECT, related_name="applications")
    device = models.ForeignKey(
        IntakeDevice, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    shift = models.CharField(max_length=1)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    taken_at = models.DateTimeField()
    # Hẹn trả: 7 working days after intake; reset when a DC02 correction holds the application.
    due_on = models.DateField()
    fee_amount = models.PositiveIntegerField()
    fee_category = models.CharField(max_length=32, choices=FeeCategory.choices, blank=True)
    # Under 14 a card is issued on request of the legal representative, who is named here.
    representative = models.CharField(max_length=100, blank=True)
    # Why the card is re-issued (lost, damaged), or the number of the old card that is converted.
    reason = models.CharField(max_length=300, blank=True)
    correction_form = models.ForeignKey(
        "collection.CollectionForm", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    delivery = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.STATION)
    postal_address = models.CharField(max_length=300, blank=True)

    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    batch = models.ForeignKey(
        "ProductionBatch", null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    production_error = models.CharField(max_length=300, blank=True)
    # Why the application was cancelled (status CANCELLED), written by the service that closes it: the
    # citizen died, or the card made for it was revoked before delivery, with the revocation's grounds.
    cancellation_reason = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who signed for the card: the citizen, or the postman's proof of delivery.
    received_by = models.CharField(max_length=200, blank=True)

    OPEN_STATUSES = (
        Status.WAITING_CORRECTION,
        Status.TAKEN,
        Status.APPROVED,
        Status.IN_PRODUCTION,
        Status.PRODUCED,
    )

    class Meta:
        constraints = [
            # One application in progress per citizen, whatever the code does.
            models.UniqueConstraint(
                fields=["citizen"],
                condition=Q(
                    status__in=["waiting_correction", "taken", "approved", "in_production", "produced"]
                ),
                name="application_one_open_per_citizen",
            ),
            models.CheckConstraint(name="application_shift", condition=Q(shift__in=list(SHIFTS))),
            models.CheckConstraint(
                name="application_post_has_address",
                condition=~Q(delivery="post") | ~Q(postal_address=""),
            ),
            # A cancelled application always says why: the officers and the citizen are told.
            models.CheckConstraint(
                name="application_cancelled_has_reason",
                condition=~Q(status="cancelled") | ~Q(cancellation_reason=""),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_on"], name="application_queue"),
            models.Index(fields=["point", "taken_at"], name="application_point_day"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        """Số biên nhận, as printed on the receipt."""
        return f"HS{self.pk:010d}" if self.pk else "HS-"


class Biometric(models.Model):
    """One captured image: the face photo, a finger, an iris or the signature."""

    class Kind(models.TextChoices):
        FACE = "face", _("Ảnh chân dung")
        RIGHT_THUMB = "finger_1", _("Ngón cái phải")
        RIGHT_INDEX = "finger_2", _("Ngón trỏ phải")
        RIGHT_MIDDLE = "finger_3", _("Ngón giữa phải")
        RIGHT_RING = "finger_4", _("Ngón áp út phải")
        RIGHT_LITTLE = "finger_5", _("Ngón út phải")
        LEFT_THUMB = "finger_6", _("Ngón cái trái")
        LEFT_INDEX = "finger_7", _("Ngón trỏ trái")
        LEFT_MIDDLE = "finger_8", _("Ngón giữa trái")
        LEFT_RING = "finger_9", _("Ngón áp út trái")
        LEFT_LITTLE = "finger_10", _("Ngón út trái")
        IRIS_RIGHT = "iris_right", _("Mống mắt phải")
        IRIS_LEFT = "iris_left", _("Mống mắt trái")
        SIGNATURE = "signature", _("Chữ ký")

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="biometrics")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    image = models.BinaryField()
    image_format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    captured_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "kind"], name="biometric_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.kind}"


class ProductionBatch(models.Model):
    """Lô sản xuất: approved applications of one province sent together to the card production centre."""

    class Status(models.TextChoices):
        EXPORTED = "exported", _("Đã gửi trung tâm sản xuất")
        IMPORTED = "imported", _("Đã nhận kết quả sản xuất")

    number = models.CharField(max_length=32, unique=True)
    province = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.EXPORTED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    size = models.PositiveIntegerField()
    # The export file's SHA-256 and the issuer's signature over the manifest naming it.
    export_sha256 = models.CharField(max_length=64)
    manifest = models.JSONField(default=dict)
    # The export file exactly as sent (JSON lines): kept with the batch so the signed digest can always
    # be checked against it.
    export = models.BinaryField()
    imported_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.number


class IssuerKey(models.Model):
    """A signing key of an issuing authority (C06). Old keys are retired, never deleted: cards they signed
    must keep verifying. The private half lives in a file under the var directory, outside the database."""

    key_id = models.CharField(max_length=64, unique=True)
    authority = models.CharField(max_length=200)
    public_key = models.CharField(max_length=64)  # raw Ed25519 public key, base64url
    created_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["authority"], condition=Q(retired_at__isnull=True), name="issuer_key_one_current"
            ),
        ]

    def __str__(self) -> str:
        return self.key_id


def unexpired_on(day: date) -> Q:
    """Cards not past their expiry date on `day`: a card is valid through the date printed on it, and a
    card issued at 60 or later has none. A filter on `Card` and on the registry's `IdentityCardRecord`
    alike, so that the chip cards a campaign counts follow the same rule as the cards this app issues."""
    return Q(expires_on__isnull=True) | Q(expires_on__gte=day)


class CardQuerySet(models.QuerySet["Card"]):
    def valid_on(self, day: date) -> CardQuerySet:
        """The cards in use on `day`: active and not past their expiry date. The date is read as well as
        the state because the daily job that marks expired cards may not have run yet."""
        return self.filter(unexpired_on(day), state=Card.State.ACTIVE)


class Card(models.Model):
    """A card that was produced: its number is the PIN, its serial the production centre's."""

    class State(models.TextChoices):
        PRODUCED = "produced", _("Đã sản xuất, chưa trả")
        ACTIVE = "active", _("Đang sử dụng")
        EXPIRED = "expired", _("Hết hạn")
        LOST = "lost", _("Bị mất")
        REVOKED = "revoked", _("Bị thu hồi")
        HELD = "held", _("Bị tạm giữ")
        REPLACED = "replaced", _("Đã được thay thế")

    citizen = models.ForeignKey("registry.Citizen", on_delete=models.PROTECT, related_name="cards")
    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="card")
    number = models.CharField(max_length=12)
    serial = models.CharField(max_length=32, unique=True)
    issued_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    issued_by = models.CharField(max_length=200)
    # What is printed on the card, as it was on the day of issue (the registry record may change later).
    printed = models.JSONField(default=dict)
    chip_document = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices)
    state_since = models.DateTimeField()
    # The legal grounds of a revocation or hold, or how the loss was reported.
    state_reason = models.CharField(max_length=500, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaces"
    )

    objects = CardQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["citizen"], condition=Q(state="active"), name="card_one_active_per_citizen"
            ),
            models.CheckConstraint(
                name="card_expires_after_issue_date",
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("issued_on")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.serial})"

    def is_expired_on(self, day: date) -> bool:
        """The rule of `unexpired_on` for a card already read: past the date printed on it."""
        return self.expires_on is not None and self.expires_on < day
