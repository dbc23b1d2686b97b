"""Every layer test model (tests/layer_models.py: linear layers, tables, wiring, products,
softmax, attention, recurrent, spiking and Bidirectional layers): Keras == hgq interpreter ==
fx interpreter == simulated RTL on every output bit, combinational and pipelined, each
product model with both multiplier kinds, with negative controls; options not compiled are
one-line errors."""

import json

import numpy as np
import pytest
from layer_models import BUILDERS
from tests_support import behavioral_adders, fx_outputs
from xdsl.dialects import func

from hgq_mlir.backend.verify import compare, compile_model, keras_predict, verify
from hgq_mlir.frontend.keras import FrontendError, import_model
from hgq_mlir.interp.hgq import run_hgq

PRODUCTS = ("attention", "attention_masked", "attention_variants", "bidirectional", "contraction", "multiply", "recurrent", "snn", "softmax")


@pytest.fixture(params=sorted(BUILDERS))
def layer_model(request, trained):
    return trained(BUILDERS[request.param], seed=2)


@pytest.fixture(params=PRODUCTS)
def product_model(request, trained):
    return trained(BUILDERS[request.param], seed=2)


def _inputs(model, n: int, seed: int) -> np.ndarray:
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    return (np.random.default_rng(seed).normal(size=(n, *shape)) * 2).astype(np.float32).reshape(n, -1)


def test_hgq_interpreter_matches_keras(layer_model):
    model, _ = layer_model
    x = _inputs(model, 2000, 5)
    expected = keras_predict(model, x)
    got = run_hgq(import_model(model), [x])["out"].to_float()
    assert got.shape == expected.shape
    assert int(np.sum(got != expected)) == 0
    wrong = expected.copy()
    wrong[17, 0] += 2.0**-12  # negative control: one value off by a tiny step is seen
    assert int(np.sum(got != wrong)) == 1


def test_fx_interpreter_matches_keras(layer_model, compiled):
    model, path = layer_model
    _, rtl_dir = compiled(path)
    interface = json.loads((rtl_dir / f"{model.name}.json").read_text())
    got, expected = fx_outputs(model, interface)
    for port, y in expected.items():
        assert compare(interface, y, got, port) == 0
        flipped = {port: {i: (v ^ 1 if i == 0 else v) for i, v in got[port].items()}}
        if 0 in got[port]:
            assert compare(interface, y, flipped, port) > 0


@pytest.mark.parametrize("pipeline", ["hgq-standard", "hgq-standard{latency-cutoff=2}"])
def test_rtl_matches_keras(layer_model, compiled, verified, pipeline):
    model, path = layer_model
    _, rtl_dir = compiled(path, pipeline)
    mismatches, total, _ = verified(path, rtl_dir, 1000)
    assert total == 1000 * int(np.prod(model.outputs[0].shape[1:]))
    assert mismatches == 0


@pytest.mark.parametrize("pipeline", ["hgq-standard{multiplier=lut}", "hgq-standard{multiplier=dsp latency-cutoff=2}"])
def test_products_with_each_multiplier(product_model, compiled, verified, pipeline):
    model, path = product_model
    report, rtl_dir = compiled(path, pipeline)
    verilog = (rtl_dir / f"{model.name}.v").read_text()
    # DSP blocks are counted for the products written as `*`, and only with multiplier=dsp
    # (snn multiplies by 1-bit spikes: selects in LUTs with either option)
    assert (report["dsps"] > 0) == (" * " in verilog) == ("dsp" in pipeline and model.name != "snn")
    mismatches, total, _ = verified(path, rtl_dir, 1000)
    assert total == 1000 * int(np.prod(model.outputs[0].shape[1:]))
    assert mismatches == 0


def test_softmax_activation_is_not_a_table(tmp_path):
    """Activation('softmax') is not elementwise: a one-line error, not a wrong table."""
    import keras
    from hgq.layers import QUnaryFunctionLUT

    inp = keras.Input((4,), name="inp")
    out = keras.layers.Activation("softmax", name="sm")(QUnaryFunctionLUT("tanh", name="t")(inp))
    model = keras.Model(inp, out, name="sm")
    with pytest.raises(FrontendError, match="'sm' .*not an elementwise function"):
        import_model(model)


def test_average_of_three_is_refused():
    """Keras's Average of three divides by 3 in float32, which no fixed-point result matches."""
    import keras
    from hgq.layers import QDense

    inp = keras.Input((4,), name="inp")
    xs = [QDense(2, enable_oq=True, name=f"d{n}")(inp) for n in range(3)]
    out = keras.layers.Average(name="mean3")(xs)
    with pytest.raises(FrontendError, match="'mean3' .*average of 3 inputs"):
        import_model(keras.Model(inp, out, name="mean3"))


def test_keras_merge_of_a_float_input_is_refused():
    import keras

    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    out = keras.layers.Add(name="plain")([a, b])
    with pytest.raises(FrontendError, match="'plain' .*needs a quantized layer before it"):
        import_model(keras.Model([a, b], out, name="plain"))


def test_bilinear_upsampling_is_refused():
    import keras
    from hgq.layers import QConv2D

    inp = keras.Input((3, 3, 1), name="inp")
    out = keras.layers.UpSampling2D(2, interpolation="bilinear", name="up")(QConv2D(1, 1, name="c")(inp))
    with pytest.raises(FrontendError, match="'up' .*does not only move elements"):
        import_model(keras.Model(inp, out, name="up"))


@pytest.fixture
def shared_model(trained):
    return trained(BUILDERS["shared_input"], seed=2)


def test_shared_input_port_holds_every_reader(shared_model, tmp_path):
    """Each input element arrives in (max k, max i, max f) over the quantizers that read it."""
    from hgq_mlir.dialects import hgq

    model, path = shared_model
    compile_model(str(path), tmp_path, behavioral_adders("hgq-standard{prune=false}"))
    interface = json.loads((tmp_path / f"{model.name}.json").read_text())
    n = int(np.prod(model.inputs[0].shape[1:]))
    readers = [[] for _ in range(n)]
    func_op = next(op for op in import_model(model).ops if isinstance(op, func.FuncOp))
    views = {}
    for op in func_op.body.ops:
        if isinstance(op, hgq.InputOp):
            views[op.result] = np.arange(n)
        elif isinstance(op, hgq.GatherOp) and op.input in views:
            views[op.result] = views[op.input][np.asarray(op.index.get_values())]
        elif isinstance(op, hgq.QuantizeOp) and op.input in views:
            for j, (k, i, f) in enumerate(zip(*op.kif())):
                if k + i + f > 0:
                    readers[views[op.input][j]].append((int(k), max(int(i), -int(f)), int(f)))
    assert sum(len({r for r in rs}) > 1 for rs in readers) > 0, "no element is read in two formats"
    elements = {e["index"]: e for e in interface["inputs"][0]["elements"]}
    for index, rs in enumerate(readers):
        k, i, f = (max(r[a] for r in rs) for a in range(3))
        assert (elements[index]["signed"], elements[index]["width"], elements[index]["frac"]) == (bool(k), k + i + f, f)


def test_input_format_override(shared_model, tmp_path):
    model, path = shared_model
    compile_model(str(path), tmp_path, behavioral_adders("hgq-standard{input-format=1,4,6}"))
    interface = json.loads((tmp_path / f"{model.name}.json").read_text())
    assert {(e["width"], e["frac"], e["signed"]) for e in interface["inputs"][0]["elements"]} == {(11, 6, True)}
    mismatches, total, _ = verify(str(path), tmp_path, 500)
    assert total > 0 and mismatches == 0


def test_input_format_too_narrow_is_refused(shared_model, tmp_path):
    import subprocess
    import sys

    _, path = shared_model
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "hgq_mlir.driver", str(path), "-t", "verilog", "-o", str(out),
                           "-p", "hgq-standard{input-format=0,1,0}"], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "input-format=0,1,0 cannot hold input 'inp' element" in lines[0]
    assert not out.exists()


def test_attention_mask_tensor_is_refused():
    """A call option that changes the arithmetic and is not compiled (a mask from the data) is
    a one-line error, not ignored."""
    import keras
    from hgq.layers import QMultiHeadAttention

    inp = keras.Input((4, 2), name="inp")
    mask = keras.Input((4, 4), name="mask", dtype="bool")
    out = QMultiHeadAttention(num_heads=1, key_dim=2, name="mha")(inp, inp, attention_mask=mask)
    with pytest.raises(FrontendError, match="'mha' .*attention_mask=a tensor is not supported"):
        import_model(keras.Model([inp, mask], out, name="masked"))


def test_query_that_sees_no_key_is_refused():
    """A sliding window that leaves a query no key (HGQ2 then outputs a zero row) is a one-line
    error naming the query."""
    import keras
    from hgq.layers import QMultiHeadAttention

    q, v = keras.Input((6, 2), name="q"), keras.Input((2, 2), name="v")
    out = QMultiHeadAttention(num_heads=1, key_dim=2, sliding_window=2, name="mha")(q, v)
    with pytest.raises(FrontendError, match="'mha' .*sliding_window=2, query 3 sees no key"):
        import_model(keras.Model([q, v], out, name="blind"))


def test_attention_masks_are_compiled(trained, monkeypatch):
    """Negative control for the masked attention model (causal and sliding-window masks): the
    hgq interpreter matches Keras, and the same model imported without its masks does not."""
    import hgq_mlir.frontend.keras as frontend

    model, _ = trained(BUILDERS["attention_masked"], seed=2)
    x = _inputs(model, 500, 7)
    expected = keras_predict(model, x)
    assert int(np.sum(run_hgq(import_model(model), [x])["out"].to_float() != expected)) == 0
    monkeypatch.setattr(frontend, "_attention_allowed", lambda *args: None)
    assert int(np.sum(run_hgq(import_model(model), [x])["out"].to_float() != expected)) > 0


def test_attention_inputs_passed_by_name(monkeypatch):
    """Attention's query, value and key passed by keyword (which Keras lists sorted by name)
    are read by role: the hgq interpreter matches Keras, and read in Keras's order it does not."""
    import keras
    from hgq.layers import QDense, QMultiHeadAttention

    import hgq_mlir.frontend.keras as frontend

    keras.utils.set_random_seed(3)
    q, v, k = (keras.Input((4, 3), name=n) for n in ("q", "v", "k"))
    h = QMultiHeadAttention(num_heads=1, key_dim=2, name="mha")(q, value=v, key=k)
    out = QDense(2, enable_oq=True, name="out")(keras.layers.Flatten(name="flat")(h))
    model = keras.Model([q, v, k], out, name="by_name")
    xs = [(np.random.default_rng(n).normal(size=(300, 12)) * 2).astype(np.float32) for n in range(3)]
    expected = model.predict([x.reshape(-1, 4, 3) for x in xs], verbose=0).reshape(300, -1)
    assert int(np.sum(run_hgq(import_model(model), xs)["out"].to_float() != expected)) == 0
    monkeypatch.setattr(frontend, "_input_tensors", lambda layer, node: list(node.input_tensors))
    assert int(np.sum(run_hgq(import_model(model), xs)["out"].to_float() != expected)) > 0


def test_channels_first_flatten_moves_the_first_axis_last():
    """Keras's Flatten(data_format="channels_first") transposes before it flattens: the hgq
    interpreter matches it, and not the channels-last model with the same weights."""
    import keras
    from hgq.layers import QDense

    def build(data_format):
        keras.utils.set_random_seed(4)
        inp = keras.Input((3, 2), name="inp")
        out = QDense(2, enable_oq=True, name="out")(keras.layers.Flatten(data_format=data_format, name="flat")(inp))
        return keras.Model(inp, out, name=f"flat_{data_format}")

    first, last = build("channels_first"), build("channels_last")
    x = (np.random.default_rng(0).normal(size=(300, 6)) * 2).astype(np.float32)
    got = run_hgq(import_model(first), [x])["out"].to_float()
    assert int(np.sum(got != keras_predict(first, x))) == 0
    assert int(np.sum(got != keras_predict(last, x))) > 0


def test_float16_compute_is_refused():
    """A layer Keras computes in float16 (a mixed-precision policy) does not sum exactly as
    the compiled design does: one line naming the layer and the dtype."""
    import keras
    from hgq.layers import QDense

    inp = keras.Input((4,), name="inp")
    out = QDense(2, dtype="mixed_float16", name="half")(inp)
    with pytest.raises(FrontendError, match="'half' .*compute dtype float16 is not supported"):
        import_model(keras.Model(inp, out, name="half"))


def test_backward_layers_read_time_in_reverse(trained, monkeypatch):
    """Bidirectional wrappers and `go_backwards` layers: the hgq interpreter matches Keras, and
    the same model imported reading every layer forwards does not (the order is compiled, not
    lost)."""
    import hgq_mlir.frontend.keras as frontend

    model, _ = trained(BUILDERS["bidirectional"], seed=2)
    x = _inputs(model, 500, 7)
    expected = keras_predict(model, x)
    assert int(np.sum(run_hgq(import_model(model), [x])["out"].to_float() != expected)) == 0
    monkeypatch.setattr(frontend, "_time_steps", lambda layer, steps: range(steps))
    assert int(np.sum(run_hgq(import_model(model), [x])["out"].to_float() != expected)) > 0


def test_bidirectional_last_step_matches_keras(monkeypatch):
    """Bidirectional without the sequence: the two final states concatenated (untrained, its
    ranges traced); read forwards only, the backward half is seen to differ."""
    import keras
    from hgq.layers import QDense, QSimpleRNN
    from hgq.utils import trace_minmax

    import hgq_mlir.frontend.keras as frontend

    keras.utils.set_random_seed(1)
    inp = keras.Input((3, 2), name="inp")
    h = keras.layers.Bidirectional(QSimpleRNN(2), name="bi")(inp)
    model = keras.Model(inp, QDense(2, enable_oq=True, name="out")(h), name="last_step")
    x = _inputs(model, 300, 3)
    trace_minmax(model, x.reshape(300, 3, 2), verbose=False)
    expected = keras_predict(model, x)
    assert int(np.sum(run_hgq(import_model(model), [x])["out"].to_float() != expected)) == 0
    monkeypatch.setattr(frontend, "_time_steps", lambda layer, steps: range(steps))
    assert int(np.sum(run_hgq(import_model(model), [x])["out"].to_float() != expected)) > 0


def test_bidirectional_options_are_refused():
    import keras
    from hgq.layers import QSimpleRNN

    inp = keras.Input((3, 2), name="inp")
    out = keras.layers.Bidirectional(QSimpleRNN(2), merge_mode="ave", name="bi")(inp)
    with pytest.raises(FrontendError, match="'bi' .*merge_mode='ave' is not supported"):
        import_model(keras.Model(inp, out, name="ave"))
    out = keras.layers.Bidirectional(keras.layers.LSTM(2), name="bi_lstm")(inp)
    with pytest.raises(FrontendError, match="'bi_lstm' .*a wrapped LSTM is not supported"):
        import_model(keras.Model(inp, out, name="lstm"))


def test_spiking_options_are_refused():
    """Spiking-layer options whose arithmetic is not compiled (inhibition's argmax, a surrogate
    that is not an exact step) are a one-line error naming the option."""
    import keras
    from hgq.layers import QLIF, QSimpleSNN
    from hgq.layers.snn import ATan

    inp = keras.Input((3, 2), name="inp")
    with pytest.warns(UserWarning, match="Inhibition"):
        a = QSimpleSNN(2, inhibition=True, name="inhib")(inp)
    with pytest.raises(FrontendError, match="'inhib' .*inhibition=True is not supported"):
        import_model(keras.Model(inp, a, name="inhib"))
    b = QLIF(2, spike_grad=ATan(-1.0), name="neg")(inp)
    with pytest.raises(FrontendError, match=r"'neg' .*spike_grad=ATan\(alpha=-1.0\) is not supported"):
        import_model(keras.Model(inp, b, name="neg"))
    c = QLIF(2, name="ok")(inp)
    import_model(keras.Model(inp, c, name="ok"))  # the defaults compile


def test_values_wider_than_float32_are_named():
    """A dense sum whose bias sits 2^-28 below its products needs more than float32's 24
    significant bits (Keras rounds it, the RTL does not): `float32_rounded` names the layer,
    which `hgq-verify` prints beside its mismatches; with a coarse bias it names none."""
    import keras
    from hgq.layers import QDense
    from hgq.quantizer import QuantizerConfig

    from hgq_mlir.backend.verify import FLOAT32_BITS, float32_rounded

    def build(bias: float):
        keras.utils.set_random_seed(1)
        inp = keras.Input((3,), name="inp")
        dense = QDense(1, bq_conf=QuantizerConfig("kif", "bias", i0=1, f0=30, round_mode="RND", overflow_mode="SAT"),
                       name="fine")
        model = keras.Model(inp, dense(inp), name="fine_bias")
        dense.bias.assign(np.array([bias], dtype=np.float32))
        return model

    wide = float32_rounded(build(2.0**-28))
    assert list(wide) == ["fine"] and wide["fine"] > FLOAT32_BITS
    assert float32_rounded(build(0.5)) == {}
    # a table's entries are float32 values, on however fine a shared grid: never named
    keras.utils.set_random_seed(1)
    inp = keras.Input((3,), name="inp")
    out = keras.layers.Activation("sigmoid", name="act")(QDense(5, enable_oq=True, name="d")(inp))
    assert "act" not in float32_rounded(keras.Model(inp, out, name="table"))


def test_crop_of_the_end_keeps_the_prefix():
    """A crop that keeps the first elements (Cropping1D((0, 1))) drops the rest: the output
    has Keras's size and values (the element map is the identity on a prefix)."""
    import keras
    from hgq.layers import QDense

    keras.utils.set_random_seed(2)
    inp = keras.Input((4,), name="inp")
    h = keras.layers.Reshape((3, 2), name="rs")(QDense(6, enable_oq=True, name="d")(inp))
    out = keras.layers.Flatten(name="flat")(keras.layers.Cropping1D((0, 1), name="crop")(h))
    model = keras.Model(inp, out, name="crop_end")
    x = _inputs(model, 300, 3)
    expected = keras_predict(model, x)
    got = run_hgq(import_model(model), [x])["out"].to_float()
    assert got.shape == expected.shape == (300, 4)
    assert int(np.sum(got != expected)) == 0
