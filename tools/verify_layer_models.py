"""Compile every test model of tests/layer_models.py and check its RTL against Keras.

    python tools/verify_layer_models.py [-n 10000] [--only softmax,attention] [--markdown] [--ternary infer]

For each model (trained as the tests train it, seed 2): combinational and pipelined
(latency-cutoff=2) builds; models with products also with multiplier=lut and multiplier=dsp.
Prints, per build, the simulated vectors, mismatching output values, estimated LUTs, FFs, DSPs,
latency and compile seconds. Three-input adders are built as `a + b - c` (`--ternary infer`,
the default: the report's figures are those of the primitive build, and iverilog needs about
a second per vector for the example's 1 096 LUT6_2/CARRY8 adders); `--ternary primitive` simulates the
primitives themselves.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import tests_modules  # tools/tests_modules.py: tests/<name>.py by path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PRODUCTS = {"attention", "attention_variants", "bidirectional", "contraction", "multiply", "recurrent", "snn", "softmax"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10000, help="random input vectors per build (default 10000)")
    parser.add_argument("--only", default="", help="comma-separated model names (default: all)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--ternary", choices=("infer", "primitive", "off"), default="infer",
                        help="realization of three-input adders (default infer)")
    args = parser.parse_args(argv)

    from hgq_mlir.backend.verify import compile_model, verify

    builders = tests_modules.load("layer_models").BUILDERS
    names = [n for n in sorted(builders) if not args.only or n in args.only.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model = builders[name](seed=2)
            path = Path(tmp) / f"{name}.keras"
            model.save(path)
            options = ["", "latency-cutoff=2"]
            if name in PRODUCTS:
                options += ["multiplier=lut", "multiplier=dsp latency-cutoff=2"]
            for option in options:
                pipeline = f"hgq-standard{{{' '.join(filter(None, (f'ternary={args.ternary}', option)))}}}"
                out = Path(tmp) / f"{name}-{len(rows)}"
                start = time.perf_counter()
                report = compile_model(str(path), out, pipeline)
                seconds = time.perf_counter() - start
                mismatches, total, sim = verify(str(path), out, args.n)
                rows.append((name, option or "(default)", mismatches, total,
                             report["luts"], report["ffs"], report["dsps"], report["latency"], seconds, sim))
                print(*rows[-1], sep="\t", file=sys.stderr, flush=True)
    head = ("model", "options", "mismatches", "of", "LUTs", "FFs", "DSPs", "latency", "compile s", "simulator")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r) + " |")
    else:
        print("\t".join(head))
        for r in rows:
            print("\t".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r))
    return 1 if any(r[2] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
