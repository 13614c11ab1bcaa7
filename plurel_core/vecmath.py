"""exp, log and sin for compiled loops, written so that the compiler vectorises them
(SIMD): a loop that calls the C library's exp or log runs one value at a time.

The float64 ones (relative errors about 1e-14 for exp, 1e-15 for log2 and 1e-12 for sin,
far below float32's rounding) are inlined into the loops of the gathered aggregation
(:mod:`plurel_core.mechanisms`), the Beta draws (:mod:`plurel_core.draws`) and the
periodic activations; the float32 ones (within about 2 units in the last place), twice as
many values per instruction, into the other activations
(:mod:`plurel_core.activation_kernels`). The float32 functions take and return float32
only: a Python float in their arithmetic would turn it into float64.
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
_MAGIC64 = 6755399441055744.0  # 1.5 · 2^52: adding it rounds a float64 below 2^51 to an integer
_INV_PI = 1.0 / math.pi
# π in two parts: the first has its low 28 bits zero, so k · _PI_A is exact for |k| < 2^28
_PI_A = 3.1415926218032837
_PI_B = math.pi - _PI_A
_HALF_PI = math.pi / 2
# sin(r) = r · P(r²) on |r| <= π/2: Taylor coefficients to r^15 (remainder below 1e-11)
_SIN_POLY = tuple((-1.0) ** i / math.factorial(2 * i + 1) for i in range(7, -1, -1))


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
def float32_from_bits(typingctx, bits):
    """The float32 whose IEEE-754 bits are the low 32 bits of the integer ``bits`` (numba
    widens int32 arithmetic to int64; the compiler narrows it back)."""
    if not isinstance(bits, types.Integer) or bits.bitwidth not in (32, 64):
        return None

    def codegen(context, builder, signature, args):
        value = args[0]
        if signature.args[0].bitwidth == 64:
            value = builder.trunc(value, ir.IntType(32))
        return builder.bitcast(value, ir.FloatType())

    return types.float32(bits), codegen


@intrinsic
def bits_of_float32(typingctx, value):
    """The IEEE-754 bits of a float32 as an int32."""
    if not isinstance(value, types.Float) or value.bitwidth != 32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(value), codegen


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


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def sin(t):
    """sin(t) in float64 for |t| <= 1e12 (arguments are clipped there: a float32 that large
    carries no phase): t = kπ + r with |r| <= π/2 (k rounded with the 1.5 · 2^52 trick,
    whose low bit is k's parity), then ±r · P(r²). Absolute error about 1e-15 for
    |t| < 8e8, where k · π's first part is exact."""
    t = min(max(t, -1e12), 1e12)
    shifted = t * _INV_PI + _MAGIC64
    k = shifted - _MAGIC64
    r = (t - k * _PI_A) - k * _PI_B
    z = r * r
    p = _SIN_POLY[0]
    for c in _SIN_POLY[1:]:
        p = p * z + c
    s = r * p
    return -s if bits_of_float64(shifted) & 1 else s


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def cos(t):
    """cos(t) = sin(t + π/2) in float64 (see :func:`sin`)."""
    return sin(t + _HALF_PI)


# -- float32 ------------------------------------------------------------------------------

_F32 = np.float32
_ZERO32, _ONE32, _TWO32, _HALF32 = _F32(0.0), _F32(1.0), _F32(2.0), _F32(0.5)
_MAGIC32 = _F32(12582912.0)  # 1.5 · 2^23: rounds a float32 below 2^22 to an integer
_LOG2E32 = _F32(1.0 / LN2)
# ln 2 in two parts (Cody and Waite): n · _LN2_A32 is exact for |n| < 2^15
_LN2_A32 = _F32(0.693359375)
_LN2_B32 = _F32(LN2 - 0.693359375)
_EXP_LOW32, _EXP_HIGH32 = _F32(-87.0), _F32(88.0)
# e^r − 1 = r + r² · Q(r) on |r| <= ln 2 / 2: Taylor coefficients of Q to r^5 (e^r − 1 to r^7,
# remainder below 6e-9)
_EXPM1_Q32 = tuple(_F32(1.0 / math.factorial(i + 2)) for i in range(5, -1, -1))
_SQRT2_32 = _F32(_SQRT2)
# 2 atanh(s) = 2s · (1 + s²/3 + s⁴/5 + s⁶/7 + s⁸/9) for |s| <= 0.172 (remainder below 3e-9)
_ATANH_Q32 = tuple(_F32(1.0 / (2 * i + 1)) for i in range(4, -1, -1))


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _exp_parts32(a):
    # a = n ln 2 + r, |r| <= ln 2 / 2 (a clipped to [-87, 88]): 2^n from the bits, and
    # e^r − 1 by its polynomial
    a = min(max(a, _EXP_LOW32), _EXP_HIGH32)
    shifted = a * _LOG2E32 + _MAGIC32
    n = shifted - _MAGIC32
    r = (a - n * _LN2_A32) - n * _LN2_B32
    q = _EXPM1_Q32[0]
    for c in _EXPM1_Q32[1:]:
        q = q * r + c
    # n's low 9 bits sit at the bottom of the shifted value's bits: moved up to the exponent
    # field and 127 added (in 32-bit arithmetic), they make 2^n (-126 <= n <= 127)
    scale = float32_from_bits((bits_of_float32(shifted) << 23) + 0x3F800000)
    return scale, r + r * r * q


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def exp32(a):
    """e^a in float32: 0 below -87 (where it would leave float32's normal range), about
    1.7e38 above 88 (so a reciprocal or a product with a small factor never overflows)."""
    scale, m = _exp_parts32(a)
    return scale + scale * m if a >= _EXP_LOW32 else _ZERO32


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def expm1_32(a):
    """e^a − 1 in float32, without the cancellation of exp(a) − 1 near 0:
    2^n (e^r − 1) + (2^n − 1), a clipped to [-87, 88]."""
    scale, m = _exp_parts32(a)
    return scale * m + (scale - _ONE32)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def log1p32(y):
    """log(1 + y) in float32 for finite y >= 0: log u of u = 1 + y from its exponent and
    mantissa m in [√2/2, √2) (2 atanh((m − 1) / (m + 1))), plus (y − (u − 1)) / u, the
    first-order correction for the rounding of u, so tiny y keep their precision."""
    u = y + _ONE32
    bits = bits_of_float32(u)
    e = ((bits >> 23) & 0xFF) - 127
    m = float32_from_bits((bits & 0x7FFFFF) | 0x3F800000)
    if m >= _SQRT2_32:
        m = m * _HALF32
        e = e + 1
    s = (m - _ONE32) / (m + _ONE32)
    z = s * s
    q = _ATANH_Q32[0]
    for c in _ATANH_Q32[1:]:
        q = q * z + c
    ef = _F32(e)
    correction = (y - (u - _ONE32)) / u
    return ef * _LN2_A32 + ((_TWO32 * s * q + correction) + ef * _LN2_B32)
