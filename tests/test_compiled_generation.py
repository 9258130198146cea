"""The compiled elitist generations of circuits and of threshold networks
against the plain one.

``CircuitModel.elitist_generation`` and ``ThresholdModel.elitist_generation``
run a whole generation of Kashtan & Alon's GA in one numba call (elite
order, copies, crossover for threshold networks, mutation, evaluation of the
changed children only, penalty). The plain path (``selection.Elitist`` with
``crossover``, ``mutate``, ``performance`` and ``penalty`` on every child)
is their oracle: the same seed must give the same run, row for row and bit
for bit, with the features that change the kernel's work switched on one at
a time.
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


# The threshold-network runs: Kashtan & Alon's retina networks, smaller.
THRESHOLD = {
    "seed": 3,
    "generations": 300,
    "population": 120,
    "stop_when": "never",
    "model": {"kind": "threshold"},
    "task": {"name": "retina"},
    "schedule": {"kind": "fixed", "goals": ["and"]},
    "selection": {"elite": 30},
    "sample_patterns": 100,
}


def compared_config(small_config, base=CIRCUIT, **overrides):
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
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

        def counted(*args, **kwargs):
            calls.append(kwargs.get("score_children", True))
            return compiled(*args, **kwargs)

        evolution.parts.model.elitist_generation = counted
    state = evolution.run(evolution.initial_state(), config.generations)
    deferred = calls.count(False)
    return evolution, state, (len(calls), deferred)


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


THRESHOLD_CASES = {
    "sampled patterns": {},
    "all patterns, MVG": {
        "sample_patterns": 0,
        "schedule": {"kind": "alternating", "goals": ["and", "or"], "period": 20},
    },
    "MVG": {"schedule": {"kind": "alternating", "goals": ["and", "or"], "period": 20}},
    "no crossover": {"model": {"crossover_probability": 0.0}},
    "always crossing": {"model": {"crossover_probability": 1.0, "mutation_probability": 0.2}},
    "tight penalty": {"model": {"neuron_threshold": 6, "penalty_per_neuron": 0.05}},
    "wide fan-in, three outputs": {
        "task": {"name": "logic6"},
        "schedule": {"kind": "fixed", "goals": ["G1"]},
        "sample_patterns": 40,
        "model": {
            "layers": [6, 6, 4, 3],
            "fan_in": 5,
            "output_fan_in": 3,
            "threshold_min": -5,
            "threshold_max": 5,
        },
    },
}
ALL_CASES = {("circuit", name): (CIRCUIT, case) for name, case in CASES.items()} | {
    ("threshold", name): (THRESHOLD, case) for name, case in THRESHOLD_CASES.items()
}


@pytest.mark.parametrize("kind, case", sorted(ALL_CASES), ids=[f"{k}: {c}" for k, c in sorted(ALL_CASES)])
def test_compiled_generation_is_the_plain_generation(kind, case, small_config):
    base, overrides = ALL_CASES[(kind, case)]
    config = compared_config(small_config, base, **overrides)
    _, fused, (calls, deferred) = run(config, fused=True)
    plain_evolution, plain, _ = run(config, fused=False)
    assert calls == config.generations
    # With sampled patterns the children are scored only when a state is
    # kept (here: the end of the run), as the next generation rescores all.
    assert deferred == (calls if 0 < config.sample_patterns < plain_evolution.parts.task.n_patterns else 0)
    assert fused.unscored_on is None and not np.isnan(fused.performance).any()
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
    assert len({row["perfect"] for row in rows} | {row["best"] for row in rows}) > 2
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
    binary = Evolution(compared_config(small_config, model={"genome": "binary"}))
    assert not binary.parts.model.fused_elitist
    for base in (CIRCUIT, THRESHOLD):
        costed = compared_config(
            small_config, base, cost={"kind": "count", "weight": 0.001}, selection={"treatment": "P&CC"}
        )
        evolution = Evolution(costed)
        evolution.parts.model.elitist_generation = None  # would raise if the loop used it
        evolution.run(evolution.initial_state(), 5)
