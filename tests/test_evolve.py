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
    """Row g describes the population entering generation g: compare each row
    with a copy of that population taken before the generation ran, over a run
    whose scores and best network change (goal "or": performance varies)."""
    evolution = Evolution(small_config(schedule={"goals": ["or"]}, population=60))
    state = evolution.initial_state()
    seen = []

    def keep_copy(evo, st):
        seen.append((st.performance.copy(), st.cost.copy(), st.genomes["weights"].copy(), evo.best_index(st)))

    state = evolution.run(state, 1)
    keep_copy(evolution, state)
    evolution.run(state, 25, on_generation=(keep_copy,))
    assert len({round(float(p.mean()), 9) for p, *_ in seen}) > 10, "the fixture must move"
    assert len({float(p.max()) for p, *_ in seen}) > 1
    assert len({b for *_, b in seen}) > 1 or len({w[b].tobytes() for _, _, w, b in seen}) > 1
    for row, (perf, cost, weights, best) in zip(list(state.logbook)[1:], seen):
        assert row["best"] == perf.max()
        assert row["median"] == np.median(perf)
        assert row["mean"] == np.mean(perf)
        assert row["cost"] == cost[best]
        assert row["connections"] == np.count_nonzero(weights[best])
