"""Maximising Q: exact against igraph and brute force, spectral and Clune's
procedure against literature values, igraph and their defining properties."""

import warnings

import networkx as nx
import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.modularity import _exact, maximize_q, q

try:
    import igraph
except ImportError:  # only the tests compared with igraph need it
    igraph = None

# Per test, not per module: the brute-force, literature and property tests
# here need no igraph and must run without it.
needs_igraph = pytest.mark.skipif(igraph is None, reason="igraph is not installed")


def random_graph(rng, n, density, weighted):
    a = (rng.random((n, n)) < density).astype(float)
    if weighted:
        a *= rng.integers(1, 4, (n, n))
    np.fill_diagonal(a, 0.0)
    return a


def igraph_optimum(a):
    """igraph's exact (GLPK) optimum for the undirected graph A + A.T."""
    w = a + a.T
    g = igraph.Graph.Weighted_Adjacency(np.triu(w).tolist(), mode="upper")
    return g.community_optimal_modularity(weights="weight").modularity


def set_partitions(n):
    """Every partition of n nodes as restricted growth strings (Bell(n) rows)."""
    out = []
    labels = [0] * n

    def grow(i, used):
        if i == n:
            out.append(list(labels))
            return
        for v in range(used + 1):
            labels[i] = v
            grow(i + 1, used + (v == used))

    grow(1, 1)
    return np.array(out)


def brute_force_max(a, directed):
    """Textbook Q (no symmetrisation) of every partition; the best value."""
    if directed:
        m = a.sum()
        b = (a - np.outer(a.sum(1), a.sum(0)) / m) / m
    else:
        w = a + a.T
        k = w.sum(1)
        b = (w - np.outer(k, k) / w.sum()) / w.sum()
    parts = set_partitions(len(a))
    same = parts[:, :, None] == parts[:, None, :]
    return float(np.max(np.einsum("pij,ij->p", same, b)))


def assert_is_partition_value(a, result, directed):
    # The reported Q must be the Q of the labels reported.
    assert result.q == pytest.approx(q(a, result.labels, directed=directed), abs=1e-12)


# ---------------------------------------------------------------- exact


@needs_igraph
@pytest.mark.parametrize("seed", range(12))
def test_exact_matches_igraph_optimum(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 19))
    a = random_graph(rng, n, rng.uniform(0.08, 0.35), weighted=seed % 2 == 0)
    if not a.any():
        pytest.skip("empty draw")
    res = maximize_q(a, directed=False, method="exact")
    assert res.method == "exact"
    assert res.q == pytest.approx(igraph_optimum(a), abs=1e-9)
    assert_is_partition_value(a, res, directed=False)


@needs_igraph
@pytest.mark.parametrize("path", ["dp", "column_generation", "clique_partitioning"])
def test_every_exact_solver_path_matches_igraph(monkeypatch, path):
    # Force one solver for every component size so each is checked on its own.
    if path != "dp":
        monkeypatch.setattr(_exact, "DP_MAX_NODES", 0)
    if path == "clique_partitioning":
        monkeypatch.setattr(_exact, "CG_MAX_NODES", 0)
    rng = np.random.default_rng(42)
    for _ in range(6):
        a = random_graph(rng, int(rng.integers(8, 15)), 0.25, weighted=True)
        assert maximize_q(a, directed=False, method="exact").q == pytest.approx(igraph_optimum(a), abs=1e-9)


def sparse_layered(rng, sizes=(8, 8, 4, 2, 1), n_edges=40):
    """A random feed-forward graph between consecutive layers, kept only
    where it reaches the output (like a pruned evolved network)."""
    layer = np.repeat(np.arange(len(sizes)), sizes)
    pairs = np.argwhere(layer[None, :] == layer[:, None] + 1)
    a = np.zeros((len(layer), len(layer)))
    chosen = pairs[rng.choice(len(pairs), n_edges, replace=False)]
    a[chosen[:, 0], chosen[:, 1]] = 1.0
    live = np.zeros(len(layer), dtype=bool)
    live[-1] = True
    for _ in sizes:
        live |= (a[:, live] > 0).any(axis=1)
    a = a[np.ix_(live, live)]
    keep = (a.sum(0) + a.sum(1)) > 0
    return a[np.ix_(keep, keep)]


def keep_incumbent(f, masks, n, best, value):
    return best, value


@needs_igraph
def test_column_generation_gap_path(monkeypatch):
    # Sparse layered graphs often have fractional master LPs. With the cheap
    # restricted integer program disabled, the optimum must come from the
    # enumeration of every module inside the LP gap.
    monkeypatch.setattr(_exact, "DP_MAX_NODES", 0)
    monkeypatch.setattr(_exact, "_improve_incumbent", keep_incumbent)
    used = []
    original = _exact._columns_above
    monkeypatch.setattr(_exact, "_columns_above", lambda *args: used.append(1) or original(*args))
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 6:
        a = sparse_layered(rng)
        if len(a) < 12:
            continue
        checked += 1
        assert maximize_q(a, directed=False, method="exact").q == pytest.approx(igraph_optimum(a), abs=1e-9)
    assert used, "the gap enumeration was never exercised"


@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_exact_matches_brute_force(directed, seed):
    rng = np.random.default_rng(1000 + seed)
    a = random_graph(rng, 8, 0.3, weighted=seed % 2 == 1)
    if seed % 3 == 0:
        a[3, 3] = 2.0  # a self-loop must not upset leaf merging
    if not a.any():
        pytest.skip("empty draw")
    res = maximize_q(a, directed=directed, method="exact")
    assert res.q == pytest.approx(brute_force_max(a, directed), abs=1e-12)
    assert_is_partition_value(a, res, directed)


@pytest.mark.parametrize("directed", [True, False])
def test_leaf_with_heavy_self_loop_stays_apart(directed):
    # Node 6 hangs off node 0 but carries a heavy self-loop: merging it with
    # its neighbour's module would lower Q, so it must not be merged blindly.
    a = np.zeros((7, 7))
    for i, j in [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3), (0, 6)]:
        a[i, j] = 1.0
    a[6, 6] = 10.0
    res = maximize_q(a, directed=directed, method="exact")
    assert res.q == pytest.approx(brute_force_max(a, directed), abs=1e-12)
    assert np.sum(res.labels == res.labels[6]) == 1


def test_exact_with_non_integer_weights():
    rng = np.random.default_rng(3)
    a = random_graph(rng, 8, 0.4, weighted=False) * rng.random((8, 8))
    assert maximize_q(a, directed=True, method="exact").q == pytest.approx(
        brute_force_max(a, True), abs=1e-10
    )


def test_directed_leaves_and_chains():
    # A directed path: every inner node has two neighbours, the ends are leaves.
    a = np.diag(np.ones(7), k=1)
    assert maximize_q(a, directed=True, method="exact").q == pytest.approx(
        brute_force_max(a, True), abs=1e-12
    )


def test_karate_club_exact():
    a = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    res = maximize_q(a, directed=False, method="exact")
    assert round(res.q, 4) == 0.4198
    assert res.n_modules == 4


def test_karate_club_spectral_and_auto():
    a = nx.to_numpy_array(nx.karate_club_graph(), weight=None)
    res = maximize_q(a, directed=False, method="auto")
    assert res.method == "spectral"  # 34 nodes > 20
    assert res.q >= 0.41
    assert_is_partition_value(a, res, directed=False)


@needs_igraph
def test_karate_club_clune_is_unrefined_leading_eigenvector():
    # Newman (2006) reports Q = 0.393 for the unrefined method on this graph.
    g = nx.karate_club_graph()
    a = nx.to_numpy_array(g, weight=None)
    res = maximize_q(a, directed=False, method="clune")
    reference = igraph.Graph.from_networkx(g).community_leading_eigenvector()
    assert round(res.q, 3) == 0.393
    assert res.q == pytest.approx(reference.modularity, abs=1e-9)


@pytest.mark.parametrize("method", ["exact", "spectral", "clune", "auto"])
@pytest.mark.parametrize("directed", [True, False])
def test_two_disconnected_cliques(method, directed):
    a = np.zeros((10, 10))
    a[:5, :5] = 1
    a[5:, 5:] = 1
    np.fill_diagonal(a, 0)
    res = maximize_q(a, directed=directed, method=method)
    assert res.q == pytest.approx(0.5)
    assert res.labels.tolist() == [0] * 5 + [1] * 5
    assert res.n_modules == 2


@pytest.mark.parametrize("method", ["exact", "spectral", "clune"])
def test_edgeless_graph(method):
    res = maximize_q(np.zeros((4, 4)), method=method)
    assert res.q == 0.0
    assert res.labels.tolist() == [0, 1, 2, 3]
    assert res.n_modules == 4
    empty = maximize_q(np.zeros((0, 0)), method=method)
    assert empty.q == 0.0 and empty.n_modules == 0


def test_single_edge_is_one_module():
    # Undirected: together Q = 0, apart Q = -1/2.
    res = maximize_q(np.array([[0, 1.0], [0, 0]]), directed=False, method="exact")
    assert res.q == pytest.approx(0.0, abs=1e-15)
    assert res.labels.tolist() == [0, 0]
    # Directed, both partitions have Q = 0 (k_out of 1 and k_in of 0 vanish).
    assert maximize_q(np.array([[0, 1.0], [0, 0]]), method="exact").q == pytest.approx(0.0)


def test_isolated_nodes_are_singletons_and_auto_ignores_them():
    rng = np.random.default_rng(9)
    core = random_graph(rng, 20, 0.2, weighted=False)
    a = np.zeros((26, 26))
    a[3:23, 3:23] = core
    res = maximize_q(a, method="auto")
    assert res.method == "exact"  # 20 live nodes
    isolated = [0, 1, 2, 23, 24, 25]
    others = set(res.labels[3:23].tolist())
    for i in isolated:
        assert np.sum(res.labels == res.labels[i]) == 1
        assert res.labels[i] not in others
    bigger = np.zeros((21, 21))
    bigger[:, :] = random_graph(rng, 21, 0.3, weighted=False)
    assert maximize_q(bigger, method="auto").method == "spectral"


def test_labels_are_canonical_and_read_only():
    rng = np.random.default_rng(4)
    a = random_graph(rng, 15, 0.2, weighted=False)
    res = maximize_q(a, method="spectral")
    first_seen = list(dict.fromkeys(res.labels.tolist()))
    assert first_seen == list(range(res.n_modules))
    with pytest.raises(ValueError):
        res.labels[0] = 5
    with pytest.raises(AttributeError):
        res.q = 1.0


def test_bad_arguments():
    with pytest.raises(ConfigError, match="method"):
        maximize_q(np.zeros((2, 2)), method="louvain")
    with pytest.raises(ConfigError, match="negative"):
        maximize_q(-np.ones((2, 2)))
    with pytest.raises(ConfigError, match="seed"):
        maximize_q(np.zeros((2, 2)), seed=-1)


# ---------------------------------------------------------------- spectral


def best_single_move_gain(a, labels, directed):
    """Largest Q gain of moving one node to another module or a new one."""
    base = q(a, labels, directed=directed)
    best = -np.inf
    fresh = labels.max() + 1
    for i in range(len(a)):
        for target in set(labels.tolist()) | {fresh}:
            if target == labels[i]:
                continue
            moved = labels.copy()
            moved[i] = target
            best = max(best, q(a, moved, directed=directed) - base)
    return best


@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_spectral_is_a_local_optimum_below_the_exact_one(directed, seed):
    rng = np.random.default_rng(200 + seed)
    a = random_graph(rng, int(rng.integers(10, 18)), 0.2, weighted=seed % 2 == 0)
    res = maximize_q(a, directed=directed, method="spectral")
    assert res.method == "spectral"
    assert_is_partition_value(a, res, directed)
    assert best_single_move_gain(a, res.labels, directed) <= 1e-12
    assert res.q <= maximize_q(a, directed=directed, method="exact").q + 1e-12


def test_spectral_recovers_planted_modules():
    rng = np.random.default_rng(11)
    sizes = [8, 8, 8, 8]
    truth = np.repeat(np.arange(4), sizes)
    p = np.where(truth[:, None] == truth[None, :], 0.8, 0.03)
    a = np.triu(rng.random((32, 32)) < p, 1).astype(float)
    res = maximize_q(a, directed=False, method="spectral")
    assert res.labels.tolist() == truth.tolist()


# ---------------------------------------------------------------- clune


def connected_random(rng, n, density):
    while True:
        a = np.triu(rng.random((n, n)) < density, 1).astype(float)
        if nx.is_connected(nx.from_numpy_array(a + a.T)):
            return a


@needs_igraph
@pytest.mark.parametrize("seed", range(10))
def test_clune_matches_igraph_leading_eigenvector(seed):
    # igraph implements Newman's unrefined method; on connected graphs it
    # agrees with ours (its handling of isolated nodes and disconnected
    # graphs differs, so those are not compared).
    rng = np.random.default_rng(300 + seed)
    while True:
        a = connected_random(rng, int(rng.integers(10, 26)), rng.uniform(0.15, 0.35))
        g = igraph.Graph.Adjacency((a + a.T).astype(int).tolist(), mode="undirected")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reference = g.community_leading_eigenvector()
            break
        except igraph.InternalError:
            continue  # igraph's ARPACK sometimes fails to converge
    res = maximize_q(a, directed=False, method="clune")
    assert res.q == pytest.approx(reference.modularity, abs=1e-9)


@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_clune_modules_are_indivisible(directed, seed):
    # Clune's stopping rule: splitting any final module by the sign of its
    # leading eigenvector (Leicht-Newman B + B^T) gains at most 1e-5.
    rng = np.random.default_rng(400 + seed)
    a = random_graph(rng, 16, 0.2, weighted=False)
    res = maximize_q(a, directed=directed, method="clune")
    if directed:
        m = a.sum()
        b = a - np.outer(a.sum(1), a.sum(0)) / m
        b = b + b.T
    else:
        w = a + a.T
        b = w - np.outer(w.sum(1), w.sum(1)) / w.sum()
    base = q(a, res.labels, directed=directed)
    for c in range(res.n_modules):
        group = np.flatnonzero(res.labels == c)
        if len(group) < 2:
            continue
        bg = b[np.ix_(group, group)]
        bg = bg - np.diag(bg.sum(1))
        vec = np.linalg.eigh(bg)[1][:, -1]
        split = res.labels.copy()
        split[group[vec > 0]] = res.n_modules
        assert q(a, split, directed=directed) - base <= 1e-5 + 1e-12


@needs_igraph
def test_too_many_gap_columns_falls_back_to_clique_partitioning(monkeypatch):
    monkeypatch.setattr(_exact, "DP_MAX_NODES", 0)
    monkeypatch.setattr(_exact, "MAX_GAP_COLUMNS", 0)
    monkeypatch.setattr(_exact, "_improve_incumbent", keep_incumbent)
    # A singleton incumbent guarantees a gap, so the enumeration is needed.
    monkeypatch.setattr(_exact, "refine", lambda b, labels: np.arange(len(b)))
    fallback = []
    original = _exact._clique_partitioning
    monkeypatch.setattr(_exact, "_clique_partitioning", lambda b: fallback.append(1) or original(b))
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 3:
        a = sparse_layered(rng)
        if 12 <= len(a) <= 15:
            checked += 1
            assert maximize_q(a, directed=False, method="exact").q == pytest.approx(
                igraph_optimum(a), abs=1e-9
            )
    assert fallback, "the fallback was never exercised"
