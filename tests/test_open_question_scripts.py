"""The statistics of the open-question scripts, against scipy."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).parent.parent / "experiments" / "open_questions"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spearman_interval_matches_scipy_bootstrap():
    from scipy.stats import bootstrap, spearmanr

    analyse = load("analyse_networks")
    rng = np.random.default_rng(5)
    x = rng.normal(size=60)
    y = 0.6 * x + rng.normal(size=60)
    found = analyse.spearman_with_ci(x, y)
    rho, p = spearmanr(x, y)
    assert found["rho"] == pytest.approx(rho) and found["p"] == pytest.approx(p)
    reference = bootstrap(
        (x, y),
        lambda a, b: spearmanr(a, b)[0],
        paired=True,
        vectorized=False,
        n_resamples=4000,
        method="percentile",
        rng=np.random.default_rng(1),
    ).confidence_interval
    # Different resamples: the two intervals agree to Monte Carlo error.
    assert found["low"] == pytest.approx(reference.low, abs=0.04)
    assert found["high"] == pytest.approx(reference.high, abs=0.04)
    assert found["low"] < rho < found["high"]


def test_spearman_interval_survives_constant_resamples():
    """Few networks with ties: some resamples are constant, the interval is still finite."""
    analyse = load("analyse_networks")
    x = [0.1, 0.2, 0.2, 0.3, 0.5, 0.5, 0.9]
    y = [1, 2, 2, 2, 3, 4, 4]
    found = analyse.spearman_with_ci(x, y)
    assert math.isfinite(found["low"]) and math.isfinite(found["high"])
    assert -1 <= found["low"] <= found["rho"] <= found["high"] <= 1
    assert found["n"] == 7
