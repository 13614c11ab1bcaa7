"""Command line: subcommands, formats, exit codes and messages."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from plurel_core.cli import SUBCOMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
SHOP = str(ROOT / "assets" / "schemas" / "shop.sql")


def test_registry_has_commands():
    assert {"generate", "describe"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("fmt", ["sqlite", "parquet", "csv", "relbench", "ddl"])
def test_generate_every_format(fmt, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", "--seed", "1", "--preset", "small", "--format", fmt, "--out", str(out)]) == 0
    assert out.exists()
    assert "wrote" in capsys.readouterr().out


def test_generate_from_schema_and_config(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"schema": {"entity_rows": [10, 20], "activity_rows": [30, 40]}}))
    out = tmp_path / "shop.db"
    args = [
        "generate",
        "--seed",
        "2",
        "--config",
        str(cfg),
        "--schema",
        SHOP,
        "--format",
        "sqlite",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    con = sqlite3.connect(out)
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    assert con.execute('SELECT count(*) FROM "order line"').fetchone()[0] > 0


def test_describe(capsys):
    assert main(["describe", "--seed", "0", "--preset", "small", "--schema", SHOP]) == 0
    text = capsys.readouterr().out
    assert "order line" in text and "FK (parent_id) -> category" in text
    assert main(["describe", "--seed", "0", "--preset", "paper"]) == 0
    assert "tables" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["generate", "--preset", "small", "--format", "sqlite", "--out", "x.db"], "--seed"),
        (["generate", "--seed", "-3", "--preset", "small", "--format", "sqlite", "--out", "x.db"], "--seed"),
        (["generate", "--seed", "1", "--preset", "nope", "--format", "sqlite", "--out", "x.db"], "--preset"),
        (["generate", "--seed", "1", "--preset", "small", "--format", "xlsx", "--out", "x.db"], "--format"),
        (["describe", "--seed", "1"], "--preset"),
        (["describe", "--seed", "1", "--preset", "small", "--config", "c.json"], "not allowed"),
        (["describe", "--seed", "1", "--config", "/no/such.json"], "--config"),
        (["describe", "--seed", "1", "--preset", "small", "--schema", "/no/such.sql"], "--schema"),
        (["describe", "--seed", "1", "--preset", "small", "--dialect", "mysql"], "--dialect"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(argv, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_bad_config_values_named(tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"schema": {"num_tables": [0, 5]}}))
    assert main(["describe", "--seed", "1", "--config", str(cfg)]) == 2
    assert "schema.num_tables" in capsys.readouterr().err
    cfg.write_text("{not json")
    assert main(["describe", "--seed", "1", "--config", str(cfg)]) == 2
    assert "JSON" in capsys.readouterr().err


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (a INT PRIMARY KEY);\nDROP TABLE t;",
        "CREATE TABLE t (a INT PRIMARY KEY CHECK " + "(" * 500 + "a > 0" + ")" * 500 + ");",
        "CREATE TABLE t (a INT PRIMARY KEY, b INT REFERENCES ghost (id));",
        "CREATE TABLE (",
    ],
)
def test_bad_schema_writes_nothing(sql, tmp_path, capsys):
    schema = tmp_path / "s.sql"
    schema.write_text(sql)
    out = tmp_path / "out.db"
    argv = [
        "generate",
        "--seed",
        "1",
        "--preset",
        "small",
        "--schema",
        str(schema),
        "--format",
        "sqlite",
        "--out",
        str(out),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--schema" in err and "line" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sql"]
    assert not (tmp_path / "evil.db").exists()


def test_missing_output_folder(tmp_path, capsys):
    out = tmp_path / "missing" / "x.db"
    assert (
        main(["generate", "--seed", "1", "--preset", "small", "--format", "sqlite", "--out", str(out)]) == 2
    )
    assert "does not exist" in capsys.readouterr().err


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plurel_core", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_subprocess_help_and_errors(tmp_path):
    for argv in ([], ["generate"], ["describe"]):
        res = _run(*argv, "--help")
        assert res.returncode == 0 and "usage" in res.stdout
    res = _run(
        "generate", "--seed", "x", "--preset", "small", "--format", "sqlite", "--out", str(tmp_path / "a.db")
    )
    assert res.returncode == 2 and "--seed" in res.stderr and "Traceback" not in res.stderr
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE t (a INT);\nALTER TABLE t RENAME TO u;")
    res = _run("describe", "--seed", "0", "--preset", "small", "--schema", str(bad))
    assert res.returncode == 2 and "RENAME" in res.stderr and "line 2" in res.stderr
    # statements that cannot change the tables are skipped and listed, not errors
    bad.write_text("CREATE TABLE t (a INT);\nCOPY t FROM '/etc/passwd';")
    res = _run("describe", "--seed", "0", "--preset", "small", "--schema", str(bad))
    assert res.returncode == 0 and "1 × COPY (line 2)" in res.stderr


def test_subprocess_generate_relbench(tmp_path):
    out = tmp_path / "rb"
    res = _run(
        "generate",
        "--seed",
        "3",
        "--preset",
        "small",
        "--schema",
        SHOP,
        "--format",
        "relbench",
        "--out",
        str(out),
    )
    assert res.returncode == 0, res.stderr
    assert (out / "plurel.json").exists() and (out / "order line.parquet").exists()
