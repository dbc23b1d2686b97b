"""`hgq-standard`: the default pipeline from imported `hgq` IR to `hw`/`comb`/`seq`.

The driver expands it into its steps, so `--print-between-passes` and
`--dump-ir-dir` show every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.transforms.canonicalize import CanonicalizePass
from xdsl.transforms.common_subexpression_elimination import (
    CommonSubexpressionElimination,
)
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from hgq_mlir.cmvm.cse import DEFAULT_DEPTH_SLACK
from hgq_mlir.errors import UserError
from hgq_mlir.passes.fuse_ternary import FxFuseTernary
from hgq_mlir.passes.infer_precision import HgqInferPrecision
from hgq_mlir.passes.lower_fx_to_hw import TERNARY, LowerFxToHw
from hgq_mlir.passes.lower_hgq_to_fx import LowerHgqToFx
from hgq_mlir.passes.pipeline import FxPipeline
from hgq_mlir.passes.prune import HgqPrune
from hgq_mlir.passes.report_baseline import HgqReportBaseline


@dataclass(frozen=True)
class HgqStandard(ModulePass):
    """Options: dense (CMVM solver: cse or csd), depth-slack (extra adder levels a dense layer
    may use to share more), max-width (widest exact value allowed, bits), prune (run hgq-prune
    and hgq-infer-precision), baseline (also lower the unpruned model, to report what pruning
    saved: about as long again as the compile itself; off by default), latency-cutoff (at most
    that many adder levels between registers; < 0: combinational), input-format=k,i,f (the
    format every model input element arrives in), multiplier (lut, dsp or auto: how a product
    of two computed values is built), ternary (primitive, infer or off: ternary adders, a + b + c
    on one carry chain, planned by the CMVM and fused by fx-fuse-ternary, built as UltraScale
    LUT6_2 + CARRY8 primitives, with a LUT multiplier's Booth rows as LUT6 + CARRY8, or as
    `a + b - c` for the vendor's inference; off: binary adders only)."""

    name = "hgq-standard"

    dense: Literal["cse", "csd"] = "cse"
    depth_slack: int = DEFAULT_DEPTH_SLACK
    max_width: int = 64
    input_format: tuple[int, ...] = ()
    multiplier: str = "auto"
    ternary: str = "primitive"
    prune: bool = True
    baseline: bool = False
    latency_cutoff: int = -1

    def steps(self) -> list[ModulePass]:
        if self.ternary not in TERNARY:
            raise UserError(f"hgq-standard: unknown ternary={self.ternary} (choose from {', '.join(TERNARY)})")
        ternary = self.ternary != "off"
        hgq_steps: list[ModulePass] = []
        if self.prune:
            if self.baseline:
                hgq_steps.append(HgqReportBaseline(dense=self.dense, depth_slack=self.depth_slack, max_width=self.max_width,
                                                   input_format=self.input_format, multiplier=self.multiplier,
                                                   ternary=self.ternary))
            hgq_steps += [HgqPrune(), HgqInferPrecision(), CanonicalizePass()]
        return [
            *hgq_steps,
            LowerHgqToFx(dense=self.dense, depth_slack=self.depth_slack, max_width=self.max_width,
                         input_format=self.input_format, ternary=ternary),
            CommonSubexpressionElimination(),
            DeadCodeElimination(),
            *([FxFuseTernary()] if ternary else []),
            *([FxPipeline(latency_cutoff=self.latency_cutoff)] if self.latency_cutoff >= 0 else []),
            LowerFxToHw(multiplier=self.multiplier, ternary=self.ternary),
        ]

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for step in self.steps():
            step.apply(ctx, op)
