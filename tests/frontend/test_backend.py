"""hgq-opt reads a model whose layers evaluate no float function on Keras's numpy backend:
the IR must be exactly the one TensorFlow's backend gives."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import layer_models
from hgq_mlir import driver
from hgq_mlir.frontend.keras import read_only_model

JSC = Path(__file__).resolve().parents[2] / "examples" / "jsc.keras"

# (builder, kwargs) of test models made of read-only layers: dense, convolution and max
# pooling, a residual sum, products of two computed tensors, element moves
READ_ONLY = {
    "jsc": None,
    "conv2d": ("build_conv_model", {"dims": 2}),
    "residual": ("build_residual_model", {}),
    "multiply": (layer_models.multiply, {}),
    "contraction": (layer_models.contraction, {}),
    "rearrange": (layer_models.rearrange, {}),
}


def _path(trained, name: str) -> Path:
    if READ_ONLY[name] is None:
        return JSC
    builder, kwargs = READ_ONLY[name]
    return trained(builder, **kwargs)[1]


def _without_backend() -> dict:
    env = dict(os.environ)
    env.pop("KERAS_BACKEND", None)
    return env


def _ir_in_this_process(capsys, path) -> str:
    capsys.readouterr()
    assert driver.main([str(path)]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name", READ_ONLY)
def test_numpy_backend_reads_the_same_ir(trained, capsys, name):
    path = _path(trained, name)
    assert read_only_model(path)
    proc = subprocess.run(["hgq-opt", str(path)], capture_output=True, text=True, env=_without_backend())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == _ir_in_this_process(capsys, path)  # this process runs TensorFlow's backend


def test_hgq_opt_process_picks_numpy_backend():
    probe = ("import sys; from hgq_mlir.frontend.keras import prefer_numpy_backend; "
             "prefer_numpy_backend(sys.argv[1]); import keras; print(keras.backend.backend())")
    run = subprocess.run([sys.executable, "-c", probe, str(JSC)], capture_output=True, text=True, env=_without_backend())
    assert run.stdout.strip() == "numpy", run.stderr
    chosen = subprocess.run([sys.executable, "-c", probe, str(JSC)], capture_output=True, text=True,
                            env={**_without_backend(), "KERAS_BACKEND": "tensorflow"})
    assert chosen.stdout.strip().endswith("tensorflow"), chosen.stderr  # the user's choice wins


def test_comparison_sees_one_weight(trained, capsys, tmp_path):
    """Negative control: one kernel value moved by one step of its grid changes the IR."""
    model, path = trained("build_residual_model")
    reference = _ir_in_this_process(capsys, path)
    import keras

    changed = keras.models.clone_model(model)
    changed.set_weights(model.get_weights())
    layer = next(lay for lay in changed.layers if hasattr(lay, "kernel"))
    kernel = np.array(layer.kernel)
    kernel.flat[np.argmax(np.abs(kernel))] += 1.0
    layer.kernel.assign(kernel)
    changed.save(tmp_path / "changed.keras")
    assert _ir_in_this_process(capsys, tmp_path / "changed.keras") != reference


@pytest.mark.parametrize("builder", [layer_models.tables, layer_models.softmax, layer_models.recurrent,
                                     layer_models.avgpool])
def test_models_with_float_functions_stay_on_tensorflow(trained, builder):
    """Tables, softmax, gates and means evaluate float functions, which differ between backends."""
    assert not read_only_model(trained(builder)[1])


def test_unreadable_archive_is_not_read_only(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(JSC.read_bytes()[:200])
    assert not read_only_model(broken)
