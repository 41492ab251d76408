"""Mode coverage: the PacGAN mode protocol on toy distributions and on Stacked
Fashion-MNIST's 1,000 discrete modes, and 1-D distances."""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class ModeMetrics:
    modes_covered: int
    num_modes: int
    high_quality: float  # share of samples within 3 sigma of their nearest mode
    reverse_kl: float  # KL(p_hat || uniform) of the high-quality samples' mode histogram
    samples: int
    # Share of samples more than ``far_threshold`` sigma from every mode: not PacGAN's, but it
    # separates samples between modes (the bridges a continuous G draws) from wide modes.
    far_from_modes: float


def mode_metrics(
    samples: np.ndarray, modes: np.ndarray, sigma: float, threshold: float = 3.0, far_threshold: float = 6.0
) -> ModeMetrics:
    """The protocol of Lin et al. 2018 ("PacGAN", sec. 5.1, after VEEGAN): assign each sample
    to its nearest mode; it is high quality within ``threshold`` standard deviations; a mode is
    covered by at least one high-quality sample; reverse KL compares the high-quality samples'
    mode histogram with the uniform one (inf when none is high quality)."""
    samples, modes = np.asarray(samples, np.float64), np.asarray(modes, np.float64)
    distances = np.linalg.norm(samples[:, None, :] - modes[None], axis=2)
    nearest = distances.argmin(1)
    nearest_distance = distances[np.arange(len(samples)), nearest]
    good = nearest_distance <= threshold * sigma
    counts = np.bincount(nearest[good], minlength=len(modes))
    reverse_kl = reverse_kl_to_uniform(counts)
    return ModeMetrics(int((counts > 0).sum()), len(modes), float(good.mean()), reverse_kl, len(samples),
                       float(np.mean(nearest_distance > far_threshold * sigma)))


def reverse_kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p_hat || uniform) of a histogram over all the modes (inf when it is empty)."""
    counts = np.asarray(counts, np.float64)
    if counts.sum() == 0:
        return math.inf
    p_hat = counts / counts.sum()
    present = p_hat > 0
    return float(np.sum(p_hat[present] * np.log(p_hat[present] * len(counts))))


@dataclasses.dataclass(frozen=True)
class StackedModes:
    modes_covered: int  # of classes ** channels
    num_modes: int
    reverse_kl: float  # KL(p_hat || uniform) of the samples' mode histogram
    samples: int


def stacked_modes(channel_classes: np.ndarray, classes: int = 10) -> StackedModes:
    """The Stacked MNIST protocol (Metz et al. 2017; Srivastava et al. 2017, VEEGAN; Lin et
    al. 2018, PacGAN, sec. 5.2) from each sample's predicted class per channel ([n, 3] ints,
    a classifier applied to every channel): the mode is the triple, a mode is covered by at
    least one sample, and reverse KL compares the mode histogram with the uniform one."""
    channel_classes = np.asarray(channel_classes, np.int64)
    channels = channel_classes.shape[1]
    modes = sum(channel_classes[:, index] * classes ** (channels - 1 - index) for index in range(channels))
    counts = np.bincount(modes, minlength=classes**channels)
    return StackedModes(int((counts > 0).sum()), classes**channels, reverse_kl_to_uniform(counts), len(channel_classes))


def mixture_cdf(values: np.ndarray, modes: np.ndarray, sigma: float) -> np.ndarray:
    """CDF of an equal-weight 1-D Gaussian mixture."""
    values = np.asarray(values, np.float64)[:, None]
    centres = np.asarray(modes, np.float64).reshape(1, -1)
    z = (values - centres) / (sigma * math.sqrt(2))
    return np.mean(0.5 * (1 + np.vectorize(math.erf)(z)), axis=1)


def ks_statistic(samples: np.ndarray, modes: np.ndarray, sigma: float) -> float:
    """Kolmogorov-Smirnov statistic sup |F_n - F| of 1-D samples against the mixture."""
    ordered = np.sort(np.asarray(samples, np.float64).ravel())
    cdf = mixture_cdf(ordered, modes, sigma)
    n = len(ordered)
    upper = np.arange(1, n + 1) / n - cdf
    lower = cdf - np.arange(0, n) / n
    return float(max(upper.max(), lower.max()))


def wasserstein_1d(samples: np.ndarray, reference: np.ndarray) -> float:
    """W1 between two 1-D samples: the mean gap between their quantile functions."""
    first = np.sort(np.asarray(samples, np.float64).ravel())
    second = np.sort(np.asarray(reference, np.float64).ravel())
    levels = (np.arange(max(len(first), len(second))) + 0.5) / max(len(first), len(second))
    return float(np.mean(np.abs(np.quantile(first, levels) - np.quantile(second, levels))))
