"""Comparing choices in the app (AppTest): the pinned A, matched-pairs sweeps, the URL."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from explorer.pages import page_file
from explorer.pinned import decode_pinned, encode_pinned
from explorer.urlextra import split_params
from plurel_core.config import Config

from .apptest import open_app as _app
from .apptest import open_page as _open

# A: the small preset; B: the same with (almost) no within-cluster preference
AB_QUERY = {"preset": "small", "seed": "1", "A.preset": "small", "connectivity.within_affinity": "0.002"}


def _button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}: {[b.label for b in at.button]}"
    return matches[0]


def _button_by_key(at: AppTest, key: str):
    matches = [b for b in at.button if b.key == key]
    assert matches, f"no button with key {key!r}"
    return matches[0]


def _warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)


# -- the pinned A in the URL --------------------------------------------------------------


def test_pinned_priors_round_trip_through_the_url():
    cfg = Config.preset("small").with_value("features.aggregations", ("max",))
    params = encode_pinned(cfg, "small")
    assert params["A.preset"] == "small" and params["A.features.aggregations"] == "max"
    (decoded, preset), notices = decode_pinned(params)
    assert decoded == cfg and preset == "small" and not notices
    assert decode_pinned({"seed": "3"}) == (None, [])


def test_bad_pinned_parameters_are_named_and_dropped():
    (decoded, _), notices = decode_pinned({"A.preset": "small", "A.connectivity.levels": "zz", "A.nope": "1"})
    assert decoded == Config.preset("small")
    assert any("connectivity.levels" in n for n in notices) and any("nope" in n for n in notices)


def test_extra_parameters_are_not_read_as_priors():
    core, extra = split_params({"seed": "1", "n": "5", "A.preset": "small", "schema.num_tables": "3-4"})
    assert core == {"seed": "1", "schema.num_tables": "3-4"}
    assert extra == {"n": "5", "A.preset": "small"}
    at = _app(seed="1", n="5", offset="7", **{"A.preset": "small"})
    assert "ignored" not in _warnings(at)  # before: n, offset and A.* were "not a known prior"
    assert at.query_params["n"] == "5" and at.query_params["A.preset"] == "small"


def test_pin_from_the_sidebar_puts_a_in_the_url_and_unpin_removes_it():
    at = _app(preset="small", seed="2")
    _button(at, "Pin as A").click().run()
    assert at.query_params["A.preset"] == "small"
    assert not any(k.startswith("A.") and k != "A.preset" for k in at.query_params)
    _button(at, "Unpin A").click().run()
    assert not any(k.startswith("A.") for k in at.query_params)


# -- the Sweep page -----------------------------------------------------------------------


def test_sweep_seeds_come_from_the_url_and_go_back_into_it():
    at = _open(_app(preset="small", seed="1", n="4", offset="9"), page_file("sweep"))
    inputs = {ni.label: ni.value for ni in at.number_input}
    # before: N reset to 50 and the offset to 0 on every visit, and neither was in the URL
    assert inputs["Databases N"] == 4 and inputs["Seed offset"] == 9
    [ni for ni in at.number_input if ni.label == "Databases N"][0].set_value(6).run()
    assert at.query_params["n"] == "6" and at.query_params["offset"] == "9"
    bad = _open(_app(preset="small", n="oops"), page_file("sweep"))
    assert "n='oops'" in _warnings(bad)
    assert {ni.label: ni.value for ni in bad.number_input}["Databases N"] == 50


def test_ab_runs_both_on_the_same_seeds_and_reports_matched_effects():
    at = _open(_app(**AB_QUERY, n="4", offset="3"), page_file("sweep"))
    _button(at, "Run sweeps A and B").click().run()
    assert not at.exception, [e.value for e in at.exception]
    frames = [df.value for df in at.dataframe]
    effects = [f for f in frames if "effect size d_z" in getattr(f, "columns", [])]
    assert effects, "no effects table"
    eff = effects[0].data if hasattr(effects[0], "data") else effects[0]
    assert isinstance(eff, pd.DataFrame)
    # matched: both sweeps on seeds 3..6, so every statistic has 4 pairs
    assert set(eff["pairs"]) == {4}
    # Stage 2 changed, so FK locality drops on every seed and the schema stays the same
    loc = eff.loc["fk_locality_mean"]
    assert loc["Δ mean (B − A)"] < 0 and loc["CI high"] < 0
    assert eff.loc["tables", "Δ mean (B − A)"] == 0
    # a reload (a new session with the same URL) finds both sweeps: no run needed
    again = _open(_app(**AB_QUERY, n="4", offset="3"), page_file("sweep"))
    assert _button(again, "Run sweeps A and B").disabled
    assert any("effect size d_z" in getattr(df.value, "columns", []) for df in again.dataframe)


# -- A beside B on the stage pages ---------------------------------------------------------


def _figures(at: AppTest) -> list[list[dict]]:
    """The traces of every plotly chart on the page."""
    return [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")]


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_stage_pages_show_nothing_extra_without_a_pinned_a():
    at = _open(_app(preset="small", seed="1"), page_file("connectivity"))
    assert "A beside B" not in _texts(at)


def test_connectivity_page_shows_a_beside_b_on_the_same_seed():
    at = _open(_app(**AB_QUERY), page_file("connectivity"))
    text = _texts(at)
    assert "A beside B · seed 1" in text and "connectivity.within_affinity" in text
    figures = _figures(at)
    # the degree overlay: A and B bars and A and B CCDFs
    overlay = [f for f in figures if [t.get("name") for t in f] == ["A", "A", "B", "B"]]
    assert overlay and {t["type"] for t in overlay[0]} == {"bar", "scatter"}
    # the block counts: one heatmap each, on one colour scale
    pair = [f for f in figures if len(f) == 2 and all(t["type"] == "heatmap" for t in f)]
    assert pair and pair[0][0]["zmax"] == pair[0][1]["zmax"]
    summary = [df.value for df in at.dataframe if "links in aligned clusters" in list(df.value.index)]
    assert summary, "no A/B summary table"
    assert list(summary[0].columns) == ["A", "B"]


def test_features_page_says_schema_and_keys_are_identical_after_a_stage3_change():
    query = {"preset": "small", "seed": "1", "A.preset": "small", "postprocess.binarize_categoricals": "0"}
    at = _open(_app(**query), page_file("features"))
    text = _texts(at)
    assert "schema and foreign keys are identical" in text
    # the feature overlays: one grid figure, an A and a B trace per column panel
    overlays = [f for f in _figures(at) if [t.get("name") for t in f][:2] == ["A", "B"]]
    assert overlays and [t["name"] for t in overlays[0]] == ["A", "B"] * (len(overlays[0]) // 2)
    conn = _open(at, page_file("connectivity"))
    assert "foreign keys are identical" in _texts(conn)
    schema = _open(conn, page_file("schema"))
    assert "have this very schema" in _texts(schema)


def test_features_page_builds_the_a_beside_b_correlations_only_while_open():
    query = {"preset": "small", "seed": "1", "A.preset": "small", "postprocess.binarize_categoricals": "0"}
    at = _open(_app(**query), page_file("features"))
    (panel,) = [e for e in at.expander if e.label == "Correlation matrices, A beside B"]
    assert not panel.get("plotly_chart")
    before = _figures(at)
    at.session_state["ab_corr_open"] = True
    at.run()
    assert not at.exception
    (panel,) = [e for e in at.expander if e.label == "Correlation matrices, A beside B"]
    (chart,) = panel.get("plotly_chart")
    traces = json.loads(chart.proto.spec)["data"]
    assert [t["type"] for t in traces] == ["heatmap", "heatmap"]
    assert [f for f in _figures(at) if f != traces] == before


def test_schema_page_draws_both_schemas_when_stage1_changed():
    query = {"preset": "small", "seed": "1", "A.preset": "small", "schema.num_tables": "6-6"}
    at = _open(_app(**query), page_file("schema"))
    assert "A beside B" in _texts(at)
    sizes = [df.value for df in at.dataframe if "A (pinned)" in list(df.value.columns)]
    assert sizes and sizes[0].loc["tables", "B (current)"] == "6"


# -- the figure builders ------------------------------------------------------------------


def test_feature_overlay_uses_one_set_of_bins_and_densities():
    import numpy as np

    from plurel_core.viz.compare import feature_overlay

    a = pd.Series(np.linspace(0, 1, 100), name="x")
    b = pd.Series(np.r_[np.linspace(5, 10, 1000), np.nan], name="x")
    fig = feature_overlay({"A": a, "B": b})
    # binned here: 40 bins shared by A and B from the smallest to the largest value
    assert [t.type for t in fig.data] == ["bar", "bar"] and fig.layout.barmode == "overlay"
    assert list(fig.data[0].x) == list(fig.data[1].x) and len(fig.data[0].x) == 40
    lo, hi = fig.data[0].customdata[0][0], fig.data[0].customdata[-1][1]
    assert lo == 0 and hi == 10
    for trace, n in zip(fig.data, (100, 1000), strict=True):
        assert sum(y * w for y, w in zip(trace.y, trace.width, strict=True)) == pytest.approx(1.0)
        assert sum(row[2] for row in trace.customdata) == n  # every finite value counted
    assert "B: 1 missing" in fig.layout.title.text
    cats = feature_overlay({"A": pd.Series([True, False, True]), "B": pd.Series([False, False, False])})
    assert [t.type for t in cats.data] == ["bar", "bar"]
    assert sum(cats.data[1].y) == pytest.approx(1.0)
    # side by side within each category, not on top of each other
    assert cats.data[0].offset != cats.data[1].offset and cats.data[0].width == cats.data[1].width


def test_feature_overlay_grid_is_one_panel_per_column():
    import numpy as np

    from plurel_core.viz.compare import feature_overlay, feature_overlay_grid

    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(size=300), "flag": rng.integers(0, 2, 300) > 0})
    b = pd.DataFrame(
        {"x": rng.normal(2, 1, 500), "flag": rng.integers(0, 2, 500) > 0, "y": rng.normal(size=500)}
    )
    fig = feature_overlay_grid({"A": a, "B": b}, ["x", "flag", "y"])
    assert [a.text for a in fig.layout.annotations] == ["x", "flag", "y"]
    assert [(t.name, t.xaxis) for t in fig.data] == [
        ("A", "x"),
        ("B", "x"),
        ("A", "x2"),
        ("B", "x2"),
        ("B", "x3"),
    ]
    # each panel is what feature_overlay draws for that column
    single = feature_overlay({"A": a["x"], "B": b["x"]})
    assert [list(t.y) for t in fig.data[:2]] == [list(t.y) for t in single.data]
    assert fig.layout.xaxis2.type == "category" and fig.layout.barmode == "overlay"
    # names and category labels as plain text (plotly renders a few HTML tags in labels)
    odd = pd.DataFrame({"<b>c</b>": ["<i>x</i>", "y", "y"]})
    fig = feature_overlay_grid({"A": odd, "B": odd}, ["<b>c</b>"])
    assert fig.layout.annotations[0].text == "&lt;b&gt;c&lt;/b&gt;"
    assert "&lt;i&gt;x&lt;/i&gt;" in fig.data[0].x


def test_small_multiples_one_panel_per_value_on_shared_axes():
    import plotly.graph_objects as go

    from plurel_core.viz.compare import small_multiples

    fig = small_multiples([(f"v={v}", [go.Bar(x=[0, 1], y=[v, 1])]) for v in range(5)], cols=3)
    assert len(fig.data) == 5
    assert [a.text for a in fig.layout.annotations] == [f"v={v}" for v in range(5)]
    # every panel's axes follow one axis: the same scale in each panel
    x_axes = {fig.layout[f"xaxis{i}"].matches for i in (2, 3, 5)}
    y_axes = {fig.layout[f"yaxis{i}"].matches for i in (2, 3, 5)}
    assert len(x_axes) == 1 and None not in x_axes and len(y_axes) == 1 and None not in y_axes
    with pytest.raises(ValueError):
        small_multiples([])


# -- vary one prior -----------------------------------------------------------------------


def _panel_titles(at: AppTest) -> list[list[str]]:
    out = []
    for c in at.get("plotly_chart"):
        layout = json.loads(c.proto.spec).get("layout", {})
        out.append([a["text"] for a in layout.get("annotations", [])])
    return out


def test_vary_draws_one_panel_per_value_on_the_same_seed():
    query = {
        "preset": "small",
        "seed": "1",
        "vary": "connectivity.within_affinity",
        "values": "0.002; 0.1; 0.9",
    }
    at = _open(_app(**query), page_file("vary"))
    titles = _panel_titles(at)[0]
    assert len(titles) == 3 and titles[0].startswith("0.002") and titles[2].startswith("0.9")
    assert at.query_params["vary"] == "connectivity.within_affinity"
    # split the range into 5 steps instead
    [s for s in at.slider if s.label.startswith("Or split")][0].set_value(5).run()
    assert len(_panel_titles(at)[0]) == 5
    assert at.query_params["values"].count(";") == 4


def test_vary_names_the_values_it_drops():
    query = {"preset": "small", "vary": "connectivity.within_affinity", "values": "0.5; zz; 5"}
    at = _open(_app(**query), page_file("vary"))
    text = _warnings(at)
    assert "'zz'" in text and "'5'" in text
    assert "Give at least two values" in " ".join(i.value for i in at.info)


@pytest.mark.parametrize(
    ("path", "values"),
    [("schema.layouts", "BarabasiAlbert; WattsStrogatz"), ("features.aggregations", "sum; max")],
)
def test_vary_stage1_and_stage3_priors(path, values):
    at = _open(_app(preset="small", seed="2", vary=path, values=values), page_file("vary"))
    assert len(_panel_titles(at)[0]) == 2


# -- lessons ------------------------------------------------------------------------------


def test_every_lesson_state_is_valid():
    from explorer.lessons import LESSONS
    from explorer.urlstate import decode_state

    assert len(LESSONS) >= 6 and len({x.id for x in LESSONS}) == len(LESSONS)
    for lesson in LESSONS:
        core, extra = split_params(lesson.params)
        _, notices = decode_state(core)
        _, a_notices = decode_pinned(extra)
        assert not notices and not a_notices, (lesson.id, notices, a_notices)
        assert lesson.question and lesson.look_at and lesson.expect


def test_opening_a_lesson_sets_its_state_and_page():
    at = _open(_app(), page_file("lessons"))
    _button_by_key(at, "lesson_open:affinity").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["lesson"] == "affinity" and at.query_params["A.preset"] == "small"
    assert at.query_params["connectivity.within_affinity"] == "0.002"
    text = _texts(at)
    assert "Lesson · What the within" in text and "A beside B" in text


def test_presentation_mode_shows_only_the_lessons_controls():
    from explorer.lessons import LESSONS, lesson_query

    lesson = next(x for x in LESSONS if x.id == "levels")
    from urllib.parse import parse_qsl

    query = dict(parse_qsl(lesson_query(lesson, present=True)))
    at = _open(_app(**query), page_file("connectivity"))
    labels = [s.label for s in at.slider] + [s.label for s in at.number_input]
    assert any("levels" in label.lower() for label in labels)
    assert not any("affinity" in label.lower() for label in labels)
    normal = _open(_app(**{k: v for k, v in query.items() if k != "present"}), page_file("connectivity"))
    assert any("affinity" in s.label.lower() for s in [*normal.slider, *normal.number_input])


def test_presentation_mode_opens_the_groups_of_the_lessons_controls():
    # a lesson's prior in a group that is closed by default (Mechanisms) is shown at once
    from urllib.parse import parse_qsl

    from explorer.lessons import LESSONS, lesson_query

    lesson = next(x for x in LESSONS if x.controls == ("features.activations",))
    query = dict(parse_qsl(lesson_query(lesson, present=True)))
    at = _open(_app(**query), page_file(lesson.page))
    assert any(m.key and m.key.endswith(":features.activations") for m in at.multiselect)
    normal = _open(_app(**{k: v for k, v in query.items() if k != "present"}), page_file(lesson.page))
    assert not any(m.key and m.key.endswith(":features.activations") for m in normal.multiselect)


def test_lecturer_link_carries_state_a_and_question():
    at = _app(**AB_QUERY)
    at = _open(at, page_file("lessons"))
    at.text_input(key="lesson_note").input("Where do the links go?").run()
    link = at.code[-1].value
    assert link.startswith("/connectivity?") and "A.preset=small" in link
    assert "connectivity.within_affinity=0.002" in link and "present=1" in link and "note=Where" in link


def test_ccdf_axes_label_only_round_values_inside_the_data():
    import numpy as np
    import plotly.graph_objects as go

    from plurel_core.viz.compare import degree_overlay, small_multiples
    from plurel_core.viz.reality import fk_overlay_figure

    fig = degree_overlay({"A": np.array([0, 1, 1, 2, 3, 9]), "B": np.array([1, 1, 2, 2, 2, 3])})
    x, y = fig.layout.xaxis2, fig.layout.yaxis2
    assert x.type == y.type == "log"
    # labels only where listed: plotly's own log ticks label minor ticks 2-9 by their digit,
    # and a lone "9" (for 0.9) when the axis pads below k = 1
    assert x.tickmode == y.tickmode == "array"
    assert list(x.ticktext) == ["1", "2", "5"] and list(y.ticktext) == ["1", "0.5", "0.2"]
    assert 0.8 < 10 ** x.range[0] < 1 and 9 < 10 ** x.range[1] < 12
    assert 10 ** y.range[0] < 1 / 6 < 1 < 10 ** y.range[1]  # the lowest P(D ≥ k) is 1/6
    # a wide range: only powers of ten once more than nine labels would be shown
    heavy = np.repeat([1, 3, 40, 700, 20_000], [500, 200, 50, 5, 1])
    wide = degree_overlay({"A": heavy, "B": np.ones(5, dtype=int)})
    assert list(wide.layout.xaxis2.ticktext) == ["1", "10", "100", "1,000", "10,000"]
    assert len(wide.layout.yaxis2.tickvals) <= 9
    assert all(t.startswith(("1", "0.", "10")) for t in wide.layout.yaxis2.ticktext)
    # the same axes on the Vary page's small multiples and the Reality page's FK overlay
    panels = [
        ("a", [go.Scatter(x=[1, 2, 3], y=[1.0, 0.5, 0.25])]),
        ("b", [go.Scatter(x=[1, 7], y=[1.0, 0.1])]),
    ]
    multiples = small_multiples(panels, log_x=True, log_y=True)
    assert list(multiples.layout.xaxis.ticktext) == ["1", "2", "5"]
    assert list(multiples.layout.yaxis.ticktext) == ["1", "0.5", "0.2", "0.1"]
    real = fk_overlay_figure(np.array([0, 1, 1, 3]), np.array([1, 2, 2, 2]), "x")
    assert real.layout.xaxis2.tickmode == real.layout.yaxis2.tickmode == "array"


# -- A pinned with its own SQL schema ------------------------------------------------------

UPLOAD = (
    "mine.sql",
    "CREATE TABLE team (id INTEGER PRIMARY KEY, name TEXT, budget REAL);\n"
    "CREATE TABLE player (id INTEGER PRIMARY KEY, team_id INTEGER REFERENCES team (id), score REAL);\n",
)


def _statistics(at: AppTest) -> pd.DataFrame:
    frames = [df.value for df in at.dataframe if "A (pinned)" in getattr(df.value, "columns", [])]
    assert frames, "no database-level statistics"
    return frames[0].set_index("statistic")


def test_a_pinned_with_an_uploaded_schema_keeps_it_when_b_uses_another():
    from explorer.state import example_schemas

    at = _app(preset="small", seed="1")
    at.session_state["px_sql"] = UPLOAD  # as the sidebar's upload leaves it
    at.run()
    _button(at, "Pin as A").click().run()
    assert "A.sql" not in at.query_params  # an upload is not part of a link
    shop = ("shop", example_schemas()["shop"].read_text(encoding="utf-8"))
    for b_sql, b_source in (
        (None, "B's from the Stage-1 priors"),
        (shop, "B's from the SQL schema ` shop `"),
    ):
        at.session_state["px_sql"] = b_sql
        for page in ("views/1_Schema.py", "views/2_Connectivity.py", "views/3_Features.py"):
            _open(at, page)
            text = _texts(at)
            # before: A was drawn from B's schema, so A and B looked identical
            assert "A's schema comes from the SQL schema ` mine.sql `" in text and b_source in text, page
            stats = _statistics(at)
            assert stats.loc["tables", "A (pinned)"] == "2" and stats.loc["foreign_keys", "A (pinned)"] == "1"
            assert stats.loc["tables", "B (current)"] != "2" or b_sql is None
    # the Sweep page runs A on its own schema, B on the current one, on the same seeds
    sweep = _open(at, "views/5_Sweep.py")
    [ni for ni in sweep.number_input if ni.label == "Databases N"][0].set_value(2).run()
    _button(sweep, "Run sweeps A and B").click().run()
    assert not sweep.exception, [e.value for e in sweep.exception]
    assert "A's schema comes from the SQL schema ` mine.sql `" in " ".join(i.value for i in sweep.info)
    eff = next(df.value for df in sweep.dataframe if "effect size d_z" in getattr(df.value, "columns", []))
    eff = eff.data if hasattr(eff, "data") else eff
    assert eff.loc["tables", "Δ mean (B − A)"] == _tables_in(shop[1]) - 2


def _tables_in(ddl: str) -> int:
    """CREATE TABLE statements of ``ddl``."""
    return ddl.upper().count("CREATE TABLE")


def test_a_with_an_example_schema_is_in_the_url():
    at = _open(_app(preset="small", seed="1", **{"A.preset": "small", "A.sql": "shop"}), "views/1_Schema.py")
    assert "A's schema comes from the SQL schema ` shop `, B's from the Stage-1 priors" in _texts(at)
    assert at.query_params["A.sql"] == "shop"  # kept in the link
    bad = _app(preset="small", **{"A.preset": "small", "A.sql": "nope"})
    assert "A: sql='nope' ignored: not an example schema" in _warnings(bad)


def _bordered_boxes(node) -> int:
    proto = getattr(node, "proto", None)
    own = int(getattr(node, "type", "") == "flex_container" and "border: true" in str(proto))
    return own + sum(_bordered_boxes(c) for c in getattr(node, "children", {}).values())


@pytest.mark.parametrize("page", ["schema", "connectivity", "features"])
def test_without_a_pinned_a_stage_page_draws_no_empty_comparison_box(page: str) -> None:
    # the A/B block appears once A is pinned; before, an empty bordered box stood under
    # the page's first selector
    at = _open(_app(preset="small"), page_file(page))
    assert _bordered_boxes(at.main) == 0
