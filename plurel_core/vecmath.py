"""float64 exp, log2 and powers for compiled loops, written so that the compiler vectorises
them (SIMD): a loop that calls the C library's exp or log runs one value at a time.

They are inlined into the loops of the gathered aggregation
(:mod:`plurel_core.mechanisms`) and of the Beta draws (:mod:`plurel_core.draws`).
Relative errors are about 1e-14 (exp) and 1e-15 (log2), far below float32's rounding.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

LN2 = math.log(2.0)
_LOG2E = 1.0 / LN2
_SQRT2 = math.sqrt(2.0)
_TWO_LOG2E = 2.0 / LN2


@intrinsic
def float64_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits`` (a free reinterpretation,
    which, unlike a table lookup, the compiler vectorises)."""
    if not isinstance(bits, types.Integer) or bits.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(bits), codegen


@intrinsic
def bits_of_float64(typingctx, value):
    """The IEEE-754 bits of a float64 as an int64 (the inverse of :func:`float64_from_bits`)."""
    if not isinstance(value, types.Float) or value.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(value), codegen


@njit(nogil=True, cache=True, inline="always")
def exp(a):
    """e^a in float64 for -708 < a < 709 (normal results): 2^n · e^r with r = a - n ln 2 in
    [-ln 2 / 2, ln 2 / 2] (a Taylor polynomial to r^11, remainder below 7e-15) and 2^n from
    its exponent bits. Relative error about 1e-14 for |a| < 100, growing to 1e-13 at the
    ends (the rounding of a / ln 2)."""
    t = a * _LOG2E
    n = math.floor(t + 0.5)
    r = (t - n) * LN2
    p = 1.0 / 39916800.0
    for c in (1.0 / 3628800.0, 1.0 / 362880.0, 1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0):
        p = c + r * p
    for c in (1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0):
        p = c + r * p
    return p * float64_from_bits((np.int64(n) + 1023) << 52)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def log2(a):
    """log2(a) in float64 for a normal a > 0: the exponent from the bits plus log2 of the
    mantissa m, scaled into [√2/2, √2), as 2 atanh(s) / ln 2 with s = (m − 1) / (m + 1),
    |s| <= 0.172 (the series to s^21, remainder below 1e-17). Relative error about 1e-15."""
    bits = bits_of_float64(a)
    # the biased exponent as a float64 without an int → float conversion (which does not
    # vectorise): its bits under the exponent of 2^52, minus 2^52
    e = float64_from_bits(((bits >> 52) & 0x7FF) | 0x4330000000000000) - (4503599627370496.0 + 1023.0)
    m = float64_from_bits((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m >= _SQRT2
    m = m * (0.5 if big else 1.0)
    e = e + (1.0 if big else 0.0)
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = 1.0 / 21.0
    for c in (1.0 / 19.0, 1.0 / 17.0, 1.0 / 15.0, 1.0 / 13.0, 1.0 / 11.0, 1.0 / 9.0, 1.0 / 7.0):
        p = c + z * p
    for c in (1.0 / 5.0, 1.0 / 3.0, 1.0):
        p = c + z * p
    return e + s * p * _TWO_LOG2E


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def unit_power(u, k):
    """u^k for 0 < u <= 1 and k > 0 (as 2^(k log2 u)); results below 1e-307 come out as
    about 1e-307 instead of underflowing (they vanish next to any other term)."""
    return exp(max(log2(u) * (k * LN2), -707.0))
