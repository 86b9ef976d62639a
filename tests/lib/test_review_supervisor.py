"""Decoding a cell in the legacy encoding its file was found to be saved in (`vnencoding.decode_as`)."""

from __future__ import annotations

import pytest

from dancu.lib.vnencoding import CP1258_AS_CP1252, TCVN3, VNI, decode_as, encode_legacy, mojibake


@pytest.mark.parametrize("encoding", [TCVN3, VNI, CP1258_AS_CP1252])
def test_a_cell_decodes_in_the_encoding_of_its_file(encoding: str) -> None:
    for name in ("Phan Thị Loan", "Lê Thu Giang", "Nguyễn Văn Hùng", "Hồ"):
        assert decode_as(mojibake(name, encoding), encoding) == name


def test_text_that_reads_as_vietnamese_both_ways_is_read_in_the_file_encoding() -> None:
    # "Thò" is what VNI makes of "Thị": `repair` leaves it, the file's encoding decides.
    assert mojibake("Thị", VNI) == "Thò"
    assert decode_as("Thò", VNI) == "Thị"
    assert decode_as("Nguyen Van A", VNI) == "Nguyen Van A"


def test_text_that_is_not_vietnamese_in_the_encoding_is_none() -> None:
    assert decode_as("Nguyễn", CP1258_AS_CP1252) is None  # not what a Windows-1252 reader makes
    assert decode_as("Š", CP1258_AS_CP1252) is None  # byte 0x8A: no character in Windows-1258
    assert decode_as("Vÿ", VNI) is None  # a letter VNI does not write
    assert decode_as("Xyzw Qÿ", CP1258_AS_CP1252) is None  # decodes, but to no Vietnamese word
    assert encode_legacy("Hà", VNI) == "Haø".encode("cp1252")
