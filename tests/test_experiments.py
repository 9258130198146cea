"""Every shipped config runs; Kashtan & Alon runs stop when solved."""

import dataclasses
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from evomod import config as config_mod
from evomod import runs
from evomod.errors import ConfigError
from evomod.evolve import Evolution
from evomod.rundir import read_log

TOMLS = sorted((Path(__file__).resolve().parents[1] / "experiments").rglob("*.toml"))
SWEEPS = [p for p in TOMLS if "treatments" in tomllib.loads(p.read_text())]
CONFIGS = [p for p in TOMLS if p not in SWEEPS]


def shrink(config, generations=4, population=40):
    selection = dataclasses.replace(config.selection, elite=min(config.selection.elite, population // 4))
    return dataclasses.replace(
        config, generations=generations, population=population, checkpoint_every=2, selection=selection
    )


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_config_runs(tmp_path, path):
    config = shrink(config_mod.load(path))
    runs.start(config, tmp_path / "run", quiet=True)
    rows = read_log(tmp_path / "run")
    assert len(rows) == config.generations
    best = json.loads((tmp_path / "run" / "best.json").read_text())
    assert best["networks"][0]["network"]["kind"] == config.model.kind


def g1_circuit():
    """Kashtan & Alon's modular G1 solution: two 4-NAND XORs and a 2-NAND AND."""
    gates = [
        (0, 1),
        (0, 4),
        (1, 4),
        (5, 6),  # 7 = X xor Y
        (2, 3),
        (2, 8),
        (3, 8),
        (9, 10),  # 11 = Z xor W
        (7, 11),
        (12, 12),
    ]  # 13 = AND
    gates += [(0, 1)] * 4  # spare gates 14..17
    return {
        "kind": "circuit",
        "inputs": [0, 1, 2, 3],
        "gates": [{"id": 4 + i, "in": list(src)} for i, src in enumerate(gates)],
        "outputs": [13],
    }


def test_run_stops_when_every_goal_is_solved():
    config = config_mod.from_dict(
        {
            "model": {"kind": "circuit"},
            "generations": 50,
            "population": 50,
            "selection": {"elite": 10},
            "stop_when": "all_goals",
            "log_modularity_every": 0,
        }
    )
    evolution = Evolution(config)
    state = evolution.initial_state()
    solution = evolution.parts.model.from_json(g1_circuit())
    for key in state.genomes:
        state.genomes[key][7] = solution[key][0]
    evolution.run(state, config.generations)
    assert state.first_solved == {"G1": 0}
    assert state.stopped and state.generation == 1
    # A goal not yet solved keeps the run going: G2 is never presented here.
    config2 = dataclasses.replace(
        config,
        schedule=dataclasses.replace(config.schedule, kind="alternating", goals=("G1", "G2"), period=1000),
    )
    evolution = Evolution(config2)
    state = evolution.initial_state()
    for key in state.genomes:
        state.genomes[key][7] = solution[key][0]
    evolution.run(state, 5)
    assert state.first_solved == {"G1": 0} and not state.stopped and state.generation == 5


def test_modular_solution_scores_perfectly_with_ten_effective_gates():
    config = config_mod.from_dict({"model": {"kind": "circuit"}})
    model = Evolution(config).parts.model
    genome = model.from_json(g1_circuit())
    task = Evolution(config).parts.task
    assert model.performance(genome, task.inputs, task.target("G1"))[0] == 1.0
    assert model.penalty(genome)[0] == 0.0
    assert model.performance(genome, task.inputs, task.target("G2"))[0] < 1.0


@pytest.mark.parametrize(
    "raw,field",
    [
        ({"model": {"kind": "circuit", "gates": 0}}, "model.gates"),
        (
            {
                "model": {"kind": "circuit"},
                "task": {"name": "logic6"},
                "schedule": {"goals": ["G1"]},
                "extra": 1,
            },
            "extra",
        ),
        ({"model": {"kind": "circuit", "gates": 2}, "task": {"name": "logic6"}}, "model.gates"),
        ({"model": {"kind": "circuit"}, "schedule": {"goals": ["G7"]}}, "schedule.goals"),
        ({"model": {"kind": "circuit", "mutation_probability": 1.5}}, "model.mutation_probability"),
        ({"model": {"kind": "threshold", "layers": [8, 4, 2]}}, "model.layers"),
        ({"model": {"kind": "circuit"}, "selection": {"elite": 1000}}, "selection.elite"),
        (
            {"model": {"kind": "circuit"}, "selection": {"treatment": "P&CC"}, "cost": {"kind": "count"}},
            "cost.weight",
        ),
    ],
)
def test_kashtan_alon_bad_configs(raw, field):
    with pytest.raises(ConfigError) as err:
        config_mod.from_dict(raw)
    assert err.value.field == field


def test_kashtan_alon_defaults_follow_the_paper():
    circuit = config_mod.from_dict({"model": {"kind": "circuit"}})
    assert (circuit.population, circuit.selection.kind, circuit.selection.elite) == (1000, "elitist", 300)
    assert circuit.model.mutation_probability == 0.7 and circuit.model.threshold == 11
    assert circuit.model.penalty_per_gate == 0.2
    threshold = config_mod.from_dict({"model": {"kind": "threshold"}})
    assert (threshold.population, threshold.selection.elite, threshold.sample_patterns) == (600, 150, 100)
    assert threshold.model.crossover_probability == 0.5 and threshold.model.mutation_probability == 0.5
    assert threshold.model.neuron_threshold == 13 and threshold.model.penalty_per_neuron == 0.01
    # A field the config sets itself wins over the paper's default.
    assert config_mod.from_dict({"model": {"kind": "circuit"}, "population": 500}).population == 500


def test_elitist_keeps_the_elite_unchanged():
    config = config_mod.from_dict(
        {
            "model": {"kind": "circuit"},
            "population": 100,
            "selection": {"elite": 30},
            "log_modularity_every": 0,
        }
    )
    evolution = Evolution(config)
    state = evolution.initial_state()
    evolution.run(state, 3)
    before = {k: v.copy() for k, v in state.genomes.items()}
    fitness = evolution.fitness(state.performance, state.cost, state.penalty)
    evolution.run(state, 4)
    # The 30 fittest of generation 3 are the first 30 rows of generation 4, unmutated.
    elite_fitness = np.sort(fitness)[::-1][:30]
    kept = {k: v[:30] for k, v in state.genomes.items()}
    kept_fitness = evolution.fitness(evolution.evaluate(kept, "G1", None), *evolution.structure(kept))
    assert np.allclose(np.sort(kept_fitness)[::-1], elite_fitness)
    rows = {tuple(np.concatenate([before[k][i].ravel() for k in sorted(before)])) for i in range(100)}
    for i in range(30):
        assert tuple(np.concatenate([kept[k][i].ravel() for k in sorted(kept)])) in rows


def test_threshold_fitness_uses_a_fresh_sample_each_generation():
    config = config_mod.from_dict(
        {
            "model": {"kind": "threshold"},
            "population": 40,
            "selection": {"elite": 10},
            "log_modularity_every": 0,
        }
    )
    evolution = Evolution(config)
    samples = [evolution._patterns() for _ in range(3)]
    assert all(len(s) == 100 and len(np.unique(s)) == 100 for s in samples)
    assert not np.array_equal(samples[0], samples[1])


@pytest.mark.parametrize(
    "cost",
    [
        {"kind": "count"},
        {"kind": "distance_weighted", "positions": "index"},
        {"kind": "distance_weighted", "positions": "model", "power": 2.0},
    ],
)
def test_circuit_cost_as_a_second_objective(cost):
    config = config_mod.from_dict(
        {
            "model": {"kind": "circuit"},
            "population": 60,
            "generations": 5,
            "selection": {"kind": "pnsga2", "treatment": "P&CC"},
            "cost": cost,
            "log_modularity_every": 0,
        }
    )
    evolution = Evolution(config)
    state = evolution.initial_state()
    evolution.run(state, 5)
    assert evolution.parts.objectives == ("performance", "cost")
    src, dst, weight = evolution.parts.model.edges(state.genomes)
    assert np.array_equal(state.cost, evolution.parts.cost.of_edges(src, dst, weight))


def test_circuit_cost_as_a_penalty_lowers_fitness():
    config = config_mod.from_dict(
        {
            "model": {"kind": "circuit"},
            "population": 60,
            "selection": {"elite": 10, "treatment": "P&CC"},
            "cost": {"kind": "count", "weight": 0.01},
            "log_modularity_every": 0,
        }
    )
    evolution = Evolution(config)
    state = evolution.initial_state()
    evolution.run(state, 2)
    fit = evolution.fitness(state.performance, state.cost, state.penalty)
    assert np.allclose(fit, state.performance - state.penalty - 0.01 * state.cost)


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_sweep_expands_in_both_modes(tmp_path, path):
    from evomod import sweep

    full = sweep.plan_sweep(path, tmp_path)
    quick = sweep.plan_sweep(path, tmp_path, quick=True)
    assert len(quick.runs) < len(full.runs)
    assert max(r.config.generations for r in quick.runs) <= max(r.config.generations for r in full.runs)
    assert (path.parent / "README.md").exists()
