"""Bit-exact NumPy interpreter for the `hgq` dialect."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue

from hgq_mlir.dialects import hgq
from hgq_mlir.dialects.arrays import attr_array
from hgq_mlir.fixed import Fixed, quantize, shl as _shl


def find_model(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp):
            return op
    raise ValueError("module holds no func.func model")


def run_hgq(module: ModuleOp, inputs: Mapping[str, np.ndarray] | list[np.ndarray]) -> dict[str, Fixed]:
    """Interpret the model on a batch; returns each output port's exact values."""
    model = find_model(module)
    env: dict[SSAValue, Fixed | np.ndarray] = {}
    outputs: dict[str, Fixed] = {}
    n_input = 0
    for op in model.body.walk():
        if isinstance(op, hgq.InputOp):
            data = inputs[op.port.data] if isinstance(inputs, Mapping) else inputs[n_input]
            n_input += 1
            env[op.result] = np.asarray(data, dtype=np.float64).reshape(len(data), -1)
        elif isinstance(op, hgq.OutputOp):
            outputs[op.port.data] = env[op.input]
        elif not isinstance(op, func.ReturnOp):
            env[op.results[0]] = _eval(op, [env[v] for v in op.operands])
    return outputs


def _eval(op: Operation, args: list) -> Fixed:
    if isinstance(op, hgq.QuantizeOp):
        k, i, f = op.kif()
        return quantize(args[0], k, i, f, op.round.data, op.overflow.data)
    if isinstance(op, hgq.ConstOp):
        return const_value(*op.values())
    if isinstance(op, hgq.DenseOp):
        return dense(*args)
    if isinstance(op, hgq.ConvOp):
        return conv(args[0], args[1], args[2] if len(args) > 2 else None, attr_array(op.patches))
    if isinstance(op, hgq.MaxPoolOp):
        return maxpool(args[0], attr_array(op.windows))
    if isinstance(op, hgq.ELEMENTWISE):
        a, b = args
        f = max(a.frac, b.frac)
        x, y = a.at_frac(f), b.at_frac(f)
        fn = {hgq.AddOp: np.add, hgq.SubOp: np.subtract, hgq.MaxOp: np.maximum, hgq.MinOp: np.minimum}[type(op)]
        return Fixed(fn(x, y), f)
    if isinstance(op, hgq.ConcatOp):
        f = max(a.frac for a in args)
        return Fixed(np.concatenate([a.at_frac(f) for a in args], axis=1), f)
    if isinstance(op, hgq.GatherOp):
        return Fixed(args[0].mantissa[:, attr_array(op.index)], args[0].frac)
    if isinstance(op, hgq.LutOp):
        return lut(args[0], *op.arrays())
    if isinstance(op, hgq.ReluOp):
        x = args[0]
        return Fixed(np.maximum(x.mantissa, 0), x.frac)
    raise NotImplementedError(f"no interpreter for {op.name}")


def const_value(mantissa: np.ndarray, exponent: np.ndarray) -> Fixed:
    nz = mantissa != 0
    frac = int(-exponent[nz].min()) if nz.any() else 0
    return Fixed(_shl(mantissa, np.where(nz, exponent + frac, 0)), frac)


def dense(x: Fixed, w: Fixed, b: Fixed | None = None) -> Fixed:
    frac = x.frac + w.frac
    xm, wm = x.mantissa, w.mantissa
    bits = _bits(xm) + _bits(wm) + int(np.ceil(np.log2(max(wm.shape[0], 1)))) + 1
    if bits >= 62 or xm.dtype == object or wm.dtype == object:
        xm, wm = xm.astype(object), wm.astype(object)
    y = xm @ wm
    if b is not None:
        frac2 = max(frac, b.frac)
        y = Fixed(y, frac).at_frac(frac2) + b.at_frac(frac2)
        frac = frac2
    return Fixed(y, frac)


def gather(x: Fixed, index: np.ndarray) -> np.ndarray:
    """x's mantissas at `index` (any shape; -1 gives 0): shape (batch, *index.shape)."""
    m = np.concatenate([x.mantissa, np.zeros((x.mantissa.shape[0], 1), dtype=x.mantissa.dtype)], axis=1)
    return m[:, np.where(index < 0, m.shape[1] - 1, index)]


def conv(x: Fixed, w: Fixed, b: Fixed | None, patches: np.ndarray) -> Fixed:
    batch = x.mantissa.shape[0]
    p, k = patches.shape
    cols = Fixed(gather(x, patches).reshape(batch * p, k), x.frac)
    y = dense(cols, w, b)
    return Fixed(y.mantissa.reshape(batch, -1), y.frac)


def lut(x: Fixed, in_lo: np.ndarray, in_frac: np.ndarray, out_frac: np.ndarray, table: np.ndarray) -> Fixed:
    """Element j reads table[j] at its mantissa on the in_frac[j] grid, minus in_lo[j]."""
    m = np.asarray(x.mantissa, dtype=object)
    d = (x.frac - in_frac).astype(object)
    key = np.where(d >= 0, m // (2 ** np.maximum(d, 0)), m * (2 ** np.maximum(-d, 0)))
    index = np.clip((key - in_lo.astype(object)).astype(np.int64), 0, table.shape[1] - 1)
    f = int(out_frac.max()) if out_frac.size else 0
    values = np.take_along_axis(table.T, index, axis=0) if index.size else index
    return Fixed(_shl(values, f - out_frac), f)


def maxpool(x: Fixed, windows: np.ndarray) -> Fixed:
    g = gather(x, windows)
    lowest = g.min() if g.size else 0
    g = np.where(windows[None] < 0, lowest, g)  # padding never wins
    return Fixed(g.max(axis=2), x.frac)


def _bits(m: np.ndarray) -> int:
    if m.size == 0:
        return 0
    return max(abs(int(m.max())), abs(int(m.min()))).bit_length()
