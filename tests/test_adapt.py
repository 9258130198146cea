import csv
import json
import math

import circuit_reference as ref
import numpy as np
import pytest

from evomod import adapt, cli
from evomod import config as config_mod
from evomod.errors import ConfigError, FileError
from evomod.evolve import Evolution
from evomod.rundir import write_json

G1_PAIRS = [(0, 1), (0, 4), (1, 4), (5, 6), (2, 3), (2, 8), (3, 8), (9, 10), (7, 11), (12, 12)]


def circuit(pairs, output=13):
    return {
        "kind": "circuit",
        "inputs": [0, 1, 2, 3],
        "gates": [{"id": 4 + i, "in": list(p)} for i, p in enumerate(pairs)],
        "outputs": [output],
    }


# Kashtan & Alon's G1 = (X xor Y) and (Z xor W) from two 4-NAND XORs and an
# AND, with four spare gates.
G1 = circuit(G1_PAIRS + [(0, 1)] * 4)
# The same, its spare gates already wired as NOT, NOT, NAND of the XORs: an
# OR module one output mutation away, so G2 is reached in a few generations.
G1_WITH_OR = circuit(G1_PAIRS + [(7, 7), (11, 11), (14, 15), (0, 1)])
# Output on a spare gate: not perfect on G1.
BROKEN = circuit(G1_PAIRS + [(0, 1)] * 4, output=14)


def g1(p):
    return ref.xor_goal("G1", p)


def g2(p):
    return ref.xor_goal("G2", p)


def test_hand_built_circuits_do_what_they_say():
    # Checked by the independent simulator, so the tests below start from
    # known facts rather than from evomod's own evaluation.
    assert ref.performance(G1, g1) == 1.0 and ref.performance(G1, g2) < 1.0
    assert ref.performance(G1_WITH_OR, g1) == 1.0 and ref.performance(G1_WITH_OR, g2) < 1.0
    assert ref.performance(dict(G1_WITH_OR, outputs=[16]), g2) == 1.0  # one output mutation away
    assert ref.performance(BROKEN, g1) < 1.0
    assert ref.effective_gates(G1) == 10 and ref.effective_gates(G1_WITH_OR) == 10


def first_perfect_generation(raw, network, goal, cap):
    """Step the adaptation's own evolution and find, by the independent
    simulator, the first generation holding a circuit perfect on ``goal``
    (performance 1 and at most 11 effective gates: no penalty)."""
    evolution = Evolution(config_mod.from_dict(raw))
    model = evolution.parts.model
    clones = {k: v.repeat(evolution.config.population, axis=0) for k, v in model.from_json(network).items()}
    state = evolution.initial_state(clones)
    for generation in range(1, cap + 1):
        evolution.step(state)
        for i in range(evolution.config.population):
            net = model.to_json(state.genomes, i)
            if ref.performance(net, goal) == 1.0 and ref.effective_gates(net) <= 11:
                return generation
    return None


def make_run(directory, network, goal="G1", seed=4, **overrides):
    raw = {"model": {"kind": "circuit"}, "seed": seed, **overrides}
    directory.mkdir(parents=True)
    write_json(directory / "config.json", config_mod.from_dict(raw).to_dict())
    write_json(
        directory / "best.json",
        {
            "generation": 100,
            "goal": goal,
            "first_solved": {goal: 50},
            "networks": [{"fitness": 1.0, "performance": 1.0, "cost": 0.0, "network": network}],
        },
    )
    return directory


def as_saved(data):
    # summary_exact (with inf) is returned for callers; JSON has no inf.
    return {k: v for k, v in data.items() if k != "summary_exact"}


# -- speedup ---------------------------------------------------------------------


def test_speedup_is_the_ratio_of_medians():
    assert adapt.speedup([10, 20, 30], [2, 4, 6]) == 5.0
    assert adapt.speedup([100, 300], [10, 30, 50]) == pytest.approx(200 / 30)
    assert adapt.speedup([5, 5], [5]) == 1.0
    assert adapt.speedup([1, math.inf, math.inf], [2]) == math.inf
    assert adapt.speedup([3], [0, 0, 1]) == math.inf
    assert math.isnan(adapt.speedup([0], [0]))
    with pytest.raises(ValueError):
        adapt.speedup([], [1])
    with pytest.raises(ValueError):
        adapt.speedup([math.nan], [1])


# -- one adaptation ----------------------------------------------------------------


def test_adaptation_config_keeps_the_run_but_fixes_the_goal():
    cfg = config_mod.from_dict(
        {
            "model": {"kind": "circuit"},
            "seed": 9,
            "schedule": {"kind": "alternating", "goals": ["G1", "G2"]},
            "selection": {"treatment": "P&CC"},
            "cost": {"kind": "count", "weight": 0.01},
        }
    )
    raw = adapt.adaptation_config(cfg, "G2", 77, 60)
    adapted = config_mod.from_dict(raw)
    assert adapted.schedule.kind == "fixed" and adapted.schedule.goals == ("G2",)
    assert adapted.generations == 77 and adapted.stop_when == "current_goal"
    assert adapted.selection.treatment == "P&CC" and adapted.cost.kind == "count" and adapted.seed == 9
    assert adapted.population == 60 and adapted.selection.elite == 18  # 300 of 1000 -> 18 of 60
    assert config_mod.from_dict(adapt.adaptation_config(cfg, "G2", 5)).population == 1000


def test_network_already_perfect_on_the_new_goal_needs_no_generations():
    raw = adapt.adaptation_config(config_mod.from_dict({"model": {"kind": "circuit"}}), "G1", 30, 60)
    assert ref.performance(G1, g1) == 1.0
    result = adapt.adapt_network(raw, G1, "G1", "G1")
    assert result["generations"] == 0 and result["solved"] and result["network"] == G1


def test_g1_circuit_adapts_to_g2_deterministically():
    raw = adapt.adaptation_config(
        config_mod.from_dict({"model": {"kind": "circuit"}, "seed": 4}), "G2", 30, 60
    )
    first = adapt.adapt_network(raw, G1, "G1", "G2")
    # G1 is not perfect on G2 (independent simulator), so it takes >= 1 generation.
    assert first["generations"] > 0 and first["cap"] == 30 and first["population"] == 60
    assert first["solved"] == (first["generations"] < 30)
    if first["solved"]:
        assert ref.performance(first["network"], g2) == 1.0
    assert adapt.adapt_network(raw, G1, "G1", "G2") == first


PREWIRED = [({}, 4), ({"kind": "pnsga2", "treatment": "PA", "operators": "literal"}, 1)]


@pytest.mark.parametrize("selection", [s for s, _ in PREWIRED])
def test_prewired_circuit_reaches_g2(selection):
    # Properties that hold for any seed: the circuit found is perfect on G2
    # by the independent simulator, and "generations" is the first generation
    # at which the run holds such a circuit.
    cfg = config_mod.from_dict({"model": {"kind": "circuit"}, "seed": 4, "selection": selection})
    raw = adapt.adaptation_config(cfg, "G2", 30, 60)
    result = adapt.adapt_network(raw, G1_WITH_OR, "G1", "G2")
    assert result["solved"]
    assert ref.performance(result["network"], g2) == 1.0
    assert ref.effective_gates(result["network"]) <= 11
    assert result["generations"] == first_perfect_generation(raw, G1_WITH_OR, g2, 30)


@pytest.mark.parametrize("selection, generations", PREWIRED)
def test_regression_pin_prewired_generations_seed_4(selection, generations):
    """Regression pin (seed 4): generations to G2 under the elitist GA and the
    literal PNSGA family. Not a correctness check (see the test above): it
    only flags a change of behaviour for a fixed seed."""
    cfg = config_mod.from_dict({"model": {"kind": "circuit"}, "seed": 4, "selection": selection})
    raw = adapt.adaptation_config(cfg, "G2", 30, 60)
    assert adapt.adapt_network(raw, G1_WITH_OR, "G1", "G2")["generations"] == generations


# -- whole experiments --------------------------------------------------------------


def test_run_adaptation_writes_results_and_skips_imperfect_networks(tmp_path):
    good = make_run(tmp_path / "good", G1_WITH_OR)
    bad = make_run(tmp_path / "bad", BROKEN)
    data = adapt.run_adaptation([good, bad], "G2", tmp_path / "out", cap=30, population=60, progress=False)
    (result,) = data["results"]
    assert result["source"] == str(good) and result["treatment"] == "PA"
    raw = adapt.adaptation_config(
        config_mod.from_dict(json.loads((good / "config.json").read_text())), "G2", 30, 60
    )
    generations = first_perfect_generation(raw, G1_WITH_OR, g2, 30)
    assert generations is not None and generations >= 1
    assert (result["goal_a"], result["goal_b"], result["generations"], result["solved"]) == (
        "G1",
        "G2",
        generations,
        True,
    )
    (skipped,) = data["skipped"]
    assert skipped["source"] == str(bad) and "not perfect on G1" in skipped["reason"]
    saved = json.loads((tmp_path / "out" / "adapt.json").read_text())
    assert saved == json.loads(json.dumps(as_saved(data)))
    with open(tmp_path / "out" / "adapt.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "source": str(good),
            "treatment": "PA",
            "seed": "4",
            "goal_a": "G1",
            "goal_b": "G2",
            "generations": str(generations),
            "solved": "True",
            "cap": "30",
            "population": "60",
        }
    ]
    assert (tmp_path / "out" / "adaptation.png").exists() and (tmp_path / "out" / "adaptation.svg").exists()


def test_sweep_directory_stands_for_its_runs_and_names_treatments(tmp_path):
    sweep_dir = tmp_path / "sweep"
    plan = []
    for treatment, network, seeds in (("FG", G1, (4, 5)), ("MVG", G1_WITH_OR, (4, 3))):
        for seed in seeds:
            make_run(sweep_dir / treatment / f"seed_{seed}", network, seed=seed)
            plan.append({"treatment": treatment, "seed": seed, "dir": f"{treatment}/seed_{seed}"})
    write_json(sweep_dir / "sweep.json", {"format": 1, "runs": plan})
    data = adapt.run_adaptation([sweep_dir], "G2", tmp_path / "out", cap=10, population=60, progress=False)
    assert [r["treatment"] for r in data["results"]] == ["FG", "FG", "MVG", "MVG"]
    summary = {row["treatment"]: row for row in data["summary"]}
    exact = {row["treatment"]: row for row in data["summary_exact"]}
    for treatment in ("FG", "MVG"):
        mine = [r for r in data["results"] if r["treatment"] == treatment]
        for r in mine:  # each time checked by the independent simulator
            raw = adapt.adaptation_config(
                config_mod.from_dict({"model": {"kind": "circuit"}, "seed": r["seed"]}), "G2", 10, 60
            )
            network = G1 if treatment == "FG" else G1_WITH_OR
            first = first_perfect_generation(raw, network, g2, 10)
            assert r["solved"] == (first is not None)
            assert r["generations"] == (first if first is not None else 10)
        times = [r["generations"] if r["solved"] else math.inf for r in mine]
        assert summary[treatment]["n"] == 2
        assert summary[treatment]["solved"] == sum(r["solved"] for r in mine)
        assert exact[treatment]["median"] == np.median(times)
        # JSON has no inf: a censored median is written as null.
        assert summary[treatment]["median"] == (None if np.isinf(np.median(times)) else np.median(times))
    assert summary["MVG"]["solved"] == 2  # the prewired circuit adapts within 10 generations
    # A run named directly still gets its sweep treatment.
    one = adapt.run_adaptation(
        [sweep_dir / "MVG" / "seed_3"],
        "G2",
        tmp_path / "one",
        cap=10,
        population=60,
        progress=False,
        figure=False,
    )
    seed_3 = [r for r in data["results"] if r["source"] == str(sweep_dir / "MVG" / "seed_3")]
    assert one["results"][0]["treatment"] == "MVG"
    assert one["results"][0]["generations"] == seed_3[0]["generations"]


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"to": "G7"}, "--to"),
        ({"goal_from": "nope"}, "--from"),
        ({"cap": 0}, "--cap"),
        ({"population": 1}, "--population"),
    ],
)
def test_bad_arguments_name_the_field(tmp_path, kwargs, field):
    run = make_run(tmp_path / "run", G1)
    args = {"to": "G2", "cap": 5, "population": 20, **kwargs}
    with pytest.raises(ConfigError) as err:
        adapt.run_adaptation([run], out=tmp_path / "out", progress=False, **args)
    assert err.value.field == field
    assert not (tmp_path / "out").exists()


def test_missing_or_unfinished_run_dirs(tmp_path):
    with pytest.raises(FileError) as err:
        adapt.run_adaptation([tmp_path / "absent"], "G2", tmp_path / "out")
    assert err.value.field == "RUN_DIRS"
    (tmp_path / "half").mkdir()
    write_json(tmp_path / "half" / "config.json", {})
    with pytest.raises(FileError) as err:
        adapt.run_adaptation([tmp_path / "half"], "G2", tmp_path / "out")
    assert err.value.field == "RUN_DIRS" and "best.json" in str(err.value)


def test_command_line(tmp_path, capsys):
    run = make_run(tmp_path / "run", G1_WITH_OR)
    broken = make_run(tmp_path / "broken", BROKEN)
    parser = cli.build_parser()
    args = parser.parse_args(
        [
            "adapt",
            str(run),
            str(broken),
            "--to",
            "G2",
            "--out",
            str(tmp_path / "out"),
            "--cap",
            "30",
            "--population",
            "60",
            "--workers",
            "1",
        ]
    )
    assert (args.cap, args.population, args.goal_from) == (30, 60, None)
    args.func(args)
    captured = capsys.readouterr()
    with open(tmp_path / "out" / "adapt.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    t = row["generations"]  # one solved run: median and both CI bounds are its time
    assert f"PA: G1 -> G2: median [95 % CI] {t} [{t}, {t}] generations (1/1 solved within 30)" in captured.out
    assert f"skipped {broken}" in captured.err
    assert cli.main(["adapt", str(run), "--to", "G9", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--to" in err and "Traceback" not in err


def test_real_layered_run_that_is_not_perfect_is_skipped(tmp_path, small_config):
    from evomod import runs

    runs.start(
        small_config(generations=3, population=20, log_modularity_every=0), tmp_path / "run", quiet=True
    )
    data = adapt.run_adaptation([tmp_path / "run"], "or", tmp_path / "out", cap=5, progress=False)
    assert data["results"] == [] and "not perfect on and" in data["skipped"][0]["reason"]
    assert (tmp_path / "out" / "adapt.csv").read_text().strip() == ",".join(adapt.CSV_COLUMNS)


def test_from_none_adapts_imperfect_networks_too(tmp_path):
    """--from none: a network that is not perfect on its run's goal (G1_WITH_OR
    in a run that ended on G2) is adapted rather than skipped, and its time is
    the first generation holding a perfect G2 circuit, found by the
    independent simulator."""
    run = make_run(tmp_path / "g2", G1_WITH_OR, goal="G2")
    strict = adapt.run_adaptation([run], "G2", tmp_path / "strict", cap=30, population=60, progress=False)
    assert strict["results"] == [] and "not perfect on G2" in strict["skipped"][0]["reason"]
    data = adapt.run_adaptation(
        [run], "G2", tmp_path / "out", cap=30, population=60, goal_from="none", progress=False
    )
    assert data["skipped"] == []
    (result,) = data["results"]
    assert result["goal_a"] == "none" and result["performance_a"] is None
    raw = adapt.adaptation_config(
        config_mod.from_dict(json.loads((run / "config.json").read_text())), "G2", 30, 60
    )
    expected = first_perfect_generation(raw, G1_WITH_OR, g2, 30)
    assert expected is not None and expected >= 1
    assert (result["generations"], result["solved"]) == (expected, True)
