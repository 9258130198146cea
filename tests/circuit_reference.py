"""A plain-Python NAND circuit simulator, written from the papers' definitions
(not from evomod's bit-parallel kernel), to check circuits found by runs.

A circuit is the JSON exchange format: ``inputs`` (node ids 0..n-1), ``gates``
(each ``{"id", "in": [a, b]}``, output NAND(a, b)), ``outputs`` (gate ids).
Input bit i of pattern p is ``(p >> i) & 1`` (X, Y, Z, W = bits 0..3).
"""

from __future__ import annotations


def xor_goal(name: str, p: int) -> bool:
    """Kashtan & Alon's G1 = (X xor Y) and (Z xor W), G2 = ... or ...."""
    a = ((p >> 0) & 1) ^ ((p >> 1) & 1)
    b = ((p >> 2) & 1) ^ ((p >> 3) & 1)
    return bool(a and b) if name == "G1" else bool(a or b)


def feed_forward(circuit: dict, p: int) -> list[bool]:
    """Output values on pattern ``p``, each gate computed from its sources by recursion."""
    gates = {g["id"]: g["in"] for g in circuit["gates"]}
    memo: dict[int, bool] = {}

    def value(node: int, depth: int = 0) -> bool:
        if node in circuit["inputs"]:
            return bool((p >> node) & 1)
        if depth > len(gates):
            raise ValueError("the circuit has a loop")
        if node not in memo:
            a, b = gates[node]
            memo[node] = not (value(a, depth + 1) and value(b, depth + 1))
        return memo[node]

    return [value(o) for o in circuit["outputs"]]


def synchronous(circuit: dict, p: int, steps: int) -> tuple[list[bool], list[bool]]:
    """Feedback semantics: every gate starts at 0 and all are updated together
    ``steps`` times, inputs held. Returns the outputs after the last step and
    whether each equals its value one step before (settled)."""
    n_in = len(circuit["inputs"])
    values = {i: bool((p >> i) & 1) for i in range(n_in)}
    for g in circuit["gates"]:
        values[g["id"]] = False
    previous = dict(values)
    for _ in range(steps):
        previous = values
        values = dict(previous)
        for g in circuit["gates"]:
            a, b = g["in"]
            values[g["id"]] = not (previous[a] and previous[b])
    outs = [values[o] for o in circuit["outputs"]]
    settled = [values[o] == previous[o] for o in circuit["outputs"]]
    return outs, settled


def performance(circuit: dict, goal, n_inputs: int = 4, steps: int | None = None) -> float:
    """Fraction of patterns answered correctly; ``goal(p) -> bool`` (one output).
    With ``steps``, feedback semantics: an unsettled output counts as wrong."""
    right = 0
    for p in range(2**n_inputs):
        if steps is None:
            (out,) = feed_forward(circuit, p)
            ok = out == goal(p)
        else:
            (out,), (settled,) = synchronous(circuit, p, steps)
            ok = settled and out == goal(p)
        right += ok
    return right / 2**n_inputs


def effective_gates(circuit: dict) -> int:
    """Gates with a directed path to an output."""
    gates = {g["id"]: g["in"] for g in circuit["gates"]}
    seen, stack = set(), list(circuit["outputs"])
    while stack:
        node = stack.pop()
        if node in gates and node not in seen:
            seen.add(node)
            stack.extend(gates[node])
    return len(seen)


def four_input_circuit(sources: list[tuple[int, int]], output: int) -> dict:
    """The exchange format of a 4-input circuit whose gates 4, 5, ... read ``sources``."""
    return {
        "kind": "circuit",
        "inputs": [0, 1, 2, 3],
        "gates": [{"id": 4 + i, "in": list(p)} for i, p in enumerate(sources)],
        "outputs": [output],
    }


# Kashtan & Alon's modular G1 solution: two 4-NAND XORs (gates 4-7 and 8-11)
# and an AND (12, 13), with four spare gates reading inputs 0 and 1.
G1_SOLUTION = four_input_circuit(
    [(0, 1), (0, 4), (1, 4), (5, 6), (2, 3), (2, 8), (3, 8), (9, 10), (7, 11), (12, 12)] + [(0, 1)] * 4,
    13,
)


SERIAL_GOALS = ("serial", "serial_first", "serial_second")


def serial_goal(name: str, p: int) -> bool:
    """The serial goals, written from their definitions: the left pair's answer
    picks what the right pair is checked for (XOR, or AND with B2 = Z and W)."""
    x, y, z, w = ((p >> i) & 1 for i in range(4))
    a, b, b2 = x != y, z != w, bool(z and w)
    if name == "serial":
        return b if a else b2
    if name == "serial_first":
        return b if (x and y) else b2
    if name == "serial_second":
        return b2 if a else b
    raise ValueError(name)


# A 13-gate serial solution: XOR(X, Y) in gates 4-7, XOR(Z, W) in 8-11, with
# 12 = NOT A, 13 = Z AND W (from the XOR's first gate 8), and the multiplexer
# out = NAND(NAND(A, B), NAND(NOT A, Z AND W)) in gates 14-16.
SERIAL_SOLUTION = four_input_circuit(
    [(0, 1), (0, 4), (1, 4), (5, 6), (2, 3), (2, 8), (3, 8), (9, 10)]
    + [(7, 7), (8, 8), (7, 11), (12, 13), (14, 15)]
    + [(0, 1)] * 3,
    16,
)
