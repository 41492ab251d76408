"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for
Data-Efficient GAN Training"): the same random colour, translation and cutout transforms
applied to real *and* generated images whenever D sees them, in D's and in G's update, so
D cannot overfit a small dataset and G's gradient passes through the transforms.

The randomness arrives as uniforms in the batch (``augment``, 8 per example: brightness,
saturation, contrast, shift y and x, cutout y and x, one spare), so a training
step stays a pure function of its batch (see ``tfgan_app.data.pipeline``).
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_app.config import AUGMENTATIONS



def _color(images: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5] (images in [-1, 1], so the
    paper's [0, 1] ranges are doubled where they are offsets)."""
    brightness = tf.reshape(u[:, 0] - 0.5, [-1, 1, 1, 1]) * 2.0
    images = images + brightness
    if images.shape[-1] > 1:
        mean = tf.reduce_mean(images, axis=-1, keepdims=True)
        images = (images - mean) * tf.reshape(u[:, 1] * 2.0, [-1, 1, 1, 1]) + mean
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * tf.reshape(u[:, 2] + 0.5, [-1, 1, 1, 1]) + mean


def _shift_matrices(shift: tf.Tensor, size: int) -> tf.Tensor:
    """[batch] integer shifts -> [batch, size, size] matrices M with (M v)[i] = v[i - shift]
    (zero where i - shift falls outside): a translation written as a matmul, which keeps it
    differentiable and needs no gather."""
    rows = tf.range(size)[None, :, None]
    columns = tf.range(size)[None, None, :]
    return tf.cast(tf.equal(rows - tf.reshape(shift, [-1, 1, 1]), columns), tf.float32)


def _translation(images: tf.Tensor, u: tf.Tensor, ratio: float = 0.125) -> tf.Tensor:
    """Shift by up to ``ratio`` of the side in each direction, zero padded."""
    height, width = images.shape[1], images.shape[2]
    shift_y = tf.cast(tf.round((u[:, 3] * 2.0 - 1.0) * ratio * height), tf.int32)
    shift_x = tf.cast(tf.round((u[:, 4] * 2.0 - 1.0) * ratio * width), tf.int32)
    rows, columns = _shift_matrices(shift_y, height), _shift_matrices(shift_x, width)
    return tf.einsum("bij,bjkc,blk->bilc", rows, images, columns)


def _cutout(images: tf.Tensor, u: tf.Tensor, ratio: float = 0.5) -> tf.Tensor:
    """Zero (mid-grey is 0 in [-1, 1]) a square of ``ratio`` times the side at a random place."""
    height, width = images.shape[1], images.shape[2]
    half_h, half_w = ratio * height / 2.0, ratio * width / 2.0
    centre_y = u[:, 5] * height
    centre_x = u[:, 6] * width
    ys = tf.range(height, dtype=tf.float32)[None, :] + 0.5
    xs = tf.range(width, dtype=tf.float32)[None, :] + 0.5
    inside_y = tf.abs(ys - centre_y[:, None]) < half_h
    inside_x = tf.abs(xs - centre_x[:, None]) < half_w
    hole = tf.logical_and(inside_y[:, :, None], inside_x[:, None, :])
    return images * (1.0 - tf.cast(hole, images.dtype))[..., None]


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}


def diff_augment(images: tf.Tensor, uniforms: tf.Tensor, names: tuple[str, ...]) -> tf.Tensor:
    """Apply the named transforms in the paper's order (colour, translation, cutout)."""
    for name in AUGMENTATIONS:
        if name in names:
            images = _TRANSFORMS[name](images, uniforms)
    return images
