"""Plain-Python test oracle: the selection and mutation behaviour of the code
behind Clune, Mouret & Lipson 2013 ("The evolutionary origins of modularity").

Written from the behaviour of the authors' C++ (sferes2: ``pnsga.hpp``,
``dom_sort_basic.hpp``, ``crowd.hpp``, ``rand.hpp``, ``sampled.hpp``,
``gen_spatial.hpp``, ``retina.cpp``; see /work/shared/reference/
clune2013-author-code/), not from evomod. Clarity over speed: no numpy, no
numba; randomness comes from a ``random.Random`` passed in.

Conventions
- ``F`` is a list of objective tuples (any sequence of floats), one per
  individual; every objective is maximised (the authors store cost as
  ``-cost``).
- ``pressure[m]`` is the probability that objective ``m`` is counted in one
  pairwise comparison (``obj_pressure`` in ``retina.cpp``: ``{1.0, 0.25, 1.0}``
  for P&CC, so performance always counts).

Notes on points where the C++ leaves something unspecified (the oracle's
choice is stated where it is made):
- Crowding sorts each front in place with ``std::sort`` (not stable) once per
  objective; among *equal* objective values the order, and therefore which
  clone gets the infinite "extreme" distance and which interior neighbour
  distances a clone gets, is whatever the library's sort leaves. The oracle
  sorts stably in member order. Crowding of fronts that contain clones is
  therefore not uniquely defined; tests compare crowding only on clone-free
  fronts.
- The overflowing front is sorted by crowding with ``std::sort``; ties are
  left in library order (libstdc++ uses insertion sort, hence stable =
  population order, for ranges of at most 16 elements, introsort beyond).
  The oracle breaks crowding ties uniformly at random, as evomod intends.
- ``dom_sort_basic`` asserts that every front is non-empty. With
  ``pressure[0] == 1`` that always holds (the cheapest of the
  best-performing remaining individuals can never be dominated); with two or
  more objectives below pressure 1 a round can come out empty, and a release
  build (asserts off) then just advances the rank counter and peels again.
  The oracle mirrors that release behaviour.
"""

from __future__ import annotations

import math

INF = math.inf

# ---------------------------------------------------------------------------
# Stochastic Pareto dominance and the authors' front peeling
# ---------------------------------------------------------------------------


def prob_dominates(fa, fb, pressure, rnd):
    """+1 if ``fa`` dominates ``fb``, -1 if ``fb`` dominates ``fa``, 0 otherwise,
    on the objectives that this comparison counts.

    Every objective gets its own fresh coin: counted with probability
    ``pressure[m]``. Dominance on the counted objectives is the usual one: at
    least one strictly better and none strictly worse. No counted objective,
    or equal on all counted ones, gives 0.
    """
    a_better = False
    b_better = False
    for m in range(len(fa)):
        counted = rnd.random() < pressure[m]
        if not counted:
            continue
        if fa[m] > fb[m]:
            a_better = True
        elif fb[m] > fa[m]:
            b_better = True
    if a_better and not b_better:
        return 1
    if b_better and not a_better:
        return -1
    return 0


def peel_fronts(F, pressure, rnd):
    """The authors' ``dom_sort_basic`` with stochastic dominance.

    Each round looks at the individuals not yet ranked. One of them is in the
    current front if no remaining individual (itself included, which is
    harmless: a tie) dominates it, every comparison drawing fresh coins. The
    whole front is then removed and the next round gives the next rank.
    Returns the rank of every individual (0 = first front).
    """
    n = len(F)
    ranks = [None] * n
    remaining = list(range(n))
    rank = 0
    while remaining:
        front = []
        for j in remaining:
            dominated = False
            for i in remaining:
                if prob_dominates(F[i], F[j], pressure, rnd) == 1:
                    dominated = True
                    break  # the C++ stops at the first dominator too
            if not dominated:
                front.append(j)
        for j in front:
            ranks[j] = rank
        in_front = set(front)
        remaining = [j for j in remaining if j not in in_front]
        rank += 1  # an empty round still advances the counter (release build)
    return ranks


def fronts_of(ranks):
    """Lists of members of each rank, members in index order; ranks < 0 ignored."""
    top = max([r for r in ranks if r >= 0], default=-1)
    fronts = [[] for _ in range(top + 1)]
    for i, r in enumerate(ranks):
        if r >= 0:
            fronts[r].append(i)
    return fronts


def truncate_ranks(ranks, needed):
    """What a sort that stops early reports: ranks of fronts 0..k, where k is
    the first front at which the number of ranked individuals reaches
    ``needed``; everyone else gets -1. (Peeling is sequential, so stopping
    after front k gives exactly the first k + 1 fronts of a full peel.)"""
    fronts = fronts_of(ranks)
    total = 0
    last = len(fronts) - 1
    for k, front in enumerate(fronts):
        total += len(front)
        if total >= needed:
            last = k
            break
    return [r if r <= last else -1 for r in ranks]


def sure_dominator(fi, fj, pressure):
    """True if ``fi`` dominates ``fj`` whatever the coins say: never worse on
    any objective, and strictly better on one that is always counted
    (pressure 1). A sure dominator stays in the pool until it is ranked, so
    the dominated one always gets a strictly larger rank."""
    never_worse = all(a >= b for a, b in zip(fi, fj))
    surely_better = any(a > b and p >= 1.0 for a, b, p in zip(fi, fj, pressure))
    return never_worse and surely_better


# ---------------------------------------------------------------------------
# Crowding distance and NSGA-II survivor selection
# ---------------------------------------------------------------------------


def crowding(F, members):
    """Deb's crowding distance inside one front, as ``crowd.hpp`` computes it.

    A front of one or two gets infinity for everyone. Otherwise, for each
    objective in turn: order the front by that objective, best first; the
    two ends get infinity; every interior member adds
    (value of the one before - value of the one after) / (max - min), or 0
    when max == min. Infinity stays infinity. Orders among equal values: a
    stable sort in the current order (see the module notes).
    """
    members = list(members)
    if len(members) <= 2:
        return {i: INF for i in members}
    dist = {i: 0.0 for i in members}
    order = list(members)
    n_obj = len(F[members[0]])
    for m in range(n_obj):
        order.sort(key=lambda i: F[i][m], reverse=True)  # stable, best first
        values = [F[i][m] for i in order]
        span = max(values) - min(values)
        dist[order[0]] = INF
        dist[order[-1]] = INF
        for k in range(1, len(order) - 1):
            gap = values[k - 1] - values[k + 1]
            dist[order[k]] += gap / span if span != 0 else 0.0
    return dist


def crowding_all(F, ranks):
    """Crowding of every ranked individual, each inside its own front."""
    crowd = {}
    for front in fronts_of(ranks):
        if front:
            crowd.update(crowding(F, front))
    return crowd


def fill_survivors(F, ranks, crowd, n, rnd):
    """``_fill_nondominated_sort``: whole fronts while they fit -- the C++ test
    is ``front size + taken < n`` (strict) -- then the first front that does
    not fit is ordered by crowding, largest first, and its first members are
    taken until there are ``n``. Crowding ties are broken uniformly at random
    (shuffle, then a stable sort). Returns the kept indices, whole fronts
    first, then the cut front in its crowding order.
    """
    kept = []
    for front in fronts_of(ranks):
        if len(front) + len(kept) < n:
            kept.extend(front)
            continue
        rest = list(front)
        rnd.shuffle(rest)
        rest.sort(key=lambda i: crowd[i], reverse=True)  # stable
        kept.extend(rest[: n - len(kept)])
        break
    assert len(kept) == n
    return kept


def survivors(F, pressure, n, rnd):
    """Peel, crowd, fill: returns (sorted kept indices, their crowding)."""
    ranks = peel_fronts(F, pressure, rnd)
    crowd = crowding_all(F, ranks)
    kept = sorted(fill_survivors(F, ranks, crowd, n, rnd))
    return kept, [crowd[i] for i in kept]


# ---------------------------------------------------------------------------
# Parent tournaments
# ---------------------------------------------------------------------------


def random_permutation(n, rnd):
    """``misc::rand_ind``: Fisher-Yates (position i swaps with a uniform k >= i)."""
    a = list(range(n))
    for i in range(n):
        k = rnd.randrange(i, n)
        a[i], a[k] = a[k], a[i]
    return a


def tournament(F, crowd, pressure, i1, i2, rnd):
    """``_tournament``: a fresh stochastic comparison; if it is undecided, the
    larger crowding distance; if equal, a fair coin."""
    flag = prob_dominates(F[i1], F[i2], pressure, rnd)
    if flag == 1:
        return i1
    if flag == -1:
        return i2
    if crowd[i1] > crowd[i2]:
        return i1
    if crowd[i1] < crowd[i2]:
        return i2
    return i1 if rnd.random() < 0.5 else i2


def tournament_parents(F, crowd, pressure, rnd):
    """pnsga ``_selection``: two random permutations; in each, the consecutive
    pairs (a[0], a[1]), (a[2], a[3]), ... fight once. n winners in all, every
    individual fights exactly twice (once per permutation). The C++ then
    copies each winner into a child (``cross`` only shuffles the two copies of
    a pair); the multiset of winners is what matters.
    """
    n = len(F)
    assert n % 2 == 0
    winners = []
    for _ in range(2):
        a = random_permutation(n, rnd)
        for k in range(0, n, 2):
            winners.append(tournament(F, crowd, pressure, a[k], a[k + 1], rnd))
    # The C++ loops in blocks of four, alternating the two permutations, and
    # shuffles each pair of copies; only the order differs from this list.
    return winners


# ---------------------------------------------------------------------------
# The layered network genome and its operators (gen_spatial.hpp, sampled.hpp)
# ---------------------------------------------------------------------------
#
# A network is a dict:
#   "conns":  {(src, dst): weight_index}  -- the index into the ORDERED weight
#             list (retina.cpp's list is literally (2, -1, 1, 2), so index 0
#             and index 3 are both value 2 but different genes);
#   "biases": {node: bias value} for every non-input node.
# Nodes are numbered inputs first, then layer by layer. Connections join only
# consecutive layers.

BIAS_VALUES = (-2, -1, 0, 1, 2)
ADD_RATE = 0.2
REMOVE_RATE = 0.2
BIAS_RATE = 1.0 / 24.0
AVG_WEIGHT_CHANGES = 2.0
MAX_INIT_CALLS = 120  # initial calls: uniform integer in [0, 120)


def layer_nodes(layers):
    out, start = [], 0
    for width in layers:
        out.append(list(range(start, start + width)))
        start += width
    return out


def n_nodes(layers):
    return sum(layers)


def all_slots(layers):
    """Every (src, dst) pair between consecutive layers, with its layer pair."""
    nodes = layer_nodes(layers)
    slots = {}
    for l in range(len(layers) - 1):
        for s in nodes[l]:
            for d in nodes[l + 1]:
                slots[(s, d)] = l
    return slots


def copy_net(net):
    return {"conns": dict(net["conns"]), "biases": dict(net["biases"])}


def add_connection(conns, layers, n_weight_values, rnd):
    """``_add_conn``: pick one of the layer pairs uniformly, then a uniform
    source in the lower and a uniform target in the upper layer; if that pair
    is already connected redraw everything, at most n_nodes**2 draws in all.
    A new connection gets a uniform weight index. Returns True if added."""
    nodes = layer_nodes(layers)
    max_draws = n_nodes(layers) ** 2
    for _ in range(max_draws):
        l = rnd.randrange(len(layers) - 1)
        src = nodes[l][rnd.randrange(len(nodes[l]))]
        dst = nodes[l + 1][rnd.randrange(len(nodes[l + 1]))]
        if (src, dst) not in conns:
            conns[(src, dst)] = rnd.randrange(n_weight_values)
            return True
    return False


def step_index(index, n_values, rnd):
    """An ordered sampled value mutating: one step down or up the list with
    probability 1/2 each, clamped at the ends (so a clamped step is a no-op)."""
    if rnd.random() < 0.5:
        return max(0, index - 1)
    return min(n_values - 1, index + 1)


def mutate(net, layers, n_weight_values, rnd, bias_values=BIAS_VALUES):
    """One mutation of one network, in the authors' order:
    1. weights: each connection is picked with probability 2/n (n = number of
       connections before anything else changes) and steps along the list;
    2. biases: each non-input node's bias is redrawn uniformly over the five
       values with probability 1/24 (it may redraw its own value);
       (the C++ also draws coins for the inputs' biases, which are never used)
    3. with probability 0.2 add one connection (``add_connection``);
    4. with probability 0.2 remove one uniformly chosen connection (if any).
    Returns a new network."""
    out = copy_net(net)
    conns = out["conns"]
    n = len(conns)
    if n:
        p = AVG_WEIGHT_CHANGES / n
        for key in sorted(conns):
            if rnd.random() < p:
                conns[key] = step_index(conns[key], n_weight_values, rnd)
    for node in sorted(out["biases"]):
        if rnd.random() < BIAS_RATE:
            out["biases"][node] = bias_values[rnd.randrange(len(bias_values))]
    if rnd.random() < ADD_RATE:
        add_connection(conns, layers, n_weight_values, rnd)
    if rnd.random() < REMOVE_RATE and conns:
        keys = sorted(conns)
        del conns[keys[rnd.randrange(len(keys))]]
    return out


def random_net(layers, n_weight_values, rnd, bias_values=BIAS_VALUES, max_calls=MAX_INIT_CALLS):
    """``DnnSpatial::random``: every bias uniform over its values, then a
    uniform number of calls in [0, max_calls) of ``add_connection``."""
    nodes = layer_nodes(layers)
    biases = {v: bias_values[rnd.randrange(len(bias_values))] for layer in nodes[1:] for v in layer}
    conns = {}
    for _ in range(rnd.randrange(max_calls)):
        add_connection(conns, layers, n_weight_values, rnd)
    return {"conns": conns, "biases": biases}


def reaches_output(conns, layers):
    """True if some input has a directed path to some output node."""
    nodes = layer_nodes(layers)
    reached = set(nodes[0])
    for l in range(1, len(layers)):
        for s, d in conns:
            if d in nodes[l] and s in reached:
                reached.add(d)
    return any(v in reached for v in nodes[-1])


# -- exact one-step probabilities ---------------------------------------------


def _draw_hit_probability(conns, layers):
    """Probability that one add-connection draw lands on an existing pair."""
    widths = list(layers)
    pairs = len(widths) - 1
    slot_layer = all_slots(layers)
    occupied = [0] * pairs
    for key in conns:
        occupied[slot_layer[key]] += 1
    return sum(occupied[l] / (widths[l] * widths[l + 1]) for l in range(pairs)) / pairs


def add_slot_probabilities(conns, layers):
    """Exact probability that one add-connection call connects each empty slot.

    One draw lands on an empty slot (s, d) of pair l with probability
    1 / (pairs * width_l * width_{l+1}); draws repeat while they hit existing
    pairs (probability h each), at most n_nodes**2 draws:
    P(slot) = 1 / (pairs * w_l * w_{l+1}) * (1 - h**T) / (1 - h)."""
    widths = list(layers)
    pairs = len(widths) - 1
    h = _draw_hit_probability(conns, layers)
    if h == 1.0:  # the network is full
        return {}
    draws = n_nodes(layers) ** 2
    repeat = (1.0 - h**draws) / (1.0 - h)
    out = {}
    for key, l in all_slots(layers).items():
        if key not in conns:
            out[key] = repeat / (pairs * widths[l] * widths[l + 1])
    return out


def add_pair_probabilities(conns, layers):
    """Layer pair of the connection an add call creates, given that it adds one."""
    pairs = len(layers) - 1
    slot_layer = all_slots(layers)
    per_slot = add_slot_probabilities(conns, layers)
    total = sum(per_slot.values())
    out = [0.0] * pairs
    for key, p in per_slot.items():
        out[slot_layer[key]] += p / total
    return out


def slot_outcome_distribution(net, layers, n_weight_values):
    """Exact distribution of every slot's state after one ``mutate``.

    Returns {(src, dst): {state: probability}}, state = weight index, or -1 for
    no connection. A present connection at index i (n connections):
    picked with p = min(1, 2/n), then steps to max(0, i-1) or min(V-1, i+1);
    independently it is removed with probability
    0.2 * (a / (n + 1) + (1 - a) / n), a = 0.2 * P(the add call succeeds).
    An empty slot is added with 0.2 * P(add picks it), gets a uniform index,
    and is then removed again with 0.2 / (n + 1).
    """
    conns = net["conns"]
    n = len(conns)
    V = n_weight_values
    per_slot = add_slot_probabilities(conns, layers)
    add_success = ADD_RATE * sum(per_slot.values())
    out = {}
    for key in all_slots(layers):
        dist = {}
        if key in conns:
            i = conns[key]
            p = min(1.0, AVG_WEIGHT_CHANGES / n)
            removed = REMOVE_RATE * (add_success / (n + 1) + (1 - add_success) / n)
            steps = {}
            steps[i] = steps.get(i, 0.0) + (1 - p)
            for j in (max(0, i - 1), min(V - 1, i + 1)):
                steps[j] = steps.get(j, 0.0) + p / 2
            for j, q in steps.items():
                dist[j] = q * (1 - removed)
            dist[-1] = removed
        else:
            added = ADD_RATE * per_slot.get(key, 0.0)
            kept = added * (1 - REMOVE_RATE / (n + 1))
            for j in range(V):
                dist[j] = kept / V
            dist[-1] = 1 - kept
        out[key] = {s: q for s, q in dist.items() if q > 0}
    return out


def bias_outcome_distribution(value, bias_values=BIAS_VALUES):
    """One bias after one mutation: kept, or redrawn uniformly with 1/24."""
    dist = {v: BIAS_RATE / len(bias_values) for v in bias_values}
    dist[value] += 1 - BIAS_RATE
    return dist
