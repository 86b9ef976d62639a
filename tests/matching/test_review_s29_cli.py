"""`dancu match FILE`, as the ministry data engineer reads it: what the warnings and errors tell about the
file and about why records were joined."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def match(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        call_command("match", *args, stdout=out)
    return out.getvalue(), err.getvalue()


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_cluster_too_large_to_be_one_person_is_named_in_a_warning(tmp_path: Path) -> None:
    # Three hundred namesakes born the same year, nothing else known: under the default block cap they are
    # all compared, and whatever the model makes of them, a cluster of hundreds is not one person.
    source = tmp_path / "namesakes.csv"
    lines = [f"g{n},Nguyễn Văn A,Nam,1990" for n in range(300)]
    source.write_text("record_id,full_name,gender,birth_date\n" + "\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "clusters.csv"

    _output, progress = match(str(source), "--out", str(out))

    sizes: dict[str, int] = {}
    for row in read(out):
        sizes[row["cluster_id"]] = sizes.get(row["cluster_id"], 0) + 1
    large = {cluster: size for cluster, size in sizes.items() if size > 10}
    assert large, "the namesakes must form a large cluster for the warning to mean anything"
    for cluster, size in large.items():
        assert f"cluster {cluster!r} has {size:,} records, too many for one person" in progress
        assert f"cụm {cluster!r} gồm {size:,} bản ghi" in progress
    assert "clusters.too_large" in progress


def test_an_ordinary_file_gives_no_large_cluster_warning(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    call_command(
        "generate", "--out", str(source), "--dirty", "--people", "200", "--seed", "7", stdout=io.StringIO()
    )
    _output, progress = match(str(source), "--out", str(tmp_path / "clusters.csv"))
    assert "clusters.too_large" not in progress


def test_a_damaged_row_is_refused_saying_what_is_wrong_with_it(tmp_path: Path) -> None:
    source = tmp_path / "ragged.csv"
    source.write_text(
        "record_id,full_name,birth_date\n1,Nguyễn Văn A,1990,thừa\n2,Lê Thị B,1991\n", encoding="utf-8"
    )
    with pytest.raises(CommandError) as refused:
        match(str(source), "--out", str(tmp_path / "out.csv"))
    message = str(refused.value)
    assert "[row.ragged]" in message
    # The reader's explanation, not just the rule's code: the engineer knows what to look for on row 2.
    assert "at row 2: The line has 4 cells; the header has 3 columns" in message
    assert "ở dòng 2: Dòng có 4 ô, tiêu đề có 3 cột" in message


def test_many_damaged_rows_are_explained_by_the_first(tmp_path: Path) -> None:
    source = tmp_path / "ragged.csv"
    source.write_text(
        "record_id,full_name,birth_date\n1,Nguyễn Văn A,1990,x\n2,Lê Thị B\n3,Lê Văn C,1980,y\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as refused:
        match(str(source), "--out", str(tmp_path / "out.csv"))
    message = str(refused.value)
    assert "at rows 2, 3, 4: row 2: The line has 4 cells; the header has 3 columns" in message


def test_the_pairs_file_says_a_blank_field_in_words(tmp_path: Path) -> None:
    # The two records agree on everything they both have; neither has a PIN. "null" in the pairs file
    # reads as a broken field to the person asking why the two were joined.
    source = tmp_path / "two.csv"
    source.write_text(
        "record_id,full_name,gender,birth_date,father_name,mother_name\n"
        "a,Nguyễn Văn An,Nam,1990-01-02,Nguyễn Văn Bình,Lê Thị Cúc\n"
        "b,Nguyễn Văn An,Nam,1990-01-02,Nguyễn Văn Bình,Lê Thị Cúc\n"
        "c,Trần Thị Dung,Nữ,1985-03-04,Trần Văn Em,Phạm Thị Gấm\n",
        encoding="utf-8",
    )
    pairs = tmp_path / "pairs.csv"
    match(str(source), "--out", str(tmp_path / "clusters.csv"), "--pairs", str(pairs))
    rows = read(pairs)
    assert rows
    levels = {value for row in rows for key, value in row.items() if key.endswith("_level")}
    assert "null" not in levels
    assert rows[0]["pin_level"] == "missing on one side or both"


def test_the_pairs_file_names_the_cluster_each_pair_joined(tmp_path: Path) -> None:
    # Asked why a cluster of the clusters file was formed, the engineer filters the pairs file by its id.
    source = tmp_path / "people.csv"
    call_command(
        "generate", "--out", str(source), "--dirty", "--people", "200", "--seed", "7", stdout=io.StringIO()
    )
    clusters_path, pairs_path = tmp_path / "clusters.csv", tmp_path / "pairs.csv"
    match(str(source), "--out", str(clusters_path), "--pairs", str(pairs_path))
    cluster_of = {row["record_id"]: row["cluster_id"] for row in read(clusters_path)}
    pairs = read(pairs_path)
    assert pairs
    for row in pairs:
        left, right = cluster_of[row["record_id_l"]], cluster_of[row["record_id_r"]]
        assert row["cluster_id"] == (left if left == right else "")
    joined = [row for row in pairs if row["cluster_id"]]
    assert joined, "the generated duplicates must be joined for the test to mean anything"
