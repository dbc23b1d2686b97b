"""`fx-fuse-ternary`: two adders become one ternary adder (`fx.add3`) where the inner
result has no other reader.

`(a ± b) ± c` and `c ± (a ± b)` become `fx.add3` over a, b, c with the signs multiplied
out, when the inner `fx.add`/`fx.sub` is read by the outer one only. On a carry-chain FPGA
a ternary adder costs one LUT per result bit like a binary one, so the inner adder's LUTs
are saved. Among an adder's two candidate inner adders, the wider one is taken (more LUTs
saved); adders are visited in program order, each in at most one fusion.

Exactness: fx ops wrap to their result type, so the inner result must not have wrapped;
a fusion is made only where the inner type holds every value its operands' types can sum
to, or where its wrap is invisible in the outer result (the inner type has at least the
outer's integer bits, k + i). Adder levels: a fusion is made only where no path through
it gets longer, counted as `fx-pipeline` counts them (the ternary adder is one level, so
the inner operands' paths lose one), hence a pipelined schedule's stages
(`latency-cutoff`) still hold. A register is never crossed: an inner adder read by an
`fx.reg` has another reader than the outer adder.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from hgq_mlir.dialects import fx
from hgq_mlir.passes.pipeline import levels_of


def _signed_terms(op: fx.AddOp | fx.SubOp) -> list[tuple[SSAValue, bool]]:
    """The adder's operands with their signs (True: subtracted)."""
    return [(op.lhs, False), (op.rhs, isinstance(op, fx.SubOp))]


def _wrap_free(inner: fx.AddOp | fx.SubOp, outer: fx.AddOp | fx.SubOp) -> bool:
    t, to = inner.result.type, outer.result.type
    if t.k.data + t.i.data >= to.k.data + to.i.data:
        return True  # a wrap of the inner sum is a multiple of the outer's modulus
    lo = hi = 0
    for v, neg in _signed_terms(inner):
        vlo, vhi = v.type.mantissa_range()
        scale = 1 << (t.frac - v.type.frac)
        vlo, vhi = vlo * scale, vhi * scale
        lo, hi = (lo - vhi, hi - vlo) if neg else (lo + vlo, hi + vhi)
    tlo, thi = t.mantissa_range()
    return tlo <= lo and hi <= thi


class FuseTernary(RewritePattern):
    def match_and_rewrite(self, op, rewriter: PatternRewriter) -> None:
        if not isinstance(op, fx.AddOp | fx.SubOp):
            return
        candidates = []
        for n, (v, neg) in enumerate(_signed_terms(op)):
            inner = v.owner
            if (isinstance(inner, fx.AddOp | fx.SubOp) and inner is not op and v.has_one_use()
                    and _wrap_free(inner, op)):
                candidates.append((inner.result.type.width, n, inner, neg))
        if not candidates:
            return
        _, n, inner, neg = max(candidates, key=lambda c: (c[0], -c[1]))
        other, other_neg = _signed_terms(op)[1 - n]
        terms = [(v, s != neg) for v, s in _signed_terms(inner)] + [(other, other_neg)]
        terms.sort(key=lambda t: t[1])  # an added operand first (stable)
        new = fx.Add3Op(*(v for v, _ in terms), tuple(s for _, s in terms), op.result.type,
                        attributes=dict(op.attributes))
        if levels_of(new) > min(levels_of(op), levels_of(op) + levels_of(inner)):
            new.drop_all_references()
            return  # it would lengthen a path in adder levels
        rewriter.replace(op, new)
        rewriter.erase(inner)


@dataclass(frozen=True)
class FxFuseTernary(ModulePass):
    """Fuse an adder into its only reader, an adder, as one ternary adder (`fx.add3`)."""

    name = "fx-fuse-ternary"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(GreedyRewritePatternApplier([FuseTernary()]), apply_recursively=False).rewrite_module(op)
