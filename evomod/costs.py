"""Connection costs: one ``ConnectionCost`` over any model's edge arrays.

- ``count``: the number of connections (Clune's "NC" alternative).
- ``squared_length``: summed squared Euclidean length after moving the free
  (hidden) nodes to their cost-minimising positions (Clune et al. 2013).
- ``distance_weighted``: sum of |w| * d**power at fixed positions
  (Achterberg et al. 2023's local cost).

Each kind is an ``EdgeCost`` registered in ``evomod.registry.COSTS``.

Node positions: ``"model"`` (the model's own default: Clune's coordinates for
layered networks), ``"random_inputs"`` (the input nodes' coordinates randomly
permuted among themselves), ``"uniform_inputs"`` (each input's x drawn once
per run uniformly from [-4, 4], y kept: the authors' randomised-coordinates
control, ``RANDCOORDS`` in their code), ``"index"`` (1-D: node k at
x = k) or ``"custom"`` (a user's list of [x, y], one per node).
"""

from __future__ import annotations

import numpy as np

from evomod.config import COST_SCOPES, POSITION_KINDS
from evomod.errors import ConfigError
from evomod.kernels import costs as kernel
from evomod.registry import COSTS

UNIFORM_INPUT_RANGE = (-4.0, 4.0)


class EdgeCost:
    """One ``cost.kind``: what a population's edges cost, per network.

    A new cost is a subclass registered with ``@COSTS.register(name)``; the
    class attributes say which [cost] fields apply to it (a field that does
    not is refused), and ``charged`` edges (the scope's) are what it sees.
    """

    uses_positions = False
    uses_power = False
    # Whether the cost changes with the weights' values, not only with which
    # connections exist: offspring that keep their parent's wiring keep its
    # cost otherwise (evomod.evolve re-solves only the others).
    depends_on_weight_values = False
    # A cost that charges nothing is not computed at all on the hot path,
    # and cannot serve treatment P&CC.
    charges_nothing = False
    # Whether costs are worth remembering by wiring (an expensive solve that
    # depends only on which edges are charged): see ConnectionCost.__call__.
    memoised = False

    def of_edges(self, src, dst, weight, cost: ConnectionCost) -> np.ndarray:
        """The cost of each row of ``(src, dst, weight)``, shape (n,)."""
        raise NotImplementedError

    def placement(self, src, dst, weight, cost: ConnectionCost) -> np.ndarray:
        """Node positions one network is costed at (``src`` etc. of shape (E,))."""
        return cost.positions.copy()


@COSTS.register("none")
class NoCost(EdgeCost):
    """No connection cost."""

    charges_nothing = True

    def of_edges(self, src, dst, weight, cost):
        return np.zeros(np.shape(weight)[0])


@COSTS.register("count")
class ConnectionCount(EdgeCost):
    """The number of connections (Clune's "NC" alternative)."""

    def of_edges(self, src, dst, weight, cost):
        return kernel.connection_count(weight)


@COSTS.register("squared_length")
class SquaredLength(EdgeCost):
    """Summed squared length after moving hidden nodes to their optimal positions."""

    uses_positions = True
    memoised = True

    def of_edges(self, src, dst, weight, cost):
        return kernel.squared_length(src, dst, weight, cost.positions, cost.fixed)

    def placement(self, src, dst, weight, cost):
        return kernel.optimal_placement(src, dst, weight, cost.positions, cost.fixed)


@COSTS.register("distance_weighted")
class DistanceWeighted(EdgeCost):
    """Sum of |w| * d**power at fixed positions (Achterberg et al. 2023's local cost)."""

    uses_positions = True
    uses_power = True
    depends_on_weight_values = True

    def of_edges(self, src, dst, weight, cost):
        return kernel.distance_weighted(src, dst, weight, cost.positions, cost.power)


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
        return np.column_stack([np.arange(model.n_nodes, dtype=np.float64), np.zeros(model.n_nodes)])
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
            raise ConfigError(
                "cost.custom_positions",
                f"needs one [x, y] per node ({model.n_nodes} nodes), got {got}",
                allowed,
            )
        if not np.isfinite(pos).all():
            raise ConfigError("cost.custom_positions", "contains nan or infinity", allowed)
        return pos
    raise ConfigError("cost.positions", f"unknown positions {kind!r}", POSITION_KINDS)


def _node_ids(ids) -> np.ndarray:
    """Edge endpoints as the kernels take them: any integer array, as it is.
    A layered model's endpoints are one row broadcast to every network;
    copying them out to (n, E) int64 would cost more than the cost itself."""
    ids = np.asarray(ids)
    return ids if ids.dtype.kind in "iu" else ids.astype(np.int64)


class ConnectionCost:
    """The run's cost: a registered ``EdgeCost`` with its positions, scope and power."""

    def __init__(
        self,
        kind: str,
        positions: np.ndarray,
        fixed: np.ndarray,
        power: float = 1.0,
        scope: str = "all",
        outputs: np.ndarray | None = None,
    ):
        self.edge_cost = COSTS.get(kind)()
        if scope not in COST_SCOPES:
            raise ConfigError("cost.scope", f"unknown scope {scope!r}", COST_SCOPES)
        self.kind = kind
        self.scope = scope
        self.outputs = None if outputs is None else np.ascontiguousarray(outputs, dtype=np.bool_)
        self.positions = np.ascontiguousarray(positions, dtype=np.float64)
        self.fixed = np.ascontiguousarray(fixed, dtype=np.bool_)
        self.power = float(power)
        self._memo = None
        if not np.isfinite(self.power) or self.power < 0:
            raise ConfigError("cost.power", f"must be a finite number >= 0, got {power!r}")

    @property
    def charges_nothing(self) -> bool:
        return self.edge_cost.charges_nothing

    @property
    def depends_on_weight_values(self) -> bool:
        return self.edge_cost.depends_on_weight_values

    def __call__(self, model, genomes) -> np.ndarray:
        if self.charges_nothing:  # skip building edges on the hot path
            return np.zeros(len(next(iter(genomes.values()))))
        src, dst, weight = model.edges(genomes)
        slots = model.slot_endpoints()
        if slots is not None and self.edge_cost.memoised:
            return self._memoised(*slots, weight)
        return self.of_edges(src, dst, weight)

    # Entries of the table of solved wirings (a power of two); emptied when half full.
    MEMO_ENTRIES = 1 << 15

    def _memoised(self, src, dst, weight) -> np.ndarray:
        """``of_edges`` for a model whose genomes share one slot layout,
        remembering the cost of every charged wiring solved: a P&CC
        population keeps re-creating the same few hundred wirings, and 86 %
        of the offspring whose wiring changed have one solved before."""
        words = -(-len(src) // 64)
        if self._memo is None or self._memo[0].shape[1] != words + 2:
            self._memo = (
                np.zeros((self.MEMO_ENTRIES, words + 2), dtype=np.uint64),
                np.zeros(1, dtype=np.int64),
            )
        prune = self.scope != "all" and self.outputs is not None
        outputs = self.outputs if prune else np.zeros(len(self.positions), dtype=np.bool_)
        return kernel.memo_squared_length(
            src, dst, np.ascontiguousarray(weight, dtype=np.float64), self.positions, self.fixed,
            outputs, prune, *self._memo,
        )  # fmt: skip

    def charged(self, src, dst, weight) -> np.ndarray:
        """The edge weights the cost is charged on (0 = not charged)."""
        weight = np.ascontiguousarray(weight, dtype=np.float64)
        if self.scope == "all" or self.outputs is None:  # None: the model's edges are already pruned
            return weight
        return kernel.on_path_to_output(_node_ids(src), _node_ids(dst), weight, self.outputs)

    def of_edges(self, src, dst, weight) -> np.ndarray:
        src, dst = _node_ids(src), _node_ids(dst)
        if self.charges_nothing:
            return np.zeros(np.shape(weight)[0])
        return self.edge_cost.of_edges(src, dst, self.charged(src, dst, weight), self)

    def placement(self, model, genomes, i: int) -> np.ndarray:
        """Node positions individual ``i`` is costed at (optimal ones for squared_length)."""
        src, dst, weight = model.edges(genomes)
        weight = self.charged(src[i : i + 1], dst[i : i + 1], weight[i : i + 1])[0]
        return self.edge_cost.placement(
            np.ascontiguousarray(src[i], dtype=np.int64),
            np.ascontiguousarray(dst[i], dtype=np.int64),
            np.ascontiguousarray(weight, dtype=np.float64),
            self,
        )
