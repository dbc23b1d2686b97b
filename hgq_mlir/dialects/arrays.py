"""Dense integer attributes <-> NumPy arrays without a per-element Python loop."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    IntegerType,
    TensorType,
    i32,
    i64,
)

_NP_DTYPE = {32: "<i4", 64: "<i8"}


def int_array_attr(values: np.ndarray, width: int | None = None) -> DenseIntOrFPElementsAttr:
    """A `dense<...> : tensor<...xi32>` (or i64 when needed) attribute holding `values` exactly."""
    values = np.asarray(values)
    if width is None:
        small = not values.size or (values.min() >= -(1 << 31) and values.max() < (1 << 31))
        width = 32 if small else 64
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    if values.size and (values.min() < lo or values.max() > hi):
        raise ValueError(f"integer values do not fit i{width}")
    element = i32 if width == 32 else i64
    data = np.ascontiguousarray(values, dtype=_NP_DTYPE[width]).tobytes()
    return DenseIntOrFPElementsAttr(TensorType(element, list(values.shape)), BytesAttr(data))


def attr_array(attr: DenseIntOrFPElementsAttr) -> np.ndarray:
    """The int64 NumPy array an integer dense attribute holds (splats expanded)."""
    element = attr.get_element_type()
    assert isinstance(element, IntegerType)
    raw = np.frombuffer(attr.data.data, dtype=_NP_DTYPE[element.width.data]).astype(np.int64)
    shape = tuple(attr.get_shape())
    size = int(np.prod(shape)) if shape else 1
    if raw.size == 1 and size != 1:
        raw = np.full(size, raw[0], dtype=np.int64)
    return raw.reshape(shape)


def print_int_array(printer, attr: DenseIntOrFPElementsAttr) -> None:
    """Print an integer dense attribute as a nested list (never as a hex blob)."""
    values = attr_array(attr)
    if values.size and (values == values.flat[0]).all():
        body = str(int(values.flat[0]))
    else:
        body = str(values.tolist())
    printer.print_string(f"dense<{body}> : ")
    printer.print_attribute(attr.type)


def print_keyword_arrays(printer, named: list[tuple[str, DenseIntOrFPElementsAttr]]) -> None:
    """` name = dense<...> : type, name = ...` (the layout custom op formats share)."""
    for n, (name, attr) in enumerate(named):
        printer.print_string(f"{', ' if n else ' '}{name} = ")
        print_int_array(printer, attr)


def parse_keyword_arrays(parser, names: tuple[str, ...]) -> dict[str, DenseIntOrFPElementsAttr]:
    props = {}
    for n, name in enumerate(names):
        if n:
            parser.parse_punctuation(",")
        parser.parse_keyword(name)
        parser.parse_punctuation("=")
        attr = parser.parse_attribute()
        if not isinstance(attr, DenseIntOrFPElementsAttr) or not isinstance(attr.get_element_type(), IntegerType):
            parser.raise_error(f"'{name}' must be a dense integer tensor attribute")
        props[name] = attr
    return props
