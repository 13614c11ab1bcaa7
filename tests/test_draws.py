"""Compiled random draws: ziggurat normals, uniforms, density masks and the random input
subsets of sparse inits."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy import stats

from plurel_core import draws
from plurel_core.draws import standard_normal, zero_random_inputs
from plurel_core.rng import stream_key
from plurel_core.vecmath import unit_power


def test_ziggurat_matches_the_standard_normal():
    z = standard_normal(np.random.default_rng(1), 2_000_000).astype(np.float64)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 * (1 / np.sqrt(z.size))
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)
    # the tail beyond the base layer (|z| > R) and the wedges are drawn by rejection:
    # their mass must still match the normal's
    for t in (1.0, 2.5, draws._R, 4.5):
        expected = 2 * stats.norm.sf(t)
        seen = np.count_nonzero(np.abs(z) > t)
        assert abs(seen - expected * z.size) < 5 * np.sqrt(expected * z.size) + 1, t
    assert np.abs(z).max() > draws._R  # the tail is reached


def test_ziggurat_is_a_function_of_the_stream():
    a = standard_normal(np.random.default_rng(7), (3, 50, 4))
    b = standard_normal(np.random.default_rng(7), (3, 50, 4))
    assert a.dtype == np.float32 and a.shape == (3, 50, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, standard_normal(np.random.default_rng(8), (3, 50, 4)))


def _one_word_later(seed: int) -> np.random.Generator:
    rng = np.random.default_rng(seed)
    rng.bit_generator.random_raw()
    return rng


@pytest.mark.parametrize(
    "draw",
    [
        lambda rng: standard_normal(rng, (40, 33)),
        lambda rng: draws.uniform(rng, 1000, -2.0, 3.0),
        lambda rng: draws.bernoulli_mask(rng, np.ones((3, 20, 10), np.float32), np.array([0.2, 0.5, 0.9])),
        lambda rng: zero_random_inputs(rng, np.ones((3, 20, 10), np.float32), 7),
    ],
    ids=["normal", "uniform", "mask", "subsets"],
)
def test_counter_based_draws_advance_the_generator_by_one_word(draw):
    # whatever the size and however many candidates the ziggurat rejected, the caller's
    # generator moves on by one word: what it draws next does not depend on the draw
    rng = np.random.default_rng(11)
    draw(rng)
    assert rng.bit_generator.state == _one_word_later(11).bit_generator.state


def test_ziggurat_rejections_are_finished_exactly():
    # about 1.5 % of first candidates are rejected and finish with the wedge and tail tests
    # (or fresh candidates): every value is a normal draw, none left unset
    key = np.uint64(12345)
    out = np.empty(200_000, np.float32)
    draws._normals(key, out, draws._ZIG_K, draws._ZIG_W, draws._ZIG_F)
    assert np.isfinite(out).all()
    first = np.empty_like(out)
    everything = np.full_like(draws._ZIG_K, np.iinfo(np.uint32).max)  # a fast path that accepts all
    draws._normals(key, first, everything, draws._ZIG_W, draws._ZIG_F)
    redrawn = out != first
    assert 0.005 < redrawn.mean() < 0.03
    # the slow path reaches the tail beyond the base layer's edge R
    assert (np.abs(out[redrawn]) > draws._R).any()


def test_uniform_covers_its_interval_evenly():
    u = draws.uniform(np.random.default_rng(4), (500, 400), -0.5, 1.5).astype(np.float64)
    assert u.shape == (500, 400)
    assert u.min() >= -0.5 and u.max() < 1.5
    assert stats.kstest(u.ravel(), "uniform", args=(-0.5, 2.0)).pvalue > 1e-3
    np.testing.assert_array_equal(
        draws.uniform(np.random.default_rng(4), (500, 400), -0.5, 1.5), u.astype(np.float32)
    )


def test_zero_random_inputs_zeros_a_uniform_subset_per_unit():
    rng = np.random.default_rng(5)
    count, fan_in, fan_out, zeros = 4000, 6, 5, 2
    w = np.ones((count, fan_in, fan_out), np.float32)
    zero_random_inputs(rng, w, zeros)
    zeroed = w == 0
    # exactly ``zeros`` inputs of every output unit
    assert (zeroed.sum(axis=1) == zeros).all()
    # each of the C(6, 2) = 15 subsets equally likely
    subsets = np.packbits(zeroed.transpose(0, 2, 1), axis=-1, bitorder="little")[..., 0].ravel()
    _, counts = np.unique(subsets, return_counts=True)
    assert len(counts) == 15
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("zeros", [0, 1, 32, 40])
def test_zero_random_inputs_edge_counts(zeros):
    w = np.ones((3, 32, 8), np.float32)
    zero_random_inputs(np.random.default_rng(0), w, zeros)
    assert ((w == 0).sum(axis=1) == min(zeros, 32)).all()


def test_zero_random_inputs_is_a_function_of_the_stream():
    a = np.ones((10, 32, 32), np.float32)
    b = np.ones_like(a)
    zero_random_inputs(np.random.default_rng(9), a, 16)
    zero_random_inputs(np.random.default_rng(9), b, 16)
    np.testing.assert_array_equal(a, b)
    c = np.ones_like(a)
    zero_random_inputs(np.random.default_rng(10), c, 16)
    assert not np.array_equal(a, c)


def test_bernoulli_mask_keeps_each_weight_with_its_matrix_density():
    density = np.array([0.3, 0.55, 0.9, 1.0])
    w = standard_normal(np.random.default_rng(2), (4, 200, 100))
    before = w.copy()
    draws.bernoulli_mask(np.random.default_rng(3), w, density)
    for c, rho in enumerate(density):
        kept = w[c] != 0
        p = np.round(rho * 65536) / 65536
        n = kept.size
        assert abs(kept.sum() - p * n) < 5 * np.sqrt(n * p * (1 - p)) + 1, rho
        # kept weights are rescaled by 1/ρ; dropped ones are zeros of the same sign
        np.testing.assert_array_equal(w[c][kept], before[c][kept] * np.float32(1 / rho))
        assert np.array_equal(np.signbit(w[c][~kept]), np.signbit(before[c][~kept]))
    # the mask is a function of the stream: the same generator state masks the same entries
    again = before.copy()
    draws.bernoulli_mask(np.random.default_rng(3), again, density)
    np.testing.assert_array_equal(again, w)
    # independent of the values: a mask of ones shows the kept set
    ones = np.ones_like(before)
    draws.bernoulli_mask(np.random.default_rng(3), ones, density)
    np.testing.assert_array_equal(ones != 0, w != 0)


def test_bernoulli_mask_needs_a_contiguous_float32_stack():
    w = np.ones((2, 4, 6), dtype=np.float32)
    with pytest.raises(ValueError, match="C-contiguous float32"):
        draws.bernoulli_mask(np.random.default_rng(0), w[:, :, ::2], np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="C-contiguous float32"):
        draws.bernoulli_mask(np.random.default_rng(0), w.astype(np.float64), np.array([0.5, 0.5]))


def test_counter_words_of_a_range_do_not_depend_on_how_it_is_cut():
    # the noise of a row chunk is made on its own, in any thread: every cut of a range
    # into pieces gives the same words as the whole range
    key = stream_key(3, "features", "table_1", "noise", 5)
    whole = draws.counter_words(key, 0, 10_000)
    assert whole.dtype == np.uint64
    for cuts in ([0, 1, 4096, 10_000], [0, 777, 778, 9_999, 10_000]):
        parts = [draws.counter_words(key, a, b - a) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        np.testing.assert_array_equal(np.concatenate(parts), whole)
    # their bytes (what the noise levels index) are uniform
    counts = np.bincount(whole.view(np.uint8), minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-4
    assert not np.array_equal(whole[:100], draws.counter_words(key + 1, 0, 100))


def test_stream_keys_are_stable_and_distinct():
    key = stream_key(0, "features", "table_3", "noise", 2)
    assert key == stream_key(0, "features", "table_3", "noise", 2)
    assert 0 <= key < 2**64
    others = {
        stream_key(s, "features", t, "noise", v)
        for s in (0, 1)
        for t in ("table_3", "table_4")
        for v in (2, 3)
    }
    assert len(others) == 8
    with pytest.raises(ValueError, match="seed"):
        stream_key(-1, "features")


@pytest.mark.parametrize(
    "alpha, beta", [(0.5, 0.5), (0.6, 3.0), (1.0, 1.0), (2.0, 0.7), (4.5, 1.2), (5.0, 5.0)]
)
def test_beta_values_follow_the_beta_distribution(alpha, beta):
    # shapes below 1 take the boosted gamma, the others the plain one; both must be exact
    values = draws.beta_values(stream_key(7, "beta", alpha, beta), 0, (20_000,), alpha, beta)
    assert values.dtype == np.float32 and np.all((values >= 0) & (values <= 1))
    assert stats.kstest(values.astype(np.float64), stats.beta(alpha, beta).cdf).pvalue > 1e-3
    scaled = draws.beta_values(stream_key(7, "beta", alpha, beta), 0, (20_000,), alpha, beta, 1 / 32)
    np.testing.assert_allclose(scaled, values / 32, rtol=1e-6)


def test_beta_values_of_a_range_do_not_depend_on_how_it_is_cut():
    key = stream_key(1, "features", "t", "noise", 3)
    whole = draws.beta_values(key, 0, (5_000,), 0.8, 2.5)
    parts = [draws.beta_values(key, a, (b - a,), 0.8, 2.5) for a, b in ((0, 1), (1, 2_048), (2_048, 5_000))]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@njit
def _beta_one_at_a_time(key, start, n, alpha, beta):
    # the gamma-ratio draw of each value alone: X's attempts, then Y's (continuing X's
    # words), then the boosts of shapes below 1
    out = np.empty(n, dtype=np.float64)
    bx, by = alpha < 1.0, beta < 1.0
    dx = (alpha + 1.0 if bx else alpha) - 1.0 / 3.0
    dy = (beta + 1.0 if by else beta) - 1.0 / 3.0
    for i in range(n):
        sub = draws._word(key, start + np.uint64(i + 1))
        x, t = draws._gamma_attempts(
            sub, 4, draws._word(sub, 1), dx, 1.0 / np.sqrt(9.0 * dx), draws._ZIG_K, draws._ZIG_W, draws._ZIG_F
        )
        y, t = draws._gamma_attempts(
            sub, t, draws._word(sub, 2), dy, 1.0 / np.sqrt(9.0 * dy), draws._ZIG_K, draws._ZIG_W, draws._ZIG_F
        )
        w3 = draws._word(sub, 3)
        if bx:
            x *= unit_power(draws._unit32(w3 & np.uint64(0xFFFFFFFF)), 1.0 / alpha)
        if by:
            y *= unit_power(draws._unit32(w3 >> np.uint64(32)), 1.0 / beta)
        out[i] = x / (x + y) if x + y > 0.0 else 0.5
    return out


@pytest.mark.parametrize("alpha, beta", [(0.5, 0.5), (0.6, 3.0), (2.5, 2.5), (4.5, 0.7), (0.05, 50.0)])
def test_beta_values_in_blocks_equal_the_draws_one_at_a_time(alpha, beta):
    # the kernel works in blocks (vectorised passes, a dense list of second chances, a few
    # full draws); every value must still be exactly the one-at-a-time draw, across block
    # edges and from any start
    key, start, n = stream_key(3, "beta-blocks", alpha, beta), 1_000, 3 * 256 + 41
    blocked = draws.beta_values(key, start, (n,), alpha, beta)
    expected = _beta_one_at_a_time(np.uint64(key), np.uint64(start), n, alpha, beta).astype(np.float32)
    np.testing.assert_array_equal(blocked, expected)
