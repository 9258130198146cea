"""Kashtan & Alon's (2005) layered threshold networks for the retina task.

Layers: ``layers[0]`` inputs (pixels 0/1), then layers of threshold neurons;
the default ``(8, 8, 4, 2, 1)`` gives 15 neurons. Nodes: inputs
``0..layers[0]-1``, then the neurons layer by layer (8..22 by default); the
last ``layers[-1]`` neurons are the outputs. A neuron reads only the layer
just before it.

Genome (population on the leading axis; N neurons, F = max(fan_in,
output_fan_in) slots per neuron):

* ``"src"`` int8 (n, N, F): for each input slot, the index of its source
  *within the previous layer*, or -1 for an empty slot. Hidden neurons use
  ``fan_in`` slots, output neurons ``output_fan_in``; their other slots stay
  empty for ever.
* ``"sign"`` int8 (n, N, F): the slot's weight, +1 or -1. Slots from the same
  source add up (two to ±2, three to ±3, or cancel to 0).
* ``"threshold"`` int8 (n, N): integer thresholds in
  ``threshold_min..threshold_max``.

A neuron outputs 1 when ``sum(w * x) >= threshold`` (an empty sum is 0); an
output of 1 means "true". The default threshold range -3..3 spans every
distinct behaviour of a 3-slot neuron: sums lie in -3..3, so threshold -3 is
the constant 1, and any threshold above the positive weights is the constant
0 (e.g. 1 for a neuron with no positive input).

**Expressed network.** A slot is *live* when it is filled and its source's net
weight is non-zero. A neuron is *on a path to the output* when a chain of live
slots leads from it to an output neuron; it is *used* when it also reads at
least one live slot. ``penalty`` = ``penalty_per_neuron * max(0, used -
neuron_threshold)``. ``edges`` gives one entry per slot (n, N*F) with weight =
sign for live slots of neurons on a path to the output and 0 otherwise
(empty slots point at the first node of the previous layer).

**Mutation**: with probability ``mutation_probability`` per genome one gene,
chosen uniformly among all slot sources, slot signs and thresholds, changes:
a source moves to a different value of {empty, 0..width-1} (so re-pointing,
emptying and filling are all one kind of change), a sign flips, a threshold
moves to a different value of its range. A sign change on an empty slot is
neutral, as is any change to an unused neuron.

**Crossover** (``crossover(a, b, rng)``): uniform per neuron, the child
takes each neuron whole (its slots, signs and threshold) from ``a`` or ``b``
with equal odds; whole neurons keep every fan-in rule intact. ``crossover``
always crosses: the loop reads ``crossover_probability`` and decides per pair
whether to use the crossed child or the parent.

**Positions** (for connection costs), Clune et al.'s author coordinates:
layer l at y = l; widths 4 and 2 at x = (-2, -1, 1, 2) and (-1, 1), every
other width centred with unit spacing (8 wide: x = -3.5..3.5; 1 wide: x = 0).

**JSON**::

    {"kind": "threshold", "layers": [8, 8, 4, 2, 1],
     "nodes": [{"id": 0, "layer": 0, "threshold": null, "x": -3.5, "y": 0.0}, ...],
     "edges": [[src_id, dst_id, weight], ...]}

Edges are merged per (source, neuron) pair: weights are non-zero integers of
magnitude at most the neuron's fan-in, a weight of ±k filling k slots
(cancelled pairs are left out, as they carry nothing). ``from_json`` rebuilds a genome with the
same outputs, penalty and expressed edges; its slot order may differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar

import numpy as np

from evomod.config import MAX_LAYERS, spec
from evomod.errors import ConfigError
from evomod.kernels.threshold import (
    elitist_offspring,
    threshold_fraction_correct,
    threshold_outputs,
    threshold_structure,
)
from evomod.models.base import Genomes, NetworkModel, check_int, check_real, fitting_layers, size
from evomod.network_format import parse_network
from evomod.registry import MODELS

_INT8 = np.iinfo(np.int8)
_CLUNE_ROWS = {4: (-2.0, -1.0, 1.0, 2.0), 2: (-1.0, 1.0)}

# Gene kinds in the mutation table.
_SRC, _SIGN, _THR = 0, 1, 2


class ThresholdModel(NetworkModel):
    kind = "threshold"

    def __init__(
        self,
        layers=(8, 8, 4, 2, 1),
        fan_in: int = 3,
        output_fan_in: int = 2,
        threshold_min: int = -3,
        threshold_max: int = 3,
        neuron_threshold: int = 13,
        penalty_per_neuron: float = 0.01,
        mutation_probability: float = 0.5,
        crossover_probability: float = 0.5,
    ):
        if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__") or len(layers) < 2:
            raise ConfigError(
                "model.layers",
                f"need the input width and at least one neuron layer, got {layers!r}",
                "a list of >= 2 widths",
            )
        self.layers = tuple(check_int(f"model.layers[{i}]", w, 1, _INT8.max) for i, w in enumerate(layers))
        self.fan_in = check_int("model.fan_in", fan_in, 1, _INT8.max)
        self.output_fan_in = check_int("model.output_fan_in", output_fan_in, 1, _INT8.max)
        self.threshold_min = check_int("model.threshold_min", threshold_min, _INT8.min, _INT8.max)
        self.threshold_max = check_int("model.threshold_max", threshold_max, self.threshold_min, _INT8.max)
        self.neuron_threshold = check_int("model.neuron_threshold", neuron_threshold, 0)
        self.penalty_per_neuron = check_real("model.penalty_per_neuron", penalty_per_neuron, 0.0)
        self.mutation_probability = check_real("model.mutation_probability", mutation_probability, 0.0, 1.0)
        self.crossover_probability = check_real(
            "model.crossover_probability", crossover_probability, 0.0, 1.0
        )

        self.n_inputs = self.layers[0]
        self.n_outputs = self.layers[-1]
        self.n_neurons = sum(self.layers[1:])
        self.n_nodes = self.n_inputs + self.n_neurons
        self.n_slots = max(self.fan_in, self.output_fan_in)

        layer_of, prev_offset, prev_width = [], [], []
        start = 0
        for l in range(1, len(self.layers)):
            layer_of += [l] * self.layers[l]
            prev_offset += [start] * self.layers[l]
            prev_width += [self.layers[l - 1]] * self.layers[l]
            start += self.layers[l - 1]
        self.node_layer = np.array([0] * self.n_inputs + layer_of)
        self.prev_offset = np.array(prev_offset, dtype=np.int64)
        self.prev_width = np.array(prev_width, dtype=np.int64)
        last = len(self.layers) - 1
        self.neuron_fan_in = np.where(np.array(layer_of) == last, self.output_fan_in, self.fan_in)
        self.slot_open = np.arange(self.n_slots)[None, :] < self.neuron_fan_in[:, None]

        kind, neuron, slot, choices = [], [], [], []
        for j in range(self.n_neurons):
            for s in range(self.neuron_fan_in[j]):
                kind += [_SRC, _SIGN]
                neuron += [j, j]
                slot += [s, s]
                choices += [self.prev_width[j] + 1, 2]
            if self.threshold_max > self.threshold_min:
                kind.append(_THR)
                neuron.append(j)
                slot.append(0)
                choices.append(self.threshold_max - self.threshold_min + 1)
        self._gene_kind = np.array(kind, dtype=np.int64)
        self._gene_neuron = np.array(neuron, dtype=np.int64)
        self._gene_slot = np.array(slot, dtype=np.int64)
        self._gene_choices = np.array(choices, dtype=np.int64)

    # -- genomes ---------------------------------------------------------------

    def random(self, n: int, rng: np.random.Generator) -> Genomes:
        shape = (n, self.n_neurons, self.n_slots)
        src = rng.integers(-1, self.prev_width[None, :, None], size=shape)
        src = np.where(self.slot_open[None], src, -1).astype(np.int8)
        sign = np.where(rng.random(shape) < 0.5, 1, -1)
        sign = np.where(self.slot_open[None], sign, 1).astype(np.int8)
        thr = rng.integers(self.threshold_min, self.threshold_max + 1, size=(n, self.n_neurons)).astype(
            np.int8
        )
        return {"src": src, "sign": sign, "threshold": thr}

    def mutation_draws(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What mutating ``n`` genomes draws: the rows that mutate, the entry
        of the mutation table each changes and the index of its new value
        among the gene's other values (a sign has one other value)."""
        rows = np.nonzero(rng.random(n) < self.mutation_probability)[0]
        if len(rows) == 0 or len(self._gene_kind) == 0:
            return rows[:0], rows[:0], rows[:0]
        pick = rng.integers(0, len(self._gene_kind), size=len(rows))
        # A draw from choices-1 values that skips the current one is uniform
        # over the other values.
        return rows, pick, rng.integers(0, self._gene_choices[pick] - 1)

    def mutate(self, genomes: Genomes, rng: np.random.Generator) -> Genomes:
        src = genomes["src"].copy()
        sign = genomes["sign"].copy()
        thr = genomes["threshold"].copy()
        rows, pick, draw = self.mutation_draws(len(src), rng)
        kind = self._gene_kind[pick]
        j = self._gene_neuron[pick]
        s = self._gene_slot[pick]
        m = kind == _SRC
        current = src[rows[m], j[m], s[m]].astype(np.int64) + 1
        src[rows[m], j[m], s[m]] = draw[m] + (draw[m] >= current) - 1
        m = kind == _SIGN
        sign[rows[m], j[m], s[m]] *= -1
        m = kind == _THR
        current = thr[rows[m], j[m]].astype(np.int64) - self.threshold_min
        thr[rows[m], j[m]] = draw[m] + (draw[m] >= current) + self.threshold_min
        return {"src": src, "sign": sign, "threshold": thr}

    def crossover_draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, N) bool: which neurons a crossed child takes from its second parent."""
        return rng.random((n, self.n_neurons)) < 0.5

    def crossover(self, a: Genomes, b: Genomes, rng: np.random.Generator) -> Genomes:
        from_b = self.crossover_draws(size(a), rng)
        return {
            "src": np.where(from_b[:, :, None], b["src"], a["src"]),
            "sign": np.where(from_b[:, :, None], b["sign"], a["sign"]),
            "threshold": np.where(from_b, b["threshold"], a["threshold"]),
        }

    # The elitist GA's generation, compiled (see elitist_generation).
    fused_elitist = True

    def elitist_generation(
        self, genomes, performance, penalty, fitness, n_elite, rng, inputs, target, score_children=True
    ):
        """``evomod.selection.Elitist``'s generation in one numba call, with
        crossover at ``crossover_probability``: the same draws from ``rng``
        in the same order, and every row's performance and penalty (only
        children that crossed or mutated are scored; see
        ``kernels.threshold.elitist_offspring``)."""
        n = len(fitness)
        n_children = n - n_elite
        shuffled = rng.permutation(n)
        parent_draws = rng.integers(0, n_elite, n_children)
        if self.crossover_probability > 0.0:
            mate_draws = rng.integers(0, n_elite, n_children)
            from_mate = self.crossover_draws(n_children, rng)
            mix = rng.random(n_children) < self.crossover_probability
        else:
            mate_draws, from_mate, mix = (
                parent_draws[:0],
                np.zeros((0, self.n_neurons), bool),
                np.zeros(0, bool),
            )
        rows, genes, draws = self.mutation_draws(n_children, rng)
        src, sign, thr, performance, penalty, elite = elitist_offspring(
            *self._kernel_arguments(genomes, inputs)[:3], performance, penalty, fitness, shuffled, n_elite,
            parent_draws, mate_draws, from_mate, mix, rows, genes, draws, self._gene_kind,
            self._gene_neuron, self._gene_slot, self.threshold_min, self.prev_offset, self.n_inputs,
            self.n_outputs, np.ascontiguousarray(inputs, dtype=np.uint8),
            np.ascontiguousarray(np.asarray(target, dtype=bool).reshape(len(inputs), self.n_outputs)),
            self.neuron_threshold, self.penalty_per_neuron, score_children,
        )  # fmt: skip
        return {"src": src, "sign": sign, "threshold": thr}, performance, penalty, elite

    # -- evaluation ------------------------------------------------------------

    def _kernel_arguments(self, genomes: Genomes, inputs: np.ndarray) -> tuple:
        inputs = np.asarray(inputs)
        if inputs.ndim != 2 or inputs.shape[1] != self.n_inputs:
            raise ValueError(f"inputs must have shape (n_patterns, {self.n_inputs}), got {inputs.shape}")
        return (
            np.ascontiguousarray(genomes["src"], dtype=np.int8),
            np.ascontiguousarray(genomes["sign"], dtype=np.int8),
            np.ascontiguousarray(genomes["threshold"], dtype=np.int8),
            self.prev_offset,
            self.n_inputs,
            self.n_outputs,
            np.ascontiguousarray(inputs, dtype=np.uint8),
        )

    def outputs(self, genomes: Genomes, inputs: np.ndarray) -> np.ndarray:
        return threshold_outputs(*self._kernel_arguments(genomes, inputs))

    def performance(self, genomes: Genomes, inputs: np.ndarray, target: np.ndarray) -> np.ndarray:
        target = np.ascontiguousarray(np.asarray(target, dtype=bool).reshape(len(inputs), self.n_outputs))
        return threshold_fraction_correct(*self._kernel_arguments(genomes, inputs), target)

    # -- structure -------------------------------------------------------------

    def structure(self, genomes: Genomes) -> tuple[np.ndarray, np.ndarray]:
        """(live (n, N, F), on_path (n, N)): see the module docstring."""
        return threshold_structure(
            np.ascontiguousarray(genomes["src"], dtype=np.int8),
            np.ascontiguousarray(genomes["sign"], dtype=np.int8),
            self.prev_offset,
            self.n_inputs,
            self.n_outputs,
        )

    def used_mask(self, genomes: Genomes) -> np.ndarray:
        """(n, N) bool: neurons on a path to the output with at least one live input."""
        live, reach = self.structure(genomes)
        return reach & live.any(axis=2)

    def used_neurons(self, genomes: Genomes) -> np.ndarray:
        return self.used_mask(genomes).sum(axis=1)

    def penalty(self, genomes: Genomes) -> np.ndarray:
        excess = np.maximum(0, self.used_neurons(genomes) - self.neuron_threshold)
        return self.penalty_per_neuron * excess

    def edges(self, genomes: Genomes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = size(genomes)
        live, reach = self.structure(genomes)
        raw = genomes["src"].astype(np.int64)
        src = self.prev_offset[None, :, None] + np.maximum(raw, 0)
        dst = np.broadcast_to((self.n_inputs + np.arange(self.n_neurons))[None, :, None], raw.shape)
        weight = np.where(live & reach[:, :, None], genomes["sign"], 0).astype(np.float64)
        flat = (n, self.n_neurons * self.n_slots)
        return src.reshape(flat), dst.reshape(flat).copy(), weight.reshape(flat)

    def positions(self) -> np.ndarray:
        pos = np.zeros((self.n_nodes, 2))
        start = 0
        for l, width in enumerate(self.layers):
            xs = _CLUNE_ROWS.get(width, np.arange(width) - (width - 1) / 2)
            pos[start : start + width, 0] = xs
            pos[start : start + width, 1] = l
            start += width
        return pos

    # -- JSON ------------------------------------------------------------------

    def to_json(self, genomes: Genomes, i: int) -> dict:
        pos = self.positions()
        thr = genomes["threshold"][i]
        nodes = []
        for node in range(self.n_nodes):
            nodes.append(
                {
                    "id": node,
                    "layer": int(self.node_layer[node]),
                    "threshold": None if node < self.n_inputs else int(thr[node - self.n_inputs]),
                    "x": float(pos[node, 0]),
                    "y": float(pos[node, 1]),
                }
            )
        edges = []
        src, sign = genomes["src"][i], genomes["sign"][i]
        for j in range(self.n_neurons):
            net: dict[int, int] = {}
            for s in range(self.n_slots):
                if src[j, s] >= 0:
                    node = int(self.prev_offset[j] + src[j, s])
                    net[node] = net.get(node, 0) + int(sign[j, s])
            for node in sorted(net):
                if net[node] != 0:
                    edges.append([node, self.n_inputs + j, net[node]])
        return {"kind": self.kind, "layers": list(self.layers), "nodes": nodes, "edges": edges}

    def from_json(self, data: dict) -> Genomes:
        net = parse_network(data, kind=self.kind, layers=self.layers)
        thr = np.zeros(self.n_neurons, dtype=np.int8)
        for k, node in enumerate(net.nodes):
            field = f"network.nodes[{k}]"
            nid = int(net.ids[k])
            if not 0 <= nid < self.n_nodes:
                raise ConfigError(
                    f"{field}.id", f"unknown node id {nid!r}", f"0..{self.n_nodes - 1}, each once"
                )
            if net.layers[k] != self.node_layer[nid]:
                raise ConfigError(
                    f"{field}.layer", f"node {nid} is in layer {self.node_layer[nid]}, not {node['layer']!r}"
                )
            t = node.get("threshold")
            if nid < self.n_inputs:
                if t is not None:
                    raise ConfigError(f"{field}.threshold", "inputs have no threshold", [None])
                continue
            if (
                isinstance(t, bool)
                or not isinstance(t, Integral)
                or not self.threshold_min <= t <= self.threshold_max
            ):
                raise ConfigError(
                    f"{field}.threshold", f"got {t!r}", f"integers {self.threshold_min}..{self.threshold_max}"
                )
            thr[nid - self.n_inputs] = t

        src = np.full((self.n_neurons, self.n_slots), -1, dtype=np.int8)
        sign = np.ones((self.n_neurons, self.n_slots), dtype=np.int8)
        used = np.zeros(self.n_neurons, dtype=np.int64)
        pairs = set()
        # The format has checked the ids and that every edge runs to a higher layer.
        for source, target, w, field in net.edges:
            a, d = int(net.ids[source]), int(net.ids[target])
            j = int(d) - self.n_inputs
            index = int(a) - int(self.prev_offset[j])
            if not 0 <= index < self.prev_width[j]:
                raise ConfigError(
                    field,
                    f"node {d} (layer {self.node_layer[d]}) may read only layer {self.node_layer[d] - 1}",
                    f"{self.prev_offset[j]}..{self.prev_offset[j] + self.prev_width[j] - 1}",
                )
            if (a, d) in pairs:
                raise ConfigError(field, f"repeated connection {a} -> {d}; merge its weights")
            pairs.add((a, d))
            fan = int(self.neuron_fan_in[j])
            if isinstance(w, bool) or not isinstance(w, Real) or w != int(w) or w == 0 or abs(w) > fan:
                raise ConfigError(f"{field}.weight", f"got {w!r}", f"non-zero integers -{fan}..{fan}")
            w = int(w)
            if used[j] + abs(w) > fan:
                raise ConfigError(
                    field,
                    f"node {d} would exceed its fan-in of {fan} (a weight of ±2 takes two slots)",
                    f"total |weight| <= {fan}",
                )
            for _ in range(abs(w)):
                src[j, used[j]] = index
                sign[j, used[j]] = 1 if w > 0 else -1
                used[j] += 1
        return {"src": src[None], "sign": sign[None], "threshold": thr[None]}


@MODELS.register("threshold")
@dataclass(frozen=True)
class ThresholdSpec:
    """Kashtan & Alon 2005's threshold retina networks; the fields are the [model] table's."""

    kind: str = spec("threshold", str)
    layers: tuple = spec(
        (8, 8, 4, 2, 1), list, item=dict(kind=int, minimum=1, maximum=127), min_items=2, max_items=MAX_LAYERS
    )
    fan_in: int = spec(3, int, minimum=1, maximum=127)
    output_fan_in: int = spec(2, int, minimum=1, maximum=127)
    threshold_min: int = spec(-3, int, minimum=-128, maximum=127)
    threshold_max: int = spec(3, int, minimum=-128, maximum=127)
    neuron_threshold: int = spec(13, int, minimum=0, maximum=MAX_LAYERS * 127)
    penalty_per_neuron: float = spec(0.01, float, minimum=0.0)
    mutation_probability: float = spec(0.5, float, minimum=0.0, maximum=1.0)
    crossover_probability: float = spec(0.5, float, minimum=0.0, maximum=1.0)

    # Kashtan & Alon's setup; Q every 10 generations, as for their circuits.
    paper_setup: ClassVar[dict] = {
        "task": {"name": "retina"},
        "schedule": {"goals": ["and"]},
        "selection": {"kind": "elitist", "elite": 150, "treatment": "PA"},
        "cost": {"kind": "none"},
        "population": 600,
        "sample_patterns": 100,
        "modularity_method": "spectral",
        "modularity_directed": False,
        "log_modularity_every": 10,
    }

    def build(self, task) -> ThresholdModel:
        layers = fitting_layers(self.layers, task)
        if self.threshold_min > self.threshold_max:
            raise ConfigError(
                "model.threshold_min",
                f"range {self.threshold_min}..{self.threshold_max} is empty",
                "threshold_min <= threshold_max",
            )
        return ThresholdModel(
            layers=layers,
            fan_in=self.fan_in,
            output_fan_in=self.output_fan_in,
            threshold_min=self.threshold_min,
            threshold_max=self.threshold_max,
            neuron_threshold=self.neuron_threshold,
            penalty_per_neuron=self.penalty_per_neuron,
            mutation_probability=self.mutation_probability,
            crossover_probability=self.crossover_probability,
        )
