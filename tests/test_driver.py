"""Hostile and broken input (issue #17): exit 2 with exactly one line on stderr naming the
file / layer / op / option, no traceback, nothing written; no write outside the output
folder, no injected Verilog, no hang; 130 on Ctrl-C; `hgq-verify` exit codes.

Exit codes: 0 success, 1 mismatches (`hgq-verify`), 2 bad input or usage, 70 internal
error, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from hgq_mlir import driver

ROOT = Path(__file__).resolve().parent.parent
JSC = ROOT / "examples" / "jsc.keras"

# -- small inputs ----------------------------------------------------------------------

HGQ_IR = """func.func @wide() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<3> : tensor<2xi32>, f = dense<2> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 3, 2>>
  %2 = hgq.const mantissa = dense<[[7, 3], [-5, 1]]> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<1, 3, 0>>
  %3 = hgq.dense %1, %2 {layer = "d"} : tensor<2x!hgq.fixed<1, 3, 2>>, tensor<2x2x!hgq.fixed<1, 3, 0>> -> tensor<2x!hgq.fixed<1, 7, 2>>
  hgq.output "out" %3 : tensor<2x!hgq.fixed<1, 7, 2>>
  func.return
}
"""

# every output constant: a zero-width input quantizer (k = i = f = 0), or negative i / f
CONSTANT_IR = """func.func @m() {{
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 TRN SAT k = dense<0> : tensor<2xi32>, i = dense<{i}> : tensor<2xi32>, f = dense<{f}> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<0, {i}, {f}>>
  %2 = hgq.const mantissa = dense<[[3, 1], [2, 1]]> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<0, 2, 0>>
  %3 = hgq.dense %1, %2 {{layer = "d"}} : tensor<2x!hgq.fixed<0, {i}, {f}>>, tensor<2x2x!hgq.fixed<0, 2, 0>> -> tensor<2x!hgq.fixed<0, 3, 0>>
  hgq.output "out" %3 : tensor<2x!hgq.fixed<0, 3, 0>>
  func.return
}}
"""


def hw_ir(name: str = "t", inp: str = "inp", out: str = "out", layer: str = "l", interface: str | None = None) -> str:
    """A 4-bit adder at hw level, with the typed port layout; names quoted as MLIR strings."""
    q = lambda s: '"' + s.replace("\\", "\\5C").replace('"', "\\22").replace("\n", "\\0A") + '"'  # noqa: E731
    if interface is None:
        interface = (f"{{latency = 0 : i64, ports = {{{q(inp)} = array<i64: 0, 4, 1, 0, 1, 4, 1, 0>, "
                     f"{q(out)} = array<i64: 0, 5, 1, 0>}}}}")
    return (
        f"hw.module @{q(name)}(in %a {q(inp)}: i8, out {q(out)}: i5) attributes {{hgq.interface = {interface}}} {{\n"
        "  %x = comb.extract %a from 0 : (i8) -> i4\n"
        "  %y = comb.extract %a from 4 : (i8) -> i4\n"
        "  %sx = comb.extract %x from 3 : (i4) -> i1\n"
        "  %sy = comb.extract %y from 3 : (i4) -> i1\n"
        "  %xx = comb.concat %sx, %x : i1, i4\n"
        "  %yy = comb.concat %sy, %y : i1, i4\n"
        f"  %s = comb.add %xx, %yy {{layer = {q(layer)}}} : i5\n"
        "  hw.output %s : i5\n"
        "}\n"
    )


def hgq_opt(*args, cwd=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["hgq-opt", *map(str, args)], capture_output=True, text=True, cwd=cwd, **kw)


def hgq_verify(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["hgq-verify", *map(str, args)], capture_output=True, text=True, **kw)


def in_process(capsys, *args) -> tuple[int, str, str]:
    """hgq-opt's main in this process (fast): (exit code, stdout, stderr)."""
    capsys.readouterr()
    rc = driver.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line(err: str, *needles: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")} if path.exists() else set()


# -- bad models (unsupported layers) ---------------------------------------------------


def _save(model, path):
    model.save(path)
    return path


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    import keras
    from hgq.layers import QDense

    root = tmp_path_factory.mktemp("bad")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="plain_dense")], name="plain")
    norm = keras.Sequential([keras.Input((8,)), QDense(4), keras.layers.LayerNormalization(name="ln"), QDense(2)], name="norm")
    tanh = keras.Sequential([keras.Input((4,)), QDense(3, activation="tanh", name="d_tanh")], name="tanh")
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QEinsumDense, QUnaryFunctionLUT

    with QuantizerConfigScope(place="datalane", i0=8, f0=10):
        wide = keras.Sequential([keras.Input((3,)), QUnaryFunctionLUT("tanh", name="wide_tanh")], name="wide")
    pos_bias = keras.Sequential(
        [keras.Input((4, 2)), QEinsumDense("abc,cd->abd", output_shape=(4, 3), bias_axes="bd", bias_initializer="random_normal", name="pos_bias")], name="pb"
    )
    return {
        "wide": _save(wide, root / "wide.keras"),
        "pos_bias": _save(pos_bias, root / "pos_bias.keras"),
        "plain": _save(plain, root / "plain.keras"),
        "norm": _save(norm, root / "norm.keras"),
        "tanh": _save(tanh, root / "tanh.keras"),
    }


@pytest.mark.parametrize(
    "name, message",
    [
        ("plain", "layer 'plain_dense' (Dense) is not supported"),
        ("wide", "layer 'wide_tanh' (QUnaryFunctionLUT): an input takes"),
        ("pos_bias", "layer 'pos_bias' (QEinsumDense): a bias that varies along the position axes is not supported"),
        ("norm", "layer 'ln' (LayerNormalization) is not supported"),
        ("tanh", "layer 'd_tanh' (QDense): activation 'tanh' is not supported"),
    ],
)
def test_unsupported_layers(bad_models, tmp_path, capsys, name, message):
    out = tmp_path / "out"
    rc, _, err = in_process(capsys, bad_models[name], "-t", "verilog", "-o", out)
    assert rc == 2
    assert_one_line(err, message)
    assert not out.exists()


# -- corrupt, truncated, random and wrong-kind model files -----------------------------


def _model_file_cases(tmp: Path) -> dict[str, tuple[Path, list[str], str]]:
    (tmp / "folder.keras").mkdir()
    (tmp / "empty.keras").write_bytes(b"")
    (tmp / "random.keras").write_bytes(os.urandom(4096))
    (tmp / "text.keras").write_text("this is not a model\n")
    (tmp / "truncated.keras").write_bytes(JSC.read_bytes()[:3000])
    with zipfile.ZipFile(tmp / "noconfig.keras", "w") as z:
        z.writestr("metadata.json", "{}")
    (tmp / "model.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    (tmp / "ir.mlir").write_text(HGQ_IR)
    return {
        "folder": (tmp / "folder.keras", [], "folder.keras: is a directory"),
        "missing": (tmp / "missing.keras", [], "missing.keras: no such input file"),
        "empty": (tmp / "empty.keras", [], "empty.keras: empty file"),
        "random": (tmp / "random.keras", [], "random.keras: not a Keras model"),
        "text": (tmp / "text.keras", [], "text.keras: not a Keras model"),
        "truncated": (tmp / "truncated.keras", [], "truncated.keras: truncated or damaged .keras archive"),
        "noconfig": (tmp / "noconfig.keras", [], "noconfig.keras: not a Keras model (the archive has no config.json)"),
        "h5": (tmp / "model.h5", [], "model.h5: an HDF5 (.h5) model"),
        "h5 -f keras": (tmp / "model.h5", ["-f", "keras"], "model.h5: an HDF5 (.h5) model"),
        "IR as keras": (tmp / "ir.mlir", ["-f", "keras"], "ir.mlir: not a Keras model"),
    }


@pytest.mark.parametrize("case", ["folder", "missing", "empty", "random", "text", "truncated", "noconfig", "h5",
                                  "h5 -f keras", "IR as keras"])
def test_bad_model_files_name_the_file(case, tmp_path, capsys):
    path, extra, message = _model_file_cases(tmp_path)[case]
    out = tmp_path / "out"
    rc, _, err = in_process(capsys, path, *extra, "-t", "verilog", "-o", out)
    assert rc == 2
    assert_one_line(err, "hgq-opt: ", message)
    assert not out.exists()


def test_a_good_model_file_passes_the_checks(tmp_path):
    """Negative control for the file checks: the example model is accepted."""
    driver.check_keras_file(str(JSC))


@pytest.fixture(scope="module")
def unsafe_models(tmp_path_factory):
    """A Lambda layer whose code would create a marker file, and a config naming os.system."""
    import keras

    root = tmp_path_factory.mktemp("unsafe")
    marker = root / "MARKER"
    code = f"open({str(marker)!r}, 'w').close()"
    lam = keras.Sequential(
        [keras.Input((2,)), keras.layers.Lambda(eval(f"lambda x: (exec({code!r}), x)[1]"), name="lam")], name="lam"
    )
    lam.save(root / "lambda.keras")
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, name="dense")], name="sys")
    plain.save(root / "plain.keras")
    with zipfile.ZipFile(root / "plain.keras") as z:
        members = {n: z.read(n) for n in z.namelist()}
    config = json.loads(members["config.json"])
    for layer in config["config"]["layers"]:
        if layer.get("class_name") == "Dense":
            layer.update({"module": "os", "class_name": "system", "registered_name": None,
                          "config": {"command": f"touch {marker}"}})
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(root / "system.keras", "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    assert marker.exists()  # control: building the Lambda model ran its code once
    marker.unlink()
    return root, marker


@pytest.mark.parametrize("name", ["lambda.keras", "system.keras"])
def test_code_in_a_model_never_runs(unsafe_models, name, tmp_path):
    root, marker = unsafe_models
    proc = hgq_opt(root / name, "-t", "verilog", "-o", tmp_path / "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert_one_line(proc.stderr, name)
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


# -- malformed IR ------------------------------------------------------------------------

MALFORMED_IR = {
    "unknown op": "func.func @f() {\n  %0 = nosuch.op : i32\n  func.return\n}\n",
    "undefined value": "func.func @f() {\n  fx.output \"out\"[0] %9 : !fx.fixed<1, 2, 2>\n  func.return\n}\n",
    "unbalanced": "func.func @f() {\n  func.return\n",
    "bad type": "func.func @f() {\n  %0 = fx.input \"inp\"[0] : !fx.fixed<1, 2>\n  func.return\n}\n",
    "bad width": "func.func @f() {\n  %0 = fx.input \"inp\"[0] : !fx.fixed<0, 0, 0>\n  func.return\n}\n",
    "unclosed literal": 'func.func @f() {\n  %0 = hgq.input "inp : tensor<2xf32>\n  func.return\n}\n',
    "bad escape": 'func.func @f() {\n  %0 = hgq.input "in\\q" : tensor<2xf32>\n  func.return\n}\n',
    "deep nesting": "builtin.module {" * 400 + "}" * 400,
    "wrong result count": "%0, %1 = hw.constant 1 : i4\n",
    "generic garbage": '"hw.constant"() {value = "x"} : () -> (i4)\n',
    "NUL bytes": "func.func @f() {\0}\n",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED_IR))
def test_malformed_ir_is_one_line(kind, tmp_path, capsys):
    path = tmp_path / "bad.mlir"
    path.write_text(MALFORMED_IR[kind])
    out = tmp_path / "out"
    rc, stdout, err = in_process(capsys, path, "-t", "verilog", "-o", out)
    assert rc == 2, err
    assert_one_line(err)
    assert stdout == "" and not out.exists()


def test_random_bytes_as_ir_name_the_file(tmp_path, capsys):
    path = tmp_path / "noise.mlir"
    path.write_bytes(b"\xff\xfe" + os.urandom(300))
    rc, _, err = in_process(capsys, path)
    assert rc == 2
    assert_one_line(err, "noise.mlir: not UTF-8 text")


def test_unclosed_literal_does_not_hang(tmp_path, capsys):
    """xDSL 0.74.0's string-literal pattern backtracks exponentially on an unclosed literal
    (30 characters: > 25 s); the driver's linear pattern answers at once."""
    path = tmp_path / "hang.mlir"
    path.write_text('"' + "a" * 2000 + "\n" + "b" * 50 + "\n")
    start = time.perf_counter()
    rc, _, err = in_process(capsys, path)
    elapsed = time.perf_counter() - start
    assert rc == 2
    assert_one_line(err, "hang.mlir:1:")
    assert elapsed < 1.0, elapsed


def test_linear_literal_pattern_matches_like_xdsls():
    """The replacement pattern accepts exactly what xDSL's does, at the same end (short inputs,
    where the original is still fast), and the guard is installed in xDSL's lexer."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from xdsl.utils.mlir_lexer import MLIRLexer

    original = re.compile(r'"(?:[^"\\\n\v\f]+|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"')
    linear = re.compile(driver._LINEAR_STRING_LITERAL)
    assert MLIRLexer._unescaped_characters_regex.pattern == driver._LINEAR_STRING_LITERAL

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet='"\\ntaF0z\n\v', max_size=12))
    def same(s):
        m1, m2 = original.match(s), linear.match(s)
        assert (m1 is None) == (m2 is None)
        assert m1 is None or m1.end() == m2.end()

    same()


# -- IR mutation (property-based) --------------------------------------------------------

def _mutations():
    """Mutations of IR text at the level of whitespace-separated words (their separators
    kept): delete, duplicate, swap or copy words, or cut a word in two."""
    from hypothesis import strategies as st

    @st.composite
    def mutate(draw, text: str):
        parts = re.split(r"(\s+)", text)
        words = list(range(0, len(parts), 2))  # even indices hold the words
        for _ in range(draw(st.integers(1, 3))):
            i, j = (draw(st.sampled_from(words)) for _ in range(2))
            kind = draw(st.sampled_from(["delete", "duplicate", "swap", "copy", "cut"]))
            if kind == "delete":
                parts[i] = ""
            elif kind == "duplicate":
                parts[i] = parts[i] + " " + parts[i]
            elif kind == "swap":
                parts[i], parts[j] = parts[j], parts[i]
            elif kind == "copy":
                parts[i] = parts[j]
            elif parts[i]:
                k = draw(st.integers(0, len(parts[i])))
                parts[i] = parts[i][:k] + draw(st.sampled_from([" ", "", '"', "{", "<", "%0"])) + parts[i][k:]
        return "".join(parts)

    return mutate


@pytest.mark.parametrize("seed_ir, args", [
    (hw_ir(), ["-t", "verilog"]),
    (HGQ_IR, ["-t", "verilog", "-p", "hgq-standard"]),
    (HGQ_IR, []),
])
def test_mutated_ir_fails_cleanly(seed_ir, args, tmp_path_factory, capsys):
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_mutations()(seed_ir))
    def check(text):
        work = tmp_path_factory.mktemp("mut")
        path = work / "m.mlir"
        path.write_text(text)
        out = work / "out"
        extra = ["-o", out] if "verilog" in args else []
        start = time.perf_counter()
        rc, stdout, err = in_process(capsys, path, *args, *extra)
        assert time.perf_counter() - start < 20
        assert rc in (0, 2), (rc, err, text)
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
        if rc != 0:
            assert stdout == "" and not out.exists(), text

    check()


# -- hostile names at hw level ---------------------------------------------------------

INJECT = '(); initial begin $display("INJECTED"); $finish; end endmodule module m'


@pytest.mark.parametrize("name, inp, out, layer", [
    ("/../../../../tmp/hgq_evil_top", "inp", "out", "l"),
    (INJECT, "a); initial $display(\"P\"); //", "y;\ninitial $finish;", "l\n$display"),
    ("modèle", "entrée", "sortie", "couche"),
    ("module", "input", "output", "wire"),
    ("report", "clk", "wire", "x"),
    ("x" * 400, "inp", "INP", "l"),
])
def test_hostile_names_stay_inside_and_inert(name, inp, out, layer, tmp_path, capsys):
    src = tmp_path / "evil.mlir"
    src.write_text(hw_ir(name, inp, out, layer))
    folder = tmp_path / "sub" / "out"
    before = files_under(tmp_path.parent)
    rc, table, err = in_process(capsys, src, "-t", "verilog", "-o", folder)
    assert rc == 0, err
    new = files_under(tmp_path.parent) - before
    assert all(f.startswith(f"{tmp_path.name}/sub") for f in new), new
    assert not Path("/tmp/hgq_evil_top.v").exists() and not Path("/tmp/hgq_evil_top.json").exists()
    names = sorted(p.name for p in folder.iterdir())
    (verilog,) = [folder / n for n in names if n.endswith(".v")]
    assert "report.json" in names and verilog.stem + ".json" in names
    assert all(n in ("report.json", verilog.name, verilog.stem + ".json") or n.endswith((".png", ".html")) for n in names)
    assert verilog.stem.isascii() and len(verilog.name) < 255
    text = verilog.read_text()
    assert text.isascii()
    assert not re.search(r"\binitial\b|\$display|\$finish", text)
    assert len(re.findall(r"\bendmodule\b", text)) == 1 and len(re.findall(r"\bmodule\b", text)) == 1
    manifest = json.loads((folder / f"{verilog.stem}.json").read_text())
    assert manifest["top"] == verilog.stem and len({p["port"] for p in manifest["inputs"] + manifest["outputs"]}) == 2
    for line in table.splitlines():  # the layer name is escaped on the terminal
        assert line.isprintable()
    if shutil.which("iverilog"):
        tb = tmp_path / "tb.v"
        ports = manifest["inputs"][0]["port"], manifest["outputs"][0]["port"]
        tb.write_text(f"module tb; reg [7:0] a = 8'h23; wire [4:0] y; {manifest['top']} dut(.{ports[0]}(a), .{ports[1]}(y));\n"
                      'initial begin #1 $display("SUM=%0d", y); $finish; end endmodule\n')
        sim = tmp_path / "a.vvp"
        proc = subprocess.run(["iverilog", "-g2012", "-o", sim, tb, verilog], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        run = subprocess.run(["vvp", "-n", sim], capture_output=True, text=True)
        assert "SUM=5" in run.stdout and "INJECTED" not in run.stdout, run.stdout


def test_unique_names_after_legalization(tmp_path, capsys):
    """Two ports that legalize to one name stay two ports."""
    src = tmp_path / "dup.mlir"
    src.write_text(hw_ir("t", "a-b", "a_b", "l"))
    rc, _, err = in_process(capsys, src, "-t", "verilog", "-o", tmp_path / "out")
    assert rc == 0, err
    manifest = json.loads((tmp_path / "out" / "t.json").read_text())
    assert [p["port"] for p in manifest["inputs"] + manifest["outputs"]] == ["a_b", "a_b_1"]


def test_names_module():
    from hgq_mlir.backend.names import Namer, is_legal, printable, verilog_name

    for raw in ["jsc", "inp", "out0", "dense_1", "a", "Z9_"]:  # negative control: legal names are kept
        assert verilog_name(raw) == raw
    for raw in ["", "0x", "_n3", "reg", "clk", "a b", "é", "a\nb", "x" * 1000, "$display", "a/../b"]:
        assert is_legal(verilog_name(raw)), raw
    namer = Namer()
    assert [namer.name(s) for s in ["a", "a", "a_1", "a"]] == ["a", "a_1", "a_1_1", "a_2"]
    assert printable("a\x1b[2Jb\né") == "a\\x1b[2Jb\\x0a\\xe9"


@pytest.mark.parametrize("interface, message", [
    ('"{}"', "hgq.interface must be a dictionary"),
    ("{latency = 0 : i64}", "needs 'ports'"),
    ("{latency = -1 : i64, ports = {}}", "needs 'latency'"),
    ("{latency = 0 : i64, ports = {inp = array<i64: 0, 8, 1, 0>}}", "no layout for port 'out'"),
    ("{latency = 0 : i64, ports = {inp = array<i64: 0, 4, 1, 0>, out = array<i64: 0, 5, 1, 0>}}", "elements span 4 bits"),
    ("{latency = 0 : i64, ports = {inp = array<i64: 0, 8, 1>, out = array<i64: 0, 5, 1, 0>}}", "not a multiple of 4"),
    ("{latency = 0 : i64, ports = {inp = array<i64: 0, 8, 1, 0>, out = array<i64: 0, 5, 1, 0>, zz = array<i64>}}",
     "port 'zz', which the module lacks"),
])
def test_bad_interface_attribute(interface, message, tmp_path, capsys):
    src = tmp_path / "bad.mlir"
    src.write_text(hw_ir(interface=interface))
    out = tmp_path / "out"
    rc, _, err = in_process(capsys, src, "-t", "verilog", "-o", out)
    assert rc == 2
    assert_one_line(err, message)
    assert not out.exists()


@pytest.mark.parametrize("body, message", [
    ("%s = comb.divs %xx, %yy : i5", "comb.divs: the Verilog target cannot emit this op"),
    ('%c = "comb.icmp"(%xx, %yy) <{predicate = 12 : i64}> : (i5, i5) -> i1\n  %s = comb.add %xx, %yy : i5',
     "comb.icmp: predicate 12"),
    ('%p = "comb.parity"(%xx) : (i5) -> i1\n  %s = comb.add %xx, %yy : i5', "comb.parity: the Verilog target cannot emit this op"),
    ("%s = comb.parity %xx : i5", "invalid IR: result 'result' at position 0 does not verify: "),
    ("%z = hw.constant 0 : i5\n  %s = comb.add %xx, %z : i5", None),
])
def test_ops_the_printer_refuses(body, message, tmp_path, capsys):
    text = hw_ir().replace('%s = comb.add %xx, %yy {layer = "l"} : i5', body)
    src = tmp_path / "op.mlir"
    src.write_text(text)
    rc, _, err = in_process(capsys, src, "-t", "verilog", "-o", tmp_path / "out")
    if message is None:  # negative control
        assert rc == 0, err
        return
    assert rc == 2
    assert_one_line(err, message)


# -- constant outputs ------------------------------------------------------------------


@pytest.mark.parametrize("i, f, passes", [(0, 0, "hgq-standard"), (0, 0, "hgq-standard{baseline=true}"),
                                          (-2, 0, "hgq-standard"), (1, -3, "hgq-standard")])
def test_constant_outputs_compile(i, f, passes, tmp_path, capsys):
    src = tmp_path / "const.mlir"
    src.write_text(CONSTANT_IR.format(i=i, f=f))
    out = tmp_path / "out"
    rc, table, err = in_process(capsys, src, "-t", "verilog", "-o", out, "-p", passes)
    assert rc == 0, err
    assert "every output is constant" in table
    report = json.loads((out / "report.json").read_text())
    assert report["constant_outputs"] is True and report["luts"] == 0
    manifest = json.loads((out / "m.json").read_text())
    assert manifest["inputs"] == [] and manifest["outputs"] == []
    if shutil.which("iverilog"):
        proc = subprocess.run(["iverilog", "-g2012", "-o", tmp_path / "a.vvp", out / "m.v"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_a_live_model_does_not_say_constant(tmp_path, capsys):
    """Negative control: the constant-output note appears only for constant outputs."""
    src = tmp_path / "wide.mlir"
    src.write_text(HGQ_IR)
    rc, table, err = in_process(capsys, src, "-t", "verilog", "-o", tmp_path / "out")
    assert rc == 0, err
    assert "constant" not in table
    assert "constant_outputs" not in json.loads((tmp_path / "out" / "report.json").read_text())


# -- options -----------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["-p", "hgq-standard{max-width=0}"], "hgq-standard: max-width=0 must be >= 1"),
    (["-p", "hgq-standard{max-width=-4}"], "hgq-standard: max-width=-4 must be >= 1"),
    (["-p", "lower-hgq-to-fx{depth-slack=-1}"], "depth-slack=-1 must be >= 0"),
    (["-p", "lower-hgq-to-fx{dense=magic}"], "lower-hgq-to-fx: unknown dense=magic (choose from cse, csd)"),
    (["-p", "hgq-standard{dense=cse,csd}"], "hgq-standard: unknown dense=cse,csd (choose from cse, csd)"),
    (["-p", "no-such-pass"], "no-such-pass"),
    (["-t", "bogus"], "invalid choice: 'bogus'"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["-t", "verilog", "--clock-period", "-1", "-o", "OUT"], "--clock-period -1"),
    (["-t", "verilog", "--clock-period", "5", "--part", "x; exec rm", "-o", "OUT"], "--part"),
    (["-t", "verilog"], "-t verilog needs -o DIR"),
])
def test_bad_options_are_one_line(args, message, tmp_path, capsys):
    src = tmp_path / "wide.mlir"
    src.write_text(HGQ_IR)
    args = [str(tmp_path / "OUT") if a == "OUT" else a for a in args]
    rc, stdout, err = in_process(capsys, src, *args)
    assert rc == 2
    assert_one_line(err, message)
    assert not (tmp_path / "OUT").exists()


# -- where output goes ---------------------------------------------------------------


@pytest.fixture
def ir_file(tmp_path):
    src = tmp_path / "wide.mlir"
    src.write_text(HGQ_IR)
    return src


def test_dev_null_stays_a_device(ir_file, capsys):
    rc, _, err = in_process(capsys, ir_file, "-o", "/dev/null")
    assert rc == 0, err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_fifo_is_written_not_replaced(ir_file, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))
    reader.start()
    proc = hgq_opt(ir_file, "-o", fifo, timeout=60)
    reader.join(30)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert "hgq.dense" in got[0]


def test_symlink_is_followed(ir_file, tmp_path, capsys):
    target = tmp_path / "real.mlir"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    link = tmp_path / "link.mlir"
    link.symlink_to(target)
    rc, _, err = in_process(capsys, ir_file, "-o", link)
    assert rc == 0, err
    assert link.is_symlink() and "hgq.dense" in target.read_text()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


def test_new_files_follow_the_umask_and_old_ones_keep_their_mode(ir_file, tmp_path):
    kept = tmp_path / "kept.mlir"
    kept.write_text("old\n")
    os.chmod(kept, 0o604)
    umask = lambda: os.umask(0o027)  # noqa: E731
    for args in ([ir_file, "-o", tmp_path / "new.mlir"], [ir_file, "-o", kept],
                 [ir_file, "-t", "verilog", "-o", tmp_path / "rtl"]):
        proc = subprocess.run(["hgq-opt", *map(str, args)], capture_output=True, text=True, preexec_fn=umask)
        assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "new.mlir").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o604 and "hgq.dense" in kept.read_text()
    for p in (tmp_path / "rtl").iterdir():
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o640, p
    assert stat.S_IMODE(os.stat(tmp_path / "rtl").st_mode) == 0o750


def test_read_only_file(ir_file, tmp_path, capsys):
    ro = tmp_path / "ro.mlir"
    ro.write_text("old\n")
    os.chmod(ro, 0o444)
    rc, _, err = in_process(capsys, ir_file, "-o", ro)
    if os.geteuid() == 0:  # root may write any file: it is replaced, and stays read-only
        assert rc == 0 and "hgq.dense" in ro.read_text()
    else:
        assert rc == 2 and ro.read_text() == "old\n"
        assert_one_line(err, "ro.mlir: cannot write: permission denied")
    assert stat.S_IMODE(os.stat(ro).st_mode) == 0o444


def test_output_into_a_missing_folder_names_it(ir_file, tmp_path, capsys):
    rc, _, err = in_process(capsys, ir_file, "-o", tmp_path / "nope" / "x.mlir")
    assert rc == 2
    line = assert_one_line(err, f"{tmp_path / 'nope' / 'x.mlir'}: cannot write: folder {tmp_path / 'nope'} does not exist")
    assert ".hgq-opt" not in line
    assert not (tmp_path / "nope").exists()


def test_output_folder_is_a_file(ir_file, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    rc, _, err = in_process(capsys, ir_file, "-t", "verilog", "-o", tmp_path / "file")
    assert rc == 2
    assert_one_line(err, "exists and is not a directory")


def test_failed_compile_leaves_no_folder(tmp_path, capsys):
    src = tmp_path / "bad.mlir"
    src.write_text(hw_ir(interface='"{}"'))
    out = tmp_path / "a" / "b" / "out"
    rc, _, _ = in_process(capsys, src, "-t", "verilog", "-o", out)
    assert rc == 2 and not (tmp_path / "a").exists()


def test_rebuild_removes_this_tools_stale_files(tmp_path, capsys):
    a, b = tmp_path / "a.mlir", tmp_path / "b.mlir"
    a.write_text(hw_ir("first"))
    b.write_text(hw_ir("second"))
    out = tmp_path / "out"
    rc, _, err = in_process(capsys, a, "-t", "verilog", "-o", out, "--clock-period", "5")
    assert rc == 0, err
    assert {"first.v", "first.json", "first.xdc", "build_vivado.tcl", "report.json"} <= {p.name for p in out.iterdir()}
    (out / "tb_first.v").write_text("// a testbench of the first build\n")
    (out / "notes.txt").write_text("mine\n")
    rc, _, err = in_process(capsys, b, "-t", "verilog", "-o", out)
    assert rc == 0, err
    names = {p.name for p in out.iterdir()}
    assert {"second.v", "second.json", "report.json", "notes.txt"} <= names
    assert not names & {"first.v", "first.json", "first.xdc", "build_vivado.tcl", "tb_first.v"}, names


def test_foreign_folder_needs_force(tmp_path, capsys):
    src = tmp_path / "a.mlir"
    src.write_text(hw_ir("first"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "design.v").write_text("module mine; endmodule\n")
    rc, _, err = in_process(capsys, src, "-t", "verilog", "-o", out)
    assert rc == 2
    assert_one_line(err, "holds other files", "--force")
    assert {p.name for p in out.iterdir()} == {"design.v"}
    rc, _, err = in_process(capsys, src, "-t", "verilog", "-o", out, "--force")
    assert rc == 0, err
    assert {"design.v", "first.v", "first.json", "report.json"} <= {p.name for p in out.iterdir()}
    assert (out / "design.v").read_text() == "module mine; endmodule\n"


def test_dump_dir_holds_only_this_runs_dumps(tmp_path, capsys):
    src = tmp_path / "wide.mlir"
    src.write_text(HGQ_IR)
    dumps = tmp_path / "ir"
    dumps.mkdir()
    (dumps / "42-stale.mlir").write_text("stale")
    (dumps / "keep.txt").write_text("mine")
    rc, _, err = in_process(capsys, src, "-p", "cse", "--dump-ir-dir", dumps)
    assert rc == 0, err
    assert sorted(p.name for p in dumps.iterdir()) == ["00-input.mlir", "01-cse.mlir", "keep.txt"]


# -- Ctrl-C ------------------------------------------------------------------------------


def test_sigint_is_130_and_one_line(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen(["hgq-opt", str(JSC), "-t", "verilog", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip() == "hgq-opt: interrupted"
    assert not out.exists()


def test_internal_error_is_one_line_with_a_log(capsys, monkeypatch):
    """A genuine bug: one line, 'please report', and a log that holds the traceback."""
    from hgq_mlir.errors import run_tool

    def broken() -> int:
        raise KeyError("boom")

    rc = run_tool("hgq-opt", broken, ["x"])
    err = capsys.readouterr().err
    assert rc == 70
    line = assert_one_line(err, "internal error (KeyError", "please report")
    log = Path(line.rsplit(" ", 1)[-1])
    assert "Traceback" in log.read_text() and "boom" in log.read_text()
    log.unlink()


# -- hgq-verify --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rtl_folder(tmp_path_factory):
    """An RTL folder whose manifest has ports inp (16 elements) and out, from hw IR."""
    root = tmp_path_factory.mktemp("verify")
    src = root / "t.mlir"
    elems = ", ".join(f"{i}, 1, 0, 0" for i in range(16))
    src.write_text(
        f'hw.module @t(in %a inp: i16, out out: i16) attributes {{hgq.interface = {{latency = 0 : i64, ports = '
        f'{{inp = array<i64: {elems}>, out = array<i64: {elems}>}}}}}} {{\n  hw.output %a : i16\n}}\n'
    )
    proc = hgq_opt(src, "-t", "verilog", "-o", root / "rtl")
    assert proc.returncode == 0, proc.stderr
    return root / "rtl"


@pytest.mark.parametrize("args, message", [
    (["-n", "0"], "-n 0: the number of vectors must be 1 .. 10 000 000"),
    (["-n", "-1"], "-n -1: the number of vectors must be"),
    (["-n", "1000000000000"], "-n 1000000000000: the number of vectors must be"),
    (["-n", "ten"], "argument -n: invalid int value"),
    (["--seed", "-3"], "--seed -3: must be >= 0"),
    (["--write-testbench"], "--write-testbench needs --rtl DIR"),
    (["--sim", "modelsim"], "argument --sim: invalid choice"),
])
def test_verify_bad_arguments(args, message):
    proc = hgq_verify(JSC, *args)
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "hgq-verify: ", message)


@pytest.mark.parametrize("manifest, message", [
    ("not json", "not a readable JSON manifest"),
    ("[]", "the manifest must be a JSON object"),
    ('{"top": "t"}', "'latency' must be an integer"),
    ('{"top": "../x", "latency": 0, "clock": null, "inputs": [], "outputs": []}', "'top' must be a legal Verilog name"),
    ('{"top": "t", "latency": 0, "clock": null, "inputs": [{"port": "inp", "width": 3, "elements": []}], "outputs": []}',
     "elements span 0 bits"),
])
def test_verify_bad_manifest(manifest, message, rtl_folder, tmp_path):
    bad = tmp_path / "rtl"
    shutil.copytree(rtl_folder, bad)
    (bad / "t.json").write_text(manifest)
    proc = hgq_verify(JSC, "--rtl", bad, "-n", "10")
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "t.json", message)


def test_verify_missing_folder(tmp_path):
    proc = hgq_verify(JSC, "--rtl", tmp_path / "none", "-n", "10")
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "none: no such folder")


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A 4-input QDense model with a non-ASCII name (untrained: its weights are what they are)."""
    import keras
    from hgq.layers import QDense

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((4,), name="inp"), QDense(3, name="dense")], name="modèle")
    path = tmp_path_factory.mktemp("small") / "modèle.keras"
    model.save(path)
    return path


def test_verify_wrong_model_for_the_rtl(small_model, rtl_folder):
    proc = hgq_verify(small_model, "--rtl", rtl_folder, "-n", "10")
    assert proc.returncode == 2
    assert_one_line(proc.stderr, "does not match the RTL", "element 4 is beyond the model's 4 values")


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
def test_verify_non_ascii_model_and_mismatch_exit_code(small_model, tmp_path):
    out = tmp_path / "rtl"
    proc = hgq_opt(small_model, "-t", "verilog", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert (out / "mod_le.v").exists()
    ok = hgq_verify(small_model, "--rtl", out, "-n", "300", "--sim", "iverilog")
    assert ok.returncode == 0 and "mismatches=0" in ok.stdout, ok.stderr
    # negative control: flip the lowest bit of the first output element (offset 0)
    text = (out / "mod_le.v").read_text()
    port = json.loads((out / "mod_le.json").read_text())["outputs"][0]
    assign = re.search(rf"assign {port['port']} = (.*);", text)
    flipped = f"assign {port['port']} = {assign.group(1)} ^ {port['width']}'h1;"
    (out / "mod_le.v").write_text(text.replace(assign.group(0), flipped))
    bad = hgq_verify(small_model, "--rtl", out, "-n", "300", "--sim", "iverilog")
    assert bad.returncode == 1 and "mismatches=0" not in bad.stdout, (bad.stdout, bad.stderr)


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")
def test_verify_simulates_in_bounded_batches(small_model, tmp_path, monkeypatch):
    """-n larger than a batch: several simulation runs of at most BATCH vectors, every vector compared."""
    from hgq_mlir.backend import simulate as sim_module
    from hgq_mlir.backend import verify as verify_module

    out = tmp_path / "rtl"
    assert hgq_opt(small_model, "-t", "verilog", "-o", out).returncode == 0
    sizes = []
    real = sim_module.simulate

    def counting(verilog, interface, mantissas, simulator="iverilog"):
        sizes.append(next(iter(mantissas.values())).shape[0])
        return real(verilog, interface, mantissas, simulator)

    monkeypatch.setattr(verify_module, "BATCH", 100)
    monkeypatch.setattr(sim_module, "simulate", counting)
    mismatches, total, _ = verify_module.verify(str(small_model), out, 250, "iverilog")
    assert sizes == [100, 100, 50]
    assert mismatches == 0 and total == 250 * 3


def test_verify_each(monkeypatch, capsys):
    """The input and the final IR are verified; with --verify-each the IR after every one
    of the pipeline's nine steps too. The output is the same either way."""
    from xdsl.dialects.builtin import ModuleOp

    calls = []
    verify = ModuleOp.verify
    monkeypatch.setattr(ModuleOp, "verify", lambda self, *a, **k: (calls.append(1), verify(self, *a, **k))[1])
    src = Path(__file__).parent / "filecheck" / "driver" / "dump-ir.mlir"
    outs = []
    for flag, expected in (([], 2), (["--verify-each"], 10)):
        calls.clear()
        rc, out, err = in_process(capsys, src, "-p", "hgq-standard{baseline=true}", *flag)
        assert rc == 0, err
        assert len(calls) == expected
        outs.append(out)
    assert "hw.module @m" in outs[0] and outs[0] == outs[1]
