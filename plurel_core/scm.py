"""Stage 3: feature values from one structural causal model (SCM) per table.

Tables are generated in the schema's topological order. For a table with ``c`` feature
columns the SCM graph is a random DAG (layout from ``scm_layouts``) on
``c + ceil(c / frac) + extra_nodes`` nodes; ``c`` random nodes feed the columns, the rest are
latent. Source nodes (in-degree 0) draw exogenous values (:mod:`plurel_core.sources`);
every other node ``v`` computes, per row,

    h_v = noise_v + AGG_v( clamp(w_uv · enc_uv(x_u)) for parents u,
                           clamp(w · enc_p(parent-table column)) for parent-table columns )
    x_v = dec_v(h_v)

with ``noise_v ~ Beta(α_v, β_v) / d`` per row and dimension, ``AGG_v`` from the
aggregation registry and typed encoders / decoders (:mod:`plurel_core.mechanisms`).
``type_eager`` tables use categorical encoders / decoders for categorical nodes;
``type_lazy`` tables treat every node as numerical and quantise categorical columns at the
end with thresholds drawn from the column's own values.

How the work is kept small (rows are the expensive axis):

- a categorical encoder is an MLP applied to its ``k`` table rows once, then a lookup;
- a numerical encoder is evaluated on at most ``encoder_knots`` (default 256) quantile
  knots of its input, and each row uses its quantile bucket's knot (exact when the input
  has at most that many rows; ``encoder_knots=None`` always evaluates every row);
- weighting and clamping (and, for ``product``, the log-magnitude and sign) are applied to
  those small tables, so each parent costs one gather per row;
- parent-table encoders run on the parent's rows, are folded over the parent's columns
  (that part of the aggregation is the same for every node) and gathered by the foreign
  key once per table.

Per-row randomness (source values, node noise) is drawn for all rows in row order from
streams keyed by table and node, and chunks are whole multiples of the matrix-product row
block, so rows are bit-identical for any ``chunk_rows``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from .config import FeaturePriors, PostprocessPriors, sample_range, sample_set
from .database import Features, ForeignKeys, ForeignKeySample, Schema, SCMTrace, TableSpec
from .graphs import random_dag
from .mechanisms import (
    ROW_BLOCK,
    Aggregator,
    CategoricalDecoder,
    CategoricalEncoder,
    NumericalDecoder,
    NumericalEncoder,
    log_abs,
)
from .postprocess import postprocess_table
from .rng import key_words, stream
from .sources import SOURCES, categorical_source

__all__ = ["sample_features", "sample_table_scm", "RawColumn", "TableSCM", "ENCODER_KNOTS", "CHUNK_ROWS"]

F32 = np.float32
ENCODER_KNOTS = 256
CHUNK_ROWS = 8192
# noise levels: each noise value is one of 256 frozen Beta draws, indexed by a random byte
_NOISE_LEVELS = 256


@dataclass
class RawColumn:
    """A column's value straight from the SCM (before post-processing).

    ``values``: float32 for numerical columns, int64 codes ``0..k-1`` for categorical ones.
    """

    type: str  # "numerical" or "categorical"
    num_categories: int
    values: np.ndarray


@dataclass
class TableSCM:
    """One table's SCM result: raw column values (by column name) and the trace."""

    columns: dict[str, RawColumn]
    trace: SCMTrace
    node_values: dict[int, np.ndarray] = field(default_factory=dict)


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


class _Knots:
    """Codes of a node's rows for its encoders: quantile buckets (numerical) or categories.

    ``codes[i]`` indexes ``inputs`` (the knot values a numerical encoder is evaluated on).
    """

    def __init__(self, values: np.ndarray, node_type: str, k: int, max_knots: int | None):
        n = values.shape[0]
        if node_type == "categorical":
            self.codes = values.astype(np.intp)
            self.inputs = None
            self.size = k
            return
        v = values.astype(F32, copy=False)
        s = np.sort(v)
        if max_knots is None:
            self.inputs, self.codes = v, np.arange(n, dtype=np.intp)
        elif n <= max_knots:
            self.inputs = s
            self.codes = np.searchsorted(s, v, side="left").astype(np.intp)
        else:
            j = np.arange(max_knots)
            self.inputs = s[((j + 0.5) * n / max_knots).astype(np.intp)]
            bounds = s[(j[1:] * n) // max_knots]
            self.codes = np.searchsorted(bounds, v, side="right").astype(np.intp)
        self.size = len(self.inputs)


class _Contribution:
    """One weighted, clamped encoder table and the codes that index it (per row)."""

    def __init__(self, table: np.ndarray, codes: np.ndarray, agg: str):
        self.codes = codes
        self.table = table
        if agg == "product":
            self.log_abs = log_abs(table)
            self.neg = table < 0


def _gather_start(agg: str, c: _Contribution, rows: slice) -> list:
    q = c.codes[rows]
    if agg == "product":
        return [np.take(c.log_abs, q, axis=0), np.take(c.neg, q, axis=0)]
    x = np.take(c.table, q, axis=0)
    if agg == "logsumexp":
        return [x, np.ones_like(x)]
    return [x]


def _gather_add(a: Aggregator, state: list, c: _Contribution, rows: slice, tmp: np.ndarray) -> None:
    q = c.codes[rows]
    if a.name == "product":
        np.take(c.log_abs, q, axis=0, out=tmp)
        state[0] += tmp
        state[1] ^= np.take(c.neg, q, axis=0)
        return
    np.take(c.table, q, axis=0, out=tmp)
    a.add(state, tmp)


def _noise_lut(rng: np.random.Generator, alpha: float, beta: float, d: int) -> np.ndarray:
    return (np.sort(rng.beta(alpha, beta, _NOISE_LEVELS)) / d).astype(F32)


class _NoiseStream:
    """Row-ordered noise bytes of one node: reading rows in any chunking gives the same bytes."""

    def __init__(self, seed: int, table: str, node: int, d: int):
        words = [int(seed), *key_words("features", table, "noise", node)]
        self.bits = np.random.PCG64(np.random.SeedSequence(words))
        self.words_per_row = -(-d // 8)
        self.d = d

    def next(self, rows: int) -> np.ndarray:
        raw = self.bits.random_raw(rows * self.words_per_row)
        return raw.view(np.uint8).reshape(rows, 8 * self.words_per_row)[:, : self.d]


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
    encoders: dict[tuple[str, str], object] = {}
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
        rng = stream(seed, "features", child, "parent", parent)
        embs = []
        for name, col in cols.items():
            key = (parent, name)
            if key not in encoders:
                if col.type == "categorical":
                    encoders[key] = CategoricalEncoder(rng, max(col.num_categories, 1), features)
                else:
                    encoders[key] = NumericalEncoder(rng, features)
            enc = encoders[key]
            if col.type == "categorical":
                e = enc.table()[col.values.astype(np.intp)]
            else:
                kn = _Knots(col.values, "numerical", 0, knots)
                e = enc(kn.inputs)[kn.codes]
            embs.append(e)
            label = f"{parent}.{name}"
            if label not in inputs:
                inputs.append(label)
        k = len(embs)
        pn = embs[0].shape[0]
        idx = np.where(sample.parent_rows < 0, pn, sample.parent_rows).astype(np.intp)
        for agg in aggs:
            a = Aggregator(agg, clamp)
            w = F32(1.0 / k) if agg == "sum" else F32(1.0)
            state = None
            for e in embs:
                x = np.clip(e * w, -clamp, clamp)
                if state is None:
                    state = a.start(x)
                else:
                    a.add(state, x)
            # row pn: a NULL foreign key contributes k zero embeddings
            null = a.zeros_state(1, d, k)
            state = [np.concatenate([s, z]) for s, z in zip(state, null, strict=True)]
            gathered = [s[idx] for s in state]
            if agg in combined:
                a.merge(combined[agg], gathered)
            else:
                combined[agg] = gathered
    return combined, inputs


def sample_table_scm(
    spec: TableSpec,
    samples: list[ForeignKeySample],
    raw: dict[str, TableSCM],
    features: FeaturePriors,
    seed: int,
    *,
    chunk_rows: int = CHUNK_ROWS,
    encoder_knots: int | None = ENCODER_KNOTS,
) -> TableSCM:
    """Sample one table's SCM and its raw column values.

    ``raw`` holds the already generated parent tables (their raw column values condition
    this table through ``samples``, the table's foreign keys). Structure draws come from
    ``stream(seed, "features", table)``; source values from
    ``stream(seed, "features", table, "source", node)``; node noise from a row-ordered
    stream keyed ``("features", table, "noise", node)``.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows: got {chunk_rows!r}; expected an integer >= 1")
    # whole row blocks per chunk keep every row's arithmetic identical for any chunk size
    chunk_rows = -(-chunk_rows // ROW_BLOCK) * ROW_BLOCK
    if encoder_knots is not None and encoder_knots < 1:
        raise ValueError(f"encoder_knots: got {encoder_knots!r}; expected an integer >= 1 or None")
    name, n, c = spec.name, spec.num_rows, len(spec.columns)
    d, clamp = features.embedding_dim, features.embedding_clamp
    if c == 0:
        trace = SCMTrace(graph=nx.DiGraph(), layout="", propagation="", weight_dist="")
        return TableSCM({}, trace)

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
    # the type a node is computed with (lazy tables compute everything numerically)
    ctype = {v: ("numerical" if lazy else ntype[v]) for v in range(num_nodes)}

    sources = [v for v in range(num_nodes) if g.in_degree(v) == 0]
    source_set = set(sources)
    source_name: dict[int, str] = {}
    agg: dict[int, str] = {}
    decoders: dict[int, object] = {}
    luts: dict[int, np.ndarray] = {}
    for v in range(num_nodes):
        if v in source_set:
            source_name[v] = sample_set(rng, features.source_types)
            continue
        agg[v] = sample_set(rng, features.aggregations)
        alpha = sample_range(rng, features.noise_alpha)
        beta = sample_range(rng, features.noise_beta)
        luts[v] = _noise_lut(rng, alpha, beta, d)
        g.nodes[v]["noise_alpha"], g.nodes[v]["noise_beta"] = alpha, beta
        if ctype[v] == "categorical":
            decoders[v] = CategoricalDecoder(rng, nk[v], features)
        else:
            decoders[v] = NumericalDecoder(rng, features)
    encoders: dict[tuple[int, int], object] = {}
    for u, v in sorted(g.edges()):
        if ctype[u] == "categorical":
            encoders[u, v] = CategoricalEncoder(rng, nk[u], features)
        else:
            encoders[u, v] = NumericalEncoder(rng, features)

    partials, parent_inputs = _parent_partials(
        name, samples, raw, set(agg.values()), n, features, seed, encoder_knots
    )

    values: dict[int, np.ndarray] = {}
    knots: dict[int, _Knots] = {}
    ts_components: dict[int, dict[str, np.ndarray]] = {}
    source_params: dict[int, dict] = {}
    categorical_ts: dict[int, dict[str, np.ndarray]] = {}
    for v in range(num_nodes):
        if v in source_set:
            srng = stream(seed, "features", name, "source", v)
            if ctype[v] == "categorical":
                draw = categorical_source(source_name[v], srng, n, nk[v], features, spec.kind)
                if draw.components is not None:
                    categorical_ts[v] = {k: x.astype(F32) for k, x in draw.components.items()}
                values[v] = draw.values
            else:
                draw = SOURCES[source_name[v]](srng, n, features, spec.kind)
                if draw.components is not None:
                    ts_components[v] = draw.components
                values[v] = draw.values.astype(F32)
            source_params[v] = draw.params
        else:
            values[v] = _propagate(
                v,
                g,
                n,
                d,
                clamp,
                agg[v],
                knots,
                encoders,
                decoders[v],
                luts[v],
                partials,
                _NoiseStream(seed, name, v, d),
                ctype[v],
                chunk_rows,
            )
        if g.out_degree(v) > 0:
            knots[v] = _Knots(values[v], ctype[v], nk[v], encoder_knots)

    # collect columns (lazy tables quantise their categorical columns now)
    columns: dict[str, RawColumn] = {}
    lazy_info: dict[str, dict] = {}
    for i, col in enumerate(spec.columns):
        v = col_nodes[i]
        if ntype[v] == "categorical" and lazy:
            qrng = stream(seed, "features", name, "lazy", col.name)
            codes, info = _quantise(values[v], nk[v], qrng, features)
            lazy_info[col.name] = info
            columns[col.name] = RawColumn("categorical", nk[v], codes)
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
        attrs["source"] = source_name.get(v)
        attrs["activations"] = {"decoder": decoders[v].mlp.activation_names} if v in decoders else {}
    for (u, v), enc in encoders.items():
        g.edges[u, v]["activations"] = enc.mlp.activation_names
        g.edges[u, v]["encoder"] = "categorical" if isinstance(enc, CategoricalEncoder) else "numerical"

    trace = SCMTrace(
        graph=g,
        layout=layout,
        propagation=propagation,
        weight_dist=g.graph.get("weight_dist", ""),
        ts_components=ts_components,
        parent_inputs=parent_inputs,
        details={
            "num_nodes": num_nodes,
            "column_node_frac": frac,
            "column_nodes": {spec.columns[i].name: v for i, v in enumerate(col_nodes)},
            "sources": source_params,
            "categorical_ts": categorical_ts,
            "lazy_quantisation": lazy_info,
            "encoder_knots": encoder_knots,
            "columns": {},
        },
    )
    return TableSCM(columns, trace, values)


def _propagate(
    v: int,
    g: nx.DiGraph,
    n: int,
    d: int,
    clamp: float,
    agg_name: str,
    knots: dict[int, _Knots],
    encoders: dict,
    decoder,
    lut: np.ndarray,
    partials: dict[str, list],
    noise: _NoiseStream,
    ctype: str,
    chunk_rows: int,
) -> np.ndarray:
    """Values of non-source node ``v`` for all rows, computed chunk by chunk."""
    a = Aggregator(agg_name, clamp)
    contribs = []
    for u in sorted(g.predecessors(v)):
        kn = knots[u]
        enc = encoders[u, v]
        table = enc.table() if kn.inputs is None else enc(kn.inputs)
        w = F32(g.edges[u, v]["weight"])
        table = np.clip(table * w, -clamp, clamp)
        contribs.append(_Contribution(table, kn.codes, agg_name))
    partial = partials.get(agg_name)
    out = np.empty(n, dtype=np.int64 if ctype == "categorical" else F32)
    for r0 in range(0, n, chunk_rows):
        rows = slice(r0, min(n, r0 + chunk_rows))
        m = rows.stop - rows.start
        state = _gather_start(agg_name, contribs[0], rows)
        tmp = np.empty((m, d), dtype=F32)
        for c in contribs[1:]:
            _gather_add(a, state, c, rows, tmp)
        if partial is not None:
            a.merge(state, [p[rows] for p in partial])
        h = a.finish(state)
        h += lut[noise.next(m)]
        out[rows] = decoder(h)
    return out


def _quantise(
    values: np.ndarray, k: int, rng: np.random.Generator, features: FeaturePriors
) -> tuple[np.ndarray, dict]:
    """type_lazy: codes ``0..k-1`` from k-1 thresholds drawn among the column's own values.

    Thresholds are distinct values other than the largest, so every code occurs whenever the
    column has at least k distinct values. Labels are then permuted with probability
    ``p ~ U(lazy_permute_prob)`` and reversed with probability ``U(lazy_reverse_prob)``.
    """
    uniq = np.unique(values)
    candidates = uniq[:-1]
    if len(candidates) > k - 1:
        thresholds = np.sort(rng.choice(candidates, size=k - 1, replace=False))
    else:
        thresholds = candidates
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


def sample_features(
    schema: Schema,
    fks: ForeignKeys,
    features: FeaturePriors,
    post: PostprocessPriors,
    seed: int,
    *,
    chunk_rows: int = CHUNK_ROWS,
    encoder_knots: int | None = ENCODER_KNOTS,
) -> Features:
    """Stage 3: the feature columns of every table, post-processed, plus each SCM's trace.

    Tables are sampled in ``schema.tables`` order (topological); each is conditioned on
    the raw SCM values of its parents. ``frames[table]`` holds only feature columns, in
    the order of ``TableSpec.columns`` (minus columns post-processing dropped), indexed
    ``0..n-1``. Results do not depend on ``chunk_rows``.
    """
    raw: dict[str, TableSCM] = {}
    frames: dict[str, pd.DataFrame] = {}
    traces: dict[str, SCMTrace] = {}
    for name, spec in schema.tables.items():
        result = sample_table_scm(
            spec, fks.for_table(name), raw, features, seed, chunk_rows=chunk_rows, encoder_knots=encoder_knots
        )
        result.node_values = {}  # only the columns are needed later
        raw[name] = result
        frame, details = postprocess_table(spec, result.columns, schema.t0, schema.t1, post, seed)
        result.trace.details["columns"] = details
        frames[name] = frame
        traces[name] = result.trace
    return Features(frames, traces)
