"""The ``evomod`` command line: run, resume, plot, score, baseline, sweep, report, adapt."""

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
    import json

    from evomod.modularity import score_network
    from evomod.runs import read_json
    data = read_json(args.network, "network")
    if isinstance(data, dict) and "networks" in data:  # a run's best.json
        if not data["networks"]:
            raise ConfigError("network", f"{args.network} holds no networks")
        network = data["networks"][0]["network"]
    else:
        network = data
    if args.shuffles < 1:
        raise ConfigError("--shuffles", f"{args.shuffles} must be at least 1", ">= 1")
    from evomod.baselines import DEFAULT_METHOD, attach_qm
    method = args.method or DEFAULT_METHOD.get(network.get("kind") if isinstance(network, dict) else None, "auto")
    result = score_network(network, method=method, n_shuffles=args.shuffles, seed=args.seed)
    attach_qm(result, network, args.baselines)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    rows = [("kind", result["kind"]), ("nodes kept", result["n_nodes"]), ("edges", result["n_edges"]),
            ("Q", f"{result['q']:.4f} ({result['method']}, "
                  f"{'directed' if result['directed'] else 'undirected'})"),
            ("modules", "  ".join("{" + ", ".join(map(str, m)) + "}" for m in result["modules"]))]
    if result.get("qm") is not None:
        rows.append(("Qm", f"{result['qm']:.4f} (Q_rand {result['q_rand']:.4f} ± {result['q_rand_sem']:.4f}, "
                           f"n={result['q_rand_n']}; Q_max {result['q_max']:.4f} ± {result['q_max_sem']:.4f}, "
                           f"n={result['q_max_n']})"))
    else:
        rows.append(("Qm", result.get("qm_note", "no baselines")))
    if result["ncut"] is None:
        rows.append(("n-cut", "no edges"))
    else:
        rows.append((f"n-cut (k={result['k']})", f"{result['ncut']:.4f}, p = {result['clusterability_p']:.3f}, "
                     f"Z = {result['clusterability_z'] if result['clusterability_z'] is None else round(result['clusterability_z'], 2)} "
                     f"({result['n_shuffles']} '{result['null']}' shuffles)"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def _baseline(args):
    from evomod import config as config_mod
    from evomod.baselines import compute_baselines
    config = config_mod.load(args.config)
    for name, baseline in compute_baselines(config, args.cache, samples=args.samples, runs=args.runs,
                                            generations=args.generations,
                                            population=args.population).items():
        print(f"{name}: {baseline.mean:.4f} ± {baseline.sem:.4f} (n = {baseline.n}, {baseline.source})")


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
    p.add_argument("--method", default=None,
                   help="auto, exact, spectral or clune (default: clune for layered networks, "
                        "as Clune et al.; spectral for Kashtan & Alon's models, as logged in runs)")
    p.add_argument("--baselines", default="baselines", help="Qm baseline cache (see `evomod baseline`)")
    p.set_defaults(func=_score)
    p = sub.add_parser("baseline", help="compute Qm baselines (Q_rand, Q_max) for a config's model")
    p.add_argument("config")
    p.add_argument("--cache", default="baselines", help="directory of cached baselines")
    p.add_argument("--samples", type=int, default=1000, help="random networks for Q_rand")
    p.add_argument("--runs", type=int, default=5, help="evolutions maximising Q, for Q_max")
    p.add_argument("--generations", type=int, default=300, help="generations of each Q_max evolution")
    p.add_argument("--population", type=int, default=100, help="population of each Q_max evolution")
    p.set_defaults(func=_baseline)
    from evomod import adapt, report, sweep
    sweep.add_command(sub)
    report.add_command(sub)
    adapt.add_command(sub)
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
