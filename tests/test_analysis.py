import json
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from evomod import config as config_mod
from evomod.analysis import DEFAULT_SIGMAS, broadness, real_valued_outputs, single_mutations
from evomod.errors import ConfigError
from evomod.models.circuit import CircuitModel
from evomod.models.layered import LayeredModel
from evomod.models.threshold import ThresholdModel
from evomod.tasks import Task, all_patterns, get_task

# -- networks --------------------------------------------------------------------------

G1_PAIRS = [(0, 1), (0, 4), (1, 4), (5, 6), (2, 3), (2, 8), (3, 8), (9, 10), (7, 11), (12, 12)]


def circuit(pairs, outputs, n_inputs=4):
    return {
        "kind": "circuit",
        "inputs": list(range(n_inputs)),
        "gates": [{"id": n_inputs + i, "in": list(p)} for i, p in enumerate(pairs)],
        "outputs": list(outputs),
    }


# Kashtan & Alon's G1 = (X xor Y) and (Z xor W): two 4-NAND XORs and an AND
# (gates 4..13), and four spare gates wired each its own way.
G1 = circuit(G1_PAIRS + [(0, 1), (2, 9), (5, 11), (13, 3)], [13])
# The same with its output on a spare gate: not perfect on G1.
BROKEN = circuit(G1_PAIRS + [(0, 1), (2, 9), (5, 11), (13, 3)], [14])
# The same AND module moved to an OR of the XORs: perfect on G2.
G2 = circuit(G1_PAIRS[:8] + [(7, 7), (11, 11), (12, 13), (2, 9), (5, 11), (13, 3)], [14])

# XOR of two inputs from four NANDs (nodes 2, 4, 5, 6), with node 3 a spare
# copy of node 2. Counted by hand, of its 34 single mutations these 6 keep
# it XOR: the 4 rewirings of the spare node 3 (never read), and pointing the
# second source of node 4 or of node 5 from node 2 to its copy, node 3.
# Gates 0..4 have 1, 2, 3, 4, 5 other sources for each of their two genes
# and the output 4 other gates: 2 * (1 + 2 + 3 + 4 + 5) + 4 = 34. Each of
# the 11 genes is chosen with 1/11, then one of its other values evenly,
# so the neutral probability is 2/11 + (1/11)(1/3) + (1/11)(1/4) = 31/132.
XOR = circuit([(0, 1), (0, 1), (0, 2), (1, 2), (4, 5)], [6], n_inputs=2)
XOR_TASK = Task("xor2", all_patterns(2), {"xor": (all_patterns(2)[:, 0] ^ all_patterns(2)[:, 1])[:, None]})


def nand_outputs(net, p):
    """Output values on pattern ``p`` of a feed-forward NAND circuit, from the
    gate list alone (gates in id order, as feed-forward circuits are)."""
    values = {i: bool((p >> i) & 1) for i in net["inputs"]}
    for gate in sorted(net["gates"], key=lambda g: g["id"]):
        a, b = gate["in"]
        values[gate["id"]] = not (values[a] and values[b])
    return [values[o] for o in net["outputs"]]


def computes_xor(net):
    return all(nand_outputs(net, p) == [bool((p & 1) ^ (p >> 1))] for p in range(4))


def retina_threshold():
    """L AND R for Kashtan & Alon's threshold networks. With p and q the pixel
    counts of two pairs of a half (left: p = x0 + x2, q = x1 + x3), a half
    holds an object exactly when p >= 1 and (p = 2 or q != 1): layer 1 holds
    [p >= 1], [p >= 2], [q >= 1], [q >= 2]; layer 2 M = [p=2] - [q>=1] +
    [q=2] >= 0 and a relay of [p >= 1]; layer 3 their AND. 15 neurons used,
    two more than the penalty's 13."""
    nodes = [{"id": i, "layer": 0, "threshold": None} for i in range(8)]
    layer = {**{i: 1 for i in range(8, 16)}, **{i: 2 for i in range(16, 20)}, 20: 3, 21: 3, 22: 4}
    thr, edges = {}, []
    for (p0, p1, q0, q1), first, second, half in (((0, 2, 1, 3), 8, 16, 20), ((5, 7, 4, 6), 12, 18, 21)):
        a1, a2, b1, b2 = first, first + 1, first + 2, first + 3
        edges += [[p0, a1, 1], [p1, a1, 1], [p0, a2, 1], [p1, a2, 1]]
        edges += [[q0, b1, 1], [q1, b1, 1], [q0, b2, 1], [q1, b2, 1]]
        thr.update({a1: 1, a2: 2, b1: 1, b2: 2, second: 0, second + 1: 1, half: 2})
        edges += [[a2, second, 1], [b1, second, -1], [b2, second, 1], [a1, second + 1, 1]]
        edges += [[second, half, 1], [second + 1, half, 1]]
    edges += [[20, 22, 1], [21, 22, 1]]
    thr[22] = 2
    nodes += [{"id": i, "layer": layer[i], "threshold": thr[i]} for i in range(8, 23)]
    return {"kind": "threshold", "layers": [8, 8, 4, 2, 1], "nodes": nodes, "edges": edges}


def retina_layered(output_bias=-1):
    """L AND R (L OR R with output bias +1) for Clune et al.'s tanh networks:
    with pixels +-1, a left object is [x0+x1+x2+x3-1 > 0] OR
    [x0+x2-x1-x3-1 > 0] (and the right one mirrored); every sum is odd, so
    no node ever outputs 0. The unused nodes carry assorted biases."""
    bias = {8: -1, 9: -1, 10: -1, 11: -1, 12: 1, 13: -2, 14: 2, 15: -1, 16: 1, 17: 1, 18: -1, 19: 2}
    bias.update({20: 0, 21: 0, 22: output_bias})
    layer = {**{i: 1 for i in range(8, 16)}, **{i: 2 for i in range(16, 20)}, 20: 3, 21: 3, 22: 4}
    nodes = [{"id": i, "layer": 0, "bias": None} for i in range(8)]
    nodes += [{"id": i, "layer": layer[i], "bias": bias[i]} for i in range(8, 23)]
    edges = [[i, 8, 1] for i in range(4)] + [[0, 9, 1], [2, 9, 1], [1, 9, -1], [3, 9, -1]]
    edges += [[i, 10, 1] for i in range(4, 8)] + [[5, 11, 1], [7, 11, 1], [4, 11, -1], [6, 11, -1]]
    edges += [[8, 16, 1], [9, 16, 1], [10, 17, 1], [11, 17, 1]]
    edges += [[16, 20, 1], [17, 21, 1], [20, 22, 1], [21, 22, 1]]
    return {"kind": "layered", "layers": [8, 8, 4, 2, 1], "nodes": nodes, "edges": edges}


def test_fixtures_are_what_they_say():
    logic4, retina = get_task("logic4"), get_task("retina")
    model = CircuitModel(4, 1)
    assert model.performance(model.from_json(G1), logic4.inputs, logic4.goals["G1"])[0] == 1.0
    assert model.performance(model.from_json(G2), logic4.inputs, logic4.goals["G2"])[0] == 1.0
    assert model.performance(model.from_json(BROKEN), logic4.inputs, logic4.goals["G1"])[0] < 1.0
    assert computes_xor(XOR)
    threshold = ThresholdModel()
    net = threshold.from_json(retina_threshold())
    assert threshold.performance(net, retina.inputs, retina.goals["and"])[0] == 1.0
    assert threshold.used_neurons(net)[0] == 15
    layered = LayeredModel()
    for bias, goal in ((-1, "and"), (1, "or")):
        genome = layered.from_json(retina_layered(bias))
        assert layered.performance(genome, retina.inputs, retina.goals[goal])[0] == 1.0
        assert np.all(layered.activations(genome, retina.inputs) != 0)


# -- single mutations against the real operators ----------------------------------------


def key(genome, i=0):
    return tuple(np.ascontiguousarray(genome[k][i]).tobytes() for k in sorted(genome))


def outcomes(model, genome, n, seed):
    """Genomes of ``n`` calls of the model's own ``mutate`` on the one-row ``genome``."""
    rng = np.random.default_rng(seed)
    return [model.mutate(genome, rng) for _ in range(n)]


def check_frequencies(mutations, observed, expected_weight):
    """Every observed outcome is an enumerated one, and their counts fit
    ``expected_weight`` (one weight per enumerated outcome): the smallest
    p-value of chi-square tests on the outcomes, and on their counts summed
    per operator and per gene (which see a wrong share between operators or
    genes that the many outcome cells would dilute)."""
    index = {key(mutations.genomes, i): i for i in range(len(mutations))}
    assert len(index) == len(mutations), "enumerated outcomes must be distinct"
    counts = np.zeros(len(mutations))
    for child in observed:
        k = key(child)
        assert k in index, "mutate made a change the enumeration does not hold"
        counts[index[k]] += 1
    expected = expected_weight / expected_weight.sum() * counts.sum()
    assert expected.min() >= 5, "too few draws for a chi-square test"
    pvalues = [stats.chisquare(counts, expected).pvalue]
    for labels in (mutations.operator, mutations.gene):
        groups = np.unique(labels, return_inverse=True)[1]
        if groups.max() > 0:
            pvalues.append(stats.chisquare(np.bincount(groups, counts), np.bincount(groups, expected)).pvalue)
    return min(pvalues)


CIRCUIT_CASES = {
    "integer": (CircuitModel(4, 1), G1),
    "integer, feedback": (CircuitModel(4, 1, feedback=True, mutation_probability=0.9), G1),
    "binary": (CircuitModel(4, 1, genome="binary"), G1),
    "binary, 12 gates": (CircuitModel(4, 1, gates=12, genome="binary", mutation_probability=0.4), None),
    "threshold": (ThresholdModel(), retina_threshold()),
    "threshold, narrow": (ThresholdModel(threshold_min=-1, threshold_max=2, mutation_probability=0.8), None),
}


@pytest.mark.parametrize("case", list(CIRCUIT_CASES))
def test_single_mutations_are_what_mutate_does(case):
    model, network = CIRCUIT_CASES[case]
    rng = np.random.default_rng(3)
    genome = model.from_json(network) if network is not None else model.random(1, rng)
    mutations = single_mutations(model, genome)
    n = 15_000
    children = outcomes(model, genome, n, seed=len(case))
    changed = [c for c in children if key(c) != key(genome)]
    # mutate changes the genome with its mutation probability, which is
    # the total rate of the enumeration.
    q = model.mutation_probability
    assert mutations.rate.sum() == pytest.approx(q)
    assert stats.binomtest(len(changed), n, q).pvalue > 1e-3
    assert check_frequencies(mutations, changed, mutations.rate) > 1e-3
    if mutations.rate.max() > 2 * mutations.rate.min():
        # The test can tell: counting every outcome alike does not fit.
        assert check_frequencies(mutations, changed, np.ones(len(mutations))) < 1e-6
    # Every parent gene changes to each of its other values, once.
    if model.kind == "circuit" and model.genome == "integer":
        g = np.arange(model.gates)
        sources = np.full(model.gates, model.n_nodes) if model.feedback else model.n_inputs + g
        assert len(mutations) == 2 * np.sum(sources - 1) + model.n_outputs * (model.gates - 1)
    if model.kind == "circuit" and model.genome == "binary":
        assert len(mutations) == model.n_bits


def changed_genes(parent, child):
    """Connection slots and biases in which ``child`` differs from ``parent``."""
    slots = np.flatnonzero(
        (parent["weights"][0] != child["weights"][0])
        | (parent["weight_index"][0] != child["weight_index"][0])
    )
    biases = np.flatnonzero(parent["biases"][0] != child["biases"][0])
    return len(slots) + len(biases)


def layered_genome(model, seed):
    """A random genome of at least 40 connections with weights at both ends
    of the weight list, so that some steps are clamped."""
    rng = np.random.default_rng(seed)
    while True:
        genome = model.random(1, rng)
        index = set(genome["weight_index"][0].tolist())
        if {0, len(model.weight_list) - 1} <= index and np.count_nonzero(genome["weights"]) >= 40:
            return genome


LAYERED_OPERATORS = [
    dict(operators="authors"),
    dict(operators="authors", weights=(2, -1, 1, 2)),
    dict(operators="literal"),
]


def nearly_full(model, genome):
    """``genome`` with every slot connected but one of the first layer pair:
    the authors' add-connection then fails about one time in eight, its
    retries (n_nodes**2 draws) running out."""
    genome = {k: v.copy() for k, v in genome.items()}
    empty = genome["weights"][0] == 0
    genome["weight_index"][0, empty] = np.arange(empty.sum()) % len(model.weight_list)
    genome["weight_index"][0, 5] = -1
    genome["weights"][0] = np.where(
        genome["weight_index"][0] >= 0, model.weight_list[genome["weight_index"][0]], 0
    )
    return genome


@pytest.mark.parametrize("settings", LAYERED_OPERATORS, ids=["authors", "authors-repeated", "literal"])
@pytest.mark.parametrize("family", ["add", "add to a nearly full network", "remove", "steps and biases"])
def test_layered_single_mutations_are_what_each_operator_does(settings, family):
    rates = dict(add_connection_rate=0.0, remove_connection_rate=0.0, bias_rate=0.0, weight_rate_scale=0.0)
    if family.startswith("add"):
        rates["add_connection_rate"] = 0.9
    elif family == "remove":
        rates["remove_connection_rate"] = 1.0
    else:
        rates.update(weight_rate_scale=0.4, bias_rate=0.05)
    model = LayeredModel(init_connections_max=90, **settings, **rates)
    genome = layered_genome(model, seed=11)
    if family == "add to a nearly full network":
        genome = nearly_full(model, genome)
    mutations = single_mutations(model, genome)
    n = 12_000 if len(mutations) > 1 else 3_000
    children = outcomes(model, genome, n, seed=5)
    if family == "steps and biases":
        # Genes change independently: outcome o alone comes with
        # rate_o * prod over the other genes g of (1 - R_g), R_g the total
        # rate of gene g; that is prod_g (1 - R_g) * rate_o / (1 - R_o's gene).
        gene_rate = {g: mutations.rate[mutations.gene == g].sum() for g in np.unique(mutations.gene)}
        weight = mutations.rate / (1 - np.array([gene_rate[g] for g in mutations.gene]))
        p_single = np.prod(1 - np.array(list(gene_rate.values()))) * weight.sum()
        single = [c for c in children if changed_genes(genome, c) == 1]
        assert set(mutations.operator) == {"weight", "bias"}
        assert stats.binomtest(len(single), n, p_single).pvalue > 1e-3
        assert check_frequencies(mutations, single, weight) > 1e-3
        assert check_frequencies(mutations, single, np.ones(len(mutations))) < 1e-6
    else:
        assert set(mutations.operator) == {family.split()[0]}
        changed = [c for c in children if key(c) != key(genome)]
        assert stats.binomtest(len(changed), n, mutations.rate.sum()).pvalue > 1e-3
        if len(mutations) > 1:
            assert check_frequencies(mutations, changed, mutations.rate) > 1e-3
        else:
            assert all(key(c) == key(mutations.genomes) for c in changed)
        if family == "add" and settings["operators"] == "authors":
            # Layer pair first, then a slot in it: not every empty slot alike.
            assert check_frequencies(mutations, changed, np.ones(len(mutations))) < 1e-6
        if family == "add to a nearly full network" and settings["operators"] == "authors":
            assert 0.8 * 0.9 < mutations.rate.sum() < 0.9 * 0.9


@pytest.mark.parametrize("operators", ["authors", "literal"])
def test_every_single_change_of_the_full_layered_operator_is_enumerated(operators):
    model = LayeredModel(operators=operators, init_connections_max=90)
    genome = layered_genome(model, seed=2)
    mutations = single_mutations(model, genome)
    known = {key(mutations.genomes, i) for i in range(len(mutations))}
    assert key(genome) not in known
    single = [c for c in outcomes(model, genome, 4_000, seed=8) if changed_genes(genome, c) == 1]
    assert len(single) > 300
    assert all(key(c) in known for c in single)
    kinds = Counter(mutations.operator)
    assert set(kinds) == {"weight", "bias", "add", "remove"}
    # Rates per call: s weight steps (fewer when some are clamped), biases,
    # one add (short of certain only when its retries run out), one removal.
    share = {k: mutations.rate[mutations.operator == k].sum() for k in kinds}
    assert share["weight"] <= model.weight_rate_scale
    assert share["remove"] == pytest.approx(model.remove_rate)
    assert share["add"] == pytest.approx(model.add_rate, rel=1e-6)


# -- neutrality --------------------------------------------------------------------------


def test_neutrality_of_a_hand_counted_xor():
    model = CircuitModel(2, 1, gates=5)
    result = broadness(XOR, task=XOR_TASK, model=model)
    assert (result.n_mutations, result.n_neutral) == (34, 6)
    assert result.neutrality_count == pytest.approx(6 / 34)
    assert result.neutrality == pytest.approx(31 / 132)
    # The same count by brute force over the JSON, with the test's own evaluator.
    neutral, total, weighted = 0, 0, 0.0
    genes = [(g, j) for g in range(5) for j in range(2)] + [("out", 0)]
    for g, j in genes:
        if g == "out":
            values, current = range(2, 7), XOR["outputs"][0]
        else:
            values, current = range(2 + g), XOR["gates"][g]["in"][j]
        others = [v for v in values if v != current]
        for v in others:
            net = json.loads(json.dumps(XOR))
            if g == "out":
                net["outputs"] = [v]
            else:
                net["gates"][g]["in"][j] = v
            total += 1
            if computes_xor(net):
                neutral += 1
                weighted += 1 / len(genes) / len(others)
    assert (total, neutral) == (34, 6)
    assert weighted == pytest.approx(31 / 132)


def test_neutrality_of_a_binary_genome_by_brute_force():
    # 5 gates of 2 inputs: 3-bit source fields (6 addresses at most) and
    # 3-bit output fields; an address maps modulo the gate's allowed count.
    model = CircuitModel(2, 1, gates=5, genome="binary")
    bits = model.from_json(XOR)["bits"][0]
    assert len(bits) == 2 * 5 * 3 + 3

    def decode(b):
        fields = [int("".join(map(str, b[i : i + 3])), 2) for i in range(0, 33, 3)]
        gates = [[fields[2 * g] % (2 + g), fields[2 * g + 1] % (2 + g)] for g in range(5)]
        return circuit(gates, [2 + fields[10] % 5], n_inputs=2)

    assert decode(bits) == XOR
    neutral = sum(computes_xor(decode(np.where(np.arange(33) == i, 1 - bits, bits))) for i in range(33))
    result = broadness(XOR, task=XOR_TASK, model=model)
    assert result.n_mutations == 33
    assert result.n_neutral == neutral
    assert result.neutrality == pytest.approx(neutral / 33)
    assert 6 < neutral < 33  # the spare gate, aliased addresses, the copy


def test_neutrality_splits_by_operator_and_counts_the_penalty():
    result = broadness(retina_threshold(), task="retina")
    assert result.goal == "and" and result.perfect and not result.solved
    assert result.penalty == pytest.approx(0.02)
    assert result.neutrality_solved == 0.0  # 15 neurons stay 15 or the network breaks
    ops = result.operators
    assert set(ops) == {"source", "sign", "threshold"}
    assert sum(op["share"] for op in ops.values()) == pytest.approx(1.0)
    assert sum(op["n"] for op in ops.values()) == result.n_mutations
    assert result.neutrality == pytest.approx(sum(op["share"] * op["neutrality"] for op in ops.values()))
    # Signs of the 14 empty slots are free; all 90 threshold changes break it.
    assert ops["threshold"]["neutrality"] == 0.0
    assert ops["sign"]["neutrality_count"] >= 14 / 44
    relaxed = broadness(
        retina_threshold(), task="retina", model={"kind": "threshold", "neuron_threshold": 15}
    )
    assert relaxed.solved and relaxed.neutrality_solved == relaxed.neutrality


# -- robustness -----------------------------------------------------------------------------

ROBUSTNESS_CASES = {
    "circuit": (G1, dict(task="logic4")),
    "threshold": (retina_threshold(), dict(task="retina")),
    "layered": (retina_layered(), dict(task="retina", sigmas=[0.1])),
}


@pytest.mark.parametrize("case", list(ROBUSTNESS_CASES))
def test_robustness_curve(case):
    network, settings = ROBUSTNESS_CASES[case]
    result = broadness(network, samples=300, seed=4, **settings)
    curve = np.array(result.robustness)
    assert result.k == list(range(1, 11)) and len(curve) == 10
    assert curve[0] >= result.neutrality and result.perfect_after[0] == result.neutrality
    assert result.robustness_sem[0] == 0.0 and min(result.robustness_sem[1:]) > 0
    assert curve[:3].mean() > curve[-3:].mean() and curve[-1] < curve[0]
    assert np.all(np.diff(result.perfect_after) <= 0.05)
    assert result.perfect_after[-1] < result.perfect_after[0]
    again = broadness(network, samples=300, seed=4, **settings)
    assert again.to_json() == result.to_json()
    other = broadness(network, samples=300, seed=5, **settings)
    assert other.robustness[0] == result.robustness[0] and other.robustness[1:] != result.robustness[1:]


def test_robustness_forces_a_mutation_at_every_step():
    # Circuits mutate with mutation_probability only; the curve counts
    # mutations, so the model's probability must not change it.
    results = [
        broadness(G1, task="logic4", model={"kind": "circuit", "mutation_probability": q}, samples=200)
        for q in (0.2, 0.7)
    ]
    assert results[0].robustness[0] == pytest.approx(results[1].robustness[0], rel=1e-12)
    assert results[0].robustness[1:] == results[1].robustness[1:]
    assert results[0].mutation_rate == pytest.approx(0.2)


# -- flatness -----------------------------------------------------------------------------

# AND of inputs 0 and 1, input 2 ignored, for one tanh neuron.
AND3 = Task("and3", all_patterns(3), {"and": (all_patterns(3)[:, 0] & all_patterns(3)[:, 1])[:, None]})


def single_neuron(w, b):
    return {
        "kind": "layered",
        "layers": [3, 1],
        "nodes": [{"id": i, "layer": 0, "bias": None} for i in range(3)] + [{"id": 3, "layer": 1, "bias": b}],
        "edges": [[0, 3, w], [1, 3, w]],
    }


def test_flatness_is_zero_at_sigma_zero_and_grows_with_sigma():
    sigmas = [0.0, 0.1, 0.3, 0.6, 1.0]
    result = broadness(retina_layered(), task="retina", sigmas=sigmas, samples=200, k_max=1)
    flat = result.flatness
    assert flat["sigma"] == sigmas and flat["loss"] == 0.0
    assert flat["loss_increase"][0] == 0.0 and flat["accuracy_drop"][0] == 0.0
    assert np.all(np.diff(flat["loss_increase"]) > 0)
    assert np.all(np.diff(flat["accuracy_drop"]) >= 0) and flat["accuracy_drop"][-1] > 0.1
    assert flat["loss_increase"][-1] > 0.1


def test_large_margins_are_flatter_than_small_ones():
    model = LayeredModel(layers=(3, 1))
    sigmas = [0.0, 0.2, 0.4, 0.8]

    def flatness(w, b):
        return broadness(single_neuron(w, b), task=AND3, model=model, sigmas=sigmas, samples=6000).flatness

    # Sums x0 + x1 - 1 in {1, -1, -1, -3}: margin 1; 2 x0 + 2 x1 - 2: margin 2.
    near, far = flatness(1, -1), flatness(2, -2)
    assert near["loss"] == far["loss"] == 0.0
    assert all(a < b for a, b in zip(far["loss_increase"][1:], near["loss_increase"][1:]))
    assert all(a <= b for a, b in zip(far["accuracy_drop"], near["accuracy_drop"]))
    # An answer flips when the noise on the two weights and the bias, N(0,
    # 3 sigma^2), crosses the sum; the absent connection from input 2 stays
    # absent (with noise it would be N(0, 4 sigma^2)).
    for margin, drops in ((1, near["accuracy_drop"]), (2, far["accuracy_drop"])):
        for sigma, drop in zip(sigmas[1:], drops[1:]):
            sd = np.sqrt(3) * sigma
            flip = 3 / 4 * stats.norm.cdf(-margin / sd) + 1 / 4 * stats.norm.cdf(-3 * margin / sd)
            assert drop == pytest.approx(flip, abs=0.01)


@pytest.mark.parametrize("lam", [20.0, 1.5])
def test_real_valued_pass_matches_the_model_at_integer_weights(lam):
    model = LayeredModel(lam=lam)
    retina = get_task("retina")
    genomes = model.random(5, np.random.default_rng(9))
    genomes["weights"][0] = model.from_json(retina_layered())["weights"][0]
    mine = real_valued_outputs(model, genomes["weights"], genomes["biases"], retina.inputs)
    theirs = model.activations(genomes, retina.inputs)
    if model.sign_activation:
        assert np.array_equal(mine, theirs)
    else:
        assert np.allclose(mine, theirs, rtol=0, atol=1e-12)
    assert len(np.unique(np.round(mine, 6))) > 2


def test_flatness_only_for_layered_networks():
    assert broadness(G1, task="logic4", samples=20).flatness is None
    assert broadness(retina_threshold(), task="retina", samples=20).flatness is None


# -- which task, goal and model --------------------------------------------------------------


def test_goal_from_the_run_config(tmp_path):
    raw = {
        "model": {"kind": "circuit"},
        "task": {"name": "logic4"},
        "schedule": {"kind": "alternating", "goals": ["G1", "G2"], "period": 20},
    }
    cfg = config_mod.from_dict(raw)
    assert broadness(G1, cfg, samples=20).goal == "G1"
    assert broadness(G2, raw, samples=20).goal == "G2"
    # A run's best.json, with its config.json beside it.
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps(cfg.to_dict()))
    (run / "best.json").write_text(json.dumps({"networks": [{"network": G2}]}))
    from_files = broadness(str(run / "best.json"), samples=20)
    assert from_files.to_json() == broadness(G2, cfg, samples=20).to_json()
    toml = tmp_path / "run.toml"
    toml.write_text('[model]\nkind = "circuit"\n[task]\nname = "logic4"\n')
    assert broadness(G1, toml, samples=20).goal == "G1"
    # Not perfect on any goal: reported under the best one.
    broken = broadness(BROKEN, cfg, samples=20)
    assert not broken.perfect and broken.goal in ("G1", "G2")
    assert broken.performance == max(broadness(BROKEN, cfg, goal=g).performance for g in ("G1", "G2"))


def test_a_network_that_is_not_perfect():
    result = broadness(BROKEN, task="logic4", goal="G1")
    assert not result.perfect and not result.solved and result.performance < 1
    assert result.n_mutations == 279
    empty = ("n_neutral", "neutrality", "neutrality_count", "robustness", "perfect_after", "flatness")
    assert all(getattr(result, name) is None for name in empty)
    json.dumps(result.to_json())
    with pytest.raises(ConfigError, match=r"^network: is not perfect on goal 'G1' of task 'logic4'") as err:
        broadness(BROKEN, task="logic4", goal="G1", require_perfect=True)
    assert "\n" not in str(err.value)


def test_json_column():
    data = broadness(retina_layered(), task="retina", samples=50).to_json()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert data["flatness"]["samples"] == 50 and len(data["robustness"]) == 10


BAD = [
    (dict(network=[1, 2]), "network"),
    (dict(network=G1, task="logic4", k_max=0), "k_max"),
    (dict(network=G1, task="logic4", samples="ten"), "samples"),
    (dict(network=G1, task="logic4", seed=-1), "seed"),
    (dict(network=G1, task="logic4", sigmas=[0.1, -0.5]), "sigmas[1]"),
    (dict(network=G1, task="logic4", sigmas=[]), "sigmas"),
    (dict(network=G1, task="logic4", sigmas="0.1"), "sigmas"),
    (dict(network=G1, task="logic4", goal="G9"), "goal"),
    (dict(network=G1, task="logic4", goal=1), "goal"),
    (dict(network=G1), "task"),
    (dict(network=G1, task="nope"), "task.name"),
    (dict(network=G1, task=3), "task"),
    (dict(network=G1, config={"task": {"name": "logic4"}}, task="logic4"), "config"),
    (dict(network=G1, config=42), "config"),
    (dict(network=G1, task="logic4", model={"kind": "layered", "layers": [4, 1]}), "network.kind"),
    (dict(network=G1, task="logic4", model={"kind": "circuit", "gates": 0}), "model.gates"),
    (dict(network=G1, task="logic4", model="circuit"), "model"),
    (dict(network=G1, task="retina"), "task.name"),
    (dict(network=dict(G1, kind="widget"), task="logic4"), "network.kind"),
    (dict(network=dict(G1, outputs=[99]), task="logic4"), "network.outputs[0]"),
    (dict(network=G1, task="logic4", model=ThresholdModel()), "model"),
    (dict(network=G1, task="logic4", require_perfect="yes"), "require_perfect"),
]


@pytest.mark.parametrize("arguments, field", BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD)])
def test_bad_input_is_one_config_error(arguments, field):
    arguments = dict(arguments)
    network = arguments.pop("network")
    with pytest.raises(ConfigError) as err:
        broadness(network, **arguments)
    assert err.value.field == field
    assert "\n" not in str(err.value) and str(err.value).startswith(f"{field}: ")


def test_score_command_prints_flatness_for_layered_networks(tmp_path, capsys):
    from evomod import cli

    path = tmp_path / "net.json"
    path.write_text(json.dumps(retina_layered()))
    config = tmp_path / "run.toml"
    config.write_text('[model]\nkind = "layered"\n[task]\nname = "retina"\n[schedule]\ngoals = ["and"]\n')
    args = [
        "score",
        str(path),
        "--no-qm",
        "--shuffles",
        "3",
        "--config",
        str(config),
        "--broadness-samples",
        "40",
    ]
    assert cli.main(args + ["--json"]) == 0
    flat = json.loads(capsys.readouterr().out)["broadness"]["flatness"]
    assert flat["sigma"] == list(DEFAULT_SIGMAS) and len(flat["loss_increase"]) == len(DEFAULT_SIGMAS)
    assert cli.main(args) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("flatness")]
    assert len(row) == 1 and all(
        f"σ {s:g}: +{d:.4f}" in row[0] for s, d in zip(flat["sigma"], flat["loss_increase"])
    )
