"""Exact modularity maximisation.

The optimum is found one connected component at a time, after contracting
leaves into their neighbours: by dynamic programming over all subsets for up
to ``DP_MAX_NODES`` (contracted) nodes, by column generation over modules
(sets of nodes) with an exhaustive pricing step up to ``CG_MAX_NODES``, and by
Brandes et al.'s clique-partitioning integer program beyond.

Why not only the integer program: evolved networks are sparse, layered and
triangle-free, and there the transitivity constraints give a weak linear
relaxation (its bound was up to ~15 % above the optimum on random
8-8-4-2-1 nets), so HiGHS spent seconds to tens of seconds branching on
20-node graphs. The
set-partitioning relaxation used by column generation is far tighter
(usually exact), and the pricing problem can be solved by listing every
subset while components have at most ``CG_MAX_NODES`` nodes.

Facts used (B symmetric, Q = sum B_ij delta(c_i, c_j) / norm):

* A module spanning two components can be split without lowering Q: B_ij
  between nodes with no edge is ``-k_i k_j / 2m`` (undirected) or
  ``-(k_i^out k_j^in + k_i^in k_j^out) / 2m`` (directed), never positive.
* A node whose only edges (no self-loop) join one neighbour j, in a component
  of three or more nodes, can be put in j's module without lowering Q.
  Moving leaf i, with edge weights a = w(i->j) and c = w(j->i), from module C
  into j's module D changes the directed Q by X / m**2 with
  ``X = m(a + c) - a*in(D) - c*out(D) + a*in(C) + c*out(C) - 2ac``
  (in/out = summed in/out-strengths); ``in(D) <= m - in(C)``,
  ``out(D) <= m - out(C)``, ``in(C) >= c`` and ``out(C) >= a`` give
  ``X >= 2ac >= 0``. The undirected Q of W is the directed Q of the
  symmetric W, the case a = c. So leaves are merged into their neighbours
  first.
* Column generation bound: once no module has positive reduced cost
  ``f(S) - pi(S)`` (``f(S) = sum_{i,j in S} B_ij``, pi the master LP's
  duals), every partition P has ``Q(P) - sum(pi) = sum_{S in P} rc(S)`` with
  all rc <= 0; a partition at least as good as the incumbent therefore uses
  only modules with ``rc >= -(sum(pi) - incumbent)``. Solving the set
  partitioning program over exactly those modules gives the optimum.
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from evomod.modularity._spectral import bisect, refine

# Up to this size the optimum over all set partitions is found directly by
# dynamic programming over subsets (3**n / 2 steps), faster than any LP.
DP_MAX_NODES = 15
# Pricing lists all 2**n subsets in two arrays of 2**n doubles (128 MB at 23).
CG_MAX_NODES = 23
# Beyond this many modules inside the optimality gap, the set-partitioning
# program would be slower than the clique-partitioning one.
MAX_GAP_COLUMNS = 200_000
_PRICE_BATCH = 64
_SEED_COLUMNS = 512


def exact_partition(b: np.ndarray, a: np.ndarray, norm: float) -> np.ndarray:
    """Labels of a Q-maximising partition of the live graph ``a`` (no isolated
    nodes) with symmetric modularity matrix ``b``."""
    n = b.shape[0]
    support = (a + a.T) != 0
    loops = np.diag(support).copy()
    np.fill_diagonal(support, False)
    unit = np.round(2.0 * norm * b)
    if np.all(a == np.round(a)) and np.abs(unit).sum() < 2.0**50:
        # For integer weights 2*norm*B is an integer matrix (undirected:
        # 2(2m W - k k^T); directed: m(A + A^T) - k_out k_in^T - k_in k_out^T).
        # In these units every partition's value is an exact integer, so a
        # partition within the solvers' 1e-6 tolerance of the optimum is
        # optimal. (The size guard keeps every sum exact in float64.)
        tol = 1e-6
    else:
        unit, tol = b / max(float(np.abs(b).max()), 1e-300), 1e-9
    n_comp, comp = connected_components(sparse.csr_matrix(support), directed=False)
    labels = np.empty(n, dtype=np.int64)
    offset = 0
    for c in range(n_comp):
        nodes = np.flatnonzero(comp == c)
        group = _leaf_groups(support[np.ix_(nodes, nodes)], loops[nodes])
        member = np.zeros((len(nodes), int(group.max()) + 1))
        member[np.arange(len(nodes)), group] = 1.0
        contracted = member.T @ unit[np.ix_(nodes, nodes)] @ member
        part = _solve(contracted, tol)
        labels[nodes] = offset + part[group]
        offset += int(part.max()) + 1
    return labels


def _leaf_groups(support: np.ndarray, loops: np.ndarray) -> np.ndarray:
    """Group index per node: each leaf shares its neighbour's group."""
    n = len(support)
    group = np.arange(n)
    if n >= 3:
        # In a connected component of >= 3 nodes a leaf's neighbour is never
        # itself a leaf, so one pass suffices.
        for i in np.flatnonzero((support.sum(axis=1) == 1) & ~loops):
            group[i] = np.flatnonzero(support[i])[0]
    _, group = np.unique(group, return_inverse=True)
    return group.reshape(-1)


def _solve(b: np.ndarray, tol: float) -> np.ndarray:
    n = b.shape[0]
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    if n == 2:
        return np.array([0, 0 if b[0, 1] > 0 else 1], dtype=np.int64)
    if n <= DP_MAX_NODES:
        return _subset_dp(_subset_values(b), n)
    incumbent = refine(b, bisect(b, 1.0, refine=True, min_gain=tol))
    if n <= CG_MAX_NODES:
        labels = _column_generation(b, incumbent, tol)
        if labels is not None:
            return labels
    return _clique_partitioning(b)


# --------------------------------------------------------------------------
# subset dynamic programming and column generation


@numba.njit(cache=True)
def _subset_dp_tables(f, n):
    """best[U] = max Q-sum over partitions of U; first[U] = the module holding
    U's lowest node in that partition."""
    best = np.zeros(1 << n)
    first = np.zeros(1 << n, dtype=np.int64)
    for u in range(1, 1 << n):
        low = u & -u
        rest = u ^ low
        top = -np.inf
        arg = low
        t = rest
        while True:
            s = t | low
            v = f[s] + best[u ^ s]
            if v > top:
                top = v
                arg = s
            if t == 0:
                break
            t = (t - 1) & rest
        best[u] = top
        first[u] = arg
    return best, first


def _subset_dp(f: np.ndarray, n: int) -> np.ndarray:
    _, first = _subset_dp_tables(f, n)
    labels = np.empty(n, dtype=np.int64)
    bit = 1 << np.arange(n, dtype=np.int64)
    rest, c = (1 << n) - 1, 0
    while rest:
        module = int(first[rest])
        labels[(module & bit) != 0] = c
        rest ^= module
        c += 1
    return labels


@numba.njit(cache=True)
def _subset_values(b):
    """f[S] = sum_{i,j in S} b_ij for every subset S (bit i of S = node i)."""
    n = b.shape[0]
    f = np.zeros(1 << n)
    link = np.zeros(1 << n)
    for v in range(n):
        # link[T] = sum_{u in T} b_uv for T within the first v nodes, built
        # by adding one highest bit at a time: O(2**v) for node v.
        link[0] = 0.0
        for u in range(v):
            base = 1 << u
            for t in range(base):
                link[base + t] = link[t] + b[u, v]
        top = 1 << v
        for t in range(top):
            f[top + t] = f[t] + b[v, v] + 2.0 * link[t]
    return f


@numba.njit(cache=True)
def _reduced_costs(f, pi, rc):
    """Fill rc[S] = f[S] - sum_{i in S} pi_i for every subset (rc[0] = -inf)."""
    n = pi.shape[0]
    rc[0] = 0.0
    for u in range(n):
        base = 1 << u
        for t in range(base):
            rc[base + t] = rc[t] + pi[u]
    for s in range(1 << n):
        rc[s] = f[s] - rc[s]
    rc[0] = -np.inf


@numba.njit(cache=True)
def _best_columns(rc, threshold, k):
    """Up to k subsets with the largest rc above ``threshold``."""
    masks = np.empty(k, dtype=np.int64)
    values = np.empty(k)
    count = 0
    worst = 0
    for s in range(rc.shape[0]):
        r = rc[s]
        if r <= threshold:
            continue
        if count < k:
            masks[count] = s
            values[count] = r
            if count == 0 or r < values[worst]:
                worst = count
            count += 1
        elif r > values[worst]:
            masks[worst] = s
            values[worst] = r
            for j in range(k):
                if values[j] < values[worst]:
                    worst = j
    return masks[:count]


@numba.njit(cache=True)
def _columns_above(rc, threshold, limit):
    """All subsets with rc >= threshold; stops at limit + 1 of them (too many)."""
    out = np.empty(limit + 1, dtype=np.int64)
    count = 0
    for s in range(rc.shape[0]):
        if rc[s] >= threshold:
            out[count] = s
            count += 1
            if count > limit:
                break
    return out[:count]


def _column_generation(b: np.ndarray, incumbent: np.ndarray, tol: float):
    n = b.shape[0]
    f = _subset_values(b)
    rc = np.empty_like(f)
    bit = 1 << np.arange(n, dtype=np.int64)
    best = [int(bit[incumbent == c].sum()) for c in range(int(incumbent.max()) + 1)]
    best_value = float(f[best].sum())
    columns = set(bit.tolist()) | set(best)
    # Seed the master with the modules that look best against a dual guess
    # from the incumbent (each node's share of its module's value): this
    # roughly halves the number of LP rounds on evolved-size networks.
    same = incumbent[:, None] == incumbent[None, :]
    _reduced_costs(f, (b * same).sum(axis=1), rc)
    columns.update(_best_columns(rc, -np.inf, _SEED_COLUMNS).tolist())
    while True:
        masks = np.array(sorted(columns), dtype=np.int64)
        lp = linprog(-f[masks], A_eq=_members(masks, n), b_eq=np.ones(n), bounds=(0, None), method="highs")
        if lp.status != 0:
            raise RuntimeError(f"exact modularity: master LP failed ({lp.message})")
        pi = -lp.eqlin.marginals
        _reduced_costs(f, pi, rc)
        new = _best_columns(rc, tol, _PRICE_BATCH)
        if len(new) == 0:
            break
        columns.update(new.tolist())

    gap = float(pi.sum()) - best_value
    if gap > n * tol:
        best, best_value = _improve_incumbent(f, masks, n, best, best_value)
        gap = float(pi.sum()) - best_value
    if gap > n * tol:
        within = _columns_above(rc, -gap - n * tol, MAX_GAP_COLUMNS)
        if len(within) > MAX_GAP_COLUMNS:
            return None
        best = _set_partition(f, np.union1d(within, best), n)
    labels = np.empty(n, dtype=np.int64)
    for c, mask in enumerate(best):
        labels[(mask & bit) != 0] = c
    return labels


def _improve_incumbent(f, masks, n, best, best_value):
    """The best partition using only the generated modules, if better.

    This integer program is small and often closes the gap to the LP bound
    by itself, sparing the enumeration of every module inside the gap.
    """
    chosen = _set_partition(f, masks, n)
    value = float(f[chosen].sum())
    return (chosen, value) if value > best_value else (best, best_value)


def _members(masks: np.ndarray, n: int) -> sparse.csr_matrix:
    """Node-by-module incidence matrix of the bitmask modules."""
    node, col = np.nonzero(((masks[None, :] >> np.arange(n)[:, None]) & 1).astype(bool))
    return sparse.csr_matrix((np.ones(len(node)), (node, col)), shape=(n, len(masks)))


def _set_partition(f: np.ndarray, masks: np.ndarray, n: int) -> list[int]:
    """The best partition of the n nodes into modules chosen from ``masks``."""
    res = milp(
        -f[masks],
        integrality=np.ones(len(masks)),
        bounds=Bounds(0, 1),
        constraints=LinearConstraint(_members(masks, n), 1.0, 1.0),
        options={"mip_rel_gap": 0.0},
    )
    if res.x is None or res.status != 0:
        raise RuntimeError(f"exact modularity: set partitioning failed ({res.message})")
    return [int(m) for m in masks[res.x > 0.5]]


# --------------------------------------------------------------------------
# clique partitioning (Brandes et al. 2008), for components too large to list


def _clique_partitioning(b: np.ndarray) -> np.ndarray:
    n = b.shape[0]
    iu, ju = np.triu_indices(n, 1)
    pair = np.zeros((n, n), dtype=np.int64)
    pair[iu, ju] = np.arange(len(iu))
    pair[ju, iu] = np.arange(len(iu))
    cost = -b[iu, ju]

    # Transitivity with pivot p: x_pa + x_pb - x_ab <= 1. When both pivot
    # pairs have B <= 0, nothing in the objective pulls p towards a or b, and
    # an optimal solution seldom violates the constraint; leaving these out
    # first shrinks the program several-fold on sparse graphs. Correctness
    # does not rest on that: any violated constraint is added back below and
    # the program solved again, so the partition returned is transitive and
    # optimal for a relaxation of the full program, hence for the program.
    triples = np.array(list(itertools.combinations(range(n), 3)), dtype=np.int64)
    forms = np.concatenate([triples[:, [1, 0, 2]], triples[:, [0, 1, 2]], triples[:, [2, 0, 1]]])
    p, x, y = forms.T
    initial = (b[p, x] > 0) | (b[p, y] > 0)
    rows = _transitivity_rows(pair, p[initial], x[initial], y[initial], len(iu))
    while True:
        res = milp(
            cost,
            integrality=np.ones(len(iu)),
            bounds=Bounds(0, 1),
            constraints=LinearConstraint(rows, -np.inf, 1.0) if rows.shape[0] else None,
            options={"mip_rel_gap": 0.0},
        )
        if res.x is None or res.status != 0:
            raise RuntimeError(f"exact modularity: HiGHS failed ({res.message})")
        together = np.zeros((n, n), dtype=bool)
        together[iu, ju] = res.x > 0.5
        together |= together.T
        vp, vx, vy = _violations(together)
        if len(vp) == 0:
            break
        rows = sparse.vstack([rows, _transitivity_rows(pair, vp, vx, vy, len(iu))]).tocsr()
    _, labels = connected_components(sparse.csr_matrix(together), directed=False)
    return labels.astype(np.int64)


def _transitivity_rows(pair, p, x, y, n_var) -> sparse.csr_matrix:
    k = len(p)
    cols = np.stack([pair[p, x], pair[p, y], pair[x, y]], axis=1).reshape(-1)
    vals = np.tile(np.array([1.0, 1.0, -1.0]), k)
    return sparse.csr_matrix((vals, (np.repeat(np.arange(k), 3), cols)), shape=(k, n_var))


def _violations(together: np.ndarray):
    """All (pivot, a, b) with a~pivot, pivot~b but not a~b."""
    t = together.astype(np.int64)
    n = len(t)
    broken = (t @ t > 0) & ~together & ~np.eye(n, dtype=bool)
    ia, ib = np.nonzero(np.triu(broken, 1))
    out = [(p, i, j) for i, j in zip(ia, ib) for p in np.flatnonzero(together[i] & together[j])]
    if not out:
        return (np.zeros(0, dtype=np.int64),) * 3
    arr = np.array(out, dtype=np.int64)
    return arr[:, 0], arr[:, 1], arr[:, 2]
