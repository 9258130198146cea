"""The network exchange format: one network as JSON, defined and checked here only.

Models write it (``to_json``) and read it back (``from_json``), the
modularity graph is built from it (``evomod.modularity.graph``) and
``evomod score`` reads it from a file; all of them parse it with
:func:`parse_network`, so a malformed network gets the same one-line
:class:`~evomod.errors.ConfigError` everywhere, its field named from the
network's root (``network.edges[3]``, ``network.gates[0].in``).

``kind`` names the model (``evomod.registry.MODELS``); the model's [model]
table says which of the two shapes its networks take (``network_format``,
``"layered"`` unless it says otherwise).

``"layered"`` (Clune et al.'s layered networks, Kashtan & Alon's threshold
networks)::

    {"kind": "layered" | "threshold", "layers": [8, 8, 4, 2, 1],
     "nodes": [{"id": 0, "layer": 0, "bias": null, "x": -3.5, "y": 0.0}, ...],
     "edges": [[src_id, dst_id, weight], ...]}

Layer 0 holds the inputs, the last layer the outputs; each layer has as
many nodes as ``layers`` says. A node's other fields (``bias`` or
``threshold``, ``x``, ``y``) belong to its model. Edges run from a lower to
a higher layer, their weights finite numbers; repeated ``[src, dst, w]``
entries add up (Kashtan & Alon: two connections from the same source sum to
+-2), which a model may refuse.

``"gates"`` (Kashtan & Alon's NAND circuits)::

    {"kind": "circuit", "inputs": [0, 1, 2, 3],
     "gates": [{"id": 4, "in": [0, 1]}, ...], "outputs": [gate_id, ...]}

Each source listed in a gate's ``"in"`` is an edge source -> gate; feedback
(cycles, self-loops) is allowed by the format, and refused by a model that
is feed-forward.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from evomod.errors import ConfigError, FileError
from evomod.registry import MODELS

FORMATS = ("layered", "gates")
# A network's graph is a dense n x n matrix: beyond this many nodes it would
# not fit comfortably in memory (every model evomod builds stays far below).
MAX_NODES = 4_096
# |weight| of one edge entry; sums of up to n**2 such entries stay finite.
MAX_EDGE_WEIGHT = 1e100
MAX_FILE_BYTES = 64 * 2**20
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, eq=False)
class Network:
    """A parsed network: node ids in the file's order and its edges between them.

    ``edges`` holds ``(src, dst, weight, field)`` per entry (positions into
    ``ids``; ``field`` names the entry for a model's own errors).
    ``layers`` is each node's layer (``None`` for the gate format);
    ``nodes`` the layered format's node entries, ``gates`` the gate format's
    ``(gate position, source positions, field)``; ``outputs`` marks outputs.
    """

    kind: str
    format: str
    ids: np.ndarray
    index: Mapping[int, int]
    outputs: np.ndarray
    edges: tuple
    layer_sizes: tuple[int, ...] | None = None
    layers: np.ndarray | None = None
    nodes: tuple = ()
    n_inputs: int = 0
    gates: tuple = ()

    @property
    def n_nodes(self) -> int:
        return len(self.ids)

    def adjacency(self) -> np.ndarray:
        """``a[i, j]``: the summed weights of the entries i -> j."""
        a = np.zeros((self.n_nodes, self.n_nodes))
        for src, dst, weight, _ in self.edges:
            a[src, dst] += float(weight)
        return a


def network_format(kind: str) -> str:
    return getattr(MODELS.get(kind, "network.kind"), "network_format", "layered")


def parse_network(
    data, kind: str | None = None, layers=None, inputs=None, n_gates: int | None = None
) -> Network:
    """``data`` checked against the exchange format (module docstring).

    A model reading its own networks gives its ``kind`` and its shape: the
    ``layers`` widths (layered format), or the ``inputs`` ids and the number
    of gates ``n_gates`` (gate format). A network of another kind or shape
    is refused as soon as that field is read, before its nodes are.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("network", f"must be a dict in the evomod JSON format, got {type(data).__name__}")
    given = require(data, "kind", "network")
    kinds = MODELS.names()
    if not isinstance(given, str) or given not in kinds:
        raise ConfigError("network.kind", f"unknown kind {_show(given)}", kinds)
    if kind is not None and given != kind:
        raise ConfigError("network.kind", f"expected {kind!r}, got {given!r}", [kind])
    if network_format(given) == "gates":
        return _parse_gates(data, given, inputs, n_gates)
    return _parse_layered(data, given, layers)


def require(mapping: Mapping, key: str, where: str):
    if key not in mapping:
        raise ConfigError(f"{where}.{key}", "missing")
    return mapping[key]


def node_id(value, field: str) -> int:
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
    if n > MAX_NODES:
        raise ConfigError(
            "network", f"has {n} nodes, too many to build its graph", f"at most {MAX_NODES} nodes"
        )


def _finite(x) -> bool:
    try:
        return math.isfinite(x) and abs(x) <= MAX_EDGE_WEIGHT
    except OverflowError:  # an int too large for a float
        return False


def _known(nid: int, index: Mapping, where: str) -> int:
    if nid not in index:
        raise ConfigError(where, f"unknown node id {nid}")
    return index[nid]


def _parse_layered(net: Mapping, kind: str, expected_layers) -> Network:
    layer_sizes = _list(require(net, "layers", "network"), "network.layers")
    if len(layer_sizes) < 2 or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in layer_sizes
    ):
        raise ConfigError(
            "network.layers", f"must list at least two positive layer sizes, got {layer_sizes!r}"
        )
    if sum(layer_sizes) > MAX_NODES:
        raise ConfigError(
            "network.layers",
            f"adds up to {sum(layer_sizes)} nodes, too many to build its graph",
            f"at most {MAX_NODES} nodes in all",
        )
    if expected_layers is not None and list(layer_sizes) != list(expected_layers):
        raise ConfigError(
            "network.layers", f"{layer_sizes!r} does not match the model", [list(expected_layers)]
        )
    nodes = _list(require(net, "nodes", "network"), "network.nodes")
    _check_size(len(nodes))
    ids, layers, index = [], [], {}
    for i, node in enumerate(nodes):
        where = f"network.nodes[{i}]"
        if not isinstance(node, Mapping):
            raise ConfigError(where, f"must be a dict, got {type(node).__name__}")
        nid = node_id(require(node, "id", where), f"{where}.id")
        layer = require(node, "layer", where)
        if (
            isinstance(layer, bool)
            or not isinstance(layer, (int, np.integer))
            or not 0 <= layer < len(layer_sizes)
        ):
            raise ConfigError(
                f"{where}.layer", f"must be an integer in 0..{len(layer_sizes) - 1}, got {layer!r}"
            )
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
        raise ConfigError(
            "network.nodes",
            f"layer {l0} has {counts[l0]} nodes but network.layers says {layer_sizes[l0]}",
            "as many nodes in each layer as network.layers says",
        )
    edges = []
    for e, edge in enumerate(_list(require(net, "edges", "network"), "network.edges")):
        where = f"network.edges[{e}]"
        if not isinstance(edge, (list, tuple)) or len(edge) != 3:
            raise ConfigError(where, f"must be [src_id, dst_id, weight], got {_show(edge)}")
        src, dst = (_known(node_id(v, where), index, where) for v in edge[:2])
        weight = edge[2]
        numeric = isinstance(weight, (int, float, np.integer, np.floating))
        if isinstance(weight, bool) or not numeric or not _finite(weight):
            raise ConfigError(
                where,
                f"weight must be a finite number, got {_show(weight)}",
                f"numbers with |w| <= {MAX_EDGE_WEIGHT:g}",
            )
        if layers[dst] <= layers[src]:
            raise ConfigError(
                where,
                f"runs from layer {layers[src]} to layer {layers[dst]}; "
                "edges must go from a lower to a higher layer",
            )
        edges.append((src, dst, weight, where))
    return Network(
        kind=kind,
        format="layered",
        ids=np.array(ids, dtype=np.int64),
        index=index,
        outputs=layers == len(layer_sizes) - 1,
        edges=tuple(edges),
        layer_sizes=tuple(int(s) for s in layer_sizes),
        layers=layers,
        nodes=tuple(nodes),
        n_inputs=int(layer_sizes[0]),
    )


def _parse_gates(net: Mapping, kind: str, expected_inputs, n_gates) -> Network:
    inputs = _list(require(net, "inputs", "network"), "network.inputs")
    if expected_inputs is not None and inputs != list(expected_inputs):
        raise ConfigError("network.inputs", f"got {_show(inputs)}", str(list(expected_inputs)))
    gates = _list(require(net, "gates", "network"), "network.gates")
    if n_gates is not None and len(gates) != n_gates:
        raise ConfigError("network.gates", f"expected {n_gates} gates, got {len(gates)}")
    _check_size(len(inputs) + len(gates))
    ids, index = [], {}

    def add(nid, where):
        if nid in index:
            raise ConfigError(where, f"duplicate node id {nid}")
        index[nid] = len(ids)
        ids.append(nid)

    for i, nid in enumerate(inputs):
        add(node_id(nid, f"network.inputs[{i}]"), f"network.inputs[{i}]")
    for g, gate in enumerate(gates):
        where = f"network.gates[{g}]"
        if not isinstance(gate, Mapping):
            raise ConfigError(where, f"must be a dict, got {type(gate).__name__}")
        add(node_id(require(gate, "id", where), f"{where}.id"), f"{where}.id")
    edges, parsed_gates = [], []
    for g, gate in enumerate(gates):
        where = f"network.gates[{g}].in"
        sources = _list(require(gate, "in", f"network.gates[{g}]"), where)
        if not sources:
            raise ConfigError(where, "a gate needs at least one input")
        dst = index[int(gate["id"])]
        positions = tuple(_known(node_id(src, where), index, where) for src in sources)
        edges += [(src, dst, 1, where) for src in positions]
        parsed_gates.append((dst, positions, where))
    outs = _list(require(net, "outputs", "network"), "network.outputs")
    if not outs:
        raise ConfigError("network.outputs", "must name at least one node")
    outputs = np.zeros(len(ids), dtype=bool)
    for o, nid in enumerate(outs):
        where = f"network.outputs[{o}]"
        outputs[_known(node_id(nid, where), index, where)] = True
    return Network(
        kind=kind,
        format="gates",
        ids=np.array(ids, dtype=np.int64),
        index=index,
        outputs=outputs,
        edges=tuple(edges),
        n_inputs=len(inputs),
        gates=tuple(parsed_gates),
    )


def declared_nodes(network: Mapping) -> int:
    """How many nodes a network says it has, before it is parsed (to refuse huge ones early)."""
    kind = network.get("kind")
    gates = isinstance(kind, str) and kind in MODELS.names() and network_format(kind) == "gates"
    keys = ("inputs", "gates") if gates else ("nodes",)
    return sum(len(network[k]) for k in keys if isinstance(network.get(k), list))


# -- networks in files (evomod score) ---------------------------------------------


def read_json_file(path):
    """A UTF-8 JSON file's content (NaN and Infinity refused); any problem is one ConfigError."""
    from evomod.config import read_text

    def no_constant(name):
        raise FileError("network", f"{path} is not valid JSON: {name} is not a JSON number")

    text = read_text(path, "network", "JSON", limit=MAX_FILE_BYTES)
    try:
        data = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as err:
        raise FileError("network", f"{path} is not valid JSON: {err}") from None
    except RecursionError:
        raise FileError("network", f"{path} is nested too deeply to be a network") from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise FileError(
            "network", f"{path} is not valid JSON: {' '.join(str(err).split(';')[0].split())}"
        ) from None
    return data


def network_in(data) -> Mapping:
    """The network a parsed file holds: itself, or a best.json's ``networks[0].network``."""
    if isinstance(data, Mapping) and "networks" in data:
        entries = data["networks"]
        allowed = 'a run\'s best.json: {"networks": [{"network": {...}}, ...]}'
        if not isinstance(entries, list):
            raise FileError(
                "networks", f"must be a list of hall-of-fame entries, got {_show(entries)}", allowed
            )
        if not entries:
            raise FileError("networks", "is empty: there is no network to score", allowed)
        if not isinstance(entries[0], Mapping):
            raise FileError(
                "networks[0]", f"must be an entry with a network, got {_show(entries[0])}", allowed
            )
        if "network" not in entries[0]:
            raise FileError("networks[0].network", "missing", allowed)
        data = entries[0]["network"]
    if not isinstance(data, Mapping):
        raise FileError(
            "network",
            f"must be a network object, got {_show(data)}",
            f'an object with "kind" in {", ".join(MODELS.names())} (see evomod score --help)',
        )
    return data


def scoring_defaults(kind) -> tuple[bool, str]:
    """``(directed, method)`` that Q of a network of ``kind`` is measured with by
    default: its model's run defaults (Clune et al.: directed, their method;
    Kashtan & Alon: undirected, spectral); ``(False, "auto")`` for no known kind."""
    from dataclasses import fields

    from evomod.config import Config

    if not isinstance(kind, str) or kind not in MODELS.names():
        return False, "auto"
    defaults = {f.name: f.default for f in fields(Config)}
    setup = getattr(MODELS.get(kind), "paper_setup", {})
    return (
        bool(setup.get("modularity_directed", defaults["modularity_directed"])),
        setup.get("modularity_method", defaults["modularity_method"]),
    )
