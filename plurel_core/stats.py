"""Summary statistics of one generated database, as a flat record.

PluRel's finding is that the *diversity* of the synthetic databases drives scaling, so a
prior is judged by the distribution it induces over databases. :func:`database_stats`
reduces one :class:`~plurel_core.database.Database` to a flat ``{name: number}`` record;
a sweep over many seeds (:mod:`plurel_core.sweep`) stacks these records into a table.
:data:`STAT_FIELDS` documents every field, in record order.

The helpers :func:`column_kind`, :func:`feature_columns`, :func:`fk_parent_positions`,
:func:`gini` and :func:`nan_corr` are shared with :mod:`plurel_core.diagnostics`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from .database import Database, ForeignKeySpec, TableSpec

__all__ = [
    "STAT_FIELDS",
    "MAX_CORR_ROWS",
    "database_stats",
    "column_kind",
    "spec_columns",
    "feature_columns",
    "fk_children_per_parent",
    "fk_parent_positions",
    "gini",
    "nan_corr",
    "numeric_matrix",
    "cross_table_correlations",
    "fk_cluster_links",
    "fk_locality",
    "fk_cluster_nmi",
    "parent_dependence",
]

# Correlations are estimated on at most this many evenly spaced rows per table: enough
# for two decimals, and it keeps a statistic of a 50 000-row table cheap.
MAX_CORR_ROWS = 20_000

STAT_FIELDS: dict[str, str] = {
    "layout": "DAG layout the schema was drawn from ('sql' for an imported schema).",
    "tables": "Number of tables.",
    "entity_tables": "Tables that some other table references (non-sinks of the schema DAG).",
    "activity_tables": "Time-stamped event tables (sinks of the schema DAG).",
    "foreign_keys": "Foreign keys (edges of the schema graph).",
    "schema_depth": "Foreign-key hops on the longest parent → child chain of the schema (0 = no FKs).",
    "max_fan_in": "Most foreign keys held by one table (parents referenced by a single child table).",
    "max_fan_out": "Most foreign keys pointing at one table (child tables referencing a single parent).",
    "rows": "Rows over all tables.",
    "cells": "Cells over all tables (rows × columns, keys and dates included).",
    "feature_columns": "Feature columns over all tables (keys and the time column excluded).",
    "numerical_columns": "Float feature columns.",
    "boolean_columns": "Boolean feature columns (binarised categoricals included).",
    "categorical_columns": "Categorical feature columns (integer codes or labels) that are not booleans.",
    "text_columns": "Text feature columns.",
    "date_columns": "Date feature columns (the activity tables' time column excluded).",
    "nan_share": "Share of feature cells that are missing.",
    "classification_targets": "Non-constant boolean feature columns: binary classification targets.",
    "regression_targets": "Non-constant numerical feature columns: regression targets.",
    "fk_gini_mean": "Degree skew per foreign key: Gini coefficient of children per parent row (0 = even, "
    "→1 = all children on one parent); mean over foreign keys.",
    "fk_gini_max": "Degree skew per foreign key (Gini of children per parent row); max over foreign keys.",
    "fk_unreferenced_mean": "Share of parent rows no child row references, per foreign key; mean over foreign keys.",
    "fk_unreferenced_max": "Share of parent rows no child row references, per foreign key; max over foreign keys.",
    "cross_signal_mean": "Cross-table signal: for each numerical/boolean column of a child table, the mean "
    "|Pearson r| with its parents' numerical/boolean features on the joined rows; mean over columns. "
    "Independent columns still give about 0.8/√rows.",
    "cross_signal_max": "Cross-table signal (mean |r| of a column with its parents' features); max over columns.",
    "fk_locality_mean": "FK locality (Stage 2): share of links whose child and parent rows sit in aligned HSBM "
    "clusters (a 'within' cell of the block matrix) at every level; mean over HSBM foreign keys. High when "
    "the within-cluster affinity dominates the across affinity.",
    "fk_cluster_nmi_mean": "FK locality (Stage 2): normalised mutual information between the child row's and "
    "the parent row's HSBM base cluster over the links (0 = the cluster says nothing about the parent, "
    "1 = it fixes the parent cluster); mean over HSBM foreign keys.",
    "parent_dependence_mean": "Dependence on parent features (Stage 3): adjusted R² of a least-squares fit of "
    "each numerical/boolean child column on the joined parents' numerical/boolean features; mean over "
    "columns (about 0 for a column independent of its parents).",
    "constant_columns": "Feature columns with at most one distinct non-missing value.",
    "dropped_columns": "Columns of the schema missing from the data (removed by binarisation).",
    "generation_seconds": "Wall-clock seconds to generate the database (NaN if not measured).",
}


# -- column helpers ---------------------------------------------------------------------


def spec_columns(spec: TableSpec | None) -> dict[str, Any]:
    """``{column name: ColumnSpec}`` of a table spec (feature and key columns)."""
    if spec is None:
        return {}
    return {c.name: c for c in (*spec.columns, *spec.key_columns)}


def feature_columns(db: Database, table: str) -> list[str]:
    """Feature columns of ``table``: neither the primary key, the time column, an FK column
    nor a key column of an imported schema."""
    t = db.tables[table]
    spec = db.schema.tables.get(table)
    keys: set[str] = set()
    if spec is not None:
        keys.update(c for fk in spec.foreign_keys for c in fk.columns)
        keys.update(c.name for c in spec.key_columns)
    return [c for c in t.feature_cols if c not in keys]


def column_kind(series: pd.Series, spec: Any = None) -> str:
    """``numerical``, ``boolean``, ``categorical``, ``text`` or ``date`` for a feature column.

    The data decides where it is unambiguous (a bool dtype is boolean after binarisation
    whatever the schema said); otherwise the schema's ``ColumnSpec.kind``.
    """
    dtype = series.dtype
    if spec is not None and spec.kind in ("text", "date"):
        return spec.kind
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    if spec is not None and spec.kind in ("boolean", "categorical"):
        return spec.kind
    if spec is not None and spec.kind == "numerical" and pd.api.types.is_numeric_dtype(dtype):
        return "numerical"  # e.g. an imported INTEGER column: whole numbers, not codes
    if pd.api.types.is_float_dtype(dtype):
        return "numerical"
    if pd.api.types.is_integer_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    return "text"


def numeric_matrix(df: pd.DataFrame, cols: list[str], max_rows: int | None = MAX_CORR_ROWS) -> np.ndarray:
    """``cols`` of ``df`` as a float64 matrix (NaN for missing), on at most ``max_rows``
    evenly spaced rows (deterministic, so the statistic does not depend on any seed)."""
    idx = _row_subset(len(df), max_rows)
    out = np.empty((len(idx), len(cols)), dtype=np.float64)
    for j, c in enumerate(cols):
        out[:, j] = df[c].to_numpy(dtype=np.float64, na_value=np.nan)[idx]
    return out


def _row_subset(n: int, max_rows: int | None) -> np.ndarray:
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_rows).round().astype(np.int64))


# -- foreign keys -----------------------------------------------------------------------


def fk_parent_positions(db: Database, child: str, fk: ForeignKeySpec) -> np.ndarray | None:
    """Position (0..len(parent)-1) of the parent row each child row references; ``-1``
    where the FK is NULL or dangling. ``None`` if the FK cannot be resolved in the data
    (a table or key column missing, or parent keys not unique)."""
    if child not in db.tables or fk.parent not in db.tables:
        return None
    cdf = db.tables[child].df
    parent = db.tables[fk.parent]
    pdf = parent.df
    if not all(c in cdf.columns for c in fk.columns) or not all(c in pdf.columns for c in fk.parent_columns):
        return None
    n_parent = len(pdf)
    if len(fk.columns) == 1:
        keys = cdf[fk.columns[0]]
        pcol = fk.parent_columns[0]
        # Stage-1 primary keys are 0..n-1: the key is the position, no hashing needed
        if pcol == parent.pkey_col and pd.api.types.is_integer_dtype(pdf[pcol].dtype):
            pk = pdf[pcol].to_numpy()
            is_position = len(pk) == 0 or (pk[0] == 0 and pk[-1] == n_parent - 1 and np.all(np.diff(pk) == 1))
            if is_position and pd.api.types.is_integer_dtype(keys.dtype):
                pos = keys.to_numpy(dtype=np.int64, na_value=-1)
                return np.where((pos >= 0) & (pos < n_parent), pos, -1)
        index = pd.Index(pdf[pcol])
        if not index.is_unique:
            return None
        return index.get_indexer(keys).astype(np.int64)
    index = pd.MultiIndex.from_frame(pdf[list(fk.parent_columns)])
    if not index.is_unique:
        return None
    pos = index.get_indexer(pd.MultiIndex.from_frame(cdf[list(fk.columns)])).astype(np.int64)
    # a composite key with a NULL part references nothing
    pos[cdf[list(fk.columns)].isna().any(axis=1).to_numpy()] = -1
    return pos


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts: 0 when all equal, (n-1)/n when one holds all."""
    c = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(c)
    total = c.sum()
    if n <= 1 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * np.dot(ranks, c) / (n * total) - (n + 1) / n)


def fk_children_per_parent(db: Database) -> Iterator[tuple[str, ForeignKeySpec, np.ndarray]]:
    """``(child table, fk, counts)`` for every resolvable FK with a non-empty parent table:
    ``counts[i]`` is the number of child rows referencing parent row ``i``."""
    for child, fk in db.schema.foreign_keys():
        pos = fk_parent_positions(db, child, fk)
        if pos is None:
            continue
        n_parent = len(db.tables[fk.parent].df)
        if n_parent == 0:
            continue
        yield child, fk, np.bincount(pos[pos >= 0], minlength=n_parent)


def _fk_degree_stats(db: Database) -> tuple[list[float], list[float]]:
    ginis: list[float] = []
    unreferenced: list[float] = []
    for _child, _fk, counts in fk_children_per_parent(db):
        ginis.append(gini(counts))
        unreferenced.append(float(np.mean(counts == 0)))
    return ginis, unreferenced


# -- correlations -----------------------------------------------------------------------


def _standardize(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    # centring and scaling first keeps the moment sums below well conditioned even for
    # columns of magnitude 1e6 with small spread
    cnt = mask.sum(axis=0)
    safe = np.maximum(cnt, 1)
    x0 = np.where(mask, x, 0.0)
    # divide by the largest magnitude first: squares of values near float64's limit
    # (post-processing keeps them finite) would overflow
    peak = np.abs(x0).max(axis=0) if len(x0) else np.zeros(x0.shape[1])
    x0 = x0 / np.where(peak > 0, peak, 1.0)
    mean = x0.sum(axis=0) / safe
    dev = np.where(mask, x0 - mean, 0.0)
    std = np.sqrt((dev * dev).sum(axis=0) / safe)
    std = np.where(std > 0, std, 1.0)
    return dev / std


def nan_corr(x: np.ndarray, y: np.ndarray, min_pairs: int = 3) -> np.ndarray:
    """Pearson r of every column of ``x`` (n × a) with every column of ``y`` (n × b).

    Each pair uses the rows where both values are finite. Pairs with fewer than
    ``min_pairs`` such rows, or where either side is constant on them, give NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must be 2-d with the same number of rows, got {x.shape} and {y.shape}")
    mx = np.isfinite(x)
    my = np.isfinite(y)
    xs = _standardize(np.where(mx, x, 0.0), mx)
    ys = _standardize(np.where(my, y, 0.0), my)
    fx = mx.astype(np.float64)
    fy = my.astype(np.float64)
    n = fx.T @ fy
    sx = xs.T @ fy
    sy = fx.T @ ys
    sxx = (xs * xs).T @ fy
    syy = fx.T @ (ys * ys)
    sxy = xs.T @ ys
    with np.errstate(divide="ignore", invalid="ignore"):
        vx = sxx - sx * sx / n
        vy = syy - sy * sy / n
        r = (sxy - sx * sy / n) / np.sqrt(vx * vy)
    tol = 1e-9 * np.maximum(n, 1.0)
    bad = (n < min_pairs) | ~(vx > tol) | ~(vy > tol) | ~np.isfinite(r)
    r = np.clip(np.where(bad, 0.0, r), -1.0, 1.0)
    r[bad] = np.nan
    return r


def _signal_columns(db: Database, table: str) -> list[str]:
    """Numerical and boolean feature columns (the ones Pearson r makes sense for)."""
    t = db.tables[table]
    specs = spec_columns(db.schema.tables.get(table))
    return [
        c
        for c in feature_columns(db, table)
        if column_kind(t.df[c], specs.get(c)) in ("numerical", "boolean")
    ]


def _joined_parent_features(
    db: Database, table: str, idx: np.ndarray
) -> Iterator[tuple[ForeignKeySpec, list[str], np.ndarray]]:
    """Per non-deferred FK of ``table``: the parent's numerical/boolean features joined onto
    the child rows ``idx`` (NaN where the FK is NULL or dangling)."""
    spec = db.schema.tables.get(table)
    if spec is None:
        return
    for fk in spec.foreign_keys:
        if fk.deferred:
            continue  # sampled after both tables exist: no signal by construction
        pcols = _signal_columns(db, fk.parent) if fk.parent in db.tables else []
        pos = fk_parent_positions(db, table, fk) if pcols else None
        if pos is None:
            continue
        pmat = numeric_matrix(db.tables[fk.parent].df, pcols, None)
        p = pos[idx]
        joined = np.full((len(idx), len(pcols)), np.nan)
        ok = p >= 0
        joined[ok] = pmat[p[ok]]
        yield fk, pcols, joined


def cross_table_correlations(db: Database, table: str, max_rows: int | None = MAX_CORR_ROWS) -> pd.DataFrame:
    """|Pearson r| of each numerical/boolean column of ``table`` with each numerical/boolean
    feature of the parent rows its (non-deferred) foreign keys point to.

    Rows: the child columns; columns: ``"<fk>→<parent>.<column>"``; NaN where undefined.
    Empty when the table has no such FK, column or parent feature.
    """
    spec = db.schema.tables.get(table)
    child_cols = _signal_columns(db, table)
    if spec is None or not child_cols:
        return pd.DataFrame(index=child_cols)
    cdf = db.tables[table].df
    idx = _row_subset(len(cdf), max_rows)
    x = numeric_matrix(cdf, child_cols, max_rows)
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for fk, pcols, joined in _joined_parent_features(db, table, idx):
        blocks.append(np.abs(nan_corr(x, joined)))
        names.extend(f"{fk.name}→{fk.parent}.{c}" for c in pcols)
    if not blocks:
        return pd.DataFrame(index=child_cols)
    return pd.DataFrame(np.concatenate(blocks, axis=1), index=child_cols, columns=names)


def parent_dependence(db: Database, table: str, max_rows: int | None = MAX_CORR_ROWS) -> pd.Series:
    """Adjusted R² of each numerical/boolean column of ``table`` regressed (least squares,
    with an intercept) on all numerical/boolean features of its parent rows.

    Unlike one |r| per pair, this sees a column that depends on several parent features
    at once, and it is about 0 (not 0.8/√rows) for an independent column. Missing parent
    values are replaced by the feature's mean; child rows with a missing value are left
    out. NaN where fewer rows than features + 3 remain. Empty without parents.
    """
    child_cols = _signal_columns(db, table)
    if not child_cols:
        return pd.Series(dtype=np.float64)
    cdf = db.tables[table].df
    idx = _row_subset(len(cdf), max_rows)
    joined = [m for _fk, _cols, m in _joined_parent_features(db, table, idx)]
    if not joined:
        return pd.Series(dtype=np.float64)
    x = np.concatenate(joined, axis=1)
    x = x[:, np.isfinite(x).any(axis=0)]
    with np.errstate(invalid="ignore"):
        means = np.nanmean(x, axis=0) if x.shape[1] else np.empty(0)
    x = np.where(np.isfinite(x), x, means)
    x = x[:, x.std(axis=0) > 0] if len(x) else x
    # scale each feature: the normal equations are then well conditioned whatever the units
    x = (x - x.mean(axis=0)) / x.std(axis=0) if x.shape[1] else x
    y_all = numeric_matrix(cdf, child_cols, max_rows)
    k = x.shape[1]
    design = np.column_stack([np.ones(len(x)), x])
    # one Gram matrix for all columns; a column's missing rows are taken out of it, which
    # costs (missing rows × k²) instead of (rows × k²) per column
    gram = design.T @ design
    out = {}
    for j, name in enumerate(child_cols):
        y = y_all[:, j]
        ok = np.isfinite(y)
        n = int(ok.sum())
        if n < k + 3 or k == 0 or np.std(y[ok]) == 0:
            out[name] = math.nan
            continue
        miss = design[~ok]
        g = gram - miss.T @ miss if len(miss) else gram
        yo = y[ok]
        xty = design[ok].T @ yo
        beta = np.linalg.lstsq(g, xty, rcond=1e-10)[0]
        sst = float(((yo - yo.mean()) ** 2).sum())
        ssr = max(0.0, float(yo @ yo) - float(xty @ beta))
        r2 = min(1.0, max(0.0, 1.0 - ssr / sst))
        out[name] = 1.0 - (1.0 - r2) * (n - 1) / (n - k - 1)
    return pd.Series(out, dtype=np.float64)


# -- FK locality (what Stage 2's HSBM controls) --------------------------------------------


def _aligned_cells(parent_clusters: int, child_clusters: int) -> np.ndarray:
    """The 'within' cells of a block matrix (see ``connectivity.sample_block_matrices``)."""
    cells = np.zeros((parent_clusters, child_clusters), dtype=bool)
    i = np.arange(max(parent_clusters, child_clusters))
    cells[i % parent_clusters, i % child_clusters] = True
    return cells


def _digits(labels: np.ndarray, clusters: tuple[int, ...]) -> np.ndarray:
    out = np.empty((len(labels), len(clusters)), dtype=np.int64)
    stride = 1
    for level in range(len(clusters) - 1, -1, -1):
        out[:, level] = (labels // stride) % clusters[level]
        stride *= clusters[level]
    return out


def fk_cluster_links(db: Database) -> Iterator[tuple[str, ForeignKeySpec, Any, np.ndarray, np.ndarray]]:
    """``(child, fk, HSBM trace, child base labels, parent base labels)`` of the links of
    every FK drawn by the HSBM (one entry per non-NULL child row). FKs without a trace, or
    whose tables no longer match the trace row for row, are skipped."""
    for child, fk in db.schema.foreign_keys():
        trace = db.trace.hsbm.get(f"{child}.{fk.name}")
        if trace is None:
            continue
        pos = fk_parent_positions(db, child, fk)
        if pos is None or len(pos) != len(trace.child_base):
            continue
        if len(db.tables[fk.parent].df) != len(trace.parent_base):
            continue
        ok = pos >= 0
        yield child, fk, trace, np.asarray(trace.child_base)[ok], np.asarray(trace.parent_base)[pos[ok]]


def fk_locality(trace: Any, child_base: np.ndarray, parent_base: np.ndarray) -> float:
    """Share of links whose child and parent clusters are aligned (a 'within' cell) at
    every HSBM level; NaN without links."""
    if len(child_base) == 0:
        return math.nan
    dc = _digits(child_base.astype(np.int64), trace.child_clusters)
    dp = _digits(parent_base.astype(np.int64), trace.parent_clusters)
    inside = np.ones(len(child_base), dtype=bool)
    for level, (p, c) in enumerate(zip(trace.parent_clusters, trace.child_clusters, strict=True)):
        inside &= _aligned_cells(p, c)[dp[:, level], dc[:, level]]
    return float(inside.mean())


def fk_cluster_nmi(child_base: np.ndarray, parent_base: np.ndarray) -> float:
    """Normalised mutual information I(C; P) / √(H(C) H(P)) of the child's and the parent's
    base cluster over the links; NaN when either side has a single cluster (no information
    to share) or there are no links."""
    if len(child_base) == 0:
        return math.nan
    _, c = np.unique(child_base, return_inverse=True)
    _, p = np.unique(parent_base, return_inverse=True)
    joint = np.bincount(c * (p.max() + 1) + p, minlength=(c.max() + 1) * (p.max() + 1))
    joint = joint.reshape(c.max() + 1, p.max() + 1).astype(np.float64) / len(c)
    pc, pp = joint.sum(axis=1), joint.sum(axis=0)
    hc = -float(np.sum(pc[pc > 0] * np.log(pc[pc > 0])))
    hp = -float(np.sum(pp[pp > 0] * np.log(pp[pp > 0])))
    if hc <= 0 or hp <= 0:
        return math.nan
    nz = joint > 0
    mi = float(np.sum(joint[nz] * np.log(joint[nz] / np.outer(pc, pp)[nz])))
    return min(1.0, max(0.0, mi / math.sqrt(hc * hp)))


def _finite_mean(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else math.nan


def _finite_max(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(v.max()) if len(v) else math.nan


# -- schema shape -----------------------------------------------------------------------


def _fk_graph(db: Database) -> nx.DiGraph:
    """Parent → child graph of the tables, without self-references or deferred FKs."""
    g = nx.DiGraph()
    g.add_nodes_from(db.tables)
    for child, fk in db.schema.foreign_keys():
        if child != fk.parent and not fk.deferred and child in db.tables and fk.parent in db.tables:
            g.add_edge(fk.parent, child)
    return g


def _schema_depth(db: Database) -> int:
    g = _fk_graph(db)
    if not nx.is_directed_acyclic_graph(g):
        g = nx.condensation(g)  # an FK cycle counts as one step of the chain
    return int(nx.dag_longest_path_length(g)) if g.number_of_nodes() else 0


# -- the record -------------------------------------------------------------------------


def database_stats(db: Database, generation_seconds: float | None = None) -> dict[str, Any]:
    """The flat statistics record of ``db``: keys and order as in :data:`STAT_FIELDS`.

    Cost is linear in the cells (correlations use at most :data:`MAX_CORR_ROWS` rows per
    table), so a sweep spends its time generating, not measuring.
    """
    fks = db.schema.foreign_keys()
    fan_in: dict[str, int] = {}
    fan_out: dict[str, int] = {}
    for child, fk in fks:
        fan_in[child] = fan_in.get(child, 0) + 1
        fan_out[fk.parent] = fan_out.get(fk.parent, 0) + 1

    kinds = dict.fromkeys(("numerical", "boolean", "categorical", "text", "date"), 0)
    feature_cells = 0
    missing_cells = 0
    constant = 0
    classification = 0
    regression = 0
    dropped = 0
    signal_per_column: list[np.ndarray] = []
    for name, table in db.tables.items():
        df = table.df
        specs = spec_columns(db.schema.tables.get(name))
        cols = feature_columns(db, name)
        for c in cols:
            s = df[c]
            kind = column_kind(s, specs.get(c))
            kinds[kind] += 1
            n_missing = int(s.isna().sum())
            missing_cells += n_missing
            is_constant = s.nunique(dropna=True) <= 1
            constant += is_constant
            if not is_constant and kind == "boolean":
                classification += 1
            elif not is_constant and kind == "numerical":
                regression += 1
        feature_cells += len(df) * len(cols)
        spec = db.schema.tables.get(name)
        if spec is not None:
            dropped += sum(c.name not in df.columns for c in spec.columns)
        corr = cross_table_correlations(db, name)
        if corr.shape[1]:
            # per child column: mean |r| over the parent features it is conditioned on
            vals = corr.to_numpy()
            ok = np.isfinite(vals)
            counts = ok.sum(axis=1)
            sums = np.where(ok, vals, 0.0).sum(axis=1)
            signal_per_column.append(sums[counts > 0] / counts[counts > 0])
    ginis, unref = _fk_degree_stats(db)
    locality: list[float] = []
    nmi: list[float] = []
    for _child, _fk, trace, child_base, parent_base in fk_cluster_links(db):
        locality.append(fk_locality(trace, child_base, parent_base))
        nmi.append(fk_cluster_nmi(child_base, parent_base))
    dependence = [parent_dependence(db, name).to_numpy() for name in db.tables]
    per_col = np.concatenate(signal_per_column) if signal_per_column else np.empty(0)

    record: dict[str, Any] = {
        "layout": db.schema.layout if db.schema.source != "sql" else "sql",
        "tables": len(db.tables),
        "entity_tables": sum(t.kind == "entity" for t in db.tables.values()),
        "activity_tables": sum(t.kind == "activity" for t in db.tables.values()),
        "foreign_keys": len(fks),
        "schema_depth": _schema_depth(db),
        "max_fan_in": max(fan_in.values(), default=0),
        "max_fan_out": max(fan_out.values(), default=0),
        "rows": sum(len(t.df) for t in db.tables.values()),
        "cells": sum(t.df.size for t in db.tables.values()),
        "feature_columns": sum(kinds.values()),
        "numerical_columns": kinds["numerical"],
        "boolean_columns": kinds["boolean"],
        "categorical_columns": kinds["categorical"],
        "text_columns": kinds["text"],
        "date_columns": kinds["date"],
        "nan_share": missing_cells / feature_cells if feature_cells else 0.0,
        "classification_targets": classification,
        "regression_targets": regression,
        "fk_gini_mean": _finite_mean(np.array(ginis)),
        "fk_gini_max": _finite_max(np.array(ginis)),
        "fk_unreferenced_mean": _finite_mean(np.array(unref)),
        "fk_unreferenced_max": _finite_max(np.array(unref)),
        "cross_signal_mean": _finite_mean(per_col),
        "cross_signal_max": _finite_max(per_col),
        "fk_locality_mean": _finite_mean(np.array(locality)),
        "fk_cluster_nmi_mean": _finite_mean(np.array(nmi)),
        "parent_dependence_mean": _finite_mean(np.concatenate(dependence) if dependence else np.empty(0)),
        "constant_columns": constant,
        "dropped_columns": dropped,
        "generation_seconds": math.nan if generation_seconds is None else float(generation_seconds),
    }
    return record
