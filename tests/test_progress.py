"""Progress on stderr: only on a terminal, after the delay, silenced by --quiet; names escaped."""

import io
import os
import pty
import subprocess
import sys
import time

from hgq_mlir import progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_printable_escapes_control_characters_keeps_table_lines():
    assert progress.printable("a\x1b[31mb\rc\nd\u202e") == "a\\x1b[31mb\\x0dc\nd\\u202e"


def test_display_only_on_a_terminal():
    piped, tty = io.StringIO(), _Terminal()
    for stream in (piped, tty):
        with progress.display(stream=stream, delay=0.0, label="t"):
            time.sleep(0.3)
            progress.stage("lower-hgq-to-fx")
            progress.layer(2, 3, "dense\x1b[2J")
            progress.solve(1, 4)
            time.sleep(0.3)
    assert piped.getvalue() == ""
    shown = tty.getvalue()
    assert "lower-hgq-to-fx" in shown and "layer 2/3" in shown and "CMVM 1/4" in shown
    assert "dense\\x1b[2J" in shown and "\x1b[2J" not in shown  # the name cannot clear the screen


def test_display_waits_for_the_delay_and_is_a_noop_when_off():
    tty = _Terminal()
    with progress.display(stream=tty, delay=5.0):
        progress.stage("quick")
    assert tty.getvalue() == ""  # finished before the delay: nothing shown
    with progress.display(enabled=False, stream=tty, delay=0.0):
        time.sleep(0.2)
        progress.stage("quiet")
    assert tty.getvalue() == ""
    progress.stage("no display")  # no active display: a no-op


def _stderr_on_a_pty(*args) -> str:
    controller, follower = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "hgq_mlir.driver", *args], stdout=subprocess.DEVNULL,
                         stderr=follower, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(controller, 4096)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    assert p.wait() == 0
    os.close(controller)
    return b"".join(chunks).decode(errors="replace")


def test_hgq_opt_progress_on_a_terminal_only(tiny_model, tmp_path):
    _, path = tiny_model
    # a .keras compile loads TensorFlow: over the 2 s delay on this machine
    shown = _stderr_on_a_pty(str(path), "-t", "verilog", "-o", str(tmp_path / "tty"))
    assert "hgq-opt" in shown
    assert _stderr_on_a_pty(str(path), "-t", "verilog", "-o", str(tmp_path / "quiet"), "--quiet") == ""
    p = subprocess.run([sys.executable, "-m", "hgq_mlir.driver", str(path), "-t", "verilog", "-o", str(tmp_path / "pipe")],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.splitlines()[0].startswith("layer")
