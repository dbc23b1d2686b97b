"""The adder graph: the common result of every CMVM solver."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hgq_mlir.fixed import range_width


@dataclass(frozen=True, slots=True)
class Term:
    """±(node << shift); node ids 0..n_in-1 are the inputs, then the adders in order.
    (Slotted: a large layer's graph holds a million of them.)"""

    node: int
    shift: int = 0
    negative: bool = False


@dataclass
class AdderGraph:
    """x·W as adders `node = lhs ± rhs` over shifted terms, plus one output term per column.

    `adders[k]` is `(lhs, rhs, subtract)` with `lhs`/`rhs` Terms (lhs never negative);
    it defines node `n_in + k`.  A ternary adder has a third signed term, `third[k]`
    (its `negative` flag: subtracted): node = lhs ± rhs ± third, one adder.  An output
    is `None` when its column of W is zero.
    """

    n_in: int
    adders: list[tuple[Term, Term, bool]] = field(default_factory=list)
    outputs: list[Term | None] = field(default_factory=list)
    third: dict[int, Term] = field(default_factory=dict)

    def add(self, lhs: Term, rhs: Term, subtract: bool, third: Term | None = None) -> int:
        if third is not None:
            self.third[len(self.adders)] = third
        self.adders.append((lhs, rhs, subtract))
        return self.n_in + len(self.adders) - 1

    def terms(self, k: int) -> list[Term]:
        """Adder k's operands as signed terms (two, or three for a ternary adder)."""
        lhs, rhs, sub = self.adders[k]
        out = [lhs, Term(rhs.node, rhs.shift, sub)]
        if k in self.third:
            out.append(self.third[k])
        return out

    @property
    def n_ternary(self) -> int:
        return len(self.third)

    @property
    def n_adders(self) -> int:
        return len(self.adders)

    def coefficients(self) -> np.ndarray:
        """Integer row vector over the inputs for every node: shape (n_nodes, n_in)."""
        c = np.zeros((self.n_in + len(self.adders), self.n_in), dtype=object)
        c[: self.n_in] = np.eye(self.n_in, dtype=np.int64).astype(object)
        for k in range(len(self.adders)):
            total = 0
            for t in self.terms(k):
                v = c[t.node] * (1 << t.shift)
                total = total - v if t.negative else total + v
            c[self.n_in + k] = total
        return c

    def matrix(self) -> np.ndarray:
        """The matrix W this graph computes (n_in × n_out), from its structure."""
        c = self.coefficients()
        cols = []
        for t in self.outputs:
            if t is None:
                cols.append(np.zeros(self.n_in, dtype=object))
            else:
                v = c[t.node] * (1 << t.shift)
                cols.append(-v if t.negative else v)
        return np.stack(cols, axis=1) if cols else np.zeros((self.n_in, 0), dtype=object)

    def depths(self) -> list[int]:
        d = [0] * self.n_in
        for k in range(len(self.adders)):
            d.append(1 + max(d[t.node] for t in self.terms(k)))
        return d

    @property
    def depth(self) -> int:
        d = self.depths()
        return max((d[t.node] for t in self.outputs if t is not None), default=0)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """x·W on integer inputs (batch, n_in), exactly (Python ints where int64 could overflow)."""
        x = np.asarray(x)
        vals: list[np.ndarray] = [x[:, j].astype(object) for j in range(self.n_in)]
        for k in range(len(self.adders)):
            total = 0
            for t in self.terms(k):
                v = vals[t.node] * (1 << t.shift)
                total = total - v if t.negative else total + v
            vals.append(total)
        zero = np.zeros(x.shape[0], dtype=object)
        cols = []
        for t in self.outputs:
            if t is None:
                cols.append(zero)
            else:
                v = vals[t.node] * (1 << t.shift)
                cols.append(-v if t.negative else v)
        return np.stack(cols, axis=1) if cols else np.zeros((x.shape[0], 0), dtype=object)


def adder_luts(width: int, lhs_zeros: int, rhs_zeros: int, extent: int | None = None) -> int:
    """Estimated LUTs of one two-operand adder or subtractor on a carry-chain FPGA
    (calibrated on Yosys synth_xilinx): one LUT per carry-chain bit. `*_zeros` = an
    operand's known-zero LSBs (a shifted operand): below the larger of them the bits need
    no LUT, for a difference too (Yosys maps b·2^s − a like b·2^s + a; measured). `extent`
    = the highest operand bit + 1: above it the sum's top bit is the chain's carry out,
    which needs no LUT. An adder with a constant operand maps to the carry chain alone
    (count it with 0 LUTs)."""
    through = max(lhs_zeros, rhs_zeros)
    top = width if extent is None else min(width, extent)
    return max(top - through, 0)


def ternary_luts(width: int, zeros: list[int], negative: list[bool]) -> int:
    """Estimated LUTs of one ternary adder (three signed operands on one carry chain: a
    LUT6_2 per bit, its O6 the propagate bit a^b^c^m, its O5 the majority m passed to the
    next bit): one LUT per result bit from the chain's first bit up.  `zeros` = each
    operand's known-zero LSBs: below the second smallest, one operand alone is nonzero and
    its bits pass through (when it is added; a subtracted one starts the chain there)."""
    order = sorted(range(len(zeros)), key=lambda n: zeros[n])
    low, second = zeros[order[0]], zeros[order[1]]
    start = second if low < second and not negative[order[0]] else low
    return max(width - start, 0)


def term_range(t: Term, ranges: list[tuple[int, int]]) -> tuple[int, int]:
    lo, hi = ranges[t.node]
    lo, hi = lo << t.shift, hi << t.shift
    return (-hi, -lo) if t.negative else (lo, hi)


def extend_ranges(graph: AdderGraph, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Append to `ranges` (lo, hi per node, the inputs' first) those of the adders it lacks
    (interval arithmetic: exact where a node's operands share no input, else an outer
    bound; estimate_luts takes exact ranges from `node_ranges`)."""
    for k in range(len(ranges) - graph.n_in, len(graph.adders)):
        parts = [term_range(t, ranges) for t in graph.terms(k)]
        ranges.append((sum(p[0] for p in parts), sum(p[1] for p in parts)))
    return ranges


def node_ranges(graph: AdderGraph, lo_in, hi_in) -> tuple[list[int], list[int]]:
    """Exact (lo, hi) of every node (the inputs first) over the box lo_in[j] <= x_j <= hi_in[j]:
    per node, the sum over inputs of min/max(c_j * lo_j, c_j * hi_j) for its coefficients c
    (those of `coefficients()`). The coefficients are kept sparse and dropped after their
    last reader: a large layer's dense coefficient matrix (nodes x inputs, Python ints)
    would take gigabytes, while most of its nodes read a few inputs."""
    n_in = graph.n_in
    box = [(int(lo), int(hi)) for lo, hi in zip(lo_in, hi_in, strict=True)]
    node_lo = [min(lo, hi) for lo, hi in box]
    node_hi = [max(lo, hi) for lo, hi in box]
    terms = [graph.terms(k) for k in range(len(graph.adders))]
    last = {}  # node -> the last adder reading it
    for k, ts in enumerate(terms):
        for t in ts:
            last[t.node] = k
    coef: dict[int, dict[int, int]] = {j: {j: 1} for j in range(n_in) if j in last}
    for k, ts in enumerate(terms):
        row: dict[int, int] = {}
        for t in ts:
            f = -(1 << t.shift) if t.negative else 1 << t.shift
            for j, c in coef[t.node].items():
                row[j] = row.get(j, 0) + c * f
        for t in ts:
            if last.get(t.node) == k:
                coef.pop(t.node, None)
        lo = hi = 0
        for j, c in row.items():
            a, b = c * box[j][0], c * box[j][1]
            if a <= b:
                lo, hi = lo + a, hi + b
            else:
                lo, hi = lo + b, hi + a
        node_lo.append(lo)
        node_hi.append(hi)
        if n_in + k in last:
            coef[n_in + k] = row
    return node_lo, node_hi


def estimate_luts(graph: AdderGraph, input_ranges: list[tuple[int, int]]) -> int:
    """Total estimated LUTs of a graph over integer inputs in the given ranges (exact widths)."""
    node_lo, node_hi = node_ranges(graph, [lo for lo, _ in input_ranges], [hi for _, hi in input_ranges])
    widths = [range_width(int(lo), int(hi)) for lo, hi in zip(node_lo[: graph.n_in], node_hi[: graph.n_in])]
    total = 0
    for k in range(len(graph.adders)):
        n = graph.n_in + k
        terms = graph.terms(k)
        base = min(t.shift for t in terms)  # the node's own LSB weight
        width = range_width(int(node_lo[n]) >> base, int(node_hi[n]) >> base)
        widths.append(width)
        if len(terms) == 3:
            total += ternary_luts(width, [t.shift - base for t in terms], [t.negative for t in terms])
            continue
        lhs, rhs = terms
        extent = max(widths[lhs.node] + lhs.shift, widths[rhs.node] + rhs.shift) - base
        total += adder_luts(width, lhs.shift - base, rhs.shift - base, extent)
    return total
