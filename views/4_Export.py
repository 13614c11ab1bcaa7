"""Export: download the current database and the priors that made it."""

from __future__ import annotations

import functools

import streamlit as st

from explorer import state
from explorer.downloads import DOWNLOADS, download_bytes
from explorer.sidebar import config_bundle_text
from explorer.stages import current_database
from explorer.ui import run_or_report

st.title("Export")
st.caption(
    "Download the database generated from the current priors and seed, or the priors themselves. "
    "The config bundle (config JSON + seed, and the SQL schema if one is used) regenerates exactly this "
    "database (`plurel_core.export.regenerate`, or the sidebar's config loader)."
)

db = run_or_report(current_database)
summary = db.summary()
st.markdown(
    f"Seed **{state.get_seed()}**, preset **{state.get_preset()}**: {summary['tables']} tables, "
    f"{summary['rows']:,} rows, {summary['feature_columns']} feature columns, {summary['foreign_keys']} foreign keys."
)
cfg = state.get_config()
sql = state.get_sql()
stem = f"plurel_seed{state.get_seed()}"
st.subheader("Database")
cols = st.columns(3)
for i, (fmt, (label, suffix, mime, helptext)) in enumerate(DOWNLOADS.items()):
    cols[i % 3].download_button(
        label,
        data=functools.partial(download_bytes, db, fmt, cfg, sql[1] if sql else None),
        file_name=stem + suffix,
        mime=mime,
        help=helptext + " Built when you click.",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        key=f"dl_{fmt}",
    )
st.subheader("Priors")
st.download_button(
    "Config bundle (JSON + seed)",
    data=config_bundle_text(),
    file_name=f"{stem}_config.json",
    mime="application/json",
    on_click="ignore",
    icon=":material/download:",
    key="dl_config",
)
with st.expander("Config bundle"):
    st.code(config_bundle_text(), language="json")
