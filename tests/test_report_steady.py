"""`evomod report` on runs stopped at steady state (Kashtan & Alon's MVG):
the solve time is the steady-state generation, and Qm is taken from the
networks that met the rule, one column per goal."""

import json
import math

from evomod import config as config_mod
from evomod import report
from evomod.runs import start


def test_steady_runs_are_measured_on_their_steady_networks(tmp_path, monkeypatch):
    cfg = config_mod.from_dict(
        {
            "seed": 1,
            "generations": 2000,
            "population": 1000,
            "checkpoint_every": 2000,
            "stop_when": "steady",
            "steady_epochs": 2,
            "model": {"kind": "circuit"},
            "task": {"name": "logic4"},
            "schedule": {"kind": "alternating", "goals": ["G1", "G2"], "period": 20},
        }
    )
    run = tmp_path / "MVG" / "seed_1"
    start(cfg, run, quiet=True)
    best = json.loads((run / "best.json").read_text())
    steady = best["steady_networks"]
    assert best["steady_at"] is not None and {e["goal"] for e in steady} == {"G1", "G2"}
    # The rule held at the end of the last recorded epoch, and the run stopped there.
    assert best["steady_at"] == max(e["generation"] for e in steady) == best["generation"] - 1

    # A stand-in Qm that tells networks apart: the number of distinct gate inputs.
    def fake_qm(network, config, baselines, samples):
        tag = float(len({tuple(g["in"]) for g in network["gates"]}))
        return dict.fromkeys(report.QM_MEASURES, tag)

    monkeypatch.setattr(report, "qm_values", fake_qm)
    values = report.summarise_run("MVG", 1, run, baselines=tmp_path).values
    by_goal = {e["goal"]: fake_qm(e["network"], None, None, 0)["qm"] for e in steady}
    assert values["qm@G1"] == by_goal["G1"] and values["qm@G2"] == by_goal["G2"]
    assert math.isclose(values["qm"], (by_goal["G1"] + by_goal["G2"]) / 2)
    assert values["solve_steady"] == best["steady_at"]
    assert values["solve_all_goals"] == max(best["first_solved"].values())
    collected = report.collect(tmp_path, baselines=tmp_path)
    assert {"qm@G1", "qm@G2", "solve_steady", "solve_all_goals"} <= set(collected.measures)
