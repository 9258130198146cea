"""Kashtan & Alon's (2005) circuits of two-input NAND gates.

Nodes: inputs ``0..n_inputs-1``, then gates ``n_inputs..n_inputs+G-1``.

Wiring (every array has the population as its leading axis):

* ``"src"`` int16 (n, G, 2): the two source node ids of each gate.
* ``"out"`` int16 (n, n_outputs): the gate node id that drives each output.

With the default ``genome = "integer"`` these two arrays are the genome;
with ``genome = "binary"`` they are decoded from a bit string (see *Genome
variants* below and :meth:`CircuitModel.wiring`).

**Feed-forward** (default): gate g (node ``n_inputs + g``) may read only
inputs and gates with a lower index, so every circuit is acyclic and is
evaluated exactly in one pass. Any acyclic circuit of G gates can be numbered
this way, so the restriction loses no function, only the paper's feedback
loops.

**Feedback** (``feedback=True``): any gate may read any node. All gates are
updated synchronously ``settle_steps`` times starting from the all-zero state
(inputs held at their values). The default is ``2 * G`` steps: an acyclic part
of depth d settles after d <= G steps, and the rest gives loops time to
settle. An output bit whose value differs between the last two steps has not
settled and counts as wrong in ``performance`` whatever the target; the bit
that ``outputs`` reports for it is its value after the last step.
``settle_steps`` is ignored when feedback is off.

**Evaluation** is bit-parallel: a node's values over all 2**n_inputs patterns
form one uint64 word (16 bits used for 4 inputs, 64 for 6), hence
``n_inputs <= 6``.

**Default of 14 gates**: the modular solution of the alternating G1/G2 task
needs 11 (two 4-NAND XORs and a 3-NAND OR; AND takes 2), and a few spare
gates give the neutral space in which evolution can rewire a circuit; the
penalty above ``threshold`` (11) keeps the expressed circuit small, so more
spare gates would only slow evaluation and dilute mutations.

**Minimum gates**: one per output, since every output names a gate and
outputs that compute different functions need different gates. Fewer gates
than a given task needs (10 for G1) is allowed, because the model does not
know the task.

**Genome variants** (``genome``):

``"integer"`` (default; arrays as above). **Mutation**: with probability
``mutation_probability`` per genome, one gene chosen uniformly among the 2G
source genes and the output genes changes to a different value drawn
uniformly from its allowed values; otherwise the offspring is an exact copy.
Genes with a single allowed value (only gate 0's sources, when there is one
input) are never chosen.

``"binary"``: one array ``"bits"`` uint8 (n, L) of 0/1 values, read as
fixed-width unsigned bit fields, most significant bit first::

    [gate 0 source 0][gate 0 source 1][gate 1 source 0] ... [gate G-1 source 1]
    [output 0] ... [output n_outputs-1]

Every source field has ``source_bits = ceil(log2(S))`` bits, where S is the
largest number of sources any gate may read (``n_inputs + G`` with feedback,
``n_inputs + G - 1`` feed-forward); every output field has ``output_bits =
ceil(log2(G))`` bits (0 bits, hence no field content, when the count is 1).
L = ``2 * G * source_bits + n_outputs * output_bits``.

*Out-of-range addresses* map **modulo** the number of allowed values: the
source field of gate g holding address a reads node ``a mod S_g`` (``S_g =
n_inputs + G`` with feedback, ``n_inputs + g`` feed-forward, so node ids
below ``S_g`` are addressed directly), and output field a names gate node
``n_inputs + (a mod G)``. Kashtan & Alon's supplementary information, which
gives the exact bit layout and out-of-range rule, is not available here, so
this rule is ours. With 4 inputs and 12 gates with feedback every 4-bit
address is valid (S = 16) and the rule never applies; with the default 14
gates (S = 18, 5 bits) addresses 18..31 alias nodes 0..13, so those nodes are
twice as likely under random bits and a bit flip of such an address may move
it to a node that is not a binary neighbour of the old node id (the address
itself always is).

**Mutation** (binary): with probability ``mutation_probability`` per genome,
one bit chosen uniformly among the L bits flips, so exactly one address
changes, to a Hamming neighbour; a flip may be neutral when both addresses
decode to the same node. Random genomes are uniform random bits.
``from_json`` encodes each source and output by its direct address (node id,
or gate index for outputs) unless the JSON carries the genome's exact
``"bits"`` (written by ``to_json``) and they decode to the same circuit.

**Effective gates**: gates with a directed path to an output gate, the output
gates included. ``penalty`` = ``penalty_per_gate * max(0, effective -
threshold)``.

**Positions** (for connection costs): inputs on a row at y = 0 and gates on a
row at y = 1 in index order, each row centred on x = 0 with unit spacing.
Only the inputs are fixed nodes: the output gates are chosen by the genome.

**JSON**::

    {"kind": "circuit", "inputs": [0, 1, 2, 3],
     "gates": [{"id": 4, "in": [a, b]}, ...], "outputs": [gate ids]}

plus, for binary genomes, ``"bits": "0110..."`` (the L genome bits; the
graph readers ignore it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evomod.config import MAX_GATES, MAX_SETTLE_STEPS, spec
from evomod.errors import ConfigError
from evomod.kernels.circuit import apply_mutations, circuit_effective, circuit_truth_tables, elitist_offspring
from evomod.models.base import Genomes, NetworkModel, check_int, check_real, size
from evomod.network_format import parse_network
from evomod.registry import MODELS, TASKS

MAX_INPUTS = 6
GENOMES = ("integer", "binary")


def pattern_index(inputs: np.ndarray, n_inputs: int) -> np.ndarray:
    """Pattern number of each input row (row value i = bit i)."""
    inputs = np.asarray(inputs)
    if inputs.ndim != 2 or inputs.shape[1] != n_inputs:
        raise ValueError(f"inputs must have shape (n_patterns, {n_inputs}), got {inputs.shape}")
    return (inputs.astype(np.int64) << np.arange(n_inputs)).sum(axis=1)


def pack_target(target: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(n_outputs,) uint64 words with bit index[p] = target[p]; rows must be distinct."""
    target = np.asarray(target, dtype=bool)
    bits = np.uint64(1) << index.astype(np.uint64)
    return np.bitwise_or.reduce(np.where(target, bits[:, None], np.uint64(0)), axis=0)


def _bits_for(count: int) -> int:
    """Bits of a field addressing ``count`` values: ceil(log2(count)), 0 for one value."""
    return int(count - 1).bit_length()


def _read_fields(bits: np.ndarray, n_fields: int, width: int) -> np.ndarray:
    """(n, n_fields) int64 values of consecutive ``width``-bit fields, MSB first."""
    n = len(bits)
    if width == 0:
        return np.zeros((n, n_fields), dtype=np.int64)
    weights = np.int64(1) << np.arange(width - 1, -1, -1, dtype=np.int64)
    return bits.reshape(n, n_fields, width).astype(np.int64) @ weights


def _write_fields(values: np.ndarray, width: int) -> np.ndarray:
    """Inverse of :func:`_read_fields`: (n, n_fields * width) uint8 bits."""
    n, n_fields = values.shape
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
    bits = (values[:, :, None] >> shifts[None, None, :]) & 1
    return bits.reshape(n, n_fields * width).astype(np.uint8)


class CircuitModel(NetworkModel):
    kind = "circuit"

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        gates: int = 14,
        feedback: bool = False,
        settle_steps: int | None = None,
        threshold: int = 11,
        penalty_per_gate: float = 0.2,
        mutation_probability: float = 0.7,
        genome: str = "integer",
    ):
        self.n_inputs = check_int("task.n_inputs", n_inputs, 1, MAX_INPUTS)
        self.n_outputs = check_int("task.n_outputs", n_outputs, 1)
        max_gates = np.iinfo(np.int16).max - self.n_inputs
        self.gates = check_int("model.gates", gates, 1, max_gates)
        if self.gates < self.n_outputs:
            raise ConfigError(
                "model.gates",
                f"{self.gates} gates cannot drive {self.n_outputs} outputs (each output is a distinct gate)",
                f"{self.n_outputs}..{max_gates}",
            )
        if not isinstance(feedback, (bool, np.bool_)):
            raise ConfigError("model.feedback", f"must be true or false, got {feedback!r}", [True, False])
        self.feedback = bool(feedback)
        if settle_steps is None:
            settle_steps = 2 * self.gates
        self.settle_steps = check_int("model.settle_steps", settle_steps, 1)
        self.threshold = check_int("model.threshold", threshold, 0)
        self.penalty_per_gate = check_real("model.penalty_per_gate", penalty_per_gate, 0.0)
        self.mutation_probability = check_real("model.mutation_probability", mutation_probability, 0.0, 1.0)
        if not isinstance(genome, str) or genome not in GENOMES:
            raise ConfigError("model.genome", f"unknown genome {genome!r}", list(GENOMES))
        self.genome = genome
        self.n_nodes = self.n_inputs + self.gates
        self.n_patterns = 2**self.n_inputs

        g = np.arange(self.gates)
        # Source gene j of gate g is gene 2g + j; output genes follow.
        src_choices = self.n_inputs + g if not self.feedback else np.full(self.gates, self.n_nodes)
        self._src_choices = np.repeat(src_choices, 2)
        choices = np.concatenate([self._src_choices, np.full(self.n_outputs, self.gates)])
        mutable = choices >= 2
        self._mut_genes = np.nonzero(mutable)[0]
        self._mut_choices = choices[mutable]
        self._packed_goals: dict = {}
        self.fused_elitist = self.genome == "integer"

        # Binary layout: one fixed-width field per source gene, then per output.
        self.source_bits = _bits_for(int(self._src_choices.max()))
        self.output_bits = _bits_for(self.gates)
        self.n_src_bits = 2 * self.gates * self.source_bits
        self.n_bits = self.n_src_bits + self.n_outputs * self.output_bits
        # Per source gene (gate-major): the modulus S_g of its addresses.
        self.source_modulus = self._src_choices.reshape(self.gates, 2).astype(np.int64)

    # -- binary genome -----------------------------------------------------------

    def field_addresses(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw addresses of a binary genome: sources (n, G, 2) and outputs (n, n_outputs)."""
        bits = np.asarray(bits)
        n = len(bits)
        src = _read_fields(bits[:, : self.n_src_bits], 2 * self.gates, self.source_bits)
        out = _read_fields(bits[:, self.n_src_bits :], self.n_outputs, self.output_bits)
        return src.reshape(n, self.gates, 2), out

    def decode(self, bits: np.ndarray) -> Genomes:
        """The wiring ``{"src", "out"}`` (int16) that binary genomes ``bits`` code for."""
        src, out = self.field_addresses(bits)
        src = src % self.source_modulus[None]
        out = self.n_inputs + out % self.gates
        return {"src": src.astype(np.int16), "out": out.astype(np.int16)}

    def encode(self, src: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Bits addressing every source and output directly (node id; gate index for outputs)."""
        src = np.asarray(src, dtype=np.int64)
        out = np.asarray(out, dtype=np.int64) - self.n_inputs
        n = len(src)
        return np.concatenate(
            [
                _write_fields(src.reshape(n, 2 * self.gates), self.source_bits),
                _write_fields(out.reshape(n, self.n_outputs), self.output_bits),
            ],
            axis=1,
        )

    def wiring(self, genomes: Genomes) -> tuple[np.ndarray, np.ndarray]:
        """``(src, out)`` as contiguous int16 arrays, decoded first for binary genomes."""
        if self.genome == "binary":
            genomes = self.decode(genomes["bits"])
        return (
            np.ascontiguousarray(genomes["src"], dtype=np.int16),
            np.ascontiguousarray(genomes["out"], dtype=np.int16),
        )

    # -- genomes ---------------------------------------------------------------

    def random(self, n: int, rng: np.random.Generator) -> Genomes:
        if self.genome == "binary":
            return {"bits": rng.integers(0, 2, size=(n, self.n_bits), dtype=np.uint8)}
        highs = self._src_choices.reshape(self.gates, 2)
        src = rng.integers(0, highs, size=(n, self.gates, 2)).astype(np.int16)
        out = (self.n_inputs + rng.integers(0, self.gates, size=(n, self.n_outputs))).astype(np.int16)
        return {"src": src, "out": out}

    def mutation_draws(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What integer-genome mutation of ``n`` genomes draws: the rows that
        mutate, the gene each changes and the index of its new value among
        the gene's other allowed values (see ``kernels.circuit.apply_mutations``)."""
        rows = np.nonzero(rng.random(n) < self.mutation_probability)[0]
        if len(rows) == 0 or len(self._mut_genes) == 0:
            return rows[:0], rows[:0], rows[:0]
        pick = rng.integers(0, len(self._mut_genes), size=len(rows))
        # A gene with c allowed values moves to one of its c - 1 others.
        return rows, self._mut_genes[pick], rng.integers(0, self._mut_choices[pick] - 1)

    def mutate(self, genomes: Genomes, rng: np.random.Generator) -> Genomes:
        if self.genome == "binary":
            bits = genomes["bits"].copy()
            rows = np.nonzero(rng.random(len(bits)) < self.mutation_probability)[0]
            if len(rows) and self.n_bits:
                flip = rng.integers(0, self.n_bits, size=len(rows))
                bits[rows, flip] ^= np.uint8(1)
            return {"bits": bits}
        src = genomes["src"].copy()
        out = genomes["out"].copy()
        apply_mutations(src, out, *self.mutation_draws(len(src), rng), self.n_inputs)
        return {"src": src, "out": out}

    # -- evaluation ------------------------------------------------------------

    def truth_tables(self, genomes: Genomes) -> tuple[np.ndarray, np.ndarray]:
        """Output words and settled-pattern words, both (n, n_outputs) uint64."""
        src, out = self.wiring(genomes)
        return circuit_truth_tables(src, out, self.n_inputs, self.feedback, self.settle_steps)

    def outputs(self, genomes: Genomes, inputs: np.ndarray) -> np.ndarray:
        index = pattern_index(inputs, self.n_inputs).astype(np.uint64)
        tables, _ = self.truth_tables(genomes)
        return ((tables[:, None, :] >> index[None, :, None]) & np.uint64(1)).astype(bool)

    def performance(self, genomes: Genomes, inputs: np.ndarray, target: np.ndarray) -> np.ndarray:
        index = pattern_index(inputs, self.n_inputs)
        target = np.asarray(target, dtype=bool)
        if target.shape != (len(index), self.n_outputs):
            raise ValueError(f"target must have shape {(len(index), self.n_outputs)}, got {target.shape}")
        tables, settled = self.truth_tables(genomes)
        total = len(index) * self.n_outputs
        if len(np.unique(index)) == len(index):
            # Distinct rows (the full pattern set or a subset): count agreeing,
            # settled bits inside the selected patterns with one popcount.
            words, select, total = self.packed_goal(inputs, target)
            agree = ~(tables ^ words[None, :]) & settled & select
            return np.bitwise_count(agree).sum(axis=1) / total
        u = index.astype(np.uint64)
        bits = ((tables[:, None, :] >> u[None, :, None]) & np.uint64(1)).astype(bool)
        ok = ((settled[:, None, :] >> u[None, :, None]) & np.uint64(1)).astype(bool)
        return ((bits == target[None]) & ok).sum(axis=(1, 2)) / total

    def packed_goal(self, inputs: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.uint64, int]:
        """``target`` as one word per output, the word of the selected
        patterns and the number of answers, for distinct input rows (what
        ``performance`` counts against); cached, as a run has few goals."""
        key = (inputs.tobytes(), np.asarray(target, dtype=bool).tobytes())
        packed = self._packed_goals.get(key)
        if packed is None:
            index = pattern_index(inputs, self.n_inputs)
            if len(np.unique(index)) != len(index):
                raise ValueError("packed_goal needs distinct input rows")
            select = np.bitwise_or.reduce(np.uint64(1) << index.astype(np.uint64))
            words = pack_target(np.asarray(target, dtype=bool), index)
            packed = (words, np.uint64(select), len(index) * self.n_outputs)
            if len(self._packed_goals) > 64:
                self._packed_goals.clear()
            self._packed_goals[key] = packed
        return packed

    def elitist_generation(
        self, genomes, performance, penalty, fitness, n_elite, rng, inputs, target, score_children=True
    ):
        """The elitist GA's generation compiled (integer genomes): the same
        draws from ``rng`` as ``selection.Elitist`` with ``mutate``, and every
        row's performance and penalty (only mutated children are evaluated;
        see ``kernels.circuit.elitist_offspring``)."""
        n = len(fitness)
        shuffled = rng.permutation(n)
        parent_draws = rng.integers(0, n_elite, n - n_elite)
        rows, genes, draws = self.mutation_draws(n - n_elite, rng)
        src, out = self.wiring(genomes)
        words, select, total = self.packed_goal(inputs, target)
        src, out, performance, penalty, elite = elitist_offspring(
            src, out, performance, penalty, fitness, shuffled, n_elite, parent_draws, rows, genes, draws,
            self.n_inputs, self.feedback, self.settle_steps, words, select, total, self.threshold,
            self.penalty_per_gate, score_children,
        )  # fmt: skip
        return {"src": src, "out": out}, performance, penalty, elite

    # -- structure -------------------------------------------------------------

    def effective_mask(self, genomes: Genomes) -> np.ndarray:
        """(n, G) bool: gates with a directed path to an output gate."""
        src, out = self.wiring(genomes)
        return circuit_effective(src, out, self.n_inputs)

    def effective_gates(self, genomes: Genomes) -> np.ndarray:
        return self.effective_mask(genomes).sum(axis=1)

    def expressed_nodes(self, genomes: Genomes) -> np.ndarray:
        """(n,) nodes of the pruned circuit graph: effective gates and the inputs they read.

        The node count ``network_graph(..., prune=True)`` keeps (every
        effective gate has its two in-edges, every other gate and every
        unread input has no path to an output).
        """
        src, out = self.wiring(genomes)
        effective = circuit_effective(src, out, self.n_inputs)
        count = effective.sum(axis=1)
        for i in range(self.n_inputs):
            count += ((src == i).any(axis=2) & effective).any(axis=1)
        return count

    def connection_count(self, genomes: Genomes) -> np.ndarray:
        # Two weighted edges per effective gate (see edges()).
        return 2 * self.effective_gates(genomes)

    def penalty(self, genomes: Genomes) -> np.ndarray:
        excess = np.maximum(0, self.effective_gates(genomes) - self.threshold)
        return self.penalty_per_gate * excess

    def graph_arrays(self, genome: Genomes) -> tuple[np.ndarray, np.ndarray]:
        raw, _ = super().graph_arrays(genome)
        outputs = np.zeros(self.n_nodes, dtype=bool)
        outputs[self.wiring(genome)[1][0]] = True
        return raw, outputs

    def output_nodes(self):
        # The output gates are chosen by the genome; edges() already zeroes
        # every gate outside the expressed circuit.
        return None

    def edges(self, genomes: Genomes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One edge per source gene; weight 0 for gates outside the expressed circuit.

        A gate that reads the same node twice gives two parallel edges.
        """
        n = size(genomes)
        src = self.wiring(genomes)[0].reshape(n, 2 * self.gates).astype(np.int64)
        dst = np.broadcast_to(np.repeat(self.n_inputs + np.arange(self.gates), 2), (n, 2 * self.gates)).copy()
        weight = np.repeat(self.effective_mask(genomes), 2, axis=1).astype(np.float64)
        return src, dst, weight

    def positions(self) -> np.ndarray:
        pos = np.zeros((self.n_nodes, 2))
        pos[: self.n_inputs, 0] = np.arange(self.n_inputs) - (self.n_inputs - 1) / 2
        pos[self.n_inputs :, 0] = np.arange(self.gates) - (self.gates - 1) / 2
        pos[self.n_inputs :, 1] = 1.0
        return pos

    def fixed_nodes(self) -> np.ndarray:
        fixed = np.zeros(self.n_nodes, dtype=bool)
        fixed[: self.n_inputs] = True
        return fixed

    # -- JSON ------------------------------------------------------------------

    def to_json(self, genomes: Genomes, i: int) -> dict:
        one = {k: v[i : i + 1] for k, v in genomes.items()}
        src, out = self.wiring(one)
        data = {
            "kind": self.kind,
            "inputs": list(range(self.n_inputs)),
            "gates": [
                {"id": self.n_inputs + g, "in": [int(src[0, g, 0]), int(src[0, g, 1])]}
                for g in range(self.gates)
            ],
            "outputs": [int(o) for o in out[0]],
        }
        if self.genome == "binary":
            data["bits"] = "".join("1" if b else "0" for b in one["bits"][0])
        return data

    def from_json(self, data: dict) -> Genomes:
        net = parse_network(data, kind=self.kind, inputs=range(self.n_inputs), n_gates=self.gates)
        gate_ids = list(range(self.n_inputs, self.n_nodes))
        src = np.full((self.gates, 2), -1, dtype=np.int64)
        for gate, sources, field in net.gates:
            gid = int(net.ids[gate])
            where = field[: -len(".in")]
            if gid not in gate_ids:
                raise ConfigError(f"{where}.id", f"unknown gate id {gid!r}", f"{gate_ids[0]}..{gate_ids[-1]}")
            if len(sources) != 2:
                raise ConfigError(field, f"a NAND gate needs 2 sources, got {len(sources)}")
            high = self.n_nodes if self.feedback else gid
            for j, source in enumerate(sources):
                s = int(net.ids[source])
                if s >= high:
                    raise ConfigError(
                        field,
                        f"gate {gid} reads node {s}: feed-forward circuits "
                        "may read only inputs and lower-numbered gates",
                        f"0..{high - 1}",
                    )
                src[gid - self.n_inputs, j] = s
        listed = data["outputs"]  # in order, and one gate may drive several outputs
        if len(listed) != self.n_outputs:
            raise ConfigError("network.outputs", f"expected {self.n_outputs} output gate ids, got {listed!r}")
        for o in listed:
            if o not in gate_ids:
                raise ConfigError(
                    "network.outputs", f"{o!r} is not a gate id", f"{gate_ids[0]}..{gate_ids[-1]}"
                )
        outs = [int(o) for o in listed]
        src = src[None].astype(np.int16)
        out = np.array([outs], dtype=np.int16)
        if self.genome == "integer":
            return {"src": src, "out": out}
        bits = self._json_bits(data.get("bits"))
        if bits is not None:
            decoded = self.decode(bits)
            if np.array_equal(decoded["src"], src) and np.array_equal(decoded["out"], out):
                return {"bits": bits}
            raise ConfigError(
                "network.bits", "the genome bits do not decode to the circuit's gates and outputs"
            )
        return {"bits": self.encode(src, out)}

    def _json_bits(self, text):
        if text is None:
            return None
        if not isinstance(text, str) or len(text) != self.n_bits or any(c not in "01" for c in text):
            raise ConfigError(
                "network.bits", f"must be a string of {self.n_bits} 0/1 characters, got {text!r}"
            )
        return np.array([[c == "1" for c in text]], dtype=np.uint8)


@MODELS.register("circuit")
@dataclass(frozen=True)
class CircuitSpec:
    """Kashtan & Alon 2005's NAND circuits; the fields are the [model] table's."""

    kind: str = spec("circuit", str)
    gates: int = spec(14, int, minimum=1, maximum=MAX_GATES)
    feedback: bool = spec(False, bool)
    settle_steps: int | None = spec(None, int, minimum=1, maximum=MAX_SETTLE_STEPS, nullable=True)
    threshold: int = spec(11, int, minimum=0, maximum=MAX_GATES)
    penalty_per_gate: float = spec(0.2, float, minimum=0.0)
    mutation_probability: float = spec(0.7, float, minimum=0.0, maximum=1.0)
    genome: str = spec("integer", str, choices=GENOMES)

    # Its networks are written as inputs, gates and outputs (evomod.network_format).
    network_format: ClassVar[str] = "gates"
    # Kashtan & Alon's setup. Their best individual changes almost every
    # generation (many neutral equals), so Q is logged every 10 generations
    # with the spectral method to keep logging under 10 % of the run time.
    paper_setup: ClassVar[dict] = {
        "task": {"name": "logic4"},
        "schedule": {"goals": ["G1"]},
        "selection": {"kind": "elitist", "elite": 300, "treatment": "PA"},
        "cost": {"kind": "none"},
        "population": 1000,
        "modularity_method": "spectral",
        "modularity_directed": False,
        "log_modularity_every": 10,
    }

    def build(self, task) -> CircuitModel:
        if task.n_inputs > MAX_INPUTS:
            fitting = [name for name, make in TASKS.items() if make().n_inputs <= MAX_INPUTS]
            raise ConfigError(
                "task.name",
                f"task {task.name!r} has {task.n_inputs} inputs, but "
                f"model.kind = 'circuit' evaluates at most {MAX_INPUTS} (set task.name "
                "or model.kind)",
                fitting,
            )
        return CircuitModel(
            task.n_inputs,
            task.n_outputs,
            gates=self.gates,
            feedback=self.feedback,
            settle_steps=self.settle_steps,
            threshold=self.threshold,
            penalty_per_gate=self.penalty_per_gate,
            mutation_probability=self.mutation_probability,
            genome=self.genome,
        )
