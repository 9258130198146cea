"""The loop measures Q from a genome's arrays (``LogMeasure.of_genome``),
skipping the JSON; its numbers must be the JSON path's, on every model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evomod import config as config_mod
from evomod.build import build_parts
from evomod.modularity.tracking import LogMeasure, measure_network

MODELS = {
    "circuit": {"model": {"kind": "circuit"}, "task": {"name": "logic4"}},
    "circuit feedback": {
        "model": {"kind": "circuit", "feedback": True, "gates": 10},
        "task": {"name": "logic4"},
    },
    "circuit binary": {"model": {"kind": "circuit", "genome": "binary"}, "task": {"name": "logic4"}},
    "circuit 6 inputs": {"model": {"kind": "circuit", "gates": 20}, "task": {"name": "logic6"}},
    "threshold": {"model": {"kind": "threshold"}, "task": {"name": "retina"}},
    "layered": {"model": {"kind": "layered"}, "task": {"name": "retina"}},
    "layered literal": {"model": {"kind": "layered", "operators": "literal"}, "task": {"name": "retina"}},
}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a
    )


@pytest.mark.parametrize("name", sorted(MODELS))
def test_measure_of_genome_is_measure_of_its_json(name):
    model = build_parts(config_mod.from_dict(MODELS[name])).model
    rng = np.random.default_rng(3)
    genomes = model.random(40, rng)
    for _ in range(3):  # a few rounds of mutation: sparser and denser networks than the random ones
        genomes = {
            k: np.concatenate([v, w])
            for (k, v), w in zip(genomes.items(), model.mutate(genomes, rng).values())
        }
    values = set()
    for directed in (False, True):
        for method in ("spectral", "clune"):
            measure = LogMeasure(directed, method)
            for i in range(len(next(iter(genomes.values())))):
                one = {k: v[i : i + 1] for k, v in genomes.items()}
                expected = measure_network(model.to_json(genomes, i), directed, method)
                assert same(measure.of_genome(model, one), expected), (name, directed, method, i)
                values.add(round(expected["q"], 9))
    assert len(values) > 10  # the networks differ, and so do their Q values
