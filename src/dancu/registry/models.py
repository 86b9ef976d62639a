"""The National Population Database: citizens, households, family links, residences and history.

What the registry holds per citizen follows Luật Căn cước 2023 art. 9 (see DESIGN.md). Invariants that
must hold under concurrency (one PIN per person, one current permanent residence, one head per
household) are database constraints; services check them first only to give a friendly message.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dancu.lib.fields import JSONDocumentField
from dancu.lib.partial_date import PartialDateField


class Sex(models.TextChoices):
    MALE = "M", _("Nam")
    FEMALE = "F", _("Nữ")


class MaritalStatus(models.TextChoices):
    UNKNOWN = "", _("Chưa rõ")
    SINGLE = "single", _("Chưa kết hôn")
    MARRIED = "married", _("Đã kết hôn")
    DIVORCED = "divorced", _("Đã ly hôn")
    WIDOWED = "widowed", _("Goá")


class Citizen(models.Model):
    # Số định danh cá nhân: 12 digits, given once and never reused (see PinRecord for the ledger).
    pin = models.CharField(max_length=12)
    # Stored exactly as declared, in Unicode NFC; `name_key` is the folded search key kept in sync by
    # the services (no tone marks, đ->d, lower case).
    full_name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=100)
    other_names = models.CharField(max_length=200, blank=True)
    # Legacy records may know only the year, or the year and month; never invent the rest.
    birth_date = PartialDateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    birth_place = models.CharField(max_length=300, blank=True)
    birth_place_unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Nơi đăng ký khai sinh: the province (or country) code that is the PIN's prefix.
    birth_registration_place = models.CharField(max_length=3)
    native_place = models.CharField(max_length=300, blank=True)  # quê quán
    native_place_unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    ethnicity = models.CharField(max_length=2, default="01")
    religion = models.CharField(max_length=2, default="00")
    nationality = models.CharField(max_length=2, default="VN")
    blood_type = models.CharField(max_length=3, blank=True)
    blood_type_source = models.CharField(max_length=200, blank=True)
    # CMND. NULL, not "", for "none": the unique constraint must allow many citizens without one.
    old_id_number = models.CharField(max_length=9, null=True, blank=True)  # noqa: DJ001
    marital_status = models.CharField(max_length=16, choices=MaritalStatus.choices, blank=True)
    date_of_death = PartialDateField(null=True, blank=True)
    missing_declared_on = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    email = models.EmailField(max_length=200, blank=True)

    # The area that decides which police units see the record: the 2025 commune and province of the
    # current permanent (else temporary, else current) residence, and the legacy commune when the
    # address was declared in the old units. Kept in sync by the residence services; denormalized so
    # that jurisdiction filters are plain indexed equality tests on 100 million rows.
    area_commune = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    area_province = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    area_legacy_commune = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # Set when a merge found this record to be a duplicate of another (see CitizenMerge): the record is
    # kept, readable with its history, but every lookup leads to the record it was merged into. No index
    # of its own: merges are found through CitizenMerge, and each index costs on a national load.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Every index costs on each of the 100 million inserts of a national load, so there is one per
        # way the registry is read and no more: Django's implicit indexes (foreign keys, and the extra
        # LIKE index it adds for each unique or indexed text column on PostgreSQL) are switched off
        # where an index below already serves, and unique PINs and CMNDs are plain unique constraints.
        indexes = [
            # Scoped searches: a commune's or a province's citizens by name.
            models.Index(fields=["area_commune", "name_key"], name="citizen_commune_name"),
            models.Index(fields=["area_province", "name_key"], name="citizen_province_name"),
            # Nationwide searches by the start of the folded name or of the date of birth ("1990-05").
            # The pattern operator class lets PostgreSQL serve LIKE 'x%' whatever the database collation;
            # other databases ignore it. On PostgreSQL, migration 0003 then puts name_key in collation
            # "C" and makes its index a plain one, which also serves ORDER BY name_key (see there).
            models.Index(fields=["name_key"], name="citizen_name_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(
                fields=["birth_date"], name="citizen_birth_prefix", opclasses=["varchar_pattern_ops"]
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["pin"], name="citizen_pin_unique"),
            models.UniqueConstraint(fields=["old_id_number"], name="citizen_old_id_unique"),
            models.CheckConstraint(name="citizen_pin_12_digits", condition=Q(pin__regex=r"^[0-9]{12}$")),
            models.CheckConstraint(
                name="citizen_old_id_9_digits",
                condition=Q(old_id_number__isnull=True) | Q(old_id_number__regex=r"^[0-9]{9}$"),
            ),
            # Blood type is recorded only with the medical result it comes from.
            models.CheckConstraint(
                name="citizen_blood_type_has_source",
                condition=Q(blood_type="") | ~Q(blood_type_source=""),
            ),
            models.CheckConstraint(
                name="citizen_not_merged_into_self", condition=~Q(merged_into=models.F("pk"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.pin})"

    @property
    def is_deceased(self) -> bool:
        return self.date_of_death is not None


class PinRecord(models.Model):
    """Ledger of every PIN ever given: a PIN is never reused, even after it is cancelled."""

    pin = models.CharField(max_length=12)
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="pin_records")
    issued_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaces"
    )
    # A PIN cancelled because its record was merged into another: the PIN that stayed. Not replaced_by,
    # which is one-to-one (one PIN re-issued for one cancelled after a change of sex), while one kept PIN
    # may absorb the PINs of several duplicate records.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="absorbed", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pin"], name="pin_record_pin_unique")]

    def __str__(self) -> str:
        return self.pin


class IdentityCardRecord(models.Model):
    """A card issued to the citizen (art. 9: issue date, place, expiry); the cards app manages its life."""

    class Kind(models.TextChoices):
        CMND = "cmnd", _("Chứng minh nhân dân")
        CCCD = "cccd", _("Căn cước công dân")
        CAN_CUOC = "can_cuoc", _("Thẻ căn cước")

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="card_records")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    number = models.CharField(max_length=12)
    issued_on = models.DateField()
    issued_by = models.CharField(max_length=200)
    # Cards issued at 60 or later do not expire.
    expires_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="card_expires_after_issue",
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("issued_on")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class Household(models.Model):
    """Hộ: the people registered together at one permanent residence, with one head (chủ hộ)."""

    # Số hồ sơ cư trú: the residence file number that replaced the paper household book (sổ hộ khẩu).
    number = models.CharField(max_length=20, unique=True)
    commune = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+")
    legacy_commune = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    address_detail = models.CharField(max_length=300)
    # The address exactly as it was declared (often in the old three-level units).
    address_original = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.number


class Relation(models.TextChoices):
    """Quan hệ với chủ hộ: a member's relation to the household head."""

    HEAD = "head", _("Chủ hộ")
    SPOUSE = "spouse", _("Vợ/Chồng")
    CHILD = "child", _("Con")
    FATHER = "father", _("Cha")
    MOTHER = "mother", _("Mẹ")
    GRANDCHILD = "grandchild", _("Cháu")
    GRANDPARENT = "grandparent", _("Ông/Bà")
    SIBLING = "sibling", _("Anh/Chị/Em")
    CHILD_IN_LAW = "child_in_law", _("Con dâu/Con rể")
    OTHER = "other", _("Khác")


class HouseholdMember(models.Model):
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="memberships")
    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="household_memberships")
    relation_to_head = models.CharField(max_length=16, choices=Relation.choices)
    joined_on = models.DateField()
    left_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(relation_to_head="head", left_on__isnull=True),
                name="household_one_current_head",
            ),
            models.UniqueConstraint(
                fields=["citizen"], condition=Q(left_on__isnull=True), name="citizen_one_current_household"
            ),
            models.CheckConstraint(
                name="membership_left_after_joined",
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("joined_on")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id}:{self.citizen_id} {self.relation_to_head}"


class FamilyLink(models.Model):
    """Cha, mẹ, vợ/chồng, con, người đại diện: a relative in the registry or known by name only."""

    class Kind(models.TextChoices):
        FATHER = "father", _("Cha")
        MOTHER = "mother", _("Mẹ")
        SPOUSE = "spouse", _("Vợ/Chồng")
        CHILD = "child", _("Con")
        LEGAL_REPRESENTATIVE = "representative", _("Người đại diện hợp pháp")
        REPRESENTED = "represented", _("Người được đại diện")

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="family_links")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    relative = models.ForeignKey(
        Citizen, null=True, blank=True, on_delete=models.PROTECT, related_name="family_links_as_relative"
    )
    relative_name = models.CharField(max_length=100)
    relative_pin = models.CharField(max_length=12, blank=True)
    relative_old_id = models.CharField(max_length=9, blank=True)
    relative_nationality = models.CharField(max_length=2, default="VN")
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["citizen", "kind"],
                condition=Q(kind__in=["father", "mother"]),
                name="citizen_one_father_one_mother",
            ),
            models.UniqueConstraint(
                fields=["citizen", "kind", "relative"],
                condition=Q(relative__isnull=False),
                name="family_link_unique_relative",
            ),
            models.CheckConstraint(name="family_link_not_self", condition=~Q(relative=models.F("citizen"))),
        ]

    def __str__(self) -> str:
        return f"{self.citizen_id} {self.kind} {self.relative_name}"


class Residence(models.Model):
    """Nơi thường trú / tạm trú / nơi ở hiện tại (Luật Cư trú 2020)."""

    class Kind(models.TextChoices):
        PERMANENT = "permanent", _("Thường trú")
        TEMPORARY = "temporary", _("Tạm trú")
        CURRENT = "current", _("Nơi ở hiện tại")

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="residences")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Served by the (commune, kind) index below.
    commune = models.ForeignKey("geo.AdminUnit", on_delete=models.PROTECT, related_name="+", db_index=False)
    legacy_commune = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    address_detail = models.CharField(max_length=300)
    address_original = models.CharField(max_length=500, blank=True)
    # Folded address detail (no tone marks, lower case) so that "ngo 34" finds "Ngõ 34".
    address_key = models.CharField(max_length=300, blank=True)
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.PROTECT, related_name="residences"
    )
    registered_on = models.DateField()
    # Temporary residence is granted for a period of up to two years, renewable.
    expires_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            # One current permanent residence, at most one current temporary residence and one
            # current place of living per citizen: guaranteed here, whatever the code does.
            models.UniqueConstraint(
                fields=["citizen", "kind"],
                condition=Q(ended_on__isnull=True),
                name="residence_one_current_per_kind",
            ),
            models.CheckConstraint(
                name="residence_temporary_has_expiry",
                condition=~Q(kind="temporary") | Q(expires_on__isnull=False),
            ),
            models.CheckConstraint(
                name="residence_expiry_after_start",
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("registered_on")),
            ),
            models.CheckConstraint(
                name="residence_end_after_start",
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("registered_on")),
            ),
        ]
        indexes = [
            models.Index(fields=["commune", "kind"], name="residence_commune_kind"),
            # The people staying in an area (selectors.stays_list), by end date: only the current
            # temporary residences, a few in a hundred residences, so the index costs little on a load.
            models.Index(
                fields=["commune", "expires_on"],
                name="residence_current_stay",
                condition=Q(kind="temporary", ended_on__isnull=True),
            ),
            # The same stays by end date alone, for a province's or the country's list: walked in order,
            # the rows outside the province are passed over, rather than every stay of the area sorted.
            models.Index(
                fields=["expires_on", "id"],
                name="residence_current_stay_expiry",
                condition=Q(kind="temporary", ended_on__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.citizen_id} {self.kind} {self.commune_id}"

    @property
    def is_current(self) -> bool:
        return self.ended_on is None

    def expired_on(self, day: date) -> bool:
        """A current temporary residence past its end date on `day`: it counts until it is ended, and
        renewing or ending it is the work of its commune (selectors.stays_list puts these first)."""
        return self.ended_on is None and self.expires_on is not None and self.expires_on < day

    @property
    def is_expired(self) -> bool:
        return self.expired_on(timezone.localdate())


class AbsenceDeclaration(models.Model):
    """Khai báo tạm vắng: the citizen is away from their residence for a declared period."""

    class Status(models.TextChoices):
        """Where a declaration stands today (`status`): the one reading the record page, the portal and the
        API share, each showing it in its own words."""

        UPCOMING = "upcoming"  # sắp đi: the period has not begun
        CURRENT = "current"  # đang tạm vắng: away today
        EXPIRED = "expired"  # đã hết hạn: the declared period ran out
        RETURNED = "returned"  # đã trở về: came back before the declared end
        ENDED_BY_MOVE = "ended_by_move"  # kết thúc do chuyển nơi thường trú: a move elsewhere ended it
        WITHDRAWN = "withdrawn"  # đã huỷ khai báo: withdrawn before it began
        DECEASED = "deceased"  # the person died with it open: a dead person is away from nowhere

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="absences")
    starts_on = models.DateField()
    ends_on = models.DateField()
    destination = models.CharField(max_length=300)
    reason = models.CharField(max_length=300)
    # The day the person came back before the end of the declared period; the absence then ends here.
    returned_on = models.DateField(null=True, blank=True)
    # The absence was ended by a move registered by the commune moved to (on `returned_on`), not by a
    # return: the pages say "chuyển nơi thường trú", since the person did not come back.
    ended_by_move = models.BooleanField(default=False)
    # Huỷ khai báo tạm vắng: the day the declaration was withdrawn, before its period began (the person did
    # not leave after all). The row stays, so the record's history still shows what was declared and that
    # it was withdrawn; a withdrawn declaration is away from nowhere and blocks no other period.
    withdrawn_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="absence_ends_after_start", condition=Q(ends_on__gte=models.F("starts_on"))
            ),
            models.CheckConstraint(
                name="absence_returned_after_start",
                condition=Q(returned_on__isnull=True) | Q(returned_on__gte=models.F("starts_on")),
            ),
            # Only a period not yet begun is withdrawn, and a person never comes back from one withdrawn.
            models.CheckConstraint(
                name="absence_withdrawn_before_start",
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__lt=models.F("starts_on")),
            ),
            models.CheckConstraint(
                name="absence_withdrawn_not_returned",
                condition=Q(withdrawn_on__isnull=True) | Q(returned_on__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.citizen_id} {self.starts_on}–{self.ends_on}"

    @property
    def last_day(self) -> date:
        """The last day the person is away: the eve of their return, or the end of the declared period."""
        if self.returned_on is not None:
            return self.returned_on - timedelta(days=1)
        return self.ends_on

    def is_current_on(self, day: date) -> bool:
        return self.withdrawn_on is None and self.starts_on <= day <= self.last_day

    @property
    def is_current(self) -> bool:
        """Away today: the period has begun, has not run out, and the person has not come back."""
        return self.is_current_on(timezone.localdate())

    @property
    def is_future(self) -> bool:
        return (
            self.returned_on is None and self.withdrawn_on is None and self.starts_on > timezone.localdate()
        )

    @property
    def status(self) -> AbsenceDeclaration.Status:
        """A declaration closed (by a return, a move or its withdrawal) says how, whatever happened since;
        an open one of a person who has died is over; otherwise the days decide. The citizen is read from
        the cache the record's related set fills, so a page of declarations costs no query."""
        if self.withdrawn_on is not None:
            return self.Status.WITHDRAWN
        if self.ended_by_move:
            return self.Status.ENDED_BY_MOVE
        if self.returned_on is not None:
            return self.Status.RETURNED
        if self.citizen.is_deceased:
            return self.Status.DECEASED
        if self.is_current:
            return self.Status.CURRENT
        if self.is_future:
            return self.Status.UPCOMING
        return self.Status.EXPIRED


class RecordVersion(models.Model):
    """An immutable snapshot of a record after each change: who, when, why and from which document.

    A citizen's snapshot embeds their residences and household membership, so that "the state of the
    record on any past date" is one lookup: the latest version recorded on or before that date.
    """

    class Entity(models.TextChoices):
        CITIZEN = "citizen", _("Công dân")
        HOUSEHOLD = "household", _("Hộ")

    entity = models.CharField(max_length=16, choices=Entity.choices)
    entity_id = models.BigIntegerField()
    version = models.PositiveIntegerField()
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    actor_label = models.CharField(max_length=150)
    event = models.ForeignKey(
        "audit.AuditEvent", null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reason = models.TextField(blank=True)
    source_document = models.CharField(max_length=200, blank=True)
    snapshot = JSONDocumentField()

    class Meta:
        # The unique index also serves "the latest version recorded before a date": it is read backwards
        # from the newest version of the one record.
        constraints = [
            models.UniqueConstraint(fields=["entity", "entity_id", "version"], name="record_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.entity}:{self.entity_id} v{self.version}"


class CitizenMerge(models.Model):
    """Two records found to be the same person: one is kept, the other absorbed into it.

    The merge is a list of row changes (`changes`), written in order and undone in reverse order, each
    with its old and new values: undo restores exactly what was there, and refuses when a later change
    touched one of the same values (see registry.services.citizen_merge_undo).
    """

    kept = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="merges_kept")
    absorbed = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="merges_absorbed")
    # The rule that chose the PIN that stayed, and the explicit choices the officer gave for conflicts.
    pin_rule = models.CharField(max_length=32)
    choices = models.JSONField(default=dict, blank=True)
    # [{"model", "pk", "old": {field: value}, "new": {field: value}}] in the order written.
    changes = models.JSONField(default=list)
    # What moved, for people reading the merge ("3 residences, 1 card, CMND ...").
    summary = models.JSONField(default=dict, blank=True)
    # Who asked for it beyond the actor, as text so the registry does not depend on the matching app
    # ("matching.pair:12"); blank for a merge made directly.
    origin = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    source_document = models.CharField(max_length=200, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    merged_label = models.CharField(max_length=150)
    merged_at = models.DateTimeField()
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    undone_label = models.CharField(max_length=150, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undo_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(name="merge_two_records", condition=~Q(kept=models.F("absorbed"))),
            # A record is absorbed at most once at a time; an undone merge no longer counts.
            models.UniqueConstraint(
                fields=["absorbed"], condition=Q(undone_at__isnull=True), name="merge_absorbed_once"
            ),
        ]

    def __str__(self) -> str:
        return f"merge {self.absorbed_id} -> {self.kept_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
