"""CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"): two translators G: A -> B and F: B -> A learned from unpaired sets.

    L(G, F, D_A, D_B) = L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc(G, F)       (eq. 3)

with least-squares adversarial losses (sec. 4, after Mao et al. 2017), lambda = 10, the
identity loss ``||G(b) - b|| + ||F(a) - a||`` at 0.5 lambda (sec. 5.2), and discriminators
updated on a history of the last 50 generated images (Shrivastava et al. 2017) rather than
only the newest. One step updates both generators, then both discriminators, as the
authors' implementation does.

Batches: ``real`` [m, 1, ...] from domain A, ``real_b`` [m, 1, ...] from domain B (drawn
independently: the sets are unpaired), and ``z_generator`` [m, 2] normal noise, turned into
the uniforms of the image pool's choices.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.config import ConfigError
from tfgan_app.data.sources import load_unpaired
from tfgan_app.gans.base import (
    AdversarialModel, global_mean, logit_of, optimizer_step, readout, run_without_state_updates,
)
from tfgan_app.gans.gan import uniform_from_normal
from tfgan_app.gans.registry import BuildContext, DataNeeds, Family
from tfgan_app.networks.translation import patchgan_discriminator, resnet_generator


@dataclasses.dataclass
class CycleGANSettings:
    """``[cyclegan]``: the two domains, the networks, the loss weights, the image pool."""

    # Labelled data (fashion_mnist, ...): a class index or name per domain. Image folders:
    # subfolders, default "<split>A" and "<split>B". TFDS cycle_gan/<name>: its splits.
    domain_a: str = ""
    domain_b: str = ""
    # lambda of cycle consistency (10), and the identity loss as a fraction of it (0.5).
    cycle_weight: float = dataclasses.field(default=10.0, metadata={"min": 0})
    identity_weight: float = dataclasses.field(default=0.5, metadata={"min": 0})
    # The history of generated images shown to the discriminators (0 = off).
    image_pool: int = dataclasses.field(default=50, metadata={"min": 0})
    # The ResNet generators' residual blocks; the PatchGANs' stride-2 layers.
    residual_blocks: int = dataclasses.field(default=9, metadata={"min": 1})
    patch_layers: int = dataclasses.field(default=3, metadata={"min": 1})


class DomainsBatch(NamedTuple):
    real: tf.Tensor  # [m, 1, ...] domain A
    real_b: tf.Tensor  # [m, 1, ...] domain B, drawn independently (the sets are unpaired)
    z_generator: tf.Tensor  # [m, 2] standard normals: the image pool's random choices


class ImagePool(tf.Module):
    """The last ``size`` generated images; a query returns, per image, either the new image
    or (with probability 1/2, once the pool is full) a stored one, which it then replaces.

    Each replica keeps its own history (an on-read variable), like one GPU per process in
    the original implementation; it is saved in checkpoints so a resume continues it.
    """

    def __init__(self, size: int, image_shape: tuple[int, ...], name: str):
        super().__init__(name=name)
        self.size = size
        on_read = dict(
            trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )
        self.images = tf.Variable(tf.zeros([max(size, 1), *image_shape]), name="images", **on_read)
        self.count = tf.Variable(0, dtype=tf.int32, name="count", **on_read)

    def query(self, fakes: tf.Tensor, uniforms: tf.Tensor) -> tf.Tensor:
        """``uniforms`` [m, 2]: column 0 decides old-or-new per image, column 1 (first row)
        offsets the slots drawn, which are distinct within a batch (m <= size)."""
        fakes = tf.stop_gradient(fakes)
        if self.size == 0:
            return fakes
        batch = tf.shape(fakes)[0]
        positions = self.count + tf.range(batch)
        filling = positions < self.size
        offset = tf.cast(tf.floor(uniforms[0, 1] * self.size), tf.int32)
        slots = tf.where(filling, positions, (offset + tf.range(batch)) % self.size)
        use_old = tf.logical_and(tf.logical_not(filling), uniforms[:, 0] < 0.5)
        old = tf.gather(self.images, slots)
        mask = tf.reshape(use_old, [-1] + [1] * (len(fakes.shape) - 1))
        returned = tf.where(mask, old, fakes)
        write = tf.logical_or(filling, use_old)
        self.images.scatter_nd_update(
            tf.boolean_mask(slots, write)[:, None], tf.boolean_mask(fakes, write)
        )
        self.count.assign(tf.minimum(self.count + batch, self.size))
        return returned


class CycleGAN(AdversarialModel):
    batch_type = DomainsBatch
    noise_dim = 2  # per example: old-or-new and the slot offset of the image pools

    def __init__(
        self,
        generator_ab: keras.Model,
        generator_ba: keras.Model,
        discriminator_a: keras.Model,
        discriminator_b: keras.Model,
        pool_size: int = 50,
        ema_decay: float = 0.0,
        **kwargs,
    ):
        super().__init__(
            ("d_loss", "g_loss", "cycle_loss", "identity_loss", "d_real", "d_fake"), ema_decay=ema_decay, **kwargs
        )
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        shape_a, shape_b = tuple(generator_ab.input_shape[1:]), tuple(generator_ba.input_shape[1:])
        self.pool_a = ImagePool(pool_size, shape_a, "pool_a")  # holds F(b): fakes of domain A
        self.pool_b = ImagePool(pool_size, shape_b, "pool_b")

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str = "least_squares",
        cycle_weight: float = 10.0,
        identity_weight: float = 0.5,
        **kwargs,
    ) -> None:
        """``identity_weight`` is a fraction of ``cycle_weight``, as in the paper (0.5)."""
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self._generator_variables(),
            self._discriminator_variables(), loss, **kwargs,
        )
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight

    def _generator_variables(self) -> list:
        return self.generator_ab.trainable_variables + self.generator_ba.trainable_variables

    def _discriminator_variables(self) -> list:
        return self.discriminator_a.trainable_variables + self.discriminator_b.trainable_variables

    def generators(self) -> dict[str, keras.Model]:
        return {"generator_ab": self.generator_ab, "generator_ba": self.generator_ba}

    def networks(self) -> dict[str, keras.Model]:
        return {
            **self.generators(), "discriminator_a": self.discriminator_a, "discriminator_b": self.discriminator_b,
        }

    def exports(self) -> dict[str, keras.Model]:
        return {"a2b": self.averaged("generator_ab"), "b2a": self.averaged("generator_ba")}

    def checkpoint_objects(self) -> dict:
        return {**super().checkpoint_objects(), "pool_a": self.pool_a, "pool_b": self.pool_b}

    def call(self, images: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator_ab(images, training=training)

    def adversarial_step(self, batch: DomainsBatch) -> dict[str, Any]:
        real_a, real_b = batch.real[:, 0], batch.real_b[:, 0]
        fake_a, fake_b = self.generator_step(real_a, real_b)
        uniforms = uniform_from_normal(batch.z_generator)
        self.discriminator_step(
            real_a, real_b, self.pool_a.query(fake_a, uniforms), self.pool_b.query(fake_b, uniforms[:, ::-1])
        )
        return {"generator_ab": real_a, "generator_ba": real_b}

    def generator_step(self, real_a: tf.Tensor, real_b: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Update G and F together; the discriminators are held fixed. Returns (F(b), G(a))."""
        with tf.GradientTape() as tape:
            fake_b = self.generator_ab(real_a, training=True)
            fake_a = self.generator_ba(real_b, training=True)
            adversarial = self.adversarial_loss.generator(
                logit_of(run_without_state_updates(self.discriminator_b, fake_b))
            ) + self.adversarial_loss.generator(logit_of(run_without_state_updates(self.discriminator_a, fake_a)))
            cycle = losses.l1_loss(real_a, self.generator_ba(fake_b, training=True)) + losses.l1_loss(
                real_b, self.generator_ab(fake_a, training=True)
            )
            per_example = adversarial + self.cycle_weight * cycle
            identity = tf.zeros_like(cycle)
            if self.identity_weight:
                identity = losses.l1_loss(real_b, self.generator_ab(real_b, training=True)) + losses.l1_loss(
                    real_a, self.generator_ba(real_a, training=True)
                )
                per_example += self.identity_weight * self.cycle_weight * identity
            loss = global_mean(per_example)
        optimizer_step(self.generator_optimizer, tape, loss, self._generator_variables())
        self.trackers["g_loss"].update_state(tf.reduce_mean(per_example))
        self.trackers["cycle_loss"].update_state(tf.reduce_mean(cycle))
        self.trackers["identity_loss"].update_state(tf.reduce_mean(identity))
        return fake_a, fake_b

    def discriminator_step(self, real_a, real_b, pooled_fake_a, pooled_fake_b) -> None:
        """Update D_A and D_B, each on its real domain and the pooled fakes of that domain.
        Each objective is halved, as in the paper (sec. 7.1), slowing D relative to G."""
        with tf.GradientTape() as tape:
            real_a_logits = logit_of(self.discriminator_a(real_a, training=True))
            fake_a_logits = logit_of(self.discriminator_a(pooled_fake_a, training=True))
            real_b_logits = logit_of(self.discriminator_b(real_b, training=True))
            fake_b_logits = logit_of(self.discriminator_b(pooled_fake_b, training=True))
            per_example = 0.5 * (
                self.adversarial_loss.discriminator(real_a_logits, fake_a_logits)
                + self.adversarial_loss.discriminator(real_b_logits, fake_b_logits)
            )
            loss = global_mean(per_example)
        optimizer_step(self.discriminator_optimizer, tape, loss, self._discriminator_variables())
        self.trackers["d_loss"].update_state(tf.reduce_mean(per_example))
        self.trackers["d_real"].update_state(0.5 * (
            readout(self.adversarial_loss, real_a_logits) + readout(self.adversarial_loss, real_b_logits)
        ))
        self.trackers["d_fake"].update_state(0.5 * (
            readout(self.adversarial_loss, fake_a_logits) + readout(self.adversarial_loss, fake_b_logits)
        ))

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"real": examples["real"][:count], "real_b": examples["real_b"][:count]}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Rows of (a, G(a), F(G(a)), b, F(b), G(F(b)))."""
        a, b = inputs["real"], inputs["real_b"]
        count = min(len(a), len(b))
        a, b = a[:count], b[:count]
        generator_ab, generator_ba = self.averaged("generator_ab"), self.averaged("generator_ba")
        fake_b = generator_ab(a, training=False)
        fake_a = generator_ba(b, training=False)
        columns = [a, fake_b, generator_ba(fake_b, training=False),
                   b, fake_a, generator_ab(fake_a, training=False)]
        grid = np.stack([np.asarray(column) for column in columns], axis=1)
        return grid.reshape(-1, *grid.shape[2:]), 6


def build_cyclegan(context: BuildContext) -> CycleGAN:
    settings: CycleGANSettings = context.settings
    shape, model = context.element_shape, context.config.model

    def generator():
        return resnet_generator(shape, None, model.generator_width, settings.residual_blocks)

    def discriminator():
        return patchgan_discriminator(shape, 0, model.discriminator_width, settings.patch_layers)

    cyclegan = CycleGAN(
        generator(), generator(), discriminator(), discriminator(), pool_size=settings.image_pool,
        ema_decay=context.config.train.ema_decay,
    )
    cyclegan.compile(
        context.generator_optimizer, context.discriminator_optimizer, context.config.loss.name,
        cycle_weight=settings.cycle_weight, identity_weight=settings.identity_weight,
    )
    return cyclegan


def _load(data, settings: CycleGANSettings):
    return load_unpaired(data, settings.domain_a, settings.domain_b)


def _validate(config) -> None:
    if config.train.discriminator_steps != 1:
        raise ConfigError("CycleGAN updates each discriminator once per step: train.discriminator_steps must be 1")


FAMILIES = (
    Family(
        name="cyclegan",
        summary="CycleGAN (Zhu et al. 2017): unpaired translation A <-> B with cycle consistency",
        build=build_cyclegan,
        settings=CycleGANSettings,
        data=DataNeeds(load=_load),
        switches=frozenset({"train.ema_decay"}),
        validate=_validate,
    ),
)
