"""Exports: round trips for every format, SQLite integrity, RelBench metadata, atomic writes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from plurel_core import export as ex
from plurel_core.config import Config, ConfigError
from plurel_core.generate import generate
from plurel_core.sql import schema_from_sql

ROOT = Path(__file__).resolve().parents[1]
SMALL = Config.preset("small")


@pytest.fixture(scope="module")
def dbs():
    """A priors database and two SQL ones (text keys, NULLs, dates, cycles, composite FKs)."""
    out = {"priors": (generate(SMALL, 4), None)}
    for name in ("shop", "clinic"):
        sql = (ROOT / "assets" / "schemas" / f"{name}.sql").read_text()
        out[name] = (generate(SMALL, 4, schema=schema_from_sql(sql, SMALL.schema, 4)), sql)
    return out


def assert_same(expected: pd.DataFrame, got: pd.DataFrame, exact_dtypes: bool = True) -> None:
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for col in expected.columns:
        a, b = expected[col], got[col]
        assert a.isna().tolist() == b.isna().tolist(), col
        if exact_dtypes and pd.api.types.is_datetime64_any_dtype(a.dtype):
            # Parquet has no second resolution: the unit may become ms, the instants stay
            assert pd.api.types.is_datetime64_any_dtype(b.dtype), (col, b.dtype)
        elif exact_dtypes:
            assert str(a.dtype) == str(b.dtype), (col, a.dtype, b.dtype)
        av, bv = a[a.notna()], b[b.notna()]
        if pd.api.types.is_float_dtype(a.dtype):
            assert (av.to_numpy() == bv.to_numpy().astype(float)).all(), col
        elif pd.api.types.is_bool_dtype(a.dtype):
            assert av.astype(bool).tolist() == bv.astype(bool).tolist(), col
        else:
            assert av.tolist() == bv.tolist(), col


CASES = ["priors", "shop", "clinic"]


@pytest.mark.parametrize("case", CASES)
def test_parquet_round_trip(dbs, case, tmp_path):
    db, _ = dbs[case]
    ex.write_parquet(db, tmp_path / "pq")
    back = ex.read_parquet(tmp_path / "pq")
    assert set(back) == set(db.tables)
    for name, t in db.tables.items():
        assert_same(t.df, back[name])


@pytest.mark.parametrize("case", CASES)
def test_csv_zip_round_trip(dbs, case, tmp_path):
    db, _ = dbs[case]
    ex.write_csv_zip(db, tmp_path / "db.zip")
    back = ex.read_csv_zip(tmp_path / "db.zip")
    for name, t in db.tables.items():
        assert_same(t.df, back[name])


@pytest.mark.parametrize("case", CASES)
def test_sqlite_round_trip_and_integrity(dbs, case, tmp_path):
    db, _ = dbs[case]
    path = tmp_path / "db.sqlite"
    ex.write_sqlite(db, path)
    back = ex.read_sqlite(path)
    assert list(back) == list(db.tables)
    for name, t in db.tables.items():
        assert_same(t.df, back[name], exact_dtypes=False)
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        fk_count = sum(len(con.execute(f'PRAGMA foreign_key_list("{n}")').fetchall()) for n in db.tables)
        assert fk_count >= sum(len(s.foreign_keys) for s in db.schema.tables.values())
        # with enforcement on, a row pointing to an existing parent is accepted, a dangling one is not
        con.execute("PRAGMA foreign_keys=ON")
        referenced = {fk.parent for _, fk in db.schema.foreign_keys()}
        child, fk = next(
            (c, fk)
            for c, fk in db.schema.foreign_keys()
            if not fk.deferred and fk.parent != c and c not in referenced and len(fk.columns) == 1
        )
        row = con.execute(f'SELECT * FROM "{child}" LIMIT 1').fetchone()
        cols = [r[1] for r in con.execute(f'PRAGMA table_info("{child}")')]
        con.execute(f'DELETE FROM "{child}" WHERE rowid = (SELECT min(rowid) FROM "{child}")')
        placeholders = ", ".join("?" * len(cols))
        con.execute(f'INSERT INTO "{child}" VALUES ({placeholders})', row)
        bad = list(row)
        bad[cols.index(fk.columns[0])] = (
            "no such parent" if isinstance(row[cols.index(fk.columns[0])], str) else -999
        )
        con.execute(f'DELETE FROM "{child}" WHERE rowid = (SELECT max(rowid) FROM "{child}")')
        with pytest.raises(sqlite3.IntegrityError):
            con.execute(f'INSERT INTO "{child}" VALUES ({placeholders})', bad)
    finally:
        con.close()


def test_sqlite_declares_deferred_cycle_fk(dbs, tmp_path):
    db, _ = dbs["clinic"]
    text = ex.ddl(db)
    assert "DEFERRABLE INITIALLY DEFERRED" in text
    assert 'PRIMARY KEY ("doctor_id", "starts_at")' in text
    assert 'REFERENCES "slot" ("doctor_id", "starts_at")' in text


def test_ddl_file_executes(dbs, tmp_path):
    db, _ = dbs["shop"]
    ex.write_ddl(db, tmp_path / "s.sql")
    con = sqlite3.connect(":memory:")
    con.executescript((tmp_path / "s.sql").read_text())
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert names == list(db.tables)


@pytest.mark.parametrize("case", CASES)
def test_relbench_metadata_as_relbench_reads_it(dbs, case, tmp_path):
    db, sql = dbs[case]
    ex.write_relbench(db, tmp_path / "rb", config=SMALL, schema_sql=sql)
    for name, t in db.tables.items():
        table = pa.parquet.read_table(tmp_path / "rb" / f"{name}.parquet")
        meta = {
            key.decode("utf-8"): json.loads(value.decode("utf-8"))
            for key, value in table.schema.metadata.items()
            if key in [b"fkey_col_to_pkey_table", b"pkey_col", b"time_col"]
        }
        assert meta == {
            "fkey_col_to_pkey_table": t.fkey_col_to_pkey_table,
            "pkey_col": t.pkey_col,
            "time_col": t.time_col,
        }
        assert_same(t.df, table.to_pandas())
        for col, parent in meta["fkey_col_to_pkey_table"].items():
            pkey = db.tables[parent].pkey_col
            assert set(t.df[col].dropna()) <= set(db.tables[parent].df[pkey])
    info = json.loads((tmp_path / "rb" / "plurel.json").read_text())
    again = ex.regenerate(json.dumps(info["bundle"]))
    for name, t in db.tables.items():
        assert_same(t.df, again.tables[name].df)


def test_config_bundle_round_trip():
    text = ex.config_bundle(SMALL, 11, "CREATE TABLE t (a INT PRIMARY KEY);")
    cfg, seed, sql = ex.load_bundle(text)
    assert cfg == SMALL and seed == 11 and sql.startswith("CREATE TABLE")
    db = ex.regenerate(text)
    assert list(db.tables) == ["t"] and db.seed == 11
    with pytest.raises(ValueError, match="seed"):
        ex.config_bundle(SMALL, -1)
    with pytest.raises(ConfigError, match="format"):
        ex.load_bundle("{}")


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"format": "other"}, [("format", "got 'other'; expected 'plurel-config-bundle'")]),
        ({"seed": -1}, [("seed", "got -1; expected a non-negative integer")]),
        ({"seed": None}, [("seed", "got None; expected a non-negative integer")]),
        ({"schema_sql": 5}, [("schema_sql", "got int; expected text or null")]),
        ({"config": [1]}, [("config", "got list; expected an object with sections")]),
        (
            {"seed": "1", "config": {"schema": {"num_tables": [9, 3]}}},
            [
                ("seed", "got '1'; expected a non-negative integer"),
                ("schema.num_tables", "got [9, 3]; lo must not exceed hi"),
            ],
        ),
    ],
)
def test_a_bad_bundle_is_a_config_error_naming_each_bad_field(change, errors):
    bundle = {**json.loads(ex.config_bundle(SMALL, 11)), **change}
    with pytest.raises(ConfigError) as caught:
        ex.load_bundle(json.dumps(bundle))
    assert caught.value.errors == errors


def test_a_bundle_that_is_not_an_object_or_lacks_its_fields_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        ex.load_bundle("[1, 2]")
    assert caught.value.errors == [
        ("bundle", "got list; expected an object with format 'plurel-config-bundle'")
    ]
    with pytest.raises(ConfigError) as caught:
        ex.load_bundle(json.dumps({"format": ex.BUNDLE_FORMAT}))
    assert caught.value.errors == [("seed", "missing; expected a non-negative integer")]


def test_failed_export_leaves_nothing(dbs, tmp_path, monkeypatch):
    db, _ = dbs["priors"]
    calls = {"n": 0}
    real = pq.write_table

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(ex.pq, "write_table", failing)
    with pytest.raises(OSError):
        ex.write_parquet(db, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    # an existing destination is left as it was
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "old.txt").write_text("old")
    calls["n"] = 0
    with pytest.raises(OSError):
        ex.write_relbench(db, tmp_path / "keep", force=True)  # (not ours: replaced only when forced)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep"]
    assert (tmp_path / "keep" / "old.txt").read_text() == "old"


def test_sqlite_integrity_failure_writes_nothing(dbs, tmp_path):
    db, _ = dbs["priors"]
    child, fk = next((c, fk) for c, fk in db.schema.foreign_keys())
    broken = db.tables[child].df.copy()
    broken.loc[0, fk.columns[0]] = 10**9
    original = db.tables[child].df
    db.tables[child].df = broken
    try:
        with pytest.raises(Exception, match="(?i)foreign key|constraint"):
            ex.write_sqlite(db, tmp_path / "x.db")
    finally:
        db.tables[child].df = original
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_and_missing_folder(dbs, tmp_path):
    db, _ = dbs["priors"]
    with pytest.raises(ValueError, match="format"):
        ex.export(db, "xlsx", tmp_path / "x")
    with pytest.raises(ValueError, match="does not exist"):
        ex.export(db, "sqlite", tmp_path / "nope" / "x.db")
