"""Connection costs: one ``ConnectionCost`` over any model's edge arrays.

- ``count``: the number of connections (Clune's "NC" alternative).
- ``squared_length``: summed squared Euclidean length after moving the free
  (hidden) nodes to their cost-minimising positions (Clune et al. 2013).
- ``distance_weighted``: sum of |w| * d**power at fixed positions
  (Achterberg et al. 2023's local cost).

Node positions: ``"model"`` (the model's own default: Clune's coordinates for
layered networks), ``"random_inputs"`` (the input nodes' coordinates randomly
permuted among themselves), ``"uniform_inputs"`` (each input's x drawn once
per run uniformly from [-4, 4], y kept: the authors' randomised-coordinates
control, ``RANDCOORDS`` in their code), ``"index"`` (1-D: node k at
x = k) or ``"custom"`` (a user's list of [x, y], one per node).
"""

from __future__ import annotations

import numpy as np

from evomod.errors import ConfigError
from evomod.kernels import costs as kernel

COST_KINDS = ("none", "count", "squared_length", "distance_weighted")
# "simplified": only edges on a path to an output are charged, as in the
# authors' code (dead-end connections are free); "all": every connection.
COST_SCOPES = ("simplified", "all")
POSITION_KINDS = ("model", "random_inputs", "uniform_inputs", "index", "custom")
UNIFORM_INPUT_RANGE = (-4.0, 4.0)


def node_positions(model, kind="model", custom=None, rng=None) -> np.ndarray:
    base = np.asarray(model.positions(), dtype=np.float64)
    if kind == "model":
        return base
    if kind == "random_inputs":
        if rng is None:
            raise ValueError("random_inputs positions need a random generator")
        inputs = model.input_nodes()
        placed = base.copy()
        placed[inputs] = base[rng.permutation(inputs)]
        return placed
    if kind == "uniform_inputs":
        if rng is None:
            raise ValueError("uniform_inputs positions need a random generator")
        placed = base.copy()
        inputs = model.input_nodes()
        placed[inputs, 0] = rng.uniform(*UNIFORM_INPUT_RANGE, size=len(inputs))
        return placed
    if kind == "index":
        return np.column_stack([np.arange(model.n_nodes, dtype=np.float64),
                                np.zeros(model.n_nodes)])
    if kind == "custom":
        allowed = f"a list of {model.n_nodes} [x, y] pairs of finite numbers, one per node"
        if custom is None:
            raise ConfigError("cost.custom_positions", "missing: positions = 'custom' needs them", allowed)
        try:
            pos = np.asarray(custom, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError("cost.custom_positions", "must hold numbers only", allowed) from None
        if pos.shape != (model.n_nodes, 2):
            got = f"{len(custom)} entries" if pos.ndim != 2 else f"{pos.shape[0]} pairs"
            raise ConfigError("cost.custom_positions",
                              f"needs one [x, y] per node ({model.n_nodes} nodes), got {got}", allowed)
        if not np.isfinite(pos).all():
            raise ConfigError("cost.custom_positions", "contains nan or infinity", allowed)
        return pos
    raise ConfigError("cost.positions", f"unknown positions {kind!r}", POSITION_KINDS)


class ConnectionCost:
    def __init__(self, kind: str, positions: np.ndarray, fixed: np.ndarray, power: float = 1.0,
                 scope: str = "all", outputs: np.ndarray | None = None):
        if kind not in COST_KINDS:
            raise ConfigError("cost.kind", f"unknown cost {kind!r}", COST_KINDS)
        if scope not in COST_SCOPES:
            raise ConfigError("cost.scope", f"unknown scope {scope!r}", COST_SCOPES)
        self.kind = kind
        self.scope = scope
        self.outputs = None if outputs is None else np.ascontiguousarray(outputs, dtype=np.bool_)
        self.positions = np.ascontiguousarray(positions, dtype=np.float64)
        self.fixed = np.ascontiguousarray(fixed, dtype=np.bool_)
        self.power = float(power)
        if not np.isfinite(self.power) or self.power < 0:
            raise ConfigError("cost.power", f"must be a finite number >= 0, got {power!r}")

    def __call__(self, model, genomes) -> np.ndarray:
        if self.kind == "none":  # skip building edges on the hot path
            return np.zeros(len(next(iter(genomes.values()))))
        src, dst, weight = model.edges(genomes)
        return self.of_edges(src, dst, weight)

    def charged(self, src, dst, weight) -> np.ndarray:
        """The edge weights the cost is charged on (0 = not charged)."""
        weight = np.ascontiguousarray(weight, dtype=np.float64)
        if self.scope == "all" or self.outputs is None:  # None: the model's edges are already pruned
            return weight
        return kernel.on_path_to_output(np.ascontiguousarray(src, dtype=np.int64),
                                        np.ascontiguousarray(dst, dtype=np.int64), weight, self.outputs)

    def of_edges(self, src, dst, weight) -> np.ndarray:
        src = np.ascontiguousarray(src, dtype=np.int64)
        dst = np.ascontiguousarray(dst, dtype=np.int64)
        if self.kind == "none":
            return np.zeros(np.shape(weight)[0])
        weight = self.charged(src, dst, weight)
        if self.kind == "count":
            return kernel.connection_count(weight)
        if self.kind == "distance_weighted":
            return kernel.distance_weighted(src, dst, weight, self.positions, self.power)
        return kernel.squared_length(src, dst, weight, self.positions, self.fixed)

    def placement(self, model, genomes, i: int) -> np.ndarray:
        """Node positions individual ``i`` is costed at (optimal ones for squared_length)."""
        if self.kind != "squared_length":
            return self.positions.copy()
        src, dst, weight = model.edges(genomes)
        weight = self.charged(src[i:i + 1], dst[i:i + 1], weight[i:i + 1])[0]
        return kernel.optimal_placement(np.ascontiguousarray(src[i], dtype=np.int64),
                                        np.ascontiguousarray(dst[i], dtype=np.int64),
                                        np.ascontiguousarray(weight, dtype=np.float64),
                                        self.positions, self.fixed)
