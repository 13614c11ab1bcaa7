"""Generation speed of whole databases.

    python benchmarks/bench_generate.py [--preset paper] [--seeds 20]

Prints seconds per database (median, min, max) and generated cells per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plurel_core import Config, generate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    args = parser.parse_args()
    config = Config.preset(args.preset)
    generate(config, 10_000)  # warm-up: imports, caches
    times, cells = [], []
    for seed in range(args.seeds):
        t = time.perf_counter()
        db = generate(config, seed)
        times.append(time.perf_counter() - t)
        cells.append(db.summary()["cells"])
        print(
            f"seed {seed:3d}: {times[-1]:6.3f} s  {len(db.tables):2d} tables  {cells[-1]:>9,d} cells",
            flush=True,
        )
    print(
        f"\n{args.preset}, seeds 0-{args.seeds - 1}: median {statistics.median(times):.3f} s/db "
        f"(min {min(times):.3f}, max {max(times):.3f}); "
        f"{sum(cells) / sum(times):,.0f} cells/s overall"
    )


if __name__ == "__main__":
    main()
