"""Stage 1 · Schema: the DAG of tables, their kinds, sizes and columns."""

from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.compare_views import draw_schema_comparison
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
    schema_source_picker,
    short_count,
    view_select,
)
from plurel_core.viz import (
    SCHEMA_LEGEND,
    fit_height,
    schema_graph_data,
    schema_graph_html,
    schema_table_frame,
)

st.title("Stage 1 · Schema")
st.caption(
    "The schema is a DAG of tables drawn from a layout: an edge parent → child is a foreign key. "
    "Tables nobody points to (sinks) are **activity** tables — many time-stamped rows; all others are "
    "**entity** tables."
)

controls, view = st.columns([1, 2.7], gap="medium")
with controls:
    schema_source_picker()
    imported = state.get_sql() is not None
    stage_controls(["schema"], sql=imported, expanded=["Tables and rows"] + ([] if imported else ["Columns"]))

with view:
    diagnostics = diagnostics_slot()  # filled last: the schema draws first
    schema = run_or_report(current_schema)
    frame = schema_table_frame(schema)
    n_fk = len(schema.foreign_keys())
    m = st.columns(5)
    m[0].metric("Tables", len(schema.tables))
    n_entity, n_activity = int((frame["kind"] == "entity").sum()), int((frame["kind"] == "activity").sum())
    m[1].metric("Entity/activity", f"{n_entity}/{n_activity}")
    m[2].metric("Foreign keys", n_fk)
    rows = int(frame["rows"].sum())
    m[3].metric("Rows", short_count(rows), help=f"{rows:,} rows in all tables")
    m[4].metric(
        "Sampled cols",
        int(frame["feature columns"].sum()),
        help="Feature columns as Stage 1 samples them. Post-processing can drop some (a binarised "
        "categorical column that ends up constant), so the generated database, counted on the Home "
        "and Export pages, may have fewer.",
    )
    draw_schema_comparison()  # A beside B when A is pinned
    source = "imported from SQL" if schema.source == "sql" else f"layout **{schema.layout}**"
    st.markdown(
        f"**Schema DAG** ({source}) — parents left of children; hover a table for its columns, types and rows."
    )
    height = fit_height(schema_graph_data(schema)[0])
    graph_frame(schema_graph_html(schema, height=height, script_src=graph_script_src()), height)
    legend(SCHEMA_LEGEND)
    st.caption(
        f"Time window {schema.t0.date()} → {schema.t1.date()}; validation cut-off {schema.val_timestamp.date()}, "
        f"test cut-off {schema.test_timestamp.date()}."
    )
    # only the open tab runs: the rows preview needs all three stages
    tab_tables, tab_rows = st.tabs(["Tables", "Rows preview"], key="schema_tabs", on_change="rerun")
    if tab_tables.open:
        with tab_tables:
            st.dataframe(
                frame,
                hide_index=True,
                width="stretch",
                # a table with several parents lists them all instead of cutting the cell off
                column_config={"parents": st.column_config.TextColumn("parents", width="large")},
            )
    if tab_rows.open:
        with tab_rows:
            table = view_select("Table", list(schema.tables), "table")
            db = run_or_report(lambda: current_table_database(table))  # only what this table needs
            preview_banner()
            df = db.tables[table].df
            st.caption(f"First 200 of {len(df):,} rows of {md_escape(table)} (all three stages).")
            st.dataframe(df.head(200), width="stretch")

# needs all three stages (cached); skipped above the size limit
draw_diagnostics("schema", diagnostics)
