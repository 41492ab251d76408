"""Inputs derived from clean examples, for the applications that learn to undo (or bridge)
a change: edge maps (pix2pix demo), label maps (SPADE), downsampled images
(super-resolution), holes (inpainting), a shifted domain (domain adaptation), and
synthetic sequences.

Every function is a pure TensorFlow function of its inputs and a stateless seed, so the
training pipeline, the sample grids and the benchmarks derive exactly the same inputs.
Images are float32 in [-1, 1], shape [n, H, W, C].
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import tensorflow as tf


class TaskDataError(ValueError):
    """Data that cannot serve the task; the message names the file, row or value."""


def edge_maps(images: tf.Tensor) -> tf.Tensor:
    """Sketch-like inputs for the pix2pix demo: Sobel edge strength scaled per image,
    thresholded and drawn dark on white, same channel count."""
    gray = tf.reduce_mean(images, axis=-1, keepdims=True)
    gradients = tf.image.sobel_edges(gray)  # [n, H, W, 1, 2]
    magnitude = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=-1) + 1e-12)
    strength = magnitude / (tf.reduce_max(magnitude, axis=[1, 2, 3], keepdims=True) + 1e-6)
    edges = 1.0 - 2.0 * tf.cast(strength > 0.2, tf.float32)
    return tf.repeat(edges, tf.shape(images)[-1], axis=-1)


# SPADE's label maps: the background and four parts of the item's silhouette, by position.
SEGMENT_NAMES = ("background", "upper left", "upper right", "lower left", "lower right")
# Grey levels above this (in [-1, 1]) are the item; Fashion-MNIST's background is 0 (-1 here).
SILHOUETTE_THRESHOLD = -0.8


def segmentation_maps(images: tf.Tensor, threshold: float = SILHOUETTE_THRESHOLD) -> tf.Tensor:
    """The label map of each image, int32 [n, H, W]: 0 for the background, else the item's
    silhouette (grey level above ``threshold``) split into four parts by position, the
    quadrants about the centre of its bounding box (1 upper left, 2 upper right, 3 lower
    left, 4 lower right). The map gives the item's shape and layout, not its shading or
    texture, which the generator must supply. A pure function of the image, so it is
    recomputed from a generated image to check that the image respects its map."""
    gray = tf.reduce_mean(images, axis=-1)
    item = gray > threshold
    height, width = gray.shape[1], gray.shape[2]

    def centre(present: tf.Tensor, size: int) -> tf.Tensor:  # [n, size] bool -> [n] float
        positions = tf.range(size, dtype=tf.float32)[None]
        first = tf.reduce_min(tf.where(present, positions, float(size)), axis=1)
        last = tf.reduce_max(tf.where(present, positions, -1.0), axis=1)
        return (first + last) / 2.0

    centre_row = centre(tf.reduce_any(item, axis=2), height)
    centre_column = centre(tf.reduce_any(item, axis=1), width)
    lower = tf.range(height, dtype=tf.float32)[None, :, None] > centre_row[:, None, None]
    right = tf.range(width, dtype=tf.float32)[None, None, :] > centre_column[:, None, None]
    part = 1 + 2 * tf.cast(lower, tf.int32) + tf.cast(right, tf.int32)
    return tf.where(item, part, 0)


def map_as_image(segmentation: tf.Tensor, classes: int, channels: int) -> tf.Tensor:
    """Label maps int32 [n, H, W] -> grey levels in [-1, 1] [n, H, W, channels] (class 0
    black, the last white), for grids and the flat-rendering baseline."""
    grey = tf.cast(segmentation, tf.float32) / max(classes - 1, 1) * 2.0 - 1.0
    return tf.repeat(grey[..., None], channels, axis=-1)


def downsample(images: tf.Tensor, scale: int) -> tf.Tensor:
    """The low-resolution input of super-resolution: the mean of each scale x scale block
    (what a sensor of 1/scale the resolution records; Ledig et al. use bicubic
    downsampling, which differs only in its kernel)."""
    return tf.nn.avg_pool2d(images, scale, scale, "VALID")


def bicubic_upsample(images: tf.Tensor, scale: int) -> tf.Tensor:
    """The baseline super-resolution is measured against."""
    height, width = images.shape[1] * scale, images.shape[2] * scale
    return tf.clip_by_value(tf.image.resize(images, (height, width), method="bicubic"), -1.0, 1.0)


def square_masks(seed: tf.Tensor, count: int, side: int, fraction: float) -> tf.Tensor:
    """[count, side, side, 1] masks, 1 on a square hole of side ``fraction * side`` at a
    uniformly random position (Pathak et al.'s random-block masks), 0 elsewhere."""
    hole = max(1, int(round(fraction * side)))
    corners = tf.random.stateless_uniform([count, 2], seed, 0, side - hole + 1, dtype=tf.int32)
    positions = tf.range(side)
    rows = (positions[None, :] >= corners[:, :1]) & (positions[None, :] < corners[:, :1] + hole)
    columns = (positions[None, :] >= corners[:, 1:]) & (positions[None, :] < corners[:, 1:] + hole)
    masks = tf.cast(rows[:, :, None] & columns[:, None, :], tf.float32)
    return masks[..., None]


def cut_holes(images: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
    """The inpainting input: the image with its hole set to 0 (mid-gray)."""
    return images * (1.0 - masks)


def blur_fill(images: tf.Tensor, masks: tf.Tensor, iterations: int = 64) -> tf.Tensor:
    """The baseline inpainting is measured against: the hole filled by repeatedly blurring
    the known pixels into it (normalised 3x3 averaging, i.e. diffusion from the border)."""
    channels = images.shape[-1]
    known = 1.0 - masks
    weight, filled = known, images * known
    for _ in range(iterations):
        count = tf.nn.conv2d(weight, tf.ones([3, 3, 1, 1]), 1, "SAME")
        total = tf.nn.depthwise_conv2d(filled * weight, tf.ones([3, 3, channels, 1]), [1, 1, 1, 1], "SAME")
        filled = images * known + masks * tf.math.divide_no_nan(total, count)
        weight = tf.maximum(known, tf.cast(count > 0, tf.float32))
    return filled


def as_rgb(images: tf.Tensor) -> tf.Tensor:
    """Gray [n, ..., 1] images repeated to 3 channels; RGB images as they are."""
    return images if images.shape[-1] == 3 else tf.repeat(images, 3, axis=-1)


def shift_domain(images: tf.Tensor, seed: tf.Tensor, darkest: float = 0.5) -> tf.Tensor:
    """The target domain of the domain-adaptation demo, after MNIST-M (Ganin et al. 2016):
    each image blended with a random colour background as |image - background| per
    channel (in [0, 1] units), the background a smooth colour field plus a finer texture.
    Backgrounds stay below ``darkest`` so that the item stays brighter than its background
    in every channel; with 0.5 a classifier trained on the source alone gets about 69% of
    the target test split right (0.6: 54%, 1.0: 18%; MNIST-M: 52-57%). Gray images are made
    RGB first."""
    count, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    images = as_rgb(images)
    coarse = tf.random.stateless_uniform([count, 4, 4, 3], seed)
    fine = tf.random.stateless_uniform([count, height // 4, width // 4, 3], tf.random.experimental.stateless_fold_in(seed, 1))
    background = darkest * (0.7 * tf.image.resize(coarse, (height, width)) + 0.3 * tf.image.resize(fine, (height, width)))
    unit = (images + 1.0) / 2.0
    return tf.abs(unit - background) * 2.0 - 1.0


def sine_waves(seed: tf.Tensor, count: int, length: int, features: int) -> tf.Tensor:
    """TimeGAN's sine data (Yoon et al. 2019, sec. 5.1): per sequence and feature,
    x_t = sin(f t + p) with f, p ~ U(0, 0.1), t = 0..length-1, scaled to [0, 1]."""
    frequency = tf.random.stateless_uniform([count, 1, features], seed, 0.0, 0.1)
    phase = tf.random.stateless_uniform([count, 1, features], tf.random.experimental.stateless_fold_in(seed, 1), 0.0, 0.1)
    steps = tf.range(length, dtype=tf.float32)[None, :, None]
    return (tf.sin(frequency * steps + phase) + 1.0) / 2.0


def read_csv_series(path: Path) -> tuple[np.ndarray, list[str]]:
    """Rows of numbers [T, F] and the column names (from a header row, else col0...).
    A value that is not a number is an error naming the row and column."""
    path = Path(path)
    if not path.is_file():
        raise TaskDataError(f"CSV file {path} does not exist (data.file)")
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if not rows:
        raise TaskDataError(f"{path} is empty")

    def numeric(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return False

    kinds = [numeric(cell) for cell in rows[0]]
    if any(kinds) and not all(kinds):
        raise TaskDataError(
            f"{path} row 1 mixes numbers and text ({rows[0]}): a header row holds names only, a data row "
            "numbers only"
        )
    header = None if all(kinds) else [cell.strip() for cell in rows[0]]
    body = rows[1:] if header else rows
    first = 2 if header else 1  # the file's row number of body[0]
    width = len(header or rows[0])
    values = np.empty((len(body), width), np.float32)
    for index, row in enumerate(body):
        if len(row) != width:
            raise TaskDataError(f"{path} row {index + first}: {len(row)} values, expected {width}")
        for column, cell in enumerate(row):
            try:
                values[index, column] = float(cell)
            except ValueError:
                name = header[column] if header else f"column {column + 1}"
                raise TaskDataError(f"{path} row {index + first}, {name}: {cell!r} is not a number") from None
    if not np.all(np.isfinite(values)):
        row, column = np.argwhere(~np.isfinite(values))[0]
        raise TaskDataError(f"{path}: row {row + first}, column {column + 1} is not finite")
    return values, header or [f"col{index}" for index in range(width)]


def series_windows(values: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(overlapping windows [N, length, F] scaled to [0, 1] per column, column minimum,
    column range) as TimeGAN prepares its stock and energy data."""
    if len(values) < length:
        raise TaskDataError(f"the series has {len(values)} rows, fewer than data.sequence_length {length}")
    low, span = values.min(0), values.max(0) - values.min(0)
    scaled = (values - low) / np.where(span > 0, span, 1.0)
    windows = np.stack([scaled[start : start + length] for start in range(len(values) - length + 1)])
    return windows.astype(np.float32), low, span


def _per_image(values: tf.Tensor, function) -> tf.Tensor:
    """Apply ``function`` ([n, H, W, C] -> [n, ...]) to images with any leading axes
    ([m, k, H, W, C] in training batches, [n, H, W, C] elsewhere)."""
    leading = [size if size is not None else tf.shape(values)[axis] for axis, size in enumerate(values.shape[:-3])]
    result = function(tf.reshape(values, [-1, *values.shape[-3:]]))
    return tf.reshape(result, [*leading, *result.shape[1:]])


def make_deriver(task: str, scale: int = 4, mask_fraction: float = 0.5):
    """A function (batch, seed) -> batch adding a task's derived inputs:
    - ``edges``: ``condition`` = the edge map of ``real``;
    - ``segmentation``: ``condition`` = the label map of ``real`` (int32, ``segmentation_maps``);
    - ``super_resolution``: ``condition`` = ``real`` downsampled by ``scale``;
    - ``inpainting``: ``mask`` (1 = hole) and ``condition`` = ``real`` with the hole cut;
    - ``domain_shift``: ``real`` made RGB (the source domain) and ``real_b`` shifted (the
      target domain)."""

    def derive(batch: dict, seed: tf.Tensor) -> dict:
        real = batch["real"]
        if task == "edges":
            return {**batch, "condition": _per_image(real, edge_maps)}
        if task == "segmentation":
            return {**batch, "condition": _per_image(real, segmentation_maps)}
        if task == "super_resolution":
            return {**batch, "condition": _per_image(real, lambda images: downsample(images, scale))}
        if task == "inpainting":
            masks = _per_image(
                real, lambda images: square_masks(seed, tf.shape(images)[0], images.shape[1], mask_fraction)
            )
            return {**batch, "mask": masks, "condition": cut_holes(real, masks)}
        if task == "domain_shift":
            return {**batch, "real": as_rgb(real), "real_b": _per_image(batch["real_b"], lambda images: shift_domain(images, seed))}
        raise ValueError(f"unknown task {task!r}")

    return derive
