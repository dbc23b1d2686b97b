"""The adder graph: the common result of every CMVM solver."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hgq_mlir.fixed import range_width


@dataclass(frozen=True)
class Term:
    """±(node << shift); node ids 0..n_in-1 are the inputs, then the adders in order."""

    node: int
    shift: int = 0
    negative: bool = False


@dataclass
class AdderGraph:
    """x·W as adders `node = lhs ± rhs` over shifted terms, plus one output term per column.

    `adders[k]` is `(lhs, rhs, subtract)` with `lhs`/`rhs` Terms (lhs never negative);
    it defines node `n_in + k`.  An output is `None` when its column of W is zero.
    """

    n_in: int
    adders: list[tuple[Term, Term, bool]] = field(default_factory=list)
    outputs: list[Term | None] = field(default_factory=list)

    def add(self, lhs: Term, rhs: Term, subtract: bool) -> int:
        self.adders.append((lhs, rhs, subtract))
        return self.n_in + len(self.adders) - 1

    @property
    def n_adders(self) -> int:
        return len(self.adders)

    def coefficients(self) -> np.ndarray:
        """Integer row vector over the inputs for every node: shape (n_nodes, n_in)."""
        c = np.zeros((self.n_in + len(self.adders), self.n_in), dtype=object)
        c[: self.n_in] = np.eye(self.n_in, dtype=np.int64).astype(object)
        for k, (a, b, sub) in enumerate(self.adders):
            rhs = c[b.node] * (1 << b.shift)
            c[self.n_in + k] = c[a.node] * (1 << a.shift) + (-rhs if sub else rhs)
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
        for a, b, _ in self.adders:
            d.append(1 + max(d[a.node], d[b.node]))
        return d

    @property
    def depth(self) -> int:
        d = self.depths()
        return max((d[t.node] for t in self.outputs if t is not None), default=0)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """x·W on integer inputs (batch, n_in), exactly (Python ints where int64 could overflow)."""
        x = np.asarray(x)
        vals: list[np.ndarray] = [x[:, j].astype(object) for j in range(self.n_in)]
        for a, b, sub in self.adders:
            lhs = vals[a.node] * (1 << a.shift)
            rhs = vals[b.node] * (1 << b.shift)
            vals.append(lhs - rhs if sub else lhs + rhs)
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


def extend_ranges(graph: AdderGraph, ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Append to `ranges` (lo, hi per node, the inputs' first) those of the adders it lacks
    (interval arithmetic: exact where a node's two operands share no input, else an outer
    bound; estimate_luts takes exact ranges from the coefficients)."""
    for a, b, sub in graph.adders[len(ranges) - graph.n_in :]:
        (l1, h1), (l2, h2) = ranges[a.node], ranges[b.node]
        l1, h1, l2, h2 = l1 << a.shift, h1 << a.shift, l2 << b.shift, h2 << b.shift
        ranges.append((l1 - h2, h1 - l2) if sub else (l1 + l2, h1 + h2))
    return ranges


def estimate_luts(graph: AdderGraph, input_ranges: list[tuple[int, int]]) -> int:
    """Total estimated LUTs of a graph over integer inputs in the given ranges (exact widths)."""
    c = graph.coefficients()
    lo_in = np.array([lo for lo, _ in input_ranges], dtype=object)
    hi_in = np.array([hi for _, hi in input_ranges], dtype=object)
    a, b = c * lo_in, c * hi_in
    node_lo, node_hi = np.minimum(a, b).sum(axis=1), np.maximum(a, b).sum(axis=1)
    widths = [range_width(int(lo), int(hi)) for lo, hi in zip(node_lo[: graph.n_in], node_hi[: graph.n_in])]
    total = 0
    for k, (lhs, rhs, _) in enumerate(graph.adders):
        n = graph.n_in + k
        base = min(lhs.shift, rhs.shift)  # the node's own LSB weight
        width = range_width(int(node_lo[n]) >> base, int(node_hi[n]) >> base)
        widths.append(width)
        extent = max(widths[lhs.node] + lhs.shift, widths[rhs.node] + rhs.shift) - base
        total += adder_luts(width, lhs.shift - base, rhs.shift - base, extent)
    return total
