"""The data model shared by the stages: schema specs, stage results, the database and its trace.

Stage 1 (or a SQL import) produces a :class:`Schema`; Stage 2 a :class:`ForeignKeys`;
Stage 3 a :class:`Features`; :func:`plurel_core.generate.assemble` turns the three into a
:class:`Database`, whose :class:`Trace` holds everything the views draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd

__all__ = [
    "ColumnSpec",
    "ForeignKeySpec",
    "TableSpec",
    "Schema",
    "HSBMTrace",
    "ForeignKeySample",
    "ForeignKeys",
    "SCMTrace",
    "Features",
    "Table",
    "Trace",
    "Database",
    "PKEY_COL",
    "TIME_COL",
]

PKEY_COL = "row_idx"
TIME_COL = "date"

ColumnKind = Literal["numerical", "categorical", "boolean", "text", "date"]


@dataclass(frozen=True)
class ColumnSpec:
    """A feature column.

    kind: ``numerical`` (float), ``categorical`` (integer codes 0..k-1, or ``labels``),
    ``boolean`` (a categorical with two values), ``text`` (categorical rendered as text
    labels) or ``date`` (a day inside the database's time window).
    """

    name: str
    kind: ColumnKind
    num_categories: int = 0
    labels: tuple[str, ...] | None = None  # categorical labels given by a schema (ENUM, CHECK IN)
    sql_type: str | None = None  # the declared SQL type, when imported
    nullable: bool = True


@dataclass(frozen=True)
class ForeignKeySpec:
    """Child ``columns`` reference ``parent_columns`` of table ``parent``."""

    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    nullable: bool = False
    # the child columns are unique on their own (primary key or UNIQUE): each parent row is
    # referenced at most once (a 1:1 relation)
    one_to_one: bool = False
    # sampled after both tables exist, to break an FK cycle; carries no cross-table signal
    deferred: bool = False

    @property
    def name(self) -> str:
        return ",".join(self.columns)


@dataclass(frozen=True)
class TableSpec:
    """One table of the schema: keys, feature columns, row count and kind."""

    name: str
    kind: Literal["entity", "activity"]
    num_rows: int
    pkey_col: str | None
    foreign_keys: tuple[ForeignKeySpec, ...]
    columns: tuple[ColumnSpec, ...]
    time_col: str | None = None
    # column sets whose combined values must be unique (composite primary keys, UNIQUE
    # constraints), e.g. a junction table keyed by two foreign keys
    unique_groups: tuple[tuple[str, ...], ...] = ()
    # primary-key columns that are neither FK columns nor `pkey_col` (text or composite keys
    # from an imported schema); empty for Stage-1 tables
    key_columns: tuple[ColumnSpec, ...] = ()

    @property
    def parents(self) -> list[str]:
        return [fk.parent for fk in self.foreign_keys]


@dataclass
class Schema:
    """Stage 1 result: tables in topological order (parents before children).

    ``graph`` is the schema DAG, one node per table (attributes ``kind``, ``num_rows``) and
    one edge parent → child per foreign key (attribute ``columns``; ``weight`` for Stage-1
    layouts). ``t0``/``t1`` bound the time window; the cut-offs are ``val_timestamp`` and
    ``test_timestamp``.
    """

    tables: dict[str, TableSpec]
    graph: nx.MultiDiGraph
    layout: str
    t0: pd.Timestamp
    t1: pd.Timestamp
    val_timestamp: pd.Timestamp
    test_timestamp: pd.Timestamp
    source: str = "priors"  # or "sql"
    # SQL import: statements read and left out (views, triggers, data ...), see plurel_core.sql
    skipped_statements: tuple = ()

    def foreign_keys(self) -> list[tuple[str, ForeignKeySpec]]:
        """Every ``(child table, fk)`` in generation order."""
        return [(t.name, fk) for t in self.tables.values() for fk in t.foreign_keys]


@dataclass
class HSBMTrace:
    """The hierarchy behind one foreign key.

    ``parent_clusters[l]`` / ``child_clusters[l]``: clusters on each side at level ``l``;
    ``blocks[l]``: the block matrix B_l (parent clusters × child clusters);
    ``parent_base`` / ``child_base``: base-cluster label of every parent / child row
    (rows are cut into contiguous base clusters; a base label's mixed-radix digits give
    its cluster at each level); ``base_probs``: P(parent base cluster | child base cluster),
    shape (parent bases, child bases).
    """

    levels: int
    parent_clusters: tuple[int, ...]
    child_clusters: tuple[int, ...]
    blocks: list[np.ndarray]
    parent_base: np.ndarray
    child_base: np.ndarray
    base_probs: np.ndarray


@dataclass
class ForeignKeySample:
    """The sampled parent row of every child row (``-1`` where a nullable FK is NULL)."""

    child: str
    fk: ForeignKeySpec
    parent_rows: np.ndarray  # int64, one per child row
    hsbm: HSBMTrace | None


@dataclass
class ForeignKeys:
    """Stage 2 result, keyed by ``(child table, fk name)``."""

    samples: dict[tuple[str, str], ForeignKeySample]

    def for_table(self, table: str) -> list[ForeignKeySample]:
        return [s for (child, _), s in self.samples.items() if child == table]


@dataclass
class SCMTrace:
    """One table's structural causal model.

    ``graph`` nodes carry ``kind`` (``source``/``latent``/``column``), ``type``
    (``numerical``/``categorical``), ``num_categories``, ``column`` (the feature column it
    feeds, or None), ``aggregation``, ``activations`` (names per MLP), ``source`` (generator
    name for sources) and ``reaches_column``; edges carry ``weight``, ``encoder`` and
    ``activations``. A node that reaches no column (neither a column nor an ancestor of
    one) cannot affect the data: it has no MLPs (empty ``activations``, on its in-edges
    too), noise or values. ``ts_components[node]`` has ``trend``, ``cycle``, ``noise`` and
    ``value`` arrays for each ts source that reaches a column.
    """

    graph: nx.DiGraph
    layout: str
    propagation: str
    weight_dist: str
    ts_components: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    parent_inputs: list[str] = field(default_factory=list)  # "parent_table.column" conditioning the SCM
    details: dict = field(default_factory=dict)  # per-column post-processing etc.


@dataclass
class Features:
    """Stage 3 result: the feature columns of every table (post-processed) and SCM traces."""

    frames: dict[str, pd.DataFrame]
    scm: dict[str, SCMTrace]


@dataclass
class Table:
    """A generated table, RelBench-style."""

    name: str
    df: pd.DataFrame
    pkey_col: str | None
    fkey_col_to_pkey_table: dict[str, str]
    time_col: str | None
    kind: Literal["entity", "activity"]

    @property
    def feature_cols(self) -> list[str]:
        keys = {self.pkey_col, self.time_col, *self.fkey_col_to_pkey_table}
        return [c for c in self.df.columns if c not in keys]


@dataclass
class Trace:
    """What the views draw, straight from the generation."""

    schema_graph: nx.MultiDiGraph
    layout: str
    hsbm: dict[str, HSBMTrace]  # key "child.fk"
    scm: dict[str, SCMTrace]


@dataclass
class Database:
    tables: dict[str, Table]
    val_timestamp: pd.Timestamp
    test_timestamp: pd.Timestamp
    trace: Trace
    schema: Schema
    seed: int

    def summary(self) -> dict[str, int]:
        return {
            "tables": len(self.tables),
            "entity_tables": sum(t.kind == "entity" for t in self.tables.values()),
            "activity_tables": sum(t.kind == "activity" for t in self.tables.values()),
            "rows": sum(len(t.df) for t in self.tables.values()),
            "feature_columns": sum(len(t.feature_cols) for t in self.tables.values()),
            "foreign_keys": sum(len(t.fkey_col_to_pkey_table) for t in self.tables.values()),
            "cells": sum(t.df.size for t in self.tables.values()),
        }
