import json

import pytest

from tfgan_app.config import Config, ConfigError, available_pipelines, parse_override, save_config
from tfgan_app.gans.registry import load_config

REQUIRED_PIPELINES = {
    "fashion_mnist_dcgan", "toy_ring_mlp", "toy_grid_mlp", "gaussian_1d", "fashion_mnist_cgan",
    "fashion_mnist_wgan", "fashion_mnist_wgan_gp", "fashion_mnist_lsgan", "fashion_mnist_hinge_sn",
    "fashion_mnist_infogan", "fashion_mnist_pix2pix", "fashion_mnist_cyclegan",
    "fashion_mnist_srgan", "fashion_mnist_inpainting", "fashion_mnist_dann", "fashion_mnist_adda",
    "fashion_mnist_anomaly", "sines_sequence", "sines_timegan", "fashion_mnist_acgan", "fashion_mnist_ssgan",
    "fashion_mnist_biggan", "fashion_mnist_best",
}


def test_required_pipelines_exist_and_load():
    assert REQUIRED_PIPELINES <= set(available_pipelines())
    for name in available_pipelines():
        config = load_config(name)
        assert config.pipeline.endswith(f"{name}.toml")


def test_default_pipeline_is_fashion_mnist_dcgan():
    config = load_config()
    assert config.data.name == "fashion_mnist" and config.model.architecture == "dcgan"


def test_set_overrides_with_types():
    config = load_config("toy_ring_mlp", [
        "train.batch_size=32", "optimizer.generator.learning_rate=1e-4",
        "loss.label_smoothing=0.1", "data.name=grid", "model.spectral_norm=true",
        "optimizer.discriminator.learning_rate=1",  # int accepted for a float field
    ])
    assert config.train.batch_size == 32
    assert config.optimizer.generator.learning_rate == pytest.approx(1e-4)
    assert config.loss.label_smoothing == pytest.approx(0.1)
    assert config.data.name == "grid" and config.model.spectral_norm is True
    assert isinstance(config.optimizer.discriminator.learning_rate, float)


@pytest.mark.parametrize("override,message", [
    ("train.bach_size=3", "unknown key 'bach_size' in train"),
    ("trian.steps=3", "unknown key 'trian'"),
    ("train.batch_size=abc", "train.batch_size"),
    ("train.batch_size=1.5", "train.batch_size must be int"),
    ("model.spectral_norm=1", "model.spectral_norm must be true or false"),
    ("train=3", "is a section"),
    ("train.steps", "KEY=VALUE"),
])
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config("toy_ring_mlp", [override])


def test_bad_pipeline_file_names_file_and_key(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nbatch_size = 8\nlearning_rate = 1.0\n")
    with pytest.raises(ConfigError, match=r"bad.toml: unknown key 'train.learning_rate'"):
        load_config(str(path))
    path.write_text("[model]\nlatent_dim = 'ten'\n")
    with pytest.raises(ConfigError, match=r"model.latent_dim must be int, got str"):
        load_config(str(path))
    path.write_text("[model\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(path))


def test_choices_and_ranges_are_checked():
    with pytest.raises(ConfigError, match="loss.name"):
        load_config("toy_ring_mlp", ["loss.name=wgan"])
    with pytest.raises(ConfigError, match="train.discriminator_steps must be >= 1"):
        load_config("toy_ring_mlp", ["train.discriminator_steps=0"])
    with pytest.raises(ConfigError, match="label_smoothing"):
        load_config("toy_ring_mlp", ["loss.label_smoothing=1.0"])


def test_unknown_pipeline_lists_available():
    with pytest.raises(ConfigError, match="toy_ring_mlp"):
        load_config("no_such_pipeline")


def test_saved_config_round_trips(tmp_path):
    config = load_config("gaussian_1d", ["train.steps=7"])
    save_config(config, tmp_path / "config.json")
    assert json.loads((tmp_path / "config.json").read_text())["train"]["steps"] == 7
    again = load_config(str(tmp_path / "config.json"))
    assert again.to_dict() | {"pipeline": ""} == config.to_dict() | {"pipeline": ""}


def test_parse_override_keeps_strings_for_string_fields():
    assert parse_override("data.split=1") == {"data": {"split": "1"}}
    assert parse_override('data.folder="my images"') == {"data": {"folder": "my images"}}
    assert Config().data.split == "train"
