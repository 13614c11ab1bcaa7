"""Generation speed of whole databases.

    python benchmarks/bench_generate.py [--preset paper] [--seeds 20] [--processes 2]

Generates seeds 0..N-1 twice: in this process only, and with ``--processes`` Stage-3 table
workers (started and warmed up before timing; what the explorer app uses). Prints seconds
per database (median, min, max) and generated cells per second for each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plurel_core import Config, generate, start_table_workers, stop_table_workers  # noqa: E402


def _run(config: Config, seeds: int, processes: int, label: str) -> None:
    generate(config, 10_000, processes=processes)  # warm-up: imports, caches
    times, cells = [], []
    for seed in range(seeds):
        t = time.perf_counter()
        db = generate(config, seed, processes=processes)
        times.append(time.perf_counter() - t)
        cells.append(db.summary()["cells"])
        print(
            f"{label} seed {seed:3d}: {times[-1]:6.3f} s  {len(db.tables):2d} tables  {cells[-1]:>9,d} cells",
            flush=True,
        )
    print(
        f"\n{label}, seeds 0-{seeds - 1}: median {statistics.median(times):.3f} s/db "
        f"(min {min(times):.3f}, max {max(times):.3f}); "
        f"{sum(cells) / sum(times):,.0f} cells/s overall\n",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    parser.add_argument(
        "--processes", type=int, default=2, help="Stage-3 table workers for the second run (0: skip it)"
    )
    args = parser.parse_args()
    if args.seeds < 1 or args.processes < 0:
        parser.error("--seeds must be >= 1 and --processes >= 0")
    config = Config.preset(args.preset)
    _run(config, args.seeds, 0, f"{args.preset} in-process")
    if args.processes:
        start_table_workers(args.processes).wait_ready()
        _run(config, args.seeds, args.processes, f"{args.preset} {args.processes} table workers")
        stop_table_workers()


if __name__ == "__main__":
    main()
