"""Plots: written by `hgq-opt -t verilog` and the API next to the RTL, non-empty, leaving the
RTL files as they are; the Pareto front; names escaped."""

import json
import subprocess
import sys

import numpy as np

import hgq_mlir
from hgq_mlir import plots

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 5_000


def test_hgq_opt_writes_plots_and_leaves_the_rtl_as_it_is(tiny_model, tmp_path):
    _, path = tiny_model
    with_plots = tmp_path / "cli"
    subprocess.run([sys.executable, "-m", "hgq_mlir.driver", str(path), "-t", "verilog", "-o", str(with_plots), "--quiet"],
                   check=True, capture_output=True)
    for name in ("resources.png", "bitwidths.png"):
        assert _is_png(with_plots / name), name
    page = (with_plots / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "hidden" in page and "logits" in page
    without = hgq_mlir.compile(path, tmp_path / "api", plots=False)
    assert not list((tmp_path / "api").glob("*.png"))
    for name in ("tiny.v", "tiny.json", "report.json"):  # the plots change no RTL file
        assert (with_plots / name).read_bytes() == (tmp_path / "api" / name).read_bytes(), name
    assert without.report.raw == json.loads((with_plots / "report.json").read_text())


def test_bit_widths_follow_the_ir(tiny_model, tmp_path):
    model, _ = tiny_model
    from hgq_mlir.frontend.keras import import_model

    widths = plots.bit_widths(import_model(model))
    assert set(widths) == {"hidden", "logits"}
    w = widths["hidden"]["weights"]
    assert w.shape == (6, 4) and w.min() >= 0 and w.max() <= 5  # kbi b0=4: at most 4 bits + sign
    assert widths["hidden"]["activations"].shape == (6,)
    assert plots.bit_widths(hgq_mlir.compile(model, tmp_path / "hw", plots=False)._ir["hw"]) == {}  # no hgq ops


def test_pareto_front_and_sweep_plots(tmp_path):
    luts = [100, 120, 150, 90, 200]
    acc = [70.0, 75.0, 74.0, 60.0, 80.0]
    assert plots.pareto_front(luts, acc, higher_is_better=True) == [3, 0, 1, 4]  # 150 LUTs at 74 % is beaten
    assert plots.pareto_front(luts, [5, 4, 3, 2, 1], higher_is_better=False) == [3, 4]  # fewest LUTs, lowest value
    rows = [{"model": f"m{i}", "cutoff": c, "luts": luts[i] + c, "ffs": 10 * c, "latency": 8 // c, "val_acc": acc[i]}
            for i in range(5) for c in (1, 2)]
    assert _is_png(plots.plot_pareto(rows, "val_acc", tmp_path / "pareto.png"))
    assert _is_png(plots.plot_tradeoff(rows, tmp_path / "tradeoff.png"))


def test_names_with_control_characters(tmp_path):
    report = {"top": "t\x1b[2J", "luts": 10, "ffs": 4, "srls": 0, "dsps": 0, "adders": 2, "latency": 1, "adder_levels": 1,
              "layers": {"evil\x1b[31m<b>": {"luts": 10, "ffs": 4, "srls": 0, "adders": 2, "luts_unpruned": 15}}}
    widths = {"evil\x1b[31m<b>": {"weights": np.array([[0, 2], [3, 0]]), "activations": np.array([4, 0])}}
    paths = plots.write_plots(tmp_path, report, widths)
    assert _is_png(paths["resources_png"]) and _is_png(paths["bitwidths_png"])
    page = paths["html"].read_text()
    assert "\x1b" not in page and "<b>" not in page and "evil\\x1b[31m&lt;b&gt;" in page
