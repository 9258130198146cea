"""The loop's bookkeeping shortcuts against the plain versions they replace."""

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

    def both(state, order):
        real(state, order)
        fit = evolution.fitness(state.performance, state.cost, state.penalty)
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
