"""Pictures and papers of the card: the card's front and back (PNG, for the officer's screen), the receipt
and appointment slip of an application and the printable sheet of a production batch (PDF).

Everything is drawn with DejaVu Sans, which has every Vietnamese letter (see dancu.lib.pdf).
"""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from dancu.cards.models import Application, Card
from dancu.cards.printing import card_printed_data, display_date, mrz_lines, qr_payload
from dancu.cards.workdays import DELIVERY_WORKING_DAYS
from dancu.lib.partial_date import PartialDate
from dancu.lib.pdf import FONT, FONT_DIR, pdf_document

# ID-1 card format (85.60 × 53.98 mm) at about 12 pixels per millimetre.
CARD_SIZE = (1012, 638)
MRZ_MARGIN = 40
MRZ_FONT_SIZE = 30
_SEX = {"M": "Nam", "F": "Nữ"}


@lru_cache(maxsize=16)
def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _birth_text(storage: str) -> str:
    return str(PartialDate.from_storage(storage)) if storage else ""


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def card_front_png(card: Card, face: bytes | None = None) -> bytes:
    printed = card.printed
    image = Image.new("RGB", CARD_SIZE, (232, 240, 236))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, CARD_SIZE[0], 96), fill=(176, 32, 38))
    draw.text(
        (CARD_SIZE[0] // 2, 28),
        "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        font=_font(26, bold=True),
        fill="white",
        anchor="mt",
    )
    draw.text(
        (CARD_SIZE[0] // 2, 62), "Độc lập - Tự do - Hạnh phúc", font=_font(20), fill="white", anchor="mt"
    )
    draw.text(
        (CARD_SIZE[0] // 2, 116),
        "CĂN CƯỚC / IDENTITY CARD",
        font=_font(30, bold=True),
        fill=(176, 32, 38),
        anchor="mt",
    )
    photo_box = (40, 170, 260, 460)
    if face:
        with Image.open(io.BytesIO(face)) as photo:
            image.paste(
                photo.convert("RGB").resize((photo_box[2] - photo_box[0], photo_box[3] - photo_box[1])),
                photo_box[:2],
            )
    else:
        draw.rectangle(photo_box, outline=(120, 120, 120), width=2)
    x, y = 290, 170
    lines = (
        ("Số định danh cá nhân / Personal identification number", printed.get("pin", ""), 34),
        ("Họ, chữ đệm và tên khai sinh / Full name", printed.get("full_name", "").upper(), 30),
        ("Ngày, tháng, năm sinh / Date of birth", _birth_text(printed.get("birth_date", "")), 26),
        ("Giới tính / Sex", _SEX.get(printed.get("sex", ""), ""), 26),
        ("Quốc tịch / Nationality", printed.get("nationality", ""), 26),
    )
    for label, value, size in lines:
        draw.text((x, y), label, font=_font(17), fill=(70, 70, 70))
        draw.text((x, y + 20), value, font=_font(size, bold=True), fill=(20, 20, 20))
        y += 26 + size
    qr = qrcode.make(qr_payload(printed, card.issued_on), box_size=3, border=1).get_image().convert("RGB")
    qr = qr.resize((170, 170))
    image.paste(qr, (CARD_SIZE[0] - 200, CARD_SIZE[1] - 200))
    return _png(image)


def card_back_png(card: Card) -> bytes:
    printed = card.printed
    image = Image.new("RGB", CARD_SIZE, (236, 236, 244))
    draw = ImageDraw.Draw(image)
    y = 40
    for label, value in (
        ("Nơi cư trú / Place of residence", printed.get("residence", "")),
        ("Nơi đăng ký khai sinh / Place of birth", printed.get("native_place", "")),
        ("Ngày cấp / Date of issue", card.issued_on.strftime("%d/%m/%Y")),
        ("Có giá trị đến / Date of expiry", display_date(card.expires_on)),
        ("Nơi cấp / Issuing authority", "Bộ Công an"),
    ):
        draw.text((40, y), label, font=_font(17), fill=(70, 70, 70))
        draw.text((40, y + 20), value[:70], font=_font(22, bold=True), fill=(20, 20, 20))
        y += 58
    draw.rectangle((0, CARD_SIZE[1] - 170, CARD_SIZE[0], CARD_SIZE[1]), fill="white")
    # The MRZ is 30 characters a line in fixed cells (OCR-B is monospaced). DejaVu Sans is not, and a line
    # spaced out with blanks ran past the card's edge: each character is centred in a cell of its own,
    # the cells spanning the card between its margins, at a size where the widest glyph (W) fits one.
    font = _font(MRZ_FONT_SIZE)
    cell = (CARD_SIZE[0] - 2 * MRZ_MARGIN) / 30
    for index, line in enumerate(mrz_lines(printed, card.expires_on)):
        for column, character in enumerate(line):
            x = MRZ_MARGIN + (column + 0.5) * cell
            draw.text((x, CARD_SIZE[1] - 160 + index * 50), character, font=font, fill="black", anchor="ma")
    return _png(image)


def receipt_pdf(application: Application) -> bytes:
    """Giấy biên nhận và hẹn trả kết quả: what the citizen takes home from the intake point."""
    pdf = pdf_document(f"Giấy hẹn {application.number}")
    pdf.add_page()
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 8, "GIẤY BIÊN NHẬN, HẸN TRẢ KẾT QUẢ", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=10)
    pdf.cell(0, 6, "Receipt and appointment slip", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    citizen = application.citizen
    rows = (
        ("Số biên nhận", application.number),
        ("Họ và tên", citizen.full_name),
        ("Số định danh cá nhân", citizen.pin),
        ("Thủ tục", str(application.get_kind_display())),
        ("Nơi thu nhận", f"{application.point.name} (ca {application.shift})"),
        # Vietnam's clock, as the application's page shows it: the stored instant is in UTC.
        ("Ngày thu nhận", f"{timezone.localtime(application.taken_at):%d/%m/%Y %H:%M}"),
        ("Lệ phí", f"{application.fee_amount:,} đồng".replace(",", ".")),
        ("Hình thức nhận thẻ", str(application.get_delivery_display())),
        ("Ngày hẹn trả", f"{application.due_on:%d/%m/%Y} ({DELIVERY_WORKING_DAYS} ngày làm việc)"),
    )
    for label, value in rows:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(55, 7, label)
        pdf.set_font(FONT, size=10)
        pdf.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
    if application.status == Application.Status.WAITING_CORRECTION:
        pdf.ln(2)
        pdf.multi_cell(
            0, 6, "Hồ sơ chờ điều chỉnh thông tin (phiếu DC02); ngày hẹn tính lại khi điều chỉnh xong."
        )
    return bytes(pdf.output())


def batch_pdf(batch_number: str, applications: list[Application]) -> bytes:
    """The printable list of a production batch: one line per card with its data and MRZ-ready name."""
    pdf = pdf_document(f"Lô sản xuất {batch_number}", orientation="landscape")
    pdf.add_page()
    pdf.set_font(FONT, "B", 13)
    pdf.cell(
        0,
        8,
        f"LÔ SẢN XUẤT THẺ CĂN CƯỚC {batch_number} — {len(applications)} hồ sơ",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(FONT, "B", 9)
    widths = (32, 30, 60, 25, 12, 110)
    for width, title in zip(
        widths, ("Hồ sơ", "Số định danh", "Họ và tên", "Ngày sinh", "GT", "Nơi cư trú"), strict=True
    ):
        pdf.cell(width, 7, title, border=1)
    pdf.ln()
    pdf.set_font(FONT, size=8)
    for application in applications:
        printed = card_printed_data(application.citizen)
        values = (
            application.number,
            printed["pin"],
            printed["full_name"],
            _birth_text(printed["birth_date"]),
            _SEX.get(printed["sex"], ""),
            printed["residence"][:80],
        )
        for width, value in zip(widths, values, strict=True):
            pdf.cell(width, 6, value, border=1)
        pdf.ln()
    return bytes(pdf.output())
