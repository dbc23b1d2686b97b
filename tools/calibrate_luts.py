"""Compare the report's LUT / FF estimates with Yosys `synth_xilinx -family xcup` (Debian 0.23).

    python tools/calibrate_luts.py [MODEL.keras ...] [-p PIPELINE]

Without models it trains the test-model kinds (tests/zoo.py, seed 1) and adds
examples/jsc.keras. Prints per model: estimated and synthesized LUTs and FFs, and the error.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import tempfile
import time
from pathlib import Path

from hgq_mlir.backend.verify import compile_model


def synth(verilog: Path, top: str) -> dict:
    stat = verilog.with_suffix(".stat")
    subprocess.run(
        ["yosys", "-q", "-p", f"read_verilog {verilog}; synth_xilinx -family xcup -flatten -noiopad -top {top}; "
         f"tee -q -o {stat} stat"],
        check=True, capture_output=True, text=True,
    )
    cells: dict[str, int] = {}
    for line in stat.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0][0].isupper():
            cells[parts[0]] = cells.get(parts[0], 0) + int(parts[1])
    luts = sum(v for k, v in cells.items() if k.startswith("LUT"))
    ffs = sum(v for k, v in cells.items() if k.startswith("FD"))
    srls = sum(v for k, v in cells.items() if k.startswith("SRL"))
    return {"luts": luts, "ffs": ffs, "srls": srls, "carry": sum(v for k, v in cells.items() if k.startswith("CARRY"))}


def load_zoo():
    """tests/zoo.py, the seeded test and example models (not part of the installed package)."""
    path = Path(__file__).resolve().parent.parent / "tests" / "zoo.py"
    spec = importlib.util.spec_from_file_location("zoo", path)
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    return zoo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*")
    ap.add_argument("-p", "--passes", default="hgq-standard")
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        models = [Path(m) for m in args.models]
        if not models:
            zoo = load_zoo()
            for kind in zoo.KINDS:
                path = Path(tmp) / f"{kind}.keras"
                zoo.build_model(kind, seed=1).save(path)
                models.append(path)
            models.append(root / "examples" / "jsc.keras")
        print(f"{'model':<14} {'est LUTs':>9} {'yosys LUTs':>10} {'error':>7} {'est FFs':>8} {'yosys FFs':>9} "
          f"{'est SRLs':>8} {'yosys SRLs':>10} {'synth s':>8}")
        errors = []
        for m in models:
            out = Path(tmp) / f"rtl-{m.stem}"
            report = compile_model(str(m), out, args.passes)
            t = time.time()
            y = synth(out / f"{report['top']}.v", report["top"])
            err = report["luts"] / y["luts"] - 1 if y["luts"] else float("nan")
            errors.append(err)
            print(f"{m.stem:<14} {report['luts']:>9} {y['luts']:>10} {err:>+7.1%} {report['ffs']:>8} {y['ffs']:>9} "
                  f"{report.get('srls', 0):>8} {y['srls']:>10} {time.time() - t:>8.0f}",
                  flush=True)
        print(f"mean |error| {sum(abs(e) for e in errors) / len(errors):.1%}")


if __name__ == "__main__":
    main()
