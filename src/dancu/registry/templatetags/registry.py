"""Display names for the codes the registry stores."""

from __future__ import annotations

from typing import Any

from django import template

from dancu.lib import pin as pin_codec
from dancu.registry.reference import ETHNICITIES, RELIGIONS

register = template.Library()


@register.filter
def ethnicity_name(code: str) -> str:
    return ETHNICITIES.get(code, code)


@register.filter
def religion_name(code: str) -> str:
    return str(RELIGIONS.get(code, code))


@register.filter
def place_code_name(code: str) -> str:
    return pin_codec.PROVINCE_CODES.get(code, code)


@register.filter
def lookup(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key) if mapping else None
