"""`hgq-opt`: the compiler driver (an xDSLOptMain with our dialects, passes and targets)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    VerifyException,
)
from xdsl.xdsl_opt_main import xDSLOptMain

from hgq_mlir.errors import UserError


class HgqOptMain(xDSLOptMain):
    version_format = "hgq-opt (hgq-mlir) on xdsl {xdsl_version}"

    def register_all_dialects(self) -> None:
        from xdsl.dialects import builtin, comb, func, hw, seq

        from hgq_mlir.dialects.fx import FX
        from hgq_mlir.dialects.hgq import HGQ

        for d in (builtin.Builtin, func.Func, HGQ, FX, hw.HW, comb.Comb, seq.Seq):
            self.ctx.load_dialect(d)

    def register_all_passes(self) -> None:
        from hgq_mlir.passes import get_all_passes

        for name, factory in get_all_passes().items():
            self.register_pass(name, factory)

    def register_all_frontends(self) -> None:
        super().register_all_frontends()

        def parse_keras(_io: IO[bytes]) -> ModuleOp:
            from hgq_mlir.frontend.keras import import_model, load_keras

            return import_model(load_keras(self.args.input_file))

        self.available_frontends["keras"] = parse_keras
        self.available_frontends["h5"] = parse_keras  # HDF5 checkpoints, as HGQ2 0.1 saved them

    def register_all_targets(self) -> None:
        super().register_all_targets()

        def verilog(module: ModuleOp, _out: IO[str]) -> None:
            from hgq_mlir.backend.report import format_table
            from hgq_mlir.backend.rtl import write_rtl

            if self.args.output_file is None:
                raise UserError("-t verilog needs -o DIR (the folder for <top>.v, <top>.json, report.json)")
            report = write_rtl(module, self.args.output_file, self.args.clock_period, self.args.part)
            print(format_table(report))

        self.available_targets["verilog"] = verilog

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--clock-period",
            type=float,
            metavar="NS",
            default=None,
            help="with -t verilog: also write <top>.xdc (this clock period) and build_vivado.tcl",
        )
        arg_parser.add_argument("--part", default="xcvu13p-flga2577-2-e", help="FPGA part for build_vivado.tcl")
        arg_parser.add_argument(
            "--dump-ir-dir",
            metavar="DIR",
            default=None,
            help="write the IR before the first pass and after every pass into DIR "
            "(00-input.mlir, 01-<pass>.mlir, ...), for inspection and diffing",
        )

    def setup_pipeline(self) -> None:
        if not self.args.passes and self.args.target == "verilog":
            self.args.passes = "hgq-standard"
        try:
            super().setup_pipeline()
        except (ValueError, TypeError) as e:
            raise UserError(f"bad pass pipeline '{self.args.passes}': {_one_line(e)}") from None
        # composite passes run as their steps, so every step can be printed and dumped
        steps = [s for p in self.pipeline.passes for s in (p.steps() if hasattr(p, "steps") else [p])]
        self.pipeline = type(self.pipeline)(tuple(steps), self.pipeline.callback)
        dump_dir = self.args.dump_ir_dir
        if dump_dir is None:
            return
        stock = self.pipeline.callback
        counter = [0]

        def dump(previous: ModulePass | None, module: ModuleOp, following: ModulePass | None) -> None:
            if stock is not None:
                stock(previous, module, following)
            if previous is None and following is None:
                return
            label = "input" if previous is None else previous.name
            if previous is None and counter[0] > 0:
                return
            Path(dump_dir).mkdir(parents=True, exist_ok=True)
            path = Path(dump_dir) / f"{counter[0]:02d}-{label}.mlir"
            with open(path, "w") as out:
                Printer(stream=out).print_op(module)
                out.write("\n")
            counter[0] += 1

        self.pipeline = type(self.pipeline)(self.pipeline.passes, dump)

    def get_input_stream(self):
        path = self.args.input_file
        if path is not None and not os.path.isfile(path):
            raise UserError(f"{path}: no such input file")
        return super().get_input_stream()

    def prepare_output(self) -> IO[str]:
        if self.args.target == "verilog":
            return _DeferredFile(None)  # the target writes its own folder
        # Written only once the whole result exists: no half-written files.
        return sys.stdout if self.args.output_file is None else _DeferredFile(self.args.output_file)


class _DeferredFile:
    """A text sink that lands in its file atomically, and only on success."""

    def __init__(self, path: str | None):
        self.path = path
        self.parts: list[str] = []
        self.failed = False

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if sys.exc_info()[0] is not None or self.path is None:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".hgq-opt-")
        with os.fdopen(fd, "w") as out:
            out.write("".join(self.parts))
        os.replace(tmp, self.path)


def _one_line(e: BaseException) -> str:
    if isinstance(e, ParseError):
        return f"{e.span.get_location()}: error: {e.msg}"
    text = str(e).strip()
    if isinstance(e, ArgSpecParseError):
        text = " ".join(text.split())
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[0] if lines else type(e).__name__


def main(argv: list[str] | None = None) -> int:
    try:
        HgqOptMain(description="hgq-mlir: HGQ2 models to multiplier-free FPGA logic", args=argv).run()
    except UserError as e:
        print(f"hgq-opt: {e}", file=sys.stderr)
        return 1
    except ParseError as e:
        print(_one_line(e), file=sys.stderr)
        return 1
    except (VerifyException, DiagnosticException) as e:
        print(f"hgq-opt: invalid IR: {_one_line(e)}", file=sys.stderr)
        return 1
    except ArgSpecParseError as e:
        print(f"hgq-opt: bad pass pipeline: {_one_line(e)}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError) as e:
        print(f"hgq-opt: {_one_line(e)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
