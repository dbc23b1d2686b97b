"""Bad models: one line on stderr naming the layer and its class, exit 2, no traceback, no output."""

import subprocess

import pytest


def _save(model, path):
    model.save(path)
    return path


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    import keras
    from hgq.layers import QDense

    root = tmp_path_factory.mktemp("bad")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="plain_dense")], name="plain")
    norm = keras.Sequential([keras.Input((8,)), QDense(4), keras.layers.LayerNormalization(name="ln"), QDense(2)], name="norm")
    tanh = keras.Sequential([keras.Input((4,)), QDense(3, activation="tanh", name="d_tanh")], name="tanh")
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QEinsumDense, QUnaryFunctionLUT

    with QuantizerConfigScope(place="datalane", i0=8, f0=10):
        wide = keras.Sequential([keras.Input((3,)), QUnaryFunctionLUT("tanh", name="wide_tanh")], name="wide")
    pos_bias = keras.Sequential(
        [keras.Input((4, 2)), QEinsumDense("abc,cd->abd", output_shape=(4, 3), bias_axes="bd", bias_initializer="random_normal", name="pos_bias")], name="pb"
    )
    return {
        "wide": _save(wide, root / "wide.keras"),
        "pos_bias": _save(pos_bias, root / "pos_bias.keras"),
        "plain": _save(plain, root / "plain.keras"),
        "norm": _save(norm, root / "norm.keras"),
        "tanh": _save(tanh, root / "tanh.keras"),
    }


@pytest.mark.parametrize(
    "name, message",
    [
        ("plain", "layer 'plain_dense' (Dense) is not supported"),
        ("wide", "layer 'wide_tanh' (QUnaryFunctionLUT): an input takes"),
        ("pos_bias", "layer 'pos_bias' (QEinsumDense): a bias that varies along the position axes is not supported"),
        ("norm", "layer 'ln' (LayerNormalization) is not supported"),
        ("tanh", "layer 'd_tanh' (QDense): activation 'tanh' is not supported"),
    ],
)
def test_unsupported_layers(bad_models, tmp_path, name, message):
    out = tmp_path / "out"
    proc = subprocess.run(["hgq-opt", str(bad_models[name]), "-t", "verilog", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists()
