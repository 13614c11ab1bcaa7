"""The compiled activations against their definitions computed in float64 by numpy, and
the stacked kernel against one member at a time."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plurel_core.activation_kernels import KINDS, activate_stack, compiled_activation
from plurel_core.config import ACTIVATION_NAMES
from plurel_core.mechanisms import ACTIVATIONS

pytestmark = pytest.mark.filterwarnings("error")

F32 = np.float32
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_RRELU_SLOPE = (1 / 8 + 1 / 3) / 2
_erfc = np.vectorize(math.erfc)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _tanhshrink(x):
    # the series where x − tanh x cancels in float64 too
    small = x * x * x / 3 - 2 * x**5 / 15 + 17 * x**7 / 315 - 62 * x**9 / 2835
    return np.where(np.abs(x) < 1e-2, small, x - np.tanh(x))


# each activation's definition (torch's), in float64
DEFINITIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "silu": lambda x: x * np.exp(-np.logaddexp(0.0, -x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "sigmoid": lambda x: np.exp(-np.logaddexp(0.0, -x)),
    "hardswish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "gelu": lambda x: 0.5 * x * _erfc(-x / math.sqrt(2)),
    "softplus": _softplus,
    "hardsigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hardtanh": lambda x: np.clip(x, -1, 1),
    "celu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "tanhshrink": _tanhshrink,
    "rrelu": lambda x: np.where(x >= 0, x, _RRELU_SLOPE * x),
    "logsigmoid": lambda x: -np.logaddexp(0.0, -x),
    "softshrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
    "hardshrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
    "identity": lambda x: x,
    "abs": np.abs,
    "sign": np.sign,
    "clamp": lambda x: np.clip(x, -1, 1),
    "signed_log1p": lambda x: np.sign(x) * np.log1p(np.abs(x)),
    "smooth_bent": lambda x: (np.sqrt(x * x + 1) - 1) / 2 + x,
    "tanh": np.tanh,
    "sin": np.sin,
    "cos": np.cos,
}

# a dense grid, tiny and large inputs, and the float32 extremes
_TINY = [0.0, -0.0, 1e-30, -1e-30, 1e-12, -1e-12, 1e-7, -1e-7, 3e-4, -3e-4]
_LARGE = [30.0, -30.0, 86.9, -86.9, 88.5, -88.5, 104.0, -104.0, 1e3, -1e3, 1e6, -1e6, 1e7, -1e7]
_EXTREME = [1e12, -1e12, 1e30, -1e30, 3e38, -3e38]
GRID = np.concatenate([np.linspace(-12, 12, 48_001), _TINY, _LARGE, _EXTREME]).astype(F32)


def _ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # distance in float32 steps (sign-magnitude bits made monotone)
    def ordered(v):
        i = v.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)

    return np.abs(ordered(a) - ordered(b))


def test_every_registered_activation_is_compiled():
    assert set(ACTIVATIONS) == set(KINDS) == set(ACTIVATION_NAMES)
    assert set(DEFINITIONS) == set(KINDS) - {"random_sines"}


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_compiled_activation_matches_its_float64_definition(name):
    # within 4 float32 steps of the definition rounded to float32, or within 1e-35 of it (the
    # exponentials flush to 0 below float32's normal range: silu(-88.5) is -3e-37); sin and
    # cos up to 1e7, where the argument of a float32 still carries its phase
    x = GRID if name not in ("sin", "cos") else GRID[np.abs(GRID) <= 1e7]
    with np.errstate(over="ignore", invalid="ignore"):
        expected = DEFINITIONS[name](x.astype(np.float64))
    expected = np.clip(expected, -np.finfo(F32).max, np.finfo(F32).max).astype(F32)
    got = ACTIVATIONS[name](None)(x.copy())
    assert got.dtype == F32 and got.shape == x.shape and np.isfinite(got).all()
    off = (_ulps(got, expected) > 4) & (np.abs(got.astype(np.float64) - expected) > 1e-35)
    assert not off.any(), f"{name}: x={x[off][:5]}, got {got[off][:5]}, expected {expected[off][:5]}"


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_periodic_activations_stay_bounded_for_any_input(name):
    x = np.array(_EXTREME + [np.finfo(F32).max, -np.finfo(F32).max], dtype=F32)
    y = ACTIVATIONS[name](None)(x)
    assert np.isfinite(y).all() and np.abs(y).max() <= 1


def test_stacked_kernel_equals_each_member_alone_with_its_clamp():
    # every kind in one stack, in a shuffled order, each with its own clamp bound: equal to
    # the member's activation alone, then clipped
    rng = np.random.default_rng(0)
    fns = [ACTIVATIONS[name](np.random.default_rng(i)) for i, name in enumerate(KINDS)]
    order = rng.permutation(len(fns))
    fns = [fns[i] for i in order]
    x = (rng.standard_normal((len(fns), 300, 4)) * 5).astype(F32)
    highs = rng.uniform(0.3, 4.0, len(fns)).astype(F32)
    sines = np.zeros((len(fns), 3, 7))
    counts = np.zeros(len(fns), dtype=np.int8)
    for i, f in enumerate(fns):
        if hasattr(f, "sines"):
            sines[i], counts[i] = f.sines, f.sine_count
    h = x.copy()
    activate_stack(h, np.array([f.kind for f in fns], dtype=np.int8), highs, sines, counts)
    for i, f in enumerate(fns):
        alone = np.clip(f(x[i].copy()), -highs[i], highs[i])
        np.testing.assert_array_equal(h[i], alone, err_msg=KINDS[f.kind])


def test_compiled_activation_refuses_unknown_names():
    with pytest.raises(ValueError, match="'nope'"):
        compiled_activation("nope")


def test_an_activation_registered_without_a_kind_runs_beside_the_compiled_ones():
    # a plain numpy function (as a user registers one) in the middle of a stack: applied on
    # its own member only, then clamped to its bound, the others as compiled
    from plurel_core.mechanisms import Activation, _apply_activations

    cube = Activation("cube", lambda x: x * x * x, 1.0, 50.0)
    acts = [Activation(n, ACTIVATIONS[n](None), 1.0, 50.0) for n in ("tanh", "relu")]
    acts.insert(1, cube)
    x = np.linspace(-6, 6, 120, dtype=F32).reshape(1, 40, 3).repeat(3, axis=0)
    got = _apply_activations(x.copy(), acts)
    np.testing.assert_array_equal(got[1], np.clip(x[1] * x[1] * x[1], -50, 50))
    np.testing.assert_array_equal(got[0], ACTIVATIONS["tanh"](None)(x[0].copy()))
    np.testing.assert_array_equal(got[2], np.maximum(x[2], 0))
