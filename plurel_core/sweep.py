"""The distribution a prior induces over databases: generate N seeds, one statistics row each.

One sampled database says little about a prior; PluRel's finding is that the diversity of
the databases drives scaling. :func:`sweep` generates the databases for seeds
``seed_offset … seed_offset + num_dbs - 1`` (in worker processes if asked) and returns one
:func:`~plurel_core.stats.database_stats` row per database, sorted by seed, so the table
is the same for any number of workers (apart from ``generation_seconds``).

The ``sweep`` subcommand of ``python -m plurel_core`` (:func:`add_arguments`, :func:`run`)
writes that table to CSV or Parquet.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import pandas as pd

from .budget import COMMAND_LINE_BUDGET, Stage3Budget
from .cli_inputs import add_source_arguments, check_schema_sql, load_config, load_schema_sql
from .config import Config
from .database import Schema
from .errors import UsageError
from .generate import generate
from .stats import STAT_FIELDS, database_stats
from .workers import exit_with_caller, freeze_startup_heap, process_context

__all__ = [
    "COLUMNS",
    "MAX_DATABASES",
    "sweep",
    "iter_sweep",
    "sweep_one",
    "compare",
    "add_arguments",
    "run",
    "write_table",
]

COLUMNS: tuple[str, ...] = ("seed", *STAT_FIELDS)
MAX_DATABASES = 100_000  # a sanity bound on num_dbs, far above what one sweep needs
OUTPUT_SUFFIXES = (".csv", ".parquet")


def _check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        allowed = f"an integer ≥ {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        raise UsageError(f"{name} must be {allowed}, got {value!r}")
    return value


def sweep_one(
    config: Config,
    seed: int,
    schema: Schema | str | None = None,
    dialect: str | None = None,
    budget: Stage3Budget = COMMAND_LINE_BUDGET,
) -> dict[str, Any]:
    """Generate the database of ``seed`` and return ``{"seed": seed, **database_stats}``.

    ``schema``: None (Stage 1 samples it), a :class:`Schema` used as is, or ``CREATE TABLE``
    DDL (in ``dialect``, detected if None) imported for this seed, so row counts and the
    time window are drawn from ``config.schema`` per seed as Stage 1 would. The generation
    time includes the SQL import. ``budget``: Stage 3's limits, as in :func:`generate`.
    """
    start = time.perf_counter()
    if isinstance(schema, str):
        from .sql import schema_from_sql  # sqlglot is loaded only for a sweep of a SQL schema

        schema = schema_from_sql(schema, config.schema, seed, dialect=dialect)
    db = generate(config, seed, schema=schema, budget=budget)
    seconds = time.perf_counter() - start
    return {"seed": seed, **database_stats(db, seconds)}


def _mp_context() -> multiprocessing.context.BaseContext:
    return process_context()


def _start_sweep_worker(caller: int) -> None:
    """A sweep worker's set-up: it ends with its caller (:func:`~plurel_core.workers.exit_with_caller`),
    and its heap is frozen (:func:`~plurel_core.workers.freeze_startup_heap`) once the
    generator is imported, which loading this function (from this module) has done."""
    exit_with_caller(caller)
    freeze_startup_heap()


def iter_sweep(
    config: Config,
    num_dbs: int = 50,
    seed_offset: int = 0,
    workers: int = 1,
    schema: Schema | str | None = None,
    dialect: str | None = None,
    budget: Stage3Budget = COMMAND_LINE_BUDGET,
) -> Iterator[dict[str, Any]]:
    """Yield one :func:`sweep_one` record per seed as databases complete (any order).

    Arguments are checked at once (ValueError / ConfigError), databases lazily. With
    ``workers > 1`` at most ``2 × workers`` databases are in flight, so closing the
    iterator early (a stop) cancels the rest without waiting for them to start.
    """
    config = config.validate()
    _check_int("num_dbs", num_dbs, 1, MAX_DATABASES)
    _check_int("seed_offset", seed_offset, 0)
    _check_int("workers", workers, 1, 256)
    if schema is not None and not isinstance(schema, (Schema, str)):
        raise ValueError(f"schema must be None, a Schema or CREATE TABLE text, got {type(schema).__name__}")
    seeds = range(seed_offset, seed_offset + num_dbs)
    if min(workers, num_dbs) == 1:
        return (sweep_one(config, seed, schema, dialect, budget) for seed in seeds)
    return _pooled(config, seeds, min(workers, num_dbs), schema, dialect, budget)


def _pooled(
    config: Config,
    seeds: range,
    workers: int,
    schema: Schema | str | None,
    dialect: str | None,
    budget: Stage3Budget,
) -> Iterator[dict[str, Any]]:
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_mp_context(),
        initializer=_start_sweep_worker,
        initargs=(os.getpid(),),
    )
    todo = iter(seeds)
    pending: set[Future] = set()
    try:
        for seed in todo:
            pending.add(pool.submit(sweep_one, config, seed, schema, dialect, budget))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            # refill before yielding, so the workers stay busy while the caller works
            for _ in done:
                seed = next(todo, None)
                if seed is not None:
                    pending.add(pool.submit(sweep_one, config, seed, schema, dialect, budget))
            for fut in done:
                yield fut.result()
    finally:
        for fut in pending:
            fut.cancel()
        # do not wait for databases still running: a stopped sweep returns at once
        pool.shutdown(wait=False, cancel_futures=True)


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in COLUMNS})
    df = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    return df.sort_values("seed", kind="stable").reset_index(drop=True)


def sweep(
    config: Config,
    num_dbs: int = 50,
    seed_offset: int = 0,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    schema: Schema | str | None = None,
    dialect: str | None = None,
    budget: Stage3Budget = COMMAND_LINE_BUDGET,
) -> pd.DataFrame:
    """Statistics of the databases for seeds ``seed_offset … seed_offset + num_dbs - 1``.

    One row per database, ``seed`` first then the fields of
    :data:`~plurel_core.stats.STAT_FIELDS`, sorted by seed: identical for any ``workers``
    except ``generation_seconds``. ``workers > 1`` generates in that many processes
    (forkserver or spawn, never fork). ``progress(done, total)`` is called at the start and
    after each database; when ``should_stop()`` turns true the sweep returns the rows
    finished so far. ``schema``, ``dialect``, ``budget``: see :func:`sweep_one`.
    """
    records: list[dict[str, Any]] = []
    total = num_dbs
    items = iter_sweep(config, num_dbs, seed_offset, workers, schema, dialect, budget)
    try:
        if progress is not None:
            progress(0, total)
        if should_stop is not None and should_stop():
            return _frame(records)
        for rec in items:
            records.append(rec)
            if progress is not None:
                progress(len(records), total)
            if should_stop is not None and should_stop():
                break
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
    return _frame(records)


def compare(a: pd.DataFrame, b: pd.DataFrame, labels: tuple[str, str] = ("A", "B")) -> pd.DataFrame:
    """Per numerical statistic: mean and median of sweep ``a`` and ``b`` and the shift of the mean.

    Index: statistic names (in :data:`STAT_FIELDS` order, ``generation_seconds`` included);
    columns ``mean <A>``, ``mean <B>``, ``Δ mean``, ``median <A>``, ``median <B>``.
    """
    la, lb = labels
    rows = []
    for name in STAT_FIELDS:
        if name not in a.columns or name not in b.columns:
            continue
        sa = pd.to_numeric(a[name], errors="coerce")
        sb = pd.to_numeric(b[name], errors="coerce")
        if sa.isna().all() and sb.isna().all():
            continue
        ma, mb = sa.mean(), sb.mean()
        rows.append(
            {
                "statistic": name,
                f"mean {la}": ma,
                f"mean {lb}": mb,
                "Δ mean": mb - ma if not (math.isnan(ma) or math.isnan(mb)) else math.nan,
                f"median {la}": sa.median(),
                f"median {lb}": sb.median(),
            }
        )
    return pd.DataFrame(rows).set_index("statistic") if rows else pd.DataFrame()


# -- files ------------------------------------------------------------------------------


def write_table(df: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Write ``df`` to ``out`` (``.csv`` or ``.parquet``) atomically: a temporary file in the
    same directory, then ``os.replace``, so readers never see a half-written table."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise UsageError(f"out must end in {' or '.join(OUTPUT_SUFFIXES)}, got {str(out)!r}")
    directory = out.parent if str(out.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"out: directory {str(directory)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            if suffix == ".csv":
                df.to_csv(fh, index=False)
            else:
                df.to_parquet(fh, index=False)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return out


# -- command line -----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m plurel_core sweep``."""
    add_source_arguments(
        parser, "CREATE TABLE statements to use instead of sampling the schema (row counts still per seed)"
    )
    parser.add_argument("--num-dbs", type=int, required=True, metavar="N", help="databases to generate")
    parser.add_argument("--seed-offset", type=int, default=0, metavar="K", help="first seed (default 0)")
    parser.add_argument("--workers", type=int, default=1, metavar="W", help="worker processes (default 1)")
    parser.add_argument("--out", required=True, metavar="FILE", help="output table: .csv or .parquet")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run the ``sweep`` subcommand: 0 on success, 2 for bad arguments (one message on
    stderr, nothing written), 130 when interrupted (nothing written)."""
    try:
        config = load_config(args)
        sql = load_schema_sql(args)
        if sql is not None:
            check_schema_sql(args, sql)  # rejects bad DDL before any worker starts
        _check_int("--num-dbs", args.num_dbs, 1, MAX_DATABASES)
        _check_int("--seed-offset", args.seed_offset, 0)
        _check_int("--workers", args.workers, 1, 256)
        out = Path(args.out)
        if out.suffix.lower() not in OUTPUT_SUFFIXES:
            raise UsageError(f"--out must end in .csv or .parquet, got {args.out!r}")
        if not (out.parent if str(out.parent) else Path(".")).is_dir():
            raise UsageError(f"--out: the folder {str(out.parent)!r} does not exist")
    except ValueError as exc:  # ConfigError and SQLSchemaError are ValueErrors too
        return _fail(str(exc))

    def report(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\rsweep: {done}/{total} databases", end="" if done < total else "\n", file=sys.stderr)

    start = time.perf_counter()
    try:
        table = sweep(
            config,
            args.num_dbs,
            args.seed_offset,
            args.workers,
            progress=report,
            schema=sql,
            dialect=args.dialect,
        )
    except KeyboardInterrupt:
        print("\nsweep: interrupted, nothing written", file=sys.stderr)
        return 130
    write_table(table, out)
    print(
        f"wrote {len(table)} rows x {len(table.columns)} columns to {out} in {time.perf_counter() - start:.1f} s"
    )
    return 0
