"""Convergence and held-out adaptation of the goal-schedule study.

Reads the runs of ``goals.toml`` and ``goals_heldout.toml`` and the
``evomod adapt`` results on them, and prints three tables (Markdown):

0. **Final networks**: the medians of ``evomod report``'s final measures (Q,
   n-cut, information-flow modularity, neutrality, performance,
   connections) of every treatment of every sweep, side by side.
1. **Convergence.** Per run, the fraction of epoch ends (the last generation
   of each 20-generation epoch) in the second half of the run at which the
   population's best network is perfect on that epoch's goal (``best`` = 1
   in ``log.csv``; the log's ``best`` is the best performance, the penalty
   is not in it, so the fraction is an upper bound on fitness-1 epochs).
   For a fixed goal every 20th generation counts the same way.
2. **Adaptation to a goal never shown** (``--goal``, AB_0010 = A AND NOT B
   by default). ``evomod adapt`` clones a run's final best network, if it is
   perfect on the goal its run ended on, and counts the generations until a
   perfect network appears, giving up at the cap. Per treatment: how many
   runs were eligible, how many adapted within the cap, and the median
   [95 % bootstrap CI] with unsolved runs counted as +inf.

Pairs of treatments are compared with two-sided Mann–Whitney U tests,
Holm-adjusted within each table, with rank-biserial effect sizes.

The final table also gives the number of modules of the last logged Q's
partition (log.csv ``modules``), and with ``--split`` the number of runs
whose final best network puts the left and right retina inputs in
different modules (``evomod.modularity.splits``, layered networks only).
``--treatments`` keeps only the named treatments in every table, so that
studies sharing a sweep (the serial study reuses the retina goal study's
fixed-goal runs) compare only their own.

Usage: ``python experiments/open_questions/goals_summary.py --runs RUNS_DIR...
--adapt ADAPT_DIR... [--treatments NAME...] [--split]``
"""

from __future__ import annotations

import argparse
import json
import math
from itertools import combinations
from pathlib import Path

import numpy as np

from evomod.report import holm, mann_whitney, median_with_ci, rank_biserial, run_entries
from evomod.rundir import read_log

FINAL_MEASURES = ("q", "ncut", "information_flow", "neutrality", "performance", "connections")


def perfect_epoch_ends(run: Path, period: int = 20) -> float:
    rows = read_log(run)
    half = len(rows) // 2
    ends = [row for row in rows[half:] if (int(row["gen"]) + 1) % period == 0]
    return float(np.mean([row["best"] >= 1.0 for row in ends])) if ends else math.nan


def run_extras(sweeps, treatment: str, split: bool) -> list[dict]:
    """Per finished run of ``treatment``: the last logged module count and,
    with ``split``, whether its final best network splits left from right."""
    from evomod import config as config_mod
    from evomod.adapt import final_network_of
    from evomod.modularity.splits import left_right_split

    extras = []
    for sweep in sweeps:
        for name, _, path in run_entries(Path(sweep)):
            if name != treatment or not (path / "best.json").exists():
                continue
            rows = read_log(path)
            modules = [row["modules"] for row in rows if row.get("modules") not in ("", None)]
            entry = {"modules": float(modules[-1]) if modules else math.nan}
            if split:
                config = json.loads((path / "config.json").read_text())
                best = json.loads((path / "best.json").read_text())
                network = final_network_of(path, config_mod.from_dict(config), best)
                entry["split"] = bool(
                    left_right_split(
                        network, directed=config["modularity_directed"], method=config["modularity_method"]
                    )
                )
            extras.append(entry)
    return extras


def compare(groups: dict[str, list[float]]) -> list[str]:
    pairs = list(combinations(groups, 2))
    tests = [mann_whitney(groups[a], groups[b]) for a, b in pairs]
    adjusted = holm([p for _, p in tests])
    lines = ["| treatments | U | p | p (Holm) | effect |", "|---|---|---|---|---|"]
    for (a, b), (u, p), q in zip(pairs, tests, adjusted):
        effect = rank_biserial(u, len(groups[a]), len(groups[b]))
        lines.append(f"| {a} vs {b} | {u:.0f} | {p:.2g} | {q:.2g} | {effect:+.2f} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", required=True, help="sweep directories")
    parser.add_argument("--adapt", nargs="*", default=[], help="evomod adapt output directories")
    parser.add_argument(
        "--adapt-treatments",
        nargs="*",
        default=None,
        help="only these treatments in the adaptation table (leave out any that saw the goal)",
    )
    parser.add_argument("--treatments", nargs="*", default=None, help="only these treatments, in every table")
    parser.add_argument("--split", action="store_true", help="count left/right splits (layered networks)")
    args = parser.parse_args()

    def wanted(treatment: str) -> bool:
        return args.treatments is None or treatment in args.treatments

    # Final values of every treatment of every sweep side by side (one
    # report per sweep cannot compare treatments across sweeps).
    from evomod.report import collect, label, measure_values

    finals: dict[str, dict[str, list[float]]] = {}
    for sweep in args.runs:
        collected = collect(Path(sweep))
        for t in collected.treatments:
            if wanted(t):
                finals[t] = {m: measure_values(collected, t, m) for m in FINAL_MEASURES}
    extra = {t: run_extras(args.runs, t, args.split) for t in finals}
    measures = FINAL_MEASURES + ("modules",)
    for t in finals:
        finals[t]["modules"] = [e["modules"] for e in extra[t] if not math.isnan(e["modules"])]
    lines_final = ["### Final networks", ""]
    split_head = " | left/right split |" if args.split else " |"
    lines_final += ["| treatment | " + " | ".join(label(m) for m in measures) + split_head]
    lines_final.append("|---|" + "---|" * (len(measures) + args.split))
    for t, values in finals.items():
        cells = [f"{median_with_ci(values[m])} (n = {len(values[m])})" for m in measures]
        if args.split:
            cells.append(f"{sum(e['split'] for e in extra[t])}/{len(extra[t])}")
        lines_final.append(f"| {t} | " + " | ".join(cells) + " |")
    for m in measures:
        lines_final += ["", f"{label(m)}:", ""] + compare({t: v[m] for t, v in finals.items()})
    lines_final.append("")

    convergence: dict[str, list[float]] = {}
    for sweep in args.runs:
        for treatment, _, path in run_entries(Path(sweep)):
            if wanted(treatment) and (path / "best.json").exists():
                convergence.setdefault(treatment, []).append(perfect_epoch_ends(path))
    lines = lines_final + ["### Convergence: epoch ends with a perfect best, second half of each run", ""]
    lines += ["| treatment | runs | fraction [95 % CI] | runs never perfect there |", "|---|---|---|---|"]
    for t, values in convergence.items():
        never = sum(v == 0 for v in values)
        lines.append(f"| {t} | {len(values)} | {median_with_ci(values)} | {never} |")
    lines += [""] + compare(convergence) + [""]

    results: dict[str, list[dict]] = {}
    skipped: dict[str, int] = {}
    goal = None
    for directory in args.adapt:
        data = json.loads((Path(directory) / "adapt.json").read_text())
        for r in data["results"]:
            if args.adapt_treatments is not None and r["treatment"] not in args.adapt_treatments:
                continue
            results.setdefault(r["treatment"], []).append(r)
            goal = r["goal_b"]
        for entry in data.get("skipped", []):
            name = Path(entry["source"] if isinstance(entry, dict) else entry).parent.name
            skipped[name] = skipped.get(name, 0) + 1
    if results:
        lines += [f"### Adaptation to {goal}, never shown in training", ""]
        lines += [
            "| treatment | networks adapted (of the finished runs) | adapted within the cap "
            "| generations, median [95 % CI] |",
            "|---|---|---|---|",
        ]
        times = {}
        for t, rs in results.items():
            times[t] = [r["generations"] if r["solved"] else math.inf for r in rs]
            solved = sum(r["solved"] for r in rs)
            eligible = f"{len(rs)} of {len(rs) + skipped.get(t, 0)}"
            lines.append(f"| {t} | {eligible} | {solved} | {median_with_ci(times[t], 0)} |")
        lines += [""] + compare(times) + [""]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
