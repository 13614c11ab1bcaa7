"""Per-column, per-table and per-foreign-key statistics of generated databases, defined as
the reference statistics in ``tests/data/reference`` are (see its README), so the two can
be compared distribution against distribution."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from plurel_core.database import Database


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0: all equal)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float(np.dot(2 * np.arange(1, n + 1) - n - 1, x) / (n * total))


def _numeric_column(s: pd.Series) -> dict:
    v = s.to_numpy(dtype=np.float64)
    finite = v[np.isfinite(v)]
    values, counts = np.unique(finite, return_counts=True)
    return {
        "kind": "num",
        "nan": float(np.isnan(v).mean()),
        "uniq_frac": len(values) / max(1, len(finite)),
        "top_share": counts.max() / len(finite) if len(finite) else 1.0,
        "std": float(finite.std()) if len(finite) else 0.0,
    }


def _mean_abs_spearman(df: pd.DataFrame, cols: list[str]) -> float:
    """Mean |Spearman| over the pairs of ``cols`` (pairwise complete rows; NaN if < 2)."""
    if len(cols) < 2:
        return np.nan
    corr = df[cols].astype(np.float64).rank().corr().to_numpy()
    upper = np.abs(corr[np.triu_indices(len(cols), 1)])
    upper = upper[np.isfinite(upper)]
    return float(upper.mean()) if len(upper) else np.nan


def scm_column_order(db: Database, table: str) -> list[str]:
    """The feature columns of ``table`` in the order of their SCM nodes: the order in which
    the reference writes a table's columns (it adds them by sorted column node), so its
    first column of a kind is the one with the lowest node (the most upstream one in the
    layouts that number nodes from the sources down)."""
    cols = db.tables[table].feature_cols
    scm = db.trace.scm.get(table)
    if scm is None:
        return list(cols)
    nodes = scm.details["column_nodes"]
    return sorted(cols, key=lambda c: nodes.get(c, math.inf))


def describe(dbs: list[Database]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(columns, tables, foreign keys) statistics of ``dbs``, one row each; a column's
    ``table`` numbers its table across ``dbs``. A table's columns are listed in the order
    of their SCM nodes, as the reference lists them (:func:`scm_column_order`)."""
    cols, tables, fks = [], [], []
    number = 0
    for db in dbs:
        for name, table in db.tables.items():
            number += 1
            df = table.df
            numeric = []
            for c in scm_column_order(db, name):
                s = df[c]
                if pd.api.types.is_bool_dtype(s):
                    p = float(s.mean())
                    cols.append({"table": number, "kind": "bool", "minority": min(p, 1 - p)})
                elif pd.api.types.is_float_dtype(s):
                    cols.append({"table": number, **_numeric_column(s)})
                    numeric.append(c)
                else:
                    cols.append({"table": number, "kind": "cat"})
            tables.append({"type": table.kind, "mean_abs_spearman": _mean_abs_spearman(df, numeric)})
            for fk, parent in table.fkey_col_to_pkey_table.items():
                parent_rows = len(db.tables[parent].df)
                refs = pd.to_numeric(df[fk], errors="coerce").dropna().to_numpy(dtype=np.int64)
                counts = np.bincount(refs, minlength=parent_rows)
                fks.append(
                    {"gini": gini(counts), "unref": float((counts == 0).mean()), "maxdeg": int(counts.max())}
                )
    return pd.DataFrame(cols), pd.DataFrame(tables), pd.DataFrame(fks)


def number_reference_tables(cols: pd.DataFrame) -> pd.DataFrame:
    """The reference's column statistics with a ``table`` number: its rows list the
    columns table by table, so a table is a run of rows with one (seed, table type, rows)."""
    key = cols[["seed", "table_type", "rows"]]
    starts = (key != key.shift()).any(axis=1)
    return cols.assign(table=starts.cumsum())


def first_per_table(cols: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The first column of ``kind`` of every table: one value per table, so the values of
    a statistic are independent draws (columns of one table are not: they share its rows,
    its NaN share and its SCM), as a two-sample test needs. Both sides list a table's
    columns by SCM node, so the first is the same kind of column on both."""
    return cols[cols["kind"] == kind].groupby("table", sort=False).head(1)


def encoder_output_scale(out: np.ndarray) -> tuple[float | None, int]:
    """(scale, constant outputs) of one encoder's (rows, d) output: the mean over its
    varying outputs of log10 of the output's standard deviation over the rows (float64
    arithmetic; None when no output varies), and how many outputs are the same on every row."""
    varying = np.ptp(out, axis=0) > 0
    if not varying.any():
        return None, int(out.shape[1])
    std = out[:, varying].astype(np.float64).std(axis=0)
    return float(np.mean(np.log10(std))), int((~varying).sum())
