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

from tfgan_app.config import ConfigError
from tfgan_app.gans.gan import (
    GAN, LabelledNoiseBatch, compile_noise_model, image_networks, noise_model_options, validate_noise_family,
)
from tfgan_app.gans.registry import NOISE_TO_IMAGE_SWITCHES, BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, Label


class ConditionalGAN(GAN):
    batch_type = LabelledNoiseBatch
    conditional = True
    export_input_names = ("z", "label")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, num_classes: int, **kwargs):
        if num_classes < 2:
            raise ValueError(f"a conditional GAN needs at least 2 classes, got {num_classes}")
        if kwargs.get("packing", 1) != 1:
            raise ValueError("packing mixes examples of different labels: not available for the conditional GAN")
        self.num_classes = num_classes
        super().__init__(generator, discriminator, **kwargs)

    def generator_inputs(self, z, label):
        if label is None:
            raise ValueError("the conditional generator needs a label per example")
        return [z, label]

    def input_kinds(self) -> dict[str, InputKind]:
        return {**super().input_kinds(), "label": Label(classes=self.num_classes)}

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


def build_cgan(context: BuildContext) -> ConditionalGAN:
    if context.num_classes < 2:
        raise ValueError(f"the conditional GAN needs labelled data with at least 2 classes, got {context.num_classes}")
    generator, discriminator = image_networks(context, num_classes=context.num_classes)
    model = ConditionalGAN(generator, discriminator, context.num_classes, **noise_model_options(context))
    return compile_noise_model(model, context)


def validate_conditional(config) -> None:
    if config.model.packing > 1:
        raise ConfigError(
            f"model.packing mixes examples of different labels: not available for family {config.model.family!r}"
        )
    validate_noise_family(config)


FAMILIES = (
    Family(
        name="cgan",
        summary="conditional GAN (Mirza & Osindero 2014): G(z, y), projection D(x, y)",
        build=build_cgan,
        data=DataNeeds(labels=True),
        switches=NOISE_TO_IMAGE_SWITCHES,
        validate=validate_conditional,
    ),
)
