"""Fidelity of evomod's Clune et al. (2013) operators to the authors' code.

The oracle is ``tests/clune_reference.py``: a plain-Python transcription of
the behaviour of the authors' C++ (stochastic dominance redrawn on every
comparison, front peeling, crowding, the survivor fill, the two-permutation
tournaments, and the layered network's mutation and initialisation).
evomod's numba versions use other random streams, so most checks compare
distributions: a chi-square test at alpha = 1e-4 (sparse bins pooled), or a
binomial test against a probability worked out by hand or exactly by the
oracle. Deterministic cases (pressure 0 or 1) are compared exactly.
All seeds are fixed, so every run draws the same numbers.
"""

from __future__ import annotations

import functools
import os
import random
import sys
import zlib
from collections import Counter

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clune_reference as ref

from evomod import selection
from evomod.kernels import nsga
from evomod.models.layered import LayeredModel

ALPHA = 1e-4
N_IMPL = 20_000  # draws from evomod's numba code
N_REF = 4_000  # draws from the Python oracle (pools of up to 15)
N_REF_BIG = 2_000  # ... for the pool of 30
CLUNE_LAYERS = (8, 8, 4, 2, 1)
FIXED_WEIGHTS = (-2, -1, 1, 2)
LITERAL_WEIGHTS = (2, -1, 1, 2)  # retina.cpp's list, as written


# ---------------------------------------------------------------------------
# statistics helpers
# ---------------------------------------------------------------------------


def pooled_table(x, y, min_expected=5.0):
    """2 x k contingency table of two samples of ordered categories, adjacent
    categories merged until every cell's expected count is >= min_expected."""
    cx, cy = Counter(x), Counter(y)
    nx, ny = len(x), len(y)
    total = nx + ny
    cols, cur = [], [0, 0]
    for c in sorted(set(cx) | set(cy)):
        cur[0] += cx[c]
        cur[1] += cy[c]
        if min(nx, ny) * (cur[0] + cur[1]) / total >= min_expected:
            cols.append(cur)
            cur = [0, 0]
    if cur[0] + cur[1]:
        if cols:
            cols[-1][0] += cur[0]
            cols[-1][1] += cur[1]
        else:
            cols.append(cur)
    return np.array(cols, dtype=np.int64).T


def same_distribution_pvalue(x, y):
    table = pooled_table(list(x), list(y))
    if table.shape[1] < 2:
        return 1.0
    return stats.chi2_contingency(table, correction=False).pvalue


def assert_same_distribution(x, y, what):
    p = same_distribution_pvalue(x, y)
    assert p > ALPHA, (
        f"{what}: distributions differ (chi-square p = {p:.2e});\n"
        f"reference {sorted(Counter(x).items())}\n"
        f"evomod    {sorted(Counter(y).items())}"
    )


def assert_fits(observed: Counter, expected: dict, n, what, min_expected=5.0):
    """Goodness of fit of observed category counts to exact probabilities.
    Categories the oracle gives probability 0 must never occur."""
    extra = set(observed) - {k for k, q in expected.items() if q > 0}
    assert not extra, f"{what}: impossible outcomes {sorted(extra)} observed ({observed})"
    big = [k for k, q in expected.items() if q * n >= min_expected]
    small = [k for k, q in expected.items() if 0 < q * n < min_expected]
    obs = [observed.get(k, 0) for k in big]
    exp = [expected[k] * n for k in big]
    if small:
        obs.append(sum(observed.get(k, 0) for k in small))
        exp.append(sum(expected[k] for k in small) * n)
        if exp[-1] < min_expected and len(obs) > 1:
            obs[-2] += obs.pop()
            exp[-2] += exp.pop()
    if len(obs) < 2:
        return
    exp = np.array(exp)
    exp *= sum(obs) / exp.sum()  # guards against float rounding of the sum
    p = stats.chisquare(obs, exp).pvalue
    assert p > ALPHA, f"{what}: observed {dict(observed)} vs expected {expected} (p = {p:.2e})"


def assert_binomial(k, n, prob, what):
    p = stats.binomtest(int(k), int(n), prob).pvalue
    assert p > ALPHA, f"{what}: {k}/{n} = {k / n:.5f}, expected {prob:.5f} (p = {p:.2e})"


def seed_of(*parts):
    """A seed that does not depend on Python's per-process string hashing."""
    return zlib.crc32(repr(parts).encode())


def two_proportions_pvalue(k1, n1, k2, n2):
    """Same success probability in two binomial samples? Chi-square, or
    Fisher's exact test when some expected count is small."""
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]], dtype=np.int64)
    if table.sum(axis=0).min() == 0:
        return 1.0
    expected = table.sum(axis=1)[:, None] * table.sum(axis=0)[None, :] / table.sum()
    if expected.min() < 5:
        return stats.fisher_exact(table).pvalue
    return stats.chi2_contingency(table, correction=False).pvalue


def rows(f):
    return [tuple(float(v) for v in r) for r in np.asarray(f)]


def farr(pool):
    return np.ascontiguousarray(np.asarray(pool, dtype=np.float64))


def parr(*p):
    return np.asarray(p, dtype=np.float64)


# ---------------------------------------------------------------------------
# pools
# ---------------------------------------------------------------------------


def random_tie_pool(rnd, n, n_obj=2):
    """Few performance and cost levels, so ties and clones are everywhere."""
    perf = [0.25, 0.5, 0.75, 1.0][: rnd.randint(1, 4)]
    cost = [-1.0, -2.0, -3.0, -5.0][: rnd.randint(1, 4)]
    out = []
    for _ in range(n):
        if out and rnd.random() < 0.2:
            out.append(out[rnd.randrange(len(out))])  # a clone
        elif n_obj == 1:
            out.append((rnd.choice(perf),))
        else:
            out.append((rnd.choice(perf), rnd.choice(cost)))
    return out


# Hand-made pools: (performance, -cost), both maximised.
POOL_8 = [
    (1.00, -10.0),  # 0 best performance
    (1.00, -10.0),  # 1 clone of 0
    (1.00, -8.0),  # 2 same performance, cheaper than 0 and 1
    (0.90, -5.0),  # 3 worse but cheaper: a trade-off with 0, 1, 2
    (0.90, -5.0),  # 4 clone of 3
    (0.90, -12.0),  # 5 surely dominated by 0, 1, 2, 3, 4
    (0.80, -3.0),  # 6 cheapest
    (0.70, -20.0),  # 7 surely dominated by everyone
]
POOL_15 = [
    (1.0, -9.0),
    (1.0, -9.0),
    (1.0, -7.0),
    (1.0, -12.0),
    (0.875, -4.0),
    (0.875, -4.0),
    (0.875, -6.0),
    (0.875, -9.0),
    (0.75, -2.0),
    (0.75, -4.0),
    (0.75, -10.0),
    (0.625, -1.0),
    (0.625, -5.0),
    (0.625, -5.0),
    (0.5, -0.5),
]


def _pool_30():
    rnd = random.Random(30)
    pool = []
    for _ in range(30):
        if pool and rnd.random() < 0.25:
            pool.append(pool[rnd.randrange(len(pool))])
        else:
            pool.append((rnd.choice([0.5, 0.625, 0.75, 0.875, 1.0]), -float(rnd.randint(1, 8))))
    return pool


POOL_30 = _pool_30()
POOLS = {
    "pool8": (POOL_8, [0, 2, 3, 6], N_REF),
    "pool15": (POOL_15, [0, 2, 4, 8, 11, 14], N_REF),
    "pool30": (POOL_30, [0, 5, 11, 17, 29], N_REF_BIG),
}


@functools.cache
def reference_ranks(pool_name, q, seed=1):
    pool, _, n_draws = POOLS[pool_name]
    rnd = random.Random(seed)
    return np.array([ref.peel_fronts(pool, (1.0, q), rnd) for _ in range(n_draws)], dtype=np.int64)


def impl_ranks(fn, pool, q, needed, n_draws, seed):
    f = farr(pool)
    pressure = parr(1.0, q)
    rng = np.random.default_rng(seed)
    out = np.empty((n_draws, len(pool)), dtype=np.int64)
    for t in range(n_draws):
        out[t] = fn(f, pressure, rng, needed)
    return out


SORTS = {"peeling": lambda: nsga.peeling_ranks, "counting": lambda: nsga.counting_ranks}


# ---------------------------------------------------------------------------
# the oracle against independent characterisations (it must be right itself)
# ---------------------------------------------------------------------------


def longest_chain_ranks(F):
    """Deterministic Pareto rank = length of the longest chain of dominators."""
    n = len(F)

    def dom(a, b):
        return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))

    memo = {}

    def depth(j):
        if j not in memo:
            memo[j] = max([depth(i) + 1 for i in range(n) if dom(F[i], F[j])], default=0)
        return memo[j]

    return [depth(j) for j in range(n)]


def test_oracle_deterministic_sorts():
    rnd = random.Random(11)
    for _ in range(200):
        pool = random_tie_pool(rnd, rnd.randint(1, 20))
        assert ref.peel_fronts(pool, (1.0, 1.0), rnd) == longest_chain_ranks(pool)
        levels = sorted({p for p, _ in pool}, reverse=True)
        assert ref.peel_fronts(pool, (1.0, 0.0), rnd) == [levels.index(p) for p, _ in pool]


def test_oracle_front_zero_probability():
    """q**A * (1-q)**B by simulation of the oracle itself."""
    pool = [(0.5, -5.0), (0.6, -6.0), (0.7, -7.0), (0.5, -4.0), (0.3, -1.0)]
    rnd = random.Random(3)
    q = 0.25
    n = 20_000
    hits = Counter()
    for _ in range(n):
        flag = ref.prob_dominates(pool[1], pool[0], (1.0, q), rnd)
        hits[flag] += 1
    assert_binomial(hits[1], n, 1 - q, "oracle: better-but-costlier dominates")
    front0 = sum(ref.peel_fronts(pool, (1.0, q), rnd)[0] == 0 for _ in range(5000))
    assert_binomial(front0, 5000, q**2 * (1 - q), "oracle: front-0 probability")


def test_oracle_mutation_enumeration_matches_its_simulation():
    layers = (2, 2, 2, 1)
    net = {
        "conns": {(0, 2): 0, (1, 3): 3, (2, 4): 1, (4, 6): 2, (3, 5): 3},
        "biases": {2: 0, 3: 2, 4: -2, 5: 1, 6: -1},
    }
    exact = ref.slot_outcome_distribution(net, layers, 4)
    assert all(abs(sum(d.values()) - 1) < 1e-12 for d in exact.values())
    rnd = random.Random(8)
    n = 6000
    seen = {key: Counter() for key in exact}
    for _ in range(n):
        child = ref.mutate(net, layers, 4, rnd)
        for key in exact:
            seen[key][child["conns"].get(key, -1)] += 1
    for key in exact:
        assert_fits(seen[key], exact[key], n, f"oracle slot {key}")


# ---------------------------------------------------------------------------
# 0. one stochastic comparison
# ---------------------------------------------------------------------------

DOM_POOL = [(1.0, -10.0), (0.9, -5.0), (1.0, -8.0), (1.0, -10.0), (0.5, -20.0)]


def dom_expected(q):
    """Hand-worked verdict probabilities for pairs of DOM_POOL (cost pressure q)."""
    return {
        (0, 1): {1: 1 - q, 0: q},  # better but costlier: wins unless cost counts
        (1, 0): {-1: 1 - q, 0: q},
        (0, 2): {-1: q, 0: 1 - q},  # same performance, 2 cheaper: loses if cost counts
        (2, 0): {1: q, 0: 1 - q},
        (0, 3): {0: 1.0},  # clones
        (0, 0): {0: 1.0},
        (0, 4): {1: 1.0},  # better on both
        (4, 0): {-1: 1.0},
    }


@pytest.mark.parametrize("q", [0.0, 0.25, 1.0])
def test_stochastic_dominance_two_objectives(q):
    f = farr(DOM_POOL)
    pressure = parr(1.0, q)
    rng = np.random.default_rng(100 + int(q * 100))
    n = 5000
    for (a, b), expected in dom_expected(q).items():
        seen = Counter(int(nsga.stochastic_dominance(f, a, b, pressure, rng)) for _ in range(n))
        assert_fits(seen, expected, n, f"stochastic_dominance({a}, {b}) at q = {q}")


def test_stochastic_dominance_three_objectives():
    f = farr([(1.0, -10.0, 0.2), (0.9, -5.0, 0.5), (1.0, -5.0, 0.1)])
    pressure = parr(1.0, 0.25, 0.5)
    expected = {
        # 0 better on performance only: wins iff neither other objective counts
        (0, 1): {1: 0.75 * 0.5, 0: 1 - 0.75 * 0.5},
        # same performance; 0 worse on obj 1, better on obj 2
        (0, 2): {1: 0.75 * 0.5, -1: 0.25 * 0.5, 0: 0.5},
    }
    rng = np.random.default_rng(7)
    rnd = random.Random(7)
    n = 8000
    F = rows(f)
    for (a, b), exp in expected.items():
        seen = Counter(int(nsga.stochastic_dominance(f, a, b, pressure, rng)) for _ in range(n))
        assert_fits(seen, exp, n, f"evomod 3-objective ({a}, {b})")
        oracle = Counter(ref.prob_dominates(F[a], F[b], (1.0, 0.25, 0.5), rnd) for _ in range(n))
        assert_fits(oracle, exp, n, f"oracle 3-objective ({a}, {b})")


# ---------------------------------------------------------------------------
# 1. deterministic sorting (pressure 0 or 1): exact equality
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["peeling", "counting"])
@pytest.mark.parametrize("q", [0.0, 1.0])
def test_sort_deterministic_matches_oracle(sort, q):
    fn = SORTS[sort]()
    rnd = random.Random(int(q * 10) + (0 if sort == "peeling" else 1))
    rng = np.random.default_rng(5)
    for trial in range(300):
        n_obj = 1 if trial % 10 == 0 else 2
        pool = random_tie_pool(rnd, rnd.randint(1, 30), n_obj)
        pressure = (1.0,) if n_obj == 1 else (1.0, q)
        expected = ref.peel_fronts(pool, pressure, rnd)
        got = fn(farr(pool), parr(*pressure), rng, len(pool))
        assert got.dtype == np.int64 and got.shape == (len(pool),)
        assert got.tolist() == expected, f"pool {pool} pressure {pressure}"


# ---------------------------------------------------------------------------
# 2. stochastic sorting: distributions against the oracle's
# ---------------------------------------------------------------------------


def check_sure_dominance(pool, ranks, pressure):
    """Whoever surely dominates j is ranked strictly before j, in every draw."""
    for i in range(len(pool)):
        for j in range(len(pool)):
            if ref.sure_dominator(pool[i], pool[j], pressure):
                ranked = ranks[:, j] >= 0
                assert np.all(ranks[ranked, i] >= 0)
                assert np.all(ranks[ranked, i] < ranks[ranked, j]), (
                    f"row {j} {pool[j]} ranked no later than its sure dominator {i} {pool[i]}"
                )
                assert not np.any(ranks[:, j] == 0)


def check_fronts_contiguous(ranks, needed):
    for r in ranks:
        ranked = r[r >= 0]
        sizes = np.bincount(ranked)
        assert sizes.size >= 1 and np.all(sizes > 0), f"empty front in {r}"
        assert sizes[:-1].sum() < needed <= sizes.sum(), f"needed = {needed}: {r}"


@pytest.mark.parametrize("sort", ["peeling", "counting"])
@pytest.mark.parametrize("q", [0.25, 0.5])
@pytest.mark.parametrize("pool_name", list(POOLS))
def test_sort_stochastic_distribution(pool_name, q, sort):
    pool, tracked, _ = POOLS[pool_name]
    pressure = (1.0, q)
    oracle = reference_ranks(pool_name, q)
    got = impl_ranks(SORTS[sort](), pool, q, len(pool), N_IMPL, seed=seed_of(pool_name, q, sort))
    assert got.shape == (N_IMPL, len(pool))
    check_fronts_contiguous(got, len(pool))
    check_sure_dominance(pool, got, pressure)
    check_sure_dominance(pool, oracle, pressure)
    for j in tracked:
        assert_same_distribution(
            oracle[:, j], got[:, j], f"{sort}: rank of row {j} {pool[j]} in {pool_name}, q = {q}"
        )
    assert_same_distribution(
        oracle.max(axis=1), got.max(axis=1), f"{sort}: number of fronts in {pool_name}, q = {q}"
    )
    assert_same_distribution(
        (oracle == 0).sum(axis=1), (got == 0).sum(axis=1), f"{sort}: size of front 0 in {pool_name}, q = {q}"
    )


# Three objectives with the authors' full pressure array (1.0, 0.25, 1.0)
# (retina.cpp; the third entry serves e.g. the random objective of P&RO or
# diversity): only the general peeling sort handles them.
POOL_3OBJ = [
    (1.0, -9.0, 0.2),
    (1.0, -9.0, 0.2),
    (1.0, -7.0, 0.1),
    (1.0, -12.0, 0.9),
    (0.875, -4.0, 0.5),
    (0.875, -6.0, 0.5),
    (0.875, -6.0, 0.7),
    (0.75, -2.0, 0.3),
    (0.75, -10.0, 0.95),
    (0.5, -1.0, 0.0),
    (0.5, -3.0, 0.6),
]


def test_peeling_three_objectives():
    pressure = (1.0, 0.25, 1.0)
    rnd = random.Random(31)
    oracle = np.array([ref.peel_fronts(POOL_3OBJ, pressure, rnd) for _ in range(N_REF)])
    f = farr(POOL_3OBJ)
    rng = np.random.default_rng(31)
    got = np.array([nsga.peeling_ranks(f, parr(*pressure), rng, len(f)) for _ in range(N_IMPL)])
    check_fronts_contiguous(got, len(f))
    check_sure_dominance(POOL_3OBJ, got, pressure)
    for j in (0, 2, 3, 5, 8, 10):
        assert_same_distribution(oracle[:, j], got[:, j], f"3 objectives: rank of row {j}")
    assert_same_distribution(oracle.max(axis=1), got.max(axis=1), "3 objectives: fronts")


# Front-0 probability by hand. With performance always counted, a rival i
# dominates j in one comparison with probability
#   1      if it performs better and costs no more (a sure dominator),
#   1 - q  if it performs better but costs more (the cost coin must be off),
#   q      if it performs the same and costs less (the cost coin must be on),
#   0      otherwise;
# every comparison has its own coins, so P(j in front 0) is the product of
# the complements: q**A * (1 - q)**B for A better-but-costlier rivals and B
# equal-but-cheaper ones, and 0 with any sure dominator.
HAND_POOL = [
    (0.5, -5.0),  # 0 X: A = 2 (rows 1, 2), B = 1 (row 3)
    (0.6, -6.0),  # 1 A = 1 (row 2)
    (0.7, -7.0),  # 2 best performance, unique: always in front 0
    (0.5, -4.0),  # 3 A = 2 (rows 1, 2); rows 0 and 4 cost more, cannot dominate
    (0.5, -5.0),  # 4 clone of X: the same as X
    (0.3, -1.0),  # 5 cheapest of all, worst performance: A = 6
    (0.4, -9.0),  # 6 surely dominated by rows 0, 3, 4
]


def hand_front0(q):
    return {0: q**2 * (1 - q), 1: q, 2: 1.0, 3: q**2, 4: q**2 * (1 - q), 5: q**6, 6: 0.0}


@pytest.mark.parametrize("sort", ["peeling", "counting", "oracle"])
@pytest.mark.parametrize("q", [0.25, 0.5])
def test_front0_probability_by_hand(q, sort):
    expected = hand_front0(q)
    if sort == "oracle":
        rnd = random.Random(int(q * 1000))
        n = N_REF
        front0 = np.array([[r == 0 for r in ref.peel_fronts(HAND_POOL, (1.0, q), rnd)] for _ in range(n)])
    else:
        n = N_IMPL
        front0 = (
            impl_ranks(SORTS[sort](), HAND_POOL, q, len(HAND_POOL), n, seed=int(q * 1000) + len(sort)) == 0
        )
    for j, prob in expected.items():
        k = int(front0[:, j].sum())
        if prob == 0.0:
            assert k == 0, f"row {j} can never be in front 0, seen {k} times"
        elif prob == 1.0:
            assert k == n, f"row {j} is always in front 0, missed {n - k} times"
        else:
            assert_binomial(k, n, prob, f"{sort}: P(row {j} in front 0), q = {q}")
    # Rows 0 and 4 are clones but their comparisons are independent.
    both = int((front0[:, 0] & front0[:, 4]).sum())
    assert_binomial(both, n, expected[0] ** 2, f"{sort}: clones' front-0 events independent")


# ---------------------------------------------------------------------------
# 3. `needed`: stop after the front that reaches it
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["peeling", "counting"])
def test_needed_deterministic(sort):
    fn = SORTS[sort]()
    rnd = random.Random(21 if sort == "peeling" else 22)
    rng = np.random.default_rng(21)
    for _ in range(300):
        pool = random_tie_pool(rnd, rnd.randint(1, 30))
        q = rnd.choice([0.0, 1.0])
        needed = rnd.randint(1, len(pool))
        full = ref.peel_fronts(pool, (1.0, q), rnd)
        expected = ref.truncate_ranks(full, needed)
        got = fn(farr(pool), parr(1.0, q), rng, needed)
        assert got.tolist() == expected, f"needed {needed}, pool {pool}, q {q}"


@pytest.mark.parametrize("sort", ["peeling", "counting"])
@pytest.mark.parametrize("pool_name", ["pool15", "pool30"])
def test_needed_stochastic(pool_name, sort):
    pool, tracked, _ = POOLS[pool_name]
    q = 0.25
    needed = len(pool) // 2
    oracle = np.array([ref.truncate_ranks(r.tolist(), needed) for r in reference_ranks(pool_name, q)])
    got = impl_ranks(SORTS[sort](), pool, q, needed, N_IMPL, seed=len(pool) + len(sort))
    check_fronts_contiguous(got, needed)
    unranked = 10**6  # sorts last, so it pools with the highest ranks
    for j in tracked:
        a = np.where(oracle[:, j] < 0, unranked, oracle[:, j])
        b = np.where(got[:, j] < 0, unranked, got[:, j])
        assert_same_distribution(a, b, f"{sort}: truncated rank of row {j} in {pool_name}")
    assert_same_distribution(
        (oracle >= 0).sum(axis=1), (got >= 0).sum(axis=1), f"{sort}: number of rows ranked, needed = {needed}"
    )


# ---------------------------------------------------------------------------
# 4. survivors
# ---------------------------------------------------------------------------


def normalise_crowd(c):
    c = np.asarray(c, dtype=np.float64)
    return np.where(c >= 1e13, np.inf, c)  # the C++ writes 1e14 for "infinite"


def distinct_pool(rnd, size):
    grid = [(p, -float(c)) for p in (0.5, 0.625, 0.75, 0.875, 1.0) for c in range(1, 31)]
    return rnd.sample(grid, size)


def cut_is_tie_free(pool, ranks, crowd, n):
    taken = 0
    for front in ref.fronts_of(ranks):
        if taken + len(front) < n:
            taken += len(front)
            continue
        values = sorted((crowd[i] for i in front), reverse=True)
        k = n - taken
        return k == len(values) or values[k - 1] != values[k]
    return True


@pytest.mark.parametrize("sort", ["counting", "peeling"])
def test_survivors_deterministic(sort):
    rnd = random.Random(41 if sort == "counting" else 42)
    rng = np.random.default_rng(41)
    checked = 0
    while checked < 120:
        n = rnd.randint(3, 15)
        pool = distinct_pool(rnd, 2 * n)
        ranks = ref.peel_fronts(pool, (1.0, 1.0), rnd)
        crowd = ref.crowding_all(pool, ranks)
        if not cut_is_tie_free(pool, ranks, crowd, n):
            continue
        checked += 1
        expected = sorted(ref.fill_survivors(pool, ranks, crowd, n, rnd))
        keep, kc = selection.authors_survivors(farr(pool), parr(1.0, 1.0), n, rng, sort=sort)
        keep = np.asarray(keep)
        assert keep.dtype == np.int64 and keep.shape == (n,)
        assert np.all(np.diff(keep) > 0), "keep must be sorted, without repeats"
        assert keep.tolist() == expected, f"pool {pool}, n = {n}"
        np.testing.assert_allclose(
            normalise_crowd(kc),
            [crowd[i] for i in expected],
            rtol=1e-9,
            atol=1e-12,
            err_msg=f"crowding of the kept rows, pool {pool}",
        )


@pytest.mark.parametrize("sort", ["counting", "peeling"])
def test_survivors_with_clones_take_whole_fronts(sort):
    """With clones the crowding order is unspecified, but the front structure
    is not: every front before the cut whole, the cut front partly, none after."""
    rnd = random.Random(43)
    rng = np.random.default_rng(43)
    for _ in range(100):
        n = rnd.randint(2, 15)
        pool = random_tie_pool(rnd, 2 * n)
        ranks = ref.peel_fronts(pool, (1.0, 1.0), rnd)
        keep, _ = selection.authors_survivors(farr(pool), parr(1.0, 1.0), n, rng, sort=sort)
        kept = set(np.asarray(keep).tolist())
        assert len(kept) == n
        taken = 0
        for front in ref.fronts_of(ranks):
            inside = sum(i in kept for i in front)
            if taken + len(front) <= n:
                assert inside == len(front), f"front {front} not kept whole, pool {pool}"
            else:
                assert inside == max(0, n - taken), f"front {front}, pool {pool}"
            taken += len(front)


def test_survivors_stochastic_distribution():
    pool = distinct_pool(random.Random(44), 16)
    n = 8
    pressure = (1.0, 0.25)
    rnd = random.Random(44)
    n_ref = 3000
    ref_hits = np.zeros(len(pool), dtype=np.int64)
    for _ in range(n_ref):
        kept, _ = ref.survivors(pool, pressure, n, rnd)
        ref_hits[kept] += 1
    rng = np.random.default_rng(44)
    hits = {"counting": np.zeros(len(pool), dtype=np.int64), "peeling": np.zeros(len(pool), dtype=np.int64)}
    n_impl = 10_000
    f = farr(pool)
    for sort, h in hits.items():
        for _ in range(n_impl):
            keep, kc = selection.authors_survivors(f, parr(*pressure), n, rng, sort=sort)
            assert len(keep) == n and len(kc) == n
            h[np.asarray(keep)] += 1
        for j in range(len(pool)):
            p = two_proportions_pvalue(ref_hits[j], n_ref, h[j], n_impl)
            assert p > ALPHA, (
                f"{sort}: survival of row {j} {pool[j]}: reference "
                f"{ref_hits[j]}/{n_ref}, evomod {h[j]}/{n_impl} (p = {p:.2e})"
            )


# ---------------------------------------------------------------------------
# 5. parent tournaments
# ---------------------------------------------------------------------------

PARENT_POOL = [
    (1.0, -1.0),  # 0 best on both: surely dominates everyone
    (0.9, -5.0),
    (0.9, -5.0),
    (0.9, -3.0),
    (0.8, -2.0),
    (0.8, -4.0),
    (0.8, -6.0),
    (0.7, -1.5),
    (0.6, -8.0),
    (0.6, -1.2),
    (0.5, -1.1),
    (0.2, -9.0),  # 11 worst on both: surely dominated by everyone
]
PARENT_CROWD = [np.inf, 0.5, 0.5, 1.2, np.inf, 0.3, 0.3, 0.9, np.inf, 0.0, 0.7, np.inf]


def counts_per_draw(samples, n):
    return np.array([np.bincount(s, minlength=n) for s in samples])


@pytest.mark.parametrize("q", [0.25, 1.0])
def test_parents_distribution(q):
    n = len(PARENT_POOL)
    pressure = (1.0, q)
    rnd = random.Random(51)
    oracle = counts_per_draw(
        [ref.tournament_parents(PARENT_POOL, PARENT_CROWD, pressure, rnd) for _ in range(N_REF)], n
    )
    rng = np.random.default_rng(51)
    f = farr(PARENT_POOL)
    crowd = np.asarray(PARENT_CROWD, dtype=np.float64)
    draws = []
    for _ in range(N_IMPL):
        w = selection.authors_parents(f, crowd, parr(*pressure), rng)
        draws.append(np.asarray(w))
    w0 = draws[0]
    assert w0.shape == (n,) and w0.dtype == np.int64
    got = counts_per_draw(draws, n)
    assert got.sum(axis=1).tolist() == [n] * N_IMPL
    # each individual fights exactly twice, so it wins at most twice
    assert got.max() <= 2, "someone was chosen more than twice: it fought more than twice"
    assert np.all(got[:, 0] == 2), "the sure dominator of all must win both its fights"
    assert np.all(got[:, 11] == 0), "the sure loser must never win"
    assert np.all(oracle[:, 0] == 2) and np.all(oracle[:, 11] == 0) and oracle.max() <= 2
    for j in range(n):
        assert_same_distribution(
            oracle[:, j], got[:, j], f"times row {j} {PARENT_POOL[j]} is chosen, q = {q}"
        )
    assert_same_distribution(
        (oracle == 2).sum(axis=1), (got == 2).sum(axis=1), f"number of double winners, q = {q}"
    )


def test_parents_crowding_then_coin():
    # A pure trade-off front: at pressure 1 nobody dominates anybody, so
    # crowding decides, and equal crowding goes to a fair coin.
    front = [(1.0 - 0.1 * k, -10.0 + k) for k in range(8)]
    crowd = np.array([np.inf, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, np.inf])
    f = farr(front)
    rng = np.random.default_rng(52)
    counts = counts_per_draw(
        [np.asarray(selection.authors_parents(f, crowd, parr(1.0, 1.0), rng)) for _ in range(N_IMPL)], 8
    )
    assert np.all(counts[:, 1] == 0), "the least crowded never beats anyone"
    assert counts.max() <= 2
    # rows 0 and 7 (both infinite) win every fight except against each other
    # (a coin, one win between them); they are paired in a permutation with
    # probability 1/7, independently in the two permutations.
    both_inf = counts[:, 0] + counts[:, 7]
    assert_fits(
        Counter(both_inf.tolist()),
        {4: 36 / 49, 3: 12 / 49, 2: 1 / 49},
        N_IMPL,
        "wins of the two infinite-crowding rows",
    )
    # all clones with equal crowding: each fight is a coin, counts ~ Bin(2, 1/2)
    clones = farr([(0.5, -3.0)] * 8)
    flat = np.full(8, 0.7)
    c = counts_per_draw(
        [np.asarray(selection.authors_parents(clones, flat, parr(1.0, 0.25), rng)) for _ in range(N_IMPL)], 8
    )
    assert_fits(
        Counter(c[:, 3].tolist()),
        {0: 0.25, 1: 0.5, 2: 0.25},
        N_IMPL,
        "times a clone is chosen when every fight is a coin",
    )


# ---------------------------------------------------------------------------
# 6. mutation
# ---------------------------------------------------------------------------


def make_model(layers, weights):
    return LayeredModel(layers=layers, weights=weights, operators="authors")


def slot_index(model):
    return {(int(s), int(d)): e for e, (s, d) in enumerate(zip(model.slot_src, model.slot_dst))}


def genomes_from_net(model, values, net, copies):
    slots = slot_index(model)
    w = np.zeros(model.n_slots, dtype=np.int8)
    wi = np.full(model.n_slots, -1, dtype=np.int8)
    for key, idx in net["conns"].items():
        w[slots[key]] = values[idx]
        wi[slots[key]] = idx
    n_in = model.n_inputs
    b = np.array([net["biases"][v] for v in range(n_in, model.n_nodes)], dtype=np.int8)
    return {
        "weights": np.tile(w, (copies, 1)),
        "weight_index": np.tile(wi, (copies, 1)),
        "biases": np.tile(b, (copies, 1)),
    }


def check_model_numbering(model, layers):
    nodes = ref.layer_nodes(layers)
    for l, ids in enumerate(nodes):
        assert [int(model.layer_of[v]) for v in ids] == [l] * len(ids)
    assert set(slot_index(model)) == set(ref.all_slots(layers))


def check_index_consistency(values, g):
    w, wi = g["weights"], g["weight_index"]
    assert w.dtype == np.int8 and wi.dtype == np.int8 and g["biases"].dtype == np.int8
    vals = np.asarray(values, dtype=np.int8)
    present = wi >= 0
    assert np.all(wi < len(values)) and np.all(wi >= -1)
    assert np.array_equal(w[present], vals[wi[present]]), "weights != list[weight_index]"
    assert np.all(w[~present] == 0), "weight without a weight_index"
    assert np.all((g["biases"] >= -2) & (g["biases"] <= 2))


def random_ref_net(rnd, layers, n_values, n_conns, allowed_index=None):
    slots = list(ref.all_slots(layers))
    chosen = rnd.sample(slots, n_conns)
    idx = allowed_index or list(range(n_values))
    nodes = ref.layer_nodes(layers)
    return {
        "conns": {k: rnd.choice(idx) for k in chosen},
        "biases": {v: rnd.choice(ref.BIAS_VALUES) for layer in nodes[1:] for v in layer},
    }


SMALL_NET = {
    "conns": {(0, 2): 0, (1, 3): 3, (2, 4): 1, (3, 4): 2, (4, 6): 3},
    "biases": {2: 0, 3: 2, 4: -2, 5: 1, 6: -1},
}


def big_net():
    rnd = random.Random(61)
    net = random_ref_net(rnd, CLUNE_LAYERS, 4, 10)
    # ends and interior of the list, and one of the two slots into the output
    net["conns"].update({(0, 8): 0, (15, 16): 3, (16, 20): 1, (19, 21): 2, (20, 22): 0})
    return net


@pytest.mark.parametrize("values", [FIXED_WEIGHTS, LITERAL_WEIGHTS], ids=["fixed", "literal"])
@pytest.mark.parametrize("arch", ["small", "clune"])
def test_mutation_neighbourhood(arch, values):
    layers = (2, 2, 2, 1) if arch == "small" else CLUNE_LAYERS
    net = SMALL_NET if arch == "small" else big_net()
    model = make_model(layers, values)
    check_model_numbering(model, layers)
    parent = genomes_from_net(model, values, net, N_IMPL)
    before = {k: v.copy() for k, v in parent.items()}
    child = model.mutate(parent, np.random.default_rng(62 + len(layers)))
    for k, value in before.items():
        assert np.array_equal(parent[k], value), f"mutate changed its input {k!r}"
    check_index_consistency(values, child)
    exact = ref.slot_outcome_distribution(net, layers, len(values))
    slots = slot_index(model)
    for key, dist in exact.items():
        e = slots[key]
        seen_index = Counter(child["weight_index"][:, e].tolist())
        # the one-step neighbourhood: every reachable state is reached (when
        # the oracle expects it >= 20 times), nothing unreachable ever is
        sure = {s for s, q in dist.items() if q * N_IMPL >= 20}
        assert sure <= set(seen_index), f"slot {key}: {sure - set(seen_index)} never reached"
        assert set(seen_index) <= set(dist), f"slot {key}: unreachable {set(seen_index) - set(dist)}"
        value_dist = Counter()
        for s, q in dist.items():
            value_dist[0 if s < 0 else values[s]] += q
        seen_value = Counter(child["weights"][:, e].tolist())
        assert set(seen_value) <= set(value_dist), f"slot {key}: values {set(seen_value)}"
        assert_fits(seen_index, dist, N_IMPL, f"weight_index of slot {key}")
    if values == LITERAL_WEIGHTS and arch == "small":
        # index 0 (value 2) steps only to -1; index 3 (value 2) only to 1
        assert set(child["weights"][:, slots[(0, 2)]].tolist()) == {2, -1, 0}
        assert set(child["weights"][:, slots[(1, 3)]].tolist()) == {2, 1, 0}
        assert set(child["weight_index"][:, slots[(0, 2)]].tolist()) == {0, 1, -1}
        assert set(child["weight_index"][:, slots[(1, 3)]].tolist()) == {3, 2, -1}
    if values == FIXED_WEIGHTS and arch == "small":
        assert set(child["weights"][:, slots[(2, 4)]].tolist()) == {-1, -2, 1, 0}, (
            "-1 must step to +1 (and -2), skipping 0"
        )


@pytest.mark.parametrize("n_conns", [1, 2, 3, 10, 40])
def test_weight_pick_probability(n_conns):
    """Interior weights change with probability min(1, 2/n) whenever they
    survive (removal is independent of the weight step)."""
    values = FIXED_WEIGHTS
    model = make_model(CLUNE_LAYERS, values)
    net = random_ref_net(random.Random(n_conns), CLUNE_LAYERS, 4, n_conns, allowed_index=[1, 2])
    parent = genomes_from_net(model, values, net, N_IMPL)
    child = model.mutate(parent, np.random.default_rng(70 + n_conns))
    present = parent["weight_index"] >= 0
    survived = present & (child["weight_index"] >= 0)
    changed = survived & (child["weight_index"] != parent["weight_index"])
    assert_binomial(
        changed.sum(),
        survived.sum(),
        min(1.0, 2.0 / n_conns),
        f"P(a weight steps) with {n_conns} connections",
    )
    # steps are +-1 along the list, never further
    step = child["weight_index"][survived].astype(int) - parent["weight_index"][survived]
    assert set(np.unique(step).tolist()) <= {-1, 0, 1}


def test_end_weights_clamp():
    """Weights at the ends of the list are picked at 2/n; half the picks are a
    clamped no-op step."""
    values = LITERAL_WEIGHTS
    model = make_model(CLUNE_LAYERS, values)
    net = random_ref_net(random.Random(71), CLUNE_LAYERS, 4, 8, allowed_index=[0, 3])
    parent = genomes_from_net(model, values, net, N_IMPL)
    child = model.mutate(parent, np.random.default_rng(71))
    survived = (parent["weight_index"] >= 0) & (child["weight_index"] >= 0)
    changed = survived & (child["weight_index"] != parent["weight_index"])
    assert_binomial(changed.sum(), survived.sum(), 0.5 * 2.0 / 8, "P(end weight moves)")


def test_bias_redraw():
    values = FIXED_WEIGHTS
    model = make_model(CLUNE_LAYERS, values)
    net = random_ref_net(random.Random(72), CLUNE_LAYERS, 4, 12)
    parent = genomes_from_net(model, values, net, N_IMPL)
    child = model.mutate(parent, np.random.default_rng(72))
    nb = parent["biases"].shape[1]
    assert nb == sum(CLUNE_LAYERS) - CLUNE_LAYERS[0]
    changed = (child["biases"] != parent["biases"]).sum()
    assert_binomial(changed, N_IMPL * nb, ref.BIAS_RATE * 4 / 5, "P(a bias changes)")
    for h in range(nb):
        b0 = int(parent["biases"][0, h])
        seen = Counter(child["biases"][:, h].tolist())
        assert set(seen) == set(ref.BIAS_VALUES), f"bias {h} from {b0} reached {set(seen)}"
        assert_fits(seen, ref.bias_outcome_distribution(b0), N_IMPL, f"bias {h} from {b0}")


def added_pairs(model, parent, child):
    new = (parent["weight_index"] < 0) & (child["weight_index"] >= 0)
    assert np.all(new.sum(axis=1) <= 1), "more than one connection added in one mutation"
    rows_, slots_ = np.nonzero(new)
    return model.layer_of[model.slot_src[slots_]], child["weight_index"][rows_, slots_]


def test_add_connection_layer_pairs_empty_network():
    values = LITERAL_WEIGHTS
    model = make_model(CLUNE_LAYERS, values)
    empty = {"conns": {}, "biases": {v: 0 for v in range(8, 23)}}
    parent = genomes_from_net(model, values, empty, N_IMPL)
    child = model.mutate(parent, np.random.default_rng(81))
    pairs, idx = added_pairs(model, parent, child)
    # added with 0.2, then the only connection is removed again with 0.2
    assert_binomial(
        len(pairs),
        N_IMPL,
        ref.ADD_RATE * (1 - ref.REMOVE_RATE),
        "P(a connection appears in an empty network)",
    )
    assert_fits(
        Counter(pairs.tolist()),
        {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25},
        len(pairs),
        "layer pair of an added connection (empty network)",
    )
    assert_fits(
        Counter(idx.tolist()),
        {0: 0.25, 1: 0.25, 2: 0.25, 3: 0.25},
        len(idx),
        "weight index of an added connection",
    )


def test_add_connection_layer_pairs_partly_full():
    """Pair 3 (2 -> 1) and pair 2 (4 -> 2) with one free slot each, pair 1 half
    full, pair 0 empty: the layer-pair scheme adds in pair 3 about as often as
    in pair 1; uniform over empty slots would almost never."""
    values = FIXED_WEIGHTS
    layers = CLUNE_LAYERS
    model = make_model(layers, values)
    nodes = ref.layer_nodes(layers)
    conns = {}
    conns[(nodes[3][0], nodes[4][0])] = 1
    for s in nodes[2]:
        for d in nodes[3]:
            conns[(s, d)] = 2
    del conns[(nodes[2][0], nodes[3][0])]
    for k, s in enumerate(nodes[1]):
        for d in nodes[2][:2]:
            conns[(s, d)] = k % 4
    net = {"conns": conns, "biases": {v: 1 for layer in nodes[1:] for v in layer}}
    parent = genomes_from_net(model, values, net, N_IMPL)
    child = model.mutate(parent, np.random.default_rng(82))
    pairs, _ = added_pairs(model, parent, child)
    expected = dict(enumerate(ref.add_pair_probabilities(conns, layers)))
    assert_fits(Counter(pairs.tolist()), expected, len(pairs), "layer pair (partly full)")
    free = [64, 16, 1, 1]
    uniform = {l: free[l] / sum(free) for l in range(4)}
    obs = Counter(pairs.tolist())
    p_uniform = stats.chisquare(
        [obs.get(l, 0) for l in range(4)], [uniform[l] * len(pairs) for l in range(4)]
    ).pvalue
    assert p_uniform < 1e-10, "sanity: this pool must tell the two schemes apart"


@pytest.mark.parametrize("values", [FIXED_WEIGHTS, LITERAL_WEIGHTS], ids=["fixed", "literal"])
def test_weight_index_consistent_over_generations(values):
    model = make_model(CLUNE_LAYERS, values)
    rng = np.random.default_rng(90)
    g = model.random(300, rng)
    check_index_consistency(values, g)
    for _ in range(300):
        g = model.mutate(g, rng)
        check_index_consistency(values, g)
    if values == LITERAL_WEIGHTS:
        wi = g["weight_index"]
        assert (wi == 0).any() and (wi == 3).any(), "both genes of value 2 should persist"


# ---------------------------------------------------------------------------
# 7. initial population
# ---------------------------------------------------------------------------


def reached_output(model, weights):
    """Per network: does some input reach some output? Does the output have
    any incoming connection? (numpy, from the slot tables)."""
    n = weights.shape[0]
    reached = np.zeros((n, model.n_nodes), dtype=bool)
    reached[:, : model.n_inputs] = True
    order = np.argsort(model.layer_of[model.slot_dst], kind="stable")
    for e in order:
        s, d = model.slot_src[e], model.slot_dst[e]
        reached[:, d] |= reached[:, s] & (weights[:, e] != 0)
    out = np.flatnonzero(model.layer_of == model.layer_of.max())
    into = np.isin(model.slot_dst, out)
    return reached[:, out].any(axis=1), (weights[:, into] != 0).any(axis=1)


@functools.cache
def reference_initial(n_values, n_nets=4000, seed=101):
    rnd = random.Random(seed)
    nets = [ref.random_net(CLUNE_LAYERS, n_values, rnd) for _ in range(n_nets)]
    out = max(ref.layer_nodes(CLUNE_LAYERS)[-1])
    counts = np.array([len(nt["conns"]) for nt in nets])
    path = np.array([ref.reaches_output(nt["conns"], CLUNE_LAYERS) for nt in nets])
    into = np.array([any(d == out for (_, d) in nt["conns"]) for nt in nets])
    return counts, path, into


@pytest.mark.parametrize("values", [FIXED_WEIGHTS, LITERAL_WEIGHTS], ids=["fixed", "literal"])
def test_initial_population(values):
    model = make_model(CLUNE_LAYERS, values)
    g = model.random(N_IMPL, np.random.default_rng(102))
    check_index_consistency(values, g)
    counts = (g["weights"] != 0).sum(axis=1)
    assert counts.max() <= min(119, model.n_slots)
    ref_counts, ref_path, ref_into = reference_initial(len(values))
    assert_same_distribution(ref_counts // 10, counts // 10, "connections per initial network")
    path, into = reached_output(model, g["weights"])
    for what, a, b in (
        ("an input-to-output path", ref_path, path),
        ("a connection into the output", ref_into, into),
    ):
        p = two_proportions_pvalue(a.sum(), a.size, b.sum(), b.size)
        assert p > ALPHA, (
            f"fraction of initial networks with {what}: reference "
            f"{a.mean():.4f}, evomod {b.mean():.4f} (p = {p:.2e})"
        )
    wi = g["weight_index"][g["weight_index"] >= 0]
    assert_fits(
        Counter(wi.tolist()),
        {k: 1 / len(values) for k in range(len(values))},
        wi.size,
        "initial weight indices",
    )
    b = g["biases"].ravel()
    assert_fits(Counter(b.tolist()), {v: 0.2 for v in ref.BIAS_VALUES}, b.size, "initial biases")
