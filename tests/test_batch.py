"""hgq-batch / compile_many: ParetoFront-named checkpoints x cutoffs on a 2-worker LocalCluster."""

import csv
import json
import subprocess
import sys

import pytest

from hgq_mlir.batch import compile_many, format_summary, parse_checkpoint_name
from hgq_mlir.errors import UserError

NAMES = [
    "epoch=3-acc=61.50%-val_acc=60.10%-EBOPs=210",
    "epoch=7-acc=70.25%-val_acc=69.80%-EBOPs=450",
    "epoch=12-acc=76.20%-val_acc=75.90%-EBOPs=1234",
]
BROKEN = "epoch=15-acc=80.00%-val_acc=79.00%-EBOPs=2000"


def test_checkpoint_names_become_columns():
    assert parse_checkpoint_name("epoch=12-acc=76.20%-val_acc=75.90%-EBOPs=1234") == {
        "epoch": 12, "acc": 76.2, "val_acc": 75.9, "EBOPs": 1234}
    assert parse_checkpoint_name("epoch=4-loss=-0.5-tag=best") == {"epoch": 4, "loss": -0.5, "tag": "best"}
    assert parse_checkpoint_name("model_final") == {}  # not k=v pieces: no columns
    assert parse_checkpoint_name("final-epoch=3") == {}  # a piece without k=v


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Three small seeded HGQ2 models (hidden widths 3, 4, 6) named like ParetoFront checkpoints, and a broken file."""
    import keras
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense

    from zoo import synthetic_data

    folder = tmp_path_factory.mktemp("front")
    x, y = synthetic_data(512, n_in=6, n_out=3, seed=5)
    for k, (name, hidden) in enumerate(zip(NAMES, (3, 4, 6), strict=True)):
        keras.utils.set_random_seed(10 + k)
        with (
            QuantizerConfigScope(place="weight", q_type="kbi", b0=3, i0=1),
            QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="SAT", round_mode="RND", i0=2, f0=2),
        ):
            model = keras.Sequential([keras.Input((6,)), QDense(hidden, activation="relu"), QDense(3)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, batch_size=128, verbose=0)
        model.save(folder / f"{name}.keras")
    (folder / f"{BROKEN}.keras").write_bytes(b"this is not a keras archive")
    return folder


def test_sweep_rows_errors_plots_and_rerun(checkpoints, tmp_path):
    out = tmp_path / "sweep"
    result = compile_many([checkpoints], out, latency_cutoffs=[1, 2], jobs=2, progress=False)
    rows = result.rows
    assert len(rows) == 8 and [(r["EBOPs"], r["cutoff"]) for r in rows] == [
        (e, c) for e in (210, 450, 1234, 2000) for c in (1, 2)]  # natural order of names, then cutoffs
    ok = [r for r in rows if r["status"] == "ok"]
    bad = [r for r in rows if r["status"] == "error"]
    assert len(ok) == 6 and len(bad) == 2
    for r in bad:
        assert r["EBOPs"] == 2000 and BROKEN in r["error"] and "not a Keras model" in r["error"]
        assert "\n" not in r["error"] and r["luts"] is None
    for r in ok:
        assert r["luts"] > 0 and r["dsps"] == 0 and r["adders"] > 0 and r["error"] == "" and r["seconds"] > 0
        assert r["latency"] >= 1 and r["ffs"] > 0  # pipelined
        report = json.loads((out / r["model"] / f"cutoff={r['cutoff']}" / "report.json").read_text())
        assert report["luts"] == r["luts"] and report["latency"] == r["latency"]
    by_model = {}
    for r in ok:
        by_model.setdefault(r["model"], {})[r["cutoff"]] = r
    assert all(m[1]["latency"] >= m[2]["latency"] for m in by_model.values())  # cutoff 1: at least as deep
    with open(out / "summary.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 8 and {"epoch", "acc", "val_acc", "EBOPs", "luts", "ffs", "dsps", "adders", "latency",
                                "seconds", "status", "error"} <= set(table[0])
    assert [t["status"] for t in table] == [r["status"] for r in rows]
    assert json.loads((out / "summary.json").read_text())[2]["luts"] == rows[2]["luts"]
    for png in (result.pareto_png, result.tradeoff_png):
        assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert result.pareto_png == out / "pareto.png"
    text = format_summary(result)
    assert "6 of 8 jobs ok" in text

    # re-run after changing one model file: its jobs run again (the negative control), the
    # other finished jobs are reused, the broken file is tried again
    changed = checkpoints / f"{NAMES[0]}.keras"
    original = changed.read_bytes()
    try:
        changed.write_bytes(original + b"\0")  # zip readers ignore trailing bytes
        again = compile_many([checkpoints], out, latency_cutoffs=[1, 2], jobs=2, progress=False)
    finally:
        changed.write_bytes(original)
    assert [r["reused"] for r in again.rows] == [False, False, True, True, True, True, False, False]
    assert [r["status"] for r in again.rows] == [r["status"] for r in rows]
    assert [r["luts"] for r in again.rows] == [r["luts"] for r in rows]
    assert len(json.loads((out / "summary.json").read_text())) == 8


def test_cli_bad_input_is_one_line_exit_2(checkpoints, tmp_path):
    p = subprocess.run([sys.executable, "-m", "hgq_mlir.batch", str(checkpoints), "-o", str(tmp_path / "o"),
                        "--latency-cutoff", "1,x"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == "hgq-batch: --latency-cutoff 1,x: expected integers separated by commas (-1: combinational)"
    assert not (tmp_path / "o").exists()
    with pytest.raises(UserError, match="no .keras or .h5 models"):
        compile_many([tmp_path], tmp_path / "o2")
    with pytest.raises(UserError, match="unknown option 'slack'"):
        compile_many([checkpoints], tmp_path / "o3", slack=2)
