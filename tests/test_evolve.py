import numpy as np

from evomod.evolve import Evolution


def test_best_breaks_ties_by_cost_only_when_cost_is_selected(small_config):
    for treatment, expect_cheapest in (("P&CC", True), ("PA", False), ("P&RO", False)):
        evolution = Evolution(small_config(selection={"treatment": treatment}))
        state = evolution.initial_state()
        n = len(state.performance)
        state.performance = np.full(n, 0.5)
        state.performance[[3, 9, 20]] = 0.9
        state.cost = np.arange(n, 0, -1.0)  # later rows are cheaper
        best = evolution.best_index(state)
        assert best == (20 if expect_cheapest else 3), treatment


def test_logged_statistics_match_numpy(small_config):
    evolution = Evolution(small_config())
    state = evolution.initial_state()
    evolution.run(state, 3)
    row = state.logbook[-1]
    assert row["best"] == state.performance.max()
    assert row["median"] == np.median(state.performance)
    assert row["mean"] == np.mean(state.performance)
    best = evolution.best_index(state)
    assert row["cost"] == state.cost[best]
    assert row["connections"] == np.count_nonzero(state.genomes["weights"][best])
