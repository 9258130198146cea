"""Selection: which individuals survive and which breed.

- ``pnsga2``: NSGA-II with stochastic Pareto dominance (Clune et al. 2013),
  in two families of operators:
  - ``"authors"``: as the authors' sferes2 code runs it. Fronts are peeled
    one at a time with fresh coins on every comparison of every round;
    survivors are whole fronts while they fit, then the overflowing front's
    least crowded; parents come from binary tournaments over two random
    permutations (each individual fights twice), decided by a fresh
    stochastic comparison, then crowding, then a coin.
  - ``"literal"``: evomod's first reading of the paper: one pass with one
    coin per pair, tournaments by rank and crowding.
- ``elitist``: Kashtan & Alon's elitist GA (keep the best L, refill with
  mutated, optionally recombined, copies of them).
"""

from __future__ import annotations

import numpy as np

from evomod.errors import ConfigError
from evomod.kernels import nsga
from evomod.models.base import concat, take
from evomod.registry import SELECTIONS


def authors_survivors(
    objectives: np.ndarray, pressure: np.ndarray, n: int, rng, sort: str = "counting", with_rank: bool = False
):
    """The ``n`` survivors of the authors' environmental selection.

    ``pressure[m]`` is the probability that objective ``m`` enters a
    comparison. ``sort = "peeling"`` runs the authors' quadratic peeling,
    ``"counting"`` draws the same distribution of fronts from counts
    (``evomod.kernels.nsga.counting_ranks``; two objectives at most, the
    first always counted). Returns ``(survivors, crowding)``, the survivors'
    indices in increasing order and their crowding distances within their
    fronts of the pooled population (what the next tournaments compare),
    and with ``with_rank`` their fronts as well.
    """
    f = np.ascontiguousarray(objectives, dtype=np.float64)
    pressure = np.ascontiguousarray(pressure, dtype=np.float64)
    if sort == "peeling":
        rank = nsga.peeling_ranks(f, pressure, rng, n)
    else:
        rank = nsga.counting_ranks(f, pressure, rng, n)
    crowd = nsga.crowding_by_front(f, rank, rng.permutation(len(f)))
    # Unranked rows were never needed: they go last.
    survivors = nsga.survivors_by_front(rank, crowd, rng.permutation(len(f)), n)
    if with_rank:
        return survivors, crowd[survivors], rank[survivors]
    return survivors, crowd[survivors]


def authors_parents(objectives: np.ndarray, crowding: np.ndarray, pressure: np.ndarray, rng) -> np.ndarray:
    """One parent per individual from the authors' tournaments (an even
    population: every individual fights exactly twice)."""
    n = len(crowding)
    first = rng.permutation(n)
    second = rng.permutation(n)
    return nsga.tournament_winners(
        np.ascontiguousarray(objectives, dtype=np.float64),
        np.ascontiguousarray(crowding, dtype=np.float64),
        np.ascontiguousarray(pressure, dtype=np.float64),
        first,
        second,
        rng,
    )


def nsga2_survivors(objectives: np.ndarray, stochastic: np.ndarray, p: float, n: int, rng):
    """Indices of the ``n`` survivors of NSGA-II environmental selection.

    Returns ``(survivors, rank, crowding)``; rank and crowding are for the
    survivors, in the order of ``survivors``.
    """
    f = np.ascontiguousarray(objectives, dtype=np.float64)
    rank = nsga.nondominated_ranks(f, np.ascontiguousarray(stochastic, dtype=np.bool_), float(p), rng)
    crowd = nsga.crowding_distance(f, rank)
    # Whole fronts first; the front that overflows keeps its least crowded.
    # Full ties are broken at random: breaking them by position would always
    # prefer parents to equally good offspring and stop neutral drift dead.
    tiebreak = rng.permutation(len(rank))
    order = np.lexsort((tiebreak, -crowd, rank))
    survivors = np.sort(order[:n])
    return survivors, rank[survivors], crowd[survivors]


def crowded_tournament(rank: np.ndarray, crowding: np.ndarray, n: int, rng) -> np.ndarray:
    """``n`` binary tournaments by NSGA-II's crowded comparison (lower rank,
    then larger crowding distance; a full tie goes to the first drawn)."""
    pairs = rng.integers(0, len(rank), size=(n, 2))
    a, b = pairs[:, 0], pairs[:, 1]
    b_wins = (rank[b] < rank[a]) | ((rank[b] == rank[a]) & (crowding[b] > crowding[a]))
    return np.where(b_wins, b, a)


def elite_order(fitness: np.ndarray, rng) -> np.ndarray:
    """Indices by decreasing fitness, ties broken at random (from ``rng``)."""
    shuffled = rng.permutation(len(fitness))
    return shuffled[np.argsort(-fitness[shuffled], kind="stable")]


# -- strategies: one generation of breeding each, behind one interface ----------------


class Selection:
    """One selection scheme. ``start`` runs once on the scored initial
    population; ``breed`` replaces ``state``'s population and scores with the
    next generation's. Both draw only from ``evolution.rng``.

    A scheme is registered with ``@SELECTIONS.register(kind)``;
    ``create(config, parts)`` makes it for a run (after ``check``, which
    refuses settings it cannot run as one-line ConfigErrors).
    """

    heritable_random_objective = False
    # Whether survivors carry Pareto fronts (``state.rank``); the authors'
    # front figures are only defined where they do.
    has_fronts = False
    # Whether the cost enters fitness as a penalty (``cost.weight``) rather
    # than as an objective of its own.
    cost_as_penalty = False
    # [selection] fields that only this scheme reads: set under another
    # scheme they are refused (evomod.config.refuse_unused).
    own_fields: frozenset = frozenset()

    @classmethod
    def check(cls, config, objectives) -> None:
        """Refuse a config this scheme cannot run."""

    @classmethod
    def create(cls, config, parts) -> Selection:
        return cls(config, parts)

    def start(self, evolution, state) -> None:
        pass

    def breed(self, evolution, state, goal, patterns) -> None:
        raise NotImplementedError


@SELECTIONS.register("pnsga2")
class PNSGA2(Selection):
    """NSGA-II with stochastic Pareto dominance (Clune et al. 2013)."""

    has_fronts = True
    own_fields = frozenset({"cost_probability"})

    def __init__(self, config, parts):
        self.config = config
        self.objective_names = parts.objectives

    @classmethod
    def create(cls, config, parts) -> Selection:
        # selection.operators picks the family (see the module docstring).
        family = AuthorsPNSGA if config.selection.operators == "authors" else LiteralPNSGA
        return family(config, parts)

    @classmethod
    def check(cls, config, objectives) -> None:
        if config.selection.operators != "authors":
            return
        if config.population % 2:
            raise ConfigError(
                "population",
                f"{config.population} is odd: the authors' tournaments pair every individual twice",
                "an even number",
            )
        if config.selection.sort == "counting" and len(objectives) > 2:
            raise ConfigError(
                "selection.sort", "the counting sort handles two objectives at most", ["peeling"]
            )

    def objectives(self, evolution, genomes, perf, cost, penalty, rng) -> np.ndarray:
        fit = evolution.fitness(perf, cost, penalty)
        columns = []
        for name in self.objective_names:
            if name == "performance":
                columns.append(fit)
            elif name == "cost":
                columns.append(-cost)
            elif self.heritable_random_objective:
                columns.append(genomes["random_objective"])
            else:
                columns.append(rng.random(len(fit)))
        return np.column_stack(columns)

    def _offspring(self, evolution, state, chosen, goal, patterns):
        """Mutated copies of ``chosen`` with their scores."""
        rng = evolution.rng
        model = evolution.parts.model
        parents = take(state.genomes, chosen)
        children = model.mutate(parents, rng)
        if self.heritable_random_objective:
            # The authors' P&RO: inherited, plus a Gaussian step at each mutation.
            children["random_objective"] = parents["random_objective"] + rng.normal(0.0, 0.1, len(chosen))
        perf = evolution.evaluate(children, goal, patterns)
        cost, penalty = evolution.offspring_structure(children, parents, state.cost[chosen])
        return children, perf, cost, penalty


class AuthorsPNSGA(PNSGA2):
    """NSGA-II with stochastic dominance as the authors' sferes2 code runs it
    (PA: performance alone; P&CC: cost counted with ``cost_probability``;
    P&RO: a heritable random objective, always counted)."""

    def __init__(self, config, parts):
        super().__init__(config, parts)
        self.heritable_random_objective = "random" in parts.objectives
        self.pressure = np.array(
            [config.selection.cost_probability if name == "cost" else 1.0 for name in parts.objectives]
        )
        self.sort = config.selection.sort

    def start(self, evolution, state) -> None:
        f = self.objectives(
            evolution, state.genomes, state.performance, state.cost, state.penalty, evolution.rng
        )
        # The authors rank and crowd the initial population once, keeping all of it.
        _, state.crowding, state.rank = authors_survivors(
            f, self.pressure, len(f), evolution.rng, self.sort, with_rank=True
        )
        state.objectives = f

    def breed(self, evolution, state, goal, patterns) -> None:
        rng = evolution.rng
        n = self.config.population
        # sferes2 stores each individual's objectives when it is selected and
        # its tournaments read them, so right after a goal switch parents
        # are compared under the old goal while the merged pool is sorted
        # under the new one.
        f = state.objectives
        if f is None:  # a checkpoint from before objectives were kept
            f = self.objectives(evolution, state.genomes, state.performance, state.cost, state.penalty, rng)
        chosen = authors_parents(f, state.crowding, self.pressure, rng)
        children, perf, cost, penalty = self._offspring(evolution, state, chosen, goal, patterns)
        pool = concat(state.genomes, children)
        perf = np.concatenate([state.performance, perf])
        cost = np.concatenate([state.cost, cost])
        penalty = np.concatenate([state.penalty, penalty])
        f = self.objectives(evolution, pool, perf, cost, penalty, rng)
        keep, state.crowding, state.rank = authors_survivors(
            f, self.pressure, n, rng, self.sort, with_rank=True
        )
        state.objectives = f[keep]
        state.genomes = take(pool, keep)
        state.performance, state.cost, state.penalty = perf[keep], cost[keep], penalty[keep]


class LiteralPNSGA(PNSGA2):
    """evomod's first reading of the paper: one coin per pair in one pass,
    crowded tournaments by rank, the random objective redrawn each time and
    counted with ``cost_probability`` like the cost."""

    def __init__(self, config, parts):
        super().__init__(config, parts)
        self.stochastic = np.array([name != "performance" for name in parts.objectives])

    def _survivors(self, f, n, rng):
        return nsga2_survivors(f, self.stochastic, self.config.selection.cost_probability, n, rng)

    def start(self, evolution, state) -> None:
        f = self.objectives(
            evolution, state.genomes, state.performance, state.cost, state.penalty, evolution.rng
        )
        _, state.rank, state.crowding = self._survivors(f, len(f), evolution.rng)

    def breed(self, evolution, state, goal, patterns) -> None:
        rng = evolution.rng
        n = self.config.population
        chosen = crowded_tournament(state.rank, state.crowding, n, rng)
        children, perf, cost, penalty = self._offspring(evolution, state, chosen, goal, patterns)
        pool = concat(state.genomes, children)
        perf = np.concatenate([state.performance, perf])
        cost = np.concatenate([state.cost, cost])
        penalty = np.concatenate([state.penalty, penalty])
        keep, state.rank, state.crowding = self._survivors(
            self.objectives(evolution, pool, perf, cost, penalty, rng), n, rng
        )
        state.genomes = take(pool, keep)
        state.performance, state.cost, state.penalty = perf[keep], cost[keep], penalty[keep]


@SELECTIONS.register("elitist")
class Elitist(Selection):
    """Kashtan & Alon's GA: the best ``elite`` pass unchanged, the rest are
    mutated (optionally recombined) copies of elite members drawn uniformly."""

    cost_as_penalty = True
    own_fields = frozenset({"elite"})

    def __init__(self, config, parts):
        self.config = config

    @classmethod
    def check(cls, config, objectives) -> None:
        if config.selection.elite >= config.population:
            raise ConfigError(
                "selection.elite",
                f"{config.selection.elite} must be below the population ({config.population})",
                f"1..{config.population - 1}",
            )
        if config.selection.treatment == "P&RO":
            raise ConfigError(
                "selection.treatment", "the elitist GA has one fitness; P&RO needs pnsga2", ["PA", "P&CC"]
            )

    def breed(self, evolution, state, goal, patterns) -> None:
        rng = evolution.rng
        cfg = self.config
        model = evolution.parts.model
        fitness = evolution.fitness(state.performance, state.cost, state.penalty)
        n_elite = cfg.selection.elite
        n_children = cfg.population - n_elite
        rate = getattr(model, "crossover_probability", 0.0)
        if model.fused_elitist and evolution.parts.cost.charges_nothing and evolution.scores_performance:
            # The generation below, compiled (with the model's own crossover):
            # the same draws and the same scores.
            defer = evolution.rescores_every_generation
            state.genomes, state.performance, state.penalty, elite = model.elitist_generation(
                state.genomes, state.performance, state.penalty, fitness, n_elite, rng,
                *evolution.goal_data(goal, patterns), score_children=not defer,
            )  # fmt: skip
            state.cost = np.concatenate([state.cost[elite], np.zeros(n_children)])
            if defer:
                evolution.defer_scores(state, goal, patterns)
            return
        elite = elite_order(fitness, rng)[:n_elite]
        picked = elite[rng.integers(0, len(elite), n_children)]
        parents = take(state.genomes, picked)
        if rate > 0.0:
            mates = take(state.genomes, elite[rng.integers(0, len(elite), n_children)])
            crossed = model.crossover(parents, mates, rng)
            mix = rng.random(n_children) < rate
            parents = {
                k: np.where(mix.reshape((-1,) + (1,) * (v.ndim - 1)), crossed[k], v)
                for k, v in parents.items()
            }
        children = model.mutate(parents, rng)
        state.genomes = concat(take(state.genomes, elite), children)
        child_cost, child_penalty = evolution.structure(children)
        state.performance = np.concatenate(
            [state.performance[elite], evolution.evaluate(children, goal, patterns)]
        )
        state.cost = np.concatenate([state.cost[elite], child_cost])
        state.penalty = np.concatenate([state.penalty[elite], child_penalty])


def make_selection(config, parts) -> Selection:
    return SELECTIONS.get(config.selection.kind).create(config, parts)
