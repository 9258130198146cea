"""The one progress bar: runs count generations, sweeps and adaptations count runs."""

from __future__ import annotations

import os
import sys


def progress_bar(total: int, initial: int = 0, unit: str = "gen", enabled: bool | None = None):
    """A tqdm bar; ``enabled=None`` shows it only on a terminal and never when
    ``CI`` is set (a log file full of carriage returns helps nobody)."""
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("CI")
    return tqdm(total=total, initial=initial, unit=unit, disable=not enabled, dynamic_ncols=True)
