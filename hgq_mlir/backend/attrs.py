"""Typed data that passes hand to later passes and the backend, as builtin attributes.

Counts and small records (pruning counts, the baseline cost, the pipeline's latency)
travel as a `DictionaryAttr` of `IntegerAttr` (i64), `BoolAttr` (i1), `StringAttr`,
`ArrayAttr` and nested dictionaries: printable and parseable IR, read back without any
string decoding. `to_attr` builds one from plain Python data, `from_attr` reads it back
(key order kept, so the report lists layers in the order the pass wrote them).
"""

from __future__ import annotations

from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    i1,
    i64,
)
from xdsl.ir import Attribute

from hgq_mlir.errors import UserError

Data = int | bool | str | list | dict


def to_attr(value: Data) -> Attribute:
    if isinstance(value, bool):
        return IntegerAttr(int(value), i1)
    if isinstance(value, int):
        return IntegerAttr(value, i64)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, list | tuple):
        return ArrayAttr([to_attr(v) for v in value])
    if isinstance(value, dict):
        return DictionaryAttr({str(k): to_attr(v) for k, v in value.items()})
    raise TypeError(f"to_attr: {type(value).__name__} has no attribute form")


def from_attr(attr: Attribute, what: str = "attribute") -> Data:
    """Plain Python data from `to_attr`'s attributes; anything else is a one-line UserError."""
    if isinstance(attr, IntegerAttr) and isinstance(attr.type, IntegerType):
        if attr.type.width.data == 1:
            return attr.value.data != 0
        return attr.value.data
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, ArrayAttr):
        return [from_attr(a, what) for a in attr.data]
    if isinstance(attr, DictionaryAttr):
        return {k: from_attr(v, what) for k, v in attr.data.items()}
    raise UserError(f"{what}: expected integers, strings, arrays and dictionaries, found {type(attr).__name__}")


def record(holder, key: str, fields: dict[str, type]) -> dict | None:
    """The dictionary attribute `key` of op `holder` as a dict, with `fields` checked
    (name -> Python type); None when absent. A wrong shape is a one-line UserError."""
    attr = holder.attributes.get(key)
    if attr is None:
        return None
    what = f"{key} on {holder.name}"
    if not isinstance(attr, DictionaryAttr):
        raise UserError(f"{what}: expected a dictionary attribute, found {type(attr).__name__}")
    data = from_attr(attr, what)
    for name, kind in fields.items():
        if name not in data:
            raise UserError(f"{what}: no '{name}' entry")
        value = data[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UserError(f"{what}: '{name}' must be {kind.__name__}")
    return data
