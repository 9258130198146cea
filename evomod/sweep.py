"""Sweeps: every treatment × every seed, one run directory each.

A sweep file (TOML)::

    seeds = 10                      # or a list: [1, 2, 3]
    base = "../clune2013/pa.toml"   # relative to this file; or a [base] table
    quick = {generations = 500, seeds = 3}   # applied with --quick (seeds too)

    [treatments.PA.selection]
    treatment = "PA"
    [treatments."P&CC".selection]
    treatment = "P&CC"

    [dask]                          # optional: run on a dask.distributed cluster
    scheduler = "tcp://host:8786"

A ``[base]`` table may name a file too (``file = "pa.toml"``); the table's
other keys then override that file. Overrides merge deeply: a treatment that
sets ``selection.treatment`` keeps the base's other ``selection`` fields.

Runs go to ``OUT/NAME/seed_S/``. Each task is one run and decides for itself
what to do: a finished run is left alone, an interrupted one is resumed from
its checkpoint, a missing one is started. A run's randomness comes only from
its config and seed, so the results do not depend on how many workers ran
the sweep, in what order, or how often it was killed and restarted.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from evomod import config as config_mod
from evomod.errors import ConfigError, EvomodError, FileError
from evomod.progress import progress_bar
from evomod.rundir import run_status

SWEEP_KEYS = ("seeds", "base", "treatments", "quick", "dask")
PLAN_FILE = "sweep.json"
# A scheduler that does not answer fails the sweep within seconds, before
# anything is written (check_scheduler), and dask's own connect gives up soon after.
CONNECT_TIMEOUT = "5s"
PROBE_SECONDS = 3.0
MAX_WORKERS = 4096
# A treatment name becomes a directory name, and report tables show it.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.&+=@-]*$")


@dataclass(frozen=True)
class PlannedRun:
    treatment: str
    seed: int
    path: Path
    config: Any  # evomod.config.Config

    @property
    def relpath(self) -> str:
        return f"{self.treatment}/seed_{self.seed}"


@dataclass
class Plan:
    out: Path
    seeds: tuple[int, ...]
    treatments: tuple[str, ...]
    runs: list[PlannedRun]
    quick: bool = False
    source: str | None = None
    scheduler: str | None = None

    def to_json(self) -> dict:
        return {
            "format": 1,
            "sweep": self.source,
            "quick": self.quick,
            "seeds": list(self.seeds),
            "treatments": list(self.treatments),
            "runs": [
                {"treatment": r.treatment, "seed": r.seed, "dir": r.relpath, "config": r.config.to_dict()}
                for r in self.runs
            ],
        }


# -- reading a sweep -----------------------------------------------------------


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``; tables merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _seeds(value) -> tuple[int, ...]:
    if value is None:
        raise ConfigError("seeds", "missing: give a list of seeds or a count (seeds = 10 means 1..10)")
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError("seeds", f"a count of {value} seeds", ">= 1")
        return tuple(range(1, value + 1))
    if not isinstance(value, list) or not value:
        raise ConfigError("seeds", f"must be a non-empty list of seeds or a count, got {value!r}")
    for s in value:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ConfigError("seeds", f"{s!r} is not a seed", "integers >= 0")
    if len(set(value)) != len(value):
        raise ConfigError("seeds", f"{value} repeats a seed (two runs would share a directory)")
    return tuple(value)


def _base(value, root: Path) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):
        return config_mod.read_toml(root / value, "base")
    if not isinstance(value, dict):
        raise ConfigError("base", f"must be a config file name or a table, got {value!r}")
    inline = dict(value)
    file = inline.pop("file", None)
    if file is None:
        return inline
    if not isinstance(file, str):
        raise ConfigError("base.file", f"must be a file name, got {file!r}")
    return deep_merge(config_mod.read_toml(root / file, "base.file"), inline)


def expand(raw: dict, out, root: Path | None = None, quick: bool = False, source: str | None = None) -> Plan:
    """Validate a parsed sweep and expand it into one planned run per treatment and seed.

    Every config is validated here, so a bad field stops the sweep before any
    run starts. ``root`` is where a relative ``base`` file is looked up.
    """
    if not isinstance(raw, dict):
        raise ConfigError("sweep", "must be a table")
    for key in raw:
        if key not in SWEEP_KEYS:
            raise ConfigError(key, "unknown sweep field", SWEEP_KEYS)
    root = Path(root) if root is not None else Path.cwd()
    out = Path(out).absolute()
    seeds = _seeds(raw.get("seeds"))
    base = _base(raw.get("base"), root)
    treatments = raw.get("treatments")
    if not isinstance(treatments, dict) or not treatments:
        raise ConfigError(
            "treatments",
            "missing: add at least one [treatments.NAME] table (it may be empty to run the base as it is)",
        )
    overrides_quick = raw.get("quick") or {}
    if not isinstance(overrides_quick, dict):
        raise ConfigError("quick", f"must be a table of config overrides, got {overrides_quick!r}")
    if quick and not overrides_quick:
        raise ConfigError("--quick", "the sweep file has no quick = {...} overrides")
    # quick may also shrink the seed list; everything else in it is config.
    overrides_quick = dict(overrides_quick)
    quick_seeds = overrides_quick.pop("seeds", None)
    if quick and quick_seeds is not None:
        seeds = _seeds(quick_seeds)
    scheduler = None
    if "dask" in raw:
        dask = raw["dask"]
        if not isinstance(dask, dict):
            raise ConfigError("dask", f"must be a table, got {dask!r}")
        for key in dask:
            if key != "scheduler":
                raise ConfigError(f"dask.{key}", "unknown field", ["scheduler"])
        scheduler = dask.get("scheduler")
        if scheduler is not None and not isinstance(scheduler, str):
            raise ConfigError("dask.scheduler", f"must be an address string, got {scheduler!r}")

    configs = {}
    for name, over in treatments.items():
        if not _NAME.match(name):
            raise ConfigError(
                f"treatments.{name}",
                "a treatment name becomes a directory name",
                "letters, digits and _ . & + = @ - (not first)",
            )
        if not isinstance(over, dict):
            raise ConfigError(f"treatments.{name}", f"must be a table of config overrides, got {over!r}")
        if "seed" in over:
            raise ConfigError(f"treatments.{name}.seed", "the sweep's seeds set every run's seed")
        merged = deep_merge(base, over)
        if quick:
            merged = deep_merge(merged, overrides_quick)
        configs[name] = merged

    runs = []
    # Seed-major order: a sweep stopped half-way has every treatment at the first seeds.
    for seed in seeds:
        for name, merged in configs.items():
            try:
                cfg = config_mod.from_dict(merged, seed=seed)
            except EvomodError as err:
                raise err.renamed(f"treatments.{name}.{err.field}") from None
            runs.append(PlannedRun(name, seed, out / name / f"seed_{seed}", cfg))
    return Plan(out, seeds, tuple(configs), runs, quick, source, scheduler)


def plan_sweep(path, out, quick: bool = False) -> Plan:
    path = Path(path)
    raw = config_mod.read_toml(path, "sweep")
    return expand(raw, out, root=path.parent, quick=quick, source=str(path))


# -- one run -------------------------------------------------------------------


def run_one(path: str, config: dict) -> dict:
    """The task: finish the run in ``path`` whatever state it is in.

    ``runs.start`` and ``runs.resume`` take the run directory's writer lock
    (and only then delete a killed writer's temporaries), so a run still
    being written by an orphaned worker or another sweep is refused, not
    written twice.
    """
    from evomod import runs
    from evomod.rundir import read_best

    path = Path(path)
    status = run_status(path)
    if status == "finished":
        best = read_best(path / "best.json")
        return {
            "dir": str(path),
            "status": "skipped",
            "generation": best["generation"],
            "first_solved": best["first_solved"],
        }
    if status == "interrupted":
        state = runs.resume(path, quiet=True)
    else:
        state = runs.start(config_mod.from_dict(config), path, quiet=True)
    return {
        "dir": str(path),
        "status": "resumed" if status == "interrupted" else "started",
        "generation": state.generation,
        "first_solved": dict(state.first_solved),
    }


# -- executing tasks -------------------------------------------------------------


@dataclass
class Job:
    key: str
    args: tuple


@dataclass
class Outcome:
    key: str
    result: Any = None
    error: str | None = None


def check_workers(workers) -> None:
    """Refuse a worker count below 1 (None: one per CPU)."""
    if workers is None:
        return
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ConfigError("--workers", f"{workers!r} workers", f"an integer >= 1 and <= {MAX_WORKERS}")


def check_scheduler(address) -> None:
    """Refuse, within seconds, a TCP scheduler address where nothing listens."""
    import socket
    from urllib.parse import urlsplit

    if not isinstance(address, str) or not address:
        raise ConfigError("--scheduler", f"must be an address, got {address!r}", "e.g. tcp://host:8786")
    if "://" not in address:
        address_url = f"tcp://{address}"
    elif address.startswith("tcp://"):
        address_url = address
    else:
        return  # tls://, inproc://, ...: left to dask's own (bounded) connect
    try:
        parts = urlsplit(address_url)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise ConfigError(
            "--scheduler",
            f"{address!r} is not a scheduler address",
            "tcp://host:port, e.g. tcp://127.0.0.1:8786",
        )
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS):
            pass
    except OSError as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise ConfigError(
            "--scheduler",
            f"nothing answers at {address} ({reason})",
            "the address of a running dask scheduler",
        ) from None


def _connect(address: str):
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError("--scheduler", "needs dask.distributed (pip install 'evomod[dask]')") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError("--scheduler", f"cannot connect to {address}: {err}") from None
    except MemoryError:  # something answered, but not with dask's handshake
        raise ConfigError("--scheduler", f"{address} does not answer as a dask scheduler") from None


def execute(
    fn: Callable,
    jobs: Sequence[Job],
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    unit: str = "run",
    done_before: int = 0,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run ``fn(*job.args)`` for every job and return the outcomes in job order.

    In this process when ``workers == 1``; in a local process pool otherwise;
    on a dask.distributed cluster when ``scheduler`` is an address (``fn``
    must then be importable by the cluster's workers). A failing job does not
    stop the others: its traceback is kept in ``Outcome.error``.
    ``progress=None`` shows a bar only on a terminal outside CI.
    """
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ConfigError("--workers", f"{workers} workers", ">= 1")
    outcomes: dict[str, Outcome] = {}
    bar = progress_bar(done_before + len(jobs), done_before, unit, progress)

    def finish(outcome: Outcome) -> None:
        outcomes[outcome.key] = outcome
        bar.update(1)
        if on_done is not None:
            on_done(outcome)

    try:
        if not jobs:
            pass
        elif scheduler:
            _execute_dask(fn, jobs, scheduler, finish)
        elif workers == 1:
            for job in jobs:
                finish(_outcome(job.key, lambda: _guarded(fn, *job.args)))
        else:
            _execute_pool(fn, jobs, workers, finish)
    finally:
        bar.close()
    return [outcomes[job.key] for job in jobs]


def _error_text(err: BaseException) -> str:
    """A refusal (EvomodError) as its one line; anything else as a traceback."""
    if isinstance(err, EvomodError):
        return f"{err}\n"
    return "".join(traceback.format_exception(err))


def _guarded(fn, *args):
    """``("ok", fn(*args))`` or ``("error", text)``.

    Errors travel back from a worker as text: an exception object may not
    survive pickling (ConfigError's constructor takes two arguments, so an
    unpickled one would break the pool's result queue).
    """
    try:
        return "ok", fn(*args)
    except Exception as err:
        return "error", _error_text(err)


def _outcome(key: str, result: Callable[[], tuple]) -> Outcome:
    """The outcome of job ``key`` from ``result()``, a ``_guarded`` pair
    (however it travelled back); a ``result`` that itself fails (a pool
    worker died, the cluster lost the task) is that job's error."""
    try:
        kind, value = result()
    except Exception:
        return Outcome(key, error=traceback.format_exc())
    return Outcome(key, value) if kind == "ok" else Outcome(key, error=value)


# How often a pool worker checks that the sweep that started it still lives
# (where the parent-death signal is not available).
PARENT_POLL_SECONDS = 0.5


def _die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker as soon as the sweep process dies.

    A worker orphaned by ``kill -9`` of the sweep would go on writing run
    directories while a rerun resumes them. On Linux the kernel sends
    SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); elsewhere, and as
    a backstop, a daemon thread polls ``os.getppid()``.
    """
    import signal
    import threading

    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    # The parent may have died before the signal was armed.
    if os.getppid() != parent:
        os._exit(1)
    if armed:
        return

    def watch():
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="evomod-parent-watch", daemon=True).start()


def _execute_pool(fn, jobs, workers, finish) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: numba and tqdm may hold threads in this process.
    context = multiprocessing.get_context("spawn")
    # Workers are spawned by this (the submitting) thread, which outlives the
    # pool, so the parent-death signal fires only when the process dies.
    with ProcessPoolExecutor(
        max_workers=min(workers, len(jobs)),
        mp_context=context,
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {pool.submit(_guarded, fn, *job.args): job.key for job in jobs}
        for future in as_completed(futures):
            finish(_outcome(futures[future], future.result))


def _execute_dask(fn, jobs, address, finish) -> None:
    import uuid

    from dask.distributed import as_completed

    client = _connect(address)
    # A fresh token per sweep: the scheduler may still remember an earlier
    # sweep's finished task under the same key and hand back its old result.
    token = uuid.uuid4().hex[:12]
    try:
        # pure=False: a task is an action on a directory, never a cached value.
        futures = {
            client.submit(_guarded, fn, *job.args, pure=False, key=f"evomod-{job.key}-{token}"): job.key
            for job in jobs
        }
        for future in as_completed(list(futures)):
            finish(_outcome(futures[future], future.result))
    finally:
        client.close()


# -- a whole sweep -------------------------------------------------------------


def _check_existing(plan: Plan) -> None:
    """A run directory left by another sweep must not be resumed as this one's."""
    from evomod.rundir import read_json

    out = Path(plan.out)
    if out.exists() and not out.is_dir():
        raise FileError("--out", f"{out} is an existing file, not a directory")
    if out.is_dir() and not (out / "sweep.json").exists():
        # Not a sweep directory (yet): only this plan's treatment folders may be there.
        from evomod.atomic import TEMPORARY
        from evomod.rundir import LOCK_FILE

        treatments = {run.path.parent.name for run in plan.runs} | {LOCK_FILE}
        foreign = sorted(n for n in os.listdir(out) if n not in treatments and not TEMPORARY.match(n))
        if foreign:
            listed = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise FileError(
                "--out",
                f"{out} is not empty and is not an evomod sweep (it holds {listed}); "
                "give a new or empty directory",
            )
    for run in plan.runs:
        saved = run.path / "config.json"
        if saved.exists():
            planned = json.loads(json.dumps(run.config.to_dict()))
            if read_json(saved, "config.json") != planned:
                raise FileError(
                    "--out",
                    f"{run.path} holds a run with a different config "
                    "(another sweep, or --quick changed); choose another --out",
                )


@dataclass
class SweepResult:
    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)
    already_finished: int = 0

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]


def run_plan(
    plan: Plan, workers: int | None = None, scheduler: str | None = None, progress: bool | None = None
) -> SweepResult:
    from evomod.rundir import WriterLock, write_json

    # Argument checks first: a refusal writes nothing.
    check_workers(workers)
    if (scheduler or plan.scheduler) and any(run_status(r.path) != "finished" for r in plan.runs):
        check_scheduler(scheduler or plan.scheduler)
    _check_existing(plan)
    try:
        plan.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FileError("--out", f"cannot create {plan.out}: {err.strerror or err}") from None
    # One sweep process per sweep directory (each run also locks its own).
    with WriterLock(plan.out, "--out", "evomod sweep"):
        for tmp in plan.out.glob(f".{PLAN_FILE}.*.tmp"):
            tmp.unlink(missing_ok=True)
        write_json(plan.out / PLAN_FILE, plan.to_json())
        pending = [r for r in plan.runs if run_status(r.path) != "finished"]
        jobs = [Job(r.relpath, (str(r.path), r.config.to_dict())) for r in pending]
        outcomes = execute(
            run_one,
            jobs,
            workers=workers,
            scheduler=scheduler or plan.scheduler,
            progress=progress,
            unit="run",
            done_before=len(plan.runs) - len(pending),
        )
    return SweepResult(plan, outcomes, len(plan.runs) - len(pending))


def run_sweep(
    path,
    out,
    workers: int | None = None,
    scheduler: str | None = None,
    quick: bool = False,
    progress: bool | None = None,
) -> SweepResult:
    """Plan the sweep in ``path`` into ``out`` and bring every run to its end."""
    return run_plan(
        plan_sweep(path, out, quick=quick), workers=workers, scheduler=scheduler, progress=progress
    )
