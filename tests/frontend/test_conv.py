"""Convolution and max pooling: Keras == hgq interpreter == simulated RTL, zero mismatches."""

import os
import subprocess

import numpy as np
import pytest

from tests_support import behavioral_adders

from hgq_mlir.backend.verify import compile_model, verify
from hgq_mlir.frontend.keras import import_model, sliding_windows
from hgq_mlir.interp.hgq import run_hgq



@pytest.fixture(scope="module", params=[(1, 1), (2, 1), (1, 3), (2, 2)],
                ids=["conv1d", "conv2d", "conv1d_dilated", "conv2d_dilated"])
def conv_model(request, trained):
    dims, dilation = request.param
    return trained("build_conv_model", dims=dims, seed=2, dilation=dilation)


def test_interpreter_matches_keras(conv_model):
    model, _ = conv_model
    shape = tuple(model.inputs[0].shape[1:])
    x = (np.random.default_rng(4).normal(size=(1500, *shape)) * 2).astype(np.float32)
    expected = model.predict(x, verbose=0, batch_size=1500)
    got = run_hgq(import_model(model), [x.reshape(len(x), -1)])["out"].to_float()
    assert int(np.sum(got != expected)) == 0


@pytest.mark.parametrize("pipeline", ["hgq-standard", "hgq-standard{latency-cutoff=3}"])
def test_rtl_matches_keras(conv_model, compiled, pipeline):
    _, path = conv_model
    _, rtl_dir = compiled(path, pipeline)
    mismatches, total, _ = verify(str(path), rtl_dir, 1000)
    assert total == 3000 and mismatches == 0


def test_one_solution_per_kernel(conv_model):
    """The kernel's adder graph is solved once and reused: adders grow with positions, the
    solver runs once per distinct pattern of live inputs (border positions differ)."""
    from xdsl.context import Context

    import hgq_mlir.passes.lower_hgq_to_fx as lowering

    model, _ = conv_model
    calls = []
    real = lowering.build_graph

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    lowering.build_graph = counting
    try:
        lowering.LowerHgqToFx().apply(Context(), import_model(model))
    finally:
        lowering.build_graph = real
    assert 0 < len(calls) < 40  # 3 layers; a conv has at most a few border patterns, not one per position


def test_sliding_windows_same_padding():
    out, index = sliding_windows((5, 1), (3,), (2,), "same")
    assert out == (3,)
    assert index[:, :, 0].tolist() == [[-1, 0, 1], [1, 2, 3], [3, 4, -1]]


def test_sliding_windows_dilated_same_padding():
    # three taps two apart span five inputs: TensorFlow pads two on each side
    out, index = sliding_windows((7, 1), (3,), (1,), "same", (2,))
    assert out == (7,)
    assert index[:, :, 0].tolist() == [[-1, 0, 2], [-1, 1, 3], [0, 2, 4], [1, 3, 5], [2, 4, 6], [3, 5, -1], [4, 6, -1]]


def test_groups_are_refused_with_their_name(tmp_path):
    import keras
    from hgq.layers import QConv1D

    model = keras.Sequential([keras.Input((10, 2)), QConv1D(2, 3, groups=2, name="grouped")], name="grouped")
    path = tmp_path / "grouped.keras"
    model.save(path)
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # as a user runs it: numpy backend
    proc = subprocess.run(["hgq-opt", str(path)], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "hgq-opt: layer 'grouped' (QConv1D): groups=2 is not supported (1)"


@pytest.fixture(scope="module", params=["avg", "max"])
def pool_norm_model(request, trained):
    return trained("build_pool_norm_model", seed=3, global_pool=request.param)


def test_batchnorm_and_pooling_bit_exact(pool_norm_model, compiled):
    """QBatchNormalization, a power-of-two average pool, a conv, global pooling, a dense head."""
    model, path = pool_norm_model
    x = (np.random.default_rng(5).normal(size=(1000, 8, 8, 2)) * 2).astype(np.float32)
    expected = model.predict(x, verbose=0, batch_size=1000)
    got = run_hgq(import_model(model), [x.reshape(len(x), -1)])["out"].to_float()
    assert int(np.sum(got != expected)) == 0
    _, rtl_dir = compiled(path)
    mismatches, total, _ = verify(str(path), rtl_dir, 1000)
    assert total == 2000 and mismatches == 0


def test_batchnorm_dense_and_keras_glue_layers(tmp_path):
    """QBatchNormDense (folded as HGQ2 folds it), a Keras ReLU layer, Reshape, Activation."""
    import keras
    from hgq.layers import QBatchNormDense, QDense

    from zoo import synthetic_data

    keras.utils.set_random_seed(0)
    x, y = synthetic_data(2048, seed=3)
    model = keras.Sequential(
        [
            keras.Input((16,)),
            QBatchNormDense(16, name="bnd"),
            keras.layers.ReLU(name="act"),
            keras.layers.Reshape((4, 4), name="rs"),
            keras.layers.Flatten(),
            QDense(8, activation="relu"),
            keras.layers.Activation("linear"),
            QDense(5, name="out"),
        ],
        name="bnd",
    )
    model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    xt = (np.random.default_rng(1).normal(size=(1000, 16)) * 2).astype(np.float32)
    expected = model.predict(xt, verbose=0)
    assert int(np.sum(run_hgq(import_model(model), [xt])["out"].to_float() != expected)) == 0
    path = tmp_path / "bnd.keras"
    model.save(path)
    compile_model(str(path), tmp_path / "rtl", behavioral_adders())
    mismatches, total, _ = verify(str(path), tmp_path / "rtl", 1000)
    assert total == 5000 and mismatches == 0


def test_residual_merges_bit_exact(trained, compiled):
    """A graph, not a chain: residual QAdd, QMaximum, QSubtract between Conv1D branches."""
    model, path = trained("build_residual_model", seed=1)
    x = (np.random.default_rng(6).normal(size=(1000, 12, 3)) * 2).astype(np.float32)
    expected = model.predict(x, verbose=0, batch_size=1000)
    assert int(np.sum(run_hgq(import_model(model), [x.reshape(len(x), -1)])["out"].to_float() != expected)) == 0
    for pipeline in ("hgq-standard", "hgq-standard{latency-cutoff=2}"):
        _, rtl_dir = compiled(path, pipeline)
        mismatches, total, _ = verify(str(path), rtl_dir, 600)
        assert total == 600 and mismatches == 0
