"""Compare the report's LUT / FF estimates with Yosys `synth_xilinx -family xcup` (Debian 0.23),
with ternary adders on and off, on the designs the estimate was fitted to and on designs held
apart from the fitting.

    python tools/calibrate_luts.py [MODEL.keras ...] [--ternary primitive,off] [-p PIPELINE]
                                   [--set fitted|held|all] [--keep DIR]

The report's constants (report.py, cmvm/graph.py) were fitted on the `fitted` designs:
examples/jsc.keras, the test-model kinds of tests/zoo.py trained with seed 1 and the small
6-4-3 model. The `held` designs are never used to fit anything: the same kinds trained with
seed 2 (other weights, other pruning); the tool reports the error on each set apart.
Given models are reported as `given`; `--set layers` runs the test models of
tests/layer_models.py (seed 2), on which nothing was fitted but the wide-table rule. Per design
and ternary mode: estimated and synthesized LUTs (a LUT6_2 counts as one), the error, FFs,
DSP blocks, ternary adders, and synthesis time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import tests_modules  # tools/tests_modules.py: tests/<name>.py by path

from hgq_mlir.backend.verify import compile_model


def synth(verilog: Path, top: str) -> dict:
    support = tests_modules.load("tests_support")
    cells = support.yosys_cells(verilog, top)
    ffs = sum(v for k, v in cells.items() if k.startswith("FD"))
    srls = sum(v for k, v in cells.items() if k.startswith("SRL"))
    return {"luts": support.lut_count(cells), "ffs": ffs, "srls": srls, "dsps": cells.get("DSP48E2", 0),
            "carry": sum(v for k, v in cells.items() if k.startswith("CARRY")), "lut6_2": cells.get("LUT6_2", 0)}


def designs(which: str, tmp: Path) -> list[tuple[str, str, Path]]:
    """(set, name, .keras path) of the standard designs."""
    root = Path(__file__).resolve().parent.parent
    zoo = tests_modules.load("zoo")
    out = []
    if which in ("fitted", "all"):
        out.append(("fitted", "jsc.keras", root / "examples" / "jsc.keras"))
        out.append(("fitted", "tiny-s3", _saved(tmp / "tiny-s3.keras", lambda: zoo.build_tiny_model(seed=3))))
        for kind in zoo.KINDS:
            out.append(("fitted", f"{kind}-s1", _saved(tmp / f"{kind}-s1.keras", lambda: zoo.build_model(kind, seed=1))))
    if which in ("held", "all"):
        for kind in zoo.KINDS:
            out.append(("held", f"{kind}-s2", _saved(tmp / f"{kind}-s2.keras", lambda: zoo.build_model(kind, seed=2))))
    if which == "layers":
        for name, build in sorted(tests_modules.load("layer_models").BUILDERS.items()):
            out.append(("layers", name, _saved(tmp / f"{name}-s2.keras", lambda: build(seed=2))))
    return out


def _saved(path: Path, train) -> Path:
    """`path`, with the model `train()` builds saved there unless a design is there already."""
    if not path.exists():
        train().save(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*")
    ap.add_argument("-p", "--passes", default="hgq-standard", help="the pipeline (ternary=... is added to it)")
    ap.add_argument("--ternary", default="primitive,off", help="comma-separated modes (primitive, infer, off)")
    ap.add_argument("--set", default="all", choices=("fitted", "held", "all", "layers"), help="standard designs to run")
    ap.add_argument("--keep", metavar="DIR", help="keep the trained designs in DIR and reuse those already there "
                    "(TensorFlow's training is not bit-reproducible: the same file, the same design)")
    args = ap.parse_args()
    modes = [m for m in args.ternary.split(",") if m]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        todo = [("given", Path(m).stem, Path(m)) for m in args.models] or designs(args.set, folder)
        print(f"{'set':<7} {'design':<18} {'ternary':<10} {'est LUTs':>9} {'yosys LUTs':>10} {'error':>7} "
              f"{'LUT6_2':>7} {'tern.':>6} {'est FFs':>8} {'yosys FFs':>9} {'est DSPs':>8} {'yosys DSPs':>10} "
              f"{'synth s':>8}", flush=True)
        errors: dict[tuple[str, str], list[float]] = {}
        for group, name, path in todo:
            for mode in modes:
                passes = args.passes
                spec = f"ternary={mode}"
                passes = passes[:-1] + f" {spec}}}" if passes.endswith("}") else f"{passes}{{{spec}}}"
                out = Path(tmp) / f"rtl-{name}-{mode}"
                report = compile_model(str(path), out, passes)
                t = time.time()
                y = synth(out / f"{report['top']}.v", report["top"])
                err = report["luts"] / y["luts"] - 1 if y["luts"] else float("nan")
                errors.setdefault((group, mode), []).append(err)
                print(f"{group:<7} {name:<18} {mode:<10} {report['luts']:>9} {y['luts']:>10} {err:>+7.1%} "
                      f"{y['lut6_2']:>7} {report.get('ternary_adders', 0):>6} {report['ffs']:>8} {y['ffs']:>9} "
                      f"{report.get('dsps', 0):>8} {y['dsps']:>10} {time.time() - t:>8.0f}", flush=True)
        for (group, mode), errs in errors.items():
            print(f"{group} designs, ternary={mode}: mean |error| {sum(abs(e) for e in errs) / len(errs):.1%}, "
                  f"max |error| {max(abs(e) for e in errs):.1%}, mean error {sum(errs) / len(errs):+.1%} "
                  f"({len(errs)} designs)")


if __name__ == "__main__":
    main()
