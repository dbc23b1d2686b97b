"""`hgq-standard`: the default pipeline from imported `hgq` IR to `hw`/`comb`/`seq`.

The driver expands it into its steps, so `--print-between-passes` and
`--dump-ir-dir` show every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw
from hgq_mlir.passes.lower_hgq_to_fx import LowerHgqToFx


@dataclass(frozen=True)
class HgqStandard(ModulePass):
    """Options: dense (CMVM solver), max-width (widest exact value allowed, bits)."""

    name = "hgq-standard"

    dense: str = "csd"
    max_width: int = 64

    def steps(self) -> list[ModulePass]:
        return [
            LowerHgqToFx(dense=self.dense, max_width=self.max_width),
            CommonSubexpressionElimination(),
            DeadCodeElimination(),
            LowerFxToHw(),
        ]

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for step in self.steps():
            step.apply(ctx, op)
