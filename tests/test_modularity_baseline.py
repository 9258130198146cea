"""Qm and its random baselines (Kashtan & Alon)."""

import json
import os

import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.modularity import Baseline, BaselineCache, genome_baseline, maximize_q, qm, random_baseline
from evomod.modularity._swap import randomize


def test_qm_formula():
    assert qm(0.5, 0.2, 0.8) == pytest.approx(0.5)
    assert qm(0.2, 0.2, 0.8) == 0.0
    assert np.allclose(qm(np.array([0.2, 0.8, 0.35]), 0.2, 0.8), [0.0, 1.0, 0.25])
    base = Baseline.from_values([0.1, 0.3], n_empty=0, source="test")
    assert qm(0.6, base, 1.2) == pytest.approx((0.6 - 0.2) / (1.2 - 0.2))


def test_qm_errors():
    with pytest.raises(ConfigError, match="q_max: must be greater than q_rand"):
        qm(0.5, 0.4, 0.4)
    with pytest.raises(ConfigError, match="q_max"):
        qm(0.5, 0.4, 0.3)
    with pytest.raises(ConfigError, match="q_rand"):
        qm(0.5, float("nan"), 0.9)
    with pytest.raises(ConfigError, match="q_real"):
        qm("high", 0.1, 0.9)


# ---------------------------------------------------------------- degree-preserving swaps


def sparse_digraph(rng, n=20, density=0.15):
    a = (rng.random((n, n)) < density).astype(float)
    np.fill_diagonal(a, 0)
    return a


@pytest.mark.parametrize("seed", range(4))
def test_directed_swaps_keep_in_and_out_degrees(seed):
    rng = np.random.default_rng(seed)
    a = sparse_digraph(rng) * rng.integers(1, 3, (20, 20))
    a[4, 4] = 3.0  # a self-loop stays put
    r = randomize(a, True, np.random.default_rng(100 + seed))
    assert np.array_equal((r != 0).sum(0), (a != 0).sum(0))
    assert np.array_equal((r != 0).sum(1), (a != 0).sum(1))
    assert sorted(r[r != 0]) == sorted(a[a != 0])  # weights travel with edges
    assert r[4, 4] == 3.0 and np.count_nonzero(np.diag(r)) == 1  # no new self-loops
    assert not np.array_equal(r != 0, a != 0)


@pytest.mark.parametrize("seed", range(4))
def test_undirected_swaps_keep_degrees(seed):
    rng = np.random.default_rng(seed)
    a = sparse_digraph(rng)
    w = a + a.T
    r = randomize(a, False, np.random.default_rng(seed))
    rw = r + r.T
    assert np.array_equal((rw != 0).sum(0), (w != 0).sum(0))
    assert np.count_nonzero(np.diag(rw)) == 0
    assert np.count_nonzero(r) == np.count_nonzero(np.triu(w))
    assert not np.array_equal(rw != 0, w != 0)


def test_swaps_are_deterministic_for_a_seed():
    a = sparse_digraph(np.random.default_rng(0))
    one = randomize(a, True, np.random.default_rng(5))
    two = randomize(a, True, np.random.default_rng(5))
    assert np.array_equal(one, two)


def test_swaps_mix_well():
    # Over many rewirings of a directed 4-cycle plus chords, every edge slot
    # the degree sequence allows should turn up.
    a = np.zeros((6, 6))
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0)]:
        a[i, j] = 1
    seen = np.zeros((6, 6))
    rng = np.random.default_rng(1)
    for _ in range(300):
        seen += randomize(a, True, rng) != 0
    off_diagonal = ~np.eye(6, dtype=bool)
    assert np.all(seen[off_diagonal] > 0)


# ---------------------------------------------------------------- baselines


def two_cliques():
    a = np.zeros((10, 10))
    a[:5, :5] = 1
    a[5:, 5:] = 1
    np.fill_diagonal(a, 0)
    a[4, 5] = 1
    return np.triu(a)


def test_random_baseline_is_below_a_modular_network():
    a = two_cliques()
    base = random_baseline(a, n_samples=40, directed=False, seed=0)
    real = maximize_q(a, directed=False).q
    assert base.n == 40 and base.n_empty == 0 and base.source == "degree-preserving"
    assert base.mean < real - 0.1
    assert base.sem == pytest.approx(np.std(base.values, ddof=1) / np.sqrt(40))
    assert base.mean == pytest.approx(np.mean(base.values))


def test_random_baseline_values_are_q_of_rewired_graphs():
    # Hand-worked: a 2-regular graph on 6 nodes is either a 6-cycle (best Q:
    # two 3-paths, 2 * (2/6 - (6/12)^2) = 1/6) or two triangles
    # (2 * (3/6 - 1/4) = 1/2). Of the 70 labelled 2-regular graphs, 60 are
    # 6-cycles and 10 are two triangles. Start from one 6-cycle.
    a = six_cycle()
    base = random_baseline(a, n_samples=60, directed=False, method="exact", seed=9)
    values = np.asarray(base.values)
    is_half = np.isclose(values, 0.5)
    assert np.all(is_half | np.isclose(values, 1 / 6)), sorted(set(np.round(values, 6)))
    assert 0 < is_half.sum() < 60  # both realisations occur: the samples really vary
    assert base.mean == pytest.approx(values.mean())


def six_cycle():
    a = np.zeros((6, 6))
    for i in range(6):
        a[i, (i + 1) % 6] = 1
    return a


def test_degree_preserving_rewiring_is_uniform_over_realisations():
    # The textbook null: every labelled graph with the degree sequence equally
    # likely. 2-regular on 6 nodes: 60 six-cycles, 10 pairs of triangles.
    # Counting only accepted swaps would give triangles 180/900 = 0.2 of the
    # time (18 valid swaps from a triangle pair, 12 from a 6-cycle).
    rng = np.random.default_rng(1)
    n = 3000
    triangles = 0
    for _ in range(n):
        r = randomize(six_cycle(), False, rng)
        w = ((r + r.T) != 0).astype(int)
        triangles += np.trace(w @ w @ w) > 0
    p = 1 / 7
    assert abs(triangles / n - p) <= 4 * np.sqrt(p * (1 - p) / n), triangles / n


def test_random_baseline_deterministic_and_validated():
    a = sparse_digraph(np.random.default_rng(4), n=10, density=0.3)
    one = random_baseline(a, n_samples=4, seed=1)
    two = random_baseline(a, n_samples=4, seed=1)
    assert np.array_equal(one.values, two.values)
    with pytest.raises(ConfigError, match="n_samples"):
        random_baseline(a, n_samples=1)
    with pytest.raises(ConfigError, match="method"):
        random_baseline(a, n_samples=4, method="fast")


def test_genome_baseline_accepts_arrays_and_dicts():
    calls = []

    def sample(rng):
        calls.append(rng)
        n = len(calls)
        if n % 3 == 0:
            return {"kind": "circuit", "inputs": [0, 1], "gates": [{"id": 2, "in": [0, 1]}], "outputs": [2]}
        if n % 3 == 1:
            return np.zeros((4, 4))  # a network with nothing left
        return sparse_digraph(rng, n=8, density=0.3)

    base = genome_baseline(sample, n_samples=6, directed=False, seed=2)
    assert len(calls) == 6 and all(r is calls[0] for r in calls)  # one Generator throughout
    assert base.n == 6 and base.n_empty == 2 and base.source == "genome"
    assert base.values[0] == 0.0
    # The circuit 0 -> 2 <- 1 is a star: best Q is 0 (one module).
    assert base.values[2] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ConfigError, match="sample_networks"):
        genome_baseline(42, n_samples=3)


# ---------------------------------------------------------------- cache


def test_cache_round_trip_and_params(tmp_path):
    cache = BaselineCache(tmp_path / "baselines")
    base = Baseline.from_values([0.1, 0.2, 0.4], n_empty=1, source="genome")
    params = {"method": "auto", "directed": True, "n_samples": 3}
    path = cache.put("layered", (8, 8, 4, 2, 1), base, params)
    assert path.name == "layered__8-8-4-2-1.json"
    got = cache.get("layered", (8, 8, 4, 2, 1), params)
    assert got.mean == pytest.approx(base.mean) and got.sem == pytest.approx(base.sem)
    assert np.array_equal(got.values, base.values) and got.n_empty == 1
    assert cache.get("layered", "8-8-4-2-1", {**params, "method": "exact"}) is None
    assert cache.get("circuit", 11, params) is None
    assert [p.name for p in (tmp_path / "baselines").iterdir()] == [path.name]  # no temp files
    assert json.loads(path.read_text())["params"] == params


def test_cache_computes_once(tmp_path):
    cache = BaselineCache(tmp_path)
    runs = []

    def compute():
        runs.append(1)
        return Baseline.from_values([0.3, 0.5], n_empty=0, source="genome")

    first = cache.get_or_compute("threshold", 15, compute, {"n": 2})
    second = cache.get_or_compute("threshold", 15, compute, {"n": 2})
    assert len(runs) == 1 and first.mean == second.mean == pytest.approx(0.4)
    cache.get_or_compute("threshold", 15, compute, {"n": 3})
    assert len(runs) == 2


def test_cache_failed_write_leaves_nothing(tmp_path, monkeypatch):
    cache = BaselineCache(tmp_path)
    base = Baseline.from_values([0.3, 0.5], n_empty=0, source="genome")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        cache.put("layered", 1, base)
    assert list(tmp_path.iterdir()) == []


def test_cache_errors(tmp_path):
    cache = BaselineCache(tmp_path)
    with pytest.raises(ConfigError, match="kind"):
        cache.path("../evil", 1)
    with pytest.raises(ConfigError, match="size_key"):
        cache.path("layered", "a b")
    cache.path("layered", 1).write_text("{not json")
    with pytest.raises(ConfigError, match="baseline cache"):
        cache.get("layered", 1)
    with pytest.raises(ConfigError, match="compute"):
        cache.get_or_compute("circuit", 2, lambda: 0.3)
