"""Officers, their police units and the jurisdiction that follows from the unit.

A police unit (đơn vị công an) mirrors an administrative unit: the ministry (Bộ Công an, C06) over the
whole country, a province police (Công an tỉnh, PC06), a legacy district police (Công an huyện, before
the 2025 reform) and a commune police (Công an xã/phường). An officer belongs to exactly one unit and
sees only the citizens who live in that unit's area.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class PoliceUnit(models.Model):
    class Level(models.TextChoices):
        MINISTRY = "ministry", _("Bộ Công an")
        PROVINCE = "province", _("Công an tỉnh/thành phố")
        DISTRICT = "district", _("Công an huyện (cũ)")
        COMMUNE = "commune", _("Công an xã/phường")

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    level = models.CharField(max_length=16, choices=Level.choices)
    # The area the unit answers for; null only for the ministry, whose area is the whole country.
    admin_unit = models.ForeignKey(
        "geo.AdminUnit", null=True, blank=True, on_delete=models.PROTECT, related_name="police_units"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="police_unit_area_unless_ministry",
                condition=models.Q(level="ministry") | models.Q(admin_unit__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """An account: an officer of a police unit, or a citizen's e-ID account (dancu.eid).

    A citizen's account has the role `citizen`, no police unit, and its PIN as the user name; it never
    reads anyone's record but its holder's own, and only through the portal's self-scoped selectors.
    """

    class Role(models.TextChoices):
        COLLECTOR = "collector", _("Cán bộ thu thập (công an xã)")
        COMMUNE_REVIEWER = "commune_reviewer", _("Cán bộ kiểm tra cấp xã")
        SUPERVISOR = "supervisor", _("Cán bộ phúc tra cấp huyện/tỉnh")
        MINISTRY_ADMIN = "ministry_admin", _("Quản trị cấp Bộ")
        AUDITOR = "auditor", _("Kiểm toán truy cập")
        CITIZEN = "citizen", _("Công dân (tài khoản định danh điện tử)")

    # An account's name is typed at every sign-in, on a station's keyboard or a phone's: letters without
    # tone marks only. A Vietnamese letter can be typed as one character or as a letter and combining
    # marks, and "quantri.bình" and "quantri.binh" would be two accounts that read alike in the trail.
    username = models.CharField(
        AbstractUser._meta.get_field("username").verbose_name,
        max_length=150,
        unique=True,
        help_text=_(
            "Tối đa 150 ký tự: chữ cái không dấu a-z, chữ số và các ký tự @ . + - _ (ví dụ canbo.hoankiem)"
        ),
        validators=[ASCIIUsernameValidator()],
        error_messages={"unique": AbstractUser._meta.get_field("username").error_messages["unique"]},
    )
    role = models.CharField(_("vai trò"), max_length=32, choices=Role.choices, blank=True)
    police_unit = models.ForeignKey(
        PoliceUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="officers",
        verbose_name=_("đơn vị công an"),
    )

    class Meta:
        constraints = [
            # One account per name, case aside: "ROOT.c06" beside "root.c06" is the same name to the people
            # who type and read it, and to the trail. The services say so first (`username.taken`); this
            # holds it on every other path (`dancu createsuperuser`, the admin's account page, the shell)
            # and under concurrency.
            models.UniqueConstraint(
                Lower("username"),
                name="user_username_unique_case_insensitive",
                violation_error_code="username.taken",
                violation_error_message=_(
                    "Đã có tài khoản mang tên đăng nhập này (không phân biệt chữ hoa, chữ thường) "
                    "[username.taken]"
                ),
            ),
            # An officer without a unit would have an undefined jurisdiction; only accounts without a
            # role (the Django superuser used for emergencies) may lack one. A citizen's account must
            # lack one: a unit would give it an officer's jurisdiction.
            models.CheckConstraint(
                name="officer_has_police_unit",
                condition=(models.Q(role="citizen") & models.Q(police_unit__isnull=True))
                | (~models.Q(role="citizen") & (models.Q(role="") | models.Q(police_unit__isnull=False))),
            ),
        ]

    @property
    def is_officer(self) -> bool:
        return bool(self.role) and self.role != self.Role.CITIZEN and self.police_unit_id is not None

    @property
    def is_citizen(self) -> bool:
        return self.role == self.Role.CITIZEN

    @property
    def writes_registry(self) -> bool:
        """Whether the registry's own write pages (add a citizen, register a residence, household changes)
        are for this officer. An officer of a pre-2025 unit (a district police before the reform) reads
        the records declared in its old units, but every residence is written in a 2025 commune, which
        lies outside such an area: the pages would only refuse them."""
        if not self.is_officer:
            return False
        area = self.police_unit.admin_unit if self.police_unit is not None else None
        return area is None or area.structure != "legacy"

    @property
    def registers_arrivals(self) -> bool:
        """Whether this officer registers the permanent residence of people moving into their commune
        (đăng ký thường trú cho người chuyển đến), and the stay of people from elsewhere staying in it
        (đăng ký tạm trú): the police of a 2025 commune, where the law has the citizen apply. The auditor
        reads the log, and no record."""
        if not (self.is_active and self.is_officer and self.role != self.Role.AUDITOR):
            return False
        area = self.police_unit.admin_unit if self.police_unit is not None else None
        return area is not None and area.structure == "2025" and area.level == "commune"

    def display_name(self) -> str:
        return self.get_full_name() or self.username


class ApiToken(models.Model):
    """A bearer token for the officer API. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def new_secret() -> str:
        return "dcu_" + secrets.token_urlsafe(32)
