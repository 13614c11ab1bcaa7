"""Figures of the reality check, as pure functions of placement tables, counts and columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plurel_core.compare import placement
from plurel_core.viz.reality import (
    REAL_COLOR,
    TWIN_COLOR,
    column_overlay_figure,
    default_placement_stats,
    fk_overlay_figure,
    percentile_figure,
    placement_figure,
    rows_figure,
)


@pytest.fixture
def place_and_sweep():
    sweep = pd.DataFrame({"seed": range(10), "tables": np.arange(1.0, 11.0), "rows": np.arange(10.0),
                          "nan_share": np.full(10, 0.1)})  # fmt: skip
    real = {"tables": 50.0, "rows": 4.5, "nan_share": float("nan")}
    return placement(real, sweep), sweep


def test_percentile_figure_marks_values_outside_red(place_and_sweep) -> None:
    place, _ = place_and_sweep
    fig = percentile_figure(place)
    (trace,) = fig.data
    # NaN percentiles are left out; the first statistic is drawn on top (last in the trace)
    assert list(trace.y) == ["rows", "tables"]
    assert list(trace.x) == [50.0, 100.0]
    assert list(trace.marker.color) == [TWIN_COLOR, REAL_COLOR]
    band = fig.layout.shapes[0]
    assert (band.x0, band.x1) == (2.5, 97.5)


def test_placement_figure_draws_the_real_value_in_each_panel(place_and_sweep) -> None:
    place, sweep = place_and_sweep
    fig = placement_figure(sweep, place)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["tables — real at P100 ⚠", "rows — real at P50"]
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.x0 for s in lines] == [50.0, 4.5]
    assert lines[0].line.color == REAL_COLOR and lines[1].line.color != REAL_COLOR
    assert default_placement_stats(place) == ["tables", "rows"]


def test_rows_and_fk_figures(place_and_sweep) -> None:
    rows = pd.DataFrame({"table": ["<b>a</b>", "b"], "rows real": [10, 0], "rows twin": [5, 7]})
    fig = rows_figure(rows)
    assert [t.name for t in fig.data] == ["real", "twin"]
    assert list(fig.data[0].x) == ["&lt;b&gt;a&lt;/b&gt;", "b"]  # names shown as text
    fk = fk_overlay_figure(np.array([0, 1, 1, 3]), None, "c(p) → t")
    assert [t.name for t in fk.data] == ["real", "real"]  # share of parents and CCDF, no twin
    assert list(fk.data[0].y) == [0.25, 0.5, 0.25]
    both = fk_overlay_figure(np.array([0, 2]), np.array([1, 1]), "x")
    assert sorted({t.name for t in both.data}) == ["real", "twin"]


@pytest.mark.parametrize(
    ("real", "twin", "kind"),
    [
        (pd.Series([1.0, 2.0, np.nan]), pd.Series([0.5, 0.7]), "histogram"),
        (pd.Series(pd.to_datetime(["2020-01-01", "2021-05-01"])), pd.Series(pd.to_datetime(["1999-01-01"])),
         "histogram"),
        (pd.Series([True, False, True]), pd.Series([False, False]), "bar"),
        (pd.Series(["x", "y", "x", None]), pd.Series(["text_1", "text_1", "text_2"]), "bar"),
    ],
)  # fmt: skip
def test_column_overlay_by_kind(real: pd.Series, twin: pd.Series, kind: str) -> None:
    fig = column_overlay_figure(real, twin, "t.c")
    assert [t.type for t in fig.data] == [kind, kind]
    assert [t.name for t in fig.data] == ["real", "twin"]
    if kind == "histogram":
        assert fig.data[0].bingroup == fig.data[1].bingroup  # the same bins on both sides


def test_column_overlay_ranks_discrete_values_whose_labels_differ() -> None:
    fig = column_overlay_figure(pd.Series(["x", "y", "x", "x"]), pd.Series(["a", "b"]), "t.c")
    assert list(fig.data[0].y) == [0.75, 0.25] and list(fig.data[1].y) == [0.5, 0.5]
    assert list(fig.data[0].x) == [1, 2]
    assert "25% missing" not in fig.layout.title.text
    only_real = column_overlay_figure(pd.Series([1.0, None]), None, "t.c")
    assert len(only_real.data) == 1 and "real 50% missing" in only_real.layout.title.text
