"""Kashtan & Alon NAND-circuit engine speed on one core, from the middle of a real run.

In one run of the shipped MVG config (``experiments/kashtan2005/
g1g2_alternating.toml``: G1/G2 alternating every 20 generations, population
1000, elite 300, Q of the best logged every 10 generations with the spectral
method, as the circuit model's defaults give it; ``stop_when`` set to
"never" so that the steady-state rule cannot end the run), warmed up
``--warmup`` generations (not timed):

1. steady-state generations / s over generations ``--warmup`` ..
   ``--warmup + --generations``, with Q logging as shipped and with
   ``log_modularity_every = 0``, from copies of the same state;
2. the time per phase over the same generations;
   then the compiled generation (``CircuitModel.elitist_generation``)
   against the plain numpy path it replaced, on the same generations, and
   the plain path's phases;
3. the bit-parallel numba evaluator against a pure-Python one (node values
   as Python ints used as 16-bit words), checked equal on the steady-state
   population, and the whole loop against a pure-Python reference of the
   same elitist GA (generations / s);
4. whole-generation time against population size, 250 .. 8000, on the
   fixed-G1 config (``g1_fixed.toml``, ``stop_when = "never"``, elite 30 %
   of the population as the paper's 300 / 1000): fresh runs, and runs
   started from a steady-state population of that config resampled to
   each size.

Usage: ``python benchmarks/bench_circuits.py [--quick] [--warmup 1000] [--generations 1000]``
"""

from __future__ import annotations

import random

import _timing as T  # sets NUMBA_NUM_THREADS=1 before numba loads
import numpy as np

from evomod import config as config_mod
from evomod import selection as selection_mod
from evomod.evolve import Evolution
from evomod.models.circuit import pattern_index
from evomod.runs import make_measure
from evomod.tasks import get_task

CONFIG = T.experiment("kashtan2005", "g1g2_alternating.toml")
FIXED = T.experiment("kashtan2005", "g1_fixed.toml")
SIZES = (250, 500, 1000, 2000, 4000, 8000)
N_INPUTS, GATES, POPULATION, ELITE, MUTATION = 4, 14, 1000, 300, 0.7


def python_performance(model, genomes, inputs, target):
    """Reference evaluator: each feed-forward circuit gate by gate, node
    values as Python ints (bit p = the value on pattern p)."""
    assert not model.feedback and model.genome == "integer"
    index = [int(p) for p in pattern_index(inputs, model.n_inputs)]
    mask = (1 << model.n_patterns) - 1
    words = [sum(1 << p for p in range(model.n_patterns) if (p >> i) & 1) for i in range(model.n_inputs)]
    target = np.asarray(target, dtype=bool)
    goals = [sum(1 << p for p, bit in zip(index, target[:, o]) if bit) for o in range(model.n_outputs)]
    select = sum(1 << p for p in set(index))
    total = len(index) * model.n_outputs
    result = np.empty(len(genomes["src"]))
    for k, (gates, outs) in enumerate(zip(genomes["src"].tolist(), genomes["out"].tolist())):
        values = list(words)
        for a, b in gates:
            values.append(~(values[a] & values[b]) & mask)
        correct = sum(bin(~(values[o] ^ goal) & select).count("1") for o, goal in zip(outs, goals))
        result[k] = correct / total
    return result


def words_of(task, goal):
    table = task.target(goal)[:, 0]
    return sum(1 << p for p in range(len(table)) if table[p])


def reference_loop(generations, seed=0):
    """The same GA in plain Python (alternating G1/G2, population 1000,
    elite 300), for the speed ratio only."""
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


def fixed_config(pop, seed):
    """g1_fixed.toml at population ``pop``, elite 30 %, never stopping."""
    data = config_mod.read_toml(FIXED)
    data.update(population=pop, stop_when="never")
    data.setdefault("selection", {})["elite"] = int(round(0.3 * pop))
    return config_mod.from_dict(data, seed=seed)


def main():
    parser = T.engine_arguments(
        __doc__.split("\n")[0], scaling=(500, 500), quick_help="smoke run: tiny counts, sizes up to 2000"
    )
    parser.add_argument(
        "--reference-generations", type=int, default=40, help="generations of the pure-Python GA"
    )
    args = parser.parse_args()
    sizes = SIZES
    if args.quick:
        args.warmup, args.generations, args.repeats, args.reference_generations = 100, 100, 1, 5
        args.scale_warmup, args.scale_generations, args.scale_repeats, sizes = 20, 20, 1, SIZES[:4]
        args.resample_warmup = 5

    cfg = T.load_config(CONFIG, args.seed, stop_when="never")
    evolution = Evolution(cfg, measure=make_measure(cfg))
    model = evolution.parts.model
    task = evolution.parts.task

    n = cfg.population
    print(
        f"Kashtan & Alon NAND circuits, MVG G1/G2 every {cfg.schedule.period} "
        f"(g1g2_alternating.toml, seed {args.seed}, stop_when = 'never'), population {n}, "
        f"elite {cfg.selection.elite}, one thread, CPU times; Q ({cfg.modularity_method}) "
        f"of the best logged every {cfg.log_modularity_every}"
    )
    start, state = T.warm_up(evolution, args.warmup)

    # 1. steady state, with and without Q logging; 2. phases
    phases = [
        (model, "elitist_generation", "compiled generation: elite order, copies, mutate, evaluate, penalty"),
        (model, "mutation_draws", "random draws of the mutations (numpy)"),
        (model, "packed_goal", "goal lookup"),
    ]
    speed = T.speed_and_phases(evolution, start, args, phases, 100000, "10^5")

    # The compiled generation against the plain one it replaced (the same run).
    plain_phases = [
        (model, "performance", "evaluate (numba, bit-parallel)"),
        (model, "mutate", "mutate"),
        (evolution, "structure", "gate penalty (effective gates)"),
        (selection_mod, "elite_order", "selection: elite order"),
    ]
    T.compiled_against_plain(
        evolution, start, args, model, "elite order, mutate, evaluate, penalty", plain_phases
    )

    # 3. compiled against pure Python
    end = speed["end"]
    goal = evolution.parts.schedule.goal(end.generation)
    inputs, target = task.inputs, task.target(goal)
    genomes = end.genomes
    assert np.array_equal(
        model.performance(genomes, inputs, target), python_performance(model, genomes, inputs, target)
    )
    t_kernel = T.best_of(lambda: model.performance(genomes, inputs, target), 50)
    t_python = T.best_of(lambda: python_performance(model, genomes, inputs, target), 5)
    t0 = T.clock()
    reference_loop(args.reference_generations)
    python_gen = args.reference_generations / (T.clock() - t0)
    print("numba against pure Python (evaluations checked equal on the steady-state population)")
    T.print_ratio_header()
    T.print_ratio(
        f"circuits evaluated / s (16 patterns, goal {goal}), steady state", n / t_kernel, n / t_python
    )
    T.print_ratio(
        f"generations / s without Q logging (reference: gens 0-{args.reference_generations})",
        1 / speed["off"],
        python_gen,
    )
    print()

    # 4. whole generations against population size
    def sized(pop):
        return fixed_config(pop, args.seed)

    T.scaling_table(
        sized,
        sizes,
        args.scale_warmup,
        args.scale_generations,
        "whole circuit generations against population size (g1_fixed.toml, elite 30 %, "
        "stop_when = 'never', Q logging as shipped)",
        args.scale_repeats,
    )
    print()
    fixed = sized(1000)
    steady = Evolution(fixed, measure=make_measure(fixed))
    state = steady.initial_state()
    steady.run(state, args.warmup)
    T.scaling_table(
        sized,
        sizes,
        args.resample_warmup,
        args.scale_generations,
        f"the same, each size started from the population of a g1_fixed.toml run at "
        f"generation {args.warmup:,} (population 1000), resampled",
        args.scale_repeats,
        resample_from=state.genomes,
    )


if __name__ == "__main__":
    main()
