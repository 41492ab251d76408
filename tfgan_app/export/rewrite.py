"""Export-time rewrites that keep a network's function and move its work to faster kernels.

ONNX Runtime runs a transposed convolution as one thin GEMM per example outside its NCHWc
layout optimiser, while convolutions get both: at batch 256 the DCGAN generator's ONNX
model ran at 0.65-0.72x the SavedModel's images/s (benchmarks/RESULTS.md). A stride-2,
4x4, "same"-padded transposed convolution is exactly a 3x3 convolution with 4x the output
channels followed by DepthToSpace(2) (sub-pixel convolution; Shi et al. 2016 show the
equivalence). Derivation, per axis (TensorFlow pads the 2H-long output by 1 on each side):

    y[2m]     = x[m] K[1] + x[m - 1] K[3]
    y[2m + 1] = x[m] K[2] + x[m + 1] K[0]

so output phase p in {0, 1} reads the input at offsets -1, 0, +1 with the taps
``_TAPS[p]`` (None = 0), and the four phases (rows x columns) are the four channel groups
that DepthToSpace interleaves. Parity with the Keras network is checked by every export.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

# _TAPS[phase][offset + 1]: the transposed kernel's tap that input offset uses, or None.
_TAPS = ((3, 1, None), (None, 2, 0))


@keras.saving.register_keras_serializable(package="tfgan_app")
class SubPixelUpsample(keras.layers.Layer):
    """Conv2D(4F, 3x3, same) then DepthToSpace(2): what ``sub_pixel_weights`` turns a
    stride-2 4x4 transposed convolution into."""

    def __init__(self, filters: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.activation = keras.activations.get(activation)
        self.convolution = keras.layers.Conv2D(4 * filters, 3, padding="same", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.convolution.build(input_shape)

    def call(self, inputs):
        return self.activation(tf.nn.depth_to_space(self.convolution(inputs), 2))

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (batch, None if height is None else 2 * height, None if width is None else 2 * width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "activation": keras.activations.serialize(self.activation)}


def rewritable(layer) -> bool:
    """A Conv2DTranspose this module can rewrite exactly."""
    return (
        isinstance(layer, keras.layers.Conv2DTranspose)
        and tuple(layer.kernel_size) == (4, 4) and tuple(layer.strides) == (2, 2)
        and layer.padding == "same" and tuple(layer.dilation_rate) == (1, 1)
        and layer.data_format == "channels_last" and getattr(layer, "output_padding", None) is None
    )


def sub_pixel_weights(kernel: np.ndarray, bias: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """A transposed kernel [4, 4, F, C] (Keras' layout: out, in) and bias [F] -> the 3x3
    kernel [3, 3, C, 4F] and bias [4F] of the equivalent sub-pixel convolution."""
    filters, channels = kernel.shape[2], kernel.shape[3]
    weights = np.zeros((3, 3, channels, 4 * filters), kernel.dtype)
    for row_phase in (0, 1):
        for column_phase in (0, 1):
            group = slice((row_phase * 2 + column_phase) * filters, (row_phase * 2 + column_phase + 1) * filters)
            for dy, row_tap in enumerate(_TAPS[row_phase]):
                for dx, column_tap in enumerate(_TAPS[column_phase]):
                    if row_tap is not None and column_tap is not None:
                        weights[dy, dx, :, group] = kernel[row_tap, column_tap].T  # [F, C] -> [C, F]
    biases = np.tile(np.zeros(filters, kernel.dtype) if bias is None else bias, 4)
    return weights, biases


def without_transposed_convolutions(network: keras.Model) -> keras.Model:
    """The same function with every rewritable Conv2DTranspose replaced by its sub-pixel
    convolution (other layers shared, not copied); ``network`` itself when it has none."""
    if not any(rewritable(layer) for layer in network.layers):
        return network
    replaced: dict[str, SubPixelUpsample] = {}

    def clone(layer):
        if not rewritable(layer):
            return layer
        replaced[layer.name] = SubPixelUpsample(
            layer.filters, activation=keras.activations.serialize(layer.activation), name=f"{layer.name}_subpixel",
        )
        return replaced[layer.name]

    rewritten = keras.models.clone_model(network, clone_function=clone)
    for name, layer in replaced.items():
        original = network.get_layer(name)
        kernel = keras.ops.convert_to_numpy(original.kernel).astype(np.float32)
        bias = keras.ops.convert_to_numpy(original.bias).astype(np.float32) if original.use_bias else None
        layer.convolution.set_weights(list(sub_pixel_weights(kernel, bias)))
    return rewritten
