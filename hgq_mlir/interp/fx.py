"""Bit-exact NumPy interpreter for the `fx` dialect (one int array per SSA value)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from xdsl.dialects import func
from xdsl.ir import SSAValue

from hgq_mlir.dialects import fx
from hgq_mlir.fixed import Fixed, quantize


def wrap(m: np.ndarray, t: fx.FixedType) -> np.ndarray:
    """Store exact mantissas in type `t` (two's complement wrap, as the hardware does)."""
    w = t.width
    if m.dtype != object and w < 62:
        m = m & ((1 << w) - 1)
        return m - ((m >> (w - 1)) << w) if t.signed else m
    m = m.astype(object) % (1 << w)
    return m - (m >= (1 << (w - 1))) * (1 << w) if t.signed else m


def _aligned(m: np.ndarray, t: fx.FixedType, f: int) -> np.ndarray:
    s = f - t.frac
    if m.dtype != object and t.width + s >= 62:
        m = m.astype(object)
    return m << s if m.dtype != object else m * (1 << s)


def run_fx(func_op: func.FuncOp, inputs: Mapping[str, np.ndarray]) -> dict[str, dict[int, Fixed]]:
    """Run on a batch. `inputs[port]` holds int mantissas (batch, n) in each element's format.

    Returns `{port: {index: Fixed}}` for every output element the program drives.
    """
    env: dict[SSAValue, np.ndarray] = {}
    out: dict[str, dict[int, Fixed]] = {}
    batch = len(next(iter(inputs.values()))) if inputs else 1
    for op in func_op.body.ops:
        if isinstance(op, fx.InputOp):
            env[op.result] = np.asarray(inputs[op.port.data][:, op.index.data], dtype=np.int64)
        elif isinstance(op, fx.OutputOp):
            m = np.broadcast_to(env[op.input], (batch,))  # constant outputs too
            out.setdefault(op.port.data, {})[op.index.data] = Fixed(m, op.input.type.frac)
        elif isinstance(op, fx.ConstOp):
            v = op.value.data
            env[op.result] = np.full(batch, v, dtype=np.int64 if abs(v) < 2**62 else object)
        elif isinstance(op, fx.ShiftOp | fx.RegOp):
            env[op.result] = env[op.input]
        elif isinstance(op, fx.AddOp | fx.SubOp | fx.MaxOp | fx.MinOp):
            t = op.result.type
            a = _aligned(env[op.lhs], op.lhs.type, t.frac)
            b = _aligned(env[op.rhs], op.rhs.type, t.frac)
            fn = {fx.AddOp: np.add, fx.SubOp: np.subtract, fx.MaxOp: np.maximum, fx.MinOp: np.minimum}[type(op)]
            r = fn(a, b)
            env[op.result] = wrap(np.asarray(r), t)
        elif isinstance(op, fx.NegOp):
            env[op.result] = wrap(np.asarray(-env[op.input]), op.result.type)
        elif isinstance(op, fx.ReluOp):
            env[op.result] = wrap(np.maximum(env[op.input], 0), op.result.type)
        elif isinstance(op, fx.LutOp):
            table = op.entries()
            index = np.clip(np.asarray(env[op.input], dtype=np.int64) - op.lo.data, 0, table.size - 1)
            env[op.result] = table[index]
        elif isinstance(op, fx.QuantizeOp):
            t = op.result.type
            x = Fixed(np.asarray(env[op.input]), op.input.type.frac)
            q = quantize(x, [t.k.data], [t.i.data], [t.f.data], op.round.data, op.overflow.data)
            env[op.result] = wrap(np.asarray(q.mantissa), t)
        elif isinstance(op, func.ReturnOp):
            pass
        else:
            raise NotImplementedError(f"no fx interpreter for {op.name}")
    return out
