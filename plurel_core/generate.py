"""One database from priors + seed: the three stages and their assembly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import Config
from .connectivity import sample_foreign_keys
from .database import Database, Features, ForeignKeys, Schema, Table, Trace
from .schema import sample_schema
from .scm import sample_features

__all__ = ["generate", "assemble", "sample_schema", "sample_foreign_keys", "sample_features"]


def activity_dates(schema: Schema, num_rows: int) -> np.ndarray:
    """Evenly spaced timestamps from t0 to t1 over ``num_rows`` rows (row order = time order)."""
    t0 = schema.t0.value
    t1 = schema.t1.value
    if num_rows == 1:
        return np.array([t0], dtype="datetime64[ns]")
    steps = np.linspace(0.0, 1.0, num_rows)
    ns = t0 + np.floor(steps * (t1 - t0)).astype(np.int64)
    return ns.astype("datetime64[ns]").astype("datetime64[s]")


def assemble(schema: Schema, fks: ForeignKeys, features: Features, seed: int) -> Database:
    """Join the three stage results into RelBench-style tables plus the trace."""
    tables: dict[str, Table] = {}
    for name, spec in schema.tables.items():
        cols: dict[str, object] = {}
        if spec.pkey_col is not None:
            cols[spec.pkey_col] = np.arange(spec.num_rows, dtype=np.int64)
        fk_map: dict[str, str] = {}
        for sample in fks.for_table(name):
            rows = sample.parent_rows
            if len(sample.fk.columns) == 1:
                col = sample.fk.columns[0]
                # nullable FKs use -1 for NULL: keep them as pandas nullable integers
                cols[col] = pd.array(np.where(rows < 0, 0, rows), dtype="Int64") if (rows < 0).any() else rows
                if (rows < 0).any():
                    cols[col][rows < 0] = pd.NA
                fk_map[col] = sample.fk.parent
        if spec.time_col is not None:
            cols[spec.time_col] = activity_dates(schema, spec.num_rows)
        df = pd.DataFrame(cols)
        feats = features.frames.get(name)
        if feats is not None and len(feats.columns):
            df = pd.concat([df, feats.reset_index(drop=True)], axis=1)
        tables[name] = Table(name, df, spec.pkey_col, fk_map, spec.time_col, spec.kind)
    trace = Trace(
        schema_graph=schema.graph,
        layout=schema.layout,
        hsbm={f"{c}.{k}": s.hsbm for (c, k), s in fks.samples.items() if s.hsbm is not None},
        scm=features.scm,
    )
    return Database(tables, schema.val_timestamp, schema.test_timestamp, trace, schema, seed)


def generate(config: Config | None = None, seed: int = 0, *, schema: Schema | None = None) -> Database:
    """Generate one database.

    Stage 1 samples the schema from ``config.schema`` (unless ``schema`` is given, e.g.
    from a SQL import), Stage 2 the foreign keys from ``config.connectivity``, Stage 3 the
    features from ``config.features`` and ``config.postprocess``. Same config + seed ⇒
    identical database, in any process.
    """
    config = (config or Config()).validate()
    if schema is None:
        schema = sample_schema(config.schema, seed)
    fks = sample_foreign_keys(schema, config.connectivity, seed)
    features = sample_features(schema, fks, config.features, config.postprocess, seed)
    return assemble(schema, fks, features, seed)
