"""Random mechanisms of the SCM: activations, weight inits, random MLPs, encoders, decoders
and aggregations.

Everything works on float32 arrays of shape ``(rows, dim)`` and is frozen at construction:
all random parameters are drawn from the ``rng`` passed in, so calling a mechanism twice on
the same rows gives the same result. MLPs have no biases (``x @ W`` per layer).

Numerical safety: no float32 input, however large, makes an activation overflow (they are
computed from e^-|x| where an exponential could, or in float64), and its output, after the
random scale ``e^U(lo, hi)``, is clamped to ``± activation_clamp``. Aggregations clamp each
weighted parent embedding to ``± embedding_clamp`` and leave the aggregated value as it is;
``product`` is computed in log space and ``logsumexp`` with a running maximum (or, in the
row kernel, from mantissa / exponent pairs). A product beyond ±1e30 saturates there:
float32 arithmetic would give ±inf past 3.4e38, then NaN through the next weights (the
decoder's first product of a saturated value still stays finite).

Speed: a table's SCM has thousands of random MLPs, so MLPs are evaluated in stacks
(:class:`MLPStack`: one product and one compiled activation pass per layer, the plan
worked out once), each activation's scale is folded into the next layer's weights, and the
per-row fold of a node's parents is one compiled loop (:class:`GatheredAggregation`,
numba). Matrix products stay small enough for BLAS to run them on one thread
(:func:`matmul_rows`): spread over threads while the cores are busy, they stall.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from .activation_kernels import (
    MAX_SINES,
    NO_SINES,
    activate_stack,
    compiled_activation,
    random_sines_activation,
)
from .config import FeaturePriors, sample_range, sample_set
from .draws import bernoulli_mask, standard_normal, uniform, zero_random_inputs
from .registry import Registry, tagged
from .vecmath import LN2 as _LN2
from .vecmath import exp as _exp
from .vecmath import float64_from_bits as _float64_from_bits
from .vecmath import log2 as _log2

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "AGGREGATIONS",
    "Activation",
    "RandomMLP",
    "random_activation",
    "random_activations",
    "random_weight",
    "random_weights",
    "random_mlps",
    "evaluate_mlps",
    "MLPStack",
    "NumericalEncoder",
    "CategoricalEncoder",
    "NumericalDecoder",
    "CategoricalDecoder",
    "Aggregator",
    "aggregate",
    "matmul_rows",
    "log_abs",
    "ROW_BLOCK",
    "clip",
    "GatheredAggregation",
    "PreparedPartial",
]

F32 = np.float32
# the clip ufunc itself: np.clip adds several Python-level calls around it, which adds up
# over the many small arrays of an SCM
clip = getattr(getattr(np, "_core", None), "umath", np).clip
_INF = F32(np.inf)


# -- activations ------------------------------------------------------------------------
# Each entry builds an activation f(x) from rng (only random sines draw). f may overwrite x.
# All are compiled (plurel_core.activation_kernels): a stacked layer runs its members'
# activations and clamps in one pass each.


def _static(name: str) -> Callable[[np.random.Generator], Callable[[np.ndarray], np.ndarray]]:
    fn = compiled_activation(name)
    return lambda rng: fn


# traits: bounded = outputs within ±7; saturating = maps most inputs onto a few values or 0
# (diagnostics blame it for flat columns); periodic, piecewise_linear, smooth_relu: the
# groups the app offers as quick choices
ACTIVATIONS: Registry[Callable[[np.random.Generator], Callable[[np.ndarray], np.ndarray]]] = Registry(
    "activation",
    {
        "relu": tagged(_static("relu"), "piecewise_linear", "saturating"),
        "elu": tagged(_static("elu"), "smooth_relu"),
        "selu": tagged(_static("selu"), "smooth_relu"),
        "silu": tagged(_static("silu"), "smooth_relu"),
        "softsign": tagged(_static("softsign"), "bounded"),
        "tanh": tagged(_static("tanh"), "bounded"),
        "sigmoid": tagged(_static("sigmoid"), "bounded"),
        "hardswish": tagged(_static("hardswish"), "saturating"),
        "mish": tagged(_static("mish"), "smooth_relu"),
        "leaky_relu": tagged(_static("leaky_relu"), "piecewise_linear"),
        "gelu": tagged(_static("gelu"), "smooth_relu"),
        "softplus": tagged(_static("softplus"), "smooth_relu"),
        "hardsigmoid": tagged(_static("hardsigmoid"), "bounded", "piecewise_linear", "saturating"),
        "hardtanh": tagged(_static("hardtanh"), "bounded", "piecewise_linear", "saturating"),
        "celu": tagged(_static("celu"), "smooth_relu"),  # CELU with α = 1
        "tanhshrink": _static("tanhshrink"),
        "rrelu": tagged(_static("rrelu"), "piecewise_linear", "saturating"),
        "logsigmoid": _static("logsigmoid"),
        "softshrink": tagged(_static("softshrink"), "piecewise_linear", "saturating"),
        "hardshrink": tagged(_static("hardshrink"), "piecewise_linear", "saturating"),
        "identity": tagged(_static("identity"), "piecewise_linear"),
        "abs": tagged(_static("abs"), "piecewise_linear"),
        "sin": tagged(_static("sin"), "bounded", "periodic"),
        "cos": tagged(_static("cos"), "bounded", "periodic"),
        "sign": tagged(_static("sign"), "bounded", "piecewise_linear", "saturating"),
        "clamp": tagged(_static("clamp"), "bounded", "piecewise_linear", "saturating"),
        "signed_log1p": _static("signed_log1p"),
        "smooth_bent": _static("smooth_bent"),
        "random_sines": tagged(random_sines_activation, "periodic"),
    },
    groups={
        "bounded": "bounded",
        "periodic": "periodic",
        "piecewise_linear": "piecewise-linear",
        "smooth_relu": "smooth ReLU-like",
    },
)
"""Activation builders: ``ACTIVATIONS[name](rng) -> f``; ``f(x)`` may overwrite ``x``."""


@dataclass(slots=True)
class Activation:
    """A frozen activation: ``clip(scale · f(x), -clamp, clamp)``."""

    name: str
    fn: Callable[[np.ndarray], np.ndarray]
    scale: float
    clamp: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # the stacked path with one member (float32, may overwrite a float32 ``x``)
        h = np.ascontiguousarray(x, dtype=F32).reshape(1, -1, 1)
        y = _apply_activations(h, [self]).reshape(np.shape(x))
        y *= F32(self.scale)
        return y


def random_activation(
    rng: np.random.Generator,
    names: tuple[str, ...],
    log_scale: tuple[float, float] = (-1.0, 1.0),
    clamp: float = 1e6,
) -> Activation:
    """An activation drawn uniformly from ``names``, times ``e^U(log_scale)``, clamped to ±clamp."""
    name = sample_set(rng, names)
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: got {name!r}; allowed: {list(ACTIVATIONS)}")
    fn = ACTIVATIONS[name](rng)
    scale = math.exp(sample_range(rng, tuple(float(v) for v in log_scale)))
    return Activation(name, fn, scale, float(clamp))


def random_activations(
    rng: np.random.Generator,
    count: int,
    names: tuple[str, ...],
    log_scale: tuple[float, float] = (-1.0, 1.0),
    clamp: float = 1e6,
) -> list[Activation]:
    """``count`` independent :func:`random_activation` draws, with vectorised choices."""
    if count == 0:
        return []
    picks = [names[int(i)] for i in rng.integers(len(names), size=count)]
    for name in set(picks):
        if name not in ACTIVATIONS:
            raise ValueError(f"activation: got {name!r}; allowed: {list(ACTIVATIONS)}")
    lo, hi = (float(v) for v in log_scale)
    scales = np.exp(rng.uniform(lo, hi, count) if hi > lo else np.full(count, lo)).tolist()
    clamp = float(clamp)
    return [
        Activation(name, ACTIVATIONS[name](rng), sc, clamp) for name, sc in zip(picks, scales, strict=True)
    ]


# -- weight initialisation --------------------------------------------------------------
# Inits draw ``count`` matrices at once (a few generator calls however many matrices a
# table needs): ``INITS[name](rng, count, rows, cols) -> (count, rows, cols)``. A layer's
# weight is an (in, out) matrix applied as ``x @ W``, and its scale follows torch's rule
# for a tensor of that shape, which takes fan_in from the second dimension: kaiming's
# std √2 / √fan_in therefore uses the layer's *output* width (an embedding table
# (k, d): d).


def _normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    w = standard_normal(rng, shape)
    w *= F32(std)
    return w


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], bound: float) -> np.ndarray:
    return uniform(rng, shape, -bound, bound)


def _trunc_normal(rng: np.random.Generator, count: int, fan_in: int, fan_out: int) -> np.ndarray:
    # N(0, 1) truncated to [-2, 2] by redrawing the values outside
    w = standard_normal(rng, (count, fan_in, fan_out))
    flat = w.reshape(-1)
    bad = np.flatnonzero(np.abs(flat) > 2)
    while bad.size:
        redraw = standard_normal(rng, bad.size)
        flat[bad] = redraw
        bad = bad[np.abs(redraw) > 2]
    return w


_SPARSE_STD = 0.01


def _sparse(rng: np.random.Generator, count: int, rows: int, cols: int) -> np.ndarray:
    # N(0, 0.01) values with ⌈rows / 2⌉ entries of every column set to zero
    w = _normal(rng, (count, rows, cols), _SPARSE_STD)
    zero_random_inputs(rng, w, int(math.ceil(0.5 * rows)))
    return w


# kaiming (gain √2, a = 0): fan_in = cols; xavier: fan_in + fan_out = rows + cols
INITS: Registry[Callable[[np.random.Generator, int, int, int], np.ndarray]] = Registry(
    "init scheme",
    {
        "kaiming_normal": tagged(lambda rng, c, i, o: _normal(rng, (c, i, o), math.sqrt(2.0 / o)), "normal"),
        "kaiming_uniform": tagged(
            lambda rng, c, i, o: _uniform(rng, (c, i, o), math.sqrt(6.0 / o)), "uniform"
        ),
        "xavier_normal": tagged(
            lambda rng, c, i, o: _normal(rng, (c, i, o), math.sqrt(2.0 / (i + o))), "normal"
        ),
        "xavier_uniform": tagged(
            lambda rng, c, i, o: _uniform(rng, (c, i, o), math.sqrt(6.0 / (i + o))), "uniform"
        ),
        "trunc_normal": tagged(_trunc_normal, "normal"),
        "sparse": _sparse,
    },
    groups={"normal": "normal", "uniform": "uniform"},
)
"""Weight-matrix inits: ``INITS[name](rng, count, rows, cols) -> (count, rows, cols)``."""


def _draw_weights(
    rng: np.random.Generator,
    shapes: list[tuple[int, int]] | np.ndarray,
    schemes: tuple[str, ...],
    density: tuple[float, float],
) -> tuple[list[np.ndarray], list[str], list[float]]:
    """:func:`random_weights`' draws as parallel lists: matrices, schemes, densities
    (``shapes``: (fan_in, fan_out) pairs, or an int (count, 2) array of them)."""
    count = len(shapes)
    picks = rng.integers(len(schemes), size=count)
    for name in {schemes[int(i)] for i in np.unique(picks)}:
        if name not in INITS:
            raise ValueError(f"init scheme: got {name!r}; allowed: {list(INITS)}")
    lo, hi = (float(v) for v in density)
    rhos = rng.uniform(lo, hi, count) if hi > lo else np.full(count, lo)
    dims = np.asarray(shapes, dtype=np.int64).reshape(count, 2)
    # group matrices by (fan_in, fan_out, scheme): one init call and one mask per group
    span = int(dims.max()) + 1
    code = (dims[:, 0] * span + dims[:, 1]) * len(schemes) + picks
    keys, inverse = np.unique(code, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
    out: list = [None] * count
    for gi, key in enumerate(keys.tolist()):
        pick = key % len(schemes)
        fi, fo = divmod(key // len(schemes), span)
        members = order[bounds[gi] : bounds[gi + 1]]
        stack = INITS[schemes[pick]](rng, len(members), fi, fo)
        r = rhos[members]
        if (r < 1.0).any():
            # Bernoulli(ρ) from 16 random bits per weight: P(keep) = round(ρ · 2^16) / 2^16
            bernoulli_mask(rng, stack, r)
        for i, w in zip(members.tolist(), stack, strict=True):
            out[i] = w
    return out, [schemes[i] for i in picks.tolist()], rhos.tolist()


def random_weights(
    rng: np.random.Generator,
    shapes: list[tuple[int, int]],
    schemes: tuple[str, ...] = tuple(INITS),
    density: tuple[float, float] = (1.0, 1.0),
) -> list[tuple[np.ndarray, str, float]]:
    """One float32 matrix per ``(fan_in, fan_out)`` in ``shapes``, each as :func:`random_weight`
    draws it: an init scheme uniform from ``schemes``, a Bernoulli(ρ) mask with
    ρ ~ U(density) and a 1/ρ rescale. All matrices are drawn with a few vectorised calls
    (grouped by shape and scheme); returns (matrix, scheme, ρ) per shape, in order."""
    if not shapes:
        return []
    out, names, rhos = _draw_weights(rng, shapes, schemes, density)
    return list(zip(out, names, rhos, strict=True))


def random_weight(
    rng: np.random.Generator,
    fan_in: int,
    fan_out: int,
    schemes: tuple[str, ...] = tuple(INITS),
    density: tuple[float, float] = (1.0, 1.0),
) -> tuple[np.ndarray, str, float]:
    """A float32 ``(fan_in, fan_out)`` matrix from a scheme drawn from ``schemes``, masked by
    Bernoulli(ρ) with ρ ~ U(density) and rescaled by 1/ρ. Returns (matrix, scheme, ρ)."""
    return random_weights(rng, [(fan_in, fan_out)], schemes, density)[0]


# OpenBLAS runs a product on one thread only while rows · fan_in · fan_out stays at or
# below 2^18; beyond that it spreads small products over threads, which is many times
# slower than one thread when the cores are busy. Products are therefore cut into blocks
# of at most ROW_BLOCK rows (a power of two), evaluated as one stacked matmul (numpy calls
# one single-threaded product per block without a Python loop). Rows are processed in
# chunks that are multiples of ROW_BLOCK, so every row meets the same block layout for any
# chunk size and gets bit-identical results.
_SINGLE_THREAD_WORK = 1 << 18
ROW_BLOCK = 256


def matmul_rows(x: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``x @ w`` for float32 ``x`` of shape (..., rows, k) and ``w`` of shape (..., k, out)
    (leading axes broadcast), computed in blocks of rows; written into ``out`` (an array of
    the result's shape, e.g. a slice of a larger one) when given."""
    if out is not None and not out.flags.c_contiguous:
        out[...] = matmul_rows(x, w)
        return out
    rows, k = x.shape[-2:]
    o = w.shape[-1]
    lead = x.shape[:-2] if x.shape[:-2] == w.shape[:-2] else np.broadcast_shapes(x.shape[:-2], w.shape[:-2])
    if out is None:
        out = np.empty(lead + (rows, o), dtype=np.result_type(x, w))
    if k == 1:
        # an outer product: one multiplication per element, exactly what the product gives
        if (
            x.ndim == w.ndim == 3
            and x.dtype == w.dtype == out.dtype == F32
            and (x.shape[0] == 1 or w.shape[0] in (1, x.shape[0]))
        ):
            return _outer_rows(x, w, out)
        return np.multiply(x, w, out=out)
    block = ROW_BLOCK
    while block > 1 and block * k * o > _SINGLE_THREAD_WORK:
        block //= 2
    if rows <= block:
        return np.matmul(x, w, out=out)
    full = rows - rows % block
    xb = x[..., :full, :].reshape(x.shape[:-2] + (full // block, block, k))
    # the blocks are written straight into the result: its first ``full`` rows viewed as
    # blocks (splitting the row axis is always a view), the remaining rows after them
    np.matmul(xb, w[..., None, :, :], out=out[..., :full, :].reshape(lead + (full // block, block, o)))
    if full < rows:
        np.matmul(x[..., full:, :], w, out=out[..., full:, :])
    return out


@njit(nogil=True, cache=True)
def _outer_rows(x, w, out):
    """``out[i] = x[i] * w[i]`` for a (m or 1, rows, 1) ``x`` and a (m or 1, 1, o) ``w``
    (a stack of outer products, as the broadcast product gives them; numpy's broadcast
    loop over rows of only o elements is several times slower)."""
    own_x, own_w = x.shape[0] > 1, w.shape[0] > 1
    for i in range(out.shape[0]):
        xi = x[i if own_x else 0]
        wi = w[i if own_w else 0, 0]
        oi = out[i]
        for r in range(out.shape[1]):
            v = xi[r, 0]
            for j in range(out.shape[2]):
                oi[r, j] = v * wi[j]
    return out


class RandomMLP:
    """A bias-free MLP ``in_dim → hidden → ... → out_dim`` with random frozen weights.

    ``layers ~ U(priors.mlp_layers)`` weight matrices; each from a random init scheme with a
    Bernoulli density mask; every layer but the last is followed by its own random
    activation (``activation_names``). :func:`random_mlps` draws many at once.
    """

    def __init__(self, rng: np.random.Generator, in_dim: int, out_dim: int, priors: FeaturePriors):
        other = random_mlps(rng, 1, in_dim, out_dim, priors)[0]
        self.__dict__.update(other.__dict__)

    @classmethod
    def _assemble(
        cls,
        weights: list[np.ndarray],
        init_names: list[str],
        densities: list[float],
        activations: list[Activation],
    ) -> RandomMLP:
        mlp = cls.__new__(cls)
        mlp.weights, mlp.activations = weights, activations
        mlp.init_names, mlp.densities = init_names, densities
        return mlp

    @property
    def activation_names(self) -> list[str]:
        return [a.name for a in self.activations]

    @property
    def in_dim(self) -> int:
        return self.weights[0].shape[0]

    @property
    def out_dim(self) -> int:
        return self.weights[-1].shape[1]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The MLP on ``x`` (rows, in_dim); works out its evaluation plan on every call (a
        decoder, which runs per row chunk, keeps its plan: :attr:`NumericalDecoder.stack`)."""
        x = np.asarray(x, dtype=F32)
        return MLPStack([self])(x[None])[0]


def random_mlps(
    rng: np.random.Generator, count: int, in_dim: int, out_dim: int, priors: FeaturePriors
) -> list[RandomMLP]:
    """``count`` independent :class:`RandomMLP` s ``in_dim → out_dim``, drawn together.

    The same distribution as drawing them one by one (layers ~ U(mlp_layers), a scheme,
    density and activation per layer), with a handful of vectorised generator calls.
    """
    if count == 0:
        return []
    lo, hi = priors.mlp_layers
    depths = rng.integers(lo, hi + 1, size=count)
    # (fan_in, fan_out) of every layer of every MLP, in order: hidden → hidden, except each
    # MLP's first layer reads in_dim and its last writes out_dim
    ends = np.cumsum(depths)
    shapes = np.full((int(ends[-1]), 2), priors.embedding_dim, dtype=np.int64)
    shapes[ends - depths, 0] = in_dim
    shapes[ends - 1, 1] = out_dim
    weights, names, rhos = _draw_weights(rng, shapes, priors.init_schemes, priors.weight_density)
    acts = random_activations(
        rng,
        int(depths.sum()) - count,
        priors.activations,
        priors.activation_log_scale,
        priors.activation_clamp,
    )
    mlps = []
    wi = ai = 0
    for layers in depths.tolist():
        wj = wi + layers
        mlps.append(
            RandomMLP._assemble(weights[wi:wj], names[wi:wj], rhos[wi:wj], acts[ai : ai + layers - 1])
        )
        wi = wj
        ai += layers - 1
    return mlps


@dataclass(slots=True)
class LayerActivations:
    """One layer's activations for a (members, rows, d) stack, as
    :func:`~plurel_core.activation_kernels.activate_stack` takes them: each member's kind
    code (−1 for an activation registered without one), clamp bound (clamp / scale,
    float32) and, for random sines, its sines; ``others``: (member, function, bound) of the
    activations without a kind, applied one member at a time."""

    kinds: np.ndarray
    highs: np.ndarray
    sines: np.ndarray
    sine_counts: np.ndarray
    others: list[tuple[int, Callable[[np.ndarray], np.ndarray], np.float32]]


def _layer_activations(acts: list[Activation]) -> LayerActivations:
    """The plan for ``acts[i]`` applied to member i."""
    kinds = np.array([getattr(a.fn, "kind", -1) for a in acts], dtype=np.int8)
    highs = np.array([a.clamp / a.scale for a in acts], dtype=F32)
    with_sines = [i for i, a in enumerate(acts) if hasattr(a.fn, "sines")]
    sines, sine_counts = NO_SINES
    if with_sines:
        sines = np.zeros((len(acts), 3, MAX_SINES))
        sine_counts = np.zeros(len(acts), dtype=np.int8)
        for i in with_sines:
            sines[i], sine_counts[i] = acts[i].fn.sines, acts[i].fn.sine_count
    others = [(i, acts[i].fn, highs[i]) for i in np.flatnonzero(kinds < 0).tolist()]
    return LayerActivations(kinds, highs, sines, sine_counts, others)


def _run_activations(h: np.ndarray, plan: LayerActivations) -> None:
    """The planned activations applied in place to a C-contiguous (members, rows, d)
    float32 stack, then clamped (the scales are folded into the next layer's weights)."""
    activate_stack(h, plan.kinds, plan.highs, plan.sines, plan.sine_counts)
    for i, fn, high in plan.others:
        sub = h[i]
        y = fn(sub)
        if y is not sub:
            sub[...] = y
        clip(sub, -high, high, out=sub)


def _apply_activations(h: np.ndarray, acts: list[Activation]) -> np.ndarray:
    """``acts[i]`` applied to ``h[i]`` of a C-contiguous (members, rows, d) float32 stack,
    in place, without the scales (the caller folds each member's scale into its next
    layer's weights)."""
    _run_activations(h, _layer_activations(acts))
    return h


def _stacked_weights(
    mlps: list[RandomMLP], members: list[int], layer: int, scales: list[float] | None
) -> np.ndarray:
    """Stacked weights of ``layer`` for ``members``, each times the scale of the member's
    preceding activation (``scales``, per member; None for the first layer), so
    activations never multiply their outputs by it."""
    ws = [mlps[i].weights[layer] for i in members]
    # one concatenation and one broadcast product: fewer numpy calls than a scaled copy
    # per member (or np.stack) for all but the smallest stacks
    w = np.concatenate(ws).reshape(len(ws), *ws[0].shape)
    if scales:
        w *= np.array(scales, dtype=F32)[:, None, None]
    return w


def _selection(positions: list[int]) -> slice | np.ndarray:
    """``positions`` as an index of the member axis: a slice when they are one ascending
    run (a view, and one copy where an array index makes two), else an intp array."""
    if positions == list(range(positions[0], positions[0] + len(positions))):
        return slice(positions[0], positions[0] + len(positions))
    return np.array(positions, dtype=np.intp)


def _product_into(out: np.ndarray, ends: slice | np.ndarray, x: np.ndarray, w: np.ndarray) -> None:
    """``out[ends] = x @ w``: written by the product itself when ``ends`` is a slice (a view
    of ``out``), else through the product's own array."""
    if isinstance(ends, slice):
        matmul_rows(x, w, out=out[ends])
    else:
        out[ends] = matmul_rows(x, w)


@dataclass
class _StackLayer:
    """One layer of an :class:`MLPStack`: its products, then its activations.

    ``width`` members enter the layer; those whose last layer it is (``ends``: member
    indices; ``done``: their positions in the stack) are written to the output. When their
    last layer and the others' hidden layer differ in shape they are two products
    (``split``; ``keep``: the positions that go on), else one; with one product, the
    members that go on are then taken out of it (``survivors``). ``final``: every member
    ends here. The others take their ``activations``. Indices are slices where they can
    be: with members in order of depth (see :class:`MLPStack`) they all are.
    """

    width: int
    split: bool
    final: bool
    ends: slice | np.ndarray | None
    done: slice | np.ndarray | None
    keep: slice | np.ndarray | None
    w_ends: np.ndarray | None
    w: np.ndarray
    survivors: slice | np.ndarray | None = None
    activations: LayerActivations | None = None


class MLPStack:
    """Several MLPs with equal in/out dims, evaluated together: one stacked product and one
    compiled activation call per layer (far fewer calls than one MLP at a time).

    Everything that does not depend on the input is worked out once, here: which members
    end at which layer, the stacked weights (each times the scale of the member's
    preceding activation, so activations never multiply their outputs by it), the
    activations' kinds and clamp bounds. Calling it on ``x`` of shape
    (len(mlps), rows, in), or (1, rows, in) shared by all, returns (len(mlps), rows, out)
    float32; each member's result equals evaluating it alone. ``mlps`` keeps the members.
    Members given in order of depth (fewest layers first) are the fastest: each layer's
    finished members are then one block, written to the output by the product itself.
    """

    def __init__(self, mlps: list[RandomMLP]):
        count = len(mlps)
        self.mlps = mlps
        self.count, self.out_dim = count, mlps[0].out_dim
        if count == 1:
            # one MLP (a decoder): a product and its activation per layer, nothing to stack
            # (the weights are views, scaled copies after the first layer)
            (mlp,) = mlps
            acts, weights = mlp.activations, mlp.weights
            last = len(acts)
            self.layers = []
            for layer in range(last + 1):
                w = weights[layer] * F32(acts[layer - 1].scale) if layer else weights[0]
                only = slice(0, 1) if layer == last else None
                step = _StackLayer(1, False, layer == last, only, only, None, None, w[None])
                if layer < last:
                    step.activations = _layer_activations(acts[layer : layer + 1])
                self.layers.append(step)
            return
        depth = [len(m.weights) for m in mlps]
        acts_of = [m.activations for m in mlps]
        active = list(range(count))
        self.layers: list[_StackLayer] = []
        scales: list[float] | None = None  # of the activations before this layer, per active member
        layer = 0
        while active:
            # members whose last layer this is, and those that go on
            done = [j for j, i in enumerate(active) if depth[i] == layer + 1]
            keep = [j for j, i in enumerate(active) if depth[i] > layer + 1]
            ends = [active[j] for j in done]
            split = bool(done and keep) and (
                mlps[ends[0]].weights[layer].shape != mlps[active[keep[0]]].weights[layer].shape
            )
            width = len(active)
            w_ends = keep_sel = None
            if split:
                w_ends = _stacked_weights(mlps, ends, layer, scales and [scales[j] for j in done])
                keep_sel = _selection(keep)
                if scales:
                    scales = [scales[j] for j in keep]
                active = [active[j] for j in keep]
                keep = list(range(len(active)))
            w = _stacked_weights(mlps, active, layer, scales)
            step = _StackLayer(
                width, split, not keep, _selection(ends) if ends else None, _selection(done) if ends else None,
                keep_sel, w_ends, w,
            )  # fmt: skip
            self.layers.append(step)
            if not keep:
                break
            if len(keep) < len(active):
                step.survivors = _selection(keep)
            active = [active[j] for j in keep]
            acts = [acts_of[i][layer] for i in active]
            step.activations = _layer_activations(acts)
            scales = [a.scale for a in acts]
            layer += 1

    def __call__(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The members' outputs, (len(mlps), rows, out) float32, written into ``out`` (such
        an array, e.g. a view into a larger buffer) when given."""
        x = np.asarray(x, dtype=F32)
        if out is None:
            out = np.empty((self.count, x.shape[1], self.out_dim), dtype=F32)
        h = x
        for step in self.layers:
            shared = h.shape[0] == 1 and step.width > 1
            if step.split:
                _product_into(out, step.ends, h if shared else h[step.done], step.w_ends)
                h = matmul_rows(h if shared else h[step.keep], step.w)
            elif step.final:
                # every member ends here (``done`` is all of ``h``)
                _product_into(out, step.ends, h, step.w)
                break
            else:
                h = matmul_rows(h, step.w)
                if step.ends is not None:
                    out[step.ends] = h[step.done]
            if step.survivors is not None:
                h = h[step.survivors]
            _run_activations(h, step.activations)
        return out


def evaluate_mlps(mlps: list[RandomMLP], x: np.ndarray) -> np.ndarray:
    """Outputs of several MLPs with equal in/out dims: ``x`` is (len(mlps), rows, in) or
    (1, rows, in) (one input shared by all); returns (len(mlps), rows, out) float32. Each
    member's result equals evaluating it alone (see :class:`MLPStack`, which this builds)."""
    return MLPStack(mlps)(x)


# -- encoders and decoders --------------------------------------------------------------


class NumericalEncoder:
    """Scalar → R^d through ``MLP(1 → d)``."""

    def __init__(self, rng: np.random.Generator, priors: FeaturePriors):
        self.mlp = RandomMLP(rng, 1, priors.embedding_dim, priors)

    @classmethod
    def batch(cls, rng: np.random.Generator, count: int, priors: FeaturePriors) -> list[NumericalEncoder]:
        """``count`` independent encoders, drawn together (see :func:`random_mlps`)."""
        out = []
        for mlp in random_mlps(rng, count, 1, priors.embedding_dim, priors):
            enc = cls.__new__(cls)
            enc.mlp = mlp
            out.append(enc)
        return out

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.mlp(np.asarray(values, dtype=F32).reshape(-1, 1))


class CategoricalEncoder:
    """Code ``0..k-1`` → R^d: a frozen embedding table followed by ``MLP(d → d)``.

    The MLP is applied to the k table rows once (:meth:`table`); encoding rows is a lookup.
    """

    def __init__(self, rng: np.random.Generator, k: int, priors: FeaturePriors):
        d = priors.embedding_dim
        self.embedding, self.init_name, _ = random_weight(rng, k, d, priors.init_schemes)
        self.mlp = RandomMLP(rng, d, d, priors)
        self._table: np.ndarray | None = None

    @classmethod
    def batch(
        cls, rng: np.random.Generator, ks: list[int], priors: FeaturePriors
    ) -> list[CategoricalEncoder]:
        """One independent encoder per category count in ``ks``, drawn together."""
        d = priors.embedding_dim
        tables = random_weights(rng, [(k, d) for k in ks], priors.init_schemes)
        out = []
        for (emb, scheme, _), mlp in zip(tables, random_mlps(rng, len(ks), d, d, priors), strict=True):
            enc = cls.__new__(cls)
            enc.embedding, enc.init_name, enc.mlp, enc._table = emb, scheme, mlp, None
            out.append(enc)
        return out

    def table(self) -> np.ndarray:
        if self._table is None:
            self._table = self.mlp(self.embedding)
        return self._table

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        return self.table()[np.asarray(codes, dtype=np.intp)]


class _Decoder:
    """A decoder's MLP evaluation plan, made once: a decoder runs on every row chunk. (The
    decoder keeps it rather than the MLP, which the plan refers to: no reference cycle, so
    a table's decoders are freed as soon as it is done.)"""

    mlp: RandomMLP
    _stack: MLPStack | None = None

    @property
    def stack(self) -> MLPStack:
        """The decoder's MLP as a one-member :class:`MLPStack`."""
        if self._stack is None:
            self._stack = MLPStack([self.mlp])
        return self._stack


class NumericalDecoder(_Decoder):
    """R^d → scalar through ``MLP(d → 1)``."""

    def __init__(self, rng: np.random.Generator, priors: FeaturePriors):
        self.mlp = RandomMLP(rng, priors.embedding_dim, 1, priors)

    @classmethod
    def batch(cls, rng: np.random.Generator, count: int, priors: FeaturePriors) -> list[NumericalDecoder]:
        """``count`` independent decoders, drawn together."""
        out = []
        for mlp in random_mlps(rng, count, priors.embedding_dim, 1, priors):
            dec = cls.__new__(cls)
            dec.mlp = mlp
            out.append(dec)
        return out

    def __call__(self, h: np.ndarray) -> np.ndarray:
        return self.stack(np.asarray(h, dtype=F32)[None])[0, :, 0]


class CategoricalDecoder(_Decoder):
    """R^d → code: ``MLP(d → d)``, then the most similar row (dot product) of a frozen
    k-row category table."""

    def __init__(self, rng: np.random.Generator, k: int, priors: FeaturePriors):
        d = priors.embedding_dim
        self.mlp = RandomMLP(rng, d, d, priors)
        self.embedding, self.init_name, _ = random_weight(rng, k, d, priors.init_schemes)

    @classmethod
    def batch(
        cls, rng: np.random.Generator, ks: list[int], priors: FeaturePriors
    ) -> list[CategoricalDecoder]:
        """One independent decoder per category count in ``ks``, drawn together."""
        d = priors.embedding_dim
        mlps = random_mlps(rng, len(ks), d, d, priors)
        tables = random_weights(rng, [(k, d) for k in ks], priors.init_schemes)
        out = []
        for mlp, (emb, scheme, _) in zip(mlps, tables, strict=True):
            dec = cls.__new__(cls)
            dec.mlp, dec.embedding, dec.init_name = mlp, emb, scheme
            out.append(dec)
        return out

    def __call__(self, h: np.ndarray) -> np.ndarray:
        return np.argmax(matmul_rows(self.stack(np.asarray(h, dtype=F32)[None])[0], self.embedding.T), axis=1)


# -- aggregations -----------------------------------------------------------------------


class Aggregator:
    """Streaming aggregation of weighted parent embeddings.

    ``state = start(first)``, ``add(state, x)`` for each further one, ``finish(state)``.
    Inputs must already be clamped to ``± clamp``; the result is not clamped again (a
    product saturates at ±1e30).
    """

    def __init__(self, name: str, clamp: float):
        if name not in AGGREGATIONS:
            raise ValueError(f"aggregation: got {name!r}; allowed: {list(AGGREGATIONS)}")
        self.name = name
        self.clamp = F32(clamp)
        self.log_clamp = F32(math.log(clamp))

    def start(self, x: np.ndarray) -> list:
        if self.name in ("sum", "max"):
            return [np.array(x, dtype=F32, copy=True)]
        if self.name == "product":
            return [log_abs(x), x < 0]
        return [np.array(x, dtype=F32, copy=True), np.ones_like(x, dtype=F32)]

    def add(self, state: list, x: np.ndarray) -> None:
        if self.name == "sum":
            state[0] += x
        elif self.name == "max":
            np.maximum(state[0], x, out=state[0])
        elif self.name == "product":
            state[0] += log_abs(x)
            state[1] ^= x < 0
        else:
            # running logsumexp: (m, s) with value m + log s
            m, s = state
            m_new = np.maximum(m, x)
            s *= np.exp(m - m_new)
            s += np.exp(x - m_new)
            state[0] = m_new

    def merge(self, state: list, other: list) -> None:
        """Fold another partial state (of the same rows) into ``state``."""
        if self.name == "sum":
            state[0] += other[0]
        elif self.name == "max":
            np.maximum(state[0], other[0], out=state[0])
        elif self.name == "product":
            state[0] += other[0]
            state[1] ^= other[1]
        else:
            m_new = np.maximum(state[0], other[0])
            state[1] *= np.exp(state[0] - m_new)
            state[1] += other[1] * np.exp(other[0] - m_new)
            state[0] = m_new

    def zeros_state(self, rows: int, dim: int, count: int) -> list:
        """The partial state of ``count`` all-zero embeddings (a NULL foreign key)."""
        z = np.zeros((rows, dim), dtype=F32)
        if self.name in ("sum", "max"):
            return [z]
        if self.name == "product":
            return [z + F32(count) * log_abs(np.zeros(1, F32))[0], np.zeros((rows, dim), dtype=bool)]
        return [z, np.full((rows, dim), count, dtype=F32)]

    def finish(self, state: list) -> np.ndarray:
        if self.name in ("sum", "max"):
            out = state[0]
        elif self.name == "product":
            out = np.exp(clip(state[0], -87, _LOG_PRODUCT_LIMIT))
            np.copyto(out, F32(0), where=state[0] <= -87)
            np.negative(out, out=out, where=state[1])
        else:
            out = state[0] + np.log(state[1])
        return out


_LOG_ZERO = F32(-1e30)
# a product's magnitude saturates at 1e30 (its log-magnitude is capped at ln 1e30)
PRODUCT_LIMIT = 1e30
_LOG_PRODUCT_LIMIT = F32(math.log(PRODUCT_LIMIT))


def log_abs(x: np.ndarray) -> np.ndarray:
    """log|x| in float32, with exact zeros mapped to -1e30 (no divide-by-zero warning), so
    one zero factor keeps a product at zero whatever the other factors are."""
    a = np.abs(x)
    zero = a == 0
    np.log(clip(a, F32(1e-38), _INF, out=a), out=a)
    if zero.any():
        a[zero] = _LOG_ZERO
    return a


def _fold(name: str) -> Callable[[np.ndarray, float], np.ndarray]:
    def agg(stack: np.ndarray, clamp: float = 1e4) -> np.ndarray:
        stack = clip(np.asarray(stack, dtype=F32), -clamp, clamp)
        a = Aggregator(name, clamp)
        state = a.start(stack[0])
        for x in stack[1:]:
            a.add(state, x)
        return a.finish(state)

    agg.__doc__ = f"{name} over axis 0 of a (parents, rows, d) stack clamped to ± clamp first."
    return agg


AGGREGATIONS: Registry[Callable[[np.ndarray, float], np.ndarray]] = Registry(
    "aggregation", {name: _fold(name) for name in ("sum", "max", "product", "logsumexp")}
)
"""Aggregations: ``AGGREGATIONS[name](stack, clamp) -> (rows, d)``."""


def aggregate(name: str, stack: np.ndarray, clamp: float = 1e4) -> np.ndarray:
    """``AGGREGATIONS[name](stack, clamp)`` with a clear error for unknown names."""
    if name not in AGGREGATIONS:
        raise ValueError(f"aggregation: got {name!r}; allowed: {list(AGGREGATIONS)}")
    return AGGREGATIONS[name](stack, clamp)


# -- gathered aggregation (the per-row hot path) -----------------------------------------

_AGG_CODES = {"sum": 0, "max": 1, "product": 2, "logsumexp": 3}
_POW2_CUT = np.float32(1023)


@njit(nogil=True, cache=True, inline="always")
def _pow2_neg(k):
    """2^-k for an integer-valued float32 k >= 0: exact up to k = 1022 and +0 beyond, where
    a term is below 2^-1022 of the row's largest (mantissa >= 1) and cannot change a sum
    that is at least 1."""
    return _float64_from_bits((1023 - np.int64(min(k, _POW2_CUT))) << 52)


# rows folded together: the tile's accumulators (float32 and float64, 256 × d) stay in L1/L2
# while every parent table is read in turn (one table at a time instead of one row of
# every table per row, which for nodes with many parents means a cache miss per read)
_ROW_TILE = 256


# (numpy's error model: a division never checks for zero, which would stop vectorisation)
@njit(nogil=True, cache=True, error_model="numpy")
def _aggregate_rows(
    kind, values, signs, mant, expo, offsets, codes, code_rows, partial, r0, noise, log_cap, out, raw,
    out_signs,
):  # fmt: skip
    """``out[i] = AGG_p values[offsets[p] + codes[code_rows[p], r]] + noise[i]``
    for rows ``r = r0 + i``, the fold ending with row ``r`` of the ``partial`` arrays when
    ``partial[0]`` has rows (a state already folded elsewhere).

    ``raw``: the fold's state instead (no noise; ``noise`` only gives the row count): sum / max as they are, product as its sum of log-magnitudes with the parity of
    its signs in ``out_signs``, logsumexp as its value.

    Rows are folded a tile at a time, parent by parent in parent order, so each element
    sees the same operations in the same order as a row-by-row fold: sum / max in float32;
    product as a float32 sum of log-magnitudes (``values``) and a parity of ``signs``;
    logsumexp from each value's ``exp(v) = mant · 2^expo`` (mant ∈ [1, 2)), summed in
    float64 relative to the row's largest exponent, so no exp is needed per element and
    nothing under- or overflows.
    """
    pvalues, psigns, pmant, pexpo = partial
    parents = offsets.shape[0]
    has_partial = pvalues.shape[0] > 0 or pmant.shape[0] > 0
    rows, d = out.shape
    neg = np.empty((_ROW_TILE, d), dtype=np.uint8)
    top = np.empty((_ROW_TILE, d), dtype=np.float32)
    acc64 = np.empty((_ROW_TILE, d), dtype=np.float64)
    for t0 in range(0, rows, _ROW_TILE):
        t1 = min(rows, t0 + _ROW_TILE)
        acc = out[t0:t1]
        if kind == 0 or kind == 1:
            for p in range(parents):
                cr, off = code_rows[p], offsets[p]
                for i in range(t1 - t0):
                    q = off + codes[cr, r0 + t0 + i]
                    if p == 0:
                        for j in range(d):
                            acc[i, j] = values[q, j]
                    elif kind == 0:
                        for j in range(d):
                            acc[i, j] += values[q, j]
                    else:
                        for j in range(d):
                            acc[i, j] = max(acc[i, j], values[q, j])
            if has_partial:
                for i in range(t1 - t0):
                    r = r0 + t0 + i
                    if kind == 0:
                        for j in range(d):
                            acc[i, j] += pvalues[r, j]
                    else:
                        for j in range(d):
                            acc[i, j] = max(acc[i, j], pvalues[r, j])
        elif kind == 2:
            for p in range(parents):
                cr, off = code_rows[p], offsets[p]
                for i in range(t1 - t0):
                    q = off + codes[cr, r0 + t0 + i]
                    if p == 0:
                        for j in range(d):
                            acc[i, j] = values[q, j]
                            neg[i, j] = signs[q, j]
                    else:
                        for j in range(d):
                            acc[i, j] += values[q, j]
                            neg[i, j] ^= signs[q, j]
            if has_partial:
                for i in range(t1 - t0):
                    r = r0 + t0 + i
                    for j in range(d):
                        acc[i, j] += pvalues[r, j]
                        neg[i, j] ^= psigns[r, j]
            if raw:
                out_signs[t0:t1] = neg[: t1 - t0]
                continue
            for i in range(t1 - t0):
                for j in range(d):
                    a = acc[i, j]
                    e = 0.0 if a <= -87.0 else _exp(min(a, log_cap))
                    acc[i, j] = -e if neg[i, j] else e
        else:
            for p in range(parents):
                cr, off = code_rows[p], offsets[p]
                for i in range(t1 - t0):
                    q = off + codes[cr, r0 + t0 + i]
                    if p == 0:
                        for j in range(d):
                            top[i, j] = expo[q, j]
                    else:
                        for j in range(d):
                            top[i, j] = max(top[i, j], expo[q, j])
            if has_partial:
                for i in range(t1 - t0):
                    for j in range(d):
                        top[i, j] = max(top[i, j], pexpo[r0 + t0 + i, j])
            for p in range(parents):
                cr, off = code_rows[p], offsets[p]
                for i in range(t1 - t0):
                    q = off + codes[cr, r0 + t0 + i]
                    if p == 0:
                        for j in range(d):
                            acc64[i, j] = mant[q, j] * _pow2_neg(top[i, j] - expo[q, j])
                    else:
                        for j in range(d):
                            acc64[i, j] += mant[q, j] * _pow2_neg(top[i, j] - expo[q, j])
            if has_partial:
                for i in range(t1 - t0):
                    r = r0 + t0 + i
                    for j in range(d):
                        acc64[i, j] += pmant[r, j] * _pow2_neg(top[i, j] - pexpo[r, j])
            for i in range(t1 - t0):
                for j in range(d):
                    acc[i, j] = (top[i, j] + _log2(acc64[i, j])) * _LN2
        if raw:
            continue
        for i in range(t1 - t0):
            nz = noise[t0 + i]
            for j in range(d):
                acc[i, j] += nz[j]


def _mantissa_exponent(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``exp(v) = mant · 2^expo`` with mant in [1, 2) and an integer-valued float32 ``expo``.

    float32 is enough: the split's rounding stays within a float32 ulp of v, and beyond
    |v| ≈ 1e7 (where float32 holds only integers of v / ln 2) mant is 1 and expo is v / ln 2.
    """
    t = values * F32(1 / _LN2)
    expo = np.floor(t)
    t -= expo
    t *= F32(_LN2)
    return np.exp(t, out=t), expo


@dataclass
class PreparedPartial:
    """A folded :class:`Aggregator` state per row, in the form the aggregation kernel reads:
    values (sum, max; log-magnitudes for product), signs (product) or mantissa / exponent
    pairs (logsumexp). Made once per table and shared by its nodes."""

    values: np.ndarray
    signs: np.ndarray
    mant: np.ndarray
    expo: np.ndarray

    @classmethod
    def empty(cls, d: int) -> PreparedPartial:
        """No partial state (arrays without rows)."""
        return cls(
            np.zeros((0, d), F32),
            np.zeros((0, d), np.uint8),
            np.zeros((0, d), F32),
            np.zeros((0, d), F32),
        )

    @classmethod
    def from_state(cls, name: str, state: list[np.ndarray]) -> PreparedPartial:
        values, signs, mant, expo = cls.empty(state[0].shape[1]).arrays()
        if name == "product":
            values, signs = state[0].astype(F32, copy=False), state[1].view(np.uint8)
        elif name == "logsumexp":
            mant, expo = _mantissa_exponent(state[0] + np.log(state[1]))
        else:
            values = state[0].astype(F32, copy=False)
        return cls(values, signs, mant, expo)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.values, self.signs, self.mant, self.expo

    def row_range(self, r0: int, r1: int) -> PreparedPartial:
        """The state of rows ``r0 .. r1`` (views; arrays without rows stay as they are)."""
        return PreparedPartial(*(a[r0:r1] if a.shape[0] else a for a in self.arrays()))


# placeholders for the arguments a fold does not read (typed like the real ones)
_NO_SIGNS = np.zeros((0, 0), dtype=np.uint8)


def concatenated_tables(tables: list[np.ndarray], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``tables`` (each (rows, ``dim``)) one under another, and the row each one starts at
    (the layout :class:`GatheredAggregation` reads through offsets)."""
    starts = np.zeros(len(tables), dtype=np.int64)
    if len(tables) > 1:
        starts[1:] = np.cumsum([t.shape[0] for t in tables[:-1]])
    values = np.concatenate(tables) if tables else np.empty((0, dim), dtype=F32)
    return values, starts


class GatheredAggregation:
    """The aggregation of one SCM node's parent embeddings, row by row.

    ``tables[p]`` is parent ``p``'s weighted, clamped encoder table and its codes give, for
    every row of the child, the table row it reads (a categorical code or a quantile knot):
    ``codes[p]``, or with ``code_rows`` row ``code_rows[p]`` of the 2-D int32 ``codes``
    (so parents can share one matrix of codes without copies). ``partial`` is an already
    folded state per child row (:class:`Aggregator` form, or prepared once with
    :meth:`PreparedPartial.from_state`), aggregated last. Tables are concatenated once;
    :meth:`rows` then folds the parents of a run of rows in one compiled pass, with no
    per-parent temporaries (the result equals the :class:`Aggregator` fold in parent
    order, up to float rounding for ``logsumexp``).
    """

    def __init__(
        self,
        name: str,
        tables: list[np.ndarray],
        codes: list[np.ndarray] | np.ndarray,
        clamp: float,
        partial: list[np.ndarray] | PreparedPartial | None = None,
        *,
        code_rows: list[int] | None = None,
    ):
        if code_rows is None:
            codes = np.stack(codes).astype(np.int32, copy=False)
            code_rows = list(range(len(tables)))
        values, offsets = concatenated_tables(tables, tables[0].shape[1])
        self._prepare(name, values, offsets, codes, code_rows, clamp, partial)

    @classmethod
    def of_values(
        cls,
        name: str,
        values: np.ndarray,
        offsets: np.ndarray,
        codes: np.ndarray,
        code_rows: np.ndarray,
        clamp: float,
        partial: PreparedPartial | None = None,
    ) -> GatheredAggregation:
        """The same fold over tables already laid out in one float32 array: parent ``p``
        reads row ``offsets[p] + codes[code_rows[p], r]`` of ``values`` for child row ``r``
        (offsets may be negative where the codes are row numbers). Nothing is copied for
        sum and max; ``values`` is read, never written."""
        fold = cls.__new__(cls)
        fold._prepare(name, values, offsets, codes, code_rows, clamp, partial)
        return fold

    def _prepare(
        self,
        name: str,
        values: np.ndarray,
        offsets: np.ndarray,
        codes: np.ndarray,
        code_rows: list[int] | np.ndarray,
        clamp: float,
        partial: list[np.ndarray] | PreparedPartial | None,
    ) -> None:
        if name not in _AGG_CODES:
            raise ValueError(f"aggregation: got {name!r}; allowed: {list(AGGREGATIONS)}")
        self.kind = _AGG_CODES[name]
        self.clamp = F32(clamp)
        self.codes = np.asarray(codes, dtype=np.int32)
        self.code_rows = np.asarray(code_rows, dtype=np.int64)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        values = values.astype(F32, copy=False)
        d = values.shape[1]
        self.signs = np.zeros((1, d), dtype=np.uint8)
        self.mant = np.zeros((1, d), dtype=F32)
        self.expo = np.zeros((1, d), dtype=F32)
        if name == "product":
            self.signs = (values < 0).view(np.uint8)
            values = log_abs(values)
        elif name == "logsumexp":
            # the per-row work becomes a sum of exactly rescaled mantissas
            self.mant, self.expo = _mantissa_exponent(values)
        self.values = values
        self.num_tables = len(self.offsets)
        if partial is None:
            self.partial = PreparedPartial.empty(d)
        elif isinstance(partial, PreparedPartial):
            self.partial = partial
        else:
            self.partial = PreparedPartial.from_state(name, partial)
        self.dim = d

    def rows(self, r0: int, noise: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Aggregated embeddings of rows ``r0 .. r0 + len(noise)`` plus ``noise`` (a float32
        (rows, d) array, one value per row and dimension); written into ``out`` (a
        C-contiguous float32 (len(noise), d) array) when given."""
        if out is None:
            out = np.empty((noise.shape[0], self.dim), dtype=F32)
        _aggregate_rows(
            self.kind, self.values, self.signs, self.mant, self.expo, self.offsets, self.codes,
            self.code_rows, self.partial.arrays(), r0, noise, _LOG_PRODUCT_LIMIT, out, False, _NO_SIGNS,
        )  # fmt: skip
        return out

    def state(self, rows: int) -> list[np.ndarray]:
        """The fold of rows ``0 .. rows`` as an :class:`Aggregator` state (no noise):
        what :meth:`Aggregator.start` / :meth:`Aggregator.add` give for the tables in order
        (exactly for sum, max and product; logsumexp as its value ``[v, 1]``)."""
        out = np.empty((rows, self.dim), dtype=F32)
        signs = np.empty((rows if self.kind == 2 else 0, self.dim), dtype=np.uint8)
        _aggregate_rows(
            self.kind, self.values, self.signs, self.mant, self.expo, self.offsets, self.codes,
            self.code_rows, self.partial.arrays(), 0, np.zeros((rows, 0), F32), _LOG_PRODUCT_LIMIT, out, True,
            signs,
        )  # fmt: skip
        if self.kind == 2:
            return [out, signs.view(np.bool_)]
        if self.kind == 3:
            return [out, np.ones_like(out)]
        return [out]
