"""Connection costs: one ``ConnectionCost`` over any model's edge arrays.

- ``count``: the number of connections (Clune's "NC" alternative).
- ``squared_length``: summed squared Euclidean length after moving the free
  (hidden) nodes to their cost-minimising positions (Clune et al. 2013).
- ``distance_weighted``: sum of |w| * d**power at fixed positions
  (Achterberg et al. 2023's local cost).

Node positions: ``"model"`` (the model's own default: Clune's coordinates for
layered networks), ``"random_inputs"`` (the input nodes' coordinates randomly
permuted among themselves, Clune's control), ``"index"`` (1-D: node k at
x = k) or ``"custom"`` (a user's list of [x, y], one per node).
"""

from __future__ import annotations

import numpy as np

from evomod.errors import ConfigError
from evomod.kernels import costs as kernel

COST_KINDS = ("none", "count", "squared_length", "distance_weighted")
POSITION_KINDS = ("model", "random_inputs", "index", "custom")


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
    if kind == "index":
        return np.column_stack([np.arange(model.n_nodes, dtype=np.float64),
                                np.zeros(model.n_nodes)])
    if kind == "custom":
        pos = np.asarray(custom, dtype=np.float64) if custom is not None else None
        if pos is None or pos.shape != (model.n_nodes, 2):
            raise ConfigError("cost.custom_positions",
                              f"needs one [x, y] per node ({model.n_nodes} nodes)")
        return pos
    raise ConfigError("cost.positions", f"unknown positions {kind!r}", POSITION_KINDS)


class ConnectionCost:
    def __init__(self, kind: str, positions: np.ndarray, fixed: np.ndarray, power: float = 1.0):
        if kind not in COST_KINDS:
            raise ConfigError("cost.kind", f"unknown cost {kind!r}", COST_KINDS)
        self.kind = kind
        self.positions = np.ascontiguousarray(positions, dtype=np.float64)
        self.fixed = np.ascontiguousarray(fixed, dtype=np.bool_)
        self.power = float(power)

    def __call__(self, model, genomes) -> np.ndarray:
        if self.kind == "none":  # skip building edges on the hot path
            return np.zeros(len(next(iter(genomes.values()))))
        src, dst, weight = model.edges(genomes)
        return self.of_edges(src, dst, weight)

    def of_edges(self, src, dst, weight) -> np.ndarray:
        src = np.ascontiguousarray(src, dtype=np.int64)
        dst = np.ascontiguousarray(dst, dtype=np.int64)
        weight = np.ascontiguousarray(weight, dtype=np.float64)
        if self.kind == "none":
            return np.zeros(weight.shape[0])
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
        return kernel.optimal_placement(np.ascontiguousarray(src[i], dtype=np.int64),
                                        np.ascontiguousarray(dst[i], dtype=np.int64),
                                        np.ascontiguousarray(weight[i], dtype=np.float64),
                                        self.positions, self.fixed)
