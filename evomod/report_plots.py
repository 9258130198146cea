"""Figures of a sweep report (matplotlib, Agg backend).

Every figure is saved as PNG and SVG next to each other, each written
atomically, so a report interrupted half-way never leaves a broken image.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from evomod.atomic import atomic_write  # noqa: E402
from evomod.rundir import goal_switches  # noqa: E402

FORMATS = ("png", "svg")


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=+-]", "_", name)


def save_figure(fig, stem) -> list[Path]:
    """``stem.png`` and ``stem.svg``; the figure is closed."""
    stem = Path(stem)
    paths = []
    try:
        for fmt in FORMATS:
            buffer = io.BytesIO()
            # No date and fixed ids in the SVG: the same data gives the same file.
            metadata = {"Date": None} if fmt == "svg" else None
            with plt.rc_context({"svg.hashsalt": "evomod"}):
                fig.savefig(buffer, format=fmt, dpi=110, metadata=metadata)
            path = stem.with_name(f"{stem.name}.{fmt}")
            atomic_write(path, buffer.getvalue())
            paths.append(path)
    finally:
        plt.close(fig)
    return paths


def _colours(names):
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {name: cycle[i % len(cycle)] for i, name in enumerate(names)}


def _value(row, column) -> float:
    v = row.get(column)
    return float(v) if isinstance(v, (int, float)) else math.nan


def generation_matrix(logs: list[list[dict]], column: str) -> tuple[np.ndarray, np.ndarray]:
    """``(generations, values)``: values[run, generation], nan where a run has no value.

    Runs that stopped early (``stop_when``) are nan after their end; a column
    logged every k generations is nan in between.
    """
    if not logs or not any(logs):
        return np.zeros(0, dtype=int), np.zeros((len(logs), 0))
    end = max(int(row["gen"]) for rows in logs for row in rows) + 1
    values = np.full((len(logs), end), np.nan)
    for i, rows in enumerate(logs):
        for row in rows:
            values[i, int(row["gen"])] = _value(row, column)
    present = ~np.all(np.isnan(values), axis=0)
    return np.flatnonzero(present), values[:, present]


def median_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: median, 2.5th and 97.5th percentile over the non-nan runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return (
            np.nanmedian(values, axis=0),
            np.nanpercentile(values, 2.5, axis=0),
            np.nanpercentile(values, 97.5, axis=0),
        )


def plot_over_generations(
    logs: dict[str, list[list[dict]]], column: str, ylabel: str, stem, title: str | None = None
) -> list[Path]:
    """Median over seeds and a 95 % band (2.5–97.5 percentiles) per treatment.

    Goal switches (from the first run of each treatment) are ticks along the
    top edge in the treatment's colour: long runs switch thousands of times,
    too many for full-height lines.
    """
    colours = _colours(logs)
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, runs in logs.items():
        gens, values = generation_matrix(runs, column)
        if len(gens) == 0:
            continue
        median, low, high = median_band(values)
        ax.plot(gens, median, color=colours[name], lw=1.2, label=f"{name} (n = {len(runs)})")
        ax.fill_between(gens, low, high, color=colours[name], alpha=0.2, lw=0)
        switches = goal_switches(runs[0]) if runs and runs[0] else []
        if switches:
            ax.plot(
                switches,
                np.full(len(switches), 1.0),
                "|",
                color=colours[name],
                ms=6,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
            )
    ax.set_xlabel("generation")
    ax.set_ylabel(ylabel)
    ax.set_title(
        title
        or f"{ylabel}: median and 95 % band over seeds"
        + (
            "; ticks on top mark goal switches"
            if any(goal_switches(r[0]) for r in logs.values() if r and r[0])
            else ""
        ),
        fontsize="medium",
    )
    if logs:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_distribution(
    values: dict[str, list[float]],
    ylabel: str,
    stem,
    title: str | None = None,
    censored_at: dict[str, list[bool]] | None = None,
) -> list[Path]:
    """Box plot with every run as a jittered point; hollow points are censored."""
    names = list(values)
    colours = _colours(names)
    fig, ax = plt.subplots(figsize=(max(3.0, 1.3 * len(names) + 1.5), 4))
    data = [np.asarray(values[n], dtype=float) for n in names]
    drawable = [d if len(d) else np.array([np.nan]) for d in data]
    ax.boxplot(drawable, showfliers=False, medianprops={"color": "black"})
    ax.set_xticks(range(1, len(names) + 1), labels=names)
    rng = np.random.default_rng(0)  # fixed jitter: the same data draws the same figure
    labelled = False
    for i, (name, d) in enumerate(zip(names, data), start=1):
        x = i + rng.uniform(-0.15, 0.15, len(d))
        censored = np.asarray((censored_at or {}).get(name, [False] * len(d)), dtype=bool)
        ax.scatter(x[~censored], d[~censored], s=14, color=colours[name], alpha=0.8, zorder=3)
        if censored.any():
            ax.scatter(
                x[censored],
                d[censored],
                s=18,
                facecolors="none",
                edgecolors=colours[name],
                zorder=3,
                label=None if labelled else "censored (not solved)",
            )
            labelled = True
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} per treatment", fontsize="medium")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.tight_layout()
    return save_figure(fig, stem)


# -- networks --------------------------------------------------------------------


def module_labels(network: dict, directed=None, method: str = "auto") -> dict[int, int] | None:
    """Node id -> module from ``evomod.modularity.score_network``."""
    from evomod.modularity import score_network

    result = score_network(
        network, directed=directed, method=method, n_shuffles=1, seed=0, information_flow=False
    )
    return {int(k): int(v) for k, v in result["labels"].items()}


def _circuit_layout(network: dict):
    inputs = [int(i) for i in network.get("inputs", [])]
    gates = {int(g["id"]): [int(s) for s in g["in"]] for g in network.get("gates", [])}
    outputs = [int(o) for o in network.get("outputs", [])]
    # Only gates with a path to an output are part of the circuit's function.
    live, stack = set(), [o for o in outputs if o in gates]
    while stack:
        g = stack.pop()
        if g in live:
            continue
        live.add(g)
        stack.extend(s for s in gates[g] if s in gates)
    depth = {i: 0 for i in inputs}
    for g in live:
        depth.setdefault(g, 1)
    # Longest path from the inputs; with feedback loops it never settles, so
    # stop after as many passes as there are gates.
    for _ in range(len(live) + 1):
        changed = False
        for g in sorted(live):
            d = 1 + max((depth.get(s, 0) for s in gates[g]), default=0)
            d = min(d, len(live))
            if d > depth[g]:
                depth[g], changed = d, True
        if not changed:
            break
    pos = {}
    for k, i in enumerate(inputs):
        pos[i] = (k - (len(inputs) - 1) / 2, 0.0)
    by_depth: dict[int, list[int]] = {}
    for g in sorted(live):
        by_depth.setdefault(depth[g], []).append(g)
    for d, members in by_depth.items():
        for k, g in enumerate(members):
            pos[g] = (k - (len(members) - 1) / 2, float(d))
    edges = [(s, g, 1.0) for g in sorted(live) for s in gates[g]]
    return pos, edges, set(outputs)


def _layered_layout(network: dict):
    pos = {int(n["id"]): (float(n["x"]), float(n["y"])) for n in network.get("nodes", [])}
    edges = [(int(s), int(d), float(w)) for s, d, w in network.get("edges", [])]
    layers = {int(n["id"]): n.get("layer") for n in network.get("nodes", [])}
    last = max((v for v in layers.values() if v is not None), default=None)
    outputs = {nid for nid, layer in layers.items() if layer == last}
    return pos, edges, outputs


def draw_network(network: dict, ax=None, labels: dict[int, int] | None = None, title: str | None = None):
    """Layered/threshold networks at their nodes' x, y; circuits with inputs in a row
    and gates placed by depth. Nodes coloured by module (grey: pruned or unlabelled)."""
    from evomod.network_format import network_format, parse_network

    shape = network_format(parse_network(network).kind)
    if shape == "gates":
        pos, edges, outputs = _circuit_layout(network)
    else:
        pos, edges, outputs = _layered_layout(network)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 5))
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for s, d, w in edges:
        if s not in pos or d not in pos:
            continue
        (x0, y0), (x1, y1) = pos[s], pos[d]
        colour = "#c44e52" if w < 0 else "0.35"
        if s == d:
            ax.plot([x0], [y0], marker="o", ms=16, mfc="none", mec=colour, zorder=1)
            continue
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops=dict(
                arrowstyle="-|>", color=colour, lw=0.6 + 0.6 * abs(w), shrinkA=6, shrinkB=6, alpha=0.8
            ),
            zorder=1,
        )
    for nid, (x, y) in pos.items():
        module = labels.get(nid) if labels else None
        face = cycle[module % len(cycle)] if module is not None else "0.85"
        ax.scatter(
            [x],
            [y],
            s=160,
            color=face,
            edgecolors="black",
            linewidths=2.0 if nid in outputs else 0.6,
            zorder=2,
        )
        ax.annotate(str(nid), (x, y), ha="center", va="center", fontsize=6, zorder=3)
    ax.set_axis_off()
    ax.margins(0.08)
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def plot_network(
    network: dict, stem, title: str | None = None, directed=None, method: str = "auto"
) -> list[Path]:
    labels = module_labels(network, directed=directed, method=method)
    fig, ax = plt.subplots(figsize=(7, 5))
    n_modules = len(set(labels.values())) if labels else 0
    suffix = f" — {n_modules} modules" if labels else ""
    draw_network(network, ax=ax, labels=labels, title=(title or "network") + suffix)
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_adaptation(results: list[dict], stem) -> list[Path]:
    """Generations to re-adapt per treatment and goal change; hollow = censored at the cap."""
    groups: dict[str, list[float]] = {}
    censored: dict[str, list[bool]] = {}
    for r in results:
        if r.get("skipped"):
            continue
        key = f"{r['treatment']}\n{r['goal_a']}→{r['goal_b']}"
        groups.setdefault(key, []).append(float(r["generations"]))
        censored.setdefault(key, []).append(not r["solved"])
    return plot_distribution(
        groups,
        "generations to adapt",
        stem,
        title="generations to a perfect network after the goal change",
        censored_at=censored,
    )
