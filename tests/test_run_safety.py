"""Run directories are safe: no pickle, one writer, checked resumes, honest modes.

Issue 8's "Security" and "Data" sections: checkpoints are arrays plus JSON and
a crafted pickle is never loaded; two processes never write one directory and
a killed sweep leaves no worker behind; ``--out`` never clobbers someone
else's files; killed writers' temporaries are cleaned; resume refuses a
changed config or a damaged checkpoint; files get the umask's mode.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import pickle
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from deap import creator, tools

from evomod import checkpoint, cli, rundir, runs, sweep
from evomod.atomic import TEMPORARY, atomic_write, current_umask, stale_temporaries
from evomod.errors import FileError
from evomod.evolve import Evolution, State

ROOT = Path(__file__).resolve().parents[1]


# -- helpers -------------------------------------------------------------------


class Interrupt(Exception):
    pass


def interrupt_at(generation):
    def hook(evolution, state):
        if state.generation == generation:
            raise Interrupt

    return hook


def interrupted_run(tmp_path, small_config, name="cut", at=15, **overrides):
    """A run killed after its checkpoint at generation 10 (of 30)."""
    out = tmp_path / name
    with pytest.raises(Interrupt):
        runs.start(small_config(**overrides), out, quiet=True, hooks=[interrupt_at(at)])
    assert json.loads((out / "checkpoint.json").read_text())["generation"] == 10
    return out


def run_files(directory):
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(Path(directory).rglob("*"))
        if p.is_file()
    }


def same_result(a, b):
    def log(d):
        return [{k: v for k, v in row.items() if k != "elapsed"} for row in rundir.read_log(d)]

    assert log(a) == log(b)
    with np.load(a / "population.npz") as pa, np.load(b / "population.npz") as pb:
        assert pa.files == pb.files
        for key in pa.files:
            assert np.array_equal(pa[key], pb[key]), key
    assert json.loads((a / "best.json").read_text()) == json.loads((b / "best.json").read_text())


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def make_payload(marker: Path) -> bytes:
    """A pickle that creates ``marker`` when it is unpickled."""

    class Exploit:
        def __reduce__(self):
            return exec, (f"open({str(marker)!r}, 'w').write('pwned')",)

    return pickle.dumps(Exploit())


# -- the checkpoint format ------------------------------------------------------


def _timeless(rows):
    return [{k: v for k, v in row.items() if k != "elapsed"} for row in rows]


def assert_same_state(a: State, b: State, timed: bool = True):
    """Field by field; ``timed=False`` skips the wall-clock (elapsed) values."""
    assert [f.name for f in dataclasses.fields(a)] == [f.name for f in dataclasses.fields(b)]
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "elapsed" and not timed:
            continue
        if f.name == "genomes":
            assert list(x) == list(y)
            for k in x:
                assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]), k
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), f.name
        elif isinstance(x, tools.Logbook):
            assert type(y) is tools.Logbook and x.header == y.header
            assert list(x) == list(y) if timed else _timeless(x) == _timeless(y)
        elif isinstance(x, tools.HallOfFame):
            assert x.maxsize == y.maxsize and x.similar is y.similar and len(x) == len(y)
            for p, q in zip(x, y):
                assert type(p) is type(q) is creator.EvomodNetwork
                assert p.fitness.values == q.fitness.values and p.fitness.wvalues == q.fitness.wvalues
                assert list(p) == list(q) and all(
                    np.array_equal(p[k], q[k]) and p[k].dtype == q[k].dtype for k in p
                )
            assert [k.values for k in x.keys] == [k.values for k in y.keys]
        else:
            assert type(x) is type(y) and x == y, f.name


def test_state_round_trips_through_npz_and_json(tmp_path, small_config):
    config = small_config(generations=12)
    evolution = Evolution(config)
    state = evolution.run(evolution.initial_state(), 12)
    saved = rundir.saved_config(config)
    checkpoint.save(tmp_path, state, saved)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "checkpoint.npz"]
    doc = json.loads((tmp_path / "checkpoint.json").read_text())
    assert doc["format"] == "evomod-checkpoint" and doc["version"] == checkpoint.VERSION
    assert doc["config_sha256"] == checkpoint.config_hash(saved)
    import hashlib

    assert doc["arrays_sha256"] == hashlib.sha256((tmp_path / "checkpoint.npz").read_bytes()).hexdigest()
    # Plain arrays: readable with pickle disabled.
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
    back = checkpoint.load(tmp_path, saved, State)
    assert_same_state(state, back)
    # Both continue identically.
    e1, e2 = Evolution(config), Evolution(config)
    e1.run(state, 20)
    e2.run(back, 20)
    assert_same_state(state, back, timed=False)


@dataclasses.dataclass
class Everything:
    """Every supported value type, as a State may come to hold."""

    n: int
    x: float
    nan: float
    inf: float
    text: str
    flag: bool
    nothing: None
    raw: bytes
    pair: tuple
    nested: list
    table: dict
    int_keys: dict
    dunder_keys: dict
    scalars: list
    arrays: dict
    rng: dict
    stdlib: tuple
    book: tools.Logbook
    hof: tools.HallOfFame
    extra: int = 5


def test_generic_value_types_round_trip(tmp_path):
    import random

    from evomod.evolve import _same_genome

    book = tools.Logbook()
    book.header = ["gen", "best"]
    book.record(gen=0, best=0.5, goal="and", size={"max": 3, "mean": 1.5})
    book.record(gen=1, best=np.float64(0.75), goal="or", size={"max": 4, "mean": 2.0})
    hof = tools.HallOfFame(3, similar=_same_genome)
    for i, fit in enumerate([(0.5, 2.0), (0.9, 1.0), (0.9, 1.0), (0.1, 0.0)]):
        ind = creator.EvomodNetwork({"w": np.full(4, i, dtype=np.int8), "b": np.arange(3.0) + i})
        ind.fitness.values = fit
        hof.update([ind])
    value = Everything(
        n=2**80,
        x=0.1 + 0.2,
        nan=float("nan"),
        inf=-math.inf,
        text="P&CC é",
        flag=True,
        nothing=None,
        raw=b"\x00\xffpatterns",
        pair=("and", None, (1, 2.5)),
        nested=[[1, "a"], {"k": [1.5]}],
        table={"and": 3, "or": 7},
        int_keys={1: "a", 2: "b"},
        dunder_keys={"__array__": "not a tag"},
        scalars=[np.float32(1.25), np.int64(-3), np.bool_(True), np.uint8(255), np.complex128(1 + 2j)],
        arrays={
            "f": np.linspace(0, 1, 7),
            "i": np.arange(12, dtype=np.int16).reshape(3, 4),
            "b": np.array([True, False]),
            "empty": np.zeros((0, 3)),
            "fortran": np.asfortranarray(np.eye(3)),
        },
        rng=np.random.default_rng(5).bit_generator.state,
        stdlib=random.Random(3).getstate(),
        book=book,
        hof=hof,
    )
    checkpoint.save(tmp_path, value, {"seed": 1})
    back = checkpoint.load(tmp_path, {"seed": 1}, Everything)
    for f in dataclasses.fields(Everything):
        a, b = getattr(value, f.name), getattr(back, f.name)
        if f.name == "nan":
            assert math.isnan(b)
        elif f.name == "arrays":
            assert list(a) == list(b)
            for k in a:
                assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k])
        elif f.name == "scalars":
            assert [type(s) for s in a] == [type(s) for s in b] and a == b
        elif f.name == "book":
            assert list(a) == list(b) and a.header == b.header
            assert list(a.chapters["size"]) == list(b.chapters["size"])
            assert type(b[1]["best"]) is np.float64
        elif f.name == "hof":
            assert [ind.fitness.values for ind in a] == [ind.fitness.values for ind in b]
            assert all(np.array_equal(p["w"], q["w"]) for p, q in zip(a, b))
            assert b.similar is _same_genome and b.maxsize == 3
        else:
            assert type(a) is type(b) and a == b, f.name
    random.Random().setstate(back.stdlib)  # a tuple again, as setstate needs
    np.random.default_rng().bit_generator.state = back.rng


def test_unstorable_values_are_refused_when_saving(tmp_path):
    @dataclasses.dataclass
    class Bad:
        things: set

    with pytest.raises(TypeError, match="things"):
        checkpoint.save(tmp_path, Bad({1}), {})

    @dataclasses.dataclass
    class Objects:
        arr: np.ndarray

    with pytest.raises(TypeError, match="arr"):
        checkpoint.save(tmp_path, Objects(np.array([{}, 1], dtype=object)), {})
    assert not (tmp_path / "checkpoint.json").exists()


# -- crafted pickles are never loaded --------------------------------------------


def test_the_payload_really_would_write_a_file(tmp_path):
    marker = tmp_path / "pwned"
    pickle.loads(make_payload(marker))  # the test's own payload, in its own directory
    assert marker.read_text() == "pwned"


def test_resume_never_unpickles_a_legacy_checkpoint(tmp_path, small_config, capsys):
    marker = tmp_path / "pwned"
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(small_config().to_dict()))
    (out / "checkpoint.pkl").write_bytes(make_payload(marker))
    before = run_files(out)
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    one_line_error(capsys, "checkpoint.pkl", "legacy pickle", "not loaded for safety")
    assert not marker.exists()
    assert run_files(out) == before
    # A new run is not started over it either.
    cfg = tmp_path / "c.toml"
    cfg.write_text("generations = 3\npopulation = 10\n")
    assert cli.main(["run", str(cfg), "--out", str(out), "--quiet"]) == 2
    one_line_error(capsys, "already holds a run")
    assert not marker.exists() and run_files(out) == before


def test_a_pickle_next_to_a_real_checkpoint_is_ignored(tmp_path, small_config):
    marker = tmp_path / "pwned"
    out = interrupted_run(tmp_path, small_config)
    (out / "checkpoint.pkl").write_bytes(make_payload(marker))
    runs.resume(out, quiet=True)
    runs.start(small_config(), tmp_path / "whole", quiet=True)
    same_result(tmp_path / "whole", out)
    assert not marker.exists()


SWEEP = """\
seeds = [1, 2]
[base]
generations = 10
population = 20
checkpoint_every = 2
log_modularity_every = 0
[treatments.PA.selection]
treatment = "PA"
[treatments.PCC.selection]
treatment = "P&CC"
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_sweep_rerun_never_unpickles(tmp_path, capsys, workers):
    marker = tmp_path / "pwned"
    (tmp_path / "sweep.toml").write_text(SWEEP)
    plan = sweep.plan_sweep(tmp_path / "sweep.toml", tmp_path / "out")
    for run in plan.runs:  # what an attacker with write access could leave
        run.path.mkdir(parents=True)
        (run.path / "config.json").write_text(json.dumps(run.config.to_dict(), indent=1))
        (run.path / "checkpoint.pkl").write_bytes(make_payload(marker))
    result = sweep.run_sweep(tmp_path / "sweep.toml", tmp_path / "out", workers=workers, progress=False)
    assert len(result.failed) == len(plan.runs)
    for outcome in result.failed:
        assert "legacy pickle" in outcome.error and outcome.error.count("\n") == 1, outcome.error
    assert not marker.exists()
    # The command line too, as someone rerunning the sweep would.
    with pytest.raises(SystemExit) as exit_:
        cli.main(
            ["sweep", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "out"), "--workers", str(workers)]
        )
    assert exit_.value.code == 1
    assert "legacy pickle" in capsys.readouterr().err
    assert not marker.exists()


# -- resume checks the config and the arrays -------------------------------------


@pytest.mark.parametrize(
    "change, named",
    [
        ({"population": 30}, "population (60 in the checkpoint, 30 in config.json)"),
        ({"seed": 8}, "seed"),
        ({"selection": {"treatment": "PA"}}, "selection.treatment"),
    ],
)
def test_resume_refuses_a_changed_config(tmp_path, small_config, capsys, change, named):
    out = interrupted_run(tmp_path, small_config)
    saved = json.loads((out / "config.json").read_text())
    for key, value in change.items():
        if isinstance(value, dict):
            saved[key].update(value)
        else:
            saved[key] = value
    (out / "config.json").write_text(json.dumps(saved, indent=1))
    before = run_files(out)
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    line = one_line_error(capsys, "checkpoint.json", "config hash differs", named)
    assert str(out) in line
    assert run_files(out) == before


def flip_bit(path: Path, offset: int, bit: int = 0):
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def test_resume_refuses_one_flipped_bit_in_the_genome_arrays(tmp_path, small_config, capsys):
    out = interrupted_run(tmp_path, small_config)
    npz = out / "checkpoint.npz"
    with np.load(npz) as data:
        genome_keys = [k for k in data.files if data[k].size]
    # Flip a bit inside the first stored array's data, not only the zip headers.
    import zipfile

    with zipfile.ZipFile(npz) as zf:
        info = zf.getinfo(genome_keys[0] + ".npy")
    flip_bit(npz, info.header_offset + 30 + len(info.filename) + len(info.extra) + 128 + 3, bit=5)
    before = run_files(out)
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    one_line_error(capsys, "checkpoint.npz", "checksum")
    assert run_files(out) == before


def damage(kind: str, path: Path):
    text = path.read_bytes()
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(text[: len(text) // 2])
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(len(text)))
    elif kind == "latin1":
        path.write_bytes(b"\xe9" + text)
    elif kind == "not a checkpoint":
        path.write_text('{"hello": 1}')
    elif kind == "a list":
        path.write_text("[1, 2]")
    elif kind == "version":
        doc = json.loads(text)
        doc["version"] = 99
        path.write_text(json.dumps(doc))
    elif kind == "state edited":
        doc = json.loads(text)
        doc["state"]["generation"] = 11
        path.write_text(json.dumps(doc))
    elif kind == "hash removed":
        doc = json.loads(text)
        del doc["arrays_sha256"]
        path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "kind, needle",
    [
        ("empty", "is empty"),
        ("truncated", "truncated or damaged"),
        ("random", "truncated or damaged"),
        ("latin1", "not UTF-8"),
        ("not a checkpoint", "not an evomod checkpoint"),
        ("a list", "not an evomod checkpoint"),
        ("version", "format version 99"),
        ("state edited", "checksum"),
        ("hash removed", "lacks 'arrays_sha256'"),
    ],
)
def test_resume_refuses_a_damaged_checkpoint_json(tmp_path, small_config, capsys, kind, needle):
    out = interrupted_run(tmp_path, small_config)
    damage(kind, out / "checkpoint.json")
    before = run_files(out)
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    one_line_error(capsys, "checkpoint.json", needle)
    assert run_files(out) == before


@pytest.mark.parametrize("kind", ["empty", "truncated", "random", "missing"])
def test_resume_refuses_a_damaged_checkpoint_npz(tmp_path, small_config, capsys, kind):
    out = interrupted_run(tmp_path, small_config)
    if kind == "missing":
        (out / "checkpoint.npz").unlink()
    else:
        damage(kind, out / "checkpoint.npz")
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    one_line_error(capsys, "checkpoint.npz", "missing" if kind == "missing" else "checksum")


def test_a_kill_at_any_step_of_a_checkpoint_write_stays_resumable(tmp_path, small_config, monkeypatch):
    runs.start(small_config(), tmp_path / "whole", quiet=True)
    real_write, real_replace = rundir.atomic_write, os.replace

    def killed_at(step):
        calls = {"n": 0}

        def write(path, data):
            # The second checkpoint (generation 20): die at the given step.
            if Path(path).name == checkpoint.NEXT_ARRAYS_FILE:
                calls["n"] += 1
            if calls["n"] == 2 and step == "after arrays" and Path(path).name == checkpoint.JSON_FILE:
                raise Interrupt
            real_write(path, data)

        def replace(src, dst):
            if calls["n"] == 2 and step == "after json" and Path(dst).name == checkpoint.ARRAYS_FILE:
                raise Interrupt
            real_replace(src, dst)

        return write, replace

    for step, generation in [("after arrays", 10), ("after json", 20)]:
        out = tmp_path / step.replace(" ", "_")
        write, replace = killed_at(step)
        monkeypatch.setattr(rundir, "atomic_write", write)
        monkeypatch.setattr(checkpoint.os, "replace", replace)
        with pytest.raises(Interrupt):
            runs.start(small_config(), out, quiet=True)
        monkeypatch.undo()
        assert json.loads((out / "checkpoint.json").read_text())["generation"] == generation
        assert (out / checkpoint.NEXT_ARRAYS_FILE).exists()
        (out / ".evomod.lock").unlink(missing_ok=True)  # as a SIGKILL would leave it, or not
        runs.resume(out, quiet=True)
        same_result(tmp_path / "whole", out)


# -- one writer per directory -----------------------------------------------------

HOLDER = textwrap.dedent("""\
    import sys, time
    from evomod.rundir import WriterLock
    lock = WriterLock(sys.argv[1], "x", "test holder").acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


@pytest.fixture
def holder():
    procs = []

    def hold(directory):
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(directory)], stdout=subprocess.PIPE, text=True
        )
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_live_writer_is_never_joined(tmp_path, small_config, capsys, holder, monkeypatch):
    monkeypatch.setattr(rundir, "LOCK_GRACE_SECONDS", 0.2)
    out = interrupted_run(tmp_path, small_config)
    proc = holder(out)
    before = run_files(out)
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    one_line_error(capsys, f"pid {proc.pid}", "being written by another process")
    assert run_files(out) == before
    # A new run into a directory another process is starting is refused too.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    holder(fresh)
    with pytest.raises(FileError, match="being written by another process"):
        runs.start(small_config(), fresh, quiet=True)
    assert not (fresh / "config.json").exists()
    # ... and a sweep's task.
    with pytest.raises(FileError, match="being written"):
        sweep.run_one(str(out), small_config().to_dict())


def test_a_stale_lock_is_taken_over(tmp_path, small_config):
    out = interrupted_run(tmp_path, small_config)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()
    import socket

    (out / ".evomod.lock").write_text(json.dumps({"pid": int(dead), "host": socket.gethostname()}))
    runs.resume(out, quiet=True)
    assert not (out / ".evomod.lock").exists()
    runs.start(small_config(), tmp_path / "whole", quiet=True)
    same_result(tmp_path / "whole", out)


def test_without_flock_the_lock_falls_back_to_the_pid(tmp_path, small_config, monkeypatch, holder):
    import fcntl
    import socket

    def no_flock(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    out = interrupted_run(tmp_path, small_config, name="a")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".evomod.lock").write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname()}))
        with pytest.raises(FileError, match=f"pid {sleeper.pid}"):
            runs.resume(out, quiet=True)
        (out / ".evomod.lock").write_text(json.dumps({"pid": sleeper.pid, "host": "elsewhere"}))
        with pytest.raises(FileError, match="on elsewhere"):
            runs.resume(out, quiet=True)
    finally:
        sleeper.kill()
        sleeper.wait()
    (out / ".evomod.lock").write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname()}))
    runs.resume(out, quiet=True)
    assert rundir.read_log(out)[-1]["gen"] == 29


def test_a_pool_worker_dies_at_once_without_its_parent():
    code = "from evomod.sweep import _die_with_parent; _die_with_parent(1); print('still here')"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1 and "still here" not in done.stdout


def _session_processes(sid: int) -> list[str]:
    """Live (non-zombie) processes of session ``sid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] not in "ZX":
            found.append(f"{entry} {text.split(' ', 2)[1]} {fields[0]}")
    return found


def _snapshot(directory: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in directory.rglob("*") if p.is_file()}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_kill_9_of_a_sweep_parent_leaves_no_process_writing(tmp_path):
    # Long enough that the kill lands mid-run, short enough to rerun.
    (tmp_path / "sweep.toml").write_text(
        SWEEP.replace("generations = 10", "generations = 200").replace("population = 20", "population = 40")
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evomod.cli",
            "sweep",
            str(tmp_path / "sweep.toml"),
            "--out",
            str(out),
            "--workers",
            "2",
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(out.glob("*/*/checkpoint.json"))) < 2:
            assert proc.poll() is None, "the sweep ended before its workers checkpointed"
            assert time.monotonic() < deadline, "no checkpoints within 60 s"
            time.sleep(0.01)
        assert len(_session_processes(proc.pid)) >= 3  # the sweep and its two workers
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as `kill -9 PID` does
        proc.wait()
        deadline = time.monotonic() + 5
        while _session_processes(proc.pid):
            assert time.monotonic() < deadline, f"still running: {_session_processes(proc.pid)}"
            time.sleep(0.05)
        before = _snapshot(out)
        time.sleep(1.5)
        assert _snapshot(out) == before, "run directories changed after the sweep was killed"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    # A rerun finishes every run, and cleans what the killed workers left.
    result = sweep.run_sweep(tmp_path / "sweep.toml", out, workers=2, progress=False)
    assert not result.failed, result.failed[0].error
    assert "resumed" in {o.result["status"] for o in result.outcomes}
    assert not [p for d in out.glob("*/*") for p in stale_temporaries(d)]
    assert all(sweep.run_status(out / r.relpath) == "finished" for r in result.plan.runs)


def test_two_sweeps_never_share_a_directory(tmp_path, holder, monkeypatch):
    monkeypatch.setattr(rundir, "LOCK_GRACE_SECONDS", 0.2)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    (tmp_path / "out").mkdir()
    proc = holder(tmp_path / "out")
    with pytest.raises(FileError, match=f"pid {proc.pid}"):
        sweep.run_sweep(tmp_path / "sweep.toml", tmp_path / "out", workers=1, progress=False)
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / ".evomod.lock"]


# -- --out and read-only directories ------------------------------------------------


@pytest.fixture
def toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("generations = 6\npopulation = 20\ncheckpoint_every = 2\nlog_modularity_every = 0\n")
    return path


def test_out_naming_a_file_is_one_line(tmp_path, toml, capsys):
    target = tmp_path / "results.txt"
    target.write_text("mine")
    assert cli.main(["run", str(toml), "--out", str(target), "--quiet"]) == 2
    one_line_error(capsys, "--out", str(target), "existing file")
    assert target.read_text() == "mine"
    assert cli.main(["resume", str(target), "--quiet"]) == 2
    one_line_error(capsys, "not a run directory")


def test_out_naming_someone_elses_directory_is_refused(tmp_path, toml, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "log.csv").write_text("my,own\n1,2\n")
    (mine / "notes.txt").write_text("keep")
    for i in range(6):
        (mine / f"data{i}.dat").write_text("x")
    before = run_files(mine)
    assert cli.main(["run", str(toml), "--out", str(mine), "--quiet"]) == 2
    line = one_line_error(capsys, "--out", "not empty and is not an evomod run", "data0.dat", "more")
    assert "log.csv" not in line  # log.csv is a run's own name; the others show it is not a run
    assert run_files(mine) == before and not (mine / ".evomod.lock").exists()
    # Only a log.csv, the very case of the issue: still not a run.
    only = tmp_path / "only"
    only.mkdir()
    (only / "log.csv").write_text("my,own\n")
    assert cli.main(["run", str(toml), "--out", str(only), "--quiet"]) == 2
    one_line_error(capsys, "log.csv")
    assert (only / "log.csv").read_text() == "my,own\n"


def test_a_run_killed_before_its_first_checkpoint_is_started_again(tmp_path, toml, small_config):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(small_config().to_dict()))
    (out / ".evomod.lock").write_text("{}")
    (out / ".config.json.abc123_x.tmp").write_text("half")
    assert cli.main(["run", str(toml), "--out", str(out), "--quiet"]) == 0
    assert len(rundir.read_log(out)) == 6 and not stale_temporaries(out)


def _read_only(monkeypatch, directory: Path):
    """Make ``directory`` read-only; as root (who ignores modes) refuse writes by hand."""
    directory.chmod(0o555)
    if os.geteuid() != 0:
        return
    real_open, real_mkdir = os.open, os.mkdir
    inside = str(directory.resolve())

    def blocked(path):
        return os.path.abspath(os.fspath(path)).startswith(inside + os.sep)

    def open_(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and blocked(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if blocked(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)
    monkeypatch.setattr(os, "mkdir", mkdir)


def test_read_only_directories_are_one_line(tmp_path, toml, small_config, capsys, monkeypatch):
    out = interrupted_run(tmp_path, small_config)
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "empty").mkdir()
    try:
        _read_only(monkeypatch, ro)
        (ro / "empty").chmod(0o555)
        assert cli.main(["run", str(toml), "--out", str(ro / "new"), "--quiet"]) == 2
        one_line_error(capsys, "--out", "cannot create", "Permission denied")
        assert cli.main(["run", str(toml), "--out", str(ro / "empty"), "--quiet"]) == 2
        one_line_error(capsys, "--out", "cannot write in", "Permission denied")
        monkeypatch.undo()
        _read_only(monkeypatch, out)
        out.chmod(0o555)
        before = run_files(out)
        assert cli.main(["resume", str(out), "--quiet"]) == 2
        one_line_error(capsys, "run", "cannot write in", "Permission denied")
        assert run_files(out) == before
    finally:
        monkeypatch.undo()
        for d in (ro / "empty", ro, out):
            d.chmod(0o755)


# -- stale temporaries ---------------------------------------------------------------


def test_resume_removes_its_own_stale_temporaries_only(tmp_path, small_config):
    out = interrupted_run(tmp_path, small_config)
    stale = [".checkpoint.npz.k2j4_9xq.tmp", ".log.csv.abcdefgh.tmp", ".checkpoint.pkl.0a1b2c3d.tmp"]
    kept = ["notes.tmp", ".hidden", ".tmp", "..tmp", ".a.tmp"]
    for name in stale + kept:
        (out / name).write_text("x")
    (out / ".dir.abcdefgh.tmp").mkdir()  # not a file: left alone
    assert [TEMPORARY.match(n) is not None for n in stale + kept] == [True] * 3 + [False] * 5
    runs.resume(out, quiet=True)
    names = {p.name for p in out.iterdir()}
    assert not names & set(stale)
    assert set(kept) <= names and ".dir.abcdefgh.tmp" in names


def test_atomic_write_temporaries_match_the_cleanup_pattern(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append(Path(src).name)
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write(tmp_path / "f.json", "{}")
    assert len(seen) == 1 and TEMPORARY.match(seen[0]) and seen[0].startswith(".f.json.")


# -- modes ------------------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_the_umasks_mode(tmp_path, small_config, umask, mode):
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        out = tmp_path / "run"
        runs.start(small_config(generations=12), out, quiet=True)
        assert cli.main(["plot", str(out)]) == 0
        assert cli.main(["plot", str(out), "--out", str(tmp_path / "fig.png")]) == 0
        files = [p for p in out.iterdir() if p.is_file()] + [tmp_path / "fig.png"]
        assert {
            "config.json",
            "log.csv",
            "best.json",
            "population.npz",
            "checkpoint.json",
            "checkpoint.npz",
            "run.png",
        } <= {p.name for p in files}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == mode, path
        assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    finally:
        os.umask(old)


# -- planted files ------------------------------------------------------------------


def test_a_symlink_planted_as_the_lock_is_not_followed(tmp_path, small_config, capsys):
    out = interrupted_run(tmp_path, small_config)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / ".evomod.lock").symlink_to(victim)
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    one_line_error(capsys, ".evomod.lock", "symbolic link")
    assert victim.read_text() == "precious"


def test_a_checkpoint_that_is_not_a_regular_file_is_refused(tmp_path, small_config, capsys):
    out = interrupted_run(tmp_path, small_config)
    (out / "checkpoint.json").unlink()
    (out / "checkpoint.json").symlink_to("/dev/zero")
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    one_line_error(capsys, "checkpoint.json", "not a regular file")


def test_a_config_json_that_is_not_utf8_is_one_line(tmp_path, small_config, capsys):
    out = interrupted_run(tmp_path, small_config)
    (out / "config.json").write_bytes((out / "config.json").read_text().encode("utf-16"))
    assert cli.main(["resume", str(out), "--quiet"]) == 2
    one_line_error(capsys, "config.json", "not UTF-8")


def test_sweep_refuses_a_foreign_non_empty_directory(tmp_path, capsys):
    from evomod.cli import main

    sweep = tmp_path / "s.toml"
    sweep.write_text(
        "seeds = 1\nbase = {generations = 2, population = 8, log_modularity_every = 0}\n"
        '[treatments.PA.selection]\ntreatment = "PA"\n',
        encoding="utf-8",
    )
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my own file", encoding="utf-8")
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "notes.txt" in err[0] and "--out" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "my own file"
