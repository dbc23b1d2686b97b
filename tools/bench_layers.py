"""Resources of the table, product, softmax and attention layers: ours against alkaid 0.8.2,
and our report's estimate against Yosys, on the same small seeded HGQ2 models in one run.

    pip install -e '.[bench]'       # alkaid==0.8.2, benchmark-only: the package never imports it
    python tools/bench_layers.py [--models dense_table,conv_table,...] [--no-alkaid] [--no-yosys]
    python tools/bench_layers.py --crossover [--widths 12]

Models (trained 2 epochs, seed 0; tests/layer_models.py's builders and helpers, loaded by
path): `dense_table` (QDenseT), `conv_table` (QConvT2D + QConvT1D), `softmax8` (QSoftmax over
8 logits), `attention8` (2-head QMultiHeadAttention over 8 tokens of 4 features, key_dim 2),
`multiply` (QMultiply of a ReLU (unsigned) and a signed dense branch), `einsum_table`
(QEinsumDenseT), `attention_variants` (QLinformerAttention + QMultiHeadAttentionT),
`attention_masked` (causal, sliding-window, and causal sliding-window attention),
`recurrent` (QSimpleRNN + QGRU), `bidirectional` (Keras's Bidirectional around a QGRU and a
QSimpleSNN, `go_backwards` layers), `snn` (QSimpleSNN + QLIF), and `jsc` (examples/jsc.keras).
Per model:

- ours, `hgq-standard{multiplier=lut}` and `{multiplier=dsp}`: the report's LUTs and DSPs,
  the compile time (Keras file -> Verilog on disk, in this process, TensorFlow already
  loaded), and Yosys 0.23 `synth_xilinx -family xcup -flatten -noiopad` LUTs (LUT1..LUT6,
  LUT6_2 count one each) and DSP48E2 blocks (identical Verilog is synthesized once; designs
  estimated above --yosys-max LUTs are not synthesized: Yosys needs minutes per 4 000 LUTs);
- alkaid: `alkaid convert M.keras OUT --flavor verilog -n 0 --latency-cutoff -1` in a
  subprocess, its `cost` from OUT/metadata.json (its LUT estimate, ternary adders on) and its
  multipliers: alkaid has no DSP figure; its Verilog instantiates a `multiplier` module
  (a generic `*`, left to synthesis) per product and its cost counts each as LUTs
  (0.75 x the operands' bit widths multiplied). `mul` is that instance count, `mul cost` the
  part of its cost they make up (0.75 x a x b summed over the instances).

`--crossover` synthesizes one product of an a-bit by a b-bit operand (a >= b, both signed or
both unsigned, 1..12 bits) with each multiplier kind and prints Yosys's LUTs and DSP48E2
blocks against the report's estimate: where `lut` stops being cheaper than one DSP block.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tests_modules  # tools/tests_modules.py: tests/<name>.py by path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("dense_table", "conv_table", "einsum_table", "softmax8", "attention8", "attention_variants", "attention_masked",
          "multiply",
          "keras_merges", "recurrent", "bidirectional", "snn", "jsc")
KINDS = ("lut", "dsp")

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")





def softmax8(lm, seed: int = 0):
    """QSoftmax (stable) over 8 logits of a dense layer, a dense head."""
    import keras
    from hgq.layers import QDense, QSoftmax

    keras.utils.set_random_seed(seed)
    w, r = lm._scopes()
    with w, r:
        inp = keras.Input((8,), name="inp")
        h = QSoftmax(name="softmax")(QDense(8, name="logits")(inp))
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="softmax8")
    return lm._train(model, (8,), seed)


def attention8(lm, seed: int = 0):
    """2-head self-attention over 8 tokens of 4 features (key_dim 2), a residual add, a dense head."""
    import keras
    from hgq.layers import QAdd, QDense, QMultiHeadAttention

    keras.utils.set_random_seed(seed)
    w, r = lm._scopes()
    with w, r:
        inp = keras.Input((8, 4), name="inp")
        h = QMultiHeadAttention(num_heads=2, key_dim=2, name="mha")(inp, inp)
        h = QAdd(name="residual")([inp, h])
        h = keras.layers.Flatten(name="flat")(h)
        out = QDense(2, enable_oq=True, name="out")(h)
        model = keras.Model(inp, out, name="attention8")
    return lm._train(model, (8, 4), seed)


def multiply(lm, seed: int = 0):
    """QMultiply of an unsigned (ReLU) and a signed dense branch, a dense head."""
    import keras
    from hgq.layers import QDense, QMultiply

    keras.utils.set_random_seed(seed)
    w, r = lm._scopes()
    with w, r:
        inp = keras.Input((6,), name="inp")
        a = QDense(4, activation="relu", name="a")(inp)
        b = QDense(4, name="b")(inp)
        h = QMultiply(name="mul")([a, b])
        out = QDense(2, name="out")(h)
        model = keras.Model(inp, out, name="multiply")
    return lm._train(model, (6,), seed)


def build(name: str, root: Path) -> Path:
    if name == "jsc":
        return ROOT / "examples" / "jsc.keras"
    lm = tests_modules.load("layer_models")
    local = {"softmax8": softmax8, "attention8": attention8, "multiply": multiply}
    model = local[name](lm) if name in local else lm.BUILDERS[name](seed=0)
    path = root / f"{name}.keras"
    model.save(path)
    return path


def ours(path: Path, out: Path, kind: str) -> dict:
    from hgq_mlir.backend.verify import compile_model

    t = time.perf_counter()
    report = compile_model(str(path), out, passes=f"hgq-standard{{multiplier={kind}}}")
    return {"s": time.perf_counter() - t, "luts": report["luts"], "dsps": report["dsps"], "top": report["top"]}


def alkaid(path: Path, out: Path) -> dict:
    exe = shutil.which("alkaid")
    if exe is None:
        return {"error": "alkaid is not installed (pip install alkaid==0.8.2)"}
    t = time.perf_counter()
    proc = subprocess.run(
        [exe, "convert", str(path), str(out), "--flavor", "verilog", "-n", "0", "--latency-cutoff", "-1"],
        capture_output=True, text=True, timeout=3600,
    )
    s = time.perf_counter() - t
    meta = out / "metadata.json"
    if proc.returncode != 0 or not meta.exists():
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        return {"error": lines[-1] if lines else f"exit {proc.returncode}", "s": s}
    cost = json.loads(meta.read_text())["cost"]
    widths = [(int(m[1]), int(m[2])) for f in (out / "src").rglob("*.v")
              for m in re.finditer(r" multiplier #\((\d+),(\d+),", f.read_text())]
    return {"s": s, "cost": cost, "mults": len(widths), "mult_cost": 0.75 * sum(a * b for a, b in widths)}


def bench(names: list[str], use_alkaid: bool, use_yosys: bool, keep: str | None, yosys_max: int) -> None:
    support = tests_modules.load("tests_support")
    rows = []
    synthesized: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-layers-") as tmp:
        root = Path(keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        for name in names:
            t = time.perf_counter()
            path = root / f"{name}.keras"
            if not path.exists():
                path = build(name, root)
            print(f"{name}: model ready in {time.perf_counter() - t:.1f} s", file=sys.stderr, flush=True)
            row: dict = {"model": name}
            for kind in KINDS:
                out = root / f"{name}-{kind}"
                r = ours(path, out, kind)
                if use_yosys and r["luts"] <= yosys_max:
                    verilog = out / f"{r['top']}.v"
                    key = hashlib.sha256(verilog.read_bytes()).hexdigest()
                    if key not in synthesized:
                        synthesized[key] = support.yosys_cells(verilog, r["top"])
                    cells = synthesized[key]
                    r["yosys_luts"], r["yosys_dsps"] = support.lut_count(cells), cells.get("DSP48E2", 0)
                row[kind] = r
                print(f"  ours {kind}: {r}", file=sys.stderr, flush=True)
            if use_alkaid:
                row["alkaid"] = alkaid(path, root / f"{name}-alkaid")
                print(f"  alkaid: {row['alkaid']}", file=sys.stderr, flush=True)
            rows.append(row)
    print(table(rows, use_alkaid, use_yosys))


def table(rows: list[dict], use_alkaid: bool, use_yosys: bool) -> str:
    head = (f"{'model':<12} {'mult':>4} {'est LUTs':>8} {'DSPs':>4} {'yosys LUTs':>10} {'yosys DSPs':>10} "
            f"{'est/yosys':>9} {'ours s':>7} {'alkaid cost':>11} {'mul':>4} {'mul cost':>8} {'alkaid s':>8} {'LUTs ours/alkaid':>16}")
    lines = [head, "-" * len(head)]
    for row in rows:
        a = row.get("alkaid", {})
        for kind in KINDS:
            r = row[kind]
            yl, yd = (r["yosys_luts"], r["yosys_dsps"]) if "yosys_luts" in r else ("-", "-")
            err = f"{r['luts'] / yl - 1:+.1%}" if yl != "-" and yl else "-"
            if not use_alkaid:
                theirs = f"{'-':>11} {'-':>4} {'-':>8} {'-':>8} {'-':>16}"
            elif "error" in a:
                theirs = f"alkaid failed: {a['error'][:120]}" if kind == "lut" else ""
            else:
                ratio = f"{r['luts'] / a['cost']:.3f}" if a["cost"] else "-"
                theirs = f"{a['cost']:>11.0f} {a['mults']:>4} {a['mult_cost']:>8.0f} {a['s']:>8.1f} {ratio:>16}"
            lines.append(f"{row['model'] if kind == 'lut' else '':<12} {kind:>4} {r['luts']:>8} {r['dsps']:>4} "
                         f"{yl:>10} {yd:>10} {err:>9} {r['s']:>7.1f} {theirs}")
    return "\n".join(lines)


# -- the multiplier crossover -----------------------------------------------------------------


def product_module(wa: int, sa: int, wb: int, sb: int, name: str):
    """A func of one fx.mul of an a-bit and a b-bit input (integers), its exact product the output."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import ModuleOp
    from xdsl.ir import Block, Region

    from hgq_mlir import fixed
    from hgq_mlir.dialects import fx

    block = Block()
    ta, tb = fx.FixedType(sa, wa - sa, 0), fx.FixedType(sb, wb - sb, 0)
    a, b = fx.InputOp("a", 0, ta), fx.InputOp("b", 0, tb)
    r = fixed.mul(fixed.Ranges(0, *ta.mantissa_range()), fixed.Ranges(0, *tb.mantissa_range()))
    m = fx.MulOp(a.result, b.result, fx.fixed_for_range(r.lo, r.hi, 0))
    block.add_ops([a, b, m, fx.OutputOp("y", 0, m.result)])
    block.add_op(func.ReturnOp())
    return ModuleOp([func.FuncOp(name, ((), ()), Region(block))])


def crossover(max_width: int) -> None:
    from xdsl.context import Context

    from hgq_mlir.backend.rtl import render_rtl
    from hgq_mlir.passes.lower_fx_to_hw import LowerFxToHw

    support = tests_modules.load("tests_support")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-mult-") as tmp:
        for signed in (0, 1):
            for kind in KINDS:
                for wa in range(1, max_width + 1):
                    for wb in range(1, wa + 1):
                        module = product_module(wa, signed, wb, signed, "m")
                        LowerFxToHw(multiplier=kind).apply(Context(), module)
                        files = render_rtl(module)
                        verilog = Path(tmp) / "m.v"
                        verilog.write_text(files["m.v"])
                        cells = support.yosys_cells(verilog, "m")
                        report = json.loads(files["report.json"])
                        results[signed, kind, wa, wb] = (support.lut_count(cells), cells.get("DSP48E2", 0), report["luts"], report["dsps"])
                        print(f"{'us'[signed]} {kind} {wa}x{wb}: {results[signed, kind, wa, wb]}", file=sys.stderr, flush=True)
    for signed in (0, 1):
        print(f"\n{'signed' if signed else 'unsigned'} a x b (a >= b): Yosys LUTs of the LUT multiplier (est.) | "
              f"Yosys LUTs + DSP48E2 of `*` (est. DSPs)")
        corner = "a\\b"
        print(f"{corner:>4} " + " ".join(f"{wb:>14}" for wb in range(1, max_width + 1)))
        for wa in range(1, max_width + 1):
            cells = []
            for wb in range(1, wa + 1):
                yl, _, el, _ = results[signed, "lut", wa, wb]
                dl, dd, _, ed = results[signed, "dsp", wa, wb]
                cells.append(f"{yl:>3}({el:>3})|{dl:>2}+{dd}d({ed})")
            print(f"{wa:>4} " + " ".join(f"{c:>14}" for c in cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    ap.add_argument("--no-alkaid", action="store_true", help="only our compiler")
    ap.add_argument("--no-yosys", action="store_true", help="no synthesis: the report's estimates only")
    ap.add_argument("--yosys-max", type=int, default=3000, metavar="LUTS",
                    help="synthesize only designs whose estimate is at most this many LUTs (default 3000)")
    ap.add_argument("--keep", metavar="DIR", help="write models and outputs to DIR (models there are reused)")
    ap.add_argument("--crossover", action="store_true", help="the multiplier micro-designs instead of the models")
    ap.add_argument("--widths", type=int, default=12, help="--crossover: operand widths 1..N")
    args = ap.parse_args()
    use_yosys = not args.no_yosys
    if (use_yosys or args.crossover) and shutil.which("yosys") is None:
        sys.exit("yosys is not on PATH (apt-get install yosys), or pass --no-yosys")
    if args.crossover:
        crossover(args.widths)
        return
    names = args.models.split(",")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}: choose from {', '.join(MODELS)}")
    bench(names, not args.no_alkaid, use_yosys, args.keep, args.yosys_max)


if __name__ == "__main__":
    main()
