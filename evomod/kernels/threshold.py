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


@njit(cache=True)
def threshold_outputs(src, sign, thr, prev_offset, n_inputs, n_outputs, patterns):
    """Outputs of every network on every pattern.

    src, sign: (n, N, F) int8; thr: (n, N) int8; prev_offset: (N,) int64;
    patterns: (P, n_inputs) uint8 of 0/1. Returns (n, P, n_outputs) bool
    (the last ``n_outputs`` neurons).
    """
    n, n_neurons, n_slots = src.shape
    n_patterns = patterns.shape[0]
    first_out = n_inputs + n_neurons - n_outputs
    result = np.zeros((n, n_patterns, n_outputs), dtype=np.bool_)
    # Node-major values with patterns innermost: each slot is one contiguous,
    # vectorisable pass over the patterns.
    values = np.zeros((n_inputs + n_neurons, n_patterns), dtype=np.int32)
    for i in range(n_inputs):
        for p in range(n_patterns):
            values[i, p] = patterns[p, i]
    total = np.zeros(n_patterns, dtype=np.int32)
    for k in range(n):
        for j in range(n_neurons):
            total[:] = 0
            base = prev_offset[j]
            for s in range(n_slots):
                source = src[k, j, s]
                if source >= 0:
                    w = np.int32(sign[k, j, s])
                    row = values[base + source]
                    for p in range(n_patterns):
                        total[p] += w * row[p]
            t = np.int32(thr[k, j])
            out = values[n_inputs + j]
            for p in range(n_patterns):
                out[p] = 1 if total[p] >= t else 0
        for o in range(n_outputs):
            for p in range(n_patterns):
                result[k, p, o] = values[first_out + o, p] == 1
    return result


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
        for j in range(n_neurons):
            for s in range(n_slots):
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
    return live, reach
