"""Pass registry: name -> factory, read by the `hgq-opt` driver."""

from collections.abc import Callable

from xdsl.passes import ModulePass


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    def canonicalize():
        from xdsl.transforms.canonicalize import CanonicalizePass

        return CanonicalizePass

    def cse():
        from xdsl.transforms.common_subexpression_elimination import (
            CommonSubexpressionElimination,
        )

        return CommonSubexpressionElimination

    def dce():
        from xdsl.transforms.dead_code_elimination import DeadCodeElimination

        return DeadCodeElimination

    def lower_hgq_to_fx():
        from hgq_mlir.passes.lower_hgq_to_fx import LowerHgqToFx

        return LowerHgqToFx

    def lower_fx_to_hw():
        from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw

        return LowerFxToHw

    def hgq_standard():
        from hgq_mlir.passes.standard import HgqStandard

        return HgqStandard

    def hgq_prune():
        from hgq_mlir.passes.prune import HgqPrune

        return HgqPrune

    def hgq_infer_precision():
        from hgq_mlir.passes.infer_precision import HgqInferPrecision

        return HgqInferPrecision

    def hgq_report_baseline():
        from hgq_mlir.passes.report_baseline import HgqReportBaseline

        return HgqReportBaseline

    def fx_fuse_ternary():
        from hgq_mlir.passes.fuse_ternary import FxFuseTernary

        return FxFuseTernary

    def fx_pipeline():
        from hgq_mlir.passes.pipeline import FxPipeline

        return FxPipeline

    return {
        "fx-pipeline": fx_pipeline,
        "fx-fuse-ternary": fx_fuse_ternary,
        "hgq-prune": hgq_prune,
        "hgq-infer-precision": hgq_infer_precision,
        "hgq-report-baseline": hgq_report_baseline,
        "canonicalize": canonicalize,
        "cse": cse,
        "dce": dce,
        "lower-hgq-to-fx": lower_hgq_to_fx,
        "lower-fx-to-hw": lower_fx_to_hw,
        "hgq-standard": hgq_standard,
    }
