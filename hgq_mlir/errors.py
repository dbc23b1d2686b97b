"""User-facing errors and the exit codes of `hgq-opt` and `hgq-verify`.

    0    success
    1    `hgq-verify` found mismatches between the RTL and the model
    2    bad input or usage: one line on stderr naming the file, layer, op or option
    70   internal error (a bug): one line on stderr with "please report" and the path of
         a log file holding the full traceback
    130  interrupted (Ctrl-C): one line on stderr; no output file is left half-written
"""

from __future__ import annotations

import atexit
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A problem with the user's input (model, IR, option) that names what and where.

    Printed as `<tool>: <message>` (or the bare message with `prefixed=False`)."""

    def __init__(self, message: str, prefixed: bool = True) -> None:
        super().__init__(message)
        self.prefixed = prefixed


def _no_controls(text: str) -> str:
    """Control characters (a name's newline, an escape sequence) as `\\xNN`: one line, inert."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in text)


def _say(line: str) -> None:
    line = _no_controls(line)
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _write_log(prog: str, argv: Sequence[str]) -> str:
    fd, path = tempfile.mkstemp(prefix=f"{prog}-crash-", suffix=".log")
    with os.fdopen(fd, "w") as log:
        log.write(f"{prog} {' '.join(argv)}\n\n")
        traceback.print_exc(file=log)
    return path


def exit_without_teardown(code: int) -> NoReturn:
    """End a command-line tool: run the exit handlers, flush, and leave without freeing every
    object one by one. A large model's IR is millions of objects, and tearing them down takes
    as long as a pass (2.5 s on a 13 880-adder model), for memory the system reclaims anyway
    (clang's `-disable-free`)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def run_tool(prog: str, body: Callable[[], int], argv: Sequence[str] = ()) -> int:
    """Run a command-line tool's body and map what it raises to an exit code and one line."""
    from hgq_mlir.collector import few_collections

    try:
        with few_collections():
            return body()
    except UserError as e:
        message = str(e)
        _say(f"{prog}: {message}" if e.prefixed else message)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _say(f"{prog}: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (`| head`): nothing more to say to it
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_INTERRUPTED
    except MemoryError:
        _say(f"{prog}: out of memory")
        return EXIT_BAD_INPUT
    except Exception as e:
        try:
            where = f"; the full log is {_write_log(prog, argv)}"
        except OSError:
            where = ""
        kind = type(e).__name__
        text = str(e).strip().splitlines()
        detail = f": {text[0][:200]}" if text else ""
        from hgq_mlir.backend.names import printable

        _say(f"{prog}: internal error ({kind}{printable(detail)}); please report it{where}")
        return EXIT_INTERNAL
