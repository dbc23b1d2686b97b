"""`fx-pipeline`: registers so that no stage has more than `latency-cutoff` adder levels.

Every op gets a stage (initiation interval 1: a new input every cycle). Two valid
schedules are built, as soon as possible and as late as possible within the same
latency; the one with fewer register bits is kept (a value crossing k stage boundaries
costs k × its width, shared by all its users). Registers are `fx.reg` ops, one per
crossed boundary; every output is delayed to the common latency. The function records
`hgq.pipeline = {latency = N : i64, latency_cutoff = C : i64}`.

Adder levels: an add/sub/neg is one level (a ternary add3 too: one carry chain), as is a quantizer that rounds up or
saturates and a relu/max (a select); shifts, wiring-only quantizers and constants are free.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from hgq_mlir.backend.attrs import to_attr
from hgq_mlir.dialects import fx
from hgq_mlir.errors import UserError


def levels_of(op: Operation) -> int:
    if isinstance(op, fx.AddOp | fx.Add3Op | fx.SubOp | fx.NegOp | fx.ReluOp | fx.MaxOp | fx.MinOp | fx.LutOp):
        return 1
    if isinstance(op, fx.MulOp):  # a multiplier's adder tree (or a DSP block's pipeline)
        return max(min(op.lhs.type.width, op.rhs.type.width) - 1, 0).bit_length() + 1
    if isinstance(op, fx.QuantizeOp):
        t_in, t = op.input.type, op.result.type
        rounds_up = op.round.data != "TRN" and t_in.frac > t.frac
        return 1 if rounds_up or op.overflow.data != "WRAP" else 0
    return 0


@dataclass(frozen=True)
class FxPipeline(ModulePass):
    """Options: latency-cutoff (max adder levels per stage; < 0: no pipelining)."""

    name = "fx-pipeline"

    latency_cutoff: int = -1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.latency_cutoff < 0:
            return
        if self.latency_cutoff == 0:
            raise UserError("fx-pipeline: latency-cutoff=0 leaves no room for any adder (use >= 1, or < 0 for none)")
        for f in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            if any(isinstance(o, fx.RegOp) for o in f.body.ops):
                raise UserError(f"fx-pipeline: @{f.sym_name.data} is pipelined already")
            if any(isinstance(o, fx.OutputOp) for o in f.body.ops):
                new = _pipeline(f, self.latency_cutoff)
                op.body.block.insert_op_before(new, f)
                f.detach()
                f.erase(safe_erase=False)


def _asap(ops: list[Operation], cutoff: int) -> dict[Operation, tuple[int, int]]:
    """(stage, adder level inside the stage) for every op, as early as possible."""
    place: dict[Operation, tuple[int, int]] = {}
    for op in ops:
        d = levels_of(op)
        preds = [place[v.owner] for v in op.operands if isinstance(v.owner, Operation) and v.owner in place]
        stage = max((s for s, _ in preds), default=0)
        level = max((lv for s, lv in preds if s == stage), default=0) + d
        if level > cutoff:
            stage, level = stage + 1, d
        place[op] = (stage, level)
    return place


def _alap(ops: list[Operation], cutoff: int, latency: int) -> dict[Operation, tuple[int, int]]:
    """The mirror image: as late as possible, within `latency` (levels counted from the stage end)."""
    users: dict[Operation, list[Operation]] = {op: [] for op in ops}
    for op in ops:
        for v in op.operands:
            if isinstance(v.owner, Operation) and v.owner in users:
                users[v.owner].append(op)
    place: dict[Operation, tuple[int, int]] = {}
    for op in reversed(ops):
        if isinstance(op, fx.InputOp | fx.ConstOp):
            continue
        d = levels_of(op)
        succ = [place[u] for u in users[op] if u in place]
        if isinstance(op, fx.OutputOp) or not succ:
            place[op] = (latency, 0)
            continue
        stage = min(s for s, _ in succ)
        level = max((lv for s, lv in succ if s == stage), default=0) + d
        if level > cutoff:
            stage, level = stage - 1, d
        place[op] = (stage, level)
    out = {op: (s, 0) for op, (s, _) in place.items()}
    for op in ops:
        if isinstance(op, fx.InputOp | fx.ConstOp):
            out[op] = (0, 0)
    return out


def _register_bits(ops: list[Operation], stage: dict[Operation, int]) -> int:
    bits = 0
    for op in ops:
        if not op.results or isinstance(op, fx.ConstOp):
            continue
        last = max((stage[u.operation] for u in op.results[0].uses), default=stage[op])
        bits += max(last - stage[op], 0) * op.results[0].type.width
    return bits


def _pipeline(f: func.FuncOp, cutoff: int) -> func.FuncOp:
    ops = [op for op in f.body.ops if not isinstance(op, func.ReturnOp)]
    asap = _asap(ops, cutoff)
    latency = max((asap[op][0] for op in ops if isinstance(op, fx.OutputOp)), default=0)
    for op in ops:
        if isinstance(op, fx.OutputOp):
            asap[op] = (latency, asap[op][1])
    early = {op: s for op, (s, _) in asap.items()}
    late = {op: s for op, (s, _) in _alap(ops, cutoff, latency).items()}
    if min(late.values(), default=0) < 0:
        late = early  # cannot happen for a valid ASAP latency; keep the safe schedule
    stage = min((early, late), key=lambda st: _register_bits(ops, st))
    for op in ops:
        if isinstance(op, fx.ConstOp):
            stage[op] = 0

    block = Block()
    vmap: dict[SSAValue, SSAValue] = {}
    delayed: dict[tuple[SSAValue, int], SSAValue] = {}

    def at_stage(v: SSAValue, s: int) -> SSAValue:
        """`v` (mapped) as seen by an op in stage s: through registers if it was made earlier."""
        src = vmap[v]
        if isinstance(v.owner, fx.ConstOp):
            return src
        if isinstance(v.owner, fx.ShiftOp) and stage[v.owner] < s:
            # a shift is only a type: delay the shifted value (shared by every shift of it)
            key = (v, s)
            if key not in delayed:
                shift = fx.ShiftOp(at_stage(v.owner.input, s), v.owner.amount.data)
                block.add_op(shift)
                delayed[key] = shift.result
            return delayed[key]
        s0 = stage[v.owner]
        for k in range(s0 + 1, s + 1):
            key = (v, k)
            if key not in delayed:
                reg = fx.RegOp(src, k)
                block.add_op(reg)
                delayed[key] = reg.result
            src = delayed[key]
        return src

    for op in ops:
        s = stage[op]
        new = op.clone(value_mapper={v: at_stage(v, s) for v in op.operands})
        block.add_op(new)
        for a, b in zip(op.results, new.results, strict=True):
            vmap[a] = b
    block.add_op(func.ReturnOp())
    out = func.FuncOp(f.sym_name.data, ((), ()), Region(block))
    for key, attr in f.attributes.items():
        out.attributes[key] = attr
    out.attributes["hgq.pipeline"] = to_attr({"latency": latency, "latency_cutoff": cutoff})
    return out
