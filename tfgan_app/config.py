"""Pipeline configuration: typed sections with defaults in code, strict overrides.

A pipeline file (TOML, in ``pipelines/``) names only what differs from the defaults below.
Every key is checked: an unknown key or a value of the wrong type is a ``ConfigError`` that
names the key path (``train.batch_size``) and the file it came from. The resolved config is
written to each run directory as ``config.json`` and can be loaded back with ``load_config``.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import typing
from pathlib import Path
from typing import Any

PIPELINES_DIR = Path(__file__).resolve().parent.parent / "pipelines"
DEFAULT_PIPELINE = "fashion_mnist_dcgan"


class ConfigError(ValueError):
    """A pipeline file or an override is wrong; the message names the key path."""


@dataclasses.dataclass
class DataConfig:
    # A TFDS name (fashion_mnist, mnist, cifar10, ...), "image_folder", or a toy
    # distribution ("gaussian_1d", "ring", "grid").
    name: str = "fashion_mnist"
    split: str = "train"
    # TFDS data directory; empty means $TFDS_DATA_DIR or ~/tensorflow_datasets.
    data_dir: str = ""
    # Where IDX files are looked for when TFDS has not prepared fashion_mnist / mnist.
    idx_dir: str = "/usr/share/datasets/fashion-mnist"
    # TFDS may download only when this is true: tests and CI never do.
    allow_download: bool = False
    # For name = "image_folder": the root folder; class labels come from subfolder names.
    folder: str = ""
    # Output size for folder images (square); 0 keeps the source's size for TFDS/IDX data.
    image_size: int = 0
    # 0 keeps the source's channels; 1 converts to grayscale, 3 to RGB.
    channels: int = 0
    # "error" stops at the first unreadable image; "skip" skips and counts them.
    on_bad_image: str = "error"
    # Use only the first N examples (0 = all): quick experiments and tests.
    limit: int = 0
    # CycleGAN domains. Labelled data (fashion_mnist, ...): a class index or name per
    # domain. Image folders: subfolders, default "<split>A" and "<split>B" (trainA/trainB).
    # TFDS cycle_gan/<name>: its splits, default "<split>A" and "<split>B".
    domain_a: str = ""
    domain_b: str = ""
    # pix2pix pairs: "edges" (input = edge map of the target, computed in the pipeline),
    # "side_by_side" (each image file is input|target), or "folders" (<split>A/ and
    # <split>B/ with matching file names).
    pairs: str = "edges"
    # Super-resolution: the generator's inputs are the images downsampled by this factor.
    scale: int = 4
    # Inpainting: the side of the square hole, as a fraction of the image side.
    mask_fraction: float = 0.5
    # Anomaly detection: this class (index or name) is the anomaly, left out of training.
    anomaly_class: str = ""
    # Sequences: name = "sines" (TimeGAN's sine waves) or "csv" (rows of numbers in `file`,
    # cut into overlapping windows of sequence_length rows).
    file: str = ""
    sequence_length: int = 24
    sequence_features: int = 5


@dataclasses.dataclass
class ModelConfig:
    # The GAN family: "gan" (unconditional), "cgan" (class-conditional), "infogan",
    # "pix2pix" (paired image-to-image) or "cyclegan" (unpaired image-to-image); or an
    # application: "srgan" (super-resolution), "inpainting", "dann" / "adda" (domain
    # adaptation), "anomaly" (EGBAD anomaly detection), "sequence" (recurrent GAN).
    family: str = "gan"
    architecture: str = "dcgan"  # "dcgan" or "mlp" (gan, cgan, infogan)
    latent_dim: int = 100
    # DCGAN: filters of the generator's last hidden layer / the discriminator's first layer;
    # each resolution step halves/doubles it.
    generator_width: int = 64
    discriminator_width: int = 64
    # MLP: units per hidden layer and number of hidden layers.
    hidden_units: int = 128
    hidden_layers: int = 2
    spectral_norm: bool = False
    # DCGAN discriminator normalisation: "batch" (Radford et al.), "layer" (what Gulrajani et
    # al. advise with a gradient penalty, which batch norm invalidates) or "none".
    # Spectral norm replaces it.
    discriminator_norm: str = "batch"
    minibatch_stddev: bool = False
    batch_norm_momentum: float = 0.9
    # PacGAN (Lin et al. 2018): D judges `packing` samples at once (1 = off).
    packing: int = 1
    # InfoGAN latent codes: one categorical code of this many values, and continuous codes.
    categorical_code: int = 10
    continuous_codes: int = 2
    # Image-to-image: CycleGAN's residual blocks, pix2pix's U-Net depth (capped by the image
    # size), the PatchGAN's stride-2 layers (3 = the 70x70 PatchGAN at 256 pixels).
    residual_blocks: int = 9
    unet_depth: int = 8
    patch_layers: int = 3
    # Sequence GAN: recurrent cell ("gru" or "lstm"), its units and stacked layers.
    cell: str = "gru"
    recurrent_units: int = 24
    recurrent_layers: int = 3


@dataclasses.dataclass
class LossConfig:
    # "non_saturating", "minimax", "wasserstein", "least_squares" or "hinge".
    name: str = "non_saturating"
    # One-sided label smoothing: real targets become 1 - label_smoothing (0.1 -> 0.9).
    label_smoothing: float = 0.0
    # WGAN-GP weight (Gulrajani et al. use 10); 0 disables the penalty.
    gradient_penalty_weight: float = 0.0
    # WGAN weight clipping bound c (Arjovsky et al. use 0.01); 0 disables clipping.
    weight_clip: float = 0.0
    # R1 penalty gamma on real data (Mescheder et al. 2018); 0 disables it.
    r1_weight: float = 0.0
    # Feature matching (Salimans et al. 2016) added to G's loss with this weight; 0 = off.
    feature_matching_weight: float = 0.0
    # InfoGAN's lambda for the information loss.
    information_weight: float = 1.0
    # pix2pix's lambda for the L1 loss (Isola et al. use 100).
    l1_weight: float = 100.0
    # CycleGAN's lambda for cycle consistency (10) and the identity loss as a fraction of it (0.5).
    cycle_weight: float = 10.0
    identity_weight: float = 0.5
    # SRGAN / context encoder: weight of the adversarial term beside the content loss
    # (both papers use 1e-3), and of the perceptual loss on classifier features.
    adversarial_weight: float = 1e-3
    perceptual_weight: float = 0.0
    # Domain classifier folder for the perceptual features; empty: the cache for data.name.
    perceptual_classifier: str = ""
    # DANN's lambda: the domain loss weight reached by Ganin et al.'s schedule (0: source only).
    adaptation_weight: float = 1.0
    # EGBAD's anomaly score: alpha * reconstruction + (1 - alpha) * D-feature distance.
    anomaly_weight: float = 0.9


@dataclasses.dataclass
class OptimizerConfig:
    name: str = "adam"  # "adam", "rmsprop" or "sgd"
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    # Momentum of "sgd" and "rmsprop".
    momentum: float = 0.0


@dataclasses.dataclass
class OptimizersConfig:
    generator: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    discriminator: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    # ADDA's source phase (encoder + classifier on the source labels).
    classifier: OptimizerConfig = dataclasses.field(
        default_factory=lambda: OptimizerConfig(learning_rate=1e-3, beta_1=0.9)
    )


@dataclasses.dataclass
class TrainConfig:
    batch_size: int = 64
    # Discriminator updates per generator update (k in Goodfellow et al. 2014, Algorithm 1).
    discriminator_steps: int = 1
    steps: int = 1000
    # When > 0, overrides steps with epochs * (examples // (batch_size * discriminator_steps)).
    epochs: float = 0.0
    log_every: int = 50
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    # Exponential moving average of G's weights, used for samples, evaluation and export
    # (0 = off; 0.999 is typical).
    ema_decay: float = 0.0
    # Differentiable augmentation (Zhao et al. 2020), comma-separated from "color",
    # "translation", "cutout"; empty = off.
    augment: str = ""
    # Unrolled discriminator (Metz et al. 2017): G is scored by D after this many
    # differentiable SGD steps of `unrolled_learning_rate` (0 = off).
    unrolled_steps: int = 0
    unrolled_learning_rate: float = 0.01
    # "none"; "linear": constant, then linear decay to 0 from `decay_start` (a fraction
    # of the run) to the end, as CycleGAN does; "annealed": lr / (1 + 10 p)^0.75 over the
    # run's progress p, as DANN does.
    learning_rate_decay: str = "none"
    decay_start: float = 0.5
    # CycleGAN's history of generated images shown to the discriminators (0 = off).
    image_pool: int = 50
    # Lean step (needs discriminator_steps = 1): G's update reuses the D update's noise and
    # generated batch instead of drawing fresh noise as Algorithm 1 does.
    reuse_fakes: bool = False
    # Lean step: D's update scores the real and the fake batch in one call on both together.
    # Needs a discriminator with no layer that mixes a batch's examples (batch norm, minibatch
    # stddev) or advances per call (spectral norm): model.discriminator_norm "none" or "layer".
    joint_discriminator_pass: bool = False
    # "float32", "mixed_bfloat16" or "mixed_float16" (with loss scaling): compute in 16 bits,
    # keep the weights, the losses and D's outputs in float32. Exports are float32 always.
    # "auto": mixed_bfloat16 where the hardware computes bfloat16 natively, else float32
    # (the run's config.json records which).
    precision: str = "float32"
    # ADDA: steps of source-only classifier training before the adversarial phase.
    pretrain_steps: int = 0
    # Training steps per call of the compiled step function (Keras' steps_per_execution):
    # less Python and dispatch per step. Callbacks (logs, checkpoints, samples) then run
    # after every N steps, at the first call past each multiple of their interval. Single
    # device only; with several replicas it is 1.
    steps_per_execution: int = 1


@dataclasses.dataclass
class SamplingConfig:
    every: int = 500
    num_samples: int = 64  # images in a grid (or points in a toy plot, see toy_points)
    toy_points: int = 2000


@dataclasses.dataclass
class EvaluationConfig:
    # Evaluate the generator every N steps while training (0: never) and keep the best
    # checkpoint by `metric` in checkpoints/best/.
    every: int = 0
    # Empty: fid for images, reverse_kl for the ring/grid, ks_statistic for 1-D data.
    metric: str = ""
    num_samples: int = 2000
    # Domain classifier folder for image metrics; empty: the cache for the dataset.
    classifier: str = ""


@dataclasses.dataclass
class ExportConfig:
    # Export the generator when `train` completes (the last stage of a pipeline).
    enabled: bool = True
    # Model name under `out`; empty means the pipeline file's name.
    name: str = ""
    # Comma-separated: "savedmodel", "onnx" or both.
    formats: str = "savedmodel,onnx"
    out: str = "saved_models"
    onnx_opset: int = 17
    # "latest" checkpoint, or "best" by the periodic evaluation's metric.
    checkpoint: str = "latest"
    # Largest tolerated |Keras - export| difference on the parity inputs.
    tolerance: float = 1e-4


@dataclasses.dataclass
class Config:
    seed: int = 0
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optimizer: OptimizersConfig = dataclasses.field(default_factory=OptimizersConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    sampling: SamplingConfig = dataclasses.field(default_factory=SamplingConfig)
    evaluation: EvaluationConfig = dataclasses.field(default_factory=EvaluationConfig)
    export: ExportConfig = dataclasses.field(default_factory=ExportConfig)
    # Set by the loader: where the pipeline came from. Not a user key.
    pipeline: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(value: Any, expected: type, key: str, origin: str) -> Any:
    """Return value as type `expected`, or raise a ConfigError naming key and origin."""
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"{origin}: {key} must be true or false, got {value!r}")
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(
            f"{origin}: {key} must be {expected.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _merge(target: Any, values: dict[str, Any], prefix: str, origin: str) -> None:
    """Write `values` into the dataclass `target` in place, checking every key and type."""
    hints = typing.get_type_hints(type(target))
    fields = {f.name for f in dataclasses.fields(target) if f.name != "pipeline"}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(
                f"{origin}: unknown key '{path}'; known keys here: {', '.join(sorted(fields))}"
            )
        expected = hints[key]
        if dataclasses.is_dataclass(expected):
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: '{path}' is a section, got {value!r}")
            _merge(getattr(target, key), value, f"{path}.", origin)
        else:
            setattr(target, key, _coerce(value, expected, path, origin))


def _field_type(path: str) -> type:
    """The declared type of a dotted key, or ConfigError if the path names nothing."""
    node: Any = Config
    parts = path.split(".")
    for depth, part in enumerate(parts):
        hints = typing.get_type_hints(node) if dataclasses.is_dataclass(node) else {}
        if part not in hints or part == "pipeline":
            known = ", ".join(sorted(k for k in hints if k != "pipeline"))
            where = ".".join(parts[:depth]) or "top level"
            raise ConfigError(f"--set {path}: unknown key '{part}' in {where}; known: {known}")
        node = hints[part]
    if dataclasses.is_dataclass(node):
        raise ConfigError(f"--set {path}: '{path}' is a section; set one of its keys")
    return node


def parse_override(text: str) -> dict[str, Any]:
    """Turn ``a.b=value`` into ``{"a": {"b": value}}`` with value typed by the field.

    Values are read as TOML literals (``10``, ``1e-4``, ``true``, ``"text"``); a bare word
    is accepted for string fields so ``--set data.name=mnist`` works without quotes.
    """
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. train.steps=200")
    path, raw = (part.strip() for part in text.split("=", 1))
    expected = _field_type(path)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        if expected is not str:
            raise ConfigError(
                f"--set {path}: cannot read {raw!r} as {expected.__name__}"
            ) from None
        value = raw
    if expected is str and not isinstance(value, str):
        value = raw  # e.g. data.split=1 stays the string "1"
    tree: dict[str, Any] = {}
    node = tree
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return tree


def find_pipeline(name_or_path: str) -> Path:
    """Resolve a pipeline name (``fashion_mnist_dcgan``) or a file path to a file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".toml", ".json") and candidate.is_file():
        return candidate
    for folder in (Path.cwd() / "pipelines", PIPELINES_DIR):
        for suffix in (".toml", ".json"):
            path = folder / f"{name_or_path}{suffix}"
            if path.is_file():
                return path
    raise ConfigError(
        f"pipeline {name_or_path!r} not found; available: {', '.join(available_pipelines())}"
    )


def available_pipelines() -> list[str]:
    return sorted(p.stem for p in PIPELINES_DIR.glob("*.toml"))


def load_config(name_or_path: str = DEFAULT_PIPELINE, overrides: list[str] = ()) -> Config:
    """Defaults <- pipeline file <- ``--set`` overrides, each step checked."""
    path = find_pipeline(name_or_path)
    try:
        if path.suffix == ".json":
            values = json.loads(path.read_text())
        else:
            values = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None
    config = Config()
    # A run's saved config.json names the pipeline file it was resolved from: keep that.
    origin = values.pop("pipeline", "") or str(path)
    _merge(config, values, "", str(path))
    for text in overrides:
        _merge(config, parse_override(text), "", f"--set {text}")
    config.pipeline = origin
    validate(config)
    return config


FAMILIES = (
    "gan", "cgan", "infogan", "pix2pix", "cyclegan",
    "srgan", "inpainting", "dann", "adda", "anomaly", "sequence",
)
NOISE_FAMILIES = ("gan", "cgan", "infogan")

_CHOICES = {
    "model.family": FAMILIES,
    "model.architecture": ("dcgan", "mlp"),
    "model.discriminator_norm": ("batch", "layer", "none"),
    "model.cell": ("gru", "lstm"),
    "data.pairs": ("edges", "side_by_side", "folders"),
    "train.learning_rate_decay": ("none", "linear", "annealed"),
    "train.precision": ("float32", "mixed_bfloat16", "mixed_float16", "auto"),
    "loss.name": ("non_saturating", "minimax", "wasserstein", "least_squares", "hinge"),
    "data.on_bad_image": ("error", "skip"),
    "export.checkpoint": ("latest", "best"),
    "evaluation.metric": (
        "", "fid", "kid", "precision", "recall", "classifier_score", "modes_covered",
        "high_quality", "reverse_kl", "ks_statistic", "wasserstein_1",
    ),
    "optimizer.generator.name": ("adam", "rmsprop", "sgd"),
    "optimizer.discriminator.name": ("adam", "rmsprop", "sgd"),
    "optimizer.classifier.name": ("adam", "rmsprop", "sgd"),
}

EXPORT_FORMATS = ("savedmodel", "onnx")


def export_formats(text: str) -> tuple[str, ...]:
    """``"savedmodel, onnx"`` -> ("savedmodel", "onnx"); unknown names are left for the caller to refuse."""
    return tuple(part.strip() for part in text.split(","))

_POSITIVE = (
    "train.batch_size", "train.discriminator_steps", "train.log_every",
    "train.checkpoint_every", "train.keep_checkpoints", "sampling.every",
    "sampling.num_samples", "model.latent_dim", "model.packing", "model.residual_blocks",
    "model.unet_depth", "model.patch_layers", "model.recurrent_units", "model.recurrent_layers",
    "data.sequence_length", "data.sequence_features", "train.steps_per_execution",
)
_NOT_NEGATIVE = (
    "loss.r1_weight", "loss.feature_matching_weight", "loss.information_weight", "loss.l1_weight",
    "loss.cycle_weight", "loss.identity_weight", "train.unrolled_steps", "train.image_pool",
    "model.continuous_codes", "loss.gradient_penalty_weight", "loss.weight_clip",
    "loss.adversarial_weight", "loss.perceptual_weight", "loss.adaptation_weight", "train.pretrain_steps",
)


def _get(config: Config, path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        value = getattr(value, part)
    return value


def validate(config: Config) -> None:
    """Checks that need more than a type: choices and ranges."""
    for path, choices in _CHOICES.items():
        if _get(config, path) not in choices:
            raise ConfigError(f"{path} = {_get(config, path)!r}; choose one of {list(choices)}")
    for path in _POSITIVE:
        if _get(config, path) < 1:
            raise ConfigError(f"{path} must be >= 1, got {_get(config, path)}")
    if config.evaluation.every < 0 or config.evaluation.num_samples < 10:
        raise ConfigError("evaluation.every must be >= 0 and evaluation.num_samples >= 10")
    if config.train.steps < 0 or config.train.epochs < 0:
        raise ConfigError("train.steps and train.epochs must not be negative")
    if not 0.0 <= config.loss.label_smoothing < 1.0:
        raise ConfigError(f"loss.label_smoothing must be in [0, 1), got {config.loss.label_smoothing}")
    formats = export_formats(config.export.formats)
    if any(part not in EXPORT_FORMATS for part in formats):
        raise ConfigError(
            f"export.formats = {config.export.formats!r}; a comma-separated list of {list(EXPORT_FORMATS)}"
        )
    if config.export.onnx_opset < 17:
        raise ConfigError(f"export.onnx_opset must be >= 17, got {config.export.onnx_opset}")
    if config.data.channels not in (0, 1, 3):
        raise ConfigError(f"data.channels must be 0 (keep), 1 or 3, got {config.data.channels}")
    for path in _NOT_NEGATIVE:
        if _get(config, path) < 0:
            raise ConfigError(f"{path} must be >= 0, got {_get(config, path)}")
    if not 0.0 <= config.train.ema_decay < 1.0:
        raise ConfigError(f"train.ema_decay must be in [0, 1), got {config.train.ema_decay}")
    if not 0.0 <= config.train.decay_start < 1.0:
        raise ConfigError(f"train.decay_start must be in [0, 1), got {config.train.decay_start}")
    try:
        parse_augmentations(config.train.augment)
    except ValueError as error:
        raise ConfigError(f"train.augment = {config.train.augment!r}: {error}") from None
    _validate_family(config)


AUGMENTATIONS = ("color", "translation", "cutout")


def parse_augmentations(text: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"); ValueError naming an unknown one."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; choose from {list(AUGMENTATIONS)}")
    return names


def _validate_family(config: Config) -> None:
    """Switches that do not combine with the chosen family, refused before any work."""
    family, model, train = config.model.family, config.model, config.train
    if config.train.batch_size % model.packing:
        raise ConfigError(f"train.batch_size {train.batch_size} is not a multiple of model.packing {model.packing}")
    if family == "cgan" and model.packing > 1:
        raise ConfigError("model.packing mixes examples of different labels: not available for family 'cgan'")
    if family == "infogan" and model.categorical_code < 2:
        raise ConfigError(f"model.categorical_code must be >= 2 for InfoGAN, got {model.categorical_code}")
    if family == "sequence":
        used = [name for name, on in (
            ("train.augment", train.augment), ("model.packing", model.packing > 1),
            ("train.unrolled_steps", train.unrolled_steps),
        ) if on]
        if used:
            raise ConfigError(f"{', '.join(used)}: not available for sequences (model.family 'sequence')")
    elif family not in NOISE_FAMILIES:
        used = [
            name for name, on in (
                ("train.ema_decay", train.ema_decay), ("train.augment", train.augment),
                ("train.unrolled_steps", train.unrolled_steps), ("model.packing", model.packing > 1),
                ("train.reuse_fakes", train.reuse_fakes),
                ("train.joint_discriminator_pass", train.joint_discriminator_pass),
                ("evaluation.every", config.evaluation.every),
                ("loss.feature_matching_weight", config.loss.feature_matching_weight),
                ("loss.r1_weight", config.loss.r1_weight),
                ("loss.gradient_penalty_weight", config.loss.gradient_penalty_weight),
            ) if on
        ]
        if used:
            raise ConfigError(
                f"{', '.join(used)}: available for the noise-to-image families {list(NOISE_FAMILIES)}, "
                f"not for model.family = {family!r}"
            )
    if family == "srgan" and config.data.scale not in (2, 4, 8):
        raise ConfigError(f"data.scale must be 2, 4 or 8 for super-resolution, got {config.data.scale}")
    if family == "inpainting" and not 0.0 < config.data.mask_fraction < 1.0:
        raise ConfigError(f"data.mask_fraction must be in (0, 1), got {config.data.mask_fraction}")
    if family == "anomaly" and not config.data.anomaly_class:
        raise ConfigError("model.family 'anomaly' needs data.anomaly_class: the class left out of training")
    if not 0.0 <= config.loss.anomaly_weight <= 1.0:
        raise ConfigError(f"loss.anomaly_weight must be in [0, 1], got {config.loss.anomaly_weight}")
    if family == "adda" and train.pretrain_steps < 1:
        raise ConfigError("ADDA needs train.pretrain_steps >= 1: source training comes before adaptation")
    if (family == "sequence") != (config.data.name in ("sines", "csv")):
        raise ConfigError(
            f"data.name {config.data.name!r} with model.family {family!r}: the sequence family trains on "
            "data.name 'sines' or 'csv', and those sources are sequences"
        )
    if train.reuse_fakes and train.discriminator_steps != 1:
        raise ConfigError("train.reuse_fakes needs train.discriminator_steps = 1")
    if family == "cyclegan" and train.discriminator_steps != 1:
        raise ConfigError("CycleGAN updates each discriminator once per step: train.discriminator_steps must be 1")
    if config.loss.gradient_penalty_weight and model.discriminator_norm == "batch" and not model.spectral_norm \
            and model.architecture == "dcgan":
        raise ConfigError(
            "loss.gradient_penalty_weight with model.discriminator_norm = 'batch': the penalty is per example "
            "and batch norm mixes examples; use discriminator_norm 'layer' or 'none' (Gulrajani et al. 2017, sec. 4)"
        )
    if train.unrolled_steps and model.architecture != "mlp":
        raise ConfigError("train.unrolled_steps is implemented for the mlp architecture (second-order "
                          "gradients through batch norm are not supported)")


def save_config(config: Config, path: Path) -> None:
    path.write_text(json.dumps(config.to_dict(), indent=2) + "\n")
