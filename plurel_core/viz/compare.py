"""Figures that put two settings of the priors side by side: A (pinned) and B (current).

Every builder draws both on shared axes (one set of bins, one colour scale), so a difference
on screen is a difference in the data, not in the scaling. Also the small multiples of the
"vary one prior" view. Pure functions: no Streamlit, inputs untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import _plain, degree_ccdf_points, log_integer_ticks, log_share_ticks, panel_grid_figure

__all__ = [
    "AB_COLORS",
    "block_counts_pair",
    "correlation_pair",
    "degree_overlay",
    "feature_overlay",
    "feature_overlay_grid",
    "small_multiples",
]

AB_COLORS = {"A": "#718096", "B": "#c05621"}
_MARGIN = dict(l=50, r=10, t=50, b=45)


def _color(label: str, i: int) -> str:
    return AB_COLORS.get(label, ("#2b6cb0", "#2f855a", "#6b46c1", "#b7791f", "#c53030")[i % 5])


def degree_overlay(degrees: Mapping[str, np.ndarray], title: str = "") -> go.Figure:
    """Children per parent row of each setting: share of parent rows per degree (bars on one
    degree axis) and the log-log CCDF, overlaid in the same two panels."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Share of parent rows per degree", "CCDF P(D ≥ k), log-log")
    )
    top = max((int(np.max(d)) for d in degrees.values() if len(d)), default=0)
    lowest = 1.0  # the smallest P(D ≥ k) drawn: the CCDF's y axis reaches down to it
    for i, (label, d) in enumerate(degrees.items()):
        d = np.asarray(d)
        share = np.bincount(d, minlength=top + 1) / max(len(d), 1)
        color = _color(label, i)
        fig.add_trace(
            go.Bar(
                x=np.arange(top + 1), y=share, name=label, marker_color=color, opacity=0.6, legendgroup=label
            ),
            row=1,
            col=1,
        )
        ks, tail = degree_ccdf_points(d)
        lowest = min(lowest, float(tail.min())) if len(tail) else lowest
        fig.add_trace(
            go.Scatter(
                x=ks, y=tail, name=label, mode="lines+markers", line_shape="hv", marker_size=5,
                line_color=color, legendgroup=label, showlegend=False,
            ),
            row=1,
            col=2,
        )  # fmt: skip
    fig.update_xaxes(title_text="children referencing the parent row", row=1, col=1)
    fig.update_yaxes(title_text="share of parent rows", row=1, col=1)
    # ticks at 1, 2, 5, 10, ... only: plotly's own log ticks label every minor tick
    fig.update_xaxes(title_text="k", type="log", row=1, col=2, **log_integer_ticks(1, max(top, 1)))
    fig.update_yaxes(type="log", row=1, col=2, **log_share_ticks(lowest))
    fig.update_layout(
        barmode="overlay",
        bargap=0.05,
        height=360,
        title=title or None,
        margin=dict(_MARGIN, t=80),
        legend=dict(orientation="h", y=1.2, x=0.5, xanchor="center", yanchor="bottom"),
    )
    return fig


def block_counts_pair(counts: Mapping[str, np.ndarray], what: str = "HSBM base cluster") -> go.Figure:
    """Link counts (parent cluster × child cluster) of each setting side by side on one
    log colour scale: log10(1 + links), the same zmax for all panels."""
    labels = list(counts)
    logs = {k: np.log10(1.0 + np.asarray(v, dtype=np.float64)) for k, v in counts.items()}
    zmax = max((float(v.max()) for v in logs.values() if v.size), default=1.0) or 1.0
    fig = make_subplots(rows=1, cols=len(labels), subplot_titles=labels, horizontal_spacing=0.08)
    for i, label in enumerate(labels):
        fig.add_trace(
            go.Heatmap(
                z=logs[label], customdata=np.asarray(counts[label]), zmin=0, zmax=zmax, colorscale="Blues",
                showscale=i == len(labels) - 1, colorbar=dict(title="log10(1+links)"),
                hovertemplate=f"{label}<br>parent {what} %{{y}}<br>child {what} %{{x}}"
                "<br>links %{customdata}<extra></extra>",
            ),
            row=1,
            col=i + 1,
        )  # fmt: skip
        fig.update_yaxes(
            autorange="reversed", title_text=f"parent {what}" if i == 0 else None, row=1, col=i + 1
        )
        fig.update_xaxes(title_text=f"child {what}", row=1, col=i + 1)
    fig.update_layout(height=360, margin=_MARGIN)
    return fig


def _is_discrete(s: pd.Series) -> bool:
    return (
        pd.api.types.is_bool_dtype(s)
        or not pd.api.types.is_numeric_dtype(s)
        or (pd.api.types.is_integer_dtype(s) and s.nunique() <= 20)
    )


def _overlay_panel(
    columns: Mapping[str, pd.Series], title: str = ""
) -> tuple[str, str, list[dict], dict, dict]:
    """One column under each setting, as a panel ``(name, missing counts, traces, x axis,
    y axis)``: densities on 40 shared bins, binned here (numerical; the bins' counts reach
    the browser, not every value), or the share of each value side by side (booleans,
    categories, text). Traces are plain dicts, drawn in overlay mode (the side-by-side
    bars carry their own offsets). Names and category labels are shown as plain text."""
    present = {k: v for k, v in columns.items() if v is not None}
    missing = {k: int(v.isna().sum()) for k, v in present.items()}
    traces: list[dict] = []
    if any(_is_discrete(v.dropna()) for v in present.values()):
        # side by side within each category: explicit offsets, so the figure's bar mode
        # can stay "overlay" for the density panels beside these
        step = 0.8 / max(len(present), 1)
        for i, (label, v) in enumerate(present.items()):
            share = v.dropna().astype(str).value_counts(normalize=True).sort_index()
            traces.append(
                dict(
                    type="bar", x=[_plain(c) for c in share.index], y=share.to_numpy(), name=label, width=step,
                    offset=-0.4 + i * step, marker_color=_color(label, i),
                    hovertemplate=f"{label}: %{{x}}, %{{y:.1%}} of rows<extra></extra>",
                )
            )  # fmt: skip
        xaxis: dict = {"type": "category"}
        yaxis = {"title": "share of rows"}
    else:
        values = [v.dropna().to_numpy(dtype=np.float64) for v in present.values()]
        values = [v[np.isfinite(v)] for v in values]
        finite = np.concatenate(values) if values else np.empty(0)
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        edges = np.linspace(lo, hi, 41) if hi > lo else np.array([lo, lo + 1.0])
        for i, (label, v) in enumerate(zip(present, values, strict=True)):
            counts, _ = np.histogram(v, bins=edges)
            density = counts / (max(len(v), 1) * np.diff(edges))
            traces.append(
                dict(
                    type="bar", x=(edges[:-1] + edges[1:]) / 2, y=density, width=np.diff(edges), name=label,
                    marker_color=_color(label, i), opacity=0.6,
                    customdata=np.stack([edges[:-1], edges[1:], counts], axis=1),
                    hovertemplate=f"{label} [%{{customdata[0]:.4g}}, %{{customdata[1]:.4g}}): "
                    "density %{y:.3g} (%{customdata[2]:,d} rows)<extra></extra>",
                )
            )  # fmt: skip
        xaxis = {}
        yaxis = {"title": "density"}
    sub = ", ".join(f"{k}: {n} missing" for k, n in missing.items() if n)
    name = _plain(title or (next(iter(present.values())).name if present else ""))
    return name, sub, traces, xaxis, yaxis


def feature_overlay(columns: Mapping[str, pd.Series], title: str = "") -> go.Figure:
    """One column under each setting: overlaid densities on shared bins (numerical) or the
    share of each value side by side (booleans, categories, text)."""
    name, sub, traces, xaxis, yaxis = _overlay_panel(columns, title)
    return go.Figure(
        data=traces,
        layout=dict(
            title=name + (f" ({sub})" if sub else ""),
            xaxis=xaxis,
            yaxis=yaxis,
            barmode="overlay",
            height=260,
            margin=dict(l=40, r=10, t=40, b=30),
            bargap=0.05,
            showlegend=False,  # small panels in a grid: the page names the colours once
        ),
    )


def feature_overlay_grid(
    frames: Mapping[str, pd.DataFrame], columns: Sequence[str], per_row: int = 3
) -> go.Figure:
    """:func:`feature_overlay` of every column of ``columns`` (in each of ``frames``: label
    → frame; a frame without the column leaves it out of that panel), as panels of one grid
    figure (:func:`~plurel_core.viz.figures.panel_grid_figure`)."""
    panels = []
    for c in columns:
        name, sub, traces, xaxis, yaxis = _overlay_panel(
            {k: f[c] if c in f.columns else None for k, f in frames.items()}, c
        )
        # narrow panels: the missing counts on a second, smaller line, and no y-axis title
        # beside each panel (the page says what the bars are)
        title = name + (f"<br><span style='font-size:11px'>{sub}</span>" if sub else "")
        panels.append((title, traces, xaxis, {k: v for k, v in yaxis.items() if k != "title"}))
    return panel_grid_figure(panels, per_row, panel_height=260, barmode="overlay")


def correlation_pair(corrs: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Correlation matrices of each setting side by side on the same [-1, 1] scale; columns
    present in only one setting are blank in the other, so cells line up."""
    labels = list(corrs)
    names = list(dict.fromkeys(c for m in corrs.values() for c in m.columns))
    fig = make_subplots(rows=1, cols=len(labels), subplot_titles=labels, horizontal_spacing=0.04)
    for i, label in enumerate(labels):
        m = corrs[label].reindex(index=names, columns=names)
        fig.add_trace(
            go.Heatmap(
                z=m.to_numpy(), x=names, y=names, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
                showscale=i == len(labels) - 1, colorbar=dict(title="r"),
                hovertemplate=f"{label}<br>%{{y}}<br>%{{x}}<br>r = %{{z:.2f}}<extra></extra>",
            ),
            row=1,
            col=i + 1,
        )  # fmt: skip
        fig.update_yaxes(autorange="reversed", showticklabels=i == 0, row=1, col=i + 1)
    side = max(380, min(800, 18 * len(names) + 200))
    fig.update_layout(height=side, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def _log_ticks(values: Sequence) -> dict:
    """Labelled ticks for a log axis of these values: counts (≥ 1) or shares (≤ 1)."""
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return {}
    if v.max() <= 1:
        return log_share_ticks(float(v.min()))
    return log_integer_ticks(max(1.0, float(v.min())), float(v.max()))


def small_multiples(
    panels: Sequence[tuple[str, Sequence[go.BaseTraceType]]],
    cols: int = 3,
    row_height: int = 260,
    x_title: str | None = None,
    y_title: str | None = None,
    shared_y: bool = True,
    log_x: bool = False,
    log_y: bool = False,
) -> go.Figure:
    """One panel per ``(title, traces)``, on shared axes, for "vary one prior" views."""
    if not panels:
        raise ValueError("small_multiples needs at least one panel")
    cols = max(1, min(cols, len(panels)))
    rows = math.ceil(len(panels) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[t for t, _ in panels],
        shared_xaxes="all",
        shared_yaxes="all" if shared_y else False,
        vertical_spacing=min(0.15, 0.6 / rows),
        horizontal_spacing=0.05,
    )
    for k, (_, traces) in enumerate(panels):
        for trace in traces:
            fig.add_trace(trace, row=k // cols + 1, col=k % cols + 1)
    xs = [v for _, traces in panels for t in traces for v in (t.x if t.x is not None else ())]
    ys = [v for _, traces in panels for t in traces for v in (t.y if t.y is not None else ())]
    fig.update_xaxes(type="log" if log_x else None, **(_log_ticks(xs) if log_x else {}))
    fig.update_yaxes(type="log" if log_y else None, **(_log_ticks(ys) if log_y else {}))
    if x_title:
        for c in range(1, cols + 1):
            fig.update_xaxes(title_text=x_title, row=rows, col=c)
    if y_title:
        for r in range(1, rows + 1):
            fig.update_yaxes(title_text=y_title, row=r, col=1)
    fig.update_layout(height=rows * row_height + 60, showlegend=False, margin=_MARGIN)
    return fig
