"""Throughput of the exact HSBM sampler: 10,000,000 child rows over 1,000,000 parent rows.

Run: ``python benchmarks/bench_hsbm.py [--children N] [--parents N] [--constraints]``.
Prints wall-clock seconds per hierarchy and the process's peak resident memory so far
(``resource.getrusage``; the figure only grows, so the plain cases run first).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import networkx as nx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from plurel_core.config import ConnectivityPriors  # noqa: E402
from plurel_core.connectivity import sample_block_matrices, sample_foreign_keys, sample_hsbm_parents  # noqa: E402
from plurel_core.database import ForeignKeySpec, Schema, TableSpec  # noqa: E402
from plurel_core.rng import stream  # noqa: E402

HIERARCHIES = {
    "1 level, 1x1 (uniform)": ((1,), (1,)),
    "2 levels, 3x3 / 3x3": ((3, 3), (3, 3)),
    "3 levels, asymmetric 3,1,2 / 1,3,2": ((3, 1, 2), (1, 3, 2)),
    "5 levels, 3^5 x 3^5 (largest)": ((3,) * 5, (3,) * 5),
}


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def bench_plain(num_parents: int, num_children: int) -> None:
    for name, (pc, cc) in HIERARCHIES.items():
        blocks = sample_block_matrices(stream(0, "bench", name), pc, cc, 0.9, (0.001, 0.002))
        start = time.perf_counter()
        rows, _ = sample_hsbm_parents(num_parents, num_children, pc, cc, blocks, stream(1, "bench", name))
        seconds = time.perf_counter() - start
        assert rows.min() >= 0 and rows.max() < num_parents
        print(f"{name:40s} {seconds:7.2f} s   peak RSS {peak_rss_mb():8.1f} MiB", flush=True)


def _schema(*tables: TableSpec) -> Schema:
    g = nx.MultiDiGraph()
    g.add_nodes_from(t.name for t in tables)
    t0 = pd.Timestamp("2000-01-01")
    return Schema({t.name: t for t in tables}, g, "bench", t0, t0, t0, t0)


def bench_constraints(num_parents: int, num_children: int) -> None:
    priors = ConnectivityPriors(levels=(5, 5), parent_clusters=(3, 3), child_clusters=(3, 3))

    def fk(col: str, parent: str, **kw: object) -> ForeignKeySpec:
        return ForeignKeySpec((col,), parent, ("row_idx",), **kw)

    cases = {
        f"self-reference, {num_children:,} rows": _schema(
            TableSpec("t", "entity", num_children, "row_idx", (fk("parent_id", "t", nullable=True),), ())
        ),
        f"one-to-one, {num_parents:,} over {num_parents:,}": _schema(
            TableSpec("p", "entity", num_parents, "row_idx", (), ()),
            TableSpec("c", "entity", num_parents, "row_idx", (fk("p_id", "p", one_to_one=True),), ()),
        ),
        f"junction, {num_parents:,} rows over 2,000 x 1,000": _schema(
            TableSpec("a", "entity", 2000, "row_idx", (), ()),
            TableSpec("b", "entity", 1000, "row_idx", (), ()),
            TableSpec(
                "a_b",
                "activity",
                num_parents,
                "row_idx",
                (fk("a_id", "a"), fk("b_id", "b")),
                (),
                unique_groups=(("a_id", "b_id"),),
            ),
        ),
    }
    for name, schema in cases.items():
        start = time.perf_counter()
        sample_foreign_keys(schema, priors, 0)
        seconds = time.perf_counter() - start
        print(f"{name:40s} {seconds:7.2f} s   peak RSS {peak_rss_mb():8.1f} MiB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000_000)
    parser.add_argument("--parents", type=int, default=1_000_000)
    parser.add_argument("--constraints", action="store_true", help="also time self-reference, 1:1, junction")
    args = parser.parse_args()
    print(f"HSBM: {args.children:,} children over {args.parents:,} parents")
    print(f"{'baseline':40s} {'':7s}     peak RSS {peak_rss_mb():8.1f} MiB")
    bench_plain(args.parents, args.children)
    if args.constraints:
        bench_constraints(args.parents, args.children)


if __name__ == "__main__":
    main()
