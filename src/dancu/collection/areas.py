"""What a refusal of a unit outside an officer's area says: the commune refused and the officer's own area.

The catalogue's `unit.outside_jurisdiction` ("Đơn vị này nằm ngoài địa bàn quản lý của bạn") names neither,
and an officer with 200 imported rows or a long form cannot tell which address it is about. The forms and
the imports give this sentence instead, with the catalogue's code.
"""

from __future__ import annotations

from dancu.accounts.models import User
from dancu.geo.models import AdminUnit
from dancu.lib.errors import FieldError

OUTSIDE_AREA = "unit.outside_jurisdiction"


def outside_area_messages(*, name: str, code: str, area: str = "") -> tuple[str, str]:
    """The refusal of the commune `name` (`code`), in Vietnamese and English, naming `area` if known."""
    return (
        f"{name} (mã {code}) nằm ngoài địa bàn quản lý của bạn" + (f" ({area})." if area else "."),
        f"{name} (code {code}) is outside your jurisdiction" + (f" ({area})." if area else "."),
    )


def user_area(user: User | None) -> AdminUnit | None:
    """The area of the user's police unit, the one `accounts.selectors.unit_in_area` judges by."""
    police_unit = user.police_unit if user is not None else None
    return police_unit.admin_unit if police_unit is not None else None


def outside_area_error(field_name: str, *, unit: AdminUnit, area: AdminUnit | None) -> FieldError:
    """`unit.outside_jurisdiction` on `field_name`, naming the commune refused and the officer's area."""
    params = {"name": unit.name, "code": unit.code, "area": area.name if area is not None else ""}
    vi, en = outside_area_messages(**params)
    return FieldError(field_name, OUTSIDE_AREA, vi, en, params)
