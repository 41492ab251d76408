"""MLP generator and discriminator for vectors: toy 1-D/2-D data and tabular tuples."""

from __future__ import annotations

import keras

from tfgan_app.networks.layers import MinibatchStddev, maybe_spectral_norm


def mlp_generator(
    latent_dim: int, output_dim: int, hidden_units: int = 128, hidden_layers: int = 2
) -> keras.Model:
    """z -> [Dense -> ReLU] x hidden_layers -> Dense (linear output: data is unbounded)."""
    z = keras.Input((latent_dim,), name="z")
    x = z
    for index in range(hidden_layers):
        x = keras.layers.Dense(hidden_units, activation="relu", name=f"hidden_{index}")(x)
    outputs = keras.layers.Dense(output_dim, name="samples")(x)
    return keras.Model(z, outputs, name="mlp_generator")


def mlp_discriminator(
    input_dim: int,
    hidden_units: int = 128,
    hidden_layers: int = 2,
    spectral_norm: bool = False,
    minibatch_stddev: bool = False,
) -> keras.Model:
    """x -> [Dense -> LeakyReLU(0.2)] x hidden_layers -> Dense(1) logit."""
    inputs = keras.Input((input_dim,), name="x")
    x = inputs
    for index in range(hidden_layers):
        x = maybe_spectral_norm(keras.layers.Dense(hidden_units, name=f"hidden_{index}"), spectral_norm)(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    if minibatch_stddev:
        x = MinibatchStddev(name="minibatch_stddev")(x)
    logits = maybe_spectral_norm(keras.layers.Dense(1, name="logit"), spectral_norm)(x)
    return keras.Model(inputs, logits, name="mlp_discriminator")
