"""Degree-preserving edge swaps (Maslov & Sneppen style), compiled with numba.

Swaps are inherently sequential (each depends on the graph the previous one
left), so they cannot be vectorised; in plain Python the baseline's ~10^5-10^6
proposals per Q_rand estimate would cost seconds. The random choices are drawn
beforehand by numpy from the caller's Generator, so results depend only on the
seed, not on numba's own random state.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def swap_edges(src, dst, exists, picks, flips, weights, same_weight, directed):
    """Propose rewiring edges a-b, c-d into a-d, c-b for each row of ``picks``
    (edge index pairs), in place; returns how many proposals were accepted.

    Every proposal is one step of a Markov chain: one that would make a
    self-loop or a duplicate edge (or, with ``same_weight``, move edges of
    unequal weights) leaves the graph as it is and still counts. The proposal
    is symmetric, so the chain's stationary distribution is uniform over the
    graphs with these degrees; stopping after a number of *accepted* swaps
    instead would favour graphs that allow more swaps. Directed: in- and
    out-degrees are kept. Undirected: ``exists`` is symmetric and ``flips[t]``
    reverses the second edge, so both rewirings of a pair are proposed.
    """
    accepted = 0
    for t in range(picks.shape[0]):
        e1 = picks[t, 0]
        e2 = picks[t, 1]
        a = src[e1]
        b = dst[e1]
        c = src[e2]
        d = dst[e2]
        if not directed and flips[t]:
            c, d = d, c
        # Shared endpoints: the "swap" would rebuild the same edges or a self-loop.
        if a == c or b == d or a == d or c == b:
            continue
        if same_weight and weights[e1] != weights[e2]:
            continue
        if exists[a, d] or exists[c, b]:
            continue
        exists[a, b] = False
        exists[c, d] = False
        exists[a, d] = True
        exists[c, b] = True
        if not directed:
            exists[b, a] = False
            exists[d, c] = False
            exists[d, a] = True
            exists[b, c] = True
        src[e2] = c
        dst[e1] = d
        dst[e2] = b
        accepted += 1
    return accepted


def randomize(
    adjacency: np.ndarray,
    directed: bool,
    rng: np.random.Generator,
    swaps_per_edge: float = 100.0,
    same_weight: bool = False,
) -> np.ndarray:
    """A degree-preserving random rewiring of ``adjacency`` (validated, >= 0).

    Directed: in- and out-degree of every node kept. Undirected: the graph is
    ``A + A.T``, every node's degree is kept, and the result stores each
    undirected edge once (in either triangle), which the Q routines read as
    the same undirected graph. Self-loops stay where they are; other edges
    keep their weights as they move. ``swaps_per_edge * n_edges`` swaps are
    *proposed* (see :func:`swap_edges`: rejected ones count, which keeps the
    draw uniform over the rewirings). ``same_weight`` swaps only edges of
    equal weight, which keeps weighted degrees as well (e.g. the weight-2
    edges that reciprocal pairs a->b, b->a become in ``A + A.T``).
    """
    a = np.asarray(adjacency, dtype=float)
    out = np.diag(np.diag(a))
    off = a - out
    if not directed:
        off = np.triu(off + off.T)
    src, dst = np.nonzero(off)
    weights = off[src, dst]
    n_edges = len(src)
    if n_edges < 2:
        return out + off
    steps = int(round(swaps_per_edge * n_edges))
    picks = rng.integers(0, n_edges, size=(steps, 2))
    flips = (rng.random(steps) < 0.5) if not directed else np.zeros(steps, dtype=bool)
    src = src.astype(np.int64)
    dst = dst.astype(np.int64)
    exists = (off != 0) if directed else ((off + off.T) != 0)
    swap_edges(src, dst, exists, picks, flips, weights, same_weight, directed)
    out[src, dst] = weights
    return out
