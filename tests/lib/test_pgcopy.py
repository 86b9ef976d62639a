"""COPY's text format, as the bulk writers (population loader, import staging) send it to PostgreSQL."""

from __future__ import annotations

from dancu.lib.pgcopy import copy_text, read_copy_rows


def test_copy_text_escapes_what_copy_would_misread() -> None:
    rows = [(1, "a\\b\tc\nd\re", None, True, "Nguyễn Văn Hùng"), (2, "", "\\N", False, "x")]

    assert copy_text(rows) == ("1\ta\\\\b\\tc\\nd\\re\t\\N\tTrue\tNguyễn Văn Hùng\n2\t\t\\\\N\tFalse\tx\n")


def test_json_with_escapes_survives_the_copy_format() -> None:
    # A staged row's JSON holds backslashes of its own ("\\n" for a line break in a cell): each is doubled
    # for COPY, which halves them again on the way in.
    assert copy_text([('{"a":"x\\ny"}',)]) == '{"a":"x\\\\ny"}\n'


def test_a_last_row_without_its_line_feed_is_still_read() -> None:
    # A file whose last line feed was lost (cut by hand, written by another tool): its last row counts,
    # so a row count checked against the manifest sees every row there is.
    assert list(read_copy_rows([b"1\tL\xc3\xaa V\xc4", b"\x83n\n2\t\\N"])) == [["1", "Lê Văn"], ["2", None]]
