"""Numba kernels for NAND circuits (see ``evomod.models.circuit``).

Bit-parallel: a node's value over all 2**n_inputs input combinations is one
uint64 word whose bit p is the value for input pattern p (input i of pattern p
is bit i of p), so one NAND of two words evaluates a gate on every pattern at
once. Hence n_inputs <= 6.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evomod.kernels.elite import elite_order

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


@njit(cache=True, inline="always")
def _evaluate_one(src, out, k, n_inputs, feedback, steps, mask, words, cur, nxt, tables, settled):
    """Fill ``tables[k]`` and ``settled[k]`` for circuit ``k`` (see circuit_truth_tables)."""
    n_gates = src.shape[1]
    n_out = out.shape[1]
    n_nodes = n_inputs + n_gates
    for i in range(n_inputs):
        cur[i] = words[i]
    if not feedback:
        # Each gate reads only lower nodes, all written before it: no reset needed.
        for g in range(n_gates):
            cur[n_inputs + g] = ~(cur[src[k, g, 0]] & cur[src[k, g, 1]]) & mask
        for o in range(n_out):
            tables[k, o] = cur[out[k, o]]
            settled[k, o] = mask
        return
    for j in range(n_inputs, n_nodes):
        cur[j] = _ZERO
    for i in range(n_inputs):
        nxt[i] = words[i]
    for s in range(steps):
        for g in range(n_gates):
            nxt[n_inputs + g] = ~(cur[src[k, g, 0]] & cur[src[k, g, 1]]) & mask
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
    mask = pattern_mask(n_inputs)
    words = input_words(n_inputs)
    tables = np.zeros((n, n_out), dtype=np.uint64)
    settled = np.zeros((n, n_out), dtype=np.uint64)
    cur = np.zeros(n_inputs + n_gates, dtype=np.uint64)
    nxt = np.zeros(n_inputs + n_gates, dtype=np.uint64)
    for k in range(n):
        _evaluate_one(src, out, k, n_inputs, feedback, steps, mask, words, cur, nxt, tables, settled)
    return tables, settled


@njit(cache=True, inline="always")
def _mark_effective(src, out, k, n_inputs, feedback, effective, stack):
    """Set ``effective[k]``: the gates from which circuit ``k``'s output
    gates can be reached; returns their count. Feed-forward gates read only
    lower gates, so one sweep from the last gate down settles each gate
    before it is read; with feedback, a depth-first search backwards."""
    n_gates = src.shape[1]
    for g in range(n_gates):
        effective[k, g] = False
    count = 0
    top = 0
    for o in range(out.shape[1]):
        g = out[k, o] - n_inputs
        if not effective[k, g]:
            effective[k, g] = True
            count += 1
            stack[top] = g
            top += 1
    if not feedback:
        for g in range(n_gates - 1, -1, -1):
            if effective[k, g]:
                for j in range(2):
                    s = src[k, g, j] - n_inputs
                    if s >= 0 and not effective[k, s]:
                        effective[k, s] = True
                        count += 1
        return count
    while top > 0:
        top -= 1
        g = stack[top]
        for j in range(2):
            s = src[k, g, j] - n_inputs
            if s >= 0 and not effective[k, s]:
                effective[k, s] = True
                count += 1
                stack[top] = s
                top += 1
    return count


@njit(cache=True)
def circuit_effective(src, out, n_inputs):
    """Gates with a directed path to an output gate (outputs included);
    works with or without feedback. Returns (n, G) bool."""
    n, n_gates, _ = src.shape
    effective = np.zeros((n, n_gates), dtype=np.bool_)
    stack = np.empty(n_gates, dtype=np.int64)
    feedback = False
    for k in range(n):
        for g in range(n_gates):
            for j in range(2):
                feedback |= src[k, g, j] >= n_inputs + g
    for k in range(n):
        _mark_effective(src, out, k, n_inputs, feedback, effective, stack)
    return effective


@njit(cache=True, inline="always")
def _apply_mutation(src, out, k, gene, draw, n_inputs):
    """Set gene ``gene`` of circuit ``k`` (source genes 0..2G-1 gate-major,
    then the output genes) to the ``draw``-th of its allowed values other
    than the current one: skipping the current value makes a uniform draw
    among the others."""
    n_src = 2 * src.shape[1]
    if gene < n_src:
        g, j = gene // 2, gene % 2
        current = src[k, g, j]
        src[k, g, j] = draw + (draw >= current)
    else:
        o = gene - n_src
        current = out[k, o] - n_inputs
        out[k, o] = draw + (draw >= current) + n_inputs


@njit(cache=True)
def apply_mutations(src, out, rows, genes, draws, n_inputs):
    """Mutate, in place, gene ``genes[j]`` of circuit ``rows[j]`` for every j."""
    for j in range(len(rows)):
        _apply_mutation(src, out, rows[j], genes[j], draws[j], n_inputs)


@njit(cache=True)
def elitist_offspring(
    src,
    out,
    performance,
    penalty,
    fitness,
    shuffled,
    n_elite,
    parent_draws,
    rows,
    genes,
    draws,
    n_inputs,
    feedback,
    steps,
    target,
    select,
    total,
    threshold,
    penalty_per_gate,
    score_children,
):
    """One generation of the elitist GA on integer-genome circuits, given
    its random draws.

    The elite are the ``n_elite`` fittest, ties in the order of the random
    permutation ``shuffled``; the next population is the elite, in that
    order, followed by copies of ``elite[parent_draws]``, child ``rows[j]``
    (distinct, one mutation each) mutated at gene ``genes[j]`` (see
    ``apply_mutations``). Only mutated children are evaluated: a copy keeps
    its parent's performance and penalty, the same numbers recomputed.
    Performance is the fraction of settled output bits inside ``select``
    equal to ``target`` (one word per output), out of ``total`` (nan for
    mutated children without ``score_children``); the
    penalty is ``penalty_per_gate`` per effective gate above ``threshold``.

    Returns the new ``src``, ``out``, performance and penalty, and the elite.
    """
    elite = elite_order(fitness, shuffled, n_elite)
    n_children = len(parent_draws)
    n, n_gates, n_out = n_elite + n_children, src.shape[1], out.shape[1]
    new_src = np.empty((n, n_gates, 2), dtype=src.dtype)
    new_out = np.empty((n, n_out), dtype=out.dtype)
    new_performance = np.empty(n)
    new_penalty = np.empty(n)
    # Gate genes copied as flat rows: one short contiguous loop per circuit.
    width = 2 * n_gates
    flat_old = src.reshape(src.shape[0], width)
    flat_new = new_src.reshape(n, width)
    for i in range(n):
        parent = elite[i] if i < n_elite else elite[parent_draws[i - n_elite]]
        for e in range(width):
            flat_new[i, e] = flat_old[parent, e]
        for o in range(n_out):
            new_out[i, o] = out[parent, o]
        new_performance[i] = performance[parent]
        new_penalty[i] = penalty[parent]
    mask = pattern_mask(n_inputs)
    words = input_words(n_inputs)
    cur = np.zeros(n_inputs + n_gates, dtype=np.uint64)
    nxt = np.zeros(n_inputs + n_gates, dtype=np.uint64)
    tables = np.zeros((n, n_out), dtype=np.uint64)
    settled = np.zeros((n, n_out), dtype=np.uint64)
    effective = np.zeros((n, n_gates), dtype=np.bool_)
    stack = np.empty(n_gates, dtype=np.int64)
    for j in range(len(rows)):
        k = n_elite + rows[j]
        _apply_mutation(new_src, new_out, k, genes[j], draws[j], n_inputs)
        if score_children:
            _evaluate_one(
                new_src, new_out, k, n_inputs, feedback, steps, mask, words, cur, nxt, tables, settled
            )
            agree = 0
            for o in range(n_out):
                agree += _popcount(~(tables[k, o] ^ target[o]) & settled[k, o] & select)
            new_performance[k] = agree / total
        else:
            new_performance[k] = np.nan
        excess = _mark_effective(new_src, new_out, k, n_inputs, feedback, effective, stack) - threshold
        new_penalty[k] = penalty_per_gate * max(0, excess)
    return new_src, new_out, new_performance, new_penalty, elite


@njit(cache=True, inline="always")
def _popcount(word):
    """Set bits of a uint64 (the parallel bit count: pairs, nibbles, bytes)."""
    word = word - ((word >> np.uint64(1)) & np.uint64(0x5555555555555555))
    word = (word & np.uint64(0x3333333333333333)) + ((word >> np.uint64(2)) & np.uint64(0x3333333333333333))
    word = (word + (word >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((word * np.uint64(0x0101010101010101)) >> np.uint64(56))
