"""Normalised cut, spectral clustering and Filan et al.'s clusterability test."""

import networkx as nx
import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.modularity import clusterability, ncut, network_graph, spectral_partition
from evomod.modularity.cut import _shuffle

SIZES = [8, 8, 4, 2, 1]


def layered_nodes():
    layer = np.repeat(np.arange(len(SIZES)), SIZES)
    nodes = [{"id": int(i), "layer": int(l), "bias": 0, "x": 0.0, "y": 0.0} for i, l in enumerate(layer)]
    return nodes, layer


def modular_network(rng):
    """Left and right halves that only meet at the output node."""
    nodes, layer = layered_nodes()
    ids = [np.flatnonzero(layer == l) for l in range(len(SIZES))]
    edges = []

    def w():
        return int(rng.choice([-2, -1, 1, 2]))

    for half in (0, 1):
        inputs = ids[0][4 * half : 4 * half + 4]
        h1 = ids[1][4 * half : 4 * half + 4]
        h2 = ids[2][2 * half : 2 * half + 2]
        h3 = ids[3][half]
        for i in inputs:
            edges += [[int(i), int(j), w()] for j in rng.choice(h1, 3, replace=False)]
        edges += [[int(i), int(j), w()] for i in h1 for j in h2]
        edges += [[int(i), int(h3), w()] for i in h2]
        edges.append([int(h3), int(ids[4][0]), 1])
    return {"kind": "layered", "layers": SIZES, "nodes": nodes, "edges": edges}


def random_network(rng, n_edges):
    nodes, layer = layered_nodes()
    pairs = np.argwhere(layer[None, :] == layer[:, None] + 1)
    chosen = pairs[rng.choice(len(pairs), n_edges, replace=False)]
    edges = [[int(a), int(b), int(rng.choice([-2, -1, 1, 2]))] for a, b in chosen]
    return {"kind": "layered", "layers": SIZES, "nodes": nodes, "edges": edges}


def two_cliques(size=5, bridge=0.1):
    a = np.zeros((2 * size, 2 * size))
    a[:size, :size] = 1
    a[size:, size:] = 1
    np.fill_diagonal(a, 0)
    a[size - 1, size] = a[size, size - 1] = bridge
    return a


# ---------------------------------------------------------------- ncut


@pytest.mark.parametrize("seed", range(6))
def test_ncut_matches_networkx_for_two_sets(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 20))
    a = rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.35)  # signed: |w| is used
    if seed % 2:
        a[2, 2] = -0.7  # a self-loop: one undirected loop of weight |w|
    labels = rng.integers(0, 2, n)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    w = np.abs(a) + np.abs(a).T
    for i in range(n):
        for j in range(i, n):
            weight = abs(a[i, i]) if i == j else w[i, j]
            if weight:
                g.add_edge(i, j, weight=weight)
    side = set(np.flatnonzero(labels == 0).tolist())
    if not side or len(side) == n:
        pytest.skip("one-sided draw")
    assert ncut(a, labels) == pytest.approx(nx.normalized_cut_size(g, side, weight="weight"))


def test_ncut_with_many_modules_by_hand():
    # Path 0-1-2-3-4-5 cut into {0,1}, {2,3}, {4,5}: cuts 1, 2, 1 over
    # volumes 3, 4, 3.
    a = np.diag(np.ones(5), k=1)
    assert ncut(a, [0, 0, 1, 1, 2, 2]) == pytest.approx(1 / 3 + 2 / 4 + 1 / 3)
    assert ncut(a, [0] * 6) == 0.0
    # Every node alone: each cut equals its volume, so n-cut = number of nodes.
    assert ncut(a, range(6)) == pytest.approx(6.0)


def test_ncut_errors():
    with pytest.raises(ConfigError, match="has no edges"):
        ncut(np.zeros((3, 3)), [0, 1, 0])
    with pytest.raises(ConfigError, match="labels"):
        ncut(np.ones((3, 3)), [0, 1])


# ---------------------------------------------------------------- spectral partition


def same_partition(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return all(len(set(b[a == c])) == 1 for c in set(a)) and len(set(a)) == len(set(b))


def test_spectral_partition_recovers_two_planted_modules():
    labels = spectral_partition(two_cliques(), 2, seed=0)
    assert same_partition(labels, [0] * 5 + [1] * 5)


def test_spectral_partition_recovers_three_planted_modules():
    rng = np.random.default_rng(2)
    truth = np.repeat([0, 1, 2], [6, 7, 5])
    p = np.where(truth[:, None] == truth[None, :], 0.9, 0.04)
    a = np.triu(rng.random((18, 18)) < p, 1) * rng.uniform(0.5, 2.0, (18, 18))
    assert same_partition(spectral_partition(a, 3, seed=1), truth)


def test_spectral_partition_is_deterministic_for_a_seed():
    rng = np.random.default_rng(3)
    a = rng.random((20, 20)) * (rng.random((20, 20)) < 0.4)
    np.fill_diagonal(a, 1.0)  # no isolated nodes
    assert np.array_equal(spectral_partition(a, 4, seed=5), spectral_partition(a, 4, seed=5))


def test_spectral_partition_uses_the_random_walk_fiedler_vector():
    # For k = 2 on a path the random-walk Fiedler vector is monotone along
    # the path, so the two clusters are its two halves.
    a = np.diag(np.ones(9), k=1)
    assert same_partition(spectral_partition(a, 2, seed=0), [0] * 5 + [1] * 5)


def test_spectral_partition_errors():
    with pytest.raises(ConfigError, match="isolated"):
        spectral_partition(np.zeros((3, 3)), 2)
    with pytest.raises(ConfigError, match="k"):
        spectral_partition(two_cliques(), 11)
    with pytest.raises(ConfigError, match="k"):
        spectral_partition(two_cliques(), 0)


# ---------------------------------------------------------------- shuffles


def test_layer_null_shuffles_every_entry_within_each_block():
    net = random_network(np.random.default_rng(4), 40)
    graph = network_graph(net, directed=False, weighted=True, prune="isolated")
    w = graph.adjacency
    shuffled = _shuffle(w, graph.blocks, "layer", np.random.default_rng(0))
    assert np.array_equal(shuffled, shuffled.T)
    changed = False
    for rows, cols in graph.blocks:
        before, after = w[rows, cols], shuffled[rows, cols]
        assert sorted(before) == sorted(after)
        changed |= not np.array_equal(before != 0, after != 0)
    assert changed  # zeros move too: the topology changes
    # Cells outside every block (same layer, or layers further apart) stay zero.
    inside = np.zeros_like(w, dtype=bool)
    for rows, cols in graph.blocks:
        inside[rows, cols] = inside[cols, rows] = True
    assert not shuffled[~inside].any()


def test_nonzero_null_keeps_topology():
    net = random_network(np.random.default_rng(5), 40)
    graph = network_graph(net, directed=False, weighted=True, prune="isolated")
    w = graph.adjacency
    shuffled = _shuffle(w, graph.blocks, "nonzero", np.random.default_rng(1))
    assert np.array_equal(shuffled != 0, w != 0)
    for rows, cols in graph.blocks:
        assert sorted(w[rows, cols]) == sorted(shuffled[rows, cols])
    assert not np.array_equal(shuffled, w)


# ---------------------------------------------------------------- clusterability


def test_modular_network_is_significantly_clusterable():
    res = clusterability(modular_network(np.random.default_rng(0)), 2, n_shuffles=50, seed=1)
    assert res.p == pytest.approx(1 / 51)  # lower than every shuffle
    assert res.z < -3
    assert res.ncut < res.shuffled.min()
    assert len(res.shuffled) == 50


def test_random_networks_are_not():
    ps = [
        clusterability(random_network(np.random.default_rng(s), 46), 2, n_shuffles=30, seed=s).p
        for s in range(6)
    ]
    assert np.median(ps) > 0.2


def test_p_and_z_follow_their_definitions():
    res = clusterability(random_network(np.random.default_rng(8), 40), 2, n_shuffles=20, null="layer", seed=3)
    r = np.sum(res.shuffled <= res.ncut)
    assert res.p == pytest.approx((r + 1) / 21)
    assert res.z == pytest.approx((res.ncut - res.shuffled.mean()) / res.shuffled.std(ddof=1))


def test_identical_shuffles_are_ties_not_successes():
    # Unweighted network, "nonzero" null: every shuffle is the network itself,
    # so all 10 n-cuts tie with the real one and p = (10 + 1)/(10 + 1).
    net = random_network(np.random.default_rng(9), 40)
    for edge in net["edges"]:
        edge[2] = 1
    res = clusterability(net, 2, n_shuffles=10, null="nonzero", seed=0)
    assert np.allclose(res.shuffled, res.ncut)
    assert res.p == 1.0
    assert np.isnan(res.z)


def test_plain_adjacency_is_one_block_and_drops_isolated_nodes():
    a = np.zeros((12, 12))
    a[:10, :10] = two_cliques()
    res = clusterability(a, 2, n_shuffles=20, seed=0)
    assert len(res.labels) == 10  # the two isolated nodes are gone
    assert res.ncut == pytest.approx(ncut(two_cliques(), [0] * 5 + [1] * 5))
    assert res.p == pytest.approx(1 / 21)


def test_clusterability_is_deterministic_for_a_seed():
    net = random_network(np.random.default_rng(10), 40)
    one = clusterability(net, 2, n_shuffles=10, seed=4)
    two = clusterability(net, 2, n_shuffles=10, seed=4)
    assert np.array_equal(one.shuffled, two.shuffled) and one.p == two.p


def test_clusterability_errors():
    nodes, _ = layered_nodes()
    empty = {"kind": "layered", "layers": SIZES, "nodes": nodes, "edges": []}
    with pytest.raises(ConfigError, match="network: has no edges"):
        clusterability(empty, 2)
    with pytest.raises(ConfigError, match="null"):
        clusterability(two_cliques(), 2, null="all")
    with pytest.raises(ConfigError, match="k"):
        clusterability(two_cliques(), 1)
    with pytest.raises(ConfigError, match="k"):
        clusterability(two_cliques(), 11)
    with pytest.raises(ConfigError, match="n_shuffles"):
        clusterability(two_cliques(), 2, n_shuffles=0)


# A shuffle of an evolved circuit's graph (edge weight 2 each) that falls
# into two components, nodes 1 and 12 alone: LAPACK's subset eigensolver
# fails to converge on the repeated eigenvalue 0 this gives.
TWO_COMPONENT_NEIGHBOURS = [
    [6, 10, 11],
    [12],
    [4, 13, 14],
    [5, 8, 10],
    [2, 9, 10, 15, 17],
    [3, 8, 16],
    [0, 13],
    [10, 14, 15],
    [3, 5],
    [4, 11, 17],
    [0, 3, 4, 7, 11, 15, 16],
    [0, 9, 10, 13, 15],
    [1],
    [2, 6, 11, 16],
    [2, 7],
    [4, 7, 10, 11],
    [5, 10, 13],
    [4, 9],
]


def test_spectral_partition_of_a_disconnected_graph_finds_its_components():
    n = len(TWO_COMPONENT_NEIGHBOURS)
    w = np.zeros((n, n))
    for i, neighbours in enumerate(TWO_COMPONENT_NEIGHBOURS):
        w[i, neighbours] = 1.0  # spectral_partition symmetrises: |W| + |W|.T, weight 2
    assert np.array_equal(w, w.T)
    g = nx.from_numpy_array(w)
    assert sorted(map(sorted, nx.connected_components(g)), key=len) == [
        [1, 12],
        sorted(set(range(n)) - {1, 12}),
    ]
    labels = spectral_partition(w, 2, seed=0)
    # The only 2-cut that cuts nothing is the components themselves.
    assert labels[1] == labels[12] and set(labels[[1, 12]]).isdisjoint(np.delete(labels, [1, 12]))
    assert ncut(w, labels) == pytest.approx(0.0, abs=1e-12)
