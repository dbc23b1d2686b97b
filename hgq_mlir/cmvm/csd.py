"""The baseline solver: canonical signed digits per weight, a depth-optimal sum per column."""

from __future__ import annotations

import heapq

import numpy as np

from hgq_mlir.cmvm.graph import AdderGraph, Term


def csd_digits(v: int) -> list[tuple[int, int]]:
    """Canonical signed-digit form of an integer: [(shift, ±1), ...], no two digits adjacent."""
    digits = []
    shift = 0
    while v:
        if v & 1:
            d = 2 - (v & 3)  # +1 if v ≡ 1 (mod 4), -1 if v ≡ 3
            digits.append((shift, d))
            v -= d
        v >>= 1
        shift += 1
    return digits


def csd_digit_count(w) -> np.ndarray:
    """The number of canonical signed digits of every integer in `w` (0 for 0)."""
    w = np.asarray(w)
    out = np.fromiter((len(csd_digits(int(v))) if v else 0 for v in w.ravel()), dtype=np.int64, count=w.size)
    return out.reshape(w.shape)


def binary_or_csd_digits(v: int) -> list[tuple[int, int]]:
    """The plain binary digits of |v| (all with v's sign) where they are no more than the
    canonical ones, else the canonical: as few digits, but low-precision weights then share
    more two-digit patterns (measured on tools/bench_cmvm.py: better on 4-5 bit weights)."""
    sign = 1 if v > 0 else -1
    binary = [(i, sign) for i in range(abs(v).bit_length()) if abs(v) >> i & 1]
    canonical = csd_digits(v)
    return binary if len(binary) <= len(canonical) else canonical


def sum_terms(graph: AdderGraph, terms: list[tuple[int, Term]], bits: list[int] | None = None) -> Term | None:
    """Add signed terms with a balanced tree: always combine the two shallowest (Huffman);
    among equally deep terms, the two with the lowest top bit (narrow adders first).
    `bits[node]` is a node's width; new nodes' widths are appended to it."""
    if not terms:
        return None
    top = (lambda t: bits[t.node] + t.shift) if bits is not None else (lambda t: 0)
    heap = [(depth, top(t), n, t) for n, (depth, t) in enumerate(terms)]
    heapq.heapify(heap)
    tick = len(heap)
    while len(heap) > 1:
        d1, _, _, t1 = heapq.heappop(heap)
        d2, _, _, t2 = heapq.heappop(heap)
        if t1.negative and not t2.negative:
            t1, t2 = t2, t1
        base = min(t1.shift, t2.shift)
        lhs = Term(t1.node, t1.shift - base)
        rhs = Term(t2.node, t2.shift - base)
        node = graph.add(lhs, rhs, subtract=t1.negative != t2.negative)
        if bits is not None:
            bits.append(max(bits[lhs.node] + lhs.shift, bits[rhs.node] + rhs.shift) + 1)
        t = Term(node, base, t1.negative and t2.negative)
        heapq.heappush(heap, (max(d1, d2) + 1, top(t), tick, t))
        tick += 1
    return heap[0][3]


def solve_csd(w: np.ndarray) -> AdderGraph:
    """x·W with one adder per nonzero signed digit beyond the first of each column."""
    w = np.asarray(w)
    n_in, n_out = w.shape
    graph = AdderGraph(n_in)
    for col in range(n_out):
        terms = [
            (0, Term(j, shift, digit < 0))
            for j in range(n_in)
            if w[j, col] != 0
            for shift, digit in csd_digits(int(w[j, col]))
        ]
        graph.outputs.append(sum_terms(graph, terms))
    return graph
