"""The `hgq` dialect: tensor-level quantized networks, as HGQ2 defines them.

Values are 1-D tensors (batch axis excluded).  A fixed-point element type
`!hgq.fixed<k, i, f>` follows HGQ's convention: `k` sign bit, `i` integer bits
excluding the sign, `f` fractional bits.  On a tensor it is the *envelope*: a
format that holds every element; the exact per-element precision lives on the
op that produced the value (the quantizer's k/i/f, the weights' exponents).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float32Type,
    IntAttr,
    StringAttr,
    TensorType,
)
from xdsl.dialects.utils.enum_attribute import EnumAttribute
from xdsl.ir import Attribute, Dialect, SSAValue, SpacedOpaqueSyntaxAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Commutative, ConstantLike, HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException

from hgq_mlir import fixed
from hgq_mlir.dialects.arrays import (
    attr_array,
    int_array_attr,
    parse_keyword_arrays,
    print_keyword_arrays,
)
from hgq_mlir.dialects.formats import parse_mode, parse_unary_tail, print_unary_tail
from hgq_mlir.dialects.kif import KIFType
from hgq_mlir.fixed import OVERFLOW_MODES, ROUND_MODES, OverflowMode, Ranges, RoundMode


class _Canonical(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls):
        from hgq_mlir.passes.canonicalization_patterns import hgq as patterns

        return (patterns.ReluOfNonNegative(), patterns.DenseOfZeroWeights(), patterns.DenseOfConst(),
                patterns.QuantizeOfConst(), patterns.QuantizeToZeroBits(), patterns.GatherOfConst(),
                patterns.MulByConst())


@irdl_attr_definition
class FixedType(KIFType):
    """`!hgq.fixed<k, i, f>`: width k+i+f, value = mantissa * 2^-f."""

    name = "hgq.fixed"

    # declared here too: xDSL derives equality and hashing from the concrete class's fields
    k: IntAttr
    i: IntAttr
    f: IntAttr


@irdl_attr_definition
class RoundModeAttr(EnumAttribute[RoundMode], SpacedOpaqueSyntaxAttribute):
    """A quantizer's rounding mode (RND, RND_CONV, TRN)."""

    name = "hgq.round"


@irdl_attr_definition
class OverflowModeAttr(EnumAttribute[OverflowMode], SpacedOpaqueSyntaxAttribute):
    """A quantizer's overflow mode (WRAP, SAT, SAT_SYM)."""

    name = "hgq.overflow"


def fixed_tensor(shape: Sequence[int], k: int, i: int, f: int) -> TensorType:
    return TensorType(FixedType(k, i, f), list(shape))


def envelope(k: np.ndarray, i: np.ndarray, f: np.ndarray) -> FixedType:
    """The smallest single format holding every live (width > 0) element format."""
    return FixedType(*fixed.envelope(k, i, f))


def _tensor_shape(value: SSAValue, what: str) -> tuple[int, ...]:
    if not isinstance(value.type, TensorType):
        raise VerifyException(f"{what} must be a tensor, got {value.type}")
    return tuple(value.type.get_shape())


def _check_int_array(attr: DenseIntOrFPElementsAttr, shape: tuple[int, ...], what: str) -> np.ndarray:
    if tuple(attr.get_shape()) != shape:
        raise VerifyException(f"{what} has shape {tuple(attr.get_shape())}, expected {shape}")
    return attr_array(attr)


@irdl_op_definition
class InputOp(IRDLOperation):
    """A model input (one per Keras input), as floating-point values."""

    name = "hgq.input"

    port = prop_def(StringAttr)
    result = result_def(TensorType)

    assembly_format = "$port attr-dict `:` type($result)"

    def __init__(self, port: str, size: int):
        super().__init__(
            properties={"port": StringAttr(port)},
            result_types=[TensorType(Float32Type(), [size])],
        )

    def verify_(self) -> None:
        if len(_tensor_shape(self.result, "input")) != 1:
            raise VerifyException("model inputs are flat 1-D tensors")


@irdl_op_definition
class QuantizeOp(IRDLOperation):
    """HGQ's fixed-point quantizer with per-element k/i/f, rounding and overflow."""

    name = "hgq.quantize"
    traits = traits_def(Pure(), _Canonical())

    input = operand_def(TensorType)
    k = prop_def(DenseIntOrFPElementsAttr)
    i = prop_def(DenseIntOrFPElementsAttr)
    f = prop_def(DenseIntOrFPElementsAttr)
    round = prop_def(RoundModeAttr)
    overflow = prop_def(OverflowModeAttr)
    result = result_def(TensorType)

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.input)
        printer.print_string(f" {self.round.data.value} {self.overflow.data.value}")
        print_keyword_arrays(printer, [("k", self.k), ("i", self.i), ("f", self.f)])
        print_unary_tail(printer, self)

    @classmethod
    def parse(cls, parser: Parser) -> QuantizeOp:
        x = parser.parse_unresolved_operand()
        round_mode = parse_mode(parser, RoundModeAttr, "round")
        overflow = parse_mode(parser, OverflowModeAttr, "overflow")
        props: dict[str, Attribute] = dict(parse_keyword_arrays(parser, ("k", "i", "f")))
        props["round"], props["overflow"] = round_mode, overflow
        attrs, in_type, out_type = parse_unary_tail(parser)
        operand = parser.resolve_operand(x, in_type)
        return cls.create(operands=[operand], result_types=[out_type], properties=props, attributes=attrs)

    def __init__(self, x: SSAValue, k: np.ndarray, i: np.ndarray, f: np.ndarray, round: str, overflow: str):
        k, i, f = (np.asarray(a, dtype=np.int64) for a in (k, i, f))
        env = envelope(k, i, f)
        super().__init__(
            operands=[x],
            properties={
                "k": int_array_attr(k),
                "i": int_array_attr(i),
                "f": int_array_attr(f),
                "round": RoundModeAttr(RoundMode(round)),
                "overflow": OverflowModeAttr(OverflowMode(overflow)),
            },
            result_types=[TensorType(env, list(k.shape))],
        )

    def kif(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return attr_array(self.k), attr_array(self.i), attr_array(self.f)

    def verify_(self) -> None:
        shape = _tensor_shape(self.input, "quantize input")
        if _tensor_shape(self.result, "quantize result") != shape:
            raise VerifyException("quantize result shape must equal its input shape")
        k = _check_int_array(self.k, shape, "k")
        _check_int_array(self.i, shape, "i")
        _check_int_array(self.f, shape, "f")
        if not np.isin(k, (0, 1)).all():
            raise VerifyException("k must be 0 or 1 for every element")
        if not isinstance(self.result.type.get_element_type(), FixedType):
            raise VerifyException("quantize result elements must be !hgq.fixed")


@irdl_op_definition
class ConstOp(IRDLOperation):
    """Constant fixed-point tensor: value = mantissa * 2^exponent, per element."""

    name = "hgq.const"
    traits = traits_def(Pure(), ConstantLike())

    mantissa = prop_def(DenseIntOrFPElementsAttr)
    exponent = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)

    def print(self, printer: Printer) -> None:
        print_keyword_arrays(printer, [("mantissa", self.mantissa), ("exponent", self.exponent)])
        printer.print_op_attributes(self.attributes)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> ConstOp:
        props = parse_keyword_arrays(parser, ("mantissa", "exponent"))
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation("->")
        return cls.create(result_types=[parser.parse_type()], properties=dict(props), attributes=attrs)

    def __init__(self, mantissa: np.ndarray, exponent: np.ndarray):
        mantissa = np.asarray(mantissa, dtype=np.int64)
        exponent = np.asarray(exponent, dtype=np.int64)
        super().__init__(
            properties={"mantissa": int_array_attr(mantissa), "exponent": int_array_attr(exponent)},
            result_types=[TensorType(const_envelope(mantissa, exponent), list(mantissa.shape))],
        )

    def values(self) -> tuple[np.ndarray, np.ndarray]:
        return attr_array(self.mantissa), attr_array(self.exponent)

    def verify_(self) -> None:
        shape = _tensor_shape(self.result, "const")
        _check_int_array(self.mantissa, shape, "mantissa")
        _check_int_array(self.exponent, shape, "exponent")


def const_envelope(mantissa: np.ndarray, exponent: np.ndarray) -> FixedType:
    nz = mantissa != 0
    if not nz.any():
        return FixedType(0, 0, 0)
    f = int(-exponent[nz].min())
    scaled = fixed.shl(mantissa[nz], exponent[nz] + f)
    return FixedType(*fixed.format_of_range(int(scaled.min()), int(scaled.max()), f))


@irdl_op_definition
class DenseOp(IRDLOperation):
    """y = x · W + b, exact (no rounding): the sum of a fully connected layer."""

    name = "hgq.dense"
    traits = traits_def(Pure(), _Canonical())

    input = operand_def(TensorType)
    weights = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    result = result_def(TensorType)

    assembly_format = (
        "$input `,` $weights (`,` $bias^)? attr-dict `:` "
        "type($input) `,` type($weights) (`,` type($bias)^)? `->` type($result)"
    )

    def __init__(self, x: SSAValue, w: SSAValue, b: SSAValue | None, result_type: Attribute):
        super().__init__(operands=[x, w, [b] if b is not None else []], result_types=[result_type])

    def verify_(self) -> None:
        (n_in,) = _shape1(self.input, "dense input")
        w = _tensor_shape(self.weights, "dense weights")
        if len(w) != 2 or w[0] != n_in:
            raise VerifyException(f"dense weights must have shape ({n_in}, N), got {w}")
        if _tensor_shape(self.result, "dense result") != (w[1],):
            raise VerifyException(f"dense result must have shape ({w[1]},)")
        if self.bias is not None and _tensor_shape(self.bias, "dense bias") != (w[1],):
            raise VerifyException(f"dense bias must have shape ({w[1]},)")


def _shape1(value: SSAValue, what: str) -> tuple[int]:
    shape = _tensor_shape(value, what)
    if len(shape) != 1:
        raise VerifyException(f"{what} must be a 1-D tensor, got shape {shape}")
    return shape  # type: ignore[return-value]


@irdl_op_definition
class ReluOp(IRDLOperation):
    """max(x, 0), elementwise, exact (HGQ2 does not re-quantize after ReLU)."""

    name = "hgq.relu"
    traits = traits_def(Pure(), _Canonical())

    input = operand_def(TensorType)
    result = result_def(TensorType)

    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, result_type: Attribute):
        super().__init__(operands=[x], result_types=[result_type])

    def verify_(self) -> None:
        if _tensor_shape(self.input, "relu input") != _tensor_shape(self.result, "relu result"):
            raise VerifyException("relu result shape must equal its input shape")


class _Elementwise(IRDLOperation):
    """An elementwise binary op; `INTERVAL` is its exact range rule (`hgq_mlir.fixed`)."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())

    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)"

    def __init__(self, a: SSAValue, b: SSAValue, result_type: Attribute):
        super().__init__(operands=[a, b], result_types=[result_type])

    def verify_(self) -> None:
        shapes = {_shape1(v, f"{self.name} operand") for v in (self.lhs, self.rhs, self.result)}
        if len(shapes) != 1:
            raise VerifyException(f"{self.name} operands and result must have one shape")


@irdl_op_definition
class AddOp(_Elementwise):
    """a + b, elementwise, exact (a merge layer's sum)."""

    name = "hgq.add"
    traits = traits_def(Pure(), Commutative())
    INTERVAL: ClassVar[Callable[[Ranges, Ranges], Ranges]] = staticmethod(fixed.add)


@irdl_op_definition
class SubOp(_Elementwise):
    """a - b, elementwise, exact."""

    name = "hgq.sub"
    INTERVAL: ClassVar[Callable[[Ranges, Ranges], Ranges]] = staticmethod(fixed.sub)


@irdl_op_definition
class MaxOp(_Elementwise):
    """max(a, b), elementwise."""

    name = "hgq.max"
    traits = traits_def(Pure(), Commutative())
    INTERVAL: ClassVar[Callable[[Ranges, Ranges], Ranges]] = staticmethod(fixed.maximum)


@irdl_op_definition
class MinOp(_Elementwise):
    """min(a, b), elementwise."""

    name = "hgq.min"
    traits = traits_def(Pure(), Commutative())
    INTERVAL: ClassVar[Callable[[Ranges, Ranges], Ranges]] = staticmethod(fixed.minimum)


@irdl_op_definition
class MulOp(_Elementwise):
    """a * b, elementwise, exact (the product of two computed values)."""

    name = "hgq.mul"
    traits = traits_def(Pure(), Commutative(), _Canonical())
    INTERVAL: ClassVar[Callable[[Ranges, Ranges], Ranges]] = staticmethod(fixed.mul)


ELEMENTWISE = (AddOp, SubOp, MaxOp, MinOp, MulOp)


@irdl_op_definition
class OutputOp(IRDLOperation):
    """A model output (one per Keras output)."""

    name = "hgq.output"

    port = prop_def(StringAttr)
    input = operand_def(TensorType)

    assembly_format = "$port $input attr-dict `:` type($input)"

    def __init__(self, port: str, x: SSAValue):
        super().__init__(operands=[x], properties={"port": StringAttr(port)})

    def verify_(self) -> None:
        _shape1(self.input, "output")


@irdl_op_definition
class ConvOp(IRDLOperation):
    """A convolution as one dense layer applied at every output position.

    `patches[p]` lists the flat input indices that position p reads, in the kernel's
    row-major order (-1: zero padding); `weights` is (K, C). Output element p*C + c.
    """

    name = "hgq.conv"
    traits = traits_def(Pure())

    input = operand_def(TensorType)
    weights = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    patches = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)

    def __init__(self, x: SSAValue, w: SSAValue, b: SSAValue | None, patches: np.ndarray, result_type: Attribute):
        super().__init__(
            operands=[x, w, [b] if b is not None else []],
            properties={"patches": int_array_attr(patches)},
            result_types=[result_type],
        )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_list([self.input, self.weights, *([self.bias] if self.bias else [])], printer.print_operand)
        print_keyword_arrays(printer, [("patches", self.patches)])
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_list([o.type for o in self.operands], printer.print_attribute)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> ConvOp:
        names = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_unresolved_operand)
        props = dict(parse_keyword_arrays(parser, ("patches",)))
        attrs = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        types = parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type)
        parser.parse_punctuation("->")
        out = parser.parse_type()
        operands = parser.resolve_operands(names, types, parser.pos)
        return cls.create(operands=operands, result_types=[out], properties=props, attributes=attrs)

    def verify_(self) -> None:
        (n_in,) = _shape1(self.input, "conv input")
        w = _tensor_shape(self.weights, "conv weights")
        patches = attr_array(self.patches)
        if len(w) != 2 or patches.ndim != 2 or patches.shape[1] != w[0]:
            raise VerifyException(f"conv patches {patches.shape} must be (positions, {w[0] if len(w) == 2 else '?'})")
        if patches.size and (patches.min() < -1 or patches.max() >= n_in):
            raise VerifyException(f"conv patch indices must be in [-1, {n_in})")
        if _tensor_shape(self.result, "conv result") != (patches.shape[0] * w[1],):
            raise VerifyException(f"conv result must have shape ({patches.shape[0] * w[1]},)")


class _UnaryWithArrays(IRDLOperation):
    """`op %x name = dense<…>, … {attrs} : in -> out`: one tensor operand and the integer
    array properties named in ARRAYS (the shared custom format)."""

    ARRAYS: ClassVar[tuple[str, ...]] = ()

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.operands[0])
        print_keyword_arrays(printer, [(key, getattr(self, key)) for key in self.ARRAYS])
        print_unary_tail(printer, self)

    @classmethod
    def parse(cls, parser: Parser):
        x = parser.parse_unresolved_operand()
        props = dict(parse_keyword_arrays(parser, cls.ARRAYS))
        attrs, in_type, out_type = parse_unary_tail(parser)
        return cls.create(operands=[parser.resolve_operand(x, in_type)], result_types=[out_type], properties=props, attributes=attrs)


@irdl_op_definition
class MaxPoolOp(_UnaryWithArrays):
    """y[q] = max over x[windows[q]] (-1 entries are ignored: padding)."""

    name = "hgq.maxpool"
    traits = traits_def(Pure())
    ARRAYS: ClassVar[tuple[str, ...]] = ("windows",)

    input = operand_def(TensorType)
    windows = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)

    def __init__(self, x: SSAValue, windows: np.ndarray, result_type: Attribute):
        super().__init__(operands=[x], properties={"windows": int_array_attr(windows)}, result_types=[result_type])

    def verify_(self) -> None:
        (n_in,) = _shape1(self.input, "maxpool input")
        win = attr_array(self.windows)
        if win.ndim != 2 or (win.size and (win.min() < -1 or win.max() >= n_in)) or ((win >= 0).sum(axis=1) == 0).any():
            raise VerifyException("maxpool windows must be (outputs, size) indices in [-1, n), each with one real index")
        if _tensor_shape(self.result, "maxpool result") != (win.shape[0],):
            raise VerifyException(f"maxpool result must have shape ({win.shape[0]},)")


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """The flat concatenation of its operands, in operand order (a Concatenate layer
    along another axis is this followed by an `hgq.gather`)."""

    name = "hgq.concat"
    traits = traits_def(Pure())

    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)

    assembly_format = "$inputs attr-dict `:` type($inputs) `->` type($result)"

    def __init__(self, inputs: Sequence[SSAValue], result_type: Attribute):
        super().__init__(operands=[list(inputs)], result_types=[result_type])

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException("hgq.concat needs at least one operand")
        total = sum(_shape1(v, "concat operand")[0] for v in self.inputs)
        if _shape1(self.result, "concat result") != (total,):
            raise VerifyException(f"concat result must have shape ({total},)")


@irdl_op_definition
class GatherOp(_UnaryWithArrays):
    """y[j] = x[index[j]]: a reordering or selection of elements (pure wiring)."""

    name = "hgq.gather"
    traits = traits_def(Pure(), _Canonical())
    ARRAYS: ClassVar[tuple[str, ...]] = ("index",)

    input = operand_def(TensorType)
    index = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)

    def __init__(self, x: SSAValue, index: np.ndarray, result_type: Attribute):
        super().__init__(operands=[x], properties={"index": int_array_attr(index)}, result_types=[result_type])

    def verify_(self) -> None:
        (n_in,) = _shape1(self.input, "gather input")
        index = attr_array(self.index)
        if index.ndim != 1 or (index.size and (index.min() < 0 or index.max() >= n_in)):
            raise VerifyException(f"gather index must be a 1-D array of indices in [0, {n_in})")
        if _shape1(self.result, "gather result") != (index.size,):
            raise VerifyException(f"gather result must have shape ({index.size},)")


@irdl_op_definition
class LutOp(_UnaryWithArrays):
    """A lookup table per element (a unary function over the input's finite set of values).

    Element j: input value (in_lo[j] + t) * 2^-in_frac[j] gives table[j, t] * 2^-out_frac[j],
    for t in [0, T); rows shorter than T repeat their last entry. The table holds the
    layer's own (quantized) outputs, so the op is exact by construction.
    """

    name = "hgq.lut"
    traits = traits_def(Pure())

    input = operand_def(TensorType)
    in_lo = prop_def(DenseIntOrFPElementsAttr)
    in_frac = prop_def(DenseIntOrFPElementsAttr)
    out_frac = prop_def(DenseIntOrFPElementsAttr)
    table = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)

    ARRAYS: ClassVar[tuple[str, ...]] = ("in_lo", "in_frac", "out_frac", "table")

    def __init__(self, x: SSAValue, in_lo, in_frac, out_frac, table, result_type: Attribute):
        arrays = (in_lo, in_frac, out_frac, table)
        props = {key: int_array_attr(np.asarray(a, dtype=np.int64)) for key, a in zip(self.ARRAYS, arrays, strict=True)}
        super().__init__(operands=[x], properties=props, result_types=[result_type])

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return tuple(attr_array(getattr(self, key)) for key in self.ARRAYS)  # type: ignore[return-value]

    def verify_(self) -> None:
        (n,) = _shape1(self.input, "lut input")
        if _shape1(self.result, "lut result") != (n,):
            raise VerifyException("lut result shape must equal its input shape")
        for key in ("in_lo", "in_frac", "out_frac"):
            _check_int_array(getattr(self, key), (n,), key)
        table = attr_array(self.table)
        if table.ndim != 2 or table.shape[0] != n or table.shape[1] < 1:
            raise VerifyException(f"lut table must have shape ({n}, T) with T >= 1, got {table.shape}")


HGQ = Dialect(
    "hgq",
    [InputOp, QuantizeOp, ConstOp, DenseOp, ConvOp, MaxPoolOp, ReluOp, AddOp, SubOp, MaxOp, MinOp, MulOp,
     ConcatOp, GatherOp, LutOp, OutputOp],
    [FixedType, RoundModeAttr, OverflowModeAttr],
)
