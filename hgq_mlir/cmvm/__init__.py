"""Constant matrix × vector as shift-and-add graphs (pure NumPy / Python, no IR).

    from hgq_mlir.cmvm import solve
    r = solve(W, input_ranges=[(-128, 127)] * W.shape[0], depth_slack=1)
    r.adders, r.luts, r.depth, r.evaluate(x_int)   # evaluate == x_int @ W, exactly

`method="cse"` (default) shares common subexpressions between columns (and tries plain
binary digits, and building columns from each other, W = W1·W2, keeping the cheapest
graph); `method="csd"`
is the baseline (one adder per nonzero signed digit beyond the first of each column).
`ternary=True` plans the final sums with ternary adders (a + b + c on one carry chain,
one LUT per result bit like a binary adder) where they cost fewer LUTs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hgq_mlir import progress

from hgq_mlir.cmvm.csd import csd_digit_count, csd_digits, solve_csd
from hgq_mlir.cmvm.cse import DEFAULT_DEPTH_SLACK, _ceil_log, solve_cse
from hgq_mlir.cmvm.decompose import solve_two_stage
from hgq_mlir.cmvm.parallel import solve_all
from hgq_mlir.cmvm.graph import (
    AdderGraph,
    Term,
    adder_luts,
    estimate_luts,
    ternary_luts,
)
from hgq_mlir.fixed import range_width


@dataclass(frozen=True)
class CMVMResult:
    graph: AdderGraph
    luts: int

    @property
    def adders(self) -> int:
        return self.graph.n_adders

    @property
    def ternary(self) -> int:
        """How many of the adders are ternary."""
        return self.graph.n_ternary

    @property
    def depth(self) -> int:
        return self.graph.depth

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return self.graph.evaluate(x)


SOLVERS = ("cse", "csd")


RESTART_DIGITS = 1200  # restarts (perturbed tie-breaks) only for matrices this small: they cost time
RESTARTS = 6
BINARY_DIGITS = 2000  # up to this size, plain binary digits are tried too (they pay off on 4-5-bit weights)
FOREST_DIGITS = 4000  # up to this size, the column forest (decompose.py) is tried too


_SOLVED: dict[tuple, AdderGraph] = {}  # recent solutions: the baseline report solves the same layers again
_SOLVED_MAX = 64


def build_graph(w: np.ndarray, input_ranges: Sequence[tuple[int, int]], method: str = "cse",
                depth_slack: int = DEFAULT_DEPTH_SLACK, ternary: bool = False) -> AdderGraph:
    """The solver's graph for W over the given input ranges (memoized: a pure function)."""
    w = np.asarray(w)
    key = (method, depth_slack, ternary, w.shape, tuple(int(v) for v in w.ravel()), tuple((int(lo), int(hi)) for lo, hi in input_ranges))
    if key not in _SOLVED:
        if len(_SOLVED) >= _SOLVED_MAX:
            _SOLVED.pop(next(iter(_SOLVED)))
        _SOLVED[key] = _build_graph(w, input_ranges, method, depth_slack, ternary)
    return _SOLVED[key]


def _build_graph(w: np.ndarray, input_ranges: Sequence[tuple[int, int]], method: str, depth_slack: int,
                 ternary: bool = False) -> AdderGraph:
    if method == "csd":
        return solve_csd(w)
    if method != "cse":
        raise ValueError(f"unknown CMVM method {method!r} (choose from {', '.join(SOLVERS)})")
    bits = [range_width(int(lo), int(hi)) for lo, hi in input_ranges]
    ranges = [(int(lo), int(hi)) for lo, hi in input_ranges]
    counts = csd_digit_count(w)
    digits = int(counts.sum())
    # each candidate is a whole solve: the smaller the matrix, the more are worth their time
    plain = dict(input_ranges=ranges, ternary=ternary)
    candidates = [(solve_cse, (w, bits, depth_slack), plain)]
    if digits <= BINARY_DIGITS:
        candidates.append((solve_cse, (w, bits, depth_slack), {**plain, "binary_ties": True}))
    if digits <= FOREST_DIGITS:
        candidates.append((solve_two_stage, (w, bits, depth_slack), plain))
    if digits <= RESTART_DIGITS:
        candidates += [(solve_cse, (w, bits, depth_slack), {**plain, "seed": seed}) for seed in range(RESTARTS)]
    graphs = solve_all(candidates, progress.solve)
    if len(graphs) == 1:
        return graphs[0]
    # every output within its depth bound (or no deeper than the plain solve's where that
    # cannot reach it): a cheaper graph never buys its LUTs with latency
    bound = [_ceil_log(int(n), 2) + depth_slack for n in counts.sum(axis=0)]
    limit = [max(b, d) for b, d in zip(bound, _output_depths(graphs[0]))]
    best, cost = graphs[0], estimate_luts(graphs[0], input_ranges)
    for g in graphs[1:]:  # the cheapest graph kept, the earliest of equals
        if g is None or any(d > m for d, m in zip(_output_depths(g), limit)):
            continue
        c = estimate_luts(g, input_ranges)
        if c < cost:
            best, cost = g, c
    return best


def _output_depths(graph: AdderGraph) -> list[int]:
    depth = graph.depths()
    return [0 if t is None else depth[t.node] for t in graph.outputs]


def solve(w, input_ranges: Sequence[tuple[int, int]] | None = None, depth_slack: int = DEFAULT_DEPTH_SLACK,
          method: str = "cse", ternary: bool = False) -> CMVMResult:
    """An adder graph computing x·W for integer W (n_in × n_out) and integer inputs x.

    `input_ranges[j]` = (lo, hi) of input j (default: 8-bit signed); widths follow from it.
    Each output's digits stay summable in ceil(log_b(#signed digits)) + depth_slack adder
    levels (b = 2, or 3 with ternary adders); the final sums reach that where they can.
    """
    w = np.asarray(w)
    if not np.issubdtype(w.dtype, np.integer) and w.dtype != object:
        if not np.array_equal(w, np.round(w)):
            raise ValueError("W must be an integer matrix (scale it by a power of two first)")
        w = np.round(w).astype(np.int64)
    ranges = list(input_ranges) if input_ranges is not None else [(-128, 127)] * w.shape[0]
    graph = _build_graph(w, ranges, method, depth_slack, ternary)  # solved afresh (only the lowering memoizes)
    return CMVMResult(graph, estimate_luts(graph, ranges))


__all__ = ["AdderGraph", "CMVMResult", "Term", "adder_luts", "ternary_luts", "csd_digits", "estimate_luts", "solve", "solve_csd", "solve_cse"]
