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


def _kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    # In chunks of rows: 10,000 samples would otherwise need an 800 MB distance matrix.
    # Column 0 of each sorted row is the point itself.
    return np.concatenate([
        np.sqrt(np.partition(_pairwise_squared(features[rows], features), k, axis=1)[:, k])
        for rows in _row_chunks(len(features))
    ])


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
