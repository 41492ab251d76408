"""A recurrent GAN for multivariate time series: Algorithm 1 with GRU/LSTM networks over
sequences (as in C-RNN-GAN, Mogren 2016, and the adversarial part of TimeGAN, Yoon et al.
2019), judged per time step. Everything else (losses, k, EMA...) is ``GAN``'s.

The pipeline draws ``length * noise_features`` normal numbers per example; G reads them as
noise at every time step, [length, noise_features].
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfgan_app.gans.gan import GAN


class SequenceGAN(GAN):
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
