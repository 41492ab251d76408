"""pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
Networks"): paired translation x -> y.

    G* = arg min_G max_D  L_cGAN(G, D) + lambda L_L1(G)          (eq. 4, lambda = 100)

D is a conditional PatchGAN judging (x, y) pairs patch by patch; G is a U-Net. As in the
paper, D's objective is halved (sec. 3.3), and z is dropped: the paper found the noise
ignored and used dropout instead; here G is deterministic, so a run is a pure function of
its batches like every other family.

Batches: ``condition`` [m, k, H, W, C] (x, the input) and ``real`` [m, k, H, W, C] (y).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.data.sources import load_paired
from tfgan_app.gans.base import (
    GeneratorDiscriminatorModel, global_mean, logit_of, optimizer_step, run_without_state_updates,
)
from tfgan_app.gans.registry import BuildContext, DataNeeds, Family
from tfgan_app.networks.translation import patchgan_discriminator, unet_generator
from tfgan_app.plots import triples_grid


@dataclasses.dataclass
class Pix2PixSettings:
    """``[pix2pix]``: where the pairs come from, the networks, the L1 weight."""

    # "edges" (input = the target's edge map, computed in the pipeline), "side_by_side"
    # (each image file is input|target), "folders" (<split>A/ and <split>B/, same names) or
    # "styles" (data.name = "emoji": the Google image of an emoji -> its Twitter image).
    pairs: str = dataclasses.field(
        default="edges", metadata={"choices": ("edges", "side_by_side", "folders", "styles")}
    )
    # lambda of the L1 term (Isola et al. use 100), and the adversarial term's weight
    # (1; 0 trains the U-Net with L1 alone, the ablation of Isola et al.'s Table 1).
    l1_weight: float = dataclasses.field(default=100.0, metadata={"min": 0})
    adversarial_weight: float = dataclasses.field(default=1.0, metadata={"min": 0})
    # The U-Net's depth (capped by the image size) and the PatchGAN's stride-2 layers (3 =
    # the 70x70 PatchGAN at 256 pixels).
    unet_depth: int = dataclasses.field(default=8, metadata={"min": 1})
    patch_layers: int = dataclasses.field(default=3, metadata={"min": 1})


class PairBatch(NamedTuple):
    condition: tf.Tensor  # [m, k, H, W, C]: the inputs x
    real: tf.Tensor  # [m, k, H, W, C]: their targets y


class Pix2Pix(GeneratorDiscriminatorModel):
    batch_type = PairBatch

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, discriminator_steps: int = 1,
        ema_decay: float = 0.0, **kwargs,
    ):
        super().__init__(generator, discriminator, ("d_loss", "g_loss", "l1", "d_real", "d_fake"), ema_decay, **kwargs)
        self.discriminator_steps = discriminator_steps

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str = "non_saturating",
        l1_weight: float = 100.0,
        adversarial_weight: float = 1.0,
        **kwargs,
    ) -> None:
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator.trainable_variables,
            self.discriminator.trainable_variables, loss, **kwargs,
        )
        self.l1_weight, self.adversarial_weight = l1_weight, adversarial_weight

    def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(images, training=training)

    def adversarial_step(self, batch: PairBatch) -> dict[str, Any]:
        for index in range(self.discriminator_steps):
            self.discriminator_step(batch.condition[:, index], batch.real[:, index])
        self.generator_step(batch.condition[:, 0], batch.real[:, 0])
        return {"generator": batch.condition[:, 0]}

    def discriminator_step(self, condition: tf.Tensor, target: tf.Tensor) -> None:
        fake = tf.stop_gradient(run_without_state_updates(self.generator, condition))
        # Halved, as in Isola et al. (sec. 3.3): D learns at half G's rate.
        self.discriminator_update(self.discriminator, [target, condition], [fake, condition], loss_weight=0.5)

    def generator_step(self, condition: tf.Tensor, target: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            fake = self.generator(condition, training=True)
            fake_logits = logit_of(run_without_state_updates(self.discriminator, [fake, condition]))
            adversarial = self.adversarial_loss.generator(fake_logits)
            reconstruction = losses.l1_loss(target, fake)
            per_example = self.with_generator_regularizers(
                self.adversarial_weight * adversarial + self.l1_weight * reconstruction, condition, fake
            )
            loss = global_mean(per_example)
        optimizer_step(self.generator_optimizer, tape, loss, self.generator.trainable_variables)
        self.trackers["g_loss"].update_state(tf.reduce_mean(per_example))
        self.trackers["l1"].update_state(tf.reduce_mean(reconstruction))

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"condition": examples["condition"][:count], "real": examples["real"][:count]}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Rows of (input, output, target) triples."""
        return triples_grid(inputs["condition"], self.averaged()(inputs["condition"], training=False), inputs["real"])


def build_pix2pix(context: BuildContext) -> Pix2Pix:
    settings: Pix2PixSettings = context.settings
    shape, model = context.element_shape, context.config.model
    pix2pix = Pix2Pix(
        unet_generator(shape, shape[-1], model.generator_width, settings.unet_depth),
        patchgan_discriminator(shape, shape[-1], model.discriminator_width, settings.patch_layers),
        discriminator_steps=context.config.train.discriminator_steps, ema_decay=context.config.train.ema_decay,
    )
    pix2pix.compile(
        context.generator_optimizer, context.discriminator_optimizer, context.config.loss.name,
        l1_weight=settings.l1_weight, adversarial_weight=settings.adversarial_weight,
    )
    return pix2pix


def _load(data, settings: Pix2PixSettings):
    return load_paired(data, settings.pairs)


FAMILIES = (
    Family(
        name="pix2pix",
        summary="pix2pix (Isola et al. 2017): paired image-to-image translation, U-Net + PatchGAN + L1",
        build=build_pix2pix,
        settings=Pix2PixSettings,
        data=DataNeeds(load=_load),
        switches=frozenset({"train.ema_decay"}),
    ),
)
