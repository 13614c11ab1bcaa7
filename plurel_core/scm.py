"""Stage 3, one table: its feature values from its structural causal model (SCM).

Running it over a whole schema (parents first, on worker processes or here) is
:mod:`plurel_core.stage3`; the worker processes are :mod:`plurel_core.workers`. For a
table with ``c`` feature
columns the SCM graph is a random DAG (layout from ``scm_layouts``) on
``c + ceil(c / frac) + extra_nodes`` nodes; ``c`` random nodes feed the columns, the rest are
latent. Source nodes (in-degree 0) draw exogenous values (:mod:`plurel_core.sources`);
every other node ``v`` computes, per row,

    h_v = noise_v + AGG_v( clamp(w_uv · enc_uv(x_u)) for parents u,
                           clamp(w · enc_p(parent-table column)) for parent-table columns )
    x_v = dec_v(h_v)

with ``noise_v ~ Beta(α_v, β_v) / d``, one draw per row and dimension, ``AGG_v`` from the
aggregation registry and typed encoders / decoders (:mod:`plurel_core.mechanisms`).
``type_eager`` tables use categorical encoders / decoders for categorical nodes;
``type_lazy`` tables treat every node as numerical and quantise categorical columns at the
end with thresholds drawn from the column's own values.

How the work is kept small (rows are the expensive axis):

- only the columns and their ancestors are drawn and evaluated: no other node's value can
  reach a column (such nodes keep their place in the graph and the trace, marked
  ``reaches_column=False``, without a decoder, encoders into them, noise or source values);
- a categorical encoder is an MLP applied to its ``k`` table rows once, then a lookup;
- a numerical node with few distinct values (at most ``TABLED_VALUES``: atoms are common,
  e.g. saturated activations and clamps) has its out-edge encoders evaluated once per
  distinct value, a table its children read through codes; one with more is encoded row
  by row inside each child's row chunks, all of the child's such parents as one stacked
  evaluation, so memory holds one chunk of encodings (within ``CHUNK_STACK_FLOATS``),
  never rows × d per edge. Every row gets exactly its own value's encoding either way.
  Only with the opt-in approximation ``features.encoder_knots = K > 0`` (off in every
  preset) is every numerical encoder evaluated on at most K quantile knots, each row
  using its quantile bucket's knot;
- weighting and clamping are applied to the tables (and to each chunk's encodings); a
  node's parents are then folded row by row in one compiled pass
  (:class:`~plurel_core.mechanisms.GatheredAggregation`) that reads each parent's table
  row through its codes, with no per-parent temporaries;
- parent-table encoders run on the parent's rows, are folded over the parent's columns
  by the same compiled pass (that part of the aggregation is the same for every node) and
  gathered by the foreign key once per table;
- all encoders and decoders of a table are drawn in a few vectorised batches; the
  categorical encoder tables are made with the table's structure (so a structure drawn
  ahead carries them);
- the row chunks of a large table run in threads (the aggregation kernel, the encoders
  of per-row parents and numpy's loops and matrix products release the GIL), and
  outside the table workers a single chunk of 1024 rows or more (or with many parents to
  fold) is cut in two;
- Python's cyclic garbage collector is paused while the stage runs: its passes over the
  many small objects of an SCM cost more than a tenth of the time. Reference counting
  frees them instead, so nothing here forms reference cycles: SCM graphs are read through
  their ``succ`` / ``pred`` views, never ``edges`` or ``in_degree``, which networkx caches
  on the graph and which refer back to it (the graph, with every attribute dict, would
  then wait for the collector), and decoders keep their MLP's evaluation plan.

Per-row randomness (source values, node noise) is drawn for all rows in row order from
streams keyed by table and node (the noise is counter-based: a chunk reads its own rows'
words), and chunks are whole multiples of the matrix-product row block, so rows are
bit-identical for any ``chunk_rows`` and any number of threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from numba import njit

from .config import FeaturePriors, PostprocessPriors, sample_range, sample_set
from .database import ForeignKeys, ForeignKeySample, Schema, SCMTrace, TableSpec
from .draws import beta_values
from .graphs import random_dag
from .mechanisms import (
    ROW_BLOCK,
    Aggregator,
    CategoricalDecoder,
    CategoricalEncoder,
    GatheredAggregation,
    MLPStack,
    NumericalDecoder,
    NumericalEncoder,
    PreparedPartial,
    clip,
    concatenated_tables,
    evaluate_mlps,
)
from .postprocess import postprocess_table
from .rng import stream, stream_key
from .sources import SOURCES, categorical_source

__all__ = [
    "sample_table_scm",
    "sample_table_structure",
    "table_with_frame",
    "remaining_tables",
    "whole_blocks",
    "RawColumn",
    "TableSCM",
    "TableStructure",
    "CHUNK_ROWS",
    "TABLED_VALUES",
    "CHUNK_STACK_FLOATS",
]

F32 = np.float32
CHUNK_ROWS = 8192
# a single chunk of at least _SPLIT_ROWS rows, of rows × parent tables to fold of at least
# _SPLIT_GATHERS, or of rows × per-row parents to encode of at least _SPLIT_ENCODINGS, is
# cut in two chunks (fold and decoder each) that run side by side
# on the thread pool (the compiled fold and the products release the GIL)
_SPLIT_ROWS = 1024
_SPLIT_GATHERS = 1 << 16
# (each row of a per-row parent's encoder is a few thousand multiply-adds)
_SPLIT_ENCODINGS = 1 << 11
# most floats one stacked encoder evaluation may hold at once (64 MB)
_STACK_FLOATS = 1 << 24
# a numerical node with at most this many distinct values has its out-edge encoders
# evaluated once per distinct value (a table its children read through codes); one with
# more is evaluated row by row inside each child's row chunks, so no table of rows × d per
# edge is ever held
TABLED_VALUES = 256
# most floats of one child's per-row encoder stack in a row chunk (16 MB): wide nodes get
# shorter chunks
CHUNK_STACK_FLOATS = 1 << 22


@dataclass
class RawColumn:
    """A column's value straight from the SCM (before post-processing).

    ``values``: float32 for numerical columns, int64 codes ``0..k-1`` for categorical ones.
    ``lazy``: a categorical column of a type_lazy table (quantised from a numerical value):
    child tables read its code through a numerical encoder, as every value of that table
    is encoded.
    """

    type: str  # "numerical" or "categorical"
    num_categories: int
    values: np.ndarray
    lazy: bool = False


@dataclass
class TableSCM:
    """One table's SCM result: raw column values (by column name) and the trace.

    ``node_values`` holds the values of the nodes that were computed: the columns and their
    ancestors (no other node's value can reach a column, so the rest are never evaluated).
    """

    columns: dict[str, RawColumn]
    trace: SCMTrace
    node_values: dict[int, np.ndarray] = field(default_factory=dict)


def whole_blocks(rows: int) -> int:
    """``rows`` rounded up to a whole number of matrix-product row blocks."""
    return -(-rows // ROW_BLOCK) * ROW_BLOCK


def _column_type(col, rng: np.random.Generator, features: FeaturePriors) -> tuple[str, int]:
    """SCM node type and category count for a feature column spec."""
    if col.kind in ("numerical", "date"):
        return "numerical", 0
    if col.kind == "boolean":
        return "categorical", 2
    if col.labels is not None and len(col.labels) > 0:
        return "categorical", len(col.labels)
    if col.num_categories >= 1:
        return "categorical", int(col.num_categories)
    return "categorical", sample_range(rng, features.latent_categories)


@njit(nogil=True, cache=True)
def _quantile_knots(v, order, max_knots):
    """Knot values and each row's knot for the float32 column ``v`` (``order``: an argsort
    of it), in one pass over the sorted values.

    At most ``max_knots`` distinct values: each is a knot and every row reads its own.
    Otherwise the knots are the middle values of ``max_knots`` equal-count quantile
    buckets (bucket ``b`` holds the values from bound ``b - 1``, inclusive, to bound ``b``);
    equal knots (an atom spanning several buckets) become one, and a row equal to a knot
    reads that knot, so an atom's rows are evaluated at their own value."""
    n = v.shape[0]
    s = v[order]
    distinct = 1 if n > 0 else 0
    for i in range(1, n):
        if s[i] != s[i - 1]:
            distinct += 1
    codes = np.empty(n, dtype=np.intp)
    if distinct <= max_knots:
        inputs = np.empty(distinct, dtype=v.dtype)
        k = -1
        for i in range(n):
            if i == 0 or s[i] != s[i - 1]:
                k += 1
                inputs[k] = s[i]
            codes[order[i]] = k
        return inputs, codes
    knots = np.empty(max_knots, dtype=v.dtype)
    for j in range(max_knots):
        knots[j] = s[np.intp((j + 0.5) * n / max_knots)]
    bounds = np.empty(max_knots - 1, dtype=v.dtype)
    for j in range(1, max_knots):
        bounds[j - 1] = s[(j * n) // max_knots]
    unique = 1
    for j in range(1, max_knots):
        if knots[j] != knots[j - 1]:
            unique += 1
    inputs = np.empty(unique, dtype=v.dtype)
    index = np.empty(max_knots, dtype=np.intp)  # bucket → its (merged) knot
    u = -1
    for j in range(max_knots):
        if j == 0 or knots[j] != knots[j - 1]:
            u += 1
            inputs[u] = knots[j]
        index[j] = u
    merged = unique < max_knots
    b = 0  # bounds at or below the current value: its bucket
    a = 0  # the first knot not below it
    for i in range(n):
        x = s[i]
        while b < max_knots - 1 and bounds[b] <= x:
            b += 1
        code = index[b]
        if merged:
            while a < unique - 1 and inputs[a] < x:
                a += 1
            if inputs[a] == x:
                code = a
        codes[order[i]] = code
    return inputs, codes


class _Knots:
    """Codes of a node's rows for its encoders: quantile buckets (numerical) or categories.

    ``codes[i]`` indexes ``inputs`` (the knot values a numerical encoder is evaluated on).
    Knots are distinct values: equal inputs give equal encoder rows, so a repeated value
    (atoms are common: saturated activations, clamps) is evaluated once.
    """

    def __init__(self, values: np.ndarray, node_type: str, k: int, max_knots: int | None):
        if node_type == "categorical":
            self.codes = values.astype(np.intp)
            self.inputs = None
            self.size = k
            return
        v = values.astype(F32, copy=False)
        if max_knots is None:
            self.inputs, self.codes = np.unique(v, return_inverse=True)
            self.codes = self.codes.astype(np.intp, copy=False)
        else:
            # numpy's sort is the fast part to keep (SIMD); the buckets are one compiled pass
            self.inputs, self.codes = _quantile_knots(v, np.argsort(v), max_knots)
        self.size = len(self.inputs)


def _weigh(tables: np.ndarray, weights: np.ndarray, clamp: float) -> None:
    """``tables[i] *= weights[i]``, then clipped to ``± clamp``, in place (float32)."""
    tables *= weights.astype(F32)[:, None, None]
    clip(tables, -clamp, clamp, out=tables)


def _encoder_tables(
    mlps: list, inputs: list[np.ndarray], weights: np.ndarray | None = None, clamp: float = 0.0
) -> list[np.ndarray]:
    """``mlps[i](inputs[i])`` for encoders with equal in/out dims, evaluated together
    (times ``weights[i]`` and clipped to ``± clamp`` when weights are given).

    Inputs of equal shape are stacked (one object shared by all is broadcast, not copied),
    so a node's out-edge encoders cost a few stacked numpy calls instead of a few per edge.
    """
    out: list[np.ndarray | None] = [None] * len(mlps)
    groups: dict[tuple, list[int]] = {}
    for i, x in enumerate(inputs):
        groups.setdefault(x.shape, []).append(i)
    batches = []
    for shape, members in groups.items():
        # bound the stacked hidden activations (members · rows · d floats)
        size = max(1, _STACK_FLOATS // max(1, shape[0] * max(m.weights[0].shape[1] for m in mlps)))
        batches.extend(members[i : i + size] for i in range(0, len(members), size))
    for members in batches:
        first = inputs[members[0]]
        if all(inputs[i] is first for i in members):
            x = first[None]
        else:
            x = np.stack([inputs[i] for i in members])
        tables = evaluate_mlps([mlps[i] for i in members], x)
        if weights is not None:
            _weigh(tables, weights[members], clamp)
        for j, i in enumerate(members):
            out[i] = tables[j]
    return out


def _rows_view(x: np.ndarray) -> np.ndarray:
    """A 1-d view of a C-contiguous 2-d array with one opaque item per row: gathering rows
    of it copies whole rows at once (faster than ``take`` along an axis)."""
    x = np.ascontiguousarray(x)
    return x.view(np.dtype((np.void, x.shape[1] * x.itemsize))).reshape(x.shape[0])


def _take_rows(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Rows ``q`` of the 2-d array ``x`` (whole rows copied at once, through its row view)."""
    out = np.empty((q.shape[0], x.shape[1]), dtype=x.dtype)
    np.take(_rows_view(x), q, out=_rows_view(out))
    return out


class _NodeNoise:
    """One node's noise, Beta(α, β) / d per row and dimension, from a counter-based stream
    keyed by the node: value ``r · d + j`` is row ``r``'s draw for dimension ``j``, so the
    noise of rows ``r0..r0+m`` is the same whichever chunk (or thread) draws it."""

    def __init__(self, seed: int, table: str, node: int, d: int, alpha: float, beta: float):
        self.key = stream_key(seed, "features", table, "noise", node)
        self.d, self.alpha, self.beta = d, alpha, beta

    def rows(self, r0: int, m: int) -> np.ndarray:
        return beta_values(self.key, r0 * self.d, (m, self.d), self.alpha, self.beta, 1.0 / self.d)


def _parent_partials(
    child: str,
    samples: list[ForeignKeySample],
    raw: dict[str, TableSCM],
    aggs: set[str],
    n: int,
    features: FeaturePriors,
    seed: int,
    knots: int | None,
) -> tuple[dict[str, list], list[str]]:
    """Parent-table conditioning: per aggregation, the partial state over every parent
    feature column of every (non-deferred) foreign key, gathered to the child's rows."""
    d = features.embedding_dim
    clamp = features.embedding_clamp
    encoders: dict[str, dict[str, object]] = {}
    combined: dict[str, list] = {}
    inputs: list[str] = []
    for sample in samples:
        if sample.fk.deferred or sample.fk.parent not in raw:
            continue
        parent = sample.fk.parent
        cols = raw[parent].columns
        if not cols:
            continue
        # encoders are owned by the parent → child pair (shared by its foreign keys)
        if parent not in encoders:
            rng = stream(seed, "features", child, "parent", parent)
            # (a lazy table encodes every column numerically, its categorical codes too)
            num = [c for c, col in cols.items() if col.type != "categorical" or col.lazy]
            cat = [c for c, col in cols.items() if col.type == "categorical" and not col.lazy]
            made = dict(zip(num, NumericalEncoder.batch(rng, len(num), features), strict=True))
            ks = [max(cols[c].num_categories, 1) for c in cat]
            made.update(zip(cat, CategoricalEncoder.batch(rng, ks, features), strict=True))
            encoders[parent] = made
        made = encoders[parent]
        codes, ins = [], []
        for cname, col in cols.items():
            if col.type == "categorical" and not col.lazy:
                codes.append(col.values.astype(np.intp))
                ins.append(made[cname].embedding)
            else:
                kn = _Knots(col.values, "numerical", 0, knots)
                codes.append(kn.codes)
                ins.append(kn.inputs.astype(F32).reshape(-1, 1))
            label = f"{parent}.{cname}"
            if label not in inputs:
                inputs.append(label)
        tables = _encoder_tables([made[c].mlp for c in cols], ins)
        k = len(tables)
        pn = codes[0].shape[0]
        code_matrix = np.stack(codes).astype(np.int32)
        idx = np.where(sample.parent_rows < 0, pn, sample.parent_rows).astype(np.intp)
        weighted: dict[F32, list[np.ndarray]] = {}  # by weight: sum's 1/k, or 1 for the rest
        for agg in aggs:
            a = Aggregator(agg, clamp)
            w = F32(1.0 / k) if agg == "sum" else F32(1.0)
            # weight and clamp the small encoder tables, then fold the parent's columns
            # row by row (the compiled fold, stopped before its clip and noise)
            if w not in weighted:
                weighted[w] = [clip(t * w, -clamp, clamp) for t in tables]
            fold = GatheredAggregation(agg, weighted[w], code_matrix, clamp, code_rows=list(range(k)))
            state = fold.state(pn)
            # row pn: a NULL foreign key contributes k zero embeddings
            null = a.zeros_state(1, d, k)
            state = [np.concatenate([s, z]) for s, z in zip(state, null, strict=True)]
            gathered = [_take_rows(s, idx) for s in state]
            if agg in combined:
                a.merge(combined[agg], gathered)
            else:
                combined[agg] = gathered
    return combined, inputs


@dataclass
class TableStructure:
    """Everything of one table's SCM that does not depend on its parents' values: the
    graph, node types, aggregations, noise levels, every encoder and decoder, and the
    source nodes' values. Drawn by :func:`sample_table_structure`."""

    layout: str
    frac: float
    graph: nx.DiGraph
    propagation: str
    col_nodes: list[int]
    ntype: dict[int, str]
    nk: dict[int, int]
    source_name: dict[int, str]
    agg: dict[int, str]
    noise: dict[int, tuple[float, float]]
    decoders: dict[int, object]
    encoders: dict[tuple[int, int], object]
    source_values: dict[int, np.ndarray] = field(default_factory=dict)
    ts_components: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    categorical_ts: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    source_params: dict[int, dict] = field(default_factory=dict)
    # the nodes computed (the columns and their ancestors: no other node reaches a column),
    # each with its live children in order; for each categorical such node with children
    # the finished weighted tables of its out-edge encoders (they read only fixed
    # embeddings)
    live_children: dict[int, list[int]] = field(default_factory=dict)
    out_tables: dict[int, list[np.ndarray]] = field(default_factory=dict)

    @property
    def lazy(self) -> bool:
        return self.propagation == "type_lazy"

    @property
    def num_nodes(self) -> int:
        return self.graph.number_of_nodes()

    def ctype(self, v: int) -> str:
        """The type node ``v`` is computed with (lazy tables compute everything numerically)."""
        return "numerical" if self.lazy else self.ntype[v]


def sample_table_structure(spec: TableSpec, features: FeaturePriors, seed: int) -> TableStructure:
    """Draw the parts of a table's SCM that do not depend on other tables' values.

    Structure draws come from ``stream(seed, "features", table)`` and source values from
    ``stream(seed, "features", table, "source", node)``, so a table's structure can be drawn
    before (or while) its parents' values are computed.
    """
    name, n, c = spec.name, spec.num_rows, len(spec.columns)
    rng = stream(seed, "features", name)
    layout = sample_set(rng, features.scm_layouts)
    frac = sample_range(rng, features.column_node_frac)
    num_nodes = c + math.ceil(c / frac) + features.extra_nodes
    g = random_dag(layout, num_nodes, rng, features.layout, features.layout.edge_weight_dists)
    propagation = sample_set(rng, features.propagation_modes)
    lazy = propagation == "type_lazy"
    col_nodes = [int(v) for v in rng.choice(num_nodes, size=c, replace=False)]
    node_col = {v: i for i, v in enumerate(col_nodes)}

    # node types: columns follow their spec, latents are drawn (all numerical when lazy)
    ntype: dict[int, str] = {}
    nk: dict[int, int] = {}
    for v in range(num_nodes):
        if v in node_col:
            ntype[v], nk[v] = _column_type(spec.columns[node_col[v]], rng, features)
        elif rng.uniform() < features.latent_categorical_prob:
            ntype[v], nk[v] = "categorical", sample_range(rng, features.latent_categories)
        else:
            ntype[v], nk[v] = "numerical", 0
    ctype = {v: ("numerical" if lazy else ntype[v]) for v in range(num_nodes)}

    # only the columns and their ancestors are ever evaluated (no other node's value can
    # reach a column): the rest keep their place in the graph and the trace, but none of
    # their random mechanisms (decoder, encoders into them, noise, source values) is drawn
    live = _reaching(g, col_nodes)
    source_name: dict[int, str] = {}
    agg: dict[int, str] = {}
    noise: dict[int, tuple[float, float]] = {}
    for v in range(num_nodes):
        if not g.pred[v]:
            source_name[v] = sample_set(rng, features.source_types)
            continue
        agg[v] = sample_set(rng, features.aggregations)
        if v in live:
            alpha = sample_range(rng, features.noise_alpha)
            beta = sample_range(rng, features.noise_beta)
            noise[v] = (alpha, beta)
            g.nodes[v]["noise_alpha"], g.nodes[v]["noise_beta"] = alpha, beta
    # every decoder and encoder of the table is drawn in a few vectorised batches
    decoders: dict[int, object] = {}
    num_dec = [v for v in agg if v in live and ctype[v] != "categorical"]
    cat_dec = [v for v in agg if v in live and ctype[v] == "categorical"]
    decoders.update(zip(num_dec, NumericalDecoder.batch(rng, len(num_dec), features), strict=True))
    decoders.update(
        zip(cat_dec, CategoricalDecoder.batch(rng, [nk[v] for v in cat_dec], features), strict=True)
    )
    # each live node's live children; an edge into a live node comes from a live node, so
    # these are all the edges that get an encoder (in sorted order)
    live_children = {v: sorted(w for w in g.succ[v] if w in live) for v in sorted(live)}
    edges = [(v, w) for v, children in live_children.items() for w in children]
    num_enc = [e for e in edges if ctype[e[0]] != "categorical"]
    cat_enc = [e for e in edges if ctype[e[0]] == "categorical"]
    encoders: dict[tuple[int, int], object] = {}
    encoders.update(zip(num_enc, NumericalEncoder.batch(rng, len(num_enc), features), strict=True))
    encoders.update(
        zip(cat_enc, CategoricalEncoder.batch(rng, [nk[u] for u, _ in cat_enc], features), strict=True)
    )
    s = TableStructure(
        layout, frac, g, propagation, col_nodes, ntype, nk, source_name, agg, noise, decoders, encoders,
        live_children=live_children,
    )  # fmt: skip
    _prepare_evaluation(s, features.embedding_clamp)
    for v, kind in source_name.items():
        if v not in live:
            continue
        srng = stream(seed, "features", name, "source", v)
        if ctype[v] == "categorical":
            draw = categorical_source(kind, srng, n, nk[v], features, spec.kind)
            if draw.components is not None:
                s.categorical_ts[v] = {k: x.astype(F32) for k, x in draw.components.items()}
            s.source_values[v] = draw.values
        else:
            draw = SOURCES[kind](srng, n, features, spec.kind)
            if draw.components is not None:
                s.ts_components[v] = draw.components
            s.source_values[v] = draw.values.astype(F32)
        s.source_params[v] = draw.params
    return s


def _encoder_knots(features: FeaturePriors) -> int | None:
    """The knots a numerical encoder is evaluated on: None (every distinct value, exact)
    unless the opt-in approximation ``features.encoder_knots`` is on."""
    k = features.encoder_knots
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"features.encoder_knots: got {k!r}; expected an integer >= 0 (0: exact)")
    return k or None


def _reaching(g: nx.DiGraph, targets: list[int]) -> set[int]:
    """``targets`` and their ancestors in ``g``, by one walk up the graph."""
    found = set(targets)
    todo = list(targets)
    while todo:
        for u in g.pred[todo.pop()]:
            if u not in found:
                found.add(u)
                todo.append(u)
    return found


def _prepare_evaluation(s: TableStructure, clamp: float) -> None:
    """Work out ahead what evaluating the SCM needs but its parents' values do not: the
    categorical encoder tables and the decoders' stacks (so a structure drawn ahead leaves
    the least to do)."""
    g = s.graph
    categorical: list[tuple[int, int]] = []  # live out-edges of categorical nodes
    for v, children in s.live_children.items():
        if v in s.agg:
            _ = s.decoders[v].stack  # built now, not when the rows arrive
        if not children:
            continue
        if s.ctype(v) == "categorical":
            categorical.extend((v, w) for w in children)
    if categorical:
        # every categorical encoder table of the table at once (stacked by category count)
        encs = [s.encoders[e] for e in categorical]
        weights = np.array([g.succ[v][w]["weight"] for v, w in categorical], dtype=np.float64)
        tables = _encoder_tables([e.mlp for e in encs], [e.embedding for e in encs], weights, clamp)
        for (v, _), t in zip(categorical, tables, strict=True):
            s.out_tables.setdefault(v, []).append(t)


def _knot_tables(stack: MLPStack, weights: np.ndarray, knots: np.ndarray, clamp: float) -> list[np.ndarray]:
    """A node's out-edge encoder tables on its knots: ``stack`` evaluated on them, times
    each edge's weight, clipped to ``± clamp`` (its members evaluated in bounded batches
    instead when the whole stack would hold too many floats at once)."""
    x = knots.astype(F32).reshape(1, -1, 1)
    if stack.count * x.shape[1] * stack.out_dim > _STACK_FLOATS:
        return _encoder_tables(stack.mlps, [x[0]] * stack.count, weights, clamp)
    tables = stack(x)
    _weigh(tables, weights, clamp)
    return list(tables)


def sample_table_scm(
    spec: TableSpec,
    samples: list[ForeignKeySample],
    raw: dict[str, TableSCM],
    features: FeaturePriors,
    seed: int,
    *,
    chunk_rows: int = CHUNK_ROWS,
    pool: ThreadPoolExecutor | None = None,
    structure: TableStructure | None = None,
) -> TableSCM:
    """Sample one table's SCM and its raw column values.

    ``raw`` holds the already generated parent tables (their raw column values condition
    this table through ``samples``, the table's foreign keys). ``structure`` is the table's
    :func:`sample_table_structure` (drawn here when not given; it is used up: its graph
    becomes the trace's); node noise comes from a
    row-ordered stream keyed ``("features", table, "noise", node)``. With a thread ``pool``,
    the row chunks of each node are computed in parallel (the result is the same).
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows: got {chunk_rows!r}; expected an integer >= 1")
    # whole row blocks per chunk keep every row's arithmetic identical for any chunk size
    chunk_rows = whole_blocks(chunk_rows)
    encoder_knots = _encoder_knots(features)
    name, n, c = spec.name, spec.num_rows, len(spec.columns)
    d, clamp = features.embedding_dim, features.embedding_clamp
    if c == 0:
        trace = SCMTrace(graph=nx.DiGraph(), layout="", propagation="", weight_dist="")
        return TableSCM({}, trace)
    s = structure if structure is not None else sample_table_structure(spec, features, seed)
    g, agg, nk, ntype, lazy = s.graph, s.agg, s.nk, s.ntype, s.lazy
    decoders, encoders = s.decoders, s.encoders
    num_nodes, col_nodes = s.num_nodes, s.col_nodes
    node_col = {v: i for i, v in enumerate(col_nodes)}
    ctype = {v: s.ctype(v) for v in range(num_nodes)}
    source_set = set(s.source_name)

    # only the columns and their ancestors are computed (the structure drew nothing else)
    live_children = s.live_children
    partials, parent_inputs = _parent_partials(
        name, samples, raw, {agg[v] for v in agg if v in live_children}, n, features, seed, encoder_knots
    )
    # in the kernel's form once per aggregation, shared by the nodes that use it
    prepared = {a: PreparedPartial.from_state(a, state) for a, state in partials.items()}
    del partials

    values: dict[int, np.ndarray] = {}
    # per non-source node: its tabled parents' weighted encoder tables (in parent order);
    # row code_row[u] of node_codes: for every row, the table row (category or distinct
    # value) that tabled parent u's encoders read. Parents with many distinct values
    # (``per_row``) are encoded inside the child's row chunks instead.
    tables: dict[int, list[np.ndarray]] = {v: [] for v in agg if v in live_children}
    has_children = [v for v, children in live_children.items() if children]
    code_row = {v: i for i, v in enumerate(has_children)}
    # (and a last row of row numbers, through which per-row parents' encodings are read)
    node_codes = np.empty((len(has_children) + 1, n), dtype=np.int32)
    node_codes[-1] = np.arange(n, dtype=np.int32)
    per_row: set[int] = set()
    for v, children in live_children.items():
        if v in source_set:
            values[v] = s.source_values[v]
        else:
            parents = sorted(g.predecessors(v))
            values[v] = _propagate(
                _NodeInputs(
                    agg[v],
                    parents,
                    tables.pop(v),
                    node_codes,
                    [code_row[u] for u in parents if u not in per_row],
                    {u: values[u] for u in parents if u in per_row},
                    [s.encoders[u, v].mlp for u in parents if u in per_row],
                    np.array([g.succ[u][v]["weight"] for u in parents if u in per_row], dtype=np.float64),
                    clamp,
                    prepared.get(agg[v]),
                ),
                n,
                decoders[v],
                _NodeNoise(seed, name, v, d, *s.noise[v]),
                ctype[v],
                chunk_rows,
                pool,
            )
        if not children:
            continue
        if v in s.out_tables:
            out_tables = s.out_tables.pop(v)
            node_codes[code_row[v]] = values[v]
        else:
            if encoder_knots is None and len(np.unique(values[v])) > TABLED_VALUES:
                per_row.add(v)
                continue
            kn = _Knots(values[v], ctype[v], nk[v], encoder_knots)
            node_codes[code_row[v]] = kn.codes
            # all out-edge encoders of v read the same distinct values: evaluated together
            weights = np.array([g.succ[v][w]["weight"] for w in children], dtype=np.float64)
            stack = MLPStack([s.encoders[v, w].mlp for w in children])
            out_tables = _knot_tables(stack, weights, kn.inputs, clamp)
        for w, t in zip(children, out_tables, strict=True):
            tables[w].append(t)

    # collect columns (lazy tables quantise their categorical columns now)
    columns: dict[str, RawColumn] = {}
    lazy_info: dict[str, dict] = {}
    for i, col in enumerate(spec.columns):
        v = col_nodes[i]
        if ntype[v] == "categorical" and lazy:
            qrng = stream(seed, "features", name, "lazy", col.name)
            codes, info = _quantise(values[v], nk[v], qrng, features)
            lazy_info[col.name] = info
            columns[col.name] = RawColumn("categorical", nk[v], codes, lazy=True)
        elif ntype[v] == "categorical":
            columns[col.name] = RawColumn("categorical", nk[v], values[v].astype(np.int64))
        else:
            columns[col.name] = RawColumn("numerical", 0, values[v].astype(F32, copy=False))

    for v in range(num_nodes):
        attrs = g.nodes[v]
        col = spec.columns[node_col[v]].name if v in node_col else None
        attrs["kind"] = "column" if col is not None else ("source" if v in source_set else "latent")
        attrs["is_source"] = v in source_set
        attrs["type"] = ntype[v] if (col is not None or not lazy) else "numerical"
        attrs["num_categories"] = nk[v] if attrs["type"] == "categorical" else 0
        attrs["column"] = col
        attrs["aggregation"] = agg.get(v)
        attrs["source"] = s.source_name.get(v)
        attrs["reaches_column"] = v in live_children
        attrs["activations"] = {"decoder": decoders[v].mlp.activation_names} if v in decoders else {}
    for u, out in g.succ.items():
        for v, attrs in out.items():
            enc = encoders.get((u, v))
            attrs["activations"] = enc.mlp.activation_names if enc is not None else []
            attrs["encoder"] = "categorical" if ctype[u] == "categorical" else "numerical"

    trace = SCMTrace(
        graph=g,
        layout=s.layout,
        propagation=s.propagation,
        weight_dist=g.graph.get("weight_dist", ""),
        ts_components=s.ts_components,
        parent_inputs=parent_inputs,
        details={
            "num_nodes": num_nodes,
            "column_node_frac": s.frac,
            "column_nodes": {spec.columns[i].name: v for i, v in enumerate(col_nodes)},
            "sources": s.source_params,
            "categorical_ts": s.categorical_ts,
            "lazy_quantisation": lazy_info,
            "encoder_knots": encoder_knots or 0,
            "columns": {},
        },
    )
    return TableSCM(columns, trace, values)


class _NodeInputs:
    """What a non-source node aggregates, row chunk by row chunk: its parents' weighted,
    clamped encodings (in parent order) and the parent-table partial state.

    Tabled parents (categorical, few distinct values, or knots) are read from their
    encoder tables through ``codes[code_rows[i]]`` (the last row of ``codes`` holds the
    row numbers) and folded over all rows by one prepared
    :class:`~plurel_core.mechanisms.GatheredAggregation`. The encoders from
    per-row parents (``per_row``: parent → values, in parent order, with their ``mlps``
    and edge ``weights``) run on each chunk's rows as one
    :class:`~plurel_core.mechanisms.MLPStack`, whose weighted outputs join the tables of
    that chunk's fold; memory stays at one chunk's encodings.
    """

    def __init__(
        self,
        name: str,
        parents: list[int],
        tables: list[np.ndarray],
        codes: np.ndarray,
        code_rows: list[int],
        per_row: dict[int, np.ndarray],
        mlps: list,
        weights: np.ndarray,
        clamp: float,
        partial: PreparedPartial | None,
    ):
        self.name, self.clamp, self.partial = name, clamp, partial
        self.num_tables = len(parents)
        self.num_encoded = len(per_row)
        if not per_row:
            self.fold = GatheredAggregation(name, tables, codes, clamp, partial, code_rows=code_rows)
            self.max_chunk_rows = None
            return
        self.fold = None
        # the stack's members in order of depth (each layer's finished encoders are then one
        # block of the output); which parent reads which block is kept in ``row_index``
        order = sorted(range(len(mlps)), key=lambda i: len(mlps[i].weights))
        columns = list(per_row.values())
        self.row_values = [columns[i] for i in order]
        self.stack = MLPStack([mlps[i] for i in order])
        self.weights = np.asarray(weights)[order]
        d = mlps[0].out_dim
        # one buffer per chunk holds the per-row parents' encodings (written there by the
        # stack) followed by the tabled parents' tables (concatenated once, here); parent p
        # reads row offsets[p] + codes[code_rows[p], r] of it for child row r. The last row
        # of ``codes`` is the row numbers themselves, which the per-row parents read (their
        # offsets shift them to the chunk's block of the buffer)
        self.tabled, starts = concatenated_tables(tables, d)
        self.codes = codes
        self.is_row = np.array([u in per_row for u in parents])
        self.code_rows = np.full(len(parents), codes.shape[0] - 1, dtype=np.int64)
        self.code_rows[~self.is_row] = code_rows
        # per-row parents: their index in the stack; tabled ones: where their table starts
        self.row_index = np.zeros(len(parents), dtype=np.int64)
        self.row_index[self.is_row] = np.argsort(order)
        self.table_start = np.zeros(len(parents), dtype=np.int64)
        self.table_start[~self.is_row] = starts
        # whole row blocks of encodings per chunk within the float budget (floats per row:
        # each member's widest layer)
        width = len(per_row) * max(max(w.shape[1] for w in m.weights) for m in mlps)
        self.max_chunk_rows = max(ROW_BLOCK, CHUNK_STACK_FLOATS // width // ROW_BLOCK * ROW_BLOCK)

    def rows(self, r0: int, noise: np.ndarray) -> np.ndarray:
        """Aggregated encodings of rows ``r0 .. r0 + len(noise)`` plus ``noise``."""
        if self.fold is not None:
            return self.fold.rows(r0, noise)
        m = noise.shape[0]
        encoded = self.num_encoded * m
        values = np.empty((encoded + self.tabled.shape[0], self.tabled.shape[1]), dtype=F32)
        x = np.stack([v[r0 : r0 + m] for v in self.row_values])[:, :, None]
        stack = self.stack(x, out=values[:encoded].reshape(self.num_encoded, m, -1))
        _weigh(stack, self.weights, self.clamp)
        values[encoded:] = self.tabled
        offsets = np.where(self.is_row, self.row_index * m - r0, encoded + self.table_start)
        fold = GatheredAggregation.of_values(
            self.name, values, offsets, self.codes, self.code_rows, self.clamp, self.partial
        )
        return fold.rows(r0, noise)


def _propagate(
    inputs: _NodeInputs,
    n: int,
    decoder,
    noise: _NodeNoise,
    ctype: str,
    chunk_rows: int,
    pool: ThreadPoolExecutor | None = None,
) -> np.ndarray:
    """Values of a non-source node for all rows, computed chunk by chunk: aggregated parent
    embeddings plus noise, through the node's decoder."""
    out = np.empty(n, dtype=np.int64 if ctype == "categorical" else F32)
    if inputs.max_chunk_rows is not None:
        chunk_rows = min(chunk_rows, inputs.max_chunk_rows)
    if (
        pool is not None
        and n <= chunk_rows
        and (
            n >= _SPLIT_ROWS
            or n * inputs.num_tables >= _SPLIT_GATHERS
            or n * inputs.num_encoded >= _SPLIT_ENCODINGS
        )
    ):
        # a single large chunk (many rows, many rows × parents to fold, or many rows ×
        # parents to encode) becomes two, each a whole number of row blocks: they run side
        # by side below, and rows do not depend on their chunk
        chunk_rows = max(ROW_BLOCK, whole_blocks(n // 2))
    starts = range(0, n, chunk_rows)

    def chunk(r0: int) -> None:
        m = min(n, r0 + chunk_rows) - r0
        out[r0 : r0 + m] = decoder(inputs.rows(r0, noise.rows(r0, m)))

    if pool is None or len(starts) < 2:
        for r0 in starts:
            chunk(r0)
    else:
        # chunks are independent (the aggregation kernel and numpy's products release the GIL)
        for f in [pool.submit(chunk, r0) for r0 in starts]:
            f.result()
    return out


def _quantise(
    values: np.ndarray, k: int, rng: np.random.Generator, features: FeaturePriors
) -> tuple[np.ndarray, dict]:
    """type_lazy: codes ``0..k-1`` from k-1 thresholds, the values of k-1 rows drawn
    uniformly with replacement (equal thresholds allowed, so some codes may never occur);
    a row's code is the number of thresholds its value exceeds. Labels are then permuted
    with probability ``p ~ U(lazy_permute_prob)`` and reversed with probability
    ``U(lazy_reverse_prob)``.
    """
    thresholds = np.sort(values[rng.integers(0, len(values), size=k - 1)])
    codes = np.searchsorted(thresholds, values, side="left").astype(np.int64)
    p_perm = sample_range(rng, features.lazy_permute_prob)
    permuted = bool(rng.uniform() < p_perm)
    if permuted:
        codes = rng.permutation(k)[codes]
    p_rev = sample_range(rng, features.lazy_reverse_prob)
    reversed_ = bool(rng.uniform() < p_rev)
    if reversed_:
        codes = k - 1 - codes
    info = {"thresholds": thresholds.astype(float).tolist(), "permuted": permuted, "reversed": reversed_}
    return codes, info


def table_with_frame(
    spec: TableSpec,
    samples: list[ForeignKeySample],
    raw: dict[str, TableSCM],
    features: FeaturePriors,
    post: PostprocessPriors,
    seed: int,
    window: tuple,
    chunk_rows: int,
    pool: ThreadPoolExecutor | None,
    structure: TableStructure | None = None,
) -> tuple[TableSCM, pd.DataFrame]:
    """One table's SCM (:func:`sample_table_scm`) and its post-processed frame (feature
    columns only); the SCM keeps only its columns' raw values."""
    result = sample_table_scm(
        spec,
        samples,
        raw,
        features,
        seed,
        chunk_rows=chunk_rows,
        pool=pool,
        structure=structure,
    )
    result.node_values = {}  # only the columns are needed later
    frame, details = postprocess_table(spec, result.columns, window[0], window[1], post, seed)
    result.trace.details["columns"] = details
    return result, frame


def remaining_tables(
    schema: Schema,
    foreign_keys: Callable[[], ForeignKeys],
    features: FeaturePriors,
    post: PostprocessPriors,
    seed: int,
    raw: dict[str, TableSCM],
    frames: dict[str, pd.DataFrame],
    chunk_rows: int = CHUNK_ROWS,
    pool: ThreadPoolExecutor | None = None,
) -> None:
    """Every table of ``schema`` not yet in ``raw``, in schema order (parents first), in this
    process: its SCM into ``raw`` and its frame into ``frames``. ``foreign_keys`` is called
    for each such table (Stage 2 on demand)."""
    window = (schema.t0, schema.t1)
    for name, spec in schema.tables.items():
        if name not in raw:
            raw[name], frames[name] = table_with_frame(
                spec, foreign_keys().for_table(name), raw, features, post, seed, window, chunk_rows, pool
            )
