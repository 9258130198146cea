"""Numba kernels for NAND circuits (see ``evomod.models.circuit``).

Bit-parallel: a node's value over all 2**n_inputs input combinations is one
uint64 word whose bit p is the value for input pattern p (input i of pattern p
is bit i of p), so one NAND of two words evaluates a gate on every pattern at
once. Hence n_inputs <= 6.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True)
def pattern_mask(n_inputs):
    """The word with one bit set per input pattern."""
    n_patterns = 1 << n_inputs
    if n_patterns == 64:
        return _ALL
    return (_ONE << np.uint64(n_patterns)) - _ONE


@njit(cache=True)
def input_words(n_inputs):
    """Word of each input: bit p set iff input i is 1 in pattern p."""
    words = np.zeros(n_inputs, dtype=np.uint64)
    for p in range(1 << n_inputs):
        for i in range(n_inputs):
            if (p >> i) & 1:
                words[i] |= _ONE << np.uint64(p)
    return words


@njit(cache=True)
def circuit_truth_tables(src, out, n_inputs, feedback, steps):
    """Truth-table words of every output of every circuit.

    src: (n, G, 2) int16 source node ids; out: (n, n_out) int16 gate node ids.
    Feed-forward circuits (``feedback`` False) are evaluated in index order in
    one pass, which is exact because a gate only reads lower-numbered nodes.
    With feedback, all gates update synchronously ``steps`` times from the
    all-zero state.

    Returns (tables, settled), both (n, n_out) uint64: the output words after
    the last step, and the patterns whose output bit did not change in the
    last step (all patterns for feed-forward circuits).
    """
    n, n_gates, _ = src.shape
    n_out = out.shape[1]
    n_nodes = n_inputs + n_gates
    mask = pattern_mask(n_inputs)
    words = input_words(n_inputs)
    tables = np.zeros((n, n_out), dtype=np.uint64)
    settled = np.zeros((n, n_out), dtype=np.uint64)
    cur = np.zeros(n_nodes, dtype=np.uint64)
    nxt = np.zeros(n_nodes, dtype=np.uint64)
    for k in range(n):
        cur[:] = _ZERO
        cur[:n_inputs] = words
        if not feedback:
            for g in range(n_gates):
                a = src[k, g, 0]
                b = src[k, g, 1]
                cur[n_inputs + g] = ~(cur[a] & cur[b]) & mask
            for o in range(n_out):
                tables[k, o] = cur[out[k, o]]
                settled[k, o] = mask
            continue
        nxt[:n_inputs] = words
        for s in range(steps):
            for g in range(n_gates):
                a = src[k, g, 0]
                b = src[k, g, 1]
                nxt[n_inputs + g] = ~(cur[a] & cur[b]) & mask
            if s == steps - 1:
                for o in range(n_out):
                    node = out[k, o]
                    tables[k, o] = nxt[node]
                    settled[k, o] = ~(nxt[node] ^ cur[node]) & mask
            for j in range(n_inputs, n_nodes):
                cur[j] = nxt[j]
        if steps <= 0:
            for o in range(n_out):
                tables[k, o] = cur[out[k, o]]
                settled[k, o] = _ZERO
    return tables, settled


@njit(cache=True)
def circuit_effective(src, out, n_inputs):
    """Gates with a directed path to an output gate (outputs included).

    A depth-first search backwards from the output gates over gate-to-gate
    connections; works with or without feedback. Returns (n, G) bool.
    """
    n, n_gates, _ = src.shape
    n_out = out.shape[1]
    effective = np.zeros((n, n_gates), dtype=np.bool_)
    stack = np.empty(n_gates, dtype=np.int64)
    for k in range(n):
        top = 0
        for o in range(n_out):
            g = out[k, o] - n_inputs
            if not effective[k, g]:
                effective[k, g] = True
                stack[top] = g
                top += 1
        while top > 0:
            top -= 1
            g = stack[top]
            for j in range(2):
                s = src[k, g, j] - n_inputs
                if s >= 0 and not effective[k, s]:
                    effective[k, s] = True
                    stack[top] = s
                    top += 1
    return effective
