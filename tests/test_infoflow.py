"""Information-flow modularity (evomod.modularity.infoflow)."""

import networkx as nx
import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.models.circuit import CircuitModel
from evomod.models.layered import LayeredModel
from evomod.models.threshold import ThresholdModel
from evomod.modularity import maximize_q, network_graph
from evomod.modularity.infoflow import (
    _best_labels,
    _greedy_labels,
    information_flow_modularity,
    node_values,
    partition_score,
)

# -- hand-built networks ---------------------------------------------------------------


def circuit(gates, outputs, n_inputs=4):
    return {
        "kind": "circuit",
        "inputs": list(range(n_inputs)),
        "gates": [{"id": g, "in": list(src)} for g, src in gates],
        "outputs": list(outputs),
    }


def xor_gates(a, b, first):
    """The 4-NAND XOR of a and b, gates first..first+3 (first+3 is the XOR)."""
    g = first
    return [(g, (a, b)), (g + 1, (a, g)), (g + 2, (b, g)), (g + 3, (g + 1, g + 2))]


def layered(kind, layers, offsets, edges):
    """A layered-format network; ``offsets`` maps non-input ids to thresholds or biases."""
    field = "threshold" if kind == "threshold" else "bias"
    nodes, nid = [], 0
    for layer, width in enumerate(layers):
        for k in range(width):
            value = None if layer == 0 else offsets[nid]
            nodes.append({"id": nid, "layer": layer, field: value, "x": float(k), "y": float(layer)})
            nid += 1
    return {"kind": kind, "layers": list(layers), "nodes": nodes, "edges": [list(e) for e in edges]}


# The module docstring's worked example.
EXAMPLE = circuit([(4, (0, 1)), (5, (4, 4)), (6, (2, 3)), (7, (6, 4))], [5, 7])
TWO_XORS = circuit(xor_gates(0, 1, 4) + xor_gates(2, 3, 8), [7, 11])


def goodhart_circuit():
    """TWO_XORS with one source rewired: B's first gate reads A's XOR instead of x3."""
    gates = xor_gates(0, 1, 4) + xor_gates(2, 3, 8)
    gates[4] = (8, (2, 7))
    return circuit(gates, [7, 11])


def brute_force(influence):
    """max(0, best r) over every set partition (restricted growth strings)."""
    n = influence.shape[0]
    best = 0.0
    if n < 2:
        return best

    def grow(labels, k):
        nonlocal best
        if len(labels) == n:
            best = max(best, partition_score(influence, labels))
            return
        for c in range(k + 1):
            grow(labels + [c], max(k, c + 1))

    grow([0], 1)
    return best


def active(influence):
    """The influence among the nodes that send or receive any."""
    keep = np.flatnonzero(influence.sum(axis=0) + influence.sum(axis=1) > 0)
    return influence[np.ix_(keep, keep)]


# -- the worked example ----------------------------------------------------------------


def test_worked_example_by_hand():
    r = information_flow_modularity(EXAMPLE)
    assert list(r.nodes) == [4, 5, 6, 7]
    # Flip g4: g5 = NOT g4 always flips; g7 = NAND(g6, g4) flips when g6 = 1, i.e.
    # unless x2 = x3 = 1 (12 of 16 patterns). Flip g6: g7 flips when g4 = 1 (12/16).
    expected = np.zeros((4, 4))
    expected[0, 1], expected[0, 3], expected[2, 3] = 1.0, 12 / 16, 12 / 16
    np.testing.assert_array_equal(r.influence, expected)
    # Parts {4, 5}, {6, 7}: C = 3/4, C0 = 5/2 - (7/4 * 1 + 3/4 * 3/2) / (5/2) = 27/20.
    assert r.score == pytest.approx(1 - (3 / 4) / (27 / 20))
    assert r.score == pytest.approx(4 / 9)
    assert list(r.labels) == [-1, -1, -1, -1, 0, 0, 1, 1]
    assert r.modules() == [[4, 5], [6, 7]] and r.n_parts == 2 and r.method == "exact"
    assert partition_score(r.influence, [0, 0, 1, 0]) == 0.0  # {6} only sends
    assert partition_score(r.influence, [0, 0, 1, 2]) == pytest.approx(1 / 6)
    assert partition_score(r.influence, [0, 0, 0, 0]) == 0.0  # one part: 0 by definition
    # Flipping g4 and g5 together flips g7 on 12 of 16 patterns and never g6.
    np.testing.assert_allclose(r.part_influence, [[0, 3 / 8], [0, 0]])
    assert information_flow_modularity(EXAMPLE, method="greedy").score == pytest.approx(4 / 9)


def test_clamp_and_flip_by_hand():
    # Worked example, clamped: g4 and g6 are 1 on 12 of 16 patterns, so both are
    # clamped to 1 and change on 4 patterns; g5 follows g4 there, g7 when the
    # other source is 1 (3 of those 4).
    r = information_flow_modularity(EXAMPLE, mode="clamp")
    assert r.influence[0, 1] == 4 / 16 and r.influence[0, 3] == 3 / 16 and r.influence[2, 3] == 3 / 16
    # g4 = NOT x0 is 1 on half the patterns: the tie clamps it to 0, on the
    # patterns x0 = 0, where g5 = NAND(g4, x0) stays 1. Flipping g4 changes g5
    # when x0 = 1.
    net = circuit([(4, (0, 0)), (5, (4, 0)), (6, (5, 1))], [6], n_inputs=2)
    assert information_flow_modularity(net, mode="clamp").influence[0, 1] == 0.0
    assert information_flow_modularity(net, mode="flip").influence[0, 1] == 0.5


# -- separate sub-networks score 1 -------------------------------------------------


@pytest.mark.parametrize("mode", ["flip", "clamp", "resample"])
def test_two_separate_xor_circuits_score_one(mode):
    r = information_flow_modularity(TWO_XORS, mode=mode)
    assert r.score == 1.0
    assert r.modules() == [[4, 5, 6, 7], [8, 9, 10, 11]]
    off = r.part_influence[~np.eye(2, dtype=bool)]
    np.testing.assert_array_equal(off, 0.0)
    # Each XOR's own influence is there (and varied): the 1 is not an empty matrix's.
    assert np.all(r.influence[0, 1:4] > 0)
    if mode == "flip":
        assert r.influence[0, 3] == 0.75 and r.influence[0, 1] == 0.5


def two_threshold_subnets():
    # A: h4 = x0 AND x1, h5 = x0 OR x1, o8 = h5 AND NOT h4 (XOR);
    # B: h6 = x2 AND NOT x3, h7 = x3, o9 = h6 OR h7 (weights 2 and 1).
    edges = [[0, 4, 1], [1, 4, 1], [0, 5, 1], [1, 5, 1], [5, 8, 1], [4, 8, -1]]
    edges += [[2, 6, 1], [3, 6, -1], [3, 7, 1], [6, 9, 2], [7, 9, 1]]
    offsets = {4: 2, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1}
    return layered("threshold", [4, 4, 2], offsets, edges)


def test_two_separate_threshold_subnets_score_one():
    net = two_threshold_subnets()
    r = information_flow_modularity(net)
    assert r.score == 1.0
    assert r.modules() == [[4, 5, 8], [6, 7, 9]]
    assert r.influence[list(r.nodes).index(4), list(r.nodes).index(8)] > 0
    # The same network for Clune's tanh model (biases for thresholds) falls apart too.
    clune = layered("layered", [4, 4, 2], {4: -1, 5: 1, 6: -1, 7: 0, 8: -1, 9: 1}, net["edges"])
    rc = information_flow_modularity(clune, method="greedy")
    assert rc.score == 1.0 and rc.modules() == [[4, 5, 8], [6, 7, 9]]


# -- every hidden unit feeding every output scores low -----------------------------


def dense_two_layer(rng, kind, n_inputs=4, n_hidden=4, n_outputs=2):
    hidden = range(n_inputs, n_inputs + n_hidden)
    outs = range(n_inputs + n_hidden, n_inputs + n_hidden + n_outputs)
    edges = [[i, h, int(rng.choice([-2, -1, 1, 2]))] for i in range(n_inputs) for h in hidden]
    edges += [[h, o, int(rng.choice([-2, -1, 1, 2]))] for h in hidden for o in outs]
    offsets = {k: int(rng.integers(-2, 3)) for k in [*hidden, *outs]}
    return layered(kind, [n_inputs, n_hidden, n_outputs], offsets, edges)


def test_symmetric_dense_network_scores_zero():
    """h_k copies x_k; o8 = (sum h >= 2), o9 = (sum h >= 3), every h feeding both.

    Each h flips o8 when the other three sum to 1 and o9 when they sum to 2:
    3/8 each. An influence matrix I[h, o] = u_h w_o (rank one) gives every
    partition r = 0: within-part influence sum_P U_P W_P is exactly what the
    null expects. So the bound is 0, and the one-part answer.
    """
    edges = [[k, 4 + k, 1] for k in range(4)] + [[h, o, 1] for h in range(4, 8) for o in (8, 9)]
    net = layered("threshold", [4, 4, 2], {4: 1, 5: 1, 6: 1, 7: 1, 8: 2, 9: 3}, edges)
    r = information_flow_modularity(net)
    np.testing.assert_array_equal(r.influence[:4, 4:], 3 / 8)
    assert r.score == 0.0 and r.n_parts == 1
    assert brute_force(r.influence) < 1e-12


@pytest.mark.parametrize("kind", ["threshold", "layered"])
def test_dense_two_layer_networks_score_low(kind):
    """Bound: with influence only from hidden units H to outputs O and every
    I[h, o] in [alpha, beta], alpha > 0, any partition has C >= alpha *
    sum_{P != Q} |H_P||O_Q| and C0 = sum_{P != Q} a_P b_Q / T <= (beta**2 /
    alpha) * the same sum (a_P <= beta |H_P||O|, b_Q <= beta |H||O_Q|,
    T >= alpha |H||O|), so score <= 1 - (alpha / beta)**2."""
    rng = np.random.default_rng(11)
    scores = []
    for _ in range(40):
        net = dense_two_layer(rng, kind)
        r = information_flow_modularity(net)
        if len(r.nodes) != 6:
            continue
        h_to_o = r.influence[:4, 4:]
        assert np.all(r.influence[:, :4] == 0) and np.all(r.influence[4:] == 0)
        if h_to_o.min() == 0:
            continue
        bound = 1 - (h_to_o.min() / h_to_o.max()) ** 2
        assert r.score <= bound + 1e-12
        scores.append(r.score)
    assert len(scores) >= 8 and len(set(np.round(scores, 9))) > 3
    # The bound is loose; the scores themselves are low.
    assert np.median(scores) < 0.35 and max(scores) < 0.6


# -- a Goodhart network: high Q, entangled function ------------------------------------


def newman_q(net):
    g = network_graph(net, directed=False)
    return maximize_q(g.adjacency, directed=False).q


def test_goodhart_network_is_told_apart_from_a_modular_one():
    modular, goodhart = TWO_XORS, goodhart_circuit()
    q_mod, q_good = newman_q(modular), newman_q(goodhart)
    assert q_mod == pytest.approx(0.5)
    assert q_good >= 0.85 * q_mod
    # networkx agrees on Q of the two-XOR split of the Goodhart circuit.
    g = network_graph(goodhart, directed=False)
    ids = [int(i) for i in g.node_ids]
    left = {k for k, i in enumerate(ids) if i in (0, 1, 4, 5, 6, 7)}
    graph = nx.from_numpy_array(g.adjacency)
    assert nx.community.modularity(graph, [left, set(range(len(ids))) - left]) >= 0.4
    # Function: every gate of A now changes B's output (through the rewired edge).
    r = information_flow_modularity(goodhart)
    assert r.modules() == [[4, 5, 6, 7], [8, 9, 10, 11]]
    assert np.all(r.influence[:4, 7] > 0)
    assert r.score < 0.5 * information_flow_modularity(modular).score
    assert r.part_influence[0, 1] > 0.3


# -- the search --------------------------------------------------------------------


def random_small_networks():
    """Random circuits, threshold and layered networks of at most 8 measured nodes."""
    rng = np.random.default_rng(3)
    nets = []
    model = CircuitModel(4, 2, gates=10)
    genomes = model.random(40, rng)
    nets += [model.to_json(genomes, i) for i in range(40)]
    model = ThresholdModel(layers=(4, 4, 2, 1))
    genomes = model.random(20, rng)
    # Thresholds near 0, or most random neurons are constant.
    genomes["threshold"] = rng.integers(-1, 2, size=genomes["threshold"].shape).astype(np.int8)
    nets += [model.to_json(genomes, i) for i in range(20)]
    model = LayeredModel(layers=(4, 3, 3, 1), init_connections_max=30)
    genomes = model.random(20, rng)
    nets += [model.to_json(genomes, i) for i in range(20)]
    return nets


def test_exact_search_equals_brute_force_on_networks():
    scores = []
    for net in random_small_networks():
        r = information_flow_modularity(net, method="exact")
        if len(r.nodes) > 8:
            continue
        assert r.score == pytest.approx(brute_force(r.influence), abs=1e-12)
        assert partition_score(r.influence, r.labels[r.labels >= 0]) == pytest.approx(r.score, abs=1e-12)
        scores.append(r.score)
    scores = np.array(scores)
    # The fixtures vary: zeros, ones and scores in between.
    assert (scores == 0).sum() >= 3 and (scores == 1).sum() >= 3
    assert ((scores > 0) & (scores < 1)).sum() >= 10


def random_influence(rng, n):
    """A feed-forward-like (upper triangular) or general sparse non-negative matrix."""
    a = rng.random((n, n)) * (rng.random((n, n)) < rng.uniform(0.25, 0.7))
    if rng.random() < 0.5:
        a = np.triu(a, 1)
    np.fill_diagonal(a, 0.0)
    return a


def test_exact_search_equals_brute_force_on_matrices():
    rng = np.random.default_rng(7)
    seen = []
    for _ in range(40):
        a = active(random_influence(rng, int(rng.integers(3, 8))))
        if a.size == 0:
            continue
        labels = _best_labels(a, "exact")
        got = max(0.0, partition_score(a, labels))
        assert got == pytest.approx(brute_force(a), abs=1e-12)
        seen.append(got)
    assert len(seen) >= 30 and len(set(np.round(seen, 6))) >= 20


def test_greedy_never_beats_exact_and_matches_where_it_must():
    rng = np.random.default_rng(8)
    equal = 0
    for _ in range(60):
        a = active(random_influence(rng, int(rng.integers(2, 10))))
        if a.size == 0:
            continue
        exact = max(0.0, partition_score(a, _best_labels(a, "exact")))
        greedy = max(0.0, partition_score(a, _best_labels(a, "greedy")))
        assert greedy <= exact + 1e-12
        equal += greedy == pytest.approx(exact, abs=1e-12)
        if a.shape[0] <= 3:
            # Agglomeration from singletons scores every partition of <= 3 nodes.
            assert greedy == pytest.approx(exact, abs=1e-12)
    assert equal >= 40
    # Separate components: both searches return them, scoring 1.
    blocks = np.zeros((7, 7))
    blocks[:3, :3] = np.triu(rng.random((3, 3)) + 0.1, 1)
    blocks[3:, 3:] = np.triu(rng.random((4, 4)) + 0.1, 1)
    for method in ("exact", "greedy"):
        assert list(_best_labels(blocks, method)) == [0, 0, 0, 1, 1, 1, 1]
    assert partition_score(blocks, [0, 0, 0, 1, 1, 1, 1]) == 1.0


def test_greedy_on_networks_is_at_most_exact():
    for net in random_small_networks()[::3] + [EXAMPLE, goodhart_circuit()]:
        exact = information_flow_modularity(net, method="exact")
        greedy = information_flow_modularity(net, method="greedy")
        assert greedy.method == "greedy" and exact.method == "exact"
        assert greedy.score <= exact.score + 1e-12


def test_greedy_ends_in_a_local_optimum_of_node_moves():
    rng = np.random.default_rng(9)
    moved_any = 0
    for _ in range(30):
        a = active(random_influence(rng, int(rng.integers(4, 10))))
        if a.shape[0] < 4:
            continue
        labels = _greedy_labels(a, 1e-12)
        best = partition_score(a, labels)
        for i in range(len(labels)):
            for target in range(len(labels) + 1):
                moved = labels.copy()
                moved[i] = target
                assert partition_score(a, moved) <= best + 1e-12
        moved_any += best > 0
    assert moved_any >= 15


def test_three_separate_parts_are_three_parts():
    circuit6 = circuit(
        xor_gates(0, 1, 6) + xor_gates(2, 3, 10) + xor_gates(4, 5, 14), [9, 13, 17], n_inputs=6
    )
    for method in ("exact", "greedy"):
        r = information_flow_modularity(circuit6, method=method)
        assert r.score == 1.0 and r.modules() == [[6, 7, 8, 9], [10, 11, 12, 13], [14, 15, 16, 17]]


# -- the simulator against the models' own evaluators -----------------------------------


def test_simulator_matches_circuit_model():
    model = CircuitModel(4, 2, gates=14)
    genomes = model.random(25, np.random.default_rng(1))
    tables = set()
    for i in range(25):
        net = model.to_json(genomes, i)
        nv = node_values(net)
        expected = model.outputs({k: v[i : i + 1] for k, v in genomes.items()}, nv.patterns)[0]
        rows = [list(nv.node_ids).index(o) for o in net["outputs"]]
        np.testing.assert_array_equal(nv.values[rows].T, expected)
        tables.add(nv.values[rows].tobytes())
    assert len(tables) > 15


def test_simulator_matches_threshold_model():
    model = ThresholdModel(fan_in=3)
    rng = np.random.default_rng(2)
    genomes = model.random(40, rng)
    # Random genomes are mostly dead; thresholds low enough to let signals through.
    genomes["threshold"] = rng.integers(-1, 2, size=genomes["threshold"].shape).astype(np.int8)
    tables = set()
    for i in range(40):
        net = model.to_json(genomes, i)
        nv = node_values(net)
        expected = model.outputs({k: v[i : i + 1] for k, v in genomes.items()}, nv.patterns)[0]
        np.testing.assert_array_equal(nv.values[-1:].T, expected)
        tables.update(row.tobytes() for row in nv.values[8:])
    assert len(tables) > 30


@pytest.mark.parametrize("lam", [20.0, 0.7])
def test_simulator_matches_layered_model(lam):
    model = LayeredModel(lam=lam)
    genomes = model.random(25, np.random.default_rng(4))
    for i in range(25):
        net = model.to_json(genomes, i)
        nv = node_values(net, lam=lam)
        expected = model.activations({k: v[i : i + 1] for k, v in genomes.items()}, nv.patterns)[0]
        np.testing.assert_allclose(nv.values[-1:].T, expected, rtol=0, atol=1e-12)
    if lam == 20.0:
        assert set(np.unique(nv.values[8:])) <= {-1.0, 0.0, 1.0}


def test_simulator_interventions_and_gate_order():
    # The example's gates listed backwards evaluate the same.
    backwards = dict(EXAMPLE, gates=EXAMPLE["gates"][::-1])
    a, b = node_values(EXAMPLE), node_values(backwards)
    np.testing.assert_array_equal(a.values[4:], b.values[[7, 6, 5, 4]])
    # Forcing g4 to 1 makes g5 = 0 and g7 = NOT g6.
    forced = node_values(EXAMPLE, {4: 1})
    np.testing.assert_array_equal(forced.values[5], 0)
    np.testing.assert_array_equal(forced.values[7], 1 - a.values[6])
    np.testing.assert_array_equal(forced.values[6], a.values[6])


def test_feedback_loops():
    loop = circuit([(4, (0, 5)), (5, (4, 1)), (6, (5, 2))], [6])
    with pytest.raises(ConfigError) as err:
        information_flow_modularity(loop)
    assert err.value.field == "network.gates"
    assert "(5 -> 4 -> 5)" in str(err.value) or "(4 -> 5 -> 4)" in str(err.value)
    # A loop that reaches no output is left out (NaN), the rest measured.
    side = circuit([(4, (0, 1)), (5, (4, 6)), (6, (5, 2)), (7, (4, 3))], [7])
    nv = node_values(side)
    assert np.isnan(nv.values[5]).all() and not np.isnan(nv.values[7]).any()
    assert list(information_flow_modularity(side).nodes) == [4, 7]


# -- determinism and bad input -------------------------------------------------------


def test_determinism():
    net = goodhart_circuit()
    a = information_flow_modularity(net, mode="resample", seed=5)
    b = information_flow_modularity(net, mode="resample", seed=5)
    c = information_flow_modularity(net, mode="resample", seed=6)
    np.testing.assert_array_equal(a.influence, b.influence)
    np.testing.assert_array_equal(a.part_influence, b.part_influence)
    assert a.score == b.score and list(a.labels) == list(b.labels)
    assert not np.array_equal(a.influence, c.influence)
    flips = [information_flow_modularity(net, seed=s) for s in (0, 1)]
    np.testing.assert_array_equal(flips[0].influence, flips[1].influence)
    assert information_flow_modularity(net, mode="resample", seed=np.random.default_rng(5)).score == a.score


def test_result_dict_and_inert_nodes():
    # g8 reads only inputs and drives nothing: inert, a part of its own.
    net = dict(EXAMPLE, gates=EXAMPLE["gates"] + [{"id": 8, "in": [1, 2]}], outputs=[5, 7, 8])
    r = information_flow_modularity(net)
    assert r.modules() == [[4, 5], [6, 7], [8]] and r.score == pytest.approx(4 / 9)
    d = r.as_dict()
    assert d["labels"] == {4: 0, 5: 0, 6: 1, 7: 1, 8: 2} and d["n_parts"] == 3
    assert d["influence"][0][3] == 0.75 and d["influence"][4] == [0.0] * 5


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"mode": "wiggle"}, "mode"),
        ({"method": "spectral"}, "method"),
        ({"seed": -1}, "seed"),
        ({"lam": 0}, "lam"),
        ({"n_resamples": 0}, "n_resamples"),
    ],
)
def test_bad_arguments(kwargs, field):
    with pytest.raises(ConfigError) as err:
        information_flow_modularity(EXAMPLE, **kwargs)
    assert err.value.field == field


def test_bad_networks():
    with pytest.raises(ConfigError) as err:
        information_flow_modularity(dict(EXAMPLE, kind="retina"))
    assert err.value.field == "network.kind" and "circuit" in str(err.value)
    with pytest.raises(ConfigError) as err:
        information_flow_modularity([1, 2])
    assert err.value.field == "network"
    net = two_threshold_subnets()
    net["nodes"][5]["threshold"] = None
    with pytest.raises(ConfigError) as err:
        information_flow_modularity(net)
    assert err.value.field == "network.nodes[5].threshold"
    with pytest.raises(ConfigError) as err:
        node_values(EXAMPLE, {99: 1})
    assert err.value.field == "interventions"
    with pytest.raises(ConfigError) as err:
        node_values(EXAMPLE, {4: [0, 1]})
    assert err.value.field == "interventions[4]"
    # Too many nodes for the exact search.
    chain = [(4, (0, 1))] + [(4 + g, (3 + g, g % 4)) for g in range(1, 20)]
    wide = circuit(chain, [23])
    with pytest.raises(ConfigError) as err:
        information_flow_modularity(wide, method="exact")
    assert err.value.field == "method"
    assert information_flow_modularity(wide).method == "greedy"
