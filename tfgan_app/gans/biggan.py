"""BigGAN-style class conditioning at small scale (Brock et al. 2019, "Large Scale GAN
Training for High Fidelity Natural Image Synthesis").

The game is the conditional GAN's (``ConditionalGAN``: G(z, y), D(x, y), fakes carry the
real minibatch's labels) with BigGAN's choices, each from the paper:
- G's batch norms conditioned on [shared class embedding, a chunk of z] per block (the
  hierarchical latent, sec. 3 and fig. 15); D a projection discriminator (Miyato & Koyama
  2018); residual blocks (``networks.biggan``);
- spectral norm in both networks (sec. 3, after Zhang et al. 2019);
- the hinge loss (set in the pipeline, ``loss.name = "hinge"``);
- orthogonal regularisation of G's weights, beta ||W^T W (.) (1 - I)||_F^2 with beta = 1e-4
  (sec. 3.1, eq. 3), through the generator-regulariser hook;
- an EMA of G's weights for sampling (appendix C, ``train.ema_decay``);
- the truncation trick at sampling (sec. 3.1) as an input of the export: ``truncation``
  (1 = G as trained) scales z, so a deployed model can trade variety for fidelity.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.gans.conditional import ConditionalGAN, validate_conditional
from tfgan_app.gans.gan import compile_noise_model, noise_model_options
from tfgan_app.gans.registry import NOISE_TO_IMAGE_SWITCHES, BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, Truncation
from tfgan_app.networks.biggan import biggan_discriminator, biggan_generator, with_truncation


@dataclasses.dataclass
class BigGANSettings:
    """``[biggan]``: the shared class embedding's size and beta of the orthogonal term."""

    embedding_dim: int = dataclasses.field(default=128, metadata={"min": 1})  # width of the shared class embedding
    orthogonal_weight: float = dataclasses.field(default=1e-4, metadata={"min": 0})  # orthogonal regularisation of G's weights (Brock et al. use 1e-4)


class BigGAN(ConditionalGAN):
    export_input_names = ("z", "label", "truncation")

    def exports(self) -> dict[str, keras.Model]:
        return {"": with_truncation(self.sampling_generator)}

    def input_kinds(self) -> dict[str, InputKind]:
        return {**super().input_kinds(), "truncation": Truncation()}


def orthogonal_regularizer(generator: keras.Model, weight: float):
    """The generator-regulariser hook's form of ``losses.orthogonal_regularization`` over
    G's convolution and dense kernels (not the shared embedding, as in Brock et al.'s code).
    The term is one number per update; given to every example, its global mean is itself."""
    kernels = [variable for variable in generator.trainable_variables if variable.path.endswith("kernel")]

    def regularizer(inputs, fake: tf.Tensor) -> tf.Tensor:
        return tf.fill([tf.shape(fake)[0]], weight * losses.orthogonal_regularization(kernels))

    return regularizer


def build_biggan(context: BuildContext) -> BigGAN:
    if context.num_classes < 2:
        raise ValueError(f"BigGAN needs labelled data with at least 2 classes, got {context.num_classes}")
    settings: BigGANSettings = context.settings
    model_config, shape = context.config.model, context.element_shape
    generator = biggan_generator(
        model_config.latent_dim, shape, context.num_classes, model_config.generator_width, settings.embedding_dim,
        model_config.batch_norm_momentum,
    )
    discriminator = biggan_discriminator(shape, context.num_classes, model_config.discriminator_width)
    model = BigGAN(generator, discriminator, context.num_classes, **noise_model_options(context))
    if settings.orthogonal_weight:
        model.generator_regularizers.append(orthogonal_regularizer(generator, settings.orthogonal_weight))
    return compile_noise_model(model, context)


FAMILIES = (
    Family(
        name="biggan",
        summary="BigGAN-style (Brock et al. 2019): conditional BN with a shared embedding and hierarchical z, "
                "projection D, spectral norm, orthogonal regularisation, truncation input",
        build=build_biggan,
        settings=BigGANSettings,
        data=DataNeeds(labels=True, images=True),
        switches=NOISE_TO_IMAGE_SWITCHES,
        validate=validate_conditional,
    ),
)
