"""Per-generation modularity of a run's best network (the loop's ``measure``).

Logged columns: ``q`` (Q maximised with the config's ``modularity_method``;
directed Leicht-Newman for layered networks as Clune et al., undirected for
Kashtan & Alon's models, set by ``modularity_directed``), ``modules`` (the
number of modules of that partition) and ``ncut`` (the normalised cut of that
same partition on the undirected |w| graph; the Filan spectral test with its
shuffles is too slow to run every generation and is left to ``evomod score``).
The loop caches results per genome, so an unchanged best costs nothing.
"""

from __future__ import annotations

from evomod.modularity.cut import ncut
from evomod.modularity.graph import network_graph
from evomod.modularity.maximize import maximize_q

COLUMNS = ("q", "modules", "ncut")


def measure_network(network: dict, directed: bool, method: str) -> dict:
    # One parse: the pruned directed |w| graph gives both views below.
    weighted = network_graph(network, directed=True, weighted=True, prune=True).adjacency
    if not weighted.any():
        return {"q": 0.0, "modules": 0, "ncut": float("nan")}
    plain = (weighted != 0).astype(float)
    best = maximize_q(plain if directed else plain + plain.T, directed=directed, method=method, seed=0)
    cut = ncut(weighted + weighted.T, best.labels) if best.n_modules > 1 else 0.0
    return {"q": float(best.q), "modules": int(best.n_modules), "ncut": float(cut)}


def log_measure(config):
    directed, method = config.modularity_directed, config.modularity_method
    return lambda network: measure_network(network, directed, method)
