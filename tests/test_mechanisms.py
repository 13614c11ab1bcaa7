"""Activations, weight inits, random MLPs, encoders/decoders and aggregations."""

from __future__ import annotations

import numpy as np
import pytest

from plurel_core.config import ACTIVATION_NAMES, AGGREGATION_NAMES, INIT_NAMES, FeaturePriors
from plurel_core.mechanisms import (
    ACTIVATIONS,
    AGGREGATIONS,
    Aggregator,
    CategoricalDecoder,
    CategoricalEncoder,
    GatheredAggregation,
    NumericalDecoder,
    NumericalEncoder,
    PreparedPartial,
    RandomMLP,
    _apply_activations,
    aggregate,
    evaluate_mlps,
    matmul_rows,
    random_activation,
    random_mlps,
    random_weight,
    random_weights,
)

pytestmark = pytest.mark.filterwarnings("error")

# inputs from tiny to the float32 extremes an activation could ever see
EXTREME = np.concatenate(
    [
        np.linspace(-10, 10, 201),
        np.array(
            [0.0, -0.0, 1e-30, -1e-30, 88.0, 89.0, -104.0, 1e6, -1e6, 1e12, -1e12, 1e30, -1e30, 3e38, -3e38]
        ),
    ]
).astype(np.float32)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_is_finite_float32_and_clamped(name):
    act = random_activation(np.random.default_rng(0), (name,), (-1.0, 1.0), 1e6)
    assert act.name == name and np.exp(-1) <= act.scale <= np.exp(1)
    y = act(EXTREME.copy())
    assert y.dtype == np.float32 and y.shape == EXTREME.shape
    assert np.isfinite(y).all()
    assert np.abs(y).max() <= 1e6


@pytest.mark.parametrize(
    "name, x, expected",
    [
        ("relu", [-1.0, 2.0], [0.0, 2.0]),
        ("sigmoid", [0.0], [0.5]),
        ("softplus", [0.0], [np.log(2)]),
        ("abs", [-3.0], [3.0]),
        ("clamp", [-3.0, 0.5, 3.0], [-1.0, 0.5, 1.0]),
        ("signed_log1p", [-np.e + 1, 0.0], [-1.0, 0.0]),
        ("smooth_bent", [0.0, 1.0], [0.0, (np.sqrt(2) - 1) / 2 + 1]),
        ("hardshrink", [0.3, -0.7], [0.0, -0.7]),
        ("softshrink", [0.3, -0.7], [0.0, -0.2]),
        ("sin", [np.pi / 2], [1.0]),
        ("logsigmoid", [0.0], [-np.log(2)]),
    ],
)
def test_activation_values(name, x, expected):
    f = ACTIVATIONS[name](np.random.default_rng(0))
    np.testing.assert_allclose(f(np.array(x, dtype=np.float32)), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@pytest.mark.parametrize("clamp, log_scale", [(1e6, (-1.0, 1.0)), (1.0, (4.0, 5.0))])
def test_stacked_activations_equal_single_ones_and_respect_the_clamp(name, clamp, log_scale):
    # the stacked path leaves the scale to the next layer's weights; times the scale it must
    # give what the activation gives alone, within ± clamp (also when clamp / scale < 1)
    rng = np.random.default_rng(3)
    acts = [random_activation(rng, (name,), log_scale, clamp) for _ in range(3)]
    same_fn = [acts[0]] * 3  # one function object, as stacked members share it
    for group in (acts, same_fn):
        h = np.stack([EXTREME] * 3)[:, :, None]  # (members, rows, d)
        scales = np.array([a.scale for a in group], np.float32)[:, None]
        stacked = _apply_activations(h.copy(), group)[:, :, 0] * scales
        for i, act in enumerate(group):
            alone = act(EXTREME.copy())
            np.testing.assert_allclose(stacked[i], alone, rtol=1e-6)
            assert np.abs(alone).max() <= clamp * (1 + 1e-6)


def test_random_sines_are_frozen_per_construction():
    x = np.linspace(-3, 3, 50).astype(np.float32)
    f = ACTIVATIONS["random_sines"](np.random.default_rng(1))
    np.testing.assert_array_equal(f(x.copy()), f(x.copy()))
    g = ACTIVATIONS["random_sines"](np.random.default_rng(2))
    assert not np.array_equal(f(x.copy()), g(x.copy()))


def test_rrelu_has_the_fixed_inference_slope_and_gelu_the_erf_form():
    # rrelu evaluated as torch does outside training: slope (1/8 + 1/3) / 2 for x < 0,
    # the same for every construction
    x = np.array([-4.0, -1.0, 0.0, 2.5], dtype=np.float32)
    for seed in (1, 2):
        y = ACTIVATIONS["rrelu"](np.random.default_rng(seed))(x.copy())
        np.testing.assert_allclose(y, [-4 * (11 / 48), -11 / 48, 0.0, 2.5], rtol=1e-6)
    # gelu: x Φ(x) exactly (the sigmoid form x σ(1.702 x) is off by up to 0.02)
    from math import erf, sqrt

    x = np.linspace(-6, 6, 241).astype(np.float32)
    exact = np.array([v * 0.5 * (1 + erf(v / sqrt(2))) for v in x.astype(np.float64)])
    np.testing.assert_allclose(ACTIVATIONS["gelu"](None)(x.copy()), exact, rtol=1e-6, atol=1e-7)


def test_gelu_is_correctly_rounded_also_in_its_tail():
    # x Φ(x) in float32 within one unit in the last place everywhere, including the far
    # negative tail where 1 + erf(x / √2) cancels (values down to float32's smallest normals)
    from math import erfc, sqrt

    x = np.concatenate([np.linspace(-13, 13, 20_001), [-1e30, -20.0, 0.0, 20.0, 1e30]]).astype(np.float32)
    exact = np.array([v * 0.5 * erfc(-v / sqrt(2)) for v in x.astype(np.float64)]).astype(np.float32)
    got = ACTIVATIONS["gelu"](None)(x.copy())
    ulps = np.abs(got.view(np.int32).astype(np.int64) - exact.view(np.int32))
    assert ulps.max() <= 1 and np.mean(ulps == 0) > 0.999


def test_random_sines_draw_normal_amplitudes_and_log_uniform_frequencies():
    # the function keeps its frozen draws: 3 to 7 sines, amplitudes N(0, 1), frequencies
    # log-uniform on [0.1, 10], phases U(0, 2π); and it computes their sum
    amps, freqs, phases, counts = [], [], [], []
    x = np.linspace(-20, 20, 401).astype(np.float32)
    for seed in range(400):
        f = ACTIVATIONS["random_sines"](np.random.default_rng(seed))
        amp, freq, phase = f.sines[:, : f.sine_count]
        assert not f.sines[:, f.sine_count :].any()
        amps.extend(amp)
        freqs.extend(freq)
        phases.extend(phase)
        counts.append(f.sine_count)
        if seed < 20:
            expected = (amp[:, None] * np.sin(freq[:, None] * x.astype(np.float64) + phase[:, None])).sum(0)
            np.testing.assert_allclose(f(x.copy()), expected, rtol=1e-6, atol=1e-6)
    amps, freqs, phases = (np.array(v, dtype=np.float64) for v in (amps, freqs, phases))
    assert set(counts) == {3, 4, 5, 6, 7}
    assert abs(amps.mean()) < 0.1 and abs(amps.std() - 1) < 0.05 and np.abs(amps).max() > 2.5
    assert 0.1 <= freqs.min() and freqs.max() <= 10
    logf = np.log10(freqs)
    assert abs(logf.mean()) < 0.05 and abs(logf.std() - 2 / np.sqrt(12)) < 0.03
    assert 0 <= phases.min() and phases.max() <= 2 * np.pi


def test_sin_of_huge_inputs_stays_periodic():
    f = ACTIVATIONS["sin"](np.random.default_rng(0))
    x = np.float32(1000.0) + np.float32(2 * np.pi) * np.arange(3, dtype=np.float32)
    y = f(x)
    np.testing.assert_allclose(y, np.sin(np.float32(1000.0)), atol=1e-3)


@pytest.mark.parametrize("name", INIT_NAMES)
def test_inits_shapes_and_scale(name):
    w, scheme, rho = random_weight(np.random.default_rng(0), 64, 32, (name,), (1.0, 1.0))
    assert scheme == name and rho == 1.0
    assert w.shape == (64, 32) and w.dtype == np.float32
    assert np.isfinite(w).all() and w.std() > 0
    if name == "trunc_normal":
        assert np.abs(w).max() <= 2
    if name == "sparse":
        assert ((w == 0).sum(axis=0) >= 32).all()


@pytest.mark.parametrize("rows, cols", [(1, 32), (32, 32), (32, 1), (7, 32)])
def test_init_scales_follow_torch_on_the_in_out_matrix(rows, cols):
    # a weight is an (in, out) matrix and torch takes fan_in from its second dimension:
    # kaiming std √(2 / cols), xavier √(2 / (rows + cols)), trunc_normal N(0, 1) in
    # [-2, 2], sparse N(0, 0.01) with ⌈rows / 2⌉ zeros per column
    rng = np.random.default_rng(5)
    shapes = [(rows, cols)] * (20_000 // (rows * cols) + 1)
    expected = {
        "kaiming_normal": np.sqrt(2 / cols),
        "kaiming_uniform": np.sqrt(2 / cols),
        "xavier_normal": np.sqrt(2 / (rows + cols)),
        "xavier_uniform": np.sqrt(2 / (rows + cols)),
        "trunc_normal": 0.8796,  # std of N(0, 1) truncated to [-2, 2]
    }
    for name, std in expected.items():
        w = np.stack([m for m, _, _ in random_weights(rng, shapes, (name,))])
        assert abs(w.std() / std - 1) < 0.03, name
    w = np.stack([m for m, _, _ in random_weights(rng, shapes, ("sparse",))])
    zeros = int(np.ceil(rows / 2))
    assert ((w == 0).sum(axis=1) == zeros).all()
    kept = w[w != 0]
    if kept.size:
        assert abs(kept.std() / 0.01 - 1) < 0.05


def test_density_mask_and_rescale():
    w, _, rho = random_weight(np.random.default_rng(0), 200, 200, ("kaiming_uniform",), (0.3, 0.3))
    assert rho == 0.3
    assert abs((w != 0).mean() - 0.3) < 0.02
    # rescaled by 1/ρ: nonzero magnitudes exceed the unmasked bound sqrt(6 / fan_in)
    assert np.abs(w).max() > np.sqrt(6 / 200)


def test_random_mlp_layers_and_determinism():
    priors = FeaturePriors()
    for seed in range(10):
        mlp = RandomMLP(np.random.default_rng(seed), 1, 32, priors)
        assert 2 <= len(mlp.weights) <= 4
        assert len(mlp.activation_names) == len(mlp.weights) - 1
        assert all(a in ACTIVATION_NAMES for a in mlp.activation_names)
        x = np.random.default_rng(0).standard_normal((100, 1)).astype(np.float32) * 100
        y = mlp(x)
        assert y.shape == (100, 32) and y.dtype == np.float32 and np.isfinite(y).all()
        again = RandomMLP(np.random.default_rng(seed), 1, 32, priors)
        np.testing.assert_array_equal(again(x), y)


def test_encoders_and_decoders():
    priors = FeaturePriors()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(300).astype(np.float32)
    assert NumericalEncoder(rng, priors)(x).shape == (300, 32)
    enc = CategoricalEncoder(rng, 5, priors)
    codes = rng.integers(0, 5, 300)
    np.testing.assert_array_equal(enc(codes), enc.mlp(enc.embedding)[codes])
    h = rng.standard_normal((300, 32)).astype(np.float32)
    assert NumericalDecoder(rng, priors)(h).shape == (300,)
    dec = CategoricalDecoder(rng, 7, priors)
    out = dec(h)
    assert out.shape == (300,) and out.min() >= 0 and out.max() <= 6


@pytest.mark.parametrize("in_dim, out_dim", [(1, 32), (32, 32), (32, 1), (1, 1)])
def test_stacked_mlps_equal_one_at_a_time(in_dim, out_dim):
    # depths 1..4 mixed, so members leave the stack at different layers
    priors = FeaturePriors(mlp_layers=(1, 4))
    rng = np.random.default_rng(in_dim * 100 + out_dim)
    mlps = random_mlps(rng, 40, in_dim, out_dim, priors)
    assert {len(m.weights) for m in mlps} == {1, 2, 3, 4}
    shared = (rng.standard_normal((1, 300, in_dim)) * 10).astype(np.float32)
    own = (rng.standard_normal((40, 300, in_dim)) * 10).astype(np.float32)
    a = evaluate_mlps(mlps, shared)
    b = evaluate_mlps(mlps, own)
    # unit-scale inputs for the comparison with the plain definition below: with large
    # ones, a periodic activation (sin, random_sines) turns the rounding differences of
    # folding the scales into the weights into visible ones
    c = evaluate_mlps(mlps, own / 10)
    assert a.shape == b.shape == c.shape == (40, 300, out_dim)
    for i, m in enumerate(mlps):
        np.testing.assert_array_equal(a[i], m(shared[0]))
        np.testing.assert_array_equal(b[i], m(own[i]))
        # and the plain definition: layer by layer, activation after all but the last
        x = own[i] / 10
        for w, act in zip(m.weights[:-1], m.activations, strict=True):
            x = act(x @ w)
        np.testing.assert_allclose(c[i], x @ m.weights[-1], rtol=1e-4, atol=1e-3 * (1 + np.abs(c[i]).max()))


def test_random_weights_batch_follows_the_scheme_distribution():
    shapes = [(32, 32)] * 600 + [(1, 32)] * 300 + [(7, 32)] * 300
    out = random_weights(np.random.default_rng(0), shapes, INIT_NAMES, (0.3, 1.0))
    assert [w.shape for w, _, _ in out] == shapes
    schemes = [s for _, s, _ in out]
    counts = np.array([schemes.count(name) for name in INIT_NAMES])
    assert counts.min() > 0.6 * len(shapes) / len(INIT_NAMES)
    rhos = np.array([r for _, _, r in out])
    assert 0.3 <= rhos.min() and rhos.max() <= 1.0 and abs(rhos.mean() - 0.65) < 0.03
    # kaiming normal on 32 inputs: std sqrt(2/32) before the mask; masked share 1 - ρ,
    # rescaled by 1/ρ, so E[w²] = (2/32)/ρ
    kn = [
        (w, r)
        for (w, s, r), shape in zip(out, shapes, strict=True)
        if s == "kaiming_normal" and shape == (32, 32)
    ]
    ratio = np.mean([np.mean(w**2) * r / (2 / 32) for w, r in kn])
    assert 0.9 < ratio < 1.1
    zeros = np.mean([np.mean(w == 0) - (1 - r) for w, r in kn])
    assert abs(zeros) < 0.02


def test_matmul_rows_equals_matmul():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5000, 32)).astype(np.float32)
    w = rng.standard_normal((32, 32)).astype(np.float32)
    np.testing.assert_allclose(matmul_rows(x, w), x @ w, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", AGGREGATION_NAMES)
def test_aggregations_match_float64_reference(name):
    stack = np.random.default_rng(0).uniform(-2, 2, (5, 40, 8)).astype(np.float32)
    ref = {
        "sum": lambda s: s.sum(0),
        "max": lambda s: s.max(0),
        "product": lambda s: s.prod(0),
        "logsumexp": lambda s: np.log(np.exp(s).sum(0)),
    }[name](stack.astype(np.float64))
    out = aggregate(name, stack, 1e4)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", AGGREGATION_NAMES)
def test_aggregations_clamp_their_inputs_only_and_never_overflow(name):
    # the stack is clamped to ± 1e4 before AGG; the aggregated value is not clamped again
    # (a product saturates at ±1e30)
    stack = np.full((60, 10, 4), 3e30, dtype=np.float32)
    stack[::2] *= -1
    stack[5, 0, 0] = 0.0
    out = aggregate(name, stack, 1e4)
    assert np.isfinite(out).all()
    expected = {"sum": 0.0, "max": 1e4, "logsumexp": 1e4 + np.log(30)}
    if name == "product":
        assert out[0, 0] == 0
        np.testing.assert_allclose(out[1, 0], 1e30, rtol=1e-5)
    else:
        np.testing.assert_allclose(out[1], expected[name], rtol=1e-6)
    small = np.full((3, 2, 2), 50.0, dtype=np.float32)
    if name == "product":
        np.testing.assert_allclose(aggregate(name, small, 1e4), 125_000.0, rtol=1e-5)
    elif name == "sum":
        np.testing.assert_allclose(aggregate(name, small * 100, 1e4), 15_000.0)


def _gathered_reference(name, tables, codes, partial, clamp):
    """Per-row float64 aggregation of the gathered table rows (and the partial values)."""
    stack = np.stack([t[c] for t, c in zip(tables, codes, strict=True)] + partial).astype(np.float64)
    stack = np.clip(stack, -clamp, clamp)
    if name == "sum":
        out = stack.sum(0)
    elif name == "max":
        out = stack.max(0)
    elif name == "product":
        out = stack.prod(0)
    else:
        m = stack.max(0)
        out = m + np.log(np.exp(stack - m).sum(0))
    return out


@pytest.mark.parametrize("name", AGGREGATION_NAMES)
@pytest.mark.parametrize("spread, clamp", [(2.0, 1e4), (5e3, 1e4), (1e29, 1e30)])
def test_gathered_aggregation_matches_per_row_reference(name, spread, clamp):
    # tables of different sizes, codes per row, a partial state from parent tables, and
    # values spread widely (logsumexp must neither underflow nor overflow)
    rng = np.random.default_rng(1)
    rows, d = 700, 8
    tables = [rng.uniform(-spread, spread, (k, d)).astype(np.float32) for k in (3, 256, 1, 40)]
    tables[1][5] = 0.0  # an exact zero factor for product
    codes = [rng.integers(0, t.shape[0], rows) for t in tables]
    partial_values = rng.uniform(-spread, spread, (rows, d)).astype(np.float32)
    a = Aggregator(name, clamp)
    partial = a.start(partial_values)  # the partial in Aggregator form
    noise = rng.uniform(0, 0.01, (rows, d)).astype(np.float32)
    gathered = GatheredAggregation(name, tables, codes, clamp, partial)
    out = np.concatenate([gathered.rows(r0, noise[r0 : r0 + 100]) for r0 in range(0, rows, 100)])
    assert out.dtype == np.float32 and np.isfinite(out).all()
    ref = _gathered_reference(name, tables, codes, [partial_values], clamp)
    if name == "product":
        ref = np.clip(ref, -1e30, 1e30)  # the saturation
    ref = ref + noise
    np.testing.assert_allclose(out, ref, rtol=2e-4, atol=1e-3 if name == "product" else 1e-4)
    # the same rows in one piece: identical (rows never depend on their chunk)
    np.testing.assert_array_equal(gathered.rows(0, noise), out)


@pytest.mark.parametrize("name", AGGREGATION_NAMES)
def test_gathered_aggregation_over_one_laid_out_buffer_is_the_same_fold(name):
    # the per-row path: a chunk's encodings and the tabled parents' tables in one buffer,
    # per-row parents reading it through row numbers shifted by negative offsets
    rng = np.random.default_rng(7)
    rows, d, r0, m = 900, 8, 512, 256
    tables = [rng.uniform(-20, 20, (k, d)).astype(np.float32) for k in (5, m, 40, m)]
    codes = [rng.integers(0, 5, rows), np.arange(rows) % m, rng.integers(0, 40, rows), np.arange(rows) % m]
    partial = PreparedPartial.from_state(name, Aggregator(name, 1e4).start(rng.uniform(-3, 3, (rows, d))))
    noise = rng.uniform(0, 0.01, (m, d)).astype(np.float32)
    # row r of the chunk reads row r - r0 of the encodings: the list form, for the chunk
    chunk_codes = [c[r0 : r0 + m] for c in codes]
    chunk_codes[1] = chunk_codes[3] = np.arange(m)
    want = GatheredAggregation(name, tables, chunk_codes, 1e4, partial.row_range(r0, r0 + m)).rows(0, noise)
    buffer = np.concatenate([tables[1], tables[3], tables[0], tables[2]])
    all_codes = np.stack([codes[0], codes[2], np.arange(rows)]).astype(np.int32)
    offsets = np.array([2 * m, 0 - r0, 2 * m + 5, m - r0])
    before = buffer.copy()
    fold = GatheredAggregation.of_values(name, buffer, offsets, all_codes, [0, 2, 1, 2], 1e4, partial)
    np.testing.assert_array_equal(fold.rows(r0, noise), want)
    np.testing.assert_array_equal(buffer, before)  # read, never written


@pytest.mark.parametrize("name", list(AGGREGATIONS))
def test_gathered_state_is_the_aggregator_fold(name):
    # parent-table conditioning folds a parent's columns with the compiled fold stopped
    # before its clip and noise: the same state the streaming Aggregator gives
    rng = np.random.default_rng(4)
    rows, d, clamp = 600, 8, 1e4
    tables = [rng.uniform(-30, 30, (k, d)).astype(np.float32) for k in (5, 256, 1, 17)]
    tables[1][3] = 0.0  # an exact zero factor for product
    codes = [rng.integers(0, t.shape[0], rows) for t in tables]
    state = GatheredAggregation(name, tables, codes, clamp).state(rows)
    a = Aggregator(name, clamp)
    ref = a.start(tables[0][codes[0]])
    for t, q in zip(tables[1:], codes[1:], strict=True):
        a.add(ref, t[q])
    if name == "logsumexp":
        # its value (state [v, 1]) rather than the running (max, sum) pair
        np.testing.assert_array_equal(state[1], 1)
        np.testing.assert_allclose(state[0], ref[0] + np.log(ref[1]), rtol=1e-6, atol=1e-5)
    else:
        assert len(state) == len(ref)
        for got, want in zip(state, ref, strict=True):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(a.finish(state), a.finish(ref), rtol=1e-6, atol=1e-5)


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="aggregation"):
        aggregate("mean", np.zeros((1, 1, 1), np.float32))
    with pytest.raises(ValueError, match="activation"):
        random_activation(np.random.default_rng(0), ("swish",))
    with pytest.raises(ValueError, match="init"):
        random_weight(np.random.default_rng(0), 2, 2, ("orthogonal",))


def test_kernel_exp_and_powers_of_two_are_exact_enough():
    from numba import njit

    from plurel_core import mechanisms

    @njit
    def run(a, k):
        e = np.empty_like(a)
        p = np.empty(k.shape[0])
        for i in range(a.shape[0]):
            e[i] = mechanisms._exp(a[i])
        for i in range(k.shape[0]):
            p[i] = mechanisms._pow2_neg(k[i])
        return e, p

    k = np.arange(1100, dtype=np.float32)
    # the kernel's range (log-magnitudes between -87 and log(clamp) <= log(1e30))
    near = np.concatenate([np.linspace(-87, 70, 200_001), [0.0, 9.2103, 1e-12, -1e-12]])
    e, p = run(near, k)
    np.testing.assert_allclose(e, np.exp(near), rtol=2e-14, atol=0)
    far = np.linspace(-708, 709, 200_001)
    np.testing.assert_allclose(run(far, k)[0], np.exp(far), rtol=2e-13, atol=0)
    # 2^-k exactly while it is a normal float64, then +0
    np.testing.assert_array_equal(p[:1023], np.ldexp(1.0, -np.arange(1023)))
    assert (p[1023:] == 0).all()


def test_kernel_log2_is_exact_enough():
    from numba import njit

    from plurel_core import mechanisms

    @njit(error_model="numpy")
    def run(a):
        out = np.empty_like(a)
        for i in range(a.shape[0]):
            out[i] = mechanisms._log2(a[i])
        return out

    # the kernel's range (a sum of mantissas in [1, 2) over the parents: 1 up to a few
    # hundred), the mantissa split point √2 on both sides, exact powers of two, and the
    # whole normal float64 range
    rng = np.random.default_rng(0)
    sqrt2 = np.sqrt(2.0)
    near = np.concatenate(
        [np.linspace(1.0, 512.0, 400_001), [sqrt2, np.nextafter(sqrt2, 0), np.nextafter(sqrt2, 2)]]
    )
    np.testing.assert_allclose(run(near), np.log2(near), rtol=1e-15, atol=1e-15)
    powers = np.ldexp(1.0, np.arange(-1022, 1024))
    np.testing.assert_array_equal(run(powers), np.arange(-1022, 1024, dtype=np.float64))
    wide = np.exp(rng.uniform(-700, 700, 200_000))
    np.testing.assert_allclose(run(wide), np.log2(wide), rtol=1e-15, atol=2e-13)
