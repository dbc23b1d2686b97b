"""Exact value ranges (interval analysis) for `hgq` tensors, per element, in NumPy.

A range holds, per element, a fractional-bit count `frac` and integer mantissa
bounds `lo`, `hi` (Python ints in object arrays): the element's value is
`m * 2^-frac` for some integer m in [lo, hi], and always a multiple of 2^-frac.
`lo == hi` means the element is a known constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hgq_mlir.fixed import round_shift


@dataclass(frozen=True)
class Ranges:
    frac: np.ndarray  # int64, per element
    lo: np.ndarray  # object (Python int), per element
    hi: np.ndarray

    def __len__(self) -> int:
        return len(self.frac)

    def constant(self) -> np.ndarray:
        return self.lo == self.hi

    def scaled(self, frac: int) -> tuple[np.ndarray, np.ndarray]:
        """lo, hi at a common `frac` >= every element's frac (exact)."""
        s = (2 ** (frac - self.frac).astype(object)).astype(object)
        return self.lo * s, self.hi * s


def _obj(a) -> np.ndarray:
    out = np.empty(len(a), dtype=object)
    out[:] = [int(v) for v in a]
    return out


def format_bounds(k, i, f, overflow: str) -> tuple[np.ndarray, np.ndarray]:
    """Mantissa bounds (at f) of HGQ formats, per element (i already >= -f); 0 for width <= 0."""
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    live = k + i + f > 0
    top = 2 ** _obj(np.where(live, i + f, 0))
    hi = np.where(live, top - 1, 0)
    lo = np.where(live, -_obj(k) * (hi if overflow == "SAT_SYM" else top), 0)
    return _obj(lo), _obj(hi)


def quantizer_output(x: Ranges | None, k, i, f, round_mode: str, overflow: str) -> Ranges:
    """Ranges after HGQ's quantizer; `x=None` means an unbounded (float) input."""
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    live = k + i + f > 0
    i = np.maximum(i, -f)
    tlo, thi = format_bounds(k, i, f, overflow)
    frac = np.where(live, f, 0)
    if x is None:
        return Ranges(frac, tlo, thi)
    lo, hi = x.lo.copy(), x.hi.copy()
    up = x.frac <= f
    s = 2 ** np.where(up, f - x.frac, 0).astype(object)
    d = np.where(up, 0, x.frac - f)
    lo = np.where(up, lo * s, round_shift(lo, d, round_mode))
    hi = np.where(up, hi * s, round_shift(hi, d, round_mode))
    fits = (lo >= tlo) & (hi <= thi)
    if overflow == "WRAP":
        lo, hi = np.where(fits, lo, tlo), np.where(fits, hi, thi)
    else:
        lo = np.minimum(np.maximum(lo, tlo), thi)
        hi = np.minimum(np.maximum(hi, tlo), thi)
    zero = _obj(np.zeros(len(f)))
    return Ranges(frac, np.where(live, lo, zero), np.where(live, hi, zero))


def is_identity_quantizer(x: Ranges, k, i, f, overflow: str) -> np.ndarray:
    """Per element: the quantizer changes nothing (on the grid already, and in range)."""
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    live = k + i + f > 0
    i = np.maximum(i, -f)
    tlo, thi = format_bounds(k, i, f, overflow)
    s = 2 ** np.maximum(f - x.frac, 0).astype(object)
    fits = (x.frac <= f) & (x.lo * s >= tlo) & (x.hi * s <= thi)
    return np.where(live, fits, (x.lo == 0) & (x.hi == 0))


def dense_output(x: Ranges, wm: np.ndarray, we: np.ndarray, bm: np.ndarray | None, be: np.ndarray | None) -> Ranges:
    """Exact ranges of x·W + b over the box x (W = wm·2^we, b = bm·2^be)."""
    n_in, n_out = wm.shape
    nz = wm != 0
    fw = np.where(nz, -we, np.iinfo(np.int64).min // 4)
    term_frac = np.where(nz, x.frac[:, None] + fw, np.iinfo(np.int64).min // 4)
    frac = term_frac.max(axis=0, initial=np.iinfo(np.int64).min // 4)
    if bm is not None:
        frac = np.maximum(frac, np.where(bm != 0, -be, np.iinfo(np.int64).min // 4))
    const_zero = frac < np.iinfo(np.int64).min // 8
    frac = np.where(const_zero, 0, frac)
    if n_in:
        fx_max = int(x.frac.max())
        fw_max = int(fw[nz].max()) if nz.any() else 0
    else:
        fx_max = fw_max = 0
    S = fx_max + fw_max
    xlo, xhi = x.scaled(fx_max)
    w_int = np.where(nz, wm.astype(object) * (2 ** np.where(nz, we + fw_max, 0).astype(object)), 0)
    a, b = xlo[:, None] * w_int, xhi[:, None] * w_int
    lo = np.minimum(a, b).sum(axis=0) if n_in else _obj(np.zeros(n_out))
    hi = np.maximum(a, b).sum(axis=0) if n_in else _obj(np.zeros(n_out))
    if bm is not None:
        bnz = bm != 0
        S2 = max(S, int((-be[bnz]).max())) if bnz.any() else S
        lo, hi = lo * (2 ** (S2 - S)), hi * (2 ** (S2 - S))
        bias = np.where(bnz, bm.astype(object) * (2 ** np.where(bnz, be + S2, 0).astype(object)), 0)
        lo, hi, S = lo + bias, hi + bias, S2
    div = 2 ** (S - frac).astype(object)
    return Ranges(frac, _obj(lo // div), _obj(hi // div))


def _gather(x: Ranges, index: np.ndarray) -> Ranges:
    """Ranges at `index` (flat); -1 entries are the constant 0."""
    safe = np.where(index < 0, 0, index)
    pad = index < 0
    zero = _obj(np.zeros(index.size))
    return Ranges(
        np.where(pad, 0, x.frac[safe]),
        np.where(pad, zero, x.lo[safe]),
        np.where(pad, zero, x.hi[safe]),
    )


def conv_output(x: Ranges, patches: np.ndarray, wm, we, bm, be) -> Ranges:
    parts = [dense_output(_gather(x, row), wm, we, bm, be) for row in patches]
    return Ranges(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("frac", "lo", "hi")))


def maxpool_output(x: Ranges, windows: np.ndarray) -> Ranges:
    frac, lo, hi = [], [], []
    for row in windows:
        g = _gather(x, row[row >= 0])
        f = int(g.frac.max())
        glo, ghi = g.scaled(f)
        frac.append(f)
        lo.append(max(glo))
        hi.append(max(ghi))
    return Ranges(np.array(frac, dtype=np.int64), _obj(lo), _obj(hi))


def elementwise_output(kind: str, a: Ranges, b: Ranges) -> Ranges:
    """Exact ranges of a ⊕ b for independent a, b (kind: add, sub, max, min)."""
    f = np.maximum(a.frac, b.frac)
    sa, sb = 2 ** (f - a.frac).astype(object), 2 ** (f - b.frac).astype(object)
    alo, ahi, blo, bhi = a.lo * sa, a.hi * sa, b.lo * sb, b.hi * sb
    if kind == "add":
        lo, hi = alo + blo, ahi + bhi
    elif kind == "sub":
        lo, hi = alo - bhi, ahi - blo
    elif kind == "max":
        lo, hi = np.maximum(alo, blo), np.maximum(ahi, bhi)
    else:
        lo, hi = np.minimum(alo, blo), np.minimum(ahi, bhi)
    return Ranges(f, _obj(lo), _obj(hi))


def concat_output(parts: list[Ranges]) -> Ranges:
    return Ranges(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("frac", "lo", "hi")))


def gather_output(x: Ranges, index: np.ndarray) -> Ranges:
    return Ranges(x.frac[index], x.lo[index], x.hi[index])


def lut_keys(x: Ranges, in_lo: np.ndarray, in_frac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per element, the first and last table index the input's range reaches."""
    first, last = [], []
    for f, lo, hi, base, fin in zip(x.frac, x.lo, x.hi, in_lo, in_frac, strict=True):
        d = int(fin) - int(f)  # the input's values are on its own grid: exact either way
        lo, hi = (int(lo) << d, int(hi) << d) if d >= 0 else (int(lo) >> -d, int(hi) >> -d)
        first.append(lo - int(base))
        last.append(hi - int(base))
    return np.array(first, dtype=np.int64), np.array(last, dtype=np.int64)


def lut_output(x: Ranges, in_lo, in_frac, out_frac, table) -> Ranges:
    """Exact ranges of a lookup table: min and max over the entries the input reaches."""
    first, last = lut_keys(x, in_lo, in_frac)
    t = table.shape[1]
    first, last = np.clip(first, 0, t - 1), np.clip(last, 0, t - 1)
    lo = [int(row[a:b + 1].min()) for row, a, b in zip(table, first, last, strict=True)]
    hi = [int(row[a:b + 1].max()) for row, a, b in zip(table, first, last, strict=True)]
    return Ranges(np.asarray(out_frac, dtype=np.int64), _obj(lo), _obj(hi))


def relu_output(x: Ranges) -> Ranges:
    zero = _obj(np.zeros(len(x)))
    return Ranges(x.frac, np.maximum(x.lo, zero), np.maximum(x.hi, zero))


def envelope(r: Ranges) -> tuple[int, int, int]:
    """(k, i, f) of the narrowest single format holding every element's exact range."""
    if len(r) == 0 or all(lo == hi == 0 for lo, hi in zip(r.lo, r.hi)):
        return 0, 0, 0
    f = int(r.frac.max())
    lo, hi = r.scaled(f)
    lo_m, hi_m = int(min(lo)), int(max(hi))
    k = 1 if lo_m < 0 else 0
    bits = max((-lo_m - 1).bit_length() if lo_m < 0 else 0, hi_m.bit_length())
    return k, bits - f, f
