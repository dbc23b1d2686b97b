"""Independent solves on both cores: the CMVM candidates of a small layer, the row blocks
of a large one. The solver is pure Python, so threads would not run it in parallel; a
forked process shares the loaded modules and inputs without copying them, and only the
results travel back (pickled). The results are the same as solving one after another.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

enabled = True  # False: every solve in this process (a caller that keeps both cores busy itself)
_in_worker = False  # set in the forked process: it solves its share alone


def solve_all(candidates: list[tuple], report: Callable[[int, int], None] | None = None) -> list:
    """Each candidate's result, `f(*args, **kwargs)` for `(f, args, kwargs)`, in order. With
    a second core, a forked process solves every other candidate while this one solves the
    rest. `report(k, n)` is called before each solve made here."""
    n = len(candidates)
    parallel = n > 1 and _idle_core()
    results: list = [None] * n
    theirs = set(range(1, n, 2)) if parallel else set()
    pending = None
    if theirs:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
        pending = pool.submit(_solve_some, [candidates[k] for k in sorted(theirs)])
    try:
        done = 0
        for k in range(n):
            if k in theirs:
                continue
            done += 1
            if report is not None:
                report(done, n)
            f, args, kwargs = candidates[k]
            results[k] = f(*args, **kwargs)
        if pending is not None:
            for k, r in zip(sorted(theirs), pending.result(), strict=True):
                results[k] = r
    finally:
        if pending is not None:
            pool.shutdown(cancel_futures=True)
    return results


def _idle_core() -> bool:
    """Whether a forked helper would get a core of its own: there is a second core, the
    one-minute load leaves one idle (as `make -l` judges it: the test suite's workers, a
    batch of compiles already use them all), and this process may have children (not a
    daemon such as a Dask worker, not a helper itself)."""
    cores = os.cpu_count() or 1
    if not enabled or cores < 2 or _in_worker or mp.current_process().daemon or "fork" not in mp.get_all_start_methods():
        return False
    return os.getloadavg()[0] < cores - 0.5


def _solve_some(candidates: list[tuple]) -> list:
    global _in_worker
    _in_worker = True
    return [f(*args, **kwargs) for f, args, kwargs in candidates]
