"""How similar two partitions of the same nodes are."""

from __future__ import annotations

from evomod.errors import ConfigError
from evomod.modularity._validate import as_labels


def compare_partitions(labels_a, labels_b) -> dict:
    """Normalised mutual information and adjusted Rand index of two partitions.

    Both come from scikit-learn (``normalized_mutual_info_score`` with its
    default arithmetic normalisation, ``adjusted_rand_score``); both are 1 for
    identical partitions whatever the label names, NMI is 0 and ARI about 0
    for unrelated ones.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    try:
        n = len(labels_a)
    except TypeError:
        raise ConfigError("labels_a", f"must be a 1-D sequence of labels, got {labels_a!r}") from None
    a = as_labels(labels_a, n, field="labels_a")
    try:
        b = as_labels(labels_b, n, field="labels_b")
    except ConfigError as exc:
        raise ConfigError("labels_b", f"must label the same {n} nodes as labels_a ({exc})") from None
    if n == 0:
        raise ConfigError("labels_a", "is empty")
    return {"nmi": float(normalized_mutual_info_score(a, b)), "ari": float(adjusted_rand_score(a, b))}
