"""Vary one prior: what one knob does, value by value, on the same seed and over many seeds."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from explorer import state, urlextra
from explorer.compare_views import database_of, foreign_keys_of, keys_for, schema_of
from explorer.controls import label_for
from explorer.stages import APP_BUDGET
from explorer.stoppable import SweepJob, held, run_sweeps, stopped_note
from explorer.sweep_store import finished_sweeps, store, sweep_key
from explorer.text import md_code
from explorer.ui import md_escape, run_or_report
from explorer.urlstate import all_prior_paths
from explorer.vary import (
    MAX_VALUES,
    STAGE_STATS,
    format_values,
    parse_values,
    stage_of,
    step_values,
    value_label,
)
from plurel_core.config import Config
from plurel_core.stats import STAT_FIELDS
from plurel_core.sweep import iter_sweep
from plurel_core.viz import degree_ccdf_points, fk_degrees
from plurel_core.viz.compare import small_multiples
from plurel_core.viz.sweep_figures import distribution_figure

DEFAULT_PRIOR = "connectivity.within_affinity"
MAX_SEEDS = 100
_RUN = "vary"  # the page's stoppable run (explorer.stoppable)
ss = st.session_state
state.init_state()

st.title("Vary one prior")
st.caption(
    "Pick one prior and 2–5 values: every other prior stays as it is. The panels show the view that prior "
    "acts on, one panel per value, on the same seed and shared axes; below, over N seeds, the distribution "
    "of the statistic it moves."
)

base: Config = run_or_report(lambda: state.get_config().validate())
paths = [p for p in all_prior_paths() if Config.spec(p).kind != "date"]
url_path = urlextra.get_param("vary")
if url_path is not None and url_path not in paths:
    st.warning(f"vary={url_path[:40]!r} in the URL ignored: not a prior that can be varied.")
    urlextra.set_param("vary", None)
    url_path = None


def _on_prior() -> None:
    path = ss["vary_prior"]
    urlextra.set_param("vary", path)
    values = step_values(path, 3) if Config.spec(path).kind != "date" else []
    ss["vary_values"] = format_values(path, values)
    urlextra.set_param("values", ss["vary_values"])


def _on_values() -> None:
    urlextra.set_param("values", ss["vary_values"])


def _on_steps() -> None:
    path = ss["vary_prior"]
    ss["vary_values"] = format_values(path, step_values(path, int(ss["vary_steps"])))
    urlextra.set_param("values", ss["vary_values"])


if "vary_prior" not in ss:
    ss["vary_prior"] = url_path or DEFAULT_PRIOR
if "vary_values" not in ss:
    ss["vary_values"] = urlextra.get_param("values") or format_values(
        ss["vary_prior"], step_values(ss["vary_prior"], 3)
    )
urlextra.set_param("vary", ss["vary_prior"])
urlextra.set_param("values", ss["vary_values"])

controls, view = st.columns([1, 2.7], gap="medium")
with controls:
    path = st.selectbox(
        "Prior",
        paths,
        key="vary_prior",
        on_change=_on_prior,
        format_func=lambda p: f"{label_for(p)} ({p})",
        help="Any prior of the three stages.",
    )
    spec = Config.spec(path)
    st.caption(md_escape(spec.help))
    st.text_input(
        "Values (separated by ;)",
        key="vary_values",
        on_change=_on_values,
        help="Each value as in the URL: a number, a range lo-hi, a set a,b, a flag 1/0. At most "
        f"{MAX_VALUES}.",
    )
    if spec.kind not in ("set", "bool"):
        st.slider(
            "Or split its range into steps",
            2,
            MAX_VALUES,
            3,
            key="vary_steps",
            on_change=_on_steps,
            help=f"Evenly spaced over [{spec.lo}, {spec.hi}]" + (" on a log scale." if spec.log else "."),
        )
    values, problems = parse_values(base, path, ss["vary_values"])
    for p in problems:
        st.warning(f"Value {p} — left out.")
    st.caption(f"Current value: {md_code(format_values(path, [base.get(path)]))}; seed {state.get_seed()}.")

stage = stage_of(path)
configs = {value_label(path, v): base.with_value(path, v) for v in values}

with view:
    if len(configs) < 2:
        st.info("Give at least two values to compare.")
        st.stop()
    st.markdown(f"**Stage {stage}** · {len(configs)} values of {md_code(path)} on seed {state.get_seed()}")
    panels: list[tuple[str, list]] = []
    if stage == 1:
        for label, cfg in configs.items():
            schema = run_or_report(lambda cfg=cfg: schema_of(keys_for(cfg)))
            rows = sorted((t.num_rows for t in schema.tables.values()), reverse=True)
            title = f"{label}: {len(schema.tables)} tables, {len(schema.foreign_keys())} FKs"
            panels.append((title, [go.Bar(x=list(range(1, len(rows) + 1)), y=rows, marker_color="#2b6cb0")]))
        fig = small_multiples(panels, x_title="table (by size)", y_title="rows")
    elif stage == 2:
        fks_by = {
            label: run_or_report(lambda cfg=cfg: foreign_keys_of(keys_for(cfg)))
            for label, cfg in configs.items()
        }
        first = next(iter(fks_by.values()))
        names = [f"{c}.{n}" for (c, n) in first.samples]
        if not names:
            st.info("This schema has no foreign keys (a single table): nothing to connect.")
            st.stop()
        fk = st.selectbox("Foreign key", names, key="vary_fk")
        schema = schema_of(keys_for(base))
        for label, fks in fks_by.items():
            sample = next(s for (c, n), s in fks.samples.items() if f"{c}.{n}" == fk)
            degrees = fk_degrees(sample.parent_rows, schema.tables[sample.fk.parent].num_rows)
            ks, tail = degree_ccdf_points(degrees)
            share = float(np.mean(degrees == 0)) if len(degrees) else 0.0
            panels.append(
                (
                    f"{label}: {share:.0%} unreferenced",
                    [go.Scatter(x=ks, y=tail, mode="lines+markers", line_shape="hv", marker_size=4)],
                )
            )
        fig = small_multiples(panels, x_title="k children", y_title="P(D ≥ k)", log_x=True, log_y=True)
    else:
        dbs = {
            label: run_or_report(lambda cfg=cfg: database_of(keys_for(cfg))) for label, cfg in configs.items()
        }
        first = next(iter(dbs.values()))
        table = st.selectbox("Table", list(first.tables), key="vary_table")
        cols = first.tables[table].feature_cols
        if not cols:
            st.info("This table has no feature columns.")
            st.stop()
        column = st.selectbox("Column", cols, key=f"vary_column:{table}")
        series = {
            label: db.tables[table].df[column] for label, db in dbs.items() if column in db.tables[table].df
        }
        numeric = all(
            pd.api.types.is_float_dtype(s) and not pd.api.types.is_bool_dtype(s) for s in series.values()
        )
        if numeric:
            allv = np.concatenate([s.dropna().to_numpy(dtype=float) for s in series.values()])
            lo, hi = (float(allv.min()), float(allv.max())) if len(allv) else (0.0, 1.0)
            size = (hi - lo) / 30 if hi > lo else 1.0
            for label, s in series.items():
                panels.append(
                    (
                        label,
                        [
                            go.Histogram(
                                x=s.dropna().to_numpy(dtype=float),
                                xbins=dict(start=lo, end=hi + size * 1e-6, size=size),
                                histnorm="probability density",
                                marker_color="#2b6cb0",
                            )
                        ],
                    )
                )
            fig = small_multiples(panels, x_title=column, y_title="density")
        else:
            for label, s in series.items():
                share = s.dropna().astype(str).value_counts(normalize=True).sort_index()
                panels.append(
                    (label, [go.Bar(x=list(share.index), y=share.to_numpy(), marker_color="#6b46c1")])
                )
            fig = small_multiples(panels, x_title=column, y_title="share of rows")
    st.plotly_chart(fig, width="stretch", key="vary_panels")

    st.markdown(
        "**Over N seeds**: the distribution of a statistic for each value (same seeds for every value)."
    )
    c = st.columns([1, 1, 2, 1.2])
    n = int(c[0].number_input("Seeds N", 2, MAX_SEEDS, 20, key="vary_n"))
    offset = int(c[1].number_input("Seed offset", 0, 2**31 - 1 - MAX_SEEDS, 0, key="vary_offset"))
    numeric_stats = [s for s in STAT_FIELDS if s not in ("layout", "generation_seconds")]
    stat = c[2].selectbox(
        "Statistic", numeric_stats, index=numeric_stats.index(STAGE_STATS[stage]), key=f"vary_stat:{stage}"
    )
    sql = state.get_sql()
    keys = {label: sweep_key(cfg, sql[1] if sql else None, offset, n) for label, cfg in configs.items()}
    done = finished_sweeps()
    missing = [label for label, k in keys.items() if k not in done]
    c[3].write("")
    if c[3].button(
        f"Run {len(missing)} sweep(s)" if missing else "Sweeps done",
        type="primary",
        disabled=not missing,
        key="vary_run",
        help="One sweep of N databases per value; finished sweeps are kept by the server (and the Sweep "
        "page). Stop keeps the finished ones.",
    ):
        workers = min(2, os.cpu_count() or 1)
        jobs = [
            SweepJob(label, keys[label], n, lambda cfg=configs[label]: iter_sweep(
                cfg, n, offset, workers, schema=sql[1] if sql else None, budget=APP_BUDGET))
            for label in missing
        ]  # fmt: skip
        if run_or_report(lambda: run_sweeps(_RUN, jobs, store, key=tuple(keys.values()))):
            st.rerun()
    frames = {label: done[k] for label, k in keys.items() if k in done}
    stopped = held(_RUN, tuple(keys.values()))
    if stopped is not None and len(frames) < len(keys):
        # a stopped run: the finished values, and the one in progress with the seeds it has
        not_run = [label for label, k in keys.items() if k not in done and k != stopped.part_key]
        part = {label: f"{label} ({len(stopped.records)} of {n} seeds)" for label, k in keys.items()
                if k == stopped.part_key and stopped.records}  # fmt: skip
        frames = {
            part.get(label, label): frames[label] if label in frames else stopped.frame()
            for label in keys
            if label in frames or label in part
        }
        st.warning(
            stopped_note(stopped)
            + (f" Not run: {', '.join(not_run)}." if not_run else "")
            + " Run the sweeps again for the rest."
        )
    if frames and (len(frames) == len(keys) or stopped is not None):
        st.plotly_chart(
            distribution_figure(frames, stat, kind="box", height=360), width="stretch", key="vary_dist"
        )
        summary = pd.DataFrame(
            {
                label: {"mean": f[stat].mean(), "median": f[stat].median(), "sd": f[stat].std()}
                for label, f in frames.items()
            }
        ).T
        st.dataframe(summary.style.format("{:.4g}", na_rep="–"), width="stretch")
        with st.expander("What the statistic means"):
            st.markdown(STAT_FIELDS[stat])
    else:
        st.info(f"Run the sweeps: {len(missing)} of {len(keys)} values have no sweep for these seeds yet.")
