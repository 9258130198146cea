"""Modularity where it is used: run logs, `evomod score`, Qm baselines."""

import json

import networkx as nx
import numpy as np
import pytest

from evomod import cli, runs
from evomod.build import build_parts
from evomod.modularity import maximize_q, network_graph
from evomod.rundir import read_log


def test_run_log_carries_q_of_the_best(tmp_path, small_config):
    from evomod.models.base import take

    seen = {}

    def capture(evolution, state):
        best = take(state.genomes, [evolution.best_index(state)])
        # After a step the state is the population entering generation
        # state.generation: the one row state.generation describes.
        seen[state.generation] = evolution.parts.model.to_json(best, 0)

    # Goal "or" at population 60: scores, the best network and its Q change.
    config = small_config(log_modularity_every=3, population=60, schedule={"goals": ["or"]})
    runs.start(config, tmp_path / "r", quiet=True, hooks=[capture])
    rows = read_log(tmp_path / "r")
    assert all((r["q"] != "") == (r["gen"] % 3 == 0) for r in rows)
    assert len({r["q"] for r in rows if r["q"] != ""}) > 2, "the fixture must move"
    assert len({r["best"] for r in rows}) > 1 and len({r["mean"] for r in rows}) > 10
    assert len({json.dumps(seen[g], sort_keys=True) for g in seen if g % 3 == 0}) > 2
    for row in rows:
        if row["gen"] % 3 or row["gen"] not in seen:
            continue
        # Independent of the logging path: Q (Clune's method, directed, pruned)
        # of that generation's best network.
        graph = network_graph(seen[row["gen"]], directed=True, weighted=False, prune=True)
        expected = maximize_q(graph.adjacency, directed=True, method="clune")
        assert row["q"] == pytest.approx(expected.q)
        assert row["modules"] == expected.n_modules


def two_module_network():
    """Left pixels feed hidden node 8, right pixels node 12; both reach the output
    only through their own layer-2 node: two modules joined at the output."""
    weights = {
        (0, 8): 1,
        (1, 8): 1,
        (2, 8): 1,
        (3, 8): 1,
        (4, 12): 1,
        (5, 12): 1,
        (6, 12): 1,
        (7, 12): 1,
        (8, 16): 1,
        (12, 17): 1,
        (16, 20): 1,
        (17, 21): 1,
        (20, 22): 1,
        (21, 22): 1,
    }
    config_parts = build_parts(__import__("evomod.config", fromlist=["from_dict"]).from_dict({}))
    model = config_parts.model
    nodes = [
        {"id": i, "layer": int(model.layer_of[i]), "bias": None if i < 8 else 0, "x": 0.0, "y": 0.0}
        for i in range(model.n_nodes)
    ]
    return {
        "kind": "layered",
        "layers": [8, 8, 4, 2, 1],
        "nodes": nodes,
        "edges": [[s, d, w] for (s, d), w in weights.items()],
    }


def test_score_cli_table_and_json(tmp_path, capsys):
    path = tmp_path / "net.json"
    path.write_text(json.dumps(two_module_network()))
    assert (
        cli.main(["score", str(path), "--json", "--shuffles", "5", "--baselines", str(tmp_path / "none")])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    # Independent reference: networkx's modularity of the returned partition.
    graph = network_graph(two_module_network(), directed=True, weighted=False, prune=True)
    g = nx.from_numpy_array(graph.adjacency, create_using=nx.DiGraph)
    labels = [result["labels"][str(int(i))] for i in graph.node_ids]
    communities = [{i for i, c in enumerate(labels) if c == m} for m in set(labels)]
    assert result["q"] == pytest.approx(nx.community.modularity(g, communities))
    left, right = {0, 1, 2, 3}, {4, 5, 6, 7}
    module_of = {int(k): v for k, v in result["labels"].items()}
    assert len({module_of[i] for i in left}) == 1 and len({module_of[i] for i in right}) == 1
    assert module_of[0] != module_of[4]
    assert result["qm"] is None and "evomod baseline" in result["qm_note"]
    assert cli.main(["score", str(path), "--shuffles", "5"]) == 0
    table = capsys.readouterr().out
    assert "Q " in table and "n-cut" in table


def test_score_accepts_best_json_and_rejects_bad_files(tmp_path, small_config, capsys):
    runs.start(small_config(log_modularity_every=0), tmp_path / "r", quiet=True)
    assert cli.main(["score", str(tmp_path / "r" / "best.json"), "--shuffles", "3"]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli.main(["score", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    empty = tmp_path / "empty.json"
    net = two_module_network()
    net["edges"] = []
    empty.write_text(json.dumps(net))
    assert cli.main(["score", str(empty), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["q"] == 0 and out["ncut"] is None
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"kind": "blob"}))
    assert cli.main(["score", str(wrong)]) == 2
    assert "network.kind" in capsys.readouterr().err


def test_qm_from_cached_baselines(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("seed = 2\n")
    cache = tmp_path / "baselines"
    assert (
        cli.main(
            [
                "baseline",
                str(cfg),
                "--cache",
                str(cache),
                "--samples",
                "30",
                "--runs",
                "2",
                "--generations",
                "8",
                "--population",
                "20",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Q_rand" in out and "Q_max" in out
    path = tmp_path / "net.json"
    path.write_text(json.dumps(two_module_network()))
    assert cli.main(["score", str(path), "--json", "--shuffles", "3", "--baselines", str(cache)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["q_rand_n"] == 30 and result["q_max_n"] == 2
    expected = (result["q"] - result["q_rand"]) / (result["q_max"] - result["q_rand"])
    assert result["qm"] == pytest.approx(expected)
    # Evolving for Q alone beats random genomes.
    assert result["q_max"] > result["q_rand"]


def test_q_objective_scores_each_network_by_its_q():
    from evomod import config as config_mod
    from evomod.evolve import Evolution
    from evomod.runs import make_measure

    config = config_mod.from_dict(
        {"objective": "modularity", "population": 12, "generations": 2, "selection": {"treatment": "PA"}}
    )
    evolution = Evolution(config, measure=make_measure(config))
    genomes = evolution.parts.model.random(12, np.random.default_rng(1))
    values = evolution.evaluate(genomes, "and", None)
    for i in range(12):
        graph = network_graph(evolution.parts.model.to_json(genomes, i), directed=True, prune=True)
        expected = maximize_q(graph.adjacency, directed=True, method="clune").q if graph.n_edges else 0.0
        assert values[i] == pytest.approx(expected)


def test_report_takes_qm_from_the_baseline_cache(tmp_path, small_config):
    from evomod import report
    from evomod.baselines import compute_baselines, paper_qm

    config = small_config(log_modularity_every=0, generations=6)
    runs.start(config, tmp_path / "PA" / "seed_7", quiet=True)
    assert report.summarise_run("PA", 7, tmp_path / "PA" / "seed_7").values["qm"] is None
    # Qm as Kashtan & Alon define it: Q_rand from degree-preserving
    # randomisations of this network, Q_max from evolutions for Q with the
    # run's own settings.
    run = tmp_path / "PA" / "seed_7"
    compute_baselines(config, tmp_path / "cache", samples=20, runs=2, generations=5)
    values = report.summarise_run("PA", 7, run, baselines=tmp_path / "cache", qm_samples=20).values
    network = json.loads((run / "best.json").read_text())["networks"][0]["network"]
    expected = paper_qm(network, config, cache_dir=tmp_path / "cache", n_samples=20)
    assert values["q"] == pytest.approx(expected["q"])
    assert values["q_rand"] == expected["q_rand_degree"]
    assert expected["q_max"] is not None and values["q_max"] == expected["q_max"]
    if expected["qm"] is not None:
        assert values["qm"] == pytest.approx(
            (values["q"] - values["q_rand"]) / (values["q_max"] - values["q_rand"])
        )


def test_score_cli_information_flow_and_broadness(tmp_path, capsys):
    """The new score fields: information flow and the partitions' agreement
    always, broadness once the run's config says which task and model."""
    import circuit_reference as ref

    network = ref.G1_SOLUTION
    path = tmp_path / "g1.json"
    path.write_text(json.dumps(network))
    common = [
        "score",
        str(path),
        "--json",
        "--shuffles",
        "3",
        "--no-qm",
        "--baselines",
        str(tmp_path / "none"),
    ]
    assert cli.main(common) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["broadness"] is None and "--config" in alone["broadness_note"]
    assert 0 < alone["information_flow"]["score"] <= 1
    pairs = {"q_vs_ncut", "q_vs_information_flow", "ncut_vs_information_flow"}
    assert set(alone["partition_agreement"]) == pairs | {"q_method"}
    config = tmp_path / "run.toml"
    config.write_text('[model]\nkind = "circuit"\n[task]\nname = "logic4"\n')
    assert cli.main(common + ["--config", str(config), "--broadness-samples", "50"]) == 0
    scored = json.loads(capsys.readouterr().out)
    b = scored["broadness"]
    assert b["perfect"] and b["goal"] == "G1" and b["samples"] == 50
    assert 0 < b["neutrality"] < 1 and len(b["robustness"]) == 10
    assert b["robustness"][0] >= b["neutrality"]
    assert cli.main(common + ["--config", str(config), "--no-broadness"]) == 0
    assert json.loads(capsys.readouterr().out)["broadness"] is None
    assert cli.main(["score", str(path), "--no-qm", "--shuffles", "3", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    assert "information flow" in table and "neutrality" in table and "agreement q (exact) vs ncut" in table
