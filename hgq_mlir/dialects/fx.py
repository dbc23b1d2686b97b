"""The `fx` dialect: scalar fixed-point dataflow.

Every value has a type `!fx.fixed<k, i, f>` (k sign bit, i integer bits excluding
the sign, f fractional bits; width k+i+f >= 1), holding `mantissa * 2^-f`.
Every op computes its exact result and stores it in its result type, wrapping
(two's complement) if it did not fit; the lowerings size result types from exact
value ranges, so no wrap ever happens unless a quantizer asks for it.
Shifts are changes of type: they cost no logic.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import I64, UNKNOWN_LOC, DenseIntOrFPElementsAttr, IntAttr, IntegerAttr, StringAttr
from xdsl.dialects.utils.enum_attribute import EnumAttribute
from xdsl.ir import Attribute, Dialect, Operation, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    VarConstraint,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Commutative, ConstantLike, Pure
from xdsl.utils.exceptions import VerifyException

from hgq_mlir.dialects.arrays import (
    attr_array,
    int_array_attr,
    parse_keyword_arrays,
    print_keyword_arrays,
)
from hgq_mlir.dialects.formats import parse_mode, parse_unary_tail, print_unary_tail
from hgq_mlir import fixed
from hgq_mlir.fixed import OverflowMode, RoundMode
from hgq_mlir.dialects.kif import KIFType



def _build(op: Operation, operands: list, result_type: Attribute, properties: dict | None = None,
           attributes=None) -> None:
    """Initialize an fx op of single operands and one result without IRDL's generic argument
    matching: lowerings build these by the hundred thousand (the verifier still checks them)."""
    Operation.__init__(op, operands=[SSAValue.get(v) for v in operands], result_types=[result_type],
                       properties=properties or {}, attributes=attributes or {}, location=UNKNOWN_LOC)

@irdl_attr_definition
class FixedType(KIFType):
    """`!fx.fixed<k, i, f>`: a (k+i+f)-bit two's complement (k=1) or unsigned mantissa."""

    name = "fx.fixed"

    # the parameters are declared here, not only on the base: xDSL derives equality and
    # hashing from the concrete class's own fields
    k: IntAttr
    i: IntAttr
    f: IntAttr

    def verify(self) -> None:
        super().verify()
        if self.width < 1:
            raise VerifyException(f"width k+i+f must be at least 1, got {self.width} (zero is a constant)")


@irdl_attr_definition
class RoundModeAttr(EnumAttribute[RoundMode], SpacedOpaqueSyntaxAttribute):
    """A quantizer's rounding mode (RND, RND_CONV, TRN)."""

    name = "fx.round"


@irdl_attr_definition
class OverflowModeAttr(EnumAttribute[OverflowMode], SpacedOpaqueSyntaxAttribute):
    """A quantizer's overflow mode (WRAP, SAT, SAT_SYM)."""

    name = "fx.overflow"


def fixed_for_range(lo: int, hi: int, f: int) -> FixedType:
    """The narrowest format with `f` fractional bits holding mantissas lo..hi."""
    return _fixed_type(*fixed.format_of_range(lo, hi, f))


@functools.cache
def _fixed_type(k: int, i: int, f: int) -> FixedType:
    """FixedType(k, i, f), built once per format (attributes are immutable; a large layer asks
    for a few hundred formats hundreds of thousands of times)."""
    return FixedType(k, i, f)


@functools.cache
def _int_attr(value: int) -> IntAttr:
    return IntAttr(value)


def _fixed(value: SSAValue, what: str) -> FixedType:
    if not isinstance(value.type, FixedType):
        raise VerifyException(f"{what} must be !fx.fixed, got {value.type}")
    return value.type


class _Binary(IRDLOperation):
    lhs = operand_def(FixedType)
    rhs = operand_def(FixedType)
    result = result_def(FixedType)
    traits = traits_def(Pure())

    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue, result_type: FixedType, attributes=None):
        _build(self, [lhs, rhs], result_type, attributes=attributes)

    def verify_(self) -> None:
        f = max(_fixed(self.lhs, "lhs").frac, _fixed(self.rhs, "rhs").frac)
        if self.result.type.frac != f:
            raise VerifyException(f"{self.name} result must keep every fractional bit: f = {f}, got {self.result.type.frac}")


@irdl_op_definition
class AddOp(_Binary):
    """lhs + rhs, operands aligned by their types."""

    name = "fx.add"
    traits = traits_def(Pure(), Commutative())


@irdl_op_definition
class SubOp(_Binary):
    """lhs - rhs, operands aligned by their types."""

    name = "fx.sub"


@irdl_op_definition
class Add3Op(IRDLOperation):
    """A ternary adder: ±a ± b ± c in one op (one carry chain), operands aligned by their
    types. `negate` is a bit mask (bit n: operand n is subtracted); at least one operand is
    added (a sum of three negated terms is the negation of a sum). Printed
    `fx.add3 %a + %b - %c : t_a, t_b, t_c -> t`, a leading `-` for a subtracted first operand."""

    name = "fx.add3"

    a = operand_def(FixedType)
    b = operand_def(FixedType)
    c = operand_def(FixedType)
    negate = prop_def(IntAttr)
    result = result_def(FixedType)
    traits = traits_def(Pure())

    def __init__(self, a: SSAValue, b: SSAValue, c: SSAValue, negate: tuple[bool, bool, bool] | int,
                 result_type: FixedType, attributes=None):
        mask = negate if isinstance(negate, int) else sum(1 << n for n, neg in enumerate(negate) if neg)
        _build(self, [a, b, c], result_type, {"negate": _int_attr(mask)}, attributes)

    @property
    def negated(self) -> tuple[bool, bool, bool]:
        return tuple(bool(self.negate.data >> n & 1) for n in range(3))

    def print(self, printer: Printer) -> None:
        for n, (v, neg) in enumerate(zip(self.operands, self.negated)):
            sign = "-" if neg else "+"
            printer.print_string(f" {sign} " if n else (" - " if neg else " "))
            printer.print_operand(v)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_list([v.type for v in self.operands], printer.print_attribute)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> Add3Op:
        names, mask = [], 0
        for n in range(3):
            if n and parser.parse_optional_punctuation("+") is None:
                parser.parse_punctuation("-")
                mask |= 1 << n
            elif not n and parser.parse_optional_punctuation("-") is not None:
                mask |= 1
            names.append(parser.parse_unresolved_operand())
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        types = [parser.parse_type()]
        for _ in range(2):
            parser.parse_punctuation(",")
            types.append(parser.parse_type())
        parser.parse_punctuation("->")
        out = parser.parse_type()
        return cls.create(operands=[parser.resolve_operand(v, t) for v, t in zip(names, types)], result_types=[out],
                          properties={"negate": IntAttr(mask)}, attributes=attrs)

    def verify_(self) -> None:
        f = max(_fixed(v, "operand").frac for v in self.operands)
        if self.result.type.frac != f:
            raise VerifyException(f"fx.add3 result must keep every fractional bit: f = {f}, got {self.result.type.frac}")
        if not 0 <= self.negate.data <= 6:
            raise VerifyException(f"fx.add3 negate mask {self.negate.data}: at least one operand must be added (0..6)")


@irdl_op_definition
class MaxOp(_Binary):
    """max(lhs, rhs)."""

    name = "fx.max"
    traits = traits_def(Pure(), Commutative())


@irdl_op_definition
class MinOp(_Binary):
    """min(lhs, rhs)."""

    name = "fx.min"
    traits = traits_def(Pure(), Commutative())


@irdl_op_definition
class MulOp(IRDLOperation):
    """lhs * rhs, exact: the result keeps every fractional bit of both (f = f_lhs + f_rhs)."""

    name = "fx.mul"

    lhs = operand_def(FixedType)
    rhs = operand_def(FixedType)
    result = result_def(FixedType)
    traits = traits_def(Pure(), Commutative())

    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue, result_type: FixedType, attributes=None):
        _build(self, [lhs, rhs], result_type, attributes=attributes)

    def verify_(self) -> None:
        f = _fixed(self.lhs, "lhs").frac + _fixed(self.rhs, "rhs").frac
        if self.result.type.frac != f:
            raise VerifyException(f"fx.mul result must have f = f_lhs + f_rhs = {f}, got {self.result.type.frac}")


class _Unary(IRDLOperation):
    input = operand_def(FixedType)
    result = result_def(FixedType)
    traits = traits_def(Pure())

    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, result_type: FixedType, attributes=None):
        _build(self, [x], result_type, attributes=attributes)

    def verify_(self) -> None:
        if self.result.type.frac != _fixed(self.input, "input").frac:
            raise VerifyException(f"{self.name} result must have the input's fractional bits")


@irdl_op_definition
class NegOp(_Unary):
    """-x."""

    name = "fx.neg"


@irdl_op_definition
class ReluOp(_Unary):
    """max(x, 0)."""

    name = "fx.relu"


@irdl_op_definition
class ShiftOp(IRDLOperation):
    """x * 2^amount: a change of type (the mantissa is unchanged), no logic."""

    name = "fx.shift"

    input = operand_def(FixedType)
    amount = prop_def(IntAttr)
    result = result_def(FixedType)
    traits = traits_def(Pure())

    def __init__(self, x: SSAValue, amount: int):
        t = SSAValue.get(x).type
        assert isinstance(t, FixedType)
        _build(self, [x], _fixed_type(t.k.data, t.i.data + amount, t.f.data - amount), {"amount": _int_attr(amount)})

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.input)
        printer.print_string(f" by {self.amount.data}")
        print_unary_tail(printer, self)

    @classmethod
    def parse(cls, parser: Parser) -> ShiftOp:
        x = parser.parse_unresolved_operand()
        parser.parse_keyword("by")
        amount = parser.parse_integer()
        attrs, in_type, out_type = parse_unary_tail(parser)
        return cls.create(
            operands=[parser.resolve_operand(x, in_type)],
            result_types=[out_type],
            properties={"amount": IntAttr(amount)},
            attributes=attrs,
        )

    def verify_(self) -> None:
        t, r, s = _fixed(self.input, "input"), self.result.type, self.amount.data
        if (r.k.data, r.i.data, r.f.data) != (t.k.data, t.i.data + s, t.f.data - s):
            raise VerifyException(f"fx.shift by {s} of {t} must give !fx.fixed<{t.k.data}, {t.i.data + s}, {t.f.data - s}>")


@irdl_op_definition
class QuantizeOp(IRDLOperation):
    """HGQ's quantizer to the result type: round (RND/RND_CONV/TRN), then wrap or saturate."""

    name = "fx.quantize"

    input = operand_def(FixedType)
    round = prop_def(RoundModeAttr)
    overflow = prop_def(OverflowModeAttr)
    result = result_def(FixedType)
    traits = traits_def(Pure())

    def __init__(self, x: SSAValue, round: str, overflow: str, result_type: FixedType, attributes=None):
        _build(self, [x], result_type,
               {"round": RoundModeAttr(RoundMode(round)), "overflow": OverflowModeAttr(OverflowMode(overflow))}, attributes)

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.input)
        printer.print_string(f" {self.round.data.value} {self.overflow.data.value}")
        print_unary_tail(printer, self)

    @classmethod
    def parse(cls, parser: Parser) -> QuantizeOp:
        x = parser.parse_unresolved_operand()
        round_mode = parse_mode(parser, RoundModeAttr, "round")
        overflow = parse_mode(parser, OverflowModeAttr, "overflow")
        attrs, in_type, out_type = parse_unary_tail(parser)
        return cls.create(
            operands=[parser.resolve_operand(x, in_type)],
            result_types=[out_type],
            properties={"round": round_mode, "overflow": overflow},
            attributes=attrs,
        )

    def verify_(self) -> None:
        _fixed(self.input, "input")


@irdl_op_definition
class ConstOp(IRDLOperation):
    """A constant: `value` is the mantissa in the result type."""

    name = "fx.const"

    value = prop_def(IntAttr)
    result = result_def(FixedType)
    traits = traits_def(Pure(), ConstantLike())

    def __init__(self, mantissa: int, result_type: FixedType):
        _build(self, [], result_type, {"value": IntAttr(mantissa)})

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.value.data}")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> ConstOp:
        value = parser.parse_integer()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        return cls.create(properties={"value": IntAttr(value)}, result_types=[parser.parse_type()], attributes=attrs)

    def verify_(self) -> None:
        lo, hi = self.result.type.mantissa_range()
        if not lo <= self.value.data <= hi:
            raise VerifyException(f"constant {self.value.data} does not fit {self.result.type}")


@irdl_op_definition
class LutOp(IRDLOperation):
    """A lookup table: input mantissa m in [lo, lo + len(table)) gives the mantissa table[m - lo]."""

    name = "fx.lut"

    input = operand_def(FixedType)
    lo = prop_def(IntAttr)
    table = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(FixedType)
    traits = traits_def(Pure())

    def __init__(self, x: SSAValue, lo: int, table, result_type: FixedType):
        super().__init__(
            operands=[x],
            properties={"lo": IntAttr(lo), "table": int_array_attr(np.asarray(table, dtype=np.int64))},
            result_types=[result_type],
        )

    def entries(self) -> np.ndarray:
        return attr_array(self.table)

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.input)
        printer.print_string(f" lo {self.lo.data}")
        print_keyword_arrays(printer, [("table", self.table)])
        print_unary_tail(printer, self)

    @classmethod
    def parse(cls, parser: Parser) -> LutOp:
        x = parser.parse_unresolved_operand()
        parser.parse_keyword("lo")
        lo = parser.parse_integer()
        props = dict(parse_keyword_arrays(parser, ("table",)))
        props["lo"] = IntAttr(lo)
        attrs, in_type, out_type = parse_unary_tail(parser)
        return cls.create(operands=[parser.resolve_operand(x, in_type)], result_types=[out_type], properties=props, attributes=attrs)

    def verify_(self) -> None:
        t = _fixed(self.input, "input")
        table = self.entries()
        if table.ndim != 1 or table.size < 1:
            raise VerifyException("fx.lut table must be a non-empty 1-D array")
        lo, hi = t.mantissa_range()
        if self.lo.data < lo or self.lo.data + table.size - 1 > hi:
            raise VerifyException(f"fx.lut keys {self.lo.data}..{self.lo.data + table.size - 1} exceed the input type {t}")
        rlo, rhi = self.result.type.mantissa_range()
        if table.min() < rlo or table.max() > rhi:
            raise VerifyException(f"fx.lut entries do not fit the result type {self.result.type}")


@irdl_op_definition
class RegOp(IRDLOperation):
    """A pipeline register: the value one clock cycle later (stage = the stage it feeds)."""

    name = "fx.reg"

    T: ClassVar = VarConstraint("T", base(FixedType))
    input = operand_def(T)
    stage = prop_def(IntegerAttr[I64])
    result = result_def(T)

    assembly_format = "$input `stage` $stage attr-dict `:` type($result)"

    def __init__(self, x: SSAValue, stage: int):
        super().__init__(operands=[x], properties={"stage": IntegerAttr(stage, 64)}, result_types=[SSAValue.get(x).type])


class _Port(IRDLOperation):
    port = prop_def(StringAttr)
    index = prop_def(IntAttr)

    def _print_port(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.port.data)
        printer.print_string(f"[{self.index.data}]")

    @staticmethod
    def _parse_port(parser: Parser) -> dict[str, Attribute]:
        port = parser.parse_str_literal()
        parser.parse_punctuation("[")
        index = parser.parse_integer()
        parser.parse_punctuation("]")
        return {"port": StringAttr(port), "index": IntAttr(index)}


@irdl_op_definition
class InputOp(_Port):
    """Element `index` of the model input `port`, already in the input quantizer's format."""

    name = "fx.input"

    result = result_def(FixedType)

    def __init__(self, port: str, index: int, result_type: FixedType):
        super().__init__(properties={"port": StringAttr(port), "index": IntAttr(index)}, result_types=[result_type])

    def print(self, printer: Printer) -> None:
        self._print_port(printer)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> InputOp:
        props = cls._parse_port(parser)
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        return cls.create(properties=props, result_types=[parser.parse_type()], attributes=attrs)


@irdl_op_definition
class OutputOp(_Port):
    """Element `index` of the model output `port`."""

    name = "fx.output"

    input = operand_def(FixedType)

    def __init__(self, port: str, index: int, x: SSAValue):
        super().__init__(operands=[x], properties={"port": StringAttr(port), "index": IntAttr(index)})

    def print(self, printer: Printer) -> None:
        self._print_port(printer)
        printer.print_string(" ")
        printer.print_operand(self.input)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.input.type)

    @classmethod
    def parse(cls, parser: Parser) -> OutputOp:
        props = cls._parse_port(parser)
        x = parser.parse_unresolved_operand()
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        t = parser.parse_type()
        return cls.create(operands=[parser.resolve_operand(x, t)], properties=props, attributes=attrs)


FX = Dialect(
    "fx",
    [InputOp, OutputOp, ConstOp, AddOp, Add3Op, SubOp, MaxOp, MinOp, MulOp, NegOp, ReluOp, ShiftOp, QuantizeOp, LutOp, RegOp],
    [FixedType, RoundModeAttr, OverflowModeAttr],
)
