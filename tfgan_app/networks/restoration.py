"""Generators that restore images: SRGAN's super-resolution network and an inpainting
context encoder. Both follow the export contract: inputs ``image`` (and ``mask``), output
``images`` in [-1, 1] (float32)."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfgan_app.networks.translation import unet


@keras.saving.register_keras_serializable(package="tfgan_app")
class PixelShuffle(keras.layers.Layer):
    """Sub-pixel convolution's rearrangement (Shi et al. 2016): [H, W, C r^2] -> [rH, rW, C],
    the upsampling SRGAN's generator uses (ONNX: DepthToSpace)."""

    def __init__(self, factor: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return tf.nn.depth_to_space(inputs, self.factor)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = lambda side: None if side is None else side * self.factor  # noqa: E731
        return (batch, grow(height), grow(width), channels // self.factor**2)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def srresnet_generator(
    low_resolution_shape: tuple[int, int, int], scale: int, width: int = 64, residual_blocks: int = 16
) -> keras.Model:
    """SRResNet (Ledig et al. 2017, fig. 4): conv 9x9 + PReLU, residual blocks, a long skip,
    log2(scale) sub-pixel x2 upsamplings, conv 9x9 to the image. Two changes, both for
    short training on small images: no batch norm in the blocks (Lim et al. 2017, EDSR,
    found it hurts SR), and the network predicts a correction to a bilinear upsampling of
    its input rather than the whole image."""
    if scale < 2 or 2 ** round(math.log2(scale)) != scale:
        raise ValueError(f"the super-resolution scale must be a power of two >= 2, got {scale}")
    channels = low_resolution_shape[-1]
    image = keras.Input(low_resolution_shape, name="image")

    def prelu(name):
        return keras.layers.PReLU(shared_axes=[1, 2], name=name)

    x = prelu("stem_prelu")(keras.layers.Conv2D(width, 9, padding="same", name="stem")(image))
    stem = x
    for index in range(residual_blocks):
        y = prelu(f"res_{index}_prelu")(keras.layers.Conv2D(width, 3, padding="same", name=f"res_{index}_0")(x))
        y = keras.layers.Conv2D(width, 3, padding="same", name=f"res_{index}_1")(y)
        x = keras.layers.Add(name=f"res_{index}")([x, y])
    x = keras.layers.Conv2D(width, 3, padding="same", name="trunk_end")(x)
    x = keras.layers.Add(name="long_skip")([stem, x])
    for index in range(round(math.log2(scale))):
        x = keras.layers.Conv2D(width * 4, 3, padding="same", name=f"up_{index}")(x)
        x = prelu(f"up_{index}_prelu")(PixelShuffle(2, name=f"shuffle_{index}")(x))
    correction = keras.layers.Conv2D(channels, 9, padding="same", dtype="float32", name="correction")(x)
    base = keras.layers.UpSampling2D(scale, interpolation="bilinear", dtype="float32", name="bilinear")(image)
    images = keras.layers.Add(dtype="float32", name="images")([base, correction])
    return keras.Model(image, images, name="srresnet_generator")


def inpainting_generator(image_shape: tuple[int, int, int], width: int = 64, depth: int = 8) -> keras.Model:
    """A context encoder (Pathak et al. 2016) as a U-Net over the holed image and its mask
    (1 = missing). The output keeps the known pixels and takes the prediction in the hole,
    so a deployed model returns the finished image."""
    image = keras.Input(image_shape, name="image")
    mask = keras.Input((*image_shape[:2], 1), name="mask")
    prediction = unet(keras.layers.Concatenate(name="image_and_mask")([image, mask]), image_shape[-1], width, depth)
    keep = keras.layers.Subtract(name="known")([image, keras.layers.Multiply(name="cut")([image, mask])])
    fill = keras.layers.Multiply(dtype="float32", name="hole")([prediction, mask])
    images = keras.layers.Add(dtype="float32", name="images")([keep, fill])
    return keras.Model([image, mask], images, name="inpainting_generator")
