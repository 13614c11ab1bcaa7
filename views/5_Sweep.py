"""Sweep: the distribution the current priors induce over databases, and an A/B comparison."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from explorer import state
from explorer.stages import cached_schema, current_keys, size_problem, stage3_problem
from explorer.ui import md_escape, run_or_report
from plurel_core.config import Config
from plurel_core.stats import STAT_FIELDS
from plurel_core.sweep import COLUMNS, compare, iter_sweep
from plurel_core.viz.sweep_figures import distributions_figure, plottable_stats, scatter_figure

MAX_N = 500
_RESULTS = "sweep_results"  # {(priors JSON, SQL text, offset, n): DataFrame} of finished sweeps
_PARTIAL = "sweep_partial"  # {"key": ..., "records": [...], "total": n} of the last started sweep
_A = "sweep_a"  # {"key", "config", "sql", "frame"}: the sweep kept as A
_KEEP = 8  # finished sweeps kept per session
STAGE_PAGES = (
    ("views/1_Schema.py", "Stage 1 · Schema", "🗂️"),
    ("views/2_Connectivity.py", "Stage 2 · Connectivity", "🔗"),
    ("views/3_Features.py", "Stage 3 · Features", "🧪"),
)
ROOT = Path(__file__).resolve().parent.parent

state.init_state()
ss = st.session_state
ss.setdefault(_RESULTS, {})

st.title("Sweep")
st.caption(
    "One sampled database says little about a prior: PluRel's finding is that the **diversity** of the "
    "databases drives scaling. Generate N databases from the current priors (seeds offset … offset+N-1) "
    "and look at the distribution of their statistics; keep one setting as **A**, change priors on the "
    "stage pages and compare."
)

config: Config = run_or_report(lambda: state.get_config().validate())
sql_pair = state.get_sql()
sql = sql_pair[1] if sql_pair else None

c = st.columns([1, 1, 1, 1.4])
n = int(c[0].number_input("Databases N", 1, MAX_N, 50, step=10, help=f"At most {MAX_N} per sweep."))
offset = int(c[1].number_input("Seed offset", 0, 2**31 - 1 - MAX_N, 0, help="Seeds offset … offset+N-1."))
cpus = os.cpu_count() or 1
workers = int(
    c[2].number_input("Workers", 1, cpus, min(2, cpus), help="Processes generating databases in parallel.")
)
key = (config.to_json(indent=None), sql or "", offset, n)
results: dict = ss[_RESULTS]

with c[3]:
    st.write("")
    run_clicked = st.button(
        "Run sweep",
        type="primary",
        key="sweep_run",
        disabled=key in results,
        help="Finished sweeps are kept for this session, keyed by priors and seeds: "
        "change N, the offset or a prior to run another.",
    )


def _frame(records: list[dict]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame(columns=list(COLUMNS))
    return (
        pd.DataFrame.from_records(records, columns=list(COLUMNS)).sort_values("seed").reset_index(drop=True)
    )


def _run_sweep() -> None:
    k = current_keys()
    first = cached_schema(offset, k.schema, k.sql)
    problem = size_problem(first) or stage3_problem(first, k.features)
    if problem:
        st.error(
            f"Seed {offset}: {problem} Sweeps of large databases belong to `python -m plurel_core sweep`."
        )
        st.stop()
    records: list[dict] = []
    # stored before the first database: a Stop click reruns the page, which then shows these
    ss[_PARTIAL] = {"key": key, "records": records, "total": n}
    bar = st.progress(0.0, text=f"0 / {n} databases")
    st.button(
        "Stop", key="sweep_stop", help="Stop after the databases in progress; the finished ones are kept."
    )
    items = iter_sweep(config, n, offset, workers, schema=sql)
    try:
        for rec in items:
            records.append(rec)
            bar.progress(len(records) / n, text=f"{len(records)} / {n} databases")
    finally:
        items.close()
    results[key] = _frame(records)
    while len(results) > _KEEP:
        results.pop(next(iter(results)))
    ss[_PARTIAL] = None
    st.rerun()  # redraw from the cache: the controls above still show the state before the run


if run_clicked:
    run_or_report(_run_sweep)

df = results.get(key)
partial = ss.get(_PARTIAL)
if df is None and partial and partial["key"] == key and partial["records"]:
    df = _frame(partial["records"])
    st.warning(f"Stopped: {len(df)} of {partial['total']} databases. Run the sweep again for all of them.")
if df is None or df.empty:
    st.info("Run a sweep to see the distribution of the database statistics under the current priors.")


def _pick(seed: int) -> None:
    state.set_seed(int(seed))


def _database_picker(frame: pd.DataFrame, selected: int | None, where: str) -> None:
    """Pick one database of the sweep (preselected by a click in the chart or table)."""
    seeds = frame["seed"].astype(int).tolist()
    pick, last = f"sweep_pick:{where}", f"sweep_clicked:{where}"
    # a new click in the chart/table moves the selectbox; otherwise it keeps the user's choice
    if selected is not None and ss.get(last) != selected:
        ss[pick] = selected
    ss[last] = selected
    if ss.get(pick) not in seeds:
        ss[pick] = seeds[0]
    cols = st.columns([1, 1, 3])
    seed = cols[0].selectbox("Database (seed)", seeds, key=pick)
    current = state.get_seed()
    cols[1].write("")
    cols[1].button(
        "Open this database",
        key=f"sweep_open:{where}",
        on_click=_pick,
        args=(seed,),
        disabled=seed == current,
        help="Sets the app's seed; the stage pages then show this database.",
    )
    if current in seeds:
        with cols[2]:
            st.caption(f"The app's seed is **{current}**. Open it on a stage page:")
            links = st.columns(len(STAGE_PAGES))
            for link, (page, label, icon) in zip(links, STAGE_PAGES, strict=True):
                if (ROOT / page).is_file():
                    link.page_link(page, label=label, icon=icon)


def _column_config(frame: pd.DataFrame) -> dict:
    out = {}
    for name in frame.columns:
        help_text = STAT_FIELDS.get(name, "Seed of the database." if name == "seed" else None)
        if pd.api.types.is_numeric_dtype(frame[name].dtype) and name != "seed":
            fmt = "%d" if pd.api.types.is_integer_dtype(frame[name].dtype) else "%.3f"
            out[name] = st.column_config.NumberColumn(name, help=help_text, format=fmt)
        else:
            out[name] = st.column_config.Column(name, help=help_text)
    return out


def _selected_seed(event, frame: pd.DataFrame, kind: str) -> int | None:
    try:
        if kind == "table":
            rows = event.selection.rows
            return int(frame["seed"].iloc[rows[0]]) if rows else None
        points = event.selection.points
        for p in points:
            cd = p.get("customdata")  # the seed (see scatter_figure)
            if cd is not None:
                return int(cd[0] if isinstance(cd, list) else cd)
            if p.get("point_index") is not None:  # one trace, rows in table order
                return int(frame["seed"].iloc[int(p["point_index"])])
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return None
    return None


def _keep_as_a() -> None:
    ss[_A] = {"key": key, "config": config.to_json(indent=None), "sql": sql, "frame": results[key]}


def _ab_section(df: pd.DataFrame | None) -> None:
    """A kept sweep against the current one (B): changed priors, overlaid distributions, means."""
    a = ss.get(_A)
    st.button(
        "Keep current priors as A",
        disabled=key not in results or (a is not None and a["key"] == key),
        help="Needs a finished sweep. Then change priors on the stage pages, come back and run the sweep (B).",
        on_click=_keep_as_a,
    )
    if a is None:
        st.info("No A yet: keep the current priors as A, then change priors on the stage pages.")
        return
    st.button("Forget A", on_click=lambda: ss.__setitem__(_A, None))
    diff = Config.from_json(a["config"]).diff(config)
    if diff:
        rows = [
            {
                "prior": p,
                "A": json.dumps(list(va) if isinstance(va, tuple) else va),
                "B (current)": json.dumps(list(vb) if isinstance(vb, tuple) else vb),
            }
            for p, (va, vb) in diff.items()
        ]
        st.markdown("**Changed priors** (A → B):")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if (a["sql"] or "") != (sql or ""):
        st.markdown("**Schema source changed** (SQL schema vs Stage-1 priors, or another SQL file).")
    if a["key"] == key:
        st.info("The current priors and seeds are A's. Change priors on the stage pages to get a B.")
        return
    if df is None or df.empty:
        st.info("Run the sweep above for the current priors (B) to compare them with A.")
        return
    a_df = a["frame"]
    a_offset, a_n = a["key"][2], a["key"][3]
    if (a_offset, a_n) != (offset, n):
        st.caption(f"A used seeds {a_offset}…{a_offset + a_n - 1}; B uses {offset}…{offset + n - 1}.")
    stats = [
        s for s in plottable_stats(df, numeric_only=True) if s in plottable_stats(a_df, numeric_only=True)
    ]
    kind = st.radio("Plot", ["histogram", "box"], horizontal=True, key="sweep_ab_kind")
    st.plotly_chart(distributions_figure({"A": a_df, "B": df}, stats, kind=kind), width="stretch")
    st.markdown("**Means and medians**")
    st.dataframe(compare(a_df, df), width="stretch")


if df is not None and not df.empty:
    numeric = plottable_stats(df, numeric_only=True)
    every = plottable_stats(df)
    tabs = st.tabs(["Distributions", "Scatter", "Table", "A / B"])

    with tabs[0]:
        cols = st.columns([3, 1])
        default = [
            s
            for s in (
                "tables",
                "foreign_keys",
                "schema_depth",
                "rows",
                "feature_columns",
                "nan_share",
                "fk_gini_mean",
                "fk_unreferenced_mean",
                "cross_signal_mean",
            )
            if s in every
        ]
        chosen = cols[0].multiselect("Statistics", every, default=default, key="sweep_dist_stats")
        kind = cols[1].radio("Plot", ["histogram", "box"], horizontal=True, key="sweep_dist_kind")
        st.plotly_chart(distributions_figure({"sweep": df}, chosen, kind=kind), width="stretch")
        with st.expander("What the statistics mean"):
            st.markdown("\n".join(f"- **{md_escape(k)}**: {v}" for k, v in STAT_FIELDS.items()))

    with tabs[1]:
        cols = st.columns(3)
        x = cols[0].selectbox(
            "x", numeric, index=numeric.index("rows") if "rows" in numeric else 0, key="sweep_x"
        )
        y_default = (
            "cross_signal_mean" if "cross_signal_mean" in numeric else numeric[min(1, len(numeric) - 1)]
        )
        y = cols[1].selectbox("y", numeric, index=numeric.index(y_default), key="sweep_y")
        color = cols[2].selectbox("colour", ["(none)", *numeric], key="sweep_color")
        event = st.plotly_chart(
            scatter_figure({"sweep": df}, x, y, None if color == "(none)" else color),
            width="stretch",
            on_select="rerun",
            selection_mode="points",
            key="sweep_scatter",
        )
        st.caption("Click a point to pick its database.")
        _database_picker(df, _selected_seed(event, df, "scatter"), "scatter")

    with tabs[2]:
        event = st.dataframe(
            df,
            hide_index=True,
            column_config=_column_config(df),
            on_select="rerun",
            selection_mode="single-row",
            key="sweep_table",
            width="stretch",
        )
        st.caption("Sort by clicking a header; select a row to pick its database.")
        _database_picker(df, _selected_seed(event, df, "table"), "table")
        st.download_button(
            "Download table (CSV)", df.to_csv(index=False).encode("utf-8"), "sweep.csv", "text/csv"
        )

    with tabs[3]:
        _ab_section(df)
elif ss.get(_A) is not None:
    st.subheader("A / B")
    _ab_section(None)
