"""Small, seeded HGQ2 models (the README's example and the test models).

Training is quick (seconds) and deterministic for a given seed on one machine.
"""

from __future__ import annotations

import os

import numpy as np

KINDS = ("jsc", "pruned", "sat_trn", "linear_wide")


def _keras():
    """Keras on TensorFlow, quiet (imported here, lazily: IR-only commands never need it)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras

    return keras


def synthetic_data(n: int, n_in: int = 16, n_out: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A jet-tagging-like task: 16 features, 5 classes from a random nonlinear teacher.

    The last quarter of the features is noise the teacher ignores (pruning should find it).
    """
    teacher = np.random.default_rng(1234)  # one task; `seed` draws the samples
    w1 = teacher.normal(size=(n_in, 32))
    w1[n_in - n_in // 4 :] = 0
    w2 = teacher.normal(size=(32, n_out))
    x = np.random.default_rng(seed).normal(size=(n, n_in)).astype(np.float32)
    y = np.argmax(np.tanh(x @ w1) @ w2, axis=1)
    return x, np.eye(n_out, dtype=np.float32)[y]


def build_model(kind: str = "jsc", seed: int = 0, epochs: int | None = None, n_train: int = 4096):
    """Train one of the test/example models; returns a keras.Model."""
    keras = _keras()
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QDense
    from hgq.utils import trace_minmax
    from hgq.utils.sugar import FreeEBOPs

    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r} (choose from {', '.join(KINDS)})")
    if epochs is None:
        epochs = 12 if kind == "pruned" else 8  # the resource penalty needs time to zero weights
    keras.utils.set_random_seed(seed)
    x, y = synthetic_data(n_train, seed=seed)

    weight_bits = 8 if kind == "linear_wide" else 3
    beta0 = {"pruned": 3e-4, "jsc": 3e-5}.get(kind, 1e-6)
    datalane = {"default_q_type": "kif", "overflow_mode": "WRAP", "round_mode": "RND"}
    if kind == "sat_trn":
        datalane = {"default_q_type": "kif", "overflow_mode": "SAT", "round_mode": "TRN"}
    hidden = "linear" if kind == "linear_wide" else "relu"

    with (
        QuantizerConfigScope(place="weight", q_type="kbi", b0=weight_bits, i0=0),
        QuantizerConfigScope(place="bias", q_type="kbi", b0=weight_bits, i0=2),
        QuantizerConfigScope(place="datalane", **datalane),
        LayerConfigScope(enable_ebops=True, beta0=beta0),
    ):
        model = keras.Sequential(
            [
                keras.Input((16,), name="inp"),
                QDense(64, activation="relu", name="dense1"),
                QDense(32, activation=hidden, name="dense2"),
                QDense(32, activation="relu", name="dense3"),
                QDense(5, name="out"),
            ],
            name=kind,
        )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    # Adam moves a bit width by at most ~lr per step: the pruned model needs many small steps
    batch = 32 if kind in ("pruned", "jsc") else 128
    model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0, callbacks=[FreeEBOPs()])
    trace_minmax(model, x, verbose=False)
    return model


def build_tiny_model(seed: int = 3, epochs: int = 3):
    """A 6-4-3 QDense model with biases and SAT/RND_CONV quantizers: small enough to synthesize."""
    keras = _keras()
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense

    keras.utils.set_random_seed(seed)
    x, y = synthetic_data(1024, n_in=6, n_out=3, seed=seed)
    with (
        QuantizerConfigScope(place="weight", q_type="kbi", b0=4, i0=1),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="SAT", round_mode="RND_CONV", i0=2, f0=3),
    ):
        model = keras.Sequential(
            [keras.Input((6,), name="inp"), QDense(4, activation="relu", name="hidden"), QDense(3, name="logits")],
            name="tiny",
        )
    model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return model


def build_conv_model(dims: int = 2, seed: int = 0, epochs: int = 2, dilation: int = 1):
    """A small image (dims=2: 8x8x1) or sequence (dims=1: 16x2) classifier:
    QConv (same padding, relu, `dilation`) -> QMaxPool -> QConv (valid, stride 2) -> Flatten -> QDense."""
    keras = _keras()
    from hgq.config import LayerConfigScope, QuantizerConfigScope
    from hgq.layers import QConv1D, QConv2D, QDense, QMaxPooling1D, QMaxPooling2D

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    shape = (8, 8, 1) if dims == 2 else (16, 2)
    x = rng.normal(size=(2048, *shape)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x.reshape(len(x), -1)[:, ::3].sum(1) > 0).astype(int) + (x.max(axis=tuple(range(1, x.ndim))) > 2.5)]
    conv, pool = (QConv2D, QMaxPooling2D) if dims == 2 else (QConv1D, QMaxPooling1D)
    with (
        QuantizerConfigScope(place="weight", q_type="kbi", b0=3, i0=0),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", round_mode="RND"),
        LayerConfigScope(enable_ebops=True, beta0=1e-5),
    ):
        model = keras.Sequential(
            [
                keras.Input(shape, name="inp"),
                conv(4, 3, padding="same", dilation_rate=dilation, activation="relu", name="conv1"),
                pool(2, name="pool1"),
                conv(4, 3, strides=2, activation="relu", name="conv2"),
                keras.layers.Flatten(name="flatten"),
                QDense(3, name="out"),
            ],
            name=f"conv{dims}d" + (f"_dilated{dilation}" if dilation > 1 else ""),
        )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    from hgq.utils import trace_minmax

    trace_minmax(model, x, verbose=False)
    return model


def build_pool_norm_model(seed: int = 0, epochs: int = 2, global_pool: str = "avg"):
    """QBatchNormalization, average pooling, a conv, global (avg or max) pooling, a dense head."""
    keras = _keras()
    from hgq.config import QuantizerConfigScope
    from hgq.layers import (
        QAveragePooling2D,
        QBatchNormalization,
        QConv2D,
        QDense,
        QGlobalAveragePooling2D,
        QGlobalMaxPooling2D,
    )

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1024, 8, 8, 2)).astype(np.float32) * 2 + 0.5
    y = np.eye(2, dtype=np.float32)[(x[..., 0].mean((1, 2)) > x[..., 1].mean((1, 2))).astype(int)]
    with QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="SAT", round_mode="RND"):
        inp = keras.Input((8, 8, 2), name="inp")
        h = QBatchNormalization(name="bn")(inp)
        h = QAveragePooling2D(2, name="avg")(h)
        h = QConv2D(4, 3, activation="relu", name="conv")(h)
        h = (QGlobalAveragePooling2D if global_pool == "avg" else QGlobalMaxPooling2D)(name="global")(h)
        h = QDense(2, name="out")(h)
        model = keras.Model(inp, h, name="poolnorm")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    from hgq.utils import trace_minmax

    trace_minmax(model, x, verbose=False)
    return model


def build_residual_model(seed: int = 0, epochs: int = 2):
    """A Conv1D model with a residual add, a subtract and a max merge (muon-tracking-like
    shape: Conv1D over hits, residual adds, dense regression head)."""
    keras = _keras()
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QAdd, QConv1D, QDense, QMaximum, QSubtract

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1024, 12, 3)).astype(np.float32)
    y = (x[:, :, 0] * np.linspace(-1, 1, 12)).sum(1, keepdims=True).astype(np.float32)
    with QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", round_mode="RND"):
        inp = keras.Input((12, 3), name="inp")
        a = QConv1D(3, 3, padding="same", activation="relu", name="conv1")(inp)
        b = QConv1D(3, 3, padding="same", name="conv2")(a)
        h = QAdd(name="residual")([inp, b])
        c = QConv1D(3, 1, name="conv3")(h)
        h = QMaximum(name="maxmerge")([h, c])
        h = QSubtract(name="diff")([h, a])
        h = keras.layers.Flatten()(h)
        out = QDense(1, name="out")(h)
        model = keras.Model(inp, out, name="residual")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    from hgq.utils import trace_minmax

    trace_minmax(model, x, verbose=False)
    return model


def _fit_and_trace(model, x, y, loss, epochs: int):
    import keras
    from hgq.utils import trace_minmax

    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss)
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    trace_minmax(model, x, verbose=False)
    return model


def build_muon_model(seed: int = 0, epochs: int = 2, hits: int = 16):
    """Shaped like HGQ's muon-tracking task: Conv1D over detector hits, a residual add, a
    tanh lookup table (QUnaryFunctionLUT), a dense regression head."""
    keras = _keras()
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QAdd, QConv1D, QDense, QUnaryFunctionLUT

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(1024, hits, 3)).astype(np.float32)
    slope = np.linspace(-1, 1, hits)
    y = np.stack([(x[:, :, 0] * slope).sum(1), np.tanh(x[:, :, 1].mean(1))], 1).astype(np.float32)
    with QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", round_mode="RND"):
        inp = keras.Input((hits, 3), name="hits")
        a = QConv1D(4, 3, padding="same", activation="relu", name="conv1")(inp)
        b = QConv1D(4, 3, padding="same", name="conv2")(a)
        h = QAdd(name="residual")([a, b])
        h = QUnaryFunctionLUT("tanh", name="tanh")(h)
        h = keras.layers.Flatten(name="flatten")(h)
        h = QDense(8, activation="relu", name="dense1")(h)
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="muon")
    return _fit_and_trace(model, x, y, "mse", epochs)


def build_multi_io_model(seed: int = 0, epochs: int = 2):
    """Two inputs, two outputs: QEinsumDense (per-position and transposed forms), a sigmoid
    table, Concatenate along the channel and flat axes, two dense heads."""
    keras = _keras()
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense, QEinsumDense, QUnaryFunctionLUT

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    xa = rng.normal(size=(1024, 8, 4)).astype(np.float32)
    xb = rng.normal(size=(1024, 8, 2)).astype(np.float32)
    y0 = np.stack([xa[:, :, 0].sum(1), xb[:, :, 1].max(1)], 1).astype(np.float32)
    y1 = (xa[:, :, 1] * xb[:, :, 0]).mean(1, keepdims=True).astype(np.float32)
    with QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", round_mode="RND"):
        a_in = keras.Input((8, 4), name="tracks")
        b_in = keras.Input((8, 2), name="towers")
        a = QEinsumDense("abc,cd->abd", output_shape=(8, 5), bias_axes="d", activation="relu", name="per_track")(a_in)
        t = QEinsumDense("abc,cd->adb", output_shape=(3, 8), name="transposed")(a_in)
        b = QUnaryFunctionLUT("sigmoid", name="sigmoid")(b_in)
        h = keras.layers.Concatenate(axis=-1, name="join")([a, b])  # (8, 7): interleaved
        h = keras.layers.Flatten(name="flat")(h)
        t = keras.layers.Flatten(name="flat_t")(t)
        h = keras.layers.Concatenate(name="join_all")([h, t])
        h = QDense(12, activation="relu", name="hidden")(h)
        out0 = QDense(2, name="head0")(h)
        out1 = QDense(1, name="head1")(h)
        model = keras.Model([a_in, b_in], [out0, out1], name="multi_io")
    return _fit_and_trace(model, [xa, xb], [y0, y1], "mse", epochs)


def build_dense_square(n: int = 512, seed: int = 0):
    """An untrained QDense(n) on n inputs, for the large-layer compile benchmark: 8-bit KBI weights
    (one integer bit) drawn uniformly in +-1.5 (nearly all nonzero, hundreds of distinct values),
    8-bit inputs; the quantizer ranges are traced on random data."""
    keras = _keras()
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense
    from hgq.utils import trace_minmax

    keras.utils.set_random_seed(seed)
    with (
        QuantizerConfigScope(place="weight", q_type="kbi", b0=8, i0=1),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", round_mode="RND", i0=2, f0=5),
    ):
        inp = keras.Input((n,), name="inp")
        out = QDense(n, name="out", kernel_initializer=keras.initializers.RandomUniform(-1.5, 1.5))(inp)
        model = keras.Model(inp, out, name=f"dense{n}")
    x = np.random.default_rng(seed).normal(size=(256, n)).astype(np.float32)
    trace_minmax(model, x, verbose=False)
    return model


def build_large_model(widths: tuple[int, ...] = (64, 256, 128, 64, 10), seed: int = 0, weight_bits: int = 4):
    """An untrained dense model with random `weight_bits`-bit weights, sized for compile-time
    benchmarks (the default has ~20 000 adders); the quantizer ranges are traced on random data."""
    keras = _keras()
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense
    from hgq.utils import trace_minmax

    keras.utils.set_random_seed(seed)
    with (
        QuantizerConfigScope(place="weight", q_type="kbi", b0=weight_bits, i0=0),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="WRAP", round_mode="RND"),
    ):
        layers = [keras.Input((widths[0],), name="inp")]
        for n, w in enumerate(widths[1:]):
            last = n == len(widths) - 2
            layers.append(QDense(w, activation=None if last else "relu", name="out" if last else f"dense{n + 1}"))
        model = keras.Sequential(layers, name="large")
    x = np.random.default_rng(seed).normal(size=(512, widths[0])).astype(np.float32)
    trace_minmax(model, x, verbose=False)
    return model
