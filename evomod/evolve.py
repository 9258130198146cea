"""The one evolutionary loop, driven with DEAP's vocabulary.

The loop is handed a task, a network model, a goal schedule, a connection
cost and a selection scheme (``evomod.build.Parts``); it never looks inside
them. Populations stay packed as arrays (``Genomes``), so evaluation,
mutation and sorting run in compiled kernels, while DEAP provides the
toolbox, ``Statistics``, ``Logbook`` and ``HallOfFame``.

Each generation first logs the population it starts from (scored under the
generation's goal), then breeds. One generation of ``pnsga2`` (Clune et al. 2013): binary crowded tournaments
pick parents, each parent gives one mutated offspring, parents and offspring
are pooled, and NSGA-II with stochastic dominance keeps ``population`` of
them. One generation of ``elitist`` (Kashtan & Alon 2005): the best ``elite``
pass unchanged, the rest are mutated (optionally recombined) copies of
elite members drawn uniformly.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from deap import base, creator, tools

from evomod.build import Parts, build_parts, seed_streams
from evomod.models.base import Genomes, concat, size, take
from evomod.selection import crowded_tournament, elite_order, nsga2_survivors

LOG_FIELDS = ("gen", "goal", "best", "median", "mean", "cost", "connections")

if not hasattr(creator, "EvomodFitness"):
    # Performance up, cost down: the hall of fame ranks by performance, then cost.
    creator.create("EvomodFitness", base.Fitness, weights=(1.0, -1.0))
    creator.create("EvomodNetwork", dict, fitness=creator.EvomodFitness)


def _same_genome(a, b) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in a)


@dataclass
class State:
    """Everything a resumed run needs to continue bit for bit."""
    generation: int
    genomes: Genomes
    rng_state: dict
    stdlib_state: tuple
    logbook: tools.Logbook
    hall_of_fame: tools.HallOfFame
    performance: np.ndarray
    cost: np.ndarray
    penalty: np.ndarray
    rank: np.ndarray
    crowding: np.ndarray
    evaluated_for: tuple | None = None
    first_solved: dict = field(default_factory=dict)
    elapsed: float = 0.0
    stopped: bool = False


class Evolution:
    def __init__(self, config, parts: Parts | None = None,
                 measure: Callable[[dict], dict] | None = None):
        self.config = config
        self.parts = parts or build_parts(config)
        # measure(network_json) -> extra log columns (modularity), cached by genome.
        self.measure = measure
        self._measured: dict[bytes, dict] = {}
        self.rng = np.random.default_rng(seed_streams(config.seed)["evolution"])
        self.stdlib = random.Random()
        self.stdlib.seed(int(seed_streams(config.seed)["stdlib"].generate_state(1)[0]))
        # DEAP functions draw from the module-level generator; keep it in step.
        random.setstate(self.stdlib.getstate())
        p = self.parts
        tb = base.Toolbox()
        tb.register("population", p.model.random, config.population)
        tb.register("mutate", p.model.mutate)
        tb.register("cost", p.cost, p.model)
        tb.register("survivors", nsga2_survivors)
        tb.register("parents", crowded_tournament)
        self.toolbox = tb
        self.stats = tools.Statistics()
        self.stats.register("best", np.max)
        self.stats.register("median", np.median)
        self.stats.register("mean", np.mean)
        self.stochastic = np.array([name != "performance" for name in p.objectives])

    # -- state -------------------------------------------------------------
    def initial_state(self, genomes: Genomes | None = None) -> State:
        """Generation 0: random genomes, or the given ones (e.g. clones of
        one network for an adaptation experiment)."""
        if genomes is None:
            genomes = self.toolbox.population(self.rng)
        else:
            genomes = {k: np.array(v, copy=True) for k, v in genomes.items()}
            if size(genomes) != self.config.population:
                raise ValueError(f"{size(genomes)} genomes given for a population of "
                                 f"{self.config.population}")
        n = size(genomes)
        logbook = tools.Logbook()
        logbook.header = list(LOG_FIELDS)
        state = State(0, genomes, {}, (), logbook, tools.HallOfFame(self.config.hall_of_fame, similar=_same_genome),
                      np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n))
        return state

    def restore(self, state: State) -> None:
        self.rng.bit_generator.state = state.rng_state
        self.stdlib.setstate(state.stdlib_state)
        random.setstate(state.stdlib_state)

    def snapshot(self, state: State) -> State:
        state.rng_state = self.rng.bit_generator.state
        state.stdlib_state = self.stdlib.getstate()
        return state

    # -- evaluation ----------------------------------------------------------
    def _patterns(self):
        k = self.config.sample_patterns
        n = self.parts.task.n_patterns
        if k == 0 or k == n:
            return None
        return np.sort(self.rng.choice(n, size=k, replace=False))

    def evaluate(self, genomes: Genomes, goal: str, patterns) -> np.ndarray:
        """Fraction of correct answers under ``goal`` (or, with
        ``objective = "modularity"``, each network's Q: for Q_max baselines)."""
        if self.config.objective == "modularity":
            return np.array([self._measure_genome(take(genomes, [i]))["q"]
                             for i in range(size(genomes))])
        task = self.parts.task
        inputs, target = task.inputs, task.target(goal)
        if patterns is not None:
            inputs, target = inputs[patterns], target[patterns]
        return self.parts.model.performance(genomes, inputs, target)

    def structure(self, genomes: Genomes) -> tuple[np.ndarray, np.ndarray]:
        """Goal-independent scores: connection cost and the model's own penalty."""
        return self.toolbox.cost(genomes), self.parts.model.penalty(genomes)

    def fitness(self, perf, cost, penalty) -> np.ndarray:
        """What selection maximises first: performance less the model's
        penalty, and less the weighted cost when the elitist GA applies it."""
        fit = perf - penalty
        if self.config.selection.kind == "elitist" and "cost" in self.parts.objectives:
            fit = fit - self.config.cost.weight * cost
        return fit

    def _objectives(self, fit, cost):
        columns = []
        for name in self.parts.objectives:
            if name == "performance":
                columns.append(fit)
            elif name == "cost":
                columns.append(-cost)
            else:
                columns.append(self.rng.random(len(fit)))
        return np.column_stack(columns)

    # -- one generation ------------------------------------------------------
    def step(self, state: State) -> State:
        g = state.generation
        goal = self.parts.schedule.goal(g)
        patterns = self._patterns()
        key = (goal, None if patterns is None else patterns.tobytes())
        model, tb, cfg = self.parts.model, self.toolbox, self.config
        if state.evaluated_for != key:
            state.performance = self.evaluate(state.genomes, goal, patterns)
            if state.evaluated_for is None:
                state.cost, state.penalty = self.structure(state.genomes)
            state.evaluated_for = key
        # Row g describes the population entering generation g, scored under
        # goal g, for both selection kinds: "first solved at g" means the same.
        self._record(state, goal)
        if cfg.selection.kind == "pnsga2":
            if g == 0:
                _, state.rank, state.crowding = tb.survivors(
                    self._objectives(self.fitness(state.performance, state.cost, state.penalty),
                                     state.cost),
                    self.stochastic, cfg.selection.cost_probability, cfg.population, self.rng)
            chosen = tb.parents(state.rank, state.crowding, cfg.population, self.rng)
            offspring = tb.mutate(take(state.genomes, chosen), self.rng)
            pool = concat(state.genomes, offspring)
            perf = np.concatenate([state.performance, self.evaluate(offspring, goal, patterns)])
            child_cost, child_penalty = self.structure(offspring)
            cost = np.concatenate([state.cost, child_cost])
            penalty = np.concatenate([state.penalty, child_penalty])
            keep, state.rank, state.crowding = tb.survivors(
                self._objectives(self.fitness(perf, cost, penalty), cost), self.stochastic,
                cfg.selection.cost_probability, cfg.population, self.rng)
            state.genomes = take(pool, keep)
            state.performance, state.cost, state.penalty = perf[keep], cost[keep], penalty[keep]
        else:
            order = elite_order(self.fitness(state.performance, state.cost, state.penalty), self.rng)
            elite = order[: cfg.selection.elite]
            n_children = cfg.population - len(elite)
            parents = take(state.genomes, elite[self.rng.integers(0, len(elite), n_children)])
            rate = getattr(model, "crossover_probability", 0.0)
            if rate > 0.0:
                mates = take(state.genomes, elite[self.rng.integers(0, len(elite), n_children)])
                crossed = model.crossover(parents, mates, self.rng)
                mix = self.rng.random(n_children) < rate
                parents = {k: np.where(mix.reshape((-1,) + (1,) * (v.ndim - 1)), crossed[k], v)
                           for k, v in parents.items()}
            children = tb.mutate(parents, self.rng)
            state.genomes = concat(take(state.genomes, elite), children)
            state.performance = np.concatenate(
                [state.performance[elite], self.evaluate(children, goal, patterns)])
            child_cost, child_penalty = self.structure(children)
            state.cost = np.concatenate([state.cost[elite], child_cost])
            state.penalty = np.concatenate([state.penalty[elite], child_penalty])
        state.generation = g + 1
        return state

    def ranking(self, state: State) -> np.ndarray:
        """Indices from best to worst: highest fitness, then (only when cost is
        selected on) cheapest, then first. Breaking PA's ties by cost would
        report its sparsest, likeliest modular network: a bias, not a result."""
        fit = self.fitness(state.performance, state.cost, state.penalty)
        if "cost" in self.parts.objectives:
            return np.lexsort((np.arange(len(fit)), state.cost, -fit))
        return np.lexsort((np.arange(len(fit)), -fit))

    def best_index(self, state: State) -> int:
        return int(self.ranking(state)[0])

    def _record(self, state: State, goal: str) -> None:
        order = self.ranking(state)
        best = int(order[0])
        row = {"gen": state.generation, "goal": goal,
               # One array as the single datum: DEAP applies the key per datum in Python.
               **{k: float(v) for k, v in self.stats.compile([state.performance]).items()},
               "cost": float(state.cost[best]),
               "connections": int(np.count_nonzero(self.parts.model.edges(take(state.genomes, [best]))[2]))}
        every = self.config.log_modularity_every
        if self.measure is not None and every > 0 and state.generation % every == 0:
            row.update(self._measure_best(state, best))
        state.logbook.record(**row)
        if row["best"] >= 1.0 and goal not in state.first_solved:
            state.first_solved[goal] = state.generation
        self._update_hall_of_fame(state, order)

    def _measure_best(self, state: State, best: int) -> dict:
        return self._measure_genome(take(state.genomes, [best]))

    def _measure_genome(self, genome: Genomes) -> dict:
        key = b"".join(v.tobytes() for v in genome.values())
        if key not in self._measured:
            if len(self._measured) > 4096:
                self._measured.clear()
            self._measured[key] = self.measure(self.parts.model.to_json(genome, 0))
        return self._measured[key]

    def _update_hall_of_fame(self, state: State, order: np.ndarray) -> None:
        # Only the top of the population can enter; twice the hall's size
        # leaves room for duplicates it rejects.
        top = order[: 2 * self.config.hall_of_fame]
        fit = self.fitness(state.performance, state.cost, state.penalty)
        candidates = []
        for i in top:
            network = creator.EvomodNetwork({name: arr[i].copy() for name, arr in state.genomes.items()})
            network.fitness.values = (float(fit[i]), float(state.cost[i]))
            candidates.append(network)
        state.hall_of_fame.update(candidates)

    def solved(self, state: State) -> bool:
        when = self.config.stop_when
        if when == "never" or not state.logbook:
            return False
        last_goal = state.logbook[-1]["goal"]
        if when == "current_goal":
            return last_goal in state.first_solved and state.logbook[-1]["best"] >= 1.0
        return all(goal in state.first_solved for goal in self.parts.schedule.distinct_goals())

    def run(self, state: State, until: int, on_generation=()) -> State:
        """Advance ``state`` to generation ``until`` (or until solved)."""
        if state.rng_state:  # a resumed or continued state carries its generators
            self.restore(state)
        started = time.perf_counter()
        base_elapsed = state.elapsed
        while state.generation < until and not state.stopped:
            self.step(state)
            state.elapsed = base_elapsed + time.perf_counter() - started
            state.logbook[-1]["elapsed"] = round(state.elapsed, 3)
            if self.solved(state):
                state.stopped = True
            for hook in on_generation:
                hook(self, state)
        return self.snapshot(state)
