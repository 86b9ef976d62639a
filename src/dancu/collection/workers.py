"""Rows prepared in worker processes while the importing process checks and writes them.

Preparing a row (legacy encodings, NFC, tone placement, dates, the address parsed into units, then every
rule about the record alone) is most of the CPU an import spends, and depends on nothing but the row. One
rule depends on the rows before (a PIN or CMND repeated in the file is a duplicate) and the writes must
stay in file order for an interrupted import to resume after its last committed row. So the work splits
in two: worker processes prepare the next batches, the rows' JSON included, while the importing process
looks up their numbers, writes and commits the current one, in order, exactly as it does alone. A
machine with more cores imports faster with more workers (`DANCU_IMPORT_WORKERS`). On two cores one
worker still pays: the importing process waits for the database a good part of its time, and the worker
prepares meanwhile (bench/RESULTS.md, sessions 30 and 32).

The workers are forked (`lib.forked`) with an address parser bound to the units the importing process
has loaded, so they never touch the database. What comes back is a tuple of strings a row: unpickling the
normalized row objects themselves cost the importing process more than the rules it ran on them.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Generator, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from dancu.accounts.areas import OUTSIDE_AREA, outside_area_messages
from dancu.collection.readers import Row
from dancu.geo.address import frozen_address_parser
from dancu.lib.forked import forked_map
from dancu.lib.jsontext import json_text
from dancu.registry.normalize import (
    AddressParser,
    NormalizedRow,
    ParsedAddress,
    check_row,
    forget_texts,
    normalize_row,
)
from dancu.registry.rules import DEFERRED, DeferredIdentifiers, Issue, RuleContext, UnitIndex

# Rows whose cells could not be split: there is nothing in them to normalize.
UNREADABLE = frozenset({"row.too_long", "row.malformed"})
# Below this many rows left to read, starting workers (and warming their caches) costs more than it saves.
WORKERS_FROM_ROWS = 10_000
# The most worker processes one import may start (`--workers`). They are all forked at once, so a mistyped
# number would fork thousands of processes; 32 is more than a database server keeps busy with its writes
# (the importing process writes alone), on any machine the registry runs on.
MAX_WORKERS = 32
# At most this share of the batches is prepared by the importing process itself, while its workers lag
# (`prepared_batches`). On two cores with one worker, a sixth balances the two cores (bench/RESULTS.md,
# session 33); with more workers than that they seldom lag.
INLINE_SHARE = 1 / 6


def readable(batch: Sequence[Row]) -> list[Row]:
    """The rows of a batch that were split into cells."""
    return [row for row in batch if not any(problem.code in UNREADABLE for problem in row.problems)]


# Rules whose staged issue keeps where the other row is, so that the reviewer's page links to it.
WAITING_CODES = frozenset({"pin.waiting_in_import", "cmnd.waiting_in_import"})
# A prepared row's identifier that the rules did not look up (none, or not of a valid shape): not a
# duplicate of anything, and it takes no place in the file's order of numbers.
NOT_CLAIMED = -2
# One the rules looked up, whose duplicate issues are not kept: its field already has a normalization
# issue ("unreadable"), which says enough.
CLAIMED_QUIETLY = -1


def issue_json(issue: Issue) -> dict[str, Any]:
    """An issue as a staged row keeps it."""
    found: dict[str, Any] = {
        "field": issue.field,
        "code": issue.rule_code,
        "severity": str(issue.severity),
        "message_vi": issue.message("vi"),
        "message_en": issue.message("en"),
    }
    if issue.rule_code in WAITING_CODES:
        found["waiting"] = {"run": issue.params["run"], "row": issue.params["row"]}
    if issue.rule_code == OUTSIDE_AREA and "code" in issue.params:
        # The catalogue's sentence names no unit: this one names the commune refused and the importer's area.
        found["message_vi"], found["message_en"] = outside_area_messages(**issue.params)
    return found


def normalized_json(row: NormalizedRow) -> dict[str, Any]:
    """A normalized row as a staged row keeps it."""
    return {
        "record_id": row.record_id,
        "full_name": row.full_name,
        "sex": row.sex or "",
        "birth_date": row.birth_date.to_storage() if row.birth_date is not None else "",
        "birth_place": row.birth_place or "",
        "birth_place_text": row.birth_place_text,
        "id_number": row.id_number or "",
        "old_id_number": row.old_id_number or "",
        "father_name": row.father_name,
        "mother_name": row.mother_name,
        "address": row.address,
        "address_detail": row.address_detail,
        "commune_code": row.commune_code or "",
        "legacy_commune_code": row.legacy_commune_code or "",
    }


class PreparedRow(NamedTuple):
    """A row normalized and checked against every rule about the record alone, in the form it is staged.

    `pin_at` and `cmnd_at` say where in `issues` the duplicate issues of the row's PIN and CMND belong
    once its numbers are looked up in file order (`RowChecker.check`), or `NOT_CLAIMED` /
    `CLAIMED_QUIETLY`."""

    record_id: str
    id_number: str
    old_id_number: str
    commune_code: str
    legacy_commune_code: str
    normalized: str  # JSON text
    issues: list[dict[str, Any]]
    repairs: str  # JSON text
    repair_codes: tuple[str, ...]
    pin_at: int
    cmnd_at: int


def prepare_row(
    values: Mapping[str, str | None], *, today: date, address_parser: AddressParser | None, units: UnitIndex
) -> PreparedRow:
    row = normalize_row(values, today=today, address_parser=address_parser)
    pins, cmnds = DeferredIdentifiers(), DeferredIdentifiers()
    check_row(row, context=RuleContext(today=today, pins=pins, cmnds=cmnds, units=units))
    issues: list[dict[str, Any]] = []
    pin_at = CLAIMED_QUIETLY if pins.claimed else NOT_CLAIMED
    cmnd_at = CLAIMED_QUIETLY if cmnds.claimed else NOT_CLAIMED
    for issue in row.issues:
        if issue.params.get("first_record") is DEFERRED:
            # Where the duplicate issues go, if any: the rules put them right after the number's own.
            if issue.field == "id_number":
                pin_at = len(issues)
            else:
                cmnd_at = len(issues)
        else:
            issues.append(issue_json(issue))
    return PreparedRow(
        record_id=row.record_id,
        id_number=row.id_number or "",
        old_id_number=row.old_id_number or "",
        commune_code=row.commune_code or "",
        legacy_commune_code=row.legacy_commune_code or "",
        normalized=json_text(normalized_json(row)),
        issues=issues,
        repairs=json_text(
            [{"field": r.field, "code": r.code, "before": r.before, "after": r.after} for r in row.repairs]
        ),
        repair_codes=tuple(repair.code for repair in row.repairs),
        pin_at=pin_at,
        cmnd_at=cmnd_at,
    )


def prepare_batch(
    values: Iterable[Mapping[str, str | None]],
    *,
    today: date,
    address_parser: AddressParser | None,
    units: UnitIndex,
) -> list[PreparedRow]:
    return [prepare_row(cells, today=today, address_parser=address_parser, units=units) for cells in values]


class CachedParser:
    """The address parser, remembered by the exact text of the address for the whole import.

    A legacy book lists a household's members one after the other and a village's households together,
    so the same address text comes back row after row; repairing, cleaning and parsing it once is most of
    the address work saved. The memory is bounded: past `limit` texts, the one asked for least recently is
    forgotten. Keeping the first `limit` texts instead, as this did before, kept a million-row book's
    first villages and parsed every later village's houses again: 11 µs more a row once it was full
    (bench/RESULTS.md, session 32).
    """

    def __init__(self, parser: AddressParser, *, limit: int = 100_000) -> None:
        self._parse = functools.lru_cache(maxsize=limit)(parser)

    def __call__(self, text: str) -> ParsedAddress | None:
        return self._parse(text)

    def __len__(self) -> int:
        """How many texts it remembers."""
        return self._parse.cache_info().currsize

    @property
    def bare(self) -> AddressParser:
        """The parser, without this memory."""
        return self._parse.__wrapped__


class _Worker:
    """What a worker process keeps for the whole import: its address parser, against the units of the
    importing process (`frozen_address_parser` never asks the database again), with its own memory of the
    addresses it parsed, as the importing process has when it works alone, and the units the rules check
    codes against."""

    parser: CachedParser | None = None
    units: UnitIndex | None = None


def _worker_start(address_parser: AddressParser, units: UnitIndex) -> None:
    # The worker inherits the importing process's heap (Django, the units, the parser's tables) and keeps
    # it unchanged. Frozen, the cyclic collector never walks it again: every walk touched each of its
    # objects, which also copied the pages the fork shares with the importing process. The collector is
    # then held off for good, as in the importing process (`import_rows`): each batch makes a few hundred
    # thousand small objects, which it walked again and again while they lived, and which the worker
    # collects once a batch instead (`_worker_prepare`).
    gc.freeze()
    gc.disable()
    _Worker.parser = CachedParser(address_parser)
    _Worker.units = units


def _worker_prepare(values: list[dict[str, str]], today: date, parse_addresses: bool) -> list[PreparedRow]:
    # The few reference cycles the last batch made are freed now that its rows have gone back.
    gc.collect(0)
    assert _Worker.units is not None
    # The rows travel as their cells only: unpickling a dictionary costs a fraction of a Row object.
    parser = _Worker.parser if parse_addresses else None
    return prepare_batch(values, today=today, address_parser=parser, units=_Worker.units)


def prepared_batches(
    batches: Iterable[list[Row]],
    *,
    today: date,
    address_parser: AddressParser | None,
    units: UnitIndex,
    workers: int,
) -> Generator[tuple[list[Row], list[Row], list[PreparedRow]], None, None]:
    """Each batch, in order, with its readable rows and what they are prepared into.

    With `workers` > 0 the batches are prepared in that many worker processes, a few batches ahead of
    the one being yielded; the batches still come out in file order. Stopping the iteration (an error, or
    Ctrl-C in the caller) stops the workers and drops the batches they had not finished.
    """
    if workers <= 0:
        for batch in batches:
            rows = readable(batch)
            values = [row.values for row in rows]
            yield batch, rows, prepare_batch(values, today=today, address_parser=address_parser, units=units)
        return
    parse_addresses = address_parser is not None
    work = (
        ((batch, rows), ([row.values for row in rows], today, parse_addresses))
        for batch in batches
        for rows in (readable(batch),)
    )

    def prepare_here(values: list[dict[str, str]], today: date, parse_addresses: bool) -> list[PreparedRow]:
        # While the workers lag, this process prepares a batch itself rather than wait (`forked_map`): on
        # two cores the database and this process leave part of their core idle (bench/RESULTS.md,
        # session 33). What it remembers of the batch's texts is forgotten after it: the few batches it
        # prepares, far apart, share little, and remembered they took this process from 160 to 300 MB.
        parser = (
            CachedParser(address_parser.bare) if isinstance(address_parser, CachedParser) else address_parser
        )
        try:
            return prepare_batch(values, today=today, address_parser=parser, units=units)
        finally:
            forget_texts()

    # The workers receive the parser, units and all, through the fork.
    prepared = forked_map(
        _worker_prepare,
        work,
        workers=workers,
        setup=_worker_start,
        setup_args=(frozen_address_parser(), units),
        inline=prepare_here,
        inline_share=INLINE_SHARE,
    )
    try:
        for (batch, rows), result in prepared:
            yield batch, rows, result
    finally:
        prepared.close()
