"""The R3GAN-style networks (tfgan_app/networks/r3gan.py) and the recipe's training options."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import tiny_config, write_idx_dataset
from tfgan_app.networks.r3gan import LowPassDownsample, LowPassUpsample, r3gan_discriminator, r3gan_generator


def test_low_pass_resampling_follows_the_121_filter():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    up = LowPassUpsample()(x).numpy()[0, :, :, 0]
    assert up.shape == (8, 8)
    np.testing.assert_allclose(up[::2, ::2], x[0, :, :, 0])            # out[2i] = x[i]
    np.testing.assert_allclose(up[0, 1::2][:3], [0.5, 1.5, 2.5])       # out[2i+1] = (x[i] + x[i+1]) / 2
    np.testing.assert_allclose(up[0, 7], 1.5)                          # zero beyond the border
    down = LowPassDownsample()(up[None, :, :, None]).numpy()[0, :, :, 0]
    assert down.shape == (4, 4)
    # Inside the border the [1, 2, 1] low-pass of a linear interpolation gives the samples back.
    np.testing.assert_allclose(down[1:3, 1:3], x[0, 1:3, 1:3, 0])
    ramp = np.tile(np.arange(8, dtype="float32"), (8, 1))[None, :, :, None]
    np.testing.assert_allclose(LowPassDownsample()(ramp).numpy()[0, 2, 1:, 0], [2.0, 4.0, 6.0])


def test_upsampling_keeps_bfloat16():
    x = tf.random.normal([2, 7, 5, 3], seed=1)
    half = LowPassUpsample(dtype="mixed_bfloat16")(x)
    assert half.dtype == tf.bfloat16 and half.shape == (2, 14, 10, 3)
    np.testing.assert_allclose(tf.cast(half, "float32").numpy(), LowPassUpsample()(x).numpy(), atol=0.05)


@pytest.mark.parametrize("size,channels", [(28, 1), (64, 3)])
def test_networks_have_the_recipe_structure(size, channels):
    generator = r3gan_generator(16, (size, size, channels), width=8, blocks_per_stage=2, cardinality=2)
    discriminator = r3gan_discriminator((size, size, channels), width=8, blocks_per_stage=2, cardinality=2)
    z = tf.random.normal([3, 16])
    images = generator(z)
    assert images.shape == (3, size, size, channels)
    assert discriminator(images)["logit"].shape == (3, 1)
    for network in (generator, discriminator):
        kinds = {type(layer).__name__ for layer in network.layers}
        assert not kinds & {"Conv2DTranspose", "BatchNormalization", "LayerNormalization", "GroupNormalization"}
        projections = [layer for layer in network.layers if layer.name.endswith("_project")]
        assert len(projections) == 2 * (3 if size == 28 else 5)  # 2 blocks per resolution
        assert all(not np.any(layer.kernel.numpy()) for layer in projections)  # each block starts as the identity
        grouped = [layer for layer in network.layers if layer.name.endswith("_grouped")]
        assert all(layer.groups == 2 for layer in grouped)
        assert not any(getattr(layer, "strides", (1, 1)) != (1, 1) for layer in network.layers)  # resampling is the filter's
    assert float(tf.math.reduce_std(images)) > 0.1  # the basis and z reach the output at init


def test_projection_discriminator_uses_the_label_and_rejects_indivisible_groups():
    discriminator = r3gan_discriminator((28, 28, 1), width=8, num_classes=10)
    discriminator.get_layer("class_projection").embeddings.assign(tf.random.normal([10, 32]))
    images = tf.random.normal([4, 28, 28, 1])
    first = discriminator([images, tf.constant([0, 0, 0, 0])])["logit"]
    other = discriminator([images, tf.constant([5, 5, 5, 5])])["logit"]
    assert float(tf.reduce_max(tf.abs(first - other))) > 1e-4
    with pytest.raises(ValueError, match="model.cardinality"):
        r3gan_generator(16, (28, 28, 1), width=8, expansion=3, cardinality=5)


def test_r3gan_recipe_learns_the_data_and_exports(tmp_path):
    """The relativistic pairing loss with R1 + R2 on the R3GAN networks moves G's samples to
    the data: the histogram of generated pixel values (dark noise, bright squares) approaches
    the real one (total variation distance), and D and G stay near the pairing game's
    equilibrium instead of D winning."""
    from tfgan_app.data import load_source, make_train_dataset
    from tfgan_app.export.exporter import export_model
    from tfgan_app.gans import build_model

    config = tiny_config(
        data={"idx_dir": str(write_idx_dataset(tmp_path / "idx", 512, pattern="squares")), "data_dir": str(tmp_path)},
        model={"architecture": "r3gan", "generator_width": 8, "discriminator_width": 8},
        loss={"name": "relativistic", "r1_weight": 1.0, "r2_weight": 1.0},
        optimizer={"generator": {"learning_rate": 2e-3, "beta_1": 0.0, "beta_2": 0.99},
                   "discriminator": {"learning_rate": 2e-3, "beta_1": 0.0, "beta_2": 0.99}},
        train={"batch_size": 32, "ema_half_life_images": 500.0},
    )
    keras.utils.set_random_seed(0)
    source = load_source(config.data)
    model = build_model(config, source.element_shape)
    bins = np.linspace(-1.0, 1.0, 11)
    real = np.histogram(source.images[:512].astype("float32") / 127.5 - 1.0, bins)[0] / source.images[:512].size
    z = tf.random.normal([256, config.model.latent_dim], seed=1)

    def distance():
        fake = np.histogram(np.clip(model.generate(z).numpy(), -1, 1), bins)[0] / (256 * 28 * 28)
        return 0.5 * float(np.abs(fake - real).sum())

    before = distance()
    dataset = make_train_dataset(source, 32, 1, config.model.latent_dim, 0, batch_type=model.batch_type)
    history = model.fit(dataset, steps_per_epoch=200, epochs=1, verbose=0, shuffle=False)
    assert all(np.isfinite(values[-1]) for values in history.history.values())
    after = distance()
    assert after < 0.5 * before, (before, after)
    assert 0.4 < history.history["d_loss"][-1] < 1.0  # log 2 = 0.69 at the equilibrium
    result = export_model(model, tmp_path / "saved_models", "r3gan", formats=("onnx",))[0]
    assert result.manifest["onnx_rewritten_transposed_convolutions"] == 0  # it has none to rewrite


def test_ema_half_life_sets_the_decay_and_the_cosine_schedule_ends_at_the_final_fraction():
    from tfgan_app.config import ConfigError, ema_decay_of
    from tfgan_app.gans.registry import load_config
    from tfgan_app.gans import build_model
    from tfgan_app.gans.build import LinearDecay

    config = load_config("fashion_mnist_dcgan", ["train.ema_half_life_images=6400", "train.batch_size=64",
                                                 "model.generator_width=8", "model.discriminator_width=8"])
    assert ema_decay_of(config.train) == pytest.approx(0.5 ** 0.01)
    assert build_model(config, (28, 28, 1)).averages["generator"].decay == pytest.approx(0.5 ** 0.01)
    with pytest.raises(ConfigError, match="ema_half_life_images"):
        load_config("fashion_mnist_dcgan", ["train.ema_half_life_images=-1"])
    with pytest.raises(ConfigError, match="decay_final_fraction"):
        load_config("fashion_mnist_dcgan", ["train.decay_final_fraction=2"])
    cosine = LinearDecay(2e-4, 100, 300, final_fraction=0.25, cosine=True)
    linear = LinearDecay(2e-4, 100, 300)
    rates = {step: float(cosine(step)) for step in (0, 100, 200, 300, 400)}
    assert rates[0] == rates[100] == pytest.approx(2e-4)
    assert rates[200] == pytest.approx(2e-4 * (0.25 + 0.75 * 0.5))
    assert rates[300] == rates[400] == pytest.approx(5e-5)
    assert float(linear(200)) == pytest.approx(1e-4) and float(linear(300)) == 0.0


def test_beta_2_and_the_penalty_weights_follow_the_learning_rate_schedule(tmp_path):
    """R3GAN's schedules: beta_2 up from 0.9 to 0.99 and gamma down to a tenth along the
    cosine of the learning rate, as functions of the step (so a resumed run continues them
    exactly)."""
    from tfgan_app.config import ConfigError
    from tfgan_app.gans.registry import family_source, load_config
    from tfgan_app.data import load_source, make_train_dataset
    from tfgan_app.gans import build_model

    idx = write_idx_dataset(tmp_path / "idx", 128)
    config = tiny_config(
        data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")},
        model={"generator_width": 8, "discriminator_width": 8, "discriminator_norm": "none"},
        loss={"name": "relativistic", "r1_weight": 1.0, "r2_weight": 1.0},
        optimizer={"generator": {"beta_1": 0.0, "beta_2": 0.9}, "discriminator": {"beta_1": 0.0, "beta_2": 0.9}},
        train={"batch_size": 16, "steps": 8, "learning_rate_decay": "cosine",
               "decay_start": 0.0, "decay_final_fraction": 0.25, "beta_2_final": 0.99, "penalty_final_fraction": 0.1},
    )
    source = family_source(config)
    model = build_model(config, source.element_shape, total_steps=8)
    beta_2 = lambda: float(model.generator_optimizer.beta_2)  # noqa: E731
    assert beta_2() == pytest.approx(0.9) and float(model.penalty_scale()) == pytest.approx(1.0)
    dataset = make_train_dataset(source, 16, 1, model.noise_dim, 0, batch_type=model.batch_type)
    model.fit(dataset, steps_per_epoch=4, epochs=1, verbose=0)  # half way along the cosine
    assert beta_2() == pytest.approx(0.9 + 0.09 * 0.5, rel=1e-5)
    assert float(model.penalty_scale()) == pytest.approx(0.1 + 0.9 * 0.5, rel=1e-5)
    assert float(model.discriminator_optimizer.beta_2) == pytest.approx(beta_2())
    model.fit(dataset, steps_per_epoch=4, epochs=1, verbose=0)
    assert beta_2() == pytest.approx(0.99) and float(model.penalty_scale()) == pytest.approx(0.1)
    # Nothing but the update counts (which checkpoints restore) sets them: a rebuilt model
    # at step 4 has the values of the run at step 4.
    rebuilt = build_model(config, source.element_shape, total_steps=8)
    rebuilt.generator_optimizer.iterations.assign(4)
    assert float(rebuilt.generator_optimizer.beta_2) == pytest.approx(0.9 + 0.09 * 0.5, rel=1e-5)
    assert float(rebuilt.penalty_scale()) == pytest.approx(0.1 + 0.9 * 0.5, rel=1e-5)
    with pytest.raises(ConfigError, match="follow the learning-rate schedule"):
        load_config("fashion_mnist_dcgan", ["train.beta_2_final=0.99"])
    with pytest.raises(ConfigError, match=r"penalty_final_fraction must be in \[0, 1\]"):
        load_config("fashion_mnist_r3gan", ["train.penalty_final_fraction=2"])


def test_lazy_penalties_apply_n_times_the_weight_in_one_step_of_n_and_none_between(tmp_path):
    """``loss.penalty_every`` (lazy regularisation, Karras et al. 2020, sec. 3.1): at a step
    whose number divides by N, D's update is the one with N times the R1 and R2 weights;
    at the steps between it is the update without penalties."""
    from tfgan_app.config import ConfigError
    from tfgan_app.gans.registry import family_source, load_config
    from tfgan_app.data import load_source, make_train_dataset
    from tfgan_app.gans import build_model

    idx = write_idx_dataset(tmp_path / "idx", 64)
    base = dict(
        data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")},
        model={"architecture": "r3gan", "generator_width": 8, "discriminator_width": 8},
        optimizer={"generator": {"beta_1": 0.0, "beta_2": 0.99}, "discriminator": {"beta_1": 0.0, "beta_2": 0.99}},
        train={"batch_size": 16},
    )

    def one_step(start: int, **loss) -> tuple[list[np.ndarray], float]:
        """D's weights and logged d_loss after one training step from ``start``, the same
        initial weights and batch for every call."""
        config = tiny_config(loss={"name": "relativistic", **loss}, **base)
        source = family_source(config)
        keras.utils.set_random_seed(0)
        model = build_model(config, source.element_shape)
        model.generator_optimizer.iterations.assign(start)
        dataset = make_train_dataset(source, 16, 1, model.noise_dim, 0, batch_type=model.batch_type)
        history = model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
        return [w.numpy() for w in model.discriminator.weights], history.history["d_loss"][-1]

    lazy_on, lazy_loss_on = one_step(4, r1_weight=1.0, r2_weight=0.5, penalty_every=4)
    strong, strong_loss = one_step(4, r1_weight=4.0, r2_weight=2.0)
    lazy_off, lazy_loss_off = one_step(5, r1_weight=1.0, r2_weight=0.5, penalty_every=4)
    plain, plain_loss = one_step(5)
    for a, b in zip(lazy_on, strong):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    for a, b in zip(lazy_off, plain):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert lazy_loss_on == pytest.approx(strong_loss, rel=1e-5) and lazy_loss_off == pytest.approx(plain_loss, rel=1e-5)
    assert lazy_loss_on > plain_loss + 1e-4  # the penalties were there, and counted
    assert max(float(np.abs(a - b).max()) for a, b in zip(lazy_on, lazy_off)) > 1e-6

    with pytest.raises(ConfigError, match="loss.penalty_every = 4 schedules gradient penalties, but none is on"):
        load_config("fashion_mnist_dcgan", ["loss.penalty_every=4"])
    with pytest.raises(ConfigError, match="loss.penalty_every"):
        load_config("fashion_mnist_r3gan", ["loss.penalty_every=0"])


@pytest.mark.parametrize("architecture,joint", [("r3gan", False), ("r3gan", True), ("dcgan", False)])
def test_r1_and_r2_from_the_adversarial_pass_give_the_update_of_their_own_passes(architecture, joint):
    """Without augmentation D's update takes R1 and R2 from the input gradients of the
    forward passes its loss scores (as R3GAN's code does); the update is SGD on the loss
    written with a pass of its own per penalty: L = mean softplus(-(D(x) - D(G(z))))
    + gamma_1 mean R1(x) + gamma_2 mean R2(G(z)) (Huang et al. 2024, eq. 2 and 4). The
    DCGAN discriminator has batch norm: the penalties' gradients then include the batch
    statistics' terms, the same in both."""
    from tfgan_app import losses
    from tfgan_app.gans.gan import GAN, Minibatch
    from tfgan_app.networks.dcgan import dcgan_discriminator

    keras.utils.set_random_seed(3)
    generator = r3gan_generator(16, (28, 28, 1), width=8, blocks_per_stage=1, cardinality=2)
    if architecture == "r3gan":
        discriminator = r3gan_discriminator((28, 28, 1), width=8, blocks_per_stage=1, cardinality=2)
    else:
        discriminator = dcgan_discriminator((28, 28, 1), width=8)
    gan = GAN(generator, discriminator, joint_discriminator_pass=joint)
    gan.compile(
        keras.optimizers.SGD(1.0), keras.optimizers.SGD(1.0), loss="relativistic", r1_weight=0.7, r2_weight=0.3,
    )
    real = tf.random.uniform([8, 28, 28, 1], -1.0, 1.0, seed=1)
    z = tf.random.normal([8, 16], seed=2)
    fake = generator(z, training=False)
    weights = discriminator.trainable_variables
    before = [w.numpy() for w in weights]

    def critic(images):
        return discriminator(images, training=True)["logit"]

    with tf.GradientTape() as tape:
        loss = (
            tf.reduce_mean(losses.relativistic_discriminator_loss(critic(real), critic(fake)))
            + 0.7 * tf.reduce_mean(losses.r1_penalty(critic, real))
            + 0.3 * tf.reduce_mean(losses.r2_penalty(critic, fake))
        )
    expected = tape.gradient(loss, weights)
    assert max(float(tf.reduce_max(tf.abs(g))) for g in expected) > 1e-4

    uniforms = tf.zeros([8, 1])
    gan.discriminator_step(Minibatch(real, None, z, tf.zeros([8]), uniforms, uniforms), fake)
    for variable, start, gradient in zip(weights, before, expected):
        np.testing.assert_allclose(start - variable.numpy(), gradient.numpy(), rtol=2e-4, atol=2e-6)
    # The logged loss is the same sum of means.
    assert float(gan.trackers["d_loss"].result()) == pytest.approx(float(loss), rel=1e-5)
