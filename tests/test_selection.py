"""Independent reference tests for NSGA-II with stochastic Pareto dominance
(Clune et al. 2013): ``evomod.kernels.nsga`` and ``evomod.selection``.

DEAP's own ``sortNondominated`` / ``assignCrowdingDist`` are the reference for
the deterministic cases; the stochastic cases are checked against
probabilities worked out by hand from the definition (column 0 always counts;
stochastic columns enter each pairwise comparison with probability p, drawn
afresh for every pair).
"""

import math

import numpy as np
import pytest
from deap import base, creator, tools

from evomod.kernels.nsga import crowding_distance, nondominated_ranks
from evomod.selection import crowded_tournament, elite_order, nsga2_survivors


def fitness_class(n_obj):
    name = f"EvomodRefTestFit{n_obj}"
    if not hasattr(creator, name):
        creator.create(name, base.Fitness, weights=(1.0,) * n_obj)
        creator.create(f"EvomodRefTestInd{n_obj}", list, fitness=getattr(creator, name))
    return getattr(creator, f"EvomodRefTestInd{n_obj}")


def deap_individuals(f):
    ind_cls = fitness_class(f.shape[1])
    inds = []
    for row in f:
        ind = ind_cls([0])
        ind.fitness.values = tuple(float(v) for v in row)
        inds.append(ind)
    return inds


def deap_ranks(f):
    """Front index of each row by DEAP (all objectives maximised)."""
    inds = deap_individuals(f)
    where = {id(ind): i for i, ind in enumerate(inds)}
    fronts = tools.sortNondominated(inds, len(inds), first_front_only=False)
    rank = np.full(len(inds), -1)
    for r, front in enumerate(fronts):
        for ind in front:
            rank[where[id(ind)]] = r
    assert (rank >= 0).all()
    return rank


def deap_crowding(f, rank):
    """Crowding distance per row, within its front, by DEAP. DEAP divides each
    objective's contribution by the number of objectives as well; undo that
    so the value is NSGA-II's sum of normalised gaps."""
    n_obj = f.shape[1]
    out = np.zeros(len(f))
    for r in np.unique(rank):
        members = np.flatnonzero(rank == r)
        inds = deap_individuals(f[members])
        tools.emo.assignCrowdingDist(inds)
        for m, ind in zip(members, inds):
            out[m] = ind.fitness.crowding_dist * n_obj
    return out


def rng(seed):
    return np.random.default_rng(seed)


def ranks(f, stochastic, p, seed=0):
    return nondominated_ranks(
        np.ascontiguousarray(f, dtype=np.float64), np.asarray(stochastic, dtype=np.bool_), float(p), rng(seed)
    )


# -- deterministic ranks -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_ranks_p1_equal_deap_fronts_two_objectives(seed):
    r = rng(100 + seed)
    n = int(r.integers(2, 150))
    f = r.integers(0, 5, size=(n, 2)).astype(float)  # many ties
    np.testing.assert_array_equal(ranks(f, [False, True], 1.0, seed), deap_ranks(f))


@pytest.mark.parametrize("seed", range(6))
def test_ranks_p1_equal_deap_fronts_three_objectives(seed):
    r = rng(200 + seed)
    f = r.integers(0, 4, size=(120, 3)).astype(float)
    expected = deap_ranks(f)
    np.testing.assert_array_equal(ranks(f, [False, True, True], 1.0, seed), expected)
    np.testing.assert_array_equal(ranks(f, [False, False, False], 0.3, seed), expected)
    np.testing.assert_array_equal(ranks(f, [False, False, True], 1.0, seed), expected)


@pytest.mark.parametrize("seed", range(8))
def test_ranks_p0_are_fronts_of_column_0(seed):
    r = rng(300 + seed)
    f = np.column_stack([r.integers(0, 6, 100), r.normal(size=100), r.integers(0, 3, 100)])
    expected = deap_ranks(f[:, :1])
    np.testing.assert_array_equal(ranks(f[:, :2], [False, True], 0.0, seed), expected)
    np.testing.assert_array_equal(ranks(f, [False, True, True], 0.0, seed), expected)
    # and column 0 alone is just the dense rank of its values, descending
    distinct = np.unique(f[:, 0])[::-1]
    np.testing.assert_array_equal(expected, np.searchsorted(-distinct, -f[:, 0]))


@pytest.mark.parametrize("seed", [1])
def test_ranks_p0_with_later_nonstochastic_column(seed):
    """Only the flagged column is stochastic: with p = 0 the fronts are those
    of the unflagged columns 0 and 2 together. (A dominance on columns {0, 2}
    need not agree with lexicographic order over all columns, e.g. rows
    (1, 0, 5) and (1, 9, 3): the first dominates once column 1 is off.)"""
    r = rng(350 + seed)
    f = r.integers(0, 4, size=(80, 3)).astype(float)
    np.testing.assert_array_equal(ranks(f, [False, True, False], 0.0, seed), deap_ranks(f[:, [0, 2]]))


def test_ranks_p0_with_later_nonstochastic_column_minimal():
    # Row 0 beats row 1 on column 2 and ties on column 0; column 1 (where row 1
    # is better) is switched off by p = 0, so row 0 dominates row 1.
    f = np.array([[1.0, 0.0, 5.0], [1.0, 9.0, 3.0]])
    np.testing.assert_array_equal(ranks(f, [False, True, False], 0.0), [0, 1])


@pytest.mark.parametrize("seed", range(4))
def test_single_objective(seed):
    r = rng(400 + seed)
    f = r.integers(0, 10, size=(60, 1)).astype(float)
    expected = deap_ranks(f)
    np.testing.assert_array_equal(ranks(f, [False], 0.5, seed), expected)
    np.testing.assert_array_equal(ranks(f, [False], 0.0, seed), expected)


def test_small_cases():
    assert ranks(np.array([[1.0, 1.0]]), [False, True], 0.25).tolist() == [0]
    # identical rows never dominate each other
    assert ranks(np.ones((5, 2)), [False, True], 1.0).tolist() == [0] * 5
    # a strict chain
    f = np.array([[0.0, 0.0], [3.0, 3.0], [1.0, 1.0], [2.0, 2.0]])
    assert ranks(f, [False, True], 1.0).tolist() == [3, 0, 2, 1]


# -- crowding distance ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("n_obj", [2, 3])
def test_crowding_equals_deap_without_ties(seed, n_obj):
    r = rng(500 + seed)
    n = int(r.integers(3, 120))
    f = r.normal(size=(n, n_obj))
    rank = deap_ranks(f)
    got = crowding_distance(f, rank.astype(np.int64))
    expected = deap_crowding(f, rank)
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    fin = np.isfinite(expected)
    np.testing.assert_allclose(got[fin], expected[fin], rtol=1e-12, atol=1e-14)


def test_crowding_with_integer_first_column_and_many_fronts():
    """Column 0 integer (many fronts), column 1 continuous: within a 2-D front
    no two members share a value, so every distance is well defined."""
    r = rng(550)
    f = np.column_stack([r.integers(0, 8, 300).astype(float), r.normal(size=300)])
    rank = deap_ranks(f)
    got = crowding_distance(f, rank.astype(np.int64))
    expected = deap_crowding(f, rank)
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    fin = np.isfinite(expected)
    np.testing.assert_allclose(got[fin], expected[fin], rtol=1e-12, atol=1e-14)


def test_crowding_hand_computed():
    # one front of four points on a line x + y = 3
    f = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]])
    rank = np.zeros(4, dtype=np.int64)
    got = crowding_distance(f, rank)
    assert math.isinf(got[0]) and math.isinf(got[3])
    # interior: (2 - 0)/3 for each objective
    np.testing.assert_allclose(got[1:3], [4.0 / 3.0, 4.0 / 3.0], rtol=1e-12)
    # fronts of one or two members are all infinite
    f2 = np.array([[5.0, 5.0], [1.0, 2.0], [2.0, 1.0]])
    assert np.isinf(crowding_distance(f2, np.array([0, 1, 1], dtype=np.int64))).all()


# -- stochastic dominance statistics -------------------------------------------------------


def within(observed, expected, sd, k=4.0):
    assert abs(observed - expected) <= k * sd, (observed, expected, sd)


N_SEEDS = 4000


@pytest.mark.parametrize("p", [0.25, 0.75])
def test_cost_column_can_hide_a_dominance(p):
    """a = (1.0, -5), b = (0.5, -1): a is better on column 0, b on the cost
    column. With the cost counted (prob p) neither dominates; without it (1 - p)
    a dominates b."""
    f = np.array([[1.0, -5.0], [0.5, -1.0]])
    hits = 0
    for seed in range(N_SEEDS):
        r = ranks(f, [False, True], p, seed)
        assert r[0] == 0
        hits += int(r[1] == 1)
    q = 1 - p
    within(hits / N_SEEDS, q, math.sqrt(q * (1 - q) / N_SEEDS))


@pytest.mark.parametrize("p", [0.25, 0.75])
def test_cost_column_can_make_a_dominance(p):
    """a = (1, 0), b = (1, -1): equal on column 0, a better on the cost column.
    a dominates b only when the cost column is counted (prob p)."""
    f = np.array([[1.0, -1.0], [1.0, 0.0]])
    hits = 0
    for seed in range(N_SEEDS):
        r = ranks(f, [False, True], p, seed)
        assert r[1] == 0
        hits += int(r[0] == 1)
    within(hits / N_SEEDS, p, math.sqrt(p * (1 - p) / N_SEEDS))


def test_coin_is_redrawn_for_every_pair():
    """b and c are identical copies that a dominates unless the cost counts.
    With a fresh coin per pair, both are dominated with prob (1-p)^2 and
    exactly one with 2 p (1-p); one shared coin would give 1-p and 0."""
    p = 0.5
    f = np.array([[2.0, -10.0], [1.0, -1.0], [1.0, -1.0]])
    counts = np.zeros(3)
    for seed in range(N_SEEDS):
        r = ranks(f, [False, True], p, seed)
        counts[int(r[1] + r[2])] += 1
    q = 1 - p
    probs = [p * p, 2 * p * q, q * q]
    for k in range(3):
        within(counts[k] / N_SEEDS, probs[k], math.sqrt(probs[k] * (1 - probs[k]) / N_SEEDS))


def test_three_point_chain_rank_distribution():
    """a = (3,-3), b = (2,-2), c = (1,-1): every pair trades performance for
    cost, so each dominance holds independently with q = 1 - p. rank(c) = 2
    with q^2, 1 with 2 q (1 - q), 0 with (1 - q)^2."""
    p = 0.25
    q = 1 - p
    f = np.array([[3.0, -3.0], [2.0, -2.0], [1.0, -1.0]])
    counts = np.zeros(3)
    b_counts = np.zeros(2)
    for seed in range(N_SEEDS):
        r = ranks(f, [False, True], p, seed)
        counts[r[2]] += 1
        b_counts[r[1]] += 1
    probs = [(1 - q) ** 2, 2 * q * (1 - q), q * q]
    for k in range(3):
        within(counts[k] / N_SEEDS, probs[k], math.sqrt(probs[k] * (1 - probs[k]) / N_SEEDS))
    within(b_counts[1] / N_SEEDS, q, math.sqrt(q * (1 - q) / N_SEEDS))


def test_stochastic_ranks_are_reproducible():
    f = rng(1).integers(0, 5, size=(100, 2)).astype(float)
    a = ranks(f, [False, True], 0.25, seed=9)
    b = ranks(f, [False, True], 0.25, seed=9)
    np.testing.assert_array_equal(a, b)


def longest_path_ranks(f, rel):
    """rank(b) = 1 + max rank(a) over a with rel(a, b); 0 if none. All the
    relations used here only ever point forward in lexicographic (descending)
    order, so processing rows in that order is enough."""
    order = sorted(range(len(f)), key=lambda i: tuple(-f[i]))
    rank = {}
    for k, b in enumerate(order):
        rank[b] = 1 + max([rank[a] for a in order[:k] if rel(f[a], f[b])], default=-1)
    return np.array([rank[i] for i in range(len(f))])


def dom_both(a, b):  # Pareto dominance on both columns
    return a[0] >= b[0] and a[1] >= b[1] and (a[0] > b[0] or a[1] > b[1])


def dom_col0(a, b):  # dominance on column 0 alone
    return a[0] > b[0]


def dom_always(a, b):  # dominance whichever columns count
    return dom_both(a, b) and dom_col0(a, b)


def dom_either(a, b):  # dominance under at least one coin outcome
    return dom_both(a, b) or dom_col0(a, b)


def test_longest_path_reference_agrees_with_deap():
    f = rng(2).integers(0, 5, size=(80, 2)).astype(float)
    np.testing.assert_array_equal(longest_path_ranks(f, dom_both), deap_ranks(f))
    np.testing.assert_array_equal(longest_path_ranks(f, dom_col0), deap_ranks(f[:, :1]))


def test_stochastic_ranks_lie_between_bounds():
    """Whatever the coins, a pair dominating under both outcomes always
    dominates, and a pair dominating under neither never does; so ranks lie
    between the fronts of those two relations, and both bounds are reached."""
    f = rng(2).integers(0, 5, size=(80, 2)).astype(float)
    lo = longest_path_ranks(f, dom_always)
    hi = longest_path_ranks(f, dom_either)
    assert (lo < hi).any()
    max_seen = np.zeros(len(f), dtype=int)
    min_seen = np.full(len(f), 10**6)
    for seed in range(300):
        r = ranks(f, [False, True], 0.4, seed)
        assert (r >= lo).all() and (r <= hi).all()
        max_seen = np.maximum(max_seen, r)
        min_seen = np.minimum(min_seen, r)
    assert (max_seen > lo).any() and (min_seen < hi).any()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stochastic_rank_distribution_matches_exact_enumeration(seed):
    """Small populations: enumerate every outcome of the per-pair coins (only
    pairs whose verdict depends on the coin matter), weight each by its
    probability, and compare the exact distribution of the whole rank vector
    with the kernel's frequencies over many seeds (chi-square)."""
    from itertools import product

    from scipy.stats import chisquare

    p = 0.3
    f = rng(700 + seed).integers(0, 3, size=(6, 2)).astype(float)
    n = len(f)
    pairs = [
        (a, b) for a in range(n) for b in range(n) if a != b and dom_both(f[a], f[b]) != dom_col0(f[a], f[b])
    ]
    exact = {}
    for coins in product((True, False), repeat=len(pairs)):
        counted = dict(zip(pairs, coins))  # True: the cost column counts

        def rel_idx(a, b):
            if (a, b) in counted:
                return dom_both(f[a], f[b]) if counted[(a, b)] else dom_col0(f[a], f[b])
            return dom_both(f[a], f[b])  # = dom_col0 here

        idx = np.arange(n)
        order = sorted(range(n), key=lambda i: tuple(-f[i]))
        rank = {}
        for k, b in enumerate(order):
            rank[b] = 1 + max([rank[a] for a in order[:k] if rel_idx(a, b)], default=-1)
        key = tuple(rank[i] for i in idx)
        prob = np.prod([p if c else 1 - p for c in coins])
        exact[key] = exact.get(key, 0.0) + prob
    assert abs(sum(exact.values()) - 1) < 1e-12
    trials = 4000
    seen = {}
    for t in range(trials):
        key = tuple(ranks(f, [False, True], p, 10_000 * seed + t).tolist())
        assert key in exact, key
        seen[key] = seen.get(key, 0) + 1
    keys = sorted(exact, key=lambda k: -exact[k])
    obs, exp, rest_o, rest_e = [], [], 0, 0.0
    for k in keys:
        if exact[k] * trials >= 5:
            obs.append(seen.get(k, 0))
            exp.append(exact[k] * trials)
        else:
            rest_o += seen.get(k, 0)
            rest_e += exact[k] * trials
    if rest_e > 0:
        obs.append(rest_o)
        exp.append(rest_e)
    if len(obs) > 1:
        assert chisquare(obs, exp).pvalue > 1e-4


# -- survivors --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_survivors_whole_fronts_then_least_crowded(seed):
    r = rng(600 + seed)
    m = 200
    f = np.column_stack([r.integers(0, 8, m).astype(float), r.normal(size=m)])
    n = int(r.integers(1, m))
    idx, rank_s, crowd_s = nsga2_survivors(f, np.array([False, True]), 1.0, n, rng(seed))
    idx = np.asarray(idx)
    assert len(idx) == n and len(np.unique(idx)) == n
    assert idx.min() >= 0 and idx.max() < m
    rank = deap_ranks(f)
    crowd = deap_crowding(f, rank)
    np.testing.assert_array_equal(rank_s, rank[idx])
    np.testing.assert_allclose(crowd_s, crowd[idx], rtol=1e-12)
    kept = np.zeros(m, bool)
    kept[idx] = True
    worst = rank[idx].max()
    assert kept[rank < worst].all()  # every better front whole
    assert not kept[rank > worst].any()  # nothing from a worse front
    overflow = rank == worst
    if (~kept & overflow).any():
        assert crowd[kept & overflow].min() >= crowd[~kept & overflow].max()


def test_survivors_whole_population():
    f = rng(3).normal(size=(30, 2))
    idx, _, _ = nsga2_survivors(f, np.array([False, True]), 1.0, 30, rng(0))
    assert sorted(np.asarray(idx).tolist()) == list(range(30))


def test_survivors_p0_follow_column_0():
    r = rng(4)
    f = np.column_stack([r.integers(0, 10, 100).astype(float), r.normal(size=100)])
    idx, _, _ = nsga2_survivors(f, np.array([False, True]), 0.0, 37, rng(1))
    kept = np.zeros(100, bool)
    kept[np.asarray(idx)] = True
    threshold = f[kept, 0].min()
    assert (f[~kept, 0] <= threshold).all()


def test_survivors_are_reproducible():
    f = rng(5).integers(0, 4, size=(150, 2)).astype(float)
    a = nsga2_survivors(f, np.array([False, True]), 0.25, 60, rng(7))
    b = nsga2_survivors(f, np.array([False, True]), 0.25, 60, rng(7))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


# -- tournaments and elitist order ----------------------------------------------------------


def tournament_probs(n):
    """Winner of two uniform draws with replacement from a strict order of n:
    the k-th best (k = 1..n) wins with ((n-k+1)^2 - (n-k)^2) / n^2."""
    return np.array([((n - k + 1) ** 2 - (n - k) ** 2) / n**2 for k in range(1, n + 1)])


def check_freqs(winners, order, probs):
    m = len(winners)
    for who, pr in zip(order, probs):
        within((winners == who).sum(), m * pr, math.sqrt(m * pr * (1 - pr)))


def test_crowded_tournament_prefers_lower_rank():
    rank = np.array([2, 0, 3, 1, 4])
    crowd = np.zeros(5)
    winners = crowded_tournament(rank, crowd, 40000, rng(8))
    assert len(winners) == 40000
    check_freqs(winners, np.argsort(rank), tournament_probs(5))


def test_crowded_tournament_breaks_rank_ties_by_crowding():
    rank = np.zeros(5, dtype=np.int64)
    crowd = np.array([0.5, np.inf, 0.1, 2.0, 1.0])
    winners = crowded_tournament(rank, crowd, 40000, rng(9))
    check_freqs(winners, np.argsort(-crowd), tournament_probs(5))


def test_crowded_tournament_full_ties_are_uniform():
    rank = np.zeros(4, dtype=np.int64)
    crowd = np.ones(4)
    winners = crowded_tournament(rank, crowd, 40000, rng(10))
    check_freqs(winners, range(4), [0.25] * 4)


def test_elite_order():
    r = rng(11)
    fitness = r.integers(0, 5, size=50).astype(float)
    order = elite_order(fitness, rng(12))
    assert sorted(order.tolist()) == list(range(50))
    assert (np.diff(fitness[order]) <= 0).all()


def test_elite_order_ties_are_random():
    fitness = np.array([1.0, 1.0, 1.0, 0.0])
    firsts = np.zeros(4)
    for seed in range(3000):
        order = elite_order(fitness, rng(seed))
        assert order[-1] == 3
        firsts[order[0]] += 1
    for k in range(3):
        within(firsts[k] / 3000, 1 / 3, math.sqrt(2 / 9 / 3000))


def test_survivors_by_front_is_the_full_sort_cut():
    """The survivors are the first n of all rows sorted by front (unranked
    last), then crowding distance descending, then the tiebreak: checked
    against numpy's full lexicographic sort on pools with ties, infinite
    distances, unranked rows and every cut position."""
    from evomod.kernels.nsga import survivors_by_front

    rng = np.random.default_rng(12)
    cuts_inside_a_front = 0
    for trial in range(400):
        rows = int(rng.integers(1, 120))
        n = int(rng.integers(1, rows + 1))
        rank = rng.integers(-1, min(int(rng.integers(1, 9)), rows), rows)
        if trial % 2:
            crowd = rng.choice([0.0, 0.25, 1.0, np.inf], rows)
        else:
            crowd = rng.random(rows)
        tiebreak = rng.permutation(rows)
        front = np.where(rank < 0, rows, rank)
        expected = np.sort(np.lexsort((tiebreak, -crowd, front))[:n])
        got = survivors_by_front(rank, crowd, tiebreak, n)
        np.testing.assert_array_equal(got, expected)
        sizes = np.bincount(front, minlength=rows + 1).cumsum()
        cuts_inside_a_front += n not in sizes
    assert cuts_inside_a_front > 100  # most cuts split a front: its sort is exercised


def test_compiled_elite_order_is_a_stable_sort():
    """``kernels.elite.elite_order`` (counting over distinct fitness values,
    a merge sort above 64 of them) against numpy's stable sort: the first
    n_elite of the shuffled order by decreasing fitness, ties kept in it."""
    from evomod.kernels.elite import elite_order as compiled_elite_order

    rng = np.random.default_rng(14)
    fallbacks = 0
    for trial in range(600):
        n = int(rng.integers(1, 700))
        n_elite = int(rng.integers(1, n + 1))
        levels = int(rng.integers(1, 120))
        fitness = rng.integers(0, levels, n) / levels - rng.integers(0, 3, n) * 0.01
        if trial % 4 == 0:
            fitness[rng.random(n) < 0.3] = -0.0  # equal to 0.0
        if trial % 9 == 0:
            fitness = rng.random(n)  # all distinct
        shuffled = rng.permutation(n)
        expected = shuffled[np.argsort(-fitness[shuffled], kind="stable")][:n_elite]
        np.testing.assert_array_equal(compiled_elite_order(fitness, shuffled, n_elite), expected)
        fallbacks += len(np.unique(fitness)) > 64
    assert 20 < fallbacks < 500  # both paths are exercised
