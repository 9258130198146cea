"""From an evomod network (JSON exchange format) to the graph that is measured.

Formats
-------
Layered tanh networks (Clune et al.) and threshold networks (Kashtan & Alon)::

    {"kind": "layered" | "threshold", "layers": [8, 8, 4, 2, 1],
     "nodes": [{"id": 0, "layer": 0, "bias": 0, "x": -3.5, "y": 0.0}, ...],
     "edges": [[src_id, dst_id, weight], ...]}

Layer 0 holds the inputs, the last layer the outputs. Only ``id`` and
``layer`` of a node are read here (``bias``/``threshold``, ``x`` and ``y``
play no part in the graph). Edges must run from a lower to a higher layer.
Repeated ``[src, dst, w]`` entries add up (Kashtan & Alon: two connections
from the same source sum to +-2); a pair whose weights sum to 0 is no edge.

NAND circuits (Kashtan & Alon)::

    {"kind": "circuit", "inputs": [0, 1, 2, 3],
     "gates": [{"id": 4, "in": [0, 1]}, ...], "outputs": [gate_id, ...]}

Each source listed in a gate's ``"in"`` gives an edge source -> gate; a gate
fed twice by the same source gets weight 2 when ``weighted``. Feedback
(cycles, self-loops) is allowed.

Defaults and the papers
-----------------------
* Clune, Mouret & Lipson 2013: directed, unweighted, pruned
  (``network_graph(net)`` with its defaults).
* Kashtan & Alon 2005: undirected, unweighted, pruned
  (``directed=False``).
* Filan et al.: undirected, weights ``|w|``, dead (isolated) neurons dropped
  (``directed=False, weighted=True, prune="isolated"``; what
  :func:`evomod.modularity.clusterability` uses for a network dict).

Pruning (``prune=True``, as in both evolution papers): hidden nodes and gates
with no directed path to an output are dropped, then every node left without
any edge (inputs and outputs included).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from evomod.errors import ConfigError
from evomod.modularity._exact import CG_MAX_NODES
from evomod.modularity._validate import isolated_mask

KINDS = ("layered", "threshold", "circuit")
PRUNE_OPTIONS = (True, False, "isolated")
# A graph is a dense n x n matrix: beyond this many nodes it would not fit
# comfortably in memory (every model evomod builds stays far below).
MAX_GRAPH_NODES = 4_096
# |weight| of one edge entry; sums of up to n**2 such entries stay finite.
MAX_EDGE_WEIGHT = 1e100
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, eq=False)
class NetworkGraph:
    """A network as a weighted graph over its kept nodes.

    ``adjacency[i, j]`` is the weight of i -> j (symmetric ``A + A.T`` when
    built with ``directed=False``); ``node_ids[i]`` the original id of row i;
    ``layers[i]`` its layer (``None`` for circuits); ``outputs`` marks output
    nodes. ``blocks`` lists the separate weight matrices the clusterability
    nulls shuffle within: each is ``(rows, cols)``, equal-length index arrays
    naming the cells (one per unordered node pair) of one matrix.
    """

    adjacency: np.ndarray
    node_ids: np.ndarray
    layers: np.ndarray | None
    outputs: np.ndarray
    blocks: tuple
    kind: str
    directed: bool
    weighted: bool

    @property
    def n_nodes(self) -> int:
        """Number of kept nodes."""
        return int(self.adjacency.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of node pairs joined (each direction counted for directed graphs)."""
        a = self.adjacency
        if self.directed:
            return int(np.count_nonzero(a))
        return int(np.count_nonzero(np.triu(a)))


def whole_graph_blocks(n: int) -> tuple:
    """One block holding every unordered pair i < j: the null for graphs without layers."""
    iu, ju = np.triu_indices(n, 1)
    return ((iu, ju),)


def network_graph(network: Mapping, directed: bool = True, weighted: bool = False,
                  prune=True) -> NetworkGraph:
    """The graph of an evomod network dict (formats in the module docstring).

    Parameters
    ----------
    directed : keep edge directions (Clune) or return ``A + A.T`` (Kashtan &
        Alon, Filan).
    weighted : weights ``|w|`` (a gate fed twice by one source: 2) if True,
        else 1 per edge.
    prune : ``True`` drops nodes with no directed path to an output, then
        isolated nodes; ``"isolated"`` drops only isolated nodes; ``False``
        keeps every node.

    Malformed input raises :class:`~evomod.errors.ConfigError` naming the
    offending field (e.g. ``network.edges[3]``).
    """
    if not isinstance(network, Mapping):
        raise ConfigError("network", f"must be a dict in the evomod JSON format, "
                                     f"got {type(network).__name__}")
    if not (prune is True or prune is False or (isinstance(prune, str) and prune == "isolated")):
        raise ConfigError("prune", f"unknown pruning {prune!r}", PRUNE_OPTIONS)
    kind = _require(network, "kind", "network")
    if kind not in KINDS:
        raise ConfigError("network.kind", f"unknown kind {kind!r}", KINDS)
    if kind == "circuit":
        ids, raw, outputs, layers = _parse_circuit(network)
    else:
        ids, raw, outputs, layers = _parse_layered(network)

    present = raw != 0
    adjacency = np.abs(raw) if weighted else present.astype(float)
    n = len(ids)
    keep = np.ones(n, dtype=bool)
    if prune is True:
        keep = _reaches(present, outputs)
    if prune is not False:
        sub = np.flatnonzero(keep)
        dead = isolated_mask(present[np.ix_(sub, sub)])
        keep[sub[dead]] = False
    kept = np.flatnonzero(keep)

    adjacency = adjacency[np.ix_(kept, kept)]
    if not directed:
        adjacency = adjacency + adjacency.T
    kept_layers = None if layers is None else layers[kept]
    if kept_layers is None:
        blocks = whole_graph_blocks(len(kept))
    else:
        blocks = _layer_blocks(kept_layers, present[np.ix_(kept, kept)])
    node_ids = ids[kept]
    out_mask = outputs[kept]
    for arr in (adjacency, node_ids, out_mask) + (() if kept_layers is None else (kept_layers,)):
        arr.setflags(write=False)
    return NetworkGraph(adjacency=adjacency, node_ids=node_ids, layers=kept_layers,
                        outputs=out_mask, blocks=blocks, kind=kind, directed=bool(directed),
                        weighted=bool(weighted))


def _require(mapping: Mapping, key: str, where: str):
    if key not in mapping:
        raise ConfigError(f"{where}.{key}", "missing")
    return mapping[key]


def _node_id(value, field: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, f"node ids must be integers, got {_show(value)}")
    if not _INT64[0] <= value <= _INT64[1]:
        raise ConfigError(field, f"node id {_show(value)} is out of range", "64-bit integers")
    return int(value)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _list(value, field: str) -> list:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(field, f"must be a list, got {type(value).__name__}")
    return list(value)


def _check_size(n: int) -> None:
    if n > MAX_GRAPH_NODES:
        raise ConfigError("network", f"has {n} nodes, too many to build its graph",
                          f"at most {MAX_GRAPH_NODES} nodes")


def _parse_layered(net: Mapping):
    layer_sizes = _list(_require(net, "layers", "network"), "network.layers")
    if len(layer_sizes) < 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
            for s in layer_sizes):
        raise ConfigError("network.layers", f"must list at least two positive layer sizes, "
                                            f"got {layer_sizes!r}")
    if sum(layer_sizes) > MAX_GRAPH_NODES:
        raise ConfigError("network.layers", f"adds up to {sum(layer_sizes)} nodes, too many to build "
                                            "its graph", f"at most {MAX_GRAPH_NODES} nodes in all")
    nodes = _list(_require(net, "nodes", "network"), "network.nodes")
    _check_size(len(nodes))
    ids, layers, index = [], [], {}
    for i, node in enumerate(nodes):
        where = f"network.nodes[{i}]"
        if not isinstance(node, Mapping):
            raise ConfigError(where, f"must be a dict, got {type(node).__name__}")
        nid = _node_id(_require(node, "id", where), f"{where}.id")
        layer = _require(node, "layer", where)
        if (isinstance(layer, bool) or not isinstance(layer, (int, np.integer))
                or not 0 <= layer < len(layer_sizes)):
            raise ConfigError(f"{where}.layer", f"must be an integer in 0..{len(layer_sizes) - 1}, "
                                                f"got {layer!r}")
        if nid in index:
            raise ConfigError(f"{where}.id", f"duplicate node id {nid}")
        index[nid] = i
        ids.append(nid)
        layers.append(int(layer))
    layers = np.array(layers, dtype=np.int64)
    counts = np.bincount(layers, minlength=len(layer_sizes))
    # The widths must be exactly the nodes': a layer listed but left without
    # nodes would silently lose the outputs (and every node with them).
    wrong = np.flatnonzero(counts != np.array(layer_sizes))
    if len(wrong):
        l0 = int(wrong[0])
        raise ConfigError("network.nodes", f"layer {l0} has {counts[l0]} nodes but "
                                           f"network.layers says {layer_sizes[l0]}",
                          "as many nodes in each layer as network.layers says")

    raw = np.zeros((len(ids), len(ids)))
    for e, edge in enumerate(_list(_require(net, "edges", "network"), "network.edges")):
        where = f"network.edges[{e}]"
        if not isinstance(edge, (list, tuple)) or len(edge) != 3:
            raise ConfigError(where, f"must be [src_id, dst_id, weight], got {edge!r}")
        src, dst = (_known(_node_id(v, where), index, where) for v in edge[:2])
        weight = edge[2]
        numeric = isinstance(weight, (int, float, np.integer, np.floating))
        if isinstance(weight, bool) or not numeric or not _finite(weight):
            raise ConfigError(where, f"weight must be a finite number, got {_show(weight)}",
                              f"numbers with |w| <= {MAX_EDGE_WEIGHT:g}")
        if layers[dst] <= layers[src]:
            raise ConfigError(where, f"runs from layer {layers[src]} to layer {layers[dst]}; "
                                     "edges must go from a lower to a higher layer")
        raw[src, dst] += float(weight)
    outputs = layers == len(layer_sizes) - 1
    return np.array(ids, dtype=np.int64), raw, outputs, layers


def _parse_circuit(net: Mapping):
    inputs = _list(_require(net, "inputs", "network"), "network.inputs")
    gates = _list(_require(net, "gates", "network"), "network.gates")
    _check_size(len(inputs) + len(gates))
    ids, index = [], {}

    def add(nid, where):
        if nid in index:
            raise ConfigError(where, f"duplicate node id {nid}")
        index[nid] = len(ids)
        ids.append(nid)

    for i, nid in enumerate(inputs):
        add(_node_id(nid, f"network.inputs[{i}]"), f"network.inputs[{i}]")
    for g, gate in enumerate(gates):
        where = f"network.gates[{g}]"
        if not isinstance(gate, Mapping):
            raise ConfigError(where, f"must be a dict, got {type(gate).__name__}")
        add(_node_id(_require(gate, "id", where), f"{where}.id"), f"{where}.id")
    raw = np.zeros((len(ids), len(ids)))
    for g, gate in enumerate(gates):
        where = f"network.gates[{g}].in"
        sources = _list(_require(gate, "in", f"network.gates[{g}]"), where)
        if not sources:
            raise ConfigError(where, "a gate needs at least one input")
        dst = index[int(gate["id"])]
        for src in sources:
            raw[_known(_node_id(src, where), index, where), dst] += 1.0
    outs = _list(_require(net, "outputs", "network"), "network.outputs")
    if not outs:
        raise ConfigError("network.outputs", "must name at least one node")
    outputs = np.zeros(len(ids), dtype=bool)
    for o, nid in enumerate(outs):
        where = f"network.outputs[{o}]"
        outputs[_known(_node_id(nid, where), index, where)] = True
    return np.array(ids, dtype=np.int64), raw, outputs, None


def _finite(x) -> bool:
    try:
        return math.isfinite(x) and abs(x) <= MAX_EDGE_WEIGHT
    except OverflowError:  # an int too large for a float
        return False


def _known(nid: int, index: dict, where: str) -> int:
    if nid not in index:
        raise ConfigError(where, f"unknown node id {nid}")
    return index[nid]


def _reaches(present: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Nodes with a directed path to some output (outputs included)."""
    reach = outputs.copy()
    while True:
        grown = reach | present[:, reach].any(axis=1)
        if np.array_equal(grown, reach):
            return reach
        reach = grown


def _layer_blocks(layers: np.ndarray, present: np.ndarray) -> tuple:
    """One block per weight matrix between two layers: every consecutive pair,
    plus any other pair of layers that actually has an edge."""
    pairs = {(lo, lo + 1) for lo in range(int(layers.max()) if len(layers) else 0)}
    src, dst = np.nonzero(present)
    pairs |= {(int(layers[s]), int(layers[d])) for s, d in zip(src, dst)}
    blocks = []
    for lo, hi in sorted(pairs):
        rows = np.flatnonzero(layers == lo)
        cols = np.flatnonzero(layers == hi)
        if len(rows) and len(cols):
            r, c = np.meshgrid(rows, cols, indexing="ij")
            blocks.append((r.reshape(-1), c.reshape(-1)))
    return tuple(blocks)


def score_network(network: Mapping, directed: bool | None = None, method: str = "auto",
                  k: int = 2, n_shuffles: int = 50, null: str = "layer", seed=None) -> dict:
    """Every modularity measure of one network, as a JSON-ready dict.

    * ``q``, ``labels`` (node id -> module), ``modules`` (lists of node ids),
      ``n_modules``, ``method`` (the one actually used): Q maximised on the
      pruned, unweighted graph. ``directed=None`` follows the paper of the
      network kind: directed for ``"layered"`` (Clune et al.), undirected for
      ``"threshold"`` and ``"circuit"`` (Kashtan & Alon).
    * ``ncut``, ``clusterability_p``, ``clusterability_z``: Filan et al.'s
      test with ``k`` clusters and ``n_shuffles`` shuffles of the ``null``
      model, on the undirected ``|w|`` graph with isolated nodes dropped.

    A network with no edges left gets ``q = 0`` and ``None`` for the n-cut
    fields instead of an error, so a whole population can be scored.
    """
    from evomod.modularity.cut import clusterability  # cut imports this module
    from evomod.modularity.maximize import maximize_q

    if directed is None:
        kind = network.get("kind") if isinstance(network, Mapping) else None
        directed = kind == "layered"
    graph = network_graph(network, directed=directed, weighted=False, prune=True)
    best = maximize_q(graph.adjacency, directed=directed, method=method, seed=seed)
    ids = [int(i) for i in graph.node_ids]
    out = {
        "kind": graph.kind,
        "directed": bool(directed),
        "q": best.q,
        "method": best.method,
        "n_modules": best.n_modules,
        "labels": {nid: int(c) for nid, c in zip(ids, best.labels)},
        "modules": [[ids[i] for i in members] for members in best.modules()],
        "n_nodes": graph.n_nodes,
        "n_edges": graph.n_edges,
        "k": k, "n_shuffles": n_shuffles, "null": null,
        "ncut": None, "clusterability_p": None, "clusterability_z": None,
    }
    cut_graph = network_graph(network, directed=False, weighted=True, prune="isolated")
    if cut_graph.n_edges == 0:
        return out
    test = clusterability(cut_graph, k=k, n_shuffles=n_shuffles, null=null, seed=seed)
    out["ncut"] = test.ncut
    out["clusterability_p"] = test.p
    out["clusterability_z"] = None if math.isnan(test.z) else test.z
    return out


# -- networks from files (evomod score) --------------------------------------------

# evomod score's bound on a network's size: Q's spectral refinement and the
# n-cut test's shuffles grow quickly with it (a 1,000-gate circuit takes
# 20-40 s); networks up to this many nodes score in a few seconds.
SCORE_MAX_NODES = 400
# --method exact: up to CG_MAX_NODES connected nodes the exact solver prices
# columns exhaustively (under a second); one node more already takes minutes.
EXACT_MAX_NODES = CG_MAX_NODES
MAX_NETWORK_FILE_BYTES = 64 * 2**20


def read_network_file(path) -> Mapping:
    """The network in a JSON file: a bare network, or a run's best.json (its
    best network). The file must be UTF-8 JSON; any problem is one ConfigError."""
    return network_in(read_json_file(path))


def read_json_file(path):
    """A UTF-8 JSON file's content (NaN and Infinity refused); any problem is one ConfigError."""
    import json
    from evomod.config import read_text

    def no_constant(name):
        raise ConfigError("network", f"{path} is not valid JSON: {name} is not a JSON number")

    text = read_text(path, "network", "JSON", limit=MAX_NETWORK_FILE_BYTES)
    try:
        data = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as err:
        raise ConfigError("network", f"{path} is not valid JSON: {err}") from None
    except RecursionError:
        raise ConfigError("network", f"{path} is nested too deeply to be a network") from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise ConfigError("network", f"{path} is not valid JSON: {' '.join(str(err).split(';')[0].split())}") from None
    return data


def network_in(data) -> Mapping:
    """The network a parsed file holds: itself, or a best.json's ``networks[0].network``."""
    if isinstance(data, Mapping) and "networks" in data:
        entries = data["networks"]
        allowed = 'a run\'s best.json: {"networks": [{"network": {...}}, ...]}'
        if not isinstance(entries, list):
            raise ConfigError("networks", f"must be a list of hall-of-fame entries, got {_show(entries)}",
                              allowed)
        if not entries:
            raise ConfigError("networks", "is empty: there is no network to score", allowed)
        if not isinstance(entries[0], Mapping):
            raise ConfigError("networks[0]", f"must be an entry with a network, got {_show(entries[0])}",
                              allowed)
        if "network" not in entries[0]:
            raise ConfigError("networks[0].network", "missing", allowed)
        data = entries[0]["network"]
    if not isinstance(data, Mapping):
        raise ConfigError("network", f"must be a network object, got {_show(data)}",
                          f"an object with \"kind\" in {', '.join(KINDS)} (see evomod score --help)")
    return data


def _declared_nodes(network: Mapping) -> int:
    if network.get("kind") == "circuit":
        return sum(len(network[k]) for k in ("inputs", "gates") if isinstance(network.get(k), list))
    nodes = network.get("nodes")
    return len(nodes) if isinstance(nodes, list) else 0


def check_scorable(network: Mapping, method: str, directed: bool | None = None) -> None:
    """Refuse a network that ``score_network`` would take minutes (or hours) on."""
    n = _declared_nodes(network)
    if n > SCORE_MAX_NODES:
        raise ConfigError("network", f"has {n} nodes; evomod score takes at most {SCORE_MAX_NODES} "
                                     "(larger networks take minutes to score)",
                          f"networks of at most {SCORE_MAX_NODES} nodes")
    if method == "exact":
        if directed is None:
            directed = network.get("kind") == "layered"
        kept = network_graph(network, directed=directed, prune=True).n_nodes
        if kept > EXACT_MAX_NODES:
            raise ConfigError("--method", f"exact is limited to {EXACT_MAX_NODES} connected nodes; this "
                                          f"network has {kept}", ["auto", "spectral", "clune"])
