"""Information-flow modularity: how little the parts of a network influence each other.

Q (:mod:`evomod.modularity.q`) reads only the wiring: a network can have two
densely wired clusters and still compute one entangled function through the
few edges between them. This measure reads the function instead. Each node
of the network is intervened on over every input pattern, the change that
causes in every other node is measured, and a partition is modular when
influence stays inside its parts.

Nodes
-----
The *measured* nodes are the non-input nodes that Q's pruned graph keeps
(:func:`evomod.modularity.network_graph` with ``prune=True``: a directed path
to an output, and at least one edge): hidden units, gates and the outputs
themselves. The outputs are measured like any other node, so a part owns the
outputs it drives and "influence on the output" is influence on the part
that holds it. Inputs are not intervened on and belong to no part (label
-1): intervening on an input is only choosing another pattern, which tells
the task's function apart, not the network's organisation.

Simulation (:func:`node_values`)
--------------------------------
Every node's value on every input pattern: pattern ``p`` sets input ``i`` to
bit ``i`` of ``p`` (all ``2**n_inputs`` patterns; at most
``2**MAX_INPUTS``). Input ``i`` is the ``i``-th id of ``network.inputs``
(circuits) or the layer-0 node with the ``i``-th smallest id (layered
formats), as the models number them.

* ``"circuit"``: inputs 0/1; a gate is the NAND of all its sources. Gates
  are evaluated in topological order, so feed-forward circuits need not be
  numbered in order. A feedback loop through gates that reach an output is
  refused (:class:`~evomod.errors.ConfigError` on ``network.gates``): a node
  on a loop has no single value to intervene on when the loop does not
  settle, and synchronous iteration would make the measure depend on the
  number of steps. Gates that reach no output are evaluated when they can be
  and are NaN otherwise; they are never measured.
* ``"threshold"``: inputs 0/1; a neuron is 1 when ``sum(w * x) >= threshold``
  (its node's ``"threshold"`` field).
* ``"layered"``: inputs +-1 (bit 1 -> +1); a node is ``tanh(lam * (sum(w *
  y) + bias))`` with its node's ``"bias"``. ``lam`` is not in the JSON (it is
  the run's ``model.lam``, 20 by default): pass it. As in the model, when
  ``tanh(lam)`` rounds to 1.0 the node is ``sign(sum(w * y) + bias)``
  exactly, so values are -1, 0 or 1.

Interventions (``mode``)
------------------------
An intervention replaces a node's value vector over the patterns and lets
every node downstream recompute. For node ``i`` with values ``v_i``:

* ``"flip"`` (default): ``1 - v_i`` for 0/1 nodes, ``-v_i`` for tanh nodes
  (a tanh node at exactly 0 stays 0);
* ``"clamp"``: the constant lower median of ``v_i`` over the patterns (for
  a 0/1 node its majority value, ties to 0; always a value the node takes);
* ``"resample"``: ``v_i`` permuted over the patterns by a permutation drawn
  from ``numpy.random.default_rng(seed)``: the node keeps its distribution
  and loses its dependence on the input. ``n_resamples`` permutations are
  averaged.

Flip asks what a node *could* change (a constant node still has influence);
clamp and resample ask what its actual variation carries (a constant node
has none).

Influence matrix
----------------
``I[i, j]`` = the mean over patterns of ``|v_j' - v_j| / span``, where
``v_j'`` is node j's value with node i intervened on and ``span`` is the
width of the value range (1 for 0/1 nodes, 2 for tanh nodes). For 0/1 nodes
it is the fraction of patterns on which j changes; it lies in [0, 1];
``I[i, i] = 0``. In a feed-forward network ``I[i, j] > 0`` only when j is
downstream of i.

Score of a partition
--------------------
Read ``I`` as a weighted directed graph with total weight ``T = sum(I)``.
For parts P, Q let ``e_PQ`` be the share of ``T`` that goes from nodes of P
to nodes of Q, ``a_P = sum_Q e_PQ`` (the share P sends) and ``b_P = sum_Q
e_QP`` (the share P receives). The score of a partition is Newman's (2003)
assortativity coefficient of the influence graph by part::

    r = (sum_P e_PP - sum_P a_P b_P) / (1 - sum_P a_P b_P)
      = 1 - C / C0,

``C`` the cross-part influence observed and ``C0`` the cross-part influence
expected if every node's outgoing influence were spread over receivers in
proportion to their incoming influence (the null of Leicht & Newman's
directed Q: ``r`` is the Q of the influence graph divided by ``1 - sum_P a_P
b_P``, the Q the same parts would have if no influence crossed them). So

* ``r = 1`` exactly when no influence crosses parts;
* ``r = 0`` when parts influence each other as much as the null predicts.
  A part that only receives (an output alone) or only sends gets ``r = 0``,
  and so does *every* partition when ``I`` is rank one, as when each hidden
  unit of a two-layer network has the same relative effect on every output
  (``I[h, o] = u_h w_o``: the observed and expected within-part influences
  are both ``sum_P U_P W_P``). More generally, when influence runs only
  from hidden units to outputs and every ``I[h, o]`` lies in ``[alpha,
  beta]``, ``alpha > 0``, every partition has ``r <= 1 - (alpha / beta)**2``
  (``C >= alpha * S`` and ``C0 <= beta**2 / alpha * S`` with ``S = sum_{P !=
  Q} |H_P| |O_Q|``): a network whose hidden units all drive all outputs
  scores low;
* the one-part partition has ``C = C0 = 0``; it is given ``r = 0`` by
  definition, as is any partition with ``C0 = 0`` (its parts exchange
  nothing, even by chance), so it can never win by having no boundary.

:func:`partition_score` gives ``r`` for any partition.

Score of a network
------------------
``score = max(0, max over partitions of r)``: 1 when the network falls
apart into parts that never influence each other, 0 when no partition does
better than the null (the result is then one part). Ties: scores within
``SCORE_TOLERANCE`` of 0 are 0 (one part). Nodes with no influence in or
out (*inert*, e.g. an output that reads only inputs and that no node
changes) cannot change ``r``; each is a part of its own.

Search (``method``)
-------------------
When the influence graph (without inert nodes) falls into several weakly
connected components, the components score 1 (no cross influence, and every
component sends and receives, so ``C0 > 0``), which is the maximum; both
methods return them, the finest partition that scores 1. Otherwise:

* ``"exact"``: ``r = 1 - C/C0`` is a ratio of two sums over parts, so it is
  maximised exactly by Dinkelbach's method: for a trial value ``lambda``,
  find the partition maximising ``sum_P (W_P - lambda E_P)`` (``W_P`` the
  influence within P, ``E_P`` its expected value) by dynamic programming
  over subsets (``3**n / 2`` steps); the optimum's ratio is the next
  ``lambda``, starting from 1 (the first step is plain influence-Q
  maximisation); stop when no partition beats ``lambda``. At most
  ``EXACT_MAX_NODES`` (16) non-inert nodes.
* ``"greedy"`` (numpy, O(n**3)): agglomeration from singletons, merging at
  each step the two parts whose merge gives the highest ``r`` and keeping
  the best partition of >= 2 parts seen; then single-node moves (to another
  part or a new one) while one raises ``r``. Deterministic; never above the exact score,
  and equal to it for up to three nodes (every partition is visited) and
  for networks whose parts never interact (the components).
* ``"auto"``: exact for at most ``AUTO_EXACT_MAX_NODES`` (15) non-inert
  nodes, enough for Kashtan & Alon's 15-neuron retina networks and 14-gate
  circuits, greedy above.

``part_influence[P, Q]`` (reported for the partition found) intervenes on
all of part P at once (resampling P's nodes with one shared permutation)
and gives the mean influence on the nodes of part Q; the diagonal is 0 by
definition. It is the issue's literal "intervene on one part" reading and a
check on the node-level score: influence of a part is not the sum of its
nodes' influences (two nodes can mask or compound each other).

Why node-level interventions
----------------------------
Intervening on a whole part measures what crosses its boundary, but not
what flows inside it (the part's own values are imposed), so "cross
relative to within" needs finer interventions anyway; and a score built
from the single-node matrix makes every partition's score a cheap function
of one matrix, computed with one intervention per node, which is what makes
an exact search over all partitions possible.

Worked example
--------------
Inputs x0..x3 (16 patterns); gates ``g4 = NAND(x0, x1)``, ``g5 = NAND(g4,
g4)`` (= NOT g4), ``g6 = NAND(x2, x3)``, ``g7 = NAND(g6, g4)``; outputs g5
and g7. Flipping g4 always flips g5 (``I[4, 5] = 1``) and flips g7 whenever
g6 = 1, on 12 of 16 patterns (``I[4, 7] = 3/4``); flipping g6 flips g7
whenever g4 = 1 (``I[6, 7] = 3/4``); outputs influence nothing. ``T =
5/2``. For the parts {g4, g5}, {g6, g7}: within ``1 + 3/4 = 7/4``, cross
``C = 3/4``; part A sends ``7/4`` and receives 1, part B sends ``3/4`` and
receives ``3/2``, so the expected within-part influence is ``(7/4 * 1 + 3/4
* 3/2) / (5/2) = 23/20`` and ``C0 = 5/2 - 23/20 = 27/20``:
``r = 1 - (3/4) / (27/20) = 4/9``. Putting g7 with g4 instead ({g4, g5,
g7}, {g6}) leaves only 6 -> 7 across, but {g6} only sends, so ``r = 0``;
{g4, g5}, {g6}, {g7} gives ``1/6``. The best partition is {g4, g5}, {g6,
g7}: ``score = 4/9``; intervening on all of {g4, g5} flips g7 on 12 of 16
patterns and leaves g6 alone, so ``part_influence[0, 1] = 3/8``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy.sparse.csgraph import connected_components

from evomod.errors import ConfigError
from evomod.modularity._exact import _subset_dp_tables
from evomod.modularity._validate import (
    as_adjacency,
    as_labels,
    as_seed,
    canonical_labels,
    positive_int,
    rng_from,
)
from evomod.modularity.graph import network_graph
from evomod.network_format import parse_network
from evomod.tasks import all_patterns

MODES = ("flip", "clamp", "resample")
METHODS = ("auto", "exact", "greedy")
KINDS = ("circuit", "threshold", "layered")
# 4,096 patterns; evomod's networks have 4 to 8 inputs.
MAX_INPUTS = 12
# The exact search costs 3**n / 2 steps per Dinkelbach iteration (0.05 s at 15
# nodes, 0.3 s at 16): a whole call on a 15-neuron retina network takes about
# 0.03 s, so every default retina network and 14-gate circuit is searched exactly.
AUTO_EXACT_MAX_NODES = 15
EXACT_MAX_NODES = 16
SCORE_TOLERANCE = 1e-9
DEFAULT_LAM = 20.0
# Values held at once while simulating a batch of interventions (float64).
_CHUNK_VALUES = 2**21


# -- simulation -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NodeValues:
    """Every node's value on every input pattern.

    ``values[k, p]`` is node ``node_ids[k]`` (the file's order) on pattern
    ``p``, whose inputs are ``patterns[p]`` (row p holds the bits of p); a
    gate that reaches no output and sits on or below a feedback loop is NaN.
    """

    node_ids: np.ndarray
    values: np.ndarray
    patterns: np.ndarray


@dataclass(frozen=True, eq=False)
class _Compiled:
    kind: str
    ids: np.ndarray
    inputs: np.ndarray  # positions, input i first
    input_values: np.ndarray  # (n_inputs, P)
    order: tuple  # positions of the computed nodes, sources first
    sources: tuple
    weights: tuple
    offset: np.ndarray  # bias (layered) or threshold (threshold), per position
    lam: float
    sign: bool
    span: float

    @property
    def n_nodes(self) -> int:
        return len(self.ids)

    @property
    def n_patterns(self) -> int:
        return self.input_values.shape[1]


def _compile(network, lam: float = DEFAULT_LAM) -> _Compiled:
    lam = _check_lam(lam)
    net = parse_network(network)
    if net.kind not in KINDS:
        raise ConfigError(
            "network.kind", f"information-flow modularity cannot simulate {net.kind!r} networks", KINDS
        )
    if net.n_inputs > MAX_INPUTS:
        raise ConfigError(
            "network",
            f"has {net.n_inputs} inputs: {2**net.n_inputs} patterns are too many to simulate",
            f"at most {MAX_INPUTS} inputs",
        )
    patterns = all_patterns(net.n_inputs).T.astype(np.float64)
    n = net.n_nodes
    offset = np.zeros(n)
    if net.format == "gates":
        inputs = np.arange(net.n_inputs)  # the parser places network.inputs first, in order
        order, sources = _gate_order(network, net)
        weights = tuple(np.ones(len(s)) for s in sources)
        span, sign = 1.0, False
    else:
        layer0 = np.flatnonzero(net.layers == 0)
        inputs = layer0[np.argsort(net.ids[layer0], kind="stable")]
        field = "threshold" if net.kind == "threshold" else "bias"
        for k, node in enumerate(net.nodes):
            if net.layers[k] == 0:
                continue
            value = node.get(field)
            if not _finite_number(value):
                raise ConfigError(
                    f"network.nodes[{k}].{field}",
                    f"node {int(net.ids[k])} needs a finite number, got {value!r}",
                    "finite numbers",
                )
            offset[k] = float(value)
        a = net.adjacency()
        order = tuple(int(k) for k in np.argsort(net.layers, kind="stable") if net.layers[k] > 0)
        sources = tuple(np.flatnonzero(a[:, k]) for k in order)
        weights = tuple(a[s, k] for s, k in zip(sources, order))
        if net.kind == "layered":
            patterns = 2.0 * patterns - 1.0
            span, sign = 2.0, math.tanh(lam) == 1.0
        else:
            span, sign = 1.0, False
    return _Compiled(
        kind=net.kind,
        ids=net.ids,
        inputs=inputs,
        input_values=patterns,
        order=order,
        sources=sources,
        weights=weights,
        offset=offset,
        lam=lam,
        sign=sign,
        span=span,
    )


def _gate_order(network, net) -> tuple[tuple, tuple]:
    """Gates in an order where each follows its sources (Kahn), and their sources."""
    n = net.n_nodes
    reads = {dst: np.array(sorted(set(src)), dtype=np.int64) for dst, src, _ in net.gates}
    readers = [[] for _ in range(n)]
    waiting = np.zeros(n, dtype=np.int64)
    for dst, src in reads.items():
        for s in src:
            if s in reads:
                readers[s].append(dst)
                waiting[dst] += 1
    ready = [g for g in sorted(reads) if waiting[g] == 0]
    order = []
    while ready:
        g = ready.pop(0)
        order.append(g)
        for d in readers[g]:
            waiting[d] -= 1
            if waiting[d] == 0:
                ready.append(d)
    if len(order) < len(reads):
        left = set(reads) - set(order)
        kept = set(int(i) for i in network_graph(network, directed=True, prune=True).node_ids)
        stuck = [g for g in sorted(left) if int(net.ids[g]) in kept]
        if stuck:
            # Every gate left over reads a left-over gate, so walking up
            # from one always closes a loop.
            walk, seen, g = [], {}, stuck[0]
            while g not in seen:
                seen[g] = len(walk)
                walk.append(g)
                g = next(int(s) for s in reads[g] if int(s) in left)
            loop = [int(net.ids[x]) for x in reversed(walk[seen[g] :])]
            text = " -> ".join(str(x) for x in loop + [loop[0]])
            raise ConfigError(
                "network.gates",
                f"has a feedback loop through gates that reach an output ({text}); "
                "information-flow modularity needs a feed-forward circuit",
                "circuits whose gates that reach an output form no loop",
            )
    return tuple(order), tuple(reads[g] for g in order)


def _finite_number(value) -> bool:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _check_lam(lam) -> float:
    if not _finite_number(lam) or lam <= 0:
        raise ConfigError("lam", f"must be a finite number > 0, got {lam!r}", "the run's model.lam, e.g. 20")
    return float(lam)


def _simulate(c: _Compiled, batch: int, overrides: Mapping) -> np.ndarray:
    """Values (batch, n_nodes, P); ``overrides[pos] = (rows, values)`` replaces
    node ``pos`` in batch rows ``rows`` by ``values`` (len(rows), P)."""
    v = np.full((batch, c.n_nodes, c.n_patterns), np.nan)
    v[:, c.inputs, :] = c.input_values
    for pos in c.inputs:
        if pos in overrides:
            rows, values = overrides[pos]
            v[rows, pos, :] = values
    for pos, src, w in zip(c.order, c.sources, c.weights):
        x = v[:, src, :]
        if c.kind == "circuit":
            out = 1.0 - np.prod(x, axis=1)
        else:
            total = np.einsum("s,bsp->bp", w, x)
            if c.kind == "threshold":
                out = (total >= c.offset[pos]).astype(np.float64)
            elif c.sign:
                out = np.sign(total + c.offset[pos])
            else:
                out = np.tanh(c.lam * (total + c.offset[pos]))
        v[:, pos, :] = out
        if pos in overrides:
            rows, values = overrides[pos]
            v[rows, pos, :] = values
    return v


def node_values(
    network: Mapping, interventions: Mapping | None = None, lam: float = DEFAULT_LAM
) -> NodeValues:
    """Every node's value on every input pattern (module docstring, *Simulation*).

    ``interventions`` maps node ids to replacement values: a number, or one
    value per pattern; the node takes them whatever its sources say, and the
    nodes downstream are recomputed from them. ``lam`` is used by
    ``"layered"`` networks only.
    """
    c = _compile(network, lam)
    overrides = {}
    index = {int(nid): k for k, nid in enumerate(c.ids)}
    for nid, value in (interventions or {}).items():
        field = f"interventions[{nid!r}]"
        if isinstance(nid, bool) or not isinstance(nid, (int, np.integer)) or int(nid) not in index:
            raise ConfigError("interventions", f"unknown node id {nid!r}", "ids of the network's nodes")
        try:
            arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (c.n_patterns,))
        except (TypeError, ValueError):
            raise ConfigError(
                field, "must be a number or one number per pattern", f"{c.n_patterns} values"
            ) from None
        if not np.all(np.isfinite(arr)):
            raise ConfigError(field, "contains NaN or infinite values", "finite numbers")
        overrides[index[int(nid)]] = (np.array([0]), arr[None, :])
    values = _simulate(c, 1, overrides)[0]
    node_ids = c.ids.copy()
    for arr in (node_ids, values):
        arr.setflags(write=False)
    return NodeValues(node_ids=node_ids, values=values, patterns=all_patterns(len(c.inputs)))


# -- interventions and influence ----------------------------------------------------


def _replacements(c: _Compiled, base: np.ndarray, mode: str, perm: np.ndarray | None) -> np.ndarray:
    """Intervened values of the rows ``base`` (k, P); ``perm`` for ``"resample"``."""
    if mode == "flip":
        return -base if c.kind == "layered" else 1.0 - base
    if mode == "clamp":
        median = np.sort(base, axis=1)[:, (base.shape[1] - 1) // 2]
        return np.repeat(median[:, None], base.shape[1], axis=1)
    return base[:, perm]


def _intervention_effects(c, base, groups, mode, rng, n_draws) -> np.ndarray:
    """(len(groups), n_nodes): mean |change| / span of every node, averaged over
    ``n_draws`` draws, when all nodes of one group are intervened on together."""
    n_groups = len(groups)
    per_run = c.n_nodes * c.n_patterns
    chunk = max(1, _CHUNK_VALUES // per_run)
    # Every draw is taken up front, in one fixed order, so that the chunking
    # cannot change which permutation a group gets.
    jobs = []
    for _ in range(n_draws):
        for g, group in enumerate(groups):
            perm = rng.permutation(c.n_patterns) if mode == "resample" else None
            jobs.append((g, group, _replacements(c, base[group], mode, perm)))
    effect = np.zeros((n_groups, c.n_nodes))
    for start in range(0, len(jobs), chunk):
        part = jobs[start : start + chunk]
        overrides: dict = {}
        for row, (_, group, values) in enumerate(part):
            for pos, vals in zip(group, values):
                rows, stack = overrides.setdefault(int(pos), ([], []))
                rows.append(row)
                stack.append(vals)
        overrides = {pos: (np.array(r), np.array(s)) for pos, (r, s) in overrides.items()}
        v = _simulate(c, len(part), overrides)
        change = np.abs(v - base[None]).mean(axis=2) / c.span
        for row, (g, _, _) in enumerate(part):
            effect[g] += change[row]
    return effect / n_draws


# -- the score of a partition -------------------------------------------------------


def _ratio(within: float, expected: float, total: float) -> float:
    """r = (W - E) / (T - E) from the totals; -inf when T - E is not positive."""
    denominator = total - expected
    if denominator <= SCORE_TOLERANCE * total:
        return -np.inf
    return (within - expected) / denominator


def _totals(influence: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    total = float(influence.sum())
    k = int(labels.max()) + 1 if len(labels) else 0
    member = np.zeros((len(labels), k))
    member[np.arange(len(labels)), labels] = 1.0
    between = member.T @ influence @ member
    sends, receives = between.sum(axis=1), between.sum(axis=0)
    expected = float(sends @ receives) / total if total > 0 else 0.0
    return float(np.trace(between)), expected, total


def partition_score(influence, labels) -> float:
    """``r`` of one partition of the influence graph (module docstring, *Score of a
    partition*): 0.0 for one part, or whenever no cross-part influence is expected.
    The diagonal (self-influence) is ignored."""
    a = as_adjacency(influence, "influence", nonnegative=True)
    a = a - np.diag(np.diag(a))
    labels = as_labels(labels, a.shape[0])
    if a.sum() <= 0:
        return 0.0
    r = _ratio(*_totals(a, labels))
    return 0.0 if r == -np.inf else float(r)


# -- the search -----------------------------------------------------------------------


def _exact(influence: np.ndarray) -> np.ndarray:
    """Labels of the partition with the highest r (Dinkelbach over subset DP);
    all zeros (one part) when none has r > 0."""
    n = influence.shape[0]
    total = float(influence.sum())
    member = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float64)
    within = ((member @ influence) * member).sum(axis=1)
    expected = (member @ influence.sum(axis=1)) * (member @ influence.sum(axis=0)) / total
    tol = SCORE_TOLERANCE * total
    lam, best = 1.0, np.zeros(n, dtype=np.int64)
    for _ in range(200):  # each step lowers lam to another partition's ratio; a handful suffice
        # The best partition by a sum over parts: the same subset DP as exact Q.
        sums, choice = _subset_dp_tables(within - lam * expected, n)
        value = sums[2**n - 1]
        if value <= (1.0 - lam) * total + tol:
            break
        labels = np.zeros(n, dtype=np.int64)
        s, k = 2**n - 1, 0
        while s:
            part = choice[s]
            labels[((part >> np.arange(n)) & 1).astype(bool)] = k
            s ^= part
            k += 1
        w, e, t = _totals(influence, labels)
        ratio = (t - w) / (t - e)
        if ratio >= lam:
            break
        lam, best = ratio, labels
        if lam <= 0.0:
            break
    return best


def _ratios(within, expected, total, tol):
    """r for arrays of candidate totals; -inf where no cross influence is expected."""
    denominator = total - expected
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (within - expected) / denominator
    return np.where(denominator > tol, r, -np.inf)


def _greedy_labels(influence: np.ndarray, tol: float) -> np.ndarray:
    """Agglomeration on r, then best single-node moves (module docstring).

    Vectorised over the candidates of each step (numpy, no compilation): a
    merge or a move changes the within-part total and the expected total by
    terms of the parts and nodes involved only.
    """
    n = influence.shape[0]
    total = float(influence.sum())
    sends, receives = influence.sum(axis=1), influence.sum(axis=0)
    if n < 2:
        return np.zeros(n, dtype=np.int64)

    between = influence.copy()  # part x part influence
    a, b = sends.copy(), receives.copy()
    label = np.arange(n)
    within, expected = 0.0, float(a @ b) / total
    best_r = float(_ratios(within, expected, total, tol))
    best = label.copy()
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    while len(a) > 2:
        k = len(a)
        w2 = within + between + between.T
        e2 = expected + (np.outer(a, b) + np.outer(b, a)) / total
        r2 = np.where(upper[:k, :k], _ratios(w2, e2, total, tol), -np.inf)
        p, q = np.unravel_index(int(np.argmax(r2)), r2.shape)  # first maximum: lowest p, then q
        top = r2[p, q]
        within, expected = float(w2[p, q]), float(e2[p, q])
        between[p] += between[q]
        between[:, p] += between[:, q]
        between = np.delete(np.delete(between, q, axis=0), q, axis=1)
        a[p] += a[q]
        b[p] += b[q]
        a, b = np.delete(a, q), np.delete(b, q)
        label[label == q] = p
        label[label > q] -= 1
        if top > best_r + tol:
            best_r, best = float(top), label.copy()
    if best_r == -np.inf:
        return np.zeros(n, dtype=np.int64)

    # Single-node moves. Parts live in n slots (some empty); the first empty
    # slot stands for "a new part".
    label = canonical_labels(best)
    member = np.zeros((n, n))
    member[np.arange(n), label] = 1.0
    size = member.sum(axis=0)
    a, b = sends @ member, receives @ member
    link = influence @ member + influence.T @ member  # link[i, P]: influence between i and P, both ways
    within = float(np.trace(member.T @ influence @ member))
    expected = float(a @ b) / total
    r = best_r
    nodes = np.arange(n)
    for _ in range(50 * n * n):
        own = label
        a_own, b_own = a[own][:, None], b[own][:, None]
        w2 = within - link[nodes, own][:, None] + link
        e2 = (
            expected
            + (
                -a_own * receives[:, None]
                - sends[:, None] * b_own
                + a[None, :] * receives[:, None]
                + sends[:, None] * b[None, :]
                + 2.0 * (sends * receives)[:, None]
            )
            / total
        )
        r2 = _ratios(w2, e2, total, tol)
        alone = size[own] == 1
        empty = np.flatnonzero(size == 0)
        allowed = np.repeat(size[None, :] > 0, n, axis=0)
        if len(empty):
            allowed[:, empty[0]] = ~alone  # a node alone gains nothing by moving to a new part
        allowed[nodes, own] = False  # (a move leaving one part scores -inf: no cross influence expected)
        r2 = np.where(allowed, r2, -np.inf)
        i, q = np.unravel_index(int(np.argmax(r2)), r2.shape)
        if not r2[i, q] > r + tol:
            break
        p = label[i]
        within, expected, r = float(w2[i, q]), float(e2[i, q]), float(r2[i, q])
        size[p] -= 1
        size[q] += 1
        a[p] -= sends[i]
        b[p] -= receives[i]
        a[q] += sends[i]
        b[q] += receives[i]
        column = influence[:, i] + influence[i, :]
        link[:, p] -= column
        link[:, q] += column
        label[i] = q
    return label


def _best_labels(influence: np.ndarray, method: str) -> np.ndarray:
    """Labels over ``influence``'s nodes (none inert) of the best partition found."""
    n_comp, comp = connected_components(influence + influence.T > 0, directed=False)
    if n_comp > 1:
        return canonical_labels(comp)
    if method == "exact":
        return canonical_labels(_exact(influence))
    labels = _greedy_labels(influence, SCORE_TOLERANCE * float(influence.sum()))
    return canonical_labels(labels)


# -- the measure ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class InfoFlowResult:
    """Information-flow modularity of one network (module docstring).

    * ``score`` in [0, 1]; ``method`` the search used (``"exact"`` or
      ``"greedy"``), ``mode`` the intervention;
    * ``node_ids``: every node id in the file's order; ``labels[k]`` the part
      of ``node_ids[k]``, -1 for inputs and for nodes that are not measured
      (no path to an output, or no edge); parts are numbered 0..n_parts-1 by
      first appearance;
    * ``nodes``: the measured node ids (file order), the rows and columns of
      ``influence`` (``influence[i, j]``: effect of intervening on
      ``nodes[i]`` on ``nodes[j]``);
    * ``part_influence[P, Q]``: effect on part Q of intervening on all of part
      P at once (diagonal 0).
    """

    score: float
    labels: np.ndarray
    node_ids: np.ndarray
    nodes: np.ndarray
    influence: np.ndarray
    part_influence: np.ndarray
    n_parts: int
    method: str
    mode: str

    def modules(self) -> list[list[int]]:
        """Node ids of each part, in part order."""
        return [[int(i) for i in self.node_ids[self.labels == p]] for p in range(self.n_parts)]

    def as_dict(self) -> dict:
        """The result as JSON-ready values (node ids as they are in the network)."""
        return {
            "score": self.score,
            "method": self.method,
            "mode": self.mode,
            "n_parts": self.n_parts,
            "labels": {int(i): int(p) for i, p in zip(self.node_ids, self.labels) if p >= 0},
            "modules": self.modules(),
            "nodes": [int(i) for i in self.nodes],
            "influence": self.influence.tolist(),
            "part_influence": self.part_influence.tolist(),
        }


def information_flow_modularity(
    network: Mapping,
    mode: str = "flip",
    method: str = "auto",
    seed=0,
    lam: float = DEFAULT_LAM,
    n_resamples: int = 8,
) -> InfoFlowResult:
    """Information-flow modularity of an evomod network dict (module docstring).

    Parameters
    ----------
    mode : ``"flip"``, ``"clamp"`` or ``"resample"``: how a node is intervened on.
    method : ``"auto"``, ``"exact"`` or ``"greedy"``: how partitions are searched.
    seed : for ``"resample"`` only (``numpy.random.default_rng(seed)``); flip
        and clamp are deterministic.
    lam : the tanh gain of ``"layered"`` networks (their run's ``model.lam``).
    n_resamples : permutations averaged per node with ``"resample"``.

    Bad arguments and malformed networks raise
    :class:`~evomod.errors.ConfigError` naming the field.
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ConfigError("mode", f"unknown intervention {mode!r}", MODES)
    if not isinstance(method, str) or method not in METHODS:
        raise ConfigError("method", f"unknown search {method!r}", METHODS)
    as_seed(seed)
    n_resamples = positive_int(n_resamples, "n_resamples")
    c = _compile(network, lam)
    kept = set(int(i) for i in network_graph(network, directed=True, prune=True).node_ids)
    is_input = np.zeros(c.n_nodes, dtype=bool)
    is_input[c.inputs] = True
    measured = np.array(
        [k for k in range(c.n_nodes) if not is_input[k] and int(c.ids[k]) in kept], dtype=np.int64
    )
    m = len(measured)

    rng = rng_from(seed)
    draws = n_resamples if mode == "resample" else 1
    base = _simulate(c, 1, {})[0]
    influence = np.zeros((m, m))
    if m:
        effect = _intervention_effects(c, base, [np.array([k]) for k in measured], mode, rng, draws)
        influence = effect[:, measured]
        np.fill_diagonal(influence, 0.0)

    active = np.flatnonzero((influence.sum(axis=0) + influence.sum(axis=1)) > 0)
    if method == "auto":
        method = "exact" if len(active) <= AUTO_EXACT_MAX_NODES else "greedy"
    if method == "exact" and len(active) > EXACT_MAX_NODES:
        raise ConfigError(
            "method",
            f"exact is limited to {EXACT_MAX_NODES} nodes that influence or are influenced; "
            f"this network has {len(active)}",
            ["auto", "greedy"],
        )
    sub_labels = np.zeros(len(active), dtype=np.int64)
    score = 0.0
    if len(active):
        sub = influence[np.ix_(active, active)]
        sub_labels = _best_labels(sub, method)
        score = partition_score(sub, sub_labels)
        if score <= SCORE_TOLERANCE:
            score, sub_labels = 0.0, np.zeros(len(active), dtype=np.int64)
    # Inert nodes: a part each, after the active nodes' parts.
    part = np.full(m, -1, dtype=np.int64)
    part[active] = sub_labels
    inert = np.flatnonzero(part < 0)
    part[inert] = (sub_labels.max() + 1 if len(active) else 0) + np.arange(len(inert))
    part = canonical_labels(part)
    labels = np.full(c.n_nodes, -1, dtype=np.int64)
    labels[measured] = part
    n_parts = int(part.max()) + 1 if m else 0

    part_influence = np.zeros((n_parts, n_parts))
    if n_parts > 1:
        groups = [measured[part == p] for p in range(n_parts)]
        effect = _intervention_effects(c, base, groups, mode, rng, draws)
        for q in range(n_parts):
            part_influence[:, q] = effect[:, groups[q]].mean(axis=1)
        np.fill_diagonal(part_influence, 0.0)
    node_ids, nodes = c.ids.copy(), c.ids[measured]
    for arr in (labels, node_ids, nodes, influence, part_influence):
        arr.setflags(write=False)
    return InfoFlowResult(
        score=float(score),
        labels=labels,
        node_ids=node_ids,
        nodes=nodes,
        influence=influence,
        part_influence=part_influence,
        n_parts=n_parts,
        method=method,
        mode=mode,
    )
