import json

import numpy as np
import pytest

from evomod import cli, rundir, runs
from evomod.rundir import read_log


def strip_elapsed(rows):
    return [{k: v for k, v in row.items() if k != "elapsed"} for row in rows]


def population(directory):
    with np.load(directory / "population.npz") as data:
        return {k: data[k] for k in data.files}


def assert_same_run(a, b):
    assert strip_elapsed(read_log(a)) == strip_elapsed(read_log(b))
    pa, pb = population(a), population(b)
    assert pa.keys() == pb.keys()
    for key in pa:
        assert np.array_equal(pa[key], pb[key]), key
    assert json.loads((a / "best.json").read_text()) == json.loads((b / "best.json").read_text())


class Interrupt(Exception):
    pass


def interrupt_at(generation):
    def hook(evolution, state):
        if state.generation == generation:
            raise Interrupt

    return hook


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"selection": {"treatment": "PA"}},
        {"selection": {"treatment": "P&RO"}},
        {"schedule": {"kind": "rmvg", "family": "modular", "period": 4}},
        {"cost": {"kind": "count"}, "schedule": {"kind": "alternating", "goals": ["and", "or"], "period": 5}},
        # Kashtan & Alon's threshold networks on sampled patterns: children are
        # scored only when a state is kept (Evolution.settle), checkpoints included.
        {
            "model": {"kind": "threshold"},
            "selection": {"kind": "elitist", "elite": 15},
            "sample_patterns": 40,
        },
        {
            "model": {"kind": "circuit"},
            "task": {"name": "logic4"},
            "schedule": {"kind": "fixed", "goals": ["G1"]},
            "selection": {"kind": "elitist", "elite": 15},
            "sample_patterns": 9,
        },
    ],
)
def test_resume_is_bit_identical(tmp_path, small_config, overrides):
    config = small_config(**overrides)
    runs.start(config, tmp_path / "whole", quiet=True)
    with pytest.raises(Interrupt):
        runs.start(config, tmp_path / "cut", quiet=True, hooks=[interrupt_at(25)])
    # The kill happened after the checkpoint at 20 and before the end.
    saved = json.loads((tmp_path / "cut" / "checkpoint.json").read_text())
    assert saved["generation"] == 20
    assert not (tmp_path / "cut" / "checkpoint.pkl").exists()
    assert not (tmp_path / "cut" / "best.json").exists()
    assert len(read_log(tmp_path / "cut")) == 20
    with np.load(tmp_path / "cut" / "checkpoint.npz") as saved_arrays:
        assert not any(
            np.isnan(saved_arrays[k]).any() for k in saved_arrays.files if saved_arrays[k].dtype.kind == "f"
        )
    runs.resume(tmp_path / "cut", quiet=True)
    assert_same_run(tmp_path / "whole", tmp_path / "cut")
    assert np.isfinite(population(tmp_path / "whole")["performance"]).all()


def test_same_seed_same_run_other_seed_differs(tmp_path, small_config):
    runs.start(small_config(), tmp_path / "a", quiet=True)
    runs.start(small_config(), tmp_path / "b", quiet=True)
    assert_same_run(tmp_path / "a", tmp_path / "b")
    runs.start(small_config(seed=8), tmp_path / "c", quiet=True)
    assert strip_elapsed(read_log(tmp_path / "a")) != strip_elapsed(read_log(tmp_path / "c"))


def test_run_directory_contents(tmp_path, small_config):
    config = small_config(schedule={"kind": "alternating", "goals": ["and", "or"], "period": 10})
    runs.start(config, tmp_path / "r", quiet=True)
    rows = read_log(tmp_path / "r")
    assert [r["gen"] for r in rows] == list(range(30))
    assert [r["goal"] for r in rows] == [("and", "or")[(g // 10) % 2] for g in range(30)]
    for row in rows:
        assert 0.0 <= row["mean"] <= row["best"] <= 1.0
        assert row["connections"] >= 0 and row["elapsed"] >= 0
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["population"] == 60 and saved["schedule"]["goals"] == ["and", "or"]
    best = json.loads((tmp_path / "r" / "best.json").read_text())
    assert len(best["networks"]) == config.hall_of_fame
    fitness = [entry["fitness"] for entry in best["networks"]]
    assert fitness == sorted(fitness, reverse=True)
    # The stored best network really scores what its entry says, on the last goal.
    from evomod.build import build_parts

    parts = build_parts(config)
    top = best["networks"][0]
    genome = parts.model.from_json(top["network"])
    task = parts.task
    score = parts.model.performance(genome, task.inputs, task.target(best["goal"]))[0]
    assert score == top["performance"]
    assert parts.cost(parts.model, genome)[0] == pytest.approx(top["cost"])
    leftovers = [p.name for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_cli_run_resume_plot(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "generations = 12\npopulation = 40\ncheckpoint_every = 5\n"
        'log_modularity_every = 0\n[schedule]\nkind = "fixed"\ngoals = ["or"]\n'
    )
    out = tmp_path / "run"
    assert cli.main(["run", str(cfg), "--out", str(out), "--seed", "3", "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["seed"] == 3
    # Running into an existing run directory is refused, not overwritten.
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert cli.main(["resume", str(out), "--quiet"]) == 0  # already finished: no change
    assert len(read_log(out)) == 12
    assert cli.main(["plot", str(out)]) == 0
    png = out / "run.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["plot", str(out), "--out", str(tmp_path / "fig.png")]) == 0
    assert (tmp_path / "fig.png").exists()
    assert cli.main(["resume", str(tmp_path / "nothing")]) == 2
    assert cli.main(["plot", str(tmp_path / "nothing")]) == 2


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "f.json"
    rundir.write_json(target, {"a": 1})

    class Boom:
        def __repr__(self):
            raise RuntimeError("no")

    with pytest.raises(TypeError):
        rundir.write_json(target, {"a": Boom()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
