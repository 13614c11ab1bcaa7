"""Checks shared by the test modules."""

from __future__ import annotations

import hashlib
import sys

import numpy as np
import pandas as pd

from plurel_core import Database


def database_digest(db: Database) -> str:
    """A digest of every table's name, columns, dtypes and values (NaN-aware)."""
    h = hashlib.sha256()
    for name, table in db.tables.items():
        df = table.df
        h.update(name.encode())
        h.update(repr([(c, str(t)) for c, t in df.dtypes.items()]).encode())
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()


def assert_integrity(db: Database) -> None:
    """Unique primary keys, every foreign key points at an existing parent row, dates in order."""
    for name, table in db.tables.items():
        df = table.df
        if table.pkey_col is not None:
            pk = df[table.pkey_col]
            assert pk.notna().all(), f"{name}: NULL primary key"
            assert pk.is_unique, f"{name}: duplicate primary key"
        for col, parent in table.fkey_col_to_pkey_table.items():
            parent_table = db.tables[parent]
            values = df[col].dropna()
            assert values.isin(parent_table.df[parent_table.pkey_col]).all(), f"{name}.{col} → {parent}"
        if table.time_col is not None:
            t = df[table.time_col]
            assert t.notna().all()
            assert t.is_monotonic_increasing, f"{name}: dates not in row order"
            assert t.min() >= db.schema.t0 and t.max() <= db.schema.t1
        for col in table.feature_cols:
            s = df[col]
            if pd.api.types.is_float_dtype(s):
                assert np.isfinite(s.dropna().to_numpy()).all(), f"{name}.{col} has inf"


def with_default_sigint(argv: list[str]) -> list[str]:
    """``argv`` started with SIGINT at its default disposition, as from a terminal, so that a
    test's Ctrl-C reaches it even when the test run itself inherited SIGINT ignored (a
    non-interactive shell ignores it in the jobs it starts in the background, and exec
    keeps an ignored signal ignored)."""
    reset = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
    return [sys.executable, "-c", reset, *argv]
