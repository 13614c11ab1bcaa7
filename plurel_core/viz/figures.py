"""Plotly figures and the small statistics behind them, as pure functions of stage results.

Nothing here draws or mutates its inputs: every function takes arrays, frames or traces and
returns a new figure or array. Names are passed to plotly as text, never as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..database import Database, Schema

__all__ = [
    "KIND_COLORS",
    "fk_degrees",
    "integer_ticks",
    "log_integer_ticks",
    "log_share_ticks",
    "unreferenced_share",
    "degree_ccdf_points",
    "degree_histogram",
    "degree_ccdf",
    "row_cluster_labels",
    "block_link_counts",
    "hsbm_level_labels",
    "block_heatmap",
    "block_matrix_figure",
    "block_matrices_figure",
    "bipartite_sample",
    "feature_figure",
    "feature_grid_figure",
    "panel_grid_figure",
    "time_series_figure",
    "ts_components_figure",
    "numeric_codes",
    "correlation_frame",
    "correlation_heatmap",
    "schema_table_frame",
    "pipeline_dot",
]

KIND_COLORS = {"entity": "#2b6cb0", "activity": "#c05621"}
_MAX_POINTS = 2500


def _plain(text: Any) -> str:
    """Plotly renders a few HTML tags in labels; show names literally instead."""
    return str(text).replace("<", "&lt;").replace(">", "&gt;")


def integer_ticks(hi: float, max_ticks: int = 8) -> dict[str, Any]:
    """Axis settings with whole-number ticks only (counts, indices) for values in [0, hi].

    The step is 1, 2 or 5 times a power of ten giving at most ``max_ticks`` ticks, never
    below 1, so plotly cannot place a tick at 0.5 or 2.5.
    """
    hi = max(float(hi), 1.0)
    step = 1
    while hi / step > max_ticks:
        step = _next_step(step)
    return {"tick0": 0, "dtick": step, "tickformat": ",d"}


def _next_step(step: int) -> int:
    """1 → 2 → 5 → 10 → 20 → 50 → ..."""
    e = len(str(step)) - 1
    lead = step // 10**e
    return {1: 2, 2: 5, 5: 10}[lead] * 10**e


def log_integer_ticks(lo: float, hi: float) -> dict[str, Any]:
    """Tick values 1, 2, 5, 10, 20, ... within [lo, hi] for a log axis of whole numbers.

    Labelled ticks only where the list says (plotly's own log ticks label the minor ones
    2–9 by their first digit, crowded, and a lone "9" for 0.9 when the axis pads below 1),
    and the axis range fitted to [lo, hi] with a small margin.
    """
    vals = []
    v = 1
    while v <= max(hi, 1):
        if v >= lo:
            vals.append(v)
        v = _next_step(v)
    if len(vals) > 9:
        vals = [x for x in vals if str(x)[0] == "1"]
    elif len(vals) < 3 and hi < 10:  # a narrow axis: every whole number
        vals = list(range(max(1, math.ceil(lo)), int(hi) + 1))
    return _log_axis(vals, [f"{x:,}" for x in vals], max(lo, 1), max(hi, 1))


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_share_ticks(lo: float) -> dict[str, Any]:
    """Tick values 1, 0.5, 0.2, 0.1, 0.05, ... down to ``lo`` (> 0) for a log axis of shares
    (a CCDF P(D ≥ k)); only powers of ten when more than nine would be labelled. Labels
    are decimals down to 0.001, then 10⁻⁴, 10⁻⁵, ...; see :func:`log_integer_ticks`."""
    lo = min(max(float(lo), 1e-12), 1.0)
    vals: list[float] = []
    e = 0
    while True:
        step = [m * 10.0**e for m in (1, 0.5, 0.2)]
        vals += [round(v, 12 - e) for v in step if v >= lo * (1 - 1e-9)]
        if step[-1] < lo:
            break
        e -= 1
    if len(vals) > 9:
        vals = [v for v in vals if f"{v:e}".startswith("1")]
    elif len(vals) < 3 and lo > 0.1:  # a narrow axis: finer steps
        vals = [m for m in (1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15) if m >= lo * (1 - 1e-9)]
    text = [f"{v:g}" if v >= 1e-3 else f"10{str(round(math.log10(v))).translate(_SUPERSCRIPT)}" for v in vals]
    return _log_axis(vals, text, lo, 1.0)


def _log_axis(vals: list, text: list[str], lo: float, hi: float) -> dict[str, Any]:
    pad = 0.04 * max(math.log10(hi) - math.log10(lo), 0.5)
    return {
        "tickmode": "array",
        "tickvals": vals,
        "ticktext": text,
        "range": [math.log10(lo) - pad, math.log10(hi) + pad],
        "minor": {"showgrid": False, "ticks": ""},
    }


# -- Stage 2: foreign keys -------------------------------------------------------------


def fk_degrees(parent_rows: np.ndarray, num_parents: int) -> np.ndarray:
    """Children per parent row (NULL references, coded ``-1``, are skipped)."""
    rows = np.asarray(parent_rows)
    if num_parents < 0:
        raise ValueError(f"num_parents must be ≥ 0, got {num_parents}")
    valid = rows[rows >= 0].astype(np.int64)
    if len(valid) and valid.max() >= num_parents:
        raise ValueError(f"parent row {int(valid.max())} out of range for {num_parents} parent rows")
    return np.bincount(valid, minlength=num_parents)


def unreferenced_share(degrees: np.ndarray) -> float:
    """Share of parent rows no child row points to."""
    degrees = np.asarray(degrees)
    return float((degrees == 0).mean()) if len(degrees) else 0.0


def degree_ccdf_points(degrees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(k, P(D ≥ k))`` for every distinct degree k ≥ 1."""
    degrees = np.asarray(degrees)
    if len(degrees) == 0:
        return np.array([], dtype=np.int64), np.array([])
    ks, counts = np.unique(degrees, return_counts=True)
    tail = counts[::-1].cumsum()[::-1] / len(degrees)
    keep = ks >= 1
    return ks[keep], tail[keep]


def degree_histogram(degrees: np.ndarray, title: str = "") -> go.Figure:
    """Histogram of children per parent row."""
    degrees = np.asarray(degrees)
    ks, counts = np.unique(degrees, return_counts=True)
    # (each figure here is built by one constructor call: plotly validates the layout
    # once, where every update_layout call validates it again)
    return go.Figure(
        data=[go.Bar(x=ks, y=counts, marker_color="#2b6cb0", name="parents")],
        layout=dict(
            title=_plain(title) or "Children per parent row",
            xaxis=dict(
                title="children referencing the parent row", **integer_ticks(ks.max() if len(ks) else 1)
            ),
            yaxis=dict(title="parent rows", **integer_ticks(counts.max() if len(counts) else 1)),
            bargap=0.05,
            height=320,
            margin=dict(l=50, r=10, t=45, b=45),
        ),
    )


def degree_ccdf(degrees: np.ndarray, title: str = "") -> go.Figure:
    """Log-log complementary CDF P(D ≥ k) of children per parent row."""
    ks, tail = degree_ccdf_points(degrees)
    return go.Figure(
        data=[go.Scatter(x=ks, y=tail, mode="lines+markers", line_shape="hv", marker_size=5)],
        layout=dict(
            title=_plain(title) or "CCDF (log-log)",
            xaxis=dict(
                title="k (children per parent)",
                type="log",
                **log_integer_ticks(1, ks.max() if len(ks) else 1),
            ),
            yaxis=dict(title="P(D ≥ k)", type="log", **log_share_ticks(tail.min() if len(tail) else 1)),
            height=320,
            margin=dict(l=50, r=10, t=45, b=45),
        ),
    )


def row_cluster_labels(num_rows: int, hsbm_base: np.ndarray | None, max_bins: int = 27) -> np.ndarray:
    """A cluster label per row: the HSBM base cluster if known, else contiguous equal bins.

    Base clusters are contiguous row ranges, so contiguous bins reveal the same structure
    when no trace exists (e.g. imported schemas).
    """
    if hsbm_base is not None and len(hsbm_base) == num_rows:
        return np.asarray(hsbm_base, dtype=np.int64)
    bins = max(1, min(max_bins, num_rows))
    return (np.arange(num_rows, dtype=np.int64) * bins) // max(num_rows, 1)


def hsbm_level_labels(base: np.ndarray, clusters: tuple[int, ...], level: int) -> np.ndarray:
    """Cluster of each row at HSBM ``level`` from its base-cluster label.

    A base label is a mixed-radix number whose most significant digit is level 0, so the
    digit of ``level`` is ``(base // prod(clusters[level+1:])) % clusters[level]``.
    """
    if not 0 <= level < len(clusters):
        raise ValueError(f"level must be in [0, {len(clusters) - 1}], got {level}")
    below = int(np.prod(clusters[level + 1 :], dtype=np.int64))
    return (np.asarray(base, dtype=np.int64) // below) % int(clusters[level])


def block_link_counts(
    parent_rows: np.ndarray, parent_labels: np.ndarray, child_labels: np.ndarray
) -> np.ndarray:
    """Links between parent cluster i and child cluster j (shape parent clusters × child clusters)."""
    rows = np.asarray(parent_rows)
    child_labels = np.asarray(child_labels)
    parent_labels = np.asarray(parent_labels)
    if len(rows) != len(child_labels):
        raise ValueError(f"parent_rows has {len(rows)} entries but child_labels {len(child_labels)}")
    n_p = int(parent_labels.max()) + 1 if len(parent_labels) else 0
    n_c = int(child_labels.max()) + 1 if len(child_labels) else 0
    ok = rows >= 0
    pl = parent_labels[rows[ok]]
    cl = child_labels[ok]
    flat = np.bincount(pl * n_c + cl, minlength=n_p * n_c)
    return flat.reshape(n_p, n_c)


def block_heatmap(counts: np.ndarray, title: str = "", what: str = "HSBM base cluster") -> go.Figure:
    """Heatmap of link counts, parent cluster (rows) × child cluster (columns)."""
    heatmap = go.Heatmap(
        z=counts,
        colorscale="Blues",
        colorbar_title="links",
        hovertemplate=f"parent {what} %{{y}}<br>child {what} %{{x}}<br>links %{{z}}<extra></extra>",
    )
    x_ticks = integer_ticks(np.shape(counts)[1] - 1 if np.ndim(counts) == 2 else 1)
    y_ticks = integer_ticks(np.shape(counts)[0] - 1 if np.ndim(counts) else 1)
    return go.Figure(
        data=[heatmap],
        layout=dict(
            title=_plain(title) or "Block structure",
            xaxis=dict(title=f"child {what}", **x_ticks),
            yaxis=dict(title=f"parent {what}", autorange="reversed", **y_ticks),
            height=360,
            margin=dict(l=60, r=10, t=45, b=45),
        ),
    )


def bipartite_sample(
    parent_rows: np.ndarray,
    num_parents: int,
    child_labels: np.ndarray,
    *,
    max_children: int = 80,
    title: str = "",
) -> go.Figure:
    """A sample of child rows (right) joined to the parent rows they reference (left).

    Children are taken evenly spaced over the table (no randomness); both sides are placed by
    row index, which is cluster order, and links are coloured by the child's cluster, so
    locality shows up as bundles of same-coloured, roughly parallel links.
    """
    rows = np.asarray(parent_rows)
    n_child = len(rows)
    if n_child == 0 or num_parents == 0:
        return go.Figure().update_layout(title="No rows to draw", height=420)
    pick = np.unique(np.linspace(0, n_child - 1, min(max_children, n_child)).round().astype(np.int64))
    pick = pick[rows[pick] >= 0]
    labels = np.asarray(child_labels)[pick]
    py = rows[pick] / max(num_parents - 1, 1)
    cy = pick / max(n_child - 1, 1)
    palette = [
        "#2b6cb0", "#c05621", "#2f855a", "#b83280", "#6b46c1", "#d69e2e", "#319795", "#c53030", "#4a5568",
    ]  # fmt: skip
    traces = []
    for lab in np.unique(labels):
        sel = labels == lab
        xs: list[float | None] = []
        ys: list[float | None] = []
        for a, b in zip(py[sel], cy[sel], strict=True):
            xs += [0.0, 1.0, None]
            ys += [float(a), float(b), None]
        color = palette[int(lab) % len(palette)]
        traces.append(
            go.Scatter(
                x=xs, y=ys, mode="lines+markers", line=dict(color=color, width=1), marker=dict(size=5, color=color),
                name=f"child cluster {int(lab)}", hoverinfo="skip",
            )
        )  # fmt: skip
    return go.Figure(
        data=traces,
        layout=dict(
            title=_plain(title) or "Sampled links by row position",
            xaxis=dict(tickvals=[0, 1], ticktext=["parent rows", "child rows"], range=[-0.1, 1.1]),
            yaxis=dict(title="row position (0 = first row)", autorange="reversed", range=[0, 1]),
            height=420,
            showlegend=len(np.unique(labels)) <= 12,
            margin=dict(l=60, r=10, t=45, b=30),
        ),
    )


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks at powers of ten (and 2 and 5, or 3, times them when the range is narrow)."""
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = (1, 2, 5) if e1 - e0 <= 2 else (1, 3) if e1 - e0 <= 4 else (1,)
    vals = [m * 10.0**e for e in range(e0, e1 + 1) for m in steps]
    vals = [v for v in vals if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)] or [lo, hi]
    return [math.log10(v) for v in vals], [f"{v:.3g}" for v in vals]


def block_matrices_figure(blocks: Sequence[np.ndarray], *, per_row: int = 5) -> go.Figure:
    """The HSBM block matrices B_l of all levels side by side on one shared log colour scale.

    One scale (the smallest to the largest entry over every level) makes levels comparable:
    a panel whose entries lie in 0.0014–0.002 looks uniform instead of showing full
    contrast; the colour bar is labelled with the entries' values, not their logarithms.
    """
    mats = [np.asarray(b, dtype=float) for b in blocks]
    if not mats:
        raise ValueError("blocks: need at least one block matrix")
    positive = np.concatenate([m[m > 0].ravel() for m in mats] + [np.array([])])
    lo = float(positive.min()) if positive.size else 1e-12
    hi = float(positive.max()) if positive.size else 1.0
    if hi <= lo:
        lo, hi = lo / 10.0, hi * 10.0
    cols = min(len(mats), per_row)
    rows = -(-len(mats) // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"B_{i} ({m.shape[0]} × {m.shape[1]})" for i, m in enumerate(mats)],
        horizontal_spacing=0.06,
        vertical_spacing=0.18 / rows,
    )
    for i, z in enumerate(mats):
        fig.add_trace(
            go.Heatmap(
                z=np.log10(np.clip(z, lo, None)), customdata=z, coloraxis="coloraxis",
                hovertemplate=f"B_{i}<br>parent cluster %{{y}}<br>child cluster %{{x}}<br>"
                "B = %{customdata:.4g}<extra></extra>",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )  # fmt: skip
    tickvals, ticktext = _log_ticks(lo, hi)
    fig.update_layout(
        coloraxis=dict(
            colorscale="Viridis",
            cmin=math.log10(lo),
            cmax=math.log10(hi),
            colorbar=dict(
                title=dict(text="B (log scale)", side="right"),
                tickvals=tickvals,
                ticktext=ticktext,
                thickness=14,
                len=1.0,
            ),
        ),
        height=80 + 230 * rows,
        margin=dict(l=50, r=10, t=50, b=40),
    )
    fig.update_yaxes(autorange="reversed", dtick=1, title_text="parent cluster", col=1)
    fig.update_yaxes(autorange="reversed", dtick=1)
    fig.update_xaxes(dtick=1, title_text="child cluster")
    return fig


def block_matrix_figure(block: np.ndarray, level: int) -> go.Figure:
    """The HSBM block matrix B_l of one level (parent clusters × child clusters), log colour."""
    fig = block_matrices_figure([block])
    fig.layout.annotations[0].text = f"B_{level}"
    return fig


# -- Stage 3: features -----------------------------------------------------------------


def _feature_bars(series: pd.Series, name: Any = None) -> tuple[dict, dict, int, str]:
    """One column's bar trace (a plain dict: the figure validates it once, where a go.Bar
    would be validated and then copied), x-axis settings, highest count and title. A
    histogram of 40 bins for numbers (binned here: 40 counts reach the browser instead of
    every value), value counts for booleans, text and integers with few values."""
    missing = int(series.isna().sum())
    title = _plain(series.name if name is None else name) + (f" — {missing} missing" if missing else "")
    s = series.dropna()
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s) or _few_integers(s):
        counts = s.astype(str).value_counts().sort_index()
        bar = dict(
            type="bar", x=[_plain(i) for i in counts.index], y=counts.to_numpy(), marker_color="#6b46c1"
        )
        return bar, {"type": "category"}, int(counts.max()) if len(counts) else 1, title
    counts, edges = np.histogram(s.to_numpy(dtype=float), bins=40)
    bar = dict(
        type="bar", x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_color="#2b6cb0",
        customdata=np.stack([edges[:-1], edges[1:]], axis=1),
        hovertemplate="[%{customdata[0]:.4g}, %{customdata[1]:.4g}): %{y:,d} rows<extra></extra>",
    )  # fmt: skip
    return bar, {}, int(counts.max()) if len(counts) else 1, title


def feature_figure(series: pd.Series, title: str | None = None) -> go.Figure:
    """Histogram for a numerical column, bar chart of value counts otherwise."""
    bar, xaxis, top, own_title = _feature_bars(series, title)
    # one constructor call: plotly validates the layout once, not once per update
    return go.Figure(
        data=[bar],
        layout=dict(
            title=own_title,
            height=240,
            margin=dict(l=40, r=10, t=40, b=30),
            bargap=0.05,
            showlegend=False,
            xaxis=xaxis,
            yaxis=integer_ticks(top),
        ),
    )


FEATURE_GRID_PANEL_HEIGHT = 240


def panel_grid_figure(
    panels: Sequence[tuple[str, list[dict], dict, dict]],
    per_row: int = 3,
    panel_height: int = FEATURE_GRID_PANEL_HEIGHT,
    **layout: Any,
) -> go.Figure:
    """Panels ``(title, traces, x-axis settings, y-axis settings)`` in a grid ``per_row``
    wide, each with its own axes, as one figure: the browser lays out and draws one chart
    instead of one per panel. Traces are plain trace dicts; ``layout`` adds to the
    figure's layout (e.g. ``barmode``)."""
    if per_row < 1:
        raise ValueError(f"per_row must be >= 1, got {per_row!r}")
    rows = max(1, -(-len(panels) // per_row))
    gap_x = 0.06
    width = (1 - gap_x * (per_row - 1)) / per_row
    # panel height and the gap above each (its title) in fractions of the plot area
    height_px = panel_height * rows
    gap_y = 60 / height_px if rows > 1 else 0.0
    panel = (1 - gap_y * (rows - 1)) / rows
    data, axes, annotations = [], {}, []
    for i, (title, traces, xaxis, yaxis) in enumerate(panels):
        r, c = divmod(i, per_row)
        suffix = "" if i == 0 else str(i + 1)
        x0 = c * (width + gap_x)
        y1 = 1 - r * (panel + gap_y)
        data.extend({**t, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}"} for t in traces)
        axes[f"xaxis{suffix}"] = {**xaxis, "domain": [x0, x0 + width], "anchor": f"y{suffix}"}
        axes[f"yaxis{suffix}"] = {**yaxis, "domain": [y1 - panel, y1], "anchor": f"x{suffix}"}
        annotations.append(
            dict(
                text=title, x=x0 + width / 2, y=y1, xref="paper", yref="paper", xanchor="center",
                yanchor="bottom", showarrow=False, font={"size": 14},
            )
        )  # fmt: skip
    base = dict(height=height_px + 50, margin=dict(l=40, r=10, t=40, b=30), bargap=0.05, showlegend=False)
    return go.Figure(data=data, layout={**base, **layout, "annotations": annotations, **axes})


def feature_grid_figure(df: pd.DataFrame, columns: Sequence[str], per_row: int = 3) -> go.Figure:
    """Every column of ``columns`` as its own panel (as :func:`feature_figure` draws it), in
    a grid ``per_row`` panels wide (:func:`panel_grid_figure`). Each panel has its own
    axes; the title says how many values are missing."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns not in the frame: {missing}; columns: {list(df.columns)}")
    panels = []
    for col in columns:
        bar, xaxis, top, title = _feature_bars(df[col])
        panels.append((title, [bar], xaxis, integer_ticks(top)))
    return panel_grid_figure(panels, per_row)


def _discrete(s: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s) or _few_integers(s.dropna())


def _few_integers(s: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(s) and s.nunique() <= 20


def _stride(n: int, max_points: int = _MAX_POINTS) -> slice:
    return slice(None, None, max(1, -(-n // max_points)))


def time_series_figure(
    df: pd.DataFrame,
    time_col: str,
    columns: list[str],
    val_timestamp: pd.Timestamp | None = None,
    test_timestamp: pd.Timestamp | None = None,
) -> go.Figure:
    """Each feature column against time (one panel each), val/test cut-offs marked."""
    if time_col not in df.columns:
        raise ValueError(f"time_col {time_col!r} is not a column; columns: {list(df.columns)}")
    columns = [c for c in columns if c in df.columns]
    n = max(1, len(columns))
    fig = make_subplots(
        rows=n, cols=1, shared_xaxes=True, vertical_spacing=0.04, subplot_titles=[_plain(c) for c in columns]
    )
    step = _stride(len(df))
    t = df[time_col].iloc[step]
    window = max(1, len(df) // 50)
    for i, col in enumerate(columns, start=1):
        raw = df[col]
        y = numeric_codes(raw)
        if _discrete(raw):
            # 0/1 or category codes flicker as a line; their rolling mean shows the drift over time
            y = y.rolling(window, min_periods=1).mean()
            name = f"{_plain(col)} (rolling mean, {window} rows)"
        else:
            name = _plain(col)
        fig.add_trace(
            go.Scattergl(x=t, y=y.iloc[step], mode="lines", line=dict(width=1), name=name, showlegend=False),
            row=i,
            col=1,
        )
        fig.layout.annotations[i - 1].text = name
    for ts, label, color in ((val_timestamp, "val", "#d69e2e"), (test_timestamp, "test", "#c53030")):
        if ts is not None:
            fig.add_vline(x=pd.Timestamp(ts).to_pydatetime(), line_dash="dash", line_color=color)
            fig.add_annotation(
                x=pd.Timestamp(ts).to_pydatetime(), y=1.0, yref="paper", yanchor="bottom", yshift=14,
                text=f"{label} cut-off", showarrow=False, xanchor="center", font=dict(color=color, size=11),
            )  # fmt: skip
    fig.update_layout(height=130 + 170 * n, margin=dict(l=50, r=10, t=70, b=30))
    return fig


def ts_components_figure(components: dict[str, np.ndarray], title: str = "") -> go.Figure:
    """A ts source's trend, cycle, AR(1) noise and resulting value over the row index."""
    fig = go.Figure()
    styles = {"trend": "#2b6cb0", "cycle": "#2f855a", "noise": "#a0aec0", "value": "#c05621"}
    for name in ("trend", "cycle", "noise", "value"):
        if name not in components:
            continue
        y = np.asarray(components[name], dtype=float)
        step = _stride(len(y))
        x = np.arange(len(y))[step]
        width = 2 if name == "value" else 1.2
        fig.add_trace(
            go.Scattergl(x=x, y=y[step], mode="lines", name=name, line=dict(color=styles[name], width=width))
        )
    fig.update_layout(
        title=_plain(title) or "ts source components",
        xaxis_title="row (time order)",
        height=340,
        margin=dict(l=50, r=10, t=45, b=40),
    )
    return fig


def numeric_codes(series: pd.Series) -> pd.Series:
    """A float view of any column: numbers as-is, booleans 0/1, labels as category codes (NaN kept)."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("int64").astype(float)
    codes, _ = pd.factorize(series, sort=True)
    out = pd.Series(codes.astype(float), index=series.index, name=series.name)
    out[codes < 0] = np.nan
    return out


def correlation_frame(db: Database, table: str, *, max_columns: int = 40) -> pd.DataFrame:
    """Pearson correlation of a table's feature columns and its parents' feature columns.

    Parent columns are joined through each foreign key (one column ``fk→parent.column`` per
    parent feature); categorical and boolean columns enter as integer codes. At most
    ``max_columns`` columns (own features first).
    """
    if table not in db.tables:
        raise ValueError(f"unknown table {table!r}; tables: {list(db.tables)}")
    t = db.tables[table]
    cols: dict[str, pd.Series] = {c: numeric_codes(t.df[c]) for c in t.feature_cols}
    for fk_col, parent in t.fkey_col_to_pkey_table.items():
        p = db.tables[parent]
        idx = pd.to_numeric(t.df[fk_col], errors="coerce").to_numpy(dtype=float)
        ok = ~np.isnan(idx)
        pos = np.where(ok, idx, 0).astype(np.int64)
        for c in p.feature_cols:
            vals = (
                numeric_codes(p.df[c]).to_numpy(dtype=float)[pos] if len(p.df) else np.full(len(pos), np.nan)
            )
            vals = np.where(ok, vals, np.nan)
            cols[f"{fk_col}→{parent}.{c}"] = pd.Series(vals, index=t.df.index)
            if len(cols) >= max_columns:
                break
    frame = pd.DataFrame(dict(list(cols.items())[:max_columns]))
    frame = frame.loc[:, frame.nunique(dropna=True) > 1]
    return frame.corr()


def correlation_heatmap(corr: pd.DataFrame, title: str = "") -> go.Figure:
    """Heatmap of a correlation matrix on [-1, 1]."""
    labels = [_plain(c) for c in corr.columns]
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(), x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
            colorbar_title="r", hovertemplate="%{y}<br>%{x}<br>r = %{z:.2f}<extra></extra>",
        )
    )  # fmt: skip
    side = max(360, min(900, 22 * len(labels) + 160))
    fig.update_layout(
        title=_plain(title) or "Feature correlations",
        height=side,
        yaxis_autorange="reversed",
        margin=dict(l=10, r=10, t=45, b=10),
    )
    return fig


# -- Stage 1 / home --------------------------------------------------------------------


def schema_table_frame(schema: Schema) -> pd.DataFrame:
    """One row per table: kind, rows, feature columns by type, parents."""
    rows = []
    for name, spec in schema.tables.items():
        kinds = pd.Series([c.kind for c in spec.columns], dtype=object)
        rows.append(
            {
                "table": name,
                "kind": spec.kind,
                "rows": spec.num_rows,
                "feature columns": len(spec.columns),
                "numerical": int((kinds == "numerical").sum()),
                "categorical": int(kinds.isin(["categorical", "boolean", "text"]).sum()),
                "foreign keys": len(spec.foreign_keys),
                "parents": ", ".join(spec.parents),
            }
        )
    return pd.DataFrame(rows)


def pipeline_dot() -> str:
    """Graphviz DOT of the three stages (priors → schema → foreign keys → features → database)."""
    return """digraph plurel {
  rankdir=LR; bgcolor="transparent";
  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, fillcolor="#edf2f7", color="#4a5568"];
  edge [color="#4a5568"];
  seed [label="seed + priors", shape=note, fillcolor="#fefcbf"];
  s1 [label="Stage 1 · Schema\\nDAG of tables\\nentity / activity, rows, columns", fillcolor="#dbe9f6"];
  s2 [label="Stage 2 · Connectivity\\nforeign keys from a\\nhierarchical block model", fillcolor="#e9d8fd"];
  s3 [label="Stage 3 · Features\\none structural causal\\nmodel per table", fillcolor="#c6f6d5"];
  db [label="relational database\\n(+ val / test cut-offs)", shape=cylinder, fillcolor="#fde2c8"];
  seed -> s1 -> s2 -> s3 -> db;
}"""
