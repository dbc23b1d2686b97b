"""Bit-exact NumPy interpreter for the `fx` dialect: one `@impl` per op (xDSL interpreter).

Every value is an int array of mantissas, one per batch row, in the value's type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.interpreters.func import FuncFunctions

from hgq_mlir.dialects import fx
from hgq_mlir.fixed import Fixed, quantize, shl, wrap


def run_fx(func_op: func.FuncOp, inputs: Mapping[str, np.ndarray]) -> dict[str, dict[int, Fixed]]:
    """Run on a batch. `inputs[port]` holds int mantissas (batch, n) in each element's format.

    Returns `{port: {index: Fixed}}` for every output element the program drives.
    """
    batch = len(next(iter(inputs.values()))) if inputs else 1
    functions = FxFunctions(inputs, batch)
    module = func_op.parent_op()
    interpreter = Interpreter(module if isinstance(module, ModuleOp) else ModuleOp([]))
    interpreter.register_implementations(functions)
    interpreter.register_implementations(FuncFunctions())
    interpreter.run_ssacfg_region(func_op.body, ())
    return functions.outputs


def _stored(m, t: fx.FixedType) -> np.ndarray:
    """Exact mantissas stored in type t (two's complement wrap, as the hardware does)."""
    return wrap(np.asarray(m), t.width, t.signed)


def _aligned(m: np.ndarray, t: fx.FixedType, f: int) -> np.ndarray:
    """Mantissas of type t at the finer grid f."""
    return shl(m, f - t.frac)


@register_impls
@dataclass
class FxFunctions(InterpreterFunctions):
    """The fx ops on NumPy batches; `fx.input` reads `inputs`, `fx.output` writes `outputs`."""

    inputs: Mapping[str, np.ndarray] = field(default_factory=dict)
    batch: int = 1
    outputs: dict[str, dict[int, Fixed]] = field(default_factory=dict)

    @impl(fx.InputOp)
    def run_input(self, interpreter: Interpreter, op: fx.InputOp, args: PythonValues) -> PythonValues:
        return (np.asarray(self.inputs[op.port.data][:, op.index.data], dtype=np.int64),)

    @impl(fx.OutputOp)
    def run_output(self, interpreter: Interpreter, op: fx.OutputOp, args: PythonValues) -> PythonValues:
        m = np.broadcast_to(args[0], (self.batch,))  # constant outputs too
        self.outputs.setdefault(op.port.data, {})[op.index.data] = Fixed(m, op.input.type.frac)
        return ()

    @impl(fx.ConstOp)
    def run_const(self, interpreter: Interpreter, op: fx.ConstOp, args: PythonValues) -> PythonValues:
        v = op.value.data
        return (np.full(self.batch, v, dtype=np.int64 if abs(v) < 2**62 else object),)

    @impl(fx.ShiftOp)
    def run_shift(self, interpreter: Interpreter, op: fx.ShiftOp, args: PythonValues) -> PythonValues:
        return args  # a change of type: the mantissas stay

    @impl(fx.RegOp)
    def run_reg(self, interpreter: Interpreter, op: fx.RegOp, args: PythonValues) -> PythonValues:
        return args  # values, not timing: a register passes its input on

    def _binary(self, fn, op, args: PythonValues) -> PythonValues:
        t = op.result.type
        a = _aligned(args[0], op.lhs.type, t.frac)
        b = _aligned(args[1], op.rhs.type, t.frac)
        return (_stored(fn(a, b), t),)

    @impl(fx.AddOp)
    def run_add(self, interpreter: Interpreter, op: fx.AddOp, args: PythonValues) -> PythonValues:
        return self._binary(np.add, op, args)

    @impl(fx.Add3Op)
    def run_add3(self, interpreter: Interpreter, op: fx.Add3Op, args: PythonValues) -> PythonValues:
        t = op.result.type
        total = 0
        for v, arg, neg in zip(op.operands, args, op.negated, strict=True):
            m = _aligned(arg, v.type, t.frac)
            total = total - m if neg else total + m
        return (_stored(total, t),)

    @impl(fx.SubOp)
    def run_sub(self, interpreter: Interpreter, op: fx.SubOp, args: PythonValues) -> PythonValues:
        return self._binary(np.subtract, op, args)

    @impl(fx.MaxOp)
    def run_max(self, interpreter: Interpreter, op: fx.MaxOp, args: PythonValues) -> PythonValues:
        return self._binary(np.maximum, op, args)

    @impl(fx.MinOp)
    def run_min(self, interpreter: Interpreter, op: fx.MinOp, args: PythonValues) -> PythonValues:
        return self._binary(np.minimum, op, args)

    @impl(fx.MulOp)
    def run_mul(self, interpreter: Interpreter, op: fx.MulOp, args: PythonValues) -> PythonValues:
        a, b = (np.asarray(v) for v in args)
        if op.lhs.type.width + op.rhs.type.width >= 62:
            a, b = a.astype(object), b.astype(object)
        return (_stored(a * b, op.result.type),)

    @impl(fx.NegOp)
    def run_neg(self, interpreter: Interpreter, op: fx.NegOp, args: PythonValues) -> PythonValues:
        return (_stored(-args[0], op.result.type),)

    @impl(fx.ReluOp)
    def run_relu(self, interpreter: Interpreter, op: fx.ReluOp, args: PythonValues) -> PythonValues:
        return (_stored(np.maximum(args[0], 0), op.result.type),)

    @impl(fx.LutOp)
    def run_lut(self, interpreter: Interpreter, op: fx.LutOp, args: PythonValues) -> PythonValues:
        table = op.entries()
        index = np.clip(np.asarray(args[0], dtype=np.int64) - op.lo.data, 0, table.size - 1)
        return (table[index],)

    @impl(fx.QuantizeOp)
    def run_quantize(self, interpreter: Interpreter, op: fx.QuantizeOp, args: PythonValues) -> PythonValues:
        t = op.result.type
        x = Fixed(np.asarray(args[0]), op.input.type.frac)
        q = quantize(x, [t.k.data], [t.i.data], [t.f.data], op.round.data, op.overflow.data)
        return (_stored(q.mantissa, t),)
