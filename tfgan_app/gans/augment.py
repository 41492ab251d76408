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


class AdaptiveAugment(tf.Module):
    """Adaptive discriminator augmentation (ADA; Karras et al. 2020, "Training Generative
    Adversarial Networks with Limited Data", sec. 3): the augmentations are applied to an
    example with probability p, and p follows the overfitting heuristic

        r_t = E[sign(D(x_real))]                                  (eq. 1, D's raw output)

    accumulated over ``interval`` steps: p moves up by ``interval * batch / images`` when r_t
    exceeds ``target`` (D is too sure of the real data: it overfits) and down otherwise, so p
    can go from 0 to 1 in ``images`` real images (the paper uses 500k images and target 0.6).

    One gate per example (the spare uniform of ``augment``, index 7) applies all the chosen
    transforms together, where the paper draws each transform with probability p: p here is
    the probability that an example is augmented at all. p, the running sum of signs and
    their count are variables of this module, checkpointed with the model, so a resumed run
    continues exactly. The signs are summed over all replicas, so every replica holds the same p.
    """

    GATE = 7  # the index of the gate's uniform in ``augment``

    def __init__(self, target: float = 0.6, images: int = 500_000, interval: int = 4):
        super().__init__(name="adaptive_augment")
        self.target, self.images, self.interval = target, images, interval
        settings = dict(trainable=False, aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.probability = tf.Variable(0.0, name="probability", **settings)
        self.sign_sum = tf.Variable(0.0, name="sign_sum", **settings)
        self.count = tf.Variable(0.0, name="count", **settings)
        self.steps = tf.Variable(0, dtype=tf.int64, name="steps", **settings)

    def apply(self, images: tf.Tensor, augmented: tf.Tensor, uniforms: tf.Tensor) -> tf.Tensor:
        """``augmented`` where the example's gate falls below p, else ``images``."""
        gate = tf.cast(uniforms[:, self.GATE] < self.probability, images.dtype)
        return images + tf.reshape(gate, [-1] + [1] * (len(images.shape) - 1)) * (augmented - images)

    def observe(self, real_logits: tf.Tensor) -> None:
        """Add this D update's signs of D(x_real), summed over every replica."""
        logits = tf.reshape(tf.cast(real_logits, tf.float32), [-1])
        totals = tf.distribute.get_replica_context().all_reduce(
            "sum", tf.stack([tf.reduce_sum(tf.sign(logits)), tf.cast(tf.size(logits), tf.float32)])
        )
        self.sign_sum.assign_add(totals[0])
        self.count.assign_add(totals[1])

    def step(self, real_images) -> None:
        """Once per training step (``real_images``: how many D saw in it, all replicas):
        every ``interval`` steps, move p and start a new sum."""
        self.steps.assign_add(1)

        def adjust():
            overfitting = self.sign_sum / tf.maximum(self.count, 1.0)
            step_images = tf.cast(real_images * self.interval, tf.float32)
            change = tf.sign(overfitting - self.target) * step_images / float(self.images)
            self.probability.assign(tf.clip_by_value(self.probability + change, 0.0, 1.0))
            self.sign_sum.assign(0.0)
            self.count.assign(0.0)
            return tf.constant(0)

        tf.cond(self.steps % self.interval == 0, adjust, lambda: tf.constant(0))

    @property
    def overfitting(self) -> tf.Tensor:
        """r_t of the steps since the last adjustment (0 when none)."""
        return self.sign_sum / tf.maximum(self.count, 1.0)
