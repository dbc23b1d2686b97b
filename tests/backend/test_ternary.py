"""Ternary adders (fx.add3): the three realizations (UltraScale LUT6_2 + CARRY8 primitives
simulated with Yosys's own models, inferred `a + b - c`, two binary adders) bit-exact in
iverilog for every sign combination and several operand formats, exhaustively where small;
a wrong LUT INIT bit is caught; compiled models bit-exact against Keras with each
realization; the fusion pass; the report's ternary count."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects import builtin, comb, func, hw, seq
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from tests_support import lut_count, yosys_cells

from hgq_mlir.backend import verilog as verilog_backend
from hgq_mlir.backend.manifest import Interface
from hgq_mlir.backend.report import resource_report
from hgq_mlir.backend.simulate import simulate, xilinx_cells_sim
from hgq_mlir.backend.verify import compile_model, verify
from hgq_mlir.backend.verilog import emit_verilog, find_top, interface_of
from hgq_mlir.dialects.fx import FX, fixed_for_range
from hgq_mlir.errors import UserError
from hgq_mlir.interp.fx import run_fx
from hgq_mlir.passes.fuse_ternary import FxFuseTernary
from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None or shutil.which("yosys") is None,
                                reason="needs iverilog and yosys (its Xilinx simulation models)")

MODES = ("primitive", "infer", "off")
SIGNS = [s for s in itertools.product((False, True), repeat=3) if not all(s)]  # every allowed combination

# (k, i, f) of the three operands: small ones simulated exhaustively, wide ones at random
FORMATS = {
    "3-bit": ([(1, 2, 0), (1, 2, 0), (1, 2, 0)], None),
    "mixed": ([(1, 1, 1), (0, 2, 2), (1, 3, 0)], None),  # shifted, unsigned, different grids
    "wide": ([(1, 9, 0), (0, 8, 2), (1, 6, 3)], 3000),  # chains over two and three CARRY8
    "1-bit": ([(0, 1, 0), (0, 0, 1), (1, 0, 0)], None),
}


def _ctx() -> Context:
    ctx = Context()
    for d in (builtin.Builtin, func.Func, FX, hw.HW, comb.Comb, seq.Seq):
        ctx.load_dialect(d)
    return ctx


def _fx_text(formats, signs=SIGNS) -> str:
    """One function: three inputs, one fx.add3 output per sign combination (exact result types)."""
    lines = ["func.func @tern() {"]
    types = [f"!fx.fixed<{k}, {i}, {f}>" for k, i, f in formats]
    for n, t in enumerate(types):
        lines.append(f'  %x{n} = fx.input "x"[{n}] : {t}')
    f_out = max(f for _, _, f in formats)
    for s, neg in enumerate(signs):
        lo = hi = 0
        for (k, i, f), minus in zip(formats, neg):
            a, b = (-(1 << (k + i + f - 1)) if k else 0), (1 << (k + i + f - k)) - 1
            a, b = a << (f_out - f), b << (f_out - f)
            lo, hi = (lo - b, hi - a) if minus else (lo + a, hi + b)
        out = fixed_for_range(lo, hi, f_out)
        t_out = f"!fx.fixed<{out.k.data}, {out.i.data}, {out.f.data}>"
        expr = ""
        for n, minus in enumerate(neg):
            expr += (" - " if minus else (" + " if n else " ")) + f"%x{n}"
        lines.append(f"  %s{s} = fx.add3{expr} : {', '.join(types)} -> {t_out}")
        lines.append(f'  fx.output "y"[{s}] %s{s} : {t_out}')
    lines += ["  func.return", "}"]
    return "\n".join(lines)


def _inputs(formats, n: int | None, seed: int = 0) -> np.ndarray:
    ranges = [(-(1 << (k + i + f - 1)) if k else 0, (1 << (k + i + f - k)) - 1) for k, i, f in formats]
    if n is None:
        grid = list(itertools.product(*(range(lo, hi + 1) for lo, hi in ranges)))
        return np.array(grid, dtype=np.int64)
    rng = np.random.default_rng(seed)
    cols = [rng.integers(lo, hi + 1, n) for lo, hi in ranges]
    corners = np.array(list(itertools.product(*ranges)), dtype=np.int64)  # every extreme too
    return np.concatenate([corners, np.stack(cols, axis=1)])


def _rtl(text: str, mode: str, tmp: Path, name: str):
    module = Parser(_ctx(), text).parse_module()
    fx_func = next(iter(module.ops)).clone()
    LowerFxToHw(ternary=mode).apply(_ctx(), module)
    top = find_top(module)
    path = tmp / f"{name}.v"
    path.write_text(emit_verilog(top, "", Interface.of(top)))
    return fx_func, top, path, interface_of(top)


def _exact(formats, x: np.ndarray, neg) -> np.ndarray:
    f_out = max(f for _, _, f in formats)
    total = 0
    for n, ((_, _, f), minus) in enumerate(zip(formats, neg)):
        v = x[:, n].astype(object) * (1 << (f_out - f))
        total = total - v if minus else total + v
    return total


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(FORMATS))
def test_every_sign_combination_bit_exact(case, mode, tmp_path):
    formats, n = FORMATS[case]
    fx_func, top, path, interface = _rtl(_fx_text(formats), mode, tmp_path, f"t_{mode}")
    x = _inputs(formats, n)
    got = simulate(path, interface, {"x": x})["y"]
    fx_out = run_fx(fx_func, {"x": x})["y"]
    for s, neg in enumerate(SIGNS):
        want = _exact(formats, x, neg)
        assert (np.asarray(got[s], dtype=object) == want).all(), f"signs {neg}"
        assert (fx_out[s].mantissa.astype(object) == want).all()
    text = path.read_text()
    if mode == "primitive":
        assert "LUT6_2 #(" in text and "CARRY8 #(" in text
    else:
        assert "LUT6_2" not in text
    adds = [op for op in top.body.block.ops if isinstance(op, comb.AddOp | comb.SubOp)]
    marked = [op for op in adds if "hgq.ternary" in op.attributes]
    assert len(marked) == (0 if mode == "off" else len(SIGNS))
    if mode == "off":  # two binary adders each (identical first adders are shared)
        assert len(SIGNS) < len(adds) <= 2 * len(SIGNS)
    else:
        assert len(adds) == len(SIGNS)


def test_a_wrong_init_bit_is_caught(tmp_path, monkeypatch):
    """Negative control: the same exhaustive check fails when one INIT bit of the LUT6_2 is wrong."""
    formats = FORMATS["3-bit"][0]
    x = _inputs(formats, None)
    good = verilog_backend.lut6_2_init
    for bit in (3, 32 + 5):  # one O5 (majority) bit, one O6 (propagate) bit
        monkeypatch.setattr(verilog_backend, "lut6_2_init", lambda inv, bit=bit: good(inv) ^ (1 << bit))
        _, _, path, interface = _rtl(_fx_text(formats), "primitive", tmp_path, f"bad{bit}")
        got = simulate(path, interface, {"x": x})["y"]
        wrong = sum(int((np.asarray(got[s], dtype=object) != _exact(formats, x, neg)).sum()) for s, neg in enumerate(SIGNS))
        assert wrong > 0, f"INIT bit {bit} flipped went unnoticed"


def test_init_is_the_documented_function():
    for inv in itertools.product((False, True), repeat=3):
        init = verilog_backend.lut6_2_init(inv)
        for idx in range(64):
            a, b, c = ((idx >> n & 1) ^ inv[n] for n in range(3))
            m = idx >> 3 & 1
            want = (a ^ b ^ c ^ m) if idx >> 5 else int(a + b + c >= 2)
            assert init >> idx & 1 == want


def test_all_three_subtracted_is_refused():
    text = _fx_text(FORMATS["3-bit"][0], [(True, True, True)])
    with pytest.raises(VerifyException, match="at least one operand must be added"):
        Parser(_ctx(), text).parse_module().verify()


def test_booth_mark_on_a_plain_sum_is_refused():
    """An adder marked as a Booth row's whose operand is no Booth row: one line naming the op,
    not LUTs computing something else than the IR says."""
    text = """hw.module @m(in %a : i6, in %b : i6, in %c : i6, out y : i6) {
      %s = comb.add %a, %b, %c {hgq.booth = "primitive"} : i6
      hw.output %s : i6
    }"""
    top = find_top(Parser(_ctx(), text).parse_module())
    with pytest.raises(UserError, match="comb.add: hgq.booth"):
        emit_verilog(top)


def test_yosys_keeps_the_primitives(tmp_path):
    """One 9-bit ternary adder: Yosys synth_xilinx keeps one LUT6_2 per bit and two CARRY8,
    and the report counts the same LUTs."""
    formats = [(1, 7, 0), (1, 7, 0), (1, 7, 0)]
    _, top, path, interface = _rtl(_fx_text(formats, [(False, False, True)]), "primitive", tmp_path, "syn")
    cells = yosys_cells(path, "tern")
    luts = lut_count(cells)
    assert cells.get("LUT6_2") == 10 and luts == 10 and cells.get("CARRY8") == 2
    report = resource_report(top, interface)
    assert report["luts"] == 10 and report["ternary_adders"] == 1 and report["adders"] == 1


def test_missing_models_file_is_one_line(tmp_path, monkeypatch):
    fake = tmp_path / "prefix" / "bin"
    fake.mkdir(parents=True)
    (fake / "yosys").write_text("#!/bin/sh\n")
    (fake / "yosys").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    with pytest.raises(UserError) as e:
        xilinx_cells_sim()
    assert "\n" not in str(e.value) and str(tmp_path / "prefix" / "share" / "yosys" / "xilinx" / "cells_sim.v") in str(e.value)


def test_models_file_found():
    assert xilinx_cells_sim().name == "cells_sim.v" and "module LUT6_2" in xilinx_cells_sim().read_text()


FUSE = """
func.func @f() {
  %a = fx.input "x"[0] : !fx.fixed<1, 3, 0>
  %b = fx.input "x"[1] : !fx.fixed<1, 3, 0>
  %c = fx.input "x"[2] : !fx.fixed<1, 3, 0>
  %s = fx.sub %a, %b : !fx.fixed<1, 3, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 4, 0>
  %t = fx.sub %c, %s : !fx.fixed<1, 3, 0>, !fx.fixed<1, 4, 0> -> !fx.fixed<1, 5, 0>
  %u = fx.add %a, %b : !fx.fixed<1, 3, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 4, 0>
  %v = fx.add %u, %c : !fx.fixed<1, 4, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 5, 0>
  %w = fx.add %u, %a : !fx.fixed<1, 4, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 5, 0>
  %n = fx.add %a, %c : !fx.fixed<1, 3, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 2, 0>
  %z = fx.add %n, %b : !fx.fixed<1, 2, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 5, 0>
  fx.output "y"[0] %t : !fx.fixed<1, 5, 0>
  fx.output "y"[1] %v : !fx.fixed<1, 5, 0>
  fx.output "y"[2] %w : !fx.fixed<1, 5, 0>
  fx.output "y"[3] %z : !fx.fixed<1, 5, 0>
  func.return
}
"""


def test_fusion_keeps_values():
    """c - (a - b) fuses (signs multiplied out); an inner adder with two readers does not;
    an inner adder that wraps (its type too narrow for its operands) does not."""
    module = Parser(_ctx(), FUSE).parse_module()
    before = run_fx(next(iter(module.ops)), {"x": _inputs([(1, 3, 0)] * 3, None)})
    FxFuseTernary().apply(_ctx(), module)
    module.verify()
    ops = list(next(iter(module.ops)).body.ops)
    add3 = [op for op in ops if op.name == "fx.add3"]
    assert len(add3) == 1 and add3[0].negated == (False, False, True)
    assert sum(op.name in ("fx.add", "fx.sub") for op in ops) == 5
    after = run_fx(next(iter(module.ops)), {"x": _inputs([(1, 3, 0)] * 3, None)})
    for k in before["y"]:
        assert (before["y"][k].mantissa == after["y"][k].mantissa).all()


@pytest.mark.parametrize("mode", MODES)
def test_model_bit_exact_with_each_realization(tiny_model, mode, tmp_path):
    model, path = tiny_model
    report = compile_model(str(path), tmp_path / mode, f"hgq-standard{{ternary={mode}}}")
    mismatches, total, _ = verify(str(path), tmp_path / mode, 2000, "iverilog")
    assert total > 0 and mismatches == 0
    assert (report.get("ternary_adders", 0) > 0) == (mode != "off")
    assert (mode == "primitive") == ("LUT6_2 #(" in (tmp_path / mode / f"{report['top']}.v").read_text())


def test_dense_model_bit_exact_pipelined(trained_models, tmp_path):
    """A trained 16-input MLP with ternary primitives, pipelined (two levels per stage)."""
    model, path = trained_models["pruned"]
    report = compile_model(str(path), tmp_path / "p", "hgq-standard{latency-cutoff=2}")
    assert report["ternary_adders"] > 0 and report["latency"] > 0
    mismatches, total, _ = verify(str(path), tmp_path / "p", 300, "iverilog")
    assert total > 0 and mismatches == 0


def test_product_model_with_booth_primitives(trained, tmp_path):
    """Booth rows as LUT6 + CARRY8 end to end: a product of an unsigned (ReLU) and a signed
    dense branch, Keras == simulated RTL; the report counts the LUTs Yosys keeps."""
    from layer_models import BUILDERS

    model, path = trained(BUILDERS["multiply"], seed=2)
    report = compile_model(str(path), tmp_path / "m", "hgq-standard{multiplier=lut}")
    verilog = tmp_path / "m" / f"{report['top']}.v"
    assert "LUT6 #(" in verilog.read_text()
    mismatches, total, _ = verify(str(path), tmp_path / "m", 300, "iverilog")
    assert total > 0 and mismatches == 0
    assert abs(report["luts"] / lut_count(yosys_cells(verilog, report["top"])) - 1) <= 0.05


def test_bad_option_is_one_line(tiny_model, tmp_path):
    _, path = tiny_model
    proc = subprocess.run(["hgq-opt", str(path), "-p", "hgq-standard{ternary=maybe}", "-t", "verilog", "-o",
                           str(tmp_path / "x")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "ternary=maybe" in proc.stderr


def test_testbench_names_the_models(tiny_model, tmp_path):
    """--write-testbench: the self-checking bench runs with the primitive models and passes."""
    from hgq_mlir.backend.verify import write_testbench

    _, path = tiny_model
    report = compile_model(str(path), tmp_path / "r", "hgq-standard")
    tb = write_testbench(str(path), tmp_path / "r", 200)
    first = tb.read_text().splitlines()[0]
    cells = str(xilinx_cells_sim())
    assert cells in first
    out = subprocess.run(["iverilog", "-g2012", "-s", tb.stem, "-o", "tb.vvp", tb.name, f"{report['top']}.v", cells],
                         cwd=tmp_path / "r", capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    run = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path / "r", capture_output=True, text=True).stdout
    assert "PASS: 200 vectors" in run
