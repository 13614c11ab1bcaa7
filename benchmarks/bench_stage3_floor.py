"""Stage 3's unavoidable work, and the least time it can take on this machine.

    python benchmarks/bench_stage3_floor.py [--preset paper] [--seeds 20] [--repeat 5]

Every row is exact, so each database has a fixed amount of kernel work: the encoder and
decoder MLPs (per-row 32 x 32 products, 1 -> 32 outer products, small decoder products), their
activations (values per activation function) and the Beta noise (one draw per row, embedding
dimension and non-source node), the aggregation (a fold of every parent embedding of every
row) and drawing the SCM structures (graphs, thousands of weight matrices). This script

1. measures the best rate of each kernel here (in cache, best of ``--repeat``): ns per row of
   a stacked 32 x 32 product (``mechanisms.matmul_rows``), per row of a 1 -> 32 outer product,
   per value of each registered activation, per Beta draw (``draws.beta_values``), per row and
   parent of each aggregation's compiled fold;
2. generates seeds 0..N-1 in this process, counting that work and the CPU time spent
   drawing structures (by wrapping those functions for the count, then timing a second,
   unwrapped run of the same seed);
3. prints per database the wall and CPU seconds, the work, and three *floors*: the CPU
   seconds of the MLP, activation and Beta work at the best rates, with nothing else; that
   plus the aggregation at its best rates (``+agg``); and that plus the structure drawing as
   measured (still no Python between kernels, sources or post-processing); each also halved
   (both cores, perfectly shared).

A floor is a lower bound for what these kernels can do, not an estimate of what is reachable.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plurel_core import Config, draws, generate, mechanisms, scm  # noqa: E402
from plurel_core.activation_kernels import KINDS  # noqa: E402

F32 = np.float32


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def kernel_rates(repeat: int) -> dict[str, float]:
    """Best ns per unit of each kernel: ``product`` (a row of a 32 x 32 product), ``outer`` (a
    row of a 1 -> 32 outer product), ``beta`` (a Beta draw), ``act:NAME`` (a value)."""
    rng = np.random.default_rng(0)
    rates = {}
    members, rows, d = 16, 2048, 32
    x = rng.standard_normal((members, rows, d)).astype(F32)
    w = rng.standard_normal((members, d, d)).astype(F32)
    mechanisms.matmul_rows(x, w)
    rates["product"] = _best(lambda: mechanisms.matmul_rows(x, w), repeat) / (members * rows) * 1e9
    x1 = rng.standard_normal((members, rows, 1)).astype(F32)
    w1 = rng.standard_normal((members, 1, d)).astype(F32)
    mechanisms.matmul_rows(x1, w1)
    rates["outer"] = _best(lambda: mechanisms.matmul_rows(x1, w1), repeat) / (members * rows) * 1e9
    draws_n = 1 << 18
    for a, b in ((0.5, 0.5), (1.0, 3.0), (2.5, 2.5), (5.0, 0.7)):
        draws.beta_values(1, 0, (draws_n,), a, b)
    beta = [
        _best(lambda a=a, b=b: draws.beta_values(7, 0, (draws_n,), a, b), repeat)
        for a, b in ((0.5, 0.5), (1.0, 3.0), (2.5, 2.5), (5.0, 0.7))
    ]
    rates["beta"] = statistics.mean(beta) / draws_n * 1e9
    # the fold of per-row parents (each reads its own block of rows, as in a chunk)
    parents, rows = 16, 1024
    values = rng.standard_normal((parents * rows, d)).astype(F32)
    codes = np.arange(rows, dtype=np.int32)[None]
    for name, kind in mechanisms._AGG_CODES.items():
        fold = mechanisms.GatheredAggregation.of_values(
            name, values, np.arange(parents, dtype=np.int64) * rows, codes, np.zeros(parents, np.int64), 1e4
        )
        noise = np.zeros((rows, d), dtype=F32)
        fold.rows(0, noise)
        rates[f"agg:{kind}"] = (
            _best(lambda fold=fold, noise=noise: fold.rows(0, noise), repeat) / (parents * rows) * 1e9
        )
    # activations on a block that stays in cache, values as a hidden layer sees them
    block = (rng.standard_normal(1 << 16) * 3).astype(F32)
    for name in mechanisms.ACTIVATIONS:
        fn = mechanisms.ACTIVATIONS[name](np.random.default_rng(1))
        work = block.copy()

        def run(fn=fn, work=work):
            work[...] = block
            y = fn(work)
            if y is not work:
                work[...] = y

        run()
        copy = _best(lambda work=work: work.__setitem__(Ellipsis, block), repeat)
        rates[f"act:{name}"] = max(_best(run, repeat) - copy, 0.0) / block.size * 1e9
    return rates


class WorkCounter:
    """Counts Stage 3's kernel work while installed (wraps the kernels' entry points and the
    structure drawing)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._saved = {}

    def __enter__(self) -> WorkCounter:
        matmul_rows = mechanisms.matmul_rows
        run_activations = mechanisms._run_activations
        beta_values = scm.beta_values
        fold = mechanisms._aggregate_rows
        structure = scm.sample_table_structure
        self._saved = {
            "matmul_rows": matmul_rows,
            "activations": run_activations,
            "beta": beta_values,
            "fold": fold,
            "structure": structure,
        }
        counts, lock = self.counts, self._lock

        def counted_matmul(x, w, out=None):
            k, o = x.shape[-1], w.shape[-1]
            rows = x.shape[-2] * max(int(np.prod(x.shape[:-2])), int(np.prod(w.shape[:-2])))
            with lock:
                counts["product" if (k, o) == (32, 32) else "outer" if k == 1 else "small"] += rows
                counts["macs"] += rows * k * o
            return matmul_rows(x, w, out=out)

        def counted_activations(h, plan):
            with lock:
                for kind in plan.kinds.tolist():
                    # (kind -1: an activation registered without a compiled kind)
                    counts[f"act:{KINDS[kind] if kind >= 0 else '?'}"] += h.shape[1] * h.shape[2]
            return run_activations(h, plan)

        def counted_beta(key, start, shape, alpha, beta, scale=1.0):
            with lock:
                counts["beta"] += int(np.prod(shape))
            return beta_values(key, start, shape, alpha, beta, scale)

        def counted_fold(kind, values, signs, mant, expo, offsets, *rest):
            rows = rest[-3].shape[0]  # out
            with lock:
                counts[f"agg:{kind}"] += rows * offsets.shape[0]
            return fold(kind, values, signs, mant, expo, offsets, *rest)

        def timed_structure(*args, **kwargs):
            t = time.thread_time()
            try:
                return structure(*args, **kwargs)
            finally:
                with lock:
                    counts["structure_ns"] += int((time.thread_time() - t) * 1e9)

        mechanisms.matmul_rows = counted_matmul
        mechanisms._run_activations = counted_activations
        scm.beta_values = counted_beta
        mechanisms._aggregate_rows = counted_fold
        scm.sample_table_structure = timed_structure
        return self

    def __exit__(self, *exc) -> None:
        mechanisms.matmul_rows = self._saved["matmul_rows"]
        mechanisms._run_activations = self._saved["activations"]
        scm.beta_values = self._saved["beta"]
        mechanisms._aggregate_rows = self._saved["fold"]
        scm.sample_table_structure = self._saved["structure"]


def floor_seconds(counts: dict[str, int], rates: dict[str, float]) -> float:
    """CPU seconds of the counted work at the best rates (small decoder products counted at
    the 32 x 32 product's rate per multiply-add)."""
    ns = counts.get("product", 0) * rates["product"] + counts.get("outer", 0) * rates["outer"]
    small_macs = counts.get("macs", 0) - 1024 * counts.get("product", 0) - 32 * counts.get("outer", 0)
    ns += max(small_macs, 0) * rates["product"] / 1024
    ns += counts.get("beta", 0) * rates["beta"]
    ns += sum(v * rates.get(k, 0.0) for k, v in counts.items() if k.startswith("act:"))
    return ns / 1e9


def wider_floor_seconds(counts: dict[str, int], rates: dict[str, float]) -> float:
    """:func:`floor_seconds` plus the aggregation at its best rates and the structure drawing
    as measured."""
    ns = sum(v * rates.get(k, 0.0) for k, v in counts.items() if k.startswith("agg:"))
    return floor_seconds(counts, rates) + (ns + counts.get("structure_ns", 0)) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1")
    parser.add_argument("--repeat", type=int, default=5, help="runs per kernel rate (the best is kept)")
    args = parser.parse_args()
    if args.seeds < 1 or args.repeat < 1:
        parser.error("--seeds and --repeat must be >= 1")
    config = Config.preset(args.preset)
    generate(config, 10_000)  # warm-up: imports, compiled kernels
    rates = kernel_rates(args.repeat)
    acts = {k[4:]: v for k, v in rates.items() if k.startswith("act:")}
    folds = {k: v for k, v in rates.items() if k.startswith("agg:")}
    print(
        f"best rates here: 32x32 product {rates['product']:.1f} ns/row, 1->32 outer "
        f"{rates['outer']:.1f} ns/row, Beta {rates['beta']:.1f} ns/draw, activations "
        f"{min(acts.values()):.2f}-{max(acts.values()):.2f} ns/value (mean {statistics.mean(acts.values()):.2f}), "
        f"aggregation {min(folds.values()):.1f}-{max(folds.values()):.1f} ns per row and parent"
    )
    print(
        f"\n{'seed':>4} {'wall s':>7} {'CPU s':>7} {'G MACs':>7} {'act M':>7} {'Beta M':>7} {'fold M':>7} "
        f"{'struct s':>8} {'floor':>7} {'floor/2':>8} {'+agg':>7} {'+agg/2':>8} {'wider':>7} {'wider/2':>8} "
        f"{'CPU/floor':>9}"
    )
    walls, cpus, floors, with_agg, wider = [], [], [], [], []
    for seed in range(args.seeds):
        with WorkCounter() as counter:
            generate(config, seed)
        counts = dict(counter.counts)
        cpu0, t0 = time.process_time(), time.perf_counter()
        generate(config, seed)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        floor, floor_w = floor_seconds(counts, rates), wider_floor_seconds(counts, rates)
        floor_a = floor_w - counts.get("structure_ns", 0) / 1e9  # kernels and aggregation
        acts_n = sum(v for k, v in counts.items() if k.startswith("act:"))
        folds_n = sum(v for k, v in counts.items() if k.startswith("agg:"))
        walls.append(wall)
        cpus.append(cpu)
        floors.append(floor)
        with_agg.append(floor_a)
        wider.append(floor_w)
        print(
            f"{seed:4d} {wall:7.2f} {cpu:7.2f} {counts.get('macs', 0) / 1e9:7.2f} {acts_n / 1e6:7.0f} "
            f"{counts.get('beta', 0) / 1e6:7.1f} {folds_n / 1e6:7.1f} {counts.get('structure_ns', 0) / 1e9:8.3f} "
            f"{floor:7.3f} {floor / 2:8.3f} {floor_a:7.3f} {floor_a / 2:8.3f} {floor_w:7.3f} {floor_w / 2:8.3f} "
            f"{cpu / max(floor, 1e-9):9.1f}",
            flush=True,
        )
    med = statistics.median
    print(
        f"\nmedians over seeds 0-{args.seeds - 1} (CPU seconds): wall {med(walls):.2f} s, CPU {med(cpus):.2f}; "
        f"floor {med(floors):.3f} ({med(floors) / 2:.3f} s on both cores); with the aggregation "
        f"{med(with_agg):.3f} ({med(with_agg) / 2:.3f} s); and the structures {med(wider):.3f} "
        f"({med(wider) / 2:.3f} s on both cores); "
        f"CPU / floor {med(c / max(f, 1e-9) for c, f in zip(cpus, floors, strict=True)):.1f}"
    )


if __name__ == "__main__":
    main()
