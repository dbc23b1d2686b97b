"""Resource report from `hw`/`comb`/`seq`: LUTs, FFs, adders, adder levels, per layer."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx
from xdsl.dialects import comb, hw, seq
from xdsl.dialects.builtin import IntegerType, StringAttr
from xdsl.ir import Operation, SSAValue

from hgq_mlir.cmvm.graph import adder_luts


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


def _lut_cost(op: Operation) -> int:
    """Estimated 6-LUTs on a carry-chain FPGA: one per adder output bit that needs a full adder."""
    if not op.results:
        return 0
    w = op.results[0].type.width.data if isinstance(op.results[0].type, IntegerType) else 1
    if isinstance(op, comb.AddOp | comb.SubOp):
        lhs, rhs = (_known_zero_lsbs(v) for v in op.operands[:2])
        return adder_luts(w, lhs, rhs, isinstance(op, comb.SubOp))
    if isinstance(op, comb.MuxOp):
        return w
    if isinstance(op, comb.ICmpOp):
        return (op.lhs.type.width.data + 1) // 2
    return 0


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
        if cost or is_adder:
            per_layer[layer]["luts"] += cost
            per_layer[layer]["adders"] += int(is_adder)
        if isinstance(op, seq.CompRegOp):
            per_layer[layer]["ffs"] += op.results[0].type.width.data
        if is_adder:
            for v in op.operands:
                graph.add_edge(v.owner, op, w=1)
        elif not isinstance(op, hw.ConstantOp):
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
