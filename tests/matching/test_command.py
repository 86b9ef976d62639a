"""`dancu match FILE --out CLUSTERS`: end to end on a generated dirty file, and on bad input."""

from __future__ import annotations

import csv
import errno
import io
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dancu.matching.files import read_records
from dancu.registry.dirty import person_key

pytestmark = pytest.mark.django_db

HEADER = "record_id,source,full_name,gender,birth_date,id_number,father_name,mother_name,address"


def match(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(err):
        call_command("match", *args, stdout=out)
    return out.getvalue(), err.getvalue()


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def partition(pairs: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for record_id, cluster in pairs.items():
        groups[cluster].add(record_id)
    return {frozenset(group) for group in groups.values()}


def test_generated_dirty_file_is_clustered_by_person(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    call_command(
        "generate", "--out", str(source), "--dirty", "--people", "400", "--seed", "11", stdout=io.StringIO()
    )
    rows = [row for row in read(source) if row["record_id"]]
    duplicates = [row["record_id"] for row in rows if row["record_id"] != person_key(row["record_id"])]
    assert duplicates, "the generated file must hold duplicates for the test to mean anything"
    clusters_path, pairs_path = tmp_path / "clusters.csv", tmp_path / "pairs.csv"

    output, progress = match(str(source), "--out", str(clusters_path), "--pairs", str(pairs_path))

    clusters = read(clusters_path)
    assert [row["record_id"] for row in clusters] == [row["record_id"] for row in rows]
    found = partition({row["record_id"]: row["cluster_id"] for row in clusters})
    truth = partition({row["record_id"]: person_key(row["record_id"]) for row in rows})
    assert found == truth
    assert {row["deceased"] for row in clusters} == {"0"}
    pairs = read(pairs_path)
    twin = duplicates[0]
    explained = next(
        row for row in pairs if {row["record_id_l"], row["record_id_r"]} == {twin, person_key(twin)}
    )
    assert float(explained["match_probability"]) >= 0.9
    assert explained["full_name_level"]
    assert explained["birth_date_level"]
    assert _field_weights(explained) == pytest.approx(
        float(explained["match_weight"]) - _prior_weight(pairs), abs=0.01
    )
    assert f"{len(rows):,} records" in output
    # Said before the first count of prepared records, which a large file makes wait for seconds.
    preparing = progress.index(f"chuẩn hóa / preparing {len(rows):,} bản ghi / records")
    assert preparing < progress.index("chuẩn hóa / prepared")


def _field_weights(row: dict[str, str]) -> float:
    return sum(
        float(value) for key, value in row.items() if key.endswith("_weight") and key != "match_weight"
    )


def _prior_weight(pairs: list[dict[str, str]]) -> float:
    # The match weight is the prior's log2 odds plus every field's weight: the same offset for all pairs,
    # so it is read from a pair other than the one checked.
    row = pairs[-1]
    return float(row["match_weight"]) - _field_weights(row)


def test_a_death_date_marks_the_whole_cluster_deceased(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        HEADER + ",death_date\n"
        "a,ho,Nguyễn Văn Hùng,Nam,1950-03-04,001050012345,Nguyễn Văn Bình,Trần Thị Hòa,,\n"
        "b,khai-sinh,NGUYEN VAN HUNG,Nam,04/03/1950,001050012345,Nguyễn Văn Bình,Trần Thị Hòa,,2024-01-02\n"
        "c,ho,Trần Thị Mai,Nữ,1962-08-09,001162054321,Trần Văn Lộc,Lê Thị Thu,,\n",
        encoding="utf-8",
    )
    out = tmp_path / "clusters.csv"
    match(str(source), "--out", str(out))
    rows = {row["record_id"]: row for row in read(out)}
    assert rows["a"]["cluster_id"] == rows["b"]["cluster_id"] != rows["c"]["cluster_id"]
    assert (rows["a"]["deceased"], rows["b"]["deceased"], rows["c"]["deceased"]) == ("1", "1", "0")


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("", "file.empty"),
        ("record_id,full_name,gender\n1,Nguyễn Văn A,Nam\n", "file.missing_columns"),
        ("full_name,birth_date\nNguyễn Văn A,1990\n", "file.missing_columns"),
        ("record_id,full_name,birth_date\n", "file.no_rows"),
        ("record_id,full_name,birth_date\n1,Nguyễn Văn A,1990\n1,Lê Thị B,1991\n", "record_id.duplicate"),
        ("record_id,full_name,birth_date\n,Nguyễn Văn A,1990\n", "record_id.required"),
        ("record_id,full_name,birth_date\n1,,\n2,,\n", "records.all_blank"),
        ('record_id,full_name,birth_date\n1,"Nguyễn Văn A,1990\n', "row.malformed"),
    ],
)
def test_bad_input_is_refused_naming_the_rule(tmp_path: Path, content: str, rule: str) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=rule.replace(".", r"\.")) as refused:
        match(str(source), "--out", str(tmp_path / "out.csv"))
    assert " / " in str(refused.value)  # Vietnamese, then English
    assert not (tmp_path / "out.csv").exists()


def test_a_missing_file_and_a_bad_threshold_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"file\.missing"):
        match(str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "out.csv"))
    with pytest.raises(CommandError, match=r"threshold\.range"):
        match(str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "out.csv"), "--threshold", "1.5")


@pytest.mark.parametrize(
    ("today", "message"),
    [
        ("2025-02-30", r"--today '2025-02-30': no such day in the calendar \[date\.day_range\]"),
        ("0000-00-00", r"--today '0000-00-00': no such day in the calendar"),
        ("abc", r"--today 'abc' is not a YYYY-MM-DD date \[date\.format\]"),
        ("20250701", r"is not a YYYY-MM-DD date"),
        # No record's date can be before 1800 or after 2399 (lib/partial_date.py).
        ("1799-12-31", r"--today '1799-12-31' must be from 1800-01-01 to 2399-12-31 \[date\.year_range\]"),
        ("2400-01-01", r"must be from 1800-01-01 to 2399-12-31"),
        ("9999-12-31", r"must be from 1800-01-01 to 2399-12-31"),
    ],
)
def test_a_today_that_is_no_day_or_out_of_range_is_refused_naming_it(
    tmp_path: Path, today: str, message: str
) -> None:
    source = tmp_path / "people.csv"
    source.write_text("record_id,full_name,birth_date\n1,Nguyễn Văn A,1990\n", encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        match(str(source), "--out", str(tmp_path / "out.csv"), "--today", today)
    with pytest.raises(CommandError, match=message):
        match("--registry", "--today", today)
    assert not (tmp_path / "out.csv").exists()


def _outputs(tmp_path: Path, case: str) -> list[str]:
    source, out = tmp_path / "people.csv", str(tmp_path / "clusters.csv")
    return {
        "--out in no folder": ["--out", str(tmp_path / "nowhere" / "x.csv")],
        "--out a folder": ["--out", str(tmp_path)],
        "--pairs in no folder": ["--out", out, "--pairs", str(tmp_path / "nowhere" / "p.csv")],
        "--pairs a folder": ["--out", out, "--pairs", str(tmp_path)],
        "--out the input": ["--out", str(source)],
        "--out the input by another path": ["--out", str(tmp_path / "." / "sub" / ".." / "people.csv")],
        "--out the input by a link": ["--out", str(tmp_path / "link.csv")],
        "--pairs the input": ["--out", out, "--pairs", str(source)],
        "--out and --pairs one file": ["--out", out, "--pairs", out],
        "--out a file of /proc": ["--out", "/proc/version"],
    }[case]


@pytest.mark.parametrize(
    ("case", "rule"),
    [
        ("--out in no folder", r"--out .*the folder .* does not exist \[output\.no_folder\]"),
        ("--out a folder", r"--out .* is a directory, not a file \[output\.directory\]"),
        ("--pairs in no folder", r"--pairs .*\[output\.no_folder\]"),
        ("--pairs a folder", r"--pairs .*\[output\.directory\]"),
        ("--out the input", r"--out .* is the input file \(FILE\).*\[output\.is_input\]"),
        ("--out the input by another path", r"\[output\.is_input\]"),
        ("--out the input by a link", r"\[output\.is_input\]"),
        ("--pairs the input", r"--pairs .*\[output\.is_input\]"),
        ("--out and --pairs one file", r"--pairs and --out are the same file.*\[output\.same_file\]"),
        ("--out a file of /proc", r"--out /proc/version: cannot be written .*\[output\.not_writable\]"),
    ],
)
def test_an_output_that_cannot_be_written_or_would_destroy_a_file_is_refused_before_matching(
    tmp_path: Path, case: str, rule: str
) -> None:
    source = tmp_path / "people.csv"
    source.write_text("record_id,full_name,birth_date\n1,Nguyễn Văn A,1990\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(source)
    before = source.read_bytes()
    with pytest.raises(CommandError, match=rule):
        match(str(source), *_outputs(tmp_path, case))
    assert source.read_bytes() == before
    assert not (tmp_path / "clusters.csv").exists()


def test_an_output_that_fails_as_it_is_written_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dancu.matching.management.commands import match as command

    def disk_full(path: Path, columns: list[str], rows: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(command, "write_csv", disk_full)
    source = tmp_path / "people.csv"
    source.write_text("record_id,full_name,birth_date\n1,Nguyễn Văn A,1990\n", encoding="utf-8")
    out = tmp_path / "clusters.csv"
    with pytest.raises(
        CommandError, match=r"--out .*clusters\.csv: cannot be written \(No space left on device\)"
    ):
        match(str(source), "--out", str(out))


def test_an_input_that_is_not_a_regular_file_is_refused_as_such(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"\[file\.not_regular\] .* is not a regular file"):
        match(str(tmp_path), "--out", str(tmp_path / "out.csv"))
    with pytest.raises(CommandError, match=r"\[file\.not_regular\]"):
        match("/dev/null", "--out", str(tmp_path / "out.csv"))


def test_one_giant_block_is_capped_with_a_warning_naming_it(tmp_path: Path) -> None:
    # Everyone is "Nguyễn Văn A" born in 1990: one blocking key for all; without the cap every record
    # would be compared with every other.
    source = tmp_path / "same.csv"
    lines = [f"{n},Nguyễn Văn A,1990" for n in range(300)]
    source.write_text("record_id,full_name,birth_date\n" + "\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "clusters.csv"
    _output, progress = match(str(source), "--out", str(out), "--block-cap", "100")
    assert "blocking.block_cap" in progress
    assert "name_year = 'a nguyen van|1990', 300 records > 100" in progress
    assert len(read(out)) == 300


def test_records_blank_in_every_field_get_a_cluster_of_their_own(tmp_path: Path) -> None:
    source = tmp_path / "some_blank.csv"
    source.write_text(
        "record_id,full_name,birth_date,id_number\n"
        "1,Nguyễn Văn A,1990-01-02,001090012345\n2,,,\n3,Nguyễn Văn A,1990-01-02,001090012345\n",
        encoding="utf-8",
    )
    out = tmp_path / "clusters.csv"
    _output, progress = match(str(source), "--out", str(out))
    rows = {row["record_id"]: row["cluster_id"] for row in read(out)}
    assert rows["1"] == rows["3"] != rows["2"]
    assert "1 records blank in every identifying field" in progress


def test_the_rows_refused_are_named_by_their_line_in_the_file(tmp_path: Path) -> None:
    # A blank line after the header: the repeated id is on lines 3 and 5 of the file as an editor shows it.
    source = tmp_path / "so_ho_khau.csv"
    source.write_text(
        "record_id,full_name,birth_date\n\n1,Nguyễn Văn A,1990\n,Lê Văn C,1980\n1,Lê Thị B,1991\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as refused:
        match(str(source), "--out", str(tmp_path / "out.csv"))
    message = str(refused.value)
    assert "lặp lại ở các dòng 3, 5" in message
    assert "is repeated at rows 3, 5" in message
    # One row is one row, in both languages.
    assert "để trống ở dòng 4" in message
    assert "record_id is blank at row 4" in message


def test_reading_reports_the_rows_read_as_it_goes_and_skips_rows_of_blank_cells(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    lines = [f"R{n},s,Nguyễn Văn An,Nam,1990-01-0{n},,,," for n in range(1, 8)]
    # A spreadsheet's left-over line: every cell blank or white space. No record, and counted as such.
    lines.insert(4, " ,,\t,,,,  ,,")
    source.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    told: list[int] = []

    rows, empty = read_records(source, progress=told.append, progress_rows=3)

    assert [row["record_id"] for row in rows] == [f"R{n}" for n in range(1, 8)]
    assert empty == 1
    # Every third row read, the blank one included: the count is of the file's rows, as the import's is.
    assert told == [3, 6]
