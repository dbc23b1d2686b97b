"""Run emitted RTL in a real simulator (iverilog or Verilator) on stored input vectors."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from hgq_mlir.errors import UserError


def pack(interface_ports: list[dict], mantissas: dict[str, np.ndarray]) -> list[list[int]]:
    """Per port, per vector: the packed port word (Python int) from element mantissas."""
    words = []
    for port in interface_ports:
        m = mantissas[port["port"]]
        col = [0] * m.shape[0]
        for e in port["elements"]:
            mask = (1 << e["width"]) - 1
            vals = m[:, e["index"]]
            for n in range(m.shape[0]):
                col[n] |= (int(vals[n]) & mask) << e["offset"]
        words.append(col)
    return words


def unpack(port: dict, words: list[int], unknown: list[int] | None = None) -> dict[int, np.ndarray]:
    """Element index -> mantissas (object ints) from packed port words; `unknown[r]` marks
    the bits of word r the simulator printed as x or z: an element with one is None."""
    out = {}
    for e in port["elements"]:
        w, off = e["width"], e["offset"]
        mask = (1 << w) - 1
        vals = [(x >> off) & mask for x in words]
        if e["signed"]:
            vals = [v - (1 << w) if v >> (w - 1) else v for v in vals]
        if unknown is not None:
            vals = [None if (u >> off) & mask else v for v, u in zip(vals, unknown, strict=True)]
        out[e["index"]] = np.array(vals, dtype=object)
    return out


def parse_word(text: str) -> tuple[int, int]:
    """(value, unknown bits) of a word printed with %h: an x or z digit makes its four bits
    unknown (%h shows one unknown bit as the digit X)."""
    value = int("".join("0" if c in "xXzZ" else c for c in text), 16)
    unknown = int("".join("f" if c in "xXzZ" else "0" for c in text), 16)
    return value, unknown


def _stored_inputs(interface: dict, n: int, files: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Testbench pieces that replay `<files><k>.hex` into input port k, one word per cycle:
    (declarations, $readmemh loads, per-cycle drive statements, port connections)."""
    decl, load, drive, conns = [], [], [], []
    for k, p in enumerate(interface["inputs"]):
        w = p["width"]
        decl.append(f"  reg [{w - 1}:0] mem_in{k} [0:{n - 1}];\n  reg [{w - 1}:0] in{k};")
        load.append(f'    $readmemh("{files}{k}.hex", mem_in{k});')
        drive.append(f"      if (i < {n}) in{k} = mem_in{k}[i];")
        conns.append(f".{p['port']}(in{k})")
    return decl, load, drive, conns


def testbench(interface: dict, n: int) -> str:
    top, latency = interface["top"], interface["latency"]
    decl, load, drive, conns = _stored_inputs(interface, n, "in")
    fmt = []
    for k, p in enumerate(interface["outputs"]):
        decl.append(f"  wire [{p['width'] - 1}:0] out{k};")
        conns.append(f".{p['port']}(out{k})")
        fmt.append(f"out{k}")
    if latency:
        decl.append("  reg clk = 1'b0;")
        conns.append(".clk(clk)")
    write = f'$fwrite(fd, "{" ".join(["%h"] * len(fmt))}\\n", {", ".join(fmt)});' if fmt else ""
    if latency:
        step = (
            "      #1 clk = 1'b1;\n      #1 clk = 1'b0;\n"
            f"      if (i >= {latency - 1}) {write}\n"
        )
        cycles = n + latency - 1
    else:
        step = f"      #1 {write}\n"
        cycles = n
    return (
        "`timescale 1ns / 1ps\nmodule tb;\n"
        + "\n".join(decl)
        + "\n  integer i, fd;\n"
        + f"  {top} dut({', '.join(conns)});\n"
        + "  initial begin\n"
        + "\n".join(load)
        + '\n    fd = $fopen("out.txt", "w");\n'
        + f"    for (i = 0; i < {cycles}; i = i + 1) begin\n"
        + "\n".join(drive)
        + "\n"
        + step
        + "    end\n    $fclose(fd);\n    $finish;\n  end\nendmodule\n"
    )


def self_checking_testbench(interface: dict, n: int, stem: str) -> str:
    """A testbench that replays stored inputs (`<stem>_in<k>.hex`) and compares every output
    port with stored expected words (`<stem>_out<k>.hex`); prints PASS or FAIL and a count."""
    top, latency = interface["top"], interface["latency"]
    decl, load, drive, conns = _stored_inputs(interface, n, f"{stem}_in")
    check = []
    for k, p in enumerate(interface["outputs"]):
        w = p["width"]
        decl.append(f"  reg [{w - 1}:0] mem_out{k} [0:{n - 1}];\n  wire [{w - 1}:0] out{k};")
        load.append(f'    $readmemh("{stem}_out{k}.hex", mem_out{k});')
        conns.append(f".{p['port']}(out{k})")
        check.append(
            f"        if (out{k} !== mem_out{k}[j]) begin\n"
            f"          errors = errors + 1;\n"
            f'          if (errors <= 10) $display("mismatch: vector %0d port {p["port"]}: got %h, expected %h", j, out{k}, mem_out{k}[j]);\n'
            f"        end"
        )
    if latency:
        decl.append("  reg clk = 1'b0;")
        conns.append(".clk(clk)")
        step = "      #1 clk = 1'b1;\n      #1 clk = 1'b0;\n"
        first = latency - 1
    else:
        step = "      #1;\n"
        first = 0
    return (
        f"// Self-checking testbench for {top}: {n} stored vectors, a new input every cycle.\n"
        "`timescale 1ns / 1ps\n"
        f"module tb_{top};\n" + "\n".join(decl) + "\n  integer i, j, errors;\n"
        f"  {top} dut({', '.join(conns)});\n"
        "  initial begin\n" + "\n".join(load) + "\n    errors = 0;\n"
        f"    for (i = 0; i < {n + first}; i = i + 1) begin\n" + "\n".join(drive) + "\n" + step
        + f"      if (i >= {first}) begin\n        j = i - {first};\n" + "\n".join(check) + "\n      end\n"
        "    end\n"
        f'    if (errors == 0) $display("PASS: {n} vectors");\n'
        f'    else $display("FAIL: %0d mismatching port words of {n * len(interface["outputs"])}", errors);\n'
        "    $finish;\n  end\nendmodule\n"
    )


PRIMITIVES = ("LUT6_2", "LUT6", "CARRY8")  # the Xilinx primitives the Verilog target instantiates


def uses_primitives(verilog_text: str) -> bool:
    return any(f"{p} #(" in verilog_text for p in PRIMITIVES)


def xilinx_cells_sim() -> Path:
    """Yosys's simulation models of the Xilinx primitives, `share/yosys/xilinx/cells_sim.v`
    (`yosys-config --datdir`, else under the prefix of the `yosys` binary)."""
    datdir = None
    if shutil.which("yosys-config"):
        proc = subprocess.run(["yosys-config", "--datdir"], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            datdir = Path(proc.stdout.strip())
    if datdir is None:
        binary = shutil.which("yosys")
        if binary is None:
            raise UserError("primitive ternary adders (LUT6_2, CARRY8) are simulated with Yosys's models "
                            "share/yosys/xilinx/cells_sim.v: yosys is not installed (or compile with ternary=infer)")
        datdir = Path(binary).resolve().parent.parent / "share" / "yosys"
    path = datdir / "xilinx" / "cells_sim.v"
    if not path.is_file():
        raise UserError(f"primitive ternary adders (LUT6_2, CARRY8) are simulated with Yosys's models: {path} is missing")
    return path


def model_sources(verilog: Path) -> list[str]:
    """The Verilog files a simulation of `verilog` needs besides it: Yosys's primitive
    models where it instantiates Xilinx primitives."""
    return [str(xilinx_cells_sim())] if uses_primitives(Path(verilog).read_text()) else []


# Above these adder counts Verilator's build (about a second) pays for itself over 1 000
# vectors, measured on the test models: a combinational design's glitches make iverilog
# slow from a few hundred adders on (391 adders: iverilog 2.6 s, Verilator 1.4 s; 1 392:
# 19.2 s against 2.4 s), while registers every few levels keep it fast (1 844 adders at
# latency 15: iverilog 3.2 s, Verilator 4.2 s).
VERILATOR_ABOVE = 300
VERILATOR_ABOVE_PIPELINED = 2500


def pick_simulator(requested: str, n_adders: int, primitives: bool = False, pipelined: bool = False) -> str:
    """The simulator for a design of `n_adders` adders. A design with LUT6_2/CARRY8 ternary
    adders (`primitives`) runs in iverilog only: Verilator cannot order the CARRY8 models'
    combinational chains."""
    if requested != "auto":
        if shutil.which(requested) is None:
            raise UserError(f"--sim {requested}: {requested} is not installed")
        if primitives and requested == "verilator":
            raise UserError("--sim verilator: the design instantiates CARRY8 (ternary=primitive), whose carry "
                            "chains Verilator cannot order; use --sim iverilog, or compile with ternary=infer")
        return requested
    if primitives:
        if shutil.which("iverilog"):
            return "iverilog"
        raise UserError("the design instantiates LUT6_2/CARRY8 (ternary=primitive): install iverilog to simulate it")
    if n_adders > (VERILATOR_ABOVE_PIPELINED if pipelined else VERILATOR_ABOVE) and shutil.which("verilator"):
        return "verilator"
    if shutil.which("iverilog"):
        return "iverilog"
    if shutil.which("verilator"):
        return "verilator"
    raise UserError("no Verilog simulator found: install iverilog or verilator")


def simulate(verilog: Path, interface: dict, mantissas: dict[str, np.ndarray], simulator: str = "iverilog") -> dict:
    """Output port -> {element index -> mantissas}, from a run of the RTL on the given inputs."""
    n = next(iter(mantissas.values())).shape[0] if mantissas else 1
    with tempfile.TemporaryDirectory(prefix="hgq-sim-") as tmp:
        work = Path(tmp)
        for k, words in enumerate(pack(interface["inputs"], mantissas)):
            hex_w = (interface["inputs"][k]["width"] + 3) // 4
            (work / f"in{k}.hex").write_text("".join(f"{x:0{hex_w}x}\n" for x in words))
        (work / "tb.v").write_text(testbench(interface, n))
        src = [str(work / "tb.v"), str(Path(verilog).resolve()), *model_sources(verilog)]
        if simulator == "iverilog":
            _run(["iverilog", "-g2012", "-s", "tb", "-o", "sim.vvp", *src], work)
            _run(["vvp", "-n", "sim.vvp"], work)
        elif simulator == "verilator":
            _verilate(src, work)
            _run(["./obj/Vtb"], work)
        else:
            raise UserError(f"unknown simulator {simulator}")
        rows = (work / "out.txt").read_text().split()
    n_out = len(interface["outputs"])
    got = {}
    for k, port in enumerate(interface["outputs"]):
        parsed = [parse_word(rows[r * n_out + k]) for r in range(len(rows) // max(n_out, 1))]
        if len(parsed) != n:
            raise RuntimeError(f"simulation produced {len(parsed)} vectors, expected {n}")
        got[port["port"]] = unpack(port, [v for v, _ in parsed], [u for _, u in parsed])
    return got


_RUNTIME: list[Path] = []  # this process's built Verilator runtime objects (verilated*.o)


def _verilate(src: list[str], work: Path) -> None:
    """Build `work/obj/Vtb`. Large flat netlists: the C++ is built without optimization, or
    g++ takes minutes, in few files: each file costs g++ 0.6 s of header parsing alone
    (3 423 adders: 27 files 12.9 CPU-seconds, 9 files 5.3). Verilator's runtime library (a
    third of a small design's build) is compiled once per process and reused: its objects
    depend only on the flags, which are fixed here."""
    _run(["verilator", "--cc", "--exe", "--main", "--timing", "-Wno-fatal", "-Wno-lint", "-Wno-style",
          "--top-module", "tb", "-Mdir", "obj", "-O1", "--output-split", "100000", "--output-split-cfuncs", "100000",
          *src], work)
    obj = work / "obj"
    for o in _RUNTIME:  # copied after Vtb.mk is written: newer than it, so make keeps them
        shutil.copyfile(o, obj / o.name)
    _run(["make", "-s", "-C", "obj", "-f", "Vtb.mk", "-j", "2", "OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0"], work)
    if not _RUNTIME:
        keep = Path(tempfile.mkdtemp(prefix="hgq-verilated-"))
        atexit.register(shutil.rmtree, keep, True)
        for o in sorted(obj.glob("verilated*.o")):
            _RUNTIME.append(Path(shutil.copy2(o, keep / o.name)))


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise RuntimeError(f"{cmd[0]} failed: {msg[0] if msg else proc.returncode}")
