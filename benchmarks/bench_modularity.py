"""Timing of the modularity maximisers on evolved-size networks.

    python benchmarks/bench_modularity.py                 # timing tables
    python benchmarks/bench_modularity.py --agreement 200 # + exact-vs-spectral study
    python benchmarks/bench_modularity.py --measure-only  # only the measure_network table

The table times ``maximize_q`` with each method on (a) a retina-like layered
network (Clune's 8-8-4-2-1, 17 live nodes after pruning; directed Q as
Clune et al.) and (b) a ~15-gate NAND circuit (undirected Q as Kashtan &
Alon), next to ``networkx.community.louvain_communities`` on the same graph
and, for reference, igraph's exact optimum where it applies (undirected
only). Every function is called once before timing so imports and numba
compilation are excluded; figures are medians over repeats.

The second table times the evolution loop's per-generation measurement,
``tracking.measure_network`` (parse, prune, maximise Q, count modules,
n-cut), compiled against the numpy reference
(``_spectral.reference_implementation()``), on the distinct networks that
short runs of the shipped configs actually measured: NAND circuits (MVG,
undirected spectral Q), threshold retina networks (undirected spectral) and
Clune's layered networks (directed, Clune's method as configured, and the
spectral method). Both are called once per network first (numba's
compilation and cache loading excluded); every call is then timed in CPU
time (the machine is shared), medians over all calls; the results of the
two are checked identical on every network.

``--agreement N`` draws N random 8-8-4-2-1 networks with 20-60 edges,
prunes them as Clune et al. do, and reports how often the spectral (and
Clune's) optimum equals the exact one (|dQ| < 1e-9) and the mean gap.
"""

from __future__ import annotations

import argparse
import statistics
import time

import networkx as nx
import numpy as np

from evomod import config as config_mod
from evomod.evolve import Evolution
from evomod.modularity import _spectral, clusterability, maximize_q, network_graph, tracking
from evomod.network_format import parse_network

SIZES = [8, 8, 4, 2, 1]


def layered_nodes():
    layer = np.repeat(np.arange(len(SIZES)), SIZES)
    x = {
        0: np.arange(8) - 3.5,
        1: np.arange(8) - 3.5,
        2: np.array([-2, -1, 1, 2]),
        3: np.array([-1, 1]),
        4: np.array([0]),
    }
    nodes = []
    for i, l in enumerate(layer):
        pos = int(i - np.flatnonzero(layer == l)[0])
        nodes.append({"id": i, "layer": int(l), "bias": 0, "x": float(x[l][pos]), "y": float(l)})
    return nodes


def retina_network():
    """A plausible evolved P&CC retina solver: a left and a right sub-network
    that meet near the output, plus a little clutter (a cross-connection and
    two dead hidden nodes that pruning removes). 17 live nodes, 21 edges."""
    # ids: inputs 0-7; hidden-1 8-15; hidden-2 16-19; hidden-3 20-21; output 22.
    edges = [
        # left half: pixels 0-3 -> hidden 8, 9
        (0, 8, 2),
        (1, 8, 1),
        (2, 8, -1),
        (1, 9, 1),
        (2, 9, 2),
        (3, 9, -2),
        # right half: pixels 4-7 -> hidden 13, 14
        (4, 13, 1),
        (5, 13, 2),
        (6, 13, -1),
        (5, 14, -1),
        (6, 14, 1),
        (7, 14, 2),
        (3, 13, 1),  # one cross-connection
        (8, 16, 2),
        (9, 16, -1),  # left -> hidden-2 node 16
        (13, 19, 1),
        (14, 19, 2),  # right -> hidden-2 node 19
        (16, 20, 2),
        (19, 21, -2),  # -> hidden-3
        (20, 22, 1),
        (21, 22, 1),  # -> output
        (0, 10, 1),
        (10, 17, 1),  # dead: 17 never reaches the output
        (7, 15, -1),  # dead: 15 has no outgoing edge
    ]
    return {
        "kind": "layered",
        "layers": SIZES,
        "nodes": layered_nodes(),
        "edges": [[a, b, w] for a, b, w in edges],
    }


def circuit_network():
    """Kashtan & Alon's MVG-style solution (two 4-NAND XORs and an AND/OR
    module) with three redundant and one dead gate: 15 gates, 14 effective."""
    x, y, z, w = 0, 1, 2, 3

    def xor(a, b, first):
        g = first
        return [(g, [a, b]), (g + 1, [a, g]), (g + 2, [b, g]), (g + 3, [g + 1, g + 2])], g + 3

    left, lx = xor(x, y, 4)
    right, rx = xor(z, w, 8)
    gates = (
        left
        + right
        + [
            (12, [lx, rx]),
            (13, [12, 12]),  # AND = NOT(NAND)
            (14, [lx, lx]),
            (15, [rx, rx]),  # redundant inverters ...
            (16, [14, 15]),  # ... giving OR(lx, rx)
            (17, [13, 16]),  # output mixes AND and OR
            (18, [x, 17]),  # a feedback-free extra gate
            (19, [y, z]),  # dead: never reaches the output
        ]
    )
    return {
        "kind": "circuit",
        "inputs": [x, y, z, w],
        "gates": [{"id": g, "in": list(src)} for g, src in gates],
        "outputs": [18],
    }


def median_time(fn, min_repeats=15, min_seconds=0.5):
    fn()  # warm-up: imports, numba compilation, caches
    times = []
    start = time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 2000:
            break
    return statistics.median(times), len(times)


def to_networkx(adjacency, directed):
    if directed:
        return nx.from_numpy_array(adjacency, create_using=nx.DiGraph)
    return nx.from_numpy_array(adjacency + adjacency.T)


def table():
    cases = [
        ("retina layered (directed)", retina_network(), True),
        ("NAND circuit (undirected)", circuit_network(), False),
    ]
    rows = []
    for name, net, directed in cases:
        g = network_graph(net, directed=True)
        a = g.adjacency
        label = f"{name}, {g.n_nodes} nodes, {g.n_edges} edges"
        for method in ("exact", "spectral", "clune"):
            res = maximize_q(a, directed=directed, method=method)
            t, n = median_time(lambda m=method: maximize_q(a, directed=directed, method=m))
            rows.append((label, f"maximize_q {method}", t, n, res.q, res.n_modules))
        graph = to_networkx(a, directed)
        comms = nx.community.louvain_communities(graph, seed=0)
        t, n = median_time(lambda: nx.community.louvain_communities(graph, seed=0))
        rows.append((label, "networkx louvain", t, n, nx.community.modularity(graph, comms), len(comms)))
        if not directed:
            try:
                import igraph
            except ImportError:
                igraph = None
            if igraph is not None:
                ig = igraph.Graph.Adjacency((a + a.T).astype(int).tolist(), mode="undirected")
                opt = ig.community_optimal_modularity()
                t, n = median_time(lambda: ig.community_optimal_modularity(), min_repeats=5)
                rows.append((label, "igraph optimal (GLPK)", t, n, opt.modularity, len(opt)))
        t, n = median_time(
            lambda: clusterability(net, 2, n_shuffles=50, seed=0), min_repeats=3, min_seconds=0.0
        )
        cut = clusterability(net, 2, n_shuffles=50, seed=0)
        rows.append((label, "clusterability k=2, 50 shuffles", t, n, cut.ncut, 2))

    header = ("network", "measure", "median ms", "reps", "Q / ncut", "mods")
    print(f"{header[0]:<52} {header[1]:<33} {header[2]:>10} {header[3]:>5} {header[4]:>9} {header[5]:>5}")
    for label, what, t, n, value, k in rows:
        print(f"{label:<52} {what:<33} {1000 * t:>10.3f} {n:>5} {value:>9.4f} {k:>5}")


def random_layered(rng):
    layer = np.repeat(np.arange(len(SIZES)), SIZES)
    pairs = np.argwhere(layer[None, :] == layer[:, None] + 1)
    chosen = pairs[rng.choice(len(pairs), int(rng.integers(20, 61)), replace=False)]
    return {
        "kind": "layered",
        "layers": SIZES,
        "nodes": layered_nodes(),
        "edges": [[int(a), int(b), int(rng.choice([-2, -1, 1, 2]))] for a, b in chosen],
    }


def agreement(n_networks, seed=2024):
    rng = np.random.default_rng(seed)
    nets = [random_layered(rng) for _ in range(n_networks)]
    for directed in (True, False):
        sizes, gaps, clune_gaps = [], [], []
        times = {"exact": [], "spectral": [], "clune": []}
        for net in nets:
            a = network_graph(net, directed=True).adjacency
            sizes.append(len(a))
            q = {}
            for method in times:
                t0 = time.perf_counter()
                q[method] = maximize_q(a, directed=directed, method=method).q
                times[method].append(time.perf_counter() - t0)
            gaps.append(q["exact"] - q["spectral"])
            clune_gaps.append(q["exact"] - q["clune"])
        gaps, clune_gaps, sizes = np.array(gaps), np.array(clune_gaps), np.array(sizes)
        nonempty = sizes > 0
        print(
            f"\n{'directed' if directed else 'undirected'} Q, {n_networks} random 8-8-4-2-1 "
            f"networks (20-60 edges, pruned): live nodes median {np.median(sizes):.0f}, "
            f"max {sizes.max()}, {np.sum(~nonempty)} with nothing left"
        )
        for name, g in (("spectral", gaps), ("clune", clune_gaps)):
            print(
                f"  {name:<9} agrees with exact (|dQ| < 1e-9): {np.mean(g < 1e-9):6.1%} of all, "
                f"{np.mean(g[nonempty] < 1e-9):6.1%} of non-empty; mean gap {g.mean():.5f}, "
                f"max gap {g.max():.4f}; min gap {g.min():.1e}"
            )
        for method, t in times.items():
            t = np.array(t)
            print(
                f"  time {method:<9} median {1000 * np.median(t):8.3f} ms, "
                f"95th pct {1000 * np.quantile(t, 0.95):8.3f} ms, max {1000 * t.max():8.1f} ms"
            )


# (label, config under experiments/, population, elite (None: the config's
# selection as it is), generations, log every, method (None: the config's))
MEASURE_RUNS = (
    ("NAND circuits, undirected, spectral", "kashtan2005/g1g2_alternating.toml", 300, 90, 1500, 5, None),
    ("threshold retina, undirected, spectral", "kashtan2005/retina_fixed.toml", 200, 50, 1000, 5, None),
    ("layered retina, directed, clune", "clune2013/pcc.toml", 200, None, 300, 3, None),
    ("layered retina, directed, spectral", "clune2013/pcc.toml", 200, None, 300, 3, "spectral"),
)
EXPERIMENTS = __file__.rsplit("/", 2)[0] + "/experiments/"


def measured_networks(path, population, elite, generations, every, seed=1):
    """The distinct networks a short run of ``path`` hands its measure, in
    order, and the run's config."""
    data = config_mod.read_toml(EXPERIMENTS + path)
    data.update(population=population, stop_when="never", log_modularity_every=every)
    if elite is not None:
        data.setdefault("selection", {})["elite"] = elite
    cfg = config_mod.from_dict(data, seed=seed)
    seen = {}

    def record(network):
        seen.setdefault(repr(network), network)
        return {"q": 0.0, "modules": 0, "ncut": 0.0}

    evolution = Evolution(cfg, measure=record)
    evolution.run(evolution.initial_state(), generations)
    return list(seen.values()), cfg


def cpu_times(fn, items):
    times = []
    for item in items:
        t0 = time.process_time()
        fn(item)
        times.append(time.process_time() - t0)
    return times


def measure_table(limit, repeats):
    print(
        "\nmeasure_network per call (CPU us, median over all calls): numpy reference against "
        "compiled, on the distinct networks short runs measured"
    )
    if not _spectral.use_compiled():
        print("  the compiled kernels are unavailable here (numpy's OpenBLAS not bound): nothing to compare")
        return
    header = ("networks", "count", "nodes", "reference", "compiled", "ratio", "parse", "identical")
    print(
        f"{header[0]:<40} {header[1]:>5} {header[2]:>5} {header[3]:>10} {header[4]:>9} {header[5]:>6} "
        f"{header[6]:>6} {header[7]:>9}"
    )
    for label, path, population, elite, generations, every, method in MEASURE_RUNS:
        nets, cfg = measured_networks(path, population, elite, generations, every)
        nets = nets[-limit:]  # the later, more evolved ones
        directed, method = cfg.modularity_directed, method or cfg.modularity_method

        def compiled(net):
            return tracking.measure_network(net, directed, method)

        def reference(net):
            with _spectral.reference_implementation():
                return tracking.measure_network(net, directed, method)

        same = all(_same(compiled(net), reference(net)) for net in nets)  # also the warm-up
        fast, slow = [], []
        for r in range(repeats):
            fast += cpu_times(compiled, nets)
            if r % 4 == 0:  # the reference is ~10x slower: fewer rounds, interleaved
                slow += cpu_times(reference, nets)
        parse = statistics.median(cpu_times(parse_network, nets))
        nodes = statistics.median(network_graph(net, directed=True).n_nodes for net in nets)
        t_fast, t_slow = statistics.median(fast), statistics.median(slow)
        print(
            f"{label:<40} {len(nets):>5} {nodes:>5.0f} {1e6 * t_slow:>10.0f} {1e6 * t_fast:>9.0f} "
            f"{t_slow / t_fast:>5.1f}x {1e6 * parse:>6.0f} {'yes' if same else 'NO':>9}"
        )
    print("(nodes: median after pruning; parse: parse_network alone, part of both columns)")


def _same(x, y):
    nan = all(isinstance(d["ncut"], float) and d["ncut"] != d["ncut"] for d in (x, y))
    return x["q"] == y["q"] and x["modules"] == y["modules"] and (nan or x["ncut"] == y["ncut"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--agreement",
        type=int,
        default=0,
        metavar="N",
        help="also compare exact and spectral Q on N random networks",
    )
    parser.add_argument(
        "--measure-networks",
        type=int,
        default=120,
        metavar="N",
        help="networks per kind in the measure table",
    )
    parser.add_argument(
        "--measure-repeats", type=int, default=8, help="timed passes over them (compiled; reference: 1 in 4)"
    )
    parser.add_argument("--measure-only", action="store_true", help="only the measure_network table")
    args = parser.parse_args()
    if not args.measure_only:
        table()
    measure_table(args.measure_networks, args.measure_repeats)
    if args.agreement:
        agreement(args.agreement)


if __name__ == "__main__":
    main()
