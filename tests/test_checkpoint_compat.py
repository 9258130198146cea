"""Checkpoints written before the stdlib ``random`` state was dropped still resume."""

import json
import random

import numpy as np

from evomod import checkpoint, runs
from evomod.rundir import read_log


class Interrupt(Exception):
    pass


def stop_at(generation):
    def hook(evolution, state):
        if state.generation == generation:
            raise Interrupt

    return hook


def as_older_version(directory):
    """Add the stdlib_state field an older evomod saved (encoded as it encoded
    it: a tuple of tuples), with its checksum."""
    path = directory / checkpoint.JSON_FILE
    doc = json.loads(path.read_text())
    encoded = checkpoint._Encoder().encode(random.Random(1).getstate(), "stdlib_state")
    assert "__tuple__" in encoded
    doc["state"]["stdlib_state"] = encoded
    doc["state_sha256"] = checkpoint.sha256_text(checkpoint.canonical_json(doc["state"]))
    path.write_text(json.dumps(doc) + "\n")


def test_a_checkpoint_holding_the_stdlib_state_resumes_bit_identically(tmp_path, small_config):
    config = small_config(generations=30, checkpoint_every=10)
    try:
        runs.start(config, tmp_path / "old", quiet=True, hooks=(stop_at(15),))
    except Interrupt:
        pass
    as_older_version(tmp_path / "old")
    runs.resume(tmp_path / "old", quiet=True)
    runs.start(config, tmp_path / "whole", quiet=True)
    strip = [{k: v for k, v in row.items() if k != "elapsed"} for row in read_log(tmp_path / "old")]
    assert strip == [{k: v for k, v in row.items() if k != "elapsed"} for row in read_log(tmp_path / "whole")]
    with (
        np.load(tmp_path / "old" / "population.npz") as a,
        np.load(tmp_path / "whole" / "population.npz") as b,
    ):
        assert all(np.array_equal(a[k], b[k]) for k in a.files)
