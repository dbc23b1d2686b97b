"""Keras == hgq interpreter == fx interpreter == simulated RTL, on every test model."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects import func

from hgq_mlir.backend.simulate import pick_simulator, simulate
from hgq_mlir.backend.verify import (
    compare,
    grid_inputs,
    keras_input_quantizer,
    port_mantissas,
    verify,
)
from hgq_mlir.frontend.keras import import_model
from hgq_mlir.interp.fx import run_fx
from hgq_mlir.interp.hgq import run_hgq
from hgq_mlir.passes.lower_hgq_to_fx import LowerHgqToFx

N_VECTORS = 1000


def _interface(rtl_dir):
    (manifest,) = [p for p in rtl_dir.glob("*.json") if p.name != "report.json"]
    return json.loads(manifest.read_text())


def test_every_level_agrees(trained_models, compiled, model_kind):
    model, path = trained_models[model_kind]
    report, rtl_dir = compiled(path)
    interface = _interface(rtl_dir)
    x = grid_inputs(interface, 16, N_VECTORS, seed=5)
    mantissas = port_mantissas(interface, keras_input_quantizer(model)(x))
    keras_out = model.predict(x, verbose=0, batch_size=N_VECTORS)

    module = import_model(model)
    hgq_out = run_hgq(module, [x])["out"].to_float()
    assert int(np.sum(hgq_out != keras_out)) == 0

    LowerHgqToFx().apply(Context(), module)
    fx_func = next(op for op in module.ops if isinstance(op, func.FuncOp))
    fx_out = run_fx(fx_func, {"inp": mantissas["inp"]})
    got = {"out": {i: v.mantissa for i, v in fx_out.get("out", {}).items()}}
    assert compare(interface, keras_out, got) == 0

    sim = pick_simulator("auto", report["adders"])
    rtl = simulate(rtl_dir / f"{interface['top']}.v", interface, mantissas, sim)
    assert compare(interface, keras_out, rtl) == 0


def test_manifest_follows_the_contract(trained_models, compiled, model_kind):
    _, rtl_dir = compiled(trained_models[model_kind][1])
    interface = _interface(rtl_dir)
    assert set(interface) == {"top", "latency", "clock", "inputs", "outputs"}
    assert interface["latency"] == 0 and interface["clock"] is None
    for port in interface["inputs"] + interface["outputs"]:
        offset = 0
        for e in port["elements"]:
            assert set(e) == {"index", "offset", "width", "signed", "frac"}
            assert e["offset"] == offset and e["width"] > 0
            offset += e["width"]
        assert port["width"] == offset
    text = (rtl_dir / f"{interface['top']}.v").read_text()
    widths = {p["port"]: p["width"] for p in interface["inputs"] + interface["outputs"]}
    for name, w in widths.items():
        assert re.search(rf"(input|output) wire \[{w - 1}:0\] {name}\b", text)


@pytest.mark.skipif(shutil.which("verilator") is None, reason="verilator is not installed")
def test_verilator_lint_clean(trained_models, compiled, model_kind, tmp_path):
    _, rtl_dir = compiled(trained_models[model_kind][1])
    top = _interface(rtl_dir)["top"]
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", str(rtl_dir / f"{top}.v")], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr[:2000]


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
def test_iverilog_reads_it(trained_models, compiled, tmp_path):
    _, rtl_dir = compiled(trained_models["jsc"][1])
    proc = subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "a.vvp"), str(rtl_dir / "jsc.v")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_pyslang_elaborates_without_diagnostics(trained_models, compiled, model_kind):
    pyslang = pytest.importorskip("pyslang", reason="pyslang is not installed")
    _, rtl_dir = compiled(trained_models[model_kind][1])
    top = _interface(rtl_dir)["top"]
    tree = pyslang.syntax.SyntaxTree.fromFile(str(rtl_dir / f"{top}.v"))
    comp = pyslang.ast.Compilation()
    comp.addSyntaxTree(tree)
    diags = [str(d.code) for d in comp.getAllDiagnostics()]  # warnings too (e.g. sign conversion)
    assert diags == []


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")
def test_yosys_synthesizes_small_model(tiny_model, compiled, tmp_path):
    _, rtl_dir = compiled(tiny_model[1])
    proc = subprocess.run(
        ["yosys", "-q", "-p", f"read_verilog {rtl_dir / 'tiny.v'}; synth -top tiny; stat"], cwd=tmp_path,
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_tiny_model_verifies(tiny_model, compiled):
    """End to end with the LUT6_2/CARRY8 ternary adders, simulated with Yosys's models."""
    _, path = tiny_model
    _, rtl_dir = compiled(path, "hgq-standard{ternary=primitive}")
    mismatches, total, _ = verify(str(path), rtl_dir, 2000, "iverilog" if shutil.which("iverilog") else "auto")
    assert total == 2000 * 3 and mismatches == 0


def test_corrupted_constant_is_caught(tiny_model, rtl_copy):
    """Negative control: change one constant in the emitted Verilog and verification must fail."""
    _, path = tiny_model
    _, rtl_dir = rtl_copy(path, "hgq-standard{ternary=primitive}")
    v = rtl_dir / "tiny.v"
    text = v.read_text()
    m = re.search(r"(\d+)'h([0-9a-f]+)", text.split("module", 1)[1])
    assert m, "expected a constant in the RTL"
    width, value = int(m.group(1)), int(m.group(2), 16)
    flipped = f"{width}'h{(value ^ 1):x}"
    head, body = text.split("module", 1)
    v.write_text(head + "module" + body.replace(m.group(0), flipped, 1))
    mismatches, total, _ = verify(str(path), rtl_dir, 500, "iverilog" if shutil.which("iverilog") else "auto")
    assert mismatches > 0


def test_verilog_target_is_an_xdsl_target_with_one_handler_per_op(tmp_path):
    """`-t verilog` is an xDSL Target; the printer has a handler for every op the lowering makes
    and refuses the others (negative control: comb.divs)."""
    from xdsl.dialects import comb, hw, seq
    from xdsl.utils.target import Target

    from hgq_mlir.backend.verilog import VerilogPrinter, VerilogTarget
    from hgq_mlir.driver import HgqOptMain

    assert issubclass(VerilogTarget, Target) and VerilogTarget.name == "verilog"
    registry = VerilogPrinter.__dict__["print_op"].dispatcher.registry
    for op in (hw.ConstantOp, hw.OutputOp, hw.ArrayCreateOp, hw.ArrayGetOp, comb.ExtractOp, comb.ConcatOp,
               comb.ReplicateOp, comb.AddOp, comb.SubOp, comb.ICmpOp, comb.MuxOp, seq.CompRegOp):
        assert op in registry, op
    assert comb.DivSOp not in registry
    main = HgqOptMain(args=["-t", "verilog{clock-period=4}", "-o", str(tmp_path / "o")])
    assert main.available_targets["verilog"]() is VerilogTarget


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
def test_unknown_output_bits_mismatch(tmp_path):
    """An output the simulator leaves x counts as a mismatch (it is never read as a number)."""
    v = tmp_path / "half.v"
    v.write_text("module half(input wire [7:0] inp, output wire [7:0] out);\n"
                 "  assign out = {inp[7:4], 4'bxxxx};\nendmodule\n")
    elements = [{"index": i, "offset": 4 * i, "width": 4, "signed": False, "frac": 0} for i in range(2)]
    interface = {"top": "half", "latency": 0, "clock": None,
                 "inputs": [{"port": "inp", "width": 8, "elements": elements}],
                 "outputs": [{"port": "out", "width": 8, "elements": elements}]}
    x = np.stack([np.arange(16) % 4, np.arange(16)], axis=1)
    got = simulate(v, interface, {"inp": x}, "iverilog")
    assert all(e is None for e in got["out"][0]) and list(got["out"][1]) == list(x[:, 1])
    assert compare(interface, x.astype(np.float32), got) == 16
