"""The GAN families: each trains a tiny configuration and shows a learning signal, resumes,
exports with its own signature, and refuses bad input with a clear error."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.helpers import assert_resumes_exactly, tiny_config, write_idx_dataset
from tfgan_app import generate as generate_cli
from tfgan_app.config import ConfigError
from tfgan_app.gans.registry import family_source, load_config
from tfgan_app.data import DataError, ImageFolderError, load_source, make_train_dataset
from tfgan_app.export import export_run
from tfgan_app.gans import build_model
from tfgan_app.gans.cyclegan import ImagePool
from tfgan_app.gans.gan import NoiseBatch
from tfgan_app.gans.pix2pix import PairBatch
from tfgan_app.serving.signature import read_signature_def
from tfgan_app.training.trainer import train

QUIET = open(os.devnull, "w")


def fit(model, source, config, steps, seed=0):
    dataset = make_train_dataset(
        source, config.train.batch_size, config.train.discriminator_steps, model.noise_dim, seed,
        batch_type=model.batch_type,
    )
    return model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False).history


def bars_config(tmp_path, **sections):
    """The synthetic IDX data of the tests: class c is a bright bar at rows 2c+4, 2c+5."""
    idx = write_idx_dataset(tmp_path / "idx", count=512)
    return tiny_config(data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")}, **sections)


def brightest_row(images):
    return np.argmax(images[..., 0].mean(axis=2), axis=1)


def conditional_bars_model(tmp_path, family):
    """(model, config, source): a ``family`` model with 16-wide networks on the bars."""
    config = bars_config(
        tmp_path, model={"family": family, "generator_width": 16, "discriminator_width": 16},
        optimizer={"generator": {"learning_rate": 1e-3}, "discriminator": {"learning_rate": 1e-3}},
        train={"batch_size": 32},
    )
    source = family_source(config)
    keras.utils.set_random_seed(0)
    return build_model(config, source.element_shape, source.num_classes), config, source


def assert_draws_the_asked_class(model, latent_dim):
    z = tf.random.normal([100, latent_dim], seed=3)
    labels = tf.repeat(tf.range(10), 10)
    rows = brightest_row(model.generator([z, labels], training=False).numpy())
    # Class c has its bar at rows 2c+4..2c+5; chance of landing there is about 2/28.
    hits = np.mean((rows >= 2 * labels.numpy() + 3) & (rows <= 2 * labels.numpy() + 6))
    assert hits > 0.6, f"only {hits:.0%} of samples show their class's bar"


def test_conditional_gan_draws_the_class_it_is_asked_for(tmp_path):
    model, config, source = conditional_bars_model(tmp_path, "cgan")
    fit(model, source, config, 250)
    assert_draws_the_asked_class(model, config.model.latent_dim)
    # Unlabelled sampling (evaluation) cycles through the classes, from numpy noise too.
    cycled = model.generate(np.random.default_rng(0).standard_normal((20, 16)).astype(np.float32))
    assert cycled.shape == (20, 28, 28, 1)


def test_acgan_draws_the_class_it_is_asked_for_and_its_d_classifies(tmp_path):
    """AC-GAN: D takes the image alone and its class head learns the real classes; G's
    samples show the asked class's bar (the class loss is the only way G learns labels)."""
    model, config, source = conditional_bars_model(tmp_path, "acgan")
    assert [tensor.name for tensor in model.discriminator.inputs] == ["data"]  # no label input
    assert model.discriminator.output["q"].shape[-1] == 10
    real = source.images[:200].astype(np.float32) / 127.5 - 1.0

    def d_accuracy():
        logits = model.discriminator(real, training=False)["q"]
        return float(np.mean(np.argmax(logits, -1) == source.labels[:200]))

    before = d_accuracy()
    history = fit(model, source, config, 250)
    assert d_accuracy() > 0.9 and before < 0.4 and history["class_accuracy"][0] > 0.5  # chance is 0.1
    assert_draws_the_asked_class(model, config.model.latent_dim)


@pytest.mark.parametrize("classify_fakes", [True, False])
def test_acgan_class_head_learns_the_fakes_only_when_asked(classify_fakes):
    """With classify_fakes off, D's class head is trained on the real examples alone: its
    weights after a D update do not depend on which fakes D saw (the trunk's still do)."""
    from tfgan_app.gans.gan import Minibatch

    config = tiny_config(model={"family": "acgan"}, acgan={"classify_fakes": classify_fakes, "class_weight": 1.0})
    first, second = (build_model(config, (28, 28, 1), 3) for _ in range(2))
    second.discriminator.set_weights(first.discriminator.get_weights())
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    minibatch = Minibatch(real=tf.constant(real), label=tf.constant([0, 1, 2, 0, 1, 2, 0, 1]), z=None, epsilon=None,
                          augment_real=None, augment_fake=None)
    for model, seed in ((first, 1), (second, 2)):
        fake = np.random.default_rng(seed).uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
        model.discriminator_step(minibatch, tf.constant(fake))

    def head(model):
        return [weight.numpy() for layer in model.discriminator.layers if layer.name.startswith("q")
                for weight in layer.weights]

    heads_equal = all(np.array_equal(a, b) for a, b in zip(head(first), head(second)))
    assert head(first) and heads_equal == (not classify_fakes)


def test_acgan_refuses_a_discriminator_without_a_class_head():
    from tfgan_app.gans.acgan import ACGAN
    from tfgan_app.networks import dcgan_discriminator, dcgan_generator

    generator = dcgan_generator(8, (28, 28, 1), width=8, num_classes=3)
    with pytest.raises(ValueError, match="needs a 'q' output of 3 class logits"):
        ACGAN(generator, dcgan_discriminator((28, 28, 1), width=8), 3)


def test_biggan_with_two_discriminator_updates_per_step_resumes_exactly(tmp_path):
    """The shipped BigGAN pipeline takes 2 D updates per G update (2 batches per step):
    a run stopped between checkpoints and resumed ends with the uninterrupted run's weights,
    EMA copy and batch-norm statistics."""
    idx = write_idx_dataset(tmp_path / "idx", count=128)
    config = tiny_config(
        data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")}, model={"family": "biggan"},
        loss={"name": "hinge"}, biggan={"embedding_dim": 8},
        train={"steps": 6, "checkpoint_every": 3, "discriminator_steps": 2, "ema_decay": 0.9},
    )
    assert_resumes_exactly(config, tmp_path, stop_step=3)


def test_biggan_draws_the_asked_class_and_its_export_takes_a_truncation(tmp_path):
    """BigGAN-style conditioning (Brock et al. 2019): the class reaches G only through its
    conditional batch norms, and the exported ``truncation`` input narrows the spread of
    the samples (mean distance to the mean sample smaller at 0.5 than at 1). The data's
    class is a square's size anywhere in the image: D's global sum pooling sees content,
    not position (see ``networks.biggan``)."""
    from tfgan_app.export import export_generator
    from tfgan_app.generate import generate
    from tfgan_app.networks.layers import all_layers

    idx = write_idx_dataset(tmp_path / "squares", pattern="squares")
    config = tiny_config(
        data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")},
        model={"family": "biggan", "generator_width": 16, "discriminator_width": 16},
        optimizer={"generator": {"learning_rate": 1e-3}, "discriminator": {"learning_rate": 1e-3}},
        train={"batch_size": 32},
    )
    source = family_source(config)
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape, source.num_classes)
    assert [layer.name for layer in all_layers(model.generator) if layer.name.endswith("_gain")]  # conditional BN
    assert len(model.generator_regularizers) == 1  # orthogonal regularisation
    z = tf.random.normal([200, config.model.latent_dim], seed=3)
    asked = np.repeat(np.arange(10), 20)

    def size_follows_class():
        images = model.generator([z, tf.constant(asked)], training=False).numpy()
        return float(np.corrcoef(asked, (images[..., 0] > 0).sum(axis=(1, 2)))[0, 1])

    before = size_follows_class()
    fit(model, source, config, 250)
    after = size_follows_class()
    assert after > 0.7 and after > before + 0.3, (before, after)  # the square grows with the class
    out = tmp_path / "saved_models"
    [export] = export_generator(model, out / "biggan")
    assert [entry["name"] for entry in export.manifest["inputs"]] == ["z", "label", "truncation"]
    assert max(export.manifest["parity"]["max_abs_difference"]["onnx"].values()) < 1e-4
    spread = {}
    for truncation in (1.0, 0.5):
        samples, *_ = generate(export.path, "onnx", 200, 0, label=3, truncation=truncation)
        spread[truncation] = float(np.mean(np.linalg.norm((samples - samples.mean(0)).reshape(200, -1), axis=1)))
    assert spread[0.5] < spread[1.0], spread
    default, *_ = generate(export.path, "tf", 8, 0, label=3)
    explicit, *_ = generate(export.path, "tf", 8, 0, label=3, truncation=1.0)
    np.testing.assert_array_equal(default, explicit)  # the default is G itself
    assert generate_cli.main(["--model", str(out / "biggan"), "--truncation", "1.5", "--out", str(tmp_path / "g.png")]) == 2


def ssgan_config(tmp_path, **ssgan):
    return bars_config(
        tmp_path, model={"family": "ssgan", "generator_width": 16, "discriminator_width": 16},
        optimizer={"generator": {"learning_rate": 1e-3}, "discriminator": {"learning_rate": 1e-3}},
        train={"batch_size": 16, "steps": 80, "checkpoint_every": 80, "log_every": 20},
        export={"out": str(tmp_path / "saved_models"), "formats": "savedmodel,onnx"},
        ssgan={"labels_per_class": 2, **ssgan},
    )


def held_out_bar_images(tmp_path):
    from tests.helpers import write_idx_dataset

    config = tiny_config(data={"idx_dir": str(write_idx_dataset(tmp_path / "held_out", count=256, seed=7)),
                               "data_dir": str(tmp_path / "tfds")})
    source = load_source(config.data)
    return source.images.astype(np.float32) / 127.5 - 1.0, source.labels


def test_semi_supervised_gan_learns_a_classifier_from_two_labels_per_class_and_exports_it(tmp_path):
    """Salimans et al. 2016, sec. 5: D is a K-way classifier (the fake class's logit fixed at
    0), trained on the labelled few and every image unlabelled; G by feature matching."""
    from tfgan_app.generate import load_runner

    config = ssgan_config(tmp_path)
    source = family_source(config)
    assert len(source.images) == 20 and np.bincount(source.labels).tolist() == [2] * 10
    assert len(source.images_b) == 512  # every image, unlabelled
    model = build_model(config, source.element_shape, source.num_classes)
    batch = next(iter(make_train_dataset(source, 16, 1, model.noise_dim, 0, batch_type=model.batch_type)))
    assert batch._fields == ("real", "label", "real_b", "z_discriminator", "z_generator")
    images, labels = held_out_bar_images(tmp_path)
    chance = float(np.mean(model.classify(images).numpy().argmax(1) == labels))
    result = train(config, tmp_path / "run", progress_stream=QUIET)
    assert result.status == "completed" and result.step == 80
    [export] = export_run(tmp_path / "run", tmp_path / "saved_models", "classifier")
    assert export.manifest["output"] == "probabilities" and export.manifest["inputs"][0]["name"] == "image"
    run, _ = load_runner(export.path, "onnx")
    probabilities = run({"image": images})
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = float(np.mean(probabilities.argmax(1) == labels))
    assert accuracy > 0.8 and chance < 0.4, (accuracy, chance)
    # G learned by feature matching: under the trained D its samples' mean features are
    # nearer the data's than an untrained G's.
    trained = build_model(config, source.element_shape, source.num_classes)
    checkpoint = tf.train.Checkpoint(**trained.checkpoint_objects())
    checkpoint.restore(tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))).assert_existing_objects_matched()
    untrained = build_model(config, source.element_shape, source.num_classes)
    z = tf.random.normal([256, config.model.latent_dim], seed=1)

    def feature_distance(generator):
        features = lambda x: trained.discriminator(x, training=False)["features"]  # noqa: E731
        return float(tf.reduce_sum(tf.square(tf.reduce_mean(features(images), 0) - tf.reduce_mean(features(generator(z)), 0))))

    assert feature_distance(trained.generator) < 0.5 * feature_distance(untrained.generator)
    # generate --input classifies a folder into a CSV (class names from the export).
    folder = tmp_path / "to_classify"
    folder.mkdir()
    for index, image in enumerate(images[:3]):
        Image.fromarray(((image[..., 0] + 1) * 127.5).astype(np.uint8)).save(folder / f"{index}.png")
    csv = tmp_path / "predictions.csv"
    assert generate_cli.main(["--model", str(export.path.parent), "--input", str(folder), "--out", str(csv)]) == 0
    header, *rows = [line.split(",") for line in csv.read_text().splitlines()]
    assert header[:2] == ["file", "predicted"] and len(header) == 12 and [row[0] for row in rows] == ["0.png", "1.png", "2.png"]
    names = [name[2:] for name in header[2:]]
    assert [row[1] for row in rows] == [names[int(np.argmax(p))] for p in probabilities[:3]]
    assert generate_cli.main(["--model", str(export.path.parent), "--input", str(folder), "--out", str(tmp_path / "x.png")]) == 2
    before = csv.read_text()
    assert generate_cli.main(["--model", str(export.path.parent), "--input", str(folder), "--out", str(csv)]) == 2
    assert csv.read_text() == before  # an existing file is never overwritten
    # Resumed at step 40, the run ends where the uninterrupted one does.
    config.train.steps, config.train.checkpoint_every = 40, 40
    train(config, tmp_path / "resumed", progress_stream=QUIET)
    config.train.steps = 80
    assert train(config, tmp_path / "resumed", resume=True, progress_stream=QUIET).start_step == 40
    [again] = export_run(tmp_path / "resumed", tmp_path / "saved_models", "resumed", formats=("savedmodel",))
    uninterrupted = load_runner(export.path, "tf")[0]({"image": images})
    np.testing.assert_array_equal(load_runner(again.path, "tf")[0]({"image": images}), uninterrupted)


def test_semi_supervised_mlp_discriminator_is_the_papers_noisy_perceptron(tmp_path):
    """``ssgan.discriminator = "mlp"``: Salimans et al.'s MNIST D, Gaussian noise on the input
    and every hidden layer in training only; the same outputs as the convolutional one."""
    config = ssgan_config(tmp_path, discriminator="mlp")
    source = family_source(config)
    model = build_model(config, source.element_shape, source.num_classes)
    hidden = [layer.units for layer in model.discriminator.layers if isinstance(layer, keras.layers.Dense)][:-1]
    assert hidden == [1000, 500, 250, 250, 250]
    images, _ = held_out_bar_images(tmp_path)
    outputs = model.discriminator(images[:8], training=False)
    assert outputs["class_logits"].shape == (8, 10) and outputs["features"].shape == (8, 250)
    np.testing.assert_allclose(outputs["logit"][:, 0], tf.reduce_logsumexp(outputs["class_logits"], -1), rtol=1e-5)
    np.testing.assert_array_equal(model.discriminator(images[:8], training=False)["class_logits"], outputs["class_logits"])
    assert not np.allclose(model.discriminator(images[:8], training=True)["class_logits"], outputs["class_logits"])
    first = fit(model, source, config, 20)
    second = fit(model, source, config, 20)
    assert second["supervised_loss"][0] < first["supervised_loss"][0]


def test_semi_supervised_labelled_subset_is_a_fixed_draw_per_class_and_refuses_too_many(tmp_path):
    from tfgan_app.gans.semi_supervised import labelled_subset

    labels = np.repeat(np.arange(3), [5, 6, 7])
    first = labelled_subset(labels, 4, seed=0, num_classes=3)
    assert np.array_equal(first, labelled_subset(labels, 4, seed=0, num_classes=3))
    assert np.bincount(labels[first]).tolist() == [4, 4, 4] and np.all(np.diff(first) > 0)
    assert not np.array_equal(first, labelled_subset(labels, 4, seed=1, num_classes=3))
    with pytest.raises(DataError, match=r"fewer than ssgan.labels_per_class = 400"):
        family_source(ssgan_config(tmp_path, labels_per_class=400))


def test_semi_supervised_baseline_trains_the_classifier_alone(tmp_path):
    """``unsupervised_weight = 0``: the same network on the labelled examples only; G is
    never updated (the baseline row of the benchmark)."""
    config = ssgan_config(tmp_path, unsupervised_weight=0.0)
    source = family_source(config)
    model = build_model(config, source.element_shape, source.num_classes)
    generator_before = [w.numpy().copy() for w in model.generator.trainable_weights]
    discriminator_before = [w.numpy().copy() for w in model.discriminator.trainable_weights]
    first, second = fit(model, source, config, 20), fit(model, source, config, 20)
    assert all(np.array_equal(w.numpy(), old) for w, old in zip(model.generator.trainable_weights, generator_before))
    assert any(not np.array_equal(w.numpy(), old)
               for w, old in zip(model.discriminator.trainable_weights, discriminator_before))
    assert second["supervised_loss"][0] < 0.5 * first["supervised_loss"][0] and second["labelled_accuracy"][0] > 0.8


def test_infogan_q_recovers_the_categorical_code(tmp_path):
    config = bars_config(
        tmp_path, model={"family": "infogan", "generator_width": 16, "discriminator_width": 16},
        infogan={"categorical_code": 10, "continuous_codes": 2},
        train={"batch_size": 32},
    )
    source = family_source(config)
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape)
    assert model.noise_dim == config.model.latent_dim + 12
    z = tf.random.normal([500, model.noise_dim], seed=4)
    before = model.code_accuracy(z)
    history = fit(model, source, config, 150)
    after = model.code_accuracy(z)
    assert after > 0.6 > before + 0.3, (before, after)  # chance is 0.1
    assert np.isfinite(history["g_loss"][0]) and "information_loss" in history


def test_infogan_codes_are_uniform_and_in_range():
    config = tiny_config(data={"name": "ring"}, model={"family": "infogan", "architecture": "mlp"},
                         infogan={"categorical_code": 4, "continuous_codes": 2})
    model = build_model(config, (2,))
    categorical, continuous = model.codes(tf.random.normal([40_000, model.noise_dim], seed=1))
    np.testing.assert_allclose(categorical.numpy().mean(axis=0), 0.25, atol=0.01)
    assert continuous.numpy().min() >= -1 and continuous.numpy().max() <= 1
    np.testing.assert_allclose(continuous.numpy().std(axis=0), 1 / np.sqrt(3), atol=0.01)  # uniform


def edges_config(tmp_path, **sections):
    return bars_config(tmp_path, model={"family": "pix2pix", "generator_width": 8, "discriminator_width": 8},
                       train={"batch_size": 16}, **sections)


def test_pix2pix_learns_the_mapping_from_edges(tmp_path):
    config = edges_config(tmp_path)
    source = family_source(config)
    batch = next(iter(make_train_dataset(source, 64, 1, 0, seed=5, batch_type=PairBatch)))
    condition, target = batch.condition[:, 0], batch.real[:, 0]
    assert condition.shape == target.shape and set(np.unique(condition.numpy())) <= {-1.0, 1.0}
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape)
    before = float(tf.reduce_mean(tf.abs(model.generator(condition) - target)))
    history = fit(model, source, config, 120)
    after = float(tf.reduce_mean(tf.abs(model.generator(condition) - target)))
    assert after < 0.5 * before, (before, after)
    assert set(history) == {"d_loss", "g_loss", "l1", "d_real", "d_fake"}


def domain_folders(root, names=("trainA", "trainB"), count=24):
    rng = np.random.default_rng(0)
    for index, name in enumerate(names):
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = np.full((16, 16, 3), 40 + 150 * index, np.uint8) + rng.integers(0, 20, (16, 16, 3)).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def cyclegan_config(root, **train):
    return tiny_config(
        data={"name": "image_folder", "folder": str(root), "image_size": 16, "channels": 3},
        model={"family": "cyclegan", "generator_width": 4, "discriminator_width": 4},
        cyclegan={"residual_blocks": 1, "patch_layers": 2, "image_pool": 6},
        train={"batch_size": 4, **train},
    )


def test_cyclegan_learns_to_translate_and_cycle(tmp_path):
    root = domain_folders(tmp_path / "data")
    config = cyclegan_config(root)
    config.optimizer.generator.learning_rate = config.optimizer.discriminator.learning_rate = 2e-3
    source = family_source(config)
    assert source.images.shape[1:] == source.images_b.shape[1:] == (16, 16, 3)
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape)
    history = fit(model, source, config, 120)
    a = tf.constant(source.images[:8], tf.float32) / 127.5 - 1
    b_mean = float(np.mean(source.images_b) / 127.5 - 1)
    translated = model.generator_ab(a, training=False).numpy()
    # Domain A is dark, B bright: G(a) must move to B's brightness.
    assert abs(translated.mean() - b_mean) < 0.25, (translated.mean(), b_mean)
    assert history["cycle_loss"][0] < 0.5 and set(history) >= {"cycle_loss", "identity_loss"}


def test_image_pool_returns_history_and_stays_full():
    pool = ImagePool(4, (1,), "pool")
    first = pool.query(tf.constant([[1.0], [2.0], [3.0]]), tf.zeros([3, 2]))
    np.testing.assert_array_equal(first.numpy()[:, 0], [1, 2, 3])  # filling: new images back
    assert int(pool.count.numpy()) == 3
    # Now full after one more; uniforms < 0.5 return a stored image and keep the new one.
    out = pool.query(tf.constant([[4.0], [5.0]]), tf.constant([[0.9, 0.0], [0.1, 0.0]]))
    assert int(pool.count.numpy()) == 4
    assert out.numpy()[0, 0] == 4.0  # filled slot 3: returned as is
    assert out.numpy()[1, 0] in (1.0, 2.0, 3.0, 4.0) and out.numpy()[1, 0] != 5.0
    assert 5.0 in pool.images.numpy()[:, 0]
    assert ImagePool(0, (1,), "off").query(tf.ones([2, 1]), tf.zeros([2, 2])).shape == (2, 1)


def test_cyclegan_resumes_exactly_and_exports_both_directions(tmp_path):
    root = domain_folders(tmp_path / "data")
    config = cyclegan_config(root, steps=6, checkpoint_every=3, log_every=3)
    config.pipeline = "tiny_cyclegan.toml"
    config.sampling.num_samples = 4
    train(config, tmp_path / "whole", progress_stream=QUIET)
    config.train.steps = 3
    train(config, tmp_path / "split", progress_stream=QUIET)
    config.train.steps = 6
    train(config, tmp_path / "split", resume=True, progress_stream=QUIET)
    whole = tf.train.latest_checkpoint(str(tmp_path / "whole" / "checkpoints"))
    split = tf.train.latest_checkpoint(str(tmp_path / "split" / "checkpoints"))
    # Networks (saved under the optimizers' paths), optimizer slots and the image pools.
    keys = [key for key, _ in tf.train.list_variables(whole) if key.endswith("VARIABLE_VALUE") and "save_counter" not in key]
    assert any(key.startswith("pool_a/images") for key in keys) and len(keys) > 50
    for key in keys:
        np.testing.assert_allclose(tf.train.load_variable(split, key), tf.train.load_variable(whole, key), atol=1e-5, err_msg=key)
    results = export_run(tmp_path / "whole", tmp_path / "models", formats=("savedmodel", "onnx"))
    assert [r.name for r in results] == ["tiny_cyclegan_a2b", "tiny_cyclegan_b2a"]
    for result in results:
        assert result.manifest["inputs"] == [{"name": "image", "dtype": "float32", "shape": [16, 16, 3], "kind": "image"}]
        assert result.manifest["output"] == "images"
    inputs, outputs, files, _, _ = generate_cli.translate(results[0].path, "onnx", root / "trainA")
    assert outputs.shape == (24, 16, 16, 3) and len(files) == 24
    generate_cli.write_translations(inputs, outputs, files, root / "trainA", tmp_path / "out")
    assert (tmp_path / "out" / "0.png").is_file() and (tmp_path / "out" / "grid.png").is_file()


def test_linear_decay_schedule():
    from tfgan_app.gans.build import LinearDecay

    schedule = LinearDecay(2e-4, start=50, end=100)
    assert [round(float(schedule(step)) / 2e-4, 3) for step in (0, 50, 75, 100, 150)] == [1, 1, 0.5, 0, 0]
    config = load_config("fashion_mnist_cyclegan", ["train.steps=100"])
    model = build_model(config, (28, 28, 1), total_steps=100)
    assert isinstance(model.generator_optimizer._learning_rate, LinearDecay)
    assert model.generator_optimizer._learning_rate.start == 50


def test_fused_adam_takes_keras_adams_steps_with_one_kernel_per_variable():
    """The optimizers' Adam (gans.build.FusedAdam) updates each variable with TensorFlow's
    ResourceApplyAdam and lands where Keras' own Adam does, also with R3GAN's scheduled beta_2."""
    from tfgan_app.config import OptimizerConfig
    from tfgan_app.gans.build import FusedAdam, LinearDecay, ScheduledBeta2Adam, make_optimizer

    class KerasScheduledBeta2Adam(ScheduledBeta2Adam):
        update_step = keras.optimizers.Adam.update_step

    rng = np.random.default_rng(0)
    shapes = [(3, 3, 4, 8), (8,), (10, 1)]
    start = [rng.normal(size=shape).astype("float32") for shape in shapes]
    gradients = [[tf.constant(rng.normal(size=shape).astype("float32")) for shape in shapes] for _ in range(6)]

    def run(optimizer):
        variables = [keras.Variable(value) for value in start]
        apply = tf.function(lambda grads: optimizer.apply(grads, variables))
        for grads in gradients:
            apply(grads)
        kernels = [op.type for op in apply.get_concrete_function(gradients[0]).graph.get_operations()]
        return [variable.numpy() for variable in variables], kernels.count("ResourceApplyAdam")

    def beta_2():
        return LinearDecay(0.9, 0, 6, 0.99 / 0.9, cosine=True)

    for fused, reference in [
        (FusedAdam(1e-2, beta_1=0.5, beta_2=0.99), keras.optimizers.Adam(1e-2, beta_1=0.5, beta_2=0.99)),
        (ScheduledBeta2Adam(1e-2, beta_1=0.0, beta_2=0.9, beta_2_schedule=beta_2()),
         KerasScheduledBeta2Adam(1e-2, beta_1=0.0, beta_2=0.9, beta_2_schedule=beta_2())),
    ]:
        (fused_values, fused_kernels), (values, kernels) = run(fused), run(reference)
        assert (fused_kernels, kernels) == (len(shapes), 0)
        for got, expected, initial in zip(fused_values, values, start):
            assert np.abs(expected - initial).max() > 1e-2  # six steps of about the rate each moved them
            np.testing.assert_allclose(got, expected, atol=1e-6)
    assert type(make_optimizer(OptimizerConfig(name="adam"))) is FusedAdam


def test_conditional_export_takes_a_label(tmp_path):
    config = bars_config(tmp_path, model={"family": "cgan"}, train={"steps": 2, "checkpoint_every": 2})
    config.pipeline = "tiny_cgan.toml"
    train(config, tmp_path / "run", progress_stream=QUIET)
    [result] = export_run(tmp_path / "run", tmp_path / "models")
    manifest = result.manifest
    assert manifest["conditional"] is True
    assert [entry["name"] for entry in manifest["inputs"]] == ["z", "label"]
    assert manifest["inputs"][1] == {"name": "label", "dtype": "int32", "shape": [], "kind": "label", "classes": 10,
                                     "class_names": manifest["class_names"]}
    assert len(manifest["class_names"]) == 10  # the data's classes name the label's values
    signature = read_signature_def(result.path, "serving_default")  # what TF Serving reads
    assert signature["inputs"] == {"z": {"dtype": "float32", "shape": [-1, 16]},
                                   "label": {"dtype": "int32", "shape": [-1]}}
    tf_samples, _, _, columns = generate_cli.generate(result.path, "tf", 20, seed=1)
    onnx_samples = generate_cli.generate(result.path, "onnx", 20, seed=1)[0]
    assert tf_samples.shape == (20, 28, 28, 1) and columns == 2  # one row per class
    np.testing.assert_allclose(onnx_samples, tf_samples, atol=1e-4)
    seven = generate_cli.generate(result.path, "tf", 4, seed=1, label=7)[0]
    other = generate_cli.generate(result.path, "tf", 4, seed=1, label=2)[0]
    assert np.abs(seven - other).max() > 1e-3  # the label reaches the network
    with pytest.raises(generate_cli.GenerateError, match=r"--label 10 is outside the 10 classes.*9=Ankle boot"):
        generate_cli.generate(result.path, "tf", 4, seed=1, label=10)
    by_name = generate_cli.generate(result.path, "tf", 4, seed=1, label="ankle BOOT")[0]  # a class name, any case
    np.testing.assert_array_equal(by_name, generate_cli.generate(result.path, "tf", 4, seed=1, label="9")[0])
    with pytest.raises(generate_cli.GenerateError, match=r"--label 'Boots' is not a class.*use an index or a name"):
        generate_cli.generate(result.path, "tf", 4, seed=1, label="Boots")


def test_infogan_export_takes_a_code(tmp_path):
    config = bars_config(tmp_path, model={"family": "infogan"}, infogan={"categorical_code": 3, "continuous_codes": 1},
                         train={"steps": 2, "checkpoint_every": 2}, export={"formats": "savedmodel"})
    config.pipeline = "tiny_infogan.toml"
    train(config, tmp_path / "run", progress_stream=QUIET)
    [result] = export_run(tmp_path / "run", tmp_path / "models", formats=("savedmodel",))
    assert result.manifest["inputs"][1] == {"name": "code", "dtype": "float32", "shape": [4], "kind": "code", "categorical": 3}
    samples = generate_cli.generate(result.path, "tf", 5, seed=0)[0]
    assert samples.shape == (5, 28, 28, 1)


# --- stabilisers ----------------------------------------------------------------------


def ring_config(**sections):
    base = {"data": {"name": "ring"}, "model": {"architecture": "mlp", "latent_dim": 2, "hidden_units": 16}}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return tiny_config(**base)


def test_ema_generator_trails_the_generator_exactly(tmp_path):
    config = ring_config(train={"ema_decay": 0.9})
    source = load_source(config.data)
    model = build_model(config, source.element_shape)
    start = [v.numpy().copy() for v in model.generator.trainable_variables]
    np.testing.assert_array_equal(start[0], model.ema_generator.trainable_variables[0].numpy())
    fit(model, source, config, 1)
    # The first update's decay is the warm-up's min(0.9, (1 + 1) / (10 + 1)), not 0.9.
    decay = 2.0 / 11.0
    for before, weight, shadow in zip(start, model.generator.trainable_variables, model.ema_generator.trainable_variables):
        np.testing.assert_allclose(shadow.numpy(), decay * before + (1.0 - decay) * weight.numpy(), atol=1e-6)
    assert model.exports()[""] is model.ema_generator and model.sampling_generator is model.ema_generator


def test_ema_decay_warms_up_then_holds():
    from tfgan_app.gans.base import ExponentialMovingAverage

    network = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    updates = tf.Variable(0, dtype=tf.int64)
    average = ExponentialMovingAverage(network, 0.995, updates)
    decays = {}
    for step in (1, 10, 100, 1789, 1790, 50_000):
        updates.assign(step)
        decays[step] = float(average.current_decay())
    assert decays[1] == pytest.approx(2 / 11) and decays[10] == pytest.approx(11 / 20)
    assert decays[100] == pytest.approx(101 / 110) and decays[1789] < 0.995
    assert decays[1790] == decays[50_000] == pytest.approx(0.995)  # 9 / (1 - 0.995) - 10
    assert ExponentialMovingAverage(network, 0.995).current_decay() == 0.995  # no counter: no warm-up


def test_ema_generator_keeps_batch_norm_statistics_of_its_own_weights(tmp_path):
    # Momentum 0: each layer's moving statistics are those of the last batch it saw. After
    # 8 steps at a high learning rate the online G has moved far from its average (decay
    # 0.999 keeps the shadow near the initial weights), so statistics copied from the online
    # G would not describe the shadow's own activations.
    config = bars_config(tmp_path, model={"batch_norm_momentum": 0.0},
                         train={"ema_decay": 0.999, "batch_size": 64},
                         optimizer={"generator": {"learning_rate": 0.05}})
    source = load_source(config.data)
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape)
    model.averages["generator"].updates = None  # the plain decay: the shadow stays near the initial weights
    fit(model, source, config, 8)
    z = tf.random.normal([4096, model.noise_dim], seed=1)

    def ratio(generator, statistics_of):
        projected = keras.Model(generator.inputs, generator.get_layer("project").output)(z)
        own_variance = tf.math.reduce_variance(projected, axis=0).numpy()
        return float(np.mean(statistics_of.get_layer("project_bn").moving_variance.numpy() / own_variance))

    assert abs(ratio(model.ema_generator, model.ema_generator) - 1.0) < 0.1
    assert abs(ratio(model.ema_generator, model.generator) - 1.0) > 0.5


@pytest.mark.parametrize("architecture", ["mlp", "dcgan"])
def test_ema_under_two_replicas_matches_one_device(architecture, tmp_path):
    """The shadow's weights and, for DCGAN, its own (synchronized) batch-norm statistics."""
    from tfgan_app.training.strategy import make_strategy

    sections = dict(train={"ema_decay": 0.5, "batch_size": 16},
                    optimizer={"generator": {"name": "sgd", "learning_rate": 0.1},
                               "discriminator": {"name": "sgd", "learning_rate": 0.1}})
    config = ring_config(**sections) if architecture == "mlp" else bars_config(tmp_path, **sections)
    source = load_source(config.data)
    results = []
    for strategy in (tf.distribute.get_strategy(), make_strategy("mirrored")):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = build_model(config, source.element_shape, 0, strategy.num_replicas_in_sync)
        fit(model, source, config, 2)
        results.append([v.numpy() for v in model.ema_generator.variables])
    for single, mirrored in zip(*results):
        np.testing.assert_allclose(mirrored, single, atol=1e-5)


def test_diff_augment_transforms():
    from tfgan_app.gans.augment import diff_augment

    images = tf.reshape(tf.range(2 * 8 * 8, dtype=tf.float32), [2, 8, 8, 1]) / 128.0 - 0.5
    uniforms = np.zeros([2, 8], np.float32)
    uniforms[:, 3:5] = [[1.0, 0.5], [0.5, 0.0]]  # shift +1 row / -1 column (ratio 1/8 of 8)
    shifted = diff_augment(images, uniforms, ("translation",)).numpy()
    np.testing.assert_allclose(shifted[0, 1:, :, 0], images.numpy()[0, :-1, :, 0])
    np.testing.assert_allclose(shifted[0, 0, :, 0], 0.0)
    np.testing.assert_allclose(shifted[1, :, :-1, 0], images.numpy()[1, :, 1:, 0])
    uniforms[:, 5:7] = 0.5  # a centred 4x4 hole
    cut = diff_augment(tf.ones([2, 8, 8, 1]), uniforms, ("cutout",)).numpy()
    assert (cut == 0).sum() == 2 * 16 and cut[0, 2:6, 2:6].max() == 0
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = diff_augment(images, tf.random.uniform([2, 8], seed=1), ("color", "translation", "cutout"))
        total = tf.reduce_sum(out)
    assert float(tf.reduce_sum(tf.abs(tape.gradient(total, images)))) > 0  # G's gradient passes through


def test_augmented_training_runs_and_reaches_the_discriminator(tmp_path):
    config = bars_config(tmp_path, train={"augment": "color,translation,cutout"})
    source = load_source(config.data)
    model = build_model(config, source.element_shape)
    batch = next(iter(make_train_dataset(source, 16, 1, model.noise_dim, 0, batch_type=model.batch_type)))
    assert batch.augment.shape == (16, 2, 2, 8)
    history = fit(model, source, config, 3)
    assert all(np.isfinite(values[0]) for values in history.values())


def test_packing_joins_examples_for_the_discriminator():
    config = ring_config(model={"packing": 4}, train={"batch_size": 16})
    model = build_model(config, (2,))
    assert model.discriminator.input_shape == (None, 8)
    data = tf.reshape(tf.range(16.0), [8, 2])
    packed = model._pack(data).numpy()
    assert packed.shape == (2, 8)
    assert sorted(packed[0].tolist()) == list(range(8))  # examples 0-3 in pack 0
    source = load_source(config.data)
    history = fit(model, source, config, 3)
    assert np.isfinite(history["d_loss"][0])
    images = tf.random.normal([8, 4, 4, 3])
    image_model = build_model(ring_config(model={"packing": 2}), (2,))
    assert image_model._pack(images).shape == (4, 4, 4, 6)


def test_unrolled_generator_step_differs_from_the_plain_one():
    outcomes = []
    for unrolled in (0, 3):
        config = ring_config(train={"unrolled_steps": unrolled, "unrolled_learning_rate": 0.5},
                             optimizer={"generator": {"name": "sgd", "learning_rate": 0.1}})
        source = load_source(config.data)
        keras.utils.set_random_seed(0)
        model = build_model(config, source.element_shape)
        batch = next(iter(make_train_dataset(source, 16, 1, 2, 0, batch_type=NoiseBatch)))
        model.generator_step(model._generator_minibatch(batch), [model._minibatch(batch, 0)])
        outcomes.append(model.generator.trainable_variables[0].numpy())
    assert np.abs(outcomes[0] - outcomes[1]).max() > 1e-5


@pytest.mark.parametrize("switch", [
    {"loss": {"feature_matching_weight": 1.0}},
    {"loss": {"r1_weight": 10.0}},
    {"model": {"minibatch_stddev": True}},
    {"train": {"unrolled_steps": 2}},
])
def test_stabilisers_train(switch):
    config = ring_config(**switch)
    source = load_source(config.data)
    model = build_model(config, source.element_shape)
    before = [v.numpy().copy() for v in model.generator.trainable_variables]
    history = fit(model, source, config, 4)
    assert all(np.isfinite(values[0]) for values in history.values())
    assert any(np.abs(b - v.numpy()).max() > 0 for b, v in zip(before, model.generator.trainable_variables))


# --- bad input ------------------------------------------------------------------------


def test_conditional_pipeline_on_unlabelled_data_is_refused(tmp_path):
    with pytest.raises(DataError, match="cgan.*labelled"):
        family_source(tiny_config(data={"name": "ring"}, model={"family": "cgan"}))
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "flat" / "a.png")
    folder = tiny_config(data={"name": "image_folder", "folder": str(tmp_path / "flat"), "image_size": 8},
                         model={"family": "cgan"})
    with pytest.raises(DataError, match="at least 2 classes"):
        family_source(folder)


def test_cyclegan_missing_domain_folder_is_named(tmp_path):
    root = domain_folders(tmp_path / "data", names=("trainA",))
    with pytest.raises(DataError, match=r"trainB is missing"):
        family_source(cyclegan_config(root))
    config = tiny_config(model={"family": "cyclegan"}, cyclegan={"domain_a": "Sneaker", "domain_b": "Boots"})
    config.data.idx_dir = str(write_idx_dataset(tmp_path / "idx", 64))
    config.data.data_dir = str(tmp_path / "tfds")
    with pytest.raises(DataError, match=r"'Boots' is not a class.*9=Ankle boot"):
        family_source(config)


def test_pix2pix_unpaired_files_are_named(tmp_path):
    for side, names in (("trainA", ["x", "y"]), ("trainB", ["x", "z"])):
        (tmp_path / side).mkdir()
        for name in names:
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / side / f"{name}.png")
    data = tiny_config(data={"name": "image_folder", "folder": str(tmp_path), "image_size": 8},
                       model={"family": "pix2pix"}, pix2pix={"pairs": "folders"})
    with pytest.raises(ImageFolderError, match=r"unpaired files: 1 in .*trainA.*\['y'\].*\['z'\]"):
        family_source(data)
    (tmp_path / "trainB" / "z.png").rename(tmp_path / "trainB" / "y.png")
    source = family_source(data)
    assert source.conditions.shape == source.images.shape == (2, 8, 8, 3)


def test_pix2pix_side_by_side_pairs(tmp_path):
    (tmp_path / "train").mkdir()
    pair = np.zeros((8, 16, 3), np.uint8)
    pair[:, 8:] = 255  # input black | target white
    Image.fromarray(pair).save(tmp_path / "train" / "p.png")
    data = tiny_config(data={"name": "image_folder", "folder": str(tmp_path), "image_size": 8},
                       model={"family": "pix2pix"}, pix2pix={"pairs": "side_by_side"})
    source = family_source(data)
    assert source.conditions.max() == 0 and source.images.min() == 255


def test_family_switch_combinations_are_checked():
    with pytest.raises(ConfigError, match="packing.*cgan"):
        load_config("fashion_mnist_cgan", ["model.packing=2"])
    with pytest.raises(ConfigError, match="train.ema_decay: not available for model.family 'dann'"):
        load_config("fashion_mnist_dann", ["train.ema_decay=0.99"])
    # The default pipeline's gan-family speed switch, when a user switches its family.
    with pytest.raises(ConfigError, match=r"train.reuse_fakes: not available for model.family 'pix2pix'.*switch them off"):
        load_config("fashion_mnist_dcgan", ["model.family=pix2pix"])
    with pytest.raises(ConfigError, match=r"\[cyclegan\] holds the settings of model.family 'cyclegan'"):
        load_config("fashion_mnist_dcgan", ["cyclegan.image_pool=3"])
    with pytest.raises(ConfigError, match="batch norm"):
        load_config("fashion_mnist_wgan_gp", ["model.discriminator_norm=batch"])
    with pytest.raises(ConfigError, match="unknown augmentation"):
        load_config("fashion_mnist_dcgan", ["train.augment=rotate"])
    with pytest.raises(ConfigError, match="model.family"):
        load_config("fashion_mnist_dcgan", ["model.family=vae"])


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_in_16_bits_and_exports_float32(precision, tmp_path):
    config = bars_config(tmp_path, train={"precision": precision, "steps": 3, "checkpoint_every": 3})
    config.pipeline = f"tiny_{precision}.toml"
    model = build_model(config, (28, 28, 1))
    assert model.generator.get_layer("project").compute_dtype == precision.removeprefix("mixed_")
    outputs = model.discriminator(tf.zeros([2, 28, 28, 1]), training=True)
    assert outputs["logit"].dtype == tf.float32 and model.generator(tf.zeros([2, 16])).dtype == tf.float32
    if precision == "mixed_float16":
        assert isinstance(model.generator_optimizer, keras.optimizers.LossScaleOptimizer)
    result = train(config, tmp_path / "run", progress_stream=QUIET)
    assert result.status == "completed"
    [exported] = export_run(tmp_path / "run", tmp_path / "models", formats=("savedmodel",))
    assert exported.manifest["parity"]["max_abs_difference"]["savedmodel_fresh_process"]["batch_7"] <= 1e-4
    keras.mixed_precision.set_global_policy("float32")


def test_reuse_fakes_updates_d_on_the_fakes_g_is_then_trained_on():
    """The lean step equals: D step on G(z), then G step on the same z through the new D."""
    config = ring_config(optimizer={"generator": {"name": "sgd", "learning_rate": 0.1},
                                    "discriminator": {"name": "sgd", "learning_rate": 0.1}})
    source = load_source(config.data)
    batch = next(iter(make_train_dataset(source, 16, 1, 2, 0, batch_type=NoiseBatch)))
    results = []
    for reuse in (True, False):
        config.train.reuse_fakes = reuse
        keras.utils.set_random_seed(0)
        model = build_model(config, source.element_shape)
        if reuse:
            model.train_step(batch)
        else:  # by hand: the same noise for both updates
            minibatch = model._minibatch(batch, 0)
            model.discriminator_step(minibatch)
            model.generator_step(model._generator_minibatch(batch)._replace(z=minibatch.z))
        results.append([v.numpy() for v in model.generator.trainable_variables + model.discriminator.trainable_variables])
    for fused, by_hand in zip(*results):
        np.testing.assert_allclose(fused, by_hand, atol=1e-6)
    with pytest.raises(ConfigError, match="reuse_fakes"):
        load_config("fashion_mnist_wgan", ["train.reuse_fakes=true"])


def test_top_k_training_updates_g_from_its_k_best_rated_fakes_only():
    """Sinha et al. 2020: G's step with top-k equals its step on just the k fakes D rates
    most real (an MLP with no batch-dependent layer, plain SGD)."""
    from tfgan_app.gans.gan import TopK

    config = ring_config(optimizer={"generator": {"name": "sgd", "learning_rate": 0.1},
                                    "discriminator": {"name": "sgd", "learning_rate": 0.1}})
    source = load_source(config.data)
    batch = next(iter(make_train_dataset(source, 16, 1, 2, 0, batch_type=NoiseBatch)))
    models = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        models.append(build_model(config, source.element_shape))
    with_top_k, by_hand = models
    # At G's step 3 of 1-step epochs the fraction is max(0.25, 0.1^3): 4 of the 16 fakes.
    with_top_k.top_k = TopK(min_fraction=0.25, decay=0.1, steps_per_epoch=1)
    for model in models:
        model.generator_optimizer.iterations.assign(3)
    assert int(with_top_k.top_k.count(16, with_top_k.step)) == 4
    start = [variable.numpy() for variable in with_top_k.generator.trainable_variables]
    minibatch = with_top_k._minibatch(batch, 0)
    scores = with_top_k.discriminator(with_top_k.generator(minibatch.z, training=True), training=True)["logit"]
    best = tf.argsort(tf.reshape(scores, [-1]), direction="DESCENDING")[:4]
    with_top_k.generator_step(minibatch)
    by_hand.generator_step(minibatch._replace(z=tf.gather(minibatch.z, best), real=tf.gather(minibatch.real, best)))
    for kept, selected in zip(with_top_k.generator.trainable_variables, by_hand.generator.trainable_variables):
        np.testing.assert_allclose(kept.numpy(), selected.numpy(), atol=1e-6)
    assert not all(np.array_equal(before, after.numpy()) for before, after in zip(start, with_top_k.generator.trainable_variables))


def test_top_k_schedule_and_its_refusals(tmp_path):
    from tfgan_app.gans.gan import TopK

    schedule = TopK(min_fraction=0.5, decay=0.99, steps_per_epoch=100)
    assert [int(schedule.count(64, step)) for step in (0, 100, 1000, 100_000)] == [64, 64, 58, 32]
    config = bars_config(tmp_path, train={"steps": 4, "checkpoint_every": 4, "top_k_min_fraction": 0.5,
                                          "top_k_decay": 0.5})
    assert train(config, tmp_path / "run", progress_stream=QUIET).status == "completed"
    for value, key in ((0.0, "top_k_min_fraction"), (1.5, "top_k_min_fraction"), (0.0, "top_k_decay")):
        with pytest.raises(ConfigError, match=f"train.{key} must be in"):
            load_config("fashion_mnist_dcgan", [f"train.{key}={value}"])
    with pytest.raises(ConfigError, match="train.top_k_min_fraction: not available for model.family 'pix2pix'"):
        load_config("fashion_mnist_pix2pix", ["train.top_k_min_fraction=0.5"])
    with pytest.raises(ValueError, match="endless sampler: train.top_k_min_fraction decays per epoch"):
        train(ring_config(train={"steps": 2, "top_k_min_fraction": 0.5}), tmp_path / "ring", progress_stream=QUIET)
    assert not (tmp_path / "ring" / "checkpoints").exists()


def test_standing_statistics_make_inference_samples_match_batch_statistics_and_reach_the_export(tmp_path):
    """Brock et al. 2019: after the re-estimate, G in inference mode matches G on a large
    batch's own statistics, which the moving averages of a fresh G (0 and 1) do not."""
    from tfgan_app.training.restore import load_run_model

    config = bars_config(tmp_path)
    model = build_model(config, (28, 28, 1))
    z = tf.random.stateless_normal([512, model.noise_dim], [7, 7])
    batch_statistics = model.generator(z, training=True).numpy()
    before = np.abs(model.generator(z, training=False).numpy() - batch_statistics).mean()
    model.refresh_sampling_statistics(batches=40, batch_size=64, seed=1)
    after = np.abs(model.generator(z, training=False).numpy() - batch_statistics).mean()
    assert after < before / 4
    assert {layer.momentum for layer in model.generator.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.9}
    # Through a run: export (its parity check) and evaluation load the re-estimated G.
    config = bars_config(tmp_path, train={"steps": 2, "checkpoint_every": 2},
                         export={"standing_statistics": 3, "formats": "savedmodel", "out": str(tmp_path / "models")})
    assert train(config, tmp_path / "run", progress_stream=QUIET).status == "completed"
    loaded, _, _, _ = load_run_model(tmp_path / "run")
    [norm] = [layer for layer in loaded.generator.layers if isinstance(layer, keras.layers.BatchNormalization)][:1]
    config.export.standing_statistics = 0
    plain = build_model(config, (28, 28, 1))
    tf.train.Checkpoint(generator=plain.generator).restore(tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))).expect_partial()
    [plain_norm] = [layer for layer in plain.generator.layers if isinstance(layer, keras.layers.BatchNormalization)][:1]
    assert not np.allclose(norm.moving_mean.numpy(), plain_norm.moving_mean.numpy())
    with pytest.raises(ConfigError, match="export.standing_statistics: not available for model.family 'pix2pix'"):
        load_config("fashion_mnist_pix2pix", ["export.standing_statistics=10"])
    with pytest.raises(ConfigError, match="export.standing_statistics must be >= 0"):
        load_config("fashion_mnist_dcgan", ["export.standing_statistics=-1"])


def test_auto_precision_resolves_by_hardware_and_is_recorded(tmp_path, monkeypatch):
    from tfgan_app.gans import build

    monkeypatch.setattr(build, "bfloat16_is_fast", lambda: True)
    assert build.resolve_precision("auto") == "mixed_bfloat16"
    assert build.resolve_precision("float32") == "float32"
    monkeypatch.setattr(build, "bfloat16_is_fast", lambda: False)
    assert build.resolve_precision("auto") == "float32"
    config = ring_config(train={"precision": "auto", "steps": 2, "checkpoint_every": 2})
    train(config, tmp_path / "run", progress_stream=QUIET)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["precision"] == "float32"


def test_adaptive_augmentation_moves_p_with_the_overfitting_heuristic_and_resumes_exactly(tmp_path):
    """ADA (Karras et al. 2020): p rises while D is sure of the real data (r_t > target),
    gates the augmentations per example, is logged, and a resumed run continues it exactly."""
    from tfgan_app.gans.augment import AdaptiveAugment

    ada = AdaptiveAugment(target=0.6, images=64, interval=2)
    images, augmented = tf.zeros([4, 2, 2, 1]), tf.ones([4, 2, 2, 1])
    gates = tf.constant([[0.0] * 7 + [g] for g in (0.1, 0.3, 0.6, 0.9)])
    np.testing.assert_array_equal(ada.apply(images, augmented, gates).numpy().max(axis=(1, 2, 3)), [0, 0, 0, 0])
    for _ in range(2):  # r_t = 1 > 0.6: p rises by 2 steps x 16 images / 64
        ada.observe(tf.ones([16, 1]))
        ada.step(16)
    assert float(ada.probability.numpy()) == pytest.approx(0.5)
    np.testing.assert_array_equal(ada.apply(images, augmented, gates).numpy().max(axis=(1, 2, 3)), [1, 1, 0, 0])
    for _ in range(2):  # r_t = -1 < 0.6: p falls back
        ada.observe(-tf.ones([16, 1]))
        ada.step(16)
    assert float(ada.probability.numpy()) == pytest.approx(0.0)
    with pytest.raises(ConfigError, match="ada_target gates the augmentations"):
        load_config("fashion_mnist_dcgan", ["train.ada_target=0.6"])
    # In training: logged as augment_p, checkpointed, restored exactly on resume.
    config = bars_config(tmp_path, train={"augment": "translation", "ada_target": 0.6, "ada_images": 2000,
                                          "ada_interval": 2, "steps": 8, "checkpoint_every": 4, "log_every": 4})
    train(config, tmp_path / "whole", progress_stream=QUIET)
    config.train.steps = 4
    train(config, tmp_path / "split", progress_stream=QUIET)
    config.train.steps = 8
    train(config, tmp_path / "split", resume=True, progress_stream=QUIET)
    lines = [json.loads(line) for line in (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()]
    assert all("augment_p" in line for line in lines) and lines[-1]["augment_p"] > 0  # D is sure of bars at first
    values = {}
    for run in ("whole", "split"):
        reader = tf.train.load_checkpoint(str(tmp_path / run / "checkpoints"))
        values[run] = {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(str(tmp_path / run / "checkpoints"))
                       if "adaptive_augment" in name}
    assert values["whole"] and all(np.array_equal(values["whole"][name], values["split"][name]) for name in values["whole"])


def test_init_from_another_run_with_freezed_fine_tunes_and_refuses_another_architecture(tmp_path):
    """--init-from: the networks (and EMA copy) start from another run's, the optimizers and
    the step fresh; FreezeD keeps D's first layers as they were (Mo et al. 2020)."""
    import dataclasses

    def networks_of(run, config):
        model = build_model(config, (28, 28, 1))
        checkpoint = tf.train.latest_checkpoint(str(run / "checkpoints"))
        tf.train.Checkpoint(**model.checkpoint_objects()).restore(checkpoint).expect_partial()
        return model

    config = bars_config(tmp_path, train={"steps": 4, "checkpoint_every": 4, "ema_decay": 0.9})
    train(config, tmp_path / "source", progress_stream=QUIET)
    tuned_config = dataclasses.replace(config, train=dataclasses.replace(
        config.train, freeze_discriminator_layers=1, steps=2, checkpoint_every=2))
    result = train(tuned_config, tmp_path / "tuned", init_from=tmp_path / "source", progress_stream=QUIET)
    assert result.start_step == 0 and result.step == 2
    source, tuned = networks_of(tmp_path / "source", config), networks_of(tmp_path / "tuned", tuned_config)
    assert int(tuned.generator_optimizer.iterations.numpy()) == 2  # fresh optimizers: 2 updates, not 6
    first = next(layer for layer in tuned.discriminator.layers if layer.weights)
    assert not first.trainable
    np.testing.assert_array_equal(first.kernel.numpy(), source.discriminator.get_layer(first.name).kernel.numpy())
    for mine, theirs in zip(tuned.generator.trainable_weights, source.generator.trainable_weights):
        difference = np.abs(mine.numpy() - theirs.numpy()).max()
        assert 0 < difference < 0.05  # moved, and from the source run's weights (not a fresh start)
    other = bars_config(tmp_path, model={"generator_width": 16}, train={"steps": 2})
    with pytest.raises(RuntimeError, match=r"--init-from .*generator differs at .*: shape"):
        train(other, tmp_path / "other", init_from=tmp_path / "source", progress_stream=QUIET)
    with pytest.raises(ConfigError, match="train.freeze_discriminator_layers: not available for model.family 'pix2pix'"):
        load_config("fashion_mnist_pix2pix", ["train.freeze_discriminator_layers=2"])


def map_agreement(model, segmentation, z):
    """(pixel accuracy, IoU of the item's silhouette) of the map recomputed from G's output."""
    from tfgan_app.data.tasks import segmentation_maps

    recomputed = segmentation_maps(model.generate(z, segmentation)).numpy()
    expected = segmentation.numpy()
    item = (recomputed > 0), (expected > 0)
    return float(np.mean(recomputed == expected)), float(np.sum(item[0] & item[1]) / max(np.sum(item[0] | item[1]), 1))


def test_spade_generates_images_that_respect_their_label_maps_and_exports(tmp_path):
    from tfgan_app.export.exporter import export_model
    from tfgan_app.gans.spade import SegmentationBatch

    # Background noise below the silhouette threshold, as Fashion-MNIST's black background.
    idx = write_idx_dataset(tmp_path / "idx", count=512, pattern="squares", noise=20)
    config = tiny_config(
        data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")},
        model={"family": "spade", "generator_width": 8, "discriminator_width": 8},
        spade={"spade_hidden": 16},
        loss={"name": "hinge"},
        optimizer={"generator": {"learning_rate": 1e-3, "beta_1": 0.0}, "discriminator": {"learning_rate": 2e-3, "beta_1": 0.0}},
        train={"batch_size": 16},
    )
    source = family_source(config)
    batch = next(iter(make_train_dataset(source, 64, 1, config.model.latent_dim, seed=5, batch_type=SegmentationBatch)))
    segmentation = batch.condition[:, 0]
    assert segmentation.dtype == tf.int32 and segmentation.shape == (64, 28, 28)
    assert set(np.unique(segmentation.numpy())) == {0, 1, 2, 3, 4}
    # Each square is the silhouette, split into quadrants about its centre.
    image, label_map = batch.real[0, 0, ..., 0].numpy(), segmentation[0].numpy()
    np.testing.assert_array_equal(label_map > 0, image > -0.8)
    rows, columns = np.nonzero(label_map)
    assert label_map[rows.min(), columns.min()] == 1 and label_map[rows.max(), columns.max()] == 4
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape)
    z = tf.random.normal([64, config.model.latent_dim], seed=2)
    before = map_agreement(model, segmentation, z)
    history = fit(model, source, config, 150)
    after = map_agreement(model, segmentation, z)
    assert set(history) == {"d_loss", "g_loss", "feature_matching", "d_real", "d_fake"}
    # D tells the pairs apart (a gap of 0.068 here; 0.013 with spade.discriminator_norm = "none")
    assert history["d_real"][0] > history["d_fake"][0] + 0.04, history
    assert after[1] > 0.6 and after[1] > before[1] + 0.3, (before, after)  # the squares are drawn where the map puts them
    assert after[0] > before[0], (before, after)
    results = export_model(model, tmp_path / "saved_models", "spade")
    inputs = {entry["name"]: entry for entry in results[0].manifest["inputs"]}
    assert inputs["segmentation"]["dtype"] == "int32" and inputs["segmentation"]["classes"] == 5
    assert inputs["segmentation"]["class_names"] == ["background", "upper left", "upper right", "lower left", "lower right"]


def test_spade_resumes_exactly_and_generate_draws_from_label_map_files(tmp_path):
    from tfgan_app.generate import load_runner

    idx = write_idx_dataset(tmp_path / "idx", count=128, pattern="squares")
    config = load_config("fashion_mnist_spade", [
        f"data.idx_dir={idx}", f"data.data_dir={tmp_path / 'tfds'}", "data.name=fashion_mnist",
        "model.generator_width=8", "model.discriminator_width=8", "spade.spade_hidden=8", "train.batch_size=8",
        "train.precision=float32", "train.steps=8", "train.epochs=0", "train.checkpoint_every=4", "train.log_every=4",
        "sampling.every=4", "sampling.num_samples=4", "export.enabled=false",
    ])
    train(config, tmp_path / "whole", progress_stream=QUIET)
    config.train.steps = 4
    train(config, tmp_path / "split", progress_stream=QUIET)
    config.train.steps = 8
    assert train(config, tmp_path / "split", resume=True, progress_stream=QUIET).start_step == 4
    out = tmp_path / "saved_models"
    [whole] = export_run(tmp_path / "whole", out, "whole")
    [split] = export_run(tmp_path / "split", out, "split", formats=("savedmodel",))
    maps = tmp_path / "maps"
    maps.mkdir()
    rng = np.random.default_rng(0)
    label_maps = np.zeros((3, 28, 28), np.uint8)
    for index, label_map in enumerate(label_maps):
        top, left = rng.integers(0, 18, 2)
        label_map[top : top + 10, left : left + 10] = 3
        Image.fromarray(label_map).save(maps / f"map{index}.png")
    inputs = {"z": rng.standard_normal((3, config.model.latent_dim)).astype(np.float32), "segmentation": label_maps.astype(np.int32)}
    np.testing.assert_array_equal(load_runner(split.path, "tf")[0](inputs), load_runner(whole.path, "tf")[0](inputs))
    for runtime in ("tf", "onnx"):
        assert generate_cli.main(["--model", str(out / "whole"), "--runtime", runtime, "--input", str(maps),
                                  "--out", str(tmp_path / runtime)]) == 0
        assert sorted(p.name for p in (tmp_path / runtime).iterdir()) == ["grid.png", "map0.png", "map1.png", "map2.png"]
    Image.fromarray(np.full((28, 28), 7, np.uint8)).save(maps / "bad.png")
    assert generate_cli.main(["--model", str(out / "whole"), "--input", str(maps), "--out", str(tmp_path / "x")]) == 2
    assert generate_cli.main(["--model", str(out / "whole"), "--out", str(tmp_path / "y.png")]) == 2  # maps are needed
