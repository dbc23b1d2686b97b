"""The quantizer's range rule (`fixed.quantized`) against the quantizer itself
(`fixed.quantize`), every input value of small grids enumerated."""

import itertools
from fractions import Fraction

import numpy as np

from hgq_mlir.fixed import Fixed, Ranges, quantize, quantized


def _values(mantissas, frac: int) -> list[Fraction]:
    return [Fraction(int(m), 2**frac) if frac >= 0 else Fraction(int(m) * 2 ** (-frac)) for m in mantissas]


def _cases():
    rng = np.random.default_rng(3)
    for _ in range(400):
        k, i, f = int(rng.integers(0, 2)), int(rng.integers(-3, 4)), int(rng.integers(-2, 5))
        x_frac = int(rng.integers(-3, 5))
        lo = int(rng.integers(-20, 10))
        hi = lo + int(rng.integers(0, 30))
        yield k, i, f, x_frac, lo, hi, str(rng.choice(["TRN", "RND", "RND_CONV"])), str(rng.choice(["WRAP", "SAT"]))


def test_quantizer_range_holds_every_value():
    wrapped_to_zero = tight = 0
    for k, i, f, x_frac, lo, hi, mode, overflow in _cases():
        m = np.arange(lo, hi + 1, dtype=np.int64)
        q = quantize(Fixed(m, x_frac), np.full(m.size, k), np.full(m.size, i), np.full(m.size, f), mode, overflow)
        r = quantized(Ranges(x_frac, lo, hi), k, i, f, mode, overflow)
        got = _values(np.asarray(q.mantissa), q.frac)
        low, high = _values([r.lo, r.hi], r.frac)
        assert all(low <= v <= high for v in got), (k, i, f, x_frac, lo, hi, mode, overflow)
        tight += max(got) == high > min(got)  # a range one step narrower would miss a value
        if r.lo == r.hi == 0 and any(v != 0 for v in _values(m, x_frac)):
            wrapped_to_zero += 1
            assert all(v == 0 for v in got)
    assert wrapped_to_zero > 0, "no case where a WRAP's modulus divides the input grid"
    assert tight > 100, "the check can fail: most ranges are reached by a value"


def test_wrap_of_a_coarse_grid_is_zero():
    """Integers (grid 1) wrapped into an unsigned format with no integer bits are all 0; the
    same values on a finer grid (halves) are not (negative control)."""
    r = quantized(Ranges(0, 0, 5), 0, 0, 6, "RND", "WRAP")
    assert (r.lo, r.hi) == (0, 0)
    q = quantize(Fixed(np.arange(0, 6), 0), np.zeros(6), np.zeros(6), np.full(6, 6), "RND", "WRAP")
    assert not np.asarray(q.mantissa).any()
    finer = quantized(Ranges(1, 0, 5), 0, 0, 6, "RND", "WRAP")
    assert finer.hi > 0
