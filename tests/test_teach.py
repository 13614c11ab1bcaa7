"""Comparing choices in the app (AppTest): the pinned A, matched-pairs sweeps, the URL."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from explorer.pinned import decode_pinned, encode_pinned
from explorer.urlextra import split_params
from plurel_core.config import Config

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 180
# A: the small preset; B: the same with (almost) no within-cluster preference
AB_QUERY = {"preset": "small", "seed": "1", "A.preset": "small", "connectivity.within_affinity": "0.002"}


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _open(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}: {[b.label for b in at.button]}"
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
    at = _open(_app(preset="small", seed="1", n="4", offset="9"), "views/5_Sweep.py")
    inputs = {ni.label: ni.value for ni in at.number_input}
    # before: N reset to 50 and the offset to 0 on every visit, and neither was in the URL
    assert inputs["Databases N"] == 4 and inputs["Seed offset"] == 9
    [ni for ni in at.number_input if ni.label == "Databases N"][0].set_value(6).run()
    assert at.query_params["n"] == "6" and at.query_params["offset"] == "9"
    bad = _open(_app(preset="small", n="oops"), "views/5_Sweep.py")
    assert "n='oops'" in _warnings(bad)
    assert {ni.label: ni.value for ni in bad.number_input}["Databases N"] == 50


def test_ab_runs_both_on_the_same_seeds_and_reports_matched_effects():
    at = _open(_app(**AB_QUERY, n="4", offset="3"), "views/5_Sweep.py")
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
    again = _open(_app(**AB_QUERY, n="4", offset="3"), "views/5_Sweep.py")
    assert _button(again, "Run sweeps A and B").disabled
    assert any("effect size d_z" in getattr(df.value, "columns", []) for df in again.dataframe)
