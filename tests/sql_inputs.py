"""SQL inputs at the limits of the import, shared by ``tests/test_sql.py`` and
``benchmarks/bench_sql.py``."""

from __future__ import annotations

from plurel_core.sql import ParsedColumn, ParsedForeignKey, ParsedTable


def all_reference(n: int) -> str:
    """``n`` tables, each with a nullable FK to every other table (the densest FK graph)."""
    parts = []
    for i in range(n):
        cols = ", ".join(f"a{j} INT REFERENCES t{j}" for j in range(n) if j != i)
        parts.append(f"CREATE TABLE t{i} (id INT PRIMARY KEY, {cols});")
    return "\n".join(parts)


def all_reference_tables(n: int) -> tuple[ParsedTable, ...]:
    """The tables :func:`all_reference` declares, as parsed but before FK-cycle breaking."""
    tables = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        cols = (ParsedColumn("id", "INT", "numerical", integer=True),) + tuple(
            ParsedColumn(f"a{j}", "INT", "numerical", integer=True) for j in others
        )
        fks = tuple(ParsedForeignKey((f"a{j}",), f"t{j}", ("id",), nullable=True) for j in others)
        tables.append(ParsedTable(f"t{i}", cols, ("id",), (), fks))
    return tuple(tables)
