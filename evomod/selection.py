"""Selection: which individuals survive and which breed.

- ``pnsga2``: NSGA-II with stochastic Pareto dominance (Clune et al. 2013).
- ``elitist``: Kashtan & Alon's elitist GA (keep the best L, refill with
  mutated, optionally recombined, copies of them).
"""

from __future__ import annotations

import numpy as np

from evomod.kernels import nsga

SELECTION_KINDS = ("pnsga2", "elitist")


def nsga2_survivors(objectives: np.ndarray, stochastic: np.ndarray, p: float, n: int, rng):
    """Indices of the ``n`` survivors of NSGA-II environmental selection.

    Returns ``(survivors, rank, crowding)``; rank and crowding are for the
    survivors, in the order of ``survivors``.
    """
    f = np.ascontiguousarray(objectives, dtype=np.float64)
    rank = nsga.nondominated_ranks(f, np.ascontiguousarray(stochastic, dtype=np.bool_), float(p), rng)
    crowd = nsga.crowding_distance(f, rank)
    # Whole fronts first; the front that overflows keeps its least crowded.
    # Full ties are broken at random: breaking them by position would always
    # prefer parents to equally good offspring and stop neutral drift dead.
    tiebreak = rng.permutation(len(rank))
    order = np.lexsort((tiebreak, -crowd, rank))
    survivors = np.sort(order[:n])
    return survivors, rank[survivors], crowd[survivors]


def crowded_tournament(rank: np.ndarray, crowding: np.ndarray, n: int, rng) -> np.ndarray:
    """``n`` binary tournaments by NSGA-II's crowded comparison (lower rank,
    then larger crowding distance; a full tie goes to the first drawn)."""
    pairs = rng.integers(0, len(rank), size=(n, 2))
    a, b = pairs[:, 0], pairs[:, 1]
    b_wins = (rank[b] < rank[a]) | ((rank[b] == rank[a]) & (crowding[b] > crowding[a]))
    return np.where(b_wins, b, a)


def elite_order(fitness: np.ndarray, rng) -> np.ndarray:
    """Indices by decreasing fitness, ties broken at random (from ``rng``)."""
    shuffled = rng.permutation(len(fitness))
    return shuffled[np.argsort(-fitness[shuffled], kind="stable")]
