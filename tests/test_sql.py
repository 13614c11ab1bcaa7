"""SQL schema import: structures, types, integrity of generated data, untrusted input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plurel_core.config import Config
from plurel_core.database import Database
from plurel_core.generate import generate
from plurel_core.sql import (
    MAX_COLUMNS,
    MAX_SQL_BYTES,
    MAX_TABLES,
    SQLSchemaError,
    parse_schema,
    schema_from_sql,
)

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(__file__).resolve().parent / "data" / "schemas"  # public schemas, see the README there
ASSETS = ROOT / "assets" / "schemas"
SMALL = Config.preset("small")


def build(sql: str, seed: int = 0, config: Config = SMALL) -> Database:
    return generate(config, seed, schema=schema_from_sql(sql, config.schema, seed))


def _tuples(df: pd.DataFrame, cols) -> pd.Series:
    """Row tuples of ``cols`` as hashable values (None for rows with a missing value)."""
    sub = df[list(cols)]
    present = sub.notna().all(axis=1)
    return pd.Series(
        [
            tuple(r) if ok else None
            for r, ok in zip(sub.astype(object).itertuples(index=False), present, strict=True)
        ]
    )


def check_integrity(db: Database) -> None:
    """Every FK value exists in the parent, keys are unique, 1:1 FKs unique, self-refs go back."""
    schema = db.schema
    for name, spec in schema.tables.items():
        df = db.tables[name].df
        assert len(df) == spec.num_rows
        for fk in spec.foreign_keys:
            parent = db.tables[fk.parent].df
            child = _tuples(df, fk.columns).dropna()
            allowed = set(_tuples(parent, fk.parent_columns).dropna())
            assert set(child) <= allowed, f"{name}.{fk.name} -> {fk.parent}: dangling values"
            if not fk.nullable:
                assert len(child) == len(df), f"{name}.{fk.name}: NULLs in a NOT NULL FK"
            if fk.one_to_one:
                assert child.is_unique, f"{name}.{fk.name}: 1:1 FK repeats a parent"
            if fk.parent == name and spec.pkey_col is not None and df[spec.pkey_col].dtype.kind == "i":
                own = df[spec.pkey_col].to_numpy()
                ref = pd.to_numeric(df[fk.columns[0]]).to_numpy(dtype=float)
                ok = np.isnan(ref) | (ref < own) | ((own == 0) & (ref == 0))
                assert ok.all(), f"{name}.{fk.name}: self-reference points forward"
        node = schema.graph.nodes[name]
        for group in [node.get("primary_key") or (), *(node.get("unique") or ()), *spec.unique_groups]:
            if group:
                vals = _tuples(df, group).dropna()
                assert vals.is_unique, f"{name}: key {group} not unique"


# --------------------------------------------------------------------------------------
# every real-world schema


REAL_FILES = sorted(REAL.glob("*.sql"))


def test_real_schemas_present():
    names = {p.name for p in REAL_FILES}
    assert {"chinook.sql", "northwind.sql", "sakila.sql", "sakila_mysql.sql", "adventureworks.sql"} <= names


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.stem)
def test_real_schema_imports_and_generates_with_integrity(path):
    sql = path.read_text()
    parsed = parse_schema(sql)
    schema = schema_from_sql(sql, SMALL.schema, 3)
    assert len(schema.tables) == len(parsed.tables)
    db = build(sql, seed=3)
    check_integrity(db)


def test_adventureworks_has_68_tables_and_90_fks():
    parsed = parse_schema((REAL / "adventureworks.sql").read_text())
    assert len(parsed.tables) == 68
    assert sum(len(t.foreign_keys) for t in parsed.tables) == 90
    assert parsed.dialect == "postgres"


def test_dialects_detected():
    assert parse_schema((REAL / "sakila_mysql.sql").read_text()).dialect == "mysql"
    pg = parse_schema((REAL / "chinook_pg_altertable.sql").read_text())
    assert sum(len(t.foreign_keys) for t in pg.tables) == 11  # all from ALTER TABLE


# --------------------------------------------------------------------------------------
# own example schemas: each structure


def _schema(name: str, seed: int = 0):
    return schema_from_sql((ASSETS / name).read_text(), SMALL.schema, seed)


@pytest.mark.parametrize("name", ["shop.sql", "clinic.sql", "social.sql"])
def test_example_schemas_generate_with_integrity(name):
    for seed in (0, 1):
        check_integrity(build((ASSETS / name).read_text(), seed=seed))


def test_shop_structures():
    s = _schema("shop.sql")
    assert list(s.tables).index("category") < list(s.tables).index("product")
    # self-reference, text primary key, junction table, FK to a UNIQUE column
    (self_fk,) = s.tables["category"].foreign_keys
    assert self_fk.parent == "category" and self_fk.nullable
    product = s.tables["product"]
    assert product.pkey_col == "sku" and [c.name for c in product.key_columns] == ["sku"]
    line = s.tables["order line"]
    assert line.pkey_col is None and set(line.unique_groups) == {("order_id", "sku")}
    review_fk = next(fk for fk in s.tables["review"].foreign_keys if fk.parent == "customer")
    assert review_fk.parent_columns == ("email",)
    assert [c.name for c in s.tables["customer"].key_columns] == ["email"]
    coupon_fk = next(fk for fk in s.tables["orders"].foreign_keys if fk.parent == "coupon")
    assert coupon_fk.nullable
    db = build((ASSETS / "shop.sql").read_text())
    assert db.tables["product"].df["sku"].is_unique
    assert set(db.tables["review"].df["customer_email"]) <= set(db.tables["customer"].df["email"])
    assert db.tables["orders"].fkey_col_to_pkey_table == {"customer_id": "customer", "coupon_code": "coupon"}
    assert db.tables["review"].fkey_col_to_pkey_table == {"sku": "product"}  # email is not the pkey


def test_shop_column_types():
    s = _schema("shop.sql")
    cols = {c.name: c for c in s.tables["customer"].columns}
    assert cols["tier"].kind == "categorical" and cols["tier"].labels == ("bronze", "silver", "gold")
    assert cols["newsletter"].kind == "boolean"
    assert cols["signed_up"].kind == "date"
    stars = next(c for c in s.tables["review"].columns if c.name == "stars")
    assert stars.labels == ("1", "2", "3", "4", "5")
    notes = next(c for c in s.tables["product"].columns if c.name == "notes")
    assert notes.kind == "text" and notes.sql_type == "BLOB SUB_TYPE TEXT"
    title = next(c for c in s.tables["product"].columns if c.name == "title")
    lo, hi = SMALL.schema.num_categories
    assert title.kind == "text" and lo <= title.num_categories <= hi
    # activity table: first date column is the time column, rows in time order
    assert s.tables["review"].kind == "activity" and s.tables["review"].time_col == "written_at"


def test_clinic_structures():
    s = _schema("clinic.sql")
    dep_fk = s.tables["department"].foreign_keys[0]
    doc_fk = s.tables["doctor"].foreign_keys[0]
    assert dep_fk.deferred and not doc_fk.deferred  # cycle broken at the nullable side
    assert list(s.tables).index("department") < list(s.tables).index("doctor")
    prof = s.tables["patient_profile"]
    assert prof.foreign_keys[0].one_to_one and prof.num_rows <= s.tables["patient"].num_rows
    slot = s.tables["slot"]
    assert slot.pkey_col is None and [c.name for c in slot.key_columns] == ["starts_at"]
    appt_fk = next(fk for fk in s.tables["appointment"].foreign_keys if fk.parent == "slot")
    assert appt_fk.columns == ("doctor_id", "starts_at")
    assert s.tables["audit_log"].pkey_col is None
    grade = next(c for c in s.tables["doctor"].columns if c.name == "grade")
    assert grade.labels == ("F1", "F2", "ST", "CO")
    patient_cols = {c.name: c for c in s.tables["patient"].columns}
    assert patient_cols["external_ref"].kind == "text"  # uuid falls back to text
    assert patient_cols["sex/gender"].labels == ("f", "m", "x")
    db = build((ASSETS / "clinic.sql").read_text())
    appt = db.tables["appointment"].df
    pairs = set(zip(db.tables["slot"].df["doctor_id"], db.tables["slot"].df["starts_at"], strict=True))
    assert set(zip(appt["doctor_id"], appt["starts_at"], strict=True)) <= pairs


def test_social_structures():
    s = _schema("social.sql")
    deferred = [(t.name, fk.name) for t in s.tables.values() for fk in t.foreign_keys if fk.deferred]
    assert len(deferred) == 1  # both cycle FKs are NOT NULL; exactly one is deferred
    assert s.tables["user_settings"].foreign_keys[0].one_to_one
    assert set(s.tables["friendship"].unique_groups) == {("user_a", "user_b")}
    status = next(c for c in s.tables["user"].columns if c.name == "status")
    assert status.labels == ("active", "suspended", "deleted")
    tags = next(c for c in s.tables["post"].columns if c.name == "tags")
    assert tags.kind == "categorical" and tags.labels == ("news", "meme", "question", "event")
    db = build((ASSETS / "social.sql").read_text(), seed=5)
    posts = db.tables["post"].df
    replies = posts["reply_to"].dropna().astype(np.int64)
    assert (replies.to_numpy() < posts.loc[replies.index, "post_id"].to_numpy()).all()


def test_schema_from_sql_is_deterministic_and_seeded():
    sql = (ASSETS / "shop.sql").read_text()
    a = schema_from_sql(sql, SMALL.schema, 7)
    b = schema_from_sql(sql, SMALL.schema, 7)
    c = schema_from_sql(sql, SMALL.schema, 8)
    assert a.tables == b.tables and a.t0 == b.t0
    assert [t.num_rows for t in a.tables.values()] != [t.num_rows for t in c.tables.values()]
    assert parse_schema(sql) == parse_schema(sql)


def test_row_counts_follow_priors_and_kinds():
    s = _schema("shop.sql", seed=2)
    e_lo, e_hi = SMALL.schema.entity_rows
    a_lo, a_hi = SMALL.schema.activity_rows
    for t in s.tables.values():
        lo, hi = (e_lo, e_hi) if t.kind == "entity" else (a_lo, a_hi)
        assert t.num_rows <= hi
        if not t.unique_groups and not any(fk.one_to_one for fk in t.foreign_keys):
            assert t.num_rows >= lo
    assert s.tables["customer"].kind == "entity" and s.tables["order line"].kind == "activity"


def test_junction_rows_capped_at_parent_product():
    sql = """
    CREATE TABLE a (id INTEGER PRIMARY KEY);
    CREATE TABLE b (id INTEGER PRIMARY KEY);
    CREATE TABLE ab (a_id INTEGER REFERENCES a(id), b_id INTEGER REFERENCES b(id), PRIMARY KEY (a_id, b_id));
    """
    cfg = Config.from_dict({"schema": {"entity_rows": [3, 4], "activity_rows": [50, 60]}})
    s = schema_from_sql(sql, cfg.schema, 0)
    assert s.tables["ab"].num_rows == s.tables["a"].num_rows * s.tables["b"].num_rows
    check_integrity(generate(cfg, 0, schema=s))


def test_categorical_composite_key_capped_and_unique():
    sql = """
    CREATE TABLE shift (day TEXT CHECK (day IN ('mon', 'tue')), slot BOOLEAN, note TEXT, PRIMARY KEY (day, slot));
    """
    s = schema_from_sql(sql, SMALL.schema, 0)
    assert s.tables["shift"].num_rows == 4
    check_integrity(generate(SMALL, 0, schema=s))


# --------------------------------------------------------------------------------------
# untrusted and broken input


MALICIOUS = [
    "ATTACH DATABASE '/tmp/evil.db' AS evil;",
    "SELECT load_extension('/tmp/evil.so');",
    "COPY t FROM '/etc/passwd';",
    "INSERT INTO t VALUES (1);",
    "UPDATE t SET a = 1;",
    "DELETE FROM t;",
    "SELECT * INTO OUTFILE '/tmp/x' FROM t;",
    "LOAD DATA INFILE '/etc/passwd' INTO TABLE t;",
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM t; END;",
    "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql;",
    "CREATE PROCEDURE p() BEGIN SELECT 1; END;",
    "CREATE VIEW v AS SELECT 1;",
    "PRAGMA writable_schema = 1;",
    "VACUUM INTO '/tmp/copy.db';",
    "CREATE TABLE u AS SELECT * FROM t;",
    "ALTER TABLE t RENAME TO u;",
    "DROP TABLE t;",
]


@pytest.mark.parametrize("stmt", MALICIOUS)
def test_malicious_statements_rejected(stmt):
    sql = f"CREATE TABLE t (a INTEGER PRIMARY KEY);\n{stmt}\n"
    with pytest.raises(SQLSchemaError) as info:
        parse_schema(sql)
    assert "line 2" in str(info.value)


def test_ignored_statements_are_reported():
    sql = (
        "PRAGMA foreign_keys = ON;\nDROP TABLE IF EXISTS t;\nBEGIN;\n"
        "CREATE TABLE t (a INTEGER PRIMARY KEY);\nCREATE INDEX i ON t (a);\nCOMMIT;"
    )
    parsed = parse_schema(sql, "sqlite")
    assert [t.name for t in parsed.tables] == ["t"]
    assert len(parsed.ignored) == 5


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ("", "no CREATE TABLE"),
        ("-- only a comment\n", "no CREATE TABLE"),
        ("CREATE TABLE t (a INTEGER,\n  b INTEGER REFERENCES nowhere (id));", "unknown table 'nowhere'"),
        (
            "CREATE TABLE p (id INT PRIMARY KEY);\nCREATE TABLE c (x INT REFERENCES p (nope));",
            "no column 'nope'",
        ),
        ("CREATE TABLE t (a INT, a INT);", "defined twice"),
        ("CREATE TABLE t (a INT);\nCREATE TABLE t (b INT);", "defined twice"),
        ("CREATE TABLE t (a INT PRIMARY KEY, b INT,\n  c INT CHECK (", "line"),
        ("CREATE TABLE t (a INT); CREATE TABLE 'unterminated", "cannot"),
        (
            "CREATE TABLE p (x INT, y INT, PRIMARY KEY (x, y));\n"
            "CREATE TABLE c (x INT, y INT, FOREIGN KEY (x, y) REFERENCES p (x));",
            "reference 1 column",
        ),
    ],
)
def test_broken_sql_rejected_with_message(sql, needle):
    with pytest.raises(SQLSchemaError) as info:
        parse_schema(sql)
    assert needle in str(info.value)


def test_error_names_statement_and_line():
    sql = "CREATE TABLE a (id INT PRIMARY KEY);\n\n\nCREATE TABLE b (id INT REFERENCES ghost (id));"
    with pytest.raises(SQLSchemaError, match=r"line 4.*ghost"):
        parse_schema(sql, "sqlite")


def test_limits():
    with pytest.raises(SQLSchemaError, match="limit"):
        parse_schema("-- " + "x" * MAX_SQL_BYTES)
    many = "\n".join(f"CREATE TABLE t{i} (a INT);" for i in range(MAX_TABLES + 1))
    with pytest.raises(SQLSchemaError, match=f"{MAX_TABLES} tables"):
        parse_schema(many, "sqlite")
    wide = "CREATE TABLE w (" + ", ".join(f"c{i} INT" for i in range(MAX_COLUMNS + 1)) + ");"
    with pytest.raises(SQLSchemaError, match=f"{MAX_COLUMNS} columns"):
        parse_schema(wide, "sqlite")


def test_bad_dialect_argument():
    with pytest.raises(SQLSchemaError, match="dialect"):
        parse_schema("CREATE TABLE t (a INT);", dialect="oracle")


def test_overlapping_fks_rejected():
    sql = """
    CREATE TABLE p (a INT PRIMARY KEY);
    CREATE TABLE q (a INT, b INT, PRIMARY KEY (a, b));
    CREATE TABLE c (a INT REFERENCES p (a), b INT, FOREIGN KEY (a, b) REFERENCES q (a, b));
    """
    with pytest.raises(SQLSchemaError, match="overlapping"):
        parse_schema(sql)
