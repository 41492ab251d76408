"""Metric functions against independent computations."""

import itertools
import math

import numpy as np
import pytest

from tfgan_app.data import TOY_DISTRIBUTIONS
from tfgan_app.metrics import (
    Statistics, classifier_score, copying, feature_statistics, frechet_distance, kernel_distance,
    ks_statistic, mode_metrics, precision_recall, wasserstein_1d,
)
from tfgan_app.metrics.distances import _mann_whitney_z


def random_covariance(rng, dim):
    a = rng.standard_normal((dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def test_fid_of_identical_sets_is_zero():
    features = np.random.default_rng(0).standard_normal((500, 8))
    stats = feature_statistics(features)
    assert abs(frechet_distance(stats, stats)) < 1e-8


def test_fid_matches_closed_form_for_diagonal_gaussians():
    mean1, mean2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mean1 - mean2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    value = frechet_distance(Statistics(mean1, np.diag(var1), 10), Statistics(mean2, np.diag(var2), 10))
    assert value == pytest.approx(expected, rel=1e-10)


def test_fid_matches_eigenvalues_of_the_covariance_product():
    # Independent route: tr sqrt(S1 S2) = sum of sqrt of the (real, positive) eigenvalues of S1 S2.
    rng = np.random.default_rng(1)
    s1, s2 = random_covariance(rng, 6), random_covariance(rng, 6)
    m1, m2 = rng.standard_normal(6), rng.standard_normal(6)
    trace_sqrt = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).real))
    expected = np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert frechet_distance(Statistics(m1, s1, 6), Statistics(m2, s2, 6)) == pytest.approx(expected, rel=1e-8)


def test_fid_from_samples_approaches_the_population_value():
    rng = np.random.default_rng(2)
    real = rng.standard_normal((20000, 4))
    fake = rng.standard_normal((20000, 4)) * 2 + 1  # mean 1, variance 4
    expected = 4 * 1.0 + 4 * (1 - 2) ** 2  # |dmu|^2 + sum (1 - 2)^2
    assert frechet_distance(feature_statistics(real), feature_statistics(fake)) == pytest.approx(expected, rel=0.05)


def test_fid_warns_when_samples_are_fewer_than_dimensions():
    with pytest.warns(UserWarning, match="rank-deficient"):
        feature_statistics(np.random.default_rng(0).standard_normal((10, 32)))


def _brute_force_mmd(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    xy = sum(k(a, b) for a in x for b in y) / (n * m)
    return xx + yy - 2 * xy


def test_kid_matches_brute_force_unbiased_mmd():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((12, 5)), rng.standard_normal((12, 5)) + 0.5
    mean, std = kernel_distance(x, y, subset_size=12, subsets=3)
    assert mean == pytest.approx(_brute_force_mmd(x, y), rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)  # every subset is the whole set


def test_kid_is_unbiased_for_equal_distributions_and_positive_otherwise():
    rng = np.random.default_rng(4)
    estimates = [kernel_distance(rng.standard_normal((100, 4)), rng.standard_normal((100, 4)),
                                 subset_size=100, subsets=1, seed=s)[0] for s in range(300)]
    # Unbiased: the mean of many independent estimates is ~0 (some estimates are negative).
    assert abs(np.mean(estimates)) < 3 * np.std(estimates) / math.sqrt(len(estimates))
    assert min(estimates) < 0
    shifted = kernel_distance(rng.standard_normal((500, 4)), rng.standard_normal((500, 4)) + 1)[0]
    assert shifted > 10 * np.std(estimates)


def test_classifier_score_bounds():
    uniform = np.full((1000, 10), 0.1)
    assert classifier_score(uniform)[0] == pytest.approx(1.0)
    confident_balanced = np.eye(10)[np.arange(1000) % 10]
    assert classifier_score(confident_balanced)[0] == pytest.approx(10.0, rel=1e-6)
    collapsed = np.eye(10)[np.zeros(1000, int)]
    assert classifier_score(collapsed)[0] == pytest.approx(1.0, rel=1e-6)


def test_precision_recall_separates_quality_from_coverage():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((400, 2))
    assert precision_recall(real, real) == (1.0, 1.0)
    far = rng.standard_normal((400, 2)) + 50
    assert precision_recall(real, far) == (0.0, 0.0)
    # A collapsed generator: all fakes in one small region of the real data.
    collapsed = 0.05 * rng.standard_normal((400, 2))
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.95 and recall < 0.2


def test_copying_finds_copies_and_leaves_new_samples_at_the_held_out_share():
    rng = np.random.default_rng(6)
    train, heldout, new = (rng.standard_normal((n, 8)) for n in (3000, 1000, 2000))
    fresh = copying(train, heldout, new, quantile=0.1)
    # New draws of the data: as near to the training set as held-out data is.
    assert abs(fresh.share - 0.1) < 0.04 and abs(fresh.real_share - 0.1) < 0.04
    assert abs(fresh.z_u) < 3
    # A generator that copies a quarter of its samples from the training set (tiny noise).
    copies = np.concatenate([train[:500] + 1e-3 * rng.standard_normal((500, 8)), new[:1500]])
    copied = copying(train, heldout, copies, quantile=0.1)
    assert copied.share > 0.25 + 0.75 * 0.05 and copied.z_u < -5
    assert copied.threshold == fresh.threshold and copied.real_share == fresh.real_share
    # Samples off the data are far from every training example: no copies, Z_U positive.
    far = copying(train, heldout, new + 10)
    assert far.share == 0.0 and far.z_u > 10
    # Exact copies are found also where held-out examples repeat training ones (distance 0).
    repeated = copying(train, np.concatenate([train[:200], heldout[:200]]), train[1000:1100])
    assert repeated.threshold == 0.0 and repeated.share == 1.0
    with pytest.raises(ValueError, match="quantile"):
        copying(train, heldout, new, quantile=1.0)


def test_mann_whitney_z_matches_the_count_of_pairs():
    rng = np.random.default_rng(7)
    first, second = rng.integers(0, 5, 40).astype(float), rng.integers(1, 6, 30).astype(float)
    pairs = (first[:, None] > second[None]).sum() + 0.5 * (first[:, None] == second[None]).sum()
    m, n = len(first), len(second)
    expected = (pairs - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12)
    assert _mann_whitney_z(first, second) == pytest.approx(expected)


def test_mode_metrics_on_hand_made_samples():
    ring = TOY_DISTRIBUTIONS["ring"]
    perfect = np.repeat(ring.modes, 10, axis=0)
    result = mode_metrics(perfect, ring.modes, ring.sigma)
    assert (result.modes_covered, result.high_quality, result.reverse_kl, result.far_from_modes) == (8, 1.0, 0.0, 0.0)
    half = np.repeat(ring.modes[:4], 10, axis=0)
    result = mode_metrics(half, ring.modes, ring.sigma)
    assert result.modes_covered == 4 and result.reverse_kl == pytest.approx(math.log(2))
    # 3 sigma: 0.029 away is high quality, 0.031 is not.
    off = ring.modes[:2] + np.array([[0.029, 0.0], [0.031, 0.0]])
    result = mode_metrics(off, ring.modes, ring.sigma)
    assert result.high_quality == 0.5 and result.modes_covered == 1
    # 6 sigma: 0.059 away is near its mode, 0.061 is far from every mode (the ring's modes are
    # 0.77 apart), as is the centre.
    near_and_far = np.concatenate([ring.modes[:2] + np.array([[0.059, 0.0], [0.061, 0.0]]), np.zeros((2, 2))])
    assert mode_metrics(near_and_far, ring.modes, ring.sigma).far_from_modes == 0.75
    assert mode_metrics(np.zeros((5, 2)), ring.modes, ring.sigma).reverse_kl == math.inf


def test_one_dimensional_distances():
    toy = TOY_DISTRIBUTIONS["gaussian_1d"]
    assert ks_statistic(np.array([4.0]), toy.modes, toy.sigma) == pytest.approx(0.5)
    rng = np.random.default_rng(6)
    good = rng.normal(4.0, 0.5, 20000)
    assert ks_statistic(good, toy.modes, toy.sigma) < 0.015
    assert ks_statistic(good + 1.0, toy.modes, toy.sigma) > 0.6
    assert wasserstein_1d(good + 0.3, good) == pytest.approx(0.3, abs=1e-9)
    assert wasserstein_1d(rng.normal(4.0, 0.5, 5000), rng.normal(4.0, 0.5, 7000)) < 0.03


def test_map_agreement_counts_pixels_and_averages_iou_over_present_classes():
    from tfgan_app.metrics.applications import map_agreement

    expected = np.array([[[0, 0, 1, 1]]])
    recomputed = np.array([[[0, 1, 1, 1]]])
    scores = map_agreement(expected, recomputed, classes=4)  # classes 2 and 3 absent from both: not averaged
    assert scores["pixel_accuracy"] == pytest.approx(0.75)
    assert scores["mean_iou"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert map_agreement(expected, expected, 4) == {"pixel_accuracy": 1.0, "mean_iou": 1.0}


def test_stacked_modes_count_triples_and_compare_with_uniform():
    from tfgan_app.metrics.toy import stacked_modes

    every = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    uniform = stacked_modes(np.concatenate([every, every]))
    assert (uniform.modes_covered, uniform.num_modes, uniform.samples) == (1000, 1000, 2000)
    assert uniform.reverse_kl == pytest.approx(0.0, abs=1e-12)
    collapsed = stacked_modes(np.array([[1, 2, 3]] * 50 + [[3, 2, 1]] * 50))
    assert collapsed.modes_covered == 2
    assert collapsed.reverse_kl == pytest.approx(math.log(500))  # two modes of 1000, half each


def test_retrieval_ranks_find_each_query_among_the_candidates():
    from tfgan_app.metrics.applications import retrieval_ranks

    candidates = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 20.0]])
    np.testing.assert_array_equal(retrieval_ranks(candidates + 0.1, candidates), [0, 0, 0])
    swapped = candidates[[1, 0, 2]]  # queries 0 and 1 land on each other's candidate
    np.testing.assert_array_equal(retrieval_ranks(swapped, candidates), [1, 1, 0])


def test_feature_correlation_reads_features_that_move_together():
    """TimeGAN's sines have independent features; copies of one feature (either sign)
    correlate 1, and a constant feature counts as uncorrelated rather than as NaN."""
    import tensorflow as tf

    from tfgan_app.data.tasks import sine_waves
    from tfgan_app.metrics.sequence import feature_correlation

    independent = sine_waves(tf.constant([3, 4], tf.int64), 2000, 12, 3).numpy()
    assert feature_correlation(independent) < 0.05
    first = independent[..., :1]
    assert feature_correlation(np.concatenate([first, first, 1 - first], axis=2)) == pytest.approx(1.0, abs=1e-3)
    # [a, a, constant]: of the three pairs only (0, 1) correlates; the constant's two count 0.
    with_constant = np.concatenate([first, first, np.full_like(first, 0.5)], axis=2)
    assert feature_correlation(with_constant) == pytest.approx(1 / 3, abs=1e-3)
    with pytest.raises(ValueError, match="at least 2 features"):
        feature_correlation(first)
