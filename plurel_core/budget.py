"""Stage-3 cost of a configuration, estimated before any of it runs.

The size of a table's structural causal model is not bounded by its cells: one table of
one row with 53 SCM nodes on a complete DAG, embedding width 256 and 8 MLP layers draws
1,378 edge encoders of 8 × 256 × 256 weights each (several GB). So before Stage 3 starts,
:func:`estimate_stage3` bounds what each table's SCM can need from the schema (columns
and rows per table) and the feature priors:

- nodes ``N = c + ceil(c / column_node_frac_lo) + extra_nodes`` for ``c`` feature columns;
- edges: the densest graph the allowed ``scm_layouts`` give on ``N`` nodes, each at the
  dense end of its priors or its mean where it has no end (``er_p_hi`` of all pairs for
  ErdosRenyi, half of them for RandomCauchy, two full layers for Layered, ``ba_m`` per node
  for BarabasiAlbert, ...);
- weights: an encoder per edge and a decoder per node, each up to ``mlp_layers_hi``
  matrices of ``d × d`` (``d = embedding_dim``), plus category tables;
- encoder tables: ``d`` values per distinct input (tabled parents: at most 256, or the
  ``encoder_knots`` of the opt-in approximation) per edge; parents with more distinct
  values are encoded row chunk by row chunk, each chunk's encodings within a fixed number
  of floats per thread;
- row buffers: a value and a code per node and row, a few ``d``-wide rows per row.

Work counts every row through its parent's encoder (exact mode), or every knot with the
approximation on.

Memory is the largest table's (tables are generated one at a time per process); work,
in multiply-adds, is the sum over tables. :func:`check_stage3` refuses an estimate above
a budget with a message naming the priors to reduce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import FeaturePriors
from .database import Schema, TableSpec
from .errors import BudgetError
from .mechanisms import ROW_BLOCK
from .scm import CHUNK_ROWS, CHUNK_STACK_FLOATS, TABLED_VALUES

__all__ = [
    "MAX_TABLE_BYTES",
    "COMMAND_LINE_BUDGET",
    "BudgetError",
    "Stage3Budget",
    "Stage3Estimate",
    "TableEstimate",
    "check_stage3",
    "estimate_stage3",
    "scm_edge_bound",
]

# one table's SCM at once per process; the command line and corpus runs accept up to this
MAX_TABLE_BYTES = 4 << 30
# the stacked encodings of a row chunk are held a few times over (layer input, output,
# the fold's copy) by each of up to two threads
_CHUNK_COPIES = 2 * 3


@dataclass(frozen=True)
class TableEstimate:
    """Upper estimate of one table's Stage-3 SCM."""

    table: str
    rows: int
    nodes: int
    edges: int
    bytes: int
    work: int  # multiply-adds


@dataclass(frozen=True)
class Stage3Estimate:
    """Per-table estimates; ``bytes`` of the largest table, ``work`` summed over tables."""

    tables: tuple[TableEstimate, ...]

    @property
    def bytes(self) -> int:
        return max((t.bytes for t in self.tables), default=0)

    @property
    def work(self) -> int:
        return sum(t.work for t in self.tables)

    @property
    def heaviest(self) -> TableEstimate | None:
        return max(self.tables, key=lambda t: t.bytes, default=None)


def scm_edge_bound(nodes: int, features: FeaturePriors) -> int:
    """The most edges an SCM graph on ``nodes`` nodes gets from the allowed layouts (the
    densest layout decides; random layouts at the dense end of their priors)."""
    n = nodes
    pairs = n * (n - 1) // 2
    lay = features.layout
    bounds = []
    for name in features.scm_layouts:
        if name == "ErdosRenyi":
            bounds.append(math.ceil(lay.er_p[1] * pairs) + n)
        elif name == "RandomCauchy":
            # edge probabilities sigmoid(Cauchy sums) average 1/2 (symmetric around 0)
            bounds.append(pairs // 2 + n)
        elif name == "Layered":
            # two consecutive layers of n/2 nodes each, fully joined
            full = n * n // 4
            bounds.append(
                n if lay.layered_depth[1] < 2 else math.ceil(full * (1 - lay.layered_edge_dropout)) + n
            )
        elif name == "WattsStrogatz":
            bounds.append(pairs if max(lay.ws_k) >= n - 1 else n * max(lay.ws_k) // 2 + n)
        elif name == "BarabasiAlbert":
            bounds.append(lay.ba_m * n)
        else:  # the trees
            bounds.append(n - 1)
    return min(pairs, max(bounds, default=pairs))


def _table_estimate(spec: TableSpec, features: FeaturePriors) -> TableEstimate:
    name, rows, columns = spec.name, spec.num_rows, len(spec.columns)
    if columns == 0:
        return TableEstimate(name, rows, 0, 0, 0, 0)
    d = features.embedding_dim
    layers = features.mlp_layers[1]
    nodes = columns + math.ceil(columns / features.column_node_frac[0]) + features.extra_nodes
    edges = scm_edge_bound(nodes, features)
    categories = max(
        [features.latent_categories[1]] + [len(c.labels or ()) or c.num_categories for c in spec.columns]
    )
    mechanisms = edges + nodes  # an encoder per edge, a decoder per node
    weights = mechanisms * (layers * d * d + categories * d)
    tabled = features.encoder_knots or TABLED_VALUES
    knots = max(min(rows, tabled), categories)
    tables = edges * knots * d
    # one chunk's per-row encodings: at least one row block of every parent of a node
    chunk = _CHUNK_COPIES * max(CHUNK_STACK_FLOATS, ROW_BLOCK * nodes * d)
    row_buffers = rows * (2 * nodes + 4 * d) + min(rows, CHUNK_ROWS) * d * 8 + chunk
    floats = weights + tables + row_buffers
    encoded = min(rows, features.encoder_knots) if features.encoder_knots else rows
    work = weights + edges * encoded * layers * d * d + nodes * rows * layers * d * d + edges * rows * d
    return TableEstimate(name, rows, nodes, edges, 4 * floats, work)


def estimate_stage3(schema: Schema, features: FeaturePriors) -> Stage3Estimate:
    """Upper estimates of the Stage-3 memory and work of every table of ``schema``."""
    return Stage3Estimate(tuple(_table_estimate(spec, features) for spec in schema.tables.values()))


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 29 else f"{n / (1 << 20):.0f} MiB"


def _reduce_hint(features: FeaturePriors, sizes: str) -> str:
    dense = [
        n for n in features.scm_layouts if n in ("ErdosRenyi", "RandomCauchy", "Layered", "WattsStrogatz")
    ]
    hints = [
        f"features.embedding_dim (now {features.embedding_dim})",
        f"features.mlp_layers (now {list(features.mlp_layers)})",
        f"features.extra_nodes (now {features.extra_nodes})",
        f"raise the low end of features.column_node_frac (now {list(features.column_node_frac)})",
    ]
    if dense:
        hints.append(
            f"use sparser features.scm_layouts (now dense ones: {', '.join(dense)}) or a lower "
            f"features.layout.er_p (now {list(features.layout.er_p)})"
        )
    return f"Reduce {'; '.join(hints)}; or {sizes}."


def check_stage3(
    schema: Schema,
    features: FeaturePriors,
    max_bytes: int = MAX_TABLE_BYTES,
    max_work: int | None = None,
) -> Stage3Estimate:
    """The estimate, or ``BudgetError`` when a table's SCM could need more than ``max_bytes``
    or all tables more than ``max_work`` multiply-adds (``None``: no work limit)."""
    est = estimate_stage3(schema, features)
    top = est.heaviest
    if top is None:
        return est
    what = (
        f"table {top.table!r:.40} ({top.rows:,} rows): up to {top.nodes:,} SCM nodes and "
        f"{top.edges:,} edges with embedding width {features.embedding_dim} and up to "
        f"{features.mlp_layers[1]} MLP layers"
    )
    if est.bytes > max_bytes:
        raise BudgetError(
            f"Stage 3 of these priors could need about {_gib(est.bytes)} of memory for one table, "
            f"above the limit of {_gib(max_bytes)}; the largest is {what}. "
            + _reduce_hint(features, "fewer feature columns per table (schema.num_cols)")
        )
    if max_work is not None and est.work > max_work:
        raise BudgetError(
            f"Stage 3 of these priors could take about {est.work / 1e9:,.0f} G multiply-adds, above "
            f"the limit of {max_work / 1e9:,.0f} G; the largest table is {what}. "
            + _reduce_hint(features, "fewer rows (schema.entity_rows, schema.activity_rows) or columns")
        )
    return est


@dataclass(frozen=True)
class Stage3Budget:
    """The limits :func:`check_stage3` enforces before Stage 3: the memory of one table's
    SCM and (``None``: unlimited) the multiply-adds of the whole database."""

    max_table_bytes: int = MAX_TABLE_BYTES
    max_work: int | None = None

    def check(self, schema: Schema, features: FeaturePriors) -> Stage3Estimate:
        """:func:`check_stage3` with these limits."""
        return check_stage3(schema, features, max_bytes=self.max_table_bytes, max_work=self.max_work)


# what the command line, corpora and library calls accept by default
COMMAND_LINE_BUDGET = Stage3Budget()
