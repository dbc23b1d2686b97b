"""Value ranges of fixed-point formats and of exact sums (interval analysis, NumPy)."""

from __future__ import annotations

import numpy as np


def quantizer_range(k, i, f, overflow: str) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi] of a quantizer's possible outputs, per element (0 for zero-width ones)."""
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    live = k + i + f > 0
    i = np.maximum(i, -f)
    hi = 2.0**i - 2.0 ** (-f)
    lo = -k * (hi if overflow == "SAT_SYM" else 2.0**i)
    return np.where(live, lo, 0.0), np.where(live, hi, 0.0)


def dense_range(lo: np.ndarray, hi: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Exact [lo, hi] of x·W + b for x in the box [lo, hi]."""
    a, c = lo[:, None] * w, hi[:, None] * w
    out_lo, out_hi = np.minimum(a, c).sum(0), np.maximum(a, c).sum(0)
    if b is not None:
        out_lo, out_hi = out_lo + b, out_hi + b
    return out_lo, out_hi
