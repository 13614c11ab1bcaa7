"""Property-based: any valid config within the app's control bounds generates a sound database."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plurel_core import Config, generate
from plurel_core.config import SECTIONS, iter_priors
from tests.helpers import assert_integrity

# Sizes are drawn from smaller bounds than the controls allow so that each example stays
# fast; every other prior spans the full range its control offers.
SIZE_BOUNDS = {
    "schema.num_tables": (1, 7),
    "schema.entity_rows": (1, 120),
    "schema.activity_rows": (1, 250),
    "schema.num_cols": (1, 8),
    "schema.num_categories": (2, 12),
    "features.embedding_dim": (2, 24),
    "features.latent_categories": (2, 12),
    "features.extra_nodes": (0, 4),
    "features.column_node_frac": (0.25, 1.0),
}


def _prior_strategy(path, spec):
    lo, hi = SIZE_BOUNDS.get(path, (spec.lo, spec.hi))
    if spec.kind == "int_range":
        return st.tuples(st.integers(lo, hi), st.integers(lo, hi)).map(lambda t: tuple(sorted(t)))
    if spec.kind == "float_range":
        fl = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        return st.tuples(fl, fl).map(lambda t: tuple(sorted(t)))
    if spec.kind == "set":
        return st.lists(st.sampled_from(spec.options), min_size=1, unique=True).map(tuple)
    if spec.kind == "int":
        return st.integers(int(lo), int(hi))
    if spec.kind == "float":
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    if spec.kind == "bool":
        return st.booleans()
    raise AssertionError(spec.kind)


@st.composite
def configs(draw):
    cfg = Config()
    for section in SECTIONS:
        for path, _value, spec in iter_priors(getattr(cfg, section), section + "."):
            if spec.kind == "date":
                continue
            cfg = cfg.with_value(path, draw(_prior_strategy(path, spec)))
    start = draw(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)))
    length = draw(st.integers(2, 20000))
    end = min(start + dt.timedelta(days=length), dt.date(2100, 12, 31))
    fracs = sorted(draw(st.tuples(st.floats(0, 1), st.floats(0, 1))))
    cfg = cfg.with_value("schema.time_start", start.isoformat()).with_value(
        "schema.time_end", end.isoformat()
    )
    cfg = cfg.with_value("schema.val_frac", fracs[0]).with_value("schema.test_frac", fracs[1])
    return cfg.validate()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), seed=st.integers(0, 2**32))
def test_any_valid_config_generates_a_sound_database(cfg, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        db = generate(cfg, seed)
    assert_integrity(db)
    assert 1 <= len(db.tables) <= cfg.schema.num_tables[1]
    for table in db.tables.values():
        for col in table.feature_cols:
            s = table.df[col]
            if pd.api.types.is_float_dtype(s):
                assert np.isfinite(s.dropna().to_numpy()).all(), (table.name, col)
