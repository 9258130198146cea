import json

import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.models.circuit import CircuitModel
from evomod.tasks import all_patterns
from evomod.tasks.logic import logic4, logic6

# -- plain-Python references ---------------------------------------------------


def ref_eval(src, out, n_in, feedback, steps):
    """Gate by gate, pattern by pattern, with Python bools.

    Returns per output a list over patterns of (value, settled).
    """
    n_gates = len(src)
    result = [[] for _ in out]
    for p in range(2**n_in):
        x = [bool(p >> i & 1) for i in range(n_in)]
        if not feedback:
            vals = list(x)
            for a, b in src:
                vals.append(not (vals[a] and vals[b]))
            for o, node in enumerate(out):
                result[o].append((vals[node], True))
            continue
        state = x + [False] * n_gates
        prev = state
        for _ in range(steps):
            prev = state
            state = x + [not (prev[a] and prev[b]) for a, b in src]
        for o, node in enumerate(out):
            result[o].append((state[node], state[node] == prev[node]))
    return result


def ref_effective(src, out, n_in):
    seen = set()

    def visit(node):
        if node < n_in or node in seen:
            return
        seen.add(node)
        for s in src[node - n_in]:
            visit(int(s))

    for node in out:
        visit(int(node))
    return seen


def individual(genomes, i):
    return ([tuple(int(v) for v in row) for row in genomes["src"][i]], [int(v) for v in genomes["out"][i]])


CONFIGS = [
    dict(n_inputs=4, n_outputs=1, gates=14, feedback=False),
    dict(n_inputs=6, n_outputs=3, gates=20, feedback=False),
    dict(n_inputs=2, n_outputs=2, gates=5, feedback=False),
    dict(n_inputs=4, n_outputs=1, gates=8, feedback=True),
    dict(n_inputs=3, n_outputs=2, gates=6, feedback=True, settle_steps=5),
    dict(n_inputs=6, n_outputs=1, gates=6, feedback=True),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_truth_tables_match_reference(cfg):
    model = CircuitModel(**cfg)
    rng = np.random.default_rng(1)
    genomes = model.random(60, rng)
    tables, settled = model.truth_tables(genomes)
    mask = model.effective_mask(genomes)
    unsettled_seen = False
    for i in range(60):
        src, out = individual(genomes, i)
        ref = ref_eval(src, out, model.n_inputs, model.feedback, model.settle_steps)
        for o, bits in enumerate(ref):
            want_table = sum(int(v) << p for p, (v, _) in enumerate(bits))
            want_settled = sum(int(s) << p for p, (_, s) in enumerate(bits))
            assert int(tables[i, o]) == want_table
            assert int(settled[i, o]) == want_settled
            unsettled_seen |= want_settled != 2**model.n_patterns - 1
        eff = ref_effective(src, out, model.n_inputs)
        assert set(np.nonzero(mask[i])[0] + model.n_inputs) == eff
        assert model.effective_gates(genomes)[i] == len(eff)
    if model.feedback:
        assert unsettled_seen, "the sample should include oscillating circuits"


def test_feedback_mode_agrees_on_acyclic_circuits():
    ff = CircuitModel(4, 2, gates=10)
    fb = CircuitModel(4, 2, gates=10, feedback=True)
    genomes = ff.random(200, np.random.default_rng(2))
    t_ff, s_ff = ff.truth_tables(genomes)
    t_fb, s_fb = fb.truth_tables(genomes)
    assert np.array_equal(t_ff, t_fb)
    assert np.array_equal(s_fb, s_ff)
    assert np.all(s_ff == np.uint64(0xFFFF))


@pytest.mark.parametrize("cfg", CONFIGS)
def test_outputs_and_performance_match_reference(cfg):
    model = CircuitModel(**cfg)
    rng = np.random.default_rng(3)
    genomes = model.random(30, rng)
    patterns = all_patterns(model.n_inputs)
    subsets = {
        "full": np.arange(model.n_patterns),
        "shuffled": rng.permutation(model.n_patterns)[: max(2, model.n_patterns // 2)],
        "repeats": rng.integers(0, model.n_patterns, size=model.n_patterns),
    }
    for rows in subsets.values():
        target = rng.random((len(rows), model.n_outputs)) < 0.5
        out = model.outputs(genomes, patterns[rows])
        perf = model.performance(genomes, patterns[rows], target)
        assert out.shape == (30, len(rows), model.n_outputs)
        for i in range(30):
            src, outs = individual(genomes, i)
            ref = ref_eval(src, outs, model.n_inputs, model.feedback, model.settle_steps)
            right = 0
            for r, p in enumerate(rows):
                for o in range(model.n_outputs):
                    value, ok = ref[o][p]
                    assert out[i, r, o] == value
                    right += ok and value == target[r, o]
            assert perf[i] == pytest.approx(right / (len(rows) * model.n_outputs))


# -- hand-built circuits -------------------------------------------------------


def xor_gates(a, b, first):
    """Four NANDs computing a XOR b; the last one (first + 3) is the XOR."""
    n = first
    return [(a, b), (a, n), (b, n), (n + 1, n + 2)]


def build(model, gate_list, outputs):
    # Spare gates read input 0 twice: legal in both modes and never effective.
    gate_list = list(gate_list) + [(0, 0)] * (model.gates - len(gate_list))
    return model.from_json(
        {
            "kind": "circuit",
            "inputs": list(range(model.n_inputs)),
            "gates": [{"id": model.n_inputs + g, "in": list(s)} for g, s in enumerate(gate_list)],
            "outputs": outputs,
        }
    )


def test_hand_built_xor():
    model = CircuitModel(2, 1, gates=4)
    genomes = build(model, xor_gates(0, 1, 2), [5])
    patterns = all_patterns(2)
    target = (patterns[:, 0] != patterns[:, 1])[:, None]
    assert model.performance(genomes, patterns, target)[0] == 1.0
    assert model.performance(genomes, patterns, ~target)[0] == 0.0
    assert model.effective_gates(genomes)[0] == 4


def g_solution(model, goal):
    gates = xor_gates(0, 1, 4) + xor_gates(2, 3, 8)  # A = gate 7, B = gate 11
    if goal == "G1":
        gates += [(7, 11), (12, 12)]  # AND: NOT NAND
        out = 13
    else:
        gates += [(7, 7), (11, 11), (12, 13)]  # OR: NAND of the NOTs
        out = 14
    return build(model, gates, [out])


@pytest.mark.parametrize("feedback", [False, True])
def test_hand_built_g1_g2_solutions(feedback):
    task = logic4()
    model = CircuitModel(4, 1, feedback=feedback)
    g1, g2 = g_solution(model, "G1"), g_solution(model, "G2")
    assert model.performance(g1, task.inputs, task.goals["G1"])[0] == 1.0
    assert model.performance(g2, task.inputs, task.goals["G2"])[0] == 1.0
    assert model.performance(g1, task.inputs, task.goals["G2"])[0] == pytest.approx(8 / 16)
    assert model.effective_gates(g1)[0] == 10
    assert model.effective_gates(g2)[0] == 11
    assert model.penalty(g1)[0] == 0.0 and model.penalty(g2)[0] == 0.0
    tight = CircuitModel(4, 1, threshold=8, penalty_per_gate=0.25)
    assert tight.penalty(g1)[0] == pytest.approx(0.25 * 2)
    assert tight.penalty(g2)[0] == pytest.approx(0.25 * 3)


def test_hand_built_logic6_g4_uses_all_64_bits():
    task = logic6()
    model = CircuitModel(6, 3, gates=18)
    gates = xor_gates(0, 1, 6) + xor_gates(2, 3, 10) + xor_gates(4, 5, 14)  # A=9, B=13, C=17
    gates += [(9, 13), (18, 18), (9, 17), (20, 20), (13, 17), (22, 22)]
    genomes = build(model, gates, [19, 21, 23])
    assert model.performance(genomes, task.inputs, task.goals["G4"])[0] == 1.0
    # G1 differs from G4 in output 0 on the 32 patterns where exactly one of A, B holds.
    assert model.performance(genomes, task.inputs, task.goals["G1"])[0] == pytest.approx(1 - 32 / (64 * 3))


def test_oscillator_counts_as_wrong():
    model = CircuitModel(1, 1, gates=1, feedback=True, settle_steps=7)
    genomes = build(model, [(1, 1)], [1])  # NOT of itself: flips every step
    patterns = all_patterns(1)
    for target in (np.zeros((2, 1), bool), np.ones((2, 1), bool)):
        assert model.performance(genomes, patterns, target)[0] == 0.0
    assert model.outputs(genomes, patterns)[0, :, 0].tolist() == [True, True]  # odd step


# -- mutation ------------------------------------------------------------------


def gene_vector(genomes):
    n = len(genomes["src"])
    return np.concatenate([genomes["src"].reshape(n, -1), genomes["out"]], axis=1)


@pytest.mark.parametrize("feedback", [False, True])
def test_mutation_changes_one_gene_and_respects_rules(feedback):
    model = CircuitModel(4, 2, gates=9, feedback=feedback)
    rng = np.random.default_rng(4)
    genomes = model.random(20000, rng)
    before = {k: v.copy() for k, v in genomes.items()}
    child = model.mutate(genomes, rng)
    for k in genomes:
        assert np.array_equal(genomes[k], before[k]), "mutate must not touch its input"
        assert child[k].dtype == np.int16
    diff = gene_vector(child) != gene_vector(genomes)
    changed = diff.sum(axis=1)
    assert set(np.unique(changed)) <= {0, 1}
    assert changed.mean() == pytest.approx(0.7, abs=0.02)
    # Every gene is picked about equally often (2G source genes + outputs).
    per_gene = diff.sum(axis=0)
    expected = changed.sum() / diff.shape[1]
    assert np.all(np.abs(per_gene - expected) < 5 * np.sqrt(expected))
    gate_ids = 4 + np.arange(9)
    limit = gate_ids[None, :, None] if not feedback else 4 + 9
    assert np.all(child["src"] >= 0) and np.all(child["src"] < limit)
    assert np.all((child["out"] >= 4) & (child["out"] < 13))
    # Gate 0's first source moves to every other allowed value: the inputs,
    # or with feedback any node.
    moved = diff[:, 0]
    old, new = genomes["src"][moved, 0, 0], child["src"][moved, 0, 0]
    assert np.all(old != new)
    assert np.unique(new).tolist() == list(range(13 if feedback else 4))


def test_random_respects_feed_forward_and_uses_all_values():
    model = CircuitModel(4, 1, gates=6)
    genomes = model.random(5000, np.random.default_rng(5))
    for g in range(6):
        values = np.unique(genomes["src"][:, g, :])
        assert values.tolist() == list(range(4 + g))
    assert np.unique(genomes["out"]).tolist() == list(range(4, 10))


def test_mutation_is_deterministic_and_probability_extremes():
    model = CircuitModel(4, 1)
    genomes = model.random(100, np.random.default_rng(6))
    a = model.mutate(genomes, np.random.default_rng(7))
    b = model.mutate(genomes, np.random.default_rng(7))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    never = CircuitModel(4, 1, mutation_probability=0.0).mutate(genomes, np.random.default_rng(8))
    assert all(np.array_equal(never[k], genomes[k]) for k in genomes)
    always = CircuitModel(4, 1, mutation_probability=1.0).mutate(genomes, np.random.default_rng(8))
    assert np.all((gene_vector(always) != gene_vector(genomes)).sum(axis=1) == 1)


# -- graph view, positions, JSON -----------------------------------------------


def test_edges():
    model = CircuitModel(4, 1)
    genomes = model.random(50, np.random.default_rng(9))
    src, dst, weight = model.edges(genomes)
    assert src.shape == dst.shape == weight.shape == (50, 28)
    for i in range(50):
        s, out = individual(genomes, i)
        eff = ref_effective(s, out, 4)
        for g in range(14):
            for j in range(2):
                e = 2 * g + j
                assert src[i, e] == s[g][j]
                assert dst[i, e] == 4 + g
                assert weight[i, e] == (1.0 if 4 + g in eff else 0.0)


def test_positions_and_fixed_nodes():
    model = CircuitModel(4, 1, gates=5)
    pos = model.positions()
    assert pos.shape == (9, 2)
    assert pos[:4, 0].tolist() == [-1.5, -0.5, 0.5, 1.5] and np.all(pos[:4, 1] == 0)
    assert pos[4:, 0].tolist() == [-2, -1, 0, 1, 2] and np.all(pos[4:, 1] == 1)
    assert model.fixed_nodes().tolist() == [True] * 4 + [False] * 5


@pytest.mark.parametrize("cfg", CONFIGS)
def test_json_round_trip(cfg):
    model = CircuitModel(**cfg)
    genomes = model.random(20, np.random.default_rng(10))
    for i in range(20):
        data = json.loads(json.dumps(model.to_json(genomes, i)))
        assert data["kind"] == "circuit"
        assert data["inputs"] == list(range(model.n_inputs))
        back = model.from_json(data)
        assert np.array_equal(back["src"][0], genomes["src"][i])
        assert np.array_equal(back["out"][0], genomes["out"][i])
        assert back["src"].dtype == np.int16 and back["out"].dtype == np.int16


def test_from_json_rejects_bad_circuits():
    model = CircuitModel(4, 1, gates=3)
    good = {
        "kind": "circuit",
        "inputs": [0, 1, 2, 3],
        "gates": [{"id": 4, "in": [0, 1]}, {"id": 5, "in": [4, 2]}, {"id": 6, "in": [5, 3]}],
        "outputs": [6],
    }
    model.from_json(good)

    def bad(field, **change):
        data = json.loads(json.dumps(good))
        data.update(change)
        with pytest.raises(ConfigError) as err:
            model.from_json(data)
        assert err.value.field.startswith("network." + field)

    bad("kind", kind="threshold")
    bad("gates[1].in", gates=[{"id": 4, "in": [0, 1]}, {"id": 5, "in": [4, 99]}, {"id": 6, "in": [5, 3]}])
    bad("gates[0].in", gates=[{"id": 4, "in": [5, 1]}, {"id": 5, "in": [4, 2]}, {"id": 6, "in": [5, 3]}])
    bad("gates", gates=good["gates"][:2])
    bad("gates[2].id", gates=[{"id": 4, "in": [0, 1]}, {"id": 5, "in": [4, 2]}, {"id": 5, "in": [4, 3]}])
    bad("outputs", outputs=[6, 5])
    bad("outputs", outputs=[2])
    bad("inputs", inputs=[0, 1, 2])
    # The feed-forward rule belongs to the model, not the format.
    looped = json.loads(json.dumps(good))
    looped["gates"][0]["in"] = [6, 1]
    CircuitModel(4, 1, gates=3, feedback=True).from_json(looped)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(gates=0), "model.gates"),
        (dict(n_outputs=3, gates=2), "model.gates"),
        (dict(threshold=-1), "model.threshold"),
        (dict(mutation_probability=1.5), "model.mutation_probability"),
        (dict(mutation_probability=-0.1), "model.mutation_probability"),
        (dict(penalty_per_gate=-1), "model.penalty_per_gate"),
        (dict(settle_steps=0, feedback=True), "model.settle_steps"),
        (dict(feedback="yes"), "model.feedback"),
        (dict(n_inputs=7), "task.n_inputs"),
        (dict(gates=2.5), "model.gates"),
    ],
)
def test_bad_config(kwargs, field):
    args = dict(n_inputs=4, n_outputs=1)
    args.update(kwargs)
    with pytest.raises(ConfigError) as err:
        CircuitModel(**args)
    assert err.value.field == field
    assert err.value.allowed is not None
