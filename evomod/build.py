"""Turn a validated Config into the parts the loop is handed.

Every source of randomness is a child of one ``SeedSequence(config.seed)``:
evolution, the RMVG goal sequence, randomised positions and stdlib ``random``
(which DEAP uses) each get their own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evomod.costs import ConnectionCost, node_positions
from evomod.errors import ConfigError
from evomod.models.base import NetworkModel
from evomod.schedules import Schedule
from evomod.tasks import Task, get_task

STREAMS = ("evolution", "schedule", "positions", "stdlib")
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
    if spec.kind == "layered":
        return _layered(spec, task)
    builder = _EXTRA_MODELS.get(spec.kind)
    if builder is None:
        raise ConfigError("model.kind", f"unknown model {spec.kind!r}", ["layered", *_EXTRA_MODELS])
    return builder(spec, task)


def _circuit(spec, task):
    from evomod.models.circuit import MAX_INPUTS, CircuitModel
    if task.n_inputs > MAX_INPUTS:
        from evomod.tasks import task_names
        fitting = [name for name in task_names() if get_task(name).n_inputs <= MAX_INPUTS]
        raise ConfigError("task.name", f"task {task.name!r} has {task.n_inputs} inputs, but model.kind = "
                          f"'circuit' evaluates at most {MAX_INPUTS} (set task.name or model.kind)",
                          fitting)
    return CircuitModel(task.n_inputs, task.n_outputs, gates=spec.gates, feedback=spec.feedback,
                        settle_steps=spec.settle_steps, threshold=spec.threshold,
                        penalty_per_gate=spec.penalty_per_gate,
                        mutation_probability=spec.mutation_probability, genome=spec.genome)


def _threshold(spec, task):
    from evomod.models.threshold import ThresholdModel
    layers = _fitting_layers(spec, task)
    if spec.threshold_min > spec.threshold_max:
        raise ConfigError("model.threshold_min", f"range {spec.threshold_min}..{spec.threshold_max} is empty",
                          "threshold_min <= threshold_max")
    return ThresholdModel(layers=layers, fan_in=spec.fan_in, output_fan_in=spec.output_fan_in,
                          threshold_min=spec.threshold_min, threshold_max=spec.threshold_max,
                          neuron_threshold=spec.neuron_threshold,
                          penalty_per_neuron=spec.penalty_per_neuron,
                          mutation_probability=spec.mutation_probability,
                          crossover_probability=spec.crossover_probability)


_EXTRA_MODELS: dict = {"circuit": _circuit, "threshold": _threshold}


def _fitting_layers(spec, task) -> tuple[int, ...]:
    """The model's layer widths, checked against the task's inputs and outputs."""
    layers = tuple(spec.layers)
    if len(layers) < 2 or any(w < 1 for w in layers):
        raise ConfigError("model.layers", f"{list(layers)} needs at least two layers of positive width")
    if layers[0] != task.n_inputs or layers[-1] != task.n_outputs:
        raise ConfigError("model.layers",
                          f"{list(layers)} does not fit task {task.name!r}: it has "
                          f"{task.n_inputs} inputs and {task.n_outputs} output(s)",
                          f"[{task.n_inputs}, ..., {task.n_outputs}]")
    return layers


def _layered(spec, task):
    from evomod.config import MAX_SLOTS
    from evomod.models.layered import LayeredModel
    layers = _fitting_layers(spec, task)
    slots = sum(a * b for a, b in zip(layers, layers[1:]))
    if slots > MAX_SLOTS:
        raise ConfigError("model.layers", f"{list(layers)} has {slots} connection slots (the sum of the "
                          "products of consecutive widths)", f"at most {MAX_SLOTS} slots")
    if 0 in spec.weights:
        raise ConfigError("model.weights", "0 is not allowed (a zero weight marks an absent connection)",
                          "non-zero integers in -127..127")
    # A repeated value is allowed: the authors' own list is {2, -1, 1, 2}.
    if not spec.weights or any(abs(w) > 127 for w in spec.weights):
        raise ConfigError("model.weights", f"{list(spec.weights)} must be non-zero integers",
                          "non-zero integers in -127..127")
    if spec.bias_min > spec.bias_max or abs(spec.bias_min) > 127 or abs(spec.bias_max) > 127:
        raise ConfigError("model.bias_min", f"bias range {spec.bias_min}..{spec.bias_max} is empty or too wide",
                          "bias_min <= bias_max, both in -127..127")
    return LayeredModel(layers=layers, weights=spec.weights, bias_min=spec.bias_min,
                        bias_max=spec.bias_max, lam=spec.lam,
                        add_connection_rate=spec.add_connection_rate,
                        remove_connection_rate=spec.remove_connection_rate,
                        bias_rate=spec.bias_rate, weight_rate_scale=spec.weight_rate_scale,
                        init_connections_max=spec.init_connections_max,
                        operators=spec.operators)


def build_schedule(config, task: Task) -> Schedule:
    spec = config.schedule
    goals = tuple(spec.goals)
    if spec.family is not None:
        if spec.kind != "rmvg":
            raise ConfigError("schedule.family", "only an rmvg schedule draws from a family", ["rmvg"])
        goals = task.family(spec.family)
    for goal in goals:
        task.target(goal)
    if spec.kind == "alternating" and len(goals) == 2 and goals[0] == goals[1]:
        raise ConfigError("schedule.goals", f"alternating between {goals[0]!r} and {goals[1]!r} never "
                          "changes the goal", "two different goals (one goal: kind = 'fixed')")
    if spec.kind == "serial" and len(set(goals)) < 2:
        raise ConfigError("schedule.goals", f"a serial schedule of {list(goals)} never changes the goal",
                          "at least two different goals (one goal: kind = 'fixed')")
    seed = seed_streams(config.seed)["schedule"]
    return Schedule(spec.kind, goals, spec.period, seed=seed)


def objectives_of(config) -> tuple[str, ...]:
    treatment = config.selection.treatment
    if treatment == "PA":
        return ("performance",)
    if treatment == "P&CC":
        if config.cost.kind == "none":
            raise ConfigError("cost.kind", "treatment P&CC needs a connection cost",
                              ["count", "squared_length", "distance_weighted"])
        if config.selection.kind == "elitist" and config.cost.weight == 0.0:
            raise ConfigError("cost.weight", "the elitist GA applies the cost as a penalty; "
                              "P&CC needs a positive weight", "> 0")
        return ("performance", "cost")
    return ("performance", "random")


def _check_population_memory(config, model) -> None:
    genome = model.random(1, np.random.default_rng(0))
    per_network = sum(np.asarray(a).nbytes for a in genome.values())
    # src, dst (int64) and weight (float64) per edge slot, as the cost kernels take them.
    per_network += 24 * int(np.shape(model.edges(genome)[2])[1])
    most = max(2, POPULATION_BYTES // per_network)
    if config.population > most:
        raise ConfigError("population", f"{config.population} networks of {per_network} bytes each "
                          f"would need {config.population * per_network / 2**30:.1f} GiB "
                          f"(the limit is {POPULATION_BYTES // 2**30} GiB)",
                          f"an integer >= 2 and <= {most} for this model")


def build_parts(config) -> Parts:
    task = get_task(config.task.name)
    model = build_model(config.model, task)
    _check_population_memory(config, model)
    schedule = build_schedule(config, task)
    rng = np.random.default_rng(seed_streams(config.seed)["positions"])
    positions = node_positions(model, config.cost.positions, config.cost.custom_positions, rng)
    cost = ConnectionCost(config.cost.kind, positions, model.fixed_nodes(), config.cost.power,
                          scope=config.cost.scope, outputs=model.output_nodes())
    objectives = objectives_of(config)
    if config.selection.kind == "elitist":
        if config.selection.elite >= config.population:
            raise ConfigError("selection.elite", f"{config.selection.elite} must be below the population "
                              f"({config.population})", f"1..{config.population - 1}")
        if config.selection.treatment == "P&RO":
            raise ConfigError("selection.treatment", "the elitist GA has one fitness; P&RO needs pnsga2",
                              ["PA", "P&CC"])
    if config.selection.kind == "pnsga2" and config.selection.operators == "authors":
        if config.population % 2:
            raise ConfigError("population", f"{config.population} is odd: the authors' tournaments pair "
                              "every individual twice", "an even number")
        if config.selection.sort == "counting" and len(objectives) > 2:
            raise ConfigError("selection.sort", "the counting sort handles two objectives at most",
                              ["peeling"])
    if config.sample_patterns > task.n_patterns:
        raise ConfigError("sample_patterns", f"{config.sample_patterns} exceeds the task's "
                          f"{task.n_patterns} patterns", f"0 (all) .. {task.n_patterns}")
    return Parts(task, model, schedule, cost, objectives)
