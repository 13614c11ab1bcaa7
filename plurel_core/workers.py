"""Worker processes: how they are started, and the persistent workers that run Stage-3 tables.

Stage 3 is Python-heavy (thousands of small MLPs per table), so threads cannot run two
tables at once; processes can. :class:`TableWorkers` keeps a few processes alive across
databases (started once, then reused), each answering requests over its own pipe: a
round trip costs well under a millisecond, so even tables of a few milliseconds gain from
running beside another. :func:`plurel_core.stage3.sample_features` hands them the tables whose
parents are done; a table's values do not depend on where it was computed.

Starting the workers costs about a second of CPU (imports and the compiled kernels), so
nothing starts or uses them implicitly: a long-lived user (the explorer app, a benchmark,
a notebook) starts them once with :func:`start_table_workers` and says where generations
use them, either per call (``generate(..., processes=2)``) or for a block of code::

    workers = start_table_workers(2)
    with using_table_workers(workers):
        db = generate(config, seed)  # its tables run on the workers

The block is scoped to the thread (and context) that enters it: a generation elsewhere
in the process still runs in its own process.

Why not ``concurrent.futures.ProcessPoolExecutor`` (which sweeps use): with the same
schedule it is about 5 % slower (``benchmarks/bench_pool.py``), what drawing structures
ahead saves, which needs requests addressed to the one worker that holds a structure. And
its workers wait on a queue whose writing end they hold themselves, so they would outlive
a caller that dies without shutting the pool down (killed, out of memory) unless a thread
watches the caller (:func:`exit_with_caller`); a table worker sees the end of its pipe.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import ctypes
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.reduction import ForkingPickler
from typing import Any

import pandas as pd

from .config import Config, FeaturePriors, PostprocessPriors
from .connectivity import sample_foreign_keys
from .database import ForeignKeySample, TableSpec
from .schema import sample_schema
from .scm import (
    TableSCM,
    TableStructure,
    remaining_tables,
    sample_table_structure,
    table_with_frame,
)

__all__ = [
    "exit_with_caller",
    "freeze_startup_heap",
    "process_context",
    "TableWorkers",
    "start_table_workers",
    "stop_table_workers",
    "table_workers",
    "using_table_workers",
    "workers_in_use",
]


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While a worker process is launched, show it an empty ``__main__``.

    A spawned or forkserver child re-runs the parent's main script before its task; under
    Streamlit that script is the app itself. Worker tasks live in this package, so workers
    never need the parent's ``__main__``.
    """
    main = sys.modules.get("__main__")
    placeholder = types.ModuleType("__main__")
    sys.modules["__main__"] = placeholder
    try:
        yield
    finally:
        if sys.modules.get("__main__") is placeholder and main is not None:
            sys.modules["__main__"] = main


class _ForkServerProcess(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        with _main_module_hidden():
            return multiprocessing.context.ForkServerProcess._Popen(process_obj)


class _SpawnProcess(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj):
        with _main_module_hidden():
            return multiprocessing.context.SpawnProcess._Popen(process_obj)


class _ForkServerContext(multiprocessing.context.ForkServerContext):
    Process = _ForkServerProcess


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnProcess


# what the fork server imports once for all its workers: the third-party libraries behind
# plurel_core (most of its import time), not plurel_core itself. The server resolves
# imports from its own working directory and site-packages, not from this process's
# sys.path (Python < 3.13 ignores it there), so it could load another copy of plurel_core
# (another checkout, an older install) and every worker would run that copy; a worker
# imports plurel_core itself, after it has taken this process's sys.path.
PRELOAD = ["numpy", "pandas", "networkx", "numba"]


def process_context() -> multiprocessing.context.BaseContext:
    """A start method for worker processes: forkserver (with :data:`PRELOAD` imported once
    in the server) where available, else spawn."""
    # never fork: the app and the dask corpus runner have threads, and a forked child
    # inherits their locks; forkserver starts workers from a clean, preloaded process
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = _ForkServerContext()
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return _SpawnContext()


def freeze_startup_heap() -> None:
    """Move every object alive now out of the cyclic garbage collector's reach.

    For a process this project starts (the command line, a sweep or corpus worker, the
    explorer's server), once its imports are done: the modules and compiled kernels live
    as long as the process, and each full collection would otherwise walk them again. A
    generation in such a process then spends about 5 % less CPU, the same as pausing the
    collector would save, while the collector keeps running. Never done to a caller's
    process: a notebook or a service that generates may do the same after its imports.
    """
    gc.collect()
    gc.freeze()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: os.kill said it exists


def exit_with_caller(caller: int, every: float = 1.0) -> None:
    """End this process (quietly) soon after process ``caller`` has ended.

    For the workers of a ``concurrent.futures`` process pool: they wait on a queue whose
    writing end they hold themselves, so a caller that dies without shutting the pool
    down (killed, out of memory) would leave them running for good. A daemon thread
    checks every ``every`` seconds.
    """

    def watch() -> None:
        while _alive(caller):
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="plurel-caller-watch").start()


# -- the table workers ------------------------------------------------------------------


def _keep_freed_memory() -> None:
    """Let glibc keep freed memory in this process instead of returning it at once.

    A table allocates and frees many arrays of 0.1–30 MB; by default each is a fresh
    mapping (or the heap top is trimmed after it), and touching fresh pages costs a page
    fault per 4 KiB, several microseconds each on virtual machines. Kept memory is reused
    without faults. Only done here, in processes this module owns.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 256 << 20)
    libc.mallopt(m_top_pad, 16 << 20)


# resident memory above which a worker hands its freed memory back after a request
_TRIM_ABOVE = 512 << 20


def _release_freed_memory() -> None:
    """After a large request, give the memory glibc kept (see :func:`_keep_freed_memory`)
    back to the system, so an idle worker does not hold the peak of its largest table."""
    if not sys.platform.startswith("linux"):
        return
    try:
        with open("/proc/self/statm") as f:
            resident = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        if resident > _TRIM_ABOVE:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, ValueError, AttributeError):
        pass


def _single_threaded_blas() -> None:
    """Keep BLAS to one thread in this process.

    Two table workers already keep both cores busy; a BLAS call large enough to be spread
    over threads makes its threads wait for cores that are taken and stalls the worker
    (a single such product per activation can slow a database by 40 %). Only done here,
    in processes this module owns.
    """
    # only the worker processes need it: ~30 ms of import the rest of the library is spared
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def _serve(conn: multiprocessing.connection.Connection) -> None:
    """A worker's loop: ``("warm",)`` loads the compiled kernels (:func:`warm_up`),
    ``("prepare", args)`` draws a table's structure ahead (:func:`prepare_task`),
    ``("forget",)`` drops unused ones, ``("table", args)`` runs :func:`table_task`; each
    gets one answer. ``None`` or a closed pipe ends it."""
    # Ctrl-C in a terminal reaches the whole process group: the parent decides what it
    # stops (closing the pipes ends the workers), so a worker neither dies mid-request
    # nor prints a KeyboardInterrupt traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _keep_freed_memory()
    _single_threaded_blas()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        # an SCM creates tens of thousands of small objects (weights, activations, MLPs),
        # and every few hundred of them would start a pass of the cyclic collector: it
        # stays paused until the answer is sent and dropped (this process is ours; the
        # caller's collector is never touched), then collects the young objects while the
        # caller reads the answer. Run earlier, it would walk the whole answer first.
        gc.disable()
        try:
            _answer(conn, msg)
            del msg
        finally:
            gc.enable()
        gc.collect(0)
        _release_freed_memory()


def _answer(conn: multiprocessing.connection.Connection, msg: tuple) -> None:
    """Carry out one request and send its answer: its result, or the exception it raised."""
    try:
        if msg[0] == "warm":
            warm_up()
            reply: tuple = ("ok", None)
        elif msg[0] == "prepare":
            reply = ("ok", prepare_task(*msg[1]))
        elif msg[0] == "forget":
            reply = ("ok", forget_prepared())
        else:
            reply = ("ok", table_task(*msg[1]))
    except BaseException as exc:  # sent back and raised by the caller
        reply = ("error", exc)
    try:
        data = ForkingPickler.dumps(reply)
    except Exception as exc:  # an exception that does not pickle
        data = ForkingPickler.dumps(("error", RuntimeError(f"{type(reply[1]).__name__}: {reply[1]} ({exc})")))
    # the parent has exited (or closed the pipe while this request ran): nobody reads the
    # answer, and the next receive ends the loop quietly instead of with a traceback
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.send_bytes(data)


class WorkerLost(RuntimeError):
    """A table worker process ended without answering (killed, out of memory, ...)."""


class TableWorkers:
    """``count`` persistent worker processes, each with its own pipe.

    Not for concurrent use: :meth:`acquire` hands them to one caller at a time (others run
    their tables in-process). Warm-up runs in the background; :attr:`ready` says whether
    every worker has finished it.
    """

    def __init__(self, count: int):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"processes: got {count!r}; expected an integer >= 1")
        ctx = process_context()
        self.count = count
        self._lock = threading.Lock()
        self._procs: list = []
        self._conns: list[multiprocessing.connection.Connection] = []
        self._warming: set[int] = set()
        self.broken = False
        for i in range(count):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(theirs,), daemon=True, name=f"plurel-table-{i}")
            proc.start()
            theirs.close()
            mine.send(("warm",))
            self._procs.append(proc)
            self._conns.append(mine)
            self._warming.add(i)

    @property
    def ready(self) -> bool:
        """Whether every worker has warmed up (checks without blocking)."""
        return self.wait_ready(0)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until every worker has warmed up (or ``timeout`` seconds); returns whether
        they have (``False`` too if one was lost)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for i in list(self._warming):
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not self.broken and self._conns[i].poll(left):
                    self._receive(i)
        except Exception:  # lost, or the warm-up failed: unusable
            self.broken = True
        return not self._warming and not self.broken

    def _receive(self, i: int) -> Any:
        try:
            status, value = self._conns[i].recv()
        except (EOFError, OSError) as exc:
            self.broken = True
            raise WorkerLost(f"table worker {i} ended without answering") from exc
        self._warming.discard(i)
        if status == "error":
            raise value
        return value

    @contextlib.contextmanager
    def acquire(self) -> Iterator[TableWorkers | None]:
        """The workers for one caller, or ``None`` when another caller has them or they
        are not (yet) usable."""
        if not self._lock.acquire(blocking=False):
            yield None
            return
        try:
            yield self if self.ready else None
        finally:
            self._lock.release()

    def submit(self, i: int, args: tuple, kind: str = "table") -> None:
        """Send worker ``i`` a request: a table (:func:`table_task`
        arguments), ``kind="prepare"`` (:func:`prepare_task` arguments) or
        ``kind="forget"`` (no arguments). Every request gets one answer (:meth:`result`)."""
        try:
            self._conns[i].send((kind, args))
        except OSError as exc:
            self.broken = True
            raise WorkerLost(f"table worker {i} is gone") from exc

    def wait_any(self, busy: list[int]) -> list[int]:
        """Block until one of the ``busy`` workers has answered; returns those that have."""
        conns = [self._conns[i] for i in busy]
        ready = multiprocessing.connection.wait(conns)
        return [i for i in busy if self._conns[i] in ready]

    def result(self, i: int) -> Any:
        """Worker ``i``'s answer (raises the table's exception, or :class:`WorkerLost`)."""
        return self._receive(i)

    def close(self) -> None:
        """Stop the workers (they finish the table in hand first, at most a few seconds)."""
        for conn in self._conns:
            with contextlib.suppress(Exception):
                conn.send(None)
            conn.close()
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        self._procs, self._conns = [], []
        self.broken = True


_shared: TableWorkers | None = None
_shared_lock = threading.Lock()


def start_table_workers(processes: int | None = None) -> TableWorkers:
    """Start (once per process) the shared table workers that later generations use.

    Returns at once; the workers warm up in the background and are used as soon as they
    are ready. Calling it again returns the running workers (restarting them if
    ``processes`` differs or they broke).

    Parameters
    ----------
    processes : int or None, default None
        Worker processes; by default the number of CPUs, at most 2 (Stage 3 of one
        database rarely has more independent tables at once).

    Returns
    -------
    TableWorkers
        The shared workers (:meth:`TableWorkers.wait_ready` waits for their warm-up).
    """
    global _shared
    if processes is None:
        processes = max(1, min(2, os.cpu_count() or 1))
    if multiprocessing.current_process().daemon:
        raise RuntimeError("table workers cannot start inside a daemonic worker process")
    with _shared_lock:
        if _shared is not None and (_shared.broken or _shared.count != processes):
            _shared.close()
            _shared = None
        if _shared is None:
            _shared = TableWorkers(processes)
        return _shared


def stop_table_workers() -> None:
    """Stop the shared table workers, if running (each finishes the table in hand first).

    Returns
    -------
    None
    """
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


def table_workers() -> TableWorkers | None:
    """The shared table workers, if :func:`start_table_workers` started them (and they are
    not broken). Generations use them only when asked (see :func:`using_table_workers`)."""
    shared = _shared
    return shared if shared is not None and not shared.broken else None


# the workers that generations in this thread (and context) use: set only by
# using_table_workers, so a library call never changes how an unrelated caller generates
_in_use: contextvars.ContextVar[TableWorkers | None] = contextvars.ContextVar(
    "table_workers_in_use", default=None
)


@contextlib.contextmanager
def using_table_workers(workers: TableWorkers | None) -> Iterator[TableWorkers | None]:
    """Within the block, Stage 3 of every generation (``generate``, ``sample_features``,
    sweeps ...) with the default ``processes=None`` runs its tables on ``workers``.

    The choice belongs to the current thread and context (a :class:`contextvars.ContextVar`),
    so concurrent callers, other threads and code after the block are unaffected. Nested
    blocks override the outer one; ``None`` means in this process.

    Parameters
    ----------
    workers : TableWorkers or None
        The workers to use (e.g. :func:`start_table_workers`'s), or ``None``. Workers that
        are still warming up, broken or held by another generation are skipped: that
        generation runs in this process instead, with the same values.

    Yields
    ------
    TableWorkers or None
        ``workers``.
    """
    token = _in_use.set(workers)
    try:
        yield workers
    finally:
        _in_use.reset(token)


def workers_in_use() -> TableWorkers | None:
    """The workers of the innermost :func:`using_table_workers` block around this call, if
    any and not broken."""
    workers = _in_use.get()
    return workers if workers is not None and not workers.broken else None


atexit.register(stop_table_workers)


# -- what a worker runs ---------------------------------------------------------------------
# (in the worker process: its tables' SCMs, with the cyclic collector paused)

_worker_threads: ThreadPoolExecutor | None = None


def table_task(
    spec: TableSpec,
    samples: list[ForeignKeySample],
    parents: dict[str, TableSCM],
    features: FeaturePriors,
    post: PostprocessPriors,
    seed: int,
    window: tuple,
    chunk_rows: int,
    threads: int = 1,
) -> tuple[TableSCM, pd.DataFrame]:
    """One table of :func:`sample_features` in a table worker process: its SCM (``parents``
    hold the raw columns of the tables it is conditioned on) and its post-processed frame.
    With ``threads > 1`` its row chunks (or the halves of a single large one) run on that
    many threads."""
    global _worker_threads
    pool = None
    if threads > 1:
        if _worker_threads is None or _worker_threads._max_workers != threads:
            _worker_threads = ThreadPoolExecutor(threads)
        pool = _worker_threads
    structure = None
    ahead = _prepared.pop(spec.name, None)
    if ahead is not None and ahead[:3] == (spec, features, seed):
        structure = ahead[3]
    return table_with_frame(spec, samples, parents, features, post, seed, window, chunk_rows, pool, structure)


# structures drawn ahead in this (worker) process, by table name: (spec, priors, seed, structure)
_prepared: dict[str, tuple[TableSpec, FeaturePriors, int, TableStructure]] = {}


def prepare_task(spec: TableSpec, features: FeaturePriors, seed: int) -> None:
    """Draw a table's structure ahead, in a table worker whose parents are not done yet;
    :func:`table_task` uses it if the same table (spec, priors, seed) comes next."""
    _prepared[spec.name] = (spec, features, seed, sample_table_structure(spec, features, seed))


def forget_prepared() -> None:
    """Drop the structures drawn ahead that no table used."""
    _prepared.clear()


def warm_up() -> None:
    """Load every compiled kernel once (the tables of a small database, in this process),
    so a fresh table worker's first real table does not pay for it."""
    config = Config.preset("small")
    schema = sample_schema(config.schema, 0)
    fks = sample_foreign_keys(schema, config.connectivity, 0)
    remaining_tables(schema, lambda: fks, config.features, config.postprocess, 0, {}, {})
