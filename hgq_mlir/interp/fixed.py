"""Exact fixed-point arithmetic on integer mantissas (NumPy), shared by the interpreters.

A `Fixed` array is `mantissa * 2^-frac` with one `frac` for the whole array.
Mantissas are int64 while the values provably fit, Python ints (object arrays)
beyond that, so no result is ever silently truncated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fixed:
    mantissa: np.ndarray
    frac: int

    def to_float(self) -> np.ndarray:
        return np.asarray(self.mantissa, dtype=np.float64) * 2.0 ** (-self.frac)

    def at_frac(self, frac: int) -> np.ndarray:
        """Mantissas at a finer scale `frac` >= self.frac (exact)."""
        assert frac >= self.frac
        return _shl(self.mantissa, frac - self.frac)


def _fits_int64(bits: float) -> bool:
    return bits < 62


def _abs_bits(m: np.ndarray) -> int:
    if m.size == 0:
        return 0
    return int(max(abs(int(m.max())), abs(int(m.min())))).bit_length()


def _shl(m: np.ndarray, s) -> np.ndarray:
    s_max = int(np.max(s)) if np.size(s) else 0
    if m.dtype != object and not _fits_int64(_abs_bits(m) + s_max):
        m = m.astype(object)
    if m.dtype == object:
        return m * (np.ones_like(m) * (2 ** np.asarray(s, dtype=object)))
    return m << np.asarray(s, dtype=np.int64)


def round_shift(m: np.ndarray, d: np.ndarray, mode: str) -> np.ndarray:
    """m * 2^-d rounded to an integer by `mode`; d >= 0 elementwise (broadcast)."""
    d = np.broadcast_to(np.asarray(d, dtype=np.int64), m.shape)
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
    if q.dtype == object and _fits_int64(_abs_bits(q) + int((out_frac - f[live]).max(initial=0))):
        q = q.astype(np.int64)
    return Fixed(_shl(q, np.where(live, out_frac - f, 0)), out_frac)


def _saturate(m: np.ndarray, k, i, f, scale: int, overflow: str) -> np.ndarray:
    """Clip mantissas at `scale` to the quantizer's range (SAT or SAT_SYM)."""
    top = _pow2(i + scale, m.dtype)
    hi = top - _pow2(scale - f, m.dtype)
    lo = -k * (hi if overflow == "SAT_SYM" else top)
    return np.minimum(np.maximum(m, lo), hi) if m.dtype == object else np.clip(m, lo, hi)


def _pow2(e: np.ndarray, dtype) -> np.ndarray:
    e = np.maximum(np.asarray(e, dtype=np.int64), 0)
    if dtype == object or (e.size and e.max() >= 62):
        return 2 ** e.astype(object)
    return np.left_shift(np.int64(1), e)
