"""Cached stage calls: each stage is cached by exactly the priors it depends on.

- Stage 1 (schema): ``(seed, schema priors JSON, SQL text)``;
- Stage 2 (foreign keys): the above + connectivity priors JSON;
- Stage 3 (features) and the assembled database: the above + feature and post-processing
  priors JSON.

So moving a Stage-3 control re-runs only Stage 3: the schema and the foreign keys come from
the cache unchanged. Arguments are JSON strings (hashable, stable); results are returned as
copies by ``st.cache_data`` and must still be treated as read-only.

Size limit: before Stage 2 and 3 run, the explorer counts the cells (rows × columns, keys
included) the sampled schema implies; above :data:`MAX_CELLS` Stages 2–3 run on a
row-sampled preview (every table's rows scaled by the same factor) and the pages say so,
naming the prior to reduce; the full database is left to the command line. Before Stage 3
runs, :func:`plurel_core.budget.check_stage3` bounds its memory and work
(:data:`APP_BUDGET`: :data:`MAX_TABLE_BYTES`, :data:`MAX_WORK`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

import streamlit as st

from plurel_core.budget import BudgetError, Stage3Budget
from plurel_core.config import Config
from plurel_core.database import Database, ForeignKeys, Schema
from plurel_core.errors import PluRelError
from plurel_core.generate import assemble, sample_features, sample_foreign_keys, sample_schema
from plurel_core.stage3 import tables_needed
from plurel_core.workers import start_table_workers

from . import state
from .text import md_escape

__all__ = [
    "MAX_CELLS",
    "StageKeys",
    "SizeError",
    "cached_database",
    "cached_foreign_keys",
    "cached_schema",
    "current_database",
    "current_table_database",
    "cached_table_database",
    "current_foreign_keys",
    "current_keys",
    "keys_for",
    "current_schema",
    "preview_notice",
    "preview_schema",
    "row_scale",
    "prune_view",
    "schema_cells",
    "size_problem",
    "stage3_problem",
]

# The largest database (cells = rows × columns incl. keys and date) the explorer generates
# in a browser session: generation runs at 350–500 k cells per second on this kind of machine, so
# this bounds a page update to several seconds. The paper's priors stay below
# it (median ~0.25 M cells, the largest of 400 seeds 1.1 M); larger databases belong to the
# command line and corpus tools.
MAX_CELLS = 1_500_000
# Stage-3 budget of a page update, a sweep or a twin (plurel_core.budget estimates): the
# paper's priors estimate at most 0.70 GiB for a table and 900 G multiply-adds for a
# database (2,000 seeds; these are upper bounds, several times the work done)
MAX_TABLE_BYTES = 1 << 30
MAX_WORK = 1_000_000_000_000
APP_BUDGET = Stage3Budget(MAX_TABLE_BYTES, MAX_WORK)


class SizeError(RuntimeError):
    """The priors imply a database beyond :data:`MAX_CELLS`."""


@dataclass(frozen=True)
class StageKeys:
    """The cache keys of the three stages for one session state."""

    seed: int
    schema: str
    sql: str
    connectivity: str
    features: str
    postprocess: str


def _section_json(cfg: Config, section: str) -> str:
    return json.dumps(cfg.to_dict()[section], sort_keys=True)


_SESSION_SQL: Any = object()


def keys_for(cfg: Config, sql: tuple[str, str] | None = _SESSION_SQL) -> StageKeys:
    """The stage cache keys of priors ``cfg`` on the session's seed, with the session's SQL
    schema or ``sql`` (``(name, DDL)``; None: Stage 1 samples the schema from ``cfg``)."""
    if sql is _SESSION_SQL:
        sql = state.get_sql()
    return StageKeys(
        seed=state.get_seed(),
        schema=_section_json(cfg, "schema"),
        sql=sql[1] if sql else "",
        connectivity=_section_json(cfg, "connectivity"),
        features=_section_json(cfg, "features"),
        postprocess=_section_json(cfg, "postprocess"),
    )


def current_keys() -> StageKeys:
    """Cache keys from the session's config; raises ``ConfigError`` for an invalid config."""
    return keys_for(state.get_config().validate())


def _config(**sections: str) -> Config:
    return Config.from_dict({name: json.loads(text) for name, text in sections.items()})


def _schema_from_sql(sql: str, schema_json: str, seed: int) -> Schema:
    from plurel_core.sql import schema_from_sql

    return schema_from_sql(sql, _config(schema=schema_json).schema, seed)


@st.cache_data(max_entries=32, show_spinner="Stage 1 · sampling the schema…")
def cached_schema(seed: int, schema_json: str, sql: str) -> Schema:
    """Stage 1: the schema from the schema priors, or from SQL DDL when ``sql`` is given."""
    if sql:
        return _schema_from_sql(sql, schema_json, seed)
    return sample_schema(_config(schema=schema_json).schema, seed)


def preview_schema(schema: Schema, scale: float) -> Schema:
    """The schema with every table's row count times ``scale`` (rounded down, at least 1).

    Rounding down the same way everywhere keeps the order of row counts, so a 1:1 key
    (child rows ≤ parent rows) stays satisfiable.
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale!r}")
    if scale == 1:
        return schema
    tables = {
        name: dataclasses.replace(spec, num_rows=max(1, math.floor(spec.num_rows * scale)))
        for name, spec in schema.tables.items()
    }
    graph = schema.graph.copy()
    for name, spec in tables.items():
        graph.nodes[name]["num_rows"] = spec.num_rows
    return dataclasses.replace(schema, tables=tables, graph=graph)


def row_scale(schema: Schema, limit: int = MAX_CELLS) -> float:
    """1 within ``limit`` cells, else the share of rows a preview keeps to fit under it."""
    total, _ = schema_cells(schema)
    if total <= limit:
        return 1.0
    return math.floor(limit / total * 0.98 * 1000) / 1000 or 0.001


@st.cache_data(max_entries=16, show_spinner="Stage 2 · sampling foreign keys…")
def cached_foreign_keys(
    seed: int, schema_json: str, sql: str, connectivity_json: str, scale: float = 1.0
) -> ForeignKeys:
    """Stage 2: every foreign key from the HSBM priors (schema from the Stage-1 cache).

    ``scale`` < 1: on the row-sampled preview of the schema (:func:`preview_schema`).
    """
    schema = preview_schema(cached_schema(seed, schema_json, sql), scale)
    return sample_foreign_keys(schema, _config(connectivity=connectivity_json).connectivity, seed)


@st.cache_data(max_entries=8, show_spinner="Stage 3 · sampling features…")
def cached_database(
    seed: int,
    schema_json: str,
    sql: str,
    connectivity_json: str,
    features_json: str,
    postprocess_json: str,
    scale: float = 1.0,
) -> Database:
    """Stage 3 and assembly: the database (schema and foreign keys from their caches)."""
    return _stage3(seed, schema_json, sql, connectivity_json, features_json, postprocess_json, scale, None)


@st.cache_data(max_entries=16, show_spinner="Stage 3 · sampling features…")
def cached_table_database(
    seed: int,
    schema_json: str,
    sql: str,
    connectivity_json: str,
    features_json: str,
    postprocess_json: str,
    scale: float,
    table: str,
) -> Database:
    """What a view of one table needs of Stages 1–3: ``table``, its parents (the correlation
    and dependence views join their features) and every table these are conditioned on, with
    the values of the whole database; the whole schema. A Stage-3 prior change on the
    Stage-3 page recomputes only these tables, usually far fewer than the database's."""
    return _stage3(seed, schema_json, sql, connectivity_json, features_json, postprocess_json, scale, table)


def _stage3(
    seed: int,
    schema_json: str,
    sql: str,
    connectivity_json: str,
    features_json: str,
    postprocess_json: str,
    scale: float,
    table: str | None,
) -> Database:
    """Stage 3 and assembly on the cached schema and foreign keys: every table, or only
    those a view of ``table`` needs (see :func:`cached_table_database`)."""
    schema = preview_schema(cached_schema(seed, schema_json, sql), scale)
    fks = cached_foreign_keys(seed, schema_json, sql, connectivity_json, scale)
    cfg = _config(features=features_json, postprocess=postprocess_json)
    needed = None if table is None else tables_needed(schema, [table, *schema.tables[table].parents])
    features = sample_features(schema, fks, cfg.features, cfg.postprocess, seed, tables=needed)
    # the server's Stage-3 table workers, used by the next generations once warmed up
    # (restarted if one was lost). Started only now: the first generation has compiled
    # the kernels into the on-disk cache, so the workers load them instead of compiling
    # them again at the same time, which would hold up the app on a fresh install.
    start_table_workers()
    return assemble(schema, fks, features, seed, tables=needed)


def schema_cells(schema: Schema) -> tuple[int, dict[str, int]]:
    """Cells (rows × columns incl. keys and date) of a schema, total and per table kind."""
    by_kind = {"entity": 0, "activity": 0}
    for spec in schema.tables.values():
        width = len(spec.columns) + len(spec.foreign_keys) + len(spec.key_columns) + 2
        by_kind[spec.kind] = by_kind.get(spec.kind, 0) + spec.num_rows * width
    return sum(by_kind.values()), by_kind


def size_problem(schema: Schema, limit: int = MAX_CELLS) -> str | None:
    """A message naming the prior to reduce when the schema exceeds ``limit`` cells, else None."""
    total, by_kind = schema_cells(schema)
    if total <= limit:
        return None
    cfg = state.get_config()
    heavy = "activity_rows" if by_kind.get("activity", 0) >= by_kind.get("entity", 0) else "entity_rows"
    if schema.source == "sql":
        return (
            f"This schema implies {total / 1e6:.1f} M cells (rows × columns), above the explorer's limit of "
            f"{limit / 1e6:g} M. Reduce `schema.{heavy}` (now {list(getattr(cfg.schema, heavy))})."
        )
    return (
        f"This database would have {total / 1e6:.1f} M cells (rows × columns), above the explorer's limit of "
        f"{limit / 1e6:g} M. Reduce `schema.{heavy}` (now {list(getattr(cfg.schema, heavy))}), "
        f"or `schema.num_tables` (now {list(cfg.schema.num_tables)}) / `schema.num_cols` "
        f"(now {list(cfg.schema.num_cols)})."
    )


def current_schema() -> Schema:
    """Stage 1 for the session's state (raises ``ConfigError`` or the SQL import's error)."""
    k = current_keys()
    return cached_schema(k.seed, k.schema, k.sql)


def _keys_and_scale() -> tuple[StageKeys, float]:
    """The session's cache keys and the row scale its schema needs to fit the size limit."""
    k = current_keys()
    return k, row_scale(cached_schema(k.seed, k.schema, k.sql))


def preview_notice() -> str | None:
    """What the pages say when they show a row-sampled preview, or None for the full database."""
    try:
        k, scale = _keys_and_scale()
        schema = cached_schema(k.seed, k.schema, k.sql)
    except PluRelError:
        return None
    if scale == 1:
        return None
    total, _ = schema_cells(schema)
    return (
        f"**Row-sampled preview**: these priors give a database of {total / 1e6:.1f} M cells, above the "
        f"explorer's limit of {MAX_CELLS / 1e6:g} M, so Stages 2–3 run on {scale:.1%} of every table's rows "
        "(same seed and priors otherwise). The full database comes from the command line or a corpus: "
        "see Export for the config and the exact command. " + _reduce_hint(size_problem(schema) or "")
    )


def _reduce_hint(problem: str) -> str:
    """The "Reduce `prior` ..." part of a size message."""
    return "To see every row here, r" + problem[problem.index("Reduce") + 1 :] if "Reduce" in problem else ""


def current_foreign_keys() -> ForeignKeys:
    """Stages 1–2 for the session's state (a row-sampled preview above the size limit)."""
    k, scale = _keys_and_scale()
    return cached_foreign_keys(k.seed, k.schema, k.sql, k.connectivity, scale)


def stage3_problem(schema: Schema, features_json: str) -> str | None:
    """Why Stage 3 of ``schema`` with these feature priors is over the explorer's budget
    (memory of a table's SCM, work of the database), naming the priors to reduce; or None."""
    try:
        APP_BUDGET.check(schema, _config(features=features_json).features)
    except BudgetError as exc:
        return md_escape(exc)  # (it names a table, which an imported schema names)
    return None


def _stage3_keys_and_scale() -> tuple[StageKeys, float]:
    """:func:`_keys_and_scale`, once Stage 3 is known to fit the explorer's budget (else
    ``BudgetError``)."""
    k, scale = _keys_and_scale()
    problem = stage3_problem(preview_schema(cached_schema(k.seed, k.schema, k.sql), scale), k.features)
    if problem:
        raise BudgetError(problem)
    return k, scale


def current_database() -> Database:
    """Stages 1–3 for the session's state (a row-sampled preview above the size limit);
    raises ``BudgetError`` when Stage 3 could need more than the explorer's memory or work
    budget."""
    k, scale = _stage3_keys_and_scale()
    return cached_database(k.seed, k.schema, k.sql, k.connectivity, k.features, k.postprocess, scale)


def current_table_database(table: str) -> Database:
    """:func:`current_database` for a view of ``table``: only the tables it needs
    (:func:`cached_table_database`); the same checks and errors."""
    k, scale = _stage3_keys_and_scale()
    return cached_table_database(
        k.seed, k.schema, k.sql, k.connectivity, k.features, k.postprocess, scale, table
    )


def prune_view() -> None:
    """Drop view selections (table, foreign key) the session's schema does not have.

    Runs after the page: the schema comes from the Stage-1 cache; when the priors or the SQL
    are invalid the selections are left as they are.
    """
    try:
        schema = current_schema()
    except PluRelError:
        return
    fks = [f"{child}.{fk.name}" for child, fk in schema.foreign_keys()]
    state.prune_view(schema.tables, fks)
