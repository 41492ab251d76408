import numpy as np
import keras
import pytest
import tensorflow as tf

from tfgan_app.config import ModelConfig
from tfgan_app.networks import (
    MinibatchStddev, build_networks, dcgan_discriminator, dcgan_generator, mlp_discriminator,
    mlp_generator,
)
from tfgan_app.networks.dcgan import resolution_plan


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3), (64, 1)])
def test_dcgan_shapes_and_output_range(size, channels):
    generator = dcgan_generator(16, (size, size, channels), width=8)
    discriminator = dcgan_discriminator((size, size, channels), width=8)
    z = tf.random.normal([3, 16]) * 10  # large inputs push tanh to its limits
    images = generator(z, training=True)
    assert images.shape == (3, size, size, channels)
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0
    assert discriminator(images)["logit"].shape == (3, 1)


def test_dcgan_follows_radford_guidelines():
    generator = dcgan_generator(16, (32, 32, 3), width=8)
    discriminator = dcgan_discriminator((32, 32, 3), width=8)
    kinds = [type(layer).__name__ for layer in generator.layers]
    assert "Conv2DTranspose" in kinds and "MaxPooling2D" not in kinds
    assert generator.layers[-1].activation.__name__ == "tanh"
    convs = [layer for layer in discriminator.layers if type(layer).__name__ == "Conv2D"]
    assert convs and all(layer.strides == (2, 2) for layer in convs)
    assert any(type(layer).__name__ == "LeakyReLU" for layer in discriminator.layers)
    # No batch norm on D's input layer: the first layer after the first conv is the activation.
    names = [layer.name for layer in discriminator.layers]
    assert "down_0_bn" not in names and "down_1_bn" in names


def test_width_scales_parameters():
    small = dcgan_generator(16, (28, 28, 1), width=8).count_params()
    large = dcgan_generator(16, (28, 28, 1), width=16).count_params()
    assert large > 2 * small


def test_resolution_plan_rejects_unsupported_sizes():
    assert resolution_plan(28) == (7, 2)
    assert resolution_plan(64) == (4, 4)
    with pytest.raises(ValueError, match="30"):
        resolution_plan(30)


def test_spectral_norm_wraps_layers_and_drops_batch_norm():
    discriminator = dcgan_discriminator((32, 32, 3), width=8, spectral_norm=True)
    kinds = [type(layer).__name__ for layer in discriminator.layers]
    assert "SpectralNorm" in kinds and "BatchNormalization" not in kinds
    assert discriminator(tf.zeros([2, 32, 32, 3]), training=True)["logit"].shape == (2, 1)


def test_spectral_norm_divides_by_the_largest_singular_value_with_the_gradient_through_it():
    """Miyato et al. 2018: the layer computes with W / sigma(W); the gradient includes the
    sigma term (eq. 12), which an in-place W <- W / sigma (Keras' wrapper) drops."""
    from tfgan_app.networks.layers import SpectralNorm

    rng = np.random.default_rng(0)
    left, _ = np.linalg.qr(rng.standard_normal((6, 3)))
    right, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    kernel = (left * [4.0, 1.0, 0.5]) @ right.T  # singular values 4, 1, 0.5
    dense = keras.layers.Dense(3, use_bias=False)
    wrapped = SpectralNorm(dense, power_iterations=1)
    x = tf.constant(rng.standard_normal((5, 6)), tf.float32)
    wrapped.build(x.shape)
    dense.kernel.assign(kernel)
    u_before = wrapped.vector_u.numpy().copy()
    wrapped(x, training=False)
    np.testing.assert_array_equal(wrapped.vector_u.numpy(), u_before)  # inference: u stays
    for _ in range(30):
        wrapped(x, training=True)  # each training call advances the power iteration
    np.testing.assert_allclose(wrapped(x, training=False).numpy(), x.numpy() @ kernel / 4.0, rtol=1e-4)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(wrapped(x, training=True) ** 2)
    got = tape.gradient(loss, dense.kernel).numpy()
    u = wrapped.vector_u.numpy()
    v = u @ kernel.T / np.linalg.norm(u @ kernel.T)
    w = tf.Variable(kernel, dtype=tf.float32)
    with tf.GradientTape() as tape:
        sigma = tf.reduce_sum(tf.matmul(tf.constant(v, tf.float32), w) * u)
        expected_loss = tf.reduce_sum(tf.matmul(x, w / sigma) ** 2)
    expected = tape.gradient(expected_loss, w).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    without_sigma_term = 2 * x.numpy().T @ (x.numpy() @ kernel / 4.0) / 4.0
    assert np.abs(got - without_sigma_term).max() > 0.1 * np.abs(without_sigma_term).max()
    conv = SpectralNorm(keras.layers.Conv2D(4, 3, strides=2, padding="same"))
    assert conv(tf.zeros([2, 8, 8, 3]), training=True).shape == (2, 4, 4, 4)
    with pytest.raises(ValueError, match="wraps Dense, Conv2D or Embedding"):
        SpectralNorm(keras.layers.ReLU())
    # Under a mixed policy the wrapped layer's precision holds: a float32 head stays float32
    # (it feeds the loss; a float16 logit broke loss scaling), a convolution computes in float16.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        head = SpectralNorm(keras.layers.Dense(1, dtype="float32"))
        body = SpectralNorm(keras.layers.Conv2D(2, 3))
        assert head(tf.zeros([2, 4], tf.float16), training=True).dtype == tf.float32
        assert body(tf.zeros([2, 5, 5, 1]), training=True).dtype == tf.float16
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_minibatch_stddev_appends_group_statistic():
    x = tf.constant(np.arange(4 * 3, dtype=np.float32).reshape(4, 3))
    out = MinibatchStddev(group_size=2)(x).numpy()
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(out[:, :3], x.numpy())
    # Groups pair examples (0, 2) and (1, 3); each pair differs by 6 in every feature -> std 3.
    np.testing.assert_allclose(out[:, 3], 3.0, rtol=1e-4)
    # A collapsed batch (all examples equal) gets ~0.
    same = MinibatchStddev(group_size=4)(tf.ones([4, 3])).numpy()
    assert np.all(same[:, 3] < 1e-3)


def test_mlp_shapes_and_discriminator_options():
    generator = mlp_generator(2, 2, hidden_units=16, hidden_layers=3)
    assert generator(tf.zeros([5, 2])).shape == (5, 2)
    assert len([layer for layer in generator.layers if layer.name.startswith("hidden")]) == 3
    discriminator = mlp_discriminator(2, 16, 2, spectral_norm=True, minibatch_stddev=True)
    assert discriminator(tf.zeros([8, 2]), training=True)["logit"].shape == (8, 1)


def test_build_networks_checks_data_shape():
    generator, discriminator = build_networks(ModelConfig(architecture="mlp", latent_dim=3), (2,))
    assert generator.output_shape == (None, 2) and discriminator.input_shape == (None, 2)
    with pytest.raises(ValueError, match="vectors"):
        build_networks(ModelConfig(architecture="mlp"), (28, 28, 1))
    with pytest.raises(ValueError, match="square images"):
        build_networks(ModelConfig(architecture="dcgan"), (2,))


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("shape", [(16, 5, 5, 6), (16, 12)])
def test_fused_batch_norm_matches_keras_batch_norm(policy, shape):
    """tfgan_app's BatchNormalization (TensorFlow's fused kernel in training) computes what
    keras.layers.BatchNormalization computes: outputs, gradients, moving statistics."""
    import keras

    from tfgan_app.networks.layers import BatchNormalization

    keras.mixed_precision.set_global_policy(policy)
    try:
        x = tf.Variable(tf.random.stateless_normal(shape, [1, 2]) * 3.0 + 1.0)
        reference, fused = keras.layers.BatchNormalization(momentum=0.8), BatchNormalization(momentum=0.8)
        for layer in (reference, fused):
            layer.build(shape)
        reference.gamma.assign(tf.random.stateless_normal(shape[-1:], [3, 4]))
        reference.beta.assign(tf.random.stateless_normal(shape[-1:], [5, 6]))
        fused.set_weights(reference.get_weights())
        results = []
        for layer in (reference, fused):
            with tf.GradientTape() as tape:
                y = layer(x, training=True)
                loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
            gradients = tape.gradient(loss, [x, layer.gamma, layer.beta])
            inference = layer(x, training=False)
            results.append([y, *gradients, layer.moving_mean, layer.moving_variance, inference])
        assert results[1][0].dtype == results[0][0].dtype
        tolerance = 1e-5 if policy == "float32" else 2e-2
        for name, ours, theirs in zip(("y", "dx", "dgamma", "dbeta", "mean", "variance", "inference"), *results[::-1]):
            ours, theirs = (np.asarray(tf.cast(v, tf.float32)) for v in (ours, theirs))
            scale = max(1.0, float(np.abs(theirs).max()))
            np.testing.assert_allclose(ours / scale, theirs / scale, atol=tolerance, err_msg=name)
        # The moving statistics moved (momentum 0.8) towards the batch's, not just stayed equal.
        assert not np.allclose(fused.moving_mean.numpy(), 0.0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
