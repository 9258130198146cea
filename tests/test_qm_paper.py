"""Qm as Kashtan & Alon define it: both Q_rand controls, Q_max, and Qm per network."""

import itertools
import json

import networkx as nx
import numpy as np
import pytest

from evomod import config as config_mod
from evomod.baselines import (
    cached_evolved_q_max,
    degree_control,
    evolved_q_max,
    network_adjacency,
    paper_qm,
    pruned_sizes,
    q_of_graph,
    sample_size_matched,
    size_control,
    size_matched_baseline,
)
from evomod.build import build_parts
from evomod.errors import ConfigError
from evomod.models.circuit import CircuitModel
from evomod.modularity import (
    BaselineCache,
    degree_constrained_q_max,
    degree_preserving_baseline,
    maximize_q,
    network_graph,
)
from evomod.modularity._climb import degree_constrained_max
from evomod.modularity._swap import randomize
from evomod.modularity.tracking import measure_network

# -- references ----------------------------------------------------------------------


def set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in set_partitions(rest):
        yield [{first}] + partition
        for k in range(len(partition)):
            yield partition[:k] + [partition[k] | {first}] + partition[k + 1 :]


def brute_q(adjacency):
    """Best undirected Q over every partition (networkx's modularity), for tiny graphs."""
    graph = nx.from_numpy_array(adjacency + adjacency.T)
    return max(
        nx.community.modularity(graph, parts, weight="weight") for parts in set_partitions(list(graph.nodes))
    )


def random_digraph(rng, n=16, density=0.2, reciprocal=True):
    a = (rng.random((n, n)) < density).astype(float)
    np.fill_diagonal(a, 0)
    if not reciprocal:
        a = np.triu(a)
    return a


def circuit(gates, outputs, n_inputs=4):
    return {
        "kind": "circuit",
        "inputs": list(range(n_inputs)),
        "gates": [{"id": n_inputs + g, "in": list(s)} for g, s in enumerate(gates)],
        "outputs": outputs,
    }


TWO_STARS = circuit([(0, 1), (2, 3)], [4, 5])  # 0,1 -> 4 and 2,3 -> 5


# -- degree-preserving shuffles ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_directed_shuffles_keep_in_and_out_degrees(seed):
    rng = np.random.default_rng(seed)
    a = random_digraph(rng)
    g = nx.from_numpy_array(a, create_using=nx.DiGraph)
    for _ in range(5):
        r = randomize(a, True, rng, same_weight=True)
        h = nx.from_numpy_array(r, create_using=nx.DiGraph)
        assert dict(h.in_degree()) == dict(g.in_degree())
        assert dict(h.out_degree()) == dict(g.out_degree())
        assert nx.number_of_selfloops(h) == 0
        assert not np.array_equal(r, a)


@pytest.mark.parametrize("seed", range(5))
def test_undirected_shuffles_keep_degrees(seed):
    rng = np.random.default_rng(10 + seed)
    a = random_digraph(rng)  # reciprocal pairs become weight-2 edges of A + A.T
    g = nx.from_numpy_array(a + a.T)
    for _ in range(5):
        r = randomize(a, False, rng, same_weight=True)
        h = nx.from_numpy_array(r + r.T)
        assert dict(h.degree()) == dict(g.degree())
        assert dict(h.degree(weight="weight")) == dict(g.degree(weight="weight"))
        assert nx.number_of_selfloops(h) == 0
        assert not np.array_equal(r + r.T, a + a.T)


def test_degree_control_is_q_of_those_shuffles():
    a = random_digraph(np.random.default_rng(3), n=12, density=0.25)
    for swaps, directed in [("directed", False), ("directed", True), ("undirected", False)]:
        base = degree_preserving_baseline(
            a, n_samples=6, directed=directed, method="exact", seed=4, swaps=swaps
        )
        rng = np.random.default_rng(4)
        expected = []
        for _ in range(6):
            r = randomize(a, swaps == "directed", rng, same_weight=True)
            expected.append(maximize_q(r if directed else r + r.T, directed=directed, method="exact").q)
        assert np.allclose(base.values, expected)
    with pytest.raises(ConfigError, match="swaps"):
        degree_preserving_baseline(a, n_samples=3, directed=True, swaps="undirected")
    with pytest.raises(ConfigError, match="swaps"):
        degree_preserving_baseline(a, n_samples=3, swaps="sideways")


def test_degree_constrained_search_keeps_degrees():
    rng = np.random.default_rng(5)
    a = random_digraph(rng, n=12, density=0.2)
    g = nx.from_numpy_array(a, create_using=nx.DiGraph)
    for directed, undirected_swaps in [(False, False), (True, False), (False, True)]:
        values, best = degree_constrained_max(
            a, directed, "spectral", undirected_swaps, rng, restarts=3, steps_per_edge=500
        )
        if undirected_swaps:
            h, ref = nx.from_numpy_array(best + best.T), nx.from_numpy_array(a + a.T)
            assert dict(h.degree(weight="weight")) == dict(ref.degree(weight="weight"))
        else:
            h = nx.from_numpy_array(best, create_using=nx.DiGraph)
            assert dict(h.in_degree()) == dict(g.in_degree())
            assert dict(h.out_degree()) == dict(g.out_degree())
        assert len(values) == 3
        q_best = maximize_q(best if directed else best + best.T, directed=directed).q
        assert values.max() >= q_best - 1e-9
        # The first restart starts from the real graph and keeps the best state seen.
        assert values[0] >= maximize_q(a if directed else a + a.T, directed=directed).q - 1e-9


def test_degree_constrained_maximum_of_two_three_cycles():
    # In- and out-degree 1 everywhere: the best rewiring is three 2-cycles, Q = 2/3.
    a = np.zeros((6, 6))
    for i, j in [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)]:
        a[i, j] = 1
    found = degree_constrained_q_max(
        a, directed=False, method="exact", seed=0, restarts=4, steps_per_edge=2000
    )
    assert found.values.max() == pytest.approx(2 / 3)
    assert maximize_q(a + a.T, directed=False, method="exact").q == pytest.approx(0.5)


# -- Q_rand of a network fixed by its degree sequence --------------------------------------


def test_q_rand_equals_q_when_the_degree_sequence_fixes_the_network():
    # Two disjoint 2-stars: every swap gives two 2-stars again (isomorphic), Q = 0.5.
    a = network_adjacency(TWO_STARS)
    q = q_of_graph(a, False, "spectral")
    assert q == pytest.approx(0.5) and q == pytest.approx(brute_q(a))
    base = degree_control(TWO_STARS, False, "spectral", n_samples=30, seed=1)
    assert np.allclose(base.values, q)
    # A complete bipartite digraph K(2,3), all edges one way: no directed swap
    # is possible (undirected swaps could join nodes of one side).
    k23 = np.zeros((5, 5))
    k23[:2, 2:] = 1
    base = degree_preserving_baseline(k23, n_samples=10, directed=False, method="exact", seed=2)
    assert np.allclose(base.values, maximize_q(k23 + k23.T, directed=False).q)
    # Undirected swaps: a complete graph has no pair of edges to swap.
    k4 = np.triu(np.ones((4, 4)), 1)
    base = degree_preserving_baseline(
        k4, n_samples=10, directed=False, method="exact", seed=2, swaps="undirected"
    )
    assert np.allclose(base.values, maximize_q(k4, directed=False).q)
    # A star (one gate reading two inputs): Q = 0 and nothing to swap.
    star = network_adjacency(circuit([(0, 1)], [4]))
    assert star.shape == (3, 3)
    assert q_of_graph(star, False, "exact") == pytest.approx(0.0)
    assert np.allclose(degree_control(star, False, "exact", n_samples=5).values, 0.0)


# -- pruned sizes and the size-conditioned sampler -----------------------------------------

MODEL_CONFIGS = {
    "circuit-ff": {"model": {"kind": "circuit"}},
    "circuit-fb-binary": {"model": {"kind": "circuit", "feedback": True, "genome": "binary"}},
    "circuit-ff-binary-12": {"model": {"kind": "circuit", "genome": "binary", "gates": 12}},
    "threshold": {"model": {"kind": "threshold"}},
    "layered": {},
}


@pytest.mark.parametrize("name", MODEL_CONFIGS)
def test_pruned_sizes_match_the_network_format(name):
    model = build_parts(config_mod.from_dict(MODEL_CONFIGS[name])).model
    genomes = model.random(300, np.random.default_rng(6))
    sizes = pruned_sizes(model, genomes)
    expected = [
        network_graph(model.to_json(genomes, i), directed=True, prune=True).n_nodes for i in range(300)
    ]
    assert sizes.tolist() == expected


@pytest.mark.parametrize(
    "name, n_nodes",
    [
        ("circuit-ff", 12),
        ("circuit-fb-binary", 15),
        ("circuit-ff-binary-12", 11),
        ("threshold", 16),
        ("layered", 20),
    ],
)
def test_size_conditioned_sampler_returns_only_the_requested_size(name, n_nodes):
    model = build_parts(config_mod.from_dict(MODEL_CONFIGS[name])).model
    genomes, drawn = sample_size_matched(model, n_nodes, 40, np.random.default_rng(7), batch=2000)
    assert len(next(iter(genomes.values()))) == 40 and drawn >= 40
    for i in range(40):
        graph = network_graph(model.to_json(genomes, i), directed=True, prune=True)
        assert graph.n_nodes == n_nodes
    assert np.all(pruned_sizes(model, genomes) == n_nodes)


def test_size_conditioned_sampler_gives_up_clearly():
    model = CircuitModel(4, 1, gates=6)
    with pytest.raises(ConfigError, match="found only 0 of 5 .* 1 nodes in 3,000 tries"):
        sample_size_matched(model, 1, 5, np.random.default_rng(0), max_genomes=3000, batch=1000)
    with pytest.raises(ConfigError, match="at most 10 nodes"):
        sample_size_matched(model, 11, 5, np.random.default_rng(0))


def all_tiny_circuits():
    """Every genome of CircuitModel(4, 2, gates=2), feed-forward: uniform random genomes."""
    model = CircuitModel(4, 2, gates=2)
    rows = list(itertools.product(range(4), range(4), range(5), range(5), range(4, 6), range(4, 6)))
    src = np.array([[[a, b], [c, d]] for a, b, c, d, _, _ in rows], dtype=np.int16)
    out = np.array([[o, p] for *_, o, p in rows], dtype=np.int16)
    return model, {"src": src, "out": out}


def test_size_matched_control_follows_the_conditional_distribution():
    # Enumerate the whole genome space: the exact mean best Q of genomes with
    # 6 pruned nodes, against the sampler's estimate.
    model, every = all_tiny_circuits()
    by_graph, values = {}, []
    for i in range(len(every["src"])):
        a = network_adjacency(model.to_json(every, i))
        if a.shape[0] == 6:
            key = a.tobytes()
            if key not in by_graph:
                by_graph[key] = brute_q(a)
            values.append(by_graph[key])
    expected = float(np.mean(values))
    assert 0 < len(values) < len(every["src"])
    base = size_matched_baseline(model, 6, directed=False, method="exact", n_samples=400, seed=3)
    assert base.n == 400 and "rejection sampling" in base.source
    assert abs(base.mean - expected) < 4 * base.sem + 1e-9
    # Hand-made Qm: the two-star circuit (Q = 0.5, a 6-node network of this
    # model) against that size-matched Q_rand and a given Q_max.
    model.from_json(TWO_STARS)
    result = paper_qm(TWO_STARS, directed=False, method="exact", n_samples=50, q_max=0.75, degree_check=False)
    assert result["q"] == pytest.approx(0.5) and result["q_rand_degree"] == pytest.approx(0.5)
    assert result["qm"] == pytest.approx(0.0)
    q_rand_size = base.mean
    assert (0.5 - q_rand_size) / (0.75 - q_rand_size) == pytest.approx(
        (result["q"] - q_rand_size) / (result["q_max"] - q_rand_size)
    )


# -- Qm from known parts ----------------------------------------------------------------


def two_triangles_circuit():
    # Gates 4 = NAND(0,1), 5 = NAND(0,4), 6 = NAND(2,3), 7 = NAND(2,6), output 8 = NAND(5,7).
    return circuit([(0, 1), (0, 4), (2, 3), (2, 6), (5, 7)], [8])


def test_qm_from_known_q_rand_and_q_max(tmp_path):
    net = two_triangles_circuit()
    cfg = config_mod.from_dict(
        {"model": {"kind": "circuit", "gates": 5}, "population": 20, "selection": {"elite": 5}}
    )
    a = network_adjacency(net)
    q = brute_q(a)
    assert q_of_graph(a, False, "spectral") == pytest.approx(q)
    assert measure_network(net, False, "spectral")["q"] == pytest.approx(q)
    # Plant known baselines where paper_qm looks for them.
    from evomod.baselines import _hash, _params, graph_key, model_signature
    from evomod.modularity import Baseline

    cache = BaselineCache(tmp_path)
    deg_params = {**_params(False, "spectral"), "n_samples": 20, "seed": 0, "swaps": "directed"}
    cache.put("graph.qrand_degree", graph_key(a), Baseline.from_values([0.1, 0.3], 0, "planted"), deg_params)
    sig = model_signature(cfg)
    size_params = {
        **_params(False, "spectral"),
        "signature": sig,
        "n_samples": 20,
        "seed": 0,
        "sampler": "rejection",
    }
    cache.put(
        "circuit.qrand_size",
        f"n{a.shape[0]}-{_hash(sig)}",
        Baseline.from_values([0.25, 0.35], 0, "planted"),
        size_params,
    )
    max_params = {**_params(False, "spectral"), "signature": sig}
    cache.put(
        "circuit.qmax_evolved", _hash(max_params), Baseline.from_values([0.7, 0.9], 0, "planted"), max_params
    )
    result = paper_qm(net, cfg, cache_dir=tmp_path, n_samples=20, degree_check=False)
    assert result["q"] == pytest.approx(q)
    assert result["q_rand_degree"] == pytest.approx(0.2)
    assert result["q_rand_size"] == pytest.approx(0.3)
    assert result["q_max"] == pytest.approx(0.8)
    assert result["qm"] == pytest.approx((q - 0.2) / (0.8 - 0.2))
    assert result["qm_size"] == pytest.approx((q - 0.3) / (0.8 - 0.3))
    assert result["q_max_degree"] is None and result["notes"] == []
    json.dumps(result)


def test_paper_qm_computes_caches_and_explains_gaps(tmp_path):
    net = two_triangles_circuit()
    cfg = config_mod.from_dict(
        {"model": {"kind": "circuit", "gates": 5}, "population": 20, "selection": {"elite": 5}}
    )
    first = paper_qm(net, cfg, cache_dir=tmp_path, n_samples=20)
    assert first["q_rand_degree_n"] == 20 and first["q_rand_size_n"] == 20
    assert first["qm"] is None and any("evomod baseline" in n for n in first["notes"])
    assert first["q_max_degree"] >= first["q"] - 1e-9
    assert first["qm_degree_max"] == pytest.approx(
        (first["q"] - first["q_rand_degree"]) / (first["q_max_degree"] - first["q_rand_degree"])
    )
    names = sorted(p.name.split("__")[0] for p in tmp_path.iterdir())
    assert names == ["circuit.qrand_size", "graph.qmax_degree", "graph.qrand_degree"]
    again = paper_qm(net, cfg, cache_dir=tmp_path, n_samples=20)
    assert again == first
    # Without the config: no size-matched control, and it says why.
    bare = paper_qm(net, n_samples=20, degree_check=False)
    assert bare["q_rand_size"] is None and any("config" in n for n in bare["notes"])
    assert bare["q_rand_degree"] == pytest.approx(first["q_rand_degree"])
    # An impossible size is reported, not raised.
    tight = paper_qm(net, cfg, n_samples=20, degree_check=False, max_genomes=50)
    assert tight["q_rand_size"] is None and any("rejection sampling" in n for n in tight["notes"])


def test_evolved_q_max_is_cached_for_the_runs_settings(tmp_path):
    cfg = config_mod.from_dict(
        {"model": {"kind": "circuit", "gates": 6}, "population": 16, "selection": {"elite": 4}}
    )
    q_max = evolved_q_max(cfg, runs=2, generations=4, cache_dir=tmp_path)
    assert q_max.n == 2 and "evolved for Q" in q_max.source and "population 16" in q_max.source
    found = cached_evolved_q_max(cfg, tmp_path)
    assert found is not None and found.mean == pytest.approx(q_max.mean)
    other = config_mod.from_dict(
        {
            "model": {"kind": "circuit", "gates": 6, "feedback": True},
            "population": 16,
            "selection": {"elite": 4},
        }
    )
    assert cached_evolved_q_max(other, tmp_path) is None
    # A different population is another setting.
    evolved_q_max(cfg, runs=2, generations=3, population=12, cache_dir=tmp_path)
    assert cached_evolved_q_max(cfg, tmp_path).mean == pytest.approx(q_max.mean)
    # Each value is the Q of a network evolved for Q: above random genomes of that size on average.
    model = build_parts(cfg).model
    sizes = size_control(cfg, 8, n_samples=20, seed=0, model=model)
    assert sizes.n == 20


def test_report_shows_the_qm_columns(tmp_path):
    from evomod import report, runs

    cfg = config_mod.from_dict(
        {
            "model": {"kind": "circuit", "gates": 8},
            "population": 20,
            "selection": {"elite": 5},
            "generations": 5,
            "seed": 3,
            "log_modularity_every": 0,
        }
    )
    runs.start(cfg, tmp_path / "sweep" / "PA" / "seed_3", quiet=True)
    cache = tmp_path / "cache"
    evolved_q_max(cfg, runs=2, generations=5, cache_dir=cache)
    values = report.summarise_run(
        "PA", 3, tmp_path / "sweep" / "PA" / "seed_3", baselines=cache, qm_samples=20
    ).values
    network = json.loads((tmp_path / "sweep" / "PA" / "seed_3" / "best.json").read_text())["networks"][0][
        "network"
    ]
    expected = paper_qm(network, cfg, cache_dir=cache, n_samples=20)
    for column, key in [
        ("q_rand", "q_rand_degree"),
        ("q_rand_size", "q_rand_size"),
        ("q_max", "q_max"),
        ("q_max_degree", "q_max_degree"),
        ("qm", "qm"),
        ("qm_size", "qm_size"),
    ]:
        assert values[column] == expected[key]
    if values["qm"] is not None:
        assert values["qm"] == pytest.approx(
            (values["q"] - values["q_rand"]) / (values["q_max"] - values["q_rand"])
        )
    # No baseline directory: no Qm columns, nothing computed.
    plain = report.summarise_run(
        "PA", 3, tmp_path / "sweep" / "PA" / "seed_3", baselines=tmp_path / "absent"
    ).values
    assert plain.get("q_rand") is None and not (tmp_path / "absent").exists()
    collected = report.collect(tmp_path / "sweep", baselines=cache, qm_samples=20)
    assert "q_rand" in collected.measures and "q_max" in collected.measures


def test_score_helpers_and_compute_baselines(tmp_path):
    from evomod import runs
    from evomod.baselines import compute_baselines, qm_rows, run_config_for

    cfg = config_mod.from_dict(
        {
            "model": {"kind": "circuit", "gates": 6},
            "population": 16,
            "selection": {"elite": 4},
            "generations": 3,
            "seed": 1,
            "log_modularity_every": 0,
        }
    )
    runs.start(cfg, tmp_path / "run", quiet=True)
    found = run_config_for(tmp_path / "run" / "best.json")
    assert found == cfg
    assert run_config_for(tmp_path / "elsewhere.json") is None
    assert run_config_for(tmp_path / "x.json", tmp_path / "run" / "config.json") == cfg
    results = compute_baselines(cfg, tmp_path / "cache", samples=10, runs=2, generations=3, sizes=(7,))
    assert any("7 nodes" in name for name in results) and "Q_max" in results
    assert cached_evolved_q_max(cfg, tmp_path / "cache").n == 2
    network = json.loads((tmp_path / "run" / "best.json").read_text())["networks"][0]["network"]
    result = paper_qm(network, found, cache_dir=tmp_path / "cache", n_samples=10)
    assert result["q_max"] == pytest.approx(results["Q_max"].mean)
    names = [name for name, _ in qm_rows(result)]
    assert names[:6] == [
        "Q_rand (degree-preserving)",
        "Q_rand (size-matched genomes)",
        "Q_max (evolved)",
        "Q_max (degree-constrained)",
        "Qm",
        "Qm (size-matched Q_rand)",
    ]
