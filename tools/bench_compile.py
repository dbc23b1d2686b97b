"""Compile time and peak memory per pipeline stage, ours and da4ml's, on the same models.

    pip install da4ml==0.6.0        # benchmark-only extra; the package never imports it
    python tools/bench_compile.py [--models jsc,conv2d,muon,large] [--no-da4ml]
    python tools/bench_compile.py --whole --models jsc [--runs 3]   # against alkaid 0.8.2

Models: `jsc` (examples/jsc.keras, the README's dense example), `conv2d` (8x8 image
Conv2D+MaxPool+Dense), `muon` (Conv1D + residual + tanh table + dense), `large` (an
untrained 64-256-128-64-10 dense model with ~20 000 adders: the compile budget is 60 s and
2 GB), and, only when named, `dense512` (an untrained 512x512 8-bit dense layer, about
200 000 adders; `--whole --models dense512 --runs 1` times the whole `hgq-opt` process).
Each (model, tool) compiles in a fresh process (Keras file -> Verilog on disk). Per stage:
wall time, and the stage's peak resident memory above its start (sampled every 5 ms, so
C++ allocations count too); per run: the process's peak RSS above the loaded model.
da4ml's stages: trace_model (HGQ2's tracer, CMVM solved inside), comb_trace,
VerilogModel.write; ours: import, each pass of hgq-standard, write_rtl.
`--whole` times the two whole commands instead, `hgq-opt M -t verilog -o OUT --quiet` and
`alkaid convert M OUT --flavor verilog -n 0 --latency-cutoff -1`, alternating, and prints
the median of each and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import tests_modules  # tools/tests_modules.py: tests/<name>.py by path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("jsc", "conv2d", "muon", "large")
LARGE_MODELS = ("dense512",)  # only when named: minutes and gigabytes


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _Stages:
    """Times each stage and samples its peak RSS from a background thread."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self._peak = 0.0
        self._stop = False
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop:
            self._peak = max(self._peak, _rss_mb())
            time.sleep(0.005)

    def run(self, name: str, fn, *args):
        start = _rss_mb()
        self._peak = start
        t = time.perf_counter()
        out = fn(*args)
        self.rows.append({"stage": name, "s": time.perf_counter() - t, "mb": max(self._peak, _rss_mb()) - start})
        return out


def _load(path: str):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    from hgq_mlir.frontend.keras import load_keras

    return load_keras(path)


def worker(tool: str, path: str, out: str) -> None:
    model = _load(path)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    st = _Stages()
    result: dict = {}
    if tool == "ours":
        from xdsl.context import Context

        from hgq_mlir.backend.rtl import write_rtl
        from hgq_mlir.collector import few_collections
        from hgq_mlir.frontend.keras import import_model
        from hgq_mlir.passes.standard import HgqStandard

        with few_collections():  # as hgq-opt runs
            module = st.run("import", import_model, model)
            ctx = Context()
            for step in HgqStandard().steps():
                st.run(step.name, step.apply, ctx, module)
            report = st.run("write-rtl", write_rtl, module, out)
        result = {"adders": report["adders"], "luts": report["luts"], "levels": report["adder_levels"]}
    else:
        from da4ml.codegen import VerilogModel
        from da4ml.converter import trace_model
        from da4ml.trace import comb_trace

        inp, outp = st.run("trace_model", trace_model, model)
        comb = st.run("comb_trace", comb_trace, inp, outp)
        st.run("write", lambda: VerilogModel(comb, "model", out).write())
        result = {"cost": float(getattr(comb, "cost", 0.0))}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base  # 0 if loading peaked higher
    peak = max([peak] + [s["mb"] for s in st.rows])
    print(json.dumps({"stages": st.rows, "peak_mb": peak, **result}))





def build(name: str, root: Path) -> Path:
    zoo = tests_modules.load("zoo")
    path = root / f"{name}.keras"
    if name == "jsc" and (ROOT / "examples" / "jsc.keras").exists():
        return ROOT / "examples" / "jsc.keras"
    model = {
        "jsc": lambda: zoo.build_model("jsc", seed=0),
        "conv2d": lambda: zoo.build_conv_model(2, seed=0),
        "muon": lambda: zoo.build_muon_model(seed=0),
        "large": lambda: zoo.build_large_model(),
        "dense512": lambda: zoo.build_dense_square(512),
    }[name]()
    model.save(path)
    return path


def run(tool: str, path: Path, root: Path) -> dict:
    out = root / f"{path.stem}-{tool}"
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", tool, str(path), str(out)], capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one whole process, by GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as log:
        t = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", log.name, *cmd], capture_output=True, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.strip().splitlines()[-1:]}")
        return wall, int(log.read().split()[-1]) / 1024


def whole_process(names: list[str], runs: int) -> None:
    """Both whole processes, TensorFlow (or not) included, alternating: the medians and their ratio."""
    import statistics

    if not Path("/usr/bin/time").exists():
        sys.exit("--whole needs GNU time (/usr/bin/time: apt-get install time)")
    with tempfile.TemporaryDirectory(prefix="bench-whole-") as tmp:
        root = Path(tmp)
        for name in names:
            path = build(name, root)
            cmds = {"ours": ["hgq-opt", str(path), "-t", "verilog", "-o", str(root / "ours"), "--quiet"],
                    "alkaid": ["alkaid", "convert", str(path), str(root / "alkaid"), "--flavor", "verilog", "-n", "0",
                               "--latency-cutoff", "-1"]}
            times: dict[str, list] = {tool: [] for tool in cmds}
            for _ in range(runs):
                for tool, cmd in cmds.items():
                    times[tool].append(_timed(cmd))
            print(f"== {name} ({path.name}), {runs} runs each, alternating")
            for tool, rows in times.items():
                walls = ", ".join(f"{w:.2f}" for w, _ in rows)
                print(f"  {tool:6} {walls} s: median {statistics.median(w for w, _ in rows):.2f} s, "
                      f"peak RSS {max(m for _, m in rows):.0f} MB")
            ratio = statistics.median(w for w, _ in times["ours"]) / statistics.median(w for w, _ in times["alkaid"])
            print(f"  ratio ours/alkaid (medians): {ratio:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated subset of {','.join(MODELS + LARGE_MODELS)} (default: {','.join(MODELS)})")
    ap.add_argument("--no-da4ml", action="store_true", help="only our compiler")
    ap.add_argument("--whole", action="store_true",
                    help="whole processes against alkaid 0.8.2 (hgq-opt -t verilog, alkaid convert), medians")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool with --whole (default 3)")
    ap.add_argument("--worker", nargs=3, metavar=("TOOL", "MODEL", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.whole:
        whole_process(args.models.split(","), args.runs)
        return
    tools = ["ours"] if args.no_da4ml else ["ours", "da4ml"]
    if not args.no_da4ml:
        try:
            import da4ml
        except ImportError:
            sys.exit("da4ml is not installed: pip install da4ml==0.6.0 (benchmark-only), or pass --no-da4ml")
    with tempfile.TemporaryDirectory(prefix="bench-compile-") as tmp:
        root = Path(tmp)
        for name in args.models.split(","):
            path = build(name, root)
            results = {tool: run(tool, path, root) for tool in tools}
            print(f"\n== {name} ({path.name})")
            for tool, r in results.items():
                if "error" in r:
                    print(f"  {tool:6} not supported / failed: {r['error'][:160]}")
                    continue
                total = sum(s["s"] for s in r["stages"])
                extra = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("stages", "peak_mb"))
                print(f"  {tool:6} total {total:7.2f} s   peak {r['peak_mb']:7.0f} MB above the loaded model   ({extra})")
                for s in r["stages"]:
                    print(f"         {s['stage']:24} {s['s']:7.2f} s {s['mb']:7.0f} MB")
            ok = [r for r in results.values() if "error" not in r]
            if len(ok) == 2:
                t = [sum(s["s"] for s in r["stages"]) for r in ok]
                print(f"  ratio ours/da4ml: time {t[0] / t[1]:.2f}, peak memory {ok[0]['peak_mb'] / max(ok[1]['peak_mb'], 1):.2f}")


if __name__ == "__main__":
    main()
