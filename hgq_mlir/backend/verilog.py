"""Verilog-2005 from `hw` / `comb` / `seq` (xDSL has no Verilog emitter).

One `wire` per comb op, constants inlined, flat packed ports; `seq.compreg`
becomes a `reg` written in one `always @(posedge clk)` block.
"""

from __future__ import annotations

import json

from xdsl.dialects import comb, hw, seq
from xdsl.dialects.builtin import IntegerType, ModuleOp
from xdsl.ir import SSAValue

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
    attr = top.attributes.get("hgq.interface")
    if attr is None:
        raise UserError(f"hw.module @{top.sym_name.data} has no hgq.interface manifest (made by lower-fx-to-hw)")
    return json.loads(attr.data)


def _width(v: SSAValue) -> int:
    t = v.type
    if isinstance(t, hw.ArrayType):
        return _width_of(t.get_element_type()) * len(t)
    return _width_of(t)


def _width_of(t) -> int:
    return t.width.data if isinstance(t, IntegerType) else 1


def _literal(value: int, width: int) -> str:
    return f"{width}'h{value & ((1 << width) - 1):x}"


def emit_verilog(top: hw.HWModuleOp, header: str = "") -> str:
    names: dict[SSAValue, str] = {}
    consts: dict[SSAValue, int] = {}
    port_decls = []
    arg_iter = iter(top.body.block.args)
    outputs = []
    for port in top.module_type.ports.data:
        name = port.port_name.data
        if port.dir.data == hw.Direction.INPUT:
            arg = next(arg_iter)
            names[arg] = name
            port_decls.append(f"input wire {_range(_width(arg))}{name}")
        else:
            outputs.append(name)
            w = port.type.width.data
            port_decls.append(f"output wire {_range(w)}{name}")

    lines: list[str] = []
    regs: list[str] = []
    strides: dict[SSAValue, int] = {}
    n = 0

    def ref(v: SSAValue) -> str:
        if v in consts:
            return _literal(consts[v], _width(v))
        return names[v]

    for op in top.body.block.ops:
        if isinstance(op, hw.ConstantOp):
            consts[op.result] = op.value.value.data
            continue
        if isinstance(op, hw.OutputOp):
            for name, v in zip(outputs, op.operands, strict=True):
                lines.append(f"  assign {name} = {ref(v)};")
            continue
        res = op.results[0]
        w = _width(res)
        if isinstance(op, comb.ExtractOp):
            low = op.low_bit.value.data
            src = op.input
            if src in consts:
                consts[res] = (consts[src] >> low) & ((1 << w) - 1)
                continue
            expr = f"{ref(src)}[{low}]" if w == 1 else f"{ref(src)}[{low + w - 1}:{low}]"
        elif isinstance(op, comb.ConcatOp):
            expr = "{" + ", ".join(ref(v) for v in op.inputs) + "}"
        elif isinstance(op, comb.ReplicateOp):
            expr = f"{{{w // _width(op.input)}{{{ref(op.input)}}}}}"
        elif isinstance(op, comb.AddOp):
            expr = " + ".join(ref(v) for v in op.inputs)
        elif isinstance(op, comb.SubOp):
            expr = f"{ref(op.lhs)} - {ref(op.rhs)}"
        elif isinstance(op, comb.ICmpOp):
            sym, signed = _ICMP[op.predicate.value.data]
            a, b = ref(op.lhs), ref(op.rhs)
            expr = f"$signed({a}) {sym} $signed({b})" if signed else f"{a} {sym} {b}"
        elif isinstance(op, comb.MuxOp):
            expr = f"{ref(op.cond)} ? {ref(op.true_value)} : {ref(op.false_value)}"
        elif isinstance(op, hw.ArrayCreateOp):
            # a constant table: one packed literal, element 0 in the low bits (CIRCT's layout),
            # each entry padded to a power-of-two stride: Yosys maps a part-select at a
            # non-power-of-two stride to a far larger mux (160 vs 40 LUTs for a 512x6 table)
            ew = _width(op.inputs[0])
            stride = 1 << (ew - 1).bit_length()
            if any(v not in consts for v in op.inputs):
                raise UserError("hw.array_create: the Verilog target emits constant arrays only")
            packed = 0
            for v in op.inputs:
                packed = (packed << stride) | (consts[v] & ((1 << ew) - 1))
            strides[res] = stride
            w = stride * len(op.inputs)
            expr = _literal(packed, w)
        elif isinstance(op, hw.ArrayGetOp):
            ew = _width(op.result)
            expr = f"{ref(op.input)}[{ref(op.index)} * {strides[op.input]} +: {ew}]"
        elif isinstance(op, seq.CompRegOp):
            name = f"_n{n}"
            n += 1
            names[res] = name
            lines.append(f"  reg {_range(w)}{name};")
            regs.append(f"    {name} <= {ref(op.input)};")
            continue
        else:
            raise UserError(f"{op.name}: the Verilog target cannot emit this op")
        name = f"_n{n}"
        n += 1
        names[res] = name
        lines.append(f"  wire {_range(w)}{name} = {expr};")
    if regs:
        clk = next(p.port_name.data for p in top.module_type.ports.data if p.port_name.data == "clk")
        lines.append(f"  always @(posedge {clk}) begin")
        lines.extend(regs)
        lines.append("  end")
    body = "\n".join(lines)
    return (
        f"{header}"
        "`timescale 1ns / 1ps\n"
        "/* verilator lint_off UNUSEDSIGNAL */  // bits dropped on purpose: wrap-around and rounding\n"
        f"module {top.sym_name.data} (\n  " + ",\n  ".join(port_decls) + "\n);\n"
        f"{body}\nendmodule\n"
        "/* verilator lint_on UNUSEDSIGNAL */\n"
    )


def _range(w: int) -> str:
    return f"[{w - 1}:0] " if w > 1 else ""
