"""The cyclic garbage collector held off while a process builds a large table of small objects.

Python's cyclic collector runs whenever enough new container objects (tuples, lists, dicts) have been made,
and every so often walks every container the process holds. Building a table of a hundred thousand rows
makes millions of them, none of which will ever be part of a reference cycle, and the collector walked
the input rows and the growing table again and again: preparing the Vietnamese evaluation set for the
matcher spent 2.8 s of 6.4 in it (bench/RESULTS.md, session 29). Reference counting still frees everything
that is not in a cycle, so holding the collector off costs no memory for such work; what cycles the work
does make are collected when it is on again.

Only for code that makes no reference cycles of its own (no trees with parent links, no closures kept
in what they close over): a library that builds such structures (sqlglot's syntax trees, which Splink
makes by the thousand) would keep all of them until the end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off for the block, and put it back as it was (nested blocks, or
    a process that had switched it off itself, keep it off)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
