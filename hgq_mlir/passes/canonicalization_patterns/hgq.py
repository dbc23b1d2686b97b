"""Canonicalization patterns for `hgq` ops (run by xDSL's `canonicalize`)."""

from __future__ import annotations

import numpy as np
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)

from hgq_mlir.dialects import hgq
from hgq_mlir.dialects.arrays import attr_array
from hgq_mlir.fixed import Fixed, const_value, quantize
from hgq_mlir.interp.hgq import dense


class ReluOfNonNegative(RewritePattern):
    """relu(x) -> x when x's type says it is never negative."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hgq.ReluOp, rewriter: PatternRewriter) -> None:
        el = op.input.type.get_element_type()
        if isinstance(el, hgq.FixedType) and el.k.data == 0:
            rewriter.replace(op, [], [op.input])


class DenseOfZeroWeights(RewritePattern):
    """dense(x, 0, b) -> b (or the zero constant)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hgq.DenseOp, rewriter: PatternRewriter) -> None:
        w = op.weights.owner
        if not isinstance(w, hgq.ConstOp) or w.values()[0].any():
            return
        if op.bias is not None:
            rewriter.replace(op, [], [op.bias])
            return
        n = op.result.type.get_shape()[0]
        zeros = np.zeros(n, dtype=np.int64)
        rewriter.replace(op, hgq.ConstOp(zeros, zeros))


class QuantizeOfConst(RewritePattern):
    """quantize(const) -> const, computed exactly."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hgq.QuantizeOp, rewriter: PatternRewriter) -> None:
        c = op.input.owner
        if not isinstance(c, hgq.ConstOp) or len(op.input.type.get_shape()) != 1:
            return
        k, i, f = op.kif()
        _replace_by_const(op, quantize(const_value(*c.values()), k, i, f, op.round.data, op.overflow.data), rewriter)


class QuantizeToZeroBits(RewritePattern):
    """quantize(x) -> 0 where every element keeps zero bits (k + i + f <= 0: HGQ2 gives 0
    whatever x is; a recurrent cell's zero first state)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hgq.QuantizeOp, rewriter: PatternRewriter) -> None:
        k, i, f = op.kif()
        if len(op.input.type.get_shape()) != 1 or (k + i + f > 0).any():
            return
        zeros = np.zeros(k.shape, dtype=np.int64)
        rewriter.replace(op, hgq.ConstOp(zeros, zeros))


class DenseOfConst(RewritePattern):
    """dense(const, const, const) -> const, computed exactly (a cell's sum over a zero state is
    its bias)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hgq.DenseOp, rewriter: PatternRewriter) -> None:
        consts = [v.owner for v in op.operands]
        if not all(isinstance(c, hgq.ConstOp) for c in consts):
            return
        x, w, *b = (const_value(*c.values()) for c in consts)
        _replace_by_const(op, dense(x, w, *b), rewriter)


class GatherOfConst(RewritePattern):
    """gather(const) -> const."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hgq.GatherOp, rewriter: PatternRewriter) -> None:
        c = op.input.owner
        if isinstance(c, hgq.ConstOp):
            index = attr_array(op.index)
            rewriter.replace(op, hgq.ConstOp(*(a[index] for a in c.values())))


class MulByConst(RewritePattern):
    """x * const -> dense(x, diag(const)): a product by constants is a constant multiplication
    (shift-and-add adder graphs), not a multiplier."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: hgq.MulOp, rewriter: PatternRewriter) -> None:
        for x, c in ((op.lhs, op.rhs.owner), (op.rhs, op.lhs.owner)):
            if isinstance(c, hgq.ConstOp) and not isinstance(x.owner, hgq.ConstOp):
                m, e = c.values()
                w = hgq.ConstOp(np.diag(m), np.diag(e))
                rewriter.replace(op, [w, hgq.DenseOp(x, w.result, None, op.result.type)])
                return


def _replace_by_const(op, value: Fixed, rewriter: PatternRewriter) -> None:
    """Replace `op` by the constant `value` (1-D), unless a mantissa leaves int64."""
    m = np.asarray(value.mantissa)
    if m.dtype == object and any(abs(int(v)) >= 1 << 62 for v in m.ravel()):
        return
    m = m.astype(np.int64)
    rewriter.replace(op, hgq.ConstOp(m, np.full(m.shape, -value.frac, dtype=np.int64)))
