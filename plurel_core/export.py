"""Writing a generated :class:`~plurel_core.database.Database` to disk, and reading it back.

Formats (``FORMATS``):

- ``sqlite``: one SQLite file with declared ``PRIMARY KEY``, ``UNIQUE`` and
  ``FOREIGN KEY ... REFERENCES`` constraints and column types (BIGINT, REAL, BOOLEAN,
  TIMESTAMP as ``YYYY-MM-DD HH:MM:SS`` text, TEXT; integers as BIGINT so no key becomes a rowid alias and rows keep their order). Tables are inserted parents first inside
  one transaction with ``PRAGMA foreign_keys=ON``; FKs sampled after both tables exist
  (``deferred``, cycle breakers) and self-references are ``DEFERRABLE INITIALLY DEFERRED``.
  ``PRAGMA foreign_key_check`` is run before the file is kept.
- ``parquet``: a folder with one ``<table>.parquet`` per table.

Columns declared NOT NULL (keys, the columns of FKs that are not nullable, and feature
columns a SQL schema declares NOT NULL) stay so in every format: ``NOT NULL`` in the DDL (``sqlite``, ``ddl``), non-nullable fields in the
Parquet schemas (``parquet``, ``relbench``), a ``not_null`` list per table in ``schema.json``
(``csv``).
- ``csv``: a zip with one ``<table>.csv`` per table plus ``schema.json`` (column dtypes,
  keys, time columns) so the tables read back with their types.
- ``ddl``: the ``CREATE TABLE`` statements alone (what the ``sqlite`` file declares).
- ``relbench``: a folder readable by RelBench's ``Database.load``: one ``<table>.parquet``
  per table whose Parquet schema metadata holds ``pkey_col``, ``fkey_col_to_pkey_table`` and
  ``time_col``, each ``json.dumps``-encoded UTF-8 bytes (as RelBench's ``Table.save``
  writes them), plus ``plurel.json``: the config bundle (config + seed [+ SQL schema]) that
  regenerates the same database, and the val/test timestamps.

Every writer is all-or-nothing: it writes under a temporary name in the destination's
directory and moves the result into place with ``os.replace``; on any error the temporary
file or folder is removed and an existing destination is left untouched. Nothing that is
not ours is replaced unless ``force`` is given: a folder is replaced only when it holds
nothing but a previous export (``*.parquet``, ``plurel.json``), a file only when it is a
regular file (:func:`check_destination`). Outputs get the permissions the umask gives.

Table names become file names unchanged except for path separators, NUL and a leading dot
(replaced by ``_``); clashes get a ``_2``, ``_3``... suffix. ``schema.json`` / ``plurel.json``
record the mapping.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .config import Config, load_json, short_repr
from .database import Database
from .errors import ConfigError, UsageError
from .generate import generate

__all__ = [
    "FORMATS",
    "BUNDLE_FORMAT",
    "DIRECTORY_FORMATS",
    "check_destination",
    "remove_partial_outputs",
    "export",
    "write_sqlite",
    "write_parquet",
    "write_csv_zip",
    "write_ddl",
    "write_relbench",
    "ddl",
    "config_bundle",
    "load_bundle",
    "regenerate",
    "read_sqlite",
    "read_parquet",
    "read_csv_zip",
    "read_relbench",
    "RELBENCH_KEYS",
]

BUNDLE_FORMAT = "plurel-config-bundle"
RELBENCH_KEYS = ("fkey_col_to_pkey_table", "pkey_col", "time_col")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


# --------------------------------------------------------------------------------------
# all-or-nothing writes


DIRECTORY_FORMATS = frozenset({"parquet", "relbench"})
# what a previous parquet / relbench export holds: replacing such a folder loses nothing else
_EXPORT_FILES = (".parquet",)
_EXPORT_NAMES = ("plurel.json",)


def _quote(path: object) -> str:
    return short_repr(str(path))


def _process_umask() -> int:
    """The process's umask, read without changing it (``os.umask`` sets it, which other
    threads would see)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _is_previous_export(folder: Path) -> bool:
    """Whether ``folder`` holds nothing but what a parquet or relbench export writes."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                return False
            if not (entry.name.endswith(_EXPORT_FILES) or entry.name in _EXPORT_NAMES):
                return False
    return True


def check_destination(path: str | os.PathLike, directory: bool, force: bool = False) -> Path:
    """``path`` if an export may write there, else ``UsageError`` (a ``ValueError``) saying why.

    Refused unless ``force``: a folder holding anything but a previous parquet / relbench
    export, and anything that is neither a regular file nor a folder (a device, FIFO,
    socket or symbolic link). Always refused: a path naming no new entry (``.``, ``..``),
    a name longer than the file system allows, the wrong kind (a folder for a file format
    or the reverse) and a folder this process cannot create files in.
    """
    dest = Path(path)
    if dest.name in ("", ".", ".."):
        raise UsageError(
            f"out: {_quote(path)} names no file or folder to create; add a name, e.g. {_quote(dest / 'db')}"
        )
    parent = dest.parent if str(dest.parent) else Path(".")
    try:
        name_max = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if len(os.fsencode(dest.name)) > name_max:
        raise UsageError(f"out: the name {_quote(dest.name)} is longer than {name_max} bytes")
    try:
        info = os.lstat(dest)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"out: cannot use {_quote(path)}: {exc.strerror}") from None
    if info is None and not parent.is_dir():
        raise UsageError(f"out: the folder {_quote(parent)} does not exist")
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            if not directory:
                raise UsageError(f"out: {_quote(path)} is a folder; expected a file name")
            if not force and not _is_previous_export(dest):
                raise UsageError(
                    f"out: {_quote(path)} is a folder holding other files than a previous export "
                    "(*.parquet, plurel.json); choose a new or empty folder, or pass --force to replace it"
                )
        elif stat.S_ISREG(info.st_mode):
            if directory:
                raise UsageError(f"out: {_quote(path)} exists and is not a folder")
        elif not force:
            raise UsageError(
                f"out: {_quote(path)} is not a regular file or folder (a device, FIFO, socket or "
                "symbolic link); choose another path, or pass --force to replace it"
            )
    try:  # can a file be created beside it (read-only file systems, /proc, permissions)?
        fd, probe = tempfile.mkstemp(prefix=".plurel.", suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"out: cannot write in the folder {_quote(parent)}: {exc.strerror}") from None
    return dest


@contextlib.contextmanager
def _atomic(path: str | os.PathLike, directory: bool, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` only on success.

    ``path`` is checked first (:func:`check_destination`). The result gets the permissions
    the umask gives a new file or folder (the temporary one was private to this process).
    """
    dest = check_destination(path, directory, force)
    parent = dest.parent if str(dest.parent) else Path(".")
    prefix = f".{dest.name[:64]}."
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
        os.close(fd)
        os.unlink(name)  # writers create it themselves (sqlite wants a fresh file)
        tmp = Path(name)
    _pending.add(tmp)
    try:
        yield tmp
        mode = (0o777 if directory else 0o666) & ~_process_umask()
        os.chmod(tmp, mode)
        if directory and os.path.lexists(dest):
            old = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=parent))
            try:
                os.replace(dest, old / "x")
                os.replace(tmp, dest)
            finally:
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        remove_partial(tmp)
        raise
    finally:
        _pending.discard(tmp)


# temporary outputs being written, removed by remove_partial_outputs (e.g. on SIGTERM)
_pending: set[Path] = set()


def remove_partial(tmp: Path) -> None:
    """Remove a temporary output and what SQLite writes beside it (``-journal``, ``-wal``)."""
    if tmp.is_dir() and not tmp.is_symlink():
        shutil.rmtree(tmp, ignore_errors=True)
    for p in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        with contextlib.suppress(OSError):
            if p.is_file() or p.is_symlink():
                p.unlink()


def remove_partial_outputs() -> None:
    """Remove every temporary output still being written (for signal handlers)."""
    for tmp in list(_pending):
        remove_partial(tmp)


def _file_stems(names: list[str]) -> dict[str, str]:
    """A safe, unique file stem per table name."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        stem = name.replace("/", "_").replace("\\", "_").replace("\0", "_") or "_"
        if stem.startswith("."):
            stem = "_" + stem[1:]
        base, k = stem, 2
        while stem.lower() in used:
            stem, k = f"{base}_{k}", k + 1
        used.add(stem.lower())
        out[name] = stem
    return out


# --------------------------------------------------------------------------------------
# DDL


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(dtype: Any) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "BIGINT"  # integer affinity, but never a rowid alias: rows keep their order
    if pd.api.types.is_float_dtype(dtype):
        return "REAL"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "TIMESTAMP"
    return "TEXT"


def _keys(db: Database, name: str) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """``(primary key, UNIQUE groups)`` declared for one table."""
    table = db.tables[name]
    spec = db.schema.tables.get(name)
    node = db.schema.graph.nodes[name] if name in db.schema.graph else {}
    cols = set(table.df.columns)
    pk = tuple(node.get("primary_key") or ((table.pkey_col,) if table.pkey_col else ()))
    if not set(pk) <= cols:
        pk = ()
    groups: list[tuple[str, ...]] = list(node.get("unique") or ())
    if spec is not None:
        groups += list(spec.unique_groups)
        groups += [fk.columns for fk in spec.foreign_keys if fk.one_to_one]
    # every referenced column set must be a key of its table for SQLite
    for child in db.schema.tables.values():
        for fk in child.foreign_keys:
            if fk.parent == name:
                groups.append(tuple(fk.parent_columns))
    unique: list[tuple[str, ...]] = []
    seen = {frozenset(pk)}
    for g in groups:
        if g and set(g) <= cols and frozenset(g) not in seen:
            seen.add(frozenset(g))
            unique.append(tuple(g))
    return pk, unique


def _not_null(db: Database, name: str) -> set[str]:
    """Columns declared NOT NULL: key columns, the columns of every FK that is not nullable
    and the feature columns a SQL schema declares NOT NULL."""
    table = db.tables[name]
    spec = db.schema.tables.get(name)
    cols = set(_keys(db, name)[0])
    if spec is not None:
        cols |= {c.name for c in spec.key_columns}
        cols |= {c.name for c in spec.columns if not c.nullable}
        cols |= {c for fk in spec.foreign_keys if not fk.nullable for c in fk.columns}
    return {c for c in cols if c in table.df.columns and not table.df[c].isna().any()}


def _arrow(db: Database, name: str) -> pa.Table:
    """A table as Arrow, its NOT NULL columns (:func:`_not_null`) as non-nullable fields."""
    arrow = pa.Table.from_pandas(db.tables[name].df, preserve_index=False)
    required = _not_null(db, name)
    if required:
        fields = [f.with_nullable(False) if f.name in required else f for f in arrow.schema]
        arrow = arrow.cast(pa.schema(fields, metadata=arrow.schema.metadata))
    return arrow


def _deferrable(db: Database, child: str, fk: Any) -> bool:
    return bool(fk.deferred or fk.parent == child)


def ddl(db: Database) -> str:
    """``CREATE TABLE`` statements (SQLite) for every table, parents first."""
    parts = []
    for name, table in db.tables.items():
        pk, unique = _keys(db, name)
        required = _not_null(db, name)
        lines = []
        for col in table.df.columns:
            not_null = " NOT NULL" if col in pk or col in required else ""
            lines.append(f"  {_q(col)} {_sql_type(table.df[col].dtype)}{not_null}")
        if pk:
            lines.append(f"  PRIMARY KEY ({', '.join(_q(c) for c in pk)})")
        for g in unique:
            lines.append(f"  UNIQUE ({', '.join(_q(c) for c in g)})")
        spec = db.schema.tables.get(name)
        for fk in spec.foreign_keys if spec is not None else ():
            if not set(fk.columns) <= set(table.df.columns):
                continue
            tail = " DEFERRABLE INITIALLY DEFERRED" if _deferrable(db, name, fk) else ""
            lines.append(
                f"  FOREIGN KEY ({', '.join(_q(c) for c in fk.columns)}) REFERENCES {_q(fk.parent)} "
                f"({', '.join(_q(c) for c in fk.parent_columns)}){tail}"
            )
        parts.append(f"CREATE TABLE {_q(name)} (\n" + ",\n".join(lines) + "\n);\n")
    return "\n".join(parts)


def write_ddl(db: Database, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write :func:`ddl` to ``path``."""
    with _atomic(path, directory=False, force=force) as tmp:
        tmp.write_text(ddl(db), encoding="utf-8")
    return Path(path)


# --------------------------------------------------------------------------------------
# SQLite


def _sqlite_column(s: pd.Series) -> list:
    """Python values SQLite stores natively; missing values become None."""
    missing = s.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s.dt.strftime(TIME_FORMAT).astype(object).to_numpy()
    elif pd.api.types.is_bool_dtype(s.dtype):
        values = s.astype(object).to_numpy()
        values = np.array(
            [int(v) if v is not None and v is not pd.NA else None for v in values], dtype=object
        )
    elif pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype):
        values = s.astype(object).to_numpy()
    else:
        values = s.astype(object).to_numpy()
    values = values.astype(object)
    values[missing] = None
    return values.tolist()


def write_sqlite(db: Database, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write a SQLite file with declared keys; raises if any FK check fails."""
    with _atomic(path, directory=False, force=force) as tmp:
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA foreign_keys=ON")
            con.executescript(ddl(db))
            con.execute("BEGIN")
            for name, table in db.tables.items():
                cols = list(table.df.columns)
                data = zip(*(_sqlite_column(table.df[c]) for c in cols), strict=True) if cols else iter(())
                sql = f"INSERT INTO {_q(name)} ({', '.join(_q(c) for c in cols)}) VALUES ({', '.join('?' * len(cols))})"
                con.executemany(sql, data)
            con.execute("COMMIT")
            problems = con.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise ValueError(f"foreign key check failed for {len(problems)} row(s), e.g. {problems[:3]}")
        finally:
            con.close()
    return Path(path)


def read_sqlite(path: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Tables of a file written by :func:`write_sqlite`, with dtypes restored from the DDL."""
    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        names = [
            r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")
        ]
        out = {}
        for name in names:
            info = con.execute(f"PRAGMA table_info({_q(name)})").fetchall()
            df = pd.read_sql_query(f"SELECT * FROM {_q(name)} ORDER BY rowid", con)
            for _, col, typ, *_ in info:
                s = df[col]
                if typ == "TIMESTAMP":
                    df[col] = pd.to_datetime(s, format=TIME_FORMAT).astype("datetime64[s]")
                elif typ == "BOOLEAN":
                    df[col] = s.astype("boolean") if s.isna().any() else s.astype(bool)
                elif typ == "BIGINT":
                    df[col] = s.astype("Int64") if s.isna().any() else s.astype(np.int64)
                elif typ == "REAL":
                    df[col] = s.astype(np.float64)
            out[name] = df
        return out
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# Parquet, CSV, RelBench


def write_parquet(db: Database, path: str | os.PathLike, *, force: bool = False) -> Path:
    """A folder with one ``<table>.parquet`` per table."""
    stems = _file_stems(list(db.tables))
    with _atomic(path, directory=True, force=force) as tmp:
        for name in db.tables:
            pq.write_table(_arrow(db, name), tmp / f"{stems[name]}.parquet")
    return Path(path)


def read_parquet(path: str | os.PathLike) -> dict[str, pd.DataFrame]:
    return {p.stem: pq.read_table(p).to_pandas() for p in sorted(Path(path).glob("*.parquet"))}


def _table_meta(db: Database, stems: dict[str, str]) -> dict[str, Any]:
    return {
        name: {
            "file": stems[name],
            "pkey_col": t.pkey_col,
            "fkey_col_to_pkey_table": t.fkey_col_to_pkey_table,
            "time_col": t.time_col,
            "kind": t.kind,
            "dtypes": {c: str(t.df[c].dtype) for c in t.df.columns},
            "not_null": [c for c in t.df.columns if c in _not_null(db, name)],
        }
        for name, t in db.tables.items()
    }


def write_csv_zip(db: Database, path: str | os.PathLike, *, force: bool = False) -> Path:
    """A zip with ``<table>.csv`` per table and ``schema.json`` (dtypes, keys)."""
    stems = _file_stems(list(db.tables))
    with (
        _atomic(path, directory=False, force=force) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        for name, table in db.tables.items():
            buf = io.StringIO()
            table.df.to_csv(buf, index=False, date_format=TIME_FORMAT)
            zf.writestr(f"{stems[name]}.csv", buf.getvalue())
        zf.writestr("schema.json", json.dumps({"tables": _table_meta(db, stems)}, indent=2))
    return Path(path)


def read_csv_zip(path: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Tables of a zip written by :func:`write_csv_zip`, dtypes restored from ``schema.json``."""
    out = {}
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("schema.json"))["tables"]
        for name, m in meta.items():
            text = zf.read(f"{m['file']}.csv").decode("utf-8")
            dtypes = m["dtypes"]
            dates = [c for c, d in dtypes.items() if d.startswith("datetime64")]
            others = {c: d for c, d in dtypes.items() if c not in dates}
            others = {c: ("str" if d in ("str", "string", "object") else d) for c, d in others.items()}
            df = pd.read_csv(io.StringIO(text), dtype=others, keep_default_na=True)
            for c in dates:
                df[c] = pd.to_datetime(df[c], format=TIME_FORMAT).astype(dtypes[c])
            out[name] = df[list(dtypes)]
    return out


def write_relbench(
    db: Database,
    path: str | os.PathLike,
    config: Config | None = None,
    schema_sql: str | None = None,
    *,
    force: bool = False,
) -> Path:
    """A RelBench ``Database.save``-style folder plus ``plurel.json`` (config bundle)."""
    stems = _file_stems(list(db.tables))
    with _atomic(path, directory=True, force=force) as tmp:
        for name, table in db.tables.items():
            arrow = _arrow(db, name)
            meta = {
                "fkey_col_to_pkey_table": table.fkey_col_to_pkey_table,
                "pkey_col": table.pkey_col,
                "time_col": table.time_col,
            }
            encoded = {k.encode("utf-8"): json.dumps(v).encode("utf-8") for k, v in meta.items()}
            arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **encoded})
            pq.write_table(arrow, tmp / f"{stems[name]}.parquet")
        info: dict[str, Any] = {
            "val_timestamp": str(db.val_timestamp),
            "test_timestamp": str(db.test_timestamp),
            "tables": {name: stems[name] for name in db.tables},
        }
        if config is not None:
            info["bundle"] = json.loads(config_bundle(config, db.seed, schema_sql))
        (tmp / "plurel.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return Path(path)


def read_relbench(path: str | os.PathLike) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """``{file stem: (df, metadata)}`` read the way RelBench's ``Table.load`` does."""
    out = {}
    for p in sorted(Path(path).glob("*.parquet")):
        table = pq.read_table(p)
        meta = {
            k.decode("utf-8"): json.loads(v.decode("utf-8"))
            for k, v in table.schema.metadata.items()
            if k in [key.encode("utf-8") for key in RELBENCH_KEYS]
        }
        out[p.stem] = (table.to_pandas(), meta)
    return out


# --------------------------------------------------------------------------------------
# config bundle


def config_bundle(config: Config, seed: int, schema_sql: str | None = None) -> str:
    """JSON text from which :func:`regenerate` rebuilds exactly the same database."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: got {seed!r}; expected a non-negative integer")
    if schema_sql is not None and not isinstance(schema_sql, str):
        raise ValueError(f"schema_sql: got {type(schema_sql).__name__}; expected text or None")
    return json.dumps(
        {
            "format": BUNDLE_FORMAT,
            "version": 1,
            "plurel_version": __version__,
            "seed": int(seed),
            "config": config.to_dict(),
            "schema_sql": schema_sql,
        },
        indent=2,
    )


def load_bundle(text: str) -> tuple[Config, int, str | None]:
    """Read a config bundle: a user's file, so every problem is a :class:`ConfigError`.

    Parameters
    ----------
    text : str
        JSON text as written by :func:`config_bundle`.

    Returns
    -------
    tuple
        ``(config, seed, schema_sql)``; the config validated, ``schema_sql`` None when the
        schema is sampled.

    Raises
    ------
    ConfigError
        Text that is not such a bundle, naming the bad field (``format``, ``seed``,
        ``schema_sql``, ``config``) and every invalid prior of the config at once.
    """
    data = load_json(text, "bundle")
    if not isinstance(data, dict):
        raise ConfigError(
            [("bundle", f"got {type(data).__name__}; expected an object with format {BUNDLE_FORMAT!r}")]
        )
    if data.get("format") != BUNDLE_FORMAT:
        got = f"got {short_repr(data['format'])}" if "format" in data else "missing"
        raise ConfigError([("format", f"{got}; expected {BUNDLE_FORMAT!r}")])
    errors: list[tuple[str, str]] = []
    seed = data.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        got = f"got {short_repr(seed)}" if "seed" in data else "missing"
        errors.append(("seed", f"{got}; expected a non-negative integer"))
    sql = data.get("schema_sql")
    if sql is not None and not isinstance(sql, str):
        errors.append(("schema_sql", f"got {type(sql).__name__}; expected text or null"))
    priors = data.get("config", {})
    config = Config()
    if not isinstance(priors, dict):
        errors.append(("config", f"got {type(priors).__name__}; expected an object with sections"))
    else:
        try:
            config = Config.from_dict(priors)
        except ConfigError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ConfigError(errors)
    return config, seed, sql


def regenerate(text: str) -> Database:
    """The database a :func:`config_bundle` describes."""
    config, seed, sql = load_bundle(text)
    config = config.validate()
    schema = None
    if sql is not None:
        from .sql import schema_from_sql  # sqlglot is loaded only for a bundle that holds SQL

        schema = schema_from_sql(sql, config.schema, seed)
    return generate(config, seed, schema=schema)


# --------------------------------------------------------------------------------------
# dispatch

FORMATS: dict[str, Callable[..., Path]] = {
    "sqlite": write_sqlite,
    "parquet": write_parquet,
    "csv": write_csv_zip,
    "ddl": write_ddl,
    "relbench": write_relbench,
}


def export(
    db: Database,
    fmt: str,
    path: str | os.PathLike,
    *,
    config: Config | None = None,
    schema_sql: str | None = None,
    force: bool = False,
) -> Path:
    """Write ``db`` in format ``fmt`` (one of ``FORMATS``) to ``path``.

    ``force``: replace whatever ``path`` is (see :func:`check_destination`)."""
    if fmt not in FORMATS:
        raise UsageError(f"format: got {short_repr(fmt)}; allowed: {sorted(FORMATS)}")
    if fmt == "relbench":
        return write_relbench(db, path, config=config, schema_sql=schema_sql, force=force)
    return FORMATS[fmt](db, path, force=force)
