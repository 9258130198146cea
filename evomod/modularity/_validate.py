"""Input checks shared by the modularity measures.

Every public function funnels its arrays through here so that bad input fails
early with a :class:`~evomod.errors.ConfigError` naming the argument, instead
of surfacing later as a numpy broadcasting error or a silent NaN.
"""

from __future__ import annotations

import numpy as np

from evomod.errors import ConfigError


def as_adjacency(adjacency, field: str = "adjacency", nonnegative: bool = False) -> np.ndarray:
    """A float64 copy of a square, finite weight matrix."""
    try:
        a = np.array(adjacency, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(field, f"must be a square numeric array ({exc})") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ConfigError(field, f"must be a square 2-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ConfigError(field, "contains NaN or infinite weights")
    if nonnegative and np.any(a < 0):
        raise ConfigError(
            field,
            "has negative weights; Newman/Leicht-Newman Q is defined "
            "for non-negative weights only (pass np.abs(adjacency))",
        )
    return a


def canonical_labels(labels) -> np.ndarray:
    """Relabel so modules are numbered 0, 1, ... in order of first appearance.

    Two equal partitions then compare equal element-wise, whatever names the
    caller or the algorithm happened to use.
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


def as_labels(labels, n: int, field: str = "labels") -> np.ndarray:
    """Module labels for ``n`` nodes as canonical integers 0..K-1."""
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError) as exc:
        raise ConfigError(field, f"must be a 1-D sequence of module labels ({exc})") from None
    if arr.ndim != 1:
        raise ConfigError(field, f"must be 1-D, got shape {arr.shape}")
    if len(arr) != n:
        raise ConfigError(field, f"has {len(arr)} entries but the graph has {n} nodes")
    try:
        return canonical_labels(arr)
    except TypeError as exc:
        # np.unique needs orderable labels; mixed types (e.g. 1 and "a") are not.
        raise ConfigError(field, f"labels must be mutually comparable ({exc})") from None


def as_seed(seed, field: str = "seed"):
    """Accept None, a non-negative int or a numpy Generator (used as is)."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(field, f"must be None, a non-negative integer or a numpy Generator, got {seed!r}")
    if seed < 0:
        raise ConfigError(field, f"must be non-negative, got {seed}")
    return int(seed)


def rng_from(seed) -> np.random.Generator:
    seed = as_seed(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def positive_int(value, field: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(field, f"must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ConfigError(field, f"must be >= {minimum}, got {value}")
    return int(value)


def isolated_mask(a: np.ndarray) -> np.ndarray:
    """Nodes with no edge at all (in or out, self-loops count as edges)."""
    return ~((a != 0).any(axis=0) | (a != 0).any(axis=1))
