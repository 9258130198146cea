"""Per-generation modularity of a run's best network (the loop's ``measure``).

Logged columns: ``q`` (Q maximised with the config's ``modularity_method``;
directed Leicht-Newman for layered networks as Clune et al., undirected for
Kashtan & Alon's models, set by ``modularity_directed``), ``modules`` (the
number of modules of that partition) and ``ncut`` (the normalised cut of that
same partition on the undirected |w| graph; the Filan spectral test with its
shuffles is too slow to run every generation and is left to ``evomod score``).
The loop caches results per genome, so an unchanged best costs nothing.

For the ``"spectral"`` and ``"clune"`` methods everything after parsing runs
in one compiled call (:func:`_measure_kernel`): at 15-25 nodes the numpy
version spent most of its time in the fixed cost of small array operations.
That call reproduces the numpy path (:func:`_measure_numpy`, which runs for
the other methods and inside :func:`~evomod.modularity._spectral.reference_implementation`)
bit for bit: the same pruning, the same floating-point sums in the same order
for the modularity matrix, Q and the n-cut, and the spectral kernels of
:mod:`evomod.modularity._spectral`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evomod.modularity._spectral import (
    EPS,
    _canonical,
    _pairwise_sum,
    _row_sum,
    partition_compiled,
    use_compiled,
)
from evomod.modularity.cut import ncut
from evomod.modularity.graph import network_graph
from evomod.modularity.maximize import CLUNE_MIN_GAIN, maximize_q
from evomod.network_format import parse_network

COLUMNS = ("q", "modules", "ncut")
EMPTY = {"q": 0.0, "modules": 0, "ncut": float("nan")}


def measure_network(network: dict, directed: bool, method: str) -> dict:
    if method in ("spectral", "clune") and use_compiled():
        found = measure_compiled(network, directed, method)
        if found is None:
            return dict(EMPTY)
        q, _, modules, cut = found
        return {"q": q, "modules": modules, "ncut": cut}
    return _measure_numpy(network, directed, method)


def _measure_numpy(network: dict, directed: bool, method: str) -> dict:
    # One parse: the pruned directed |w| graph gives both views below.
    weighted = network_graph(network, directed=True, weighted=True, prune=True).adjacency
    if not weighted.any():
        return dict(EMPTY)
    plain = (weighted != 0).astype(float)
    best = maximize_q(plain if directed else plain + plain.T, directed=directed, method=method, seed=0)
    cut = ncut(weighted + weighted.T, best.labels) if best.n_modules > 1 else 0.0
    return {"q": float(best.q), "modules": int(best.n_modules), "ncut": float(cut)}


def measure_compiled(network: dict, directed: bool, method: str):
    """``(q, labels, n_modules, ncut)`` of ``network`` as :func:`_measure_numpy`
    finds them (labels over the pruned graph's nodes), or None when pruning
    leaves no edge. ``method`` is ``"spectral"`` or ``"clune"``; needs
    :func:`~evomod.modularity._spectral.use_compiled`."""
    parsed = parse_network(network)  # the same checks as network_graph
    return measure_arrays(parsed.adjacency(), parsed.outputs, directed, method)


def measure_arrays(raw: np.ndarray, outputs: np.ndarray, directed: bool, method: str):
    """:func:`measure_compiled` from a network's summed weights ``raw[i, j]``
    (nodes in the network format's order) and its output mask, as
    ``parse_network`` gives them: for the loop, which has them from the
    genome without writing and parsing the JSON."""
    spectral = method == "spectral"
    labels, n_modules, parts, total, cut = _measure_kernel(
        np.ascontiguousarray(raw, dtype=np.float64),
        np.ascontiguousarray(outputs, dtype=np.bool_),
        bool(directed),
        spectral,
        EPS if spectral else CLUNE_MIN_GAIN,
    )
    if n_modules == 0:
        return None
    # q.q's last line, in numpy itself: total ** 2 is numpy's power, which
    # the compiled code could not promise to round the same way.
    total = np.float64(total)
    q = float(np.sum(parts[0] / total - parts[1] * parts[2] / total**2)) if total > 0 else 0.0
    return q, labels, int(n_modules), float(cut)


@njit(cache=True)
def _measure_kernel(raw, outputs, directed, spectral, min_gain):
    """From a parsed network's summed weights ``raw`` to the labels, the
    number of modules, Q's per-module sums (inside, out-, in-strength) and
    total weight, and the n-cut; 0 modules when no edge survives pruning.

    Each step is the numpy path's: network_graph's pruning, maximize_q's
    live nodes and modularity matrix, q.q's sums, cut._ncut."""
    present = raw != 0
    kept = _pruned(present, outputs)
    n = kept.size
    weighted = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            weighted[i, j] = abs(raw[kept[i], kept[j]])
    if n == 0 or not (weighted != 0).any():
        return np.zeros(0, dtype=np.int64), 0, np.zeros((3, 0)), 0.0, np.nan
    plain = (weighted != 0).astype(np.float64)
    a = plain if directed else plain + plain.T

    linked = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        for j in range(n):
            if a[i, j] != 0:
                linked[i] = linked[j] = True
    live = np.flatnonzero(linked)
    labels = np.arange(n)
    if live.size > 0:
        sub = np.empty((live.size, live.size))
        for i in range(live.size):
            for j in range(live.size):
                sub[i, j] = a[live[i], live[j]]
        b, norm = _modularity_matrix(sub, directed)
        sub_labels = partition_compiled(b, norm, spectral, min_gain)
        for i in range(live.size):
            labels[live[i]] = n + sub_labels[i]
    labels = _canonical(labels)
    k = labels.max() + 1

    # q.q: inside sums in C order, strengths from row (pairwise) and column
    # (row-by-row) sums, each accumulated by node as np.bincount does.
    a2 = a if directed else a + a.T
    total = 0.0 + _pairwise_sum(a2.ravel(), 0, n * n)
    parts = np.zeros((3, k))
    for i in range(n):
        for j in range(n):
            if labels[i] == labels[j]:
                parts[0, labels[i]] += a2[i, j]
    columns = np.zeros(n)
    for i in range(n):
        for j in range(n):
            columns[j] += a2[i, j]
    for i in range(n):
        parts[1, labels[i]] += _row_sum(a2, i)
        parts[2, labels[i]] += columns[i]

    cut = 0.0
    if k > 1:
        # ncut(weighted + weighted.T): |.| then symmetrised once more.
        w = np.abs(weighted + weighted.T)
        cut = _ncut(w + w.T, labels, k)
    return labels, k, parts, total, cut


@njit(cache=True)
def _pruned(present, outputs):
    """network_graph(prune=True)'s kept nodes: those with a path to an
    output, less the ones that then have no edge at all."""
    n = present.shape[0]
    reach = outputs.copy()
    grown = True
    while grown:
        grown = False
        for i in range(n):
            if not reach[i]:
                for j in range(n):
                    if reach[j] and present[i, j]:
                        reach[i] = True
                        grown = True
                        break
    keep = reach.copy()
    for i in range(n):
        if reach[i]:
            linked = False
            for j in range(n):
                if reach[j] and (present[i, j] or present[j, i]):
                    linked = True
                    break
            keep[i] = linked
    return np.flatnonzero(keep)


@njit(cache=True)
def _modularity_matrix(a, directed):
    """q.modularity_matrix, elementwise as numpy evaluates it."""
    n = a.shape[0]
    b = np.empty((n, n))
    if directed:
        m = 0.0 + _pairwise_sum(a.ravel(), 0, n * n)
        if m <= 0:
            return np.zeros((n, n)), 0.0
        k_out = np.empty(n)
        k_in = np.zeros(n)
        for i in range(n):
            k_out[i] = _row_sum(a, i)
            for j in range(n):
                k_in[j] += a[i, j]
        for i in range(n):
            for j in range(n):
                b[i, j] = a[i, j] - k_out[i] * k_in[j] / m
        sym = np.empty((n, n))
        for i in range(n):
            for j in range(n):
                sym[i, j] = (b[i, j] + b[j, i]) / 2.0
        return sym, m
    w = a + a.T
    two_m = 0.0 + _pairwise_sum(w.ravel(), 0, n * n)
    if two_m <= 0:
        return np.zeros((n, n)), 0.0
    k = np.empty(n)
    for i in range(n):
        k[i] = _row_sum(w, i)
    for i in range(n):
        for j in range(n):
            b[i, j] = w[i, j] - k[i] * k[j] / two_m
    return b, two_m


@njit(cache=True)
def _ncut(w, labels, k):
    """cut._ncut on the symmetric w."""
    n = w.shape[0]
    inside = np.zeros(k)
    for i in range(n):
        for j in range(n):
            if labels[i] == labels[j]:
                inside[labels[i]] += w[i, j]
    vol = np.zeros(k)
    for i in range(n):
        vol[labels[i]] += _row_sum(w, i)
    terms = np.zeros(k)
    for c in range(k):
        if vol[c] > 0:
            terms[c] = (vol[c] - inside[c]) / vol[c]
    return 0.0 + _pairwise_sum(terms, 0, k)


class LogMeasure:
    """The loop's ``measure``: called with a network JSON, or through
    :meth:`of_genome` with a one-row population and its model, which skips
    writing and parsing the JSON (the same numbers: the model's
    ``graph_arrays`` are what ``parse_network`` reads from its JSON)."""

    def __init__(self, directed: bool, method: str):
        self.directed, self.method = directed, method

    def __call__(self, network: dict) -> dict:
        return measure_network(network, self.directed, self.method)

    def of_genome(self, model, genome) -> dict:
        if self.method not in ("spectral", "clune") or not use_compiled():
            return self(model.to_json(genome, 0))
        found = measure_arrays(*model.graph_arrays(genome), self.directed, self.method)
        if found is None:
            return dict(EMPTY)
        q, _, modules, cut = found
        return {"q": q, "modules": modules, "ncut": cut}


def log_measure(config) -> LogMeasure:
    return LogMeasure(config.modularity_directed, config.modularity_method)
