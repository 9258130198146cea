"""Kashtan & Alon (2005)'s numbers from finished sweep directories, as tables.

    python experiments/kashtan2005/summarise.py SWEEP_DIR [SWEEP_DIR ...] \
        (--baselines DIR | --no-qm) [--samples 1000] [--json OUT.json] [--workers N]

Which networks are measured, and when (the paper's definitions; see
``shared/reference/papers.md``):

* a fixed-goal circuit run is *solved* at its first generation with a
  fitness-1 circuit (right on every input and no gate penalty); the run stops
  there, and the network measured is that generation's best. Unsolved runs
  count as +inf in solve times and their (imperfect) circuits are left out of
  Q and Qm, as the paper's Qm is over perfect circuits;
* an MVG run is measured at steady state: the first time its best is perfect
  at the end of ``steady_epochs`` consecutive epochs. The networks measured
  are those epochs' best networks, one per goal (G1 circuits and G2 circuits
  reported apart). The older reading, "both goals solved once", is a second
  solve-time column;
* a run without a stop rule (the threshold retina runs, 21,000 generations)
  is measured on its final population's best network, scored again on all
  256 patterns under the goal of its last generation.

Per network: Q (the run's own modularity settings: undirected, as the paper),
Qm with both of the paper's Q_rand controls (degree-preserving randomisations
of the network, and random genomes pruning to the same node count) and the
evolved Q_max cached by ``evomod baseline``, the effective gates (circuits),
and whether the exact-Q partition puts the two input pairs in different
modules ({X, Y} against {Z, W} for circuits, left against right pixels for the
retina). Tables give median [95 % bootstrap CI] and mean ± s.e. (the paper's
± figures), and Mann–Whitney p between treatments.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from evomod import config as config_mod
from evomod.baselines import paper_qm
from evomod.build import build_parts
from evomod.modularity.splits import left_right_split
from evomod.report import bootstrap_median_ci, mann_whitney, median_with_ci

# The input pairs whose separation is the modular motif: the two XORs' inputs
# for circuits, the two retina halves for threshold networks.
PAIRS = {"circuit": ((0, 1), (2, 3)), "threshold": ((0, 1, 2, 3), (4, 5, 6, 7))}


def measure(network: dict, goal: str, cfg, parts, baselines, samples: int) -> dict:
    model, task = parts.model, parts.task
    genome = model.from_json(network)
    performance = float(model.performance(genome, task.inputs, task.target(goal))[0])
    penalty = float(model.penalty(genome)[0])
    if baselines is None:  # solve times and structure only
        from evomod.modularity.tracking import measure_network

        q = measure_network(network, cfg.modularity_directed, cfg.modularity_method)["q"]
        qm = dict.fromkeys(("q_rand_degree", "q_rand_size", "q_max", "qm", "qm_size", "n_nodes"))
        qm.update(q=q, notes=["Qm not computed (--no-qm)"])
    else:
        qm = paper_qm(network, cfg, cache_dir=baselines, n_samples=samples, seed=0)
    left, right = PAIRS[model.kind]
    record = {
        "goal": goal,
        "performance": performance,
        "penalty": penalty,
        "perfect": performance >= 1.0 and penalty <= 0.0,
        "q": qm["q"],
        "n_nodes": qm["n_nodes"],
        "q_rand": qm["q_rand_degree"],
        "q_rand_size": qm["q_rand_size"],
        "q_max": qm["q_max"],
        "qm": qm["qm"],
        "qm_size": qm["qm_size"],
        "notes": qm["notes"],
        "split": left_right_split(
            network, directed=cfg.modularity_directed, method="exact", left=left, right=right
        ),
    }
    if model.kind == "circuit":
        record["gates"] = int(model.effective_gates(genome)[0])
    return record


def summarise_run(run: Path, baselines, samples: int) -> dict:
    best = json.loads((run / "best.json").read_text())
    cfg = config_mod.from_dict(json.loads((run / "config.json").read_text()))
    parts = build_parts(cfg)
    goals = list(parts.schedule.distinct_goals())
    solved = best.get("first_solved", {})
    out = {
        "treatment": run.parent.name,
        "seed": cfg.seed,
        "kind": parts.model.kind,
        "goals": goals,
        "cap": cfg.generations,
        "stop_when": cfg.stop_when,
        "generation": best["generation"],
        "steady_at": best.get("steady_at"),
        "first_solved": solved,
        "all_goals_at": max(solved[g] for g in goals) if all(g in solved for g in goals) else None,
    }
    if cfg.stop_when == "steady":
        chosen = [(entry["goal"], entry["network"]) for entry in best.get("steady_networks", [])]
    else:
        chosen = [(best["goal"], best["final"]["network"])]
    out["networks"] = [measure(net, goal, cfg, parts, baselines, samples) for goal, net in chosen]
    if cfg.stop_when == "steady":
        out["solve"] = out["steady_at"]
    elif cfg.stop_when in ("all_goals", "current_goal"):
        out["solve"] = out["all_goals_at"]
    else:
        out["solve"] = None
    return out


def runs_of(directories, baselines, samples, workers=1):
    paths = [
        p.parent
        for directory in directories
        for p in sorted(
            Path(directory).glob("*/seed_*/best.json"),
            key=lambda p: (p.parent.parent.name, int(p.parent.name[5:])),
        )
    ]
    jobs = [(path, baselines, samples) for path in paths]
    if workers > 1:
        # Baselines are cached per network and size: workers that compute the
        # same entry write the same values.
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            records = list(pool.map(_summarise_job, jobs))
    else:
        records = [_summarise_job(job) for job in jobs]
    found: dict[str, list[dict]] = {}
    for record in records:
        found.setdefault(record["treatment"], []).append(record)
    return found


def _summarise_job(job):
    path, baselines, samples = job
    record = summarise_run(path, baselines, samples)
    print(f"measured {path}", file=sys.stderr)
    return record


def _finite(values):
    return [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def mean_text(values, digits=3):
    values = [v for v in _finite(values) if math.isfinite(v)]
    if not values:
        return "–"
    sem = np.std(values, ddof=1) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return f"{np.mean(values):.{digits}f} ± {sem:.{digits}f} (n = {len(values)})"


def time_of(value):
    return math.inf if value is None else float(value)


def network_groups(runs):
    """Measured networks by reported group: the treatment's only goal, or one
    group per goal for runs measured on several (MVG at steady state)."""
    groups: dict[str, list[dict]] = {}
    for run in runs:
        nets = run["networks"]
        for net in nets:
            key = net["goal"] if len(nets) > 1 or len(run["goals"]) > 1 else "all"
            groups.setdefault(key, []).append(net)
    return groups


def report(found, out) -> None:
    out.write(
        "### Runs\n\n| treatment | runs | solved (rule) | solve time: median [CI] | "
        "both goals first solved: median [CI] | stopped at: median |\n|---|---|---|---|---|---|\n"
    )
    for name, runs in found.items():
        rule = runs[0]["stop_when"]
        solved = sum(r["solve"] is not None for r in runs)
        stopped = median_with_ci([r["generation"] for r in runs], 0).split(" [")[0]
        out.write(
            f"| {name} | {len(runs)} | {solved}/{len(runs)} ({rule}, cap {runs[0]['cap']:,}) | "
            f"{median_with_ci([time_of(r['solve']) for r in runs], 0)} | "
            f"{median_with_ci([time_of(r['all_goals_at']) for r in runs], 0)} | {stopped} |\n"
        )
    out.write(
        "\n### Networks measured (perfect ones only where the run has a stop rule)\n\n"
        "| treatment | goal | networks | perfect | performance (all inputs) | gates | nodes | "
        "Q | Q_rand (degree) | "
        "Q_rand (size) | Q_max | Qm (degree): median [CI] | Qm (degree): mean ± s.e. | "
        "Qm (size): mean ± s.e. | inputs split |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    for name, runs in found.items():
        for goal, nets in network_groups(runs).items():
            total = len(nets)
            if runs[0]["stop_when"] != "never":
                nets = [n for n in nets if n["perfect"]]
            splits = [n["split"] for n in nets if n["split"] is not None]
            gates = median_with_ci([n.get("gates") for n in nets], 0).split(" [")[0]
            out.write(
                f"| {name} | {goal} | {total} | {sum(n['perfect'] for n in nets)} | "
                f"{median_with_ci([n['performance'] for n in nets], 4)} | {gates} | "
                f"{median_with_ci([n['n_nodes'] for n in nets], 0).split(' [')[0]} | "
                f"{median_with_ci([n['q'] for n in nets])} | {mean_text([n['q_rand'] for n in nets])} | "
                f"{mean_text([n['q_rand_size'] for n in nets])} | "
                f"{mean_text([n['q_max'] for n in nets])} | {median_with_ci([n['qm'] for n in nets])} | "
                f"{mean_text([n['qm'] for n in nets])} | {mean_text([n['qm_size'] for n in nets])} | "
                f"{sum(splits)}/{len(splits)} |\n"
            )
    names = list(found)
    if len(names) < 2:
        return
    out.write("\n### Mann–Whitney U (two-sided)\n\n")
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for what, key in (("solve time", "solve"), ("both goals first solved", "all_goals_at")):
                _, p = mann_whitney([time_of(r[key]) for r in found[a]], [time_of(r[key]) for r in found[b]])
                out.write(f"- {a} vs {b}, {what}: p = {p:.2g}\n")
            for what in ("q", "qm", "qm_size"):

                def pooled(runs, stop_rule):
                    return _finite(
                        [n[what] for r in runs for n in r["networks"] if n["perfect"] or stop_rule == "never"]
                    )

                _, p = mann_whitney(
                    pooled(found[a], found[a][0]["stop_when"]), pooled(found[b], found[b][0]["stop_when"])
                )
                out.write(f"- {a} vs {b}, {what} of the measured networks (goals pooled): p = {p:.2g}\n")
    fixed = [time_of(r["solve"]) for r in found.get("fixed", [])]
    mvg = found.get("MVG", [])
    if fixed and mvg:
        t_fixed = bootstrap_median_ci(fixed)[0]
        for what, key in (("steady state", "solve"), ("both goals first solved", "all_goals_at")):
            t_mvg = bootstrap_median_ci([time_of(r[key]) for r in mvg])[0]
            out.write(
                f"\nSpeedup S = median T_fixed / median T_MVG ({what}): "
                f"{t_fixed:,.0f} / {t_mvg:,.0f} = {t_fixed / t_mvg:.2f}"
                + (" (the fixed median is censored)" if math.isinf(t_fixed) else "")
                + "\n"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweeps", nargs="+", help="sweep directories holding TREATMENT/seed_S runs")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--baselines", help="baseline directory (`evomod baseline CONFIG --cache DIR`)")
    where.add_argument("--no-qm", action="store_true", help="solve times, gates, Q and splits only")
    parser.add_argument(
        "--samples",
        type=int,
        default=1000,
        help="random networks per Q_rand control (default: 1000, as the paper)",
    )
    parser.add_argument("--json", help="also write every run's measures here")
    parser.add_argument("--workers", type=int, default=1, help="processes measuring runs")
    args = parser.parse_args(argv)
    found = runs_of(args.sweeps, args.baselines, args.samples, args.workers)
    report(found, sys.stdout)
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=1, default=float))


if __name__ == "__main__":
    main()
