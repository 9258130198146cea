"""Goal schedules: which goal is active at each generation.

A schedule is a pure function of the generation (and, for ``rmvg``, of the
run's seed), so a resumed run recomputes it and nothing needs checkpointing.
Each ``schedule.kind`` is a ``ScheduleKind`` registered in
``evomod.registry.SCHEDULES``; ``Schedule`` is what the loop holds.
"""

from __future__ import annotations

import numpy as np

from evomod.errors import ConfigError
from evomod.registry import SCHEDULES


def switch_generations(generations, goals) -> list:
    """The generations at which ``goals`` (one per entry of ``generations``)
    differs from the entry before: a schedule's switches, or a log's."""
    return [g for g, goal, previous in zip(generations[1:], goals[1:], goals) if goal != previous]


class ScheduleKind:
    """One ``schedule.kind``: the goal of each epoch (``period`` generations).

    ``min_goals``/``max_goals`` bound the goal list (None: no maximum);
    ``check_goals`` refuses a list the kind would never switch between.
    """

    min_goals = 1
    max_goals: int | None = None
    # Whether schedule.period applies (a fixed goal never switches).
    uses_period = True
    # Whether the goals may come from schedule.family instead of a list.
    draws_from_family = False

    def __init__(self, goals: tuple[str, ...], seed=None):
        self.goals = goals

    @classmethod
    def check_goals(cls, name: str, goals: tuple[str, ...]) -> None:
        pass

    def goal_index(self, epoch: int) -> int:
        raise NotImplementedError


@SCHEDULES.register("fixed")
class Fixed(ScheduleKind):
    """One goal throughout."""

    max_goals = 1
    uses_period = False

    def goal_index(self, epoch):
        return 0


@SCHEDULES.register("alternating")
class Alternating(ScheduleKind):
    """Two goals, switching every period."""

    min_goals = max_goals = 2

    @classmethod
    def check_goals(cls, name, goals):
        if goals[0] == goals[1]:
            raise ConfigError(
                "schedule.goals",
                f"alternating between {goals[0]!r} and {goals[1]!r} never changes the goal",
                "two different goals (one goal: kind = 'fixed')",
            )

    def goal_index(self, epoch):
        return epoch % 2


@SCHEDULES.register("serial")
class Serial(ScheduleKind):
    """Any list of goals, cycled, one period each."""

    @classmethod
    def check_goals(cls, name, goals):
        if len(set(goals)) < 2:
            raise ConfigError(
                "schedule.goals",
                f"a serial schedule of {list(goals)} never changes the goal",
                "at least two different goals (one goal: kind = 'fixed')",
            )

    def goal_index(self, epoch):
        return epoch % len(self.goals)


@SCHEDULES.register("rmvg")
class RandomGoals(ScheduleKind):
    """A random goal of the list (or family) each period, never the same twice in a row."""

    min_goals = 2
    draws_from_family = True

    def __init__(self, goals, seed=None):
        super().__init__(goals)
        self._rng = np.random.default_rng(seed)
        self._epochs: list[int] = []

    @classmethod
    def check_goals(cls, name, goals):
        if len(set(goals)) < 2:
            raise ConfigError("schedule.goals", "rmvg needs at least two distinct goals")

    def goal_index(self, epoch):
        # Drawn in epoch order whatever generation is asked first, so a
        # resumed run recomputes the same sequence.
        while len(self._epochs) <= epoch:
            previous = self._epochs[-1] if self._epochs else -1
            choices = [i for i in range(len(self.goals)) if i != previous]
            self._epochs.append(choices[int(self._rng.integers(len(choices)))])
        return self._epochs[epoch]


class Schedule:
    """``kind`` with its goal list and ``period`` (generations per epoch)."""

    def __init__(self, kind: str, goals: tuple[str, ...], period: int = 20, seed=None):
        kind_class = SCHEDULES.get(kind)
        if not isinstance(period, (int, np.integer)) or isinstance(period, bool) or period < 1:
            raise ConfigError(
                "schedule.period", f"must be a positive whole number of generations, got {period!r}"
            )
        low, high = kind_class.min_goals, kind_class.max_goals
        if len(goals) < low or (high is not None and len(goals) > high):
            count = f"exactly {low}" if low == high else f"at least {low}"
            raise ConfigError("schedule.goals", f"{kind} needs {count} goal(s), got {list(goals)}")
        kind_class.check_goals(kind, tuple(goals))
        self.kind = kind
        self.goals = tuple(goals)
        self.period = int(period)
        self._kind = kind_class(self.goals, seed)

    def epoch(self, generation: int) -> int:
        return generation // self.period

    def goal(self, generation: int) -> str:
        return self.goals[self._kind.goal_index(self.epoch(generation))]

    def distinct_goals(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.goals))

    def switches(self, generations: int) -> list[int]:
        """Generations (< ``generations``) at which the goal changes."""
        return switch_generations(range(generations), [self.goal(g) for g in range(generations)])
