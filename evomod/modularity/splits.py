"""Does a network's best partition put its left and right inputs apart?

Clune et al. (2013) report the fraction of runs whose best network has "left
and right inputs in different modules" (56 % for P&CC, 0 % for PA). The paper
does not spell the test out; evomod's reading: on the pruned network (hidden
nodes with no path to the output removed, then isolated nodes), maximise Q as
the run logs it; the inputs are split when no module holds both a left input
(pixels 0-3) and a right input (pixels 4-7). A network that keeps inputs of
only one side, or none, has no split to find: the answer is None, and such
runs are counted apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from evomod.modularity.graph import network_graph
from evomod.modularity.maximize import maximize_q

LEFT = (0, 1, 2, 3)
RIGHT = (4, 5, 6, 7)


def left_right_split(
    network: Mapping, directed: bool = True, method: str = "clune", left=LEFT, right=RIGHT
) -> bool | None:
    graph = network_graph(network, directed=directed, weighted=False, prune=True)
    if graph.n_edges == 0:
        return None
    adjacency = (graph.adjacency != 0).astype(float)
    if not directed:
        adjacency = adjacency + adjacency.T
    labels = maximize_q(adjacency, directed=directed, method=method, seed=0).labels
    module = {int(node): int(label) for node, label in zip(graph.node_ids, labels)}
    left_modules = {module[i] for i in left if i in module}
    right_modules = {module[i] for i in right if i in module}
    if not left_modules or not right_modules:
        return None
    return not (left_modules & right_modules)
