"""Figures of a sweep: the distribution of each statistic across databases, A/B overlays, scatters.

Inputs are sweep tables (:func:`plurel_core.sweep.sweep`), passed as ``{label: frame}`` so
one sweep and an A/B pair draw the same way. Pure functions: no Streamlit, inputs untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..stats import STAT_FIELDS

__all__ = [
    "SWEEP_COLORS",
    "plottable_stats",
    "common_bins",
    "distribution_figure",
    "distributions_figure",
    "scatter_figure",
]

SWEEP_COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")
_KINDS = ("histogram", "box")


def plottable_stats(df: pd.DataFrame, numeric_only: bool = False) -> list[str]:
    """Statistic columns of a sweep table worth drawing: known fields (plus any extra
    columns) except ``seed``, with at least one value; numerical ones only if asked."""
    names = [c for c in STAT_FIELDS if c in df.columns] + [
        c for c in df.columns if c not in STAT_FIELDS and c != "seed"
    ]
    out = []
    for c in names:
        s = df[c]
        if s.notna().sum() == 0:
            continue
        if numeric_only and not _is_numeric(s):
            continue
        out.append(c)
    return out


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def common_bins(values: Sequence[np.ndarray], max_bins: int = 25) -> dict[str, float] | None:
    """Plotly ``xbins`` shared by several samples so overlaid histograms line up.

    Integer-valued samples spanning few values get one bin per integer.
    """
    finite = [np.asarray(v, dtype=np.float64) for v in values]
    allv = np.concatenate([v[np.isfinite(v)] for v in finite]) if finite else np.empty(0)
    if len(allv) == 0:
        return None
    lo, hi = float(allv.min()), float(allv.max())
    if np.all(allv == np.round(allv)) and hi - lo <= max_bins * 2:
        size = max(1.0, math.ceil((hi - lo + 1) / max_bins))
        return {"start": lo - 0.5, "end": hi + 0.5, "size": size}
    if hi == lo:
        pad = abs(lo) * 0.05 or 0.5
        return {"start": lo - pad, "end": hi + pad, "size": pad}
    size = (hi - lo) / max_bins
    return {"start": lo, "end": hi + size * 1e-6, "size": size}


def _color(i: int) -> str:
    return SWEEP_COLORS[i % len(SWEEP_COLORS)]


def _traces(
    frames: Mapping[str, pd.DataFrame], stat: str, kind: str, show_legend: bool, density: bool = False
) -> list[go.BaseTraceType]:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}, got {kind!r}")
    present = {label: df for label, df in frames.items() if stat in df.columns}
    numeric = all(_is_numeric(df[stat]) for df in present.values())
    bins = common_bins([df[stat].to_numpy(dtype=np.float64) for df in present.values()]) if numeric else None
    out: list[go.BaseTraceType] = []
    for i, (label, df) in enumerate(present.items()):
        common = {"name": str(label), "legendgroup": str(label), "showlegend": show_legend}
        if kind == "box" and numeric:
            out.append(
                go.Box(
                    y=df[stat],
                    x=[str(label)] * len(df),
                    marker_color=_color(i),
                    boxpoints="outliers",
                    customdata=df["seed"] if "seed" in df.columns else None,
                    hovertemplate="seed %{customdata}: %{y}<extra></extra>" if "seed" in df.columns else None,
                    **common,
                )
            )
        else:
            values = df[stat] if numeric else df[stat].astype(str)
            out.append(
                go.Histogram(
                    x=values,
                    xbins=bins,
                    marker_color=_color(i),
                    opacity=0.6 if len(present) > 1 else 0.85,
                    # densities: sweeps of different sizes compare by shape, not by count
                    histnorm="probability density" if density else None,
                    **common,
                )
            )
    return out


def distribution_figure(
    frames: Mapping[str, pd.DataFrame], stat: str, kind: str = "histogram", height: int = 320
) -> go.Figure:
    """One statistic across the databases of each sweep: overlaid histograms or side-by-side boxes."""
    fig = go.Figure(_traces(frames, stat, kind, show_legend=len(frames) > 1))
    fig.update_layout(
        barmode="overlay",
        height=height,
        margin=dict(l=40, r=10, t=40, b=40),
        title=dict(text=stat, font=dict(size=14)),
        xaxis_title=stat if kind == "histogram" else None,
        yaxis_title="databases" if kind == "histogram" else stat,
    )
    return fig


def distributions_figure(
    frames: Mapping[str, pd.DataFrame],
    stats: Sequence[str],
    kind: str = "histogram",
    cols: int = 3,
    row_height: int = 230,
    density: bool = False,
) -> go.Figure:
    """A grid with one panel per statistic; every sweep in ``frames`` overlaid in each panel
    (histograms as densities if ``density``, so sweeps of different sizes compare)."""
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}, got {kind!r}")
    if cols < 1:
        raise ValueError(f"cols must be ≥ 1, got {cols}")
    stats = list(stats)
    if not stats:
        fig = go.Figure()
        fig.update_layout(height=120, annotations=[dict(text="no statistics selected", showarrow=False)])
        return fig
    rows = math.ceil(len(stats) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=stats,
        vertical_spacing=min(0.12, 0.5 / rows),
        horizontal_spacing=0.06,
    )
    for k, stat in enumerate(stats):
        for trace in _traces(frames, stat, kind, show_legend=k == 0 and len(frames) > 1, density=density):
            fig.add_trace(trace, row=k // cols + 1, col=k % cols + 1)
    fig.update_layout(
        barmode="overlay",
        height=max(260, rows * row_height),
        margin=dict(l=30, r=10, t=40, b=30),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1.0, xanchor="right"),
    )
    fig.update_annotations(font_size=12)
    return fig


def scatter_figure(
    frames: Mapping[str, pd.DataFrame], x: str, y: str, color: str | None = None, height: int = 460
) -> go.Figure:
    """Statistic ``x`` against ``y``, one marker per database (hover: its seed).

    With one sweep, ``color`` colours the markers by a third numerical statistic. Each
    marker's ``customdata`` is its seed, so a selection maps back to a database. No drag
    mode is set: with ``dragmode="select"`` Streamlit makes a click only an event, so a
    click on a marker would not select it.
    """
    fig = go.Figure()
    single = len(frames) == 1
    for i, (label, df) in enumerate(frames.items()):
        for stat in (x, y):
            if stat not in df.columns:
                raise ValueError(f"statistic {stat!r} is not a column of sweep {label!r}")
        marker: dict = {"size": 8, "opacity": 0.8, "color": _color(i)}
        if single and color is not None and color in df.columns and _is_numeric(df[color]):
            marker.update(color=df[color], colorscale="Viridis", showscale=True, colorbar=dict(title=color))
        fig.add_trace(
            go.Scatter(
                x=df[x],
                y=df[y],
                mode="markers",
                name=str(label),
                marker=marker,
                customdata=df["seed"] if "seed" in df.columns else None,
                hovertemplate=f"seed %{{customdata}}<br>{x}: %{{x}}<br>{y}: %{{y}}<extra>{label}</extra>",
            )
        )
    fig.update_layout(
        height=height,
        xaxis_title=x,
        yaxis_title=y,
        showlegend=not single,
        margin=dict(l=50, r=10, t=30, b=50),
    )
    return fig
