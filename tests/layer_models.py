"""Small seeded HGQ2 models, each built around layers that map onto linear ops, tables or
wiring: 3-D convolution and pooling, sums and means, data-movement layers, tables."""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _train(model, shape: tuple[int, ...], seed: int, epochs: int = 2, n: int = 512):
    import keras
    from hgq.utils import trace_minmax

    rng = np.random.default_rng(seed)
    x = (rng.normal(size=(n, *shape)) * 1.5).astype(np.float32)
    out = model.outputs[0].shape[1:]
    y = np.tanh(x.reshape(n, -1)[:, : int(np.prod(out))]).reshape(n, *out).astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    trace_minmax(model, x, verbose=False)
    return model


def _scopes(overflow: str = "WRAP", round_mode: str = "RND"):
    from hgq.config import QuantizerConfigScope

    return (
        QuantizerConfigScope(place="weight", q_type="kbi", b0=3, i0=0),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode=overflow, round_mode=round_mode),
    )


def conv3d(seed: int = 0):
    """QConv3D (same and valid, strides), QMaxPooling3D, QAveragePooling3D, QGlobalMaxPooling3D."""
    import keras
    from hgq.layers import QAveragePooling3D, QConv3D, QDense, QGlobalMaxPooling3D, QMaxPooling3D

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((6, 6, 4, 2), name="inp")
        h = QConv3D(3, 3, padding="same", activation="relu", name="conv_a")(inp)
        a = QMaxPooling3D(2, name="maxpool")(h)
        b = QAveragePooling3D((2, 2, 2), name="avgpool")(h)
        h = keras.layers.Concatenate(name="cat")([a, b])
        h = QConv3D(2, (2, 2, 1), strides=(1, 1, 2), name="conv_b")(h)
        h = QGlobalMaxPooling3D(name="gmax")(h)
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="conv3d")
    return _train(model, (6, 6, 4, 2), seed)


def pool3d_global_avg(seed: int = 0):
    """QGlobalAveragePooling3D over a power-of-two volume, after a 1x1x1 QConv3D."""
    import keras
    from hgq.layers import QConv3D, QDense, QGlobalAveragePooling3D

    keras.utils.set_random_seed(seed)
    w, r = _scopes("SAT", "TRN")
    with w, r:
        inp = keras.Input((4, 2, 2, 3), name="inp")
        h = QConv3D(4, 1, activation="relu", name="conv")(inp)
        h = QGlobalAveragePooling3D(name="gavg")(h)
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="gavg3d")
    return _train(model, (4, 2, 2, 3), seed)


def sums(seed: int = 0):
    """QSum (one axis, two axes, keepdims, a scale) and QMeanPow2, into a dense head."""
    import keras
    from hgq.layers import QConv1D, QDense, QMeanPow2, QSum

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((8, 3), name="inp")
        h = QConv1D(4, 3, padding="same", activation="relu", name="conv")(inp)
        a = QSum(axes=-1, name="sum_ch")(h)  # (8,)
        b = QSum(axes=(1, 2), scale=0.25, keepdims=True, name="sum_all")(h)  # (1, 1)
        c = QMeanPow2(axes=1, name="mean_t")(h)  # (4,)
        h = keras.layers.Concatenate(name="cat")([a, keras.layers.Flatten(name="flat_b")(b), c])
        out = QDense(3, name="out")(h)
        model = keras.Model(inp, out, name="sums")
    return _train(model, (8, 3), seed)


def rearrange(seed: int = 0):
    """ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D, Permute, RepeatVector between quantized layers."""
    import keras
    from hgq.layers import QConv1D, QConv2D, QDense

    keras.utils.set_random_seed(seed)
    w, r = _scopes("SAT", "RND_CONV")
    with w, r:
        inp = keras.Input((5, 4, 2), name="inp")
        h = QConv2D(2, 2, activation="relu", name="conv2d")(inp)  # (4, 3, 2)
        h = keras.layers.ZeroPadding2D(((1, 0), (0, 2)), name="pad2d")(h)  # (5, 5, 2)
        h = keras.layers.Cropping2D(((0, 1), (1, 1)), name="crop2d")(h)  # (4, 3, 2)
        h = keras.layers.UpSampling2D((1, 2), name="up2d")(h)  # (4, 6, 2)
        h = keras.layers.Permute((2, 1, 3), name="permute")(h)  # (6, 4, 2)
        h = keras.layers.Reshape((6, 8), name="reshape")(h)
        h = QConv1D(3, 3, name="conv1d")(h)  # (4, 3)
        h = keras.layers.ZeroPadding1D(1, name="pad1d")(h)  # (6, 3)
        h = keras.layers.Cropping1D((2, 0), name="crop1d")(h)  # (4, 3)
        h = keras.layers.UpSampling1D(2, name="up1d")(h)  # (8, 3)
        h = keras.layers.Flatten(name="flat")(h)
        h = QDense(3, name="dense")(h)
        h = keras.layers.RepeatVector(2, name="repeat")(h)  # (2, 3)
        h = keras.layers.Flatten(name="flat2")(h)
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="rearrange")
    return _train(model, (5, 4, 2), seed)


def rearrange3d(seed: int = 0):
    """ZeroPadding3D, Cropping3D, UpSampling3D between a QConv3D and a dense head."""
    import keras
    from hgq.layers import QConv3D, QDense

    keras.utils.set_random_seed(seed)
    w, r = _scopes("SAT", "RND_CONV")
    with w, r:
        inp = keras.Input((3, 3, 2, 2), name="inp")
        h = QConv3D(2, 2, activation="relu", name="conv3d")(inp)  # (2, 2, 1, 2)
        h = keras.layers.ZeroPadding3D(((1, 0), (0, 1), (1, 1)), name="pad3d")(h)  # (3, 3, 3, 2)
        h = keras.layers.Cropping3D(((0, 1), (1, 0), (0, 1)), name="crop3d")(h)  # (2, 2, 2, 2)
        h = keras.layers.UpSampling3D((2, 1, 1), name="up3d")(h)  # (4, 2, 2, 2)
        h = keras.layers.Flatten(name="flat")(h)
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="rearrange3d")
    return _train(model, (3, 3, 2, 2), seed)


def tables(seed: int = 0):
    """QAffinedUnaryFunctionLUT, Keras LeakyReLU / ELU / a clipped ReLU on quantized values,
    QEinsumDenseBatchnorm and a standalone Quantizer layer."""
    import keras
    from hgq.layers import QAffinedUnaryFunctionLUT, QDense, QEinsumDenseBatchnorm, Quantizer, QUnaryFunctionLUT

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((4, 3), name="inp")
        h = QEinsumDenseBatchnorm("btc,cd->btd", (4, 4), bias_axes="d", activation="relu", name="edbn")(inp)
        h = keras.layers.Flatten(name="flat")(h)
        h = Quantizer(name="standalone_q")(h)
        h = QUnaryFunctionLUT("tanh", name="lut")(h)
        a = keras.layers.LeakyReLU(0.25, name="leaky")(h)
        b = keras.layers.ELU(name="elu")(h)
        c = keras.layers.ReLU(max_value=0.5, name="relu6ish")(h)
        d = QAffinedUnaryFunctionLUT("sigmoid", name="affined")(h)
        h = keras.layers.Concatenate(name="cat")([a, b, c, d])
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="tables")
    return _train(model, (4, 3), seed)


def dense_table(seed: int = 0):
    """QDenseT (a learned table per input-output edge, summed) after a dense layer, and one
    with batch-norm and a ReLU on a 2-D input (a table layer per position)."""
    import keras
    from hgq.layers import QDense, QDenseT

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((3, 4), name="inp")
        h = QDense(4, activation="relu", name="dense")(inp)
        h = QDenseT(3, n_hl=1, d_hl=4, batch_norm=True, activation="relu", name="table_a")(h)  # (3, 3)
        h = keras.layers.Flatten(name="flat")(h)
        out = QDenseT(2, n_hl=0, name="out")(h)
        model = keras.Model(inp, out, name="dense_table")
    return _train(model, (3, 4), seed)


def shared_input(seed: int = 0):
    """The model input read by three quantizers of different formats and modes: a Conv1D
    (RND, WRAP), a residual QAdd whose skip reads the input (TRN, SAT), and a QDenseT
    (one quantizer per input-output edge)."""
    import keras
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QAdd, QConv1D, QDense, QDenseT

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((6, 2), name="inp")
        conv = QConv1D(2, 3, padding="same", name="conv")(inp)
        flat = keras.layers.Flatten(name="flat_in")(inp)
        table = QDenseT(2, n_hl=0, name="table")(flat)
    with QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="SAT", round_mode="TRN", i0=1, f0=2):
        res = QAdd(name="residual")([inp, conv])
    with w, r:
        h = keras.layers.Flatten(name="flat")(res)
        h = keras.layers.Concatenate(name="cat")([h, table])
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="shared_input")
    return _train(model, (6, 2), seed)


def conv_table(seed: int = 0):
    """QConvT2D (same padding: padded edges are table values of 0) and QConvT1D (valid, stride 2)."""
    import keras
    from hgq.layers import QConvT1D, QConvT2D, QDense

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((4, 4, 1), name="inp")
        h = QConvT2D(2, 3, n_hl=1, d_hl=3, padding="same", activation="relu", name="convt2d")(inp)  # (4, 4, 2)
        h = keras.layers.Reshape((8, 4), name="seq")(h)
        h = QConvT1D(2, 3, n_hl=0, strides=2, name="convt1d")(h)  # (3, 2)
        h = keras.layers.Flatten(name="flat")(h)
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="conv_table")
    return _train(model, (4, 4, 1), seed)


def einsum_table(seed: int = 0):
    """QEinsumDenseT: a table per (token, feature, output) edge contracted over features, with
    a kernel-only output axis and a transposed output; then one contracting over tokens.
    (HGQ2 0.2.0 builds QEinsumDenseT's hidden layers with the wrong input width: n_hl=0.)"""
    import keras
    from hgq.layers import QDense, QEinsumDenseT

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((3, 4), name="inp")
        h = QEinsumDenseT("btc,cd->bdt", (2, 3), n_hl=0, bias_axes="d", name="edt_a")(inp)  # (2, 3)
        h = QEinsumDenseT("bdt,te->bde", (2, 2), n_hl=0, batch_norm=True, name="edt_b")(h)  # (2, 2)
        h = keras.layers.Flatten(name="flat")(h)
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="einsum_table")
    return _train(model, (3, 4), seed)


def multiply(seed: int = 0):
    """QMultiply of an unsigned (ReLU) and a signed branch, three-way; QAveragePow2."""
    import keras
    from hgq.layers import QAveragePow2, QDense, QMultiply

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((6,), name="inp")
        a = QDense(4, activation="relu", name="a")(inp)
        b = QDense(4, name="b")(inp)
        c = QDense(4, name="c")(inp)
        h = QMultiply(name="mul2")([a, b])
        g = QMultiply(name="mul3")([a, b, c])
        h = QAveragePow2(name="avg")([h, g])
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="multiply")
    return _train(model, (6,), seed)


def keras_merges(seed: int = 0):
    """Keras's own merge layers on quantized values, without quantizers of their own: Add (a
    residual skip), Subtract, Maximum and Minimum (three-way), Multiply, Average of two."""
    import keras
    from hgq.layers import QDense

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((6,), name="inp")
        a = QDense(4, activation="relu", enable_oq=True, name="a")(inp)
        b = QDense(4, enable_oq=True, name="b")(inp)
        c = QDense(4, name="c")(b)
        skip = keras.layers.Add(name="skip")([b, c])
        diff = keras.layers.Subtract(name="diff")([a, b])
        high = keras.layers.Maximum(name="high")([a, b, c])
        low = keras.layers.Minimum(name="low")([a, c])
        prod = keras.layers.Multiply(name="prod")([a, b])
        mean = keras.layers.Average(name="mean")([skip, diff])
        h = keras.layers.Concatenate(name="cat")([skip, diff, high, low, prod, mean])
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="keras_merges")
    return _train(model, (6,), seed)


def contraction(seed: int = 0):
    """QEinsum of two computed tensors (attention-score-like, q . k^T) and QDot."""
    import keras
    from hgq.layers import QDense, QDot, QEinsum, QEinsumDense

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((4, 3), name="inp")
        q = QEinsumDense("btc,cd->btd", (4, 2), name="q")(inp)
        k = QEinsumDense("btc,cd->btd", (4, 2), name="k")(inp)
        s = QEinsum("bqd,bkd->bqk", name="scores")([q, k])  # (4, 4)
        v = keras.layers.Flatten(name="flat_q")(q)
        u = keras.layers.Flatten(name="flat_k")(k)
        d = QDot(axes=1, name="dot")([v, u])  # (1,)
        h = keras.layers.Concatenate(name="cat")([keras.layers.Flatten(name="flat_s")(s), d])
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="contraction")
    return _train(model, (4, 3), seed)


def softmax(seed: int = 0):
    """QSoftmax (stable) over 8 logits, and a non-stable one over the last axis of a 2-D tensor."""
    import keras
    from hgq.layers import QDense, QSoftmax

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((8,), name="inp")
        h = QDense(8, name="logits")(inp)
        a = QSoftmax(name="softmax")(h)
        t = keras.layers.Reshape((2, 4), name="rows")(QDense(8, enable_oq=True, name="logits2")(inp))
        b = QSoftmax(axis=-1, stable=False, name="softmax_ns")(t)
        h = keras.layers.Concatenate(name="cat")([a, keras.layers.Flatten(name="flat")(b)])
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="softmax")
    return _train(model, (8,), seed)


def attention(seed: int = 0):
    """A 2-head self-attention block over 6 tokens (HGQ2's QMultiHeadAttention), a residual
    add, a dense head."""
    import keras
    from hgq.layers import QAdd, QDense, QMultiHeadAttention

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((6, 4), name="inp")
        h = QMultiHeadAttention(num_heads=2, key_dim=2, name="mha")(inp, inp)
        h = QAdd(name="residual")([inp, h])
        h = keras.layers.Flatten(name="flat")(h)
        out = QDense(2, enable_oq=True, name="out")(h)  # Keras's float32 sum holds the quantized output exactly
        model = keras.Model(inp, out, name="attention")
    return _train(model, (6, 4), seed)


def attention_masked(seed: int = 0):
    """Masked attention over 6 tokens: causal self-attention (2 heads, the query and key
    projections sharing the value projection's input quantizer: fuse="qkv"), attention within
    a sliding window of 2 (each token sees itself and its neighbours; fuse="kv"), and a
    table-projection attention that is causal and windowed at once (each token sees itself
    and the one before)."""
    import keras
    from hgq.layers import QDense, QMultiHeadAttention, QMultiHeadAttentionT

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((6, 3), name="inp")
        a = QMultiHeadAttention(num_heads=2, key_dim=2, fuse="qkv", name="causal")(inp, inp, use_causal_mask=True)
        b = QMultiHeadAttention(num_heads=1, key_dim=2, sliding_window=2, fuse="kv", name="window")(inp, inp)
        c = QMultiHeadAttentionT(num_heads=1, key_dim=2, n_hl=0, sliding_window=2, name="causal_window")(
            inp, inp, use_causal_mask=True)
        h = keras.layers.Concatenate(name="cat")([keras.layers.Flatten(name=f"f{n}")(x) for n, x in enumerate((a, b, c))])
        out = QDense(2, enable_oq=True, name="out")(h)
        model = keras.Model(inp, out, name="attention_masked")
    return _train(model, (6, 3), seed)


def recurrent(seed: int = 0):
    """QGRU over 4 steps (returning the sequence, reset_after) feeding a QSimpleRNN (last step
    only, tanh), and a second QGRU (reset_before) on the input."""
    import keras
    from hgq.layers import QDense, QGRU, QSimpleRNN

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((4, 3), name="inp")
        h = QGRU(3, return_sequences=True, name="gru")(inp)
        a = QSimpleRNN(2, activation="tanh", name="rnn")(h)
        b = QGRU(2, reset_after=False, name="gru_rb")(inp)
        h = keras.layers.Concatenate(name="cat")([a, b])
        out = QDense(2, enable_oq=True, name="out")(h)
        model = keras.Model(inp, out, name="recurrent")
    return _train(model, (4, 3), seed)


def avgpool(seed: int = 0):
    """Means over windows that are not a power of two: QAveragePooling2D(3), a 1-D pool with
    same padding (edge windows average fewer inputs), a global average over 3 x 3 positions."""
    import keras
    from hgq.layers import QAveragePooling1D, QAveragePooling2D, QConv2D, QDense, QGlobalAveragePooling2D

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((6, 6, 2), name="inp")
        h = QConv2D(2, 1, activation="relu", name="conv")(inp)
        a = QAveragePooling2D(3, name="avg3")(h)  # (2, 2, 2)
        g = QGlobalAveragePooling2D(name="gavg")(QConv2D(2, 2, strides=2, name="conv_b")(h))  # over (3, 3)
        s = keras.layers.Reshape((36, 1), name="seq")(QConv2D(1, 1, name="c1")(inp))
        b = QAveragePooling1D(5, padding="same", name="avg_same")(s)  # (8, 1), edge windows partial
        a = QDense(2, name="da")(keras.layers.Flatten(name="fa")(a))  # each mean read by a quantizer
        g = QDense(2, name="dg")(g)
        b = QDense(2, name="db")(keras.layers.Flatten(name="fb")(b))
        out = QDense(2, enable_oq=True, name="out")(keras.layers.Concatenate(name="cat")([a, g, b]))
        model = keras.Model(inp, out, name="avgpool")
    return _train(model, (6, 6, 2), seed)


def attention_variants(seed: int = 0):
    """QLinformerAttention (keys and values projected from 6 to 3 positions) and
    QMultiHeadAttentionT (table-layer projections), one head each."""
    import keras
    from hgq.layers import QDense, QLinformerAttention, QMultiHeadAttentionT

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((6, 3), name="inp")
        a = QLinformerAttention(num_heads=1, key_dim=2, lin_kv_proj_dim=3, name="linformer")(inp, inp)
        b = QMultiHeadAttentionT(num_heads=1, key_dim=2, n_hl=0, name="mha_t")(inp, inp)  # HGQ2 0.2.0: n_hl >= 1 fails to build
        h = keras.layers.Concatenate(name="cat")([keras.layers.Flatten(name="fa")(a), keras.layers.Flatten(name="fb")(b)])
        out = QDense(2, enable_oq=True, name="out")(h)
        model = keras.Model(inp, out, name="attention_variants")
    return _train(model, (6, 3), seed)


def snn(seed: int = 0):
    """Spiking layers over 5 steps after a per-step QDense: QSimpleSNN (per-unit thresholds and
    graded spikes, subtract reset, the sequence) feeding a QLIF (per-unit beta, last step), and
    a QLIF with zero reset, its state and output quantizers on; a QSimpleSNN without reset,
    surrogate or state quantizer."""
    import keras
    from hgq.layers import QDense, QLIF, QSimpleSNN

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((5, 3), name="inp")
        h = QDense(3, name="proj")(inp)
        a = QSimpleSNN(3, threshold=[0.75, 1.0, 0.5], graded_spikes_factor=[1.0, 0.5, 0.75], return_sequences=True,
                       name="snn")(h)
        b = QLIF(3, beta=0.75, reset_mechanism="zero", enable_sq=True, enable_oq=True, name="lif")(h)
        c = QLIF(3, beta=[0.5, 0.25, 0.875], threshold=0.625, name="lif_seq")(a)
        d = QSimpleSNN(3, threshold=0.375, reset_mechanism="none", surrogate_disable=True, enable_sq=False,
                       name="integrate")(h)
        h = keras.layers.Concatenate(name="cat")([keras.layers.Flatten(name="fa")(a), b, c, d])
        out = QDense(2, enable_oq=True, name="out")(h)
        model = keras.Model(inp, out, name="snn")
    return _train(model, (5, 3), seed)


def bidirectional(seed: int = 0):
    """Keras's Bidirectional around a QGRU (the sequence, features concatenated) feeding a
    QSimpleRNN read backwards (`go_backwards`, last step), and around a QSimpleSNN (the
    sequence, the two directions summed) feeding a QLIF read backwards (the sequence)."""
    import keras
    from hgq.layers import QDense, QGRU, QLIF, QSimpleRNN, QSimpleSNN

    keras.utils.set_random_seed(seed)
    w, r = _scopes()
    with w, r:
        inp = keras.Input((4, 3), name="inp")
        h = keras.layers.Bidirectional(QGRU(2, return_sequences=True, name="gru"), name="bi_gru")(inp)
        a = QSimpleRNN(2, activation="tanh", go_backwards=True, name="rnn_back")(h)
        p = QDense(3, name="proj")(inp)
        s = keras.layers.Bidirectional(QSimpleSNN(3, threshold=0.5, return_sequences=True, name="snn"),
                                       merge_mode="sum", name="bi_snn")(p)
        b = QLIF(3, beta=0.75, go_backwards=True, return_sequences=True, name="lif_back")(s)
        h = keras.layers.Concatenate(name="cat")([a, keras.layers.Flatten(name="fb")(b)])
        out = QDense(2, enable_oq=True, name="out")(h)
        model = keras.Model(inp, out, name="bidirectional")
    return _train(model, (4, 3), seed)


BUILDERS = {f.__name__: f for f in (conv3d, pool3d_global_avg, sums, rearrange, rearrange3d, tables, dense_table, shared_input,
                                    conv_table, einsum_table, multiply, contraction, softmax, attention, recurrent,
                                    avgpool, attention_variants, attention_masked, snn, bidirectional, keras_merges)}
