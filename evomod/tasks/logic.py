"""Kashtan & Alon's (2005) Boolean logic tasks.

``logic4``
    Inputs X, Y, Z, W are bits 0..3 of the pattern index; one output.
    With A = X xor Y and B = Z xor W the paper's goals are

    * ``G1`` = A AND B
    * ``G2`` = A OR B

    Families (for randomly sampled modularly varying goals):

    * ``"modular"``: every Boolean function f(A, B) that depends on both A and
      B. Of the 16 two-input functions, 2 are constant and 4 depend on one
      argument only (A, B, NOT A, NOT B), leaving 10. Each is named
      ``AB_abcd`` with ``abcd`` = f(0,0) f(0,1) f(1,0) f(1,1), written as
      (A, B); e.g. AND is ``AB_0001`` (the same table as ``G1``) and OR is
      ``AB_0111`` (the same table as ``G2``). The family lists only the
      ``AB_`` names so that no table appears twice in it: a sampler that never
      repeats a goal name also never repeats a table.
    * ``"random"``: the paper's non-modular control, ``N_RANDOM`` fixed random
      4-input functions ``R00``, ``R01``, ... Function k is the first 16 bits
      (little-endian) of SHA-256 of ``"evomod.logic4.random:<c>"`` for
      counters c = 0, 1, 2, ..., skipping any word that is a function of
      (A, B) alone (which includes the two constants) or that repeats an
      earlier one. Bit p of the word is the target for pattern p. A hash, not
      a numpy Generator, so the set never changes with the numpy version.

    Serial goals (the modularity agenda's serial subtasks; not in the paper):
    the left pair's answer decides what the right pair is checked for,
    instead of two answers joined at the end. With B2 = Z AND W:

    * ``serial`` = B if A else B2
    * ``serial_first`` = B if X AND Y else B2 (only the first subtask differs)
    * ``serial_second`` = B2 if A else B (only the second subtask differs)

    ``serial`` takes more NAND gates than the paper's 11 without penalty: a
    hand-built solution uses 13 (two 4-gate XORs, Z AND W from the XOR's
    first gate, a NOT and a 3-gate multiplexer) and evolved ones 12, so the
    serial study gives its circuits more room.

``logic6``
    Inputs X, Y, Z, W, Q, R are bits 0..5; A = X xor Y, B = Z xor W,
    C = Q xor R; three outputs:

    * ``G1`` = (A OR B,  A AND C, B AND C)
    * ``G2`` = (A AND B, A OR C,  B AND C)
    * ``G3`` = (A AND B, A AND C, B OR C)
    * ``G4`` = (A AND B, A AND C, B AND C)

    ``SERIAL_6`` is the paper's presentation order. The family ``"paper"``
    holds the four goals.

Goal tables are read-only so that a model or schedule cannot corrupt a task
that other runs share.
"""

from __future__ import annotations

import hashlib

import numpy as np

from evomod.tasks import Task, all_patterns, register

SERIAL_6 = ("G1", "G4", "G2", "G4", "G3", "G4")

N_RANDOM = 20
RANDOM_SEED = "evomod.logic4.random"

# The 10 two-input functions that depend on both arguments, by truth table
# f(0,0) f(0,1) f(1,0) f(1,1).
AB_FUNCTIONS = ("0001", "0010", "0100", "0110", "0111", "1000", "1001", "1011", "1101", "1110")


def _frozen(table: np.ndarray) -> np.ndarray:
    table = np.ascontiguousarray(table, dtype=bool)
    table.setflags(write=False)
    return table


def _xor_pairs(inputs: np.ndarray) -> np.ndarray:
    """Columns A = in0^in1, B = in2^in3, ... as ints 0/1."""
    x = inputs.astype(np.int64)
    return x[:, 0::2] ^ x[:, 1::2]


def _ab_table(code: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lookup = np.array([c == "1" for c in code])
    return lookup[2 * a + b]


def _random_words(n: int) -> list[int]:
    p = np.arange(16)
    ab = ((p & 1) ^ ((p >> 1) & 1)) * 2 + (((p >> 2) & 1) ^ ((p >> 3) & 1))
    # Words that are functions of (A, B): excluded so the control is non-modular.
    excluded = set()
    for code in range(16):
        lookup = (code >> np.arange(4)) & 1
        excluded.add(int(np.sum(lookup[ab] << p)))
    words: list[int] = []
    counter = 0
    while len(words) < n:
        digest = hashlib.sha256(f"{RANDOM_SEED}:{counter}".encode()).digest()
        counter += 1
        word = int.from_bytes(digest[:2], "little")
        if word in excluded or word in words:
            continue
        words.append(word)
    return words


@register("logic4")
def logic4() -> Task:
    """X, Y, Z, W: Kashtan & Alon's G1 and G2, the modular and random goal families."""
    inputs = all_patterns(4)
    inputs.setflags(write=False)
    ab = _xor_pairs(inputs)
    a, b = ab[:, 0], ab[:, 1]
    goals: dict[str, np.ndarray] = {
        "G1": _frozen((a & b)[:, None]),
        "G2": _frozen((a | b)[:, None]),
    }
    modular = []
    for code in AB_FUNCTIONS:
        name = f"AB_{code}"
        goals[name] = _frozen(_ab_table(code, a, b)[:, None])
        modular.append(name)
    x, y, z, w = (inputs[:, i].astype(bool) for i in range(4))
    a_bool, b_bool, b2 = a == 1, b == 1, z & w
    goals["serial"] = _frozen(np.where(a_bool, b_bool, b2)[:, None])
    goals["serial_first"] = _frozen(np.where(x & y, b_bool, b2)[:, None])
    goals["serial_second"] = _frozen(np.where(a_bool, b2, b_bool)[:, None])
    random_names = []
    p = np.arange(16)
    for k, word in enumerate(_random_words(N_RANDOM)):
        name = f"R{k:02d}"
        goals[name] = _frozen((((word >> p) & 1) == 1)[:, None])
        random_names.append(name)
    return Task(
        name="logic4",
        inputs=inputs,
        goals=goals,
        families={"modular": tuple(modular), "random": tuple(random_names)},
        input_names=("X", "Y", "Z", "W"),
    )


@register("logic6")
def logic6() -> Task:
    """6 inputs, 3 outputs: Kashtan & Alon's goals G1 to G4."""
    inputs = all_patterns(6)
    inputs.setflags(write=False)
    abc = _xor_pairs(inputs)
    a, b, c = abc[:, 0], abc[:, 1], abc[:, 2]
    goals = {
        "G1": _frozen(np.stack([a | b, a & c, b & c], axis=1)),
        "G2": _frozen(np.stack([a & b, a | c, b & c], axis=1)),
        "G3": _frozen(np.stack([a & b, a & c, b | c], axis=1)),
        "G4": _frozen(np.stack([a & b, a & c, b & c], axis=1)),
    }
    return Task(
        name="logic6",
        inputs=inputs,
        goals=goals,
        families={"paper": ("G1", "G2", "G3", "G4")},
        input_names=("X", "Y", "Z", "W", "Q", "R"),
    )
