"""Fixtures every test shares: the test models, trained once per run, and their RTL, compiled
once per run for each (model, pipeline).

Both live under one folder per pytest run that every pytest-xdist worker sees (`run_root`).
An entry is built by the first process that asks for it, under a file lock, written to a
temporary name and renamed into place; the other processes wait on the lock and read it.
A test gets the model as loaded from its `.keras` file (the bits the compiler reads) and
never writes into a shared RTL folder: a test that corrupts RTL works on `rtl_copy`.
"""

import fcntl
import hashlib
import os
import shutil
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest

from zoo import KINDS

from hgq_mlir.collector import COMPILE_THRESHOLDS


def pytest_configure(config):
    """The compiler's collector thresholds for the whole run: the tests build IR, interpret
    it and run Keras in processes that hold several models, where every full collection
    walks all of them. CMVM solves stay in the worker's process (tests/cmvm/test_parallel.py
    checks the helper process)."""
    import gc

    from hgq_mlir.cmvm import parallel

    gc.set_threshold(*COMPILE_THRESHOLDS)
    parallel.enabled = False  # the two pytest-xdist workers keep both cores busy already


@contextmanager
def _locked(path: Path):
    """An exclusive lock on `path` (created if missing), shared between processes."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _key(*parts) -> str:
    text = "-".join(str(p) for p in parts)
    readable = "".join(c if c.isalnum() or c in "-_=" else "_" for c in text)[:60]
    return f"{readable}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"


@pytest.fixture(scope="session")
def run_root(tmp_path_factory) -> Path:
    """The folder this pytest run's processes share (xdist workers' temp folders sit inside it)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared"
    root.mkdir(exist_ok=True)
    return root


class _Models:
    """Models by builder (a function of tests/zoo.py by name, or any module-level function
    that returns a trained keras.Model) and arguments: trained once per run, saved as
    `.keras`, loaded once per process."""

    def __init__(self, root: Path):
        self.root = root / "models"
        self.root.mkdir(exist_ok=True)
        self.loaded: dict[str, tuple] = {}

    def __call__(self, builder, **kwargs) -> tuple:
        if isinstance(builder, str):
            import zoo

            builder = getattr(zoo, builder)
        name = f"{builder.__module__}.{builder.__qualname__}"
        key = _key(name, *(f"{k}={v}" for k, v in sorted(kwargs.items())))
        if key not in self.loaded:
            path = self.root / f"{key}.keras"
            with _locked(self.root / f"{key}.lock"):
                if not path.exists():
                    model = builder(**kwargs)
                    part = self.root / f"{key}.{os.getpid()}.keras"
                    model.save(part)
                    os.replace(part, path)
            from hgq_mlir.frontend.keras import load_keras

            self.loaded[key] = (load_keras(path), path)
        return self.loaded[key]


@pytest.fixture(scope="session")
def trained(run_root):
    """`trained(builder, **kwargs)` -> (model, .keras path): `builder(**kwargs)` (a function, or
    the name of one in tests/zoo.py), trained once per run."""
    return _Models(run_root)


class _Kinds(Mapping):
    """The four dense test models (`zoo.KINDS`, seed 1), each trained when first asked for."""

    def __init__(self, trained):
        self.trained = trained

    def __getitem__(self, kind: str) -> tuple:
        if kind not in KINDS:
            raise KeyError(kind)
        return self.trained("build_model", kind=kind, seed=1)

    def __iter__(self):
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


@pytest.fixture(scope="session")
def trained_models(trained) -> Mapping:
    """kind -> (model, .keras path) for the four dense test models."""
    return _Kinds(trained)


@pytest.fixture(params=KINDS)
def model_kind(request):
    return request.param


@pytest.fixture(scope="session")
def tiny_model(trained):
    """A 6-4-3 QDense model with biases and SAT/RND_CONV quantizers: small enough to synthesize."""
    return trained("build_tiny_model", seed=3)


class _Compiled:
    """RTL folders by (model file, pipeline): compiled once per run, read-only for tests.
    Three-input adders are written as `a + b - c` unless the pipeline names a realization
    (`tests_support.behavioral_adders`: the primitive netlist is too slow to simulate)."""

    def __init__(self, root: Path):
        self.root = root / "rtl"
        self.root.mkdir(exist_ok=True)

    def __call__(self, path, pipeline: str = "hgq-standard") -> tuple[dict, Path]:
        import json

        from tests_support import behavioral_adders

        from hgq_mlir.backend.verify import compile_model

        pipeline = behavioral_adders(pipeline)
        key = _key(Path(path).stem, pipeline, Path(path).resolve())
        folder = self.root / key
        with _locked(self.root / f"{key}.lock"):
            if not folder.exists():
                part = self.root / f"{key}.{os.getpid()}.part"
                compile_model(str(path), part, pipeline)
                os.replace(part, folder)
        return json.loads((folder / "report.json").read_text()), folder


@pytest.fixture(scope="session")
def compiled(run_root):
    """`compiled(model_path, pipeline="hgq-standard")` -> (report, RTL folder), compiled once
    per run; the folder is shared: do not write into it (see `rtl_copy`)."""
    return _Compiled(run_root)


class _Verified:
    """`hgq-verify` results by (model file, the RTL's bytes, vectors): options that build the
    same Verilog (`multiplier=auto` where it picks `dsp`, say) are simulated once per run. The
    simulation is deterministic in those inputs, so a shared result is the same result."""

    def __init__(self, root: Path):
        self.root = root / "verified"
        self.root.mkdir(exist_ok=True)

    def __call__(self, path, rtl_dir, n: int) -> tuple[int, int, str]:
        import json

        from hgq_mlir.backend.verify import verify

        rtl_dir = Path(rtl_dir)
        digest = hashlib.sha1(str(Path(path).resolve()).encode())
        for f in sorted(rtl_dir.iterdir()):
            if f.suffix in (".v", ".json"):
                digest.update(f.name.encode() + f.read_bytes())
        key = f"{digest.hexdigest()}-{n}"
        result = self.root / f"{key}.json"
        with _locked(self.root / f"{key}.lock"):
            if not result.exists():
                part = self.root / f"{key}.{os.getpid()}.part"
                part.write_text(json.dumps(verify(str(path), rtl_dir, n)))
                os.replace(part, result)
        return tuple(json.loads(result.read_text()))


@pytest.fixture(scope="session")
def verified(run_root):
    """`verified(model_path, rtl_dir, n)` -> `hgq-verify`'s (mismatches, compared, simulator) for
    a read-only RTL folder (from `compiled`), simulated once per run for the same RTL bytes."""
    return _Verified(run_root)


@pytest.fixture
def rtl_copy(compiled, tmp_path):
    """`rtl_copy(model_path, pipeline="hgq-standard")` -> (report, a private copy of the RTL
    folder) for tests that alter the RTL or write next to it."""

    def copy(path, pipeline: str = "hgq-standard") -> tuple[dict, Path]:
        report, folder = compiled(path, pipeline)
        dest = tmp_path / folder.name
        shutil.copytree(folder, dest)
        return report, dest

    return copy


def random_inputs(n: int, n_in: int = 16, seed: int = 123) -> np.ndarray:
    """Inputs spread over (and beyond) the quantizers' ranges, as float32."""
    rng = np.random.default_rng(seed)
    scale = rng.choice([0.5, 2.0, 6.0], size=(n, 1))
    return (rng.normal(size=(n, n_in)) * scale).astype(np.float32)
