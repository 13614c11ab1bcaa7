"""Stage 1: schemas sampled from the priors."""

from __future__ import annotations

from dataclasses import replace

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from plurel_core.config import LAYOUT_NAMES, SchemaPriors
from plurel_core.database import PKEY_COL, TIME_COL
from plurel_core.schema import sample_power_law, sample_schema

PAPER = SchemaPriors()
SEEDS = range(25)


def _index(name: str) -> int:
    return int(name.removeprefix("table_"))


def _view(schema):
    """Everything Stage 1 decides, in comparable form."""
    return (
        schema.layout,
        schema.tables,
        sorted(schema.graph.edges(keys=True, data=True)),
        dict(schema.graph.nodes(data=True)),
        schema.graph.graph,
        (schema.t0, schema.t1, schema.val_timestamp, schema.test_timestamp),
    )


# -- power law ---------------------------------------------------------------------------


def test_column_counts_follow_an_inverse_power_law():
    lo, hi, n = 3, 40, 20_000
    draws = sample_power_law(np.random.default_rng(0), lo, hi, 1.0, size=n)
    assert draws.shape == (n,) and draws.min() >= lo and draws.max() <= hi
    support = np.arange(lo, hi + 1)
    observed = np.bincount(draws - lo, minlength=len(support))
    p = 1.0 / support
    expected = n * p / p.sum()
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    # power: a uniform column count is clearly rejected by the same test
    uniform = np.full(len(support), n / len(support))
    assert stats.chisquare(observed, uniform).pvalue < 1e-12
    # most tables narrow, a few wide
    assert np.median(draws) < 15 and (draws > 30).mean() > 0.03


def test_power_law_exponent_shifts_the_mean():
    rng = np.random.default_rng(1)
    means = [sample_power_law(rng, 3, 40, a, size=20_000).mean() for a in (0.0, 1.0, 2.0)]
    assert abs(means[0] - 21.5) < 0.3  # exponent 0: uniform on 3..40
    assert means[0] > means[1] + 3 > means[2] + 6


def test_power_law_scalar_fixed_and_bad_arguments():
    rng = np.random.default_rng(2)
    k = sample_power_law(rng, 3, 40, 1.0)
    assert isinstance(k, int) and 3 <= k <= 40
    assert set(sample_power_law(rng, 5, 5, 1.0, size=10).tolist()) == {5}
    for args in [(0, 5, 1.0), (5, 4, 1.0), (1, 5, -1.0), (1, 5, float("nan"))]:
        with pytest.raises(ValueError):
            sample_power_law(rng, *args)


def test_schema_column_counts_follow_the_prior():
    priors = replace(PAPER, num_cols=(3, 40))
    counts = [len(t.columns) for seed in range(40) for t in sample_schema(priors, seed).tables.values()]
    assert min(counts) >= 3 and max(counts) <= 40
    assert np.median(counts) < 15
    wide = replace(priors, num_cols_exponent=0.0)
    wide_counts = [len(t.columns) for seed in range(40) for t in sample_schema(wide, seed).tables.values()]
    assert np.mean(wide_counts) > np.mean(counts) + 4


# -- structure ---------------------------------------------------------------------------


def test_tables_keys_and_kinds_follow_the_schema_dag():
    for seed in SEEDS:
        s = sample_schema(PAPER, seed)
        n = len(s.tables)
        assert PAPER.num_tables[0] <= n <= PAPER.num_tables[1]
        assert s.layout in PAPER.layouts
        assert list(s.tables) == [f"table_{i}" for i in range(n)]
        g = s.graph
        assert isinstance(g, nx.MultiDiGraph)
        assert list(g.nodes) == list(s.tables)
        assert nx.is_directed_acyclic_graph(g) and nx.is_weakly_connected(g)
        for name, t in s.tables.items():
            assert t.name == name and t.pkey_col == PKEY_COL
            node = g.nodes[name]
            assert (node["kind"], node["num_rows"], node["num_cols"]) == (t.kind, t.num_rows, len(t.columns))
            if g.out_degree(name) == 0:
                assert t.kind == "activity" and t.time_col == TIME_COL
                assert PAPER.activity_rows[0] <= t.num_rows <= PAPER.activity_rows[1]
            else:
                assert t.kind == "entity" and t.time_col is None
                assert PAPER.entity_rows[0] <= t.num_rows <= PAPER.entity_rows[1]
            # one FK per parent, named in sorted parent order
            parents = sorted(g.predecessors(name), key=_index)
            assert [fk.parent for fk in t.foreign_keys] == parents
            assert [fk.columns for fk in t.foreign_keys] == [
                (f"foreign_row_{j}",) for j in range(len(parents))
            ]
            assert all(fk.parent_columns == (PKEY_COL,) for fk in t.foreign_keys)
            assert all(_index(p) < _index(name) for p in parents), "parents come first"
            for fk in t.foreign_keys:
                (data,) = g.get_edge_data(fk.parent, name).values()
                assert data["columns"] == fk.columns
                assert isinstance(data["weight"], float) and np.isfinite(data["weight"])
            assert [c.name for c in t.columns] == [f"feature_{i}" for i in range(len(t.columns))]
            for c in t.columns:
                assert c.kind in ("numerical", "categorical")
                if c.kind == "categorical":
                    assert PAPER.num_categories[0] <= c.num_categories <= PAPER.num_categories[1]
        assert g.number_of_edges() == sum(len(t.foreign_keys) for t in s.tables.values())
        assert any(t.kind == "activity" for t in s.tables.values())


def test_categorical_share_follows_the_prior():
    cols = [c for seed in range(20) for t in sample_schema(PAPER, seed).tables.values() for c in t.columns]
    share = np.mean([c.kind == "categorical" for c in cols])
    assert len(cols) > 1000 and abs(share - 0.5) < 0.05
    cats = [c.num_categories for c in cols if c.kind == "categorical"]
    assert set(cats) == set(range(2, 11))
    for prob, kind in [(0.0, "numerical"), (1.0, "categorical")]:
        s = sample_schema(replace(PAPER, categorical_prob=prob), 0)
        assert {c.kind for t in s.tables.values() for c in t.columns} == {kind}


def test_single_table_is_an_activity_table():
    for seed in range(5):
        s = sample_schema(replace(PAPER, num_tables=(1, 1)), seed)
        (t,) = s.tables.values()
        assert t.kind == "activity" and t.foreign_keys == () and t.time_col == TIME_COL
        assert s.graph.number_of_nodes() == 1 and s.graph.number_of_edges() == 0


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
def test_every_layout_can_shape_a_schema(layout):
    s = sample_schema(replace(PAPER, layouts=(layout,), num_tables=(8, 8)), 3)
    assert s.layout == layout == s.graph.graph["layout"]
    assert len(s.tables) == 8
    assert nx.is_directed_acyclic_graph(s.graph) and nx.is_weakly_connected(s.graph)


def test_star_schemas_have_one_activity_table():
    priors = replace(PAPER, layouts=("ReverseRandomTree",))
    for seed in range(10):
        s = sample_schema(priors, seed)
        kinds = [t.kind for t in s.tables.values()]
        assert kinds.count("activity") == 1 and kinds[-1] == "activity"


def test_layouts_are_drawn_uniformly_from_the_set():
    counts = {name: 0 for name in PAPER.layouts}
    for seed in range(150):
        counts[sample_schema(replace(PAPER, num_tables=(3, 3)), seed).layout] += 1
    assert all(30 <= c <= 70 for c in counts.values()), counts


# -- determinism ---------------------------------------------------------------------------


def test_same_seed_same_schema_and_different_seeds_differ():
    for seed in [0, 1, 12345, 2**32]:
        assert _view(sample_schema(PAPER, seed)) == _view(sample_schema(PAPER, seed))
    views = [_view(sample_schema(PAPER, seed)) for seed in range(6)]
    assert all(views[i] != views[j] for i in range(6) for j in range(i))
    # the graphs themselves differ, not only rows and columns
    edges = {tuple((u, v, d["weight"]) for u, v, _, d in view[2]) for view in views}
    assert len(edges) == 6


def test_column_and_row_priors_leave_the_graph_unchanged():
    base = sample_schema(PAPER, 4)
    other = sample_schema(replace(PAPER, num_cols=(1, 3), entity_rows=(10, 20), categorical_prob=0.9), 4)
    assert sorted(base.graph.edges(keys=True, data=True)) == sorted(other.graph.edges(keys=True, data=True))
    assert [t.kind for t in base.tables.values()] == [t.kind for t in other.tables.values()]
    assert base.t0 == other.t0 and base.test_timestamp == other.test_timestamp


# -- time window -----------------------------------------------------------------------------


def test_time_window_and_cutoffs():
    start, end = pd.Timestamp(PAPER.time_start), pd.Timestamp(PAPER.time_end)
    starts = []
    for seed in range(60):
        s = sample_schema(PAPER, seed)
        assert start <= s.t0 < s.t1 <= end
        assert s.t0 <= s.val_timestamp <= s.test_timestamp < s.t1
        for ts in (s.t0, s.t1, s.val_timestamp, s.test_timestamp):
            assert isinstance(ts, pd.Timestamp) and ts == ts.normalize()
        span = (s.t1 - s.t0).days
        assert (s.val_timestamp - s.t0).days == int(np.floor(PAPER.val_frac * span))
        assert (s.test_timestamp - s.t0).days == int(np.floor(PAPER.test_frac * span))
        if span >= 20:
            assert s.val_timestamp < s.test_timestamp
        starts.append((s.t0 - start).days)
    # t0 is the smaller of two uniform days: mean at a third of the window
    assert abs(np.mean(starts) / (end - start).days - 1 / 3) < 0.1


def test_two_day_window_and_too_short_windows():
    s = sample_schema(replace(PAPER, time_start="2020-03-01", time_end="2020-03-02"), 0)
    assert (s.t0, s.t1) == (pd.Timestamp("2020-03-01"), pd.Timestamp("2020-03-02"))
    assert s.val_timestamp == s.test_timestamp == s.t0
    for end in ["2020-03-01", "2020-02-01"]:
        with pytest.raises(ValueError, match="time window"):
            sample_schema(replace(PAPER, time_start="2020-03-01", time_end=end), 0)


def test_custom_cutoff_fractions():
    priors = replace(PAPER, val_frac=0.5, test_frac=0.75, time_start="2000-01-01", time_end="2000-12-31")
    for seed in range(10):
        s = sample_schema(priors, seed)
        span = (s.t1 - s.t0).days
        assert s.val_timestamp == s.t0 + pd.Timedelta(days=span // 2)
        assert s.test_timestamp == s.t0 + pd.Timedelta(days=int(0.75 * span))
