"""The circuit genome variants: integer and binary (Kashtan & Alon's bit-field genome).

The binary genome is checked against a decoder and an evaluator written here
in plain Python, bit by bit and gate by gate, independent of the model's
numpy decoder and numba kernels.
"""

import json

import numpy as np
import pytest

from evomod import config as config_mod
from evomod.errors import ConfigError
from evomod.models.circuit import CircuitModel
from evomod.modularity import network_graph

# -- plain-Python references ---------------------------------------------------


def width_for(count):
    """Smallest w with 2**w >= count."""
    w = 0
    while 2**w < count:
        w += 1
    return w


def brute_decode(bits, n_inputs, gates, n_outputs, feedback):
    """Gate sources and output gates from a list of 0/1 bits, read MSB first.

    Layout: 2*gates source fields of one width, then n_outputs output fields;
    an address maps modulo the number of values the field may take.
    """
    n_nodes = n_inputs + gates
    most = n_nodes if feedback else n_inputs + gates - 1
    ws, wo = width_for(most), width_for(gates)
    pos = 0

    def read(width):
        nonlocal pos
        value = 0
        for _ in range(width):
            value = value * 2 + int(bits[pos])
            pos += 1
        return value

    src = []
    for g in range(gates):
        allowed = n_nodes if feedback else n_inputs + g
        src.append(tuple(read(ws) % allowed for _ in range(2)))
    out = [n_inputs + read(wo) % gates for _ in range(n_outputs)]
    assert pos == len(bits)
    return src, out


def brute_tables(src, out, n_inputs, feedback, steps):
    """Per output: (truth-table int, settled-mask int) over all 2**n_inputs patterns."""
    tables = [0] * len(out)
    settled = [0] * len(out)
    for p in range(2**n_inputs):
        x = [(p >> i) & 1 == 1 for i in range(n_inputs)]
        if feedback:
            state = x + [False] * len(src)
            prev = state
            for _ in range(steps):
                prev = state
                state = x + [not (prev[a] and prev[b]) for a, b in src]
        else:
            state = list(x)
            for a, b in src:
                state.append(not (state[a] and state[b]))
            prev = state
        for o, node in enumerate(out):
            tables[o] |= int(state[node]) << p
            settled[o] |= int(state[node] == prev[node]) << p
    return tables, settled


# -- decoding ----------------------------------------------------------------------

CASES = [
    {"n_inputs": 4, "n_outputs": 1, "gates": g, "feedback": fb}
    for g in (11, 12, 13, 14)
    for fb in (False, True)
] + [
    {"n_inputs": 6, "n_outputs": 3, "gates": 16, "feedback": False},
    {"n_inputs": 3, "n_outputs": 2, "gates": 5, "feedback": True},
]


@pytest.mark.parametrize(
    "cfg", CASES, ids=lambda c: f"{c['gates']}g-{'fb' if c['feedback'] else 'ff'}-{c['n_inputs']}in"
)
def test_binary_genome_decodes_like_brute_force(cfg):
    model = CircuitModel(**cfg, genome="binary")
    genomes = model.random(150, np.random.default_rng(cfg["gates"] + 100 * cfg["feedback"]))
    assert set(genomes) == {"bits"} and genomes["bits"].dtype == np.uint8
    assert set(np.unique(genomes["bits"])) == {0, 1}
    tables, settled = model.truth_tables(genomes)
    mask = model.effective_mask(genomes)
    for i in range(150):
        bits = genomes["bits"][i].tolist()
        src, out = brute_decode(bits, model.n_inputs, model.gates, model.n_outputs, model.feedback)
        data = model.to_json(genomes, i)
        assert [tuple(gate["in"]) for gate in data["gates"]] == src
        assert data["outputs"] == out
        want_tables, want_settled = brute_tables(src, out, model.n_inputs, model.feedback, model.settle_steps)
        assert [int(t) for t in tables[i]] == want_tables
        assert [int(s) for s in settled[i]] == want_settled
        # The integer model given the same wiring is the same circuit.
        same = CircuitModel(**cfg).from_json({k: v for k, v in data.items() if k != "bits"})
        plain = CircuitModel(**cfg)
        assert np.array_equal(plain.truth_tables(same)[0][0], tables[i])
        assert np.array_equal(plain.effective_mask(same)[0], mask[i])
    if not model.feedback:
        decoded = model.decode(genomes["bits"])
        gate_ids = model.n_inputs + np.arange(model.gates)
        assert np.all(decoded["src"] < gate_ids[None, :, None])


def test_binary_layout_widths_and_the_modulo_rule():
    # 4 inputs + 12 gates with feedback: 16 sources, exactly 4 bits, no aliasing.
    exact = CircuitModel(4, 1, gates=12, feedback=True, genome="binary")
    assert (exact.source_bits, exact.output_bits, exact.n_bits) == (4, 4, 2 * 12 * 4 + 4)
    genomes = exact.random(500, np.random.default_rng(0))
    raw, _ = exact.field_addresses(genomes["bits"])
    assert np.array_equal(exact.decode(genomes["bits"])["src"], raw)
    # 14 gates with feedback: 18 sources need 5 bits; 31 -> 31 mod 18 = 13.
    model = CircuitModel(4, 1, gates=14, feedback=True, genome="binary")
    assert model.source_bits == 5 and model.n_bits == 2 * 14 * 5 + 4
    bits = np.zeros((1, model.n_bits), dtype=np.uint8)
    bits[0, 0:5] = 1  # gate 0, source 0: address 31
    bits[0, 5:10] = [1, 0, 0, 1, 0]  # gate 0, source 1: address 18 -> node 0
    bits[0, model.n_src_bits :] = [1, 1, 1, 1]  # output: 15 mod 14 = 1 -> gate node 5
    decoded = model.decode(bits)
    assert decoded["src"][0, 0].tolist() == [13, 0]
    assert decoded["out"][0].tolist() == [5]
    # Feed-forward: gate g has 4 + g sources; gate 0 reads an input whatever the address.
    ff = CircuitModel(4, 1, gates=14, genome="binary")
    assert ff.source_bits == 5  # 17 sources at most
    bits = np.zeros((1, ff.n_bits), dtype=np.uint8)
    bits[0, 0:5] = [0, 0, 1, 1, 1]  # 7 mod 4 = 3
    assert ff.decode(bits)["src"][0, 0, 0] == 3


# -- mutation -----------------------------------------------------------------------


@pytest.mark.parametrize("feedback", [False, True])
@pytest.mark.parametrize("gates", [11, 14])
def test_one_bit_mutation_moves_one_address_to_a_hamming_neighbour(feedback, gates):
    model = CircuitModel(4, 1, gates=gates, feedback=feedback, genome="binary", mutation_probability=1.0)
    rng = np.random.default_rng(gates)
    parents = model.random(3000, rng)
    before = parents["bits"].copy()
    children = model.mutate(parents, rng)
    assert np.array_equal(parents["bits"], before), "mutate must not touch its input"
    flipped = children["bits"] != parents["bits"]
    assert np.all(flipped.sum(axis=1) == 1)
    old_src, old_out = model.field_addresses(parents["bits"])
    new_src, new_out = model.field_addresses(children["bits"])
    n = len(before)
    old = np.concatenate([old_src.reshape(n, -1), old_out], axis=1)
    new = np.concatenate([new_src.reshape(n, -1), new_out], axis=1)
    changed = old != new
    assert np.all(changed.sum(axis=1) == 1)
    distance = [(int(a) ^ int(b)).bit_count() for a, b in zip(old[changed], new[changed])]
    assert set(distance) == {1}
    # Every bit is the one flipped about equally often.
    per_bit = flipped.sum(axis=0)
    expected = n / model.n_bits
    assert np.all(np.abs(per_bit - expected) < 5 * np.sqrt(expected) + 3)
    # Decoded wiring changes in at most that one gene.
    a = model.decode(parents["bits"])
    b = model.decode(children["bits"])
    genes_a = np.concatenate([a["src"].reshape(n, -1), a["out"]], axis=1)
    genes_b = np.concatenate([b["src"].reshape(n, -1), b["out"]], axis=1)
    assert np.all((genes_a != genes_b).sum(axis=1) <= 1)


def test_binary_mutation_rate_and_determinism():
    model = CircuitModel(4, 1, genome="binary")
    genomes = model.random(20000, np.random.default_rng(1))
    child = model.mutate(genomes, np.random.default_rng(2))
    rate = (child["bits"] != genomes["bits"]).any(axis=1).mean()
    assert rate == pytest.approx(0.7, abs=0.02)
    again = model.mutate(genomes, np.random.default_rng(2))
    assert np.array_equal(child["bits"], again["bits"])
    never = CircuitModel(4, 1, genome="binary", mutation_probability=0.0)
    assert np.array_equal(never.mutate(genomes, np.random.default_rng(3))["bits"], genomes["bits"])


# -- JSON, config, the loop ---------------------------------------------------------


@pytest.mark.parametrize("feedback", [False, True])
def test_binary_json_round_trip(feedback):
    model = CircuitModel(4, 1, gates=13, feedback=feedback, genome="binary")
    genomes = model.random(30, np.random.default_rng(4))
    for i in range(30):
        data = json.loads(json.dumps(model.to_json(genomes, i)))
        assert len(data["bits"]) == model.n_bits
        assert np.array_equal(model.from_json(data)["bits"][0], genomes["bits"][i])
        # Without the bits: the direct encoding, which decodes to the same circuit.
        bare = {k: v for k, v in data.items() if k != "bits"}
        back = model.from_json(bare)
        assert model.to_json(back, 0)["gates"] == data["gates"]
        assert model.to_json(back, 0)["outputs"] == data["outputs"]
        # The graph readers ignore the bits.
        assert np.array_equal(network_graph(data).adjacency, network_graph(bare).adjacency)
    data = model.to_json(genomes, 0)
    with pytest.raises(ConfigError, match="bits"):
        model.from_json({**data, "bits": "012"})
    moved = json.loads(json.dumps(data))
    a, b = moved["gates"][0]["in"]
    moved["gates"][0]["in"] = [(a + 1) % model.n_inputs, b]  # a circuit the bits do not code
    with pytest.raises(ConfigError, match="do not decode"):
        model.from_json(moved)
    del moved["bits"]
    model.from_json(moved)


def test_genome_config_field_and_errors():
    cfg = config_mod.from_dict(
        {"model": {"kind": "circuit", "genome": "binary", "gates": 12, "feedback": True}}
    )
    assert cfg.model.genome == "binary"
    assert config_mod.from_dict({"model": {"kind": "circuit"}}).model.genome == "integer"
    with pytest.raises(ConfigError, match="model.genome"):
        config_mod.from_dict({"model": {"kind": "circuit", "genome": "gray"}})
    with pytest.raises(ConfigError) as err:
        CircuitModel(4, 1, genome="bits")
    assert err.value.field == "model.genome" and err.value.allowed is not None


@pytest.mark.parametrize("feedback", [False, True])
def test_binary_genome_runs_in_the_loop(tmp_path, feedback):
    from evomod import runs

    cfg = config_mod.from_dict(
        {
            "model": {"kind": "circuit", "genome": "binary", "gates": 12, "feedback": feedback},
            "population": 40,
            "generations": 6,
            "checkpoint_every": 3,
            "selection": {"elite": 10},
            "log_modularity_every": 2,
        }
    )
    state = runs.start(cfg, tmp_path / "r", quiet=True)
    assert state.generation == 6 and set(state.genomes) == {"bits"}
    best = json.loads((tmp_path / "r" / "best.json").read_text())
    network = best["networks"][0]["network"]
    assert network["kind"] == "circuit" and len(network["bits"]) == 2 * 12 * 4 + 4
    resumed = runs.resume(tmp_path / "r", quiet=True)
    assert resumed.generation == 6
