"""Independent reference tests for the retina task (Kashtan & Alon 2005;
Clune, Mouret & Lipson 2013), written from the verbal definitions in
``shared/reference/papers.md``, not from the package code.

Pixel layout used by the reference (the papers' numbering): bit i of the
pattern index is pixel i (True = black). The left half is bits 0-3, a 2x2
whose outer column is bits 0 and 2; the right half is bits 4-7, its mirror
image, whose outer column is bits 5 and 7.
"""

import itertools

import numpy as np
import pytest

from evomod.tasks import get_task

LEFT_BITS = (0, 1, 2, 3)
LEFT_OUTER = (0, 2)
RIGHT_BITS = (4, 5, 6, 7)
RIGHT_OUTER = (5, 7)

# The object sets exactly as printed in papers.md.
PAPER_LEFT = {1, 4, 5, 7, 11, 13, 14, 15}
PAPER_RIGHT = {32, 112, 128, 160, 176, 208, 224, 240}


def black(pattern, bits):
    return [b for b in bits if (pattern >> b) & 1]


def is_object(pattern, half_bits, outer_bits):
    """Verbal definition: >= 3 black pixels in the half, or 1-2 black pixels
    that all lie in the half's outer column."""
    on = black(pattern, half_bits)
    if len(on) >= 3:
        return True
    return 1 <= len(on) <= 2 and all(b in outer_bits for b in on)


def left_obj(p):
    return is_object(p, LEFT_BITS, LEFT_OUTER)


def right_obj(p):
    return is_object(p, RIGHT_BITS, RIGHT_OUTER)


# Every Boolean function of two variables, by name, written as Python logic.
REFERENCE_FUNCTIONS = {
    "and": lambda l, r: l and r,
    "or": lambda l, r: l or r,
    "xor": lambda l, r: l != r,
    "xnor": lambda l, r: l == r,
    "nand": lambda l, r: not (l and r),
    "nor": lambda l, r: not (l or r),
    "l_and_not_r": lambda l, r: l and not r,
    "r_and_not_l": lambda l, r: r and not l,
    "l_or_not_r": lambda l, r: l or not r,
    "r_or_not_l": lambda l, r: r or not l,
}


@pytest.fixture(scope="module")
def task():
    return get_task("retina")


# -- the object definitions themselves ------------------------------------------


def test_verbal_definition_gives_papers_left_set():
    got = {v for v in range(16) if left_obj(v)}
    assert got == PAPER_LEFT
    assert len(got) == 8


def test_verbal_definition_gives_papers_right_set():
    got = {v << 4 for v in range(16) if right_obj(v << 4)}
    assert got == PAPER_RIGHT
    assert len(got) == 8


def test_right_is_mirror_image_of_left():
    # Mirror: swap left-right within the 4x2 retina. Bit layout 2x2 per half
    # (bits 0,1 top row / 2,3 bottom row on the left; outer column bits 0, 2).
    # Mirroring maps left bit 0 -> right bit 5, 1 -> 4, 2 -> 7, 3 -> 6.
    mirror = {0: 5, 1: 4, 2: 7, 3: 6}
    for v in range(16):
        m = sum(1 << mirror[b] for b in range(4) if (v >> b) & 1)
        assert left_obj(v) == right_obj(m)


# -- the task's inputs and goal tables --------------------------------------------


def test_inputs_are_bits_of_the_row_index(task):
    x = task.inputs
    assert x.shape == (256, 8)
    assert x.dtype == bool
    for p in range(256):
        assert [bool((p >> i) & 1) for i in range(8)] == list(x[p])


def test_goal_shapes(task):
    for name, table in task.goals.items():
        assert table.shape == (256, 1), name
        assert table.dtype == bool, name


@pytest.mark.parametrize("name", sorted(REFERENCE_FUNCTIONS))
def test_two_input_goals_match_reference(task, name):
    f = REFERENCE_FUNCTIONS[name]
    expected = np.array([bool(f(left_obj(p), right_obj(p))) for p in range(256)])
    np.testing.assert_array_equal(task.goals[name][:, 0], expected)


def test_and_or_positive_counts(task):
    assert int(task.goals["and"].sum()) == 64
    assert int(task.goals["or"].sum()) == 192
    # independent count from the sets: 8*8 both objects; 256 - 8*8 neither.
    assert sum(left_obj(p) and right_obj(p) for p in range(256)) == 64
    assert sum(left_obj(p) or right_obj(p) for p in range(256)) == 192


def test_modular_family_is_the_ten_functions_depending_on_both(task):
    family = task.family("modular")
    assert len(family) == 10
    assert len(set(family)) == 10
    # Enumerate all 16 truth tables of (L, R); keep those depending on both.
    depending = set()
    for table in itertools.product((False, True), repeat=4):
        t = dict(zip([(0, 0), (0, 1), (1, 0), (1, 1)], table))
        dep_l = any(t[(0, r)] != t[(1, r)] for r in (0, 1))
        dep_r = any(t[(l, 0)] != t[(l, 1)] for l in (0, 1))
        if dep_l and dep_r:
            depending.add(table)
    assert len(depending) == 10
    got = set()
    for name in family:
        col = task.goals[name][:, 0]
        # Each goal must be a function of (L, R) only ...
        table = {}
        for p in range(256):
            key = (int(left_obj(p)), int(right_obj(p)))
            table.setdefault(key, set()).add(bool(col[p]))
        assert all(len(v) == 1 for v in table.values()), name
        tt = tuple(next(iter(table[k])) for k in [(0, 0), (0, 1), (1, 0), (1, 1)])
        # ... and depend on both.
        assert tt in depending, name
        got.add(tt)
    assert got == depending


def test_each_family_member_depends_on_both_halves_directly(task):
    """Flipping only the left half (or only the right) changes the answer for
    some pattern, for every member of the modular family."""
    for name in task.family("modular"):
        col = task.goals[name][:, 0]
        dep_left = any(col[p] != col[(p & 0xF0) | q] for p in range(256) for q in range(16))
        dep_right = any(col[p] != col[(p & 0x0F) | (q << 4)] for p in range(256) for q in range(16))
        assert dep_left and dep_right, name


def test_and_or_family(task):
    assert set(task.family("and_or")) == {"and", "or"}


def test_serial_goal(task):
    expected = []
    for p in range(256):
        if left_obj(p):
            expected.append(right_obj(p))
        else:
            expected.append(len(black(p, RIGHT_BITS)) == 2)
    np.testing.assert_array_equal(task.goals["serial"][:, 0], np.array(expected))


def test_four_black_goal(task):
    expected = np.array([len(black(p, range(8))) == 4 for p in range(256)])
    np.testing.assert_array_equal(task.goals["four_black"][:, 0], expected)
    assert int(task.goals["four_black"].sum()) == 70  # C(8, 4)


def test_target_of_unknown_goal_is_config_error(task):
    from evomod.errors import ConfigError

    with pytest.raises(ConfigError):
        task.target("no_such_goal")


def test_serial_variants_change_one_subtask_each(task):
    """serial_first checks the left half for two black pixels instead of an
    object; serial_second swaps the right half's two checks."""
    first, second = [], []
    for p in range(256):
        left, right = left_obj(p), right_obj(p)
        left_two, right_two = len(black(p, LEFT_BITS)) == 2, len(black(p, RIGHT_BITS)) == 2
        first.append(right if left_two else right_two)
        second.append(right_two if left else right)
    np.testing.assert_array_equal(task.goals["serial_first"][:, 0], np.array(first))
    np.testing.assert_array_equal(task.goals["serial_second"][:, 0], np.array(second))
    serial = task.goals["serial"][:, 0]
    assert (serial != task.goals["serial_first"][:, 0]).any()
    assert (serial != task.goals["serial_second"][:, 0]).any()
