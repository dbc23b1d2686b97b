"""The report's multiplier figures against Yosys `synth_xilinx -family xcup` on two small product
models: the LUTs of LUT multipliers within 5 %, and the DSP48E2 blocks of `*` exactly."""

import json
import shutil

import pytest
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region

from tests_support import yosys_cells

from hgq_mlir import fixed
from hgq_mlir.backend.rtl import render_rtl
from hgq_mlir.dialects import fx
from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw

pytestmark = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")

# (a bits, a signed, b bits, b signed) per product
DOT = [(7, 1, 3, 0), (7, 1, 4, 1), (6, 0, 3, 1), (8, 1, 2, 0)]  # summed: a dot product
PRODUCTS = [(6, 0, 4, 1), (8, 1, 3, 0), (5, 1, 5, 1), (10, 0, 2, 0), (9, 1, 4, 0)]  # each an output


def _ranges(t: fx.FixedType) -> fixed.Ranges:
    return fixed.Ranges(t.frac, *t.mantissa_range())


def _model(name: str, combos: list, dot: bool) -> ModuleOp:
    block = Block()
    total = None
    for k, (wa, sa, wb, sb) in enumerate(combos):
        ta, tb = fx.FixedType(sa, wa - sa, 0), fx.FixedType(sb, wb - sb, 0)
        a, b = fx.InputOp("a", k, ta), fx.InputOp("b", k, tb)
        r = fixed.mul(_ranges(ta), _ranges(tb))
        m = fx.MulOp(a.result, b.result, fx.fixed_for_range(r.lo, r.hi, 0))
        block.add_ops([a, b, m])
        if not dot:
            block.add_op(fx.OutputOp("y", k, m.result))
        elif total is None:
            total = m.result
        else:
            s = fixed.add(_ranges(total.type), _ranges(m.result.type))
            op = fx.AddOp(total, m.result, fx.fixed_for_range(s.lo, s.hi, 0))
            block.add_op(op)
            total = op.result
    if dot:
        block.add_op(fx.OutputOp("y", 0, total))
    block.add_op(func.ReturnOp())
    return ModuleOp([func.FuncOp(name, ((), ()), Region(block))])


def _synth(tmp_path, name: str, combos: list, dot: bool, multiplier: str, ternary: str = "primitive") -> tuple[dict, dict]:
    """(the report, Yosys's cell counts) of the model lowered with `multiplier` and `ternary`."""
    module = _model(name, combos, dot)
    LowerFxToHw(multiplier=multiplier, ternary=ternary).apply(Context(), module)
    files = render_rtl(module)
    verilog = tmp_path / f"{name}.v"
    verilog.write_text(files[f"{name}.v"])
    return json.loads(files["report.json"]), yosys_cells(verilog, name)


@pytest.mark.parametrize("ternary", ["primitive", "off"])  # Booth rows as LUT6 + CARRY8, or inferred adders
@pytest.mark.parametrize(("name", "combos", "dot"), [("dot", DOT, True), ("products", PRODUCTS, False)])
def test_lut_multiplier_luts_within_5_percent(tmp_path, name, combos, dot, ternary):
    report, cells = _synth(tmp_path, name, combos, dot, "lut", ternary)
    yosys = sum(v for k, v in cells.items() if k.startswith("LUT"))
    assert cells.get("DSP48E2", 0) == report["dsps"] == 0
    assert report["luts"] > 0 and abs(report["luts"] / yosys - 1) <= 0.05, (report["luts"], yosys, cells)


@pytest.mark.parametrize(("name", "combos", "dot"), [("dot", DOT, True), ("products", PRODUCTS, False)])
def test_dsp_blocks_exact(tmp_path, name, combos, dot):
    report, cells = _synth(tmp_path, name, combos, dot, "dsp")
    assert report["dsps"] == cells.get("DSP48E2", 0), (report["dsps"], cells)
    assert report["dsps"] > 0
