"""Lower `hgq` (tensors) to `fx` (scalar fixed-point dataflow), exactly.

Every element is tracked with its exact mantissa range, and every op gets the
narrowest type that holds it: nothing is ever truncated by accident.  Constant
weights never become values: each dense layer is a constant matrix, handed to a
CMVM solver (see `hgq_mlir.cmvm`) whose adder graph is materialized as fx ops.
The model's first quantizer (on the float input) becomes the RTL's input format.

Each hgq op kind has one lowering rule, `@lowering(Op)`, found by op class (`LOWERINGS`).
"""

from __future__ import annotations

import functools

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from hgq_mlir import progress
from hgq_mlir.cmvm import SOLVERS, AdderGraph, Term, build_graph
from hgq_mlir.cmvm.graph import node_ranges
from hgq_mlir.cmvm.cse import DEFAULT_DEPTH_SLACK
from hgq_mlir.dialects import fx, hgq
from hgq_mlir.dialects.arrays import attr_array
from hgq_mlir.errors import UserError
from hgq_mlir import fixed
from hgq_mlir.fixed import Ranges


@dataclass(frozen=True)
class Elem:
    """One live scalar: its fx value and its exact mantissa range at the value's frac."""

    value: SSAValue
    lo: int
    hi: int

    @property
    def frac(self) -> int:
        return self.value.type.frac

    @property
    def ranges(self) -> Ranges:
        return Ranges(self.frac, self.lo, self.hi)


Tensor = list  # list[Elem | None]: one scalar per element (None: the constant 0)
Lowering = Callable[["_Lowering", Operation, dict], None]
LOWERINGS: dict[type[Operation], Lowering] = {}


def lowering(*op_types: type[Operation]):
    """Register the lowering rule of `op_types`: rule(lowering, op, env) emits fx ops and sets
    env[result] (a Tensor, or a tagged tuple for model inputs and constants)."""

    def register(rule: Lowering) -> Lowering:
        for t in op_types:
            LOWERINGS[t] = rule
        return rule

    return register


@dataclass(frozen=True)
class LowerHgqToFx(ModulePass):
    """hgq -> fx. Options: `dense` = CMVM solver (cse, or csd: no sharing), `depth-slack` =
    adder levels a dense layer may add beyond its minimum, `max-width` = widest value allowed,
    `input-format=k,i,f` = the format every model input element arrives in (default: the
    smallest holding every quantizer that reads it), `ternary` = the CMVM's final sums use
    ternary adders (`fx.add3`) where they cost fewer LUTs."""

    name = "lower-hgq-to-fx"

    dense: Literal["cse", "csd"] = "cse"
    depth_slack: int = DEFAULT_DEPTH_SLACK
    max_width: int = 64
    input_format: tuple[int, ...] = ()
    ternary: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.dense not in SOLVERS:
            raise UserError(f"lower-hgq-to-fx: unknown dense={self.dense} (choose from {', '.join(SOLVERS)})")
        if self.depth_slack < 0:
            raise UserError(f"lower-hgq-to-fx: depth-slack={self.depth_slack} must be >= 0")

        fmt = tuple(self.input_format)
        if fmt and (len(fmt) != 3 or fmt[0] not in (0, 1) or sum(fmt) < 1):
            raise UserError(f"lower-hgq-to-fx: input-format={','.join(map(str, fmt))} must be k,i,f "
                            f"(k 0 or 1, width k+i+f at least 1)")

        def solver(w, ranges):
            return build_graph(w, ranges, self.dense, self.depth_slack, self.ternary)

        for model in [f for f in op.ops if isinstance(f, func.FuncOp)]:
            if any(isinstance(o, hgq.InputOp) for o in model.body.ops):
                new = _Lowering(solver, self.max_width, fmt or None).lower(model)
                op.body.block.insert_op_before(new, model)
                model.detach()
                model.erase(safe_erase=False)


@functools.lru_cache(maxsize=256)
def _layer_attr(name: str) -> StringAttr:
    """The `layer` attribute of a layer's ops, built once per layer."""
    return StringAttr(name)


class _Lowering:
    def __init__(self, solver: Callable[[np.ndarray, list[tuple[int, int]]], AdderGraph], max_width: int,
                 input_format: tuple[int, int, int] | None = None):
        self.solver = solver
        self.max_width = max_width
        self.input_format = input_format
        self.block = Block()
        self.layer: str | None = None
        self._shifted: dict[tuple[SSAValue, int], SSAValue] = {}
        self._ports: dict[tuple[str, int], PortElement] = {}
        self._port_values: dict[tuple[str, int], Elem] = {}

    # -- building -------------------------------------------------------------
    def emit(self, op: Operation, tag: bool = True) -> SSAValue:
        if tag and self.layer is not None:
            op.attributes["layer"] = _layer_attr(self.layer)
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

    def typed(self, op_type, operands: list[SSAValue], r: Ranges, *args) -> Elem:
        """Emit `op_type(*operands, *args, type)` with the narrowest type holding the exact range r."""
        t = fx.fixed_for_range(r.lo, r.hi, r.frac)
        return Elem(self.emit(op_type(*operands, *args, t)), r.lo, r.hi)

    def add(self, a: Elem, b: Elem, subtract: bool = False) -> Elem:
        if subtract:
            return self.typed(fx.SubOp, [a.value, b.value], fixed.sub(a.ranges, b.ranges))
        return self.typed(fx.AddOp, [a.value, b.value], fixed.add(a.ranges, b.ranges))

    def neg(self, e: Elem) -> Elem:
        return self.typed(fx.NegOp, [e.value], fixed.neg(e.ranges))

    # -- the model ------------------------------------------------------------
    def lower(self, model: func.FuncOp) -> func.FuncOp:
        env: dict[SSAValue, object] = {}
        self._ports = port_elements(model, self.input_format)
        names = [a.data for o in model.body.ops if isinstance(a := o.attributes.get("layer"), StringAttr)]
        numbers = {name: i for i, name in enumerate(dict.fromkeys(names), start=1)}
        for op in model.body.ops:
            layer = op.attributes.get("layer")
            self.layer = layer.data if isinstance(layer, StringAttr) else None
            if self.layer is not None:
                progress.layer(numbers[self.layer], len(numbers), self.layer)
            rule = LOWERINGS.get(type(op))
            if rule is None:
                raise UserError(f"{op.name}: no lowering to fx")
            rule(self, op, env)
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

    def read_input(self, port: str, index: np.ndarray, k, i, f, rnd: str, overflow: str) -> list[Elem | None]:
        """A quantizer on model input elements: each element's RTL port value, quantized in the
        circuit unless the port carries this quantizer's own format (it is then the format)."""
        out: list[Elem | None] = []
        for n, kk, ii, ff in zip(index.tolist(), k.tolist(), i.tolist(), f.tolist(), strict=True):
            element = self._ports.get((port, n))
            if element is None or kk + ii + ff <= 0:
                out.append(None)
                continue
            key = (port, n)
            if key not in self._port_values:
                lo, hi = element.type.mantissa_range(element.absorbed or "WRAP")
                self._port_values[key] = Elem(self.emit(fx.InputOp(port, n, element.type), tag=False), lo, hi)
            e = self._port_values[key]
            out.append(e if element.absorbed else self.quantize(e, kk, ii, ff, rnd, overflow))
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
        if fixed.quantizer_is_identity(e.ranges, k, i, f, overflow):
            return e  # already on the grid and in range: nothing to do
        r = fixed.quantized(e.ranges, k, i, f, rnd, overflow)
        if r.lo == r.hi == 0:
            return None
        t = fx.FixedType(k, max(i, -f), f)
        return Elem(self.emit(fx.QuantizeOp(e.value, rnd, overflow, t)), r.lo, r.hi)

    def relu(self, e: Elem | None) -> Elem | None:
        if e is None or e.hi <= 0:
            return None
        if e.lo >= 0:
            return e
        return self.typed(fx.ReluOp, [e.value], fixed.relu(e.ranges))

    def minimum(self, a: Elem | None, b: Elem | None) -> Elem | None:
        a = a if a is not None else self.const(0, 0)  # min: a zero side is a real 0
        b = b if b is not None else self.const(0, 0)
        r = fixed.minimum(a.ranges, b.ranges)
        if r.lo == r.hi == 0:
            return None
        return self.typed(fx.MinOp, [a.value, b.value], r)

    def maximum(self, xs: list[Elem | None]) -> Elem | None:
        """max over a window, as a balanced tree of fx.max (a zero element is the constant 0)."""
        items = [e for e in xs if e is not None]
        if len(items) < len(xs):
            items.append(self.const(0, 0) if any(e.lo < 0 for e in items) or not items else None)
            items = [e for e in items if e is not None]
        while len(items) > 1:
            nxt = [self.typed(fx.MaxOp, [a.value, b.value], fixed.maximum(a.ranges, b.ranges))
                   for a, b in zip(items[::2], items[1::2])]
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
                ys.append(self.neg(v))
            else:
                ys.append(v)
        return ys

    def materialize(self, graph: AdderGraph, inputs: list[Elem]) -> list[Elem]:
        """fx ops for the graph's adders, each typed by its exact range over the input box."""
        top = max(e.frac for e in inputs)
        node_lo, node_hi = node_ranges(graph, [e.lo << (top - e.frac) for e in inputs],
                                       [e.hi << (top - e.frac) for e in inputs])
        nodes = list(inputs)
        for k, (lhs, rhs, subtract) in enumerate(graph.adders):
            terms = graph.terms(k)
            xs = [self.shifted(nodes[t.node], t.shift) for t in terms]
            f = max(x.frac for x in xs)
            scale = 1 << (top - f)
            n = graph.n_in + k
            lo, hi = int(node_lo[n]) // scale, int(node_hi[n]) // scale
            rt = fx.fixed_for_range(lo, hi, f)
            if len(terms) == 3:  # a ternary adder
                op = fx.Add3Op(*(x.value for x in xs), tuple(term.negative for term in terms), rt)
            else:
                op = (fx.SubOp if subtract else fx.AddOp)(xs[0].value, xs[1].value, rt)
            nodes.append(Elem(self.emit(op), lo, hi))
        return nodes



@dataclass(frozen=True)
class PortElement:
    """The RTL format of one model input element. `absorbed` (an overflow mode) when every
    quantizer reading the element has this one format: the port carries its output, no logic;
    None when they differ: the port carries the smallest format holding every reader's grid
    (k, i, f each the max) and each reader is applied in the circuit."""

    type: fx.FixedType
    absorbed: str | None


def port_elements(model: func.FuncOp, input_format: tuple[int, int, int] | None = None) -> dict[tuple[str, int], PortElement]:
    """(port, element) -> its RTL format, from every quantizer that reads model input elements
    (directly or through gathers), or `input_format` for every element (which must hold each
    reader's grid). Elements no live quantizer reads are absent."""
    views: dict[SSAValue, tuple[str, np.ndarray]] = {}
    readers: dict[tuple[str, int], set[tuple[int, int, int, str]]] = {}
    for op in model.body.ops:
        if isinstance(op, hgq.InputOp):
            views[op.result] = (op.port.data, np.arange(op.result.type.get_shape()[0]))
        elif isinstance(op, hgq.GatherOp) and op.input in views:
            port, index = views[op.input]
            views[op.result] = (port, index[attr_array(op.index)])
        elif isinstance(op, hgq.QuantizeOp) and op.input in views:
            port, index = views[op.input]
            for n, k, i, f in zip(index.tolist(), *(a.tolist() for a in op.kif()), strict=True):
                if k + i + f <= 0:
                    continue
                reader = (k, max(i, -f), f, op.overflow.data)
                if input_format is not None and any(a < b for a, b in zip(input_format, reader[:3])):
                    layer = op.attributes.get("layer")
                    where = f" (layer '{layer.data}')" if layer is not None else ""
                    raise UserError(f"input-format={','.join(map(str, input_format))} cannot hold input '{port}' "
                                    f"element {n} as its quantizer{where} reads it: k,i,f = {k},{max(i, -f)},{f}")
                readers.setdefault((port, n), set()).add(reader)
    out = {}
    for key, formats in readers.items():
        if input_format is not None:
            out[key] = PortElement(fx.FixedType(*input_format), None)
        elif len(formats) == 1:
            k, i, f, overflow = next(iter(formats))
            out[key] = PortElement(fx.FixedType(k, i, f), overflow)
        else:
            k, i, f = (max(fmt[n] for fmt in formats) for n in range(3))
            out[key] = PortElement(fx.FixedType(k, i, f), None)
    return dict(sorted(out.items(), key=lambda kv: (kv[0][0], kv[0][1])))


# -- one lowering rule per hgq op ------------------------------------------------------------

@lowering(hgq.InputOp)
def lower_input(lw: _Lowering, op: hgq.InputOp, env: dict) -> None:
    env[op.result] = ("input", op.port.data, np.arange(op.result.type.get_shape()[0]))


@lowering(hgq.ConstOp)
def lower_const(lw: _Lowering, op: hgq.ConstOp, env: dict) -> None:
    env[op.result] = ("const", *op.values())


@lowering(hgq.QuantizeOp)
def lower_quantize(lw: _Lowering, op: hgq.QuantizeOp, env: dict) -> None:
    """On a model input: the RTL port's format; elsewhere one fx.quantize per element."""
    src = env[op.input]
    k, i, f = op.kif()
    if isinstance(src, tuple) and src[0] == "input":
        env[op.result] = lw.read_input(src[1], src[2], k, i, f, op.round.data, op.overflow.data)
    elif isinstance(src, list) or src[0] == "const":
        args = zip(lw.elems(src), k, i, f, strict=True)
        env[op.result] = [lw.quantize(e, *kif, op.round.data, op.overflow.data) for e, *kif in args]


def _weights(env: dict, op) -> tuple:
    """(mantissas, exponents) of the weights and of the bias (None without one)."""
    w = env[op.weights]
    b = env[op.bias] if op.bias is not None else None
    return w[1], w[2], b[1:] if b else None


@lowering(hgq.DenseOp)
def lower_dense(lw: _Lowering, op: hgq.DenseOp, env: dict) -> None:
    x = env[op.input]
    if isinstance(x, tuple) and x[0] == "input":
        raise UserError(f"layer '{lw.layer}': dense input must be quantized first (no input quantizer?)")
    # a constant input (canonicalization folded its quantizer) too
    env[op.result] = lw.dense(lw.elems(x), *_weights(env, op))


@lowering(hgq.ConvOp)
def lower_conv(lw: _Lowering, op: hgq.ConvOp, env: dict) -> None:
    env[op.result] = lw.conv(lw.elems(env[op.input]), attr_array(op.patches), *_weights(env, op))


@lowering(hgq.MaxPoolOp)
def lower_maxpool(lw: _Lowering, op: hgq.MaxPoolOp, env: dict) -> None:
    x = lw.elems(env[op.input])
    env[op.result] = [lw.maximum([x[i] for i in row if i >= 0]) for row in attr_array(op.windows)]


@lowering(hgq.ReluOp)
def lower_relu(lw: _Lowering, op: hgq.ReluOp, env: dict) -> None:
    env[op.result] = [lw.relu(e) for e in lw.elems(env[op.input])]


@lowering(hgq.ConcatOp)
def lower_concat(lw: _Lowering, op: hgq.ConcatOp, env: dict) -> None:
    env[op.result] = [e for v in op.inputs for e in lw.elems(env[v])]


@lowering(hgq.GatherOp)
def lower_gather(lw: _Lowering, op: hgq.GatherOp, env: dict) -> None:
    src, index = env[op.input], attr_array(op.index)
    if isinstance(src, tuple) and src[0] == "input":  # a view of model input elements
        env[op.result] = ("input", src[1], src[2][index])
        return
    x = lw.elems(src)
    env[op.result] = [x[i] for i in index.tolist()]


@lowering(hgq.LutOp)
def lower_lut(lw: _Lowering, op: hgq.LutOp, env: dict) -> None:
    x = lw.elems(env[op.input])
    env[op.result] = [lw.lut(e, *row) for e, *row in zip(x, *op.arrays(), strict=True)]


def _pairs(lw: _Lowering, op, env: dict):
    return zip(lw.elems(env[op.lhs]), lw.elems(env[op.rhs]), strict=True)


@lowering(hgq.AddOp)
def lower_add(lw: _Lowering, op: hgq.AddOp, env: dict) -> None:
    env[op.result] = [b if a is None else a if b is None else lw.add(a, b) for a, b in _pairs(lw, op, env)]


@lowering(hgq.SubOp)
def lower_sub(lw: _Lowering, op: hgq.SubOp, env: dict) -> None:
    env[op.result] = [a if b is None else lw.neg(b) if a is None else lw.add(a, b, subtract=True)
                      for a, b in _pairs(lw, op, env)]


@lowering(hgq.MaxOp)
def lower_max(lw: _Lowering, op: hgq.MaxOp, env: dict) -> None:
    env[op.result] = [lw.maximum([a, b]) for a, b in _pairs(lw, op, env)]


@lowering(hgq.MinOp)
def lower_min(lw: _Lowering, op: hgq.MinOp, env: dict) -> None:
    env[op.result] = [lw.minimum(a, b) for a, b in _pairs(lw, op, env)]


@lowering(hgq.MulOp)
def lower_mul(lw: _Lowering, op: hgq.MulOp, env: dict) -> None:
    out = []
    for a, b in _pairs(lw, op, env):
        r = None if a is None or b is None else fixed.mul(a.ranges, b.ranges)
        out.append(None if r is None or r.lo == r.hi == 0 else lw.typed(fx.MulOp, [a.value, b.value], r))
    env[op.result] = out


@lowering(hgq.OutputOp)
def lower_output(lw: _Lowering, op: hgq.OutputOp, env: dict) -> None:
    for index, e in enumerate(lw.elems(env[op.input])):
        if e is not None:
            lw.emit(fx.OutputOp(op.port.data, index, e.value), tag=False)


@lowering(func.ReturnOp)
def lower_return(lw: _Lowering, op: func.ReturnOp, env: dict) -> None:
    pass
