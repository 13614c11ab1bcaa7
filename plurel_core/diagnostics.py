"""Warnings about degenerate output of one database, each pointing to the prior behind it.

Before generating thousands of databases from a prior, a careful user wants to know
whether it produces columns that carry no information, foreign keys that ignore most
parents, or tables that never see their parents' features. :func:`diagnose` checks one
database and returns :class:`Diagnostic` records naming the table, the column and the
dotted config path (e.g. ``features.activations``) that most likely causes each problem;
:func:`diagnostics_markdown` renders them for a panel or a terminal.

Thresholds are module constants so the app can show them next to the warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .database import Database, SCMTrace
from .mechanisms import ACTIVATIONS
from .stats import (
    MAX_CORR_ROWS,
    column_kind,
    cross_table_correlations,
    feature_columns,
    fk_children_per_parent,
    nan_corr,
    numeric_matrix,
    spec_columns,
)

__all__ = [
    "Diagnostic",
    "diagnose",
    "diagnostics_markdown",
    "NEAR_CONSTANT_SHARE",
    "DOMINANT_CLASS_SHARE",
    "EXTREME_MAGNITUDE",
    "NEAR_DUPLICATE_CORR",
    "UNREFERENCED_SHARE",
    "HANDFUL_PARENTS",
    "HANDFUL_SHARE",
]

NEAR_CONSTANT_SHARE = 0.99  # a numerical column whose most common value covers more rows
DOMINANT_CLASS_SHARE = 0.99  # a boolean/categorical column whose top class covers more rows
EXTREME_MAGNITUDE = 1e6  # |value| above this in a numerical column
NEAR_DUPLICATE_CORR = 0.999  # |Pearson r| above this between two numerical columns of a table
UNREFERENCED_SHARE = 0.9  # an FK leaving more of its parent rows unreferenced
HANDFUL_PARENTS = 5  # an FK whose children all land on at most this many parent rows ...
HANDFUL_SHARE = 0.95  # ... (this share of the children, when the parent has many more rows)
MIN_ROWS = 20  # tables with fewer rows are too small to judge shares and correlations
MIN_SIGNAL_ROWS = 100  # ... and tables with fewer rows too small to tell weak signal from none

Severity = Literal["warning", "info"]
_SEVERITY_ORDER = {"warning": 0, "info": 1}


@dataclass(frozen=True)
class Diagnostic:
    """One warning: where it is (``table``, ``column`` or None) and the prior likely behind it.

    ``prior`` is a dotted config path (``Config.get`` accepts it) or None when no single
    prior explains the problem.
    """

    severity: Severity
    table: str
    column: str | None
    message: str
    prior: str | None = None


# -- blame: which prior is likely behind a column's shape -------------------------------


def _column_node(scm: SCMTrace | None, column: str) -> dict[str, Any] | None:
    if scm is None or scm.graph is None:
        return None
    for _, data in scm.graph.nodes(data=True):
        if data.get("column") == column:
            return data
    return None


def _activation_names(node: dict[str, Any]) -> set[str]:
    acts = node.get("activations") or ()
    names: set[str] = set()
    for a in acts.values() if isinstance(acts, dict) else acts:
        if isinstance(a, str):
            names.add(a)
        elif isinstance(a, (list, tuple)):
            names.update(x for x in a if isinstance(x, str))
    return names


def _blame_flat_column(db: Database, table: str, column: str) -> str:
    """The prior most likely behind a constant or near-constant column, read off the trace."""
    node = _column_node(db.trace.scm.get(table), column)
    if node is None:
        return "features.activations"
    if node.get("is_source") or node.get("kind") == "source":
        return "features.source_scales"
    if any(ACTIVATIONS.has(name, "saturating") for name in _activation_names(node)):
        return "features.activations"
    if node.get("aggregation") == "product":
        return "features.aggregations"
    return "features.activations"


def _blame_dominant_class(db: Database, table: str, column: str) -> str:
    spec = spec_columns(db.schema.tables.get(table)).get(column)
    series = db.tables[table].df[column]
    if pd.api.types.is_bool_dtype(series.dtype) and spec is not None and spec.num_categories > 2:
        # value > 0 makes every category but the first True
        return "postprocess.binarize_categoricals"
    scm = db.trace.scm.get(table)
    if scm is not None and scm.propagation == "type_eager":
        # an argmax decoder easily collapses onto one category
        return "features.propagation_modes"
    return _blame_flat_column(db, table, column)


def _blame_extreme(db: Database, table: str, column: str) -> str:
    scm = db.trace.scm.get(table)
    columns = scm.details.get("columns", {}) if scm is not None and isinstance(scm.details, dict) else {}
    info = columns.get(column) if isinstance(columns, dict) else None
    if isinstance(info, dict) and info.get("transform") == "identity":
        # the other transforms squash large values; identity passes the decoder's output on
        return "postprocess.transforms"
    return "features.activation_clamp"


def _blame_fk(db: Database, child: str, fk_name: str, kind: str) -> str:
    hsbm = db.trace.hsbm.get(f"{child}.{fk_name}")
    if kind == "unreferenced":
        if hsbm is not None and any(
            p > c for p, c in zip(hsbm.parent_clusters, hsbm.child_clusters, strict=False)
        ):
            # parent clusters no child cluster is aligned with get only off-diagonal draws
            return "connectivity.parent_clusters"
        return "schema.activity_rows" if db.tables[child].kind == "activity" else "schema.entity_rows"
    return "connectivity.levels"


# -- the checks -------------------------------------------------------------------------


def _top_share(series: pd.Series) -> tuple[Any, float]:
    counts = series.value_counts(dropna=True)
    if counts.empty:
        return None, 0.0
    return counts.index[0], float(counts.iloc[0] / counts.sum())


def _fmt_value(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return repr(v.item() if isinstance(v, np.generic) else v)


def _column_checks(db: Database, table: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    df = db.tables[table].df
    specs = spec_columns(db.schema.tables.get(table))
    numeric: list[str] = []
    for col in feature_columns(db, table):
        s = df[col]
        kind = column_kind(s, specs.get(col))
        n_valid = int(s.notna().sum())
        n_unique = s.nunique(dropna=True)
        if n_unique <= 1:
            what = (
                "only missing values"
                if n_unique == 0
                else f"the single value {_fmt_value(s.dropna().iloc[0])}"
            )
            out.append(
                Diagnostic(
                    "warning",
                    table,
                    col,
                    f"constant column: {what}; it carries no information.",
                    _blame_flat_column(db, table, col),
                )
            )
            continue
        if n_valid < MIN_ROWS:
            continue
        if kind == "numerical":
            numeric.append(col)
            value, share = _top_share(s)
            if share > NEAR_CONSTANT_SHARE:
                out.append(
                    Diagnostic(
                        "warning",
                        table,
                        col,
                        f"near-constant column: {share:.1%} of its values are {_fmt_value(value)}.",
                        _blame_flat_column(db, table, col),
                    )
                )
            peak = float(np.nanmax(np.abs(s.to_numpy(dtype=np.float64, na_value=np.nan))))
            if peak > EXTREME_MAGNITUDE:
                out.append(
                    Diagnostic(
                        "warning",
                        table,
                        col,
                        f"extreme magnitude: |value| reaches {peak:.3g} (> {EXTREME_MAGNITUDE:.0e}).",
                        _blame_extreme(db, table, col),
                    )
                )
        elif kind in ("boolean", "categorical"):
            value, share = _top_share(s)
            if share > DOMINANT_CLASS_SHARE:
                out.append(
                    Diagnostic(
                        "warning",
                        table,
                        col,
                        f"one dominant class: {share:.1%} of the rows are {_fmt_value(value)}.",
                        _blame_dominant_class(db, table, col),
                    )
                )
    out.extend(_near_duplicates(db, table, numeric))
    spec = db.schema.tables.get(table)
    if spec is not None:
        for c in spec.columns:
            if c.name not in df.columns:
                out.append(
                    Diagnostic(
                        "info",
                        table,
                        c.name,
                        "column removed by binarisation: after value > 0 it held a single value.",
                        "postprocess.binarize_categoricals",
                    )
                )
    return out


def _near_duplicates(db: Database, table: str, cols: list[str]) -> list[Diagnostic]:
    if len(cols) < 2:
        return []
    x = numeric_matrix(db.tables[table].df, cols, MAX_CORR_ROWS)
    r = nan_corr(x, x)
    out = []
    ii, jj = np.nonzero(np.triu(np.abs(np.nan_to_num(r)) > NEAR_DUPLICATE_CORR, k=1))
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        out.append(
            Diagnostic(
                "warning",
                table,
                cols[j],
                f"near-duplicate of {cols[i]} (Pearson r = {r[i, j]:+.4f}).",
                "features.column_node_frac",
            )
        )
    return out


def _fk_checks(db: Database) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for child, fk, counts in fk_children_per_parent(db):
        n_parent = len(counts)
        n_referencing = int(counts.sum())
        if n_parent < MIN_ROWS or n_referencing < MIN_ROWS:
            continue
        unreferenced = float(np.mean(counts == 0))
        where = f"foreign key {fk.name} → {fk.parent}"
        if unreferenced > UNREFERENCED_SHARE:
            out.append(
                Diagnostic(
                    "warning",
                    child,
                    fk.name,
                    f"{where}: {unreferenced:.1%} of the {n_parent} parent rows are never referenced.",
                    _blame_fk(db, child, fk.name, "unreferenced"),
                )
            )
        top = np.sort(counts)[::-1][:HANDFUL_PARENTS]
        share = float(top.sum() / n_referencing)
        if n_parent > 4 * HANDFUL_PARENTS and share >= HANDFUL_SHARE:
            hit = int(np.count_nonzero(top))
            out.append(
                Diagnostic(
                    "warning",
                    child,
                    fk.name,
                    f"{where}: {share:.1%} of the {n_referencing} child rows point at only {hit} of the "
                    f"{n_parent} parent rows.",
                    _blame_fk(db, child, fk.name, "handful"),
                )
            )
    return out


def _signal_checks(db: Database) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for name, table in db.tables.items():
        n = len(table.df)
        if n < MIN_SIGNAL_ROWS:
            continue
        corr = cross_table_correlations(db, name)
        vals = corr.to_numpy()
        pairs = int(np.isfinite(vals).sum())
        if pairs == 0:
            continue
        # Independent columns give r ~ N(0, 1/n); the largest |r| of m pairs is then about
        # sqrt(2 ln 2m / n). One standard error above that, a table with no signal
        # stays below the floor, and a real dependence rises above it.
        floor = max(0.05, (np.sqrt(2 * np.log(2 * pairs)) + 1) / np.sqrt(min(n, MAX_CORR_ROWS)))
        best = float(np.nanmax(vals))
        if best < floor:
            parents = sorted({c.split("→", 1)[1].split(".", 1)[0] for c in corr.columns})
            out.append(
                Diagnostic(
                    "warning",
                    name,
                    None,
                    f"no cross-table signal: no numerical/boolean column correlates with a feature of "
                    f"{', '.join(parents)} (max |r| = {best:.3f} < {floor:.3f}).",
                    "features.activations",
                )
            )
    return out


def diagnose(db: Database) -> list[Diagnostic]:
    """Every warning for ``db``: warnings before infos, then in table and column order.

    Checks: constant and near-constant columns; columns removed by binarisation; boolean or
    categorical columns with one class above 99 %; numerical columns with |value| > 1e6 or
    near-duplicates (|r| > 0.999); foreign keys leaving > 90 % of parent rows unreferenced
    or sending ≥ 95 % of children to ≤ 5 parent rows; tables whose columns never correlate
    with any parent feature.
    """
    found: list[Diagnostic] = []
    for name in db.tables:
        found.extend(_column_checks(db, name))
    found.extend(_fk_checks(db))
    found.extend(_signal_checks(db))
    order = {name: i for i, name in enumerate(db.tables)}
    return sorted(found, key=lambda d: (_SEVERITY_ORDER[d.severity], order.get(d.table, len(order))))


def _md_escape(text: str) -> str:
    # table and column names come from user schemas: show them literally
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


def diagnostics_markdown(diagnostics: list[Diagnostic]) -> str:
    """Markdown bullet list of ``diagnostics`` (one line each), or a one-line all-clear."""
    if not diagnostics:
        return "No problems found."
    lines = []
    for d in diagnostics:
        icon = "⚠️" if d.severity == "warning" else "ℹ️"
        where = d.table if d.column is None else f"{d.table}.{d.column}"
        prior = f" — prior: `{d.prior}`" if d.prior else ""
        lines.append(f"- {icon} **{_md_escape(where)}**: {_md_escape(d.message)}{prior}")
    return "\n".join(lines)
