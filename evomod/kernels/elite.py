"""The elitist GA's elite order, shared by the compiled generations."""

from __future__ import annotations

import numpy as np
from numba import njit

# Above this many distinct fitness values the order falls back to a merge sort.
_MAX_LEVELS = 64


@njit(cache=True)
def _sorted_elite(fitness, shuffled, n_elite):
    keys = np.empty(len(shuffled))
    for i in range(len(shuffled)):
        keys[i] = -fitness[shuffled[i]]
    return shuffled[np.argsort(keys, kind="mergesort")[:n_elite]]


@njit(cache=True)
def elite_order(fitness, shuffled, n_elite):
    """The first ``n_elite`` of ``shuffled`` (a random permutation) in a
    stable order of decreasing fitness: ties stay in the shuffled order.

    A population's fitness takes a few distinct values (fractions of a
    small number of patterns, less a penalty in whole steps), so a counting
    sort over those values gives the stable order in O(n log k) for k
    values; with more than 64 values, a merge sort (the same order).
    """
    n = shuffled.shape[0]
    levels = np.empty(_MAX_LEVELS)  # the distinct values seen, decreasing
    n_levels = 0
    level_of = np.empty(n, dtype=np.int64)
    for i in range(n):
        v = fitness[shuffled[i]]
        lo, hi = 0, n_levels
        while lo < hi:
            mid = (lo + hi) >> 1
            if levels[mid] > v:
                lo = mid + 1
            else:
                hi = mid
        if lo < n_levels and levels[lo] == v:
            level_of[i] = lo
            continue
        if n_levels == _MAX_LEVELS:
            return _sorted_elite(fitness, shuffled, n_elite)
        for k in range(n_levels, lo, -1):
            levels[k] = levels[k - 1]
        levels[lo] = v
        n_levels += 1
        for j in range(i):  # a new value shifts the levels below it
            if level_of[j] >= lo:
                level_of[j] += 1
        level_of[i] = lo
    start = np.zeros(n_levels + 1, dtype=np.int64)
    for i in range(n):
        start[level_of[i] + 1] += 1
    for k in range(n_levels):
        start[k + 1] += start[k]
    elite = np.empty(n_elite, dtype=shuffled.dtype)
    for i in range(n):
        position = start[level_of[i]]
        start[level_of[i]] += 1
        if position < n_elite:
            elite[position] = shuffled[i]
    return elite
