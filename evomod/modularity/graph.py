"""From an evomod network (the JSON exchange format, :mod:`evomod.network_format`)
to the graph that is measured.

Only the structure of a network is read here: node ids, layers and edges
(``bias``/``threshold``, ``x`` and ``y`` play no part in the graph).
Repeated ``[src, dst, w]`` entries add up; a pair whose weights sum to 0 is
no edge. A gate fed twice by the same source gets weight 2 when
``weighted``. Feedback (cycles, self-loops) is allowed.

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
from evomod.network_format import declared_nodes, parse_network, scoring_defaults

PRUNE_OPTIONS = (True, False, "isolated")


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


def network_graph(
    network: Mapping, directed: bool = True, weighted: bool = False, prune=True
) -> NetworkGraph:
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
    if not (prune is True or prune is False or (isinstance(prune, str) and prune == "isolated")):
        raise ConfigError("prune", f"unknown pruning {prune!r}", PRUNE_OPTIONS)
    parsed = parse_network(network)
    kind, ids, raw, outputs, layers = (
        parsed.kind,
        parsed.ids,
        parsed.adjacency(),
        parsed.outputs,
        parsed.layers,
    )

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
    return NetworkGraph(
        adjacency=adjacency,
        node_ids=node_ids,
        layers=kept_layers,
        outputs=out_mask,
        blocks=blocks,
        kind=kind,
        directed=bool(directed),
        weighted=bool(weighted),
    )


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


def score_network(
    network: Mapping,
    directed: bool | None = None,
    method: str = "auto",
    k: int = 2,
    n_shuffles: int = 50,
    null: str = "layer",
    seed=None,
    information_flow: bool = True,
    lam: float = 20.0,
) -> dict:
    """Every modularity measure of one network, as a JSON-ready dict.

    * ``q``, ``labels`` (node id -> module), ``modules`` (lists of node ids),
      ``n_modules``, ``method`` (the one actually used): Q maximised on the
      pruned, unweighted graph. ``directed=None`` follows the paper of the
      network kind: directed for ``"layered"`` (Clune et al.), undirected for
      ``"threshold"`` and ``"circuit"`` (Kashtan & Alon).
    * ``ncut``, ``clusterability_p``, ``clusterability_z``: Filan et al.'s
      test with ``k`` clusters and ``n_shuffles`` shuffles of the ``null``
      model, on the undirected ``|w|`` graph with isolated nodes dropped;
      ``ncut_labels`` (node id -> cluster) is that spectral k-partition.
    * ``information_flow`` (with ``information_flow=True``): the best
      partition by cross-part influence
      (:func:`evomod.modularity.infoflow.information_flow_modularity`, flip
      interventions; ``lam`` is a layered network's ``model.lam``), as its
      ``as_dict()``; ``None`` with ``information_flow_error`` saying why
      for a network it does not apply to (a circuit with feedback loops).
    * ``partition_agreement``: for each pair of the partitions of Q, the
      n-cut and information flow, ``nmi`` and ``ari``
      (:func:`evomod.modularity.compare_partitions`) over ``nodes``, the
      nodes both label (information flow labels no inputs), or ``None``
      when fewer than two nodes are shared. Q's partition here is the exact
      optimum when the graph has at most ``CG_MAX_NODES`` nodes (``q_method``
      says which was used).

    A network with no edges left gets ``q = 0`` and ``None`` for the n-cut
    fields instead of an error, so a whole population can be scored.
    """
    from evomod.modularity.cut import clusterability  # cut imports this module
    from evomod.modularity.maximize import maximize_q

    if directed is None:
        directed, _ = scoring_defaults(network.get("kind") if isinstance(network, Mapping) else None)
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
        "k": k,
        "n_shuffles": n_shuffles,
        "null": null,
        "ncut": None,
        "clusterability_p": None,
        "clusterability_z": None,
        "ncut_labels": None,
    }
    cut_graph = network_graph(network, directed=False, weighted=True, prune="isolated")
    if cut_graph.n_edges:
        test = clusterability(cut_graph, k=k, n_shuffles=n_shuffles, null=null, seed=seed)
        out["ncut"] = test.ncut
        out["clusterability_p"] = test.p
        out["clusterability_z"] = None if math.isnan(test.z) else test.z
        out["ncut_labels"] = {int(i): int(c) for i, c in zip(cut_graph.node_ids, test.labels)}
    # The agreement compares Q's best partition itself: the exact one
    # wherever the exact solver is quick, whatever method gave the Q above.
    q_labels, q_method = (out["labels"] if ids else None), best.method
    if ids and best.method != "exact" and graph.n_nodes <= CG_MAX_NODES:
        exact = maximize_q(graph.adjacency, directed=directed, method="exact", seed=seed)
        q_labels, q_method = {nid: int(c) for nid, c in zip(ids, exact.labels)}, "exact"
    partitions = {"q": q_labels, "ncut": out["ncut_labels"]}
    if information_flow:
        from evomod.modularity.infoflow import information_flow_modularity

        try:
            flow = information_flow_modularity(network, lam=lam).as_dict()
        except ConfigError as err:
            out["information_flow"] = None
            out["information_flow_error"] = str(err)
            partitions["information_flow"] = None
        else:
            out["information_flow"] = flow
            partitions["information_flow"] = flow["labels"] or None
    out["partition_agreement"] = partition_agreement(partitions)
    out["partition_agreement"]["q_method"] = q_method
    return out


def partition_agreement(partitions: Mapping[str, Mapping | None]) -> dict:
    """NMI and adjusted Rand index of each pair of named partitions (node id
    -> label), over the nodes both label; ``None`` for a pair with fewer
    than two shared nodes or a missing partition."""
    from evomod.modularity.compare import compare_partitions

    names = list(partitions)
    result = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            pa, pb = partitions[a], partitions[b]
            shared = sorted(set(pa) & set(pb)) if pa and pb else []
            key = f"{a}_vs_{b}"
            if len(shared) < 2:
                result[key] = None
                continue
            scores = compare_partitions([pa[n] for n in shared], [pb[n] for n in shared])
            result[key] = {**scores, "nodes": len(shared)}
    return result


# -- networks from files (evomod score) --------------------------------------------

# evomod score's bound on a network's size: Q's spectral refinement and the
# n-cut test's shuffles grow quickly with it (a 1,000-gate circuit takes
# 20-40 s); networks up to this many nodes score in a few seconds.
SCORE_MAX_NODES = 400
# --method exact: up to CG_MAX_NODES connected nodes the exact solver prices
# columns exhaustively (under a second); one node more already takes minutes.
EXACT_MAX_NODES = CG_MAX_NODES


def check_scorable(network: Mapping, method: str, directed: bool | None = None) -> None:
    """Refuse a network that ``score_network`` would take minutes (or hours) on."""
    n = declared_nodes(network)
    if n > SCORE_MAX_NODES:
        raise ConfigError(
            "network",
            f"has {n} nodes; evomod score takes at most {SCORE_MAX_NODES} "
            "(larger networks take minutes to score)",
            f"networks of at most {SCORE_MAX_NODES} nodes",
        )
    if method == "exact":
        if directed is None:
            directed, _ = scoring_defaults(network.get("kind"))
        kept = network_graph(network, directed=directed, prune=True).n_nodes
        if kept > EXACT_MAX_NODES:
            raise ConfigError(
                "--method",
                f"exact is limited to {EXACT_MAX_NODES} connected nodes; this network has {kept}",
                ["auto", "spectral", "clune"],
            )
