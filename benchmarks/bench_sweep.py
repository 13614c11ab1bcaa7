"""Wall-clock seconds of a sweep (default: 50 databases of the paper preset) with 1 and 2 workers.

Run: ``python benchmarks/bench_sweep.py [--preset paper] [--num-dbs 50] [--workers 1 2]``.
Also checks that every worker count gives the same table (generation time aside).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from plurel_core.config import PRESETS, Config  # noqa: E402
from plurel_core.sweep import sweep  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    parser.add_argument("--num-dbs", type=int, default=50)
    parser.add_argument("--seed-offset", type=int, default=0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    config = Config.preset(args.preset)
    tables: dict[int, pd.DataFrame] = {}
    for w in args.workers:
        start = time.perf_counter()
        tables[w] = sweep(config, args.num_dbs, args.seed_offset, workers=w)
        seconds = time.perf_counter() - start
        gen = tables[w]["generation_seconds"]
        print(
            f"{args.preset}: {args.num_dbs} databases, workers={w}: {seconds:.1f} s "
            f"({args.num_dbs / seconds:.2f} db/s; per database median {gen.median():.2f} s, max {gen.max():.2f} s)",
            flush=True,
        )
    first = tables[args.workers[0]].drop(columns="generation_seconds")
    for df in tables.values():
        pd.testing.assert_frame_equal(df.drop(columns="generation_seconds"), first)
    print(f"identical tables for workers {args.workers}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
