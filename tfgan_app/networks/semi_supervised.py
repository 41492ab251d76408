"""Networks of the semi-supervised GAN (Salimans et al. 2016, sec. 5): a discriminator that
is a K-way classifier, and the classifier it exports."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app.networks.dcgan import resolution_plan


@keras.saving.register_keras_serializable(package="tfgan_app")
class LogSumExp(keras.layers.Layer):
    """[batch, K] class logits -> [batch, 1] ``log sum_k exp(l_k)``: the logit of "real".

    With the fake class's logit fixed at 0 (Salimans et al. 2016, sec. 5),
    D(x) = Z(x) / (Z(x) + 1) with Z(x) = sum_k exp(l_k(x)), i.e. sigmoid(log Z(x)).
    """

    def call(self, logits):
        return tf.reduce_logsumexp(logits, axis=-1, keepdims=True)


def discriminator_outputs(image: keras.KerasTensor, features: keras.KerasTensor, num_classes: int) -> keras.Model:
    """The semi-supervised D from its body: ``features`` (float32, what feature matching
    compares) -> K ``class_logits`` and their log-sum-exp ``logit``."""
    class_logits = keras.layers.Dense(num_classes, dtype="float32", name="class_logits")(features)
    logit = LogSumExp(dtype="float32", name="logit")(class_logits)
    return keras.Model(image, {"class_logits": class_logits, "logit": logit, "features": features},
                       name="semi_supervised_discriminator")


def semi_supervised_discriminator(
    image_shape: tuple[int, int, int], num_classes: int, width: int = 64, dropout: float = 0.5,
) -> keras.Model:
    """image -> {``class_logits`` [K], ``logit`` (log-sum-exp of them), ``features``}.

    The DCGAN discriminator's body (stride-2 4x4 convolutions, LeakyReLU 0.2) with dropout
    on the input (0.2) and after every layer, and no batch norm: the classifier sees
    labelled, unlabelled and generated batches in separate calls, whose batch statistics
    would differ (Salimans et al. use dropout and weight norm). ``features``, the flattened
    last layer, is what the generator's feature matching compares.
    """
    _, steps = resolution_plan(image_shape[0])
    image = keras.Input(image_shape, name="data")
    x = keras.layers.Dropout(0.2, name="input_dropout")(image)
    for index in range(steps):
        x = keras.layers.Conv2D(width * 2**index, 4, strides=2, padding="same", name=f"down_{index}")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        x = keras.layers.Dropout(dropout, name=f"down_{index}_dropout")(x)
    features = keras.layers.Flatten(dtype="float32", name="features")(x)
    return discriminator_outputs(image, features, num_classes)


def mlp_semi_supervised_discriminator(
    image_shape: tuple[int, int, int], num_classes: int, hidden: tuple[int, ...] = (1000, 500, 250, 250, 250),
    input_noise: float = 0.6, hidden_noise: float = 0.5,
) -> keras.Model:
    """The same outputs from Salimans et al.'s MNIST discriminator (2016, sec. 5; their
    code's ``mnist_feature_matching``): a multilayer perceptron of ``hidden`` ReLU layers
    with Gaussian noise added to the input and to every hidden layer during training.
    ``features`` is the last hidden layer. Their input noise is 0.3 on images in [0, 1]:
    0.6 on this project's [-1, 1]. Left out: their weight normalisation (not in Keras 3;
    Adam on plain dense layers trains stably here).
    """
    image = keras.Input(image_shape, name="data")
    x = keras.layers.Flatten()(image)
    x = keras.layers.GaussianNoise(input_noise, name="input_noise")(x)
    for index, units in enumerate(hidden):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{index}")(x)
        x = keras.layers.GaussianNoise(hidden_noise, name=f"hidden_{index}_noise")(x)
    features = keras.layers.Activation("linear", dtype="float32", name="features")(x)
    return discriminator_outputs(image, features, num_classes)


def class_probabilities(discriminator: keras.Model) -> keras.Model:
    """``image`` -> ``probabilities`` [K]: the discriminator as the classifier it exports
    (softmax over the K real classes; dropout off in inference)."""
    image = keras.Input(discriminator.input_shape[1:], name="image")
    logits = discriminator(image)["class_logits"]
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(logits)
    return keras.Model(image, probabilities, name="semi_supervised_classifier")
