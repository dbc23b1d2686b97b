"""Benchmark the CMVM optimizer against da4ml 0.6.0, in one run, on the same matrices.

    pip install da4ml==0.6.0        # benchmark-only extra; the package never imports it
    python tools/bench_cmvm.py [--slack N] [--models] [--yosys]

Per case: adders, estimated LUTs, adder depth and optimizer wall time for both tools, and
the ratios ours/da4ml. LUTs are estimated for both graphs by the same rule (one LUT per
adder output bit that needs a full adder, exact widths from the input ranges), so the
comparison is of the graphs, not of two cost models; da4ml's own cost (adder_size=1,
its HGQ default) is printed too. `--yosys` also writes both graphs through hgq-opt's own
lowering and Verilog backend and synthesizes them with Yosys synth_xilinx, for real LUT
counts and the report estimate's error on the smaller random cases.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hgq_mlir.cmvm import AdderGraph, Term, estimate_luts, solve

CASES = [  # (n_in, n_out, weight bits, zero fraction)
    (16, 16, 8, 0.0),
    (16, 16, 4, 0.5),
    (32, 5, 6, 0.3),
    (16, 64, 4, 0.5),
    (16, 64, 8, 0.0),
    (64, 32, 8, 0.0),
    (64, 32, 5, 0.3),
    (32, 32, 6, 0.2),
    (32, 32, 4, 0.5),
]


YOSYS_WEIGHTS = 1024  # --yosys synthesizes the cases up to this many weights (a minute or two each)


def random_matrix(n_in, n_out, bits, zeros, seed):
    rng = np.random.default_rng(seed)
    top = 1 << (bits - 1)
    w = rng.integers(-top + 1, top, (n_in, n_out))
    return w * (rng.random((n_in, n_out)) >= zeros)


def da4ml_graph(w: np.ndarray, ranges):
    """Run da4ml and convert its (possibly two-stage) solution to our AdderGraph form."""
    from da4ml.cmvm import solve as da_solve

    qint = [(float(lo), float(hi), 1.0) for lo, hi in ranges]
    t = time.perf_counter()
    pipe = da_solve(w.astype(np.float32), qintervals=qint, adder_size=1, carry_size=-1)
    elapsed = time.perf_counter() - t
    n_in = w.shape[0]
    graph = AdderGraph(n_in)
    # da4ml's two-stage solutions pass through fractional values; offset every input by
    # 2^K so all shifts stay non-negative, and take the offset back off at the outputs
    K = 48
    feed = [Term(j, K) for j in range(n_in)]  # what each stage input is, in graph terms
    for sol in pipe.solutions:
        buf: list[Term | None] = []
        for op in sol.ops:
            if op.opcode == -1:  # a stage input, scaled by its shift
                t0 = feed[op.id0]
                buf.append(None if t0 is None else Term(t0.node, t0.shift + int(sol.inp_shifts[op.id0]), t0.negative))
            elif op.opcode in (0, 1):
                a, b = buf[op.id0], buf[op.id1]
                shift_b = b.shift + int(op.data)
                base = min(a.shift, shift_b)
                if base < 0:
                    raise RuntimeError("da4ml graph with fractional shifts: not comparable here")
                sub = (op.opcode == 1) != (a.negative != b.negative)
                lhs, rhs = (a, Term(b.node, shift_b)) if not a.negative or b.negative else (Term(b.node, shift_b), a)
                node = graph.add(Term(lhs.node, lhs.shift - base), Term(rhs.node, rhs.shift - base), sub)
                buf.append(Term(node, base, a.negative and (b.negative == (op.opcode == 0))))
            else:
                raise RuntimeError(f"unexpected da4ml opcode {op.opcode}")
        feed = []
        for i, idx in enumerate(sol.out_idxs):
            if idx < 0:
                feed.append(None)  # an all-zero column
                continue
            t0 = buf[idx]
            feed.append(Term(t0.node, t0.shift + int(sol.out_shifts[i]), t0.negative != bool(sol.out_negs[i])))
    outputs = []
    for t in feed:
        if t is None:
            outputs.append(None)
            continue
        if t.shift < K:
            raise RuntimeError("da4ml output with a fractional weight: not comparable here")
        outputs.append(Term(t.node, t.shift - K, t.negative))
    graph.outputs = outputs
    return graph, elapsed, pipe.cost


def run_case(w, ranges, slack):
    t = time.perf_counter()
    ours = solve(w, ranges, depth_slack=slack)
    ours_time = time.perf_counter() - t
    theirs, theirs_time, theirs_cost = da4ml_graph(w, ranges)
    x = np.random.default_rng(1).integers([lo for lo, _ in ranges], [hi + 1 for _, hi in ranges], (64, w.shape[0]))
    assert (ours.evaluate(x) == x @ w).all(), "our graph is wrong"
    exact = (theirs.evaluate(x) == x @ w).all()
    return {
        "ours": (ours.adders, ours.luts, ours.depth, ours_time),
        "da4ml": (theirs.n_adders, estimate_luts(theirs, ranges), theirs.depth, theirs_time),
        "da4ml_cost": theirs_cost,
        "da4ml_exact": bool(exact),
        "graphs": (ours.graph, theirs),
    }


def backend_verilog(w: np.ndarray, graph: AdderGraph, top: str) -> tuple[str, int]:
    """hgq-opt's own Verilog for x·W over 8-bit signed inputs, built from the given graph
    (ours or da4ml's: both go through the same lowering and backend), and the report's
    estimated LUTs for it."""
    from xdsl.context import Context
    from xdsl.dialects import builtin, comb, func, hw, seq
    from xdsl.parser import Parser
    from xdsl.transforms.common_subexpression_elimination import (
        CommonSubexpressionElimination,
    )
    from xdsl.transforms.dead_code_elimination import DeadCodeElimination

    from hgq_mlir.backend.report import resource_report
    from hgq_mlir.backend.verilog import emit_verilog, find_top, interface_of
    from hgq_mlir.dialects.fx import FX
    from hgq_mlir.dialects.hgq import HGQ
    from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw
    from hgq_mlir.passes.lower_hgq_to_fx import _Lowering

    n, m = w.shape
    rows = ", ".join("[" + ", ".join(str(int(v)) for v in row) + "]" for row in w)
    wide = int(np.abs(w).max()).bit_length() + 8 + max(n - 1, 1).bit_length()
    text = f"""func.func @{top}() {{
  %0 = hgq.input "inp" : tensor<{n}xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<{n}xi32>, i = dense<7> : tensor<{n}xi32>, f = dense<0> : tensor<{n}xi32> : tensor<{n}xf32> -> tensor<{n}x!hgq.fixed<1, 7, 0>>
  %2 = hgq.const mantissa = dense<[{rows}]> : tensor<{n}x{m}xi32>, exponent = dense<0> : tensor<{n}x{m}xi32> -> tensor<{n}x{m}x!hgq.fixed<1, 16, 0>>
  %3 = hgq.dense %1, %2 : tensor<{n}x!hgq.fixed<1, 7, 0>>, tensor<{n}x{m}x!hgq.fixed<1, 16, 0>> -> tensor<{m}x!hgq.fixed<1, {wide}, 0>>
  hgq.output "out" %3 : tensor<{m}x!hgq.fixed<1, {wide}, 0>>
  func.return
}}"""
    ctx = Context()
    for d in (builtin.Builtin, func.Func, HGQ, FX, hw.HW, comb.Comb, seq.Seq):
        ctx.load_dialect(d)
    module = Parser(ctx, text).parse_module()
    model = next(iter(module.ops))
    lowered = _Lowering(lambda _w, _ranges: graph, 64).lower(model)  # the graph given, not a solver's
    module.body.block.insert_op_before(lowered, model)
    model.detach()
    for step in (CommonSubexpressionElimination(), DeadCodeElimination(), LowerFxToHw()):
        step.apply(ctx, module)
    hw_top = find_top(module)
    return emit_verilog(hw_top), resource_report(hw_top, interface_of(hw_top))["luts"]


def yosys_luts(verilog: str, top: str) -> int | None:
    """LUTs after Yosys `synth_xilinx -family xcup` (None when yosys is not installed)."""
    if shutil.which("yosys") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path, stat = os.path.join(tmp, f"{top}.v"), os.path.join(tmp, "stat.txt")
        Path(path).write_text(verilog)
        subprocess.run(
            ["yosys", "-q", "-p",
             f"read_verilog {path}; synth_xilinx -family xcup -flatten -noiopad -top {top}; tee -q -o {stat} stat"],
            capture_output=True, text=True, timeout=1800, check=True,
        )
        lines = Path(stat).read_text().splitlines()
    return sum(int(line.split()[-1]) for line in lines if line.strip().startswith("LUT"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slack", type=int, default=None, help="our depth slack (default: match da4ml's depth)")
    ap.add_argument("--models", action="store_true", help="also the dense layers of examples/jsc.keras")
    ap.add_argument("--yosys", action="store_true",
                    help=f"synthesize both graphs (as hgq-opt's Verilog) of the cases with <= {YOSYS_WEIGHTS} weights")
    args = ap.parse_args()
    if args.yosys and shutil.which("yosys") is None:
        sys.exit("--yosys needs yosys on PATH (apt-get install yosys)")
    try:
        import da4ml
    except ImportError:
        sys.exit("da4ml is not installed: pip install da4ml==0.6.0 (benchmark-only)")

    cases = [(f"{i}x{o} {b}b {int(z * 100)}%0", random_matrix(i, o, b, z, seed=n), [(-128, 127)] * i)
             for n, (i, o, b, z) in enumerate(CASES)]
    if args.models:
        cases += model_cases(Path(__file__).resolve().parent.parent / "examples" / "jsc.keras")
    head = (f"{'case':<18} {'adders':>11} {'est. LUTs':>13} {'depth':>7} {'time s':>13} "
            f"{'LUT ratio':>9} {'time ratio':>10}  da4ml cost")
    print(head)
    print("-" * len(head))
    ratios, synthesized = [], []
    for name, w, ranges in cases:
        slack = args.slack
        if slack is None:  # find the largest slack whose depth does not exceed da4ml's
            r = run_case(w, ranges, 0)
            target = r["da4ml"][2]
            best = r
            for s in range(1, 6):
                cand = run_case(w, ranges, s)
                if cand["ours"][2] > target:
                    break
                if cand["ours"][1] <= best["ours"][1]:
                    best = cand
            r = best
        else:
            r = run_case(w, ranges, slack)
        (oa, ol, od, ot), (ta, tl, td, tt) = r["ours"], r["da4ml"]
        ratios.append((ol / tl, ot / tt, od <= td))
        flag = "" if r["da4ml_exact"] else " (da4ml graph inexact as read!)"
        print(f"{name:<18} {oa:>5}/{ta:<5} {ol:>6}/{tl:<6} {od:>3}/{td:<3} {ot:>6.2f}/{tt:<6.2f} "
              f"{ol / tl:>9.3f} {ot / tt:>10.2f}  {r['da4ml_cost']:.0f}{flag}")
        if args.yosys and w.size <= YOSYS_WEIGHTS and all(rg == (-128, 127) for rg in ranges):
            (vo, eo), (vt, et) = (backend_verilog(w, g, top) for g, top in zip(r["graphs"], ("ours", "theirs")))
            yo, yt = yosys_luts(vo, "ours"), yosys_luts(vt, "theirs")
            synthesized.append((yo / yt, eo / yo - 1, et / yt - 1))
            print(f"{'':<18} yosys LUTs (hgq-opt's Verilog for each graph): ours {yo}, da4ml {yt}, ratio {yo / yt:.3f}; "
                  f"report estimate vs yosys: ours {eo} ({eo / yo - 1:+.1%}), da4ml {et} ({et / yt - 1:+.1%})")
    lut = [a for a, _, _ in ratios]
    print(f"\nLUT ratio ours/da4ml: mean {np.mean(lut):.3f}, max {max(lut):.3f}; "
          f"depth <= da4ml's in {sum(d for *_, d in ratios)}/{len(ratios)} cases; "
          f"time ratio mean {np.mean([t for _, t, _ in ratios]):.2f}")
    if synthesized:
        print(f"Yosys LUT ratio ours/da4ml: mean {np.mean([s[0] for s in synthesized]):.3f}; report estimate vs Yosys "
              f"(ours): mean |error| {np.mean([abs(s[1]) for s in synthesized]):.1%}, "
              f"max {max(abs(s[1]) for s in synthesized):.1%}")


def model_cases(path: Path):
    """The dense layers of a trained model, as integer matrices with their input ranges."""
    from xdsl.context import Context

    from hgq_mlir.frontend.keras import import_model, load_keras
    from hgq_mlir.passes.tensor_model import Model
    from hgq_mlir.passes.prune import HgqPrune

    module = import_model(load_keras(path))
    HgqPrune().apply(Context(), module)
    f = next(iter(module.ops))
    model = Model.of(f)
    ranges = model.ranges()
    out = []
    for op, d in model.dense.items():
        x = ranges[op.input]
        live = [j for j in range(len(x)) if not (x.lo[j] == x.hi[j] == 0)]
        nz = d.wm[live] != 0
        if not nz.any():
            continue
        e_min = int(d.we[live][nz].min())
        w = np.where(nz, d.wm[live].astype(object) * (2 ** (d.we[live] - e_min).astype(object)), 0).astype(np.int64)
        top = int(x.frac[live].max())
        rng = [(int(x.lo[j]) << (top - int(x.frac[j])), int(x.hi[j]) << (top - int(x.frac[j]))) for j in live]
        out.append((f"{path.stem}:{op.attributes['layer'].data}", w, rng))
    return out


if __name__ == "__main__":
    main()
