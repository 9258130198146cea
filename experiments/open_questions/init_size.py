"""Modularity of random initial networks as they grow.

How modular are networks before any selection, and how does that change
with size? For Kashtan & Alon's NAND circuits (logic4, 8 to 40 gate slots)
and Clune et al.'s layered networks (8-8-4-2-1 up to 8-64-32-16-1), draw
``--samples`` random genomes per size with the model's own initialisation
(seeded), and measure each as the runs log it:

* Q maximised as the run logs it (``modularity_method`` and
  ``modularity_directed`` of the model's paper setup: undirected spectral
  for circuits, directed Clune bisection for layered networks), with the
  number of modules of that partition and its n-cut;
* information-flow modularity (``evomod.modularity.infoflow``: exact search
  up to 15 measured nodes, greedy above), with its number of parts;
* how many nodes survive pruning (those with a path to an output).

Networks that prune to nothing (no path from any node to an output) count
in ``empty`` and are left out of the medians.

Usage: ``python experiments/open_questions/init_size.py [--samples 200] [--out DIR]``
(writes ``init_size.json`` and ``init_size.md`` into DIR, default
``experiments/open_questions/results``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from evomod import config as config_mod
from evomod.build import build_parts
from evomod.modularity.graph import network_graph
from evomod.modularity.infoflow import information_flow_modularity
from evomod.modularity.tracking import measure_network
from evomod.report import median_with_ci

CIRCUIT_GATES = (8, 11, 14, 20, 26, 40)
LAYERED_WIDTHS = ((8, 8, 4, 2, 1), (8, 16, 8, 4, 1), (8, 32, 16, 8, 1), (8, 64, 32, 16, 1))


def circuit_config(gates: int):
    return config_mod.from_dict(
        {"model": {"kind": "circuit", "gates": gates, "threshold": gates}, "task": {"name": "logic4"}}
    )


def layered_config(layers):
    return config_mod.from_dict(
        {"model": {"kind": "layered", "layers": list(layers)}, "task": {"name": "retina"}}
    )


def measure_random(config, samples: int, seed: int) -> dict:
    parts = build_parts(config)
    model = parts.model
    genomes = model.random(samples, np.random.default_rng(seed))
    rows = []
    empty = 0
    for i in range(samples):
        network = model.to_json(genomes, i)
        kept = network_graph(network, directed=True, prune=True).n_nodes
        if kept == 0:
            empty += 1
            continue
        logged = measure_network(network, config.modularity_directed, config.modularity_method)
        flow = information_flow_modularity(network, lam=getattr(config.model, "lam", 20.0))
        rows.append(
            {
                "q": logged["q"],
                "modules": logged["modules"],
                "ncut": logged["ncut"],
                "information_flow": flow.score,
                "parts": flow.n_parts,
                "nodes": kept,
            }
        )
    return {"samples": samples, "empty": empty, "networks": rows}


def summary_line(label: str, result: dict) -> str:
    rows = result["networks"]

    def col(name, digits=3):
        return median_with_ci([r[name] for r in rows], digits)

    return (
        f"| {label} | {len(rows)} ({result['empty']} empty) | {col('nodes', 0)} | {col('q')} | "
        f"{col('modules', 0)} | {col('ncut')} | {col('information_flow')} | {col('parts', 0)} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"circuits": {}, "layered": {}}
    for gates in CIRCUIT_GATES:
        results["circuits"][str(gates)] = measure_random(
            circuit_config(gates), args.samples, args.seed + gates
        )
    for layers in LAYERED_WIDTHS:
        label = "-".join(map(str, layers))
        results["layered"][label] = measure_random(
            layered_config(layers), args.samples, args.seed + sum(layers)
        )
    lines = [
        f"Random initial networks, {args.samples} per size (seeded), medians [95 % bootstrap CI].",
        "",
        "| network | measured | nodes kept | Q | modules | n-cut | information flow | parts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for gates, result in results["circuits"].items():
        lines.append(summary_line(f"circuit, {gates} gate slots", result))
    for label, result in results["layered"].items():
        lines.append(summary_line(f"layered {label}", result))
    (out / "init_size.json").write_text(json.dumps(results, indent=1))
    (out / "init_size.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
