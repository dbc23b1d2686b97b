"""HGQ2 Keras model -> `hgq` IR.

TensorFlow is imported lazily (inside the functions) so that IR-only commands
start fast.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.ir import Block, Region, SSAValue

from hgq_mlir.analysis import dense_range, quantizer_range
from hgq_mlir.dialects import hgq
from hgq_mlir.errors import UserError


class FrontendError(UserError):
    """A user-facing problem with the input model (one line, no traceback)."""


def load_keras(path: str | os.PathLike):
    """Load a `.keras` file with HGQ2's layers registered."""
    p = Path(path)
    if not p.is_file():
        raise FrontendError(f"{path}: no such model file")
    _quiet_tensorflow()
    import hgq as _hgq  # noqa: F401  (registers the HGQ2 layers with Keras)
    import keras

    try:
        return keras.models.load_model(p, compile=False)
    except Exception as e:  # Keras raises many kinds for a bad file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise FrontendError(f"{path}: cannot load Keras model: {first}") from None


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def import_model(model) -> ModuleOp:
    """Build the `hgq` IR of a (loaded) HGQ2 Keras model."""
    _quiet_tensorflow()
    from hgq.layers import QDense
    from keras import layers as klayers

    for layer in model.layers:  # name the first unsupported layer before anything else
        if not isinstance(layer, klayers.InputLayer) and type(layer) is not QDense:
            raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}) is not supported")
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise FrontendError(f"model '{model.name}': only single-input, single-output models are supported")
    block = Block()
    (in_shape,) = [tuple(model.inputs[0].shape[1:])]
    if len(in_shape) != 1:
        raise FrontendError(f"model '{model.name}': input shape {in_shape} is not flat (only 1-D inputs are supported)")
    x = _add(block, hgq.InputOp("inp", int(in_shape[0]))).result
    rng: tuple[np.ndarray, np.ndarray] | None = None
    prev = None
    for layer in model.layers:
        if isinstance(layer, klayers.InputLayer):
            continue
        if type(layer) is not QDense:
            raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}) is not supported")
        parents = {id(p.operation): p.operation for node in layer._inbound_nodes for p in node.parent_nodes}
        if len(parents) != 1 or (prev is not None and next(iter(parents.values())) is not prev):
            raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): only sequential chains are supported")
        x, rng = _import_dense(block, layer, x, rng)
        prev = layer
    _add(block, hgq.OutputOp("out", x))
    _add(block, func.ReturnOp())
    name = re.sub(r"\W", "_", model.name) or "model"
    return ModuleOp([func.FuncOp(name, ((), ()), Region(block))])


def _add(block: Block, op, layer=None):
    if layer is not None:
        op.attributes["layer"] = StringAttr(layer.name)
    block.add_op(op)
    return op


def _import_dense(block: Block, layer, x: SSAValue, rng):
    n_in = int(layer.input.shape[-1])
    if len(layer.input.shape) != 2:
        raise FrontendError(f"layer '{layer.name}' (QDense): input shape {tuple(layer.input.shape[1:])} is not flat")
    act = getattr(layer.activation, "__name__", str(layer.activation))
    if act not in ("linear", "relu"):
        raise FrontendError(f"layer '{layer.name}' (QDense): activation '{act}' is not supported (linear, relu)")
    if layer.enable_iq:
        x, rng = _import_quantizer(block, layer, layer.iq, x, n_in)
    elif rng is None:
        raise FrontendError(f"layer '{layer.name}' (QDense): the first layer needs its input quantizer")

    wm, we = decompose(_numpy(layer.qkernel))
    w = _add(block, hgq.ConstOp(wm, we))
    kq = layer.kq.quantizer
    bits = _numpy(kq.bw_mapper.bw_to_x(kq.bits, wm.shape))  # HGQ's own count of a weight's bits
    w.attributes["zero_bits"] = IntegerAttr(int(np.sum(np.rint(bits) <= 0)), i64)
    b = None
    bias = None
    if layer.bias is not None:
        bias = _numpy(layer.qbias).astype(np.float64)
        b = _add(block, hgq.ConstOp(*decompose(bias))).result
    wv = wm * 2.0**we
    lo, hi = dense_range(rng[0], rng[1], wv, bias)
    frac = _frac_of(x) + max(-int(we[wm != 0].min()) if (wm != 0).any() else 0, 0)
    if bias is not None:
        bm, be = decompose(bias)
        frac = max(frac, -int(be[bm != 0].min()) if (bm != 0).any() else 0)
    y = _add(block, hgq.DenseOp(x, w.result, b, _range_type(lo, hi, frac)), layer).result
    rng = (lo, hi)
    if act == "relu":
        rng = (np.maximum(lo, 0.0), np.maximum(hi, 0.0))
        y = _add(block, hgq.ReluOp(y, _range_type(*rng, frac)), layer).result
    if layer.enable_oq:
        y, rng = _import_quantizer(block, layer, layer.oq, y, int(layer.units))
    return y, rng


def _frac_of(x: SSAValue) -> int:
    el = x.type.get_element_type()
    return el.f.data if isinstance(el, hgq.FixedType) else 0


def _range_type(lo: np.ndarray, hi: np.ndarray, frac: int):
    env = hgq.envelope_of_range(float(lo.min(initial=0.0)), float(hi.max(initial=0.0)), frac)
    return hgq.fixed_tensor([len(lo)], env.k.data, env.i.data, env.f.data)


def _import_quantizer(block: Block, layer, q, x: SSAValue, n: int):
    inner = q.quantizer
    kind = type(inner).__name__
    if not hasattr(inner, "kif") or not hasattr(inner, "overflow_mode"):
        raise FrontendError(f"layer '{layer.name}': quantizer {kind} is not a fixed-point quantizer")
    round_mode = inner.round_mode.removeprefix("S_")
    overflow = inner.overflow_mode
    if round_mode not in hgq.ROUND_MODES:
        raise FrontendError(f"layer '{layer.name}': round mode {inner.round_mode} is not supported")
    if overflow not in hgq.OVERFLOW_MODES:
        raise FrontendError(f"layer '{layer.name}': overflow mode {overflow} is not supported")
    k, i, f = (
        np.rint(_numpy(inner.bw_mapper.bw_to_x(v, (1, n)))).astype(np.int64).reshape(n) for v in inner.kif
    )
    op = _add(block, hgq.QuantizeOp(x, k, i, f, round_mode, overflow), layer)
    return op.result, quantizer_range(k, i, f, overflow)


def _numpy(t) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(t))


def decompose(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact (odd integer mantissa, exponent) pairs of binary floating-point values."""
    v = np.asarray(values, dtype=np.float64)
    frac, exp = np.frexp(v)
    m = np.rint(frac * 2.0**53).astype(np.int64)
    e = exp.astype(np.int64) - 53
    if not np.array_equal(m * 2.0**e, v):
        raise FrontendError("constant is not exactly representable")
    nz = m != 0
    tz = np.zeros_like(m)
    mm = np.where(nz, m, 1)
    for s in (32, 16, 8, 4, 2, 1):
        can = (mm & ((1 << s) - 1)) == 0
        mm = np.where(can, mm >> s, mm)
        tz += np.where(can, s, 0)
    return np.where(nz, mm, 0), np.where(nz, e + tz, 0)
