"""Corpora: many databases from one set of priors, generated on a Dask cluster.

The paper pretrains on up to 1,024 synthetic databases; :func:`generate_corpus` produces
such a corpus with ``dask.distributed``, on a local cluster of worker processes by default
or on an existing cluster given its scheduler address.

Layout of a corpus directory ``DIR``::

    DIR/<name>-<seed>/      one database per seed, written by the worker that generated it:
                            parquet: <table>.parquet files; relbench: the same plus
                            plurel.json (the bundle that regenerates it); sqlite: one
                            file <name>-<seed>.sqlite
    DIR/manifest.jsonl      one JSON line per finished (or failed) database

Guarantees:

- **Determinism.** The files of ``<name>-<seed>`` are byte-identical to what
  ``python -m plurel_core generate --seed <seed>`` (:func:`plurel_core.export.export`)
  writes: the seed alone fixes every draw, so it does not matter which worker, or how
  many, generated it.
- **Atomicity.** A worker writes into a temporary directory inside ``DIR`` and renames it
  into place, so ``DIR/<name>-<seed>`` is either absent or complete.
- **Small results.** A task returns only a record (checksums, statistics, timings); the
  tables never travel back to the client, and at most a few tasks per worker thread are
  in flight, so the client's memory stays flat however many databases are asked for.
- **Resume.** The manifest is appended by the client only (flushed and fsynced per line).
  A rerun skips every database whose directory matches the checksums of its manifest line
  and regenerates the rest (missing, partial, corrupt or previously failed).
- **No silent gaps.** A database that keeps failing (Dask retries plus resubmission after
  a lost worker) gets a ``"failed"`` manifest line with its error, and the run reports it.

Dask (the optional ``corpus`` extra) is imported inside the functions that use it, so
importing this module (as the command line does to list its commands) loads neither
``dask`` nor ``distributed``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as _dt
import hashlib
import json
import logging
import math
import os
import re
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from . import __version__
from .cli_inputs import add_source_arguments, check_schema_sql, load_config, load_schema_sql
from .config import PRESETS, Config, ConfigError
from .errors import CorpusError
from .export import export
from .generate import generate
from .stats import database_stats
from .workers import freeze_startup_heap

__all__ = [
    "FORMATS",
    "MANIFEST_NAME",
    "CorpusError",
    "CorpusInterrupted",
    "CorpusResult",
    "config_hash",
    "corpus_command_line",
    "database_dirname",
    "file_checksums",
    "generate_corpus",
    "read_manifest",
    "CorpusWriteError",
    "verify_database",
]

FORMATS = ("parquet", "relbench", "sqlite")
MANIFEST_NAME = "manifest.jsonl"
DEFAULT_NAME = "plurel"
# Hidden names inside the corpus directory; a new run sweeps leftovers of crashed ones.
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"
STOP_PREFIX = ".stop-"
LOCK_NAME = ".corpus.lock"

# Dask reruns a task that raised this many times before giving up on it.
DASK_RETRIES = 2
# A lost worker (killed process, dropped connection) is not the database's fault: on top
# of Dask's own rescheduling, such a database is resubmitted this many times.
MAX_RESUBMITS = 2
# Messages Dask keeps per connection for debugging (default 1000); see generate_corpus.
LOG_LENGTH = 50

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass
class CorpusResult:
    """What a corpus run did.

    ``generated``: seeds written by this run; ``skipped``: seeds already complete and
    verified; ``failed``: seed → error of databases that kept failing.
    ``startup_seconds`` is the time to start (or connect to) the cluster, included in
    ``seconds``.
    """

    out_dir: Path
    name: str
    fmt: str
    config_hash: str
    seeds: range
    generated: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    startup_seconds: float = 0.0
    workers: int = 0

    @property
    def ok(self) -> bool:
        """Every database of the corpus is complete."""
        return not self.failed and len(self.generated) + len(self.skipped) == len(self.seeds)

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / MANIFEST_NAME

    def database_path(self, seed: int) -> Path:
        return self.out_dir / database_dirname(self.name, seed)

    def summary(self) -> str:
        n = len(self.seeds)
        done = len(self.generated) + len(self.skipped)
        text = (
            f"{done}/{n} databases complete in {self.out_dir} "
            f"({len(self.generated)} generated, {len(self.skipped)} already complete"
            + (f", {len(self.failed)} failed" if self.failed else "")
            + f") in {self.seconds:.1f} s"
        )
        if len(self.generated) and self.seconds > self.startup_seconds:
            rate = 60.0 * len(self.generated) / (self.seconds - self.startup_seconds)
            text += f", {rate:.1f} databases/min"
        return text


class CorpusInterrupted(KeyboardInterrupt):
    """Raised after a corpus run was stopped by Ctrl-C and cleaned up; ``.result`` says
    what was complete at that point (rerunning the same call resumes)."""

    def __init__(self, result: CorpusResult):
        super().__init__("corpus run interrupted")
        self.result = result


class CorpusWriteError(OSError):
    """The manifest could not be written (e.g. the disk is full); the run stopped after
    cleaning up. ``.result`` says what was recorded; the next run resumes from there."""

    def __init__(self, result: CorpusResult, cause: OSError):
        super().__init__(cause.errno, f"cannot write {MANIFEST_NAME}: {cause.strerror or cause}")
        self.result = result


# -- names, hashes, checksums -------------------------------------------------------------


def database_dirname(name: str, seed: int) -> str:
    """``<name>-<seed>``: the directory of one database inside the corpus directory."""
    return f"{name}-{seed}"


def config_hash(config: Config, schema_sql: str | None = None, schema_dialect: str | None = None) -> str:
    """sha256 of the canonical config JSON (sorted keys, no spaces), a newline and the schema SQL
    (plus ``"\n-- dialect: <name>"`` when a SQL dialect is forced).

    Two runs with the same hash draw the same database for the same seed.
    """
    canonical = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = canonical + "\n" + (schema_sql or "")
    if schema_dialect is not None:
        text += f"\n-- dialect: {schema_dialect}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _relative_files(root: Path) -> list[str]:
    """Every regular file below ``root`` as a POSIX relative path, sorted."""
    out = []
    for dirpath, _dirs, files in os.walk(root):
        for fname in files:
            out.append((Path(dirpath) / fname).relative_to(root).as_posix())
    return sorted(out)


def file_checksums(root: str | os.PathLike) -> dict[str, str]:
    """``{relative path: sha256}`` of every file below ``root``."""
    root = Path(root)
    return {rel: _sha256_file(root / rel) for rel in _relative_files(root)}


def verify_database(path: str | os.PathLike, files: Mapping[str, str]) -> str | None:
    """Why the database at ``path`` does not match its manifest checksums, or None if it does.

    Missing, extra and changed files all count: the directory must hold exactly ``files``.
    """
    path = Path(path)
    if not path.is_dir():
        return "missing"
    if not files:
        return "manifest lists no files"
    present = _relative_files(path)
    if set(present) != set(files):
        missing = sorted(set(files) - set(present))
        extra = sorted(set(present) - set(files))
        return f"file set differs (missing {missing[:3]}, extra {extra[:3]})"
    for rel in present:
        if _sha256_file(path / rel) != files[rel]:
            return f"checksum mismatch in {rel}"
    return None


# -- manifest -----------------------------------------------------------------------------


def read_manifest(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a manifest, in order.

    Lines that are not complete JSON objects are skipped: a run killed while appending
    leaves at most a truncated last line, and its database is simply regenerated.
    """
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # truncated last line
            try:
                rec = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(rec, dict) and "seed" in rec and "status" in rec:
                records.append(rec)
    return records


class _ManifestWriter:
    """Appends one JSON line per record; flushed and fsynced so a crash loses at most the
    line being written. A truncated last line left by an earlier crash is cut off first,
    so new lines never join onto it."""

    def __init__(self, path: Path):
        self.path = path
        self._f = open(path, "a+b")  # noqa: SIM115 - kept open for the whole run
        self._f.seek(0, os.SEEK_END)
        size = self._f.tell()
        if size:
            self._f.seek(max(0, size - 1))
            if self._f.read(1) != b"\n":
                self._f.seek(0)
                data = self._f.read()
                self._f.truncate(data.rfind(b"\n") + 1)
                self._f.flush()
                os.fsync(self._f.fileno())
        self._f.seek(0, os.SEEK_END)

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(_jsonable(record), sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
        self._f.write(line.encode("utf-8"))
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def _jsonable(value: Any) -> Any:
    """Statistics as strict JSON: numpy scalars → Python numbers, NaN/inf → None."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


# -- the task that runs on a worker --------------------------------------------------------


def _write_database(db: Any, fmt: str, path: Path, config: Config, schema_sql: str | None, stem: str) -> None:
    """Write one database in ``fmt`` as the folder ``path`` (which must not exist yet).

    Parquet and RelBench are folders of ``<table>.parquet`` files (RelBench adds
    ``plurel.json``, the bundle that regenerates the database); SQLite is one file
    ``<stem>.sqlite`` inside the folder.
    """
    if fmt == "sqlite":
        path.mkdir()
        export(db, "sqlite", path / f"{stem}.sqlite")
    else:
        export(db, fmt, path, config=config, schema_sql=schema_sql)


def _database_stats(db: Any, seconds: float) -> dict[str, Any]:
    """The database's statistics record; a failure here is noted, not fatal: the
    database itself is fine."""
    try:
        return _jsonable(database_stats(db, seconds))
    except Exception as exc:
        return {"error": _short_error(exc)}


def _fsync_tree(root: Path) -> None:
    """Make the written files durable before the rename publishes them."""
    for dirpath, _dirs, files in os.walk(root):
        for fname in files:
            fd = os.open(os.path.join(dirpath, fname), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class _Stopped(Exception):
    """The client asked the run to stop: the task discarded its work."""


def _install(tmp: Path, final: Path) -> None:
    """Atomically put the finished directory ``tmp`` at ``final``.

    An existing ``final`` (a corrupt or partial database being regenerated) is first
    renamed aside and deleted afterwards, so ``final`` never shows a mix of the two.
    Two workers racing on one seed write identical bytes, so either may win.
    """
    for _ in range(5):
        if final.exists() or final.is_symlink():
            trash = Path(tempfile.mkdtemp(prefix=f"{TRASH_PREFIX}{final.name}-", dir=final.parent))
            with contextlib.suppress(FileNotFoundError):  # someone else moved it first
                os.replace(final, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.replace(tmp, final)
            return
        except OSError as exc:  # ENOTEMPTY/EEXIST: another writer installed it meanwhile
            last = exc
    raise last


@dataclass(frozen=True)
class _Job:
    """What every task of one run shares (small: pickled with each task)."""

    config: Config
    schema_sql: str | None
    schema_dialect: str | None
    fmt: str
    out_dir: str
    name: str
    config_hash: str
    stop_marker: str


def _build_database(job: _Job, seed: int) -> dict[str, Any]:
    """Generate, write and install one database; return its manifest record (small)."""
    out = Path(job.out_dir)
    if os.path.exists(job.stop_marker):
        raise _Stopped(seed)
    t_start = time.perf_counter()
    schema = None
    if job.schema_sql:
        from .sql import schema_from_sql  # sqlglot is loaded only for a corpus of a SQL schema

        schema = schema_from_sql(job.schema_sql, job.config.schema, seed, dialect=job.schema_dialect)
    db = generate(job.config, seed, schema=schema)
    gen_seconds = time.perf_counter() - t_start
    stats = _database_stats(db, gen_seconds)

    dirname = database_dirname(job.name, seed)
    # everything this task writes lives below `work` until the final rename, so a killed
    # worker leaves only a `.tmp-*` folder, which the next run sweeps
    work = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{dirname}-", dir=out))
    try:
        t_write = time.perf_counter()
        stage = work / "db"
        _write_database(db, job.fmt, stage, job.config, job.schema_sql, dirname)
        del db
        _fsync_tree(stage)
        files = file_checksums(stage)
        nbytes = sum((stage / rel).stat().st_size for rel in files)
        write_seconds = time.perf_counter() - t_write
        if os.path.exists(job.stop_marker):
            raise _Stopped(seed)
        stage.chmod(0o755)  # temporary folders are private; a published database is not
        _install(stage, out / dirname)
        _fsync_dir(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    try:
        from distributed import get_worker  # (see the module docstring)

        worker = get_worker().address
    except (ImportError, ValueError):
        worker = None
    return {
        "status": "ok",
        "name": job.name,
        "seed": seed,
        "dir": dirname,
        "format": job.fmt,
        "config_hash": job.config_hash,
        "files": files,
        "bytes": nbytes,
        "stats": stats,
        "generate_seconds": round(gen_seconds, 4),
        "write_seconds": round(write_seconds, 4),
        "seconds": round(time.perf_counter() - t_start, 4),
        "finished_at": _now(),
        "worker": worker,
        "host": socket.gethostname(),
        "plurel_version": __version__,
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# -- progress -------------------------------------------------------------------------------


def _fmt_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class _Progress:
    """A one-line progress bar on stderr, redrawn with ``\\r``: done/total, rate, ETA."""

    def __init__(self, total: int, skipped: int, enabled: bool, stream: TextIO | None = None):
        self.total = total
        self.skipped = skipped
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self._last = -math.inf
        self._width = 0

    def update(self, generated: int, failed: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        # redraw often on a terminal, rarely in a log file
        if not force and now - self._last < (0.2 if self.tty else 5.0):
            return
        self._last = now
        done = self.skipped + generated + failed
        elapsed = now - self.start
        rate = generated / elapsed * 60.0 if elapsed > 0 else 0.0
        remaining = self.total - done
        eta = remaining / (rate / 60.0) if rate > 0 else (0.0 if remaining == 0 else math.inf)
        filled = int(20 * done / self.total) if self.total else 20
        bar = "#" * filled + "-" * (20 - filled)
        text = (
            f"corpus [{bar}] {done}/{self.total} databases"
            f" | {rate:.1f}/min | elapsed {_fmt_duration(elapsed)} | ETA {_fmt_duration(eta)}"
        )
        if failed:
            text += f" | {failed} failed"
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def close(self, generated: int, failed: int) -> None:
        if self.enabled:
            self.update(generated, failed, force=True)
            self.stream.write("\n")
            self.stream.flush()


# -- the client ----------------------------------------------------------------------------


@contextlib.contextmanager
def _corpus_lock(out_dir: Path) -> Iterator[None]:
    """One client per corpus directory: the manifest has a single writer."""
    try:
        import fcntl  # POSIX only
    except ImportError:  # not on POSIX: no lock
        yield
        return
    with open(out_dir / LOCK_NAME, "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise CorpusError(f"out_dir {str(out_dir)!r} is in use by another corpus run") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _sweep(out_dir: Path, prefixes: tuple[str, ...]) -> int:
    """Delete leftovers (temporary dirs, trash, stop markers) with these name prefixes."""
    n = 0
    with os.scandir(out_dir) as it:
        entries = [e for e in it if e.name.startswith(prefixes)]
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(e.path)
        n += 1
    return n


def _check_args(
    config: Any,
    num_dbs: Any,
    fmt: Any,
    seed_offset: Any,
    workers: Any,
    scheduler: Any,
    schema_sql: Any,
    name: Any,
    max_in_flight: Any,
) -> Config:
    def is_int(x: Any) -> bool:
        return isinstance(x, (int, np.integer)) and not isinstance(x, bool)

    if isinstance(config, Config):
        config = config.validate()
    elif isinstance(config, Mapping):
        config = Config.from_dict(dict(config))
    else:
        raise CorpusError(f"config must be a Config or a dict of priors, got {type(config).__name__}")
    if not is_int(num_dbs) or num_dbs < 1:
        raise CorpusError(f"num_dbs must be a positive integer, got {num_dbs!r}")
    if fmt not in FORMATS:
        raise CorpusError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}")
    if not is_int(seed_offset) or seed_offset < 0:
        raise CorpusError(f"seed_offset must be a non-negative integer, got {seed_offset!r}")
    if workers is not None and (not is_int(workers) or workers < 1):
        raise CorpusError(f"workers must be a positive integer or None, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise CorpusError(f"scheduler must be an address like 'tcp://host:8786', got {scheduler!r}")
    if scheduler is not None and workers is not None:
        raise CorpusError("workers applies to a local cluster only; with scheduler the cluster decides")
    if schema_sql is not None and not isinstance(schema_sql, str):
        raise CorpusError(f"schema_sql must be SQL text or None, got {type(schema_sql).__name__}")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise CorpusError(
            f"name must start with a letter or digit and use only letters, digits and _.+-, got {name!r}"
        )
    if max_in_flight is not None and (not is_int(max_in_flight) or max_in_flight < 1):
        raise CorpusError(f"max_in_flight must be a positive integer or None, got {max_in_flight!r}")
    return config


def _plan(out_dir: Path, name: str, seeds: range, fmt: str, chash: str) -> tuple[list[int], Iterator[int]]:
    """Split ``seeds`` into (complete and verified, to generate) using the manifest.

    The seeds to generate come lazily, in order: a run of 10^8 databases holds no list of
    them (the manifest's complete ones are the only seeds held)."""
    latest: dict[int, tuple[str, Any, Any, dict[str, str]]] = {}
    for rec in read_manifest(out_dir / MANIFEST_NAME):
        seed = rec.get("seed")
        if rec.get("name") == name and isinstance(seed, int) and seed in seeds:
            # keep only what the check needs, not the statistics
            latest[seed] = (
                rec.get("status"),
                rec.get("config_hash"),
                rec.get("format"),
                rec.get("files") or {},
            )
    listed = []
    for seed, (status, rec_hash, rec_fmt, files) in sorted(latest.items()):
        if status != "ok":
            continue
        if rec_hash != chash or rec_fmt != fmt:
            raise CorpusError(
                f"out_dir {str(out_dir)!r} already holds {database_dirname(name, seed)} generated with "
                f"format {rec_fmt!r} and config hash {str(rec_hash)[:12]}…, not format {fmt!r} and "
                f"config hash {chash[:12]}…; use another out_dir or name"
            )
        listed.append((seed, files))

    def check(item: tuple[int, dict[str, str]]) -> tuple[int, bool]:
        seed, files = item
        return seed, verify_database(out_dir / database_dirname(name, seed), files) is None

    # hashing is I/O bound and hashlib releases the GIL: verify several databases at once
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
        complete = {seed for seed, ok in pool.map(check, listed) if ok}
    return sorted(complete), (s for s in seeds if s not in complete)


def _is_lost_worker(exc: BaseException) -> bool:
    """Errors of the cluster rather than of the database: worth resubmitting."""
    from distributed import KilledWorker

    try:
        from distributed.comm.core import CommClosedError
    except ImportError:  # pragma: no cover - moved in some versions
        CommClosedError = ()  # noqa: N806
    import asyncio  # loaded by distributed already; the rest of the command line does without it

    return isinstance(
        exc,
        (KilledWorker, CommClosedError, asyncio.CancelledError, concurrent.futures.CancelledError),
    )


def _short_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def generate_corpus(
    config: Config | Mapping[str, Any],
    num_dbs: int,
    out_dir: str | os.PathLike,
    fmt: str = "parquet",
    seed_offset: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    schema_sql: str | None = None,
    progress: bool = True,
    *,
    name: str = DEFAULT_NAME,
    schema_dialect: str | None = None,
    max_in_flight: int | None = None,
    timeout: float | None = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> CorpusResult:
    """Generate databases for seeds ``seed_offset .. seed_offset + num_dbs - 1`` into ``out_dir``.

    Without ``scheduler`` a local Dask cluster of ``workers`` processes (one thread each;
    default: one per core) does the work; with ``scheduler`` (``tcp://host:port``) an
    existing cluster does, and its workers must see ``out_dir`` at the same path (a shared
    filesystem) and import the same ``plurel_core``. Databases already complete and
    verified against the manifest are skipped, so rerunning the same call resumes.

    ``schema_sql`` (with ``schema_dialect``, default: detected) replaces Stage 1 by a
    ``CREATE TABLE`` schema. ``name`` prefixes every database folder. ``max_in_flight``
    bounds the tasks submitted at once (default: twice the worker threads); ``timeout``
    bounds the whole run in seconds (``TimeoutError``); ``on_record`` is called in the
    client with every manifest record as it is written.

    Raises ``CorpusError`` (a ``ValueError``) for bad arguments or an ``out_dir`` holding a
    corpus of other priors under the same name, and ``CorpusInterrupted`` (a
    ``KeyboardInterrupt``) after Ctrl-C, once the cluster is closed and temporary folders
    are removed.
    """
    t_begin = time.perf_counter()
    try:
        config = _check_args(
            config, num_dbs, fmt, seed_offset, workers, scheduler, schema_sql, name, max_in_flight
        )
    except ConfigError as exc:
        raise CorpusError(str(exc)) from None
    seeds = range(int(seed_offset), int(seed_offset) + int(num_dbs))
    if schema_sql is not None:
        # untrusted input: parse it once here, so a bad schema fails before any worker starts
        from .sql import schema_from_sql  # sqlglot is loaded only when given SQL

        schema_from_sql(schema_sql, config.schema, seeds[0], dialect=schema_dialect)
    chash = config_hash(config, schema_sql, schema_dialect)
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise CorpusError(f"out_dir {str(out)!r} exists and is not a directory")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    had_manifest = (out / MANIFEST_NAME).exists()
    result = CorpusResult(out, name, fmt, chash, seeds)
    try:
        return _generate_locked(
            out, result, config, chash, seeds, fmt, workers, scheduler, schema_sql, schema_dialect,
            name, progress, max_in_flight, timeout, t_begin, on_record,
        )  # fmt: skip
    except BaseException:
        # a run that wrote nothing (an unreachable scheduler, a bad argument found late)
        # leaves no new folder, lock or empty manifest behind
        if not result.generated and not result.failed:
            _remove_unused(out, created, had_manifest)
        raise


def _remove_unused(out: Path, created: bool, had_manifest: bool) -> None:
    """Remove what a run that recorded nothing created: an empty manifest, the lock, and
    the corpus folder itself when the run made it and nothing else is in it."""
    manifest = out / MANIFEST_NAME
    with contextlib.suppress(OSError):
        if not had_manifest and manifest.exists() and manifest.stat().st_size == 0:
            manifest.unlink()
    if created:
        with contextlib.suppress(OSError):
            if {p.name for p in out.iterdir()} <= {LOCK_NAME}:
                shutil.rmtree(out)


def _generate_locked(
    out: Path,
    result: CorpusResult,
    config: Config,
    chash: str,
    seeds: range,
    fmt: str,
    workers: int | None,
    scheduler: str | None,
    schema_sql: str | None,
    schema_dialect: str | None,
    name: str,
    progress: bool,
    max_in_flight: int | None,
    timeout: float | None,
    t_begin: float,
    on_record: Callable[[dict[str, Any]], None] | None,
) -> CorpusResult:
    """:func:`generate_corpus` once its arguments are checked and ``out`` exists."""
    with _corpus_lock(out):
        _sweep(out, (TMP_PREFIX, TRASH_PREFIX, STOP_PREFIX))
        result.skipped, todo = _plan(out, name, seeds, fmt, chash)
        if len(result.skipped) == len(seeds):
            result.seconds = time.perf_counter() - t_begin
            return result
        stop_marker = out / f"{STOP_PREFIX}{os.getpid()}-{time.time_ns()}"
        job = _Job(config, schema_sql, schema_dialect, fmt, str(out), name, chash, str(stop_marker))
        writer = _ManifestWriter(out / MANIFEST_NAME)
        bar = _Progress(len(seeds), len(result.skipped), progress)
        cluster = client = None
        inflight: dict[Any, tuple[int, int]] = {}
        interrupted = False
        # Dask keeps the last N messages of every connection for debugging; each holds a
        # task with its config, so the default N = 1000 would let memory creep up early on
        # in a long run. A short history keeps the client (and a local scheduler) flat.
        import dask
        import distributed  # noqa: F401 - loads its config defaults before they are overridden

        with dask.config.set(
            {
                "distributed.admin.low-level-log-length": LOG_LENGTH,
                "distributed.nanny.pre-spawn-environ": _worker_environ(),
            }
        ):
            try:
                cluster, client = _start_client(scheduler, workers)
                result.startup_seconds = time.perf_counter() - t_begin
                result.workers = len(client.scheduler_info().get("workers", {}))
                bar.start = time.monotonic()  # the rate counts generation, not cluster start-up
                _run(
                    client,
                    job,
                    todo,
                    writer,
                    bar,
                    result,
                    inflight,
                    max_in_flight,
                    timeout,
                    t_begin,
                    on_record,
                )
            except KeyboardInterrupt:
                interrupted = True
            finally:
                if inflight:
                    # tasks still running on a shared cluster see this and discard their work
                    with contextlib.suppress(OSError):
                        stop_marker.touch()
                _shutdown(client, cluster, list(inflight))
                inflight.clear()
                if cluster is not None:
                    # a local cluster is closed: no task is left to see the stop marker
                    # (on a shared cluster one may still run; the next run sweeps it)
                    with contextlib.suppress(OSError):
                        stop_marker.unlink(missing_ok=True)
                writer.close()
                bar.close(len(result.generated), len(result.failed))
                _sweep(out, (TMP_PREFIX, TRASH_PREFIX))
                result.generated.sort()
                result.seconds = time.perf_counter() - t_begin
        if interrupted:
            raise CorpusInterrupted(result)
    return result


def _worker_environ() -> dict[str, Any]:
    """Environment of local worker processes: Dask's defaults minus its malloc trim
    threshold. Setting that threshold also turns off glibc's adaptive mmap threshold, so
    every array over 128 KiB would be mapped and unmapped anew; a database makes many of
    them, and generation ran about 40 % slower in a worker than in a plain process."""
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


def quiet_heartbeat_failures(record: logging.LogRecord) -> bool:
    """A logging filter for the local cluster's workers: their scheduler lives in the
    client's process and goes away only when the client closes the cluster (after Ctrl-C,
    say), so a heartbeat that fails then is expected and its traceback only noise."""
    return not str(record.msg).startswith("Failed to communicate with scheduler during heartbeat")


def dask_setup(worker: Any) -> None:
    """Worker preload of the local cluster: a Ctrl-C in the terminal reaches every process
    of the group; the workers ignore it and leave stopping to the client, which cancels the
    tasks, closes the cluster and removes temporary folders (a worker whose heartbeat
    meets the closed scheduler says nothing: :func:`quiet_heartbeat_failures`). The heap
    loaded by then is frozen (:func:`~plurel_core.workers.freeze_startup_heap`)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker_log = logging.getLogger("distributed.worker")
    if quiet_heartbeat_failures not in worker_log.filters:
        worker_log.addFilter(quiet_heartbeat_failures)
    freeze_startup_heap()  # (the worker's imports, plurel_core's included, are done)


def _start_client(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            return None, Client(scheduler, timeout="30s")
        except OSError as exc:  # also TimeoutError
            raise CorpusError(f"scheduler {scheduler!r}: cannot connect ({exc})") from None
    import dask.system

    cluster = LocalCluster(
        n_workers=workers or dask.system.CPU_COUNT,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        # no dashboard; the scheduler's small HTTP server on a free local port (without an
        # address it takes 8787, and warns on the terminal when another cluster holds it)
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False},
        silence_logs=logging.ERROR,
        preload=[__name__],  # runs dask_setup above in every worker process
    )
    try:
        return cluster, Client(cluster, timeout="30s")
    except BaseException:
        cluster.close()
        raise


def _shutdown(client: Any, cluster: Any, futures: list[Any]) -> None:
    """Cancel what is still pending and close the client and the local cluster (bounded)."""
    if client is not None:
        with contextlib.suppress(Exception):
            if futures:
                client.cancel(futures, force=True)
        with contextlib.suppress(Exception):
            client.close(timeout=10)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=20)


def _failure_record(
    job: _Job, seed: int, fut: Any, exc: BaseException | None, attempt: int
) -> dict[str, Any]:
    tb = ""
    with contextlib.suppress(Exception):
        tb = "".join(traceback.format_tb(fut.traceback()))[-4000:]
    return {
        "status": "failed",
        "name": job.name,
        "seed": seed,
        "dir": database_dirname(job.name, seed),
        "format": job.fmt,
        "config_hash": job.config_hash,
        "error": _short_error(exc) if exc is not None else f"task {fut.status}",
        "traceback": tb,
        "submissions": attempt + 1,
        "finished_at": _now(),
    }


def _run(
    client: Any,
    job: _Job,
    todo: Iterator[int],
    writer: _ManifestWriter,
    bar: _Progress,
    result: CorpusResult,
    inflight: dict[Any, tuple[int, int]],
    max_in_flight: int | None,
    timeout: float | None,
    t_begin: float,
    on_record: Callable[[dict[str, Any]], None] | None,
) -> None:
    """Submit with a bounded number of tasks in flight; record results as they complete."""
    from distributed import as_completed

    pending = iter(todo)
    retry: deque[tuple[int, int]] = deque()
    ac = as_completed()
    bound = max_in_flight or 2
    last_bound_check = -math.inf

    def current_bound() -> int:
        nonlocal bound, last_bound_check
        if max_in_flight is not None:
            return max_in_flight
        now = time.monotonic()
        if now - last_bound_check > 5.0:  # a shared cluster may grow or shrink
            last_bound_check = now
            with contextlib.suppress(Exception):
                bound = max(2, 2 * sum(client.nthreads().values()))
        return bound

    def submit(seed: int, attempt: int) -> None:
        key = f"plurel-corpus-{job.name}-{seed}-{uuid.uuid4().hex[:12]}"
        fut = client.submit(_build_database, job, seed, key=key, retries=DASK_RETRIES, pure=False)
        inflight[fut] = (seed, attempt)
        ac.add(fut)

    def top_up() -> None:
        limit = current_bound()
        while len(inflight) < limit:
            if retry:
                submit(*retry.popleft())
                continue
            seed = next(pending, None)
            if seed is None:
                return
            submit(seed, 0)

    def record(rec: dict[str, Any]) -> None:
        try:
            writer.append(rec)
        except OSError as exc:  # disk full, I/O error: stop here; the next run resumes
            raise CorpusWriteError(result, exc) from None
        if on_record is not None:
            on_record(rec)

    top_up()
    while inflight:
        if timeout is not None and time.perf_counter() - t_begin > timeout:
            raise TimeoutError(f"corpus run exceeded timeout={timeout} s")
        if not ac.has_ready():
            bar.update(len(result.generated), len(result.failed))
            time.sleep(0.02)
            continue
        for fut in ac.next_batch(block=False):
            seed, attempt = inflight.pop(fut)
            if fut.status == "finished":
                record(fut.result())
                result.generated.append(seed)
            else:
                exc = fut.exception() if fut.status == "error" else None
                # a lost worker is not the database's fault: resubmit; an error the task
                # raised has already had Dask's retries and is recorded
                if (exc is None or _is_lost_worker(exc)) and attempt < MAX_RESUBMITS:
                    retry.append((seed, attempt + 1))
                else:
                    rec = _failure_record(job, seed, fut, exc, attempt)
                    record(rec)
                    result.failed[seed] = rec["error"]
            fut.release()
            bar.update(len(result.generated), len(result.failed))
        top_up()


# -- the command line ---------------------------------------------------------------------

COMMAND_HELP = "generate a corpus of databases on a Dask cluster (resumable)"


def corpus_command_line(
    preset_or_config_path: str,
    num_dbs: int,
    fmt: str = "parquet",
    out: str = "corpus",
    *,
    seed_offset: int = 0,
    schema_path: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> str:
    """The shell command that generates this corpus (shown by the app's Export page).

    A preset name gives ``--preset NAME``; anything else is taken as the path of a saved
    config JSON (``--config PATH``). Arguments are shell-quoted.
    """
    if not isinstance(preset_or_config_path, str) or not preset_or_config_path:
        raise ValueError(
            f"preset_or_config_path: got {preset_or_config_path!r}; expected a preset name or a path"
        )
    if not isinstance(num_dbs, int) or isinstance(num_dbs, bool) or num_dbs < 1:
        raise ValueError(f"num_dbs: got {num_dbs!r}; expected a positive integer")
    if fmt not in FORMATS:
        raise ValueError(f"fmt: got {fmt!r}; allowed: {list(FORMATS)}")
    if not isinstance(seed_offset, int) or isinstance(seed_offset, bool) or seed_offset < 0:
        raise ValueError(f"seed_offset: got {seed_offset!r}; expected a non-negative integer")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers: got {workers!r}; expected a positive integer or None")
    if workers is not None and scheduler:
        raise ValueError("workers: applies to a local cluster only, not together with scheduler")
    args = ["python", "-m", "plurel_core", "corpus"]
    args += ["--preset" if preset_or_config_path in PRESETS else "--config", preset_or_config_path]
    if schema_path:
        args += ["--schema", str(schema_path)]
    args += ["--num-dbs", str(num_dbs)]
    if seed_offset:
        args += ["--seed-offset", str(seed_offset)]
    args += ["--format", fmt, "--out", str(out)]
    if workers is not None:
        args += ["--workers", str(workers)]
    if scheduler:
        args += ["--scheduler", scheduler]
    return shlex.join(args)


def add_corpus_arguments(parser: Any) -> None:
    """Arguments of ``python -m plurel_core corpus`` on an ``argparse`` (sub)parser."""
    add_source_arguments(parser, "CREATE TABLE statements to use instead of sampling the schema")
    parser.add_argument("--num-dbs", type=int, required=True, metavar="N", help="number of databases")
    parser.add_argument("--seed-offset", type=int, default=0, metavar="K", help="first seed (default 0)")
    parser.add_argument("--format", choices=FORMATS, required=True, help="format of each database")
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="corpus folder: DIR/<name>-<seed>/ and DIR/manifest.jsonl"
    )
    parser.add_argument(
        "--workers", type=int, metavar="W", help="local worker processes (default: one per core)"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster, e.g. tcp://host:8786"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def run_corpus_command(args: Any) -> int:
    """Run ``corpus`` from parsed arguments. Exit status: 0 every database complete,
    1 some database failed (listed on stderr and in the manifest), 2 bad input,
    130 interrupted (rerun the same command to resume)."""
    try:
        config = load_config(args)
        if args.preset is not None:
            name = args.preset
        else:
            # the config file's name names the databases, made safe for a folder name
            name = re.sub(r"[^A-Za-z0-9_.+-]", "_", Path(args.config).stem).lstrip("._+-") or DEFAULT_NAME
        schema_sql = load_schema_sql(args)
        if schema_sql is not None:
            check_schema_sql(args, schema_sql)
    except ValueError as exc:  # UsageError, ConfigError, a bad SQL schema
        print(f"error: {exc}", file=sys.stderr)
        return 2

    # a batch system stops a job with SIGTERM: handle it like Ctrl-C so nothing partial stays
    previous = None
    with contextlib.suppress(ValueError):  # signal handlers only in the main thread
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = generate_corpus(
            config,
            args.num_dbs,
            args.out,
            fmt=args.format,
            seed_offset=args.seed_offset,
            workers=args.workers,
            scheduler=args.scheduler,
            schema_sql=schema_sql,
            progress=not args.no_progress,
            name=name,
            schema_dialect=args.dialect,
        )
    except CorpusInterrupted as exc:
        print(f"interrupted: {exc.result.summary()}; rerun the same command to resume", file=sys.stderr)
        return 130
    except CorpusWriteError as exc:
        print(f"error: {exc.strerror} in {exc.result.out_dir}; stopped", file=sys.stderr)
        print(f"{exc.result.summary()}; rerun the same command to resume", file=sys.stderr)
        _print_failures(exc.result, name)
        return 1
    except ValueError as exc:  # CorpusError, ConfigError, a bad SQL schema
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(result.summary(), file=sys.stderr)
    if result.failed:
        _print_failures(result, name)
        return 1
    return 0


def _print_failures(result: CorpusResult, name: str, shown: int = 20) -> None:
    """The failed databases, one line per distinct error (a full disk fails them all alike)."""
    if not result.failed:
        return
    print(f"{len(result.failed)} database(s) failed (details in {result.manifest_path}):", file=sys.stderr)
    by_error: dict[str, list[int]] = {}
    for seed, msg in sorted(result.failed.items()):
        by_error.setdefault(msg.splitlines()[0] if msg else "", []).append(seed)
    for msg, seeds in by_error.items():
        names = ", ".join(database_dirname(name, s) for s in seeds[:shown])
        more = f" and {len(seeds) - shown} more" if len(seeds) > shown else ""
        print(f"  {names}{more}: {msg}", file=sys.stderr)
