"""A column's final sum: a narrow adder tree under the column's depth bound.

What common-subexpression search leaves of a column (three quarters of the adders) is
summed here.  A Huffman tree on depth is the shallowest, but on a carry-chain FPGA an
adder costs the bits from its higher operand's LSB to its top, so which terms meet
matters: two terms at the same weight cost their width, a wide sum plus a narrow term
below its top costs the whole sum's width.  The tree is grown greedily, cheapest merge
first (that cost plus half the width it adds to the wider operand, so sums stay narrow
for the merges after them), among the merges that keep the column within its depth
bound (Kraft: sum of 2^depth over the terms stays <= 2^bound, so the shallowest merge
is always allowed).  Then a local search rotates (a + b) + c into a + (b + c) wherever
that is cheaper and no deeper; where the shallowest tree is cheaper still, it is kept.
Measured on tools/bench_cmvm.py: 1.7-3.5 % fewer LUTs than the Huffman tree on the random
cases, 0.9-2 % on the model layers; on random 9-term columns without a depth bound, 1.1 %
above the optimum (exhaustive search over the trees), where the Huffman tree is 18 % above.

With `ternary`, the chosen tree is then folded into ternary adders (a + b + c on one carry
chain: one LUT per result bit, as a binary adder): an adder whose result only its parent
reads merges into the parent where that saves LUTs; which (parent, child) pairs merge is a
maximum-saving matching on the tree (each adder in at most one pair) under a depth
target, found exactly by dynamic programming over (node, depth allowed).  Merging never adds
depth (a ternary adder is one level); merging along the deepest paths removes levels, so
the solver first asks each column how shallow it can be (`ternary_depth`) and then lets every
column save the most LUTs within the deepest of those (levels the graph has anyway).

The per-pair scores are kept in a matrix; a merge recomputes one row (the new term) and
the rows whose best partner it consumed, so a column of n terms costs O(n^2) overall.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from hgq_mlir.cmvm.graph import AdderGraph, Term, adder_luts, ternary_luts
from hgq_mlir.fixed import range_width

GROWTH_WEIGHT = 0.5  # weight of the width a merge adds (0.25-0.75 measured alike; 0 is 3 % worse)
DEPTH_TIE = 1e-3  # among equally cheap merges, the shallower (measured: -0.3 % LUTs)
EXACT_FLOAT = 2.0**50  # the greedy scores ranges in float64; beyond this the Huffman tree is used
SMALL_PLAN = 12  # up to this many terms the greedy runs on Python floats (NumPy's per-call cost dominates)


def _value_range(t: Term, ranges: list[tuple[int, int]]) -> tuple[int, int]:
    lo, hi = ranges[t.node]
    lo, hi = lo << t.shift, hi << t.shift
    return (-hi, -lo) if t.negative else (lo, hi)


def sum_narrow(graph: AdderGraph, terms: list[tuple[int, Term]], ranges: list[tuple[int, int]], bound: int,
               widths: list[int] | None = None, ternary: bool = False, target: int | None = None,
               trees: list[_Sum] | None = None) -> Term | None:
    """Add the signed terms `(depth, Term)` into one, no deeper than `bound` (or, where the
    terms' depths do not allow that, as shallow as they allow).  `ranges[node]` = (lo, hi)
    of every node so far, `widths[node]` its width; both get the new nodes appended.
    `ternary`: fold the tree into ternary adders where that saves LUTs, the result no
    deeper than `target` where the tree allows (else as shallow as it allows; None: any
    depth the tree has, the most LUTs saved). `trees`: these terms' planned trees
    (`plan_trees`), when the caller has them already."""
    if len(terms) <= 1:
        return terms[0][1] if terms else None
    candidates = trees if trees is not None else _trees(terms, ranges, bound)
    if not ternary:
        root = min(candidates, key=lambda t: t.total())  # the greedy is not better on every column
        return root.build(graph, ranges, widths)
    best = None
    for tree in candidates:
        saved, depth = _fuse(tree, target)
        key = (depth if target is not None else 0, tree.total() - saved)
        if best is None or key < best[0]:
            best = (key, tree)
    _fuse(best[1], target)  # (the plan of the kept tree)
    return best[1].build(graph, ranges, widths)


def plan_trees(terms: list[tuple[int, Term]], ranges: list[tuple[int, int]], bound: int) -> list[_Sum]:
    """The candidate trees `sum_narrow` chooses from (none for fewer than two terms)."""
    return _trees(terms, ranges, bound) if len(terms) > 1 else []


def ternary_depth(terms: list[tuple[int, Term]], ranges: list[tuple[int, int]], bound: int,
                  trees: list[_Sum] | None = None) -> int:
    """The least depth `sum_narrow(..., ternary=True)` can give these terms (`trees`: their
    `plan_trees`, when the caller has them; `_fuse` rewrites every mark, so the trees stay
    usable for `sum_narrow`)."""
    if len(terms) <= 1:
        return terms[0][0] if terms else 0
    return min(_fuse(tree, 0)[1] for tree in (trees if trees is not None else _trees(terms, ranges, bound)))


def _trees(terms: list[tuple[int, Term]], ranges: list[tuple[int, int]], bound: int) -> list[_Sum]:
    """The planned binary trees: the narrow greedy one (when the ranges are exact in floats)
    and the shallowest."""
    leaves = [_Sum.leaf(t, d, _value_range(t, ranges), range_width(*ranges[t.node])) for d, t in terms]
    if max(max(abs(s.lo), abs(s.hi)) for s in leaves) * len(terms) >= EXACT_FLOAT:
        return [_huffman(leaves)]
    state = (
        np.array([s.depth for s in leaves], dtype=np.int64),
        np.array([s.lsb for s in leaves], dtype=np.float64),
        np.array([float(s.lo) for s in leaves]),
        np.array([float(s.hi) for s in leaves]),
        np.array([float(s.width) for s in leaves]),
        np.array([s.negative for s in leaves]),
    )
    merges = (_plan_small if len(leaves) <= SMALL_PLAN else _plan)(*state, bound, GROWTH_WEIGHT)
    slot = list(leaves)
    for i, j in merges:  # the merged term takes slot i
        slot[i] = _Sum.of(slot[i], slot[j])
    root = slot[merges[-1][0]]
    _rotate(root)
    return [root, _huffman(leaves)]


class _Sum:
    """A node of a planned sum tree: its value range, LSB, node width, sign, depth and the
    LUTs of its own adder (0 for a term)."""

    __slots__ = ("cost", "depth", "fused", "hi", "kids", "lo", "lsb", "negative", "pick", "saving", "term", "width")

    @staticmethod
    def leaf(term: Term, depth: int, value: tuple[int, int], width: int) -> _Sum:
        s = _Sum()
        s.lo, s.hi = value
        s.lsb, s.width, s.negative, s.depth, s.cost, s.kids, s.term = term.shift, width, term.negative, depth, 0, None, term
        s.fused = s.saving = None
        return s

    @staticmethod
    def of(x: _Sum, y: _Sum) -> _Sum:
        s = _Sum()
        s.lo, s.hi = x.lo + y.lo, x.hi + y.hi
        s.lsb = min(x.lsb, y.lsb)
        s.negative = x.negative and y.negative
        lo, hi = (-s.hi, -s.lo) if s.negative else (s.lo, s.hi)
        s.width = range_width(lo >> s.lsb, hi >> s.lsb)
        top = max(x.width + x.lsb, y.width + y.lsb)
        s.cost = adder_luts(s.width, x.lsb - s.lsb, y.lsb - s.lsb, top - s.lsb)
        s.depth = max(x.depth, y.depth) + 1
        s.kids, s.term, s.fused, s.saving = (x, y), None, None, None
        return s

    def ternary_cost(self, child: _Sum) -> int:
        """LUTs of this adder as one ternary adder over `child`'s two terms and its other kid."""
        other = self.kids[1] if self.kids[0] is child else self.kids[0]
        parts = [*child.kids, other]
        return ternary_luts(self.width, [p.lsb - self.lsb for p in parts], [p.negative for p in parts])

    def total(self) -> int:
        """The LUTs of every adder in the tree."""
        return self.cost + (sum(k.total() for k in self.kids) if self.kids is not None else 0)

    def build(self, graph: AdderGraph, ranges, widths) -> Term:
        if self.kids is None:
            return self.term
        x, y = self.kids
        if self.fused is not None:
            other = y if self.fused is x else x
            parts = [p.build(graph, ranges, widths) for p in (*self.fused.kids, other)]
            return _merge3(graph, parts, ranges, widths)
        return _merge(graph, x.build(graph, ranges, widths), y.build(graph, ranges, widths), ranges, widths)


def _fuse(root: _Sum, target: int | None = None) -> tuple[int, int]:
    """Mark the (parent, child) adder pairs that become ternary adders: each adder in at
    most one pair, the most LUTs saved with the root no deeper than `target` (or, where the
    tree cannot be that shallow, as shallow as it can be; None: any depth).  A tree matching
    by dynamic programming over (node, depth allowed).  Returns (LUTs saved, root depth)."""
    if root.saving is None:
        _match(root)
    saving = root.saving
    none = float("-inf")
    top = root.depth
    reachable = [d for d in range(top + 1) if saving[d] > none]
    depth = reachable[-1] if target is None else max(reachable[0], min(target, top))
    if target is None:
        depth = next(d for d in reachable if saving[d] == saving[top])  # as saving, the shallowest

    todo = [(root, depth)]
    while todo:
        n, d = todo.pop()
        if n.kids is None:
            continue
        pick = n.pick[d]
        n.fused = None if pick == 0 else n.kids[pick - 1]
        if n.fused is None:
            todo += [(k, d - 1) for k in n.kids]
        else:
            other = n.kids[1] if n.fused is n.kids[0] else n.kids[0]
            todo += [(k, d - 1) for k in (*n.fused.kids, other)]
            n.fused.fused = None
    return int(saving[depth]), depth


def _match(root: _Sum) -> None:
    """The dynamic programme of `_fuse`, which does not depend on the target: per adder
    below the root, which kid it fuses for each depth allowed (`pick`: 0 none, 1 or 2 the
    kid), and at the root the most LUTs saved per depth allowed (`saving`). Kept on the
    tree: the solver asks each tree for several targets."""
    order, stack = [], [root]
    while stack:  # parents before children
        node = stack.pop()
        order.append(node)
        if node.kids is not None:
            stack.extend(node.kids)
    top = root.depth
    none = float("-inf")
    best: dict[int, list[float]] = {}  # node -> per depth allowed, the most LUTs saved below and at it
    for node in reversed(order):  # children first
        if node.kids is None:
            best[id(node)] = [0 if d >= node.depth else none for d in range(top + 1)]
            continue
        k1, k2 = node.kids
        row = [none] + [best[id(k1)][d - 1] + best[id(k2)][d - 1] for d in range(1, top + 1)]
        pick = bytearray(top + 1)
        for code, k, other in ((1, k1, k2), (2, k2, k1)):
            if k.kids is None:
                continue
            gain = k.cost + node.cost - node.ternary_cost(k)
            if gain <= 0:
                continue
            a, b = k.kids
            for d in range(1, top + 1):
                v = best[id(a)][d - 1] + best[id(b)][d - 1] + best[id(other)][d - 1] + gain
                if v > row[d]:
                    row[d], pick[d] = v, code
        best[id(node)] = row
        node.pick = bytes(pick)
    root.saving = best[id(root)]


def _huffman(leaves: list[_Sum]) -> _Sum:
    """The shallowest tree (csd.sum_terms' order: the two shallowest, narrow tops first)."""
    heap = [(s.depth, s.width + s.lsb, n, s) for n, s in enumerate(leaves)]
    heapq.heapify(heap)
    tick = len(heap)
    while len(heap) > 1:
        a, b = heapq.heappop(heap)[3], heapq.heappop(heap)[3]
        s = _Sum.of(a, b)
        heapq.heappush(heap, (s.depth, s.width + s.lsb, tick, s))
        tick += 1
    return heap[0][3]


def _rotate(root: _Sum, passes: int = 8) -> None:
    """Local search on the planned tree: (a + b) + c becomes a + (b + c) where that costs
    fewer LUTs and no more depth (a node's own range, LSB and width depend only on its
    terms, so nothing above it changes)."""
    for _ in range(passes):
        changed = False
        stack, inner = [root], []
        while stack:
            node = stack.pop()
            if node.kids is not None:
                inner.append(node)
                stack.extend(node.kids)
        for p in inner:
            for x, c in (p.kids, p.kids[::-1]):
                if x.kids is None:
                    continue
                a, b = x.kids
                found = None
                for keep, move in ((a, b), (b, a)):
                    moved = _Sum.of(move, c)
                    top = _Sum.of(keep, moved)
                    if top.depth <= p.depth and moved.cost + top.cost < x.cost + p.cost:
                        found = (keep, moved, top)
                        break
                if found:
                    keep, moved, top = found
                    p.kids, p.cost, p.depth = (keep, moved), top.cost, top.depth
                    changed = True
                    break
        if not changed:
            return


def _plan(depth, lsb, lo, hi, width, negative, bound: int, weight: float) -> list[tuple[int, int]]:
    """The greedy tree over the terms' arrays (depth, LSB, value range, node width, sign):
    its merges, as slot pairs (the merged term takes the first slot). A merged term's scores
    against every other are one vector; the rest of a step is kept to a few array operations
    (the largest layers' final sums run it a quarter of a million times)."""
    n = len(depth)
    alive = np.ones(n, dtype=bool)
    load = int((1 << depth).sum())
    limit = max(1 << bound, 1 << (load - 1).bit_length())

    def scores(k, others: np.ndarray) -> np.ndarray:
        """Merge scores of terms k with `others` (k an index, or a column of them: a matrix)."""
        base = np.minimum(lsb[k], lsb[others])
        scale = np.exp2(base)
        merged = _range_width_f((lo[k] + lo[others]) / scale, (hi[k] + hi[others]) / scale)
        top = np.maximum(width[k] + lsb[k], width[others] + lsb[others])
        cost = np.minimum(merged + base, top) - np.maximum(lsb[k], lsb[others])  # graph.adder_luts, vectorized
        grown = cost + weight * (merged - np.maximum(width[k], width[others]))
        return grown + DEPTH_TIE * np.maximum(depth[k], depth[others])  # ties: the shallower merge

    every = np.arange(n)
    score = scores(every[:, None], every)
    np.fill_diagonal(score, np.inf)
    best = score.argmin(axis=1)
    best_score = score[every, best]  # inf for the merged-away terms

    def growth(a, b):  # load added by merging terms of depths a, b (arrays of them)
        top = np.maximum(a, b)
        return (1 << (top + 1)) - (1 << a) - (1 << b)

    def grown(a: int, b: int) -> int:  # the same for one pair (no NumPy scalars in the loop)
        return (1 << (max(a, b) + 1)) - (1 << a) - (1 << b)

    merges = []
    for _ in range(n - 1):
        i = int(best_score.argmin())
        j = int(best[i])
        di, dj = int(depth[i]), int(depth[j])
        if load + grown(di, dj) > limit:  # that merge would exceed the bound
            live = np.flatnonzero(alive)
            allowed = load + growth(depth[live][:, None], depth[live][None, :]) <= limit
            masked = np.where(allowed, score[np.ix_(live, live)], np.inf)
            a, b = divmod(int(np.argmin(masked)), len(live))
            i, j = int(live[a]), int(live[b])
            di, dj = int(depth[i]), int(depth[j])
        load += grown(di, dj)
        merges.append((i, j))
        base = float(min(lsb[i], lsb[j]))
        lo[i], hi[i] = lo[i] + lo[j], hi[i] + hi[j]
        negative[i] = negative[i] and negative[j]
        node_lo, node_hi = (-hi[i], -lo[i]) if negative[i] else (lo[i], hi[i])
        width[i] = float(_range_width_1(float(node_lo) / 2.0**base, float(node_hi) / 2.0**base))
        lsb[i] = base
        depth[i] = max(di, dj) + 1
        alive[j] = False
        best_score[j] = np.inf
        score[j, :] = score[:, j] = np.inf
        live = np.flatnonzero(alive)
        row = np.full(n, np.inf)
        row[live] = scores(i, live)
        row[i] = np.inf
        score[i, :] = score[:, i] = row
        partner = best[live]
        stale = live[(partner == i) | (partner == j)]
        if len(stale):
            best[stale] = score[stale].argmin(axis=1)
            best_score[stale] = score[stale, best[stale]]
        better = np.flatnonzero(row < best_score)  # (never a merged-away term: both inf there)
        best[better], best_score[better] = i, row[better]
        best[i] = int(row.argmin())
        best_score[i] = row[best[i]]
    return merges


def _plan_small(depth, lsb, lo, hi, width, negative, bound: int, weight: float) -> list[tuple[int, int]]:
    """`_plan` on Python numbers, step for step (the same floats, the same first-minimum ties):
    a large layer's row blocks leave a few terms per column, hundreds of thousands of times."""
    n = len(depth)
    depth, lsb, lo, hi = [int(d) for d in depth], [float(x) for x in lsb], [float(x) for x in lo], [float(x) for x in hi]
    width, negative = [float(x) for x in width], [bool(x) for x in negative]
    inf = math.inf
    alive = [True] * n
    load = sum(1 << d for d in depth)
    limit = max(1 << bound, 1 << (load - 1).bit_length())

    def score(k: int, o: int) -> float:
        base = min(lsb[k], lsb[o])
        scale = 2.0**base
        merged = _range_width_1((lo[k] + lo[o]) / scale, (hi[k] + hi[o]) / scale)
        top = max(width[k] + lsb[k], width[o] + lsb[o])
        cost = min(merged + base, top) - max(lsb[k], lsb[o])
        grown = cost + weight * (merged - max(width[k], width[o]))
        return grown + DEPTH_TIE * max(depth[k], depth[o])

    def first_min(row: list[float]) -> int:
        return min(range(len(row)), key=row.__getitem__)

    def grown(a: int, b: int) -> int:
        return (1 << (max(a, b) + 1)) - (1 << a) - (1 << b)

    scores = [[inf if a == b else score(a, b) for b in range(n)] for a in range(n)]
    best = [first_min(row) for row in scores]
    best_score = [scores[k][best[k]] for k in range(n)]
    merges = []
    for _ in range(n - 1):
        i = first_min(best_score)
        j = best[i]
        if load + grown(depth[i], depth[j]) > limit:  # that merge would exceed the bound
            live = [k for k in range(n) if alive[k]]
            masked = [scores[a][b] if load + grown(depth[a], depth[b]) <= limit else inf for a in live for b in live]
            a, b = divmod(first_min(masked), len(live))
            i, j = live[a], live[b]
        di, dj = depth[i], depth[j]
        load += grown(di, dj)
        merges.append((i, j))
        base = min(lsb[i], lsb[j])
        lo[i], hi[i] = lo[i] + lo[j], hi[i] + hi[j]
        negative[i] = negative[i] and negative[j]
        node_lo, node_hi = (-hi[i], -lo[i]) if negative[i] else (lo[i], hi[i])
        width[i] = float(_range_width_1(node_lo / 2.0**base, node_hi / 2.0**base))
        lsb[i] = base
        depth[i] = max(di, dj) + 1
        alive[j] = False
        best_score[j] = inf
        for k in range(n):
            scores[j][k] = scores[k][j] = inf
        live = [k for k in range(n) if alive[k]]
        row = [inf] * n
        for k in live:
            if k != i:
                row[k] = score(i, k)
        for k in range(n):
            scores[i][k] = scores[k][i] = row[k]
        for k in [k for k in live if best[k] == i or best[k] == j]:
            best[k] = first_min(scores[k])
            best_score[k] = scores[k][best[k]]
        for k in range(n):
            if row[k] < best_score[k]:
                best[k], best_score[k] = i, row[k]
        best[i] = first_min(row)
        best_score[i] = row[best[i]]
    return merges


def _range_width_f(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """`fixed.range_width` of float arrays of integers (the same operations, without its
    type dispatch: `_plan` calls it once per merge)."""
    bh = np.where(hi > 0, np.frexp(hi)[1], 0)
    neg = lo < 0
    below = np.where(neg, -lo - 1, 0)
    return np.where(neg, np.maximum(np.where(below > 0, np.frexp(below)[1], 0), bh) + 1, np.maximum(bh, 1))


def _range_width_1(lo: float, hi: float) -> int:
    """`fixed.range_width` of one pair of floats holding integers (frexp's exponent is the
    bit length)."""
    bh = math.frexp(hi)[1] if hi > 0 else 0
    if lo < 0:
        below = -lo - 1
        return max(math.frexp(below)[1] if below > 0 else 0, bh) + 1
    return max(bh, 1)


def _merge3(graph: AdderGraph, parts: list[Term], ranges: list[tuple[int, int]], widths: list[int] | None) -> Term:
    """One ternary adder over three signed terms (an added term first; three negated terms
    are added and the result negated)."""
    negative = all(t.negative for t in parts)
    if negative:
        parts = [Term(t.node, t.shift, False) for t in parts]
    parts = sorted(parts, key=lambda t: t.negative)  # stable: the added terms first
    base = min(t.shift for t in parts)
    a, b, c = (Term(t.node, t.shift - base, t.negative) for t in parts)
    node = graph.add(Term(a.node, a.shift), Term(b.node, b.shift), b.negative, c)
    lo = sum(_value_range(t, ranges)[0] for t in parts)
    hi = sum(_value_range(t, ranges)[1] for t in parts)
    ranges.append((lo >> base, hi >> base))
    if widths is not None:
        widths.append(range_width(*ranges[-1]))
    return Term(node, base, negative)


def _merge(graph: AdderGraph, t1: Term, t2: Term, ranges: list[tuple[int, int]], widths: list[int] | None) -> Term:
    if t1.negative and not t2.negative:
        t1, t2 = t2, t1
    base = min(t1.shift, t2.shift)
    node = graph.add(Term(t1.node, t1.shift - base), Term(t2.node, t2.shift - base), subtract=t1.negative != t2.negative)
    (l1, h1), (l2, h2) = _value_range(t1, ranges), _value_range(t2, ranges)
    lo, hi = l1 + l2, h1 + h2
    negative = t1.negative and t2.negative
    ranges.append(((-hi) >> base, (-lo) >> base) if negative else (lo >> base, hi >> base))
    if widths is not None:
        widths.append(range_width(*ranges[-1]))
    return Term(node, base, negative)
