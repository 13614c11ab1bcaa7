"""The Streamlit app under AppTest, plus the URL encoding and config loading it relies on."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.controls import MAX_SLIDER_STEPS, float_widget, log_grid
from explorer.pages import PAGES, page_file
from explorer.sidebar import load_bundle
from explorer.urlstate import all_prior_paths, decode_state, decode_value, encode_state, encode_value
from plurel_core import export
from plurel_core.config import PRESETS, Config, ConfigError
from plurel_core.viz import vis_network_js

from .apptest import APP, open_app, open_control_groups, open_page

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


# -- URL state ----------------------------------------------------------------------------


def _non_default_values(path: str) -> list:
    """A few valid values of a prior that differ from the paper's default."""
    spec = Config.spec(path)
    default = Config().get(path)
    lo, hi = spec.lo, spec.hi
    if spec.kind == "int_range":
        cands = [(int(lo), int(lo)), (int(lo), int(hi)), (int(lo), int(lo) + 1)]
    elif spec.kind == "float_range":
        cands = [(float(lo), float(hi)), (float(lo), float(lo)), ((lo + hi) / 3, (lo + hi) / 2)]
    elif spec.kind == "set":
        cands = [spec.options[:1], spec.options[-1:], spec.options[::2]]
    elif spec.kind == "int":
        cands = [int(hi), int(lo)]
    elif spec.kind == "float":
        cands = [float(hi), float(lo), lo + (hi - lo) / 7]
    elif spec.kind == "bool":
        cands = [not default]
    else:
        cands = ["2001-02-03", "1995-06-30"]
    return [c for c in cands if c != default]


@pytest.mark.parametrize("path", all_prior_paths())
def test_every_prior_round_trips_through_the_url(path: str) -> None:
    for value in _non_default_values(path):
        cfg = Config().with_value(path, value)
        if cfg.problems():
            continue
        params = encode_state(cfg, 7, "paper")
        assert params[path] == encode_value(Config.spec(path), cfg.get(path))
        state, notices = decode_state(params)
        assert notices == []
        assert state.config == cfg and state.seed == 7


def test_url_holds_only_priors_that_differ_from_the_preset() -> None:
    cfg = Config.preset("small").with_value("features.aggregations", ("sum", "max"))
    cfg = cfg.with_value("schema.num_tables", (4, 8))
    params = encode_state(cfg, 3, "small", {"table": "table_2"})
    assert params == {
        "seed": "3",
        "preset": "small",
        "features.aggregations": "sum,max",
        "schema.num_tables": "4-8",
        "table": "table_2",
    }
    state, notices = decode_state(params)
    assert (
        notices == []
        and state.config == cfg
        and state.preset == "small"
        and state.view == {"table": "table_2"}
    )


def test_documented_example_url_decodes() -> None:
    state, notices = decode_state(
        {"seed": "3", "preset": "small", "features.aggregations": "sum,max", "schema.num_tables": "4-8"}
    )
    assert notices == []
    assert state.seed == 3 and state.preset == "small"
    assert state.config.features.aggregations == ("sum", "max")
    assert state.config.schema.num_tables == (4, 8)
    assert state.config.schema.entity_rows == Config.preset("small").schema.entity_rows


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("-1-0.5", "float_range", (-1.0, 0.5)),
        ("-2--1", "float_range", (-2.0, -1.0)),
        ("1e-06-0.002", "float_range", (1e-6, 0.002)),
        ("5", "int_range", (5, 5)),
        ("3..9", "int_range", (3, 9)),
    ],
)
def test_range_text_forms(text: str, kind: str, expected: tuple) -> None:
    from plurel_core.config import PriorSpec

    assert decode_value(PriorSpec(kind, ""), text) == expected


def test_malformed_url_falls_back_and_names_what_was_ignored() -> None:
    params = {
        "seed": "abc",
        "preset": "nope",
        "schema.num_tables": "9-3",  # lo > hi
        "features.aggregations": "sum,median",
        "schema.categorical_prob": "lots",
        "bogus": "1",
        "connectivity.levels": "2-3",  # valid: kept
    }
    state, notices = decode_state(params)
    text = "\n".join(notices)
    for name in (
        "seed",
        "preset",
        "schema.num_tables",
        "features.aggregations",
        "schema.categorical_prob",
        "bogus",
    ):
        assert name in text
    assert state.seed == 0 and state.preset == "paper"
    assert state.config == Config().with_value("connectivity.levels", (2, 3))


def test_url_combination_errors_drop_the_offending_prior() -> None:
    state, notices = decode_state({"schema.time_start": "2020-01-01", "schema.time_end": "2010-01-01"})
    assert state.config.problems() == []
    assert any("schema.time_end" in n for n in notices)


# -- control helpers and config files ------------------------------------------------------


def test_slider_steps_hit_defaults_and_bounds() -> None:
    for path in all_prior_paths():
        spec = Config.spec(path)
        if spec.kind in ("float", "float_range") and not spec.log:
            value = Config().get(path)
            values = list(value) if isinstance(value, tuple) else [value]
            widget, step = float_widget(spec, values)
            if widget == "slider":
                for v in [spec.lo, spec.hi, *values]:
                    assert abs(v / step - round(v / step)) < 1e-6, (path, v, step)
                assert (spec.hi - spec.lo) / step <= MAX_SLIDER_STEPS
            else:
                assert step >= (spec.hi - spec.lo) / 1000, path


def test_log_grid_contains_bounds_and_current_values() -> None:
    grid = log_grid(1, 1_000_000, (537, 2000), integer=True)
    assert grid[0] == 1 and grid[-1] == 1_000_000 and 537 in grid and 2000 in grid
    assert grid == sorted(set(grid))


def test_config_files_load_bundles_and_bare_configs() -> None:
    cfg = Config.preset("small").with_value("schema.num_tables", (4, 5))
    loaded, seed, sql = load_bundle(export.config_bundle(cfg, 11))
    assert (loaded, seed, sql) == (cfg, 11, None)
    loaded, seed, _ = load_bundle(json.dumps(cfg.to_dict()))
    assert loaded == cfg and seed is None
    with pytest.raises(ConfigError, match="num_tables"):
        load_bundle(json.dumps({"schema": {"num_tables": [9, 3]}}))
    with pytest.raises(ConfigError):
        load_bundle("{not json")


# -- the app -----------------------------------------------------------------------------


def _app(**query: str) -> AppTest:
    return open_app(TIMEOUT, **query)


def _open(at: AppTest, page: str) -> AppTest:
    """Switch to ``page`` with every control group open (a closed group builds no controls)."""
    return open_control_groups(open_page(at, page_file(page)))


def _iframes(at: AppTest) -> list[str]:
    return [el.proto.srcdoc for el in at.get("iframe")]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _control(at: AppTest, kind: str, path: str):
    widgets = getattr(at, kind)
    return next(w for w in widgets if w.key and w.key.endswith(":" + path))


@pytest.mark.parametrize(("preset", "seed"), [("paper", 0), ("small", 0), ("small", 5), ("paper", 3)])
def test_every_page_runs_and_shows_its_views(preset: str, seed: int) -> None:
    at = _app(preset=preset, seed=str(seed))
    assert at.get("graphviz_chart") and _iframes(at), "home: diagram and example graph"
    assert at.metric and _metric(at, "Tables")

    _open(at, "schema")
    assert len(_iframes(at)) == 1 and "vis.Network" in _iframes(at)[0]
    # the graph loads the script the app serves from static/, instead of carrying it
    served = re.search(r'<script src="/app/static/(vis-network-[0-9a-f]{12}\.min\.js)">', _iframes(at)[0])
    assert served and len(_iframes(at)[0]) < 100_000
    assert (ROOT / "static" / served.group(1)).read_text(encoding="utf-8") == vis_network_js()
    assert _control(at, "slider", "schema.num_tables").value == Config.preset(preset).schema.num_tables
    assert at.multiselect and at.date_input

    _open(at, "connectivity")
    assert len(at.get("plotly_chart")) >= 4  # histogram, CCDF, block structure, bipartite sample
    assert _control(at, "slider", "connectivity.levels")

    _open(at, "features")
    assert len(_iframes(at)) == 1 and "source generator" in _iframes(at)[0]
    assert at.get("plotly_chart"), "feature distributions"
    assert _control(at, "multiselect", "features.activations")

    _open(at, "export")
    assert len(at.get("download_button")) >= 6
    assert at.query_params["seed"] == str(seed) and at.query_params["preset"] == preset


def test_the_block_matrices_are_built_only_while_their_panel_is_open() -> None:
    at = _open(_app(preset="paper", seed="1"), "connectivity")
    panel = [e for e in at.expander if e.label.startswith("Block matrices")]
    assert len(panel) == 1 and not panel[0].get("plotly_chart")
    shown = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    at.session_state["block_matrices_open"] = True
    at.run()
    assert not at.exception
    (panel,) = [e for e in at.expander if e.label.startswith("Block matrices")]
    (chart,) = panel.get("plotly_chart")
    assert json.loads(chart.proto.spec)["data"][0]["type"] == "heatmap"
    # the other charts are the same ones
    assert [json.loads(c.proto.spec) for c in at.get("plotly_chart") if c is not chart] == shown


def test_set_priors_narrow_to_one_option_or_a_group_in_one_step() -> None:
    at = _open(_app(preset="small"), "features")

    def pick(choice: str) -> None:
        box = next(s for s in at.selectbox if s.key and s.key.endswith(":features.activations"))
        box.set_value(choice).run()
        assert not at.exception and not at.warning

    pick("only sin")
    assert at.query_params["features.activations"] == "sin"
    assert _control(at, "multiselect", "features.activations").value == ["sin"]
    pick("periodic (3)")
    assert at.query_params["features.activations"] == "sin,cos,random_sines"
    pick(f"all {len(Config.spec('features.activations').options)}")
    assert "features.activations" not in at.query_params


def test_schema_control_changes_the_schema_and_the_url() -> None:
    at = _open(_app(preset="small"), "schema")
    before = _iframes(at)[0]
    _control(at, "slider", "schema.num_tables").set_value((3, 3)).run()
    assert not at.exception
    assert _metric(at, "Tables") == "3"
    assert _iframes(at)[0] != before
    assert at.query_params["schema.num_tables"] == "3-3"


def test_stage3_control_keeps_schema_and_foreign_keys() -> None:
    at = _open(_app(preset="small", seed="2"), "schema")
    schema_html = _iframes(at)[0]
    _open(at, "connectivity")
    fk_figs = [el.proto.spec for el in at.get("plotly_chart")]
    _open(at, "features")
    scm_before = _iframes(at)[0]
    _control(at, "multiselect", "features.aggregations").set_value(["max"]).run()
    assert not at.exception
    assert _iframes(at)[0] != scm_before and "aggregation: max" in _iframes(at)[0]
    assert "aggregation: sum" not in _iframes(at)[0]
    _open(at, "connectivity")
    assert [el.proto.spec for el in at.get("plotly_chart")] == fk_figs
    _open(at, "schema")
    assert _iframes(at)[0] == schema_html
    # the change survived the page switches (session state, not widget state)
    assert at.query_params["features.aggregations"] == "max"
    _open(at, "features")
    assert _control(at, "multiselect", "features.aggregations").value == ["max"]


def test_connectivity_control_changes_the_degree_distribution() -> None:
    at = _open(_app(preset="small", seed="1"), "connectivity")
    before = [el.proto.spec for el in at.get("plotly_chart")]
    _control(at, "slider", "connectivity.levels").set_value((1, 1)).run()
    _control(at, "slider", "connectivity.parent_clusters").set_value((1, 1)).run()
    assert not at.exception
    assert [el.proto.spec for el in at.get("plotly_chart")] != before


def test_url_restores_state_in_a_fresh_session() -> None:
    at = _app(seed="4", preset="small", **{"schema.num_tables": "5-5", "features.aggregations": "sum"})
    assert not at.warning
    _open(at, "schema")
    assert _metric(at, "Tables") == "5"
    assert _control(at, "slider", "schema.num_tables").value == (5, 5)
    other = _open(
        _app(seed="4", preset="small", **{"schema.num_tables": "5-5", "features.aggregations": "sum"}),
        "schema",
    )
    assert _iframes(other) == _iframes(at)  # same URL, same database


def test_an_approximation_that_is_on_is_shown_on_every_page() -> None:
    at = _app(preset="small", **{"features.encoder_knots": "64"})
    for page in (None, "schema", "connectivity", "features", "export"):
        if page:
            _open(at, page)
        notes = [w.value for w in at.sidebar.warning]
        assert any("Approximation on" in n and "encoder_knots" in n and "64" in n for n in notes), page
    assert not any("Approximation on" in w.value for w in _app(preset="small").sidebar.warning)


def test_malformed_url_shows_a_warning_and_uses_defaults() -> None:
    at = _app(seed="x", **{"schema.num_tables": "banana", "nope": "1", "preset": "small"})
    text = " ".join(w.value for w in at.warning)
    assert "seed" in text and "schema.num_tables" in text and "nope" in text
    assert at.query_params["seed"] == "0"
    assert "schema.num_tables" not in at.query_params


def test_invalid_combination_is_an_error_message_not_a_traceback() -> None:
    at = _open(_app(preset="small"), "schema")
    _control(at, "date_input", "schema.time_end").set_value(dt.date(1980, 1, 1)).run()
    assert not at.exception
    assert any("schema.time_end" in e.value for e in at.error)
    assert at.query_params["schema.time_end"] == "1980-01-01"  # the URL still records the change


def test_too_large_database_is_a_labelled_row_sampled_preview() -> None:
    at = _open(_app(preset="small", **{"schema.activity_rows": "2000000-3000000"}), "features")
    assert not at.exception and not at.error
    notes = " ".join(i.value for i in at.info)
    assert "Row-sampled preview" in notes and "schema.activity_rows" in notes and "limit" in notes
    _open(at, "schema")  # the schema itself is drawn in full
    assert _iframes(at) and not at.exception


def test_large_preset_works_past_stage_1_and_export_offers_the_command() -> None:
    from explorer.stages import MAX_CELLS, preview_schema, row_scale, schema_cells
    from plurel_core.generate import sample_schema

    schema = sample_schema(Config.preset("large").schema, 0)
    assert schema_cells(schema)[0] > MAX_CELLS
    small = preview_schema(schema, row_scale(schema))
    assert schema_cells(small)[0] <= MAX_CELLS
    for name, spec in schema.tables.items():  # same factor everywhere: order of row counts kept
        assert small.tables[name].num_rows <= spec.num_rows
        assert small.graph.nodes[name]["num_rows"] == small.tables[name].num_rows
    at = _app(preset="large", seed="0")
    for page in ("connectivity", "features"):
        _open(at, page)
        assert not at.error, [e.value for e in at.error]
        assert any("Row-sampled preview" in i.value for i in at.info), page
        assert at.get("plotly_chart")
    _open(at, "export")
    assert not at.error
    assert "--preset large" in _command(at)
    labels = _buttons(at)
    assert "Config bundle (JSON + seed)" in labels and "SQLite database · preview" in labels


def test_reset_and_new_seed_buttons() -> None:
    at = _app(preset="small", seed="9")
    next(b for b in at.sidebar.button if "New seed" in b.label).click().run()
    assert at.query_params["seed"] != "9"
    next(b for b in at.sidebar.button if "Reset" in b.label).click().run()
    assert at.query_params["preset"] == "paper"
    assert set(at.query_params) == {"seed", "preset"}


def test_a_typed_seed_keeps_every_control_and_new_seed_shows_its_seed() -> None:
    # a seed typed into the box changes the database but redraws no control (a redraw
    # makes the browser build every widget of the page anew); the "New seed" button's
    # seed must appear in the box, which takes a redraw
    at = _app(preset="small", seed="9")
    _open(at, "schema")
    keys = sorted(w.key for w in at.slider)
    tables = next(m.value for m in at.metric if m.label == "Tables")
    for seed in ("10", "11", "12", "13"):
        next(n for n in at.sidebar.number_input if n.label == "Seed").set_value(int(seed)).run()
        assert not at.exception and at.query_params["seed"] == seed
        assert sorted(w.key for w in at.slider) == keys
        if next(m.value for m in at.metric if m.label == "Tables") != tables:
            break
    else:
        raise AssertionError("four seeds gave the same number of tables")
    next(b for b in at.sidebar.button if "New seed" in b.label).click().run()
    drawn = next(n for n in at.sidebar.number_input if n.label == "Seed").value
    assert str(drawn) == at.query_params["seed"] != seed
    assert sorted(w.key for w in at.slider) != keys


def test_presets_are_offered_with_descriptions() -> None:
    at = _app()
    box = next(s for s in at.sidebar.selectbox if s.label == "Preset")
    assert list(box.options) == list(PRESETS)
    box.set_value("small").run()
    assert at.query_params["preset"] == "small"
    assert PRESETS["small"]["description"] in " ".join(c.value for c in at.sidebar.caption)


def test_every_control_states_its_default() -> None:
    at = _app()
    drawn = set()
    for page in ("schema", "connectivity", "features"):
        _open(at, page)
        widgets = [
            *at.slider,
            *at.multiselect,
            *at.toggle,
            *at.select_slider,
            *at.number_input,
            *at.date_input,
        ]
        for w in widgets:
            if w.key and w.key.startswith("ctl"):
                path = w.key.split(":", 1)[1]
                assert "default: " in (w.help or "") and Config.spec(path).help in w.help, w.key
                drawn.add(path)
    assert drawn == set(all_prior_paths())  # every prior has a control


def test_sql_example_schema_drives_every_stage() -> None:
    at = _open(_app(preset="small"), "schema")
    box = next(s for s in at.selectbox if s.label == "Example schema")
    assert "shop" in box.options
    box.set_value("shop").run()
    assert not at.exception and not at.error
    assert _metric(at, "Tables") == "7"
    assert any("imported from SQL" in m.value for m in at.markdown)
    assert at.query_params["sql"] == "shop"
    for page in ("connectivity", "features", "export"):
        _open(at, page)
        assert not at.error, [e.value for e in at.error]
    # a shared URL naming the example restores it
    other = _with_sql("shop", via="link")
    assert _iframes(other) == _iframes(_open(at, "schema"))
    next(b for b in at.button if b.label == "Use Stage-1 priors again").click().run()
    assert "sql" not in at.query_params


def test_stage3_change_does_not_rerun_stages_1_and_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import explorer.stages as stages

    calls = {"schema": 0, "fks": 0, "features": 0}

    def counting(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(stages, "sample_schema", counting("schema", stages.sample_schema))
    monkeypatch.setattr(stages, "sample_foreign_keys", counting("fks", stages.sample_foreign_keys))
    monkeypatch.setattr(stages, "sample_features", counting("features", stages.sample_features))
    at = _open(_app(preset="small", seed="12345"), "features")
    before = dict(calls)
    _control(at, "slider", "features.mlp_layers").set_value((1, 1)).run()
    assert not at.exception
    assert calls["features"] == before["features"] + 1
    assert (calls["schema"], calls["fks"]) == (before["schema"], before["fks"])
    _control(at, "slider", "features.mlp_layers").set_value((2, 4)).run()  # back: a cache hit
    assert calls["features"] == before["features"] + 1


def test_downloads_produce_readable_files() -> None:
    import io
    import sqlite3
    import tempfile
    import zipfile

    from explorer.downloads import DOWNLOADS, download_bytes
    from plurel_core import generate

    cfg = Config.preset("small")
    db = generate(cfg, 0)
    for fmt in DOWNLOADS:
        data = download_bytes(db, fmt, cfg)
        assert data, fmt
        if fmt == "sqlite":
            assert data.startswith(b"SQLite format 3")
            with tempfile.NamedTemporaryFile(suffix=".sqlite") as f:
                f.write(data)
                f.flush()
                con = sqlite3.connect(f.name)
                names = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
                con.close()
            assert names == set(db.tables)
        elif fmt == "ddl":
            assert data.decode().count("CREATE TABLE") == len(db.tables)
        else:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
            assert len([n for n in names if n.endswith((".parquet", ".csv"))]) == len(db.tables), fmt
            if fmt == "relbench":
                assert "plurel.json" in names
    with pytest.raises(ValueError, match="format"):
        download_bytes(db, "xlsx")


def test_download_names_tell_priors_apart() -> None:
    from explorer.downloads import file_stem

    cfg = Config.preset("small")
    other = cfg.with_value("features.aggregations", ("max",))
    stem = file_stem(cfg, 3)
    assert re.fullmatch(r"plurel_seed3_[0-9a-f]{8}", stem)
    assert stem == file_stem(Config.preset("small"), 3)
    assert (
        len({stem, file_stem(other, 3), file_stem(cfg, 4), file_stem(cfg, 3, "CREATE TABLE a (id INT);")})
        == 4
    )


def test_tabs_show_rows_time_series_sources_and_correlations() -> None:
    at = _open(_app(preset="small", seed="0"), "schema")
    at.session_state["schema_tabs"] = "Rows preview"
    at.run()
    assert not at.exception
    assert any(c.value.startswith("First 200 of") for c in at.main.caption)
    assert at.dataframe[0].value.columns[0] == "row_idx"

    _open(at, "features")
    db_tables = list(next(s for s in at.selectbox if s.label == "Table").options)
    seen = set()
    for name in db_tables:  # entity tables have no time axis; some tables have no ts source
        box = next(s for s in at.selectbox if s.label == "Table")
        box.set_value(name).run()
        for tab in ("Over time", "ts sources", "Correlations"):
            at.session_state["feature_tabs"] = tab
            at.run()
            assert not at.exception, (name, tab)
            if at.get("plotly_chart"):
                seen.add(tab)
    assert seen == {"Over time", "ts sources", "Correlations"}


# -- diagnostics panel and corpus command ---------------------------------------------------

_DIAG_LABEL = re.compile(r"^\*\*Diagnostics \((\d+) warnings?(?:, (\d+) notes?)?\)\*\*$")


def _diagnostics(at: AppTest) -> tuple[int, int, str]:
    """``(warnings, notes, markdown text)`` of the page's one diagnostics panel, opened."""
    at.session_state["diagnostics_open"] = True
    at.run()
    assert not at.exception
    panels = [e for e in at.expander if e.label.startswith("Diagnostics")]
    assert len(panels) == 1, [e.label for e in at.expander]
    texts = [md.value for md in panels[0].markdown]
    m = _DIAG_LABEL.match(texts[0])
    assert m, texts[0]
    return int(m.group(1)), int(m.group(2) or 0), "\n".join(texts[1:])


def _expected_counts(cfg: Config, seed: int) -> tuple[int, int]:
    from plurel_core.diagnostics import diagnose
    from plurel_core.generate import generate

    found = diagnose(generate(cfg, seed))
    warnings = sum(d.severity == "warning" for d in found)
    return warnings, len(found) - warnings


def test_diagnostics_panel_on_every_stage_page_with_its_count() -> None:
    # small preset, seed 5: table_3.feature_5 is binarised into a column that is 99.6 % True
    at = _app(preset="small", seed="5")
    expected = _expected_counts(Config.preset("small"), 5)
    assert expected[0] >= 1
    for page in ("schema", "connectivity", "features"):
        _open(at, page)
        warnings, notes, text = _diagnostics(at)
        assert (warnings, notes) == expected, page
        assert "table\\_3\\.feature\\_5" in text and "`postprocess.binarize_categoricals`" in text, page
    # Stage 3 lists the feature findings in its own tab, the first one
    panel = next(e for e in at.expander if e.label.startswith("Diagnostics"))
    tabs = [t.label for t in panel.tabs]
    assert tabs[0].startswith("Feature columns and tables (") and tabs[1].startswith("Other stages (")
    _control(at, "toggle", "postprocess.binarize_categoricals").set_value(False).run()
    assert not at.exception
    warnings, notes, text = _diagnostics(at)
    off = Config.preset("small").with_value("postprocess.binarize_categoricals", False)
    assert (warnings, notes) == _expected_counts(off, 5)
    assert "postprocess.binarize_categoricals" not in text


def test_connectivity_page_lists_degenerate_foreign_keys_first() -> None:
    # 5000 parent rows and 100 child rows: 98 % of the parents are never referenced
    rows = {"schema.entity_rows": "5000-5000", "schema.activity_rows": "100-100"}
    at = _open(_app(preset="small", seed="1", **rows), "connectivity")
    warnings, _, text = _diagnostics(at)
    assert warnings >= 2
    panel = next(e for e in at.expander if e.label.startswith("Diagnostics"))
    own = panel.tabs[0]
    assert own.label.startswith("Foreign keys (")
    head = "\n".join(md.value for md in own.markdown)
    assert "foreign\\_row\\_0" in head and "never referenced" in head
    assert "`connectivity.parent_clusters`" in head
    _open(at, "features")  # on Stage 3 the same findings are in the other stages' tab
    _diagnostics(at)
    panel = next(e for e in at.expander if e.label.startswith("Diagnostics"))
    assert "never referenced" in "\n".join(md.value for md in panel.tabs[1].markdown)


def test_diagnostics_do_not_run_over_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import explorer.diagnostics_panel as panel

    calls = []
    monkeypatch.setattr(panel, "diagnose", lambda db: calls.append(db) or [])
    at = _open(_app(preset="small", **{"schema.activity_rows": "2000000-3000000"}), "schema")
    assert _iframes(at), "the schema itself is still drawn"
    label = next(e.label for e in at.expander if e.label.startswith("Diagnostics"))
    assert label == "Diagnostics (not run: over the size limit)"
    at.session_state["diagnostics_open"] = True
    at.run()
    assert not at.exception and calls == []


def test_diagnostics_run_only_when_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    import explorer.diagnostics_panel as panel
    import explorer.stages as stages

    calls = {"diagnose": 0, "features": 0}
    real_diagnose, real_features = panel.diagnose, stages.sample_features

    def diagnose(db):
        calls["diagnose"] += 1
        return real_diagnose(db)

    def features(*args, **kwargs):
        calls["features"] += 1
        return real_features(*args, **kwargs)

    monkeypatch.setattr(panel, "diagnose", diagnose)
    monkeypatch.setattr(stages, "sample_features", features)
    at = _open(_app(preset="small", seed="77"), "connectivity")
    _control(at, "slider", "connectivity.levels").set_value((1, 1)).run()
    # closed by default: neither the check nor the Stage-3 generation it needs has run
    label = next(e.label for e in at.expander if e.label.startswith("Diagnostics"))
    assert label == "Diagnostics: checks of the generated database"
    assert calls["diagnose"] == 0
    before = calls["features"]  # the home page's database
    _control(at, "slider", "connectivity.levels").set_value((1, 2)).run()
    assert calls == {"diagnose": 0, "features": before}
    _diagnostics(at)
    assert calls == {"diagnose": 1, "features": before + 1}
    # the label stays while open (it is part of the panel's identity: a new one would close it)
    _control(at, "slider", "connectivity.levels").set_value((1, 3)).run()
    panel = next(e for e in at.expander if e.label.startswith("Diagnostics"))
    assert panel.label == "Diagnostics: checks of the generated database"
    assert panel.markdown and panel.markdown[0].value.startswith("**Diagnostics (")


def test_diagnostics_markdown_escapes_untrusted_names() -> None:
    from explorer.diagnostics_panel import Finding, finding_markdown, split_by_stage
    from plurel_core.diagnostics import Diagnostic

    name = "t**x**<img src=x>[a](http://e):red[y]"
    d = Diagnostic("warning", name, "c_`1`", f"near-duplicate of {name}", "features.column_node_frac")
    line = finding_markdown(Finding(d, "column"))
    bare = re.sub(r"\\.", "", line)  # what markdown would still interpret
    assert "<" not in bare and "[" not in bare and "`1`" not in bare
    assert bare.count("**") == 2  # only the bold around table.column
    assert "`features.column_node_frac`" in line
    fk = Finding(Diagnostic("warning", "a", "fk", "m", "connectivity.levels"), "fk")
    col = Finding(d, "column")
    assert split_by_stage([col, fk], "connectivity") == ([fk], [col])
    assert split_by_stage([col, fk], "features") == ([col], [fk])
    with pytest.raises(ValueError, match="stage"):
        split_by_stage([col], "export")


def _command(at: AppTest) -> str:
    return next(c.value for c in at.code if c.value.startswith("python -m plurel_core corpus"))


def _buttons(at: AppTest) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


def test_export_shows_the_corpus_command_for_the_priors() -> None:
    at = _open(_app(preset="small", seed="3"), "export")
    cmd = _command(at)
    assert "corpus" in cmd and "--num-dbs 1024" in cmd and "--preset small" in cmd
    assert "--seed-offset 3" in cmd and "--config" not in cmd
    assert "plurel-config.json" not in _buttons(at)
    next(n for n in at.number_input if n.label == "Databases").set_value(10).run()
    next(s for s in at.selectbox if s.label == "Format").set_value("sqlite").run()
    next(t for t in at.text_input if t.label.startswith("Dask scheduler")).input("tcp://h:8786").run()
    cmd = _command(at)
    assert "--num-dbs 10 " in cmd and "--format sqlite" in cmd and "--scheduler tcp://h:8786" in cmd
    # a changed prior: the command reads a config file, offered right beside it
    _open(at, "features")
    _control(at, "multiselect", "features.aggregations").set_value(["max"]).run()
    _open(at, "export")
    cmd = _command(at)
    assert "--config plurel-config.json" in cmd and "--preset" not in cmd
    assert "plurel-config.json" in _buttons(at)


def test_export_command_names_the_sql_schema() -> None:
    at = _with_sql("shop", via="link", page="export")
    cmd = _command(at)
    assert "--preset small" in cmd and "--schema shop.sql" in cmd
    assert "Schema SQL" in _buttons(at)


# -- SQL uploads ------------------------------------------------------------------------------


def _with_sql(
    name: str, text: str = "", *, via: str = "upload", at: AppTest | None = None, page: str = "schema"
) -> AppTest:
    """The app on ``page`` after an SQL schema is put in ``via`` one of the ways a user does:

    - ``"upload"``: ``text`` as the file ``name`` in the schema page's DDL upload, which
      imports it first and refuses what it cannot import;
    - ``"bundle"``: ``(name, text)`` straight into the session, as a config bundle's
      ``schema_sql`` leaves it (not imported before the page runs);
    - ``"example"``: the shipped example ``name``, picked on the schema page;
    - ``"link"``: the shipped example ``name`` in the URL (``sql=``), the app opened with it.

    ``at``: the session to put it in (on the schema page); a fresh one (preset small) if None.
    """
    if via == "link":
        assert at is None, "a link opens a fresh session"
        return _open(_app(preset="small", sql=name), page)
    at = at if at is not None else _open(_app(preset="small"), "schema")
    if via == "upload":
        box = next(u for u in at.file_uploader if u.label == "Upload DDL (.sql)")
        box.upload(name, text.encode(), "application/sql").run()
    elif via == "bundle":
        at.session_state["px_sql"] = (name, text)
        at.run()
    elif via == "example":
        next(s for s in at.selectbox if s.label == "Example schema").set_value(name).run()
    else:
        raise ValueError(f"via: got {via!r}")
    assert not at.exception, [e.value for e in at.exception]
    return at if page == "schema" else _open(at, page)


def test_rejected_sql_is_an_error_message() -> None:
    at = _with_sql("bad", "CREATE TABLE t (id INTEGER PRIMARY KEY);\nDROP TABLE t;", via="bundle")
    assert any("could not be imported" in e.value and "DROP TABLE" in e.value.upper() for e in at.error)


def test_deeply_nested_sql_is_an_error_message_not_a_traceback() -> None:
    at = _with_sql(
        "deep", "CREATE TABLE t (a INT CHECK " + "(" * 5000 + "a > 0" + ")" * 5000 + ");", via="bundle"
    )
    assert any("nested 5001 deep" in e.value for e in at.error)


def test_skipped_statements_are_listed_beside_the_sql_upload() -> None:
    at = _with_sql(
        "dump",
        "CREATE TABLE t (id INTEGER PRIMARY KEY);\nCREATE VIEW v AS SELECT 1;\nATTACH DATABASE 'x.db' AS x;",
        via="bundle",
    )
    assert not at.error
    assert any("1 × CREATE VIEW (line 2); 1 × ATTACH (line 3)" in t.value for t in at.text)


def test_rejected_sql_upload_keeps_the_previous_schema() -> None:
    at = _with_sql("shop", via="example")
    assert _metric(at, "Tables") == "7"
    _with_sql("bad.sql", "CREATE TABLE t (id INTEGER PRIMARY KEY);\nDROP TABLE t;", at=at)
    # the error sits beside the upload; the working schema, the sidebar and the URL stay
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.main.error]  # markdown escapes removed
    assert len(errors) == 1 and "bad.sql" in errors[0] and "previous schema stays" in errors[0]
    assert _metric(at, "Tables") == "7"
    assert any("shop" in i.value for i in at.sidebar.info)
    assert not any("bad" in i.value for i in at.sidebar.info)
    assert at.query_params["sql"] == "shop"
    _open(at, "features")  # the other pages still draw the working schema
    assert not at.error and _iframes(at)


def test_uploaded_schema_says_it_is_not_in_the_link() -> None:
    from explorer.state import example_schemas

    at = _with_sql("mine.sql", "CREATE TABLE a (id INTEGER PRIMARY KEY, v REAL);")
    assert _metric(at, "Tables") == "1"
    assert "sql" not in at.query_params
    assert any("not part of the page's link" in w.value for w in at.main.warning)
    assert any("not in the page's link" in w.value for w in at.sidebar.warning)
    # a copy of a shipped example is named in the link, so the link works elsewhere
    shop = example_schemas()["shop"].read_text(encoding="utf-8")
    _with_sql("my_copy.sql", shop, at=at)
    assert at.query_params["sql"] == "shop" and _metric(at, "Tables") == "7"
    assert not any("link" in w.value for w in at.warning)


def test_metrics_fit_their_columns() -> None:
    # five metrics share the view column: at 1280 px a label of more than 15 characters or a
    # value of more than 5 is cut off ("Unreferenced par…", "10,00…")
    from explorer.ui import short_count

    assert [short_count(n) for n in (9_999, 10_000, 12_345, 123_456, 1_234_567)] == [
        "9,999",
        "10k",
        "12.3k",
        "123k",
        "1.23M",
    ]
    at = _app(seed="0", **{"schema.activity_rows": "20000-20000"})
    for page in ("schema", "connectivity", "features"):
        _open(at, page)
        for m in at.metric:
            # a help icon takes the room of about two characters
            room = 13 if m.proto.help else 15
            assert len(m.label) <= room and len(str(m.value)) <= 5, (page, m.label, m.value)


def test_schema_table_keeps_the_parents_column_wide() -> None:
    at = _open(_app(seed="0"), "schema")
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["parents"]["width"] == "large"


def test_feature_column_counts_say_which_is_which() -> None:
    from plurel_core.generate import generate

    db = generate(Config(), 0)
    sampled = sum(len(spec.columns) for spec in db.schema.tables.values())
    kept = db.summary()["feature_columns"]
    assert sampled > kept  # paper seed 0: binarised columns are dropped
    at = _open(_app(seed="0"), "schema")
    assert _metric(at, "Sampled cols") == str(sampled)
    _open(at, "export")
    text = " ".join(c.value for c in at.main.caption)
    assert f"sampled {sampled} feature columns" in text and f"dropped {sampled - kept}" in text
    assert f"hold {kept}" in text


# -- view state in the URL ----------------------------------------------------------------------


def test_block_level_and_stage3_tab_are_in_the_url() -> None:
    at = _open(_app(preset="small", seed="1"), "connectivity")
    grain = next(s for s in at.get("button_group") if s.proto.label.startswith("Clusters shown"))
    assert "level" not in at.query_params
    at.session_state[grain.proto.id if not grain.key else grain.key] = "level 0"
    at.run()
    assert at.query_params["level"] == "0"
    # a fresh session from the link shows the same level
    other = _open(_app(preset="small", seed="1", level="0"), "connectivity")
    assert any(
        "level-0 cluster" in json.loads(el.proto.spec)["layout"]["title"]["text"]
        for el in other.get("plotly_chart")
    )

    _open(at, "features")
    at.session_state["feature_tabs"] = "Correlations"
    at.run()
    assert at.query_params["tab"] == "Correlations"
    other = _open(_app(preset="small", seed="1", tab="Correlations"), "features")
    assert other.session_state["feature_tabs"] == "Correlations"
    assert any("Pearson" in el.proto.spec for el in other.get("plotly_chart"))


def test_stale_foreign_key_leaves_the_url() -> None:
    at = _open(_app(preset="small", seed="1"), "connectivity")
    fk = at.query_params["fk"]
    assert fk
    _open(at, "schema")
    _control(at, "slider", "schema.num_tables").set_value((1, 1)).run()  # one table: no keys at all
    assert not at.exception
    assert "fk" not in at.query_params and "level" not in at.query_params


def test_a_url_whose_scm_would_need_gigabytes_is_an_error_not_a_memory_error() -> None:
    from tests.test_hostile import _wide_scm_url

    at = _open(_app(**_wide_scm_url(3)), "features")
    assert not at.exception
    errors = [e.value.replace("\\", "") for e in at.error]  # (markdown escapes removed)
    assert any("features.embedding_dim" in e and "memory" in e for e in errors), errors
    # the schema page draws; its diagnostics panel, opened, does not generate the database either
    at = _open(at, "schema")
    at.session_state["diagnostics_open"] = True
    at.run()
    assert not at.exception
    panel = next(e for e in at.expander if e.label.startswith("Diagnostics"))
    assert any("Stage 3 would exceed" in m.value for m in panel.markdown)


# -- hostile input: user text is never rendered, uploads never raise ------------------------

IMAGE = "![p](http://127.0.0.1:9999/x.png)"
LINK = "[Session expired, log in again](http://127.0.0.1:9999/phish)"
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def _rendered_outside_code(markdown: str) -> str:
    return _CODE_SPAN.sub("", markdown)


def _assert_shown_literally(texts: list[str]) -> None:
    assert texts
    for text in texts:
        outside = _rendered_outside_code(text)
        assert "](" not in outside and "http" not in outside, text


def test_url_parameters_cannot_inject_images_or_links() -> None:
    at = _app(preset=IMAGE, seed=LINK, sql=IMAGE, **{LINK: "1", "schema.time_start": IMAGE})
    texts = [w.value for w in at.warning]
    _assert_shown_literally(texts)
    assert IMAGE in texts[0]  # shown, as code


def _upload_config(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, content, "application/json")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_uploaded_file_name_cannot_inject_markdown() -> None:
    at = _upload_config(_app(), f"{LINK}.json", json.dumps({"seed": 5}).encode())
    _assert_shown_literally([w.value for w in at.warning])
    at = _upload_config(_app(), f"{IMAGE}.json", b"{not json")
    _assert_shown_literally([w.value for w in at.warning])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (json.dumps({"features": {"activations": [["relu"], {"a": 1}]}}).encode(), "unknown option"),
        (b"[" * 100_000, "nested too deeply"),
        (
            json.dumps({"seed": 1, "config": {"features": {"scm_layouts": [[1], [2]]}}}).encode(),
            "unknown option",
        ),
        # a bundle's own fields are named as such
        (json.dumps({"seed": -1}).encode(), "` seed `: ` got -1; expected a non-negative integer `"),
        (
            json.dumps({"seed": 1, "schema_sql": 5}).encode(),
            "` schema_sql `: ` got int; expected text or null `",
        ),
        (json.dumps({"format": "other", "seed": 1}).encode(), "` format `: ` got 'other'"),
    ],
)
def test_malformed_config_uploads_are_notices_not_tracebacks(content: bytes, words: str) -> None:
    at = _upload_config(_app(seed="4"), "bad.json", content)
    assert any(words in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.query_params["seed"] == "4" and at.query_params["preset"] == "paper"


def test_a_bundle_with_an_unusable_seed_changes_nothing() -> None:
    bundle = json.loads(export.config_bundle(Config.preset("small"), 1))
    bundle["seed"] = 99_999_999_999
    at = _upload_config(_app(seed="4"), "big-seed.json", json.dumps(bundle).encode())
    assert any("seed" in w.value for w in at.warning)
    # neither the preset nor the config nor the seed was applied
    assert dict(at.query_params) == {"seed": "4", "preset": "paper"}


def test_a_huge_bad_config_gives_a_short_notice() -> None:
    content = json.dumps({"features": {"activations": ["x" * 700_000], "y" * 100_000: 1}}).encode()
    at = _upload_config(_app(), "huge.json", content)
    texts = [w.value for w in at.warning]
    assert texts and all(len(t) < 3000 for t in texts)


def _with_new_prior(section: str, group: str) -> type:
    """The section's priors plus one float prior ``new_prior`` in ``group``: a module-level
    class, so table worker processes can unpickle it."""
    import dataclasses

    from plurel_core import config

    base = config.SECTIONS[section]
    meta = config.prior(
        0.5, "float", "A prior added in a test.", lo=0.0, hi=1.0, label="New prior", group=group
    )
    cls = dataclasses.make_dataclass(
        f"{base.__name__}WithNewPrior", [("new_prior", float, meta)], bases=(base,), frozen=True
    )
    cls.__module__ = __name__
    globals()[cls.__name__] = cls
    return cls


NEW_PRIOR_PAGES = [
    ("schema", "schema", "Columns"),
    ("connectivity", "connectivity", "HSBM priors"),
    ("features", "features", "Mechanisms"),
    ("postprocess", "features", "Post-processing"),
]
EXTENDED_SECTIONS = {section: _with_new_prior(section, group) for section, _, group in NEW_PRIOR_PAGES}


@pytest.mark.parametrize(("section", "page", "group"), NEW_PRIOR_PAGES)
def test_a_new_prior_in_the_metadata_gets_a_control_on_its_stage_page(
    monkeypatch: pytest.MonkeyPatch, section: str, page: str, group: str
) -> None:
    from plurel_core import config

    monkeypatch.setitem(config.SECTIONS, section, EXTENDED_SECTIONS[section])
    path = f"{section}.new_prior"
    at = _open(_app(preset="small"), page)
    control = _control(at, "slider", path)
    assert control.label == "New prior" and "A prior added in a test." in control.help
    control.set_value(0.25).run()
    assert not at.exception
    assert at.query_params[path] == "0.25"
    again = _open(_app(preset="small", **{path: "0.75"}), page)
    assert _control(again, "slider", path).value == 0.75


def test_the_page_list_is_every_page_of_the_app_and_home_links_from_it() -> None:
    assert sorted(p.file for p in PAGES) == sorted(
        str(f.relative_to(ROOT)) for f in (ROOT / "views").glob("*.py")
    )
    assert len({p.url_path for p in PAGES}) == len(PAGES)
    at = _app(preset="small")
    links = [(link.proto.page, link.proto.label) for link in at.get("page_link")]  # Home's
    assert links == [(p.url_path, p.home_link) for p in PAGES if p.home_link]


def _failing_connectivity(monkeypatch: pytest.MonkeyPatch, exc: Exception, seed: str) -> AppTest:
    from explorer import stages

    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(stages, "sample_foreign_keys", fail)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(preset="small", seed=seed)  # (a seed no other test uses: not cached)
    at.switch_page(page_file("connectivity"))
    at.run()
    return at


def test_the_projects_own_errors_are_shown_as_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    from plurel_core.errors import SchemaError

    problem = SchemaError("table 'orders': one-to-one foreign key 'customer_id' needs at most one child row")
    at = _failing_connectivity(monkeypatch, problem, "424242")
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith("The generator cannot fill this schema: ") and "customer" in error
    assert "bug" not in error


def test_any_other_exception_is_shown_as_a_bug_with_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    at = _failing_connectivity(monkeypatch, ValueError("index 7 out of range"), "424243")
    [exc] = at.exception
    assert "index 7 out of range" in exc.value and exc.stack_trace  # st.exception: message, traceback
    assert any("This is a bug in PluRel Explorer" in e.value for e in at.error)
    assert not any("cannot use these priors" in e.value for e in at.error)


def test_a_registered_option_is_offered_by_the_app_and_used() -> None:
    from plurel_core.graphs import LAYOUTS
    from plurel_core.mechanisms import ACTIVATIONS

    ACTIVATIONS.register("cube", lambda rng: lambda x: x * x * x, "periodic")  # (a test trait)
    LAYOUTS.register("Chain", lambda n, rng, priors: LAYOUTS["Layered"](n, rng, priors), "tree")
    try:
        at = _open(_app(preset="small"), "features")
        assert "cube" in _control(at, "multiselect", "features.activations").options
        assert "Chain" in _control(at, "multiselect", "features.scm_layouts").options
        box = next(s for s in at.selectbox if s.key and s.key.endswith(":features.activations"))
        assert "periodic (4)" in box.options and "only cube" in box.options
        box.set_value("only cube").run()
        assert not at.exception and not at.error
        assert at.query_params["features.activations"] == "cube"
        _open(at, "schema")
        assert "Chain" in _control(at, "multiselect", "schema.layouts").options
    finally:
        ACTIVATIONS.unregister("cube")
        LAYOUTS.unregister("Chain")


def test_a_closed_control_group_builds_no_controls_until_opened() -> None:
    # the browser draws every widget of a run: a closed group's controls are left out
    at = open_page(_app(preset="small"), page_file("features"))
    keys = {w.key for w in at.multiselect}
    assert not any(k and k.endswith(":features.activations") for k in keys)  # Mechanisms: closed
    assert any(k and k.endswith(":features.scm_layouts") for k in keys)  # the first group: open
    mechanisms = next(e for e in at.expander if e.label == "Mechanisms")
    assert mechanisms is not None
    open_control_groups(at)
    assert _control(at, "multiselect", "features.activations").value == list(
        Config.preset("small").features.activations
    )
