"""A style-based generator (Karras et al. 2019, "A Style-Based Generator Architecture for
GANs", StyleGAN; with the weight demodulation and skip outputs of Karras et al. 2020,
StyleGAN2, sec. 2.2 and 4.1), usable by the gan and cgan families (``model.architecture =
"stylegan"``; D is the DCGAN discriminator).

- a mapping network: z (pixel-normalised; with the label's embedding for cgan) -> w through
  ``mapping_layers`` dense layers with leaky ReLU;
- the synthesis network starts from a learned constant and runs two modulated 3x3
  convolutions per resolution, each reading its own copy of w: the input is scaled per
  channel by a learned affine map of w (the style), and the output is demodulated (divided
  by the norm the modulated weights would give it, StyleGAN2 eq. 3; computed on the
  activations, which equals modulating the weights per example);
- per-pixel noise after every convolution, scaled by a learned per-layer strength (zero at
  the start); in training it is fresh Gaussian noise (its generator state is checkpointed,
  so resuming is exact), at inference a fixed noise image per layer (StyleGAN2's "const"
  noise), so exports are deterministic;
- a 1x1 modulated (not demodulated) to-image layer per resolution, summed over the
  upsampled coarser ones (StyleGAN2's skip generator); each resolution's term is gated,
  which is what progressive growing (Karras et al. 2018) fades in (``ProgressiveGate``);
- style mixing regularisation (StyleGAN sec. 3.1): with ``style_mixing`` probability a
  training example takes the styles of a second z after a random layer;
- the truncation trick in w (StyleGAN sec. 2 and appendix B): w' = w_avg + psi (w - w_avg),
  w_avg a running mean of w in training; ``with_style_truncation`` makes it an input;
- the equalized learning rate of the convolutions, style maps and mapping layers (Karras
  et al. 2018, sec. 4.1, used by both StyleGAN papers): weights are stored as N(0, 1) and
  scaled by He's constant 1/sqrt(fan_in) when used, so Adam's step (about the learning rate per weight) is the same relative change
  for every layer; the mapping network's weights also take StyleGAN's 100x lower learning
  rate (sec. 2, lr multiplier 0.01). Without it StyleGAN's rates (2e-3) move a 3x3x128
  convolution's weights by about 7% of their scale per step: D sat at D(x) = D(G(z)) = 0.50
  and G collapsed (fashion_mnist_stylegan at its 2 epochs: FID 84.6, recall 0.002; with
  it 67.0, recall 0.25; benchmarks/README.md, decisions).

tanh on the output, as every generator here (the exports promise images in [-1, 1]).
"""

from __future__ import annotations

import math

import keras
from keras import ops

from tfgan_app.networks.dcgan import resolution_plan
from tfgan_app.networks.layers import all_layers

SLOPE = 0.2
W_AVERAGE_DECAY = 0.995  # StyleGAN's w_avg_beta
MAPPING_LR_MULTIPLIER = 0.01  # StyleGAN sec. 2: the mapping network learns 100x slower
LEAKY_RELU_GAIN = math.sqrt(2.0)  # He et al. 2015: keeps activations' scale through leaky ReLU


def he_scale(fan_in: int, gain: float = 1.0) -> float:
    """The equalized learning rate's runtime weight scale (Karras et al. 2018, sec. 4.1)."""
    return gain / math.sqrt(fan_in)


@keras.saving.register_keras_serializable(package="tfgan_app")
class PixelNorm(keras.layers.Layer):
    """x / sqrt(mean(x^2) + 1e-8) over the last axis (Karras et al. 2018, sec. 4.2)."""

    def call(self, x):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + 1e-8)


@keras.saving.register_keras_serializable(package="tfgan_app")
class ModulatedConv2D(keras.layers.Layer):
    """[x, w] -> conv(x * s, W) * d + b, s = affine(w) (bias 1), d = 1 / ||W s|| per output
    channel (demodulation) or 1; ``upsample``: 2x nearest before the convolution. Both
    ``kernel`` and ``style_kernel`` are stored N(0, 1) and scaled by ``he_scale`` in use
    (``scaled_weights()`` gives them as used)."""

    def __init__(self, filters: int, kernel_size: int = 3, demodulate: bool = True, upsample: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.demodulate, self.upsample = filters, kernel_size, demodulate, upsample

    def build(self, input_shape):
        channels, style_dim = input_shape[0][-1], input_shape[1][-1]
        self.kernel_scale = he_scale(self.kernel_size * self.kernel_size * channels)
        self.style_scale = he_scale(style_dim)
        self.kernel = self.add_weight(
            shape=(self.kernel_size, self.kernel_size, channels, self.filters),
            initializer=keras.initializers.RandomNormal(0.0, 1.0), name="kernel",
        )
        self.style_kernel = self.add_weight(
            shape=(style_dim, channels), initializer=keras.initializers.RandomNormal(0.0, 1.0), name="style_kernel",
        )
        self.style_bias = self.add_weight(shape=(channels,), initializer="ones", name="style_bias")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def scaled_weights(self):
        """(kernel, style_kernel) as used: the stored N(0, 1) values times their He scale."""
        return self.kernel * self.kernel_scale, self.style_kernel * self.style_scale

    def call(self, inputs):
        x, w = inputs
        kernel, style_kernel = self.scaled_weights()
        style = ops.matmul(w, ops.cast(style_kernel, w.dtype)) + ops.cast(self.style_bias, w.dtype)  # [b, C_in]
        x = x * ops.cast(style, x.dtype)[:, None, None, :]
        if self.upsample:
            x = ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)
        y = ops.conv(x, ops.cast(kernel, x.dtype), padding="same")
        if self.demodulate:
            # ||W s||^2 per (example, output channel), in float32.
            squared = ops.sum(ops.square(ops.cast(kernel, "float32")), axis=(0, 1))  # [C_in, C_out]
            norms = ops.matmul(ops.square(ops.cast(style, "float32")), squared)  # [b, C_out]
            y = y * ops.cast(ops.rsqrt(norms + 1e-8), y.dtype)[:, None, None, :]
        return y + ops.cast(self.bias, y.dtype)

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape[0]
        scale = 2 if self.upsample else 1
        return batch, None if height is None else height * scale, None if width is None else width * scale, self.filters

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "upsample": self.upsample}


@keras.saving.register_keras_serializable(package="tfgan_app")
class EqualizedDense(keras.layers.Layer):
    """x W + b with the equalized learning rate and a learning-rate multiplier (StyleGAN's
    mapping layers): W stored N(0, 1 / multiplier^2) and used times multiplier *
    he_scale(fan_in, gain), b used times multiplier, so Adam moves the layer ``multiplier``
    times as fast as an equalized layer at the same rate."""

    def __init__(self, units: int, lr_multiplier: float = 1.0, gain: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.lr_multiplier, self.gain = units, lr_multiplier, gain

    def build(self, input_shape):
        self.kernel_scale = self.lr_multiplier * he_scale(input_shape[-1], self.gain)
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer=keras.initializers.RandomNormal(0.0, 1.0 / self.lr_multiplier),
            name="kernel",
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        kernel = ops.cast(self.kernel * self.kernel_scale, x.dtype)
        return ops.matmul(x, kernel) + ops.cast(self.bias * self.lr_multiplier, x.dtype)

    def compute_output_shape(self, input_shape):
        return *input_shape[:-1], self.units

    def get_config(self):
        return {**super().get_config(), "units": self.units, "lr_multiplier": self.lr_multiplier, "gain": self.gain}


@keras.saving.register_keras_serializable(package="tfgan_app")
class NoiseInjection(keras.layers.Layer):
    """x + strength * noise [b, H, W, 1]: fresh noise in training, a fixed image at inference."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(), initializer="zeros", name="strength")
        self.fixed_noise = self.add_weight(
            shape=(1, input_shape[1], input_shape[2], 1), initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=self.seed or 0),
            trainable=False, name="fixed_noise",
        )

    def call(self, x, training=False):
        if training:
            shape = ops.shape(x)
            noise = keras.random.normal((shape[0], shape[1], shape[2], 1), seed=self.seed_generator, dtype=x.dtype)
        else:
            noise = ops.cast(self.fixed_noise, x.dtype)
        return x + ops.cast(self.strength, x.dtype) * noise

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="tfgan_app")
class TrainingNoise(keras.layers.Layer):
    """A second z for style mixing: fresh normal noise shaped like z in training, z itself at inference."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, z, training=False):
        return keras.random.normal(ops.shape(z), seed=self.seed_generator, dtype=z.dtype) if training else z

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="tfgan_app")
class StyleMixing(keras.layers.Layer):
    """[w1, w2] -> [b, layers, w_dim]: w1 for every layer, or in training, with ``probability``
    per example, w2 from a random crossover layer on (StyleGAN sec. 3.1). Also keeps the
    running mean of w1, the centre of the truncation trick."""

    def __init__(self, layers: int, probability: float = 0.9, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.layers, self.probability, self.seed = layers, probability, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        # Each replica assigns it the same update from its batch: averaged across replicas.
        self.w_average = self.add_weight(
            shape=(input_shape[0][-1],), initializer="zeros", trainable=False, aggregation="mean", name="w_average"
        )

    def call(self, inputs, training=False):
        first, second = inputs
        stacked = ops.repeat(first[:, None, :], self.layers, axis=1)
        if not training:
            return stacked
        mean = ops.cast(ops.mean(ops.cast(first, "float32"), axis=0), self.w_average.dtype)
        self.w_average.assign(W_AVERAGE_DECAY * self.w_average + (1.0 - W_AVERAGE_DECAY) * mean)
        if not self.probability:
            return stacked
        batch = ops.shape(first)[0]
        uniforms = keras.random.uniform((batch, 2), seed=self.seed_generator)
        crossover = ops.cast(1.0 + uniforms[:, 0] * (self.layers - 1), "int32")  # 1 .. layers - 1
        crossover = ops.where(uniforms[:, 1] < self.probability, crossover, self.layers)
        use_second = ops.arange(self.layers)[None, :] >= crossover[:, None]  # [b, layers]
        return ops.where(use_second[:, :, None], ops.repeat(second[:, None, :], self.layers, axis=1), stacked)

    def compute_output_shape(self, input_shape):
        return input_shape[0][0], self.layers, input_shape[0][-1]

    def get_config(self):
        return {**super().get_config(), "layers": self.layers, "probability": self.probability, "seed": self.seed}


@keras.saving.register_keras_serializable(package="tfgan_app")
class LearnedConstant(keras.layers.Layer):
    """The synthesis network's learned [side, side, C] input, repeated over the batch of its input."""

    def __init__(self, side: int, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.side, self.channels = side, channels

    def build(self, input_shape):
        self.constant = self.add_weight(shape=(1, self.side, self.side, self.channels), initializer="random_normal", name="constant")

    def call(self, ws):
        return ops.repeat(ops.cast(self.constant, ws.dtype), ops.shape(ws)[0], axis=0)

    def compute_output_shape(self, input_shape):
        return input_shape[0], self.side, self.side, self.channels

    def get_config(self):
        return {**super().get_config(), "side": self.side, "channels": self.channels}


@keras.saving.register_keras_serializable(package="tfgan_app")
class ProgressiveGate(keras.layers.Layer):
    """[coarser image, this resolution's image term] -> up(coarser) + gate * term, the gate
    clip(level - index + 1, 0, 1) of a shared ``level`` (a non-trainable scalar: 0 = only the
    base resolution, a fraction = fading in the next, the number of levels = all on).
    Progressive growing (Karras et al. 2018, sec. 3) sets ``level`` from the step."""

    def __init__(self, index: int, levels: int, **kwargs):
        super().__init__(**kwargs)
        self.index, self.levels = index, levels

    def build(self, input_shape):
        self.level = self.add_weight(shape=(), initializer=keras.initializers.Constant(float(self.levels)),
                                     trainable=False, aggregation="only_first_replica", name="level")

    def call(self, inputs):
        coarser, term = inputs
        gate = ops.clip(ops.cast(self.level, term.dtype) - (self.index - 1), 0.0, 1.0)
        return ops.repeat(ops.repeat(coarser, 2, axis=1), 2, axis=2) + gate * term

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        return {**super().get_config(), "index": self.index, "levels": self.levels}


def mapping_network(latent_dim: int, w_dim: int, layers: int, num_classes: int = 0) -> keras.Model:
    """[z (, label)] -> w."""
    z = keras.Input((latent_dim,), name="z")
    inputs, x = [z], PixelNorm()(z)
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        embedded = PixelNorm()(keras.layers.Embedding(num_classes, w_dim, name="label_embedding")(label))
        x = keras.layers.Concatenate()([x, embedded])
    for index in range(layers):
        x = EqualizedDense(w_dim, MAPPING_LR_MULTIPLIER, LEAKY_RELU_GAIN, name=f"mapping_{index}")(x)
        x = keras.layers.LeakyReLU(SLOPE)(x)
    return keras.Model(inputs if num_classes else z, x, name="mapping")


def synthesis_network(w_dim: int, image_shape: tuple[int, int, int], width: int = 32) -> keras.Model:
    """[b, 2 * levels, w_dim] styles -> images (see the module docstring)."""
    height, _, channels = image_shape
    base, steps = resolution_plan(height)
    levels = steps + 1
    ws = keras.Input((2 * levels, w_dim), name="styles")
    x = LearnedConstant(base, width * 2**steps, name="constant")(ws)
    image = None
    for level in range(levels):
        filters = width * 2 ** (steps - level)
        for conv in range(2):
            index = 2 * level + conv
            style = StyleAt(index, name=f"style_{index}")(ws)
            x = ModulatedConv2D(filters, 3, upsample=level > 0 and conv == 0, name=f"conv_{index}")([x, style])
            x = NoiseInjection(seed=index, name=f"noise_{index}")(x)
            x = keras.layers.LeakyReLU(SLOPE)(x)
        term = ModulatedConv2D(channels, 1, demodulate=False, name=f"to_image_{level}")([x, style])
        image = term if image is None else ProgressiveGate(level, levels, name=f"gate_{level}")([image, term])
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(image)
    return keras.Model(ws, images, name="synthesis")


@keras.saving.register_keras_serializable(package="tfgan_app")
class StyleAt(keras.layers.Layer):
    """[b, layers, w_dim] -> [b, w_dim]: the style of one layer."""

    def __init__(self, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = index

    def call(self, ws):
        return ws[:, self.index]

    def compute_output_shape(self, input_shape):
        return input_shape[0], input_shape[2]

    def get_config(self):
        return {**super().get_config(), "index": self.index}


def stylegan_generator(
    latent_dim: int, image_shape: tuple[int, int, int], width: int = 32, mapping_layers: int = 4,
    style_mixing: float = 0.9, num_classes: int = 0,
) -> keras.Model:
    """[z (, label)] -> images: mapping, style mixing (training only), synthesis."""
    _, steps = resolution_plan(image_shape[0])
    mapping = mapping_network(latent_dim, latent_dim, mapping_layers, num_classes)
    synthesis = synthesis_network(latent_dim, image_shape, width)
    z = keras.Input((latent_dim,), name="z")
    inputs = [z] + ([keras.Input((), dtype="int32", name="label")] if num_classes else [])
    mapped = mapping(inputs if num_classes else z)
    second_z = TrainingNoise(seed=1, name="mixing_noise")(z)
    mixed_with = mapping([second_z, *inputs[1:]] if num_classes else second_z)
    ws = StyleMixing(2 * (steps + 1), style_mixing, seed=2, name="style_mixing")([mapped, mixed_with])
    return keras.Model(inputs if num_classes else z, synthesis(ws), name="stylegan_generator")


def with_style_truncation(generator: keras.Model) -> keras.Model:
    """[z (, label), truncation] -> images: w' = w_avg + truncation (w - w_avg) for every
    layer, the truncation trick as an input (1 = the generator as trained)."""
    mapping, synthesis = generator.get_layer("mapping"), generator.get_layer("synthesis")
    w_average = generator.get_layer("style_mixing").w_average
    layers = generator.get_layer("style_mixing").layers
    inputs = [keras.Input(tuple(t.shape[1:]), dtype=t.dtype, name=t.name) for t in generator.inputs]
    truncation = keras.Input((), name="truncation")
    w = mapping(inputs if len(inputs) > 1 else inputs[0])
    truncated = TruncateToward(w_average, name="truncate")([w, truncation])
    ws = RepeatStyles(layers, name="repeat_styles")(truncated)
    return keras.Model([*inputs, truncation], synthesis(ws), name=f"{generator.name}_truncated")


class TruncateToward(keras.layers.Layer):
    """[w, psi] -> w_avg + psi (w - w_avg), w_avg a variable of the generator (shared, not copied)."""

    def __init__(self, centre, **kwargs):
        super().__init__(**kwargs)
        self.centre = centre

    def call(self, inputs):
        w, psi = inputs
        centre = ops.cast(self.centre, w.dtype)
        return centre + ops.cast(psi, w.dtype)[:, None] * (w - centre)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package="tfgan_app")
class RepeatStyles(keras.layers.Layer):
    def __init__(self, layers: int, **kwargs):
        super().__init__(**kwargs)
        self.layers = layers

    def call(self, w):
        return ops.repeat(w[:, None, :], self.layers, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape[0], self.layers, input_shape[-1]

    def get_config(self):
        return {**super().get_config(), "layers": self.layers}


def is_style_based(generator: keras.Model) -> bool:
    """Whether ``generator`` is ``stylegan_generator``'s (its export takes ``truncation``)."""
    return any(layer.name == "style_mixing" and isinstance(layer, StyleMixing) for layer in generator.layers)


def progressive_gates(generator: keras.Model) -> list:
    """The ``level`` variables of a style-based generator's gates (one per resolution above the base)."""
    return [layer.level for layer in all_layers(generator) if isinstance(layer, ProgressiveGate)]


