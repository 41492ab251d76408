"""The template family: the smallest complete family, to copy when adding one.

It is a plain GAN (Goodfellow et al. 2014, Algorithm 1 with k = 1) between two MLPs that
work on any data shape (vectors or images, flattened), written on the base classes alone
(not on ``GAN``) so that every piece a family declares is in view:

1. its own config section (``TemplateSettings``: ``[template]`` in a pipeline file);
2. the data it needs (``DataNeeds``: here one set of examples, no labels);
3. its typed batch (``batch_type``: the pipeline fills the fields it names);
4. its networks (``_networks``) and its model (``TemplateGAN``), whose ``adversarial_step``
   is the algorithm, using the shared ``optimizer_step`` (loss scaling) and ``global_mean``
   (global-batch averaging);
5. what it checkpoints and exports (``networks``, ``exports``: from
   ``GeneratorDiscriminatorModel`` here) and its sample grids (``preview_inputs``/``preview``);
6. ``FAMILIES``: the declaration the registry finds. Nothing else in the package changes.

Steps to add a family (docs/adding-a-family.md): copy this file to ``gans/<name>.py``,
rename, write the algorithm, add ``pipelines/<pipeline>.toml`` with ``model.family =
"<name>"`` and a ``[<name>]`` section, a test that trains it a few steps, and a zoo entry.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.gans.base import GeneratorDiscriminatorModel, global_mean, optimizer_step, readout, run_without_state_updates
from tfgan_app.gans.registry import BuildContext, Family


@dataclasses.dataclass
class TemplateSettings:
    """``[template]``: only this family's own fields; ``metadata`` declares their ranges,
    which the config loader checks (and names the key on error)."""

    hidden_units: int = dataclasses.field(default=64, metadata={"min": 1})  # units per hidden layer of both MLPs
    hidden_layers: int = dataclasses.field(default=2, metadata={"min": 1})  # hidden layers of both MLPs


class TemplateBatch(NamedTuple):
    real: tf.Tensor  # [m, 1, ...]: real examples in [-1, 1] (k = 1 D update per step)
    z_discriminator: tf.Tensor  # [m, 1, noise_dim]: noise for the D update
    z_generator: tf.Tensor  # [m, noise_dim]: noise for the G update


class TemplateGAN(GeneratorDiscriminatorModel):
    """One generator and one discriminator: the base provides ``networks`` (what is
    checkpointed), ``generators`` (what an EMA averages) and ``exports`` (the averaged
    generator); a family with other networks writes those three itself (see ``base``)."""

    batch_type = TemplateBatch

    def __init__(self, generator: keras.Model, discriminator: keras.Model, ema_decay: float = 0.0, **kwargs):
        super().__init__(generator, discriminator, ("d_loss", "g_loss", "d_real", "d_fake"), ema_decay, **kwargs)

    @property
    def noise_dim(self) -> int:
        return int(self.generator.inputs[0].shape[-1])

    def compile(self, generator_optimizer, discriminator_optimizer, loss: str = "non_saturating", **kwargs) -> None:
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator.trainable_variables,
            self.discriminator.trainable_variables, loss, **kwargs,
        )

    # --- the algorithm -------------------------------------------------------------------

    def adversarial_step(self, batch: TemplateBatch) -> dict[str, Any]:
        real, z = batch.real[:, 0], batch.z_discriminator[:, 0]
        # D ascends log D(x) + log(1 - D(G(z))); G is run without changing its state.
        fake = tf.stop_gradient(run_without_state_updates(self.generator, z))
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = self.adversarial_loss.discriminator(real_logits, fake_logits)
            loss = global_mean(d_loss)
        optimizer_step(self.discriminator_optimizer, tape, loss, self.discriminator.trainable_variables)
        # G descends its loss on D(G(z)) with fresh noise; D's state is held fixed.
        with tf.GradientTape() as tape:
            generated = self.generator(batch.z_generator, training=True)
            g_loss = self.adversarial_loss.generator(run_without_state_updates(self.discriminator, generated))
            loss = global_mean(g_loss)
        optimizer_step(self.generator_optimizer, tape, loss, self.generator.trainable_variables)
        self.trackers["d_loss"].update_state(tf.reduce_mean(d_loss))
        self.trackers["g_loss"].update_state(tf.reduce_mean(g_loss))
        self.trackers["d_real"].update_state(readout(self.adversarial_loss, real_logits))
        self.trackers["d_fake"].update_state(readout(self.adversarial_loss, fake_logits))
        return {"generator": batch.z_generator}

    # --- what the trainer, exporter and evaluator call ------------------------------------

    def generate(self, z) -> tf.Tensor:
        return self.averaged()(tf.convert_to_tensor(z, tf.float32), training=False)

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"z": tf.random.stateless_normal([count, self.noise_dim], seed)}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int | None]:
        return self.generate(inputs["z"]).numpy(), None


def _networks(context: BuildContext) -> tuple[keras.Model, keras.Model]:
    """An MLP generator z -> data shape (tanh) and an MLP discriminator data -> one logit."""
    settings: TemplateSettings = context.settings
    shape, size = context.element_shape, int(np.prod(context.element_shape))
    z = keras.Input((context.config.model.latent_dim,), name="z")
    x = z
    for _ in range(settings.hidden_layers):
        x = keras.layers.Dense(settings.hidden_units, activation="relu")(x)
    x = keras.layers.Dense(size, activation="tanh", dtype="float32")(x)
    # The output layer's name is the exported output's name ("images" or "samples").
    samples = keras.layers.Reshape(shape, name="images" if len(shape) == 3 else "samples")(x)
    generator = keras.Model(z, samples, name="template_generator")
    data = keras.Input(shape, name="data")
    x = keras.layers.Flatten()(data)
    for _ in range(settings.hidden_layers):
        x = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(settings.hidden_units)(x))
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(x)
    return generator, keras.Model(data, logit, name="template_discriminator")


def build_template(context: BuildContext) -> TemplateGAN:
    model = TemplateGAN(*_networks(context), ema_decay=context.config.train.ema_decay)
    model.compile(context.generator_optimizer, context.discriminator_optimizer, context.config.loss.name)
    return model


FAMILIES = (
    Family(
        name="template",
        summary="the template family: a plain GAN between two MLPs, the starting point for a new family",
        build=build_template,
        settings=TemplateSettings,
        switches=frozenset({"train.ema_decay"}),
    ),
)
