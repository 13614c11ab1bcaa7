"""Schemas from SQL: ``CREATE TABLE`` DDL instead of Stage 1.

:func:`parse_schema` reads DDL text (SQLite, PostgreSQL or MySQL flavour) into a
:class:`ParsedSchema` with sqlglot's tokenizer and parser: a syntax tree, nothing is ever
executed and no regular expression touches the SQL. :func:`schema_from_sql` turns that
into a :class:`~plurel_core.database.Schema` whose row counts and time window are drawn
from the schema priors, so the rest of the pipeline runs unchanged.

**Untrusted input.** Only table definitions take effect:

- ``CREATE [TEMP] TABLE name (...)`` (not ``AS SELECT`` or ``LIKE``),
- ``ALTER TABLE name ADD [CONSTRAINT c] FOREIGN KEY / PRIMARY KEY / UNIQUE / CHECK``.

Accepted and ignored (they cannot change the tables): comments, ``CREATE [UNIQUE] INDEX``
(uniqueness comes only from PRIMARY KEY / UNIQUE in table definitions), ``CREATE SCHEMA``,
``CREATE SEQUENCE``, ``SET ...``, ``USE ...``, ``BEGIN`` / ``COMMIT`` / ``END``,
``PRAGMA foreign_keys`` and ``DROP TABLE [IF EXISTS] t`` *before* ``t`` is defined (the
usual preamble of a dump; a DROP of an already defined table is rejected).
Everything else is rejected with :class:`SQLSchemaError` naming the statement and its
line: INSERT/UPDATE/DELETE/SELECT (incl. ``SELECT ... INTO OUTFILE``), COPY, ATTACH,
LOAD DATA / ``load_extension``, VACUUM, other PRAGMAs, CREATE TRIGGER / FUNCTION /
PROCEDURE / VIEW, ALTER TABLE other than adding constraints, and anything unparseable.
Limits: :data:`MAX_SQL_BYTES` of text, :data:`MAX_TABLES` tables,
:data:`MAX_COLUMNS` columns per table.

**Dialects.** With ``dialect=None`` the text is tried as SQLite, PostgreSQL and MySQL in
that order; the first that reads every statement wins, otherwise the error of the dialect
that got furthest is raised. The SQLite reader also accepts SQLite's multi-word type
names (``BLOB SUB_TYPE TEXT``). Identifiers keep their spelling (spaces, quotes, brackets,
backticks); a schema qualifier (``Person.Address``) is dropped, so table names must be
unique without it. References resolve exactly, else case-insensitively.

**Column types** (``ColumnSpec.kind``):

- integer / real / float / double / numeric / decimal / money / YEAR → ``numerical``;
- BOOLEAN / BOOL / BIT → ``boolean`` (codes {0, 1});
- ENUM(...) and MySQL SET(...) (one option per row), and any column with a
  ``CHECK (col IN (...))`` — also ``UPPER(col) IN`` / ``LOWER(col) IN`` — → ``categorical``
  with exactly those labels (numbers are kept as their text, e.g. ``'1'``);
- CHAR / VARCHAR / TEXT / NAME and friends → ``text``: a categorical column whose
  ``num_categories`` is drawn from the ``num_categories`` prior (stream
  ``(seed, "schema", "categories", table, column)``); the feature stage renders codes as
  generated text labels;
- DATE / DATETIME / TIMESTAMP → ``date``: the first one of an activity table is its
  ``time_col`` (evenly spaced over the window, row order = time order); any other is a
  day inside the window;
- anything else (BLOB, bytea, uuid, XML, JSON, TIME, domain names such as ``"Flag"``)
  falls back to SQLite's affinity rules on the type name: contains INT → numerical;
  CHAR / CLOB / TEXT → text; REAL / FLOA / DOUB / NUM / DEC → numerical; BOOL → boolean;
  DATE / TIMESTAMP → date; otherwise ``text``.

**Structures.**

- *Kinds and order*: a table no other table references is an **activity** table, else an
  **entity** table. Tables are ordered parents before children (ties: declaration order).
- *Self-referencing FKs* stay on the table; the FK stage points row ``i`` at earlier rows
  (or NULL), so exports insert in row order.
- *FK cycles between tables* are broken by marking FKs ``deferred`` (a nullable FK of the
  cycle if there is one, else the last declared): they are sampled after both tables exist
  and exported ``DEFERRABLE INITIALLY DEFERRED``.
- *Composite primary keys / UNIQUE constraints*: a key made only of FK columns that is the
  union of two or more whole FKs (junction tables) becomes a ``TableSpec.unique_groups``
  entry (unique combinations; rows capped at the product of the parents' rows); a key equal
  to one FK's columns (the primary key is also a foreign key) makes that FK ``one_to_one``
  (rows capped at the parent's). A key that covers only part of a composite FK is rejected.
- *Key columns*: columns of a primary key, a UNIQUE constraint or a referenced column set
  that are neither FK columns nor a single integer primary key go into
  ``TableSpec.key_columns``; they get row-unique values (text ``"<column>_<i>"``, numbers
  ``i``, dates evenly spaced over the window), categorical key columns cycle through their
  labels in mixed radix (rows capped when a key has no other unique part).
- *Primary key*: ``pkey_col`` is the single-column primary key (integer: the row number;
  text: generated unique text); ``None`` for composite keys or tables without one (the
  full key is in the schema graph's node attribute ``primary_key``).
- *Composite FKs* take all columns from one sampled parent row; FKs may reference a UNIQUE
  column (or any column set, which then becomes a key of the parent) instead of the
  primary key; an FK without a column list references the parent's primary key.
- *Nullable FKs*: an FK whose columns are all nullable and not in the primary key.
- A column in two FKs is rejected (the two parents could disagree).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import networkx as nx
import pandas as pd
import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from .config import SchemaPriors, sample_range
from .database import ColumnSpec, ForeignKeySpec, Schema, TableSpec
from .rng import stream

__all__ = [
    "SQLSchemaError",
    "ParsedColumn",
    "ParsedForeignKey",
    "ParsedTable",
    "ParsedSchema",
    "parse_schema",
    "schema_from_sql",
    "DIALECTS",
    "MAX_SQL_BYTES",
    "MAX_TABLES",
    "MAX_COLUMNS",
]

MAX_SQL_BYTES = 1_000_000
MAX_TABLES = 200
MAX_COLUMNS = 500
DIALECTS = ("sqlite", "postgres", "mysql")


class SQLSchemaError(ValueError):
    """DDL that cannot be imported; the message names the statement, its line and why."""


@dataclass(frozen=True)
class ParsedColumn:
    name: str
    sql_type: str
    kind: str  # numerical, categorical, boolean, text, date
    labels: tuple[str, ...] | None = None
    nullable: bool = True
    integer: bool = False  # an integer type (a single integer primary key is the row number)


@dataclass(frozen=True)
class ParsedForeignKey(ForeignKeySpec):
    """A foreign key as declared, with its line in the SQL text (for messages)."""

    line: int = 0


@dataclass(frozen=True)
class ParsedTable:
    name: str
    columns: tuple[ParsedColumn, ...]
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...]  # UNIQUE constraints and referenced column sets
    foreign_keys: tuple[ParsedForeignKey, ...]
    line: int = 0

    def column(self, name: str) -> ParsedColumn:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class ParsedSchema:
    """Tables in generation order (parents first), resolved and checked."""

    tables: tuple[ParsedTable, ...]
    dialect: str
    ignored: tuple[str, ...] = ()  # statements accepted without effect, e.g. "line 3: CREATE INDEX"

    def table(self, name: str) -> ParsedTable:
        return next(t for t in self.tables if t.name == name)


# --------------------------------------------------------------------------------------
# reading statements


_CONSTRAINT_WORDS = {
    "CONSTRAINT", "NOT", "NULL", "PRIMARY", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES",
    "GENERATED", "AS", "AUTOINCREMENT", "ON", "KEY",
}  # fmt: skip


class _SQLiteTypes(SQLite):
    """SQLite, plus its multi-word type names (``BLOB SUB_TYPE TEXT``)."""

    class Parser(SQLite.Parser):
        def _parse_types(self, *args, **kwargs):  # type: ignore[override]
            dtype = super()._parse_types(*args, **kwargs)
            if not kwargs.get("schema") or not isinstance(dtype, exp.DataType):
                return dtype
            extra = []
            while (
                self._curr is not None
                and (self._curr.token_type == TokenType.VAR or self._curr.token_type in self.TYPE_TOKENS)
                and self._curr.text.upper() not in _CONSTRAINT_WORDS
                and self._curr.text.upper() not in self.CONSTRAINT_PARSERS
            ):
                extra.append(self._curr.text)
                self._advance()
            if not extra:
                return dtype
            name = " ".join([dtype.sql(dialect="sqlite"), *extra])
            return exp.DataType(this=exp.DataType.Type.USERDEFINED, kind=exp.Identifier(this=name))


_READERS = {"sqlite": _SQLiteTypes, "postgres": "postgres", "mysql": "mysql"}

_IGNORED_FIRST_WORDS = {"SET", "USE", "BEGIN", "COMMIT", "END"}
_ALLOWED_FIRST_WORDS = {"CREATE", "ALTER", "DROP", "PRAGMA", *_IGNORED_FIRST_WORDS}
_ALLOWED_PRAGMAS = {"foreign_keys"}


@dataclass
class _Statement:
    tokens: list
    line: int
    text: str

    @property
    def head(self) -> str:
        words = " ".join(self.text.split())
        return words if len(words) <= 60 else words[:57] + "..."

    def where(self) -> str:
        return f"statement at line {self.line} ({self.head!r})"


def _split(sql: str, dialect) -> list[_Statement]:
    try:
        tokens = dialect.tokenize(sql)
    except TokenError as exc:
        raise SQLSchemaError(f"cannot read the SQL text: {exc}") from None
    out: list[_Statement] = []
    cur: list = []
    for tok in tokens + [None]:
        if tok is None or tok.token_type == TokenType.SEMICOLON:
            if cur:
                text = sql[cur[0].start : cur[-1].end + 1]
                out.append(_Statement(cur, cur[0].line, text))
            cur = []
        else:
            cur.append(tok)
    return out


def _ident(node) -> str:
    """Name of an identifier-like node (Identifier, Column, Ordered, ...)."""
    if isinstance(node, exp.Identifier):
        return node.this
    if isinstance(node, exp.Column):
        return node.this.this if isinstance(node.this, exp.Identifier) else node.name
    found = node.find(exp.Identifier)
    if found is None:
        raise ValueError(f"expected a column name, got {node.sql()!r}")
    return found.this


def _names(nodes) -> tuple[str, ...]:
    return tuple(_ident(n) for n in nodes)


_INT_TYPES = {
    "INT", "TINYINT", "SMALLINT", "MEDIUMINT", "BIGINT", "UINT", "UTINYINT", "USMALLINT",
    "UMEDIUMINT", "UBIGINT", "SERIAL", "SMALLSERIAL", "BIGSERIAL", "INT128", "INT256", "UINT128",
    "UINT256", "YEAR",
}  # fmt: skip
_NUM_TYPES = {
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "UDECIMAL",
    "BIGDECIMAL",
    "MONEY",
    "SMALLMONEY",
    "UDOUBLE",
    "DECFLOAT",
}
_BOOL_TYPES = {"BOOLEAN", "BIT"}
_ENUM_TYPES = {"ENUM", "ENUM8", "ENUM16", "SET"}
_TEXT_TYPES = {
    "CHAR",
    "NCHAR",
    "VARCHAR",
    "NVARCHAR",
    "TEXT",
    "MEDIUMTEXT",
    "LONGTEXT",
    "TINYTEXT",
    "NAME",
    "BPCHAR",
    "CITEXT",
}
_DATE_TYPES = {
    "DATE", "DATE32", "DATETIME", "DATETIME2", "DATETIME64", "SMALLDATETIME", "TIMESTAMP",
    "TIMESTAMPTZ", "TIMESTAMPLTZ", "TIMESTAMPNTZ", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS",
}  # fmt: skip


def _affinity(name: str) -> tuple[str, bool]:
    """Kind of an unknown type name by SQLite's affinity rules (plus BOOL and DATE)."""
    up = name.upper()
    if "INT" in up:
        return "numerical", True
    if any(s in up for s in ("CHAR", "CLOB", "TEXT")):
        return "text", False
    if any(s in up for s in ("REAL", "FLOA", "DOUB", "NUM", "DEC")):
        return "numerical", False
    if "BOOL" in up:
        return "boolean", False
    if "DATE" in up or "TIMESTAMP" in up:
        return "date", False
    return "text", False


def _column_type(dtype) -> tuple[str, str, tuple[str, ...] | None, bool]:
    """``(sql type, kind, labels, integer)`` of a column's declared type."""
    if not isinstance(dtype, exp.DataType):
        return "", "text", None, False  # SQLite lets a column have no type
    t = dtype.this.name if hasattr(dtype.this, "name") else str(dtype.this)
    if t == "USERDEFINED":
        name = (
            _ident(dtype.args["kind"])
            if isinstance(dtype.args.get("kind"), exp.Expression)
            else str(dtype.args.get("kind"))
        )
        kind, integer = _affinity(name)
        return name, kind, None, integer
    sql_type = dtype.sql(dialect="sqlite") if t not in _ENUM_TYPES else t
    if t in _INT_TYPES:
        return sql_type, "numerical", None, True
    if t in _NUM_TYPES:
        return sql_type, "numerical", None, False
    if t in _BOOL_TYPES:
        return sql_type, "boolean", None, False
    if t in _ENUM_TYPES:
        labels = tuple(str(e.this) if isinstance(e, exp.Literal) else e.sql() for e in dtype.expressions)
        return sql_type, "categorical", tuple(dict.fromkeys(labels)), False
    if t in _TEXT_TYPES:
        return sql_type, "text", None, False
    if t in _DATE_TYPES:
        return sql_type, "date", None, False
    kind, integer = _affinity(t)
    return sql_type, kind, None, integer


def _check_labels(check) -> list[tuple[str, tuple[str, ...]]]:
    """``(column, labels)`` for each ``col IN (...)`` conjunct of a CHECK expression."""
    out = []
    node = check.this if isinstance(check, exp.CheckColumnConstraint) else check
    conjuncts = list(node.flatten()) if isinstance(node, exp.And) else [node]
    for c in conjuncts:
        while isinstance(c, exp.Paren):
            c = c.this
        if not isinstance(c, exp.In) or c.args.get("query") is not None:
            continue
        target = c.this
        if isinstance(target, (exp.Upper, exp.Lower)):
            target = target.this
        if not isinstance(target, exp.Column) or not c.expressions:
            continue
        if not all(isinstance(e, exp.Literal) for e in c.expressions):
            continue
        labels = tuple(dict.fromkeys(str(e.this) for e in c.expressions))
        out.append((_ident(target), labels))
    return out


@dataclass
class _RawFK:
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...] | None
    line: int
    where: str


@dataclass
class _RawTable:
    name: str
    line: int
    where: str
    columns: dict[str, ParsedColumn] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    unique: list[tuple[str, ...]] = field(default_factory=list)
    fks: list[_RawFK] = field(default_factory=list)
    checks: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


def _table_name(table) -> str:
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        raise ValueError("expected a table name")
    return table.this.this


def _reference(ref: exp.Reference, columns: tuple[str, ...], line: int, where: str) -> _RawFK:
    target = ref.this
    if isinstance(target, exp.Schema):
        parent = _table_name(target.this)
        parent_cols = _names(target.expressions) or None
    else:
        parent, parent_cols = _table_name(target), None
    return _RawFK(columns, parent, parent_cols, line, where)


def _table_constraint(raw: _RawTable, item, line: int, where: str) -> None:
    """Apply one table-level constraint (possibly wrapped in CONSTRAINT name ...)."""
    if isinstance(item, exp.Constraint):
        for sub in item.expressions:
            _table_constraint(raw, sub, line, where)
        return
    if isinstance(item, exp.PrimaryKey):
        if raw.primary_key:
            raise ValueError(f"table {raw.name!r} declares a second primary key")
        raw.primary_key = _names(item.expressions)
    elif isinstance(item, exp.ForeignKey):
        ref = item.args.get("reference")
        if ref is None:
            raise ValueError("FOREIGN KEY without REFERENCES")
        raw.fks.append(_reference(ref, _names(item.expressions), line, where))
    elif isinstance(item, exp.UniqueColumnConstraint):
        cols = item.this.expressions if isinstance(item.this, exp.Schema) else [item.this]
        raw.unique.append(_names(c for c in cols if c is not None))
    elif isinstance(item, exp.CheckColumnConstraint):
        raw.checks.extend(_check_labels(item))
    elif isinstance(item, exp.PrimaryKeyColumnConstraint):
        pass
    elif isinstance(item, (exp.IndexColumnConstraint, exp.Index)):
        pass  # MySQL KEY / INDEX / FULLTEXT KEY: an index, no constraint
    else:
        raise ValueError(f"unsupported table constraint {item.sql()[:60]!r}")


def _create_table(stmt: exp.Create, st: _Statement) -> _RawTable:
    if stmt.args.get("expression") is not None:
        raise ValueError("CREATE TABLE ... AS SELECT is not allowed (only column definitions)")
    schema = stmt.this
    if not isinstance(schema, exp.Schema):
        raise ValueError("CREATE TABLE needs a column list (CREATE TABLE ... LIKE / AS is not allowed)")
    name = _table_name(schema.this)
    raw = _RawTable(name, st.line, st.where())
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            col = item.name if isinstance(item.this, exp.Identifier) else _ident(item.this)
            if col in raw.columns:
                raise ValueError(f"column {col!r} defined twice in table {name!r}")
            sql_type, kind, labels, integer = _column_type(item.args.get("kind"))
            nullable = True
            for cons in item.constraints:
                k = cons.kind
                if isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null"):
                    nullable = False
                elif isinstance(k, exp.PrimaryKeyColumnConstraint):
                    if raw.primary_key:
                        raise ValueError(f"table {name!r} declares a second primary key")
                    raw.primary_key = (col,)
                elif isinstance(k, exp.UniqueColumnConstraint):
                    raw.unique.append((col,))
                elif isinstance(k, exp.Reference):
                    raw.fks.append(_reference(k, (col,), st.line, st.where()))
                elif isinstance(k, exp.CheckColumnConstraint):
                    raw.checks.extend(_check_labels(k))
            raw.columns[col] = ParsedColumn(col, sql_type, kind, labels, nullable, integer)
            if len(raw.columns) > MAX_COLUMNS:
                raise ValueError(f"table {name!r} has more than {MAX_COLUMNS} columns (the limit)")
        else:
            _table_constraint(raw, item, st.line, st.where())
    if not raw.columns:
        raise ValueError(f"table {name!r} has no columns")
    return raw


def _alter_table(stmt: exp.Alter, tables: dict[str, _RawTable], st: _Statement) -> None:
    if str(stmt.args.get("kind", "")).upper() != "TABLE":
        raise ValueError("only ALTER TABLE ... ADD CONSTRAINT is allowed")
    name = _table_name(stmt.this)
    raw = _lookup(tables, name)
    if raw is None:
        raise ValueError(f"ALTER TABLE of unknown table {name!r} (define it first)")
    for action in stmt.args.get("actions") or []:
        if not isinstance(action, exp.AddConstraint):
            raise ValueError(f"only ADD CONSTRAINT is allowed in ALTER TABLE, got {action.sql()[:60]!r}")
        for item in action.expressions:
            _table_constraint(raw, item, st.line, st.where())


def _lookup(tables: dict, name: str):
    if name in tables:
        return tables[name]
    hits = [v for k, v in tables.items() if k.lower() == name.lower()]
    return hits[0] if len(hits) == 1 else None


def _resolve_col(raw: _RawTable, name: str, what: str) -> str:
    if name in raw.columns:
        return name
    hits = [c for c in raw.columns if c.lower() == name.lower()]
    if len(hits) != 1:
        raise SQLSchemaError(f"{what}: table {raw.name!r} has no column {name!r}")
    return hits[0]


def _read(sql: str, dialect_name: str) -> tuple[dict[str, _RawTable], list[str], int]:
    """Read every statement with one dialect; returns tables, ignored statements, count read.

    Raises ``(SQLSchemaError, statements read)`` packed in ``_Failure``.
    """
    dialect = sqlglot.Dialect.get_or_raise(_READERS[dialect_name])
    statements = _split(sql, dialect)
    tables: dict[str, _RawTable] = {}
    ignored: list[str] = []
    for i, st in enumerate(statements):
        try:
            _one_statement(st, dialect, tables, ignored)
        except SQLSchemaError as exc:
            raise _Failure(exc, i) from None
    return tables, ignored, len(statements)


class _Failure(Exception):
    def __init__(self, error: SQLSchemaError, progress: int):
        super().__init__(str(error))
        self.error = error
        self.progress = progress


def _one_statement(st: _Statement, dialect, tables: dict[str, _RawTable], ignored: list[str]) -> None:
    first = st.tokens[0].text.upper()
    if first not in _ALLOWED_FIRST_WORDS:
        raise SQLSchemaError(
            f"{st.where()}: {first} statements are not allowed; only CREATE TABLE and "
            "ALTER TABLE ... ADD CONSTRAINT take effect (nothing is executed)"
        )
    if first in _IGNORED_FIRST_WORDS:
        ignored.append(f"line {st.line}: {st.head}")
        return
    if first == "PRAGMA":
        name = st.tokens[1].text.lower() if len(st.tokens) > 1 else ""
        if name not in _ALLOWED_PRAGMAS:
            raise SQLSchemaError(
                f"{st.where()}: PRAGMA {name or '?'} is not allowed (only PRAGMA foreign_keys)"
            )
        ignored.append(f"line {st.line}: {st.head}")
        return
    try:
        parsed = dialect.parser().parse(st.tokens, st.text)
    except ParseError as exc:
        info = exc.errors[0] if exc.errors else {}
        detail = info.get("description") or str(exc).splitlines()[0]
        line = info.get("line", st.line)
        raise SQLSchemaError(f"{st.where()}: cannot parse near line {line}: {detail}") from None
    stmt = parsed[0] if parsed else None
    if stmt is None:
        return
    try:
        if isinstance(stmt, exp.Create):
            kind = str(stmt.args.get("kind") or "").upper()
            if kind == "TABLE":
                raw = _create_table(stmt, st)
                if _lookup(tables, raw.name) is not None:
                    raise ValueError(f"table {raw.name!r} is defined twice")
                tables[raw.name] = raw
                if len(tables) > MAX_TABLES:
                    raise ValueError(f"more than {MAX_TABLES} tables (the limit)")
                return
            if kind in ("INDEX", "SCHEMA", "SEQUENCE"):
                ignored.append(f"line {st.line}: {st.head}")
                return
            raise ValueError(f"CREATE {kind or '?'} is not allowed; only CREATE TABLE takes effect")
        if isinstance(stmt, exp.Alter):
            _alter_table(stmt, tables, st)
            return
        if isinstance(stmt, exp.Drop) and str(stmt.args.get("kind") or "").upper() == "TABLE":
            targets = stmt.args.get("tables") or [stmt.this]
            for name in (_table_name(t) for t in targets):
                if _lookup(tables, name) is not None:
                    raise ValueError(f"DROP TABLE of table {name!r} defined earlier is not allowed")
            ignored.append(f"line {st.line}: {st.head}")
            return
        raise ValueError(f"{type(stmt).__name__.upper()} statements are not allowed; only table definitions")
    except SQLSchemaError:
        raise
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise SQLSchemaError(f"{st.where()}: {exc}") from None


# --------------------------------------------------------------------------------------
# resolving keys


def _finish(raw_tables: dict[str, _RawTable], dialect: str, ignored: list[str]) -> ParsedSchema:
    if not raw_tables:
        raise SQLSchemaError("no CREATE TABLE statement found")
    # labels from CHECK ... IN
    for raw in raw_tables.values():
        for col, labels in raw.checks:
            name = _resolve_col(raw, col, f"{raw.where}: CHECK")
            c = raw.columns[name]
            if c.kind != "boolean":
                raw.columns[name] = replace(c, kind="categorical", labels=labels, integer=False)
        raw.primary_key = tuple(_resolve_col(raw, c, f"{raw.where}: PRIMARY KEY") for c in raw.primary_key)
        raw.unique = [tuple(_resolve_col(raw, c, f"{raw.where}: UNIQUE") for c in u) for u in raw.unique]

    # resolve foreign keys
    fks: dict[str, list[ParsedForeignKey]] = {name: [] for name in raw_tables}
    referenced: dict[str, list[tuple[str, ...]]] = {name: [] for name in raw_tables}
    for raw in raw_tables.values():
        seen: dict[str, str] = {}
        for fk in raw.fks:
            what = f"{fk.where}: FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES {fk.parent}"
            parent = _lookup(raw_tables, fk.parent)
            if parent is None:
                raise SQLSchemaError(f"{what}: unknown table {fk.parent!r}")
            cols = tuple(_resolve_col(raw, c, what) for c in fk.columns)
            if fk.parent_columns is None:
                if not parent.primary_key:
                    raise SQLSchemaError(f"{what}: no column list and {parent.name!r} has no primary key")
                pcols = parent.primary_key
            else:
                pcols = tuple(_resolve_col(parent, c, what) for c in fk.parent_columns)
            if len(pcols) != len(cols):
                raise SQLSchemaError(f"{what}: {len(cols)} column(s) reference {len(pcols)} column(s)")
            for c in cols:
                if c in seen:
                    raise SQLSchemaError(
                        f"{what}: column {c!r} is also in foreign key ({seen[c]}); overlapping foreign keys "
                        "are not supported"
                    )
            for c in cols:
                seen[c] = ", ".join(cols)
            nullable = all(raw.columns[c].nullable and c not in raw.primary_key for c in cols)
            fks[raw.name].append(ParsedForeignKey(cols, parent.name, pcols, nullable=nullable, line=fk.line))
            if set(pcols) != set(parent.primary_key) and not any(set(pcols) == set(u) for u in parent.unique):
                referenced[parent.name].append(pcols)

    # uniqueness groups: primary key, UNIQUE constraints, referenced column sets
    tables: dict[str, ParsedTable] = {}
    for raw in raw_tables.values():
        groups = [g for g in [raw.primary_key, *raw.unique, *referenced[raw.name]] if g]
        unique = tuple(dict.fromkeys(tuple(g) for g in [*raw.unique, *referenced[raw.name]]))
        table_fks = fks[raw.name]
        fk_cols = {c for fk in table_fks for c in fk.columns}
        one_to_one = set()
        for g in groups:
            if not set(g) <= fk_cols:
                continue
            covering = [i for i, fk in enumerate(table_fks) if set(fk.columns) & set(g)]
            if any(not set(table_fks[i].columns) <= set(g) for i in covering):
                raise SQLSchemaError(
                    f"{raw.where}: key ({', '.join(g)}) covers only part of a composite foreign key; "
                    "not supported"
                )
            if len(covering) == 1:
                one_to_one.add(covering[0])
        table_fks = [replace(fk, one_to_one=i in one_to_one) for i, fk in enumerate(table_fks)]
        tables[raw.name] = ParsedTable(
            raw.name, tuple(raw.columns.values()), raw.primary_key, unique, tuple(table_fks), raw.line
        )

    # break FK cycles between tables, then order parents before children
    decl = {name: i for i, name in enumerate(tables)}
    g = nx.MultiDiGraph()
    g.add_nodes_from(tables)
    for t in tables.values():
        for j, fk in enumerate(t.foreign_keys):
            if fk.parent != t.name:
                g.add_edge(fk.parent, t.name, key=j)
    deferred: set[tuple[str, int]] = set()
    while True:
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            break
        edges = [(u, v, k) for u, v, k, *_ in cycle]
        nullable = [e for e in edges if tables[e[1]].foreign_keys[e[2]].nullable]
        pool = nullable or edges
        u, v, k = max(pool, key=lambda e: (decl[e[1]], e[2]))  # the last declared FK
        g.remove_edge(u, v, key=k)
        deferred.add((v, k))
    order = list(nx.lexicographical_topological_sort(g, key=lambda n: decl[n]))
    out = []
    for name in order:
        t = tables[name]
        fk_list = tuple(replace(fk, deferred=(name, j) in deferred) for j, fk in enumerate(t.foreign_keys))
        out.append(replace(t, foreign_keys=fk_list))
    return ParsedSchema(tuple(out), dialect, tuple(ignored))


def parse_schema(sql: str, dialect: str | None = None) -> ParsedSchema:
    """Read ``CREATE TABLE`` DDL into a :class:`ParsedSchema` (pure, deterministic).

    ``dialect``: ``"sqlite"``, ``"postgres"``, ``"mysql"`` or None (try each, keep the first
    that reads every statement). Raises :class:`SQLSchemaError` naming the statement and
    line at fault.
    """
    if not isinstance(sql, str):
        raise SQLSchemaError(f"sql: expected text, got {type(sql).__name__}")
    size = len(sql.encode("utf-8"))
    if size > MAX_SQL_BYTES:
        raise SQLSchemaError(f"the SQL text is {size:,} bytes; the limit is {MAX_SQL_BYTES:,} bytes")
    if dialect is not None and dialect not in DIALECTS:
        raise SQLSchemaError(f"dialect: got {dialect!r}; allowed: {list(DIALECTS)} or None (auto-detect)")
    failures: list[tuple[int, str, SQLSchemaError]] = []
    log = logging.getLogger("sqlglot")
    level = log.level
    log.setLevel(logging.ERROR)  # sqlglot warns on statements we reject anyway
    try:
        for name in [dialect] if dialect else DIALECTS:
            try:
                tables, ignored, _ = _read(sql, name)
            except _Failure as fail:
                failures.append((fail.progress, name, fail.error))
                continue
            except SQLSchemaError as exc:
                failures.append((-1, name, exc))
                continue
            return _finish(tables, name, ignored)
    finally:
        log.setLevel(level)
    progress, name, error = max(failures, key=lambda f: f[0])  # max keeps the first on ties
    if dialect is None:
        raise SQLSchemaError(f"{error} [read as {name}; also tried {[d for d in DIALECTS if d != name]}]")
    raise error


# --------------------------------------------------------------------------------------
# Schema for the pipeline


def _key_capacity(col: ParsedColumn) -> int | None:
    """Distinct values a key column can take, None when unbounded."""
    if col.kind == "boolean":
        return 2
    if col.kind == "categorical" and col.labels:
        return len(col.labels)
    return None


def schema_from_sql(sql: str, priors: SchemaPriors, seed: int, dialect: str | None = None) -> Schema:
    """A :class:`Schema` from DDL: structure from the SQL, row counts and window from priors.

    Row counts: entity tables ``~ U(priors.entity_rows)``, activity tables
    ``~ U(priors.activity_rows)`` (stream ``(seed, "schema", "rows", table)``), then capped
    so keys can stay unique (1:1 tables ≤ parent rows, junction tables ≤ product of parent
    rows, all-categorical keys ≤ number of label combinations). Window: as Stage 1
    (stream ``(seed, "schema", "time")``). Text columns draw their category count from
    ``priors.num_categories``.
    """
    from .schema import sample_time_window  # Stage 1 owns the window logic

    parsed = parse_schema(sql, dialect)
    tables = {t.name: t for t in parsed.tables}
    children: dict[str, set[str]] = {name: set() for name in tables}
    for t in parsed.tables:
        for fk in t.foreign_keys:
            if fk.parent != t.name:
                children[fk.parent].add(t.name)
    kinds = {name: ("entity" if children[name] else "activity") for name in tables}

    rows: dict[str, int] = {}
    for name in tables:
        prior = priors.entity_rows if kinds[name] == "entity" else priors.activity_rows
        rows[name] = sample_range(stream(seed, "schema", "rows", name), prior)

    # key columns and caps
    key_cols: dict[str, list[ParsedColumn]] = {}
    pkey: dict[str, str | None] = {}
    static_cap: dict[str, int] = {}
    for t in parsed.tables:
        fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
        pk = t.primary_key
        pkey[t.name] = pk[0] if len(pk) == 1 else None
        simple_int = len(pk) == 1 and pk[0] not in fk_cols and t.column(pk[0]).integer
        keyed = [c for g in [pk, *t.unique] for c in g if c not in fk_cols]
        if simple_int:
            keyed = [c for c in keyed if c != pk[0]]
        key_cols[t.name] = [t.column(c) for c in dict.fromkeys(keyed)]
        cap = None
        for g in [pk, *t.unique]:
            part = [t.column(c) for c in g if c not in fk_cols and not (simple_int and c == pk[0])]
            if part and all(_key_capacity(c) is not None for c in part):
                prod = 1
                for c in part:
                    prod *= _key_capacity(c)
                cap = prod if cap is None else min(cap, prod)
        if cap is not None:
            static_cap[t.name] = cap

    def fk_groups(t: ParsedTable) -> list[list[ParsedForeignKey]]:
        fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
        out = []
        for g in [t.primary_key, *t.unique]:
            if g and set(g) <= fk_cols:
                cover = [fk for fk in t.foreign_keys if set(fk.columns) <= set(g)]
                if len(cover) >= 2:
                    out.append(cover)
        return out

    for _ in range(len(tables) + 1):  # caps only lower counts: iterate to a fixpoint
        changed = False
        for t in parsed.tables:
            cap = static_cap.get(t.name, rows[t.name])
            for fk in t.foreign_keys:
                if fk.one_to_one and fk.parent != t.name:
                    cap = min(cap, rows[fk.parent])
            for cover in fk_groups(t):
                prod = 1
                for fk in cover:
                    prod *= rows[fk.parent]
                cap = min(cap, prod)
            cap = max(cap, 1)
            if cap < rows[t.name]:
                rows[t.name] = cap
                changed = True
        if not changed:
            break

    t0, t1, val, test = sample_time_window(
        stream(seed, "schema", "time"), priors.time_start, priors.time_end, priors.val_frac, priors.test_frac
    )

    graph = nx.MultiDiGraph()
    specs: dict[str, TableSpec] = {}
    cat_lo, cat_hi = priors.num_categories
    for t in parsed.tables:
        fk_cols = {c for fk in t.foreign_keys for c in fk.columns}
        keys = {c.name for c in key_cols[t.name]}
        pk_name = pkey[t.name]
        skip = fk_cols | keys | ({pk_name} if pk_name else set())
        time_col = None
        if kinds[t.name] == "activity":
            time_col = next((c.name for c in t.columns if c.kind == "date" and c.name not in skip), None)
        columns = []
        for c in t.columns:
            if c.name in skip or c.name == time_col:
                continue
            if c.kind == "categorical":
                k = len(c.labels or ()) or 2
            elif c.kind == "boolean":
                k = 2
            elif c.kind == "text":
                k = sample_range(stream(seed, "schema", "categories", t.name, c.name), (cat_lo, cat_hi))
            else:
                k = 0
            columns.append(ColumnSpec(c.name, c.kind, k, c.labels, c.sql_type, c.nullable))
        key_specs = tuple(
            ColumnSpec(c.name, c.kind, _key_capacity(c) or 0, c.labels, c.sql_type, False)
            for c in key_cols[t.name]
        )
        fks = tuple(
            ForeignKeySpec(fk.columns, fk.parent, fk.parent_columns, fk.nullable, fk.one_to_one, fk.deferred)
            for fk in t.foreign_keys
        )
        unique_groups = tuple(tuple(c for fk in cover for c in fk.columns) for cover in fk_groups(t))
        specs[t.name] = TableSpec(
            name=t.name,
            kind=kinds[t.name],
            num_rows=int(rows[t.name]),
            pkey_col=pk_name,
            foreign_keys=fks,
            columns=tuple(columns),
            time_col=time_col,
            unique_groups=tuple(dict.fromkeys(unique_groups)),
            key_columns=key_specs,
        )
        graph.add_node(
            t.name,
            kind=kinds[t.name],
            num_rows=int(rows[t.name]),
            primary_key=t.primary_key,
            unique=t.unique,
            column_order=tuple(c.name for c in t.columns),
            sql_types={c.name: c.sql_type for c in t.columns},
        )
    for t in parsed.tables:
        for fk in t.foreign_keys:
            graph.add_edge(
                fk.parent, t.name, key=",".join(fk.columns), columns=fk.columns, deferred=fk.deferred
            )
    return Schema(
        tables=specs,
        graph=graph,
        layout="sql",
        t0=pd.Timestamp(t0),
        t1=pd.Timestamp(t1),
        val_timestamp=pd.Timestamp(val),
        test_timestamp=pd.Timestamp(test),
        source="sql",
    )
