r"""Schemas from SQL: ``CREATE TABLE`` DDL instead of Stage 1.

:func:`parse_schema` reads DDL text (SQLite, PostgreSQL or MySQL flavour) into a
:class:`ParsedSchema` with sqlglot's tokenizer and parser: a syntax tree, nothing is ever
executed and no regular expression touches the SQL. :func:`schema_from_sql` turns that
into a :class:`~plurel_core.database.Schema` whose row counts and time window are drawn
from the schema priors, so the rest of the pipeline runs unchanged.

**Dumps as they come; nothing is executed.** Only table definitions take effect:

- ``CREATE [TEMP] TABLE name (...)`` (not ``AS SELECT`` or ``LIKE``),
- ``ALTER TABLE [ONLY] name ADD [CONSTRAINT c] FOREIGN KEY / PRIMARY KEY / UNIQUE / CHECK``,
  ``ADD [COLUMN]`` and ``ALTER COLUMN c SET NOT NULL``,
- PostgreSQL's ``CREATE TYPE t AS ENUM (...)``: columns of type ``t`` get its labels.

Every other statement cannot change the tables and is *skipped*: read to its end, listed in
:attr:`ParsedSchema.skipped` / :attr:`Schema.skipped_statements` (:func:`skipped_notice`
sums them up; the CLI prints it on stderr, the app beside the upload) and never executed:
views, triggers (their ``BEGIN ... END`` bodies with semicolons and ``CASE ... END`` stay one
statement), functions and procedures (PostgreSQL ``$$`` / ``$tag$`` bodies, MySQL
``DELIMITER`` blocks), ``COMMENT ON``, ``GRANT`` / ``REVOKE``, ``... OWNER TO``, ``CREATE
EXTENSION``, ``SET``, sequences, indexes, ``BEGIN`` / ``COMMIT``, ``PRAGMA``, data
statements (``INSERT``, ``COPY ... FROM stdin`` with its data lines up to ``\.``), psql
meta-commands (``\connect``, ``\restrict``), ``ALTER TABLE ... ALTER COLUMN ... SET DEFAULT``
/ ``ADD GENERATED ... AS IDENTITY``, SQLite's own ``sqlite_sequence`` table, and
``DROP TABLE t`` before ``t`` is defined. Errors (:class:`SQLSchemaError`, naming the
statement and its line) are kept for text that cannot be read, table statements that
cannot be parsed, statements that would change a defined table in a way the import does
not follow (``DROP TABLE`` of it, ``ALTER TABLE ... RENAME / DROP COLUMN / ALTER COLUMN
TYPE``, ``CREATE TABLE ... AS``) and input over the limits:

- :data:`MAX_SQL_BYTES` of text, :data:`MAX_TABLES` tables, :data:`MAX_COLUMNS` columns
  per table;
- :data:`MAX_TABLE_TOKENS` words and symbols in the ``CREATE`` / ``ALTER TABLE`` statements
  (what sqlglot parses; this keeps reading and planning any accepted text under 2 s,
  ``benchmarks/bench_sql.py``), checked before any statement is parsed;
- parentheses nested at most :data:`MAX_NESTING` deep in a table statement (skipped
  statements are not parsed, so their nesting does not matter);
- names every export can write, checked at import: no NUL character, at most
  :data:`MAX_NAME_BYTES` UTF-8 bytes (a table name becomes a file name in ``parquet`` /
  ``relbench`` / ``csv``), and no two columns of a table differing only by case (SQLite
  takes them for one column). Tables differing only by case are "defined twice".

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
- declared ranges are kept (:mod:`plurel_core.declared`, applied when the tables are
  assembled): integer types give integers within the type's range (TINYINT, SMALLINT,
  UNSIGNED, YEAR, SERIAL ...), ``CHECK (x BETWEEN a AND b)`` / ``CHECK (x > a AND x <= b)``
  bound the values, ``NUMERIC(p, s)`` / ``DECIMAL(p, s)`` give ``s`` decimals below
  ``10^(p-s)``, and ``CHECK (x IN (1, 2))`` on an integer column gives integers;
- anything else (BLOB, bytea, uuid, XML, JSON, TIME, domain names such as ``"Flag"``)
  falls back to SQLite's affinity rules on the type name: contains INT → numerical;
  CHAR / CLOB / TEXT → text; REAL / FLOA / DOUB / NUM / DEC → numerical; BOOL → boolean;
  DATE / TIMESTAMP → date; otherwise ``text``.

**Structures.**

- *Kinds and order*: a table no other table references is an **activity** table, else an
  **entity** table. Tables are ordered parents before children (ties: declaration order).
- *Self-referencing FKs* stay on the table; the FK stage points row ``i`` at earlier rows
  (or NULL), so exports insert in row order.
- *FK cycles between tables* are broken by marking FKs ``deferred``, in one pass over the
  strongly connected components of the FK graph: inside a component the tables are ordered
  parents first along the NOT NULL FKs (cycles of those by declaration order) and every FK
  pointing backwards is deferred, so nullable FKs are deferred where that suffices, else the
  FKs to tables declared later. Deferred FKs are sampled after both tables exist and
  exported ``DEFERRABLE INITIALLY DEFERRED``.
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

import functools
import logging
import math
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
from .declared import INTEGER_RANGES, DeclaredType
from .errors import SQLSchemaError
from .rng import stream
from .schema import sample_time_window  # Stage 1 owns the window logic

__all__ = [
    "SQLSchemaError",
    "ParsedColumn",
    "ParsedForeignKey",
    "ParsedTable",
    "ParsedSchema",
    "SkippedStatement",
    "skipped_notice",
    "parse_schema",
    "break_fk_cycles",
    "schema_from_sql",
    "DIALECTS",
    "MAX_SQL_BYTES",
    "MAX_TABLES",
    "MAX_COLUMNS",
    "MAX_NAME_BYTES",
    "MAX_NESTING",
    "MAX_TABLE_TOKENS",
    "MAX_READ_BYTES",
]

MAX_SQL_BYTES = 1_000_000
MAX_TABLES = 200
MAX_COLUMNS = 500
MAX_NAME_BYTES = 200  # a table name plus '.parquet' and a clash suffix stays a valid file name
DIALECTS = ("sqlite", "postgres", "mysql")


@dataclass(frozen=True)
class ParsedColumn:
    name: str
    sql_type: str
    kind: str  # numerical, categorical, boolean, text, date
    labels: tuple[str, ...] | None = None
    nullable: bool = True
    integer: bool = False  # an integer type (a single integer primary key is the row number)
    declared: DeclaredType = field(default_factory=DeclaredType)  # range, rounding of the values


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
class SkippedStatement:
    """A statement read and left out: it cannot change the tables (a view, a trigger, data...)."""

    line: int
    kind: str  # e.g. "CREATE VIEW", "COPY", "ALTER TABLE ... OWNER TO"
    head: str  # the statement's first words

    def __str__(self) -> str:
        return f"line {self.line}: {self.head}"


@dataclass(frozen=True)
class ParsedSchema:
    """Tables in generation order (parents first), resolved and checked."""

    tables: tuple[ParsedTable, ...]
    dialect: str
    # statements read and left out (views, triggers, data ...): listed, never executed
    skipped: tuple[SkippedStatement, ...] = ()

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

# statements whose body holds semicolons of its own until a matching END
_COMPOUND_OBJECTS = {"TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"}
# CREATE <words> <object>: words that may come between CREATE and the object kind
_CREATE_PREFIX = {
    "OR", "REPLACE", "TEMP", "TEMPORARY", "GLOBAL", "LOCAL", "UNLOGGED", "UNIQUE", "MATERIALIZED",
    "RECURSIVE", "DEFINER", "=", "CURRENT_USER", "SQL", "SECURITY", "SQL SECURITY", "INVOKER", "ALGORITHM", "UNDEFINED",
    "MERGE", "TEMPTABLE", "CONSTRAINT", "IF", "NOT", "EXISTS",
}  # fmt: skip
MAX_NESTING = 20  # sqlglot parses a level of parentheses with about 17 nested calls
# tokens of CREATE / ALTER TABLE statements: sqlglot parses about 10,000 a second here, so
# this bounds reading any accepted text to well under 2 s (benchmarks/bench_sql.py)
MAX_TABLE_TOKENS = 20_000
MAX_READ_BYTES = 200_000  # text the tokenizer reads (COPY data is not): well under 1 s
_ALTER_TABLE_SETTINGS = {
    "OWNER", "ENABLE", "DISABLE", "CLUSTER", "REPLICA", "ATTACH", "DETACH", "INHERIT", "SET", "RESET",
    "VALIDATE", "FORCE", "NO", "OF", "NOT",
}  # fmt: skip


def skipped_notice(skipped, limit: int = 20) -> str:
    """One line per kind of skipped statement, with its count and first lines ("" if none)."""
    kinds: dict[str, list[int]] = {}
    for s in skipped:
        kinds.setdefault(s.kind, []).append(s.line)
    if not kinds:
        return ""
    parts = []
    for kind, lines in sorted(kinds.items(), key=lambda kv: kv[1][0]):
        where = ", ".join(str(n) for n in lines[:3]) + (", ..." if len(lines) > 3 else "")
        parts.append(f"{len(lines)} × {kind} (line {where})")
    more = f"; and {len(parts) - limit} more kinds" if len(parts) > limit else ""
    total = sum(len(v) for v in kinds.values())
    return (
        f"skipped {total} statement{'s' * (total != 1)} that cannot change the tables: "
        + "; ".join(parts[:limit])
        + more
    )


@dataclass
class _Statement:
    tokens: list
    line: int
    text: str

    @functools.cached_property
    def head(self) -> str:
        words = " ".join(self.text[:200].split())
        return words if len(words) <= 60 else words[:57] + "..."

    def where(self) -> str:
        return f"statement at line {self.line} ({self.head!r})"


def _blank_block(lines: list[str], first: int, ends) -> tuple[list[str], int]:
    """Blank ``lines`` from ``first`` through the first line ``ends`` accepts (to the end of
    the text if none does); return the lines before that one, as they were, and the index
    after the block."""
    end = first
    while end < len(lines) and not ends(lines[end]):
        end += 1
    body = lines[first:end]
    lines[first : end + 1] = [""] * (min(end + 1, len(lines)) - first)
    return body, end + 1


def _psql_lines(sql: str) -> tuple[str, list[SkippedStatement]]:
    """Blank what only a client reads, keeping line numbers: ``COPY ... FROM stdin`` data
    up to its ``\\.`` line, psql meta-commands (``\\connect``, ``\\restrict``) and MySQL
    ``DELIMITER`` blocks (routines and triggers of mysqldump), each listed as skipped."""
    lines = sql.split("\n")
    skipped: list[SkippedStatement] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        upper = stripped.upper()
        if upper.startswith("COPY ") and upper.endswith("FROM STDIN;"):
            _, i = _blank_block(lines, i + 1, lambda line: line.rstrip("\r") == "\\.")
            continue
        if stripped.startswith("\\"):
            skipped.append(SkippedStatement(i + 1, "psql command", stripped[:60]))
            lines[i] = ""
        elif upper.startswith("DELIMITER ") and stripped.split()[1] != ";":
            delim = stripped.split()[1]
            lines[i] = ""
            first = i + 1
            body, i = _blank_block(lines, first, lambda line: line.strip().upper().startswith("DELIMITER"))
            start = None  # where in the block the routine or trigger being read begins
            for k, line in enumerate(body):
                text = line.strip()
                if text and start is None:
                    start = k
                if text.endswith(delim) and start is not None:
                    head = " ".join(" ".join(body[start : k + 1]).split())
                    skipped.append(SkippedStatement(first + start + 1, "DELIMITER block", head[:60]))
                    start = None
            continue
        i += 1
    return "\n".join(lines), skipped


def _split(sql: str, dialect) -> list[_Statement]:
    """Statements at top-level semicolons; a trigger's or routine's ``BEGIN ... END`` body
    (with ``CASE ... END`` inside) stays in one statement."""
    try:
        tokens = dialect.tokenize(sql)
    except TokenError as exc:
        raise SQLSchemaError(f"cannot read the SQL text: {str(exc)[:200]}") from None
    except RecursionError:
        raise SQLSchemaError("cannot read the SQL text: nested too deeply") from None
    out: list[_Statement] = []
    semicolon = TokenType.SEMICOLON
    start = 0  # first token of the current statement
    compound = closing = False
    depth = 0
    n = len(tokens)
    for i in range(n + 1):
        tok = tokens[i] if i < n else None
        if compound and tok is not None:
            word = tok.text.upper()
            if closing:  # END IF / END LOOP / END CASE ...: the word after END opens nothing
                closing = False
            elif word == "BEGIN" or (word == "CASE" and depth > 0):
                depth += 1
            elif word == "END" and depth > 0:
                nxt = tokens[i + 1].text.upper() if i + 1 < n else ""
                if nxt in ("IF", "LOOP", "WHILE", "REPEAT", "FOR"):
                    closing = True  # closes a block that was not counted
                else:
                    depth -= 1
                    closing = nxt == "CASE"
        elif i == start and tok is not None and tok.text.upper() == "CREATE":
            compound = _create_kind(tokens[start : start + 16]) in _COMPOUND_OBJECTS
        if tok is None or (tok.token_type == semicolon and depth == 0):
            if i > start:
                cur = tokens[start:i]
                out.append(_Statement(cur, cur[0].line, sql[cur[0].start : cur[-1].end + 1]))
            start, compound, closing, depth = i + 1, False, False, 0
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


def _type_text(dtype: exp.DataType) -> str:
    """A declared type's name as sqlglot reads it (``SMALLINT``, ``VARCHAR``), with its
    parameters rendered (``DECIMAL(6, 2)``); rendering only when there are any (it is slow)."""
    if not dtype.expressions and not dtype.args.get("values"):
        return dtype.this.name
    return dtype.sql(copy=False)


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
    sql_type = _type_text(dtype) if t not in _ENUM_TYPES else t
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


def _conjuncts(check) -> list:
    """The AND-ed parts of a CHECK expression, parentheses removed (``((a) AND (b))``)."""
    node = check.this if isinstance(check, exp.CheckColumnConstraint) else check
    out, todo = [], [node]
    while todo:
        c = todo.pop()
        while isinstance(c, exp.Paren):
            c = c.this
        if isinstance(c, exp.And):
            todo.extend([c.expression, c.this])
        else:
            out.append(c)
    return out


def _check_labels(check) -> list[tuple[str, tuple[str, ...]]]:
    """``(column, labels)`` for each ``col IN (...)`` conjunct of a CHECK expression."""
    out = []
    for c in _conjuncts(check):
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


def _number(node) -> float | None:
    """A numeric literal (possibly negated), else None."""
    sign = 1.0
    while isinstance(node, (exp.Neg, exp.Paren, exp.Cast)):
        if isinstance(node, exp.Neg):
            sign = -sign
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            value = float(node.this)
        except ValueError:
            return None
        return sign * value if math.isfinite(value) else None
    return None


_FLIP = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}


def _check_bounds(check) -> list[tuple[str, float | None, bool, float | None, bool]]:
    """``(column, low, low strict, high, high strict)`` for each numeric range conjunct of a
    CHECK: ``col BETWEEN a AND b``, ``col > a``, ``a <= col``, ... (others are ignored)."""
    out = []
    for c in _conjuncts(check):
        if isinstance(c, exp.Between) and isinstance(c.this, exp.Column):
            lo, hi = _number(c.args.get("low")), _number(c.args.get("high"))
            if lo is not None and hi is not None:
                out.append((_ident(c.this), lo, False, hi, False))
            continue
        op = type(c)
        if op not in _FLIP:
            continue
        left, right = c.this, c.expression
        if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
            left, right, op = right, left, _FLIP[op]
        value = _number(right)
        if not isinstance(left, exp.Column) or value is None:
            continue
        if op in (exp.GT, exp.GTE):
            out.append((_ident(left), value, op is exp.GT, None, False))
        else:
            out.append((_ident(left), None, False, value, op is exp.LT))
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
    bounds: list[tuple[str, float | None, bool, float | None, bool]] = field(default_factory=list)


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
        raw.bounds.extend(_check_bounds(item))
    elif isinstance(item, exp.PrimaryKeyColumnConstraint):
        pass
    elif isinstance(item, (exp.IndexColumnConstraint, exp.Index)):
        pass  # MySQL KEY / INDEX / FULLTEXT KEY: an index, no constraint
    else:
        raise ValueError(f"unsupported table constraint {item.sql()[:60]!r}")


def _type_limits(dtype) -> DeclaredType:
    """Integer width, range and NUMERIC(p, s) of a declared type (no CHECK bounds yet)."""
    if not isinstance(dtype, exp.DataType):
        return DeclaredType()
    t = dtype.this.name if hasattr(dtype.this, "name") else str(dtype.this)
    if t == "USERDEFINED":  # e.g. YEAR read by the SQLite reader
        t = str(dtype.args.get("kind") or "").upper()
    if t in INTEGER_RANGES:
        lo, hi = INTEGER_RANGES[t]
        return DeclaredType(integer=True, type_low=lo, type_high=hi)
    if t in ("DECIMAL", "UDECIMAL"):
        params = [e.this for e in dtype.expressions if isinstance(e, exp.DataTypeParam)]
        digits = [int(p.this) for p in params if isinstance(p, exp.Literal) and str(p.this).isdigit()]
        if digits and len(digits) == len(params) and 0 < digits[0] <= 1000:
            precision, scale = digits[0], (digits[1] if len(digits) > 1 else 0)
            if 0 <= scale <= precision:
                bound = 10.0 ** (precision - scale) - 10.0**-scale
                low = 0.0 if t == "UDECIMAL" else -bound
                return DeclaredType(integer=scale == 0, type_low=low, type_high=bound, scale=scale)
    return DeclaredType()


def _user_type(dtype) -> str | None:
    """The (unqualified, lower-case) name of a user-defined type, e.g. an enum's."""
    if not isinstance(dtype, exp.DataType):
        return None
    kind = dtype.args.get("kind")
    if isinstance(kind, exp.Dot):
        kind = kind.expression
    if isinstance(kind, exp.Identifier):
        return kind.this.lower()
    return None


def _add_column(raw: _RawTable, item: exp.ColumnDef, st: _Statement, enums=None) -> None:
    col = item.name if isinstance(item.this, exp.Identifier) else _ident(item.this)
    if col in raw.columns:
        raise ValueError(f"column {col!r} defined twice in table {raw.name!r}")
    dtype = item.args.get("kind")
    sql_type, kind, labels, integer = _column_type(dtype)
    declared = _type_limits(dtype)
    enum = (enums or {}).get(_user_type(dtype) or "")
    if enum is not None:
        kind, labels, integer = "categorical", enum, False
    elif declared.integer and kind != "numerical":  # an integer type SQLite's rules call text
        kind, integer = "numerical", True
    elif integer and not declared.integer:  # an integer type by its name (INTEGER, int4 ...)
        declared = DeclaredType(integer=True, type_low=-INTEGER_RANGES["BIGINT"][1],
                                type_high=INTEGER_RANGES["BIGINT"][1])  # fmt: skip
    nullable = True
    for cons in item.constraints:
        k = cons.kind
        if isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null"):
            nullable = False
        elif isinstance(k, exp.PrimaryKeyColumnConstraint):
            if raw.primary_key:
                raise ValueError(f"table {raw.name!r} declares a second primary key")
            raw.primary_key = (col,)
        elif isinstance(k, exp.UniqueColumnConstraint):
            raw.unique.append((col,))
        elif isinstance(k, exp.Reference):
            raw.fks.append(_reference(k, (col,), st.line, st.where()))
        elif isinstance(k, exp.CheckColumnConstraint):
            raw.checks.extend(_check_labels(k))
            raw.bounds.extend(_check_bounds(k))
    raw.columns[col] = ParsedColumn(col, sql_type, kind, labels, nullable, integer, declared)
    if len(raw.columns) > MAX_COLUMNS:
        raise ValueError(f"table {raw.name!r} has more than {MAX_COLUMNS} columns (the limit)")


def _create_table(stmt: exp.Create, st: _Statement, enums: dict[str, tuple[str, ...]]) -> _RawTable:
    if stmt.args.get("expression") is not None:
        raise ValueError("CREATE TABLE ... AS SELECT is not allowed (only column definitions)")
    schema = stmt.this
    if not isinstance(schema, exp.Schema):
        raise ValueError("CREATE TABLE needs a column list (CREATE TABLE ... LIKE / AS is not allowed)")
    name = _table_name(schema.this)
    raw = _RawTable(name, st.line, st.where())
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            _add_column(raw, item, st, enums)
        else:
            _table_constraint(raw, item, st.line, st.where())
    if not raw.columns:
        raise ValueError(f"table {name!r} has no columns")
    return raw


def _alter_table(stmt: exp.Alter, tables: dict[str, _RawTable], st: _Statement, skipped: list) -> None:
    """Constraints, columns and NOT NULL added by ``ALTER TABLE``; defaults and storage
    settings are skipped; renaming or dropping is an error (the tables would differ)."""
    name = _table_name(stmt.this)
    raw = _lookup(tables, name)
    if raw is None:
        raise ValueError(f"ALTER TABLE of unknown table {name!r} (define it first)")
    ignored = False
    for action in stmt.args.get("actions") or []:
        if isinstance(action, exp.AddConstraint):
            for item in action.expressions:
                _table_constraint(raw, item, st.line, st.where())
        elif isinstance(action, exp.ColumnDef):
            _add_column(raw, action, st)
        elif isinstance(action, exp.AlterColumn) and not (
            action.args.get("dtype") or action.args.get("drop")
        ):
            col = _resolve_col(raw, _ident(action.this), f"{st.where()}: ALTER COLUMN")
            if action.args.get("allow_null") is False:
                raw.columns[col] = replace(raw.columns[col], nullable=False)
            else:
                ignored = True  # SET DEFAULT, DROP DEFAULT, COMMENT, ...
        else:
            raise ValueError(
                f"ALTER TABLE ... {action.sql()[:40]!r} changes the table in a way the import does not "
                "follow; only ADD CONSTRAINT, ADD COLUMN and SET NOT NULL take effect"
            )
    if ignored:
        skipped.append(SkippedStatement(st.line, "ALTER TABLE ... ALTER COLUMN", st.head))


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


def _read(sql: str, dialect_name: str) -> tuple[dict[str, _RawTable], list[SkippedStatement], int]:
    """Read every statement with one dialect; returns tables, skipped statements, count read.

    Raises ``(SQLSchemaError, statements read)`` packed in ``_Failure``.
    """
    dialect = sqlglot.Dialect.get_or_raise(_READERS[dialect_name])
    text, skipped = _psql_lines(sql)
    size = len(text.encode("utf-8", errors="surrogatepass"))  # COPY data lines are blank now
    if size > MAX_READ_BYTES:
        raise _OverLimit(
            f"the SQL text is {size:,} bytes besides COPY data; the limit is {MAX_READ_BYTES:,} bytes "
            "(what is read in well under 2 s); leave out data statements (INSERT)"
        )
    statements = _split(text, dialect)
    work = sum(len(st.tokens) for st in statements if _defines_table(st))
    if work > MAX_TABLE_TOKENS:
        raise _OverLimit(
            f"the table definitions hold {work:,} words and symbols; the limit is {MAX_TABLE_TOKENS:,} "
            f"(about {MAX_TABLE_TOKENS // 5:,} column definitions, what is read in well under 2 s)"
        )
    tables: dict[str, _RawTable] = {}
    enums: dict[str, tuple[str, ...]] = {}
    for i, st in enumerate(statements):
        try:
            _one_statement(st, dialect, tables, skipped, enums)
        except SQLSchemaError as exc:
            raise _Failure(exc, i) from None
    skipped.sort(key=lambda s: s.line)
    return tables, skipped, len(statements)


class _OverLimit(SQLSchemaError):
    """Input over a limit: the same in every dialect, so no other dialect is tried."""


class _Failure(Exception):
    def __init__(self, error: SQLSchemaError, progress: int):
        super().__init__(str(error))
        self.error = error
        self.progress = progress


def _defines_table(st: _Statement) -> bool:
    """A ``CREATE TABLE`` or ``ALTER TABLE`` statement: the ones parsed into a syntax tree."""
    first = st.tokens[0].text.upper()
    if first == "ALTER":
        return len(st.tokens) > 1 and st.tokens[1].text.upper() == "TABLE"
    return first == "CREATE" and _create_kind(st.tokens) == "TABLE"


def _create_kind(tokens) -> str:
    """The object a ``CREATE`` statement makes (``TABLE``, ``VIEW``, ``TRIGGER``...), past
    modifiers such as ``OR REPLACE``, ``TEMP`` or MySQL's ``DEFINER = user@host``."""
    i, end = 1, min(len(tokens), 16)
    while i < end:
        tok = tokens[i]
        word = tok.text.upper()
        if word == "DEFINER" and i + 2 < len(tokens) and tokens[i + 1].token_type == TokenType.EQ:
            i += 3  # DEFINER = user
            while i < end and (
                tokens[i].token_type in (TokenType.PARAMETER, TokenType.L_PAREN, TokenType.R_PAREN)
            ):
                i += 2 if tokens[i].token_type == TokenType.PARAMETER else 1  # @host, CURRENT_USER()
            continue
        if word not in _CREATE_PREFIX and tok.token_type not in (TokenType.L_PAREN, TokenType.R_PAREN):
            return word
        i += 1
    return "?"


def _nesting(tokens) -> int:
    depth = deepest = 0
    for tok in tokens:
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
            deepest = max(deepest, depth)
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
    return deepest


def _enum_type(st: _Statement) -> tuple[str, tuple[str, ...]] | None:
    """``(type name, labels)`` of PostgreSQL's ``CREATE TYPE name AS ENUM ('a', ...)``."""
    words = [t.text.upper() for t in st.tokens[:12]]
    if "ENUM" not in words or "AS" not in words:
        return None
    at = words.index("AS")
    names = [t.text for t in st.tokens[2:at] if t.token_type != TokenType.DOT]
    labels = tuple(dict.fromkeys(t.text for t in st.tokens[at + 2 :] if t.token_type == TokenType.STRING))
    if not names or not labels:
        return None
    return names[-1].lower(), labels


def _parse(st: _Statement, dialect):
    deepest = _nesting(st.tokens)
    if deepest > MAX_NESTING:
        raise _OverLimit(f"{st.where()}: parentheses nested {deepest} deep; the limit is {MAX_NESTING}")
    try:
        parsed = dialect.parser().parse(st.tokens, st.text)
    except ParseError as exc:
        info = exc.errors[0] if exc.errors else {}
        detail = (info.get("description") or str(exc).splitlines()[0])[:200]
        line = info.get("line", st.line)
        raise SQLSchemaError(f"{st.where()}: cannot parse near line {line}: {detail}") from None
    except RecursionError:
        raise SQLSchemaError(f"{st.where()}: nested too deeply to read") from None
    return parsed[0] if parsed else None


def _one_statement(
    st: _Statement, dialect, tables: dict[str, _RawTable], skipped: list, enums: dict[str, tuple[str, ...]]
) -> None:
    first = st.tokens[0].text.upper()

    def skip(kind: str) -> None:
        skipped.append(SkippedStatement(st.line, kind, st.head))

    if first == "CREATE":
        kind = _create_kind(st.tokens)
        if kind == "TYPE":
            enum = _enum_type(st)
            if enum is not None:
                enums[enum[0]] = enum[1]
                skip("CREATE TYPE ... AS ENUM (its labels kept)")
                return
        if kind != "TABLE":
            skip(f"CREATE {kind}" + (" TABLE" if kind == "VIRTUAL" else ""))  # SQLite's fts5, rtree ...
            return
        name = st.tokens[2].text if len(st.tokens) > 2 else ""
        if name.lower().startswith("sqlite_"):  # sqlite_sequence etc. in `.schema` output
            skip("CREATE TABLE sqlite_* (SQLite's own)")
            return
    elif first == "ALTER":
        second = st.tokens[1].text.upper() if len(st.tokens) > 1 else ""
        if second != "TABLE":
            skip(f"ALTER {second}")
            return
        rest = [t.text.upper() for t in st.tokens[2:]]
        if "ALTER" in rest:  # ALTER [COLUMN] c ...: only SET NOT NULL and TYPE change the table
            if not ({"SET", "NOT", "NULL"} <= set(rest) or "TYPE" in rest):
                skip("ALTER TABLE ... ALTER COLUMN")
                return
        elif not {"ADD", "DROP", "RENAME"} & set(rest):  # OWNER TO, ENABLE TRIGGER, CLUSTER ON ...
            what = next((w for w in rest if w in _ALTER_TABLE_SETTINGS), "")
            skip(f"ALTER TABLE ... {what}".strip(" ."))
            return
    elif first == "DROP":
        if len(st.tokens) < 2 or st.tokens[1].text.upper() != "TABLE":
            skip(f"DROP {st.tokens[1].text.upper() if len(st.tokens) > 1 else ''}".strip())
            return
    else:
        skip(first)  # data, SET, GRANT, COMMENT ON, BEGIN / COMMIT, PRAGMA, SELECT ...: nothing is executed
        return
    stmt = _parse(st, dialect)
    if stmt is None:
        return
    try:
        if isinstance(stmt, exp.Create):
            raw = _create_table(stmt, st, enums)
            if _lookup(tables, raw.name) is not None:
                raise ValueError(f"table {raw.name!r} is defined twice")
            tables[raw.name] = raw
            if len(tables) > MAX_TABLES:
                raise ValueError(f"more than {MAX_TABLES} tables (the limit)")
            return
        if isinstance(stmt, exp.Alter):
            _alter_table(stmt, tables, st, skipped)
            return
        if isinstance(stmt, exp.Drop):
            targets = stmt.args.get("tables") or [stmt.this]
            for name in (_table_name(t) for t in targets):
                if _lookup(tables, name) is not None:
                    raise ValueError(f"DROP TABLE of table {name!r} defined earlier is not allowed")
            skip("DROP TABLE (before the table is defined)")
            return
        raise ValueError(f"cannot read this {first} TABLE statement")
    except SQLSchemaError:
        raise
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise SQLSchemaError(f"{st.where()}: {exc}") from None


# --------------------------------------------------------------------------------------
# resolving keys


def _short(name: str) -> str:
    return repr(name if len(name) <= 40 else name[:37] + "...")


def _check_names(raw: _RawTable) -> None:
    """Names every export can write: no NUL, at most :data:`MAX_NAME_BYTES` bytes (a table
    becomes a file name), no two columns differing only by case (SQLite's names are
    case-insensitive)."""
    for what, name in [("table", raw.name), *(("column", c) for c in raw.columns)]:
        where = f"{raw.where}: {what} {_short(name)}" + (
            f" of table {_short(raw.name)}" if what == "column" else ""
        )
        if "\0" in name:
            raise SQLSchemaError(f"{where}: the name contains a NUL character, which no export can write")
        size = len(name.encode("utf-8", errors="surrogatepass"))
        if size > MAX_NAME_BYTES:
            raise SQLSchemaError(
                f"{where}: the name is {size} bytes; the limit is {MAX_NAME_BYTES} (tables become file names)"
            )
    seen: dict[str, str] = {}
    for c in raw.columns:
        other = seen.setdefault(c.lower(), c)
        if other != c:
            raise SQLSchemaError(
                f"{raw.where}: columns {_short(other)} and {_short(c)} of table {_short(raw.name)} differ only "
                "by case; SQLite would take them for one column"
            )


def _with_bounds(
    c: ParsedColumn, bounds: list[tuple[float | None, bool, float | None, bool]]
) -> ParsedColumn:
    """The column's declared type narrowed by its CHECK ranges (the tightest of each side)."""
    d = c.declared
    low, low_strict, high, high_strict = d.low, d.low_strict, d.high, d.high_strict
    for lo, lo_strict, hi, hi_strict in bounds:
        if lo is not None and (low is None or lo > low or (lo == low and lo_strict)):
            low, low_strict = lo, lo_strict
        if hi is not None and (high is None or hi < high or (hi == high and hi_strict)):
            high, high_strict = hi, hi_strict
    return replace(c, declared=replace(d, low=low, low_strict=low_strict, high=high, high_strict=high_strict))


def _deferred_fks(tables: dict[str, ParsedTable]) -> tuple[set[tuple[str, int]], nx.MultiDiGraph]:
    """FKs to defer so the rest is acyclic, in one pass over strongly connected components.

    Inside a component the tables are ordered parents first along the NOT NULL FKs (their
    own cycles ordered by declaration); every FK pointing backwards in that order is
    deferred, so a nullable FK is chosen whenever that breaks the cycle, else the FKs that
    reference tables declared later. Returns the deferred ``(table, FK index)`` and the
    graph of the FKs kept.
    """
    decl = {name: i for i, name in enumerate(tables)}
    g = nx.MultiDiGraph()
    g.add_nodes_from(tables)
    for t in tables.values():
        for j, fk in enumerate(t.foreign_keys):
            if fk.parent != t.name:
                g.add_edge(fk.parent, t.name, key=j)
    deferred: set[tuple[str, int]] = set()
    component = {}
    for i, comp in enumerate(nx.strongly_connected_components(g)):
        component.update(dict.fromkeys(comp, i))
    inner: dict[int, list[tuple[str, str, int]]] = {}  # the FKs inside each cyclic component
    for u, v, k in g.edges(keys=True):
        if component[u] == component[v]:
            inner.setdefault(component[u], []).append((u, v, k))
    for edges in inner.values():
        firm = nx.DiGraph()
        firm.add_nodes_from(n for u, v, _ in edges for n in (u, v))
        firm.add_edges_from((u, v) for u, v, k in edges if not tables[v].foreign_keys[k].nullable)
        blocks = nx.condensation(firm)
        first = {b: min(decl[n] for n in blocks.nodes[b]["members"]) for b in blocks}
        rank: dict[str, int] = {}
        for b in nx.lexicographical_topological_sort(blocks, key=first.get):
            for n in sorted(blocks.nodes[b]["members"], key=decl.get):
                rank[n] = len(rank)
        for u, v, k in edges:
            if rank[u] > rank[v]:
                deferred.add((v, k))
    g.remove_edges_from([(tables[v].foreign_keys[k].parent, v, k) for v, k in deferred])
    return deferred, g


def break_fk_cycles(tables: tuple[ParsedTable, ...]) -> tuple[ParsedTable, ...]:
    """``tables`` (in declaration order) parents first, FKs closing a cycle marked ``deferred``.

    One pass over the strongly connected components of the FK graph (see
    :func:`_deferred_fks`); ties in the order keep declaration order.
    """
    by_name = {t.name: t for t in tables}
    deferred, g = _deferred_fks(by_name)
    decl = {name: i for i, name in enumerate(by_name)}
    out = []
    for name in nx.lexicographical_topological_sort(g, key=decl.__getitem__):
        t = by_name[name]
        fk_list = tuple(replace(fk, deferred=(name, j) in deferred) for j, fk in enumerate(t.foreign_keys))
        out.append(replace(t, foreign_keys=fk_list))
    return tuple(out)


def _finish(raw_tables: dict[str, _RawTable], dialect: str, skipped: list[SkippedStatement]) -> ParsedSchema:
    if not raw_tables:
        raise SQLSchemaError("no CREATE TABLE statement found")
    # labels from CHECK ... IN, ranges from CHECK comparisons
    for raw in raw_tables.values():
        _check_names(raw)
        for col, labels in raw.checks:
            name = _resolve_col(raw, col, f"{raw.where}: CHECK")
            c = raw.columns[name]
            if c.kind != "boolean":
                raw.columns[name] = replace(c, kind="categorical", labels=labels, integer=False)
        ranges: dict[str, list] = {}
        for col, *bounds in raw.bounds:
            name = _resolve_col(raw, col, f"{raw.where}: CHECK")
            ranges.setdefault(name, []).append(bounds)
        for name, bounds in ranges.items():
            if raw.columns[name].kind == "numerical":
                raw.columns[name] = _with_bounds(raw.columns[name], bounds)
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
    out = break_fk_cycles(tuple(tables.values()))
    return ParsedSchema(tuple(out), dialect, tuple(skipped))


def _dialect_order(sql: str) -> list[str]:
    """Dialects to try, the likely one first (fewer tokenizer passes over a big text):
    PostgreSQL for pg_dump marks (``$$`` bodies, whose semicolons the other tokenizers would
    cut statements at, ``OWNER TO``, ``::`` casts), MySQL for backticks with ``ENGINE=``."""
    head = sql[:200_000]
    if "$$" in head or "$_$" in head or " OWNER TO " in head or "pg_catalog" in head or "::" in head:
        return ["postgres", "sqlite", "mysql"]
    if "`" in head and ("ENGINE=" in head.upper() or "AUTO_INCREMENT" in head.upper()):
        return ["mysql", "sqlite", "postgres"]
    return list(DIALECTS)


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
        for name in [dialect] if dialect else _dialect_order(sql):
            try:
                tables, skipped, _ = _read(sql, name)
            except _OverLimit:
                raise
            except _Failure as fail:
                if isinstance(fail.error, _OverLimit):
                    raise fail.error from None
                failures.append((fail.progress, name, fail.error))
                continue
            except SQLSchemaError as exc:
                failures.append((-1, name, exc))
                continue
            return _finish(tables, name, skipped)
    finally:
        log.setLevel(level)
    progress, name, error = max(failures, key=lambda f: f[0])  # max keeps the first on ties
    if dialect is None:
        raise SQLSchemaError(f"{error} [read as {name}; also tried {[d for d in DIALECTS if d != name]}]")
    raise error


# --------------------------------------------------------------------------------------
# Schema for the pipeline


def _declared_features(t: ParsedTable) -> dict[str, DeclaredType]:
    """What each feature column's declaration allows, for :func:`plurel_core.declared.conform_table`:
    ranges of numerical columns, integer labels of categorical ones."""
    out = {}
    for c in t.columns:
        if c.kind == "numerical" and c.declared != DeclaredType():
            out[c.name] = c.declared
        elif c.kind == "categorical" and c.declared.integer:
            out[c.name] = DeclaredType(integer=True, labels=True)
    return out


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
            declared=_declared_features(t),
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
        skipped_statements=parsed.skipped,
    )
