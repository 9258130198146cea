import numpy as np
import pytest

from evomod.errors import ConfigError
from evomod.schedules import Schedule


def test_fixed_is_constant():
    s = Schedule("fixed", ("and",), 20)
    assert {s.goal(g) for g in range(500)} == {"and"}
    assert s.switches(500) == []


def test_alternating_switches_every_period():
    s = Schedule("alternating", ("and", "or"), 20)
    goals = [s.goal(g) for g in range(100)]
    expected = [("and", "or")[(g // 20) % 2] for g in range(100)]
    assert goals == expected
    assert s.switches(100) == [20, 40, 60, 80]


def test_serial_cycles_in_order():
    order = ("G1", "G4", "G2", "G4", "G3", "G4")
    s = Schedule("serial", order, 5)
    assert [s.goal(5 * k) for k in range(12)] == list(order) * 2
    assert all(s.goal(5 * k + j) == s.goal(5 * k) for k in range(12) for j in range(5))


def test_rmvg_never_repeats_and_is_seeded():
    goals = tuple(f"f{i}" for i in range(10))
    a = Schedule("rmvg", goals, 3, seed=np.random.SeedSequence(5))
    b = Schedule("rmvg", goals, 3, seed=np.random.SeedSequence(5))
    c = Schedule("rmvg", goals, 3, seed=np.random.SeedSequence(6))
    seq_a = [a.goal(3 * k) for k in range(2000)]
    assert seq_a == [b.goal(3 * k) for k in range(2000)]
    assert seq_a != [c.goal(3 * k) for k in range(2000)]
    assert all(x != y for x, y in zip(seq_a, seq_a[1:]))
    counts = np.array([seq_a.count(g) for g in goals])
    assert counts.min() > 150  # every goal is drawn, roughly uniformly (expected 200)
    # Querying out of order gives the same goals (resume recomputes them).
    d = Schedule("rmvg", goals, 3, seed=np.random.SeedSequence(5))
    assert d.goal(3 * 1999) == seq_a[1999]


@pytest.mark.parametrize(
    "kind,goals,period,field",
    [
        ("weekly", ("and",), 20, "schedule.kind"),
        ("alternating", ("and",), 20, "schedule.goals"),
        ("fixed", ("and",), -5, "schedule.period"),
        ("fixed", ("and",), 0, "schedule.period"),
        ("rmvg", ("and", "and"), 20, "schedule.goals"),
    ],
)
def test_bad_schedules_name_the_field(kind, goals, period, field):
    with pytest.raises(ConfigError) as err:
        Schedule(kind, goals, period)
    assert err.value.field == field
