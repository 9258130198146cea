"""Clune et al. (2013)'s numbers from finished sweep directories, as a table.

    python experiments/clune2013/summarise.py SWEEP_DIR [SWEEP_DIR ...] [--adapt ADAPT_DIR ...]

Per treatment (every ``TREATMENT/seed_S`` with a ``best.json``): the number
of runs; the median [95 % bootstrap CI] of the final Q of the best network
(the log's last ``q``: best by performance, then cheapest when the cost is
selected on) and of the median Q over the first front's top members (the
authors' other logged figure, last logged value); the final best
performance and the number of runs with a perfect network; the first
generation with a perfect network; connections of the best network; and the
fraction of runs whose final best network (the final population's best,
ranked as the loop ranks it) puts the left and right inputs in different
modules (``evomod.modularity.splits``). Then Mann–Whitney tests of
Q between each pair of treatments, and adaptation times from ``evomod
adapt`` output directories.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

from evomod import config as config_mod
from evomod.adapt import final_network_of
from evomod.modularity.splits import left_right_split
from evomod.report import mann_whitney, median_with_ci


def last_value(rows, column):
    for row in reversed(rows):
        value = row.get(column, "")
        if value not in ("", None):
            return float(value)
    return math.nan


def runs_of(directories):
    found: dict[str, list[dict]] = {}
    for directory in directories:
        for best_path in sorted(Path(directory).glob("*/seed_*/best.json")):
            run = best_path.parent
            best = json.loads(best_path.read_text())
            config = json.loads((run / "config.json").read_text())
            with open(run / "log.csv", newline="") as handle:
                rows = list(csv.DictReader(handle))
            # The final population's best, as the authors analyse it.
            network = final_network_of(run, config_mod.from_dict(config), best)
            found.setdefault(run.parent.name, []).append(
                {
                    "seed": config["seed"],
                    "q": last_value(rows, "q"),
                    "q_front_median": last_value(rows, "q_front_median"),
                    "performance": float(rows[-1]["best"]),
                    "connections": float(rows[-1]["connections"]),
                    "solved": min(best["first_solved"].values()) if best["first_solved"] else math.inf,
                    "split": left_right_split(
                        network, directed=config["modularity_directed"], method=config["modularity_method"]
                    ),
                    "elapsed": float(rows[-1]["elapsed"]),
                }
            )
    return found


def comparisons(found):
    """The pairs the paper compares: PA against P&CC under each setting (a
    name's suffix after the first '-'), P&RO against both, and P&CC against
    its coordinates control."""
    pairs = []
    for name in found:
        base, _, suffix = name.partition("-")
        other = "P&CC" + ("-" + suffix if suffix else "")
        if base == "PA" and other in found:
            pairs.append((name, other))
    for a, b in (("PA", "P&RO"), ("P&CC", "P&RO"), ("P&CC", "P&CC-coords")):
        if a in found and b in found:
            pairs.append((a, b))
    return pairs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweeps", nargs="+", help="sweep directories holding TREATMENT/seed_S runs")
    parser.add_argument("--adapt", nargs="*", default=[], help="`evomod adapt` output directories")
    args = parser.parse_args(argv)
    found = runs_of(args.sweeps)
    out = sys.stdout
    out.write(
        "| treatment | runs | Q of the best | median Q of the top front | performance | "
        "perfect runs | first perfect (generation) | connections | L/R split | minutes per run |\n"
    )
    out.write("|---|---|---|---|---|---|---|---|---|---|\n")
    for name, runs in found.items():
        splits = [r["split"] for r in runs if r["split"] is not None]
        split = f"{sum(splits)}/{len(splits)}" + (
            f" ({len(runs) - len(splits)} without both sides)" if len(splits) < len(runs) else ""
        )
        perfect = sum(r["performance"] >= 1.0 for r in runs)
        minutes = sum(r["elapsed"] for r in runs) / len(runs) / 60
        out.write(
            f"| {name} | {len(runs)} | {median_with_ci([r['q'] for r in runs])} | "
            f"{median_with_ci([r['q_front_median'] for r in runs])} | "
            f"{median_with_ci([r['performance'] for r in runs], 4)} | {perfect}/{len(runs)} | "
            f"{median_with_ci([r['solved'] for r in runs], 0)} | "
            f"{median_with_ci([r['connections'] for r in runs], 0)} | {split} | {minutes:.1f} |\n"
        )
    out.write("\nMann–Whitney U, Q of the best network (two-sided):\n\n")
    for a, b in comparisons(found):
        _, p = mann_whitney([r["q"] for r in found[a]], [r["q"] for r in found[b]])
        out.write(f"- {a} vs {b}: p = {p:.2g}\n")
    # Adaptation results pooled over every directory given.
    groups: dict[tuple, list[float]] = {}
    for directory in args.adapt:
        path = Path(directory) / "adapt.csv"
        if not path.exists():
            continue
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                key = (row["treatment"], row["goal_a"], row["goal_b"])
                solved = row["solved"] in ("True", "true", "1")
                groups.setdefault(key, []).append(float(row["generations"]) if solved else math.inf)
    if groups:
        out.write(f"\nAdaptation, pooled over {', '.join(args.adapt)}:\n\n")
    for (treatment, a, b), times in groups.items():
        done = sum(math.isfinite(t) for t in times)
        out.write(
            f"- {treatment} {a} → {b}: {median_with_ci(times, 0)} generations "
            f"({done}/{len(times)} within the cap)\n"
        )


if __name__ == "__main__":
    main()
