"""EGBAD's networks (Zenati et al. 2018, after BiGAN, Donahue et al. 2017): an encoder
E: x -> z beside the DCGAN generator, a discriminator of (x, z) pairs, and the scorer
that is exported."""

from __future__ import annotations

import keras
from keras import ops

from tfgan_app.networks.dcgan import resolution_plan
from tfgan_app.networks.layers import BatchNormalization


def _image_body(x: keras.KerasTensor, width: int, prefix: str) -> keras.KerasTensor:
    """[Conv 4x4 stride 2, (batch norm), LeakyReLU(0.2)] down to the base resolution, flattened."""
    _, steps = resolution_plan(x.shape[1])
    for index in range(steps):
        x = keras.layers.Conv2D(width * 2**index, 4, strides=2, padding="same", name=f"{prefix}_down_{index}")(x)
        if index > 0:
            x = BatchNormalization(name=f"{prefix}_down_{index}_bn")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    return keras.layers.Flatten()(x)


def bigan_encoder(image_shape: tuple[int, int, int], latent_dim: int, width: int = 64) -> keras.Model:
    """``image`` -> ``z`` [latent_dim]: the DCGAN discriminator's body with a linear head."""
    image = keras.Input(image_shape, name="image")
    z = keras.layers.Dense(latent_dim, dtype="float32", name="z")(_image_body(image, width, "encoder"))
    return keras.Model(image, z, name="encoder")


def bigan_discriminator(image_shape: tuple[int, int, int], latent_dim: int, width: int = 64, units: int = 512) -> keras.Model:
    """(``data`` x, ``z``) -> {"logit", "features"}: an image branch and a latent branch
    joined by a hidden layer whose activations are the features of the anomaly score."""
    data = keras.Input(image_shape, name="data")
    z = keras.Input((latent_dim,), name="z")
    image_features = _image_body(data, width, "data")
    latent_features = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(units, name="z_hidden")(z))
    joined = keras.layers.Concatenate()([image_features, latent_features])
    hidden = keras.layers.LeakyReLU(0.2)(keras.layers.Dense(units, name="joint_hidden")(joined))
    features = keras.layers.Activation("linear", dtype="float32", name="features")(hidden)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(features)
    return keras.Model([data, z], {"logit": logit, "features": features}, name="bigan_discriminator")


@keras.saving.register_keras_serializable(package="tfgan_app")
class AnomalyScore(keras.layers.Layer):
    """A(x) = alpha |x - G(E(x))|_1 + (1 - alpha) |f(x, E(x)) - f(G(E(x)), E(x))|_1 (Zenati
    et al. 2018, sec. 3, with the feature-matching L_D), both as means per example."""

    def __init__(self, alpha: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        image, reconstruction, features, reconstruction_features = inputs
        pixels = ops.mean(ops.abs(ops.reshape(image - reconstruction, (ops.shape(image)[0], -1))), axis=1)
        feature_distance = ops.mean(ops.abs(features - reconstruction_features), axis=1)
        return self.alpha * pixels + (1.0 - self.alpha) * feature_distance

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0],)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def anomaly_scorer(
    generator: keras.Model, encoder: keras.Model, discriminator: keras.Model | None, alpha: float
) -> keras.Model:
    """``image`` -> ``scores`` [batch] (higher = more anomalous), in inference mode. Without
    a discriminator (the autoencoder baseline) the score is the reconstruction term alone."""
    image = keras.Input(encoder.input_shape[1:], name="image")
    z = encoder(image)
    reconstruction = generator(z)
    if discriminator is None:
        features = reconstruction_features = ops.zeros_like(z)
    else:
        features = discriminator([image, z])["features"]
        reconstruction_features = discriminator([reconstruction, z])["features"]
    scores = AnomalyScore(alpha, dtype="float32", name="scores")([image, reconstruction, features, reconstruction_features])
    return keras.Model(image, scores, name="anomaly_scorer")
