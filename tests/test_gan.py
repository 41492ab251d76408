import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import tiny_config
from tfgan_app.data import load_source, make_train_dataset
from tfgan_app.gans import GAN
from tfgan_app.gans.gan import NoiseBatch
from tfgan_app.networks import mlp_discriminator, mlp_generator
from tfgan_app.training.strategy import make_strategy
from tfgan_app.gans import build_model


def values(variables):
    return [variable.numpy().copy() for variable in variables]


def assert_unchanged(before, variables):
    for old, variable in zip(before, variables):
        np.testing.assert_array_equal(old, variable.numpy())


def one_batch(source, config, seed=0):
    dataset = make_train_dataset(
        source, config.train.batch_size, config.train.discriminator_steps,
        config.model.latent_dim, seed, batch_type=NoiseBatch,
    )
    return next(iter(dataset))


@pytest.fixture
def dcgan(idx_dir, tmp_path):
    config = tiny_config(data={"idx_dir": str(idx_dir), "data_dir": str(tmp_path)})
    source = load_source(config.data)
    return config, source, build_model(config, source.element_shape)


def test_discriminator_step_changes_only_the_discriminator(dcgan):
    config, source, gan = dcgan
    batch = one_batch(source, config)
    generator_before = values(gan.generator.variables)  # batch-norm statistics included
    discriminator_before = values(gan.discriminator.trainable_variables)
    gan.discriminator_step(gan._minibatch(batch, 0))
    assert_unchanged(generator_before, gan.generator.variables)
    changed = [not np.array_equal(old, v.numpy())
               for old, v in zip(discriminator_before, gan.discriminator.trainable_variables)]
    assert all(changed)


def test_generator_step_leaves_discriminator_untouched(dcgan):
    config, source, gan = dcgan
    batch = one_batch(source, config)
    discriminator_before = values(gan.discriminator.variables)  # moving mean/variance included
    generator_before = values(gan.generator.trainable_variables)
    gan.generator_step(gan._generator_minibatch(batch))
    assert_unchanged(discriminator_before, gan.discriminator.variables)
    assert all(not np.array_equal(old, v.numpy())
               for old, v in zip(generator_before, gan.generator.trainable_variables))


def test_train_step_does_k_discriminator_updates_per_generator_update(idx_dir, tmp_path):
    config = tiny_config(
        data={"idx_dir": str(idx_dir), "data_dir": str(tmp_path)}, train={"discriminator_steps": 3}
    )
    source = load_source(config.data)
    gan = build_model(config, source.element_shape)
    dataset = make_train_dataset(source, 16, 3, config.model.latent_dim, 0)
    history = gan.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
    assert int(gan.discriminator_optimizer.iterations) == 6
    assert int(gan.generator_optimizer.iterations) == 2 == int(gan.step)
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert 0.0 < history.history["d_real"][0] < 1.0


def test_generator_learns_the_1d_gaussian():
    config = tiny_config(
        data={"name": "gaussian_1d"},
        model={"architecture": "mlp", "latent_dim": 1, "hidden_units": 32},
        optimizer={"generator": {"learning_rate": 2e-3}, "discriminator": {"learning_rate": 2e-3}},
        train={"batch_size": 128},
    )
    source = load_source(config.data)
    keras.utils.set_random_seed(0)
    gan = build_model(config, source.element_shape)
    z = tf.random.normal([4000, 1], seed=1)
    start = gan.generate(z).numpy()
    dataset = make_train_dataset(source, 128, 1, 1, 0)
    gan.fit(dataset, steps_per_epoch=1500, epochs=1, verbose=0, shuffle=False)
    end = gan.generate(z).numpy()
    # The untrained generator sits near 0; training moves it to N(4, 0.5).
    assert abs(start.mean() - 4.0) > 3.0
    assert abs(end.mean() - 4.0) < 0.5
    assert 0.2 < end.std() < 1.0


@pytest.mark.parametrize("loss,extra", [
    ("minimax", {}),
    ("non_saturating", {"label_smoothing": 0.1}),
    ("wasserstein", {"gradient_penalty_weight": 10.0}),
    ("wasserstein", {"weight_clip": 0.01}),
    ("least_squares", {}),
    ("hinge", {}),
    ("relativistic", {"r1_weight": 1.0, "r2_weight": 1.0}),
])
def test_every_loss_trains(loss, extra):
    generator, discriminator = mlp_generator(2, 2, 16, 1), mlp_discriminator(2, 16, 1)
    gan = GAN(generator, discriminator, discriminator_steps=2)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), loss=loss, **extra)
    source = load_source(tiny_config(data={"name": "ring"}).data)
    before = values(discriminator.trainable_variables)
    history = gan.fit(make_train_dataset(source, 32, 2, 2, 0), steps_per_epoch=5, epochs=1, verbose=0, shuffle=False)
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert any(not np.array_equal(old, v.numpy()) for old, v in zip(before, discriminator.trainable_variables))
    if "weight_clip" in extra:
        assert max(float(tf.reduce_max(tf.abs(v))) for v in discriminator.trainable_variables) <= 0.01 + 1e-7


def test_label_smoothing_is_refused_for_non_cross_entropy_losses():
    gan = GAN(mlp_generator(2, 2), mlp_discriminator(2))
    with pytest.raises(ValueError, match="label_smoothing"):
        gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), loss="hinge", label_smoothing=0.1)


def test_relativistic_generator_update_uses_real_scores_and_other_families_refuse_it(tmp_path):
    """RpGAN's G loss pairs each fake with a real example: the same noise with other real
    data gives G another update. A family whose G update scores no real data refuses it."""
    from tfgan_app.gans.gan import Minibatch

    gan = GAN(mlp_generator(2, 2, 16, 1), mlp_discriminator(2, 16, 1))
    gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), loss="relativistic")
    start = values(gan.generator.trainable_variables)
    z = tf.random.normal([16, 2], seed=1)
    moved = []
    for shift in (0.0, 3.0):
        for variable, value in zip(gan.generator.trainable_variables, start):
            variable.assign(value)
        real = tf.random.normal([16, 2], seed=2) + shift
        gan.generator_step(Minibatch(real, None, z, None, None, None))
        moved.append(values(gan.generator.trainable_variables))
    assert any(not np.allclose(a, b) for a, b in zip(*moved))
    config = tiny_config(
        data={"idx_dir": str(tmp_path), "data_dir": str(tmp_path)}, model={"family": "pix2pix"},
        loss={"name": "relativistic"},
    )
    with pytest.raises(ValueError, match="compares each fake with a real example"):
        build_model(config, (28, 28, 1))


def _one_step_weights(config, source, strategy, initial):
    with strategy.scope():
        gan = build_model(config, source.element_shape, 0, strategy.num_replicas_in_sync)
    networks = gan.generator.variables + gan.discriminator.variables
    for variable, value in zip(networks, initial or values(networks)):
        variable.assign(value)
    start = values(networks)
    dataset = make_train_dataset(
        source, config.train.batch_size, config.train.discriminator_steps, config.model.latent_dim, 0
    )
    gan.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0, shuffle=False)
    return start, values(networks)


@pytest.mark.parametrize("architecture", ["mlp", "dcgan", "r3gan"])
def test_two_replicas_update_exactly_like_one_device(architecture, idx_dir, tmp_path):
    """One step of MirroredStrategy on 2 logical CPUs == one step on one device, same batch.

    SGD makes the update proportional to the gradient, so a loss averaged per replica instead
    of over the global batch (a 2x error) would show. DCGAN's batch norm is synchronized.
    """
    data = {"name": "ring"} if architecture == "mlp" else {"idx_dir": str(idx_dir), "data_dir": str(tmp_path)}
    config = tiny_config(
        data=data, model={"architecture": architecture},
        optimizer={"generator": {"name": "sgd", "learning_rate": 0.1},
                   "discriminator": {"name": "sgd", "learning_rate": 0.1}},
        train={"batch_size": 16, "discriminator_steps": 2},
    )
    source = load_source(config.data)
    mirrored = make_strategy("mirrored")
    assert mirrored.num_replicas_in_sync == 2
    start, single = _one_step_weights(config, source, tf.distribute.get_strategy(), None)
    _, replicated = _one_step_weights(config, source, mirrored, start)
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(start, single))
    assert moved > 1e-3  # the step did something measurable
    for expected, got in zip(single, replicated):
        np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_joint_discriminator_pass_is_the_two_pass_update_and_needs_a_batch_free_discriminator(idx_dir, tmp_path):
    """One D call on [real; fake] gives the same update as two calls when no layer of D mixes
    a batch's examples; a D with batch norm is refused, naming the layer."""
    results = []
    for joint in (False, True):
        config = tiny_config(
            data={"idx_dir": str(idx_dir), "data_dir": str(tmp_path)},
            model={"discriminator_norm": "none"}, train={"joint_discriminator_pass": joint},
        )
        source = load_source(config.data)
        keras.utils.set_random_seed(0)
        gan = build_model(config, source.element_shape)
        initial = values(gan.discriminator.trainable_variables)
        gan.train_step(one_batch(source, config))
        gan.train_step(one_batch(source, config, seed=1))
        results.append(values(gan.generator.trainable_variables + gan.discriminator.trainable_variables))
        assert not all(np.allclose(a, b) for a, b in zip(initial, values(gan.discriminator.trainable_variables)))
    for separate, joint in zip(*results):
        np.testing.assert_allclose(joint, separate, rtol=1e-4, atol=1e-5)
    config = tiny_config(data={"idx_dir": str(idx_dir), "data_dir": str(tmp_path)}, train={"joint_discriminator_pass": True})
    with pytest.raises(ValueError, match="down_1_bn"):
        build_model(config, source.element_shape)
