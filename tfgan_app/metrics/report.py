"""Samples -> rows of metrics, each row naming its extractor, layer and sample counts.

Shared by ``python -m tfgan_app.evaluate`` and the trainer's periodic evaluation.
"""

from __future__ import annotations

import numpy as np

from tfgan_app.metrics.distances import (
    classifier_score, copying, feature_statistics, frechet_distance, kernel_distance, precision_recall,
)
from tfgan_app.metrics.toy import ks_statistic, mode_metrics, wasserstein_1d

# Which direction is better, for choosing a "best" checkpoint.
LOWER_IS_BETTER = {"fid", "kid", "reverse_kl", "ks_statistic", "wasserstein_1"}
HIGHER_IS_BETTER = {"modes_covered", "high_quality", "precision", "recall", "classifier_score"}


def in_batches(generate, inputs: np.ndarray | dict[str, np.ndarray], batch: int = 500) -> np.ndarray:
    """``generate`` (a model's sampler or an export's runner) over ``inputs`` (an array, or a
    dict of named arrays cut alike) in memory-sized chunks."""
    if isinstance(inputs, dict):
        count = len(next(iter(inputs.values())))
        cut = lambda start: {name: value[start : start + batch] for name, value in inputs.items()}  # noqa: E731
    else:
        count, cut = len(inputs), lambda start: inputs[start : start + batch]
    return np.concatenate([np.asarray(generate(cut(start))) for start in range(0, count, batch)])


def subset_order(total: int, count: int, seed: int) -> np.ndarray:
    """The indices of ``count`` random examples of ``total``, drawn from ``seed``."""
    return np.random.default_rng(seed).permutation(total)[:count]


def real_subset(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` random uint8 images of a source (``subset_order``), scaled to the generator's [-1, 1]."""
    # TensorFlow on use only: the commands import this module before their quiet start-up.
    from tfgan_app.data.pipeline import to_model_range

    return to_model_range(images[subset_order(len(images), count, seed)]).numpy()


def row(metric, value, std=None, extractor="", layer="", num_real=0, num_fake=0) -> dict:
    return {"metric": metric, "value": float(value), "std": std, "extractor": extractor,
            "layer": layer, "num_real": num_real, "num_fake": num_fake}


def toy_measure_name(toy) -> str:
    """What a toy's rows name as their extractor: the distribution itself."""
    return f"toy:{toy.name}"


def toy_rows(samples: np.ndarray, toy, reference: np.ndarray | None = None) -> list[dict]:
    """PacGAN mode metrics for 2-D mixtures; KS and W1 (against ``reference``) for 1-D."""
    where = toy_measure_name(toy)
    if toy.dim == 1:
        rows = [row("ks_statistic", ks_statistic(samples, toy.modes, toy.sigma), None, where, "samples", 0, len(samples))]
        if reference is not None:
            rows.append(row("wasserstein_1", wasserstein_1d(samples, reference), None, where, "samples",
                            len(reference), len(samples)))
        return rows
    result = mode_metrics(samples, toy.modes, toy.sigma)
    return [
        row("modes_covered", result.modes_covered, None, where, f"of {result.num_modes}", 0, result.samples),
        row("high_quality", result.high_quality, None, where, "within 3 sigma", 0, result.samples),
        row("reverse_kl", result.reverse_kl, None, where, "mode histogram", 0, result.samples),
    ]


def image_rows(real_features: np.ndarray, fake: np.ndarray, extractor, precision_and_recall: bool = True,
               train_features: np.ndarray | None = None) -> list[dict]:
    """FID, KID, (precision, recall) and the classifier score of generated images ``fake``
    against precomputed real features (computed once, reused across evaluations); with the
    training images' features, the memorisation rows (``memorisation_rows``, the real
    features then being held-out images)."""
    fake_features, fake_probabilities = extractor.run(fake)
    meta = dict(extractor=extractor.name, layer=extractor.layer, num_real=len(real_features), num_fake=len(fake))
    rows = [row("fid", frechet_distance(feature_statistics(real_features), feature_statistics(fake_features)), **meta)]
    kid, kid_std = kernel_distance(real_features, fake_features)
    rows.append(row("kid", kid, kid_std, **meta))
    if precision_and_recall:
        precision, recall = precision_recall(real_features, fake_features, k=3)
        rows += [row("precision", precision, **meta), row("recall", recall, **meta)]
    if fake_probabilities is not None:
        score, score_std = classifier_score(fake_probabilities)
        rows.append(row("classifier_score", score, score_std, **{**meta, "layer": "logits", "num_real": 0}))
    if train_features is not None:
        rows += memorisation_rows(train_features, real_features, fake_features, extractor)
    return rows


def memorisation_rows(train_features: np.ndarray, heldout_features: np.ndarray, fake_features: np.ndarray,
                      extractor) -> list[dict]:
    """The share of samples nearer to a training image than nine in ten held-out real images
    are, the held-out images' own share (``distances.copying``) and Meehan et al.'s Z_U."""
    result = copying(train_features, heldout_features, fake_features, quantile=0.1)
    meta = dict(extractor=extractor.name, layer=extractor.layer, num_real=len(train_features))
    return [
        row("memorised_share", result.share, **meta, num_fake=len(fake_features)),
        row("  held-out share", result.real_share, **{**meta, "layer": "features, test images"},
            num_fake=len(heldout_features) - len(heldout_features) // 2),
        row("copying_z_u", result.z_u, **meta, num_fake=len(fake_features)),
    ]
