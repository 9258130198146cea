"""The one evolutionary loop, driven with DEAP's vocabulary.

The loop is handed a task, a network model, a goal schedule, a connection
cost (``evomod.build.Parts``) and a selection strategy
(``evomod.selection``); it never looks inside them. Populations stay packed
as arrays (``Genomes``), so evaluation, mutation and sorting run in compiled
kernels, while DEAP provides ``Logbook`` and ``HallOfFame`` (the hall updated only
when a network can enter it).

Each generation first logs the population it starts from (scored under the
generation's goal), then the selection strategy breeds the next one (see
``evomod.selection`` for ``pnsga2`` in its two families and ``elitist``).

"Solved" means fitness 1: performance 1 and none of the model's own penalty
(Kashtan & Alon's gate or neuron penalty), whatever the connection cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np
from deap import base, creator, tools

from evomod.build import Parts, build_parts, seed_streams
from evomod.models.base import Genomes, size, take
from evomod.rundir import LOG_FIELDS
from evomod.selection import make_selection

RANDOM_OBJECTIVE = "random_objective"

if not hasattr(creator, "EvomodFitness"):
    # Fitness up, then cost down (cost only when selected on: see _update_hall_of_fame).
    creator.create("EvomodFitness", base.Fitness, weights=(1.0, -1.0))
    creator.create("EvomodNetwork", dict, fitness=creator.EvomodFitness)


def _row(genomes: Genomes, i: int) -> Genomes:
    """Row ``i`` as a one-row population (views, not copies)."""
    return {k: v[i : i + 1] for k, v in genomes.items()}


def median(values: np.ndarray) -> float:
    """``np.median`` of a NaN-free 1-D array, the same number, in a third of
    the time: the one or two middle values by ``np.partition``, and their
    mean as ``np.median`` takes it (their sum, halved)."""
    n = len(values)
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    middle = np.partition(values, [half - 1, half])
    return float((middle[half - 1] + middle[half]) / 2)


def _same_genome(a, b) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in a)


def _genome_key(genome) -> bytes:
    """Bytes equal exactly when ``_same_genome`` holds (genomes of one run:
    the same arrays, shapes and dtypes); -0.0 is written as 0.0, which
    ``np.array_equal`` counts as equal."""
    return b"".join(
        (np.asarray(v) + 0.0 if np.asarray(v).dtype.kind == "f" else np.asarray(v)).tobytes()
        for v in genome.values()
    )


@dataclass
class State:
    """Everything a resumed run needs to continue bit for bit.

    ``rank`` and ``crowding`` are the survivors' front and crowding distance
    from the last environmental selection (what the next tournaments use);
    ``objectives``, for the authors' family, the objective values that
    selection saw (what the authors' tournaments compare: in the generation
    a goal switches, those of the old goal). ``rng_state`` is the loop's one
    generator: every draw of a run comes from it (DEAP's Logbook and
    HallOfFame draw nothing).
    """

    # Fields older checkpoints hold that mean nothing any more: the stdlib
    # ``random`` generator's state, kept for DEAP, which never drew from it.
    RETIRED_FIELDS: ClassVar[tuple[str, ...]] = ("stdlib_state",)

    generation: int
    genomes: Genomes
    rng_state: dict
    logbook: tools.Logbook
    hall_of_fame: tools.HallOfFame
    performance: np.ndarray
    cost: np.ndarray
    penalty: np.ndarray
    rank: np.ndarray
    crowding: np.ndarray
    evaluated_for: tuple | None = None
    first_solved: dict = field(default_factory=dict)
    # Generation at which the best was perfect at the end of the last
    # ``steady_epochs`` consecutive epochs, and those epochs' best networks.
    steady_at: int | None = None
    steady_networks: list = field(default_factory=list)
    epoch_ends: list = field(default_factory=list)
    elapsed: float = 0.0
    stopped: bool = False
    objectives: np.ndarray | None = None
    # (goal, patterns) the children are still to be scored on, or None
    # (see Evolution.settle).
    unscored_on: tuple | None = None


def note_epoch_end(
    epoch_ends: list, generation: int, period: int, best_perfect: bool, k: int, describe: Callable[[], dict]
) -> bool:
    """Keep ``epoch_ends`` (at most ``k`` entries, oldest first) up to date
    for the steady-state rule and say whether it now holds: the population's
    best was perfect at the end of each of the last ``k`` consecutive epochs.
    An epoch ends at the last generation before a multiple of ``period``;
    ``describe()`` makes the entry kept for a perfect end."""
    if (generation + 1) % period != 0:
        return False
    if not best_perfect:
        epoch_ends.clear()
        return False
    epoch_ends.append(describe())
    del epoch_ends[:-k]
    return len(epoch_ends) == k


def steady_generation(rows, period: int, k: int) -> int | None:
    """The first generation at which the steady-state rule holds over log
    rows of (generation, best is perfect), or None."""
    ends: list = []
    for generation, perfect in rows:
        if note_epoch_end(ends, int(generation), period, bool(perfect), k, lambda: None):
            return int(generation)
    return None


class Evolution:
    def __init__(self, config, parts: Parts | None = None, measure: Callable[[dict], dict] | None = None):
        self.config = config
        self.parts = parts or build_parts(config)
        # measure(network_json) -> extra log columns (modularity), cached by genome.
        if measure is None and config.objective == "modularity":
            # Selecting on Q needs the measure even when Q is not logged.
            from evomod.modularity.tracking import log_measure

            measure = log_measure(config)
        self.measure = measure
        self._measured: dict[bytes, dict] = {}
        self._q_by_wiring: dict[bytes, float] = {}
        streams = seed_streams(config.seed)
        self.rng = np.random.default_rng(streams["evolution"])
        self.selection = make_selection(config, self.parts)

    # -- state -------------------------------------------------------------
    def initial_state(self, genomes: Genomes | None = None) -> State:
        """Generation 0: random genomes, or the given ones (e.g. clones of
        one network for an adaptation experiment)."""
        if genomes is None:
            genomes = self.parts.model.random(self.config.population, self.rng)
        else:
            genomes = {k: np.array(v, copy=True) for k, v in genomes.items()}
            if size(genomes) != self.config.population:
                raise ValueError(
                    f"{size(genomes)} genomes given for a population of {self.config.population}"
                )
        n = size(genomes)
        if self.selection.heritable_random_objective and RANDOM_OBJECTIVE not in genomes:
            genomes[RANDOM_OBJECTIVE] = self.rng.random(n)
        logbook = tools.Logbook()
        logbook.header = list(LOG_FIELDS)
        return State(
            0,
            genomes,
            {},
            logbook,
            tools.HallOfFame(self.config.hall_of_fame, similar=_same_genome),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n),
            np.zeros(n, dtype=np.int64),
            np.zeros(n),
        )

    def restore(self, state: State) -> None:
        self.rng.bit_generator.state = state.rng_state

    def snapshot(self, state: State) -> State:
        self.settle(state)
        state.rng_state = self.rng.bit_generator.state
        return state

    @property
    def rescores_every_generation(self) -> bool:
        """Whether every generation scores its whole population afresh (on
        newly sampled patterns), so that children need not be scored on the
        patterns of the generation that bred them until a state is kept."""
        k = self.config.sample_patterns
        return self.scores_performance and 0 < k < self.parts.task.n_patterns

    def defer_scores(self, state: State, goal: str, patterns) -> None:
        """Mark ``state``'s children unscored: their performance on ``goal``
        and ``patterns`` is computed by ``settle`` if a state is kept (a
        checkpoint, the end of a run), and never when the next generation
        scores everyone on its own patterns."""
        state.unscored_on = (goal, patterns)

    def settle(self, state: State) -> None:
        """Score deferred children: the numbers they would have been given
        when bred (their parents' rows are scored again, to the same values)."""
        if state.unscored_on is not None:
            state.performance = self.evaluate(state.genomes, *state.unscored_on)
            state.unscored_on = None

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
            return np.array([self._measure_genome(take(genomes, [i]))["q"] for i in range(size(genomes))])
        return self.parts.model.performance(genomes, *self.goal_data(goal, patterns))

    def goal_data(self, goal: str, patterns) -> tuple[np.ndarray, np.ndarray]:
        """The input rows a network is scored on under ``goal`` and their targets."""
        task = self.parts.task
        inputs, target = task.inputs, task.target(goal)
        if patterns is not None:
            inputs, target = inputs[patterns], target[patterns]
        return inputs, target

    @property
    def scores_performance(self) -> bool:
        """Whether ``evaluate`` scores the task (not Q, as Q_max baselines do)."""
        return self.config.objective != "modularity"

    def structure(self, genomes: Genomes) -> tuple[np.ndarray, np.ndarray]:
        """Goal-independent scores: connection cost and the model's own penalty."""
        return self.parts.cost(self.parts.model, genomes), self.parts.model.penalty(genomes)

    def offspring_structure(
        self, children: Genomes, parents: Genomes, parent_cost: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``structure`` of mutants, re-solving the cost only where the edges
        it depends on changed (most offspring keep their parent's wiring)."""
        model, cost = self.parts.model, self.parts.cost
        penalty = model.penalty(children)
        if cost.charges_nothing:
            return np.zeros(size(children)), penalty
        same = model.same_edges(children, parents, values=cost.depends_on_weight_values)
        result = np.array(parent_cost, dtype=np.float64, copy=True)
        changed = np.flatnonzero(~same)
        if len(changed):
            result[changed] = cost(model, take(children, changed))
        return result, penalty

    def fitness(self, perf, cost, penalty) -> np.ndarray:
        """What selection maximises first: performance less the model's
        penalty, and less the weighted cost when the elitist GA applies it."""
        fit = perf - penalty
        if self.selection.cost_as_penalty and "cost" in self.parts.objectives:
            fit = fit - self.config.cost.weight * cost
        return fit

    # -- one generation ------------------------------------------------------
    def step(self, state: State) -> State:
        g = state.generation
        goal = self.parts.schedule.goal(g)
        patterns = self._patterns()
        key = (goal, None if patterns is None else patterns.tobytes())
        if state.evaluated_for != key or state.unscored_on is not None:
            state.performance = self.evaluate(state.genomes, goal, patterns)
            state.unscored_on = None
            if state.evaluated_for is None:
                state.cost, state.penalty = self.structure(state.genomes)
                self.selection.start(self, state)
            state.evaluated_for = key
        # Row g describes the population entering generation g, scored under
        # goal g, for every selection: "first solved at g" means the same.
        self._record(state, goal)
        self.selection.breed(self, state, goal, patterns)
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

    def _first_ranked(self, fit: np.ndarray, cost: np.ndarray, among: np.ndarray | None = None) -> int:
        """``ranking``'s first index (of those in ``among``, ascending), without sorting."""
        if among is not None:
            fit, cost = fit[among], cost[among]
        if "cost" in self.parts.objectives:
            top = np.flatnonzero(fit == fit.max())
            first = int(top[np.argmin(cost[top])])
        else:
            first = int(np.argmax(fit))
        return first if among is None else int(among[first])

    def best_index(self, state: State) -> int:
        return self._first_ranked(self.fitness(state.performance, state.cost, state.penalty), state.cost)

    def perfect(self, state: State) -> np.ndarray:
        """Fitness 1: performance 1 and no model penalty."""
        return (state.performance >= 1.0) & (state.penalty <= 0.0)

    def _record(self, state: State, goal: str) -> None:
        fit = self.fitness(state.performance, state.cost, state.penalty)
        best = self._first_ranked(fit, state.cost)
        perfect = self.perfect(state)
        row = {
            "gen": state.generation,
            "goal": goal,
            # One array as the single datum: DEAP applies the key per datum in Python.
            "best": float(np.max(state.performance)),
            "median": median(state.performance),
            # np.mean's own sum and division, without its Python overhead.
            "mean": float(state.performance.sum()) / len(state.performance),
            "perfect": int(perfect.sum()),
            "cost": float(state.cost[best]),
            "connections": int(self.parts.model.connection_count(_row(state.genomes, best))[0]),
        }
        every = self.config.log_modularity_every
        if self.measure is not None and every > 0 and state.generation % every == 0:
            row.update(self._measure_genome(_row(state.genomes, best)))
        front_every = self.config.log_front_every
        if (
            self.measure is not None
            and self.selection.has_fronts
            and front_every > 0
            and state.generation % front_every == 0
        ):
            row.update(self._measure_top_front(state))
        state.logbook.record(**row)
        if row["perfect"] and goal not in state.first_solved:
            state.first_solved[goal] = state.generation
        if perfect[best] or not row["perfect"]:
            perfect_best = best
        else:
            perfect_best = self._first_ranked(fit, state.cost, np.flatnonzero(perfect))
        self._track_epochs(state, goal, bool(perfect[perfect_best]), perfect_best)
        self._update_hall_of_fame(state, fit)

    def _measure_top_front(self, state: State) -> dict:
        """Mean and median Q over the first front's members of top fitness
        (the authors' other two logged figures); members with the same
        wiring share one Q computation."""
        fit = self.fitness(state.performance, state.cost, state.penalty)
        top = np.flatnonzero((fit == fit.max()) & (state.rank == 0))
        if len(top) == 0:
            top = np.flatnonzero(fit == fit.max())
        values = np.array([self._q_of_wiring(state.genomes, i) for i in top])
        return {
            "q_front_mean": float(values.mean()),
            "q_front_median": float(np.median(values)),
            "front_size": int(len(top)),
        }

    def _track_epochs(self, state: State, goal: str, best_perfect: bool, best: int) -> None:
        """``best``: the best perfect network, if any (the one kept when perfect)."""
        if state.steady_at is not None:
            return

        def network():
            return self.parts.model.to_json(state.genomes, best)

        if note_epoch_end(
            state.epoch_ends,
            state.generation,
            self.parts.schedule.period,
            best_perfect,
            self.config.steady_epochs,
            lambda: {"generation": state.generation, "goal": goal, "network": network()},
        ):
            state.steady_at = state.generation
            state.steady_networks = list(state.epoch_ends)

    def _wiring_key(self, genome: Genomes, weights: bool) -> bytes:
        """The connections of a one-row ``genome`` that carry weight, which
        is all a modularity measure reads (node biases, thresholds and genes
        of unexpressed gates are not): neutral variants share one key."""
        src, dst, weight = (a[0] for a in self.parts.model.edges(genome))
        on = weight != 0
        return src[on].tobytes() + dst[on].tobytes() + (weight[on].tobytes() if weights else b"")

    def _q_of_wiring(self, genomes: Genomes, i: int) -> float:
        """Q of row ``i``, cached by its connections alone: Q is computed on
        the unweighted pruned graph, so the many neutral variants of a front
        (other biases or weight values, same connections) share one entry."""
        one = take(genomes, [i])
        key = self._wiring_key(one, weights=False)
        if key not in self._q_by_wiring:
            if len(self._q_by_wiring) > 65536:
                self._q_by_wiring.clear()
            self._q_by_wiring[key] = self._measure_genome(one)["q"]
        return self._q_by_wiring[key]

    def _measure_genome(self, genome: Genomes) -> dict:
        # Weights included: the logged n-cut is taken on the |w| graph.
        key = self._wiring_key(genome, weights=True)
        if key not in self._measured:
            if len(self._measured) > 4096:
                self._measured.clear()
            of_genome = getattr(self.measure, "of_genome", None)
            if of_genome is not None:
                self._measured[key] = of_genome(self.parts.model, genome)
            else:
                self._measured[key] = self.measure(self.parts.model.to_json(genome, 0))
        return self._measured[key]

    def _update_hall_of_fame(self, state: State, fit: np.ndarray) -> None:
        """Offer the hall the top of the population in ``ranking`` order:
        twice the hall's size, which leaves room for duplicates it rejects.
        A full hall only takes a network strictly better than its last
        member, and that bar only rises while it updates, so only networks
        above it now are offered (they are a prefix of the ranking: the bar
        compares the ranking's own keys)."""
        limit = 2 * self.config.hall_of_fame
        # The cost breaks ties only when it is selected on (see ranking()).
        ties = state.cost if "cost" in self.parts.objectives else np.zeros(len(fit))
        hall = state.hall_of_fame
        if len(hall) >= hall.maxsize > 0:
            bar_fit, bar_tie = hall[-1].fitness.wvalues
            if fit.max() < bar_fit:
                return
            above = np.flatnonzero((fit > bar_fit) | ((fit == bar_fit) & (-ties > bar_tie)))
            if len(above) == 0:
                return
            top = above[np.lexsort((above, ties[above], -fit[above]))][:limit]
        else:
            top = self.ranking(state)[:limit]
        # DEAP's HallOfFame.update over these candidates, step for step, with
        # its similarity test (equal genomes) done on bytes: a P&CC
        # population holds hundreds of clones of the hall's members, and
        # comparing each with every member array by array cost more than the
        # rest of the bookkeeping together.
        members = {_genome_key(h) for h in hall}

        def insert(i):
            network = creator.EvomodNetwork({name: arr[i].copy() for name, arr in state.genomes.items()})
            network.fitness.values = (float(fit[i]), float(ties[i]))
            hall.insert(network)
            members.add(_genome_key(network))

        for i in top:
            if len(hall) == 0 and hall.maxsize != 0:
                insert(top[0])  # as DEAP: an empty hall takes the first candidate
                continue
            wvalues = (float(fit[i]) * 1.0, float(ties[i]) * -1.0)  # DEAP's weights (1, -1)
            if len(hall) < hall.maxsize or wvalues > hall[-1].fitness.wvalues:
                if _genome_key({name: arr[i] for name, arr in state.genomes.items()}) in members:
                    continue
                if len(hall) >= hall.maxsize:
                    members.discard(_genome_key(hall[-1]))
                    hall.remove(-1)
                insert(i)

    def solved(self, state: State) -> bool:
        when = self.config.stop_when
        if when == "never" or not state.logbook:
            return False
        if when == "steady":
            return state.steady_at is not None
        last_goal = state.logbook[-1]["goal"]
        if when == "current_goal":
            return last_goal in state.first_solved and state.logbook[-1]["perfect"] > 0
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
