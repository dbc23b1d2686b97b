"""Bad models: one line on stderr naming the layer and its class, exit 1, no traceback, no output."""

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
    return {
        "plain": _save(plain, root / "plain.keras"),
        "norm": _save(norm, root / "norm.keras"),
        "tanh": _save(tanh, root / "tanh.keras"),
    }


@pytest.mark.parametrize(
    "name, message",
    [
        ("plain", "layer 'plain_dense' (Dense) is not supported"),
        ("norm", "layer 'ln' (LayerNormalization) is not supported"),
        ("tanh", "layer 'd_tanh' (QDense): activation 'tanh' is not supported"),
    ],
)
def test_unsupported_layers(bad_models, tmp_path, name, message):
    out = tmp_path / "out"
    proc = subprocess.run(["hgq-opt", str(bad_models[name]), "-t", "verilog", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists()
