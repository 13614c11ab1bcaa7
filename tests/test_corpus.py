"""Corpus generation on Dask: determinism across workers, resume, failures, interruption.

Every check compares files byte for byte with the same seeds exported one by one in this
process (what ``python -m plurel_core generate`` writes). A real multi-process cluster
(a scheduler and two worker processes on 127.0.0.1, run by this interpreter) is started once for the
module; every wait is bounded so a hung cluster fails the test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from plurel_core import Config, generate
from plurel_core.cli import build_parser, main
from plurel_core.corpus import (
    MANIFEST_NAME,
    CorpusError,
    _ManifestWriter,
    config_hash,
    corpus_command_line,
    file_checksums,
    generate_corpus,
    read_manifest,
    verify_database,
)
from plurel_core.export import export
from tests.helpers import with_default_sigint

REPO = Path(__file__).resolve().parents[1]
SMALL = Config.preset("small")
NAME = "small"  # what the CLI names databases of --preset small

pytestmark = pytest.mark.timeout(180)


# -- references and comparisons --------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """``reference(seed, fmt) -> {relative path: bytes}`` of one database exported on its own."""
    root = tmp_path_factory.mktemp("reference")
    cache: dict[tuple[int, str], dict[str, bytes]] = {}

    def get(seed: int, fmt: str) -> dict[str, bytes]:
        if (seed, fmt) not in cache:
            db = generate(SMALL, seed)
            if fmt == "sqlite":
                path = root / f"sqlite-{seed}"
                path.mkdir()
                export(db, "sqlite", path / f"{NAME}-{seed}.sqlite")
            else:
                path = root / f"{fmt}-{seed}"
                export(db, fmt, path, config=SMALL)
            cache[seed, fmt] = tree_bytes(path)
        return cache[seed, fmt]

    return get


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_matches_reference(out: Path, seeds, fmt: str, reference) -> None:
    for seed in seeds:
        got = tree_bytes(out / f"{NAME}-{seed}")
        want = reference(seed, fmt)
        assert sorted(got) == sorted(want), f"seed {seed}: files differ"
        for rel in want:
            assert got[rel] == want[rel], f"seed {seed}: {rel} differs from the one-by-one export"


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith((".tmp-", ".trash-")))


def ok_lines(out: Path) -> dict[int, int]:
    """How many ``ok`` manifest lines each seed has."""
    counts: dict[int, int] = {}
    for rec in read_manifest(out / MANIFEST_NAME):
        if rec["status"] == "ok":
            counts[rec["seed"]] = counts.get(rec["seed"], 0) + 1
    return counts


def file_identity(out: Path, seed: int) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every file of a database: unchanged ⇔ not rewritten."""
    root = out / f"{NAME}-{seed}"
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def manifest_lines(out: Path) -> int:
    path = out / MANIFEST_NAME
    return path.read_bytes().count(b"\n") if path.exists() else 0


# -- a real multi-process cluster -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Dask scheduler and two worker processes on 127.0.0.1, no dashboard.

    Yields ``(address, client)``; the client is the test's own view of the cluster.
    """
    from distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scratch = tmp_path_factory.mktemp("dask-scratch")
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # started through this interpreter: a fresh clone's venv is not on PATH, so a bare
    # ``dask`` would not be found (or would be some other installation's)
    env["PATH"] = os.defpath
    common = {"cwd": REPO, "env": env, "start_new_session": True}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(scratch / "scheduler.log", "w"),  # noqa: SIM115 - closed with the process
            **common,
        )
    ]
    client = None
    try:
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--host",
                        "127.0.0.1",
                    ]
                    + ["--no-dashboard", "--death-timeout", "60", "--local-directory", str(scratch)],
                    stdout=subprocess.DEVNULL,
                    stderr=open(scratch / f"worker-{i}.log", "w"),  # noqa: SIM115
                    **common,
                )
            )
        client = Client(address, timeout="60s")
        client.wait_for_workers(2, timeout=90)
        yield address, client
    finally:
        if client is not None:
            client.close(timeout=10)
        for p in reversed(procs):  # the processes (and their worker children) we started
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=15)


def _fail_seed(seed: int, counter_dir: str) -> None:
    """Runs on each worker: make ``generate`` raise for one seed, counting the attempts."""
    gen_module = sys.modules["plurel_core.corpus"]  # the module whose tasks call it
    original = getattr(gen_module, "_original_generate", gen_module.generate)

    def broken(config, s, **kwargs):
        if s == seed:
            with open(os.path.join(counter_dir, f"attempt-{os.getpid()}-{time.time_ns()}"), "w"):
                pass
            raise RuntimeError(f"injected failure for seed {s}")
        return original(config, s, **kwargs)

    gen_module._original_generate = original
    gen_module.generate = broken


def _restore_generate() -> None:
    gen_module = sys.modules["plurel_core.corpus"]
    if hasattr(gen_module, "_original_generate"):
        gen_module.generate = gen_module._original_generate
        del gen_module._original_generate


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "plurel_core", *args]


def run_cli(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, timeout=timeout)
    # decoded by hand: text mode would turn the progress bar's \r into \n
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


# -- determinism ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, workers", [("parquet", 2), ("sqlite", 2), ("relbench", 2), ("parquet", 1)])
def test_a_local_cluster_writes_the_same_bytes_as_databases_generated_one_by_one(
    tmp_path, reference, fmt, workers
):
    out = tmp_path / "corpus"
    result = generate_corpus(
        SMALL, 5, out, fmt=fmt, seed_offset=3, workers=workers, progress=False, name=NAME, timeout=150
    )
    assert result.ok and result.workers == workers
    assert result.generated == [3, 4, 5, 6, 7] and result.skipped == []
    assert_matches_reference(out, range(3, 8), fmt, reference)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        MANIFEST_NAME,
        *(f"{NAME}-{s}" for s in range(3, 8)),
    ]
    assert leftovers(out) == []

    records = read_manifest(out / MANIFEST_NAME)
    assert sorted(r["seed"] for r in records) == [3, 4, 5, 6, 7]
    for rec in records:
        assert rec["status"] == "ok" and rec["format"] == fmt
        assert rec["config_hash"] == config_hash(SMALL)
        assert rec["files"] == file_checksums(out / rec["dir"])
        assert rec["stats"]["tables"] == len(generate(SMALL, rec["seed"]).tables)
        assert rec["seconds"] > 0
    # with two workers, both generated some of the databases
    assert len({rec["worker"] for rec in records}) == workers


def test_cli_runs_on_an_existing_cluster(tmp_path, cluster, reference):
    address, _ = cluster
    out = tmp_path / "corpus"
    command = corpus_command_line("small", 5, "parquet", str(out), scheduler=address)
    argv = shlex.split(command)
    assert argv[:4] == ["python", "-m", "plurel_core", "corpus"]
    proc = run_cli(cli_argv(*argv[3:]))
    assert proc.returncode == 0, proc.stderr
    # the progress bar: redrawn in place, ending at 5/5
    assert "\r" in proc.stderr and "5/5 databases" in proc.stderr
    assert_matches_reference(out, range(5), "parquet", reference)
    assert ok_lines(out) == {s: 1 for s in range(5)}
    workers_used = {rec["worker"] for rec in read_manifest(out / MANIFEST_NAME)}
    assert workers_used <= set(cluster[1].scheduler_info()["workers"])


# -- failures ---------------------------------------------------------------------------------


def test_a_worker_killed_mid_run_does_not_lose_or_corrupt_databases(tmp_path, cluster, reference):
    address, client = cluster
    out = tmp_path / "corpus"
    n = 40
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = generate_corpus(
                SMALL, n, out, scheduler=address, progress=False, name=NAME, timeout=150
            )
        except BaseException as exc:  # surfaced by the assertions below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: manifest_lines(out) >= 2 or not thread.is_alive(), 90, "the first databases")
    busy = {w: keys for w, keys in client.processing().items() if keys}
    done_at_kill = manifest_lines(out)
    assert busy and done_at_kill < n, "the run must still be going when a worker is killed"
    victim = next(iter(busy))
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)  # the worker process, mid-task; its nanny starts a new one

    thread.join(timeout=160)
    assert not thread.is_alive(), "corpus run did not finish"
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert result.ok and result.generated == list(range(n))
    assert_matches_reference(out, range(n), "parquet", reference)
    assert ok_lines(out) == {s: 1 for s in range(n)}
    assert leftovers(out) == []
    client.wait_for_workers(2, timeout=60)  # leave the cluster whole for the other tests


def test_a_database_that_keeps_failing_is_recorded_and_exits_1(tmp_path, cluster, reference, capsys):
    address, client = cluster
    out = tmp_path / "corpus"
    counter = tmp_path / "attempts"
    counter.mkdir()
    client.run(_fail_seed, 2, str(counter))
    try:
        argv = ["corpus", "--preset", "small", "--num-dbs", "4", "--format", "parquet"]
        code = main([*argv, "--out", str(out), "--scheduler", address, "--no-progress"])
    finally:
        client.run(_restore_generate)
    err = capsys.readouterr().err
    assert code == 1
    assert "1 database(s) failed" in err and f"{NAME}-2: RuntimeError: injected failure for seed 2" in err
    # Dask ran the task 1 + 2 retries times before it was given up
    assert len(list(counter.iterdir())) == 3
    records = read_manifest(out / MANIFEST_NAME)
    failed = [r for r in records if r["status"] == "failed"]
    assert [r["seed"] for r in failed] == [2]
    assert "injected failure" in failed[0]["error"] and "broken" in failed[0]["traceback"]
    assert ok_lines(out) == {0: 1, 1: 1, 3: 1}
    assert not (out / f"{NAME}-2").exists() and leftovers(out) == []

    # once the cause is gone, rerunning fills the gap and touches nothing else
    before = {s: file_identity(out, s) for s in (0, 1, 3)}
    code = main([*argv, "--out", str(out), "--scheduler", address, "--no-progress"])
    assert code == 0
    assert {s: file_identity(out, s) for s in (0, 1, 3)} == before
    assert ok_lines(out) == {s: 1 for s in range(4)}
    assert_matches_reference(out, range(4), "parquet", reference)


# -- resume -----------------------------------------------------------------------------------


def test_ctrl_c_leaves_only_complete_databases_and_a_rerun_regenerates_none_of_them(tmp_path, reference):
    out = tmp_path / "corpus"
    n = 20
    args = ["corpus", "--preset", "small", "--num-dbs", str(n), "--format", "sqlite", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        with_default_sigint(cli_argv(*args, "--workers", "2")),
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(lambda: manifest_lines(out) >= 3 or proc.poll() is not None, 90, "the first databases")
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    wait_for(lambda: not process_group_alive(proc.pid), 20, "the local cluster's processes to exit")

    # nothing partial: no temporary folders, every database folder present is complete
    assert leftovers(out) == []
    present = sorted(int(p.name.rsplit("-", 1)[1]) for p in out.glob(f"{NAME}-*"))
    assert 3 <= len(present) < n
    assert_matches_reference(out, present, "sqlite", reference)
    finished = sorted(ok_lines(out))
    assert set(finished) <= set(present)
    for rec in read_manifest(out / MANIFEST_NAME):
        assert verify_database(out / rec["dir"], rec["files"]) is None
    before = {s: file_identity(out, s) for s in finished}

    # a crash while appending leaves a truncated last line: tolerated
    with open(out / MANIFEST_NAME, "ab") as f:
        f.write(b'{"status": "ok", "name": "small", "seed": 1')

    proc = run_cli(cli_argv(*args, "--workers", "2", "--no-progress"))
    assert proc.returncode == 0, proc.stderr
    assert f"{len(finished)} already complete" in proc.stderr
    assert {s: file_identity(out, s) for s in finished} == before  # not rewritten
    assert ok_lines(out) == {s: 1 for s in range(n)}
    assert_matches_reference(out, range(n), "sqlite", reference)
    for line in (out / MANIFEST_NAME).read_bytes().splitlines():
        json.loads(line)  # the truncated line was cut, not continued


def test_corrupt_partial_and_missing_databases_are_regenerated_on_resume(tmp_path, cluster, reference):
    address, _ = cluster
    out = tmp_path / "corpus"
    kw = {"fmt": "parquet", "scheduler": address, "progress": False, "name": NAME, "timeout": 120}
    assert generate_corpus(SMALL, 6, out, **kw).generated == list(range(6))
    untouched = {s: file_identity(out, s) for s in (0, 5)}

    victim = sorted((out / f"{NAME}-1").iterdir())[0]  # one flipped byte
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    sorted((out / f"{NAME}-2").iterdir())[-1].unlink()  # a file missing
    (out / f"{NAME}-3" / "stray.parquet").write_bytes(b"x")  # a file too many
    for p in (out / f"{NAME}-4").iterdir():  # the folder gone
        p.unlink()
    (out / f"{NAME}-4").rmdir()

    result = generate_corpus(SMALL, 6, out, **kw)
    assert result.ok
    assert result.skipped == [0, 5] and result.generated == [1, 2, 3, 4]
    assert {s: file_identity(out, s) for s in (0, 5)} == untouched
    assert_matches_reference(out, range(6), "parquet", reference)
    assert leftovers(out) == []
    # the newest line of each regenerated database describes the new files
    latest = {r["seed"]: r for r in read_manifest(out / MANIFEST_NAME)}
    for s in range(6):
        assert verify_database(out / f"{NAME}-{s}", latest[s]["files"]) is None


# -- input checks and helpers (no cluster) ------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ["--preset", "small", "--num-dbs", "0", "--format", "parquet"],
        ["--preset", "small", "--num-dbs", "2", "--format", "parquet", "--seed-offset", "-1"],
        ["--preset", "nope", "--num-dbs", "2", "--format", "parquet"],
        ["--preset", "small", "--num-dbs", "2", "--format", "csv"],
        ["--preset", "small", "--config", "x.json", "--num-dbs", "2", "--format", "parquet"],
        ["--preset", "small", "--num-dbs", "2", "--format", "parquet", "--workers", "0"],
        [
            "--preset",
            "small",
            "--num-dbs",
            "2",
            "--format",
            "parquet",
            "--workers",
            "2",
            "--scheduler",
            "tcp://x:1",
        ],
        ["--config", "/nonexistent/cfg.json", "--num-dbs", "2", "--format", "parquet"],
        ["--preset", "small", "--schema", "/nonexistent/s.sql", "--num-dbs", "2", "--format", "parquet"],
    ],
)
def test_bad_input_exits_2_without_starting_anything(tmp_path, capsys, extra):
    out = tmp_path / "corpus"
    assert main(["corpus", *extra, "--out", str(out)]) == 2
    assert "error" in capsys.readouterr().err
    assert not out.exists() or not any(out.glob(f"{NAME}-*"))


def test_bad_schema_sql_exits_2(tmp_path, capsys):
    sql = tmp_path / "bad.sql"
    sql.write_text("CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER REFERENCES nowhere(id));")
    argv = ["corpus", "--preset", "small", "--schema", str(sql), "--num-dbs", "2", "--format", "parquet"]
    assert main([*argv, "--out", str(tmp_path / "c")]) == 2
    assert "error" in capsys.readouterr().err


def test_an_out_dir_holding_other_priors_under_the_same_name_is_refused(tmp_path, capsys):
    out = tmp_path / "corpus"
    out.mkdir()
    other = SMALL.with_value("schema.num_tables", (3, 3))
    rec = {"status": "ok", "name": "small", "seed": 0, "format": "parquet", "config_hash": config_hash(SMALL)}
    (out / MANIFEST_NAME).write_text(json.dumps({**rec, "dir": "small-0", "files": {}}) + "\n")
    cfg = tmp_path / "small.json"  # a config file names its databases after its stem
    cfg.write_text(other.to_json())
    code = main(["corpus", "--config", str(cfg), "--num-dbs", "1", "--format", "parquet", "--out", str(out)])
    assert code == 2
    assert "config hash" in capsys.readouterr().err
    with pytest.raises(CorpusError, match="format"):
        generate_corpus(SMALL, 1, out, fmt="sqlite", name="small", progress=False)


def test_config_hash_covers_priors_and_schema_sql():
    h = config_hash(SMALL)
    assert h == config_hash(Config.from_json(SMALL.to_json()))
    assert h != config_hash(SMALL.with_value("features.embedding_dim", 16))
    assert h != config_hash(SMALL, "CREATE TABLE t (id INTEGER PRIMARY KEY);")
    assert len(h) == 64


def test_manifest_tolerates_a_truncated_last_line_and_never_appends_onto_it(tmp_path):
    path = tmp_path / MANIFEST_NAME
    good = {"status": "ok", "name": "n", "seed": 0}
    path.write_bytes(json.dumps(good).encode() + b"\n" + b'{"status": "ok", "se')
    assert read_manifest(path) == [good]
    writer = _ManifestWriter(path)
    writer.append({"status": "failed", "name": "n", "seed": 1, "error": "x", "value": float("nan")})
    writer.close()
    records = read_manifest(path)
    assert [r["seed"] for r in records] == [0, 1]
    assert records[1]["value"] is None  # strict JSON: NaN becomes null
    assert path.read_bytes().endswith(b"\n")


def test_corpus_command_line_is_a_valid_command():
    cmd = corpus_command_line("paper", 1024, "relbench", "out dir", seed_offset=7, workers=4)
    assert cmd == (
        "python -m plurel_core corpus --preset paper --num-dbs 1024 --seed-offset 7 "
        "--format relbench --out 'out dir' --workers 4"
    )
    cmd = corpus_command_line(
        "my priors.json", 10, "sqlite", "c", schema_path="s.sql", scheduler="tcp://h:8786"
    )
    args = build_parser().parse_args(shlex.split(cmd)[3:])
    assert (args.config, args.schema, args.num_dbs, args.format, args.out, args.scheduler) == (
        "my priors.json",
        "s.sql",
        10,
        "sqlite",
        "c",
        "tcp://h:8786",
    )
    with pytest.raises(ValueError, match="fmt"):
        corpus_command_line("paper", 10, "csv", "c")
    with pytest.raises(ValueError, match="num_dbs"):
        corpus_command_line("paper", 0, "parquet", "c")


def _worker_ctrl_c_setup() -> tuple[bool, bool]:
    import logging
    import signal as signals

    from plurel_core.corpus import quiet_heartbeat_failures

    return (
        signals.getsignal(signals.SIGINT) is signals.SIG_IGN,
        quiet_heartbeat_failures in logging.getLogger("distributed.worker").filters,
    )


def test_local_workers_leave_ctrl_c_to_the_client_and_say_nothing_of_its_closed_scheduler() -> None:
    # after Ctrl-C the client closes the local cluster; a worker whose heartbeat then finds
    # the scheduler gone must not print a traceback (other worker messages still pass)
    import logging

    from plurel_core.corpus import _shutdown, _start_client, quiet_heartbeat_failures

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("distributed.worker", logging.ERROR, __file__, 1, msg, None, None)

    assert not quiet_heartbeat_failures(record("Failed to communicate with scheduler during heartbeat."))
    assert quiet_heartbeat_failures(record("Unexpected exception during heartbeat. Closing worker."))
    # (a dashboard port already taken, as by another cluster, must not bring a warning)
    taken = socket.socket()
    with contextlib.suppress(OSError):
        taken.bind(("127.0.0.1", 8787))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cluster, client = _start_client(None, 1)
        try:
            assert list(client.run(_worker_ctrl_c_setup).values()) == [(True, True)]
            http = cluster.scheduler.http_server
            assert http.address == "127.0.0.1" and http.port != 8787
        finally:
            _shutdown(client, cluster, [])
    finally:
        taken.close()
