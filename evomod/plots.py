"""Figures drawn from a run's files (data flows one way: results -> figures)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from evomod.atomic import atomic_write  # noqa: E402
from evomod.runs import read_log  # noqa: E402


def goal_switches(rows) -> list[tuple[float, str]]:
    return [(row["gen"], row["goal"]) for prev, row in zip(rows, rows[1:]) if row["goal"] != prev["goal"]]


def plot_run(directory, out=None) -> Path:
    """Performance, connection cost and (when logged) Q over generations."""
    rows = read_log(directory)
    gen = np.array([r["gen"] for r in rows])
    panels = [("performance", [("best", "best"), ("mean", "mean"), ("median", "median")]),
              ("cost of the best", [("cost", "cost")]),
              ("connections of the best", [("connections", "connections")])]
    if rows and "q" in rows[0]:
        panels.append(("Q of the best", [("q", "Q")]))
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 * len(panels)), sharex=True)
    switches = goal_switches(rows)
    for ax, (title, series) in zip(np.atleast_1d(axes), panels):
        for key, label in series:
            values = np.array([r.get(key, np.nan) if r.get(key) != "" else np.nan for r in rows], dtype=float)
            ax.plot(gen, values, label=label, lw=1)
        for at, _ in switches[:200]:
            ax.axvline(at, color="0.85", lw=0.5, zorder=0)
        ax.set_ylabel(title)
        if len(series) > 1:
            ax.legend(loc="lower right", fontsize="small")
    goals = sorted({r["goal"] for r in rows})
    np.atleast_1d(axes)[0].set_title(f"{Path(directory).name}: goals {', '.join(goals)}"
                                     + (f" ({len(switches)} switches, grey lines)" if switches else ""))
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
