"""GAN-based anomaly detection: EGBAD (Zenati et al. 2018, "Efficient GAN-Based Anomaly
Detection"), a BiGAN (Donahue et al. 2017) trained on normal data only.

    for each training iteration:
        take m normal examples x and m noise vectors z
        update D on pairs (x, E(x)) as real and (G(z), z) as fake
        update G and E on the same loss with the labels swapped, D held fixed

At the optimum E inverts G on the data's support, so a normal x is reconstructed well by
G(E(x)) and an anomaly is not: the anomaly score A(x) = alpha L_G(x) + (1 - alpha) L_D(x)
combines the reconstruction error L_G and the distance L_D of D's features between
(x, E(x)) and (G(E(x)), E(x)) (sec. 3). The scorer is what is exported.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.gans.base import AdversarialModel, apply_gradients, readout
from tfgan_app.gans.gan import _run_without_state_updates
from tfgan_app.networks.anomaly import anomaly_scorer


class EGBAD(AdversarialModel):
    def __init__(
        self, generator: keras.Model, encoder: keras.Model, discriminator: keras.Model, alpha: float = 0.9, **kwargs
    ):
        super().__init__(("d_loss", "g_loss", "d_real", "d_fake", "reconstruction"), **kwargs)
        self.generator, self.encoder, self.discriminator = generator, encoder, discriminator
        self.latent_dim = int(encoder.output_shape[-1])
        self.scorer = anomaly_scorer(generator, encoder, discriminator, alpha)

    def compile(self, generator_optimizer, discriminator_optimizer, loss: str = "non_saturating", **kwargs) -> None:
        """``generator_optimizer`` updates G and E together (one player of the BiGAN game)."""
        if loss not in ("non_saturating", "minimax"):
            raise ValueError(f"EGBAD trains with the cross-entropy BiGAN loss, not {loss!r}")
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator_variables,
            self.discriminator.trainable_variables, loss, **kwargs,
        )

    @property
    def generator_variables(self) -> list:
        return self.generator.trainable_variables + self.encoder.trainable_variables

    @property
    def noise_dim(self) -> int:
        return self.latent_dim

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.scorer}

    def checkpoint_objects(self) -> dict:
        return {
            "generator": self.generator, "encoder": self.encoder, "discriminator": self.discriminator,
            **super().checkpoint_objects(),
        }

    def score(self, images: tf.Tensor) -> tf.Tensor:
        return self.scorer(images, training=False)

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        real, z = batch["real"][:, 0], batch["z_discriminator"][:, 0]
        # D: (x, E(x)) is "real", (G(z), z) is "fake".
        encoded = tf.stop_gradient(_run_without_state_updates(self.encoder, real))
        fake = tf.stop_gradient(_run_without_state_updates(self.generator, z))
        with tf.GradientTape() as tape:
            real_logits = self.discriminator([real, encoded], training=True)["logit"]
            fake_logits = self.discriminator([fake, z], training=True)["logit"]
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            scaled = self.discriminator_optimizer.scale_loss(tf.nn.compute_average_loss(d_loss))
        apply_gradients(self.discriminator_optimizer, tape, scaled, self.discriminator.trainable_variables)
        # G and E: the same pairs with the labels swapped (the non-saturating form).
        z = batch["z_generator"]
        with tf.GradientTape() as tape:
            encoded = self.encoder(real, training=True)
            fake = self.generator(z, training=True)
            real_logits = _run_without_state_updates(self.discriminator, [real, encoded])["logit"]
            fake_logits = _run_without_state_updates(self.discriminator, [fake, z])["logit"]
            g_loss = losses.discriminator_loss(fake_logits, real_logits)
            scaled = self.generator_optimizer.scale_loss(tf.nn.compute_average_loss(g_loss))
        apply_gradients(self.generator_optimizer, tape, scaled, self.generator_variables)
        reconstruction = _run_without_state_updates(self.generator, encoded)
        self.trackers["d_loss"].update_state(tf.reduce_mean(d_loss))
        self.trackers["g_loss"].update_state(tf.reduce_mean(g_loss))
        self.trackers["d_real"].update_state(readout(self.adversarial_loss, real_logits))
        self.trackers["d_fake"].update_state(readout(self.adversarial_loss, fake_logits))
        self.trackers["reconstruction"].update_state(tf.reduce_mean(losses.l1_loss(real, reconstruction)))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"real": examples["real"][:count]}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Pairs (x, G(E(x))): normal examples should be reconstructed."""
        real = np.asarray(inputs["real"])
        reconstruction = self.generator(self.encoder(real, training=False), training=False).numpy()
        return np.stack([real, reconstruction], axis=1).reshape(-1, *real.shape[1:]), 8
