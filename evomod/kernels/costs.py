"""Connection-cost kernels over edge arrays.

Every network model reduces to ``(src, dst, weight)`` arrays of shape (n, E);
weight 0 marks an absent edge. Positions are (n_nodes, 2).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def connection_count(weight):
    n, n_edges = weight.shape
    out = np.zeros(n)
    for i in range(n):
        for e in range(n_edges):
            if weight[i, e] != 0.0:
                out[i] += 1.0
    return out


@njit(cache=True)
def distance_weighted(src, dst, weight, positions, power):
    """Sum over edges of |w| * d**power, d the Euclidean distance."""
    n, n_edges = weight.shape
    out = np.zeros(n)
    for i in range(n):
        total = 0.0
        for e in range(n_edges):
            w = weight[i, e]
            if w != 0.0:
                dx = positions[src[i, e], 0] - positions[dst[i, e], 0]
                dy = positions[src[i, e], 1] - positions[dst[i, e], 1]
                total += abs(w) * (dx * dx + dy * dy) ** (0.5 * power)
        out[i] = total
    return out


@njit(cache=True)
def _spd_solve(a, b, n, low, x):
    """Solve ``a[:n, :n] x = b[:n]`` for a symmetric positive definite
    ``a`` by Cholesky, into ``x[:n]`` (``low`` is scratch space).

    The systems here have at most a few dozen unknowns; LAPACK's call and
    copy overhead costs more than the arithmetic, so the factorisation is
    written out (checked against scipy in the tests).
    """
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= low[j, k] * low[j, k]
        low[j, j] = np.sqrt(s)
        for i in range(j + 1, n):
            t = a[i, j]
            for k in range(j):
                t -= low[i, k] * low[j, k]
            low[i, j] = t / low[j, j]
    for c in range(b.shape[1]):
        for i in range(n):
            x[i, c] = b[i, c]
        for i in range(n):
            t = x[i, c]
            for k in range(i):
                t -= low[i, k] * x[k, c]
            x[i, c] = t / low[i, i]
        for i in range(n - 1, -1, -1):
            t = x[i, c]
            for k in range(i + 1, n):
                t -= low[k, i] * x[k, c]
            x[i, c] = t / low[i, i]


@njit(cache=True)
def _placement_workspace(n_nodes):
    """Scratch arrays for ``_place``, allocated once per batch of networks."""
    square = np.zeros((5, n_nodes, n_nodes))
    index = np.zeros((3, n_nodes), dtype=np.int64)
    return square, index, np.zeros(n_nodes, dtype=np.bool_), np.zeros((2, n_nodes, 2))


@njit(cache=True)
def _place(src, dst, weight, positions, fixed, result, square, index, anchored, columns):
    """``optimal_placement`` into ``result`` with the scratch arrays of
    ``_placement_workspace``: nothing is allocated per network."""
    n_nodes = positions.shape[0]
    n_edges = src.shape[0]
    adj, lap, low = square[0], square[1], square[2]
    comp, stack, free = index[0], index[1], index[2]
    rhs, solved = columns[0], columns[1]
    for u in range(n_nodes):
        for v in range(n_nodes):
            adj[u, v] = 0.0
    for e in range(n_edges):
        if weight[e] != 0.0:
            a, b = src[e], dst[e]
            if a != b:
                adj[a, b] += 1.0
                adj[b, a] += 1.0
    # Components, and whether each holds a fixed node.
    for v in range(n_nodes):
        comp[v] = -1
    n_comp = 0
    for start in range(n_nodes):
        if comp[start] >= 0:
            continue
        comp[start] = n_comp
        top = 0
        stack[top] = start
        top += 1
        while top > 0:
            top -= 1
            u = stack[top]
            for v in range(n_nodes):
                if adj[u, v] != 0.0 and comp[v] < 0:
                    comp[v] = n_comp
                    stack[top] = v
                    top += 1
        n_comp += 1
    for c in range(n_comp):
        anchored[c] = False
    for v in range(n_nodes):
        if fixed[v]:
            anchored[comp[v]] = True
    for v in range(n_nodes):
        result[v, 0] = positions[v, 0]
        result[v, 1] = positions[v, 1]
    n_free = 0
    for v in range(n_nodes):
        if not fixed[v] and anchored[comp[v]]:
            free[n_free] = v
            n_free += 1
    if n_free > 0:
        for a in range(n_free):
            rhs[a, 0] = 0.0
            rhs[a, 1] = 0.0
            lap[a, a] = 0.0
        for a in range(n_free):
            u = free[a]
            for v in range(n_nodes):
                w = adj[u, v]
                if w != 0.0:
                    lap[a, a] += w
                    if fixed[v]:
                        rhs[a, 0] += w * positions[v, 0]
                        rhs[a, 1] += w * positions[v, 1]
            for b in range(n_free):
                if b != a:
                    lap[a, b] = -adj[u, free[b]]
        _spd_solve(lap, rhs[:n_free], n_free, low, solved)
        for a in range(n_free):
            result[free[a], 0] = solved[a, 0]
            result[free[a], 1] = solved[a, 1]
    # Unanchored components collapse to their centroid (cost 0 inside them).
    for c in range(n_comp):
        if anchored[c]:
            continue
        cx = 0.0
        cy = 0.0
        m = 0
        for v in range(n_nodes):
            if comp[v] == c:
                cx += positions[v, 0]
                cy += positions[v, 1]
                m += 1
        if m > 1:
            for v in range(n_nodes):
                if comp[v] == c:
                    result[v, 0] = cx / m
                    result[v, 1] = cy / m


@njit(cache=True)
def optimal_placement(src, dst, weight, positions, fixed):
    """Positions minimising the summed squared edge length of one network.

    Free nodes move, fixed nodes stay. Setting the gradient to zero gives the
    graph Laplacian system L_ff p_f = A_fx p_x, which is positive definite on
    free nodes joined (through any path) to a fixed node. Free nodes with no
    such path can all meet at one point at zero cost, so they take the mean
    of their component's original positions; nodes without edges keep theirs.
    """
    result = np.empty_like(positions)
    _place(src, dst, weight, positions, fixed, result, *_placement_workspace(positions.shape[0]))
    return result


@njit(cache=True)
def _placed_length(src, dst, weight, positions, fixed, placed, square, index, anchored, columns):
    """One network's summed squared edge length after optimal placement
    (its edges ``src``, ``dst``, ``weight`` of shape (E,); scratch arrays
    from ``_placement_workspace``, ``placed`` receives the positions)."""
    _place(src, dst, weight, positions, fixed, placed, square, index, anchored, columns)
    total = 0.0
    for e in range(weight.shape[0]):
        if weight[e] != 0.0:
            dx = placed[src[e], 0] - placed[dst[e], 0]
            dy = placed[src[e], 1] - placed[dst[e], 1]
            total += dx * dx + dy * dy
    return total


@njit(cache=True)
def squared_length(src, dst, weight, positions, fixed):
    """Summed squared edge length after optimal placement of the free nodes."""
    n = weight.shape[0]
    out = np.zeros(n)
    placed = np.empty_like(positions)
    square, index, anchored, columns = _placement_workspace(positions.shape[0])
    for i in range(n):
        out[i] = _placed_length(
            src[i], dst[i], weight[i], positions, fixed, placed, square, index, anchored, columns
        )
    return out


@njit(cache=True)
def _charge_on_path(src, dst, weight, is_output, reach, live, charged):
    """``charged`` = ``weight`` (one network's edges) with the edges that
    lead nowhere set to 0, ``reach`` the nodes that are outputs or reach one
    (``live``: scratch for the edge indices)."""
    n_edges = weight.shape[0]
    n_live = 0
    for e in range(n_edges):
        charged[e] = 0.0
        if weight[e] != 0.0:
            live[n_live] = e
            n_live += 1
    for v in range(reach.shape[0]):
        reach[v] = is_output[v]
    changed = True
    while changed:
        changed = False
        # Backwards: edges listed source-layer-first then settle in one pass.
        for k in range(n_live - 1, -1, -1):
            e = live[k]
            if reach[dst[e]] and not reach[src[e]]:
                reach[src[e]] = True
                changed = True
    for k in range(n_live):
        e = live[k]
        if reach[dst[e]]:
            charged[e] = weight[e]


@njit(cache=True)
def on_path_to_output(src, dst, weight, is_output):
    """``weight`` with the edges that lead nowhere set to 0.

    An edge counts if its target is an output or can reach one; what is left
    is the network the authors cost: hidden nodes with no path to an output
    are removed with their edges (and isolated nodes cost nothing anyway).
    """
    out = np.zeros_like(weight)
    reach = np.empty(is_output.shape[0], dtype=np.bool_)
    live = np.empty(weight.shape[1], dtype=np.int64)
    for i in range(weight.shape[0]):
        _charge_on_path(src[i], dst[i], weight[i], is_output, reach, live, out[i])
    return out


@njit(cache=True)
def _memo_slot(table, key):
    """Where ``key`` is in the open-addressing table (row occupied), or the
    free row it would take (linear probing; the table is never full)."""
    h = np.uint64(0x9E3779B97F4A7C15)
    for w in range(key.shape[0]):
        h ^= key[w] + np.uint64(0x9E3779B97F4A7C15) + (h << np.uint64(6)) + (h >> np.uint64(2))
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    mask = table.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    while table[slot, 0] != 0:
        same = True
        for w in range(key.shape[0]):
            if table[slot, 1 + w] != key[w]:
                same = False
                break
        if same:
            return slot
        slot = (slot + 1) & mask
    return slot


@njit(cache=True)
def memo_squared_length(src, dst, weight, positions, fixed, is_output, prune, table, filled):
    """``squared_length`` of networks that share one slot layout (``src``,
    ``dst`` of shape (E,)), remembering the cost of every wiring solved.

    The cost depends only on which slots hold an edge, so that set (as bits)
    keys a table of solved costs, one row per entry so that a lookup reads
    one cache line: ``table`` (C, 2 + words) uint64, C a power of two, row =
    (occupied, key words..., the cost's float64 bits); ``filled`` [rows in
    use]. The table is emptied when half full. With ``prune``, edges off
    every path to an output are not charged (as ``on_path_to_output``). A
    remembered cost is the very number its solve gave, so the results do
    not depend on what the table holds.
    """
    n, n_edges = weight.shape
    n_words = table.shape[1] - 2
    costs = table.view(np.float64)
    out = np.empty(n)
    placed = np.empty_like(positions)
    square, index, anchored, columns = _placement_workspace(positions.shape[0])
    reach = np.empty(positions.shape[0], dtype=np.bool_)
    charged = np.empty(n_edges)
    live = np.empty(n_edges, dtype=np.int64)
    key = np.empty(n_words, dtype=np.uint64)
    for i in range(n):
        key[:] = 0
        for e in range(n_edges):
            if weight[i, e] != 0.0:
                key[e >> 6] |= np.uint64(1) << np.uint64(e & 63)
        slot = _memo_slot(table, key)
        if table[slot, 0] != 0:
            out[i] = costs[slot, n_words + 1]
            continue
        if prune:
            _charge_on_path(src, dst, weight[i], is_output, reach, live, charged)
        else:
            for e in range(n_edges):
                charged[e] = weight[i, e]
        total = _placed_length(src, dst, charged, positions, fixed, placed, square, index, anchored, columns)
        out[i] = total
        if 2 * (filled[0] + 1) > table.shape[0]:
            table[:, 0] = 0
            filled[0] = 0
            slot = _memo_slot(table, key)
        table[slot, 0] = 1
        for w in range(n_words):
            table[slot, 1 + w] = key[w]
        costs[slot, n_words + 1] = total
        filled[0] += 1
    return out
