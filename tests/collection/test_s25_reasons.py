"""A rejected row's reasons read as sentences in the workbook: "… chữ số. Giới tính: …", not "… chữ số.;
Giới tính: …" (session 25, the reviewers' round)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dancu.collection.models import ImportRun
from dancu.collection.reports import rejected_rows_xlsx, sentences
from tests.collection.test_h74_rejected import ADDRESS, OFFICE_HEADER, office_csv, run_import
from tests.collection.workbook_support import rejected_rows

pytestmark = pytest.mark.django_db


def test_sentences_end_each_part_once() -> None:
    assert sentences(["Thiếu ngày sinh.", " Giới tính: không hợp lệ ", "", "Sao?"]) == (
        "Thiếu ngày sinh. Giới tính: không hợp lệ. Sao?"
    )


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_row_rejected_for_two_reasons_reads_them_as_two_sentences(tmp_path: Path, language: str) -> None:
    assert OFFICE_HEADER[3] == "Giới tính"
    path = office_csv(tmp_path, [["1", "R1", "Trần Văn 3", "Không rõ", "1990", "", ADDRESS, ""]])
    run_import(path)
    run = ImportRun.objects.get()
    rejected_rows_xlsx(run, tmp_path / "rejected.xlsx", language=language)
    [row] = rejected_rows(tmp_path / "rejected.xlsx")
    reasons, codes = row[1], row[2]
    assert len(codes.split(", ")) >= 2, codes
    assert ".;" not in reasons
    assert reasons.endswith(".")
    assert reasons.count(". ") >= len(codes.split(", ")) - 1
