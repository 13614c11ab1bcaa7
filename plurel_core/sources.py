"""Exogenous generators of the SCM's source nodes (nodes with in-degree 0).

A numerical source is a plain function ``source(rng, n, priors, table_kind) -> SourceDraw``
that draws every parameter from ``rng`` and returns one value per row. Each source first
draws its value range: a ``scale`` from ``priors.source_scales`` and two sorted
``U(0, 1) · scale`` numbers ``lo <= hi``. Row ``t`` is time for the ``ts`` generator, so
activity tables get trends and cycles along their (time-ordered) rows.

Categorical sources (:func:`categorical_source`) sample a code in ``0..k-1`` per row: the
``ts`` generator as a softmax over one ts generator per category, every other generator as
i.i.d. draws with Dirichlet(1) category probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .config import FeaturePriors, sample_range, sample_set
from .registry import Registry, tagged

__all__ = [
    "SOURCES",
    "SourceDraw",
    "ar1",
    "categorical_source",
    "ts_source",
    "uniform_source",
    "gaussian_source",
    "beta_source",
    "mixed_source",
]


@dataclass
class SourceDraw:
    """Values of one source node and what produced them.

    ``components`` holds ``trend``, ``cycle``, ``noise`` and ``value`` for ts sources
    (``value`` is the mean of the other three); ``params`` the drawn parameters.
    """

    name: str
    values: np.ndarray
    params: dict = field(default_factory=dict)
    components: dict[str, np.ndarray] | None = None


def _value_range(rng: np.random.Generator, priors: FeaturePriors) -> tuple[float, float, float]:
    scale = float(sample_set(rng, priors.source_scales))
    lo, hi = np.sort(rng.uniform(size=2) * scale)
    return scale, float(lo), float(hi)


# Largest |log| spread of rho**-i kept inside one block of the AR(1) closed form: rho**-30
# stays far from float64 overflow and the block sums keep full precision.
_AR_LOG_SPAN = 30.0


def ar1(innovations: np.ndarray, rho: float) -> np.ndarray:
    """The AR(1) path ``e_t = rho · e_{t-1} + innovations_t`` with ``e_{-1} = 0``, vectorised.

    Rows are cut into blocks of ``B`` rows with ``B · |ln rho| <= 30``; inside a block the
    path is ``rho^j · cumsum(rho^-i · x_i)`` (bounded powers, so no overflow), and the carry
    between blocks obeys the same recursion with factor ``rho^B < e^-30`` per block, so a
    few vectorised passes resolve it to float64 precision. Works for ``0 <= rho < 1``.
    """
    x = np.asarray(innovations, dtype=np.float64)
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho: got {rho!r}; expected 0 <= rho < 1")
    n = x.shape[0]
    if rho == 0.0 or n == 0:
        return x.copy()
    log_rho = math.log(rho)
    block = max(1, int(_AR_LOG_SPAN // -log_rho))
    block = min(block, n)
    nb = -(-n // block)
    pad = nb * block - n
    xb = np.concatenate([x, np.zeros(pad)]).reshape(nb, block)
    j = np.arange(block, dtype=np.float64)
    up = np.exp(-log_rho * j)  # rho^-j
    down = np.exp(log_rho * j)  # rho^j
    local = np.cumsum(xb * up, axis=1) * down  # paths started from 0 in every block
    if nb > 1:
        # carry[b] = value at the end of block b; carry[b] = local_end[b] + rho^B carry[b-1]
        step = math.exp(log_rho * block)
        local_end = local[:, -1].copy()
        carry = local_end.copy()
        passes = max(1, math.ceil(-math.log(1e-20) / (-log_rho * block)))
        for _ in range(passes):
            carry = local_end + np.concatenate([[0.0], step * carry[:-1]])
        # e inside block b = local + rho^(j+1) · carry[b-1]
        local[1:] += np.outer(carry[:-1], down * rho)
    return local.reshape(-1)[:n]


def ts_source(
    rng: np.random.Generator, n: int, priors: FeaturePriors, table_kind: str = "activity"
) -> SourceDraw:
    """Time series over the rows: the mean of a trend, a cycle and AR(1) noise.

    trend ``s_trend · (t/n)^α + lo`` capped at ``hi`` (α ~ U(trend_exponent)); cycle
    ``s_cycle · sin(π t / f)`` clipped to ``[lo, hi]`` with ``f = ceil(n · q)``, q from
    ``cycle_fracs``; noise ``e_t = ρ e_{t-1} + σ ε_t`` (ρ ~ U(ar_rho), ε ~ N(0, 1)) clipped
    to ``[lo, hi]``. Activity tables: ``s_trend, s_cycle`` uniform on ``{-1, +1}`` and
    ``σ = activity_noise_std``; entity tables: ``s_trend = s_cycle = 0``,
    ``σ = entity_noise_std``.
    """
    scale, lo, hi = _value_range(rng, priors)
    alpha = sample_range(rng, priors.trend_exponent)
    q = float(sample_set(rng, priors.cycle_fracs))
    rho = sample_range(rng, priors.ar_rho)
    if table_kind == "activity":
        s_trend = float(rng.choice([-1.0, 1.0]))
        s_cycle = float(rng.choice([-1.0, 1.0]))
        sigma = priors.activity_noise_std
    elif table_kind == "entity":
        s_trend = s_cycle = 0.0
        sigma = priors.entity_noise_std
    else:
        raise ValueError(f"table_kind: got {table_kind!r}; allowed: 'entity', 'activity'")
    f = max(1, math.ceil(n * q))
    t = np.arange(n, dtype=np.float64)
    trend = np.minimum(s_trend * (t / max(n, 1)) ** alpha + lo, hi)
    cycle = np.clip(s_cycle * np.sin(np.pi * t / f), lo, hi)
    noise = np.clip(ar1(sigma * rng.standard_normal(n), rho), lo, hi)
    value = (trend + cycle + noise) / 3.0
    params = {
        "scale": scale,
        "lo": lo,
        "hi": hi,
        "alpha": alpha,
        "cycle_frac": q,
        "cycle_length": f,
        "rho": rho,
        "s_trend": s_trend,
        "s_cycle": s_cycle,
        "sigma": sigma,
    }
    comps = {"trend": trend, "cycle": cycle, "noise": noise, "value": value}
    return SourceDraw("ts", value, params, comps)


def uniform_source(
    rng: np.random.Generator, n: int, priors: FeaturePriors, table_kind: str = "activity"
) -> SourceDraw:
    """i.i.d. ``U(lo, hi)`` per row."""
    scale, lo, hi = _value_range(rng, priors)
    return SourceDraw("uniform", rng.uniform(lo, hi, n), {"scale": scale, "lo": lo, "hi": hi})


def gaussian_source(
    rng: np.random.Generator, n: int, priors: FeaturePriors, table_kind: str = "activity"
) -> SourceDraw:
    """i.i.d. ``N((lo + hi) / 2, (hi - lo) / 4)`` per row, clipped to ``[lo, hi]``."""
    scale, lo, hi = _value_range(rng, priors)
    mean, std = (lo + hi) / 2, max((hi - lo) / 4, 1e-12)
    values = np.clip(rng.normal(mean, std, n), lo, hi)
    return SourceDraw("gaussian", values, {"scale": scale, "lo": lo, "hi": hi})


def beta_source(
    rng: np.random.Generator, n: int, priors: FeaturePriors, table_kind: str = "activity"
) -> SourceDraw:
    """i.i.d. ``Beta(a, b) · (hi - lo) + lo`` per row, ``a, b ~ U(beta_shape)``."""
    scale, lo, hi = _value_range(rng, priors)
    a = sample_range(rng, priors.beta_shape)
    b = sample_range(rng, priors.beta_shape)
    values = rng.beta(a, b, n) * (hi - lo) + lo
    return SourceDraw("beta", values, {"scale": scale, "lo": lo, "hi": hi, "a": a, "b": b})


_MIXABLE = ("uniform", "gaussian", "beta")


def mixed_source(
    rng: np.random.Generator, n: int, priors: FeaturePriors, table_kind: str = "activity"
) -> SourceDraw:
    """Each row takes its value from one of m sub-generators, chosen uniformly per row.

    ``m ~ U(mixed_components)``; each sub-generator is drawn uniformly from
    {uniform, gaussian, beta} with its own value range.
    """
    m = sample_range(rng, priors.mixed_components)
    names = [_MIXABLE[int(i)] for i in rng.integers(len(_MIXABLE), size=m)]
    parts = [SOURCES[name](rng, n, priors, table_kind) for name in names]
    pick = rng.integers(m, size=n)
    values = np.stack([p.values for p in parts])[pick, np.arange(n)]
    params = {"components": [{"name": p.name, **p.params} for p in parts]}
    return SourceDraw("mixed", values, params)


SOURCES: Registry[Callable[..., SourceDraw]] = Registry(
    "source type",
    {
        "ts": ts_source,
        "uniform": tagged(uniform_source, "iid"),
        "gaussian": tagged(gaussian_source, "iid"),
        "beta": tagged(beta_source, "iid"),
        "mixed": tagged(mixed_source, "iid"),
    },
    groups={"iid": "i.i.d. (no time series)"},
)
"""Numerical source generators: ``SOURCES[name](rng, n, priors, table_kind) -> SourceDraw``."""


def categorical_source(
    name: str, rng: np.random.Generator, n: int, k: int, priors: FeaturePriors, table_kind: str = "activity"
) -> SourceDraw:
    """Codes ``0..k-1`` per row from the categorical version of generator ``name``.

    ``ts``: k independent ts generators; row t draws its code from ``softmax`` of their
    values at t (``components`` then holds each generator's parts, shape ``(k, n)``).
    Any other name: i.i.d. codes with probabilities ``~ Dirichlet(1, ..., 1)``.
    """
    if name not in SOURCES:
        raise ValueError(f"name: got {name!r}; allowed: {list(SOURCES)}")
    if k < 1:
        raise ValueError(f"k: got {k!r}; expected at least 1 category")
    if name == "ts":
        gens = [ts_source(rng, n, priors, table_kind) for _ in range(k)]
        logits = np.stack([g.values for g in gens])  # (k, n)
        logits = logits - logits.max(axis=0, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=0, keepdims=True)
        cum = np.cumsum(probs, axis=0)
        u = rng.uniform(size=n)
        codes = np.minimum((u[None, :] > cum).sum(axis=0), k - 1)
        comps = {
            key: np.stack([g.components[key] for g in gens]) for key in ("trend", "cycle", "noise", "value")
        }
        params = {"categories": [g.params for g in gens]}
        return SourceDraw("ts", codes.astype(np.int64), params, comps)
    probs = rng.dirichlet(np.ones(k))
    codes = rng.choice(k, size=n, p=probs)
    return SourceDraw(name, codes.astype(np.int64), {"probs": probs.tolist()})
