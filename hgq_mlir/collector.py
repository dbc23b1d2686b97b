"""Settings of Python's cyclic garbage collector while the compiler runs.

Building and rewriting IR allocates millions of small objects. With CPython's default
thresholds (700, 10, 10) the collector runs every 700 allocations and walks, every tenth
of those, everything TensorFlow and Keras have loaded: a third of a compile's time on the
test models. Raising the thresholds keeps the collector (cyclic garbage is still freed,
in larger batches) and gives that time back.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations between young collections, and young (middle) collections between middle
# (full) ones. Measured on a 3 423-adder model: 4.6 s at the defaults, 2.8 s here. A middle
# collection walks all the IR built since the last one: on a 512×512 dense layer, 10 of them
# took 4.4 s with 50 young collections between them, none that long with 1 000 (the same
# peak memory: its cyclic garbage is young when it dies, freed by young collections).
COMPILE_THRESHOLDS = (100_000, 1000, 100)


@contextmanager
def few_collections() -> Iterator[None]:
    """Run the body with the compile thresholds, restoring the caller's afterwards."""
    saved = gc.get_threshold()
    gc.set_threshold(*COMPILE_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*saved)
