"""Progress on stderr for long compiles: stage, layer i of n, CMVM solve k of m.

Call sites report what they are doing; nothing is shown unless a display is active
(`display(...)`), stderr is a terminal, and the work has already taken `delay` seconds
(short compiles stay silent). Without an active display every call is a no-op costing one
global read, so the compiler's inner code can call it freely:

    from hgq_mlir import progress
    with progress.display(enabled=not quiet):      # the driver / API, once
        progress.stage("lower-hgq-to-fx")          # a pipeline step
        progress.layer(3, 5, "dense2")             # layer 3 of 5
        progress.solve(2, 9)                       # CMVM candidate 2 of 9 in this layer
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import IO

DELAY = 2.0  # seconds before anything is shown


class _Display:
    """The rich progress line, created by a timer once `delay` has passed."""

    def __init__(self, stream: IO[str], delay: float, label: str):
        self.stream = stream
        self.label = label
        self.lock = threading.Lock()
        self.state = {"stage": "", "layer": "", "solve": "", "done": 0, "total": None}
        self.bar = None
        self.task = None
        self.closed = False
        self.timer = threading.Timer(delay, self._show)
        self.timer.daemon = True
        self.timer.start()

    def _describe(self) -> str:
        s = self.state
        parts = [p for p in (s["stage"], s["layer"], s["solve"]) if p]
        return f"{self.label}: " + " · ".join(parts) if parts else self.label

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with self.lock:
            if self.closed:
                return
            console = Console(file=self.stream, force_terminal=True, highlight=False)
            self.bar = Progress(
                SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=console, transient=True,
            )
            self.task = self.bar.add_task(self._describe(), total=self.state["total"], completed=self.state["done"])
            self.bar.start()

    def update(self, **changes) -> None:
        with self.lock:
            self.state.update({k: printable(v) if isinstance(v, str) else v for k, v in changes.items()})
            if self.bar is not None:
                self.bar.update(self.task, description=self._describe(), total=self.state["total"],
                                completed=self.state["done"])

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.timer.cancel()
            if self.bar is not None:
                self.bar.stop()


_active: _Display | None = None


def printable(text: str) -> str:
    """`text` with everything but printable ASCII escaped (`hgq_mlir.backend.names.printable`),
    line by line, so a name from a model file cannot drive the terminal; a table's line
    breaks are kept."""
    from hgq_mlir.backend.names import printable as escape

    return "\n".join(escape(line) for line in text.split("\n"))


def is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def display(enabled: bool = True, stream: IO[str] | None = None, delay: float = DELAY,
            label: str = "hgq-mlir") -> Iterator[None]:
    """Show progress on `stream` (default stderr) while the block runs, if `enabled` and the
    stream is a terminal, starting after `delay` seconds; nested displays defer to the outer one."""
    global _active
    stream = sys.stderr if stream is None else stream
    if not enabled or _active is not None or not is_terminal(stream):
        yield
        return
    _active = _Display(stream, delay, label)
    try:
        yield
    finally:
        shown, _active = _active, None
        shown.close()


def stage(name: str) -> None:
    """A new pipeline stage (resets the layer and solve counters)."""
    if _active is not None:
        _active.update(stage=name, layer="", solve="", done=0, total=None)


def layer(i: int, n: int, name: str = "") -> None:
    """Working on layer i (1-based) of n."""
    if _active is not None:
        _active.update(layer=f"layer {i}/{n} {name}".rstrip(), solve="", done=i - 1, total=n)


def solve(k: int, m: int) -> None:
    """CMVM: candidate graph k (1-based) of m for the current layer."""
    if _active is not None:
        _active.update(solve=f"CMVM {k}/{m}")
