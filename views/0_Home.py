"""Home: what PluRel is, the three stages, and a small example database."""

from __future__ import annotations

import json

import streamlit as st

from explorer import state
from explorer.pages import PAGES
from explorer.stages import cached_database
from explorer.ui import graph_frame, graph_script_src, legend, run_or_report, short_count
from plurel_core.config import Config
from plurel_core.viz import SCHEMA_LEGEND, fit_height, pipeline_dot, schema_graph_data, schema_graph_html

st.title("PluRel Explorer")
st.markdown(
    "**PluRel** synthesizes multi-table relational databases from scratch, so relational foundation "
    "models can be pretrained on many diverse databases instead of scarce private ones "
    "(Kothapalli et al., *PluRel: Synthetic Data unlocks Scaling Laws for Relational Foundation Models*, "
    "2026). A database comes from one integer **seed** plus **priors** — ranges and sets the generator "
    "samples from — in three stages. This explorer lets you tune every prior and see what it does."
)
st.graphviz_chart(pipeline_dot(), width="stretch")

cols = st.columns(3)
cols[0].markdown(
    "**Stage 1 · Schema** — a DAG of tables (entity tables and time-stamped activity tables), rows per "
    "table, feature columns drawn from a power law, numerical or categorical."
)
cols[1].markdown(
    "**Stage 2 · Connectivity** — every foreign-key value from a hierarchical stochastic block model: "
    "child rows prefer parent rows of an aligned cluster (information locality)."
)
cols[2].markdown(
    "**Stage 3 · Features** — one structural causal model per table: source nodes emit time series "
    "or random values, random MLPs propagate them, parent-table features condition the children."
)

st.subheader("A small example")
st.caption(f"Preset `small` with the current seed ({state.get_seed()}).")
small = Config.preset("small").to_dict()
db = run_or_report(
    lambda: cached_database(
        state.get_seed(),
        json.dumps(small["schema"], sort_keys=True),
        "",
        json.dumps(small["connectivity"], sort_keys=True),
        json.dumps(small["features"], sort_keys=True),
        json.dumps(small["postprocess"], sort_keys=True),
    )
)
summary = db.summary()
m = st.columns(5)
m[0].metric(
    "Tables",
    summary["tables"],
    help=f"{summary['entity_tables']} entity, {summary['activity_tables']} activity",
)
m[1].metric("Rows", short_count(summary["rows"]), help=f"{summary['rows']:,} rows in all tables")
m[2].metric(
    "Feature columns",
    summary["feature_columns"],
    help="In the generated database, after post-processing (Stage 1 counts the columns it sampled).",
)
m[3].metric("Foreign keys", summary["foreign_keys"])
m[4].metric("Activity tables", summary["activity_tables"])
left, right = st.columns([3, 2])
with left:
    height = fit_height(schema_graph_data(db.schema)[0], width_px=700, hi=340)
    graph_frame(schema_graph_html(db.schema, height=height, script_src=graph_script_src()), height)
    legend(SCHEMA_LEGEND)
with right:
    first_activity = next(
        (t for t in db.tables.values() if t.kind == "activity"), next(iter(db.tables.values()))
    )
    st.caption(f"First rows of the activity table `{first_activity.name}`")
    st.dataframe(first_activity.df.head(8), width="stretch", hide_index=True)

st.subheader("Where to go next")
links = [p for p in PAGES if p.home_link]
for column, p in zip(st.columns(len(links)), links, strict=True):
    column.page_link(p.file, label=p.home_link, icon=p.icon)
st.caption(
    "Your preset, seed and every changed prior are kept in the page URL: copy it to share exactly this view. "
    "Use the sidebar for presets, seeds, a reset to the paper's priors and config files."
)
