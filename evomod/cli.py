"""The ``evomod`` command line: run, resume, plot, score."""

from __future__ import annotations

import argparse
import sys

from evomod.errors import ConfigError


def _run(args):
    from evomod import config as config_mod
    from evomod.runs import start
    config = config_mod.load(args.config, seed=args.seed)
    state = start(config, args.out, quiet=args.quiet)
    _summary(state, args.out)


def _resume(args):
    from evomod.runs import resume
    state = resume(args.dir, quiet=args.quiet)
    _summary(state, args.dir)


def _summary(state, out):
    last = state.logbook[-1] if state.logbook else {}
    solved = ", ".join(f"{g}@{n}" for g, n in state.first_solved.items()) or "none"
    print(f"{out}: generation {state.generation}, goal {last.get('goal')}, "
          f"best performance {last.get('best', float('nan')):.4f}, "
          f"connections {last.get('connections')}, first solved: {solved}")


def _plot(args):
    from evomod.plots import plot_run
    print(plot_run(args.dir, args.out))


def _score(args):
    from evomod.modularity.score import main as score_main
    score_main(args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="evomod", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="evolve from a TOML config")
    p.add_argument("config")
    p.add_argument("--out", required=True, help="run directory to create")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
    p = sub.add_parser("resume", help="continue a run from its last checkpoint")
    p.add_argument("dir")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_resume)
    p = sub.add_parser("plot", help="draw a run's log over generations")
    p.add_argument("dir")
    p.add_argument("--out", default=None, help="PNG path (default: DIR/run.png)")
    p.set_defaults(func=_plot)
    p = sub.add_parser("score", help="modularity of a network JSON or a run's best.json")
    p.add_argument("network")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--shuffles", type=int, default=50, help="n-cut null samples")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_score)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ConfigError as err:
        print(f"evomod {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is intact (evomod resume DIR)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
