"""Layers the GAN literature adds to discriminators."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfgan_app")
class MinibatchStddev(keras.layers.Layer):
    """Appends the mean across-batch standard deviation as one extra feature.

    Karras et al. 2018, "Progressive Growing of GANs", sec. 3: a discriminator that sees a
    statistic of the whole minibatch can tell a collapsed generator (low variety) from real
    data. Groups of ``group_size`` examples share a statistic, so the layer works for any
    batch divisible by the group size (smaller batches use one group).
    """

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        group = ops.minimum(self.group_size, batch)
        feature_shape = ops.shape(inputs)[1:]
        grouped = ops.reshape(inputs, (group, -1, *feature_shape))
        stddev = ops.sqrt(ops.var(grouped, axis=0) + 1e-8)  # [batch/group, *features]
        per_group = ops.mean(ops.reshape(stddev, (ops.shape(stddev)[0], -1)), axis=1)
        per_example = ops.tile(per_group, (group,))  # matches the grouped reshape order
        extra = ops.broadcast_to(
            ops.reshape(per_example, (-1, *([1] * (len(inputs.shape) - 1)))),
            (*ops.shape(inputs)[:-1], 1),
        )
        return ops.concatenate([inputs, ops.cast(extra, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


def maybe_spectral_norm(layer: keras.layers.Layer, enabled: bool) -> keras.layers.Layer:
    """Wrap in ``keras.layers.SpectralNormalization`` (Miyato et al. 2018) when enabled."""
    return keras.layers.SpectralNormalization(layer) if enabled else layer
