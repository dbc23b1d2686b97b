"""cmvm/parallel.py: candidates solved on two cores give what one core gives, in order."""

import os

import numpy as np

from hgq_mlir.cmvm import _build_graph, estimate_luts, parallel


def _where(k: int) -> tuple[int, int]:
    return k, os.getpid()


def _idle_second_core(monkeypatch):
    monkeypatch.setattr(parallel, "enabled", True)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(parallel, "runnable_elsewhere", lambda: 0)


def test_order_kept_and_a_second_process_used(monkeypatch):
    _idle_second_core(monkeypatch)
    out = parallel.solve_all([(_where, (k,), {}) for k in range(7)])
    assert [k for k, _ in out] == list(range(7))
    assert {pid for _, pid in out[0::2]} == {os.getpid()}
    assert os.getpid() not in {pid for _, pid in out[1::2]}  # the odd ones ran elsewhere


def test_one_core_solves_here(monkeypatch):
    _idle_second_core(monkeypatch)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    out = parallel.solve_all([(_where, (k,), {}) for k in range(3)])
    assert {pid for _, pid in out} == {os.getpid()}


def test_busy_cores_solve_here(monkeypatch):
    _idle_second_core(monkeypatch)
    monkeypatch.setattr(parallel, "runnable_elsewhere", lambda: 1)  # another task on the second core
    out = parallel.solve_all([(_where, (k,), {}) for k in range(3)])
    assert {pid for _, pid in out} == {os.getpid()}


def test_runnable_count_excludes_this_process():
    assert 0 <= parallel.runnable_elsewhere() < 64


def test_same_graph_on_one_and_two_cores(monkeypatch):
    rng = np.random.default_rng(4)
    w = rng.integers(-40, 41, size=(12, 10)) * (rng.random((12, 10)) < 0.7)
    ranges = [(-128, 127)] * 12
    _idle_second_core(monkeypatch)
    two = _build_graph(w, ranges, "cse", 1, True)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    one = _build_graph(w, ranges, "cse", 1, True)
    assert (two.adders, two.outputs, two.third) == (one.adders, one.outputs, one.third)
    assert estimate_luts(two, ranges) == estimate_luts(one, ranges)
    x = rng.integers(-128, 128, size=(50, 12))
    assert np.array_equal(two.evaluate(x), x @ w)
