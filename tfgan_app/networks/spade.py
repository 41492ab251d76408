"""SPADE networks (Park et al. 2019, "Semantic Image Synthesis with Spatially-Adaptive
Normalization", sec. 3 and appendix A).

- ``spade``: batch norm without its own scale and shift, then a per-pixel scale and shift
  computed from the label map by a small convolutional net (eq. 1: gamma and beta vary
  over (y, x), so the map's layout survives normalisation, which plain conditional batch
  norm washes out);
- ``spade_residual_block``: SPADE -> ReLU -> 3x3 conv, twice, with a learned 1x1 shortcut
  (itself SPADE-normalised) when the width changes (fig. 4, right);
- the generator: z -> a base x base tensor -> [SPADE block, 2x nearest upsampling] per
  stage -> SPADE block -> leaky ReLU, 3x3 conv, tanh. Park et al. start from a
  downsampled map instead of z when there is no style encoder; the z input keeps it a GAN
  with variety for a given map (their multimodal synthesis, sec. 4);
- the discriminator: the image concatenated with the one-hot map, a PatchGAN of stride-2
  4x4 convolutions with spectral norm, instance norm after all but the first, and leaky
  ReLU (their multi-scale discriminator at one scale, which suffices at 28x28); it also
  returns its intermediate activations for the feature-matching loss.

The label map is an int32 [H, W] input called ``segmentation`` (class ids), one-hot
inside the networks.
"""

from __future__ import annotations

import keras

from tfgan_app.networks.dcgan import resolution_plan
from tfgan_app.networks.layers import BatchNormalization, maybe_spectral_norm, patch_layer


@keras.saving.register_keras_serializable(package="tfgan_app")
class OneHotMap(keras.layers.Layer):
    """int32 [b, H, W] class ids -> float [b, H, W, classes]."""

    def __init__(self, classes: int, **kwargs):
        super().__init__(**kwargs)
        self.classes = classes

    def call(self, ids):
        return keras.ops.one_hot(ids, self.classes, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.classes)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes}


def one_hot_map(segmentation, classes: int):
    return OneHotMap(classes, name="one_hot_map")(segmentation)


def spade(x, segments, hidden: int, name: str, synchronized: bool = False):
    """SPADE(x, m) = BN(x) * (1 + gamma(m)) + beta(m) (Park et al. eq. 1), the map resized
    to x's resolution by nearest neighbour."""
    height, width, channels = x.shape[1:]
    normalized = BatchNormalization(center=False, scale=False, synchronized=synchronized, name=f"{name}_bn")(x)
    resized = keras.layers.Resizing(height, width, interpolation="nearest", name=f"{name}_map")(segments)
    shared = keras.layers.Conv2D(hidden, 3, padding="same", activation="relu", name=f"{name}_shared")(resized)
    gamma = keras.layers.Conv2D(channels, 3, padding="same", name=f"{name}_gamma")(shared)
    beta = keras.layers.Conv2D(channels, 3, padding="same", name=f"{name}_beta")(shared)
    scaled = keras.layers.Multiply(name=f"{name}_scaled")([normalized, gamma])
    return keras.layers.Add(name=f"{name}_shifted")([normalized, scaled, beta])  # BN(x) (1 + gamma) + beta


def spade_residual_block(x, segments, filters: int, hidden: int, name: str, synchronized: bool = False):
    middle = min(x.shape[-1], filters)
    h = keras.layers.ReLU()(spade(x, segments, hidden, f"{name}_spade0", synchronized))
    h = keras.layers.Conv2D(middle, 3, padding="same", name=f"{name}_conv0")(h)
    h = keras.layers.ReLU()(spade(h, segments, hidden, f"{name}_spade1", synchronized))
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(h)
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_shortcut")(
            spade(x, segments, hidden, f"{name}_spade_shortcut", synchronized)
        )
    return keras.layers.Add(name=f"{name}_out")([shortcut, h])


def spade_generator(
    latent_dim: int, image_shape: tuple[int, int, int], classes: int, width: int = 32, hidden: int = 64,
    synchronized_batch_norm: bool = False,
) -> keras.Model:
    """(z, segmentation int32 [H, W]) -> image in [-1, 1]; widths double per coarser stage."""
    height, _, channels = image_shape
    base, steps = resolution_plan(height)
    z = keras.Input((latent_dim,), name="z")
    segmentation = keras.Input(image_shape[:2], dtype="int32", name="segmentation")
    segments = one_hot_map(segmentation, classes)
    top = width * 2**steps
    x = keras.layers.Dense(base * base * top, name="project")(z)
    x = keras.layers.Reshape((base, base, top))(x)
    for stage in range(steps):
        x = spade_residual_block(x, segments, top // 2 ** (stage + 1), hidden, f"block_{stage}", synchronized_batch_norm)
        x = keras.layers.UpSampling2D(2, name=f"upsample_{stage}")(x)
    x = spade_residual_block(x, segments, width, hidden, "block_out", synchronized_batch_norm)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Conv2D(channels, 3, padding="same", name="to_image")(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model([z, segmentation], images, name="spade_generator")


def spade_discriminator(
    image_shape: tuple[int, int, int], classes: int, width: int = 32, layers: int = 3, norm: str = "instance",
) -> keras.Model:
    """(image, segmentation) -> {"logit": patch logits [h, w, 1], "layer_i": activations}.

    Every convolution is spectrally normalised; ``norm = "instance"`` adds instance norm
    after all but the first, the reference code's ``spectralinstance`` D. With spectral
    norm alone this family's D did not discriminate (hinge loss 2.0, D(x) = D(G(z)) from
    step 400; with instance norm FID 80.7 against 97.2, benchmarks/README.md, decisions). Our reading: the paired feature-matching loss lets G match every unnormalised
    activation of the pair, logit included, while normalised ones keep their contrast."""
    image = keras.Input(image_shape, name="image")
    segmentation = keras.Input(image_shape[:2], dtype="int32", name="segmentation")
    x = keras.layers.Concatenate(name="image_and_map")([image, one_hot_map(segmentation, classes)])
    outputs = {}
    for index in range(layers):
        strides = 2 if index < layers - 1 else 1
        x = patch_layer(
            x, width * 2**index, strides, f"down_{index}", normalise=norm == "instance" and index > 0, spectral=True
        )
        outputs[f"layer_{index}"] = keras.layers.Activation("linear", dtype="float32", name=f"layer_{index}")(x)
    logit = maybe_spectral_norm(keras.layers.Conv2D(1, 4, padding="same", dtype="float32", name="logit"), True)(x)
    outputs["logit"] = logit
    return keras.Model([image, segmentation], outputs, name="spade_discriminator")
