"""A mutable NumPy view of an `hgq` model, its per-op range rules and its rebuild.

Passes edit the arrays (quantizer k/i/f, weights, biases), then `rebuild` writes a new
function body once, every result type set from the exact ranges (`hgq_mlir.fixed`
interval arithmetic). Keeping the edits out of the IR keeps the passes fast on large layers.

Each op kind has its rules here, found by op class:
- `@loader(Op)`: reads the op's editable arrays into the model (ops with weights or k/i/f);
- `@range_rule(Op)`: the exact ranges of the op's result from its operands' ranges;
- `@rebuild_rule(Op)`: writes the op with the edited arrays and its exact result type
  (an op without one is cloned as it is, with its result type unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.ir import Block, Operation, Region, SSAValue

from hgq_mlir import fixed
from hgq_mlir.dialects import hgq
from hgq_mlir.dialects.arrays import attr_array
from hgq_mlir.fixed import Ranges


@dataclass
class Quant:
    k: np.ndarray
    i: np.ndarray
    f: np.ndarray
    round: str
    overflow: str


@dataclass
class Dense:
    wm: np.ndarray
    we: np.ndarray
    bm: np.ndarray
    be: np.ndarray


Loader = Callable[["Model", Operation], None]
RangeRule = Callable[["Model", Operation, dict[SSAValue, Ranges]], Ranges]
RebuildRule = Callable[["Model", Operation, "_Rebuild"], None]

LOADERS: dict[type[Operation], Loader] = {}
RANGE_RULES: dict[type[Operation], RangeRule] = {}
REBUILD_RULES: dict[type[Operation], RebuildRule] = {}


def _register(table: dict, op_types: tuple[type[Operation], ...]):
    def decorate(rule):
        for t in op_types:
            table[t] = rule
        return rule

    return decorate


def loader(*op_types: type[Operation]):
    return _register(LOADERS, op_types)


def range_rule(*op_types: type[Operation]):
    return _register(RANGE_RULES, op_types)


def rebuild_rule(*op_types: type[Operation]):
    return _register(REBUILD_RULES, op_types)


@dataclass
class Model:
    func: func.FuncOp
    quant: dict[Operation, Quant] = field(default_factory=dict)
    dense: dict[Operation, Dense] = field(default_factory=dict)
    conv: dict[Operation, Dense] = field(default_factory=dict)  # the kernel, shared by positions
    bypass: set[Operation] = field(default_factory=set)  # ops replaced by their (first) operand

    @staticmethod
    def of(model: func.FuncOp) -> Model:
        m = Model(model)
        for op in model.body.ops:
            if (load := LOADERS.get(type(op))) is not None:
                load(m, op)
        return m

    def ops(self) -> list[Operation]:
        return list(self.func.body.ops)

    def ranges(self) -> dict[SSAValue, Ranges]:
        """Forward interval analysis over the current arrays."""
        r: dict[SSAValue, Ranges] = {}
        for op in self.func.body.ops:
            if op in self.bypass:
                r[op.results[0]] = r[op.operands[0]]
            elif (rule := RANGE_RULES.get(type(op))) is not None:
                r[op.results[0]] = rule(self, op, r)
        return r

    def rebuild(self) -> func.FuncOp:
        """A new function with the edited arrays and exact result types."""
        b = _Rebuild(Block(), {}, self.ranges())
        for op in self.func.body.ops:
            if op in self.bypass:
                b.vmap[op.results[0]] = b.vmap[op.operands[0]]
            elif (rule := REBUILD_RULES.get(type(op))) is not None:
                rule(self, op, b)
            else:
                b.add(op.clone(value_mapper=b.vmap), op)
        new = func.FuncOp(self.func.sym_name.data, ((), ()), Region(b.block))
        for key, attr in self.func.attributes.items():
            if key not in new.attributes:
                new.attributes[key] = attr
        return new

    def replace(self, new: func.FuncOp) -> None:
        parent = self.func.parent_block()
        parent.insert_op_before(new, self.func)
        self.func.detach()
        self.func.erase(safe_erase=False)
        self.func = new


@dataclass
class _Rebuild:
    """The function body being written: new ops, the old -> new value map, exact ranges."""

    block: Block
    vmap: dict[SSAValue, SSAValue]
    ranges: dict[SSAValue, Ranges]

    def add(self, op: Operation, old: Operation | None = None) -> Operation:
        """Append `op`; with `old`, it takes old's attributes and stands for old's results."""
        if old is not None:
            for key, attr in old.attributes.items():
                op.attributes[key] = attr
            for a, b in zip(old.results, op.results, strict=True):
                self.vmap[a] = b
        self.block.add_op(op)
        return op

    def result_type(self, old: Operation):
        return envelope_type(self.ranges[old.results[0]])


def envelope_type(r: Ranges):
    """tensor<N x !hgq.fixed<k,i,f>> holding every element's exact range."""
    return hgq.fixed_tensor([len(r)], *fixed.envelope_of(r))


# -- hgq.quantize -------------------------------------------------------------------------

@loader(hgq.QuantizeOp)
def load_quantize(m: Model, op: hgq.QuantizeOp) -> None:
    m.quant[op] = Quant(*op.kif(), op.round.data, op.overflow.data)


@range_rule(hgq.QuantizeOp)
def quantize_ranges(m: Model, op: hgq.QuantizeOp, r) -> Ranges:
    q = m.quant[op]
    return fixed.quantized(r.get(op.input), q.k, q.i, q.f, q.round, q.overflow)


@rebuild_rule(hgq.QuantizeOp)
def rebuild_quantize(m: Model, op: hgq.QuantizeOp, b: _Rebuild) -> None:
    q = m.quant[op]
    b.add(hgq.QuantizeOp(b.vmap[op.input], q.k, q.i, q.f, q.round, q.overflow), op)


# -- hgq.const: re-created next to its users ------------------------------------------------

@rebuild_rule(hgq.ConstOp)
def rebuild_const(m: Model, op: hgq.ConstOp, b: _Rebuild) -> None:
    pass


# -- hgq.dense and hgq.conv: weights and bias from hgq.const ----------------------------------

@loader(hgq.DenseOp, hgq.ConvOp)
def load_weights(m: Model, op: hgq.DenseOp | hgq.ConvOp) -> None:
    w = op.weights.owner
    if not isinstance(w, hgq.ConstOp):
        raise ValueError(f"{op.name}: weights must come from hgq.const")
    wm, we = w.values()
    if op.bias is not None:
        c = op.bias.owner
        if not isinstance(c, hgq.ConstOp):
            raise ValueError(f"{op.name}: bias must come from hgq.const")
        bm, be = c.values()
    else:
        bm = np.zeros(wm.shape[1], dtype=np.int64)
        be = np.zeros(wm.shape[1], dtype=np.int64)
    arrays = Dense(wm.astype(object), we.copy(), bm.astype(object), be.copy())
    (m.conv if isinstance(op, hgq.ConvOp) else m.dense)[op] = arrays


@range_rule(hgq.DenseOp)
def dense_ranges(m: Model, op: hgq.DenseOp, r) -> Ranges:
    d = m.dense[op]
    return fixed.linear(r[op.input], d.wm, d.we, d.bm, d.be)


@range_rule(hgq.ConvOp)
def conv_ranges(m: Model, op: hgq.ConvOp, r) -> Ranges:
    d = m.conv[op]
    return fixed.linear_windows(r[op.input], attr_array(op.patches), d.wm, d.we, d.bm, d.be)


def _weights_and_bias(op, d: Dense, b: _Rebuild) -> tuple[SSAValue, SSAValue | None]:
    w = b.add(hgq.ConstOp(d.wm, d.we), op.weights.owner)
    bias = b.add(hgq.ConstOp(d.bm, d.be)) if (d.bm != 0).any() else None
    return w.results[0], bias.results[0] if bias else None


@rebuild_rule(hgq.DenseOp)
def rebuild_dense(m: Model, op: hgq.DenseOp, b: _Rebuild) -> None:
    w, bias = _weights_and_bias(op, m.dense[op], b)
    b.add(hgq.DenseOp(b.vmap[op.input], w, bias, b.result_type(op)), op)


@rebuild_rule(hgq.ConvOp)
def rebuild_conv(m: Model, op: hgq.ConvOp, b: _Rebuild) -> None:
    w, bias = _weights_and_bias(op, m.conv[op], b)
    b.add(hgq.ConvOp(b.vmap[op.input], w, bias, attr_array(op.patches), b.result_type(op)), op)


# -- hgq.maxpool ------------------------------------------------------------------------------

@range_rule(hgq.MaxPoolOp)
def maxpool_ranges(m: Model, op: hgq.MaxPoolOp, r) -> Ranges:
    return fixed.window_max(r[op.input], attr_array(op.windows))


@rebuild_rule(hgq.MaxPoolOp)
def rebuild_maxpool(m: Model, op: hgq.MaxPoolOp, b: _Rebuild) -> None:
    b.add(hgq.MaxPoolOp(b.vmap[op.input], attr_array(op.windows), b.result_type(op)), op)


# -- hgq.relu ----------------------------------------------------------------------------------

@range_rule(hgq.ReluOp)
def relu_ranges(m: Model, op: hgq.ReluOp, r) -> Ranges:
    return fixed.relu(r[op.input])


@rebuild_rule(hgq.ReluOp)
def rebuild_relu(m: Model, op: hgq.ReluOp, b: _Rebuild) -> None:
    b.add(hgq.ReluOp(b.vmap[op.input], b.result_type(op)), op)


# -- hgq.add, sub, max, min ----------------------------------------------------------------------

@range_rule(*hgq.ELEMENTWISE)
def elementwise_ranges(m: Model, op: hgq.AddOp, r) -> Ranges:
    return op.INTERVAL(r[op.lhs], r[op.rhs])


@rebuild_rule(*hgq.ELEMENTWISE)
def rebuild_elementwise(m: Model, op: hgq.AddOp, b: _Rebuild) -> None:
    b.add(type(op)(b.vmap[op.lhs], b.vmap[op.rhs], b.result_type(op)), op)


# -- wiring: hgq.concat, hgq.gather --------------------------------------------------------------

@range_rule(hgq.ConcatOp)
def concat_ranges(m: Model, op: hgq.ConcatOp, r) -> Ranges:
    return fixed.concat([r[v] for v in op.inputs])


@range_rule(hgq.GatherOp)
def gather_ranges(m: Model, op: hgq.GatherOp, r) -> Ranges | None:
    x = r.get(op.input)  # None: model input elements, not quantized yet
    return None if x is None else fixed.gather(x, attr_array(op.index))


# -- hgq.lut ------------------------------------------------------------------------------------

@range_rule(hgq.LutOp)
def lut_ranges(m: Model, op: hgq.LutOp, r) -> Ranges:
    return fixed.table(r[op.input], *op.arrays())
