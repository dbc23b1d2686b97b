"""`hgq-infer-precision`: exact ranges everywhere; quantizers and ReLUs that change nothing go.

Interval analysis (the range rules of `passes/tensor_model.py`) gives every element's exact range and grid;
each result type becomes the narrowest envelope that holds it, and a quantizer whose
input is already on its grid and inside its range (no rounding, no overflow possible)
is removed, as is a ReLU whose input is never negative.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from hgq_mlir import fixed
from hgq_mlir.dialects import hgq
from hgq_mlir.passes.tensor_model import Model


@dataclass(frozen=True)
class HgqInferPrecision(ModulePass):
    name = "hgq-infer-precision"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for f in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            if not any(isinstance(o, hgq.DenseOp) for o in f.body.ops):
                continue
            model = Model.of(f)
            ranges = model.ranges()
            for o in f.body.ops:
                if isinstance(o, hgq.QuantizeOp) and ranges.get(o.input) is not None:
                    q = model.quant[o]
                    if fixed.quantizer_is_identity(ranges[o.input], q.k, q.i, q.f, q.overflow).all():
                        model.bypass.add(o)
                elif isinstance(o, hgq.ReluOp) and (ranges[o.input].lo >= 0).all():
                    model.bypass.add(o)
            model.replace(model.rebuild())
