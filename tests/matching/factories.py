"""Candidate pairs as the matcher writes them, made by hand: the review's tests do not run the matcher.

The comparisons are the shape `dancu match --registry` stores: one entry per compared field with the
comparison level that applied and its match weight (log2 Bayes factor), and both sides' values.
"""

from __future__ import annotations

import itertools
from typing import Any

from dancu.collection.models import ImportRun, StagingRecord
from dancu.geo.models import AdminUnit
from dancu.matching.models import CandidatePair, MatchRun
from dancu.registry.models import Citizen

_files = itertools.count(1)

Side = Citizen | StagingRecord


def match_run(*, auto_merge_threshold: float | None = None) -> MatchRun:
    return MatchRun.objects.create(
        backend="duckdb",
        threshold=0.8,
        auto_merge_threshold=auto_merge_threshold,
        status=MatchRun.Status.FINISHED,
    )


def staged_row(**values: str) -> StagingRecord:
    """A row of a legacy household-register file, staged by the import and waiting in its review."""
    number = next(_files)
    run = ImportRun.objects.create(
        source="Sổ hộ khẩu Hoàn Kiếm 2019",
        file_name=f"hk_{number}.csv",
        file_sha256=f"{number:064d}",
        file_size=1000,
        file_format=ImportRun.Format.CSV,
        started_label="system:test",
        status=ImportRun.Status.DONE,
        # Counted as the import counts its row: one read, waiting for review.
        rows_read=1,
        rows_review=1,
    )
    row = {
        "record_id": f"HK-{number}",
        "source": "hk2019",
        "full_name": "Nguyen Van Hung",
        "gender": "Nam",
        "birth_date": "17/05/1990",
        "address": "Số 1 Hàng Trống, Hoàn Kiếm, Hà Nội",
    } | values
    normalized = {k: v for k, v in row.items() if k not in ("record_id", "source", "death_date", "gender")}
    normalized["sex"] = "M" if row["gender"] == "Nam" else "F"
    return StagingRecord.objects.create(
        run=run, row_number=1, status=StagingRecord.Status.REVIEW, raw=row, normalized=normalized
    )


def _key(side: Side) -> str:
    return f"{'c' if isinstance(side, Citizen) else 's'}:{side.pk}"


def _value(side: Side, name: str) -> str:
    if isinstance(side, Citizen):
        value: Any = getattr(side, name, "")
        return value.to_storage() if hasattr(value, "to_storage") else str(value or "")
    return str(side.normalized.get(name) or side.raw.get(name) or "")


def comparisons_for(left: Side, right: Side) -> list[dict[str, Any]]:
    """Realistic field-by-field evidence: names agree after folding, dates exactly, the PIN is unknown."""
    return [
        {
            "field": "full_name",
            "level": "khớp sau khi bỏ dấu (exact after folding tone marks)",
            "weight": 9.41,
            "left": _value(left, "full_name"),
            "right": _value(right, "full_name"),
        },
        {
            "field": "birth_date",
            "level": "khớp chính xác (exact)",
            "weight": 7.83,
            "left": _value(left, "birth_date"),
            "right": _value(right, "birth_date"),
        },
        {"field": "sex", "level": "khớp (exact)", "weight": 0.92, "left": "M", "right": "M"},
        {
            "field": "pin",
            "level": "thiếu (null)",
            "weight": 0.0,
            "left": _value(left, "pin"),
            "right": _value(right, "pin"),
        },
        {
            "field": "old_id_number",
            "level": "khác (different)",
            "weight": -3.5,
            "left": _value(left, "old_id_number"),
            "right": _value(right, "old_id_number"),
        },
    ]


def candidate_pair(
    left: Side,
    right: Side,
    *,
    run: MatchRun | None = None,
    probability: float = 0.97,
    unit: AdminUnit | None = None,
) -> CandidatePair:
    keys = sorted([_key(left), _key(right)])
    if unit is None:
        citizen = left if isinstance(left, Citizen) else right if isinstance(right, Citizen) else None
        assert citizen is not None, "a pair of two staged rows needs its unit"
        unit = citizen.area_commune
    assert unit is not None
    comparisons = comparisons_for(left, right)
    return CandidatePair.objects.create(
        run=run or match_run(),
        left_citizen=left if isinstance(left, Citizen) else None,
        left_staging=left if isinstance(left, StagingRecord) else None,
        right_citizen=right if isinstance(right, Citizen) else None,
        right_staging=right if isinstance(right, StagingRecord) else None,
        pair_key="|".join(keys),
        unit=unit,
        match_weight=sum(c["weight"] for c in comparisons),
        match_probability=probability,
        comparisons=comparisons,
    )
