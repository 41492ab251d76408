"""Conditional GAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets").

Both players see the class label y: G(z, y) through a label embedding joined with z, and
D(x, y) through a projection discriminator (Miyato & Koyama 2018), see
``networks.layers``. The minimax game is the GAN's with every term conditioned on y, so
only the inputs differ from ``GAN``; fakes in a D step carry the labels of that step's real
minibatch, which keeps the class mix of the data.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.gans.gan import GAN


class ConditionalGAN(GAN):
    conditional = True

    def __init__(self, generator: keras.Model, discriminator: keras.Model, num_classes: int, **kwargs):
        if num_classes < 2:
            raise ValueError(f"a conditional GAN needs at least 2 classes, got {num_classes}")
        if kwargs.get("packing", 1) != 1:
            raise ValueError("packing mixes examples of different labels: not available for the conditional GAN")
        super().__init__(generator, discriminator, **kwargs)
        self.num_classes = num_classes

    def generator_inputs(self, z, label):
        if label is None:
            raise ValueError("the conditional generator needs a label per example")
        return [z, label]

    def sample_labels(self, z):
        """Classes in turn (0, 1, ..., C-1, 0, ...): balanced samples for evaluation."""
        return tf.range(tf.shape(z)[0]) % self.num_classes

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        """One row per class, the same noise down each column: a row shows one class in
        several styles, a column one style in every class."""
        columns = max(1, count // self.num_classes)
        z = tf.random.stateless_normal([columns, self.noise_dim], seed)
        return {
            "z": tf.tile(z, [self.num_classes, 1]),
            "label": tf.repeat(tf.range(self.num_classes), columns),
        }

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        images = self.sampling_generator([inputs["z"], inputs["label"]], training=False).numpy()
        return images, len(images) // self.num_classes
