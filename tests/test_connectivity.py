"""Stage 2: HSBM foreign keys — exact probabilities, integrity, constraints, determinism."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from plurel_core.config import ConnectivityPriors
from plurel_core.connectivity import (
    base_cluster_digits,
    base_cluster_labels,
    base_cluster_probs,
    base_cluster_sizes,
    block_products,
    parent_choice_entropy,
    sample_block_matrices,
    sample_foreign_keys,
    sample_hierarchy,
    sample_hsbm,
    sample_hsbm_parents,
)
from plurel_core.database import ForeignKeySpec, Schema, TableSpec
from plurel_core.rng import stream

P_MIN = 1e-3  # fixed seeds: a p-value below this means the sampler is off, not bad luck

HIERARCHIES = {
    "uniform": ((1,), (1,)),
    "two_levels": ((2, 3), (3, 2)),
    "three_levels": ((3, 3, 3), (3, 3, 3)),
    "asymmetric": ((3, 1, 2), (1, 3, 1)),
    "five_levels": ((3, 2, 3, 2, 3), (2, 3, 2, 3, 2)),
}


def chisquare_p(observed: np.ndarray, expected: np.ndarray, min_expected: float = 5.0) -> float:
    """Chi-square p-value, pooling cells with small expectations into one cell."""
    observed = np.asarray(observed, dtype=float).ravel()
    expected = np.asarray(expected, dtype=float).ravel()
    small = expected < min_expected
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    assert observed[expected == 0].sum() == 0, "draws where the probability is zero"
    if keep.sum() < 2:  # a single cell: all draws must land in it
        return 1.0 if np.isclose(obs[keep].sum(), exp[keep].sum()) else 0.0
    return stats.chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue


def joint_counts(child_base: np.ndarray, parent_base: np.ndarray, kp: int, kc: int) -> np.ndarray:
    return np.bincount(parent_base.astype(np.int64) * kc + child_base, minlength=kp * kc).reshape(kp, kc)


# -- hand-built schemas ----------------------------------------------------------------------


def fk(col: str | tuple[str, ...], parent: str, **kw) -> ForeignKeySpec:
    cols = (col,) if isinstance(col, str) else col
    return ForeignKeySpec(cols, parent, tuple(f"k{i}" for i in range(len(cols))), **kw)


def table(name: str, rows: int, *fks: ForeignKeySpec, unique_groups=()) -> TableSpec:
    kind = "entity"
    return TableSpec(name, kind, rows, "row_idx", tuple(fks), (), unique_groups=tuple(unique_groups))


def schema(*tables: TableSpec) -> Schema:
    g = nx.MultiDiGraph()
    for t in tables:
        g.add_node(t.name, kind=t.kind, num_rows=t.num_rows)
    for t in tables:
        for f in t.foreign_keys:
            g.add_edge(f.parent, t.name, columns=f.columns)
    t0, t1 = pd.Timestamp("2000-01-01"), pd.Timestamp("2001-01-01")
    return Schema({t.name: t for t in tables}, g, "manual", t0, t1, t0, t1)


STRONG = ConnectivityPriors(levels=(3, 3), parent_clusters=(3, 3), child_clusters=(3, 3))


# -- base clusters and block matrices --------------------------------------------------------


def test_base_clusters_are_contiguous_of_ceil_size_and_mixed_radix():
    labels = base_cluster_labels(1003, (2, 3, 2))
    assert labels.dtype == np.int16 and labels.size == 1003
    assert np.all(np.diff(labels) >= 0)
    sizes = np.bincount(labels, minlength=12)
    # ⌈1003 / 12⌉ = 84 rows each, the last one takes the rest
    assert sizes.tolist() == [84] * 11 + [79]
    assert np.array_equal(sizes, base_cluster_sizes(1003, (2, 3, 2)))
    digits = base_cluster_digits((2, 3, 2))
    # label 9 = 1·6 + 1·2 + 1 → clusters (1, 1, 1); label 4 = 0·6 + 2·2 + 0 → (0, 2, 0)
    assert digits[9].tolist() == [1, 1, 1] and digits[4].tolist() == [0, 2, 0]
    assert np.array_equal(digits @ np.array([6, 2, 1]), np.arange(12))
    # level-0 clusters are contiguous halves of the rows
    assert np.array_equal(digits[labels, 0], (np.arange(1003) >= 504).astype(int))
    # fewer rows than base clusters: the first ones hold a row each, the rest are empty
    assert base_cluster_sizes(5, (3, 3)).tolist() == [1] * 5 + [0] * 4
    # a size that leaves several clusters empty: 10 rows in 4 → 3, 3, 3, 1; in 6 → 2 × 5, 0
    assert base_cluster_sizes(10, (4,)).tolist() == [3, 3, 3, 1]
    assert base_cluster_sizes(10, (6,)).tolist() == [2, 2, 2, 2, 2, 0]


@pytest.mark.parametrize("pc,cc", [((3,), (1,)), ((1,), (3,)), ((2, 3), (3, 2)), ((3, 3), (3, 3))])
def test_block_matrices_diagonal_and_range(pc, cc):
    blocks = sample_block_matrices(stream(0, "t"), pc, cc, 0.9, (0.001, 0.002))
    for b, p, c in zip(blocks, pc, cc, strict=True):
        assert b.shape == (p, c)
        diag = np.zeros_like(b, dtype=bool)
        for i in range(max(p, c)):
            diag[i % p, i % c] = True
        assert np.all(b[diag] == 0.9)
        assert np.all((b[~diag] >= 0.001) & (b[~diag] <= 0.002))


def test_base_probs_equal_brute_force_over_parent_rows():
    pc, cc = (3, 2), (2, 3)
    blocks = sample_block_matrices(stream(1, "t"), pc, cc, 0.9, (0.001, 0.002))
    num_parents = 37
    # per-row probabilities P(parent a | child base b), summed over each parent base
    pb = base_cluster_labels(num_parents, pc)
    dp, dc = base_cluster_digits(pc), base_cluster_digits(cc)
    dense = np.ones((num_parents, dc.shape[0]))
    for level, b in enumerate(blocks):
        dense *= b[dp[pb, level][:, None], dc[:, level][None, :]]
    dense /= dense.sum(axis=0)
    expected = np.zeros((dp.shape[0], dc.shape[0]))
    np.add.at(expected, pb, dense)
    assert np.allclose(base_cluster_probs(num_parents, pc, cc, blocks), expected)


# -- the exact sampler -----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(HIERARCHIES))
def test_parent_base_frequencies_match_analytic_probs(name):
    pc, cc = HIERARCHIES[name]
    blocks = sample_block_matrices(stream(2, name), pc, cc, 0.9, (0.001, 0.002))
    num_parents, num_children = 4999, 120_000
    rows, trace = sample_hsbm_parents(num_parents, num_children, pc, cc, blocks, stream(3, name))
    assert rows.dtype == np.int64 and rows.shape == (num_children,)
    assert rows.min() >= 0 and rows.max() < num_parents
    kp, kc = trace.base_probs.shape
    assert (kp, kc) == (math.prod(pc), math.prod(cc))
    assert trace.parent_base.dtype in (np.int16, np.int32) and trace.child_base.dtype in (np.int16, np.int32)
    observed = joint_counts(trace.child_base, trace.parent_base[rows], kp, kc)
    expected = trace.base_probs * np.bincount(trace.child_base, minlength=kc)[None, :]
    assert chisquare_p(observed, expected) > P_MIN
    # marginal over parent base clusters
    assert chisquare_p(observed.sum(axis=1), expected.sum(axis=1)) > P_MIN
    # parent rows: uniform inside each base cluster
    sizes = np.bincount(trace.parent_base, minlength=kp)
    # (empty base clusters, possible with ⌈n / K⌉ rows each, hold no row to look up)
    per_base = np.divide(expected.sum(axis=1), sizes, out=np.zeros(kp), where=sizes > 0)
    per_row = per_base[trace.parent_base]
    assert chisquare_p(np.bincount(rows, minlength=num_parents), per_row) > P_MIN


def test_uniform_hierarchy_gives_uniform_parent_rows():
    blocks = [np.array([[0.9]])]
    rows, _ = sample_hsbm_parents(1000, 100_000, (1,), (1,), blocks, stream(4, "t"))
    counts = np.bincount(rows, minlength=1000)
    assert chisquare_p(counts, np.full(1000, 100.0)) > P_MIN


def test_rows_inside_a_base_cluster_are_uniform():
    pc, cc = (2, 2), (2, 1)
    blocks = sample_block_matrices(stream(5, "t"), pc, cc, 0.9, (0.001, 0.002))
    rows, trace = sample_hsbm_parents(400, 100_000, pc, cc, blocks, stream(6, "t"))
    # the most popular base cluster of the children of base 0 has 100 rows
    mask = trace.child_base == 0
    k = int(np.argmax(trace.base_probs[:, 0]))
    chosen = rows[mask][trace.parent_base[rows[mask]] == k]
    counts = np.bincount(chosen - k * 100, minlength=100)
    assert counts.size == 100
    assert chisquare_p(counts, np.full(100, chosen.size / 100)) > P_MIN


def test_equal_affinities_give_uniform_parents():
    priors = ConnectivityPriors(
        levels=(3, 3),
        parent_clusters=(3, 3),
        child_clusters=(3, 3),
        within_affinity=0.5,
        across_affinity=(0.5, 0.5),
    )
    rows, trace = sample_hsbm(1000, 100_000, priors, stream(7, "t"))
    assert trace.levels == 3
    assert chisquare_p(np.bincount(rows, minlength=1000), np.full(1000, 100.0)) > P_MIN


def test_chunk_size_does_not_change_the_result():
    pc, cc = (3, 2), (2, 3)
    blocks = sample_block_matrices(stream(8, "t"), pc, cc, 0.9, (0.001, 0.002))
    runs = [
        sample_hsbm_parents(700, 5000, pc, cc, blocks, stream(9, "t"), chunk_size=c)[0]
        for c in (1, 7, 333, 10**6)
    ]
    for r in runs[1:]:
        assert np.array_equal(runs[0], r)


def test_chunk_size_does_not_change_constrained_foreign_keys():
    s = schema(
        table("p", 300),
        table("q", 40),
        table("t", 2000, fk("parent_id", "t", nullable=True)),
        table("j", 5000, fk("p_id", "p"), fk("q_id", "q"), unique_groups=[("p_id", "q_id")]),
        table("o", 250, fk("p_id", "p", one_to_one=True)),
    )
    a = sample_foreign_keys(s, STRONG, 11, chunk_size=13)
    b = sample_foreign_keys(s, STRONG, 11)
    assert a.samples.keys() == b.samples.keys()
    for key in a.samples:
        assert np.array_equal(a.samples[key].parent_rows, b.samples[key].parent_rows), key


def test_sample_hsbm_draws_hierarchy_within_priors():
    priors = ConnectivityPriors(
        levels=(2, 4),
        parent_clusters=(2, 3),
        child_clusters=(1, 2),
        within_affinity=0.7,
        across_affinity=(0.01, 0.02),
    )
    for seed in range(10):
        rows, tr = sample_hsbm(300, 1000, priors, stream(seed, "t"))
        assert 2 <= tr.levels <= 4 and len(tr.blocks) == tr.levels
        assert all(2 <= c <= 3 for c in tr.parent_clusters) and all(1 <= c <= 2 for c in tr.child_clusters)
        for b in tr.blocks:
            assert np.all((b == 0.7) | ((b >= 0.01) & (b <= 0.02)))
        assert np.allclose(tr.base_probs.sum(axis=0), 1.0)
        assert rows.min() >= 0 and rows.max() < 300


def empirical_entropy(rows: np.ndarray, trace) -> float:
    """Plug-in entropy of the parent row per child base cluster (uniform inside a base), averaged."""
    kp, kc = trace.base_probs.shape
    counts = joint_counts(trace.child_base, trace.parent_base[rows], kp, kc).astype(float)
    p = counts / counts.sum(axis=0, keepdims=True)
    sizes = np.bincount(trace.parent_base, minlength=kp).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(p > 0, p * (np.log(sizes)[:, None] - np.log(p)), 0.0).sum(axis=0)
    weights = np.bincount(trace.child_base, minlength=kc)
    return float(np.average(h, weights=weights))


def test_more_levels_and_clusters_lower_parent_entropy():
    steps = [(1, 1), (1, 2), (2, 2), (3, 2), (3, 3), (5, 3)]
    entropies = []
    for levels, clusters in steps:
        priors = ConnectivityPriors(
            levels=(levels, levels), parent_clusters=(clusters, clusters), child_clusters=(clusters, clusters)
        )
        rows, trace = sample_hsbm(3000, 60_000, priors, stream(12, levels, clusters))
        h = empirical_entropy(rows, trace)
        analytic = float(np.average(parent_choice_entropy(trace), weights=np.bincount(trace.child_base)))
        assert h == pytest.approx(analytic, abs=0.05)
        entropies.append(h)
    assert entropies[0] == pytest.approx(math.log(3000), abs=0.01)
    assert all(a > b + 0.1 for a, b in zip(entropies, entropies[1:], strict=False)), entropies


# -- sample_foreign_keys: constraints --------------------------------------------------------


def test_plain_composite_nullable_and_deferred_foreign_keys():
    s = schema(
        table("users", 800),
        table("shops", 50),
        table(
            "orders",
            5000,
            fk("user_id", "users"),
            fk(("shop_id", "region"), "shops"),
            fk("referrer_id", "users", nullable=True),
        ),
    )
    fks = sample_foreign_keys(s, ConnectivityPriors(), 3)
    assert set(fks.samples) == {
        ("orders", "user_id"),
        ("orders", "shop_id,region"),
        ("orders", "referrer_id"),
    }
    for (child, name), sample in fks.samples.items():
        n_parent = s.tables[sample.fk.parent].num_rows
        assert sample.child == child and sample.fk.name == name
        assert sample.parent_rows.shape == (5000,) and sample.parent_rows.dtype == np.int64
        assert sample.parent_rows.min() >= 0 and sample.parent_rows.max() < n_parent  # no NULLs either
        tr = sample.hsbm
        assert tr.parent_base.size == n_parent and tr.child_base.size == 5000
        assert tr.base_probs.shape == (math.prod(tr.parent_clusters), math.prod(tr.child_clusters))
    # a deferred FK is drawn exactly like a plain one
    d = schema(table("users", 800), table("orders", 5000, fk("user_id", "users", deferred=True)))
    deferred = sample_foreign_keys(d, ConnectivityPriors(), 3).samples[("orders", "user_id")].parent_rows
    assert np.array_equal(deferred, fks.samples[("orders", "user_id")].parent_rows)
    assert [s.fk.name for s in fks.for_table("orders")] == ["user_id", "shop_id,region", "referrer_id"]


@pytest.mark.parametrize("nullable", [True, False])
def test_self_reference_points_to_earlier_rows(nullable):
    s = schema(table("employees", 3000, fk("manager_id", "employees", nullable=nullable)))
    rows = sample_foreign_keys(s, STRONG, 5).samples[("employees", "manager_id")].parent_rows
    assert rows[0] == (-1 if nullable else 0)
    assert np.all(rows[1:] >= 0) and np.all(rows[1:] < np.arange(1, 3000))
    assert rows[1] == 0


def test_self_reference_follows_restricted_hsbm_probabilities():
    n = 30_000
    s = schema(table("nodes", n, fk("parent_id", "nodes", nullable=True)))
    sample = sample_foreign_keys(s, STRONG, 6).samples[("nodes", "parent_id")]
    tr, rows = sample.hsbm, sample.parent_rows
    products = block_products(tr.parent_clusters, tr.child_clusters, tr.blocks)
    sizes = np.bincount(tr.parent_base, minlength=products.shape[0])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    i = np.arange(1, n)
    before = np.clip(i[:, None] - starts[None, :], 0, sizes[None, :])  # rows of base k before row i
    per_row = before * products[:, tr.child_base[i]].T
    per_row /= per_row.sum(axis=1, keepdims=True)
    kp, kc = products.shape
    expected = np.zeros((kp, kc))
    np.add.at(expected.T, tr.child_base[i], per_row)
    observed = joint_counts(tr.child_base[i], tr.parent_base[rows[i]], kp, kc)
    assert chisquare_p(observed, expected) > P_MIN


def test_one_to_one_uses_each_parent_at_most_once():
    s = schema(table("people", 1000), table("passports", 700, fk("person_id", "people", one_to_one=True)))
    sample = sample_foreign_keys(s, STRONG, 7).samples[("passports", "person_id")]
    rows, tr = sample.parent_rows, sample.hsbm
    assert rows.min() >= 0 and rows.max() < 1000 and np.unique(rows).size == 700
    # the hierarchy still shapes the choice: far more probable base clusters than at random
    got = tr.base_probs[tr.parent_base[rows], tr.child_base].mean()
    shuffled = tr.base_probs[tr.parent_base[stream(0, "perm").permutation(rows)], tr.child_base].mean()
    assert got > 3 * shuffled
    # as many children as parents: a permutation
    full = schema(table("people", 500), table("profiles", 500, fk("person_id", "people", one_to_one=True)))
    perm = sample_foreign_keys(full, STRONG, 7).samples[("profiles", "person_id")].parent_rows
    assert np.array_equal(np.sort(perm), np.arange(500))


def test_one_to_one_from_unique_group_and_too_many_children():
    s = schema(
        table("people", 100), table("cards", 80, fk("person_id", "people"), unique_groups=[("person_id",)])
    )
    rows = sample_foreign_keys(s, STRONG, 8).samples[("cards", "person_id")].parent_rows
    assert np.unique(rows).size == 80
    bad = schema(table("people", 100), table("cards", 101, fk("person_id", "people", one_to_one=True)))
    with pytest.raises(ValueError, match="cards"):
        sample_foreign_keys(bad, STRONG, 8)


def test_one_to_one_self_reference_is_a_chain():
    s = schema(table("versions", 50, fk("previous_id", "versions", nullable=True, one_to_one=True)))
    rows = sample_foreign_keys(s, STRONG, 9).samples[("versions", "previous_id")].parent_rows
    assert rows[0] == -1 and np.array_equal(rows[1:], np.arange(49))
    bad = schema(table("versions", 50, fk("previous_id", "versions", one_to_one=True)))
    with pytest.raises(ValueError, match="versions"):
        sample_foreign_keys(bad, STRONG, 9)


@pytest.mark.parametrize(
    "n_a,n_b,rows",
    [(200, 150, 20_000), (30, 40, 1100), (20, 10, 200), (1, 1, 1)],
    ids=["sparse", "crowded", "complete", "single"],
)
def test_junction_table_has_unique_parent_combinations(n_a, n_b, rows):
    s = schema(
        table("a", n_a),
        table("b", n_b),
        table("a_b", rows, fk("a_id", "a"), fk("b_id", "b"), unique_groups=[("a_id", "b_id")]),
    )
    fks = sample_foreign_keys(s, STRONG, 10)
    ra = fks.samples[("a_b", "a_id")].parent_rows
    rb = fks.samples[("a_b", "b_id")].parent_rows
    assert ra.min() >= 0 and ra.max() < n_a and rb.min() >= 0 and rb.max() < n_b
    assert np.unique(ra * n_b + rb).size == rows
    again = sample_foreign_keys(s, STRONG, 10)
    assert np.array_equal(again.samples[("a_b", "a_id")].parent_rows, ra)


def test_junction_table_too_many_rows_and_groups_with_other_columns():
    bad = schema(
        table("a", 20),
        table("b", 10),
        table("a_b", 201, fk("a_id", "a"), fk("b_id", "b"), unique_groups=[("a_id", "b_id")]),
    )
    with pytest.raises(ValueError, match="a_b"):
        sample_foreign_keys(bad, STRONG, 0)
    # a third, non-FK column keeps the group unique: the FKs are left as drawn
    ok = schema(
        table("a", 20),
        table("b", 10),
        table("lines", 500, fk("a_id", "a"), fk("b_id", "b"), unique_groups=[("a_id", "b_id", "line_no")]),
    )
    plain = schema(table("a", 20), table("b", 10), table("lines", 500, fk("a_id", "a"), fk("b_id", "b")))
    x, y = sample_foreign_keys(ok, STRONG, 0), sample_foreign_keys(plain, STRONG, 0)
    for key in x.samples:
        assert np.array_equal(x.samples[key].parent_rows, y.samples[key].parent_rows)


def test_junction_with_self_reference_and_three_foreign_keys():
    s = schema(
        table("a", 15),
        table("b", 12),
        table("c", 3),
        table(
            "abc",
            500,
            fk("a_id", "a"),
            fk("b_id", "b"),
            fk("c_id", "c"),
            unique_groups=[("a_id", "b_id", "c_id")],
        ),
        table("edges", 3000, fk("src", "a"), fk("prev", "edges"), unique_groups=[("src", "prev")]),
    )
    fks = sample_foreign_keys(s, STRONG, 12)
    combo = np.stack([fks.samples[("abc", c)].parent_rows for c in ("a_id", "b_id", "c_id")], axis=1)
    assert np.unique(combo, axis=0).shape[0] == 500
    src = fks.samples[("edges", "src")].parent_rows
    prev = fks.samples[("edges", "prev")].parent_rows
    assert np.unique(np.stack([src, prev], axis=1), axis=0).shape[0] == 3000
    assert prev[0] == 0 and np.all(prev[1:] < np.arange(1, 3000)) and prev.min() >= 0


def test_bad_schemas_name_the_table():
    with pytest.raises(ValueError, match="orders.*ghosts"):
        sample_foreign_keys(schema(table("orders", 10, fk("ghost_id", "ghosts"))), STRONG, 0)
    with pytest.raises(ValueError, match="orders.*users"):
        sample_foreign_keys(schema(table("users", 0), table("orders", 10, fk("user_id", "users"))), STRONG, 0)


# -- determinism and stage isolation ---------------------------------------------------------


def test_same_seed_same_foreign_keys_other_seed_different():
    s = schema(table("p", 500), table("c", 4000, fk("p_id", "p")), table("d", 900, fk("c_id", "c")))
    a, b = sample_foreign_keys(s, ConnectivityPriors(), 21), sample_foreign_keys(s, ConnectivityPriors(), 21)
    c = sample_foreign_keys(s, ConnectivityPriors(), 22)
    for key in a.samples:
        assert np.array_equal(a.samples[key].parent_rows, b.samples[key].parent_rows)
        assert not np.array_equal(a.samples[key].parent_rows, c.samples[key].parent_rows)
        ta, tb = a.samples[key].hsbm, b.samples[key].hsbm
        assert ta.parent_clusters == tb.parent_clusters and np.array_equal(ta.base_probs, tb.base_probs)


def test_adding_or_removing_tables_keeps_other_foreign_keys():
    small = schema(table("p", 500), table("c", 4000, fk("p_id", "p")))
    big = schema(
        table("q", 70),
        table("p", 500),
        table("c", 4000, fk("q_id", "q"), fk("p_id", "p")),
        table("e", 300, fk("c_id", "c")),
    )
    a = sample_foreign_keys(small, ConnectivityPriors(), 4).samples[("c", "p_id")]
    b = sample_foreign_keys(big, ConnectivityPriors(), 4).samples[("c", "p_id")]
    assert np.array_equal(a.parent_rows, b.parent_rows)
    assert a.hsbm.parent_clusters == b.hsbm.parent_clusters


def test_priors_change_foreign_keys_but_not_hierarchy_stream():
    s = schema(table("p", 500), table("c", 4000, fk("p_id", "p")))
    uniform = ConnectivityPriors(levels=(1, 1), parent_clusters=(1, 1), child_clusters=(1, 1))
    a = sample_foreign_keys(s, uniform, 4).samples[("c", "p_id")]
    b = sample_foreign_keys(s, STRONG, 4).samples[("c", "p_id")]
    assert a.hsbm.levels == 1 and b.hsbm.levels == 3
    assert not np.array_equal(a.parent_rows, b.parent_rows)
    assert sample_hierarchy(uniform, stream(0, "x"))[0] == (1,)


# -- argument checks -------------------------------------------------------------------------


def test_bad_arguments_raise_clear_errors():
    blocks = [np.array([[0.9]])]
    with pytest.raises(ValueError, match="num_rows"):
        base_cluster_labels(-1, (2,))
    with pytest.raises(ValueError, match="clusters_per_level"):
        base_cluster_labels(10, (0, 2))
    with pytest.raises(ValueError, match="blocks\\[0\\]"):
        sample_hsbm_parents(10, 10, (2,), (1,), blocks, stream(0, "t"))
    with pytest.raises(ValueError, match="chunk_size"):
        sample_hsbm_parents(10, 10, (1,), (1,), blocks, stream(0, "t"), chunk_size=0)
    with pytest.raises(ValueError, match="num_parents"):
        sample_hsbm_parents(0, 10, (1,), (1,), blocks, stream(0, "t"))
    with pytest.raises(ValueError, match="across"):
        sample_block_matrices(stream(0, "t"), (2,), (2,), 0.9, (0.002, 0.001))
    with pytest.raises(ValueError, match="levels"):
        sample_block_matrices(stream(0, "t"), (2, 2), (2,), 0.9, (0.001, 0.002))


def test_uniform_fallback_keeps_combinations_unique_and_valid(monkeypatch):
    import plurel_core.connectivity as connectivity

    # skip the HSBM redraw rounds so the uniform redraws (large spaces, self-references) run
    monkeypatch.setattr(connectivity, "_HSBM_UNIQUE_ROUNDS", 0)
    s = schema(
        table("a", 2000),
        table("b", 1000),
        table("a_b", 20_000, fk("a_id", "a"), fk("b_id", "b"), unique_groups=[("a_id", "b_id")]),
        table("edges", 3000, fk("src", "a"), fk("prev", "edges"), unique_groups=[("src", "prev")]),
    )
    fks = sample_foreign_keys(s, STRONG, 13)
    ra, rb = fks.samples[("a_b", "a_id")].parent_rows, fks.samples[("a_b", "b_id")].parent_rows
    assert np.unique(ra * 1000 + rb).size == 20_000 and ra.max() < 2000 and rb.max() < 1000
    src, prev = fks.samples[("edges", "src")].parent_rows, fks.samples[("edges", "prev")].parent_rows
    assert np.unique(src * 3000 + prev).size == 3000
    assert prev[0] == 0 and np.all(prev[1:] < np.arange(1, 3000)) and prev.min() >= 0
