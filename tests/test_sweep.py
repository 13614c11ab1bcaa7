"""Sweeps: one statistics row per seed, the same for any number of workers; the CLI, figures and page."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from explorer.pages import page_file
from plurel_core.cli import main as cli_main
from plurel_core.config import Config
from plurel_core.generate import generate
from plurel_core.stats import STAT_FIELDS, database_stats
from plurel_core.sweep import COLUMNS, compare, sweep, write_table
from plurel_core.viz.sweep_figures import (
    common_bins,
    distribution_figure,
    distributions_figure,
    plottable_stats,
    scatter_figure,
)

from .apptest import open_app, open_page

ROOT = Path(__file__).resolve().parent.parent
SMALL = Config.preset("small")


def _without_time(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["generation_seconds"])


@pytest.fixture(scope="module")
def small_sweep() -> pd.DataFrame:
    return sweep(SMALL, num_dbs=4, seed_offset=5)


def test_one_row_per_seed_with_documented_columns(small_sweep):
    assert list(small_sweep.columns) == list(COLUMNS) == ["seed", *STAT_FIELDS]
    assert small_sweep["seed"].tolist() == [5, 6, 7, 8]
    assert (small_sweep["generation_seconds"] > 0).all()
    assert small_sweep["tables"].between(3, 6).all()


def test_rows_are_the_statistics_of_the_generated_databases(small_sweep):
    row = small_sweep.iloc[2].to_dict()
    expected = database_stats(generate(SMALL, 7))
    assert row.pop("seed") == 7
    row.pop("generation_seconds")
    expected.pop("generation_seconds")
    _same(row, expected)


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(b[k], float) and pd.isna(b[k]):
            assert pd.isna(a[k]), k
        else:
            assert a[k] == pytest.approx(b[k]), k


def test_same_results_with_one_or_two_workers(small_sweep):
    two = sweep(SMALL, num_dbs=4, seed_offset=5, workers=2)
    pd.testing.assert_frame_equal(_without_time(two), _without_time(small_sweep))


def test_progress_and_stop():
    calls: list[tuple[int, int]] = []
    out = sweep(
        SMALL, num_dbs=5, progress=lambda d, t: calls.append((d, t)), should_stop=lambda: len(calls) > 2
    )
    assert calls == [(0, 5), (1, 5), (2, 5)]
    assert out["seed"].tolist() == [0, 1]
    # a stop before the first database returns an empty table with the same columns
    empty = sweep(SMALL, num_dbs=3, should_stop=lambda: True)
    assert empty.empty and list(empty.columns) == list(COLUMNS)


def test_stop_with_workers_returns_finished_rows():
    done: list[int] = []
    out = sweep(
        SMALL, num_dbs=12, workers=2, progress=lambda d, t: done.append(d), should_stop=lambda: done[-1] >= 3
    )
    assert len(out) == 3
    assert out["seed"].is_monotonic_increasing and out["seed"].between(0, 11).all()


def test_workers_do_not_rerun_the_main_script(tmp_path):
    # a Streamlit app script has no `if __name__ == "__main__"` guard: workers must not run it
    log = tmp_path / "runs.txt"
    script = tmp_path / "app_like.py"
    script.write_text(
        "from pathlib import Path\n"
        "from plurel_core.config import Config\n"
        "from plurel_core.sweep import sweep\n"
        f"with open({str(log)!r}, 'a') as fh:\n"
        "    fh.write('ran\\n')\n"
        "print(len(sweep(Config.preset('small'), num_dbs=3, workers=2)))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3"
    assert log.read_text() == "ran\n"


def _marked_processes(marker: str) -> list[int]:
    """Processes whose environment holds ``PLUREL_TEST_MARK=marker`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"PLUREL_TEST_MARK={marker}".encode() in environ:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_sweep_workers_end_when_their_caller_is_killed(tmp_path):
    # a process pool's workers would wait for work for good when their caller dies
    # without shutting the pool down (killed, out of memory); they end on their own
    marker = f"sweep-{os.getpid()}-{time.monotonic_ns()}"
    script = tmp_path / "killed.py"
    script.write_text(
        "import os\n"
        "from plurel_core.config import Config\n"
        "from plurel_core.sweep import iter_sweep\n"
        "rows = iter_sweep(Config.preset('small'), num_dbs=40, workers=2)\n"
        "next(rows)\n"
        "print('running', flush=True)\n"
        "os._exit(0)  # as if killed: no clean-up at all\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PLUREL_TEST_MARK": marker}
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _marked_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _marked_processes(marker)
    finally:
        for pid in _marked_processes(marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running after their caller ended: {left}"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_dbs": 0}, "num_dbs"),
        ({"num_dbs": 2.5}, "num_dbs"),
        ({"seed_offset": -1}, "seed_offset"),
        ({"workers": 0}, "workers"),
        ({"schema": 3}, "schema"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sweep(SMALL, **kwargs)


def test_sql_schema_sweep_keeps_the_tables():
    ddl = """
    CREATE TABLE users (id INTEGER PRIMARY KEY, age REAL, vip BOOLEAN);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), amount REAL);
    """
    out = sweep(SMALL, num_dbs=2, schema=ddl)
    assert out["tables"].tolist() == [2, 2] and out["foreign_keys"].tolist() == [1, 1]
    assert out["layout"].tolist() == ["sql", "sql"]


def test_compare_reports_mean_shift():
    a = pd.DataFrame({"seed": [0, 1], "tables": [2, 4], "layout": ["x", "y"]})
    b = pd.DataFrame({"seed": [0, 1], "tables": [5, 7], "layout": ["x", "x"]})
    table = compare(a, b)
    assert table.loc["tables", "mean A"] == 3 and table.loc["tables", "mean B"] == 6
    assert table.loc["tables", "Δ mean"] == 3
    assert "layout" not in table.index


# -- files and command line -------------------------------------------------------------


def test_write_table_is_atomic_and_checks_the_suffix(tmp_path, small_sweep):
    out = write_table(small_sweep, tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(out), small_sweep)
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        write_table(small_sweep, tmp_path / "s.txt")


def test_cli_writes_the_library_table(tmp_path, small_sweep):
    out = tmp_path / "stats.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "plurel_core",
            "sweep",
            "--preset",
            "small",
            "--num-dbs",
            "4",
            "--seed-offset",
            "5",
        ]
        + ["--workers", "2", "--out", str(out), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    got = pd.read_csv(out)
    pd.testing.assert_frame_equal(_without_time(got), _without_time(small_sweep), check_dtype=False)


def test_cli_parquet_with_config_file(tmp_path, small_sweep):
    cfg = tmp_path / "priors.json"
    cfg.write_text(SMALL.to_json())
    out = tmp_path / "stats.parquet"
    argv = [
        "sweep",
        "--config",
        str(cfg),
        "--num-dbs",
        "4",
        "--seed-offset",
        "5",
        "--out",
        str(out),
        "--quiet",
    ]
    assert cli_main(argv) == 0
    pd.testing.assert_frame_equal(_without_time(pd.read_parquet(out)), _without_time(small_sweep))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--preset", "small", "--num-dbs", "0", "--out", "{tmp}/x.csv"], "--num-dbs"),
        (["--preset", "small", "--num-dbs", "2", "--out", "{tmp}/x.txt"], "--out"),
        (["--preset", "small", "--num-dbs", "2", "--out", "{tmp}/nope/x.csv"], "does not exist"),
        (["--preset", "small", "--num-dbs", "2", "--workers", "0", "--out", "{tmp}/x.csv"], "--workers"),
        (["--config", "{tmp}/missing.json", "--num-dbs", "2", "--out", "{tmp}/x.csv"], "--config"),
        (["--config", "{tmp}/bad.json", "--num-dbs", "2", "--out", "{tmp}/x.csv"], "num_tables"),
        (["--preset", "nope", "--num-dbs", "2", "--out", "{tmp}/x.csv"], "invalid choice"),
        (["--preset", "small", "--out", "{tmp}/x.csv"], "--num-dbs"),
        (["--preset", "small", "--num-dbs", "2", "--dialect", "mysql", "--out", "{tmp}/x.csv"], "--dialect"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_message(tmp_path, capsys, extra, message):
    (tmp_path / "bad.json").write_text('{"schema": {"num_tables": [5, 2]}}')
    argv = ["sweep", *(a.replace("{tmp}", str(tmp_path)) for a in extra)]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not list(tmp_path.glob("x.*")) and not list(tmp_path.glob(".x.*"))


# -- figures ----------------------------------------------------------------------------


def test_distribution_figures_overlay_a_and_b(small_sweep):
    b = small_sweep.assign(tables=small_sweep["tables"] + 10)
    stats = plottable_stats(small_sweep, numeric_only=True)
    assert "seed" not in stats and "layout" not in stats and "tables" in stats
    fig = distributions_figure({"A": small_sweep, "B": b}, stats, kind="histogram")
    assert len(fig.data) == 2 * len(stats)
    hist = [t for t in fig.data if t.xaxis == "x"]  # the panel of the first statistic
    assert [t.name for t in hist] == ["A", "B"] and hist[0].xbins.size == hist[1].xbins.size
    box = distribution_figure({"A": small_sweep, "B": b}, "tables", kind="box")
    assert [t.type for t in box.data] == ["box", "box"]
    assert list(box.data[1].y) == (small_sweep["tables"] + 10).tolist()
    layout = distribution_figure({"sweep": small_sweep}, "layout")
    assert layout.data[0].type == "histogram"
    with pytest.raises(ValueError, match="kind"):
        distributions_figure({"A": small_sweep}, stats, kind="violin")


def test_scatter_carries_seeds(small_sweep):
    fig = scatter_figure({"sweep": small_sweep}, "rows", "cells", color="tables")
    assert list(fig.data[0].customdata) == [5, 6, 7, 8]
    assert list(fig.data[0].x) == small_sweep["rows"].tolist()
    with pytest.raises(ValueError, match="nope"):
        scatter_figure({"sweep": small_sweep}, "nope", "rows")


def test_common_bins():
    ints = common_bins([[1, 2, 3], [3, 4]])
    assert ints == {"start": 0.5, "end": 4.5, "size": 1.0}
    floats = common_bins([[0.0, 1.0], [0.5]], max_bins=10)
    assert floats["start"] == 0.0 and floats["size"] == pytest.approx(0.1)
    assert common_bins([[float("nan")]]) is None


# -- the page ---------------------------------------------------------------------------


def _widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def _sweep_page(**query: str) -> AppTest:
    return open_page(open_app(300, **query), page_file("sweep"))


def _run_sweep(at: AppTest, n: int) -> None:
    _widget(at.number_input, "Databases N").set_value(n)
    _widget(at.number_input, "Workers").set_value(1)
    at.run()
    run = _widget(at.button, "Run sweep")
    if not run.disabled:  # finished sweeps are kept by the server: another test may have run it
        run.click()
        at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_page_sweeps_and_picks_a_database():
    at = _sweep_page(preset="small", seed="0")
    assert _widget(at.number_input, "Databases N").value == 50
    _run_sweep(at, 3)
    table = next(d for d in at.dataframe if "seed" in d.value.columns)
    expected = sweep(SMALL, num_dbs=3)
    pd.testing.assert_frame_equal(_without_time(table.value), _without_time(expected))
    assert len(at.get("plotly_chart")) >= 2  # distributions and scatter
    assert _widget(at.button, "Run sweep").disabled  # cached for these priors and seeds

    at.selectbox(key="sweep_pick:table").set_value(2)
    at.run()
    at.button(key="sweep_open:table").click()
    at.run()
    assert not at.exception
    assert at.session_state["px_seed"] == 2
    assert at.query_params["seed"] in ("2", ["2"])  # the shareable URL follows
    assert at.get("page_link"), "links to the stage pages"


def test_page_compares_a_and_b():
    at = _sweep_page(preset="small", seed="0")
    _run_sweep(at, 3)
    _widget(at.button, "Pin current priors as A").click()
    at.run()
    # the user changes a prior on a stage page and comes back
    at.session_state["px_config"] = SMALL.with_value("schema.num_tables", (3, 3))
    at.run()
    # before B is swept, the changed priors are listed already
    changed = next(d.value for d in at.dataframe if "prior" in d.value.columns)
    assert changed.to_dict("records") == [
        {"prior": "schema.num_tables", "A": "[3, 6]", "B (current)": "[3, 3]"}
    ]
    assert not _widget(at.button, "Run sweeps A and B").disabled
    _widget(at.button, "Run sweeps A and B").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    changed = next(d.value for d in at.dataframe if "prior" in d.value.columns)
    assert changed["prior"].tolist() == ["schema.num_tables"]
    means = next(d.value for d in at.dataframe if "mean A" in d.value.columns)
    assert means.loc["tables", "mean B"] == 3
    assert means.loc["tables", "mean A"] == sweep(SMALL, num_dbs=3)["tables"].mean()
