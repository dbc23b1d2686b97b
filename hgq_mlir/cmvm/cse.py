"""The optimizing solver: greedy common-subexpression elimination over signed digits.

Every column of W starts as its canonical-signed-digit terms ±(x_j << s).  The solver
repeatedly picks the two-term pattern `a ± (b << d)` (a, b inputs or earlier nodes)
that occurs most often across the columns (ties: the narrowest adder, the cheapest in
LUTs), builds it once as a new node, and substitutes it wherever it fits (Hcub / RAG-n
style, after Voronenko & Püschel and Aksoy et al.; implemented from their descriptions).
Measured on tools/bench_cmvm.py, frequency-first beat frequency × width by 3-9 % LUTs.

Latency: a column whose terms have adder depths d_i can be summed in
ceil(log_b(sum b^d_i)) levels (a Huffman tree on depth; b = 2, or 3 with ternary adders);
a substitution is only made where that stays within the column's minimum depth
(ceil(log_b(#digits))) plus `depth_slack`.  The remaining terms of each column are then summed by the narrowest
tree found (sum_tree.py) within the depth the shallowest sums would give the whole graph.
"""

from __future__ import annotations

import functools
import gc
import heapq
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from hgq_mlir.cmvm.csd import binary_or_csd_digits, csd_digit_count, csd_digits
from hgq_mlir.cmvm.graph import AdderGraph, Term, extend_ranges
from hgq_mlir.cmvm.parallel import solve_all
from hgq_mlir.cmvm.sum_tree import plan_trees, sum_narrow, ternary_depth

DEFAULT_DEPTH_SLACK = 1
PARALLEL_PLAN_TERMS = 20_000  # final-sum terms from which the columns are planned on both cores


def _ceil_log(v: int, base: int) -> int:
    """The least k with base**k >= v."""
    k, p = 0, 1
    while p < v:
        k, p = k + 1, p * base
    return k


def _final_depth(load: Sequence[int], base: int = 2) -> int:
    """How deep the graph gets with every column summed as shallow as it can be; a column's
    final sum may use the levels up to there (within its own bound): they cost no latency."""
    return max((_ceil_log(v, base) for v in load if v), default=0)


def _ternary_target(cols, ranges, bounds) -> tuple[int, list]:
    """The depth the graph's final sums reach with ternary adders at their shallowest (every
    column may use the levels up to there to save LUTs: they cost no latency), and each
    column's planned trees, which its final sum then chooses from (planned once)."""
    plans = [(_column_plan, (col, ranges, b), {}) for col, b in zip(cols, bounds, strict=True)]
    if sum(len(col) for col in cols) >= PARALLEL_PLAN_TERMS:
        planned = solve_all(plans)  # columns are independent: half of them on the second core
    else:
        planned = [f(*args) for f, args, _ in plans]
    target = max((depth for _, depth in planned if depth is not None), default=0)
    return target, [trees for trees, _ in planned]


def _column_plan(col, ranges, bound: int) -> tuple[list, int | None]:
    """A column's planned trees and the least depth its ternary sum can have (None: no terms)."""
    trees = plan_trees(col, ranges, bound)
    return trees, (ternary_depth(col, ranges, bound, trees) if col else None)


PAIR_BUDGET = 1_500_000  # digit pairs indexed at once; above it the rows are solved in blocks


def _without_cyclic_gc(solver):
    """The solver allocates millions of small tuples and no reference cycles; the cyclic
    collector would rescan them again and again (a third of the run time on 64×32)."""

    @functools.wraps(solver)
    def run(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return solver(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return run


@_without_cyclic_gc
def solve_cse(w: np.ndarray, input_bits: Sequence[int] | None = None, depth_slack: int = DEFAULT_DEPTH_SLACK,
              bounds: Sequence[int] | None = None, seed: int | None = None, binary_ties: bool = False,
              input_ranges: Sequence[tuple[int, int]] | None = None, ternary: bool = False) -> AdderGraph:
    """x·W for integer W (n_in × n_out); `input_bits` = each input's width (for the cost).

    `bounds[c]` overrides column c's depth limit (default: its minimum plus the slack).
    `seed` perturbs the choice between patterns of equal frequency (for restarts).
    `binary_ties` writes a weight in plain binary where that has no more digits than CSD.
    `input_ranges` = each input's (lo, hi), for the final sums' widths (default: the full
    signed range of its width).  `ternary`: the final sums use ternary adders where cheaper.
    The graph's `widths` attribute holds each node's estimated width afterwards.

    The pair index grows with the square of a column's digit count; a matrix whose index
    would exceed PAIR_BUDGET is split into row blocks (a power of two of them), each solved
    with the depth its share allows, and each column's block sums are added last.
    """
    w = np.asarray(w)
    if input_bits is None:
        input_bits = [8] * w.shape[0]
    if input_ranges is None:
        input_ranges = [(-(1 << (b - 1)), (1 << (b - 1)) - 1) for b in input_bits]
    digits = csd_digit_count(w)
    per_col = digits.sum(axis=0)
    blocks = 1
    while blocks < w.shape[0] and int((per_col.astype(np.float64) ** 2).sum()) // (2 * blocks) > PAIR_BUDGET:
        blocks *= 2
    if blocks == 1:
        return _solve_block(w, input_bits, input_ranges, depth_slack, bounds, seed, binary_ties, ternary)
    return _solve_blocked(w, digits, blocks, input_bits, input_ranges, depth_slack, bounds, seed, binary_ties, ternary)


def _solve_blocked(w, digits, blocks: int, input_bits, input_ranges, depth_slack: int, bounds, seed, binary_ties,
                   ternary: bool = False) -> AdderGraph:
    n_in, n_out = w.shape
    bits = list(input_bits)
    total = digits.sum(axis=0)
    base = 3 if ternary else 2
    limit = list(bounds) if bounds is not None else [_ceil_log(int(t), base) + depth_slack for t in total]
    # contiguous row ranges with about equal digit counts
    cum = np.cumsum(digits.sum(axis=1))
    cuts = [0] + [int(np.searchsorted(cum, cum[-1] * b / blocks)) + 1 for b in range(1, blocks)] + [n_in]
    cuts = sorted(set(min(c, n_in) for c in cuts))
    graph = AdderGraph(n_in)
    widths = list(bits)
    depth = [0] * n_in
    partial: list[list[tuple[int, Term]]] = [[] for _ in range(n_out)]
    share = _ceil_log(len(cuts) - 1, base)
    solves = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        sub_bounds = [max(b - share, _ceil_log(int(t), base)) for b, t in zip(limit, digits[lo:hi].sum(axis=0))]
        solves.append((_solve_block, (w[lo:hi], bits[lo:hi], list(input_ranges[lo:hi]), depth_slack, sub_bounds, seed,
                                      binary_ties, ternary), {}))
    for (lo, hi), g in zip(zip(cuts[:-1], cuts[1:]), solve_all(solves), strict=True):
        rows = list(range(lo, hi))
        ids = rows + [0] * g.n_adders  # block node -> graph node
        for k, (a, b, sub) in enumerate(g.adders):
            c = g.third.get(k)
            node = graph.add(Term(ids[a.node], a.shift), Term(ids[b.node], b.shift), sub,
                             None if c is None else Term(ids[c.node], c.shift, c.negative))
            ids[g.n_in + k] = node
            widths.append(g.widths[g.n_in + k])
            depth.append(1 + max(depth[ids[t.node]] for t in g.terms(k)))
        for c, t in enumerate(g.outputs):
            if t is not None:
                node = ids[t.node]
                partial[c].append((depth[node], Term(node, t.shift, t.negative)))
    ranges = extend_ranges(graph, list(input_ranges))
    reach = _final_depth([sum(base**d for d, _ in p) for p in partial], base)
    bounds = [min(limit[c], reach) for c in range(n_out)]
    target, trees = _ternary_target(partial, ranges, bounds) if ternary else (None, [None] * n_out)
    for c in range(n_out):
        graph.outputs.append(sum_narrow(graph, partial[c], ranges, bounds[c], widths, ternary, target, trees[c] or None))
    graph.widths = widths
    return graph


def _solve_block(w: np.ndarray, input_bits, input_ranges, depth_slack: int, bounds, seed, binary_ties: bool = False,
                 ternary: bool = False) -> AdderGraph:
    w = np.asarray(w)
    n_in, n_out = w.shape
    graph = AdderGraph(n_in)
    bits = list(input_bits)
    depth = [0] * n_in

    # terms[c][tid] = (source, shift, sign); pair index over (column, term, term)
    terms: list[dict[int, tuple[int, int, int]]] = [{} for _ in range(n_out)]
    next_tid = 0
    for c in range(n_out):
        for j in range(n_in):
            if w[j, c]:
                for shift, sign in (binary_or_csd_digits if binary_ties else csd_digits)(int(w[j, c])):
                    terms[c][next_tid] = (j, shift, sign)
                    next_tid += 1
    base = 3 if ternary else 2  # a ternary adder sums three terms in one level
    bound = list(bounds) if bounds is not None else [_ceil_log(len(t), base) + depth_slack for t in terms]
    load = [len(t) for t in terms]  # sum of base^depth over a column's terms

    occ: dict[tuple, set[tuple[int, int, int]]] = defaultdict(set)
    pairs_of: dict[int, list[tuple]] = defaultdict(list)  # (occ[key], entry) per term id (ids are unique)
    heap: list[tuple[float, tuple]] = []

    jitter: dict[tuple, float] = {}
    rng = np.random.default_rng(seed) if seed is not None else None

    def score(key, count) -> float:
        # the most frequent pattern first; among equals, the narrowest (cheapest) adder
        s1, s2, d, _ = key
        width = max(bits[s1], bits[s2] + d)
        if rng is not None:
            if key not in jitter:
                jitter[key] = float(rng.random()) * 4
            width += jitter[key]
        return count * 1024 - width

    def record(c: int, a: int, b: int) -> tuple | None:
        """Index the pattern that terms a and b of column c form; its key (None: no pattern).
        (key_of inlined: this runs once per pair of digits, the solver's hot loop)"""
        col = terms[c]
        s1, t1, g1 = col[a]
        s2, t2, g2 = col[b]
        if t1 > t2 or (t1 == t2 and s1 > s2):
            key, entry = (s2, s1, t1 - t2, g1 * g2), (c, b, a)
        elif s1 == s2 and t1 == t2:
            return None
        else:
            key, entry = (s1, s2, t2 - t1, g1 * g2), (c, a, b)
        where = occ[key]
        where.add(entry)
        pairs_of[a].append((where, entry))
        pairs_of[b].append((where, entry))
        return key

    def add_pairs(c: int, tid: int) -> None:
        for other in terms[c]:
            key = record(c, tid, other) if other != tid else None
            if key is not None and len(occ[key]) >= 2:
                heapq.heappush(heap, (-score(key, len(occ[key])), key))

    def drop_term(c: int, tid: int) -> None:
        for where, entry in pairs_of.pop(tid, ()):
            where.discard(entry)
        del terms[c][tid]

    for c in range(n_out):  # every pair of a column's digits (record inlined: a million pairs)
        col = terms[c]
        items = list(col.items())
        for n, (a, (s1, t1, g1)) in enumerate(items):
            pa = pairs_of[a]
            for b, (s2, t2, g2) in items[n + 1 :]:
                if t1 > t2 or (t1 == t2 and s1 > s2):
                    key, entry = (s2, s1, t1 - t2, g1 * g2), (c, b, a)
                elif s1 == s2 and t1 == t2:
                    continue
                else:
                    key, entry = (s1, s2, t2 - t1, g1 * g2), (c, a, b)
                where = occ[key]
                where.add(entry)
                pair = (where, entry)
                pa.append(pair)
                pairs_of[b].append(pair)
    for key, s in occ.items():
        if len(s) >= 2:
            heap.append((-score(key, len(s)), key))
    heapq.heapify(heap)

    checked: dict[tuple, tuple[int, int]] = {}  # key -> (count, usable count) when last looked at
    while heap:
        neg, key = heapq.heappop(heap)
        count = len(occ.get(key, ()))
        if count < 2:
            continue
        seen = checked.get(key)
        usable = seen[1] if seen is not None and seen[0] == count else count
        if -neg != score(key, usable):  # its count changed since: back in at the current one
            heapq.heappush(heap, (-score(key, usable), key))
            continue
        s1, s2, d, g = key
        dn = 1 + max(depth[s1], depth[s2])
        chosen = []
        used: set[tuple[int, int]] = set()
        pending = dict()  # column -> its load with the substitutions chosen so far
        for c, ta, tb in sorted(occ[key]):
            if (c, ta) in used or (c, tb) in used:
                continue
            da, db = depth[terms[c][ta][0]], depth[terms[c][tb][0]]
            after = pending.get(c, load[c]) - base**da - base**db + base**dn
            if after > base ** bound[c]:
                continue  # would make this column deeper than allowed
            pending[c] = after
            chosen.append((c, ta, tb))
            used.update({(c, ta), (c, tb)})
        if 2 <= len(chosen) < usable and heap and -heap[0][0] > score(key, len(chosen)):
            # overlapping or too-deep occurrences: worth less than it counted; rank it again
            checked[key] = (count, len(chosen))
            heapq.heappush(heap, (-score(key, len(chosen)), key))
            continue
        if len(chosen) < 2:
            for e in list(occ[key]):
                if e not in chosen:
                    occ[key].discard(e)  # cannot be used now; depths only grow
            continue
        node = graph.add(Term(s1, 0), Term(s2, d), subtract=g < 0)
        depth.append(dn)
        bits.append(max(bits[s1], bits[s2] + d) + 1)
        for c, ta, tb in chosen:
            _, t1, g1 = terms[c][ta]
            load[c] += base**dn - base ** depth[terms[c][ta][0]] - base ** depth[terms[c][tb][0]]
            drop_term(c, ta)
            drop_term(c, tb)
            terms[c][next_tid] = (node, t1, g1)
            add_pairs(c, next_tid)
            next_tid += 1

    ranges = extend_ranges(graph, list(input_ranges))
    reach = _final_depth(load, base)
    cols = [[(depth[s], Term(s, t, g < 0)) for s, t, g in terms[c].values()] for c in range(n_out)]
    bounds = [min(bound[c], reach) for c in range(n_out)]
    target, trees = _ternary_target(cols, ranges, bounds) if ternary else (None, [None] * n_out)
    for c in range(n_out):
        graph.outputs.append(sum_narrow(graph, cols[c], ranges, bounds[c], bits, ternary, target, trees[c] or None))
    graph.widths = bits
    return graph
