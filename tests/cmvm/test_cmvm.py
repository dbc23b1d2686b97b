"""The CMVM solvers: exact on every matrix, and within the promised adder depth."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hgq_mlir.cmvm import csd_digits, solve


def ceil_log2(v: int) -> int:
    """The least k with 2**k >= v."""
    return (v - 1).bit_length() if v > 1 else 0


def _check(w, ranges, slack, method="cse"):
    r = solve(w, ranges, depth_slack=slack, method=method)
    rng = np.random.default_rng(0)
    lo = np.array([a for a, _ in ranges])
    hi = np.array([b for _, b in ranges])
    x = rng.integers(lo, hi + 1, size=(64, w.shape[0]))
    corners = np.array([lo, hi, np.where(np.arange(len(lo)) % 2, lo, hi)])
    x = np.vstack([x, corners])
    assert np.array_equal(r.evaluate(x), x.astype(object) @ w.astype(object))
    assert np.array_equal(r.graph.matrix().astype(np.int64), w)
    for c in range(w.shape[1]):
        digits = sum(len(csd_digits(int(v))) for v in w[:, c])
        t = r.graph.outputs[c]
        if digits == 0:
            assert t is None
        else:
            limit = ceil_log2(digits) + (slack if method == "cse" else 0)
            assert r.graph.depths()[t.node] <= limit, f"column {c} too deep"
    return r


CASES = {
    "dense 8-bit": lambda rng: rng.integers(-127, 128, (12, 9)),
    "zero rows and columns": lambda rng: np.where(rng.random((10, 8)) < 0.5, rng.integers(-31, 32, (10, 8)), 0)
    * (np.arange(8) % 3 != 0)
    * (np.arange(10) % 4 != 0)[:, None],
    "all zero": lambda rng: np.zeros((5, 4), dtype=np.int64),
    "single nonzero": lambda rng: np.eye(1, 20, 7, dtype=np.int64).reshape(4, 5) * -37,
    "negative only": lambda rng: -rng.integers(1, 100, (8, 6)),
    "powers of two": lambda rng: (2 ** rng.integers(0, 6, (6, 6))) * rng.choice([-1, 1], (6, 6)),
    "wide weights": lambda rng: rng.integers(-(2**20), 2**20, (6, 4)),
    "huge weights": lambda rng: rng.integers(-(2**52), 2**52, (4, 3)),  # sums beyond float64's exact range
    "one column": lambda rng: rng.integers(-50, 50, (30, 1)),
    "one row": lambda rng: rng.integers(-50, 50, (1, 30)),
}
RANGES = {
    "signed 8-bit": lambda n: [(-128, 127)] * n,
    "1-bit signed": lambda n: [(-1, 0)] * n,
    "1-bit unsigned": lambda n: [(0, 1)] * n,
    "unsigned mixed": lambda n: [(0, (1 << (3 + j % 5)) - 1) for j in range(n)],
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("ranges", RANGES)
@pytest.mark.parametrize("slack", [0, 1, 3])
def test_exact_and_within_depth(case, ranges, slack):
    w = CASES[case](np.random.default_rng(len(case) + slack)).astype(np.int64)
    _check(w, RANGES[ranges](w.shape[0]), slack)
    _check(w, RANGES[ranges](w.shape[0]), slack, method="csd")


@settings(max_examples=80, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    bits=st.integers(1, 9),
    zeros=st.floats(0, 0.9),
    slack=st.integers(0, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_matrices(shape, bits, zeros, slack, seed):
    rng = np.random.default_rng(seed)
    w = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) + 1, shape) * (rng.random(shape) >= zeros)
    _check(w.astype(np.int64), [(-128, 127)] * shape[0], slack)


def test_sharing_saves_adders():
    """On a matrix with obvious repeats, CSE must beat one-adder-per-digit (and say so)."""
    rng = np.random.default_rng(3)
    w = rng.integers(-127, 128, (16, 16))
    csd, cse = solve(w, method="csd"), solve(w, method="cse")
    assert cse.adders < csd.adders and cse.luts < csd.luts


def test_non_integer_matrix_is_refused():
    with pytest.raises(ValueError, match="integer"):
        solve(np.array([[0.5, 1.0]]))


@pytest.mark.parametrize("slack", [0, 1, 2])
def test_row_blocks_exact_and_within_depth(monkeypatch, slack):
    """A matrix too large for one pair index is solved in row blocks: still exact, still
    within each column's depth bound, and still sharing (fewer adders than the baseline)."""
    from hgq_mlir.cmvm import cse

    monkeypatch.setattr(cse, "PAIR_BUDGET", 2_000)
    w = np.random.default_rng(slack).integers(-15, 16, (40, 12))
    r = _check(w, [(-128, 127)] * 40, slack)
    assert r.adders < solve(w, [(-128, 127)] * 40, method="csd").adders
    digits = sum(len(csd_digits(int(v))) for v in w[:, 0])
    assert digits**2 * 12 // 2 > 2 * cse.PAIR_BUDGET  # the test really splits the rows


def _related_columns(rng, n_in=12, n_out=16):
    """Columns that are ±2^s times a few base columns, plus a sparse correction."""
    base = rng.integers(-127, 128, (n_in, 3))
    pick = rng.integers(0, 3, n_out)
    scale = rng.choice([-4, -2, -1, 1, 2, 4], n_out)
    noise = rng.integers(-3, 4, (n_in, n_out)) * (rng.random((n_in, n_out)) < 0.2)
    return (base[:, pick] * scale + noise).astype(np.int64)


@pytest.mark.parametrize("slack", [0, 1, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_stage_exact_within_depth_and_cheaper(slack, seed):
    """Columns built from each other (W = W1·W2): exact, within every column's depth
    bound, and fewer adders than the plain solver where the columns are related."""
    from hgq_mlir.cmvm.cse import solve_cse
    from hgq_mlir.cmvm.decompose import solve_two_stage

    w = _related_columns(np.random.default_rng(seed))
    g = solve_two_stage(w, [8] * w.shape[0], slack)
    _check(w, [(-128, 127)] * w.shape[0], slack)  # through the public API, whichever it picks
    if g is None:  # with no slack a column rarely has a level to spare for its parent
        assert slack == 0
        return
    x = np.random.default_rng(9).integers(-128, 128, (64, w.shape[0]))
    assert np.array_equal(g.evaluate(x), x.astype(object) @ w.astype(object))
    depths = g.depths()
    for c in range(w.shape[1]):
        digits = sum(len(csd_digits(int(v))) for v in w[:, c])
        assert depths[g.outputs[c].node] <= ceil_log2(digits) + slack, f"column {c} too deep"
    if slack:  # with a level to spare the forest must pay off (at none it may not: the solver keeps the cheaper)
        assert g.n_adders < solve_cse(w, [8] * w.shape[0], slack).n_adders


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("slack", [0, 2])
def test_binary_digits_exact_and_within_depth(case, slack):
    """The plain-binary digit choice (an alternative the solver tries) keeps both promises."""
    from hgq_mlir.cmvm.cse import solve_cse

    w = CASES[case](np.random.default_rng(7)).astype(np.int64)
    g = solve_cse(w, [8] * w.shape[0], slack, binary_ties=True)
    x = np.random.default_rng(3).integers(-128, 128, (64, w.shape[0]))
    assert np.array_equal(g.evaluate(x), x.astype(object) @ w.astype(object))
    depths = g.depths()
    for c in range(w.shape[1]):
        digits = sum(len(csd_digits(int(v))) for v in w[:, c])
        if digits:
            assert depths[g.outputs[c].node] <= ceil_log2(digits) + slack, f"column {c} too deep"
        else:
            assert g.outputs[c] is None


def _term_sets(seed):
    """Columns of signed, shifted terms over 8-bit inputs and some first-level sums."""
    from hgq_mlir.cmvm import AdderGraph, Term

    rng = np.random.default_rng(seed)
    graph = AdderGraph(12)
    for _ in range(6):  # shared nodes of depth 1 and 2, as CSE leaves them
        a, b = rng.integers(0, graph.n_in + graph.n_adders, 2)
        graph.add(Term(int(a)), Term(int(b), int(rng.integers(0, 4))), bool(rng.integers(0, 2)))
    depths = graph.depths()
    cols = []
    for _ in range(8):
        nodes = rng.integers(0, graph.n_in + graph.n_adders, int(rng.integers(2, 24)))
        cols.append([(depths[n], Term(int(n), int(rng.integers(0, 8)), bool(rng.integers(0, 2)))) for n in nodes])
    return graph, cols


@pytest.mark.parametrize("extra", [0, 1, 2])
def test_narrow_sum_exact_within_bound_and_cheaper(extra):
    """The LUT-aware final sum computes the same as the shallowest (Huffman) tree, stays
    within the depth bound it is given, and costs fewer LUTs over many columns."""
    import copy

    from hgq_mlir.cmvm import estimate_luts
    from hgq_mlir.cmvm.csd import sum_terms
    from hgq_mlir.cmvm.graph import extend_ranges
    from hgq_mlir.cmvm.sum_tree import sum_narrow

    ranges_in = [(-128, 127)] * 6 + [(0, 255)] * 6
    narrow_luts = huffman_luts = 0
    for seed in range(12):
        base, cols = _term_sets(seed)
        narrow, huffman = copy.deepcopy(base), copy.deepcopy(base)
        ranges = extend_ranges(narrow, list(ranges_in))
        for col in cols:
            load = sum(1 << d for d, _ in col)
            bound = ceil_log2(load) + extra
            narrow.outputs.append(sum_narrow(narrow, col, ranges, bound))
            huffman.outputs.append(sum_terms(huffman, col))
            assert narrow.depths()[narrow.outputs[-1].node] <= bound
        assert len(ranges) == narrow.n_in + narrow.n_adders  # kept up to date for the next column
        x = np.random.default_rng(seed).integers([lo for lo, _ in ranges_in], [hi + 1 for _, hi in ranges_in], (200, 12))
        assert np.array_equal(narrow.evaluate(x), huffman.evaluate(x))
        assert np.array_equal(narrow.matrix(), huffman.matrix())
        narrow_luts += estimate_luts(narrow, ranges_in) - estimate_luts(base, ranges_in)
        huffman_luts += estimate_luts(huffman, ranges_in) - estimate_luts(base, ranges_in)
    assert narrow_luts < huffman_luts


def test_narrow_sum_meets_an_unreachable_bound_as_shallow_as_it_can():
    from hgq_mlir.cmvm import AdderGraph, Term
    from hgq_mlir.cmvm.graph import extend_ranges
    from hgq_mlir.cmvm.sum_tree import sum_narrow

    graph = AdderGraph(8)
    ranges = extend_ranges(graph, [(-128, 127)] * 8)
    out = sum_narrow(graph, [(0, Term(j, j)) for j in range(8)], ranges, bound=1)  # 8 terms need 3 levels
    assert graph.depths()[out.node] == 3
    graph.outputs = [out]
    x = np.random.default_rng(0).integers(-128, 128, (50, 8))
    assert np.array_equal(graph.evaluate(x)[:, 0], (x * (1 << np.arange(8))).sum(axis=1))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 10), st.integers(1, 10), st.integers(2, 8), st.integers(0, 2**32 - 1))
@example(2, 3, 7, 120)  # the column forest's cheaper graph is deeper than the bound here
def test_ternary_graphs_exact_and_no_deeper(n_in, n_out, bits, seed):
    """With ternary adders: exact on every matrix (every sign of the three terms), every
    column within its depth bound, and never more estimated LUTs than the binary graph."""
    from hgq_mlir.cmvm import estimate_luts

    rng = np.random.default_rng(seed)
    w = rng.integers(-(1 << bits) + 1, 1 << bits, (n_in, n_out)) * (rng.random((n_in, n_out)) > 0.3)
    ranges = [(int(lo), int(lo) + int(s)) for lo, s in zip(rng.integers(-64, 32, n_in), rng.integers(1, 96, n_in))]
    binary, ternary = solve(w, ranges, ternary=False), solve(w, ranges, ternary=True)
    x = rng.integers([lo for lo, _ in ranges], [hi + 1 for _, hi in ranges], (100, n_in))
    assert np.array_equal(ternary.evaluate(x), x.astype(object) @ w.astype(object))
    assert np.array_equal(ternary.graph.matrix(), w.astype(object))
    depths = ternary.graph.depths()
    for c, t in enumerate(ternary.graph.outputs):
        if t is not None:
            digits = sum(len(csd_digits(int(v))) for v in w[:, c] if v)
            assert depths[t.node] <= ceil_log2(digits) + 1, f"column {c} too deep"
    assert ternary.luts <= binary.luts and ternary.luts == estimate_luts(ternary.graph, ranges)


def test_ternary_plan_saves_luts_on_a_dense_matrix():
    rng = np.random.default_rng(3)
    w = rng.integers(-127, 128, (16, 16))
    binary, ternary = solve(w, ternary=False), solve(w, ternary=True)
    signs = {tuple(t.negative for t in ternary.graph.terms(k)) for k in ternary.graph.third}
    assert ternary.ternary > ternary.adders // 3 and len(signs) >= 3  # several sign patterns formed
    assert ternary.luts < 0.8 * binary.luts and ternary.adders < binary.adders


def test_ternary_cost_model():
    from hgq_mlir.cmvm import ternary_luts

    assert ternary_luts(12, [0, 0, 0], [False, False, False]) == 12  # one LUT per result bit
    assert ternary_luts(12, [0, 3, 5], [False, False, True]) == 9  # below bit 3 one added operand passes
    assert ternary_luts(12, [0, 3, 5], [True, False, False]) == 12  # a subtracted one does not
    assert ternary_luts(12, [4, 4, 6], [False, False, False]) == 8  # four known-zero bits for all


def _random_plan_state(rng, n: int):
    """(depth, LSB, value range, node width, sign) arrays of n terms, as sum_tree._trees builds them."""
    from hgq_mlir.fixed import range_width

    lsb = rng.integers(0, 5, n)
    lo = rng.integers(-300, 300, n)
    hi = lo + rng.integers(0, 600, n)
    return (rng.integers(0, 4, n).astype(np.int64), lsb.astype(np.float64), (lo << lsb).astype(np.float64),
            (hi << lsb).astype(np.float64), np.array([float(range_width(int(a), int(b))) for a, b in zip(lo, hi)]),
            rng.random(n) < 0.3)


def test_small_sum_plan_matches_the_vectorized_plan():
    """The greedy tree on Python numbers makes the same merges as the NumPy one, ties included,
    for every size it is used on and every depth bound (tight bounds take the masked path)."""
    from hgq_mlir.cmvm import sum_tree

    rng = np.random.default_rng(7)
    for _ in range(1500):
        n = int(rng.integers(2, sum_tree.SMALL_PLAN + 1))
        state, bound = _random_plan_state(rng, n), int(rng.integers(0, 5))

        def fresh():
            return [np.array(a, copy=True) for a in state]

        assert sum_tree._plan_small(*fresh(), bound, 0.5) == sum_tree._plan(*fresh(), bound, 0.5)
    # negative control: another growth weight changes some plan, so the comparison can fail
    changed = 0
    for _ in range(200):
        state = _random_plan_state(rng, 8)
        changed += sum_tree._plan_small(*[np.array(a) for a in state], 3, 0.5) != \
            sum_tree._plan(*[np.array(a) for a in state], 3, 4.0)
    assert changed > 0
