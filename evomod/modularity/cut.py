"""Clusterability by normalised cut (Shi & Malik 2000; Filan et al.).

All functions here use the undirected graph ``W = |A| + |A|.T``: each directed
edge i -> j of ``A`` becomes one undirected edge of weight ``|w|`` (Filan et
al. ignore signs and biases). A symmetric input simply gets doubled, which
changes neither n-cut nor the spectral clusters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from evomod.errors import ConfigError
from evomod.modularity._validate import (
    as_adjacency,
    as_labels,
    canonical_labels,
    isolated_mask,
    positive_int,
    rng_from,
)
from evomod.modularity.graph import NetworkGraph, network_graph, whole_graph_blocks

NULLS = ("layer", "nonzero")
# Shuffled n-cuts within this of the real one count as ties (see clusterability).
_TIE = 1e-12


def _undirected_abs(adjacency, field: str = "adjacency") -> np.ndarray:
    a = np.abs(as_adjacency(adjacency, field=field))
    return a + a.T


def ncut(adjacency, labels) -> float:
    """Shi–Malik normalised cut ``sum_i W(X_i, not X_i) / vol(X_i)``.

    ``W = |A| + |A|.T``; ``vol(X)`` is the summed degree of X. A self-loop
    ``A[i, i] = w`` is one undirected loop (2|w| of volume, never cut, as in
    networkx). A module whose volume is 0 (only isolated nodes) adds 0. The
    result lies in [0, k] for k modules; lower means more clusterable. For two
    modules it equals ``networkx.normalized_cut_size``.

    Raises ``ConfigError("adjacency", "has no edges")`` for an edgeless graph.
    """
    w = _undirected_abs(adjacency)
    lab = as_labels(labels, w.shape[0])
    if not np.any(w):
        raise ConfigError("adjacency", "has no edges")
    return _ncut(w, lab)


def _ncut(w: np.ndarray, lab: np.ndarray) -> float:
    k = int(lab.max()) + 1
    same = lab[:, None] == lab[None, :]
    inside = np.bincount(np.broadcast_to(lab[:, None], w.shape)[same], weights=w[same], minlength=k)
    vol = np.bincount(lab, weights=w.sum(axis=1), minlength=k)
    cut = vol - inside
    terms = np.divide(cut, vol, out=np.zeros(k), where=vol > 0)
    return float(terms.sum())


def spectral_partition(adjacency, k: int, seed=None) -> np.ndarray:
    """Shi–Malik spectral clustering into ``k`` clusters.

    Takes the ``k`` generalised eigenvectors of ``L v = lambda D v`` with the
    smallest eigenvalues (``L = D - W``, ``W = |A| + |A|.T``; these are the
    eigenvectors of the random-walk Laplacian ``D^-1 L``, found through the
    symmetric-definite problem for numerical stability), then runs
    scikit-learn's k-means (10 restarts) on their rows. Returns canonical
    labels (numbered by first appearance).

    The graph must have no isolated nodes (D must be invertible); drop them
    first, as Filan et al. do. ``seed`` fixes the k-means initialisation.
    """
    w = _undirected_abs(adjacency)
    n = w.shape[0]
    k = positive_int(k, "k")
    if k > n:
        raise ConfigError("k", f"must be at most the number of nodes ({n}), got {k}")
    degree = w.sum(axis=1)
    if np.any(degree <= 0):
        raise ConfigError(
            "adjacency",
            f"has {int(np.sum(degree <= 0))} isolated node(s); drop them before spectral clustering",
        )
    with _one_thread():
        return _spectral_partition(w, k, int(rng_from(seed).integers(2**31 - 1)))


def _one_thread():
    """Keep scikit-learn's k-means on one OpenMP thread.

    Each fit here is on a few dozen points; starting a thread team costs far
    more than the work, and on a busy machine 2+ threads made clusterability
    about six times slower than one.
    """
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    return threadpool_limits(limits=1, user_api="openmp")


def _spectral_partition(w: np.ndarray, k: int, kmeans_seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans  # heavy import, only needed here

    n = w.shape[0]
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    if k == n:
        return np.arange(n, dtype=np.int64)
    degree = w.sum(axis=1)
    laplacian, d = np.diag(degree) - w, np.diag(degree)
    try:
        _, vecs = scipy.linalg.eigh(laplacian, d, subset_by_index=[0, k - 1])
    except np.linalg.LinAlgError:
        # The subset driver's inverse iteration can fail on a repeated
        # eigenvalue (0, once per component of a disconnected graph); the
        # full divide-and-conquer driver does not. Only then, so that every
        # partition the subset driver gives stays as it was.
        _, vecs = scipy.linalg.eigh(laplacian, d, driver="gvd")
        vecs = vecs[:, :k]
    km = KMeans(n_clusters=k, n_init=10, random_state=kmeans_seed)
    with warnings.catch_warnings():
        # Fewer distinct points than k (very symmetric graphs) only means
        # fewer clusters; the n-cut of what k-means returns is still valid.
        warnings.simplefilter("ignore")
        labels = km.fit_predict(vecs)
    return canonical_labels(labels)


@dataclass(frozen=True, eq=False)
class ClusterabilityResult:
    """n-cut of the spectral k-partition versus shuffled networks.

    ``p = (r + 1) / (n + 1)`` with ``r`` the number of shuffles whose n-cut is
    lower than or equal to the real one; ``z = (ncut - mean) / std`` of the
    shuffled n-cuts (NaN when they have no spread).
    """

    ncut: float
    shuffled: np.ndarray
    p: float
    z: float
    k: int
    null: str
    labels: np.ndarray


def clusterability(
    adjacency_or_network, k: int, n_shuffles: int = 50, null: str = "layer", seed=None, prune="isolated"
) -> ClusterabilityResult:
    """Filan et al.'s clusterability test.

    Parameters
    ----------
    adjacency_or_network : an evomod network dict (see
        :func:`evomod.modularity.graph.network_graph`), a
        :class:`~evomod.modularity.graph.NetworkGraph`, or a square weight
        array.
    k : number of clusters (2 <= k <= number of live nodes).
    n_shuffles : number of shuffled networks (Filan et al. use >= 50).
    null : ``"layer"`` shuffles every entry of each weight matrix, zeros
        included (topology changes); ``"nonzero"`` permutes only the non-zero
        weights within each matrix (topology kept).
    seed : all randomness (shuffles, k-means) comes from it. k-means uses
        one seed for the real network and every shuffle, so a shuffle that
        reproduces the network gets the same clusters.
    prune : for a network dict, passed to ``network_graph``; the default
        ``"isolated"`` drops only dead (isolated) neurons, as Filan et al. do.

    Weight matrices ("blocks"): for a layered network dict, one per pair of
    layers (consecutive pairs, plus any other pair that has an edge), so
    weights never move between layers. For a circuit or a plain array there
    are no layers and the whole graph is one block: every unordered node pair
    (self-loops excluded, they stay put) of ``|A| + |A|.T``.

    Isolated nodes are dropped before every n-cut, the real one and each
    shuffled one (a "layer" shuffle can isolate nodes). If a shuffle leaves
    fewer than ``k`` live nodes it is clustered into as many as there are.

    Ties: ``r`` counts shuffles with n-cut <= the real one (within 1e-12).
    Filan et al. write "lower"; for continuous weights that is the same, but
    with unweighted graphs a "nonzero" shuffle reproduces the network exactly
    and counting only strictly lower values would call an unremarkable
    network significant (p = 1/(n+1)).

    Raises ``ConfigError("network", "has no edges")`` when nothing is left.
    """
    if null not in NULLS:
        raise ConfigError("null", f"unknown null model {null!r}", NULLS)
    n_shuffles = positive_int(n_shuffles, "n_shuffles")
    k = positive_int(k, "k", minimum=2)
    rng = rng_from(seed)

    if isinstance(adjacency_or_network, dict):
        graph = network_graph(adjacency_or_network, directed=False, weighted=True, prune=prune)
        w, blocks = _undirected_abs(graph.adjacency), graph.blocks
    elif isinstance(adjacency_or_network, NetworkGraph):
        graph = adjacency_or_network
        w, blocks = _undirected_abs(graph.adjacency), graph.blocks
    else:
        w = _undirected_abs(adjacency_or_network)
        blocks = None
    if not np.any(w):
        raise ConfigError("network", "has no edges")
    live = np.flatnonzero(~isolated_mask(w))
    w_full_n = w.shape[0]
    w = w[np.ix_(live, live)]
    if blocks is None:
        blocks = whole_graph_blocks(len(live))
    else:
        blocks = _restrict_blocks(blocks, live, w_full_n)
    if k > len(live):
        raise ConfigError("k", f"must be at most the number of live nodes ({len(live)}), got {k}")

    # One k-means seed for the real network and every shuffle: k-means can
    # settle differently on the same points under different seeds, and that
    # noise should not masquerade as a difference between networks.
    kmeans_seed = int(rng.integers(2**31 - 1))
    shuffled = np.empty(n_shuffles)
    with _one_thread():
        labels = _spectral_partition(w, k, kmeans_seed)
        real = _ncut(w, labels)
        for t in range(n_shuffles):
            ws = _shuffle(w, blocks, null, rng)
            keep = np.flatnonzero(~isolated_mask(ws))
            ws = ws[np.ix_(keep, keep)]
            shuffled[t] = _ncut(ws, _spectral_partition(ws, min(k, len(keep)), kmeans_seed))

    r = int(np.sum(shuffled <= real + _TIE))
    spread = shuffled.std(ddof=1) if n_shuffles > 1 else 0.0
    z = float((real - shuffled.mean()) / spread) if spread > 0 else float("nan")
    shuffled.setflags(write=False)
    labels.setflags(write=False)
    return ClusterabilityResult(
        ncut=real, shuffled=shuffled, p=(r + 1) / (n_shuffles + 1), z=z, k=k, null=null, labels=labels
    )


def _restrict_blocks(blocks, keep: np.ndarray, n: int):
    """Re-index blocks to the kept nodes, dropping cells that touch removed ones."""
    pos = np.full(n, -1)
    pos[keep] = np.arange(len(keep))
    out = []
    for rows, cols in blocks:
        ok = (pos[rows] >= 0) & (pos[cols] >= 0)
        if np.any(ok):
            out.append((pos[rows[ok]], pos[cols[ok]]))
    return tuple(out)


def _shuffle(w: np.ndarray, blocks, null: str, rng: np.random.Generator) -> np.ndarray:
    """Permute the weights inside each block of the symmetric ``w``.

    Each block lists cells (i, j) that each stand for one undirected pair, so
    writing a value to (i, j) and (j, i) keeps ``w`` symmetric.
    """
    out = w.copy()
    for rows, cols in blocks:
        values = w[rows, cols]
        if null == "layer":
            new = rng.permutation(values)
        else:
            new = values.copy()
            nz = values != 0
            new[nz] = rng.permutation(values[nz])
        out[rows, cols] = new
        out[cols, rows] = new
    return out
