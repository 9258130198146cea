"""Spectral modularity maximisation: Newman's leading-eigenvector bisection.

Everything here works on a symmetric modularity matrix ``b`` with
``Q = sum_ij b_ij delta(c_i, c_j) / norm`` (see
:func:`evomod.modularity.q.modularity_matrix`); ``b`` may also be a
contracted matrix (groups of nodes summed), whose diagonal then holds each
group's internal sum.

Two implementations of the same procedure
-----------------------------------------
:func:`bisect` and :func:`refine` run compiled (numba) kernels. The
``*_reference`` functions are the original numpy implementation, kept as the
specification, as the test oracle and as the fallback.

The kernels return exactly what the reference returns, not merely an
equally good partition. That matters because the modularity matrices of
unweighted graphs are full of exact ties (symmetric nodes, equal moves), and
the reference breaks them by the last bits of its floating-point sums: with
exact arithmetic ~20 % of the tied choices in Kernighan-Lin sweeps on
evolved circuits would go the other way. So the kernels redo every float
operation of the reference in the same order:

* matrix products are the very BLAS calls numpy's ``@`` makes (same
  routine, layout, transposition and leading dimensions), made from compiled
  code through the OpenBLAS that numpy itself is linked to;
* eigenvectors come from that library's ``dsyevd``, called as
  ``numpy.linalg.eigh`` calls it;
* sums are numpy's pairwise summation; elementwise steps are written out in
  the reference's order (numba does not fuse multiply-adds unless asked);
* ``argmax`` keeps numpy's first-maximum rule.

If numpy's OpenBLAS symbols cannot be found, or a self-check against numpy
on a few random inputs finds any difference (another BLAS, or a numpy whose
``@`` dispatches differently), the reference runs instead
(:func:`use_compiled` says which); so it does inside a
:func:`reference_implementation` block.
"""

from __future__ import annotations

import ctypes
from contextlib import contextmanager

import numpy as np
from numba import njit, types

from evomod.modularity._validate import canonical_labels

# Below this a "gain" in Q is floating-point noise, not an improvement.
EPS = 1e-10


# ---------------------------------------------------------------------------
# Reference implementation (numpy). The specification the kernels reproduce.


def bisect_reference(b: np.ndarray, norm: float, refine: bool, min_gain: float) -> np.ndarray:
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
            s = kl_refine_reference(bg, s)
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


def kl_refine_reference(bg: np.ndarray, s: np.ndarray) -> np.ndarray:
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


def polish_reference(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
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


def refine_reference(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Polish, then alternate multi-way Kernighan–Lin sweeps and re-splitting
    of module pairs (each followed by polishing) while they raise Q.

    Greedy moves stop at the first local optimum; the sweeps accept temporary
    losses and the pair re-splits let two modules trade many nodes at once,
    which together close most of the remaining gap to the exact optimum on
    evolved-size networks.
    """
    labels = polish_reference(b, labels)
    best = _value_reference(b, labels)
    tol = EPS * max(1.0, float(np.abs(b).sum()))
    while True:
        candidate = _resplit_pairs_reference(b, polish_reference(b, multiway_kl_reference(b, labels)))
        value = _value_reference(b, candidate)
        if value <= best + tol:
            return labels
        labels, best = candidate, value


def multiway_kl_reference(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
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


def _resplit_pairs_reference(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Try re-dividing the union of each pair of modules by its leading
    eigenvector (refined); keep the first re-division that raises Q, repeat."""
    labels = canonical_labels(labels)
    tol = EPS * max(1.0, float(np.abs(b).sum()))
    best = _value_reference(b, labels)
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
                s = kl_refine_reference(bg, np.where(lead > 0, 1.0, -1.0))
                trial = labels.copy()
                trial[group] = np.where(s > 0, c1, c2)
                trial = polish_reference(b, trial)
                value = _value_reference(b, trial)
                if value > best + tol:
                    labels, best, improved = trial, value, True
                    break
            if improved:
                break
    return labels


def _value_reference(b: np.ndarray, labels: np.ndarray) -> float:
    return float(np.sum(b[labels[:, None] == labels[None, :]]))


# ---------------------------------------------------------------------------
# Entry points


def bisect(b: np.ndarray, norm: float, refine: bool, min_gain: float) -> np.ndarray:
    """:func:`bisect_reference`'s labels, computed by the compiled kernel when
    it is available."""
    if _use_kernels(b):
        return bisect_compiled(b, float(norm), bool(refine), float(min_gain))
    return bisect_reference(b, norm, refine, min_gain)


def refine(b: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """:func:`refine_reference`'s labels, computed by the compiled kernel when
    it is available."""
    if _use_kernels(b):
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iu" or labels.min() < 0:
            # The kernels number modules from 0; the reference starts by
            # renumbering anyway, so this changes nothing.
            labels = canonical_labels(labels)
        return refine_compiled(b, np.ascontiguousarray(labels, dtype=np.int64))
    return refine_reference(b, labels)


def use_compiled() -> bool:
    """Whether the compiled kernels run: numpy's OpenBLAS was found, the
    self-check passed, and no :func:`reference_implementation` block is open."""
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = _BOUND and _self_check()
    return _AVAILABLE and not _FORCE_REFERENCE


@contextmanager
def reference_implementation():
    """Within the block, the numpy reference runs everywhere the kernels would
    (tests and benchmarks compare the two)."""
    global _FORCE_REFERENCE
    before, _FORCE_REFERENCE = _FORCE_REFERENCE, True
    try:
        yield
    finally:
        _FORCE_REFERENCE = before


def _use_kernels(b) -> bool:
    # The reference's sums follow b's memory order, so only the layout the
    # kernels reproduce (C order, float64) may take the fast path.
    return (
        isinstance(b, np.ndarray)
        and b.dtype == np.float64
        and b.ndim == 2
        and b.shape[0] == b.shape[1]
        and b.shape[0] > 0
        and b.flags.c_contiguous
        and use_compiled()
    )


# ---------------------------------------------------------------------------
# numpy's OpenBLAS, called from compiled code

_AVAILABLE: bool | None = None
_FORCE_REFERENCE = False

# CBLAS enum values (cblas.h).
_ROW_MAJOR, _COL_MAJOR, _NO_TRANS, _TRANS = 101, 102, 111, 112

_F8P = types.CPointer(types.float64)
_I8P = types.CPointer(types.int64)
_U1P = types.CPointer(types.uint8)
_I8, _I4, _F8 = types.int64, types.int32, types.float64

# numpy's wheels link an ILP64 OpenBLAS (64-bit integers everywhere); the
# kernels call it under these names, which _bind_numpy_openblas maps to the
# library's own symbols.
_cblas_dgemv = types.ExternalFunction(
    "evomod_numpy_cblas_dgemv_ilp64",
    types.void(_I4, _I4, _I8, _I8, _F8, _F8P, _I8, _F8P, _I8, _F8, _F8P, _I8),
)
_cblas_dgemm = types.ExternalFunction(
    "evomod_numpy_cblas_dgemm_ilp64",
    types.void(_I4, _I4, _I4, _I8, _I8, _I8, _F8, _F8P, _I8, _F8P, _I8, _F8, _F8P, _I8),
)
_cblas_ddot = types.ExternalFunction("evomod_numpy_cblas_ddot_ilp64", _F8(_I8, _F8P, _I8, _F8P, _I8))
# Fortran dsyevd(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info),
# plus the two hidden lengths of the character arguments.
_dsyevd = types.ExternalFunction(
    "evomod_numpy_dsyevd_ilp64",
    types.void(_U1P, _U1P, _I8P, _F8P, _I8P, _F8P, _F8P, _I8P, _I8P, _I8P, _I8P, _I8, _I8),
)

# Symbol names of numpy's ILP64 OpenBLAS: the scipy-openblas64 wheels, then a
# plain OpenBLAS built with the 64_ suffix. Our names in the same order.
_OURS = (
    "evomod_numpy_cblas_dgemv_ilp64",
    "evomod_numpy_cblas_dgemm_ilp64",
    "evomod_numpy_cblas_ddot_ilp64",
    "evomod_numpy_dsyevd_ilp64",
)
_FAMILIES = (
    ("scipy_cblas_dgemv64_", "scipy_cblas_dgemm64_", "scipy_cblas_ddot64_", "scipy_dsyevd_64_"),
    ("cblas_dgemv64_", "cblas_dgemm64_", "cblas_ddot64_", "dsyevd_64_"),
)


def _bind_numpy_openblas() -> bool:
    """Register numpy's own BLAS/LAPACK routines under the kernels' names."""
    try:
        import llvmlite.binding as llvm
        from numpy.linalg import _umath_linalg

        # dlsym on the extension's handle also searches the libraries it
        # links, i.e. finds the routines numpy itself calls.
        lib = ctypes.CDLL(_umath_linalg.__file__)
    except (OSError, ImportError):
        return False
    for family in _FAMILIES:
        if all(hasattr(lib, name) for name in family):
            for ours, name in zip(_OURS, family):
                llvm.add_symbol(ours, ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)
            return True
    return False


# At import, not on first use: a kernel called before its symbols are
# registered would call address 0 (numba resolves them when it loads code).
_BOUND = _bind_numpy_openblas()


def _self_check() -> bool:
    """The bound routines reproduce numpy's ``@``, ``sum`` and ``eigh``
    bit for bit on random inputs of the shapes the kernels use."""
    rng = np.random.default_rng(20240611)
    try:
        for n in list(range(1, 13)) + [17, 24, 31, 40]:
            m = rng.standard_normal((n, n)) * 10.0 ** rng.integers(-6, 6, (n, n))
            m = m + m.T
            s = rng.choice([-1.0, 1.0], n)
            k = int(rng.integers(1, n + 1))
            member = np.zeros((n, k + 1))
            member[np.arange(n), rng.integers(0, k, n)] = 1.0
            link = m @ member
            mv, quad, link_k, between, sums, vals, vecs = _probe(m, s, member, k)
            ok = (
                np.array_equal(mv, m @ s)
                and quad == float(s @ m @ s)
                and np.array_equal(link_k, link)
                and (k < 2 or np.array_equal(between, member[:, :k].T @ link[:, :k]))
                and np.array_equal(sums[:n], m.sum(axis=1))
                and sums[n] == np.abs(m).sum()
                and sums[n + 1] == np.sum(m[m > 0])
            )
            ref_vals, ref_vecs = np.linalg.eigh(m)
            if not (ok and np.array_equal(vals, ref_vals) and np.array_equal(vecs, ref_vecs)):
                return False
    except Exception:  # any error (say, numba failing to compile) means: use the reference
        return False
    return True


@njit(cache=True)
def _probe(m, s, member, k):
    n = m.shape[0]
    between = _between(member, _links(m, member), k) if k >= 2 else np.zeros((1, 1))
    sums = np.empty(n + 2)
    for i in range(n):
        sums[i] = _row_sum(m, i)
    sums[n] = _abs_sum(m)
    positive = np.empty(n * n)
    count = 0
    for i in range(n):
        for j in range(n):
            if m[i, j] > 0:
                positive[count] = m[i, j]
                count += 1
    sums[n + 1] = 0.0 + _pairwise_sum(positive, 0, count)
    vals, vecs = _eigh(m)
    return _matvec(m, s), _quad(m, s), _links(m, member), between, sums, vals, vecs


# ---------------------------------------------------------------------------
# Compiled building blocks: each reproduces one numpy expression exactly.


@njit(cache=True)
def _pairwise_block(a, start, n):
    """numpy's pairwise summation of a[start:start + n], n <= 128: eight
    interleaved partial sums, then the tail."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[start + i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@njit(cache=True)
def _pairwise_sum(a, start, n):
    """numpy's pairwise summation of the contiguous a[start:start + n].

    Longer runs split in two halves (the first a multiple of 8 long) summed
    separately; the recursion is unrolled onto a stack because numba's cache
    cannot reload self-recursive functions (they crash when called)."""
    if n <= 128:
        return _pairwise_block(a, start, n)
    seg_start = np.empty(64, dtype=np.int64)
    seg_len = np.empty(64, dtype=np.int64)
    left_done = np.zeros(64, dtype=np.bool_)
    left_sum = np.empty(64)
    depth = 0
    seg_start[0], seg_len[0], left_done[0] = start, n, False
    while True:
        m = seg_len[depth]
        if m > 128:
            half = m // 2
            half -= half % 8
            seg_start[depth + 1], seg_len[depth + 1] = seg_start[depth], half
            left_done[depth + 1] = False
            depth += 1
            continue
        value = _pairwise_block(a, seg_start[depth], m)
        # Hand the finished segment's sum up: as a left half (then sum its
        # sibling), or as a right half (then its parent is finished too).
        while True:
            if depth == 0:
                return value
            depth -= 1
            if left_done[depth]:
                value = left_sum[depth] + value
                continue
            left_done[depth] = True
            left_sum[depth] = value
            half = seg_len[depth] // 2
            half -= half % 8
            seg_start[depth + 1] = seg_start[depth] + half
            seg_len[depth + 1] = seg_len[depth] - half
            left_done[depth + 1] = False
            depth += 1
            break


@njit(cache=True)
def _row_sum(m, i):
    """``m.sum(axis=1)[i]`` for a C-ordered m."""
    return 0.0 + _pairwise_sum(m.ravel(), i * m.shape[1], m.shape[1])


@njit(cache=True)
def _abs_sum(m):
    """``np.abs(m).sum()`` for a C-ordered m."""
    flat = np.abs(m.ravel())
    return 0.0 + _pairwise_sum(flat, 0, flat.size)


@njit(cache=True)
def _matvec(m, v):
    """``m @ v`` (numpy: column-major gemv, transposed) for a C-ordered square m."""
    n = m.shape[0]
    out = np.empty(n)
    if n == 1:
        out[0] = 0.0 + _cblas_ddot(1, m.ctypes, 1, v.ctypes, 1)
    else:
        _cblas_dgemv(_COL_MAJOR, _TRANS, n, n, 1.0, m.ctypes, n, v.ctypes, 1, 0.0, out.ctypes, 1)
    return out


@njit(cache=True)
def _quad(m, s):
    """``float(s @ m @ s)``: a row-major gemv, then a dot."""
    n = m.shape[0]
    t = np.empty(n)
    if n == 1:
        t[0] = 0.0 + _cblas_ddot(1, s.ctypes, 1, m.ctypes, 1)
    else:
        _cblas_dgemv(_ROW_MAJOR, _TRANS, n, n, 1.0, m.ctypes, n, s.ctypes, 1, 0.0, t.ctypes, 1)
    return 0.0 + _cblas_ddot(n, t.ctypes, 1, s.ctypes, 1)


@njit(cache=True)
def _links(b, member):
    """``b @ member`` for C-ordered b (n, n) and member (n, p)."""
    n = b.shape[0]
    p = member.shape[1]
    out = np.empty((n, p))
    if n == 1:
        # numpy's loop without BLAS when the summed dimension is 1
        for c in range(p):
            out[0, c] = 0.0 + b[0, 0] * member[0, c]
    else:
        _cblas_dgemm(
            _ROW_MAJOR, _NO_TRANS, _NO_TRANS, n, p, n, 1.0, b.ctypes, n, member.ctypes, p, 0.0, out.ctypes, p
        )
    return out


@njit(cache=True)
def _between(member, link, k):
    """``member[:, :k].T @ link[:, :k]`` (k >= 2): numpy hands BLAS the
    column slices in place, member transposed."""
    n = member.shape[0]
    out = np.empty((k, k))
    if n == 1:
        for c in range(k):
            for d in range(k):
                out[c, d] = 0.0 + member[0, c] * link[0, d]
    else:
        _cblas_dgemm(
            _ROW_MAJOR,
            _TRANS,
            _NO_TRANS,
            k,
            k,
            n,
            1.0,
            member.ctypes,
            member.shape[1],
            link.ctypes,
            link.shape[1],
            0.0,
            out.ctypes,
            k,
        )
    return out


@njit(cache=True)
def _dsyevd_call(chars, ints, a, w, work, iwork):
    """One dsyevd call (``chars``: jobz, uplo; ``ints``: n, lda, lwork,
    liwork, info): the workspace query when ``lwork`` is -1, else the work."""
    _dsyevd(
        chars[0:].ctypes,
        chars[1:].ctypes,
        ints[0:].ctypes,
        a.ctypes,
        ints[1:].ctypes,
        w.ctypes,
        work.ctypes,
        ints[2:].ctypes,
        iwork.ctypes,
        ints[3:].ctypes,
        ints[4:].ctypes,
        1,
        1,
    )
    # Reading the arrays after the call keeps numba from freeing them
    # before it (it frees arrays after their last use).
    return chars[0] + work.size + iwork.size + a.size + w.size


@njit(cache=True)
def _eigh(m):
    """``np.linalg.eigh(m)``: the same dsyevd call (lower triangle, work sizes
    from a workspace query) on the same column-major copy."""
    n = m.shape[0]
    a = np.empty(n * n)
    for j in range(n):
        for i in range(n):
            a[i + j * n] = m[i, j]
    w = np.empty(n)
    chars = np.array([ord("V"), ord("L")], dtype=np.uint8)
    # n, lda, lwork, liwork, info
    ints = np.array([n, n, -1, -1, 0], dtype=np.int64)
    work_query = np.zeros(1)
    iwork_query = np.zeros(1, dtype=np.int64)
    _dsyevd_call(chars, ints, a, w, work_query, iwork_query)
    ints[2] = np.int64(work_query[0])
    ints[3] = iwork_query[0]
    work = np.empty(max(ints[2], 1))
    iwork = np.empty(max(ints[3], 1), dtype=np.int64)
    _dsyevd_call(chars, ints, a, w, work, iwork)
    # Reading chars, work and iwork here keeps numba from freeing them
    # before the calls above (it frees arrays after their last use).
    if ints[4] != 0 or chars[0] == 0 or work.size == 0 or iwork.size == 0:
        raise np.linalg.LinAlgError("Eigenvalues did not converge")
    vecs = np.empty((n, n))
    for j in range(n):
        for i in range(n):
            vecs[i, j] = a[i + j * n]
    return w, vecs


@njit(cache=True)
def _canonical(labels):
    """``canonical_labels`` for non-negative integer labels."""
    rank = np.full(labels.max() + 1, -1, dtype=np.int64)
    out = np.empty_like(labels)
    k = 0
    for i in range(labels.size):
        c = labels[i]
        if rank[c] < 0:
            rank[c] = k
            k += 1
        out[i] = rank[c]
    return out


@njit(cache=True)
def _group_matrix(b, group):
    """``b[ix_(g, g)] - diag(row sums)``: Newman's B^(g)."""
    m = len(group)
    bg = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            bg[i, j] = b[group[i], group[j]]
    sums = np.empty(m)
    for i in range(m):
        sums[i] = _row_sum(bg, i)
    for i in range(m):
        bg[i, i] = bg[i, i] - sums[i]
    return bg


@njit(cache=True)
def _value(b, labels):
    """``_value_reference``: the pairwise sum of b over same-module pairs in C order."""
    n = b.shape[0]
    picked = np.empty(n * n)
    count = 0
    for i in range(n):
        for j in range(n):
            if labels[i] == labels[j]:
                picked[count] = b[i, j]
                count += 1
    return 0.0 + _pairwise_sum(picked, 0, count)


@njit(cache=True)
def _sign_vector(lead):
    s = np.empty(lead.size)
    for i in range(lead.size):
        s[i] = 1.0 if lead[i] > 0 else -1.0
    return s


@njit(cache=True)
def _new_memo(n):
    """Room for the leading eigenpairs of 64 groups of b's n nodes, keyed by
    bit masks (so none when n > 62)."""
    cap = 64 if n <= 62 else 0
    return np.zeros(cap, dtype=np.int64), np.zeros((cap, 2)), np.zeros((cap, n)), np.zeros(1, dtype=np.int64)


@njit(cache=True)
def _leading(bg, group, memo):
    """Largest eigenvalue, largest |eigenvalue| and leading eigenvector of
    bg = B^(group), as _eigh gives them.

    Bisection and the pair re-splits often meet the same group (a pair of
    final modules is the module bisection split; with two modules, the
    whole graph), and dsyevd is three quarters of the kernels' time. The
    same input gives dsyevd's same output, so the first answer is reused."""
    masks, tops, leads, count = memo
    m = group.size
    key = 0
    if masks.size > 0:
        for g in group:
            key |= np.int64(1) << g
        for r in range(count[0]):
            if masks[r] == key:
                return tops[r, 0], tops[r, 1], leads[r, :m].copy()
    vals, vecs = _eigh(bg)
    top, absmax = vals[-1], np.abs(vals).max()
    lead = vecs[:, -1].copy()
    if count[0] < masks.size:
        r = count[0]
        masks[r] = key
        tops[r, 0], tops[r, 1] = top, absmax
        leads[r, :m] = lead
        count[0] += 1
    return top, absmax, lead


# ---------------------------------------------------------------------------
# Compiled kernels, line for line the reference functions above.


@njit(cache=True)
def _kl_refine(bg, s):
    s = s.copy()
    n = s.size
    diag = np.empty(n)
    for i in range(n):
        diag[i] = bg[i, i]
    # The reference recomputes this every sweep; it never changes.
    margin = EPS * max(1.0, _abs_sum(bg))
    order = np.empty(n, dtype=np.int64)
    moved = np.empty(n, dtype=np.bool_)
    while True:
        cur = s.copy()
        field = _matvec(bg, cur)
        moved[:] = False
        total, best, best_step = 0.0, 0.0, -1
        for step in range(n):
            i, top = 0, -np.inf
            for j in range(n):
                g = -np.inf if moved[j] else 4.0 * (diag[j] - cur[j] * field[j])
                if j == 0 or g > top:
                    i, top = j, g
            total += top
            f = 2.0 * cur[i]
            for j in range(n):
                field[j] = field[j] - f * bg[j, i]
            cur[i] = -cur[i]
            moved[i] = True
            order[step] = i
            if total > best + margin:
                best, best_step = total, step
        if best_step < 0:
            return s
        for t in range(best_step + 1):
            s[order[t]] *= -1.0


@njit(cache=True)
def _polish(b, labels, margin):
    labels = _canonical(labels)
    n = b.shape[0]
    while True:
        k = labels.max() + 1
        member = np.zeros((n, k + 1))
        for i in range(n):
            member[i, labels[i]] = 1.0
        link = _links(b, member)
        bi, bd, top = 0, 0, -np.inf
        for i in range(n):
            own = link[i, labels[i]] - b[i, i]
            for d in range(k + 1):
                g = 0.0 if d == labels[i] else link[i, d] - own
                if (i == 0 and d == 0) or g > top:
                    bi, bd, top = i, d, g
        if top > margin:
            labels[bi] = bd
            labels = _canonical(labels)
            continue
        if k > 1:
            between = _between(member, link, k)
            c1, c2, top = 0, 0, -np.inf
            for c in range(k):
                for d in range(k):
                    g = -np.inf if c == d else between[c, d]
                    if (c == 0 and d == 0) or g > top:
                        c1, c2, top = c, d, g
            if top > margin:
                for i in range(n):
                    if labels[i] == c2:
                        labels[i] = c1
                labels = _canonical(labels)
                continue
        return labels


@njit(cache=True)
def _multiway_kl(b, labels, margin):
    labels = _canonical(labels)
    n = b.shape[0]
    moved = np.empty(n, dtype=np.bool_)
    while True:
        cur = labels.copy()
        k = cur.max() + 1
        member = np.zeros((n, k + 1))
        for i in range(n):
            member[i, cur[i]] = 1.0
        # Room for every node to open a new module; only the first `width`
        # columns exist in the reference's (growing) link matrix.
        link = np.zeros((n, k + 1 + n))
        link[:, : k + 1] = _links(b, member)
        width = k + 1
        moved[:] = False
        total, best, have_best = 0.0, 0.0, False
        best_state = cur.copy()
        for _ in range(n):
            bi, bd, top = 0, 0, -np.inf
            for i in range(n):
                own = link[i, cur[i]] - b[i, i]
                for d in range(width):
                    g = -np.inf if (moved[i] or d == cur[i]) else link[i, d] - own
                    if (i == 0 and d == 0) or g > top:
                        bi, bd, top = i, d, g
            if not np.isfinite(top):
                break
            total += top
            c = cur[bi]
            for j in range(n):
                link[j, c] = link[j, c] - b[j, bi]
            for j in range(n):
                link[j, bd] = link[j, bd] + b[j, bi]
            cur[bi] = bd
            moved[bi] = True
            if bd == width - 1:
                width += 1
            if total > best + margin:
                best, have_best = total, True
                best_state[:] = cur
        if not have_best:
            return labels
        labels = _canonical(best_state)


@njit(cache=True)
def _resplit_pairs(b, labels, margin, memo):
    labels = _canonical(labels)
    best = _value(b, labels)
    improved = True
    while improved:
        improved = False
        k = labels.max() + 1
        for c1 in range(k):
            for c2 in range(c1 + 1, k):
                group = np.flatnonzero((labels == c1) | (labels == c2))
                bg = _group_matrix(b, group)
                s = _kl_refine(bg, _sign_vector(_leading(bg, group, memo)[2]))
                trial = labels.copy()
                for t in range(group.size):
                    trial[group[t]] = c1 if s[t] > 0 else c2
                trial = _polish(b, trial, margin)
                value = _value(b, trial)
                if value > best + margin:
                    labels, best, improved = trial, value, True
                    break
            if improved:
                break
    return labels


@njit(cache=True)
def _refine(b, labels, memo):
    margin = EPS * max(1.0, _abs_sum(b))
    labels = _polish(b, labels, margin)
    best = _value(b, labels)
    while True:
        candidate = _resplit_pairs(b, _polish(b, _multiway_kl(b, labels, margin), margin), margin, memo)
        value = _value(b, candidate)
        if value <= best + margin:
            return labels
        labels, best = candidate, value


@njit(cache=True)
def _bisect(b, norm, refine, min_gain, memo):
    n = b.shape[0]
    labels = np.zeros(n, dtype=np.int64)
    pending = [np.arange(n)]
    next_label = 1
    while len(pending) > 0:
        group = pending.pop()
        if group.size < 2:
            continue
        bg = _group_matrix(b, group)
        top, absmax, lead = _leading(bg, group, memo)
        if top <= EPS * max(1.0, absmax):
            continue
        if lead[np.argmax(np.abs(lead))] < 0:
            lead = -lead
        s = _sign_vector(lead)
        if refine:
            s = _kl_refine(bg, s)
        if np.all(s == s[0]):
            continue
        gain = _quad(bg, s) / (2.0 * norm)
        if gain <= min_gain:
            continue
        side = group[s < 0]
        for i in side:
            labels[i] = next_label
        next_label += 1
        pending.append(group[s > 0])
        pending.append(side)
    return labels


# Entry points of the compiled code (call them only when use_compiled()).


@njit(cache=True)
def bisect_compiled(b, norm, refine, min_gain):
    return _bisect(b, norm, refine, min_gain, _new_memo(b.shape[0]))


@njit(cache=True)
def refine_compiled(b, labels):
    return _refine(b, labels, _new_memo(b.shape[0]))


@njit(cache=True)
def partition_compiled(b, norm, spectral, min_gain):
    """``refine(b, bisect(b, norm, True, min_gain))`` if ``spectral``, else
    ``bisect(b, norm, False, min_gain)``, both steps sharing one memo."""
    memo = _new_memo(b.shape[0])
    labels = _bisect(b, norm, spectral, min_gain, memo)
    if spectral:
        labels = _refine(b, labels, memo)
    return labels
