"""The style-based generator (networks/stylegan.py) and progressive growing (gans/progressive.py)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import assert_resumes_exactly, tiny_config, write_idx_dataset
from tfgan_app.networks.stylegan import (
    ModulatedConv2D, NoiseInjection, StyleMixing, progressive_gates, stylegan_generator, with_style_truncation,
)


def test_demodulated_convolution_equals_modulating_the_weights_per_example():
    """StyleGAN2 eq. 1-3: w'_ijk = s_i w_ijk, w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2)."""
    layer = ModulatedConv2D(5, 3)
    x = tf.random.normal([2, 6, 6, 4], seed=1)
    w = tf.random.normal([2, 8], seed=2)
    got = layer([x, w]).numpy()
    kernel, style_kernel = (weight.numpy() for weight in layer.scaled_weights())
    style = (w @ style_kernel + layer.style_bias).numpy()
    for example in range(2):
        weights = kernel * style[example][None, None, :, None]
        weights /= np.sqrt(np.sum(weights**2, axis=(0, 1, 2), keepdims=True) + 1e-8)
        expected = tf.nn.conv2d(x[example : example + 1], weights, 1, "SAME").numpy()[0]
        np.testing.assert_allclose(got[example], expected, atol=1e-4)


def test_weights_are_stored_at_unit_scale_and_used_at_he_scale():
    """The equalized learning rate (Karras et al. 2018, sec. 4.1): Adam's step, about the
    learning rate per stored weight, is the same relative change for every layer; the
    mapping layers' stored weights are 1 / lr_multiplier larger, so they move 100x slower."""
    from tfgan_app.networks.stylegan import EqualizedDense

    conv = ModulatedConv2D(64, 3)
    conv([tf.zeros([1, 4, 4, 128]), tf.zeros([1, 32])])
    kernel, style_kernel = conv.scaled_weights()
    assert abs(float(tf.math.reduce_std(conv.kernel)) - 1.0) < 0.05
    assert float(tf.math.reduce_std(kernel)) == pytest.approx(float(tf.math.reduce_std(conv.kernel)) / np.sqrt(9 * 128))
    assert float(tf.math.reduce_std(style_kernel)) == pytest.approx(float(tf.math.reduce_std(conv.style_kernel)) / np.sqrt(32))

    dense = EqualizedDense(256, lr_multiplier=0.01, gain=np.sqrt(2.0))
    x = tf.random.normal([4096, 256], seed=3)
    dense(x)
    assert abs(float(tf.math.reduce_std(dense.kernel)) - 100.0) < 5.0
    dense.bias.assign(tf.fill([256], 7.0))
    y = dense(x).numpy()
    expected = x.numpy() @ (dense.kernel.numpy() * 0.01 * np.sqrt(2.0) / 16.0) + 0.07
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    assert abs(float(np.std(y - 0.07)) - np.sqrt(2.0)) < 0.1  # He's gain: unit inputs give outputs of std sqrt(2)


def test_noise_is_fresh_in_training_and_fixed_at_inference():
    layer = NoiseInjection(seed=0)
    x = tf.zeros([2, 4, 4, 3])
    layer(x)
    layer.strength.assign(1.0)
    first, second = layer(x, training=True), layer(x, training=True)
    assert float(tf.reduce_max(tf.abs(first - second))) > 0.1
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())
    assert float(tf.math.reduce_std(layer(x))) > 0.5  # a noise image, shared by the channels
    np.testing.assert_array_equal(layer(x).numpy()[..., 0], layer(x).numpy()[..., 2])


def test_style_mixing_switches_to_the_second_styles_after_a_crossover_and_tracks_w_average():
    mixing = StyleMixing(6, probability=1.0, seed=3)
    first, second = tf.zeros([64, 4]), tf.ones([64, 4])
    inference = mixing([first, second]).numpy()
    assert inference.shape == (64, 6, 4) and not inference.any()
    mixed = mixing([first, second], training=True).numpy()[..., 0]  # [64, 6]
    crossovers = mixed.argmax(axis=1)
    assert np.all(mixed[:, 0] == 0) and np.all(mixed[:, -1] == 1)  # at least one layer of each
    assert np.all(np.diff(mixed, axis=1) >= 0) and len(set(crossovers)) > 2  # one crossover, at random layers
    np.testing.assert_allclose(mixing.w_average.numpy(), 0.0)
    mixing([tf.ones([64, 4]), second], training=True)
    np.testing.assert_allclose(mixing.w_average.numpy(), 0.005, rtol=1e-5)  # decay 0.995


def style_config(tmp_path, **train):
    idx = write_idx_dataset(tmp_path / "idx", 256, pattern="squares")
    return tiny_config(
        data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")},
        model={"architecture": "stylegan", "generator_width": 8, "discriminator_width": 16, "latent_dim": 16,
               "mapping_layers": 2, "discriminator_norm": "none"},
        loss={"name": "non_saturating", "r1_weight": 1.0},
        optimizer={"generator": {"learning_rate": 2e-3, "beta_1": 0.0, "beta_2": 0.99},
                   "discriminator": {"learning_rate": 2e-3, "beta_1": 0.0, "beta_2": 0.99}},
        train={"batch_size": 16, **train},
    )


def test_stylegan_learns_and_its_export_takes_a_truncation_that_narrows_the_samples(tmp_path):
    from tfgan_app.data import load_source, make_train_dataset
    from tfgan_app.export.exporter import export_model
    from tfgan_app.gans import build_model
    from tfgan_app.generate import generate

    config = style_config(tmp_path, ema_half_life_images=500.0)
    keras.utils.set_random_seed(0)
    source = load_source(config.data)
    model = build_model(config, source.element_shape)
    bins = np.linspace(-1.0, 1.0, 11)
    real = np.histogram(source.images.astype("float32") / 127.5 - 1.0, bins)[0] / source.images.size
    z = tf.random.normal([128, 16], seed=1)

    def distance():
        fake = np.histogram(model.generate(z).numpy(), bins)[0] / (128 * 28 * 28)
        return 0.5 * float(np.abs(fake - real).sum())

    before = distance()
    dataset = make_train_dataset(source, 16, 1, 16, 0, batch_type=model.batch_type)
    model.fit(dataset, steps_per_epoch=200, epochs=1, verbose=0, shuffle=False)
    after = distance()
    assert after < 0.5 * before, (before, after)
    assert float(tf.reduce_max(tf.abs(model.generator.get_layer("style_mixing").w_average))) > 0  # tracked
    [export] = export_model(model, tmp_path / "saved_models", "stylegan")
    assert [entry["name"] for entry in export.manifest["inputs"]] == ["z", "truncation"]
    assert max(export.manifest["parity"]["max_abs_difference"]["onnx"].values()) < 1e-4
    spread = {}
    for truncation in (1.0, 0.5, 1e-6):
        samples, *_ = generate(export.path, "onnx", 64, 0, truncation=truncation)
        spread[truncation] = float(np.mean(np.linalg.norm((samples - samples.mean(0)).reshape(64, -1), axis=1)))
    assert spread[1e-6] < 1e-3 < spread[0.5] < spread[1.0], spread  # psi -> 0: every sample is G(w_avg)
    default, *_ = generate(export.path, "tf", 8, 0)
    np.testing.assert_allclose(default, generate(export.path, "tf", 8, 0, truncation=1.0)[0], atol=1e-6)
    conditional = stylegan_generator(16, (28, 28, 1), 8, 2, num_classes=3)
    assert [t.name for t in with_style_truncation(conditional).inputs] == ["z", "label", "truncation"]


def test_progressive_schedule_fades_each_level_in_and_the_real_images_follow():
    from tfgan_app.gans.progressive import ProgressiveGrowing

    schedule = ProgressiveGrowing(phase_steps=10, levels=2)
    levels = [float(schedule.level(step)) for step in (0, 9, 10, 15, 20, 29, 30, 35, 40, 400)]
    assert levels == pytest.approx([0, 0, 0, 0.5, 1, 1, 1, 1.5, 2, 2])
    images = tf.random.uniform([3, 28, 28, 1], -1, 1, seed=4)
    base = schedule.real_images(images, tf.constant(0.0)).numpy()
    np.testing.assert_allclose(base[:, :4, :4], np.broadcast_to(base[:, :1, :1], (3, 4, 4, 1)))  # 7x7 blocks
    np.testing.assert_allclose(base[:, 0, 0, 0], images.numpy()[:, :4, :4, 0].mean(axis=(1, 2)), atol=1e-6)
    np.testing.assert_allclose(schedule.real_images(images, tf.constant(2.0)).numpy(), images.numpy(), atol=1e-6)
    half = schedule.real_images(images, tf.constant(1.5)).numpy()
    fourteen = schedule.real_images(images, tf.constant(1.0)).numpy()
    np.testing.assert_allclose(half, 0.5 * (fourteen + images.numpy()), atol=1e-6)


def test_progressive_growing_sets_the_gates_from_the_step_and_resumes_exactly_mid_fade(tmp_path):
    config = style_config(tmp_path, steps=7, checkpoint_every=3, log_every=1, progressive_steps=2,
                          ema_half_life_images=200.0)
    config.export.enabled = False
    config.sampling.every = 100
    whole = assert_resumes_exactly(config, tmp_path, stop_step=3)  # stopped at level 0.5: 14x14 half faded in
    from tfgan_app.training.restore import load_run_model

    model = load_run_model(whole)[0]
    # The last update ran at step 6 (t = 3 phases): 14x14 fully in, 28x28 about to fade in.
    # The exported (EMA) generator's gates hold that level, restored from the checkpoint.
    assert [float(gate.numpy()) for gate in progressive_gates(model.sampling_generator)] == [1.0, 1.0]
    from tfgan_app.config import ConfigError
    from tfgan_app.gans.registry import load_config

    with pytest.raises((ConfigError, ValueError), match="stylegan"):
        from tfgan_app.data import load_source
        from tfgan_app.gans import build_model

        dcgan = style_config(tmp_path, progressive_steps=2)
        dcgan.model.architecture = "dcgan"
        build_model(dcgan, load_source(dcgan.data).element_shape)
    assert load_config("fashion_mnist_progressive").train.progressive_steps == 400
