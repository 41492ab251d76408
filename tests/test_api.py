"""The Keras-native Python API, as the README shows it: any Keras networks, ``compile``,
``fit`` on plain image batches, the same verified export; networks that cannot work are
refused with their shapes; the noise is reproducible; the trainer's callbacks work too."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfgan_app
from tests.helpers import tiny_config, write_idx_dataset
from tests.user_networks import discriminator as user_discriminator
from tests.user_networks import generator as user_generator
from tfgan_app import generate as generate_cli
from tfgan_app.data import load_source, to_model_range
from tfgan_app.training.trainer import train

QUIET = open(os.devnull, "w")


def bar_images(tmp_path, count=256):
    """(images in [-1, 1], labels): class c is a bright bar at rows 2c+4, 2c+5."""
    idx = write_idx_dataset(tmp_path / "idx", count=count)
    source = load_source(tiny_config(data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")}).data)
    return to_model_range(source.images).numpy(), source.labels


def weights(model):
    return [variable.numpy().copy() for variable in model.trainable_variables]


def moved(before, model):
    return all(not np.array_equal(old, new.numpy()) for old, new in zip(before, model.trainable_variables))


def test_readme_example_trains_and_exports_plain_keras_networks(tmp_path):
    images_array, _ = bar_images(tmp_path)
    images = tf.data.Dataset.from_tensor_slices(images_array).batch(32)
    generator, discriminator = user_generator(), user_discriminator()
    g_before, d_before = weights(generator), weights(discriminator)

    # --- as in the README ---
    gan = tfgan_app.GAN(generator, discriminator)
    gan.compile(generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                loss="non_saturating")
    history = gan.fit(images, epochs=1, verbose=0)
    [export] = tfgan_app.export_generator(gan, tmp_path / "saved_models" / "mine")
    # ---

    assert int(gan.step.numpy()) == 8 and np.isfinite(history.history["d_loss"][0])
    assert moved(g_before, generator) and moved(d_before, discriminator)
    assert export.path == tmp_path / "saved_models" / "mine" / "1"
    manifest = json.loads((export.path / "export.json").read_text())
    assert manifest["inputs"] == [{"name": "z", "dtype": "float32", "shape": [16], "kind": "noise"}]
    assert max(manifest["parity"]["max_abs_difference"]["onnx"].values()) < 1e-4
    samples = generate_cli.generate(export.path, "onnx", 6, seed=0)[0]
    z = np.random.default_rng(0).standard_normal((6, 16)).astype(np.float32)
    np.testing.assert_allclose(samples, generator(z, training=False).numpy(), atol=1e-4)


def test_numpy_arrays_and_dict_discriminators_work(tmp_path):
    images, _ = bar_images(tmp_path, 64)
    image = keras.Input((28, 28, 1))
    features = keras.layers.Flatten()(keras.layers.Conv2D(4, 4, strides=2)(image))
    discriminator = keras.Model(image, {"logit": keras.layers.Dense(1)(features), "features": features})
    gan = tfgan_app.GAN(user_generator(), discriminator)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), feature_matching_weight=1.0)
    history = gan.fit(images, batch_size=16, epochs=1, verbose=0)
    assert int(gan.step.numpy()) == 4 and np.isfinite(history.history["g_loss"][0])


def test_conditional_gan_fits_images_with_labels_and_exports_a_label_input(tmp_path):
    images, labels = bar_images(tmp_path, 128)
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)
    gan = tfgan_app.ConditionalGAN(user_generator(num_classes=10), user_discriminator(num_classes=10), num_classes=10)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    gan.fit(dataset, epochs=1, verbose=0)
    assert int(gan.step.numpy()) == 4
    with pytest.raises(ValueError, match=r"needs \(samples, labels\) batches"):
        gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0)
    [export] = tfgan_app.export_generator(gan, tmp_path / "models" / "conditional", formats=("savedmodel",))
    names = [(entry["name"], entry.get("classes")) for entry in export.manifest["inputs"]]
    assert names == [("z", None), ("label", 10)]
    seven = generate_cli.generate(export.path, "tf", 2, seed=0, label=7)[0]
    two = generate_cli.generate(export.path, "tf", 2, seed=0, label=2)[0]
    assert np.abs(seven - two).max() > 1e-4  # the label reaches the network


def test_noise_is_drawn_from_the_seed_and_the_step_so_resuming_is_exact(tmp_path):
    images, _ = bar_images(tmp_path, 128)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(32)

    def run(chunks, seed=0):
        keras.utils.set_random_seed(1)  # the same initial weights every time
        gan = tfgan_app.GAN(user_generator(), user_discriminator(), seed=seed)
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
        for start, steps in chunks:
            gan.fit(dataset.skip(start).take(steps), epochs=1, verbose=0)
        return weights(gan.generator)

    whole, resumed, other_seed = run([(0, 4)]), run([(0, 2), (2, 2)]), run([(0, 4)], seed=1)
    for a, b in zip(whole, resumed):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(whole, other_seed))


@pytest.mark.parametrize("generator,discriminator,message", [
    (lambda: keras.Sequential([keras.Input((4, 4)), keras.layers.Dense(2)]), user_discriminator,
     r"must take noise of rank 2 \(\[batch, latent_dim\]\).*takes \(None, 4, 4\)"),
    (user_generator, lambda: keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]),
     r"one logit per example .* returned \(2, 3\)"),
    (user_generator, lambda: keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(1)]),
     r"cannot take the generator's samples of shape \(28, 28, 1\)"),
])
def test_networks_that_cannot_work_are_refused_with_their_shapes(generator, discriminator, message):
    with pytest.raises(ValueError, match=message):
        tfgan_app.GAN(generator(), discriminator())


def test_trainer_callbacks_are_usable_from_python(tmp_path):
    images, _ = bar_images(tmp_path, 128)
    gan = tfgan_app.GAN(user_generator(), user_discriminator(), ema_decay=0.9)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    callbacks = tfgan_app.callbacks.training_callbacks(
        gan, tmp_path / "run", steps=4, batch_size=32, log_every=2, checkpoint_every=2, sample_every=2,
        num_samples=9, progress_stream=QUIET,
    )
    gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=1, verbose=0, callbacks=callbacks)
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4]
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")).endswith("ckpt-4")
    assert sorted(path.name for path in (tmp_path / "run" / "samples").iterdir()) == ["step_00000002.png", "step_00000004.png"]
    # The EMA copy is what is sampled and exported, and it trails the generator.
    assert gan.exports()[""] is not gan.generator and gan.sampling_generator is gan.ema_generator


def test_pipeline_builds_the_users_own_networks(tmp_path):
    idx = write_idx_dataset(tmp_path / "idx", count=256)
    config = tiny_config(
        data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")},
        model={"generator": "tests.user_networks:generator", "discriminator": "tests.user_networks:discriminator"},
        train={"steps": 4, "checkpoint_every": 4},
        export={"out": str(tmp_path / "models"), "formats": "savedmodel"},
    )
    config.pipeline = "mine.toml"
    result = train(config, tmp_path / "run", progress_stream=QUIET)
    assert result.status == "completed" and result.step == 4
    from tfgan_app.export import export_run

    [export] = export_run(tmp_path / "run", tmp_path / "models", formats=("savedmodel",))
    assert export.manifest["inputs"][0]["name"] == "z"
    config.model.generator = "tests.user_networks:no_such_function"
    with pytest.raises(ValueError, match="tests.user_networks has no function 'no_such_function'"):
        train(config, tmp_path / "other", progress_stream=QUIET)
