"""The measures of pitch-conditioned sound generators, as GANSynth reports them (Engel et al.
2019, sec. 4.2), all on the pitch classifier (``networks.audio.pitch_classifier``; the
pinned one for the notes):

- pitch accuracy: the fraction of samples the classifier hears at the pitch asked for;
- pitch entropy: the mean entropy (nats) of the classifier's pitch distribution per sample,
  low when a note has one clear pitch;
- FID (and KID, precision/recall) on the classifier's features;
- NDB, the number of statistically different bins (Richardson & Weiss 2018): the real
  features clustered by k-means into K bins, each sample assigned to its nearest centre,
  and a bin counted when a two-proportion z-test finds the generated share different from
  the real one at significance 0.05. Reported as the count and as NDB/K; with fewer than
  10 K real clips, K is lowered to a tenth of them.
"""

from __future__ import annotations

import numpy as np

from tfgan_app.metrics.conditioning import class_agreement
from tfgan_app.metrics.report import image_rows, row

NDB_BINS = 50  # K, as GANSynth's table
NDB_SIGNIFICANCE_Z = 1.959964  # two-sided 0.05


def kmeans(features: np.ndarray, bins: int, seed: int = 0, iterations: int = 50) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding (Arthur & Vassilvitskii 2007), deterministic in
    ``seed``: the [bins, D] centres."""
    rng = np.random.default_rng(seed)
    data = np.asarray(features, np.float64)
    if len(data) < bins:
        raise ValueError(f"k-means into {bins} bins needs at least {bins} examples, got {len(data)}")
    centres = [data[rng.integers(len(data))]]
    nearest = np.sum((data - centres[0]) ** 2, axis=1)
    for _ in range(bins - 1):
        chosen = rng.choice(len(data), p=nearest / nearest.sum()) if nearest.sum() > 0 else rng.integers(len(data))
        centres.append(data[chosen])
        nearest = np.minimum(nearest, np.sum((data - data[chosen]) ** 2, axis=1))
    centres = np.stack(centres)
    for _ in range(iterations):
        assignment = nearest_centre(data, centres)
        moved = np.stack([data[assignment == k].mean(0) if np.any(assignment == k) else centres[k] for k in range(bins)])
        if np.allclose(moved, centres):
            break
        centres = moved
    return centres


def nearest_centre(features: np.ndarray, centres: np.ndarray) -> np.ndarray:
    squared = (np.sum(features**2, 1)[:, None] - 2 * features @ centres.T + np.sum(centres**2, 1)[None, :])
    return np.argmin(squared, axis=1)


def different_bins(real: np.ndarray, fake: np.ndarray, bins: int = NDB_BINS, seed: int = 0) -> tuple[int, np.ndarray]:
    """(NDB, per bin the z statistic of the generated share against the real share)."""
    centres = kmeans(real, bins, seed)
    real_counts = np.bincount(nearest_centre(np.asarray(real, np.float64), centres), minlength=bins)
    fake_counts = np.bincount(nearest_centre(np.asarray(fake, np.float64), centres), minlength=bins)
    real_share, fake_share = real_counts / len(real), fake_counts / len(fake)
    pooled = (real_counts + fake_counts) / (len(real) + len(fake))
    error = np.sqrt(np.maximum(pooled * (1 - pooled) * (1 / len(real) + 1 / len(fake)), 1e-12))
    z = (fake_share - real_share) / error
    return int(np.sum(np.abs(z) > NDB_SIGNIFICANCE_Z)), z


def pitch_entropy(probabilities: np.ndarray) -> float:
    """The mean over samples of the entropy (nats) of each one's pitch distribution."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)
    return float(np.mean(-np.sum(p * np.log(p), axis=1)))


def audio_rows(real: np.ndarray, fake: np.ndarray, asked: np.ndarray | None, extractor, bins: int = NDB_BINS) -> list[dict]:
    """The table of a sound generator: FID, KID, precision/recall and NDB of ``fake``
    against ``real`` on the extractor's features, and pitch accuracy and pitch entropy of
    ``fake`` (accuracy only when ``asked`` holds the pitch each sample was made for)."""
    real_features, _ = extractor.run(real)
    fake_features, probabilities = extractor.run(fake)
    rows = image_rows(real_features, fake, extractor)
    meta = dict(extractor=extractor.name, layer="logits", num_real=0, num_fake=len(fake))
    if asked is not None:
        accuracy, _ = class_agreement(probabilities.argmax(1), asked, probabilities.shape[1])
        rows.append(row("pitch_accuracy", accuracy, **meta))
    rows.append(row("pitch_entropy", pitch_entropy(probabilities), **meta))
    # A bin needs about 10 real examples for the test to mean anything: fewer real clips,
    # fewer bins (the layer column says how many).
    bins = max(2, min(bins, len(real) // 10))
    count, _ = different_bins(real_features, fake_features, bins)
    ndb_meta = dict(extractor=extractor.name, layer=f"{extractor.layer}, K={bins}", num_real=len(real), num_fake=len(fake))
    rows += [row("ndb", float(count), **ndb_meta), row("ndb/k", count / bins, **ndb_meta)]
    return rows
