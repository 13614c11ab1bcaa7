"""Stage-3 speed: paper-preset databases and one large activity table.

Run ``python benchmarks/bench_features.py [--seeds 20] [--skip-scale] [--workers N]``.
Prints the load average, then the median
seconds per database of ``generate(Config.preset("paper"), seed)`` (falling back to
hand-made foreign keys when Stage 2 is unavailable), feature cells per second, and the
seconds and peak RSS of one activity table of 1,000,000 rows with 20 feature columns and
3 parent tables of 100,000 rows.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from plurel_core.config import Config  # noqa: E402
from plurel_core.database import ColumnSpec, ForeignKeys, ForeignKeySample, ForeignKeySpec, Schema, TableSpec  # noqa: E402
from plurel_core.rng import stream  # noqa: E402
from plurel_core.stage3 import sample_features  # noqa: E402


def _uniform_fks(schema: Schema, seed: int) -> ForeignKeys:
    samples = {}
    for child, fk in schema.foreign_keys():
        rng = stream(seed, "bench", child, fk.name)
        n, pn = schema.tables[child].num_rows, schema.tables[fk.parent].num_rows
        samples[child, fk.name] = ForeignKeySample(child, fk, rng.integers(0, pn, n), None)
    return ForeignKeys(samples)


def bench_paper(seeds: int, workers: int | None = None) -> None:
    cfg = Config.preset("paper")
    times, cells = [], 0
    try:
        from plurel_core.generate import generate

        generate(cfg, 0)
        use_generate = True
    except NotImplementedError:
        from plurel_core.schema import sample_schema

        use_generate = False
    for seed in range(seeds):
        t = time.perf_counter()
        if use_generate:
            db = generate(cfg, seed) if workers is None else _generate_with(cfg, seed, workers)
            cells += sum(len(t.df) * len(t.feature_cols) for t in db.tables.values())
        else:
            schema = sample_schema(cfg.schema, seed)
            feats = sample_features(
                schema, _uniform_fks(schema, seed), cfg.features, cfg.postprocess, seed, workers=workers
            )
            cells += sum(df.size for df in feats.frames.values())
        times.append(time.perf_counter() - t)
    what = "generate()" if use_generate else "sample_schema + uniform FKs + sample_features"
    print(f"paper preset, {what}, seeds 0..{seeds - 1}")
    print(f"  median {statistics.median(times):.3f} s/db  (min {min(times):.3f}, max {max(times):.3f})")
    print(f"  {cells / sum(times):,.0f} feature cells/s")


def _generate_with(cfg: Config, seed: int, workers: int):
    from plurel_core.connectivity import sample_foreign_keys
    from plurel_core.generate import assemble
    from plurel_core.schema import sample_schema

    schema = sample_schema(cfg.schema, seed)
    fks = sample_foreign_keys(schema, cfg.connectivity, seed)
    feats = sample_features(schema, fks, cfg.features, cfg.postprocess, seed, workers=workers)
    return assemble(schema, fks, feats, seed)


def bench_scale(workers: int | None = None) -> None:
    cols = tuple(
        ColumnSpec(f"feature_{i}", "categorical", 5) if i % 2 else ColumnSpec(f"feature_{i}", "numerical")
        for i in range(20)
    )
    tables, fks, g = {}, [], nx.MultiDiGraph()
    for p in range(3):
        name = f"parent_{p}"
        tables[name] = TableSpec(name, "entity", 100_000, "row_idx", (), cols[:10])
        fks.append(ForeignKeySpec((f"foreign_row_{p}",), name, ("row_idx",)))
        g.add_edge(name, "events", key=fks[-1].name)
    tables["events"] = TableSpec(
        "events", "activity", 1_000_000, "row_idx", tuple(fks), cols, time_col="date"
    )
    t0, t1 = pd.Timestamp("2000-01-01"), pd.Timestamp("2020-01-01")
    schema = Schema(tables, g, "manual", t0, t1, t0, t1)
    rng = np.random.default_rng(0)
    samples = {
        ("events", fk.name): ForeignKeySample("events", fk, rng.integers(0, 100_000, 1_000_000), None)
        for fk in fks
    }
    cfg = Config()
    t = time.perf_counter()
    feats = sample_features(schema, ForeignKeys(samples), cfg.features, cfg.postprocess, 0, workers=workers)
    dt = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    tr = feats.scm["events"]
    print("scale case: 1,000,000-row activity table, 20 columns, 3 parents of 100,000 rows")
    print(f"  {dt:.1f} s, peak RSS {rss:.2f} GB  (SCM: {tr.layout}, {tr.graph.number_of_nodes()} nodes,")
    print(f"  {tr.graph.number_of_edges()} edges)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--workers", type=int, default=None, help="threads (default: sample_features')")
    args = ap.parse_args()
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    bench_paper(args.seeds, args.workers)
    if not args.skip_scale:
        bench_scale(args.workers)


if __name__ == "__main__":
    main()
