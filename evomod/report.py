"""``evomod report DIR``: a sweep's treatments compared, as Clune et al. (2013) do.

Per treatment and measure: the median over seeds with a 95 % percentile
bootstrap CI (10,000 resamples, fixed seed, so a report is reproducible),
and per pair of treatments a two-sided Mann–Whitney U test, its p-value
Holm-adjusted over the measure's pairs, and the rank-biserial effect size.

Measures, from each finished run:

* ``q``: the last logged Q (``log.csv`` column ``q``); a run that logged no Q
  gets it computed from the best network in ``best.json`` with the run's own
  ``modularity_directed`` / ``modularity_method``;
* Kashtan & Alon's Qm of the best network in ``best.json``, measured as the
  paper does (:func:`evomod.baselines.paper_qm`), when the baseline
  directory (``--baselines``, filled by ``evomod baseline``) exists:
  ``q_rand`` (mean best Q of ``--qm-samples`` degree-preserving
  randomisations of that network), ``q_rand_size`` (random genomes of the
  run's model pruning to the same node count), ``q_max`` (the evolved Q_max
  cached for the run's settings), ``q_max_degree`` (the degree-constrained
  maximum, a check), ``qm`` (with the degree-preserving Q_rand, the paper's
  default) and ``qm_size`` (with the size-matched one). Per-network results
  are cached in the same directory. Without the directory, ``qm`` is the
  last logged Qm if runs log one. Runs that stopped at steady state
  (``stop_when = "steady"``, Kashtan & Alon's MVG) are measured on the
  networks that met the rule, one per goal: ``qm@GOAL`` each, and the Qm
  columns above their mean;
* ``ncut``: the n-cut logged with (or computed with) that Q; networks with no
  edges have none and are left out;
* ``information_flow``: the information-flow modularity of the final best
  network in ``best.json`` (:mod:`evomod.modularity.infoflow`, flip
  interventions, exact search up to 15 nodes); none for feedback circuits;
* ``neutrality``: the probability that a single mutation of that network
  keeps it perfect on the goal its run ended on
  (:func:`evomod.analysis.broadness`); none when it is not perfect there;
* ``performance``: ``best`` of the last log row;
* ``connections``: ``connections`` of the last log row;
* ``solve_GOAL`` (and ``solve_all_goals`` for schedules of several goals):
  the generation at which the goal was first solved (``best.json``
  ``first_solved``), and ``solve_steady`` for runs stopped at steady state
  (``best.json`` ``steady_at``). Unsolved runs are right-censored: they count as +inf, so
  ranks and medians stay correct, and ``solved`` says how many solved. A
  median that is infinite means fewer than half the runs solved.

Files written into DIR: ``report.csv``, ``tests.csv``, ``REPORT.md`` and
``figures/`` (see :mod:`evomod.report_plots`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from evomod.errors import FileError

RESAMPLES = 10_000
LEVEL = 0.95
BOOTSTRAP_SEED = 0
QM_MEASURES = ("qm", "qm_size", "q_rand", "q_rand_size", "q_max", "q_max_degree")
BASE_MEASURES = (
    ("q",) + QM_MEASURES + ("ncut", "information_flow", "neutrality", "performance", "connections")
)
LABELS = {
    "q": "Q",
    "qm": "Qm",
    "qm_size": "Qm (size-matched Q_rand)",
    "q_rand": "Q_rand (degree-preserving)",
    "q_rand_size": "Q_rand (size-matched genomes)",
    "q_max": "Q_max (evolved)",
    "q_max_degree": "Q_max (degree-constrained)",
    "ncut": "n-cut",
    "information_flow": "information-flow modularity",
    "neutrality": "neutrality",
    "performance": "performance",
    "connections": "connections",
}
QM_SAMPLES = 1000
# Stands in for +inf (a censored time) inside the bootstrap: finite, so
# interpolating between it and a real value never yields nan, and so large
# that any result it touches lands far above every real value.
_CENSORED = 1e300


# -- statistics ------------------------------------------------------------------


def _as_finite(values) -> tuple[np.ndarray, bool]:
    x = np.asarray(values, dtype=float).ravel()
    if np.isnan(x).any():
        raise ValueError("values contain nan; drop missing values first")
    censored = bool(np.isinf(x).any())
    if (x == -np.inf).any():
        raise ValueError("-inf is not a censored time")
    return np.where(np.isinf(x), _CENSORED, x), censored


def _restore(value: float) -> float:
    return math.inf if value > _CENSORED / 1e10 else float(value)


def bootstrap_median_ci(
    values, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, float]:
    """``(median, ci_low, ci_high)``: the sample median and its percentile bootstrap CI.

    ``scipy.stats.bootstrap`` draws ``resamples`` resamples from ``seed``;
    the interval is the 2.5th and 97.5th percentile (for ``level`` 0.95) of
    their medians, read with numpy's interpolation, which returns a constant
    sample's value exactly (scipy's own interval is one ulp below it there).
    ``+inf`` marks a right-censored value (e.g. a run that never solved): it
    sorts above every real value, and a median or bound that depends on it
    is ``inf``. No values give nans; one value is its own CI (every
    resample is that value; scipy asks for two).
    """
    from scipy.stats import bootstrap

    x, _ = _as_finite(values)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    median = _restore(np.median(x))
    if len(x) == 1:
        return median, median, median
    # The stand-ins for +inf overflow scipy's standard error, which is not used.
    with np.errstate(over="ignore", invalid="ignore"):
        result = bootstrap(
            (x,),
            np.median,
            n_resamples=resamples,
            confidence_level=level,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(result.bootstrap_distribution, [tail, 100 - tail])
    return median, _restore(low), _restore(high)


def mann_whitney(a, b) -> tuple[float, float]:
    """Two-sided Mann–Whitney U: ``(U of a, p)``; ``+inf`` values (censored) tie at the top."""
    from scipy.stats import mannwhitneyu

    x, _ = _as_finite(a)
    y, _ = _as_finite(b)
    if len(x) == 0 or len(y) == 0:
        return math.nan, math.nan
    result = mannwhitneyu(x, y, alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


# -- collecting runs -------------------------------------------------------------


@dataclass
class RunSummary:
    treatment: str
    seed: int | None
    path: Path
    config: object
    log: list[dict]
    best: dict
    values: dict[str, float] = field(default_factory=dict)


def _last(rows, column):
    for row in reversed(rows):
        value = row.get(column)
        if isinstance(value, float):
            return value
    return None


def run_entries(directory) -> list[tuple[str, int | None, Path]]:
    """``(treatment, seed, run dir)`` of every planned run of a sweep directory.

    From ``sweep.json`` when there is one; otherwise every ``TREATMENT/RUN/``
    below ``directory`` that holds a ``config.json``.
    """
    from evomod.rundir import read_json, read_plan
    from evomod.sweep import PLAN_FILE

    directory = Path(directory)
    if not directory.is_dir():
        raise FileError("DIR", f"{directory} is not a directory")
    plan = directory / PLAN_FILE
    if plan.exists():
        data = read_plan(plan)
        return [(r["treatment"], r.get("seed"), directory / r["dir"]) for r in data["runs"]]
    entries = []
    for saved in sorted(directory.glob("*/*/config.json")):
        run = saved.parent
        saved_config = read_json(saved, "config.json")
        seed = saved_config.get("seed") if isinstance(saved_config, dict) else None
        entries.append((run.parent.name, seed, run))
    if not entries:
        raise FileError("DIR", f"{directory} holds no sweep.json and no TREATMENT/RUN/config.json")
    return entries


def schedule_goals(config) -> tuple[str, ...]:
    from evomod.build import build_parts

    return build_parts(config).schedule.distinct_goals()


def qm_values(network: dict, config, baselines, samples: int = QM_SAMPLES) -> dict:
    """The Qm columns of one network under its run's ``config`` (see the module docstring)."""
    from evomod.baselines import paper_qm

    r = paper_qm(network, config, cache_dir=baselines, n_samples=samples, seed=0)
    return {
        "qm": r["qm"],
        "qm_size": r["qm_size"],
        "q_rand": r["q_rand_degree"],
        "q_rand_size": r["q_rand_size"],
        "q_max": r["q_max"],
        "q_max_degree": r["q_max_degree"],
    }


def final_network(best: dict) -> dict | None:
    """The final population's best network (what the last logged Q
    measures), or for older best.json files the hall of fame's best."""
    if best.get("final"):
        return best["final"]["network"]
    return best["networks"][0]["network"] if best.get("networks") else None


def information_flow_of(best: dict, cfg) -> float | None:
    """Information-flow modularity of the run's final best network (None
    without one, or for a circuit with feedback loops, where it is undefined)."""
    from evomod.errors import ConfigError
    from evomod.modularity.infoflow import information_flow_modularity

    network = final_network(best)
    if network is None:
        return None
    try:
        result = information_flow_modularity(network, lam=getattr(cfg.model, "lam", 20.0))
    except ConfigError:
        return None
    return float(result.score)


def neutrality_of(best: dict, cfg) -> float | None:
    """Neutrality (``evomod.analysis.broadness``) of the final best network
    on the goal its run ended on; None when it is not perfect there."""
    from evomod.analysis import broadness

    network = final_network(best)
    if network is None or "goal" not in best:
        return None
    # Neutrality comes from the enumeration alone: one sample path will do.
    result = broadness(network, cfg, goal=best["goal"], k_max=1, samples=1, sigmas=(0.0,))
    return result.neutrality if result.perfect else None


def summarise_run(
    treatment, seed, path, goals=None, baselines=None, qm_samples: int = QM_SAMPLES
) -> RunSummary:
    """Final measures of one finished run (see the module docstring)."""
    from evomod import config as config_mod
    from evomod.rundir import read_best, read_json, read_log

    cfg = config_mod.from_dict(read_json(path / "config.json", "config.json"))
    log = read_log(path)
    best = read_best(path / "best.json")
    run = RunSummary(treatment, seed, Path(path), cfg, log, best)
    values = run.values
    q = _last(log, "q")
    ncut = _last(log, "ncut")
    if q is None and best.get("networks"):
        from evomod.modularity.tracking import measure_network

        measured = measure_network(
            best["networks"][0]["network"], cfg.modularity_directed, cfg.modularity_method
        )
        q, ncut = measured["q"], measured["ncut"]
    values["q"] = q
    values["qm"] = _last(log, "qm")
    if baselines is not None and Path(baselines).is_dir():
        steady = best.get("steady_networks") if cfg.stop_when == "steady" else None
        if steady:
            # Measured where the steady-state rule first held: one network per
            # goal; the run's figure is their mean, each goal's its own column.
            per_goal = [
                (entry["goal"], qm_values(entry["network"], cfg, baselines, qm_samples)) for entry in steady
            ]
            for name in QM_MEASURES:
                known = [m[name] for _, m in per_goal if m[name] is not None]
                values[name] = float(np.mean(known)) if known else None
            for goal, measured in per_goal:
                values[f"qm@{goal}"] = measured["qm"]
        elif best.get("networks"):
            values.update(qm_values(best["networks"][0]["network"], cfg, baselines, qm_samples))
    values["ncut"] = ncut
    values["information_flow"] = information_flow_of(best, cfg)
    values["neutrality"] = neutrality_of(best, cfg)
    values["performance"] = log[-1]["best"] if log else None
    values["connections"] = log[-1]["connections"] if log else None
    goals = schedule_goals(cfg) if goals is None else goals
    solved = best.get("first_solved", {})
    for goal in goals:
        values[f"solve_{goal}"] = float(solved[goal]) if goal in solved else math.inf
    if len(goals) > 1:
        values["solve_all_goals"] = (
            float(max(solved[g] for g in goals)) if all(g in solved for g in goals) else math.inf
        )
        if cfg.stop_when == "steady":
            steady_at = best.get("steady_at")
            values["solve_steady"] = math.inf if steady_at is None else float(steady_at)
    for key, value in values.items():
        if value is not None and math.isnan(value):
            values[key] = None
    return run


@dataclass
class Collected:
    directory: Path
    treatments: list[str]
    runs: dict[str, list[RunSummary]]
    unfinished: dict[str, list[Path]]
    measures: list[str]


def collect(directory, baselines=None, qm_samples: int = QM_SAMPLES) -> Collected:
    """Every finished run of the sweep in ``directory``, summarised; unfinished ones listed."""
    from evomod import config as config_mod
    from evomod.rundir import read_json

    directory = Path(directory)
    entries = run_entries(directory)
    treatments = list(dict.fromkeys(t for t, _, _ in entries))
    runs = {t: [] for t in treatments}
    unfinished = {t: [] for t in treatments}
    goals_of: dict[str, tuple] = {}
    for treatment, seed, path in entries:
        if not (path / "best.json").exists():
            unfinished[treatment].append(path)
            continue
        if treatment not in goals_of:
            cfg = config_mod.from_dict(read_json(path / "config.json", "config.json"))
            goals_of[treatment] = schedule_goals(cfg)
        runs[treatment].append(
            summarise_run(treatment, seed, path, goals_of[treatment], baselines, qm_samples)
        )
    measures = []
    for name in BASE_MEASURES:
        if any(r.values.get(name) is not None for rs in runs.values() for r in rs):
            measures.append(name)
    for rs in runs.values():
        for r in rs:
            for name in r.values:
                if name.startswith("qm@") and name not in measures:
                    measures.append(name)
    for rs in runs.values():
        for r in rs:
            for name in r.values:
                if (
                    name.startswith("solve_")
                    and name not in ("solve_all_goals", "solve_steady")
                    and name not in measures
                ):
                    measures.append(name)
    for name in ("solve_all_goals", "solve_steady"):
        if any(name in r.values for rs in runs.values() for r in rs):
            measures.append(name)
    return Collected(directory, treatments, runs, unfinished, measures)


def measure_values(collected: Collected, treatment: str, measure: str) -> list[float]:
    return [r.values[measure] for r in collected.runs[treatment] if r.values.get(measure) is not None]


def label(measure: str) -> str:
    if measure == "solve_all_goals":
        return "generations to solve all goals"
    if measure == "solve_steady":
        return "generations to steady state (best perfect at the end of consecutive epochs)"
    if measure.startswith("qm@"):
        return f"Qm of the steady-state {measure[3:]} network"
    if measure.startswith("solve_"):
        return f"generations to solve {measure[len('solve_') :]}"
    return LABELS.get(measure, measure)


# -- tables ----------------------------------------------------------------------


def summary_rows(collected: Collected, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> list[dict]:
    rows = []
    for treatment in collected.treatments:
        for measure in collected.measures:
            values = measure_values(collected, treatment, measure)
            median, low, high = bootstrap_median_ci(values, resamples=resamples, seed=seed)
            row = {
                "treatment": treatment,
                "measure": measure,
                "n": len(values),
                "median": median,
                "ci_low": low,
                "ci_high": high,
                "solved": "",
            }
            if measure.startswith("solve_"):
                row["solved"] = sum(1 for v in values if math.isfinite(v))
            rows.append(row)
    return rows


def holm(p_values) -> list[float]:
    """Holm–Bonferroni adjusted p-values (nan stays nan and counts for
    nothing): the i-th smallest of m valid p-values is multiplied by
    m - i + 1, then made non-decreasing in that order and capped at 1."""
    valid = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(valid)):
        running = max(running, min(1.0, (len(valid) - rank) * p))
        adjusted[i] = running
    return adjusted


def rank_biserial(u: float, n_a: int, n_b: int) -> float:
    """The Mann–Whitney effect size ``2 U_a / (n_a n_b) - 1`` (Cliff's
    delta): P(a > b) - P(a < b) for a random pair, in [-1, 1]."""
    if math.isnan(u) or n_a == 0 or n_b == 0:
        return math.nan
    return 2.0 * u / (n_a * n_b) - 1.0


def pairwise_rows(collected: Collected) -> list[dict]:
    """Per measure and pair of treatments: the two-sided Mann–Whitney test,
    its p-value Holm-adjusted over that measure's pairs (``p_holm``), and
    the rank-biserial effect size (positive: a tends above b)."""
    rows = []
    for measure in collected.measures:
        block = []
        for a, b in combinations(collected.treatments, 2):
            xa = measure_values(collected, a, measure)
            xb = measure_values(collected, b, measure)
            u, p = mann_whitney(xa, xb)
            block.append(
                {
                    "measure": measure,
                    "treatment_a": a,
                    "treatment_b": b,
                    "n_a": len(xa),
                    "n_b": len(xb),
                    "median_a": float(np.median(xa)) if xa else math.nan,
                    "median_b": float(np.median(xb)) if xb else math.nan,
                    "u": u,
                    "p": p,
                    "effect": rank_biserial(u, len(xa), len(xb)),
                }
            )
        for row, adjusted in zip(block, holm([row["p"] for row in block])):
            row["p_holm"] = adjusted
        rows += block
    return rows


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.{digits}g}"


def fmt_p(p: float) -> str:
    if math.isnan(p):
        return "–"
    return f"{p:.2g}"


def median_with_ci(values, digits: int = 3) -> str:
    """``"median [low, high]"`` of ``values`` (None and nan left out, +inf
    shown as ∞; ``digits = 0`` gives whole numbers with thousands commas),
    or ``"–"`` when nothing is left."""
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return "–"

    def text(x):
        return "∞" if math.isinf(x) else f"{x:.{digits}f}" if digits else f"{x:,.0f}"

    median, low, high = bootstrap_median_ci(values)
    return f"{text(median)} [{text(low)}, {text(high)}]"


def median_ci_text(row: dict) -> str:
    # An infinite median means most runs never solved: its CI says nothing more.
    median = row["median"]
    if median is None or (isinstance(median, float) and math.isinf(median)):
        return "not reached"
    return f"{fmt(row['median'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"


def markdown(
    collected: Collected,
    summary: list[dict],
    tests: list[dict],
    figures: dict[str, list[Path]],
    adaptation: list[dict] | None = None,
) -> str:
    d = collected.directory
    lines = [f"# Sweep report: {d.name}", ""]
    lines += [
        "Median over seeds [95 % percentile bootstrap CI, "
        f"{RESAMPLES:,} resamples]; pairwise two-sided Mann–Whitney U tests, Holm-adjusted, "
        "with rank-biserial effect sizes.",
        "",
    ]
    lines += ["| treatment | finished runs | unfinished |", "|---|---|---|"]
    for t in collected.treatments:
        lines.append(f"| {t} | {len(collected.runs[t])} | {len(collected.unfinished[t])} |")
    lines.append("")
    by_key = {(r["treatment"], r["measure"]): r for r in summary}
    lines += ["## Final values", ""]
    header = "| treatment | " + " | ".join(label(m) for m in collected.measures) + " |"
    lines += [header, "|---|" + "---|" * len(collected.measures)]
    for t in collected.treatments:
        cells = []
        for m in collected.measures:
            r = by_key[(t, m)]
            if r["n"] == 0:
                cells.append("–")
                continue
            cell = median_ci_text(r)
            if m.startswith("solve_"):
                cell += f" (solved {r['solved']}/{r['n']})"
            cells.append(cell)
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    lines.append("")
    if tests:
        lines += [
            "## Pairwise tests",
            "",
            "p (Holm): adjusted over each measure's pairs of treatments; effect: rank-biserial "
            "correlation, P(a > b) - P(a < b).",
            "",
            "| measure | treatments | medians | U | p | p (Holm) | effect |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in tests:
            lines.append(
                f"| {label(r['measure'])} | {r['treatment_a']} vs {r['treatment_b']} | "
                f"{fmt(r['median_a'])} vs {fmt(r['median_b'])} | {fmt(r['u'])} | {fmt_p(r['p'])} | "
                f"{fmt_p(r['p_holm'])} | {fmt(r['effect'], 2)} |"
            )
        lines.append("")
    if adaptation:
        lines += [
            "## Adaptation (generations to a perfect network after the goal change)",
            "",
            "| treatment | change | n | solved | median [95 % CI] |",
            "|---|---|---|---|---|",
        ]
        for r in adaptation:
            lines.append(
                f"| {r['treatment']} | {r['goal_a']} → {r['goal_b']} | {r['n']} | {r['solved']} | "
                f"{median_ci_text(r)} |"
            )
        lines.append("")
    if figures:
        lines += ["## Figures", ""]
        for title, paths in figures.items():
            png = [p for p in paths if p.suffix == ".png"]
            if png:
                lines += [f"![{title}]({png[0].relative_to(d).as_posix()})", ""]
    return "\n".join(lines)


# -- the whole report ------------------------------------------------------------


def best_run(runs: list[RunSummary]) -> RunSummary | None:
    """The run whose best network performs best (cheaper, then earlier, on ties)."""
    candidates = [r for r in runs if r.best.get("networks")]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda r: (
            -r.best["networks"][0]["performance"],
            r.best["networks"][0]["cost"],
            r.seed if r.seed is not None else 0,
        ),
    )


def find_adaptation(directory: Path, extra=()) -> list[Path]:
    found = [Path(p) / "adapt.json" if Path(p).is_dir() else Path(p) for p in extra]
    for p in found:
        if not p.exists():
            raise FileError("--adapt", f"{p} does not exist (expected an `evomod adapt` output)")
    found += [p for p in sorted(directory.glob("*/adapt.json")) if p not in found]
    return found


def write_report(
    directory,
    adapt=(),
    resamples: int = RESAMPLES,
    figures: bool = True,
    baselines=None,
    qm_samples: int = QM_SAMPLES,
) -> dict[str, Path]:
    """Write report.csv, tests.csv, REPORT.md and figures/ into the sweep ``directory``."""
    from evomod.atomic import atomic_write
    from evomod.rundir import csv_text, read_json

    directory = Path(directory)
    collected = collect(directory, baselines, qm_samples)
    if not any(collected.runs.values()):
        raise FileError("DIR", f"{directory} has no finished runs yet")
    summary = summary_rows(collected, resamples=resamples)
    tests = pairwise_rows(collected)
    adaptation_results, adaptation_summary = [], []
    for path in find_adaptation(directory, adapt):
        data = read_json(path, "adapt.json")
        if not (
            isinstance(data, dict)
            and isinstance(data.get("results", []), list)
            and isinstance(data.get("summary", []), list)
        ):
            raise FileError(
                "adapt.json",
                f"{path} has no lists of results and summary: it is "
                "damaged, or not evomod adapt's adapt.json",
            )
        adaptation_results += data.get("results", [])
        adaptation_summary += data.get("summary", [])
    drawn: dict[str, list[Path]] = {}
    if figures:
        drawn = draw_figures(collected, adaptation_results)
    atomic_write(
        directory / "report.csv",
        csv_text(summary, ["treatment", "measure", "n", "median", "ci_low", "ci_high", "solved"]),
    )
    atomic_write(
        directory / "tests.csv",
        csv_text(
            tests,
            [
                "measure",
                "treatment_a",
                "treatment_b",
                "n_a",
                "n_b",
                "median_a",
                "median_b",
                "u",
                "p",
                "p_holm",
                "effect",
            ],
        ),
    )
    atomic_write(directory / "REPORT.md", markdown(collected, summary, tests, drawn, adaptation_summary))
    return {
        "report": directory / "report.csv",
        "tests": directory / "tests.csv",
        "markdown": directory / "REPORT.md",
        "figures": directory / "figures",
    }


def draw_figures(collected: Collected, adaptation_results=()) -> dict[str, list[Path]]:
    from evomod import report_plots as rp

    out = collected.directory / "figures"
    logs = {t: [r.log for r in collected.runs[t]] for t in collected.treatments if collected.runs[t]}
    drawn = {}
    if "q" in collected.measures and any(_last(rows, "q") is not None for ls in logs.values() for rows in ls):
        drawn["Q over generations"] = rp.plot_over_generations(
            logs, "q", "Q of the best network", out / "q_over_generations"
        )
    drawn["performance over generations"] = rp.plot_over_generations(
        logs, "best", "performance of the best network", out / "performance_over_generations"
    )
    if "q" in collected.measures:
        finals = {t: measure_values(collected, t, "q") for t in collected.treatments}
        drawn["final Q"] = rp.plot_distribution(finals, "final Q", out / "final_q")
    for t in collected.treatments:
        run = best_run(collected.runs[t])
        if run is None:
            continue
        entry = run.best["networks"][0]
        title = f"{t}: best network (seed {run.seed}, performance {entry['performance']:.3g})"
        drawn[f"best network, {t}"] = rp.plot_network(
            entry["network"],
            out / f"network_{rp.safe_name(t)}",
            title=title,
            directed=run.config.modularity_directed,
            method=run.config.modularity_method,
        )
    if adaptation_results:
        drawn["adaptation"] = rp.plot_adaptation(adaptation_results, out / "adaptation")
    return drawn
