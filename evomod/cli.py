"""The evomod command line: run, resume, plot, score, baseline, sweep, report, adapt.

Bad input (a config field, a file, an argument) is refused with one line on
stderr naming it, exit code 2, and nothing written.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap

from evomod.errors import ConfigError, EvomodError

MAX_SEED = 2**32 - 1

# reStructuredText in docstrings reused as --help text, and its plain form.
_MARKUP = [
    (re.compile(r":[a-z]+:`~?([^`]+)`"), r"\1"),  # :func:`x`, :mod:`~a.b`
    (re.compile(r"``([^`]+)``"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"\1"),
    (re.compile(r"\s*::$", re.MULTILINE), ":"),  # a literal block's introduction
]


def strip_markup(text: str) -> str:
    """``text`` without reStructuredText markup (roles, literals, bold, ``::``)."""
    for pattern, plain in _MARKUP:
        text = pattern.sub(plain, text)
    return text


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their line breaks, help texts lose their markup, and
    every option with a meaningful default shows it."""

    def _fill_text(self, text, width, indent):
        return super()._fill_text(strip_markup(text), width, indent)

    def _expand_help(self, action):
        return strip_markup(super()._expand_help(action))

    def _get_help_string(self, action):
        text = action.help or ""
        if "%(default)" in text or "default" in text.lower():
            return text
        default = action.default
        if (
            default is None
            or isinstance(default, bool)
            or default == argparse.SUPPRESS
            or action.required
            or not action.option_strings
        ):
            return text
        return text + " (default: %(default)s)"


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a usage error as one line: ``evomod CMD: error: ...``."""

    def error(self, message):
        if message.startswith("argument "):
            message = message[len("argument ") :]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def int_in(low: int, high: int):
    """An argparse type: an integer in ``low..high``."""

    def convert(text: str) -> int:
        allowed = f"(allowed: an integer >= {low} and <= {high})"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer {allowed}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range {allowed}")
        return value

    convert.__name__ = "integer"
    return convert


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("evomod")
    except PackageNotFoundError:
        return "unknown (not installed)"


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
    print(
        f"{out}: generation {state.generation}, goal {last.get('goal')}, "
        f"best performance {last.get('best', float('nan')):.4f}, "
        f"connections {last.get('connections')}, first solved: {solved}"
    )


def _plot(args):
    from evomod.plots import plot_run

    print(plot_run(args.dir, args.out))


def _score(args):
    import json

    from evomod.baselines import attach_qm, run_config_for
    from evomod.modularity import score_network
    from evomod.modularity.graph import check_scorable
    from evomod.network_format import network_in, read_json_file, scoring_defaults

    data = read_json_file(args.network)
    try:
        network = network_in(data)
        method = args.method or scoring_defaults(network.get("kind"))[1]
        check_scorable(network, method)
    except EvomodError as err:
        # Placed in the file it is about.
        raise err.renamed(f"{args.network}: {err.field}") from None
    config = run_config_for(args.network, args.config)
    # Information flow simulates the network: a layered one with the run's lam.
    lam = (
        getattr(config.model, "lam", 20.0)
        if config is not None and network.get("kind") == "layered"
        else 20.0
    )
    try:
        result = score_network(network, method=method, n_shuffles=args.shuffles, seed=args.seed, lam=lam)
    except EvomodError as err:
        # Placed in the file it is about.
        raise err.renamed(f"{args.network}: {err.field}") from None
    attach_qm(result, network, args.baselines)
    result["broadness"] = None
    if args.no_broadness:
        result["broadness_note"] = "not measured (--no-broadness)"
    elif config is None:
        result["broadness_note"] = (
            "needs the run's task and model: pass --config (or score a run's best.json)"
        )
    else:
        from evomod.analysis import broadness

        try:
            result["broadness"] = broadness(
                network, config, samples=args.broadness_samples, seed=args.seed
            ).to_json()
        except EvomodError as err:
            raise err.renamed(f"{args.network}: {err.field}") from None
    if not args.no_qm:
        from pathlib import Path

        from evomod.baselines import paper_qm

        result["paper_qm"] = paper_qm(
            network,
            config,
            directed=result["directed"],
            method=result["method"],
            cache_dir=args.baselines if Path(args.baselines).is_dir() else None,
            n_samples=args.qm_samples,
            seed=args.seed,
        )
    if args.json:
        print(json.dumps(result, indent=1))
        return
    rows = [
        ("kind", result["kind"]),
        ("nodes kept", result["n_nodes"]),
        ("edges", result["n_edges"]),
        (
            "Q",
            f"{result['q']:.4f} ({result['method']}, {'directed' if result['directed'] else 'undirected'})",
        ),
        ("modules", "  ".join("{" + ", ".join(map(str, m)) + "}" for m in result["modules"])),
    ]
    if result.get("qm") is not None:
        rows.append(
            (
                "Qm",
                f"{result['qm']:.4f} (Q_rand {result['q_rand']:.4f} ± {result['q_rand_sem']:.4f}, "
                f"n={result['q_rand_n']}; Q_max {result['q_max']:.4f} ± {result['q_max_sem']:.4f}, "
                f"n={result['q_max_n']})",
            )
        )
    else:
        rows.append(("Qm", result.get("qm_note", "no baselines")))
    if "paper_qm" in result:
        from evomod.baselines import qm_rows

        rows += qm_rows(result["paper_qm"])
    if result["ncut"] is None:
        rows.append(("n-cut", "no edges"))
    else:
        z = result["clusterability_z"]
        rows.append(
            (
                f"n-cut (k={result['k']})",
                f"{result['ncut']:.4f}, p = {result['clusterability_p']:.3f}, "
                f"Z = {z if z is None else round(z, 2)} "
                f"({result['n_shuffles']} '{result['null']}' shuffles)",
            )
        )
    flow = result["information_flow"]
    if flow is None:
        rows.append(("information flow", result["information_flow_error"]))
    else:
        parts = "  ".join("{" + ", ".join(map(str, m)) + "}" for m in flow["modules"])
        rows.append(
            ("information flow", f"{flow['score']:.4f} ({flow['n_parts']} parts, {flow['method']}): {parts}")
        )
    b = result["broadness"]
    if b is None:
        rows.append(("broadness", result["broadness_note"]))
    elif not b["perfect"]:
        rows.append(
            ("broadness", f"not perfect on any goal (performance {b['performance']:.4f} on {b['goal']})")
        )
    else:
        curve = ", ".join(f"{v:.3f}" for v in b["robustness"])
        rows.append(
            (
                "broadness",
                f"on {b['goal']}: neutrality {b['neutrality']:.3f} of single mutations by probability, "
                f"{b['neutrality_count']:.3f} of the {b['n_mutations']} distinct ones",
            )
        )
        rows.append(("robustness (k = 1..)", curve))
        if b["flatness"]:
            flat = b["flatness"]
            steps = ", ".join(f"σ {s:g}: +{d:.4f}" for s, d in zip(flat["sigma"], flat["loss_increase"]))
            rows.append(("flatness (loss increase)", steps))
    for pair, agreement in result["partition_agreement"].items():
        if pair == "q_method":
            continue
        text = (
            "–"
            if agreement is None
            else (f"NMI {agreement['nmi']:.3f}, ARI {agreement['ari']:.3f} ({agreement['nodes']} nodes)")
        )
        name = pair.replace("_vs_", " vs ").replace(
            "q ", f"q ({result['partition_agreement']['q_method']}) ", 1
        )
        rows.append((f"agreement {name}", text))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def _baseline(args):
    from evomod import config as config_mod
    from evomod.baselines import compute_baselines

    config = config_mod.load(args.config)
    for name, baseline in compute_baselines(
        config,
        args.cache,
        samples=args.samples,
        runs=args.runs,
        generations=args.generations,
        population=args.population,
        sizes=args.sizes,
        workers=args.workers,
    ).items():
        print(f"{name}: {baseline.mean:.4f} ± {baseline.sem:.4f} (n = {baseline.n}, {baseline.source})")


def _sweep(args):
    from evomod.sweep import run_sweep

    result = run_sweep(args.sweep, args.out, workers=args.workers, scheduler=args.scheduler, quick=args.quick)
    counts = {}
    for outcome in result.outcomes:
        status = "failed" if outcome.error else outcome.result["status"]
        counts[status] = counts.get(status, 0) + 1
    for outcome in result.failed:
        print(f"{outcome.key} failed:\n{outcome.error}", file=sys.stderr)
    parts = [f"{result.already_finished} already finished"] + [
        f"{n} {status}" for status, n in sorted(counts.items())
    ]
    print(f"{result.plan.out}: {len(result.plan.runs)} runs ({', '.join(parts)})")
    if result.failed:
        print(
            f"{len(result.failed)} run(s) failed; run the sweep again to retry them (finished runs are kept)",
            file=sys.stderr,
        )
        raise SystemExit(1)


def _report(args):
    from evomod.report import write_report

    if args.qm_samples < 2:
        raise ConfigError("--qm-samples", f"{args.qm_samples} must be at least 2", ">= 2")
    paths = write_report(
        args.dir,
        adapt=args.adapt or (),
        figures=not args.no_figures,
        baselines=args.baselines,
        qm_samples=args.qm_samples,
    )
    print(
        f"{paths['markdown']} (tables: {paths['report'].name}, {paths['tests'].name}; "
        f"figures: {paths['figures']})"
    )


def _adapt(args):
    from pathlib import Path

    from evomod.adapt import run_adaptation
    from evomod.report import median_ci_text

    data = run_adaptation(
        args.run_dirs,
        args.to,
        args.out,
        cap=args.cap,
        population=args.population,
        goal_from=args.goal_from,
        workers=args.workers,
        scheduler=args.scheduler,
        network=args.network,
    )
    for s in data["skipped"]:
        print(f"skipped {s['source']}: {s['reason']}", file=sys.stderr)
    for f in data["failed"]:
        print(f"{f['source']} failed:\n{f['error']}", file=sys.stderr)
    for row in data["summary_exact"]:
        print(
            f"{row['treatment']}: {row['goal_a']} -> {row['goal_b']}: median [95 % CI] "
            f"{median_ci_text(row)} generations ({row['solved']}/{row['n']} solved within {data['cap']})"
        )
    print(f"{Path(args.out) / 'adapt.json'}")
    if data["failed"]:
        raise SystemExit(1)


def build_parser() -> ArgumentParser:
    from evomod.config import MAX_GENERATIONS, MAX_POPULATION
    from evomod.modularity.graph import SCORE_MAX_NODES
    from evomod.modularity.maximize import METHODS

    parser = ArgumentParser(prog="evomod", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"evomod {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help_text, description=None):
        text = textwrap.fill(description or help_text[0].upper() + help_text[1:] + ".", 78)
        return sub.add_parser(name, help=help_text, description=text, formatter_class=HelpFormatter)

    p = command("run", "evolve from a TOML config")
    from evomod.registry import choices_help

    p.epilog = choices_help()
    p.add_argument("config", help="the run's TOML config (see the experiments/ directory)")
    p.add_argument("--out", required=True, help="run directory to create (new or empty)")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=None, help="override the config's seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)
    p = command("resume", "continue a run from its last checkpoint")
    p.add_argument("dir", help="run directory of an interrupted run (from evomod run)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_resume)
    p = command("plot", "draw a run's log over generations")
    p.add_argument("dir", help="run directory (from evomod run)")
    p.add_argument("--out", default=None, help="PNG path (default: DIR/run.png)")
    p.set_defaults(func=_plot)
    p = command(
        "score",
        "modularity of a network JSON or a run's best.json",
        "Modularity (Q, Qm), clusterability (n-cut), information-flow modularity, the "
        "agreement of their partitions, and the broadness of the solution (neutrality, "
        "robustness, flatness) of one network: a network "
        "JSON file, or a run's best.json (its best network). Networks of at most "
        f"{SCORE_MAX_NODES} nodes are scored.",
    )
    p.add_argument("network", help="network JSON file, or a run's best.json (scores its first network)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--shuffles", type=int_in(1, 10_000), default=50, help="n-cut null samples")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, help="seed of the n-cut shuffles")
    p.add_argument(
        "--method",
        default=None,
        choices=METHODS,
        help="how Q is maximised (default: clune for layered networks, as Clune et al.; "
        "spectral for Kashtan & Alon's models, as logged in runs)",
    )
    p.add_argument("--baselines", default="baselines", help="Qm baseline cache (see evomod baseline)")
    p.add_argument(
        "--config",
        default=None,
        help="the run's TOML or config.json (default: config.json beside a run's best.json); "
        "needed for the size-matched Q_rand and the evolved Q_max",
    )
    p.add_argument(
        "--qm-samples",
        type=int_in(1, 100_000),
        default=1000,
        help="degree-preserving randomisations and size-matched random genomes per network "
        "for Q_rand (Kashtan & Alon: 1000)",
    )
    p.add_argument(
        "--no-qm",
        action="store_true",
        help="skip Kashtan & Alon's per-network Qm controls (seconds per network)",
    )
    p.add_argument(
        "--no-broadness", action="store_true", help="skip the broadness of the solution (evomod.analysis)"
    )
    p.add_argument(
        "--broadness-samples",
        type=int_in(1, 1_000_000),
        default=1000,
        help="mutation paths for the robustness curve and draws per noise level for flatness",
    )
    p.set_defaults(func=_score)
    p = command("baseline", "compute Qm baselines (Q_rand, Q_max) for a config's model")
    p.add_argument("config", help="TOML config whose model (and modularity settings) the baselines are for")
    p.add_argument("--cache", default="baselines", help="directory of cached baselines")
    p.add_argument("--samples", type=int_in(1, 100_000), default=1000, help="random networks for Q_rand")
    p.add_argument("--runs", type=int_in(1, 1_000), default=5, help="evolutions maximising Q, for Q_max")
    p.add_argument(
        "--generations",
        type=int_in(1, MAX_GENERATIONS),
        default=300,
        help="generations of each Q_max evolution",
    )
    p.add_argument(
        "--population",
        type=int_in(2, MAX_POPULATION),
        default=None,
        help="population of each Q_max evolution (default: the config's own, as Kashtan & Alon)",
    )
    p.add_argument(
        "--sizes",
        type=int_in(1, 10_000),
        nargs="*",
        default=[],
        help="node counts to precompute the size-matched Q_rand for",
    )
    p.add_argument("--workers", type=int_in(1, 4096), default=1, help="processes for the Q_max evolutions")
    p.set_defaults(func=_baseline)
    from evomod import adapt, report, sweep

    # These three keep their module's docstring, line breaks and all, as their description.
    p = sub.add_parser(
        "sweep", help="run every treatment of a sweep file for every seed", description=sweep.__doc__
    )
    p.add_argument("sweep", help="sweep TOML file")
    p.add_argument("--out", required=True, help="sweep directory (runs go to OUT/TREATMENT/seed_S)")
    p.add_argument(
        "--workers",
        type=int_in(1, sweep.MAX_WORKERS),
        default=None,
        help="local worker processes (default: the number of CPUs)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        help="dask.distributed scheduler address (overrides the file's [dask] scheduler)",
    )
    p.add_argument("--quick", action="store_true", help="apply the sweep file's quick overrides")
    p.set_defaults(func=_sweep)
    p = sub.add_parser(
        "report",
        help="compare a sweep's treatments: medians, CIs, tests, figures",
        description=report.__doc__,
    )
    p.add_argument("dir", help="sweep directory (from `evomod sweep`)")
    p.add_argument(
        "--adapt",
        action="append",
        default=None,
        metavar="ADAPT_DIR",
        help="an `evomod adapt` output to include (repeatable); DIR/*/adapt.json is found anyway",
    )
    p.add_argument("--no-figures", action="store_true", help="tables only")
    p.add_argument(
        "--baselines",
        default="baselines",
        help="Qm baseline directory from `evomod baseline` (the Qm columns are left out "
        "when it does not exist; Qm needs its evolved Q_max)",
    )
    p.add_argument(
        "--qm-samples",
        type=int,
        default=report.QM_SAMPLES,
        help="degree-preserving randomisations and size-matched random genomes per "
        "network for Q_rand (Kashtan & Alon: 1000)",
    )
    p.set_defaults(func=_report)
    p = sub.add_parser(
        "adapt", help="generations for evolved networks to adapt to a new goal", description=adapt.__doc__
    )
    p.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="finished run directories (a sweep directory stands for all its runs)",
    )
    p.add_argument("--to", required=True, help="the new goal B")
    p.add_argument(
        "--from",
        dest="goal_from",
        default=None,
        help="goal A the network must be perfect on (default: the goal its run ended on; "
        "'none': no requirement, every run's network adapts)",
    )
    p.add_argument("--out", required=True, help="directory for adapt.json, adapt.csv and the figure")
    p.add_argument("--cap", type=int, default=5000, help="give up after this many generations")
    p.add_argument(
        "--network",
        choices=("final", "hall"),
        default="final",
        help="which network to clone: the final population's best (as Clune et al.), or "
        "best.json's hall-of-fame best (the best ever seen)",
    )
    p.add_argument(
        "--population", type=int, default=None, help="clones per adaptation (default: the run's population)"
    )
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPUs)")
    p.add_argument("--scheduler", default=None, help="dask.distributed scheduler address")
    p.set_defaults(func=_adapt)
    for name, p in sub.choices.items():
        p.formatter_class = HelpFormatter
    return parser


def _one_line(command: str, message: str) -> None:
    # One line, whatever the message holds.
    print(f"evomod {command}: error: {' '.join(message.splitlines())}", file=sys.stderr)


def main(argv=None) -> int:
    """Run one subcommand. A refusal (``EvomodError``: bad input, a damaged
    or misplaced file) is one line on stderr and exit code 2; a failure of
    the system (``OSError``) one line and 1; anything else is a bug and
    keeps its traceback."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, or a usage error already printed
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        args.func(args)
    except EvomodError as err:
        _one_line(args.command, str(err))
        return 2
    except OSError as err:
        # The system refused (a full disk, a permission): not a bug of evomod's.
        where = f"{err.filename}: " if err.filename else ""
        _one_line(args.command, f"{where}{err.strerror or err}")
        return 1
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is intact (evomod resume DIR)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
