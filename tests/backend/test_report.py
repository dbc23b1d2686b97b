"""The report's LUT estimate against Yosys on micro-designs whose cost hinges on one rule."""

import shutil

import pytest
from xdsl.context import Context
from xdsl.dialects import builtin, comb, hw, seq
from xdsl.parser import Parser

from tests_support import lut_count, yosys_cells

from hgq_mlir.backend.report import resource_report
from hgq_mlir.backend.verilog import emit_verilog, find_top

# a bias (a constant, zero-extended) added to a sign-extended sum whose top bit nobody reads
# (as a ReLU or a wrap after a bias reads it): the sum is registered first, or read straight
# from the adder (then Yosys merges the two into one multi-operand sum)
BIAS = """
hw.module @t(in %clk: !seq.clock, in %a: i9, in %b: i9, out y: i9) {{
  %s = comb.add %a, %b : i9
  {stored}
  %c0 = hw.constant 0 : i2
  %c1 = hw.constant {bias} : i8
  %k = comb.concat %c0, %c1 : i2, i8
  %m = comb.extract %r from 8 : (i9) -> i1
  %x = comb.concat %m, %r : i1, i9
  %y = comb.add %x, %k : i10
  %o = comb.extract %y from 0 : (i10) -> i9
  hw.output %o : i9
}}
"""
DESIGNS = {
    "bias after a register": BIAS.format(stored="%r = seq.compreg %s, %clk : i9", bias=37),
    "bias after an adder": BIAS.format(stored="%r = comb.extract %s from 0 : (i9) -> i9", bias=37),
    "wide bias after a register": BIAS.format(stored="%r = seq.compreg %s, %clk : i9", bias=200),
}

# a difference of two registers whose minuend is shifted left: its low bits cost no LUT,
# as for a sum (the subtrahend's negation rides on the carry chain)
SHIFTED_MINUEND = """
hw.module @t(in %clk: !seq.clock, in %a: i6, in %b: i8, out y: i12) {
  %ra = seq.compreg %a, %clk : i6
  %rb = seq.compreg %b, %clk : i8
  %z = hw.constant 0 : i3
  %bs = comb.concat %rb, %z : i8, i3
  %ma = comb.extract %ra from 5 : (i6) -> i1
  %ea = comb.replicate %ma : (i1) -> i6
  %xa = comb.concat %ea, %ra : i6, i6
  %mb = comb.extract %bs from 10 : (i11) -> i1
  %xb = comb.concat %mb, %bs : i1, i11
  %y = comb.sub %xb, %xa : i12
  %ry = seq.compreg %y, %clk : i12
  hw.output %ry : i12
}
"""
DESIGNS["difference with a shifted minuend"] = SHIFTED_MINUEND


def _top(text: str) -> hw.HWModuleOp:
    ctx = Context()
    for d in (builtin.Builtin, hw.HW, comb.Comb, seq.Seq):
        ctx.load_dialect(d)
    return find_top(Parser(ctx, f"builtin.module {{{text}}}").parse_module())


def _yosys_luts(verilog: str, tmp_path) -> int:
    (tmp_path / "t.v").write_text(verilog)
    return lut_count(yosys_cells(tmp_path / "t.v", "t"))


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
@pytest.mark.parametrize("design", DESIGNS)
def test_constant_adder_estimate_matches_yosys(design, tmp_path):
    top = _top(DESIGNS[design])
    estimate = resource_report(top, {"top": "t", "latency": 0})["luts"]
    # within one LUT: Yosys's merged three-operand sum ends its second chain a bit early
    assert abs(estimate - _yosys_luts(emit_verilog(top), tmp_path)) <= (design == "bias after an adder")


def test_registered_bias_is_cheaper_than_merged_bias():
    """Negative control for the rule above: the same bias costs LUTs without the register."""
    stored = resource_report(_top(DESIGNS["bias after a register"]), {"top": "t", "latency": 0})["luts"]
    merged = resource_report(_top(DESIGNS["bias after an adder"]), {"top": "t", "latency": 0})["luts"]
    assert merged > stored
