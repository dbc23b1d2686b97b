"""A mutable, NumPy-level view of an `hgq` model, shared by the hgq passes.

Passes edit the arrays (quantizer k/i/f, weights, biases), then `rebuild` writes
a new function body once, with every result type set from the exact ranges.
Keeping the edits out of the IR keeps the passes fast on large layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.ir import Block, Operation, Region, SSAValue

from hgq_mlir import analysis
from hgq_mlir.dialects import hgq
from hgq_mlir.dialects.arrays import attr_array


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
            if isinstance(op, hgq.QuantizeOp):
                m.quant[op] = Quant(*op.kif(), op.round.data, op.overflow.data)
            elif isinstance(op, hgq.DenseOp | hgq.ConvOp):
                w = op.weights.owner
                if not isinstance(w, hgq.ConstOp):
                    raise ValueError(f"{op.name}: weights must come from hgq.const")
                wm, we = w.values()
                if op.bias is not None:
                    b = op.bias.owner
                    if not isinstance(b, hgq.ConstOp):
                        raise ValueError(f"{op.name}: bias must come from hgq.const")
                    bm, be = b.values()
                else:
                    bm = np.zeros(wm.shape[1], dtype=np.int64)
                    be = np.zeros(wm.shape[1], dtype=np.int64)
                arrays = Dense(wm.astype(object), we.copy(), bm.astype(object), be.copy())
                (m.conv if isinstance(op, hgq.ConvOp) else m.dense)[op] = arrays
        return m

    def ops(self) -> list[Operation]:
        return list(self.func.body.ops)

    def ranges(self) -> dict[SSAValue, analysis.Ranges]:
        """Forward interval analysis over the current arrays."""
        r: dict[SSAValue, analysis.Ranges] = {}
        for op in self.func.body.ops:
            if isinstance(op, hgq.InputOp):
                continue
            if op in self.bypass:
                r[op.results[0]] = r[op.operands[0]]
            elif isinstance(op, hgq.QuantizeOp):
                q = self.quant[op]
                r[op.result] = analysis.quantizer_output(r.get(op.input), q.k, q.i, q.f, q.round, q.overflow)
            elif isinstance(op, hgq.DenseOp):
                d = self.dense[op]
                r[op.result] = analysis.dense_output(r[op.input], d.wm, d.we, d.bm, d.be)
            elif isinstance(op, hgq.ConvOp):
                d = self.conv[op]
                r[op.result] = analysis.conv_output(r[op.input], attr_array(op.patches), d.wm, d.we, d.bm, d.be)
            elif isinstance(op, hgq.MaxPoolOp):
                r[op.result] = analysis.maxpool_output(r[op.input], attr_array(op.windows))
            elif isinstance(op, hgq.ELEMENTWISE):
                kind = op.name.removeprefix("hgq.")
                r[op.result] = analysis.elementwise_output(kind, r[op.lhs], r[op.rhs])
            elif isinstance(op, hgq.ReluOp):
                r[op.result] = analysis.relu_output(r[op.input])
            elif isinstance(op, hgq.ConcatOp):
                r[op.result] = analysis.concat_output([r[v] for v in op.inputs])
            elif isinstance(op, hgq.GatherOp):
                r[op.result] = analysis.gather_output(r[op.input], attr_array(op.index))
            elif isinstance(op, hgq.LutOp):
                r[op.result] = analysis.lut_output(r[op.input], *op.arrays())
        return r

    def rebuild(self) -> func.FuncOp:
        """A new function with the edited arrays and exact result types."""
        ranges = self.ranges()
        block = Block()
        vmap: dict[SSAValue, SSAValue] = {}

        def add(op: Operation, old: Operation) -> Operation:
            for key, attr in old.attributes.items():
                op.attributes[key] = attr
            block.add_op(op)
            for a, b in zip(old.results, op.results, strict=True):
                vmap[a] = b
            return op

        for op in self.func.body.ops:
            if op in self.bypass:
                vmap[op.results[0]] = vmap[op.operands[0]]
            elif isinstance(op, hgq.QuantizeOp):
                q = self.quant[op]
                add(hgq.QuantizeOp(vmap[op.input], q.k, q.i, q.f, q.round, q.overflow), op)
            elif isinstance(op, hgq.DenseOp | hgq.ConvOp):
                d = (self.dense if isinstance(op, hgq.DenseOp) else self.conv)[op]
                w = add(hgq.ConstOp(d.wm, d.we), op.weights.owner)
                b = None
                if (d.bm != 0).any():
                    b = hgq.ConstOp(d.bm, d.be)
                    block.add_op(b)
                bias = b.result if b else None
                t = envelope_type(ranges[op.result])
                if isinstance(op, hgq.DenseOp):
                    add(hgq.DenseOp(vmap[op.input], w.result, bias, t), op)
                else:
                    add(hgq.ConvOp(vmap[op.input], w.result, bias, attr_array(op.patches), t), op)
            elif isinstance(op, hgq.MaxPoolOp):
                add(hgq.MaxPoolOp(vmap[op.input], attr_array(op.windows), envelope_type(ranges[op.result])), op)
            elif isinstance(op, hgq.ReluOp):
                add(hgq.ReluOp(vmap[op.input], envelope_type(ranges[op.result])), op)
            elif isinstance(op, hgq.ELEMENTWISE):
                add(type(op)(vmap[op.lhs], vmap[op.rhs], envelope_type(ranges[op.result])), op)
            elif isinstance(op, hgq.ConstOp):
                continue  # re-created next to their users
            else:
                add(op.clone(value_mapper=vmap), op)
        new = func.FuncOp(self.func.sym_name.data, ((), ()), Region(block))
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


def envelope_type(r: analysis.Ranges):
    """tensor<N x !hgq.fixed<k,i,f>> holding every element's exact range."""
    return hgq.fixed_tensor([len(r)], *analysis.envelope(r))
