"""Q of a given partition, checked against networkx and hand-worked values."""

import networkx as nx
import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.modularity import compare_partitions, q


def random_weighted(rng, n, density, loops=False):
    a = rng.random((n, n)) * (rng.random((n, n)) < density) * 3.0
    if not loops:
        np.fill_diagonal(a, 0.0)
    return a


def communities(labels):
    return [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)]


def nx_directed(a):
    g = nx.DiGraph()
    g.add_nodes_from(range(len(a)))
    for i, j in zip(*np.nonzero(a)):
        g.add_edge(int(i), int(j), weight=float(a[i, j]))
    return g


def nx_undirected_from_directed(a):
    # Each directed edge is one undirected edge: i->j and j->i add up.
    g = nx.Graph()
    g.add_nodes_from(range(len(a)))
    w = a + a.T
    for i in range(len(a)):
        for j in range(i, len(a)):
            weight = a[i, i] if i == j else w[i, j]
            if weight:
                g.add_edge(i, j, weight=float(weight))
    return g


@pytest.mark.parametrize("seed", range(8))
def test_directed_q_matches_networkx(seed):
    rng = np.random.default_rng(seed)
    a = random_weighted(rng, int(rng.integers(5, 25)), 0.25, loops=seed % 2 == 0)
    labels = rng.integers(0, 4, len(a))
    expected = nx.community.modularity(nx_directed(a), communities(labels), weight="weight")
    assert q(a, labels, directed=True) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_undirected_q_matches_networkx(seed):
    rng = np.random.default_rng(100 + seed)
    a = random_weighted(rng, int(rng.integers(5, 25)), 0.25, loops=seed % 2 == 0)
    labels = rng.integers(0, 4, len(a))
    g = nx_undirected_from_directed(a)
    expected = nx.community.modularity(g, communities(labels), weight="weight")
    assert q(a, labels, directed=False) == pytest.approx(expected, abs=1e-12)


def test_symmetric_array_read_as_undirected_graph():
    rng = np.random.default_rng(7)
    g = nx.gnp_random_graph(15, 0.3, seed=3)
    for u, v in g.edges:
        g[u][v]["weight"] = float(rng.integers(1, 4))
    a = nx.to_numpy_array(g, weight="weight")
    labels = rng.integers(0, 3, 15)
    expected = nx.community.modularity(g, communities(labels), weight="weight")
    assert q(a, labels, directed=False) == pytest.approx(expected, abs=1e-12)


def test_unweighted_integer_array_matches_networkx_unweighted():
    g = nx.karate_club_graph()
    a = nx.to_numpy_array(g, weight=None)
    labels = np.array([g.nodes[v]["club"] == "Mr. Hi" for v in g], dtype=int)
    expected = nx.community.modularity(g, communities(labels), weight=None)
    assert q(a, labels, directed=False) == pytest.approx(expected, abs=1e-12)


def test_two_triangles_by_hand():
    # Two triangles joined by one edge: m = 7; each side has 3 inner edges
    # and degree sum 7, so Q = 2 * (3/7 - (7/14)^2) = 5/14.
    a = np.zeros((6, 6))
    for i, j in [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]:
        a[i, j] = 1
    assert q(a, [0, 0, 0, 1, 1, 1], directed=False) == pytest.approx(5 / 14)
    # One module holding everything always has Q = 0.
    assert q(a, [0] * 6, directed=False) == pytest.approx(0.0, abs=1e-15)


def test_directed_chain_by_hand():
    # 0->1->2->3: m = 3, k_out = (1,1,1,0), k_in = (0,1,1,1).
    # Modules {0,1}, {2,3}: inner edges 2; sum k_out*k_in per module
    # = 2*1 + 1*2 = 4, so Q = 2/3 - 4/9 = 2/9.
    a = np.diag([1.0, 1.0, 1.0], k=1)
    assert q(a, [0, 0, 1, 1], directed=True) == pytest.approx(2 / 9)


def test_label_values_do_not_matter():
    rng = np.random.default_rng(1)
    a = random_weighted(rng, 12, 0.3)
    labels = rng.integers(0, 3, 12)
    renamed = np.array(["abc"[c] for c in labels])
    assert q(a, renamed) == pytest.approx(q(a, labels), abs=1e-15)
    assert q(a, labels + 10) == pytest.approx(q(a, labels), abs=1e-15)


def test_edgeless_graph_has_zero_q():
    assert q(np.zeros((4, 4)), [0, 1, 0, 1]) == 0.0
    assert q(np.zeros((4, 4)), [0, 1, 0, 1], directed=False) == 0.0
    assert q(np.zeros((0, 0)), []) == 0.0


def test_bad_input_raises_config_error():
    with pytest.raises(ConfigError, match="adjacency"):
        q(np.zeros((3, 4)), [0, 0, 0])
    with pytest.raises(ConfigError, match="negative"):
        q(np.array([[0, -1.0], [0, 0]]), [0, 1])
    with pytest.raises(ConfigError, match="NaN"):
        q(np.array([[0, np.nan], [0, 0]]), [0, 1])
    with pytest.raises(ConfigError, match="labels.*3 entries.*2 nodes"):
        q(np.zeros((2, 2)), [0, 1, 2])
    with pytest.raises(ConfigError, match="labels"):
        q(np.zeros((2, 2)), [[0], [1]])


def adjusted_rand_by_hand(a, b):
    """ARI from its pair-counting definition (Hubert & Arabie 1985)."""
    n = len(a)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    same_a = np.array([a[i] == a[j] for i, j in pairs])
    same_b = np.array([b[i] == b[j] for i, j in pairs])
    index = np.sum(same_a & same_b)
    expected = same_a.sum() * same_b.sum() / len(pairs)
    maximum = (same_a.sum() + same_b.sum()) / 2
    return (index - expected) / (maximum - expected)


def test_compare_partitions():
    a = [0, 0, 0, 1, 1, 1, 2, 2]
    b = [1, 1, 0, 0, 0, 2, 2, 2]
    out = compare_partitions(a, b)
    assert out["ari"] == pytest.approx(adjusted_rand_by_hand(a, b))
    # NMI (arithmetic normalisation) from entropies computed by hand.
    pa = np.bincount(a) / 8
    pb = np.bincount(b) / 8
    joint = np.zeros((3, 3))
    for x, y in zip(a, b):
        joint[x, y] += 1 / 8
    nz = joint > 0
    mi = np.sum(joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz]))
    h = lambda p: -np.sum(p * np.log(p))  # noqa: E731
    assert out["nmi"] == pytest.approx(mi / ((h(pa) + h(pb)) / 2))

    same = compare_partitions(a, [5, 5, 5, 9, 9, 9, 7, 7])
    assert same == {"nmi": pytest.approx(1.0), "ari": pytest.approx(1.0)}
    with pytest.raises(ConfigError, match="labels_b"):
        compare_partitions(a, [0, 1])
