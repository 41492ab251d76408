"""Text: the character-level WGAN-GP language model of Gulrajani et al. 2017 (sec. 5).

G maps noise to a softmax over the characters at each of the window's positions; D (a
critic) reads those distributions, and the real windows as one-hot rows, so the game needs
no sampling and no reinforcement learning: Algorithm 1 of WGAN-GP as ``GAN`` runs it, with
the Wasserstein loss and the gradient penalty set in the pipeline. A sample is read by
taking each position's most likely character. The data are windows of character ids
(``data.text``); the input pipeline turns them into one-hot rows.

The export is G: ``z`` in, ``characters`` [length, vocabulary] out (the distributions);
``export.json`` lists the ``vocabulary`` and ``generate`` writes the decoded text, one sample
per line.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.config import TEXT_SOURCES
from tfgan_app.data.sources import DataError, load_text
from tfgan_app.data.text import VOCABULARY, VOCABULARY_SIZE, decode
from tfgan_app.gans.gan import GAN, compile_noise_model, noise_model_options
from tfgan_app.gans.registry import NOT_IMAGE_SWITCHES, BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, Noise
from tfgan_app.networks.text import text_discriminator, text_generator
from tfgan_app.plots import text_picture

PREVIEW_LINES = 16


@dataclasses.dataclass
class TextSettings:
    """``[text]``: the residual stacks of G and D."""

    width: int = dataclasses.field(default=128, metadata={"min": 1})  # channels of every block (512 in the paper)
    blocks: int = dataclasses.field(default=5, metadata={"min": 1})  # residual blocks in G and in D (5 in the paper)


class TextGAN(GAN):
    """Noise -> character distributions; samples decoded by argmax (module docstring)."""

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


def build_text(context: BuildContext) -> TextGAN:
    settings: TextSettings = context.settings
    length, vocabulary = context.element_shape
    generator = text_generator(context.config.model.latent_dim, length, vocabulary, settings.width, settings.blocks)
    discriminator = text_discriminator(length, vocabulary, settings.width, settings.blocks)
    return compile_noise_model(TextGAN(generator, discriminator, **noise_model_options(context)), context)


def _load(data, settings):
    if data.name not in TEXT_SOURCES:
        raise DataError(f"data.name {data.name!r}: the text family trains on {' or '.join(TEXT_SOURCES)} (text)")
    return load_text(data)


def _one_hot(source, config):
    """Windows of ids -> one-hot rows [length, vocabulary], in the input pipeline."""
    (length,) = source.element_shape
    return source.transform_real((length, VOCABULARY_SIZE), lambda ids: tf.one_hot(tf.cast(ids, tf.int32), VOCABULARY_SIZE))


FAMILIES = (
    Family(
        name="text",
        summary="character-level WGAN-GP language model (Gulrajani et al. 2017): softmax G, one-hot D",
        build=build_text,
        settings=TextSettings,
        data=DataNeeds(load=_load, prepare=_one_hot),
        switches=NOT_IMAGE_SWITCHES,
    ),
)
