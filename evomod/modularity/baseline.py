"""Kashtan & Alon's normalised modularity Qm and its random baselines.

``Qm = (Q_real - Q_rand) / (Q_max - Q_rand)`` where ``Q_rand`` is the mean
best Q of random networks — degree-preserving rewirings of the real network
(:func:`degree_preserving_baseline`, or :func:`random_baseline` which swaps
and measures with one ``directed`` flag) or networks decoded from random
genomes (:func:`genome_baseline`; Kashtan & Alon condition them on the real
network's node count, see :mod:`evomod.baselines`) — and ``Q_max`` the mean
best Q of networks evolved to maximise Q alone (supplied by the evolution
engine), checked against the degree-sequence-constrained maximum
(:func:`degree_constrained_q_max`). Kashtan & Alon used 1,000 random
networks. Baselines are slow to estimate and shared by a whole
population, so :class:`BaselineCache` keeps them on disk.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from evomod.atomic import atomic_write
from evomod.errors import ConfigError
from evomod.modularity._swap import randomize
from evomod.modularity._validate import as_adjacency, positive_int, rng_from
from evomod.modularity.maximize import METHODS, maximize_q


@dataclass(frozen=True, eq=False)
class Baseline:
    """Mean best Q over ``n`` random networks, with its standard error.

    ``values`` holds every sample's best Q; ``n_empty`` counts samples with no
    edges (their Q is 0 and they are included in the mean); ``source`` says
    where the networks came from.
    """

    mean: float
    sem: float
    std: float
    n: int
    n_empty: int
    source: str
    values: np.ndarray

    @classmethod
    def from_values(cls, values, n_empty: int, source: str) -> "Baseline":
        """Summarise per-sample best Q values (mean, sample std, standard error)."""
        values = np.asarray(values, dtype=float)
        n = len(values)
        std = float(values.std(ddof=1)) if n > 1 else float("nan")
        values.setflags(write=False)
        return cls(
            mean=float(values.mean()),
            sem=std / math.sqrt(n) if n > 1 else float("nan"),
            std=std,
            n=n,
            n_empty=int(n_empty),
            source=source,
            values=values,
        )

    def to_dict(self) -> dict:
        """A JSON-ready dict, read back by :meth:`from_dict`."""
        return {
            "mean": self.mean,
            "sem": self.sem,
            "std": self.std,
            "n": self.n,
            "n_empty": self.n_empty,
            "source": self.source,
            "values": [float(v) for v in self.values],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Baseline":
        """Inverse of :meth:`to_dict` (summaries are recomputed from the values)."""
        return cls.from_values(data["values"], data["n_empty"], data["source"])


def qm(q_real, q_rand, q_max):
    """Kashtan & Alon's normalised modularity ``(Q - Q_rand) / (Q_max - Q_rand)``.

    ``q_real`` may be a number or an array (a whole population); ``q_rand`` and
    ``q_max`` are numbers or :class:`Baseline` objects (their mean is used).
    Raises ConfigError when ``q_max <= q_rand``, where Qm has no meaning.
    """
    q_rand = _number(q_rand.mean if isinstance(q_rand, Baseline) else q_rand, "q_rand")
    q_max = _number(q_max.mean if isinstance(q_max, Baseline) else q_max, "q_max")
    if q_max <= q_rand:
        raise ConfigError(
            "q_max", f"must be greater than q_rand ({q_rand:g}) for Qm to be defined, got {q_max:g}"
        )
    try:
        real = np.asarray(q_real, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError("q_real", f"must be a number or an array of numbers, got {q_real!r}") from None
    if not np.all(np.isfinite(real)):
        raise ConfigError("q_real", "must be finite")
    out = (real - q_rand) / (q_max - q_rand)
    return float(out) if out.ndim == 0 else out


def _number(value, field: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, f"must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ConfigError(field, f"must be finite, got {value!r}")
    return x


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ConfigError("method", f"unknown method {method!r}", METHODS)


def random_baseline(
    adjacency,
    n_samples: int = 1000,
    directed: bool = True,
    method: str = "auto",
    seed=None,
    swaps_per_edge: float = 100.0,
) -> Baseline:
    """Q_rand from degree-preserving rewirings of ``adjacency``.

    Each sample rewires the graph by random edge swaps (directed: a->b, c->d
    become a->d, c->b, keeping every in- and out-degree; undirected: the same
    on ``A + A.T``, keeping every degree), never creating self-loops or
    duplicate edges; ``swaps_per_edge * n_edges`` proposed swaps per sample,
    rejected ones included, so each sample is a uniform draw. Weights
    travel with their edges, so unweighted graphs stay unweighted. Each
    sample's Q is maximised with ``method``.
    """
    _check_method(method)
    return _rewired_baseline(
        adjacency,
        n_samples,
        seed,
        swaps_per_edge,
        source="degree-preserving",
        swap_directed=directed,
        same_weight=False,
        q_of=lambda sample: maximize_q(sample, directed=directed, method=method).q,
    )


def _rewired_baseline(
    adjacency, n_samples, seed, swaps_per_edge, source, swap_directed, same_weight, q_of
) -> Baseline:
    """Mean of ``q_of`` over ``n_samples`` degree-preserving rewirings."""
    a = as_adjacency(adjacency, nonnegative=True)
    n_samples = positive_int(n_samples, "n_samples", minimum=2)
    if not (isinstance(swaps_per_edge, (int, float)) and swaps_per_edge > 0):
        raise ConfigError("swaps_per_edge", f"must be a positive number, got {swaps_per_edge!r}")
    rng = rng_from(seed)
    values = np.empty(n_samples)
    for s in range(n_samples):
        values[s] = q_of(randomize(a, swap_directed, rng, swaps_per_edge, same_weight=same_weight))
    return Baseline.from_values(values, n_empty=n_samples if not a.any() else 0, source=source)


SWAPS = ("directed", "undirected")


def _check_swaps(swaps: str, directed: bool) -> bool:
    """True for undirected swaps; refuses undirected swaps under a directed Q."""
    if swaps not in SWAPS:
        raise ConfigError("swaps", f"unknown swaps {swaps!r}", SWAPS)
    if swaps == "undirected" and directed:
        raise ConfigError(
            "swaps", "undirected swaps lose edge directions, which a directed Q needs", ["directed"]
        )
    return swaps == "undirected"


def _q_view(a: np.ndarray, directed: bool) -> np.ndarray:
    # As evomod.modularity.tracking.measure_network: A directed, A + A.T undirected.
    return a if directed else a + a.T


def degree_preserving_baseline(
    adjacency,
    n_samples: int = 1000,
    directed: bool = False,
    method: str = "auto",
    seed=None,
    swaps: str = "directed",
    swaps_per_edge: float = 100.0,
) -> Baseline:
    """Q_rand of one network: mean best Q over degree-preserving rewirings of it.

    ``adjacency`` is the network's *directed* graph (``A[i, j]`` = edge
    i -> j, as ``network_graph(..., directed=True)`` gives). ``swaps``:

    * ``"directed"`` (default; Kashtan & Alon's randomisations keep the
      network's directed degree sequence): a->b, c->d become a->d, c->b, so
      every node keeps its in- and out-degree, hence also its total degree;
    * ``"undirected"``: swaps on the undirected graph ``A + A.T`` keep every
      node's degree only (refused with ``directed=True``); a reciprocal pair
      a->b, b->a is one edge of weight 2 there and swaps only with other
      such edges, so weighted degrees are kept too.

    No self-loop or duplicate edge is created; self-loops stay in place.
    Each sample's Q is measured as the real network's is by
    :func:`evomod.modularity.tracking.measure_network`: ``maximize_q(A)``
    directed, ``maximize_q(A + A.T)`` undirected, with ``method``. Unlike
    :func:`random_baseline`, the swap rule and the Q are chosen separately.
    """
    _check_method(method)
    undirected_swaps = _check_swaps(swaps, directed)
    return _rewired_baseline(
        adjacency,
        n_samples,
        seed,
        swaps_per_edge,
        source=f"degree-preserving ({swaps} swaps)",
        swap_directed=not undirected_swaps,
        same_weight=True,
        q_of=lambda sample: maximize_q(_q_view(sample, directed), directed=directed, method=method).q,
    )


def degree_constrained_q_max(
    adjacency,
    directed: bool = False,
    method: str = "auto",
    seed=None,
    swaps: str = "directed",
    restarts: int = 8,
    steps_per_edge: float = 20000.0,
) -> Baseline:
    """The highest Q found among graphs with ``adjacency``'s degree sequence.

    A check on the evolved Q_max (see :mod:`evomod.modularity._climb`):
    ``restarts`` simulated-annealing searches over (graph, partition), with
    the swaps ``swaps`` allows (the degrees it keeps, as in
    :func:`degree_preserving_baseline`) and single-node module moves,
    ``steps_per_edge`` moves per edge each. ``values`` holds each restart's
    best Q; the estimate of the constrained maximum is ``values.max()`` (a
    lower bound on the true maximum), ``mean`` says how consistently the
    searches reach it.
    """
    from evomod.modularity._climb import degree_constrained_max

    _check_method(method)
    undirected_swaps = _check_swaps(swaps, directed)
    a = as_adjacency(adjacency, nonnegative=True)
    restarts = positive_int(restarts, "restarts")
    if not (isinstance(steps_per_edge, (int, float)) and steps_per_edge > 0):
        raise ConfigError("steps_per_edge", f"must be a positive number, got {steps_per_edge!r}")
    values, _ = degree_constrained_max(
        a,
        directed,
        method,
        undirected_swaps,
        rng_from(seed),
        restarts=restarts,
        steps_per_edge=float(steps_per_edge),
    )
    return Baseline.from_values(
        values,
        n_empty=restarts if not a.any() else 0,
        source=f"degree-constrained maximum ({swaps} swaps, {restarts} restarts)",
    )


def genome_baseline(
    sample_networks: Callable,
    n_samples: int = 1000,
    directed: bool = True,
    method: str = "auto",
    seed=None,
    weighted: bool = False,
    prune=True,
) -> Baseline:
    """Q_rand from networks decoded from random genomes.

    ``sample_networks(rng)`` must return one random network per call, as an
    adjacency array, a :class:`~evomod.modularity.graph.NetworkGraph` or an
    evomod network dict (turned into a graph with ``directed``, ``weighted``
    and ``prune`` as in :func:`~evomod.modularity.graph.network_graph`).
    It receives one numpy Generator, made from ``seed``, for all calls.
    Networks with no edges left count with Q = 0 (see ``Baseline.n_empty``).
    """
    from evomod.modularity.graph import NetworkGraph, network_graph

    _check_method(method)
    if not callable(sample_networks):
        raise ConfigError("sample_networks", "must be a callable taking a numpy Generator")
    n_samples = positive_int(n_samples, "n_samples", minimum=2)
    rng = rng_from(seed)
    values = np.empty(n_samples)
    empty = 0
    for s in range(n_samples):
        net = sample_networks(rng)
        if isinstance(net, dict):
            net = network_graph(net, directed=directed, weighted=weighted, prune=prune)
        adjacency = net.adjacency if isinstance(net, NetworkGraph) else net
        a = as_adjacency(adjacency, field="sample_networks(rng)", nonnegative=True)
        empty += not a.any()
        values[s] = maximize_q(a, directed=directed, method=method).q
    return Baseline.from_values(values, n_empty=empty, source="genome")


_KEY = re.compile(r"^[A-Za-z0-9._+-]+$")


class BaselineCache:
    """Baselines stored as JSON files, one per (model kind, size key), in ``directory``.

    ``size_key`` may be a string, an int or a sequence of ints (layer sizes,
    joined with "-", e.g. ``(8, 8, 4, 2, 1)`` -> ``"8-8-4-2-1"``). ``params``
    (any JSON-able dict: method, directed, n_samples, ...) is stored with the
    baseline; a stored entry whose params differ counts as missing, so a
    change of settings never reuses a stale baseline. Files are written to a
    temporary file and moved into place with ``os.replace``, so concurrent
    runs and crashes never leave a half-written file.
    """

    def __init__(self, directory):
        self.directory = Path(directory)

    def path(self, kind: str, size_key) -> Path:
        """The file holding the baseline of (kind, size_key)."""
        return self.directory / f"{_key(kind, 'kind')}__{_size_key(size_key)}.json"

    def get(self, kind: str, size_key, params: dict | None = None) -> Baseline | None:
        """The stored baseline, or None if absent or stored with other params."""
        path = self.path(kind, size_key)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            if data.get("params") != _jsonable(params):
                return None
            return Baseline.from_dict(data["baseline"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                "baseline cache", f"{path} is not a valid baseline file ({exc}); delete it to recompute"
            ) from None

    def put(self, kind: str, size_key, baseline: Baseline, params: dict | None = None) -> Path:
        """Store ``baseline`` atomically (temporary file, then ``os.replace``)."""
        path = self.path(kind, size_key)
        self.directory.mkdir(parents=True, exist_ok=True)
        data = {
            "kind": kind,
            "size_key": _size_key(size_key),
            "params": _jsonable(params),
            "baseline": baseline.to_dict(),
        }
        atomic_write(path, json.dumps(data, indent=1))
        return path

    def get_or_compute(
        self, kind: str, size_key, compute: Callable[[], Baseline], params: dict | None = None
    ) -> Baseline:
        """The stored baseline, computing and storing it with ``compute()`` if needed."""
        found = self.get(kind, size_key, params)
        if found is not None:
            return found
        baseline = compute()
        if not isinstance(baseline, Baseline):
            raise ConfigError("compute", f"must return a Baseline, got {type(baseline).__name__}")
        self.put(kind, size_key, baseline, params)
        return baseline


def _key(value, field: str) -> str:
    text = str(value)
    if not _KEY.match(text):
        raise ConfigError(field, f"{value!r} cannot name a cache file", "letters, digits and . _ + -")
    return text


def _size_key(size_key) -> str:
    if isinstance(size_key, (list, tuple)):
        size_key = "-".join(str(int(s)) for s in size_key)
    return _key(size_key, "size_key")


def _jsonable(params):
    # Round-trip so tuples compare equal to the lists read back from disk.
    if params is None:
        return None
    try:
        return json.loads(json.dumps(params))
    except (TypeError, ValueError) as exc:
        raise ConfigError("params", f"must be JSON-serialisable ({exc})") from None
