"""Benchmark the CMVM optimizer against da4ml 0.6.0, in one run, on the same matrices.

    pip install da4ml==0.6.0        # benchmark-only extra; the package never imports it
    python tools/bench_cmvm.py [--slack N] [--models] [--yosys]

Per case: adders, estimated LUTs, adder depth and optimizer wall time for both tools, and
the ratios ours/da4ml. LUTs are estimated for both graphs by the same rule (one LUT per
adder output bit that needs a full adder, exact widths from the input ranges), so the
comparison is of the graphs, not of two cost models; da4ml's own cost (adder_size=1,
its HGQ default) is printed too. `--yosys` also synthesizes both graphs (as the same
plain Verilog) with Yosys synth_xilinx for real LUT counts on the small cases.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hgq_mlir.cmvm import AdderGraph, Term, estimate_luts, solve
from hgq_mlir.cmvm.graph import signed_width

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


def verilog_of(graph: AdderGraph, ranges, name: str) -> str:
    """Plain Verilog for a graph (used to synthesize both tools' graphs the same way)."""
    widths = [signed_width(lo, hi) for lo, hi in ranges]
    c = graph.coefficients()
    lo_in = np.array([lo for lo, _ in ranges], dtype=object)
    hi_in = np.array([hi for _, hi in ranges], dtype=object)
    a, b = c * lo_in, c * hi_in
    lo_n, hi_n = np.minimum(a, b).sum(axis=1), np.maximum(a, b).sum(axis=1)
    ports = [f"input wire signed [{w - 1}:0] x{j}" for j, w in enumerate(widths)]
    lines = []
    outs = []
    for k, (lhs, rhs, sub) in enumerate(graph.adders):
        n = graph.n_in + k
        base = min(lhs.shift, rhs.shift)
        w = signed_width(int(lo_n[n]) >> base, int(hi_n[n]) >> base)
        name_of = lambda t: f"x{t.node}" if t.node < graph.n_in else f"n{t.node}"
        lines.append(
            f"  wire signed [{w - 1}:0] n{n} = ($signed({name_of(lhs)}) <<< {lhs.shift}) "
            f"{'-' if sub else '+'} ($signed({name_of(rhs)}) <<< {rhs.shift});"
        )
    for i, t in enumerate(graph.outputs):
        if t is None:
            continue
        src = f"x{t.node}" if t.node < graph.n_in else f"n{t.node}"
        ow = signed_width(int(lo_n[t.node]), int(hi_n[t.node])) + t.shift + 1
        ports.append(f"output wire signed [{ow - 1}:0] y{i}")
        outs.append(f"  assign y{i} = {'-' if t.negative else ''}($signed({src}) <<< {t.shift});")
    return f"module {name} (\n  " + ",\n  ".join(ports) + "\n);\n" + "\n".join(lines + outs) + "\nendmodule\n"


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
    ap.add_argument("--yosys", action="store_true", help="synthesize both graphs of the 16x16 / 32x5 cases")
    args = ap.parse_args()
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
    ratios = []
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
        if args.yosys and w.size <= 256:
            yo = yosys_luts(verilog_of(r["graphs"][0], ranges, "ours"), "ours")
            yt = yosys_luts(verilog_of(r["graphs"][1], ranges, "theirs"), "theirs")
            print(f"{'':<18} yosys synth_xilinx LUTs: ours {yo}, da4ml {yt}; "
                  f"estimate/yosys: ours {ol / yo:.3f}, da4ml {tl / yt:.3f}")
    lut = [a for a, _, _ in ratios]
    print(f"\nLUT ratio ours/da4ml: mean {np.mean(lut):.3f}, max {max(lut):.3f}; "
          f"depth <= da4ml's in {sum(d for *_, d in ratios)}/{len(ratios)} cases; "
          f"time ratio mean {np.mean([t for _, t, _ in ratios]):.2f}")


def model_cases(path: Path):
    """The dense layers of a trained model, as integer matrices with their input ranges."""
    from xdsl.context import Context

    from hgq_mlir.frontend.keras import import_model, load_keras
    from hgq_mlir.passes.hgq_model import Model
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
