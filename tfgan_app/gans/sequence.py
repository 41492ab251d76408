"""A recurrent GAN for multivariate time series: Algorithm 1 with GRU/LSTM networks over
sequences (as in C-RNN-GAN, Mogren 2016, and the adversarial part of TimeGAN, Yoon et al.
2019), judged per time step. Everything else (losses, k, EMA...) is ``GAN``'s.

The pipeline draws ``length * noise_features`` normal numbers per example; G reads them as
noise at every time step, [length, noise_features].
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfgan_app.gans.gan import GAN, compile_noise_model, noise_model_options
from tfgan_app.gans.registry import SWITCHES, BuildContext, DataNeeds, Family


@dataclasses.dataclass
class SequenceSettings:
    """``[sequence]``: the recurrent networks."""

    cell: str = dataclasses.field(default="gru", metadata={"choices": ("gru", "lstm")})
    recurrent_units: int = dataclasses.field(default=24, metadata={"min": 1})
    recurrent_layers: int = dataclasses.field(default=3, metadata={"min": 1})


class SequenceGAN(GAN):
    noise_rank = 3
    @property
    def noise_dim(self) -> int:
        length, noise_features = self.generator.inputs[0].shape[1:]
        return int(length * noise_features)

    def generator_inputs(self, z: tf.Tensor, label: tf.Tensor | None):
        return tf.reshape(z, [-1, *self.generator.inputs[0].shape[1:]])

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """One picture: each feature of a few generated sequences over time."""
        from tfgan_app.training.plots import sequence_plot

        picture = sequence_plot(self.generate(inputs["z"]).numpy()[:6])
        return picture[None].astype(np.float32) / 127.5 - 1.0, 1


def build_sequence(context: BuildContext) -> SequenceGAN:
    from tfgan_app.networks.sequence import recurrent_discriminator, recurrent_generator

    settings: SequenceSettings = context.settings
    length, features = context.element_shape
    cell = (settings.recurrent_units, settings.recurrent_layers, settings.cell)
    generator = recurrent_generator(length, context.config.model.latent_dim, features, *cell)
    discriminator = recurrent_discriminator(length, features, *cell, context.config.model.minibatch_stddev)
    return compile_noise_model(SequenceGAN(generator, discriminator, **noise_model_options(context.config)), context)


def _load(data, settings):
    from tfgan_app.data.sources import load_sequences

    return load_sequences(data)


FAMILIES = (
    Family(
        name="sequence",
        summary="recurrent GAN for time series (GRU/LSTM G and per-step D)",
        build=build_sequence,
        settings=SequenceSettings,
        data=DataNeeds(load=_load, sequences=True),
        switches=frozenset(SWITCHES) - {
            "train.augment", "train.ada_target", "model.packing", "train.unrolled_steps",
            "train.freeze_discriminator_layers",
        },
    ),
)
