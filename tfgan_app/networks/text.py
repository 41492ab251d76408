"""The character-level networks of Gulrajani et al. 2017 (sec. 5 and appendix: the WGAN-GP
language model): 1-D convolutional residual stacks. G maps noise to a softmax over the
vocabulary at every position; D reads such distributions (one-hot for real text) directly,
so no sampling sits between them and the gradient flows through G's softmax."""

from __future__ import annotations

import keras

RESIDUAL_SCALE = 0.3  # the reference code scales each block's branch by 0.3
KERNEL = 5


def residual_stack(x: keras.KerasTensor, width: int, blocks: int, name: str) -> keras.KerasTensor:
    """``blocks`` x [ReLU, Conv1D(k=5), ReLU, Conv1D(k=5)] + 0.3 x branch."""
    for index in range(blocks):
        branch = keras.layers.ReLU()(x)
        branch = keras.layers.Conv1D(width, KERNEL, padding="same", name=f"{name}_{index}_a")(branch)
        branch = keras.layers.ReLU()(branch)
        branch = keras.layers.Conv1D(width, KERNEL, padding="same", name=f"{name}_{index}_b")(branch)
        x = keras.layers.Add()([x, keras.layers.Rescaling(RESIDUAL_SCALE)(branch)])
    return x


def text_generator(latent_dim: int, length: int, vocabulary: int, width: int = 128, blocks: int = 5) -> keras.Model:
    """``z`` -> Dense(length x width) -> residual stack -> Conv1D(vocabulary, 1) -> softmax:
    ``characters`` [length, vocabulary], a distribution over the characters at each position."""
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(length * width, name="project")(z)
    x = keras.layers.Reshape((length, width))(x)
    x = residual_stack(x, width, blocks, "generator_block")
    x = keras.layers.Conv1D(vocabulary, 1, name="to_characters")(x)
    characters = keras.layers.Softmax(axis=-1, dtype="float32", name="characters")(x)
    return keras.Model(z, characters, name="text_generator")


def text_discriminator(length: int, vocabulary: int, width: int = 128, blocks: int = 5) -> keras.Model:
    """characters [length, vocabulary] -> Conv1D(width, 1) -> residual stack -> Dense(1):
    the critic's score (no normalisation: the gradient penalty is per example)."""
    data = keras.Input((length, vocabulary), name="data")
    x = keras.layers.Conv1D(width, 1, name="from_characters")(data)
    x = residual_stack(x, width, blocks, "critic_block")
    features = keras.layers.Flatten(name="features")(x)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(features)
    return keras.Model(data, {"logit": logit, "features": features}, name="text_discriminator")
