"""Figures of the reality check: a real database against the priors' sweep and its synthetic twin.

Inputs are the tables of :mod:`plurel_core.compare` (placement, sweep, twin comparisons)
and plain arrays / series. Pure functions: no Streamlit, inputs untouched; names from the
file are passed to plotly as text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import _plain, degree_ccdf_points, log_integer_ticks, log_share_ticks
from .sweep_figures import distributions_figure

__all__ = [
    "REAL_COLOR",
    "TWIN_COLOR",
    "percentile_figure",
    "placement_figure",
    "rows_figure",
    "fk_overlay_figure",
    "column_overlay_figure",
    "default_placement_stats",
]

REAL_COLOR = "#c53030"
TWIN_COLOR = "#2b6cb0"
_MAX_RANKS = 20


def percentile_figure(place: pd.DataFrame, height_per_stat: int = 22) -> go.Figure:
    """One marker per statistic at the real value's percentile in the sweep (0–100), over
    a band for the central 95 %; markers outside it are red."""
    df = place[pd.to_numeric(place["percentile"], errors="coerce").notna()]
    df = df.iloc[::-1]  # first statistic on top
    outside = df["outside"] != ""
    fig = go.Figure()
    fig.add_vrect(x0=2.5, x1=97.5, fillcolor="#e2e8f0", opacity=0.6, line_width=0, layer="below")
    fig.add_vline(x=50, line=dict(color="#718096", dash="dot", width=1))
    custom = np.stack(
        [df["real"].to_numpy(float), df["low"].to_numpy(float), df["median"].to_numpy(float),
         df["high"].to_numpy(float)], axis=-1,
    ) if len(df) else None  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=df["percentile"],
            y=df["statistic"],
            mode="markers",
            marker=dict(size=10, color=np.where(outside, REAL_COLOR, TWIN_COLOR), symbol="diamond"),
            customdata=custom,
            hovertemplate="%{y}: percentile %{x:.1f}<br>real %{customdata[0]:.4g}; sweep median "
            "%{customdata[2]:.4g} (95 %%: %{customdata[1]:.4g} … %{customdata[3]:.4g})<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(220, 60 + height_per_stat * len(df)),
        margin=dict(l=10, r=10, t=30, b=40),
        xaxis=dict(range=[-2, 102], title="percentile of the real value among the sweep's databases"),
        yaxis=dict(type="category", automargin=True),
        showlegend=False,
        title=dict(text="grey band: central 95 % of the sweep; red: outside it", font=dict(size=12)),
    )
    return fig


def default_placement_stats(place: pd.DataFrame, limit: int = 12) -> list[str]:
    """Statistics worth drawing first: those outside the central 95 %, then the most extreme."""
    df = place[pd.to_numeric(place["percentile"], errors="coerce").notna()].copy()
    df["distance"] = (df["percentile"] - 50).abs()
    df = df.sort_values(["distance"], ascending=False, kind="stable")
    return df["statistic"].head(limit).tolist()


def placement_figure(
    sweep_df: pd.DataFrame, place: pd.DataFrame, stats: Sequence[str] | None = None, cols: int = 3
) -> go.Figure:
    """The sweep's histogram of each statistic with the real value as a vertical line
    (red when outside the central 95 %); panel titles give the percentile."""
    by_stat = place.set_index("statistic")
    if stats is None:
        stats = [s for s in place["statistic"] if np.isfinite(by_stat.loc[s, "percentile"])]
    stats = [s for s in stats if s in by_stat.index and s in sweep_df.columns]
    fig = distributions_figure({"sweep": sweep_df}, stats, kind="histogram", cols=cols)
    for k, stat in enumerate(stats):
        real = float(by_stat.loc[stat, "real"])
        pct = float(by_stat.loc[stat, "percentile"])
        flagged = by_stat.loc[stat, "outside"] != ""
        if math.isfinite(real):
            fig.add_vline(
                x=real,
                line=dict(
                    color=REAL_COLOR if flagged else "#1a202c", width=2, dash="solid" if flagged else "dash"
                ),
                row=k // cols + 1,
                col=k % cols + 1,
            )
        label = f"{stat} — real at P{pct:.0f}" if math.isfinite(pct) else f"{stat} — real: n/a"
        if k < len(fig.layout.annotations):
            fig.layout.annotations[k].text = label + (" ⚠" if flagged else "")
    return fig


def rows_figure(tables: pd.DataFrame) -> go.Figure:
    """Rows per table, real and twin side by side (log scale)."""
    names = [_plain(n) for n in tables["table"]]
    fig = go.Figure(
        [
            go.Bar(x=names, y=tables["rows real"], name="real", marker_color=REAL_COLOR),
            go.Bar(x=names, y=tables["rows twin"], name="twin", marker_color=TWIN_COLOR),
        ]
    )
    fig.update_layout(
        barmode="group",
        height=320,
        yaxis=dict(type="log", title="rows"),
        xaxis=dict(type="category"),
        margin=dict(l=50, r=10, t=30, b=60),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return fig


def fk_overlay_figure(real_counts: np.ndarray, twin_counts: np.ndarray | None, title: str = "") -> go.Figure:
    """Children per parent row of one FK: share of parent rows per count (left) and the
    log-log CCDF (right), real and twin overlaid."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("share of parent rows", "CCDF P(D ≥ k), log-log"))
    top, lowest = 1, 1.0  # the CCDF axes' extent
    for label, counts, color in (("real", real_counts, REAL_COLOR), ("twin", twin_counts, TWIN_COLOR)):
        if counts is None or not len(counts):
            continue
        ks, n = np.unique(np.asarray(counts), return_counts=True)
        fig.add_trace(
            go.Bar(x=ks, y=n / n.sum(), name=label, marker_color=color, opacity=0.6, legendgroup=label),
            row=1,
            col=1,
        )
        cks, tail = degree_ccdf_points(counts)
        if len(cks):
            top, lowest = max(top, int(cks.max())), min(lowest, float(tail.min()))
        fig.add_trace(
            go.Scatter(x=cks, y=tail, mode="lines+markers", line_shape="hv", marker_size=4, name=label,
                       line_color=color, legendgroup=label, showlegend=False),
            row=1, col=2,
        )  # fmt: skip
    fig.update_xaxes(title_text="children per parent row", row=1, col=1)
    fig.update_xaxes(title_text="k", type="log", row=1, col=2, **log_integer_ticks(1, top))
    fig.update_yaxes(type="log", row=1, col=2, **log_share_ticks(lowest))
    fig.update_layout(
        barmode="overlay",
        height=320,
        title=dict(text=_plain(title), font=dict(size=13)),
        margin=dict(l=50, r=10, t=60, b=45),
        legend=dict(orientation="h", y=1.12, yanchor="bottom", x=1, xanchor="right"),
    )
    return fig


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def column_overlay_figure(real: pd.Series, twin: pd.Series | None, title: str = "") -> go.Figure:
    """One column, real and twin overlaid: histograms (as shares, shared bins) for numbers
    and dates; shares per value for booleans; for other discrete columns, whose labels
    differ between real and generated data, the share of the k-th most frequent value."""
    fig = go.Figure()
    sides = [("real", real, REAL_COLOR)] + ([("twin", twin, TWIN_COLOR)] if twin is not None else [])
    xaxis: dict = {}
    dates = all(pd.api.types.is_datetime64_any_dtype(s.dtype) for _, s, _ in sides)
    numbers = all(_is_number(s) for _, s, _ in sides)
    if dates or numbers:
        for label, s, color in sides:
            x = s.dropna() if dates else s.dropna().to_numpy(dtype=np.float64)
            # one bin group: both sides share the same bins
            fig.add_trace(
                go.Histogram(x=x, nbinsx=40, bingroup="1", histnorm="probability", name=label,
                             marker_color=color, opacity=0.6)
            )  # fmt: skip
        xaxis = {"title": "value"}
    elif all(pd.api.types.is_bool_dtype(s.dtype) for _, s, _ in sides):
        for label, s, color in sides:
            share = s.dropna().astype(bool).value_counts(normalize=True).reindex([False, True], fill_value=0)
            fig.add_trace(go.Bar(x=["False", "True"], y=share.to_numpy(), name=label, marker_color=color))
        xaxis = {"type": "category"}
    else:
        for label, s, color in sides:
            share = s.dropna().astype(str).value_counts(normalize=True).to_numpy()[:_MAX_RANKS]
            fig.add_trace(
                go.Bar(x=np.arange(1, len(share) + 1), y=share, name=label, marker_color=color, opacity=0.7)
            )
        xaxis = {"title": f"k-th most frequent value (top {_MAX_RANKS})", "dtick": 1}
    missing = ", ".join(f"{label} {s.isna().mean():.0%} missing" for label, s, _ in sides if len(s))
    fig.update_layout(
        barmode="overlay" if xaxis.get("title") == "value" else "group",
        height=280,
        title=dict(text=f"{_plain(title)} ({missing})" if missing else _plain(title), font=dict(size=13)),
        yaxis_title="share",
        xaxis=xaxis,
        margin=dict(l=50, r=10, t=45, b=45),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return fig
