"""Stage 3 over a whole schema: every table's features, in dependency order.

A table's SCM (:mod:`plurel_core.scm`) is conditioned on the raw values of its parent
tables, so a table starts once they are done: here in the schema's topological order, or
on the table worker processes (:mod:`plurel_core.workers`) as soon as its parents are done,
up to one table per worker at a time, while idle workers draw the structures of tables
still waiting. Where a table runs never changes its values, nor whether the tables it is
not conditioned on are computed at all (``tables=``: a view of one table needs only it and
the tables it is conditioned on).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from .config import FeaturePriors, PostprocessPriors
from .database import Features, ForeignKeys, Schema
from .scm import CHUNK_ROWS, TableSCM, remaining_tables
from .workers import TableWorkers, WorkerLost, start_table_workers, workers_in_use

__all__ = ["conditioning_parents", "sample_features", "tables_needed"]

# longest wait for explicitly requested table workers to warm up
_WARM_UP_SECONDS = 120.0
# how many tables waiting for their parents idle table workers draw structures for
_PREPARE_AHEAD = 2


def sample_features(
    schema: Schema,
    fks: ForeignKeys | Callable[[], ForeignKeys],
    features: FeaturePriors,
    post: PostprocessPriors,
    seed: int,
    *,
    chunk_rows: int = CHUNK_ROWS,
    workers: int | None = None,
    processes: int | None = None,
    tables: Collection[str] | None = None,
) -> Features:
    """Stage 3: the feature columns of every table, post-processed, plus each SCM's trace.

    Each table is conditioned on the raw SCM values of its parents, so a table starts once
    they are done: in ``schema.tables`` order (topological), or, with table worker
    processes (:mod:`plurel_core.workers`), as soon as its parents are done, up to one
    table per worker at a time. Results do not depend on ``chunk_rows``, ``workers`` or
    ``processes``.

    Parameters
    ----------
    schema : Schema
        The tables (Stage 1 or a SQL import), in topological order.
    fks : ForeignKeys or callable
        Stage 2's foreign keys, or a function that returns them (called once, when the
        first table with foreign keys needs them: on the table workers the tables without
        foreign keys then start first, and Stage 2 runs here while they do).
    features : FeaturePriors
        Stage 3's priors (the SCMs).
    post : PostprocessPriors
        The post-processing priors (transforms, NaNs, booleans).
    seed : int
        The database's seed; every table's draws come from streams keyed by it.
    chunk_rows : int, default CHUNK_ROWS
        Rows per chunk of a node's evaluation (rounded to whole row blocks).
    workers : int or None, default None
        Threads for the row chunks of a table, here or in a table worker running a table
        alone (default: up to 2, one per CPU).
    processes : int or None, default None
        Where the tables run. ``None``: on the workers of the enclosing
        :func:`~plurel_core.workers.using_table_workers` block, if there is one and its
        workers are warmed up and free, else in this process; ``0``: in this process;
        ``n >= 1``: on ``n`` shared workers (:func:`~plurel_core.workers.start_table_workers`
        starts them or reuses the running ones), waiting for their warm-up.
    tables : collection of str, optional
        Compute only these tables and the tables they are conditioned on
        (:func:`tables_needed`); their values are those of the whole run.

    Returns
    -------
    Features
        Every table of ``schema`` (or of :func:`tables_needed` with ``tables``), in schema
        order. ``frames[table]``: the feature columns only, in the order of
        ``TableSpec.columns`` (minus columns post-processing dropped), indexed
        ``0..n-1``; ``scm[table]``: each table's SCM trace.
    """
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: got {workers!r}; expected an integer >= 1 or None")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows: got {chunk_rows!r}; expected an integer >= 1")
    if processes is not None and (
        isinstance(processes, bool) or not isinstance(processes, int) or processes < 0
    ):
        raise ValueError(f"processes: got {processes!r}; expected an integer >= 0 or None")
    if tables is not None:
        schema = dataclasses.replace(
            schema, tables={name: schema.tables[name] for name in tables_needed(schema, tables)}
        )
    order = list(schema.tables)
    raw: dict[str, TableSCM] = {}
    frames: dict[str, pd.DataFrame] = {}
    shared = None
    if processes:
        shared = start_table_workers(processes)
        shared.wait_ready(_WARM_UP_SECONDS)  # not ready by then: runs in this process
    elif processes is None:
        shared = workers_in_use()
    foreign_keys = functools.cache(fks) if callable(fks) else (lambda: fks)
    # row chunks run in threads (numpy's loops and products and the compiled kernels
    # release the GIL)
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    with contextlib.ExitStack() as stack:
        if pool is not None:
            stack.callback(pool.shutdown)
        if shared is not None and len(order) > 1:
            with shared.acquire() as held:
                if held is not None:
                    _tables_on_workers(
                        held,
                        schema,
                        foreign_keys,
                        features,
                        post,
                        seed,
                        chunk_rows,
                        workers,
                        raw,
                        frames,
                    )
        # in this process: everything, or what the workers left (one of them was lost)
        remaining_tables(schema, foreign_keys, features, post, seed, raw, frames, chunk_rows, pool)
    return Features({name: frames[name] for name in order}, {name: raw[name].trace for name in order})


def conditioning_parents(schema: Schema) -> dict[str, set[str]]:
    """The tables each table's SCM is conditioned on: the parents of its non-deferred
    foreign keys that come before it in schema order (a table later in the order, or a
    deferred, cycle-breaking key's parent, is not computed yet when the table runs)."""
    pos = {name: i for i, name in enumerate(schema.tables)}
    return {
        name: {
            fk.parent
            for fk in spec.foreign_keys
            if not fk.deferred and fk.parent in pos and pos[fk.parent] < pos[name]
        }
        for name, spec in schema.tables.items()
    }


def tables_needed(schema: Schema, tables: Collection[str]) -> list[str]:
    """``tables`` and every table they are conditioned on, directly or through others, in
    schema order: what Stage 3 computes for them.

    Raises
    ------
    ValueError
        A name that is not a table of ``schema`` (every such name listed).
    """
    unknown = [name for name in tables if name not in schema.tables]
    if unknown:
        raise ValueError(f"tables: {unknown[:5]} not in the schema ({len(schema.tables)} tables)")
    deps = conditioning_parents(schema)
    needed: set[str] = set()
    todo = list(tables)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(deps[name])
    return [name for name in schema.tables if name in needed]


def start_priority(schema: Schema, deps: dict[str, set[str]]) -> dict[str, float]:
    """Each table's priority when several can start: what the rest waits on longest, its
    own cost (an SCM on about 3 nodes per column, dense, so about columns² MLPs, each
    folded over the rows) plus the costliest chain of tables conditioned on it (``deps``:
    :func:`conditioning_parents`)."""
    order = list(schema.tables)
    pos = {name: i for i, name in enumerate(order)}
    cost = {n: len(schema.tables[n].columns) ** 2 * (1 + schema.tables[n].num_rows / 1000) for n in order}
    chain: dict[str, float] = {}
    for name in reversed(order):
        after = [chain[c] for c in order[pos[name] + 1 :] if name in deps[c]]
        chain[name] = cost[name] + max(after, default=0.0)
    return chain


def tables_ready(
    schema: Schema, deps: dict[str, set[str]], started: set[str], done: Collection[str], have_fks: bool
) -> list[str]:
    """The tables not yet started whose conditioning parents are ``done`` (those with
    foreign keys only once Stage 2's keys are there), in schema order."""
    done = set(done)
    return [
        n
        for n in schema.tables
        if n not in started and deps[n] <= done and (have_fks or not schema.tables[n].foreign_keys)
    ]


def _tables_on_workers(
    workers: TableWorkers,
    schema: Schema,
    foreign_keys: Callable[[], ForeignKeys],
    features: FeaturePriors,
    post: PostprocessPriors,
    seed: int,
    chunk_rows: int,
    threads: int,
    raw: dict[str, TableSCM],
    frames: dict[str, pd.DataFrame],
) -> None:
    """Run every table on the table workers, each as soon as its parents are done (a table
    running alone with more than one row chunk runs them on ``threads`` threads). Stops
    early (leaving the rest to the caller) if a worker is lost; re-raises a table's error
    (or Stage 2's: ``foreign_keys`` is called once the tables without foreign keys are
    started) once every busy worker has answered."""
    order = list(schema.tables)
    deps = conditioning_parents(schema)  # exactly the parents the in-order run conditions on
    fks: ForeignKeys | None = None
    chain = start_priority(schema, deps)
    window = (schema.t0, schema.t1)
    idle = list(range(workers.count))
    busy: dict[int, tuple[str, str]] = {}  # worker → (request kind, table)
    started: set[str] = set()
    prepared_on: dict[str, int] = {}  # table → the worker that drew its structure ahead
    ran_on: dict[str, int] = {}
    error: BaseException | None = None
    try:
        while len(raw) < len(order):
            ready = tables_ready(schema, deps, started, raw.keys(), fks is not None) if error is None else []
            # a table whose structure was drawn ahead waits while its worker draws a structure
            # (its own or another's, which takes at most about as long as drawing this one
            # again elsewhere would)
            held = [n for n in ready if n in prepared_on and busy.get(prepared_on[n], ("",))[0] == "prepare"]
            ready = [n for n in ready if n not in held]
            ready.sort(key=lambda n: -chain[n])
            while ready and idle:
                name = ready.pop(0)
                # a table that runs alone runs its row chunks (or a single chunk's two
                # halves, each with its per-row encoders) on threads: the other worker is at
                # most drawing a structure ahead meanwhile
                alone = not ready and not held and all(kind != "table" for kind, _ in busy.values())
                parents = {p: TableSCM(raw[p].columns, trace=None) for p in deps[name]}
                samples = fks.for_table(name) if fks is not None else []
                args = (schema.tables[name], samples, parents, features, post, seed, window)
                i = prepared_on.get(name, -1)
                # the worker holding its structure, else the most recently used (warm caches)
                i = i if i in idle else idle[-1]
                idle.remove(i)
                workers.submit(i, (*args, chunk_rows, threads if alone else 1))
                busy[i] = ("table", name)
                started.add(name)
                ran_on[name] = i
            # idle workers draw the structures of tables still waiting for their parents
            # (a structure does not depend on them), a few ahead
            ahead = [n for n in order if n not in started and n not in prepared_on] if error is None else []
            ahead.sort(key=lambda n: -chain[n])
            while ahead and idle and sum(n not in started for n in prepared_on) < _PREPARE_AHEAD:
                name = ahead.pop(0)
                i = idle.pop()
                workers.submit(i, (schema.tables[name], features, seed), kind="prepare")
                busy[i] = ("prepare", name)
                prepared_on[name] = i
            if fks is None and error is None:
                # Stage 2, while the tables without foreign keys run
                try:
                    fks = foreign_keys()
                except BaseException as exc:
                    error = exc
                continue
            if not busy:
                break
            for i in workers.wait_any(list(busy)):
                kind, name = busy.pop(i)
                idle.append(i)
                try:
                    answer = workers.result(i)
                except WorkerLost:
                    raise
                except BaseException as exc:
                    error = error or exc
                    continue
                if kind == "table":
                    raw[name], frames[name] = answer
        # answers still due (a structure drawn ahead for a table that ran elsewhere)
        for i in list(busy):
            workers.result(i)
        # drop the structures no table used
        for i in sorted({prepared_on[n] for n in prepared_on if ran_on.get(n) != prepared_on[n]}):
            workers.submit(i, (), kind="forget")
            workers.result(i)
    except WorkerLost:
        # the others may still be busy: their answers would come out of turn later
        workers.close()
        return
    except BaseException:
        workers.close()
        raise
    if error is not None:
        raise error
