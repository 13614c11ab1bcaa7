"""Stage-3 table workers: the hand-made pipe protocol against a standard process pool.

    python benchmarks/bench_pool.py [--preset paper] [--seeds 0-19] [--repeat 1] [--round-trips 200]

Stage 3 runs a database's tables on two persistent worker processes
(:class:`plurel_core.workers.TableWorkers`: one pipe per worker, structures drawn ahead on
the worker that will run the table). This script runs the same schedule on a
``concurrent.futures.ProcessPoolExecutor(2)`` instead (same start method, same per-process
set-up and warm-up, the cyclic collector paused while a table runs), checks that every
run gives the tables of ``generate(config, seed, processes=0)``, and times, interleaved
per seed (the order rotates from run to run; with ``--repeat`` each seed's best run
counts, the least disturbed by other jobs):

* ``hand-made``: ``generate(config, seed, processes=2)`` on the shared table workers;
* ``hand-made, no ahead``: the same with no structure drawn ahead (``stage3._PREPARE_AHEAD``
  set to 0 for the call), which splits the difference into the protocol's part and the
  part of drawing ahead;
* ``pool``: the pool, no structure drawn ahead. A pool cannot send a table to the worker
  holding its structure, and a structure cannot travel back through this process either:
  ``table_task`` takes none, and a ``TableStructure`` does not pickle (its activations and
  sine sources are lambdas and closures; its compiled ufunc would be compiled again).

Then the round trip of a trivial request on each (``forget_prepared``, which has nothing
to drop). Prints seconds per seed, median / mean / total, the pool / hand-made ratio and
the load average before and after.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from plurel_core import Config, Database, assemble, generate, stage3, start_table_workers  # noqa: E402
from plurel_core import workers as table_workers  # noqa: E402
from plurel_core.budget import COMMAND_LINE_BUDGET  # noqa: E402
from plurel_core.connectivity import sample_foreign_keys  # noqa: E402
from plurel_core.database import Features, ForeignKeys, Schema  # noqa: E402
from plurel_core.schema import sample_schema  # noqa: E402
from plurel_core.scm import CHUNK_ROWS, TableSCM  # noqa: E402
from plurel_core.stage3 import conditioning_parents, start_priority, tables_ready  # noqa: E402
from plurel_core.workers import forget_prepared, process_context, table_task, warm_up  # noqa: E402
from tests.helpers import database_digest  # noqa: E402

POOL_SIZE = 2


# -- in the pool's worker processes ---------------------------------------------------------


def _init_worker() -> None:
    """The set-up of a table worker (plurel_core.workers._serve) and its warm-up."""
    table_workers._keep_freed_memory()
    table_workers._single_threaded_blas()
    warm_up()


def _table_on_pool(*args: object) -> tuple[TableSCM, pd.DataFrame]:
    """:func:`table_task` with the cyclic collector paused, as a table worker runs it
    (``_serve``: an SCM's many small objects would start a collection every few hundred)."""
    gc.disable()
    try:
        return table_task(*args)
    finally:
        gc.enable()


# -- Stage 3 on the pool ------------------------------------------------------------------------


def _tables_on_pool(
    pool: ProcessPoolExecutor,
    schema: Schema,
    foreign_keys: Callable[[], ForeignKeys],
    config: Config,
    seed: int,
) -> Features:
    """Every table on ``pool``, by the rule of ``plurel_core.stage3._tables_on_workers``: a
    table starts once its non-deferred earlier parents are done (those with foreign keys
    once Stage 2, run here meanwhile, is done), longest chain first, with 2 row-chunk
    threads when it runs alone."""
    order = list(schema.tables)
    deps = conditioning_parents(schema)
    chain = start_priority(schema, deps)
    features, post, window = config.features, config.postprocess, (schema.t0, schema.t1)
    raw: dict[str, TableSCM] = {}
    frames: dict[str, pd.DataFrame] = {}
    running: dict[Future, str] = {}  # → table
    started: set[str] = set()
    fks: ForeignKeys | None = None
    while len(raw) < len(order):
        ready = tables_ready(schema, deps, started, raw.keys(), fks is not None)
        ready.sort(key=lambda n: -chain[n])
        while ready and len(running) < POOL_SIZE:
            name = ready.pop(0)
            alone = not ready and not running
            parents = {p: TableSCM(raw[p].columns, trace=None) for p in deps[name]}
            samples = fks.for_table(name) if fks is not None else []
            args = (schema.tables[name], samples, parents, features, post, seed, window)
            args += (CHUNK_ROWS, POOL_SIZE if alone else 1)
            running[pool.submit(_table_on_pool, *args)] = name
            started.add(name)
        if fks is None:
            fks = foreign_keys()  # Stage 2, while the tables without foreign keys run
            continue
        if not running:
            raise RuntimeError(f"seed {seed}: no table can start; {sorted(set(order) - started)} left")
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            name = running.pop(future)
            raw[name], frames[name] = future.result()
    return Features({n: frames[n] for n in order}, {n: raw[n].trace for n in order})


def generate_on_pool(pool: ProcessPoolExecutor, config: Config, seed: int) -> Database:
    """:func:`plurel_core.generate` with Stage 3 on ``pool``."""
    config = config.validate()
    schema = sample_schema(config.schema, seed)
    COMMAND_LINE_BUDGET.check(schema, config.features)
    foreign_keys = functools.cache(lambda: sample_foreign_keys(schema, config.connectivity, seed))
    features = _tables_on_pool(pool, schema, foreign_keys, config, seed)
    return assemble(schema, foreign_keys(), features, seed)


# -- measuring --------------------------------------------------------------------------------


def _handmade_no_ahead(config: Config, seed: int) -> Database:
    """``generate(config, seed, processes=2)`` with no structure drawn ahead."""
    saved = stage3._PREPARE_AHEAD
    stage3._PREPARE_AHEAD = 0
    try:
        return generate(config, seed, processes=POOL_SIZE)
    finally:
        stage3._PREPARE_AHEAD = saved


def _seeds(text: str) -> list[int]:
    """``"0-19"`` or ``"3,5,8"`` (or a mix) → seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        try:
            seeds.extend(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            raise argparse.ArgumentTypeError(f"seeds: {text[:20]!r} is not like 0-19 or 3,5,8") from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds: {text[:20]!r} gives no non-negative seed")
    return seeds


def _round_trip_ms(call: Callable[[int], object], count: int) -> tuple[float, float]:
    """Median and mean milliseconds of ``count`` sequential calls ``call(k)``."""
    times = []
    for k in range(count):
        t = time.perf_counter()
        call(k)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), statistics.mean(times)


def _handmade_forget(workers: table_workers.TableWorkers, k: int) -> None:
    i = k % workers.count
    workers.submit(i, (), kind="forget")
    workers.result(i)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=_seeds, default=_seeds("0-19"), help="e.g. 0-19 or 3,5,8")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each seed on each; the best counts")
    parser.add_argument("--round-trips", type=int, default=200, help="trivial requests timed on each")
    args = parser.parse_args()
    if args.round_trips < 1 or args.repeat < 1:
        parser.error("--round-trips and --repeat must be >= 1")
    config = Config.preset(args.preset)
    load_start = os.getloadavg()
    print(f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}", flush=True)

    handmade = start_table_workers(POOL_SIZE)
    pool = ProcessPoolExecutor(POOL_SIZE, mp_context=process_context(), initializer=_init_worker)
    # both workers of each warmed up: the pool starts its processes on demand
    list(pool.map(time.sleep, [0.5] * POOL_SIZE))
    if not handmade.wait_ready(120):
        raise SystemExit("the hand-made table workers did not warm up")
    runs: dict[str, Callable[[int], Database]] = {
        "hand-made": lambda seed: generate(config, seed, processes=POOL_SIZE),
        "pool": lambda seed: generate_on_pool(pool, config, seed),
    }
    if hasattr(stage3, "_PREPARE_AHEAD"):
        runs["hand-made, no ahead"] = lambda seed: _handmade_no_ahead(config, seed)
    else:
        print("plurel_core.stage3 has no _PREPARE_AHEAD: the run without drawing ahead is left out")
    for run in runs.values():
        run(10_000)  # warm-up: caches on both sides

    times: dict[str, list[float]] = {label: [] for label in runs}
    labels = list(runs)
    for k, seed in enumerate(args.seeds):
        expected = database_digest(generate(config, seed, processes=0))
        best = dict.fromkeys(labels, float("inf"))
        for r in range(args.repeat):
            turn = (k * args.repeat + r) % len(labels)
            for label in labels[turn:] + labels[:turn]:
                t = time.perf_counter()
                db = runs[label](seed)
                best[label] = min(best[label], time.perf_counter() - t)
                if database_digest(db) != expected:
                    raise SystemExit(f"seed {seed}: {label} tables differ from generate(processes=0)")
        line = []
        for label in labels:
            times[label].append(best[label])
            line.append(f"{label} {best[label]:6.3f} s")
        print(f"seed {seed:3d} ({len(db.tables):2d} tables): " + "  ".join(line), flush=True)

    print(
        f"\n{args.preset}, {len(args.seeds)} seeds (best of {args.repeat} per seed), "
        "every run's tables identical to processes=0:"
    )
    for label in labels:
        t = times[label]
        print(
            f"  {label:20s} median {statistics.median(t):.3f} s  mean {statistics.mean(t):.3f} s  "
            f"total {sum(t):7.2f} s"
        )
    pairs = [("pool", "hand-made"), ("pool", "hand-made, no ahead"), ("hand-made, no ahead", "hand-made")]
    for a, b in pairs:
        if a in times and b in times:
            per_seed = statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))
            print(
                f"  {a} / {b}: total {sum(times[a]) / sum(times[b]):.3f}, "
                f"median of the per-seed ratios {per_seed:.3f}"
            )

    print(f"\nround trip of a trivial request, {args.round_trips} sequential (median / mean ms):")
    med, mean = _round_trip_ms(lambda k: _handmade_forget(handmade, k), args.round_trips)
    print(f"  hand-made submit(i, (), kind='forget') + result(i): {med:.3f} / {mean:.3f}")
    med, mean = _round_trip_ms(lambda k: pool.submit(forget_prepared).result(), args.round_trips)
    print(f"  pool.submit(forget_prepared).result():              {med:.3f} / {mean:.3f}")
    pool.shutdown()
    load_end = os.getloadavg()
    print(f"\nload average at end: {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")


if __name__ == "__main__":
    # the pool's tasks above are pickled by module and name: the worker processes (which
    # see an empty __main__) import this file as the module bench_pool
    import bench_pool

    bench_pool.main()
