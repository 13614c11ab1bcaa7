"""Matched-pairs A/B statistics, checked against SciPy (a test-only dependency)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from plurel_core.ab import EFFECT_COLUMNS, matched_pairs, paired_effects, signed_rank_test, t_quantile


@pytest.mark.parametrize("df", [1, 2, 4, 9, 19, 49, 200])
@pytest.mark.parametrize("p", [0.025, 0.5, 0.9, 0.975, 0.995])
def test_t_quantile_matches_scipy(p, df):
    assert t_quantile(p, df) == pytest.approx(sps.t.ppf(p, df), rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("n", [1, 3, 8, 20, 50])
def test_signed_rank_exact_matches_scipy(n):
    rng = np.random.default_rng(n)
    d = rng.normal(0.3, 1.0, n)
    expected = sps.wilcoxon(d, method="exact").pvalue
    assert signed_rank_test(d) == pytest.approx(expected, rel=1e-9)


def test_signed_rank_ties_and_zeros_use_the_normal_approximation():
    d = np.array([0, 0, 1, 1, 2, 2, 2, -1, 3, 3, 4, -2, 5, 1, 1, 2, 0, 3, 3, -1], dtype=float)
    expected = sps.wilcoxon(d, zero_method="wilcox", correction=True, method="approx").pvalue
    assert signed_rank_test(d) == pytest.approx(expected, rel=1e-9)


def test_signed_rank_no_difference_is_nan():
    assert math.isnan(signed_rank_test([0.0, 0.0]))
    assert math.isnan(signed_rank_test([]))


def test_matched_pairs_keeps_only_common_seeds_in_order():
    a = pd.DataFrame({"seed": [3, 1, 2, 0], "rows": [30, 10, 20, 0]})
    b = pd.DataFrame({"seed": [0, 1, 2, 5], "rows": [1, 11, 21, 51]})
    pa, pb = matched_pairs(a, b)
    assert pa["seed"].tolist() == pb["seed"].tolist() == [0, 1, 2]
    assert pa["rows"].tolist() == [0, 10, 20] and pb["rows"].tolist() == [1, 11, 21]


def test_paired_effects_see_a_shift_hidden_by_seed_variation():
    """B = A + 1 on every seed while A varies by ±100 between seeds: unpaired means barely
    move relative to the spread, but every pair moves by exactly 1 (a big, certain effect)."""
    rng = np.random.default_rng(0)
    base = rng.normal(1000, 100, 30)
    noise = rng.normal(0, 0.1, 30)
    a = pd.DataFrame({"seed": np.arange(30), "rows": base, "tables": 5.0})
    b = pd.DataFrame({"seed": np.arange(30), "rows": base + 1 + noise, "tables": 5.0})
    out = paired_effects(a, b)
    assert list(out.columns) == list(EFFECT_COLUMNS)
    r = out.loc["rows"]
    assert r["pairs"] == 30
    assert r["CI low"] > 0.9 and r["CI high"] < 1.1
    assert r["effect size d_z"] > 5
    assert r["signed-rank p"] < 1e-6
    expected = sps.ttest_rel(b["rows"], a["rows"]).confidence_interval(0.95)
    assert (r["CI low"], r["CI high"]) == pytest.approx((expected.low, expected.high), rel=1e-9)
    t = out.loc["tables"]  # identical on every seed: no effect, no test
    assert t["Δ mean (B − A)"] == 0 and t["effect size d_z"] == 0 and math.isnan(t["signed-rank p"])


def test_paired_effects_rejects_a_bad_confidence():
    a = pd.DataFrame({"seed": [0, 1], "rows": [1.0, 2.0]})
    with pytest.raises(ValueError, match="confidence"):
        paired_effects(a, a, confidence=1.5)
