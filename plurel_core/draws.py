"""Compiled random draws for the weight inits: float32 standard normals and uniforms,
random subsets and Bernoulli density masks; and the counter-based Beta draws of the SCM
node noise (:func:`beta_values`).

The weight draws start from a ``numpy.random.Generator``'s raw 64-bit words
(``bit_generator.random_raw``), so they are as reproducible as the generator's own
methods: the same stream gives the same values in every process. They exist because the
SCMs of one database draw millions of weights: numpy's float32 normals cost about 8 ns
each on the machines this runs on; choosing the zeroed inputs of a sparse init by sorting
random keys costs far more than a partial shuffle; and a density mask built as a boolean
array and applied with two multiplies costs several passes instead of one.

Every draw here reads counter-based words: word ``i`` of a draw is SplitMix64's
output for the state ``key + i·γ`` (Steele, Lea & Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014), with ``key`` one raw word of the caller's generator. A
word depends on its index alone, so no word array is materialised, the uniform and mask
loops vectorise (SIMD), and each draw advances the caller's generator by exactly one word.
:func:`counter_words` gives such words directly, for a key made without a generator
(:func:`plurel_core.rng.stream_key`): the node noise of any row chunk is made on its own.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .vecmath import LN2, bits_of_float64, float64_from_bits, log2, unit_power

__all__ = [
    "standard_normal",
    "uniform",
    "zero_random_inputs",
    "bernoulli_mask",
    "counter_words",
    "beta_values",
]

# -- 256-layer ziggurat (Marsaglia & Tsang, "The ziggurat method for generating random
# variables", 2000) for 23-bit magnitudes. The layers have equal area v; the base layer
# (index 0) holds the tail beyond R.
_LAYERS = 256
_R = 3.6541528853610088
_V = 0.00492867323399
_M = float(1 << 23)


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = np.zeros(_LAYERS, dtype=np.uint32)  # accept |magnitude| < k[i] at once
    w = np.zeros(_LAYERS, dtype=np.float64)  # x = magnitude · w[i]
    f = np.zeros(_LAYERS, dtype=np.float64)  # density exp(-x²/2) at each layer's edge
    dn = tn = _R
    q = _V / math.exp(-0.5 * dn * dn)
    k[0] = int(dn / q * _M)
    k[1] = 0
    w[0] = q / _M
    w[-1] = dn / _M
    f[0] = 1.0
    f[-1] = math.exp(-0.5 * dn * dn)
    for i in range(_LAYERS - 2, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = int(dn / tn * _M)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / _M
    return k, w, f


_ZIG_K, _ZIG_W, _ZIG_F = _ziggurat_tables()


_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(nogil=True, cache=True, inline="always")
def _word(key, i):
    """Counter-based word ``i`` (from 1) of the stream ``key``: SplitMix64's finaliser of
    ``key + i·γ``."""
    z = key + np.uint64(i) * _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(nogil=True, cache=True, inline="always")
def _unit(word):
    """A uniform float in (0, 1) from the top 53 bits of ``word`` (never 0)."""
    return (np.float64(word >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(nogil=True, cache=True, inline="always")
def _half(key, j):
    """The 32-bit candidate of value ``j``: the low (even ``j``) or high (odd ``j``) half
    of word ``j // 2 + 1``."""
    w = _word(key, j // 2 + 1)
    return (w >> np.uint64(32)) if j & 1 else (w & np.uint64(0xFFFFFFFF))


@njit(nogil=True, cache=True, inline="always")
def _unit32(h):
    """A uniform float in (0, 1) from a 32-bit half (never 0 or 1)."""
    return (np.float64(h) + 0.5) * (1.0 / 4294967296.0)


@njit(nogil=True, cache=True, inline="always")
def _ziggurat_fast(h, zk, zw):
    """The ziggurat's fast path for the 32-bit candidate ``h``: the normal value, or NaN
    where the candidate needs the full draw (:func:`_ziggurat_rest`)."""
    layer = np.intp(h & np.uint64(0xFF))
    mag = np.int64(h >> np.uint64(9))
    # the sign bit set from the candidate's bit 8 without a branch (a coin flip, which a
    # branch would mispredict half the time)
    x = float64_from_bits(
        bits_of_float64(mag * zw[layer]) | np.int64((h >> np.uint64(8)) & np.uint64(1)) << 63
    )
    return x if mag < zk[layer] else np.nan


@njit(nogil=True, cache=True, inline="always")
def _ziggurat_rest(sub, t, h, zk, zw, zf):
    """The ziggurat draw that starts from the 32-bit candidate ``h`` (8 bits layer, 1 bit
    sign, 23 bits magnitude), for a candidate whose fast test may fail: wedge and tail
    tests and fresh candidates read words ``t, t + 1, ..`` of the stream ``sub``; returns
    (value, next word index)."""
    while True:
        layer = np.intp(h & np.uint64(0xFF))
        mag = np.int64(h >> np.uint64(9))
        negative = (h >> np.uint64(8)) & np.uint64(1)
        x = mag * zw[layer]
        if negative:
            x = -x
        if mag < zk[layer]:
            return x, t
        if layer == 0:
            # the tail beyond R (Marsaglia's exponential rejection)
            while True:
                a = -math.log(_unit(_word(sub, t))) / _R
                b = -math.log(_unit(_word(sub, t + 1)))
                t += 2
                if b + b > a * a:
                    break
            return (-(_R + a) if negative else _R + a), t
        y = zf[layer] + _unit(_word(sub, t)) * (zf[layer - 1] - zf[layer])
        t += 1
        if y < math.exp(-0.5 * x * x):
            return x, t
        h = _word(sub, t) & np.uint64(0xFFFFFFFF)  # rejected: a fresh candidate
        t += 1


@njit(nogil=True, cache=True)
def _normals(key, out, zk, zw, zf):
    """Fill ``out`` with standard normals from the stream ``key``.

    Value ``j`` tries a 32-bit candidate first (8 bits layer, 1 bit sign, 23 bits
    magnitude), half of word ``j // 2 + 1``: the ziggurat's fast path accepts about 98.5 %
    of them, in a first pass over all values (two per word). Each rejected value then
    completes its own ziggurat loop (wedge and tail tests, fresh candidates) with words
    from ``len(out) // 2 + 2`` on, in value order, so every value is an exact ziggurat draw
    and the result depends on ``key`` alone."""
    n = out.shape[0]
    rejected = 0
    for i in range((n + 1) // 2):
        w = _word(key, i + 1)
        for t in range(2):
            j = 2 * i + t
            if j < n:
                x = _ziggurat_fast((w >> np.uint64(32)) if t else (w & np.uint64(0xFFFFFFFF)), zk, zw)
                out[j] = x  # NaN: finished below
                rejected += np.isnan(x)
    if rejected == 0:
        return
    c = n // 2 + 2
    for j in range(n):
        if np.isnan(out[j]):
            out[j], c = _ziggurat_rest(key, c, _half(key, j), zk, zw, zf)


def _key(rng: np.random.Generator) -> np.uint64:
    """One raw word of ``rng``: the key of a counter-based stream."""
    return np.uint64(rng.bit_generator.random_raw())


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...] | int) -> np.ndarray:
    """Standard normal float32 values of ``shape``, drawn with a 256-layer ziggurat from a
    counter-based stream keyed by one raw word of ``rng`` (so ``rng`` advances by exactly
    one word)."""
    out = np.empty(shape, dtype=np.float32)
    _normals(_key(rng), out.reshape(-1), _ZIG_K, _ZIG_W, _ZIG_F)
    return out


@njit(nogil=True, cache=True)
def _uniforms(key, out, lo, width):
    """``out[j] = lo + width · u_j`` in float32, ``u_j`` uniform on [0, 1) with 24 bits
    (the top bits of word ``j + 1``)."""
    for j in range(out.shape[0]):
        u = np.float32(_word(key, j + 1) >> np.uint64(40)) * np.float32(1.0 / 16777216.0)
        out[j] = u * width + lo


def uniform(rng: np.random.Generator, shape: tuple[int, ...] | int, low: float, high: float) -> np.ndarray:
    """Float32 values of ``shape``, uniform on [low, high) up to float32 rounding (24-bit
    uniforms, scaled and shifted in float32), from a counter-based stream keyed by one raw
    word of ``rng``."""
    out = np.empty(shape, dtype=np.float32)
    _uniforms(_key(rng), out.reshape(-1), np.float32(low), np.float32(high - low))
    return out


@njit(nogil=True, cache=True)
def _zero_inputs(w, zeros, key):
    """Zero ``zeros`` random inputs per output unit of the stack ``w``, from the stream
    ``key`` (one 32-bit draw per position, a few more for the rare rejections)."""
    count, fan_in, fan_out = w.shape
    idx = np.empty(fan_in, dtype=np.int64)
    t = 0
    for c in range(count):
        for j in range(fan_out):
            for i in range(fan_in):
                idx[i] = i
            # partial Fisher–Yates: the first ``zeros`` slots become a uniform subset;
            # Lemire's multiply-shift with rejection gives exactly uniform positions
            for s in range(zeros):
                span = np.uint64(fan_in - s)
                limit = np.uint64((1 << 32) % (fan_in - s))
                while True:
                    t += 1
                    prod = (_word(key, t) >> np.uint64(32)) * span
                    if (prod & np.uint64(0xFFFFFFFF)) >= limit:
                        break
                r = s + np.int64(prod >> np.uint64(32))
                idx[s], idx[r] = idx[r], idx[s]
                w[c, idx[s], j] = 0.0


def zero_random_inputs(rng: np.random.Generator, w: np.ndarray, zeros: int) -> None:
    """Set ``zeros`` inputs of every output unit of every matrix in the (count, fan_in,
    fan_out) float32 stack ``w`` to zero, in place; each unit's zeroed inputs are a uniform
    random subset of its fan-in, independent of the others (from a counter-based stream
    keyed by one raw word of ``rng``)."""
    _zero_inputs(w, min(int(zeros), w.shape[1]), _key(rng))


@njit(nogil=True, cache=True)
def _mask(w, key, thresholds, scales):
    """``w[c] *= scales[c]`` where an entry's 16-bit draw (the top bits of word ``e + 1``
    for flat entry ``e``) is below ``thresholds[c]``, else ``w[c] *= 0``, in one pass."""
    count = w.shape[0]
    per = w.shape[1] * w.shape[2]
    flat = w.reshape(count, per)
    for c in range(count):
        keep, scale = thresholds[c], scales[c]
        base = c * per + 1
        for e in range(per):
            bits = np.int64(_word(key, base + e) >> np.uint64(48))
            flat[c, e] *= scale if bits < keep else np.float32(0.0)


def bernoulli_mask(rng: np.random.Generator, w: np.ndarray, density: np.ndarray) -> None:
    """Keep each entry of matrix ``c`` of the (count, fan_in, fan_out) float32 stack ``w``
    with probability ``round(density[c] · 2^16) / 2^16`` (16 random bits per entry, from a
    counter-based stream keyed by one raw word of ``rng``) and rescale the kept ones by
    ``1 / density[c]``, in place (zeroed entries keep their sign)."""
    if w.ndim != 3 or w.dtype != np.float32 or not w.flags.c_contiguous:
        raise ValueError("bernoulli_mask: w must be a C-contiguous float32 (count, fan_in, fan_out) stack")
    thresholds = np.round(np.asarray(density) * 65536).astype(np.int64)
    _mask(w, _key(rng), thresholds, (1.0 / np.asarray(density)).astype(np.float32))


@njit(nogil=True, cache=True)
def _counter_words(key, start, out):
    for j in range(out.shape[0]):
        out[j] = _word(key, start + j + 1)


def counter_words(key: int, start: int, count: int) -> np.ndarray:
    """Words ``start .. start + count`` (from 0) of the counter-based stream ``key`` (a
    64-bit integer, e.g. :func:`plurel_core.rng.stream_key`), as uint64: any range of
    them can be made on its own, in any order, with the same values."""
    out = np.empty(count, dtype=np.uint64)
    _counter_words(np.uint64(key), np.uint64(start), out)
    return out


# -- Beta draws of the node noise ---------------------------------------------------------
# Value ``e`` of a stream reads only the words of its own sub-stream (keyed by word ``e + 1``
# of the stream), however many its rejection loops take: any range of values can be drawn
# on its own (a row chunk draws its own rows) and gives the same values.
#
# A value is X / (X + Y) with X ~ Gamma(alpha), Y ~ Gamma(beta) (Marsaglia & Tsang, "A simple
# method for generating gamma variables", 2000; a shape below 1 through Gamma(shape + 1) ·
# U^(1 / shape)). Its first attempt reads three words: word 1 holds X's normal candidate
# (low half) and acceptance uniform (high half), word 2 the same for Y, word 3 the two
# boost uniforms. Most values finish there; the rest (a ziggurat wedge or tail, a
# squeeze miss, a rejected attempt) go on with words 4, 5, ... of their sub-stream.


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _log_test(x2, u, v3, dd):
    """Marsaglia–Tsang's acceptance test of an attempt the squeeze did not accept: normal²
    ``x2``, uniform ``u``, ``v3`` = (1 + c x)³ > 0 (logs that vectorise)."""
    return log2(u) * LN2 < 0.5 * x2 + dd * (1.0 - v3 + log2(v3) * LN2)


@njit(nogil=True, cache=True, inline="always")
def _gamma_attempts(sub, t, word, dd, c, zk, zw, zf):
    """Marsaglia–Tsang Gamma(dd + 1/3), shape >= 1: the first attempt from ``word``
    (normal candidate in the low half, acceptance uniform in the high half), further
    attempts and ziggurat completions from words ``t, t + 1, ..`` of ``sub``; returns
    (value, next word index)."""
    while True:
        h = word & np.uint64(0xFFFFFFFF)
        x = _ziggurat_fast(h, zk, zw)
        if np.isnan(x):
            x, t = _ziggurat_rest(sub, t, h, zk, zw, zf)
        v = 1.0 + c * x
        if v > 0.0:
            v = v * v * v
            u = _unit32(word >> np.uint64(32))
            x2 = x * x
            if u < 1.0 - 0.0331 * x2 * x2 or _log_test(x2, u, v, dd):
                return dd * v, t
        word = _word(sub, t)  # rejected: a fresh attempt
        t += 1


# values per block of the Beta kernel: its word and normal buffers stay in L1
_BETA_BLOCK = 256


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _squeezed_gamma(x, word, dd, c):
    """Marsaglia–Tsang's first attempt from the normal ``x`` and the acceptance uniform in
    the high half of ``word``, accepted by the squeeze alone: the Gamma(dd + 1/3) value, or
    NaN (also for a NaN ``x``) where the attempt needs the full test."""
    v = 1.0 + c * x
    v3 = v * v * v
    u = _unit32(word >> np.uint64(32))
    x2 = x * x
    return dd * v3 if (v > 0.0) & (u < 1.0 - 0.0331 * x2 * x2) else np.nan


@njit(nogil=True, cache=True, error_model="numpy")
def _betas(key, start, alpha, beta, scale, out, zk, zw, zf):
    """``out.flat[i]`` = Beta(alpha, beta) · scale, value ``start + i`` of the stream ``key``.

    Block by block, so that the compiler vectorises all but the table lookups: the words of
    every value; the ziggurat's fast path of both normals (table lookups, one at a time);
    Marsaglia–Tsang's squeeze; the full acceptance test of the first attempts the squeeze
    left (about 9 % of the gammas, gathered into a dense list so that their logs
    vectorise); the boosts and the ratio. What is left (a ziggurat wedge or tail, a
    rejected attempt: about 2 % of the gammas) is drawn in full by
    :func:`_gamma_attempts`, which makes the same first attempt with the same test, so
    every value is what that one-at-a-time algorithm gives."""
    flat = out.reshape(-1)
    n = flat.shape[0]
    # Marsaglia–Tsang constants of both gammas (a shape below 1 is drawn at shape + 1)
    boost_x, boost_y = alpha < 1.0, beta < 1.0
    dx = (alpha + 1.0 if boost_x else alpha) - 1.0 / 3.0
    dy = (beta + 1.0 if boost_y else beta) - 1.0 / 3.0
    cx, cy = 1.0 / math.sqrt(9.0 * dx), 1.0 / math.sqrt(9.0 * dy)
    inv_x, inv_y = 1.0 / alpha, 1.0 / beta
    block = _BETA_BLOCK
    subs = np.empty(block, dtype=np.uint64)
    # per gamma (X in the first half, Y in the second): first word, normal, value (NaN: open)
    words = np.empty(2 * block, dtype=np.uint64)
    normals = np.empty(2 * block, dtype=np.float64)
    gammas = np.empty(2 * block, dtype=np.float64)
    boosts = np.empty(block, dtype=np.uint64)
    # the dense list of second chances: gamma index, normal, uniform, d, c
    at = np.empty(2 * block, dtype=np.intp)
    xs = np.empty(2 * block, dtype=np.float64)
    us = np.empty(2 * block, dtype=np.float64)
    ds = np.empty(2 * block, dtype=np.float64)
    cs = np.empty(2 * block, dtype=np.float64)
    for b0 in range(0, n, block):
        m = min(block, n - b0)
        first = start + np.uint64(b0 + 1)
        for j in range(m):
            sub = _word(key, first + np.uint64(j))
            subs[j] = sub
            words[j] = _word(sub, 1)
            words[block + j] = _word(sub, 2)
            boosts[j] = _word(sub, 3)
        for j in range(m):
            normals[j] = _ziggurat_fast(words[j] & np.uint64(0xFFFFFFFF), zk, zw)
            normals[block + j] = _ziggurat_fast(words[block + j] & np.uint64(0xFFFFFFFF), zk, zw)
        misses = 0
        for j in range(m):
            x = _squeezed_gamma(normals[j], words[j], dx, cx)
            y = _squeezed_gamma(normals[block + j], words[block + j], dy, cy)
            gammas[j], gammas[block + j] = x, y
            misses += np.isnan(x + y)
        if misses:
            # (each index is written, and kept by advancing k: no branch to mispredict)
            k = 0
            for j in range(m):
                at[k] = j
                k += np.isnan(gammas[j]) & ~np.isnan(normals[j])
            k_x = k
            for j in range(block, block + m):
                at[k] = j
                k += np.isnan(gammas[j]) & ~np.isnan(normals[j])
            for i in range(k):
                g = at[i]
                xs[i] = normals[g]
                us[i] = _unit32(words[g] >> np.uint64(32))
                ds[i], cs[i] = (dx, cx) if i < k_x else (dy, cy)
            for i in range(k):
                x = xs[i]
                v = 1.0 + cs[i] * x
                v3 = v * v * v
                ok = (v > 0.0) & _log_test(x * x, us[i], max(v3, 1e-300), ds[i])
                xs[i] = ds[i] * v3 if ok else np.nan
            for i in range(k):
                gammas[at[i]] = xs[i]
            k = 0
            for j in range(m):
                at[k] = j
                k += np.isnan(gammas[j] + gammas[block + j])
            for i in range(k):
                j = at[i]
                t = 4
                if np.isnan(gammas[j]):
                    gammas[j], t = _gamma_attempts(subs[j], t, words[j], dx, cx, zk, zw, zf)
                if np.isnan(gammas[block + j]):
                    gammas[block + j], t = _gamma_attempts(subs[j], t, words[block + j], dy, cy, zk, zw, zf)
        if boost_x:
            for j in range(m):
                gammas[j] *= unit_power(_unit32(boosts[j] & np.uint64(0xFFFFFFFF)), inv_x)
        if boost_y:
            for j in range(m):
                gammas[block + j] *= unit_power(_unit32(boosts[j] >> np.uint64(32)), inv_y)
        for j in range(m):
            x, y = gammas[j], gammas[block + j]
            s = x + y
            # (both tiny: shapes below 1 can underflow to 0)
            flat[b0 + j] = np.float32((x / s if s > 0.0 else 0.5) * scale)


def beta_values(key: int, start: int, shape: tuple[int, ...], alpha: float, beta: float, scale: float = 1.0):
    """Float32 Beta(alpha, beta) draws times ``scale``, values ``start ..`` (row-major over
    ``shape``) of the counter-based stream ``key`` (a 64-bit integer, e.g.
    :func:`plurel_core.rng.stream_key`). Each value is an exact draw (gamma ratio) and
    depends only on ``key`` and its index."""
    out = np.empty(shape, dtype=np.float32)
    _betas(
        np.uint64(key), np.uint64(start), float(alpha), float(beta), float(scale), out, _ZIG_K, _ZIG_W, _ZIG_F
    )
    return out
