"""InfoGAN (Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets").

G takes noise z and a latent code c: a categorical code (one of ``categories``, uniform) and
``continuous`` codes uniform in [-1, 1]. An auxiliary head Q on D's body predicts c from
G(z, c); both G and Q minimise the information loss ``-E log Q(c | G(z, c))`` (eq. 5, with
weight lambda) next to the GAN's adversarial losses, which drives G to make the code
visible in its output: with no labels, the categorical code tends to pick out classes.

The code is made from the pipeline's standard-normal noise (argmax of ``categories`` normals
is uniform over them; the normal CDF maps a normal to a uniform), so the batch layout and
the determinism of ``GAN`` carry over unchanged.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.gans.gan import (
    GAN, Minibatch, compile_noise_model, image_networks, noise_model_options, uniform_from_normal, validate_noise_family,
)
from tfgan_app.gans.registry import NOISE_TO_IMAGE_SWITCHES, BuildContext, Family
from tfgan_app.inputs import Code, InputKind


@dataclasses.dataclass
class InfoGANSettings:
    """``[infogan]``: the latent codes and the weight of the information loss."""

    # One categorical code of this many values (>= 2), and this many continuous codes.
    categorical_code: int = dataclasses.field(default=10, metadata={"min": 2})
    continuous_codes: int = dataclasses.field(default=2, metadata={"min": 0})
    # lambda of the information loss (eq. 5).
    information_weight: float = dataclasses.field(default=1.0, metadata={"min": 0})


class InfoGAN(GAN):
    export_input_names = ("z", "code")

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        categories: int,
        continuous: int,
        information_weight: float = 1.0,
        **kwargs,
    ):
        if categories < 2:
            raise ValueError(f"InfoGAN needs a categorical code of at least 2 values, got {categories}")
        self.categories, self.continuous = categories, continuous
        self.information_weight = information_weight
        super().__init__(generator, discriminator, **kwargs)

    @classmethod
    def metric_names(cls) -> tuple[str, ...]:
        # information_loss: -log Q(c|x) before weighting; falls as Q learns to read the code.
        return (*super().metric_names(), "information_loss")

    @property
    def noise_dim(self) -> int:
        return self.latent_dim + self.categories + self.continuous

    def input_kinds(self) -> dict[str, InputKind]:
        return {**super().input_kinds(), "code": Code(categorical=self.categories)}

    def codes(self, z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(one-hot categorical code [m, C], continuous code in [-1, 1] [m, K]) from the noise."""
        start = self.latent_dim
        categorical = tf.one_hot(tf.argmax(z[:, start : start + self.categories], axis=-1), self.categories)
        continuous = 2.0 * uniform_from_normal(z[:, start + self.categories :]) - 1.0
        return categorical, continuous

    def generator_inputs(self, z, label):
        categorical, continuous = self.codes(z)
        return [z[:, : self.latent_dim], tf.concat([categorical, continuous], axis=-1)]

    def auxiliary_loss(self, fake_outputs: dict, minibatch: Minibatch) -> tf.Tensor:
        categorical, continuous = self.codes(minibatch.z)
        information = losses.information_loss(fake_outputs["q"], categorical, continuous)
        self.trackers["information_loss"].update_state(tf.reduce_mean(information))
        return self.information_weight * information

    def code_accuracy(self, z: tf.Tensor) -> float:
        """How often Q's most likely category is the categorical code G was given (chance 1/C)."""
        categorical, _ = self.codes(z)
        images = self.generator(self.generator_inputs(z, None), training=False)
        q = self.discriminator(images, training=False)["q"][:, : self.categories]
        return float(tf.reduce_mean(tf.cast(tf.argmax(q, -1) == tf.argmax(categorical, -1), tf.float32)))

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        """Row r: categorical code r; each column its own noise vector, the same down the
        column, continuous codes 0: what changes down a column is the categorical code alone."""
        columns = max(1, count // self.categories)
        noise = tf.random.stateless_normal([columns, self.latent_dim], seed)
        categorical = tf.repeat(tf.eye(self.categories), columns, axis=0)
        continuous = tf.zeros([self.categories * columns, self.continuous])
        code = tf.concat([categorical, continuous], axis=-1)
        return {"z": tf.tile(noise, [self.categories, 1]), "code": code}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        images = self.sampling_generator([inputs["z"], inputs["code"]], training=False).numpy()
        return images, len(images) // self.categories


def build_infogan(context: BuildContext) -> InfoGAN:
    settings: InfoGANSettings = context.settings
    generator, discriminator = image_networks(
        context, code_dim=settings.categorical_code + settings.continuous_codes
    )
    model = InfoGAN(
        generator, discriminator, settings.categorical_code, settings.continuous_codes,
        settings.information_weight, **noise_model_options(context),
    )
    return compile_noise_model(model, context)


FAMILIES = (
    Family(
        name="infogan",
        summary="InfoGAN (Chen et al. 2016): categorical + continuous codes recovered by a Q head",
        build=build_infogan,
        settings=InfoGANSettings,
        switches=NOISE_TO_IMAGE_SWITCHES,
        validate=validate_noise_family,
    ),
)
