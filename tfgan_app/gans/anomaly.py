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

Two protocols choose the normal data: ``anomaly.anomaly_class`` leaves one class out (the
other classes are normal), ``anomaly.normal_class`` keeps one class only (the one-class
protocol most papers report: every other class is an anomaly). ``anomaly.method =
"autoencoder"`` trains the baseline a user would otherwise pick: the same encoder and
generator (as decoder) trained on reconstruction error alone, scored by it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.config import ConfigError
from tfgan_app.data.sources import anomaly_training_data
from tfgan_app.gans.base import (
    AdversarialModel, global_mean, logit_of, optimizer_step, readout, run_without_state_updates,
)
from tfgan_app.gans.gan import NoiseBatch
from tfgan_app.gans.registry import BuildContext, DataNeeds, Family
from tfgan_app.networks.anomaly import anomaly_scorer, bigan_discriminator, bigan_encoder
from tfgan_app.networks.dcgan import dcgan_generator


@dataclasses.dataclass
class AnomalySettings:
    """``[anomaly]``"""

    # This class (index or name) is the anomaly, left out of training ...
    anomaly_class: str = ""
    # ... or this class is the only normal one (one-class protocol); set exactly one.
    normal_class: str = ""
    # The score: alpha * reconstruction + (1 - alpha) * D-feature distance, alpha in [0, 1].
    anomaly_weight: float = 0.9
    # "egbad" (the BiGAN) or "autoencoder" (the same E and G trained on L1 reconstruction
    # alone and scored by it: the baseline).
    method: str = "egbad"
    # EGBAD only: weight of an L1 reconstruction term |x - G(E(x))| in G and E's loss (the
    # explicit cycle-consistency of ALICE, Li et al. 2017, sec. 4); 0 = EGBAD as published.
    reconstruction_weight: float = 0.0


METHODS = ("egbad", "autoencoder")


class EGBAD(AdversarialModel):
    batch_type = NoiseBatch  # uses real[:, 0] and the noise
    metric_names = ("d_loss", "g_loss", "d_real", "d_fake", "reconstruction")

    def __init__(
        self, generator: keras.Model, encoder: keras.Model, discriminator: keras.Model | None, alpha: float = 0.9,
        reconstruction_weight: float = 0.0, **kwargs,
    ):
        super().__init__(self.metric_names, **kwargs)
        self.generator, self.encoder, self.discriminator = generator, encoder, discriminator
        self.latent_dim = int(encoder.output_shape[-1])
        self.reconstruction_weight = reconstruction_weight
        self.scorer = anomaly_scorer(generator, encoder, discriminator, alpha)

    def compile(self, generator_optimizer, discriminator_optimizer, loss: str = "non_saturating", **kwargs) -> None:
        """``generator_optimizer`` updates G and E together (one player of the BiGAN game)."""
        if loss not in ("non_saturating", "minimax"):
            raise ValueError(f"EGBAD trains with the cross-entropy BiGAN loss, not {loss!r}")
        discriminator_variables = self.discriminator.trainable_variables if self.discriminator else []
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator_variables, discriminator_variables, loss,
            **kwargs,
        )

    @property
    def generator_variables(self) -> list:
        return self.generator.trainable_variables + self.encoder.trainable_variables

    @property
    def noise_dim(self) -> int:
        return self.latent_dim

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.scorer}

    def networks(self) -> dict[str, keras.Model]:
        networks = {"generator": self.generator, "encoder": self.encoder}
        return networks if self.discriminator is None else {**networks, "discriminator": self.discriminator}

    def score(self, images: tf.Tensor) -> tf.Tensor:
        return self.scorer(images, training=False)

    def adversarial_step(self, batch: NoiseBatch) -> dict[str, Any]:
        real, z = batch.real[:, 0], batch.z_discriminator[:, 0]
        # D: (x, E(x)) is "real", (G(z), z) is "fake".
        encoded = tf.stop_gradient(run_without_state_updates(self.encoder, real))
        fake = tf.stop_gradient(run_without_state_updates(self.generator, z))
        with tf.GradientTape() as tape:
            real_logits = logit_of(self.discriminator([real, encoded], training=True))
            fake_logits = logit_of(self.discriminator([fake, z], training=True))
            d_loss = losses.discriminator_loss(real_logits, fake_logits)
            loss = global_mean(d_loss)
        optimizer_step(self.discriminator_optimizer, tape, loss, self.discriminator.trainable_variables)
        # G and E: the same pairs with the labels swapped (the non-saturating form).
        z = batch.z_generator
        with tf.GradientTape() as tape:
            encoded = self.encoder(real, training=True)
            fake = self.generator(z, training=True)
            real_logits = logit_of(run_without_state_updates(self.discriminator, [real, encoded]))
            fake_logits = logit_of(run_without_state_updates(self.discriminator, [fake, z]))
            g_loss = losses.discriminator_loss(fake_logits, real_logits)
            if self.reconstruction_weight:
                g_loss += self.reconstruction_weight * losses.l1_loss(real, self.generator(encoded, training=True))
            loss = global_mean(g_loss)
        optimizer_step(self.generator_optimizer, tape, loss, self.generator_variables)
        reconstruction = run_without_state_updates(self.generator, encoded)
        self.trackers["d_loss"].update_state(tf.reduce_mean(d_loss))
        self.trackers["g_loss"].update_state(tf.reduce_mean(g_loss))
        self.trackers["d_real"].update_state(readout(self.adversarial_loss, real_logits))
        self.trackers["d_fake"].update_state(readout(self.adversarial_loss, fake_logits))
        self.trackers["reconstruction"].update_state(tf.reduce_mean(losses.l1_loss(real, reconstruction)))
        return {}

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"real": examples["real"][:count]}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Pairs (x, G(E(x))): normal examples should be reconstructed."""
        real = np.asarray(inputs["real"])
        reconstruction = self.generator(self.encoder(real, training=False), training=False).numpy()
        return np.stack([real, reconstruction], axis=1).reshape(-1, *real.shape[1:]), 8


class ReconstructionAutoencoder(EGBAD):
    """The baseline: E and G (as decoder) trained to minimise mean |x - G(E(x))|, no
    discriminator; the score is that reconstruction error (alpha = 1)."""

    metric_names = ("reconstruction",)

    def __init__(self, generator: keras.Model, encoder: keras.Model, **kwargs):
        super().__init__(generator, encoder, None, alpha=1.0, **kwargs)

    def adversarial_step(self, batch: NoiseBatch) -> dict[str, Any]:
        real = batch.real[:, 0]
        with tf.GradientTape() as tape:
            reconstruction_error = losses.l1_loss(real, self.generator(self.encoder(real, training=True), training=True))
            loss = global_mean(reconstruction_error)
        optimizer_step(self.generator_optimizer, tape, loss, self.generator_variables)
        self.trackers["reconstruction"].update_state(tf.reduce_mean(reconstruction_error))
        return {}


def build_anomaly(context: BuildContext) -> EGBAD:
    """The DCGAN generator, an encoder and (EGBAD) a joint discriminator."""
    model_cfg, shape, settings = context.config.model, context.element_shape, context.settings
    generator = dcgan_generator(model_cfg.latent_dim, shape, model_cfg.generator_width, model_cfg.batch_norm_momentum)
    encoder = bigan_encoder(shape, model_cfg.latent_dim, model_cfg.discriminator_width)
    if settings.method == "autoencoder":
        model = ReconstructionAutoencoder(generator, encoder)
    else:
        discriminator = bigan_discriminator(shape, model_cfg.latent_dim, model_cfg.discriminator_width)
        model = EGBAD(generator, encoder, discriminator, settings.anomaly_weight, settings.reconstruction_weight)
    model.compile(context.generator_optimizer, context.discriminator_optimizer, context.config.loss.name)
    return model


def _prepare(source, config):
    settings: AnomalySettings = config.family_settings
    if settings.normal_class:
        return anomaly_training_data(source, settings.normal_class, "anomaly.normal_class", keep=True)
    return anomaly_training_data(source, settings.anomaly_class, "anomaly.anomaly_class", keep=False)


def _validate(config) -> None:
    settings: AnomalySettings = config.family_settings
    if bool(settings.anomaly_class) == bool(settings.normal_class):
        raise ConfigError(
            "model.family 'anomaly' needs exactly one of anomaly.anomaly_class (the class left out of training) "
            "and anomaly.normal_class (the only class trained on: the one-class protocol); got "
            f"anomaly_class={settings.anomaly_class!r}, normal_class={settings.normal_class!r}"
        )
    if not 0.0 <= settings.anomaly_weight <= 1.0:
        raise ConfigError(f"anomaly.anomaly_weight must be in [0, 1], got {settings.anomaly_weight}")
    if settings.method not in METHODS:
        raise ConfigError(f"anomaly.method must be one of {', '.join(METHODS)}, got {settings.method!r}")
    if settings.reconstruction_weight < 0:
        raise ConfigError(f"anomaly.reconstruction_weight must be >= 0, got {settings.reconstruction_weight}")


FAMILIES = (
    Family(
        name="anomaly",
        summary="EGBAD (Zenati et al. 2018): a BiGAN on normal data; exports an anomaly scorer",
        build=build_anomaly,
        settings=AnomalySettings,
        data=DataNeeds(images=True, prepare=_prepare),
        validate=_validate,
    ),
)
