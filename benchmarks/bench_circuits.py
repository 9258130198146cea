"""Kashtan & Alon circuit loop speed: alternating G1/G2, population 1000.

Times the evomod loop (bit-parallel numba kernels, one core) against a
pure-Python reference of the same elitist GA (circuits as lists, node values
as Python ints used as 16-bit words), in one run. Usage:

    NUMBA_NUM_THREADS=1 python benchmarks/bench_circuits.py
"""

from __future__ import annotations

import os
import random
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from evomod import config as config_mod  # noqa: E402
from evomod.evolve import Evolution  # noqa: E402
from evomod.tasks import get_task  # noqa: E402

N_INPUTS, GATES, POPULATION, ELITE, MUTATION = 4, 14, 1000, 300, 0.7


def words_of(task, goal):
    table = task.target(goal)[:, 0]
    return sum(1 << p for p in range(len(table)) if table[p])


def reference_loop(generations, seed=0):
    """The same GA in plain Python, for the speed ratio only."""
    task = get_task("logic4")
    targets = {g: words_of(task, g) for g in ("G1", "G2")}
    inputs = [sum(1 << p for p in range(16) if (p >> i) & 1) for i in range(N_INPUTS)]
    rnd = random.Random(seed)

    def random_circuit():
        gates = [[rnd.randrange(N_INPUTS + g), rnd.randrange(N_INPUTS + g)] for g in range(GATES)]
        return gates, N_INPUTS + rnd.randrange(GATES)

    def fitness(circuit, target):
        gates, out = circuit
        values = list(inputs)
        for a, b in gates:
            values.append(~(values[a] & values[b]) & 0xFFFF)
        correct = 16 - bin((values[out] ^ target) & 0xFFFF).count("1")
        live, stack = set(), [out]
        while stack:
            node = stack.pop()
            if node >= N_INPUTS and node not in live:
                live.add(node)
                stack.extend(gates[node - N_INPUTS])
        return correct / 16 - 0.2 * max(0, len(live) - 11)

    def mutate(circuit):
        gates, out = [list(g) for g in circuit[0]], circuit[1]
        if rnd.random() < MUTATION:
            gene = rnd.randrange(2 * GATES + 1)
            if gene == 2 * GATES:
                out = N_INPUTS + rnd.randrange(GATES)
            else:
                g = gene // 2
                gates[g][gene % 2] = rnd.randrange(N_INPUTS + g)
        return gates, out

    population = [random_circuit() for _ in range(POPULATION)]
    for gen in range(generations):
        target = targets[("G1", "G2")[(gen // 20) % 2]]
        scored = sorted(population, key=lambda c: fitness(c, target), reverse=True)
        elite = scored[:ELITE]
        population = elite + [mutate(rnd.choice(elite)) for _ in range(POPULATION - ELITE)]


def main():
    cfg = config_mod.from_dict({"model": {"kind": "circuit"}, "generations": 10**8,
                                "log_modularity_every": 0,
                                "schedule": {"kind": "alternating", "goals": ["G1", "G2"], "period": 20}})
    evolution = Evolution(cfg)
    state = evolution.initial_state()
    evolution.run(state, 20)  # compile / load kernels
    count = 2000
    t0 = time.perf_counter()
    evolution.run(state, 20 + count)
    kernel = count / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    reference_loop(20)
    python = 20 / (time.perf_counter() - t0)
    print(f"{'measure':<50} {'evomod':>9} {'pure Python':>12} {'ratio':>7}")
    print(f"{'alternating G1/G2 generations / s (pop 1000)':<50} {kernel:>9.1f} {python:>12.2f} "
          f"{kernel / python:>6.0f}x")
    print(f"(10^5 generations at this speed: {1e5 / kernel / 60:.1f} min)")


if __name__ == "__main__":
    main()
