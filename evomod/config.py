"""Run configuration: TOML in, a validated ``Config`` out.

This module is the one place where a bad field becomes a clear error: every
check names the field (``section.key``) and the allowed values. Defaults are
the papers' values (``shared/reference/papers.md``).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from evomod.errors import ConfigError, FileError
from evomod.registry import COSTS, MODELS, SCHEDULES, SELECTIONS, Registry

TREATMENTS = ("PA", "P&CC", "P&RO")
DEFAULT_MODEL = "layered"
# Where a cost's node positions come from (see evomod.costs).
POSITION_KINDS = ("model", "random_inputs", "uniform_inputs", "index", "custom")
# "simplified": only edges on a path to an output are charged, as in the
# authors' code (dead-end connections are free); "all": every connection.
COST_SCOPES = ("simplified", "all")
# "steady": the best is perfect at the end of ``steady_epochs`` consecutive
# epochs (Kashtan & Alon's MVG populations that keep re-adapting).
# Q maximisers (evomod.modularity.maximize reads this list).
MODULARITY_METHODS = ("auto", "exact", "spectral", "clune")
STOP_WHEN = ("never", "current_goal", "all_goals", "steady")

# Upper bounds of counts. They admit every shipped config and the papers' setups
# (population 2,000, 3e5 generations, 26 gates) many times over, and keep
# the arrays a run allocates small; evomod.build also bounds the layered
# model's connection slots and population x network size (memory).
MAX_SEED = 2**32 - 1
MAX_GENERATIONS = 10**8
MAX_POPULATION = 100_000
MAX_HALL_OF_FAME = 1_000
MAX_PATTERNS = 2**20
MAX_GOALS = 10_000
MAX_LAYERS = 16
MAX_LAYER_WIDTH = 1_024
MAX_SLOTS = 250_000  # connection slots of a layered network (sum of w[i] * w[i+1])
MAX_WEIGHT_VALUES = 254
MAX_GATES = 1_000
MAX_SETTLE_STEPS = 100_000
MAX_NODES = MAX_LAYERS * MAX_LAYER_WIDTH
MAX_POWER = 10.0


# Counts without a maximum of their own stop here (far above any real
# setting): a 23-digit number is refused, never run.
INT_CEILING = 2**31 - 1
# A config file larger than this is not a config.
MAX_FILE_BYTES = 16 * 2**20
_TYPE_NAMES = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def spec(
    default,
    kind,
    *,
    choices=None,
    minimum=None,
    maximum=None,
    exclusive_min=False,
    item=None,
    nullable=False,
    min_items=None,
    max_items=None,
    finite=True,
):
    """A config field: its default, type and allowed values.

    Numbers must be finite unless ``finite=False``. An int field without its
    own ``maximum`` (``minimum``) is bounded by ``INT_CEILING`` (its negative).
    ``item`` is the type of a list's items, or a dict of these keywords (with
    ``kind``) for bounded or nested items; ``min_items``/``max_items`` bound a
    list's length.
    """
    meta = dict(
        kind=kind,
        choices=choices,
        minimum=minimum,
        maximum=maximum,
        exclusive_min=exclusive_min,
        item=item,
        nullable=nullable,
        min_items=min_items,
        max_items=max_items,
        finite=finite,
    )
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _item_meta(item) -> dict:
    return dict(item) if isinstance(item, dict) else {"kind": item}


def _show(value) -> str:
    """A value as the message shows it: its repr, on one line, cut when long."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _int_bounds(minimum, maximum):
    return (-INT_CEILING if minimum is None else minimum, INT_CEILING if maximum is None else maximum)


def _range_text(minimum, maximum, exclusive_min=False) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if exclusive_min else '>='} {_number(minimum)}")
    if maximum is not None:
        parts.append(f"<= {_number(maximum)}")
    return " and ".join(parts)


def allowed_values(
    kind,
    choices=None,
    minimum=None,
    maximum=None,
    exclusive_min=False,
    item=None,
    nullable=False,
    min_items=None,
    max_items=None,
    finite=True,
):
    """What a field accepts, as the ``(allowed: ...)`` part of its errors."""
    if isinstance(choices, Registry):
        choices = choices.names()
    if choices is not None:
        return tuple(choices)
    if kind is bool:
        return "true, false"
    if kind is int:
        text = "an integer " + _range_text(*_int_bounds(minimum, maximum), exclusive_min)
    elif kind is float:
        text = ("a finite number " if finite else "a number ") + _range_text(minimum, maximum, exclusive_min)
    elif kind is list:
        if min_items is not None and max_items is not None:
            count = f"{min_items}" if min_items == max_items else f"{min_items} to {max_items}"
        elif min_items is not None:
            count = f"at least {min_items}"
        elif max_items is not None:
            count = f"at most {max_items}"
        else:
            count = "any number of"
        text = f"a list of {count} items"
        if item is not None:
            inner = allowed_values(**_item_meta(item))
            if isinstance(inner, tuple):
                inner = "one of " + ", ".join(repr(c) for c in inner)
            text += f", each {inner}"
    else:
        text = _TYPE_NAMES.get(kind, getattr(kind, "__name__", str(kind)))
    return text.strip()


def _check_value(
    name,
    value,
    kind,
    choices=None,
    minimum=None,
    maximum=None,
    exclusive_min=False,
    item=None,
    nullable=False,
    min_items=None,
    max_items=None,
    finite=True,
):
    """``value`` checked against a field's spec and converted (lists to tuples,
    whole floats to int, ints to float); anything else is a ConfigError."""
    allowed = allowed_values(
        kind, choices, minimum, maximum, exclusive_min, item, nullable, min_items, max_items, finite
    )

    def refuse(problem):
        raise ConfigError(name, problem, allowed)

    type_name = _TYPE_NAMES.get(kind, getattr(kind, "__name__", str(kind)))
    if value is None:
        if nullable:
            return None
        refuse(f"must be {type_name}, got nothing (null)")
    if kind is list:
        if not isinstance(value, (list, tuple)):
            refuse(f"must be a list, got {_show(value)}")
        if min_items is not None and len(value) < min_items:
            refuse(f"has {len(value)} items, too few")
        if max_items is not None and len(value) > max_items:
            refuse(f"has {len(value)} items, too many")
        if item is None:
            return tuple(value)
        inner = _item_meta(item)
        return tuple(_check_value(f"{name}[{i}]", v, **inner) for i, v in enumerate(value))
    if kind is bool:
        if not isinstance(value, bool):
            refuse(f"must be true or false, got {_show(value)}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            refuse(f"must be an integer, got {_show(value)}")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            refuse(f"must be a whole number, got {_show(value)}")
        low, high = _int_bounds(minimum, maximum)
        if value < low or (exclusive_min and value == low):
            refuse(f"{_show(value)} is too small")
        if value > high:
            refuse(f"{_show(value)} is too large")
        value = int(value)
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            refuse(f"must be a number, got {_show(value)}")
        try:
            value = float(value)
        except OverflowError:
            refuse(f"{_show(value)} is too large")
        if math.isnan(value) or (finite and math.isinf(value)):
            refuse(f"must be a finite number, got {value}")
        if minimum is not None and (value <= minimum if exclusive_min else value < minimum):
            refuse(f"{_show(value)} is too small")
        if maximum is not None and value > maximum:
            refuse(f"{_show(value)} is too large")
    elif not isinstance(value, kind):
        refuse(f"must be {type_name}, got {_show(value)}")
    if choices is not None and value not in choices:
        refuse(f"unknown value {_show(value)}")
    return value


def _build(cls, data: Any, section: str):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            section,
            f"must be a table, got {_show(data)}",
            f"a [{section}] table" if section else "a table of settings",
        )
    known = [f.name for f in fields(cls)]
    for key in data:
        if key not in known:
            raise ConfigError(f"{section}.{key}" if section else str(key), "unknown field", known)
    values = {}
    for f in fields(cls):
        if f.name in data and "kind" in f.metadata:
            values[f.name] = _check_value(
                f"{section}.{f.name}" if section else f.name, data[f.name], **f.metadata
            )
    return cls(**values)


@dataclass(frozen=True)
class TaskSpec:
    name: str = spec("retina", str)


@dataclass(frozen=True)
class ScheduleSpec:
    kind: str = spec("fixed", str, choices=SCHEDULES)
    goals: tuple = spec(("and",), list, item=str, min_items=1, max_items=MAX_GOALS)
    period: int = spec(20, int, minimum=1, maximum=MAX_GENERATIONS)
    family: str | None = spec(None, str, nullable=True)


@dataclass(frozen=True)
class CostSpec:
    kind: str = spec("squared_length", str, choices=COSTS)
    positions: str = spec("model", str, choices=POSITION_KINDS)
    custom_positions: tuple | None = spec(
        None,
        list,
        nullable=True,
        max_items=MAX_NODES,
        item=dict(kind=list, item=float, min_items=2, max_items=2),
    )
    power: float = spec(1.0, float, minimum=0.0, maximum=MAX_POWER)
    weight: float = spec(0.0, float, minimum=0.0)
    scope: str = spec("simplified", str, choices=COST_SCOPES)


@dataclass(frozen=True)
class SelectionSpec:
    kind: str = spec("pnsga2", str, choices=SELECTIONS)
    treatment: str = spec("P&CC", str, choices=TREATMENTS)
    cost_probability: float = spec(0.25, float, minimum=0.0, maximum=1.0)
    elite: int = spec(300, int, minimum=1, maximum=MAX_POPULATION - 1)
    operators: str = spec("authors", str, choices=("authors", "literal"))
    sort: str = spec("counting", str, choices=("counting", "peeling"))


@dataclass(frozen=True)
class Config:
    seed: int = spec(0, int, minimum=0, maximum=MAX_SEED)
    generations: int = spec(25000, int, minimum=0, maximum=MAX_GENERATIONS)
    population: int = spec(1000, int, minimum=2, maximum=MAX_POPULATION)
    checkpoint_every: int = spec(1000, int, minimum=1, maximum=MAX_GENERATIONS)
    hall_of_fame: int = spec(10, int, minimum=1, maximum=MAX_HALL_OF_FAME)
    log_modularity_every: int = spec(1, int, minimum=0, maximum=MAX_GENERATIONS)
    # Q of every top-fitness member of the first front: hundreds of distinct
    # networks once a population is perfect, so far rarer than the best's Q.
    # Pareto selections only: the elitist GA has no fronts.
    log_front_every: int = spec(100, int, minimum=0, maximum=MAX_GENERATIONS)
    modularity_method: str = spec("clune", str, choices=MODULARITY_METHODS)
    modularity_directed: bool = spec(True, bool)
    sample_patterns: int = spec(0, int, minimum=0, maximum=MAX_PATTERNS)
    stop_when: str = spec("never", str, choices=STOP_WHEN)
    steady_epochs: int = spec(2, int, minimum=1)
    objective: str = spec("task", str, choices=("task", "modularity"))
    task: TaskSpec = field(default_factory=TaskSpec)
    schedule: ScheduleSpec = field(default_factory=ScheduleSpec)
    # The [model] table's class is the registered model's (evomod.registry.MODELS).
    model: Any = field(default_factory=lambda: MODELS.get(DEFAULT_MODEL)())
    cost: CostSpec = field(default_factory=CostSpec)
    selection: SelectionSpec = field(default_factory=SelectionSpec)

    def to_dict(self) -> dict:
        return _plain(asdict(self))


SECTIONS = {"task": TaskSpec, "schedule": ScheduleSpec, "cost": CostSpec, "selection": SelectionSpec}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def from_dict(data: dict, seed: int | None = None) -> Config:
    """Validate a raw mapping (parsed TOML or a saved config.json)."""
    if not isinstance(data, dict):
        raise ConfigError("config", f"must be a table of settings, got {_show(data)}")
    data = dict(data)
    if seed is not None:
        data["seed"] = seed
    raw_model = data.pop("model", None)
    if raw_model is None:
        raw_model = {}
    if not isinstance(raw_model, dict):
        raise ConfigError("model", f"must be a table, got {_show(raw_model)}", "a [model] table")
    kind = _check_value("model.kind", raw_model.get("kind", DEFAULT_MODEL), str, choices=MODELS)
    model_spec = MODELS.get(kind)
    # Choosing a model brings its paper's setup with it (its spec's
    # ``paper_setup``); any field the config sets itself still wins.
    for key, value in getattr(model_spec, "paper_setup", {}).items():
        if isinstance(value, dict):
            given = data.get(key)
            if given is None or isinstance(given, dict):
                data[key] = {**value, **(given or {})}
        else:
            data.setdefault(key, value)
    sections = {}
    for name, cls in SECTIONS.items():
        sections[name] = _build(cls, data.pop(name, None), name)
    sections["model"] = _build(model_spec, raw_model, "model")
    top = _build(Config, data, "")
    config = Config(
        **{**{f.name: getattr(top, f.name) for f in fields(Config) if f.name not in sections}, **sections}
    )
    refuse_unused(config)
    validate(config)
    return config


# -- fields that do not apply -----------------------------------------------------


def _unused_rules(config: Config):
    """``(field, applies, situation, requirement, checked_when_resolved)`` per rule.

    A field that does not apply to the chosen kind is refused, not ignored.
    A resolved config (config.json) holds every field, so there only a value
    other than the default counts as given (last element True); the rest are
    checked where the user's own file is read (:func:`load`).
    """
    cost, sel, sch, model = config.cost, config.selection, config.schedule, config.model
    feedback = getattr(model, "feedback", False)
    edge_cost, scheme = COSTS.get(cost.kind), SELECTIONS.get(sel.kind)
    powered = COSTS.select(lambda c: c.uses_power)
    placed = COSTS.select(lambda c: c.uses_positions)
    penalising = SELECTIONS.select(lambda s: s.cost_as_penalty)
    switching = SCHEDULES.select(lambda s: s.uses_period)
    rules = [
        (
            "cost.custom_positions",
            cost.positions == "custom",
            f"cost.positions is {cost.positions!r}",
            "only with cost.positions = 'custom'",
            True,
        ),
        (
            "cost.power",
            edge_cost.uses_power,
            f"cost.kind is {cost.kind!r}",
            f"only with cost.kind = {_either(powered)}",
            True,
        ),
        (
            "cost.positions",
            edge_cost.uses_positions,
            f"cost.kind {cost.kind!r} uses no positions",
            f"only with cost.kind = {_either(placed)}",
            True,
        ),
        (
            "cost.weight",
            scheme.cost_as_penalty and sel.treatment == "P&CC",
            f"selection is {sel.kind!r} with treatment {sel.treatment!r}",
            f"only with selection.kind = {_either(penalising)} and selection.treatment = 'P&CC' "
            "(the other schemes keep the cost a separate objective)",
            True,
        ),
        ("model.settle_steps", feedback, "model.feedback is false", "only with model.feedback = true", True),
        (
            "schedule.period",
            SCHEDULES.get(sch.kind).uses_period,
            f"schedule.kind is {sch.kind!r}",
            f"only with schedule.kind = {_either(switching)}",
            False,
        ),
        (
            "schedule.goals",
            sch.family is None,
            f"schedule.family {sch.family!r} supplies the goals",
            "either schedule.goals or schedule.family, not both",
            False,
        ),
    ]
    # The schemes' own [selection] fields (elitist's elite, pnsga2's cost_probability).
    own = dict.fromkeys(key for _, other in SELECTIONS.items() for key in sorted(other.own_fields))
    for key in own:
        owners = SELECTIONS.select(lambda s: key in s.own_fields)
        rules.append(
            (
                f"selection.{key}",
                key in scheme.own_fields,
                f"selection.kind is {sel.kind!r}",
                f"only with selection.kind = {_either(owners)}",
                False,
            )
        )
    return rules


def _either(names) -> str:
    """'a', 'a' or 'b', 'a', 'b' or 'c': a requirement's list of kinds."""
    quoted = [repr(n) for n in names] or ["(none registered)"]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _given(raw: dict, dotted: str) -> bool:
    section, _, key = dotted.rpartition(".")
    table = raw.get(section) if section else raw
    return isinstance(table, dict) and key in table


def refuse_unused(config: Config, given: dict | None = None) -> None:
    """Refuse a field that has no effect under the config's other choices.

    With ``given`` (the mapping the user wrote), any field present counts;
    without it, a field counts when it differs from its default.
    """
    defaults = {
        "cost": CostSpec(),
        "selection": SelectionSpec(),
        "schedule": ScheduleSpec(),
        "model": type(config.model)(),
    }
    for name, applies, situation, requirement, resolved in _unused_rules(config):
        if applies:
            continue
        section, _, key = name.partition(".")
        if given is not None:
            set_here = _given(given, name)
        else:
            if not resolved or not hasattr(defaults[section], key):
                continue
            set_here = getattr(getattr(config, section), key) != getattr(defaults[section], key)
        if set_here:
            raise ConfigError(name, f"has no effect here ({situation}); remove it", requirement)


# -- reading files ---------------------------------------------------------------


def read_text(path: str | Path, what: str, kind: str, limit: int = MAX_FILE_BYTES) -> str:
    """A file's text, which must be UTF-8; anything else is one ConfigError naming the file."""
    path = Path(path)
    try:
        if path.is_dir():
            raise FileError(what, f"{path} is a directory, not a {kind} file")
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as err:
        raise FileError(what, f"cannot read {path}: {err.strerror or err}") from None
    if len(raw) > limit:
        raise FileError(what, f"{path} is larger than {limit // 2**20} MiB: not a {kind} file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileError(what, f"{path} is UTF-16 text; save it as UTF-8", "UTF-8 text")
    if b"\x00" in raw:
        raise FileError(what, f"{path} is a binary file, not {kind} text", "UTF-8 text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise FileError(
            what, f"{path} is not UTF-8 text (byte 0x{raw[err.start]:02x} on line {line})", "UTF-8 text"
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def read_toml(path: str | Path, what: str = "config") -> dict:
    """A TOML file, read as UTF-8, as a dict; every failure is one ConfigError."""
    text = read_text(path, what, "TOML")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        detail = " ".join(str(err).split())
        raise FileError(what, f"{path} is not valid TOML: {detail}") from None
    except RecursionError:
        raise FileError(what, f"{path} nests arrays or tables too deeply to be a config") from None
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise FileError(
            what, f"{path} is not valid TOML: {' '.join(str(err).split(';')[0].split())}"
        ) from None


def _sets_anything(value) -> bool:
    if isinstance(value, dict):
        return any(_sets_anything(v) for v in value.values())
    return True


def load(path: str | Path, seed: int | None = None) -> Config:
    """A config file, validated: as ``from_dict``, and a field the file sets
    that has no effect under its other choices is refused."""
    data = read_toml(path)
    if not _sets_anything(data):
        raise ConfigError(
            "config",
            f"{path} sets nothing; a run would silently use every default",
            'set at least the run\'s [task] name or [model] kind, e.g. [task] name = "retina"',
        )
    config = from_dict(data, seed)
    refuse_unused(config, given=data)
    return config


def validate(config: Config) -> None:
    """Checks that span fields: the parts must fit together."""
    # Deferred imports: building the task and model is the real test of fit.
    from evomod.build import build_parts

    build_parts(config)
