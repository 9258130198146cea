"""The authors' behaviour inside the loop (Clune et al. 2013, their code in
shared/reference/clune2013-author-code) and the corrected "solved" and
steady-state rules (Kashtan & Alon 2005), each against an expectation worked
out independently of the code under test."""

import numpy as np
import pytest
from test_adapt import G1

from evomod import config as config_mod
from evomod.costs import ConnectionCost, node_positions
from evomod.evolve import Evolution, steady_generation
from evomod.models.layered import LayeredModel
from evomod.tasks import get_task


def slot(model, src, dst):
    return int(np.flatnonzero((model.slot_src == src) & (model.slot_dst == dst))[0])


def network(model, edges):
    weights = np.zeros((1, model.n_slots), dtype=np.int8)
    for s, d, w in edges:
        weights[0, slot(model, s, d)] = w
    biases = np.zeros((1, model.n_nodes - model.n_inputs), dtype=np.int8)
    return {"weights": weights, "weight_index": model.index_of(weights), "biases": biases}


# Nodes: inputs 0-7, hidden 8-15, 16-19, 20-21, output 22.
PATH = [(0, 8, 1), (8, 16, 1), (16, 20, 1), (20, 22, 1), (7, 15, -1), (15, 19, 2), (19, 21, 1), (21, 22, 1)]
# Dead ends: hidden nodes with no path on to the output. Node 9 has two
# sources, so even optimal placement cannot make its edges free.
DEAD = [(1, 9, 1), (2, 9, 1), (9, 17, 2), (3, 11, -2), (8, 18, 1), (16, 21, -1)]


@pytest.mark.parametrize("kind", ["count", "squared_length", "distance_weighted"])
def test_simplified_cost_ignores_dead_ends(kind):
    model = LayeredModel()
    pos = node_positions(model, "model")
    simplified = ConnectionCost(
        kind, pos, model.fixed_nodes(), scope="simplified", outputs=model.output_nodes()
    )
    every = ConnectionCost(kind, pos, model.fixed_nodes(), scope="all")
    # (16, 21) reaches the output through 21, so it is not a dead end.
    dead = [e for e in DEAD if e != (16, 21, -1)]
    with_branch = network(model, PATH + DEAD)
    pruned = network(model, PATH + [(16, 21, -1)])
    assert simplified(model, with_branch)[0] == pytest.approx(every(model, pruned)[0], abs=1e-9)
    assert every(model, with_branch)[0] > every(model, pruned)[0]
    if kind == "count":
        assert simplified(model, with_branch)[0] == len(PATH) + 1
        assert every(model, with_branch)[0] == len(PATH) + len(DEAD)
    assert len(dead) == 5


def test_zero_output_is_wrong_for_both_classes():
    task = get_task("retina")
    empty = {
        "weights": np.zeros((1, LayeredModel().n_slots), dtype=np.int8),
        "biases": np.zeros((1, 15), dtype=np.int8),
    }
    for goal in ("and", "or"):
        target = task.target(goal)
        authors = LayeredModel(operators="authors").performance(empty, task.inputs, target)[0]
        literal = LayeredModel(operators="literal").performance(empty, task.inputs, target)[0]
        assert authors == 0.0, goal
        # The literal reading counts the 0 output as "false": right on the negatives.
        assert literal == np.mean(~target[:, 0]), goal
    assert LayeredModel(operators="literal").performance(empty, task.inputs, task.target("and"))[0] == 0.75


def pcc_config(**over):
    raw = {"seed": 3, "generations": 10, "population": 40, "log_modularity_every": 0}
    raw.update(over)
    return config_mod.from_dict(raw)


@pytest.mark.parametrize("treatment, pressure", [("PA", [1.0]), ("P&CC", [1.0, 0.25]), ("P&RO", [1.0, 1.0])])
def test_pressures_per_treatment(treatment, pressure):
    evo = Evolution(pcc_config(selection={"treatment": treatment}))
    assert list(evo.selection.pressure) == pressure
    assert evo.selection.heritable_random_objective == (treatment == "P&RO")


def test_pro_random_objective_is_inherited_with_gaussian_steps():
    evo = Evolution(pcc_config(selection={"treatment": "P&RO"}, population=400))
    state = evo.initial_state()
    start = state.genomes["random_objective"]
    assert start.min() >= 0.0 and start.max() < 1.0 and start.std() > 0.2  # uniform draws
    state.performance = evo.evaluate(state.genomes, "and", None)
    state.cost, state.penalty = evo.structure(state.genomes)
    chosen = np.arange(400)
    children, *_ = evo.selection._offspring(evo, state, chosen, "and", None)
    step = children["random_objective"] - start[chosen]
    # N(0, 0.1): mean within 4 standard errors, sd within 15 %.
    assert abs(step.mean()) < 4 * 0.1 / np.sqrt(400)
    assert 0.085 < step.std() < 0.115
    # The objective the sort sees is the inherited value itself.
    f = evo.selection.objectives(evo, children, np.zeros(400), np.zeros(400), np.zeros(400), evo.rng)
    np.testing.assert_array_equal(f[:, 1], children["random_objective"])


def test_pro_run_keeps_the_objective_through_selection():
    evo = Evolution(pcc_config(selection={"treatment": "P&RO"}))
    state = evo.run(evo.initial_state(), 6)
    assert state.genomes["random_objective"].shape == (40,)
    assert len(np.unique(state.genomes["random_objective"])) > 5


def test_offspring_cost_reuse_equals_a_full_solve():
    evo = Evolution(pcc_config(population=200))
    rng = np.random.default_rng(0)
    parents = evo.parts.model.random(200, rng)
    cost, _ = evo.structure(parents)
    children = evo.parts.model.mutate(parents, rng)
    reused, _ = evo.offspring_structure(children, parents, cost)
    full, _ = evo.structure(children)
    np.testing.assert_array_equal(reused, full)
    assert (reused != cost).any() and (reused == cost).any()


def test_uniform_input_positions():
    model = LayeredModel()
    base = node_positions(model, "model")
    a = node_positions(model, "uniform_inputs", rng=np.random.default_rng(1))
    b = node_positions(model, "uniform_inputs", rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[8:], base[8:])
    np.testing.assert_array_equal(a[:8, 1], base[:8, 1])
    assert (a[:8, 0] >= -4).all() and (a[:8, 0] <= 4).all()
    assert not np.array_equal(a[:8, 0], base[:8, 0])


# -- "solved" means fitness 1 --------------------------------------------------------


@pytest.mark.parametrize("threshold, solved", [(11, True), (6, False)])
def test_solved_needs_fitness_one(threshold, solved):
    cfg = config_mod.from_dict(
        {
            "model": {"kind": "circuit", "threshold": threshold},
            "seed": 1,
            "population": 20,
            "selection": {"elite": 5},
            "log_modularity_every": 0,
        }
    )
    evo = Evolution(cfg)
    genome = evo.parts.model.from_json(G1)
    assert evo.evaluate(genome, "G1", None)[0] == 1.0  # perfect output either way
    state = evo.initial_state({k: np.repeat(v, 20, axis=0) for k, v in genome.items()})
    evo.run(state, 1)
    assert state.logbook[0]["best"] == 1.0
    assert ("G1" in state.first_solved) == solved
    assert (state.logbook[0]["perfect"] == 20) == solved


# -- steady state: the best perfect at the end of K consecutive epochs ----------------


def ends(period, pattern):
    """Log rows where only the epoch ends matter: pattern[e] says whether the
    best was perfect at the end of epoch e; other rows say the opposite, so
    a rule that looked at them would go wrong."""
    rows = []
    for e, ok in enumerate(pattern):
        for g in range(e * period, (e + 1) * period):
            rows.append((g, ok if g == (e + 1) * period - 1 else not ok))
    return rows


def test_steady_rule_on_hand_made_logs():
    assert steady_generation(ends(20, [True, True]), 20, 2) == 39
    assert steady_generation(ends(20, [False, True, True]), 20, 2) == 59
    # Losing a goal in between restarts the count.
    assert steady_generation(ends(20, [True, False, True, False, True]), 20, 2) is None
    assert steady_generation(ends(20, [True, False, True, True]), 20, 2) == 79
    assert steady_generation(ends(5, [True, True, False, True, True, True]), 5, 3) == 29
    assert steady_generation(ends(20, [True] * 5), 20, 1) == 19


def test_steady_stop_rule_in_a_run():
    cfg = config_mod.from_dict(
        {
            "model": {"kind": "circuit"},
            "seed": 1,
            "population": 40,
            "selection": {"elite": 10},
            "log_modularity_every": 0,
            "schedule": {"kind": "alternating", "goals": ["G1", "G2"], "period": 5},
            "stop_when": "steady",
            "generations": 60,
        }
    )
    evo = Evolution(cfg)
    genome = evo.parts.model.from_json(G1)
    state = evo.initial_state({k: np.repeat(v, 40, axis=0) for k, v in genome.items()})
    evo.run(state, 60)
    rows = [(r["gen"], r["perfect"] > 0) for r in state.logbook]
    expected = steady_generation(rows, 5, 2)
    assert state.steady_at == expected
    if expected is None:
        assert state.generation == 60
    else:
        assert state.stopped and state.generation == expected + 1
        assert [n["goal"] for n in state.steady_networks] == [
            evo.parts.schedule.goal(expected - 5),
            evo.parts.schedule.goal(expected),
        ]


# -- left and right inputs in different modules ---------------------------------------


def as_json(model, edges):
    return model.to_json(network(model, edges), 0)


def test_left_right_split_on_hand_built_networks():
    from evomod.modularity.splits import left_right_split

    model = LayeredModel()
    # Two separate pathways, left pixels 0-3 through 8, 16, 20 and right
    # pixels 4-7 through 15, 19, 21, meeting only at the output: split.
    left = [(i, 8, 1) for i in range(4)] + [(8, 16, 1), (16, 20, 1), (20, 22, 1)]
    right = [(i, 15, 1) for i in range(4, 8)] + [(15, 19, 1), (19, 21, 1), (21, 22, 1)]
    assert left_right_split(as_json(model, left + right)) is True
    # Every input into the same hidden nodes: no split.
    mixed = [(i, h, 1) for i in range(8) for h in (8, 9)] + [(8, 16, 1), (9, 16, 1), (16, 20, 1), (20, 22, 1)]
    assert left_right_split(as_json(model, mixed)) is False
    # Only left inputs kept: nothing to split.
    assert left_right_split(as_json(model, left)) is None
    # Right inputs wired to a dead end are pruned away: nothing to split either.
    assert left_right_split(as_json(model, left + [(4, 12, 1), (12, 18, 1)])) is None


# -- a goal switch, as sferes2 runs it ----------------------------------------------


def test_authors_tournaments_compare_the_old_goal_right_after_a_switch(monkeypatch):
    """sferes2's parents carry the objectives set when they were selected, so
    the first tournaments after a switch rank them under the old goal; the
    merged pool is sorted under the new one (pnsga.hpp epoch, mvg.hpp)."""
    from evomod import selection as selection_mod

    cfg = config_mod.from_dict(
        {
            "seed": 4,
            "generations": 12,
            "population": 40,
            "log_modularity_every": 0,
            "schedule": {"kind": "alternating", "goals": ["and", "or"], "period": 5},
        }
    )
    evolution = Evolution(cfg)
    task = get_task("retina")
    seen = {}
    real_parents, real_survivors = selection_mod.authors_parents, selection_mod.authors_survivors

    def parents(f, *args):
        seen.setdefault("parents", {})[state.generation] = (f.copy(), take_scores(state))
        return real_parents(f, *args)

    def survivors(f, *args, **kwargs):
        seen.setdefault("survivors", {})[state.generation] = f.copy()
        return real_survivors(f, *args, **kwargs)

    def take_scores(st):
        genomes = st.genomes
        model = evolution.parts.model
        return {
            goal: model.performance(genomes, task.inputs, task.target(goal)) - st.penalty
            for goal in ("and", "or")
        }

    monkeypatch.setattr(selection_mod, "authors_parents", parents)
    monkeypatch.setattr(selection_mod, "authors_survivors", survivors)
    state = evolution.initial_state()
    evolution.run(state, 12)
    for g, (f, scores) in seen["parents"].items():
        # Generations 0-4 and 10-11 are under "and", 5-9 under "or"; the
        # parents of generation g were selected in generation g - 1.
        previous_goal = evolution.parts.schedule.goal(max(g - 1, 0))
        assert np.array_equal(f[:, 0], scores[previous_goal]), g
    # At the switch the two goals really score the parents differently, so
    # the check above could tell them apart.
    f, scores = seen["parents"][5]
    assert not np.array_equal(scores["and"], scores["or"])
    # The sort at generation 5 sees the new goal: its pool's first rows are
    # the parents, scored under "or".
    assert np.array_equal(seen["survivors"][5][:40, 0], seen["parents"][5][1]["or"])
