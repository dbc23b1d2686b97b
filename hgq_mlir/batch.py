"""`hgq-batch`: compile many checkpoints for several latency cutoffs in parallel on Dask.

    hgq-batch checkpoints/ -o sweep --latency-cutoff 1,2,4 [--jobs N] [--scheduler tcp://host:8786]

One job per (model, cutoff), each writing the RTL, report and plots into
`OUT/<model>/cutoff=<c>/` and, last, its row as `job.json`. Then `OUT/summary.csv`,
`OUT/summary.json` (one row per job) and `OUT/pareto.png` (a metric from the checkpoint
names, or EBOPs, against LUTs; with several cutoffs also `OUT/tradeoff.png`). HGQ2
`ParetoFront` names (`epoch=12-val_acc=75.90%-EBOPs=1234.keras`: `k=v` pieces separated by
`-`) become columns. A model that fails is a row with status `error` and its one-line
message; the others complete. A job whose `job.json` says it succeeded on the same model
file (size and SHA-256) is not run again.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from hgq_mlir.errors import UserError

MODEL_SUFFIXES = (".keras", ".h5")
FIGURES = ("luts", "ffs", "srls", "dsps", "adders", "latency", "adder_levels", "luts_unpruned")
_PIECE = re.compile(r"-(?=[A-Za-z_][\w.]*=)")  # a '-' that starts the next `k=` (not a minus sign)
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def parse_checkpoint_name(stem: str) -> dict[str, float | int | str]:
    """`epoch=12-acc=76.20%-EBOPs=1234` -> {'epoch': 12, 'acc': 76.2, 'EBOPs': 1234}; a
    trailing '%' is dropped (the value stays in percent). {} unless every piece is k=v."""
    pieces = _PIECE.split(stem)
    out: dict[str, float | int | str] = {}
    for piece in pieces:
        key, eq, value = piece.partition("=")
        if not eq or not key:
            return {}
        text = value[:-1] if value.endswith("%") else value
        if _NUMBER.fullmatch(text):
            number = float(text)
            out[key] = int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number
        else:
            out[key] = value
    return out


def _natural(path: Path) -> list:
    """Sort key: numbers by value (epoch=3 before epoch=12)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def find_models(paths: list[str | os.PathLike]) -> list[Path]:
    """The model files given, and those found (recursively) in the folders given, in
    natural order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted((q for q in p.rglob("*") if q.suffix in MODEL_SUFFIXES and q.is_file()), key=_natural)
        elif p.is_file():
            found.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    if not found:
        raise UserError(f"no .keras or .h5 models in {', '.join(map(str, paths))}")
    return list(dict.fromkeys(found))


def parse_cutoffs(text: str) -> list[int]:
    try:
        cutoffs = [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise UserError(f"--latency-cutoff {text}: expected integers separated by commas (-1: combinational)") from None
    if not cutoffs:
        raise UserError("--latency-cutoff: no cutoff given")
    return list(dict.fromkeys(cutoffs))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Job:
    model: Path
    name: str  # unique folder name under OUT
    cutoff: int
    out_dir: Path
    digest: str
    options: tuple  # hgq-standard keywords, as (key, value) pairs

    @property
    def record(self) -> Path:
        return self.out_dir / "job.json"

    def done(self) -> dict | None:
        """The stored row, if this job already succeeded on the same model file."""
        try:
            row = json.loads(self.record.read_text())
        except (OSError, ValueError):
            return None
        complete = row.get("status") == "ok" and row.get("sha256") == self.digest and row.get("options") == dict(self.options)
        return row if complete and (self.out_dir / "report.json").is_file() else None


def run_job(job: Job) -> dict:
    """Compile one (model, cutoff); runs in a Dask worker. Never raises: errors are rows."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from hgq_mlir.api import compile as compile_model

    row = {"model": job.name, "path": str(job.model), "cutoff": job.cutoff, **parse_checkpoint_name(job.model.stem),
           **dict.fromkeys(FIGURES)}
    start = time.perf_counter()
    try:
        result = compile_model(job.model, job.out_dir, latency_cutoff=job.cutoff, progress=False, **dict(job.options))
        row.update({k: result.report.raw.get(k) for k in FIGURES})
        row.update(status="ok", error="")
    except UserError as e:
        row.update(status="error", error=str(e))
    except Exception as e:  # a compiler bug: still one row, the sweep goes on
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        row.update(status="error", error=f"internal error: {type(e).__name__}: {first}")
    row["seconds"] = round(time.perf_counter() - start, 2)
    row.update(sha256=job.digest, options=dict(job.options), out_dir=str(job.out_dir))
    if row["status"] == "ok":
        _write_atomic(job.record, json.dumps(row, indent=1) + "\n")
    return row


def plan(models: list[Path], out_dir: Path, cutoffs: list[int], options: dict) -> list[Job]:
    jobs, used = [], set()
    for model in models:
        name = model.stem
        n = 2
        while name in used:  # the same file name in two folders
            name, n = f"{model.stem}~{n}", n + 1
        used.add(name)
        digest = _digest(model)
        for c in cutoffs:
            jobs.append(Job(model, name, c, out_dir / name / f"cutoff={c}", digest, tuple(sorted(options.items()))))
    return jobs


@dataclass
class BatchResult:
    rows: list[dict]
    summary_csv: Path
    summary_json: Path
    pareto_png: Path | None
    tradeoff_png: Path | None

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "error"]


def compile_many(paths, out_dir: str | os.PathLike, latency_cutoffs=(-1,), *, jobs: int | None = None,
                 scheduler: str | None = None, metric: str | None = None, progress: bool = True,
                 **options) -> BatchResult:
    """Compile every model in `paths` (files, or folders searched for .keras / .h5) for every
    latency cutoff, one Dask job each: on `scheduler` (an address) if given, else on a
    LocalCluster of `jobs` worker processes (default: the CPU count). `options` are
    hgq-standard keywords (dense, depth_slack, ...). Writes OUT/summary.csv,
    OUT/summary.json and the plots; returns the rows (job order: model, then cutoff)."""
    from hgq_mlir.api import standard_spec

    standard_spec(None, **options)  # unknown options fail before any work
    cutoffs = [int(c) for c in latency_cutoffs]
    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs {jobs}: must be at least 1")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a directory")
    models = find_models(list(paths) if not isinstance(paths, str | os.PathLike) else [paths])
    out.mkdir(parents=True, exist_ok=True)
    work = plan(models, out, cutoffs, options)
    rows: dict[int, dict] = {}
    todo = []
    for i, job in enumerate(work):
        row = job.done()
        if row is not None:
            rows[i] = {**row, "reused": True}
        else:
            todo.append(i)
    if todo:
        for i, row in _run_on_dask([work[i] for i in todo], todo, jobs, scheduler, progress):
            rows[i] = {**row, "reused": False}
    ordered = [rows[i] for i in range(len(work))]
    return _summarize(ordered, out, metric)


def _run_on_dask(jobs: list[Job], ids: list[int], n_workers: int | None, scheduler: str | None, show: bool):
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    from hgq_mlir import progress as bar

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            workers = n_workers or min(os.cpu_count() or 1, len(jobs))
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
    except OSError as e:
        raise UserError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
    try:
        futures = {client.submit(run_job, job, key=f"hgq-batch-{i}-{job.name}-{job.cutoff}", pure=False): i
                   for job, i in zip(jobs, ids, strict=True)}
        with bar.display(enabled=show, label="hgq-batch", delay=0.0):
            bar.layer(1, len(futures), "jobs done: 0")
            for n, future in enumerate(as_completed(futures), start=1):
                row = future.result()
                bar.layer(n, len(futures), f"jobs done: {n}")
                yield futures[future], row
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _pick_metric(rows: list[dict], metric: str | None) -> tuple[str | None, bool]:
    numeric = [k for k in dict.fromkeys(k for r in rows for k in r)
               if all(isinstance(r.get(k), int | float) and not isinstance(r.get(k), bool) for r in rows)]
    if metric is not None:
        if metric not in numeric:
            raise UserError(f"--metric {metric}: not a number in every checkpoint name (have: {', '.join(numeric) or 'none'})")
    else:
        named = [k for k in numeric if k not in FIGURES and k not in ("cutoff", "seconds")]
        accs = [k for k in named if "acc" in k.lower()]
        metric = next((k for k in accs if k.lower().startswith("val")), accs[0] if accs else None)
        metric = metric or next((k for k in named if k.lower() == "ebops"), None)
    if metric is None:
        return None, True
    lower_better = any(w in metric.lower() for w in ("loss", "ebops", "err"))
    return metric, not lower_better


def _summarize(rows: list[dict], out: Path, metric: str | None) -> BatchResult:
    from hgq_mlir.plots import plot_pareto, plot_tradeoff

    name_keys = [k for k in dict.fromkeys(k for r in rows for k in r)
                 if k not in ("model", "path", "cutoff", *FIGURES, "seconds", "status", "error", "reused", "sha256",
                              "options", "out_dir")]
    columns = ["model", "cutoff", *name_keys, *FIGURES, "seconds", "status", "error", "reused", "path", "out_dir"]
    table = [{c: r.get(c, "") if r.get(c) is not None else "" for c in columns} for r in rows]
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    _write_atomic(out / "summary.csv", text.getvalue())
    _write_atomic(out / "summary.json", json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=1) + "\n")
    ok = [r for r in rows if r["status"] == "ok"]
    pareto = tradeoff = None
    if ok:
        chosen, higher = _pick_metric(ok, metric)
        if chosen is not None:
            pareto = plot_pareto(ok, chosen, out / "pareto.png", higher_is_better=higher)
        if len({r["cutoff"] for r in ok}) > 1:
            tradeoff = plot_tradeoff(ok, out / "tradeoff.png")
    return BatchResult(rows, out / "summary.csv", out / "summary.json", pareto, tradeoff)


def format_summary(result: BatchResult) -> str:
    """The summary as a text table (names with control characters escaped)."""
    from hgq_mlir.progress import printable

    w = max([len(printable(r["model"])) for r in result.rows] + [5])
    head = f"{'model':<{w}} {'cutoff':>6} {'LUTs':>8} {'FFs':>7} {'latency':>7} {'seconds':>8}  status"
    lines = [head, "-" * len(head)]
    for r in result.rows:
        status = r["status"] + (" (reused)" if r.get("reused") else "") + (f": {r['error']}" if r["error"] else "")
        figures = [str(r.get(k, "")) if r["status"] == "ok" else "" for k in ("luts", "ffs", "latency")]
        lines.append(f"{printable(r['model']):<{w}} {r['cutoff']:>6} {figures[0]:>8} {figures[1]:>7} {figures[2]:>7} "
                     f"{r['seconds']:>8}  {printable(status)}")
    done = sum(r["status"] == "ok" for r in result.rows)
    lines.append(f"{done} of {len(result.rows)} jobs ok; {result.summary_csv}, {result.summary_json}"
                 + (f", {result.pareto_png}" if result.pareto_png else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hgq-batch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="PATH", help=".keras / .h5 files, or folders to search for them")
    ap.add_argument("-o", "--output", required=True, metavar="OUT", help="folder for the builds and the summary")
    ap.add_argument("--latency-cutoff", default="-1", metavar="N[,N...]",
                    help="adder levels per pipeline stage, one job per value (default -1: combinational)")
    ap.add_argument("--jobs", type=int, default=None, metavar="N", help="local worker processes (default: CPU count)")
    ap.add_argument("--scheduler", default=None, metavar="ADDRESS", help="an existing Dask scheduler, e.g. tcp://host:8786")
    ap.add_argument("--metric", default=None, help="the name's column for pareto.png (default: val_acc/acc, else EBOPs)")
    ap.add_argument("-p", "--option", action="append", default=[], metavar="KEY=VALUE",
                    help="an hgq-standard option for every job, e.g. -p depth-slack=2 (repeatable)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        options = {}
        for item in args.option:
            key, eq, value = item.partition("=")
            if not eq:
                raise UserError(f"-p {item}: expected KEY=VALUE (an hgq-standard option)")
            options[key.replace("-", "_")] = value
        result = compile_many(args.paths, args.output, parse_cutoffs(args.latency_cutoff), jobs=args.jobs,
                              scheduler=args.scheduler, metric=args.metric, progress=not args.quiet, **options)
    except UserError as e:
        print(f"hgq-batch: {e}", file=sys.stderr)
        return 2
    print(format_summary(result))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
