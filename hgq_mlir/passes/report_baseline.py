"""`hgq-report-baseline`: what the design would cost without the hgq optimization passes.

Lowers a copy of the module as-is (no pruning, no precision inference) and stores its
per-layer adders and estimated LUTs in the function's `hgq.baseline` attribute, a
dictionary of integers (`{luts = N : i64, adders = N : i64, layers = {name = {luts, adders}}}`);
the report shows them next to the optimized figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func, hw
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.transforms.common_subexpression_elimination import (
    CommonSubexpressionElimination,
)
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from hgq_mlir.backend.attrs import to_attr
from hgq_mlir.dialects import hgq


@dataclass(frozen=True)
class HgqReportBaseline(ModulePass):
    name = "hgq-report-baseline"

    dense: str = "cse"
    depth_slack: int = 1
    max_width: int = 64
    input_format: tuple[int, ...] = ()
    multiplier: str = "auto"
    ternary: str = "primitive"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from hgq_mlir.backend.report import resource_report
        from hgq_mlir.passes.fuse_ternary import FxFuseTernary
        from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw
        from hgq_mlir.passes.lower_hgq_to_fx import LowerHgqToFx

        models = [f for f in op.ops if isinstance(f, func.FuncOp) and any(isinstance(o, hgq.InputOp) for o in f.body.ops)]
        if not models:
            return
        copy = op.clone()
        ternary = self.ternary != "off"  # lowered as the design is, so the two compare like with like
        steps = [LowerHgqToFx(dense=self.dense, depth_slack=self.depth_slack, max_width=self.max_width,
                              input_format=self.input_format, ternary=ternary),
                 CommonSubexpressionElimination(), DeadCodeElimination(),
                 *([FxFuseTernary()] if ternary else []),
                 LowerFxToHw(multiplier=self.multiplier, ternary=self.ternary)]
        for step in steps:
            step.apply(ctx, copy)
        tops = {t.sym_name.data: t for t in copy.ops if isinstance(t, hw.HWModuleOp)}
        for f in models:
            top = next(iter(tops.values())) if len(tops) == 1 else tops.get(f.sym_name.data)
            if top is None:
                continue  # several models, this one not lowered: no baseline to show
            report = resource_report(top, {"top": top.sym_name.data, "latency": 0})
            base = {"luts": report["luts"], "adders": report["adders"],
                    "layers": {k: {"luts": v["luts"], "adders": v["adders"]} for k, v in report["layers"].items()}}
            f.attributes["hgq.baseline"] = to_attr(base)
