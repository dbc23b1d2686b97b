"""hgq_mlir.compile: the report, manifest, files, IR levels and verify; errors as the CLI's line."""

import json
import subprocess
import sys

import pytest

import hgq_mlir
from hgq_mlir.api import LayerReport, Report
from hgq_mlir.errors import UserError


@pytest.fixture(scope="module")
def api_result(tiny_model, tmp_path_factory):
    _, path = tiny_model
    return hgq_mlir.compile(path, tmp_path_factory.mktemp("api") / "out")


def test_compile_writes_the_rtl_contract_and_returns_it(api_result):
    r = api_result
    assert {"verilog", "manifest", "report", "resources_png", "bitwidths_png", "html"} <= set(r.paths)
    for p in r.paths.values():
        assert p.is_file() and p.stat().st_size > 0, p
    on_disk = json.loads(r.paths["report"].read_text())
    assert isinstance(r.report, Report) and r.report.raw == on_disk
    assert (r.report.luts, r.report.ffs, r.report.adders, r.report.latency) == (
        on_disk["luts"], on_disk["ffs"], on_disk["adders"], on_disk["latency"])
    assert list(r.report.layers) == list(on_disk["layers"])
    assert {"hidden", "logits"} <= set(r.report.layers)
    hidden = r.report.layers["hidden"]
    assert isinstance(hidden, LayerReport) and hidden.luts == on_disk["layers"]["hidden"]["luts"]
    assert sum(layer.luts for layer in r.report.layers.values()) == r.report.luts
    assert r.manifest == json.loads(r.paths["manifest"].read_text())
    assert r.manifest["top"] == "tiny" and r.manifest["latency"] == 0
    assert r.report.table().splitlines()[0].startswith("layer")


def test_ir_levels(api_result):
    hgq_text, fx_text, hw_text = (api_result.ir(level) for level in ("hgq", "fx", "hw"))
    assert "hgq.quantize" in hgq_text and "fx." not in hgq_text
    assert "fx.add" in fx_text and "hgq.dense" not in fx_text
    assert "hw.module" in hw_text and "fx." not in hw_text
    with pytest.raises(UserError, match="unknown level 'verilog'"):
        api_result.ir("verilog")


def test_verify_passes_and_catches_a_broken_circuit(api_result, tmp_path):
    v = api_result.verify(n=300)
    assert v.ok and v.mismatches == 0 and v.compared == 300 * 3
    # negative control: the same check on RTL with one adder turned into a subtractor
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(api_result.out_dir, broken)
    verilog = broken / "tiny.v"
    text = verilog.read_text()
    assert " + " in text
    verilog.write_text(text.replace(" + ", " - ", 1))
    from dataclasses import replace

    assert replace(api_result, out_dir=broken).verify(n=300).mismatches > 0


def test_live_model_pipelined_and_h5(tiny_model, tmp_path):
    model, path = tiny_model
    r = hgq_mlir.compile(model, tmp_path / "live", latency_cutoff=1, plots=False)
    assert r.manifest["latency"] > 0 and r.manifest["clock"] == "clk" and r.report.ffs > 0
    assert "resources_png" not in r.paths and not (tmp_path / "live" / "resources.png").exists()
    assert r.verify(n=200).ok
    h5 = tmp_path / "tiny.h5"
    model.save(h5)
    from_h5 = hgq_mlir.compile(h5, tmp_path / "h5", plots=False)
    from_keras = hgq_mlir.compile(path, tmp_path / "keras", plots=False)
    assert from_h5.report.raw == from_keras.report.raw
    assert (tmp_path / "h5" / "tiny.v").read_text() == (tmp_path / "keras" / "tiny.v").read_text()


def _cli_line(*args) -> str:
    p = subprocess.run([sys.executable, "-m", "hgq_mlir.driver", *args], capture_output=True, text=True)
    assert p.returncode != 0 and p.stdout == ""
    (line,) = p.stderr.strip().splitlines()
    return line.removeprefix("hgq-opt: ")


def test_errors_are_user_errors_with_the_cli_line(tiny_model, tmp_path):
    _, path = tiny_model
    missing = tmp_path / "missing.keras"
    with pytest.raises(UserError) as e:
        hgq_mlir.compile(missing, tmp_path / "a")
    assert str(e.value) == _cli_line(str(missing), "-t", "verilog", "-o", str(tmp_path / "a"))
    with pytest.raises(UserError) as e:
        hgq_mlir.compile(path, tmp_path / "b", latency_cutoff="abc")
    assert str(e.value) == _cli_line(str(path), "-t", "verilog", "-o", str(tmp_path / "b"),
                                     "-p", "hgq-standard{latency-cutoff=abc}")
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"not a zip file")
    with pytest.raises(UserError) as e:
        hgq_mlir.compile(corrupt, tmp_path / "c")
    assert "corrupt.keras" in str(e.value) and "\n" not in str(e.value)
    assert str(e.value) == _cli_line(str(corrupt), "-t", "verilog", "-o", str(tmp_path / "c"))
    with pytest.raises(UserError, match="unknown option 'depth'"):
        hgq_mlir.compile(path, tmp_path / "d", depth=3)
    with pytest.raises(UserError, match="expected a keras.Model or a model file path, got int"):
        hgq_mlir.compile(42, tmp_path / "e")
    assert not any((tmp_path / d).exists() for d in "abcde")  # no partial output
