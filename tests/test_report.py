import csv
import json
import math
import shutil

import numpy as np
import pytest
from circuit_reference import G1_SOLUTION
from scipy.stats import mannwhitneyu

from evomod import cli, report, report_plots, sweep
from evomod.errors import ConfigError, FileError
from evomod.modularity.infoflow import information_flow_modularity
from evomod.modularity.tracking import measure_network
from evomod.rundir import read_log

CIRCUIT_G1 = G1_SOLUTION


# -- statistics --------------------------------------------------------------------


def test_bootstrap_ci_of_a_constant_is_degenerate():
    assert report.bootstrap_median_ci([0.42] * 7) == (0.42, 0.42, 0.42)
    assert report.bootstrap_median_ci([3.0]) == (3.0, 3.0, 3.0)


def test_bootstrap_ci_brackets_the_median_and_is_reproducible():
    rng = np.random.default_rng(5)
    x = rng.normal(10.0, 2.0, 25)
    median, low, high = report.bootstrap_median_ci(x)
    assert median == np.median(x)
    assert low <= median <= high
    assert x.min() <= low < high <= x.max()
    assert report.bootstrap_median_ci(x) == (median, low, high)
    # Hand-checkable: half the values 0 and half 1 (n odd, more ones) -> median 1.
    assert report.bootstrap_median_ci([0, 0, 1, 1, 1])[0] == 1.0


def exact_bootstrap_median_cdf(n):
    """P(median of n draws with replacement <= the k-th smallest of n distinct
    values), k = 1..n, n odd: at least (n + 1) / 2 draws among the k smallest."""
    from scipy.stats import binom

    return np.array([binom.sf((n + 1) // 2 - 1, n, k / n) for k in range(1, n + 1)])


@pytest.mark.parametrize("n, low_rank, high_rank", [(11, 3, 9), (21, 7, 15), (25, 8, 18)])
def test_bootstrap_ci_bounds_are_the_exact_bootstrap_quantiles(n, low_rank, high_rank):
    # Independent of the resampling code: the bootstrap distribution of the
    # median of n distinct values is binomial in the order statistics, so the
    # 2.5 % and 97.5 % points are fixed order statistics whatever the values
    # (n = 25 also tells a 95 % interval from a 90 % one: that would be x(9), x(17)).
    cdf = exact_bootstrap_median_cdf(n)
    assert cdf[low_rank - 2] < 0.025 - 0.004 and cdf[low_rank - 1] > 0.025 + 0.004
    assert cdf[high_rank - 2] < 0.975 - 0.004 and cdf[high_rank - 1] > 0.975 + 0.004
    rng = np.random.default_rng(n)
    for sample in (rng.normal(10.0, 2.0, n), rng.exponential(1.0, n), rng.uniform(-5, 5, n) ** 3):
        ordered = np.sort(sample)
        median, low, high = report.bootstrap_median_ci(sample)
        assert median == ordered[n // 2]
        assert (low, high) == (ordered[low_rank - 1], ordered[high_rank - 1])


def test_bootstrap_ci_coverage_on_a_known_distribution():
    # For n = 11 the interval is [x(3), x(9)] (see above), which holds the true
    # median exactly when 3..8 of the 11 draws fall below it:
    # P(3 <= Binomial(11, 1/2) <= 8) = 1 - 2 * 67 / 2048 = 0.9346.
    rng = np.random.default_rng(2)
    trials = 400
    covered = 0
    for _ in range(trials):
        low, high = report.bootstrap_median_ci(rng.lognormal(0.0, 1.0, 11), resamples=2000)[1:]
        covered += low <= 1.0 <= high  # the lognormal(0, 1) median is 1
    expected = 1 - 2 * 67 / 2048
    assert abs(covered / trials - expected) <= 4 * np.sqrt(expected * (1 - expected) / trials)


def test_bootstrap_with_censored_and_missing_values():
    median, low, high = report.bootstrap_median_ci([5, 7, 9, math.inf, math.inf])
    assert median == 9 and low <= 9 and high == math.inf
    assert report.bootstrap_median_ci([1, math.inf, math.inf])[0] == math.inf
    assert all(math.isnan(v) for v in report.bootstrap_median_ci([]))
    with pytest.raises(ValueError):
        report.bootstrap_median_ci([1.0, math.nan])


def test_mann_whitney_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 12), rng.normal(0.3, 1, 9)
    expected = mannwhitneyu(a, b, alternative="two-sided")
    assert report.mann_whitney(a, b) == (float(expected.statistic), float(expected.pvalue))
    u, p = report.mann_whitney([0.10, 0.12, 0.15, 0.18, 0.2, 0.11], [0.40, 0.42, 0.38, 0.45, 0.41, 0.39])
    assert u == 0.0 and p < 0.05
    assert report.mann_whitney([1, 1, 1], [1, 1, 1])[1] == 1.0
    assert all(math.isnan(v) for v in report.mann_whitney([], [1.0]))
    # Censored times rank above every solved one.
    u, p = report.mann_whitney([1, 2, 3, 4, 5, 6], [math.inf] * 6)
    assert u == 0.0 and p < 0.05


# -- a tiny real sweep ----------------------------------------------------------------


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    raw = {
        "seeds": 3,
        "base": {
            "generations": 20,
            "population": 30,
            "checkpoint_every": 10,
            "schedule": {"kind": "alternating", "goals": ["and", "or"], "period": 5},
        },
        # PA logs no Q, so the report must compute it from best.json.
        "treatments": {
            "PA": {"selection": {"treatment": "PA"}, "log_modularity_every": 0},
            "P&CC": {"log_modularity_every": 3},
        },
    }
    plan = sweep.expand(raw, root / "sweep")
    result = sweep.run_plan(plan, workers=1, progress=False)
    assert not result.failed
    return root / "sweep"


def copy_sweep(swept, to):
    # Without the report a test before may have written into the shared sweep.
    shutil.copytree(
        swept, to, ignore=shutil.ignore_patterns("figures", "report.csv", "tests.csv", "REPORT.md")
    )
    return to


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def last_q(run):
    qs = [row["q"] for row in read_log(run) if isinstance(row.get("q"), float)]
    if qs:
        return qs[-1]
    best = json.loads((run / "best.json").read_text())
    config = json.loads((run / "config.json").read_text())
    return measure_network(
        best["networks"][0]["network"], config["modularity_directed"], config["modularity_method"]
    )["q"]


def test_report_files_and_values(swept):
    paths = report.write_report(swept, resamples=2000)
    rows = read_csv(paths["report"])
    measures = [r["measure"] for r in rows if r["treatment"] == "PA"]
    assert measures[:3] == ["q", "ncut", "information_flow"] and "qm" not in measures
    assert {"performance", "connections", "solve_and", "solve_or", "solve_all_goals"} <= set(measures)
    assert [r["treatment"] for r in rows] == ["PA"] * len(measures) + ["P&CC"] * len(measures)
    by = {(r["treatment"], r["measure"]): r for r in rows}
    for treatment in ("PA", "P&CC"):
        run_dirs = sorted((swept / treatment).iterdir())
        assert len(run_dirs) == 3
        q = [last_q(run) for run in run_dirs]
        row = by[(treatment, "q")]
        assert int(row["n"]) == 3
        assert float(row["median"]) == pytest.approx(np.median(q))
        assert float(row["ci_low"]) <= float(row["median"]) <= float(row["ci_high"])
        perf = [read_log(run)[-1]["best"] for run in run_dirs]
        assert float(by[(treatment, "performance")]["median"]) == pytest.approx(np.median(perf))
        finals = [json.loads((run / "best.json").read_text()) for run in run_dirs]
        flow = [information_flow_modularity(b["final"]["network"]).score for b in finals]
        assert float(by[(treatment, "information_flow")]["median"]) == pytest.approx(np.median(flow))
        # 20 generations: no final network is perfect yet, so none has a neutrality.
        assert (treatment, "neutrality") not in by
        solved = by[(treatment, "solve_all_goals")]
        assert int(solved["solved"]) == sum(
            {"and", "or"} <= set(json.loads((run / "best.json").read_text())["first_solved"])
            for run in run_dirs
        )

    tests = read_csv(paths["tests"])
    assert [(t["treatment_a"], t["treatment_b"]) for t in tests] == [("PA", "P&CC")] * len(measures)
    for t in tests:
        if t["measure"] == "connections":
            a = [read_log(run)[-1]["connections"] for run in sorted((swept / "PA").iterdir())]
            b = [read_log(run)[-1]["connections"] for run in sorted((swept / "P&CC").iterdir())]
            assert float(t["p"]) == pytest.approx(mannwhitneyu(a, b, alternative="two-sided").pvalue)

    text = paths["markdown"].read_text()
    assert "| treatment | Q | n-cut | information-flow modularity | performance | connections |" in text
    assert "## Pairwise tests" in text and "PA vs P&CC" in text
    figures = swept / "figures"
    for stem in (
        "q_over_generations",
        "performance_over_generations",
        "final_q",
        "network_PA",
        "network_P_CC",
    ):
        for ext in ("png", "svg"):
            assert (figures / f"{stem}.{ext}").stat().st_size > 0, stem
        assert f"figures/{stem}.png" in text


def test_report_includes_adaptation_results(swept, tmp_path):
    copy = copy_sweep(swept, tmp_path / "sweep")
    (copy / "adapt").mkdir()
    results = [
        {
            "source": f"r{i}",
            "treatment": t,
            "goal_a": "and",
            "goal_b": "or",
            "generations": g,
            "solved": g < 50,
        }
        for i, (t, g) in enumerate([("PA", 40), ("PA", 50), ("P&CC", 3), ("P&CC", 5)])
    ]
    (copy / "adapt" / "adapt.json").write_text(
        json.dumps(
            {
                "results": results,
                "summary": [
                    {
                        "treatment": "PA",
                        "goal_a": "and",
                        "goal_b": "or",
                        "n": 2,
                        "solved": 1,
                        "median": None,
                        "ci_low": 40.0,
                        "ci_high": None,
                    }
                ],
            }
        )
    )
    text = report.write_report(copy, resamples=200)["markdown"].read_text()
    assert "## Adaptation" in text and "| PA | and → or | 2 | 1 | not reached |" in text
    assert (copy / "figures" / "adaptation.png").exists() and (copy / "figures" / "adaptation.svg").exists()
    with pytest.raises(FileError) as err:
        report.write_report(copy, adapt=[tmp_path / "nowhere"], figures=False)
    assert err.value.field == "--adapt"


def test_generations_to_solve_are_censored(swept, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(swept / "P&CC" / "seed_1", run)
    best = json.loads((run / "best.json").read_text())
    best["first_solved"] = {"and": 7}
    (run / "best.json").write_text(json.dumps(best))
    values = report.summarise_run("P&CC", 1, run).values
    assert values["solve_and"] == 7 and values["solve_or"] == math.inf
    assert values["solve_all_goals"] == math.inf
    best["first_solved"] = {"and": 7, "or": 12}
    (run / "best.json").write_text(json.dumps(best))
    assert report.summarise_run("P&CC", 1, run).values["solve_all_goals"] == 12


def test_report_without_sweep_json_and_with_unfinished_runs(swept, tmp_path):
    copy = copy_sweep(swept, tmp_path / "sweep")
    (copy / "sweep.json").unlink()
    (copy / "PA" / "seed_2" / "best.json").unlink()
    collected = report.collect(copy)
    assert collected.treatments == ["P&CC", "PA"]  # discovered in name order
    assert len(collected.runs["PA"]) == 2 and len(collected.unfinished["PA"]) == 1
    text = report.write_report(copy, resamples=200, figures=False)["markdown"].read_text()
    assert "| PA | 2 | 1 |" in text


def test_qm_is_reported_when_runs_log_it(swept, tmp_path):
    copy = copy_sweep(swept, tmp_path / "sweep")
    finals = {}
    for run in sorted(copy.glob("*/seed_*")):
        with open(run / "log.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        for i, row in enumerate(rows):
            row["qm"] = "" if i % 2 else repr(0.01 * i + 0.1 * int(run.name[-1]))
        finals[run] = float([r["qm"] for r in rows if r["qm"]][-1])
        with open(run / "log.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    collected = report.collect(copy)
    assert collected.measures[:3] == ["q", "qm", "ncut"]
    expected = np.median([v for run, v in finals.items() if run.parent.name == "PA"])
    assert np.median(report.measure_values(collected, "PA", "qm")) == pytest.approx(expected)


def test_report_errors_name_the_field(tmp_path, capsys):
    with pytest.raises(FileError) as err:
        report.write_report(tmp_path / "absent")
    assert err.value.field == "DIR"
    (tmp_path / "empty").mkdir()
    assert cli.main(["report", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "DIR" in err and "Traceback" not in err


def test_add_command_registers_report(swept, tmp_path, capsys):
    copy = copy_sweep(swept, tmp_path / "sweep")
    parser = cli.build_parser()
    args = parser.parse_args(["report", str(copy), "--no-figures"])
    args.func(args)
    assert "REPORT.md" in capsys.readouterr().out
    assert (copy / "report.csv").exists() and not (copy / "figures").exists()


# -- figures ---------------------------------------------------------------------


def test_generation_matrix_and_band():
    logs = [
        [{"gen": 0.0, "q": 0.1}, {"gen": 1.0, "q": ""}, {"gen": 2.0, "q": 0.3}],
        [{"gen": 0.0, "q": 0.2}, {"gen": 1.0, "q": ""}],
    ]
    gens, values = report_plots.generation_matrix(logs, "q")
    assert list(gens) == [0, 2]  # generation 1 logged no Q
    assert np.allclose(values[0], [0.1, 0.3]) and values[1, 0] == 0.2 and np.isnan(values[1, 1])
    median, low, high = report_plots.median_band(values)
    assert median[0] == pytest.approx(0.15) and median[1] == pytest.approx(0.3)
    assert low[0] == pytest.approx(0.1025) and high[0] == pytest.approx(0.1975)
    assert report_plots.goal_switches(
        [{"gen": 0, "goal": "a"}, {"gen": 1, "goal": "a"}, {"gen": 2, "goal": "b"}, {"gen": 3, "goal": "a"}]
    ) == [2, 3]


def test_circuit_drawing_places_gates_by_depth(tmp_path):
    pos, edges, outputs = report_plots._circuit_layout(CIRCUIT_G1)
    # Spare gates 14..17 drive nothing and are left out.
    assert set(pos) == set(range(14)) and outputs == {13}
    depth = {n: pos[n][1] for n in pos}
    assert [depth[n] for n in range(4)] == [0, 0, 0, 0]
    assert depth[4] == 1 and depth[7] == 3 and depth[11] == 3 and depth[12] == 4 and depth[13] == 5
    assert len(edges) == 20
    labels = report_plots.module_labels(CIRCUIT_G1)
    assert set(labels) == set(range(14))
    # The two XOR modules are apart.
    assert (
        labels[0] == labels[4] == labels[7]
        and labels[2] == labels[8] == labels[11]
        and labels[0] != labels[2]
    )
    paths = report_plots.plot_network(CIRCUIT_G1, tmp_path / "g1", title="G1")
    assert [p.name for p in paths] == ["g1.png", "g1.svg"]
    # Saving the same figure twice gives the same SVG bytes.
    again = report_plots.plot_network(CIRCUIT_G1, tmp_path / "again", title="G1")
    assert paths[1].read_bytes() == again[1].read_bytes()


def test_drawing_refuses_an_unknown_kind():
    with pytest.raises(ConfigError) as err:
        report_plots.draw_network({"kind": "blob"})
    assert err.value.field == "network.kind"


def test_median_with_ci_text():
    assert report.median_with_ci([0.42] * 5) == "0.420 [0.420, 0.420]"
    assert report.median_with_ci([None, float("nan")]) == "–"
    # Three of five censored: the median and the upper bound are infinite.
    assert report.median_with_ci([1200, 3400, math.inf, math.inf, math.inf], 0).startswith("∞ [1,200")
    assert report.median_with_ci([1500.0, 1500.0], 0) == "1,500 [1,500, 1,500]"


def test_holm_by_hand_and_against_the_step_down_procedure():
    from evomod.report import holm

    # Hand-worked: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, lifted to 0.06.
    assert holm([0.01, 0.04, 0.03, math.nan])[:3] == pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(holm([0.01, 0.04, 0.03, math.nan])[3])
    rng = np.random.default_rng(2)
    for _ in range(300):
        p = list(rng.random(int(rng.integers(1, 8))) ** 3)
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        # Holm's step-down test: reject the k-th smallest while p_(k) <= alpha / (m - k + 1).
        rejected = set()
        for k, i in enumerate(np.argsort(p)):
            if p[i] > alpha / (len(p) - k):
                break
            rejected.add(int(i))
        assert {i for i, q in enumerate(holm(p)) if q <= alpha} == rejected


def test_rank_biserial_is_p_greater_minus_p_less():
    from evomod.report import mann_whitney, rank_biserial

    rng = np.random.default_rng(3)
    for _ in range(50):
        a = rng.integers(0, 5, int(rng.integers(1, 12))).astype(float)
        b = rng.integers(0, 5, int(rng.integers(1, 12))).astype(float)
        u, _ = mann_whitney(a, b)
        greater = np.mean(a[:, None] > b[None, :])
        less = np.mean(a[:, None] < b[None, :])
        assert rank_biserial(u, len(a), len(b)) == pytest.approx(greater - less, abs=1e-12)


def test_report_neutrality_by_brute_force():
    """The report's neutrality of a perfect 14-gate G1 circuit against a
    count over every single mutation as circuits draw them (a mutable gene
    uniformly, then one of its other values uniformly), each mutant judged
    by the plain-Python simulator."""
    import circuit_reference as ref

    from evomod import config as config_mod

    network = G1_SOLUTION
    cfg = config_mod.from_dict({"model": {"kind": "circuit"}, "task": {"name": "logic4"}})

    def perfect(net):
        return ref.performance(net, lambda p: ref.xor_goal("G1", p)) == 1.0 and ref.effective_gates(net) <= 11

    assert perfect(network)
    genes = []  # (gate index or None for the output, source slot, allowed values)
    for g in range(14):
        for j in range(2):
            genes.append((g, j, range(4 + g)))
    genes.append((None, 0, range(4, 18)))
    total = 0.0
    for g, j, allowed in genes:
        current = network["outputs"][0] if g is None else network["gates"][g]["in"][j]
        others = [v for v in allowed if v != current]
        for value in others:
            mutant = json.loads(json.dumps(network))
            if g is None:
                mutant["outputs"] = [value]
            else:
                mutant["gates"][g]["in"][j] = value
            total += perfect(mutant) / len(others)
    expected = total / len(genes)
    assert 0.05 < expected < 0.95
    best = {"final": {"network": network}, "goal": "G1"}
    assert report.neutrality_of(best, cfg) == pytest.approx(expected, abs=1e-12)
    assert report.neutrality_of({"final": {"network": network}, "goal": "G2"}, cfg) is None
