"""End to end: integrity, determinism across processes, and isolation of the three stages."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from plurel_core import Config, assemble, generate, sample_features, sample_foreign_keys, sample_schema
from plurel_core.database import TIME_COL
from tests.helpers import assert_integrity, database_digest

SMALL = Config.preset("small")
PAPER = Config.preset("paper")


def _generate_strict(config: Config, seed: int):
    # any overflow / invalid-value RuntimeWarning inside the generator is a failure
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return generate(config, seed)


def test_integrity_small_200_seeds():
    for seed in range(200):
        db = _generate_strict(SMALL, seed)
        assert 3 <= len(db.tables) <= 6
        assert_integrity(db)


@pytest.mark.slow
def test_integrity_paper_20_seeds():
    for seed in range(20):
        db = _generate_strict(PAPER, seed)
        assert 3 <= len(db.tables) <= 20
        assert_integrity(db)


def test_row_counts_kinds_and_time_columns_follow_the_priors():
    s = SMALL.schema
    for seed in range(30):
        db = generate(SMALL, seed)
        graph = db.trace.schema_graph
        for name, table in db.tables.items():
            n = len(table.df)
            if table.kind == "activity":
                assert graph.out_degree(name) == 0
                assert s.activity_rows[0] <= n <= s.activity_rows[1]
                assert table.time_col == TIME_COL
                dates = table.df[TIME_COL]
                assert dates.iloc[0] == db.schema.t0.floor("s")
                assert dates.is_monotonic_increasing
            else:
                assert graph.out_degree(name) > 0
                assert s.entity_rows[0] <= n <= s.entity_rows[1]
                assert table.time_col is None
        assert db.schema.t0 <= db.val_timestamp <= db.test_timestamp <= db.schema.t1


def test_nan_share_of_each_float_feature_column_is_within_the_prior():
    lo, hi = PAPER.postprocess.nan_frac
    checked = 0
    for seed in range(5):
        db = generate(PAPER, seed)
        for table in db.tables.values():
            n = len(table.df)
            for col in table.feature_cols:
                s = table.df[col]
                if pd.api.types.is_float_dtype(s):
                    share = s.isna().mean()
                    # counts are rounded to whole rows
                    assert lo - 1 / n <= share <= hi + 1 / n, (table.name, col, share)
                    checked += 1
                else:
                    assert not s.isna().any(), (table.name, col)
    assert checked > 20


def test_same_config_and_seed_give_identical_tables():
    for seed in (0, 7):
        assert database_digest(generate(PAPER, seed)) == database_digest(generate(PAPER, seed))
    assert database_digest(generate(SMALL, 1)) != database_digest(generate(SMALL, 2))


def test_identical_in_a_separate_process():
    cfg = PAPER.with_value("schema.num_tables", (4, 6))
    code = (
        "from plurel_core import Config, generate\n"
        "from tests.helpers import database_digest\n"
        "import sys\n"
        "cfg = Config.from_json(sys.stdin.read())\n"
        "print(database_digest(generate(cfg, 11)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=cfg.to_json(), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == database_digest(generate(cfg, 11))


def _schema_view(db):
    return {
        name: (t.kind, len(t.df), t.pkey_col, dict(t.fkey_col_to_pkey_table), t.time_col)
        for name, t in db.tables.items()
    }


def _fk_columns(db):
    return {
        (name, col): db.tables[name].df[col].to_numpy()
        for name, t in db.tables.items()
        for col in t.fkey_col_to_pkey_table
    }


@pytest.mark.parametrize(
    "path,value",
    [
        ("features.activations", ("tanh",)),
        ("features.aggregations", ("max",)),
        ("features.embedding_dim", 8),
        ("postprocess.transforms", ("rank_uniform",)),
        ("postprocess.binarize_categoricals", False),
    ],
)
def test_feature_priors_change_neither_schema_nor_foreign_keys(path, value):
    for seed in (0, 3):
        a = generate(SMALL, seed)
        b = generate(SMALL.with_value(path, value), seed)
        assert _schema_view(a) == _schema_view(b)
        fa, fb = _fk_columns(a), _fk_columns(b)
        assert fa.keys() == fb.keys()
        for key in fa:
            np.testing.assert_array_equal(fa[key], fb[key])
        assert database_digest(a) != database_digest(b)


def test_connectivity_priors_leave_the_schema_unchanged():
    for seed in (0, 5):
        a = generate(SMALL, seed)
        b = generate(
            SMALL.with_value("connectivity.levels", (3, 3)).with_value("connectivity.within_affinity", 0.5),
            seed,
        )
        assert _schema_view(a) == _schema_view(b)
        assert a.schema.t0 == b.schema.t0 and a.val_timestamp == b.val_timestamp
        if any(len(t.fkey_col_to_pkey_table) for t in a.tables.values()):
            assert any(
                not np.array_equal(x, y)
                for x, y in zip(_fk_columns(a).values(), _fk_columns(b).values(), strict=True)
            )


def test_trace_holds_what_the_views_draw():
    db = generate(PAPER, 2)
    assert set(db.trace.schema_graph.nodes) == set(db.tables)
    assert set(db.trace.scm) == set(db.tables)
    n_fks = sum(len(t.fkey_col_to_pkey_table) for t in db.tables.values())
    assert len(db.trace.hsbm) == n_fks
    for key, h in db.trace.hsbm.items():
        child, col = key.split(".", 1)
        assert len(h.child_base) == len(db.tables[child].df)
        assert len(h.blocks) == h.levels
    for name, scm in db.trace.scm.items():
        if scm.graph.number_of_nodes() == 0:
            continue
        kinds = {d["kind"] for _, d in scm.graph.nodes(data=True)}
        assert kinds <= {"source", "latent", "column"}
        sources = [v for v in scm.graph if scm.graph.in_degree(v) == 0]
        assert sources and all(scm.graph.nodes[v].get("source") for v in sources)
        columns = {d.get("column") for _, d in scm.graph.nodes(data=True)} - {None}
        spec_cols = {c.name for c in db.schema.tables[name].columns}
        assert columns == spec_cols


def test_no_inf_and_no_overflow_warnings_over_100_seeds():
    for seed in range(100):
        db = _generate_strict(SMALL, seed)
        for table in db.tables.values():
            for col in table.feature_cols:
                s = table.df[col]
                if pd.api.types.is_float_dtype(s):
                    assert np.isfinite(s.dropna().to_numpy()).all()


def test_bad_seed_is_rejected():
    with pytest.raises(ValueError, match="seed"):
        generate(SMALL, -1)


@pytest.mark.parametrize("seed", [2, 7])
def test_stage_3_of_some_tables_gives_their_values_of_the_whole_run(seed: int) -> None:
    # a view of one table computes only it and the tables it is conditioned on: the same
    # values, SCMs and assembled columns as the whole database
    from plurel_core.stage3 import conditioning_parents, tables_needed

    config = Config.preset("paper")
    schema = sample_schema(config.schema, seed)
    fks = sample_foreign_keys(schema, config.connectivity, seed)
    whole = sample_features(schema, fks, config.features, config.postprocess, seed, processes=0)
    db = assemble(schema, fks, whole, seed)
    deps = conditioning_parents(schema)
    fewer = 0
    for name in schema.tables:
        needed = tables_needed(schema, [name])
        assert needed[-1] == name and set(needed) >= deps[name]
        assert all(set(deps[n]) <= set(needed) for n in needed)  # closed under conditioning
        some = sample_features(
            schema, fks, config.features, config.postprocess, seed, processes=0, tables=[name]
        )
        assert list(some.frames) == needed
        for n in needed:
            pd.testing.assert_frame_equal(some.frames[n], whole.frames[n])
            assert sorted(some.scm[n].graph.edges(data="weight")) == sorted(
                whole.scm[n].graph.edges(data="weight")
            )
        part = assemble(schema, fks, some, seed, tables=needed)
        assert list(part.tables) == needed and part.schema is schema
        pd.testing.assert_frame_equal(part.tables[name].df, db.tables[name].df)
        fewer += len(needed) < len(schema.tables)
    assert fewer  # some table needs less than the whole database
    with pytest.raises(ValueError, match="no_such_table"):
        tables_needed(schema, ["no_such_table"])
