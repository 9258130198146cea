"""Do the modularity measures agree, and do modular solutions sit in broader optima?

For every finished run of the given sweep directories, one perfect network
is kept (performance 1 and no model penalty, checked with the run's own
model on every input pattern): the best of the final population
(``best.json`` ``final``) if it is perfect on the goal the run ended on,
else the hall of fame's best if it is perfect on one of the run's goals. Each kept network is
scored with ``evomod.modularity.score_network`` (Q maximised with the run's
own method, the n-cut clusterability test with ``--shuffles`` shuffles, and
information-flow modularity), and with ``evomod.analysis.broadness``
(neutrality of single mutations, the robustness curve) when ``--broadness``.

Printed and written (``analyse_networks.json``, ``analyse_networks.md`` and
figures in ``--out``):

* per treatment: the medians [95 % bootstrap CI] of Q, the n-cut Z,
  information-flow modularity and (with ``--broadness``) neutrality;
* across all kept networks, and within each treatment with at least 8:
  Spearman's rank correlation between each pair of those measures, with a
  95 % bootstrap CI (networks resampled in pairs, 10,000 resamples);
* the agreement of the partitions themselves (NMI and adjusted Rand index
  over the nodes both partitions label), medians with CIs;
* a gallery of the networks whose three partitions agree least, drawn once
  per partition.

Usage: ``python experiments/open_questions/analyse_networks.py SWEEP_DIR... [--out DIR] [--broadness]``
"""

from __future__ import annotations

import argparse
import json
import math
from itertools import combinations
from pathlib import Path

import numpy as np

MEASURES = {
    "q": "Q",
    "ncut_z": "n-cut Z (lower: more clusterable)",
    "information_flow": "information-flow modularity",
    "neutrality": "neutrality (fraction of single mutations that stay perfect)",
}
PARTITIONS = ("q_vs_ncut", "q_vs_information_flow", "ncut_vs_information_flow")


def perfect_network(run: Path):
    """``(config, network, goal, source)`` of a run's perfect network: the
    final population's best if it is perfect on the goal the run ended on,
    else the hall of fame's best if it is perfect on one of the schedule's
    goals (runs whose goal keeps changing often end just after a switch);
    None when neither is."""
    from evomod import config as config_mod
    from evomod.build import build_parts
    from evomod.rundir import read_best, read_json

    config = config_mod.from_dict(read_json(run / "config.json", "config.json"))
    best = read_best(run / "best.json")
    parts = build_parts(config)
    candidates = []
    if best.get("final"):
        candidates.append(("final", best["final"]["network"], [best["goal"]]))
    if best.get("networks"):
        candidates.append(("hall", best["networks"][0]["network"], list(parts.schedule.distinct_goals())))
    for source, network, goals in candidates:
        genome = parts.model.from_json(network)
        if parts.model.penalty(genome)[0] > 0:
            continue
        for goal in goals:
            if parts.model.performance(genome, parts.task.inputs, parts.task.target(goal))[0] >= 1.0:
                return config, network, goal, source
    return None


def spearman_with_ci(x, y, seed: int = 0) -> dict:
    from scipy.stats import rankdata, spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"rho": math.nan, "low": math.nan, "high": math.nan, "p": math.nan, "n": int(len(x))}
    rho, p = spearmanr(x, y)
    # A paired percentile bootstrap. Resamples that repeat one value of x or
    # of y have no rank correlation; they are left out (scipy's bootstrap
    # would make the whole interval nan).
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(x), size=(10_000, len(x)))
    rx, ry = rankdata(x[picks], axis=1), rankdata(y[picks], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rhos = (rx * ry).sum(axis=1) / np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    rhos = rhos[np.isfinite(rhos)]
    low, high = np.percentile(rhos, [2.5, 97.5]) if len(rhos) else (math.nan, math.nan)
    return {"rho": float(rho), "low": float(low), "high": float(high), "p": float(p), "n": int(len(x))}


def fmt_rho(r: dict) -> str:
    if math.isnan(r["rho"]):
        return f"– (n = {r['n']})"
    return f"{r['rho']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}], p = {r['p']:.2g} (n = {r['n']})"


def main():
    from evomod.modularity import score_network
    from evomod.report import median_with_ci, run_entries
    from evomod.report_plots import draw_network, save_figure

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweeps", nargs="+")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--shuffles", type=int, default=50)
    parser.add_argument("--broadness", action="store_true", help="also measure broadness (slower)")
    parser.add_argument("--gallery", type=int, default=3)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    networks, skipped = [], {}
    for sweep in args.sweeps:
        for treatment, seed, path in run_entries(Path(sweep)):
            name = f"{Path(sweep).name}/{treatment}"
            if not (path / "best.json").exists():
                continue
            kept = perfect_network(path)
            if kept is None:
                skipped[name] = skipped.get(name, 0) + 1
                continue
            config, network, goal, source = kept
            lam = getattr(config.model, "lam", 20.0)
            score = score_network(
                network, method=config.modularity_method, n_shuffles=args.shuffles, seed=0, lam=lam
            )
            entry = {
                "treatment": name,
                "seed": seed,
                "goal": goal,
                "source": source,
                "network": network,
                "q": score["q"],
                "ncut_z": score["clusterability_z"],
                "information_flow": None
                if score["information_flow"] is None
                else score["information_flow"]["score"],
                "agreement": score["partition_agreement"],
                "labels": {
                    "q": score["labels"],
                    "ncut": score["ncut_labels"],
                    "information_flow": None
                    if score["information_flow"] is None
                    else score["information_flow"]["labels"],
                },
            }
            if args.broadness:
                from evomod.analysis import broadness

                entry["broadness"] = broadness(network, config, goal=goal, seed=0).to_json()
                entry["neutrality"] = entry["broadness"]["neutrality"]
            networks.append(entry)
    measures = [m for m in MEASURES if any(n.get(m) is not None for n in networks)]
    treatments = list(dict.fromkeys(n["treatment"] for n in networks))

    lines = ["# Perfect networks: the measures side by side", ""]
    lines.append(
        f"{len(networks)} perfect final networks from {', '.join(args.sweeps)}; not perfect at the end "
        f"(left out): {json.dumps(skipped)}."
    )
    lines += ["", "| treatment | n | " + " | ".join(MEASURES[m] for m in measures) + " |"]
    lines.append("|---|---|" + "---|" * len(measures))
    for t in treatments:
        group = [n for n in networks if n["treatment"] == t]
        cells = [median_with_ci([n.get(m) for n in group]) for m in measures]
        lines.append(f"| {t} | {len(group)} | " + " | ".join(cells) + " |")

    correlations = {}
    scopes = [("all", networks)] + [
        (t, [n for n in networks if n["treatment"] == t])
        for t in treatments
        if sum(n["treatment"] == t for n in networks) >= 8
    ]
    lines += ["", "## Rank correlations (Spearman, 95 % paired bootstrap CI)", ""]
    lines += ["| networks | " + " | ".join(f"{a} vs {b}" for a, b in combinations(measures, 2)) + " |"]
    lines.append("|---|" + "---|" * len(list(combinations(measures, 2))))
    for scope, group in scopes:
        row = {}
        for a, b in combinations(measures, 2):
            pairs = [(n.get(a), n.get(b)) for n in group if n.get(a) is not None and n.get(b) is not None]
            row[f"{a}_vs_{b}"] = spearman_with_ci([p[0] for p in pairs], [p[1] for p in pairs])
        correlations[scope] = row
        lines.append(f"| {scope} | " + " | ".join(fmt_rho(r) for r in row.values()) + " |")

    lines += ["", "## Do the partitions agree? (over the nodes both label)", ""]
    lines += ["| networks | pair | NMI | ARI |", "|---|---|---|---|"]
    for scope, group in scopes:
        for pair in PARTITIONS:
            found = [n["agreement"][pair] for n in group if n["agreement"].get(pair)]
            nmi = median_with_ci([f["nmi"] for f in found])
            ari = median_with_ci([f["ari"] for f in found])
            lines.append(f"| {scope} | {pair.replace('_vs_', ' vs ')} | {nmi} | {ari} |")

    def disagreement(n):
        found = [n["agreement"][p]["nmi"] for p in PARTITIONS if n["agreement"].get(p)]
        return np.mean(found) if len(found) == len(PARTITIONS) else math.inf

    gallery = sorted(networks, key=disagreement)[: args.gallery]
    if gallery and math.isfinite(disagreement(gallery[0])):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(gallery), 3, figsize=(12, 3.6 * len(gallery)), squeeze=False)
        for row, n in zip(axes, gallery):
            for ax, which in zip(row, ("q", "ncut", "information_flow")):
                labels = {int(k): int(v) for k, v in (n["labels"][which] or {}).items()}
                draw_network(
                    n["network"], ax=ax, labels=labels, title=f"{n['treatment']} seed {n['seed']}: {which}"
                )
        fig.tight_layout()
        paths = save_figure(fig, out / "figures" / "partition_gallery")
        plt.close(fig)
        lines += ["", f"![the partitions that agree least]({paths[0].relative_to(out).as_posix()})"]

    text = "\n".join(lines) + "\n"
    (out / "analyse_networks.md").write_text(text)
    for n in networks:
        n.pop("network")
    (out / "analyse_networks.json").write_text(
        json.dumps({"networks": networks, "skipped": skipped, "correlations": correlations}, indent=1)
    )
    print(text)


if __name__ == "__main__":
    main()
