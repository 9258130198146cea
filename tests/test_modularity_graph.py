"""From evomod network dicts to graphs, and the combined score."""

import json

import networkx as nx
import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.modularity import network_graph, score_network


def layered(edges, layers=(4, 2, 1), kind="layered"):
    layer = np.repeat(np.arange(len(layers)), layers)
    key = "bias" if kind == "layered" else "threshold"
    nodes = [{"id": 10 + i, "layer": int(l), key: 0, "x": 0.0, "y": float(l)} for i, l in enumerate(layer)]
    return {
        "kind": kind,
        "layers": list(layers),
        "nodes": nodes,
        "edges": [[10 + a, 10 + b, w] for a, b, w in edges],
    }


# Inputs 0-3, hidden 4-5, output 6. Input 3 feeds only hidden 5, which has
# no path to the output; hidden 4 and input 2 reach the output.
EXAMPLE = [(0, 4, 1), (1, 4, -2), (1, 4, 1), (2, 4, 2), (3, 5, -1), (4, 6, 1), (2, 6, -1)]


def test_layered_graph_pruned_like_clune():
    g = network_graph(layered(EXAMPLE))
    assert g.node_ids.tolist() == [10, 11, 12, 14, 16]  # 13 and 15 are dead
    assert g.layers.tolist() == [0, 0, 0, 1, 2]
    assert g.outputs.tolist() == [False, False, False, False, True]
    expected = np.zeros((5, 5))
    for a, b in [(0, 3), (1, 3), (2, 3), (3, 4), (2, 4)]:
        expected[a, b] = 1
    assert np.array_equal(g.adjacency, expected)
    assert g.directed and not g.weighted and g.kind == "layered"
    assert g.n_nodes == 5 and g.n_edges == 5


def test_weights_sum_per_pair_and_take_absolute_values():
    g = network_graph(layered(EXAMPLE), weighted=True)
    # 11 -> 14 has -2 + 1 = -1, so weight 1; 12 -> 14 has 2; 12 -> 16 has |-1|.
    assert g.adjacency[1, 3] == 1 and g.adjacency[2, 3] == 2 and g.adjacency[2, 4] == 1
    cancelling = layered([(0, 4, 1), (0, 4, -1), (1, 4, 1), (4, 6, 1)])
    assert network_graph(cancelling).node_ids.tolist() == [11, 14, 16]


def test_undirected_is_symmetrised():
    directed = network_graph(layered(EXAMPLE), weighted=True)
    undirected = network_graph(layered(EXAMPLE), directed=False, weighted=True)
    assert np.array_equal(undirected.adjacency, directed.adjacency + directed.adjacency.T)
    assert undirected.n_edges == directed.n_edges


def test_pruning_options():
    everything = network_graph(layered(EXAMPLE), prune=False)
    assert everything.node_ids.tolist() == [10, 11, 12, 13, 14, 15, 16]
    isolated_only = network_graph(layered(EXAMPLE), prune="isolated")
    assert isolated_only.node_ids.tolist() == [10, 11, 12, 13, 14, 15, 16]
    lonely = layered([(0, 4, 1), (4, 6, 1)])
    assert network_graph(lonely, prune="isolated").node_ids.tolist() == [10, 14, 16]
    with pytest.raises(ConfigError, match="prune"):
        network_graph(lonely, prune="dead")


@pytest.mark.parametrize("seed", range(5))
def test_pruning_matches_networkx_ancestors(seed):
    rng = np.random.default_rng(seed)
    sizes = (8, 8, 4, 2, 1)
    layer = np.repeat(np.arange(5), sizes)
    pairs = np.argwhere(layer[None, :] == layer[:, None] + 1)
    chosen = pairs[rng.choice(len(pairs), 35, replace=False)]
    net = layered([(int(a), int(b), 1) for a, b in chosen], layers=sizes, kind="threshold")
    dg = nx.DiGraph()
    dg.add_edges_from((int(a), int(b)) for a, b in chosen)
    output = len(layer) - 1
    live = (nx.ancestors(dg, output) | {output}) if output in dg else set()
    live = {v for v in live if any(u in live for u in nx.all_neighbors(dg, v))}
    g = network_graph(net)
    assert sorted(g.node_ids.tolist()) == sorted(10 + v for v in live)
    sub = nx.to_numpy_array(dg, nodelist=sorted(live), weight=None)
    assert np.array_equal(g.adjacency, sub)


def test_layer_blocks_cover_each_weight_matrix():
    g = network_graph(layered(EXAMPLE), prune=False)
    cells = [set(zip(r.tolist(), c.tolist())) for r, c in g.blocks]
    inputs, hidden = [0, 1, 2, 3], [4, 5]
    assert {(i, h) for i in inputs for h in hidden} in cells
    assert {(h, 6) for h in hidden} in cells
    assert {(i, 6) for i in inputs} in cells  # the skip edge 12 -> 16 has a block
    assert len(cells) == 3


def circuit():
    # XOR(0, 1) from four NANDs feeding output 8; gate 9 is dead; gate 8 is
    # NOT(gate 7) built as NAND(7, 7).
    return {
        "kind": "circuit",
        "inputs": [0, 1, 2, 3],
        "gates": [
            {"id": 4, "in": [0, 1]},
            {"id": 5, "in": [0, 4]},
            {"id": 6, "in": [1, 4]},
            {"id": 7, "in": [5, 6]},
            {"id": 8, "in": [7, 7]},
            {"id": 9, "in": [2, 3]},
        ],
        "outputs": [8],
    }


def test_circuit_graph():
    g = network_graph(circuit(), weighted=True)
    assert g.node_ids.tolist() == [0, 1, 4, 5, 6, 7, 8]  # inputs 2, 3 and gate 9 dropped
    assert g.layers is None
    assert g.adjacency[g.node_ids.tolist().index(7), -1] == 2  # the doubled input
    unweighted = network_graph(circuit())
    assert unweighted.adjacency[5, 6] == 1
    assert unweighted.adjacency.sum() == 9  # 0,1->4; 0,4->5; 1,4->6; 5,6->7; 7->8
    assert len(g.blocks) == 1 and len(g.blocks[0][0]) == 7 * 6 // 2


def test_circuit_with_feedback():
    net = {
        "kind": "circuit",
        "inputs": [0, 1],
        "gates": [{"id": 2, "in": [0, 3]}, {"id": 3, "in": [2, 1]}, {"id": 4, "in": [4, 4]}],
        "outputs": [3],
    }
    g = network_graph(net)
    assert g.node_ids.tolist() == [0, 1, 2, 3]  # the self-fed gate 4 is dead
    assert g.adjacency[2, 3] == 1 and g.adjacency[3, 2] == 1


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda n: n.pop("kind"), "network.kind"),
        (lambda n: n.update(kind="lstm"), "network.kind"),
        (lambda n: n.pop("nodes"), "network.nodes"),
        (lambda n: n.pop("edges"), "network.edges"),
        (lambda n: n.pop("layers"), "network.layers"),
        (lambda n: n["edges"].append([10, 99, 1]), "network.edges[7]"),
        (lambda n: n["edges"].append([14, 10, 1]), "network.edges[7]"),
        (lambda n: n["edges"].append([10, 14]), "network.edges[7]"),
        (lambda n: n["edges"].append([10, 14, "x"]), "network.edges[7]"),
        (lambda n: n["nodes"][1].update(id=10), "network.nodes[1].id"),
        (lambda n: n["nodes"][1].pop("layer"), "network.nodes[1].layer"),
        (lambda n: n["nodes"][1].update(layer=7), "network.nodes[1].layer"),
        (lambda n: n.update(layers=[4, 1, 1]), "network.nodes"),
    ],
)
def test_malformed_layered_networks(mutate, field):
    net = layered(EXAMPLE)
    mutate(net)
    with pytest.raises(ConfigError) as err:
        network_graph(net)
    assert err.value.field == field


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda n: n.pop("gates"), "network.gates"),
        (lambda n: n.pop("outputs"), "network.outputs"),
        (lambda n: n.update(outputs=[]), "network.outputs"),
        (lambda n: n.update(outputs=[42]), "network.outputs[0]"),
        (lambda n: n["gates"][0].update({"in": [0, 42]}), "network.gates[0].in"),
        (lambda n: n["gates"][0].pop("in"), "network.gates[0].in"),
        (lambda n: n["gates"][1].update(id=4), "network.gates[1].id"),
    ],
)
def test_malformed_circuits(mutate, field):
    net = circuit()
    mutate(net)
    with pytest.raises(ConfigError) as err:
        network_graph(net)
    assert err.value.field == field


def test_not_a_dict():
    with pytest.raises(ConfigError, match="network"):
        network_graph([1, 2, 3])


# ---------------------------------------------------------------- score


def set_partitions(items):
    """Every partition of ``items`` (lists of blocks), by brute force."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in set_partitions(rest):
        yield [[first], *partition]
        for i in range(len(partition)):
            yield partition[:i] + [[first, *partition[i]]] + partition[i + 1 :]


def brute_force_q(adjacency, directed):
    """Best modularity over every partition, by networkx's formula."""
    g = nx.from_numpy_array(adjacency, create_using=nx.DiGraph if directed else nx.Graph)
    return max(
        nx.community.modularity(g, [set(b) for b in p]) for p in set_partitions(list(range(len(adjacency))))
    )


def test_score_network_layered():
    net = layered(EXAMPLE)
    score = score_network(net, n_shuffles=10, seed=0)
    json.dumps(score)  # JSON-ready
    assert score["directed"] is True  # Clune's networks: directed Q
    # The pruned graph: 10, 11, 12 -> 14 -> 16 and 12 -> 16 (Leicht-Newman
    # directed Q, brute force over its 52 partitions).
    assert score["n_nodes"] == 5 and score["n_edges"] == 5
    a = np.zeros((5, 5))
    for i, j in [(0, 3), (1, 3), (2, 3), (3, 4), (2, 4)]:
        a[i, j] = 1
    assert score["q"] == pytest.approx(brute_force_q(a, directed=True), abs=1e-12)
    # The reported modules are a partition of the kept nodes that reaches that Q.
    ids = [10, 11, 12, 14, 16]
    assert sorted(sum(score["modules"], [])) == ids
    assert set(score["labels"]) == set(ids)
    g = nx.from_numpy_array(a, create_using=nx.DiGraph)
    blocks = [{ids.index(i) for i in m} for m in score["modules"]]
    assert nx.community.modularity(g, blocks) == pytest.approx(score["q"], abs=1e-12)
    assert all(len({score["labels"][i] for i in m}) == 1 for m in score["modules"])
    # n-cut on the |w| graph with only isolated nodes dropped: 13 -> 15 is a
    # component of its own, so the best 2-cut cuts nothing (hand-worked: 0).
    assert score["ncut"] == pytest.approx(0.0, abs=1e-12)
    # p = (r + 1) / (n + 1): no shuffle can beat a cut of 0, so p >= 1/11.
    r = score["clusterability_p"] * 11 - 1
    assert r == pytest.approx(round(r)) and 0 <= round(r) <= 10


def test_score_network_circuit_is_undirected():
    score = score_network(circuit(), n_shuffles=5, seed=0)
    assert score["directed"] is False  # Kashtan & Alon: undirected Q
    g = network_graph(circuit(), directed=False)
    assert score["q"] == pytest.approx(brute_force_q(g.adjacency, directed=False), abs=1e-12)


def test_score_network_without_edges():
    score = score_network(layered([]), n_shuffles=5)
    assert score["q"] == 0.0 and score["n_nodes"] == 0
    assert score["ncut"] is None and score["clusterability_p"] is None


def two_xor_circuit(rewired=False):
    """Two separate 4-NAND XORs (x0 xor x1 -> gate 7, x2 xor x3 -> gate 11);
    ``rewired``: gate 8 reads gate 7 in place of x3, entangling them."""
    gates = []
    for a, b, g in ((0, 1, 4), (2, 3, 8)):
        gates += [(g, (a, b)), (g + 1, (a, g)), (g + 2, (b, g)), (g + 3, (g + 1, g + 2))]
    if rewired:
        gates[4] = (8, (2, 7))
    return {
        "kind": "circuit",
        "inputs": [0, 1, 2, 3],
        "gates": [{"id": g, "in": list(s)} for g, s in gates],
        "outputs": [7, 11],
    }


def test_score_network_information_flow_and_agreement():
    """Two separate XORs: every measure splits them, so the three partitions
    agree exactly on the nodes they share; rewiring one source entangles the
    function, which information flow sees though Q hardly does."""
    score = score_network(two_xor_circuit(), n_shuffles=5, seed=0)
    json.dumps(score)
    flow = score["information_flow"]
    assert flow["score"] == pytest.approx(1.0) and flow["n_parts"] == 2
    assert sorted(map(sorted, flow["modules"])) == [[4, 5, 6, 7], [8, 9, 10, 11]]
    assert set(flow["labels"]) == set(range(4, 12))  # inputs are not labelled
    agreement = score["partition_agreement"]
    assert set(agreement) == {"q_vs_ncut", "q_vs_information_flow", "ncut_vs_information_flow", "q_method"}
    assert agreement["q_method"] == "exact"
    assert agreement["q_vs_information_flow"] == {"nmi": 1.0, "ari": 1.0, "nodes": 8}
    assert agreement["q_vs_ncut"]["nodes"] == 12 and agreement["q_vs_ncut"]["nmi"] == pytest.approx(1.0)
    entangled = score_network(two_xor_circuit(rewired=True), n_shuffles=5, seed=0)
    assert entangled["information_flow"]["score"] < 0.5
    assert entangled["q"] > 0.4


def test_score_network_feedback_circuit_has_no_information_flow():
    net = two_xor_circuit()
    net["gates"][0]["in"] = [0, 7]  # gate 4 reads the XOR it feeds: a loop to an output
    score = score_network(net, n_shuffles=5, seed=0)
    assert score["information_flow"] is None and "network.gates" in score["information_flow_error"]
    assert score["partition_agreement"]["q_vs_information_flow"] is None
    assert score["partition_agreement"]["q_vs_ncut"] is not None


def test_agreement_uses_the_exact_q_partition_whatever_q_was_maximised_with():
    net = two_xor_circuit(rewired=True)
    spectral = score_network(net, method="spectral", n_shuffles=3, seed=0)
    exact = score_network(net, method="exact", n_shuffles=3, seed=0)
    assert spectral["method"] == "spectral" and spectral["partition_agreement"]["q_method"] == "exact"
    assert spectral["partition_agreement"] == exact["partition_agreement"]
