"""One database from priors + seed: the three stages and their assembly."""

from __future__ import annotations

import functools
from collections.abc import Collection

import networkx as nx
import numpy as np
import pandas as pd

from .budget import COMMAND_LINE_BUDGET, Stage3Budget
from .config import Config
from .connectivity import sample_foreign_keys
from .database import Database, Features, ForeignKeys, Schema, Table, TableSpec, Trace
from .declared import conform_table
from .errors import SchemaError
from .schema import sample_schema
from .stage3 import sample_features

__all__ = ["generate", "assemble", "sample_schema", "sample_foreign_keys", "sample_features"]


def activity_dates(schema: Schema, num_rows: int) -> np.ndarray:
    """Evenly spaced timestamps from t0 to t1 over ``num_rows`` rows (row order = time order)."""
    t0 = schema.t0.value
    t1 = schema.t1.value
    if num_rows == 1:
        return np.array([t0], dtype="datetime64[ns]")
    steps = np.linspace(0.0, 1.0, num_rows)
    ns = t0 + np.floor(steps * (t1 - t0)).astype(np.int64)
    return ns.astype("datetime64[ns]").astype("datetime64[s]")


def _key_values(spec: TableSpec, schema: Schema) -> dict[str, object]:
    """Values of ``spec.key_columns``, unique per row.

    Text keys are ``"<column>_<row>"``, numerical keys the row number, date keys evenly
    spaced over the window; categorical / boolean keys (few values) cycle through their
    labels in mixed radix, so together they repeat only once every label combination has
    been used (the SQL import caps row counts accordingly).
    """
    n = spec.num_rows
    rows = np.arange(n, dtype=np.int64)
    out: dict[str, object] = {}
    stride = 1
    for col in spec.key_columns:
        if col.kind in ("categorical", "boolean"):
            k = len(col.labels) if col.labels else max(col.num_categories, 2)
            codes = (rows // stride) % k
            stride *= k
            if col.labels:
                out[col.name] = np.asarray(col.labels, dtype=object)[codes]
            else:
                out[col.name] = codes.astype(bool) if col.kind == "boolean" else codes
        elif col.kind == "text":
            out[col.name] = np.char.add(f"{col.name}_", rows.astype(str)).astype(object)
        elif col.kind == "date":
            out[col.name] = activity_dates(schema, n)
        else:
            out[col.name] = rows.copy()
    return out


def _take_parent(parent: np.ndarray | pd.Series, rows: np.ndarray) -> np.ndarray | pd.Series:
    """``parent`` values at ``rows``; ``-1`` (a NULL foreign key) gives a missing value (then
    as a nullable Series)."""
    valid = rows >= 0
    if valid.all():
        if isinstance(parent, pd.Series):
            return parent.take(rows).reset_index(drop=True)
        return np.take(parent, rows)
    values = pd.Series(parent).take(np.where(valid, rows, 0)).reset_index(drop=True)
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.astype("boolean")
    elif pd.api.types.is_integer_dtype(values.dtype):
        values = values.astype("Int64")
    return values.mask(~valid)


def _fk_fill_order(schema: Schema, fks: ForeignKeys) -> list[tuple[str, str]]:
    """Sample keys ordered so a FK is filled after the parent columns it copies.

    A parent's referenced column can itself be a foreign key (a 1:1 table referenced by
    further tables), so its values must exist first.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(fks.samples)
    for key, sample in fks.samples.items():
        wanted = set(sample.fk.parent_columns)
        for other_key, other in fks.samples.items():
            if other.child == sample.fk.parent and other_key != key and wanted & set(other.fk.columns):
                graph.add_edge(other_key, key)
    try:
        return list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible:
        raise SchemaError("foreign keys copy each other's values in a cycle; cannot assign them") from None


def key_columns(schema: Schema, fks: ForeignKeys) -> dict[str, dict[str, object]]:
    """Every table's key columns, by table and column: everything of the final tables
    but the features.

    Row-number primary keys, generated key columns, the time column, then every foreign
    key copies the referenced parent columns at its sampled parent row (for row-number
    primary keys that is the row index itself), in an order where copied parent columns
    already exist, so deferred (cycle-breaking) FKs work too.
    """
    cols: dict[str, dict[str, object]] = {}
    for name, spec in schema.tables.items():
        c: dict[str, object] = {}
        fk_cols = {col for fk in spec.foreign_keys for col in fk.columns}
        keys = _key_values(spec, schema)
        if spec.pkey_col is not None and spec.pkey_col not in fk_cols and spec.pkey_col not in keys:
            c[spec.pkey_col] = np.arange(spec.num_rows, dtype=np.int64)
        c.update(keys)
        if spec.time_col is not None:
            c[spec.time_col] = activity_dates(schema, spec.num_rows)
        cols[name] = c
    for key in _fk_fill_order(schema, fks):
        sample = fks.samples[key]
        parent = cols[sample.fk.parent]
        rows = np.asarray(sample.parent_rows)
        for col, pcol in zip(sample.fk.columns, sample.fk.parent_columns, strict=True):
            cols[sample.child][col] = _take_parent(parent[pcol], rows)
    return cols


def assemble(
    schema: Schema, fks: ForeignKeys, features: Features, seed: int, *, tables: Collection[str] | None = None
) -> Database:
    """Join the three stage results into RelBench-style tables plus the trace.

    Each table holds its key columns (:func:`key_columns`), then its features, in the
    schema's column order where it has one.

    Parameters
    ----------
    schema : Schema
        Stage 1's result (:func:`sample_schema` or a SQL import).
    fks : ForeignKeys
        Stage 2's result for ``schema`` (:func:`sample_foreign_keys`).
    features : Features
        Stage 3's result for ``schema`` (:func:`sample_features`).
    seed : int
        The seed the stages ran with (recorded in the database).
    tables : collection of str, optional
        Only these tables (e.g. Stage 3 run with the same ``tables``); the schema stays
        whole.

    Returns
    -------
    Database
        The tables with keys and features, the validation and test cut-offs and the trace.
    """
    keys = key_columns(schema, fks)
    out: dict[str, Table] = {}
    for name, spec in schema.tables.items():
        if tables is not None and name not in tables:
            continue
        df = pd.DataFrame(keys[name], index=pd.RangeIndex(spec.num_rows))
        feats = features.frames.get(name)
        declared = schema.graph.nodes[name].get("declared") if name in schema.graph else None
        if feats is not None and declared:  # SQL schema: values within the declared types
            feats = conform_table(feats, declared)
        if feats is not None and len(feats.columns):
            df = pd.concat([df, feats.reset_index(drop=True)], axis=1)
        order = schema.graph.nodes[name].get("column_order") if name in schema.graph else None
        if order:
            df = df[[c for c in order if c in df.columns] + [c for c in df.columns if c not in order]]
        fk_map = {
            fk.columns[0]: fk.parent
            for fk in spec.foreign_keys
            if len(fk.columns) == 1 and fk.parent_columns[0] == schema.tables[fk.parent].pkey_col
        }
        out[name] = Table(name, df, spec.pkey_col, fk_map, spec.time_col, spec.kind)
    trace = Trace(
        schema_graph=schema.graph,
        layout=schema.layout,
        hsbm={f"{c}.{k}": s.hsbm for (c, k), s in fks.samples.items() if s.hsbm is not None},
        scm=features.scm,
    )
    return Database(out, schema.val_timestamp, schema.test_timestamp, trace, schema, seed)


def generate(
    config: Config | None = None,
    seed: int = 0,
    *,
    schema: Schema | None = None,
    processes: int | None = None,
    budget: Stage3Budget = COMMAND_LINE_BUDGET,
) -> Database:
    """Generate one database.

    Stage 1 samples the schema from ``config.schema`` (unless ``schema`` is given, e.g.
    from a SQL import), Stage 2 the foreign keys from ``config.connectivity``, Stage 3 the
    features from ``config.features`` and ``config.postprocess``. Same config + seed ⇒
    identical database, in any process.

    Parameters
    ----------
    config : Config, optional
        The priors; ``None`` is ``Config()``, the paper's.
    seed : int, default 0
        Every random draw of the three stages derives from it.
    schema : Schema, optional
        Use this schema instead of Stage 1 (e.g. :func:`plurel_core.sql.schema_from_sql`).
    processes : int, optional
        Where Stage 3's tables run, as in :func:`~plurel_core.stage3.sample_features`: by
        default in this process, or on the workers of an enclosing
        :func:`~plurel_core.workers.using_table_workers` block; ``n >= 1`` on ``n`` shared
        table workers.
    budget : Stage3Budget, default COMMAND_LINE_BUDGET
        Refuse, before Stage 3, a table whose SCM could need more memory than
        ``budget.max_table_bytes`` (4 GiB by default) or a database whose Stage 3 could
        take more than ``budget.max_work`` multiply-adds (unlimited by default).

    Returns
    -------
    Database
        Tables (``db.tables[name].df``), cut-offs and the trace of every stage.

    Raises
    ------
    ConfigError
        The config is not valid (every problem listed).
    BudgetError
        Before Stage 3, when it could exceed ``budget``
        (:func:`~plurel_core.budget.check_stage3`).
    SchemaError
        A given schema the stages cannot fill (e.g. a one-to-one key with more child rows
        than parent rows).
    """
    config = (config or Config()).validate()
    if schema is None:
        schema = sample_schema(config.schema, seed)
    budget.check(schema, config.features)
    # Stage 2 on demand: with table workers, the tables without foreign keys start first
    foreign_keys = functools.cache(lambda: sample_foreign_keys(schema, config.connectivity, seed))
    features = sample_features(
        schema, foreign_keys, config.features, config.postprocess, seed, processes=processes
    )
    return assemble(schema, foreign_keys(), features, seed)
