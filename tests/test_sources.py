"""Exogenous source generators: ranges, ts components, AR(1) closed form, categorical codes."""

from __future__ import annotations

import numpy as np
import pytest

from plurel_core.config import SOURCE_NAMES, FeaturePriors
from plurel_core.sources import SOURCES, ar1, categorical_source

pytestmark = pytest.mark.filterwarnings("error")


@pytest.mark.parametrize("name", SOURCE_NAMES)
@pytest.mark.parametrize("kind", ["entity", "activity"])
def test_numerical_sources_are_finite_and_in_range(name, kind):
    for seed in range(5):
        draw = SOURCES[name](np.random.default_rng(seed), 500, FeaturePriors(), kind)
        assert draw.values.shape == (500,)
        assert np.isfinite(draw.values).all()
        scales = FeaturePriors().source_scales
        assert np.abs(draw.values).max() <= max(scales) + 1e-9


@pytest.mark.parametrize("name", ["uniform", "gaussian", "beta"])
def test_iid_sources_stay_in_their_range(name):
    draw = SOURCES[name](np.random.default_rng(1), 2000, FeaturePriors(), "entity")
    lo, hi = draw.params["lo"], draw.params["hi"]
    assert lo <= hi
    assert draw.values.min() >= lo - 1e-12 and draw.values.max() <= hi + 1e-12


def test_ts_components_add_up_and_are_clipped():
    for seed in range(10):
        draw = SOURCES["ts"](np.random.default_rng(seed), 1000, FeaturePriors(), "activity")
        c = draw.components
        np.testing.assert_allclose(c["value"], (c["trend"] + c["cycle"] + c["noise"]) / 3)
        np.testing.assert_array_equal(c["value"], draw.values)
        lo, hi = draw.params["lo"], draw.params["hi"]
        assert c["trend"].max() <= hi + 1e-12
        assert c["cycle"].min() >= lo - 1e-12 and c["cycle"].max() <= hi + 1e-12
        assert c["noise"].min() >= lo - 1e-12 and c["noise"].max() <= hi + 1e-12


def test_activity_ts_has_trend_and_cycle_entity_ts_has_none():
    # cycles live in [-1, 1] and are clipped to [lo, hi] ⊂ [0, scale]: use scale 1
    priors = FeaturePriors(trend_exponent=(1.0, 2.0), source_scales=(1.0,))
    trends, cycles = 0, 0
    for seed in range(20):
        draw = SOURCES["ts"](np.random.default_rng(seed), 1000, priors, "activity")
        assert draw.params["s_trend"] in (-1.0, 1.0) and draw.params["s_cycle"] in (-1.0, 1.0)
        trends += np.ptp(draw.components["trend"]) > 0
        cycles += np.ptp(draw.components["cycle"]) > 0
    assert trends >= 5 and cycles >= 5
    for seed in range(10):
        draw = SOURCES["ts"](np.random.default_rng(seed), 1000, priors, "entity")
        assert draw.params["s_trend"] == 0 and draw.params["s_cycle"] == 0
        assert np.ptp(draw.components["trend"]) == 0 and np.ptp(draw.components["cycle"]) == 0
        assert draw.params["sigma"] == priors.entity_noise_std


def _ar1_loop(x, rho):
    out, s = np.empty_like(x), 0.0
    for i, v in enumerate(x):
        s = rho * s + v
        out[i] = s
    return out


@pytest.mark.parametrize("rho", [0.0, 1e-12, 1e-4, 0.3, 0.9, 0.99])
@pytest.mark.parametrize("n", [1, 7, 3001])
def test_ar1_matches_the_recursion(rho, n):
    x = np.random.default_rng(0).standard_normal(n)
    np.testing.assert_allclose(ar1(x, rho), _ar1_loop(x, rho), rtol=1e-9, atol=1e-12)


def test_ar1_is_finite_for_long_series():
    x = np.random.default_rng(0).standard_normal(1_000_000)
    e = ar1(x, 0.99)
    assert np.isfinite(e).all()
    # stationary variance of an AR(1) with unit innovations: 1 / (1 - rho^2)
    assert 0.8 < e[10_000:].var() * (1 - 0.99**2) < 1.2
    with pytest.raises(ValueError, match="rho"):
        ar1(x[:5], 1.0)


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_categorical_sources_give_codes_in_range(name):
    # small value scales keep the ts softmax away from saturation, so several codes occur
    priors = FeaturePriors(source_scales=(0.01,))
    for k in (2, 5, 10):
        draw = categorical_source(name, np.random.default_rng(k), 3000, k, priors, "activity")
        assert draw.values.dtype == np.int64
        assert draw.values.min() >= 0 and draw.values.max() <= k - 1
        assert len(np.unique(draw.values)) >= 2


def test_sources_are_deterministic():
    for name in SOURCE_NAMES:
        a = SOURCES[name](np.random.default_rng(3), 100, FeaturePriors(), "activity").values
        b = SOURCES[name](np.random.default_rng(3), 100, FeaturePriors(), "activity").values
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="table_kind"):
        SOURCES["ts"](np.random.default_rng(0), 10, FeaturePriors(), "fact")
    with pytest.raises(ValueError, match="name"):
        categorical_source("poisson", np.random.default_rng(0), 10, 3, FeaturePriors())
