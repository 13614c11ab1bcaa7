"""In-memory downloads of a database through :mod:`plurel_core.export`."""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from pathlib import Path

from plurel_core import export
from plurel_core.config import Config
from plurel_core.database import Database

__all__ = ["DOWNLOADS", "download_bytes", "file_stem"]

# format → (button label, file suffix, MIME type, help)
DOWNLOADS: dict[str, tuple[str, str, str, str]] = {
    "sqlite": (
        "SQLite database",
        ".sqlite",
        "application/vnd.sqlite3",
        "One file with primary keys, foreign keys and column types declared.",
    ),
    "parquet": ("Parquet (zip)", "_parquet.zip", "application/zip", "One <table>.parquet per table, zipped."),
    "csv": (
        "CSV (zip)",
        "_csv.zip",
        "application/zip",
        "One <table>.csv per table plus schema.json, zipped.",
    ),
    "ddl": (
        "DDL (CREATE TABLE)",
        ".sql",
        "application/sql",
        "The CREATE TABLE statements of the SQLite file.",
    ),
    "relbench": (
        "RelBench folder (zip)",
        "_relbench.zip",
        "application/zip",
        "Parquet files with RelBench table metadata plus plurel.json (config bundle, val/test cut-offs).",
    ),
}


def _zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return buf.getvalue()


def download_bytes(
    db: Database, fmt: str, config: Config | None = None, schema_sql: str | None = None
) -> bytes:
    """The file a download button serves for ``fmt`` (folders are zipped)."""
    if fmt not in DOWNLOADS:
        raise ValueError(f"format: got {fmt!r}; allowed: {sorted(DOWNLOADS)}")
    with tempfile.TemporaryDirectory(prefix="plurel-export-") as tmp:
        target = Path(tmp) / "out"
        path = export.export(db, fmt, target, config=config, schema_sql=schema_sql)
        return _zip_folder(path) if path.is_dir() else path.read_bytes()


def file_stem(config: Config, seed: int, schema_sql: str | None = None) -> str:
    """``plurel_seed<seed>_<hash>``: the seed plus 8 hex digits of the priors (and SQL schema).

    Downloads of the same seed under different priors get different names, and the same
    priors and seed always the same name.
    """
    digest = hashlib.sha256(config.to_json().encode())
    if schema_sql:
        digest.update(b"\0" + schema_sql.encode())
    return f"plurel_seed{int(seed)}_{digest.hexdigest()[:8]}"
