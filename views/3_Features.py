"""Stage 3 · Features: each table's structural causal model and the values it produces."""

from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.compare_views import draw_features_comparison
from explorer.controls import stage_controls
from explorer.diagnostics_panel import diagnostics_slot, draw_diagnostics
from explorer.stages import current_schema, current_table_database
from explorer.ui import (
    graph_frame,
    graph_script_src,
    legend,
    md_escape,
    preview_banner,
    run_or_report,
    view_select,
)
from plurel_core.viz import (
    SCM_LEGEND,
    correlation_frame,
    correlation_heatmap,
    feature_grid_figure,
    scm_graph_page,
    scm_node_counts,
    time_series_figure,
    ts_components_figure,
)

st.title("Stage 3 · Features")
st.caption(
    "Every table gets its own structural causal model (SCM): source nodes emit exogenous values, random MLPs "
    "carry them along the DAG, some nodes become the table's feature columns, and the parent rows each foreign "
    "key points to condition the child's nodes. Changing these priors never changes the schema or the keys."
)

controls, view = st.columns([1, 2.7], gap="medium")
with controls:
    stage_controls(["features", "postprocess"])

with view:
    diagnostics = diagnostics_slot()  # filled last: the SCM and figures draw first
    schema = run_or_report(current_schema)
    table_name = view_select("Table", list(schema.tables), "table")
    # only this table and those it needs: a prior change recomputes no other table
    db = run_or_report(lambda: current_table_database(table_name))
    preview_banner()
    draw_features_comparison(table_name)  # A beside B when A is pinned
    table = db.tables[table_name]
    trace = db.trace.scm.get(table_name)
    if trace is not None:
        counts = scm_node_counts(trace)
        m = st.columns(5)
        m[0].metric("Nodes", counts["nodes"])
        m[1].metric("Sources", counts["sources"], help="Source nodes, including columns that are sources.")
        m[2].metric("Latent", counts["latent"])
        m[3].metric("Column nodes", counts["columns"])
        m[4].metric("Parent inputs", counts["parent_inputs"])
        st.markdown(
            f"**SCM of {md_escape(table_name)}** — layout **{trace.layout}**, propagation "
            f"**{trace.propagation}**, edge weights **{trace.weight_dist}**. Hover a node for its type, "
            "aggregation and activations; click a parent-table node to show its inputs."
        )
        html, height = scm_graph_page(
            trace, parents=db.schema.tables[table_name].parents, script_src=graph_script_src()
        )
        graph_frame(html, height)
        legend(SCM_LEGEND)
    else:
        st.info("No SCM trace for this table (it has no feature columns).")

    # only the open tab runs (each builds several figures)
    labels = ["Feature distributions", "Over time", "ts sources", "Correlations"]
    tab = state.get_view("tab")
    tabs = st.tabs(
        labels,
        key="feature_tabs",
        default=tab if tab in labels else labels[0],
        on_change="rerun",
    )
    shown = next((label for label, t in zip(labels, tabs, strict=True) if t.open), labels[0])
    state.set_view("tab", None if shown == labels[0] else shown)
    features = table.feature_cols
    if tabs[0].open:
        with tabs[0]:
            if not features:
                st.info("This table has no feature columns.")
            shown = features if len(features) <= 12 else features[:12]
            if len(features) > 12:
                shown = st.multiselect(
                    "Columns", features, default=features[:12], key=f"feat_cols:{table_name}"
                )
            if shown:
                st.plotly_chart(feature_grid_figure(table.df, shown), width="stretch", key="feature_grid")
    if tabs[1].open:
        with tabs[1]:
            if table.time_col is None:
                st.info(
                    "Entity tables have no time column: pick an activity table to see features over time."
                )
            else:
                cols = st.multiselect(
                    "Columns over time",
                    features,
                    default=features[:3],
                    key=f"ts_cols:{table_name}",
                    max_selections=6,
                )
                st.plotly_chart(
                    time_series_figure(table.df, table.time_col, cols, db.val_timestamp, db.test_timestamp),
                    width="stretch",
                )
    if tabs[2].open:
        with tabs[2]:
            comps = trace.ts_components if trace is not None else {}
            if not comps:
                st.info("No time-series (ts) source in this table's SCM.")
            else:
                node = st.selectbox("ts source node", list(comps), key=f"ts_src:{table_name}")
                st.plotly_chart(ts_components_figure(comps[node], f"ts source {node}"), width="stretch")
    if tabs[3].open:
        with tabs[3]:
            corr = correlation_frame(db, table_name)
            if corr.shape[0] < 2:
                st.info("Fewer than two varying columns: nothing to correlate.")
            else:
                st.plotly_chart(
                    correlation_heatmap(corr, "Pearson correlation: own features and parents' features"),
                    width="stretch",
                )

# feature-column and table findings first
draw_diagnostics("features", diagnostics)
