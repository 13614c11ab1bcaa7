"""No view goes stale: each prior change recomputes exactly the stages that depend on it.

For every prior, the Stage-3 page is drawn at the `small` preset, then with that one prior
changed. The stages are cached process-wide (``st.cache_data``), so the second drawing
recomputes only what the change invalidates: a Stage-1 prior all three stages, a Stage-2
prior the foreign keys and the features, a Stage-3 or post-processing prior the features
only. Its views must then equal those of a drawing from empty caches: nothing is served
from a cache entry of the old priors.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import explorer.stages as stages
from explorer.pages import page_file
from explorer.urlstate import all_prior_paths, encode_value
from plurel_core.config import Config

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SEED = "2"
# which stage functions a change of a prior of each section must run again
RECOMPUTED = {
    "schema": {"sample_schema", "sample_foreign_keys", "sample_features"},
    "connectivity": {"sample_foreign_keys", "sample_features"},
    "features": {"sample_features"},
    "postprocess": {"sample_features"},
}


def _changed_value(path: str):
    """A value of the prior that differs from the `small` preset's and keeps the config valid."""
    base = Config.preset("small")
    spec, value = Config.spec(path), base.get(path)
    if spec.kind in ("int_range", "float_range"):
        lo, hi = value
        cands = [(lo, lo), (hi, hi), (spec.lo, hi), (lo, spec.hi)]
    elif spec.kind == "set":
        cands = [tuple(value[:-1]), tuple(o for o in spec.options if o not in value)[:1] + tuple(value)]
    elif spec.kind == "int":
        cands = [value + 1, value - 1]
    elif spec.kind == "float":
        cands = [(value + spec.hi) / 2, (value + spec.lo) / 2]
    elif spec.kind == "bool":
        cands = [not value]
    else:
        cands = [(dt.date.fromisoformat(value) + dt.timedelta(days=400)).isoformat()]
    for cand in cands:
        if spec.kind == "set":
            cand = tuple(o for o in spec.options if o in cand)
        if cand != () and cand != value and not base.with_value(path, cand).problems():
            return cand
    raise AssertionError(f"no valid changed value for {path}")


def _features_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()  # Home: the app opens there
    at.switch_page(page_file("features"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _views(at: AppTest) -> dict:
    """What the page shows: graphs, charts, metrics and texts."""
    return {
        "graphs": [el.proto.srcdoc for el in at.get("iframe")],
        "charts": [json.loads(el.proto.spec) for el in at.get("plotly_chart")],
        "metrics": [(m.label, m.value) for m in at.metric],
        "markdown": [m.value for m in at.markdown],
    }


@pytest.fixture
def stage_calls(monkeypatch: pytest.MonkeyPatch) -> Counter:
    calls: Counter = Counter()
    for name in ("sample_schema", "sample_foreign_keys", "sample_features"):
        real = getattr(stages, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(stages, name, counted)
    return calls


@pytest.mark.parametrize("path", all_prior_paths())
def test_a_prior_change_recomputes_its_stage_and_leaves_the_others_cached(path: str, stage_calls) -> None:
    value = _changed_value(path)
    before = {"preset": "small", "seed": SEED}
    after = {**before, path: encode_value(Config.spec(path), value)}
    st.cache_data.clear()
    _features_page(before)
    stage_calls.clear()
    changed = _views(_features_page(after))
    assert set(stage_calls) == RECOMPUTED[path.split(".", 1)[0]], dict(stage_calls)
    st.cache_data.clear()
    assert changed == _views(_features_page(after)), f"{path}: a view was served from the old priors"


def test_the_stage_3_page_computes_only_the_tables_its_view_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    # a view of one table needs it, its parents and what they are conditioned on; the
    # database's other tables are not computed, and the shown values are the whole run's
    from plurel_core import generate
    from plurel_core.stage3 import tables_needed

    asked: list = []
    real = stages.sample_features

    def recording(*args, **kwargs):
        asked.append(kwargs.get("tables"))
        return real(*args, **kwargs)

    monkeypatch.setattr(stages, "sample_features", recording)
    config = Config.preset("small")
    whole = generate(config, int(SEED))
    schema = whole.schema
    first, last = list(schema.tables)[0], list(schema.tables)[-1]
    st.cache_data.clear()
    at = _features_page({"preset": "small", "seed": SEED})
    # (Home, where the app opens, shows the whole database)
    assert asked[-1] == tables_needed(schema, [first]) and len(asked[-1]) < len(schema.tables)
    asked.clear()
    table = next(sb for sb in at.selectbox if sb.label == "Table")
    table.select(last).run()
    assert not at.exception, [e.value for e in at.exception]
    assert asked == [tables_needed(schema, [last, *schema.tables[last].parents])]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Column nodes"] == str(len(whole.trace.scm[last].details["columns"]))
    (grid,) = at.get("plotly_chart")  # one panel per shown column, in one chart
    panels = json.loads(grid.proto.spec)["data"]
    assert len(panels) == min(12, len(whole.tables[last].feature_cols))
