"""Text: the character-level WGAN-GP language model of Gulrajani et al. 2017 (sec. 5), and
the maximum-likelihood character language model every text GAN is compared with.

G maps noise to a softmax over the characters at each of the window's positions; D (a
critic) reads those distributions, and the real windows as one-hot rows, so the game needs
no sampling and no reinforcement learning: Algorithm 1 of WGAN-GP as ``GAN`` runs it, with
the Wasserstein loss and the gradient penalty set in the pipeline. A sample is read by
taking each position's most likely character. The data are windows of character ids
(``data.text``); the input pipeline turns them into one-hot rows.

The export is G: ``z`` in, ``characters`` [length, vocabulary] out (the distributions);
``export.json`` lists the ``vocabulary`` and ``generate`` writes the decoded text, one sample
per line.

``char_lm`` is the baseline: a GRU (or LSTM) predicting each character from the ones before
it, trained by maximum likelihood (teacher forcing: the cross-entropy of every next
character) on the same windows. Its export samples a window autoregressively from noise
``z`` [length] (``networks.text.autoregressive_sampler``) and returns the sampled characters
one-hot as ``characters``, so both export the same contract.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.data.sources import load_text
from tfgan_app.data.text import VOCABULARY, VOCABULARY_SIZE, decode
from tfgan_app.gans.base import AdversarialModel, global_mean, optimizer_step
from tfgan_app.gans.gan import GAN, compile_noise_model, noise_model_options
from tfgan_app.gans.registry import NOT_IMAGE_SWITCHES, BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, Noise
from tfgan_app.networks.text import autoregressive_sampler, char_language_model, text_discriminator, text_generator
from tfgan_app.plots import text_picture

PREVIEW_LINES = 16


@dataclasses.dataclass
class TextSettings:
    """``[text]``: the residual stacks of G and D."""

    width: int = dataclasses.field(default=128, metadata={"min": 1})  # channels of every block (512 in the paper)
    blocks: int = dataclasses.field(default=5, metadata={"min": 1})  # residual blocks in G and in D (5 in the paper)


class TextSamples:
    """What the text families share: samples decoded by each position's likeliest character
    (``generate`` gives [N, length, vocabulary]), shown as a picture of lines and as text."""

    vocabulary = VOCABULARY  # id i + 1 is VOCABULARY[i]; id 0 is any other character

    def input_kinds(self) -> dict[str, InputKind]:
        return {"z": Noise()}

    def texts(self, z: tf.Tensor) -> list[str]:
        """The decoded samples of noise ``z``."""
        return [decode(ids) for ids in np.argmax(self.generate(z).numpy(), axis=-1)]

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"z": tf.random.stateless_normal([min(count, PREVIEW_LINES), self.noise_dim], seed)}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        picture = text_picture(self.texts(inputs["z"]))
        return picture[None].astype(np.float32) / 127.5 - 1.0, 1

    def preview_text(self, inputs: dict) -> list[str]:
        return self.texts(inputs["z"])


class TextGAN(TextSamples, GAN):
    """Noise -> character distributions (module docstring)."""


@dataclasses.dataclass
class CharLMSettings:
    """``[char_lm]``: the recurrent language model."""

    cell: str = dataclasses.field(default="gru", metadata={"choices": ("gru", "lstm")})  # the recurrent cell
    units: int = dataclasses.field(default=256, metadata={"min": 1})  # units per recurrent layer
    layers: int = dataclasses.field(default=1, metadata={"min": 1})  # stacked recurrent layers


class TextBatch(NamedTuple):
    real: tf.Tensor  # [m, 1, length, vocabulary]: one-hot windows


class CharLanguageModel(TextSamples, AdversarialModel):
    """Maximum likelihood on the windows: the mean cross-entropy of each next character given
    the ones before it. No discriminator: its optimizer is kept (and unused) so the run has
    the trainer's usual checkpoint layout."""

    batch_type = TextBatch

    def __init__(self, language_model: keras.Model, **kwargs):
        super().__init__(("nll", "accuracy"), **kwargs)
        self.language_model = language_model
        self.sampler = autoregressive_sampler(language_model)

    def compile(self, generator_optimizer, discriminator_optimizer, loss: str = "non_saturating", **kwargs) -> None:
        self.compile_adversarial(generator_optimizer, discriminator_optimizer,
                                 self.language_model.trainable_variables, [], loss, **kwargs)

    def networks(self) -> dict[str, keras.Model]:
        return {"language_model": self.language_model}

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.sampler}

    def adversarial_step(self, batch: TextBatch) -> dict[str, Any]:
        real = batch.real[:, 0]
        previous = tf.concat([tf.zeros_like(real[:, :1]), real[:, :-1]], axis=1)
        with tf.GradientTape() as tape:
            logits = self.language_model(previous, training=True)
            per_position = tf.nn.softmax_cross_entropy_with_logits(real, logits)
            per_example = tf.reduce_mean(per_position, axis=1)
            loss = global_mean(per_example)
        optimizer_step(self.generator_optimizer, tape, loss, self.language_model.trainable_variables)
        correct = tf.cast(tf.argmax(logits, -1) == tf.argmax(real, -1), tf.float32)
        self.trackers["nll"].update_state(tf.reduce_mean(per_example))
        self.trackers["accuracy"].update_state(tf.reduce_mean(correct))
        return {}

    def generate(self, z: tf.Tensor) -> tf.Tensor:
        return self.sampler(tf.convert_to_tensor(z, tf.float32), training=False)

    @property
    def noise_dim(self) -> int:
        """One normal number per position: what the sampler turns into its choices."""
        return int(self.sampler.inputs[0].shape[1])


def build_char_lm(context: BuildContext) -> CharLanguageModel:
    settings: CharLMSettings = context.settings
    length, vocabulary = context.element_shape
    model = CharLanguageModel(char_language_model(length, vocabulary, settings.units, settings.layers, settings.cell))
    model.compile(context.generator_optimizer, context.discriminator_optimizer)
    return model


def build_text(context: BuildContext) -> TextGAN:
    settings: TextSettings = context.settings
    length, vocabulary = context.element_shape
    generator = text_generator(context.config.model.latent_dim, length, vocabulary, settings.width, settings.blocks)
    discriminator = text_discriminator(length, vocabulary, settings.width, settings.blocks)
    return compile_noise_model(TextGAN(generator, discriminator, **noise_model_options(context)), context)


def _load(data, settings):
    return load_text(data)  # which refuses a data.name that is not a text source


def _one_hot(source, config):
    """Windows of ids -> one-hot rows [length, vocabulary], in the input pipeline."""
    (length,) = source.element_shape
    return source.transform_real((length, VOCABULARY_SIZE), lambda ids: tf.one_hot(tf.cast(ids, tf.int32), VOCABULARY_SIZE))


FAMILIES = (
    Family(
        name="char_lm",
        summary="character-level recurrent language model by maximum likelihood: the text GANs' baseline",
        build=build_char_lm,
        settings=CharLMSettings,
        data=DataNeeds(load=_load, prepare=_one_hot),
    ),
    Family(
        name="text",
        summary="character-level WGAN-GP language model (Gulrajani et al. 2017): softmax G, one-hot D",
        build=build_text,
        settings=TextSettings,
        data=DataNeeds(load=_load, prepare=_one_hot),
        switches=NOT_IMAGE_SWITCHES,
    ),
)
