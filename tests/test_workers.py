"""Stage-3 table workers: same databases as in-process, errors and lost workers handled."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

import plurel_core
from plurel_core import Config, generate
from plurel_core.generate import sample_features, sample_foreign_keys, sample_schema
from plurel_core.workers import (
    TableWorkers,
    start_table_workers,
    stop_table_workers,
    table_workers,
    using_table_workers,
)
from tests.helpers import with_default_sigint


@pytest.fixture(scope="module")
def shared():
    w = start_table_workers(2)
    assert w.wait_ready(120)
    yield w
    stop_table_workers()


def _stage3(config: Config, seed: int, processes: int | None):
    schema = sample_schema(config.schema, seed)
    fks = sample_foreign_keys(schema, config.connectivity, seed)
    return sample_features(schema, fks, config.features, config.postprocess, seed, processes=processes)


def _assert_same(a, b) -> None:
    assert list(a.frames) == list(b.frames)
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name])
        ga, gb = a.scm[name].graph, b.scm[name].graph
        assert sorted(ga.edges(data="weight")) == sorted(gb.edges(data="weight"))
        assert a.scm[name].details["columns"] == b.scm[name].details["columns"]


@pytest.mark.parametrize(("preset", "seed"), [("small", 3), ("paper", 2), ("paper", 7)])
def test_workers_give_the_in_process_database(shared, preset, seed):
    # paper seeds 2 and 7 have several tables whose parents are done at the same time
    config = Config.preset(preset)
    with using_table_workers(shared):
        _assert_same(_stage3(config, seed, None), _stage3(config, seed, 0))
    db = generate(config, seed, processes=2)
    ref = generate(config, seed, processes=0)
    for name in ref.tables:
        pd.testing.assert_frame_equal(db.tables[name].df, ref.tables[name].df)


def test_busy_workers_leave_the_table_to_the_caller(shared):
    # another caller holds the workers: this one runs in-process, with the same result
    config = Config.preset("small")
    with shared.acquire() as held:
        assert held is shared
        with shared.acquire() as other:
            assert other is None
        with using_table_workers(shared):
            _assert_same(_stage3(config, 4, None), _stage3(config, 4, 0))


def test_started_workers_run_tables_only_where_the_caller_asks(shared):
    # started workers change nothing by themselves: a generation outside a
    # using_table_workers block (or in another thread while one is open) runs in its own
    # process; inside the block, or with processes=2, its tables go to the workers
    config = Config.preset("paper")
    tables: list[str] = []
    submit = shared.submit

    def recording_submit(i, args, kind="table"):
        if kind == "table":
            tables.append(args[0].name)
        submit(i, args, kind=kind)

    def runs_on_workers(run) -> bool:
        tables.clear()
        run()
        return bool(tables)

    shared.submit = recording_submit
    try:
        assert not runs_on_workers(lambda: generate(config, 2))
        assert runs_on_workers(lambda: generate(config, 2, processes=2))
        with using_table_workers(shared):
            assert runs_on_workers(lambda: generate(config, 2))
            assert not runs_on_workers(lambda: generate(config, 2, processes=0))
            with using_table_workers(None):  # an inner block overrides the outer one
                assert not runs_on_workers(lambda: generate(config, 2))
            other = threading.Thread(target=lambda: generate(config, 2))
            assert not runs_on_workers(lambda: (other.start(), other.join()))
        assert not runs_on_workers(lambda: generate(config, 2))
    finally:
        del shared.submit


def test_generation_leaves_the_callers_garbage_collector_alone(shared):
    # the cyclic collector is paused only inside the worker processes, never in the caller
    config = Config.preset("small")
    seen: list[bool] = []
    add_table = plurel_core.scm.table_with_frame

    def recording(*args, **kwargs):
        seen.append(gc.isenabled())
        return add_table(*args, **kwargs)

    frozen = gc.get_freeze_count()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plurel_core.scm, "table_with_frame", recording)
        _stage3(config, 3, 0)
    assert seen and all(seen) and gc.isenabled() and gc.get_freeze_count() == frozen
    with using_table_workers(shared):
        _stage3(config, 3, None)
    assert gc.isenabled()


def test_a_failing_table_raises_its_error_and_keeps_the_workers(shared):
    config = Config.preset("small")
    schema = sample_schema(config.schema, 5)
    first = next(iter(schema.tables.values()))
    window = (schema.t0, schema.t1)
    # encoder_knots=-1 is refused inside the worker, by the table's own validation
    bad = replace(config.features, encoder_knots=-1)
    shared.submit(0, (first, [], {}, bad, config.postprocess, 5, window, 8192))
    with pytest.raises(ValueError, match="encoder_knots"):
        shared.result(0)
    assert not shared.broken and shared.ready
    with using_table_workers(shared):
        _assert_same(_stage3(config, 5, None), _stage3(config, 5, 0))


def test_stage_2_runs_while_the_tables_without_foreign_keys_do(shared):
    # given a function for the foreign keys, the workers start the tables that have none
    # first; the function is called once, and the database is the same
    config = Config.preset("paper")
    seed = 7
    schema = sample_schema(config.schema, seed)
    roots = {name for name, spec in schema.tables.items() if not spec.foreign_keys}
    assert roots and len(roots) < len(schema.tables)
    started: list[str] = []
    submit = shared.submit

    def recording_submit(i, args, kind="table"):
        if kind == "table":
            started.append(args[0].name)
        submit(i, args, kind=kind)

    calls = []

    def foreign_keys():
        calls.append(list(started))
        return sample_foreign_keys(schema, config.connectivity, seed)

    shared.submit = recording_submit
    try:
        with using_table_workers(shared):
            lazy = sample_features(schema, foreign_keys, config.features, config.postprocess, seed)
    finally:
        del shared.submit
    assert len(calls) == 1 and calls[0] and set(calls[0]) <= roots
    _assert_same(lazy, _stage3(config, seed, 0))

    # Stage 2 failing: its error, once the tables in flight are done; the workers stay usable
    def failing():
        raise ValueError("no foreign keys today")

    with using_table_workers(shared), pytest.raises(ValueError, match="no foreign keys today"):
        sample_features(schema, failing, config.features, config.postprocess, seed)
    assert not shared.broken and shared.ready
    with using_table_workers(shared):
        _assert_same(_stage3(config, 4, None), _stage3(config, 4, 0))


def test_a_lost_worker_falls_back_to_in_process_and_restarts():
    w = start_table_workers(2)
    assert w.wait_ready(120)
    w._procs[1].kill()
    w._procs[1].join()
    config = Config.preset("paper")
    with using_table_workers(w):
        _assert_same(_stage3(config, 2, None), _stage3(config, 2, 0))
    assert w.broken and table_workers() is None
    again = start_table_workers(2)
    assert again is not w and again.wait_ready(120)
    with using_table_workers(again):
        _assert_same(_stage3(config, 7, None), _stage3(config, 7, 0))
    stop_table_workers()
    assert table_workers() is None


def test_bad_worker_counts_are_named():
    with pytest.raises(ValueError, match="processes"):
        TableWorkers(0)
    config = Config.preset("small")
    schema = sample_schema(config.schema, 0)
    fks = sample_foreign_keys(schema, config.connectivity, 0)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="processes"):
            sample_features(schema, fks, config.features, config.postprocess, 0, processes=bad)


def test_a_structure_drawn_ahead_is_used_only_by_its_own_table():
    from plurel_core import workers

    config = Config.preset("small")
    schema = sample_schema(config.schema, 6)
    spec = next(iter(schema.tables.values()))
    window = (schema.t0, schema.t1)
    args = (spec, [], {}, config.features, config.postprocess, 6, window, 8192, 256)
    fresh, fresh_frame = workers.table_task(*args)
    workers.prepare_task(spec, config.features, 6)
    drawn = workers._prepared[spec.name][3]
    ahead, ahead_frame = workers.table_task(*args)
    assert ahead.trace.graph is drawn.graph and spec.name not in workers._prepared  # used up
    pd.testing.assert_frame_equal(ahead_frame, fresh_frame)
    # drawn for another seed: not used, the table is drawn afresh
    workers.prepare_task(spec, config.features, 7)
    other = workers._prepared[spec.name][3]
    again, again_frame = workers.table_task(*args)
    assert again.trace.graph is not other.graph
    pd.testing.assert_frame_equal(again_frame, fresh_frame)
    workers.prepare_task(spec, config.features, 6)
    workers.forget_prepared()
    assert not workers._prepared


def test_a_table_drawn_ahead_never_starts_elsewhere_while_its_worker_draws_a_structure():
    # drawing a structure again on another worker would repeat work already done or under
    # way, while the worker holding it only draws a structure (its own or another table's,
    # no longer than this one would take): such a table waits for that worker (however the
    # timing falls out)
    config = Config.preset("paper")
    shared = start_table_workers(2)  # the running ones (an earlier test may have restarted them)
    assert shared.wait_ready(120)
    in_flight: dict[int, tuple[str, str | None]] = {}
    drawn_on: dict[str, int] = {}
    clashes: list[str] = []
    prepares: list[str] = []
    submit, result = shared.submit, shared.result

    def recording_submit(i, args, kind="table"):
        name = args[0].name if args else None
        if kind == "prepare":
            prepares.append(name)
            drawn_on[name] = i
        holder = drawn_on.get(name, i)
        if kind == "table" and holder != i and in_flight.get(holder, ("",))[0] == "prepare":
            clashes.append(name)
        in_flight[i] = (kind, name)
        submit(i, args, kind=kind)

    def recording_result(i):
        in_flight.pop(i, None)
        return result(i)

    shared.submit, shared.result = recording_submit, recording_result
    try:
        for seed in (5, 6, 8, 14):
            drawn_on.clear()
            with using_table_workers(shared):
                generate(config, seed)
    finally:
        del shared.submit, shared.result
    assert prepares and not clashes


def _run_script(
    tmp_path: Path, body: str, cwd: Path | None = None, new_session: bool = False
) -> subprocess.CompletedProcess:
    """Run ``body`` (indented Python) in a fresh interpreter that imports this checkout's
    plurel_core (in a process group of its own with ``new_session``); output captured."""
    repo = Path(plurel_core.__file__).resolve().parents[1]
    script = tmp_path / "run.py"
    script.write_text(f"import sys\nsys.path.insert(0, {str(repo)!r})\n" + textwrap.dedent(body))
    return subprocess.run(
        with_default_sigint([sys.executable, str(script)]),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        start_new_session=new_session,
    )


def test_workers_run_the_callers_copy_of_plurel_core_whatever_the_working_directory(tmp_path):
    # a fork server resolves imports from its working directory, not from the caller's
    # sys.path: another copy of plurel_core there (another checkout) must not be what
    # the workers run, or their tables would come from other code than the caller's
    work = tmp_path / "work"
    (work / "plurel_core").mkdir(parents=True)
    marker = tmp_path / "other_copy_imported"
    (work / "plurel_core" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    run = _run_script(
        tmp_path,
        """
        import pandas as pd
        from plurel_core import Config, generate, start_table_workers
        assert start_table_workers(2).wait_ready(120), "the table workers did not start"
        config = Config.preset("small")
        for seed in (3, 4):
            a, b = generate(config, seed, processes=2), generate(config, seed, processes=0)
            for name in b.tables:
                pd.testing.assert_frame_equal(a.tables[name].df, b.tables[name].df)
        """,
        cwd=work,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert not marker.exists()


@pytest.mark.parametrize("exit_call", ["os._exit(0)", "sys.exit(0)"])
def test_workers_end_quietly_when_their_parent_exits_first(tmp_path, exit_call):
    # the parent exits while the workers still warm up: os._exit without stopping them,
    # or sys.exit, whose clean-up closes their pipes before they have answered; either
    # way their answers go nowhere, and they must end without a traceback
    body = f"""
        import os
        from plurel_core import start_table_workers
        start_table_workers(2)
        {exit_call}
        """
    # stderr is read to its end, which comes once the workers (which share it) have ended
    run = _run_script(tmp_path, body)
    assert run.returncode == 0
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr, run.stderr[-3000:]


def test_ctrl_c_in_a_terminal_leaves_the_workers_to_their_parent(tmp_path):
    # Ctrl-C reaches every process of the terminal's foreground group: the parent gets
    # KeyboardInterrupt (and may carry on, as an interactive session does); its workers
    # neither print a traceback nor end, so its next database still uses them
    run = _run_script(
        tmp_path,
        """
        import os, signal, time
        import pandas as pd
        from plurel_core import Config, generate, start_table_workers
        workers = start_table_workers(2)
        assert workers.wait_ready(120), "the table workers did not start"
        try:
            os.killpg(0, signal.SIGINT)
            time.sleep(2)
        except KeyboardInterrupt:
            print("parent interrupted")
        config = Config.preset("small")
        a, b = generate(config, 3, processes=2), generate(config, 3, processes=0)
        for name in b.tables:
            pd.testing.assert_frame_equal(a.tables[name].df, b.tables[name].df)
        assert not workers.broken and all(p.is_alive() for p in workers._procs)
        """,
        new_session=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip() == "parent interrupted"
    assert "Traceback" not in run.stderr and "KeyboardInterrupt" not in run.stderr, run.stderr[-3000:]
