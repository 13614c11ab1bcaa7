"""The work counter behind ``benchmarks/bench_stage3_floor.py``: it must see every kernel
call of Stage 3 (else its floor is too low) and change nothing it counts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from plurel_core import Config, generate, mechanisms, scm
from tests.helpers import database_digest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_stage3_floor.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_stage3_floor", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_work_counter_counts_every_kernel_and_leaves_the_database_unchanged() -> None:
    bench = _bench()
    config = Config.preset("small")
    plain = database_digest(generate(config, 3, processes=0))

    def wrapped():
        return (
            mechanisms.matmul_rows,
            mechanisms._run_activations,
            mechanisms._aggregate_rows,
            scm.beta_values,
            scm.sample_table_structure,
        )

    kernels = wrapped()
    with bench.WorkCounter() as counter:
        counted = database_digest(generate(config, 3, processes=0))
    assert wrapped() == kernels
    assert counted == plain
    counts = dict(counter.counts)
    # every kind of work is seen, and every activation value is named
    assert counts["product"] > 0 and counts["outer"] > 0 and counts["beta"] > 0
    assert counts["structure_ns"] > 0 and any(k.startswith("agg:") for k in counts)
    assert counts["macs"] >= 1024 * counts["product"] + 32 * counts["outer"]
    acts = {k: v for k, v in counts.items() if k.startswith("act:")}
    assert acts and "act:?" not in acts
    assert set(acts) <= {f"act:{name}" for name in mechanisms.ACTIVATIONS}
    # the floor prices exactly that work
    rates = {"product": 20.0, "outer": 3.0, "beta": 10.0} | {k: 1.0 for k in acts}
    expected = (
        counts["product"] * 20.0
        + counts["outer"] * 3.0
        + (counts["macs"] - 1024 * counts["product"] - 32 * counts["outer"]) * 20.0 / 1024
        + counts["beta"] * 10.0
        + sum(acts.values())
    ) / 1e9
    assert abs(bench.floor_seconds(counts, rates) - expected) <= 1e-12 * expected
    folds = {k: v for k, v in counts.items() if k.startswith("agg:")}
    rates |= {k: 2.0 for k in folds}
    wider = expected + (2.0 * sum(folds.values()) + counts["structure_ns"]) / 1e9
    assert abs(bench.wider_floor_seconds(counts, rates) - wider) <= 1e-12 * wider
