"""Compiled random draws for the weight inits: float32 standard normals, random subsets and
Bernoulli density masks.

All read a ``numpy.random.Generator``'s raw 64-bit words (``bit_generator.random_raw``),
so they are as reproducible as the generator's own methods: the same stream gives the
same values in every process. They exist because the SCMs of one database draw tens of
millions of weights: numpy's float32 normals cost about 8 ns each on the machines this
runs on, the ziggurat below about 2 ns; choosing the zeroed inputs of a sparse init by
sorting random keys costs far more than a partial shuffle; and a density mask built as a
boolean array and applied with two multiplies costs several passes instead of one.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["standard_normal", "zero_random_inputs", "bernoulli_mask"]

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


@njit(nogil=True, cache=True, inline="always")
def _half(words, h):
    """32-bit half ``h`` of the word array (low half first), as an int64."""
    word = words[h >> 1]
    return np.int64(word >> np.uint64(32)) if h & 1 else np.int64(word & np.uint64(0xFFFFFFFF))


@njit(nogil=True, cache=True, inline="always")
def _unit(words, h):
    """A uniform float in (0, 1) from half ``h`` (24 bits, never 0)."""
    return ((_half(words, h) >> 8) + 0.5) * (1.0 / 16777216.0)


@njit(nogil=True, cache=True)
def _ziggurat(words, h, out, o, zk, zw, zf):
    """Fill ``out[o:]`` from the 32-bit halves of ``words`` starting at half ``h``; each
    candidate uses one half (8 bits layer, 1 bit sign, 23 bits magnitude), a rejected one
    one or two more. Returns (next half, next output) — stops early, with a whole number
    of candidates consumed, when the words run out."""
    halves = words.shape[0] * 2
    n = out.shape[0]
    while o < n:
        if h >= halves:
            break
        u = _half(words, h)
        layer = u & 0xFF
        mag = u >> 9
        x = mag * zw[layer]
        if u & 0x100:
            x = -x
        if mag < zk[layer]:
            out[o] = x
            o += 1
            h += 1
            continue
        if layer == 0:
            # the tail beyond R (Marsaglia's exponential rejection); 2 halves per try
            if h + 2 >= halves:
                break
            t = h + 1
            done = False
            while t + 1 < halves:
                a = -math.log(_unit(words, t)) / _R
                b = -math.log(_unit(words, t + 1))
                t += 2
                if b + b > a * a:
                    out[o] = -(_R + a) if u & 0x100 else _R + a
                    done = True
                    break
            if not done:
                break
            o += 1
            h = t
            continue
        # a wedge: accept with the density's excess over the layer's lower edge
        if h + 1 >= halves:
            break
        y = zf[layer] + _unit(words, h + 1) * (zf[layer - 1] - zf[layer])
        h += 2
        if y < math.exp(-0.5 * x * x):
            out[o] = x
            o += 1
    return h, o


def standard_normal(rng: np.random.Generator, shape: tuple[int, ...] | int) -> np.ndarray:
    """Standard normal float32 values of ``shape``, drawn with a 256-layer ziggurat from
    ``rng``'s raw 64-bit words (two candidates per word; about 1.5 % are rejected and
    redrawn). Advances ``rng`` by a number of words that depends only on its state."""
    out = np.empty(shape, dtype=np.float32)
    flat = out.reshape(-1)
    n = flat.shape[0]
    # enough words for all values plus rejections, almost always in one go
    words = rng.bit_generator.random_raw(n // 2 + n // 32 + 8)
    h, o = _ziggurat(words, 0, flat, 0, _ZIG_K, _ZIG_W, _ZIG_F)
    while o < n:
        # out of words mid-way: keep the unread ones, append more, go on
        more = rng.bit_generator.random_raw((n - o) // 2 + (n - o) // 32 + 8)
        words = np.concatenate([words[h >> 1 :], more])
        h, o = _ziggurat(words, h & 1, flat, o, _ZIG_K, _ZIG_W, _ZIG_F)
    return out


@njit(nogil=True, cache=True)
def _zero_inputs(w, zeros, words):
    """Zero ``zeros`` random inputs per output unit of the stack ``w``; returns -1 (with
    ``w`` untouched) when ``words`` run out."""
    count, fan_in, fan_out = w.shape
    picked = np.empty((count, fan_out, zeros), dtype=np.int64)
    idx = np.empty(fan_in, dtype=np.int64)
    halves = words.shape[0] * 2
    h = 0
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
                    if h >= halves:
                        return -1
                    word = words[h >> 1]
                    u = (word >> np.uint64(32)) if h & 1 else (word & np.uint64(0xFFFFFFFF))
                    h += 1
                    prod = u * span
                    if (prod & np.uint64(0xFFFFFFFF)) >= limit:
                        break
                r = s + np.int64(prod >> np.uint64(32))
                idx[s], idx[r] = idx[r], idx[s]
                picked[c, j, s] = idx[s]
    for c in range(count):
        for j in range(fan_out):
            for s in range(zeros):
                w[c, picked[c, j, s], j] = 0.0
    return h


def zero_random_inputs(rng: np.random.Generator, w: np.ndarray, zeros: int) -> None:
    """Set ``zeros`` inputs of every output unit of every matrix in the (count, fan_in,
    fan_out) float32 stack ``w`` to zero, in place; each unit's zeroed inputs are a uniform
    random subset of its fan-in, independent of the others."""
    count, fan_in, fan_out = w.shape
    zeros = min(int(zeros), fan_in)
    draws = count * fan_out * zeros
    # one 32-bit half per position, plus a reserve for the (very rare) rejections
    words = rng.bit_generator.random_raw(draws // 2 + draws // 64 + 8)
    while _zero_inputs(w, zeros, words) < 0:
        words = np.concatenate([words, rng.bit_generator.random_raw(words.shape[0])])


@njit(nogil=True, cache=True)
def _mask(w, bits, thresholds, scales):
    """``w[c] *= scales[c]`` where an entry's 16-bit draw (``bits``, in entry order) is
    below ``thresholds[c]``, else ``w[c] *= 0``, in one pass."""
    count = w.shape[0]
    per = w.shape[1] * w.shape[2]
    flat = w.reshape(count, per)
    for c in range(count):
        keep, scale = thresholds[c], scales[c]
        row = bits[c * per : (c + 1) * per]
        for e in range(per):
            flat[c, e] *= scale if row[e] < keep else np.float32(0.0)


def bernoulli_mask(rng: np.random.Generator, w: np.ndarray, density: np.ndarray) -> None:
    """Keep each entry of matrix ``c`` of the (count, fan_in, fan_out) float32 stack ``w``
    with probability ``round(density[c] · 2^16) / 2^16`` (16 random bits per entry) and
    rescale the kept ones by ``1 / density[c]``, in place (zeroed entries keep their sign)."""
    if w.ndim != 3 or w.dtype != np.float32 or not w.flags.c_contiguous:
        raise ValueError("bernoulli_mask: w must be a C-contiguous float32 (count, fan_in, fan_out) stack")
    words = rng.bit_generator.random_raw(-(-w.size // 4))
    thresholds = np.round(np.asarray(density) * 65536).astype(np.int32)
    _mask(w, words.view(np.uint16), thresholds, (1.0 / np.asarray(density)).astype(np.float32))
