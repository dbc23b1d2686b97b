"""Two-stage solving: columns of W built from each other, W = W1 · W2.

A column close to another (up to sign and a power of two) is cheaper as that column plus
a correction: y_j = x·(w_j − g·2^s·w_k) + g·(y_k << s).  The corrections form W1, solved
by the CSE solver with every other column; W2 is a forest over the columns, one adder per
edge.  The forest is grown greedily by digits saved, only where every column still meets
its depth limit: a column's chain of ancestors adds one adder level per edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hgq_mlir.cmvm.csd import sum_terms
from hgq_mlir.cmvm.cse import _ceil_log, solve_cse
from hgq_mlir.cmvm.graph import AdderGraph, Term

MAX_SHIFT = 3  # relative shifts tried between two columns
SAFE = 1 << 40  # larger weights: no decomposition (int64 headroom for the differences)


def csd_weight(a: np.ndarray) -> np.ndarray:
    """Nonzero canonical signed digits of every entry (the NAF weight: popcount((3a ^ a) >> 1))."""
    a = np.abs(a)
    return np.bitwise_count(((3 * a) ^ a) >> 1).astype(np.int64)


def column_forest(w: np.ndarray, bounds: Sequence[int]) -> tuple[list[tuple[int, int, int] | None], list[int]]:
    """Per column, None (built from the inputs) or (parent, shift, sign): w_j = diff + sign·2^shift·w_parent;
    and per column the depth its own result may take (at most its bound).

    Greedy by digits saved (a correction's digits plus its one adder against the column's
    own digits); an edge is taken only if no column's depth limit becomes infeasible."""
    n_out = w.shape[1]
    own = csd_weight(w).sum(axis=0)
    best = np.full((n_out, n_out), -1, dtype=np.int64)  # [j, k]: digits saved building j from k
    how = np.zeros((n_out, n_out, 2), dtype=np.int64)
    for s in range(MAX_SHIFT + 1):
        for g in (1, -1):
            diff = csd_weight(w[:, :, None] - g * (w[:, None, :] << s)).sum(axis=0) + 1
            gain = own[:, None] - diff
            better = gain > best
            best[better] = gain[better]
            how[better] = (s, g)
    live = own > 0
    best[~live, :] = -1
    best[:, ~live] = -1
    np.fill_diagonal(best, -1)

    parent: list[tuple[int, int, int] | None] = [None] * n_out
    need = [_ceil_log(int(v), 2) for v in own]  # minimum depth of what each column's stage 1 computes
    budget = list(bounds)  # depth each column's y may take, tightened by its descendants
    js, ks = np.nonzero(best > 0)
    for idx in np.argsort(-best[js, ks], kind="stable"):
        j, k = int(js[idx]), int(ks[idx])
        if parent[j] is not None:
            continue
        a, cycle = k, False
        while a is not None:
            if a == j:
                cycle = True
                break
            a = parent[a][0] if parent[a] is not None else None
        if cycle:
            continue
        s, g = (int(v) for v in how[j, k])
        m = _ceil_log(int(own[j] - best[j, k] - 1), 2)  # the correction's minimum depth
        if budget[j] - 1 < m:
            continue
        # the ancestors must finish a level earlier than their new descendant
        updates, ok, b, a = [], True, budget[j], k
        while a is not None:
            b = min(budget[a], b - 1)
            floor = need[a] + (1 if parent[a] is not None else 0)
            if b < floor:
                ok = False
                break
            updates.append((a, b))
            a = parent[a][0] if parent[a] is not None else None
        if not ok:
            continue
        for a, b in updates:
            budget[a] = b
        parent[j] = (k, s, g)
        need[j] = m
    return parent, budget


def solve_two_stage(w: np.ndarray, input_bits: Sequence[int], depth_slack: int, seed: int | None = None,
                    input_ranges: Sequence[tuple[int, int]] | None = None, ternary: bool = False) -> AdderGraph | None:
    """x·W through a column forest (None when no column is cheaper built from another)."""
    w = np.asarray(w)
    if w.size == 0 or np.abs(w).max() >= SAFE:
        return None
    w = w.astype(np.int64)
    own = csd_weight(w).sum(axis=0)
    bounds = [_ceil_log(int(v), 2) + depth_slack for v in own]
    parent, budget = column_forest(w, bounds)
    if all(p is None for p in parent):
        return None
    w1 = w.copy()
    for j, p in enumerate(parent):
        if p is not None:
            k, s, g = p
            w1[:, j] = w[:, j] - g * (w[:, k] << s)
    stage1 = [b - (p is not None) for b, p in zip(budget, parent)]
    graph = solve_cse(w1, input_bits, depth_slack, bounds=stage1, seed=seed, input_ranges=input_ranges, ternary=ternary)
    widths = graph.widths
    depth = graph.depths()

    def grow() -> None:  # depths of the adders added since
        for k in range(len(depth) - graph.n_in, len(graph.adders)):
            depth.append(1 + max(depth[t.node] for t in graph.terms(k)))

    outputs = list(graph.outputs)
    done = [p is None for p in parent]
    order = [j for j in range(len(parent)) if done[j]]
    while len(order) < len(parent):  # parents before children
        for j, p in enumerate(parent):
            if not done[j] and done[p[0]]:
                done[j] = True
                order.append(j)
    for j in order:
        if parent[j] is None:
            continue
        k, s, g = parent[j]
        yk = outputs[k]
        terms = [] if outputs[j] is None else [(depth[outputs[j].node], outputs[j])]
        terms.append((depth[yk.node], Term(yk.node, yk.shift + s, yk.negative != (g < 0))))
        outputs[j] = sum_terms(graph, terms, widths)
        grow()
    graph.outputs = outputs
    graph.widths = widths
    return graph
