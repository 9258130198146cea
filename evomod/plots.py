"""Figures drawn from a run's files (data flows one way: results -> figures)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from evomod.atomic import atomic_write  # noqa: E402
from evomod.rundir import goal_switches, read_log  # noqa: E402

COST_NAMES = {
    "squared_length": "squared length,\noptimal placement",
    "count": "connections",
    "distance_weighted": "distance-weighted",
    "none": "none",
}


def _run_config(directory) -> dict:
    path = Path(directory) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def plot_run(directory, out=None) -> Path:
    """Performance, connection cost and (when logged) Q over generations,
    titled with the run's treatment, seed and population."""
    rows = read_log(directory)
    config = _run_config(directory)
    gen = np.array([r["gen"] for r in rows])
    cost = config.get("cost", {}).get("kind", "")
    directed = "directed" if config.get("modularity_directed", True) else "undirected"
    q_label = f"Q of the best\n({config.get('modularity_method', '?')}, {directed})"
    panels = [
        ("performance", [("best", "best", "-"), ("median", "median", "--"), ("mean", "mean", ":")]),
        (f"cost of the best\n({COST_NAMES.get(cost, cost)})", [("cost", "cost", "-")]),
        ("connections\nof the best", [("connections", "connections", "-")]),
    ]
    if rows and "q" in rows[0]:
        panels.append((q_label, [("q", "Q", "-")]))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 * len(panels)), sharex=True)
    switches = goal_switches(rows)
    for ax, (title, series) in zip(np.atleast_1d(axes), panels):
        for key, label, style in series:
            values = np.array([r.get(key, np.nan) if r.get(key) != "" else np.nan for r in rows], dtype=float)
            ax.plot(gen, values, style, label=label, lw=1.2 if style == "-" else 1.6)
        for at in switches[:200]:
            ax.axvline(at, color="0.85", lw=0.5, zorder=0)
        ax.set_ylabel(title)
        if len(series) > 1:
            ax.legend(loc="lower right", fontsize="small")
    goals = sorted({r["goal"] for r in rows})
    selection = config.get("selection", {})
    who = ", ".join(
        part
        for part in (
            selection.get("treatment"),
            f"seed {config['seed']}" if "seed" in config else None,
            f"population {config['population']}" if "population" in config else None,
        )
        if part
    )
    solved = [r["gen"] for r in rows if float(r.get("perfect", 0) or 0) > 0]
    title = (
        f"{who or Path(directory).name}: goal {', '.join(goals)}"
        + (f" ({len(switches)} switches, grey lines)" if switches else "")
        + (f"; first perfect at generation {int(solved[0])}" if solved else "; never perfect")
    )
    np.atleast_1d(axes)[0].set_title(title, fontsize="medium")
    np.atleast_1d(axes)[-1].set_xlabel("generation")
    fig.tight_layout()
    target = Path(out) if out else Path(directory) / "run.png"
    if target.suffix == "":
        target = target / "run.png"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write(target, buffer.getvalue())
    return target
