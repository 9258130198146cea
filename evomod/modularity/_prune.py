"""Node counts of pruned networks for whole populations, compiled with numba.

The same pruning as :func:`evomod.modularity.graph.network_graph` with
``prune=True`` (keep nodes with a directed path to an output, then drop nodes
left without any edge), but on a model's packed edge lists, so that a
size-conditioned sampler can screen millions of random genomes without
building a JSON network for each. Edge weights are summed per (source,
target) pair first, so parallel slots that cancel carry no edge, as in the
network format.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def pruned_node_counts(src, dst, weight, outputs):
    """Kept nodes per network.

    src, dst: (n, E) int64 node ids; weight: (n, E) float64 (0 = no edge);
    outputs: (n, N) bool output nodes. Returns (n,) int64.
    """
    n, n_edges = src.shape
    n_nodes = outputs.shape[1]
    counts = np.zeros(n, dtype=np.int64)
    w = np.zeros((n_nodes, n_nodes))
    reach = np.zeros(n_nodes, dtype=np.bool_)
    for k in range(n):
        w[:, :] = 0.0
        for e in range(n_edges):
            w[src[k, e], dst[k, e]] += weight[k, e]
        for v in range(n_nodes):
            reach[v] = outputs[k, v]
        grown = True
        while grown:
            grown = False
            for u in range(n_nodes):
                if reach[u]:
                    continue
                for v in range(n_nodes):
                    if reach[v] and w[u, v] != 0.0:
                        reach[u] = True
                        grown = True
                        break
        total = 0
        for u in range(n_nodes):
            if not reach[u]:
                continue
            linked = False
            for v in range(n_nodes):
                if reach[v] and (w[u, v] != 0.0 or w[v, u] != 0.0):
                    linked = True
                    break
            if linked:
                total += 1
        counts[k] = total
    return counts
