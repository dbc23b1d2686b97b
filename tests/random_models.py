"""Random small `hgq` models (built as IR, no Keras) for property tests."""

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Region

from hgq_mlir import fixed
from hgq_mlir.dialects import hgq
from hgq_mlir.passes.tensor_model import envelope_type

ROUNDS = ("RND", "RND_CONV", "TRN")
OVERFLOWS = ("WRAP", "SAT", "SAT_SYM")


def _quantizer(rng, n):
    k = rng.integers(0, 2, n)
    i = rng.integers(-1, 5, n)
    f = rng.integers(-1, 5, n)
    dead = rng.random(n) < 0.2
    return np.where(dead, 0, k), np.where(dead, 0, i), np.where(dead, 0, f)


def random_model(seed: int, sizes=(6, 5, 4, 3)) -> ModuleOp:
    """input -> [quantize -> dense (-> relu)] x layers -> output, with zero widths and zero weights."""
    rng = np.random.default_rng(seed)
    block = Block()
    x = hgq.InputOp("inp", sizes[0])
    block.add_op(x)
    v = x.result
    r = None
    for n, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        q = hgq.QuantizeOp(v, *_quantizer(rng, n_in), str(rng.choice(ROUNDS)), str(rng.choice(OVERFLOWS)))
        q.attributes["layer"] = StringAttr(f"d{n}")
        block.add_op(q)
        k, i, f = q.kif()
        r = fixed.quantized(r, k, i, f, q.round.data, q.overflow.data)
        wm = rng.integers(-9, 10, (n_in, n_out)) * (rng.random((n_in, n_out)) > 0.4)
        we = rng.integers(-3, 2, (n_in, n_out))
        bm = rng.integers(-5, 6, n_out) * (rng.random(n_out) > 0.3)
        be = rng.integers(-3, 1, n_out)
        w, b = hgq.ConstOp(wm, we), hgq.ConstOp(bm, be)
        block.add_ops([w, b])
        r = fixed.linear(r, wm.astype(object), we, bm.astype(object), be)
        d = hgq.DenseOp(q.result, w.result, b.result, envelope_type(r))
        d.attributes["layer"] = StringAttr(f"d{n}")
        block.add_op(d)
        v = d.result
        if n < len(sizes) - 2 and rng.random() < 0.8:
            r = fixed.relu(r)
            relu = hgq.ReluOp(v, envelope_type(r))
            block.add_op(relu)
            v = relu.result
    block.add_ops([hgq.OutputOp("out", v), func.ReturnOp()])
    return ModuleOp([func.FuncOp(f"rand{seed}", ((), ()), Region(block))])


def first_quantizer(module: ModuleOp) -> hgq.QuantizeOp:
    return next(op for op in module.walk() if isinstance(op, hgq.QuantizeOp))
