"""Figure builders: statistics they show, offline self-contained graph pages, untrusted names."""

from __future__ import annotations

import json
import re

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from plurel_core.database import (
    ColumnSpec,
    Database,
    ForeignKeySpec,
    Schema,
    SCMTrace,
    Table,
    TableSpec,
    Trace,
)
from plurel_core.viz import (
    bipartite_sample,
    block_heatmap,
    block_link_counts,
    block_matrices_figure,
    correlation_frame,
    correlation_heatmap,
    degree_ccdf,
    degree_ccdf_points,
    degree_histogram,
    feature_figure,
    feature_grid_figure,
    fk_degrees,
    generation_positions,
    network_html,
    numeric_codes,
    row_cluster_labels,
    safe_json,
    schema_graph_data,
    schema_graph_html,
    schema_table_frame,
    scm_frame_height,
    scm_graph_data,
    scm_graph_html,
    scm_graph_page,
    scm_node_counts,
    scm_parent_groups,
    time_series_figure,
    ts_components_figure,
    unreferenced_share,
)
from plurel_core.viz.figures import integer_ticks, log_integer_ticks
from plurel_core.viz.network import MAX_TOOLTIP_LINES, STRAIGHT_EDGES_ABOVE, UNUSED_STYLE, table_tooltip

EVIL = '</script><img src=x onerror="alert(1)">&amp;'


def _schema(names: tuple[str, str, str] = ("users", "items", "orders")) -> Schema:
    users, items, orders = names
    t0, t1 = pd.Timestamp("2000-01-01"), pd.Timestamp("2010-01-01")
    tables = {
        users: TableSpec(users, "entity", 50, "row_idx", (), (ColumnSpec("age", "numerical"),)),
        items: TableSpec(items, "entity", 30, "row_idx", (), (ColumnSpec("colour", "categorical", 3),)),
        orders: TableSpec(
            orders,
            "activity",
            200,
            "row_idx",
            (
                ForeignKeySpec(("foreign_row_0",), users, ("row_idx",)),
                ForeignKeySpec(("foreign_row_1",), items, ("row_idx",), nullable=True),
            ),
            (ColumnSpec("amount", "numerical"), ColumnSpec("flag", "boolean", 2)),
            time_col="date",
        ),
    }
    g = nx.MultiDiGraph()
    for name, spec in tables.items():
        g.add_node(name, kind=spec.kind, num_rows=spec.num_rows)
    g.add_edge(users, orders, columns=("foreign_row_0",))
    g.add_edge(items, orders, columns=("foreign_row_1",))
    return Schema(tables, g, "hand", t0, t1, pd.Timestamp("2008-01-01"), pd.Timestamp("2009-01-01"))


def _scm() -> SCMTrace:
    g = nx.DiGraph()
    g.add_node(0, kind="source", type="numerical", source="ts", column=None)
    g.add_node(
        1, kind="latent", type="categorical", num_categories=4, aggregation="max", activations=["tanh"]
    )
    g.add_node(
        2, kind="column", type="numerical", column="amount", aggregation="sum", activations=["relu", "sin"]
    )
    g.add_node(3, kind="column", type="categorical", num_categories=2, column="flag", aggregation="product")
    g.add_node(4, kind="latent", type="numerical", aggregation="max", activations={}, reaches_column=False)
    g.add_edges_from(
        [(0, 1, {"weight": 0.5}), (1, 2, {"weight": -1.0}), (0, 3, {"weight": 2.0}), (2, 3, {}), (1, 4, {})]
    )
    n = 200
    t = np.arange(n) / n
    comps = {"trend": t, "cycle": np.sin(np.pi * np.arange(n) / 20), "noise": np.zeros(n)}
    comps["value"] = (comps["trend"] + comps["cycle"] + comps["noise"]) / 3
    return SCMTrace(g, "Layered", "type_eager", "gaussian", {0: comps}, parent_inputs=["users.age"])


def _database() -> Database:
    schema = _schema()
    rng = np.random.default_rng(0)
    users = pd.DataFrame({"row_idx": np.arange(50), "age": rng.normal(40, 10, 50)})
    items = pd.DataFrame({"row_idx": np.arange(30), "colour": rng.integers(0, 3, 30)})
    u = rng.integers(0, 50, 200)
    amount = users["age"].to_numpy()[u] * 2 + rng.normal(0, 1, 200)  # depends on the parent's age
    fk1 = pd.array(rng.integers(0, 30, 200), dtype="Int64")
    fk1[:5] = pd.NA
    orders = pd.DataFrame(
        {
            "row_idx": np.arange(200),
            "foreign_row_0": u,
            "foreign_row_1": fk1,
            "date": pd.date_range("2000-01-01", "2010-01-01", periods=200),
            "amount": amount,
            "flag": rng.random(200) > 0.5,
        }
    )
    tables = {
        "users": Table("users", users, "row_idx", {}, None, "entity"),
        "items": Table("items", items, "row_idx", {}, None, "entity"),
        "orders": Table(
            "orders",
            orders,
            "row_idx",
            {"foreign_row_0": "users", "foreign_row_1": "items"},
            "date",
            "activity",
        ),
    }
    trace = Trace(schema.graph, "hand", {}, {"orders": _scm()})
    return Database(tables, schema.val_timestamp, schema.test_timestamp, trace, schema, 0)


def _embedded_data(html: str) -> dict:
    m = re.search(r"var data = (\{.*?\});\n", html, re.S)
    assert m, "graph page has no data block"
    return json.loads(m.group(1))


# -- foreign-key statistics -------------------------------------------------------------


def test_fk_degrees_count_children_and_skip_nulls() -> None:
    deg = fk_degrees(np.array([0, 0, 2, -1, 2, 2]), 4)
    assert deg.tolist() == [2, 0, 3, 0]
    assert unreferenced_share(deg) == 0.5


def test_fk_degrees_rejects_out_of_range_rows() -> None:
    with pytest.raises(ValueError, match="out of range"):
        fk_degrees(np.array([0, 5]), 3)


def test_ccdf_is_tail_probability() -> None:
    deg = np.array([0, 1, 1, 2, 4])
    ks, tail = degree_ccdf_points(deg)
    assert ks.tolist() == [1, 2, 4]
    assert np.allclose(tail, [4 / 5, 2 / 5, 1 / 5])
    assert np.all(np.diff(tail) < 0)


def test_degree_figures_are_log_log_and_match_counts() -> None:
    deg = np.array([0, 1, 1, 3])
    hist = degree_histogram(deg)
    assert list(hist.data[0].x) == [0, 1, 3] and list(hist.data[0].y) == [1, 2, 1]
    ccdf = degree_ccdf(deg)
    assert ccdf.layout.xaxis.type == "log" and ccdf.layout.yaxis.type == "log"


def test_block_counts_reveal_aligned_clusters() -> None:
    # two parent clusters (rows 0-9, 10-19), two child clusters; children link within their cluster
    parent_lab = np.repeat([0, 1], 10)
    child_lab = np.repeat([0, 1], 50)
    rows = np.concatenate([np.arange(50) % 10, 10 + np.arange(50) % 10])
    counts = block_link_counts(rows, parent_lab, child_lab)
    assert counts.tolist() == [[50, 0], [0, 50]]
    assert counts.sum() == len(rows)
    assert isinstance(block_heatmap(counts), go.Figure)


def test_block_counts_skip_null_references() -> None:
    counts = block_link_counts(np.array([-1, 0, 1]), np.array([0, 1]), np.array([0, 0, 1]))
    assert counts.sum() == 2


def test_row_cluster_labels_use_hsbm_base_or_contiguous_bins() -> None:
    base = np.array([0, 0, 1, 1, 2])
    assert row_cluster_labels(5, base).tolist() == base.tolist()
    bins = row_cluster_labels(100, None, max_bins=4)
    assert np.all(np.diff(bins) >= 0) and bins.max() == 3 and np.bincount(bins).tolist() == [25] * 4


def test_bipartite_sample_draws_one_link_per_sampled_child() -> None:
    rows = np.arange(300) // 3
    fig = bipartite_sample(rows, 100, np.repeat([0, 1, 2], 100), max_children=30)
    links = sum(sum(1 for v in tr.x if v is None) for tr in fig.data)
    assert links == 30
    assert len(fig.data) == 3  # one trace per child cluster


# -- features ---------------------------------------------------------------------------


def test_block_matrices_share_one_log_colour_scale() -> None:
    narrow = np.array([[0.0014, 0.002], [0.0016, 0.0015]])  # alone it would show full contrast
    wide = np.array([[0.9, 0.0011], [0.0012, 0.9]])
    fig = block_matrices_figure([narrow, wide])
    heatmaps = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 2 and {t.coloraxis for t in heatmaps} == {"coloraxis"}
    axis = fig.layout.coloraxis
    assert axis.cmin == pytest.approx(np.log10(0.0011)) and axis.cmax == pytest.approx(np.log10(0.9))
    # the narrow panel covers a small part of the shared scale
    z = np.asarray(heatmaps[0].z, dtype=float)
    assert (z.max() - z.min()) / (axis.cmax - axis.cmin) < 0.1
    # the colour bar reads in values of B, not log10
    ticks = [float(t) for t in axis.colorbar.ticktext]
    assert min(ticks) <= 0.005 and max(ticks) >= 0.3 and len(ticks) <= 8


def test_feature_figure_histogram_for_floats_bars_for_categories() -> None:
    num = feature_figure(pd.Series(np.linspace(0, 1, 100), name="x"))
    assert isinstance(num.data[0], go.Bar) and len(num.data[0].y) == 40 and sum(num.data[0].y) == 100
    cat = feature_figure(pd.Series([True, False, True, None], name="flag", dtype=object))
    assert isinstance(cat.data[0], go.Bar)
    assert sorted(cat.data[0].x) == ["False", "True"]
    assert "1 missing" in cat.layout.title.text


def test_feature_grid_draws_each_column_as_its_own_panel_in_one_figure() -> None:
    df = pd.DataFrame(
        {
            "x": np.r_[np.linspace(0, 1, 99), np.nan],
            "flag": [True, False] * 50,
            "<b>y</b>": np.arange(100.0) ** 2,
            "c": [1, 2, 2, 3] * 25,
        }
    )
    fig = feature_grid_figure(df, ["x", "flag", "<b>y</b>", "c"], per_row=3)
    assert len(fig.data) == 4  # one panel per column, each as feature_figure draws it
    for trace, col in zip(fig.data, df.columns, strict=True):
        single = feature_figure(df[col]).data[0]
        assert list(trace.y) == list(single.y) and list(trace.x) == list(single.x)
    # every panel has its own axes; categories stay categories; panels do not overlap
    assert len({(t.xaxis, t.yaxis) for t in fig.data}) == 4
    assert fig.layout.xaxis2.type == "category" and fig.layout.xaxis4.type == "category"
    boxes = [(fig.layout[f"xaxis{s}"].domain, fig.layout[f"yaxis{s}"].domain) for s in ("", "2", "3", "4")]
    for i, (xa, ya) in enumerate(boxes):
        for xb, yb in boxes[i + 1 :]:
            assert xa[1] <= xb[0] or xb[1] <= xa[0] or ya[1] <= yb[0] or yb[1] <= ya[0]
    assert boxes[3][1][1] < boxes[0][1][0]  # the fourth panel starts the second row
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0] == "x — 1 missing" and titles[2] == "&lt;b&gt;y&lt;/b&gt;"
    assert fig.layout.height > feature_grid_figure(df, ["x"]).layout.height
    with pytest.raises(ValueError, match="'nope'"):
        feature_grid_figure(df, ["x", "nope"])
    with pytest.raises(ValueError, match="per_row"):
        feature_grid_figure(df, ["x"], per_row=0)


def test_count_and_index_axes_have_whole_number_ticks_only() -> None:
    degrees = np.array([0, 0, 1, 1, 1, 2, 3])  # few distinct counts: plotly would tick 0.5, 1.5, ...
    hist = degree_histogram(degrees)
    for axis in (hist.layout.xaxis, hist.layout.yaxis):
        assert axis.tickformat == ",d" and float(axis.dtick).is_integer() and axis.dtick >= 1
    assert (
        integer_ticks(3)["dtick"] == 1
        and integer_ticks(37)["dtick"] == 5
        and integer_ticks(900)["dtick"] == 200
    )
    heat = block_heatmap(np.ones((3, 2), dtype=int))
    assert heat.layout.xaxis.dtick == 1 and heat.layout.yaxis.dtick == 1
    cat = feature_figure(pd.Series([1, 2, 2, 3], name="c"))
    assert cat.layout.yaxis.dtick == 1
    # the CCDF's k axis is labelled only at 1, 2, 5, 10, ... inside the data (no stray 9)
    ccdf = degree_ccdf(np.array([1, 2, 3, 6, 9, 9, 0]))
    assert list(ccdf.layout.xaxis.tickvals) == [1, 2, 5]
    assert list(log_integer_ticks(1, 700)["tickvals"]) == [1, 2, 5, 10, 20, 50, 100, 200, 500]
    assert list(log_integer_ticks(1, 200_000)["tickvals"]) == [1, 10, 100, 1000, 10_000, 100_000]


def test_time_series_marks_cutoffs_and_rejects_missing_time_column() -> None:
    db = _database()
    t = db.tables["orders"]
    fig = time_series_figure(t.df, "date", ["amount", "flag"], db.val_timestamp, db.test_timestamp)
    assert len(fig.data) == 2
    cutoffs = sorted({pd.Timestamp(s.x0) for s in fig.layout.shapes if s.type == "line"})
    assert cutoffs == [db.val_timestamp, db.test_timestamp]
    assert len(fig.layout.shapes) == 2 * 2  # each cut-off in each panel
    with pytest.raises(ValueError, match="time_col"):
        time_series_figure(t.df, "when", ["amount"])


def test_ts_components_figure_has_each_component() -> None:
    fig = ts_components_figure(_scm().ts_components[0])
    assert [tr.name for tr in fig.data] == ["trend", "cycle", "noise", "value"]


def test_numeric_codes_keeps_missing_values() -> None:
    s = numeric_codes(pd.Series(["b", None, "a", "b"]))
    assert s.isna().tolist() == [False, True, False, False]
    assert s.dropna().tolist() == [1.0, 0.0, 1.0]


def test_correlation_includes_parent_features_through_foreign_keys() -> None:
    db = _database()
    corr = correlation_frame(db, "orders")
    assert "foreign_row_0→users.age" in corr.columns
    assert corr.loc["amount", "foreign_row_0→users.age"] > 0.9  # amount was built from the parent's age
    assert np.allclose(np.diag(corr.to_numpy()), 1.0)
    fig = correlation_heatmap(corr)
    assert fig.data[0].zmin == -1 and fig.data[0].zmax == 1
    with pytest.raises(ValueError, match="unknown table"):
        correlation_frame(db, "nope")


def test_correlation_does_not_mutate_the_database() -> None:
    db = _database()
    before = {n: t.df.copy() for n, t in db.tables.items()}
    correlation_frame(db, "orders")
    for n, t in db.tables.items():
        pd.testing.assert_frame_equal(t.df, before[n])


def test_schema_table_frame_summarises_tables() -> None:
    frame = schema_table_frame(_schema())
    row = frame.set_index("table").loc["orders"]
    assert row["kind"] == "activity" and row["rows"] == 200 and row["foreign keys"] == 2
    assert row["parents"] == "users, items"


# -- graph pages ------------------------------------------------------------------------


def test_positions_follow_topological_generations() -> None:
    pos = generation_positions(_schema().graph)
    assert pos["orders"][0] > pos["users"][0] == pos["items"][0]


def test_schema_graph_distinguishes_entity_and_activity_tables() -> None:
    nodes, edges = schema_graph_data(_schema())
    by_id = {n["id"]: n for n in nodes}
    assert by_id["users"]["shape"] != by_id["orders"]["shape"]
    assert "200 rows" in by_id["orders"]["label"]
    assert "amount: numerical" in by_id["orders"]["title"]
    assert "colour: categorical, 3 categories" in by_id["items"]["title"]
    assert {(e["from"], e["to"]) for e in edges} == {("users", "orders"), ("items", "orders")}


def test_scm_graph_marks_node_kinds_and_hover_details() -> None:
    nodes, edges = scm_graph_data(_scm())
    by_id = {n["id"]: n for n in nodes}
    assert len({by_id[f"n{i}"]["shape"] for i in (0, 1, 2)}) == 3  # source, latent, column differ
    assert "source generator: ts" in by_id["n0"]["title"]
    assert "aggregation: sum" in by_id["n2"]["title"] and "relu, sin" in by_id["n2"]["title"]
    assert "categorical (4 categories)" in by_id["n1"]["title"]
    assert len(edges) == 5
    # a node that reaches no column is greyed out and says why
    assert by_id["n4"]["color"] == UNUSED_STYLE["color"] and by_id["n4"]["shape"] == by_id["n1"]["shape"]
    assert "reaches no column" in by_id["n4"]["title"]
    assert all(by_id[f"n{i}"]["color"] != UNUSED_STYLE["color"] for i in range(4))
    greyed = [e for e in edges if e["color"]["color"] == UNUSED_STYLE["color"]["border"]]
    assert [(e["from"], e["to"]) for e in greyed] == [("n1", "n4")]


def test_scm_parent_inputs_fold_into_one_node_per_parent_table() -> None:
    trace = _scm()
    # dozens of inputs from two parents (one name with a dot) must not stretch the drawing
    trace.parent_inputs = [f"users.f{i}" for i in range(40)] + [f"shop.v1.c{i}" for i in range(38)]
    nodes, _ = scm_graph_data(trace)
    pos = {n["id"]: (n["x"], n["y"]) for n in nodes}
    inputs, groups = scm_parent_groups(trace, pos, parents=["users", "shop.v1"])
    assert [g["cid"] for g in groups] == ["parent:users", "parent:shop.v1"]
    assert "40 inputs" in groups[0]["node"]["label"] and "38 inputs" in groups[1]["node"]["label"]
    assert len(inputs) == 78 and {n["cid"] for n in inputs} == {g["cid"] for g in groups}
    assert {n["label"] for n in inputs if n["cid"] == "parent:shop.v1"} == {f"c{i}" for i in range(38)}
    # folded: the parent-table nodes stay within the SCM's height, so the fitted view is the SCM
    scm_ys = [y for _, y in pos.values()]
    folded = scm_ys + [g["node"]["y"] for g in groups]
    assert max(folded) - min(folded) <= max(max(scm_ys) - min(scm_ys), 2 * 90.0) + 1e-9
    # opened: a table's inputs form a grid no taller than its slot
    for g in groups:
        ys = [n["y"] for n in inputs if n["cid"] == g["cid"]]
        assert max(ys) - min(ys) <= 2 * 90.0
    html = scm_graph_html(trace, parents=["users", "shop.v1"])
    data = _embedded_data(html)
    assert len(data["groups"]) == 2 and "openCluster" in html and "requestFullscreen" in html
    assert 300 <= scm_frame_height(trace) <= 560
    page, height = scm_graph_page(trace, parents=["users", "shop.v1"])
    assert height == scm_frame_height(trace) and _embedded_data(page) == data


def test_scm_counts_a_column_that_is_a_source_as_a_source() -> None:
    # the root of a RandomTree SCM: a column node fed by a ts source generator
    g = nx.DiGraph()
    g.add_node(0, kind="column", is_source=True, source="ts", column="feature_3")
    g.add_node(1, kind="latent", is_source=False, source=None)
    g.add_node(2, kind="column", is_source=False, source=None, column="feature_0")
    g.add_edges_from([(0, 1), (1, 2)])
    counts = scm_node_counts(SCMTrace(g, "RandomTree", "type_eager", "gaussian", parent_inputs=["p.a"]))
    assert counts == {"nodes": 3, "sources": 1, "latent": 1, "columns": 2, "parent_inputs": 1}
    assert scm_node_counts(_scm())["sources"] == 1


def test_wide_table_tooltips_fit_the_graph_frame() -> None:
    cols = tuple(
        ColumnSpec(f"feature_{i}", "categorical" if i % 4 == 0 else "numerical", 5 if i % 4 == 0 else 0)
        for i in range(39)
    )
    fks = tuple(ForeignKeySpec((f"foreign_row_{i}",), "users", ("row_idx",)) for i in range(3))
    wide = TableSpec("table_8", "activity", 900, "row_idx", fks, cols, time_col="date")
    lines = table_tooltip("table_8", wide)
    assert len(lines) <= MAX_TOOLTIP_LINES  # 240 px, the smallest schema frame
    text = "\n".join(lines)
    assert all(f"feature_{i}" in text for i in range(39)), text  # every column still named
    assert "foreign_row_2: foreign key → users" in text and "10 categorical" in text
    assert max(len(line) for line in lines) <= 80
    # a narrow table keeps one line per column, with its type
    narrow = table_tooltip("users", TableSpec("users", "entity", 50, "row_idx", (), cols[:3]))
    assert narrow[-1] == "  feature_2: numerical" and len(narrow) == 5
    # very many columns: the rest is counted, not cut off by the frame
    many = TableSpec(
        "t", "entity", 10, "row_idx", (), tuple(ColumnSpec(f"c{i}", "numerical") for i in range(400))
    )
    lines = table_tooltip("t", many)
    assert len(lines) <= MAX_TOOLTIP_LINES and lines[-1].startswith("  … ") and "more columns" in lines[-1]


def test_graph_pages_are_self_contained() -> None:
    for html in (schema_graph_html(_schema()), scm_graph_html(_scm())):
        assert "vis.Network" in html and "function" in html  # the library is inlined
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html, re.I)
        assert "<link" not in html.lower()
        assert "@import" not in html and "cdn" not in html.lower().replace("cdnjs", "")
        data = _embedded_data(html)
        assert data["nodes"] and "options" in data


def test_graph_pages_can_load_the_script_from_the_app() -> None:
    src = "/app/static/vis-network-0123abcd.min.js"
    for html in (schema_graph_html(_schema(), script_src=src), scm_graph_html(_scm(), script_src=src)):
        assert f'<script src="{src}"></script>' in html
        assert len(html) < len(schema_graph_html(_schema())) / 20  # the library is not inlined
        assert _embedded_data(html)["nodes"]
    for bad in ("//evil.example/x.js", "https://evil.example/x.js", 'x.js"><img src=x>', "/a b.js", "app.js"):
        with pytest.raises(ValueError, match="script_src"):
            network_html([], [], script_src=bad)


def _page_edges(data: dict) -> list[dict]:
    """The edges as the page unpacks them from ``[from, to, title, style]``."""
    out = []
    for source, target, title, style in data["edges"]:
        edge = {**data["edgeStyles"][style], "from": source, "to": target}
        if title is not None:
            edge["title"] = title
        out.append(edge)
    return out


def test_graph_pages_carry_each_edge_style_once_and_draw_dense_graphs_straight() -> None:
    nodes, edges = scm_graph_data(_scm())
    html = network_html(nodes, edges)
    data = _embedded_data(html)
    assert _page_edges(data) == edges
    assert len(data["edgeStyles"]) < len(edges)  # shared styles are sent once
    assert data["options"]["edges"]["smooth"] == {"type": "cubicBezier"}
    # thousands of edges: a fraction of the bytes of plain objects, drawn as straight lines
    many = [{**edges[i % len(edges)], "title": f"edge {i}"} for i in range(STRAIGHT_EDGES_ABOVE + 1)]
    data = _embedded_data(network_html(nodes, many))
    assert _page_edges(data) == many
    assert len(json.dumps(data["edges"])) + len(json.dumps(data["edgeStyles"])) < len(json.dumps(many)) / 2
    assert data["options"]["edges"]["smooth"] is False and data["options"]["edges"]["arrows"]
    no_title = [{"from": "a", "to": "b"}]
    assert _page_edges(_embedded_data(network_html(nodes, no_title))) == no_title


def test_untrusted_names_cannot_break_out_of_the_script() -> None:
    schema = _schema((EVIL, "items", "orders\u2028x"))
    html = schema_graph_html(schema)
    body = html.split("var data = ", 1)[1]
    assert "</script><img" not in body
    assert "<img" not in body and "\u2028" not in body
    data = _embedded_data(html)
    titles = " ".join(n["title"] for n in data["nodes"])
    assert EVIL in titles  # the name survives as text, escaped only for transport
    assert EVIL in {n["id"] for n in data["nodes"]}


def test_safe_json_round_trips() -> None:
    obj = {"a": "</script>&<>", "b": ["\u2028", 1.5]}
    text = safe_json(obj)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == obj


def test_network_html_rejects_bad_height() -> None:
    with pytest.raises(ValueError, match="height"):
        network_html([], [], height=0)


def test_plotly_labels_show_names_literally() -> None:
    fig = feature_figure(pd.Series([1.0, 2.0, 3.0], name="<b>x</b>"))
    assert "<b>" not in fig.layout.title.text
    assert "&lt;b&gt;x" in fig.layout.title.text


def test_graph_layout_tolerates_self_references_and_cycles() -> None:
    schema = _schema()
    schema.graph.add_edge("orders", "orders", columns=("parent_order",))  # self-reference
    schema.graph.add_edge("orders", "users", columns=("last_order",))  # closes a cycle
    pos = generation_positions(schema.graph)
    assert set(pos) == {"users", "items", "orders"}
    assert pos["orders"][0] > pos["users"][0]
    g = nx.DiGraph([(0, 1), (1, 2), (2, 0)])
    assert len(set(generation_positions(g).values())) == 3


def test_fit_height_follows_the_drawing_aspect() -> None:
    from plurel_core.viz import fit_height

    wide = [{"x": float(i) * 200, "y": 0.0} for i in range(20)]
    tall = [{"x": 0.0, "y": float(i) * 200} for i in range(20)]
    assert fit_height(wide) == 240 and fit_height(tall) == 520
    assert 240 <= fit_height(schema_graph_data(_schema())[0]) <= 520


@pytest.mark.parametrize("missing", ["plotly", "pyvis"])
def test_without_the_viz_extra_the_figure_builders_name_it(missing: str) -> None:
    import subprocess
    import sys

    # a module set to None in sys.modules cannot be imported: as if it were not installed
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "try:\n"
        "    import plurel_core.viz as viz\n"
        "    viz.vis_network_js()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
        "import plurel_core, plurel_core.cli\n"  # the core itself does not need it
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "pip install 'plurel-explorer[viz]'" in out.stdout
