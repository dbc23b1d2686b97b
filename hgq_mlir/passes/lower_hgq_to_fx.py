"""Lower `hgq` (tensors) to `fx` (scalar fixed-point dataflow), exactly.

Every element is tracked with its exact mantissa range, and every op gets the
narrowest type that holds it: nothing is ever truncated by accident.  Constant
weights never become values: each dense layer is a constant matrix, handed to a
CMVM solver (see `hgq_mlir.cmvm`) whose adder graph is materialized as fx ops.
The model's first quantizer (on the float input) becomes the RTL's input format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from hgq_mlir.cmvm import SOLVERS, AdderGraph, Term, build_graph
from hgq_mlir.cmvm.cse import DEFAULT_DEPTH_SLACK
from hgq_mlir.dialects import fx, hgq
from hgq_mlir.dialects.arrays import attr_array
from hgq_mlir.errors import UserError
from hgq_mlir.fixed import round_shift


@dataclass(frozen=True)
class Elem:
    """One live scalar: its fx value and its exact mantissa range at the value's frac."""

    value: SSAValue
    lo: int
    hi: int

    @property
    def frac(self) -> int:
        return self.value.type.frac


@dataclass(frozen=True)
class LowerHgqToFx(ModulePass):
    """hgq -> fx. Options: `dense` = CMVM solver (cse, or csd: no sharing), `depth-slack` =
    adder levels a dense layer may add beyond its minimum, `max-width` = widest value allowed."""

    name = "lower-hgq-to-fx"

    dense: str = "cse"
    depth_slack: int = DEFAULT_DEPTH_SLACK
    max_width: int = 64

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.dense not in SOLVERS:
            raise UserError(f"lower-hgq-to-fx: unknown dense={self.dense} (choose from {', '.join(SOLVERS)})")
        if self.depth_slack < 0:
            raise UserError(f"lower-hgq-to-fx: depth-slack={self.depth_slack} must be >= 0")

        def solver(w, ranges):
            return build_graph(w, ranges, self.dense, self.depth_slack)

        for model in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            if any(isinstance(o, hgq.InputOp) for o in model.body.ops):
                new = _Lowering(solver, self.max_width).lower(model)
                op.body.block.insert_op_before(new, model)
                model.detach()
                model.erase(safe_erase=False)


class _Lowering:
    def __init__(self, solver: Callable[[np.ndarray, list[tuple[int, int]]], AdderGraph], max_width: int):
        self.solver = solver
        self.max_width = max_width
        self.block = Block()
        self.layer: str | None = None
        self._shifted: dict[tuple[SSAValue, int], SSAValue] = {}
        self._inputs: dict[str, tuple] = {}

    # -- building -------------------------------------------------------------
    def emit(self, op: Operation, tag: bool = True) -> SSAValue:
        if tag and self.layer is not None:
            op.attributes["layer"] = StringAttr(self.layer)
        for r in op.results:
            if r.type.width > self.max_width:
                where = f"layer '{self.layer}'" if self.layer else op.name
                raise UserError(
                    f"{where}: an exact value needs {r.type.width} bits, more than max-width={self.max_width}"
                )
        self.block.add_op(op)
        return op.results[0] if op.results else None

    def shifted(self, e: Elem, amount: int) -> Elem:
        if amount == 0:
            return e
        key = (e.value, amount)
        if key not in self._shifted:
            self._shifted[key] = self.emit(fx.ShiftOp(e.value, amount), tag=False)
        return Elem(self._shifted[key], e.lo, e.hi)

    def const(self, mantissa: int, exponent: int) -> Elem:
        t = fx.fixed_for_range(mantissa, mantissa, -exponent)
        return Elem(self.emit(fx.ConstOp(mantissa, t), tag=False), mantissa, mantissa)

    def add(self, a: Elem, b: Elem, subtract: bool = False) -> Elem:
        f = max(a.frac, b.frac)
        alo, ahi = a.lo << (f - a.frac), a.hi << (f - a.frac)
        blo, bhi = b.lo << (f - b.frac), b.hi << (f - b.frac)
        lo, hi = (alo - bhi, ahi - blo) if subtract else (alo + blo, ahi + bhi)
        op = fx.SubOp if subtract else fx.AddOp
        return Elem(self.emit(op(a.value, b.value, fx.fixed_for_range(lo, hi, f))), lo, hi)

    # -- the model ------------------------------------------------------------
    def lower(self, model: func.FuncOp) -> func.FuncOp:
        env: dict[SSAValue, object] = {}
        for op in model.body.ops:
            layer = op.attributes.get("layer")
            self.layer = layer.data if isinstance(layer, StringAttr) else None
            if isinstance(op, hgq.InputOp):
                env[op.result] = ("input", op.port.data)
            elif isinstance(op, hgq.ConstOp):
                env[op.result] = ("const", *op.values())
            elif isinstance(op, hgq.QuantizeOp):
                src = env[op.input]
                k, i, f = op.kif()
                if isinstance(src, tuple) and src[0] == "input":
                    env[op.result] = self.lower_input(src[1], k, i, f, op.overflow.data)
                elif isinstance(src, list) or src[0] == "const":
                    args = zip(self.elems(src), k, i, f, strict=True)
                    env[op.result] = [self.quantize(e, *kif, op.round.data, op.overflow.data) for e, *kif in args]
            elif isinstance(op, hgq.DenseOp):
                x = env[op.input]
                if isinstance(x, tuple) and x[0] == "input":
                    raise UserError(f"layer '{self.layer}': dense input must be quantized first (no input quantizer?)")
                x = self.elems(x)  # a constant input (canonicalization folded its quantizer) too
                w = env[op.weights]
                b = env[op.bias] if op.bias is not None else None
                env[op.result] = self.dense(x, w[1], w[2], b[1:] if b else None)
            elif isinstance(op, hgq.ConvOp):
                w = env[op.weights]
                b = env[op.bias] if op.bias is not None else None
                env[op.result] = self.conv(self.elems(env[op.input]), attr_array(op.patches), w[1], w[2], b[1:] if b else None)
            elif isinstance(op, hgq.MaxPoolOp):
                x = self.elems(env[op.input])
                env[op.result] = [self.maximum([x[i] for i in row if i >= 0]) for row in attr_array(op.windows)]
            elif isinstance(op, hgq.ReluOp):
                env[op.result] = [self.relu(e) for e in self.elems(env[op.input])]
            elif isinstance(op, hgq.ConcatOp):
                env[op.result] = [e for v in op.inputs for e in self.elems(env[v])]
            elif isinstance(op, hgq.GatherOp):
                x = self.elems(env[op.input])
                env[op.result] = [x[i] for i in attr_array(op.index).tolist()]
            elif isinstance(op, hgq.LutOp):
                x = self.elems(env[op.input])
                env[op.result] = [self.lut(e, *row) for e, *row in zip(x, *op.arrays(), strict=True)]
            elif isinstance(op, hgq.ELEMENTWISE):
                pairs = zip(self.elems(env[op.lhs]), self.elems(env[op.rhs]), strict=True)
                env[op.result] = [self.elementwise(type(op), a, b) for a, b in pairs]
            elif isinstance(op, hgq.OutputOp):
                for index, e in enumerate(self.elems(env[op.input])):
                    if e is not None:
                        self.emit(fx.OutputOp(op.port.data, index, e.value), tag=False)
            elif isinstance(op, func.ReturnOp):
                pass
            else:
                raise UserError(f"{op.name}: no lowering to fx")
        self.block.add_op(func.ReturnOp())
        new = func.FuncOp(model.sym_name.data, ((), ()), Region(self.block))
        for key, attr in model.attributes.items():
            if key.startswith("hgq."):
                new.attributes[key] = attr  # pass statistics on, for the report
        return new

    def elems(self, tensor) -> list[Elem | None]:
        """A tensor as scalars: constant tensors become fx.const elements (None for zero)."""
        if isinstance(tensor, list):
            return tensor
        if tensor[0] != "const":
            raise UserError("a model input must go through a quantizer first")
        return [self.const(int(m), int(e)) if m else None for m, e in zip(tensor[1].ravel(), tensor[2].ravel(), strict=True)]

    def lower_input(self, port: str, k, i, f, overflow: str) -> list[Elem | None]:
        """The RTL input port: the elements in the format of the quantizer that reads them."""
        key = (k.tobytes(), i.tobytes(), f.tobytes(), overflow)
        if port in self._inputs:
            if self._inputs[port][0] != key:
                where = f" (layer '{self.layer}')" if self.layer else ""
                raise UserError(f"input '{port}' is read by quantizers of different formats{where}: "
                                f"an RTL port has one format (quantize it once, then branch)")
            return self._inputs[port][1]
        out: list[Elem | None] = []
        for index, (kk, ii, ff) in enumerate(zip(k.tolist(), i.tolist(), f.tolist(), strict=True)):
            if kk + ii + ff <= 0:
                out.append(None)
                continue
            t = fx.FixedType(kk, max(ii, -ff), ff)
            lo, hi = _format_range(t, overflow)
            out.append(Elem(self.emit(fx.InputOp(port, index, t), tag=False), lo, hi))
        self._inputs[port] = (key, out)
        return out

    def lut(self, e: Elem | None, in_lo: int, in_frac: int, out_frac: int, table: np.ndarray) -> Elem | None:
        """One element's table, keyed by the mantissas its input can take (a constant if one value)."""
        if e is None:
            lo = hi = d = 0
        else:
            lo, hi, d = e.lo, e.hi, int(in_frac) - e.frac
        keys = np.arange(lo, hi + 1, dtype=np.int64)
        keys = keys << d if d >= 0 else keys >> -d
        values = table[np.clip(keys - int(in_lo), 0, table.size - 1)]
        f = int(out_frac)
        while values.any() and not (values & 1).any():  # trailing zero bits cost nothing: drop them
            values, f = values >> 1, f - 1
        vlo, vhi = int(values.min()), int(values.max())
        if vlo == vhi:
            return None if vlo == 0 else self.const(vlo, -f)
        return Elem(self.emit(fx.LutOp(e.value, lo, values, fx.fixed_for_range(vlo, vhi, f))), vlo, vhi)

    def quantize(self, e: Elem | None, k: int, i: int, f: int, rnd: str, overflow: str) -> Elem | None:
        k, i, f = int(k), int(i), int(f)
        if e is None or k + i + f <= 0:
            return None
        t = fx.FixedType(int(k), int(max(i, -f)), int(f))
        tlo, thi = _format_range(t, overflow)
        if e.frac <= f:
            lo, hi = e.lo << (f - e.frac), e.hi << (f - e.frac)
        else:
            d = np.array([e.frac - f], dtype=np.int64)
            lo, hi = (int(round_shift(np.array([v], dtype=object), d, rnd)[0]) for v in (e.lo, e.hi))
        if tlo <= lo and hi <= thi:
            if e.frac <= f:
                return e  # already on the grid and in range: nothing to do
        elif overflow == "WRAP":
            lo, hi = tlo, thi
        else:
            lo, hi = min(max(lo, tlo), thi), min(max(hi, tlo), thi)
        if lo == hi == 0:
            return None
        return Elem(self.emit(fx.QuantizeOp(e.value, rnd, overflow, t)), lo, hi)

    def relu(self, e: Elem | None) -> Elem | None:
        if e is None or e.hi <= 0:
            return None
        if e.lo >= 0:
            return e
        return Elem(self.emit(fx.ReluOp(e.value, fx.fixed_for_range(0, e.hi, e.frac))), 0, e.hi)

    def elementwise(self, kind, a: Elem | None, b: Elem | None) -> Elem | None:
        if kind is hgq.AddOp:
            return b if a is None else a if b is None else self.add(a, b)
        if kind is hgq.SubOp:
            if b is None:
                return a
            if a is None:
                return Elem(self.emit(fx.NegOp(b.value, fx.fixed_for_range(-b.hi, -b.lo, b.frac))), -b.hi, -b.lo)
            return self.add(a, b, subtract=True)
        if kind is hgq.MaxOp:
            return self.maximum([a, b])
        a = a if a is not None else self.const(0, 0)  # min: a zero side is a real 0
        b = b if b is not None else self.const(0, 0)
        f = max(a.frac, b.frac)
        lo = min(a.lo << (f - a.frac), b.lo << (f - b.frac))
        hi = min(a.hi << (f - a.frac), b.hi << (f - b.frac))
        if lo == hi == 0:
            return None
        return Elem(self.emit(fx.MinOp(a.value, b.value, fx.fixed_for_range(lo, hi, f))), lo, hi)

    def maximum(self, xs: list[Elem | None]) -> Elem | None:
        """max over a window, as a balanced tree of fx.max (a zero element is the constant 0)."""
        items = [e for e in xs if e is not None]
        if len(items) < len(xs):
            items.append(self.const(0, 0) if any(e.lo < 0 for e in items) or not items else None)
            items = [e for e in items if e is not None]
        while len(items) > 1:
            nxt = []
            for a, b in zip(items[::2], items[1::2]):
                f = max(a.frac, b.frac)
                lo = max(a.lo << (f - a.frac), b.lo << (f - b.frac))
                hi = max(a.hi << (f - a.frac), b.hi << (f - b.frac))
                nxt.append(Elem(self.emit(fx.MaxOp(a.value, b.value, fx.fixed_for_range(lo, hi, f))), lo, hi))
            if len(items) % 2:
                nxt.append(items[-1])
            items = nxt
        if not items or items[0].lo == items[0].hi == 0:
            return None
        return items[0]

    def conv(self, x: list[Elem | None], patches: np.ndarray, wm: np.ndarray, we: np.ndarray, bias) -> list[Elem | None]:
        """The kernel's adder graph at every position; one graph per pattern of live inputs."""
        graphs: dict[bytes, object] = {}
        out: list[Elem | None] = []
        for row in patches:
            xs = [x[i] if i >= 0 else None for i in row]
            out.extend(self.dense(xs, wm, we, bias, graphs))
        return out

    def dense(self, x: list[Elem | None], wm: np.ndarray, we: np.ndarray, bias, cache: dict | None = None) -> list[Elem | None]:
        live = [j for j, e in enumerate(x) if e is not None]
        wm, we = wm[live], we[live]
        nz = wm != 0
        n_out = wm.shape[1]
        outputs: list[Term | None] = [None] * n_out
        nodes: list[Elem] = []
        if nz.any():
            e_min = int(we[nz].min())
            w_int = np.where(nz, wm.astype(object) * (2 ** (we - e_min).astype(object)), 0)
            xs = [x[j] for j in live]
            top = max(e.frac for e in xs)
            key = np.array(live).tobytes()
            if cache is not None and key in cache:
                graph = cache[key]  # the same kernel rows: reuse the solution (conv positions)
            else:
                graph = self.solver(w_int, [(e.lo << (top - e.frac), e.hi << (top - e.frac)) for e in xs])
                if cache is not None:
                    cache[key] = graph
            nodes = self.materialize(graph, xs)
            outputs = [None if t is None else Term(t.node, t.shift + e_min, t.negative) for t in graph.outputs]
        ys: list[Elem | None] = []
        for col, t in enumerate(outputs):
            b = None
            if bias is not None and bias[0][col] != 0:
                b = self.const(int(bias[0][col]), int(bias[1][col]))
            if t is None:
                ys.append(b)
                continue
            v = self.shifted(nodes[t.node], t.shift)
            if b is not None:
                ys.append(self.add(b, v, subtract=True) if t.negative else self.add(v, b))
            elif t.negative:
                ys.append(Elem(self.emit(fx.NegOp(v.value, fx.fixed_for_range(-v.hi, -v.lo, v.frac))), -v.hi, -v.lo))
            else:
                ys.append(v)
        return ys

    def materialize(self, graph: AdderGraph, inputs: list[Elem]) -> list[Elem]:
        """fx ops for the graph's adders, each typed by its exact range over the input box."""
        coef = graph.coefficients()
        top = max(e.frac for e in inputs)
        lo_in = np.array([e.lo << (top - e.frac) for e in inputs], dtype=object)
        hi_in = np.array([e.hi << (top - e.frac) for e in inputs], dtype=object)
        a, b = coef * lo_in, coef * hi_in
        node_lo = np.minimum(a, b).sum(axis=1)
        node_hi = np.maximum(a, b).sum(axis=1)
        nodes = list(inputs)
        for k, (lhs, rhs, subtract) in enumerate(graph.adders):
            l, r = self.shifted(nodes[lhs.node], lhs.shift), self.shifted(nodes[rhs.node], rhs.shift)
            f = max(l.frac, r.frac)
            scale = 1 << (top - f)
            n = graph.n_in + k
            lo, hi = int(node_lo[n]) // scale, int(node_hi[n]) // scale
            op = fx.SubOp if subtract else fx.AddOp
            nodes.append(Elem(self.emit(op(l.value, r.value, fx.fixed_for_range(lo, hi, f))), lo, hi))
        return nodes


def _format_range(t: fx.FixedType, overflow: str) -> tuple[int, int]:
    lo, hi = t.mantissa_range()
    if overflow == "SAT_SYM" and t.signed:
        lo = -hi
    return lo, hi
