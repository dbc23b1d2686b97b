"""HGQ2 Keras model -> `hgq` IR.

TensorFlow is imported lazily (inside the functions) so that IR-only commands
start fast.
"""

from __future__ import annotations

import math
import os
import re
import signal
import threading
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.ir import Block, Operation, Region, SSAValue

from hgq_mlir import fixed
from hgq_mlir.dialects import hgq
from hgq_mlir.errors import UserError


class FrontendError(UserError):
    """A user-facing problem with the input model (one line, no traceback)."""


def load_keras(path: str | os.PathLike):
    """Load a `.keras` or `.h5` (HDF5, as HGQ2 0.1 saved) model with HGQ2's layers
    registered; an already loaded keras.Model is returned as it is."""
    if hasattr(path, "layers") and hasattr(path, "predict"):
        return path
    p = Path(path)
    if not p.is_file():
        raise FrontendError(f"{path}: no such model file")
    _quiet_tensorflow()
    with _interrupt_after_imports():
        import hgq as _hgq
        import keras

    try:
        return keras.models.load_model(p, compile=False)
    except Exception as e:  # Keras raises many kinds for a bad file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise FrontendError(f"{path}: cannot load Keras model: {first}") from None


@contextmanager
def _interrupt_after_imports():
    """Hold Ctrl-C until TensorFlow, jax and Keras are imported, then raise it: their C++
    modules do not survive a KeyboardInterrupt halfway through their initialization (the
    process can crash at exit). Only in the main thread, where Python handles signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


def check_h5_model(path: str | os.PathLike) -> None:
    """A one-line FrontendError unless `path` is an HDF5 file holding a Keras model config."""
    import h5py

    from hgq_mlir.backend.names import printable

    try:
        with h5py.File(path, "r") as f:
            has_model = "model_config" in f.attrs
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise FrontendError(f"{printable(str(path))}: an HDF5 (.h5) model that cannot be read ({printable(first)})") from None
    if not has_model:
        raise FrontendError(f"{printable(str(path))}: an HDF5 (.h5) model file without a Keras model config")


READ_ONLY_ACTIVATIONS = (None, "linear", "relu")
MODEL_CLASSES = ("Sequential", "Functional", "Model")


def read_only_model(path: str | os.PathLike) -> bool:
    """Whether every layer of the `.keras` file at `path` is in READ_ONLY_LAYERS with a linear
    or ReLU activation (read from its config.json alone; False for anything unreadable)."""
    import json
    import zipfile

    def layers_read_only(config: dict) -> bool:
        for layer in config.get("layers", []):
            if not isinstance(layer, dict):
                return False
            cls, conf = layer.get("class_name"), layer.get("config") or {}
            if cls in MODEL_CLASSES:
                if not layers_read_only(conf):
                    return False
            elif cls not in READ_ONLY_LAYERS or conf.get("activation") not in READ_ONLY_ACTIVATIONS:
                return False
        return True

    try:
        with zipfile.ZipFile(path) as z:
            top = json.loads(z.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False
    return isinstance(top, dict) and top.get("class_name") in MODEL_CLASSES and layers_read_only(top.get("config") or {})


def prefer_numpy_backend(path: str | os.PathLike) -> None:
    """Start Keras on its numpy backend for a read-only model when nobody chose a backend and
    Keras is not loaded yet (that backend imports jax). Only for whole-process tools: a
    process that goes on to train or evaluate tables needs a real backend."""
    import importlib.util
    import sys

    if "KERAS_BACKEND" in os.environ or "keras" in sys.modules or importlib.util.find_spec("jax") is None:
        return
    if read_only_model(path):
        os.environ["KERAS_BACKEND"] = "numpy"
        # HGQ2's quantizers declare a custom gradient, which that backend ignores (inference
        # only, as here): its warning would be noise on the tool's stderr
        warnings.filterwarnings("ignore", message="`custom_gradient` for the numpy backend", category=UserWarning)


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


MAX_TABLE = 1 << 14  # lookup-table entries per element; beyond that a table is not a sensible circuit


def import_model(model) -> ModuleOp:
    """Build the `hgq` IR of a (loaded) HGQ2 Keras model: a graph of supported layers.

    Ports: `inp` / `out` for a single input / output, else `inp0`, `inp1`, … and
    `out0`, `out1`, … in the order of `model.inputs` / `model.outputs`."""
    _quiet_tensorflow()
    from keras import layers as klayers

    _PENDING_MEANS.clear()
    for layer in model.layers:  # name the first unsupported layer before anything else
        if not isinstance(layer, klayers.InputLayer) and type(layer).__name__ not in LAYERS:
            raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}) is not supported")
    graph = getattr(model, "_functional", None) or model  # a Sequential keeps its graph there
    block = Block()
    # every Keras tensor's value: (ssa, exact ranges or None while not quantized, shape)
    values: dict[int, tuple] = {}
    for n, t in enumerate(graph.inputs):
        shape = tuple(int(d) for d in t.shape[1:])
        port = port_name("inp", n, len(graph.inputs))
        values[id(t)] = (_add(block, hgq.InputOp(port, int(np.prod(shape)))).result, None, shape)
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        for node in graph._nodes_by_depth[depth]:
            layer = node.operation
            if isinstance(layer, klayers.InputLayer):
                continue
            options = _call_options(layer, node)
            _check_compute_dtype(layer)
            ins = [values[id(t)] for t in _input_tensors(layer, node)]
            if len(node.output_tensors) != 1:
                raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): several outputs are not supported")
            values[id(node.output_tensors[0])] = _import_layer(block, layer, ins, **options)
    for n, t in enumerate(graph.outputs):
        x, r, shape = values[id(t)]
        if r is None:
            raise FrontendError(f"model '{model.name}': output {n} is never quantized")
        _add(block, hgq.OutputOp(port_name("out", n, len(graph.outputs)), x))
    _add(block, func.ReturnOp())
    name = re.sub(r"\W", "_", model.name) or "model"
    return ModuleOp([func.FuncOp(name, ((), ()), Region(block))])


# call options that change the arithmetic and are compiled, per layer kind (a causal mask is
# a constant: which keys each query sees is known when the model is compiled)
CALL_OPTIONS = {"QMultiHeadAttention": ("use_causal_mask",), "QMultiHeadAttentionT": ("use_causal_mask",)}


def _call_options(layer, node) -> dict:
    """The call options `CALL_OPTIONS` compiles for the layer, set as the model calls it. Any
    other option that changes the arithmetic (mask tensors, initial states) is one line
    naming the option."""
    options = {}
    accepted = CALL_OPTIONS.get(type(layer).__name__, ())
    for key, value in getattr(getattr(node, "arguments", None), "kwargs", {}).items():
        tensor = hasattr(value, "shape") and hasattr(value, "dtype")
        if key == "training" or value is None or value is False or (tensor and "mask" not in key and "state" not in key):
            continue
        if key in accepted and value is True:
            options[key] = True
            continue
        shown = "a tensor" if tensor else repr(value)
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): call option {key}={shown} is not supported")
    return options


ATTENTION = ("QMultiHeadAttention", "QMultiHeadAttentionT", "QLinformerAttention", "QLinformerAttentionT")
ATTENTION_INPUTS = ("query", "value", "key")


def _input_tensors(layer, node) -> list:
    """The node's input tensors in the order the layer's import reads them. Attention's are
    (query, value, key) by name however the model passes them (Keras lists tensors passed by
    keyword sorted by name: key first), value defaulting to the query and key to the value."""
    arguments = getattr(node, "arguments", None)
    if type(layer).__name__ not in ATTENTION or arguments is None:
        return list(node.input_tensors)
    args = list(getattr(arguments, "args", ()))
    if len(args) > len(ATTENTION_INPUTS):
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): a mask passed by position is not supported")
    named = dict(zip(ATTENTION_INPUTS, args))
    named.update({k: v for k, v in arguments.kwargs.items() if k in ATTENTION_INPUTS and v is not None})
    if "query" not in named:
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): called without a query")
    query = named["query"]
    value = named.get("value", query)
    return [query, value, named.get("key", value)]


def _check_compute_dtype(layer) -> None:
    """Keras computes a layer in its dtype policy's compute dtype; the compiled arithmetic is
    float32's (exact sums of quantized values), so any other is one line."""
    from hgq_mlir.backend.names import printable

    dtype = getattr(layer, "compute_dtype", None)
    if dtype not in (None, "float32"):
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): compute dtype {printable(str(dtype))} "
                            "is not supported (float32 only)")


def port_name(stem: str, n: int, count: int) -> str:
    return stem if count == 1 else f"{stem}{n}"


# a sum over a window that is not a power of two -> (its ranges, the count per element, the
# pooling layer): the quantizer that reads the mean divides (see `_mean_for`)
_PENDING_MEANS: dict[SSAValue, tuple] = {}

MERGES = {"QAdd": hgq.AddOp, "QSubtract": hgq.SubOp, "QMaximum": hgq.MaxOp, "QMinimum": hgq.MinOp,
          "QMultiply": hgq.MulOp, "QAveragePow2": hgq.AddOp,
          # Keras's own merges of quantized values: the same float32 arithmetic, no quantizers
          "Add": hgq.AddOp, "Subtract": hgq.SubOp, "Maximum": hgq.MaxOp, "Minimum": hgq.MinOp,
          "Multiply": hgq.MulOp, "Average": hgq.AddOp}

# Keras class name -> handler(block, layer, inputs) -> (ssa, ranges, shape): one per layer kind
LAYERS: dict[str, Callable] = {}


def layer_kind(*names: str):
    """Register a handler for the Keras layer classes `names`."""

    def register(handler: Callable) -> Callable:
        for name in names:
            LAYERS[name] = handler
        return handler

    return register


def quantized_layer(*names: str):
    """Register the body of a single-input HGQ layer: the input quantizer runs before it and
    the output quantizer (when enabled) after it."""

    def register(body: Callable) -> Callable:
        def handler(block: Block, layer, ins: list[tuple]) -> tuple:
            x, r, shape = _one_input(layer, ins)
            x, r = _input_quantizer(block, layer, x, r, shape)
            x, r, shape = body(block, layer, x, r, shape)
            if getattr(layer, "enable_oq", False):
                x, r = _quantize(block, layer, layer.oq, x, r, shape)
            return x, r, shape

        return layer_kind(*names)(handler)

    return register


def _one_input(layer, ins: list[tuple]) -> tuple:
    if len(ins) != 1:
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): expected one input, got {len(ins)}")
    return ins[0]


def _import_layer(block: Block, layer, ins: list[tuple], **options) -> tuple:
    """(ssa, ranges, shape) of one layer's output, from its inputs' (and the call options
    `_call_options` accepts)."""
    return LAYERS[type(layer).__name__](block, layer, ins, **options)


@layer_kind("Flatten", "Reshape", "Dropout")
def _reshape(block: Block, layer, ins: list[tuple]) -> tuple:
    """Tensors are flat in row-major order already: only the shape changes (a channels-first
    Flatten moves the first axis last before it flattens, as Keras's does)."""
    x, r, shape = _one_input(layer, ins)
    out_shape = tuple(int(d) for d in layer.compute_output_shape((None, *shape))[1:])
    if getattr(layer, "data_format", None) == "channels_first" and len(shape) >= 2:
        order = np.arange(int(np.prod(shape))).reshape(shape).transpose(*range(1, len(shape)), 0).reshape(-1)
        x, r = _gathered(block, layer, x, r, order)
    return x, r, out_shape


# layers that only move elements (and pad zeros)
MOVES = (*(f"{kind}{d}D" for kind in ("ZeroPadding", "Cropping", "UpSampling") for d in (1, 2, 3)),
         "Permute", "RepeatVector")
# Layer classes whose import reads weights and quantizer parameters and evaluates no float
# function of the layer (no table, no square root, no division): Keras's numpy backend gives
# exactly the IR TensorFlow gives for them, and starts in half the time.
READ_ONLY_LAYERS = frozenset({
    "InputLayer", "QDense", "QConv1D", "QConv2D", "QConv3D", "QEinsumDense", "QDot", "QEinsum", "Quantizer",
    "Concatenate", "Flatten", "Reshape", "Dropout", *MERGES, *MOVES,
    *(f"Q{g}MaxPooling{d}D" for g in ("", "Global") for d in (1, 2, 3)),
})


@layer_kind(*MOVES)
def _rearrange(block: Block, layer, ins: list[tuple]) -> tuple:
    """A layer that only moves elements (and pads zeros): wiring, found by running the layer
    on element labels."""
    x, r, shape = _one_input(layer, ins)
    kind = type(layer).__name__
    if r is None:
        raise FrontendError(f"layer '{layer.name}' ({kind}): its input must be quantized first (place it after a quantized layer)")
    index, out_shape = element_map(layer, shape)
    if (index < 0).any():  # zeros in the output
        return (*_picked(block, layer, x, r, index), out_shape)
    if index.size != len(r) or not np.array_equal(index, np.arange(index.size)):  # (a crop of the end too)
        r = fixed.gather(r, index)
        x = _add(block, hgq.GatherOp(x, index, _type(r)), layer).result
    return x, r, out_shape


def element_map(layer, shape: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """(flat input index of every output element, -1 for a zero; output shape) of a layer that
    only copies elements, read off the layer itself run on two labellings of the elements."""
    n = int(np.prod(shape))
    if n >= 1 << 24:
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): input of {n} elements is too large")
    labels = np.arange(1, n + 1, dtype=np.float32)
    shuffled = np.random.default_rng(0).permutation(labels)
    out = _numpy(layer(labels.reshape(1, *shape), training=False))
    out2 = _numpy(layer(shuffled.reshape(1, *shape), training=False)).reshape(-1)
    out_shape = tuple(int(d) for d in out.shape[1:])
    out = out.reshape(-1)
    index = np.rint(out).astype(np.int64) - 1
    ok = (out == index + 1) & (index >= -1) & (index < n)
    if ok.all():
        ok = out2 == np.where(index >= 0, shuffled[np.maximum(index, 0)], 0)
    if not ok.all():
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): the layer does not only move elements "
                            f"(interpolation?), which is not supported")
    return index, out_shape


@layer_kind(*MERGES)
def _merge_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    return _merge(block, layer, ins)


@layer_kind("Concatenate")
def _concatenate_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    return _concatenate(block, layer, ins)


@layer_kind("Quantizer")
def _quantizer_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    """HGQ2's standalone quantizer layer."""
    x, r, shape = _one_input(layer, ins)
    return (*_quantize(block, layer, layer, x, r, shape), shape)


@layer_kind("QUnaryFunctionLUT", "QAffinedUnaryFunctionLUT")
def _function_table(block: Block, layer, ins: list[tuple]) -> tuple:
    x, r, shape = _one_input(layer, ins)
    x, r = _input_quantizer(block, layer, x, r, shape)
    return (*_table(block, layer, x, r, shape), shape)  # the table holds the output quantizer too


@layer_kind("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU")
def _activation_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    x, r, shape = _one_input(layer, ins)
    kind = type(layer).__name__
    if r is None:
        raise FrontendError(f"layer '{layer.name}' ({kind}): the model must start with a quantizer")
    plain_relu = kind == "ReLU" and layer.max_value is None and not layer.negative_slope and not layer.threshold
    if kind == "Activation" or plain_relu:
        x, r = _activation(block, layer, x, r, shape)
        return x, r, shape
    return (*_table(block, layer, x, r, shape), shape)  # any other function of a quantized value


@quantized_layer("QDense", "QBatchNormDense")
def _dense_layer(block: Block, layer, x: SSAValue, r, shape):
    return _dense(block, layer, x, r, shape)


@quantized_layer("QConv1D", "QConv2D", "QConv3D")
def _conv_layer(block: Block, layer, x: SSAValue, r, shape):
    return _conv(block, layer, x, r, shape)


@quantized_layer("QEinsumDense", "QEinsumDenseBatchnorm")
def _einsum_layer(block: Block, layer, x: SSAValue, r, shape):
    return _einsum(block, layer, x, r, shape)


@quantized_layer("QBatchNormalization")
def _batchnorm_layer(block: Block, layer, x: SSAValue, r, shape):
    return (*_batchnorm(block, layer, x, r, shape), shape)


@quantized_layer(*(f"Q{g}{p}Pooling{d}D" for g in ("", "Global") for p in ("Average", "Max") for d in (1, 2, 3)))
def _pool_layer(block: Block, layer, x: SSAValue, r, shape):
    if "Average" in type(layer).__name__:
        return _avgpool(block, layer, x, r, shape)
    return _maxpool(block, layer, x, r, shape)


@layer_kind("QDenseT")
def _dense_table_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    return _dense_table(block, layer, *_one_input(layer, ins))


@quantized_layer("QSum", "QMeanPow2")
def _sum_layer(block: Block, layer, x: SSAValue, r, shape):
    return _sum(block, layer, x, r, shape)


def _merge(block: Block, layer, ins: list[tuple]) -> tuple:
    """An elementwise merge of its inputs (each through its own input quantizer), folded left;
    QAveragePow2 then scales the sum by its power of two."""
    kind = type(layer).__name__
    if len(ins) < 2 or len({shape for _, _, shape in ins}) != 1 or (kind in ("QSubtract", "Subtract") and len(ins) != 2):
        raise FrontendError(f"layer '{layer.name}' ({kind}): inputs of one shape are supported "
                            f"(got {', '.join(str(s) for _, _, s in ins)})")
    quantized = _quantized_inputs(block, layer, ins)
    y, r = quantized[0]
    for b, rb in quantized[1:]:
        r = MERGES[kind].INTERVAL(r, rb)
        y = _add(block, MERGES[kind](y, b, _type(r)), layer).result
    shape = ins[0][2]
    if kind == "QAveragePow2":
        y, r = _scale(block, layer, y, r, float(layer._scale))
    if kind == "Average":  # the sum divided by the count: exact for a power of two only
        if len(ins) & (len(ins) - 1):
            raise FrontendError(f"layer '{layer.name}' (Average): an average of {len(ins)} inputs is not "
                                f"supported (float32 rounds it; 2, 4, 8, ... inputs are exact)")
        y, r = _scale(block, layer, y, r, 1 / len(ins))
    if getattr(layer, "enable_oq", False):
        y, r = _quantize(block, layer, layer.oq, y, r, shape)
    return y, r, shape


def _quantized_inputs(block: Block, layer, ins: list[tuple]) -> list[tuple]:
    """(ssa, ranges) of every input of a multi-input layer, through its own input quantizer."""
    out = []
    for n, (x, r, shape) in enumerate(ins):
        if getattr(layer, "enable_iq", False):
            x, r = _quantize(block, layer, layer.iq[n], x, r, shape)
        elif r is None:
            need = "the input quantizer" if hasattr(layer, "enable_iq") else "a quantized layer before it"
            raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): an unquantized input needs {need}")
        out.append((x, r))
    return out


def _scale(block: Block, layer, x: SSAValue, r, scale: float) -> tuple:
    """x * scale for a power of two, exactly: a 1x1 kernel of that value at every element."""
    e = np.log2(scale)
    if e != np.rint(e):
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): scale {scale} is not a power of two")
    wm, we = np.ones((1, 1), dtype=np.int64), np.full((1, 1), int(e), dtype=np.int64)
    w = _add(block, hgq.ConstOp(wm, we)).result
    patches = np.arange(len(r)).reshape(-1, 1)
    r = fixed.linear_windows(r, patches, wm.astype(object), we, None, None)
    return _add(block, hgq.ConvOp(x, w, None, patches, _type(r)), layer).result, r


@layer_kind("QDot", "QEinsum")
def _contraction_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    """A contraction of two computed tensors (QDot's axes or QEinsum's equation)."""
    kind = type(layer).__name__
    if len(ins) != 2:
        raise FrontendError(f"layer '{layer.name}' ({kind}): exactly two inputs are supported, got {len(ins)}")
    (a, ra), (b, rb) = _quantized_inputs(block, layer, ins)
    shapes = [shape for _, _, shape in ins]
    specs = _dot_letters(layer, shapes) if kind == "QDot" else _einsum2_letters(layer, layer.equation, shapes)
    y, r, shape = _contract(block, layer, (a, ra, shapes[0]), (b, rb, shapes[1]), *specs)
    if kind == "QDot":  # Keras keeps a unit axis where everything is contracted
        shape = tuple(int(d) for d in layer.compute_output_shape([(None, *s) for s in shapes])[1:])
    if layer.enable_oq:
        y, r = _quantize(block, layer, layer.oq, y, r, shape)
    return y, r, shape


def _contract(block: Block, layer, a: tuple, b: tuple, spec_a: str, spec_b: str, spec_out: str) -> tuple:
    """einsum(spec_a, spec_b -> spec_out) of two computed tensors (ssa, ranges, shape): every
    output element is the sum of products of element pairs, built as gathers, one product
    per pair and unit-weight sums."""
    (xa, ra, shape_a), (xb, rb, shape_b) = a, b
    kind = type(layer).__name__
    sizes = dict(zip(spec_a, shape_a, strict=True)) | dict(zip(spec_b, shape_b, strict=True))
    if any(sizes[c] != n for spec, shape in ((spec_a, shape_a), (spec_b, shape_b)) for c, n in zip(spec, shape, strict=True)):
        raise FrontendError(f"layer '{layer.name}' ({kind}): input shapes {shape_a}, {shape_b} disagree on a contracted axis")
    letters = sorted(sizes)
    grid = np.indices([sizes[c] for c in letters]).reshape(len(letters), -1)

    def flat(spec: str) -> np.ndarray:
        if not spec:
            return np.zeros(grid.shape[1], dtype=np.int64)
        return np.ravel_multi_index([grid[letters.index(c)] for c in spec], [sizes[c] for c in spec])

    order = np.argsort(flat(spec_out), kind="stable")
    n_out = int(np.prod([sizes[c] for c in spec_out]))
    pairs = order.size // n_out
    ia, ib = flat(spec_a)[order], flat(spec_b)[order]
    ra, rb = fixed.gather(ra, ia), fixed.gather(rb, ib)
    ga = _add(block, hgq.GatherOp(xa, ia, _type(ra)), layer).result
    gb = _add(block, hgq.GatherOp(xb, ib, _type(rb)), layer).result
    r = fixed.mul(ra, rb)
    y = _add(block, hgq.MulOp(ga, gb, _type(r)), layer).result
    if pairs > 1:
        sums = np.arange(order.size).reshape(n_out, pairs)
        wm, we = np.ones((pairs, 1), dtype=np.int64), np.zeros((pairs, 1), dtype=np.int64)
        w = _add(block, hgq.ConstOp(wm, we)).result
        r = fixed.linear_windows(r, sums, wm.astype(object), we, None, None)
        y = _add(block, hgq.ConvOp(y, w, None, sums, _type(r)), layer).result
    return y, r, tuple(sizes[c] for c in spec_out)


@layer_kind(*ATTENTION)
def _attention_layer(block: Block, layer, ins: list[tuple], use_causal_mask: bool = False) -> tuple:
    """Multi-head attention as HGQ2 computes it: (Linformer: the key and value projections along
    the sequence,) the query, key and value projections (table layers in the `…T` variants), the
    scores (a contraction of key and query), the layer's softmax (over the keys each query
    may see: `_attention_allowed`), the contraction with the values, the output projection and
    the output quantizer. (With `fuse`, HGQ2 gives the query and key projections the value
    projection's input quantizer object: each projection's import reads it as its own.)"""
    kind = type(layer).__name__
    if len(ins) not in (2, 3):
        raise FrontendError(f"layer '{layer.name}' ({kind}): expected query, value and an optional key, got {len(ins)} inputs")
    query, value = ins[0], ins[1]
    key = ins[2] if len(ins) == 3 else value
    if hasattr(layer, "_lin_k_proj"):  # Linformer: keys and values projected along the sequence first
        key = _import_layer(block, layer._lin_k_proj, [key])
        value = _import_layer(block, layer._lin_v_proj, [value])
    q = _import_layer(block, layer._query_dense, [query])
    k = _import_layer(block, layer._key_dense, [key])
    v = _import_layer(block, layer._value_dense, [value])
    scale = getattr(layer, "_inverse_sqrt_key_dim", 1.0)
    if scale != 1.0:
        raise FrontendError(f"layer '{layer.name}' ({kind}): a query scale of {scale} outside the softmax is not supported")
    scores = _contract(block, layer, k, q, *_einsum2_letters(layer, layer._dot_product_equation, [k[2], q[2]]))
    allowed = _attention_allowed(layer, kind, scores[2], use_causal_mask)
    attention = _import_layer(block, layer._softmax, [scores], **({} if allowed is None else {"allowed": allowed}))
    out = _contract(block, layer, attention, v, *_einsum2_letters(layer, layer._combine_equation, [attention[2], v[2]]))
    y, r, shape = _import_layer(block, layer._output_dense, [out])
    if layer.enable_oq:
        y, r = _quantize(block, layer, layer.oq, y, r, shape)
    return y, r, shape


def _attention_allowed(layer, kind: str, shape: tuple, causal: bool) -> np.ndarray | None:
    """Per score (flat, the scores' (heads, T, S) order), whether its query sees its key, as
    Keras's attention mask says: key s <= query t under `use_causal_mask`, and |t - s| below
    the layer's `sliding_window`; None where every score counts."""
    window = getattr(layer, "_sliding_window", None)
    if not causal and window is None:
        return None
    what = "a causal mask" if causal else f"sliding_window={window}"
    if hasattr(layer, "_lin_k_proj") or len(getattr(layer, "_attention_axes", ())) != 1 or len(shape) != 3:
        raise FrontendError(f"layer '{layer.name}' ({kind}): {what} is supported over one attention axis "
                            "(keys not projected along the sequence)")
    t, s = np.arange(shape[1])[:, None], np.arange(shape[2])[None, :]
    allowed = np.ones((shape[1], shape[2]), dtype=bool)
    if causal:
        allowed &= s <= t
    if window is not None:
        allowed &= np.abs(t - s) < window
    if not allowed.any(axis=1).all():
        blind = int(np.flatnonzero(~allowed.any(axis=1))[0])
        raise FrontendError(f"layer '{layer.name}' ({kind}): with {what}, query {blind} sees no key "
                            "(an all-zero attention row is not supported)")
    return np.broadcast_to(allowed, shape).reshape(-1)


def _dot_letters(layer, shapes) -> tuple[str, str, str]:
    """Keras Dot's contraction as einsum letters (batch axis excluded): the contracted axes
    share a letter; the output is a's other axes, then b's."""
    if getattr(layer, "normalize", False):
        raise FrontendError(f"layer '{layer.name}' (QDot): normalize=True is not supported")
    axes = layer.axes if isinstance(layer.axes, list | tuple) else (layer.axes, layer.axes)
    ranks = [len(s) for s in shapes]
    ax = [(x if x >= 0 else x + r + 1) - 1 for x, r in zip(axes, ranks, strict=True)]
    if not all(0 <= x < r for x, r in zip(ax, ranks, strict=True)):
        raise FrontendError(f"layer '{layer.name}' (QDot): axes={layer.axes} must name non-batch axes")
    free = iter("abcdefghijklmnopqrstuvwxy")
    spec_a = [next(free) for _ in range(ranks[0])]
    spec_b = [next(free) for _ in range(ranks[1])]
    spec_b[ax[1]] = spec_a[ax[0]]
    out = [c for n, c in enumerate(spec_a) if n != ax[0]] + [c for n, c in enumerate(spec_b) if n != ax[1]]
    return "".join(spec_a), "".join(spec_b), "".join(out)


def _einsum2_letters(layer, equation: str, shapes) -> tuple[str, str, str]:
    """An einsum equation of two operands, with `...` spelled out and the batch letter dropped."""
    try:
        lhs, out = equation.replace(" ", "").split("->")
        specs = lhs.split(",")
    except ValueError:
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): cannot read equation '{equation}'") from None
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
    expanded = []
    for spec, shape in zip(specs, shapes, strict=True):
        if "..." in spec:
            ell = "".join(free[: len(shape) + 1 - (len(spec) - 3)])
            spec, out = spec.replace("...", ell), out.replace("...", ell)
        expanded.append(spec)
    if any(len(s) != len(shape) + 1 for s, shape in zip(expanded, shapes, strict=True)) or any(len(set(s)) != len(s) for s in expanded):
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): equation '{equation}' is not supported")
    batch = {s[0] for s in expanded} | {out[:1]}
    if len(batch) != 1:
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): equation '{equation}' must keep the batch axis first")
    return expanded[0][1:], expanded[1][1:], out[1:]


@layer_kind("QSimpleRNN", "QGRU")
def _recurrent_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    """A recurrent layer unrolled over its time steps (every step in parallel hardware, one
    sample per clock): each step is its cell's arithmetic on the step's input and the state."""
    x, r, shape = _one_input(layer, ins)
    kind = type(layer).__name__
    for option in ("stateful", "return_state"):
        if getattr(layer, option, False):
            raise FrontendError(f"layer '{layer.name}' ({kind}): {option}=True is not supported")
    if getattr(layer, "enable_oq", False):
        raise FrontendError(f"layer '{layer.name}' ({kind}): enable_oq=True is not supported")
    if len(shape) != 2:
        raise FrontendError(f"layer '{layer.name}' ({kind}): input shape {shape} is not (time steps, features)")
    steps, features = shape
    cell = layer.cell
    step = _gru_step if kind == "QGRU" else _rnn_step
    state, outputs = None, []
    before = block.last_op
    for t in _time_steps(layer, steps):
        xt = _gathered(block, cell, x, r, np.arange(t * features, (t + 1) * features))
        state = step(block, cell, xt, state)
        outputs.append(state)
    _name_ops_after(before, block, layer)
    units = int(cell.units)
    if not layer.return_sequences:
        return (*state, (units,))
    rs = fixed.concat([ro for _, ro in outputs])
    y = _add(block, hgq.ConcatOp([v for v, _ in outputs], _type(rs)), layer).result
    return y, rs, (steps, units)


def _name_ops_after(before: Operation | None, block: Block, layer) -> None:
    """Attribute the ops added after `before` to `layer` (its cell's ops carry the cell's name,
    which HGQ2 gives every cell of a kind alike): the report's rows are per layer."""
    op = before.next_op if before is not None else block.first_op
    while op is not None:
        if "layer" in op.attributes:
            op.attributes["layer"] = StringAttr(layer.name)
        op = op.next_op


def _time_steps(layer, steps: int) -> range:
    """The order a recurrent or spiking layer reads its time steps in: backwards with
    `go_backwards`, whose returned sequence is then in that order too (Keras's)."""
    return range(steps - 1, -1, -1) if getattr(layer, "go_backwards", False) else range(steps)


RECURRENT_LAYERS = ("QSimpleRNN", "QGRU", "QSimpleSNN", "QLIF")


@layer_kind("Bidirectional")
def _bidirectional_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    """Keras's Bidirectional around a recurrent or spiking layer: its forward layer and its
    backward one (`go_backwards`) on the same input, the backward sequence flipped back into
    time order, then merged as Keras merges them (concatenated features, or summed)."""
    kind = "Bidirectional"
    inner = type(layer.forward_layer).__name__
    if inner not in RECURRENT_LAYERS:
        raise FrontendError(f"layer '{layer.name}' ({kind}): a wrapped {inner} is not supported")
    if layer.merge_mode not in ("concat", "sum"):
        raise FrontendError(f"layer '{layer.name}' ({kind}): merge_mode={layer.merge_mode!r} is not supported")
    if getattr(layer, "return_state", False):
        raise FrontendError(f"layer '{layer.name}' ({kind}): return_state=True is not supported")
    forward = _import_layer(block, layer.forward_layer, ins)
    y, r, shape = _import_layer(block, layer.backward_layer, ins)
    if len(shape) == 2:  # a sequence: (time steps, features)
        flip = np.arange(int(np.prod(shape))).reshape(shape)[::-1].reshape(-1)
        y, r = _gathered(block, layer.backward_layer, y, r, flip)
    if layer.merge_mode == "sum":
        return (*_binary(block, layer, hgq.AddOp, forward, (y, r)), shape)
    return _concatenate(block, layer, [forward, (y, r, shape)], axis=-1)


def _gathered(block: Block, layer, x: SSAValue, r, index: np.ndarray) -> tuple:
    """(ssa, ranges) of x's elements at `index` (model inputs too: their ranges stay None)."""
    r = None if r is None else fixed.gather(r, index)
    y = _add(block, hgq.GatherOp(x, index, _type(r) if r is not None else _float_type(index.size)), layer).result
    return y, r


def _picked(block: Block, layer, x: SSAValue, r, index: np.ndarray) -> tuple:
    """(ssa, ranges) of x's elements at `index`, where -1 is a zero: a 1x1 identity kernel at
    each position (a gather has no zero to pick)."""
    one, zero = np.ones((1, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64)
    patches = index[:, None]
    r = fixed.linear_windows(r, patches, one.astype(object), zero, None, None)
    w = _add(block, hgq.ConstOp(one, zero)).result
    return _add(block, hgq.ConvOp(x, w, None, patches, _type(r)), layer).result, r


def _part(block: Block, layer, v: tuple, lo: int, hi: int) -> tuple:
    return _gathered(block, layer, *v, np.arange(lo, hi))


def _const_dense(block: Block, layer, v: tuple, kernel: np.ndarray, bias: np.ndarray | None) -> tuple:
    """v . kernel + bias with already-quantized constants (a state or step input of a cell)."""
    wm, we = decompose(np.asarray(kernel, dtype=np.float64))
    w = _add(block, hgq.ConstOp(wm, we)).result
    bm = be = b = None
    if bias is not None:
        bm, be = decompose(np.asarray(bias, dtype=np.float64))
        b = _add(block, hgq.ConstOp(bm, be)).result
    r = fixed.linear(v[1], wm.astype(object), we, _obj(bm), be)
    return _add(block, hgq.DenseOp(v[0], w, b, _type(r)), layer).result, r


def _binary(block: Block, layer, op_type, a: tuple, b: tuple) -> tuple:
    r = op_type.INTERVAL(a[1], b[1])
    return _add(block, op_type(a[0], b[0], _type(r)), layer).result, r


def _then(block: Block, layer, v: tuple, n: int, activation, quantizer, quantize_first: bool) -> tuple:
    """A cell's activation and its quantizer on v, in the cell's order: the quantizer alone, a
    ReLU after it, or one table of both."""
    act = getattr(activation, "__name__", str(activation))
    if act == "linear":
        return _quantize(block, layer, quantizer, *v, (n,))
    if quantize_first:
        v = _quantize(block, layer, quantizer, *v, (n,))
        if act == "relu":
            r = fixed.relu(v[1])
            return _add(block, hgq.ReluOp(v[0], _type(r)), layer).result, r
        return _table(block, layer, *v, (n,), activation)
    return _table(block, layer, *v, (n,), lambda g: quantizer(activation(g), training=False))


def _rnn_step(block: Block, cell, xt: tuple, state: tuple | None) -> tuple:
    """QSimpleRNNCell: paq(iq(x) . K + b + sq(h) . R), then the activation."""
    units = int(cell.units)
    qx = _quantize(block, cell, cell.iq, *xt, (int(cell.kernel.shape[0]),))
    bias = _numpy(cell.qbias) if cell.use_bias else None
    h = _const_dense(block, cell, qx, _numpy(cell.qkernel), bias)
    if state is not None:
        qs = _quantize(block, cell, cell.sq, *state, (units,)) if cell.enable_sq else state
        h = _binary(block, cell, hgq.AddOp, h, _const_dense(block, cell, qs, _numpy(cell.qrecurrent_kernel), None))
    return _then(block, cell, h, units, cell.activation, cell.paq, quantize_first=True)


def _gru_step(block: Block, cell, xt: tuple, state: tuple | None) -> tuple:
    """QGRUCell: the gates z, r = praq(x_zr + h_zr), the candidate paq(x_h + r * rhq(h_h)) (reset
    after) or paq(x_h + rhq(r * h) . R_h), and the new state qhh + z * (sq(h) - qhh), which is
    HGQ2's z * sq(h) + (1 - z) * qhh exactly. A zero state (the first step) drops its terms."""
    u = int(cell.units)
    if getattr(cell, "_enable_iq", True):
        xt = _quantize(block, cell, cell.iq, *xt, (int(cell.kernel.shape[0]),))
    bias = _numpy(cell.qbias) if cell.use_bias else None
    b_in, b_rec = (None, None) if bias is None else ((bias[0], bias[1]) if cell.reset_after else (bias, None))
    rk = _numpy(cell.qrecurrent_kernel)
    mx = _const_dense(block, cell, xt, _numpy(cell.qkernel), b_in)
    qh = None if state is None else _quantize(block, cell, cell.sq, *state, (u,))
    if qh is not None:
        mi = _const_dense(block, cell, qh, rk if cell.reset_after else rk[:, : 2 * u], b_rec)
        zr = _binary(block, cell, hgq.AddOp, _part(block, cell, mx, 0, 2 * u), _part(block, cell, mi, 0, 2 * u))
    elif cell.reset_after and b_rec is not None:  # h = 0: the recurrent sum is its bias
        zero = _quantize_to_zero(block, cell, xt, u)
        mi = _const_dense(block, cell, zero, rk, b_rec)
        zr = _binary(block, cell, hgq.AddOp, _part(block, cell, mx, 0, 2 * u), _part(block, cell, mi, 0, 2 * u))
    else:
        mi = None
        zr = _part(block, cell, mx, 0, 2 * u)
    qzr = _then(block, cell, zr, 2 * u, cell.recurrent_activation, cell.praq, quantize_first=False)
    qz, qr = _part(block, cell, qzr, 0, u), _part(block, cell, qzr, u, 2 * u)
    hh = _part(block, cell, mx, 2 * u, 3 * u)
    if cell.reset_after and mi is not None:
        rh = _quantize(block, cell, cell.rhq, *_part(block, cell, mi, 2 * u, 3 * u), (u,))
        hh = _binary(block, cell, hgq.AddOp, hh, _binary(block, cell, hgq.MulOp, qr, rh))
    elif not cell.reset_after and qh is not None:
        rqh = _quantize(block, cell, cell.rhq, *_binary(block, cell, hgq.MulOp, qr, qh), (u,))
        hh = _binary(block, cell, hgq.AddOp, hh, _const_dense(block, cell, rqh, rk[:, 2 * u :], None))
    qhh = _then(block, cell, hh, u, cell.activation, cell.paq, quantize_first=False)
    if qh is None:  # z * 0 + (1 - z) * qhh
        return _binary(block, cell, hgq.SubOp, qhh, _binary(block, cell, hgq.MulOp, qz, qhh))
    return _binary(block, cell, hgq.AddOp, qhh, _binary(block, cell, hgq.MulOp, qz, _binary(block, cell, hgq.SubOp, qh, qhh)))


def _quantize_to_zero(block: Block, layer, v: tuple, n: int) -> tuple:
    """A tensor of n zeros: n of v's elements through a zero-width quantizer."""
    g = _gathered(block, layer, *v, np.zeros(n, dtype=np.int64))
    zeros = np.zeros(n, dtype=np.int64)
    r = fixed.quantized(g[1], zeros, zeros, zeros, "TRN", "WRAP")
    return _add(block, hgq.QuantizeOp(g[0], zeros, zeros, zeros, "TRN", "WRAP"), layer).result, r


@layer_kind("QSimpleSNN", "QLIF")
def _spiking_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    """A spiking layer unrolled over its time steps. Per step, as HGQ2's cell computes it:
    mem = iq(x) + state (QLIF: + qbeta * state), spike = [mem > threshold] (the surrogate
    (hard - soft) + soft is exactly the Heaviside step in float32), output = oq(spike * qgraded),
    state = sq(mem - spike * threshold) (subtract), sq(mem * (1 - spike)) (zero) or sq(mem)."""
    x, r, shape = _one_input(layer, ins)
    kind = type(layer).__name__
    cell = layer.cell
    for option in ("stateful", "return_state"):
        if getattr(layer, option, False):
            raise FrontendError(f"layer '{layer.name}' ({kind}): {option}=True is not supported")
    if cell.inhibition:
        raise FrontendError(f"layer '{layer.name}' ({kind}): inhibition=True is not supported")
    _check_spike_function(layer, cell)
    if len(shape) != 2:
        raise FrontendError(f"layer '{layer.name}' ({kind}): input shape {shape} is not (time steps, features)")
    steps, units = shape
    if not cell.enable_iq and r is None:
        raise FrontendError(f"layer '{layer.name}' ({kind}): the first layer needs its input quantizer")

    def per_unit(v) -> np.ndarray:
        return np.broadcast_to(_numpy(v).astype(np.float64), (units,)).copy()

    threshold, graded = per_unit(cell.threshold), per_unit(cell.qgraded_spikes_factor)
    beta = per_unit(cell.qlif_beta) if kind == "QLIF" else None
    state, outputs = None, []
    for i, t in enumerate(_time_steps(layer, steps)):
        mem = _gathered(block, layer, x, r, np.arange(t * units, (t + 1) * units))
        if cell.enable_iq:
            mem = _quantize(block, layer, cell.iq, *mem, (units,))
        if state is not None:
            held = state if beta is None else _const_dense(block, layer, state, np.diag(beta), None)
            mem = _binary(block, layer, hgq.AddOp, held, mem)
        spike = _spike(block, layer, mem, threshold)
        out = _const_dense(block, layer, spike, np.diag(graded), None)
        if cell.enable_oq:
            out = _quantize(block, layer, cell.oq, *out, (units,))
        outputs.append(out)
        if i == steps - 1 and not layer.return_sequences:
            break
        if cell.reset_mechanism == "subtract":
            state = _binary(block, layer, hgq.AddOp, mem, _const_dense(block, layer, spike, np.diag(-threshold), None))
        elif cell.reset_mechanism == "zero":
            rest = _const_dense(block, layer, spike, -np.eye(units), np.ones(units))  # 1 - spike
            state = _binary(block, layer, hgq.MulOp, rest, mem)
        else:
            state = mem
        if cell.enable_sq:
            state = _quantize(block, layer, cell.sq, *state, (units,))
    if not layer.return_sequences:
        return (*outputs[-1], (units,))
    rs = fixed.concat([ro for _, ro in outputs])
    y = _add(block, hgq.ConcatOp([v for v, _ in outputs], _type(rs)), layer).result
    return y, rs, (steps, units)


def _check_spike_function(layer, cell) -> None:
    """The spike is the exact step [mem > threshold] for HGQ2's ATan surrogate with alpha >= 0
    (soft >= 0.5 where hard = 1, so (1 - soft) + soft == 1 in float32) or with the surrogate
    disabled; any other function is not known to be exact."""
    from hgq.layers.snn import ATan

    fn = cell.spike_grad
    if cell.surrogate_disable or (isinstance(fn, ATan) and fn.alpha >= 0):
        return
    shown = f"ATan(alpha={fn.alpha})" if isinstance(fn, ATan) else getattr(fn, "__name__", type(fn).__name__)
    raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): spike_grad={shown} is not supported")


def _spike(block: Block, layer, mem: tuple, threshold: np.ndarray) -> tuple:
    """[mem > threshold] as 0 or 1: mem lies on the grid 2^-f of its ranges, so mem > threshold
    iff mem >= t, the next grid point above the threshold, iff mem + 1 - t >= 1: that sum through
    an unsigned 1-bit integer quantizer (truncating, saturating)."""
    bias = []
    for f, th in zip(np.asarray(mem[1].frac).tolist(), threshold.tolist(), strict=True):
        tm, te = (int(v[0]) for v in decompose(np.array([th])))
        s = te + f
        above = (tm << s if s >= 0 else tm >> -s) + 1  # t * 2^f
        m, e = ((1 << f) - above, -f) if f >= 0 else (1 - (above << -f), 0)
        if abs(m) >= 1 << 53:
            raise FrontendError(f"layer '{layer.name}': the threshold {th} on a grid of 2^-{f} needs more than 53 bits")
        bias.append(math.ldexp(m, e))
    n = len(bias)
    c = _const_dense(block, layer, mem, np.eye(n), np.array(bias))
    zeros, ones = np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)
    r = fixed.quantized(c[1], zeros, ones, zeros, "TRN", "SAT")
    return _add(block, hgq.QuantizeOp(c[0], zeros, ones, zeros, "TRN", "SAT"), layer).result, r


@layer_kind("QSoftmax")
def _softmax_layer(block: Block, layer, ins: list[tuple], allowed: np.ndarray | None = None) -> tuple:
    """HGQ2's softmax: (max - x when stable), the exp table, the sum over the axes, the inverse
    table of the sum, and the product of each exp with its group's inverse. `allowed` (an
    attention mask, per flat element): the max and the sum read the allowed elements only,
    and the others' exps are zero (HGQ2 sets their logits to -1e9 and multiplies their exps
    by the mask), so their outputs are the output quantizer's zero."""
    x, r, shape = _one_input(layer, ins)
    if layer.enable_iq:
        x, r = _quantize(block, layer, layer.iq, x, r, shape)
    if r is None:
        raise FrontendError(f"layer '{layer.name}' (QSoftmax): its input must be quantized (enable its input quantizer)")
    axes = [a - 1 for a in layer.axes]
    if any(not 0 <= a < len(shape) for a in axes):
        raise FrontendError(f"layer '{layer.name}' (QSoftmax): axes={tuple(layer.axes)} must name non-batch axes")
    keep = [d for d in range(len(shape)) if d not in axes]
    groups = np.arange(int(np.prod(shape))).reshape(shape).transpose(keep + axes).reshape(-1, int(np.prod([shape[a] for a in axes])))
    group_of = np.empty(groups.size, dtype=np.int64)
    group_of[groups] = np.arange(len(groups))[:, None]
    inv_shape = tuple(1 if d in axes else n for d, n in enumerate(shape))
    exp, inv = layer.exp_table, layer.inv_table
    rows = groups if allowed is None else np.where(allowed[groups], groups, -1)  # -1: not read
    if layer.stable:
        rm = fixed.window_max(r, rows)
        m = _add(block, hgq.MaxPoolOp(x, rows, _type(rm)), layer).result
        rm = fixed.gather(rm, group_of)
        m = _add(block, hgq.GatherOp(m, group_of, _type(rm)), layer).result
        r = fixed.sub(rm, r)
        x = _add(block, hgq.SubOp(m, x, _type(r)), layer).result
        x, r = _quantize(block, exp, exp.iq, x, r, shape)
    e, re = _table(block, exp, x, r, shape)
    if allowed is not None:  # the masked exps are zero
        e, re = _picked(block, layer, e, re, np.where(allowed, np.arange(allowed.size), -1))
    wm, we = np.ones((groups.shape[1], 1), dtype=np.int64), np.zeros((groups.shape[1], 1), dtype=np.int64)
    w = _add(block, hgq.ConstOp(wm, we)).result
    rs = fixed.linear_windows(re, rows, wm.astype(object), we, None, None)
    s = _add(block, hgq.ConvOp(e, w, None, rows, _type(rs)), layer).result
    s, rs = _quantize(block, inv, inv.iq, s, rs, inv_shape)
    d, rd = _table(block, inv, s, rs, inv_shape)
    rd = fixed.gather(rd, group_of)
    d = _add(block, hgq.GatherOp(d, group_of, _type(rd)), layer).result
    r = fixed.mul(re, rd)
    y = _add(block, hgq.MulOp(e, d, _type(r)), layer).result
    if layer.enable_oq:
        y, r = _quantize(block, layer, layer.oq, y, r, shape)
    return y, r, shape


def _concatenate(block: Block, layer, ins: list[tuple], axis: int | None = None) -> tuple:
    """Flat concatenation, then (unless the axis is the outermost) a gather into row-major order."""
    shapes = [shape for _, _, shape in ins]
    if any(r is None for _, r, _ in ins):
        raise FrontendError(f"layer '{layer.name}' (Concatenate): every input must be quantized first")
    rank = len(shapes[0])
    given = layer.axis if axis is None else axis
    axis = given + rank + 1 if given < 0 else given
    if not 1 <= axis <= rank or any(len(s) != rank for s in shapes):
        raise FrontendError(f"layer '{layer.name}' (Concatenate): axis={given} does not fit input shapes {shapes}")
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    pieces = [np.arange(int(np.prod(s))).reshape(s) + off for s, off in zip(shapes, offsets, strict=False)]
    try:
        index = np.concatenate(pieces, axis=axis - 1)
    except ValueError:
        raise FrontendError(f"layer '{layer.name}' (Concatenate): input shapes {shapes} differ off axis {given}") from None
    r = fixed.concat([r for _, r, _ in ins])
    y = _add(block, hgq.ConcatOp([x for x, _, _ in ins], _type(r)), layer).result
    flat = index.reshape(-1)
    if not np.array_equal(flat, np.arange(flat.size)):
        r = fixed.gather(r, flat)
        y = _add(block, hgq.GatherOp(y, flat, _type(r)), layer).result
    return y, r, tuple(int(d) for d in index.shape)


def _table(block: Block, layer, x: SSAValue, r, shape, fn: Callable | None = None):
    """A unary elementwise layer over a quantized input as one lookup table per element.

    The entries are the layer's own outputs (TensorFlow's float32 function, then its
    output quantizer; or `fn`, batch of `shape` -> outputs) on every value the input can
    take, so the table is exact."""
    kind = type(layer).__name__
    if r is None:
        raise FrontendError(f"layer '{layer.name}' ({kind}): a lookup table needs a quantized input")
    counts = np.array([int(hi - lo) + 1 for lo, hi in zip(r.lo, r.hi, strict=True)], dtype=np.int64)
    if counts.max() > MAX_TABLE:
        raise FrontendError(f"layer '{layer.name}' ({kind}): an input takes {counts.max()} values, "
                            f"more than a lookup table of {MAX_TABLE} entries (narrow its input quantizer)")
    in_lo = np.array([int(v) for v in r.lo], dtype=np.int64)
    steps = np.minimum(np.arange(counts.max())[:, None], counts[None, :] - 1)  # short rows repeat their end
    grid = (in_lo[None, :] + steps) * 2.0 ** -r.frac.astype(np.float64)[None, :]
    y = _elementwise_outputs(layer, grid, shape, fn)
    m, e = decompose(y.T)  # (elements, entries)
    out_frac = np.where(m != 0, -e, np.iinfo(np.int64).min).max(axis=1, initial=0)
    table = [[int(v) << int(s) for v, s in zip(row_m, row_e + f, strict=True)] for row_m, row_e, f in zip(m, e, out_frac, strict=True)]
    limit = 1 << 62
    if any(abs(v) >= limit for row in table for v in row):
        raise FrontendError(f"layer '{layer.name}' ({kind}): table values need more than 62 bits (add an output quantizer)")
    table, in_frac = np.array(table, dtype=np.int64), r.frac
    r = fixed.table(r, in_lo, in_frac, out_frac, table)
    return _add(block, hgq.LutOp(x, in_lo, in_frac, out_frac, table, _type(r)), layer).result, r


def _elementwise_outputs(layer, grid: np.ndarray, shape, fn: Callable | None = None) -> np.ndarray:
    """The layer's outputs on `grid` (entries, elements), checked to be a function of each
    element alone: on the grid with every element's column rotated differently, each output
    must rotate with it (softmax, for one, does not)."""
    fn = fn or (lambda g: layer(g, training=False))

    def run(g: np.ndarray) -> np.ndarray:
        out = _numpy(fn(g.reshape(-1, *shape).astype(np.float32))).astype(np.float64)
        return out.reshape(len(g), -1)

    y = run(grid)
    if y.shape != grid.shape:
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): output shape differs from its input's: not elementwise")
    t = len(grid)
    rows = (np.arange(t)[:, None] + np.arange(grid.shape[1])[None, :] % max(t, 1) + 1) % t
    cols = np.arange(grid.shape[1])[None, :]
    if t > 1 and not np.array_equal(run(grid[rows, cols]), y[rows, cols], equal_nan=True):
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): not an elementwise function of its input")
    return y


def _add(block: Block, op, layer=None):
    if layer is not None:
        op.attributes["layer"] = StringAttr(layer.name)
    block.add_op(op)
    return op


def _type(r: fixed.Ranges):
    return hgq.fixed_tensor([len(r)], *fixed.envelope_of(r))


def _input_quantizer(block: Block, layer, x: SSAValue, r, shape):
    if layer.enable_iq:
        return _quantize(block, layer, layer.iq, x, r, shape)
    if r is None:
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): the first layer needs its input quantizer")
    return x, r


def _activation(block: Block, layer, y: SSAValue, r, shape=None):
    if type(layer).__name__ == "ReLU":
        act = "relu"
    else:
        act = getattr(layer.activation, "__name__", str(layer.activation)) if hasattr(layer, "activation") else "linear"
    if act in ("linear", "None"):
        return y, r
    if act != "relu" and type(layer).__name__ == "Activation" and shape is not None:
        return _table(block, layer, y, r, shape)  # any other function of a quantized value: a table
    if act != "relu":
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): activation '{act}' is not supported (linear, relu)")
    r = fixed.relu(r)
    return _add(block, hgq.ReluOp(y, _type(r)), layer).result, r


def _weights(block: Block, layer, kernel: np.ndarray, qbias=None):
    wm, we = decompose(kernel)
    w = _add(block, hgq.ConstOp(wm, we))
    kq = layer.kq.quantizer
    bits = _numpy(kq.bw_mapper.bw_to_x(kq.bits, _numpy(layer.qkernel).shape))  # HGQ's own bit count
    w.attributes["zero_bits"] = IntegerAttr(int(np.sum(np.rint(bits) <= 0)), i64)
    bm = be = b = None
    if qbias is None and layer.bias is not None:
        qbias = layer.qbias
    if qbias is not None:
        bm, be = decompose(_numpy(qbias).astype(np.float64))
        b = _add(block, hgq.ConstOp(bm, be)).result
    return w.result, wm, we, b, bm, be


def _dense(block: Block, layer, x: SSAValue, r, shape):
    if type(layer).__name__ == "QBatchNormDense":  # folded exactly as HGQ2 does at inference
        kernel, bias = layer.get_fused_qkernel_and_qbias(layer.moving_mean, layer.moving_variance)
        w, wm, we, b, bm, be = _weights(block, layer, _numpy(kernel), bias)
    else:
        w, wm, we, b, bm, be = _weights(block, layer, _numpy(layer.qkernel))
    if len(shape) == 1:
        r = fixed.linear(r, wm.astype(object), we, _obj(bm), be)
        y = _add(block, hgq.DenseOp(x, w, b, _type(r)), layer).result
    else:  # on the last axis at every position: one shared kernel, as a convolution
        patches = np.arange(int(np.prod(shape))).reshape(-1, shape[-1])
        r = fixed.linear_windows(r, patches, wm.astype(object), we, _obj(bm), be)
        y = _add(block, hgq.ConvOp(x, w, b, patches, _type(r)), layer).result
    y, r = _activation(block, layer, y, r)
    return y, r, (*shape[:-1], int(layer.units))


def _obj(a):
    return None if a is None else a.astype(object)


def _check_conv_like(layer, kind: str, dims: int, dilated: bool = False) -> None:
    """Refuse what the layer's windows cannot be read off: `dilated` allows dilation."""
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise FrontendError(f"layer '{layer.name}' ({kind}): data_format={layer.data_format} is not supported (channels_last)")
    if getattr(layer, "padding", "valid") not in ("valid", "same"):
        raise FrontendError(f"layer '{layer.name}' ({kind}): padding='{layer.padding}' is not supported (valid, same)")
    if not dilated and any(d != 1 for d in getattr(layer, "dilation_rate", (1,) * dims)):
        raise FrontendError(f"layer '{layer.name}' ({kind}): dilation_rate={layer.dilation_rate} is not supported (1)")
    if getattr(layer, "groups", 1) != 1:
        raise FrontendError(f"layer '{layer.name}' ({kind}): groups={layer.groups} is not supported (1)")


def sliding_windows(shape, window, strides, padding: str, dilation=None):
    """Flat input indices read by each output position (-1: outside, i.e. padding).

    `shape` = spatial dims + (channels,); returns (output spatial shape, index array of
    shape (positions, prod(window), channels)). A dilated window of k taps spans
    (k - 1) * dilation + 1 inputs, and `same` pads for that span, as TensorFlow does."""
    spatial, channels = shape[:-1], shape[-1]
    dilation = tuple(dilation) if dilation is not None else (1,) * len(window)
    outs, starts = [], []
    for n, k, s, d in zip(spatial, window, strides, dilation, strict=True):
        span = (k - 1) * d + 1
        o = (n - span) // s + 1 if padding == "valid" else -(-n // s)
        pad = max((o - 1) * s + span - n, 0) // 2 if padding == "same" else 0
        outs.append(o)
        starts.append(np.arange(o) * s - pad)
    # positions: product over output dims; offsets: product over window dims
    coords = []
    for d in range(len(spatial)):
        c = np.stack(np.meshgrid(*[np.arange(o) for o in outs], indexing="ij"), -1).reshape(-1, len(spatial))[:, d]
        off = np.stack(np.meshgrid(*[np.arange(k) * g for k, g in zip(window, dilation)], indexing="ij"),
                       -1).reshape(-1, len(spatial))[:, d]
        coords.append(starts[d][c][:, None] + off[None, :])
    inside = np.all([(c >= 0) & (c < n) for c, n in zip(coords, spatial, strict=True)], axis=0)
    flat = np.zeros_like(coords[0])
    for c, n in zip(coords, spatial, strict=True):
        flat = flat * n + np.clip(c, 0, n - 1)
    index = flat[:, :, None] * channels + np.arange(channels)[None, None, :]
    return tuple(outs), np.where(inside[:, :, None], index, -1)


def _conv(block: Block, layer, x: SSAValue, r, shape):
    kind = type(layer).__name__
    dims = _spatial_dims(kind)
    _check_conv_like(layer, kind, dims, dilated=True)
    if len(shape) != dims + 1:
        raise FrontendError(f"layer '{layer.name}' ({kind}): input shape {shape} is not {dims}-D with channels")
    kernel = _numpy(layer.qkernel)  # (k1[, k2], c_in, c_out)
    out_spatial, index = sliding_windows(shape, kernel.shape[:dims], tuple(layer.strides), layer.padding,
                                         getattr(layer, "dilation_rate", None))
    patches = index.reshape(index.shape[0], -1)  # row-major (window..., c_in): the kernel's order
    w, wm, we, b, bm, be = _weights(block, layer, kernel.reshape(-1, kernel.shape[-1]))
    r = fixed.linear_windows(r, patches, wm.astype(object), we, _obj(bm), be)
    y = _add(block, hgq.ConvOp(x, w, b, patches, _type(r)), layer).result
    y, r = _activation(block, layer, y, r)
    return y, r, (*out_spatial, kernel.shape[-1])


def _einsum(block: Block, layer, x: SSAValue, r, shape):
    """A constant-kernel einsum as a convolution: the axes the input and output share but the
    kernel lacks are positions (one shared adder graph), the rest is one matrix per position."""
    inp, out, ker = _einsum_letters(layer, len(shape))
    if out[0] != inp[0] or inp[0] in ker:
        raise FrontendError(f"layer '{layer.name}' (QEinsumDense): equation '{layer.equation}' must keep the batch axis first")
    inp, out = inp[1:], out[1:]
    out_shape = tuple(int(d) for d in layer.full_output_shape[1:])
    size = dict(zip(inp, shape, strict=True)) | dict(zip(out, out_shape, strict=True))
    pos = [c for c in inp if c in out and c not in ker]
    red = [c for c in inp if c not in pos]
    col = [c for c in out if c not in pos]
    kernel = _numpy(layer.qkernel).astype(np.float64)
    n_red = int(np.prod([size[c] for c in red]))
    basis = np.eye(n_red).reshape(n_red, *[size[c] for c in red])
    z = next(c for c in "zyxwvutsrqponmlkjihgfedcba" if c not in inp + out + ker)
    w_eff = np.einsum(f"{z}{''.join(red)},{ker}->{z}{''.join(col)}", basis, kernel).reshape(n_red, -1)
    flat_in = np.arange(int(np.prod(shape))).reshape(shape)
    patches = flat_in.transpose([inp.index(c) for c in pos + red]).reshape(-1, n_red)
    qbias = None
    if layer.bias is not None:
        full = np.broadcast_to(_numpy(layer.qbias).astype(np.float64), out_shape)
        full = full.transpose([out.index(c) for c in pos + col]).reshape(patches.shape[0], -1)
        if not (full == full[:1]).all():
            raise FrontendError(f"layer '{layer.name}' (QEinsumDense): a bias that varies along the position axes is not supported")
        qbias = full[0]
    w, wm, we, b, bm, be = _weights(block, layer, w_eff, qbias)
    r = fixed.linear_windows(r, patches, wm.astype(object), we, _obj(bm), be)
    y = _add(block, hgq.ConvOp(x, w, b, patches, _type(r)), layer).result
    # the convolution's element order is (positions, columns); the layer's is `out`
    order = np.arange(r.frac.size).reshape([size[c] for c in pos + col]).transpose([(pos + col).index(c) for c in out]).reshape(-1)
    if not np.array_equal(order, np.arange(order.size)):
        r = fixed.gather(r, order)
        y = _add(block, hgq.GatherOp(y, order, _type(r)), layer).result
    y, r = _activation(block, layer, y, r)
    return y, r, out_shape


def _einsum_letters(layer, rank: int) -> tuple[str, str, str]:
    """(input, output, kernel) axis letters, batch included, with any `...` spelled out."""
    try:
        lhs, out = layer.equation.replace(" ", "").split("->")
        inp, ker = lhs.split(",")
    except ValueError:
        raise FrontendError(f"layer '{layer.name}' (QEinsumDense): cannot read equation '{layer.equation}'") from None
    if "..." in inp:
        free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in layer.equation]
        ell = "".join(free[: rank + 1 - (len(inp) - 3)])
        inp, out = inp.replace("...", ell), out.replace("...", ell)
    if "..." in ker or len(inp) != rank + 1:
        raise FrontendError(f"layer '{layer.name}' (QEinsumDense): equation '{layer.equation}' is not supported")
    return inp, out, ker


def _spatial_dims(kind: str) -> int:
    """1, 2 or 3: the spatial dimensions a `…1D` / `…2D` / `…3D` layer works on."""
    return int(kind[-2])


def _pool_windows(layer, shape):
    """(output spatial shape, index (positions, window, channels)) of a pooling layer."""
    kind = type(layer).__name__
    dims = _spatial_dims(kind)
    _check_conv_like(layer, kind, dims)
    if len(shape) != dims + 1:
        raise FrontendError(f"layer '{layer.name}' ({kind}): input shape {shape} is not {dims}-D with channels")
    if "Global" in kind:
        if getattr(layer, "keepdims", False):
            raise FrontendError(f"layer '{layer.name}' ({kind}): keepdims=True is not supported")
        out, index = sliding_windows(shape, shape[:-1], (1,) * dims, "valid")
        return (), index
    return sliding_windows(shape, tuple(layer.pool_size), tuple(layer.strides), layer.padding)


def _avgpool(block: Block, layer, x: SSAValue, r, shape):
    """A power-of-two average pool is exact: a convolution with the kernel 2^-s on the diagonal.
    Any other window (or one overlapping padding, which TensorFlow averages over its real
    inputs only) is a sum whose division is left to the quantizer that reads the mean."""
    out_spatial, index = _pool_windows(layer, shape)
    window, channels = index.shape[1], index.shape[2]
    patches = index.reshape(index.shape[0], -1)
    if (index < 0).any() or window & (window - 1):
        wm, we = np.tile(np.eye(channels, dtype=np.int64), (window, 1)), np.zeros((window * channels, channels), dtype=np.int64)
        w = _add(block, hgq.ConstOp(wm, we)).result
        r = fixed.linear_windows(r, patches, wm.astype(object), we, None, None)
        y = _add(block, hgq.ConvOp(x, w, None, patches, _type(r)), layer).result
        counts = (index[:, :, 0] >= 0).sum(axis=1)
        _PENDING_MEANS[y] = (r, np.repeat(counts, channels), layer)
        return y, None, (*out_spatial, channels)
    wm = np.tile(np.eye(channels, dtype=np.int64), (window, 1))
    we = np.full(wm.shape, -(window.bit_length() - 1), dtype=np.int64)
    w = _add(block, hgq.ConstOp(wm, np.where(wm != 0, we, 0))).result
    r = fixed.linear_windows(r, patches, wm.astype(object), np.where(wm != 0, we, 0), None, None)
    y = _add(block, hgq.ConvOp(x, w, None, patches, _type(r)), layer).result
    return y, r, (*out_spatial, channels)


@layer_kind("QConvT1D", "QConvT2D")
def _conv_table_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    """A table convolution: the layer's own patches (zero padding included), then QDenseT's
    tables at every output position."""
    x, r, shape = _one_input(layer, ins)
    kind = type(layer).__name__
    dims = _spatial_dims(kind)
    _check_conv_like(layer, kind, dims)
    if len(shape) != dims + 1:
        raise FrontendError(f"layer '{layer.name}' ({kind}): input shape {shape} is not {dims}-D with channels")
    out_spatial, index = sliding_windows(shape, tuple(layer.kernel_size), tuple(layer.strides), layer.padding)
    patches = index.reshape(index.shape[0], -1)  # (positions, window x channels), the layer's patch order
    return _dense_table(block, layer, x, r, (*out_spatial, patches.shape[1]), patches.reshape(-1))


def _dense_table(block: Block, layer, x: SSAValue, r, shape, source: np.ndarray | None = None):
    """QDenseT: every (input i, output o) edge is a learned function of x_i quantized by its own
    quantizer: a lookup table per edge, then the sum over i of the tables' quantized outputs.
    `source` (flat, -1 for zero padding) picks the layer's inputs from x (default: x itself)."""
    n_in, n_out = shape[-1], int(layer.n_out)
    edges = (*shape, n_out)  # (..., n_in, n_out), as the layer broadcasts its input
    if source is None:
        source = np.arange(int(np.prod(shape)))
    source = np.broadcast_to(source.reshape(*shape, 1), edges).reshape(-1)
    positions = int(np.prod(shape[:-1]))
    sums = np.arange(positions * n_in * n_out).reshape(positions, n_in, n_out).transpose(0, 2, 1).reshape(-1, n_in)

    def edge_functions(g):
        t = layer.module(g[..., None], training=False)
        if layer.enable_bn:
            t = layer.bn_module(t, training=False) / np.sqrt(n_in)
        return layer.toq(t, training=False)

    return _edge_tables(block, layer, x, r, edges, source, sums, edge_functions, (*shape[:-1], n_out))


@layer_kind("QEinsumDenseT")
def _einsum_table_layer(block: Block, layer, ins: list[tuple]) -> tuple:
    """QEinsumDenseT: the input broadcast to the layer's pre-sum shape, a table per element,
    the sum over the contracted axes, the output transposed as the layer does."""
    x, r, shape = _one_input(layer, ins)
    reshape, presum = (tuple(int(d) for d in s[1:]) for s in layer._broadcast_shapes((1, *shape)))
    source = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(reshape), presum).reshape(-1)
    contract = [a - 1 for a in layer._contract_axes]
    keep = [d for d in range(len(presum)) if d not in contract]
    n_in = int(np.prod([presum[d] for d in contract]))
    sums = np.arange(int(np.prod(presum))).reshape(presum).transpose(keep + contract).reshape(-1, n_in)
    post = [presum[d] for d in keep]
    order = np.arange(int(np.prod(post))).reshape((1, *post)).transpose(layer._output_transpose).reshape(-1)

    def edge_functions(g):
        t = layer._apply_batch_norm(layer.module(g[..., None], training=False), training=False)
        return layer.toq(t, training=False)

    out_shape = tuple(int(d) for d in layer.compute_output_shape((None, *shape))[1:])
    return _edge_tables(block, layer, x, r, presum, source, sums[order], edge_functions, out_shape)


def _edge_tables(block: Block, layer, x: SSAValue, r, edges, source: np.ndarray, sums: np.ndarray, fn: Callable,
                 out_shape) -> tuple:
    """A table layer: x's elements at `source` (-1: zero padding) in the layer's pre-sum shape
    `edges`, each quantized by its own input quantizer and looked up in its own table (`fn`,
    the layer's sub-network and table quantizer), then summed in the groups `sums`
    (outputs x summed edges) and passed through the layer's activation."""
    index = np.maximum(source, 0)  # a padded edge reads any element: its quantizer outputs 0
    if r is not None:
        r = fixed.gather(r, index)
    x = _add(block, hgq.GatherOp(x, index, _type(r) if r is not None else _float_type(index.size)), layer).result
    if layer.enable_iq:
        x, r = _quantize(block, layer, layer.iq, x, r, edges, zero=source < 0)
    elif r is None or (source < 0).any():
        raise FrontendError(f"layer '{layer.name}' ({type(layer).__name__}): a table layer without its input quantizer "
                            f"must read quantized values and no padding")
    x, r = _table(block, layer, x, r, edges, fn)
    wm = np.ones((sums.shape[1], 1), dtype=np.int64)
    we = np.zeros((sums.shape[1], 1), dtype=np.int64)
    w = _add(block, hgq.ConstOp(wm, we)).result
    r = fixed.linear_windows(r, sums, wm.astype(object), we, None, None)
    y = _add(block, hgq.ConvOp(x, w, None, sums, _type(r)), layer).result
    y, r = _activation(block, layer, y, r)
    if getattr(layer, "enable_oq", False):
        y, r = _quantize(block, layer, layer.oq, y, r, out_shape)
    return y, r, out_shape


def _float_type(n: int):
    from xdsl.dialects.builtin import Float32Type, TensorType

    return TensorType(Float32Type(), [n])


def _sum(block: Block, layer, x: SSAValue, r, shape):
    """QSum / QMeanPow2: the sum over `axes` times a power of two, exactly: a convolution whose
    positions are the kept elements and whose kernel is one column of the scale."""
    kind = type(layer).__name__
    axes = sorted({int(a) for a in layer.axes})
    if 0 in axes or any(not 1 <= a <= len(shape) for a in axes):
        raise FrontendError(f"layer '{layer.name}' ({kind}): axes={tuple(layer.axes)} must name non-batch axes of {shape}")
    scale = np.log2(float(layer.scale))
    if scale != np.rint(scale):
        raise FrontendError(f"layer '{layer.name}' ({kind}): scale {layer.scale} is not a power of two")
    red = [a - 1 for a in axes]
    keep = [d for d in range(len(shape)) if d not in red]
    patches = np.arange(int(np.prod(shape))).reshape(shape).transpose(keep + red).reshape(-1, int(np.prod([shape[d] for d in red])))
    wm = np.ones((patches.shape[1], 1), dtype=np.int64)
    we = np.full(wm.shape, int(scale), dtype=np.int64)
    w = _add(block, hgq.ConstOp(wm, we)).result
    r = fixed.linear_windows(r, patches, wm.astype(object), we, None, None)
    y = _add(block, hgq.ConvOp(x, w, None, patches, _type(r)), layer).result
    out_shape = tuple(1 if d in red else n for d, n in enumerate(shape)) if layer.keepdims else tuple(shape[d] for d in keep)
    return y, r, out_shape


def _batchnorm(block: Block, layer, x: SSAValue, r, shape):
    """iq(x) * qscale + qoffset per channel: a 1x1 convolution with a diagonal kernel."""
    axis = layer.axis if isinstance(layer.axis, int) else tuple(layer.axis)
    if axis not in (-1, len(shape)):
        raise FrontendError(f"layer '{layer.name}' (QBatchNormalization): axis={layer.axis} is not supported (-1)")
    scale, offset = (_numpy(t).astype(np.float64).reshape(-1) for t in layer.qscaler_and_qoffset)
    channels = shape[-1]
    scale, offset = np.broadcast_to(scale, (channels,)), np.broadcast_to(offset, (channels,))
    sm, se = decompose(scale)
    wm, we = np.diag(sm), np.diag(se)
    w = _add(block, hgq.ConstOp(wm, we)).result
    bm, be = decompose(offset)
    b = _add(block, hgq.ConstOp(bm, be)).result if bm.any() else None
    positions = int(np.prod(shape[:-1]))
    patches = np.arange(positions * channels).reshape(positions, channels)
    r = fixed.linear_windows(r, patches, wm.astype(object), we, bm.astype(object), be)
    return _add(block, hgq.ConvOp(x, w, b, patches, _type(r)), layer).result, r


def _maxpool(block: Block, layer, x: SSAValue, r, shape):
    out_spatial, index = _pool_windows(layer, shape)
    windows = index.transpose(0, 2, 1).reshape(-1, index.shape[1])  # output (position, channel)
    r = fixed.window_max(r, windows)
    y = _add(block, hgq.MaxPoolOp(x, windows, _type(r)), layer).result
    return y, r, (*out_spatial, shape[-1])


def _quantize(block: Block, layer, q, x: SSAValue, r, shape, zero: np.ndarray | None = None):
    """The layer's quantizer `q` on x; elements where `zero` holds get a zero-width format
    (they are zero padding: every quantizer maps 0 to 0)."""
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
    n = int(np.prod(shape))
    k, i, f = (
        np.rint(_numpy(inner.bw_mapper.bw_to_x(v, (1, *shape)))).astype(np.int64).reshape(n) for v in inner.kif
    )
    if zero is not None:
        k, i, f = (np.where(zero, 0, a) for a in (k, i, f))
    if getattr(q, "scaler", None) is not None:
        raise FrontendError(f"layer '{layer.name}': a quantizer with scaler={q.scaler} is not supported")
    if x in _PENDING_MEANS:
        x, r = _mean_for(block, layer, x, k, i, f, round_mode, overflow)
    op = _add(block, hgq.QuantizeOp(x, k, i, f, round_mode, overflow), layer)
    y, r = op.result, fixed.quantized(r, k, i, f, round_mode, overflow)
    affine = getattr(q, "affine", None)
    if affine is not None:  # outputs * a + b (HardSigmoid's 0.25, 0.5): exact constants
        (am, ae), (bm, be) = (decompose(np.array([[float(v)]])) for v in affine)
        w = _add(block, hgq.ConstOp(am, ae)).result
        b = _add(block, hgq.ConstOp(bm[0], be[0])).result
        patches = np.arange(n).reshape(-1, 1)
        r = fixed.linear_windows(r, patches, am.astype(object), ae, bm[0].astype(object), be[0])
        y = _add(block, hgq.ConvOp(y, w, b, patches, _type(r)), layer).result
    return y, r


def _mean_for(block: Block, layer, x: SSAValue, k, i, f, round_mode: str, overflow: str) -> tuple:
    """The mean of a pending window sum, exact enough for this quantizer: per group of elements
    with one count and grid, sum * c * 2^-p + d * 2^-(p + frac), with (c, d, p) checked on
    every sum the elements can take (`fixed.mean_multiplier`), in the order of x."""
    r, counts, pool = _PENDING_MEANS[x]
    groups: dict[tuple[int, int], list[int]] = {}
    for j, (n, fs) in enumerate(zip(counts.tolist(), r.frac.tolist(), strict=True)):
        groups.setdefault((n, fs), []).append(j)
    parts, order = [], []
    for (n, fs), members in groups.items():
        index = np.array(members)
        elements = [(int(r.lo[j]), int(r.hi[j]), int(k[j]), int(i[j]), int(f[j])) for j in members]
        if max(hi - lo for lo, hi, *_ in elements) > 1 << 18:
            raise FrontendError(f"layer '{pool.name}' ({type(pool).__name__}): a window sum takes more than 2^18 values: "
                                f"narrow its input quantizer")
        found = fixed.mean_multiplier(elements, fs, n, round_mode, overflow)
        if found is None:
            raise FrontendError(f"layer '{pool.name}' ({type(pool).__name__}): no exact constant divides its sums by {n} "
                                f"for the quantizer of layer '{layer.name}'")
        c, d, p = found
        g = (x, r) if len(groups) == 1 else _gathered(block, pool, x, r, index)
        wm, we = np.array([[c]], dtype=np.int64), np.array([[-p]], dtype=np.int64)
        bm, be = np.array([d], dtype=np.int64), np.array([-(p + fs)], dtype=np.int64)
        w = _add(block, hgq.ConstOp(wm, we)).result
        b = _add(block, hgq.ConstOp(bm, be)).result if d else None
        patches = np.arange(index.size).reshape(-1, 1)
        rg = fixed.linear_windows(g[1], patches, wm.astype(object), we, bm.astype(object) if d else None, be if d else None)
        parts.append((_add(block, hgq.ConvOp(g[0], w, b, patches, _type(rg)), pool).result, rg))
        order.extend(members)
    if len(parts) == 1 and order == sorted(order):
        return parts[0]
    rc = fixed.concat([rp for _, rp in parts])
    y = _add(block, hgq.ConcatOp([v for v, _ in parts], _type(rc)), pool).result
    back = np.argsort(np.array(order))
    rb = fixed.gather(rc, back)
    return _add(block, hgq.GatherOp(y, back, _type(rb)), pool).result, rb


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
