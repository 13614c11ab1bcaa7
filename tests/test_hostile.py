"""Hostile and unlucky input: crafted URLs, huge or malformed configs, dangerous output
paths, signals and a full disk. Each case must end quickly with a clear message and leave
nothing destroyed or half-written."""

from __future__ import annotations

import pytest

from explorer.urlstate import MAX_NOTICES, MAX_PARAM_CHARS, decode_state, decode_value
from plurel_core.config import Config

# -- URL parameters -----------------------------------------------------------------------

# digits, a separator, digits, then a character that makes the match fail: an ambiguous
# number grammar tries every split of both digit runs (cubic in the length)
HOSTILE_RANGE = "1" * 1500 + "-" + "1" * 1500 + "x"


@pytest.mark.timeout(30)
def test_a_crafted_range_value_is_rejected_without_backtracking() -> None:
    # the parser itself, below any length cap: it took about a minute at this size
    with pytest.raises(ValueError, match="not a range"):
        decode_value(Config.spec("schema.num_tables"), HOSTILE_RANGE)
    with pytest.raises(ValueError, match="not a number"):
        decode_value(Config.spec("schema.categorical_prob"), HOSTILE_RANGE)


@pytest.mark.timeout(30)
def test_overlong_url_parameters_are_dropped_unread() -> None:
    state, notices = decode_state({"schema.num_tables": HOSTILE_RANGE, "k" * 5000: "1", "seed": "4"})
    assert state.seed == 4 and state.config == Config()
    assert len(notices) == 2
    assert all(f"longer than {MAX_PARAM_CHARS} characters" in n for n in notices)
    assert all(len(n) < 200 for n in notices)  # the value is not echoed


def test_many_bad_url_parameters_give_a_bounded_list_of_notices() -> None:
    state, notices = decode_state({f"unknown{i}": "1" for i in range(1000)})
    assert len(notices) == MAX_NOTICES
    assert notices[-1] == f"… and {1000 - MAX_NOTICES + 1:,} more parameters ignored"
    assert state.config == Config()


def test_valid_ranges_still_parse() -> None:
    spec = Config.spec("features.activation_log_scale")
    assert decode_value(spec, "-1-0.5") == (-1.0, 0.5)
    assert decode_value(spec, " -1 .. 2. ") == (-1.0, 2.0)
    assert decode_value(Config.spec("connectivity.across_affinity"), "1e-06-0.002") == (1e-06, 0.002)
    assert decode_value(Config.spec("schema.num_tables"), "5") == (5, 5)


# -- Stage-3 budget -----------------------------------------------------------------------

# one table of one row whose SCM is a complete DAG of wide, deep MLPs: every control is
# within its limits, yet the encoders alone take GBs (2.3 GB measured with 3 columns, a
# MemoryError above 8 GB with 5)
WIDE_SCM = {
    "schema": {"num_tables": [1, 1], "entity_rows": [1, 1], "activity_rows": [1, 1], "num_cols": [5, 5]},
    "features": {
        "scm_layouts": ["ErdosRenyi"],
        "layout": {"er_p": [1.0, 1.0]},
        "column_node_frac": [0.1, 0.1],
        "extra_nodes": 20,
        "embedding_dim": 256,
        "mlp_layers": [8, 8],
    },
}


def _wide_scm_url(num_cols: int) -> dict[str, str]:
    return {
        "schema.num_tables": "1-1",
        "schema.entity_rows": "1-1",
        "schema.activity_rows": "1-1",
        "schema.num_cols": f"{num_cols}-{num_cols}",
        "features.scm_layouts": "ErdosRenyi",
        "features.layout.er_p": "1-1",
        "features.column_node_frac": "0.1-0.1",
        "features.extra_nodes": "20",
        "features.embedding_dim": "256",
        "features.mlp_layers": "8-8",
    }


def test_a_config_whose_scm_would_need_gigabytes_is_refused_before_stage_3() -> None:
    from plurel_core.budget import BudgetError, estimate_stage3
    from plurel_core.generate import generate
    from plurel_core.schema import sample_schema

    cfg = Config.from_dict(WIDE_SCM)
    est = estimate_stage3(sample_schema(cfg.schema, 0), cfg.features)
    assert est.heaviest.nodes == 5 + 50 + 20 and est.heaviest.edges == 75 * 74 // 2
    with pytest.raises(BudgetError) as info:
        generate(cfg, 0, processes=0)
    msg = str(info.value)
    for prior in ("features.embedding_dim", "features.mlp_layers", "features.extra_nodes", "schema.num_cols"):
        assert prior in msg


def test_the_cli_refuses_a_config_over_the_budget_with_exit_2(tmp_path, capsys) -> None:
    import json

    from plurel_core.cli import main

    cfg = tmp_path / "wide.json"
    cfg.write_text(json.dumps(WIDE_SCM))
    out = tmp_path / "db.sqlite"
    code = main(["generate", "--seed", "0", "--config", str(cfg), "--format", "sqlite", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "features.embedding_dim" in err and "unexpected" not in err
    assert not out.exists()


@pytest.mark.parametrize("preset", ["paper", "large", "small", "star", "linear_scm", "uniform_fks"])
def test_no_preset_seed_is_refused_by_the_budgets(preset: str) -> None:
    from explorer.stages import APP_BUDGET
    from plurel_core.budget import COMMAND_LINE_BUDGET
    from plurel_core.schema import sample_schema

    cfg = Config.preset(preset)
    for seed in range(40):
        COMMAND_LINE_BUDGET.check(sample_schema(cfg.schema, seed), cfg.features)
        if preset != "large":  # the explorer refuses it by its cell count already
            APP_BUDGET.check(sample_schema(cfg.schema, seed), cfg.features)


def test_sweeps_and_twins_keep_the_budget_they_are_given() -> None:
    # the explorer's sweeps, prior searches and twins run under its budget, not the
    # command line's: a database over it stops them with the budget's message
    from plurel_core.budget import BudgetError, Stage3Budget
    from plurel_core.sweep import sweep

    tight = Stage3Budget(max_table_bytes=1 << 20)
    cfg = Config.preset("small")
    assert len(sweep(cfg, 2)) == 2
    with pytest.raises(BudgetError, match="memory for one table"):
        sweep(cfg, 2, budget=tight)
    with pytest.raises(BudgetError, match="multiply-adds"):
        sweep(cfg, 2, workers=2, budget=Stage3Budget(max_work=1))


# -- output paths -------------------------------------------------------------------------


def _generate(tmp_path, fmt: str, out, *extra: str) -> int:
    from plurel_core.cli import main

    return main(["generate", "--seed", "1", "--preset", "small", "--format", fmt, "--out", str(out), *extra])


@pytest.mark.parametrize("fmt", ["parquet", "relbench"])
def test_generate_refuses_a_folder_of_other_files_unless_forced(tmp_path, capsys, fmt: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    assert _generate(tmp_path, fmt, victim) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "previous export" in err
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]  # no temporary left
    assert _generate(tmp_path, fmt, victim, "--force") == 0
    assert not (victim / "thesis.tex").exists()


def test_generate_replaces_its_own_previous_export_and_an_empty_folder(tmp_path) -> None:
    out = tmp_path / "db"
    out.mkdir()
    assert _generate(tmp_path, "relbench", out) == 0
    assert _generate(tmp_path, "relbench", out) == 0  # its own export again
    assert _generate(tmp_path, "parquet", out) == 0  # parquet over relbench: ours too
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db"]


def test_generate_refuses_a_fifo_and_a_symlink_unless_forced(tmp_path, capsys) -> None:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = tmp_path / "target.txt"
    target.write_text("keep")
    link = tmp_path / "link.sqlite"
    link.symlink_to(target)
    for out in (fifo, link):
        assert _generate(tmp_path, "sqlite", out) == 2
        assert "not a regular file or folder" in capsys.readouterr().err
    assert fifo.is_fifo() and link.is_symlink() and target.read_text() == "keep"
    assert _generate(tmp_path, "sqlite", fifo, "--force") == 0
    assert fifo.is_file()


def test_generate_help_names_the_refusals_and_force(capsys) -> None:
    from plurel_core.cli import main

    assert main(["generate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--force" in text and "device, FIFO" in text and "previous parquet/relbench export" in text


@pytest.mark.parametrize(
    ("out", "words"),
    [
        (".", "names no file or folder"),
        ("..", "names no file or folder"),
        ("x" * 300 + ".sqlite", "longer than 255 bytes"),
        ("/proc/plurel.sqlite", "cannot write in the folder"),
        ("missing/x.sqlite", "does not exist"),
    ],
)
def test_bad_out_paths_exit_2_with_a_clear_message(tmp_path, monkeypatch, capsys, out, words) -> None:
    monkeypatch.chdir(tmp_path)
    fmt = "parquet" if out in (".", "..") else "sqlite"
    assert _generate(tmp_path, fmt, out) == 2
    err = capsys.readouterr().err
    assert words in err and "unexpected" not in err and len(err) < 400
    assert list(tmp_path.iterdir()) == []  # no '..XXXX.old' or temporary left


def test_read_only_out_folder_exits_2(tmp_path, monkeypatch, capsys) -> None:
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    # (a read-only mount, simulated: creating any file there fails so)
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    assert _generate(tmp_path, "sqlite", tmp_path / "x.sqlite") == 2
    err = capsys.readouterr().err
    assert "cannot write in the folder" in err and "Read-only file system" in err


@pytest.mark.parametrize("fmt", ["parquet", "sqlite"])
def test_outputs_get_the_permissions_of_the_umask(tmp_path, fmt: str) -> None:
    import os

    old = os.umask(0o022)
    try:
        out = tmp_path / ("db" if fmt == "parquet" else "db.sqlite")
        assert _generate(tmp_path, fmt, out) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == (0o755 if fmt == "parquet" else 0o644)


# -- bad config files on the command line -------------------------------------------------


def _describe_with_config(tmp_path, text: str) -> int:
    from plurel_core.cli import main

    cfg = tmp_path / "c.json"
    cfg.write_text(text)
    return main(["describe", "--seed", "0", "--config", str(cfg)])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"features": {"activations": [["relu"], {"a": 1}]}}', "unknown option"),
        ('{"features": {"aggregations": [{"sum": 1}, {"sum": 1}]}}', "unknown option"),
        ('{"schema": {"layouts": [[]]}}', "unknown option"),
    ],
)
def test_malformed_configs_exit_2_naming_the_problem(tmp_path, capsys, text: str, words: str) -> None:
    assert _describe_with_config(tmp_path, text) == 2
    err = capsys.readouterr().err
    assert words in err and "unexpected" not in err


def test_a_huge_config_gives_a_short_message(tmp_path, capsys) -> None:
    import json

    huge = {"features": {"activations": ["x" * 4_000_000]}, "k" * 4_000_000: 1}
    assert _describe_with_config(tmp_path, json.dumps(huge)) == 2
    err = capsys.readouterr().err
    assert "unknown option" in err and "unknown section" in err and len(err) < 2000
    many = {"schema": {f"key{i}": 1 for i in range(100_000)}}
    assert _describe_with_config(tmp_path, json.dumps(many)) == 2
    err = capsys.readouterr().err
    assert "more" in err and len(err) < 5000


# -- corpus runs --------------------------------------------------------------------------


def test_planning_a_huge_corpus_holds_no_list_of_its_seeds(tmp_path) -> None:
    import tracemalloc

    from plurel_core.corpus import _plan

    tracemalloc.start()
    try:
        complete, todo = _plan(tmp_path, "plurel", range(10_000_000), "parquet", "0" * 64)
        first = [next(todo) for _ in range(3)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert complete == [] and first == [0, 1, 2]
    assert peak < 5_000_000  # a list of the seeds alone would take 80 MB


@pytest.mark.timeout(120)
def test_an_unreachable_scheduler_leaves_no_folder_behind(tmp_path, capsys) -> None:
    from plurel_core.cli import main

    out = tmp_path / "corpus"
    argv = ["corpus", "--preset", "small", "--num-dbs", "2", "--format", "parquet", "--out", str(out)]
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:1", "--no-progress"]) == 2
    assert "cannot connect" in capsys.readouterr().err
    assert not out.exists()
    existing = tmp_path / "mine"
    existing.mkdir()
    argv[-1] = str(existing)
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:1", "--no-progress"]) == 2
    assert not (existing / "manifest.jsonl").exists()


@pytest.mark.timeout(300)
def test_a_full_disk_stops_the_corpus_with_one_message_and_the_next_run_resumes(
    tmp_path, monkeypatch, capsys
) -> None:
    import errno

    from plurel_core import corpus
    from plurel_core.cli import main

    out = tmp_path / "corpus"
    argv = ["corpus", "--preset", "small", "--num-dbs", "4", "--format", "sqlite", "--out", str(out)]
    real = corpus._ManifestWriter.append
    calls = {"n": 0}

    def full_after_two(self, record):  # (a full disk, simulated: the third line cannot be written)
        calls["n"] += 1
        if calls["n"] > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, record)

    monkeypatch.setattr(corpus._ManifestWriter, "append", full_after_two)
    assert main([*argv, "--workers", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("No space left on device") == 1 and "Traceback" not in err
    assert "rerun the same command to resume" in err and len(err.splitlines()) <= 5
    assert len(corpus.read_manifest(out / "manifest.jsonl")) == 2
    assert not [p for p in out.iterdir() if p.name.startswith((".tmp-", ".trash-", ".stop-"))]

    monkeypatch.setattr(corpus._ManifestWriter, "append", real)
    assert main([*argv, "--workers", "1", "--no-progress"]) == 0
    assert "2 already complete" in capsys.readouterr().err
    records = corpus.read_manifest(out / "manifest.jsonl")
    assert sorted(r["seed"] for r in records if r["status"] == "ok") == [0, 1, 2, 3]
    for rec in records:
        assert corpus.verify_database(out / rec["dir"], rec["files"]) is None


def test_failures_with_one_cause_are_listed_under_it_once(capsys) -> None:
    from pathlib import Path

    from plurel_core.corpus import CorpusResult, _print_failures

    result = CorpusResult(Path("/c"), "small", "parquet", "h", range(40))
    result.failed = {s: "OSError: [Errno 28] No space left on device" for s in range(30)}
    result.failed[31] = "RuntimeError: other"
    _print_failures(result, "small")
    err = capsys.readouterr().err
    assert err.count("No space left on device") == 1 and "and 10 more" in err
    assert "small-31: RuntimeError: other" in err and len(err.splitlines()) == 3


# -- signals ------------------------------------------------------------------------------


def _wait_for(predicate, seconds: float) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.timeout(300)
def test_sigterm_during_an_export_leaves_no_temporary_files(tmp_path) -> None:
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "db.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "plurel_core", "generate", "--seed", "0", "--preset", "large",
         "--format", "sqlite", "--out", str(out)],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        writing = _wait_for(lambda: any(p.name.endswith(".tmp") for p in tmp_path.iterdir()), 240)
        assert writing and proc.poll() is None, "the export was not caught while writing"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 143 and "terminated" in err
    assert list(tmp_path.iterdir()) == []  # no '.db.sqlite.*.tmp', no '-journal'


@pytest.mark.timeout(300)
def test_sigterm_during_a_corpus_leaves_no_stop_marker(tmp_path) -> None:
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "corpus"
    proc = subprocess.Popen(
        [sys.executable, "-m", "plurel_core", "corpus", "--preset", "small", "--num-dbs", "40",
         "--format", "parquet", "--out", str(out), "--workers", "1", "--no-progress"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        manifest = out / "manifest.jsonl"
        started = _wait_for(lambda: manifest.exists() and manifest.read_bytes().count(b"\n") >= 2, 240)
        assert started and proc.poll() is None, "the run ended before it could be stopped"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 130, err
    assert [p.name for p in out.iterdir() if p.name.startswith((".stop-", ".tmp-", ".trash-"))] == []


@pytest.mark.timeout(300)
def test_table_workers_give_memory_back_after_a_large_table() -> None:
    from plurel_core.generate import generate
    from plurel_core.workers import _TRIM_ABOVE, start_table_workers, stop_table_workers

    kept = _TRIM_ABOVE + (32 << 20)
    # two one-row tables whose SCMs (complete DAGs of 4-layer, 256-wide MLPs) peak at
    # 1-2 GB in a worker: within the command line's budget
    cfg = Config.from_dict(
        {
            "schema": {**WIDE_SCM["schema"], "num_tables": [2, 2], "num_cols": [3, 3]},
            "features": {**WIDE_SCM["features"], "mlp_layers": [4, 4]},
        }
    )
    workers = start_table_workers(2)
    try:
        assert workers.wait_ready(120)
        generate(cfg, 0, processes=2)  # on the workers

        def resident() -> list[int]:
            out = []
            for proc in workers._procs:
                with open(f"/proc/{proc.pid}/status") as f:
                    out.append(next(int(line.split()[1]) << 10 for line in f if line.startswith("VmRSS:")))
            return out

        # (a worker hands memory back just after its answer: give it a moment)
        _wait_for(lambda: max(resident()) < kept, 20)
        sizes = resident()
    finally:
        stop_table_workers()
    # a worker trims what it holds above _TRIM_ABOVE between requests (a page-rounding
    # margin above it); without handing freed memory back they kept 0.6-0.9 GB each
    assert max(sizes) < kept, sizes


def test_bad_arguments_of_sweeps_and_exports_are_the_projects_errors(tmp_path) -> None:
    # the explorer shows the project's own error types as messages and anything else as a
    # bug: what a caller gets wrong in a sweep or an export is one of them
    from plurel_core.errors import PluRelError
    from plurel_core.export import check_destination, export
    from plurel_core.generate import generate
    from plurel_core.sweep import sweep

    cfg = Config.preset("small")
    with pytest.raises(PluRelError, match="num_dbs"):
        sweep(cfg, 0)
    with pytest.raises(PluRelError, match="names no file or folder"):
        check_destination(".", directory=False)
    with pytest.raises(PluRelError, match="format"):
        export(generate(cfg, 0), "xlsx", tmp_path / "x")
