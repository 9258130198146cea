"""The network-model slot of the loop.

A population is a ``Genomes`` mapping: named numpy arrays that share their
leading axis (one row per individual). Models never see DEAP objects; the loop
selects, copies and checkpoints genomes by indexing these arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from numbers import Integral, Real
from typing import Mapping

import numpy as np

from evomod.errors import ConfigError

Genomes = dict[str, np.ndarray]


def take(genomes: Mapping[str, np.ndarray], index) -> Genomes:
    """Rows ``index`` of every array (always a copy)."""
    index = np.asarray(index)
    return {k: v[index].copy() for k, v in genomes.items()}


def concat(*parts: Mapping[str, np.ndarray]) -> Genomes:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def size(genomes: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(genomes.values())))


class NetworkModel(ABC):
    """What the loop needs from a network model.

    Nodes are numbered 0..n_nodes-1 with the inputs first and the outputs
    last; ``edges`` uses these numbers and ``positions`` gives their default
    coordinates for the connection costs.
    """

    kind: str = ""
    n_inputs: int
    n_outputs: int
    n_nodes: int

    @abstractmethod
    def random(self, n: int, rng: np.random.Generator) -> Genomes:
        """``n`` random genomes."""

    @abstractmethod
    def mutate(self, genomes: Genomes, rng: np.random.Generator) -> Genomes:
        """One mutated offspring per row (new arrays; the input is untouched)."""

    def crossover(self, a: Genomes, b: Genomes, rng: np.random.Generator) -> Genomes:
        """One child per row pair; models without crossover refuse."""
        raise NotImplementedError(f"{self.kind} networks have no crossover")

    @abstractmethod
    def outputs(self, genomes: Genomes, inputs: np.ndarray) -> np.ndarray:
        """Boolean outputs, shape (n, n_patterns, n_outputs), for the task's input rows."""

    def performance(self, genomes: Genomes, inputs: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Fraction of (pattern, output) answers equal to ``target``, shape (n,)."""
        out = self.outputs(genomes, inputs)
        return (out == target[None]).mean(axis=(1, 2))

    # Whether ``elitist_generation`` runs the elitist GA's generation compiled.
    fused_elitist: bool = False

    def elitist_generation(
        self, genomes, performance, penalty, fitness, n_elite, rng, inputs, target, score_children=True
    ):
        """``(genomes, performance, penalty, elite)`` of the next population
        of ``evomod.selection.Elitist``, drawing from ``rng`` exactly as it
        does with this model's ``crossover`` (at its ``crossover_probability``,
        if it has one) and ``mutate``, scored on ``inputs`` against
        ``target`` (without ``score_children``, children that changed get
        performance nan, for ``Evolution.settle``). Only for models with
        ``fused_elitist``."""
        raise NotImplementedError(f"{self.kind} networks have no compiled elitist generation")

    def penalty(self, genomes: Genomes) -> np.ndarray:
        """The model's own fitness penalty (Kashtan & Alon's size penalties); zero by default."""
        return np.zeros(size(genomes))

    @abstractmethod
    def edges(self, genomes: Genomes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(src, dst, weight)``, each shape (n, E); weight 0 marks an absent edge slot."""

    def graph_arrays(self, genome: Genomes) -> tuple[np.ndarray, np.ndarray]:
        """A one-row population as ``parse_network`` reads its ``to_json``:
        ``raw[i, j]``, the summed weights of the connections i -> j, and the
        output mask, nodes numbered as in the JSON. Entries the JSON has and
        these lack (unexpressed parts) have no path to an output, so every
        measure of the pruned graph is the same."""
        src, dst, weight = (a[0] for a in self.edges(genome))
        raw = np.zeros((self.n_nodes, self.n_nodes))
        np.add.at(raw, (src, dst), weight)
        return raw, self.output_nodes()

    def connection_count(self, genomes: Genomes) -> np.ndarray:
        """(n,) edges that carry weight (the log's ``connections``)."""
        return np.count_nonzero(self.edges(genomes)[2], axis=1)

    def slot_endpoints(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(src, dst)`` of shape (E,), int64, when every genome's edge
        slot ``e`` joins the same two nodes (only the weights differ), else
        None."""
        return None

    def same_edges(self, a: Genomes, b: Genomes, values: bool) -> np.ndarray:
        """Per row, whether ``a`` and ``b`` have the same edges (the same
        weights too when ``values``; otherwise only which edges are present)."""
        src_a, dst_a, w_a = self.edges(a)
        src_b, dst_b, w_b = self.edges(b)
        same = ((src_a == src_b) & (dst_a == dst_b)).all(axis=1)
        if values:
            return same & (w_a == w_b).all(axis=1)
        return same & ((w_a != 0) == (w_b != 0)).all(axis=1)

    @abstractmethod
    def positions(self) -> np.ndarray:
        """Default node coordinates, shape (n_nodes, 2)."""

    def fixed_nodes(self) -> np.ndarray:
        """Nodes that cost-optimal placement may not move (inputs and outputs)."""
        fixed = np.zeros(self.n_nodes, dtype=bool)
        fixed[: self.n_inputs] = True
        fixed[self.n_nodes - self.n_outputs :] = True
        return fixed

    def output_nodes(self) -> np.ndarray | None:
        """Boolean mask of the output nodes, or None for a model whose
        ``edges`` already leave out what does not reach an output."""
        out = np.zeros(self.n_nodes, dtype=bool)
        out[self.n_nodes - self.n_outputs :] = True
        return out

    def input_nodes(self) -> np.ndarray:
        return np.arange(self.n_inputs)

    @abstractmethod
    def to_json(self, genomes: Genomes, i: int) -> dict:
        """Individual ``i`` in the documented JSON exchange format."""

    @abstractmethod
    def from_json(self, data: dict) -> Genomes:
        """A one-row population from the JSON exchange format."""


def fitting_layers(layers, task) -> tuple[int, ...]:
    """A layered model's widths, checked against the task's inputs and outputs."""
    layers = tuple(layers)
    if len(layers) < 2 or any(w < 1 for w in layers):
        raise ConfigError("model.layers", f"{list(layers)} needs at least two layers of positive width")
    if layers[0] != task.n_inputs or layers[-1] != task.n_outputs:
        raise ConfigError(
            "model.layers",
            f"{list(layers)} does not fit task {task.name!r}: it has "
            f"{task.n_inputs} inputs and {task.n_outputs} output(s)",
            f"[{task.n_inputs}, ..., {task.n_outputs}]",
        )
    return layers


# A model's constructor checks its own arguments, so that a model built
# outside a config (a test, a script) refuses bad settings in the config's words.


def check_int(field: str, value, low: int, high: int | None = None) -> int:
    """``value`` as an int in ``low..high`` (no maximum when ``high`` is None)."""
    allowed = f">= {low}" if high is None else f"{low}..{high}"
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ConfigError(field, f"must be an integer, got {value!r}", allowed)
    value = int(value)
    if value < low or (high is not None and value > high):
        raise ConfigError(field, f"got {value}", allowed)
    return value


def check_real(field: str, value, low: float, high: float | None = None) -> float:
    """``value`` as a finite float in ``low..high``."""
    allowed = f">= {low}" if high is None else f"{low}..{high}"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(field, f"must be a number, got {value!r}", allowed)
    value = float(value)
    if not np.isfinite(value) or value < low or (high is not None and value > high):
        raise ConfigError(field, f"got {value}", allowed)
    return value
