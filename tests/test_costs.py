"""Independent reference tests for the connection costs (``evomod.costs``).

- count: number of connections (Clune's "NC").
- squared_length: sum of squared Euclidean edge lengths after the free
  (hidden) nodes move to their cost-minimising positions (Clune et al. 2013);
  checked against a generic numerical minimiser (scipy), not a linear solve.
- distance_weighted: sum over edges of |w| * d ** power at fixed positions
  (Achterberg et al. 2023); checked by brute-force loops.
"""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from evomod.costs import ConnectionCost, node_positions
from evomod.errors import ConfigError
from evomod.models.layered import LayeredModel

CLUNE = (
    [(x - 3.5, 0.0) for x in range(8)]
    + [(x - 3.5, 1.0) for x in range(8)]
    + [(-2.0, 2.0), (-1.0, 2.0), (1.0, 2.0), (2.0, 2.0)]
    + [(-1.0, 3.0), (1.0, 3.0)]
    + [(0.0, 4.0)]
)


@pytest.fixture(scope="module")
def model():
    return LayeredModel()


def slot_index(model):
    return {(s, d): e for e, (s, d) in enumerate(zip(model.slot_src.tolist(), model.slot_dst.tolist()))}


def edge_list(model, weights_row):
    return [
        (int(s), int(d), int(w))
        for s, d, w in zip(model.slot_src.tolist(), model.slot_dst.tolist(), weights_row.tolist())
        if w != 0
    ]


def from_edges(model, edges_rows):
    """Genomes from lists of (src, dst, w)."""
    slots = slot_index(model)
    n = len(edges_rows)
    w = np.zeros((n, model.n_slots), np.int8)
    for i, edges in enumerate(edges_rows):
        for s, d, v in edges:
            w[i, slots[(s, d)]] = v
    return {"weights": w, "biases": np.zeros((n, model.n_nodes - model.n_inputs), np.int8)}


# -- references -------------------------------------------------------------------------


def numerical_min_squared_length(edges, positions, fixed):
    """Minimise sum of squared edge lengths over the coordinates of the
    non-fixed nodes that touch an edge, with a generic optimiser."""
    pos = np.array(positions, dtype=float)
    if not edges:
        return 0.0
    src = np.array([s for s, _, _ in edges])
    dst = np.array([d for _, d, _ in edges])
    movable = np.array(sorted({v for v in np.concatenate([src, dst]).tolist() if not fixed[v]}), dtype=int)
    if len(movable) == 0:
        return float(((pos[src] - pos[dst]) ** 2).sum())

    def f_and_grad(z):
        p = pos.copy()
        p[movable] = z.reshape(-1, 2)
        diff = p[src] - p[dst]
        g = np.zeros_like(p)
        np.add.at(g, src, 2 * diff)
        np.add.at(g, dst, -2 * diff)
        return float((diff**2).sum()), g[movable].ravel()

    res = minimize(
        f_and_grad, pos[movable].ravel(), jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 10000}
    )
    return float(res.fun)


def brute_count(edges):
    return float(len(edges))


def brute_distance_weighted(edges, positions, power):
    total = 0.0
    for s, d, w in edges:
        dist = math.hypot(positions[s][0] - positions[d][0], positions[s][1] - positions[d][1])
        total += abs(w) * dist**power
    return total


# -- networks to cost ---------------------------------------------------------------------


def special_networks(model):
    """Hand-made cases: dangling hidden nodes, floating hidden components, a chain."""
    rows = [
        [],  # no connections
        [(0, 8, 1)],  # one input -> dangling hidden node
        [(0, 8, 1), (7, 8, -2)],  # two inputs -> dangling hidden node
        [(8, 16, 1), (16, 20, 2)],  # hidden chain, no fixed node at all
        [(8, 16, 1), (9, 16, -1), (16, 20, 1), (17, 20, 1)],  # floating tree
        [(0, 8, 1), (8, 16, 1), (16, 20, 1), (20, 22, 1)],  # chain input -> output
        [(0, 8, 1), (8, 16, 1), (16, 20, 1), (20, 22, 1), (16, 21, 1), (21, 22, -1)],  # with a cycle
        # anchored chain plus a separate floating component
        [(3, 9, 1), (9, 17, 2), (17, 21, 1), (21, 22, -1), (10, 18, 1), (11, 18, 1), (18, 20, 1)],
        # output fed by hidden nodes that have no path from the inputs
        [(12, 19, 1), (19, 20, 1), (20, 22, 2)],
        # dense input fan into one hidden node, which dangles
        [(i, 15, 1) for i in range(8)],
        # everything from inputs to layer 1, nothing further
        [(i, 8 + j, 1) for i in range(8) for j in range(8)],
    ]
    return from_edges(model, rows)


def all_slots(model):
    return {"weights": np.ones((1, model.n_slots), np.int8), "biases": np.zeros((1, 15), np.int8)}


def cat(*parts):
    return {k: np.concatenate([p[k] for p in parts]) for k in ("weights", "biases")}


# -- squared_length --------------------------------------------------------------------------


@pytest.mark.parametrize("positions_kind", ["model", "index", "random"])
def test_squared_length_matches_numerical_minimum(model, positions_kind):
    rng = np.random.default_rng(31)
    if positions_kind == "random":
        pos = rng.normal(size=(model.n_nodes, 2)) * 3
    else:
        pos = node_positions(model, positions_kind)
    fixed = model.fixed_nodes()
    cost = ConnectionCost("squared_length", pos, fixed)
    parts = [model.random(60, rng), special_networks(model), all_slots(model)]
    # sparse hand-made networks: many dangling / floating pieces
    sparse = (rng.random((40, model.n_slots)) < 0.08) * rng.choice(
        np.array([-2, -1, 1, 2], np.int8), size=(40, model.n_slots)
    )
    parts.append({"weights": sparse.astype(np.int8), "biases": np.zeros((40, 15), np.int8)})
    g = cat(*parts)
    got = cost(model, g)
    assert got.shape == (g["weights"].shape[0],)
    for i in range(g["weights"].shape[0]):
        edges = edge_list(model, g["weights"][i])
        expected = numerical_min_squared_length(edges, pos, fixed)
        assert got[i] == pytest.approx(expected, rel=1e-6, abs=1e-7), (i, edges)


def test_squared_length_zero_for_floating_and_dangling(model):
    pos = node_positions(model, "model")
    cost = ConnectionCost("squared_length", pos, model.fixed_nodes())
    g = from_edges(
        model,
        [
            [(8, 16, 1), (16, 20, 2)],  # floating chain
            [(8, 16, 1), (9, 16, -1), (16, 20, 1), (17, 20, 1)],  # floating tree
            [(0, 8, 1)],  # dangling from one input
            [(5, 8, 1), (8, 16, 1), (16, 21, 1)],  # dangling chain from one input
            [(20, 22, 1)],  # hidden node that only feeds the output
        ],
    )
    np.testing.assert_allclose(cost(model, g), 0.0, atol=1e-12)


def test_squared_length_hand_computed(model):
    """A path input 3 -> 11 -> 18 -> 21 -> output 22: a chain of 4 edges
    between two fixed ends; the optimum spaces it evenly, so the cost is
    |end - start|^2 / 4."""
    pos = node_positions(model, "model")
    cost = ConnectionCost("squared_length", pos, model.fixed_nodes())
    g = from_edges(model, [[(3, 11, 1), (11, 18, 1), (18, 21, 1), (21, 22, 1)]])
    start, end = np.array(CLUNE[3]), np.array(CLUNE[22])
    expected = float(((end - start) ** 2).sum()) / 4
    assert cost(model, g)[0] == pytest.approx(expected, rel=1e-12)
    # a star: one free hidden node joined to two inputs; the optimum is the
    # midpoint, cost = |a - b|^2 / 2.
    g = from_edges(model, [[(0, 8, 1), (7, 8, -1)]])
    assert cost(model, g)[0] == pytest.approx(7.0**2 / 2, rel=1e-12)


def test_squared_length_ignores_weight_magnitude(model):
    pos = node_positions(model, "model")
    cost = ConnectionCost("squared_length", pos, model.fixed_nodes())
    rng = np.random.default_rng(33)
    g = model.random(30, rng)
    g2 = {"weights": np.sign(g["weights"]).astype(np.int8) * 2, "biases": g["biases"]}
    np.testing.assert_allclose(cost(model, g), cost(model, g2), rtol=1e-12, atol=1e-12)


def test_placement_is_a_stationary_point(model):
    """At the returned placement every free node that touches an edge sits at
    the mean of its neighbours (zero gradient), fixed nodes stay put, and the
    cost recomputed from the placement equals the reported cost."""
    pos = node_positions(model, "model")
    fixed = model.fixed_nodes()
    cost = ConnectionCost("squared_length", pos, fixed)
    rng = np.random.default_rng(34)
    g = cat(model.random(30, rng), special_networks(model))
    values = cost(model, g)
    for i in range(g["weights"].shape[0]):
        placed = cost.placement(model, g, i)
        assert placed.shape == (model.n_nodes, 2)
        np.testing.assert_array_equal(placed[fixed], pos[fixed])
        edges = edge_list(model, g["weights"][i])
        neighbours = {}
        for s, d, _ in edges:
            neighbours.setdefault(s, []).append(d)
            neighbours.setdefault(d, []).append(s)
        for v, nb in neighbours.items():
            if not fixed[v]:
                np.testing.assert_allclose(placed[v], placed[nb].mean(axis=0), atol=1e-9)
        total = sum(float(((placed[s] - placed[d]) ** 2).sum()) for s, d, _ in edges)
        assert total == pytest.approx(values[i], rel=1e-9, abs=1e-12)


def test_placement_for_fixed_position_kinds_is_positions(model):
    pos = node_positions(model, "model")
    g = model.random(3, np.random.default_rng(35))
    for kind in ("count", "distance_weighted"):
        c = ConnectionCost(kind, pos, model.fixed_nodes())
        np.testing.assert_array_equal(c.placement(model, g, 1), pos)


# -- count and distance_weighted -----------------------------------------------------------


def test_count_matches_brute_force(model):
    rng = np.random.default_rng(36)
    g = cat(model.random(100, rng), special_networks(model))
    c = ConnectionCost("count", node_positions(model, "model"), model.fixed_nodes())
    got = c(model, g)
    for i in range(g["weights"].shape[0]):
        assert got[i] == brute_count(edge_list(model, g["weights"][i]))


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5, 3.0])
@pytest.mark.parametrize("positions_kind", ["model", "index", "random"])
def test_distance_weighted_matches_brute_force(model, power, positions_kind):
    rng = np.random.default_rng(37)
    if positions_kind == "random":
        pos = rng.uniform(-5, 5, size=(model.n_nodes, 2))
    else:
        pos = node_positions(model, positions_kind)
    c = ConnectionCost("distance_weighted", pos, model.fixed_nodes(), power=power)
    g = cat(model.random(80, rng), special_networks(model))
    got = c(model, g)
    for i in range(g["weights"].shape[0]):
        expected = brute_distance_weighted(edge_list(model, g["weights"][i]), pos, power)
        assert got[i] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_distance_weighted_default_power_is_one(model):
    pos = node_positions(model, "model")
    c = ConnectionCost("distance_weighted", pos, model.fixed_nodes())
    g = from_edges(model, [[(0, 8, -2), (8, 16, 1)]])
    # |-2| * dist((-3.5,0),(-3.5,1)) + 1 * dist((-3.5,1),(-2,2))
    expected = 2 * 1.0 + math.sqrt(1.5**2 + 1.0)
    assert c(model, g)[0] == pytest.approx(expected, rel=1e-12)


def test_none_cost_is_zero(model):
    g = model.random(5, np.random.default_rng(38))
    c = ConnectionCost("none", node_positions(model, "model"), model.fixed_nodes())
    np.testing.assert_array_equal(c(model, g), np.zeros(5))


def test_unknown_cost_kind(model):
    with pytest.raises(ConfigError):
        ConnectionCost("length", node_positions(model, "model"), model.fixed_nodes())


# -- node positions -------------------------------------------------------------------------


def test_model_positions_are_clunes(model):
    np.testing.assert_array_equal(node_positions(model, "model"), np.array(CLUNE))


def test_fixed_nodes_are_inputs_and_output(model):
    assert model.fixed_nodes().tolist() == [True] * 8 + [False] * 14 + [True]


def test_random_inputs_permutes_only_inputs(model):
    base = np.array(CLUNE)
    seen = set()
    for seed in range(30):
        pos = node_positions(model, "random_inputs", rng=np.random.default_rng(seed))
        np.testing.assert_array_equal(pos[8:], base[8:])
        assert sorted(map(tuple, pos[:8].tolist())) == sorted(map(tuple, base[:8].tolist()))
        seen.add(tuple(pos[:8, 0].tolist()))
    # not the identity every time, and different seeds give different orders
    assert len(seen) > 20


def test_random_inputs_is_seeded(model):
    a = node_positions(model, "random_inputs", rng=np.random.default_rng(5))
    b = node_positions(model, "random_inputs", rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_random_inputs_needs_rng(model):
    with pytest.raises((ValueError, ConfigError)):
        node_positions(model, "random_inputs")


def test_index_positions(model):
    pos = node_positions(model, "index")
    assert pos.shape == (23, 2)
    np.testing.assert_array_equal(pos[:, 0], np.arange(23))
    np.testing.assert_array_equal(pos[:, 1], np.zeros(23))


def test_custom_positions(model):
    custom = [[float(k), float(k * k)] for k in range(23)]
    np.testing.assert_array_equal(node_positions(model, "custom", custom), np.array(custom))
    with pytest.raises(ConfigError):
        node_positions(model, "custom", custom[:-1])
    with pytest.raises(ConfigError):
        node_positions(model, "custom", None)
    with pytest.raises(ConfigError):
        node_positions(model, "spiral")


def test_squared_length_with_random_input_positions(model):
    """The cost follows the permuted coordinates: moving the inputs changes
    the optimum, and the numerical minimum still agrees."""
    rng = np.random.default_rng(39)
    pos = node_positions(model, "random_inputs", rng=rng)
    fixed = model.fixed_nodes()
    c = ConnectionCost("squared_length", pos, fixed)
    g = model.random(20, rng)
    got = c(model, g)
    for i in range(20):
        expected = numerical_min_squared_length(edge_list(model, g["weights"][i]), pos, fixed)
        assert got[i] == pytest.approx(expected, rel=1e-6, abs=1e-7)


# -- the remembered placement solves ------------------------------------------------------------


@pytest.mark.parametrize("scope", ["simplified", "all"])
def test_remembered_squared_length_is_the_solve_itself(model, scope):
    """A model whose genomes share one slot layout has its placement solves
    remembered by wiring. Every cost must be the very number the plain
    solve gives, whatever the table holds: a fresh table, a warm one (every
    wiring seen before), and one so small it is emptied many times. The
    networks include duplicates and pairs that differ in one slot of each
    64-bit word of the key."""
    rng = np.random.default_rng(47)
    pos = node_positions(model, "model")
    base = cat(model.random(80, rng), special_networks(model), all_slots(model))
    one_off = []
    for slot in (0, 1, 63, 64, model.n_slots - 1):
        row = {k: v[5:6].copy() for k, v in base.items()}
        row["weights"][0, slot] = 0 if row["weights"][0, slot] else 1
        one_off.append(row)
    pick = rng.integers(0, base["weights"].shape[0], 120)
    g = cat(base, *one_off, {k: v[pick] for k, v in base.items()})
    plain_cost = ConnectionCost(
        "squared_length", pos, model.fixed_nodes(), scope=scope, outputs=model.output_nodes()
    )
    src, dst, weight = model.edges(g)
    plain = plain_cost.of_edges(src, dst, weight)
    assert len(np.unique(plain)) > 50  # the fixture varies
    remembered = ConnectionCost(
        "squared_length", pos, model.fixed_nodes(), scope=scope, outputs=model.output_nodes()
    )
    first = remembered(model, g)
    again = remembered(model, {k: v[::-1] for k, v in g.items()})
    tiny = ConnectionCost(
        "squared_length", pos, model.fixed_nodes(), scope=scope, outputs=model.output_nodes()
    )
    tiny.MEMO_ENTRIES = 8
    small = tiny(model, g)
    assert np.array_equal(first, plain)
    assert np.array_equal(again[::-1], plain)
    assert np.array_equal(small, plain)
    # The table did remember: fewer entries than networks with repeats.
    assert 0 < remembered._memo[1][0] < len(plain)
    assert remembered._memo[1][0] == len({(w != 0).tobytes() for w in g["weights"]})


def test_remembered_costs_depend_on_the_pruning(model):
    """Under scope "simplified" a dead-end edge is free, under "all" it is
    charged: the two tables must not mix up one wiring's two costs."""
    pos = node_positions(model, "model")
    # Inputs 1 and 6 feed hidden node 9, which leads nowhere: a charged star.
    g = from_edges(model, [[(0, 8, 1), (8, 16, 1), (16, 20, 1), (20, 22, 1), (1, 9, 1), (6, 9, 1)]])
    costs = {
        scope: ConnectionCost(
            "squared_length", pos, model.fixed_nodes(), scope=scope, outputs=model.output_nodes()
        )(model, g)[0]
        for scope in ("simplified", "all")
    }
    assert costs["all"] > costs["simplified"] > 0
