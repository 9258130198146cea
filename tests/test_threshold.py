import json
import random

import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.models.threshold import ThresholdModel
from evomod.tasks import all_patterns


def retina_inputs():
    try:
        from evomod.tasks import get_task

        return get_task("retina").inputs
    except ImportError:
        return all_patterns(8)


# -- per-neuron references -----------------------------------------------------


def layout(layers):
    """(layer, first node id of previous layer, width of previous layer) per neuron."""
    rows, start = [], 0
    for l in range(1, len(layers)):
        for _ in range(layers[l]):
            rows.append((l, start, layers[l - 1]))
        start += layers[l - 1]
    return rows


def ref_outputs(layers, src, sign, thr, patterns):
    """Neuron by neuron, vectorised only over patterns."""
    values = [patterns[:, i].astype(int) for i in range(layers[0])]
    for j, (_, base, _) in enumerate(layout(layers)):
        total = np.zeros(len(patterns), dtype=int)
        for s in range(src.shape[1]):
            if src[j, s] >= 0:
                total = total + int(sign[j, s]) * values[base + int(src[j, s])]
        values.append((total >= int(thr[j])).astype(int))
    return np.stack(values[-layers[-1] :], axis=1).astype(bool)


def ref_structure(layers, src, sign):
    """Merged net weights, neurons used, and live edges by the documented rules."""
    n_in = layers[0]
    net = {}
    for j, (_, base, _) in enumerate(layout(layers)):
        for s in range(src.shape[1]):
            if src[j, s] >= 0:
                key = (base + int(src[j, s]), n_in + j)
                net[key] = net.get(key, 0) + int(sign[j, s])
    net = {k: w for k, w in net.items() if w != 0}
    n_nodes = sum(layers)
    reached = set(range(n_nodes - layers[-1], n_nodes))
    frontier = list(reached)
    while frontier:
        node = frontier.pop()
        for a, d in net:
            if d == node and a >= n_in and a not in reached:
                reached.add(a)
                frontier.append(a)
    has_input = {d for (_, d) in net}
    used = {v for v in reached if v in has_input}
    return net, reached, used


MODELS = [
    dict(),
    dict(layers=(4, 3, 2), fan_in=2, output_fan_in=3, threshold_min=-1, threshold_max=2),
    dict(layers=(5, 4, 1), fan_in=4, output_fan_in=1, threshold_min=0, threshold_max=0),
]


@pytest.mark.parametrize("cfg, count", [(MODELS[0], 200), (MODELS[1], 100), (MODELS[2], 100)])
def test_outputs_match_reference(cfg, count):
    model = ThresholdModel(**cfg)
    rng = np.random.default_rng(1)
    genomes = model.random(count, rng)
    # Uniform thresholds make most deep networks constant; thresholds of 0/1
    # on every other network let signals through so real functions are tested.
    lo, hi = max(0, model.threshold_min), min(1, model.threshold_max)
    genomes["threshold"][1::2] = rng.integers(lo, hi + 1, size=genomes["threshold"][1::2].shape)
    patterns = retina_inputs() if model.n_inputs == 8 else all_patterns(model.n_inputs)
    out = model.outputs(genomes, patterns)
    assert out.shape == (count, len(patterns), model.n_outputs) and out.dtype == bool
    for i in range(count):
        want = ref_outputs(
            model.layers, genomes["src"][i], genomes["sign"][i], genomes["threshold"][i], patterns
        )
        assert np.array_equal(out[i], want)
    # Not all constant: the sample exercises real functions.
    assert len({out[i].tobytes() for i in range(count)}) > 10


def test_subset_rows_and_performance():
    model = ThresholdModel()
    rng = np.random.default_rng(2)
    genomes = model.random(50, rng)
    patterns = retina_inputs()
    full = model.outputs(genomes, patterns)
    rows = rng.integers(0, 256, size=100)
    sub = model.outputs(genomes, patterns[rows])
    assert np.array_equal(sub, full[:, rows])
    target = rng.random((100, 1)) < 0.5
    perf = model.performance(genomes, patterns[rows], target)
    for i in range(50):
        want = ref_outputs(
            model.layers, genomes["src"][i], genomes["sign"][i], genomes["threshold"][i], patterns[rows]
        )
        assert perf[i] == pytest.approx(np.mean(want == target))


@pytest.mark.parametrize("cfg", MODELS[:2])
def test_structure_penalty_and_edges_match_reference(cfg):
    model = ThresholdModel(neuron_threshold=3, penalty_per_neuron=0.5, **cfg)
    rng = np.random.default_rng(3)
    genomes = model.random(200, rng)
    for _ in range(5):  # vary the sample beyond fresh random genomes
        genomes = model.mutate(genomes, rng)
    used_count = model.used_neurons(genomes)
    penalty = model.penalty(genomes)
    src, dst, weight = model.edges(genomes)
    n_in = model.n_inputs
    assert src.shape == (200, model.n_neurons * model.n_slots)
    counts = []
    for i in range(200):
        net, reached, used = ref_structure(model.layers, genomes["src"][i], genomes["sign"][i])
        counts.append(len(used))
        assert used_count[i] == len(used)
        assert penalty[i] == pytest.approx(0.5 * max(0, len(used) - 3))
        assert set(np.nonzero(model.used_mask(genomes)[i])[0] + n_in) == used
        # Summing the live slot weights per pair gives the expressed net weights.
        expressed = {}
        for s, d, w in zip(src[i], dst[i], weight[i]):
            if w != 0:
                expressed[(int(s), int(d))] = expressed.get((int(s), int(d)), 0) + int(w)
        assert expressed == {k: w for k, w in net.items() if k[1] in reached}
    assert len(set(counts)) > 3


def test_edge_slots_point_at_the_previous_layer():
    model = ThresholdModel()
    genomes = model.random(30, np.random.default_rng(4))
    src, dst, _ = model.edges(genomes)
    node_layer = np.repeat(np.arange(5), [8, 8, 4, 2, 1])
    assert np.all(node_layer[src] == node_layer[dst] - 1)
    assert np.array_equal(dst[0], np.repeat(np.arange(8, 23), 3))


# -- hand-built networks -------------------------------------------------------


def chain_net(model, output_threshold, weight_a=1, weight_b=1):
    """Pixels 0 and 4 carried up two relay chains; the output adds them."""
    nodes = [{"id": i, "layer": 0, "threshold": None} for i in range(8)]
    nodes += [
        {"id": i, "layer": int(model.node_layer[i]), "threshold": 3} for i in range(8, 22)
    ]  # off unless relaying
    nodes += [{"id": 22, "layer": 4, "threshold": output_threshold}]
    edges = [
        [0, 8, 1],
        [8, 16, 1],
        [16, 20, 1],
        [20, 22, weight_a],
        [4, 12, 1],
        [12, 18, 1],
        [18, 21, 1],
        [21, 22, weight_b],
    ]
    for relay in (8, 16, 20, 12, 18, 21):
        nodes[relay]["threshold"] = 1
    return model.from_json({"kind": "threshold", "layers": [8, 8, 4, 2, 1], "nodes": nodes, "edges": edges})


def test_hand_built_and_or_switch_by_output_threshold():
    model = ThresholdModel()
    x = all_patterns(8)
    a, b = x[:, 0], x[:, 4]
    assert np.array_equal(model.outputs(chain_net(model, 2), x)[0, :, 0], a & b)
    assert np.array_equal(model.outputs(chain_net(model, 1), x)[0, :, 0], a | b)
    assert np.array_equal(model.outputs(chain_net(model, 0, 1, -1), x)[0, :, 0], a | ~b)
    net = chain_net(model, 2)
    assert model.used_neurons(net)[0] == 7
    assert model.penalty(net)[0] == 0.0
    assert ThresholdModel(neuron_threshold=5).penalty(net)[0] == pytest.approx(0.02)


def test_duplicate_and_cancelling_slots():
    model = ThresholdModel()
    genomes = chain_net(model, 2)
    # Output reads neuron 20 twice (+2) and neuron 21 with +1 and -1 (cancelled).
    genomes["src"][0, 14] = [0, 0, -1]
    genomes["sign"][0, 14] = [1, 1, 1]
    data = model.to_json(genomes, 0)
    assert [e for e in data["edges"] if e[1] == 22] == [[20, 22, 2]]
    genomes["src"][0, 14] = [0, 1, -1]
    genomes["sign"][0, 14] = [1, -1, 1]
    genomes["threshold"][0, 14] = 1
    x = all_patterns(8)
    out = model.outputs(genomes, x)[0, :, 0]
    assert np.array_equal(out, x[:, 0] & ~x[:, 4])
    genomes["src"][0, 14] = [1, 1, -1]
    genomes["sign"][0, 14] = [1, -1, 1]
    assert model.used_neurons(genomes)[0] == 0  # output's only input cancels
    assert not any(e[1] == 22 for e in model.to_json(genomes, 0)["edges"])
    assert np.all(model.edges(genomes)[2] == 0)
    # A hidden neuron reading one source in all three slots.
    genomes["src"][0, 0] = [0, 0, 0]
    genomes["sign"][0, 0] = [-1, -1, -1]
    data = model.to_json(genomes, 0)
    assert [e for e in data["edges"] if e[1] == 8] == [[0, 8, -3]]
    assert model.to_json(model.from_json(data), 0) == data


# -- variation -----------------------------------------------------------------


def genes(g):
    n = len(g["src"])
    return np.concatenate([g["src"].reshape(n, -1), g["sign"].reshape(n, -1), g["threshold"]], axis=1).astype(
        int
    )


def check_rules(model, g):
    fan = np.array([3] * 14 + [2])
    slot = np.arange(3)[None, None, :]
    width = np.array([8] * 8 + [8] * 4 + [4] * 2 + [2])[None, :, None]
    open_ = slot < fan[None, :, None]
    assert np.all(np.where(open_, (g["src"] >= -1) & (g["src"] < width), g["src"] == -1))
    assert np.all(np.isin(g["sign"], [-1, 1]))
    assert np.all((g["threshold"] >= model.threshold_min) & (g["threshold"] <= model.threshold_max))
    assert g["src"].dtype == g["sign"].dtype == g["threshold"].dtype == np.int8


def test_mutation_changes_at_most_one_gene():
    model = ThresholdModel()
    rng = np.random.default_rng(5)
    genomes = model.random(20000, rng)
    before = {k: v.copy() for k, v in genomes.items()}
    child = model.mutate(genomes, rng)
    assert all(np.array_equal(genomes[k], before[k]) for k in genomes)
    diff = genes(child) != genes(genomes)
    changed = diff.sum(axis=1)
    assert set(np.unique(changed)) <= {0, 1}
    # Sign flips always show; the other genes always move to a different value.
    assert changed.mean() == pytest.approx(0.5, abs=0.02)
    check_rules(model, child)
    # Sources reach every value including "empty".
    moved = diff[:, 0]
    assert np.unique(child["src"][moved, 0, 0]).tolist() == list(range(-1, 8))
    assert np.all(child["src"][moved, 0, 0] != genomes["src"][moved, 0, 0])
    thr_moved = diff[:, -1]
    assert np.unique(child["threshold"][thr_moved, -1]).tolist() == list(range(-3, 4))


def test_many_mutations_and_crossovers_keep_the_rules():
    model = ThresholdModel()
    rng = np.random.default_rng(6)
    pop = model.random(300, rng)
    for _ in range(200):
        mates = {k: v[rng.permutation(300)] for k, v in pop.items()}
        pop = model.mutate(model.crossover(pop, mates, rng), rng)
    check_rules(model, pop)


def test_crossover_takes_whole_neurons():
    rng = np.random.default_rng(7)
    model = ThresholdModel()
    a, b = model.random(2000, rng), model.random(2000, rng)
    child = model.crossover(a, b, rng)
    from_a = (
        np.all(child["src"] == a["src"], axis=2)
        & np.all(child["sign"] == a["sign"], axis=2)
        & (child["threshold"] == a["threshold"])
    )
    from_b = (
        np.all(child["src"] == b["src"], axis=2)
        & np.all(child["sign"] == b["sign"], axis=2)
        & (child["threshold"] == b["threshold"])
    )
    assert np.all(from_a | from_b)
    only_b = from_b & ~from_a
    only_a = from_a & ~from_b
    assert only_b.sum() / (only_a.sum() + only_b.sum()) == pytest.approx(0.5, abs=0.02)
    # The loop applies crossover_probability; the operator itself always mixes.
    assert (only_a.any(axis=1) & only_b.any(axis=1)).mean() > 0.99
    assert ThresholdModel(crossover_probability=0.3).crossover_probability == 0.3


def test_variation_depends_only_on_the_generator_passed():
    # Crossing g with itself changes nothing, so use two different parents;
    # and a repeat only means something if the operators really change genes
    # and another seed changes them differently (no hidden global state).
    model = ThresholdModel()
    g = model.random(100, np.random.default_rng(8))
    h = model.random(100, np.random.default_rng(18))

    def vary(seed):
        rng = np.random.default_rng(seed)
        return genes(model.mutate(model.crossover(g, h, rng), rng))

    np.random.seed(1)
    x = vary(9)
    np.random.seed(2)  # the global generators must play no part
    random.seed(2)
    assert np.array_equal(x, vary(9))
    assert not np.array_equal(x, vary(10))
    assert (x != genes(g)).any(axis=1).mean() > 0.9 and (x != genes(h)).any(axis=1).mean() > 0.9


# -- positions and JSON ----------------------------------------------------------


def test_positions_and_fixed_nodes():
    model = ThresholdModel()
    pos = model.positions()
    assert pos.shape == (23, 2)
    steps = np.arange(-3.5, 4)
    assert np.array_equal(pos[:8, 0], steps) and np.all(pos[:8, 1] == 0)
    assert np.array_equal(pos[8:16, 0], steps) and np.all(pos[8:16, 1] == 1)
    assert pos[16:20].tolist() == [[-2, 2], [-1, 2], [1, 2], [2, 2]]
    assert pos[20:22].tolist() == [[-1, 3], [1, 3]]
    assert pos[22].tolist() == [0, 4]
    fixed = model.fixed_nodes()
    assert np.nonzero(fixed)[0].tolist() == list(range(8)) + [22]


@pytest.mark.parametrize("cfg", MODELS[:2])
def test_json_round_trip(cfg):
    model = ThresholdModel(neuron_threshold=2, **cfg)
    rng = np.random.default_rng(10)
    genomes = model.random(100, rng)
    patterns = all_patterns(model.n_inputs)
    out = model.outputs(genomes, patterns)
    for i in range(100):
        data = json.loads(json.dumps(model.to_json(genomes, i)))
        assert data["kind"] == "threshold" and data["layers"] == list(model.layers)
        assert [n["threshold"] is None for n in data["nodes"]] == [
            k < model.n_inputs for k in range(model.n_nodes)
        ]
        pairs = [(s, d) for s, d, _ in data["edges"]]
        assert len(pairs) == len(set(pairs))
        fan = {model.n_inputs + j: f for j, f in enumerate(model.neuron_fan_in)}
        assert all(w != 0 and abs(w) <= fan[d] for _, d, w in data["edges"])
        back = model.from_json(data)
        assert np.array_equal(model.outputs(back, patterns)[0], out[i])
        one = {k: v[i : i + 1] for k, v in genomes.items()}
        assert np.array_equal(model.used_mask(back), model.used_mask(one))
        assert model.to_json(back, 0) == data


def test_from_json_rejects_bad_networks():
    model = ThresholdModel()
    good = model.to_json(chain_net(model, 2), 0)

    def bad(field, edit):
        data = json.loads(json.dumps(good))
        edit(data)
        with pytest.raises(ConfigError) as err:
            model.from_json(data)
        assert err.value.field.startswith("network." + field), err.value.field

    model.from_json(good)
    bad("kind", lambda d: d.update(kind="circuit"))
    bad("layers", lambda d: d.update(layers=[8, 8, 4, 1]))
    bad("edges[8]", lambda d: d["edges"].append([0, 16, 1]))  # skips a layer
    bad("edges[8]", lambda d: d["edges"].append([20, 8, 1]))  # backwards
    bad("edges[8]", lambda d: d["edges"].append([0, 99, 1]))  # unknown node
    bad("edges[8]", lambda d: d["edges"].append([0, 8, 1]))  # repeated pair
    bad("edges[8].weight", lambda d: d["edges"].append([1, 8, 0]))
    bad("edges[8].weight", lambda d: d["edges"].append([1, 8, 4]))  # > fan-in
    bad("edges[9]", lambda d: d["edges"].extend([[1, 8, 1], [2, 8, 2]]))  # 4 slots
    bad("edges[3].weight", lambda d: d.update(edges=d["edges"][:3] + [[20, 22, -3]]))  # fan-in 2
    bad("edges[8]", lambda d: d["edges"].append([19, 22, 1]))  # output already has 2
    bad("nodes[9].threshold", lambda d: d["nodes"][9].update(threshold=9))
    bad("nodes[3].threshold", lambda d: d["nodes"][3].update(threshold=1))
    bad("nodes", lambda d: d["nodes"][9].update(layer=2))  # layer 2 would have 5 nodes
    bad("nodes", lambda d: d["nodes"].pop())


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(layers=(8,)), "model.layers"),
        (dict(layers=(8, 0, 1)), "model.layers[1]"),
        (dict(fan_in=0), "model.fan_in"),
        (dict(output_fan_in=0), "model.output_fan_in"),
        (dict(threshold_min=2, threshold_max=1), "model.threshold_max"),
        (dict(threshold_min=-200), "model.threshold_min"),
        (dict(neuron_threshold=-1), "model.neuron_threshold"),
        (dict(penalty_per_neuron=-0.1), "model.penalty_per_neuron"),
        (dict(mutation_probability=2), "model.mutation_probability"),
        (dict(crossover_probability=-1), "model.crossover_probability"),
    ],
)
def test_bad_config(kwargs, field):
    with pytest.raises(ConfigError) as err:
        ThresholdModel(**kwargs)
    assert err.value.field == field
    assert err.value.allowed is not None


def test_performance_at_the_widest_fan_in_and_several_outputs():
    """The evaluator sums slots in 8-bit integers: at fan-in 127 a neuron's
    sum reaches +-127, still exact. Random networks plus ones built to hit
    both extremes, on three outputs, against the reference."""
    from evomod.tasks import get_task

    task = get_task("logic6")
    model = ThresholdModel(
        layers=(6, 4, 3), fan_in=127, output_fan_in=127, threshold_min=-127, threshold_max=127
    )
    rng = np.random.default_rng(9)
    genomes = model.random(40, rng)
    # Thresholds near the typical sums (about +-11), so the neurons vary.
    genomes["threshold"] = rng.integers(-12, 13, size=genomes["threshold"].shape).astype(np.int8)
    # Rows 0-1: every slot reads input 0 (then neuron 0), all +1 or all -1,
    # so sums of +-127 meet thresholds of +-127.
    for row, s in ((0, 1), (1, -1)):
        genomes["src"][row] = 0
        genomes["sign"][row] = s
        genomes["threshold"][row] = 127 * s
    patterns = task.inputs
    target = task.target("G1")
    perf = model.performance(genomes, patterns, target)
    outputs = model.outputs(genomes, patterns)
    extremes = 0
    for i in range(40):
        want = ref_outputs(
            model.layers, genomes["src"][i], genomes["sign"][i], genomes["threshold"][i], patterns
        )
        assert np.array_equal(outputs[i], want)
        assert perf[i] == pytest.approx(np.mean(want == target), abs=1e-15)
        extremes += int(want.any() and not want.all())
    assert len(set(perf.tolist())) > 5 and extremes > 0
