"""Constant matrix-vector multiplication as shift-and-add graphs (pure NumPy, no IR).

`solve(W, ...)` returns an `AdderGraph` computing x·W exactly for integer W.
"""

from hgq_mlir.cmvm.csd import csd_digits, solve_csd
from hgq_mlir.cmvm.graph import AdderGraph, Term

__all__ = ["AdderGraph", "Term", "csd_digits", "solve_csd"]
