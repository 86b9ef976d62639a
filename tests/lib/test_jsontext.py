"""json_text writes what the standard library's encoder wrote for the values bulk writers store."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dancu.lib.jsontext import json_text


def _stdlib(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Text as files and forms bring it: any character but half of a UTF-16 pair, which no file can carry
# (a CSV is decoded strictly, a workbook's XML refuses it) and the forms refuse.
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)))
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | TEXT
FLOATS = st.floats(allow_nan=False, allow_infinity=False)


def _nested(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5)
            | st.tuples(children, children)
            | st.dictionaries(TEXT, children, max_size=5)
        ),
        max_leaves=30,
    )


@given(_nested(SCALARS))
def test_json_text_is_the_standard_librarys_text(value: Any) -> None:
    assert json_text(value) == _stdlib(value)


@given(_nested(SCALARS | FLOATS))
def test_json_text_reads_back_as_the_standard_librarys_value(value: Any) -> None:
    # A float may be spelt otherwise ("1e-7" for "1e-07", "0.00006103515625" for "6.103515625e-05"):
    # the same number to every reader, PostgreSQL's jsonb included.
    assert json.loads(json_text(value)) == json.loads(_stdlib(value))


def test_vietnamese_stays_unescaped_and_control_characters_escaped() -> None:
    row = {"full_name": "Nguyễn Thị Đào", "address": "Số 1\tphố Huế\n", "issues": [], "day": None}
    text = json_text(row)
    assert "Nguyễn Thị Đào" in text
    assert "\\t" in text
    assert "\\n" in text
    assert json.loads(text) == row
