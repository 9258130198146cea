"""Maximising Q over partitions: exact, spectral and Clune's procedure.

All three work on the symmetric modularity matrix B of
:func:`evomod.modularity.q.modularity_matrix` (for directed graphs
Leicht & Newman's ``(B + B.T)/2``, which has the same Q for every partition).

Isolated nodes (no edge in or out) have all-zero rows in B, so they cannot
change Q; they are taken out before maximising and each is returned as its own
module. A graph without edges therefore gives Q = 0 and every node its own
module.

Methods
-------
``"exact"``
    The true maximum (see :mod:`evomod.modularity._exact`): connected
    components separately (a module spanning two components can always be
    split without lowering Q), leaves merged into their neighbours (provably
    harmless), then column generation over modules with exhaustive pricing
    (components of up to 23 nodes after merging), or Brandes et al.'s (2008)
    clique-partitioning integer program for larger components. Both are
    solved by HiGHS through scipy with zero optimality gap, and both prove
    optimality. Zachary's karate club (34 nodes) takes well under a second;
    cost grows exponentially with component size.
``"spectral"``
    Newman (2006) leading-eigenvector repeated bisection (Leicht & Newman
    2008 for directed graphs, via the symmetric B), each bisection refined by
    Kernighan–Lin-style single-node moves; then a global refinement of the
    final partition: greedy node moves (to any module or a new one) and
    module merges, multi-way Kernighan–Lin sweeps, and re-splitting of module
    pairs, repeated while Q rises. Dense linear algebra, roughly cubic in the
    node count: fine to a few hundred nodes.
``"clune"``
    Clune, Mouret & Lipson (2013): repeated leading-eigenvector bisection
    with no refinement, splitting a module only while the split raises Q by
    more than 1e-5.
``"auto"``
    ``"exact"`` when at most 20 nodes remain after dropping isolated ones,
    otherwise ``"spectral"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evomod.config import MODULARITY_METHODS
from evomod.errors import ConfigError
from evomod.modularity._exact import exact_partition
from evomod.modularity._spectral import EPS, bisect, refine
from evomod.modularity._validate import as_adjacency, as_seed, canonical_labels, isolated_mask
from evomod.modularity.q import modularity_matrix
from evomod.modularity.q import q as modularity_q

METHODS = MODULARITY_METHODS
AUTO_EXACT_MAX_NODES = 20
CLUNE_MIN_GAIN = 1e-5


@dataclass(frozen=True, eq=False)
class ModularityResult:
    """Best partition found: ``q``, canonical ``labels`` (read-only int array,
    modules numbered by first appearance), the ``method`` actually used and
    ``n_modules``."""

    q: float
    labels: np.ndarray
    method: str
    n_modules: int
    directed: bool

    def modules(self) -> list[np.ndarray]:
        """Node indices of each module, in label order."""
        return [np.flatnonzero(self.labels == c) for c in range(self.n_modules)]


def maximize_q(adjacency, directed: bool = True, method: str = "auto", seed=None) -> ModularityResult:
    """The partition of ``adjacency`` with the highest Q that ``method`` finds.

    Parameters
    ----------
    adjacency : square array, ``A[i, j]`` = non-negative weight of edge i -> j.
    directed : Leicht–Newman directed Q (Clune) if True; Newman Q of the
        undirected graph ``A + A.T`` (Kashtan & Alon) if False.
    method : ``"auto"``, ``"exact"``, ``"spectral"`` or ``"clune"`` (see the
        module docstring).
    seed : accepted for a uniform interface; every method here is
        deterministic, so it does not change the result.

    Returns a :class:`ModularityResult`; ``q`` is recomputed from the labels
    with :func:`evomod.modularity.q`, so it is exactly the Q of the partition
    returned.
    """
    if method not in METHODS:
        raise ConfigError("method", f"unknown method {method!r}", METHODS)
    as_seed(seed)
    a = as_adjacency(adjacency, nonnegative=True)
    n = a.shape[0]
    live = np.flatnonzero(~isolated_mask(a))
    if method == "auto":
        method = "exact" if len(live) <= AUTO_EXACT_MAX_NODES else "spectral"

    labels = np.arange(n, dtype=np.int64)  # isolated nodes: one module each
    if len(live) > 0:
        sub = a[np.ix_(live, live)]
        b, norm = modularity_matrix(sub, directed)
        if method == "exact":
            sub_labels = exact_partition(b, sub, norm)
        elif method == "spectral":
            sub_labels = refine(b, bisect(b, norm, refine=True, min_gain=EPS))
        else:
            sub_labels = bisect(b, norm, refine=False, min_gain=CLUNE_MIN_GAIN)
        # Offset by n so the live modules never collide with isolated-node ids.
        labels[live] = n + sub_labels
    labels = canonical_labels(labels)
    labels.setflags(write=False)
    return ModularityResult(
        q=modularity_q(a, labels, directed=directed),
        labels=labels,
        method=method,
        n_modules=int(labels.max()) + 1 if n else 0,
        directed=bool(directed),
    )
