"""log.csv is appended at each checkpoint; the checkpoint records how far it
reached, so its size does not grow with the run, and a resume cuts off rows
written after the last checkpoint."""

import dataclasses
import hashlib
import json
import math

import pytest

from evomod import checkpoint, runs
from evomod.errors import FileError
from evomod.evolve import State
from evomod.rundir import LOG_FIELDS, LogAppender, RunDirectory, parse_value, read_log


def log_text(run):
    """log.csv without its wall-clock column (nan-safe, unlike comparing rows)."""
    lines = (run / "log.csv").read_text().splitlines()
    assert lines[0].endswith(",elapsed")
    return [line.rsplit(",", 1)[0] for line in lines]


class Interrupt(Exception):
    pass


def stop_at(generation, also=None):
    def hook(evolution, state):
        if state.generation == generation:
            if also is not None:
                also(state)
            raise Interrupt

    return hook


@pytest.fixture
def q_config(small_config):
    # Q logged every 3 generations: rows with and without the Q columns.
    return small_config(
        log_modularity_every=3,
        generations=40,
        schedule={"kind": "alternating", "goals": ["and", "or"], "period": 5},
    )


def test_values_read_back_as_logged():
    for value in (0, 7, -3, 12345678901234):
        assert parse_value("gen", str(value)) == value and type(parse_value("gen", str(value))) is int
    for value in (0.1, -0.0, 1e300, 5e-324, 1.0, -2.5, math.inf, -math.inf):
        back = parse_value("best", repr(value))
        assert type(back) is float and back == value and math.copysign(1, back) == math.copysign(1, value)
    assert math.isnan(parse_value("q", repr(math.nan)))
    assert parse_value("goal", "1") == "1"


def test_checkpoint_size_does_not_grow_with_the_log(tmp_path, q_config):
    long_config = dataclasses.replace(q_config, generations=400)
    sizes = {}
    for stop in (11, 391):
        run = tmp_path / f"stop_{stop}"
        with pytest.raises(Interrupt):
            runs.start(long_config, run, quiet=True, hooks=[stop_at(stop)])
        sizes[stop] = ((run / "checkpoint.json").stat().st_size, (run / "log.csv").stat().st_size)
    # 380 more rows of log, yet the same checkpoint, give or take the digits
    # of the hall of fame and the counters.
    assert sizes[391][1] > 20 * sizes[11][1]
    assert sizes[391][0] < sizes[11][0] + 2000
    run = tmp_path / "stop_391"
    doc = json.loads((run / "checkpoint.json").read_text())
    position = doc["state"]["logbook"]["__logfile__"]
    assert position["rows"] == 390 == len(read_log(run))
    data = (run / "log.csv").read_bytes()
    assert position["bytes"] == len(data)
    assert position["sha256"] == hashlib.sha256(data).hexdigest()


def test_rows_after_the_checkpoint_are_cut_off_and_the_resume_is_bit_identical(tmp_path, q_config):
    runs.start(q_config, tmp_path / "whole", quiet=True)
    cut = tmp_path / "cut"
    with pytest.raises(Interrupt):
        runs.start(q_config, cut, quiet=True, hooks=[stop_at(25)])
    assert len(read_log(cut)) == 20
    # A process killed after appending rows but before its next checkpoint
    # committed leaves them behind: whole rows, written in one call.
    whole_rows = (tmp_path / "whole" / "log.csv").read_text().splitlines()
    with open(cut / "log.csv", "a") as handle:
        handle.write("\n".join(whole_rows[21:24]) + "\n")
    assert len(read_log(cut)) == 23
    runs.resume(cut, quiet=True)
    assert log_text(cut) == log_text(tmp_path / "whole")
    assert json.loads((cut / "best.json").read_text()) == json.loads(
        (tmp_path / "whole" / "best.json").read_text()
    )


def test_a_damaged_log_is_refused(tmp_path, q_config):
    cut = tmp_path / "cut"
    with pytest.raises(Interrupt):
        runs.start(q_config, cut, quiet=True, hooks=[stop_at(25)])
    text = (cut / "log.csv").read_text()
    (cut / "log.csv").write_text(text.replace("\n3,", "\n4,", 1))
    with pytest.raises(FileError) as err:
        runs.resume(cut, quiet=True)
    assert err.value.field == "log.csv" and "damaged" in str(err.value)
    (cut / "log.csv").write_text(text[: len(text) // 2])
    with pytest.raises(FileError) as err:
        runs.resume(cut, quiet=True)
    assert err.value.field == "log.csv"
    (cut / "log.csv").unlink()
    with pytest.raises(FileError) as err:
        runs.resume(cut, quiet=True)
    assert err.value.field == "log.csv" and "missing" in str(err.value)


def test_version_1_checkpoints_with_the_rows_inside_still_resume(tmp_path, q_config):
    runs.start(q_config, tmp_path / "whole", quiet=True)
    cut = tmp_path / "cut"
    with pytest.raises(Interrupt):
        runs.start(q_config, cut, quiet=True, hooks=[stop_at(25)])
    # Rewrite the checkpoint the way version 1 did: the logbook's rows inside.
    directory = RunDirectory(cut, json.loads((cut / "config.json").read_text()))
    state = directory.load_checkpoint(State)
    checkpoint.save(cut, state, directory.config)
    doc = json.loads((cut / "checkpoint.json").read_text())
    assert "__logbook__" in doc["state"]["logbook"]
    doc["version"] = 1
    (cut / "checkpoint.json").write_text(json.dumps(doc))
    (cut / "log.csv").write_text("garbage that the version-1 resume rewrites\n")
    runs.resume(cut, quiet=True)
    assert log_text(cut) == log_text(tmp_path / "whole")


def test_a_column_first_logged_late_widens_the_header(tmp_path):
    def row(gen, best, **extra):
        return {
            "gen": gen,
            "goal": "G1",
            "best": best,
            "median": 0.5,
            "mean": 0.5,
            "perfect": 0,
            "cost": 0.0,
            "connections": 4,
            **extra,
            "elapsed": 0.1 * gen,
        }

    log = LogAppender(tmp_path)
    rows = [row(0, 0.5), row(1, 0.75)]
    log.write(rows)
    first = (tmp_path / "log.csv").read_text()
    assert first.splitlines()[0] == ",".join(LOG_FIELDS) + ",elapsed"
    rows.append(row(2, 0.75))
    log.write(rows)
    # Appended, the earlier bytes untouched.
    assert (tmp_path / "log.csv").read_text() == first + "2,G1,0.75,0.5,0.5,0,0.0,4,0.2\n"
    rows.append(row(3, 1.0, q=0.25))
    log.write(rows)
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0] == ",".join(LOG_FIELDS) + ",q,elapsed"
    assert lines[1] == "0,G1,0.5,0.5,0.5,0,0.0,4,,0.0" and lines[-1].endswith(",0.25,0.30000000000000004")
    again = LogAppender(tmp_path)
    assert again.resume(log.position()) == rows
