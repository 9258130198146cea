"""Run directories: atomic files, checkpoints and resume.

A run directory holds:
- ``config.json``: the fully resolved config;
- ``log.csv``: one row per generation;
- ``best.json``: the hall of fame, best first, in the JSON exchange format;
- ``population.npz``: the final population's genome arrays and scores;
- ``checkpoint.pkl``: the loop's whole state at the last checkpoint.

Every file is written to a temporary name and renamed, so a killed run never
leaves a half-written file. Resuming (like sferes2's ``--resume``) loads the
config and the last checkpoint and continues; the result is bit-identical to
a run that was never interrupted.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np

from evomod import config as config_mod
from evomod.atomic import atomic_write
from evomod.errors import ConfigError
from evomod.evolve import LOG_FIELDS, Evolution, State

CHECKPOINT = "checkpoint.pkl"


def write_json(path: Path, obj) -> None:
    atomic_write(path, json.dumps(obj, indent=1) + "\n")


def read_json(path: Path, what: str):
    try:
        return json.loads(Path(path).read_text())
    except OSError as err:
        raise ConfigError(what, f"cannot read {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(what, f"{path} is not valid JSON: {err}") from None


def log_columns(logbook) -> list[str]:
    extra = []
    for row in logbook:
        for key in row:
            if key not in LOG_FIELDS and key != "elapsed" and key not in extra:
                extra.append(key)
    return [*LOG_FIELDS, *extra, "elapsed"]


def log_csv(logbook) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=log_columns(logbook), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in logbook:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return out.getvalue()


def read_log(directory: Path) -> list[dict]:
    path = Path(directory) / "log.csv"
    if not path.exists():
        raise ConfigError("run", f"{directory} has no log.csv (is it a run directory?)")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key, value in row.items():
            if key != "goal" and value not in ("", None):
                row[key] = float(value)
    return rows


def best_networks(evolution: Evolution, state: State) -> dict:
    """The hall of fame: ``fitness`` (what selection maximised, under the goal
    of the generation it entered) and ``performance`` on the run's last goal."""
    model = evolution.parts.model
    goal = state.logbook[-1]["goal"] if state.logbook else evolution.parts.schedule.goal(0)
    entries = []
    for network in state.hall_of_fame:
        genome = {k: np.asarray(v)[None] for k, v in network.items()}
        fitness, cost = network.fitness.values
        performance = float(evolution.evaluate(genome, goal, None)[0])
        entries.append({"fitness": fitness, "performance": performance, "cost": cost,
                        "network": model.to_json(genome, 0)})
    return {"generation": state.generation, "goal": goal,
            "first_solved": dict(state.first_solved), "networks": entries}


class RunDirectory:
    def __init__(self, path):
        self.path = Path(path)

    def save_checkpoint(self, evolution: Evolution, state: State) -> None:
        evolution.snapshot(state)
        atomic_write(self.path / CHECKPOINT, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
        atomic_write(self.path / "log.csv", log_csv(state.logbook))

    def load_checkpoint(self) -> State:
        path = self.path / CHECKPOINT
        if not path.exists():
            raise ConfigError("run", f"{self.path} has no {CHECKPOINT} to resume from")
        with open(path, "rb") as handle:
            return pickle.load(handle)

    def save_results(self, evolution: Evolution, state: State) -> None:
        self.save_checkpoint(evolution, state)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, performance=state.performance, cost=state.cost,
                            **{f"genome_{k}": v for k, v in state.genomes.items()})
        atomic_write(self.path / "population.npz", buffer.getvalue())
        # Written last: best.json marks a finished run.
        write_json(self.path / "best.json", best_networks(evolution, state))


def _progress(total: int, initial: int, quiet: bool):
    from tqdm import tqdm
    disable = quiet or bool(os.environ.get("CI")) or not sys.stderr.isatty()
    return tqdm(total=total, initial=initial, disable=disable, unit="gen", dynamic_ncols=True)


def _drive(evolution: Evolution, state: State, directory: RunDirectory, quiet: bool,
           hooks=()) -> State:
    cfg = evolution.config
    bar = _progress(cfg.generations, state.generation, quiet)

    def checkpoint(evo, st):
        bar.update(1)
        if st.generation % cfg.checkpoint_every == 0 and st.generation < cfg.generations:
            directory.save_checkpoint(evo, st)

    try:
        state = evolution.run(state, cfg.generations, on_generation=(checkpoint, *hooks))
    finally:
        bar.close()
    directory.save_results(evolution, state)
    return state


def make_measure(config):
    """The per-generation modularity measurement of the best network."""
    if config.log_modularity_every == 0:
        return None
    try:
        from evomod.modularity.tracking import log_measure
    except ImportError:
        return None
    return log_measure(config)


def start(config, out, quiet: bool = False, hooks=()) -> State:
    directory = RunDirectory(out)
    if (directory.path / CHECKPOINT).exists():
        raise ConfigError("--out", f"{out} already holds a run; use `evomod resume {out}` "
                          "or choose another directory")
    directory.path.mkdir(parents=True, exist_ok=True)
    write_json(directory.path / "config.json", config.to_dict())
    evolution = Evolution(config, measure=make_measure(config))
    state = evolution.initial_state()
    return _drive(evolution, state, directory, quiet, hooks)


def resume(out, quiet: bool = False, hooks=()) -> State:
    directory = RunDirectory(out)
    config = config_mod.from_dict(read_json(directory.path / "config.json", "config.json"))
    state = directory.load_checkpoint()
    evolution = Evolution(config, measure=make_measure(config))
    return _drive(evolution, state, directory, quiet, hooks)
