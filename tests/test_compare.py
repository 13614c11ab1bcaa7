"""Reality check: percentiles, placement, the synthetic twin, the prior search and the report."""

from __future__ import annotations

import math
import re
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plurel_core.cli import main
from plurel_core.compare import (
    COMPARED_STATS,
    SEARCH_PRIORS,
    column_comparison,
    compare_real,
    fk_comparison,
    percentile_rank,
    placement,
    placement_score,
    prior_candidates,
    report_html,
    suggest_priors,
    synthetic_twin,
    table_comparison,
    write_report,
)
from plurel_core.config import Config
from plurel_core.errors import UsageError
from plurel_core.real import read_sqlite
from plurel_core.stats import database_stats

from .test_real import CHINOOK, KNOWN, KNOWN_ROWS, make_db

SMALL = Config.preset("small")


@pytest.fixture(scope="module")
def chinook():
    return read_sqlite(CHINOOK)


def test_percentile_rank_on_constructed_samples() -> None:
    sample = np.arange(100.0)  # 0 … 99
    assert percentile_rank(49.5, sample) == 50.0
    assert percentile_rank(10.0, sample) == 10.5  # 10 below, one equal counts half
    assert percentile_rank(-1.0, sample) == 0.0
    assert percentile_rank(1e9, sample) == 100.0
    assert percentile_rank(5.0, [5.0] * 10) == 50.0
    assert percentile_rank(3.0, [1.0, np.nan, 5.0]) == 50.0  # NaN sample values are left out
    assert math.isnan(percentile_rank(np.nan, sample))
    assert math.isnan(percentile_rank(1.0, [np.nan]))


def test_placement_flags_values_outside_the_central_95_percent() -> None:
    values = np.arange(1.0, 41.0)  # 40 databases: 1 … 40
    sweep = pd.DataFrame({"seed": range(40), "tables": values, "rows": values, "nan_share": values,
                          "fk_gini_mean": values, "cells": np.full(40, np.nan)})  # fmt: skip
    real = {"tables": 1.0, "rows": 0.0, "nan_share": 41.0, "fk_gini_mean": 20.5, "cells": 3.0}
    place = placement(real, sweep).set_index("statistic")
    assert list(place.index) == [s for s in COMPARED_STATS if s in real]
    # 1 is the lowest value: (0 + ½) / 40 = 1.25 % < 2.5 %
    assert place.loc["tables", "percentile"] == 1.25 and place.loc["tables", "outside"] == "below"
    assert place.loc["rows", "percentile"] == 0.0 and place.loc["rows", "outside"] == "below"
    assert place.loc["nan_share", "percentile"] == 100.0 and place.loc["nan_share", "outside"] == "above"
    assert place.loc["fk_gini_mean", "percentile"] == 50.0 and place.loc["fk_gini_mean", "outside"] == ""
    assert math.isnan(place.loc["cells", "percentile"]) and place.loc["cells", "databases"] == 0
    lo, med, hi = np.quantile(values, [0.025, 0.5, 0.975])
    got = (place.loc["rows", "low"], place.loc["rows", "median"], place.loc["rows", "high"])
    assert got == pytest.approx((lo, med, hi))
    # on the edge of the band: 1 of 40 below, none equal → 2.5 %, not outside
    edge = placement({"tables": 1.5}, sweep).set_index("statistic")
    assert edge.loc["tables", "percentile"] == 2.5 and edge.loc["tables", "outside"] == ""
    assert placement_score(place.reset_index()) == pytest.approx(np.mean([0.975**2, 1.0, 1.0, 0.0]))


def test_compare_real_places_the_real_statistics_in_a_sweep(chinook) -> None:
    calls: list[tuple[int, int]] = []
    comp = compare_real(chinook, SMALL, num_dbs=3, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)
    assert len(comp.sweep) == 3 and not comp.stopped
    place = comp.placement.set_index("statistic")
    assert place.loc["tables", "real"] == 11 and place.loc["rows", "real"] == 15_607
    # the small preset has 3–6 tables and hundreds of rows: Chinook is above all of them
    assert place.loc["tables", "outside"] == "above" and place.loc["rows", "percentile"] == 100.0
    stopped = compare_real(chinook, SMALL, num_dbs=5, should_stop=lambda: True)
    assert stopped.stopped and len(stopped.sweep) < 5


def test_sweep_on_the_real_schema_matches_its_schema_statistics(chinook) -> None:
    comp = compare_real(chinook, SMALL, num_dbs=2, same_schema=True)
    place = comp.placement.set_index("statistic")
    for stat in ("tables", "foreign_keys", "schema_depth", "max_fan_in", "max_fan_out"):
        assert place.loc[stat, "percentile"] == 50.0, stat


def test_twin_has_the_real_schema(chinook) -> None:
    twin = synthetic_twin(chinook, SMALL, seed=0)
    assert list(twin.tables) == list(chinook.db.tables)
    for name, table in chinook.db.tables.items():
        assert list(twin.tables[name].df.columns) == list(table.df.columns), name
        real_fks = [(fk.columns, fk.parent) for fk in chinook.db.schema.tables[name].foreign_keys]
        assert [(fk.columns, fk.parent) for fk in twin.schema.tables[name].foreign_keys] == real_fks
    rows = table_comparison(chinook.db, twin)
    assert rows["rows real"].sum() == 15_607 and (rows["rows twin"] <= 300).all()  # the small preset's rows
    cols = column_comparison(chinook.db, twin)
    assert len(cols) == database_stats(chinook.db)["feature_columns"]
    assert (cols["kind real"] == cols["kind twin"]).all()
    assert cols.set_index(["table", "column"]).loc[
        ("Customer", "Company"), "NaN share real"
    ] == pytest.approx(49 / 59)


def test_twin_with_the_real_row_counts(chinook, tmp_path: Path) -> None:
    twin = synthetic_twin(chinook, SMALL, seed=0, rows="real")
    assert {n: len(t.df) for n, t in twin.tables.items()} == chinook.rows
    with pytest.raises(ValueError, match="rows must be one of"):
        synthetic_twin(chinook, SMALL, rows="double")
    # an empty table gets one row: its children need a parent
    path = make_db(tmp_path / "known.sqlite", KNOWN, {"child": []} | {"parent": KNOWN_ROWS["parent"]})
    twin = synthetic_twin(read_sqlite(path), SMALL, seed=0, rows="real")
    assert {n: len(t.df) for n, t in twin.tables.items()} == {"parent": 4, "child": 1}


def test_twin_of_a_file_with_rebuilt_tables(tmp_path: Path) -> None:
    from .test_real import ODD

    path = make_db(tmp_path / "odd.sqlite", ODD, {"order items": [(None, 1.5, "x")], "loose": [(1, "p")]})
    real = read_sqlite(path)
    twin = synthetic_twin(real, SMALL, seed=1)
    assert set(twin.tables) == set(real.db.tables)
    assert list(twin.tables["order items"].df.columns) == ["item id", "unit price", "label"]


def test_fk_comparison_on_a_hand_built_database(tmp_path: Path) -> None:
    real = read_sqlite(make_db(tmp_path / "known.sqlite", KNOWN, KNOWN_ROWS))
    fks = fk_comparison(real.db, real.db).set_index("foreign key")
    row = fks.loc["child(parent_id) → parent"]
    assert row["Gini real"] == pytest.approx(0.625) and row["unreferenced real"] == 0.5
    assert row["max children real"] == 3 and row["Gini twin"] == row["Gini real"]


def test_prior_candidates_are_valid_nearby_values() -> None:
    for path in SEARCH_PRIORS:
        spec = Config.spec(path)
        cur = SMALL.get(path)
        cands = prior_candidates(SMALL, path)
        assert cands and cur not in cands, path
        for v in cands:
            assert not SMALL.with_value(path, v).problems(), (path, v)
            for x in v if isinstance(v, tuple) else (v,):
                assert spec.lo <= x <= spec.hi, (path, v)
    assert prior_candidates(SMALL, "schema.num_tables") == [(1, 3), (2, 5), (4, 7), (6, 9), (3, 4), (5, 6)]


def test_suggest_priors_moves_towards_the_real_database_deterministically(chinook) -> None:
    real_stats = database_stats(chinook.db)
    seen: list[tuple[int, int]] = []
    kwargs = dict(num_dbs=3, max_evaluations=5, rounds=1)
    first = suggest_priors(
        real_stats, SMALL, ["schema.num_tables"], progress=lambda d, t: seen.append((d, t)), **kwargs
    )
    again = suggest_priors(real_stats, SMALL, ["schema.num_tables"], **kwargs)
    assert first.changes == again.changes and first.score_after == again.score_after
    assert seen[0] == (0, 5) and seen[-1][0] == first.evaluations <= 5
    # Chinook has 11 tables; the small preset 3–6: more tables is the only way to move closer
    assert first.score_after < first.score_before
    new = first.changes["schema.num_tables"][1]
    assert new[1] > 6
    assert first.config.get("schema.num_tables") == new
    after = first.after.set_index("statistic")
    assert after.loc["tables", "median"] > first.before.set_index("statistic").loc["tables", "median"]
    assert [h["prior"] for h in first.history][:2] == ["(start)", "schema.num_tables"]


def test_suggest_priors_reports_its_best_result_after_every_sweep(chinook) -> None:
    real_stats = database_stats(chinook.db)
    snapshots = []
    final = suggest_priors(real_stats, SMALL, ["schema.num_tables"], num_dbs=2, max_evaluations=3,
                           best_so_far=snapshots.append)  # fmt: skip
    assert [s.evaluations for s in snapshots] == [1, 2, 3] == list(range(1, final.evaluations + 1))
    assert all(s.stopped for s in snapshots)  # each one is a result of an unfinished search
    assert snapshots[-1].score_after == final.score_after and snapshots[-1].config == final.config
    assert [s.score_after for s in snapshots] == sorted((s.score_after for s in snapshots), reverse=True)


def test_suggest_priors_skips_candidates_not_allowed(chinook) -> None:
    real_stats = database_stats(chinook.db)
    result = suggest_priors(real_stats, SMALL, ["schema.num_tables"], num_dbs=2, max_evaluations=10, rounds=1,
                            allowed=lambda cfg: cfg.schema.num_tables[1] <= 6)  # fmt: skip
    tried = [h["value"] for h in result.history[1:]]
    assert tried == prior_candidates(SMALL, "schema.num_tables")  # every candidate looked at
    assert result.evaluations == 1 + sum(v[1] <= 6 for v in tried)  # only allowed ones swept
    assert all(math.isnan(h["score"]) for h in result.history[1:] if h["value"][1] > 6)


def test_suggest_priors_stops_when_asked(chinook) -> None:
    real_stats = database_stats(chinook.db)
    calls = {"n": 0}

    def stop_after_first_sweep() -> bool:
        calls["n"] += 1
        return calls["n"] > 4  # a few checks into the baseline sweep of 3 databases

    result = suggest_priors(real_stats, SMALL, ["schema.num_tables", "schema.entity_rows"], num_dbs=3,
                            max_evaluations=20, should_stop=stop_after_first_sweep)  # fmt: skip
    assert result.stopped and result.evaluations <= 1
    with pytest.raises(ValueError, match="cannot be searched"):
        suggest_priors(real_stats, SMALL, ["features.activations"])


HOSTILE_NAME = "</script><img src=x onerror=alert(1)>"


def test_html_report_is_offline_and_shows_names_as_text(tmp_path: Path) -> None:
    path = tmp_path / "hostile.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f'CREATE TABLE "{HOSTILE_NAME}" (id INTEGER PRIMARY KEY, v REAL)')
    conn.execute(
        f'CREATE TABLE kid (id INTEGER PRIMARY KEY, p INTEGER REFERENCES "{HOSTILE_NAME}"(id), w REAL)'
    )
    conn.executemany(f'INSERT INTO "{HOSTILE_NAME}" VALUES (?, ?)', [(i, i / 3) for i in range(5)])
    conn.executemany("INSERT INTO kid VALUES (?, ?, ?)", [(i, i % 3, i * 1.5) for i in range(9)])
    conn.commit()
    conn.close()
    real = read_sqlite(path)
    comp = compare_real(real, SMALL, num_dbs=2)
    page = report_html(comp, synthetic_twin(real, SMALL, 0), 0)
    assert "<img src=x" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js is inlined, nothing loaded
    assert page.count("Plotly.newPlot") >= 4 and "plotly.js" in page.lower()


def test_cli_compare_writes_csv_and_html(tmp_path: Path, capsys) -> None:
    out = tmp_path / "chinook.csv"
    args = ["compare", "--real", str(CHINOOK), "--preset", "small", "--num-dbs", "2", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "statistic",
        "real",
        "low",
        "median",
        "high",
        "percentile",
        "outside",
        "databases",
    ]
    assert table.set_index("statistic").loc["rows", "real"] == 15_607
    assert "statistics of chinook.sqlite outside the central 95%" in capsys.readouterr().out
    html_out = tmp_path / "chinook.html"
    assert main([*args, "--out", str(html_out)]) == 0
    assert "Synthetic twin" in html_out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chinook.csv", "chinook.html"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "x.txt"], "--out must end in .csv or .html"),
        (["--out", "nowhere/x.csv"], "does not exist"),
        (["--num-dbs", "0", "--out", "x.csv"], "--num-dbs must be in"),
    ],
)
def test_cli_compare_bad_arguments(
    extra: list[str], message: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["compare", "--real", str(CHINOOK), "--preset", "small", "--num-dbs", "2", *extra]
    if extra[:1] == ["--num-dbs"]:
        args = ["compare", "--real", str(CHINOOK), "--preset", "small", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_compare_quotes_a_short_prefix_of_a_long_out_name(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["compare", "--real", str(CHINOOK), "--preset", "small", "--num-dbs", "2"]
    assert main([*args, "--out", "x" * 1000 + ".txt"]) == 2
    err = capsys.readouterr().err
    assert "--out must end in .csv or .html" in err and len(err) < 200, err


def test_a_report_name_without_csv_or_html_is_a_usage_error(chinook, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    comp = compare_real(chinook, SMALL, num_dbs=1)
    with pytest.raises(UsageError, match=r"must end in \.csv or \.html, got 'report\.txt'"):
        write_report(comp, "report.txt")
    assert list(tmp_path.iterdir()) == []
