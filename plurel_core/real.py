"""A real database from a SQLite file, in the same shape as a generated one.

:func:`read_sqlite` opens a SQLite file as **untrusted input** and returns a
:class:`RealDatabase`: a :class:`~plurel_core.database.Database` whose schema comes from the
file's ``sqlite_master`` through the SQL import (:mod:`plurel_core.sql`) and whose tables
hold the file's rows, so :func:`~plurel_core.stats.database_stats` and every figure work on
it unchanged. Everything the reader had to decide is listed in ``notes``.

**Untrusted input.** The file must start with SQLite's header and be at most
:data:`MAX_FILE_BYTES`. It is opened through a ``file:…?mode=ro&immutable=1`` URI (nothing is
written, no journal or lock file appears beside it), with ``PRAGMA trusted_schema=OFF`` and
``query_only=ON``, and an authorizer that allows only reads, the few functions and pragmas
the reader itself uses: no view is queried, no trigger can fire (nothing is written), no
extension loads. A progress handler stops a read running longer than
:data:`MAX_READ_SECONDS`; :data:`MAX_CELLS` bounds the data read. Any failure (not a SQLite
file, corrupt pages, limits) raises :class:`RealDatabaseError` with one clear message.

**What real files hold.** Internal tables (``sqlite_sequence``, ``sqlite_stat1``), virtual
tables, views and triggers are skipped with a note. A table definition the SQL import
rejects (columns without a declared type, an FK to a table that does not exist) is rebuilt
from SQLite's own catalogue (``PRAGMA table_xinfo`` / ``foreign_key_list``): an untyped
column takes the type its values have, an FK to a missing table or column is dropped; a
table that still cannot be imported is skipped, and so is a table whose rows this SQLite
cannot read (a generated column calling the application's own function). Empty tables,
tables without a primary key, NULL foreign keys and values that reference no parent row
(dangling) stay in the data and are noted; the FK statistics count a dangling value as
referencing nothing.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Config
from .database import Database, Schema, Table, Trace
from .errors import RealDatabaseError
from .sql import MAX_TABLES, SQLSchemaError, parse_schema, schema_from_sql
from .stats import fk_parent_positions

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_CELLS",
    "MAX_READ_SECONDS",
    "SQLITE_HEADER",
    "RealDatabase",
    "RealDatabaseError",
    "read_sqlite",
    "read_sqlite_bytes",
    "check_sqlite_header",
    "describe_notes",
]

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_CELLS = 20_000_000
MAX_READ_SECONDS = 120.0
SQLITE_HEADER = b"SQLite format 3\x00"

# the only pragmas the reader runs once the authorizer is on
_PRAGMAS = {"quick_check", "table_xinfo", "foreign_key_list", "table_list"}
_FUNCTIONS = {"count", "typeof"}


@dataclass
class RealDatabase:
    """A SQLite file read as a :class:`Database`.

    ``ddl``: the ``CREATE TABLE`` statements that were imported (rebuilt ones included);
    ``notes``: one line per thing the reader skipped, rebuilt or found odd.
    """

    name: str
    db: Database
    ddl: str
    notes: tuple[str, ...]

    @property
    def rows(self) -> dict[str, int]:
        return {name: len(t.df) for name, t in self.db.tables.items()}


def check_sqlite_header(head: bytes, what: str) -> None:
    """Raise :class:`RealDatabaseError` unless ``head`` starts like a SQLite database file."""
    if len(head) == 0:
        raise RealDatabaseError(f"{what} is empty, not a SQLite database")
    if not head.startswith(SQLITE_HEADER):
        shown = head[:16].decode("latin-1").encode("unicode_escape").decode("ascii")[:40]
        raise RealDatabaseError(
            f"{what} is not a SQLite database file (it starts with {shown!r}, "
            "not with the SQLite header 'SQLite format 3')"
        )
    if len(head) < 100:
        raise RealDatabaseError(f"{what} is cut short: {len(head)} bytes, shorter than the SQLite header")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class _Reader:
    """One open, read-only, locked-down connection."""

    def __init__(self, path: Path, what: str, max_seconds: float):
        self.what = what
        uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro&immutable=1"
        try:
            self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise RealDatabaseError(f"{what}: cannot open it as a SQLite database: {exc}") from None
        conn = self.conn
        conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
        self.deadline = time.monotonic() + max_seconds
        self.max_seconds = max_seconds
        conn.set_progress_handler(self._too_long, 100_000)
        try:
            conn.execute("PRAGMA trusted_schema=OFF")
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA cell_size_check=ON")
        except sqlite3.Error as exc:
            self.close()
            raise RealDatabaseError(f"{what}: cannot open it as a SQLite database: {exc}") from None
        conn.set_authorizer(self._authorize)

    def _too_long(self) -> int:
        return 1 if time.monotonic() > self.deadline else 0

    @staticmethod
    def _authorize(action: int, arg1, arg2, _db, _trigger) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in _FUNCTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and str(arg1).lower() in _PRAGMAS:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> RealDatabaseError:
        text = str(exc)
        if "interrupted" in text:
            return RealDatabaseError(
                f"{self.what}: reading took longer than {self.max_seconds:.0f} s; stopped"
            )
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            return RealDatabaseError(f"{self.what} is corrupt: {text}")
        return RealDatabaseError(f"{self.what}: SQLite could not read it: {text}")

    def close(self) -> None:
        self.conn.close()


# -- schema ------------------------------------------------------------------------------


@dataclass
class _Entry:
    name: str
    sql: str
    rebuilt: bool = False


def _value_type(reader: _Reader, table: str, column: str) -> str:
    """The SQL type of an untyped column, from the storage classes of its values."""
    kinds = {
        k
        for (k,) in reader.query(
            f"SELECT DISTINCT typeof({_quote(column)}) FROM {_quote(table)} LIMIT 5"  # noqa: S608
        )
    }
    kinds.discard("null")
    if kinds == {"integer"}:
        return "INTEGER"
    if kinds and kinds <= {"integer", "real"}:
        return "REAL"
    return "TEXT"


def _rebuild(reader: _Reader, table: str, known: dict[str, set[str]], notes: list[str]) -> str:
    """``CREATE TABLE`` for ``table`` from SQLite's catalogue: columns (untyped ones typed by
    their values), primary key, and the FKs whose parent table and columns exist."""
    cols = reader.query(f"PRAGMA table_xinfo({_quote(table)})")
    parts: list[str] = []
    pk = sorted((c[5], c[1]) for c in cols if c[5])
    for _cid, name, decl, notnull, _default, _pk, hidden in cols:
        if hidden == 1:
            continue  # a virtual table's hidden column
        sql_type = decl.strip() if decl else ""
        if not sql_type:
            sql_type = _value_type(reader, table, name)
            notes.append(f"table {table!r}: column {name!r} has no declared type; read as {sql_type}")
        parts.append(f"{_quote(name)} {sql_type}{' NOT NULL' if notnull else ''}")
    if pk:
        parts.append(f"PRIMARY KEY ({', '.join(_quote(n) for _, n in pk)})")
    fks: dict[int, list[tuple]] = {}
    for row in reader.query(f"PRAGMA foreign_key_list({_quote(table)})"):
        fks.setdefault(row[0], []).append(row)
    taken: set[str] = set()
    # SQLite lists a table's FKs last-declared first
    for _id, rows in sorted(fks.items(), reverse=True):
        rows.sort(key=lambda r: r[1])
        parent = rows[0][2]
        child_cols = [r[3] for r in rows]
        parent_cols = [r[4] for r in rows if r[4] is not None]
        label = f"FK ({', '.join(child_cols)}) → {parent!r}"
        if parent not in known:
            notes.append(f"table {table!r}: {label} points to no table that is read; dropped")
            continue
        missing = [c for c in parent_cols if c not in known[parent]]
        if missing:
            notes.append(f"table {table!r}: {label} names missing column(s) {missing}; dropped")
            continue
        if taken & set(child_cols):
            # the SQL import gives a column one parent: the first FK declared keeps it
            notes.append(f"table {table!r}: {label} shares a column with another FK; dropped")
            continue
        taken.update(child_cols)
        target = f" ({', '.join(_quote(c) for c in parent_cols)})" if parent_cols else ""
        parts.append(
            f"FOREIGN KEY ({', '.join(_quote(c) for c in child_cols)}) REFERENCES {_quote(parent)}{target}"
        )
    return f"CREATE TABLE {_quote(table)} (\n    " + ",\n    ".join(parts) + "\n)"


def _import(reader: _Reader, entries: list[_Entry], notes: list[str]):
    """Parse the table DDL with the SQL import; a table it rejects is rebuilt from the
    catalogue, then skipped if still rejected. Returns ``(ParsedSchema, ddl)``."""
    known: dict[str, set[str]] = {}
    for e in entries:
        known[e.name] = {c[1] for c in reader.query(f"PRAGMA table_xinfo({_quote(e.name)})")}
    while entries:
        lines: list[int] = []
        line = 1
        for e in entries:
            lines.append(line)
            line += e.sql.count("\n") + 1
        ddl = ";\n".join(e.sql for e in entries) + ";"
        try:
            return parse_schema(ddl, "sqlite"), ddl
        except SQLSchemaError as exc:
            found = re.search(r"line (\d+)", str(exc))
            at = int(found.group(1)) if found else None
            idx = max((i for i, start in enumerate(lines) if at is not None and start <= at), default=None)
            if idx is None:
                raise RealDatabaseError(f"{reader.what}: the schema could not be imported: {exc}") from None
            bad = entries[idx]
            reason = _short(str(exc).split("): ", 1)[-1], 120)
            if not bad.rebuilt:
                notes.append(
                    f"table {bad.name!r}: the SQL import rejected its definition ({reason}); "
                    "rebuilt from SQLite's catalogue"
                )
                # an FK to a table already skipped is dropped like one to a missing table
                live = {e.name: known[e.name] for e in entries}
                entries[idx] = _Entry(bad.name, _rebuild(reader, bad.name, live, notes), rebuilt=True)
            else:
                notes.append(f"table {bad.name!r}: skipped, the SQL import rejects it ({reason})")
                del entries[idx]
                for i, e in enumerate(entries):  # FKs to it must go as well
                    if _references(reader, e.name, bad.name):
                        live = {x.name: known[x.name] for x in entries}
                        entries[i] = _Entry(e.name, _rebuild(reader, e.name, live, notes), rebuilt=True)
    raise RealDatabaseError(f"{reader.what}: no table could be imported")


def _references(reader: _Reader, table: str, parent: str) -> bool:
    return any(r[2] == parent for r in reader.query(f"PRAGMA foreign_key_list({_quote(table)})"))


# -- data --------------------------------------------------------------------------------


def _numbers(s: pd.Series) -> tuple[pd.Series, int]:
    """Float values; the count of non-missing values that were not numbers."""
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    return out, int(s.notna().sum() - out.notna().sum())


def _dates(s: pd.Series) -> tuple[pd.Series, int]:
    present = s.dropna()
    if len(present) and all(isinstance(v, (int, float)) for v in present[:100]):
        out = pd.to_datetime(pd.to_numeric(s, errors="coerce"), unit="s", errors="coerce")
    else:
        text = s.map(_as_text, na_action="ignore")
        out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        if out.notna().sum() < s.notna().sum():
            out = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
        out = out.dt.tz_localize(None)
    out = out.astype("datetime64[ns]")
    return out, int(s.notna().sum() - out.notna().sum())


def _as_text(v: object) -> str:
    if isinstance(v, str):
        return v
    return v.hex() if isinstance(v, bytes) else str(v)


def _keys(s: pd.Series) -> pd.Series:
    """Key values as integers when they all are (nullable if some are NULL), else as read."""
    present = s.dropna()
    if len(present) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in present):
        try:
            return s.astype("int64") if len(present) == len(s) else s.astype("Int64")
        except (OverflowError, TypeError, ValueError):
            return s
    if len(present) == 0 and len(s):
        return s.astype("Int64")
    return s


def _convert(df: pd.DataFrame, spec, notes: list[str]) -> pd.DataFrame:
    kinds = {c.name: c.kind for c in spec.columns}
    keys = {c for fk in spec.foreign_keys for c in fk.columns} | {c.name for c in spec.key_columns}
    if spec.pkey_col:
        keys.add(spec.pkey_col)
    out = {}
    for col in df.columns:
        s = df[col]
        if col in keys:
            out[col] = _keys(s)
            continue
        kind = "date" if col == spec.time_col else kinds.get(col, "text")
        bad = 0
        if kind == "numerical":
            s, bad = _numbers(s)
        elif kind == "boolean":
            num, bad = _numbers(s)
            if num.dropna().isin([0.0, 1.0]).all():
                s = num.astype("boolean") if num.isna().any() else num.astype(bool)
            else:
                s = num
        elif kind == "date":
            s, bad = _dates(s)
        else:
            s = s.map(_as_text, na_action="ignore").astype(object)
        if bad:
            notes.append(
                f"table {spec.name!r}: column {col!r} ({kind}) has {bad:,} value(s) that are not "
                f"{'dates' if kind == 'date' else 'numbers'}; counted as missing"
            )
        out[col] = s
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _fk_notes(db: Database, notes: list[str]) -> None:
    for child, fk in db.schema.foreign_keys():
        label = f"FK {child}({', '.join(fk.columns)}) → {fk.parent}"
        cdf = db.tables[child].df
        if len(cdf) == 0:
            continue
        null = int(cdf[list(fk.columns)].isna().any(axis=1).sum())
        pos = fk_parent_positions(db, child, fk)
        if pos is None:
            notes.append(f"{label}: the parent key is not unique; left out of the FK statistics")
            continue
        dangling = int((pos < 0).sum()) - null
        if null:
            notes.append(f"{label}: {null:,} of {len(cdf):,} rows are NULL")
        if dangling:
            notes.append(
                f"{label}: {dangling:,} row(s) reference no row of {fk.parent!r} (dangling); "
                "counted as referencing nothing"
            )


def _window(schema: Schema, tables: dict[str, Table]) -> Schema:
    """The time window spanned by the data's dates (the priors' window if there are none)."""
    lo, hi = None, None
    for t in tables.values():
        for col in t.df.columns:
            s = t.df[col]
            if pd.api.types.is_datetime64_any_dtype(s.dtype) and s.notna().any():
                lo = s.min() if lo is None else min(lo, s.min())
                hi = s.max() if hi is None else max(hi, s.max())
    if lo is None or hi is None or not hi > lo:
        return schema
    span = hi - lo
    cfg = Config().schema
    val = lo + span * (1 - cfg.val_frac - cfg.test_frac)
    test = lo + span * (1 - cfg.test_frac)
    return replace(schema, t0=lo, t1=hi, val_timestamp=val, test_timestamp=test)


# -- entry points ------------------------------------------------------------------------


def read_sqlite(
    path: str | os.PathLike,
    *,
    name: str | None = None,
    max_cells: int = MAX_CELLS,
    max_seconds: float = MAX_READ_SECONDS,
) -> RealDatabase:
    """Read the SQLite file at ``path`` (see the module docstring for the safeguards).

    ``name`` names the file in messages (default: its file name). Raises
    :class:`RealDatabaseError` for anything that is not a readable SQLite database within
    the limits.
    """
    path = Path(path)
    what = repr(name or path.name)
    if not path.is_file():
        raise RealDatabaseError(f"{what} is not a readable file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RealDatabaseError(f"{what} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes")
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise RealDatabaseError(f"{what}: cannot read it: {exc}") from None
    check_sqlite_header(head, what)
    reader = _Reader(path, what, max_seconds)
    try:
        return _read(reader, name or path.name, max_cells)
    finally:
        reader.close()


def read_sqlite_bytes(data: bytes, name: str, **kwargs) -> RealDatabase:
    """:func:`read_sqlite` for file contents held in memory (an upload): written to a private
    temporary file that is removed afterwards."""
    if len(data) > MAX_FILE_BYTES:
        raise RealDatabaseError(f"{name!r} is {len(data):,} bytes; the limit is {MAX_FILE_BYTES:,} bytes")
    check_sqlite_header(data[:100], repr(name))
    fd, tmp = tempfile.mkstemp(prefix="plurel-real-", suffix=".sqlite")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return read_sqlite(tmp, name=name, **kwargs)
    finally:
        os.unlink(tmp)


def _shadow_tables(reader: _Reader, master: list[tuple]) -> set[str]:
    """Tables that hold a virtual table's data (``PRAGMA table_list`` type ``shadow``; on an
    older SQLite, tables named ``<virtual table>_…``)."""
    try:
        return {r[1] for r in reader.query("PRAGMA table_list") if r[0] == "main" and r[2] == "shadow"}
    except RealDatabaseError:
        virtual = [
            o
            for k, o, sql in master
            if k == "table" and sql and sql.lstrip().upper().startswith("CREATE VIRTUAL")
        ]
        return {o for k, o, _ in master if k == "table" and any(o.startswith(v + "_") for v in virtual)}


def _reason(exc: RealDatabaseError) -> str:
    """SQLite's own words in a "could not read it" error."""
    return _short(str(exc).split("SQLite could not read it: ", 1)[-1], 80)


def _read(reader: _Reader, name: str, max_cells: int) -> RealDatabase:
    what = reader.what
    notes: list[str] = []
    try:
        problems = reader.query("PRAGMA quick_check(5)")
    except RealDatabaseError as exc:
        if not str(exc).startswith(f"{what}: SQLite could not read it"):
            raise
        # e.g. an index on a collation this SQLite lacks; a damaged page still fails the reads
        notes.append(f"integrity check not run ({_reason(exc)})")
        problems = [("ok",)]
    if [r[0] for r in problems] != ["ok"]:
        shown = "; ".join(_short(str(r[0]), 80) for r in problems[:3])
        raise RealDatabaseError(f"{what} is corrupt: {shown}")
    master = reader.query("SELECT type, name, sql FROM sqlite_master ORDER BY rowid")
    entries: list[_Entry] = []
    shadows = _shadow_tables(reader, master)
    for kind, obj, sql in master:
        if kind in ("view", "trigger"):
            notes.append(f"{kind} {obj!r}: skipped (never run)")
        elif kind != "table":
            continue  # indexes: uniqueness comes from the table definitions
        elif obj.lower().startswith("sqlite_"):
            notes.append(f"table {obj!r}: SQLite's internal table; skipped")
        elif sql is None or sql.lstrip().upper().startswith("CREATE VIRTUAL"):
            notes.append(f"table {obj!r}: a virtual table; skipped (its module is not run)")
        elif obj in shadows:
            notes.append(f"table {obj!r}: stores a virtual table's data; skipped")
        else:
            entries.append(_Entry(obj, sql.strip().rstrip(";")))
    if not entries:
        raise RealDatabaseError(f"{what} has no tables to compare")
    if len(entries) > MAX_TABLES:
        raise RealDatabaseError(f"{what} holds {len(entries)} tables; the limit is {MAX_TABLES}")
    parsed, ddl = _import(reader, entries, notes)

    counts = {
        t.name: int(reader.query(f"SELECT count(*) FROM {_quote(t.name)}")[0][0]) for t in parsed.tables
    }  # noqa: S608
    cells = sum(counts[t.name] * len(t.columns) for t in parsed.tables)
    if cells > max_cells:
        raise RealDatabaseError(f"{what} holds {cells:,} cells; the limit is {max_cells:,}")

    values: dict[str, list[tuple]] = {}
    for t in parsed.tables:
        select = ", ".join(_quote(c.name) for c in t.columns)
        try:
            values[t.name] = reader.query(f"SELECT {select} FROM {_quote(t.name)}")  # noqa: S608
        except RealDatabaseError as exc:
            if not str(exc).startswith(f"{what}: SQLite could not read it"):
                raise  # corrupt, or out of time: the whole file
            # e.g. a collation or function the file's schema names but this SQLite lacks
            notes.append(f"table {t.name!r}: skipped, SQLite cannot read its rows ({_reason(exc)})")
    if len(values) < len(parsed.tables):
        entries[:] = [e for e in entries if e.name in values]
        if not entries:
            raise RealDatabaseError(f"{what}: SQLite cannot read the rows of any table")
        parsed, ddl = _import(reader, entries, notes)

    schema = schema_from_sql(ddl, Config().schema, 0, dialect="sqlite")
    tables: dict[str, Table] = {}
    for t in parsed.tables:
        spec = schema.tables[t.name]
        names = [c.name for c in t.columns]
        rows = values[t.name]
        # object columns: SQLite's values as they are (ints stay ints next to NULLs)
        raw = pd.DataFrame(rows, columns=names, dtype=object) if rows else pd.DataFrame(columns=names)
        df = _convert(raw, spec, notes)
        if len(df) == 0:
            notes.append(f"table {t.name!r}: empty")
        if not t.primary_key:
            notes.append(f"table {t.name!r}: no primary key")
        elif spec.pkey_col and (df[spec.pkey_col].isna().any() or not df[spec.pkey_col].is_unique):
            notes.append(f"table {t.name!r}: primary key {spec.pkey_col!r} has NULL or repeated values")
        columns = {c.name: c for c in spec.columns}
        for col, s in df.items():
            if col in columns and columns[col].kind in ("text", "categorical"):
                columns[col] = replace(columns[col], num_categories=int(s.nunique()))
        spec = replace(spec, num_rows=len(df), columns=tuple(columns[c.name] for c in spec.columns))
        schema.tables[t.name] = spec
        schema.graph.nodes[t.name]["num_rows"] = len(df)
        fk_map = {
            fk.columns[0]: fk.parent
            for fk in spec.foreign_keys
            if len(fk.columns) == 1 and fk.parent_columns[0] == schema.tables[fk.parent].pkey_col
        }
        tables[t.name] = Table(t.name, df, spec.pkey_col, fk_map, spec.time_col, spec.kind)
    schema = _window(schema, tables)
    trace = Trace(schema_graph=schema.graph, layout="sql", hsbm={}, scm={})
    db = Database(tables, schema.val_timestamp, schema.test_timestamp, trace, schema, seed=0)
    _fk_notes(db, notes)
    return RealDatabase(name=name, db=db, ddl=ddl, notes=tuple(notes))


def describe_notes(real: RealDatabase) -> str:
    """The notes as plain text lines (for the command line)."""
    return "\n".join(f"- {n}" for n in real.notes) if real.notes else "(nothing to note)"
