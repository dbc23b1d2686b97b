"""Resource report from `hw`/`comb`/`seq`: LUTs, FFs, adders, adder levels, per layer."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
from xdsl.dialects import comb, hw, seq
from xdsl.dialects.builtin import IntegerType, StringAttr
from xdsl.ir import Operation, SSAValue

from hgq_mlir.cmvm.graph import adder_luts


_WIRES = (comb.ExtractOp, comb.ConcatOp, comb.ReplicateOp)


def _used_bits(v: SSAValue) -> int:
    """Bits of `v` that some user reads (synthesis drops register bits nobody reads)."""
    width = v.type.width.data
    used = [False] * width
    for use in v.uses:
        user = use.operation
        if isinstance(user, comb.ExtractOp):
            low = user.low_bit.value.data
            for b in range(low, low + user.result.type.width.data):
                used[b] = True
        elif isinstance(user, seq.CompRegOp):
            n = _used_bits(user.results[0]) if user.results[0].uses else 0
            for b in range(n):
                used[b] = True  # conservatively the low bits of the next register in the chain
            if n == width:
                return width
        else:
            return width
    return sum(used)


def _absorbed(v: SSAValue) -> bool:
    """Every use of `v` (through wiring) is logic that takes it into its own LUT: an adder
    (select, a, b -> propagate fits one LUT6) or a further select or comparison, or a
    register (Yosys maps a select of a constant onto the flip-flop's set/reset pin)."""
    for use in v.uses:
        user = use.operation
        if isinstance(user, _WIRES):
            if not _absorbed(user.results[0]):
                return False
        elif isinstance(user, seq.CompRegOp):
            continue  # a select of a constant becomes the register's synchronous set/reset
        elif not isinstance(user, comb.AddOp | comb.SubOp | comb.MuxOp | comb.ICmpOp):
            return False
    return True


def _known_zero_lsbs(v: SSAValue) -> int:
    """Low bits of `v` that are constant zero by construction (shifted operands)."""
    op = v.owner
    if isinstance(op, comb.ConcatOp):
        last = op.inputs[-1]
        if isinstance(last.owner, hw.ConstantOp) and last.owner.value.value.data == 0:
            return last.type.width.data + _known_zero_lsbs(op.inputs[-2]) if len(op.inputs) > 1 else last.type.width.data
        return _known_zero_lsbs(last)
    if isinstance(op, hw.ConstantOp):
        value, w = op.value.value.data, v.type.width.data
        value &= (1 << w) - 1
        return (value & -value).bit_length() - 1 if value else w
    return 0


def _extent(v: SSAValue) -> int:
    """Bits of `v` below its sign or zero extension (what an adder really has to add)."""
    op = v.owner
    if isinstance(op, comb.ConcatOp) and len(op.inputs) == 2:
        top, low = op.inputs
        ext = top.owner
        if isinstance(ext, comb.ReplicateOp):
            ext = ext.input.owner
        is_sign = isinstance(ext, comb.ExtractOp) and ext.input == low and ext.low_bit.value.data == low.type.width.data - 1
        is_zero = isinstance(ext, hw.ConstantOp) and ext.value.value.data == 0
        if is_sign or is_zero:
            return _extent(low)
    return v.type.width.data


def _lut_cost(op: Operation) -> int:
    """Estimated 6-LUTs on a carry-chain FPGA: one per adder output bit that needs a full adder."""
    if not op.results:
        return 0
    w = op.results[0].type.width.data if isinstance(op.results[0].type, IntegerType) else 1
    if isinstance(op, comb.AddOp | comb.SubOp):
        if any(isinstance(v.owner, hw.ConstantOp) for v in op.operands):
            return 0  # a constant operand folds into the carry chain
        lhs, rhs = (_known_zero_lsbs(v) for v in op.operands[:2])
        extent = max(_extent(v) for v in op.operands)
        return adder_luts(w, lhs, rhs, isinstance(op, comb.SubOp), extent)
    if isinstance(op, comb.MuxOp):
        # a select shares the LUT of the logic it feeds (measured with Yosys synth_xilinx)
        return 0 if _absorbed(op.result) else w
    if isinstance(op, hw.ArrayGetOp):
        return _table_luts(op)
    if isinstance(op, comb.ICmpOp):
        if any(isinstance(v.owner, hw.ConstantOp) for v in (op.lhs, op.rhs)):
            return (op.lhs.type.width.data + 5) // 6  # against a constant: a small LUT tree
        return (op.lhs.type.width.data + 1) // 2
    return 0


def _table_luts(op: hw.ArrayGetOp) -> int:
    """A constant table: each output bit that is not constant is a function of the index bits,
    one 6-LUT up to 6 inputs, doubling per extra input (F7/F8 muxes are free, wider muxes not)."""
    n = op.index.type.width.data
    w = _width_of(op.result.type)
    entries = [v.owner.value.value.data for v in op.input.owner.operands]
    varying = sum(1 for b in range(w) if len({(e >> b) & 1 for e in entries}) > 1)
    per_bit = 1 if n <= 6 else (1 << (n - 6)) + -(-max((1 << max(n - 8, 0)) - 1, 0) // 3)
    return varying * per_bit


def _width_of(t) -> int:
    return t.width.data if isinstance(t, IntegerType) else 1


def _json_attr(top: hw.HWModuleOp, key: str) -> dict:
    import json

    a = top.attributes.get(key)
    return json.loads(a.data) if isinstance(a, StringAttr) else {}


def resource_report(top: hw.HWModuleOp, interface: dict) -> dict:
    per_layer: dict[str, dict[str, int]] = defaultdict(lambda: {"luts": 0, "ffs": 0, "adders": 0})
    graph = nx.DiGraph()
    for op in top.body.block.ops:
        layer_attr = op.attributes.get("layer")
        layer = layer_attr.data if isinstance(layer_attr, StringAttr) else "(glue)"
        cost = _lut_cost(op)
        is_adder = isinstance(op, comb.AddOp | comb.SubOp)
        is_level = is_adder or isinstance(op, hw.ArrayGetOp)  # a table lookup is a logic level too
        if cost or is_adder:
            per_layer[layer]["luts"] += cost
            per_layer[layer]["adders"] += int(is_adder)
        if isinstance(op, seq.CompRegOp):
            per_layer[layer]["ffs"] += _used_bits(op.results[0])
        if is_level:
            for v in op.operands:
                graph.add_edge(v.owner, op, w=1)
        elif not isinstance(op, hw.ConstantOp | seq.CompRegOp):  # registers end a stage's paths
            for v in op.operands:
                if isinstance(v.owner, Operation):
                    graph.add_edge(v.owner, op, w=0)
    levels = nx.dag_longest_path_length(graph, weight="w") if graph.number_of_nodes() else 0
    total = {key: sum(d[key] for d in per_layer.values()) for key in ("luts", "ffs", "adders")}
    layers = {name: dict(v) for name, v in sorted(per_layer.items())}
    pruning = _json_attr(top, "hgq.prune")
    baseline = _json_attr(top, "hgq.baseline")
    for name, counts in pruning.get("layers", {}).items():
        layers.setdefault(name, {"luts": 0, "ffs": 0, "adders": 0}).update(counts)
    for name, base in baseline.get("layers", {}).items():
        entry = layers.setdefault(name, {"luts": 0, "ffs": 0, "adders": 0})
        entry["luts_unpruned"], entry["adders_unpruned"] = base["luts"], base["adders"]
    extra = {}
    if pruning:
        extra["inputs_removed"] = pruning["inputs_removed"]
    if baseline:
        extra["luts_unpruned"], extra["adders_unpruned"] = baseline["luts"], baseline["adders"]
    return {
        "top": interface["top"],
        "luts": total["luts"],
        "ffs": total["ffs"],
        "dsps": 0,
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
        return f"{name:<12} {d['adders']:>7} {d['luts']:>7} {d['ffs']:>6} {kept:>11} {before:>14}"

    head = f"{'layer':<12} {'adders':>7} {'LUTs':>7} {'FFs':>6} {'weights kept':>11} {'LUTs unpruned':>14}"
    lines = [head, "-" * len(head)] + [row(n, d) for n, d in report["layers"].items()]
    total = {k: report[k] for k in ("adders", "luts", "ffs")}
    if "luts_unpruned" in report:
        total["luts_unpruned"] = report["luts_unpruned"]
    lines.append(row("total", total))
    lines.append(f"latency {report['latency']} cycles, {report['adder_levels']} adder levels, DSPs 0")
    return "\n".join(lines)
