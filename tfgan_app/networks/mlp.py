"""MLP generator and discriminator for vectors: toy 1-D/2-D data and tabular tuples."""

from __future__ import annotations

import keras

from tfgan_app.networks.layers import (
    MinibatchStddev, discriminator_heads, discriminator_inputs, generator_inputs, maybe_spectral_norm,
    model_inputs,
)


def mlp_generator(
    latent_dim: int,
    output_dim: int,
    hidden_units: int = 128,
    hidden_layers: int = 2,
    num_classes: int = 0,
    code_dim: int = 0,
) -> keras.Model:
    """z (+ label embedding, + code) -> [Dense -> ReLU] x hidden_layers -> Dense.

    The output is linear: toy and tabular data are unbounded.
    """
    inputs, x = generator_inputs(latent_dim, num_classes, code_dim)
    for index in range(hidden_layers):
        x = keras.layers.Dense(hidden_units, activation="relu", name=f"hidden_{index}")(x)
    outputs = keras.layers.Dense(output_dim, name="samples")(x)
    return keras.Model(model_inputs(inputs), outputs, name="mlp_generator")


def mlp_discriminator(
    input_dim: int,
    hidden_units: int = 128,
    hidden_layers: int = 2,
    spectral_norm: bool = False,
    minibatch_stddev: bool = False,
    num_classes: int = 0,
    auxiliary_outputs: int = 0,
    packing: int = 1,
) -> keras.Model:
    """x -> [Dense -> LeakyReLU(0.2)] x hidden_layers -> heads (see ``discriminator_heads``)."""
    inputs, x, label = discriminator_inputs((input_dim,), num_classes, packing)
    for index in range(hidden_layers):
        x = maybe_spectral_norm(keras.layers.Dense(hidden_units, name=f"hidden_{index}"), spectral_norm)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    if minibatch_stddev:
        x = MinibatchStddev(name="minibatch_stddev")(x)
    outputs = discriminator_heads(x, label, num_classes, auxiliary_outputs, spectral_norm)
    return keras.Model(model_inputs(inputs), outputs, name="mlp_discriminator")
