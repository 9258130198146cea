"""Spectral modularity maximisation: Newman's leading-eigenvector bisection.

Everything here works on a symmetric modularity matrix ``b`` with
``Q = sum_ij b_ij delta(c_i, c_j) / norm`` (see
:func:`evomod.modularity.q.modularity_matrix`); ``b`` may also be a
contracted matrix (groups of nodes summed), whose diagonal then holds each
group's internal sum.
"""

from __future__ import annotations

import numpy as np

from evomod.modularity._validate import canonical_labels

# Below this a "gain" in Q is floating-point noise, not an improvement.
EPS = 1e-10


def bisect(b: np.ndarray, norm: float, refine: bool, min_gain: float) -> np.ndarray:
    """Repeatedly split modules by the sign of the leading eigenvector of the
    generalised modularity matrix, keeping a split only if it raises Q by more
    than ``min_gain``."""
    n = b.shape[0]
    labels = np.zeros(n, dtype=np.int64)
    pending = [np.arange(n)]
    next_label = 1
    while pending:
        group = pending.pop()
        if len(group) < 2:
            continue
        bg = b[np.ix_(group, group)]
        # Newman's B^(g): subtracting each row sum makes the Q change of a
        # split of g equal s^T B^(g) s / (2 norm), whatever the rest does.
        bg = bg - np.diag(bg.sum(axis=1))
        vals, vecs = np.linalg.eigh(bg)
        if vals[-1] <= EPS * max(1.0, np.abs(vals).max()):
            continue  # indivisible: no split can raise Q
        lead = vecs[:, -1]
        # Fix the eigenvector's arbitrary sign so the result is reproducible.
        if lead[np.argmax(np.abs(lead))] < 0:
            lead = -lead
        s = np.where(lead > 0, 1.0, -1.0)
        if refine:
            s = kl_refine(bg, s)
        if np.all(s == s[0]):
            continue
        gain = float(s @ bg @ s) / (2.0 * norm)
        if gain <= min_gain:
            continue
        side = group[s < 0]
        labels[side] = next_label
        next_label += 1
        pending.append(group[s > 0])
        pending.append(side)
    return labels


def kl_refine(bg: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Newman's fine-tuning of a bisection: in each sweep move every node once,
    always the one whose move helps most (or hurts least), then keep the best
    intermediate state; repeat while a sweep improves."""
    s = s.copy()
    diag = np.diag(bg)
    n = len(s)
    while True:
        cur = s.copy()
        field = bg @ cur
        moved = np.zeros(n, dtype=bool)
        order = np.empty(n, dtype=np.int64)
        total, best, best_step = 0.0, 0.0, -1
        scale = max(1.0, float(np.abs(bg).sum()))
        for step in range(n):
            # Flipping node i changes s^T Bg s by 4 (Bg_ii - s_i (Bg s)_i).
            gains = 4.0 * (diag - cur * field)
            gains[moved] = -np.inf
            i = int(np.argmax(gains))
            total += gains[i]
            field -= 2.0 * cur[i] * bg[:, i]
            cur[i] = -cur[i]
            moved[i] = True
            order[step] = i
            if total > best + EPS * scale:
                best, best_step = total, step
        if best_step < 0:
            return s
        s[order[: best_step + 1]] *= -1


def polish(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Greedy global refinement: apply the single best node move (to another
    module or a new one) or, when none helps, the best merge of two modules,
    until neither raises Q."""
    labels = canonical_labels(labels)
    n = b.shape[0]
    scale = max(1.0, float(np.abs(b).sum()))
    diag = np.diag(b)
    idx = np.arange(n)
    while True:
        k = int(labels.max()) + 1
        member = np.zeros((n, k + 1))
        member[idx, labels] = 1.0  # column k stays empty: "a new module"
        link = b @ member  # link[i, c] = sum of B_ij over j in module c
        # Moving i from c to d changes Q by (2/norm)(link[i,d] - link[i,c] + B_ii).
        gain = link - (link[idx, labels] - diag)[:, None]
        gain[idx, labels] = 0.0
        i, d = np.unravel_index(np.argmax(gain), gain.shape)
        if gain[i, d] > EPS * scale:
            labels[i] = d
            labels = canonical_labels(labels)
            continue
        between = member[:, :k].T @ link[:, :k]
        np.fill_diagonal(between, -np.inf)
        c1, c2 = np.unravel_index(np.argmax(between), between.shape)
        if k > 1 and between[c1, c2] > EPS * scale:
            labels[labels == c2] = c1
            labels = canonical_labels(labels)
            continue
        return labels


def refine(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Polish, then alternate multi-way Kernighan–Lin sweeps and re-splitting
    of module pairs (each followed by polishing) while they raise Q.

    Greedy moves stop at the first local optimum; the sweeps accept temporary
    losses and the pair re-splits let two modules trade many nodes at once,
    which together close most of the remaining gap to the exact optimum on
    evolved-size networks.
    """
    labels = polish(b, labels)
    best = _value(b, labels)
    tol = EPS * max(1.0, float(np.abs(b).sum()))
    while True:
        candidate = _resplit_pairs(b, polish(b, multiway_kl(b, labels)))
        value = _value(b, candidate)
        if value <= best + tol:
            return labels
        labels, best = candidate, value


def multiway_kl(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Kernighan–Lin over any number of modules: in each sweep every node is
    moved once (to any module or a new one), always by the best available
    move even if it lowers Q; the best state seen is kept, and sweeps repeat
    while they improve."""
    labels = canonical_labels(labels)
    n = b.shape[0]
    idx = np.arange(n)
    diag = np.diag(b)
    tol = EPS * max(1.0, float(np.abs(b).sum()))
    while True:
        cur = labels.copy()
        k = int(cur.max()) + 1
        member = np.zeros((n, k + 1))
        member[idx, cur] = 1.0
        # link[i, c] = sum of B_ij over j in module c; the last column is
        # always an empty module, kept so "start a new module" is a move.
        link = b @ member
        moved = np.zeros(n, dtype=bool)
        total, best, best_state = 0.0, 0.0, None
        for _ in range(n):
            gain = link - (link[idx, cur] - diag)[:, None]
            gain[idx, cur] = -np.inf
            gain[moved] = -np.inf
            i, d = np.unravel_index(np.argmax(gain), gain.shape)
            if not np.isfinite(gain[i, d]):
                break
            total += gain[i, d]
            link[:, cur[i]] -= b[:, i]
            link[:, d] += b[:, i]
            cur[i] = d
            moved[i] = True
            if d == link.shape[1] - 1:
                link = np.concatenate([link, np.zeros((n, 1))], axis=1)
            if total > best + tol:
                best, best_state = total, cur.copy()
        if best_state is None:
            return labels
        labels = canonical_labels(best_state)


def _resplit_pairs(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Try re-dividing the union of each pair of modules by its leading
    eigenvector (refined); keep the first re-division that raises Q, repeat."""
    labels = canonical_labels(labels)
    tol = EPS * max(1.0, float(np.abs(b).sum()))
    best = _value(b, labels)
    improved = True
    while improved:
        improved = False
        k = int(labels.max()) + 1
        for c1 in range(k):
            for c2 in range(c1 + 1, k):
                group = np.flatnonzero((labels == c1) | (labels == c2))
                bg = b[np.ix_(group, group)]
                bg = bg - np.diag(bg.sum(axis=1))
                lead = np.linalg.eigh(bg)[1][:, -1]
                s = kl_refine(bg, np.where(lead > 0, 1.0, -1.0))
                trial = labels.copy()
                trial[group] = np.where(s > 0, c1, c2)
                trial = polish(b, trial)
                value = _value(b, trial)
                if value > best + tol:
                    labels, best, improved = trial, value, True
                    break
            if improved:
                break
    return labels


def _value(b: np.ndarray, labels: np.ndarray) -> float:
    return float(np.sum(b[labels[:, None] == labels[None, :]]))
