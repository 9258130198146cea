"""Newman's modularity Q of a given partition, directed and undirected.

Conventions (``A[i, j]`` = weight of the edge i -> j, weights >= 0):

* ``directed=True`` — Leicht & Newman (2008), as used by Clune et al. (2013):
  ``Q = (1/m) sum_ij [A_ij - k_i^out k_j^in / m] delta(c_i, c_j)``,
  ``m = sum_ij A_ij``.
* ``directed=False`` — Newman (2006), as used by Kashtan & Alon (2005):
  the array is read as a list of directed edges, each one undirected edge, so
  the undirected weight matrix is ``W = A + A.T`` and
  ``Q = (1/2m) sum_ij [W_ij - k_i k_j / 2m] delta(c_i, c_j)`` with
  ``k = W.sum(1)``, ``2m = W.sum()``.

  Because Q does not change when all weights are scaled, a symmetric array
  (an undirected graph stored both ways) gives the same Q whether it is read
  this way or as an undirected adjacency matrix, and no guess about the
  caller's intent is needed. A self-loop ``A[i, i] = w`` is one undirected
  loop of weight w (degree contribution 2w, networkx's convention).

Both equal ``networkx.community.modularity`` on the corresponding graph. A
graph without edges has Q = 0 by convention (there is nothing to divide).
"""

from __future__ import annotations

import numpy as np

from evomod.modularity._validate import as_adjacency, as_labels


def q(adjacency, labels, directed: bool = True) -> float:
    """Modularity Q of the partition ``labels`` of ``adjacency``.

    Parameters
    ----------
    adjacency : square array, ``A[i, j]`` = non-negative weight of edge i -> j.
    labels : one module label per node (any comparable values).
    directed : Leicht–Newman directed Q if True, Newman undirected Q of
        ``A + A.T`` if False (see the module docstring).

    Returns 0.0 for a graph without edges.
    """
    a = as_adjacency(adjacency, nonnegative=True)
    lab = as_labels(labels, a.shape[0])
    if a.shape[0] == 0:
        return 0.0
    if not directed:
        a = a + a.T
    total = a.sum()
    if total <= 0:
        return 0.0
    n_mod = int(lab.max()) + 1
    same = lab[:, None] == lab[None, :]
    inside = np.bincount(np.broadcast_to(lab[:, None], a.shape)[same], weights=a[same], minlength=n_mod)
    out_strength = np.bincount(lab, weights=a.sum(axis=1), minlength=n_mod)
    in_strength = np.bincount(lab, weights=a.sum(axis=0), minlength=n_mod)
    # Directed and (symmetrised) undirected Q share one form once the total
    # weight is m (directed) or 2m (undirected, where out = in = degree).
    return float(np.sum(inside / total - out_strength * in_strength / total**2))


def modularity_matrix(adjacency: np.ndarray, directed: bool) -> tuple[np.ndarray, float]:
    """``(B, norm)`` with B symmetric and ``Q = sum_ij B_ij delta(c_i,c_j) / norm``.

    For directed graphs B is Leicht & Newman's ``(B + B.T) / 2``: Q only sees
    B through symmetric sums, and the symmetric form is what the spectral and
    integer-programming maximisers need. ``adjacency`` must already be
    validated; a graph without edges returns ``(zeros, 0.0)``.
    """
    a = np.asarray(adjacency, dtype=float)
    if directed:
        m = a.sum()
        if m <= 0:
            return np.zeros_like(a), 0.0
        b = a - np.outer(a.sum(axis=1), a.sum(axis=0)) / m
        return (b + b.T) / 2.0, float(m)
    w = a + a.T
    two_m = w.sum()
    if two_m <= 0:
        return np.zeros_like(a), 0.0
    k = w.sum(axis=1)
    return w - np.outer(k, k) / two_m, float(two_m)
