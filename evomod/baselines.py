"""Qm baselines from the evolution engine (Kashtan & Alon 2005).

Qm = (Q - Q_rand) / (Q_max - Q_rand) needs, per network model and size:
- Q_rand: the mean best Q of networks decoded from random genomes;
- Q_max: the mean best Q of networks evolved to maximise Q alone (the loop
  with ``objective = "modularity"``).
Both are computed once by ``evomod baseline CONFIG`` and kept in a
``BaselineCache`` directory, keyed by model kind and size and by the Q
settings (method, directed), so scoring is then cheap and never mixes
settings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from evomod.build import build_parts
from evomod.modularity import BaselineCache, genome_baseline, qm
from evomod.modularity.baseline import Baseline

DEFAULT_METHOD = {"layered": "clune", "threshold": "spectral", "circuit": "spectral"}


def size_key(network: dict):
    """Layer widths for layered and threshold networks; inputs-gates-outputs for circuits."""
    if network.get("kind") == "circuit":
        return (len(network.get("inputs", [])), len(network.get("gates", [])),
                len(network.get("outputs", [])))
    return tuple(network.get("layers", ()))


def _params(directed: bool, method: str) -> dict:
    return {"directed": bool(directed), "method": method}


def compute_baselines(config, cache_dir, samples=1000, runs=5, generations=300,
                      population=100) -> dict[str, Baseline]:
    from evomod.evolve import Evolution
    from evomod.runs import make_measure

    parts = build_parts(config)
    model = parts.model
    directed, method = config.modularity_directed, config.modularity_method
    key = size_key(model.to_json(model.random(1, np.random.default_rng(0)), 0))

    def random_network(rng):
        return model.to_json(model.random(1, rng), 0)

    q_rand = genome_baseline(random_network, n_samples=samples, directed=directed, method=method,
                             seed=config.seed)
    best_q = []
    for r in range(runs):
        evolved_config = dataclasses.replace(
            config, seed=config.seed + r, generations=generations, population=population,
            objective="modularity", log_modularity_every=0,
            selection=dataclasses.replace(config.selection, treatment="PA",
                                          elite=min(config.selection.elite, population // 4)))
        evolution = Evolution(evolved_config, measure=make_measure(dataclasses.replace(
            evolved_config, log_modularity_every=1)))
        state = evolution.initial_state()
        evolution.run(state, generations)
        best_q.append(float(state.performance.max()))
    q_max = Baseline.from_values(best_q, n_empty=0, source=f"evolved for Q ({generations} generations, "
                                                           f"population {population})")
    cache = BaselineCache(cache_dir)
    params = _params(directed, method)
    cache.put(f"{model.kind}.rand", key, q_rand, params)
    cache.put(f"{model.kind}.max", key, q_max, params)
    return {"Q_rand": q_rand, "Q_max": q_max}


def cached_baselines(network: dict, directed: bool, method: str, cache_dir):
    """``(Q_rand, Q_max)`` for this network's model and size, or ``None`` when either is missing."""
    cache = BaselineCache(Path(cache_dir))
    kind, key = network.get("kind"), size_key(network)
    params = _params(directed, method)
    q_rand = cache.get(f"{kind}.rand", key, params)
    q_max = cache.get(f"{kind}.max", key, params)
    return None if q_rand is None or q_max is None else (q_rand, q_max)


def qm_of_network(network: dict, directed: bool, method: str, cache_dir) -> float | None:
    """Qm of a network, measured as runs log Q, or None without cached baselines."""
    from evomod.modularity.tracking import measure_network
    found = cached_baselines(network, directed, method, cache_dir)
    if found is None:
        return None
    q_rand, q_max = found
    return float(qm(measure_network(network, directed, method)["q"], q_rand.mean, q_max.mean))


def attach_qm(result: dict, network: dict, cache_dir) -> dict:
    """Add Qm to a ``score_network`` result when both baselines are cached."""
    kind, key = network.get("kind"), size_key(network)
    found = cached_baselines(network, result["directed"], result["method"], cache_dir)
    if found is None:
        result["qm"] = None
        result["qm_note"] = (f"no baselines for {kind} {key} with method {result['method']!r} in "
                             f"{cache_dir}/ (compute them with `evomod baseline CONFIG`)")
        return result
    q_rand, q_max = found
    result.update(qm=float(qm(result["q"], q_rand.mean, q_max.mean)),
                  q_rand=q_rand.mean, q_rand_sem=q_rand.sem, q_rand_n=q_rand.n,
                  q_max=q_max.mean, q_max_sem=q_max.sem, q_max_n=q_max.n)
    return result
