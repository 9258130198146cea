"""One registry per pluggable concept: models, costs, schedules, selections, tasks.

A registry maps the name a config gives (``model.kind``, ``cost.kind``,
``schedule.kind``, ``selection.kind``, ``task.name``) to what implements it.
The config's choice lists, the check of that field and the ``--help`` list
of choices all come from here, so adding a model, cost, schedule, selection
scheme or task is one module plus one registration::

    from evomod.registry import COSTS

    @COSTS.register("wire_count")
    class WireCount(EdgeCost):
        ...

The built-in entries register themselves when their modules are imported;
a registry imports them the first time it is asked for its names, so that
reading a config does not import every kernel up front and an entry
registered from elsewhere (a plug-in, a test) sits beside them.
"""

from __future__ import annotations

import importlib
from typing import Callable

from evomod.errors import ConfigError


class Registry:
    """Named entries of one concept, in registration order.

    ``field`` is the config field that names an entry (used in errors);
    ``builtins`` are the modules whose import registers the shipped entries.
    With ``sort_names`` the names are listed alphabetically (tasks, whose
    modules each register several) instead of in registration order.
    """

    def __init__(self, concept: str, field: str, builtins: tuple[str, ...], sort_names: bool = False):
        self.concept = concept
        self.field = field
        self._builtins = builtins
        self._sort_names = sort_names
        self._entries: dict[str, object] = {}
        self._loading = False
        self._loaded = False

    def register(self, name: str, entry=None):
        """Register ``entry`` under ``name``; without ``entry``, a decorator.

        A second entry under a taken name is a programming error, not a
        user's: it raises ``ValueError``.
        """

        def add(obj):
            if not isinstance(name, str) or not name:
                raise ValueError(f"a {self.concept} needs a non-empty name, got {name!r}")
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.concept} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return add if entry is None else add(entry)

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests that register a toy entry)."""
        self._entries.pop(name, None)

    def _load_builtins(self) -> None:
        if self._loaded or self._loading:
            return
        # _loading: a built-in module that asks for the names while it is
        # being imported must not import itself again.
        self._loading = True
        try:
            for module in self._builtins:
                importlib.import_module(module)
            self._loaded = True
        finally:
            self._loading = False

    def names(self) -> tuple[str, ...]:
        """Built-in entries in the order of ``builtins`` (whichever module was
        imported first), then the others in registration order."""
        self._load_builtins()
        if self._sort_names:
            return tuple(sorted(self._entries))
        rank = {module: i for i, module in enumerate(self._builtins)}
        order = {name: i for i, name in enumerate(self._entries)}
        return tuple(
            sorted(
                self._entries,
                key=lambda name: (
                    rank.get(getattr(self._entries[name], "__module__", None), len(rank)),
                    order[name],
                ),
            )
        )

    def __contains__(self, name) -> bool:
        return name in self.names()

    def get(self, name: str, field: str | None = None):
        """The entry for ``name``; an unknown name is a ConfigError listing the known ones."""
        names = self.names()
        if name not in self._entries:
            raise ConfigError(field or self.field, f"unknown {self.concept} {name!r}", names)
        return self._entries[name]

    def items(self) -> list[tuple[str, object]]:
        return [(name, self._entries[name]) for name in self.names()]

    def select(self, test: Callable[[object], bool]) -> tuple[str, ...]:
        """The names whose entries pass ``test`` (e.g. the costs that use positions)."""
        return tuple(name for name, entry in self.items() if test(entry))

    def help_text(self) -> str:
        """``field: name (first docstring line), ...`` for ``--help``."""
        parts = []
        for name, entry in self.items():
            doc = (getattr(entry, "__doc__", None) or "").strip().split("\n")[0].rstrip(".")
            if isinstance(entry, type) and doc.startswith(f"{entry.__name__}("):
                doc = ""  # a dataclass's generated signature, not a description
            parts.append(f"  {name}: {doc}" if doc else f"  {name}")
        return f"{self.field}:\n" + "\n".join(parts)


MODELS = Registry(
    "model", "model.kind", ("evomod.models.layered", "evomod.models.circuit", "evomod.models.threshold")
)
COSTS = Registry("cost", "cost.kind", ("evomod.costs",))
SCHEDULES = Registry("schedule", "schedule.kind", ("evomod.schedules",))
SELECTIONS = Registry("selection", "selection.kind", ("evomod.selection",))
TASKS = Registry("task", "task.name", ("evomod.tasks.retina", "evomod.tasks.logic"), sort_names=True)

ALL = (TASKS, MODELS, SCHEDULES, COSTS, SELECTIONS)


def choices_help() -> str:
    """Every registry's choices, for ``evomod run --help``."""
    return "config choices:\n" + "\n".join(registry.help_text() for registry in ALL)
