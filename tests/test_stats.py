"""Database statistics on small hand-built databases with known answers."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from plurel_core.database import (
    PKEY_COL,
    ColumnSpec,
    Database,
    ForeignKeySpec,
    Schema,
    Table,
    TableSpec,
    Trace,
)
from plurel_core.stats import (
    STAT_FIELDS,
    column_kind,
    cross_table_correlations,
    database_stats,
    fk_parent_positions,
    gini,
    nan_corr,
)


def _spec_for(name: str, s: pd.Series) -> ColumnSpec:
    if pd.api.types.is_bool_dtype(s.dtype):
        return ColumnSpec(name, "categorical", num_categories=2)
    if pd.api.types.is_float_dtype(s.dtype):
        return ColumnSpec(name, "numerical")
    if pd.api.types.is_integer_dtype(s.dtype):
        return ColumnSpec(name, "categorical", num_categories=int(s.max()) + 1)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return ColumnSpec(name, "date")
    return ColumnSpec(name, "text")


def make_db(
    frames: dict[str, pd.DataFrame],
    fks: list[tuple[str, str, str]] = (),
    *,
    time_cols: dict[str, str] | None = None,
    extra_columns: dict[str, list[ColumnSpec]] | None = None,
    layout: str = "BarabasiAlbert",
) -> Database:
    """A database from plain frames (listed parents first) and ``(child, fk column, parent)``.

    Each frame gets a ``row_idx`` primary key 0..n-1; tables nobody references are activity
    tables; column specs follow the dtypes; ``extra_columns`` adds schema columns that are
    absent from the data (as binarisation leaves them).
    """
    time_cols = time_cols or {}
    extra_columns = extra_columns or {}
    referenced = {parent for _, _, parent in fks}
    graph = nx.MultiDiGraph()
    specs: dict[str, TableSpec] = {}
    tables: dict[str, Table] = {}
    for name, df in frames.items():
        df = df.copy()
        df.insert(0, PKEY_COL, np.arange(len(df), dtype=np.int64))
        own = [(col, parent) for child, col, parent in fks if child == name]
        keys = {PKEY_COL, time_cols.get(name), *(c for c, _ in own)}
        cols = tuple(_spec_for(c, df[c]) for c in df.columns if c not in keys)
        kind = "entity" if name in referenced else "activity"
        specs[name] = TableSpec(
            name=name,
            kind=kind,
            num_rows=len(df),
            pkey_col=PKEY_COL,
            foreign_keys=tuple(ForeignKeySpec((c,), p, (PKEY_COL,)) for c, p in own),
            columns=cols + tuple(extra_columns.get(name, ())),
            time_col=time_cols.get(name),
        )
        graph.add_node(name, kind=kind, num_rows=len(df))
        for c, p in own:
            graph.add_edge(p, name, columns=(c,))
        tables[name] = Table(name, df, PKEY_COL, dict(own), time_cols.get(name), kind)
    t0, t1 = pd.Timestamp("2000-01-01"), pd.Timestamp("2010-01-01")
    val, test = pd.Timestamp("2008-01-01"), pd.Timestamp("2009-01-01")
    schema = Schema(specs, graph, layout, t0, t1, val, test)
    return Database(tables, val, test, Trace(graph, layout, {}, {}), schema, seed=0)


def shop_db() -> Database:
    """countries ← users ← orders, orders → countries; every statistic known by hand."""
    countries = pd.DataFrame({"gdp": [1.0, 2.0]})
    users = pd.DataFrame(
        {
            "country": np.array([0, 0, 0, 1]),
            "age": [10.0, 20.0, 30.0, 40.0],
            "status": np.array([0, 1, 2, 1]),
            "name": ["a", "b", "c", "d"],
            "signup": pd.to_datetime(["2001-01-01", "2002-01-01", "2003-01-01", "2004-01-01"]),
        }
    )
    user = np.array([0, 0, 0, 0, 0, 1, 1, 2])
    amount = 2 * np.array([10.0, 20.0, 30.0, 40.0])[user] + 1
    amount[7] = np.nan
    orders = pd.DataFrame(
        {
            "user": user,
            "country": np.ones(8, dtype=np.int64),
            "date": pd.date_range("2000-01-01", periods=8, freq="D"),
            "amount": amount,
            # zero covariance with the joined parent age [10,10,10,10,10,20,20,30]
            "noise": [1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            "flag": np.array([1, 0, 0, 0, 0, 1, 0, 0], dtype=bool),
            "const": np.full(8, 7.0),
        }
    )
    return make_db(
        {"countries": countries, "users": users, "orders": orders},
        [("users", "country", "countries"), ("orders", "user", "users"), ("orders", "country", "countries")],
        time_cols={"orders": "date"},
        extra_columns={"users": [ColumnSpec("tier", "categorical", num_categories=3)]},
    )


def test_record_fields_match_registry_and_are_documented():
    rec = database_stats(shop_db(), generation_seconds=1.5)
    assert list(rec) == list(STAT_FIELDS)
    assert all(isinstance(v, str) and len(v) > 10 for v in STAT_FIELDS.values())
    assert rec["generation_seconds"] == 1.5
    assert math.isnan(database_stats(shop_db())["generation_seconds"])


def test_shape_statistics_known_answers():
    rec = database_stats(shop_db())
    assert rec["layout"] == "BarabasiAlbert"
    assert (rec["tables"], rec["entity_tables"], rec["activity_tables"]) == (3, 2, 1)
    assert rec["foreign_keys"] == 3
    assert rec["schema_depth"] == 2
    assert rec["max_fan_in"] == 2  # orders → users, countries
    assert rec["max_fan_out"] == 2  # countries ← users, orders
    assert rec["rows"] == 14
    assert rec["cells"] == 2 * 2 + 4 * 6 + 8 * 8


def test_column_statistics_known_answers():
    rec = database_stats(shop_db())
    assert rec["feature_columns"] == 9
    assert rec["numerical_columns"] == 5  # gdp, age, amount, noise, const
    assert rec["boolean_columns"] == 1
    assert rec["categorical_columns"] == 1
    assert rec["text_columns"] == 1
    assert rec["date_columns"] == 1  # users.signup; the orders time column is not a feature
    assert rec["nan_share"] == pytest.approx(1 / (2 * 1 + 4 * 4 + 8 * 4))
    assert rec["classification_targets"] == 1
    assert rec["regression_targets"] == 4  # the constant column is no target
    assert rec["constant_columns"] == 1
    assert rec["dropped_columns"] == 1


def test_foreign_key_degree_statistics_known_answers():
    rec = database_stats(shop_db())
    # children per parent: users.country [3, 1] → Gini 0.25, none unreferenced;
    # orders.user [5, 2, 1, 0] → 0.5, a quarter unreferenced; orders.country [0, 8] → 0.5, half
    assert rec["fk_gini_mean"] == pytest.approx((0.25 + 0.5 + 0.5) / 3)
    assert rec["fk_gini_max"] == pytest.approx(0.5)
    assert rec["fk_unreferenced_mean"] == pytest.approx((0 + 0.25 + 0.5) / 3)
    assert rec["fk_unreferenced_max"] == pytest.approx(0.5)


def test_cross_table_signal_known_answers():
    db = shop_db()
    corr = cross_table_correlations(db, "orders")
    assert list(corr.index) == ["amount", "noise", "flag", "const"]
    assert corr.loc["amount", "user→users.age"] == pytest.approx(1.0)
    assert corr.loc["noise", "user→users.age"] == pytest.approx(0.0, abs=1e-12)
    assert corr.loc["flag", "user→users.age"] == pytest.approx(0.0, abs=1e-12)
    # every order is in country 1: the joined gdp is constant, r is undefined
    assert corr["country→countries.gdp"].isna().all()
    assert corr.loc["const"].isna().all()
    users_age = 15 / math.sqrt(500 * 0.75)  # age [10..40] vs joined gdp [1, 1, 1, 2]
    rec = database_stats(db)
    assert rec["cross_signal_mean"] == pytest.approx((users_age + 1.0 + 0.0 + 0.0) / 4)
    assert rec["cross_signal_max"] == pytest.approx(1.0)


def test_database_without_foreign_keys():
    db = make_db({"a": pd.DataFrame({"x": [1.0, 2.0, 3.0]})})
    rec = database_stats(db)
    assert (rec["foreign_keys"], rec["schema_depth"], rec["max_fan_in"]) == (0, 0, 0)
    assert math.isnan(rec["fk_gini_mean"]) and math.isnan(rec["cross_signal_max"])
    assert rec["regression_targets"] == 1


def test_gini_known_values():
    assert gini(np.array([3, 3, 3, 3])) == 0.0
    assert gini(np.array([0, 0, 0, 10])) == pytest.approx(3 / 4)
    assert gini(np.array([0, 1, 2, 5])) == pytest.approx(0.5)
    assert gini(np.array([])) == 0.0 and gini(np.array([0, 0])) == 0.0


def test_nan_corr_matches_pairwise_complete_pearson():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3)) * [1.0, 1e6, 1e-3] + [0.0, 5e6, 0.0]
    y = np.column_stack([x[:, 0] * 2 + rng.normal(size=200), rng.normal(size=200)])
    x[rng.random((200, 3)) < 0.1] = np.nan
    y[rng.random((200, 2)) < 0.1] = np.nan
    r = nan_corr(x, y)
    for i in range(3):
        for j in range(2):
            ok = ~np.isnan(x[:, i]) & ~np.isnan(y[:, j])
            assert r[i, j] == pytest.approx(np.corrcoef(x[ok, i], y[ok, j])[0, 1], abs=1e-9)
    huge = nan_corr(np.arange(10.0)[:, None] * 1e300, np.arange(10.0)[:, None] ** 2)
    assert huge[0, 0] == pytest.approx(np.corrcoef(np.arange(10.0), np.arange(10.0) ** 2)[0, 1])
    const = nan_corr(np.ones((10, 1)), np.arange(10.0)[:, None])
    assert np.isnan(const).all()
    with pytest.raises(ValueError, match="same number of rows"):
        nan_corr(np.ones((3, 1)), np.ones((4, 1)))


def test_fk_positions_with_nulls_and_non_positional_keys():
    parent = pd.DataFrame({"code": ["x", "y", "z"], "v": [1.0, 2.0, 3.0]})
    child = pd.DataFrame({"pc": pd.array(["z", None, "x", "q"], dtype="string"), "w": [0.0, 1.0, 2.0, 3.0]})
    db = make_db({"p": parent, "c": child})
    fk = ForeignKeySpec(("pc",), "p", ("code",))
    assert fk_parent_positions(db, "c", fk).tolist() == [2, -1, 0, -1]
    # nullable integer FK onto row_idx
    db2 = make_db(
        {
            "p": pd.DataFrame({"v": [1.0, 2.0]}),
            "c": pd.DataFrame({"p": pd.array([1, None, 0], dtype="Int64")}),
        },
        [("c", "p", "p")],
    )
    fk2 = db2.schema.tables["c"].foreign_keys[0]
    assert fk_parent_positions(db2, "c", fk2).tolist() == [1, -1, 0]
    rec = database_stats(db2)
    assert rec["fk_unreferenced_max"] == 0.0 and rec["fk_gini_max"] == 0.0


def test_column_kind_prefers_data_after_binarisation():
    assert (
        column_kind(pd.Series([True, False]), ColumnSpec("c", "categorical", num_categories=5)) == "boolean"
    )
    assert (
        column_kind(pd.Series([0, 2, 1]), ColumnSpec("c", "categorical", num_categories=3)) == "categorical"
    )
    assert column_kind(pd.Series([0.5, 1.0])) == "numerical"
    assert column_kind(pd.Series(["a", "b"]), ColumnSpec("c", "text")) == "text"


# -- FK locality and parent dependence ------------------------------------------------------


def _hsbm_trace(parent_clusters, child_clusters, parent_base, child_base):
    from plurel_core.database import HSBMTrace

    blocks = [np.ones((p, c)) for p, c in zip(parent_clusters, child_clusters, strict=True)]
    return HSBMTrace(
        levels=len(parent_clusters),
        parent_clusters=tuple(parent_clusters),
        child_clusters=tuple(child_clusters),
        blocks=blocks,
        parent_base=np.asarray(parent_base),
        child_base=np.asarray(child_base),
        base_probs=np.ones((1, 1)),
    )


def test_fk_locality_counts_links_in_within_cells_at_every_level():
    from plurel_core.stats import fk_locality

    # one level, 3 parent × 2 child clusters: within cells (0,0), (1,1), (2,0)
    trace = _hsbm_trace((3,), (2,), [0, 1, 2], [0, 1])
    child = np.array([0, 0, 1, 1, 0])
    parent = np.array([0, 2, 1, 0, 1])
    assert fk_locality(trace, child, parent) == pytest.approx(3 / 5)
    # two levels of 2 × 2: base label = 2·d0 + d1; aligned only if both digits agree
    trace2 = _hsbm_trace((2, 2), (2, 2), [0, 1, 2, 3], [0, 1, 2, 3])
    assert fk_locality(trace2, np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3])) == 1.0
    assert fk_locality(trace2, np.array([0, 1]), np.array([1, 2])) == 0.0
    assert math.isnan(fk_locality(trace2, np.array([], int), np.array([], int)))


def test_fk_cluster_nmi_known_values():
    from plurel_core.stats import fk_cluster_nmi

    labels = np.repeat(np.arange(4), 25)
    assert fk_cluster_nmi(labels, labels) == pytest.approx(1.0)
    assert fk_cluster_nmi(np.repeat(np.arange(4), 4), np.tile(np.arange(4), 4)) == pytest.approx(
        0.0, abs=1e-12
    )
    assert math.isnan(fk_cluster_nmi(labels, np.zeros(100, int)))


def test_parent_dependence_sees_a_linear_function_of_several_parent_features():
    from plurel_core.stats import parent_dependence

    rng = np.random.default_rng(0)
    users = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    user = rng.integers(0, 200, 2000)
    orders = pd.DataFrame(
        {
            "user": user,
            "both": users["a"].to_numpy()[user] - users["b"].to_numpy()[user] + rng.normal(0, 0.1, 2000),
            "free": rng.normal(size=2000),
        }
    )
    orders.loc[5, "both"] = np.nan
    db = make_db({"users": users, "orders": orders}, [("orders", "user", "users")])
    dep = parent_dependence(db, "orders")
    assert dep["both"] > 0.98
    assert abs(dep["free"]) < 0.01
    assert parent_dependence(db, "users").empty  # no parents


def test_fk_locality_statistics_follow_the_within_affinity():
    """Stage 2's within-cluster affinity moves FK locality on the same seeds; the Stage-3
    statistic does not move (stage isolation)."""
    from plurel_core.config import Config
    from plurel_core.generate import generate

    base = Config.preset("small")
    for seed in (0, 1):
        tight = database_stats(generate(base.with_value("connectivity.within_affinity", 0.9), seed))
        loose = database_stats(generate(base.with_value("connectivity.within_affinity", 0.002), seed))
        assert tight["fk_locality_mean"] > loose["fk_locality_mean"] + 0.2
        assert tight["fk_cluster_nmi_mean"] > loose["fk_cluster_nmi_mean"]
        assert tight["tables"] == loose["tables"]
