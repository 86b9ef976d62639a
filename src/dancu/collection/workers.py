"""Rows normalized in worker processes while the importing process checks and writes them.

Normalizing a row (legacy encodings, NFC, tone placement, dates, the address parsed into units) is most
of the CPU an import spends, and each row's normalization depends on nothing but the row. The rules that
follow depend on the rows before (a PIN repeated in the file is a duplicate) and the writes must stay in
file order for an interrupted import to resume after its last committed row. So the work splits in two:
worker processes normalize the next batches while the importing process checks, writes and commits the
current one, in order, exactly as it does alone. A machine with more cores imports faster with more
workers (`DANCU_IMPORT_WORKERS`). On two cores one worker still pays: the importing process waits for the
database about a third of its time, and the worker normalizes meanwhile (bench/RESULTS.md, session 30).

The workers are forked (`lib.forked`) with an address parser bound to the units the importing process
has loaded, so they never touch the database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator, Iterable, Sequence
from datetime import date

from dancu.collection.readers import Row
from dancu.geo.address import frozen_address_parser
from dancu.lib.forked import forked_map
from dancu.registry.normalize import AddressParser, NormalizedRow, ParsedAddress, normalize_row

# Rows whose cells could not be split: there is nothing in them to normalize.
UNREADABLE = frozenset({"row.too_long", "row.malformed"})
# Below this many rows left to read, starting workers (and warming their caches) costs more than it saves.
WORKERS_FROM_ROWS = 10_000
# The most worker processes one import may start (`--workers`). They are all forked at once, so a mistyped
# number would fork thousands of processes; 32 is more than a database server keeps busy with its writes
# (the importing process writes alone), on any machine the registry runs on.
MAX_WORKERS = 32


def readable(batch: Sequence[Row]) -> list[Row]:
    """The rows of a batch that were split into cells."""
    return [row for row in batch if not any(problem.code in UNREADABLE for problem in row.problems)]


def normalize_batch(
    rows: Sequence[Row], *, today: date, address_parser: AddressParser | None
) -> list[NormalizedRow]:
    return [normalize_row(row.values, today=today, address_parser=address_parser) for row in rows]


class CachedParser:
    """The address parser, remembered by the exact text of the address for the whole import.

    A legacy book lists a household's members one after the other and a village's households together,
    so the same address text comes back row after row; repairing, cleaning and parsing it once is most of
    the address work saved. The memory is bounded: past `limit` texts, new ones are parsed and not kept.
    """

    def __init__(self, parser: AddressParser, *, limit: int = 100_000) -> None:
        self.parser = parser
        self.limit = limit
        self.seen: dict[str, ParsedAddress | None] = {}

    def __call__(self, text: str) -> ParsedAddress | None:
        try:
            return self.seen[text]
        except KeyError:
            parsed = self.parser(text)
            if len(self.seen) < self.limit:
                self.seen[text] = parsed
            return parsed


class _Worker:
    """What a worker process keeps for the whole import: its address parser, against the units of the
    importing process (`frozen_address_parser` never asks the database again), with its own memory of the
    addresses it parsed, as the importing process has when it works alone."""

    parser: CachedParser | None = None


def _worker_start(address_parser: AddressParser) -> None:
    _Worker.parser = CachedParser(address_parser)


def _worker_normalize(
    values: list[dict[str, str]], today: date, parse_addresses: bool
) -> list[NormalizedRow]:
    # The rows travel as their cells only: unpickling a dictionary costs a fraction of a Row object.
    parser = _Worker.parser if parse_addresses else None
    normalized = [normalize_row(cells, today=today, address_parser=parser) for cells in values]
    # The parsed address holds the registry's unit objects, with their ancestors: the codes and the
    # street part that the import keeps travel back, the objects stay here.
    return [dataclasses.replace(row, address_parsed=None) for row in normalized]


def normalized_batches(
    batches: Iterable[list[Row]],
    *,
    today: date,
    address_parser: AddressParser | None,
    workers: int,
) -> Generator[tuple[list[Row], list[Row], list[NormalizedRow]], None, None]:
    """Each batch, in order, with its readable rows and their normalized values.

    With `workers` > 0 the batches are normalized in that many worker processes, a few batches ahead of
    the one being yielded; the batches still come out in file order. Stopping the iteration (an error, or
    Ctrl-C in the caller) stops the workers and drops the batches they had not finished.
    """
    if workers <= 0:
        for batch in batches:
            rows = readable(batch)
            yield batch, rows, normalize_batch(rows, today=today, address_parser=address_parser)
        return
    parse_addresses = address_parser is not None
    work = (
        ((batch, rows), ([row.values for row in rows], today, parse_addresses))
        for batch in batches
        for rows in (readable(batch),)
    )
    # The workers receive the parser, units and all, through the fork.
    normalized = forked_map(
        _worker_normalize, work, workers=workers, setup=_worker_start, setup_args=(frozen_address_parser(),)
    )
    try:
        for (batch, rows), result in normalized:
            yield batch, rows, result
    finally:
        normalized.close()
