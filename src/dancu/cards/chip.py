"""The chip's data: an issuer-signed document anyone holding the issuer's public key can verify offline.

The document is JSON: {"format", "kid", "payload", "signature"}. The signature is Ed25519 (RFC 8032, from
the `cryptography` package) over the canonical JSON of the other three members (keys sorted, no
whitespace, UTF-8), so the key id is bound to what it signs and no member can be swapped afterwards.
Each issuing authority signs with its current key; retired keys stay in the key set so that the cards
they signed keep verifying after a rotation.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from dancu.lib.errors import FieldError

FORMAT = "dancu-chip/1"
MAX_DOCUMENT = 20_000
PAYLOAD_FIELDS = (
    "pin",
    "full_name",
    "birth_date",
    "sex",
    "nationality",
    "native_place",
    "residence",
    "issued_on",
    "expires_on",
    "serial",
    "issuer",
    "face_sha256",
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def public_key_text(private_key: Ed25519PrivateKey) -> str:
    return b64url(private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


@lru_cache(maxsize=256)
def public_key_from_text(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64url_decode(text))


def sign(payload: Mapping[str, Any], *, key_id: str, private_key: Ed25519PrivateKey) -> str:
    signed = {"format": FORMAT, "kid": key_id, "payload": dict(payload)}
    signature = private_key.sign(canonical(signed))
    return json.dumps({**signed, "signature": b64url(signature)}, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class ChipDocument:
    key_id: str
    payload: dict[str, Any]


def _malformed(detail_vi: str, detail_en: str) -> FieldError:
    return FieldError(
        "chip",
        "chip.format",
        f"Dữ liệu chip không đúng định dạng: {detail_vi}",
        f"Malformed chip data: {detail_en}",
    )


def verify(
    text: str, *, public_keys: Mapping[str, str], required: tuple[str, ...] = PAYLOAD_FIELDS
) -> tuple[ChipDocument | None, list[FieldError]]:
    """Check a chip document (or another signed document, such as a batch manifest, with its own
    `required` payload members) against the issuers' public keys (key id -> base64url raw Ed25519 key)."""
    if len(text) > MAX_DOCUMENT:
        return None, [_malformed("quá dài", "too long")]
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return None, [_malformed("không phải JSON", "not JSON")]
    if not isinstance(document, dict) or set(document) != {"format", "kid", "payload", "signature"}:
        return None, [
            _malformed(
                "phải có đúng các trường format, kid, payload, signature",
                "it must have exactly the members format, kid, payload, signature",
            )
        ]
    if document["format"] != FORMAT:
        return None, [_malformed(f"định dạng phải là {FORMAT}", f"the format must be {FORMAT}")]
    key_id, payload, signature = document["kid"], document["payload"], document["signature"]
    if not isinstance(payload, dict) or not isinstance(key_id, str) or not isinstance(signature, str):
        return None, [_malformed("kiểu dữ liệu sai", "wrong member types")]
    missing = [name for name in required if name not in payload]
    if missing:
        return None, [_malformed(f"thiếu {', '.join(missing)}", f"missing {', '.join(missing)}")]
    key_text = public_keys.get(key_id)
    if key_text is None:
        return None, [
            FieldError(
                "kid",
                "chip.unknown_key",
                f"Không biết khoá công khai «{key_id[:64]}» của cơ quan cấp",
                f"The issuer's public key «{key_id[:64]}» is not known",
            )
        ]
    try:
        raw_signature = b64url_decode(signature)
        public_key_from_text(key_text).verify(
            raw_signature, canonical({"format": FORMAT, "kid": key_id, "payload": payload})
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return None, [
            FieldError(
                "signature",
                "chip.signature",
                "Chữ ký của cơ quan cấp không khớp: dữ liệu chip đã bị sửa hoặc không do cơ quan này ký",
                "The issuer's signature does not match: the chip data was altered or not signed "
                "by this issuer",
            )
        ]
    return ChipDocument(key_id=key_id, payload=payload), []
