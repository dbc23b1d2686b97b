"""Lower `fx` to CIRCT's `hw` / `comb` / `seq` (the dialects xDSL ships).

Each fx value becomes the integer bit vector of its mantissa (two's complement
when signed).  Alignment and shifts are wiring (concat / extract / replicate);
adders, comparisons and muxes are the only logic.  Each model input and output
port is one packed vector; where each element lives in it is recorded on the
module as a typed attribute (`hgq.interface`: the latency and, per port, each element's
index, width, signedness and fractional bits; see `backend.manifest`). Port and module
names are legalized (`backend.names`).

Every function made of fx ops only (or of nothing: a model whose every output is
constant and pruned) becomes one `hw.module`.

A product of two values (`fx.mul`) becomes, by the `multiplier` option, either a multiplier
in LUTs (`lut`: the narrower operand radix-4 Booth recoded, one row d*a, d in -2..2, per two
of its bits, the rows added from the top one down into a running sum; with ternary=primitive
each row's adder is one `comb.add` marked `hgq.booth = "primitive"`, which the Verilog target
writes as one LUT6 per row bit and a CARRY8 chain; a 1-bit operand is a select), or the
Verilog `*` (`dsp`: left to synthesis, which maps it onto DSP blocks). `auto` takes `lut`
where the narrower operand has at most LUT_MULTIPLIER_BITS bits: there a handful of adders
costs less than a DSP block. A product no synthesis puts on a DSP block (a 1-bit operand, a
result under DSP_MIN_RESULT bits) is built in LUTs with either option.

A ternary adder (`fx.add3`) becomes, by the `ternary` option, one `comb.add` of three
operands marked `hgq.ternary = "primitive"` or `"infer"` (the Verilog target writes it as
UltraScale LUT6_2 + CARRY8 primitives, or as `a + b - c` for the vendor's inference), or
(`off`) two binary adders.  The choice is made here, not by the Verilog target, so the hw
IR says what is built and the report and the Verilog read the same IR. In the marked
`comb.add`, a subtracted operand is its complement (`comb.xor` with all ones) and the
count of subtracted operands is a fourth, constant operand (-c = ~c + 1); the low bits
where only one (added) operand is nonzero pass through, outside the adder.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass
from typing import Literal

from xdsl.context import Context
from xdsl.dialects import comb, func, hw, seq
from xdsl.dialects.builtin import UNKNOWN_LOC, IntegerAttr, IntegerType, ModuleOp, StringAttr, UnitAttr, i32
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from hgq_mlir.backend.manifest import interface_attr
from hgq_mlir.backend.names import Namer, module_name
from hgq_mlir.dialects import fx
from hgq_mlir.errors import UserError
from hgq_mlir.fixed import format_bounds, range_width
from hgq_mlir.tables import residual_split

LUT_MULTIPLIER_BITS = 4
DSP_MIN_RESULT = 9  # Yosys synth_xilinx maps a `*` to a DSP48E2 from a 9-bit result and 2-bit operands up
TERNARY = ("primitive", "infer", "off")


@dataclass(frozen=True)
class LowerFxToHw(ModulePass):
    """Options: multiplier (lut, dsp or auto: how a product of two values is built), ternary
    (primitive, infer or off: how a ternary adder is built; primitive also builds a LUT
    multiplier's Booth rows from LUT6 + CARRY8)."""

    name = "lower-fx-to-hw"

    multiplier: Literal["auto", "lut", "dsp"] = "auto"
    ternary: Literal["primitive", "infer", "off"] = "primitive"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.multiplier not in ("auto", "lut", "dsp"):
            raise UserError(f"lower-fx-to-hw: unknown multiplier={self.multiplier} (choose from auto, lut, dsp)")
        if self.ternary not in TERNARY:
            raise UserError(f"lower-fx-to-hw: unknown ternary={self.ternary} (choose from {', '.join(TERNARY)})")
        for model in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            if _is_fx_model(model):
                module = _HwBuilder(self.multiplier, self.ternary).lower(model)
                op.body.block.insert_op_before(module, model)
                model.detach()
                _release(model)


def _release(model: func.FuncOp) -> None:
    """Erase the lowered function and take its ops apart, so that reference counting frees
    them now: ops and their results, and neighbouring ops, refer to each other, and a large
    layer's fx IR (a million objects) would otherwise wait for a cyclic collection that walks
    the whole new hw IR too."""
    ops = list(model.body.ops)
    model.erase(safe_erase=False)  # drops every use
    for o in ops:
        o._next_op = o._prev_op = None
        for r in o.results:
            r.op = None  # the result's way back to its op


def _is_fx_model(f: func.FuncOp) -> bool:
    """No arguments, and fx ops (or nothing) before its return."""
    ops = list(f.body.ops)
    return (
        len(f.body.blocks) == 1
        and not f.body.block.args
        and bool(ops)
        and isinstance(ops[-1], func.ReturnOp)
        and not ops[-1].operands
        and all(o.dialect_name() == "fx" for o in ops[:-1])
    )


@functools.cache
def _int(width: int) -> IntegerType:
    """iN, built once per width: a lowering makes hundreds of thousands of them."""
    return IntegerType(width)


@functools.cache
def _low_bit(low: int) -> IntegerAttr:
    return IntegerAttr(low, i32)


def booth_rows(t: fx.FixedType) -> int:
    """Radix-4 Booth rows of a multiplier operand of type t."""
    return (t.width + 1) // 2


class _HwBuilder:
    def __init__(self, multiplier: str = "auto", ternary: str = "primitive") -> None:
        self.multiplier = multiplier
        self.ternary = ternary
        self.ops: list[Operation] = []
        self.consts: dict[tuple[int, int], SSAValue] = {}
        self.built: dict[tuple, SSAValue] = {}
        self.wires: dict[tuple, SSAValue] = {}  # extract / concat / replicate, by operand ids

    # -- bit-vector helpers ----------------------------------------------------
    def emit(self, op: Operation) -> SSAValue:
        """Add `op`, or reuse an identical one: fx values that differ only by a shift (a type)
        are the same bits here, so the same adder or register can come twice (xDSL's comb
        ops are not marked Pure, so its CSE pass would not merge them)."""
        attrs = tuple(sorted((k, v) for k, v in op.attributes.items() if k != "layer"))
        key = (op.name, tuple(op.operands), tuple(r.type for r in op.results), tuple(sorted(op.properties.items())), attrs)
        if key in self.built:
            op.drop_all_references()
            return self.built[key]
        self.built[key] = op.results[0]
        self.ops.append(op)
        return op.results[0]

    def logic(self, cls: type[Operation], operands: list[SSAValue], attrs: dict | None = None) -> SSAValue:
        """`emit` of a comb op whose result is as wide as its operands, built without IRDL's
        generic argument matching (an adder graph's module holds hundreds of thousands)."""
        return self.emit(cls.create(operands=operands, result_types=[operands[0].type], attributes=attrs or {},
                                    location=UNKNOWN_LOC))

    def wire(self, key: tuple, cls: type[Operation], operands: list[SSAValue], width: int,
             properties: dict[str, Attribute] | None = None) -> SSAValue:
        """Add a wiring op (no attributes, made only here), or reuse the identical one: `emit`
        for the commonest ops, keyed without building the op first (they are most of the
        module, and many of those asked for exist already)."""
        v = self.wires.get(key)
        if v is None:
            op = cls.create(operands=operands, result_types=[_int(width)], properties=properties or {},
                            location=UNKNOWN_LOC)
            self.ops.append(op)
            v = self.wires[key] = op.results[0]
        return v

    def concat(self, parts: list[SSAValue], width: int) -> SSAValue:
        """{parts[0], parts[1], ...}: the first part is the most significant."""
        return self.wire(("concat", width, *map(id, parts)), comb.ConcatOp, parts, width)

    def replicate(self, v: SSAValue, width: int) -> SSAValue:
        return self.wire(("replicate", width, id(v)), comb.ReplicateOp, [v], width)

    def const(self, value: int, width: int) -> SSAValue:
        value &= (1 << width) - 1
        key = (value, width)
        if key not in self.consts:
            if value >= 1 << (width - 1):
                value -= 1 << width  # IntegerAttr holds signless values in signed form
            self.consts[key] = self.emit(hw.ConstantOp(value, width))
        return self.consts[key]

    def extract(self, v: SSAValue, low: int, width: int) -> SSAValue:
        if low == 0 and width == v.type.width.data:
            return v
        return self.wire(("extract", width, id(v), low), comb.ExtractOp, [v], width, {"lowBit": _low_bit(low)})

    def resize(self, v: SSAValue, signed: bool, width: int) -> SSAValue:
        """Sign/zero-extend or truncate to `width` bits."""
        w = v.type.width.data
        if width <= w:
            return self.extract(v, 0, width)
        return self.concat([self.extension(v, signed, width - w), v], width)

    def extension(self, v: SSAValue, signed: bool, n: int) -> SSAValue:
        """The n bits above `v` that sign- or zero-extend it."""
        if not signed:
            return self.const(0, n)
        msb = self.extract(v, v.type.width.data - 1, 1)
        return msb if n == 1 else self.replicate(msb, n)

    def align(self, v: SSAValue, t: fx.FixedType, frac: int, width: int) -> SSAValue:
        """The mantissa of `v` (type t) at `frac` fractional bits, in `width` bits."""
        s = frac - t.frac
        if s > 0:
            w = v.type.width.data
            if width > w + s:  # extended and shifted: one concat {extension, v, zeros}
                top = self.extension(v, t.signed, width - w - s)
                return self.concat([top, v, self.const(0, s)], width)
            v = self.concat([v, self.const(0, s)], w + s)
        return self.resize(v, t.signed, width)

    def window(self, v: SSAValue, t: fx.FixedType, frac: int, low: int, width: int) -> SSAValue:
        """Bits low .. low+width-1 of `align(v, t, frac, ...)`, built from `v` directly: the
        aligned whole is never needed, and a large layer's module is mostly such wiring."""
        s = frac - t.frac - low
        if s >= 0:
            return self.align(v, t, frac - low, width)
        w = v.type.width.data
        if -s >= w:  # only the extension bits of v
            return self.extension(v, t.signed, width)
        return self.resize(self.extract(v, -s, w + s), t.signed, width)

    # -- the module --------------------------------------------------------------
    def lower(self, model: func.FuncOp) -> hw.HWModuleOp:
        inputs: dict[str, list[fx.InputOp]] = {}
        outputs: dict[str, list[fx.OutputOp]] = {}
        regs = False
        for op in model.body.ops:
            if isinstance(op, fx.InputOp):
                inputs.setdefault(op.port.data, []).append(op)
            elif isinstance(op, fx.OutputOp):
                outputs.setdefault(op.port.data, []).append(op)
            regs = regs or isinstance(op, fx.RegOp)

        namer = Namer()
        in_names = {port: namer.name(port) for port in inputs}
        out_names = {port: namer.name(port) for port in outputs}
        ports, arg_types, manifest_in = [], [], []
        for port, elems in inputs.items():
            desc = _port_desc(in_names[port], sorted(elems, key=lambda o: o.index.data), lambda o: o.result.type)
            manifest_in.append(desc)
            ports.append(hw.ModulePort(StringAttr(desc["port"]), IntegerType(desc["width"]), hw.DirectionAttr(hw.Direction.INPUT)))
            arg_types.append(IntegerType(desc["width"]))
        if regs:
            ports.append(hw.ModulePort(StringAttr("clk"), seq.clock, hw.DirectionAttr(hw.Direction.INPUT)))
            arg_types.append(seq.clock)
        block = Block(arg_types=arg_types)
        clk = block.args[-1] if regs else None
        port_arg = {desc["port"]: block.args[n] for n, desc in enumerate(manifest_in)}
        offsets = {
            (port, e["index"]): (e["offset"], e["width"])
            for port, desc in zip(inputs, manifest_in, strict=True)
            for e in desc["elements"]
        }

        vals: dict[SSAValue, SSAValue] = {}
        latency = 0
        for op in model.body.ops:
            if isinstance(op, fx.InputOp):
                off, w = offsets[(op.port.data, op.index.data)]
                vals[op.result] = self.extract(port_arg[in_names[op.port.data]], off, w)
            elif isinstance(op, fx.OutputOp | func.ReturnOp):
                pass
            elif isinstance(op, fx.RegOp):
                latency = max(latency, op.stage.value.data)
                vals[op.result] = self.emit(seq.CompRegOp(vals[op.input], clk))
            else:
                vals[op.results[0]] = self.lower_op(op, [vals[v] for v in op.operands])

        manifest_out, results = [], []
        for port, elems in outputs.items():
            elems = sorted(elems, key=lambda o: o.index.data)
            desc = _port_desc(out_names[port], elems, lambda o: o.input.type)
            manifest_out.append(desc)
            parts = [vals[o.input] for o in reversed(elems)]
            packed = parts[0] if len(parts) == 1 else self.concat(parts, desc["width"])
            results.append(packed)
            ports.append(hw.ModulePort(StringAttr(desc["port"]), IntegerType(desc["width"]), hw.DirectionAttr(hw.Direction.OUTPUT)))
        block.add_ops(self.ops)
        block.add_op(hw.OutputOp(results))
        top = module_name(model.sym_name.data)
        module = hw.HWModuleOp(StringAttr(top), hw.ModuleType(_array(ports)), Region(block))
        layout = {
            desc["port"]: [(e["index"], e["width"], e["signed"], e["frac"]) for e in desc["elements"]]
            for desc in manifest_in + manifest_out
        }
        module.attributes["hgq.interface"] = interface_attr(latency, layout)
        for key, attr in model.attributes.items():
            if key.startswith("hgq."):
                module.attributes[key] = attr
        return module

    def lower_op(self, op: Operation, args: list[SSAValue]) -> SSAValue:
        attrs = {"layer": op.attributes["layer"]} if "layer" in op.attributes else None
        if isinstance(op, fx.ConstOp):
            return self.const(op.value.data, op.result.type.width)
        if isinstance(op, fx.ShiftOp):
            return args[0]
        t = op.result.type
        w = t.width
        if isinstance(op, fx.AddOp | fx.SubOp):
            a = self.align(args[0], op.lhs.type, t.frac, w)
            b = self.align(args[1], op.rhs.type, t.frac, w)
            if isinstance(op, fx.AddOp):
                return self.logic(comb.AddOp, [a, b], attrs)
            return self.logic(comb.SubOp, [a, b], attrs)
        if isinstance(op, fx.Add3Op):
            return self.add3(op, args, attrs)
        if isinstance(op, fx.NegOp):
            a = self.align(args[0], op.input.type, t.frac, w)
            return self.emit(comb.SubOp(self.const(0, w), a, attr_dict=attrs))
        if isinstance(op, fx.MaxOp | fx.MinOp):
            wc = max(op.lhs.type.width + t.frac - op.lhs.type.frac, op.rhs.type.width + t.frac - op.rhs.type.frac) + 1
            a = self.align(args[0], op.lhs.type, t.frac, wc)
            b = self.align(args[1], op.rhs.type, t.frac, wc)
            lt = self.emit(comb.ICmpOp(a, b, "slt"))
            pick = (b, a) if isinstance(op, fx.MaxOp) else (a, b)
            return self.resize(self.emit(comb.MuxOp(lt, *pick, attr_dict=attrs)), True, w)
        if isinstance(op, fx.ReluOp):
            tin = op.input.type
            if not tin.signed:
                return self.resize(args[0], False, w)
            neg = self.extract(args[0], tin.width - 1, 1)
            x = self.resize(args[0], True, w)
            return self.emit(comb.MuxOp(neg, self.const(0, w), x, attr_dict=attrs))
        if isinstance(op, fx.LutOp):
            return self.lut(args[0], op.input.type, op.lo.data, op.entries(), w, attrs)
        if isinstance(op, fx.MulOp):
            return self.mul(args, [op.lhs.type, op.rhs.type], w, attrs)
        if isinstance(op, fx.QuantizeOp):
            return self.quantize(args[0], op.input.type, t, op.round.data, op.overflow.data, attrs)
        raise UserError(f"{op.name}: no lowering to hw/comb")

    def add3(self, op: fx.Add3Op, args: list[SSAValue], attrs) -> SSAValue:
        t = op.result.type
        w = t.width
        neg = list(op.negated)
        types = [o.type for o in op.operands]
        if self.ternary == "off":  # two binary adders, an added operand first, modulo 2^w
            xs = [self.align(v, o, t.frac, w) for v, o in zip(args, types, strict=True)]
            order = sorted(range(3), key=lambda n: neg[n])
            acc = xs[order[0]]
            for n in order[1:]:
                acc = self.logic(comb.SubOp if neg[n] else comb.AddOp, [acc, xs[n]], attrs)
            return acc
        # known-zero low bits of each aligned operand (the alignment's appended zeros)
        zeros = [min(max(t.frac - o.type.frac, 0), w) for o in op.operands]
        order = sorted(range(3), key=lambda n: zeros[n])
        low, second = zeros[order[0]], zeros[order[1]]
        start = second if low < second and not neg[order[0]] else low
        parts = []
        if start:  # below `start` one added operand alone is nonzero (or none): its bits pass through
            parts.append(self.window(args[order[0]], types[order[0]], t.frac, 0, start))
        if start < w:
            n = w - start
            operands = []
            for v, vt, negative in zip(args, types, neg, strict=True):
                x = self.window(v, vt, t.frac, start, n)
                if negative:  # -x = ~x + 1: the complement here, the +1 in the constant operand
                    x = self.logic(comb.XorOp, [x, self.const(-1, n)])
                operands.append(x)
            if any(neg):
                operands.append(self.const(sum(neg), n))
            marked = {"hgq.ternary": StringAttr(self.ternary), **(attrs or {})}
            parts.append(self.logic(comb.AddOp, operands, marked))
        if len(parts) == 1:
            return parts[0]
        return self.concat(parts[::-1], w)

    def mul(self, args: list[SSAValue], types: list[fx.FixedType], w: int, attrs) -> SSAValue:
        """The exact product of two mantissas in `w` bits (the result type holds it)."""
        (a, ta), (b, tb) = sorted(zip(args, types, strict=True), key=lambda p: -p[1].width)  # b: the narrower
        # a product synthesis never puts on a DSP block (an operand of one bit or a result of
        # fewer than DSP_MIN_RESULT bits: Yosys's and Vivado's mapping leave those in LUTs)
        # is built in LUTs whatever the option, so the report counts what synthesis builds
        fits = tb.width >= 2 and w >= DSP_MIN_RESULT
        if fits and (self.multiplier == "dsp" or (self.multiplier == "auto" and tb.width > LUT_MULTIPLIER_BITS)):
            ext = [self.resize(v, t.signed, w) for v, t in ((a, ta), (b, tb))]
            return self.emit(comb.MulOp(ext, attr_dict=attrs))
        if booth_rows(tb) < tb.width:  # Booth rows: half as many partial products
            if self.ternary == "primitive":
                return self.booth_primitive(a, ta, b, tb, w, attrs)
            return self.booth(a, ta, b, tb, w, attrs)
        alo, ahi = ta.mantissa_range()
        plus, minus = [], []  # terms (bits, shift, lo, hi): a value x * 2^shift with lo <= x <= hi
        for j in range(min(tb.width, w)):
            pp = self.emit(comb.MuxOp(self.extract(b, j, 1), a, self.const(0, ta.width), attr_dict=attrs))
            (minus if tb.signed and j == tb.width - 1 else plus).append((pp, j, min(alo, 0), max(ahi, 0)))
        while len(plus) > 1:  # a balanced tree: log2 of the operand's width in adder levels
            nxt = [self.add_terms(x, y, False, attrs) for x, y in zip(plus[::2], plus[1::2])]
            plus = nxt + ([plus[-1]] if len(plus) % 2 else [])
        total = plus[0] if plus else (self.const(0, 1), 0, 0, 0)
        for m in minus:
            total = self.add_terms(total, m, True, attrs)
        bits, shift, lo, _ = total
        return self.align_term(bits, shift, lo < 0, 0, w)

    def booth(self, a: SSAValue, ta: fx.FixedType, b: SSAValue, tb: fx.FixedType, w: int, attrs) -> SSAValue:
        """a * b with b radix-4 Booth recoded: a row d_k * a (d_k in -2..2) per two bits of b.
        The rows are added from the top one down, each into a running sum that is wider than
        the row (so synthesis gives the carry chain's DI the sum, and the row's select logic
        goes into the adder's own LUTs), with the +1 of a negated row as the carry-in."""
        alo, ahi = ta.mantissa_range()
        wa = ta.width + (0 if ta.signed else 1)  # a as a signed value
        sa = self.resize(a, ta.signed, wa)
        rows = booth_rows(tb)
        # b is recoded as signed; for an unsigned b, a * 2^width is added where its top bit is
        # set: that row joins the top row's adder (their selects share a LUT)
        bb = self.concat([self.resize(b, True, 2 * rows), self.const(0, 1)], 2 * rows + 1)
        one_a = self.resize(sa, True, wa + 1)
        two_a = self.concat([sa, self.const(0, 1)], wa + 1)
        zero = self.const(0, wa + 1)
        built = []  # (row bits, its sign bit x2): row = d_k * a - x2
        for k in range(rows):
            m, x2 = self.booth_select(bb, 2 * k, one_a, two_a, zero)
            sign = self.replicate(x2, wa + 1)
            built.append((self.emit(comb.XorOp([m, sign], attr_dict={"hgq.booth": UnitAttr()})), x2))
        big = 2 * max(ahi, -alo)  # |d_k * a| at most
        acc = None  # the running sum: (bits, shift, lo, hi)
        for k in reversed(range(rows)):
            row, x2 = built[k]
            s = 2 * k
            if acc is None:
                lo, hi = -big, big
            else:
                lo, hi = (acc[2] << (acc[1] - s)) - big, (acc[3] << (acc[1] - s)) + big
            width = range_width(lo, hi)
            operands = [self.resize(row, True, width), self.resize(x2, False, width)]
            if acc is not None:
                operands.insert(0, self.align_term(acc[0], acc[1], acc[2] < 0, s, width))
            elif not tb.signed:
                top = self.extract(b, tb.width - 1, 1)
                extra = self.emit(comb.MuxOp(top, sa, self.const(0, wa)))
                lo, hi = lo + (min(alo, 0) << (tb.width - s)), hi + (max(ahi, 0) << (tb.width - s))
                width = range_width(lo, hi)
                operands = [self.align_term(extra, tb.width, alo < 0, s, width), self.resize(row, True, width),
                            self.resize(x2, False, width)]
            acc = (self.emit(comb.AddOp(operands, attr_dict=attrs)), s, lo, hi)
        return self.align_term(acc[0], acc[1], acc[2] < 0, 0, w)

    def booth_select(self, bb: SSAValue, s: int, one_a: SSAValue, two_a: SSAValue,
                     zero: SSAValue) -> tuple[SSAValue, SSAValue]:
        """(|d| * a, x2) of the Booth row recoded from bits s-1, s, s+1 of b (bb holds b one bit
        up): |d| = 1 where x0 ^ x1, 2 where x0 = x1 != x2, else 0; x2 is the row's sign."""
        x0, x1, x2 = (self.extract(bb, s + i, 1) for i in range(3))
        one = self.emit(comb.XorOp([x0, x1]))
        two = self.emit(comb.MuxOp(one, self.const(0, 1), self.emit(comb.XorOp([x1, x2]))))
        return self.emit(comb.MuxOp(one, one_a, self.emit(comb.MuxOp(two, two_a, zero)))), x2

    def booth_primitive(self, a: SSAValue, ta: fx.FixedType, b: SSAValue, tb: fx.FixedType, w: int,
                        attrs) -> SSAValue:
        """a * b with b radix-4 Booth recoded, each row added by one LUT6 per bit and a CARRY8
        chain (a `comb.add` marked `hgq.booth = "primitive"`): the LUT takes the row's select
        (a_j, a_{j-1} and b's three recoding bits) and the running sum's bit. Rows are not
        sign-extended: a row r of W bits is read unsigned with its top bit inverted (r + 2^(W-1)),
        and the constant -2^(W-1) per row is spread over the adders' two low bits, where the
        running sum is zero, so above a row's top bit the chain carries alone, without LUTs."""
        wa = ta.width + (0 if ta.signed else 1)  # a as a signed value
        sa = self.resize(a, ta.signed, wa)
        rows = (tb.width + (0 if tb.signed else 1) + 1) // 2  # b as a signed value, two bits a row
        bb = self.concat([self.resize(b, tb.signed, 2 * rows), self.const(0, 1)], 2 * rows + 1)
        width = wa + 1
        one_a = self.resize(sa, True, width)
        two_a = self.concat([sa, self.const(0, 1)], width)
        zero, top = self.const(0, width), self.const(1 << (width - 1), width)
        offset = (-(1 << (width - 1)) * ((4 ** rows - 1) // 3)) % (1 << w)  # the rows' inverted tops
        mark = {"hgq.booth": StringAttr("primitive"), **(attrs or {})}
        acc = None  # the running sum, bits 2k+2 .. w-1
        for k in reversed(range(rows)):
            s = 2 * k
            if s >= w:
                continue
            n = w - s
            m, x2 = self.booth_select(bb, s, one_a, two_a, zero)
            row = self.emit(comb.XorOp([m, self.replicate(x2, width), top],
                                       attr_dict={"hgq.booth": UnitAttr()}))
            low = (offset >> s) & ((1 << min(n, 2)) - 1)
            if acc is None:
                sum_in = self.const(offset >> s, n)
            else:
                sum_in = self.concat([acc, self.const(low, 2)], n)
            operands = [sum_in, self.resize(row, False, n), self.resize(x2, False, n)]
            acc = self.emit(comb.AddOp(operands, attr_dict=mark))
        return acc

    def align_term(self, bits: SSAValue, shift: int, signed: bool, to: int, width: int) -> SSAValue:
        """A term's bits at shift `to` (<= its own), sign- or zero-extended to `width` bits."""
        if shift > to:
            bits = self.concat([bits, self.const(0, shift - to)], bits.type.width.data + shift - to)
        return self.resize(bits, signed, width)

    def add_terms(self, x: tuple, y: tuple, subtract: bool, attrs) -> tuple:
        """The sum (or difference) of two product terms: below the higher term's shift the lower
        term's bits pass through as wiring, and the adder above is as wide as its exact range.
        So no adder of the tree reads another adder's whole result, and synthesis keeps each one
        a carry chain (Yosys alumacc merges an adder that reads another's whole result into one
        carry-save sum, which maps to about twice the LUTs)."""
        if not subtract and y[1] < x[1]:
            x, y = y, x
        (xb, xs, xlo, xhi), (yb, ys, ylo, yhi) = x, y
        d = max(ys - xs, 0)  # the lower term's bits below the higher one's shift pass through
        low = None
        if d and xb.type.width.data > d:
            low = self.extract(xb, 0, d)
            xb, xs, xlo, xhi = self.extract(xb, d, xb.type.width.data - d), ys, xlo >> d, xhi >> d
        s = min(xs, ys)
        xlo, xhi, ylo, yhi = xlo << (xs - s), xhi << (xs - s), ylo << (ys - s), yhi << (ys - s)
        lo, hi = (xlo - yhi, xhi - ylo) if subtract else (xlo + ylo, xhi + yhi)
        width = range_width(lo, hi)
        xa = self.align_term(xb, xs, xlo < 0, s, width)
        ya = self.align_term(yb, ys, ylo < 0, s, width)
        op = comb.SubOp(xa, ya, attr_dict=attrs) if subtract else comb.AddOp([xa, ya], attr_dict=attrs)
        total = self.emit(op)
        if low is None:
            return total, s, lo, hi
        joined = self.concat([total, low], width + d)
        return joined, s - d, lo << d, (hi << d) | ((1 << d) - 1)

    def lut(self, x: SSAValue, tin: fx.FixedType, lo: int, table, w: int, attrs) -> SSAValue:
        """hw.array_get on a constant array indexed by the input's raw bits. Codes the input never
        takes repeat the nearest real entry: a smoother function maps to fewer LUTs. Where the
        table costs fewer LUTs as T(x) = A(x_hi) + R(x) (`tables.residual_split`), it is built
        that way: A indexed by the top index bits, R narrower, one adder (modulo 2^w: exact)."""
        n = 1 << tin.width
        values = table.tolist()
        entries = [0] * n
        for code in range(n):
            m = code - n if tin.signed and code >= n // 2 else code  # the mantissa these bits hold
            entries[code] = values[min(max(m - lo, 0), len(values) - 1)]
        split = residual_split(entries, tin.width, w)
        if split is None:
            return self.table(entries, x, w, attrs)
        base = self.table(split.base, self.extract(x, tin.width - split.high, split.high), w, attrs)
        residual = self.resize(self.table(split.residual, x, split.residual_width, attrs), False, w)
        return self.emit(comb.AddOp([base, residual], attr_dict=attrs))

    def table(self, entries, index: SSAValue, w: int, attrs) -> SSAValue:
        # as in CIRCT, the last operand of hw.array_create is element 0
        array = self.emit(hw.ArrayCreateOp(*[self.const(v, w) for v in reversed(entries)]))
        get = hw.ArrayGetOp(array, index)
        if attrs:
            get.attributes.update(attrs)
        return self.emit(get)

    def quantize(self, x: SSAValue, tin: fx.FixedType, t: fx.FixedType, rnd: str, overflow: str, attrs) -> SSAValue:
        w_in, d = tin.width, tin.frac - t.frac
        signed = tin.signed
        if d > 0:
            # round: x + bias, then drop d bits; one guard bit so the bias never overflows
            wx = max(w_in, d) + 1
            xe = self.resize(x, signed, wx)
            if rnd == "RND":
                xe = self.emit(comb.AddOp([xe, self.const(1 << (d - 1), wx)], attr_dict=attrs))
            elif rnd == "RND_CONV":
                odd = self.resize(self.extract(xe, d, 1), False, wx)
                xe = self.emit(comb.AddOp([xe, self.const((1 << (d - 1)) - 1, wx)], attr_dict=attrs))
                xe = self.emit(comb.AddOp([xe, odd], attr_dict=attrs))
            # dropping d bits is floor division, in the input's signedness (the guard bit holds the carry)
            r, wr = self.extract(xe, d, wx - d), wx - d
        else:
            r = x
            if d < 0:
                r = self.concat([x, self.const(0, -d)], w_in - d)
            wr = r.type.width.data
        w = t.width
        if overflow == "WRAP":
            return self.resize(r, signed, w)
        lo, hi = format_bounds(int(t.signed), w - int(t.signed) - t.frac, t.frac, overflow)
        rmin, rmax = format_bounds(int(signed), wr - int(signed), 0)
        if lo <= rmin and rmax <= hi:
            return self.resize(r, signed, w)
        wc = max(wr, w) + 1
        rc = self.resize(r, signed, wc)
        out = self.resize(r, signed, w)
        if rmax > hi:
            over = self.emit(comb.ICmpOp(rc, self.const(hi, wc), "sgt"))
            out = self.emit(comb.MuxOp(over, self.const(hi, w), out, attr_dict=attrs))
        if rmin < lo:
            under = self.emit(comb.ICmpOp(rc, self.const(lo, wc), "slt"))
            out = self.emit(comb.MuxOp(under, self.const(lo, w), out, attr_dict=attrs))
        return out


def _array(items: list[Attribute]):
    from xdsl.dialects.builtin import ArrayAttr

    return ArrayAttr(items)


def _port_desc(name: str, elems: list, type_of) -> dict:
    """A port's manifest entry: `name` (legalized) and its elements in bit order."""
    offset, described = 0, []
    for o in elems:
        t = type_of(o)
        described.append({"index": o.index.data, "offset": offset, "width": t.width, "signed": t.signed, "frac": t.frac})
        offset += t.width
    return {"port": name, "width": offset, "elements": described}
