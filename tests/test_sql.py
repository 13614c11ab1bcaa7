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
    skipped_notice,
)
from tests.sql_inputs import all_reference, all_reference_tables

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


# nothing in the text is ever executed: statements other than table definitions are
# listed as skipped, whatever they would do
NOT_TABLES = [
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
    "GRANT ALL ON t TO PUBLIC;",
    "COMMENT ON TABLE t IS 'x; y';",
]


@pytest.mark.parametrize("stmt", NOT_TABLES)
def test_statements_that_cannot_change_the_tables_are_skipped_and_listed(stmt):
    sql = f"CREATE TABLE t (a INTEGER PRIMARY KEY);\n{stmt}\nCREATE TABLE u (b INTEGER REFERENCES t (a));\n"
    parsed = parse_schema(sql)
    assert [t.name for t in parsed.tables] == ["t", "u"]
    assert [s.line for s in parsed.skipped] == [2]
    assert "line 2" in skipped_notice(parsed.skipped)


@pytest.mark.parametrize(
    "stmt",
    [
        "CREATE TABLE u AS SELECT * FROM t;",
        "ALTER TABLE t RENAME TO u;",
        "ALTER TABLE t DROP COLUMN a;",
        "DROP TABLE t;",
    ],
)
def test_statements_that_would_change_the_tables_are_errors(stmt):
    with pytest.raises(SQLSchemaError, match="line 2"):
        parse_schema(f"CREATE TABLE t (a INTEGER PRIMARY KEY);\n{stmt}\n")


def test_skipped_statements_are_recorded():
    sql = (
        "PRAGMA foreign_keys = ON;\nDROP TABLE IF EXISTS t;\nBEGIN;\n"
        "CREATE TABLE t (a INTEGER PRIMARY KEY);\nCREATE INDEX i ON t (a);\nCOMMIT;"
    )
    parsed = parse_schema(sql, "sqlite")
    assert [t.name for t in parsed.tables] == ["t"]
    assert [s.line for s in parsed.skipped] == [1, 2, 3, 5, 6]
    assert schema_from_sql(sql, SMALL.schema, 0).skipped_statements == parsed.skipped


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


# --------------------------------------------------------------------------------------
# dumps as they come: `sqlite3 DB .schema` and pg_dump output

DUMPS = Path(__file__).resolve().parent / "data" / "dumps"


def test_sqlite_schema_output_with_views_and_triggers_imports():
    sql = (DUMPS / "bookshop.sqlite-schema.sql").read_text()
    parsed = parse_schema(sql)
    assert parsed.dialect == "sqlite"
    assert [t.name for t in parsed.tables] == ["author", "book", "review", "audit"]  # no sqlite_sequence
    kinds = [s.kind for s in parsed.skipped]
    assert kinds.count("CREATE VIEW") == 2 and kinds.count("CREATE TRIGGER") == 3
    assert kinds.count("CREATE INDEX") == 2
    # the trigger bodies' inner statements did not become statements of their own
    assert not any(s.kind in ("INSERT", "UPDATE", "SELECT", "END") for s in parsed.skipped)
    check_integrity(build(sql, seed=1))


def test_pg_dump_with_functions_copy_data_ownership_and_grants_imports():
    sql = (DUMPS / "rental.pg_dump.sql").read_text()
    parsed = parse_schema(sql)
    assert parsed.dialect == "postgres"
    assert [t.name for t in parsed.tables] == ["customer", "film", "rental", "payment"]
    fks = {(t.name, fk.columns, fk.parent) for t in parsed.tables for fk in t.foreign_keys}
    assert fks == {
        ("rental", ("customer_id",), "customer"),
        ("rental", ("film_id",), "film"),
        ("payment", ("customer_id",), "customer"),
        ("payment", ("rental_id",), "rental"),
    }
    assert parsed.table("customer").primary_key == ("customer_id",)
    assert parsed.table("customer").unique == (("email",),)
    assert parsed.table("film").column("rating").labels == ("G", "PG", "PG-13", "R", "NC-17")
    kinds = {s.kind for s in parsed.skipped}
    for kind in [
        "psql command", "SET", "CREATE EXTENSION", "COMMENT", "CREATE FUNCTION", "ALTER FUNCTION",
        "ALTER TABLE ... OWNER", "CREATE SEQUENCE", "ALTER SEQUENCE", "ALTER TABLE ... ALTER COLUMN",
        "CREATE VIEW", "COPY", "CREATE INDEX", "CREATE TRIGGER", "GRANT", "REVOKE",
    ]:  # fmt: skip
        assert kind in kinds, kind
    # COPY data and function bodies are not statements: nothing skipped starts inside them
    assert not any(s.kind in ("DECLARE", "RETURN", "IF", "END", "1", "2", "3") for s in parsed.skipped)
    check_integrity(build(sql, seed=2))


@pytest.mark.parametrize(
    "command",
    [
        ["describe", "--seed", "0"],
        ["sweep", "--num-dbs", "2", "--quiet", "--out", "{tmp}/stats.csv"],
        [
            "corpus",
            "--num-dbs",
            "1",
            "--workers",
            "1",
            "--format",
            "sqlite",
            "--no-progress",
            "--out",
            "{tmp}/c",
        ],
    ],
    ids=lambda c: c[0],
)
def test_cli_lists_skipped_statements_on_stderr_once(command, tmp_path, capsys):
    from plurel_core.cli import main

    dump = str(DUMPS / "bookshop.sqlite-schema.sql")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command]
    assert main([*argv, "--preset", "small", "--schema", dump]) == 0
    out, err = capsys.readouterr()
    assert err.count("skipped 8 statements") == 1
    assert f"--schema {dump}: skipped 8 statements" in err
    assert "2 × CREATE VIEW" in err and "3 × CREATE TRIGGER" in err


# --------------------------------------------------------------------------------------
# declared types kept

TYPED = """
CREATE TABLE product (
    id INTEGER PRIMARY KEY,
    quantity SMALLINT,
    stock TINYINT UNSIGNED,
    year YEAR,
    price NUMERIC(6, 2),
    weight DECIMAL(5, 3) CHECK (weight > 0)
);
CREATE TABLE review (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES product (id),
    stars INTEGER CHECK (stars BETWEEN 1 AND 5),
    level INTEGER CHECK (level IN (1, 2, 3)),
    helpful INTEGER CHECK (helpful >= 0),
    score REAL CHECK ((score > -1.5) AND (score < 2.5)),
    reviewed_at TIMESTAMP
);
"""


def test_integer_types_give_integers_within_their_range():
    for seed in range(3):
        db = build(
            TYPED, seed=seed, config=Config.preset("small").with_value("postprocess.nan_frac", (0.1, 0.3))
        )
        product = db.tables["product"].df
        for col, (lo, hi) in {"quantity": (-32768, 32767), "stock": (0, 255), "year": (1901, 2155)}.items():
            s = product[col]
            assert s.dtype.kind == "i" or str(s.dtype) == "Int64", (col, s.dtype)
            assert s.dropna().between(lo, hi).all(), col
            assert s.dropna().nunique() > 1 or len(s.dropna()) <= 1, col  # rounding kept the variation


def test_check_ranges_bound_the_values():
    spreads = []
    for seed in range(3):
        review = build(TYPED, seed=seed).tables["review"].df
        stars = review["stars"].dropna()
        assert stars.dtype.kind == "i" or str(stars.dtype) == "Int64"
        assert stars.between(1, 5).all()
        spreads.append(stars.nunique())
        if stars.nunique() == 1:  # Stage 3 drew a constant column: it takes the range's middle
            assert set(stars) == {3}
        assert (review["helpful"].dropna() >= 0).all()
        score = review["score"].dropna()
        assert ((score > -1.5) & (score < 2.5)).all()
        level = review["level"].dropna()
        assert set(level) <= {1, 2, 3} and all(isinstance(v, (int, np.integer)) for v in level)
    assert max(spreads) > 1  # a varying column fills the declared range


def test_numeric_precision_and_scale_respected():
    for seed in range(3):
        product = build(TYPED, seed=seed).tables["product"].df
        price = product["price"].dropna().to_numpy()
        assert (np.abs(price) < 10_000).all() and np.allclose(price, np.round(price, 2))
        weight = product["weight"].dropna().to_numpy()
        assert (weight > 0).all() and (weight < 100).all() and np.allclose(weight, np.round(weight, 3))


def test_declared_types_survive_sqlite_export(tmp_path):
    from plurel_core.export import read_sqlite, write_sqlite

    db = build(TYPED, seed=0)
    back = read_sqlite(write_sqlite(db, tmp_path / "typed.sqlite"))
    assert back["review"]["stars"].dropna().between(1, 5).all()
    assert back["product"]["quantity"].dtype.kind == "i" or str(back["product"]["quantity"].dtype) == "Int64"


def test_not_null_foreign_keys_stay_not_null_in_every_export(tmp_path):
    import json
    import sqlite3
    import zipfile

    import pyarrow.parquet as pq

    from plurel_core.export import ddl, export

    sql = (DUMPS / "bookshop.sqlite-schema.sql").read_text()
    db = build(sql, seed=0)
    text = ddl(db)
    assert '"author_id" BIGINT NOT NULL' in text and '"book_id" BIGINT NOT NULL' in text
    export(db, "sqlite", tmp_path / "b.sqlite")
    con = sqlite3.connect(tmp_path / "b.sqlite")
    notnull = {row[1]: row[3] for row in con.execute('PRAGMA table_info("review")')}
    con.close()
    assert notnull["book_id"] == 1
    audit_fk = next(fk for fk in db.schema.tables["audit"].foreign_keys)
    assert audit_fk.nullable  # a nullable FK stays nullable
    for fmt in ("parquet", "relbench"):
        export(db, fmt, tmp_path / fmt)
        assert not pq.read_schema(tmp_path / fmt / "review.parquet").field("book_id").nullable, fmt
        assert pq.read_schema(tmp_path / fmt / "audit.parquet").field("book_id").nullable, fmt
    export(db, "csv", tmp_path / "b.zip")
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        meta = json.loads(zf.read("schema.json"))["tables"]
    assert "book_id" in meta["review"]["not_null"] and "book_id" not in meta["audit"]["not_null"]


def test_not_null_feature_columns_get_no_missing_values(tmp_path):
    import pyarrow.parquet as pq

    from plurel_core.export import ddl, export

    sql = """
    CREATE TABLE item (
        id INTEGER PRIMARY KEY,
        weight REAL NOT NULL,
        price NUMERIC(8, 2) NOT NULL CHECK (price > 0),
        stock SMALLINT NOT NULL,
        rating REAL,
        discount NUMERIC(4, 2)
    );
    CREATE TABLE sale (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES item (id), amount REAL NOT NULL);
    """
    config = SMALL.with_value("postprocess.nan_frac", (0.6, 0.9))
    for seed in range(3):
        db = build(sql, seed=seed, config=config)
        item, sale = db.tables["item"].df, db.tables["sale"].df
        for col in ("weight", "price", "stock"):
            assert item[col].notna().all(), (seed, col)
        assert sale["amount"].notna().all()
        # the nullable columns still follow the prior: 60-90 % missing
        for col in ("rating", "discount"):
            assert 0.6 <= item[col].isna().mean() <= 0.9, (seed, col)
    # and the exports declare them NOT NULL
    assert '"weight" REAL NOT NULL' in ddl(db) and '"rating" REAL,' in ddl(db)
    export(db, "parquet", tmp_path / "p")
    fields = pq.read_schema(tmp_path / "p" / "item.parquet")
    assert not fields.field("stock").nullable and fields.field("discount").nullable


# --------------------------------------------------------------------------------------
# FK cycles: one pass, any size the limits accept


def _check_plan(tables) -> None:
    """Every FK kept points from an earlier table; exactly one FK of each pair is deferred."""
    import networkx as nx

    from plurel_core.sql import ParsedTable

    assert all(isinstance(t, ParsedTable) for t in tables)
    position = {t.name: i for i, t in enumerate(tables)}
    g = nx.DiGraph()
    deferred = 0
    for t in tables:
        for fk in t.foreign_keys:
            if fk.deferred:
                deferred += 1
            else:
                assert position[fk.parent] < position[t.name]
                g.add_edge(fk.parent, t.name)
    assert nx.is_directed_acyclic_graph(g)
    n = len(tables)
    assert deferred == n * (n - 1) // 2


def test_sixty_tables_that_all_reference_each_other_parse_and_plan():
    parsed = parse_schema(all_reference(60), "sqlite")
    _check_plan(parsed.tables)
    assert [t.name for t in parsed.tables] == [f"t{i}" for i in range(60)]  # declaration order kept


@pytest.mark.parametrize("n", [60, 100, 200])
def test_cycle_breaking_plans_all_reference_each_other_schemas(n):
    from plurel_core.sql import break_fk_cycles

    _check_plan(break_fk_cycles(all_reference_tables(n)))


def test_cycle_breaking_prefers_nullable_fks_and_keeps_not_null_order():
    sql = """
    CREATE TABLE a (id INT PRIMARY KEY, c_id INT NOT NULL REFERENCES c);
    CREATE TABLE b (id INT PRIMARY KEY, a_id INT NOT NULL REFERENCES a);
    CREATE TABLE c (id INT PRIMARY KEY, b_id INT REFERENCES b);
    """
    parsed = parse_schema(sql, "sqlite")
    deferred = [(t.name, fk.parent) for t in parsed.tables for fk in t.foreign_keys if fk.deferred]
    assert deferred == [("c", "b")]  # the one nullable FK of the cycle
    assert [t.name for t in parsed.tables] == ["c", "a", "b"]


def test_schemas_over_the_parse_budget_are_refused_with_a_message():
    from plurel_core.sql import MAX_READ_BYTES, MAX_TABLE_TOKENS

    with pytest.raises(SQLSchemaError, match=f"24,710 words and symbols; the limit is {MAX_TABLE_TOKENS:,}"):
        parse_schema(all_reference(70))
    for n in (100, 200):
        with pytest.raises(SQLSchemaError, match=f"besides COPY data; the limit is {MAX_READ_BYTES:,} bytes"):
            parse_schema(all_reference(n))
    # COPY data does not count: a dump with 900 KB of rows reads
    rows = "1\tit's; not $$ SQL\n" * 50_000
    parsed = parse_schema(
        f"CREATE TABLE t (id integer, s text);\nCOPY public.t (id, s) FROM stdin;\n{rows}\\.\n"
    )
    assert [t.name for t in parsed.tables] == ["t"] and [s.kind for s in parsed.skipped] == ["COPY"]


# --------------------------------------------------------------------------------------
# nesting and names no export can write


def test_deeply_nested_sql_is_a_clear_error():
    deep = "CREATE TABLE t (a INT CHECK " + "(" * 5000 + "a > 0" + ")" * 5000 + ");"
    with pytest.raises(SQLSchemaError, match="nested 5001 deep; the limit is 20"):
        parse_schema(deep)
    # up to the limit it reads, also from deep inside a caller's stack (a web server's callback)
    from plurel_core.sql import MAX_NESTING

    def nested_call(depth: int):
        if depth:
            return nested_call(depth - 1)
        inner = "(" * (MAX_NESTING - 2) + "a > 0" + ")" * (MAX_NESTING - 2)
        return parse_schema(f"CREATE TABLE t (a INT CHECK {inner});")

    assert nested_call(200).table("t").column("a").declared.low == 0
    # in a skipped statement it does not matter: nothing there is parsed
    parsed = parse_schema("CREATE TABLE t (a INT);\nSELECT " + "(" * 5000 + "1" + ")" * 5000 + ";")
    assert [s.kind for s in parsed.skipped] == ["SELECT"]


def test_deeply_nested_sql_exits_2_in_the_cli(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "deep.sql"
    path.write_text("CREATE TABLE t (a INT CHECK " + "(" * 5000 + "a > 0" + ")" * 5000 + ");")
    res = subprocess.run(
        [sys.executable, "-m", "plurel_core", "describe", "--seed", "0", "--preset", "small", "--schema", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2
    assert "nested 5001 deep" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr) < 500


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ('CREATE TABLE "' + "t" * 201 + '" (a INT);', "201 bytes; the limit is 200"),
        ('CREATE TABLE t ("' + "é" * 101 + '" INT);', "202 bytes; the limit is 200"),
        ('CREATE TABLE t ("A" INT, "a" INT);', "differ only by case"),
        ('CREATE TABLE "a\0b" (x INT);', "NUL"),
        ('CREATE TABLE t ("x\0" INT);', "NUL"),
    ],
)
def test_names_no_export_can_write_are_refused_at_import(sql, needle):
    with pytest.raises(SQLSchemaError, match=needle) as info:
        parse_schema(sql)
    assert len(str(info.value)) < 300  # names are quoted shortened


def test_long_and_unusual_names_within_the_limits_export_everywhere(tmp_path):
    from plurel_core.export import FORMATS, export

    name = "ü" * 100  # 200 bytes
    sql = f'CREATE TABLE "{name}" (id INT PRIMARY KEY, "Some Col" TEXT, "x.y" REAL);'
    db = build(sql)
    for fmt in FORMATS:
        export(db, fmt, tmp_path / f"out-{fmt}")


MYSQLDUMP = """-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
DROP TABLE IF EXISTS `t`;
CREATE TABLE `t` (`a` int NOT NULL, PRIMARY KEY (`a`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOCK TABLES `t` WRITE;
INSERT INTO `t` VALUES (1),(2);
UNLOCK TABLES;
CREATE DEFINER=`root`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN IF NEW.a > 1 THEN SET NEW.a = 1; END IF; END;
CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW v AS select 1;
CREATE DEFINER = CURRENT_USER() PROCEDURE p() BEGIN CASE WHEN 1 THEN SELECT 1; ELSE SELECT 2; END CASE; END;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `ins` AFTER INSERT ON `t` FOR EACH ROW BEGIN
    INSERT INTO t VALUES (NEW.a);
END */;;
DELIMITER ;
CREATE TABLE `u` (`b` int NOT NULL, KEY `b` (`b`), CONSTRAINT `fk` FOREIGN KEY (`b`) REFERENCES `t` (`a`));
"""


def test_mysqldump_with_routines_triggers_and_delimiter_blocks_imports():
    parsed = parse_schema(MYSQLDUMP)
    assert parsed.dialect == "mysql"
    assert [t.name for t in parsed.tables] == ["t", "u"]
    kinds = [s.kind for s in parsed.skipped]
    for kind in [
        "CREATE TRIGGER",
        "CREATE VIEW",
        "CREATE PROCEDURE",
        "DELIMITER block",
        "INSERT",
        "LOCK TABLES",
    ]:
        assert kind in kinds, kind
    assert parsed.table("u").foreign_keys[0].parent == "t"
    # a block over several lines is listed by its first line and its first words
    (block,) = [s for s in parsed.skipped if s.kind == "DELIMITER block"]
    assert block.line == 13 and block.head.startswith("/*!50003 CREATE*/ /*!50017 DEFINER")


def test_columns_named_like_routine_words_do_not_join_statements():
    sql = (
        'CREATE TABLE t (event TEXT, begin INT, function INT, "end" INT, id INTEGER PRIMARY KEY);\n'
        "CREATE VIRTUAL TABLE docs USING fts5(title, body);\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT CASE WHEN NEW.id > 1 THEN 1 END; END;\n"
        "CREATE TABLE u (x INT REFERENCES t (id));\n"
    )
    parsed = parse_schema(sql, "sqlite")
    assert [t.name for t in parsed.tables] == ["t", "u"]
    assert [(s.line, s.kind) for s in parsed.skipped] == [(2, "CREATE VIRTUAL TABLE"), (3, "CREATE TRIGGER")]


def test_conform_column_keeps_codes_of_categorical_columns():
    from plurel_core.declared import DeclaredType, conform_column

    codes = pd.Series([0, 2, 1, 2])
    labels = DeclaredType(integer=True, labels=True)
    assert conform_column(codes, labels).tolist() == [0, 2, 1, 2]
    assert conform_column(pd.Series(["3", None, "1"], dtype=object), labels).tolist()[::2] == [3, 1]
    assert conform_column(pd.Series(["a", "b"]), labels).tolist() == ["a", "b"]  # not numbers: kept
