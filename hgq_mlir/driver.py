"""`hgq-opt`: the compiler driver (an xDSLOptMain with our dialects, passes and targets).

Exit codes (see `hgq_mlir.errors`): 0 success; 2 bad input or usage (one line on stderr
naming the file, layer, op or option); 130 interrupted (one line); 70 an internal error
(one line, "please report", and the path of a log holding the traceback).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import re
import sys
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

from hgq_mlir import progress
from hgq_mlir.backend.names import printable
from hgq_mlir.errors import UserError, exit_without_teardown, run_tool
from hgq_mlir.verifier import verify_ir

# xDSL 0.74.0's string-literal pattern, `"(?:[^"\\\n\v\f]+|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"`,
# nests a `+` inside a `*`: with no closing quote on the line, the regex engine tries every
# way to split the characters between the two loops (exponential in their number). The
# same language without the inner `+` matches in linear time, with the same match.
_LINEAR_STRING_LITERAL = r'"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"'


def guard_string_literal_regex() -> None:
    """Replace xDSL's exponential string-literal pattern by the linear one (same matches)."""
    from xdsl.utils.mlir_lexer import MLIRLexer

    if MLIRLexer._unescaped_characters_regex.pattern != _LINEAR_STRING_LITERAL:
        MLIRLexer._unescaped_characters_regex = re.compile(_LINEAR_STRING_LITERAL)


guard_string_literal_regex()

KERAS_ZIP_MAGIC = b"PK\x03\x04"


def check_keras_file(path: str) -> None:
    """A one-line UserError unless `path` looks like a `.keras` archive (checked before Keras
    reads it, so that its message names the file and the problem)."""
    import zipfile

    shown = printable(path)
    if os.path.isdir(path):
        raise UserError(f"{shown}: is a directory, not a model file")
    if not os.path.exists(path):
        raise UserError(f"{shown}: no such model file")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise UserError(f"{shown}: cannot read: {e.strerror}") from None
    if not head:
        raise UserError(f"{shown}: empty file, not a Keras model")
    if head.startswith(b"\x89HDF"):  # an HDF5 checkpoint (as HGQ2 0.1 saved): Keras reads it too
        from hgq_mlir.frontend.keras import check_h5_model

        return check_h5_model(path)
    if not head.startswith(KERAS_ZIP_MAGIC):
        raise UserError(f"{shown}: not a Keras model (a .keras file is a zip archive)")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise UserError(f"{shown}: truncated or damaged .keras archive ({printable(str(e))})") from None
    if "config.json" not in names:
        raise UserError(f"{shown}: not a Keras model (the archive has no config.json)")


def _check_pass_options(passes) -> None:
    """Pass options whose range the pass itself would only notice late, or not at all."""
    for p in passes:
        width = getattr(p, "max_width", None)
        if isinstance(width, int) and width < 1:
            raise UserError(f"{p.name}: max-width={width} must be >= 1 (bits)")
        slack = getattr(p, "depth_slack", None)
        if isinstance(slack, int) and slack < 0:
            raise UserError(f"{p.name}: depth-slack={slack} must be >= 0")


def _check_choices(spec: str, available: dict) -> None:
    """Options typed `Literal[...]` (e.g. `dense`): a value outside the choices is one line
    naming the pass, the option, the value and the choices (xDSL's own message names the
    Python type)."""
    from typing import Literal, get_args, get_origin, get_type_hints

    from xdsl.utils.arg_spec import parse_pipeline

    try:
        specs = list(parse_pipeline(spec))
    except Exception:  # a malformed pipeline: xDSL reports it
        return
    for s in specs:
        if s.name not in available:
            continue
        hints = get_type_hints(available[s.name]())
        for option, values in s.normalize_parameter_names().parameters.items():
            hint = hints.get(option)
            if get_origin(hint) is Literal and not (len(values) == 1 and values[0] in get_args(hint)):
                shown = printable(",".join(map(str, values)))
                raise UserError(f"{s.name}: unknown {option.replace('_', '-')}={shown} "
                                f"(choose from {', '.join(map(str, get_args(hint)))})")


class _UsageParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit 2) instead of usage text."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{message} (see --help)")


class HgqOptMain(xDSLOptMain):
    version_format = "hgq-opt (hgq-mlir) on xdsl {xdsl_version}"

    def _stock(self, stock, previous: ModulePass | None, module: ModuleOp, following: ModulePass | None,
               verify: bool) -> None:
        """xDSL's pipeline callback: pass times, `--print-between-passes`, and its
        verification only if `verify` (the input and the final IR are verified by `verify_ir`)."""
        if stock is None:
            return
        kept = self.args.disable_verify
        self.args.disable_verify = not verify
        try:
            stock(previous, module, following)
        finally:
            self.args.disable_verify = kept

    def _verilog(self) -> bool:
        """`-t verilog`, with or without target options (`-t 'verilog{clock-period=5}'`)."""
        from xdsl.utils.arg_spec import parse_spec

        try:
            return parse_spec(self.args.target).name == "verilog"
        except Exception:
            return False

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

        def parse_mlir(io: IO[bytes]) -> ModuleOp:
            from xdsl.parser import Parser

            name = self.get_input_name()
            data = io.read()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UserError(f"{printable(name)}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                                "IR files are UTF-8") from None
            return Parser(self.ctx, text, name).parse_module(not self.args.no_implicit_module)

        def parse_keras(_io: IO[bytes]) -> ModuleOp:
            from hgq_mlir.frontend.keras import import_model, load_keras, prefer_numpy_backend

            check_keras_file(self.args.input_file)
            prefer_numpy_backend(self.args.input_file)
            return import_model(load_keras(self.args.input_file))

        self.available_frontends["mlir"] = parse_mlir
        self.available_frontends["keras"] = parse_keras

    def register_all_targets(self) -> None:
        super().register_all_targets()
        from hgq_mlir.backend.verilog import VerilogTarget

        self.available_targets["verilog"] = lambda: VerilogTarget

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.__class__ = _UsageParser
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--clock-period",
            type=float,
            metavar="NS",
            default=None,
            help="with -t verilog: also write <top>.xdc (this clock period) and build_vivado.tcl",
        )
        arg_parser.add_argument("--part", default="xcvu13p-flga2577-2-e", help="FPGA part for build_vivado.tcl")
        arg_parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
        arg_parser.add_argument(
            "--verify-each",
            action="store_true",
            help="verify the IR after every pass (the input and the final IR are always verified; "
            "on a large model each verification costs as much as a pass)",
        )
        arg_parser.add_argument(
            "--force",
            action="store_true",
            help="with -t verilog: write into a non-empty folder that holds no earlier build "
            "(its other files are left alone)",
        )
        arg_parser.add_argument(
            "--dump-ir-dir",
            metavar="DIR",
            default=None,
            help="write the IR before the first pass and after every pass into DIR "
            "(00-input.mlir, 01-<pass>.mlir, ...; earlier dumps there are removed first), for inspection and diffing",
        )

    def setup_pipeline(self) -> None:
        if not self.args.passes and self._verilog():
            self.args.passes = "hgq-standard"
        _check_choices(self.args.passes, self.available_passes)
        try:
            super().setup_pipeline()
        except (ValueError, TypeError) as e:
            raise UserError(f"bad pass pipeline '{printable(self.args.passes)}': {_one_line(e)}") from None
        _check_pass_options(self.pipeline.passes)
        # composite passes run as their steps, so every step can be printed and dumped
        steps = [s for p in self.pipeline.passes for s in (p.steps() if hasattr(p, "steps") else [p])]
        _check_pass_options(steps)
        stock = self.pipeline.callback

        def checked(previous: ModulePass | None, module: ModuleOp, following: ModulePass | None) -> None:
            if previous is None and self._verilog():
                from hgq_mlir.plots import bit_widths

                self.bit_widths = bit_widths(module)  # what HGQ learned, for bitwidths.png
            last = "write output" if self.args.disable_verify else "verify"  # the final IR's verification
            progress.stage(following.name if following is not None else last)
            verify = not self.args.disable_verify
            if previous is not None:
                between = following is not None
                self._stock(stock, previous, module, following, verify=verify and between and self.args.verify_each)
                if verify and not between:
                    verify_ir(module)
                return
            try:  # the input's verification: whatever it raises is about the input
                if verify:
                    verify_ir(module)
                self._stock(stock, previous, module, following, verify=False)
            except (VerifyException, DiagnosticException, UserError, KeyboardInterrupt):
                raise
            except Exception as e:
                raise UserError(f"invalid IR: {type(e).__name__}: {_one_line(e)}") from None

        self.pipeline = type(self.pipeline)(tuple(steps), checked)
        dump_dir = self.args.dump_ir_dir
        if dump_dir is None:
            return
        counter = [0]

        def dump(previous: ModulePass | None, module: ModuleOp, following: ModulePass | None) -> None:
            checked(previous, module, following)
            if previous is None and following is None:
                return
            label = "input" if previous is None else previous.name
            if previous is None and counter[0] > 0:
                return
            folder = Path(dump_dir)
            if counter[0] == 0:
                _clear_dumps(folder)
            path = folder / f"{counter[0]:02d}-{label}.mlir"
            with open(path, "w") as out:
                Printer(stream=out).print_op(module)
                out.write("\n")
            counter[0] += 1

        self.pipeline = type(self.pipeline)(self.pipeline.passes, dump)

    def get_input_stream(self):
        path = self.args.input_file
        if path is not None:
            shown = printable(path)
            if os.path.isdir(path):
                raise UserError(f"{shown}: is a directory, not an input file")
            if not os.path.exists(path):
                raise UserError(f"{shown}: no such input file")
            ext = os.path.splitext(path)[1].lstrip(".")
            kind = self.args.frontend or ext
            kind = "keras" if kind in ("h5", "hdf5") else kind
            if kind not in self.available_frontends:
                raise UserError(f"{shown}: unknown input kind '{printable(ext)}' "
                                f"(.mlir or .keras; -f mlir or -f keras to choose)")
            if kind == "keras":
                check_keras_file(path)
                self.args.frontend = "keras"  # .h5 too
        try:
            return super().get_input_stream()
        except OSError as e:
            raise UserError(f"{printable(path or '-')}: cannot read: {e.strerror}") from None

    def parse_chunk(self, chunk, file_extension: str, start_offset: int = 0):
        try:
            return super().parse_chunk(chunk, file_extension, start_offset)
        except (ParseError, UserError, KeyboardInterrupt, VerifyException, DiagnosticException):
            raise
        except RecursionError:
            raise UserError(f"{printable(self.get_input_name())}: nesting too deep to parse") from None
        except Exception as e:  # the parser's other exceptions are about the input too
            raise UserError(f"{printable(self.get_input_name())}: cannot parse: {type(e).__name__}: {_one_line(e)}") from None

    def prepare_output(self) -> IO[str]:
        if self._verilog():
            return sys.stdout  # the target writes its own folder; the resource table goes here
        # Written only once the whole result exists: no half-written files.
        return sys.stdout if self.args.output_file is None else _DeferredFile(self.args.output_file)

    def output_resulting_program(self, prog: ModuleOp) -> str:
        if not self._verilog():
            return super().output_resulting_program(prog)
        from io import StringIO

        from xdsl.utils.arg_spec import parse_spec

        from hgq_mlir.backend.verilog import VerilogTarget

        target = VerilogTarget.from_spec(parse_spec(self.args.target))
        target = dataclasses.replace(
            target,
            out_dir=self.args.output_file or target.out_dir,
            clock_period=self.args.clock_period if self.args.clock_period is not None else target.clock_period,
            part=self.args.part,
            force=self.args.force or target.force,
        )
        out = StringIO()
        # The report and the Verilog allocate millions of small objects and free no cycles; the
        # IR (a million ops on a large layer) would be traversed by every full collection they
        # trigger, so it is left out of them. (The lowered fx IR is freed already: lower-fx-to-hw
        # takes it apart, and a collection now would only walk the live IR.)
        progress.stage("write output")
        gc.freeze()
        try:
            target.emit(self.ctx, prog, out)
        finally:
            gc.unfreeze()
        from hgq_mlir.plots import write_plots

        report = json.loads((Path(target.out_dir) / "report.json").read_text())
        write_plots(target.out_dir, report, getattr(self, "bit_widths", None))  # adds files only
        return out.getvalue()

    def run(self):
        with progress.display(enabled=not self.args.quiet, label="hgq-opt"):
            super().run()


def _clear_dumps(folder: Path) -> None:
    """Create the dump folder; remove an earlier run's `NN-*.mlir` dumps from it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for p in folder.glob("[0-9][0-9]-*.mlir"):
            if p.is_file() or p.is_symlink():
                p.unlink()
    except OSError as e:
        raise UserError(f"--dump-ir-dir {printable(str(folder))}: {e.strerror}") from None


class _DeferredFile:
    """A text sink that lands in its file (`backend.output.write_file`) only on success."""

    def __init__(self, path: str):
        self.path = path
        self.parts: list[str] = []

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if sys.exc_info()[0] is not None:
            return
        from hgq_mlir.backend.output import write_file

        write_file(self.path, "".join(self.parts))


def _one_line(e: BaseException) -> str:
    if isinstance(e, ParseError):
        return printable(f"{e.span.get_location()}: error: {e.msg}")
    text = str(e).strip()
    if isinstance(e, ArgSpecParseError):
        text = " ".join(text.split())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if isinstance(e, VerifyException | DiagnosticException) and lines and lines[0].endswith(":"):
        lines = [" ".join(lines[:3])]  # "... does not verify:" says why on the next lines
    return printable(lines[0][:400]) if lines else type(e).__name__


def _run(argv: list[str] | None) -> int:
    try:
        HgqOptMain(description="hgq-mlir: HGQ2 models to multiplier-free FPGA logic", args=argv).run()
    except ParseError as e:
        raise UserError(_one_line(e), prefixed=False) from None
    except (VerifyException, DiagnosticException) as e:
        raise UserError(f"invalid IR: {_one_line(e)}") from None
    except ArgSpecParseError as e:
        raise UserError(f"bad pass pipeline: {_one_line(e)}") from None
    except ValueError as e:  # passes and xDSL's option handling report bad input this way
        raise UserError(_one_line(e)) from None
    except OSError as e:
        where = f"{printable(e.filename)}: " if e.filename else ""
        raise UserError(f"{where}{e.strerror or _one_line(e)}") from None
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_tool("hgq-opt", lambda: _run(argv), argv if argv is not None else sys.argv[1:])


def cli() -> None:
    """The `hgq-opt` command."""
    exit_without_teardown(main())


if __name__ == "__main__":
    cli()
