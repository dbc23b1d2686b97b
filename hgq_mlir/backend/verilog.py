"""Verilog-2005 from `hw` / `comb` / `seq` (xDSL has no Verilog emitter).

`VerilogPrinter` has one handler per op (a `singledispatchmethod`, as xDSL's WGSL
printer): one `wire` per comb op, constants inlined, flat packed ports; `seq.compreg`
becomes a `reg` written in one `always @(posedge clk)` block. Module and port names are
the legalized ones of `backend.manifest.Interface` (ASCII identifiers, no keywords,
unique); wires are `_n<N>`. IR the printer cannot express faithfully (other ops, array
values outside a constant table, registers with a reset, zero-width values) is refused
with a one-line `UserError` naming the op.

A `comb.add` marked `hgq.ternary` (a ternary adder, see `passes.lower_fx_to_hw`) is written
as the mark says: `"infer"` as `a + b - c`; `"primitive"` as UltraScale primitives, one
`LUT6_2` per bit (I0-I2 the operand bits, a subtracted operand's inversion folded into
INIT; I3 the previous bit's majority m_{i-1}; I5 = 1; O6 = a^b^c^m_{i-1} the propagate bit,
O5 = m_i = majority(a, b, c)) and one `CARRY8` per 8 bits (S = O6, DI = m_{i-1}); the
count of subtracted operands enters as m_{-1} and the chain's CI. A `comb.add` marked
`hgq.booth = "primitive"` (sum + row + carry, the row a LUT multiplier's Booth row) is one
`LUT6` per row bit (the row's select and the sum's bit: O = sum ^ row) and a `CARRY8` chain
(DI = the sum's bit, CI = the carry); above the row's top bit the sum's bits enter S alone.

A constant table read on `TABLE_MODULE_INDEX_BITS` index bits or more, or on six or more
whose index is a select (a saturation), is a module of its own (`<top>_t<K>`, marked
`keep_hierarchy`), instantiated at each read (`table_is_module`); other tables are `case`
functions in the top module. Flattened, synthesis folds a select computing a table's index
into the table's wide multiplexers (Yosys synth_xilinx: the recurrent test model's 7-bit,
30-bit-wide table behind a saturating select, 442 LUTs flattened, 62 kept apart), and the
logic around a table of 16 or more
64-entry slices into its selection; a narrower table's bits share LUTs with the adders that
read them.

`VerilogTarget` is the `-t verilog` target of `hgq-opt`: it writes the RTL folder
(`backend.rtl`) and prints the resource table on its output stream.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass, field
from functools import singledispatchmethod
from typing import IO

from xdsl.context import Context
from xdsl.dialects import comb, hw, seq
from xdsl.dialects.builtin import IntegerType, ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.utils.base_printer import BasePrinter
from xdsl.utils.target import Target

from hgq_mlir.backend.manifest import Interface
from hgq_mlir.backend.names import printable
from hgq_mlir.errors import UserError

_ICMP = {2: ("<", True), 3: ("<=", True), 4: (">", True), 5: (">=", True), 6: ("<", False), 7: ("<=", False),
         8: (">", False), 9: (">=", False), 0: ("==", False), 1: ("!=", False)}


def find_top(module: ModuleOp) -> hw.HWModuleOp:
    tops = [op for op in module.ops if isinstance(op, hw.HWModuleOp)]
    if len(tops) != 1:
        others = sorted({op.name for op in module.walk() if op.dialect_name() not in ("builtin", "hw", "comb", "seq")})
        what = f" (it still holds {', '.join(others)}: lower it first, e.g. -p hgq-standard)" if others else ""
        raise UserError(f"the Verilog target needs exactly one hw.module, found {len(tops)}{what}")
    return tops[0]


def interface_of(top: hw.HWModuleOp) -> dict:
    """The interface manifest (the `<top>.json` contents) of a lowered module."""
    return Interface.of(top).manifest()


def width_of(t) -> int:
    """The bits of a value of type t (an array: all its elements)."""
    if type(t) is IntegerType:
        return t.width.data
    if isinstance(t, hw.ArrayType):
        return width_of(t.get_element_type()) * len(t)
    return t.width.data if isinstance(t, IntegerType) else 1


def _extended(v: SSAValue) -> tuple[SSAValue, bool] | None:
    """(x, signed) when `v` is x sign-extended ({n{x[top]}, x}) or zero-extended ({0, x})."""
    op = v.owner
    if not isinstance(op, comb.ConcatOp) or len(op.inputs) != 2:
        return None
    top, x = op.inputs
    if isinstance(top.owner, hw.ConstantOp) and top.owner.value.value.data == 0:
        return x, False
    msb = top.owner.input if isinstance(top.owner, comb.ReplicateOp) else top
    e = msb.owner
    if isinstance(e, comb.ExtractOp) and e.input == x and e.low_bit.value.data == _width(x) - 1 and _width(msb) == 1:
        return x, True
    return None


def _width(v: SSAValue) -> int:
    return width_of(v.type)


def _literal(value: int, width: int) -> str:
    return f"{width}'h{value & ((1 << width) - 1):x}"


CHUNK_LINES = 1 << 16
TABLE_MODULE_INDEX_BITS = 10  # a table read on this many index bits or more is a module


def table_is_module(read: hw.ArrayGetOp) -> bool:
    """`read`'s table is written as a module of its own: on `TABLE_MODULE_INDEX_BITS` index
    bits or more, or on six or more behind a select (Yosys on the table test models: fewer
    LUTs in sum than modules from six index bits up, or modules only behind a select)."""
    width = _width(read.index)
    if width < 6 or width >= TABLE_MODULE_INDEX_BITS:
        return width >= 6
    source = read.index.owner
    while isinstance(source, comb.ExtractOp | comb.ConcatOp | comb.ReplicateOp) and len(source.operands) == 1:
        source = source.operands[0].owner
    return isinstance(source, comb.MuxOp)


def _range(w: int) -> str:
    return f"[{w - 1}:0] " if w > 1 else ""


@functools.cache
def lut6_2_init(inverted: tuple[bool, bool, bool]) -> int:
    """INIT of one ternary-adder bit's LUT6_2 (I0-I2 = the operand bits, inverted where the
    operand is subtracted; I3 = m_{i-1}; I4 unused; I5 = 1): the upper half (O6) holds the
    propagate bit a^b^c^m_{i-1}, the lower half (O5) the majority m_i of a, b, c."""
    init = 0
    for idx in range(32):
        a, b, c = ((idx >> n & 1) ^ int(inverted[n]) for n in range(3))
        m = idx >> 3 & 1
        init |= (a ^ b ^ c ^ m) << (32 + idx)
        init |= int(a + b + c >= 2) << idx
    return init


def booth_lut6_init(inverted: bool) -> int:
    """INIT of one Booth-row adder bit's LUT6: I0 the running sum's bit, I1 = a_j, I2 = a_{j-1},
    I3-I5 = b's recoding bits x0, x1, x2; O = sum ^ row_j with row_j = (one ? a_j : two ? a_{j-1} : 0)
    ^ x2 (^ 1 where the row's bit is inverted), one = x0 ^ x1, two = !one & (x1 ^ x2)."""
    init = 0
    for idx in range(64):
        total, a, a2, x0, x1, x2 = (idx >> n & 1 for n in range(6))
        one = x0 ^ x1
        two = (1 - one) & (x1 ^ x2)
        row = (a if one else a2 if two else 0) ^ x2 ^ int(inverted)
        init |= (total ^ row) << idx
    return init


@dataclass(eq=False, repr=False)
class VerilogPrinter(BasePrinter):
    """Prints one `hw.module` (with its `Interface`) as a Verilog module."""

    names: dict[SSAValue, str] = field(default_factory=dict, init=False)
    consts: dict[SSAValue, int] = field(default_factory=dict, init=False)
    tables: dict[SSAValue, tuple[int, ...]] = field(default_factory=dict, init=False)
    functions: dict[tuple, str] = field(default_factory=dict, init=False)
    function_text: list[str] = field(default_factory=list, init=False)
    table_modules: dict[tuple, str] = field(default_factory=dict, init=False)
    table_module_text: list[str] = field(default_factory=list, init=False)
    top: str = field(default="", init=False)
    lines: list[str] = field(default_factory=list, init=False)
    regs: list[str] = field(default_factory=list, init=False)
    outputs: list[str] = field(default_factory=list, init=False)
    clock: SSAValue | None = field(default=None, init=False)
    count: int = field(default=0, init=False)

    def print_module(self, top: hw.HWModuleOp, interface: Interface, header: str = "") -> None:
        """Write the module's text on the stream (written as it is: BasePrinter.print_string
        would split the whole text into lines to track the column)."""
        self.stream.writelines(self.module_pieces(top, interface, header))

    def module_pieces(self, top: hw.HWModuleOp, interface: Interface, header: str = "") -> list[str]:
        """The Verilog text of `top` in pieces, in order (a large layer's text is hundreds of
        megabytes: written piece by piece, it is never copied into one string)."""
        self.top = interface.top
        port_decls = []
        args = iter(top.body.block.args)
        for port in interface.ports:
            if port.is_input:
                arg = next(args)
                if port.is_clock:
                    self.clock = arg
                self.names[arg] = port.name
                port_decls.append(f"input wire {_range(port.width)}{port.name}")
            else:
                self.outputs.append(port.name)
                port_decls.append(f"output wire {_range(port.width)}{port.name}")
        # the handler per op class looked up once (singledispatchmethod builds a bound
        # function on every call: a tenth of the emit time on a large layer)
        handlers = type(self).__dict__["print_op"].dispatcher.dispatch
        chunks = []  # the lines joined every CHUNK_LINES: one string each, not millions
        for op in top.body.block.ops:
            handlers(type(op))(self, op)
            if len(self.lines) >= CHUNK_LINES:
                chunks.append("\n".join(self.lines))
                self.lines = []
        if self.regs:
            self.lines.append(f"  always @(posedge {self.names[self.clock]}) begin")
            self.lines.extend(self.regs)
            self.lines.append("  end")
        ports = "(\n  " + ",\n  ".join(port_decls) + "\n)" if port_decls else "()"
        head = (f"{header}"
                "`timescale 1ns / 1ps\n"
                "/* verilator lint_off UNUSEDSIGNAL */  // bits dropped on purpose: wrap-around and rounding\n"
                f"module {interface.top} {ports};")
        tail = "/* verilator lint_on UNUSEDSIGNAL */\n"
        lines, self.lines = self.lines, []
        body = [*self.function_text, *chunks, *lines] or [""]
        parts = [head, *body, "endmodule", *self.table_module_text, tail]
        return [piece for part in parts for piece in (part, "\n")][:-1]

    # -- helpers ---------------------------------------------------------------
    def ref(self, v: SSAValue, op: Operation) -> str:
        if v in self.consts:
            return _literal(self.consts[v], _width(v))
        if v not in self.names or v is self.clock:
            raise UserError(f"{op.name}: an operand the Verilog target cannot read here "
                            "(a clock, an array, or a value defined later)")
        return self.names[v]

    def result(self, op: Operation) -> tuple[SSAValue, int]:
        if len(op.results) != 1:
            raise UserError(f"{op.name}: the Verilog target emits ops with one result")
        res = op.results[0]
        if not isinstance(res.type, IntegerType) or res.type.width.data < 1:
            raise UserError(f"{op.name}: result type {res.type} (the Verilog target takes integers of width >= 1)")
        return res, res.type.width.data

    def fresh_name(self, res: SSAValue) -> str:
        """The next `_n<N>` wire name, given to `res`."""
        name = f"_n{self.count}"
        self.count += 1
        self.names[res] = name
        return name

    def wire(self, res: SSAValue, w: int, expr: str) -> None:
        name = self.fresh_name(res)
        self.lines.append(f"  wire {_range(w)}{name} = {expr};")

    # -- one handler per op ----------------------------------------------------
    # (the frequent ops read their operands as the op's own tuple, `op._operands`: xDSL's
    # named accessors cost a descriptor lookup each, millions of times on a large layer)
    @singledispatchmethod
    def print_op(self, op: Operation) -> None:
        raise UserError(f"{printable(op.name)}: the Verilog target cannot emit this op")

    @print_op.register
    def _(self, op: hw.ConstantOp) -> None:
        res, w = self.result(op)
        self.consts[res] = op.value.value.data & ((1 << w) - 1)

    @print_op.register
    def _(self, op: hw.OutputOp) -> None:
        for name, v in zip(self.outputs, op.operands, strict=True):
            self.lines.append(f"  assign {name} = {self.ref(v, op)};")

    @print_op.register
    def _(self, op: comb.ExtractOp) -> None:
        res, w = self.result(op)
        low, src = op.low_bit.value.data, op._operands[0]
        if low < 0 or low + w > _width(src):
            raise UserError(f"comb.extract: bits {low}..{low + w - 1} of an i{_width(src)}")
        if src in self.consts:
            self.consts[res] = (self.consts[src] >> low) & ((1 << w) - 1)
            return
        ref = self.ref(src, op)
        self.wire(res, w, f"{ref}[{low}]" if w == 1 else f"{ref}[{low + w - 1}:{low}]")

    @print_op.register
    def _(self, op: comb.ConcatOp) -> None:
        res, w = self.result(op)
        self.wire(res, w, "{" + ", ".join(self.ref(v, op) for v in op._operands) + "}")

    @print_op.register
    def _(self, op: comb.ReplicateOp) -> None:
        res, w = self.result(op)
        if w % _width(op._operands[0]):
            raise UserError(f"comb.replicate: i{w} is no multiple of i{_width(op._operands[0])}")
        self.wire(res, w, f"{{{w // _width(op._operands[0])}{{{self.ref(op._operands[0], op)}}}}}")

    @print_op.register
    def _(self, op: comb.AddOp) -> None:
        res, w = self.result(op)
        if "hgq.booth" in op.attributes:
            if op.attributes["hgq.booth"] != StringAttr("primitive"):
                raise UserError("comb.add: hgq.booth must be \"primitive\"")
            self.booth_primitive(op, res, w)
            return
        mark = op.attributes.get("hgq.ternary")
        if mark is None:
            self.wire(res, w, " + ".join(self.ref(v, op) for v in op._operands))
            return
        operands, inverted, carry = self.ternary_operands(op, w)
        if mark.data == "infer":
            terms = []
            for n, (v, inv) in enumerate(zip(operands, inverted, strict=True)):
                terms.append(("- " if inv else "+ " if n else "") + self.ref(v, op))
            expr = " ".join(terms)
            if carry != sum(inverted):
                expr += f" + {_literal(carry - sum(inverted), w)}"
            self.wire(res, w, expr)
        elif mark.data == "primitive":
            self.ternary_primitive(res, w, operands, inverted, carry, op)
        else:
            raise UserError(f"comb.add: hgq.ternary = {printable(str(mark.data))} (primitive or infer)")

    def ternary_operands(self, op: comb.AddOp, w: int) -> tuple[list[SSAValue], list[bool], int]:
        """A marked comb.add's three operands (a `comb.xor` with all ones read as its
        inverted input) and its constant operand (0 without one)."""
        if not isinstance(mark := op.attributes.get("hgq.ternary"), StringAttr):
            raise UserError("comb.add: hgq.ternary must be a string")
        ins = list(op._operands)
        carry = 0
        if len(ins) == 4 and ins[3] in self.consts:
            carry = self.consts[ins[3]]
            ins = ins[:3]
        if len(ins) != 3:
            raise UserError(f"comb.add: a ternary adder has three operands (and a constant), got {len(op._operands)}")
        operands, inverted = [], []
        for v in ins:
            x = v.owner
            ones = (1 << w) - 1
            if (isinstance(x, comb.XorOp) and len(x._operands) == 2 and x._operands[1] in self.consts
                    and self.consts[x._operands[1]] == ones):
                operands.append(x._operands[0])
                inverted.append(True)
            else:
                operands.append(v)
                inverted.append(False)
        if carry > 2:
            raise UserError(f"comb.add: a ternary adder's constant operand is at most 2 (m_-1 and CI), got {carry}")
        return operands, inverted, carry

    def bits(self, v: SSAValue, w: int, op: Operation) -> list[str]:
        """Bits 0..w-1 of `v` as Verilog expressions (a one-bit value is its name)."""
        if v in self.consts:
            value = self.consts[v]
            return [f"1'b{value >> i & 1}" for i in range(w)]
        ref = self.ref(v, op)
        return [ref] * w if _width(v) == 1 else [f"{ref}[{i}]" for i in range(w)]

    def ternary_primitive(self, res: SSAValue, w: int, operands, inverted, carry: int, op: Operation) -> None:
        name = self.fresh_name(res)
        m_in, ci = int(carry >= 1), int(carry >= 2)
        init = lut6_2_init(tuple(inverted))
        self.lines.append(f"  wire [{w - 1}:0] {name}_s, {name}_m;  // a ternary adder: LUT6_2 O6, O5 per bit")
        bits = [self.bits(v, w, op) for v in operands]
        for i in range(w):
            a, b, c = (x[i] for x in bits)
            m = f"{name}_m[{i - 1}]" if i else f"1'b{m_in}"
            self.lines.append(
                f"  LUT6_2 #(.INIT(64'h{init:016x})) {name}_l{i} (.O6({name}_s[{i}]), .O5({name}_m[{i}]), "
                f".I0({a}), .I1({b}), .I2({c}), .I3({m}), .I4(1'b0), .I5(1'b1));")
        di = f"{name}_m[{w - 2}:0], " if w > 1 else ""
        self.carry_chain(name, w, f"{{{di}1'b{m_in}}}", f"{name}_s", f"1'b{ci}")

    def carry_chain(self, name: str, w: int, di: str, s: str, ci: str) -> None:
        """`name` = the w-bit sum of a CARRY8 chain with propagate bits `s`, generate inputs `di`
        (w-bit expressions) and carry-in `ci`, one CARRY8 per 8 bits."""
        chunks = -(-w // 8)
        fill = f"{{{8 * chunks - w}{{1'b0}}}}, " if 8 * chunks > w else ""
        self.lines.append(f"  wire [{8 * chunks - 1}:0] {name}_di = {{{fill}{di}}};")
        self.lines.append(f"  wire [{8 * chunks - 1}:0] {name}_ps = {{{fill}{s}}};")
        self.lines.append(f"  wire [{8 * chunks - 1}:0] {name}_o, {name}_co;")
        for k in range(chunks):
            cin = f"{name}_co[{8 * k - 1}]" if k else ci
            hi, lo = 8 * k + 7, 8 * k
            self.lines.append(
                f"  CARRY8 #(.CARRY_TYPE(\"SINGLE_CY8\")) {name}_c{k} (.CO({name}_co[{hi}:{lo}]), .O({name}_o[{hi}:{lo}]), "
                f".CI({cin}), .CI_TOP(1'b0), .DI({name}_di[{hi}:{lo}]), .S({name}_ps[{hi}:{lo}]));")
        self.lines.append(f"  wire {_range(w)}{name} = {name}_o[{w - 1}:0];")

    def booth_primitive(self, op: comb.AddOp, res: SSAValue, w: int) -> None:
        """A Booth row's adder `sum + row + carry` (see `passes.lower_fx_to_hw`): per bit the row
        reaches, one LUT6 (I0 the sum's bit, I1/I2 a_j/a_{j-1}, I3-I5 b's recoding bits,
        O = sum ^ row), above it the sum's bit itself; DI = the sum's bit, CI = the carry."""
        if len(op.inputs) != 3:
            raise UserError(f"comb.add: a Booth row's adder has three operands (sum, row, carry), got {len(op.inputs)}")
        total, row_in, carry_in = op.inputs
        row, row_width = self.unextended(row_in)
        carry, carry_width = self.unextended(carry_in)
        parts = self.booth_row(row)
        if parts is None or carry_width != 1:
            raise UserError("comb.add: hgq.booth = \"primitive\" needs a zero-extended Booth row (comb.xor marked "
                            "hgq.booth, as lower-fx-to-hw builds it) and a one-bit carry")
        one_a, two_a, x0, x1, x2, inverted = parts
        name = self.fresh_name(res)
        lut = min(row_width, w)
        self.lines.append(f"  wire [{w - 1}:0] {name}_s;  // a Booth row's adder: LUT6 per row bit, CARRY8")
        sums, ones, twos = (self.bits(v, w, op) for v in (total, one_a, two_a))
        selects = [self.bits(x, 1, op)[0] for x in (x0, x1, x2)]
        for i in range(w):
            a = sums[i]
            if i >= lut:
                self.lines.append(f"  assign {name}_s[{i}] = {a};")
                continue
            init = booth_lut6_init(bool(inverted >> i & 1))
            ins = (a, ones[i], twos[i], *selects)
            pins = ", ".join(f".I{n}({v})" for n, v in enumerate(ins))
            self.lines.append(f"  LUT6 #(.INIT(64'h{init:016x})) {name}_l{i} (.O({name}_s[{i}]), {pins});")
        self.carry_chain(name, w, self.ref(total, op), f"{name}_s", self.bits(carry, 1, op)[0])

    def unextended(self, v: SSAValue) -> tuple[SSAValue, int]:
        """(x, the bits of v that are x's) for v = {0, x}, x[n-1:0] or x itself."""
        o = v.owner
        if isinstance(o, comb.ConcatOp) and len(o.inputs) == 2 and self.consts.get(o.inputs[0]) == 0:
            return o.inputs[1], _width(o.inputs[1])
        if isinstance(o, comb.ExtractOp) and o.low_bit.value.data == 0:
            return o.input, _width(v)
        return v, _width(v)

    def booth_row(self, row: SSAValue):
        """(a, 2a, x0, x1, x2, inverted bits) of a row `(one ? a : two ? 2a : 0) ^ {x2..} ^ inv`
        with one = x0 ^ x1 and two = one ? 0 : x1 ^ x2, else None."""
        x = row.owner
        if not (isinstance(x, comb.XorOp) and "hgq.booth" in x.attributes and len(x.inputs) in (2, 3)):
            return None
        m, rep = x.inputs[:2]
        inverted = self.consts.get(x.inputs[2]) if len(x.inputs) == 3 else 0
        outer, sign = m.owner, rep.owner
        if inverted is None or not isinstance(outer, comb.MuxOp) or not isinstance(sign, comb.ReplicateOp):
            return None
        inner, x2 = outer.false_value.owner, sign.input
        one = outer.cond.owner
        if not (isinstance(inner, comb.MuxOp) and self.consts.get(inner.false_value) == 0
                and isinstance(one, comb.XorOp) and len(one.inputs) == 2 and _width(x2) == 1):
            return None
        x0, x1 = one.inputs
        two = inner.cond.owner
        if not (isinstance(two, comb.MuxOp) and two.cond == outer.cond and self.consts.get(two.true_value) == 0
                and isinstance(two.false_value.owner, comb.XorOp)
                and list(two.false_value.owner.inputs) == [x1, x2]):
            return None
        return outer.true_value, inner.true_value, x0, x1, x2, inverted

    @print_op.register
    def _(self, op: comb.XorOp) -> None:
        res, w = self.result(op)
        self.wire(res, w, " ^ ".join(self.ref(v, op) for v in op._operands))

    @print_op.register
    def _(self, op: comb.SubOp) -> None:
        res, w = self.result(op)
        self.wire(res, w, f"{self.ref(op.lhs, op)} - {self.ref(op.rhs, op)}")

    @print_op.register
    def _(self, op: comb.MulOp) -> None:
        """A product of extended operands is written on the narrow ones, signed (an unsigned
        one behind a 0 bit): synthesis then sees the real operand widths, the ones the report
        counts DSP blocks by, not a product as wide as the result."""
        res, w = self.result(op)
        narrow = [_extended(v) for v in op.inputs]
        if not any(narrow):
            self.wire(res, w, " * ".join(self.ref(v, op) for v in op.inputs))
            return
        terms = []
        for v, n in zip(op.inputs, narrow, strict=True):
            x, signed = n if n is not None else (v, False)
            ref = self.ref(x, op)
            terms.append(f"$signed({ref})" if signed else f"$signed({{1'b0, {ref}}})")
        self.wire(res, w, " * ".join(terms))

    @print_op.register
    def _(self, op: comb.ICmpOp) -> None:
        res, w = self.result(op)
        predicate = op.predicate.value.data
        if predicate not in _ICMP:
            raise UserError(f"comb.icmp: predicate {predicate} is not emitted (eq, ne, slt..uge only)")
        sym, signed = _ICMP[predicate]
        a, b = self.ref(op.lhs, op), self.ref(op.rhs, op)
        self.wire(res, w, f"$signed({a}) {sym} $signed({b})" if signed else f"{a} {sym} {b}")

    @print_op.register
    def _(self, op: comb.MuxOp) -> None:
        res, w = self.result(op)
        self.wire(res, w, f"{self.ref(op.cond, op)} ? {self.ref(op.true_value, op)} : {self.ref(op.false_value, op)}")

    @print_op.register
    def _(self, op: hw.ArrayCreateOp) -> None:
        # a constant table: its entries (element 0 first; CIRCT lists it last), written as a
        # function at its first read
        if any(v not in self.consts for v in op.inputs):
            raise UserError("hw.array_create: the Verilog target emits constant arrays only")
        self.tables[op.results[0]] = tuple(self.consts[v] for v in reversed(op.inputs))

    @print_op.register
    def _(self, op: hw.ArrayGetOp) -> None:
        """A table read: synthesis sees a ROM (Yosys builds it as LUTs and wide muxes; a
        part-select of one wide constant vector instead makes Yosys exhaust memory on models
        with many tables). One `case` function or module per distinct table and widths."""
        res, ew = self.result(op)
        if op.input not in self.tables:
            raise UserError("hw.array_get: the Verilog target reads constant arrays (hw.array_create) only")
        iw = _width(op.index)
        key = (self.tables[op.input], iw, ew)
        index = self.ref(op.index, op)
        if not table_is_module(op):
            if key not in self.functions:
                name = self.functions[key] = f"_t{len(self.functions)}"
                self.function_text.append(
                    f"  function automatic {_range(ew)}{name}(input {_range(iw)}i);\n"
                    + _case_rows(key[0], iw, ew, name) + "\n  endfunction")
            self.wire(res, ew, f"{self.functions[key]}({index})")
            return
        if key not in self.table_modules:
            name = self.table_modules[key] = f"{self.top}_t{len(self.table_modules)}"
            self.table_module_text.append(
                f"(* keep_hierarchy *)\nmodule {name} (\n  input wire {_range(iw)}i,\n"
                f"  output reg {_range(ew)}o\n);\n  always @* begin\n"
                + _case_rows(key[0], iw, ew, "o") + "\n  end\nendmodule")
        name = self.fresh_name(res)
        self.lines.append(f"  wire {_range(ew)}{name};")
        self.lines.append(f"  {self.table_modules[key]} {name}_t (.i({index}), .o({name}));")

    @print_op.register
    def _(self, op: seq.CompRegOp) -> None:
        res, w = self.result(op)
        if op.reset is not None or op.power_on_value is not None:
            raise UserError("seq.compreg: registers with a reset or power-on value are not emitted")
        if self.clock is None or op.clk is not self.clock:
            raise UserError("seq.compreg: its clock must be the module's clock port")
        name = self.fresh_name(res)
        self.lines.append(f"  reg {_range(w)}{name};")
        self.regs.append(f"    {name} <= {self.ref(op.input, op)};")


def _case_rows(entries: tuple[int, ...], iw: int, ew: int, target: str) -> str:
    """A `case` on `i` assigning each entry (element 0 first) to `target`, 0 elsewhere."""
    rows = [f"      {iw}'d{i}: {target} = {_literal(e, ew)};" for i, e in enumerate(entries)]
    return ("    case (i)\n" + "\n".join(rows)
            + f"\n      default: {target} = {_literal(0, ew)};\n    endcase")


def emit_verilog(top: hw.HWModuleOp, header: str = "", interface: Interface | None = None) -> str:
    """The Verilog text of `top` (hand-written hw IR without `hgq.interface` too)."""
    return "".join(verilog_pieces(top, header, interface))


def verilog_pieces(top: hw.HWModuleOp, header: str = "", interface: Interface | None = None) -> list[str]:
    """`emit_verilog`'s text in pieces, in order (`VerilogPrinter.module_pieces`)."""
    return VerilogPrinter().module_pieces(top, interface or Interface.of(top, need_layout=False), header)


@dataclass(frozen=True)
class VerilogTarget(Target):
    """`-t verilog`: the RTL folder (`<top>.v`, `<top>.json`, `report.json`, with
    `clock-period` also `<top>.xdc` and `build_vivado.tcl`) in `out-dir`; the resource
    table on the output stream."""

    name = "verilog"

    out_dir: str = ""
    clock_period: float | int | None = None
    part: str = "xcvu13p-flga2577-2-e"
    force: bool = False

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        from hgq_mlir.backend.report import format_table
        from hgq_mlir.backend.rtl import write_rtl

        if not self.out_dir:
            raise UserError("-t verilog needs -o DIR (the folder for <top>.v, <top>.json, report.json)")
        report = write_rtl(module, self.out_dir, self.clock_period, self.part, force=self.force)
        output.write(format_table(report) + "\n")
