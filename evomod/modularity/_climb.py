"""The highest Q among graphs with a given degree sequence, by annealing over swaps.

Kashtan & Alon define Q_max as the maximal Q of a network with the real
network's degree sequence. This module searches that space directly:
simulated annealing over pairs (graph, partition), where a move is either a
degree-preserving edge swap (the moves of :mod:`evomod.modularity._swap`: a
directed swap a->b, c->d -> a->d, c->b keeps in- and out-degrees; an
undirected one keeps degrees; only edges of equal weight swap, so weighted
degrees stay put) or a move of one node to another module. Both
change Q by an amount computed exactly in O(nodes), because the null-model
term of Q depends only on module degree totals, which swaps never change:

* undirected (``W = A + A.T``, E edges): ``Q = intra / E - sum_s (K_s / 2E)^2``
  with ``K_s`` the total degree of module s;
* directed (Leicht & Newman): ``Q = intra / E - sum_s out_s * in_s / E^2``;

``intra`` being the weight of edges inside modules (self-loops, which never
move, always count). Each restart starts from an independent random
rewiring (the first from the real graph) with every node in its own module;
the best state visited is kept and finally re-partitioned with
``maximize_q`` (the better of the two partitions counts; the first restart
also counts the real graph's own Q). The result is a
lower bound on the true constrained maximum (a heuristic search), used as a
check on the evolved Q_max.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from evomod.modularity._swap import randomize


@numba.njit(cache=True)
def _anneal(
    u,
    v,
    w,
    undirected_swaps,
    directed_q,
    loops,
    n_nodes,
    picks,
    kinds,
    nodes,
    targets,
    flips,
    uniforms,
    temps,
):
    """Joint annealing of edges (u -> v, weight w; changed in place) and labels.

    ``loops[i]``: self-loop weight of node i (fixed). Returns the best Q seen
    (by the formulas of the module docstring), its labels, u and v.
    """
    n_edges = u.shape[0]
    total = 0.0
    for e in range(n_edges):
        total += w[e]
    for i in range(n_nodes):
        total += loops[i]
    out_deg = np.zeros(n_nodes)
    in_deg = np.zeros(n_nodes)
    exists = np.zeros((n_nodes, n_nodes), dtype=np.bool_)
    sym = np.zeros((n_nodes, n_nodes))
    for e in range(n_edges):
        out_deg[u[e]] += w[e]
        in_deg[v[e]] += w[e]
        exists[u[e], v[e]] = True
        if undirected_swaps:
            exists[v[e], u[e]] = True
        sym[u[e], v[e]] += w[e]
        sym[v[e], u[e]] += w[e]
    for i in range(n_nodes):
        out_deg[i] += loops[i]
        in_deg[i] += loops[i]
    labels = np.arange(n_nodes)
    mod_out = out_deg.copy()
    mod_in = in_deg.copy()
    intra = 0.0
    for i in range(n_nodes):
        intra += loops[i]

    def null_term():
        s = 0.0
        for m in range(n_nodes):
            if directed_q:
                s += mod_out[m] * mod_in[m]
            else:
                s += (mod_out[m] + mod_in[m]) ** 2 / 4.0
        return s / (total * total)

    q_now = intra / total - null_term()
    best_q = q_now
    best_labels = labels.copy()
    best_u = u.copy()
    best_v = v.copy()
    for t in range(kinds.shape[0]):
        if kinds[t] == 0:
            e1 = picks[t, 0]
            e2 = picks[t, 1]
            a = u[e1]
            b = v[e1]
            c = u[e2]
            d = v[e2]
            if undirected_swaps and flips[t]:
                c, d = d, c
            if a == c or b == d or a == d or c == b:
                continue
            w1 = w[e1]
            w2 = w[e2]
            # Unequal weights would move weighted degree, which Q's null term reads.
            if w1 != w2 or exists[a, d] or exists[c, b]:
                continue
            gain = w1 * (int(labels[a] == labels[d]) - int(labels[a] == labels[b])) + w2 * (
                int(labels[c] == labels[b]) - int(labels[c] == labels[d])
            )
            delta = gain / total
            if delta < 0.0:
                temp = temps[t]
                if temp <= 0.0 or uniforms[t] >= math.exp(delta / temp):
                    continue
            exists[a, b] = False
            exists[c, d] = False
            exists[a, d] = True
            exists[c, b] = True
            if undirected_swaps:
                exists[b, a] = False
                exists[d, c] = False
                exists[d, a] = True
                exists[b, c] = True
            sym[a, b] -= w1
            sym[b, a] -= w1
            sym[c, d] -= w2
            sym[d, c] -= w2
            sym[a, d] += w1
            sym[d, a] += w1
            sym[c, b] += w2
            sym[b, c] += w2
            u[e1] = a
            v[e1] = d
            u[e2] = c
            v[e2] = b
            intra += gain
            q_now += delta
        else:
            i = nodes[t]
            r = labels[i]
            # Mostly join the module of another node; sometimes try any label
            # (often an empty one: a new module).
            s = labels[targets[t]] if flips[t] else targets[t]
            if s == r:
                continue
            to_s = 0.0
            to_r = 0.0
            for j in range(n_nodes):
                if j == i:
                    continue
                if labels[j] == s:
                    to_s += sym[i, j]
                elif labels[j] == r:
                    to_r += sym[i, j]
            gain = to_s - to_r
            o = out_deg[i]
            n_in = in_deg[i]
            if directed_q:
                d_null = o * (mod_in[s] - mod_in[r]) + n_in * (mod_out[s] - mod_out[r]) + 2.0 * o * n_in
            else:
                k = o + n_in
                kr = mod_out[r] + mod_in[r]
                ks = mod_out[s] + mod_in[s]
                d_null = 2.0 * k * (ks - kr + k) / 4.0
            delta = gain / total - d_null / (total * total)
            if delta < 0.0:
                temp = temps[t]
                if temp <= 0.0 or uniforms[t] >= math.exp(delta / temp):
                    continue
            labels[i] = s
            mod_out[r] -= o
            mod_in[r] -= n_in
            mod_out[s] += o
            mod_in[s] += n_in
            intra += gain
            q_now += delta
        if q_now > best_q + 1e-12:
            best_q = q_now
            best_labels[:] = labels
            best_u[:] = u
            best_v[:] = v
    return best_q, best_labels, best_u, best_v


def _search(
    a: np.ndarray,
    directed: bool,
    undirected_swaps: bool,
    rng: np.random.Generator,
    steps: int,
    start_temperature: float,
):
    """One annealing run from graph ``a``: (graph, labels) of the best state."""
    n = a.shape[0]
    loops = np.diag(a).astype(float).copy()
    off = a - np.diag(loops)
    if undirected_swaps:
        off = np.triu(off + off.T)
    u, v = np.nonzero(off)
    w = off[u, v].astype(float)
    n_edges = len(u)
    if n_edges == 0 or n == 0:
        return a.copy(), np.arange(n)
    kinds = (rng.random(steps) < 0.5).astype(np.int64) if n_edges >= 2 else np.ones(steps, np.int64)
    picks = rng.integers(0, n_edges, size=(steps, 2))
    nodes = rng.integers(0, n, size=steps)
    targets = rng.integers(0, n, size=steps)
    flips = rng.random(steps) < 0.5
    uniforms = rng.random(steps)
    temps = start_temperature * np.geomspace(1.0, 1e-3, steps)
    temps[int(0.9 * steps) :] = 0.0  # a greedy finish
    _, labels, u, v = _anneal(
        u.astype(np.int64),
        v.astype(np.int64),
        w,
        undirected_swaps,
        directed,
        loops,
        n,
        picks,
        kinds,
        nodes,
        targets,
        flips,
        uniforms,
        temps,
    )
    graph = np.diag(loops)
    graph[u, v] = w
    return graph, labels


def degree_constrained_max(
    adjacency: np.ndarray,
    directed: bool,
    method: str,
    undirected_swaps: bool,
    rng: np.random.Generator,
    restarts: int = 8,
    steps_per_edge: float = 20000.0,
    start_temperature: float = 0.05,
):
    """Best Q found per restart and the best graph overall (see the module docstring).

    ``adjacency`` is a non-negative directed graph; Q is measured as
    :func:`evomod.modularity.tracking.measure_network` does (``A`` directed,
    ``A + A.T`` undirected). Returns ``(values, best_graph)``.
    """
    from evomod.modularity.maximize import maximize_q
    from evomod.modularity.q import q as modularity_q

    def view(g):
        return g if directed else g + g.T

    n_edges = max(1, int(np.count_nonzero(adjacency)))
    steps = max(1000, round(steps_per_edge * n_edges))
    values = []
    best_q, best_graph = -math.inf, adjacency
    for r in range(restarts):
        start = (
            adjacency.copy() if r == 0 else randomize(adjacency, not undirected_swaps, rng, same_weight=True)
        )
        graph, labels = _search(start, directed, undirected_swaps, rng, steps, start_temperature)
        if not graph.any():
            values.append(0.0)
            continue
        q_found = max(
            modularity_q(view(graph), labels, directed=directed),
            maximize_q(view(graph), directed=directed, method=method).q,
        )
        if r == 0:  # the real graph itself has the degree sequence
            q_real = maximize_q(view(adjacency), directed=directed, method=method).q
            if q_real > q_found:
                q_found, graph = q_real, adjacency.copy()
        values.append(q_found)
        if q_found > best_q:
            best_q, best_graph = q_found, graph
    return np.array(values), best_graph
