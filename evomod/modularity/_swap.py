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
def swap_directed(src, dst, exists, picks, target, weights, same_weight):
    """Rewire edges a->b, c->d into a->d, c->b in place; returns the swaps done.

    In- and out-degrees are preserved; no self-loop or duplicate edge is
    created. ``picks`` is a (T, 2) array of edge indices; stops after
    ``target`` successful swaps or T proposals. With ``same_weight`` only
    edges of equal ``weights`` are swapped, so weighted degrees are kept too.
    """
    done = 0
    for t in range(picks.shape[0]):
        if done >= target:
            break
        e1 = picks[t, 0]
        e2 = picks[t, 1]
        a = src[e1]
        b = dst[e1]
        c = src[e2]
        d = dst[e2]
        # Same source or same target: the "swap" would rebuild the same edges.
        if a == c or b == d:
            continue
        if a == d or c == b:
            continue
        if same_weight and weights[e1] != weights[e2]:
            continue
        if exists[a, d] or exists[c, b]:
            continue
        exists[a, b] = False
        exists[c, d] = False
        exists[a, d] = True
        exists[c, b] = True
        dst[e1] = d
        dst[e2] = b
        done += 1
    return done


@numba.njit(cache=True)
def swap_undirected(u, v, exists, picks, flips, target, weights, same_weight):
    """Rewire edges {a,b}, {c,d} into {a,d}, {c,b} in place; returns the swaps done.

    ``exists`` is symmetric. ``flips[t]`` reverses the second edge's
    orientation, so both rewirings of a pair of edges are proposed.
    ``same_weight`` as in :func:`swap_directed`.
    """
    done = 0
    for t in range(picks.shape[0]):
        if done >= target:
            break
        e1 = picks[t, 0]
        e2 = picks[t, 1]
        a = u[e1]
        b = v[e1]
        c = u[e2]
        d = v[e2]
        if flips[t]:
            c, d = d, c
        if a == c or b == d or a == d or c == b:
            continue
        if same_weight and weights[e1] != weights[e2]:
            continue
        if exists[a, d] or exists[c, b]:
            continue
        exists[a, b] = False
        exists[b, a] = False
        exists[c, d] = False
        exists[d, c] = False
        exists[a, d] = True
        exists[d, a] = True
        exists[c, b] = True
        exists[b, c] = True
        u[e1] = a
        v[e1] = d
        u[e2] = c
        v[e2] = b
        done += 1
    return done


def randomize(adjacency: np.ndarray, directed: bool, rng: np.random.Generator,
              swaps_per_edge: float = 10.0, same_weight: bool = False) -> np.ndarray:
    """A degree-preserving random rewiring of ``adjacency`` (validated, >= 0).

    Directed: in- and out-degree of every node kept. Undirected: the graph is
    ``A + A.T``, every node's degree is kept, and the result stores each
    undirected edge once (in either triangle), which the Q routines read as
    the same undirected graph. Self-loops stay where they are; other edges
    keep their weights as they move. Aims for ``swaps_per_edge * n_edges``
    successful swaps with at most ten times as many proposals (dense graphs
    may allow fewer). ``same_weight`` swaps only edges of equal weight, which
    keeps weighted degrees as well (e.g. the weight-2 edges that reciprocal
    pairs a->b, b->a become in ``A + A.T``).
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
    target = int(round(swaps_per_edge * n_edges))
    picks = rng.integers(0, n_edges, size=(10 * target, 2))
    src = src.astype(np.int64)
    dst = dst.astype(np.int64)
    if directed:
        swap_directed(src, dst, off != 0, picks, target, weights, same_weight)
    else:
        flips = rng.random(10 * target) < 0.5
        swap_undirected(src, dst, (off + off.T) != 0, picks, flips, target, weights,
                        same_weight)
    out[src, dst] = weights
    return out
