"""Kernels for layered feed-forward networks (Clune et al. 2013).

Edge slots enumerate every (source, target) pair of consecutive layers, layer
by layer, target-major: the slot of target ``d`` and source ``s`` in transition
``l`` is ``slot_offset[l] + d * width[l-1] + s``. A weight of 0 marks an
absent connection, which is why the allowed weights never include 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _network_values(weights, biases, i, widths, values, acc, lam, sign_activation):
    """Fill ``values`` (n_nodes, P) with every node's output for network ``i``;
    rows 0..n_in-1 must already hold the inputs."""
    n_layers = widths.shape[0]
    n_in = widths[0]
    zero = values[0, 0] - values[0, 0]
    one = zero + 1
    n_patterns = values.shape[1]
    slot = 0
    src_start = 0
    dst_start = n_in
    for l in range(1, n_layers):
        for d in range(widths[l]):
            b = zero + biases[i, dst_start - n_in + d]
            for p in range(n_patterns):
                acc[p] = b
            for s in range(widths[l - 1]):
                w = zero + weights[i, slot]
                slot += 1
                if w != 0:
                    row = src_start + s
                    for p in range(n_patterns):
                        acc[p] += w * values[row, p]
            node = dst_start + d
            if sign_activation:
                for p in range(n_patterns):
                    a = acc[p]
                    values[node, p] = (a > 0) * one - (a < 0) * one
            else:
                for p in range(n_patterns):
                    values[node, p] = np.tanh(lam * acc[p])
        src_start = dst_start
        dst_start += widths[l]


@njit(cache=True)
def _input_values(widths, inputs):
    n_nodes = 0
    for l in range(widths.shape[0]):
        n_nodes += widths[l]
    values = np.empty((n_nodes, inputs.shape[0]), dtype=inputs.dtype)
    for p in range(inputs.shape[0]):
        for k in range(widths[0]):
            values[k, p] = inputs[p, k]
    return values


@njit(cache=True)
def forward(weights, biases, widths, inputs, lam, sign_activation):
    """Outputs of every network on every pattern.

    weights: (n, E) int8; biases: (n, H) int8 for the non-input nodes;
    widths: layer widths; inputs: (P, n_in) of +-1, float64, or for the
    sign path a signed integer type that holds every node's sum (the model
    picks the narrowest). Returns (n, P, n_out) node outputs of the last layer, in
    the dtype of ``inputs``.

    ``sign_activation`` is exact when tanh(lam) rounds to 1.0 in float64
    (lam >= 19.1): then every node value is -1, 0 or 1, sums are small
    integers and tanh(lam * s) equals sign(s) bit for bit. With integer
    inputs the same loops then run on small integers, several times faster.
    """
    n = weights.shape[0]
    n_patterns = inputs.shape[0]
    n_out = widths[widths.shape[0] - 1]
    values = _input_values(widths, inputs)
    n_nodes = values.shape[0]
    acc = np.empty(n_patterns, dtype=inputs.dtype)
    result = np.empty((n, n_patterns, n_out), dtype=inputs.dtype)
    for i in range(n):
        _network_values(weights, biases, i, widths, values, acc, lam, sign_activation)
        for p in range(n_patterns):
            for o in range(n_out):
                result[i, p, o] = values[n_nodes - n_out + o, p]
    return result


@njit(cache=True)
def fraction_correct(weights, biases, widths, inputs, target, lam, sign_activation, zero_is_wrong):
    """Per network, the fraction of (pattern, output) answers equal to
    ``target`` (P, n_out) bool. An output above 0 answers "true"; below 0
    "false"; exactly 0 answers "false", or neither when ``zero_is_wrong``."""
    n = weights.shape[0]
    n_patterns = inputs.shape[0]
    n_out = widths[widths.shape[0] - 1]
    values = _input_values(widths, inputs)
    n_nodes = values.shape[0]
    acc = np.empty(n_patterns, dtype=inputs.dtype)
    # Output-major copies of the target, as +1 / -1 and as 0 / 1 in the
    # values' dtype, so the counts below are branch-free (vectorised) loops.
    wanted = np.empty((n_out, n_patterns), dtype=inputs.dtype)
    truth = np.empty((n_out, n_patterns), dtype=inputs.dtype)
    for p in range(n_patterns):
        for o in range(n_out):
            truth[o, p] = 1 if target[p, o] else 0
            wanted[o, p] = 1 if target[p, o] else -1
    result = np.empty(n)
    for i in range(n):
        _network_values(weights, biases, i, widths, values, acc, lam, sign_activation)
        correct = 0
        for o in range(n_out):
            out = values[n_nodes - n_out + o]
            if zero_is_wrong:
                # Right when the output's sign is the wanted one (0 never is).
                sign = wanted[o]
                for p in range(n_patterns):
                    correct += out[p] * sign[p] > 0
            else:
                true = truth[o]
                for p in range(n_patterns):
                    correct += (out[p] > 0) == true[p]
        result[i] = correct / (n_patterns * n_out)
    return result


@njit(cache=True)
def mutate(
    weights,
    biases,
    allowed_weights,
    bias_min,
    bias_max,
    add_rate,
    remove_rate,
    bias_rate,
    weight_rate_scale,
    rng,
):
    """Clune et al.'s operators, applied in place to each row.

    Per offspring: with ``add_rate`` add one connection in a random empty slot
    (random allowed weight); with ``remove_rate`` remove one random
    connection; each weight moves +-1 with probability
    ``weight_rate_scale / n_connections``; each bias moves +-1 with
    ``bias_rate``. A move that leaves the allowed values is ignored.
    """
    n, n_slots = weights.shape
    n_allowed = allowed_weights.shape[0]
    for i in range(n):
        count = 0
        for e in range(n_slots):
            if weights[i, e] != 0:
                count += 1
        if rng.random() < add_rate and count < n_slots:
            pick = rng.integers(0, n_slots - count)
            for e in range(n_slots):
                if weights[i, e] == 0:
                    if pick == 0:
                        weights[i, e] = allowed_weights[rng.integers(0, n_allowed)]
                        count += 1
                        break
                    pick -= 1
        if rng.random() < remove_rate and count > 0:
            pick = rng.integers(0, count)
            for e in range(n_slots):
                if weights[i, e] != 0:
                    if pick == 0:
                        weights[i, e] = 0
                        count -= 1
                        break
                    pick -= 1
        if count > 0:
            rate = weight_rate_scale / count
            for e in range(n_slots):
                if weights[i, e] != 0 and rng.random() < rate:
                    moved = weights[i, e] + (1 if rng.random() < 0.5 else -1)
                    for a in range(n_allowed):
                        if allowed_weights[a] == moved:
                            weights[i, e] = moved
                            break
        for h in range(biases.shape[1]):
            if rng.random() < bias_rate:
                moved = biases[i, h] + (1 if rng.random() < 0.5 else -1)
                if bias_min <= moved <= bias_max:
                    biases[i, h] = moved


@njit(cache=True)
def _add_by_layer_pair(weights, weight_index, i, widths, slot_offset, weight_list, max_tries, rng):
    """The authors' add-connection: a layer pair uniformly, then a uniform
    source and target in it, the whole draw repeated while that pair is
    connected, at most ``max_tries`` draws. Returns True if one was added."""
    n_pairs = widths.shape[0] - 1
    for _ in range(max_tries):
        l = rng.integers(0, n_pairs)
        s = rng.integers(0, widths[l])
        d = rng.integers(0, widths[l + 1])
        slot = slot_offset[l] + d * widths[l] + s
        if weights[i, slot] == 0:
            k = rng.integers(0, weight_list.shape[0])
            weight_index[i, slot] = k
            weights[i, slot] = weight_list[k]
            return True
    return False


@njit(cache=True)
def random_authors(weights, weight_index, widths, slot_offset, weight_list, counts, max_tries, rng):
    """Initial networks: row i receives ``counts[i]`` add-connection calls."""
    for i in range(weights.shape[0]):
        for _ in range(counts[i]):
            _add_by_layer_pair(weights, weight_index, i, widths, slot_offset, weight_list, max_tries, rng)


@njit(cache=True)
def mutate_authors(
    weights,
    weight_index,
    biases,
    weight_list,
    bias_min,
    bias_max,
    add_rate,
    remove_rate,
    bias_rate,
    weight_rate_scale,
    widths,
    slot_offset,
    max_tries,
    rng,
):
    """The authors' mutation, in place, in their order for each row:
    1. each connection's weight, with probability ``weight_rate_scale / n``
       (n connections before anything else changes), steps one place up or
       down the ordered ``weight_list``, clamped at its ends;
    2. each bias, with probability ``bias_rate``, is redrawn uniformly from
       bias_min..bias_max (possibly the same value);
    3. with ``add_rate``, one connection is added by layer pair;
    4. with ``remove_rate``, one uniformly chosen connection is removed.
    """
    n, n_slots = weights.shape
    last = weight_list.shape[0] - 1
    for i in range(n):
        count = 0
        for e in range(n_slots):
            if weights[i, e] != 0:
                count += 1
        if count > 0:
            rate = weight_rate_scale / count
            for e in range(n_slots):
                if weights[i, e] != 0 and rng.random() < rate:
                    k = weight_index[i, e]
                    if rng.random() < 0.5:
                        k = max(0, k - 1)
                    else:
                        k = min(last, k + 1)
                    weight_index[i, e] = k
                    weights[i, e] = weight_list[k]
        for h in range(biases.shape[1]):
            if rng.random() < bias_rate:
                biases[i, h] = rng.integers(bias_min, bias_max + 1)
        if rng.random() < add_rate:
            if _add_by_layer_pair(weights, weight_index, i, widths, slot_offset, weight_list, max_tries, rng):
                count += 1
        if rng.random() < remove_rate and count > 0:
            pick = rng.integers(0, count)
            for e in range(n_slots):
                if weights[i, e] != 0:
                    if pick == 0:
                        weights[i, e] = 0
                        weight_index[i, e] = -1
                        break
                    pick -= 1
