"""What the command line does with a failure: a refusal is one line on
stderr and a non-zero exit; a bug keeps its traceback."""

import json

import pytest

from evomod import cli, errors, runs
from evomod.errors import ConfigError, EvomodError, FileError

SMALL = """
seed = 1
generations = 12
population = 20
checkpoint_every = 5
log_modularity_every = 0
"""


def refused(capsys, argv, *needles, code=2) -> str:
    assert cli.main([str(a) for a in argv]) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"evomod {argv[0]}: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def finished(tmp_path, capsys):
    (tmp_path / "run.toml").write_text(SMALL)
    assert cli.main(["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    return tmp_path / "run"


def test_the_hierarchy():
    assert issubclass(ConfigError, EvomodError) and issubclass(FileError, EvomodError)
    assert not issubclass(FileError, ConfigError)
    err = FileError("best.json", "is damaged", ["a", "b"])
    assert str(err) == "best.json: is damaged (allowed: 'a', 'b')"
    assert str(err.renamed("x/best.json")) == "x/best.json: is damaged (allowed: 'a', 'b')"
    import pickle

    assert str(pickle.loads(pickle.dumps(err))) == str(err)


def test_a_bad_config_field(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text(SMALL + '[model]\nkind = "lstm"\n')
    refused(capsys, ["run", tmp_path / "bad.toml", "--out", tmp_path / "out"], "model.kind", "'layered'")
    assert not (tmp_path / "out").exists()


def test_an_existing_non_empty_out(tmp_path, capsys):
    (tmp_path / "run.toml").write_text(SMALL)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    refused(capsys, ["run", tmp_path / "run.toml", "--out", tmp_path / "out"], "--out", "not empty")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine"


def test_an_out_that_holds_a_run(finished, tmp_path, capsys):
    refused(capsys, ["run", tmp_path / "run.toml", "--out", finished], "--out", "already holds a run")


def test_a_corrupt_checkpoint(finished, capsys):
    (finished / "checkpoint.json").write_text('{"format": "evomod-checkpoint", "version": 1, "sta')
    refused(capsys, ["resume", finished], "checkpoint.json", "damaged")


def test_a_malformed_best_json(finished, tmp_path, capsys):
    (tmp_path / "sweep").mkdir()
    run = tmp_path / "sweep" / "A" / "seed_1"
    run.parent.mkdir()
    finished.rename(run)
    best = json.loads((run / "best.json").read_text())
    best["networks"] = [{"fitness": 1.0}]
    (run / "best.json").write_text(json.dumps(best))
    refused(capsys, ["report", tmp_path / "sweep", "--no-figures"], "best.json", "networks[0]")
    refused(capsys, ["adapt", run, "--to", "or", "--out", tmp_path / "adapted"], "best.json")
    (run / "best.json").write_text("[1, 2]")
    refused(capsys, ["report", tmp_path / "sweep", "--no-figures"], "best.json", "not a JSON object")


def test_a_malformed_network_file(tmp_path, capsys):
    (tmp_path / "net.json").write_text(
        json.dumps({"kind": "layered", "layers": [2, 1], "nodes": [], "edges": []})
    )
    refused(capsys, ["score", tmp_path / "net.json", "--no-qm"], "net.json", "network.nodes")


def test_a_file_the_system_refuses_to_write(finished, tmp_path, capsys, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "plot.png"))

    monkeypatch.setattr("evomod.plots.atomic_write", full_disk)
    refused(capsys, ["plot", finished, "--out", tmp_path / "plot.png"], "plot.png", "No space left", code=1)


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    (tmp_path / "run.toml").write_text(SMALL)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(runs, "best_networks", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "out"), "--quiet"])


def test_every_user_facing_error_is_an_evomod_error():
    # The errors module defines no other exception classes.
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, BaseException)]
    assert set(classes) == {EvomodError, ConfigError, FileError}
