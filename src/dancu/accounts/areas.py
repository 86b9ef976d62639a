"""What a refusal of a place outside an officer's area says: the unit refused and the officer's own area.

The catalogue's `unit.outside_jurisdiction` ("Đơn vị này nằm ngoài địa bàn quản lý của bạn") names neither,
and an officer with 200 imported rows, a long form or a household of eight cannot tell which address it is
about, nor an administrator which of the units typed. The forms, the imports, the registry's writes and the
accounts' pages give these sentences instead, with the catalogue's code.
"""

from __future__ import annotations

from dancu.accounts.models import PoliceUnit, User
from dancu.geo.models import AdminUnit
from dancu.lib.errors import FieldError

OUTSIDE_AREA = "unit.outside_jurisdiction"


def outside_area_messages(
    *, name: str, code: str, area: str = "", subject: tuple[str, str] | None = None
) -> tuple[str, str]:
    """The refusal of the unit `name` (`code`), in Vietnamese and English, naming `area` if known.

    With a `subject` (Vietnamese, English: "Hộ này", "This household") the sentence is about that thing
    and names the unit it lies in: the officer acts on a household or a residence, not on a commune.
    """
    if subject is None:
        return (
            f"{name} (mã {code}) nằm ngoài địa bàn quản lý của bạn" + (f" ({area})." if area else "."),
            f"{name} (code {code}) is outside your jurisdiction" + (f" ({area})." if area else "."),
        )
    subject_vi, subject_en = subject
    return (
        f"{subject_vi} nằm ngoài địa bàn quản lý của bạn: {name} (mã {code})"
        + (f", không thuộc {area}." if area else "."),
        f"{subject_en} is outside your jurisdiction: {name} (code {code})"
        + (f", not in {area}." if area else "."),
    )


def user_area(user: User | None) -> AdminUnit | None:
    """The area of the user's police unit, the one `accounts.selectors.unit_in_area` judges by; None for
    the ministry, whose area is the whole country, and for a user of no unit."""
    police_unit = user.police_unit if user is not None else None
    return police_unit.admin_unit if police_unit is not None else None


def outside_area_params(*, unit: AdminUnit | PoliceUnit, area: AdminUnit | None) -> dict[str, str]:
    """What a refusal of `unit` outside `area` names, as the params of its issue or error."""
    return {"name": unit.name, "code": unit.code, "area": area.name if area is not None else ""}


def outside_area_error(
    field_name: str,
    *,
    unit: AdminUnit | PoliceUnit,
    area: AdminUnit | None,
    subject: tuple[str, str] | None = None,
) -> FieldError:
    """`unit.outside_jurisdiction` on `field_name`, naming the unit refused and the officer's area."""
    params = outside_area_params(unit=unit, area=area)
    vi, en = outside_area_messages(**params, subject=subject)
    # The code written out, as every refusal of the catalogue's rules is (tests/registry/test_rules.py
    # reads them from the source).
    return FieldError(field_name, "unit.outside_jurisdiction", vi, en, params)
