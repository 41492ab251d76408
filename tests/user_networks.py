"""Networks a user writes with plain Keras layers (no tfgan_app builders, no special names):
the Python API tests use them directly, and the pipeline tests name them as
``model.generator = "tests.user_networks:generator"``."""

from __future__ import annotations

import keras


def generator(latent_dim: int = 16, data_shape=(28, 28, 1), num_classes: int = 0, code_dim: int = 0) -> keras.Model:
    """z [latent_dim] (and a label) -> a 28x28 image in [-1, 1]."""
    z = keras.Input((latent_dim,))
    inputs, x = [z], z
    if num_classes:
        label = keras.Input((), dtype="int32")
        inputs.append(label)
        x = keras.layers.Concatenate()([z, keras.layers.Embedding(num_classes, 8)(label)])
    x = keras.layers.Dense(7 * 7 * 16, activation="relu")(x)
    x = keras.layers.Reshape((7, 7, 16))(x)
    x = keras.layers.Conv2DTranspose(8, 4, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2DTranspose(data_shape[-1], 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(inputs if num_classes else z, x)


def discriminator(data_shape=(28, 28, 1), num_classes: int = 0, code_dim: int = 0) -> keras.Model:
    """An image (and a label) -> one logit per example, as a plain tensor."""
    image = keras.Input(data_shape)
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(8, 4, strides=2, padding="same")(image))
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(16, 4, strides=2, padding="same")(x))
    x = keras.layers.Flatten()(x)
    if not num_classes:
        return keras.Model(image, keras.layers.Dense(1)(x))
    label = keras.Input((), dtype="int32")
    x = keras.layers.Concatenate()([x, keras.layers.Embedding(num_classes, 8)(label)])
    return keras.Model([image, label], keras.layers.Dense(1)(x))
