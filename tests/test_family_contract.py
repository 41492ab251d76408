"""What every registered family owes the rest of the product, checked on each of them:
it is found by the registry, builds from a config, trains a few steps, moves its weights as
much under mixed_float16 (loss scaling) as in float32, and names what it checkpoints and
exports. A new family module is picked up here without listing it (add its tiny config to
FAMILY_SETTINGS)."""

import os

import keras
import numpy as np
import pytest

from tests.helpers import tiny_config, write_idx_dataset, write_tone_folder
from tfgan_app.config import ConfigError
from tfgan_app.gans.registry import family_source, load_config
from tfgan_app.data import make_train_dataset
from tfgan_app.gans import build_model, families
from tfgan_app.gans.base import AdversarialModel
from tfgan_app.training.trainer import train

QUIET = open(os.devnull, "w")
SGD = {"name": "sgd", "learning_rate": 0.01, "momentum": 0.0}

# The smallest settings each family trains with on the tests' bar images (or sines).
FAMILY_SETTINGS = {
    "gan": {},
    "cgan": {},
    "acgan": {},
    "infogan": {"infogan": {"categorical_code": 3, "continuous_codes": 1}},
    # An L1 weight of 100 makes the first float16 gradients overflow at the initial loss
    # scale of 2^15: dynamic scaling then skips steps while it halves the scale.
    "pix2pix": {"pix2pix": {"unet_depth": 2, "patch_layers": 1, "l1_weight": 1.0}},
    "cyclegan": {"cyclegan": {"domain_a": "0", "domain_b": "1", "residual_blocks": 1, "patch_layers": 1,
                              "image_pool": 4}},
    "srgan": {"srgan": {"residual_blocks": 1}},
    "inpainting": {"inpainting": {"unet_depth": 2}},
    "dann": {"model": {"hidden_units": 16}},
    "adda": {"model": {"hidden_units": 16}, "adda": {"pretrain_steps": 2, "classifier_optimizer": SGD}},
    "anomaly": {"anomaly": {"anomaly_class": "9"}},
    "sequence": {"data": {"name": "sines", "sequence_length": 6, "sequence_features": 2},
                 "sequence": {"recurrent_units": 4, "recurrent_layers": 1}},
    "template": {"template": {"hidden_units": 16, "hidden_layers": 1}},
    "ssgan": {"ssgan": {"labels_per_class": 2}},
    "biggan": {"biggan": {"embedding_dim": 8}},
    "spade": {"spade": {"spade_hidden": 8, "patch_layers": 2}, "loss": {"name": "hinge"}},
    "text2image": {"text2image": {"embedding_dim": 8, "condition_dim": 4}},
    # 1,024 samples: WaveGAN's five x4 steps from 1; GANSynth's 8 x 256 spectrogram.
    "wavegan": {"data": {"name": "audio_folder", "audio_samples": 1024}, "wavegan": {"width": 2}},
    "gansynth": {"data": {"name": "audio_folder", "audio_samples": 1024}, "gansynth": {"width": 2}},
    "text": {"data": {"name": "text_file", "text_length": 8}, "text": {"width": 8, "blocks": 1},
             "loss": {"name": "wasserstein", "gradient_penalty_weight": 10.0}},
    "char_lm": {"data": {"name": "text_file", "text_length": 8}, "char_lm": {"units": 8}},
    # Clips of 8 frames of 16x16 made from the tests' bar images.
    "mocogan": {"data": {"name": "moving_fashion_mnist", "video_frames": 8, "video_size": 16, "video_item": 8,
                         "limit": 16}, "mocogan": {"width": 2, "motion_dim": 2}},
    "video": {"data": {"name": "moving_fashion_mnist", "video_frames": 8, "video_size": 16, "video_item": 8,
                       "limit": 16}, "video": {"width": 2}},
}


# Steps of the float16 check where 4 are too few: BigGAN's D sums its features over the
# image (global sum pooling), so its first float16 gradients overflow at the initial loss
# scale of 2^15 and dynamic scaling skips steps until the scale settles (measured: D still
# unmoved after 4 steps, moving like float32 after 24).
FLOAT16_STEPS = {"biggan": 24}


def family_config(tmp_path, family, precision="float32"):
    idx = write_idx_dataset(tmp_path / "idx", count=128)
    sections = {key: dict(value) for key, value in FAMILY_SETTINGS[family].items()}
    data = {"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds"), **sections.pop("data", {})}
    if data.get("name") == "audio_folder":  # two classes of tones
        data["folder"] = str(write_tone_folder(tmp_path / "clips"))
    if data.get("name") == "text_file":
        (tmp_path / "text.txt").write_text("The quick brown fox jumps over the lazy dog. " * 40)
        data["file"] = str(tmp_path / "text.txt")
    model = {"family": family, "generator_width": 8, "discriminator_width": 8, **sections.pop("model", {})}
    return tiny_config(
        data=data, model=model, train={"batch_size": 8, "precision": precision},
        optimizer={"generator": SGD, "discriminator": SGD}, **sections,
    )


def test_every_family_module_is_registered_with_its_settings():
    assert set(families()) == set(FAMILY_SETTINGS)
    for name, family in families().items():
        assert family.name == name and family.summary
        # The default pipeline's reuse_fakes is a gan-family setting.
        switch = [f"model.family={name}", "train.reuse_fakes=false"]
        config = load_config("fashion_mnist_dcgan", switch) if name in ("gan", "template") else None
        if config is not None:
            assert type(config.family_settings) is family.settings


@pytest.mark.parametrize("family", sorted(FAMILY_SETTINGS))
def test_family_weights_move_alike_in_float32_and_under_float16_loss_scaling(family, tmp_path):
    """DANN and ADDA once applied unscaled gradients under mixed_float16 (moving 2^15 times
    too little with SGD); every family now goes through ``optimizer_step``."""
    movements = {}
    for precision in ("float32", "mixed_float16"):
        config = family_config(tmp_path, family, precision)
        source = family_source(config)
        keras.utils.set_random_seed(0)
        steps = FLOAT16_STEPS.get(family, 4)
        model = build_model(config, source.element_shape, source.num_classes, total_steps=steps,
                            class_names=source.class_names)
        assert isinstance(model, AdversarialModel)
        networks = model.networks()
        before = {name: [w.numpy().copy() for w in network.trainable_weights] for name, network in networks.items()}
        dataset = make_train_dataset(
            source, config.train.batch_size, config.train.discriminator_steps, model.noise_dim, 0,
            batch_type=model.batch_type,
        )
        history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False).history
        assert all(np.isfinite(values[-1]) for values in history.values()), history
        movements[precision] = sum(
            float(np.abs(w.numpy() - old).sum())
            for name, network in networks.items() for w, old in zip(network.trainable_weights, before[name])
        )
        assert set(model.exports()) and all(isinstance(n, keras.Model) for n in model.exports().values())
    keras.mixed_precision.set_global_policy("float32")
    ratio = movements["mixed_float16"] / movements["float32"]
    assert 0.5 < ratio < 2.0, movements


def test_the_template_family_trains_resumes_and_exports_from_its_pipeline(tmp_path):
    config = load_config("toy_ring_template", [
        "train.steps=6", "train.checkpoint_every=3", "train.log_every=3", "sampling.every=3",
        f"export.out={tmp_path / 'models'}",
    ])
    first = train(config, tmp_path / "run", progress_stream=QUIET)
    assert first.status == "completed" and first.step == 6
    config.train.steps = 9
    resumed = train(config, tmp_path / "run", resume=True, progress_stream=QUIET)
    assert resumed.start_step == 6 and resumed.step == 9
    from tfgan_app.export import export_run

    [export] = export_run(tmp_path / "run", tmp_path / "models", formats=("savedmodel",))
    assert export.manifest["family"] == "template" and export.manifest["output"] == "samples"
    with pytest.raises(ConfigError, match=r"template.hidden_units must be >= 1, got 0"):
        load_config("toy_ring_template", ["template.hidden_units=0"])


@pytest.mark.parametrize("family", ["pix2pix", "cyclegan", "srgan", "sequence", "template"])
def test_any_family_with_a_generator_can_keep_an_ema_copy_and_exports_it(family, tmp_path):
    config = family_config(tmp_path, family)
    config.train.ema_decay = 0.5
    switch = [f"model.family={family}", "train.ema_decay=0.5", "train.reuse_fakes=false"]
    load_config("fashion_mnist_dcgan", [*switch, "data.name=sines"] if family == "sequence" else switch)  # accepted
    source = family_source(config)
    model = build_model(config, source.element_shape, source.num_classes, total_steps=3)
    dataset = make_train_dataset(source, 8, 1, model.noise_dim, 0, batch_type=model.batch_type)
    model.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0, shuffle=False)
    assert set(model.averages) == set(model.generators())
    assert {f"ema_{name}" for name in model.generators()} <= set(model.checkpoint_objects())
    for name, online in model.generators().items():
        average = model.averaged(name)
        assert average is not online
        differences = [np.abs(a.numpy() - b.numpy()).max() for a, b in zip(average.trainable_weights, online.trainable_weights)]
        assert max(differences) > 0  # it trails the online generator
    exported = list(model.exports().values())
    assert all(any(network is model.averaged(name) or model.averaged(name) in network.layers
                   for name in model.generators()) for network in exported)


def test_generator_regularizers_enter_the_generators_loss(tmp_path):
    config = family_config(tmp_path, "pix2pix")
    source = family_source(config)
    histories = []
    for weight in (0.0, 100.0):
        keras.utils.set_random_seed(0)
        model = build_model(config, source.element_shape)
        if weight:
            model.generator_regularizers.append(
                lambda inputs, fake: weight * keras.ops.mean(keras.ops.square(fake), axis=[1, 2, 3])
            )
        dataset = make_train_dataset(source, 8, 1, model.noise_dim, 0, batch_type=model.batch_type)
        histories.append(model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False).history)
    assert histories[1]["g_loss"][0] > histories[0]["g_loss"][0] + 1.0
