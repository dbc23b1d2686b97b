"""Keras `predict` == the `hgq` interpreter, and the IR survives print -> parse -> print."""

import numpy as np
from conftest import random_inputs
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.parser import Parser

from hgq_mlir.dialects.hgq import HGQ
from hgq_mlir.frontend.keras import import_model, load_keras
from hgq_mlir.interp.hgq import run_hgq


def _ctx() -> Context:
    ctx = Context()
    for d in (builtin.Builtin, func.Func, HGQ):
        ctx.load_dialect(d)
    return ctx


def _mismatches(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.sum(a != b))


def test_interpreter_bit_exact_with_keras(trained_models, model_kind):
    model, path = trained_models[model_kind]
    module = import_model(load_keras(path))
    x = random_inputs(2000)
    expected = model.predict(x, verbose=0, batch_size=1000).astype(np.float64)
    got = run_hgq(module, [x])["out"].to_float()
    assert got.shape == expected.shape
    assert _mismatches(got, expected) == 0
    # negative control: the comparison does see a one-LSB change
    bumped = got.copy()
    bumped[7, 2] += 2.0 ** -run_hgq(module, [x[:1]])["out"].frac
    assert _mismatches(bumped, expected) == 1


def test_ir_round_trip(trained_models, model_kind):
    module = import_model(trained_models[model_kind][0])
    module.verify()
    text = str(module)
    again = Parser(_ctx(), text).parse_module()
    again.verify()
    assert str(again) == text
    assert module.is_structurally_equivalent(again)


def test_generic_form_round_trip(trained_models):
    from io import StringIO

    from xdsl.printer import Printer

    module = import_model(trained_models["jsc"][0])
    out = StringIO()
    Printer(stream=out, print_generic_format=True).print_op(module)
    generic = out.getvalue()
    again = Parser(_ctx(), generic).parse_module()
    assert str(again) == str(module)


def test_pruned_model_has_mostly_zero_weights(trained_models):
    from hgq_mlir.dialects import hgq

    module = import_model(trained_models["pruned"][0])
    consts = [op for op in module.walk() if isinstance(op, hgq.ConstOp)]
    weights = np.concatenate([op.values()[0].ravel() for op in consts])
    assert float(np.mean(weights == 0)) > 0.5


def test_fixed_types_compare_by_value():
    """Types with different formats must differ (CSE merges ops whose types compare equal)."""
    from hgq_mlir.dialects import fx, hgq

    for t in (fx.FixedType, hgq.FixedType):
        assert t(0, 1, 0) == t(0, 1, 0)
        assert t(0, 1, 0) != t(0, 2, -1) and hash(t(1, 2, 3)) != hash(t(1, 2, 4))
