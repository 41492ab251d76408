"""Restoration GANs: a generator undoes a known degradation, trained with a content loss
plus a small adversarial term that pulls its outputs towards the data's manifold.

- SRGAN (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a GAN"):
  input = the image downsampled; perceptual loss l^SR = l_content + 10^-3 l_Gen (eq. 3),
  l_content the MSE of pixels and/or of a network's features (eq. 4, 5).
- Context encoder (Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting"):
  input = the image with a hole and the hole's mask; L = lambda_rec L_rec + lambda_adv
  L_adv (eq. 3; 0.999 and 0.001), L_rec the squared error inside the hole (eq. 1).

    for each training iteration:
        degrade m real images x into inputs y (in the data pipeline)
        update D on x (real) and G(y) (fake)
        update G on content(x, G(y)) + perceptual_weight * features(x, G(y))
                    + adversarial_weight * generator_loss(D(G(y))), D held fixed

Batches: ``real`` [m, k, H, W, C] targets, ``condition`` [m, k, ...] the degraded inputs
and, for inpainting, ``mask`` [m, k, H, W, 1] (1 = missing).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.config import ConfigError
from tfgan_app.data.sources import DataError
from tfgan_app.data.tasks import make_deriver
from tfgan_app.gans.base import (
    GeneratorDiscriminatorModel, global_mean, logit_of, optimizer_step, run_without_state_updates,
)
from tfgan_app.gans.registry import BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, Mask
from tfgan_app.metrics.features import FEATURE_LAYER, classifier_folder, load_domain_classifier
from tfgan_app.networks.dcgan import dcgan_discriminator
from tfgan_app.networks.restoration import inpainting_generator, srresnet_generator
from tfgan_app.plots import triples_grid


@dataclasses.dataclass
class RestorationSettings:
    """What SRGAN and the context encoder share: the loss weights beside the content loss."""

    # Weight of the adversarial term beside the content loss (both papers use 1e-3).
    adversarial_weight: float = dataclasses.field(default=1e-3, metadata={"min": 0})
    # Weight of the MSE of the domain classifier's features (the stand-in for VGG features).
    perceptual_weight: float = dataclasses.field(default=0.0, metadata={"min": 0})
    # Domain classifier folder for the perceptual features; empty: the pinned one for data.name,
    # else the self-trained one in the cache.
    perceptual_classifier: str = ""


@dataclasses.dataclass
class SuperResolutionSettings(RestorationSettings):
    """``[srgan]``"""

    # The generator's inputs are the images downsampled by this factor.
    scale: int = dataclasses.field(default=4, metadata={"choices": (2, 4, 8)})
    residual_blocks: int = dataclasses.field(default=9, metadata={"min": 1})  # residual blocks of the SRResNet generator


@dataclasses.dataclass
class InpaintingSettings(RestorationSettings):
    """``[inpainting]``"""

    # The side of the square hole, as a fraction of the image side, in (0, 1).
    mask_fraction: float = 0.5
    unet_depth: int = dataclasses.field(default=8, metadata={"min": 1})  # down-sampling levels of the U-Net


class RestorationBatch(NamedTuple):
    real: tf.Tensor  # [m, k, H, W, C]: the targets
    condition: tf.Tensor  # [m, k, ...]: the degraded inputs (downsampled, or with a hole)


class InpaintingBatch(NamedTuple):
    real: tf.Tensor
    condition: tf.Tensor
    mask: tf.Tensor  # [m, k, H, W, 1]: 1 = missing


class RestorationGAN(GeneratorDiscriminatorModel):
    batch_type = RestorationBatch

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        perceptual_network: keras.Model | None = None,
        discriminator_steps: int = 1,
        ema_decay: float = 0.0,
        **kwargs,
    ):
        super().__init__(
            generator, discriminator, ("d_loss", "g_loss", "content", "psnr", "d_real", "d_fake"), ema_decay, **kwargs
        )
        self.perceptual_network = perceptual_network
        if perceptual_network is not None:
            perceptual_network.trainable = False
        self.discriminator_steps = discriminator_steps
        # The context encoder's G takes the image and its mask; SRGAN's the image alone.
        self.masked = len(generator.inputs) == 2
        if self.masked:
            self.batch_type = InpaintingBatch

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str = "non_saturating",
        adversarial_weight: float = 1e-3,
        perceptual_weight: float = 0.0,
        **kwargs,
    ) -> None:
        if perceptual_weight and self.perceptual_network is None:
            raise ValueError("perceptual_weight > 0 needs a perceptual_network")
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator.trainable_variables,
            self.discriminator.trainable_variables, loss, **kwargs,
        )
        self.adversarial_weight, self.perceptual_weight = adversarial_weight, perceptual_weight

    def input_kinds(self) -> dict[str, InputKind]:
        return {**super().input_kinds(), **({"mask": Mask()} if self.masked else {})}

    def generator_inputs(self, condition: tf.Tensor, mask: tf.Tensor | None = None) -> list | tf.Tensor:
        """G's inputs: the degraded images, and the mask for the context encoder."""
        return [condition, mask] if self.masked else condition

    def restore(self, examples: dict) -> tf.Tensor:
        """The sampling G's output in inference mode for examples with ``condition`` (and
        ``mask``) [n, ...]."""
        inputs = self.generator_inputs(examples["condition"], examples.get("mask"))
        return self.averaged()(inputs, training=False)

    def adversarial_step(self, batch: RestorationBatch | InpaintingBatch) -> dict[str, Any]:
        def inputs(index):
            return self.generator_inputs(batch.condition[:, index], batch.mask[:, index] if self.masked else None)

        for index in range(self.discriminator_steps):
            self.discriminator_step(inputs(index), batch.real[:, index])
        self.generator_step(inputs(0), batch.real[:, 0], batch.mask[:, 0] if self.masked else None)
        return {"generator": inputs(0)}

    def discriminator_step(self, inputs, target: tf.Tensor) -> None:
        fake = tf.stop_gradient(run_without_state_updates(self.generator, inputs))
        self.discriminator_update(self.discriminator, target, fake)

    def generator_step(self, inputs, target: tf.Tensor, mask: tf.Tensor | None) -> None:
        with tf.GradientTape() as tape:
            fake = self.generator(inputs, training=True)
            content = losses.squared_error(target, fake, mask)
            total = content + self.adversarial_weight * self.adversarial_loss.generator(
                logit_of(run_without_state_updates(self.discriminator, fake))
            )
            if self.perceptual_weight:
                total += self.perceptual_weight * losses.squared_error(
                    self.perceptual_network(target, training=False), self.perceptual_network(fake, training=False)
                )
            total = self.with_generator_regularizers(total, inputs, fake)
            loss = global_mean(total)
        optimizer_step(self.generator_optimizer, tape, loss, self.generator.trainable_variables)
        self.trackers["g_loss"].update_state(tf.reduce_mean(total))
        self.trackers["content"].update_state(tf.reduce_mean(content))
        self.trackers["psnr"].update_state(tf.reduce_mean(tf.image.psnr(target, tf.clip_by_value(fake, -1.0, 1.0), 2.0)))

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {key: value[:count] for key, value in examples.items() if key in ("real", "condition", "mask")}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Rows of (input, output, target) triples; small inputs are shown enlarged."""
        output = np.clip(self.restore(inputs).numpy(), -1.0, 1.0)
        shown = np.asarray(inputs["condition"])
        if shown.shape[1] != output.shape[1]:
            factor = output.shape[1] // shown.shape[1]
            shown = shown.repeat(factor, axis=1).repeat(factor, axis=2)
        return triples_grid(shown, output, inputs["real"])


def perceptual_features(classifier_dir: str | Path, image_shape: tuple[int, ...]) -> keras.Model:
    """The domain classifier's penultimate features, images in [-1, 1] -> [n, 128]: the
    stand-in for SRGAN's VGG features where no ImageNet weights are available."""
    extractor, info = load_domain_classifier(classifier_dir)
    if tuple(info["image_shape"]) != tuple(image_shape):
        raise ValueError(
            f"the classifier in {classifier_dir} takes images of {info['image_shape']}, the data has {list(image_shape)}"
        )
    model = extractor.model
    return keras.Model(model.inputs, model.outputs[0], name=f"perceptual_{FEATURE_LAYER}")


def _build(context: BuildContext, generator: keras.Model) -> RestorationGAN:
    """SRGAN or the context encoder around ``generator``: a DCGAN discriminator, the
    perceptual network when weighted."""
    settings: RestorationSettings = context.settings
    config = context.config
    discriminator = dcgan_discriminator(
        context.element_shape, config.model.discriminator_width, config.model.spectral_norm,
        norm=config.model.discriminator_norm,
    )
    perceptual = None
    if settings.perceptual_weight:
        folder = classifier_folder(config.data.name, settings.perceptual_classifier)
        perceptual = perceptual_features(folder, context.element_shape)
    model = RestorationGAN(
        generator, discriminator, perceptual, config.train.discriminator_steps, ema_decay=config.train.ema_decay,
    )
    model.compile(
        context.generator_optimizer, context.discriminator_optimizer, config.loss.name,
        adversarial_weight=settings.adversarial_weight, perceptual_weight=settings.perceptual_weight,
    )
    return model


def build_srgan(context: BuildContext) -> RestorationGAN:
    settings: SuperResolutionSettings = context.settings
    height, width, channels = context.element_shape
    low = (height // settings.scale, width // settings.scale, channels)
    generator = srresnet_generator(low, settings.scale, context.config.model.generator_width, settings.residual_blocks)
    return _build(context, generator)


def build_inpainting(context: BuildContext) -> RestorationGAN:
    settings: InpaintingSettings = context.settings
    return _build(context, inpainting_generator(context.element_shape, context.config.model.generator_width, settings.unet_depth))


def _prepare_super_resolution(source, config):
    scale = config.family_settings.scale
    if source.element_shape[0] % scale or source.element_shape[1] % scale:
        raise DataError(
            f"{source.description}: images of {source.element_shape[:2]} do not divide by srgan.scale "
            f"{scale}; set data.image_size to a multiple of it"
        )
    source.derive = make_deriver("super_resolution", scale=scale)
    source.labels = None
    return source


def _prepare_inpainting(source, config):
    source.derive = make_deriver("inpainting", mask_fraction=config.family_settings.mask_fraction)
    source.labels = None
    return source


def _validate_inpainting(config) -> None:
    if not 0.0 < config.family_settings.mask_fraction < 1.0:
        raise ConfigError(f"inpainting.mask_fraction must be in (0, 1), got {config.family_settings.mask_fraction}")


FAMILIES = (
    Family(
        name="srgan",
        summary="SRGAN (Ledig et al. 2017): super-resolution, SRResNet + content and adversarial losses",
        build=build_srgan,
        settings=SuperResolutionSettings,
        data=DataNeeds(images=True, prepare=_prepare_super_resolution),
        switches=frozenset({"train.ema_decay"}),
    ),
    Family(
        name="inpainting",
        summary="context encoder (Pathak et al. 2016): fill a square hole, hole MSE + adversarial",
        build=build_inpainting,
        settings=InpaintingSettings,
        data=DataNeeds(images=True, prepare=_prepare_inpainting),
        switches=frozenset({"train.ema_decay"}),
        validate=_validate_inpainting,
    ),
)
