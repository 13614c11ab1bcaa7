"""Stage 1: the schema as a DAG of tables.

The schema DAG comes from one of the layouts in :mod:`plurel_core.graphs`; an edge
``parent → child`` is a foreign key of the child. Sinks of the DAG (out-degree 0) are
**activity** tables (many time-stamped rows), all other tables are **entity** tables.
Every draw comes from ``stream(seed, "schema", ...)``: the graph, each table and the time
window use their own streams, so e.g. changing the column prior leaves the graph as it is.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd

from .config import SchemaPriors, sample_range, sample_set
from .database import PKEY_COL, TIME_COL, ColumnSpec, ForeignKeySpec, Schema, TableSpec
from .errors import PriorError
from .graphs import random_dag
from .rng import stream

__all__ = ["sample_schema", "sample_power_law", "sample_time_window", "table_name", "fk_column"]


def table_name(i: int) -> str:
    """Name of the table at position ``i`` of the topological order."""
    return f"table_{i}"


def fk_column(j: int) -> str:
    """Name of a child's ``j``-th foreign-key column (parents in sorted order)."""
    return f"foreign_row_{j}"


def sample_power_law(
    rng: np.random.Generator, lo: int, hi: int, exponent: float, size: int | tuple[int, ...] | None = None
) -> int | np.ndarray:
    """Integers from the truncated power law ``P(k) ∝ k^-exponent`` on ``lo..hi`` (inclusive).

    ``exponent = 0`` is uniform; larger exponents put more mass on small ``k``. Returns an
    ``int`` when ``size`` is None, else an int64 array of that shape.
    """
    if isinstance(lo, bool) or not isinstance(lo, (int, np.integer)) or lo < 1:
        raise ValueError(f"lo: got {lo!r}; expected an integer >= 1")
    if isinstance(hi, bool) or not isinstance(hi, (int, np.integer)) or hi < lo:
        raise ValueError(f"hi: got {hi!r}; expected an integer >= lo ({lo})")
    if not math.isfinite(exponent) or exponent < 0:
        raise ValueError(f"exponent: got {exponent!r}; expected a finite number >= 0")
    support = np.arange(lo, hi + 1)
    # log-space weights: stable for wide supports and large exponents
    logw = -exponent * np.log(support)
    prob = np.exp(logw - logw.max())
    prob /= prob.sum()
    draws = rng.choice(support, size=size, p=prob)
    return int(draws) if size is None else draws.astype(np.int64)


def sample_time_window(
    rng: np.random.Generator, start: str, end: str, val_frac: float, test_frac: float
) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """``(t0, t1, val, test)``: two distinct days uniform on ``start..end`` (sorted), and the
    days ``val_frac`` / ``test_frac`` of the way from ``t0`` to ``t1`` (floored to the day)."""
    first = pd.Timestamp(start).normalize()
    last = pd.Timestamp(end).normalize()
    num_days = (last - first).days + 1
    if num_days < 2:
        raise PriorError(
            f"time window: got {start!r}..{end!r} ({max(num_days, 0)} day(s)); "
            "it must span at least 2 distinct days"
        )
    i, j = np.sort(rng.choice(num_days, size=2, replace=False))
    t0 = first + pd.Timedelta(days=int(i))
    t1 = first + pd.Timedelta(days=int(j))
    span = int(j - i)
    val = t0 + pd.Timedelta(days=math.floor(val_frac * span))
    test = t0 + pd.Timedelta(days=math.floor(test_frac * span))
    return t0, t1, val, test


def _columns(rng: np.random.Generator, priors: SchemaPriors) -> tuple[ColumnSpec, ...]:
    """Feature columns: count from the power law, each categorical with ``categorical_prob``."""
    lo, hi = priors.num_cols
    num_cols = sample_power_law(rng, lo, hi, priors.num_cols_exponent)
    categorical = rng.random(num_cols) < priors.categorical_prob
    cat_lo, cat_hi = priors.num_categories
    categories = rng.integers(cat_lo, cat_hi + 1, size=num_cols)
    return tuple(
        ColumnSpec(f"feature_{i}", "categorical", num_categories=int(categories[i]))
        if categorical[i]
        else ColumnSpec(f"feature_{i}", "numerical")
        for i in range(num_cols)
    )


def sample_schema(priors: SchemaPriors, seed: int) -> Schema:
    """Stage 1: sample a schema from ``priors``.

    ``num_tables ~ U(num_tables)`` and a layout ``~ U(layouts)`` give the schema DAG (see
    :func:`plurel_core.graphs.random_dag`); table ``table_i`` is node ``i``, so tables come
    in topological order. Sinks are activity tables with ``U(activity_rows)`` rows and a
    ``date`` column; the rest are entity tables with ``U(entity_rows)`` rows. Each table
    has the primary key ``row_idx``, one foreign key ``foreign_row_j`` per parent (parents
    sorted by position) and feature columns ``feature_0..`` (see :func:`sample_power_law`).

    Parameters
    ----------
    priors : SchemaPriors
        The Stage-1 priors (``config.schema``).
    seed : int
        The database's seed.

    Returns
    -------
    Schema
        Tables (kinds, rows, columns, keys), the schema DAG and the time window.
    """
    g_rng = stream(seed, "schema", "graph")
    num_tables = sample_range(g_rng, priors.num_tables)
    layout = sample_set(g_rng, priors.layouts)
    dag = random_dag(layout, num_tables, g_rng, priors.layout, priors.layout.edge_weight_dists)

    t0, t1, val, test = sample_time_window(
        stream(seed, "schema", "time"), priors.time_start, priors.time_end, priors.val_frac, priors.test_frac
    )

    tables: dict[str, TableSpec] = {}
    graph = nx.MultiDiGraph(layout=layout, weight_dist=dag.graph["weight_dist"])
    for i in range(num_tables):
        name = table_name(i)
        rng = stream(seed, "schema", "table", name)
        activity = dag.out_degree(i) == 0
        num_rows = sample_range(rng, priors.activity_rows if activity else priors.entity_rows)
        columns = _columns(rng, priors)
        parents = sorted(dag.predecessors(i))
        fks = tuple(
            ForeignKeySpec(columns=(fk_column(j),), parent=table_name(p), parent_columns=(PKEY_COL,))
            for j, p in enumerate(parents)
        )
        tables[name] = TableSpec(
            name=name,
            kind="activity" if activity else "entity",
            num_rows=num_rows,
            pkey_col=PKEY_COL,
            foreign_keys=fks,
            columns=columns,
            time_col=TIME_COL if activity else None,
        )
        graph.add_node(name, kind=tables[name].kind, num_rows=num_rows, num_cols=len(columns))
        # parents come earlier in the topological order, so their nodes already exist
        for p, fk in zip(parents, fks, strict=True):
            graph.add_edge(fk.parent, name, key=fk.name, columns=fk.columns, weight=dag.edges[p, i]["weight"])

    return Schema(
        tables=tables,
        graph=graph,
        layout=layout,
        t0=t0,
        t1=t1,
        val_timestamp=val,
        test_timestamp=test,
    )
