"""Numba kernels for layered threshold networks (see ``evomod.models.threshold``).

Neuron j (node id ``n_inputs + j``) has slots k = 0..F-1; slot k reads node
``prev_offset[j] + src[j, k]`` with weight ``sign[j, k]`` (±1), or nothing when
``src[j, k] < 0``. A neuron's value is 1 when its weighted input sum is at
least its threshold. Neurons are numbered layer by layer, so every source has
a lower node id than the neuron reading it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evomod.kernels.elite import elite_order


@njit(cache=True)
def _node_values(src, sign, thr, prev_offset, n_inputs, k, values, total):
    """Fill the neuron rows of ``values`` (node-major, patterns innermost;
    the input rows already set) for network ``k``: each slot is one
    contiguous, vectorisable pass over the patterns, in 8-bit integers (a
    sum of at most 127 slots of +-1 fits, and so does any int8 threshold)."""
    n_neurons, n_slots = src.shape[1], src.shape[2]
    n_patterns = values.shape[1]
    # Indexing values[row, p] (not a row view) lets the loops vectorise.
    for j in range(n_neurons):
        for p in range(n_patterns):
            total[p] = 0
        base = prev_offset[j]
        for s in range(n_slots):
            source = src[k, j, s]
            if source >= 0:
                row = base + source
                if sign[k, j, s] > 0:
                    for p in range(n_patterns):
                        total[p] += values[row, p]
                elif sign[k, j, s] < 0:
                    for p in range(n_patterns):
                        total[p] -= values[row, p]
        t = thr[k, j]
        node = n_inputs + j
        for p in range(n_patterns):
            values[node, p] = total[p] >= t


@njit(cache=True)
def _input_rows(patterns, n_nodes):
    """Node-major values, the input rows set: patterns innermost, padded
    with zero patterns to a multiple of 64, so the vectorised passes over
    them end without a scalar remainder (the padding is never counted)."""
    width = -(-patterns.shape[0] // 64) * 64
    values = np.zeros((n_nodes, width), dtype=np.int8)
    for i in range(patterns.shape[1]):
        for p in range(patterns.shape[0]):
            values[i, p] = patterns[p, i]
    return values


@njit(cache=True)
def threshold_outputs(src, sign, thr, prev_offset, n_inputs, n_outputs, patterns):
    """Outputs of every network on every pattern.

    src, sign: (n, N, F) int8; thr: (n, N) int8; prev_offset: (N,) int64;
    patterns: (P, n_inputs) uint8 of 0/1. Returns (n, P, n_outputs) bool
    (the last ``n_outputs`` neurons).
    """
    n, n_neurons = src.shape[0], src.shape[1]
    n_patterns = patterns.shape[0]
    first_out = n_inputs + n_neurons - n_outputs
    result = np.zeros((n, n_patterns, n_outputs), dtype=np.bool_)
    values = _input_rows(patterns, n_inputs + n_neurons)
    total = np.zeros(values.shape[1], dtype=np.int8)
    for k in range(n):
        _node_values(src, sign, thr, prev_offset, n_inputs, k, values, total)
        for o in range(n_outputs):
            for p in range(n_patterns):
                result[k, p, o] = values[first_out + o, p] == 1
    return result


@njit(cache=True)
def _output_major(target):
    """``target`` (P, n_outputs) bool as 0 / 1 rows per output, so the
    counts of ``_fraction_agreeing`` are branch-free loops."""
    truth = np.empty((target.shape[1], target.shape[0]), dtype=np.int8)
    for p in range(target.shape[0]):
        for o in range(target.shape[1]):
            truth[o, p] = 1 if target[p, o] else 0
    return truth


@njit(cache=True)
def _fraction_agreeing(values, truth, first_out):
    """The fraction of output rows ``values[first_out:]`` equal to ``truth``."""
    n_outputs, n_patterns = truth.shape
    correct = 0
    for o in range(n_outputs):
        for p in range(n_patterns):
            correct += values[first_out + o, p] == truth[o, p]
    return correct / (n_patterns * n_outputs)


@njit(cache=True)
def threshold_fraction_correct(src, sign, thr, prev_offset, n_inputs, n_outputs, patterns, target):
    """Per network, the fraction of (pattern, output) answers equal to
    ``target`` (P, n_outputs) bool; the arguments as ``threshold_outputs``."""
    n, n_neurons = src.shape[0], src.shape[1]
    values = _input_rows(patterns, n_inputs + n_neurons)
    total = np.zeros(values.shape[1], dtype=np.int8)
    truth = _output_major(target)
    result = np.empty(n)
    for k in range(n):
        _node_values(src, sign, thr, prev_offset, n_inputs, k, values, total)
        result[k] = _fraction_agreeing(values, truth, n_inputs + n_neurons - n_outputs)
    return result


@njit(cache=True)
def _structure_of(src, sign, prev_offset, n_inputs, n_outputs, k, live, reach):
    """``live[k]`` and ``reach[k]`` of ``threshold_structure`` for network ``k``."""
    n_neurons, n_slots = src.shape[1], src.shape[2]
    for j in range(n_neurons):
        reach[k, j] = False
        for s in range(n_slots):
            live[k, j, s] = False
            source = src[k, j, s]
            if source < 0:
                continue
            net = 0
            for t in range(n_slots):
                if src[k, j, t] == source:
                    net += sign[k, j, t]
            live[k, j, s] = net != 0
    for j in range(n_neurons - n_outputs, n_neurons):
        reach[k, j] = True
    # Sources have lower ids, so one descending pass settles reachability.
    for j in range(n_neurons - 1, -1, -1):
        if not reach[k, j]:
            continue
        for s in range(n_slots):
            if live[k, j, s]:
                node = prev_offset[j] + src[k, j, s]
                if node >= n_inputs:
                    reach[k, node - n_inputs] = True


@njit(cache=True)
def threshold_structure(src, sign, prev_offset, n_inputs, n_outputs):
    """The expressed connections of every network.

    A slot is *live* when it is filled and the net weight from its source
    (slots from the same source add up) is non-zero: opposite-signed slots
    from one source cancel and carry nothing. A neuron *reaches* an output
    when a chain of live slots leads from it to an output neuron (outputs
    reach themselves).

    Returns (live (n, N, F) bool, reach (n, N) bool).
    """
    n, n_neurons, n_slots = src.shape
    live = np.zeros((n, n_neurons, n_slots), dtype=np.bool_)
    reach = np.zeros((n, n_neurons), dtype=np.bool_)
    for k in range(n):
        _structure_of(src, sign, prev_offset, n_inputs, n_outputs, k, live, reach)
    return live, reach


@njit(cache=True)
def elitist_offspring(
    src, sign, thr, performance, penalty, fitness, shuffled, n_elite, parent_draws,
    mate_draws, from_mate, mix, rows, genes, draws, gene_kind, gene_neuron, gene_slot,
    threshold_min, prev_offset, n_inputs, n_outputs, patterns, target,
    neuron_threshold, penalty_per_neuron, score_children,
):  # fmt: skip
    """One generation of the elitist GA on threshold networks, given its
    random draws (as ``evomod.selection.Elitist`` draws them).

    The elite are the ``n_elite`` fittest, ties in the order of the random
    permutation ``shuffled``; the next population is the elite, in that
    order, then children: child c copies ``elite[parent_draws[c]]`` and,
    when ``mix[c]``, takes neuron j whole from ``elite[mate_draws[c]]``
    where ``from_mate[c, j]`` (no crossover at all when ``mix`` is empty);
    child ``rows[m]`` then changes gene ``genes[m]`` of the mutation table
    (``gene_kind``: 0 source, 1 sign, 2 threshold; ``gene_neuron``,
    ``gene_slot``) to the ``draws[m]``-th of its other values. Only children
    that crossed or mutated are scored (or, without ``score_children``, get
    nan); the others keep their parent's performance (on ``patterns``
    against ``target``) and penalty, the same numbers recomputed.

    Returns the new ``src``, ``sign``, ``thr``, performance and penalty, and the elite.
    """
    elite = elite_order(fitness, shuffled, n_elite)
    n_children = len(parent_draws)
    n, n_neurons, n_slots = n_elite + n_children, src.shape[1], src.shape[2]
    new_src = np.empty((n, n_neurons, n_slots), dtype=src.dtype)
    new_sign = np.empty((n, n_neurons, n_slots), dtype=sign.dtype)
    new_thr = np.empty((n, n_neurons), dtype=thr.dtype)
    new_performance = np.empty(n)
    new_penalty = np.empty(n)
    changed = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        parent = elite[i] if i < n_elite else elite[parent_draws[i - n_elite]]
        crossed = i >= n_elite and mix.shape[0] > 0 and mix[i - n_elite]
        for j in range(n_neurons):
            source = parent
            if crossed and from_mate[i - n_elite, j]:
                source = elite[mate_draws[i - n_elite]]
            for s in range(n_slots):
                new_src[i, j, s] = src[source, j, s]
                new_sign[i, j, s] = sign[source, j, s]
            new_thr[i, j] = thr[source, j]
        changed[i] = crossed
        new_performance[i] = performance[parent]
        new_penalty[i] = penalty[parent]
    for m in range(len(rows)):
        k = n_elite + rows[m]
        gene = genes[m]
        j, s, draw = gene_neuron[gene], gene_slot[gene], draws[m]
        if gene_kind[gene] == 0:
            current = np.int64(new_src[k, j, s]) + 1
            new_src[k, j, s] = draw + (draw >= current) - 1
        elif gene_kind[gene] == 1:
            new_sign[k, j, s] = -new_sign[k, j, s]
        else:
            current = np.int64(new_thr[k, j]) - threshold_min
            new_thr[k, j] = draw + (draw >= current) + threshold_min
        changed[k] = True
    values = _input_rows(patterns, n_inputs + n_neurons)
    total = np.zeros(values.shape[1], dtype=np.int8)
    truth = _output_major(target)
    live = np.zeros((n, n_neurons, n_slots), dtype=np.bool_)
    reach = np.zeros((n, n_neurons), dtype=np.bool_)
    for k in range(n_elite, n):
        if not changed[k]:
            continue
        if score_children:
            _node_values(new_src, new_sign, new_thr, prev_offset, n_inputs, k, values, total)
            new_performance[k] = _fraction_agreeing(values, truth, n_inputs + n_neurons - n_outputs)
        else:
            new_performance[k] = np.nan
        _structure_of(new_src, new_sign, prev_offset, n_inputs, n_outputs, k, live, reach)
        used = 0
        for j in range(n_neurons):
            if reach[k, j]:
                for s in range(n_slots):
                    if live[k, j, s]:
                        used += 1
                        break
        new_penalty[k] = penalty_per_neuron * max(0, used - neuron_threshold)
    return new_src, new_sign, new_thr, new_performance, new_penalty, elite
