"""Independent reference tests for the layered tanh networks of Clune, Mouret &
Lipson 2013 (``evomod.models.layered`` / ``evomod.kernels.layered``).

The reference evaluator below is written from the paper's definition: node
value y = tanh(lam * (sum_in w * y_in + b)), inputs +-1 (black = +1), output
> 0 means true, connections only between consecutive layers.
"""

import json
import math
from collections import defaultdict

import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.models.layered import LayeredModel
from evomod.tasks import all_patterns, get_task

INPUTS = all_patterns(8)
ALLOWED = (-2, -1, 1, 2)


# -- reference helpers -------------------------------------------------------------


def layer_ids(layers):
    """Node ids of each layer: inputs first, then each layer in order."""
    ids, start = [], 0
    for w in layers:
        ids.append(list(range(start, start + w)))
        start += w
    return ids


def incoming_lists(model, weights_row):
    inc = defaultdict(list)
    for e, (s, d) in enumerate(zip(model.slot_src.tolist(), model.slot_dst.tolist())):
        w = int(weights_row[e])
        if w != 0:
            inc[d].append((s, w))
    return inc


def reference_scalar(model, layers, weights_row, biases_row, pattern_bits, lam):
    """Plain-Python evaluation of one network on one pattern.

    Returns (output node values, output node pre-activation sums)."""
    ids = layer_ids(layers)
    n_in = layers[0]
    inc = incoming_lists(model, weights_row)
    y = {}
    for i in ids[0]:
        y[i] = 1.0 if pattern_bits[i] else -1.0
    sums = {}
    for layer in ids[1:]:
        for node in layer:
            terms = [w * y[s] for s, w in inc[node]]
            terms.append(float(biases_row[node - n_in]))
            s = math.fsum(terms)
            sums[node] = s
            y[node] = math.tanh(lam * s)
    return [y[o] for o in ids[-1]], [sums[o] for o in ids[-1]]


def reference_vector(model, layers, weights_row, biases_row, inputs, lam):
    """The same definition, with each node's value held as a vector over patterns
    (loops over nodes and edges in Python). Returns (values, sums), (P, n_out)."""
    ids = layer_ids(layers)
    n_in = layers[0]
    inc = incoming_lists(model, weights_row)
    y = {}
    x = np.asarray(inputs, dtype=bool)
    for i in ids[0]:
        y[i] = np.where(x[:, i], 1.0, -1.0)
    sums = {}
    for layer in ids[1:]:
        for node in layer:
            s = np.full(x.shape[0], float(biases_row[node - n_in]))
            for src, w in inc[node]:
                s = s + w * y[src]
            sums[node] = s
            y[node] = np.tanh(lam * s)
    return (np.column_stack([y[o] for o in ids[-1]]), np.column_stack([sums[o] for o in ids[-1]]))


def hand_made(model, rng, n, density):
    """Networks where each slot is present with probability ``density``."""
    present = rng.random((n, model.n_slots)) < density
    w = rng.choice(np.array(ALLOWED, dtype=np.int8), size=(n, model.n_slots))
    weights = np.where(present, w, 0).astype(np.int8)
    biases = rng.integers(-2, 3, size=(n, model.n_nodes - model.n_inputs)).astype(np.int8)
    return {"weights": weights, "biases": biases}


def population(model, seed):
    rng = np.random.default_rng(seed)
    parts = [
        model.random(200, rng),
        hand_made(model, rng, 20, 1.0),
        hand_made(model, rng, 20, 0.1),
        hand_made(model, rng, 20, 0.5),
    ]
    # a network with no connections at all, and one with all weights +2 / -2
    empty = {
        "weights": np.zeros((1, model.n_slots), np.int8),
        "biases": rng.integers(-2, 3, size=(1, model.n_nodes - model.n_inputs)).astype(np.int8),
    }
    full_pos = {
        "weights": np.full((1, model.n_slots), 2, np.int8),
        "biases": np.zeros((1, model.n_nodes - model.n_inputs), np.int8),
    }
    full_neg = {
        "weights": np.full((1, model.n_slots), -2, np.int8),
        "biases": np.full((1, model.n_nodes - model.n_inputs), 1, np.int8),
    }
    parts += [empty, full_pos, full_neg]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("weights", "biases")}


# -- structure ----------------------------------------------------------------------


@pytest.mark.parametrize("layers", [(8, 8, 4, 2, 1), (4, 5, 3, 2), (3, 1)])
def test_slots_are_all_consecutive_layer_pairs(layers):
    model = LayeredModel(layers=layers)
    ids = layer_ids(layers)
    expected = {(s, d) for l in range(1, len(ids)) for s in ids[l - 1] for d in ids[l]}
    got = list(zip(model.slot_src.tolist(), model.slot_dst.tolist()))
    assert len(got) == len(set(got)) == len(expected)
    assert set(got) == expected
    assert model.n_slots == sum(a * b for a, b in zip(layers, layers[1:]))
    assert model.n_nodes == sum(layers)
    assert model.n_inputs == layers[0] and model.n_outputs == layers[-1]


def test_default_layers_and_slot_count():
    model = LayeredModel()
    assert list(model.widths) == [8, 8, 4, 2, 1]
    assert model.n_slots == 64 + 32 + 8 + 2


# -- forward pass against the reference --------------------------------------------


@pytest.mark.parametrize("lam", [20.0, 0.5, 1.0])
def test_outputs_match_reference_on_all_patterns(lam):
    layers = (8, 8, 4, 2, 1)
    model = LayeredModel(layers=layers, lam=lam)
    genomes = population(model, seed=11 + int(lam * 10))
    n = genomes["weights"].shape[0]
    assert n >= 260
    act = np.asarray(model.activations(genomes, INPUTS), dtype=np.float64)
    out = model.outputs(genomes, INPUTS)
    assert act.shape == (n, 256, 1) and out.shape == (n, 256, 1)
    assert out.dtype == bool
    zero_sums = 0
    for i in range(n):
        vals, sums = reference_vector(model, layers, genomes["weights"][i], genomes["biases"][i], INPUTS, lam)
        if lam == 20.0:
            # Node values are exactly -1, 0 or +1 (tanh(20 * k) rounds to +-1).
            assert set(np.unique(vals)) <= {-1.0, 0.0, 1.0}
            np.testing.assert_array_equal(act[i], vals)
            np.testing.assert_array_equal(out[i], vals > 0)
        else:
            np.testing.assert_allclose(act[i], vals, rtol=0, atol=1e-12)
            # Booleans exactly. (Exact-zero output sums are common -- e.g. an
            # output with no inputs and bias 0 -- and must give False.)
            np.testing.assert_array_equal(out[i], vals > 0)
            zero_sums += int((sums == 0).sum())
    # the data do exercise the "exactly 0 is false" boundary
    if lam != 20.0:
        assert zero_sums > 0


@pytest.mark.parametrize("lam", [20.0, 0.5, 1.0])
def test_scalar_reference_fsum_subset(lam):
    """A strictly scalar, correctly-rounded-sum reference on a subset."""
    layers = (8, 8, 4, 2, 1)
    model = LayeredModel(layers=layers, lam=lam)
    rng = np.random.default_rng(5)
    genomes = model.random(12, rng)
    act = np.asarray(model.activations(genomes, INPUTS), dtype=np.float64)
    out = model.outputs(genomes, INPUTS)
    for i in range(12):
        for p in range(0, 256, 3):
            vals, sums = reference_scalar(
                model, layers, genomes["weights"][i], genomes["biases"][i], INPUTS[p], lam
            )
            assert act[i, p, 0] == pytest.approx(vals[0], abs=1e-12)
            assert bool(out[i, p, 0]) == (vals[0] > 0)
            if lam == 20.0:
                assert act[i, p, 0] == vals[0]


@pytest.mark.parametrize("layers,lam", [((4, 5, 3, 2), 20.0), ((4, 5, 3, 2), 0.7), ((6, 2, 3), 20.0)])
def test_other_architectures(layers, lam):
    model = LayeredModel(layers=layers, lam=lam)
    rng = np.random.default_rng(3)
    inputs = all_patterns(layers[0])
    genomes = hand_made(model, rng, 60, 0.6)
    act = np.asarray(model.activations(genomes, inputs), dtype=np.float64)
    out = model.outputs(genomes, inputs)
    assert out.shape == (60, 2 ** layers[0], layers[-1])
    for i in range(60):
        vals, sums = reference_vector(model, layers, genomes["weights"][i], genomes["biases"][i], inputs, lam)
        np.testing.assert_allclose(act[i], vals, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(out[i], vals > 0)


@pytest.mark.parametrize("layers", [(8, 8, 4, 2, 1), (8, 80, 1), (4, 300, 1)])
def test_sign_path_sums_never_overflow(layers):
    """The sign path sums in the narrowest integer type that holds every
    sum: 8-bit for the retina, wider for wide layers, whose sums (up to 2 *
    300 + 2 here) would wrap around in 8 bits; the values must match the
    float reference either way, including all-+2 networks with the largest sums."""
    model = LayeredModel(layers=layers, lam=20.0)
    rng = np.random.default_rng(4)
    inputs = all_patterns(layers[0])
    genomes = hand_made(model, rng, 30, 0.7)
    genomes["weights"][:5] = 2
    genomes["biases"][:5] = 2
    act = np.asarray(model.activations(genomes, inputs), dtype=np.float64)
    target = rng.random((len(inputs), layers[-1])) < 0.5
    perf = model.performance(genomes, inputs, target)
    largest = 0
    for i in range(30):
        vals, sums = reference_vector(
            model, layers, genomes["weights"][i], genomes["biases"][i], inputs, 20.0
        )
        np.testing.assert_array_equal(act[i], vals)
        correct = np.where(target, vals > 0, vals < 0).mean()
        assert perf[i] == correct
        largest = max(largest, int(np.abs(sums).max()))
    # The all-+2 networks reach the output's bound (fan-in times 2, plus 2).
    assert largest == 2 * layers[-2] + 2
    assert (largest > 127) == (layers[-2] > 62)


def test_lambda_just_below_sign_threshold_uses_real_tanh():
    """lam = 5: tanh(5) < 1, so node values are not just -1/0/1."""
    layers = (8, 8, 4, 2, 1)
    model = LayeredModel(layers=layers, lam=5.0)
    rng = np.random.default_rng(8)
    genomes = model.random(40, rng)
    act = np.asarray(model.activations(genomes, INPUTS), dtype=np.float64)
    for i in range(40):
        vals, _ = reference_vector(model, layers, genomes["weights"][i], genomes["biases"][i], INPUTS, 5.0)
        np.testing.assert_allclose(act[i], vals, rtol=0, atol=1e-12)


@pytest.mark.parametrize("operators", ["authors", "literal"])
@pytest.mark.parametrize(
    "layers, lam",
    [((8, 8, 4, 2, 1), 20.0), ((8, 8, 4, 2, 1), 5.0), ((8, 4, 3), 20.0), ((8, 4, 3), 5.0)],
    ids=["sign", "tanh", "three-outputs-sign", "three-outputs-tanh"],
)
def test_performance_is_fraction_correct(operators, layers, lam):
    task = get_task("retina")
    model = LayeredModel(layers=layers, lam=lam, operators=operators)
    rng = np.random.default_rng(21)
    genomes = model.random(50, rng)
    zero_outputs = 0
    for goal in ("and", "or", "four_black"):
        # One target column per output: the goal, then shifted copies of it.
        target = np.column_stack([np.roll(task.goals[goal][:, 0], k) for k in range(layers[-1])])
        perf = model.performance(genomes, task.inputs, target)
        assert perf.shape == (50,)
        for i in range(50):
            vals, _ = reference_vector(
                model, layers, genomes["weights"][i], genomes["biases"][i], task.inputs, lam
            )
            zero_outputs += int((vals == 0).sum())
            if operators == "literal":  # an output of 0 reads as "false"
                expected = np.mean((vals > 0) == target)
            else:  # the authors': "true" needs > 0, "false" needs < 0
                expected = np.mean(np.where(target, vals > 0, vals < 0))
            assert perf[i] == pytest.approx(expected, abs=1e-15)
    assert zero_outputs > 0  # the rule for an output of exactly 0 is exercised


def test_handmade_network_computes_x0_and_x4():
    """Hand-computed: node 8 = tanh(20 (x0 + x4 - 1)) is +1 iff both pixels are
    black, then relayed 8 -> 16 -> 20 -> 22 with weight 1 and bias 0."""
    model = LayeredModel()
    slot = {(s, d): e for e, (s, d) in enumerate(zip(model.slot_src.tolist(), model.slot_dst.tolist()))}
    w = np.zeros((1, model.n_slots), np.int8)
    b = np.zeros((1, model.n_nodes - 8), np.int8)
    # node 8 = x0 AND x4: tanh(20*(x0 + x4 - 1))
    w[0, slot[(0, 8)]] = 1
    w[0, slot[(4, 8)]] = 1
    b[0, 8 - 8] = -1
    # relay 8 -> 16 -> 20 -> 22 with weight 1, bias 0
    w[0, slot[(8, 16)]] = 1
    w[0, slot[(16, 20)]] = 1
    w[0, slot[(20, 22)]] = 1
    out = model.outputs({"weights": w, "biases": b}, INPUTS)[0, :, 0]
    expected = INPUTS[:, 0] & INPUTS[:, 4]
    np.testing.assert_array_equal(out, expected)


# -- mutation -------------------------------------------------------------------------


def genomes_with_count(model, n, count, rng, bias_value=None):
    weights = np.zeros((n, model.n_slots), np.int8)
    slots = np.argsort(rng.random((n, model.n_slots)), axis=1)[:, :count]
    values = rng.choice(np.array(ALLOWED, np.int8), size=(n, count))
    np.put_along_axis(weights, slots, values, axis=1)
    assert ((weights != 0).sum(axis=1) == count).all()
    nb = model.n_nodes - model.n_inputs
    if bias_value is None:
        biases = rng.integers(-2, 3, size=(n, nb)).astype(np.int8)
    else:
        biases = np.full((n, nb), bias_value, np.int8)
    return {"weights": weights, "biases": biases}


def within(observed, expected, sd, k=4.0):
    assert abs(observed - expected) <= k * sd, (observed, expected, sd)


def test_mutation_keeps_values_allowed_and_input_untouched():
    model = LayeredModel(operators="literal")
    rng = np.random.default_rng(1)
    g = model.random(200, rng)
    for _ in range(150):
        before = {k: v.copy() for k, v in g.items()}
        child = model.mutate(g, rng)
        for k in g:
            np.testing.assert_array_equal(g[k], before[k])
            assert not np.shares_memory(child[k], g[k])
            assert child[k].shape == g[k].shape
        assert child["weights"].dtype == np.int8 and child["biases"].dtype == np.int8
        assert set(np.unique(child["weights"]).tolist()) <= {-2, -1, 0, 1, 2}
        assert child["biases"].min() >= -2 and child["biases"].max() <= 2
        g = child


def test_mutation_respects_custom_ranges():
    model = LayeredModel(
        operators="literal",
        weights=(-3, -1, 1, 3),
        bias_min=-1,
        bias_max=4,
        bias_rate=0.5,
        weight_rate_scale=10.0,
    )
    rng = np.random.default_rng(2)
    g = model.random(100, rng)
    assert set(np.unique(g["weights"]).tolist()) <= {-3, -1, 0, 1, 3}
    assert g["biases"].min() >= -1 and g["biases"].max() <= 4
    for _ in range(50):
        g = model.mutate(g, rng)
        assert set(np.unique(g["weights"]).tolist()) <= {-3, -1, 0, 1, 3}
        assert g["biases"].min() >= -1 and g["biases"].max() <= 4


def test_add_and_remove_connection_rates():
    """20 % add one connection, 20 % remove one, independently (remove may take
    the connection just added). Weight moves never add or remove connections."""
    model = LayeredModel(operators="literal")
    rng = np.random.default_rng(4)
    c, n = 30, 20000
    parent = genomes_with_count(model, n, c, rng)
    child = model.mutate(parent, rng)
    pw, cw = parent["weights"] != 0, child["weights"] != 0
    added = (cw & ~pw).sum(axis=1)
    removed = (pw & ~cw).sum(axis=1)
    assert added.max() <= 1 and removed.max() <= 1
    # An add survives unless the removal picks it (1 of c + 1 connections).
    p_added = 0.2 * (1 - 0.2 / (c + 1))
    # A removal shows as a lost old connection unless it took the new one.
    p_removed = 0.2 * (0.8 + 0.2 * c / (c + 1))
    within(added.mean(), p_added, math.sqrt(p_added * (1 - p_added) / n))
    within(removed.mean(), p_removed, math.sqrt(p_removed * (1 - p_removed) / n))
    net = cw.sum(axis=1) - c
    for value, p in ((1, 0.2 * 0.8), (-1, 0.8 * 0.2), (0, 0.68)):
        within((net == value).mean(), p, math.sqrt(p * (1 - p) / n))
    # Added weights are drawn from the allowed set, evenly.
    new_values = child["weights"][cw & ~pw]
    assert set(np.unique(new_values).tolist()) <= set(ALLOWED)
    m = len(new_values)
    for v in ALLOWED:
        within((new_values == v).sum(), m / 4, math.sqrt(m * 0.25 * 0.75))


def test_add_and_remove_pick_slots_uniformly():
    from scipy.stats import chisquare

    model = LayeredModel(
        operators="literal",
        add_connection_rate=1.0,
        remove_connection_rate=0.0,
        weight_rate_scale=0.0,
        bias_rate=0.0,
    )
    rng = np.random.default_rng(6)
    n = 20000
    # every parent has the same 20 connections
    base = genomes_with_count(model, 1, 20, rng)
    parent = {k: np.repeat(v, n, axis=0) for k, v in base.items()}
    child = model.mutate(parent, rng)
    added = (child["weights"] != 0) & (parent["weights"] == 0)
    assert (added.sum(axis=1) == 1).all()
    empty = np.flatnonzero(base["weights"][0] == 0)
    counts = added.sum(axis=0)
    assert counts[base["weights"][0] != 0].sum() == 0
    assert chisquare(counts[empty]).pvalue > 1e-4

    model = LayeredModel(
        operators="literal",
        add_connection_rate=0.0,
        remove_connection_rate=1.0,
        weight_rate_scale=0.0,
        bias_rate=0.0,
    )
    child = model.mutate(parent, rng)
    removed = (child["weights"] == 0) & (parent["weights"] != 0)
    assert (removed.sum(axis=1) == 1).all()
    counts = removed.sum(axis=0)[base["weights"][0] != 0]
    assert chisquare(counts).pvalue > 1e-4


def test_full_and_empty_networks_under_add_remove():
    model = LayeredModel(operators="literal", add_connection_rate=1.0, remove_connection_rate=0.0)
    rng = np.random.default_rng(9)
    full = genomes_with_count(model, 50, model.n_slots, rng)
    child = model.mutate(full, rng)
    assert ((child["weights"] != 0).sum(axis=1) == model.n_slots).all()
    model = LayeredModel(operators="literal", add_connection_rate=0.0, remove_connection_rate=1.0)
    empty = genomes_with_count(model, 50, 0, rng)
    child = model.mutate(empty, rng)
    assert (child["weights"] == 0).all()


@pytest.mark.parametrize("c", [4, 30, 90])
def test_weight_moves_without_add_remove(c):
    """Each weight moves +-1 with probability 2/c; a move off {-2,-1,1,2} is
    ignored, so every weight changes with probability 1/c (each allowed value
    has exactly one allowed neighbour), one change per offspring on average."""
    model = LayeredModel(operators="literal", add_connection_rate=0.0, remove_connection_rate=0.0)
    rng = np.random.default_rng(10 + c)
    n = 8000
    parent = genomes_with_count(model, n, c, rng)
    child = model.mutate(parent, rng)
    pw, cw = parent["weights"], child["weights"]
    np.testing.assert_array_equal(pw != 0, cw != 0)
    changed = pw != cw
    per = changed.sum(axis=1)
    q = 1.0 / c
    within(per.mean(), c * q, math.sqrt(c * q * (1 - q) / n))
    # only moves to the one allowed neighbour
    neighbour = {-2: -1, -1: -2, 1: 2, 2: 1}
    src, dst = pw[changed], cw[changed]
    for a, b in zip(src.tolist(), dst.tolist()):
        assert neighbour[a] == b
    # all four values move equally often relative to how often they occur
    for v in ALLOWED:
        k = (pw == v).sum()
        within((changed & (pw == v)).sum(), k * q, math.sqrt(k * q * (1 - q)))


def test_weight_moves_with_default_rates():
    """With add/remove on, the rate uses the offspring's own connection count;
    weights present in both parent and child each change with prob
    min(1, 2/count) / 2. Mean changes per offspring close to 1 (2 attempted
    moves, half of them ignored)."""
    model = LayeredModel(operators="literal")
    rng = np.random.default_rng(12)
    c, n = 30, 20000
    parent = genomes_with_count(model, n, c, rng)
    child = model.mutate(parent, rng)
    pw, cw = parent["weights"], child["weights"]
    both = (pw != 0) & (cw != 0)
    changed = both & (pw != cw)
    count_after = (cw != 0).sum(axis=1)
    q = np.minimum(1.0, 2.0 / count_after) / 2.0
    expected = (both.sum(axis=1) * q).sum()
    var = (both.sum(axis=1) * q * (1 - q)).sum()
    within(changed.sum(), expected, math.sqrt(var))
    # Close to 1 per offspring. Measured spread of this mean over 40 seeds
    # (default_rng(1000..1039), n = 20000, 30 connections): sd 0.0073, equal
    # to the per-offspring sd 0.98 / sqrt(20000); its expectation is 0.9936,
    # not exactly 1 (add/remove change the count the rate uses). Four sd.
    within(changed.sum(axis=1).mean(), 1.0, 0.0073)


@pytest.mark.parametrize("value,p_change", [(0, 1 / 24), (1, 1 / 24), (2, 1 / 48), (-2, 1 / 48)])
def test_bias_moves(value, p_change):
    model = LayeredModel(operators="literal")
    rng = np.random.default_rng(20 + value)
    n = 20000
    parent = genomes_with_count(model, n, 30, rng, bias_value=value)
    child = model.mutate(parent, rng)
    diff = child["biases"].astype(int) - value
    assert set(np.unique(diff).tolist()) <= {-1, 0, 1}
    m = diff.size
    within((diff != 0).sum(), m * p_change, math.sqrt(m * p_change * (1 - p_change)))
    if abs(value) < 2:
        up, down = (diff == 1).sum(), (diff == -1).sum()
        within(up, m / 48, math.sqrt(m / 48))
        within(down, m / 48, math.sqrt(m / 48))
    else:
        assert (diff * np.sign(value) <= 0).all()


def test_mutation_is_reproducible_from_seed():
    model = LayeredModel(operators="literal")
    g = model.random(100, np.random.default_rng(0))
    a = model.mutate(g, np.random.default_rng(42))
    b = model.mutate(g, np.random.default_rng(42))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


# -- random initialisation ----------------------------------------------------------------


def test_random_init_distribution():
    model = LayeredModel(operators="literal")
    rng = np.random.default_rng(13)
    n = 6000
    g = model.random(n, rng)
    assert g["weights"].shape == (n, 106) and g["weights"].dtype == np.int8
    assert g["biases"].shape == (n, 15) and g["biases"].dtype == np.int8
    counts = (g["weights"] != 0).sum(axis=1)
    # counts = min(U{0..120}, 106)
    support = np.minimum(np.arange(121), 106)
    mean = support.mean()
    var = support.var()
    within(counts.mean(), mean, math.sqrt(var / n))
    assert counts.min() >= 0 and counts.max() <= 106
    p_full = 15 / 121
    within((counts == 106).mean(), p_full, math.sqrt(p_full * (1 - p_full) / n))
    p_zero = 1 / 121
    within((counts == 0).mean(), p_zero, math.sqrt(p_zero * (1 - p_zero) / n))
    # weight values even over the allowed set, biases even over -2..2
    w = g["weights"][g["weights"] != 0]
    for v in ALLOWED:
        within((w == v).sum(), w.size / 4, math.sqrt(w.size * 3 / 16))
    b = g["biases"]
    for v in range(-2, 3):
        within((b == v).sum(), b.size / 5, math.sqrt(b.size * 4 / 25))
    # slots used evenly: each slot present with probability E[count] / 106
    occ = (g["weights"] != 0).mean(axis=0)
    p_slot = mean / 106
    assert np.all(np.abs(occ - p_slot) <= 5 * math.sqrt(p_slot * (1 - p_slot) / n))


# -- JSON exchange -------------------------------------------------------------------------

CLUNE = (
    [(x - 3.5, 0.0) for x in range(8)]
    + [(x - 3.5, 1.0) for x in range(8)]
    + [(-2.0, 2.0), (-1.0, 2.0), (1.0, 2.0), (2.0, 2.0)]
    + [(-1.0, 3.0), (1.0, 3.0)]
    + [(0.0, 4.0)]
)


def test_to_json_format():
    model = LayeredModel()
    rng = np.random.default_rng(14)
    g = model.random(10, rng)
    for i in range(10):
        d = model.to_json(g, i)
        d = json.loads(json.dumps(d))  # must be plain JSON
        assert d["kind"] == "layered"
        assert d["layers"] == [8, 8, 4, 2, 1]
        assert [nd["id"] for nd in d["nodes"]] == list(range(23))
        layer_of = [0] * 8 + [1] * 8 + [2] * 4 + [3] * 2 + [4]
        for nd in d["nodes"]:
            assert set(nd) >= {"id", "layer", "bias", "x", "y"}
            assert nd["layer"] == layer_of[nd["id"]]
            assert (nd["x"], nd["y"]) == CLUNE[nd["id"]]
            if nd["id"] >= 8:
                assert nd["bias"] == int(g["biases"][i, nd["id"] - 8])
        slots = {
            (s, dd): e for e, (s, dd) in enumerate(zip(model.slot_src.tolist(), model.slot_dst.tolist()))
        }
        edges = d["edges"]
        assert len(edges) == int((g["weights"][i] != 0).sum())
        seen = set()
        for s, dd, w in edges:
            assert layer_of[dd] == layer_of[s] + 1
            assert w in ALLOWED
            assert g["weights"][i, slots[(s, dd)]] == w
            seen.add((s, dd))
        assert len(seen) == len(edges)


def test_json_round_trip():
    model = LayeredModel()
    g = population(model, 16)
    n = g["weights"].shape[0]
    out = model.outputs(g, INPUTS)
    for i in range(0, n, 7):
        d = json.loads(json.dumps(model.to_json(g, i)))
        back = model.from_json(d)
        assert back["weights"].shape == (1, model.n_slots)
        assert back["biases"].shape == (1, 15)
        np.testing.assert_array_equal(back["weights"][0], g["weights"][i])
        np.testing.assert_array_equal(back["biases"][0], g["biases"][i])
        np.testing.assert_array_equal(model.outputs(back, INPUTS)[0], out[i])


def _valid_json():
    model = LayeredModel()
    g = model.random(1, np.random.default_rng(17))
    return model, json.loads(json.dumps(model.to_json(g, 0)))


@pytest.mark.parametrize(
    "edge",
    [
        [0, 16, 1],  # input -> hidden layer 2 (skips a layer)
        [0, 22, 1],  # input -> output
        [8, 0, 1],  # backwards
        [0, 1, 1],  # same layer
        [0, 99, 1],
    ],
)  # no such node
def test_from_json_rejects_bad_edges(edge):
    model, d = _valid_json()
    d["edges"].append(edge)
    with pytest.raises(ConfigError):
        model.from_json(d)


@pytest.mark.parametrize("w", [0, 3, -3, 1.5])
def test_from_json_rejects_disallowed_weight(w):
    model, d = _valid_json()
    d["edges"] = [[0, 8, w]]
    with pytest.raises(ConfigError):
        model.from_json(d)


def test_from_json_rejects_bad_kind_layers_bias():
    model, d = _valid_json()
    bad = dict(d, kind="threshold")
    with pytest.raises(ConfigError):
        model.from_json(bad)
    bad = dict(d, layers=[8, 8, 4, 1])
    with pytest.raises(ConfigError):
        model.from_json(bad)
    bad = json.loads(json.dumps(d))
    bad["nodes"][10]["bias"] = 3
    with pytest.raises(ConfigError):
        model.from_json(bad)


def test_clune_positions():
    model = LayeredModel()
    np.testing.assert_array_equal(model.positions(), np.array(CLUNE))
    fixed = model.fixed_nodes()
    assert fixed.tolist() == [True] * 8 + [False] * 14 + [True]
