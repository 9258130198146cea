"""``evomod adapt``: how fast does an evolved network re-adapt to a new goal?

Clune, Mouret & Lipson (2013) clone a run's perfect network into a whole
population, switch the goal (L AND R -> L OR R and back) and count the
generations until some individual is perfect again, giving up at 5,000.
Kashtan, Noor & Alon (2007) compare such times between fixed and modularly
varying goals as a speedup ``S = T_FG / T_MVG`` (:func:`speedup`).

For each run directory: the best network of its final population
(``best.json`` ``final``, or ranked from ``population.npz``; ``--network
hall`` takes the hall of fame's ``networks[0]``, the best ever seen) must
be perfect on goal A (the goal the run ended on, or ``--from``); networks that
are not are skipped and listed. ``--from none`` drops that requirement:
every run's network adapts, whatever it was perfect on (for schedules whose
final population is rarely perfect, so that the networks compared are not
only the few that happened to be). The adaptation evolves under a fixed goal B
with the run's own config otherwise (model, treatment, cost, selection, seed),
``generations = --cap`` and ``stop_when = "current_goal"``. A network already
perfect on B needs 0 generations. "Perfect" is judged on every input pattern
even when the run's selection samples patterns. Modularity is not logged
during adaptation (nothing here uses it and it would dominate the time).

With ``--population``, an elitist run's elite keeps its fraction of the
population (Kashtan & Alon's 300 of 1,000 becomes 18 of 60), so selection
pressure stays the run's own.

Writes ``OUT/adapt.json`` (every result, skipped runs, and per treatment and
goal change the median with its 95 % bootstrap CI) and ``OUT/adapt.csv``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from evomod.errors import ConfigError, FileError

# ``--from none``: no goal the network must be perfect on first.
ANY_NETWORK = "none"

CSV_COLUMNS = (
    "source",
    "treatment",
    "seed",
    "goal_a",
    "goal_b",
    "generations",
    "solved",
    "cap",
    "population",
)


def speedup(t_fixed: Sequence[float], t_mvg: Sequence[float]) -> float:
    """Kashtan, Noor & Alon's S = median(T_FG) / median(T_MVG).

    Times may contain ``inf`` for runs that never solved (the median then
    treats them as the longest). A zero MVG median gives ``inf`` (``nan``
    when both medians are zero).
    """
    fixed = np.asarray(t_fixed, dtype=float)
    mvg = np.asarray(t_mvg, dtype=float)
    if fixed.size == 0 or mvg.size == 0:
        raise ValueError("speedup needs at least one time under each condition")
    if np.isnan(fixed).any() or np.isnan(mvg).any():
        raise ValueError("times must not be nan (use inf for runs that never solved)")
    top, bottom = float(np.median(fixed)), float(np.median(mvg))
    if bottom == 0.0:
        return math.nan if top == 0.0 else math.inf
    if math.isinf(top) and math.isinf(bottom):
        return math.nan
    return top / bottom


# -- sources -------------------------------------------------------------------


def _treatment_name(run: Path, config) -> str:
    """The sweep's treatment name when the run belongs to a sweep, else the selection treatment."""
    from evomod.rundir import read_plan
    from evomod.sweep import PLAN_FILE

    sweep = run.parent.parent / PLAN_FILE
    if sweep.exists():
        try:
            plan = read_plan(sweep)
            for entry in plan.get("runs", []):
                if (run.parent.parent / entry["dir"]).resolve() == run.resolve():
                    return entry["treatment"]
        except FileError:
            pass
    return config.selection.treatment


def source_runs(paths: Sequence) -> list[Path]:
    """Run directories named on the command line; a sweep directory stands for its runs."""
    from evomod.rundir import read_plan
    from evomod.sweep import PLAN_FILE

    if not paths:
        raise FileError("RUN_DIRS", "name at least one run directory")
    found = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise FileError("RUN_DIRS", f"{path} is not a directory")
        if (path / PLAN_FILE).exists() and not (path / "config.json").exists():
            plan = read_plan(path / PLAN_FILE)
            found += [path / r["dir"] for r in plan["runs"] if (path / r["dir"] / "best.json").exists()]
            continue
        for name in ("config.json", "best.json"):
            if not (path / name).exists():
                raise FileError("RUN_DIRS", f"{path} has no {name}: not a finished run")
        found.append(path)
    if not found:
        raise FileError("RUN_DIRS", "no finished runs among " + ", ".join(map(str, paths)))
    return found


def adaptation_config(config, goal_b: str, cap: int, population: int | None = None) -> dict:
    """The run's config, turned into a fixed-goal adaptation of at most ``cap`` generations."""
    raw = config.to_dict()
    raw["generations"] = cap
    raw["stop_when"] = "current_goal"
    raw["log_modularity_every"] = 0
    raw["schedule"] = {
        "kind": "fixed",
        "goals": [goal_b],
        "period": raw["schedule"]["period"],
        "family": None,
    }
    if population is not None and population != raw["population"]:
        old = raw["population"]
        raw["population"] = population
        from evomod.registry import SELECTIONS

        # A scheme that keeps an elite keeps its fraction of the population.
        if "elite" in SELECTIONS.get(raw["selection"]["kind"]).own_fields:
            scaled = round(raw["selection"]["elite"] * population / old)
            raw["selection"]["elite"] = min(population - 1, max(1, scaled))
    return raw


# -- one adaptation ---------------------------------------------------------------


def adapt_network(config: dict, network: dict, goal_a: str, goal_b: str) -> dict:
    """Clone ``network`` into the population of ``config`` and evolve it on ``goal_b``.

    Returns ``generations`` (generations until some individual is perfect on
    ``goal_b``, or the cap), ``solved`` and the first perfect ``network``;
    or ``skipped`` with a reason when ``network`` is not perfect on ``goal_a``.
    """
    from evomod import config as config_mod
    from evomod.evolve import Evolution

    cfg = config_mod.from_dict(config)
    evolution = Evolution(cfg)
    model = evolution.parts.model
    genome = model.from_json(network)
    # goal_a "none": any network adapts, perfect on some goal or not.
    on_a = None if goal_a == ANY_NETWORK else float(evolution.evaluate(genome, goal_a, None)[0])
    if on_a is not None and on_a < 1.0:
        return {
            "skipped": f"its best network is not perfect on {goal_a} (performance {on_a:.4g})",
            "performance_a": on_a,
        }
    base = {"performance_a": on_a, "cap": cfg.generations, "population": cfg.population, "seed": cfg.seed}
    if evolution.evaluate(genome, goal_b, None)[0] >= 1.0:
        return {**base, "generations": 0, "solved": True, "network": network}
    clones = {k: np.repeat(v, cfg.population, axis=0) for k, v in genome.items()}
    state = evolution.initial_state(clones)
    found = {}
    full = cfg.sample_patterns == 0

    def perfect(evo, st):
        # Counted after each generation of selection and variation, whatever
        # row the loop's own log assigns it to.
        perf = st.performance if full else evo.evaluate(st.genomes, goal_b, None)
        # Perfect means fitness 1: performance 1 and none of the model's penalty.
        ok = (perf >= 1.0) & (st.penalty <= 0.0)
        if ok.any() and "generation" not in found:
            i = int(np.argmax(ok))
            found["generation"] = st.generation
            found["network"] = model.to_json(st.genomes, i)
            st.stopped = True

    evolution.run(state, cfg.generations, on_generation=(perfect,))
    if found:
        return {**base, "generations": found["generation"], "solved": True, "network": found["network"]}
    return {**base, "generations": cfg.generations, "solved": False, "network": None}


def _task(source: str, treatment: str, config: dict, network: dict, goal_a: str, goal_b: str) -> dict:
    result = adapt_network(config, network, goal_a, goal_b)
    return {"source": source, "treatment": treatment, "goal_a": goal_a, "goal_b": goal_b, **result}


# -- summaries and files -----------------------------------------------------------


def summarise(results: list[dict]) -> list[dict]:
    """Per treatment and goal change: n, solved and the median [95 % CI]; censored runs count as +inf."""
    from evomod.report import bootstrap_median_ci

    groups: dict[tuple, list[float]] = {}
    for r in results:
        if "skipped" in r:
            continue
        times = groups.setdefault((r["treatment"], r["goal_a"], r["goal_b"]), [])
        times.append(float(r["generations"]) if r["solved"] else math.inf)
    rows = []
    for (treatment, a, b), times in groups.items():
        median, low, high = bootstrap_median_ci(times)
        rows.append(
            {
                "treatment": treatment,
                "goal_a": a,
                "goal_b": b,
                "n": len(times),
                "solved": sum(1 for t in times if math.isfinite(t)),
                "median": median,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return rows


def _json_number(x):
    # JSON has no infinity; a censored median is written as null.
    return None if isinstance(x, float) and not math.isfinite(x) else x


def final_best_network(run: Path, cfg) -> dict:
    """The best network of a run's final population, in the exchange format:
    best by fitness, then cheapest when the cost is selected on, then first,
    as the loop ranks it (Clune et al. adapt the network a run ends with).
    ``best.json``'s hall of fame keeps the best ever seen instead, which for
    a population of neutral equals is whichever entered first."""
    from types import SimpleNamespace

    from evomod.evolve import Evolution

    with np.load(Path(run) / "population.npz", allow_pickle=False) as data:
        genomes = {k[len("genome_") :]: data[k] for k in data.files if k.startswith("genome_")}
        performance, cost = data["performance"], data["cost"]
    evolution = Evolution(cfg)
    ranked = SimpleNamespace(
        performance=performance, cost=cost, penalty=evolution.parts.model.penalty(genomes)
    )
    return evolution.parts.model.to_json(genomes, evolution.best_index(ranked))


def final_network_of(run: Path, cfg, best: dict) -> dict:
    """The final population's best network: as ``best.json`` records it, or
    ranked from ``population.npz`` for runs whose best.json predates that."""
    if best.get("final"):
        return best["final"]["network"]
    return final_best_network(run, cfg)


def run_adaptation(
    run_dirs: Sequence,
    to: str,
    out,
    cap: int = 5000,
    population: int | None = None,
    goal_from: str | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    figure: bool = True,
    network: str = "final",
) -> dict:
    """Adapt every run in ``run_dirs`` to goal ``to``; write and return ``adapt.json``'s content."""
    from evomod import config as config_mod
    from evomod.atomic import atomic_write
    from evomod.build import build_parts
    from evomod.rundir import csv_text, read_best, read_json, write_json
    from evomod.sweep import Job, execute

    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ConfigError("--cap", f"{cap!r} generations", ">= 1")
    if population is not None and (
        isinstance(population, bool) or not isinstance(population, int) or population < 2
    ):
        raise ConfigError("--population", f"{population!r}", ">= 2")
    # Everything is checked before any evolution starts.
    jobs, skipped = [], []
    for run in source_runs(run_dirs):
        cfg = config_mod.from_dict(read_json(run / "config.json", "config.json"))
        best = read_best(run / "best.json")
        if not best.get("networks"):
            skipped.append({"source": str(run), "skipped": "best.json holds no networks"})
            continue
        task = build_parts(cfg).task
        task.target(to, "--to")
        goal_a = goal_from or best.get("goal")
        if goal_a != ANY_NETWORK:
            task.target(goal_a, "--from")
        try:
            raw = adaptation_config(cfg, to, cap, population)
            config_mod.from_dict(raw)
        except ConfigError as err:
            raise err.reworded(f"{run}: {err.problem}") from None
        if network == "final" and (best.get("final") or (run / "population.npz").exists()):
            source = final_network_of(run, cfg, best)
        else:
            source = best["networks"][0]["network"]
        jobs.append(Job(str(run), (str(run), _treatment_name(run, cfg), raw, source, goal_a, to)))
    outcomes = execute(
        _task, jobs, workers=workers, scheduler=scheduler, progress=progress, unit="adaptation"
    )
    results, failures = [], []
    for outcome in outcomes:
        if outcome.error is not None:
            failures.append({"source": outcome.key, "error": outcome.error})
        elif "skipped" in outcome.result:
            skipped.append(outcome.result)
        else:
            results.append(outcome.result)
    summary = summarise(results)
    out = Path(out)
    data = {
        "to": to,
        "cap": cap,
        "population": population,
        "results": results,
        "skipped": [{"source": s["source"], "reason": s["skipped"]} for s in skipped],
        "failed": failures,
        "summary": [{k: _json_number(v) for k, v in row.items()} for row in summary],
    }
    write_json(out / "adapt.json", data)
    atomic_write(out / "adapt.csv", csv_text([r for r in results if "skipped" not in r], CSV_COLUMNS))
    if figure and results:
        from evomod.report_plots import plot_adaptation

        plot_adaptation(results, out / "adaptation")
    data["summary_exact"] = summary
    return data
