"""Administrative units (đơn vị hành chính) of Vietnam, in both structures the registry must understand.

Since 1-7-2025 the country has 34 provinces and 3,321 communes (xã, phường, đặc khu) with no district
level. Records collected before then name one of 63 provinces, about 700 districts and about 10,000
communes. Both structures live in the one `AdminUnit` table, told apart by `structure`, so that an
address can point at whichever unit its source document names; `UnitSuccession` maps each legacy unit
to the 2025 unit(s) that took over its territory.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# The words a unit's full name starts with (loại đơn vị), longest first so that "Thành phố" and "Thị xã"
# win over any shorter prefix. Provinces are "Tỉnh" or "Thành phố" (centrally governed city), legacy
# districts "Quận", "Huyện", "Thị xã" or "Thành phố" (provincial city), communes "Phường", "Xã",
# "Thị trấn" (legacy township) or "Đặc khu" (2025 special zone, the former island districts).
UNIT_KINDS: tuple[str, ...] = (
    "Thành phố",
    "Thị trấn",
    "Đặc khu",
    "Thị xã",
    "Phường",
    "Huyện",
    "Quận",
    "Tỉnh",
    "Xã",
)


class AdminUnit(models.Model):
    """One province, district or commune, as published by the General Statistics Office (GSO)."""

    class Structure(models.TextChoices):
        CURRENT = "2025", _("Từ 1-7-2025 (2 cấp)")
        LEGACY = "legacy", _("Trước 1-7-2025 (3 cấp)")

    class Level(models.TextChoices):
        PROVINCE = "province", _("Tỉnh/thành phố")
        # Districts (cấp huyện: quận, huyện, thị xã, thành phố thuộc tỉnh) exist only in the legacy
        # structure; a check constraint below keeps them there.
        DISTRICT = "district", _("Quận/huyện")
        COMMUNE = "commune", _("Xã/phường")

    structure = models.CharField(_("cơ cấu"), max_length=6, choices=Structure.choices)
    level = models.CharField(_("cấp"), max_length=8, choices=Level.choices)
    # GSO codes are fixed-width digit strings ("01", "001", "00001"); leading zeros are significant, so
    # they are text, never integers.
    code = models.CharField(_("mã"), max_length=5)
    name = models.CharField(_("tên đầy đủ"), max_length=100)
    short_name = models.CharField(_("tên"), max_length=100)
    kind = models.CharField(_("loại"), max_length=20)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("trực thuộc"),
    )
    # Denormalized from the ancestry so that jurisdiction filters ("everything in province 01") need
    # no join; the loader keeps it equal to the province's own code.
    province_code = models.CharField(_("mã tỉnh"), max_length=2, db_index=True)
    # The folded full name (lowercase, no tone marks, đ -> d), so that "hong ha" finds "Hồng Hà".
    search_key = models.CharField(_("khoá tìm kiếm"), max_length=100)
    # Materialized path such as "2025/01/00097" or "legacy/01/001/00001": a subtree is one indexed
    # prefix query instead of a recursive walk.
    path = models.CharField(_("đường dẫn"), max_length=32, unique=True)

    class Meta:
        verbose_name = _("đơn vị hành chính")
        verbose_name_plural = _("đơn vị hành chính")
        ordering = ("structure", "path")
        constraints = (
            models.UniqueConstraint(fields=("structure", "level", "code"), name="geo_adminunit_unique_code"),
            models.CheckConstraint(
                condition=~Q(level="district") | Q(structure="legacy"),
                name="geo_adminunit_district_only_legacy",
            ),
            models.CheckConstraint(
                condition=(Q(level="province") & Q(parent__isnull=True))
                | (~Q(level="province") & Q(parent__isnull=False)),
                name="geo_adminunit_parent_unless_province",
            ),
        )

    def __str__(self) -> str:
        province = self.province
        if province is None or province.pk == self.pk:
            return self.name
        return f"{self.name}, {province.name}"

    @property
    def is_legacy(self) -> bool:
        return self.structure == self.Structure.LEGACY

    @property
    def province(self) -> AdminUnit | None:
        """The province this unit belongs to (itself for a province), walking at most two parents."""
        unit: AdminUnit | None = self
        while unit is not None and unit.level != self.Level.PROVINCE:
            unit = unit.parent
        return unit

    def ancestors(self) -> list[AdminUnit]:
        """This unit and its parents, innermost first: commune, (district,) province."""
        chain: list[AdminUnit] = []
        unit: AdminUnit | None = self
        while unit is not None:
            chain.append(unit)
            unit = unit.parent
        return chain

    def full_name(self) -> str:
        """The address form of the name: "Phường Phúc Xá, Quận Ba Đình, Thành phố Hà Nội" for a legacy
        commune, "Phường Hồng Hà, Thành phố Hà Nội" for a 2025 one."""
        return ", ".join(unit.name for unit in self.ancestors())


class UnitSuccession(models.Model):
    """A 2025 unit that took over (part of) the territory of a legacy unit.

    A legacy commune absorbed whole into one new commune has exactly one row. A legacy commune split
    between several new communes has one row per receiving commune; the one the official conversion
    table names as the default (where most of its population went) has `is_default` set, so that an old
    address converts to one unit automatically and an officer can pick one of the others by hand.
    Legacy provinces map to their 2025 province the same way. The five legacy island districts that had
    no communes (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo) map from the district itself to the
    2025 special zone (đặc khu) of the same name, because an address there names no commune at all.
    """

    legacy = models.ForeignKey(
        AdminUnit,
        on_delete=models.CASCADE,
        related_name="successions",
        verbose_name=_("đơn vị cũ"),
    )
    successor = models.ForeignKey(
        AdminUnit,
        on_delete=models.CASCADE,
        related_name="predecessions",
        verbose_name=_("đơn vị mới"),
    )
    is_default = models.BooleanField(_("mặc định"), default=False)

    class Meta:
        verbose_name = _("kế thừa đơn vị hành chính")
        verbose_name_plural = _("kế thừa đơn vị hành chính")
        ordering = ("legacy", "-is_default", "successor")
        constraints = (
            models.UniqueConstraint(fields=("legacy", "successor"), name="geo_unitsuccession_unique_pair"),
            # At most one default per legacy unit; the loader gives every legacy commune exactly one.
            models.UniqueConstraint(
                fields=("legacy",),
                condition=Q(is_default=True),
                name="geo_unitsuccession_one_default",
            ),
            models.CheckConstraint(
                condition=~Q(legacy=models.F("successor")),
                name="geo_unitsuccession_not_self",
            ),
        )

    def __str__(self) -> str:
        marker = " (mặc định)" if self.is_default else ""
        return f"{self.legacy.name} → {self.successor.name}{marker}"
