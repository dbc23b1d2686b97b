"""HGQ's fixed-point arithmetic, in one place: formats, mantissa ranges, the quantizer, intervals.

A format is HGQ's (k, i, f): k sign bit (0/1), i integer bits excluding the sign, f fractional
bits; width k+i+f, a value is mantissa * 2^-f, and width <= 0 means the value is 0.
Every function takes Python ints or NumPy arrays (elementwise); mantissas that may outgrow
int64 are Python ints (object arrays), so nothing is ever silently truncated.
Every other module (dialects, interpreters, range analysis, lowerings, CMVM, report,
`hgq-verify`) takes its fixed-point rules from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np



class RoundMode(StrEnum):
    """HGQ2's rounding: RND (half up), RND_CONV (half to even), TRN (floor)."""

    RND = "RND"
    RND_CONV = "RND_CONV"
    TRN = "TRN"


class OverflowMode(StrEnum):
    """HGQ2's overflow: WRAP (two's complement), SAT (clip), SAT_SYM (clip to a symmetric range)."""

    WRAP = "WRAP"
    SAT = "SAT"
    SAT_SYM = "SAT_SYM"


ROUND_MODES = tuple(m.value for m in RoundMode)
OVERFLOW_MODES = tuple(m.value for m in OverflowMode)


# -- elementwise helpers on ints or arrays -------------------------------------------------

def _scalar(*xs) -> bool:
    return all(isinstance(x, (int, np.integer)) for x in xs)


def _obj(a) -> np.ndarray:
    """Python ints in an object array (exact at any size)."""
    a = np.asarray(a)
    if a.dtype == object:
        return a
    out = np.empty(a.shape, dtype=object)
    out.ravel()[:] = [int(v) for v in a.ravel()]
    return out


def pow2(e):
    """2^e for e >= 0, exact: an int for an int, an object array for an array."""
    if _scalar(e):
        return 1 << int(e)
    return 2 ** _obj(np.maximum(np.asarray(e, dtype=np.int64), 0))


def _max(a, b):
    return max(a, b) if _scalar(a, b) else np.maximum(a, b)


def _min(a, b):
    return min(a, b) if _scalar(a, b) else np.minimum(a, b)


def _where(c, a, b):
    if _scalar(a, b) and isinstance(c, (bool, np.bool_)):
        return a if c else b
    return np.where(c, a, b)


def bit_length(x):
    """int.bit_length, elementwise (0 for x <= 0); float arrays of integers via frexp."""
    if _scalar(x):
        return int(x).bit_length() if x > 0 else 0
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return np.where(x > 0, np.frexp(x)[1], 0)
    out = np.fromiter((int(v).bit_length() if v > 0 else 0 for v in x.ravel()), dtype=np.int64, count=x.size)
    return out.reshape(x.shape)


# -- formats and mantissa ranges -------------------------------------------------------------

def range_width(lo, hi):
    """Bits of the narrowest two's complement (lo < 0) or unsigned word holding [lo, hi] (>= 1)."""
    if type(lo) is int and type(hi) is int:  # the CMVM's hot path
        return max((-lo - 1).bit_length(), hi.bit_length()) + 1 if lo < 0 else max(hi.bit_length(), 1)
    if _scalar(lo, hi):
        if lo < 0:
            return max((-int(lo) - 1).bit_length(), int(hi).bit_length()) + 1
        return max(int(hi).bit_length(), 1)
    lo = np.asarray(lo)
    neg = lo < 0
    bh = bit_length(hi)
    return np.where(neg, np.maximum(bit_length(np.where(neg, -lo - 1, 0)), bh) + 1, np.maximum(bh, 1))


def format_of_range(lo, hi, f):
    """(k, i, f): the narrowest format with f fractional bits holding mantissas lo..hi (width >= 1)."""
    k = int(lo < 0) if _scalar(lo) else (np.asarray(lo) < 0).astype(np.int64)
    return k, range_width(lo, hi) - k - f, f


def format_bounds(k, i, f, overflow: str = "WRAP"):
    """(lo, hi): the mantissa range (at f) of format (k, i, f); SAT_SYM drops the most negative
    value; (0, 0) where the width is <= 0."""
    if _scalar(k, i, f):
        if k + i + f <= 0:
            return 0, 0
        top = 1 << (i + f)
        return (-(top - 1) if overflow == "SAT_SYM" else -top) * k, top - 1
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    live = k + i + f > 0
    top = pow2(np.where(live, i + f, 0))
    hi = np.where(live, top - 1, 0)
    lo = np.where(live, -_obj(k) * (hi if overflow == "SAT_SYM" else top), 0)
    return _obj(lo), _obj(hi)


def envelope(k, i, f) -> tuple[int, int, int]:
    """The smallest single format holding every live (width > 0) format of the arrays."""
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    live = (k + i + f) > 0
    if not live.any():
        return 0, 0, 0
    k, i, f = k[live], np.maximum(i[live], -f[live]), f[live]
    return int(k.max()), int(i.max()), int(f.max())


# -- HGQ2's quantizer on data -------------------------------------------------------------

def _fits_int64(bits: float) -> bool:
    return bits < 62


def abs_bits(m: np.ndarray) -> int:
    """Bits of the largest magnitude in m (0 for an empty array)."""
    if m.size == 0:
        return 0
    return int(max(abs(int(m.max())), abs(int(m.min())))).bit_length()


def shl(m: np.ndarray, s) -> np.ndarray:
    """m * 2^s (s >= 0, elementwise), switching to Python ints where int64 could overflow."""
    s_max = int(np.max(s)) if np.size(s) else 0
    if m.dtype != object and not _fits_int64(abs_bits(m) + s_max):
        m = m.astype(object)
    if m.dtype == object:
        return m * (np.ones_like(m) * (2 ** np.asarray(s, dtype=object)))
    return m << np.asarray(s, dtype=np.int64)


def round_shift(m, d, mode: str):
    """m * 2^-d rounded to an integer by `mode` (HGQ2's TRN, RND, RND_CONV); d >= 0."""
    if _scalar(m, d):
        return int(round_shift(np.array([int(m)], dtype=object), np.array([int(d)]), mode)[0])
    d = np.broadcast_to(np.asarray(d, dtype=np.int64), np.shape(m))
    if m.dtype == object:
        p = np.ones_like(m) * (2 ** d.astype(object))
        half = p // 2
    else:
        p = np.left_shift(np.int64(1), d)
        half = p >> 1
    if mode == "TRN":
        return m // p
    if mode == "RND":
        return (m + half) // p
    if mode == "RND_CONV":
        q = m // p
        r = m - q * p
        up = (r > half) | ((r == half) & (d > 0) & (q % 2 == 1))
        return q + up.astype(np.int64)
    raise ValueError(f"unknown round mode {mode}")


@dataclass(frozen=True)
class Fixed:
    """A batch of exact values: `mantissa * 2^-frac`, one frac for the whole array."""

    mantissa: np.ndarray
    frac: int

    def to_float(self) -> np.ndarray:
        return np.asarray(self.mantissa, dtype=np.float64) * 2.0 ** (-self.frac)

    def at_frac(self, frac: int) -> np.ndarray:
        """Mantissas at a finer scale `frac` >= self.frac (exact)."""
        assert frac >= self.frac
        return shl(self.mantissa, frac - self.frac)


def const_value(mantissa: np.ndarray, exponent: np.ndarray) -> Fixed:
    """Values `mantissa * 2^exponent` (one exponent per element) as one `Fixed` array."""
    nz = mantissa != 0
    frac = int(-exponent[nz].min()) if nz.any() else 0
    return Fixed(shl(mantissa, np.where(nz, exponent + frac, 0)), frac)


def quantize(x: Fixed | np.ndarray, k, i, f, round_mode: str, overflow: str) -> Fixed:
    """HGQ2's quantizer on a batch (last axis = elements), exactly.

    `x` is either exact `Fixed` data or floating-point values (model inputs).
    """
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    width = k + i + f
    live = width > 0
    i = np.maximum(i, -f)
    out_frac = int(f[live].max()) if live.any() else 0

    if isinstance(x, Fixed):
        scale = max(x.frac, int(f.max()) if f.size else 0)
        m = x.at_frac(scale)
        if overflow != "WRAP":
            m = _saturate(m, k, i, f, scale, overflow)
        q = round_shift(m, scale - f, round_mode)
    else:
        xf = np.asarray(x, dtype=np.float64)
        if overflow != "WRAP":
            hi = 2.0**i - 2.0 ** (-f)
            lo = -k * (hi if overflow == "SAT_SYM" else 2.0**i)
            xf = np.clip(xf, lo, hi)
        s = xf * 2.0**f
        if round_mode == "TRN":
            q = np.floor(s)
        elif round_mode == "RND":
            q = np.floor(s + 0.5)
        else:
            q = np.round(s)
        q = q.astype(np.int64)

    if overflow == "WRAP":
        w = np.where(live, width, 1)
        bias = np.where(live, k << np.maximum(w - 1, 0), 0)
        period = np.ones_like(w) << w
        if q.dtype == object:
            period, bias = period.astype(object), bias.astype(object)
        q = (q + bias) % period - bias
    q = np.where(live, q, 0)
    if q.dtype == object and _fits_int64(abs_bits(q) + int((out_frac - f[live]).max(initial=0))):
        q = q.astype(np.int64)
    return Fixed(shl(q, np.where(live, out_frac - f, 0)), out_frac)


def _saturate(m: np.ndarray, k, i, f, scale: int, overflow: str) -> np.ndarray:
    """Clip mantissas at `scale` to the quantizer's range (SAT or SAT_SYM)."""
    top = _pow2_like(i + scale, m.dtype)
    hi = top - _pow2_like(scale - f, m.dtype)
    lo = -k * (hi if overflow == "SAT_SYM" else top)
    return np.minimum(np.maximum(m, lo), hi) if m.dtype == object else np.clip(m, lo, hi)


def _pow2_like(e: np.ndarray, dtype) -> np.ndarray:
    e = np.maximum(np.asarray(e, dtype=np.int64), 0)
    if dtype == object or (e.size and e.max() >= 62):
        return 2 ** e.astype(object)
    return np.left_shift(np.int64(1), e)


def wrap(m: np.ndarray, width: int, signed: bool) -> np.ndarray:
    """Exact mantissas stored in a `width`-bit word (two's complement wrap, as hardware does)."""
    if m.dtype != object and width < 62:
        m = m & ((1 << width) - 1)
        return m - ((m >> (width - 1)) << width) if signed else m
    m = m.astype(object) % (1 << width)
    return m - (m >= (1 << (width - 1))) * (1 << width) if signed else m


# -- interval arithmetic ------------------------------------------------------------------

@dataclass(frozen=True)
class Ranges:
    """Exact value ranges: the value is m * 2^-frac for some integer m in [lo, hi].

    The fields are either ints (one scalar) or arrays (per element; lo, hi as object arrays).
    `lo == hi` is a known constant."""

    frac: object
    lo: object
    hi: object

    def __len__(self) -> int:
        return len(self.frac)

    def constant(self):
        return self.lo == self.hi

    def at(self, frac) -> tuple:
        """(lo, hi) at a finer scale `frac` >= frac (exact)."""
        s = pow2(frac - self.frac) if _scalar(frac, self.frac) else pow2(np.asarray(frac) - self.frac)
        return self.lo * s, self.hi * s

    def scaled(self, frac: int) -> tuple:
        return self.at(frac)


def of_format(k, i, f, overflow: str = "WRAP") -> Ranges:
    """Every value a format holds."""
    lo, hi = format_bounds(k, i, f, overflow)
    live = k + i + f > 0 if _scalar(k, i, f) else np.asarray(k) + np.asarray(i) + np.asarray(f) > 0
    return Ranges(_where(live, f, 0), lo, hi)


def _aligned(a: Ranges, b: Ranges):
    f = _max(a.frac, b.frac)
    return (f, *a.at(f), *b.at(f))


def add(a: Ranges, b: Ranges) -> Ranges:
    f, alo, ahi, blo, bhi = _aligned(a, b)
    return Ranges(f, alo + blo, ahi + bhi)


def sub(a: Ranges, b: Ranges) -> Ranges:
    f, alo, ahi, blo, bhi = _aligned(a, b)
    return Ranges(f, alo - bhi, ahi - blo)


def neg(a: Ranges) -> Ranges:
    return Ranges(a.frac, -a.hi, -a.lo)


def shift(a: Ranges, s) -> Ranges:
    """a * 2^s: the mantissas stay, the grid moves."""
    return Ranges(a.frac - s, a.lo, a.hi)


def maximum(a: Ranges, b: Ranges) -> Ranges:
    f, alo, ahi, blo, bhi = _aligned(a, b)
    return Ranges(f, _max(alo, blo), _max(ahi, bhi))


def minimum(a: Ranges, b: Ranges) -> Ranges:
    f, alo, ahi, blo, bhi = _aligned(a, b)
    return Ranges(f, _min(alo, blo), _min(ahi, bhi))


def relu(a: Ranges) -> Ranges:
    zero = 0 if _scalar(a.lo) else _obj(np.zeros(np.shape(a.lo), dtype=np.int64))
    return Ranges(a.frac, _max(a.lo, zero), _max(a.hi, zero))


def mul(a: Ranges, b: Ranges) -> Ranges:
    """a * b for independent a, b: the extremes are among the corner products."""
    corners = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
    lo, hi = corners[0], corners[0]
    for c in corners[1:]:
        lo, hi = _min(lo, c), _max(hi, c)
    return Ranges(a.frac + b.frac, lo, hi)


def quantized(x: Ranges | None, k, i, f, round_mode: str, overflow: str) -> Ranges:
    """Ranges after HGQ's quantizer; `x=None` is an unbounded (float) input."""
    if _scalar(k, i, f):
        r = quantized(None if x is None else Ranges(np.array([x.frac]), _obj([x.lo]), _obj([x.hi])),
                      [k], [i], [f], round_mode, overflow)
        return Ranges(int(r.frac[0]), int(r.lo[0]), int(r.hi[0]))
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    live = k + i + f > 0
    i = np.maximum(i, -f)
    tlo, thi = format_bounds(k, i, f, overflow)
    frac = np.where(live, f, 0)
    if x is None:
        return Ranges(frac, tlo, thi)
    up = x.frac <= f
    s = pow2(np.where(up, f - x.frac, 0))
    d = np.where(up, 0, x.frac - f)
    lo = np.where(up, x.lo * s, round_shift(_obj(x.lo), d, round_mode))
    hi = np.where(up, x.hi * s, round_shift(_obj(x.hi), d, round_mode))
    fits = (lo >= tlo) & (hi <= thi)
    if overflow == "WRAP":
        # values on a grid no finer than the wrap's modulus 2^(k+i) all wrap to 0
        void = up & (x.frac + i + k <= 0)
        lo, hi = np.where(fits | void, lo, tlo), np.where(fits | void, hi, thi)
        lo, hi = np.where(void, 0, lo), np.where(void, 0, hi)
    else:
        lo = np.minimum(np.maximum(lo, tlo), thi)
        hi = np.minimum(np.maximum(hi, tlo), thi)
    zero = _obj(np.zeros(len(f), dtype=np.int64))
    return Ranges(frac, _obj(np.where(live, lo, zero)), _obj(np.where(live, hi, zero)))


def quantizer_is_identity(x: Ranges, k, i, f, overflow: str):
    """Per element: the quantizer changes nothing (its input is on the grid already, and in range)."""
    if _scalar(k, i, f):
        one = Ranges(np.array([x.frac]), _obj([x.lo]), _obj([x.hi]))
        return bool(quantizer_is_identity(one, [k], [i], [f], overflow)[0])
    k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
    live = k + i + f > 0
    i = np.maximum(i, -f)
    tlo, thi = format_bounds(k, i, f, overflow)
    s = pow2(np.maximum(f - x.frac, 0))
    fits = (x.frac <= f) & (x.lo * s >= tlo) & (x.hi * s <= thi)
    return np.where(live, fits, (x.lo == 0) & (x.hi == 0))


def gather(x: Ranges, index) -> Ranges:
    """Ranges at `index` (flat, any shape); -1 entries are the constant 0 (padding)."""
    index = np.asarray(index)
    pad = index < 0
    safe = np.where(pad, 0, index)
    zero = _obj(np.zeros(index.shape, dtype=np.int64))
    if not pad.any():
        return Ranges(x.frac[safe], x.lo[safe], x.hi[safe])
    return Ranges(np.where(pad, 0, x.frac[safe]), np.where(pad, zero, x.lo[safe]), np.where(pad, zero, x.hi[safe]))


def concat(parts: list[Ranges]) -> Ranges:
    """The ranges of a flat concatenation, in order."""
    return Ranges(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("frac", "lo", "hi")))


_NO_FRAC = np.iinfo(np.int64).min // 4  # the grid of a term that is always 0


def linear(x: Ranges, wm, we, bm=None, be=None) -> Ranges:
    """Exact ranges of x·W + b over the box x (W = wm·2^we, b = bm·2^be; wm, bm Python ints)."""
    n_in, n_out = wm.shape
    nz = wm != 0
    fw = np.where(nz, -we, _NO_FRAC)
    term_frac = np.where(nz, x.frac[:, None] + fw, _NO_FRAC)
    frac = term_frac.max(axis=0, initial=_NO_FRAC)
    if bm is not None:
        frac = np.maximum(frac, np.where(bm != 0, -be, _NO_FRAC))
    frac = np.where(frac < _NO_FRAC // 2, 0, frac)
    if n_in:
        fx_max = int(x.frac.max())
        fw_max = int(fw[nz].max()) if nz.any() else 0
    else:
        fx_max = fw_max = 0
    s = fx_max + fw_max
    xlo, xhi = x.at(fx_max)
    w_int = np.where(nz, _obj(wm) * pow2(np.where(nz, we + fw_max, 0)), 0)
    a, b = xlo[:, None] * w_int, xhi[:, None] * w_int
    lo = np.minimum(a, b).sum(axis=0) if n_in else _obj(np.zeros(n_out, dtype=np.int64))
    hi = np.maximum(a, b).sum(axis=0) if n_in else _obj(np.zeros(n_out, dtype=np.int64))
    if bm is not None:
        bnz = bm != 0
        s2 = max(s, int((-be[bnz]).max())) if bnz.any() else s
        lo, hi = lo * (2 ** (s2 - s)), hi * (2 ** (s2 - s))
        bias = np.where(bnz, _obj(bm) * pow2(np.where(bnz, be + s2, 0)), 0)
        lo, hi, s = lo + bias, hi + bias, s2
    div = pow2(s - frac)
    return Ranges(frac, _obj(lo // div), _obj(hi // div))


def linear_windows(x: Ranges, windows, wm, we, bm=None, be=None) -> Ranges:
    """The same linear map applied to every window of x (a convolution): output q*C + c."""
    return concat([linear(gather(x, row), wm, we, bm, be) for row in windows])


def window_max(x: Ranges, windows) -> Ranges:
    """max over each window of x (-1 entries are ignored)."""
    frac, lo, hi = [], [], []
    for row in windows:
        g = gather(x, row[row >= 0])
        f = int(g.frac.max())
        glo, ghi = g.at(f)
        frac.append(f)
        lo.append(max(glo))
        hi.append(max(ghi))
    return Ranges(np.array(frac, dtype=np.int64), _obj(lo), _obj(hi))


def _table_keys(x: Ranges, in_lo, in_frac) -> tuple[np.ndarray, np.ndarray]:
    """Per element, the first and last table index the input's range reaches (key = the
    mantissa on the in_frac grid minus in_lo)."""
    first, last = [], []
    for f, lo, hi, base, fin in zip(x.frac, x.lo, x.hi, in_lo, in_frac, strict=True):
        d = int(fin) - int(f)  # the input's values are on its own grid: exact either way
        lo, hi = (int(lo) << d, int(hi) << d) if d >= 0 else (int(lo) >> -d, int(hi) >> -d)
        first.append(lo - int(base))
        last.append(hi - int(base))
    return np.array(first, dtype=np.int64), np.array(last, dtype=np.int64)


def table(x: Ranges, in_lo, in_frac, out_frac, entries) -> Ranges:
    """Exact ranges of a lookup table per element: min and max over the entries x reaches."""
    first, last = _table_keys(x, in_lo, in_frac)
    t = entries.shape[1]
    first, last = np.clip(first, 0, t - 1), np.clip(last, 0, t - 1)
    lo = [int(row[a:b + 1].min()) for row, a, b in zip(entries, first, last, strict=True)]
    hi = [int(row[a:b + 1].max()) for row, a, b in zip(entries, first, last, strict=True)]
    return Ranges(np.asarray(out_frac, dtype=np.int64), _obj(lo), _obj(hi))


def envelope_of(r: Ranges) -> tuple[int, int, int]:
    """(k, i, f) of the narrowest single format holding every element's exact range."""
    if len(r) == 0 or all(lo == hi == 0 for lo, hi in zip(r.lo, r.hi)):
        return 0, 0, 0
    f = int(np.max(r.frac))
    lo, hi = r.at(f)
    return format_of_range(int(min(lo)), int(max(hi)), f)


# -- a mean over a window that is not a power of two ---------------------------------------

def quantize_ratio(num: np.ndarray, den: int, frac: int, k: int, i: int, f: int, round_mode: str,
                   overflow: str) -> np.ndarray:
    """Mantissas (at f) of HGQ2's quantizer applied to the exact rationals num * 2^-frac / den."""
    num = _obj(num)
    top, bottom = num * 2 ** max(f - frac, 0), den * 2 ** max(frac - f, 0)
    q = top // bottom
    rem = top - q * bottom
    if round_mode == "RND":
        q = q + (2 * rem >= bottom)
    elif round_mode == "RND_CONV":
        q = q + ((2 * rem > bottom) | ((2 * rem == bottom) & (q % 2 == 1)))
    return _quantized_at(Fixed(_obj(q), f), k, i, f, "TRN", overflow)  # on the grid: overflow only


def mean_multiplier(elements: list[tuple[int, int, int, int, int]], frac: int, den: int, round_mode: str,
                    overflow: str, max_bits: int = 40) -> tuple[int, int, int] | None:
    """(c, d, p): a constant c * 2^-p and an offset d * 2^-(p + frac) such that HGQ2's quantizer
    gives the same result on s * 2^-frac * c * 2^-p + d * 2^-(p + frac) as on the mean
    s * 2^-frac / den, for every element (lo, hi, k, i, f) and every integer s in [lo, hi]
    (checked on each); None if no p up to max_bits does. c is 1/den rounded up; d lifts
    negative sums back above their mean."""
    cases = []
    for lo, hi, k, i, f in sorted(set(elements)):
        s = _obj(np.arange(lo, hi + 1, dtype=np.int64))
        cases.append((s, k, i, f, quantize_ratio(s, den, frac, k, i, f, round_mode, overflow)))
    lowest = min((lo for lo, *_ in elements), default=0)
    for p in range(8, max_bits + 1):
        c = -(-(1 << p) // den)
        d = -(-max(-lowest, 0) * (c * den - (1 << p)) // den)
        if all((_quantized_at(Fixed(s * c + d, p + frac), k, i, f, round_mode, overflow) == want).all()
               for s, k, i, f, want in cases):
            return c, d, p
    return None


def _quantized_at(x: Fixed, k: int, i: int, f: int, round_mode: str, overflow: str) -> np.ndarray:
    """HGQ2's quantizer on x, as mantissas at f."""
    q = quantize(x, [k], [i], [f], round_mode, overflow)
    m = _obj(q.mantissa)
    return m * 2 ** (f - q.frac) if q.frac <= f else m // 2 ** (q.frac - f)
