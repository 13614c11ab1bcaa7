"""A beside B on the stage pages: the pinned priors (A) and the current ones (B) on the same seed.

Each ``draw_*_comparison`` does nothing without a pinned A; otherwise it draws a bordered
block that names the changed priors, says what stage isolation keeps identical, and shows
both databases on shared axes (figure builders in :mod:`plurel_core.viz.compare`).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

from plurel_core.budget import BudgetError
from plurel_core.database import Database, ForeignKeys, Schema
from plurel_core.stats import STAT_FIELDS, database_stats, fk_cluster_nmi, fk_locality, parent_dependence
from plurel_core.viz import (
    block_link_counts,
    correlation_frame,
    fk_degrees,
    row_cluster_labels,
    schema_graph_html,
)
from plurel_core.viz.compare import block_counts_pair, correlation_pair, degree_overlay, feature_overlay_grid

from . import pinned, state
from .lessons import presenting
from .stages import (
    SizeError,
    StageKeys,
    cached_database,
    cached_foreign_keys,
    cached_schema,
    cached_table_database,
    current_keys,
    keys_for,
    size_problem,
)
from .ui import graph_frame, md_escape, run_or_report

# in a lesson's presentation mode the first chart shares a 1280×720 screen with the
# lesson's banner and controls
PRESENT_CHART_HEIGHT = 240


def _on_screen(fig):
    """``fig``, lowered to :data:`PRESENT_CHART_HEIGHT` in presentation mode."""
    if presenting():
        fig.update_layout(height=PRESENT_CHART_HEIGHT)
    return fig


__all__ = [
    "draw_connectivity_comparison",
    "draw_features_comparison",
    "draw_schema_comparison",
    "database_of",
    "foreign_keys_of",
    "keys_for",
    "pinned_keys",
    "schema_of",
]


def pinned_keys() -> StageKeys | None:
    """The stage cache keys of A on the session's seed (with A's own SQL schema), or None."""
    a = pinned.get_pinned()
    return None if a is None else keys_for(a, pinned.get_pinned_sql())


def schema_of(k: StageKeys) -> Schema:
    """Stage 1 of ``k`` (cached), refused above the size limit like the current database."""
    return _a_schema(k, "")


def foreign_keys_of(k: StageKeys) -> ForeignKeys:
    """Stages 1–2 of ``k`` (cached)."""
    schema_of(k)
    return cached_foreign_keys(k.seed, k.schema, k.sql, k.connectivity)


def database_of(k: StageKeys) -> Database:
    """Stages 1–3 of ``k`` (cached)."""
    schema_of(k)
    return cached_database(k.seed, k.schema, k.sql, k.connectivity, k.features, k.postprocess)


def _a_schema(k: StageKeys, who: str = "A: ") -> Schema:
    schema = cached_schema(k.seed, k.schema, k.sql)
    problem = size_problem(schema)
    if problem:
        raise SizeError(who + problem)
    return schema


def _a_foreign_keys(k: StageKeys) -> ForeignKeys:
    _a_schema(k)
    return cached_foreign_keys(k.seed, k.schema, k.sql, k.connectivity)


def _a_database(k: StageKeys) -> Database:
    _a_schema(k)
    return cached_database(k.seed, k.schema, k.sql, k.connectivity, k.features, k.postprocess)


def _a_table_database(k: StageKeys, table: str) -> Database:
    """A's tables that a view of ``table`` needs (A's schema has ``table``)."""
    _a_schema(k)
    return cached_table_database(
        k.seed, k.schema, k.sql, k.connectivity, k.features, k.postprocess, 1.0, table
    )


def _short(value: object) -> str:
    text = json.dumps(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 40 else text[:39] + "…"


def _header(stage: int) -> tuple[StageKeys, StageKeys] | None:
    """The block's title and the changed priors; ``(A keys, B keys)`` or None without A."""
    a_keys = pinned_keys()
    if a_keys is None:
        return None
    b_keys = current_keys()
    diff = pinned.changed_priors(pinned.get_pinned(), state.get_config())
    sources = pinned.schema_sources(pinned.get_pinned_sql(), state.get_sql())
    st.markdown(f"#### A beside B · seed {b_keys.seed}")
    if not diff and sources is None:
        st.caption("A (pinned) and B (current) have the same priors: change one to compare.")
        return None
    if diff:
        st.caption(
            "Changed priors (A → B): "
            + "; ".join(
                f"`{p}` {md_escape(_short(va))} → **{md_escape(_short(vb))}**" for p, (va, vb) in diff.items()
            )
        )
    if sources is not None:
        st.info(
            f"{sources}: their tables and foreign keys differ. Tables and keys are compared where both have "
            "one of the same name; the database-level statistics compare the whole databases.",
            icon=":material/schema:",
        )
        _database_statistics(a_keys, b_keys)
        return a_keys, b_keys
    same_schema = a_keys.schema == b_keys.schema and a_keys.sql == b_keys.sql
    same_keys = same_schema and a_keys.connectivity == b_keys.connectivity
    if stage == 1 and same_schema:
        st.success("Stage isolation: only Stage-2/3 priors changed, so A and B have this very schema.")
    elif stage == 2 and same_keys:
        st.success("Stage isolation: only Stage-3 priors changed, so A's and B's foreign keys are identical.")
    elif stage == 2 and not same_schema:
        st.info("Stage-1 priors changed too: A and B have different schemas, so their keys differ anyway.")
    elif stage == 3 and same_keys:
        st.success(
            "Stage isolation: A's and B's schema and foreign keys are identical; every difference "
            "below comes from the Stage-3 priors."
        )
    elif stage == 3:
        st.info(
            "Stage-1/2 priors changed too: the tables and keys under the features differ between A and B."
        )
    return a_keys, b_keys


def _database_statistics(a_keys: StageKeys, b_keys: StageKeys) -> None:
    """A's and B's database-level statistics side by side (what two different schemas share)."""
    dbs = {}
    for label, k in (("A", a_keys), ("B", b_keys)):
        try:
            dbs[label] = _a_database(k) if label == "A" else database_of(k)
        except (SizeError, BudgetError, ValueError) as exc:
            st.caption(f"{label}: no database-level statistics here: {md_escape(str(exc)[:300])}")
            return
    stats = {label: database_stats(db) for label, db in dbs.items()}
    rows = []
    for name in STAT_FIELDS:
        a, b = stats["A"].get(name), stats["B"].get(name)
        if name == "generation_seconds" or a is None or b is None:
            continue
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        rows.append(
            {
                "statistic": name,
                "A (pinned)": f"{a:.4g}" if numeric else str(a),
                "B (current)": f"{b:.4g}" if numeric else str(b),
                "B − A": f"{b - a:+.4g}" if numeric else "",
            }
        )
    with st.expander("Database-level statistics, A beside B", expanded=True):
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.caption(
            "The statistics are those of the Sweep page (its 'What the statistics mean' explains them)."
        )


def draw_schema_comparison() -> None:
    """Stage 1: A's and B's schema graphs side by side with their sizes."""
    if pinned.get_pinned() is None:
        return  # nothing pinned: no (empty) A/B box
    with st.container(border=True):
        keys = _header(1)
        if keys is None:
            return
        a_keys, b_keys = keys
        if a_keys.schema == b_keys.schema and a_keys.sql == b_keys.sql:
            return
        schemas = {
            "A (pinned)": run_or_report(lambda: _a_schema(a_keys)),
            "B (current)": cached_schema(b_keys.seed, b_keys.schema, b_keys.sql),
        }
        sizes = pd.DataFrame(
            {
                label: {
                    "tables": len(s.tables),
                    "foreign keys": len(s.foreign_keys()),
                    "rows": sum(t.num_rows for t in s.tables.values()),
                    "layout": s.layout,
                }
                for label, s in schemas.items()
            }
        )
        st.dataframe(sizes.astype(str), width="stretch")
        cols = st.columns(2)
        for col, (label, schema) in zip(cols, schemas.items(), strict=True):
            with col:
                st.markdown(f"**{label}**")
                graph_frame(schema_graph_html(schema, height=340), 340)


def _locality(sample) -> tuple[float, float]:
    hsbm = sample.hsbm
    rows = np.asarray(sample.parent_rows)
    if hsbm is None or len(rows) != len(hsbm.child_base):
        return float("nan"), float("nan")
    ok = rows >= 0
    child_base, parent_base = np.asarray(hsbm.child_base)[ok], np.asarray(hsbm.parent_base)[rows[ok]]
    return fk_locality(hsbm, child_base, parent_base), fk_cluster_nmi(child_base, parent_base)


def draw_connectivity_comparison(fk: str) -> None:
    """Stage 2: the degree distribution of ``fk`` ("child.column") under A and B overlaid,
    and their link counts per HSBM base cluster on one log colour scale."""
    if pinned.get_pinned() is None:
        return  # nothing pinned: no (empty) A/B box
    with st.container(border=True):
        keys = _header(2)
        if keys is None:
            return
        a_keys, b_keys = keys
        a_fks = run_or_report(lambda: _a_foreign_keys(a_keys))
        b_fks = cached_foreign_keys(b_keys.seed, b_keys.schema, b_keys.sql, b_keys.connectivity)
        samples = {}
        for label, fks in (("A", a_fks), ("B", b_fks)):
            samples[label] = next((s for (c, n), s in fks.samples.items() if f"{c}.{n}" == fk), None)
        if samples["A"] is None:
            st.info(f"A's schema has no foreign key {md_escape(fk)}: nothing to compare on this key.")
            return
        schemas = {"A": cached_schema(a_keys.seed, a_keys.schema, a_keys.sql)}
        schemas["B"] = cached_schema(b_keys.seed, b_keys.schema, b_keys.sql)
        degrees = {
            label: fk_degrees(s.parent_rows, schemas[label].tables[s.fk.parent].num_rows)
            for label, s in samples.items()
        }
        summary = {}
        for label, s in samples.items():
            loc, nmi = _locality(s)
            d = degrees[label]
            summary[label] = {
                "unreferenced parents": f"{float(np.mean(d == 0)):.1%}" if len(d) else "–",
                "max children": int(d.max()) if len(d) else 0,
                "links in aligned clusters": "–" if np.isnan(loc) else f"{loc:.1%}",
                "NMI child/parent cluster": "–" if np.isnan(nmi) else f"{nmi:.3f}",
                "HSBM clusters (parent / child)": (
                    f"{list(s.hsbm.parent_clusters)} / {list(s.hsbm.child_clusters)}" if s.hsbm else "–"
                ),
            }
        st.plotly_chart(_on_screen(degree_overlay(degrees)), width="stretch", key=f"ab_degrees:{fk}")
        st.dataframe(pd.DataFrame(summary).astype(str), width="stretch")
        counts = {}
        for label, s in samples.items():
            n_parent = schemas[label].tables[s.fk.parent].num_rows
            if s.hsbm is not None:
                parent_lab, child_lab = s.hsbm.parent_base, s.hsbm.child_base
            else:
                parent_lab = row_cluster_labels(n_parent, None)
                child_lab = row_cluster_labels(len(s.parent_rows), None)
            counts[f"{label} ({'HSBM base clusters' if s.hsbm else 'row bins'})"] = block_link_counts(
                s.parent_rows, parent_lab, child_lab
            )
        st.plotly_chart(block_counts_pair(counts), width="stretch", key=f"ab_blocks:{fk}")


def draw_features_comparison(table: str) -> None:
    """Stage 3: ``table``'s feature columns under A and B (shared bins), the dependence of
    each column on its parents, and both correlation matrices on one scale."""
    if pinned.get_pinned() is None:
        return  # nothing pinned: no (empty) A/B box
    with st.container(border=True):
        keys = _header(3)
        if keys is None:
            return
        a_keys, b_keys = keys
        if table not in run_or_report(lambda: _a_schema(a_keys)).tables:
            st.info(f"A's schema has no table {md_escape(table)}.")
            return
        # only the tables the view of this table needs, under each
        a_db = run_or_report(lambda: _a_table_database(a_keys, table))
        b_db = cached_table_database(
            b_keys.seed,
            b_keys.schema,
            b_keys.sql,
            b_keys.connectivity,
            b_keys.features,
            b_keys.postprocess,
            1.0,
            table,
        )
        a_t, b_t = a_db.tables[table], b_db.tables[table]
        common = [c for c in b_t.feature_cols if c in a_t.df.columns]
        dep = pd.DataFrame({"A": parent_dependence(a_db, table), "B": parent_dependence(b_db, table)})
        if not dep.empty:
            st.markdown("**Dependence on parent features** (adjusted R² per column; ≈0 = independent)")
            st.dataframe(dep.T.style.format("{:.2f}", na_rep="–"), width="stretch")
        if not common:
            st.info("No feature column present under both A and B.")
            return
        shown = common[:6]
        if len(common) > 6:
            shown = st.multiselect("Columns (A beside B)", common, default=common[:6], key=f"ab_cols:{table}")
        st.caption("Grey: A (pinned) · orange: B (current); densities on shared bins.")
        if shown:
            st.plotly_chart(
                feature_overlay_grid({"A": a_t.df, "B": b_t.df}, shown),
                width="stretch",
                key=f"ab_feat:{table}",
            )
        # computed only while open (a closed expander's chart would still be made and sent)
        panel = st.expander("Correlation matrices, A beside B", key="ab_corr_open", on_change="rerun")
        if panel.open:
            corrs = {"A": correlation_frame(a_db, table), "B": correlation_frame(b_db, table)}
            with panel:
                if min(c.shape[0] for c in corrs.values()) >= 2:
                    st.plotly_chart(correlation_pair(corrs), width="stretch", key=f"ab_corr:{table}")
                else:
                    st.info("Fewer than two varying columns in A or B: nothing to correlate.")
