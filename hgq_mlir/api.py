"""The Python API: compile an HGQ2 model to RTL from a notebook or a script.

    import hgq_mlir
    r = hgq_mlir.compile("model.keras", "out", latency_cutoff=2)
    r.report.luts, r.report.layers["dense1"].adders, r.manifest["latency"]
    r.verify(n=1000)          # the same check as `hgq-verify model.keras --rtl out`
    print(r.ir("fx"))         # the IR at the hgq, fx or hw level

Runs the same passes, RTL writer and checks as `hgq-opt M -t verilog -o OUT` and
`hgq-verify`; every user error raises `hgq_mlir.errors.UserError` whose message is the
line `hgq-opt` prints (without its `hgq-opt: ` prefix).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hgq_mlir.errors import UserError

DEFAULT_PART = "xcvu13p-flga2577-2-e"
LEVELS = ("hgq", "fx", "hw")

# `hgq-standard` options as Python keywords (underscores) -> the pass option's spelling
def _standard_options() -> tuple[str, ...]:
    """hgq-standard's options as Python keywords: the pass's own fields."""
    from hgq_mlir.passes.standard import HgqStandard

    return tuple(f.name for f in dataclasses.fields(HgqStandard))


@dataclass(frozen=True)
class LayerReport:
    """One layer's line of report.json (pruning figures are None where a layer has none)."""

    name: str
    luts: int = 0
    ffs: int = 0
    srls: int = 0
    adders: int = 0
    weights: int | None = None
    kept: int | None = None
    zero_bits: int | None = None
    zero_value: int | None = None
    dead_or_folded: int | None = None
    neurons_removed: int | None = None
    luts_unpruned: int | None = None
    adders_unpruned: int | None = None


@dataclass(frozen=True)
class Report:
    """report.json as a dataclass: totals, and `layers` by name (in the file's order)."""

    top: str
    luts: int
    ffs: int
    srls: int
    dsps: int
    adders: int
    latency: int
    adder_levels: int
    layers: dict[str, LayerReport]
    inputs_removed: int | None = None
    luts_unpruned: int | None = None
    adders_unpruned: int | None = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict) -> Report:
        names = {f.name for f in dataclasses.fields(LayerReport)}
        layers = {n: LayerReport(n, **{k: v for k, v in v.items() if k in names}) for n, v in d.get("layers", {}).items()}
        top = {f.name for f in dataclasses.fields(cls)} - {"layers", "raw"}
        return cls(layers=layers, raw=d, **{k: v for k, v in d.items() if k in top})

    def table(self) -> str:
        """The table `hgq-opt -t verilog` prints (control characters in names escaped)."""
        from hgq_mlir.backend.report import format_table
        from hgq_mlir.progress import printable

        return printable(format_table(self.raw))


@dataclass(frozen=True)
class VerifyResult:
    mismatches: int
    compared: int
    vectors: int
    simulator: str

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def __str__(self) -> str:
        return f"mismatches={self.mismatches} of {self.compared} ({self.vectors} vectors, {self.simulator})"


@dataclass
class CompileResult:
    """What `compile` wrote and measured. `paths` maps a role (verilog, manifest, report,
    xdc, tcl, resources_png, bitwidths_png, html) to the file written."""

    out_dir: Path
    report: Report
    manifest: dict
    paths: dict[str, Path]
    seconds: float
    model: Any = field(repr=False, default=None)
    source: Path | None = None  # the model file compiled, if it came from one
    _ir: dict = field(repr=False, default_factory=dict)

    def ir(self, level: str = "hw") -> str:
        """The IR as text: `hgq` as imported from the model (what `hgq-opt M` prints),
        `fx` as it enters lower-fx-to-hw, `hw` as the RTL was written from."""
        if level not in LEVELS:
            raise UserError(f"ir: unknown level '{level}' (choose from {', '.join(LEVELS)})")
        if level not in self._ir:
            raise UserError(f"ir: the pipeline never reached the {level} level")
        module = self._ir[level]
        if not isinstance(module, str):
            from io import StringIO

            from xdsl.printer import Printer

            out = StringIO()
            Printer(stream=out).print_op(module)
            out.write("\n")
            self._ir[level] = module = out.getvalue()
        return module

    def verify(self, n: int = 1000, simulator: str = "auto", seed: int = 0) -> VerifyResult:
        """Simulate the written RTL on n random inputs and compare every output bit with
        Keras's `predict` (what `hgq-verify MODEL --rtl OUT -n N` does)."""
        from hgq_mlir.backend.verify import verify

        if n < 1:
            raise UserError(f"verify: n={n} must be at least 1")
        with user_errors(), tempfile.TemporaryDirectory(prefix="hgq-verify-") as tmp:
            source = self.source
            if source is None:  # a live model: hgq-verify reads a file
                source = Path(tmp) / "model.keras"
                self.model.save(source)
            mismatches, total, sim = verify(str(source), self.out_dir, n, simulator, seed)
        return VerifyResult(mismatches, total, n, sim)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn what `hgq-opt` reports as a one-line error into a UserError with that line."""
    from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError, VerifyException

    from hgq_mlir.driver import _one_line

    try:
        yield
    except UserError:
        raise
    except ParseError as e:
        raise UserError(_one_line(e)) from None
    except (VerifyException, DiagnosticException) as e:
        raise UserError(f"invalid IR: {_one_line(e)}") from None
    except ArgSpecParseError as e:
        raise UserError(f"bad pass pipeline: {_one_line(e)}") from None
    except (ValueError, TypeError, OSError) as e:
        raise UserError(_one_line(e)) from None


def standard_spec(latency_cutoff: int | None = None, **options) -> str:
    """`hgq-standard{...}` from Python keywords (`depth_slack=2` -> `depth-slack=2`)."""
    known = _standard_options()
    unknown = sorted(set(options) - set(known))
    if unknown:
        allowed = ", ".join(known)
        raise UserError(f"unknown option '{unknown[0]}' (hgq-standard options: {allowed})")
    if latency_cutoff is not None:
        options["latency_cutoff"] = latency_cutoff
    parts = []
    for key, value in options.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, tuple | list):  # input_format=(k, i, f)
            text = ",".join(map(str, value))
        else:
            text = str(value)
        parts.append(f"{key.replace('_', '-')}={text}")
    return "hgq-standard" + ("{" + " ".join(parts) + "}" if parts else "")


def _load(model_or_path):
    from hgq_mlir.frontend.keras import load_keras

    if isinstance(model_or_path, str | os.PathLike):
        from hgq_mlir.backend.names import printable
        from hgq_mlir.driver import check_keras_file

        path = os.fspath(model_or_path)
        if os.path.isdir(path):  # the checks and messages of hgq-opt
            raise UserError(f"{printable(path)}: is a directory, not an input file")
        if not os.path.exists(path):
            raise UserError(f"{printable(path)}: no such input file")
        check_keras_file(path)
        return load_keras(path)
    if hasattr(model_or_path, "layers") and hasattr(model_or_path, "predict"):
        return model_or_path
    raise UserError(f"expected a keras.Model or a model file path, got {type(model_or_path).__name__}")


def _steps(spec: str) -> list:
    from xdsl.passes import PassPipeline

    from hgq_mlir.passes import get_all_passes

    try:
        pipeline = PassPipeline.parse_spec(get_all_passes(), spec)
    except (ValueError, TypeError) as e:
        from hgq_mlir.driver import _one_line

        raise UserError(f"bad pass pipeline '{spec}': {_one_line(e)}") from None
    return [s for p in pipeline.passes for s in (p.steps() if hasattr(p, "steps") else [p])]


def compile(model_or_path, out_dir: str | os.PathLike, *, latency_cutoff: int | None = None,
            clock_period: float | None = None, part: str = DEFAULT_PART, passes: str | None = None,
            plots: bool = True, progress: bool = True, **options) -> CompileResult:
    """Compile a model (a keras.Model, or a `.keras` / `.h5` file) to RTL in `out_dir`.

    Runs `hgq-standard` with the given options (`latency_cutoff`, `dense`, `depth_slack`,
    `max_width`, `prune`, `baseline`; or a whole pipeline as `passes="..."`, as `-p` takes
    it), then writes what `hgq-opt M -t verilog -o out_dir [--clock-period NS --part P]`
    writes, and the plots (`plots=False` skips them). Progress goes to stderr when it is a
    terminal and the compile takes over 2 s (`progress=False` silences it).
    """
    from xdsl.context import Context
    from xdsl.dialects import hw

    from hgq_mlir import progress as bar
    from hgq_mlir.backend.rtl import write_rtl
    from hgq_mlir.collector import few_collections
    from hgq_mlir.frontend.keras import import_model

    if passes is not None and (options or latency_cutoff is not None):
        raise UserError("give either passes= or hgq-standard options, not both")
    spec = passes if passes is not None else standard_spec(latency_cutoff, **options)
    start = time.perf_counter()
    with bar.display(enabled=progress, label="hgq-mlir"), user_errors(), few_collections():
        bar.stage("load model")
        model = _load(model_or_path)
        steps = _steps(spec)
        bar.stage("import")
        module = import_model(model)
        snapshots = {"hgq": module.clone()}
        ctx = Context()
        for step in steps:
            if step.name == "lower-fx-to-hw":
                snapshots["fx"] = module.clone()
            bar.stage(step.name)
            step.apply(ctx, module)
        if not any(isinstance(op, hw.HWModuleOp) for op in module.walk()):
            raise UserError(f"pass pipeline '{spec}' does not lower the model to hw (add lower-fx-to-hw)")
        snapshots["hw"] = module
        bar.stage("write RTL")
        report = write_rtl(module, out_dir, clock_period, part)
    out = Path(out_dir)
    top = report["top"]
    paths = {"verilog": out / f"{top}.v", "manifest": out / f"{top}.json", "report": out / "report.json"}
    if clock_period is not None:
        paths.update(xdc=out / f"{top}.xdc", tcl=out / "build_vivado.tcl")
    if plots:
        from hgq_mlir.plots import bit_widths, write_plots

        paths.update(write_plots(out, report, bit_widths(snapshots["hgq"])))
    manifest = json.loads(paths["manifest"].read_text())
    source = Path(model_or_path) if isinstance(model_or_path, str | os.PathLike) else None
    return CompileResult(out, Report.from_dict(report), manifest, paths, time.perf_counter() - start, model, source,
                         snapshots)
