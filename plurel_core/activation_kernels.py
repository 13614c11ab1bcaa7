"""Compiled activations: every activation of the registry is a scalar function here, and
:func:`activate_stack` applies a whole stacked layer's activations and their clamps in one
pass over each member.

Why compiled: with numpy, an activation such as softplus or mish is four to seven passes
over the layer (and the clamp one more), each reading and writing arrays larger than the
cache; here every value is read once, computed in registers and written once. The loops
vectorise (SIMD): exp, log and sin come from :mod:`plurel_core.vecmath`, since a loop
calling the C library's runs one value at a time.

Precision: the exp/log-based activations compute in float32, like torch, within a few
units in the last place, with expm1 and log1p forms where 1 + tiny would cancel. Those
whose float32 form cancels or needs more (gelu's erfc, tanhshrink's x − tanh x, the
smooth bent's square root, hardsigmoid near −3, the sines' argument reduction) compute in
float64 from the float32 input and round once. No float32 input overflows anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

from .vecmath import cos, exp, exp32, expm1_32, log1p32, sin

__all__ = [
    "KINDS",
    "MAX_SINES",
    "NO_SINES",
    "activate_stack",
    "compiled_activation",
    "random_sines_activation",
]

F32 = np.float32

# the activations, in the order of their kind codes (activate_stack branches on these
# positions; the tests check every code against its definition)
KINDS = (
    "relu", "elu", "selu", "silu", "softsign", "sigmoid", "hardswish", "mish", "leaky_relu",
    "gelu", "softplus", "hardsigmoid", "hardtanh", "celu", "tanhshrink", "rrelu", "logsigmoid",
    "softshrink", "hardshrink", "identity", "abs", "sign", "clamp", "signed_log1p", "smooth_bent",
    "tanh", "sin", "cos", "random_sines",
)  # fmt: skip
_KIND = {name: code for code, name in enumerate(KINDS)}
# most sines of one random_sines activation
MAX_SINES = 7

_0, _1, _2 = F32(0.0), F32(1.0), F32(2.0)
_SELU_ALPHA = F32(1.6732632423543772)
_SELU_SCALE = F32(1.0507009873554805)
_LEAKY_SLOPE = F32(0.01)
# rrelu in inference mode (as torch evaluates it outside training): the fixed negative
# slope (lower + upper) / 2 of its default range [1/8, 1/3]
RRELU_SLOPE = F32((1 / 8 + 1 / 3) / 2)
_MISH_LINEAR = F32(20.0)  # beyond, tanh(softplus(x)) is 1 in float32
_3, _6, _SHRINK = F32(3.0), F32(6.0), F32(0.5)

# erfc(z) = t · exp(-z² + P(2t - 1)) with t = 1 / (1 + z / 2) for z >= 0: P is a degree-16
# least-squares Chebyshev fit of log(erfc(z) e^{z²} / t) on t in (0, 1], expanded to powers
# (highest first, for Horner). Relative error below 1e-11 for every z >= 0, far below
# float32's rounding, where the library erf / erfc cost about 20 ns per value here.
_ERFC_POLY = np.array([
    3.1829983818832248e-06, -3.736338113475363e-06, -2.0847548616180102e-05, 3.473143997079113e-05,
    6.246690715569313e-05, -0.0001756420178969533, -8.868040822556176e-05, 0.000673998510731948,
    -0.00014794269178331133, -0.0023458401113833453, 0.001759255151807759, 0.008824935999333362,
    -0.009872720046810887, -0.04689560971131905, 0.047343307972203194, 0.6726432239618498,
    -0.671794084063562,
])  # fmt: skip


# x³/3 − 2x⁵/15 + 17x⁷/315 − 62x⁹/2835 + 1382x¹¹/155925: x − tanh x, as x³ times these in x²
_TANHSHRINK_SERIES = (1 / 3, -2 / 15, 17 / 315, -62 / 2835, 1382 / 155925)


# -- float32 activations (float32 in, float32 out) ----------------------------------------


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _elu(x):
    return x if x > _0 else expm1_32(x)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _selu(x):
    return _SELU_SCALE * (x if x > _0 else _SELU_ALPHA * expm1_32(x))


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _sigmoid(x):
    # from e^-|x|, which never overflows: 1 / (1 + e) for x >= 0, e / (1 + e) below
    e = exp32(-abs(x))
    return (_1 if x >= _0 else e) / (_1 + e)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _mish(x):
    # x · tanh(softplus(x)) = x · q / (q + 2) with q = n(n + 2), n = e^x
    n = exp32(min(x, _MISH_LINEAR))
    q = n * (n + _2)
    return x * (q / (q + _2))


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _log1p_exp_neg_abs(x):
    return log1p32(exp32(-abs(x)))


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _softplus(x):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
    return max(x, _0) + _log1p_exp_neg_abs(x)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _logsigmoid(x):
    # log σ(x) = min(x, 0) − log1p(e^-|x|)
    return min(x, _0) - _log1p_exp_neg_abs(x)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _tanh(x):
    # from e^{-2|x|} − 1: no overflow, no cancellation for small |x|
    e = expm1_32(-_2 * abs(x))
    t = -e / (_2 + e)
    return t if x >= _0 else -t


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _signed_log1p(x):
    y = log1p32(abs(x))
    return y if x >= _0 else -y


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _softshrink(x):
    return x - _SHRINK if x > _SHRINK else (x + _SHRINK if x < -_SHRINK else _0)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _sign(x):
    return _1 if x > _0 else (-_1 if x < _0 else x)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _unit_clamp(x):
    return -_1 if x < -_1 else (_1 if x > _1 else x)


# -- float64 activations (from a float32 input, rounded once at the end) -----------------


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _erfc_nonnegative(z):
    t = 1.0 / (1.0 + 0.5 * z)
    s = 2.0 * t - 1.0
    p = 0.0
    for i in range(_ERFC_POLY.shape[0]):
        p = p * s + _ERFC_POLY[i]
    # (beyond z ≈ 26.6 erfc is below 1e-307: any result there rounds to 0 in float32)
    return t * exp(max(p - z * z, -707.0))


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _gelu(x):
    # the exact form x · Φ(x) = x · erfc(-x / √2) / 2 (erfc lies in [0, 2])
    z = x * 0.7071067811865476
    tail = _erfc_nonnegative(abs(z))
    return 0.5 * x * (tail if z <= 0.0 else 2.0 - tail)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _tanhshrink(x):
    # x − tanh x in float64 (in float32 the difference cancels for small x): below |x| = 0.1
    # its Taylor series to x^11 (remainder under 1e-12 relative), beyond from e^{-2|x|}
    z = x * x
    series = x * z * (_TANHSHRINK_SERIES[0] + z * (_TANHSHRINK_SERIES[1] + z * (
        _TANHSHRINK_SERIES[2] + z * (_TANHSHRINK_SERIES[3] + z * _TANHSHRINK_SERIES[4]))))  # fmt: skip
    e = exp(max(-2.0 * abs(x), -707.0))
    t = (1.0 - e) / (1.0 + e)
    return series if abs(x) < 0.1 else x - (t if x >= 0.0 else -t)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _smooth_bent(x):
    # (√(x² + 1) − 1) / 2 + x
    return 0.5 * (math.sqrt(x * x + 1.0) - 1.0) + x


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _hardsigmoid(x):
    return min(max(x / 6.0 + 0.5, 0.0), 1.0)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _bounded(y, lo, hi):
    # clamp to [lo, hi], comparisons only, so a NaN stays NaN as np.clip keeps it
    y = lo if y < lo else y
    return hi if y > hi else y


# values of one block of random_sines (their float64 inputs and sums stay in L1)
_SINES_BLOCK = 512


@njit(nogil=True, cache=True, error_model="numpy")
def activate_stack(h, kinds, highs, sines, sine_counts):
    """In place on a C-contiguous float32 ``h`` of shape (members, rows, d): member m gets
    activation ``KINDS[kinds[m]]``, clamped to ±highs[m] (members of kind −1 are left to
    the caller); a random_sines member sums ``sine_counts[m]`` terms
    ``sines[m, 0, j] · sin(sines[m, 1, j] · x + sines[m, 2, j])`` (``sines`` and
    ``sine_counts`` are read only for those: :data:`NO_SINES` serves a stack without).
    One loop per member and kind, each a single pass that vectorises."""
    for m in range(h.shape[0]):
        kind = kinds[m]
        if kind < 0:
            continue
        x = h[m].reshape(-1)
        hi = highs[m]
        lo = -hi
        hi64, lo64 = np.float64(hi), np.float64(lo)
        n = x.shape[0]
        if kind == 0:  # relu
            for i in range(n):
                v = x[i]
                x[i] = _bounded(v if v > _0 else _0, lo, hi)
        elif kind == 1 or kind == 13:  # elu, celu (α = 1)
            for i in range(n):
                x[i] = _bounded(_elu(x[i]), lo, hi)
        elif kind == 2:  # selu
            for i in range(n):
                x[i] = _bounded(_selu(x[i]), lo, hi)
        elif kind == 3:  # silu
            for i in range(n):
                v = x[i]
                x[i] = _bounded(v * _sigmoid(v), lo, hi)
        elif kind == 4:  # softsign
            for i in range(n):
                v = x[i]
                x[i] = _bounded(v / (abs(v) + _1), lo, hi)
        elif kind == 5:  # sigmoid
            for i in range(n):
                x[i] = _bounded(_sigmoid(x[i]), lo, hi)
        elif kind == 6:  # hardswish
            for i in range(n):
                v = x[i]
                x[i] = _bounded(v * (min(max(v + _3, _0), _6) / _6), lo, hi)
        elif kind == 7:  # mish
            for i in range(n):
                x[i] = _bounded(_mish(x[i]), lo, hi)
        elif kind == 8:  # leaky_relu
            for i in range(n):
                v = x[i]
                x[i] = _bounded(v if v > _0 else _LEAKY_SLOPE * v, lo, hi)
        elif kind == 9:  # gelu
            for i in range(n):
                x[i] = _bounded(_gelu(np.float64(x[i])), lo64, hi64)
        elif kind == 10:  # softplus
            for i in range(n):
                x[i] = _bounded(_softplus(x[i]), lo, hi)
        elif kind == 11:  # hardsigmoid
            for i in range(n):
                x[i] = _bounded(_hardsigmoid(np.float64(x[i])), lo64, hi64)
        elif kind == 12 or kind == 22:  # hardtanh, clamp
            for i in range(n):
                x[i] = _bounded(_unit_clamp(x[i]), lo, hi)
        elif kind == 14:  # tanhshrink
            for i in range(n):
                x[i] = _bounded(_tanhshrink(np.float64(x[i])), lo64, hi64)
        elif kind == 15:  # rrelu
            for i in range(n):
                v = x[i]
                x[i] = _bounded(v if v >= _0 else RRELU_SLOPE * v, lo, hi)
        elif kind == 16:  # logsigmoid
            for i in range(n):
                x[i] = _bounded(_logsigmoid(x[i]), lo, hi)
        elif kind == 17:  # softshrink
            for i in range(n):
                x[i] = _bounded(_softshrink(x[i]), lo, hi)
        elif kind == 18:  # hardshrink
            for i in range(n):
                v = x[i]
                x[i] = _bounded(v if abs(v) > _SHRINK else _0, lo, hi)
        elif kind == 19:  # identity
            for i in range(n):
                x[i] = _bounded(x[i], lo, hi)
        elif kind == 20:  # abs
            for i in range(n):
                x[i] = _bounded(abs(x[i]), lo, hi)
        elif kind == 21:  # sign
            for i in range(n):
                x[i] = _bounded(_sign(x[i]), lo, hi)
        elif kind == 23:  # signed_log1p
            for i in range(n):
                x[i] = _bounded(_signed_log1p(x[i]), lo, hi)
        elif kind == 24:  # smooth_bent
            for i in range(n):
                x[i] = _bounded(_smooth_bent(np.float64(x[i])), lo64, hi64)
        elif kind == 25:  # tanh
            for i in range(n):
                x[i] = _bounded(_tanh(x[i]), lo, hi)
        elif kind == 26:  # sin
            for i in range(n):
                x[i] = _bounded(sin(np.float64(x[i])), lo64, hi64)
        elif kind == 27:  # cos
            for i in range(n):
                x[i] = _bounded(cos(np.float64(x[i])), lo64, hi64)
        elif kind == 28:  # random_sines: a block of sums at a time, one sine after another
            amp, freq, phase = sines[m, 0], sines[m, 1], sines[m, 2]
            acc, block = np.empty(_SINES_BLOCK), np.empty(_SINES_BLOCK)
            for b0 in range(0, n, _SINES_BLOCK):
                b = min(n - b0, _SINES_BLOCK)
                for i in range(b):
                    acc[i] = 0.0
                    block[i] = x[b0 + i]
                for j in range(sine_counts[m]):
                    a, f, p = amp[j], freq[j], phase[j]
                    for i in range(b):
                        acc[i] += a * sin(f * block[i] + p)
                for i in range(b):
                    x[b0 + i] = _bounded(acc[i], lo64, hi64)


# unclamped, but never beyond float32's range (the smooth bent grows as 1.5 x)
_NO_BOUND = np.full(1, np.finfo(F32).max, dtype=F32)
# the sines and sine counts of a stack without random sines
NO_SINES = (np.zeros((1, 3, MAX_SINES)), np.zeros(1, dtype=np.int8))


def _one_member(
    kinds: np.ndarray, sines: np.ndarray, counts: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    def f(x: np.ndarray) -> np.ndarray:
        y = np.ascontiguousarray(x, dtype=F32)
        activate_stack(y.reshape(1, -1, 1), kinds, _NO_BOUND, sines, counts)
        return y

    return f


def compiled_activation(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The activation ``name`` (one of :data:`KINDS` but random_sines) as a function of a
    float32 array, unclamped; it may overwrite its input. ``kind`` on the function is its
    code, which :func:`activate_stack` takes to run it together with other members."""
    static = [k for k in KINDS if k != "random_sines"]
    if name not in static:
        raise ValueError(f"compiled_activation: got {name!r}; expected one of {static}")
    kinds = np.full(1, _KIND[name], dtype=np.int8)
    f = _one_member(kinds, *NO_SINES)
    f.__name__ = f.__qualname__ = name
    f.kind = int(kinds[0])
    return f


_SINES_MIN_FREQ, _SINES_MAX_FREQ = 0.1, 10.0


def random_sines_activation(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """A sum of m ~ U{3..7} sines with frozen amplitudes N(0, 1), frequencies log-uniform on
    [0.1, 10] and phases U(0, 2π), as :func:`compiled_activation` gives the others (its
    parameters also on the function: ``sines``, (3, MAX_SINES) float64, and ``sine_count``)."""
    m = int(rng.integers(3, MAX_SINES + 1))
    amp = rng.standard_normal(m).astype(F32)
    freq = np.exp(rng.uniform(math.log(_SINES_MIN_FREQ), math.log(_SINES_MAX_FREQ), m)).astype(F32)
    phase = rng.uniform(0, 2 * np.pi, m).astype(F32)
    sines = np.zeros((1, 3, MAX_SINES))
    sines[0, :, :m] = amp, freq, phase
    f = _one_member(np.full(1, _KIND["random_sines"], dtype=np.int8), sines, np.full(1, m, dtype=np.int8))
    f.__name__ = f.__qualname__ = "random_sines"
    f.kind, f.sines, f.sine_count = _KIND["random_sines"], sines[0], m
    return f
