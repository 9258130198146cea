"""The 8-pixel retina of Kashtan & Alon 2005, as used by Clune et al. 2013.

Pixels are bits 0-7 of the pattern index (True = black). The left half is
bits 0-3, the right half bits 4-7. The object sets are the papers' own
(``papers.md``): a left object is a left half whose value (bits 0-3) is in
``LEFT_OBJECTS``; a right object is a right half whose value (bits 4-7, not
shifted) is in ``RIGHT_OBJECTS``.
"""

from __future__ import annotations

import numpy as np

from evomod.tasks import Task, all_patterns, register

LEFT_OBJECTS = frozenset({1, 4, 5, 7, 11, 13, 14, 15})
RIGHT_OBJECTS = frozenset({32, 112, 128, 160, 176, 208, 224, 240})

# Every Boolean function of (L, R) that depends on both, by its outputs for
# (L, R) = (0, 0), (0, 1), (1, 0), (1, 1). These are the RMVG family.
TWO_INPUT_FUNCTIONS = {
    "and": (0, 0, 0, 1),
    "or": (0, 1, 1, 1),
    "xor": (0, 1, 1, 0),
    "xnor": (1, 0, 0, 1),
    "nand": (1, 1, 1, 0),
    "nor": (1, 0, 0, 0),
    "l_and_not_r": (0, 0, 1, 0),
    "r_and_not_l": (0, 1, 0, 0),
    "l_or_not_r": (1, 0, 1, 1),
    "r_or_not_l": (1, 1, 0, 1),
}


def left_object(pattern: np.ndarray) -> np.ndarray:
    return np.isin(pattern & 0x0F, sorted(LEFT_OBJECTS))


def right_object(pattern: np.ndarray) -> np.ndarray:
    return np.isin(pattern & 0xF0, sorted(RIGHT_OBJECTS))


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.array([bin(int(v)).count("1") for v in values])


@register("retina")
def retina_task() -> Task:
    """The 8-pixel retina (256 patterns): left and right objects, their two-input functions."""
    pattern = np.arange(256)
    left, right = left_object(pattern), right_object(pattern)
    goals = {}
    for name, table in TWO_INPUT_FUNCTIONS.items():
        lookup = np.array(table, dtype=bool)
        goals[name] = lookup[2 * left.astype(int) + right.astype(int)][:, None]
    # Serial subtasks: the left half decides what the right half is checked for.
    # The variants change one subtask each: what the left half is checked for
    # (two black pixels instead of an object), or which check the right half
    # gets on each of the left half's answers.
    left_two_black = _popcount(pattern & 0x0F) == 2
    right_two_black = _popcount(pattern & 0xF0) == 2
    goals["serial"] = np.where(left, right, right_two_black)[:, None]
    goals["serial_first"] = np.where(left_two_black, right, right_two_black)[:, None]
    goals["serial_second"] = np.where(left, right_two_black, right)[:, None]
    # Kashtan & Alon / Clune's non-modular control.
    goals["four_black"] = (_popcount(pattern) == 4)[:, None]
    families = {
        "modular": tuple(TWO_INPUT_FUNCTIONS),
        "and_or": ("and", "or"),
    }
    return Task("retina", all_patterns(8), goals, families, input_names=tuple(f"p{i}" for i in range(8)))
