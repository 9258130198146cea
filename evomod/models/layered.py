"""Layered feed-forward tanh networks: the model of Clune, Mouret & Lipson 2013.

Genome arrays:
- ``weights`` int8 (n, E): one slot per pair of nodes in consecutive layers
  (see ``evomod.kernels.layered``); 0 = no connection.
- ``biases`` int8 (n, H): one per non-input node.

Nodes compute tanh(lam * (sum w * y + b)); inputs are +-1 (a black pixel is
+1); an output above 0 means true.
"""

from __future__ import annotations

import math

import numpy as np

from evomod.errors import ConfigError
from evomod.kernels import layered as kernel
from evomod.models.base import NetworkModel

CLUNE_X = {8: np.arange(8) - 3.5, 4: np.array([-2.0, -1.0, 1.0, 2.0]),
           2: np.array([-1.0, 1.0]), 1: np.array([0.0])}


class LayeredModel(NetworkModel):
    kind = "layered"

    def __init__(self, layers=(8, 8, 4, 2, 1), weights=(-2, -1, 1, 2), bias_min=-2, bias_max=2,
                 lam=20.0, add_connection_rate=0.2, remove_connection_rate=0.2,
                 bias_rate=1 / 24, weight_rate_scale=2.0, init_connections_max=120):
        self.widths = np.asarray(layers, dtype=np.int64)
        self.allowed_weights = np.asarray(sorted(weights), dtype=np.int8)
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
        # tanh(lam * s) for integer s != 0 is exactly +-1.0 in float64 from here on.
        self.sign_activation = math.tanh(self.lam) == 1.0

    # -- genomes -----------------------------------------------------------
    def random(self, n, rng):
        weights = np.zeros((n, self.n_slots), dtype=np.int8)
        counts = np.minimum(rng.integers(0, self.init_connections_max + 1, size=n), self.n_slots)
        for i in range(n):
            slots = rng.choice(self.n_slots, size=counts[i], replace=False)
            weights[i, slots] = rng.choice(self.allowed_weights, size=counts[i])
        biases = rng.integers(self.bias_min, self.bias_max + 1,
                              size=(n, self.n_nodes - self.n_inputs)).astype(np.int8)
        return {"weights": weights, "biases": biases}

    def mutate(self, genomes, rng):
        weights = genomes["weights"].copy()
        biases = genomes["biases"].copy()
        kernel.mutate(weights, biases, self.allowed_weights, self.bias_min, self.bias_max,
                      self.add_rate, self.remove_rate, self.bias_rate, self.weight_rate_scale, rng)
        return {"weights": weights, "biases": biases}

    # -- behaviour ---------------------------------------------------------
    def activations(self, genomes, inputs):
        """Real-valued output-node values, shape (n, P, n_out)."""
        dtype = np.int16 if self.sign_activation else np.float64
        x = np.where(np.asarray(inputs, dtype=bool), 1, -1).astype(dtype)
        return kernel.forward(genomes["weights"], genomes["biases"], self.widths,
                              np.ascontiguousarray(x), self.lam, self.sign_activation)

    def outputs(self, genomes, inputs):
        return self.activations(genomes, inputs) > 0

    # -- structure ---------------------------------------------------------
    def edges(self, genomes):
        w = genomes["weights"]
        n = w.shape[0]
        src = np.broadcast_to(self.slot_src, (n, self.n_slots))
        dst = np.broadcast_to(self.slot_dst, (n, self.n_slots))
        return src, dst, w.astype(np.float64)

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
            entry = {"id": node, "layer": int(self.layer_of[node]),
                     "bias": None if node < self.n_inputs else int(biases[node - self.n_inputs]),
                     "x": float(pos[node, 0]), "y": float(pos[node, 1])}
            nodes.append(entry)
        w = genomes["weights"][i]
        live = np.flatnonzero(w)
        edges = [[int(self.slot_src[e]), int(self.slot_dst[e]), int(w[e])] for e in live]
        return {"kind": self.kind, "layers": [int(v) for v in self.widths],
                "nodes": nodes, "edges": edges}

    def from_json(self, data):
        if data.get("kind") != self.kind:
            raise ConfigError("network.kind", f"expected {self.kind!r}, got {data.get('kind')!r}",
                              [self.kind])
        if list(data.get("layers", [])) != [int(v) for v in self.widths]:
            raise ConfigError("network.layers", f"{data.get('layers')!r} does not match the model",
                              [list(map(int, self.widths))])
        slot_of = {(int(s), int(d)): e for e, (s, d) in enumerate(zip(self.slot_src, self.slot_dst))}
        weights = np.zeros((1, self.n_slots), dtype=np.int8)
        for edge in data.get("edges", []):
            if len(edge) != 3:
                raise ConfigError("network.edges", f"edge {edge!r} is not [src, dst, weight]")
            src, dst, w = edge
            if (src, dst) not in slot_of:
                raise ConfigError("network.edges", f"edge {src}->{dst} does not join consecutive layers")
            if w not in self.allowed_weights:
                raise ConfigError("network.edges", f"weight {w} of edge {src}->{dst} not allowed",
                                  [int(v) for v in self.allowed_weights])
            weights[0, slot_of[(src, dst)]] = w
        biases = np.zeros((1, self.n_nodes - self.n_inputs), dtype=np.int8)
        for node in data.get("nodes", []):
            nid = node.get("id")
            if not isinstance(nid, int) or not 0 <= nid < self.n_nodes:
                raise ConfigError("network.nodes", f"node id {nid!r} out of range", f"0..{self.n_nodes - 1}")
            if nid >= self.n_inputs:
                b = node.get("bias")
                if not isinstance(b, int) or not self.bias_min <= b <= self.bias_max:
                    raise ConfigError("network.nodes.bias", f"bias {b!r} of node {nid}",
                                      f"integers {self.bias_min}..{self.bias_max}")
                biases[0, nid - self.n_inputs] = b
        return {"weights": weights, "biases": biases}
