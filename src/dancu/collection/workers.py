"""Rows normalized in worker processes while the importing process checks and writes them.

Normalizing a row (legacy encodings, NFC, tone placement, dates, the address parsed into units) is most
of the CPU an import spends, and each row's normalization depends on nothing but the row. The rules that
follow depend on the rows before (a PIN repeated in the file is a duplicate) and the writes must stay in
file order for an interrupted import to resume after its last committed row. So the work splits in two:
worker processes normalize the next batches while the importing process checks, writes and commits the
current one, in order, exactly as it does alone. A machine with more cores imports faster with more
workers (`DANCU_IMPORT_WORKERS`); on two cores the importing process and the database server keep both
busy and a worker only adds the cost of sending rows between processes.

The workers are forked from the importing process after it has loaded the administrative units, so
they parse addresses with its units and never touch the database: a forked child must not use the
connection it inherited (its traffic would mix with its parent's), and a test's units may sit in a
transaction that only the parent's connection sees.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Generator, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import date

from dancu.collection.readers import Row
from dancu.geo.address import frozen_address_parser
from dancu.registry.normalize import AddressParser, NormalizedRow, ParsedAddress, normalize_row

# Rows whose cells could not be split: there is nothing in them to normalize.
UNREADABLE = frozenset({"row.too_long", "row.malformed"})
# How often a worker looks whether the importing process is still there.
_PARENT_CHECK_SECONDS = 1.0
# Below this many rows left to read, starting workers (and warming their caches) costs more than it saves.
WORKERS_FROM_ROWS = 10_000


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
    # Ctrl-C on the terminal reaches every process of the group: the importing process stops the import
    # and says where it stopped; its workers have nothing to say and leave with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _Worker.parser = CachedParser(address_parser)
    threading.Thread(target=_leave_with_parent, args=(os.getppid(),), daemon=True).start()


def _leave_with_parent(parent: int) -> None:
    # A worker waits for batches on a pipe that it holds both ends of (forked), so it would not notice
    # the importing process being killed (SIGKILL, out of memory) and would wait for ever. It leaves once
    # it has been handed to another parent.
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(1)


def _worker_normalize(
    values: list[dict[str, str]], today: date, parse_addresses: bool
) -> list[NormalizedRow]:
    # The rows travel as their cells only: unpickling a dictionary costs a fraction of a Row object.
    parser = _Worker.parser if parse_addresses else None
    normalized = [normalize_row(cells, today=today, address_parser=parser) for cells in values]
    # The parsed address holds the registry's unit objects, with their ancestors: the codes and the
    # street part that the import keeps travel back, the objects stay here.
    return [dataclasses.replace(row, address_parsed=None) for row in normalized]


def can_fork_workers() -> bool:
    """Whether this process may start worker processes: a daemonic one (a task worker of the queue) may
    not, and only `fork` gives the workers the units already loaded here."""
    return not multiprocessing.current_process().daemon and "fork" in multiprocessing.get_all_start_methods()


def _done(
    submitted: tuple[list[Row], list[Row], Future[list[NormalizedRow]]],
) -> tuple[list[Row], list[Row], list[NormalizedRow]]:
    batch, rows, future = submitted
    return batch, rows, future.result()


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
    # Forked, the workers receive the parser as it is (units and all) without pickling it.
    context = multiprocessing.get_context("fork")
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_worker_start,
        initargs=(frozen_address_parser(),),
    )
    pending: deque[tuple[list[Row], list[Row], Future[list[NormalizedRow]]]] = deque()
    parse_addresses = address_parser is not None
    try:
        for batch in batches:
            rows = readable(batch)
            pending.append(
                (
                    batch,
                    rows,
                    executor.submit(_worker_normalize, [row.values for row in rows], today, parse_addresses),
                )
            )
            # Two batches in hand per worker: one being normalized, one waiting, so that no worker idles
            # while the importing process writes.
            if len(pending) >= 2 * workers:
                yield _done(pending.popleft())
        while pending:
            yield _done(pending.popleft())
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
