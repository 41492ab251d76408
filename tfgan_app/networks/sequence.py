"""Recurrent networks for sequences [length, features] (TimeGAN's generator and
discriminator shape, Yoon et al. 2019): stacked GRU or LSTM layers, per-step outputs."""

from __future__ import annotations

import keras

from tfgan_app.networks.layers import MinibatchStddev


def _recurrent_stack(x: keras.KerasTensor, cell: str, units: int, layers: int, prefix: str) -> keras.KerasTensor:
    layer = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    for index in range(layers):
        x = layer(units, return_sequences=True, name=f"{prefix}_{cell}_{index}")(x)
    return x


def recurrent_network(
    length: int, in_features: int, out_features: int, units: int = 24, layers: int = 3, cell: str = "gru",
    name: str = "recurrent_network", input_name: str = "sequences", output_name: str = "outputs", prefix: str = "",
) -> keras.Model:
    """[length, in_features] -> [length, out_features] in [0, 1]: stacked recurrent layers and
    a per-step sigmoid layer. TimeGAN's five networks have this shape (Yoon et al. 2019,
    sec. 4; its latent codes are sigmoid outputs too)."""
    inputs = keras.Input((length, in_features), name=input_name)
    x = _recurrent_stack(inputs, cell, units, layers, prefix or name)
    outputs = keras.layers.Dense(out_features, activation="sigmoid", dtype="float32", name=output_name)(x)
    return keras.Model(inputs, outputs, name=name)


def recurrent_generator(
    length: int, noise_features: int, features: int, units: int = 24, layers: int = 3, cell: str = "gru"
) -> keras.Model:
    """``z`` [length, noise_features] (noise at every step) -> ``sequences`` [length,
    features] in [0, 1] (sigmoid, matching min-max scaled data)."""
    return recurrent_network(
        length, noise_features, features, units, layers, cell, "recurrent_generator", "z", "sequences", prefix="generator",
    )


def recurrent_discriminator(
    length: int, features: int, units: int = 24, layers: int = 3, cell: str = "gru", minibatch_stddev: bool = False
) -> keras.Model:
    """``data`` [length, features] -> ``logit`` per step [length, 1] (averaged per sequence
    by the losses) and ``features``, the last step's hidden state. With
    ``minibatch_stddev`` the last layer also sees the batch's spread of the hidden states
    at each step (Karras et al. 2018), which exposes a generator with too little variety."""
    data = keras.Input((length, features), name="data")
    x = _recurrent_stack(data, cell, units, layers, "discriminator")
    if minibatch_stddev:
        x = MinibatchStddev(name="minibatch_stddev")(x)
    x = keras.layers.Activation("linear", dtype="float32", name="hidden_float32")(x)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(x)
    last = keras.layers.Lambda(lambda values: values[:, -1], dtype="float32", name="features")(x)
    return keras.Model(data, {"logit": logit, "features": last}, name="recurrent_discriminator")
