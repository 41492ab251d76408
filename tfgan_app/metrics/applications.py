"""Scores of the applications, each against the baseline its task is read against:

- super-resolution: PSNR and SSIM of the output vs the original, beside bicubic upsampling;
- inpainting: L1 and PSNR inside the hole, beside filling it by blurring (``blur_fill``);
- domain adaptation: classification accuracy on the target domain (and the source);
- anomaly detection: AUROC and AUPRC of the anomaly scores;
- semantic synthesis: how well an image generated from a label map respects it (the map
  recomputed from the image against the input map: pixel accuracy and mean IoU);
- text to image: retrieval ranks (is the image generated from a text nearest its own real image).

Images are float32 in [-1, 1] (a data range of 2 for PSNR and SSIM).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tfgan_app.data.pipeline import to_model_range
from tfgan_app.data.tasks import as_rgb, bicubic_upsample, blur_fill, cut_holes, downsample, shift_domain, square_masks


def _batched(function: Callable, arrays: tuple[np.ndarray, ...], batch_size: int = 500) -> np.ndarray:
    return np.concatenate([
        np.asarray(function(*(array[start : start + batch_size] for array in arrays)))
        for start in range(0, len(arrays[0]), batch_size)
    ])


def psnr_ssim(reference: np.ndarray, images: np.ndarray) -> tuple[float, float]:
    """Mean PSNR (dB) and SSIM over images in [-1, 1]."""
    import tensorflow as tf

    images = np.clip(images, -1.0, 1.0)
    return (
        float(np.mean(tf.image.psnr(reference, images, 2.0).numpy())),
        float(np.mean(tf.image.ssim(reference, images, 2.0).numpy())),
    )


def super_resolution_scores(restore: Callable[[np.ndarray], np.ndarray], images: np.ndarray, scale: int) -> dict:
    """PSNR/SSIM of ``restore(low resolution)`` and of bicubic upsampling, vs ``images``."""
    low = downsample(images, scale).numpy()
    model = psnr_ssim(images, _batched(restore, (low,)))
    bicubic = psnr_ssim(images, bicubic_upsample(low, scale).numpy())
    return {"psnr": model[0], "ssim": model[1], "bicubic_psnr": bicubic[0], "bicubic_ssim": bicubic[1], "images": len(images)}


def _hole_scores(images: np.ndarray, filled: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    """(mean |error| inside the holes, PSNR of the hole pixels) over all images."""
    inside = np.broadcast_to(masks, images.shape) > 0.5
    error = np.clip(filled, -1.0, 1.0)[inside] - images[inside]
    return float(np.mean(np.abs(error))), float(10.0 * np.log10(4.0 / np.mean(error**2)))


def inpainting_scores(
    fill: Callable[[np.ndarray, np.ndarray], np.ndarray], images: np.ndarray, mask_fraction: float, seed: int = 0
) -> dict:
    """Hole L1/PSNR of ``fill(holed images, masks)`` and of ``blur_fill`` on the same holes."""
    import tensorflow as tf


    masks = square_masks(tf.constant([seed, 1], tf.int64), len(images), images.shape[1], mask_fraction).numpy()
    holed = np.asarray(cut_holes(images, masks))
    model = _hole_scores(images, _batched(fill, (holed, masks)), masks)
    blur = _hole_scores(images, _batched(lambda x, m: blur_fill(x, m), (holed, masks)), masks)
    return {"hole_l1": model[0], "hole_psnr": model[1], "blur_l1": blur[0], "blur_psnr": blur[1], "images": len(images)}


def shifted_test_set(images: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(source images made RGB, their target-domain versions) in [-1, 1], for uint8 or
    model-range images: the evaluation split of the domain-adaptation demo."""
    import tensorflow as tf

    source = to_model_range(images).numpy()
    return np.asarray(as_rgb(source)), _batched(lambda x: shift_domain(x, tf.constant([seed, 2], tf.int64)), (source,), 10_000)


def accuracy(probabilities: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(_batched(probabilities, (images,)), axis=1) == labels))


def auroc(scores: np.ndarray, is_anomaly: np.ndarray) -> float:
    """Area under the ROC curve = P(score of an anomaly > score of a normal example), ties
    counted half (the Mann-Whitney U statistic, from average ranks)."""
    scores, positive = np.asarray(scores, np.float64), np.asarray(is_anomaly, bool)
    count_positive, count_negative = positive.sum(), (~positive).sum()
    if count_positive == 0 or count_negative == 0:
        raise ValueError("AUROC needs both anomalies and normal examples")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):  # average ranks over ties
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return float((ranks[positive].sum() - count_positive * (count_positive + 1) / 2.0) / (count_positive * count_negative))


def auprc(scores: np.ndarray, is_anomaly: np.ndarray) -> float:
    """Area under the precision-recall curve as average precision: the mean over anomalies
    of the precision among examples scored at least as high (ties resolved pessimistically)."""
    scores, positive = np.asarray(scores, np.float64), np.asarray(is_anomaly, bool)
    if not positive.any():
        raise ValueError("AUPRC needs at least one anomaly")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_positive = scores[order], positive[order]
    # For each threshold (distinct score), count everything scored >= it.
    last_of_tie = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    true_positives = np.cumsum(sorted_positive)[last_of_tie]
    predicted = (np.arange(len(scores)) + 1)[last_of_tie]
    new_positives = np.diff(np.r_[0, true_positives])
    return float(np.sum(new_positives * true_positives / predicted) / positive.sum())


def map_agreement(expected: np.ndarray, recomputed: np.ndarray, classes: int) -> dict[str, float]:
    """Pixel accuracy and mean IoU (over the classes present in either map) of ``recomputed``
    label maps against ``expected`` ones, both int [n, H, W] (the scores of semantic
    synthesis, e.g. Park et al. 2019 sec. 4, with a segmenter; here the maps are a pure
    function of the image, so recomputing them is exact)."""
    expected, recomputed = np.asarray(expected), np.asarray(recomputed)
    ious = []
    for label in range(classes):
        union = np.sum((expected == label) | (recomputed == label))
        if union:
            ious.append(np.sum((expected == label) & (recomputed == label)) / union)
    return {"pixel_accuracy": float(np.mean(expected == recomputed)), "mean_iou": float(np.mean(ious))}


def retrieval_ranks(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """For each query i (the features of an image generated from text i), the rank (0 =
    nearest) of candidate i (the features of text i's real image) among all candidates by
    Euclidean distance; ties count against the query."""
    queries, candidates = np.asarray(queries, np.float64), np.asarray(candidates, np.float64)
    distances = (np.sum(queries**2, 1)[:, None] - 2 * queries @ candidates.T + np.sum(candidates**2, 1)[None, :])
    own = distances[np.arange(len(queries)), np.arange(len(queries))]
    return np.sum(distances <= own[:, None], axis=1) - 1
