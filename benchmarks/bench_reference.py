"""The reference PluRel and this project side by side, in one run.

    python benchmarks/bench_reference.py --ref-python /path/to/refenv/bin/python [--seeds 5]

The reference (``snap-stanford/plurel``, PyPI ``plurel``) needs its own environment (Python
3.11, torch); give its interpreter with ``--ref-python`` or the ``PLUREL_REF_PYTHON``
environment variable. Without it, or when it cannot import ``plurel``, this says so and
exits 0. Otherwise both generate ``paper`` databases for seeds 0..N-1, interleaved seed by
seed (so both see the same machine load), and it prints seconds per database for each
and the ratio of their medians. The reference runs in a child process, timed there around
``SyntheticDataset(seed, Config()).make_db()`` alone (imports excluded).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plurel_core import Config, generate, start_table_workers, stop_table_workers  # noqa: E402

# runs in the reference's interpreter: reads seeds from stdin, prints wall and CPU seconds
# per seed
_REFERENCE_LOOP = """
import sys, time
from plurel import Config, SyntheticDataset
for line in sys.stdin:
    seed = int(line)
    t, c = time.perf_counter(), time.process_time()
    SyntheticDataset(seed=seed, config=Config()).make_db()
    print(time.perf_counter() - t, time.process_time() - c, flush=True)
"""


def _reference_ready(python: str) -> str | None:
    """None when ``python`` can import the reference, else why not."""
    if not Path(python).is_file():
        return f"no such interpreter: {python}"
    probe = subprocess.run(
        [python, "-c", "import plurel, torch"], capture_output=True, text=True, timeout=300
    )
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"{python} cannot import plurel: {last[:200]}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ref-python", default=os.environ.get("PLUREL_REF_PYTHON"))
    parser.add_argument(
        "--seeds", type=int, default=5, help="seeds 0..N-1 (the reference takes seconds each)"
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="table workers for this project (0: in process)"
    )
    args = parser.parse_args()
    if args.seeds < 1 or args.processes < 0:
        parser.error("--seeds must be >= 1 and --processes >= 0")
    if not args.ref_python:
        print(
            "reference environment not given (--ref-python or PLUREL_REF_PYTHON): nothing to compare; skipped"
        )
        return
    problem = _reference_ready(args.ref_python)
    if problem:
        print(f"reference environment not usable ({problem}): nothing to compare; skipped")
        return
    config = Config.preset("paper")
    if args.processes:
        start_table_workers(args.processes).wait_ready()
    generate(config, 10_000, processes=args.processes)  # warm-up
    # (tqdm reads TQDM_DISABLE: the reference's progress bars would flood the terminal)
    ref = subprocess.Popen(
        [args.ref_python, "-c", _REFERENCE_LOOP],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
    try:
        for seed in range(args.seeds):
            ref.stdin.write(f"{seed}\n")
            ref.stdin.flush()
            line = ref.stdout.readline().split()
            if len(line) != 2:
                print(f"the reference stopped at seed {seed} (exit code {ref.poll()}); see its message above")
                return
            theirs.append(float(line[0]))
            theirs_cpu.append(float(line[1]))
            t, c = time.perf_counter(), time.process_time()
            generate(config, seed, processes=args.processes)
            ours.append(time.perf_counter() - t)
            ours_cpu.append(time.process_time() - c)
            print(
                f"seed {seed:3d}: reference {theirs[-1]:7.3f} s ({theirs_cpu[-1]:7.3f} s CPU)   "
                f"here {ours[-1]:6.3f} s ({ours_cpu[-1]:6.3f} s CPU)",
                flush=True,
            )
    finally:
        ref.stdin.close()
        ref.wait()
        if args.processes:
            stop_table_workers()
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(
        f"\npaper, seeds 0-{args.seeds - 1}: reference median {mt:.3f} s/db, here {mo:.3f} s/db "
        f"({args.processes} table workers): {mt / mo:.1f}x"
    )
    co, ct = statistics.median(ours_cpu), statistics.median(theirs_cpu)
    if args.processes:
        print(f"CPU: reference median {ct:.3f} s/db (here: the workers' CPU time is not counted)")
    else:
        print(f"CPU: reference median {ct:.3f} s/db, here {co:.3f} s/db: {ct / co:.1f}x")


if __name__ == "__main__":
    main()
