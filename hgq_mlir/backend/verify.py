"""`hgq-verify`: simulate the emitted RTL on random inputs and compare every output bit with Keras.

    hgq-verify MODEL.keras -n 10000                # compile (standard pipeline) and check
    hgq-verify MODEL.keras --rtl out/              # check RTL already written by hgq-opt -t verilog

Exit codes: 0 every output bit matches; 1 mismatches found; 2 bad input or usage (one
line); 130 interrupted; 70 internal error (one line, "please report", a log path).
-n is 1 .. 10 000 000 vectors; they are simulated in batches of 100 000 (memory bounded).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from xdsl.ir import Operation

from hgq_mlir.backend.names import printable
from hgq_mlir.errors import EXIT_MISMATCH, EXIT_OK, UserError, exit_without_teardown, run_tool

MAX_VECTORS = 10_000_000
BATCH = 100_000  # vectors per simulation run: memory stays bounded whatever -n is
_BATCH_SEED_STRIDE = 1_000_003  # batch b draws from seed + b * stride (batch 0: the seed itself)


def compile_model(model_path: str, out_dir: str | Path, passes: str = "hgq-standard") -> dict:
    """Keras file -> RTL files in out_dir (the same steps as `hgq-opt M -t verilog -o out_dir -p passes`)."""
    from xdsl.context import Context
    from xdsl.passes import PassPipeline

    from hgq_mlir.backend.rtl import write_rtl
    from hgq_mlir.collector import few_collections
    from hgq_mlir.driver import _check_pass_options
    from hgq_mlir.frontend.keras import import_model
    from hgq_mlir.passes import get_all_passes

    try:
        pipeline = PassPipeline.parse_spec(get_all_passes(), passes)
    except ValueError as e:
        raise UserError(f"bad pass pipeline '{printable(passes)}': {e}") from None
    _check_pass_options(pipeline.passes)
    with few_collections():
        module = import_model(_load_model(model_path))
        pipeline.apply(Context(), module)
        return write_rtl(module, out_dir)


def grid_inputs(interface: dict, n_features: int, n: int, seed: int = 0, port: str | None = None) -> np.ndarray:
    """Random inputs over each input element's grid (the RTL's input formats), as floats.

    Elements absent from the ports (pruned) get random off-grid values: they must not matter.
    `port` picks one input port (default: every port, for single-input models)."""
    from hgq_mlir.fixed import format_bounds

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features)) * 4.0
    for p in _ports(interface["inputs"], port):
        for e in p["elements"]:
            w, k = e["width"], int(e["signed"])
            lo, hi = format_bounds(k, w - k, 0)
            x[:, e["index"]] = rng.integers(lo, hi + 1, size=n) * 2.0 ** (-e["frac"])
    return x.astype(np.float32)


def _ports(ports: list[dict], port: str | None) -> list[dict]:
    return [p for p in ports if port is None or p["port"] == port]


def port_mantissas(interface: dict, xq: np.ndarray, port: str | None = None) -> dict[str, np.ndarray]:
    """The RTL's input words from already-quantized inputs (what the model's input quantizer gives).

    A grid point can still be outside a quantizer's range (SAT_SYM never gives the most
    negative code), so the RTL is fed the quantizer's output, not the raw grid point.
    """
    out = {}
    for p in _ports(interface["inputs"], port):
        m = np.zeros(xq.shape, dtype=np.int64)
        for e in p["elements"]:
            scaled = xq[:, e["index"]].astype(np.float64) * 2.0 ** e["frac"]
            if not np.array_equal(scaled, np.round(scaled)):
                raise RuntimeError(f"input {e['index']} is not on its manifest grid (frac {e['frac']})")
            m[:, e["index"]] = scaled.astype(np.int64)
        out[p["port"]] = m
    return out


def keras_input_quantizer(model):
    """Flat x -> the first layer's input quantizer applied to x (HGQ2's own code), flat."""
    first = next(layer for layer in model.layers if getattr(layer, "enable_iq", False))
    shape = tuple(model.inputs[0].shape[1:])
    return lambda x: np.asarray(first.iq(x.reshape(len(x), *shape), training=False)).reshape(len(x), -1)


def input_quantizers(module) -> dict[str, object]:
    """Input port -> (flat floats -> the values the RTL port carries). An element the port
    carries in its one reader's format is that quantizer's output (SAT_SYM never gives the
    most negative code); an element read in several formats is carried as it is."""
    from hgq_mlir.fixed import quantize
    from hgq_mlir.interp.hgq import find_model
    from hgq_mlir.passes.lower_hgq_to_fx import port_elements

    absorbed: dict[str, dict[str, list]] = {}
    for (port, n), element in port_elements(find_model(module)).items():
        groups = absorbed.setdefault(port, {})
        if element.absorbed:
            groups.setdefault(element.absorbed, []).append((n, element.type))

    def carried(x: np.ndarray, groups: dict[str, list]) -> np.ndarray:
        x = np.array(x, dtype=np.float64)
        for overflow, elements in groups.items():
            index = np.array([n for n, _ in elements])
            k, i, f = ([getattr(t, a).data for _, t in elements] for a in ("k", "i", "f"))
            x[:, index] = quantize(x[:, index], k, i, f, "TRN", overflow).to_float()  # on the grid already
        return x

    return {port: (lambda x, g=groups: carried(x, g)) for port, groups in absorbed.items()}


_TF_SCOPE = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\\/>-]*")


def _runnable(model):
    """`model`, or the same graph under a name TensorFlow accepts as a scope (ASCII): a
    model named e.g. 'modèle' loads and compiles, but TensorFlow refuses to run it."""
    if _TF_SCOPE.fullmatch(model.name):
        return model
    import keras

    bad = [layer.name for layer in model.layers if not _TF_SCOPE.fullmatch(layer.name)]
    if bad:
        raise UserError(f"layer '{printable(bad[0])}': TensorFlow cannot run a layer with this name "
                        "(ASCII letters, digits and _.-/> only): rename it to verify the model")
    return keras.Model(model.inputs, model.outputs, name="model")


def keras_predict(model, x: np.ndarray | list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """model.predict on flat inputs (one array, or one per input), flat outputs (likewise)."""
    xs = x if isinstance(x, list) else [x]
    n = len(xs[0])
    shaped = [a.reshape(n, *t.shape[1:]) for a, t in zip(xs, model.inputs, strict=True)]
    y = _runnable(model).predict(shaped if len(shaped) > 1 else shaped[0], verbose=0, batch_size=min(n, 4096))
    ys = [np.asarray(v).reshape(n, -1) for v in (y if isinstance(y, list | tuple) else [y])]
    return ys if isinstance(x, list) else ys[0]


def n_features(model) -> int:
    return int(np.prod(model.inputs[0].shape[1:]))


def port_names(model) -> tuple[list[str], list[str]]:
    """The RTL port names of the model's inputs and outputs (as the frontend names them)."""
    from hgq_mlir.frontend.keras import port_name

    n_in, n_out = len(model.inputs), len(model.outputs)
    return [port_name("inp", i, n_in) for i in range(n_in)], [port_name("out", i, n_out) for i in range(n_out)]


def compare(interface: dict, expected: np.ndarray, got: dict, port: str | None = None) -> int:
    """Mismatching (vector, output element) pairs: RTL mantissas vs Keras floats, bit-exact
    (an output bit the simulator left unknown, x or z, mismatches).

    `port` checks one output port against `expected` (default: every port, single output)."""
    bad = np.zeros(expected.shape, dtype=bool)
    driven = set()
    for p in _ports(interface["outputs"], port):
        for e in p["elements"]:
            c = e["index"]
            driven.add(c)
            want = expected[:, c].astype(np.float64) * 2.0 ** e["frac"]
            have = np.array([np.nan if v is None else float(v) for v in got[p["port"]][c]])  # None: x or z
            bad[:, c] = (want != have) | (want != np.round(want))
    for c in range(expected.shape[1]):
        if c not in driven:
            bad[:, c] = expected[:, c] != 0  # elements left out of the ports are constant zero
    return int(bad.sum())


def check_model_fits(model, interface: dict, where: str) -> None:
    """A one-line UserError when the RTL's ports do not belong to this model."""
    ins, outs = port_names(model)
    sizes = {name: int(np.prod(t.shape[1:])) for name, t in zip(ins, model.inputs, strict=True)}
    sizes.update({name: int(np.prod(t.shape[1:])) for name, t in zip(outs, model.outputs, strict=True)})
    what = f"model '{printable(model.name)}' does not match the RTL in {printable(where)}"
    for side, names in (("inputs", ins), ("outputs", outs)):
        for p in interface[side]:
            if p["port"] not in names:
                raise UserError(f"{what}: port '{p['port']}' is not among the model's {side} ({', '.join(names)})")
            for e in p["elements"]:
                if e["index"] >= sizes[p["port"]]:
                    raise UserError(f"{what}: port '{p['port']}' element {e['index']} is beyond the model's "
                                    f"{sizes[p['port']]} values")


def reference_vectors(model, interface: dict, n: int, seed: int):
    """Grid inputs per model input, the RTL's input words, and Keras's outputs per output."""
    from hgq_mlir.frontend.keras import import_model

    quantizers = input_quantizers(import_model(model))
    ins, outs = port_names(model)
    xs, mantissas = [], {}
    for k, (name, t) in enumerate(zip(ins, model.inputs, strict=True)):
        x = grid_inputs(interface, int(np.prod(t.shape[1:])), n, seed + k, port=name)
        xs.append(x)
        if name in quantizers:
            mantissas.update(port_mantissas(interface, quantizers[name](x), port=name))
    return mantissas, dict(zip(outs, keras_predict(model, xs), strict=True))


def check_n(n: int) -> None:
    if not 1 <= n <= MAX_VECTORS:
        raise UserError(f"-n {n}: the number of vectors must be 1 .. {MAX_VECTORS:,}".replace(",", " "))


def _batches(n: int, seed: int):
    """(vectors, seed) per batch: at most BATCH vectors each."""
    for b, start in enumerate(range(0, n, BATCH)):
        yield min(BATCH, n - start), seed + b * _BATCH_SEED_STRIDE


def _load_model(model_path: str):
    from hgq_mlir.driver import check_keras_file
    from hgq_mlir.frontend.keras import load_keras

    check_keras_file(str(model_path))
    return load_keras(model_path)


def verify(model_path: str, rtl_dir: str | Path, n: int, simulator: str = "auto", seed: int = 0):
    """(mismatches, compared elements, simulator used); n vectors, simulated in batches."""
    from hgq_mlir.backend.simulate import pick_simulator, simulate, uses_primitives

    check_n(n)
    rtl_dir = Path(rtl_dir)
    interface = _manifest(rtl_dir)
    verilog = rtl_dir / f"{interface['top']}.v"
    if not verilog.is_file():
        raise UserError(f"{printable(str(verilog))}: no such file (the manifest names top '{interface['top']}')")
    report = _report(rtl_dir)
    model = _load_model(model_path)
    check_model_fits(model, interface, str(rtl_dir))
    sim = pick_simulator(simulator, report.get("adders", 0), uses_primitives(verilog.read_text()),
                         pipelined=bool(interface["latency"]))
    mismatches = total = 0
    for size, batch_seed in _batches(n, seed):
        mantissas, expected = reference_vectors(model, interface, size, batch_seed)
        got = simulate(verilog, interface, mantissas, sim)
        mismatches += sum(compare(interface, y, got, port) for port, y in expected.items())
        total += sum(y.size for y in expected.values())
    return mismatches, total, sim


FLOAT32_BITS = 24  # float32's significand: Keras's predict holds wider values rounded


def float32_rounded(model) -> dict[str, int]:
    """Per layer whose values before a quantizer (or at an output) can need more than
    `FLOAT32_BITS` significant bits, the most they need: Keras computes them in float32 and
    rounds them there, the RTL keeps them exact, so `predict` and the RTL can differ on rare
    inputs (a rounded sum crossing a quantizer's rounding step). A table's entries are
    float32 values themselves: whatever grid they share, Keras rounds none of them."""
    from xdsl.dialects import func

    from hgq_mlir.dialects import hgq
    from hgq_mlir.frontend.keras import import_model
    from hgq_mlir.passes.tensor_model import Model

    wide: dict[str, int] = {}
    for f in import_model(model).ops:
        if not isinstance(f, func.FuncOp):
            continue
        ranges = Model.of(f).ranges()
        for op in f.body.ops:
            if not isinstance(op, hgq.QuantizeOp | hgq.OutputOp) or (r := ranges.get(op.operands[0])) is None:
                continue
            bits = max((max(abs(int(lo)), abs(int(hi))).bit_length() for lo, hi in zip(r.lo, r.hi)), default=0)
            source = op.operands[0].owner
            if isinstance(source, hgq.LutOp):
                continue
            layer = source.attributes.get("layer") if isinstance(source, Operation) else None
            if bits > FLOAT32_BITS and layer is not None:
                wide[layer.data] = max(wide.get(layer.data, 0), bits)
    return wide


def _report(rtl_dir: Path) -> dict:
    path = rtl_dir / "report.json"
    if not path.exists():
        return {}
    try:
        report = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{printable(str(path))}: not a readable JSON report ({type(e).__name__})") from None
    if not isinstance(report, dict) or not isinstance(report.get("adders", 0), int):
        raise UserError(f"{printable(str(path))}: not a report written by hgq-opt")
    return report


def _manifest(rtl_dir: Path) -> dict:
    from hgq_mlir.backend.manifest import load_manifest

    if not rtl_dir.is_dir():
        raise UserError(f"{printable(str(rtl_dir))}: no such folder (--rtl takes the folder hgq-opt -t verilog wrote)")
    manifests = [p for p in rtl_dir.glob("*.json") if p.name != "report.json"]
    if len(manifests) != 1:
        raise UserError(f"{printable(str(rtl_dir))}: expected one <top>.json manifest, found {len(manifests)}")
    return load_manifest(manifests[0])


def write_testbench(model_path: str, rtl_dir: str | Path, n: int, seed: int = 0) -> Path:
    """Store n input vectors and the model's outputs next to the RTL, with a self-checking
    testbench `tb_<top>.v` (run it in any simulator: it prints PASS or FAIL)."""
    from hgq_mlir.backend.output import write_folder
    from hgq_mlir.backend.simulate import model_sources, pack, self_checking_testbench

    check_n(n)
    rtl_dir = Path(rtl_dir)
    interface = _manifest(rtl_dir)
    model = _load_model(model_path)
    check_model_fits(model, interface, str(rtl_dir))
    stem = f"tb_{interface['top']}"
    ins = [[] for _ in interface["inputs"]]
    outs_text = [[] for _ in interface["outputs"]]
    for size, batch_seed in _batches(n, seed):
        mantissas, expected = reference_vectors(model, interface, size, batch_seed)
        for k, words in enumerate(pack(interface["inputs"], mantissas)):
            digits = (interface["inputs"][k]["width"] + 3) // 4
            ins[k].append("".join(f"{w:0{digits}x}\n" for w in words))
        outs = {}
        for port in interface["outputs"]:
            y = expected[port["port"]]
            m = np.zeros(y.shape, dtype=object)
            for e in port["elements"]:
                m[:, e["index"]] = [int(v) for v in np.round(y[:, e["index"]].astype(np.float64) * 2.0 ** e["frac"])]
            outs[port["port"]] = m
        for k, words in enumerate(pack(interface["outputs"], outs)):
            digits = (interface["outputs"][k]["width"] + 3) // 4
            outs_text[k].append("".join(f"{w:0{digits}x}\n" for w in words))
    files = {f"{stem}_in{k}.hex": "".join(parts) for k, parts in enumerate(ins)}
    files.update({f"{stem}_out{k}.hex": "".join(parts) for k, parts in enumerate(outs_text)})
    files[f"{stem}.v"] = self_checking_testbench(interface, n, stem)
    models = model_sources(rtl_dir / f"{interface['top']}.v")
    if models:  # Xilinx primitives (ternary=primitive): simulated with Yosys's models
        files[f"{stem}.v"] = (f"// run: iverilog -g2012 -s {stem} -o {stem}.vvp {stem}.v {interface['top']}.v "
                              f"{' '.join(models)} && vvp -n {stem}.vvp\n") + files[f"{stem}.v"]
    write_folder(rtl_dir, files, replace_build=False)
    return rtl_dir / f"{stem}.v"


class _UsageParser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{message} (see --help)")


def _run(argv: list[str] | None) -> int:
    ap = _UsageParser(prog="hgq-verify", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="the HGQ2 .keras model")
    ap.add_argument("-n", type=int, default=1000, help=f"random input vectors, 1 .. {MAX_VECTORS} (default 1000)")
    ap.add_argument("--rtl", help="folder written by `hgq-opt -t verilog -o` (default: compile now)")
    ap.add_argument("-p", "--passes", default="hgq-standard", help="pipeline when compiling (default hgq-standard)")
    ap.add_argument("--sim", default="auto", choices=("auto", "iverilog", "verilator"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-testbench", action="store_true",
                    help="with --rtl: also store the vectors and a self-checking tb_<top>.v in that folder")
    args = ap.parse_args(argv)
    if args.write_testbench and not args.rtl:
        raise UserError("--write-testbench needs --rtl DIR")
    check_n(args.n)
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: must be >= 0")
    try:
        if args.write_testbench:
            tb = write_testbench(args.model, args.rtl, args.n, args.seed)
            print(f"wrote {printable(str(tb))} and its vectors ({args.n})")
        if args.rtl:
            mismatches, total, sim = verify(args.model, args.rtl, args.n, args.sim, args.seed)
        else:
            with tempfile.TemporaryDirectory(prefix="hgq-verify-") as tmp:
                compile_model(args.model, tmp, args.passes)
                mismatches, total, sim = verify(args.model, tmp, args.n, args.sim, args.seed)
    except RuntimeError as e:  # a simulator that fails on the RTL, inputs off the manifest's grid
        raise UserError(str(e)) from None
    print(f"mismatches={mismatches} of {total} ({args.n} vectors, {sim})")
    if mismatches:
        wide = float32_rounded(_load_model(args.model))
        if wide:
            layers = ", ".join(f"'{printable(name)}' ({bits} bits)" for name, bits in sorted(wide.items()))
            print(f"note: Keras computes in float32, which rounds values wider than {FLOAT32_BITS} significant bits; "
                  f"the RTL keeps them exact. Values that wide: {layers}")
    return EXIT_OK if mismatches == 0 else EXIT_MISMATCH


def main(argv: list[str] | None = None) -> int:
    return run_tool("hgq-verify", lambda: _run(argv), argv if argv is not None else sys.argv[1:])


def cli() -> None:
    """The `hgq-verify` command."""
    exit_without_teardown(main())


if __name__ == "__main__":
    cli()
