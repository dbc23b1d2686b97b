"""The tools' access to tests/<name>.py (the seeded models and test helpers are not part of the
installed package). The tools run as scripts, so this folder is on their import path."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"


def load(name: str):
    """tests/<name>.py as a module, loaded by path."""
    spec = importlib.util.spec_from_file_location(name, TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
