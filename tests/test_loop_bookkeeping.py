"""The loop's bookkeeping shortcuts against the plain versions they replace."""

import numpy as np
import pytest
from deap import creator, tools

from evomod import config as config_mod
from evomod.evolve import Evolution, _same_genome
from evomod.runs import make_measure


@pytest.mark.parametrize(
    "raw",
    [
        {"model": {"kind": "circuit"}, "population": 200, "selection": {"elite": 60}},
        {"population": 60, "cost": {"kind": "count"}, "schedule": {"goals": ["or"]}},
        # Goal switches leave members with stale fitness values.
        {
            "model": {"kind": "circuit"},
            "population": 200,
            "selection": {"elite": 60},
            "schedule": {"kind": "alternating", "goals": ["G1", "G2"], "period": 5},
        },
        # A float gene (the heritable random objective) in the genome.
        {"population": 60, "selection": {"treatment": "P&RO"}, "schedule": {"goals": ["or"]}},
    ],
)
def test_hall_of_fame_equals_deap_updated_with_every_candidate(raw):
    """The loop skips candidates that cannot enter a full hall; DEAP's own
    update, handed all of them, must end with the same hall every generation."""
    cfg = config_mod.from_dict(
        {"seed": 3, "generations": 60, "log_modularity_every": 0, "hall_of_fame": 5, **raw}
    )
    evolution = Evolution(cfg)
    reference = tools.HallOfFame(cfg.hall_of_fame, similar=_same_genome)
    real = evolution._update_hall_of_fame
    checked = []

    def both(state, fit):
        real(state, fit)
        order = evolution.ranking(state)
        candidates = []
        for i in order[: 2 * cfg.hall_of_fame]:
            network = creator.EvomodNetwork({k: v[i].copy() for k, v in state.genomes.items()})
            tie = float(state.cost[i]) if "cost" in evolution.parts.objectives else 0.0
            network.fitness.values = (float(fit[i]), tie)
            candidates.append(network)
        reference.update(candidates)
        ours = state.hall_of_fame
        assert [h.fitness.values for h in ours] == [h.fitness.values for h in reference]
        assert all(_same_genome(a, b) for a, b in zip(ours, reference))
        checked.append(tuple(h.fitness.values for h in ours))

    evolution._update_hall_of_fame = both
    state = evolution.initial_state()
    evolution.run(state, cfg.generations)
    assert len(checked) == cfg.generations and len(checked[-1]) == cfg.hall_of_fame
    # The hall changed during the run, so the comparison saw entries come and go.
    assert len(set(checked)) > 2


@pytest.mark.parametrize(
    "raw, fronts",
    [
        ({"population": 40}, True),
        ({"model": {"kind": "circuit"}, "population": 60, "selection": {"elite": 20}}, False),
    ],
)
def test_front_figures_only_where_selection_has_fronts(raw, fronts):
    cfg = config_mod.from_dict(
        {"seed": 1, "generations": 12, "log_modularity_every": 1, "log_front_every": 5, **raw}
    )
    evolution = Evolution(cfg, measure=make_measure(cfg))
    state = evolution.initial_state()
    evolution.run(state, cfg.generations)
    logged = [row["gen"] for row in state.logbook if "q_front_mean" in row]
    assert logged == ([0, 5, 10] if fronts else [])
    assert all("q" in row for row in state.logbook)  # the best's Q is logged either way


@pytest.mark.parametrize("cost_selected", [False, True])
def test_first_ranked_is_the_rankings_first(cost_selected):
    """The loop finds the best (and the best perfect) network without a full
    sort; the full ranking must agree, ties in fitness and cost included."""
    raw = {"seed": 3, "population": 40, "log_modularity_every": 0}
    raw["selection"] = {"treatment": "P&CC" if cost_selected else "PA"}
    evolution = Evolution(config_mod.from_dict(raw))
    assert ("cost" in evolution.parts.objectives) == cost_selected
    state = evolution.initial_state()
    rng = np.random.default_rng(0)
    firsts = set()
    for _ in range(200):
        state.performance = rng.integers(0, 4, 40) / 4
        state.cost = rng.integers(0, 3, 40).astype(float)
        state.penalty = np.zeros(40)
        order = evolution.ranking(state)
        fit = evolution.fitness(state.performance, state.cost, state.penalty)
        assert evolution._first_ranked(fit, state.cost) == order[0] == evolution.best_index(state)
        among = np.flatnonzero(rng.random(40) < 0.3)
        if len(among):
            ranked_among = [i for i in order if i in set(among)]
            assert evolution._first_ranked(fit, state.cost, among) == ranked_among[0]
        firsts.add(int(order[0]))
    assert len(firsts) > 10


def test_median_is_numpys():
    from evomod.evolve import median

    rng = np.random.default_rng(5)
    for _ in range(3000):
        n = int(rng.integers(1, 80))
        if rng.random() < 0.5:
            values = rng.integers(0, 17, n) / 16  # many ties, as performances have
        else:
            values = rng.standard_normal(n) * 10.0 ** rng.integers(-5, 6)
        assert median(values) == float(np.median(values))


def test_hall_of_fame_takes_back_a_network_it_dropped():
    """After a goal switch the hall's stored scores are stale. A member
    pushed out by a better network is an outsider again, and offered later
    in the same update with its new, better score it must get back in, as
    in DEAP's update."""
    raw = {"seed": 1, "population": 3, "hall_of_fame": 2, "log_modularity_every": 0}
    cfg = config_mod.from_dict({**raw, "model": {"kind": "circuit"}, "selection": {"elite": 1}})
    evolution = Evolution(cfg)
    state = evolution.initial_state()
    assert len({state.genomes["src"][i].tobytes() for i in range(3)}) == 3  # X, Y, Z differ
    reference = tools.HallOfFame(2, similar=_same_genome)
    # X 0.9, Y 0.8 -> [X, Y]. Then X 0, Y 0.95, Z 1: Z pushes Y (stored 0.8)
    # out, and Y at 0.95 beats X (stored 0.9) -> [Z, Y].
    for fit in ([0.9, 0.8, 0.0], [0.0, 0.95, 1.0]):
        fit = np.array(fit)
        evolution._update_hall_of_fame(state, fit)
        offered = []
        for i in np.lexsort((np.arange(3), -fit)):
            network = creator.EvomodNetwork({k: v[i].copy() for k, v in state.genomes.items()})
            network.fitness.values = (float(fit[i]), 0.0)
            offered.append(network)
        reference.update(offered)
        assert [h.fitness.values for h in state.hall_of_fame] == [h.fitness.values for h in reference]
        assert all(_same_genome(a, b) for a, b in zip(state.hall_of_fame, reference))
    assert [h.fitness.values[0] for h in state.hall_of_fame] == [1.0, 0.95]
    assert _same_genome(state.hall_of_fame[1], {k: v[1] for k, v in state.genomes.items()})
