"""Reality check: a real SQLite database placed in the distribution the current priors induce."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from explorer import state
from explorer.stages import APP_BUDGET, cached_schema, current_keys, size_problem
from explorer.stoppable import StoppableRun, SweepJob, held, run_sweeps, stopped_note
from explorer.ui import md_escape, run_or_report
from plurel_core.compare import (
    CENTRAL,
    SEARCH_PRIORS,
    Comparison,
    column_comparison,
    fk_comparison,
    fk_degree_counts,
    placement,
    report_html,
    suggest_priors,
    synthetic_twin,
    table_comparison,
)
from plurel_core.config import Config
from plurel_core.real import RealDatabase, RealDatabaseError, read_sqlite, read_sqlite_bytes
from plurel_core.schema import sample_schema
from plurel_core.stats import STAT_FIELDS, database_stats
from plurel_core.sweep import iter_sweep
from plurel_core.viz.reality import (
    column_overlay_figure,
    default_placement_stats,
    fk_overlay_figure,
    percentile_figure,
    placement_figure,
    rows_figure,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "assets" / "real" / "chinook.sqlite"
MAX_N = 300
_REAL = "reality_real"  # {"digest", "real", "stats"} of the loaded file
_SWEEPS = "reality_sweeps"  # {key: sweep frame} of finished sweeps
_RUN_SWEEP, _RUN_SEARCH = "reality_sweep", "reality_search"  # stoppable runs (explorer.stoppable)
_TWINS = "reality_twins"  # {key: twin Database}
_SEARCH = "reality_search_done"  # {"key", "result"} of the last finished prior search
_REPORT = "reality_report"  # {"key", "html"}
_STATS = "reality_stats"  # {"digest", "stats"} of the loaded file
_KEEP = 6

ss = st.session_state
state.init_state()
for k in (_SWEEPS, _TWINS):
    ss.setdefault(k, {})

st.title("Reality check")
st.caption(
    "Would a database like yours be typical under these priors? Load a real SQLite database: its "
    "statistics are placed in the distribution of a sweep under the current priors, its **synthetic twin** "
    "(generated from its own schema) is set beside it, and a search suggests priors that bring it nearer "
    "the middle. The file is opened read-only: no view or trigger runs, nothing is written."
)


@st.cache_resource(show_spinner="Reading the example database…")
def _example() -> RealDatabase:
    return read_sqlite(EXAMPLE)


def _load() -> tuple[str, RealDatabase] | None:
    c = st.columns([1.2, 2])
    source = c[0].radio(
        "Real database",
        ["Example: Chinook (music store)", "Upload a SQLite file"],
        key="reality_source",
        help="Chinook: 11 tables, 15,607 rows (MIT licence, see assets/real/README.md).",
    )
    if source.startswith("Example"):
        if not EXAMPLE.is_file():
            st.error("The example database is missing from assets/real/.")
            return None
        return "example", _example()
    upload = c[1].file_uploader(
        "SQLite file",
        type=["sqlite", "sqlite3", "db", "db3"],
        key="reality_upload",
        accept_multiple_files=False,
    )
    if upload is None:
        st.info("Upload a SQLite database file (.sqlite, .db) to compare it with the priors.")
        return None
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    held = ss.get(_REAL)
    if held is None or held["digest"] != digest:
        try:
            with st.spinner("Reading the file…"):
                real = read_sqlite_bytes(data, upload.name)
        except RealDatabaseError as exc:
            st.error(f"This file cannot be compared: {exc}")
            return None
        ss[_REAL] = {"digest": digest, "real": real}
    return digest, ss[_REAL]["real"]


loaded = _load()
if loaded is None:
    state.sync_url()
    st.stop()
digest, real = loaded
held_stats = ss.get(_STATS) or {}
if held_stats.get("digest") != digest:  # a large file takes a while: once per file
    ss[_STATS] = held_stats = {"digest": digest, "stats": database_stats(real.db)}
real_stats = held_stats["stats"]
config: Config = run_or_report(lambda: state.get_config().validate())
config_json = config.to_json(indent=None)

m = st.columns(5)
m[0].metric("Tables", real_stats["tables"])
m[1].metric("Rows", f"{real_stats['rows']:,}")
m[2].metric("Foreign keys", real_stats["foreign_keys"])
m[3].metric("Feature columns", real_stats["feature_columns"])
m[4].metric("Missing share", f"{real_stats['nan_share']:.1%}")
with st.expander(f"Reading {md_escape(real.name)}: {len(real.notes)} note(s)", expanded=False):
    st.markdown("\n".join(f"- {md_escape(n)}" for n in real.notes) or "Nothing to note.")
    st.code(real.ddl, language="sql")

tabs = st.tabs(["Where it sits", "Synthetic twin", "Suggest priors"], key="reality_tabs", on_change="rerun")


# -- where it sits ---------------------------------------------------------------------------


def _run_sweep(key: tuple, n: int, offset: int, workers: int, same_schema: bool) -> None:
    if same_schema:
        problem = _twin_problem(offset)
    else:
        k = current_keys()
        problem = size_problem(cached_schema(offset, k.schema, ""))
    if problem:
        st.error(f"Seed {offset}: {problem} Large sweeps belong to `python -m plurel_core compare`.")
        st.stop()
    sweeps = ss[_SWEEPS]

    def keep(k: tuple, frame: pd.DataFrame) -> None:
        sweeps[k] = frame
        while len(sweeps) > _KEEP:
            sweeps.pop(next(iter(sweeps)))

    job = SweepJob("", key, n, lambda: iter_sweep(config, n, offset, workers,
                                                  schema=real.ddl if same_schema else None,
                                                  dialect="sqlite" if same_schema else None,
                                                  budget=APP_BUDGET))  # fmt: skip
    if run_sweeps(_RUN_SWEEP, [job], keep, key=key):
        st.rerun()


def _twin_problem(seed: int) -> str | None:
    from plurel_core.sql import schema_from_sql

    return size_problem(schema_from_sql(real.ddl, config.schema, seed, dialect="sqlite"))


def _twin(seed: int, rows: str = "priors"):
    key = (digest, config_json, seed, rows)
    twins = ss[_TWINS]
    if key not in twins:
        problem = _twin_problem(seed) if rows == "priors" else None
        if problem:
            st.error(f"The twin of seed {seed}: {problem}")
            return None
        with st.spinner("Generating the synthetic twin…"):
            twins[key] = synthetic_twin(real, config, seed, rows, budget=APP_BUDGET)
        while len(twins) > 3:
            twins.pop(next(iter(twins)))
    return twins[key]


if tabs[0].open:
    with tabs[0]:
        c = st.columns([1, 1, 1, 1.3, 1.2])
        n = int(c[0].number_input("Databases N", 2, MAX_N, 30, step=10, key="reality_n"))
        offset = int(c[1].number_input("Seed offset", 0, 2**31 - 1 - MAX_N, 0, key="reality_offset"))
        cpus = os.cpu_count() or 1
        workers = int(c[2].number_input("Workers", 1, cpus, min(2, cpus), key="reality_workers"))
        same_schema = c[3].checkbox(
            "Sweep on the real schema",
            key="reality_same_schema",
            help="Generate every database from the real database's schema (row counts and values still from "
            "the priors) instead of sampling a schema per seed: compares everything but the schema's shape.",
        )
        key = (digest, config_json, offset, n, same_schema)
        with c[4]:
            st.write("")
            run = st.button("Run sweep", type="primary", key="reality_run", disabled=key in ss[_SWEEPS])
        if run:
            run_or_report(lambda: _run_sweep(key, n, offset, workers, same_schema))
        sweep_df = ss[_SWEEPS].get(key)
        stopped = held(_RUN_SWEEP, key)
        if sweep_df is None and stopped is not None and stopped.records:
            sweep_df = stopped.frame()
            st.warning(stopped_note(stopped))
        if sweep_df is None or sweep_df.empty:
            st.info("Run a sweep to place the real database among databases drawn from the current priors.")
        else:
            place = placement(real_stats, sweep_df)
            flagged = place[place["outside"] != ""]
            st.markdown(
                f"**{len(flagged)} of {int(place['percentile'].notna().sum())}** statistics of "
                f"{md_escape(real.name)} fall outside the central {CENTRAL:.0%} of {len(sweep_df)} databases"
                + (": " + ", ".join(f"`{s}` ({o})" for s, o in zip(flagged["statistic"], flagged["outside"],
                                                                     strict=True)) if len(flagged) else ".")
            )  # fmt: skip
            st.plotly_chart(percentile_figure(place), width="stretch", key="reality_pct")
            every = [
                s for s in place["statistic"] if pd.notna(place.set_index("statistic").loc[s, "percentile"])
            ]
            chosen = st.multiselect(
                "Distributions", every, default=default_placement_stats(place, 9), key="reality_stats"
            )
            st.plotly_chart(placement_figure(sweep_df, place, chosen), width="stretch", key="reality_dists")
            st.dataframe(
                place,
                hide_index=True,
                width="stretch",
                column_config={
                    "statistic": st.column_config.Column("statistic", help="See 'What the statistics mean'."),
                    "percentile": st.column_config.NumberColumn("percentile", format="%.1f"),
                    "low": st.column_config.NumberColumn("2.5 %", format="%.4g"),
                    "high": st.column_config.NumberColumn("97.5 %", format="%.4g"),
                    "median": st.column_config.NumberColumn("median", format="%.4g"),
                    "real": st.column_config.NumberColumn("real", format="%.4g"),
                },
            )
            comparison = Comparison(real, config, real_stats, sweep_df, place, offset, same_schema)
            d = st.columns([1, 1, 3])
            d[0].download_button(
                "Placement (CSV)", place.to_csv(index=False).encode("utf-8"), "reality.csv", "text/csv"
            )
            report = ss.get(_REPORT)
            if report is not None and report["key"] == key:
                d[1].download_button(
                    "HTML report", report["html"], "reality.html", "text/html", key="reality_dl"
                )
            elif d[1].button("Prepare HTML report", help="Charts of this page and the twin (seed = offset) in one "
                             "file that opens offline."):  # fmt: skip
                twin = run_or_report(lambda: _twin(offset))
                ss[_REPORT] = {"key": key, "html": report_html(comparison, twin, offset).encode("utf-8")}
                st.rerun()
            with st.expander("What the statistics mean"):
                st.markdown("\n".join(f"- **{md_escape(k)}**: {v}" for k, v in STAT_FIELDS.items()))


# -- synthetic twin ----------------------------------------------------------------------------

if tabs[1].open:
    with tabs[1]:
        st.caption(
            "The twin is generated from the real database's own schema (same tables, keys, foreign keys and "
            "columns) under the current priors: foreign-key degrees and values come from the priors, row counts "
            "from the priors or from the real database."
        )
        c = st.columns([1, 3])
        seed = int(c[0].number_input("Twin seed", 0, 2**31 - 1, state.get_seed(), key="reality_twin_seed"))
        rows_from = c[1].radio(
            "Row counts",
            ["priors", "real"],
            format_func={"priors": "drawn from the priors", "real": "as in the real database"}.get,
            horizontal=True,
            key="reality_twin_rows",
            help="With the real counts, degrees and values compare at equal size (an empty table gets one row).",
        )
        twin = run_or_report(lambda: _twin(seed, rows_from))
        if twin is not None:
            sizes = table_comparison(real.db, twin)
            st.caption(
                f"Twin: {int(sizes['rows twin'].sum()):,} rows in {len(twin.tables)} tables "
                f"(real: {int(sizes['rows real'].sum()):,})."
            )
            st.plotly_chart(rows_figure(sizes), width="stretch", key="reality_rows")
            fks = fk_comparison(real.db, twin)
            real_counts, twin_counts = fk_degree_counts(real.db), fk_degree_counts(twin)
            if len(fks):
                st.markdown("**Foreign keys**: children per parent row")
                label = st.selectbox("Foreign key", list(real_counts), key="reality_fk")
                if label is not None:
                    st.plotly_chart(
                        fk_overlay_figure(real_counts[label], twin_counts.get(label), label),
                        width="stretch",
                        key="reality_fk_fig",
                    )
                st.dataframe(fks, hide_index=True, width="stretch")
            cols = column_comparison(real.db, twin)
            if len(cols):
                st.markdown("**Columns**, matched by table and name")
                c = st.columns(2)
                table = c[0].selectbox("Table", list(dict.fromkeys(cols["table"])), key="reality_table")
                names = cols.loc[cols["table"] == table, "column"].tolist()
                column = c[1].selectbox("Column", names, key="reality_column")
                if column is not None:
                    t = twin.tables.get(table)
                    other = t.df[column] if t is not None and column in t.df.columns else None
                    st.plotly_chart(
                        column_overlay_figure(real.db.tables[table].df[column], other, f"{table}.{column}"),
                        width="stretch",
                        key="reality_col_fig",
                    )
                st.dataframe(cols, hide_index=True, width="stretch")


# -- suggest priors ------------------------------------------------------------------------------


def _apply(cfg_json: str) -> None:
    state.set_config(Config.from_json(cfg_json))
    state.bump_controls()
    ss[_SEARCH] = None
    state.push_notice("Applied the suggested priors; the stage pages and the sweep now use them.")


def _value(v: object) -> str:
    return json.dumps(list(v) if isinstance(v, tuple) else v)


if tabs[2].open:
    with tabs[2]:
        st.caption(
            "A bounded search over the priors you pick: each prior in turn tries nearby values (shifted, "
            "scaled or halved ranges), each judged on a small sweep with the same seeds, and keeps a value "
            "only if the real statistics move nearer the middle of the sweep (mean squared distance of "
            "their percentiles from 50). Deterministic for the given seeds."
        )
        picked = st.multiselect(
            "Priors to search",
            list(SEARCH_PRIORS),
            default=["schema.num_tables", "schema.entity_rows", "schema.activity_rows", "schema.num_cols"],
            format_func=lambda p: f"{p} — {SEARCH_PRIORS[p]}",
            key="reality_search_priors",
        )
        c = st.columns([1, 1, 1, 1.4])
        n_eval = int(c[0].number_input("Databases per sweep", 2, 50, 6, key="reality_search_n"))
        budget = int(c[1].number_input("Max. sweeps", 2, 100, 12, key="reality_search_budget"))
        s_offset = int(c[2].number_input("Seed offset", 0, 2**31 - 1 - 50, 0, key="reality_search_offset"))
        s_key = (digest, config_json, tuple(picked), n_eval, budget, s_offset)
        with c[3]:
            st.write("")
            search_clicked = st.button("Search", type="primary", key="reality_search_go", disabled=not picked)
        if search_clicked:

            def _small_enough(cfg: Config) -> bool:
                return size_problem(sample_schema(cfg.schema, s_offset)) is None

            if not _small_enough(config):
                st.error(
                    f"Seed {s_offset}: {size_problem(sample_schema(config.schema, s_offset))} "
                    "The search sweeps databases of these priors in this session."
                )
                st.stop()
            ss[_SEARCH] = None
            run = StoppableRun(_RUN_SEARCH, s_key, budget, unit="sweeps")
            # should_stop: an interrupted search ends after the database in progress, not
            # after the whole sweep it belongs to
            result = run_or_report(
                lambda: suggest_priors(real_stats, config, picked, num_dbs=n_eval, seed_offset=s_offset,
                                       max_evaluations=budget, progress=lambda done, _: run.advance(done),
                                       best_so_far=run.keep, should_stop=run.should_stop,
                                       allowed=_small_enough, budget=APP_BUDGET)
            )  # fmt: skip
            run.finish()
            ss[_SEARCH] = {"key": s_key, "result": result}
            st.rerun()
        found = ss.get(_SEARCH)
        stopped = held(_RUN_SEARCH, s_key)
        res = found["result"] if found and found["key"] == s_key else None
        if res is None and stopped is not None:
            res = stopped.result  # the best so far (None before the first sweep was done)
        if res is not None:
            if res.stopped:
                st.warning(f"Stopped after {res.evaluations} sweep(s): the best priors found so far.")
            st.markdown(
                f"Distance from the middle (0 = every statistic at the median, 1 = all at an extreme): "
                f"**{res.score_before:.3f} → {res.score_after:.3f}** after {res.evaluations} sweep(s) of "
                f"{n_eval} databases."
            )
            if res.changes:
                st.dataframe(
                    pd.DataFrame(
                        [
                            {"prior": p, "current": _value(a), "suggested": _value(b)}
                            for p, (a, b) in res.changes.items()
                        ]
                    ),
                    hide_index=True,
                    width="stretch",
                )
                st.button(
                    "Apply suggested priors",
                    type="primary",
                    on_click=_apply,
                    args=(res.config.to_json(indent=None),),
                    key="reality_apply",
                )
            else:
                st.info(
                    "No candidate moved the real database nearer the middle: the current priors are kept."
                )
            both = res.before[["statistic", "real", "percentile", "outside"]].merge(
                res.after[["statistic", "percentile", "outside"]],
                on="statistic",
                suffixes=(" before", " after"),
            )
            st.dataframe(both, hide_index=True, width="stretch")
        elif not picked:
            st.info("Pick at least one prior to search.")
