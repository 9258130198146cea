"""Run configuration: TOML in, a validated ``Config`` out.

This module is the one place where a bad field becomes a clear error: every
check names the field (``section.key``) and the allowed values. Defaults are
the papers' values (``shared/reference/papers.md``).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from evomod.errors import ConfigError

TREATMENTS = ("PA", "P&CC", "P&RO")
STOP_WHEN = ("never", "current_goal", "all_goals")


def spec(default, kind, *, choices=None, minimum=None, maximum=None, exclusive_min=False,
         item=None, nullable=False):
    """A config field: its default, type and allowed values."""
    meta = dict(kind=kind, choices=choices, minimum=minimum, maximum=maximum,
                exclusive_min=exclusive_min, item=item, nullable=nullable)
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _check_value(name, value, kind, choices=None, minimum=None, maximum=None,
                 exclusive_min=False, item=None, nullable=False):
    if value is None and nullable:
        return None
    if kind is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(name, f"must be a list, got {value!r}")
        return tuple(_check_value(f"{name}[{i}]", v, item) if item else v for i, v in enumerate(value))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or (kind in (int, float) and isinstance(value, bool)):
        raise ConfigError(name, f"must be {kind.__name__}, got {value!r}")
    if choices is not None and value not in choices:
        raise ConfigError(name, f"unknown value {value!r}", choices)
    if minimum is not None and (value <= minimum if exclusive_min else value < minimum):
        raise ConfigError(name, f"{value!r} is too small", f"{'>' if exclusive_min else '>='} {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"{value!r} is too large", f"<= {maximum}")
    return value


def _build(cls, data: Any, section: str):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(section, f"must be a table, got {data!r}")
    known = [f.name for f in fields(cls)]
    for key in data:
        if key not in known:
            raise ConfigError(f"{section}.{key}" if section else key, "unknown field", known)
    values = {}
    for f in fields(cls):
        if f.name in data:
            values[f.name] = _check_value(f"{section}.{f.name}" if section else f.name,
                                          data[f.name], **f.metadata)
    return cls(**values)


@dataclass(frozen=True)
class TaskSpec:
    name: str = spec("retina", str)


@dataclass(frozen=True)
class ScheduleSpec:
    kind: str = spec("fixed", str, choices=("fixed", "alternating", "serial", "rmvg"))
    goals: tuple = spec(("and",), list, item=str)
    period: int = spec(20, int, minimum=1)
    family: str | None = spec(None, str, nullable=True)


@dataclass(frozen=True)
class LayeredSpec:
    kind: str = spec("layered", str)
    layers: tuple = spec((8, 8, 4, 2, 1), list, item=int)
    weights: tuple = spec((-2, -1, 1, 2), list, item=int)
    bias_min: int = spec(-2, int)
    bias_max: int = spec(2, int)
    lam: float = spec(20.0, float, minimum=0.0, exclusive_min=True)
    add_connection_rate: float = spec(0.2, float, minimum=0.0, maximum=1.0)
    remove_connection_rate: float = spec(0.2, float, minimum=0.0, maximum=1.0)
    bias_rate: float = spec(1 / 24, float, minimum=0.0, maximum=1.0)
    weight_rate_scale: float = spec(2.0, float, minimum=0.0)
    init_connections_max: int = spec(120, int, minimum=0)


@dataclass(frozen=True)
class CircuitSpec:
    """Kashtan & Alon 2005's NAND circuits (see evomod.models.circuit)."""
    kind: str = spec("circuit", str)
    gates: int = spec(14, int, minimum=1)
    feedback: bool = spec(False, bool)
    settle_steps: int | None = spec(None, int, minimum=1, nullable=True)
    threshold: int = spec(11, int, minimum=0)
    penalty_per_gate: float = spec(0.2, float, minimum=0.0)
    mutation_probability: float = spec(0.7, float, minimum=0.0, maximum=1.0)


@dataclass(frozen=True)
class ThresholdSpec:
    """Kashtan & Alon 2005's threshold retina networks (see evomod.models.threshold)."""
    kind: str = spec("threshold", str)
    layers: tuple = spec((8, 8, 4, 2, 1), list, item=int)
    fan_in: int = spec(3, int, minimum=1)
    output_fan_in: int = spec(2, int, minimum=1)
    threshold_min: int = spec(-3, int)
    threshold_max: int = spec(3, int)
    neuron_threshold: int = spec(13, int, minimum=0)
    penalty_per_neuron: float = spec(0.01, float, minimum=0.0)
    mutation_probability: float = spec(0.5, float, minimum=0.0, maximum=1.0)
    crossover_probability: float = spec(0.5, float, minimum=0.0, maximum=1.0)


MODEL_SPECS: dict[str, type] = {"layered": LayeredSpec, "circuit": CircuitSpec,
                                "threshold": ThresholdSpec}

# Choosing a Kashtan & Alon model brings that paper's setup with it; any field
# the config sets itself still wins. Their best individual changes almost every
# generation (many neutral equals), so Q is logged every 10 generations with
# the spectral method to keep logging under 10 % of the run time.
MODEL_DEFAULTS: dict[str, dict] = {
    "circuit": {"task": {"name": "logic4"}, "schedule": {"goals": ["G1"]},
                "selection": {"kind": "elitist", "elite": 300, "treatment": "PA"},
                "cost": {"kind": "none"}, "population": 1000, "modularity_method": "spectral",
                "modularity_directed": False, "log_modularity_every": 10},
    "threshold": {"task": {"name": "retina"}, "schedule": {"goals": ["and"]},
                  "selection": {"kind": "elitist", "elite": 150, "treatment": "PA"},
                  "cost": {"kind": "none"}, "population": 600, "sample_patterns": 100,
                  "modularity_method": "spectral", "modularity_directed": False,
                  "log_modularity_every": 10},
}


@dataclass(frozen=True)
class CostSpec:
    kind: str = spec("squared_length", str,
                     choices=("none", "count", "squared_length", "distance_weighted"))
    positions: str = spec("model", str, choices=("model", "random_inputs", "index", "custom"))
    custom_positions: tuple | None = spec(None, list, item=list, nullable=True)
    power: float = spec(1.0, float, minimum=0.0)
    weight: float = spec(0.0, float, minimum=0.0)


@dataclass(frozen=True)
class SelectionSpec:
    kind: str = spec("pnsga2", str, choices=("pnsga2", "elitist"))
    treatment: str = spec("P&CC", str, choices=TREATMENTS)
    cost_probability: float = spec(0.25, float, minimum=0.0, maximum=1.0)
    elite: int = spec(300, int, minimum=1)


@dataclass(frozen=True)
class Config:
    seed: int = spec(0, int, minimum=0)
    generations: int = spec(25000, int, minimum=0)
    population: int = spec(1000, int, minimum=2)
    checkpoint_every: int = spec(1000, int, minimum=1)
    hall_of_fame: int = spec(10, int, minimum=1)
    log_modularity_every: int = spec(1, int, minimum=0)
    modularity_method: str = spec("clune", str, choices=("auto", "exact", "spectral", "clune"))
    modularity_directed: bool = spec(True, bool)
    sample_patterns: int = spec(0, int, minimum=0)
    stop_when: str = spec("never", str, choices=STOP_WHEN)
    objective: str = spec("task", str, choices=("task", "modularity"))
    task: TaskSpec = field(default_factory=TaskSpec)
    schedule: ScheduleSpec = field(default_factory=ScheduleSpec)
    model: Any = field(default_factory=LayeredSpec)
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
        raise ConfigError("config", "must be a table of settings")
    data = dict(data)
    if seed is not None:
        data["seed"] = seed
    model_section = data.get("model")
    kind = model_section.get("kind", "layered") if isinstance(model_section, dict) else None
    for key, value in MODEL_DEFAULTS.get(kind, {}).items():
        if isinstance(value, dict):
            given = data.get(key)
            if given is None or isinstance(given, dict):
                data[key] = {**value, **(given or {})}
        else:
            data.setdefault(key, value)
    sections = {}
    for name, cls in SECTIONS.items():
        sections[name] = _build(cls, data.pop(name, None), name)
    raw_model = data.pop("model", None) or {}
    if not isinstance(raw_model, dict):
        raise ConfigError("model", f"must be a table, got {raw_model!r}")
    model_kind = raw_model.get("kind", "layered")
    if model_kind not in MODEL_SPECS:
        raise ConfigError("model.kind", f"unknown model {model_kind!r}", sorted(MODEL_SPECS))
    sections["model"] = _build(MODEL_SPECS[model_kind], raw_model, "model")
    top = _build(Config, data, "")
    config = Config(**{**{f.name: getattr(top, f.name) for f in fields(Config)
                          if f.name not in sections}, **sections})
    validate(config)
    return config


def load(path: str | Path, seed: int | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError("config", f"cannot read {path}: {err.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("config", f"{path} is not valid TOML: {err}") from None
    return from_dict(data, seed)


def validate(config: Config) -> None:
    """Checks that span fields: the parts must fit together."""
    # Deferred imports: building the task and model is the real test of fit.
    from evomod.build import build_parts
    build_parts(config)
