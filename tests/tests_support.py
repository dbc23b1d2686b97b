"""Small shared inputs for tests."""

tiny_mlir = """
func.func @m() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<2> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 2>>
  %2 = hgq.const mantissa = dense<[[3, 1], [1, -5]]> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<1, 3, 0>>
  %3 = hgq.dense %1, %2 : tensor<2x!hgq.fixed<1, 2, 2>>, tensor<2x2x!hgq.fixed<1, 3, 0>> -> tensor<2x!hgq.fixed<1, 6, 2>>
  hgq.output "out" %3 : tensor<2x!hgq.fixed<1, 6, 2>>
  func.return
}
"""


def table_texts(verilog: str) -> list[str]:
    """The text of each constant table in emitted Verilog: `case` functions (narrow tables)
    and `keep_hierarchy` modules (wide ones)."""
    import re

    return re.findall(r"  function automatic .*?endfunction|\(\* keep_hierarchy \*\)\nmodule .*?endmodule",
                      verilog, re.S)


def table_text(verilog: str, name: str) -> str:
    """The text of the table function or module `name`."""
    import re

    return next(t for t in table_texts(verilog) if re.search(rf"\b{name}\(|module {name} ", t))


def run_testbench(folder, tb, top: str) -> str:
    """Compile `tb` with `<top>.v` (and Yosys's primitive models if it needs them) in iverilog
    and run it; its stdout (PASS / FAIL lines)."""
    import subprocess
    from pathlib import Path

    from hgq_mlir.backend.simulate import model_sources

    sources = [tb.name, f"{top}.v", *model_sources(Path(folder) / f"{top}.v")]
    subprocess.run(["iverilog", "-g2012", "-o", "tb.vvp", *sources], cwd=folder, check=True)
    return subprocess.run(["vvp", "-n", "tb.vvp"], cwd=folder, capture_output=True, text=True).stdout


def flip_stored_word(path, line: int) -> None:
    """Flip the low bit of one stored hex word (a negative control for a testbench)."""
    lines = path.read_text().splitlines()
    lines[line] = format(int(lines[line], 16) ^ 1, f"0{len(lines[line])}x")
    path.write_text("\n".join(lines) + "\n")


def behavioral_adders(pipeline: str = "hgq-standard") -> str:
    """`pipeline` with hgq-standard's three-input adders written as `a + b - c` (`ternary=infer`),
    unless it names a realization itself.

    Event-driven simulation of the LUT6_2/CARRY8 netlist (`ternary=primitive`) costs about a
    second per vector on the 1 096-adder example in iverilog (every carry bit settles apart), and
    Verilator cannot order the CARRY8 models' chains. Model-level RTL tests therefore simulate
    the `infer` realization; the primitive one is checked exhaustively per adder (every sign
    combination, tests/backend/test_ternary.py) and end to end on the small models."""
    if "ternary=" in pipeline or not pipeline.startswith("hgq-standard"):
        return pipeline
    if pipeline == "hgq-standard":
        return "hgq-standard{ternary=infer}"
    return pipeline.replace("hgq-standard{", "hgq-standard{ternary=infer ", 1)


def yosys_cells(verilog, top: str) -> dict[str, int]:
    """Cell counts (`LUT6`, `LUT6_2`, `CARRY8`, `FDRE`, `DSP48E2`, ...) of a Verilog file after
    Yosys `synth_xilinx -family xcup -flatten -noiopad`; the statistics land next to it.
    Modules marked `keep_hierarchy` (wide tables) are synthesized apart, then flattened
    into the top for the count: each instance counts once."""
    import subprocess
    from pathlib import Path

    verilog = Path(verilog)
    stat = verilog.with_suffix(".stat")
    subprocess.run(
        ["yosys", "-q", "-p", f"read_verilog {verilog}; synth_xilinx -family xcup -flatten -noiopad -top {top}; "
         f"setattr -mod -unset keep_hierarchy; flatten; tee -q -o {stat} stat"],
        check=True, capture_output=True, text=True,
    )
    cells: dict[str, int] = {}
    for line in stat.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0][0].isupper():
            cells[parts[0]] = cells.get(parts[0], 0) + int(parts[1])
    return cells


def lut_count(cells: dict[str, int]) -> int:
    """LUTs in Yosys's cell counts: LUT1..LUT6 and LUT6_2, one each."""
    return sum(v for k, v in cells.items() if k.startswith("LUT"))


def fx_outputs(model, interface: dict, n: int = 1000, seed: int = 11) -> tuple[dict, dict]:
    """The fx interpreter run on `n` reference vectors in the RTL's input words: (port ->
    {element: mantissas}, port -> Keras's outputs), for `compare`."""
    from xdsl.context import Context
    from xdsl.dialects import func

    from hgq_mlir.backend.verify import reference_vectors
    from hgq_mlir.frontend.keras import import_model
    from hgq_mlir.interp.fx import run_fx
    from hgq_mlir.passes.lower_hgq_to_fx import LowerHgqToFx

    module = import_model(model)
    LowerHgqToFx().apply(Context(), module)
    fx_func = next(op for op in module.ops if isinstance(op, func.FuncOp))
    mantissas, expected = reference_vectors(model, interface, n, seed)
    out = run_fx(fx_func, mantissas)
    return {port: {i: v.mantissa for i, v in out.get(port, {}).items()} for port in expected}, expected
