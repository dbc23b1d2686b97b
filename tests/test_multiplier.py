"""fx.mul on every sign and width combination (1 to 12 bits), in the fx interpreter and in
simulated RTL with each multiplier kind: exhaustive where both operands together have at most
12 bits, random beyond; exact products from Python integers as the reference."""

import itertools
import re
import shutil

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region

from hgq_mlir import fixed
from hgq_mlir.backend.rtl import render_rtl
from hgq_mlir.backend.simulate import pick_simulator, simulate
from hgq_mlir.dialects import fx
from hgq_mlir.interp.fx import run_fx
from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw

WIDTHS = (1, 2, 3, 5, 8, 12)
COMBOS = list(itertools.product(WIDTHS, (0, 1), WIDTHS, (0, 1)))
N = 4096


def _multipliers() -> func.FuncOp:
    """One fx.mul per combination: inputs 2k and 2k+1, output k."""
    block = Block()
    for k, (wa, sa, wb, sb) in enumerate(COMBOS):
        ta, tb = fx.FixedType(sa, wa - sa, 0), fx.FixedType(sb, wb - sb, 0)
        a = fx.InputOp("inp", 2 * k, ta)
        b = fx.InputOp("inp", 2 * k + 1, tb)
        r = fixed.mul(fixed.Ranges(0, *ta.mantissa_range()), fixed.Ranges(0, *tb.mantissa_range()))
        m = fx.MulOp(a.result, b.result, fx.fixed_for_range(r.lo, r.hi, 0))
        block.add_ops([a, b, m, fx.OutputOp("out", k, m.result)])
    block.add_op(func.ReturnOp())
    return func.FuncOp("mults", ((), ()), Region(block))


def _vectors(n: int = N) -> np.ndarray:
    """(n, 2 * combos) mantissas: every pair where the two widths sum to log2(n) bits or less."""
    rng = np.random.default_rng(0)
    cols = []
    for wa, sa, wb, sb in COMBOS:
        v = np.arange(n) if 1 << (wa + wb) <= n else rng.integers(0, 1 << (wa + wb), size=n)
        for bits, w, signed in ((v & ((1 << wa) - 1), wa, sa), ((v >> wa) & ((1 << wb) - 1), wb, sb)):
            cols.append(bits - (bits >> (w - 1) << w) if signed else bits)
    return np.stack(cols, axis=1).astype(np.int64)


def _expected(x: np.ndarray) -> np.ndarray:
    return x[:, 0::2].astype(object) * x[:, 1::2].astype(object)


def _dsp_products() -> int:
    """Products Yosys synth_xilinx puts on a DSP48E2: both operands of 2 bits or more and a
    result of 9 bits or more (its mul2dsp thresholds); the rest stay in LUTs."""
    n = 0
    for wa, sa, wb, sb in COMBOS:
        ea = (-(1 << (wa - 1)), (1 << (wa - 1)) - 1) if sa else (0, (1 << wa) - 1)
        eb = (-(1 << (wb - 1)), (1 << (wb - 1)) - 1) if sb else (0, (1 << wb) - 1)
        products = [x * y for x in ea for y in eb]
        lo, hi = min(products), max(products)
        width = max(lo.bit_length(), hi.bit_length()) + 1 if lo < 0 else hi.bit_length()
        n += min(wa, wb) >= 2 and width >= 9
    return n


def test_fx_interpreter_products():
    x = _vectors()
    out = run_fx(_multipliers(), {"inp": x})["out"]
    got = np.stack([np.asarray(out[k].mantissa, dtype=object) for k in range(len(COMBOS))], axis=1)
    want = _expected(x)
    assert (got == want).all()
    want[5, 7] += 1  # negative control
    assert int((got != want).sum()) == 1


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
@pytest.mark.parametrize("multiplier, ternary", [("lut", "primitive"), ("lut", "off"), ("dsp", "primitive")])
def test_rtl_products(multiplier, ternary, tmp_path):
    module = ModuleOp([_multipliers()])
    LowerFxToHw(multiplier=multiplier, ternary=ternary).apply(Context(), module)
    files = render_rtl(module)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    import json

    interface = json.loads(files["mults.json"])
    report = json.loads(files["report.json"])
    assert report["dsps"] == (_dsp_products() if multiplier == "dsp" else 0)
    verilog = tmp_path / "mults.v"
    text = verilog.read_text()
    # Booth rows as LUT6 + CARRY8 (with dsp, for the products no DSP block takes)
    primitives = ternary == "primitive" and (multiplier == "lut" or _dsp_products() < len(COMBOS))
    assert ("LUT6 #(" in text) == primitives
    # iverilog runs the LUT6/CARRY8 netlist about 40 ms a vector: exhaustive up to 9 bits there
    x = _vectors(512 if primitives else N)
    want = _expected(x)
    sim = pick_simulator("auto", report["adders"], primitives)

    def mismatches(verilog) -> int:
        got = simulate(verilog, interface, {"inp": x}, sim)["out"]
        return sum(int((np.asarray(got[k], dtype=object) != want[:, k]).sum()) for k in range(len(COMBOS)))

    assert mismatches(verilog) == 0
    # negative control: the first Booth row's LUT6 has its function complemented, or the
    # first adder (lut) or product (dsp) is turned into a subtraction
    if primitives and multiplier == "lut":
        init = re.search(r"LUT6 #\(\.INIT\(64'h([0-9a-f]{16})\)\)", text)
        flipped = f"{int(init.group(1), 16) ^ (1 << 64) - 1:016x}"
        verilog.write_text(text[: init.start(1)] + flipped + text[init.end(1):])
    else:
        op = " + " if multiplier == "lut" else " * "
        assert op in text
        verilog.write_text(text.replace(op, " - ", 1))
    assert mismatches(verilog) > 0
