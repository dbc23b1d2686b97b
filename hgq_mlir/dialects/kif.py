"""The fixed-point format both dialects' types share: HGQ's (k, i, f) convention."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import IntAttr

from hgq_mlir import fixed
from xdsl.ir import Attribute, ParametrizedAttribute, TypeAttribute
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException


class KIFType(ParametrizedAttribute, TypeAttribute):
    """`<k, i, f>`: k sign bit, i integer bits excluding the sign, f fractional bits;
    width k+i+f; a value is mantissa * 2^-f. Subclasses give the name (per dialect)."""

    k: IntAttr
    i: IntAttr
    f: IntAttr

    def __init__(self, k: int, i: int, f: int):
        super().__init__(IntAttr(k), IntAttr(i), IntAttr(f))

    @property
    def width(self) -> int:
        return self.k.data + self.i.data + self.f.data

    @property
    def signed(self) -> bool:
        return self.k.data == 1

    @property
    def frac(self) -> int:
        return self.f.data

    def mantissa_range(self, overflow: str = "WRAP") -> tuple[int, int]:
        """The mantissas this format holds (SAT_SYM: without the most negative one)."""
        return fixed.format_bounds(self.k.data, self.i.data, self.f.data, overflow)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            k = parser.parse_integer()
            parser.parse_punctuation(",")
            i = parser.parse_integer()
            parser.parse_punctuation(",")
            f = parser.parse_integer()
        if k not in (0, 1):
            parser.raise_error(f"sign bit k must be 0 or 1, got {k}")
        return [IntAttr(k), IntAttr(i), IntAttr(f)]

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.k.data}, {self.i.data}, {self.f.data}>")

    def verify(self) -> None:
        if self.k.data not in (0, 1):
            raise VerifyException(f"sign bit k must be 0 or 1, got {self.k.data}")
