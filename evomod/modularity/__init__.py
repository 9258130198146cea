"""Measuring modularity of evolved networks and circuits.

* :func:`q` — Newman Q of a partition (Leicht–Newman when directed).
* :func:`maximize_q` — the best partition: ``"exact"`` (integer program),
  ``"spectral"`` (Newman's eigenvector bisection plus refinement),
  ``"clune"`` (Clune et al.'s unrefined bisection), ``"auto"``.
* :func:`ncut`, :func:`spectral_partition`, :func:`clusterability` — Filan et
  al.'s normalised-cut clusterability and its shuffle test.
* :func:`compare_partitions` — NMI and adjusted Rand index.
* :func:`qm`, :func:`degree_preserving_baseline`, :func:`random_baseline`,
  :func:`genome_baseline`, :func:`degree_constrained_q_max`,
  :class:`BaselineCache` — Kashtan & Alon's normalised Qm (per-network Qm
  from a model and its run settings: :mod:`evomod.baselines`).
* :func:`network_graph`, :func:`score_network` — from the evomod JSON network
  format to graphs and to a full score.

Arrays are square, ``A[i, j]`` = weight of the edge i -> j.
"""

from evomod.modularity.baseline import (
    Baseline,
    BaselineCache,
    degree_constrained_q_max,
    degree_preserving_baseline,
    genome_baseline,
    qm,
    random_baseline,
)
from evomod.modularity.compare import compare_partitions
from evomod.modularity.cut import ClusterabilityResult, clusterability, ncut, spectral_partition
from evomod.modularity.graph import NetworkGraph, network_graph, score_network
from evomod.modularity.infoflow import InfoFlowResult, information_flow_modularity
from evomod.modularity.maximize import ModularityResult, maximize_q
from evomod.modularity.q import q

__all__ = [
    "Baseline",
    "BaselineCache",
    "ClusterabilityResult",
    "InfoFlowResult",
    "ModularityResult",
    "NetworkGraph",
    "clusterability",
    "compare_partitions",
    "degree_constrained_q_max",
    "degree_preserving_baseline",
    "genome_baseline",
    "information_flow_modularity",
    "maximize_q",
    "ncut",
    "network_graph",
    "q",
    "qm",
    "random_baseline",
    "score_network",
    "spectral_partition",
]
