"""Beyond MLPs: the two composite models (muon-like Conv1D + residual + tanh table + dense;
two inputs / two outputs with QEinsumDense, a sigmoid table and Concatenate), each
Keras == hgq interpreter == fx interpreter == simulated RTL, zero mismatches."""

import json
import re
import shutil

import numpy as np
import pytest

from tests_support import behavioral_adders, fx_outputs, table_texts

from hgq_mlir.backend.verify import (
    compare,
    compile_model,
    keras_predict,
    port_names,
    verify,
)
from hgq_mlir.frontend.keras import import_model
from hgq_mlir.interp.hgq import run_hgq



@pytest.fixture(scope="module", params=["muon", "multi_io"])
def composite(request, trained):
    return trained(f"build_{request.param}_model", seed=3)


def _random_inputs(model, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(n, int(np.prod(t.shape[1:])))) * 3).astype(np.float32) for t in model.inputs]


def test_interpreters_match_keras(composite, compiled):
    model, path = composite
    xs = _random_inputs(model, 2000, 7)
    expected = keras_predict(model, xs)
    got = run_hgq(import_model(model), xs)
    _, outs = port_names(model)
    for port, y in zip(outs, expected, strict=True):
        assert int(np.sum(got[port].to_float() != y)) == 0
    # the fx level, fed the RTL's input words (the manifest says where each element lives)
    _, rtl_dir = compiled(path)
    interface = json.loads((rtl_dir / f"{model.name}.json").read_text())
    got, expected = fx_outputs(model, interface)
    for port, y in expected.items():
        assert compare(interface, y, got, port) == 0


@pytest.mark.parametrize("pipeline", ["hgq-standard", "hgq-standard{latency-cutoff=2}"])
def test_rtl_matches_keras(composite, compiled, pipeline):
    model, path = composite
    _, rtl_dir = compiled(path, pipeline)
    mismatches, total, _ = verify(str(path), rtl_dir, 1000)
    assert total == 1000 * sum(int(np.prod(t.shape[1:])) for t in model.outputs)
    assert mismatches == 0


def test_ports_follow_the_model(composite, compiled):
    model, path = composite
    _, rtl_dir = compiled(path)
    interface = json.loads((rtl_dir / f"{model.name}.json").read_text())
    ins, outs = port_names(model)
    assert [p["port"] for p in interface["outputs"]] == outs
    assert {p["port"] for p in interface["inputs"]} <= set(ins)
    for p, t in zip(interface["outputs"], model.outputs, strict=True):
        assert sorted(e["index"] for e in p["elements"]) == list(range(int(np.prod(t.shape[1:]))))


def test_corrupted_table_is_caught(composite, rtl_copy):
    """Negative control: zero one lookup table in the Verilog and the check must fail."""
    model, path = composite
    _, rtl_dir = rtl_copy(path)
    verilog = rtl_dir / f"{model.name}.v"
    text = verilog.read_text()
    tables = table_texts(text)
    assert tables, "no lookup table in the Verilog"
    zeroed = re.sub(r"= (\d+)'h[0-9a-f]+;", r"= \1'h0;", tables[0])
    assert zeroed != tables[0]
    verilog.write_text(text.replace(tables[0], zeroed, 1))
    mismatches, _, _ = verify(str(path), rtl_dir, 200)
    assert mismatches > 0


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
def test_testbench_drives_every_port(composite, rtl_copy):
    """The stored-vector testbench of a model with several ports passes, and fails when a
    word of the last output port is altered."""
    from tests_support import flip_stored_word, run_testbench

    from hgq_mlir.backend.verify import write_testbench

    model, path = composite
    _, rtl_dir = rtl_copy(path, "hgq-standard{latency-cutoff=2}")
    tb = write_testbench(str(path), rtl_dir, 200)
    assert "PASS: 200 vectors" in run_testbench(rtl_dir, tb, model.name)
    last = len(model.outputs) - 1
    flip_stored_word(rtl_dir / f"tb_{model.name}_out{last}.hex", 77)
    out = run_testbench(rtl_dir, tb, model.name)
    assert "FAIL: 1 mismatching" in out and "vector 77" in out


@pytest.fixture(scope="module")
def ellipsis_model(tmp_path_factory):
    """`...` einsum, a plain Keras tanh on a quantized value (a table of float32 outputs,
    re-quantized by the next layer), a reshape and a transposing concatenation."""
    import keras
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense, QEinsumDense

    keras.utils.set_random_seed(5)
    with QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="SAT", round_mode="RND"):
        inp = keras.Input((6, 3), name="x")
        h = QEinsumDense("...c,cd->...d", output_shape=(4,), bias_axes="d", enable_ebops=False, enable_oq=True, name="ell")(inp)
        t = keras.layers.Activation("tanh", name="tanh")(h)
        c = keras.layers.Concatenate(axis=1, name="cat")([t, h])  # (12, 4): along the position axis
        c = keras.layers.Reshape((48,), name="flat")(c)
        out = QDense(3, name="out")(c)
        model = keras.Model(inp, out, name="ellipsis")
    x = np.random.default_rng(5).normal(size=(512, 6, 3)).astype(np.float32)
    from hgq.utils import trace_minmax  # untrained; EBOPs off: HGQ2 cannot count them for `...`

    trace_minmax(model, x, verbose=False)
    path = tmp_path_factory.mktemp("ellipsis") / "ellipsis.keras"
    model.save(path)
    return model, path


def test_ellipsis_einsum_and_activation_table(ellipsis_model, tmp_path):
    model, path = ellipsis_model
    xs = _random_inputs(model, 2000, 9)
    expected = keras_predict(model, xs)
    assert int(np.sum(run_hgq(import_model(model), xs)["out"].to_float() != expected[0])) == 0
    compile_model(str(path), tmp_path, behavioral_adders())
    mismatches, total, _ = verify(str(path), tmp_path, 1000)
    assert total == 3000 and mismatches == 0
