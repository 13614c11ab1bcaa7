"""Stage 2: foreign keys from a hierarchical stochastic block model (HSBM).

For every foreign key (child table → parent table) each child row gets one parent row.

**The hierarchy.** An HSBM has ``L`` levels. At level ``l`` the parent rows fall into
``parent_clusters[l]`` clusters and the child rows into ``child_clusters[l]`` clusters. Rows
are cut into ``K = prod(clusters)`` contiguous *base clusters* of ``s = ⌈n/K⌉`` rows each,
in order (base ``k`` covers rows ``[k·s, min((k+1)·s, n))``; the last ones are shorter or
empty when ``K`` does not divide ``n``). A base label is
a mixed-radix number whose most significant digit is level 0::

    label = d_0 · (c_1 · c_2 ⋯ c_{L-1}) + d_1 · (c_2 ⋯ c_{L-1}) + ... + d_{L-1}
    d_l   = (label // (c_{l+1} ⋯ c_{L-1})) % c_l      # the label's cluster at level l

so level-0 clusters are the coarsest contiguous blocks of rows and each deeper level
splits every cluster of the level above into ``c_l`` contiguous parts.

**The block model.** Level ``l`` has a block matrix ``B_l`` (parent clusters × child
clusters) whose off-diagonal cells are drawn from U(across) and whose "diagonal" cells
``B_l[i mod rows, i mod cols]`` hold ``within`` (so a non-square matrix still pairs every
parent cluster and every child cluster with at least one partner). A child row in base
cluster ``b`` picks parent row ``a`` with probability ∝ ∏_l B_l[d_l(base(a)), d_l(b)].

**The exact sampler.** All parent rows of one base cluster share that probability, so
P(parent base ``k`` | child base ``b``) ∝ size_k · ∏_l B_l[d_l(k), d_l(b)]. Each child first
draws its parent base cluster by inverse CDF from that categorical, then a uniform parent
row inside it. Cost O(rows × base clusters); no parent × child matrix is ever built. Two
uniforms per child row are drawn in row order, so the result does not depend on the chunk
size used to bound memory.

**Constraints** of imported SQL schemas, handled by :func:`sample_foreign_keys`:

- *plain FK*: the exact HSBM sampler above.
- *nullable FK* (``fk.nullable``): sampled like a plain FK; no NULLs are produced except
  for row 0 of a nullable self-reference (below).
- *composite FK* (several columns): one parent row per child row, like any FK; the
  columns' values are read from that parent row when the table is assembled.
- *deferred FK* (``fk.deferred``, an FK that closes a cycle): sampled exactly like a plain
  FK, from the same stream; the flag only matters for the order of Stage 3.
- *self-reference* (``fk.parent`` is the child table): row ``i`` may only point to an
  earlier row ``j < i``, so rows can be inserted in order. Row ``i`` draws from the HSBM
  probabilities restricted exactly to rows ``0..i-1``: the base clusters wholly before row
  ``i`` keep their weight size × block product, the base cluster holding row ``i-1`` keeps
  only its part before row ``i``. Row 0 has no earlier row: it is NULL (-1) when the FK is
  nullable, otherwise it points to itself.
- *one-to-one FK* (``fk.one_to_one``, or a unique group equal to the FK's columns): each
  parent row is used at most once. Children draw parent base clusters from the HSBM; a base
  cluster drawn more often than it has rows keeps a uniformly random subset of those
  children and the rest draw again among the base clusters with rows left (a few rounds at
  most, one per base cluster); inside a base cluster the children get distinct parent rows
  uniformly at random. More child rows than parent rows raise a ValueError naming the table.
  A one-to-one self-reference leaves a single valid layout — the chain ``i → i-1`` with row
  0 NULL — so it requires a nullable FK when the table has more than one row.
- *unique combinations* (a ``TableSpec.unique_groups`` entry made only of the columns of
  two or more FKs, e.g. a junction table keyed by two FKs): the combination of parent rows
  must be unique. Each FK is sampled as usual; rows repeating an earlier row's combination
  redraw all those FKs from their own (HSBM) distribution for a few rounds, then — if some
  repeats remain because the space of combinations is nearly full — receive free
  combinations uniformly at random (exact enumeration when the space is small, uniform
  rejection otherwise). More child rows than the product of the parent row counts raise a
  ValueError naming the table. Groups that contain other columns (made unique by those
  columns) or a one-to-one FK (already unique) need nothing here.

Every FK draws from ``stream(seed, "connectivity", child, fk.name)``; a unique group from
``stream(seed, "connectivity", child, "unique", *group)``. The foreign keys of one table
therefore never change when other tables are added or removed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .config import ConnectivityPriors, sample_range
from .database import ForeignKeys, ForeignKeySample, ForeignKeySpec, HSBMTrace, Schema, TableSpec
from .errors import SchemaError
from .rng import stream

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "base_cluster_digits",
    "base_cluster_labels",
    "base_cluster_probs",
    "base_cluster_sizes",
    "block_products",
    "hsbm_trace",
    "parent_choice_entropy",
    "sample_block_matrices",
    "sample_foreign_keys",
    "sample_hierarchy",
    "sample_hsbm",
    "sample_hsbm_parents",
]

# Child rows handled per vectorised step; results never depend on it.
DEFAULT_CHUNK_SIZE = 1 << 20

# Junction tables: rounds of redrawing repeated combinations from the HSBM, then rounds of
# uniform redraws, before giving up.
_HSBM_UNIQUE_ROUNDS = 16
_UNIFORM_UNIQUE_ROUNDS = 64


# -- validation ------------------------------------------------------------------------------


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _check_clusters(name: str, clusters: Sequence[int]) -> tuple[int, ...]:
    try:
        out = tuple(int(c) for c in clusters)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of positive integers, got {clusters!r}") from None
    if (
        len(out) == 0
        or any(c < 1 for c in out)
        or any(c != float(x) for c, x in zip(out, clusters, strict=True))
    ):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive integers (one per HSBM level), got {clusters!r}"
        )
    return out


def _check_chunk_size(chunk_size: object) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    return int(chunk_size)


def _check_levels(
    parent_clusters: Sequence[int], child_clusters: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Cluster counts per HSBM level on both sides, with the same number of levels."""
    pc = _check_clusters("parent_clusters", parent_clusters)
    cc = _check_clusters("child_clusters", child_clusters)
    if len(pc) != len(cc):
        raise ValueError(
            f"parent_clusters and child_clusters must have one entry per HSBM level, "
            f"got {len(pc)} and {len(cc)} levels"
        )
    return pc, cc


def _check_hierarchy(
    parent_clusters: Sequence[int], child_clusters: Sequence[int], blocks: Sequence[np.ndarray]
) -> tuple[tuple[int, ...], tuple[int, ...], list[np.ndarray]]:
    pc, cc = _check_levels(parent_clusters, child_clusters)
    if len(blocks) != len(pc):
        raise ValueError(f"blocks must hold one matrix per HSBM level ({len(pc)}), got {len(blocks)}")
    out = []
    for level, (b, p, c) in enumerate(zip(blocks, pc, cc, strict=True)):
        b = np.asarray(b, dtype=np.float64)
        if b.shape != (p, c):
            raise ValueError(f"blocks[{level}] must have shape ({p}, {c}), got {b.shape}")
        if not np.all(np.isfinite(b)) or np.any(b <= 0):
            raise ValueError(f"blocks[{level}] must hold finite positive affinities, got {b.tolist()}")
        out.append(b)
    return pc, cc, out


# -- base clusters ---------------------------------------------------------------------------


def _label_dtype(num_bases: int) -> type:
    return np.int16 if num_bases <= np.iinfo(np.int16).max else np.int32


def base_cluster_sizes(num_rows: int, clusters_per_level: Sequence[int]) -> np.ndarray:
    """Rows in each base cluster (int64, length ``prod(clusters_per_level)``).

    Base cluster ``k`` of ``K`` covers rows ``[k·s, min((k+1)·s, n))`` with ``s = ⌈n/K⌉``:
    contiguous, full-size clusters first, then at most one shorter one and empty ones.
    """
    n = _check_count("num_rows", num_rows)
    k = math.prod(_check_clusters("clusters_per_level", clusters_per_level))
    size = -(-n // k)  # ceil(n / K)
    return np.clip(n - size * np.arange(k, dtype=np.int64), 0, size)


def base_cluster_labels(num_rows: int, clusters_per_level: Sequence[int]) -> np.ndarray:
    """Base-cluster label of every row: rows cut into ``prod(clusters)`` contiguous parts.

    Labels are int16 (int32 past 32767 base clusters) and non-decreasing in the row index.
    A label's mixed-radix digits (most significant = level 0, see
    :func:`base_cluster_digits`) are its cluster at each HSBM level.
    """
    sizes = base_cluster_sizes(num_rows, clusters_per_level)
    dtype = _label_dtype(sizes.size)
    return np.repeat(np.arange(sizes.size, dtype=dtype), sizes)


def base_cluster_digits(clusters_per_level: Sequence[int]) -> np.ndarray:
    """(base clusters × levels) array: the cluster of each base label at each level.

    ``digits[label, l] = (label // prod(clusters[l+1:])) % clusters[l]``.
    """
    clusters = _check_clusters("clusters_per_level", clusters_per_level)
    labels = np.arange(math.prod(clusters), dtype=np.int64)
    digits = np.empty((labels.size, len(clusters)), dtype=np.int64)
    stride = 1
    for level in range(len(clusters) - 1, -1, -1):
        digits[:, level] = (labels // stride) % clusters[level]
        stride *= clusters[level]
    return digits


def sample_block_matrices(
    rng: np.random.Generator,
    parent_clusters: Sequence[int],
    child_clusters: Sequence[int],
    within: float,
    across: tuple[float, float],
) -> list[np.ndarray]:
    """One block matrix ``B_l`` (parent clusters × child clusters) per HSBM level.

    Off-diagonal cells ~ U(across[0], across[1]) independently; cells
    ``B_l[i mod rows, i mod cols]`` for ``i < max(rows, cols)`` are set to ``within``.
    """
    pc, cc = _check_levels(parent_clusters, child_clusters)
    try:
        ok = math.isfinite(float(within)) and float(within) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"within must be a positive number, got {within!r}")
    try:
        lo, hi = (float(x) for x in across)
    except (TypeError, ValueError):
        raise ValueError(f"across must be a range (lo, hi) of positive numbers, got {across!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo <= hi):
        raise ValueError(f"across must be a range (lo, hi) with 0 < lo <= hi, got {across!r}")
    blocks = []
    for p, c in zip(pc, cc, strict=True):
        b = rng.uniform(lo, hi, size=(p, c))
        i = np.arange(max(p, c))
        b[i % p, i % c] = within
        blocks.append(b)
    return blocks


def block_products(
    parent_clusters: Sequence[int], child_clusters: Sequence[int], blocks: Sequence[np.ndarray]
) -> np.ndarray:
    """(parent bases × child bases): ∏_l B_l[d_l(parent base), d_l(child base)].

    The unnormalised probability that a child of one base cluster picks one given parent
    row of another.
    """
    pc, cc, blocks = _check_hierarchy(parent_clusters, child_clusters, blocks)
    dp, dc = base_cluster_digits(pc), base_cluster_digits(cc)
    out = np.ones((dp.shape[0], dc.shape[0]))
    for level, b in enumerate(blocks):
        out *= b[dp[:, level][:, None], dc[:, level][None, :]]
    return out


def base_cluster_probs(
    num_parents: int,
    parent_clusters: Sequence[int],
    child_clusters: Sequence[int],
    blocks: Sequence[np.ndarray],
) -> np.ndarray:
    """Exact P(parent base cluster | child base cluster), shape (parent bases, child bases).

    Column ``b`` is ∝ size_k · ∏_l B_l[d_l(k), d_l(b)] over parent base clusters ``k``
    and sums to 1; empty base clusters (fewer rows than base clusters) get 0.
    """
    n = _check_count("num_parents", num_parents)
    if n == 0:
        raise ValueError("num_parents must be at least 1: a foreign key needs a parent row to point to")
    weights = block_products(parent_clusters, child_clusters, blocks)
    weights *= base_cluster_sizes(n, parent_clusters)[:, None]
    return weights / weights.sum(axis=0, keepdims=True)


def hsbm_trace(
    num_parents: int,
    num_children: int,
    parent_clusters: Sequence[int],
    child_clusters: Sequence[int],
    blocks: Sequence[np.ndarray],
) -> HSBMTrace:
    """The :class:`HSBMTrace` of a hierarchy: base labels of both sides and base_probs."""
    pc, cc, blocks = _check_hierarchy(parent_clusters, child_clusters, blocks)
    return HSBMTrace(
        levels=len(pc),
        parent_clusters=pc,
        child_clusters=cc,
        blocks=blocks,
        parent_base=base_cluster_labels(num_parents, pc),
        child_base=base_cluster_labels(num_children, cc),
        base_probs=base_cluster_probs(num_parents, pc, cc, blocks),
    )


def parent_choice_entropy(trace: HSBMTrace) -> np.ndarray:
    """Entropy (nats) of the parent row a child draws, one value per child base cluster.

    H = H(parent base | b) + Σ_k P(k | b) · log size_k (uniform inside a base cluster).
    One level with one cluster gives log(num parents); tighter hierarchies give less.
    """
    p = trace.base_probs
    sizes = np.bincount(trace.parent_base, minlength=p.shape[0]).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(sizes)[:, None] - np.log(p)), 0.0)
    return terms.sum(axis=0)


# -- sampling --------------------------------------------------------------------------------


def _segment_bounds(labels: np.ndarray, num_bases: int) -> np.ndarray:
    """Start of each label's run in a non-decreasing label array (length num_bases + 1)."""
    return np.searchsorted(labels, np.arange(num_bases + 1), side="left")


def _uniform_offsets(v: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """floor(v · size), kept below size against rounding."""
    off = (v * sizes).astype(np.int64)
    return np.minimum(off, sizes - 1, out=off)


def _draw_parents(
    child_base: np.ndarray,
    weights: np.ndarray,
    parent_start: np.ndarray | None,
    parent_size: np.ndarray,
    rng: np.random.Generator,
    chunk_size: int,
) -> np.ndarray:
    """Cluster-first draw for children with non-decreasing base labels ``child_base``.

    Column ``b`` of ``weights`` is the unnormalised categorical over parent base clusters
    for child base ``b``. Two uniforms per child, consumed in order: the first picks the
    base cluster by inverse CDF, the second the row inside it. Returns parent rows, or
    parent base labels when ``parent_start`` is None.
    """
    n = child_base.size
    out = np.empty(n, dtype=np.int64)
    bounds = _segment_bounds(child_base, weights.shape[1])
    cdf = np.cumsum(weights, axis=0)
    for b in range(weights.shape[1]):
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        if lo == hi:
            continue
        col = cdf[:, b]
        # rounding may push u·total onto the total: never return a trailing empty cluster
        last = int(np.flatnonzero(weights[:, b])[-1])
        for s in range(lo, hi, chunk_size):
            e = min(s + chunk_size, hi)
            u = rng.random(2 * (e - s))
            k = np.searchsorted(col, u[0::2] * col[-1], side="right")
            np.minimum(k, last, out=k)
            if parent_start is None:
                out[s:e] = k
            else:
                out[s:e] = parent_start[k] + _uniform_offsets(u[1::2], parent_size[k])
    return out


def _draw_earlier_parents(
    rows: np.ndarray,
    child_base: np.ndarray,
    products: np.ndarray,
    parent_base: np.ndarray,
    parent_start: np.ndarray,
    parent_size: np.ndarray,
    nullable: bool,
    rng: np.random.Generator,
    chunk_size: int,
) -> np.ndarray:
    """Self-reference: each row ``i`` (sorted ``rows``) draws from the HSBM restricted to rows < i.

    Parent base clusters wholly before row ``i`` weigh size × block product; the one holding
    row ``i-1`` weighs (its rows before ``i``) × block product. Same two-uniform scheme as
    :func:`_draw_parents`. Row 0 → -1 if ``nullable`` else 0.
    """
    out = np.empty(rows.size, dtype=np.int64)
    bounds = _segment_bounds(child_base, products.shape[1])
    full = products * parent_size[:, None]
    cum = np.cumsum(full, axis=0)
    cum_before = np.vstack([np.zeros((1, full.shape[1])), cum[:-1]])  # exact exclusive prefix
    for b in range(products.shape[1]):
        lo, hi = int(bounds[b]), int(bounds[b + 1])
        for s in range(lo, hi, chunk_size):
            e = min(s + chunk_size, hi)
            i = rows[s:e]
            u = rng.random(2 * (e - s))
            kp = parent_base[np.maximum(i - 1, 0)].astype(np.int64)  # base holding row i-1
            part = i - parent_start[kp]  # its rows before i (>= 1 for i >= 1)
            prefix = cum_before[kp, b]
            x = u[0::2] * (prefix + products[kp, b] * part)
            in_full = x < prefix
            k = np.minimum(np.searchsorted(cum[:, b], x, side="right"), np.maximum(kp - 1, 0))
            k = np.where(in_full, k, kp)
            size = np.where(in_full, parent_size[k], np.maximum(part, 1))
            res = parent_start[k] + _uniform_offsets(u[1::2], size)
            res[i == 0] = -1 if nullable else 0
            out[s:e] = res
    return out


def _parent_layout(num_parents: int, parent_clusters: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    sizes = base_cluster_sizes(num_parents, parent_clusters)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return starts, sizes


def sample_hsbm_parents(
    num_parents: int,
    num_children: int,
    parent_clusters: Sequence[int],
    child_clusters: Sequence[int],
    blocks: Sequence[np.ndarray],
    rng: np.random.Generator,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[np.ndarray, HSBMTrace]:
    """Exact HSBM draw of one parent row per child row.

    Child row ``i`` in base cluster ``b`` draws parent base cluster ``k`` with probability
    ``base_cluster_probs(...)[k, b]`` (∝ size_k · ∏_l B_l[d_l(k), d_l(b)]), then a parent row
    uniformly inside ``k``. O(rows × base clusters) time, O(rows) memory; the result does not
    depend on ``chunk_size``. Returns ``(parent_rows int64, trace)``.
    """
    num_parents = _check_count("num_parents", num_parents)
    num_children = _check_count("num_children", num_children)
    chunk_size = _check_chunk_size(chunk_size)
    trace = hsbm_trace(num_parents, num_children, parent_clusters, child_clusters, blocks)
    starts, sizes = _parent_layout(num_parents, trace.parent_clusters)
    rows = _draw_parents(trace.child_base, trace.base_probs, starts, sizes, rng, chunk_size)
    return rows, trace


def sample_hierarchy(
    priors: ConnectivityPriors, rng: np.random.Generator
) -> tuple[tuple[int, ...], tuple[int, ...], list[np.ndarray]]:
    """Draw an HSBM hierarchy from the priors: ``(parent_clusters, child_clusters, blocks)``.

    Levels L ~ U{levels}; per level, parent then child cluster counts ~ U{parent_clusters},
    U{child_clusters}; then the block matrices (:func:`sample_block_matrices`) with
    ``within_affinity`` on the diagonal and U(across_affinity) elsewhere.
    """
    levels = sample_range(rng, priors.levels)
    pc, cc = [], []
    for _ in range(levels):
        pc.append(sample_range(rng, priors.parent_clusters))
        cc.append(sample_range(rng, priors.child_clusters))
    blocks = sample_block_matrices(rng, pc, cc, priors.within_affinity, priors.across_affinity)
    return tuple(pc), tuple(cc), blocks


def sample_hsbm(
    num_parents: int,
    num_children: int,
    priors: ConnectivityPriors,
    rng: np.random.Generator,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> tuple[np.ndarray, HSBMTrace]:
    """Draw a hierarchy from ``priors`` (:func:`sample_hierarchy`), then the parent rows
    (:func:`sample_hsbm_parents`)."""
    pc, cc, blocks = sample_hierarchy(priors, rng)
    return sample_hsbm_parents(num_parents, num_children, pc, cc, blocks, rng, chunk_size=chunk_size)


# -- constraints -----------------------------------------------------------------------------


def _one_to_one_parents(
    trace: HSBMTrace, num_parents: int, rng: np.random.Generator, chunk_size: int
) -> np.ndarray:
    """Distinct parent rows in HSBM cluster order (see the module docstring)."""
    starts, sizes = _parent_layout(num_parents, trace.parent_clusters)
    capacity = sizes.copy()
    n = trace.child_base.size
    base = np.empty(n, dtype=np.int64)
    pending = np.arange(n, dtype=np.int64)
    while pending.size:
        weights = trace.base_probs * (capacity > 0)[:, None]
        k = _draw_parents(trace.child_base[pending], weights, None, sizes, rng, chunk_size)
        # over-subscribed base clusters keep a random subset of their children
        order = np.lexsort((rng.random(pending.size), k))
        ks = k[order]
        first = np.searchsorted(ks, ks, side="left")
        accept = (np.arange(ks.size) - first) < capacity[ks]
        base[pending[order[accept]]] = ks[accept]
        capacity -= np.bincount(ks[accept], minlength=capacity.size)
        pending = np.sort(pending[order[~accept]])
    # a random permutation of the rows inside every parent base cluster
    shuffled = np.lexsort((rng.random(num_parents), trace.parent_base))
    by_base = np.argsort(base, kind="stable")
    kb = base[by_base]
    rank = np.arange(n) - np.searchsorted(kb, kb, side="left")
    out = np.empty(n, dtype=np.int64)
    out[by_base] = shuffled[starts[kb] + rank]
    return out


def _duplicates(cols: list[np.ndarray], counts: list[int]) -> np.ndarray:
    """Mask of rows whose combination of ``cols`` already occurred at an earlier row.

    Values lie in [-1, count) (-1 = NULL).
    """
    n = cols[0].size
    if math.prod(c + 1 for c in counts) < 2**62:
        codes = np.zeros(n, dtype=np.int64)
        for col, c in zip(cols, counts, strict=True):
            codes = codes * (c + 1) + (col + 1)
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        same = sorted_codes[1:] == sorted_codes[:-1]
    else:
        order = np.lexsort(cols[::-1])  # stable: equal combinations keep row order
        same = np.ones(n - 1, dtype=bool)
        for col in cols:
            sc = col[order]
            same &= sc[1:] == sc[:-1]
    dup = np.zeros(n, dtype=bool)
    dup[order[1:]] = same
    return dup


def _make_unique(
    table: str,
    group: tuple[str, ...],
    cols: list[np.ndarray],
    counts: list[int],
    redraws: list[Callable[[np.ndarray, np.random.Generator], np.ndarray]],
    self_ref: list[bool],
    rng: np.random.Generator,
) -> None:
    """Redraw rows (in place) until the combination of ``cols`` is unique per row."""
    n = cols[0].size
    if n > math.prod(counts):
        raise SchemaError(
            f"table {table!r}: {n} rows cannot have unique combinations of the foreign keys "
            f"{list(group)}: only {math.prod(counts)} combinations of parent rows exist"
        )
    dup = _duplicates(cols, counts)
    for _ in range(_HSBM_UNIQUE_ROUNDS):
        idx = np.flatnonzero(dup)
        if idx.size == 0:
            return
        for j, redraw in enumerate(redraws):
            cols[j][idx] = redraw(idx, rng)
        dup = _duplicates(cols, counts)
    # the space of combinations is crowded: give the remaining repeats free combinations
    space = math.prod(counts)
    if not any(self_ref) and space <= 4 * n + (1 << 20):
        idx = np.flatnonzero(dup)
        kept = np.zeros(space, dtype=bool)
        codes = np.zeros(n, dtype=np.int64)
        for col, c in zip(cols, counts, strict=True):
            codes = codes * c + col
        kept[codes[~dup]] = True
        free = np.flatnonzero(~kept)
        chosen = rng.choice(free, size=idx.size, replace=False)
        for j in range(len(cols) - 1, -1, -1):
            cols[j][idx] = chosen % counts[j]
            chosen //= counts[j]
        return
    for _ in range(_UNIFORM_UNIQUE_ROUNDS):
        idx = np.flatnonzero(dup)
        if idx.size == 0:
            return
        for j, c in enumerate(counts):
            v = rng.random(idx.size)
            if self_ref[j]:  # an earlier row, uniformly; row 0 keeps its value
                new = (v * idx).astype(np.int64)
                cols[j][idx] = np.where(idx > 0, np.minimum(new, idx - 1), cols[j][idx])
            else:
                cols[j][idx] = _uniform_offsets(v, np.full(idx.size, c, dtype=np.int64))
        dup = _duplicates(cols, counts)
    if dup.any():
        raise SchemaError(
            f"table {table!r}: could not make the combinations of foreign keys {list(group)} unique "
            f"({int(dup.sum())} repeats left); use fewer rows"
        )


def _is_one_to_one(spec: TableSpec, fk: ForeignKeySpec) -> bool:
    return fk.one_to_one or any(set(g) == set(fk.columns) for g in spec.unique_groups)


def sample_foreign_keys(
    schema: Schema,
    priors: ConnectivityPriors,
    seed: int,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ForeignKeys:
    """Stage 2: one parent row per child row for every FK of ``schema``.

    Each ``(child, fk)`` draws its hierarchy (:func:`sample_hierarchy`) and rows from
    ``stream(seed, "connectivity", child, fk.name)``; constraints (self-references,
    one-to-one FKs, unique FK combinations) are handled as the module docstring describes.

    Parameters
    ----------
    schema : Schema
        Stage 1's result.
    priors : ConnectivityPriors
        The HSBM priors (``config.connectivity``).
    seed : int
        The database's seed.
    chunk_size : int, optional
        Child rows drawn per step (bounds memory; the rows drawn do not depend on it).

    Returns
    -------
    ForeignKeys
        ``.samples`` keyed by ``(child table, fk.name)``: each sample's ``parent_rows`` (-1
        where the key is NULL) and its HSBM trace.

    Raises
    ------
    SchemaError
        Keys the schema's row counts cannot satisfy (one-to-one, unique combinations).
    """
    chunk_size = _check_chunk_size(chunk_size)
    samples: dict[tuple[str, str], ForeignKeySample] = {}
    for spec in schema.tables.values():
        redraws: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray] | None] = {}
        for fk in spec.foreign_keys:
            sample, redraw = _sample_one(schema, spec, fk, priors, seed, chunk_size)
            samples[(spec.name, fk.name)] = sample
            redraws[fk.name] = redraw
        for group in spec.unique_groups:
            members = [fk for fk in spec.foreign_keys if set(fk.columns) <= set(group)]
            if len(members) < 2:
                continue
            if not set(group) <= {c for fk in members for c in fk.columns}:
                continue  # other columns of the group keep it unique
            if any(_is_one_to_one(spec, fk) or redraws[fk.name] is None for fk in members):
                continue  # a one-to-one FK (or a forced layout) is unique already
            _make_unique(
                spec.name,
                tuple(group),
                [samples[(spec.name, fk.name)].parent_rows for fk in members],
                [schema.tables[fk.parent].num_rows for fk in members],
                [redraws[fk.name] for fk in members],
                [fk.parent == spec.name for fk in members],
                stream(seed, "connectivity", spec.name, "unique", *group),
            )
    return ForeignKeys(samples)


def _sample_one(
    schema: Schema,
    spec: TableSpec,
    fk: ForeignKeySpec,
    priors: ConnectivityPriors,
    seed: int,
    chunk_size: int,
) -> tuple[ForeignKeySample, Callable[[np.ndarray, np.random.Generator], np.ndarray] | None]:
    """One FK's sample plus a function redrawing given child rows from the same distribution."""
    child = spec.name
    if fk.parent not in schema.tables:
        raise SchemaError(
            f"table {child!r}: foreign key {fk.name!r} references unknown table {fk.parent!r}; "
            f"known tables: {sorted(schema.tables)}"
        )
    num_children = _check_count(f"tables[{child!r}].num_rows", spec.num_rows)
    num_parents = _check_count(f"tables[{fk.parent!r}].num_rows", schema.tables[fk.parent].num_rows)
    self_ref = fk.parent == child
    one_to_one = _is_one_to_one(spec, fk)
    if num_parents == 0:
        if num_children:
            raise SchemaError(
                f"table {child!r}: foreign key {fk.name!r} needs parent rows but table {fk.parent!r} has none"
            )
        return ForeignKeySample(child, fk, np.empty(0, dtype=np.int64), None), None
    if one_to_one and num_children > num_parents:
        raise SchemaError(
            f"table {child!r}: one-to-one foreign key {fk.name!r} needs at most one child row per row of "
            f"{fk.parent!r}, but {child!r} has {num_children} rows and {fk.parent!r} has {num_parents}"
        )
    if one_to_one and self_ref:
        if num_children > 1 and not fk.nullable:
            raise SchemaError(
                f"table {child!r}: a one-to-one self-reference {fk.name!r} must be nullable: "
                f"only the chain row i → row i-1 with row 0 NULL satisfies it"
            )
        rows = np.arange(-1, num_children - 1, dtype=np.int64)
        if not fk.nullable:
            rows[:1] = 0
        return ForeignKeySample(child, fk, rows, None), None

    rng = stream(seed, "connectivity", child, fk.name)
    pc, cc, blocks = sample_hierarchy(priors, rng)
    trace = hsbm_trace(num_parents, num_children, pc, cc, blocks)
    starts, sizes = _parent_layout(num_parents, pc)

    if one_to_one:
        rows = _one_to_one_parents(trace, num_parents, rng, chunk_size)
        return ForeignKeySample(child, fk, rows, trace), None

    if self_ref:
        products = block_products(pc, cc, blocks)

        def redraw(idx: np.ndarray, r: np.random.Generator) -> np.ndarray:
            return _draw_earlier_parents(
                idx,
                trace.child_base[idx],
                products,
                trace.parent_base,
                starts,
                sizes,
                fk.nullable,
                r,
                chunk_size,
            )

        rows = _draw_earlier_parents(
            np.arange(num_children, dtype=np.int64),
            trace.child_base,
            products,
            trace.parent_base,
            starts,
            sizes,
            fk.nullable,
            rng,
            chunk_size,
        )
        return ForeignKeySample(child, fk, rows, trace), redraw

    def redraw(idx: np.ndarray, r: np.random.Generator) -> np.ndarray:
        return _draw_parents(trace.child_base[idx], trace.base_probs, starts, sizes, r, chunk_size)

    rows = _draw_parents(trace.child_base, trace.base_probs, starts, sizes, rng, chunk_size)
    return ForeignKeySample(child, fk, rows, trace), redraw
