"""Behaviours of the evolutionary loop that only show in real (short) runs:
crossover, sampled patterns, P&RO's heritable random objective, ranks after a
goal switch, feedback circuits, cost positions from a config file, Ctrl-C
and errors at the command line.

Each test checks the loop against something independent of the code under
test (the previous population, a brute-force sort, a plain-Python circuit
simulator, a second run) and asserts that what it is about really varies.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import circuit_reference as ref
import numpy as np
import pytest

from evomod import cli, rundir, runs
from evomod import config as config_mod
from evomod.evolve import Evolution

ROOT = Path(__file__).resolve().parents[1]


def timeless(rows):
    return [{k: v for k, v in row.items() if k != "elapsed"} for row in rows]


# -- crossover inside the loop ---------------------------------------------------------


def threshold_config(crossover, seed=3):
    return config_mod.from_dict(
        {
            "seed": seed,
            "generations": 2,
            "population": 200,
            "log_modularity_every": 0,
            "model": {"kind": "threshold", "crossover_probability": crossover, "mutation_probability": 0.0},
            "selection": {"elite": 50},
        }
    )


def neuron_match(children, parents):
    """(child, parent, neuron) bool: the child's neuron equals the parent's."""
    same = np.ones(
        (len(children["threshold"]), len(parents["threshold"]), children["threshold"].shape[1]), dtype=bool
    )
    for key in ("src", "sign", "threshold"):
        c, p = children[key], parents[key]
        eq = c[:, None] == p[None, :]
        same &= eq.reshape(eq.shape[:3] + (-1,)).all(axis=3) if eq.ndim > 3 else eq
    return same


@pytest.mark.parametrize("crossover", [0.0, 1.0])
def test_crossover_in_the_loop_mixes_two_parents(crossover):
    evolution = Evolution(threshold_config(crossover))
    state = evolution.initial_state()
    before = {k: v.copy() for k, v in state.genomes.items()}
    evolution.step(state)
    match = neuron_match(state.genomes, before)
    # Mutation is off, so each new genome is one earlier genome (a copy) or
    # takes each neuron from one of two earlier genomes (a crossover child).
    missing = ~match  # (child, parent, neuron)
    one_parent = (~missing.any(axis=2)).any(axis=1)
    pair_covers = np.einsum("apj,aqj->apq", missing.astype(np.int32), missing.astype(np.int32)) == 0
    two_parents = pair_covers.any(axis=(1, 2))
    assert two_parents.all()
    if crossover == 0.0:
        assert one_parent.all()
    else:
        # 150 of the 200 are children of two distinct elite parents.
        assert (~one_parent).mean() > 0.5


# -- sampled patterns ------------------------------------------------------------------


def sampled_config(seed=5, sample=100, generations=8):
    return config_mod.from_dict(
        {
            "seed": seed,
            "generations": generations,
            "population": 40,
            "log_modularity_every": 0,
            "sample_patterns": sample,
            "schedule": {"goals": ["or"]},
        }
    )


def test_sample_patterns_draws_a_fresh_sample_each_generation():
    evolution = Evolution(sampled_config())
    task = evolution.parts.task
    seen = []

    def keep(evo, st):
        seen.append((st.genomes["weights"].copy(), st.genomes["biases"].copy(), st.performance.copy()))

    state = evolution.initial_state()
    evolution.run(state, 8, on_generation=(keep,))
    full = [
        evolution.parts.model.performance({"weights": w, "biases": b}, task.inputs, task.target("or"))
        for w, b, _ in seen
    ]
    # Scores of 100 patterns are multiples of 1/100 and differ from scoring all 256 ...
    for _, _, perf in seen:
        assert np.allclose(perf * 100, np.round(perf * 100))
    assert any(not np.allclose(perf, f) for (_, _, perf), f in zip(seen, full))
    # ... and the sample changes: an unchanged genome kept from one
    # generation to the next is scored differently at least once.
    rescored = 0
    for (w0, b0, p0), (w1, b1, p1) in zip(seen, seen[1:]):
        key0 = {w0[i].tobytes() + b0[i].tobytes(): p0[i] for i in range(len(p0))}
        for i in range(len(p1)):
            k = w1[i].tobytes() + b1[i].tobytes()
            if k in key0 and key0[k] != p1[i]:
                rescored += 1
    assert rescored > 0


def test_sampled_run_is_reproducible_by_seed(tmp_path):
    runs.start(sampled_config(seed=5), tmp_path / "a", quiet=True)
    runs.start(sampled_config(seed=5), tmp_path / "b", quiet=True)
    runs.start(sampled_config(seed=6), tmp_path / "c", quiet=True)
    a, b, c = (timeless(rundir.read_log(tmp_path / d)) for d in "abc")
    assert a == b
    assert a != c
    full = timeless(rundir.read_log(_full_run(tmp_path)))
    assert [r["mean"] for r in a] != [r["mean"] for r in full]


def _full_run(tmp_path):
    runs.start(sampled_config(seed=5, sample=0), tmp_path / "full", quiet=True)
    return tmp_path / "full"


# -- P&RO: the heritable random objective in a real run ------------------------------------


def dominated_by_someone(f):
    """Rows of f (maximised) that some other row dominates, by brute force."""
    out = np.zeros(len(f), dtype=bool)
    for i in range(len(f)):
        out[i] = np.any(np.all(f >= f[i], axis=1) & np.any(f > f[i], axis=1))
    return out


def test_pro_random_objective_is_inherited_and_selected_on_in_a_run(monkeypatch):
    config = config_mod.from_dict(
        {
            "seed": 11,
            "generations": 6,
            "population": 60,
            "log_modularity_every": 0,
            "selection": {"treatment": "P&RO"},
            "schedule": {"goals": ["or"]},
        }
    )
    evolution = Evolution(config)
    selection = evolution.selection
    steps, checks = [], []
    original = type(selection)._offspring

    def spy(self, evo, state, chosen, goal, patterns):
        children, perf, cost, penalty = original(self, evo, state, chosen, goal, patterns)
        steps.append(children["random_objective"] - state.genomes["random_objective"][chosen])
        pool_f = np.column_stack(
            [
                np.concatenate(
                    [
                        evo.fitness(state.performance, state.cost, state.penalty),
                        evo.fitness(perf, cost, penalty),
                    ]
                ),
                np.concatenate([state.genomes["random_objective"], children["random_objective"]]),
            ]
        )
        pool_w = np.concatenate([state.genomes["weights"], children["weights"]])
        checks.append((pool_f, pool_w))
        return children, perf, cost, penalty

    monkeypatch.setattr(type(selection), "_offspring", spy)
    state = evolution.initial_state()
    sizes = []
    for _ in range(6):
        evolution.step(state)
        pool_f, pool_w = checks[-1]
        # The survivors carry their own objective value through selection ...
        key = {pool_w[i].tobytes() + pool_f[i, 1].tobytes(): i for i in range(len(pool_f))}
        rows = [
            key.get(state.genomes["weights"][i].tobytes() + state.genomes["random_objective"][i].tobytes())
            for i in range(config.population)
        ]
        assert None not in rows
        # ... and the first front is exactly the pool's non-dominated set in
        # (performance, random objective): always counted, both objectives.
        front = {rows[i] for i in range(config.population) if state.rank[i] == 0}
        assert front == set(np.flatnonzero(~dominated_by_someone(pool_f)).tolist())
        sizes.append(len(front))
    # The random objective keeps more than the best performers on the front.
    assert max(sizes) > 1
    step = np.concatenate(steps)
    # Each mutation adds N(0, 0.1) to the parent's value.
    assert abs(step.mean()) < 4 * 0.1 / np.sqrt(len(step))
    assert 0.09 < step.std() < 0.11
    from scipy.stats import kstest

    assert kstest(step / 0.1, "norm").pvalue > 1e-3


# -- ranks after a goal switch ---------------------------------------------------------------


def switching_config(operators, seed=2):
    return config_mod.from_dict(
        {
            "seed": seed,
            "generations": 8,
            "population": 40,
            "log_modularity_every": 0,
            "selection": {"treatment": "PA", "operators": operators},
            "schedule": {"kind": "alternating", "goals": ["and", "or"], "period": 4},
        }
    )


@pytest.mark.parametrize("operators", ["literal", "authors"])
def test_ranks_after_a_goal_switch(monkeypatch, operators):
    """State documents ``rank`` as the fronts of the last environmental
    selection, which the next tournaments use. Check that the switch
    generation re-scores the population under the new goal (independently
    evaluated), that the literal family's tournaments then use the last
    selection's ranks, and that the selection after the switch ranks by the
    new goal (PA, brute force: one objective, so rank 0 is exactly the best
    fitness and ranks follow fitness)."""
    import evomod.selection as selection_mod

    evolution = Evolution(switching_config(operators))
    used = []
    real = selection_mod.crowded_tournament

    def spy(rank, crowding, n, rng):
        used.append(np.array(rank, copy=True))
        return real(rank, crowding, n, rng)

    monkeypatch.setattr(selection_mod, "crowded_tournament", spy)
    state = evolution.initial_state()
    for _ in range(4):  # generations 0-3 under "and"
        evolution.step(state)
    last_rank = state.rank.copy()
    old_perf = state.performance.copy()
    task = evolution.parts.task
    at_switch = {k: v.copy() for k, v in state.genomes.items()}
    evolution.step(state)  # generation 4: the first under "or"
    assert evolution.parts.schedule.goal(4) == "or" and state.logbook[-1]["goal"] == "or"
    fresh = evolution.parts.model.performance(at_switch, task.inputs, task.target("or"))
    assert state.logbook[-1]["mean"] == pytest.approx(fresh.mean())
    assert state.logbook[-1]["best"] == fresh.max()
    assert not np.allclose(fresh, old_perf)  # the switch really changes the scores
    if operators == "literal":
        assert len(used) == 5
        np.testing.assert_array_equal(used[-1], last_rank)
    for _ in range(2):
        fit = evolution.fitness(state.performance, state.cost, state.penalty)
        rank = state.rank
        assert set(np.flatnonzero(rank == 0)) == set(np.flatnonzero(fit == fit.max()))
        i, j = np.nonzero(fit[:, None] > fit[None, :])
        assert np.all(rank[i] < rank[j])
        i, j = np.nonzero(fit[:, None] == fit[None, :])
        assert np.all(rank[i] == rank[j])
        evolution.step(state)
    assert len(set(fit.tolist())) > 1  # more than one front to order


# -- feedback circuits --------------------------------------------------------------------


def test_feedback_circuit_run_matches_a_brute_force_simulation(tmp_path):
    settle = 5
    config = config_mod.from_dict(
        {
            "seed": 4,
            "generations": 12,
            "population": 60,
            "log_modularity_every": 0,
            "model": {"kind": "circuit", "feedback": True, "settle_steps": settle},
            "selection": {"elite": 20},
        }
    )
    runs.start(config, tmp_path / "fb", quiet=True)
    best = json.loads((tmp_path / "fb" / "best.json").read_text())
    evolution = Evolution(config)
    model = evolution.parts.model
    with np.load(tmp_path / "fb" / "population.npz") as saved:
        genomes = {k[len("genome_") :]: saved[k] for k in saved.files if k.startswith("genome_")}
        performance = saved["performance"]
    goal = best["goal"]
    nets = [model.to_json(genomes, i) for i in range(len(performance))]
    simulated = np.array(
        [ref.performance(net, lambda p: ref.xor_goal(goal, p), steps=settle) for net in nets]
    )
    np.testing.assert_array_equal(performance, simulated)
    final = best["final"]
    assert final["performance"] == ref.performance(
        final["network"], lambda p: ref.xor_goal(goal, p), steps=settle
    )
    for entry in best["networks"]:
        assert entry["performance"] == ref.performance(
            entry["network"], lambda p: ref.xor_goal(goal, p), steps=settle
        )
    # The run uses feedback wiring (a gate reading itself or a later gate,
    # impossible feed-forward), and some outputs do not settle.
    loops = [any(src >= g["id"] for g in net["gates"] for src in g["in"]) for net in nets]
    assert np.mean(loops) > 0.5
    unsettled = sum(not all(ref.synchronous(net, p, settle)[1]) for net in nets for p in range(16))
    assert unsettled > 0
    assert len(set(simulated.tolist())) > 2
    # settle_steps matters here: 30 steps would score many circuits otherwise.
    longer = np.array([ref.performance(net, lambda p: ref.xor_goal(goal, p), steps=30) for net in nets])
    assert (longer != performance).sum() > 5


# -- cost positions from a config file --------------------------------------------------------

BASE_TOML = "seed = 4\ngenerations = 6\npopulation = 30\ncheckpoint_every = 3\nlog_modularity_every = 0\n"


def run_toml(tmp_path, name, extra=""):
    path = tmp_path / f"{name}.toml"
    path.write_text(BASE_TOML + extra)
    config = config_mod.load(path)
    runs.start(config, tmp_path / name, quiet=True)
    return config, timeless(rundir.read_log(tmp_path / name))


def test_cost_positions_from_a_config_file(tmp_path):
    from evomod.costs import node_positions

    _, default = run_toml(tmp_path, "default")
    shuffled_config, shuffled = run_toml(tmp_path, "shuffled", "[cost]\npositions = 'random_inputs'\n")
    evolution = Evolution(shuffled_config)
    model = evolution.parts.model
    base = node_positions(model, "model")
    custom = "[cost]\npositions = 'custom'\ncustom_positions = " + json.dumps(base.tolist()) + "\n"
    _, same = run_toml(tmp_path, "same", custom)
    moved = base.copy()
    moved[0, 0] += 5.0
    _, other = run_toml(
        tmp_path,
        "other",
        "[cost]\npositions = 'custom'\ncustom_positions = " + json.dumps(moved.tolist()) + "\n",
    )
    # Custom positions equal to the model's give the very same run.
    assert same == default
    assert json.loads((tmp_path / "same" / "best.json").read_text()) == json.loads(
        (tmp_path / "default" / "best.json").read_text()
    )
    # Shuffled inputs or a moved input change the costs the run logs.
    assert [r["cost"] for r in shuffled] != [r["cost"] for r in default]
    assert [r["cost"] for r in other] != [r["cost"] for r in default]
    # The same initial population (positions have their own random stream):
    # its first row differs in cost only.
    assert shuffled[0]["mean"] == default[0]["mean"]
    # random_inputs permutes the input positions and leaves the rest.
    placed = node_positions(model, "random_inputs", rng=np.random.default_rng(0))
    inputs = model.input_nodes()
    assert sorted(map(tuple, placed[inputs])) == sorted(map(tuple, base[inputs]))
    np.testing.assert_array_equal(np.delete(placed, inputs, axis=0), np.delete(base, inputs, axis=0))


# -- the command line: Ctrl-C and errors ------------------------------------------------------


def cli_process(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-m", "evomod.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def wait_for_checkpoint(directory, above, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    path = Path(directory) / "checkpoint.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.communicate()}")
        try:
            generation = json.loads(path.read_text())["generation"]
            if generation > above:
                return generation
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError("no checkpoint in time")


def interrupt(proc):
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_ctrl_c_exits_130_and_leaves_a_checkpoint_that_resumes(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(
        "seed = 1\ngenerations = 1000000\npopulation = 20\ncheckpoint_every = 5\nlog_modularity_every = 0\n"
    )
    out = tmp_path / "run"
    proc = cli_process("run", str(config), "--out", str(out), "--quiet")
    at = wait_for_checkpoint(out, 0, proc)
    code, _, err = interrupt(proc)
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "interrupted" in err and len(err.strip().splitlines()) == 1, err
    assert not (out / "best.json").exists()
    # The checkpoint resumes: the resumed run goes past it, and Ctrl-C again is clean.
    proc = cli_process("resume", str(out), "--quiet")
    wait_for_checkpoint(out, at + 5, proc)
    code, _, err = interrupt(proc)
    assert code == 130 and "Traceback" not in err, err


def one_line_failure(proc_args, *needles):
    proc = cli_process(*proc_args)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode not in (0, None), (out, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def one_line_failure_here(capsys, args, *needles):
    """As one_line_failure, through cli.main in this process (faster): an
    exception escaping main() is the traceback a user would see."""
    capsys.readouterr()
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code != 0, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    path = root / "c.toml"
    path.write_text(
        "seed = 1\ngenerations = 4\npopulation = 20\ncheckpoint_every = 2\nlog_modularity_every = 0\n"
    )
    runs.start(config_mod.load(path), root / "done", quiet=True)
    return root


def test_cli_corrupt_checkpoint_is_one_line(finished_run, tmp_path):
    import shutil

    run = tmp_path / "cut"
    shutil.copytree(finished_run / "done", run)
    (run / "best.json").unlink()
    data = (run / "checkpoint.npz").read_bytes()
    (run / "checkpoint.npz").write_bytes(data[: len(data) // 3])
    one_line_failure(["resume", str(run), "--quiet"], "checkpoint")


def test_cli_existing_non_empty_out_is_one_line(finished_run, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    one_line_failure(["run", str(finished_run / "c.toml"), "--out", str(busy), "--quiet"], "--out")
    assert (busy / "notes.txt").read_text() == "mine" and sorted(os.listdir(busy)) == ["notes.txt"]
    one_line_failure(
        ["run", str(finished_run / "c.toml"), "--out", str(finished_run / "done"), "--quiet"],
        "already holds a run",
    )


def test_cli_out_below_a_file_is_one_line(finished_run, tmp_path):
    (tmp_path / "plain").write_text("x")
    one_line_failure(
        ["run", str(finished_run / "c.toml"), "--out", str(tmp_path / "plain" / "sub"), "--quiet"], "--out"
    )


@pytest.mark.parametrize(
    "content, needle",
    [
        ('{"networks": []}', "networks"),
        ('{"networks": [{"network": {"kind": "layered"}}]}', "layers"),
        (
            '{"networks": [{"network": {"kind": "circuit", "inputs": [0, 1, 2, 3], '
            '"gates": "x", "outputs": [4]}}]}',
            "gates",
        ),
        ("[1, 2", "JSON"),
    ],
)
def test_cli_malformed_best_json_is_one_line(tmp_path, capsys, content, needle):
    path = tmp_path / "best.json"
    path.write_text(content)
    one_line_failure_here(capsys, ["score", str(path), "--shuffles", "2", "--no-qm"], needle)


def test_cli_plot_of_a_damaged_log_is_one_line(finished_run, tmp_path):
    import shutil

    run = tmp_path / "damaged"
    shutil.copytree(finished_run / "done", run)
    (run / "log.csv").write_text("gen,goal,best\n0,and,not-a-number\n")
    one_line_failure(["plot", str(run)], "log.csv")


BAD_PLANS = [
    '{"format": 1, "runs": "x"}',
    '{"format": 1, "runs": [5]}',
    '{"format": 1, "runs": [{"treatment": "PA"}]}',
    "[]",
]


@pytest.mark.parametrize("plan", BAD_PLANS)
def test_cli_report_of_a_malformed_sweep_plan_is_one_line(tmp_path, capsys, plan):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "sweep.json").write_text(plan)
    one_line_failure_here(capsys, ["report", str(tmp_path / "sweep")])


@pytest.mark.parametrize("plan", BAD_PLANS)
def test_cli_adapt_of_a_malformed_sweep_plan_is_one_line(tmp_path, capsys, plan):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "sweep.json").write_text(plan)
    one_line_failure_here(
        capsys, ["adapt", str(tmp_path / "sweep"), "--to", "or", "--out", str(tmp_path / "out")]
    )


def test_cli_plot_out_below_a_file_is_one_line(finished_run, tmp_path):
    (tmp_path / "plain").write_text("x")
    one_line_failure(["plot", str(finished_run / "done"), "--out", str(tmp_path / "plain" / "run.png")])
