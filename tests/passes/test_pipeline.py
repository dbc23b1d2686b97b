"""Pipelined RTL: bit-exact at II=1 for several latency cutoffs, stages within the cutoff."""

import json
import shutil

import pytest
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.passes import PassPipeline

from hgq_mlir.backend.simulate import pick_simulator, simulate
from hgq_mlir.backend.verify import (
    compare,
    grid_inputs,
    keras_input_quantizer,
    port_mantissas,
)
from hgq_mlir.dialects import fx
from hgq_mlir.frontend.keras import import_model
from hgq_mlir.passes import get_all_passes
from hgq_mlir.passes.pipeline import levels_of


def _fx(model, cutoff=None):
    module = import_model(model)
    steps = "hgq-prune,hgq-infer-precision,canonicalize,lower-hgq-to-fx,cse,dce"
    if cutoff is not None:
        steps += f",fx-pipeline{{latency-cutoff={cutoff}}}"
    PassPipeline.parse_spec(get_all_passes(), steps).apply(Context(), module)
    module.verify()
    return next(op for op in module.ops if isinstance(op, func.FuncOp))


def _stage_levels(f):
    """Longest adder path inside any stage, registers cutting paths (independent of the pass)."""
    level = {}
    worst = 0
    for op in f.body.ops:
        if not op.results:
            continue
        if isinstance(op, fx.RegOp | fx.InputOp | fx.ConstOp):
            level[op.results[0]] = 0
            continue
        lv = max((level[v] for v in op.operands), default=0) + levels_of(op)
        level[op.results[0]] = lv
        worst = max(worst, lv)
    return worst


def _naive_register_bits(f, cutoff):
    """Registers after every `cutoff` adder levels on every live value (no scheduling choice)."""
    level, stage = {}, {}
    for op in f.body.ops:
        if not op.results:
            continue
        lv = max((level[v] for v in op.operands), default=0) + levels_of(op)
        level[op.results[0]] = lv
        stage[op.results[0]] = 0 if lv == 0 else (lv - 1) // cutoff
    latency = max(stage[o.input] for o in f.body.ops if isinstance(o, fx.OutputOp))
    bits = 0
    for op in f.body.ops:
        for v in op.results:
            if isinstance(op, fx.ConstOp):
                continue
            users = [u.operation for u in v.uses]
            last = max([latency if isinstance(u, fx.OutputOp) else stage[u.results[0]] for u in users], default=stage[v])
            bits += max(last - stage[v], 0) * v.type.width
    return bits


@pytest.mark.parametrize("cutoff", [1, 3, 6])
def test_stages_respect_cutoff_and_registers_are_few(trained_models, cutoff):
    model, _ = trained_models["jsc"]
    f = _fx(model, cutoff)
    assert _stage_levels(f) <= cutoff
    ours = sum(op.result.type.width for op in f.body.ops if isinstance(op, fx.RegOp))
    naive = _naive_register_bits(_fx(model), cutoff)
    assert ours <= naive


@pytest.mark.parametrize("kind", ["jsc", "sat_trn", "pruned"])
@pytest.mark.parametrize("cutoff", [1, 4])
def test_pipelined_rtl_bit_exact(trained_models, compiled, kind, cutoff):
    model, path = trained_models[kind]
    report, rtl_dir = compiled(path, f"hgq-standard{{latency-cutoff={cutoff}}}")
    interface = json.loads((rtl_dir / f"{report['top']}.json").read_text())
    assert interface["latency"] == report["latency"] > 0 and interface["clock"] == "clk"
    assert report["adder_levels"] <= cutoff and report["ffs"] > 0
    x = grid_inputs(interface, 16, 1000, seed=cutoff)
    expected = model.predict(x, verbose=0, batch_size=1000)
    mantissas = port_mantissas(interface, keras_input_quantizer(model)(x))
    sim = pick_simulator("auto", report["adders"], pipelined=True)
    got = simulate(rtl_dir / f"{report['top']}.v", interface, mantissas, sim)
    assert compare(interface, expected, got) == 0
    # negative control: read the outputs one cycle early (the first 100 vectors) and the check must fail
    early = dict(interface, latency=interface["latency"] - 1)
    few = {port: m[:100] for port, m in mantissas.items()}
    got_early = simulate(rtl_dir / f"{report['top']}.v", early, few, sim) if early["latency"] else None
    if got_early is not None:
        assert compare(interface, expected[:100], got_early) > 0


def test_bad_cutoff_is_one_line(tmp_path):
    import subprocess

    from tests_support import tiny_mlir

    src = tmp_path / "m.mlir"
    src.write_text(tiny_mlir)
    proc = subprocess.run(["hgq-opt", str(src), "-p", "hgq-standard{latency-cutoff=0}"], capture_output=True, text=True)
    assert proc.returncode == 2 and "latency-cutoff=0" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
@pytest.mark.parametrize("pipeline", ["hgq-standard{ternary=primitive}", "hgq-standard{ternary=primitive latency-cutoff=2}"])
def test_self_checking_testbench(tiny_model, rtl_copy, pipeline):
    """The stored-vector testbench passes, and fails once one stored output word is altered."""
    from tests_support import flip_stored_word, run_testbench

    from hgq_mlir.backend.verify import write_testbench

    _, path = tiny_model
    _, rtl_dir = rtl_copy(path, pipeline)
    tb = write_testbench(str(path), rtl_dir, 300)
    assert "PASS: 300 vectors" in run_testbench(rtl_dir, tb, "tiny")
    flip_stored_word(rtl_dir / "tb_tiny_out0.hex", 123)
    out = run_testbench(rtl_dir, tb, "tiny")
    assert "FAIL: 1 mismatching" in out and "vector 123" in out


def test_vivado_files(tiny_model, tmp_path):
    import subprocess

    _, path = tiny_model
    proc = subprocess.run(
        ["hgq-opt", str(path), "-t", "verilog", "-o", str(tmp_path), "-p", "hgq-standard{latency-cutoff=2}",
         "--clock-period", "2.5", "--part", "xcu250-figd2104-2L-e"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "tiny.xdc").read_text().startswith("create_clock -name clk -period 2.5 [get_ports clk]")
    tcl = (tmp_path / "build_vivado.tcl").read_text()
    assert "set part xcu250-figd2104-2L-e" in tcl and "synth_design -top tiny" in tcl and "-mode out_of_context" in tcl
