"""`dancu match FILE --out CLUSTERS`: end to end on a generated dirty file, and on bad input."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

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
    assert "prepared" in progress or "read" in progress


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
