"""Pass registry: name -> factory, read by the `hgq-opt` driver."""

from collections.abc import Callable

from xdsl.passes import ModulePass


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    def canonicalize():
        from xdsl.transforms.canonicalize import CanonicalizePass

        return CanonicalizePass

    def cse():
        from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination

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

    return {
        "canonicalize": canonicalize,
        "cse": cse,
        "dce": dce,
        "lower-hgq-to-fx": lower_hgq_to_fx,
        "lower-fx-to-hw": lower_fx_to_hw,
        "hgq-standard": hgq_standard,
    }
