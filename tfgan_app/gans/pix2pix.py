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

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.gans.base import AdversarialModel, apply_gradients
from tfgan_app.gans.gan import _run_without_state_updates
from tfgan_app.training.plots import triples_grid


class Pix2Pix(AdversarialModel):
    def __init__(self, generator: keras.Model, discriminator: keras.Model, discriminator_steps: int = 1, **kwargs):
        super().__init__(("d_loss", "g_loss", "l1", "d_real", "d_fake"), **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.discriminator_steps = discriminator_steps

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str = "non_saturating",
        l1_weight: float = 100.0,
        **kwargs,
    ) -> None:
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator.trainable_variables,
            self.discriminator.trainable_variables, loss, **kwargs,
        )
        self.l1_weight = l1_weight

    noise_dim = 1  # no noise is used; the pipeline's is ignored

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.generator}

    def checkpoint_objects(self) -> dict:
        return {"generator": self.generator, "discriminator": self.discriminator, **super().checkpoint_objects()}

    def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(images, training=training)

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        for index in range(self.discriminator_steps):
            self.discriminator_step(batch["condition"][:, index], batch["real"][:, index])
        self.generator_step(batch["condition"][:, 0], batch["real"][:, 0])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def discriminator_step(self, condition: tf.Tensor, target: tf.Tensor) -> None:
        fake = tf.stop_gradient(_run_without_state_updates(self.generator, condition))
        # Halved, as in Isola et al. (sec. 3.3): D learns at half G's rate.
        self.discriminator_update(self.discriminator, [target, condition], [fake, condition], loss_weight=0.5)

    def generator_step(self, condition: tf.Tensor, target: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            fake = self.generator(condition, training=True)
            fake_logits = _run_without_state_updates(self.discriminator, [fake, condition])["logit"]
            adversarial = self.adversarial_loss.generator(fake_logits)
            reconstruction = losses.l1_loss(target, fake)
            loss = tf.nn.compute_average_loss(adversarial + self.l1_weight * reconstruction)
            scaled = self.generator_optimizer.scale_loss(loss)
        apply_gradients(self.generator_optimizer, tape, scaled, self.generator.trainable_variables)
        self.trackers["g_loss"].update_state(tf.reduce_mean(adversarial + self.l1_weight * reconstruction))
        self.trackers["l1"].update_state(tf.reduce_mean(reconstruction))

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"condition": examples["condition"][:count], "real": examples["real"][:count]}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Rows of (input, output, target) triples."""
        return triples_grid(inputs["condition"], self.generator(inputs["condition"], training=False), inputs["real"])
