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

What such a block leaves alive may be kept for a long while: the matcher's prepared records live through
the whole run. All of it was made while the collector was off, so its first collection after the block
walks all of it, the next one again, and then the full one: 0.28 s of a run on the Vietnamese set, a
hundred thousand records, in three walks of a table that holds no reference cycle. With `freeze`, the
block's end moves every object then alive out of the collector's reach (`gc.freeze`), and the owner of
that data gives them back (`gc.unfreeze`) when it is done with it; objects freed meanwhile by their
reference counts are freed as ever.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """Hold the cyclic garbage collector off for the block, and put it back as it was (nested blocks, or
    a process that had switched it off itself, keep it off). With `freeze`, what is alive at the block's
    end is frozen before the collector comes back (see the module docstring); not when the block fails,
    since nobody would then give it back."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if freeze:
            gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def gc_thawed_after() -> Iterator[None]:
    """Give every frozen object back to the collector at the block's end, however it ends: for the owner
    of what a `gc_paused(freeze=True)` block left (see the module docstring)."""
    try:
        yield
    finally:
        gc.unfreeze()
