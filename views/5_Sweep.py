"""Sweep: the distribution the current priors induce over databases, and an A/B comparison."""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import pandas as pd
import streamlit as st

from explorer import pinned, state, urlextra
from explorer.pages import STAGE_PAGES
from explorer.stages import APP_BUDGET, cached_schema, current_keys, size_problem, stage3_problem
from explorer.stoppable import SweepJob, held, run_sweeps, stopped_note
from explorer.sweep_store import finished_sweeps, store
from explorer.ui import md_escape, run_or_report
from plurel_core.ab import paired_effects
from plurel_core.config import Config
from plurel_core.stats import STAT_FIELDS
from plurel_core.sweep import iter_sweep
from plurel_core.viz.sweep_figures import distributions_figure, plottable_stats, scatter_figure

MAX_N = 500
DEFAULT_N = 50
_RUN = "sweep"  # the page's stoppable run (explorer.stoppable)
ROOT = Path(__file__).resolve().parent.parent

state.init_state()
ss = st.session_state


def _url_int(name: str, default: int, lo: int, hi: int) -> int:
    text = urlextra.get_param(name)
    if text is None:
        return default
    try:
        value = int(text)
        if not lo <= value <= hi:
            raise ValueError
    except ValueError:
        urlextra.set_param(name, None)
        st.warning(f"{name}={text[:20]!r} in the URL ignored: expected an integer in [{lo}, {hi}].")
        return default
    return value


def _on_seeds_change(name: str, key: str, default: int) -> None:
    value = int(ss[key])
    urlextra.set_param(name, None if value == default else str(value))


st.title("Sweep")
st.caption(
    "One sampled database says little about a prior: PluRel's finding is that the **diversity** of the "
    "databases drives scaling. Generate N databases from the current priors (seeds offset … offset+N-1) "
    "and look at the distribution of their statistics. Pin one setting as **A**, change priors on the "
    "stage pages and compare: A and B run on the same seeds, so each seed is a matched pair."
)

config: Config = run_or_report(lambda: state.get_config().validate())
sql_pair = state.get_sql()
sql = sql_pair[1] if sql_pair else None

c = st.columns([1, 1, 1, 1.4])
max_offset = 2**31 - 1 - MAX_N
n = c[0].number_input(
    "Databases N",
    1,
    MAX_N,
    _url_int("n", DEFAULT_N, 1, MAX_N),
    step=10,
    key="sweep_n",
    on_change=_on_seeds_change,
    args=("n", "sweep_n", DEFAULT_N),
    help=f"At most {MAX_N} per sweep. Kept in the URL.",
)
offset = c[1].number_input(
    "Seed offset",
    0,
    max_offset,
    _url_int("offset", 0, 0, max_offset),
    key="sweep_offset",
    on_change=_on_seeds_change,
    args=("offset", "sweep_offset", 0),
    help="Seeds offset … offset+N-1. Kept in the URL.",
)
n, offset = int(n), int(offset)
cpus = os.cpu_count() or 1
workers = int(
    c[2].number_input("Workers", 1, cpus, min(2, cpus), help="Processes generating databases in parallel.")
)
key = (config.to_json(indent=None), sql or "", offset, n)
results: OrderedDict = finished_sweeps()
a_config = pinned.get_pinned()
a_sql = pinned.get_pinned_sql()  # A keeps the SQL schema it was pinned with (or none)
a_key = (
    (a_config.validate().to_json(indent=None), a_sql[1] if a_sql else "", offset, n)
    if a_config is not None
    else None
)
todo = [k for k in dict.fromkeys([key, a_key]) if k is not None and k not in results]

with c[3]:
    st.write("")
    run_clicked = st.button(
        "Run sweep" if a_key in (None, key) else "Run sweeps A and B",
        type="primary",
        key="sweep_run",
        disabled=not todo,
        help="Finished sweeps are kept by the server, keyed by priors and seeds (a reload finds them): "
        "change N, the offset or a prior to run another. With a pinned A, A runs on the same seeds.",
    )


def _run_sweeps() -> None:
    k = current_keys()
    first = cached_schema(offset, k.schema, k.sql)
    problem = size_problem(first) or stage3_problem(first, k.features)
    if problem:
        st.error(
            f"Seed {offset}: {problem} Sweeps of large databases belong to `python -m plurel_core sweep`."
        )
        st.stop()
    jobs = [
        SweepJob(
            "A" if run_key == a_key and run_key != key else "B" if a_key is not None else "",
            run_key,
            n,
            lambda run_key=run_key: iter_sweep(
                Config.from_json(run_key[0]),
                n,
                offset,
                workers,
                schema=run_key[1] or None,
                budget=APP_BUDGET,
            ),
        )
        for run_key in todo
    ]
    if run_sweeps(_RUN, jobs, store, key=(key, a_key)):
        st.rerun()  # redraw from the store: the controls above still show the state before the run


if run_clicked:
    run_or_report(_run_sweeps)

df = results.get(key)
if df is not None:
    results.move_to_end(key)  # recently used sweeps are kept longest
stopped = held(_RUN)
if df is None and stopped is not None and stopped.part_key == key and stopped.records:
    df = stopped.frame()
    st.warning(f"{stopped_note(stopped)} Run the sweep again for all of them.")
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
            for link, page in zip(links, STAGE_PAGES, strict=True):
                if (ROOT / page.file).is_file():
                    link.page_link(page.file, label=page.title, icon=page.icon)


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


def _value_text(value: object) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def _ab_section(df: pd.DataFrame | None) -> None:
    """The pinned A against the current priors (B) on the same seeds: changed priors,
    overlaid densities and per-statistic matched-pairs effects."""
    cols = st.columns([1, 1, 3])
    cols[0].button(
        "Pin current priors as A",
        on_click=pinned.pin_current,
        disabled=a_key == key,
        help="A is kept (also in the URL) while you change priors on the stage pages; "
        "every stage page then shows A beside B on the same seed.",
    )
    if a_config is None:
        st.info("No A yet: pin the current priors as A, then change priors on the stage pages.")
        return
    cols[1].button("Unpin A", on_click=pinned.unpin)
    diff = pinned.changed_priors(a_config, config)
    sources = pinned.schema_sources(a_sql, sql_pair)
    if not diff and sources is None:
        st.info("The current priors are A's. Change priors on the stage pages to get a B.")
        return
    if sources is not None:
        st.info(
            f"{sources}. The seeds still pair A's and B's databases, and every statistic below is one of "
            "the whole database, so they compare."
        )
    rows = [
        {"prior": p, "A": _value_text(va), "B (current)": _value_text(vb)} for p, (va, vb) in diff.items()
    ]
    if rows:
        st.markdown("**Changed priors** (A → B):")
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    a_df = results.get(a_key)
    if df is None or df.empty or a_df is None or a_df.empty:
        st.info(f"Run the sweeps above: A and B on the same seeds {offset}…{offset + n - 1}.")
        return
    stats = [
        s for s in plottable_stats(df, numeric_only=True) if s in plottable_stats(a_df, numeric_only=True)
    ]
    effects = paired_effects(a_df, df)
    st.markdown(
        f"**Matched pairs**: A and B on the same {int(effects['pairs'].max()) if len(effects) else 0} seeds. "
        "Δ is B − A per seed; the interval is the 95 % t interval of the mean Δ; d_z = mean Δ / sd(Δ) "
        "(|d_z| ≥ 0.8 is a large effect); p is the two-sided Wilcoxon signed-rank test."
    )
    moved = effects.reindex(effects["effect size d_z"].abs().sort_values(ascending=False).index)
    st.dataframe(
        moved.style.format(
            {c: "{:.4g}" for c in moved.columns if c != "pairs"} | {"pairs": "{:d}"}, na_rep="–"
        ),
        width="stretch",
    )
    default = [s for s in moved.index[:6] if s in stats]
    chosen = st.multiselect("Statistics to plot", stats, default=default, key="sweep_ab_stats")
    kind = st.radio("Plot", ["histogram", "box"], horizontal=True, key="sweep_ab_kind")
    st.plotly_chart(
        distributions_figure({"A": a_df, "B": df}, chosen, kind=kind, density=True), width="stretch"
    )


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
                "fk_locality_mean",
                "parent_dependence_mean",
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
elif a_config is not None:
    st.subheader("A / B")
    _ab_section(None)
