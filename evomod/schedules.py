"""Goal schedules: which goal is active at each generation.

A schedule is a pure function of the generation (and, for ``rmvg``, of the
run's seed), so a resumed run recomputes it and nothing needs checkpointing.
"""

from __future__ import annotations

import numpy as np

from evomod.errors import ConfigError

SCHEDULE_KINDS = ("fixed", "alternating", "serial", "rmvg")


class Schedule:
    """``kind`` with its goal list and ``period`` (generations per epoch)."""

    def __init__(self, kind: str, goals: tuple[str, ...], period: int = 20, seed=None):
        if kind not in SCHEDULE_KINDS:
            raise ConfigError("schedule.kind", f"unknown schedule {kind!r}", SCHEDULE_KINDS)
        if not isinstance(period, (int, np.integer)) or isinstance(period, bool) or period < 1:
            raise ConfigError("schedule.period", f"must be a positive whole number of generations, got {period!r}")
        needed = {"fixed": (1, 1), "alternating": (2, 2), "serial": (1, None), "rmvg": (2, None)}[kind]
        if len(goals) < needed[0] or (needed[1] is not None and len(goals) > needed[1]):
            count = f"exactly {needed[0]}" if needed[0] == needed[1] else f"at least {needed[0]}"
            raise ConfigError("schedule.goals", f"{kind} needs {count} goal(s), got {list(goals)}")
        if kind == "rmvg" and len(set(goals)) < 2:
            raise ConfigError("schedule.goals", "rmvg needs at least two distinct goals")
        self.kind = kind
        self.goals = tuple(goals)
        self.period = int(period)
        self._rng = np.random.default_rng(seed) if kind == "rmvg" else None
        self._epochs: list[int] = []

    def epoch(self, generation: int) -> int:
        return generation // self.period

    def goal(self, generation: int) -> str:
        if self.kind == "fixed":
            return self.goals[0]
        k = self.epoch(generation)
        if self.kind in ("alternating", "serial"):
            return self.goals[k % len(self.goals)]
        # rmvg: a random goal each epoch, never the previous epoch's goal.
        while len(self._epochs) <= k:
            previous = self._epochs[-1] if self._epochs else -1
            choices = [i for i in range(len(self.goals)) if i != previous]
            self._epochs.append(choices[int(self._rng.integers(len(choices)))])
        return self.goals[self._epochs[k]]

    def distinct_goals(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.goals))

    def switches(self, generations: int) -> list[int]:
        """Generations (< ``generations``) at which the goal changes."""
        return [g for g in range(1, generations) if self.goal(g) != self.goal(g - 1)]
