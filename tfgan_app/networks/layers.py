"""Layers the GAN literature adds to discriminators, and a faster batch norm."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="tfgan_app")
class MinibatchStddev(keras.layers.Layer):
    """Appends the mean across-batch standard deviation as one extra feature.

    Karras et al. 2018, "Progressive Growing of GANs", sec. 3: a discriminator that sees a
    statistic of the whole minibatch can tell a collapsed generator (low variety) from real
    data. Groups of ``group_size`` examples share a statistic, so the layer works for any
    batch divisible by the group size (smaller batches use one group).
    """

    def __init__(self, group_size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.group_size = group_size

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        group = ops.minimum(self.group_size, batch)
        feature_shape = ops.shape(inputs)[1:]
        grouped = ops.reshape(inputs, (group, -1, *feature_shape))
        stddev = ops.sqrt(ops.var(grouped, axis=0) + 1e-8)  # [batch/group, *features]
        per_group = ops.mean(ops.reshape(stddev, (ops.shape(stddev)[0], -1)), axis=1)
        per_example = ops.tile(per_group, (group,))  # matches the grouped reshape order
        extra = ops.broadcast_to(
            ops.reshape(per_example, (-1, *([1] * (len(inputs.shape) - 1)))),
            (*ops.shape(inputs)[:-1], 1),
        )
        return ops.concatenate([inputs, ops.cast(extra, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}


@keras.saving.register_keras_serializable(package="tfgan_app")
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras' batch norm whose training pass runs TensorFlow's fused kernel.

    Keras 3 computes training-mode batch norm from separate ops (casts to float32, moments,
    normalise, cast back); on this CPU that costs as much as the convolution before it in
    DCGAN's generator (12.9 ms against 3.3 ms for the fused kernel at batch 256, 14x14x64
    bfloat16, forward and backward). ``FusedBatchNormV3`` reads bfloat16/float16 inputs with
    float32 statistics in one pass, so the function, variables and moving averages are Keras' own
    (the same outputs to float rounding, tested); inference, synchronized statistics and
    the options the kernel lacks take Keras' path, so exports are plain Keras layers.
    """

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        fusable = (
            training and self.trainable and mask is None and not self.synchronized and not self.renorm
            and self.scale and self.center and rank in (2, 4) and self.axis in (-1, rank - 1)
        )
        if not fusable:
            return super().call(inputs, training=training, mask=mask)
        # The kernel is NHWC-only: a [batch, C] input is normalised as [batch, 1, 1, C].
        images = inputs if rank == 4 else tf.reshape(inputs, [-1, 1, 1, inputs.shape[-1]])
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            images, tf.cast(self.gamma.value, "float32"), tf.cast(self.beta.value, "float32"),
            epsilon=self.epsilon, data_format="NHWC", is_training=True,
        )
        # The kernel returns the unbiased (n - 1) variance for moving averages; Keras
        # averages the biased one.
        count = tf.cast(tf.size(images) // tf.shape(images)[-1], "float32")
        variance = variance * (count - 1.0) / count
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        outputs = outputs if rank == 4 else tf.reshape(outputs, tf.shape(inputs))
        return tf.cast(outputs, self.compute_dtype)


@keras.saving.register_keras_serializable(package="tfgan_app")
class SpectralNorm(keras.layers.Wrapper):
    """Spectral normalisation as Miyato et al. 2018 define it ("Spectral Normalization for
    Generative Adversarial Networks", eq. 8 and 12): the wrapped Dense, Conv2D or Embedding
    computes with W / sigma(W), sigma estimated by one power iteration per training call
    (u, v held constant in the gradient), and the gradient flows through sigma.

    Why not ``keras.layers.SpectralNormalization``: it assigns W <- W / sigma into the
    kernel before each training call and computes with the assigned kernel, so the
    gradient misses the sigma term of eq. 12 (the same simplification TF-Addons had,
    tensorflow/addons#1244). The stored W here is the free parameter, as in Miyato et al.'s
    and PyTorch's implementations.
    """

    def __init__(self, layer: keras.layers.Layer, power_iterations: int = 1, **kwargs):
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Embedding)):
            raise ValueError(f"SpectralNorm wraps Dense, Conv2D or Embedding layers, not {type(layer).__name__}")
        super().__init__(layer, **kwargs)
        self.power_iterations = power_iterations

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.vector_u = self.add_weight(
            shape=(1, self._weight().shape[-1]), initializer=keras.initializers.RandomNormal(stddev=1.0),
            trainable=False, name="vector_u",
        )
        self.built = True

    def _weight(self):
        return self.layer.embeddings if isinstance(self.layer, keras.layers.Embedding) else self.layer.kernel

    def normalized_weight(self, training: bool = False):
        """W / sigma(W) (float32); in training the power iteration also advances u."""
        weight = ops.cast(self._weight(), "float32")
        matrix = ops.reshape(weight, (-1, weight.shape[-1]))
        u = ops.cast(self.vector_u, "float32")
        for _ in range(self.power_iterations if training else 0):
            v = _l2_normalize(ops.matmul(u, ops.transpose(matrix)))
            u = _l2_normalize(ops.matmul(v, matrix))
        u = ops.stop_gradient(u)
        v = ops.stop_gradient(_l2_normalize(ops.matmul(u, ops.transpose(matrix))))
        if training:
            self.vector_u.assign(u)
        sigma = ops.sum(ops.matmul(v, matrix) * u)
        return weight / sigma

    def call(self, inputs, training=False):
        layer = self.layer
        # The wrapped layer's precision, not the wrapper's: a head declared float32 under a
        # mixed policy keeps computing (and returning) float32.
        dtype = layer.compute_dtype
        weight = ops.cast(self.normalized_weight(bool(training)), dtype)
        if isinstance(layer, keras.layers.Embedding):
            return ops.take(weight, ops.cast(inputs, "int32"), axis=0)
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(ops.cast(inputs, dtype), weight)
        else:
            outputs = ops.conv(
                ops.cast(inputs, dtype), weight, strides=layer.strides, padding=layer.padding,
                data_format=layer.data_format, dilation_rate=layer.dilation_rate,
            )
        if layer.use_bias:
            outputs = outputs + ops.cast(layer.bias, dtype)
        return layer.activation(outputs) if layer.activation is not None else outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


def _l2_normalize(x, epsilon: float = 1e-12):
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x)), epsilon))


def maybe_spectral_norm(layer: keras.layers.Layer, enabled: bool) -> keras.layers.Layer:
    """Wrap in ``SpectralNorm`` (Miyato et al. 2018) when enabled."""
    return SpectralNorm(layer) if enabled else layer


@keras.saving.register_keras_serializable(package="tfgan_app")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring the border (CycleGAN's generators use it so the
    convolutions see no artificial zero frame)."""

    def __init__(self, padding: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, inputs):
        p = self.padding
        return ops.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = lambda side: None if side is None else side + 2 * self.padding  # noqa: E731
        return (batch, grow(height), grow(width), channels)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def instance_norm(name: str | None = None) -> keras.layers.Layer:
    """Instance normalisation (Ulyanov et al. 2016): group norm with one group per channel."""
    return keras.layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)


def patch_layer(
    x: keras.KerasTensor, filters: int, strides: int, name: str, normalise: bool, spectral: bool = False,
) -> keras.KerasTensor:
    """One PatchGAN layer (Isola et al. 2017, appendix 6.1.2): a 4x4 convolution (spectrally
    normalised where ``spectral``), instance norm where ``normalise``, leaky ReLU 0.2. The
    pix2pix/CycleGAN PatchGAN and SPADE's discriminator are stacks of it."""
    conv = keras.layers.Conv2D(filters, 4, strides=strides, padding="same", name=name)
    x = maybe_spectral_norm(conv, spectral)(x)
    if normalise:
        x = instance_norm(f"{name}_norm")(x)
    return keras.layers.LeakyReLU(0.2)(x)


def generator_inputs(
    latent_dim: int, num_classes: int = 0, code_dim: int = 0
) -> tuple[list[keras.KerasTensor], keras.KerasTensor]:
    """The generator's named inputs and their joined vector.

    ``z`` noise [latent_dim]; with ``num_classes`` a ``label`` int32 scalar whose learned
    embedding is concatenated to z (Mirza & Osindero 2014); with ``code_dim`` an InfoGAN
    ``code`` vector (Chen et al. 2016) concatenated likewise. The input names are the
    exported signature's input names.
    """
    z = keras.Input((latent_dim,), name="z")
    inputs, parts = [z], [z]
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        parts.append(keras.layers.Embedding(num_classes, min(50, 4 * num_classes), name="label_embedding")(label))
    if code_dim:
        code = keras.Input((code_dim,), name="code")
        inputs.append(code)
        parts.append(code)
    joined = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="joined_inputs")(parts)
    return inputs, joined


def discriminator_heads(
    features: keras.KerasTensor,
    label: keras.KerasTensor | None = None,
    num_classes: int = 0,
    auxiliary_outputs: int = 0,
    spectral_norm: bool = False,
) -> dict[str, keras.KerasTensor]:
    """A discriminator's outputs from its body's flat ``features``.

    ``logit``: Dense(1), plus for a conditional D the projection term <embed(y), features>
    (Miyato & Koyama 2018, eq. 3). ``features``: the body's output itself, for feature
    matching. ``q``: InfoGAN's auxiliary head (Chen et al. 2016) predicting the latent code.
    """
    # The heads compute in float32 under mixed precision: their outputs feed the losses.
    features = keras.layers.Activation("linear", dtype="float32", name="features_float32")(features)
    logit = maybe_spectral_norm(keras.layers.Dense(1, dtype="float32", name="logit"), spectral_norm)(features)
    if num_classes:
        embedding = keras.layers.Embedding(
            num_classes, features.shape[-1], dtype="float32", name="class_projection"
        )(label)
        projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")([embedding, features])
        logit = keras.layers.Add(dtype="float32", name="conditional_logit")([logit, projection])
    outputs = {"logit": logit, "features": features}
    if auxiliary_outputs:
        hidden = keras.layers.Dense(128, dtype="float32", name="q_hidden")(features)
        hidden = keras.layers.LeakyReLU(0.2, dtype="float32")(hidden)
        outputs["q"] = keras.layers.Dense(auxiliary_outputs, dtype="float32", name="q")(hidden)
    return outputs


def classifier_head(x: keras.KerasTensor, num_classes: int, feature_layer: str = "features") -> keras.KerasTensor:
    """The metrics' classifiers' top: Flatten -> Dense(128, ReLU) named ``feature_layer`` (the
    features FID is computed on) -> Dropout(0.5) -> Dense(num_classes) ``logits``."""
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(128, activation="relu", name=feature_layer)(x)
    x = keras.layers.Dropout(0.5)(features)
    return keras.layers.Dense(num_classes, name="logits")(x)


def discriminator_inputs(
    data_shape: tuple[int, ...], num_classes: int = 0, packing: int = 1
) -> tuple[list[keras.KerasTensor], keras.KerasTensor, keras.KerasTensor | None]:
    """(inputs, data input, label input or None). PacGAN (Lin et al. 2018) packs ``packing``
    samples into one discriminator input along the last axis."""
    shape = (*data_shape[:-1], data_shape[-1] * packing)
    data = keras.Input(shape, name="data")
    if not num_classes:
        return [data], data, None
    label = keras.Input((), dtype="int32", name="label")
    return [data, label], data, label


def model_inputs(inputs: list[keras.KerasTensor]):
    """A functional model's inputs: the tensor itself when there is one, so callers pass a
    tensor rather than a one-element list."""
    return inputs if len(inputs) > 1 else inputs[0]


def freeze_first_layers(network: keras.Model, count: int) -> list[str]:
    """FreezeD (Mo et al. 2020, "Freeze the Discriminator"): the first ``count`` layers of
    ``network`` that hold kernels (convolutions, dense layers) stop training, as when a
    discriminator is fine-tuned on a small dataset. Normalisation layers stay trainable:
    a frozen Keras batch norm would also switch to inference mode. Returns their names."""
    if count <= 0:
        return []
    frozen = []
    for layer in network.layers:
        if len(frozen) == count:
            break
        if any("kernel" in weight.path for weight in layer.weights):
            layer.trainable = False
            frozen.append(layer.name)
    if len(frozen) < count:
        raise ValueError(f"{network.name} has {len(frozen)} layers with kernels; cannot freeze the first {count}")
    return frozen


def all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer of ``model``, those of nested models and the layers wrappers hold
    included: Keras has no public recursive listing (``model.layers`` is the top level;
    ``_flatten_layers`` is private)."""
    found = []
    for layer in model.layers:
        found.append(layer)
        inner = getattr(layer, "layer", None)  # wrappers such as SpectralNormalization
        if isinstance(inner, keras.layers.Layer):
            found.append(inner)
        if isinstance(layer, keras.Model):
            found.extend(all_layers(layer))
    return found
