"""Benchmark the CMVM optimizer against alkaid 0.8.2, in one run, on the same matrices.

    pip install 'hgq-mlir[bench]'    # alkaid==0.8.2: benchmark-only; the package never imports it
    python tools/bench_cmvm.py [--slack N] [--models] [--yosys] [--max-weights N] [--binary]

Per case: adders (of them ternary), estimated LUTs, adder depth and optimizer wall time, ours
(ternary adders planned, as `hgq-standard` compiles: CMVM, then fx-fuse-ternary) and
alkaid's (its own C++ solver, `alkaid.cmvm.cmvm_solve`, then its own ternary fusion and LUT
estimate, `fuse_ternary_adders` + `add_surrogate`: what `alkaid convert` does). alkaid's
estimate is printed with and without its ternary adders; depth counts adder levels (a
ternary adder is one). `--yosys` also writes our graph through hgq-opt's own lowering and
Verilog backend (ternary=primitive: LUT6_2 + CARRY8) and synthesizes it with Yosys
`synth_xilinx -family xcup`, for real LUT counts, our report estimate's error, and the ratio
the targets are stated in: our Yosys LUTs / alkaid's ternary estimate. `--binary` runs
ours without ternary adders (the binary-only compiler).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tests_modules  # tools/tests_modules.py: tests/<name>.py by path

from hgq_mlir.cmvm import AdderGraph, solve

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


YOSYS_WEIGHTS = 1024  # --yosys synthesizes the cases up to this many weights by default


def random_matrix(n_in, n_out, bits, zeros, seed):
    rng = np.random.default_rng(seed)
    top = 1 << (bits - 1)
    w = rng.integers(-top + 1, top, (n_in, n_out))
    return w * (rng.random((n_in, n_out)) >= zeros)


def _alkaid_stats(stages) -> tuple[int, int, int, float]:
    """(adders, ternary adders, depth in adder levels, estimated LUTs) of alkaid's stages."""
    adders = ternary = 0
    cost = 0.0
    feed = None  # each stage input's depth: the previous stage's outputs
    for c in stages:
        used = [False] * len(c.ops)
        for i in c.out_idxs:
            if i >= 0:
                used[i] = True
        for k in range(len(c.ops) - 1, -1, -1):
            if used[k]:
                for a in c.ops[k].addr:
                    used[a] = True
        depth = [0] * len(c.ops)
        for k, op in enumerate(c.ops):
            if op.opcode == -1:
                depth[k] = feed[op.data[0]] if feed is not None else 0
            elif op.addr:
                depth[k] = max(depth[a] for a in op.addr) + (1 if op.opcode in (0, 1, 11) else 0)
            if used[k] and op.opcode in (0, 1, 11):
                adders += 1
                ternary += op.opcode == 11
        feed = [depth[i] if i >= 0 else 0 for i in c.out_idxs]
        cost += c.cost
    return adders, ternary, max(feed, default=0), cost


def alkaid_solve(w: np.ndarray, ranges):
    """alkaid's solution of x·W, as `alkaid convert` builds it: (with ternary adders, without), each
    (adders, ternary, depth, estimated LUTs), and the solver's wall time."""
    from alkaid.cmvm import cmvm_solve
    from alkaid.trace.passes import dead_code_elimin, fuse_ternary_adders
    from alkaid.trace.passes.surrogate import add_surrogate

    qint = [(float(lo), float(hi), 1.0) for lo, hi in ranges]
    t = time.perf_counter()
    stages = cmvm_solve(np.ascontiguousarray(w.astype(np.float32)), qintervals=qint)
    elapsed = time.perf_counter() - t
    binary = [add_surrogate(c) for c in stages]
    ternary = [add_surrogate(dead_code_elimin(fuse_ternary_adders(c)), _skip_op8_cost=True) for c in stages]
    return _alkaid_stats(ternary), _alkaid_stats(binary), elapsed


def run_case(w, ranges, slack, ternary=True):
    t = time.perf_counter()
    ours = solve(w, ranges, depth_slack=slack, ternary=ternary)
    ours_time = time.perf_counter() - t
    x = np.random.default_rng(1).integers([lo for lo, _ in ranges], [hi + 1 for _, hi in ranges], (64, w.shape[0]))
    assert (ours.evaluate(x) == x @ w).all(), "our graph is wrong"
    return {"ours": (ours.adders, ours.ternary, ours.luts, ours.depth, ours_time), "graph": ours.graph}


def backend_verilog(w: np.ndarray, graph: AdderGraph, top: str, ranges, ternary: bool = True) -> tuple[str, dict]:
    """hgq-opt's own Verilog for x·W over inputs in `ranges`, built from the given graph (the
    lowering, then fx-fuse-ternary, CSE, DCE and lower-fx-to-hw, as hgq-standard runs them),
    and the report for it."""
    from xdsl.context import Context
    from xdsl.dialects import builtin, comb, func, hw, seq
    from xdsl.parser import Parser
    from xdsl.transforms.common_subexpression_elimination import (
        CommonSubexpressionElimination,
    )
    from xdsl.transforms.dead_code_elimination import DeadCodeElimination

    from hgq_mlir.backend.manifest import Interface
    from hgq_mlir.backend.report import resource_report
    from hgq_mlir.backend.verilog import emit_verilog, find_top
    from hgq_mlir.dialects.fx import FX
    from hgq_mlir.dialects.hgq import HGQ
    from hgq_mlir.fixed import format_of_range
    from hgq_mlir.passes.fuse_ternary import FxFuseTernary
    from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw
    from hgq_mlir.passes.lower_hgq_to_fx import _Lowering

    n, m = w.shape
    kif = [format_of_range(lo, hi, 0) for lo, hi in ranges]
    k, i = (", ".join(str(f[a]) for f in kif) for a in (0, 1))
    rows = ", ".join("[" + ", ".join(str(int(v)) for v in row) + "]" for row in w)
    bound = sum(max(abs(lo), abs(hi)) * int(np.abs(w[j]).max()) for j, (lo, hi) in enumerate(ranges))
    wide = int(bound).bit_length() + 1
    text = f"""func.func @{top}() {{
  %0 = hgq.input "inp" : tensor<{n}xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<[{k}]> : tensor<{n}xi32>, i = dense<[{i}]> : tensor<{n}xi32>, f = dense<0> : tensor<{n}xi32> : tensor<{n}xf32> -> tensor<{n}x!hgq.fixed<1, 15, 0>>
  %2 = hgq.const mantissa = dense<[{rows}]> : tensor<{n}x{m}xi32>, exponent = dense<0> : tensor<{n}x{m}xi32> -> tensor<{n}x{m}x!hgq.fixed<1, 16, 0>>
  %3 = hgq.dense %1, %2 : tensor<{n}x!hgq.fixed<1, 15, 0>>, tensor<{n}x{m}x!hgq.fixed<1, 16, 0>> -> tensor<{m}x!hgq.fixed<1, {wide}, 0>>
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
    steps = [CommonSubexpressionElimination(), DeadCodeElimination()]
    steps += [FxFuseTernary(), LowerFxToHw(ternary="primitive")] if ternary else [LowerFxToHw(ternary="off")]
    for step in steps:
        step.apply(ctx, module)
    hw_top = find_top(module)
    interface = Interface.of(hw_top)
    return emit_verilog(hw_top, "", interface), resource_report(hw_top, interface.manifest())


def yosys_luts(verilog: str, top: str) -> int | None:
    """LUTs after Yosys `synth_xilinx -family xcup` (tests_support.yosys_cells; LUT6_2 counts as
    one; None without yosys)."""
    if shutil.which("yosys") is None:
        return None
    support = tests_modules.load("tests_support")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{top}.v"
        path.write_text(verilog)
        return support.lut_count(support.yosys_cells(path, top))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slack", type=int, default=None, help="our depth slack (default: the largest within alkaid's depth)")
    ap.add_argument("--models", action="store_true", help="also the dense layers of examples/jsc.keras")
    ap.add_argument("--yosys", action="store_true", help="synthesize our graphs (hgq-opt's Verilog) with Yosys")
    ap.add_argument("--max-weights", type=int, default=YOSYS_WEIGHTS,
                    help=f"--yosys synthesizes the cases with at most this many weights (default {YOSYS_WEIGHTS})")
    ap.add_argument("--binary", action="store_true", help="ours without ternary adders")
    ap.add_argument("--only", default="", help="run only the cases whose name contains this text")
    args = ap.parse_args()
    if args.yosys and shutil.which("yosys") is None:
        sys.exit("--yosys needs yosys on PATH (apt-get install yosys)")
    try:
        import alkaid  # noqa: F401
    except ImportError:
        sys.exit("alkaid is not installed: pip install 'hgq-mlir[bench]' (alkaid==0.8.2, benchmark-only)")
    ternary = not args.binary

    cases = [(f"{i}x{o} {b}b {int(z * 100)}%0", random_matrix(i, o, b, z, seed=n), [(-128, 127)] * i)
             for n, (i, o, b, z) in enumerate(CASES)]
    if args.models:
        cases += model_cases(Path(__file__).resolve().parent.parent / "examples" / "jsc.keras")
    cases = [c for c in cases if args.only in c[0]]
    head = (f"{'case':<17} {'adders (tern.)':>19} {'est. LUTs':>13} {'alkaid bin.':>11} {'depth':>7} {'time s':>13} "
            f"{'est. ratio':>10}")
    print(f"ours / alkaid 0.8.2 ({'ternary' if ternary else 'binary'} ours, ternary alkaid)")
    print(head)
    print("-" * len(head))
    rows, synthesized = [], []
    for name, w, ranges in cases:
        (a_add, a_tern, a_depth, a_cost), (_, _, _, a_bin), a_time = alkaid_solve(w, ranges)
        slack = args.slack
        if slack is None:  # the largest slack whose depth does not exceed alkaid's (the cheapest such graph)
            best = run_case(w, ranges, 0, ternary)
            for s in range(1, 6):
                cand = run_case(w, ranges, s, ternary)
                if cand["ours"][3] > a_depth:
                    break
                if cand["ours"][2] <= best["ours"][2]:
                    best = cand
            r = best
        else:
            r = run_case(w, ranges, slack, ternary)
        oa, ot3, ol, od, otime = r["ours"]
        print(f"{name:<17} {oa:>4}({ot3:>3})/{a_add:>4}({a_tern:>3}) {ol:>6}/{a_cost:<6.0f} {a_bin:>11.0f} "
              f"{od:>3}/{a_depth:<3} {otime:>6.2f}/{a_time:<6.2f} {ol / a_cost:>10.3f}", flush=True)
        row = {"name": name, "est": ol / a_cost, "depth_ok": od <= a_depth, "time": otime / a_time}
        if args.yosys and w.size <= args.max_weights:
            verilog, report = backend_verilog(w, r["graph"], "ours", ranges, ternary)
            t = time.time()
            y = yosys_luts(verilog, "ours")
            row["yosys"] = y / a_cost
            row["est_err"] = report["luts"] / y - 1
            print(f"{'':<17} yosys LUTs {y} (synth {time.time() - t:.0f} s; report estimate {report['luts']}, "
                  f"{report['luts'] / y - 1:+.1%}; {report.get('ternary_adders', 0)} of {report['adders']} adders "
                  f"ternary, {report['adder_levels']} levels): ours/alkaid ternary estimate {y / a_cost:.3f}", flush=True)
        rows.append(row)
    est = [r["est"] for r in rows]
    print(f"\nestimated LUTs ours/alkaid (ternary): mean {np.mean(est):.3f}, max {max(est):.3f}; "
          f"depth <= alkaid's in {sum(r['depth_ok'] for r in rows)}/{len(rows)} cases; "
          f"optimizer time ratio mean {np.mean([r['time'] for r in rows]):.2f}")
    synth = [r for r in rows if "yosys" in r]
    if synth:
        print(f"Yosys LUTs (ours) / alkaid ternary estimate: mean {np.mean([r['yosys'] for r in synth]):.3f}, "
              f"max {max(r['yosys'] for r in synth):.3f} over {len(synth)} cases; our report estimate vs Yosys: "
              f"mean |error| {np.mean([abs(r['est_err']) for r in synth]):.1%}, "
              f"max {max(abs(r['est_err']) for r in synth):.1%}")


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
