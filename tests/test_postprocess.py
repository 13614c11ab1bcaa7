"""Post-processing: transforms, NaN implanting, binarisation, labels, text and dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plurel_core.config import TRANSFORM_NAMES, PostprocessPriors
from plurel_core.database import ColumnSpec, TableSpec
from plurel_core.postprocess import TRANSFORMS, implant_nans, postprocess_table, to_window
from plurel_core.scm import RawColumn

pytestmark = pytest.mark.filterwarnings("error")
T0, T1 = pd.Timestamp("2000-01-01"), pd.Timestamp("2001-01-01")


@pytest.mark.parametrize("name", TRANSFORM_NAMES)
def test_transforms_are_finite(name):
    x = np.concatenate([np.random.default_rng(0).standard_normal(500) * 1e9, [0.0, 0.0, 1e-30]])
    y = TRANSFORMS[name](x)
    assert y.shape == x.shape and np.isfinite(y).all()
    if name == "rank_uniform":
        assert 0 < y.min() and y.max() < 1
        # ordinal ranks: ties broken by row order, every value distinct, (r + 1) / (n + 1)
        assert y[-3] < y[-2] and len(np.unique(y)) == len(y)
        np.testing.assert_allclose(np.sort(y), np.arange(1, len(x) + 1) / (len(x) + 1))
    if name == "standardize":
        assert abs(y.mean()) < 1e-9 and abs(y.std() - 1) < 1e-9
    assert np.isfinite(TRANSFORMS[name](np.full(10, 3.0))).all()


def test_standardize_divides_by_at_least_1e_8():
    # a column whose spread is below 1e-8 keeps its (tiny) deviations: divided by 1e-8, not
    # by its own std
    x = np.array([1.0, 1.0 + 2e-12, 1.0 - 2e-12, 1.0])
    y = TRANSFORMS["standardize"](x)
    np.testing.assert_allclose(y, (x - x.mean()) / 1e-8, rtol=1e-6, atol=1e-12)
    assert np.abs(y).max() < 1e-3


def test_implant_nans_exact_count():
    x = np.arange(1000.0)
    out = implant_nans(x, 0.0374, np.random.default_rng(0))
    assert np.isnan(out).sum() == 37  # ⌊0.0374 · 1000⌋, not rounded
    assert np.isnan(implant_nans(x, 0.0379, np.random.default_rng(0))).sum() == 37
    assert np.isnan(x).sum() == 0


def test_to_window():
    d = to_window(np.array([5.0, -1.0, 2.0]), T0, T1)
    assert d.dtype == np.dtype("datetime64[s]")
    assert d.min() == np.datetime64(T0) and d.max() == np.datetime64(T1)


def _spec(columns, n=400):
    return TableSpec("t", "entity", n, "row_idx", (), tuple(columns))


def _raw(n=400):
    rng = np.random.default_rng(0)
    return {
        "num": RawColumn("numerical", 0, rng.standard_normal(n).astype(np.float32)),
        "cat": RawColumn("categorical", 4, rng.integers(0, 4, n)),
        "const": RawColumn("categorical", 3, np.zeros(n, dtype=np.int64)),
        "flag": RawColumn("categorical", 2, rng.integers(0, 2, n)),
        "lab": RawColumn("categorical", 3, rng.integers(0, 3, n)),
        "txt": RawColumn("categorical", 5, rng.integers(0, 5, n)),
        "day": RawColumn("numerical", 0, rng.standard_normal(n).astype(np.float32)),
    }


COLUMNS = [
    ColumnSpec("num", "numerical"),
    ColumnSpec("cat", "categorical", 4),
    ColumnSpec("const", "categorical", 3),
    ColumnSpec("flag", "boolean", 2),
    ColumnSpec("lab", "categorical", 3, labels=("a", "b", "c")),
    ColumnSpec("txt", "text", 5),
    ColumnSpec("day", "date"),
]


def test_postprocess_table_kinds():
    raw = _raw()
    post = PostprocessPriors(nan_frac=(0.05, 0.1))
    df, details = postprocess_table(_spec(COLUMNS), raw, T0, T1, post, seed=0)
    assert list(df.columns) == ["num", "cat", "flag", "lab", "txt", "day"]  # constant column dropped
    assert details["const"]["dropped"]
    assert df.index.equals(pd.RangeIndex(400))
    assert df["num"].dtype == np.float64
    nan_frac = details["num"]["nan_frac"]
    assert 0.05 <= nan_frac <= 0.1 and df["num"].isna().sum() == int(nan_frac * 400)
    assert df["cat"].dtype == bool
    np.testing.assert_array_equal(df["cat"].to_numpy(), raw["cat"].values > 0)
    assert df["flag"].dtype == bool
    assert set(df["lab"]) <= {"a", "b", "c"}
    assert (df["lab"].to_numpy() == np.array(["a", "b", "c"], dtype=object)[raw["lab"].values]).all()
    assert df["txt"].iloc[0] == f"txt_{raw['txt'].values[0]}"
    assert df["day"].dtype == np.dtype("datetime64[s]")
    assert df["day"].min() >= T0 and df["day"].max() <= T1
    for c in ("cat", "flag", "lab", "txt", "day"):
        assert df[c].notna().all()


def test_one_nan_share_per_table_after_the_transform():
    # every float column of a table gets the same ⌊f · n⌋ missing rows count, from one
    # share f per table; the transform sees all values (NaNs come after it)
    cols = [ColumnSpec(f"x{i}", "numerical") for i in range(6)]
    rng = np.random.default_rng(2)
    raw = {c.name: RawColumn("numerical", 0, rng.standard_normal(400).astype(np.float32)) for c in cols}
    post = PostprocessPriors(nan_frac=(0.01, 0.1), transforms=("rank_uniform",))
    df, details = postprocess_table(_spec(cols), raw, T0, T1, post, seed=1)
    fracs = {details[c.name]["nan_frac"] for c in cols}
    assert len(fracs) == 1
    counts = {int(df[c.name].isna().sum()) for c in cols}
    assert counts == {int(fracs.pop() * 400)}
    for c in cols:
        kept = df[c.name].dropna().to_numpy()
        # ranks of all 400 values: the kept ones are a subset of k / 401, not re-ranked
        scaled = kept * 401
        np.testing.assert_allclose(scaled, np.round(scaled), atol=1e-9)
        assert scaled.max() > 390  # the largest ranks survive: not re-ranked among the kept


def test_binarize_off_keeps_codes():
    raw = _raw()
    df, _ = postprocess_table(_spec(COLUMNS), raw, T0, T1, PostprocessPriors(binarize_categoricals=False), 0)
    assert "const" in df.columns
    np.testing.assert_array_equal(df["cat"].to_numpy(), raw["cat"].values)


def test_deterministic_and_keyed_by_table():
    a, _ = postprocess_table(_spec(COLUMNS), _raw(), T0, T1, PostprocessPriors(), 3)
    b, _ = postprocess_table(_spec(COLUMNS), _raw(), T0, T1, PostprocessPriors(), 3)
    pd.testing.assert_frame_equal(a, b)
    c, _ = postprocess_table(_spec(COLUMNS), _raw(), T0, T1, PostprocessPriors(), 4)
    assert not a["num"].equals(c["num"])


def test_empty_table_and_no_columns():
    df, details = postprocess_table(_spec([], n=5), {}, T0, T1, PostprocessPriors(), 0)
    assert df.shape == (5, 0) and details == {}
