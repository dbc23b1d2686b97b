"""Constant lookup tables in LUTs (pure NumPy, no IR): their cost, and the residual split
that makes a wide table cheaper.

A 6-LUT holds 64 entries of one output bit, so a table costs, per output bit, one LUT per
distinct non-constant 64-entry slice plus the selection among them. A table whose entries
drift slowly along the index (a smooth function) has many distinct slices in its high
bits; `residual_split` writes it as T(x) = A(x_hi) + R(x): A, indexed by the index's top
bits, holds each segment's minimum, and R = T - A, a narrower table; one adder joins them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SLICE = 64  # entries one 6-LUT holds


def table_luts(entries: Sequence[int], width: int, read: int = -1) -> int:
    """6-LUTs of a table (`_table_luts`, memoized: a layer repeats one table per element),
    of the output bits in the mask `read` (all by default: synthesis drops the others)."""
    return _table_luts(tuple(int(v) for v in entries), width, read)


@functools.lru_cache(maxsize=4096)
def _table_luts(entries: tuple[int, ...], width: int, read: int = -1) -> int:
    """6-LUTs of a table of `width`-bit entries (two's complement): per output bit, one per
    distinct non-constant 64-entry slice (k) plus the selection among them, k + (k + 1) // 4
    beyond the free MUXF7/F8/F9; on 16 slices or more the selection past the MUXF9's eight
    leaves is built in LUTs: one LUT more where constant slices sit among varying ones, and
    one more where eight or more distinct slices (more than one MUXF9 tree) are selected
    (fitted on Yosys synth_xilinx,
    each table synthesized alone: tanh and sigmoid tables of 8-9 index bits, the distinct
    7- to 10-bit tables of trained QEinsumDenseT and QDenseT models, the 6- to 10-bit tables
    of the softmax, recurrent and table test models, and the 10-bit table modules of four
    seed-2 table test models, 10 220 Yosys LUTs, this rule 9 836; on the same models trained
    with seed 3, never fitted, 10 009 and 10 028. Per model the error of these 10-bit tables
    stays between -11 % and +20 %: ABC maps such ROMs unevenly, the sum is what holds)."""
    e = np.asarray(entries, dtype=np.int64)
    full = e.size - e.size % SLICE
    total = 0
    for b in range(width):
        if not read >> b & 1:
            continue
        column = (e >> b) & 1
        slices = column[:full].reshape(-1, SLICE)
        varying = slices.min(axis=1) != slices.max(axis=1)
        k = len(np.unique(slices[varying], axis=0)) if varying.any() else 0
        rest = column[full:]
        k += int(rest.size > 0 and rest.min() != rest.max())  # a short last slice is its own
        past_f9 = len(slices) >= 16
        mixed = past_f9 and 0 < varying.sum() < len(slices)
        total += k + (k + 1) // 4 + int(mixed) + int(past_f9 and k >= 8)
    return total


@dataclass(frozen=True)
class ResidualSplit:
    """T(x) = A(x >> (index_width - high)) + R(x), exactly, modulo 2^width."""

    high: int  # index bits A is indexed by (the top ones)
    base: tuple[int, ...]  # A: 2^high entries, `width` bits
    residual: tuple[int, ...]  # R: the table's entries, >= 0, `residual_width` bits
    residual_width: int
    luts: int  # the price the split was chosen by (below)


def residual_split(entries: Sequence[int], index_width: int, width: int) -> ResidualSplit | None:
    """`_residual_split`, memoized: a layer repeats one table per element."""
    return _residual_split(tuple(int(v) for v in entries), index_width, width)


@functools.lru_cache(maxsize=4096)
def _residual_split(entries: tuple[int, ...], index_width: int, width: int) -> ResidualSplit | None:
    """The cheapest residual split of a table with 2^index_width `width`-bit entries (in
    index order, two's complement), or None where no split costs fewer LUTs than the table."""
    e = np.asarray(entries, dtype=np.int64)
    if index_width <= 6 or e.size != 1 << index_width:
        return None
    best, cost = None, table_luts(e, width)
    mask = (1 << width) - 1
    for values in (e, e & mask):  # as signed mantissas, or as raw unsigned bits
        for high in range(1, min(6, index_width - 1) + 1):
            segments = values.reshape(1 << high, -1)
            base = segments.min(axis=1)
            residual = (segments - base[:, None]).ravel()
            rw = max(int(residual.max()).bit_length(), 1)
            if rw >= width:
                continue
            # priced as A + R + one LUT per residual bit for the adder (synthesized with Yosys,
            # the splits this price picks came out smaller than those of the report's rules,
            # under which A on fewer than six index bits shares the adder's LUTs: einsum_table
            # of tools/bench_layers.py 2 028 against 2 168 LUTs)
            c = table_luts(base & mask, width) + table_luts(residual, rw) + rw
            if c < cost:
                best, cost = (high, base, residual, rw), c
    if best is None:
        return None
    high, base, residual, rw = best
    return ResidualSplit(high, tuple(int(v) & mask for v in base), tuple(int(v) for v in residual), rw, cost)
