"""Kashtan & Alon threshold-network (retina) engine speed on one core,
from the middle of a real run.

In one run of the shipped config (``experiments/kashtan2005/
retina_fixed.toml``: L AND R, population 600, elite 150, crossover 0.5,
100 random patterns per generation, Q of the best logged every 10
generations with the spectral method, as the threshold model's defaults
give it), warmed up ``--warmup`` generations (not timed):

1. steady-state generations / s over generations ``--warmup`` ..
   ``--warmup + --generations``, with Q logging as shipped and with
   ``log_modularity_every = 0``, from copies of the same state;
2. the time per phase over the same generations;
   then the compiled generation (``ThresholdModel.elitist_generation``)
   against the plain numpy path it replaced, on the same generations, and
   the plain path's phases;
3. the numba evaluator against a plain-numpy one (one vectorised pass per
   neuron and slot over the whole population and all patterns), checked
   equal on the steady-state population: networks evaluated / s, and
   generations / s with each.

Usage: ``python benchmarks/bench_threshold.py [--quick] [--warmup 1000] [--generations 1000]``
"""

from __future__ import annotations

import _timing as T  # sets NUMBA_NUM_THREADS=1 before numba loads
import numpy as np

from evomod import selection as selection_mod
from evomod.evolve import Evolution
from evomod.runs import make_measure

CONFIG = T.experiment("kashtan2005", "retina_fixed.toml")


def numpy_performance(model, genomes, inputs, target):
    """Reference evaluator: node values (n, nodes, patterns), one neuron at a
    time, each slot's source gathered for the whole population at once."""
    src = genomes["src"].astype(np.int64)
    sign = genomes["sign"].astype(np.int32)
    thr = genomes["threshold"].astype(np.int32)
    n, n_patterns = len(src), len(inputs)
    rows = np.arange(n)
    values = np.zeros((n, model.n_nodes, n_patterns), dtype=np.int32)
    values[:, : model.n_inputs] = np.asarray(inputs, dtype=np.int32).T[None]
    for j in range(model.n_neurons):
        total = np.zeros((n, n_patterns), dtype=np.int32)
        for s in range(model.n_slots):
            filled = src[:, j, s] >= 0
            node = model.prev_offset[j] + np.where(filled, src[:, j, s], 0)
            weight = np.where(filled, sign[:, j, s], 0)
            total += weight[:, None] * values[rows, node]
        values[:, model.n_inputs + j] = total >= thr[:, j, None]
    out = values[:, model.n_nodes - model.n_outputs :].transpose(0, 2, 1) == 1
    return (out == np.asarray(target, dtype=bool)[None]).mean(axis=(1, 2))


def main():
    parser = T.engine_arguments(__doc__.split("\n")[0])
    args = parser.parse_args()
    if args.quick:
        args.warmup, args.generations, args.repeats = 100, 100, 1

    cfg = T.load_config(CONFIG, args.seed, stop_when="never")
    evolution = Evolution(cfg, measure=make_measure(cfg))
    model = evolution.parts.model
    task = evolution.parts.task

    n = cfg.population
    print(
        f"Kashtan & Alon threshold networks, retina L AND R (retina_fixed.toml, seed {args.seed}), "
        f"population {n}, elite {cfg.selection.elite}, {cfg.sample_patterns} sampled patterns "
        f"per generation, one thread, CPU times; Q ({cfg.modularity_method}) of the best "
        f"logged every {cfg.log_modularity_every}"
    )
    start, state = T.warm_up(evolution, args.warmup)

    # 1. steady state, with and without Q logging; 2. phases
    work = "elite order, crossover, mutate, penalty, scoring of the changed children"
    phases = [
        (model, "elitist_generation", f"compiled generation: {work}"),
        (model, "mutation_draws", "random draws of the mutations (numpy)"),
        (model, "crossover_draws", "random draws of the crossovers (numpy)"),
        (model, "performance", "evaluate the population on the generation's patterns"),
        (evolution, "_patterns", "draw the generation's patterns"),
    ]
    speed = T.speed_and_phases(evolution, start, args, phases, 21000, "21,000")
    plain_phases = [
        (model, "performance", "evaluate (numba)"),
        (model, "mutate", "mutate"),
        (model, "crossover", "crossover"),
        (evolution, "structure", "neuron penalty (used neurons)"),
        (selection_mod, "elite_order", "selection: elite order"),
        (evolution, "_patterns", "draw the generation's patterns"),
    ]
    T.compiled_against_plain(evolution, start, args, model, work, plain_phases)

    # 3. numba against numpy
    genomes = speed["end"].genomes
    target_all = task.target("and")
    sample = np.sort(np.random.default_rng(0).choice(task.n_patterns, cfg.sample_patterns, replace=False))
    print("numba against the numpy reference (evaluations checked equal on the steady-state population)")
    T.print_ratio_header()
    for label, rows in ((f"{cfg.sample_patterns} sampled", sample), ("all 256", slice(None))):
        inputs, target = task.inputs[rows], target_all[rows]
        assert np.array_equal(
            model.performance(genomes, inputs, target), numpy_performance(model, genomes, inputs, target)
        )
        t_kernel = T.best_of(lambda: model.performance(genomes, inputs, target), 50)
        t_numpy = T.best_of(lambda: numpy_performance(model, genomes, inputs, target), 5)
        T.print_ratio(f"networks evaluated / s ({label} patterns), steady state", n / t_kernel, n / t_numpy)
    few = max(5, args.generations // 10)
    gen_c, gen_r = T.swapped_speed(
        evolution, start, model, "performance", lambda g, x, t: numpy_performance(model, g, x, t), few
    )
    T.print_ratio(f"generations / s, generations {args.warmup:,}-{args.warmup + few:,}", 1 / gen_c, 1 / gen_r)


if __name__ == "__main__":
    main()
