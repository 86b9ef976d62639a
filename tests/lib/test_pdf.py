"""PDF documents carry Vietnamese text intact: the font has the letters and the text can be read back."""

from __future__ import annotations

from dancu.lib.pdf import pdf_document


def test_a_document_writes_vietnamese_letters_with_the_embedded_font() -> None:
    pdf = pdf_document("Báo cáo tiến độ")
    pdf.add_page()
    pdf.cell(text="Nguyễn Thị Hồng Hạnh, phường Hoàn Kiếm, thành phố Hà Nội")
    data = bytes(pdf.output())

    assert data.startswith(b"%PDF-")
    assert b"/FontName /" in data
    assert b"DejaVu" in data


def test_an_unknown_letter_is_not_silently_dropped_from_the_font() -> None:
    # Every letter of the Vietnamese alphabet, upper and lower case, must have a glyph in the font.
    letters = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
    pdf = pdf_document("Bảng chữ cái")
    pdf.add_page()
    font = pdf.fonts["dejavu"]
    missing = [ch for ch in letters + letters.upper() if ord(ch) not in font.cmap]
    assert missing == []
