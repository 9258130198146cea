"""Tasks: input patterns and their goal truth tables.

A task holds every input pattern (row ``p`` is the pattern whose input ``i``
equals bit ``i`` of ``p``) and a table of named goals, each a boolean target of
shape ``(n_patterns, n_outputs)``. Families group goals that RMVG samples from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from evomod.errors import ConfigError
from evomod.registry import TASKS


def all_patterns(n_inputs: int) -> np.ndarray:
    """Every input combination, shape (2**n, n); row p holds the bits of p."""
    p = np.arange(2**n_inputs)
    return ((p[:, None] >> np.arange(n_inputs)[None, :]) & 1).astype(bool)


@dataclass(frozen=True)
class Task:
    name: str
    inputs: np.ndarray
    goals: Mapping[str, np.ndarray]
    families: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    input_names: tuple[str, ...] = ()

    @property
    def n_inputs(self) -> int:
        return self.inputs.shape[1]

    @property
    def n_outputs(self) -> int:
        return next(iter(self.goals.values())).shape[1]

    @property
    def n_patterns(self) -> int:
        return self.inputs.shape[0]

    def target(self, goal: str, field_name: str = "schedule.goals") -> np.ndarray:
        if goal not in self.goals:
            raise ConfigError(field_name, f"unknown goal {goal!r} for task {self.name!r}", sorted(self.goals))
        return self.goals[goal]

    def family(self, name: str, field_name: str = "schedule.family") -> tuple[str, ...]:
        if name not in self.families:
            raise ConfigError(
                field_name, f"unknown goal family {name!r} for task {self.name!r}", sorted(self.families)
            )
        return self.families[name]


# Task modules register themselves with ``register`` (see evomod.registry).
register = TASKS.register


def task_names() -> list[str]:
    return list(TASKS.names())


def get_task(name: str) -> Task:
    return TASKS.get(name)()
