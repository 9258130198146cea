"""The compiled spectral kernels and compiled measure path against the numpy
reference they must reproduce exactly (logged Q, module counts, labels and
n-cuts of recorded runs depend on it).

The graphs: best networks of a short circuit run, random circuits, layered
and threshold networks from the models, and hand-made graphs full of exact
ties (rings, complete bipartite graphs, disjoint and chained cliques, ...),
each under directed and undirected Q. A one-ulp change of the modularity
matrix already changes the partition of a good share of them
(test_the_graphs_notice_one_ulp), so a kernel that did any float operation
differently from the reference would fail here.
"""

import math

import networkx as nx
import numpy as np
import pytest

from evomod import config as config_mod
from evomod.evolve import Evolution
from evomod.modularity import _spectral, tracking
from evomod.modularity.graph import network_graph
from evomod.modularity.maximize import maximize_q
from evomod.modularity.q import modularity_matrix

# Without numpy's OpenBLAS (another numpy build) only the reference ever
# runs and there is nothing to compare; with it, the kernels must be in use.
pytestmark = pytest.mark.skipif(
    not _spectral._BOUND, reason="numpy's OpenBLAS symbols not found: the kernels never run"
)

METHODS = ("spectral", "clune")
CIRCUITS = "experiments/kashtan2005/g1g2_alternating.toml"
LAYERED = "experiments/clune2013/pcc.toml"
THRESHOLD = "experiments/kashtan2005/retina_fixed.toml"


# ---------------------------------------------------------------- graphs


def evolved_circuits():
    """Every best network logged by a short run of the MVG circuit config
    (population 300, 1,500 generations, logged every 5; under a second)."""
    data = config_mod.read_toml(CIRCUITS)
    data.update(population=300, stop_when="never", log_modularity_every=5)
    data.setdefault("selection", {})["elite"] = 90
    cfg = config_mod.from_dict(data, seed=3)
    seen = {}

    def record(network):
        seen[repr(network)] = network
        return {"q": 0.0, "modules": 0, "ncut": 0.0}

    evolution = Evolution(cfg, measure=record)
    state = evolution.initial_state()
    evolution.run(state, 1500)
    return list(seen.values())


def random_networks(path, count, seed):
    """``count`` networks of a config's random initial population."""
    evolution = Evolution(config_mod.load(path, seed=seed), measure=None)
    genomes = evolution.initial_state().genomes
    return [evolution.parts.model.to_json(genomes, i) for i in range(count)]


def as_circuit(adjacency):
    """A gate-format network with the edges of ``adjacency`` (a[i, j] = k: k
    entries i -> j) and every node an output, so that pruning keeps all
    nodes with an edge."""
    a = np.asarray(adjacency, dtype=int)
    n = len(a)
    fed = a.sum(axis=0) > 0
    return {
        "kind": "circuit",
        "inputs": [i for i in range(n) if not fed[i]],
        "gates": [{"id": j, "in": [i for i in range(n) for _ in range(a[i, j])]} for j in range(n) if fed[j]],
        "outputs": list(range(n)),
    }


def symmetric_graphs():
    """Undirected graphs (each edge once, i -> j with i < j) with many exact ties."""
    graphs = []

    def from_nx(g):
        a = nx.to_numpy_array(g, nodelist=sorted(g))
        return np.triu(a, 1)

    for n in range(3, 13):
        graphs.append(from_nx(nx.cycle_graph(n)))
        graphs.append(from_nx(nx.path_graph(n)))
        graphs.append(from_nx(nx.star_graph(n - 1)))
    for p in range(1, 5):
        for r in range(p, 6):
            graphs.append(from_nx(nx.complete_bipartite_graph(p, r)))
    for k in range(2, 5):
        for s in range(2, 6):
            graphs.append(from_nx(nx.disjoint_union_all([nx.complete_graph(s)] * k)))
            graphs.append(from_nx(nx.ring_of_cliques(k, s)))
    for n in range(2, 8):
        graphs.append(from_nx(nx.complete_graph(n)))
    graphs.append(from_nx(nx.hypercube_graph(3)))
    graphs.append(from_nx(nx.hypercube_graph(4)))
    graphs.append(from_nx(nx.petersen_graph()))
    graphs.append(from_nx(nx.grid_2d_graph(3, 4)))
    graphs.append(from_nx(nx.grid_2d_graph(4, 4)))
    graphs.append(from_nx(nx.karate_club_graph()))
    with_isolated = np.zeros((8, 8))
    with_isolated[0, 1] = with_isolated[2, 3] = with_isolated[4, 5] = 1.0
    graphs.append(with_isolated)
    return graphs


def directed_graphs():
    """Directed cycles, orientations of bipartite graphs, random digraphs
    (some weighted, some with non-integer weights, a few self-loops)."""
    rng = np.random.default_rng(11)
    graphs = []
    for n in range(3, 11):
        c = np.zeros((n, n))
        c[np.arange(n), (np.arange(n) + 1) % n] = 1.0
        graphs.append(c)
    for p in range(2, 5):
        a = np.zeros((2 * p, 2 * p))
        a[:p, p:] = 1.0
        graphs.append(a)
    for t in range(90):
        n = int(rng.integers(2, 26))
        a = (rng.random((n, n)) < rng.uniform(0.08, 0.4)).astype(float)
        if t % 3 == 0:
            a *= rng.integers(1, 4, (n, n))
        elif t % 3 == 1:
            a *= rng.choice([0.5, 1.25, 3.0], (n, n))
        if t % 5:
            np.fill_diagonal(a, 0.0)
        graphs.append(a)
    return graphs


@pytest.fixture(scope="module")
def networks():
    return (
        evolved_circuits()
        + random_networks(CIRCUITS, 60, seed=5)
        + random_networks(LAYERED, 60, seed=6)
        + random_networks(THRESHOLD, 60, seed=7)
        + [as_circuit(g) for g in symmetric_graphs()]
    )


@pytest.fixture(scope="module")
def adjacencies():
    return symmetric_graphs() + directed_graphs()


# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def kernels_in_use():
    # Otherwise every comparison below would be the reference against itself.
    assert _spectral.use_compiled(), "numpy's OpenBLAS is there, but the kernels failed their self-check"


def same_float(x, y):
    return (math.isnan(x) and math.isnan(y)) or x == y


def reference_maximize(a, directed, method):
    with _spectral.reference_implementation():
        return maximize_q(a, directed=directed, method=method)


def networkx_q(a, labels, directed):
    """networkx's modularity of a partition of A (directed) or A + A.T."""
    g = nx.from_numpy_array(a, create_using=nx.DiGraph) if directed else nx.from_numpy_array(a + a.T)
    modules = [set(np.flatnonzero(labels == c).tolist()) for c in range(int(labels.max()) + 1)]
    return nx.community.modularity(g, modules)


# ---------------------------------------------------------------- tests


def test_the_graph_sets_are_as_intended(networks, adjacencies):
    assert len(networks) >= 300
    assert len(adjacencies) >= 180
    sizes = [network_graph(net, directed=True).n_nodes for net in networks]
    assert max(sizes) >= 20 and np.median(sizes) >= 10


@pytest.mark.parametrize("directed", [True, False])
def test_measure_network_matches_the_reference(networks, directed):
    compared = 0
    for net in networks:
        for method in METHODS:
            with _spectral.reference_implementation():
                expected = tracking.measure_network(net, directed, method)
            got = tracking.measure_network(net, directed, method)
            assert got.keys() == expected.keys()
            assert got["q"] == expected["q"], (net, method)
            assert got["modules"] == expected["modules"], (net, method)
            assert same_float(got["ncut"], expected["ncut"]), (net, method)
            compared += 1
    assert compared == 2 * len(networks)


@pytest.mark.parametrize("directed", [True, False])
def test_measured_labels_are_the_references_and_q_is_networkx(networks, directed):
    for net in networks:
        plain = network_graph(net, directed=True, prune=True).adjacency
        for method in METHODS:
            found = tracking.measure_compiled(net, directed, method)
            if not plain.any():
                assert found is None
                continue
            q, labels, n_modules, _ = found
            expected = reference_maximize(plain if directed else plain + plain.T, directed, method)
            assert np.array_equal(labels, expected.labels)
            assert n_modules == expected.n_modules
            assert q == expected.q
            assert q == pytest.approx(networkx_q(plain, labels, directed), abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("directed", [True, False])
def test_maximize_q_matches_the_reference(adjacencies, directed, method):
    for a in adjacencies:
        got = maximize_q(a, directed=directed, method=method)
        expected = reference_maximize(a, directed, method)
        assert np.array_equal(got.labels, expected.labels), a
        assert got.n_modules == expected.n_modules
        assert got.q == expected.q
        if not np.any(np.diag(a)) and a.any():
            # networkx counts a loop's weight once more than evomod does
            assert got.q == pytest.approx(networkx_q(a, got.labels, directed), abs=1e-12)


def test_bisect_and_refine_match_the_reference_directly(adjacencies):
    """The entry points _exact also uses: any norm and min_gain."""
    for a in adjacencies[::3]:
        live = np.flatnonzero(a.any(axis=0) | a.any(axis=1))
        if len(live) == 0:
            continue
        b, norm = modularity_matrix(a[np.ix_(live, live)], False)
        for norm_used, min_gain in ((norm, _spectral.EPS), (1.0, 1e-6), (norm, 1e-3)):
            for with_kl in (True, False):
                expected = _spectral.bisect_reference(b, norm_used, with_kl, min_gain)
                assert np.array_equal(_spectral.bisect(b, norm_used, with_kl, min_gain), expected)
                assert np.array_equal(_spectral.refine(b, expected), _spectral.refine_reference(b, expected))
        # any labels, not only bisect's
        labels = np.arange(len(b)) % 3 - 7
        assert np.array_equal(_spectral.refine(b, labels), _spectral.refine_reference(b, labels))


def test_the_graphs_notice_one_ulp(networks):
    """Moving entries of B by one unit in the last place changes the partition
    of many of these graphs: the equality tests above would catch a kernel
    that sums in another order or breaks ties otherwise."""
    rng = np.random.default_rng(0)
    changed = 0
    for net in networks[:150]:
        a = network_graph(net, directed=True).adjacency
        if not a.any():
            continue
        b, norm = modularity_matrix(a + a.T, False)
        nudged = b.copy()
        up = np.triu(rng.random(b.shape) < 0.3)
        nudged[up] = np.nextafter(nudged[up], rng.choice([-np.inf, np.inf], int(up.sum())))
        nudged = np.triu(nudged) + np.triu(nudged, 1).T
        before = _spectral.refine(b, _spectral.bisect(b, norm, True, _spectral.EPS))
        after = _spectral.refine(nudged, _spectral.bisect(nudged, norm, True, _spectral.EPS))
        changed += not np.array_equal(before, after)
    assert changed >= 5


def test_other_layouts_take_the_reference():
    """The reference's sums follow memory order; for a Fortran-ordered B the
    kernels would not reproduce them, so the reference runs."""
    a = np.triu(nx.to_numpy_array(nx.ring_of_cliques(4, 4)), 1)
    b, norm = modularity_matrix(a, False)
    f = np.asfortranarray(b)
    assert not f.flags.c_contiguous
    assert np.array_equal(
        _spectral.bisect(f, norm, True, _spectral.EPS),
        _spectral.bisect_reference(f, norm, True, _spectral.EPS),
    )


def test_reference_implementation_switch():
    assert _spectral.use_compiled()
    with _spectral.reference_implementation():
        assert not _spectral.use_compiled()
        with _spectral.reference_implementation():
            assert not _spectral.use_compiled()
        assert not _spectral.use_compiled()
    assert _spectral.use_compiled()


def test_self_check_refuses_a_kernel_that_differs(monkeypatch):
    probe = _spectral._probe

    def off_by_one_ulp(m, s, member, k):
        mv, *rest = probe(m, s, member, k)
        return (np.nextafter(mv, np.inf), *rest)

    assert _spectral._self_check()
    monkeypatch.setattr(_spectral, "_probe", off_by_one_ulp)
    assert not _spectral._self_check()


def test_empty_networks_measure_as_the_reference():
    net = as_circuit(np.zeros((4, 4)))
    net["gates"] = [{"id": 9, "in": [0]}]
    net["outputs"] = [1]  # gate 9 reaches no output: nothing is left
    for method in METHODS:
        with _spectral.reference_implementation():
            expected = tracking.measure_network(net, False, method)
        got = tracking.measure_network(net, False, method)
        assert got["q"] == expected["q"] == 0.0 and got["modules"] == expected["modules"] == 0
        assert math.isnan(got["ncut"]) and math.isnan(expected["ncut"])
