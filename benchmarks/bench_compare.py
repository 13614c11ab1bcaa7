"""Seconds to read a real SQLite database, compute its statistics, place it in a sweep and build its twin.

Run: ``python benchmarks/bench_compare.py [--real assets/real/chinook.sqlite] [--preset paper]
[--num-dbs 50] [--workers 2] [--repeat 5]``. Reading and statistics are timed ``--repeat``
times (median and range); the sweep, the twin and the HTML report once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plurel_core.compare import compare_real, report_html, synthetic_twin  # noqa: E402
from plurel_core.config import PRESETS, Config  # noqa: E402
from plurel_core.real import read_sqlite  # noqa: E402
from plurel_core.stats import database_stats  # noqa: E402


def _timed(fn, repeat: int) -> tuple[object, list[float]]:
    out, times = None, []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, times


def _show(label: str, times: list[float]) -> None:
    print(f"{label}: median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", default=str(ROOT / "assets" / "real" / "chinook.sqlite"))
    parser.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    parser.add_argument("--num-dbs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    config = Config.preset(args.preset)
    real, times = _timed(lambda: read_sqlite(args.real), args.repeat)
    _show(f"read {Path(args.real).name} ({sum(real.rows.values()):,} rows)", times)
    _, times = _timed(lambda: database_stats(real.db), args.repeat)
    _show("statistics", times)
    start = time.perf_counter()
    comparison = compare_real(real, config, args.num_dbs, workers=args.workers)
    flagged = int((comparison.placement["outside"] != "").sum())
    print(
        f"sweep of {args.num_dbs} {args.preset} databases, {args.workers} worker(s): "
        f"{time.perf_counter() - start:.1f} s; {flagged} of {len(comparison.placement)} statistics outside"
    )
    twin, times = _timed(lambda: synthetic_twin(real, config, 0), 1)
    _show("twin (seed 0)", times)
    page, times = _timed(lambda: report_html(comparison, twin, 0), 1)
    _show(f"HTML report ({len(page) / 1e6:.1f} MB)", times)
    return 0


if __name__ == "__main__":
    sys.exit(main())
