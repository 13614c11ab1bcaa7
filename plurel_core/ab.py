"""A/B comparison of two sweeps on the same seeds: matched pairs, effect sizes, a signed-rank test.

Two settings of the priors compared on *the same seeds* differ only by the priors: the seed's
share of the variation cancels in each pair. :func:`matched_pairs` joins sweep A and sweep B on
``seed``; :func:`paired_effects` gives, per numerical statistic, the mean difference B − A with a
t-based confidence interval, the standardised effect size d_z (mean difference / sd of the
differences) and the p-value of the Wilcoxon signed-rank test. All in numpy (the runtime has no
SciPy): the t quantile comes from the regularised incomplete beta function, the signed-rank
p-value is exact for small untied samples and a tie-corrected normal approximation otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .stats import STAT_FIELDS

__all__ = [
    "EFFECT_COLUMNS",
    "matched_pairs",
    "paired_effects",
    "signed_rank_test",
    "t_quantile",
]

EFFECT_COLUMNS: tuple[str, ...] = (
    "pairs",
    "mean A",
    "mean B",
    "Δ mean (B − A)",
    "CI low",
    "CI high",
    "effect size d_z",
    "signed-rank p",
)
_EXACT_MAX = 50  # exact signed-rank distribution up to this many non-zero untied differences


def matched_pairs(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of ``a`` and ``b`` for the seeds both contain, in the same (seed) order."""
    if "seed" not in a.columns or "seed" not in b.columns:
        raise ValueError("both sweep tables need a 'seed' column")
    seeds = np.intersect1d(a["seed"].to_numpy(), b["seed"].to_numpy())
    pick = lambda df: df.set_index("seed").loc[seeds].reset_index()  # noqa: E731
    return pick(a.drop_duplicates("seed")), pick(b.drop_duplicates("seed"))


# -- the t distribution --------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-14:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(ln) * _betacf(a, b, x) / a
    return 1.0 - math.exp(ln) * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (bisection on the CDF)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError(f"need 0 < p < 1 and df > 0, got p={p!r}, df={df!r}")
    if p == 0.5:
        return 0.0
    if p < 0.5:  # symmetric: solve in the upper tail, where the CDF is accurate
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


# -- the signed-rank test ------------------------------------------------------------------


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    sorted_v = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def signed_rank_test(differences: Sequence[float]) -> float:
    """Two-sided p-value of the Wilcoxon signed-rank test that the differences are
    symmetric about 0. Zero differences are dropped (Wilcoxon's convention); NaN when no
    difference is left. Exact without ties for up to 50 differences, otherwise the normal
    approximation with the tie correction and a continuity correction."""
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d) & (d != 0)]
    n = len(d)
    if n == 0:
        return math.nan
    ranks = _average_ranks(np.abs(d))
    w_plus = float(ranks[d > 0].sum())
    total = n * (n + 1) / 2.0
    tied = len(np.unique(np.abs(d))) < n
    if not tied and n <= _EXACT_MAX:
        # counts[s] = number of sign patterns whose positive ranks sum to s
        counts = np.zeros(int(total) + 1, dtype=np.float64)
        counts[0] = 1.0
        for r in range(1, n + 1):
            counts[r:] = counts[r:] + counts[:-r].copy()
        probs = counts / counts.sum()
        w = round(w_plus)
        low = probs[: min(w, int(total) - w) + 1].sum()
        return float(min(1.0, 2.0 * low))
    mean = total / 2.0
    _, tie_counts = np.unique(np.abs(d), return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(tie_counts**3 - tie_counts)) / 48.0
    if var <= 0:
        return math.nan
    z = (abs(w_plus - mean) - 0.5) / math.sqrt(var)
    return float(min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0))))


# -- effects -------------------------------------------------------------------------------


def paired_effects(a: pd.DataFrame, b: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per numerical statistic of two sweeps on the same seeds: pairs, means, Δ mean with a
    t-based ``confidence`` interval, d_z and the signed-rank p-value.

    Index: statistic names in :data:`STAT_FIELDS` order (``generation_seconds`` left out:
    it measures the machine, not the priors); columns :data:`EFFECT_COLUMNS`. Only seeds
    present in both sweeps count; a statistic with NaN on one side of a pair drops that pair.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    pa, pb = matched_pairs(a, b)
    rows = []
    for name in STAT_FIELDS:
        if name == "generation_seconds" or name not in pa.columns or name not in pb.columns:
            continue
        if not (pd.api.types.is_numeric_dtype(pa[name]) and pd.api.types.is_numeric_dtype(pb[name])):
            continue
        va = pa[name].to_numpy(dtype=np.float64, na_value=np.nan)
        vb = pb[name].to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isfinite(va) & np.isfinite(vb)
        n = int(ok.sum())
        if n == 0:
            continue
        diff = vb[ok] - va[ok]
        mean_diff = float(diff.mean())
        low = high = d_z = math.nan
        if n >= 2:
            sd = float(diff.std(ddof=1))
            half = t_quantile(0.5 + confidence / 2.0, n - 1) * sd / math.sqrt(n)
            low, high = mean_diff - half, mean_diff + half
            d_z = (
                mean_diff / sd if sd > 0 else (0.0 if mean_diff == 0 else math.copysign(math.inf, mean_diff))
            )
        rows.append(
            {
                "statistic": name,
                "pairs": n,
                "mean A": float(va[ok].mean()),
                "mean B": float(vb[ok].mean()),
                "Δ mean (B − A)": mean_diff,
                "CI low": low,
                "CI high": high,
                "effect size d_z": d_z,
                "signed-rank p": signed_rank_test(diff),
            }
        )
    if not rows:
        return pd.DataFrame(columns=list(EFFECT_COLUMNS))
    return pd.DataFrame(rows).set_index("statistic")[list(EFFECT_COLUMNS)]
