import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest

from zoo import KINDS


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory):
    """The four test models, trained once per session and saved as .keras files."""
    from zoo import build_model

    out = {}
    root = tmp_path_factory.mktemp("models")
    for kind in KINDS:
        model = build_model(kind, seed=1)
        path = root / f"{kind}.keras"
        model.save(path)
        out[kind] = (model, path)
    return out


@pytest.fixture(params=KINDS)
def model_kind(request):
    return request.param


def random_inputs(n: int, n_in: int = 16, seed: int = 123) -> np.ndarray:
    """Inputs spread over (and beyond) the quantizers' ranges, as float32."""
    rng = np.random.default_rng(seed)
    scale = rng.choice([0.5, 2.0, 6.0], size=(n, 1))
    return (rng.normal(size=(n, n_in)) * scale).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A 6-4-3 QDense model with biases and SAT/RND_CONV quantizers: small enough to synthesize."""
    import keras
    from hgq.config import QuantizerConfigScope
    from hgq.layers import QDense

    from zoo import synthetic_data

    keras.utils.set_random_seed(3)
    x, y = synthetic_data(1024, n_in=6, n_out=3, seed=3)
    with (
        QuantizerConfigScope(place="weight", q_type="kbi", b0=4, i0=1),
        QuantizerConfigScope(place="datalane", default_q_type="kif", overflow_mode="SAT", round_mode="RND_CONV", i0=2, f0=3),
    ):
        model = keras.Sequential(
            [keras.Input((6,), name="inp"), QDense(4, activation="relu", name="hidden"), QDense(3, name="logits")],
            name="tiny",
        )
    model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("tiny") / "tiny.keras"
    model.save(path)
    return model, path
