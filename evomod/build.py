"""Turn a validated Config into the parts the loop is handed.

Every source of randomness is a child of one ``SeedSequence(config.seed)``:
evolution, the RMVG goal sequence and randomised positions each get their
own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evomod.costs import ConnectionCost, node_positions
from evomod.errors import ConfigError
from evomod.models.base import NetworkModel
from evomod.registry import COSTS, SCHEDULES, SELECTIONS
from evomod.schedules import Schedule
from evomod.tasks import Task, get_task

# Child i of the seed is stream i; the order is fixed for good (a fourth
# child once seeded stdlib ``random``, which nothing drew from).
STREAMS = ("evolution", "schedule", "positions")
# What the population's arrays may take: genomes plus the edge arrays the
# cost is computed on, per network, times the population.
POPULATION_BYTES = 2**30


def seed_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    return dict(zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS))))


@dataclass
class Parts:
    task: Task
    model: NetworkModel
    schedule: Schedule
    cost: ConnectionCost
    objectives: tuple[str, ...]


def build_model(spec, task: Task) -> NetworkModel:
    """The network model of a [model] table: its registered spec builds it."""
    return spec.build(task)


def build_schedule(config, task: Task) -> Schedule:
    spec = config.schedule
    goals = tuple(spec.goals)
    if spec.family is not None:
        drawing = SCHEDULES.select(lambda kind: kind.draws_from_family)
        if spec.kind not in drawing:
            raise ConfigError(
                "schedule.family", f"only {' or '.join(drawing)} schedules draw from a family", drawing
            )
        goals = task.family(spec.family)
    for goal in goals:
        task.target(goal)
    seed = seed_streams(config.seed)["schedule"]
    return Schedule(spec.kind, goals, spec.period, seed=seed)


def objectives_of(config) -> tuple[str, ...]:
    treatment = config.selection.treatment
    if treatment == "PA":
        return ("performance",)
    if treatment == "P&CC":
        if COSTS.get(config.cost.kind).charges_nothing:
            raise ConfigError(
                "cost.kind",
                "treatment P&CC needs a connection cost",
                COSTS.select(lambda cost: not cost.charges_nothing),
            )
        if SELECTIONS.get(config.selection.kind).cost_as_penalty and config.cost.weight == 0.0:
            raise ConfigError(
                "cost.weight",
                "the elitist GA applies the cost as a penalty; P&CC needs a positive weight",
                "> 0",
            )
        return ("performance", "cost")
    return ("performance", "random")


def _check_population_memory(config, model) -> None:
    genome = model.random(1, np.random.default_rng(0))
    per_network = sum(np.asarray(a).nbytes for a in genome.values())
    # src, dst (int64) and weight (float64) per edge slot, as the cost kernels take them.
    per_network += 24 * int(np.shape(model.edges(genome)[2])[1])
    most = max(2, POPULATION_BYTES // per_network)
    if config.population > most:
        raise ConfigError(
            "population",
            f"{config.population} networks of {per_network} bytes each "
            f"would need {config.population * per_network / 2**30:.1f} GiB "
            f"(the limit is {POPULATION_BYTES // 2**30} GiB)",
            f"an integer >= 2 and <= {most} for this model",
        )


def build_parts(config) -> Parts:
    task = get_task(config.task.name)
    model = build_model(config.model, task)
    _check_population_memory(config, model)
    schedule = build_schedule(config, task)
    rng = np.random.default_rng(seed_streams(config.seed)["positions"])
    positions = node_positions(model, config.cost.positions, config.cost.custom_positions, rng)
    cost = ConnectionCost(
        config.cost.kind,
        positions,
        model.fixed_nodes(),
        config.cost.power,
        scope=config.cost.scope,
        outputs=model.output_nodes(),
    )
    objectives = objectives_of(config)
    SELECTIONS.get(config.selection.kind).check(config, objectives)
    if config.sample_patterns > task.n_patterns:
        raise ConfigError(
            "sample_patterns",
            f"{config.sample_patterns} exceeds the task's {task.n_patterns} patterns",
            f"0 (all) .. {task.n_patterns}",
        )
    return Parts(task, model, schedule, cost, objectives)
