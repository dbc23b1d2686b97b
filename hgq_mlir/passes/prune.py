"""`hgq-prune`: remove everything HGQ trained away, to a fixed point across layers.

- weights whose quantized integer value is 0 (zero bits or rounded to zero) carry no logic;
- an activation element with a zero-width quantizer is the constant 0;
- a dense input element that is a known constant (its range is one value: a zero-width
  quantizer, a neuron whose weights are all pruned, a ReLU that is never positive) is
  folded, exactly, into the layer's bias, and its row of weights is dropped;
- an element nothing downstream reads is dead: its quantizer becomes zero-width and its
  column of weights and its bias are dropped, which frees its adders;
- model input elements nothing depends on disappear from the RTL ports.

Per-layer counts go to the function's `hgq.prune` attribute (a dictionary of integers), for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from hgq_mlir.dialects import hgq
from hgq_mlir.dialects.arrays import attr_array
from hgq_mlir.passes.tensor_model import Model


@dataclass(frozen=True)
class HgqPrune(ModulePass):
    name = "hgq-prune"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for f in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            if any(isinstance(o, hgq.DenseOp) for o in f.body.ops):
                model = Model.of(f)
                stats = prune(model)
                new = model.rebuild()
                from hgq_mlir.backend.attrs import to_attr

                new.attributes["hgq.prune"] = to_attr(stats)  # a dictionary of integers
                model.replace(new)


def _layer(op) -> str:
    a = op.attributes.get("layer")
    return a.data if isinstance(a, StringAttr) else op.name


def prune(model: Model) -> dict:
    before = {op: (d.wm != 0).copy() for op, d in model.dense.items()}
    while _fold_constants(model) | _drop_dead(model):
        pass
    return _stats(model, before)


def _fold_constants(model: Model) -> bool:
    """Fold known-constant dense inputs into the bias (exactly); True if anything changed."""
    changed = False
    ranges = model.ranges()
    for op, d in model.dense.items():
        x = ranges[op.input]
        rows = x.constant() & (d.wm != 0).any(axis=1)
        if not rows.any():
            continue
        for j in np.flatnonzero(rows):
            c_m, c_f = int(x.lo[j]), int(x.frac[j])  # the constant is c_m * 2^-c_f
            for col in np.flatnonzero(d.wm[j] != 0):
                d.bm[col], d.be[col] = _add_exact(d.bm[col], int(d.be[col]), c_m * int(d.wm[j, col]), int(d.we[j, col]) - c_f)
            d.wm[j] = 0
        changed = True
    return changed


def _add_exact(m1: int, e1: int, m2: int, e2: int) -> tuple[int, int]:
    """(m1·2^e1 + m2·2^e2) as an odd mantissa and exponent (0, 0 for zero)."""
    if m1 == 0:
        m, e = m2, e2
    elif m2 == 0:
        m, e = m1, e1
    else:
        e = min(e1, e2)
        m = (m1 << (e1 - e)) + (m2 << (e2 - e))
    if m == 0:
        return 0, 0
    while m % 2 == 0:
        m //= 2
        e += 1
    return m, e


Liveness = Callable[[Model, Operation, "np.ndarray | None", Callable], bool]
LIVENESS: dict[type[Operation], Liveness] = {}


def liveness(*op_types: type[Operation]):
    """Register the backward liveness rule of `op_types`: rule(model, op, out, mark) marks the
    operand elements the live result elements `out` read (mark(value, mask)), may drop the
    logic of dead ones, and returns True if it changed the model."""

    def register(rule: Liveness) -> Liveness:
        for t in op_types:
            LIVENESS[t] = rule
        return rule

    return register


def _drop_dead(model: Model) -> bool:
    """Backward liveness from the outputs; dead elements lose their logic. True if changed."""
    live: dict = {}
    changed = False

    def mark(value, mask) -> None:
        live[value] = live[value] | mask if value in live else mask.copy()

    for op in reversed(model.ops()):
        out = None
        if op.results:
            out = live.get(op.results[0], np.zeros(_size(op.results[0]), dtype=bool))
        changed |= LIVENESS.get(type(op), _reads_everything)(model, op, out, mark)
    return changed


def _size(value) -> int:
    return value.type.get_shape()[0]


def _reads_everything(model: Model, op: Operation, out, mark) -> bool:
    """An op without a liveness rule: everything it reads is live."""
    for v in op.operands:
        mark(v, np.ones(_size(v), dtype=bool))
    return False


liveness(hgq.OutputOp)(_reads_everything)


@liveness(hgq.ReluOp, hgq.LutOp)
def _elementwise_unary_liveness(model: Model, op, out, mark) -> bool:
    mark(op.input, out)
    return False


@liveness(*hgq.ELEMENTWISE)
def _elementwise_liveness(model: Model, op, out, mark) -> bool:
    mark(op.lhs, out)
    mark(op.rhs, out)
    return False


@liveness(hgq.ConcatOp)
def _concat_liveness(model: Model, op: hgq.ConcatOp, out, mark) -> bool:
    sizes = [_size(v) for v in op.inputs]
    for v, part in zip(op.inputs, np.split(out, np.cumsum(sizes)[:-1]), strict=True):
        mark(v, part)
    return False


@liveness(hgq.GatherOp)
def _gather_liveness(model: Model, op: hgq.GatherOp, out, mark) -> bool:
    mask = np.zeros(_size(op.input), dtype=bool)
    mask[attr_array(op.index)[out]] = True
    mark(op.input, mask)
    return False


@liveness(hgq.QuantizeOp)
def _quantize_liveness(model: Model, op: hgq.QuantizeOp, out, mark) -> bool:
    """A dead element's quantizer becomes zero-width (the constant 0)."""
    q = model.quant[op]
    alive = (q.k + q.i + q.f) > 0
    dead = alive & ~out
    if dead.any():
        q.k, q.i, q.f = (np.where(dead, 0, a) for a in (q.k, q.i, q.f))
    mark(op.input, alive & out)
    return bool(dead.any())


@liveness(hgq.ConvOp)
def _conv_liveness(model: Model, op: hgq.ConvOp, out, mark) -> bool:
    """A kernel shared by every position: nothing to drop, only liveness."""
    d = model.conv[op]
    patches = attr_array(op.patches)
    need = out.reshape(len(patches), -1)  # (positions, channels)
    rows = (d.wm != 0).astype(int) @ need.T.astype(int) > 0  # (kernel rows, positions)
    mask = np.zeros(_size(op.input) + 1, dtype=bool)
    np.logical_or.at(mask, np.where(patches.T >= 0, patches.T, -1)[rows], True)
    mark(op.input, mask[:-1])
    return False


@liveness(hgq.MaxPoolOp)
def _maxpool_liveness(model: Model, op: hgq.MaxPoolOp, out, mark) -> bool:
    windows = attr_array(op.windows)[out]
    mask = np.zeros(_size(op.input) + 1, dtype=bool)
    mask[np.where(windows >= 0, windows, -1).ravel()] = True
    mark(op.input, mask[:-1])
    return False


@liveness(hgq.DenseOp)
def _dense_liveness(model: Model, op: hgq.DenseOp, out, mark) -> bool:
    """A dead neuron loses its column of weights and its bias."""
    d = model.dense[op]
    dead_cols = ~out & ((d.wm != 0).any(axis=0) | (d.bm != 0))
    if dead_cols.any():
        d.wm[:, dead_cols] = 0
        d.bm[dead_cols] = 0
    mark(op.input, (d.wm[:, out] != 0).any(axis=1))
    return bool(dead_cols.any())


def _stats(model: Model, before: dict) -> dict:
    layers = {}
    for op, d in model.dense.items():
        name = _layer(op)
        w = op.weights.owner
        zero_bits = w.attributes.get("zero_bits")
        n_zero_bits = zero_bits.value.data if isinstance(zero_bits, IntegerAttr) else 0
        total = int(d.wm.size)
        nonzero_before = int(before[op].sum())
        kept = int((d.wm != 0).sum())
        layers[name] = {
            "weights": total,
            "kept": kept,
            "zero_bits": n_zero_bits,
            "zero_value": total - nonzero_before - n_zero_bits,
            "dead_or_folded": nonzero_before - kept,
            "neurons_removed": int((d.wm == 0).all(axis=0).sum()),  # neurons that cost no adders
        }
    inputs_removed = 0
    for op, q in model.quant.items():
        if isinstance(op.input.owner, hgq.InputOp):
            inputs_removed += int((((q.k + q.i + q.f) <= 0)).sum())
    return {"layers": layers, "inputs_removed": inputs_removed}
