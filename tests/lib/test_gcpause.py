"""`gc_paused` holds the cyclic collector off for its block only, and leaves it off for a caller that had
switched it off itself; with `freeze`, what the block leaves is kept out of the collector's walks until
`gc_thawed_after` gives it back, as the matcher's preparation and run do."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from dancu.lib.gcpause import gc_paused, gc_thawed_after


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    # A failed test must not leave the rest of the session's heap out of the collector's reach.
    gc.unfreeze()
    if not was:
        gc.disable()


def _walked(thing: object) -> bool:
    """Whether the collector's generations hold `thing` (the frozen objects are in none of them)."""
    return any(found is thing for found in gc.get_objects())


@pytest.mark.usefixtures("collector_on")
def test_the_collector_is_off_inside_and_on_again_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "an inner block must not switch it on under the outer one"
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_an_error_in_the_block_still_puts_the_collector_back() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("stopped")
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_a_process_that_had_switched_it_off_keeps_it_off() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_the_matchers_preparation_runs_with_the_collector_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from dancu.matching import prepare

    seen: list[bool] = []
    serial = prepare._prepare_serial

    def watched(*args: object, **kwargs: object) -> prepare.PreparedRecords:
        seen.append(gc.isenabled())
        return serial(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(prepare, "_prepare_serial", watched)
    prepared = prepare.prepare_records(
        [{"record_id": "a", "full_name": "Nguyễn Văn Hùng"}],
        today=date(2025, 7, 1),
        units=prepare.AddressUnits(None),
    )
    assert prepared.columns["name_folded"] == ["nguyen van hung"]
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_what_a_freezing_block_leaves_is_out_of_the_walks_until_given_back() -> None:
    with gc_thawed_after():
        with gc_paused(freeze=True):
            table = [[index] for index in range(1000)]
        assert gc.isenabled()
        assert not _walked(table)
        assert not _walked(table[0])
    assert gc.get_freeze_count() == 0
    assert _walked(table)


def _fail_building(table: list[list[int]]) -> None:
    with gc_paused(freeze=True):
        table.extend([index] for index in range(10))
        raise RuntimeError("stopped")


def _fail_after_building(table: list[list[int]]) -> None:
    with gc_thawed_after():
        with gc_paused(freeze=True):
            table.extend([index] for index in range(10))
        raise RuntimeError("stopped")


@pytest.mark.usefixtures("collector_on")
def test_a_failed_freezing_block_freezes_nothing_and_thawing_survives_an_error() -> None:
    table: list[list[int]] = []
    with pytest.raises(RuntimeError):
        _fail_building(table)
    assert gc.get_freeze_count() == 0
    assert _walked(table[0])
    with pytest.raises(RuntimeError):
        _fail_after_building(table)
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("collector_on")
def test_the_prepared_records_are_frozen_until_the_matcher_has_run() -> None:
    from datetime import date

    from dancu.matching import prepare
    from dancu.matching.engine import run_matcher

    rows = [
        {"record_id": "a", "full_name": "Nguyễn Văn Hùng", "birth_date": "1990-01-02"},
        {"record_id": "b", "full_name": "Nguyen Van Hung", "birth_date": "1990-01-02"},
    ]
    prepared = prepare.prepare_records(rows, today=date(2025, 7, 1), units=prepare.AddressUnits(None))
    assert not _walked(prepared.columns)
    assert not _walked(prepared.columns["name_folded"])

    result = run_matcher(prepared, train=False)

    assert result.clusters["a"] == result.clusters["b"]
    assert gc.get_freeze_count() == 0
    assert _walked(prepared.columns["name_folded"])
