"""Export: download the current database and the priors that made it."""

from __future__ import annotations

import functools
import re

import streamlit as st

from explorer import state
from explorer.downloads import DOWNLOADS, download_bytes, file_stem
from explorer.sidebar import config_bundle_text
from explorer.stages import current_database
from explorer.ui import md_escape, preview_banner, run_or_report
from explorer.urlstate import MAX_SEED
from plurel_core.config import PRESETS, Config
from plurel_core.corpus import FORMATS, corpus_command_line

CONFIG_FILE = "plurel-config.json"

st.title("Export")
st.caption(
    "Download the database generated from the current priors and seed, or the priors themselves. "
    "The config bundle (config JSON + seed, and the SQL schema if one is used) regenerates exactly this "
    "database (`plurel_core.export.regenerate`, or the sidebar's config loader)."
)

cfg = state.get_config()
sql = state.get_sql()
stem = file_stem(cfg, state.get_seed(), sql[1] if sql else None)
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


# -- a corpus from the same priors ---------------------------------------------------------


def _sql_file_name(name: str) -> str:
    """A plain file name for the schema's SQL (the name may come from an upload)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip("._-")[:60] or "schema"
    return stem + ".sql"


st.subheader("Corpus")
st.caption(
    "The same priors on the command line: `python -m plurel_core corpus` writes one database per seed "
    "(seeds *first seed* … *first seed + N − 1*) into the output folder, plus a manifest. It starts a "
    "local Dask cluster (one worker process per core) by default; `--scheduler` runs it on an existing "
    "Dask cluster instead. Rerunning the same command resumes: complete databases are kept, missing or "
    "partial ones are regenerated."
)
# a preset name is shorter than a file; the session's own preset is tried first
preset = next(
    (
        n
        for n in dict.fromkeys([state.get_preset(), *PRESETS])
        if n in PRESETS and not Config.preset(n).diff(cfg)
    ),
    None,
)
is_preset = preset is not None
opts = st.columns([1, 1, 1, 2])
num_dbs = opts[0].number_input(
    "Databases", min_value=1, max_value=1_000_000, value=1024, step=1, key="corpus_num_dbs"
)
fmt = opts[1].selectbox(
    "Format", list(FORMATS), key="corpus_format", help="Format of each database in the corpus."
)
first = opts[2].number_input(
    "First seed",
    min_value=0,
    max_value=MAX_SEED,
    value=state.get_seed(),
    step=1,
    key=f"corpus_first_seed:{state.get_seed()}",
    help="Default: the current seed, so the corpus's first database is the one on this page.",
)
scheduler = opts[3].text_input(
    "Dask scheduler (optional)",
    key="corpus_scheduler",
    placeholder="tcp://host:8786",
    help="Address of an existing Dask cluster; empty: a local cluster.",
)
schema_file = _sql_file_name(sql[0]) if sql else None
command = corpus_command_line(
    preset if preset is not None else CONFIG_FILE,
    int(num_dbs),
    fmt,
    "corpus",
    seed_offset=int(first),
    schema_path=schema_file,
    scheduler=scheduler.strip() or None,
)
cmd_col, files_col = st.columns([3, 1], vertical_alignment="center")
cmd_col.code(command, language="bash", wrap_lines=True)
with files_col:
    if not is_preset:
        st.download_button(
            CONFIG_FILE,
            data=cfg.to_json(),
            file_name=CONFIG_FILE,
            mime="application/json",
            on_click="ignore",
            icon=":material/download:",
            help="The priors the command reads with --config; save it next to where you run the command.",
            width="stretch",
            key="dl_corpus_config",
        )
    if sql is not None and schema_file is not None:
        st.download_button(
            "Schema SQL",
            data=sql[1],
            file_name=schema_file,
            mime="application/sql",
            on_click="ignore",
            icon=":material/download:",
            help=f"{schema_file}: the SQL schema the command reads with --schema.",
            width="stretch",
            key="dl_corpus_sql",
        )
if is_preset:
    st.caption(f"The priors are exactly preset **{md_escape(preset)}**, so no config file is needed.")
else:
    st.caption(
        f"The priors differ from every preset, so the command reads them from **{CONFIG_FILE}**: download "
        "it with the button beside the command into the folder you run it from."
    )


# -- the database itself (last: the priors and the command above never depend on it) -------

st.subheader("Database")
db = run_or_report(current_database)
preview = preview_banner()
summary = db.summary()
sampled = sum(len(spec.columns) for spec in db.schema.tables.values())
dropped = sampled - summary["feature_columns"]
st.markdown(
    ("Row-sampled preview of seed" if preview else "Seed")
    + f" **{state.get_seed()}**, preset **{state.get_preset()}**: {summary['tables']} tables, "
    f"{summary['rows']:,} rows, {summary['feature_columns']} feature columns, {summary['foreign_keys']} foreign keys."
)
if dropped:
    st.caption(
        f"Stage 1 sampled {sampled} feature columns; post-processing dropped {dropped} (binarised categoricals "
        f"left constant), so the files hold {summary['feature_columns']}."
    )
cols = st.columns(3)
for i, (fmt, (label, suffix, mime, helptext)) in enumerate(DOWNLOADS.items()):
    cols[i % 3].download_button(
        label + (" · preview" if preview else ""),
        data=functools.partial(download_bytes, db, fmt, cfg, sql[1] if sql else None),
        file_name=stem + ("_preview" if preview else "") + suffix,
        mime=mime,
        help=helptext + " Built when you click.",
        on_click="ignore",
        icon=":material/download:",
        width="stretch",
        key=f"dl_{fmt}",
    )
