"""`hgq-verify`: simulate the emitted RTL on random inputs and compare every output bit with Keras.

    hgq-verify MODEL.keras -n 10000                # compile (standard pipeline) and check
    hgq-verify MODEL.keras --rtl out/              # check RTL already written by hgq-opt -t verilog
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from hgq_mlir.errors import UserError


def compile_model(model_path: str, out_dir: str | Path, passes: str = "hgq-standard") -> dict:
    """Keras file -> RTL files in out_dir (the same steps as `hgq-opt M -t verilog -o out_dir -p passes`)."""
    from xdsl.context import Context
    from xdsl.passes import PassPipeline

    from hgq_mlir.backend.rtl import write_rtl
    from hgq_mlir.frontend.keras import import_model, load_keras
    from hgq_mlir.passes import get_all_passes

    module = import_model(load_keras(model_path))
    try:
        pipeline = PassPipeline.parse_spec(get_all_passes(), passes)
    except ValueError as e:
        raise UserError(f"bad pass pipeline '{passes}': {e}") from None
    pipeline.apply(Context(), module)
    return write_rtl(module, out_dir)


def grid_inputs(interface: dict, n_features: int, n: int, seed: int = 0, port: str | None = None) -> np.ndarray:
    """Random inputs over each input element's grid (the RTL's input formats), as floats.

    Elements absent from the ports (pruned) get random off-grid values: they must not matter.
    `port` picks one input port (default: every port, for single-input models)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features)) * 4.0
    for p in _ports(interface["inputs"], port):
        for e in p["elements"]:
            w = e["width"]
            lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if e["signed"] else (0, (1 << w) - 1)
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
    """Input port -> (flat floats -> flat floats after the quantizer that reads that input)."""
    from hgq_mlir.dialects import hgq
    from hgq_mlir.fixed import quantize
    from hgq_mlir.interp.hgq import find_model

    out = {}
    for op in find_model(module).body.ops:
        if isinstance(op, hgq.InputOp):
            q = next((u.operation for u in op.result.uses if isinstance(u.operation, hgq.QuantizeOp)), None)
            if q is not None:
                out[op.port.data] = lambda x, q=q: quantize(x, *q.kif(), q.round.data, q.overflow.data).to_float()
    return out


def keras_predict(model, x: np.ndarray | list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """model.predict on flat inputs (one array, or one per input), flat outputs (likewise)."""
    xs = x if isinstance(x, list) else [x]
    n = len(xs[0])
    shaped = [a.reshape(n, *t.shape[1:]) for a, t in zip(xs, model.inputs, strict=True)]
    y = model.predict(shaped if len(shaped) > 1 else shaped[0], verbose=0, batch_size=min(n, 4096))
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
    """Mismatching (vector, output element) pairs: RTL mantissas vs Keras floats, bit-exact.

    `port` checks one output port against `expected` (default: every port, single output)."""
    bad = np.zeros(expected.shape, dtype=bool)
    driven = set()
    for p in _ports(interface["outputs"], port):
        for e in p["elements"]:
            c = e["index"]
            driven.add(c)
            want = expected[:, c].astype(np.float64) * 2.0 ** e["frac"]
            have = np.array([float(v) for v in got[p["port"]][c]])
            bad[:, c] = (want != have) | (want != np.round(want))
    for c in range(expected.shape[1]):
        if c not in driven:
            bad[:, c] = expected[:, c] != 0  # elements left out of the ports are constant zero
    return int(bad.sum())


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


def verify(model_path: str, rtl_dir: str | Path, n: int, simulator: str = "auto", seed: int = 0):
    """(mismatches, compared elements, simulator used)."""
    from hgq_mlir.backend.simulate import pick_simulator, simulate
    from hgq_mlir.frontend.keras import load_keras

    rtl_dir = Path(rtl_dir)
    interface = _manifest(rtl_dir)
    verilog = rtl_dir / f"{interface['top']}.v"
    report = json.loads((rtl_dir / "report.json").read_text()) if (rtl_dir / "report.json").exists() else {}
    model = load_keras(model_path)
    mantissas, expected = reference_vectors(model, interface, n, seed)
    sim = pick_simulator(simulator, report.get("adders", 0))
    got = simulate(verilog, interface, mantissas, sim)
    mismatches = sum(compare(interface, y, got, port) for port, y in expected.items())
    return mismatches, sum(y.size for y in expected.values()), sim


def _manifest(rtl_dir: Path) -> dict:
    manifests = [p for p in rtl_dir.glob("*.json") if p.name != "report.json"]
    if len(manifests) != 1:
        raise UserError(f"{rtl_dir}: expected one <top>.json manifest, found {len(manifests)}")
    return json.loads(manifests[0].read_text())


def write_testbench(model_path: str, rtl_dir: str | Path, n: int, seed: int = 0) -> Path:
    """Store n input vectors and the model's outputs next to the RTL, with a self-checking
    testbench `tb_<top>.v` (run it in any simulator: it prints PASS or FAIL)."""
    from hgq_mlir.backend.simulate import pack, self_checking_testbench
    from hgq_mlir.frontend.keras import load_keras

    rtl_dir = Path(rtl_dir)
    interface = _manifest(rtl_dir)
    model = load_keras(model_path)
    mantissas, expected = reference_vectors(model, interface, n, seed)
    stem = f"tb_{interface['top']}"
    for k, words in enumerate(pack(interface["inputs"], mantissas)):
        digits = (interface["inputs"][k]["width"] + 3) // 4
        (rtl_dir / f"{stem}_in{k}.hex").write_text("".join(f"{w:0{digits}x}\n" for w in words))
    outs = {}
    for port in interface["outputs"]:
        y = expected[port["port"]]
        m = np.zeros(y.shape, dtype=object)
        for e in port["elements"]:
            m[:, e["index"]] = [int(v) for v in np.round(y[:, e["index"]].astype(np.float64) * 2.0 ** e["frac"])]
        outs[port["port"]] = m
    for k, words in enumerate(pack(interface["outputs"], outs)):
        digits = (interface["outputs"][k]["width"] + 3) // 4
        (rtl_dir / f"{stem}_out{k}.hex").write_text("".join(f"{w:0{digits}x}\n" for w in words))
    tb = rtl_dir / f"{stem}.v"
    tb.write_text(self_checking_testbench(interface, n, stem))
    return tb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hgq-verify", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="the HGQ2 .keras model")
    ap.add_argument("-n", type=int, default=1000, help="random input vectors (default 1000)")

    ap.add_argument("--rtl", help="folder written by `hgq-opt -t verilog -o` (default: compile now)")
    ap.add_argument("-p", "--passes", default="hgq-standard", help="pipeline when compiling (default hgq-standard)")
    ap.add_argument("--sim", default="auto", choices=("auto", "iverilog", "verilator"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write-testbench", action="store_true",
                    help="with --rtl: also store the vectors and a self-checking tb_<top>.v in that folder")
    args = ap.parse_args(argv)
    if args.write_testbench and not args.rtl:
        print("hgq-verify: --write-testbench needs --rtl DIR", file=sys.stderr)
        return 2
    try:
        if args.write_testbench:
            tb = write_testbench(args.model, args.rtl, args.n, args.seed)
            print(f"wrote {tb} and its vectors ({args.n})")
        if args.rtl:
            mismatches, total, sim = verify(args.model, args.rtl, args.n, args.sim, args.seed)
        else:
            with tempfile.TemporaryDirectory(prefix="hgq-verify-") as tmp:
                compile_model(args.model, tmp, args.passes)
                mismatches, total, sim = verify(args.model, tmp, args.n, args.sim, args.seed)
    except UserError as e:
        print(f"hgq-verify: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        print(f"hgq-verify: {e}", file=sys.stderr)
        return 2
    print(f"mismatches={mismatches} of {total} ({args.n} vectors, {sim})")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
