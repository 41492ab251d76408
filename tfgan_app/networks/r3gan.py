"""R3GAN-style networks (Huang et al. 2024, "The GAN is dead; long live the GAN! A modern GAN
baseline", sec. 3.3-3.4 and fig. 4; reference code brownvc/R3GAN, ``R3GAN/Networks.py``).

What makes them the paper's, kept here:
- ResNet generator and discriminator, mirror images of each other, with no normalisation
  layer anywhere (the R1 + R2 penalties, not normalisation, keep training stable);
- each residual block is an inverted bottleneck: 1x1 convolution to ``expansion`` times the
  width, a 3x3 convolution in ``cardinality`` groups, a 1x1 convolution back; leaky ReLU
  (0.2) after the first two, and the last one starts at zero, so every block starts as the
  identity;
- fix-up style initialisation (Zhang et al. 2019): the first two layers' He-normal
  initialisation is scaled by L^(-1/4), L the number of residual blocks of the network
  (L^(-1/(2m-2)) with m = 3 layers per block);
- resampling by a fixed [1, 2, 1] low-pass filter, with 1x1 convolutions changing widths
  (no transposed or strided convolutions): G changes width then upsamples, D downsamples
  then changes width;
- G starts from a learned base x base basis scaled per channel by a linear map of z and ends
  in a 1x1 convolution to the image; D ends in a base x base depthwise convolution (a
  learned spatial pooling) and a linear logit.

One change from the paper: G's output goes through tanh, as every image generator here
does (the exports promise images in [-1, 1]). Without it, on the tests' small data at the
learning rates of a short CPU budget, G's unbounded outputs grew until D separated them
(logits -20 to -40 within 300 steps at every gamma tried, 0.1 to 10); with it the same runs
stay at the pairing game's equilibrium (D loss near log 2).

Widths: the finest stage has ``width`` channels, each coarser stage doubles it (as the
DCGAN builders do); ``blocks_per_stage`` residual blocks per stage. Class conditioning:
G adds a learned class embedding to the projected z; D is a projection discriminator
(Miyato & Koyama 2018: logit + <embed(y), features>).

Measured on this project's CPU (TensorFlow 2.21 with oneDNN): a 3x3 convolution in 8 groups
runs at 18 GFLOP/s against 320 for the dense one, slower in wall time than the dense
convolution with 8x the FLOPs, so the presets use ``cardinality = 1``; on a GPU the paper's
grouped blocks are the better choice.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.networks.dcgan import resolution_plan
from tfgan_app.networks.layers import discriminator_heads, discriminator_inputs, generator_inputs, model_inputs

LEAKY_SLOPE = 0.2
LEAKY_GAIN = math.sqrt(2.0 / (1.0 + LEAKY_SLOPE**2))  # He et al. 2015 gain of a leaky ReLU


def he_normal(gain: float = 1.0) -> keras.initializers.Initializer:
    """Normal(0, gain / sqrt(fan_in)) (the reference code's ``MSRInitializer``)."""
    return keras.initializers.VarianceScaling(scale=gain**2, mode="fan_in", distribution="untruncated_normal")


@keras.saving.register_keras_serializable(package="tfgan_app")
class LowPassUpsample(keras.layers.Layer):
    """2x upsampling by zero insertion and the [1, 2, 1] filter (gain 2 per axis):
    out[2i] = x[i], out[2i + 1] = (x[i] + x[i + 1]) / 2, zero beyond the border (as the
    reference's upfirdn).

    Written as nearest-neighbour 2x upsampling followed by a 2x2 box filter (mean of 4,
    zero padding after the border): out[2i] = (x[i] + x[i]) / 2 and out[2i + 1] =
    (x[i] + x[i + 1]) / 2 per axis, the same function. Both steps are ones ONNX Runtime
    runs in its blocked NCHWc layout next to the convolutions (a resize in "asymmetric"
    nearest mode and a depthwise convolution), so the export needs no layout reorders
    around them; shifts and interleaves ran as NCHW transposes and concatenations.
    Measured on a conv-upsample-block slice at batch 256 (ms): ONNX Runtime 144 against 217-241,
    TensorFlow 115 against 153, and training (forward + gradient) as fast in bfloat16 and 2x
    faster in float32.
    """

    def call(self, inputs):
        height, width, channels = inputs.shape[1:]
        # TensorFlow's op, not keras.ops.image.resize (half-pixel centres only): without
        # half-pixel centres tf2onnx emits the asymmetric nearest Resize, the only kind ONNX
        # Runtime runs in its blocked NCHWc layout.
        nearest = tf.raw_ops.ResizeNearestNeighbor(
            images=inputs, size=[2 * height, 2 * width], align_corners=False, half_pixel_centers=False
        )
        box = keras.ops.full((2, 2, channels, 1), 0.25, dtype=inputs.dtype)
        # "same" with an even kernel pads only after the border: the zero beyond it.
        return keras.ops.depthwise_conv(nearest, box, strides=1, padding="same")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return batch, 2 * height, 2 * width, channels


@keras.saving.register_keras_serializable(package="tfgan_app")
class LowPassDownsample(keras.layers.Layer):
    """2x downsampling by the [1, 2, 1] / 4 filter per axis and stride 2:
    out[i] = (x[2i - 1] + 2 x[2i] + x[2i + 1]) / 4, zero beyond the border."""

    def build(self, input_shape):
        taps = np.array([1.0, 2.0, 1.0]) / 4.0
        kernel = np.outer(taps, taps)[:, :, None, None] * np.ones((1, 1, input_shape[-1], 1))
        self.kernel = keras.ops.convert_to_tensor(kernel.astype("float32"))

    def call(self, inputs):
        padded = keras.ops.pad(inputs, [(0, 0), (1, 1), (1, 1), (0, 0)])
        return keras.ops.depthwise_conv(padded, keras.ops.cast(self.kernel, inputs.dtype), strides=2, padding="valid")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return batch, height // 2, width // 2, channels


def residual_block(x, expansion: int, cardinality: int, total_blocks: int, name: str):
    """x + conv1x1(act(conv3x3_grouped(act(conv1x1_expand(x))))), the last conv zero-initialised."""
    width = x.shape[-1]
    expanded = width * expansion
    if expanded % cardinality:
        raise ValueError(f"r3gan: {expanded} expanded channels do not split into {cardinality} groups (model.cardinality)")
    gain = LEAKY_GAIN * total_blocks ** (-1.0 / 4.0)
    h = keras.layers.Conv2D(expanded, 1, kernel_initializer=he_normal(gain), name=f"{name}_expand")(x)
    h = keras.layers.LeakyReLU(LEAKY_SLOPE)(h)
    h = keras.layers.Conv2D(
        expanded, 3, padding="same", groups=cardinality, kernel_initializer=he_normal(gain), name=f"{name}_grouped"
    )(h)
    h = keras.layers.LeakyReLU(LEAKY_SLOPE)(h)
    h = keras.layers.Conv2D(width, 1, use_bias=False, kernel_initializer="zeros", name=f"{name}_project")(h)
    return keras.layers.Add(name=f"{name}_residual")([x, h])


def stage_widths(image_size: int, width: int) -> tuple[int, list[int]]:
    """(base side, widths coarsest first): one stage per resolution, doubling per coarser one."""
    base, steps = resolution_plan(image_size)
    return base, [width * 2 ** (steps - index) for index in range(steps + 1)]


def r3gan_generator(
    latent_dim: int,
    image_shape: tuple[int, int, int],
    width: int = 64,
    blocks_per_stage: int = 1,
    cardinality: int = 1,
    expansion: int = 2,
    num_classes: int = 0,
    code_dim: int = 0,
) -> keras.Model:
    """z (+ label embedding, + code) -> basis * linear(z) -> [blocks, 1x1 width change, upsample] per stage -> 1x1 to image."""
    height, _, channels = image_shape
    base, widths = stage_widths(height, width)
    total_blocks = blocks_per_stage * len(widths)
    inputs, x = generator_inputs(latent_dim, num_classes, code_dim)
    scale = keras.layers.Dense(widths[0], use_bias=False, kernel_initializer=he_normal(), name="basis_scale")(x)
    x = GenerativeBasis(base, name="basis")(scale)
    for stage, stage_width in enumerate(widths):
        if stage:
            x = keras.layers.Conv2D(stage_width, 1, use_bias=False, kernel_initializer=he_normal(), name=f"to_width_{stage}")(x)
            x = LowPassUpsample(name=f"upsample_{stage}")(x)
        for block in range(blocks_per_stage):
            x = residual_block(x, expansion, cardinality, total_blocks, f"g{stage}_{block}")
    x = keras.layers.Conv2D(channels, 1, kernel_initializer=he_normal(), name="to_image")(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(model_inputs(inputs), images, name="r3gan_generator")


@keras.saving.register_keras_serializable(package="tfgan_app")
class GenerativeBasis(keras.layers.Layer):
    """A learned [side, side, C] basis, scaled per channel by the input [batch, C]."""

    def __init__(self, side: int, **kwargs):
        super().__init__(**kwargs)
        self.side = side

    def build(self, input_shape):
        self.basis = self.add_weight(
            shape=(self.side, self.side, input_shape[-1]), initializer=keras.initializers.RandomNormal(0.0, 1.0), name="basis"
        )

    def call(self, scale):
        return keras.ops.cast(self.basis, scale.dtype)[None] * scale[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[0], self.side, self.side, input_shape[-1]

    def get_config(self):
        return {**super().get_config(), "side": self.side}


def r3gan_discriminator(
    image_shape: tuple[int, int, int],
    width: int = 64,
    blocks_per_stage: int = 1,
    cardinality: int = 1,
    expansion: int = 2,
    num_classes: int = 0,
    auxiliary_outputs: int = 0,
    packing: int = 1,
) -> keras.Model:
    """image -> 1x1 to width -> [blocks, downsample, 1x1 width change] per stage -> depthwise
    base x base -> heads (``discriminator_heads``: the logit, projection when conditional,
    the features, InfoGAN's q)."""
    height = image_shape[0]
    base, widths = stage_widths(height, width)
    widths = widths[::-1]  # finest first
    total_blocks = blocks_per_stage * len(widths)
    inputs, x, label = discriminator_inputs(image_shape, num_classes, packing)
    x = keras.layers.Conv2D(widths[0], 1, kernel_initializer=he_normal(LEAKY_GAIN), name="from_image")(x)
    x = keras.layers.LeakyReLU(LEAKY_SLOPE)(x)
    for stage, stage_width in enumerate(widths):
        if stage:
            x = LowPassDownsample(name=f"downsample_{stage}")(x)
            x = keras.layers.Conv2D(stage_width, 1, use_bias=False, kernel_initializer=he_normal(), name=f"to_width_{stage}")(x)
        for block in range(blocks_per_stage):
            x = residual_block(x, expansion, cardinality, total_blocks, f"d{stage}_{block}")
    x = keras.layers.DepthwiseConv2D(base, use_bias=False, depthwise_initializer=he_normal(), name="basis")(x)
    features = keras.layers.Flatten(name="features")(x)
    outputs = discriminator_heads(features, label, num_classes, auxiliary_outputs)
    return keras.Model(model_inputs(inputs), outputs, name="r3gan_discriminator")
