import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from evomod import cli, runs, sweep
from evomod.errors import ConfigError, EvomodError, FileError
from evomod.progress import progress_bar

# Small enough for a 2-core machine, long enough (in checkpoints) for a kill
# to land in the middle of a run.
SWEEP_TOML = """\
seeds = [1, 2]
quick = {generations = 8}

[base]
generations = 40
population = 30
checkpoint_every = 4
log_modularity_every = 8

[treatments.PA.selection]
treatment = "PA"

[treatments."P&CC"]
cost = {kind = "count"}

[treatments.KA]
model = {kind = "circuit"}
selection = {elite = 9}
"""


def log_without_elapsed(directory):
    # The CSV text, not parsed floats: nan (an n-cut of no edges) never equals itself.
    with open(directory / "log.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "elapsed"} for row in csv.DictReader(handle)]


def population(directory):
    with np.load(directory / "population.npz") as data:
        return {k: data[k] for k in data.files}


def assert_same_run(a, b):
    assert log_without_elapsed(a) == log_without_elapsed(b), a
    pa, pb = population(a), population(b)
    assert pa.keys() == pb.keys()
    for key in pa:
        assert np.array_equal(pa[key], pb[key]), (a, key)
    assert json.loads((a / "best.json").read_text()) == json.loads((b / "best.json").read_text())


def assert_same_sweep(a, b):
    plan_a = json.loads((a / "sweep.json").read_text())
    plan_b = json.loads((b / "sweep.json").read_text())
    assert plan_a["runs"] == plan_b["runs"]
    for run in plan_a["runs"]:
        assert_same_run(a / run["dir"], b / run["dir"])


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweepdef") / "sweep.toml"
    path.write_text(SWEEP_TOML)
    return path


@pytest.fixture(scope="module")
def reference(sweep_file, tmp_path_factory):
    """The sweep run in this process, one run after another."""
    out = tmp_path_factory.mktemp("reference") / "out"
    result = sweep.run_sweep(sweep_file, out, workers=1, progress=False)
    assert not result.failed, result.failed
    assert [o.result["status"] for o in result.outcomes] == ["started"] * 6
    return out


# -- planning ------------------------------------------------------------------


def test_expand_merges_treatments_onto_base_and_plans_every_seed(tmp_path, sweep_file):
    plan = sweep.plan_sweep(sweep_file, tmp_path / "out")
    assert plan.treatments == ("PA", "P&CC", "KA")
    assert plan.seeds == (1, 2)
    assert [(r.treatment, r.seed) for r in plan.runs] == [
        ("PA", 1),
        ("P&CC", 1),
        ("KA", 1),
        ("PA", 2),
        ("P&CC", 2),
        ("KA", 2),
    ]
    by = {(r.treatment, r.seed): r for r in plan.runs}
    pa, pcc = by[("PA", 2)].config, by[("P&CC", 1)].config
    assert pa.seed == 2 and pa.selection.treatment == "PA" and pa.cost.kind == "squared_length"
    # The deep merge keeps the base's (default) selection fields next to the override.
    assert pa.selection.kind == "pnsga2" and pa.selection.cost_probability == 0.25
    assert pcc.selection.treatment == "P&CC" and pcc.cost.kind == "count"
    assert pa.generations == 40 and pa.population == 30
    ka = by[("KA", 1)].config
    # The circuit model brings Kashtan & Alon's setup; the sweep's fields still win.
    assert ka.task.name == "logic4" and ka.selection.kind == "elitist" and ka.selection.elite == 9
    assert ka.population == 30 and ka.log_modularity_every == 8
    assert by[("P&CC", 2)].path == (tmp_path / "out" / "P&CC" / "seed_2").absolute()
    quick = sweep.plan_sweep(sweep_file, tmp_path / "out", quick=True)
    assert all(r.config.generations == 8 and r.config.population == 30 for r in quick.runs)


def test_seed_count_base_file_and_inline_base(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "base.toml").write_text(
        "generations = 5\npopulation = 20\n[selection]\ntreatment = 'PA'\n"
    )
    raw = {"seeds": 3, "base": "configs/base.toml", "treatments": {"A": {}, "B": {"population": 22}}}
    plan = sweep.expand(raw, tmp_path / "o", root=tmp_path)
    assert plan.seeds == (1, 2, 3) and len(plan.runs) == 6
    assert {r.config.population for r in plan.runs if r.treatment == "B"} == {22}
    assert all(r.config.selection.treatment == "PA" and r.config.generations == 5 for r in plan.runs)
    # A [base] table may name a file and override it.
    raw = {"seeds": [4], "base": {"file": "configs/base.toml", "generations": 7}, "treatments": {"A": {}}}
    (run,) = sweep.expand(raw, tmp_path / "o", root=tmp_path).runs
    assert run.config.generations == 7 and run.config.population == 20 and run.config.seed == 4
    assert run.relpath == "A/seed_4"


def test_dask_section_sets_the_scheduler(tmp_path):
    raw = {"seeds": [1], "treatments": {"A": {}}, "dask": {"scheduler": "tcp://127.0.0.1:1"}}
    assert sweep.expand(raw, tmp_path).scheduler == "tcp://127.0.0.1:1"


@pytest.mark.parametrize(
    "raw, field",
    [
        ({"seeds": [1], "treatments": {"A": {}}, "extra": 1}, "extra"),
        ({"treatments": {"A": {}}}, "seeds"),
        ({"seeds": 0, "treatments": {"A": {}}}, "seeds"),
        ({"seeds": [1, 1], "treatments": {"A": {}}}, "seeds"),
        ({"seeds": [1, "x"], "treatments": {"A": {}}}, "seeds"),
        ({"seeds": [1]}, "treatments"),
        ({"seeds": [1], "treatments": {}}, "treatments"),
        ({"seeds": [1], "treatments": {"A": 3}}, "treatments.A"),
        ({"seeds": [1], "treatments": {"../up": {}}}, "treatments.../up"),
        (
            {"seeds": [1], "treatments": {"A": {"selection": {"treatmnt": "PA"}}}},
            "treatments.A.selection.treatmnt",
        ),
        (
            {"seeds": [1], "treatments": {"A": {"selection": {"treatment": "XX"}}}},
            "treatments.A.selection.treatment",
        ),
        ({"seeds": [1], "treatments": {"A": {"generatons": 3}}}, "treatments.A.generatons"),
        ({"seeds": [1], "treatments": {"A": {"seed": 3}}}, "treatments.A.seed"),
        ({"seeds": [1], "treatments": {"A": {}}, "quick": 3}, "quick"),
        ({"seeds": [1], "treatments": {"A": {}}, "dask": {"workers": 2}}, "dask.workers"),
        ({"seeds": [1], "treatments": {"A": {}}, "base": 3}, "base"),
        ({"seeds": [1], "treatments": {"A": {}}, "base": "missing.toml"}, "base"),
    ],
)
def test_bad_sweeps_name_the_field(tmp_path, raw, field):
    with pytest.raises(EvomodError) as err:
        sweep.expand(raw, tmp_path / "o", root=tmp_path)
    assert err.value.field == field
    assert str(err.value).startswith(field)


def test_renamed_error_keeps_message_and_allowed_values(tmp_path):
    raw = {"seeds": [1], "treatments": {"A": {"selection": {"treatment": "XX"}}}}
    with pytest.raises(ConfigError) as err:
        sweep.expand(raw, tmp_path)
    assert err.value.allowed == ("PA", "P&CC", "P&RO")
    assert str(err.value) == (
        "treatments.A.selection.treatment: unknown value 'XX' (allowed: 'PA', 'P&CC', 'P&RO')"
    )


def test_quick_without_quick_table_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as err:
        sweep.expand({"seeds": [1], "treatments": {"A": {}}}, tmp_path, quick=True)
    assert err.value.field == "--quick"


def test_bad_treatment_fails_before_anything_runs(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "seeds = 2\n[base]\ngenerations = 3\npopulation = 10\n"
        "[treatments.good]\n[treatments.bad.cost]\nkind = 'nope'\n"
    )
    assert cli.main(["sweep", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "treatments.bad.cost.kind" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    (tmp_path / "syntax.toml").write_text("seeds = [1\n")
    assert cli.main(["sweep", str(tmp_path / "syntax.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "not valid TOML" in capsys.readouterr().err


# -- running -----------------------------------------------------------------------


def test_sweep_directory_layout_and_rerun_skips(reference, sweep_file):
    plan = json.loads((reference / "sweep.json").read_text())
    assert plan["seeds"] == [1, 2] and plan["treatments"] == ["PA", "P&CC", "KA"]
    assert sorted(r["dir"] for r in plan["runs"]) == [
        "KA/seed_1",
        "KA/seed_2",
        "P&CC/seed_1",
        "P&CC/seed_2",
        "PA/seed_1",
        "PA/seed_2",
    ]
    for entry in plan["runs"]:
        run = reference / entry["dir"]
        assert sweep.run_status(run) == "finished"
        assert json.loads((run / "config.json").read_text()) == entry["config"]
        assert entry["config"]["seed"] == entry["seed"]
    again = sweep.run_sweep(sweep_file, reference, workers=1, progress=False)
    assert again.already_finished == 6 and again.outcomes == []


def test_two_worker_pool_gives_identical_results(reference, sweep_file, tmp_path):
    result = sweep.run_sweep(sweep_file, tmp_path / "pool", workers=2, progress=False)
    assert not result.failed, result.failed[0].error
    assert_same_sweep(reference, tmp_path / "pool")


def test_dask_local_cluster_gives_identical_results(reference, sweep_file, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = sweep.run_sweep(
            sweep_file, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False
        )
    assert not result.failed, result.failed[0].error
    assert {o.result["status"] for o in result.outcomes} == {"started"}
    assert_same_sweep(reference, tmp_path / "dask")


def test_unreachable_scheduler_is_a_config_error(tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ConfigError) as err:
        sweep.execute(sweep.run_one, [sweep.Job("x", ())], scheduler="tcp://127.0.0.1:9", progress=False)
    assert err.value.field == "--scheduler"


def test_killed_sweep_reruns_to_identical_results(reference, sweep_file, tmp_path):
    out = tmp_path / "killed"
    # A new session makes the sweep and its pool workers one process group.
    proc = subprocess.Popen(
        [sys.executable, "-m", "evomod.cli", "sweep", str(sweep_file), "--out", str(out), "--workers", "2"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("*/*/checkpoint.json")):
            assert proc.poll() is None, "the sweep ended before any checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.01)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    plan = json.loads((out / "sweep.json").read_text())
    states = [sweep.run_status(out / r["dir"]) for r in plan["runs"]]
    assert states.count("finished") < len(states), states
    result = sweep.run_sweep(sweep_file, out, workers=1, progress=False)
    assert not result.failed, result.failed[0].error
    assert not list(out.glob("*/*/.*.tmp"))
    assert_same_sweep(reference, out)


class Interrupt(Exception):
    pass


def test_run_one_resumes_an_interrupted_run(reference, sweep_file, tmp_path):
    run = sweep.plan_sweep(sweep_file, tmp_path).runs[1]

    def stop(evolution, state):
        if state.generation == 10:
            raise Interrupt

    with pytest.raises(Interrupt):
        runs.start(run.config, run.path, quiet=True, hooks=[stop])
    assert sweep.run_status(run.path) == "interrupted"
    (run.path / ".log.csv.stale.tmp").write_text("half")
    assert sweep.run_one(str(run.path), run.config.to_dict())["status"] == "resumed"
    assert not (run.path / ".log.csv.stale.tmp").exists()
    assert_same_run(reference / run.relpath, run.path)


def test_run_killed_between_best_and_population_is_completed(reference, tmp_path):
    # save_results writes best.json before population.npz.
    copy = tmp_path / "run"
    shutil.copytree(reference / "PA" / "seed_1", copy)
    (copy / "population.npz").unlink()
    assert sweep.run_status(copy) == "interrupted"
    config = json.loads((copy / "config.json").read_text())
    assert sweep.run_one(str(copy), config)["status"] == "resumed"
    assert_same_run(reference / "PA" / "seed_1", copy)


def test_other_config_in_the_out_directory_is_refused(reference, sweep_file, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    with pytest.raises(FileError) as err:
        sweep.run_sweep(sweep_file, out, workers=1, quick=True, progress=False)
    assert err.value.field == "--out"


def test_failed_run_does_not_stop_the_others(tmp_path):
    jobs = [
        sweep.Job("bad", ("not a dir", {"generations": "many"})),
        sweep.Job("ok", (str(tmp_path / "x"), {})),
    ]
    seen = []
    outcomes = sweep.execute(_echo_or_fail, jobs, workers=1, progress=False, on_done=seen.append)
    assert [o.key for o in outcomes] == ["bad", "ok"]
    assert "ValueError" in outcomes[0].error and outcomes[1].result == "x"
    assert len(seen) == 2
    with pytest.raises(ConfigError) as err:
        sweep.execute(_echo_or_fail, jobs, workers=0)
    assert err.value.field == "--workers"


def _echo_or_fail(path, config):
    if config:
        raise ValueError("bad config")
    return Path(path).name


def test_progress_bar_only_on_a_terminal_outside_ci(monkeypatch):
    monkeypatch.setenv("CI", "1")
    assert progress_bar(3, 0, "run", None).disable
    monkeypatch.delenv("CI")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert progress_bar(3, 0, "run", None).disable
    assert not progress_bar(3, 0, "run", True).disable


def test_add_command_registers_sweep(tmp_path, sweep_file, capsys):
    parser = cli.build_parser()
    args = parser.parse_args(
        ["sweep", str(sweep_file), "--out", str(tmp_path / "q"), "--quick", "--workers", "1"]
    )
    assert (args.workers, args.scheduler, args.quick) == (1, None, True)
    args.func(args)
    assert "6 runs" in capsys.readouterr().out
    assert all(
        json.loads((tmp_path / "q" / r["dir"] / "config.json").read_text())["generations"] == 8
        for r in json.loads((tmp_path / "q" / "sweep.json").read_text())["runs"]
    )


def test_quick_can_shrink_the_seed_list(tmp_path):
    raw = {"seeds": 50, "treatments": {"A": {}}, "quick": {"seeds": 2, "generations": 3}}
    full = sweep.expand(raw, tmp_path)
    quick = sweep.expand(raw, tmp_path, quick=True)
    assert len(full.runs) == 50 and full.runs[0].config.generations == 25000
    assert [r.seed for r in quick.runs] == [1, 2]
    assert all(r.config.generations == 3 for r in quick.runs)
