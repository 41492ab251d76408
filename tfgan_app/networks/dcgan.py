"""DCGAN networks (Radford et al. 2016, "Unsupervised Representation Learning with DCGANs").

The paper's guidelines, kept here: strided convolutions instead of pooling in D and
transposed convolutions in G; batch norm in both (not on G's output nor D's input layer);
ReLU in G with tanh on the output; LeakyReLU(0.2) in D; no hidden fully connected layers
beyond the projection of z and D's final logit.

Sizes: the image side must be a base of 4 or 7 times a power of two (28, 32, 56, 64, 128, ...).
"""

from __future__ import annotations

import keras

from tfgan_app.networks.layers import (
    BatchNormalization, MinibatchStddev, discriminator_heads, discriminator_inputs, generator_inputs, maybe_spectral_norm,
    model_inputs,
)


def resolution_plan(image_size: int) -> tuple[int, int]:
    """Return (base side, number of 2x up/down-sampling steps) for an image side."""
    for base in (4, 7):
        steps, side = 0, base
        while side < image_size:
            side, steps = side * 2, steps + 1
        if side == image_size and steps >= 1:
            return base, steps
    raise ValueError(
        f"DCGAN image size {image_size} is not 4 or 7 times a power of two (e.g. 28, 32, 64)"
    )


def dcgan_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    width: int = 64,
    batch_norm_momentum: float = 0.9,
    synchronized_batch_norm: bool = False,
    num_classes: int = 0,
    code_dim: int = 0,
) -> keras.Model:
    """z (+ label embedding, + code) -> Dense(base*base*C) -> [ConvTranspose stride 2, BN, ReLU] x n -> ConvT + tanh.

    ``width`` is the filter count of the last hidden layer; each coarser layer doubles it.
    Synchronized batch norm computes statistics over the global batch under a distribution
    strategy, so several replicas train exactly like one device.
    """
    height, _, channels = image_shape
    base, steps = resolution_plan(height)
    top = width * 2 ** (steps - 1)

    def norm(name):
        return BatchNormalization(
            momentum=batch_norm_momentum, synchronized=synchronized_batch_norm, name=name
        )

    inputs, x = generator_inputs(latent_dim, num_classes, code_dim)
    x = keras.layers.Dense(base * base * top, use_bias=False, name="project")(x)
    x = norm("project_bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Reshape((base, base, top))(x)
    for index in range(steps - 1):
        filters = top // 2 ** (index + 1)
        x = keras.layers.Conv2DTranspose(
            filters, 4, strides=2, padding="same", use_bias=False, name=f"up_{index}"
        )(x)
        x = norm(f"up_{index}_bn")(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="to_image")(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(model_inputs(inputs), images, name="dcgan_generator")


def dcgan_discriminator(
    image_shape: tuple[int, int, int],
    width: int = 64,
    spectral_norm: bool = False,
    minibatch_stddev: bool = False,
    batch_norm_momentum: float = 0.9,
    synchronized_batch_norm: bool = False,
    num_classes: int = 0,
    auxiliary_outputs: int = 0,
    packing: int = 1,
    norm: str = "batch",
) -> keras.Model:
    """image -> [Conv stride 2, (norm), LeakyReLU] x n -> Flatten -> heads
    (``discriminator_heads``: the logit, the features, InfoGAN's q).

    With spectral norm the batch norm layers are left out: spectral normalisation already
    controls the layers' Lipschitz constants (Miyato et al. 2018) and their discriminators
    use none.
    """
    height = image_shape[0]
    _, steps = resolution_plan(height)
    inputs, x, label = discriminator_inputs(image_shape, num_classes, packing)
    for index in range(steps):
        conv = keras.layers.Conv2D(
            width * 2**index, 4, strides=2, padding="same", name=f"down_{index}"
        )
        x = maybe_spectral_norm(conv, spectral_norm)(x)
        if index > 0 and not spectral_norm and norm == "batch":
            x = BatchNormalization(
                momentum=batch_norm_momentum,
                synchronized=synchronized_batch_norm,
                name=f"down_{index}_bn",
            )(x)
        elif index > 0 and not spectral_norm and norm == "layer":
            x = keras.layers.LayerNormalization(name=f"down_{index}_ln")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    if minibatch_stddev:
        x = MinibatchStddev(name="minibatch_stddev")(x)
    x = keras.layers.Flatten(name="features")(x)
    outputs = discriminator_heads(x, label, num_classes, auxiliary_outputs, spectral_norm)
    return keras.Model(model_inputs(inputs), outputs, name="dcgan_discriminator")
