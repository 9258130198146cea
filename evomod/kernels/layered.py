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
def forward(weights, biases, widths, inputs, lam, sign_activation):
    """Outputs of every network on every pattern.

    weights: (n, E) int8; biases: (n, H) int8 for the non-input nodes;
    widths: layer widths; inputs: (P, n_in) of +-1, float64, or int16 for
    the sign path. Returns (n, P, n_out) node outputs of the last layer, in
    the dtype of ``inputs``.

    ``sign_activation`` is exact when tanh(lam) rounds to 1.0 in float64
    (lam >= 19.1): then every node value is -1, 0 or 1, sums are small
    integers and tanh(lam * s) equals sign(s) bit for bit. With int16 inputs
    the same loops then run on 16-bit integers, several times faster.
    """
    n = weights.shape[0]
    n_patterns = inputs.shape[0]
    n_layers = widths.shape[0]
    n_nodes = 0
    for l in range(n_layers):
        n_nodes += widths[l]
    n_in = widths[0]
    n_out = widths[n_layers - 1]
    zero = inputs[0, 0] - inputs[0, 0]
    result = np.empty((n, n_patterns, n_out), dtype=inputs.dtype)
    values = np.empty((n_nodes, n_patterns), dtype=inputs.dtype)
    acc = np.empty(n_patterns, dtype=inputs.dtype)
    one = zero + 1
    for p in range(n_patterns):
        for k in range(n_in):
            values[k, p] = inputs[p, k]
    for i in range(n):
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
        for p in range(n_patterns):
            for o in range(n_out):
                result[i, p, o] = values[n_nodes - n_out + o, p]
    return result


@njit(cache=True)
def mutate(weights, biases, allowed_weights, bias_min, bias_max,
           add_rate, remove_rate, bias_rate, weight_rate_scale, rng):
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
