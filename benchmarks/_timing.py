"""Timing helpers shared by the benchmark scripts (not part of evomod).

- ``PhaseTimer``: wraps callables (module functions, bound methods, instance
  attributes) and adds up the time spent in each phase. Nested wrapped
  calls are charged to the inner phase only (exclusive times), so e.g. Q
  logging inside the generation's log record is not counted twice.
- ``steady_state``: the shipped config's steady-state speed, with Q logging
  as configured and with it off, timed from copies of one starting state.
- ``scaling_table``: whole-generation time against population size.

Everything runs on one thread (numba and BLAS threads set to 1 unless
set), and every time is the process's CPU time (``clock``), not wall time:
the machine is shared with long runs, whose load would otherwise inflate
wall-clock figures by tens of percent, at random.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager

# One core: no worker threads in numba or in the BLAS behind numpy.
for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from evomod import config as config_mod  # noqa: E402
from evomod.evolve import Evolution  # noqa: E402
from evomod.models.base import size, take  # noqa: E402
from evomod.runs import make_measure  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXPERIMENTS = os.path.join(HERE, "..", "experiments")


# The machine is shared with long experiment runs: time is this process's
# CPU time (one thread), which the other jobs' use of the cores does not inflate.
clock = time.process_time


def experiment(*parts: str) -> str:
    return os.path.normpath(os.path.join(EXPERIMENTS, *parts))


def best_of(fn, repeats: int) -> float:
    """Smallest time (``clock``) of ``repeats`` calls of ``fn()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


@contextmanager
def replaced(owner, name: str, value):
    """``owner.name`` set to ``value`` for the block, then put back (a
    module's or instance's own attribute is restored; a shadowed method is
    uncovered again). Yields the original."""
    own = name in vars(owner)
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield original
    finally:
        if own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


class PhaseTimer:
    """Adds up the time spent in wrapped callables, per phase, exclusive of
    nested wrapped calls. Use as a context manager: the originals come back
    on exit."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._inner: list[float] = []  # time of wrapped calls nested in each open call
        self._stack = ExitStack()

    def wrap(self, owner, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            self._inner.append(0.0)
            start = clock()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = clock() - start
                inner = self._inner.pop()
                self.seconds[phase] += elapsed - inner
                if self._inner:
                    self._inner[-1] += elapsed

        self._stack.enter_context(replaced(owner, name, timed))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stack.close()
        return False


def load_config(path: str, seed: int, **overrides):
    """A shipped config as ``evomod.config.load`` reads it, with top-level
    fields replaced (e.g. ``stop_when="never"``)."""
    return dataclasses.replace(config_mod.load(path, seed=seed), **overrides)


def no_q_logging(cfg):
    return dataclasses.replace(cfg, log_modularity_every=0, log_front_every=0)


def timed_run(evolution, state, generations: int) -> float:
    """CPU seconds taken to advance ``state`` by ``generations``."""
    until = state.generation + generations
    start = clock()
    evolution.run(state, until)
    elapsed = clock() - start
    assert state.generation == until, "the run stopped early: set stop_when = 'never'"
    return elapsed


class Checkpoint:
    """A state and the evolution's Q caches at one moment, so that several
    timed runs can start from exactly the same point (same generators, same
    cached Q values as the real run would have there)."""

    def __init__(self, evolution, state):
        self.evolution = evolution
        self.state = copy.deepcopy(state)
        self.caches = (dict(evolution._measured), dict(evolution._q_by_wiring))
        self.config = evolution.config

    def resume(self, config=None):
        """A fresh copy of the state, with the caches as they were."""
        ev = self.evolution
        ev.config = config or self.config
        ev._measured, ev._q_by_wiring = dict(self.caches[0]), dict(self.caches[1])
        return copy.deepcopy(self.state)

    def done(self):
        self.evolution.config = self.config


def same_population(a, b) -> bool:
    return all(np.array_equal(a.genomes[k], b.genomes[k]) for k in a.genomes)


def steady_state(evolution, start: Checkpoint, generations: int, repeats: int, chunk: int = 100) -> dict:
    """Time ``generations`` generations from ``start`` with Q logging as
    configured (``on``) and with ``log_modularity_every = log_front_every =
    0`` (``off``).

    The machine's load drifts, so the two are interleaved finely: the
    generations are timed ``chunk`` at a time, each chunk ``repeats`` times
    with and without Q from copies of the same state (and of the same Q
    caches), the fastest of each counting; the run then continues from the
    end of a run with Q. Returns seconds per generation both ways, the final
    state, and whether the runs without Q ended on the same populations
    (logging draws no random numbers, so they should), and the share of
    the runs with Q spent inside the Q calls."""
    off_cfg = no_q_logging(start.config)
    on = off = 0.0
    same = True
    state = start.resume()
    done = 0
    # The runs with Q also add up the time inside the Q calls (two clock
    # reads per call): a second estimate, free of the comparison's noise.
    inside = PhaseTimer()
    with_q = 0.0
    for name in ("_measure_genome", "_measure_top_front"):
        inside.wrap(evolution, name, "Q")
    with inside:
        while done < generations:
            count = min(chunk, generations - done)
            here = Checkpoint(evolution, state)
            t_on, t_off = [], []
            for _ in range(repeats):
                without = here.resume(off_cfg)
                t_off.append(timed_run(evolution, without, count))
                state = here.resume()  # last, so the Q caches go on from a run with Q
                t_on.append(timed_run(evolution, state, count))
            with_q += sum(t_on)
            same = same and same_population(state, without)
            on, off, done = on + min(t_on), off + min(t_off), done + count
    start.done()
    return {
        "on": on / generations,
        "off": off / generations,
        "end": state,
        "same": same,
        "inside": inside.seconds["Q"] / with_q,
    }


def print_speed(start_gen: int, generations: int, result: dict) -> None:
    t_on, t_off = result["on"], result["off"]
    print(f"{'steady-state generations / s, generations':<44} {start_gen:,}-{start_gen + generations:,}")
    print(f"  {'with Q logging as shipped':<42} {1 / t_on:>9.1f}  ({1e3 * t_on:.2f} ms / generation)")
    print(
        f"  {'without (log_modularity_every = 0 etc.)':<42} {1 / t_off:>9.1f}  "
        f"({1e3 * t_off:.2f} ms / generation)"
    )
    share = 100 * (t_on - t_off) / t_on
    print(
        f"  Q logging: {share:.1f} % of the shipped run's time "
        f"({100 * (t_on / t_off - 1):+.1f} % over the run without it; target < 10 %)"
        f"{'' if result['same'] else '  [populations differ!]'}"
    )
    print(f"  time inside the Q calls, same runs: {100 * result['inside']:.1f} % of the run with Q")
    if result["same"]:
        print("  (both runs end on the same population: logging does not change the run)")


def print_phases(timer: PhaseTimer, generations: int, seconds: float) -> None:
    """Per-phase ms / generation over a timed run that took ``seconds``."""
    total = seconds / generations
    print(f"{'phase (steady state, Q logging as shipped)':<46} {'ms / generation':>16} {'share':>7}")
    accounted = 0.0
    items = sorted(timer.seconds.items(), key=lambda kv: -kv[1])
    for phase, sec in items:
        per = sec / generations
        accounted += per
        print(f"{phase:<46} {1e3 * per:>16.3f} {100 * per / total:>6.1f}%")
    print(
        f"{'other (copies, take/concat, loop glue)':<46} {1e3 * (total - accounted):>16.3f} "
        f"{100 * (total - accounted) / total:>6.1f}%"
    )
    print(f"{'total':<46} {1e3 * total:>16.3f} {100:>6.1f}%")
    print("(each row: time inside its calls. The comparison with and without Q above also counts")
    print(" any indirect cost of Q logging elsewhere in the loop, and is the figure to quote.)")


def print_ratio_header() -> None:
    print(f"{'measure':<64} {'compiled':>11} {'reference':>11} {'ratio':>7}")


def print_ratio(label: str, compiled: float, reference: float) -> None:
    print(f"{label:<64} {compiled:>11,.0f} {reference:>11,.1f} {compiled / reference:>6.1f}x")


def scaling_table(
    make_config, sizes, warmup: int, timed: int, title: str, repeats: int = 2, resample_from=None
) -> None:
    """For each population size: a run of ``make_config(n)``, warmed up
    ``warmup`` generations (not timed), then ``timed`` generations timed as
    a whole (Q logging as the config gives it), ``repeats`` times from
    copies of the same state, the fastest counting. Prints ms / generation
    and that divided by n log2 n, normalised to the n = 1000 row.

    Each size starts from random genomes, or with ``resample_from`` (a
    steady-state population) from ``n`` genomes drawn from it with
    replacement, so that every size times networks of the same kind."""
    rows = []
    for n in sizes:
        cfg = make_config(n)
        evolution = Evolution(cfg, measure=make_measure(cfg))
        genomes = None
        if resample_from is not None:
            pick = np.random.default_rng(n).integers(0, size(resample_from), n)
            genomes = take(resample_from, pick)
        state = evolution.initial_state(genomes)
        evolution.run(state, warmup)
        start = Checkpoint(evolution, state)
        best = min(timed_run(evolution, start.resume(), timed) for _ in range(repeats))
        # Each size is its own run: how far its networks have shrunk by the
        # warm-up's end moves the time per individual as much as n does.
        edges = np.count_nonzero(evolution.parts.model.edges(state.genomes)[2], axis=1).mean()
        rows.append((n, best / timed, edges))
    ref_n, ref, _ = next((r for r in rows if r[0] == 1000), rows[0])  # the row normalised to 1
    nlogn = lambda n: n * math.log2(n)  # noqa: E731
    print(title)
    begin = "random genomes" if resample_from is None else "a steady-state population resampled to n"
    print(
        f"(each size: a run from {begin}, generations 0-{warmup} not timed, then generations "
        f"{warmup}-{warmup + timed} timed, fastest of {repeats})"
    )
    print(
        f"{'population':>10} {'ms / generation':>16} {'us / individual':>16} "
        f"{f'(ms / n log2 n), {ref_n} = 1':>26} {'mean edges':>11}"
    )
    for n, sec, edges in rows:
        norm = (sec / nlogn(n)) / (ref / nlogn(ref_n))
        print(f"{n:>10,} {1e3 * sec:>16.2f} {1e6 * sec / n:>16.2f} {norm:>26.2f} {edges:>11.1f}")
    print("(mean edges: expressed connections per individual when the timing starts)")


def swapped_speed(
    evolution, start: Checkpoint, owner, name: str, replacement, generations: int
) -> tuple[float, float]:
    """Seconds per generation over the same ``generations`` from ``start``:
    as shipped, then with ``owner.name`` replaced (e.g. a reference evaluator)."""
    compiled = timed_run(evolution, start.resume(), generations) / generations
    with replaced(owner, name, replacement):
        reference = timed_run(evolution, start.resume(), generations) / generations
    start.done()
    return compiled, reference


def phase_run(evolution, start: Checkpoint, generations: int, phases) -> tuple[PhaseTimer, float]:
    """The same generations from ``start`` with every ``(owner, name, phase)`` wrapped."""
    state = start.resume()
    with PhaseTimer() as timer:
        for owner, name, phase in phases:
            timer.wrap(owner, name, phase)
        seconds = timed_run(evolution, state, generations)
    start.done()
    return timer, seconds


def logging_phases(evolution):
    """The loop's logging split into statistics, Q and hall of fame."""
    q = "log: Q of the best (and of the front)"
    return [
        (evolution, "_record", "log: statistics, epochs, logbook"),
        (evolution, "_measure_genome", q),
        (evolution, "_measure_top_front", q),
        (evolution, "_update_hall_of_fame", "log: hall of fame"),
    ]


def engine_arguments(
    description: str, scaling: tuple[int, int] | None = None, quick_help: str = "smoke run: tiny counts"
):
    """The command line every engine benchmark shares: warm-up, timed
    generations, repeats, seed and --quick; with ``scaling`` (the default
    warm-up and timed generations per population size) the scaling table's
    options too."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--warmup", type=int, default=1000, help="generations run before timing")
    parser.add_argument("--generations", type=int, default=1000, help="generations timed")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs with and without Q (fastest counts)"
    )
    if scaling is not None:
        parser.add_argument("--scale-warmup", type=int, default=scaling[0])
        parser.add_argument("--scale-generations", type=int, default=scaling[1])
        parser.add_argument("--scale-repeats", type=int, default=3)
        parser.add_argument(
            "--resample-warmup",
            type=int,
            default=50,
            help="untimed generations of the runs from the resampled steady state",
        )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    return parser


def warm_up(evolution, generations: int):
    """Run the untimed warm-up and print how long it took; returns the
    checkpoint to time from and the state it holds."""
    state = evolution.initial_state()
    t0 = clock()
    evolution.run(state, generations)
    warm = clock() - t0
    print(
        f"warm-up: generations 0-{generations} took {warm:.1f} s "
        f"({generations / warm:.0f} generations/s), not timed"
    )
    print()
    return Checkpoint(evolution, state), state


def speed_and_phases(evolution, start: Checkpoint, args, phases, run_length: int, run_label: str) -> dict:
    """Sections 1 and 2 of every engine's report: steady-state speed with
    and without Q logging, then the time per phase (``phases`` plus the
    logging ones)."""
    speed = steady_state(evolution, start, args.generations, args.repeats)
    print_speed(args.warmup, args.generations, speed)
    print(f"  {run_label} generations at this speed: {run_length * speed['on'] / 60:.1f} min")
    print()
    timer, seconds = phase_run(evolution, start, args.generations, [*phases, *logging_phases(evolution)])
    print_phases(timer, args.generations, seconds)
    print()
    return speed


def compiled_against_plain(evolution, start: Checkpoint, args, model, work: str, plain_phases) -> None:
    """The compiled elitist generation (``model.elitist_generation``) against
    the plain path it replaced, on the same generations from ``start``
    (Q logging as shipped), then the plain path's phases. ``work`` names
    what the compiled generation does."""
    compiled, plain = swapped_speed(evolution, start, model, "fused_elitist", False, args.generations)
    print("the compiled generation against the plain numpy path (same generations, Q logging as shipped)")
    print_ratio_header()
    print_ratio(f"generations / s: compiled vs plain ({work})", 1 / compiled, 1 / plain)
    print()
    with replaced(model, "fused_elitist", False):
        timer, seconds = phase_run(
            evolution, start, args.generations, [*plain_phases, *logging_phases(evolution)]
        )
    print("the plain path's phases, for comparison:")
    print_phases(timer, args.generations, seconds)
    print()
