"""Bit-exact NumPy interpreter for the `hgq` dialect: one `@impl` per op (xDSL interpreter).

Every value is a batch: the model inputs float arrays (batch, n), every other value
exact `Fixed` data (batch, n).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.interpreters.func import FuncFunctions

from hgq_mlir.dialects import hgq
from hgq_mlir.dialects.arrays import attr_array
from hgq_mlir.fixed import Fixed, abs_bits, const_value, quantize, shl


def find_model(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp):
            return op
    raise ValueError("module holds no func.func model")


def run_hgq(module: ModuleOp, inputs: Mapping[str, np.ndarray] | list[np.ndarray]) -> dict[str, Fixed]:
    """Interpret the model on a batch; returns each output port's exact values.

    `inputs` maps each input port to its data, or lists the data in input order."""
    functions = HgqFunctions(inputs)
    interpreter = Interpreter(module)
    interpreter.register_implementations(functions)
    interpreter.register_implementations(FuncFunctions())
    interpreter.run_ssacfg_region(find_model(module).body, ())
    return functions.outputs


@register_impls
@dataclass
class HgqFunctions(InterpreterFunctions):
    """The hgq ops on NumPy batches; `hgq.input` reads `inputs`, `hgq.output` writes `outputs`."""

    inputs: Mapping[str, np.ndarray] | list[np.ndarray] = field(default_factory=dict)
    outputs: dict[str, Fixed] = field(default_factory=dict)
    _n_input: int = 0

    @impl(hgq.InputOp)
    def run_input(self, interpreter: Interpreter, op: hgq.InputOp, args: PythonValues) -> PythonValues:
        data = self.inputs[op.port.data] if isinstance(self.inputs, Mapping) else self.inputs[self._n_input]
        self._n_input += 1
        return (np.asarray(data, dtype=np.float64).reshape(len(data), -1),)

    @impl(hgq.OutputOp)
    def run_output(self, interpreter: Interpreter, op: hgq.OutputOp, args: PythonValues) -> PythonValues:
        self.outputs[op.port.data] = args[0]
        return ()

    @impl(hgq.QuantizeOp)
    def run_quantize(self, interpreter: Interpreter, op: hgq.QuantizeOp, args: PythonValues) -> PythonValues:
        return (quantize(args[0], *op.kif(), op.round.data, op.overflow.data),)

    @impl(hgq.ConstOp)
    def run_const(self, interpreter: Interpreter, op: hgq.ConstOp, args: PythonValues) -> PythonValues:
        return (const_value(*op.values()),)

    @impl(hgq.DenseOp)
    def run_dense(self, interpreter: Interpreter, op: hgq.DenseOp, args: PythonValues) -> PythonValues:
        return (dense(*args),)

    @impl(hgq.ConvOp)
    def run_conv(self, interpreter: Interpreter, op: hgq.ConvOp, args: PythonValues) -> PythonValues:
        return (conv(args[0], args[1], args[2] if len(args) > 2 else None, attr_array(op.patches)),)

    @impl(hgq.MaxPoolOp)
    def run_maxpool(self, interpreter: Interpreter, op: hgq.MaxPoolOp, args: PythonValues) -> PythonValues:
        return (maxpool(args[0], attr_array(op.windows)),)

    @impl(hgq.ReluOp)
    def run_relu(self, interpreter: Interpreter, op: hgq.ReluOp, args: PythonValues) -> PythonValues:
        return (Fixed(np.maximum(args[0].mantissa, 0), args[0].frac),)

    @impl(hgq.AddOp)
    def run_add(self, interpreter: Interpreter, op: hgq.AddOp, args: PythonValues) -> PythonValues:
        return (_elementwise(np.add, *args),)

    @impl(hgq.SubOp)
    def run_sub(self, interpreter: Interpreter, op: hgq.SubOp, args: PythonValues) -> PythonValues:
        return (_elementwise(np.subtract, *args),)

    @impl(hgq.MaxOp)
    def run_max(self, interpreter: Interpreter, op: hgq.MaxOp, args: PythonValues) -> PythonValues:
        return (_elementwise(np.maximum, *args),)

    @impl(hgq.MinOp)
    def run_min(self, interpreter: Interpreter, op: hgq.MinOp, args: PythonValues) -> PythonValues:
        return (_elementwise(np.minimum, *args),)

    @impl(hgq.MulOp)
    def run_mul(self, interpreter: Interpreter, op: hgq.MulOp, args: PythonValues) -> PythonValues:
        a, b = args
        x, y = a.mantissa, b.mantissa
        if abs_bits(x) + abs_bits(y) >= 62:
            x, y = x.astype(object), y.astype(object)
        return (Fixed(x * y, a.frac + b.frac),)

    @impl(hgq.ConcatOp)
    def run_concat(self, interpreter: Interpreter, op: hgq.ConcatOp, args: PythonValues) -> PythonValues:
        f = max(a.frac for a in args)
        return (Fixed(np.concatenate([a.at_frac(f) for a in args], axis=1), f),)

    @impl(hgq.GatherOp)
    def run_gather(self, interpreter: Interpreter, op: hgq.GatherOp, args: PythonValues) -> PythonValues:
        x, index = args[0], attr_array(op.index)
        if not isinstance(x, Fixed):  # model input values, before their quantizers
            return (x[:, index],)
        return (Fixed(x.mantissa[:, index], x.frac),)

    @impl(hgq.LutOp)
    def run_lut(self, interpreter: Interpreter, op: hgq.LutOp, args: PythonValues) -> PythonValues:
        return (lut(args[0], *op.arrays()),)


def _elementwise(fn, a: Fixed, b: Fixed) -> Fixed:
    f = max(a.frac, b.frac)
    return Fixed(fn(a.at_frac(f), b.at_frac(f)), f)


def dense(x: Fixed, w: Fixed, b: Fixed | None = None) -> Fixed:
    frac = x.frac + w.frac
    xm, wm = x.mantissa, w.mantissa
    bits = abs_bits(xm) + abs_bits(wm) + int(np.ceil(np.log2(max(wm.shape[0], 1)))) + 1
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
    return Fixed(shl(values, f - out_frac), f)


def maxpool(x: Fixed, windows: np.ndarray) -> Fixed:
    g = gather(x, windows)
    lowest = g.min() if g.size else 0
    g = np.where(windows[None] < 0, lowest, g)  # padding never wins
    return Fixed(g.max(axis=2), x.frac)
