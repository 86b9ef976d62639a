"""`gc_paused` holds the cyclic collector off for its block only, and leaves it off for a caller that had
switched it off itself."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from dancu.lib.gcpause import gc_paused


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


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
