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
def _dominance_on(f, a, b, counted):
    """+1 if row a dominates row b on the objectives ``counted`` marks, -1 if
    b dominates a, 0 otherwise (all objectives maximised)."""
    a_better = False
    b_better = False
    for m in range(f.shape[1]):
        if not counted[m]:
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
    every = np.ones(n_obj, dtype=np.bool_)
    fixed_only = ~stochastic
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
                verdict = _dominance_on(f, a, b, every)
                if any_stochastic:
                    without = _dominance_on(f, a, b, fixed_only)
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
    """NSGA-II crowding distance of each row within its front, rows with
    equal values ordered by position (the literal family's rule)."""
    return crowding_by_front(f, rank, np.arange(f.shape[0]))


# -- the authors' stochastic dominance (Clune et al. 2013, sferes2 pnsga) -------------------
#
# Objective m enters a comparison with probability pressure[m], decided by a
# fresh coin for every objective of every comparison, in every round of the
# front peeling and in every tournament.


@njit(cache=True)
def stochastic_dominance(f, a, b, pressure, rng):
    """+1 if row a dominates row b on the objectives this comparison counts,
    -1 if b dominates a, 0 otherwise (all objectives maximised)."""
    counted = np.empty(f.shape[1], dtype=np.bool_)
    for m in range(f.shape[1]):
        counted[m] = pressure[m] >= 1.0 or rng.random() < pressure[m]
    return _dominance_on(f, a, b, counted)


@njit(cache=True)
def peeling_ranks(f, pressure, rng, needed):
    """Fronts peeled one at a time, as the authors' sort does.

    In each round every remaining row is compared with every remaining row,
    each comparison with fresh coins; the rows no one dominates form the
    next front. Peeling stops after the front that brings the number of
    ranked rows to ``needed`` or more; rows never ranked get -1. Quadratic
    per round: this is the reference the fast sort is tested against.
    """
    n = f.shape[0]
    rank = -np.ones(n, dtype=np.int64)
    remaining = np.arange(n)
    n_remaining = n
    in_front = np.zeros(n, dtype=np.bool_)
    ranked = 0
    r = 0
    while n_remaining > 0 and ranked < needed:
        for ii in range(n_remaining):
            i = remaining[ii]
            free = True
            for jj in range(n_remaining):
                if stochastic_dominance(f, remaining[jj], i, pressure, rng) == 1:
                    free = False
                    break
            in_front[i] = free
        kept = 0
        for ii in range(n_remaining):
            i = remaining[ii]
            if in_front[i]:
                rank[i] = r
                ranked += 1
            else:
                remaining[kept] = i
                kept += 1
        n_remaining = kept
        r += 1
    return rank


@njit(cache=True)
def counting_ranks(f, pressure, rng, needed):
    """The peeling sort's fronts, drawn from counts instead of comparisons.

    For two objectives (column 0 always counted, column 1 with probability
    q = pressure[1]) a remaining row j dominates row i with probability
      1      if j is better on column 0 and not worse on column 1,
      1 - q  if j is better on column 0 and worse on column 1,
      q      if j ties on column 0 and is better on column 1,
      0      otherwise,
    each comparison with its own coins. So in one round row i is
    undominated, independently of every other row, with probability
    q**A * (1 - q)**B if no row dominates it for sure, where A counts the
    rows better on column 0 and worse on column 1, and B the rows tied on
    column 0 and better on column 1. Rows with equal scores share these
    counts, so each round costs O(U log U) for U distinct score pairs (a
    Fenwick tree over column 1) plus one draw per row: the same
    distribution of fronts as ``peeling_ranks``, not the same draws.
    """
    n = f.shape[0]
    n_obj = f.shape[1]
    q = pressure[1] if n_obj > 1 else 1.0
    first = f[:, 0].copy()
    second = f[:, 1].copy() if n_obj > 1 else np.zeros(n)
    # Distinct score pairs, best first: column 0 descending, then column 1 descending.
    order = _lex_desc(np.column_stack((first, second)), np.arange(2))
    point = np.empty(n, dtype=np.int64)
    n_points = 0
    for k in range(n):
        i = order[k]
        if k > 0:
            j = order[k - 1]
            if first[i] == first[j] and second[i] == second[j]:
                point[i] = n_points - 1
                continue
        point[i] = n_points
        n_points += 1
    p_first = np.empty(n_points)
    p_second = np.empty(n_points)
    count = np.zeros(n_points, dtype=np.int64)
    for i in range(n):
        p_first[point[i]] = first[i]
        p_second[point[i]] = second[i]
        count[point[i]] += 1
    # Rank of each point's column-1 value among the distinct values, 1-based.
    values = np.unique(p_second)
    n_values = values.shape[0]
    level = np.searchsorted(values, p_second) + 1
    tree = np.zeros(n_values + 1, dtype=np.int64)
    chance = np.empty(n_points)
    rank = -np.ones(n, dtype=np.int64)
    remaining = np.arange(n)
    n_remaining = n
    ranked = 0
    r = 0
    while n_remaining > 0 and ranked < needed:
        tree[:] = 0
        inserted = 0
        start = 0
        while start < n_points:
            stop = start
            while stop < n_points and p_first[stop] == p_first[start]:
                stop += 1
            # Points start..stop-1 tie on column 0, column 1 descending.
            better_here = 0
            for pt in range(start, stop):
                if count[pt] == 0:
                    chance[pt] = 0.0
                    continue
                # Rows above with column 1 >= this point's: total - prefix(level - 1).
                below = 0
                k = level[pt] - 1
                while k > 0:
                    below += tree[k]
                    k -= k & (-k)
                sure = inserted - below
                if sure > 0:
                    chance[pt] = 0.0
                else:
                    costlier = inserted - sure
                    # Earlier points of a group are strictly better on column 1.
                    tied_better = better_here
                    c = 1.0
                    if costlier > 0:
                        c *= q**costlier
                    if tied_better > 0:
                        c *= (1.0 - q) ** tied_better
                    chance[pt] = c
                better_here += count[pt]
            for pt in range(start, stop):
                if count[pt] > 0:
                    k = level[pt]
                    while k <= n_values:
                        tree[k] += count[pt]
                        k += k & (-k)
                    inserted += count[pt]
            start = stop
        kept = 0
        for ii in range(n_remaining):
            i = remaining[ii]
            c = chance[point[i]]
            if c > 0.0 and (c >= 1.0 or rng.random() < c):
                rank[i] = r
                ranked += 1
            else:
                remaining[kept] = i
                kept += 1
        # Recount the points from the rows still unranked.
        count[:] = 0
        for ii in range(kept):
            count[point[remaining[ii]]] += 1
        n_remaining = kept
        r += 1
    return rank


@njit(cache=True)
def crowding_by_front(f, rank, tiebreak):
    """NSGA-II crowding distance within each front (rank >= 0; unranked rows
    get 0). Rows with equal values are ordered by ``tiebreak`` (a random
    permutation), so which of them takes an extreme, infinite distance is
    left to chance, not to their position in the pool."""
    n, n_obj = f.shape
    distance = np.zeros(n)
    ranked = 0
    for i in range(n):
        if rank[i] >= 0:
            ranked += 1
    if ranked == 0:
        return distance
    members = np.empty(ranked, dtype=np.int64)
    front_key = np.empty(ranked, dtype=np.int64)
    k = 0
    for i in range(n):
        if rank[i] >= 0:
            members[k] = i
            front_key[k] = rank[i]
            k += 1
    by_front = members[np.argsort(front_key, kind="mergesort")]
    start = 0
    while start < ranked:
        stop = start
        while stop < ranked and rank[by_front[stop]] == rank[by_front[start]]:
            stop += 1
        group = by_front[start:stop]
        size = stop - start
        if size <= 2:
            for g in range(size):
                distance[group[g]] = np.inf
        else:
            shuffled = group[np.argsort(tiebreak[group], kind="mergesort")]
            for m in range(n_obj):
                values = f[shuffled, m]
                order = np.argsort(values, kind="mergesort")
                lo = values[order[0]]
                hi = values[order[size - 1]]
                distance[shuffled[order[0]]] = np.inf
                distance[shuffled[order[size - 1]]] = np.inf
                if hi == lo:
                    continue
                for j in range(1, size - 1):
                    distance[shuffled[order[j]]] += (values[order[j + 1]] - values[order[j - 1]]) / (hi - lo)
        start = stop
    return distance


@njit(cache=True)
def survivors_by_front(rank, crowd, tiebreak, n):
    """The ``n`` rows that come first by front (``rank``; -1, unranked, last),
    then larger crowding distance, then smaller ``tiebreak`` (a permutation),
    in increasing row order: whole fronts while they fit, then the
    overflowing front's least crowded. Only that front is sorted."""
    rows = rank.shape[0]
    n_fronts = rank.max() + 1 if rows > 0 else 0
    front = np.where(rank >= 0, rank, n_fronts)  # unranked rows: one last front
    size = np.zeros(n_fronts + 1, dtype=np.int64)
    for i in range(rows):
        size[front[i]] += 1
    taken = 0
    cut = 0  # fronts below ``cut`` survive whole
    while cut <= n_fronts and taken + size[cut] <= n:
        taken += size[cut]
        cut += 1
    keep = front < cut
    if taken < n:
        members = np.flatnonzero(front == cut)
        # Least crowded first (largest distance), then the tiebreak.
        members = members[np.argsort(tiebreak[members])]
        members = members[np.argsort(-crowd[members], kind="mergesort")]
        for k in range(n - taken):
            keep[members[k]] = True
    return np.flatnonzero(keep)


@njit(cache=True)
def tournament_winners(f, crowd, pressure, first, second, rng):
    """Binary tournaments over consecutive pairs of two permutations, so every
    row fights exactly twice: a fresh stochastic comparison decides, then the
    larger crowding distance, then a fair coin."""
    n = first.shape[0]
    winners = np.empty(n, dtype=np.int64)
    w = 0
    for perm in range(2):
        order = first if perm == 0 else second
        for k in range(0, n - 1, 2):
            a = order[k]
            b = order[k + 1]
            flag = stochastic_dominance(f, a, b, pressure, rng)
            if flag == 1:
                winner = a
            elif flag == -1:
                winner = b
            elif crowd[a] > crowd[b]:
                winner = a
            elif crowd[b] > crowd[a]:
                winner = b
            else:
                winner = a if rng.random() < 0.5 else b
            winners[w] = winner
            w += 1
    return winners[:w]
