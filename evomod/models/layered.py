"""Layered feed-forward tanh networks: the model of Clune, Mouret & Lipson 2013.

Genome arrays:
- ``weights`` int8 (n, E): one slot per pair of nodes in consecutive layers
  (see ``evomod.kernels.layered``); 0 = no connection.
- ``weight_index`` int8 (n, E): each weight's position in the ordered weight
  list, -1 where there is no connection. The authors' list may repeat a value
  (``retina.cpp`` has {2, -1, 1, 2}); the two 2s are different genes with
  different neighbours, so the position, not the value, is inherited.
- ``biases`` int8 (n, H): one per non-input node.

Nodes compute tanh(lam * (sum w * y + b)); inputs are +-1 (a black pixel is
+1). Two families of operators (``operators``):
- ``"authors"`` (default), as the authors' code behaves
  (shared/reference/clune2013-author-code): ordered weight steps along the
  list, biases redrawn uniformly, add-connection by layer pair with retries,
  initial networks from n uniform in [0, init_connections_max) add calls, and
  an output of exactly 0 is wrong for both classes (true needs > 0, false
  needs < 0);
- ``"literal"``, evomod's first reading of the paper: weights and biases step
  +-1 in value (moves leaving the allowed values are dropped), add-connection
  uniform over empty slots, n uniform in [0, init_connections_max] distinct
  random slots, and an output of 0 counts as "false".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evomod.config import MAX_LAYER_WIDTH, MAX_LAYERS, MAX_SLOTS, MAX_WEIGHT_VALUES, spec
from evomod.errors import ConfigError
from evomod.kernels import layered as kernel
from evomod.models.base import NetworkModel, fitting_layers
from evomod.network_format import parse_network
from evomod.registry import MODELS

OPERATORS = ("authors", "literal")

CLUNE_X = {
    8: np.arange(8) - 3.5,
    4: np.array([-2.0, -1.0, 1.0, 2.0]),
    2: np.array([-1.0, 1.0]),
    1: np.array([0.0]),
}


class LayeredModel(NetworkModel):
    kind = "layered"

    def __init__(
        self,
        layers=(8, 8, 4, 2, 1),
        weights=(-2, -1, 1, 2),
        bias_min=-2,
        bias_max=2,
        lam=20.0,
        add_connection_rate=0.2,
        remove_connection_rate=0.2,
        bias_rate=1 / 24,
        weight_rate_scale=2.0,
        init_connections_max=120,
        operators="authors",
    ):
        if operators not in OPERATORS:
            raise ConfigError("model.operators", f"unknown operators {operators!r}", OPERATORS)
        self.operators = operators
        self.widths = np.asarray(layers, dtype=np.int64)
        self.weight_list = np.asarray(weights, dtype=np.int8)
        self.allowed_weights = np.unique(self.weight_list)
        self.bias_min, self.bias_max = int(bias_min), int(bias_max)
        self.lam = float(lam)
        self.add_rate = float(add_connection_rate)
        self.remove_rate = float(remove_connection_rate)
        self.bias_rate = float(bias_rate)
        self.weight_rate_scale = float(weight_rate_scale)
        self.init_connections_max = int(init_connections_max)
        self.n_inputs = int(self.widths[0])
        self.n_outputs = int(self.widths[-1])
        self.n_nodes = int(self.widths.sum())
        self.layer_of = np.repeat(np.arange(len(self.widths)), self.widths)
        starts = np.concatenate([[0], np.cumsum(self.widths)])
        src, dst = [], []
        for l in range(1, len(self.widths)):
            for d in range(self.widths[l]):
                for s in range(self.widths[l - 1]):
                    src.append(starts[l - 1] + s)
                    dst.append(starts[l] + d)
        self.slot_src = np.asarray(src, dtype=np.int32)
        self.slot_dst = np.asarray(dst, dtype=np.int32)
        self.n_slots = len(src)
        self._slot_endpoints = (self.slot_src.astype(np.int64), self.slot_dst.astype(np.int64))
        # First slot of each transition between consecutive layers.
        self.slot_offset = np.concatenate([[0], np.cumsum(self.widths[:-1] * self.widths[1:])]).astype(
            np.int64
        )
        # The authors' retry bound for add-connection: the number of nodes squared.
        self.max_add_tries = self.n_nodes * self.n_nodes
        # tanh(lam * s) for integer s != 0 is exactly +-1.0 in float64 from here on.
        self.sign_activation = math.tanh(self.lam) == 1.0
        # With sign activations every node sum is an integer of magnitude at
        # most this: the narrowest integer type that holds it evaluates
        # fastest (more patterns per vector instruction), and exactly.
        largest_sum = int(np.abs(self.weight_list.astype(np.int64)).max(initial=0)) * int(
            self.widths[:-1].max()
        ) + max(abs(self.bias_min), abs(self.bias_max))
        self._values_dtype = np.float64
        if self.sign_activation:
            for dtype in (np.int8, np.int16, np.int32):
                if largest_sum <= np.iinfo(dtype).max:
                    self._values_dtype = dtype
                    break

    # -- genomes -----------------------------------------------------------
    def random(self, n, rng):
        weights = np.zeros((n, self.n_slots), dtype=np.int8)
        biases = rng.integers(
            self.bias_min, self.bias_max + 1, size=(n, self.n_nodes - self.n_inputs)
        ).astype(np.int8)
        if self.operators == "authors":
            index = np.full((n, self.n_slots), -1, dtype=np.int8)
            counts = rng.integers(0, max(self.init_connections_max, 1), size=n)
            kernel.random_authors(
                weights,
                index,
                self.widths,
                self.slot_offset,
                self.weight_list,
                counts,
                self.max_add_tries,
                rng,
            )
            return {"weights": weights, "weight_index": index, "biases": biases}
        counts = np.minimum(rng.integers(0, self.init_connections_max + 1, size=n), self.n_slots)
        for i in range(n):
            slots = rng.choice(self.n_slots, size=counts[i], replace=False)
            weights[i, slots] = rng.choice(self.allowed_weights, size=counts[i])
        return {"weights": weights, "weight_index": self.index_of(weights), "biases": biases}

    def index_of(self, weights):
        """Each weight's first position in the weight list, -1 where absent."""
        index = np.full(weights.shape, -1, dtype=np.int8)
        for k in range(len(self.weight_list) - 1, -1, -1):
            index[weights == self.weight_list[k]] = k
        return index

    def mutate(self, genomes, rng):
        weights = genomes["weights"].copy()
        biases = genomes["biases"].copy()
        if "weight_index" in genomes:
            index = genomes["weight_index"].copy()
        else:
            index = self.index_of(weights)
        if self.operators == "authors":
            kernel.mutate_authors(
                weights,
                index,
                biases,
                self.weight_list,
                self.bias_min,
                self.bias_max,
                self.add_rate,
                self.remove_rate,
                self.bias_rate,
                self.weight_rate_scale,
                self.widths,
                self.slot_offset,
                self.max_add_tries,
                rng,
            )
        else:
            kernel.mutate(
                weights,
                biases,
                self.allowed_weights,
                self.bias_min,
                self.bias_max,
                self.add_rate,
                self.remove_rate,
                self.bias_rate,
                self.weight_rate_scale,
                rng,
            )
            index = self.index_of(weights)
        return {"weights": weights, "weight_index": index, "biases": biases}

    # -- behaviour ---------------------------------------------------------
    def _inputs(self, inputs):
        return np.ascontiguousarray(
            np.where(np.asarray(inputs, dtype=bool), 1, -1).astype(self._values_dtype)
        )

    def activations(self, genomes, inputs):
        """Real-valued output-node values, shape (n, P, n_out)."""
        values = kernel.forward(
            genomes["weights"],
            genomes["biases"],
            self.widths,
            self._inputs(inputs),
            self.lam,
            self.sign_activation,
        )
        return values.astype(np.float64, copy=False)

    def outputs(self, genomes, inputs):
        return self.activations(genomes, inputs) > 0

    def performance(self, genomes, inputs, target):
        # The authors' rule: "true" needs an output above 0, "false" one below
        # 0; the literal rule reads an output of 0 as "false".
        target = np.ascontiguousarray(np.asarray(target, dtype=bool).reshape(len(inputs), -1))
        return kernel.fraction_correct(
            genomes["weights"],
            genomes["biases"],
            self.widths,
            self._inputs(inputs),
            target,
            self.lam,
            self.sign_activation,
            self.operators == "authors",
        )

    # -- structure ---------------------------------------------------------
    def edges(self, genomes):
        w = genomes["weights"]
        n = w.shape[0]
        src = np.broadcast_to(self.slot_src, (n, self.n_slots))
        dst = np.broadcast_to(self.slot_dst, (n, self.n_slots))
        return src, dst, w.astype(np.float64)

    def slot_endpoints(self):
        return self._slot_endpoints

    def same_edges(self, a, b, values):
        # Every slot joins a fixed pair of nodes: the weights say it all.
        wa, wb = a["weights"], b["weights"]
        return (wa == wb).all(axis=1) if values else ((wa != 0) == (wb != 0)).all(axis=1)

    def positions(self):
        xs, ys = [], []
        for layer, width in enumerate(self.widths):
            x = CLUNE_X.get(int(width), np.arange(width) - (width - 1) / 2.0)
            xs.append(x)
            ys.append(np.full(width, float(layer)))
        return np.column_stack([np.concatenate(xs), np.concatenate(ys)])

    def connection_count(self, genomes):
        return (genomes["weights"] != 0).sum(axis=1)

    # -- exchange format ---------------------------------------------------
    def to_json(self, genomes, i):
        pos = self.positions()
        biases = genomes["biases"][i]
        nodes = []
        for node in range(self.n_nodes):
            entry = {
                "id": node,
                "layer": int(self.layer_of[node]),
                "bias": None if node < self.n_inputs else int(biases[node - self.n_inputs]),
                "x": float(pos[node, 0]),
                "y": float(pos[node, 1]),
            }
            nodes.append(entry)
        w = genomes["weights"][i]
        live = np.flatnonzero(w)
        edges = [[int(self.slot_src[e]), int(self.slot_dst[e]), int(w[e])] for e in live]
        data = {"kind": self.kind, "layers": [int(v) for v in self.widths], "nodes": nodes, "edges": edges}
        if len(self.allowed_weights) < len(self.weight_list):
            # A repeated value: record which copy each weight is (see the module docstring).
            index = genomes["weight_index"][i] if "weight_index" in genomes else self.index_of(w[None])[0]
            data["weight_index"] = [int(index[e]) for e in live]
        return data

    def from_json(self, data):
        net = parse_network(data, kind=self.kind, layers=[int(v) for v in self.widths])
        for k, node in enumerate(net.nodes):
            nid = int(net.ids[k])
            if not 0 <= nid < self.n_nodes or net.layers[k] != self.layer_of[nid]:
                raise ConfigError(
                    f"network.nodes[{k}].id",
                    f"node {nid} is not in layer {net.layers[k]} of the model",
                    f"0..{self.n_nodes - 1}, numbered layer by layer",
                )
        slot_of = {(int(s), int(d)): e for e, (s, d) in enumerate(zip(self.slot_src, self.slot_dst))}
        weights = np.zeros((1, self.n_slots), dtype=np.int8)
        slots = []
        for src, dst, w, field in net.edges:
            pair = (int(net.ids[src]), int(net.ids[dst]))
            if pair not in slot_of:
                raise ConfigError(field, f"edge {pair[0]}->{pair[1]} does not join consecutive layers")
            if w not in self.allowed_weights:
                raise ConfigError(
                    field,
                    f"weight {w} of edge {pair[0]}->{pair[1]} not allowed",
                    [int(v) for v in self.allowed_weights],
                )
            if weights[0, slot_of[pair]] != 0:
                raise ConfigError(field, f"repeated connection {pair[0]} -> {pair[1]}")
            weights[0, slot_of[pair]] = w
            slots.append(slot_of[pair])
        index = self.index_of(weights)
        given = data.get("weight_index")
        if given is not None:
            if not isinstance(given, list) or len(given) != len(net.edges):
                raise ConfigError(
                    "network.weight_index",
                    "needs one list position per edge",
                    f"integers 0..{len(self.weight_list) - 1}",
                )
            for (_, _, w, field), slot, k in zip(net.edges, slots, given):
                if not isinstance(k, int) or not 0 <= k < len(self.weight_list) or self.weight_list[k] != w:
                    raise ConfigError(
                        "network.weight_index",
                        f"position {k!r} does not hold weight {w} of {field}",
                        [int(v) for v in self.weight_list],
                    )
                index[0, slot] = k
        biases = np.zeros((1, self.n_nodes - self.n_inputs), dtype=np.int8)
        for k, node in enumerate(net.nodes):
            nid = int(net.ids[k])
            if nid >= self.n_inputs:
                b = node.get("bias")
                if isinstance(b, bool) or not isinstance(b, int) or not self.bias_min <= b <= self.bias_max:
                    raise ConfigError(
                        f"network.nodes[{k}].bias",
                        f"bias {b!r} of node {nid}",
                        f"integers {self.bias_min}..{self.bias_max}",
                    )
                biases[0, nid - self.n_inputs] = b
        return {"weights": weights, "weight_index": index, "biases": biases}


@MODELS.register("layered")
@dataclass(frozen=True)
class LayeredSpec:
    """Clune et al. 2013's layered tanh networks; the fields are the [model] table's."""

    kind: str = spec("layered", str)
    layers: tuple = spec(
        (8, 8, 4, 2, 1),
        list,
        item=dict(kind=int, minimum=1, maximum=MAX_LAYER_WIDTH),
        min_items=2,
        max_items=MAX_LAYERS,
    )
    weights: tuple = spec(
        (-2, -1, 1, 2),
        list,
        item=dict(kind=int, minimum=-127, maximum=127),
        min_items=1,
        max_items=MAX_WEIGHT_VALUES,
    )
    bias_min: int = spec(-2, int, minimum=-127, maximum=127)
    bias_max: int = spec(2, int, minimum=-127, maximum=127)
    lam: float = spec(20.0, float, minimum=0.0, exclusive_min=True)
    add_connection_rate: float = spec(0.2, float, minimum=0.0, maximum=1.0)
    remove_connection_rate: float = spec(0.2, float, minimum=0.0, maximum=1.0)
    bias_rate: float = spec(1 / 24, float, minimum=0.0, maximum=1.0)
    weight_rate_scale: float = spec(2.0, float, minimum=0.0)
    init_connections_max: int = spec(120, int, minimum=0, maximum=MAX_SLOTS)
    operators: str = spec("authors", str, choices=OPERATORS)

    def build(self, task) -> LayeredModel:
        layers = fitting_layers(self.layers, task)
        slots = sum(a * b for a, b in zip(layers, layers[1:]))
        if slots > MAX_SLOTS:
            raise ConfigError(
                "model.layers",
                f"{list(layers)} has {slots} connection slots (the sum of "
                "the products of consecutive widths)",
                f"at most {MAX_SLOTS} slots",
            )
        if 0 in self.weights:
            raise ConfigError(
                "model.weights",
                "0 is not allowed (a zero weight marks an absent connection)",
                "non-zero integers in -127..127",
            )
        # A repeated value is allowed: the authors' own list is {2, -1, 1, 2}.
        if not self.weights or any(abs(w) > 127 for w in self.weights):
            raise ConfigError(
                "model.weights",
                f"{list(self.weights)} must be non-zero integers",
                "non-zero integers in -127..127",
            )
        if self.bias_min > self.bias_max or abs(self.bias_min) > 127 or abs(self.bias_max) > 127:
            raise ConfigError(
                "model.bias_min",
                f"bias range {self.bias_min}..{self.bias_max} is empty or too wide",
                "bias_min <= bias_max, both in -127..127",
            )
        return LayeredModel(
            layers=layers,
            weights=self.weights,
            bias_min=self.bias_min,
            bias_max=self.bias_max,
            lam=self.lam,
            add_connection_rate=self.add_connection_rate,
            remove_connection_rate=self.remove_connection_rate,
            bias_rate=self.bias_rate,
            weight_rate_scale=self.weight_rate_scale,
            init_connections_max=self.init_connections_max,
            operators=self.operators,
        )
