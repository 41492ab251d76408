"""Distances between sets of features (as TF-GAN's ``classifier_metrics`` splits them from the
feature extractor): any extractor's [N, D] features plug in.

NumPy only, float64 throughout: the statistics are small and the matrix square root wants
the precision.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np


@dataclasses.dataclass(frozen=True)
class Statistics:
    """Mean and covariance of a feature set (what FID needs; cacheable for real data)."""

    mean: np.ndarray
    covariance: np.ndarray
    count: int


def feature_statistics(features: np.ndarray) -> Statistics:
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"features must be [N >= 2, D], got shape {features.shape}")
    if len(features) < features.shape[1]:
        warnings.warn(
            f"{len(features)} samples for {features.shape[1]}-d features: the covariance is "
            "rank-deficient and FID is biased upwards; use at least as many samples as dimensions",
            stacklevel=2,
        )
    return Statistics(features.mean(0), np.cov(features, rowvar=False), len(features))


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(first: Statistics, second: Statistics) -> float:
    """``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (Heusel et al. 2017, "GANs Trained by
    a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", eq. 6).

    The trace of (S1 S2)^(1/2) equals that of (A S2 A)^(1/2) with A = S1^(1/2), a symmetric
    PSD matrix whose square root comes from ``eigh`` with negative round-off clipped: no
    complex values, no failing iteration, which is what makes the usual sqrtm route unstable.
    """
    root = _psd_sqrt(first.covariance)
    middle = root @ second.covariance @ root
    trace_sqrt = float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None))))
    mean_term = float(np.sum((first.mean - second.mean) ** 2))
    return mean_term + float(np.trace(first.covariance) + np.trace(second.covariance)) - 2 * trace_sqrt


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kernel_distance(
    real: np.ndarray, fake: np.ndarray, subset_size: int = 1000, subsets: int = 100, seed: int = 0
) -> tuple[float, float]:
    """KID: unbiased MMD^2 with the cubic kernel ``(x.y / d + 1)^3``, mean and std over subsets.

    Binkowski et al. 2018, "Demystifying MMD GANs", sec. 4 / appendix. The unbiased estimate
    leaves out the kernel's diagonal, so it is 0 in expectation for equal distributions and
    may be negative on one subset.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(subsets):
        x = real[rng.choice(len(real), size, replace=False)]
        y = fake[rng.choice(len(fake), size, replace=False)]
        kxx, kyy, kxy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
        off_diagonal = size * (size - 1)
        estimates.append(
            (kxx.sum() - np.trace(kxx)) / off_diagonal
            + (kyy.sum() - np.trace(kyy)) / off_diagonal
            - 2 * kxy.mean()
        )
    return float(np.mean(estimates)), float(np.std(estimates))


def classifier_score(probabilities: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """``exp(E_x KL(p(y|x) || p(y)))`` over ``splits`` parts, mean and std.

    Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 4 (the Inception
    score); with a domain classifier in place of Inception it is a classifier score.
    """
    probabilities = np.asarray(probabilities, np.float64)
    scores = []
    for part in np.array_split(probabilities, splits):
        marginal = part.mean(0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(math.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _pairwise_squared(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    squared = (x**2).sum(1)[:, None] + (y**2).sum(1)[None] - 2 * x @ y.T
    return np.clip(squared, 0, None)


def _row_chunks(count: int, size: int = 1000):
    return (slice(start, min(start + size, count)) for start in range(0, count, size))


def _kth_distances(points: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """The distance from each point to its k-th nearest reference point (k = 0: the nearest)."""
    # In chunks of rows of at most ~10 M distances (80 MB): 10,000 samples against 60,000
    # training images would otherwise need a 4.8 GB distance matrix.
    size = max(1, 10_000_000 // max(1, len(reference)))
    return np.concatenate([
        np.sqrt(np.partition(_pairwise_squared(points[rows], reference), k, axis=1)[:, k])
        for rows in _row_chunks(len(points), size)
    ])


def _kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    # Column 0 of each sorted row is the point itself.
    return _kth_distances(features, features, k)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019, sec. 2, k = 3).

    Each set's manifold is the union of balls around its points reaching their k-th nearest
    neighbour. Precision: share of fakes inside the real manifold (quality); recall: share of
    reals inside the fake manifold (coverage).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if len(real) <= k or len(fake) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")

    def covered(points, support):
        radii_squared = _kth_neighbour_radii(support, k)[None] ** 2
        inside = [np.any(_pairwise_squared(points[rows], support) <= radii_squared, axis=1)
                  for rows in _row_chunks(len(points))]
        return float(np.mean(np.concatenate(inside)))

    return covered(fake, real), covered(real, fake)


@dataclasses.dataclass(frozen=True)
class Copying:
    """How close generated samples come to the training set, against held-out real images."""

    share: float  # of the samples, at most ``threshold`` from a training example
    real_share: float  # of held-out real examples (not those that set the threshold), the same
    threshold: float  # the ``quantile`` of held-out examples' nearest-training distances
    z_u: float  # Meehan et al.'s Z_U: < 0 samples nearer to training than held-out data is


def _mann_whitney_z(first: np.ndarray, second: np.ndarray) -> float:
    """The normal approximation of the Mann-Whitney U statistic that ``first`` exceeds
    ``second`` (ties count half): 0 when the two samples come from one distribution."""
    combined = np.concatenate([first, second])
    order = np.argsort(combined, kind="mergesort")
    ranks = np.empty(len(combined))
    ranks[order] = np.arange(1, len(combined) + 1)
    # Tied values share their mean rank.
    _, inverse = np.unique(combined, return_inverse=True)
    ranks = (np.bincount(inverse, ranks) / np.bincount(inverse))[inverse]
    m, n = len(first), len(second)
    u = ranks[:m].sum() - m * (m + 1) / 2
    return float((u - m * n / 2) / math.sqrt(m * n * (m + n + 1) / 12))


def copying(train: np.ndarray, heldout: np.ndarray, fake: np.ndarray, quantile: float = 0.1, seed: int = 0) -> Copying:
    """Memorisation: the share of generated samples nearer (in feature space) to a training
    example than all but ``quantile`` of held-out real examples are, with the held-out
    examples' own share beside it, and Meehan et al.'s data-copying statistic.

    A generator that copies its training data puts samples at distance ~0 from training
    examples; held-out data, which the generator is meant to resemble, sets what "near" is:
    the threshold is the ``quantile`` of the nearest-training distances of one random half of
    ``heldout``, and ``real_share`` is the share of the other half under it (about
    ``quantile``: the figure a generator that makes new examples stays near). ``z_u`` is the
    Mann-Whitney statistic of Meehan, Chaudhuri & Dasgupta 2020 ("A Non-Parametric Test to
    Detect Data-Copying in Generative Models", sec. 3, Z_U, here over one cell): it compares
    the samples' nearest-training distances with all held-out examples'; strongly negative
    means closer to the training set than new data is (copying), positive means farther (the
    samples are off the data, which FID and precision see better).
    """
    train, heldout, fake = (np.asarray(x, np.float64) for x in (train, heldout, fake))
    if len(heldout) < 4 or len(train) < 1 or len(fake) < 1:
        raise ValueError(f"copying needs training examples, at least 4 held-out ones and samples; got "
                         f"{len(train)}, {len(heldout)}, {len(fake)}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    # Distances within float rounding of 0 are 0: an exact copy is then nearer than or as
    # near as anything (``<=`` below), also where held-out examples repeat training ones.
    tolerance = 1e-5 * float(np.sqrt(np.mean(np.sum(train**2, axis=1))))
    fake_distances, heldout_distances = (
        np.where(distances < tolerance, 0.0, distances) for distances in
        (_kth_distances(fake, train, 0), _kth_distances(heldout, train, 0))
    )
    order = np.random.default_rng(seed).permutation(len(heldout))
    sets_threshold, judged = heldout_distances[order[: len(order) // 2]], heldout_distances[order[len(order) // 2 :]]
    threshold = float(np.quantile(sets_threshold, quantile))
    return Copying(
        share=float(np.mean(fake_distances <= threshold)),
        real_share=float(np.mean(judged <= threshold)),
        threshold=threshold,
        z_u=_mann_whitney_z(fake_distances, heldout_distances),
    )
