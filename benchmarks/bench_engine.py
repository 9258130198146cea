"""Engine speed at population 1000 on one core, as a table.

Compares, in one run, the numba kernel with a plain-numpy evaluator (dense
per-layer matrix products over the whole population), both for evaluation
alone and for whole P&CC generations. Usage:

    NUMBA_NUM_THREADS=1 python benchmarks/bench_engine.py [--population 1000]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from evomod import config as config_mod  # noqa: E402
from evomod.evolve import Evolution  # noqa: E402
from evomod.tasks import get_task  # noqa: E402


def numpy_activations(model, genomes, inputs):
    """Reference: each layer as a dense (n, dst, src) weight tensor."""
    n = genomes["weights"].shape[0]
    values = np.broadcast_to(np.where(inputs, 1.0, -1.0).T, (n, model.n_inputs, len(inputs)))
    slot, bias_at = 0, 0
    for width_in, width_out in zip(model.widths[:-1], model.widths[1:]):
        w = genomes["weights"][:, slot: slot + width_in * width_out].reshape(n, width_out, width_in)
        b = genomes["biases"][:, bias_at: bias_at + width_out].astype(np.float64)
        values = np.tanh(model.lam * (np.einsum("nds,nsp->ndp", w.astype(np.float64), values) + b[:, :, None]))
        slot += width_in * width_out
        bias_at += width_out
    return values.transpose(0, 2, 1)


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def evolved_like_population(evolution, generations=200):
    """A population after some evolution: realistic connection counts."""
    state = evolution.initial_state()
    evolution.run(state, generations)
    return state


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=1000)
    parser.add_argument("--generations", type=int, default=100)
    args = parser.parse_args()
    n = args.population
    cfg = config_mod.from_dict({"population": n, "generations": 10**9, "log_modularity_every": 0})
    task = get_task("retina")
    evolution = Evolution(cfg)
    model = evolution.parts.model
    rows = []

    genomes = model.random(n, np.random.default_rng(0))
    model.outputs(genomes, task.inputs)  # compile / load from cache
    assert np.array_equal(model.outputs(genomes, task.inputs), numpy_activations(model, genomes, task.inputs) > 0)
    t_kernel = best_of(lambda: model.outputs(genomes, task.inputs), 10)
    t_numpy = best_of(lambda: numpy_activations(model, genomes, task.inputs), 3)
    rows.append(("networks evaluated / s, random init (256 patterns)", n / t_kernel, n / t_numpy))

    state = evolved_like_population(evolution)
    evolved = state.genomes
    t_kernel = best_of(lambda: model.outputs(evolved, task.inputs), 10)
    t_numpy = best_of(lambda: numpy_activations(model, evolved, task.inputs), 3)
    rows.append(("networks evaluated / s, after 200 generations", n / t_kernel, n / t_numpy))

    def generations_per_second(count):
        start_gen = state.generation
        t0 = time.perf_counter()
        evolution.run(state, start_gen + count)
        return count / (time.perf_counter() - t0)

    g_kernel = generations_per_second(args.generations)
    # The same loop logging Q of the best network every generation.
    from evomod.runs import make_measure
    logging_config = config_mod.from_dict({"population": n, "generations": 10**9})
    evolution.measure = make_measure(logging_config)
    evolution.config = logging_config
    g_logged = generations_per_second(args.generations)
    evolution.measure, evolution.config = None, cfg
    original = model.activations
    model.activations = lambda g, x: numpy_activations(model, g, x)
    g_numpy = generations_per_second(max(5, args.generations // 10))
    model.activations = original
    rows.append((f"P&CC generations / s (population {n})", g_kernel, g_numpy))

    print(f"{'measure':<52} {'numba':>10} {'numpy ref':>10} {'ratio':>7}")
    for name, a, b in rows:
        print(f"{name:<52} {a:>10.1f} {b:>10.1f} {a / b:>6.1f}x")
    print(f"P&CC generations / s logging Q every generation: {g_logged:.1f} "
          f"({100 * (1 - g_logged / g_kernel):.0f} % slower than without)")
    mean_conn = float(np.mean((evolved["weights"] != 0).sum(axis=1)))
    print(f"(mean connections after 200 generations: {mean_conn:.1f}; "
          f"25,000 P&CC generations at this speed: {25000 / g_kernel / 60:.1f} min)")


if __name__ == "__main__":
    main()
