"""Checkpoint cost against run length: the appended log against rewriting it.

A short P&CC-shaped run is checkpointed once, then its logbook is padded to
1,000, 25,000 and 100,000 rows (copies of its own rows), and each size is
checkpointed twice: as evomod does it (append the new rows to ``log.csv``,
store their position in the checkpoint) and the previous way (the whole
logbook inside ``checkpoint.json`` and ``log.csv`` rewritten). Median of 5
calls, milliseconds. Usage: ``python benchmarks/bench_checkpoint.py``
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from pathlib import Path

from evomod import checkpoint
from evomod import config as config_mod
from evomod.atomic import atomic_write
from evomod.evolve import Evolution
from evomod.rundir import RunDirectory, csv_text, log_columns, saved_config
from evomod.runs import make_measure

SIZES = (1_000, 25_000, 100_000)


def main():
    cfg = config_mod.from_dict({"seed": 1, "generations": 50, "population": 1000})
    evolution = Evolution(cfg, measure=make_measure(cfg))
    state = evolution.initial_state()
    evolution.run(state, 50)
    evolution.snapshot(state)
    saved = saved_config(cfg)
    rows = list(state.logbook)
    print(f"{'log rows':>10} {'append (ms)':>12} {'rewrite (ms)':>13} {'ratio':>7}")
    for size in SIZES:
        padded = copy.copy(state)
        padded.logbook = copy.deepcopy(state.logbook)
        while len(padded.logbook) < size:
            padded.logbook.extend(copy.deepcopy(rows[: size - len(padded.logbook)]))
        with tempfile.TemporaryDirectory() as tmp:
            directory = RunDirectory(Path(tmp) / "new", saved)
            directory.path.mkdir()
            padded.logbook.pop()
            directory.log.write(padded.logbook)  # the run so far is on disk
            padded.logbook.append(copy.deepcopy(rows[-1]))
            append = []
            for _ in range(5):
                t0 = time.perf_counter()
                directory.save_checkpoint(evolution, padded)
                append.append(time.perf_counter() - t0)
                padded.logbook.append(copy.deepcopy(rows[-1]))  # one more generation each time
            old = Path(tmp) / "old"
            old.mkdir()
            rewrite = []
            for _ in range(5):
                t0 = time.perf_counter()
                checkpoint.save(old, padded, saved)
                atomic_write(old / "log.csv", csv_text(padded.logbook, log_columns(padded.logbook)))
                rewrite.append(time.perf_counter() - t0)
        a, r = statistics.median(append) * 1e3, statistics.median(rewrite) * 1e3
        print(f"{size:>10,} {a:>12.1f} {r:>13.1f} {r / a:>6.0f}x")


if __name__ == "__main__":
    main()
