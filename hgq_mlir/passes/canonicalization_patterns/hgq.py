"""Canonicalization patterns for `hgq` ops (run by xDSL's `canonicalize`)."""

from __future__ import annotations

import numpy as np
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)

from hgq_mlir.dialects import hgq
from hgq_mlir.fixed import const_value, quantize


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
        q = quantize(const_value(*c.values()), k, i, f, op.round.data, op.overflow.data)
        m = np.asarray(q.mantissa).astype(np.int64)
        rewriter.replace(op, hgq.ConstOp(m, np.full(m.shape, -q.frac, dtype=np.int64)))
