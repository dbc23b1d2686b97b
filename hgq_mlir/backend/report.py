"""Resource report from `hw`/`comb`/`seq`: LUTs, FFs, adders, adder levels, per layer."""

from __future__ import annotations

from collections import defaultdict

from xdsl.dialects import comb, hw, seq
from xdsl.dialects.comb import ICMP_COMPARISON_OPERATIONS
from xdsl.dialects.builtin import IntegerType, StringAttr
from xdsl.ir import Block, Operation, SSAValue

from hgq_mlir.backend.attrs import record
from hgq_mlir.backend.names import printable
from hgq_mlir.backend.verilog import table_is_module, width_of
from hgq_mlir.cmvm.graph import adder_luts
from hgq_mlir.tables import table_luts

# op classes are compared by identity (`type(op) in ...`): isinstance on xDSL's ABC op
# classes costs ten times as much, and the report asks millions of times; operands are read
# as the op's own tuple (`op._operands`: `op.operands` builds a view object per call)
_WIRES = frozenset({comb.ExtractOp, comb.ConcatOp, comb.ReplicateOp})
_SUMS = frozenset({comb.AddOp, comb.SubOp})
_COSTED = frozenset({comb.AddOp, comb.SubOp, comb.MuxOp, hw.ArrayGetOp, comb.ICmpOp})  # the rest is wiring
_LEVELS = frozenset({comb.AddOp, comb.SubOp, hw.ArrayGetOp, comb.MulOp})  # a table lookup is a logic level too


ZERO = ("const", 0)


def bit_sources(top: hw.HWModuleOp, ops: list[Operation]) -> dict[SSAValue, list]:
    """Per value, an identity per bit (LSB first): constants, input bits, the bits that wiring,
    an adder's pass-through low bits or a register carry unchanged, else the op's own bits.
    Equal identities are equal signals, so synthesis merges flip-flops that store them."""
    bits: dict[SSAValue, list] = {}
    for n, arg in enumerate(top.body.block.args):
        bits[arg] = [("in", n, i) for i in range(width_of(arg.type))]

    def of(v: SSAValue) -> list:
        if v not in bits:  # anything without a bit-level model: opaque bits of its own
            bits[v] = [("op", id(v), i) for i in range(width_of(v.type))]
        return bits[v]

    # (operands and results read once per op, by position: xDSL's named accessors cost more)
    for op in ops:
        kind = type(op)
        if not op.results:
            continue
        res = op.results[0]
        if kind is hw.ConstantOp:
            value = op.value.value.data
            bits[res] = [("const", (value >> i) & 1) for i in range(width_of(res.type))]
        elif kind is comb.ExtractOp:
            low = op.low_bit.value.data
            bits[res] = of(op._operands[0])[low : low + width_of(res.type)]
        elif kind is comb.ConcatOp:
            bits[res] = [b for part in reversed(op._operands) for b in of(part)]
        elif kind is comb.ReplicateOp:
            x = op._operands[0]
            bits[res] = of(x) * (width_of(res.type) // width_of(x.type))
        elif kind in _SUMS and len(operands := op._operands) == 2:
            a, b = of(operands[0]), of(operands[1])
            own = of(res)
            for i in range(len(own)):  # low bits where one side is zero are the other side's
                if b[i] == ZERO:
                    own[i] = a[i]
                elif a[i] == ZERO:
                    own[i] = b[i]  # for a difference too: -b ≡ b (mod 2) at the first such bit
                    if kind is comb.SubOp:
                        break  # above it the borrow ripples
                else:
                    break
        elif kind is comb.MuxOp:
            cond, t, f = op._operands
            if all(x == ZERO for x in of(t)):  # a ReLU: on a register, its synchronous reset
                c = of(cond)[0]
                bits[res] = [("reset", c, x) for x in of(f)]
        elif kind is seq.CompRegOp:
            bits[res] = [b if b[0] == "const" else ("ff", b) for b in of(op._operands[0])]
    return bits


LUT_INPUTS = 6


def bit_functions(ops: list[Operation], bits: dict[SSAValue, list]) -> dict[SSAValue, frozenset]:
    """Per one-bit result of a comparison with a constant or of a one-bit select built on
    such results (a quantizer to one bit: a spike, a binary activation), the input bits its
    function reads (bit identities, constants left out). Synthesis builds such a function of
    up to six bits as one LUT whatever the comparisons and selects inside it."""
    support: dict[SSAValue, frozenset] = {}
    of_bit: dict[tuple, frozenset] = {}  # a one-bit result's identity -> its support

    def of(v: SSAValue) -> list:
        return bits.setdefault(v, [("op", id(v), i) for i in range(width_of(v.type))])

    def bit_support(b: tuple) -> frozenset:
        if b[0] == "const":
            return frozenset()
        return of_bit.get(b, frozenset((b,)))

    for op in ops:
        kind = type(op)
        if kind is comb.ICmpOp:
            sides = [of(v) for v in op._operands]
            if not any(all(b[0] == "const" for b in side) for side in sides):
                continue  # two values: a carry chain, not a small function
            found = frozenset().union(*(bit_support(b) for side in sides for b in side))
        elif kind is comb.MuxOp and width_of(op.results[0].type) == 1:
            if not any(of(v)[0] in of_bit for v in op._operands):
                continue  # a select of bits alone (a Booth digit's): the reader's LUT takes it
            found = frozenset().union(*(bit_support(of(v)[0]) for v in op._operands))
        else:
            continue
        res = op.results[0]
        support[res] = of_bit[of(res)[0]] = found
    return support


def _bit_function_cost(op: Operation, functions: dict[SSAValue, frozenset]) -> int | None:
    """LUTs of a one-bit function of at most six input bits (`bit_functions`): one where
    something other than such a function reads it, none inside a larger one of at most six
    bits (it is part of that LUT) or where it is an input bit itself; None where the rule
    does not apply."""
    found = functions.get(op.results[0])
    if found is None or len(found) > LUT_INPUTS:
        return None
    readers = _readers(op.results[0])
    if len(found) <= 1 or (readers and all(
            r.results and 0 < len(functions.get(r.results[0], ())) <= LUT_INPUTS for r in readers)):
        return 0
    return 1


def needed_bits(ops: list[Operation], bits: dict[SSAValue, list]) -> dict[SSAValue, int]:
    """Per value, the bits anything observable depends on (a mask, bit i = 1 << i).

    Backward over the netlist, as synthesis narrows cells (Yosys wreduce / opt_dff): the low
    n bits of a sum or a select need only the low n bits of their operands, and an unread
    low bit of a sum needs no operand bit when the other operand's bit there is zero (no
    carry), so registers and adders lose the bits nobody reads (a ReLU reads its input's
    sign bit but maybe not the bits below it that a later wrap drops)."""
    need: dict[SSAValue, int] = {}

    def want(v: SSAValue, mask: int) -> None:
        mask &= (1 << width_of(v.type)) - 1
        if mask:
            need[v] = need.get(v, 0) | mask

    def full(v: SSAValue) -> int:
        return (1 << width_of(v.type)) - 1

    for op in reversed(ops):
        kind = type(op)
        operands = op._operands
        if kind is hw.OutputOp:
            for v in operands:
                want(v, full(v))
            continue
        if not op.results or kind is hw.ConstantOp:
            continue
        mask = need.get(op.results[0])
        if mask is None:
            continue
        if kind is seq.CompRegOp:
            want(operands[0], mask)
        elif kind is comb.ExtractOp:
            want(operands[0], mask << op.low_bit.value.data)
        elif kind is comb.ConcatOp:
            offset = 0
            for part in reversed(operands):
                want(part, mask >> offset)
                offset += width_of(part.type)
        elif kind in _SUMS and len(operands) == 2:
            a, b = bits[operands[0]], bits[operands[1]]
            lowest = (mask & -mask).bit_length() - 1
            start = 0  # unread low bits with a zero on one side: no carry, no operand bit needed
            while start < lowest and (b[start] == ZERO or (a[start] == ZERO and kind is comb.AddOp)):
                start += 1
            span = ((1 << mask.bit_length()) - 1) & ~((1 << start) - 1)  # carries need every bit below
            for v in operands:
                want(v, span)
        elif kind is comb.MuxOp:
            want(op.cond, 1)
            want(op.true_value, mask)
            want(op.false_value, mask)
        else:  # comparisons, replication, table lookups, anything else: every operand bit
            for v in op._operands:
                want(v, full(v))
    return need


SRL_MIN = 3  # register chains at least this long become shift-register LUTs (Yosys xilinx_srl)


def flip_flops(ops: list[Operation], bits: dict[SSAValue, list], need: dict) -> tuple[dict[Operation, int], dict[Operation, int]]:
    """Per register, the flip-flops synthesis keeps, and the shift-register LUTs (SRL16E) it
    makes: a register's needed bits, less the bits whose input is a constant or is already
    registered (identical flip-flops merge, as Yosys opt_merge does; e.g. an adder's
    pass-through low bits), less delay chains of SRL_MIN or more flip-flops with no tap
    but the last, which become one SRL16E per bit and 16 stages."""
    owner: dict = {}  # a kept flip-flop's input bit -> its register
    for op in ops:
        if type(op) is seq.CompRegOp:
            mask = need.get(op.results[0], 0)
            for i, b in enumerate(bits[op.input]):
                if mask >> i & 1 and b[0] != "const" and b not in owner:
                    owner[b] = op
    if not owner:
        return defaultdict(int), defaultdict(int)
    tapped: set = set()  # flip-flop outputs that logic (not the next flip-flop) reads
    for op in ops:
        if type(op) not in (seq.CompRegOp, hw.ConstantOp, hw.ArrayCreateOp):
            for v in op._operands:
                if v in bits:
                    tapped.update(b for b in bits[v] if b[0] == "ff")
    ffs: dict[Operation, int] = defaultdict(int)
    srls: dict[Operation, int] = defaultdict(int)
    for d, op in owner.items():
        ffs[op] += 1
    for d in owner:
        if d[0] == "ff" and d[1] in owner and ("ff", d[1]) not in tapped:
            continue  # not the head of a chain segment
        chain = [d]  # forward while a stage's output feeds only the next stage (the end may be tapped)
        while ("ff", chain[-1]) not in tapped and ("ff", chain[-1]) in owner:
            chain.append(("ff", chain[-1]))
        if chain[0][0] == "reset":
            chain = chain[1:]  # a flip-flop with a synchronous reset (a ReLU) has no SRL form
        if len(chain) >= SRL_MIN:
            for x in chain:
                ffs[owner[x]] -= 1
            srls[owner[chain[-1]]] += -(-len(chain) // 16)
    return ffs, srls


def _into_registers(v: SSAValue, sinks=(seq.CompRegOp,)) -> bool:
    """Every use of `v`, through wiring, is a register (or another of `sinks`, or a
    rounding step: an adder with a constant, whose carry-chain LUT takes the select too)."""
    for use in v.uses:
        user = use.operation
        if type(user) in _WIRES or type(user) is comb.AddOp and any(type(o.owner) is hw.ConstantOp for o in user._operands):
            if not _into_registers(user.results[0], sinks):
                return False
        elif not isinstance(user, sinks):
            return False
    return True


def _absorbed(v: SSAValue) -> bool:
    """Every use of `v` (through wiring) is logic that takes it into its own LUT: an adder
    (select, a, b -> propagate fits one LUT6) or a further select or comparison, or a
    register (Yosys maps a select of a constant onto the flip-flop's set/reset pin).
    Measured on whole models with Yosys synth_xilinx; an isolated select feeding one adder
    does cost its bits, but in a network the cost shows up folded into the adders."""
    for use in v.uses:
        user = use.operation
        if type(user) in _WIRES:
            if not _absorbed(user.results[0]):
                return False
        elif type(user) is seq.CompRegOp or is_booth_row(user):
            continue
        elif type(user) not in (comb.AddOp, comb.SubOp, comb.MuxOp, comb.ICmpOp):
            return False
        elif _is_primitive(user):
            return False  # an instantiated LUT6_2 reads the select's bits as they are
        elif _is_rounding(user):
            return False
    return True


def _known_zero_lsbs(bits: list) -> int:
    """Low bits that are constant zero (shifted operands, also through registers)."""
    n = 0
    while n < len(bits) and bits[n] == ZERO:
        n += 1
    return n


def _extent(bits: list) -> int:
    """Bits below a sign or zero extension (what an adder really has to add); the bit
    identities see through registers, which store an extension as duplicate bits."""
    n = len(bits)
    while n > 1 and (bits[n - 1] == ZERO or bits[n - 1] == bits[n - 2]):
        n -= 1
    return n


def _stored(bits: list) -> bool:
    """Every bit is a flip-flop's, an input's or a constant."""
    return all(b[0] in ("ff", "in", "const") for b in bits)


def _lut_cost(op: Operation, need: dict, bits: dict, functions: dict | None = None, tables: bool = True) -> int:
    """Estimated 6-LUTs on a carry-chain FPGA: one per adder output bit that needs a full adder.
    `tables`: the module reads a lookup table somewhere (else no adder's operand is one)."""
    if type(op) not in _COSTED:
        return 0
    if functions and (cost := _bit_function_cost(op, functions)) is not None:
        return cost
    w = op.results[0].type.width.data if isinstance(op.results[0].type, IntegerType) else 1
    if is_ternary(op):
        # one LUT6_2 per bit of the chain (the lowering keeps pass-through low bits outside);
        # instantiated primitives stay as written, inferred ones lose the bits nobody reads
        # (Yosys removes a primitive whose output nobody reads, as it drops unread inferred bits)
        return min(w, need.get(op.results[0], 0).bit_length())
    if is_booth_primitive(op):
        # one LUT6 per bit the row reaches (its select and the sum's bit); above it the carry
        # chain carries the sum's bits alone
        row = bits.get(op._operands[1]) or [("op",)] * w
        return sum(1 for b in row[: need.get(op.results[0], 0).bit_length()] if b[0] != "const")
    if type(op) is comb.AddOp and any(_carries_booth_row(v) for v in op._operands):
        # a Booth row's select logic and the running sum share one LUT per bit, from the row's
        # first bit up (its bits below the sum's known zeros need their LUT too); a row plus a
        # constant (an unsigned operand's top row, never negated) is no adder: its select
        # logic goes into the next row's adder
        rest = [v for v in op._operands if not _carries_booth_row(v)]
        if all(b[0] == "const" for v in rest for b in bits[v]):
            return 0
        # an unsigned multiplier's top-bit row (a select) beside the top row: the carry chain's
        # DI takes it, so its bits need a LUT of their own about three times in four (Yosys)
        selects = sum(width_of(v.type) - _known_zero_lsbs(bits[v]) for v in rest if _partial_products(v))
        return min(w, need.get(op.results[0], 0).bit_length()) + (3 * selects + 3) // 4
    if type(op) in _SUMS:
        operands = [bits[v] for v in op._operands[:2]]
        if len({b for o in operands for b in o[:w] if b[0] != "const"}) <= 1:
            return 0  # one input bit: each output bit is it, its complement or a constant
        if _is_rounding(op):
            return _rounding_row(op, need, bits, w)  # a bare constant operand: a rounding step
        constant = [all(b[0] == "const" for b in o) for o in operands]
        if type(op) is comb.AddOp and any(o[0] != ZERO and all(b == ZERO for b in o[1:]) for o in operands):
            return 0  # a single bit added at the bottom: the carry chain's carry-in (Yosys alumacc)
        w = min(w, need.get(op.results[0], 0).bit_length())  # top bits nobody reads are not built
        if any(constant) and all(c or _stored(o) or _carries_sum_apart(v, o[:w]) for c, o, v
                                 in zip(constant, operands, op._operands)):
            # a constant (a bias) added to a register, an input or a sum Yosys keeps apart:
            # the carry chain alone in Yosys synth_xilinx (its S inputs take the bits as they are)
            return 0
        # a constant added to a sum Yosys merges with it: the carry-save row reads every bit,
        # the constant's low zeros too
        lhs, rhs = (0 if c else _known_zero_lsbs(o) for c, o in zip(constant, operands))
        extent = max(_extent(o) for o in operands)
        passed = 0
        if not any(constant) and not _in_macc(op, operands, w, need):
            # a bit where one operand is constant (above a zero-extended operand's top) puts the
            # other operand's bit on the carry chain's S as it is: no LUT
            # (a small table's bit there still needs its own LUT: it shares none with the adder)
            absorbed = [_absorbed_table(v) for v in op._operands[:2]] if tables else [False, False]
            passed = sum(1 for i in range(max(lhs, rhs), min(w, extent))
                         if (operands[0][i][0] == "const" and not absorbed[1])
                         or (operands[1][i][0] == "const" and not absorbed[0]))
        return (adder_luts(w, lhs, rhs, extent) - passed + _select_carry_inputs(op, operands, w)
                + (_wide_table_bits(op, operands, max(lhs, rhs), min(w, extent)) if tables else 0))
    if type(op) is comb.MuxOp:
        read = bin(need.get(op.result, 0)).count("1")
        zero_side = _is_zero(op.true_value)
        if zero_side and not _into_registers(op.result, (seq.CompRegOp, comb.MuxOp, comb.ICmpOp)):
            # a ReLU feeding adders: about a third of its bits need a LUT of their own (calibrated
            # on Yosys synth_xilinx: jsc, pruned, residual, conv2d); into a register it
            # becomes the flip-flop's synchronous reset, into a max pool's select it merges;
            # into the next quantizer's rounding step (a constant added) each bit the rounding
            # reads is one LUT, the select and that carry chain's propagate together (removing
            # the selects from the example's Verilog removes exactly that many Yosys LUTs);
            # an output port takes the bits as they are: each one read is a LUT (a cut of the
            # rearrange test model after its ReLU convolution: removing its 24 selects removes
            # 312 Yosys LUTs)
            into_port = any(type(u) is hw.OutputOp for u in _readers(op.result))
            return read if into_port or _into_rounding(op.result, bits) else (read + 1) // 3
        if _select_apart(op):
            return read
        if _partial_products(op.result):
            return _select_bits_out(op, need, bits)
        summed = (comb.AddOp, comb.SubOp, seq.CompRegOp)
        if _extremum(op) and not all(isinstance(u, summed) for u in _readers(op.result)):
            # a max / min that another comparison and select read (a max tree's inner node):
            # its bits are built in LUTs of their own (Yosys, a softmax's max over 8 logits)
            return read
        return 0 if _absorbed(op.result) else read
    if type(op) is hw.ArrayGetOp:
        if _absorbed_table(op.result):
            return 0  # each output bit and the adder's bit fit one 6-LUT: ABC merges them
        # a table module keeps every output bit (synthesized apart); a function in the top
        # module loses the bits nobody reads
        return _table_luts(op, -1 if table_is_module(op) else need.get(op.result, 0))
    if type(op) is comb.ICmpOp:
        if _sign_test(op):
            return 0  # x < 0 or x >= 0: the sign bit itself
        if any(type(v.owner) is hw.ConstantOp for v in (op.lhs, op.rhs)):
            return (op.lhs.type.width.data + 5) // 6  # against a constant: a small LUT tree
        # two values: the carry chain of their difference, one LUT per bit
        return op.lhs.type.width.data
    return 0


_SIGN_TESTS = (ICMP_COMPARISON_OPERATIONS.index("slt"), ICMP_COMPARISON_OPERATIONS.index("sge"))


def _sign_test(op: comb.ICmpOp) -> bool:
    """`op` compares a value with zero, signed, below or at-or-above (a saturation's lower
    bound when it is 0): Yosys reads the sign bit, no LUT (micro-design)."""
    return _is_zero(op.rhs) and op.predicate.value.data in _SIGN_TESTS


def _rounding_row(op: Operation, need: dict, bits: dict, w: int) -> int:
    """A rounding step's constant folds into the carry chain, except after a binary sum that
    only it reads when a wrap drops its top bits and the constant is not the carry-in: Yosys
    (alumacc) merges the two into one three-operand sum and builds a second adder row below
    the top bit read (micro-designs: one LUT per bit below it; with every top bit read, none)."""
    top = need.get(op.results[0], 0).bit_length()
    constants = [v.owner.value.value.data for v in op._operands if type(v.owner) is hw.ConstantOp]
    if (top >= w or type(op) is not comb.AddOp or len(op._operands) != 2 or len(constants) != 1
            or constants[0] & 1 or not constants[0]):
        return 0  # every top bit read, a negation, or the constant's bit 0 is the chain's carry-in
    (value,) = [v for v in op._operands if type(v.owner) is not hw.ConstantOp]
    sum_ = _source(value)
    if not (_binary_sum(sum_, bits) and len(_readers(sum_.results[0])) == 1):
        return 0
    if any(_binary_sum(_source(v), bits) for v in sum_._operands):
        return 0  # a sum of sums: Yosys builds the whole tree as one, the constant on its chain
    return top - 1


def _binary_sum(op: Operation | None, bits: dict) -> bool:
    """`op` is a two-operand add or sub of two variable values that synthesis builds itself."""
    return (type(op) in _SUMS and len(op._operands) == 2 and not _is_primitive(op)
            and not any(all(b[0] == "const" for b in bits[v]) for v in op._operands))


def _extremum(op: comb.MuxOp) -> bool:
    """`op` selects the larger or the smaller of the two values its condition compares."""
    cmp = op.cond.owner
    return (type(cmp) is comb.ICmpOp
            and {cmp.lhs, cmp.rhs} == {op.true_value, op.false_value})


def _wide_table_bits(op: Operation, operands: list[list], lo: int, hi: int) -> int:
    """Bits where a table read on more than six index bits, written in the top module, meets
    another operand's bit: the table's bit leaves its LUTs through a MUXF7/F8, so the sum's
    bit needs one LUT more (micro-designs: a 7-bit table plus an r-bit operand costs 2 LUTs
    per bit of r in Yosys, two 7-bit tables summed one LUT per bit; a table module's output
    is a plain signal)."""
    wide = [(t := _table_read(v)) is not None and width_of(t.index.type) > 6 and not table_is_module(t)
            for v in op._operands[:2]]
    if sum(wide) != 1:
        return 0  # two such tables: the adder's LUT takes both MUXF7 outputs (Yosys, micro-design)
    return sum(1 for i in range(lo, hi) if operands[0][i][0] != "const" and operands[1][i][0] != "const")


def _source(v: SSAValue) -> Operation | None:
    """The op whose bits `v` carries, through wiring, constant bits and sign extension."""
    owner = v.owner
    while type(owner) in _WIRES and len(owner._operands) == 1:
        v, owner = owner._operands[0], owner._operands[0].owner
    if type(owner) is comb.ConcatOp:  # constant bits, a sign extension
        sources = {_source(u) for u in owner._operands if type(u.owner) is not hw.ConstantOp}
        return sources.pop() if len(sources) == 1 else None
    return owner if isinstance(owner, Operation) else None


def _table_read(v: SSAValue) -> hw.ArrayGetOp | None:
    """The table read `v` is, through wiring and constant bits."""
    owner = _source(v)
    return owner if type(owner) is hw.ArrayGetOp else None


def _absorbed_table(v: SSAValue) -> bool:
    """`v` is, through wiring, a table read on fewer than six index bits that only binary
    adders read: each of its bits fits one 6-LUT with the adder's bit."""
    read = _table_read(v)
    return read is not None and width_of(read.index.type) < 6 and _into_adders(read.result)


def _into_adders(v: SSAValue) -> bool:
    """Every use of `v`, through wiring, is a binary adder's operand."""
    for use in v.uses:
        user = use.operation
        if type(user) in _WIRES:
            if not _into_adders(user.results[0]):
                return False
        elif not (type(user) in _SUMS and len(user._operands) == 2):
            return False
    return bool(v.uses)


def _merges(adder: Operation, read: list, need: dict) -> bool:
    """Yosys alumacc merges the inferred `adder` into the adder reading `read` (its bits there):
    the sum has one reader and is read whole, in place, at its own width."""
    if is_ternary(adder) or _is_primitive(adder) or type(adder) not in _SUMS:
        return False
    v = adder.results[0]
    if len(list(v.uses)) != 1:
        return False
    width = need.get(v, 0).bit_length()
    return len(read) == width and all(b[0] == "op" and b[1] == id(v) and b[2] == i for i, b in enumerate(read))


def _in_macc(op: Operation, operands: list[list], w: int, need: dict) -> bool:
    """`op` is part of a multi-operand sum Yosys builds as one macc (an operand merged into it,
    or it merged into its one reader)."""
    for v, o in zip(op._operands, operands, strict=False):
        if isinstance(v.owner, Operation) and _merges(v.owner, o[:w], need):
            return True
        for u in v.owner._operands if type(v.owner) in _WIRES else ():
            if type(u.owner) in _SUMS and _merges(u.owner, o[:w], need):
                return True
    (r,) = op.results
    users = [use.operation for use in r.uses]
    return len(users) == 1 and type(users[0]) in _SUMS and not is_ternary(users[0])


def is_ternary(op: Operation) -> bool:
    """A ternary adder (a `comb.add` marked `hgq.ternary` by lower-fx-to-hw)."""
    return type(op) is comb.AddOp and isinstance(op.attributes.get("hgq.ternary"), StringAttr)


def _into_rounding(v: SSAValue, bits: dict) -> bool:
    """Some use of `v`, through wiring, is an adder with an all-constant operand (the next
    quantizer's rounding step)."""
    for use in v.uses:
        user = use.operation
        if type(user) in _WIRES:
            if _into_rounding(user.results[0], bits):
                return True
        elif type(user) in _SUMS and any(
                all(b[0] == "const" for b in bits.get(x, [("op",)])) for x in user._operands):
            return True
    return False


def _carries_sum_apart(v: SSAValue, read: list) -> bool:
    """`v` carries, through wiring, constants, stored bits and carry chains' sums that Yosys does
    not merge with a constant added to `v`: instantiated primitives', and inferred sums whose `read`
    bits are shifted or extended or that other logic reads too. A sum only this adder reads,
    as the adder leaves it (each read bit at its own place, no extension bit), Yosys alumacc
    merges with the constant into a three-operand sum: a carry-save row and an adder."""
    sums, stack = set(), [v]
    while stack:
        owner = stack.pop().owner
        if type(owner) in _WIRES:
            stack.extend(owner._operands)
        elif type(owner) in _SUMS:
            sums.add(owner)
        elif type(owner) not in (hw.ConstantOp, seq.CompRegOp, Block):  # a register's or an input's bits
            return False
    for adder in sums:
        if _is_primitive(adder):
            continue
        own = [(i, b[2]) for i, b in enumerate(read) if b[0] == "op" and b[1] == id(adder.results[0])]
        alone = len(_readers(adder.results[0])) == 1
        if alone and all(i == k for i, k in own) and len({k for _, k in own}) == len(own):
            return False
    return bool(sums)


def _is_zero(v: SSAValue) -> bool:
    return type(v.owner) is hw.ConstantOp and v.owner.value.value.data == 0


def _is_rounding(op: Operation) -> bool:
    """A sum with a bare constant operand (a quantizer's rounding step, a bias): the carry
    chain alone, with no LUT of its own to take a select in."""
    return type(op) in _SUMS and any(type(x.owner) is hw.ConstantOp for x in op._operands)


def _select_apart(op: comb.MuxOp) -> bool:
    """A select of a value or zero (a reset to zero) that synthesis builds in LUTs of its own,
    one per bit: no adder takes it into its LUTs where two adders read it, or one adder in
    both operands (a constant multiple of it), or where a constant is added to it (the next
    quantizer's rounding; micro-designs, Yosys synth_xilinx). A multiplier's partial product
    is read by one adder operand, with another variable."""
    if not _is_zero(op.false_value):
        return False
    found, stack = set(), [op.result]
    while stack:
        for use in stack.pop().uses:
            user = use.operation
            if type(user) in _WIRES:
                stack.extend(user.results)
            elif type(user) in _SUMS:
                if _is_rounding(user):
                    return True
                found.add((user, use.index))
    return len(found) > 1


def _readers(v: SSAValue) -> set[Operation]:
    """The logic that reads `v`, through wiring."""
    found, stack = set(), [v]
    while stack:
        for use in stack.pop().uses:
            if type(use.operation) in _WIRES:
                stack.extend(use.operation.results)
            else:
                found.add(use.operation)
    return found


def _is_primitive(op: Operation) -> bool:
    """An adder written as LUT6(_2) and CARRY8 primitives (a ternary adder or a Booth row's):
    synthesis keeps it as it is."""
    return is_booth_primitive(op) or is_ternary(op) and op.attributes["hgq.ternary"].data == "primitive"


def is_booth_primitive(op: Operation) -> bool:
    """A Booth row's adder written as LUT6 and CARRY8 primitives (a `comb.add` marked
    `hgq.booth = "primitive"` by lower-fx-to-hw)."""
    return type(op) is comb.AddOp and op.attributes.get("hgq.booth") == StringAttr("primitive")


def is_booth_row(op: Operation) -> bool:
    """A Booth-recoded multiplier's row (a `comb.xor` marked `hgq.booth` by lower-fx-to-hw)."""
    return type(op) is comb.XorOp and "hgq.booth" in op.attributes


def _carries_booth_row(v: SSAValue) -> bool:
    owner = v.owner
    if type(owner) in _WIRES:
        return any(_carries_booth_row(u) for u in owner._operands)
    return isinstance(owner, Operation) and is_booth_row(owner)


def _partial_products(v: SSAValue) -> bool:
    """`v` carries, through wiring, only constants and bits of LUT-multiplier partial products
    (a `comb.mux` of a value and constant zero, the zero when the select bit is 0: a ReLU
    is the other way round)."""
    owner = v.owner
    if type(owner) is comb.MuxOp:
        return _is_zero(owner.false_value) and not _select_apart(owner)
    if type(owner) in _WIRES:
        return all(_partial_products(u) or type(u.owner) is hw.ConstantOp for u in owner._operands)
    return False


def _select_bits_out(op: comb.MuxOp, need: dict, bits: dict) -> int:
    """A partial product's bits that leave the multiplier as wiring (the low bits that pass
    the adders) into logic that cannot take the select into its own LUT (an output port, a
    table index): one LUT (an AND) each."""
    def of(v: SSAValue) -> list:  # bit_sources names the bits of the values wiring or adders read
        return bits.get(v) or [("op", id(v), i) for i in range(width_of(v.type))]

    own = {b for b in of(op.result) if b[0] == "op"}
    out: set = set()
    stack = [op.result]
    while stack:
        v = stack.pop()
        for use in v.uses:
            user = use.operation
            if type(user) in _WIRES:
                stack.append(user.results[0])
            elif type(user) not in (seq.CompRegOp, comb.AddOp, comb.SubOp, comb.MuxOp, comb.ICmpOp):
                mask = need.get(v, 0)
                out.update(b for i, b in enumerate(of(v)) if b in own and mask >> i & 1)
    return len(out)


def _select_carry_inputs(op: Operation, operands: list[list], w: int) -> int:
    """The carry chain's other input (DI, one operand's bit) where that operand is a partial
    product's select: one more LUT per distinct select bit where both operands are nonzero (the
    propagate LUT takes the select in, DI cannot). A sum of two selects pays it; a difference
    pays it when the minuend is a select; a sum of a select and a sum pays it half the time on
    average (Yosys alumacc picks DI by a hash of the operands when their widths tie).
    Measured with Yosys synth_xilinx on a-bit x b-bit products."""
    selects = [_partial_products(v) for v in op._operands[:2]]
    if not any(selects):
        return 0
    a, b = (o[:w] for o in operands)
    both = [i for i in range(min(len(a), len(b))) if a[i][0] != "const" and b[i][0] != "const"]
    distinct = [len({o[i] for i in both}) for o in (a, b)]
    if type(op) is comb.SubOp:
        return distinct[0] if selects[0] else 0
    if all(selects):
        return min(distinct)
    return distinct[selects.index(True)] // 2


def dsp_blocks(op: comb.MulOp, bits: dict) -> int:
    """DSP48E2 blocks of a `*` (27 x 18 signed each), by its operands' real widths (below
    their sign or zero extensions)."""
    wide, narrow = sorted((_extent(bits[v]) for v in op.inputs[:2]), reverse=True)
    return -(-wide // 27) * -(-narrow // 18)


def _table_luts(op: hw.ArrayGetOp, read: int) -> int:
    """A constant table (`tables.table_luts`: per output bit read, one 6-LUT per distinct
    non-constant 64-entry slice plus their selection)."""
    entries = [v.owner.value.value.data for v in reversed(op.input.owner._operands)]  # element 0 first
    return table_luts(entries, width_of(op.result.type), read)


PRUNE_FIELDS = {"layers": dict, "inputs_removed": int}
BASELINE_FIELDS = {"luts": int, "adders": int, "layers": dict}


PRUNE_LAYER_FIELDS = ("weights", "kept", "zero_bits", "zero_value", "dead_or_folded", "neurons_removed")


def _check_layers(data: dict, key: str, fields: tuple[str, ...]) -> None:
    from hgq_mlir.errors import UserError

    for name, entry in data.get("layers", {}).items():
        if not isinstance(entry, dict) or any(type(entry.get(f)) is not int for f in fields):
            raise UserError(f"{key}: layer '{printable(name)}' needs the integers {', '.join(fields)}")


def constant_outputs(top: hw.HWModuleOp, bits: dict[SSAValue, list]) -> bool:
    """Every output bit is a constant (or there is no output port): the RTL drives constants."""
    out = top.body.block.last_op
    return all(b[0] == "const" for v in (out._operands if out else ()) for b in bits.get(v, [("op",)]))


def resource_report(top: hw.HWModuleOp, interface: dict | None = None) -> dict:
    """The report of `top`; `interface` (its manifest: top name and latency) defaults to
    the one `backend.manifest` builds from the module."""
    if interface is None:
        from hgq_mlir.backend.manifest import Interface

        interface = Interface.of(top).manifest()
    per_layer: dict[str, dict[str, int]] = defaultdict(lambda: {"luts": 0, "ffs": 0, "srls": 0, "adders": 0})
    ops = list(top.body.block.ops)
    bits = bit_sources(top, ops)
    need = needed_bits(ops, bits)
    functions = bit_functions(ops, bits)
    tables = any(type(op) is hw.ArrayGetOp for op in ops)
    ffs, srls = flip_flops(ops, bits, need)
    # adder levels: the longest path over the level ops, each fed by the level ops whose
    # results reach its operands through wiring and other logic (registers end a stage's
    # paths). The ops are in program order, a topological order of the netlist, so the
    # longest path to each value is known when it is defined: `depth` holds it.
    depth: dict[SSAValue, int] = {}
    levels = 0
    for op in ops:
        kind = type(op)
        layer_attr = op.attributes.get("layer")
        layer = layer_attr.data if isinstance(layer_attr, StringAttr) else "(glue)"
        cost = _lut_cost(op, need, bits, functions, tables) if kind in _COSTED else 0
        is_adder = kind in _SUMS
        if cost or is_adder:
            per_layer[layer]["luts"] += cost
            per_layer[layer]["adders"] += int(is_adder)
        if kind is comb.AddOp and is_ternary(op):  # (the key only where there are some: binary-only reports keep their keys)
            per_layer[layer]["ternary_adders"] = per_layer[layer].get("ternary_adders", 0) + 1
        if kind is comb.MulOp:
            per_layer[layer]["dsps"] = per_layer[layer].get("dsps", 0) + dsp_blocks(op, bits)
        if kind is seq.CompRegOp:
            per_layer[layer]["ffs"] += ffs[op]
            per_layer[layer]["srls"] += srls[op]
            continue
        if kind is hw.ConstantOp or not op.results:
            continue
        reached = 0
        for v in op._operands:
            if (d := depth.get(v, 0)) > reached:
                reached = d
        if kind in _LEVELS:
            reached += 1
            levels = max(levels, reached)
        if reached:
            depth[op.results[0]] = reached
    total = {key: sum(d[key] for d in per_layer.values()) for key in ("luts", "ffs", "srls", "adders")}
    layers = {name: dict(v) for name, v in sorted(per_layer.items())}
    pruning = record(top, "hgq.prune", PRUNE_FIELDS) or {}
    baseline = record(top, "hgq.baseline", BASELINE_FIELDS) or {}
    _check_layers(pruning, "hgq.prune", PRUNE_LAYER_FIELDS)
    _check_layers(baseline, "hgq.baseline", ("luts", "adders"))
    for name, counts in pruning.get("layers", {}).items():
        layers.setdefault(name, {"luts": 0, "ffs": 0, "srls": 0, "adders": 0}).update(counts)
    for name, base in baseline.get("layers", {}).items():
        entry = layers.setdefault(name, {"luts": 0, "ffs": 0, "srls": 0, "adders": 0})
        entry["luts_unpruned"], entry["adders_unpruned"] = base["luts"], base["adders"]
    extra = {}
    if pruning:
        extra["inputs_removed"] = pruning["inputs_removed"]
    if baseline:
        extra["luts_unpruned"], extra["adders_unpruned"] = baseline["luts"], baseline["adders"]
    if constant_outputs(top, bits):
        extra["constant_outputs"] = True
    ternary = sum(d.get("ternary_adders", 0) for d in per_layer.values())
    if ternary:
        extra["ternary_adders"] = ternary
    return {
        "top": interface["top"],
        "luts": total["luts"],
        "ffs": total["ffs"],
        "srls": total["srls"],
        "dsps": sum(d.get("dsps", 0) for d in per_layer.values()),
        "adders": total["adders"],
        "latency": interface["latency"],
        "adder_levels": int(levels),
        **extra,
        "layers": layers,
    }


def format_table(report: dict) -> str:
    def row(name: str, d: dict) -> str:
        kept = f"{d['kept']}/{d['weights']}" if "weights" in d else ""
        before = str(d.get("luts_unpruned", ""))
        return f"{printable(name):<12} {d['adders']:>7} {d['luts']:>7} {d['ffs']:>6} {kept:>11} {before:>14}"

    head = f"{'layer':<12} {'adders':>7} {'LUTs':>7} {'FFs':>6} {'weights kept':>11} {'LUTs unpruned':>14}"
    lines = [head, "-" * len(head)] + [row(n, d) for n, d in report["layers"].items()]
    total = {k: report[k] for k in ("adders", "luts", "ffs")}
    if "luts_unpruned" in report:
        total["luts_unpruned"] = report["luts_unpruned"]
    lines.append(row("total", total))
    srls = f", {report['srls']} SRL16E (register chains)" if report.get("srls") else ""
    if report.get("ternary_adders"):
        lines.append(f"{report['ternary_adders']} of the {report['adders']} adders are ternary (a + b + c on one "
                     "carry chain, one LUT per bit)")
    lines.append(f"latency {report['latency']} cycles, {report['adder_levels']} adder levels, DSPs {report['dsps']}{srls}")
    if report.get("constant_outputs"):
        lines.append("every output is constant: the RTL drives constants (no logic)")
    return "\n".join(lines)
