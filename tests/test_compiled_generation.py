"""The compiled elitist generation of circuits against the plain one.

``CircuitModel.elitist_generation`` runs a whole generation of Kashtan &
Alon's GA in one numba call (elite order, copies, mutation, evaluation of the
mutated children only, penalty). The plain path (``selection.Elitist`` with
``mutate``, ``performance`` and ``penalty`` on every child) is its oracle:
the same seed must give the same run, row for row and bit for bit, with the
features that change the kernel's work switched on one at a time.
"""

from __future__ import annotations

import numpy as np
import pytest

from evomod.evolve import Evolution

# The circuit runs compared: small_config (tests/conftest.py) with these.
CIRCUIT = {
    "seed": 5,
    "generations": 400,
    "population": 200,
    "stop_when": "never",
    "model": {"kind": "circuit"},
    "task": {"name": "logic4"},
    "schedule": {"kind": "alternating", "goals": ["G1", "G2"], "period": 20},
    "selection": {"elite": 60},
}


def circuit_config(small_config, **overrides):
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in CIRCUIT.items()}
    for key, value in overrides.items():
        if isinstance(value, dict):
            merged.setdefault(key, {}).update(value)
        else:
            merged[key] = value
    return small_config(**merged)


def run(config, fused: bool):
    evolution = Evolution(config)
    assert evolution.parts.model.fused_elitist, "the setting should have the compiled path"
    evolution.parts.model.fused_elitist = fused
    calls = []
    if fused:
        compiled = evolution.parts.model.elitist_generation

        def counted(*args):
            calls.append(1)
            return compiled(*args)

        evolution.parts.model.elitist_generation = counted
    state = evolution.run(evolution.initial_state(), config.generations)
    return evolution, state, len(calls)


CASES = {
    "MVG G1/G2": {},
    "fixed G1": {"schedule": {"kind": "fixed", "goals": ["G1"]}},
    "feedback": {"model": {"feedback": True, "gates": 10, "threshold": 8}},
    "sampled patterns": {"sample_patterns": 9},
    "6 inputs": {
        "task": {"name": "logic6"},
        "schedule": {"kind": "fixed", "goals": ["G1"]},
        "model": {"gates": 20},
    },
    "tight penalty": {"model": {"threshold": 6, "penalty_per_gate": 0.05, "mutation_probability": 0.3}},
    "RMVG": {"schedule": {"kind": "rmvg", "family": "modular", "period": 20}},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_generation_is_the_plain_generation(case, small_config):
    config = circuit_config(small_config, **CASES[case])
    _, fused, calls = run(config, fused=True)
    plain_evolution, plain, _ = run(config, fused=False)
    assert calls == config.generations
    assert len(fused.logbook) == len(plain.logbook) == config.generations
    for a, b in zip(fused.logbook, plain.logbook):
        assert {k: v for k, v in a.items() if k != "elapsed"} == {
            k: v for k, v in b.items() if k != "elapsed"
        }
    for name in plain.genomes:
        assert np.array_equal(fused.genomes[name], plain.genomes[name])
    for name in ("performance", "penalty", "cost"):
        assert np.array_equal(getattr(fused, name), getattr(plain, name))
    assert [h.fitness.values for h in fused.hall_of_fame] == [h.fitness.values for h in plain.hall_of_fame]
    assert fused.rng_state == plain.rng_state
    # The runs moved: scores spread, and the penalty bit somewhere.
    rows = plain.logbook
    assert len({row["best"] for row in rows}) > 1 and len({row["median"] for row in rows}) > 3
    if case == "tight penalty":
        assert plain.penalty.max() > 0
    # The plain scores are the model's own on the final population.
    goal = plain_evolution.parts.schedule.goal(plain.generation - 1)
    if config.sample_patterns == 0:
        model = plain_evolution.parts.model
        task = plain_evolution.parts.task
        assert np.array_equal(
            fused.performance, model.performance(fused.genomes, task.inputs, task.target(goal))
        )
        assert np.array_equal(fused.penalty, model.penalty(fused.genomes))


def test_compiled_generation_only_where_it_applies(small_config):
    binary = Evolution(circuit_config(small_config, model={"genome": "binary"}))
    assert not binary.parts.model.fused_elitist
    costed = circuit_config(
        small_config, cost={"kind": "count", "weight": 0.001}, selection={"treatment": "P&CC"}
    )
    evolution = Evolution(costed)
    evolution.parts.model.elitist_generation = None  # would raise if the loop used it
    evolution.run(evolution.initial_state(), 5)
