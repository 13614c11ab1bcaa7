"""The DAG layouts and edge weights shared by the schema and the SCMs."""

from __future__ import annotations

from dataclasses import replace

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from plurel_core.config import EDGE_WEIGHT_DISTS, LAYOUT_NAMES, LayoutPriors
from plurel_core.graphs import EDGE_WEIGHTS, LAYOUTS, random_dag

PRIORS = LayoutPriors()


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _edges(g: nx.DiGraph) -> list[tuple[int, int, float]]:
    return sorted((u, v, w) for u, v, w in g.edges(data="weight"))


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("n", [1, 2, 3, 10, 50])
def test_every_layout_gives_a_weighted_connected_dag_in_topological_order(layout, n):
    for seed in range(6):
        g = random_dag(layout, n, _rng(seed), PRIORS, EDGE_WEIGHT_DISTS)
        assert list(g.nodes) == list(range(n))
        assert nx.is_directed_acyclic_graph(g)
        assert nx.is_weakly_connected(g)
        assert all(u < v for u, v in g.edges), "0..n-1 must be a topological order"
        if n == 2:
            assert list(g.edges) == [(0, 1)]
        assert g.number_of_edges() >= n - 1
        weights = [w for _, _, w in g.edges(data="weight")]
        assert all(isinstance(w, float) and np.isfinite(w) for w in weights)
        assert g.graph["layout"] == layout
        assert g.graph["weight_dist"] in EDGE_WEIGHT_DISTS


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_same_rng_seed_gives_the_same_graph_and_different_seeds_differ(layout):
    a = random_dag(layout, 20, _rng(7), PRIORS, EDGE_WEIGHT_DISTS)
    b = random_dag(layout, 20, _rng(7), PRIORS, EDGE_WEIGHT_DISTS)
    assert _edges(a) == _edges(b)
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    assert a.graph == b.graph
    others = [_edges(random_dag(layout, 20, _rng(s), PRIORS, EDGE_WEIGHT_DISTS)) for s in range(8, 12)]
    assert any(o != _edges(a) for o in others)


@pytest.mark.parametrize(
    "priors",
    [
        replace(PRIORS, er_p=(0.0, 0.0)),
        replace(PRIORS, er_p=(1.0, 1.0)),
        replace(PRIORS, ws_k=(8,), ws_p=(1.0, 1.0)),
        replace(PRIORS, layered_depth=(1, 1)),
        replace(PRIORS, layered_depth=(20, 20), layered_edge_dropout=1.0),
        replace(PRIORS, ba_m=6, ba_sink_edge_dropout=1.0, ba_flip_leaf_edge_prob=1.0, ba_max_in_degree=1),
    ],
    ids=["er_p0", "er_p1", "ws_k8_p1", "layered_depth1", "layered_depth20_drop1", "ba_extreme"],
)
@pytest.mark.parametrize("n", [1, 2, 3, 5, 9, 30])
def test_extreme_priors_still_give_connected_dags(priors, n):
    for layout in LAYOUT_NAMES:
        for seed in range(3):
            g = random_dag(layout, n, _rng(seed), priors, EDGE_WEIGHT_DISTS)
            assert sorted(g.nodes) == list(range(n))
            assert nx.is_directed_acyclic_graph(g) and nx.is_weakly_connected(g), (layout, n, seed)


def test_unknown_names_and_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="layout") as err:
        random_dag("Petersen", 5, _rng(0), PRIORS, EDGE_WEIGHT_DISTS)
    for name in LAYOUT_NAMES:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="n"):
        random_dag("RandomTree", 0, _rng(0), PRIORS, EDGE_WEIGHT_DISTS)
    with pytest.raises(ValueError, match="weight_dists"):
        random_dag("RandomTree", 5, _rng(0), PRIORS, ("pareto",))
    with pytest.raises(ValueError, match="weight_dists"):
        random_dag("RandomTree", 5, _rng(0), PRIORS, ())


@pytest.mark.parametrize(
    ("name", "dist", "args"),
    [
        ("gaussian", "norm", ()),
        ("lognormal", "lognorm", (1.0,)),
        ("cauchy", "cauchy", ()),
        ("uniform", "uniform", (-2.0, 4.0)),
    ],
)
def test_edge_weight_distributions(name, dist, args):
    x = EDGE_WEIGHTS[name](_rng(3), 20_000)
    assert x.shape == (20_000,)
    assert stats.kstest(x, dist, args=args).pvalue > 1e-3
    # the test has power: the other distributions are rejected
    for other in EDGE_WEIGHT_DISTS:
        if other != name:
            y = EDGE_WEIGHTS[other](_rng(3), 20_000)
            assert stats.kstest(y, dist, args=args).pvalue < 1e-6, other


def test_one_weight_distribution_per_graph_each_option_used():
    seen = set()
    for seed in range(40):
        g = random_dag("ErdosRenyi", 12, _rng(seed), PRIORS, EDGE_WEIGHT_DISTS)
        seen.add(g.graph["weight_dist"])
    assert seen == set(EDGE_WEIGHT_DISTS)
    g = random_dag("ErdosRenyi", 30, _rng(0), PRIORS, ("lognormal",))
    assert g.graph["weight_dist"] == "lognormal"
    assert all(w > 0 for _, _, w in g.edges(data="weight"))
    g = random_dag("ErdosRenyi", 30, _rng(0), PRIORS, ("uniform",))
    assert all(-2 <= w <= 2 for _, _, w in g.edges(data="weight"))


@pytest.mark.parametrize("n", [2, 10, 50])
def test_random_tree_has_one_root_and_reverse_random_tree_one_sink(n):
    for seed in range(10):
        tree = random_dag("RandomTree", n, _rng(seed), PRIORS, EDGE_WEIGHT_DISTS)
        assert tree.number_of_edges() == n - 1
        assert [v for v in tree if tree.in_degree(v) == 0] == [0]
        assert max(d for _, d in tree.in_degree()) == 1
        rev = random_dag("ReverseRandomTree", n, _rng(seed), PRIORS, EDGE_WEIGHT_DISTS)
        assert rev.number_of_edges() == n - 1
        assert [v for v in rev if rev.out_degree(v) == 0] == [n - 1]
        assert max(d for _, d in rev.out_degree()) == 1


def test_random_tree_roots_vary():
    # the raw layout's root is uniform: over many seeds it lands on many labels
    roots = set()
    for seed in range(60):
        g = LAYOUTS["RandomTree"](8, _rng(seed), PRIORS)
        (root,) = [v for v in g if g.in_degree(v) == 0]
        roots.add(root)
    assert len(roots) >= 6


@pytest.mark.parametrize("depth", [2, 3, 5, 8])
def test_layered_respects_depth_and_connects_only_consecutive_layers(depth):
    priors = replace(PRIORS, layered_depth=(depth, depth))
    for n in [depth, depth + 1, 3 * depth, 40]:
        for seed in range(5):
            g = random_dag("Layered", n, _rng(seed), priors, EDGE_WEIGHT_DISTS)
            layer = nx.get_node_attributes(g, "layer")
            assert sorted(set(layer.values())) == list(range(depth))
            assert nx.dag_longest_path_length(g, weight=None) == depth - 1
            assert all(layer[v] == layer[u] + 1 for u, v in g.edges)
            for v in g:
                if layer[v] > 0:
                    assert g.in_degree(v) >= 1
                if layer[v] < depth - 1:
                    assert g.out_degree(v) >= 1


def test_layered_without_dropout_is_complete_between_layers_and_depth_is_capped_by_n():
    priors = replace(PRIORS, layered_depth=(4, 4), layered_edge_dropout=0.0)
    g = random_dag("Layered", 30, _rng(1), priors, EDGE_WEIGHT_DISTS)
    sizes = np.bincount(list(nx.get_node_attributes(g, "layer").values()))
    assert g.number_of_edges() == int((sizes[:-1] * sizes[1:]).sum())
    chain = random_dag("Layered", 3, _rng(1), replace(PRIORS, layered_depth=(8, 8)), EDGE_WEIGHT_DISTS)
    assert sorted(chain.edges) == [(0, 1), (1, 2)]


def test_layered_dropout_thins_edges():
    dense = replace(PRIORS, layered_depth=(3, 3), layered_edge_dropout=0.0)
    sparse = replace(PRIORS, layered_depth=(3, 3), layered_edge_dropout=0.7)
    e_dense = sum(
        random_dag("Layered", 30, _rng(s), dense, ("gaussian",)).number_of_edges() for s in range(10)
    )
    e_sparse = sum(
        random_dag("Layered", 30, _rng(s), sparse, ("gaussian",)).number_of_edges() for s in range(10)
    )
    assert e_sparse < 0.5 * e_dense


def test_barabasi_albert_sink_edge_dropout():
    n, m = 50, 2
    keep_all = replace(PRIORS, ba_m=m, ba_sink_edge_dropout=0.0, ba_flip_leaf_edge_prob=0.0)
    drop_all = replace(keep_all, ba_sink_edge_dropout=1.0)
    total_removed = 0
    for seed in range(10):
        g0 = LAYOUTS["BarabasiAlbert"](n, _rng(seed), keep_all)
        g1 = LAYOUTS["BarabasiAlbert"](n, _rng(seed), drop_all)
        # preferential attachment: m edges per node after the initial star of m + 1 nodes
        assert g0.number_of_edges() == m * (n - m)
        assert set(g1.edges) <= set(g0.edges)
        removed = set(g0.edges) - set(g1.edges)
        sinks = {v for v in g0 if g0.out_degree(v) == 0}
        heads = [v for _, v in removed]
        assert all(v in sinks and g0.in_degree(v) > 1 for v in heads)
        assert len(heads) == len(set(heads)), "a sink loses at most one edge"
        assert nx.is_weakly_connected(g1)
        # every sink of the dense graph with several parents and a removable edge lost one
        many = [v for v in sinks if g0.in_degree(v) > 1]
        assert len(removed) >= len(many) - 2
        total_removed += len(removed)
    assert total_removed > 10 * 5


def test_barabasi_albert_sink_edge_dropout_rate():
    # the paper's 0.4: about 40 % of the sinks with several parents lose one
    dense = replace(PRIORS, ba_sink_edge_dropout=0.0, ba_flip_leaf_edge_prob=0.0)
    paper = replace(dense, ba_sink_edge_dropout=0.4)
    removed = candidates = 0
    for seed in range(30):
        g0 = LAYOUTS["BarabasiAlbert"](50, _rng(seed), dense)
        g1 = LAYOUTS["BarabasiAlbert"](50, _rng(seed), paper)
        candidates += sum(1 for v in g0 if g0.out_degree(v) == 0 and g0.in_degree(v) > 1)
        removed += g0.number_of_edges() - g1.number_of_edges()
    assert 0.3 < removed / candidates < 0.5


def test_barabasi_albert_leaf_flips_respect_the_in_degree_cap():
    base = replace(PRIORS, ba_m=1, ba_sink_edge_dropout=0.0, ba_flip_leaf_edge_prob=0.0)
    flipped_any = False
    for cap in [1, 2, 4]:
        flip = replace(base, ba_flip_leaf_edge_prob=1.0, ba_max_in_degree=cap)
        for seed in range(10):
            g0 = LAYOUTS["BarabasiAlbert"](30, _rng(seed), base)
            g1 = LAYOUTS["BarabasiAlbert"](30, _rng(seed), flip)
            assert nx.is_directed_acyclic_graph(g1)
            assert {frozenset(e) for e in g0.edges} == {frozenset(e) for e in g1.edges}
            reversed_edges = set(g1.edges) - set(g0.edges)
            flipped_any |= bool(reversed_edges)
            for v, u in reversed_edges:
                # the former leaf v becomes a source; u takes one more parent, up to the cap
                assert g0.out_degree(v) == 0 and g0.in_degree(v) == 1
                assert g1.in_degree(v) == 0
                assert g1.in_degree(u) <= cap
    assert flipped_any


def test_watts_strogatz_lattice_sizes_without_rewiring():
    for k in [2, 4]:
        priors = replace(PRIORS, ws_k=(k,), ws_p=(0.0, 0.0))
        g = random_dag("WattsStrogatz", 12, _rng(0), priors, EDGE_WEIGHT_DISTS)
        assert g.number_of_edges() == 12 * k // 2
    # k >= n - 1: the lattice is complete
    g = random_dag("WattsStrogatz", 5, _rng(0), replace(PRIORS, ws_k=(4,)), EDGE_WEIGHT_DISTS)
    assert g.number_of_edges() == 10


def test_erdos_renyi_edge_probability():
    for p in [0.3, 0.8]:
        priors = replace(PRIORS, er_p=(p, p))
        edges = [
            random_dag("ErdosRenyi", 40, _rng(s), priors, ("gaussian",)).number_of_edges() for s in range(5)
        ]
        # a directed G(n, p) made undirected: a pair is joined with probability 1 - (1 - p)^2
        assert abs(np.mean(edges) / (40 * 39 / 2) - (1 - (1 - p) ** 2)) < 0.03
    g = random_dag("ErdosRenyi", 10, _rng(0), replace(PRIORS, er_p=(0.0, 0.0)), ("gaussian",))
    assert g.number_of_edges() == 9  # only the edges joining the isolated nodes


def test_random_cauchy_density_varies_widely_between_graphs():
    density = [
        random_dag("RandomCauchy", 30, _rng(s), PRIORS, ("gaussian",)).number_of_edges() / (30 * 29 / 2)
        for s in range(40)
    ]
    assert min(density) < 0.2 and max(density) > 0.8
