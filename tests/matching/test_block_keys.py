"""The blocking keys: records share a rule's key exactly when they agree on every column of the rule, none
blank, in a block no larger than the cap; the pair counts and the capped blocks say the same."""

from __future__ import annotations

import random
from itertools import combinations

import pandas as pd

from dancu.matching.engine import BLOCKING_RULES, BlockingRule, _block_keys, _frame
from dancu.matching.prepare import PREPARED_COLUMNS


def _columns(records: int, seed: int) -> dict[str, list[object]]:
    chooser = random.Random(seed)
    columns: dict[str, list[object]] = {name: [] for name in PREPARED_COLUMNS}
    for index in range(records):
        for name in PREPARED_COLUMNS:
            if name == "unique_id":
                value: object = f"r{index}"
            elif name in ("dob_y", "dob_m", "dob_d"):
                value = chooser.choice([None, 1, 2, 3])
            else:
                value = chooser.choice([None, "a", "b", "c", "d"])
            columns[name].append(value)
    return columns


RULES = (
    BlockingRule("one", ("given_folded",), "one column"),
    BlockingRule("two", ("given_folded", "dob_y"), "a text and a number"),
    BlockingRule("three", ("family_folded", "dob_m", "dob_d"), "three columns"),
    BlockingRule("small", ("name_sorted", "dob_y"), "a cap of its own", cap=3),
)


def test_records_share_a_key_exactly_when_they_agree_on_the_rule() -> None:
    columns = _columns(400, seed=3)
    frame = _frame(columns)
    counts, capped = _block_keys(frame, RULES, cap=12)
    for rule, count in zip(RULES, counts, strict=True):
        rule_cap = min(12, rule.cap) if rule.cap is not None else 12
        values = [
            None
            if any(columns[c][i] is None for c in rule.columns)
            else tuple(columns[c][i] for c in rule.columns)
            for i in range(400)
        ]
        sizes: dict[tuple[object, ...], int] = {}
        for value in values:
            if value is not None:
                sizes[value] = sizes.get(value, 0) + 1
        keys = [None if pd.isna(key) else int(key) for key in frame[rule.key_column]]
        for i, j in combinations(range(400), 2):
            expected = values[i] is not None and values[i] == values[j] and sizes[values[i]] <= rule_cap
            together = keys[i] is not None and keys[i] == keys[j]
            assert together == expected, (rule.name, i, j, values[i], values[j])
        assert count["pairs"] == sum(n * (n - 1) // 2 for n in sizes.values() if n <= rule_cap)
    # Only the run's cap is reported, largest block first, each with its values.
    expected_capped = sorted(
        (
            ("|".join(str(v) for v in value), n)
            for value, n in _sizes(columns, RULES[2].columns).items()
            if n > 12
        ),
        key=lambda item: -item[1],
    )
    reported = [(block.key, block.records) for block in capped if block.rule == "three"]
    assert sorted(reported) == sorted(expected_capped)
    assert [n for _key, n in reported] == sorted((n for _key, n in reported), reverse=True)
    assert not [block for block in capped if block.rule == "small"]


def _sizes(columns: dict[str, list[object]], names: tuple[str, ...]) -> dict[tuple[object, ...], int]:
    sizes: dict[tuple[object, ...], int] = {}
    for i in range(len(columns["unique_id"])):
        value = tuple(columns[c][i] for c in names)
        if None not in value:
            sizes[value] = sizes.get(value, 0) + 1
    return sizes


def test_no_records_and_records_blank_everywhere_have_no_keys() -> None:
    for records in (0, 3):
        frame = _frame({name: [None] * records for name in PREPARED_COLUMNS})
        counts, capped = _block_keys(frame, BLOCKING_RULES, cap=1_000)
        assert [count["pairs"] for count in counts] == [0] * len(BLOCKING_RULES)
        assert capped == []
        for rule in BLOCKING_RULES:
            assert frame[rule.key_column].isna().all()


def test_the_pairs_of_a_training_rule_are_those_splink_compares() -> None:
    """The pairs an expectation-maximisation session would compare, counted to decide whether to sample
    them (`_pairs_sharing`), are the pairs Splink's own `block_on` gives: blanks share nothing."""
    import duckdb
    from splink import DuckDBAPI, block_on
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from dancu.matching.engine import EM_LOCAL_SESSIONS, EM_SESSIONS, _pairs_sharing

    frame = _frame(_columns(300, seed=5))
    sessions = [session.columns for session in (*EM_SESSIONS, *EM_LOCAL_SESSIONS)]
    for columns in (*sessions, ("given_folded", "dob_y"), ("family_folded", "dob_m", "dob_d")):
        table = DuckDBAPI(duckdb.connect()).register(frame)
        [counted] = count_comparisons_from_blocking_rules(
            table, blocking_rules=block_on(*columns), link_type="dedupe_only", record_sample_proportion=1.0
        )
        assert _pairs_sharing(frame, columns) == counted["cumulative_comparison_count"] > 0, columns


def test_a_name_part_with_a_date_part_pairs_small_blocks_only() -> None:
    """Eleven records of one given name born on one day and month (years apart) are too many to say
    anything: the given name and day rule leaves them out, while ten are paired. The whole name with the
    day and month still pairs all eleven."""
    from dancu.matching.engine import NAME_PART_DATE_CAP

    for records, paired in ((NAME_PART_DATE_CAP, True), (NAME_PART_DATE_CAP + 1, False)):
        columns: dict[str, list[object]] = {name: [None] * records for name in PREPARED_COLUMNS}
        columns["unique_id"] = [f"r{index}" for index in range(records)]
        columns["given_folded"] = ["lan"] * records
        columns["name_sorted"] = ["lan nguyen thi"] * records
        columns["dob_y"] = [1950 + index for index in range(records)]
        columns["dob_m"] = [3] * records
        columns["dob_d"] = [8] * records
        frame = _frame(columns)
        counts, capped = _block_keys(frame, BLOCKING_RULES, cap=1_000)
        pairs = {count["rule"]: count["pairs"] for count in counts}
        assert pairs["given_day"] == (records * (records - 1) // 2 if paired else 0)
        assert frame["bk_given_day"].isna().all() is not paired
        assert pairs["name_day"] == records * (records - 1) // 2
        # A rule's own cap is by design, not a warning.
        assert capped == []
    weak = ("given_year_month", "given_day", "family_dob")
    assert all(rule.cap == NAME_PART_DATE_CAP for rule in BLOCKING_RULES if rule.name in weak)
