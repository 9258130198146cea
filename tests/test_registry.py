"""A new model, schedule or cost is one class plus one registration call.

Each toy below is defined here, registered with one call (in a fixture, so
that other tests never see it among the allowed values) and run through the
normal path: a TOML file, ``evomod run``, the run directory.
"""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from evomod import cli
from evomod.config import spec
from evomod.costs import EdgeCost
from evomod.errors import ConfigError
from evomod.models.base import NetworkModel
from evomod.registry import COSTS, MODELS, SCHEDULES
from evomod.rundir import read_log
from evomod.schedules import ScheduleKind


class Perceptron(NetworkModel):
    """One threshold unit per output reading every input: sign(sum w x) > 0."""

    kind = "perceptron"

    def __init__(self, n_inputs, n_outputs, mutation_rate):
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        self.n_nodes = n_inputs + n_outputs
        self.mutation_rate = mutation_rate

    def random(self, n, rng):
        return {"w": rng.integers(-1, 2, size=(n, self.n_outputs, self.n_inputs)).astype(np.int8)}

    def mutate(self, genomes, rng):
        w = genomes["w"].copy()
        flip = rng.random(w.shape) < self.mutation_rate
        w[flip] = rng.integers(-1, 2, size=int(flip.sum()))
        return {"w": w}

    def outputs(self, genomes, inputs):
        x = np.where(np.asarray(inputs, dtype=bool), 1, -1)
        return np.einsum("noi,pi->npo", genomes["w"].astype(np.int64), x) > 0

    def edges(self, genomes):
        w = genomes["w"]
        n = len(w)
        src = np.tile(np.arange(self.n_inputs), self.n_outputs)
        dst = np.repeat(np.arange(self.n_outputs) + self.n_inputs, self.n_inputs)
        return (
            np.broadcast_to(src, (n, src.size)),
            np.broadcast_to(dst, (n, dst.size)),
            w.reshape(n, -1).astype(np.float64),
        )

    def positions(self):
        x = np.concatenate([np.arange(self.n_inputs), np.arange(self.n_outputs)]).astype(float)
        y = np.concatenate([np.zeros(self.n_inputs), np.ones(self.n_outputs)])
        return np.column_stack([x, y])

    def to_json(self, genomes, i):
        src, dst, w = self.edges({"w": genomes["w"][i : i + 1]})
        nodes = [{"id": k, "layer": int(k >= self.n_inputs), "bias": None} for k in range(self.n_nodes)]
        edges = [[int(s), int(d), int(v)] for s, d, v in zip(src[0], dst[0], w[0]) if v]
        return {"kind": self.kind, "layers": [self.n_inputs, self.n_outputs], "nodes": nodes, "edges": edges}

    def from_json(self, data):
        w = np.zeros((1, self.n_outputs, self.n_inputs), dtype=np.int8)
        for s, d, v in data["edges"]:
            w[0, d - self.n_inputs, s] = v
        return {"w": w}


@dataclass(frozen=True)
class PerceptronSpec:
    """A toy model: one threshold unit per output."""

    kind: str = spec("perceptron", str)
    mutation_rate: float = spec(0.1, float, minimum=0.0, maximum=1.0)

    def build(self, task):
        return Perceptron(task.n_inputs, task.n_outputs, self.mutation_rate)


class Backwards(ScheduleKind):
    """A toy schedule: the goal list cycled from its end."""

    min_goals = 2

    def goal_index(self, epoch):
        return -(epoch + 1) % len(self.goals)


class SquaredCount(EdgeCost):
    """A toy cost: the number of connections, squared."""

    def of_edges(self, src, dst, weight, cost):
        return (weight != 0).sum(axis=1).astype(np.float64) ** 2


@pytest.fixture
def registered():
    MODELS.register("perceptron", PerceptronSpec)
    SCHEDULES.register("backwards", Backwards)
    COSTS.register("squared_count", SquaredCount)
    yield
    MODELS.unregister("perceptron")
    SCHEDULES.unregister("backwards")
    COSTS.unregister("squared_count")


def run(tmp_path, toml: str):
    (tmp_path / "run.toml").write_text(toml)
    assert cli.main(["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    return read_log(tmp_path / "out"), json.loads((tmp_path / "out" / "best.json").read_text())


def test_a_registered_model_evolves(tmp_path, registered):
    log, best = run(
        tmp_path,
        """
seed = 3
generations = 40
population = 40
log_modularity_every = 0
[task]
name = "retina"
[model]
kind = "perceptron"
mutation_rate = 0.05
[cost]
kind = "none"
[selection]
kind = "elitist"
treatment = "PA"
elite = 10
""",
    )
    assert len(log) == 40
    assert log[-1]["best"] >= log[0]["best"]
    assert best["networks"][0]["network"]["kind"] == "perceptron"


def test_a_registered_model_is_among_the_allowed_kinds(registered):
    from evomod import config as config_mod

    with pytest.raises(ConfigError) as err:
        config_mod.from_dict({"model": {"kind": "perceptrn"}})
    assert "'perceptron'" in str(err.value)
    with pytest.raises(ConfigError, match="model.mutation_rate"):
        config_mod.from_dict({"model": {"kind": "perceptron", "mutation_rate": 2}})


def test_unregistered_kinds_are_refused():
    from evomod import config as config_mod

    with pytest.raises(ConfigError, match="model.kind: unknown value 'perceptron'"):
        config_mod.from_dict({"model": {"kind": "perceptron"}})


def test_a_registered_schedule_drives_the_goals(tmp_path, registered):
    log, _ = run(
        tmp_path,
        """
seed = 1
generations = 12
population = 20
log_modularity_every = 0
[schedule]
kind = "backwards"
goals = ["and", "or", "xor"]
period = 4
""",
    )
    assert [row["goal"] for row in log[::4]] == ["xor", "or", "and"]


def test_a_registered_cost_is_selected_on(tmp_path, registered):
    log, best = run(
        tmp_path,
        """
seed = 2
generations = 10
population = 20
log_modularity_every = 0
[cost]
kind = "squared_count"
scope = "all"
[selection]
treatment = "P&CC"
""",
    )
    assert all(row["cost"] == row["connections"] ** 2 for row in log)
    assert best["networks"][0]["cost"] == len(best["networks"][0]["network"]["edges"]) ** 2
