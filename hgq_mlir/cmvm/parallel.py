"""Independent solves on both cores: the CMVM candidates of a small layer, the row blocks
of a large one. The solver is pure Python, so threads would not run it in parallel; a
forked process shares the loaded modules and inputs without copying them, and only the
results travel back (pickled). The results are the same as solving one after another.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

enabled = True  # False: every solve in this process (a caller that keeps both cores busy itself)
_in_worker = False  # set in the forked process: it solves its share alone


def solve_all(candidates: list[tuple], report: Callable[[int, int], None] | None = None) -> list:
    """Each candidate's result, `f(*args, **kwargs)` for `(f, args, kwargs)`, in order. With
    an idle second core, a forked process solves every other candidate while this one
    solves the rest. `report(k, n)` is called before candidate k (1-based) is solved here."""
    n = len(candidates)

    def solve(k: int):
        if report is not None:
            report(k + 1, n)
        f, args, kwargs = candidates[k]
        return f(*args, **kwargs)

    if n < 2 or not _idle_core():
        return [solve(k) for k in range(n)]
    results: list = [None] * n
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork")) as pool:
        theirs = pool.submit(_solve_some, candidates[1::2])
        for k in range(0, n, 2):
            results[k] = solve(k)
        results[1::2] = theirs.result()
    return results


def _idle_core() -> bool:
    """Whether a forked helper would get a core of its own: there is a second core, no other
    task is running on it now (the test suite's workers, a batch of compiles), and this
    process may have children (not a daemon such as a Dask worker, not a helper itself)."""
    cores = os.cpu_count() or 1
    if not enabled or cores < 2 or _in_worker or mp.current_process().daemon or "fork" not in mp.get_all_start_methods():
        return False
    return runnable_elsewhere() < cores - 1


def runnable_elsewhere() -> float:
    """Tasks ready to run besides this one, now (Linux's count in /proc/loadavg, the least of
    three looks 2 ms apart; elsewhere the one-minute load): the load average trails by a
    minute, so it would still count the compile that just finished."""
    try:
        counts = []
        for n in range(3):
            if n:
                time.sleep(0.002)
            with open("/proc/loadavg") as f:
                counts.append(int(f.read().split()[3].split("/")[0]) - 1)
        return min(counts)
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0]


def _solve_some(candidates: list[tuple]) -> list:
    global _in_worker
    _in_worker = True
    return [f(*args, **kwargs) for f, args, kwargs in candidates]
