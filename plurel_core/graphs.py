"""The seven DAG layouts behind the schema (Stage 1) and every table's SCM (Stage 3).

Each layout is a plain function ``layout(n, rng, priors) -> nx.DiGraph`` that returns a
weakly connected directed acyclic graph on the nodes ``0..n-1`` for every ``n >= 1``.
Undirected generators are oriented from the lower to the higher node id, so no layout can
produce a cycle; components left apart by a generator are joined by extra edges.
:func:`random_dag` builds a layout, relabels its nodes so that ``0..n-1`` is a topological
order and puts a weight on every edge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import pairwise

import networkx as nx
import numpy as np

from .config import LayoutPriors, sample_range, sample_set
from .registry import Registry, tagged

__all__ = [
    "LAYOUTS",
    "EDGE_WEIGHTS",
    "random_dag",
    "erdos_renyi",
    "barabasi_albert",
    "random_tree",
    "reverse_random_tree",
    "watts_strogatz",
    "layered",
    "random_cauchy",
]


def _nx_seed(rng: np.random.Generator) -> int:
    """A seed for a networkx generator, drawn from ``rng`` (so the graph follows the stream)."""
    return int(rng.integers(2**31))


def _digraph(n: int, edges: Iterable[tuple[int, int]]) -> nx.DiGraph:
    """A DiGraph on the nodes ``0..n-1`` with ``edges`` (as given)."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    return g


def _oriented(n: int, edges: Iterable[tuple[int, int]]) -> nx.DiGraph:
    """A DiGraph on ``0..n-1`` with every undirected edge pointing from lower to higher id."""
    return _digraph(n, ((min(u, v), max(u, v)) for u, v in edges if u != v))


def _upper(hit: np.ndarray) -> nx.DiGraph:
    """A DiGraph on ``0..n-1`` with the edges ``i → j`` (i < j) where the square boolean
    matrix ``hit`` is true (its diagonal and lower triangle are ignored; the edges already
    point up, so no per-edge orientation as in :func:`_oriented`)."""
    rows, cols = np.nonzero(np.triu(hit, k=1))
    return _digraph(len(hit), zip(rows.tolist(), cols.tolist(), strict=True))


def _connect_components(g: nx.DiGraph, rng: np.random.Generator) -> nx.DiGraph:
    """Join the weak components of ``g`` in a chain, one random edge between neighbours.

    Components are ordered by their smallest node; the extra edge joins a uniform node of
    one to a uniform node of the next, oriented from lower to higher id. An edge between
    two components can never close a cycle.
    """
    comps = sorted((sorted(c) for c in nx.weakly_connected_components(g)), key=lambda c: c[0])
    for a, b in pairwise(comps):
        u = a[int(rng.integers(len(a)))]
        v = b[int(rng.integers(len(b)))]
        g.add_edge(min(u, v), max(u, v))
    return g


def erdos_renyi(n: int, rng: np.random.Generator, priors: LayoutPriors) -> nx.DiGraph:
    """ErdosRenyi: a directed G(n, p) with p ~ U(er_p) made undirected, so each node pair
    is joined with probability 1 − (1 − p)²; oriented lower → higher id.

    Components are joined by extra edges.
    """
    p = sample_range(rng, priors.er_p)
    # each of the n(n-1) ordered pairs independently, in one vectorised draw; a pair is
    # joined when either direction was drawn
    hit = rng.random((n, n)) < p
    return _connect_components(_upper(hit | hit.T), rng)


def barabasi_albert(n: int, rng: np.random.Generator, priors: LayoutPriors) -> nx.DiGraph:
    """BarabasiAlbert: preferential attachment with ``m = min(ba_m, n - 1)`` edges per new node.

    Edges point from the older node (lower id: the hubs) to the newer one; node ids are
    then shuffled by a uniform permutation. Each sink with more than one incoming edge
    loses one uniformly chosen incoming edge with probability ``ba_sink_edge_dropout``
    (components this leaves apart, which is rare, are joined again by extra edges). Then each sink
    whose single incoming edge ``u → v`` remains is flipped to ``v → u`` with probability
    ``ba_flip_leaf_edge_prob``, if ``u`` has fewer than ``ba_max_in_degree`` incoming edges.
    """
    if n == 1:
        return _oriented(1, [])
    m = min(priors.ba_m, n - 1)
    base = _oriented(n, nx.barabasi_albert_graph(n, m, seed=_nx_seed(rng)).edges())
    perm = rng.permutation(n)
    g = nx.relabel_nodes(base, {old: int(perm[old]) for old in range(n)})

    # sink edge dropout: the same draws are made whatever the dropout, so raising it only
    # removes edges from the same graph
    for sink in sorted(v for v in g.nodes if g.out_degree(v) == 0):
        if g.in_degree(sink) < 2:
            continue
        coin, pick = rng.random(2)
        if coin >= priors.ba_sink_edge_dropout:
            continue
        parents = sorted(g.pred[sink])
        g.remove_edge(parents[int(pick * len(parents))], sink)
    if not nx.is_weakly_connected(g):
        _connect_components(g, rng)

    # leaf flips: the sink becomes a source, so no cycle can appear
    for sink in sorted(v for v in g.nodes if g.out_degree(v) == 0):
        if g.in_degree(sink) != 1:
            continue
        coin = rng.random()
        (u,) = g.predecessors(sink)
        if coin < priors.ba_flip_leaf_edge_prob and g.in_degree(u) < priors.ba_max_in_degree:
            g.remove_edge(u, sink)
            g.add_edge(sink, u)
    return g


def _bfs_tree(n: int, rng: np.random.Generator) -> nx.DiGraph:
    """A uniform random labelled tree with edges directed away from a uniform root."""
    tree = nx.random_labeled_tree(n, seed=_nx_seed(rng))
    root = int(rng.integers(n))
    return _digraph(n, nx.bfs_edges(tree, root))


def random_tree(n: int, rng: np.random.Generator, priors: LayoutPriors) -> nx.DiGraph:
    """RandomTree: a uniform random labelled tree (Prüfer), directed away from a uniform root.

    One source (the root), ``n - 1`` edges.
    """
    return _bfs_tree(n, rng)


def reverse_random_tree(n: int, rng: np.random.Generator, priors: LayoutPriors) -> nx.DiGraph:
    """ReverseRandomTree: a RandomTree with every edge reversed.

    All paths fan in to one sink (the root): a star / snowflake schema with ``n - 1`` edges.
    """
    return _bfs_tree(n, rng).reverse(copy=True)


def watts_strogatz(n: int, rng: np.random.Generator, priors: LayoutPriors) -> nx.DiGraph:
    """WattsStrogatz: ring lattice with k ~ U(ws_k) neighbours, rewired with p ~ U(ws_p).

    Edges are oriented lower → higher id. When ``k >= n - 1`` the lattice is the complete
    graph. Components left by the rewiring are joined by extra edges.
    """
    k = int(sample_set(rng, priors.ws_k))
    p = sample_range(rng, priors.ws_p)
    seed = _nx_seed(rng)
    if k >= n - 1:
        edges = nx.complete_graph(n).edges()
    else:
        edges = nx.watts_strogatz_graph(n, k, p, seed=seed).edges()
    return _connect_components(_oriented(n, edges), rng)


def layered(n: int, rng: np.random.Generator, priors: LayoutPriors) -> nx.DiGraph:
    """Layered: an MLP-like DAG of ``depth ~ U(layered_depth)`` layers (at most ``n``).

    Every layer gets one node, the remaining ``n - depth`` nodes go to uniformly chosen
    layers (multinomial); layers hold consecutive ids. All edges between consecutive layers
    are proposed, each kept with probability ``1 - layered_edge_dropout``; a node left
    without a parent (child) in the previous (next) layer gets one uniformly chosen.
    Components are joined by an edge from layer 0 to layer 1, so the longest path keeps
    ``depth - 1`` edges. Nodes carry their ``layer``.
    """
    depth = min(sample_range(rng, priors.layered_depth), n)
    sizes = 1 + rng.multinomial(n - depth, np.full(depth, 1.0 / depth))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    layer_of = np.repeat(np.arange(depth), sizes)

    g = nx.DiGraph()
    for v in range(n):
        g.add_node(v, layer=int(layer_of[v]))
    for layer in range(depth - 1):
        src = np.arange(starts[layer], starts[layer + 1])
        dst = np.arange(starts[layer + 1], starts[layer + 2])
        keep = rng.random((len(src), len(dst))) >= priors.layered_edge_dropout
        # every destination needs a parent and every source a child
        orphan = ~keep.any(axis=0)
        keep[rng.integers(len(src), size=len(dst))[orphan], np.flatnonzero(orphan)] = True
        barren = ~keep.any(axis=1)
        keep[np.flatnonzero(barren), rng.integers(len(dst), size=len(src))[barren]] = True
        rows, cols = np.nonzero(keep)
        g.add_edges_from(zip(src[rows].tolist(), dst[cols].tolist(), strict=True))

    if depth < 2:
        return _connect_components(g, rng)
    # every component reaches every layer (parents and children chain through them all)
    comps = sorted((sorted(c) for c in nx.weakly_connected_components(g)), key=lambda c: c[0])
    for a, b in pairwise(comps):
        first = [v for v in a if layer_of[v] == 0]
        second = [v for v in b if layer_of[v] == 1]
        g.add_edge(first[int(rng.integers(len(first)))], second[int(rng.integers(len(second)))])
    return g


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # tanh form: no overflow for the huge logits a Cauchy produces
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def random_cauchy(n: int, rng: np.random.Generator, priors: LayoutPriors) -> nx.DiGraph:
    """RandomCauchy: edge ``i → j`` (i < j) with probability sigmoid(A + B_i + C_j).

    A, B_i, C_j are i.i.d. standard Cauchy, so graphs range from nearly empty to nearly
    complete, with heavy-tailed out- (B) and in-degree (C) propensities. Components are
    joined by extra edges.
    """
    # clipped only so that a sum of extreme draws stays finite
    a = np.clip(rng.standard_cauchy(), -1e100, 1e100)
    b = np.clip(rng.standard_cauchy(n), -1e100, 1e100)
    c = np.clip(rng.standard_cauchy(n), -1e100, 1e100)
    prob = _sigmoid(a + b[:, None] + c[None, :])
    return _connect_components(_upper(rng.random((n, n)) < prob), rng)


LAYOUTS: Registry[Callable[[int, np.random.Generator, LayoutPriors], nx.DiGraph]] = Registry(
    "layout",
    {
        "ErdosRenyi": tagged(erdos_renyi, "random_graph"),
        "BarabasiAlbert": tagged(barabasi_albert, "random_graph"),
        "RandomTree": tagged(random_tree, "tree"),
        "ReverseRandomTree": tagged(reverse_random_tree, "tree"),
        "WattsStrogatz": tagged(watts_strogatz, "random_graph"),
        "Layered": layered,
        "RandomCauchy": tagged(random_cauchy, "random_graph"),
    },
    groups={"tree": "trees", "random_graph": "random graphs"},
)
"""DAG layouts: ``LAYOUTS[name](n, rng, priors) -> DiGraph`` (schema and SCM graphs)."""

EDGE_WEIGHTS: Registry[Callable[[np.random.Generator, int], np.ndarray]] = Registry(
    "edge-weight distribution",
    {
        "gaussian": lambda rng, size: rng.standard_normal(size),
        "lognormal": lambda rng, size: rng.lognormal(0.0, 1.0, size),
        "cauchy": lambda rng, size: rng.standard_cauchy(size),
        "uniform": lambda rng, size: rng.uniform(-2.0, 2.0, size),
    },
)
"""Edge-weight distributions: N(0, 1), LogNormal(0, 1), standard Cauchy, U(-2, 2)."""


def random_dag(
    layout: str,
    n: int,
    rng: np.random.Generator,
    priors: LayoutPriors,
    weight_dists: tuple[str, ...],
) -> nx.DiGraph:
    """A weighted, weakly connected DAG on ``0..n-1`` drawn from ``LAYOUTS[layout]``.

    Nodes are relabelled so that ``0..n-1`` is a topological order (the lexicographically
    smallest one over the layout's own ids). One distribution is drawn uniformly from
    ``weight_dists`` and every edge gets an i.i.d. ``weight`` from it (edges taken in sorted
    order). ``G.graph`` holds ``layout`` and ``weight_dist``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout: got {layout!r}; allowed: {list(LAYOUTS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: got {n!r}; expected an integer >= 1")
    if not weight_dists or any(w not in EDGE_WEIGHTS for w in weight_dists):
        raise ValueError(
            f"weight_dists: got {list(weight_dists)}; allowed: non-empty subset of {list(EDGE_WEIGHTS)}"
        )
    raw = LAYOUTS[layout](int(n), rng, priors)
    # (edges read through succ: the cached edge view would make ``raw`` a reference cycle)
    edges = np.array([(u, v) for u, out in raw.succ.items() for v in out], dtype=np.int64).reshape(-1, 2)
    if (edges[:, 0] < edges[:, 1]).all():
        # every edge already points up: the smallest topological order is 0..n-1 itself
        new_id = np.arange(n)
    else:
        new_id = np.empty(n, dtype=np.int64)
        new_id[list(nx.lexicographical_topological_sort(raw))] = np.arange(n)
    edges = new_id[edges]
    edges = edges[np.lexsort((edges[:, 1], edges[:, 0]))]

    g = nx.DiGraph(layout=layout)
    g.add_nodes_from(range(n))
    for v, data in raw.nodes(data=True):
        g.nodes[int(new_id[v])].update(data)
    dist = sample_set(rng, weight_dists)
    weights = EDGE_WEIGHTS[dist](rng, len(edges))
    g.add_weighted_edges_from(zip(edges[:, 0].tolist(), edges[:, 1].tolist(), weights.tolist(), strict=True))
    g.graph["weight_dist"] = dist
    return g
