"""Broadness of a solution: how much of a perfect network's neighbourhood is still perfect.

One call, :func:`broadness`, measures three things about one network that
solves a goal, each from the network's own model (its mutation operators
and its evaluation):

**Perfect.** Performance 1 under the goal on *every* input pattern of the
task (even when the run's selection samples patterns). The model's own
penalty (Kashtan & Alon's gate or neuron penalty) is not part of "perfect":
it is reported beside it as ``penalty``, and ``solved`` is evomod's "solved"
(performance 1 and zero penalty, as in :mod:`evomod.evolve`). A network that
is not perfect gets ``perfect = False`` and ``None`` for neutrality,
robustness and flatness (or a :class:`~evomod.errors.ConfigError` with
``require_perfect=True``), so a whole set of networks can be scored.

**Single mutations.** Everything the model's mutation operator can do to
the genome in one elementary change, enumerated, not sampled
(:func:`single_mutations`). Each outcome m is a genome different from the
parent; its *rate* r_m is the expected number of times one ``mutate`` call
makes that change, and its probability p_m = r_m / sum(r). Changes of the
genome that do not change the network (a sign of an empty slot, a bit flip
between two aliased addresses, any gene of an unexpressed gate) are
mutations like the others: evolution makes them too.

* ``circuit``, integer genome: with probability q (``mutation_probability``)
  one of the G_m genes that have at least two allowed values, uniformly,
  moves to one of its c_g - 1 other values, uniformly:
  r = q / G_m / (c_g - 1).
* ``circuit``, binary genome: one of the L bits flips, r = q / L.
* ``threshold``: one of the G genes (slot sources, slot signs, thresholds)
  moves to another allowed value: r = q / G / (c_g - 1).
* ``layered``: ``mutate`` is a compound of independent operators; each
  elementary change is one single mutation, with the rate the operator
  gives it applied to the parent alone (N connections, s =
  ``weight_rate_scale``, K entries in the weight list, A allowed weight
  values, P layer pairs, w_l the width of layer l):

  - ``"authors"`` operators: a connection's list position steps down or up,
    r = min(1, s / N) / 2 each (a step clamped at the end of the weight list
    changes nothing and is no mutation); a bias is redrawn to another value,
    r = bias_rate / n_values each (a redraw to the same value is none); a
    connection is added in empty slot e with list position k,
    r = add_rate * (q_e / Q) * (1 - (1 - Q)**T) / K, where a layer pair is
    drawn uniformly and a slot in it uniformly (q_e = 1 / (P * w_l *
    w_(l+1)) per draw, Q = sum of q_e over the empty slots) and redrawn
    while full, at most T = n_nodes**2 times; a connection is removed,
    r = remove_rate / N each.
  - ``"literal"`` operators: a weight moves by +-1 in value,
    r = min(1, s / N) / 2 each when the new value is allowed; a bias moves
    by +-1 within its range, r = bias_rate / 2 each; a connection is added
    in empty slot e with allowed value a, r = add_rate / n_empty / A; a
    connection is removed, r = remove_rate / N each.

  One ``mutate`` call makes sum(r) elementary changes on average
  (``mutation_rate``; q for circuits and threshold networks).

**Neutrality.** With N(m) = 1 when mutant m is perfect,

* ``neutrality`` = sum_m p_m N(m): the probability that a random single
  mutation keeps the network perfect (probability-weighted);
* ``neutrality_count`` = (number of perfect mutants) / (number of distinct
  single mutations): the fraction of the neighbourhood, every outcome
  counted once. The two differ whenever outcomes are not equally likely
  (a circuit's early gates have fewer allowed sources than its late ones,
  so each of their rewirings is likelier);
* ``neutrality_solved``: as ``neutrality``, counting only mutants that are
  perfect with zero penalty;
* ``operators``: per operator, the number of outcomes, their share of the
  probability and both neutralities within it.

**Robustness curve.** ``robustness[k-1]`` is the mean performance after k
successive random single mutations, k = 1..k_max, over ``samples``
independent paths from a seeded numpy Generator; ``perfect_after[k-1]`` is
the fraction of paths still perfect. Circuits and threshold networks are
mutated by the model's own ``mutate`` on a copy of the model whose
``mutation_probability`` is 1, so that every step mutates (with the model's
probability a step would be a copy 1 - q of the time); layered networks by
one elementary change drawn with the probabilities p_m of the genome at
hand, since their ``mutate`` makes several (``mutation_rate`` says how many
per offspring). k = 1 is computed exactly from the enumeration:
robustness[0] = sum_m p_m perf(m) >= neutrality = perfect_after[0], with a
standard error of 0; the other entries carry ``robustness_sem``.
Performance here is the goal's performance; the penalty plays no part.
The paths and the flatness draws come from two children of
``SeedSequence(seed)``, so one does not shift the other.

**Flatness** (layered tanh networks only; ``None`` for the others, whose
weights are slot counts and gates). The weights of the present connections
and every bias are read as real numbers theta and perturbed,
theta + sigma * z with z ~ N(0, I) (the same draws z for every sigma, so
the curve is smooth in sigma); absent connections stay absent. The network
is evaluated in floating point (:func:`real_valued_outputs`, tanh(lam *
(sum w y + b)) at every node, inputs +-1), and

    loss(theta) = mean over patterns and outputs of ((y - t) / 2)**2,
    t = +1 for true, -1 for false,

which lies in 0..1 and equals the fraction of wrong answers when every
output is saturated. ``flatness["loss_increase"][i]`` = mean over the
``samples`` draws of loss(theta + sigma_i z) - loss(theta) (0 at sigma 0);
``accuracy_drop`` the mean fall in performance under the model's own rule
(an output above 0 answers true; below 0 false; exactly 0 is wrong under
the authors' operators, false under the literal ones).

Which task, goal and model
--------------------------
A network JSON does not say what it was evolved for, so :func:`broadness`
takes either the run's ``config`` (an evomod ``Config``, a config mapping as
``config.json`` holds or a TOML file parses to, or the path of either; when
``network`` is the path of a run's ``best.json`` the ``config.json`` beside
it is used by default, as ``evomod score`` does) or ``task`` (a task name or
``Task``) with an optional ``model`` (a ``NetworkModel``, a [model] table
such as ``{"kind": "circuit", "gates": 12}``, or ``None`` for the network
kind's default model). ``goal=None`` means the first goal, among the run's
schedule goals (its family for RMVG) or else among all the task's goals,
that the network is perfect on: goals whose tables differ cannot both be
solved, and goals with the same table give the same result, so this is the
goal a researcher means. A network perfect on none is reported under the
goal it does best on.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evomod.errors import ConfigError
from evomod.models.base import Genomes, NetworkModel, check_int, check_real, size
from evomod.models.circuit import CircuitModel
from evomod.models.layered import LayeredModel
from evomod.models.threshold import ThresholdModel

DEFAULT_SIGMAS = (0.01, 0.05, 0.1, 0.25, 0.5)
MAX_K = 1_000
MAX_SAMPLES = 100_000
MAX_SIGMA = 1e6
# Paths (robustness) and draws (flatness) are processed in chunks of this
# many, so that a large ``samples`` never holds them all at once.
CHUNK = 1_024


# -- single mutations --------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Mutations:
    """Every distinct single mutation of one genome.

    ``genomes`` holds one row per outcome; ``rate[i]`` is the expected number
    of times one ``mutate`` call makes outcome i (see the module docstring),
    ``operator[i]`` names the operator and ``gene[i]`` the gene it changes
    (an index into the model's genes; for layered networks the connection
    slot, or ``n_slots + h`` for bias h).
    """

    genomes: Genomes
    rate: np.ndarray
    operator: np.ndarray
    gene: np.ndarray

    def __len__(self) -> int:
        return len(self.rate)

    @property
    def probability(self) -> np.ndarray:
        total = self.rate.sum()
        return self.rate / total if total > 0 else self.rate.copy()


class _Events:
    """A model's single mutations as a fixed table of possible events.

    Event u changes gene ``gene[u]`` by operator ``operator[u]``; ``rates``
    gives each genome's per-call rate of every event (0 where it is
    impossible or would change nothing) and ``apply`` makes one event per row.
    """

    operator: np.ndarray
    gene: np.ndarray

    def rates(self, genomes: Genomes) -> np.ndarray:
        raise NotImplementedError

    def apply(self, genomes: Genomes, events: np.ndarray) -> Genomes:
        raise NotImplementedError

    def sample(self, genomes: Genomes, rng: np.random.Generator) -> Genomes:
        """One single mutation per row, drawn with the rows' probabilities
        (a row with no possible mutation is left as it is)."""
        rates = self.rates(genomes)
        total = rates.sum(axis=1)
        cumulative = np.cumsum(rates, axis=1)
        # rng.random() < 1, so some cumulative rate exceeds the draw, and the
        # first that does belongs to an event of positive rate.
        draw = rng.random(len(total)) * total
        events = np.argmax(cumulative > draw[:, None], axis=1)
        changed = total > 0
        out = {k: v.copy() for k, v in genomes.items()}
        if changed.any():
            mutated = self.apply({k: v[changed] for k, v in genomes.items()}, events[changed])
            for k in out:
                out[k][changed] = mutated[k]
        return out


class _GeneValueEvents(_Events):
    """Models whose mutation moves one gene, chosen uniformly among the
    genes with at least two values, to another of its values, uniformly,
    with probability ``q`` per call. Event u = gene * width + value index."""

    def __init__(self, choices: np.ndarray, labels: list[str], q: float):
        choices = np.asarray(choices, dtype=np.int64)
        self.choices = choices
        self.width = int(choices.max()) if len(choices) else 1
        n_genes = len(choices)
        self.gene = np.repeat(np.arange(n_genes), self.width)
        self.value = np.tile(np.arange(self.width), n_genes)
        self.operator = np.repeat(np.array(labels), self.width)
        mutable = choices >= 2
        possible = mutable[self.gene] & (self.value < choices[self.gene])
        n_mutable = max(int(mutable.sum()), 1)
        per_value = q / n_mutable / np.maximum(choices[self.gene] - 1, 1)
        self._rate = np.where(possible, per_value, 0.0)

    def values(self, genomes: Genomes) -> np.ndarray:
        """(n, n_genes) value index of every gene."""
        raise NotImplementedError

    def rates(self, genomes):
        current = self.values(genomes)
        return self._rate[None, :] * (current[:, self.gene] != self.value[None, :])


class _CircuitEvents(_GeneValueEvents):
    """Integer circuit genomes: 2G source genes (gate-major), then the outputs."""

    def __init__(self, model: CircuitModel):
        self.model = model
        g = np.arange(model.gates)
        sources = np.full(model.gates, model.n_nodes) if model.feedback else model.n_inputs + g
        choices = np.concatenate([np.repeat(sources, 2), np.full(model.n_outputs, model.gates)])
        self.n_src = 2 * model.gates
        self.offset = np.concatenate(
            [np.zeros(self.n_src, dtype=np.int64), np.full(model.n_outputs, model.n_inputs)]
        )
        labels = ["source"] * self.n_src + ["output"] * model.n_outputs
        super().__init__(choices, labels, model.mutation_probability)

    def values(self, genomes):
        n = size(genomes)
        flat = np.concatenate(
            [genomes["src"].reshape(n, self.n_src), genomes["out"].reshape(n, -1)], axis=1
        ).astype(np.int64)
        return flat - self.offset[None, :]

    def apply(self, genomes, events):
        n = len(events)
        src = genomes["src"].reshape(n, self.n_src).copy()
        out = genomes["out"].copy()
        gene = self.gene[events]
        new = self.value[events] + self.offset[gene]
        rows = np.arange(n)
        is_src = gene < self.n_src
        src[rows[is_src], gene[is_src]] = new[is_src]
        out[rows[~is_src], gene[~is_src] - self.n_src] = new[~is_src]
        return {"src": src.reshape(genomes["src"].shape), "out": out}


class _BinaryCircuitEvents(_Events):
    """Binary circuit genomes: one event per bit, a flip."""

    def __init__(self, model: CircuitModel):
        self.n_bits = model.n_bits
        self.gene = np.arange(self.n_bits)
        self.operator = np.where(self.gene < model.n_src_bits, "source_bit", "output_bit")
        self._rate = model.mutation_probability / self.n_bits if self.n_bits else 0.0

    def rates(self, genomes):
        return np.full((size(genomes), self.n_bits), self._rate)

    def apply(self, genomes, events):
        bits = genomes["bits"].copy()
        bits[np.arange(len(events)), events] ^= np.uint8(1)
        return {"bits": bits}


class _ThresholdEvents(_GeneValueEvents):
    """Threshold networks: per neuron, its open slots' source and sign genes, then its threshold."""

    def __init__(self, model: ThresholdModel):
        self.model = model
        kind, neuron, slot, choices = [], [], [], []
        n_thresholds = model.threshold_max - model.threshold_min + 1
        for j in range(model.n_neurons):
            for s in range(int(model.neuron_fan_in[j])):
                kind += ["source", "sign"]
                neuron += [j, j]
                slot += [s, s]
                choices += [int(model.prev_width[j]) + 1, 2]
            kind.append("threshold")
            neuron.append(j)
            slot.append(0)
            choices.append(n_thresholds)
        self.kinds = np.array(kind)
        self.neuron = np.array(neuron, dtype=np.int64)
        self.slot = np.array(slot, dtype=np.int64)
        super().__init__(np.array(choices), kind, model.mutation_probability)

    def values(self, genomes):
        src = genomes["src"].astype(np.int64)[:, self.neuron, self.slot] + 1
        sign = (genomes["sign"][:, self.neuron, self.slot] > 0).astype(np.int64)
        thr = genomes["threshold"].astype(np.int64)[:, self.neuron] - self.model.threshold_min
        kinds = self.kinds[None, :]
        return np.where(kinds == "source", src, np.where(kinds == "sign", sign, thr))

    def apply(self, genomes, events):
        src, sign, thr = (genomes[k].copy() for k in ("src", "sign", "threshold"))
        gene, value = self.gene[events], self.value[events]
        rows, j, s, kind = np.arange(len(events)), self.neuron[gene], self.slot[gene], self.kinds[gene]
        m = kind == "source"
        src[rows[m], j[m], s[m]] = value[m] - 1
        m = kind == "sign"
        sign[rows[m], j[m], s[m]] = np.where(value[m] == 1, 1, -1)
        m = kind == "threshold"
        thr[rows[m], j[m]] = value[m] + self.model.threshold_min
        return {"src": src, "sign": sign, "threshold": thr}


class _LayeredEvents(_Events):
    """Layered networks, both operator families. Events, in blocks:
    steps (slot, down/up), biases (node, value or down/up), adds (slot,
    list position or allowed value), removes (slot)."""

    def __init__(self, model: LayeredModel):
        self.model = model
        E, H = model.n_slots, model.n_nodes - model.n_inputs
        self.authors = model.operators == "authors"
        self.n_bias_values = model.bias_max - model.bias_min + 1
        bias_width = self.n_bias_values if self.authors else 2
        self.add_values = model.weight_list if self.authors else model.allowed_weights
        A = len(self.add_values)
        self.blocks = np.cumsum([0, 2 * E, H * bias_width, E * A, E])
        self.bias_width, self.n_add = bias_width, A
        self.gene = np.concatenate(
            [
                np.repeat(np.arange(E), 2),
                E + np.repeat(np.arange(H), bias_width),
                np.repeat(np.arange(E), A),
                np.arange(E),
            ]
        )
        self.operator = np.repeat(np.array(["weight", "bias", "add", "remove"]), np.diff(self.blocks))
        # The authors' add-connection draws a layer pair, then a slot in it:
        # per draw, slot e of pair l comes up with 1 / (pairs * w_l * w_(l+1)).
        widths = model.widths
        pair_sizes = widths[:-1] * widths[1:]
        self.draw_probability = np.repeat(1.0 / (len(pair_sizes) * pair_sizes), pair_sizes)

    def _index(self, genomes):
        if "weight_index" in genomes:
            return genomes["weight_index"].astype(np.int64)
        return self.model.index_of(genomes["weights"]).astype(np.int64)

    def rates(self, genomes):
        m = self.model
        weights = genomes["weights"].astype(np.int64)
        biases = genomes["biases"].astype(np.int64)
        n = len(weights)
        connected = weights != 0
        count = connected.sum(axis=1)
        step = np.where(count > 0, np.minimum(1.0, m.weight_rate_scale / np.maximum(count, 1)), 0.0)
        if self.authors:
            index = self._index(genomes)
            last = len(m.weight_list) - 1
            can = np.stack([connected & (index > 0), connected & (index < last)], axis=2)
        else:
            allowed = np.isin(weights[:, :, None] + np.array([-1, 1]), m.allowed_weights.astype(np.int64))
            can = connected[:, :, None] & allowed
        steps = (can * (step[:, None, None] / 2)).reshape(n, -1)

        if self.authors:
            values = m.bias_min + np.arange(self.n_bias_values)
            bias = (biases[:, :, None] != values) * (m.bias_rate / self.n_bias_values)
        else:
            moved = biases[:, :, None] + np.array([-1, 1])
            bias = ((moved >= m.bias_min) & (moved <= m.bias_max)) * (m.bias_rate / 2)
        bias = bias.reshape(n, -1)

        empty = ~connected
        if self.authors:
            q = np.where(empty, self.draw_probability[None, :], 0.0)
            total = q.sum(axis=1, keepdims=True)
            success = 1.0 - (1.0 - total) ** m.max_add_tries
            add_slot = np.divide(q, total, out=np.zeros_like(q), where=total > 0) * success
        else:
            n_empty = empty.sum(axis=1, keepdims=True)
            add_slot = np.divide(empty, n_empty, out=np.zeros(empty.shape), where=n_empty > 0)
        add = np.repeat(add_slot * (m.add_rate / self.n_add), self.n_add, axis=1)

        remove = connected * (m.remove_rate / np.maximum(count, 1))[:, None]
        return np.concatenate([steps, bias, add, remove], axis=1)

    def apply(self, genomes, events):
        m = self.model
        weights, biases = genomes["weights"].copy(), genomes["biases"].copy()
        index = self._index(genomes)
        rows = np.arange(len(events))
        b0, b1, b2, b3, _ = self.blocks

        k = (events >= b0) & (events < b1)
        slot, up = (events[k] - b0) // 2, (events[k] - b0) % 2 == 1
        if self.authors:
            index[rows[k], slot] += np.where(up, 1, -1)
            weights[rows[k], slot] = m.weight_list[index[rows[k], slot]]
        else:
            weights[rows[k], slot] += np.where(up, 1, -1).astype(weights.dtype)

        k = (events >= b1) & (events < b2)
        node, value = (events[k] - b1) // self.bias_width, (events[k] - b1) % self.bias_width
        if self.authors:
            biases[rows[k], node] = m.bias_min + value
        else:
            biases[rows[k], node] += np.where(value == 1, 1, -1).astype(biases.dtype)

        k = (events >= b2) & (events < b3)
        slot, which = (events[k] - b2) // self.n_add, (events[k] - b2) % self.n_add
        weights[rows[k], slot] = self.add_values[which]
        index[rows[k], slot] = which

        k = events >= b3
        weights[rows[k], events[k] - b3] = 0
        index[rows[k], events[k] - b3] = -1

        if not self.authors:
            index = m.index_of(weights)
        return {"weights": weights, "weight_index": index.astype(np.int8), "biases": biases}


def _events(model: NetworkModel) -> _Events:
    if isinstance(model, CircuitModel):
        return _BinaryCircuitEvents(model) if model.genome == "binary" else _CircuitEvents(model)
    if isinstance(model, ThresholdModel):
        return _ThresholdEvents(model)
    if isinstance(model, LayeredModel):
        return _LayeredEvents(model)
    raise ConfigError(
        "model.kind",
        f"broadness knows the mutation operators of circuit, threshold and layered models, "
        f"not {model.kind!r}",
        ["circuit", "threshold", "layered"],
    )


def single_mutations(model: NetworkModel, genome: Genomes) -> Mutations:
    """Every distinct single mutation of the one-row ``genome`` under ``model``'s operators."""
    if size(genome) != 1:
        raise ConfigError("genome", f"must hold one network, got {size(genome)}", "a one-row population")
    table = _events(model)
    rates = table.rates(genome)[0]
    events = np.flatnonzero(rates > 0)
    parents = {k: np.repeat(v, len(events), axis=0) for k, v in genome.items()}
    return Mutations(
        genomes=table.apply(parents, events),
        rate=rates[events],
        operator=table.operator[events],
        gene=table.gene[events],
    )


# -- the real-valued forward pass --------------------------------------------------------


def real_valued_outputs(model: LayeredModel, weights, biases, inputs) -> np.ndarray:
    """Outputs tanh(lam * (sum w y + b)) of layered networks with real-valued
    parameters: ``weights`` (S, n_slots) and ``biases`` (S, H) floats, ``inputs``
    (P, n_inputs) booleans (true = +1). Returns (S, P, n_outputs) floats; at
    the genome's own integer parameters it equals ``model.activations``."""
    weights = np.asarray(weights, dtype=np.float64)
    biases = np.asarray(biases, dtype=np.float64)
    x = np.where(np.asarray(inputs, dtype=bool), 1.0, -1.0)
    values = np.broadcast_to(x, (len(weights),) + x.shape)
    widths = model.widths
    node = 0
    for l in range(1, len(widths)):
        a, b = int(widths[l - 1]), int(widths[l])
        start = int(model.slot_offset[l - 1])
        matrix = weights[:, start : start + a * b].reshape(-1, b, a)
        bias = biases[:, node : node + b]
        node += b
        values = np.tanh(model.lam * (values @ matrix.transpose(0, 2, 1) + bias[:, None, :]))
    return values


def _loss(y: np.ndarray, target: np.ndarray) -> np.ndarray:
    t = np.where(target, 1.0, -1.0)
    return (((y - t[None]) / 2) ** 2).mean(axis=(1, 2))


def _correct(model: LayeredModel, y: np.ndarray, target: np.ndarray) -> np.ndarray:
    if model.operators == "authors":
        right = np.where(target[None], y > 0, y < 0)
    else:
        right = np.where(target[None], y > 0, y <= 0)
    return right.mean(axis=(1, 2))


def _flatness(model, genome, inputs, target, sigmas, samples, rng) -> dict:
    weights = genome["weights"][0].astype(np.float64)
    biases = genome["biases"][0].astype(np.float64)
    present = np.flatnonzero(weights)
    y0 = real_valued_outputs(model, weights[None], biases[None], inputs)
    loss0 = float(_loss(y0, target)[0])
    correct0 = float(_correct(model, y0, target)[0])
    increase = np.zeros((len(sigmas), samples))
    drop = np.zeros((len(sigmas), samples))
    for start in range(0, samples, CHUNK):
        n = min(CHUNK, samples - start)
        # The same draws for every sigma: the curve then differs only by sigma.
        z_w = rng.standard_normal((n, len(present)))
        z_b = rng.standard_normal((n, len(biases)))
        for i, sigma in enumerate(sigmas):
            w = np.repeat(weights[None], n, axis=0)
            w[:, present] += sigma * z_w
            y = real_valued_outputs(model, w, biases[None] + sigma * z_b, inputs)
            increase[i, start : start + n] = _loss(y, target) - loss0
            drop[i, start : start + n] = correct0 - _correct(model, y, target)
    return {
        "sigma": [float(s) for s in sigmas],
        "loss": loss0,
        "loss_increase": [float(v) for v in increase.mean(axis=1)],
        "loss_increase_sem": [_sem(row) for row in increase],
        "accuracy_drop": [float(v) for v in drop.mean(axis=1)],
        "samples": samples,
    }


def _sem(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


# -- the measure ---------------------------------------------------------------------


@dataclass
class Broadness:
    """What :func:`broadness` measures (see the module docstring); ``to_json`` gives a plain dict."""

    kind: str
    task: str
    goal: str
    performance: float
    penalty: float
    perfect: bool
    solved: bool
    mutation_rate: float
    n_mutations: int
    n_neutral: int | None
    neutrality: float | None
    neutrality_count: float | None
    neutrality_solved: float | None
    operators: dict | None
    k: list
    robustness: list | None
    robustness_sem: list | None
    perfect_after: list | None
    samples: int
    seed: int
    flatness: dict | None

    def to_json(self) -> dict:
        return asdict(self)


def broadness(
    network,
    config=None,
    *,
    goal: str | None = None,
    task=None,
    model=None,
    k_max: int = 10,
    samples: int = 1000,
    sigmas=DEFAULT_SIGMAS,
    seed: int = 0,
    require_perfect: bool = False,
) -> Broadness:
    """Neutrality, robustness curve and flatness of one network (see the module docstring).

    ``network``: a network JSON object, or the path of a network JSON or of a
    run's ``best.json`` (its first network). ``config``: the run's config
    (``Config``, mapping, or TOML / config.json path); or else ``task`` and,
    optionally, ``model``. ``goal``: the goal name; ``None`` picks the goal
    the network is perfect on. ``k_max``: the longest mutation path;
    ``samples``: paths for the robustness curve and draws per sigma for
    flatness; ``sigmas``: the flatness noise levels; ``seed``: of every draw.
    With ``require_perfect`` a network that is not perfect is refused.
    """
    network, path = _network(network)
    k_max = check_int("k_max", k_max, 1, MAX_K)
    samples = check_int("samples", samples, 1, MAX_SAMPLES)
    seed = check_int("seed", seed, 0)
    sigmas = _sigmas(sigmas)
    if not isinstance(require_perfect, (bool, np.bool_)):
        raise ConfigError("require_perfect", f"must be true or false, got {require_perfect!r}", [True, False])
    task, model, candidates = _setting(network, path, config, task, model)
    if network.get("kind") != model.kind:
        raise ConfigError(
            "network.kind", f"is {network.get('kind')!r}, but the model is {model.kind!r}", [model.kind]
        )
    genome = model.from_json(network)
    goal, performance = _choose_goal(model, genome, task, goal, candidates)
    target = task.target(goal, "goal")
    penalty = float(model.penalty(genome)[0])
    perfect = performance == 1.0
    if require_perfect and not perfect:
        raise ConfigError(
            "network",
            f"is not perfect on goal {goal!r} of task {task.name!r} (performance {performance:.6g})",
            "a network with performance 1",
        )
    mutations = single_mutations(model, genome)
    result = Broadness(
        kind=model.kind,
        task=task.name,
        goal=goal,
        performance=performance,
        penalty=penalty,
        perfect=bool(perfect),
        solved=bool(perfect and penalty <= 0.0),
        mutation_rate=float(mutations.rate.sum()),
        n_mutations=len(mutations),
        n_neutral=None,
        neutrality=None,
        neutrality_count=None,
        neutrality_solved=None,
        operators=None,
        k=list(range(1, k_max + 1)),
        robustness=None,
        robustness_sem=None,
        perfect_after=None,
        samples=samples,
        seed=seed,
        flatness=None,
    )
    if not perfect:
        return result
    robustness_rng, flatness_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))

    if len(mutations):
        mutant_perf = model.performance(mutations.genomes, task.inputs, target)
        neutral = mutant_perf == 1.0
        solved = neutral & (model.penalty(mutations.genomes) <= 0.0)
        p = mutations.probability
        result.n_neutral = int(neutral.sum())
        result.neutrality = float(p @ neutral)
        result.neutrality_count = float(neutral.mean())
        result.neutrality_solved = float(p @ solved)
        result.operators = {}
        for name in dict.fromkeys(mutations.operator.tolist()):
            m = mutations.operator == name
            result.operators[name] = {
                "n": int(m.sum()),
                "share": float(p[m].sum()),
                "neutrality": float(p[m] @ neutral[m] / p[m].sum()),
                "neutrality_count": float(neutral[m].mean()),
            }
        exact = (float(p @ mutant_perf), result.neutrality)
    else:
        exact = (performance, 1.0)

    mean, sem, still = _robustness(model, genome, task.inputs, target, k_max, samples, robustness_rng)
    mean[0], sem[0], still[0] = exact[0], 0.0, exact[1]
    result.robustness = [float(v) for v in mean]
    result.robustness_sem = [float(v) for v in sem]
    result.perfect_after = [float(v) for v in still]
    if isinstance(model, LayeredModel):
        result.flatness = _flatness(model, genome, task.inputs, target, sigmas, samples, flatness_rng)
    return result


def _robustness(model, genome, inputs, target, k_max, samples, rng):
    """Per k: mean performance, its standard error, and the fraction still perfect."""
    if isinstance(model, LayeredModel):
        table = _events(model)

        def step(genomes):
            return table.sample(genomes, rng)

    else:
        # The model's own operator, made to mutate at every step.
        forced = copy.copy(model)
        forced.mutation_probability = 1.0

        def step(genomes):
            return forced.mutate(genomes, rng)

    perf = np.empty((k_max, samples))
    for start in range(0, samples, CHUNK):
        n = min(CHUNK, samples - start)
        genomes = {k: np.repeat(v, n, axis=0) for k, v in genome.items()}
        for k in range(k_max):
            genomes = step(genomes)
            perf[k, start : start + n] = model.performance(genomes, inputs, target)
    sem = np.array([_sem(row) for row in perf])
    return perf.mean(axis=1), sem, (perf == 1.0).mean(axis=1)


# -- arguments -----------------------------------------------------------------------


def _network(network):
    """The network mapping and, when it came from a file, the file's path."""
    if isinstance(network, (str, Path)):
        from evomod.network_format import network_in, read_json_file

        return network_in(read_json_file(network)), Path(network)
    if not isinstance(network, Mapping):
        raise ConfigError(
            "network",
            f"must be a network JSON object or a file path, got {type(network).__name__}",
            'a dict such as {"kind": "circuit", ...}, or a path',
        )
    return network, None


def _sigmas(sigmas) -> tuple[float, ...]:
    if isinstance(sigmas, (str, bytes, Mapping)) or not hasattr(sigmas, "__iter__"):
        raise ConfigError("sigmas", f"must be a list of numbers, got {sigmas!r}", "numbers >= 0")
    values = tuple(check_real(f"sigmas[{i}]", s, 0.0, MAX_SIGMA) for i, s in enumerate(sigmas))
    if not values:
        raise ConfigError("sigmas", "is empty", "at least one number >= 0")
    return values


def _load_config(config):
    from evomod import config as config_mod
    from evomod.config import Config

    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return config_mod.from_dict(dict(config))
    if isinstance(config, (str, Path)):
        path = Path(config)
        if path.suffix == ".json":
            from evomod.rundir import read_json

            return config_mod.from_dict(read_json(path, "config"))
        return config_mod.load(path)
    raise ConfigError(
        "config",
        f"must be a Config, a config mapping or a file path, got {type(config).__name__}",
        "evomod.config.Config, dict, TOML or config.json path",
    )


def _setting(network, path, config, task, model):
    """``(task, model, candidate goals)`` from a config or from task and model."""
    from evomod.build import build_model
    from evomod.tasks import Task, get_task, task_names

    if config is not None and (task is not None or model is not None):
        raise ConfigError("config", "give either a config or task and model, not both", ["config", "task"])
    if config is None and task is None and path is not None and (path.parent / "config.json").exists():
        config = path.parent / "config.json"
    if config is not None:
        cfg = _load_config(config)
        task = get_task(cfg.task.name)
        schedule = cfg.schedule
        goals = task.family(schedule.family) if schedule.family is not None else tuple(schedule.goals)
        return task, build_model(cfg.model, task), goals
    if task is None:
        raise ConfigError(
            "task", "needed without a config: which task the network was evolved for", task_names()
        )
    if isinstance(task, str):
        task = get_task(task)
    elif not isinstance(task, Task):
        raise ConfigError("task", f"must be a task name or Task, got {type(task).__name__}", task_names())
    if not isinstance(model, NetworkModel):
        model = _model_from_table(network, model, task)
    elif model.n_inputs != task.n_inputs or model.n_outputs != task.n_outputs:
        raise ConfigError(
            "model",
            f"has {model.n_inputs} inputs and {model.n_outputs} outputs, task {task.name!r} "
            f"{task.n_inputs} and {task.n_outputs}",
        )
    return task, model, tuple(task.goals)


def _model_from_table(network, table, task) -> NetworkModel:
    from evomod import config as config_mod
    from evomod.registry import MODELS

    if table is None:
        table = {}
    if not isinstance(table, Mapping):
        raise ConfigError(
            "model",
            f"must be a NetworkModel, a [model] table or None, got {type(table).__name__}",
            "a NetworkModel, a dict, None",
        )
    kind = table.get("kind", network.get("kind"))
    if not isinstance(kind, str) or kind not in MODELS.names():
        raise ConfigError("network.kind", f"unknown network kind {kind!r}", MODELS.names())
    # The [model] table's own checks, as a config file's [model] would get.
    spec = config_mod._build(MODELS.get(kind), dict(table), "model")
    return spec.build(task)


def _choose_goal(model, genome, task, goal, candidates) -> tuple[str, float]:
    if goal is not None:
        if not isinstance(goal, str):
            raise ConfigError("goal", f"must be a goal name, got {goal!r}", sorted(task.goals))
        target = task.target(goal, "goal")
        return goal, float(model.performance(genome, task.inputs, target)[0])
    best, best_perf = None, -1.0
    for name in candidates:
        perf = float(model.performance(genome, task.inputs, task.target(name, "goal"))[0])
        if perf == 1.0:
            return name, perf
        if perf > best_perf:
            best, best_perf = name, perf
    return best, best_perf
