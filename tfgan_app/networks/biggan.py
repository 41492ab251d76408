"""BigGAN-style networks at small scale (Brock et al. 2019, "Large Scale GAN Training for
High Fidelity Natural Image Synthesis", sec. 3 and appendix B).

G: the latent z is split into one chunk per resolution (the hierarchical latent); each
residual up-block's batch norms take their gain and bias from a linear map of [shared
class embedding, that block's chunk] (class-conditional batch norm with a shared
embedding); nearest-neighbour upsampling and 3x3 convolutions. D: residual down-blocks,
ReLU, global sum pooling and a projection head (Miyato & Koyama 2018). Spectral norm
(``layers.SpectralNorm``) on every convolution, linear layer and D's class embedding
(Zhang et al. 2019's SAGAN, which BigGAN builds on), except the batch norms' gain and bias
maps, which start at zero so that every block begins as plain batch norm. The
self-attention block is left out at these sizes.

Global sum pooling makes D blind to where in the image a pattern is: classes that differ
by content (Fashion-MNIST's) suit it, classes that differ only by position do not (on the
tests' bar images, whose class is a bar's row, G then ignored the class).
"""

from __future__ import annotations

import keras
from keras import ops

from tfgan_app.networks.dcgan import resolution_plan
from tfgan_app.networks.layers import BatchNormalization, SpectralNorm, discriminator_inputs


def _latent_chunks(latent_dim: int, count: int) -> list[tuple[int, int]]:
    """(start, end) of ``count`` near-equal chunks of z (the first takes the remainder)."""
    size = latent_dim // count
    if size < 1:
        raise ValueError(f"BigGAN splits z into {count} chunks (one per resolution): latent_dim {latent_dim} is too small")
    first = latent_dim - size * (count - 1)
    return [(0, first)] + [(first + size * index, first + size * (index + 1)) for index in range(count - 1)]


def conditional_batch_norm(x, condition, momentum: float, name: str):
    """BN(x) * (1 + gain(c)) + bias(c): batch norm without its own scale and offset, which
    come from linear maps of the conditioning vector c (de Vries et al. 2017; Brock et al.
    2019 use 1 + gain; zero-initialised maps make a block start as plain batch norm)."""
    channels = x.shape[-1]
    normalised = BatchNormalization(center=False, scale=False, momentum=momentum, name=f"{name}_bn")(x)
    gain = keras.layers.Dense(channels, kernel_initializer="zeros", name=f"{name}_gain")(condition)
    bias = keras.layers.Dense(channels, kernel_initializer="zeros", name=f"{name}_bias")(condition)
    gain, bias = (keras.layers.Reshape((1, 1, channels))(value) for value in (gain, bias))
    return normalised * (1.0 + gain) + bias


def biggan_generator(
    latent_dim: int, image_shape: tuple[int, int, int], num_classes: int, width: int = 64,
    embedding_dim: int = 128, batch_norm_momentum: float = 0.9,
) -> keras.Model:
    """[z, label] -> images in [-1, 1]; ``width`` is the last block's filters, doubled per
    coarser block, as in the DCGAN builder."""
    height, _, channels = image_shape
    base, steps = resolution_plan(height)
    top = width * 2 ** (steps - 1)
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    shared = keras.layers.Embedding(
        num_classes, embedding_dim, name="shared_embedding"
    )(label)
    chunks = [z[:, start:end] for start, end in _latent_chunks(latent_dim, steps + 1)]
    x = SpectralNorm(keras.layers.Dense(base * base * top, name="project"))(chunks[0])
    x = keras.layers.Reshape((base, base, top))(x)
    for index in range(steps):
        filters = top // 2**index
        condition = keras.layers.Concatenate(name=f"up_{index}_condition")([shared, chunks[index + 1]])
        h = keras.layers.ReLU()(conditional_batch_norm(x, condition, batch_norm_momentum, f"up_{index}_norm_0"))
        h = keras.layers.UpSampling2D(2, name=f"up_{index}_upsample")(h)
        h = SpectralNorm(keras.layers.Conv2D(filters, 3, padding="same", name=f"up_{index}_conv_0"))(h)
        h = keras.layers.ReLU()(conditional_batch_norm(h, condition, batch_norm_momentum, f"up_{index}_norm_1"))
        h = SpectralNorm(keras.layers.Conv2D(filters, 3, padding="same", name=f"up_{index}_conv_1"))(h)
        skip = keras.layers.UpSampling2D(2)(x)
        skip = SpectralNorm(keras.layers.Conv2D(filters, 1, name=f"up_{index}_skip"))(skip)
        x = keras.layers.Add(name=f"up_{index}")([h, skip])
    x = keras.layers.ReLU()(BatchNormalization(momentum=batch_norm_momentum, name="output_bn")(x))
    x = SpectralNorm(keras.layers.Conv2D(channels, 3, padding="same", name="to_image"))(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model([z, label], images, name="biggan_generator")


def biggan_discriminator(image_shape: tuple[int, int, int], num_classes: int, width: int = 64) -> keras.Model:
    """[data, label] -> {logit, features}: residual down-blocks (the first without a
    leading ReLU, on the image itself), global sum pooling, projection head."""
    _, steps = resolution_plan(image_shape[0])
    inputs, x, label = discriminator_inputs(image_shape, num_classes)
    for index in range(steps):
        filters = width * 2**index
        h = x if index == 0 else keras.layers.ReLU()(x)
        h = SpectralNorm(keras.layers.Conv2D(filters, 3, padding="same", name=f"down_{index}_conv_0"))(h)
        h = SpectralNorm(keras.layers.Conv2D(filters, 3, padding="same", name=f"down_{index}_conv_1"))(keras.layers.ReLU()(h))
        h = keras.layers.AveragePooling2D(2, padding="same")(h)
        skip = SpectralNorm(keras.layers.Conv2D(filters, 1, name=f"down_{index}_skip"))(x)
        skip = keras.layers.AveragePooling2D(2, padding="same")(skip)
        x = keras.layers.Add(name=f"down_{index}")([h, skip])
    x = keras.layers.ReLU()(x)
    features = keras.layers.Activation("linear", dtype="float32", name="features")(ops.sum(x, axis=(1, 2)))
    # The projection head (Miyato & Koyama 2018, eq. 3), the class embedding spectrally
    # normalised too, as in Brock et al.'s D.
    logit = SpectralNorm(keras.layers.Dense(1, dtype="float32", name="logit"))(features)
    embedding = SpectralNorm(keras.layers.Embedding(num_classes, features.shape[-1], dtype="float32", name="class_projection"))(label)
    projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")([embedding, features])
    logit = keras.layers.Add(dtype="float32", name="conditional_logit")([logit, projection])
    return keras.Model(inputs, {"logit": logit, "features": features}, name="biggan_discriminator")


def with_truncation(generator: keras.Model) -> keras.Model:
    """[z, label, truncation] -> images: G(truncation * z, label), the truncation trick as an
    input of the deployed model (BigGAN's TF-Hub modules take it the same way: the caller's
    z scaled by ``truncation``; 1 is G itself, smaller trades variety for fidelity)."""
    z = keras.Input(generator.inputs[0].shape[1:], name="z")
    label = keras.Input((), dtype="int32", name="label")
    truncation = keras.Input((), name="truncation")
    images = generator([z * ops.expand_dims(truncation, -1), label])
    return keras.Model([z, label, truncation], images, name=f"{generator.name}_truncated")
