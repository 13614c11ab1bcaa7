"""Reading and planning SQL schemas: the worst inputs the limits accept, and what they refuse.

Run: ``python benchmarks/bench_sql.py [--repeat N]``. For each input prints its size, the
table-statement tokens, and the best-of-N wall-clock seconds of ``parse_schema`` and
``schema_from_sql`` (parse + FK-cycle breaking + row counts), or the time to refuse it:

- the worst accepted: the 60-table graph of ``tests/sql_inputs.py`` plus INSERT data up to :data:`MAX_READ_BYTES`;
- ``n`` tables that all reference each other (every FK nullable: the densest FK graph and
  the most cycles) for n = 20, 40, 60 (60 is near :data:`MAX_TABLE_TOKENS`), 100, 200;
- dumps that are mostly skipped statements: INSERT data of :data:`MAX_READ_BYTES` (the most
  the tokenizer reads) and of 1 MB (refused), 1 MB of COPY data (not tokenized);
- the real schemas in ``tests/data/schemas``;
- the cycle breaking alone (:func:`break_fk_cycles`) on the 60/100/200-table graphs.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from plurel_core.config import Config  # noqa: E402
from plurel_core.sql import (  # noqa: E402
    MAX_READ_BYTES,
    MAX_SQL_BYTES,
    SQLSchemaError,
    break_fk_cycles,
    parse_schema,
    schema_from_sql,
)
from tests.sql_inputs import all_reference, all_reference_tables  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def inserts(size: int) -> str:
    head = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price REAL);\n"
    row = "INSERT INTO t VALUES (1, 'a name; with a semicolon', 2.5);\n"
    return head + row * ((size - len(head)) // len(row))


def copy_data() -> str:
    head = "CREATE TABLE public.t (id integer NOT NULL, name text);\nCOPY public.t (id, name) FROM stdin;\n"
    row = "1\tit's; not $$ SQL\n"
    return head + row * ((MAX_SQL_BYTES - len(head) - 4) // len(row)) + "\\.\n"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run(name: str, sql: str, repeat: int) -> None:
    priors = Config.preset("paper").schema
    size = len(sql.encode())
    try:
        parse = best(lambda: parse_schema(sql), repeat)
        full = best(lambda: schema_from_sql(sql, priors, 0), repeat)
        print(f"{name:<34} {size / 1e3:>8.0f} KB  parse {parse:6.2f} s  parse+plan {full:6.2f} s")
    except SQLSchemaError as exc:
        t = time.perf_counter()
        with contextlib.suppress(SQLSchemaError):
            parse_schema(sql)
        print(
            f"{name:<34} {size / 1e3:>8.0f} KB  refused in {time.perf_counter() - t:5.2f} s: {str(exc)[:60]}..."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in (20, 40, 60, 100, 200):
        run(f"{n} tables, all reference all", all_reference(n), args.repeat)
    run(f"{MAX_READ_BYTES // 1000} KB of INSERT statements", inserts(MAX_READ_BYTES), args.repeat)
    dense = all_reference(60)
    worst = dense + "\n" + inserts(MAX_READ_BYTES - len(dense) - 100).split("\n", 1)[1]
    run("60 tables all-ref + INSERTs (worst)", worst, args.repeat)
    run("1 MB of INSERT statements", inserts(MAX_SQL_BYTES), args.repeat)
    run("1 MB of COPY data", copy_data(), args.repeat)
    for path in sorted((ROOT / "tests" / "data" / "schemas").glob("*.sql")):
        run(path.name, path.read_text(), args.repeat)
    for path in sorted((ROOT / "tests" / "data" / "dumps").glob("*.sql")):
        run(path.name, path.read_text(), args.repeat)
    for n in (60, 100, 200):
        tables = all_reference_tables(n)
        seconds = best(lambda tables=tables: break_fk_cycles(tables), args.repeat)
        print(f"cycle breaking alone, {n} tables ({n * (n - 1):,} FKs): {seconds:.2f} s")


if __name__ == "__main__":
    main()
