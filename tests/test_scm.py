"""Stage 3: per-table SCMs on hand-built schemas and foreign keys."""

from __future__ import annotations

import dataclasses
import gc

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from plurel_core import scm
from plurel_core.config import AGGREGATION_NAMES, SOURCE_NAMES, FeaturePriors, PostprocessPriors
from plurel_core.database import ColumnSpec, ForeignKeys, ForeignKeySample, ForeignKeySpec, Schema, TableSpec
from plurel_core.mechanisms import NumericalEncoder
from plurel_core.scm import RawColumn, TableSCM, sample_table_scm, sample_table_structure
from plurel_core.stage3 import sample_features

pytestmark = pytest.mark.filterwarnings("error")


def _schema(parent_rows=300, child_rows=900, child_cols=8):
    parent_cols = (
        ColumnSpec("p_num", "numerical"),
        ColumnSpec("p_cat", "categorical", 4),
        ColumnSpec("p_lab", "categorical", 3, labels=("x", "y", "z")),
        ColumnSpec("p_flag", "boolean", 2),
        ColumnSpec("p_txt", "text", 6),
        ColumnSpec("p_day", "date"),
    )
    child_cols = tuple(
        ColumnSpec(f"c_{i}", "categorical", 3 + i % 5) if i % 2 else ColumnSpec(f"c_{i}", "numerical")
        for i in range(child_cols)
    )
    fk = ForeignKeySpec(("fk_0",), "parent", ("row_idx",), nullable=True)
    fk2 = ForeignKeySpec(("fk_1",), "empty", ("row_idx",))
    tables = {
        "parent": TableSpec("parent", "entity", parent_rows, "row_idx", (), parent_cols),
        "empty": TableSpec("empty", "entity", 50, "row_idx", (), ()),
        "child": TableSpec(
            "child", "activity", child_rows, "row_idx", (fk, fk2), child_cols, time_col="date"
        ),
    }
    g = nx.MultiDiGraph()
    g.add_edge("parent", "child", key="fk_0")
    g.add_edge("empty", "child", key="fk_1")
    t0, t1 = pd.Timestamp("2000-01-01"), pd.Timestamp("2010-01-01")
    schema = Schema(tables, g, "manual", t0, t1, pd.Timestamp("2008-01-01"), pd.Timestamp("2009-01-01"))
    rng = np.random.default_rng(0)
    rows = rng.integers(0, parent_rows, child_rows)
    rows[::17] = -1  # NULL foreign keys
    fks = ForeignKeys(
        {
            ("child", "fk_0"): ForeignKeySample("child", fk, rows, None),
            ("child", "fk_1"): ForeignKeySample("child", fk2, rng.integers(0, 50, child_rows), None),
        }
    )
    return schema, fks


def _features(**kw):
    return dataclasses.replace(FeaturePriors(), **kw)


def test_frames_have_the_spec_columns_and_valid_values():
    schema, fks = _schema()
    post = PostprocessPriors(binarize_categoricals=False)
    for seed in range(4):
        feats = sample_features(schema, fks, FeaturePriors(), post, seed)
        assert list(feats.frames) == list(schema.tables)
        for name, spec in schema.tables.items():
            df = feats.frames[name]
            assert list(df.columns) == [c.name for c in spec.columns]
            assert df.index.equals(pd.RangeIndex(spec.num_rows))
            for col in spec.columns:
                s = df[col.name]
                if col.kind == "numerical":
                    assert s.dtype == np.float64 and np.isfinite(s.dropna()).all()
                elif col.kind == "categorical" and col.labels is None:
                    assert s.min() >= 0 and s.max() <= col.num_categories - 1
                else:
                    assert s.notna().all()
        assert feats.frames["empty"].shape == (50, 0)
        assert feats.frames["parent"]["p_lab"].isin(["x", "y", "z"]).all()
        assert feats.frames["parent"]["p_day"].dtype == np.dtype("datetime64[s]")


def test_nan_share_matches_its_prior():
    schema, fks = _schema()
    post = PostprocessPriors(nan_frac=(0.02, 0.08))
    feats = sample_features(schema, fks, FeaturePriors(), post, 1)
    for name, spec in schema.tables.items():
        details = feats.scm[name].details["columns"]
        for col in spec.columns:
            if col.kind == "numerical":
                frac = details[col.name]["nan_frac"]
                assert 0.02 <= frac <= 0.08
                assert feats.frames[name][col.name].isna().sum() == int(frac * spec.num_rows)
            elif col.name in feats.frames[name]:
                assert feats.frames[name][col.name].notna().all()


def _assert_same_frames(schema, expected, *others) -> None:
    """Every table's frame of each of ``others`` equals ``expected``'s."""
    for name in schema.tables:
        for other in others:
            pd.testing.assert_frame_equal(expected.frames[name], other.frames[name])


def test_deterministic_and_chunk_independent():
    schema, fks = _schema(child_rows=1500)
    a = sample_features(schema, fks, FeaturePriors(), PostprocessPriors(), 7)
    b = sample_features(schema, fks, FeaturePriors(), PostprocessPriors(), 7)
    c = sample_features(schema, fks, FeaturePriors(), PostprocessPriors(), 7, chunk_rows=97)
    _assert_same_frames(schema, a, b, c)
    d = sample_features(schema, fks, FeaturePriors(), PostprocessPriors(), 8)
    assert not a.frames["child"].equals(d.frames["child"])


def test_threads_do_not_change_results(monkeypatch):
    schema, fks = _schema(child_rows=3001)
    args = (schema, fks, FeaturePriors(), PostprocessPriors(), 11)
    one = sample_features(*args, workers=1)
    many = sample_features(*args, workers=3, chunk_rows=300)
    # the child's single 3001-row chunk split in two halves, fold and decoder each
    assert scm._SPLIT_ROWS <= 3001
    halves = sample_features(*args, workers=2)
    # every single chunk of more than one row block cut in two by its rows × parents alone
    monkeypatch.setattr(scm, "_SPLIT_ROWS", 10**9)
    monkeypatch.setattr(scm, "_SPLIT_GATHERS", 0)
    split = sample_features(*args, workers=2)
    _assert_same_frames(schema, one, many, halves, split)
    with pytest.raises(ValueError, match="workers"):
        sample_features(*args, workers=0)


def test_garbage_collector_is_left_as_it_was(monkeypatch):
    schema, fks = _schema(child_rows=300)
    args = (schema, fks, FeaturePriors(), PostprocessPriors(), 3)
    assert gc.isenabled()
    sample_features(*args)
    assert gc.isenabled()
    gc.disable()
    try:
        sample_features(*args)
        assert not gc.isenabled()
    finally:
        gc.enable()

    def fail(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(scm, "sample_table_scm", fail)
    with pytest.raises(RuntimeError, match="boom"):
        sample_features(*args)
    assert gc.isenabled()


def test_dropped_features_are_freed_by_reference_counting():
    # the collector is paused during the stage, so SCM objects must not form reference
    # cycles: a trace graph or a table's MLPs left to the collector would hold their
    # memory (and cost a collector pass) long after the tables are done
    schema, fks = _schema(child_rows=300)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        out = sample_features(schema, fks, FeaturePriors(), PostprocessPriors(), 3)
        traces = len(out.scm)
        del out
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage]
        trace_graphs = [o for o in gc.garbage if isinstance(o, nx.DiGraph) and "weight_dist" in o.graph]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert traces > 0
    assert not trace_graphs
    assert {"RandomMLP", "MLPStack", "Activation", "TableStructure"}.isdisjoint(left)


def test_feature_priors_change_features():
    schema, fks = _schema()
    a = sample_features(schema, fks, FeaturePriors(), PostprocessPriors(), 2)
    b = sample_features(schema, fks, _features(embedding_dim=16), PostprocessPriors(), 2)
    assert not a.frames["child"].equals(b.frames["child"])


@pytest.mark.parametrize("mode", ["type_eager", "type_lazy"])
@pytest.mark.parametrize("agg", AGGREGATION_NAMES)
def test_every_mode_and_aggregation(mode, agg):
    schema, fks = _schema()
    feats = _features(propagation_modes=(mode,), aggregations=(agg,))
    post = PostprocessPriors(binarize_categoricals=False)
    for seed in range(2):
        out = sample_features(schema, fks, feats, post, seed)
        trace = out.scm["child"]
        assert trace.propagation == mode
        aggs = {a for _, a in trace.graph.nodes(data="aggregation") if a is not None}
        assert aggs == {agg}
        for spec in schema.tables.values():
            for col in spec.columns:
                s = out.frames[spec.name][col.name]
                if col.kind == "categorical" and col.labels is None:
                    assert s.between(0, col.num_categories - 1).all()
                if col.kind == "numerical":
                    assert np.isfinite(s.dropna()).all()


@pytest.mark.parametrize("source", SOURCE_NAMES)
def test_every_source_type_and_trace(source):
    schema, fks = _schema()
    out = sample_features(schema, fks, _features(source_types=(source,)), PostprocessPriors(), 0)
    for name, spec in schema.tables.items():
        trace = out.scm[name]
        g = trace.graph
        if not spec.columns:
            assert g.number_of_nodes() == 0
            continue
        assert list(g.nodes) == list(range(g.number_of_nodes()))
        assert all(u < v for u, v in g.edges)
        columns = {g.nodes[v]["column"] for v in g if g.nodes[v]["column"] is not None}
        assert columns == {c.name for c in spec.columns}
        column_nodes = [v for v in g if g.nodes[v]["column"] is not None]
        reaching = set(column_nodes).union(*(nx.ancestors(g, v) for v in column_nodes))
        for v, attrs in g.nodes(data=True):
            assert attrs["kind"] in ("source", "latent", "column")
            assert attrs["type"] in ("numerical", "categorical")
            assert attrs["is_source"] == (g.in_degree(v) == 0)
            assert attrs["reaches_column"] == (v in reaching)
            if attrs["is_source"]:
                assert attrs["source"] == source and attrs["aggregation"] is None
                assert attrs["activations"] == {}
            else:
                assert attrs["aggregation"] in AGGREGATION_NAMES
                # a decoder (an MLP of 2-4 layers: 1-3 activations) exactly where it can matter
                decoder = attrs["activations"].get("decoder")
                assert (decoder is not None and 1 <= len(decoder) <= 3) == (v in reaching)
        for _, v, e in g.edges(data=True):
            assert np.isfinite(e["weight"]) and e["encoder"] in ("numerical", "categorical")
            assert isinstance(e["activations"], list) and (len(e["activations"]) > 0) == (v in reaching)
        for v, comps in trace.ts_components.items():
            assert g.nodes[v]["source"] == "ts"
            np.testing.assert_allclose(comps["value"], (comps["trend"] + comps["cycle"] + comps["noise"]) / 3)
            assert len(comps["value"]) == spec.num_rows
        if source == "ts":
            n_num_sources = sum(
                1
                for v in g
                if g.in_degree(v) == 0
                and v in reaching
                and (trace.propagation == "type_lazy" or g.nodes[v]["type"] == "numerical")
            )
            assert len(trace.ts_components) == n_num_sources
    assert out.scm["child"].parent_inputs == [f"parent.{c.name}" for c in schema.tables["parent"].columns]


def test_lazy_quantisation_uses_every_code():
    schema, fks = _schema(child_cols=12)
    feats = _features(propagation_modes=("type_lazy",))
    for seed in range(3):
        result = sample_table_scm(schema.tables["parent"], [], {}, feats, seed)
        child = sample_table_scm(
            schema.tables["child"], fks.for_table("child"), {"parent": result}, feats, seed
        )
        for res, spec in ((result, schema.tables["parent"]), (child, schema.tables["child"])):
            for col in spec.columns:
                raw = res.columns[col.name]
                if (
                    raw.type == "categorical"
                    and len(np.unique(res.node_values[res.trace.details["column_nodes"][col.name]]))
                    >= raw.num_categories
                ):
                    assert set(np.unique(raw.values)) == set(range(raw.num_categories)), col.name


def test_parent_features_condition_the_child():
    schema, fks = _schema()
    feats = FeaturePriors()
    child_spec = schema.tables["child"]
    changed = 0
    for seed in range(4):
        parent = sample_table_scm(schema.tables["parent"], [], {}, feats, seed)
        base = sample_table_scm(child_spec, fks.for_table("child"), {"parent": parent}, feats, seed)
        # the same child SCM, fed with different parent values
        shuffled = {
            k: RawColumn(c.type, c.num_categories, np.random.default_rng(1).permutation(c.values))
            for k, c in parent.columns.items()
        }
        other = sample_table_scm(
            child_spec, fks.for_table("child"), {"parent": TableSCM(shuffled, parent.trace)}, feats, seed
        )
        assert nx.utils.graphs_equal(base.trace.graph, other.trace.graph)
        diff = [
            not np.array_equal(base.columns[c.name].values, other.columns[c.name].values)
            for c in child_spec.columns
        ]
        changed += any(diff)
        # without the foreign keys the parent has no influence at all
        alone = sample_table_scm(child_spec, [], {}, feats, seed)
        alone2 = sample_table_scm(child_spec, [], {}, feats, seed)
        for c in child_spec.columns:
            np.testing.assert_array_equal(alone.columns[c.name].values, alone2.columns[c.name].values)
    assert changed == 4


def test_a_structure_drawn_ahead_gives_the_same_table():
    # the structure depends only on the table's spec, the priors and the seed
    schema, fks = _schema()
    feats = FeaturePriors()
    parent = sample_table_scm(schema.tables["parent"], [], {}, feats, 9)
    spec = schema.tables["child"]
    ahead = sample_table_structure(spec, feats, 9)
    assert ahead.num_nodes == ahead.graph.number_of_nodes() and set(ahead.source_values) == set(
        ahead.source_name
    )
    a = sample_table_scm(spec, fks.for_table("child"), {"parent": parent}, feats, 9, structure=ahead)
    b = sample_table_scm(spec, fks.for_table("child"), {"parent": parent}, feats, 9)
    assert nx.utils.graphs_equal(a.trace.graph, b.trace.graph)
    for c in spec.columns:
        np.testing.assert_array_equal(a.columns[c.name].values, b.columns[c.name].values)


def test_knots_are_exact_for_small_tables():
    # up to ``max_knots`` rows, every row's own value is a knot: encoders see exact inputs
    rng = np.random.default_rng(5)
    values = rng.normal(size=200).astype(np.float32)
    values[::7] = values[3]  # ties share a knot
    kn = scm._Knots(values, "numerical", 0, 256)
    np.testing.assert_array_equal(kn.inputs[kn.codes], values)
    enc = NumericalEncoder(rng, FeaturePriors())
    np.testing.assert_allclose(enc(kn.inputs)[kn.codes], enc(values), rtol=1e-5, atol=1e-6)
    # beyond it, rows share the knot of their quantile bucket (a value inside the bucket)
    many = rng.normal(size=5000).astype(np.float32)
    kn = scm._Knots(many, "numerical", 0, 256)
    assert kn.size == 256 and np.all(np.diff(kn.inputs) >= 0)
    bucket_sizes = np.bincount(kn.codes, minlength=256)
    assert bucket_sizes.min() >= 5000 // 256 - 1 and bucket_sizes.max() <= 5000 // 256 + 2
    order = np.argsort(many, kind="stable")
    assert np.all(np.diff(kn.codes[order]) >= 0)  # buckets follow the value order
    low = np.array([many[kn.codes == k].min() for k in range(256)])
    high = np.array([many[kn.codes == k].max() for k in range(256)])
    assert np.all((low <= kn.inputs) & (kn.inputs <= high))


@pytest.mark.parametrize("rows", [200, 3000], ids=["every value a knot", "quantile knots"])
def test_knots_are_distinct_values(rows):
    # atoms (a saturated activation, a clamp) repeat a value over many rows: it is one
    # knot, evaluated once, and every row holding it reads that knot
    rng = np.random.default_rng(rows)
    values = rng.normal(size=rows).astype(np.float32)
    values[: rows // 3] = 1.0
    values[rows // 3 : rows // 2] = -2.5
    for max_knots in (256, None):
        kn = scm._Knots(values, "numerical", 0, max_knots)
        assert np.all(np.diff(kn.inputs) > 0) and kn.size == len(kn.inputs)
        for atom in (1.0, -2.5):
            codes = np.unique(kn.codes[values == atom])
            assert len(codes) == 1 and kn.inputs[codes[0]] == atom
        if max_knots is None or rows <= max_knots:
            np.testing.assert_array_equal(kn.inputs[kn.codes], values)
    # at most max_knots distinct values, however many rows: every row is exact
    few = rng.integers(0, 200, rows).astype(np.float32) / 7
    kn = scm._Knots(few, "numerical", 0, 256)
    np.testing.assert_array_equal(kn.inputs[kn.codes], few)
    assert kn.size == len(np.unique(few))


def _reference_knots(values: np.ndarray, max_knots: int) -> tuple[np.ndarray, np.ndarray]:
    """The knots' definition in plain numpy: the distinct values, or the middle values of
    equal-count quantile buckets found by binary search, equal knots merged and rows equal
    to a knot reading it."""
    s = np.sort(values)
    n = len(s)
    distinct = np.unique(s)
    if len(distinct) <= max_knots:
        return distinct, np.searchsorted(distinct, values)
    j = np.arange(max_knots)
    knots = s[((j + 0.5) * n / max_knots).astype(np.intp)]
    bounds = s[(j[1:] * n) // max_knots]
    inputs, index = np.unique(knots, return_inverse=True)
    codes = index[np.searchsorted(bounds, values, side="right")]
    if len(inputs) < max_knots:
        at = np.minimum(np.searchsorted(inputs, values), len(inputs) - 1)
        exact = inputs[at] == values
        codes[exact] = at[exact]
    return inputs, codes


@pytest.mark.parametrize("rows", [1, 300, 2048, 5000])
def test_compiled_knots_follow_their_definition(rows):
    # the compiled single pass gives every row the bucket the plain definition does: ties,
    # atoms across bucket bounds, few distinct values and constants included
    rng = np.random.default_rng(rows)
    ties = np.arange(rows, dtype=np.float32)
    ties[rng.choice(rows, max(1, rows // 20), replace=False)] = ties[rows // 2]  # an atom across bounds
    pairs = rows // 20
    ties[: 2 * pairs] = np.repeat(ties[:pairs], 2)
    atoms = rng.normal(size=rows).astype(np.float32)
    atoms[rng.random(rows) < 0.3] = 1.0
    columns = [
        rng.normal(size=rows).astype(np.float32),
        rng.permutation(ties),  # more distinct values than knots, with ties
        atoms,
        rng.integers(0, 40, rows).astype(np.float32),  # fewer distinct values than knots
        np.full(rows, 2.5, dtype=np.float32),
    ]
    for values in columns:
        for max_knots in (256, 7):
            kn = scm._Knots(values, "numerical", 0, max_knots)
            inputs, codes = _reference_knots(values, max_knots)
            np.testing.assert_array_equal(kn.inputs, inputs)
            np.testing.assert_array_equal(kn.codes, codes)
            assert kn.size == len(inputs) <= max_knots


def test_bounded_encoder_stacks_give_the_same_tables(monkeypatch):
    # encoders evaluate every distinct value; a stack too large to hold at once is
    # evaluated in bounded batches, each member exactly as in one stack
    schema, fks = _schema(child_rows=700)
    args = (schema, fks, FeaturePriors(), PostprocessPriors(), 5)
    whole = sample_features(*args)
    monkeypatch.setattr(scm, "_STACK_FLOATS", 1)
    batched = sample_features(*args)
    _assert_same_frames(schema, whole, batched)


def test_per_row_and_tabled_encoders_give_the_same_values(monkeypatch):
    # a numerical parent with many distinct values is encoded inside its child's row
    # chunks, one with few through a table of its distinct values; both are exact, so
    # forcing every parent onto either path changes nothing, nor do narrower chunks
    schema, fks = _schema(child_rows=1300, child_cols=12)
    args = (schema, fks, FeaturePriors(scm_layouts=("ErdosRenyi",)), PostprocessPriors(), 4)
    default = sample_features(*args)
    monkeypatch.setattr(scm, "TABLED_VALUES", 10**9)
    tabled = sample_features(*args)
    monkeypatch.setattr(scm, "TABLED_VALUES", 0)
    per_row = sample_features(*args)
    monkeypatch.setattr(scm, "CHUNK_STACK_FLOATS", 1)
    narrow = sample_features(*args, workers=2)
    _assert_same_frames(schema, default, tabled, per_row, narrow)


def test_wide_scm_memory_stays_at_chunks_of_encodings():
    # an SCM with thousands of edges over thousands of rows: holding every edge's encoding
    # of every row (rows × edges × d floats) would take gigabytes; per-row encoders keep
    # one row chunk of each child's encodings at a time
    import tracemalloc

    cols = tuple(ColumnSpec(f"c_{i}", "numerical") for i in range(30))
    spec = TableSpec("wide", "entity", 3000, "row_idx", (), cols)
    features = FeaturePriors(
        scm_layouts=("ErdosRenyi",), column_node_frac=(0.3, 0.3), propagation_modes=("type_lazy",)
    )
    structure = scm.sample_table_structure(spec, features, 0)
    edges = sum(len(c) for c in structure.live_children.values())
    all_rows = edges * spec.num_rows * features.embedding_dim * 4
    tracemalloc.start()
    try:
        table = scm.sample_table_scm(spec, [], {}, features, 0, structure=structure)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(table.columns) == 30 and edges > 1000
    assert peak < all_rows / 10, (peak, all_rows)


def test_bad_arguments():
    schema, fks = _schema()
    with pytest.raises(ValueError, match="chunk_rows"):
        sample_features(schema, fks, FeaturePriors(), PostprocessPriors(), 0, chunk_rows=0)
    with pytest.raises(ValueError, match="encoder_knots"):
        sample_features(schema, fks, FeaturePriors(encoder_knots=-1), PostprocessPriors(), 0)


def test_encoders_are_exact_by_default_and_knots_only_on_request():
    # by default every row's encoder input is its own value: the same tables as with a
    # knot budget above any column's distinct values; the knot approximation (opt-in,
    # features.encoder_knots) changes them, and the trace says which was used
    schema, fks = _schema(child_rows=2000)
    post = PostprocessPriors(transforms=("identity",), nan_frac=(0.0, 0.0))
    exact = sample_features(schema, fks, FeaturePriors(), post, 3)
    wide = sample_features(schema, fks, FeaturePriors(encoder_knots=65536), post, 3)
    approx = sample_features(schema, fks, FeaturePriors(encoder_knots=8), post, 3)
    assert FeaturePriors().encoder_knots == 0
    _assert_same_frames(schema, exact, wide)
    assert exact.scm["child"].details["encoder_knots"] == 0
    assert approx.scm["child"].details["encoder_knots"] == 8
    assert not all(exact.frames[n].equals(approx.frames[n]) for n in schema.tables)


def test_node_noise_is_one_beta_draw_per_row_and_dimension():
    from scipy import stats

    noise = scm._NodeNoise(0, "t", 4, 32, 0.7, 2.5)
    rows = noise.rows(0, 3000)
    assert rows.shape == (3000, 32) and rows.dtype == np.float32
    # no value shared between rows (a continuous draw per cell), Beta(α, β) / d
    assert len(np.unique(rows)) > 0.99 * rows.size
    assert stats.kstest(rows.ravel().astype(np.float64) * 32, stats.beta(0.7, 2.5).cdf).pvalue > 0.01
    # any chunk of rows draws the same values
    np.testing.assert_array_equal(noise.rows(1000, 700), rows[1000:1700])


def test_lazy_quantisation_thresholds_are_row_values_drawn_with_replacement():
    # k - 1 thresholds picked among the rows with replacement: with few distinct values,
    # equal thresholds happen and some codes never occur; the code is the number of
    # thresholds a value exceeds
    values = np.repeat(np.arange(3, dtype=np.float32), 100)
    empty = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        codes, info = scm._quantise(
            values, 6, rng, FeaturePriors(lazy_permute_prob=(0, 0), lazy_reverse_prob=(0, 0))
        )
        t = np.array(info["thresholds"])
        assert len(t) == 5 and set(t) <= {0.0, 1.0, 2.0}
        np.testing.assert_array_equal(codes, (values[:, None] > t[None, :]).sum(axis=1))
        empty += len(np.unique(codes)) < 3
    # the largest value is a possible threshold too (then no value exceeds it)
    assert empty > 0


def test_lazy_parent_categorical_columns_are_encoded_numerically():
    # a type_lazy parent's categorical column is read by its children through a numerical
    # encoder of its code (every value of a lazy table is numerical); an eager parent's
    # through an embedding
    schema, fks = _schema()
    parent = schema.tables["parent"]
    lazy_raw = scm.sample_table_scm(parent, [], {}, FeaturePriors(propagation_modes=("type_lazy",)), 0)
    eager_raw = scm.sample_table_scm(parent, [], {}, FeaturePriors(propagation_modes=("type_eager",)), 0)
    cats = [c for c, col in lazy_raw.columns.items() if col.type == "categorical"]
    assert cats and all(lazy_raw.columns[c].lazy for c in cats)
    assert not any(col.lazy for col in eager_raw.columns.values())
    seen = {}
    original = scm.NumericalEncoder.batch

    def counting(rng, count, priors):
        seen["numerical"] = seen.get("numerical", 0) + count
        return original(rng, count, priors)

    samples = fks.for_table("child")
    try:
        scm.NumericalEncoder.batch = counting
        scm._parent_partials("child", samples, {"parent": lazy_raw}, {"sum"}, 10, FeaturePriors(), 0, None)
        lazy_count = seen.pop("numerical")
        scm._parent_partials("child", samples, {"parent": eager_raw}, {"sum"}, 10, FeaturePriors(), 0, None)
        eager_count = seen.pop("numerical")
    finally:
        scm.NumericalEncoder.batch = original
    assert lazy_count == len(lazy_raw.columns)
    assert eager_count == len(eager_raw.columns) - len(cats)
