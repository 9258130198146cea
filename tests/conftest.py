import pytest

from evomod import config as config_mod


@pytest.fixture
def small_config():
    """A retina run small enough for tests, otherwise the paper's defaults."""

    def make(**overrides):
        raw = {
            "seed": 7,
            "generations": 30,
            "population": 60,
            "checkpoint_every": 10,
            "log_modularity_every": 0,
        }
        for key, value in overrides.items():
            if isinstance(value, dict):
                raw.setdefault(key, {}).update(value)
            else:
                raw[key] = value
        return config_mod.from_dict(raw)

    return make
