"""Pieces of custom assembly formats that the dialects share."""

from __future__ import annotations

from xdsl.ir import Attribute, Operation
from xdsl.parser import Parser
from xdsl.printer import Printer


def print_unary_tail(printer: Printer, op: Operation) -> None:
    """` {attrs} : <input type> -> <result type>`, the end of every custom unary format."""
    printer.print_op_attributes(op.attributes)
    printer.print_string(" : ")
    printer.print_attribute(op.operands[0].type)
    printer.print_string(" -> ")
    printer.print_attribute(op.results[0].type)


def parse_unary_tail(parser: Parser) -> tuple[dict[str, Attribute], Attribute, Attribute]:
    """The counterpart of `print_unary_tail`: (attributes, input type, result type)."""
    attrs = parser.parse_optional_attr_dict()
    parser.parse_punctuation(":")
    in_type = parser.parse_type()
    parser.parse_punctuation("->")
    return attrs, in_type, parser.parse_type()


def parse_mode(parser: Parser, attr_type, what: str):
    """A round or overflow mode keyword as `attr_type` (an EnumAttribute); a one-line error
    naming the valid modes otherwise."""
    pos = parser.pos
    word = parser.parse_identifier()
    values = [m.value for m in attr_type.enum_type]
    if word not in values:
        parser.raise_error(f"unknown {what} mode '{word}' (expected one of {', '.join(values)})", pos, parser.pos)
    return attr_type(attr_type.enum_type(word))
