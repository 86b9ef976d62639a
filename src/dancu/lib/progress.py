"""The progress of a long command: a bar on a terminal, a plain line now and then anywhere else.

tqdm draws nothing when stderr is not a terminal (`disable=None`), which is right for a log file but
leaves a command run from cron, systemd or CI silent for minutes: nobody can tell a slow import from a
hung one. `progress_bar` keeps tqdm's bar on a terminal, unchanged, and elsewhere writes a line at most
every INTERVAL_SECONDS (the first one after as long), and one at the end:

    [14:05:03] Đọc, kiểm tra / reading, checking: 12,000 / 100,000 dòng (12 %)
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from tqdm import tqdm

from dancu.lib.termination import StopRequest

# Often enough that a log shows the command is alive, seldom enough that an hour's run is a page of lines.
INTERVAL_SECONDS = 10.0


def progress_bar(
    *,
    total: float | None,
    unit: str,
    label: str = "",
    initial: float = 0,
    unit_scale: bool = False,
    file: IO[str] | None = None,
    stop: StopRequest | None = None,
) -> Any:
    """tqdm's bar on a terminal, as the commands always drew it; elsewhere plain lines, named by `label`
    (or by the description a command gives the bar). Either is a tqdm: `update`, `n`, `set_description`,
    `close`, a context manager. With `stop`, each update is where SIGTERM stops the command
    (`lib.termination`): a command reports its progress between two pieces of its work."""
    bar = _bar(total=total, unit=unit, label=label, initial=initial, unit_scale=unit_scale, file=file)
    if stop is not None:
        update = bar.update

        def update_then_stop(n: float | None = 1) -> bool | None:
            shown = update(n)
            stop.check()
            return shown

        bar.update = update_then_stop
    return bar


def _bar(
    *, total: float | None, unit: str, label: str, initial: float, unit_scale: bool, file: IO[str] | None
) -> tqdm:
    file = sys.stderr if file is None else file
    if _is_terminal(file):
        return tqdm(
            initial=initial,
            total=total,
            unit=unit,
            unit_scale=unit_scale,
            file=file,
            disable=None,
            dynamic_ncols=True,
        )
    return PlainProgress(
        initial=initial, total=total, unit=unit, unit_scale=unit_scale, file=file, desc=label
    )


def _is_terminal(file: IO[str]) -> bool:
    try:
        return file.isatty()
    except (AttributeError, ValueError):  # no isatty (a wrapper), or a closed file
        return False


class PlainProgress(tqdm):
    """tqdm's counting and timing, shown as a whole line at most every INTERVAL_SECONDS and at the end,
    for a stderr that is not a terminal (a log keeps every line; a bar's carriage returns would pile up)."""

    # No monitor thread: it only tunes `miniters`, which is fixed here.
    monitor_interval = 0

    def __init__(self, **kwargs: Any) -> None:
        # What the last line said: a description set, or the end, repeats no line.
        self._written: tuple[float, str] | None = None
        super().__init__(
            **kwargs,
            disable=False,
            leave=False,
            mininterval=INTERVAL_SECONDS,
            delay=INTERVAL_SECONDS,
            miniters=1,
        )

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        # A new name is shown by the next line, not by one more line of its own.
        super().set_description(desc, refresh=False)

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        # tqdm asks with "" to clear the bar: there is no bar to clear.
        if msg == "":
            return False
        if self._written != (self.n, self.desc):
            self.fp.write(self.line() + "\n")
            self.fp.flush()
            self._written = (self.n, self.desc)
        return True

    def close(self) -> None:
        # The last line says where the work ended, even when it ended before the first interval.
        if not self.disable:
            self.display()
        super().close()

    def _amount(self, value: float) -> str:
        if self.unit_scale:
            return f"{tqdm.format_sizeof(value)}{self.unit}"
        return f"{value:,.0f}{self.unit}"

    def line(self) -> str:
        """`[HH:MM:SS] label: done / total unit (percent)`; without a total, `done unit`."""
        if self.total:
            # A count names its unit once, after the total ("12,000 / 100,000 dòng"); a size each time.
            done = self._amount(self.n) if self.unit_scale else f"{self.n:,.0f}"
            amount = f"{done} / {self._amount(self.total)} ({100 * self.n / self.total:.0f} %)"
        else:
            amount = self._amount(self.n)
        # tqdm keeps a description set later as "name: ".
        name = self.desc.removesuffix(": ")
        label = f"{name}: " if name else ""
        return f"[{time.strftime('%H:%M:%S')}] {label}{amount}"
