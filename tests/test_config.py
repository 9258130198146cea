import json

import pytest

from evomod import cli
from evomod import config as config_mod
from evomod.errors import ConfigError


def error_of(raw):
    with pytest.raises(ConfigError) as err:
        config_mod.from_dict(raw)
    return err.value


def test_defaults_are_the_papers():
    c = config_mod.from_dict({})
    assert (c.population, c.generations) == (1000, 25000)
    assert c.model.layers == (8, 8, 4, 2, 1)
    assert c.model.weights == (-2, -1, 1, 2)
    assert (c.model.bias_min, c.model.bias_max) == (-2, 2)
    assert c.model.lam == 20.0
    assert (c.model.add_connection_rate, c.model.remove_connection_rate) == (0.2, 0.2)
    assert c.model.bias_rate == pytest.approx(1 / 24)
    assert c.selection.cost_probability == 0.25
    assert c.cost.kind == "squared_length"


def test_round_trip_through_json():
    c = config_mod.from_dict({"schedule": {"kind": "alternating", "goals": ["and", "or"]}})
    again = config_mod.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c


@pytest.mark.parametrize(
    "raw,field,allowed_contains",
    [
        ({"schedule": {"goals": ["xand"]}}, "schedule.goals", "and"),
        ({"schedule": {"kind": "sometimes"}}, "schedule.kind", "alternating"),
        ({"model": {"weights": [-1, 0, 1]}}, "model.weights", "non-zero"),
        ({"model": {"layers": [6, 4, 1]}}, "model.layers", "8"),
        ({"model": {"layers": [8, 4, 2]}}, "model.layers", "1"),
        ({"schedule": {"period": -3}}, "schedule.period", ">= 1"),
        ({"task": {"name": "eye"}}, "task.name", "retina"),
        ({"model": {"kind": "tree"}}, "model.kind", "layered"),
        ({"cost": {"kind": "wire"}}, "cost.kind", "count"),
        ({"selection": {"treatment": "P&X"}}, "selection.treatment", "P&CC"),
        ({"population": "many"}, "population", None),
        ({"colour": 3}, "colour", "population"),
        ({"model": {"lam": 0}}, "model.lam", "> 0"),
        ({"selection": {"treatment": "P&CC"}, "cost": {"kind": "none"}}, "cost.kind", "count"),
        ({"schedule": {"kind": "rmvg", "family": "nope"}}, "schedule.family", "modular"),
    ],
)
def test_bad_fields_are_named_with_allowed_values(raw, field, allowed_contains):
    err = error_of(raw)
    assert err.field == field
    assert str(err).startswith(field)
    if allowed_contains is not None:
        assert allowed_contains in str(err.allowed if err.allowed is not None else err)


def test_cli_reports_bad_config_without_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("generations = 10\n[schedule\nkind = 'fixed'\n")
    assert cli.main(["run", str(bad), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and "Traceback" not in err
    zero = tmp_path / "zero.toml"
    zero.write_text("[model]\nweights = [-1, 0, 1]\n")
    assert cli.main(["run", str(zero), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "model.weights" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_cli_missing_config_file(tmp_path, capsys):
    assert cli.main(["run", str(tmp_path / "absent.toml"), "--out", str(tmp_path / "r")]) == 2
    assert "cannot read" in capsys.readouterr().err
