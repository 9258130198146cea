"""Clune P&CC engine speed on one core, as tables, from the middle of a real run.

In one run of the shipped P&CC config (``experiments/clune2013/pcc.toml``:
population 1000, the authors' operators, Q of the best logged every
generation, Q of the front every 100), warmed up ``--warmup`` generations
(not timed; the first generations' large random networks shrink and the
population has not settled):

1. steady-state generations / s over generations ``--warmup`` ..
   ``--warmup + --generations``, with Q logging as shipped and with
   ``log_modularity_every = log_front_every = 0``, from copies of the same
   state (the cost of Q logging);
2. the time per phase over the same generations;
3. the numba evaluator against a plain-numpy one (dense per-layer matrix
   products over the whole population): networks evaluated / s on the
   steady-state population, and generations / s with each;
4. the non-dominated sort alone on pooled populations from that run,
   resampled to 250 .. 8000 individuals: the counting sort against the
   authors' quadratic peeling (same distribution) and the literal one-pass
   sort;
5. whole-generation time against population size, 250 .. 8000: fresh runs
   of pcc.toml (``--scale-warmup`` generations untimed, then
   ``--scale-generations`` timed), and runs started from the steady-state
   population of 1. resampled to each size (``--resample-warmup`` untimed),
   so that every size times networks of the same size.

Usage: ``python benchmarks/bench_engine.py [--quick] [--warmup 1000] [--generations 1000]``
"""

from __future__ import annotations

import _timing as T  # sets NUMBA_NUM_THREADS=1 before numba loads
import numpy as np

from evomod import selection as selection_mod
from evomod.evolve import Evolution
from evomod.kernels import nsga
from evomod.runs import make_measure
from evomod.tasks import get_task

CONFIG = T.experiment("clune2013", "pcc.toml")
SIZES = (250, 500, 1000, 2000, 4000, 8000)


def numpy_performance(model, genomes, inputs, target):
    """Reference: each layer as a dense (n, dst, src) weight tensor; the
    authors' rule for an output of 0."""
    n = genomes["weights"].shape[0]
    values = np.broadcast_to(np.where(inputs, 1.0, -1.0).T, (n, model.n_inputs, len(inputs)))
    slot, bias_at = 0, 0
    for width_in, width_out in zip(model.widths[:-1], model.widths[1:]):
        w = genomes["weights"][:, slot : slot + width_in * width_out].reshape(n, width_out, width_in)
        b = genomes["biases"][:, bias_at : bias_at + width_out].astype(np.float64)
        summed = np.einsum("nds,nsp->ndp", w.astype(np.float64), values) + b[:, :, None]
        values = np.tanh(model.lam * summed)
        slot += width_in * width_out
        bias_at += width_out
    out = values.transpose(0, 2, 1)
    target = np.asarray(target, dtype=bool)[None]
    return np.where(target, out > 0, out < 0).mean(axis=(1, 2))


def pools_from(evolution, state, sizes, rng):
    """Objective matrices shaped like a real pooled population (parents and
    their offspring at this point of the run), resampled to each size."""
    sel = evolution.selection
    chosen = selection_mod.authors_parents(
        sel.objectives(evolution, state.genomes, state.performance, state.cost, state.penalty, rng),
        state.crowding,
        sel.pressure,
        rng,
    )
    _, perf, cost, penalty = sel._offspring(evolution, state, chosen, "and", None)
    f = np.column_stack([np.concatenate([state.performance, perf]), -np.concatenate([state.cost, cost])])
    return {n: f[rng.integers(0, len(f), size=n)] for n in sizes}


def sort_table(evolution, state, sizes):
    rng = np.random.default_rng(0)
    pools = pools_from(evolution, state, sizes, rng)
    pressure = evolution.selection.pressure
    stochastic = np.array([False, True])
    tiny = pools[min(pools)][:8]  # compile (or load) every kernel before timing
    nsga.counting_ranks(tiny, pressure, rng, 4)
    nsga.peeling_ranks(tiny, pressure, rng, 4)
    nsga.nondominated_ranks(tiny, stochastic, float(pressure[1]), rng)
    print("non-dominated sort of a pooled population (2n rows, keep n), ms per call")
    print(f"{'pool rows':>10} {'counting':>10} {'peeling':>10} {'literal':>10} {'peeling/counting':>17}")
    for rows, f in pools.items():
        keep = rows // 2
        t_count = T.best_of(lambda: nsga.counting_ranks(f, pressure, rng, keep), 20)
        t_lit = T.best_of(lambda: nsga.nondominated_ranks(f, stochastic, float(pressure[1]), rng), 3)
        if rows <= 2000:
            t_peel = T.best_of(lambda: nsga.peeling_ranks(f, pressure, rng, keep), 1)
            peel, ratio = f"{1e3 * t_peel:10.2f}", f"{t_peel / t_count:16.0f}x"
        else:
            peel, ratio = f"{'-':>10}", f"{'-':>17}"
        print(f"{rows:>10} {1e3 * t_count:>10.3f} {peel} {1e3 * t_lit:>10.3f} {ratio}")


def main():
    parser = T.engine_arguments(
        __doc__.split("\n")[0], scaling=(200, 100), quick_help="smoke run: tiny counts, sizes up to 2000"
    )
    args = parser.parse_args()
    sizes = SIZES
    if args.quick:
        args.warmup, args.generations, args.repeats = 100, 50, 1
        args.scale_warmup, args.scale_generations, args.scale_repeats, sizes = 20, 10, 1, SIZES[:4]
        args.resample_warmup = 5

    cfg = T.load_config(CONFIG, args.seed, stop_when="never")
    evolution = Evolution(cfg, measure=make_measure(cfg))
    model = evolution.parts.model
    task = get_task("retina")
    target = task.target("and")

    n = cfg.population
    print(
        f"Clune P&CC (pcc.toml, seed {args.seed}), population {n}, one thread, CPU times; "
        f"Q logged every {cfg.log_modularity_every} (best), every {cfg.log_front_every} (front)"
    )
    start, state = T.warm_up(evolution, args.warmup)

    # 1. steady state, with and without Q logging; 2. phases
    phases = [
        (model, "performance", "evaluate (numba)"),
        (model, "mutate", "mutate"),
        (evolution, "offspring_structure", "connection cost (changed wiring only)"),
        (selection_mod, "authors_survivors", "selection: non-dominated sort, crowding"),
        (selection_mod, "authors_parents", "selection: tournaments"),
    ]
    speed = T.speed_and_phases(evolution, start, args, phases, 25000, "25,000")

    # 3. numba against numpy
    genomes = speed["end"].genomes  # the population at the end of the timed generations
    assert np.array_equal(
        model.performance(genomes, task.inputs, target),
        numpy_performance(model, genomes, task.inputs, target),
    )
    t_kernel = T.best_of(lambda: model.performance(genomes, task.inputs, target), 50)
    t_numpy = T.best_of(lambda: numpy_performance(model, genomes, task.inputs, target), 5)
    few = max(5, args.generations // 10)
    gen_c, gen_r = T.swapped_speed(
        evolution, start, model, "performance", lambda g, x, t: numpy_performance(model, g, x, t), few
    )
    print("numba against the numpy reference (evaluations checked equal on the steady-state population)")
    T.print_ratio_header()
    T.print_ratio("networks evaluated / s (256 patterns), steady state", n / t_kernel, n / t_numpy)
    T.print_ratio(f"generations / s, generations {args.warmup:,}-{args.warmup + few:,}", 1 / gen_c, 1 / gen_r)
    print()

    # 4. the sort alone
    sort_table(evolution, speed["end"], sizes)
    print()

    # 5. whole generations against population size
    def sized(pop):
        return T.load_config(CONFIG, args.seed, stop_when="never", population=pop)

    T.scaling_table(
        sized,
        sizes,
        args.scale_warmup,
        args.scale_generations,
        "whole P&CC generations against population size (pcc.toml, Q logging as shipped)",
        args.scale_repeats,
    )
    print()
    T.scaling_table(
        sized,
        sizes,
        args.resample_warmup,
        args.scale_generations,
        f"the same, each size started from the population at generation "
        f"{speed['end'].generation:,} above, resampled",
        args.scale_repeats,
        resample_from=speed["end"].genomes,
    )


if __name__ == "__main__":
    main()
