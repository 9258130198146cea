"""Driving a run: start one in a new directory, or resume one from its checkpoint.

``start`` and ``resume`` take the directory's writer lock, delete the
temporaries a killed writer left, and run the loop, checkpointing every
``checkpoint_every`` generations (``evomod.rundir`` does the files).
Resuming (like sferes2's ``--resume``) loads the config and the last
checkpoint, checks that they still belong together, and continues; the
result is bit-identical to a run that was never interrupted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evomod import config as config_mod
from evomod.atomic import remove_stale_temporaries
from evomod.errors import FileError
from evomod.evolve import Evolution, State
from evomod.progress import progress_bar
from evomod.rundir import RunDirectory, WriterLock, check_new_out, read_json, saved_config


def best_networks(evolution: Evolution, state: State) -> dict:
    """The hall of fame: ``fitness`` (what selection maximised, under the goal
    of the generation it entered) and ``performance`` on the run's last goal."""
    model = evolution.parts.model
    goal = state.logbook[-1]["goal"] if state.logbook else evolution.parts.schedule.goal(0)
    entries = []
    for network in state.hall_of_fame:
        genome = {k: np.asarray(v)[None] for k, v in network.items()}
        fitness = network.fitness.values[0]
        cost = float(evolution.parts.cost(model, genome)[0])
        performance = float(evolution.evaluate(genome, goal, None)[0])
        entries.append(
            {
                "fitness": fitness,
                "performance": performance,
                "cost": cost,
                "network": model.to_json(genome, 0),
            }
        )
    final = evolution.best_index(state)
    return {
        "generation": state.generation,
        "goal": goal,
        "first_solved": dict(state.first_solved),
        "steady_at": state.steady_at,
        "steady_networks": state.steady_networks,
        # The final population's best (what Clune et al. analyse and adapt).
        "final": {
            "performance": float(state.performance[final]),
            "cost": float(state.cost[final]),
            "network": model.to_json(state.genomes, final),
        },
        "networks": entries,
    }


def _drive(evolution: Evolution, state: State, directory: RunDirectory, quiet: bool, hooks=()) -> State:
    cfg = evolution.config
    bar = progress_bar(cfg.generations, state.generation, "gen", enabled=False if quiet else None)

    def checkpoint(evo, st):
        bar.update(1)
        if st.generation % cfg.checkpoint_every == 0 and st.generation < cfg.generations:
            directory.save_checkpoint(evo, st)

    try:
        state = evolution.run(state, cfg.generations, on_generation=(checkpoint, *hooks))
    finally:
        bar.close()
    directory.save_results(evolution, state, best_networks(evolution, state))
    return state


def make_measure(config):
    """The per-generation modularity measurement of the best network."""
    if config.log_modularity_every == 0:
        return None
    from evomod.modularity.tracking import log_measure

    return log_measure(config)


def start(config, out, quiet: bool = False, hooks=()) -> State:
    path = check_new_out(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FileError("--out", f"cannot create {out}: {err.strerror or err}") from None
    with WriterLock(path, "--out", "evomod run"):
        # Checked again under the lock: another process may have started here.
        check_new_out(out)
        remove_stale_temporaries(path)
        directory = RunDirectory(path, saved_config(config))
        directory.write_config()
        evolution = Evolution(config, measure=make_measure(config))
        state = evolution.initial_state()
        return _drive(evolution, state, directory, quiet, hooks)


def resume(out, quiet: bool = False, hooks=()) -> State:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise FileError("run", f"{out} is a file, not a run directory")
    saved = read_json(path / "config.json", "config.json")
    config = config_mod.from_dict(saved)
    with WriterLock(path, "run", "evomod resume"):
        remove_stale_temporaries(path)
        directory = RunDirectory(path, saved)
        state = directory.load_checkpoint(State)
        evolution = Evolution(config, measure=make_measure(config))
        return _drive(evolution, state, directory, quiet, hooks)
