"""Quality checks on captured images (ảnh chân dung, vân tay, mống mắt, chữ ký), with Pillow.

An image is refused when it is not a PNG or JPEG that decodes, when it is smaller than the device class
produces (a thumbnail instead of a capture), when it is huge (bytes or pixels: a mis-set scanner or a
decompression bomb) or when it is blank (a finger lifted before the scan, a covered lens): nearly one
flat colour. Each refusal names the image and the rule, in Vietnamese and English.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageStat, UnidentifiedImageError

from dancu.cards.models import Biometric
from dancu.lib.errors import FieldError

Kind = Biometric.Kind
FINGERS = tuple(Kind(f"finger_{n}") for n in range(1, 11))
IRISES = (Kind.IRIS_RIGHT, Kind.IRIS_LEFT)
FORMATS = frozenset({"PNG", "JPEG"})
MAX_BYTES = 3 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
# The smallest capture each kind of device produces: a passport-style photo, a 500 ppi fingerprint
# frame, an ISO/IEC 19794-6 iris image, a signature pad's strip.
MIN_SIZE: dict[str, tuple[int, int]] = {
    Kind.FACE: (240, 320),
    **dict.fromkeys(FINGERS, (256, 256)),
    **dict.fromkeys(IRISES, (320, 240)),
    Kind.SIGNATURE: (200, 60),
}
# Standard deviation of grey levels under which an image is taken as blank.
MIN_CONTRAST = 6.0
# Below this age no biometrics are taken; from it, face, ten fingers and (where the device has one) iris.
BIOMETRICS_FROM_AGE = 6


@dataclass(frozen=True)
class CheckedImage:
    kind: str
    data: bytes
    image_format: str
    width: int
    height: int
    sha256: str


def _label(kind: str) -> tuple[str, str]:
    labels_en: dict[str, str] = {
        Kind.FACE: "Face photo",
        Kind.SIGNATURE: "Signature",
        Kind.IRIS_RIGHT: "Right iris",
        Kind.IRIS_LEFT: "Left iris",
    }
    vi = str(Kind(kind).label) if kind in Kind.values else kind
    en = labels_en.get(kind, f"Finger {kind.removeprefix('finger_')}") if kind in Kind.values else kind
    return vi, en


# Every image rule names the image it is about, so the wrapper fixes the field and prefixes the label.
def _error(kind: str, code: str, vi: str, en: str) -> FieldError:
    label_vi, label_en = _label(kind)
    return FieldError(kind, code, f"{label_vi}: {vi}", f"{label_en}: {en}")


def check_image(kind: str, data: bytes) -> CheckedImage:
    """The image's facts when it passes every rule; raises DomainError-ready FieldError list otherwise."""
    errors = image_errors(kind, data)
    if errors:
        raise ImageRefusedError(errors)
    with Image.open(io.BytesIO(data)) as image:
        image_format = str(image.format)
        width, height = image.size
    return CheckedImage(kind, data, image_format, width, height, hashlib.sha256(data).hexdigest())


class ImageRefusedError(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.code for e in errors))
        self.errors = errors


def image_errors(kind: str, data: bytes) -> list[FieldError]:
    if kind not in MIN_SIZE:
        return [
            FieldError(
                kind or "kind", "biometric.kind", "Loại sinh trắc học không hợp lệ", "Unknown biometric kind"
            )
        ]
    if not data:
        return [_error(kind, "image.required", "chưa có ảnh", "no image was given")]
    if len(data) > MAX_BYTES:
        return [
            _error(
                kind,
                "image.too_large",
                f"tệp quá lớn ({len(data) // 1024} KB, tối đa {MAX_BYTES // 1024} KB)",
                f"the file is too large ({len(data) // 1024} KB, at most {MAX_BYTES // 1024} KB)",
            )
        ]
    not_image = _error(
        kind,
        "image.not_image",
        "tệp không phải ảnh PNG hoặc JPEG đọc được",
        "the file is not a readable PNG or JPEG image",
    )
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, on decompression bombs; both are a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format, (width, height) = image.format, image.size
                if image_format not in FORMATS:
                    return [not_image]
                if width * height > MAX_PIXELS:
                    return [
                        _error(
                            kind,
                            "image.too_many_pixels",
                            f"ảnh quá lớn ({width}×{height} điểm ảnh)",
                            f"the image is too large ({width}×{height} pixels)",
                        )
                    ]
                min_width, min_height = MIN_SIZE[kind]
                if width < min_width or height < min_height:
                    return [
                        _error(
                            kind,
                            "image.too_small",
                            f"ảnh quá nhỏ ({width}×{height}, tối thiểu {min_width}×{min_height} điểm ảnh)",
                            f"the image is too small ({width}×{height}, "
                            f"at least {min_width}×{min_height} pixels)",
                        )
                    ]
                image.load()
                grey = image.convert("L")
                grey.thumbnail((256, 256))
                contrast = ImageStat.Stat(grey).stddev[0]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow refuses a bomb when it opens the file, before its size can be read and compared above:
        # the refusal is the same rule, the image has too many pixels, not that it is unreadable.
        return [
            _error(
                kind,
                "image.too_many_pixels",
                f"ảnh quá lớn (quá {MAX_PIXELS // 1_000_000} triệu điểm ảnh)",
                f"the image is too large (more than {MAX_PIXELS // 1_000_000} megapixels)",
            )
        ]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return [not_image]
    if contrast < MIN_CONTRAST:
        return [
            _error(
                kind,
                "image.blank",
                "ảnh trống hoặc gần như một màu",
                "the image is blank or nearly one flat colour",
            )
        ]
    return []


def required_kinds(*, age: int, device_has_iris: bool) -> list[str]:
    """What an application must capture for a citizen of `age` on a device: nothing under 6."""
    if age < BIOMETRICS_FROM_AGE:
        return []
    kinds: list[str] = [Kind.FACE, *FINGERS, Kind.SIGNATURE]
    if device_has_iris:
        kinds += list(IRISES)
    return kinds
