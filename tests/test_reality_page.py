"""The Reality check page under AppTest: placement after a sweep, the twin, the prior search."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from explorer.pages import page_file

from .apptest import open_app, open_page

PAGE = page_file("reality")
TIMEOUT = 300


def _page(**query: str) -> AppTest:
    return open_page(open_app(TIMEOUT, **query), PAGE)


def _widget(at: AppTest, kind: str, key: str):
    return next(w for w in getattr(at, kind) if w.key == key)


def test_example_is_placed_in_a_sweep_of_the_current_priors() -> None:
    at = _page(preset="small")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tables"] == "11" and metrics["Rows"] == "15,607"
    assert any("1 of 8 rows are NULL" in m.value for m in at.markdown)  # the reader's note
    assert not at.get("plotly_chart")  # nothing until a sweep ran
    _widget(at, "number_input", "reality_n").set_value(3).run()
    _widget(at, "button", "reality_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 2  # percentiles and distributions
    summary = next(m.value for m in at.markdown if "fall outside the central 95" in m.value)
    assert "`tables` (above)" in summary  # 11 tables against the small preset's 3–6
    place = at.dataframe[0].value
    assert place.set_index("statistic").loc["rows", "real"] == 15_607
    assert _widget(at, "button", "reality_run").disabled  # this sweep is kept
    assert any(b.label == "Placement (CSV)" for b in at.get("download_button"))
    next(b for b in at.button if b.label == "Prepare HTML report").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(b.label == "HTML report" for b in at.get("download_button"))


def test_twin_tab_sets_real_and_synthetic_side_by_side() -> None:
    at = _page(preset="small", seed="2")
    at.session_state["reality_tabs"] = "Synthetic twin"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _widget(at, "number_input", "reality_twin_seed").value == 2  # the app's seed
    assert len(at.get("plotly_chart")) == 3  # rows, one FK, one column
    fks = at.dataframe[0].value
    assert len(fks) == 11 and {"Gini real", "Gini twin"} <= set(fks.columns)
    assert any(c.value.startswith("Twin: ") and "(real: 15,607)" in c.value for c in at.main.caption)
    assert not any(c.value.startswith("Twin: 15,607 rows") for c in at.main.caption)
    _widget(at, "radio", "reality_twin_rows").set_value("real").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("Twin: 15,607 rows in 11 tables") for c in at.main.caption)
    _widget(at, "selectbox", "reality_table").set_value("Invoice").run()
    for column in ("Total", "BillingCity"):
        _widget(at, "selectbox", "reality_column").set_value(column).run()
        assert not at.exception, column
        assert len(at.get("plotly_chart")) == 3


def test_search_suggests_priors_and_one_click_applies_them() -> None:
    at = _page(preset="small")
    at.session_state["reality_tabs"] = "Suggest priors"
    at.run()
    _widget(at, "multiselect", "reality_search_priors").set_value(["schema.num_tables"]).run()
    _widget(at, "number_input", "reality_search_n").set_value(3).run()
    _widget(at, "number_input", "reality_search_budget").set_value(6).run()
    _widget(at, "button", "reality_search_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Distance from the middle" in m.value for m in at.markdown)
    changes = at.dataframe[0].value
    assert changes["prior"].tolist() == ["schema.num_tables"]
    suggested = changes["suggested"].iloc[0]
    _widget(at, "button", "reality_apply").click().run()
    assert not at.exception
    assert at.query_params["schema.num_tables"] == "-".join(str(v) for v in json.loads(suggested))
    assert any("Applied the suggested priors" in w.value for w in at.warning)


def test_sweep_of_databases_above_the_size_limit_is_refused_naming_the_prior() -> None:
    at = _page(preset="large")
    _widget(at, "number_input", "reality_n").set_value(2).run()
    _widget(at, "button", "reality_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    error = at.error[0].value
    assert error.startswith("Seed 0: ") and "schema." in error and "python -m plurel_core compare" in error
    assert not at.get("plotly_chart")


def test_search_from_priors_above_the_size_limit_is_refused() -> None:
    at = _page(preset="large")
    at.session_state["reality_tabs"] = "Suggest priors"
    at.run()
    _widget(at, "button", "reality_search_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "The search sweeps databases of these priors" in at.error[0].value
