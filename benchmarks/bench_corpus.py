"""Corpus throughput and client memory.

    python benchmarks/bench_corpus.py [--throughput-dbs 8] [--memory-dbs 200] [--memory-preset small]

1. Throughput: databases per minute for the ``paper`` preset on a local cluster of 1 and of
   2 worker processes (same seeds), and the scaling efficiency rate(2) / (2 · rate(1)).
   Rates exclude the cluster start-up, which is printed separately.
2. Client memory: resident set size of the client process while it generates
   ``--memory-dbs`` databases, printed after 50, 100, 200, ... databases. Tables never
   travel back to the client and only a few tasks are in flight, so it must stay flat.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plurel_core import Config  # noqa: E402
from plurel_core.corpus import generate_corpus  # noqa: E402


def rss_mib() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(preset: str, num_dbs: int, fmt: str) -> float:
    """The same seeds generated and exported in a plain loop in this process (no Dask)."""
    from plurel_core import generate
    from plurel_core.export import export

    config = Config.preset(preset)
    generate(Config.preset("small"), 0)  # imports and first-call costs out of the timing
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for seed in range(num_dbs):
            export(generate(config, seed), fmt, Path(tmp) / f"{preset}-{seed}", config=config)
        work = time.perf_counter() - t0
    rate = 60.0 * num_dbs / work
    print(
        f"  plain loop, no Dask: {num_dbs} databases in {work:6.1f} s -> {rate:6.2f} databases/min",
        flush=True,
    )
    return rate


def throughput(preset: str, num_dbs: int, workers: int, fmt: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        result = generate_corpus(
            Config.preset(preset), num_dbs, tmp, fmt=fmt, workers=workers, progress=False, name=preset
        )
        assert result.ok, result.failed
        work = result.seconds - result.startup_seconds
        rate = 60.0 * num_dbs / work
        print(
            f"  {workers} worker(s): {num_dbs} databases in {work:6.1f} s (+{result.startup_seconds:.1f} s "
            f"cluster start) -> {rate:6.2f} databases/min",
            flush=True,
        )
        return rate


def memory(preset: str, num_dbs: int, workers: int, fmt: str) -> None:
    checkpoints = sorted({n for n in (50, 100, 200, 400, 800, num_dbs) if n <= num_dbs})
    done = 0
    print(f"  before: rss {rss_mib():7.1f} MiB, peak {peak_rss_mib():7.1f} MiB", flush=True)

    def on_record(rec: dict) -> None:
        nonlocal done
        done += 1
        if done in checkpoints:
            print(
                f"  after {done:4d} databases: rss {rss_mib():7.1f} MiB, peak {peak_rss_mib():7.1f} MiB",
                flush=True,
            )

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = generate_corpus(
            Config.preset(preset),
            num_dbs,
            tmp,
            fmt=fmt,
            workers=workers,
            progress=False,
            name=preset,
            on_record=on_record,
        )
        assert result.ok, result.failed
        print(
            f"  {num_dbs} {preset} databases in {time.perf_counter() - t0:.1f} s "
            f"({60 * num_dbs / (result.seconds - result.startup_seconds):.0f}/min)"
        )


def main() -> None:
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"note: load average {load:.1f} before starting; other processes skew the rates", flush=True)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--throughput-preset", default="paper")
    ap.add_argument("--throughput-dbs", type=int, default=8)
    ap.add_argument("--memory-preset", default="small")
    ap.add_argument("--memory-dbs", type=int, default=200)
    ap.add_argument("--format", default="parquet", choices=["parquet", "relbench", "sqlite"])
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()

    if not args.skip_throughput:
        print(f"throughput, preset {args.throughput_preset!r}, format {args.format}:", flush=True)
        r0 = baseline(args.throughput_preset, args.throughput_dbs, args.format)
        r1 = throughput(args.throughput_preset, args.throughput_dbs, 1, args.format)
        r2 = throughput(args.throughput_preset, args.throughput_dbs, 2, args.format)
        print(f"  1 worker vs plain loop: {r1 / r0:.0%} (Dask, stats, fsync and checksums included)")
        print(f"  scaling efficiency with 2 workers: {r2 / (2 * r1):.0%} (speed-up {r2 / r1:.2f}x)")
        print(f"  cores: {os.cpu_count()}, load average now: {os.getloadavg()[0]:.1f}")
    print(
        f"client memory, preset {args.memory_preset!r}, {args.memory_dbs} databases, 2 workers:", flush=True
    )
    memory(args.memory_preset, args.memory_dbs, 2, args.format)


if __name__ == "__main__":
    main()
