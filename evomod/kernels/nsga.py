"""Stochastic Pareto dominance (Clune et al. 2013) and NSGA-II's pieces.

All objectives are maximised. Objectives flagged ``stochastic`` enter each
pairwise comparison only with probability ``p``, redrawn for every pair, as in
the authors' code. A coin is drawn only for pairs whose verdict depends on it;
the verdict then has exactly the distribution of an always-drawn coin, at a
fraction of the draws.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _dominates(f, a, b, use_stochastic, stochastic):
    """+1 if a dominates b, -1 if b dominates a, 0 otherwise."""
    a_better = False
    b_better = False
    for m in range(f.shape[1]):
        if stochastic[m] and not use_stochastic:
            continue
        if f[a, m] > f[b, m]:
            a_better = True
        elif f[a, m] < f[b, m]:
            b_better = True
    if a_better and not b_better:
        return 1
    if b_better and not a_better:
        return -1
    return 0


@njit(cache=True)
def nondominated_ranks(f, stochastic, p, rng):
    """Front index of every row of ``f`` (0 = non-dominated).

    Order the rows lexicographically, descending, by the columns that always
    count and then by the stochastic ones. Whether a pair's coin includes the
    stochastic columns or not, ``a`` can dominate ``b`` only if ``a`` comes
    first in that order, so ranks follow in one pass over it: ``rank(b)`` is one more
    than the highest rank of any row dominating it. Scanning ranks from the
    top down, the first dominator found settles ``rank(b)``; pairs never
    examined never need their coin, and each examined pair draws at most one.
    """
    n, n_obj = f.shape
    any_stochastic = False
    for m in range(n_obj):
        if stochastic[m]:
            any_stochastic = True
    columns = np.concatenate((np.flatnonzero(~stochastic), np.flatnonzero(stochastic)))
    order = _lex_desc(f, columns)
    rank = np.zeros(n, dtype=np.int64)
    # Processed rows of rank r form a linked list: head[r], then after[row].
    head = -np.ones(n, dtype=np.int64)
    after = -np.ones(n, dtype=np.int64)
    top = -1
    for k in range(n):
        b = order[k]
        found = -1
        for r in range(top, -1, -1):
            a = head[r]
            while a >= 0:
                verdict = _dominates(f, a, b, True, stochastic)
                if any_stochastic:
                    without = _dominates(f, a, b, False, stochastic)
                    if without != verdict and not (rng.random() < p):
                        verdict = without
                if verdict == 1:
                    found = r
                    break
                a = after[a]
            if found >= 0:
                break
        r_b = found + 1
        rank[b] = r_b
        after[b] = head[r_b]
        head[r_b] = b
        if r_b > top:
            top = r_b
    return rank


@njit(cache=True)
def _lex_desc(f, columns):
    """Row order by ``columns[0]`` descending, then ``columns[1]``, and so on."""
    n = f.shape[0]
    order = np.arange(n)
    for k in range(columns.shape[0] - 1, -1, -1):
        values = -f[order, columns[k]]
        order = order[np.argsort(values, kind="mergesort")]
    return order


@njit(cache=True)
def crowding_distance(f, rank):
    """NSGA-II crowding distance of each row within its front."""
    n, n_obj = f.shape
    distance = np.zeros(n)
    if n == 0:
        return distance
    n_fronts = rank.max() + 1
    for front in range(n_fronts):
        members = np.flatnonzero(rank == front)
        size = members.shape[0]
        if size == 0:
            continue
        for m in range(n_obj):
            values = f[members, m]
            order = np.argsort(values, kind="mergesort")
            lo = values[order[0]]
            hi = values[order[size - 1]]
            distance[members[order[0]]] = np.inf
            distance[members[order[size - 1]]] = np.inf
            if hi == lo:
                continue
            for k in range(1, size - 1):
                distance[members[order[k]]] += (values[order[k + 1]] - values[order[k - 1]]) / (hi - lo)
    return distance
