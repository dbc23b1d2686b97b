"""Lookup tables in LUTs: the residual split T(x) = A(x_hi) + R(x) is exact and cheaper by the
table rule, and a model whose tables are split is bit-exact in simulated RTL."""

import re

import numpy as np
import pytest
from layer_models import BUILDERS
from tests_support import table_text

from hgq_mlir.tables import residual_split, table_luts


def _smooth(index_width: int, width: int, seed: int, signed_index: bool) -> list[int]:
    """A trained-looking table: a scaled tanh of the index's mantissa, in raw-index order."""
    rng = np.random.default_rng(seed)
    n = 1 << index_width
    codes = np.arange(n)
    m = np.where(signed_index & (codes >= n // 2), codes - n, codes) if signed_index else codes
    scale = (1 << (width - 1)) - 1
    y = np.round(scale * np.tanh(rng.uniform(0.5, 3) * m / n + rng.uniform(-1, 1)))
    return [int(v) for v in y]


@pytest.mark.parametrize("index_width", [7, 8, 9, 10])
@pytest.mark.parametrize("signed_index", [False, True])
def test_residual_split_is_exact_and_cheaper(index_width, signed_index):
    found = 0
    for seed in range(6):
        width = 6 + seed % 4
        entries = _smooth(index_width, width, seed, signed_index)
        split = residual_split(entries, index_width, width)
        if split is None:
            continue
        found += 1
        assert split.luts < table_luts(entries, width)
        assert len(split.base) == 1 << split.high and min(split.residual) >= 0
        assert max(split.residual) < 1 << split.residual_width < 1 << width
        x = np.arange(1 << index_width)
        rebuilt = (np.array(split.base)[x >> (index_width - split.high)] + np.array(split.residual)) % (1 << width)
        assert np.array_equal(rebuilt, np.array(entries) % (1 << width))
        wrong = rebuilt.copy()
        wrong[5] ^= 1  # negative control: one bit off is seen
        assert not np.array_equal(wrong, np.array(entries) % (1 << width))
    assert found >= (3 if index_width >= 9 else 1), "smooth wide tables are cheaper split"


def test_no_split_where_it_does_not_pay():
    rng = np.random.default_rng(0)
    assert residual_split(list(rng.integers(-8, 8, 64)), 6, 4) is None  # one LUT per bit already
    noise = list(rng.integers(-128, 128, 512))  # no structure: R would be as wide as T
    assert residual_split(noise, 9, 8) is None


def test_table_rule_counts_distinct_slices():
    """Independent of the code: a 128-entry table whose bit 0 alternates in its first half and
    is constant in its second, and whose bit 1 is the same random pattern in both halves."""
    rng = np.random.default_rng(1)
    pattern = rng.integers(0, 2, 64)
    bit0 = np.concatenate([np.arange(64) % 2, np.zeros(64, dtype=np.int64)])
    bit1 = np.concatenate([pattern, pattern])
    entries = bit0 + 2 * bit1
    assert table_luts(entries, 2) == (1 + 0) + (1 + 0)  # one varying slice each: k + (k + 1) // 4
    assert table_luts(entries, 3) == table_luts(entries, 2)  # a constant bit costs nothing
    assert table_luts(entries, 2, read=0b10) == 1 + 0  # bit 1 alone: the bits nobody reads are not built


def test_table_rule_prices_selection_past_sixteen_slices():
    """Independent of the code: a 1024-entry bit (16 slices of 64) pays a selection LUT more
    with constant slices among its varying ones, and one more with eight or more distinct
    slices; within eight slices the MUXF9 tree selects for free."""
    rng = np.random.default_rng(2)
    patterns = rng.integers(0, 2, (16, 64))
    mixed = np.concatenate([patterns[:4].ravel(), np.zeros(12 * 64, dtype=np.int64)])
    assert table_luts(mixed, 1) == 4 + (4 + 1) // 4 + 1
    assert table_luts(patterns.ravel(), 1) == 16 + (16 + 1) // 4 + 1
    assert table_luts(np.tile(patterns[:4].ravel(), 4), 1) == 4 + (4 + 1) // 4  # 16 varying, 4 distinct
    assert table_luts(mixed[:512], 1) == 4 + (4 + 1) // 4  # eight slices: the MUXF9 selects


def _split_reads(text: str) -> list[tuple[str, str]]:
    """(A's function or module, R's) of each split table read in the Verilog: A is read with
    top bits of the index R is read with."""
    slices = dict(re.findall(r"wire (?:\[\d+:0\] )?(_n\d+) = (_n\d+)\[\d+(?::\d+)?\];", text))
    reads = (re.findall(r"wire (?:\[\d+:0\] )?_n\d+ = (_t\d+)\((_n\d+)\);", text)  # a function
             + re.findall(r"  (\w+_t\d+) _n\d+_t \(\.i\((_n\d+)\)", text))  # a module instance
    by_index = {index: f for f, index in reads}
    return [(f, by_index[slices[index]]) for f, index in reads if slices.get(index) in by_index]


@pytest.mark.parametrize("builder", ["dense_table", "einsum_table"])
def test_split_tables_are_bit_exact(builder, trained, rtl_copy):
    """The table models build some tables split, are bit-exact with Keras, and fail when one
    split table's residual is zeroed."""
    from hgq_mlir.backend.verify import verify

    model, path = trained(BUILDERS[builder], seed=2)
    _, rtl_dir = rtl_copy(path)
    verilog = rtl_dir / f"{model.name}.v"
    text = verilog.read_text()
    split = _split_reads(text)
    assert split, "no table is split"
    mismatches, total, _ = verify(str(path), rtl_dir, 500)
    assert total > 0 and mismatches == 0
    # negative control: a residual table zeroed
    body = table_text(text, split[0][1])
    zeroed = re.sub(r"= (\d+)'h[0-9a-f]+;", r"= \1'h0;", body)
    assert zeroed != body
    verilog.write_text(text.replace(body, zeroed, 1))
    assert verify(str(path), rtl_dir, 500)[0] > 0
