"""PDF documents (reports, card batches) with fpdf2 and a font that has every Vietnamese letter.

The PDF core fonts (Helvetica and friends) cover Latin-1 only and cannot write "Nguyễn"; DejaVu Sans,
shipped in dancu/lib/fonts (its licence beside it), covers the whole Vietnamese alphabet, so every
document is written with it and embeds only the glyphs it uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

# fpdf2 is imported when a document is made: it loads fontTools, and the card and report pages that can
# make a document are imported with the URL configuration by every process and command.
if TYPE_CHECKING:
    from fpdf import FPDF

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"


def pdf_document(title: str, *, orientation: str = "portrait") -> FPDF:
    """A new A4 document with the Vietnamese-capable font registered and selected, and its title set."""
    from fpdf import FPDF

    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_font(FONT, size=10)
    pdf.set_title(title)
    pdf.set_creator("dancu")
    pdf.set_auto_page_break(auto=True, margin=15)
    return pdf
