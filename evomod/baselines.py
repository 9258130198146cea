"""Kashtan & Alon's (2005) normalised modularity Qm, per network, for every model.

``Qm = (Q - Q_rand) / (Q_max - Q_rand)``, with Q measured exactly as runs log
it (:func:`evomod.modularity.tracking.measure_network`: the pruned,
unweighted graph; directed Leicht-Newman Q or Newman Q of ``A + A.T``, with
the run's ``modularity_method``). The paper's two controls for Q_rand, both
reported (:func:`paper_qm`):

* **degree-preserving** (the default for Qm): the mean best Q of
  ``n_samples`` (1,000 in the paper) degree-preserving randomisations of the
  network itself (:func:`degree_control`; swaps keep every node's in- and
  out-degree, or with ``swaps="undirected"`` its degree in ``A + A.T``);
* **size-matched random genomes**: the mean best Q of networks decoded from
  random genomes of the network's own model that prune to the same number
  of nodes as the network (:func:`size_control`). The sampler is **rejection
  sampling**: batches of ``model.random`` genomes are screened by their
  pruned node count (:func:`pruned_sizes`, the same pruning as
  :func:`evomod.modularity.network_graph`), accepted ones are re-checked on
  their JSON network, so the samples follow exactly the model's random-genome
  distribution conditioned on size. It gives up with a ConfigError after
  ``max_genomes`` genomes (default 20 million), reporting how many it found.

Q_max:

* **evolved** (the paper's): the mean best Q of networks evolved for Q alone
  (``objective = "modularity"``) with the run's own settings (model, task,
  population, selection; treatment PA, since Q is the only goal), over
  ``runs`` runs (:func:`evolved_q_max`, run by ``evomod baseline``);
* **degree-constrained** (a check): the best Q that simulated annealing over
  degree-preserving swaps of the network reaches
  (:func:`evomod.modularity.degree_constrained_q_max`).

Everything slow is cached in a :class:`~evomod.modularity.BaselineCache`
directory (atomic writes): the evolved Q_max under the model and Q settings,
the size-matched Q_rand under those and the node count, the per-network
controls under a hash of the network's graph. Each entry stores its
parameters, so a change of settings never reuses a stale value.

The older unmatched random-genome Q_rand (``genome_baseline`` without a size
condition) and :func:`compute_baselines`' ``*.rand``/``*.max`` entries stay
for compatibility (:func:`cached_baselines`, :func:`qm_of_network`,
:func:`attach_qm`); they are not the paper's measure: unmatched random
circuit genomes prune to far smaller networks than evolved ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from evomod.build import build_parts
from evomod.errors import ConfigError
from evomod.models.base import concat, take
from evomod.modularity import BaselineCache, genome_baseline, qm
from evomod.modularity.baseline import (
    Baseline,
    degree_constrained_q_max,
    degree_preserving_baseline,
)

DEFAULT_SAMPLES = 1000
MAX_GENOMES = 20_000_000
SAMPLER = "rejection"


def size_key(network: dict):
    """Layer widths for layered and threshold networks; inputs-gates-outputs for circuits."""
    from evomod.network_format import network_format

    if network_format(network.get("kind")) == "gates":
        return (
            len(network.get("inputs", [])),
            len(network.get("gates", [])),
            len(network.get("outputs", [])),
        )
    return tuple(network.get("layers", ()))


def _params(directed: bool, method: str) -> dict:
    return {"directed": bool(directed), "method": method}


# -- the measured graph ------------------------------------------------------------


def network_adjacency(network: dict) -> np.ndarray:
    """The pruned, unweighted, directed graph whose Q runs log (0/1 floats)."""
    from evomod.modularity.graph import network_graph

    graph = network_graph(network, directed=True, weighted=False, prune=True)
    return (graph.adjacency != 0).astype(float)


def q_of_graph(adjacency: np.ndarray, directed: bool, method: str) -> float:
    """Best Q of a directed 0/1 graph, measured as ``measure_network`` measures a network."""
    from evomod.modularity.maximize import maximize_q

    a = np.asarray(adjacency, dtype=float)
    if not a.any():
        return 0.0
    return float(maximize_q(a if directed else a + a.T, directed=directed, method=method, seed=0).q)


def graph_key(adjacency: np.ndarray) -> str:
    """A short content hash naming a graph's cache entries."""
    a = np.ascontiguousarray(np.asarray(adjacency) != 0, dtype=np.uint8)
    digest = hashlib.sha1(str(a.shape).encode() + a.tobytes()).hexdigest()
    return f"n{a.shape[0]}-{digest[:16]}"


def model_signature(config) -> dict:
    """The settings an evolved Q_max or a random-genome control depends on."""
    return {
        "task": config.task.name,
        "model": _plain(dataclasses.asdict(config.model)),
        "population": config.population,
        "selection": _plain(dataclasses.asdict(config.selection)),
    }


def _plain(value):
    return json.loads(json.dumps(value))


def _hash(data) -> str:
    return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def _cached(cache_dir, kind: str, key: str, params: dict, compute, min_n: int = 0) -> Baseline:
    if cache_dir is None:
        return compute()
    cache = BaselineCache(Path(cache_dir))
    found = cache.get(kind, key, params)
    if found is not None and found.n >= min_n:
        return found
    baseline = compute()
    cache.put(kind, key, baseline, params)
    return baseline


# -- pruned sizes and the size-conditioned sampler ----------------------------------


def output_mask(model, genomes) -> np.ndarray:
    """(n, n_nodes) bool output nodes of each genome (circuits choose theirs)."""
    n = len(next(iter(genomes.values())))
    mask = np.zeros((n, model.n_nodes), dtype=bool)
    if hasattr(model, "wiring"):
        out = model.wiring(genomes)[1].astype(np.int64)
        mask[np.arange(n)[:, None], out] = True
    else:
        mask[:, model.n_nodes - model.n_outputs :] = True
    return mask


def pruned_sizes(model, genomes) -> np.ndarray:
    """Node count of each genome's pruned network, as ``network_graph(prune=True)`` keeps."""
    from evomod.modularity._prune import pruned_node_counts

    if hasattr(model, "expressed_nodes"):  # circuits: a faster count of the same nodes
        return np.asarray(model.expressed_nodes(genomes), dtype=np.int64)
    src, dst, weight = model.edges(genomes)
    return pruned_node_counts(
        np.ascontiguousarray(src, dtype=np.int64),
        np.ascontiguousarray(dst, dtype=np.int64),
        np.ascontiguousarray(weight, dtype=np.float64),
        output_mask(model, genomes),
    )


def sample_size_matched(
    model, n_nodes: int, n: int, rng: np.random.Generator, max_genomes: int = MAX_GENOMES, batch: int = 20_000
):
    """``(genomes, drawn)``: ``n`` random genomes whose pruned networks have ``n_nodes`` nodes.

    Rejection sampling from ``model.random``: batches of ``batch`` genomes are
    drawn and those of the requested size kept (in draw order) until ``n``
    are found; ``drawn`` counts all genomes drawn. Raises ConfigError once
    ``max_genomes`` genomes have been drawn without finding ``n``.
    """
    from evomod.modularity.graph import network_graph

    if isinstance(n_nodes, bool) or not isinstance(n_nodes, (int, np.integer)) or n_nodes < 0:
        raise ConfigError("n_nodes", f"must be a non-negative integer, got {n_nodes!r}")
    if n_nodes > model.n_nodes:
        raise ConfigError(
            "n_nodes",
            f"{model.kind} networks of this model have at most {model.n_nodes} nodes, asked for {n_nodes}",
            f"0..{model.n_nodes}",
        )
    kept, found, drawn = [], 0, 0
    while found < n:
        if drawn >= max_genomes:
            rate = f"{found / drawn:.2g}" if drawn else "0"
            raise ConfigError(
                "n_nodes",
                f"rejection sampling found only {found} of {n} random "
                f"{model.kind} genomes pruning to {n_nodes} nodes in "
                f"{drawn:,} tries (acceptance {rate}); ask for fewer "
                "samples or raise max_genomes",
            )
        m = int(min(batch, max_genomes - drawn))
        genomes = model.random(m, rng)
        drawn += m
        hits = np.flatnonzero(pruned_sizes(model, genomes) == n_nodes)[: n - found]
        if len(hits):
            kept.append(take(genomes, hits))
            found += len(hits)
    genomes = concat(*kept)
    for i in range(n):  # the screen must agree with the network format's own pruning
        size = network_graph(model.to_json(genomes, i), directed=True, prune=True).n_nodes
        if size != n_nodes:
            raise RuntimeError(f"pruned_sizes counted {n_nodes} nodes, network_graph {size}")
    return genomes, drawn


def size_matched_baseline(
    model,
    n_nodes: int,
    directed: bool,
    method: str,
    n_samples: int = DEFAULT_SAMPLES,
    seed=0,
    max_genomes: int = MAX_GENOMES,
) -> Baseline:
    """Q_rand from random genomes of ``model`` conditioned on ``n_nodes`` pruned nodes."""
    rng = np.random.default_rng(seed)
    genomes, drawn = sample_size_matched(model, n_nodes, n_samples, rng, max_genomes)
    values = [
        q_of_graph(network_adjacency(model.to_json(genomes, i)), directed, method) for i in range(n_samples)
    ]
    return Baseline.from_values(
        values,
        n_empty=0 if n_nodes else n_samples,
        source=f"random genomes with {n_nodes} nodes (rejection sampling, {n_samples} of {drawn:,} accepted)",
    )


# -- per-network controls (cached) --------------------------------------------------


def degree_control(
    network_or_adjacency,
    directed: bool,
    method: str,
    n_samples: int = DEFAULT_SAMPLES,
    seed=0,
    swaps: str = "directed",
    cache_dir=None,
) -> Baseline:
    """Q_rand of one network from ``n_samples`` degree-preserving randomisations of it."""
    a = _adjacency(network_or_adjacency)
    params = {**_params(directed, method), "n_samples": n_samples, "seed": seed, "swaps": swaps}
    return _cached(
        cache_dir,
        "graph.qrand_degree",
        graph_key(a),
        params,
        lambda: degree_preserving_baseline(
            a, n_samples=n_samples, directed=directed, method=method, seed=seed, swaps=swaps
        ),
    )


def size_control(
    config,
    n_nodes: int,
    n_samples: int = DEFAULT_SAMPLES,
    seed=0,
    cache_dir=None,
    max_genomes: int = MAX_GENOMES,
    model=None,
) -> Baseline:
    """Q_rand from random genomes of ``config``'s model that prune to ``n_nodes`` nodes."""
    model = model or build_parts(config).model
    directed, method = config.modularity_directed, config.modularity_method
    signature = model_signature(config)
    params = {
        **_params(directed, method),
        "signature": signature,
        "n_samples": n_samples,
        "seed": seed,
        "sampler": SAMPLER,
    }
    return _cached(
        cache_dir,
        f"{model.kind}.qrand_size",
        f"n{n_nodes}-{_hash(signature)}",
        params,
        lambda: size_matched_baseline(
            model, n_nodes, directed, method, n_samples=n_samples, seed=seed, max_genomes=max_genomes
        ),
    )


def degree_max(
    network_or_adjacency,
    directed: bool,
    method: str,
    seed=0,
    swaps: str = "directed",
    restarts: int = 8,
    cache_dir=None,
) -> Baseline:
    """The degree-constrained Q_max check; its estimate is ``values.max()``."""
    a = _adjacency(network_or_adjacency)
    params = {**_params(directed, method), "seed": seed, "swaps": swaps, "restarts": restarts}
    return _cached(
        cache_dir,
        "graph.qmax_degree",
        graph_key(a),
        params,
        lambda: degree_constrained_q_max(
            a, directed=directed, method=method, seed=seed, swaps=swaps, restarts=restarts
        ),
    )


def _adjacency(network_or_adjacency) -> np.ndarray:
    if isinstance(network_or_adjacency, dict):
        return network_adjacency(network_or_adjacency)
    return (np.asarray(network_or_adjacency) != 0).astype(float)


# -- evolved Q_max ------------------------------------------------------------------


def _q_max_config(config, generations: int, population: int | None, seed: int):
    population = config.population if population is None else int(population)
    elite = config.selection.elite
    if population != config.population:
        elite = max(1, min(population - 1, round(elite * population / config.population)))
    return dataclasses.replace(
        config,
        seed=seed,
        generations=generations,
        population=population,
        objective="modularity",
        log_modularity_every=0,
        stop_when="never",
        selection=dataclasses.replace(config.selection, treatment="PA", elite=elite),
    )


def _evolve_for_q(args) -> tuple[float, int]:
    """One evolution for Q alone: (Q of its best network, generation of the last gain)."""
    config, generations = args
    from evomod.evolve import Evolution
    from evomod.runs import make_measure

    evolution = Evolution(config, measure=make_measure(dataclasses.replace(config, log_modularity_every=1)))
    state = evolution.initial_state()
    evolution.run(state, generations)
    best = [float(row["best"]) for row in state.logbook]
    top = max(best) if best else 0.0
    last_gain = next((g for g, b in enumerate(best) if b >= top - 1e-12), 0)
    return float(state.performance[evolution.best_index(state)]), int(last_gain)


def evolved_q_max(
    config,
    runs: int = 10,
    generations: int = 1000,
    population: int | None = None,
    cache_dir=None,
    workers: int = 1,
) -> Baseline:
    """Q_max: mean Q of the best network of ``runs`` evolutions for Q alone.

    Each run uses ``config`` with seed ``config.seed + r``, ``objective =
    "modularity"``, treatment PA and no stop rule, for ``generations``
    generations (``population`` overrides the run's own, scaling the elite).
    The source string says when the best Q last rose (a run whose last gain
    falls in its final fifth may not have plateaued). Cached under the model
    and Q settings; a cached entry with fewer runs is recomputed.
    """
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ConfigError("runs", f"must be a positive integer, got {runs!r}")
    if isinstance(generations, bool) or not isinstance(generations, int) or generations < 1:
        raise ConfigError("generations", f"must be a positive integer, got {generations!r}")
    base = _q_max_config(config, generations, population, config.seed)
    kind = build_parts(base).model.kind
    signature = model_signature(base)
    params = {**_params(config.modularity_directed, config.modularity_method), "signature": signature}

    def compute():
        jobs = [
            (_q_max_config(config, generations, population, config.seed + r), generations)
            for r in range(runs)
        ]
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(_evolve_for_q, jobs))
        else:
            results = [_evolve_for_q(job) for job in jobs]
        values = [q for q, _ in results]
        gains = [g for _, g in results]
        late = sum(g > 0.8 * generations for g in gains)
        return Baseline.from_values(
            values,
            n_empty=0,
            source=(
                f"evolved for Q ({runs} runs, {generations} generations, population "
                f"{base.population}, elite {base.selection.elite}); best Q last rose at generation "
                f"{min(gains)}..{max(gains)}"
                + (f", {late} run(s) still rising in the last fifth" if late else "")
            ),
        )

    return _cached(cache_dir, f"{kind}.qmax_evolved", _hash(params), params, compute, min_n=runs)


def cached_evolved_q_max(config, cache_dir) -> Baseline | None:
    """The evolved Q_max stored for ``config``'s settings, or None."""
    if cache_dir is None:
        return None
    base = _q_max_config(config, 1, None, config.seed)
    kind = build_parts(base).model.kind
    params = {
        **_params(config.modularity_directed, config.modularity_method),
        "signature": model_signature(base),
    }
    return BaselineCache(Path(cache_dir)).get(f"{kind}.qmax_evolved", _hash(params), params)


# -- Qm of one network --------------------------------------------------------------


def paper_qm(
    network: dict,
    config=None,
    *,
    directed: bool | None = None,
    method: str | None = None,
    cache_dir=None,
    n_samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    swaps: str = "directed",
    size_matched: bool = True,
    degree_check: bool = True,
    q_max: float | None = None,
    max_genomes: int = MAX_GENOMES,
) -> dict:
    """Q, both Q_rand controls, Q_max (evolved and degree-constrained) and Qm of one network.

    ``config`` (the run's) fixes ``directed``/``method`` and gives the model
    for the size-matched control and the evolved Q_max; without it,
    ``directed`` and ``method`` are the model's defaults
    (:func:`evomod.network_format.scoring_defaults`), the size-matched
    control is skipped and the evolved Q_max comes from an older ``evomod baseline`` entry for the
    network's kind and size if there is one (its model settings unchecked).
    ``q_max`` overrides the evolved Q_max (a number). Returns a JSON-ready
    dict:

    ``q``, ``n_nodes``, ``n_edges``; ``q_rand_degree`` (+ ``_sem``, ``_n``);
    ``q_rand_size`` (+ ``_sem``, ``_n``; None when skipped or impossible);
    ``q_max`` (+ ``_sem``, ``_n``, ``_source``); ``q_max_degree`` (the best
    of the restarts; ``q_max_degree_mean``); ``qm`` (degree-preserving
    Q_rand, the default), ``qm_size`` (size-matched Q_rand), ``qm_degree_max``
    (degree-preserving Q_rand with the degree-constrained Q_max);
    ``q_rand_control`` = ``"degree"`` (the one ``qm`` uses); ``notes``
    (why any field is None).
    """
    kind = network.get("kind") if isinstance(network, dict) else None
    if config is not None:
        directed, method = config.modularity_directed, config.modularity_method
    else:
        from evomod.network_format import scoring_defaults

        default_directed, default_method = scoring_defaults(kind)
        directed = default_directed if directed is None else bool(directed)
        method = method or default_method
    a = network_adjacency(network)
    q = q_of_graph(a, directed, method)
    n_nodes = int(a.shape[0])
    notes = []
    out = {
        "kind": kind,
        "directed": bool(directed),
        "method": method,
        "q": q,
        "n_nodes": n_nodes,
        "n_edges": int(np.count_nonzero(a)),
        "q_rand_control": "degree",
        "n_samples": n_samples,
        "sampler": SAMPLER,
    }

    deg = degree_control(
        a, directed, method, n_samples=n_samples, seed=seed, swaps=swaps, cache_dir=cache_dir
    )
    out.update(_fields("q_rand_degree", deg))

    size = None
    if not size_matched:
        notes.append("size-matched Q_rand not requested")
    elif config is None:
        notes.append("size-matched Q_rand needs the run's config (its model)")
    else:
        try:
            size = size_control(
                config, n_nodes, n_samples=n_samples, seed=seed, cache_dir=cache_dir, max_genomes=max_genomes
            )
        except ConfigError as err:
            notes.append(f"size-matched Q_rand: {err}")
    out.update(_fields("q_rand_size", size))

    evolved = None
    if q_max is not None:
        evolved = float(q_max)
        out.update(q_max=evolved, q_max_sem=None, q_max_n=None, q_max_source="given")
    else:
        found = cached_evolved_q_max(config, cache_dir) if config is not None else None
        if found is None and config is None and cache_dir is not None:
            legacy = cached_baselines(network, directed, method, cache_dir)
            if legacy is not None:
                found = legacy[1]
                notes.append(
                    "Q_max from an older `evomod baseline` entry for this kind and "
                    "size (model settings not checked)"
                )
        if found is None:
            where = "no baseline directory given" if cache_dir is None else f"none in {cache_dir}/"
            notes.append(
                f"no evolved Q_max for these settings ({where}; compute it with `evomod baseline CONFIG`)"
            )
        else:
            evolved = found.mean
        out.update(_fields("q_max", found))
        out["q_max_source"] = None if found is None else found.source

    check = (
        degree_max(a, directed, method, seed=seed, swaps=swaps, cache_dir=cache_dir) if degree_check else None
    )
    out["q_max_degree"] = None if check is None else float(check.values.max())
    out["q_max_degree_mean"] = None if check is None else check.mean

    out["qm"] = _qm_or_note(q, deg.mean, evolved, "qm", notes)
    out["qm_size"] = _qm_or_note(q, None if size is None else size.mean, evolved, "qm_size", notes)
    out["qm_degree_max"] = _qm_or_note(q, deg.mean, out["q_max_degree"], "qm_degree_max", notes)
    out["notes"] = notes
    return out


def _fields(prefix: str, baseline: Baseline | None) -> dict:
    if baseline is None:
        return {prefix: None, f"{prefix}_sem": None, f"{prefix}_n": None}
    sem = None if math.isnan(baseline.sem) else baseline.sem
    return {prefix: baseline.mean, f"{prefix}_sem": sem, f"{prefix}_n": baseline.n}


def _qm_or_note(q, q_rand, q_max, name, notes):
    if q_rand is None or q_max is None:
        return None
    if q_max <= q_rand:
        notes.append(f"{name}: Q_max {q_max:.4g} is not above Q_rand {q_rand:.4g}; Qm undefined")
        return None
    return float(qm(q, q_rand, q_max))


def run_config_for(network_path, config_path=None):
    """The run's Config for a network file: ``config_path`` (TOML or a run's
    config.json) if given, else the ``config.json`` beside the file (a run's
    ``best.json``), else None."""
    from evomod import config as config_mod
    from evomod.rundir import read_json

    if config_path is not None:
        path = Path(config_path)
        if path.suffix == ".json":
            return config_mod.from_dict(read_json(path, "config"))
        return config_mod.load(path)
    beside = Path(network_path).parent / "config.json"
    if beside.exists():
        return config_mod.from_dict(read_json(beside, "config.json"))
    return None


def qm_rows(result: dict) -> list[tuple[str, str]]:
    """Table rows (name, text) of a :func:`paper_qm` result, for ``evomod score``."""

    def num(value, sem=None, n=None):
        if value is None:
            return "–"
        text = f"{value:.4f}"
        if sem is not None:
            text += f" ± {sem:.4f}"
        return text + (f" (n = {n})" if n is not None else "")

    rows = [
        (
            "Q_rand (degree-preserving)",
            num(result["q_rand_degree"], result["q_rand_degree_sem"], result["q_rand_degree_n"]),
        ),
        (
            "Q_rand (size-matched genomes)",
            num(result["q_rand_size"], result["q_rand_size_sem"], result["q_rand_size_n"]),
        ),
        ("Q_max (evolved)", num(result["q_max"], result["q_max_sem"], result["q_max_n"])),
        ("Q_max (degree-constrained)", num(result["q_max_degree"])),
        ("Qm", num(result["qm"]) + " (degree-preserving Q_rand, evolved Q_max)"),
        ("Qm (size-matched Q_rand)", num(result["qm_size"])),
    ]
    rows += [("note", note) for note in result["notes"]]
    return rows


# -- `evomod baseline` and the older cache entries ----------------------------------


def compute_baselines(
    config, cache_dir, samples=1000, runs=5, generations=300, population=None, sizes=(), workers: int = 1
) -> dict[str, Baseline]:
    """What ``evomod baseline`` computes and caches for ``config``.

    * the evolved Q_max (:func:`evolved_q_max`: ``runs`` runs of
      ``generations`` generations, the run's own population unless
      ``population`` is given);
    * the size-matched Q_rand for each node count in ``sizes``
      (:func:`size_control`, ``samples`` networks each);
    * for compatibility, the older entries: the unmatched random-genome
      Q_rand (``samples`` networks) and the same Q_max, keyed by kind and
      size only.
    """
    parts = build_parts(config)
    model = parts.model
    directed, method = config.modularity_directed, config.modularity_method
    key = size_key(model.to_json(model.random(1, np.random.default_rng(0)), 0))

    def random_network(rng):
        return model.to_json(model.random(1, rng), 0)

    q_max = evolved_q_max(
        config,
        runs=runs,
        generations=generations,
        population=population,
        cache_dir=cache_dir,
        workers=workers,
    )
    results = {}
    for n_nodes in sizes:
        results[f"Q_rand ({n_nodes} nodes, size-matched genomes)"] = size_control(
            config, int(n_nodes), n_samples=samples, seed=config.seed, cache_dir=cache_dir, model=model
        )
    q_rand = genome_baseline(
        random_network, n_samples=samples, directed=directed, method=method, seed=config.seed
    )
    cache = BaselineCache(cache_dir)
    params = _params(directed, method)
    cache.put(f"{model.kind}.rand", key, q_rand, params)
    cache.put(f"{model.kind}.max", key, q_max, params)
    results["Q_rand (unmatched random genomes; not the paper's control)"] = q_rand
    results["Q_max"] = q_max
    return results


def cached_baselines(network: dict, directed: bool, method: str, cache_dir):
    """Older entries: ``(Q_rand, Q_max)`` for this network's kind and size, or ``None``."""
    cache = BaselineCache(Path(cache_dir))
    kind, key = network.get("kind"), size_key(network)
    params = _params(directed, method)
    q_rand = cache.get(f"{kind}.rand", key, params)
    q_max = cache.get(f"{kind}.max", key, params)
    return None if q_rand is None or q_max is None else (q_rand, q_max)


def qm_of_network(network: dict, directed: bool, method: str, cache_dir) -> float | None:
    """Older Qm from the unmatched random-genome Q_rand, or None without cached baselines."""
    from evomod.modularity.tracking import measure_network

    found = cached_baselines(network, directed, method, cache_dir)
    if found is None:
        return None
    q_rand, q_max = found
    return float(qm(measure_network(network, directed, method)["q"], q_rand.mean, q_max.mean))


def attach_qm(result: dict, network: dict, cache_dir) -> dict:
    """Add the older Qm to a ``score_network`` result when both baselines are cached."""
    kind, key = network.get("kind"), size_key(network)
    found = cached_baselines(network, result["directed"], result["method"], cache_dir)
    if found is None:
        result["qm"] = None
        result["qm_note"] = (
            f"no baselines for {kind} {key} with method {result['method']!r} in "
            f"{cache_dir}/ (compute them with `evomod baseline CONFIG`)"
        )
        return result
    q_rand, q_max = found
    result.update(
        qm=float(qm(result["q"], q_rand.mean, q_max.mean)),
        q_rand=q_rand.mean,
        q_rand_sem=q_rand.sem,
        q_rand_n=q_rand.n,
        q_max=q_max.mean,
        q_max_sem=q_max.sem,
        q_max_n=q_max.n,
    )
    return result
