"""Retina engine speed on one core, as tables, from the middle of a real run.

In one run, on the Clune P&CC setup as shipped (``experiments/clune2013/
pcc.toml``: population 1000, the authors' operators, Q logged every
generation):

1. evaluation: the numba kernel against a plain-numpy evaluator (dense
   per-layer matrix products over the whole population);
2. steady-state generations per second, timed over generations
   ``--warmup`` .. ``--warmup + --generations`` of one run (not the first
   generations, whose small networks are cheap), with the time per phase;
3. the same generations with the numpy evaluator, for the ratio;
4. the non-dominated sort alone on pooled populations from that run,
   resampled to 250 .. 8000 individuals: the counting sort against the
   authors' quadratic peeling (same distribution) and the literal one-pass
   sort.

Usage: ``python benchmarks/bench_engine.py [--warmup 1000] [--generations 300]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from evomod import config as config_mod  # noqa: E402
from evomod import selection as selection_mod  # noqa: E402
from evomod.evolve import Evolution  # noqa: E402
from evomod.kernels import nsga  # noqa: E402
from evomod.runs import make_measure  # noqa: E402
from evomod.tasks import get_task  # noqa: E402

CONFIG = os.path.join(os.path.dirname(__file__), "..", "experiments", "clune2013", "pcc.toml")


def numpy_performance(model, genomes, inputs, target):
    """Reference: each layer as a dense (n, dst, src) weight tensor; the
    authors' rule for an output of 0."""
    n = genomes["weights"].shape[0]
    values = np.broadcast_to(np.where(inputs, 1.0, -1.0).T, (n, model.n_inputs, len(inputs)))
    slot, bias_at = 0, 0
    for width_in, width_out in zip(model.widths[:-1], model.widths[1:]):
        w = genomes["weights"][:, slot: slot + width_in * width_out].reshape(n, width_out, width_in)
        b = genomes["biases"][:, bias_at: bias_at + width_out].astype(np.float64)
        values = np.tanh(model.lam * (np.einsum("nds,nsp->ndp", w.astype(np.float64), values) + b[:, :, None]))
        slot += width_in * width_out
        bias_at += width_out
    out = values.transpose(0, 2, 1)
    target = np.asarray(target, dtype=bool)[None]
    return np.where(target, out > 0, out < 0).mean(axis=(1, 2))


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


class PhaseTimer:
    """Wraps callables and adds up the time spent in each."""

    def __init__(self):
        self.seconds = defaultdict(float)

    def wrap(self, owner, name, phase):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - start
        setattr(owner, name, timed)
        return original


def timed_generations(evolution, state, count):
    start_gen = state.generation
    t0 = time.perf_counter()
    evolution.run(state, start_gen + count)
    return count / (time.perf_counter() - t0)


def pools_from(evolution, state, sizes, rng):
    """Objective matrices shaped like a real pooled population (parents and
    their offspring at this point of the run), resampled to each size."""
    sel = evolution.selection
    chosen = selection_mod.authors_parents(
        sel.objectives(evolution, state.genomes, state.performance, state.cost, state.penalty, rng),
        state.crowding, sel.pressure, rng)
    _, perf, cost, penalty = sel._offspring(evolution, state, chosen, "and", None)
    f = np.column_stack([np.concatenate([state.performance, perf]), -np.concatenate([state.cost, cost])])
    return {n: f[rng.integers(0, len(f), size=n)] for n in sizes}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--warmup", type=int, default=1000, help="generations run before timing")
    parser.add_argument("--generations", type=int, default=300, help="generations timed")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cfg = config_mod.load(CONFIG, seed=args.seed)
    evolution = Evolution(cfg, measure=make_measure(cfg))
    model = evolution.parts.model
    task = get_task("retina")
    target = task.target("and")

    state = evolution.initial_state()
    t0 = time.perf_counter()
    evolution.run(state, args.warmup)
    warm = time.perf_counter() - t0
    genomes = state.genomes
    n = len(state.performance)
    assert np.array_equal(model.performance(genomes, task.inputs, target),
                          numpy_performance(model, genomes, task.inputs, target))
    t_kernel = best_of(lambda: model.performance(genomes, task.inputs, target), 10)
    t_numpy = best_of(lambda: numpy_performance(model, genomes, task.inputs, target), 3)

    timer = PhaseTimer()
    # The strategy looks the selection functions up in evomod.selection at call time.
    phases = [(model, "performance", "evaluate"), (model, "mutate", "mutate"),
              (evolution, "offspring_structure", "cost"),
              (selection_mod, "authors_survivors", "sort and crowding"),
              (selection_mod, "authors_parents", "tournaments"),
              (evolution, "_record", "log (stats, Q, hall of fame)")]
    originals = [(owner, name, timer.wrap(owner, name, phase)) for owner, name, phase in phases]
    steady = timed_generations(evolution, state, args.generations)
    total = 1.0 / steady  # seconds per generation
    for owner, name, original in originals:
        if owner is selection_mod:
            setattr(owner, name, original)
        else:
            delattr(owner, name)  # drop the instance attribute: the method shows again

    original = model.performance
    model.performance = lambda g, x, t: numpy_performance(model, g, x, t)
    numpy_steady = timed_generations(evolution, state, max(5, args.generations // 10))
    model.performance = original

    print(f"Clune P&CC (pcc.toml, seed {args.seed}), population {n}, one core")
    print(f"warm-up: generations 0-{args.warmup} took {warm:.1f} s ({args.warmup / warm:.0f} generations/s)")
    print()
    print(f"{'measure':<56} {'numba':>10} {'numpy ref':>10} {'ratio':>7}")
    print(f"{'networks evaluated / s (256 patterns), steady state':<56} {n / t_kernel:>10.0f} "
          f"{n / t_numpy:>10.0f} {t_numpy / t_kernel:>6.1f}x")
    print(f"{f'generations / s, generations {args.warmup}-{args.warmup + args.generations}':<56} "
          f"{steady:>10.1f} {numpy_steady:>10.1f} {steady / numpy_steady:>6.1f}x")
    print()
    print(f"{'phase (steady state)':<40} {'ms / generation':>16} {'share':>7}")
    accounted = 0.0
    for phase, seconds in sorted(timer.seconds.items(), key=lambda kv: -kv[1]):
        per = seconds / args.generations
        accounted += per
        print(f"{phase:<40} {1e3 * per:>16.2f} {100 * per / total:>6.0f}%")
    print(f"{'other (copies, glue)':<40} {1e3 * (total - accounted):>16.2f} "
          f"{100 * (total - accounted) / total:>6.0f}%")
    print(f"25,000 generations at this speed: {25000 / steady / 60:.1f} min")
    print()

    rng = np.random.default_rng(0)
    sizes = (250, 500, 1000, 2000, 4000, 8000)
    pools = pools_from(evolution, state, sizes, rng)
    pressure = evolution.selection.pressure
    stochastic = np.array([False, True])
    print("non-dominated sort of a pooled population (2n rows, keep n), ms per call")
    print(f"{'pool rows':>10} {'counting':>10} {'peeling':>10} {'literal':>10} {'peeling/counting':>17}")
    for rows, f in pools.items():
        keep = rows // 2
        t_count = best_of(lambda: nsga.counting_ranks(f, pressure, rng, keep), 5)
        t_lit = best_of(lambda: nsga.nondominated_ranks(f, stochastic, float(pressure[1]), rng), 3)
        if rows <= 2000:
            t_peel = best_of(lambda: nsga.peeling_ranks(f, pressure, rng, keep), 1)
            peel, ratio = f"{1e3 * t_peel:10.2f}", f"{t_peel / t_count:16.0f}x"
        else:
            peel, ratio = f"{'-':>10}", f"{'-':>17}"
        print(f"{rows:>10} {1e3 * t_count:>10.3f} {peel} {1e3 * t_lit:>10.3f} {ratio}")


if __name__ == "__main__":
    main()
