"""Reading a real SQLite file: known statistics, odd and hostile files, broken files."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plurel_core.cli import main
from plurel_core.real import RealDatabaseError, read_sqlite, read_sqlite_bytes
from plurel_core.stats import database_stats

ROOT = Path(__file__).resolve().parents[1]
CHINOOK = ROOT / "assets" / "real" / "chinook.sqlite"


def make_db(path: Path, script: str, rows: dict[str, list[tuple]] | None = None) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(script)
    for table, values in (rows or {}).items():
        if values:
            marks = ", ".join("?" * len(values[0]))
            conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', values)
    conn.commit()
    conn.close()
    return path


KNOWN = """
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT, score REAL);
CREATE TABLE child (
    id INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES parent(id),
    amount REAL,
    at DATETIME NOT NULL
);
"""
KNOWN_ROWS = {
    "parent": [(1, "a", 1.0), (2, "b", 2.0), (3, "a", None), (4, None, 4.0)],
    "child": [
        (1, 1, 10.0, "2020-01-01"),
        (2, 1, 11.0, "2020-01-02"),
        (3, 1, None, "2020-01-03"),
        (4, 2, 13.0, "2020-01-04"),
        (5, None, 14.0, "2020-01-05"),
        (6, 99, 15.0, "2020-01-06"),  # references no parent row
    ],
}


@pytest.fixture
def known_db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "known.sqlite", KNOWN, KNOWN_ROWS)


def test_statistics_of_a_hand_built_database(known_db: Path) -> None:
    real = read_sqlite(known_db)
    stats = database_stats(real.db)
    assert stats["tables"] == 2
    assert stats["entity_tables"] == 1 and stats["activity_tables"] == 1
    assert stats["foreign_keys"] == 1 and stats["schema_depth"] == 1
    assert stats["max_fan_in"] == 1 and stats["max_fan_out"] == 1
    assert stats["rows"] == 10
    assert stats["cells"] == 4 * 3 + 6 * 4
    # features: parent.name (text), parent.score, child.amount (numerical); child.at is the time column
    assert stats["feature_columns"] == 3
    assert stats["numerical_columns"] == 2 and stats["text_columns"] == 1
    assert stats["date_columns"] == 0
    # missing: parent.name 1, parent.score 1, child.amount 1, over 4 × 2 + 6 × 1 feature cells
    assert stats["nan_share"] == pytest.approx(3 / 14)
    # children per parent row [3, 1, 0, 0] (the NULL and the dangling row count for none)
    assert stats["fk_gini_mean"] == pytest.approx(0.625)
    assert stats["fk_unreferenced_mean"] == pytest.approx(0.5)
    assert stats["regression_targets"] == 2 and stats["constant_columns"] == 0
    assert math.isnan(stats["generation_seconds"])
    notes = "\n".join(real.notes)
    assert "1 of 6 rows are NULL" in notes
    assert "1 row(s) reference no row of 'parent' (dangling)" in notes
    child = real.db.tables["child"].df
    assert pd.api.types.is_datetime64_any_dtype(child["at"].dtype)
    assert child["parent_id"].dtype == "Int64"  # integers next to a NULL stay integers


def test_chinook_reads_with_its_shape() -> None:
    real = read_sqlite(CHINOOK)
    assert real.rows == {
        "Artist": 275, "Album": 347, "Employee": 8, "Customer": 59, "Genre": 25, "Invoice": 412,
        "MediaType": 5, "Playlist": 18, "Track": 3503, "InvoiceLine": 2240, "PlaylistTrack": 8715,
    }  # fmt: skip
    stats = database_stats(real.db)
    assert stats["rows"] == 15_607 and stats["foreign_keys"] == 11
    assert 0 < stats["nan_share"] < 0.2
    assert real.notes == ("FK Employee(ReportsTo) → Employee: 1 of 8 rows are NULL",)


ODD = """
CREATE TABLE "order items" ("item id" INTEGER PRIMARY KEY AUTOINCREMENT, "unit price" REAL, label);
CREATE TABLE loose (a, b TEXT);
CREATE TABLE empty_one (id INTEGER PRIMARY KEY, v REAL);
CREATE TABLE orphan (id INTEGER PRIMARY KEY, ghost_id INTEGER REFERENCES nowhere(id), w REAL);
CREATE TABLE line (
    id INTEGER PRIMARY KEY,
    item INTEGER REFERENCES "order items"("item id"),
    e INTEGER REFERENCES empty_one(id),
    qty INTEGER
);
CREATE TABLE audit (msg TEXT);
CREATE VIEW v_lines AS SELECT * FROM line;
CREATE TRIGGER t_line AFTER INSERT ON line BEGIN INSERT INTO audit VALUES ('x'); END;
CREATE INDEX i_line ON line(item);
"""


@pytest.fixture
def odd_db(tmp_path: Path) -> Path:
    path = make_db(
        tmp_path / "odd.sqlite",
        ODD,
        {
            "order items": [(None, 1.5, "x"), (None, 2.5, 7), (None, None, "z")],
            "loose": [(1, "p"), (2, "q"), (3, None)],
            "orphan": [(1, 5, 0.5), (2, None, 0.7)],
            "line": [(1, 1, None, 3), (2, 1, None, 4), (3, 2, None, None), (4, 17, None, 1)],
        },
    )
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM audit")  # the trigger fired on the inserts above
    with contextlib.suppress(sqlite3.OperationalError):  # SQLite without R*Tree: the rest still runs
        conn.execute("CREATE VIRTUAL TABLE spatial USING rtree(id, x0, x1)")
    conn.commit()
    conn.close()
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_odd_file_is_read_with_a_note_for_each_oddity(odd_db: Path) -> None:
    before = _digest(odd_db)
    listing = sorted(os.listdir(odd_db.parent))
    real = read_sqlite(odd_db)
    notes = "\n".join(real.notes)
    assert "'sqlite_sequence': SQLite's internal table; skipped" in notes
    assert "view 'v_lines': skipped (never run)" in notes
    assert "trigger 't_line': skipped (never run)" in notes
    assert "column 'label' has no declared type" in notes  # rebuilt from the catalogue
    assert "column 'a' has no declared type; read as INTEGER" in notes
    assert "FK (ghost_id) → 'nowhere' points to no table that is read; dropped" in notes
    assert "table 'empty_one': empty" in notes
    assert "table 'loose': no primary key" in notes and "table 'audit': no primary key" in notes
    assert "FK line(e) → empty_one: 4 of 4 rows are NULL" in notes
    assert "FK line(item) → order items: 1 row(s) reference no row" in notes
    if "spatial" in {r[0] for r in sqlite3.connect(odd_db).execute("SELECT name FROM sqlite_master")}:
        assert "'spatial': a virtual table; skipped" in notes
    assert set(real.db.tables) == {"order items", "loose", "empty_one", "orphan", "line", "audit"}
    # the trigger never ran and nothing was written beside the file
    assert _digest(odd_db) == before and sorted(os.listdir(odd_db.parent)) == listing
    assert len(real.db.tables["audit"].df) == 0
    items = real.db.tables["order items"].df
    assert list(items.columns) == ["item id", "unit price", "label"]
    assert items["label"].tolist() == ["x", "7", "z"]  # an untyped column of mixed values as text
    stats = database_stats(real.db)
    assert stats["tables"] == 6 and stats["foreign_keys"] == 2
    # FK line.item: children per parent row [2, 1, 0]; line.e has an empty parent: left out
    assert stats["fk_unreferenced_mean"] == pytest.approx(1 / 3)


def test_upload_bytes_are_read_from_a_temporary_file_that_is_removed(
    known_db: Path, tmp_path, monkeypatch
) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    real = read_sqlite_bytes(known_db.read_bytes(), "upload.sqlite")
    assert real.name == "upload.sqlite" and real.rows == {"parent": 4, "child": 6}
    assert list(scratch.iterdir()) == []


def test_wal_mode_file_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "wal.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(KNOWN)
    conn.executemany("INSERT INTO parent VALUES (?, ?, ?)", KNOWN_ROWS["parent"])
    conn.commit()
    conn.close()
    assert read_sqlite(path).rows == {"parent": 4, "child": 0}


def _corrupt(src: Path, dst: Path) -> Path:
    data = bytearray(src.read_bytes())
    page = 4096
    for p in range(1, len(data) // page):  # keep the header page, scramble the rest
        rng = np.random.default_rng(p)
        data[p * page + 8 : p * page + 200] = rng.integers(0, 256, 192, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


BROKEN = {
    "text": (
        lambda d, tmp: _write(tmp / "notes.sqlite", b"CREATE TABLE t (a INT);\n"),
        "not a SQLite database",
    ),
    "empty": (lambda d, tmp: _write(tmp / "empty.sqlite", b""), "is empty"),
    "header only": (
        lambda d, tmp: _write(tmp / "short.sqlite", b"SQLite format 3\x00" + b"\x10"),
        "cut short",
    ),
    "truncated": (lambda d, tmp: _write(tmp / "cut.sqlite", d.read_bytes()[:6000]), "corrupt"),
    "scrambled": (lambda d, tmp: _corrupt(d, tmp / "bad.sqlite"), "corrupt"),
    "zip": (lambda d, tmp: _write(tmp / "x.sqlite", b"PK\x03\x04" + b"\x00" * 200), "not a SQLite database"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_are_rejected_with_a_clear_message(case: str, tmp_path: Path) -> None:
    src = tmp_path / "src.sqlite"
    shutil.copy(CHINOOK, src)
    make, expected = BROKEN[case]
    path = make(src, tmp_path)
    with pytest.raises(RealDatabaseError, match=expected):
        read_sqlite(path)


@pytest.mark.parametrize("case", ["text", "scrambled", "truncated"])
def test_cli_compare_rejects_broken_files_writing_nothing(case: str, tmp_path: Path, capsys) -> None:
    src = tmp_path / "src.sqlite"
    shutil.copy(CHINOOK, src)
    path = BROKEN[case][0](src, tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for suffix in ("csv", "html"):
        code = main(["compare", "--real", str(path), "--preset", "small", "--num-dbs", "2",
                     "--out", str(out_dir / f"r.{suffix}"), "--quiet"])  # fmt: skip
        err = capsys.readouterr().err
        assert code == 2
        assert err.startswith("error: --real:") and BROKEN[case][1] in err and "Traceback" not in err
        assert list(out_dir.iterdir()) == []


def test_limits_are_enforced(known_db: Path) -> None:
    with pytest.raises(RealDatabaseError, match="cells; the limit is 10"):
        read_sqlite(known_db, max_cells=10)
    with pytest.raises(RealDatabaseError, match="not a readable file"):
        read_sqlite(known_db.parent / "missing.sqlite")


def test_file_without_tables_is_rejected(tmp_path: Path) -> None:
    path = make_db(
        tmp_path / "views.sqlite", "CREATE TABLE t (x INT); CREATE VIEW v AS SELECT 1; DROP TABLE t;"
    )
    with pytest.raises(RealDatabaseError, match="has no tables to compare"):
        read_sqlite(path)


def test_overlapping_fks_and_non_unique_parent_keys_are_noted(tmp_path: Path) -> None:
    path = make_db(
        tmp_path / "keys.sqlite",
        """
        CREATE TABLE dup_parent (code TEXT, v REAL);
        CREATE TABLE dup_child (id INTEGER PRIMARY KEY, code TEXT REFERENCES dup_parent(code), w REAL);
        CREATE TABLE a (id INTEGER PRIMARY KEY);
        CREATE TABLE b (id INTEGER PRIMARY KEY);
        CREATE TABLE two (x INTEGER REFERENCES a(id), FOREIGN KEY (x) REFERENCES b(id));
        CREATE TABLE flags (id INTEGER PRIMARY KEY, ok BOOLEAN, kind TEXT CHECK (kind IN ('p', 'q')));
        """,
        {
            "dup_parent": [("a", 1.0), ("a", 2.0), ("b", 3.0)],
            "dup_child": [(1, "a", 1.0), (2, "b", 2.0)],
            "flags": [(1, 1, "p"), (2, 0, "q"), (3, None, "p")],
        },
    )
    real = read_sqlite(path)
    notes = "\n".join(real.notes)
    # the SQL import gives a column one parent: the first declared FK keeps it
    assert "table 'two': FK (x) → 'b' shares a column with another FK; dropped" in notes
    assert [fk.parent for fk in real.db.schema.tables["two"].foreign_keys] == ["a"]
    assert "FK dup_child(code) → dup_parent: the parent key is not unique" in notes
    stats = database_stats(real.db)
    assert stats["foreign_keys"] == 2 and stats["boolean_columns"] == 1 and stats["categorical_columns"] == 1
    assert str(real.db.tables["flags"].df["ok"].dtype) == "boolean"


def test_table_count_and_read_time_are_capped(tmp_path: Path) -> None:
    script = ";".join(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY)" for i in range(201))
    with pytest.raises(RealDatabaseError, match="holds 201 tables; the limit is 200"):
        read_sqlite(make_db(tmp_path / "many.sqlite", script))
    with pytest.raises(RealDatabaseError, match="reading took longer than 0 s; stopped"):
        read_sqlite(CHINOOK, max_seconds=0.0)


def test_table_sqlite_cannot_read_is_skipped_with_its_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "functions.sqlite"
    conn = sqlite3.connect(path)
    # an application's own collation and function, which this reader does not have
    conn.create_collation("shop_order", lambda a, b: (a > b) - (a < b))
    conn.create_function("shop_round", 1, round, deterministic=True)
    conn.executescript(
        """
        CREATE TABLE tag (id INTEGER PRIMARY KEY, label TEXT COLLATE shop_order);
        CREATE UNIQUE INDEX tag_label ON tag (label);
        CREATE TABLE price (id INTEGER PRIMARY KEY, raw REAL, shown INT AS (shop_round(raw)) VIRTUAL);
        CREATE TABLE item (
            id INTEGER PRIMARY KEY, tag_id INTEGER REFERENCES tag(id), price_id INTEGER REFERENCES price(id)
        );
        INSERT INTO tag VALUES (1, 'a'), (2, 'b');
        INSERT INTO price (id, raw) VALUES (1, 2.4), (2, 3.6);
        INSERT INTO item VALUES (1, 1, 2), (2, 2, 1), (3, 2, 1);
        """
    )
    conn.commit()
    conn.close()
    real = read_sqlite(path)
    notes = "\n".join(real.notes)
    assert "integrity check not run (" in notes  # it needs the collation and the function
    assert "table 'price': skipped, SQLite cannot read its rows (unknown function: shop_round())" in notes
    assert "FK (price_id) → 'price' points to no table that is read; dropped" in notes
    assert real.rows == {"tag": 2, "item": 3}
    assert [fk.parent for fk in real.db.schema.tables["item"].foreign_keys] == ["tag"]
    assert database_stats(real.db)["fk_unreferenced_mean"] == 0.0


def test_values_that_do_not_fit_the_declared_type_count_as_missing(tmp_path: Path) -> None:
    path = make_db(
        tmp_path / "types.sqlite",
        """
        CREATE TABLE event (id INTEGER PRIMARY KEY, amount REAL, seen DATE, stamp TIMESTAMP, note TEXT);
        CREATE TABLE stamp (id INTEGER PRIMARY KEY, at_unix DATETIME, ev INTEGER REFERENCES event(id));
        """,
        {
            "event": [
                (1, 1.5, "2021-03-04", "2021-03-04T10:00:00+02:00", "a"),
                (2, "lots", "not a date", "2021-03-05 08:00:00", 7),
                (3, None, "2021-03-06", None, None),
            ],
            "stamp": [(1, 1_600_000_000, 1), (2, 1_600_086_400, 2)],
        },
    )
    real = read_sqlite(path)
    notes = "\n".join(real.notes)
    assert "column 'amount' (numerical) has 1 value(s) that are not numbers; counted as missing" in notes
    assert "column 'seen' (date) has 1 value(s) that are not dates; counted as missing" in notes
    event = real.db.tables["event"].df
    assert event["amount"].isna().tolist() == [False, True, True]
    assert event["stamp"].tolist()[:2] == [
        pd.Timestamp("2021-03-04 08:00:00"),
        pd.Timestamp("2021-03-05 08:00:00"),
    ]
    assert event["note"].tolist()[:2] == ["a", "7"] and pd.isna(event["note"].iloc[2])
    # whole numbers in a date column are seconds since 1970
    assert real.db.tables["stamp"].df["at_unix"].tolist() == [
        pd.Timestamp("2020-09-13 12:26:40"),
        pd.Timestamp("2020-09-14 12:26:40"),
    ]
