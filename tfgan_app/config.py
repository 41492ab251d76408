"""Pipeline configuration: typed sections with defaults in code, strict overrides.

A pipeline file (TOML, in ``pipelines/``) names only what differs from the defaults below.
Every key is checked: an unknown key or a value of the wrong type is a ``ConfigError`` that
names the key path (``train.batch_size``) and the file it came from. The resolved config is
written to each run directory as ``config.json`` and can be loaded back with
``gans.registry.load_config``, which adds what only the family's code knows. This module
imports nothing of the package and no TensorFlow: it is the bottom layer.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from pathlib import Path
from typing import Any, Mapping, Sequence

# The shipped pipelines: package data (a link to the repository's pipelines/ folder in a checkout).
PIPELINES_DIR = Path(__file__).resolve().parent / "pipelines"
DEFAULT_PIPELINE = "fashion_mnist_dcgan"


class ConfigError(ValueError):
    """A pipeline file or an override is wrong; the message names the key path."""


# The data.name values of the sound sources (clips of audio) and of the text sources.
AUDIO_SOURCES = ("notes", "audio_folder")
TEXT_SOURCES = ("fortunes", "text_file")
VIDEO_SOURCES = ("moving_fashion_mnist", "video_folder")


@dataclasses.dataclass
class DataConfig:
    # A TFDS name (fashion_mnist, mnist, cifar10, ...), "image_folder", "emoji" (64x64 RGB,
    # fetched from the npm registry), audio ("notes", "audio_folder"), text ("fortunes",
    # "text_file"), video ("moving_fashion_mnist", "video_folder"), or a toy distribution
    # ("gaussian_1d", "ring", "grid").
    name: str = "fashion_mnist"
    split: str = "train"  # the split to train on (TFDS split names; emoji: train or test)
    # TFDS data directory; empty means $TFDS_DATA_DIR or ~/tensorflow_datasets.
    data_dir: str = ""
    # Where IDX files are looked for when TFDS has not prepared fashion_mnist / mnist.
    idx_dir: str = "/usr/share/datasets/fashion-mnist"
    # TFDS may download only when this is true: tests and CI never do.
    allow_download: bool = False
    # For name = "image_folder": the root folder; class labels come from subfolder names.
    # For name = "prepared": a folder made by `python -m tfgan_app.data prepare`.
    folder: str = ""
    # Output size for folder images (square); 0 keeps the source's size for TFDS/IDX data.
    image_size: int = 0
    # 0 keeps the source's channels; 1 converts to grayscale, 3 to RGB.
    channels: int = 0
    # "error" stops at the first unreadable image (or .wav file); "skip" skips and counts them.
    on_bad_image: str = "error"
    # Use only the first N examples (0 = all): quick experiments and tests.
    limit: int = 0
    # Where fetched datasets live (name = "emoji": <cache_dir>/emoji/<vendor>/); empty:
    # $TFGAN_APP_DATA or ~/.cache/tfgan_app/data. Fetch with python -m tfgan_app.data fetch emoji.
    cache_dir: str = ""
    # name = "emoji": the style of a single set, "google" (Noto) or "twitter" (Twemoji), and
    # the labels: "category" (10) or "subcategory" (about 100).
    vendor: str = "google"
    emoji_labels: str = "category"  # see vendor
    # Sequences: name = "sines" (TimeGAN's sine waves) or "csv" (rows of numbers in `file`,
    # cut into overlapping windows of sequence_length rows).
    file: str = ""
    sequence_length: int = 24  # see file
    sequence_features: int = 5  # see file
    # Audio: name = "notes" (instrument notes rendered by python -m tfgan_app.data fetch notes
    # into cache_dir; split train or test, the held-out instruments) or "audio_folder" (WAV
    # files under `folder`, one class per subfolder). Clips are mono at audio_rate, cut or
    # zero-padded to audio_samples (16,384: WaveGAN's 4^5 x 16, 1.024 s at 16 kHz).
    audio_samples: int = 16384
    audio_rate: int = 16000  # see audio_samples
    # Text: name = "fortunes" (Debian's quotations; split train or test, held-out collections)
    # or "text_file" (`file`: a UTF-8 file, or a folder of .txt files), cut into windows of
    # text_length characters.
    text_length: int = 32
    # Video: name = "moving_fashion_mnist" (video_clips clips of video_items garments, shrunk
    # to video_item pixels, bouncing on a video_size canvas; made from the Fashion-MNIST split)
    # or "video_folder" (GIF/MP4 files or folders of frames under `folder`). Clips are
    # video_frames frames of video_size x video_size.
    video_frames: int = 16
    video_size: int = 32  # see video_frames
    video_item: int = 16  # see video_frames
    video_items: int = 1  # see video_frames
    video_clips: int = 12000  # see video_frames


@dataclasses.dataclass
class ModelConfig:
    # The GAN family: a module of tfgan_app/gans/ declares it ("gan", "cgan", "infogan",
    # "pix2pix", "cyclegan", "srgan", "inpainting", "dann", "adda", "anomaly", "sequence",
    # "template"); its own settings are the pipeline's [<family>] section.
    family: str = "gan"
    # "dcgan", "stylegan" (the style-based generator of Karras et al. 2019/2020 with the DCGAN
    # discriminator: networks/stylegan.py; gan, cgan), "r3gan" (the ResNet networks of Huang
    # et al. 2024: networks/r3gan.py) or "mlp" (gan, cgan, infogan, acgan).
    architecture: str = "dcgan"
    # Your own networks instead of `architecture` (gan, cgan, infogan): "package.module:function".
    # The generator function is called with latent_dim, data_shape, num_classes and code_dim
    # (keywords) and returns a keras.Model taking the noise first (then the label or code);
    # the discriminator function with data_shape, num_classes and code_dim, returning a
    # keras.Model of one logit per example (a tensor, or a dict with "logit").
    generator: str = ""
    discriminator: str = ""  # see generator
    latent_dim: int = 100  # width of the noise vector z
    # DCGAN: filters of the generator's last hidden layer / the discriminator's first layer;
    # each resolution step halves/doubles it.
    generator_width: int = 64
    discriminator_width: int = 64  # see generator_width
    # R3GAN: residual blocks per resolution, groups of each block's 3x3 convolution, and the
    # bottleneck's expansion (widths from generator_width / discriminator_width).
    blocks_per_stage: int = 1
    cardinality: int = 1  # see blocks_per_stage
    expansion: int = 2  # see blocks_per_stage
    # Style-based generator: dense layers of the mapping network z -> w, and the share of
    # training examples whose styles switch to a second z after a random layer (style mixing).
    mapping_layers: int = 4
    style_mixing: float = 0.9  # see mapping_layers
    # MLP: units per hidden layer and number of hidden layers.
    hidden_units: int = 128
    hidden_layers: int = 2  # see hidden_units
    spectral_norm: bool = False  # spectral normalisation of every D layer (Miyato et al. 2018)
    # DCGAN discriminator normalisation: "batch" (Radford et al.), "layer" (what Gulrajani et
    # al. advise with a gradient penalty, which batch norm invalidates) or "none".
    # Spectral norm replaces it.
    discriminator_norm: str = "batch"
    minibatch_stddev: bool = False  # the batch's standard deviation as an extra D feature (Karras et al. 2018)
    batch_norm_momentum: float = 0.9  # momentum of the batch norms' moving statistics
    # PacGAN (Lin et al. 2018): D judges `packing` samples at once (1 = off).
    packing: int = 1


@dataclasses.dataclass
class LossConfig:
    # "non_saturating", "minimax", "wasserstein", "least_squares", "hinge" or "relativistic"
    # (the relativistic pairing loss of R3GAN, Huang et al. 2024; gan-family models only).
    name: str = "non_saturating"
    # One-sided label smoothing: real targets become 1 - label_smoothing (0.1 -> 0.9).
    label_smoothing: float = 0.0
    # WGAN-GP weight (Gulrajani et al. use 10); 0 disables the penalty.
    gradient_penalty_weight: float = 0.0
    # WGAN weight clipping bound c (Arjovsky et al. use 0.01); 0 disables clipping.
    weight_clip: float = 0.0
    # R1 penalty gamma on real data (Mescheder et al. 2018); 0 disables it.
    r1_weight: float = 0.0
    # R2: the same penalty on generated data (Huang et al. 2024 use gamma for both); 0 = off.
    r2_weight: float = 0.0
    # Lazy regularisation (Karras et al. 2020, "Analyzing and Improving the Image Quality of
    # StyleGAN", sec. 3.1, their R1 every 16 minibatches): the gradient penalties above
    # (R1, R2, the WGAN-GP term) are computed in one training step of this many, with their
    # weights multiplied by it, so their mean pull is unchanged. Each costs a double backward
    # pass through D; 1 = every step, as R3GAN and WGAN-GP train.
    penalty_every: int = 1
    # Feature matching (Salimans et al. 2016) added to G's loss with this weight; 0 = off.
    feature_matching_weight: float = 0.0


@dataclasses.dataclass
class OptimizerConfig:
    name: str = "adam"  # "adam", "rmsprop" or "sgd"
    learning_rate: float = 2e-4  # the optimizer's initial learning rate
    beta_1: float = 0.5  # Adam's first-moment decay (Radford et al. use 0.5)
    beta_2: float = 0.999  # Adam's second-moment decay
    # Momentum of "sgd" and "rmsprop".
    momentum: float = 0.0


@dataclasses.dataclass
class OptimizersConfig:
    generator: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    discriminator: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)


@dataclasses.dataclass
class TrainConfig:
    batch_size: int = 64  # the global batch: real examples per D update, split over the replicas
    # Discriminator updates per generator update (k in Goodfellow et al. 2014, Algorithm 1).
    discriminator_steps: int = 1
    steps: int = 1000  # train until this step (generator updates), unless epochs is set
    # When > 0, overrides steps with epochs * (examples // (batch_size * discriminator_steps)).
    epochs: float = 0.0
    log_every: int = 50  # steps per log window (metrics.jsonl, TensorBoard, the progress line)
    checkpoint_every: int = 500  # steps between checkpoints
    keep_checkpoints: int = 3  # the newest checkpoints kept; older ones are pruned
    # Exponential moving average of G's weights, used for samples, evaluation and export
    # (0 = off; 0.999 is typical). Its decay warms up as min(decay, (1 + t) / (10 + t)) over
    # G's first updates t, so a short run's average holds no initial weights (gans/base.py).
    ema_decay: float = 0.0
    # The EMA by its half-life in real images instead (Karras et al. 2022 and R3GAN count it
    # so, independent of the batch size): when > 0 it replaces ema_decay by 0.5^(batch_size /
    # ema_half_life_images) (config.ema_decay_of).
    ema_half_life_images: float = 0.0
    # Differentiable augmentation (Zhao et al. 2020), comma-separated from "color",
    # "translation", "cutout"; empty = off.
    augment: str = ""
    # Adaptive discriminator augmentation (ADA, Karras et al. 2020): the `augment` transforms
    # are applied with a probability p that follows r_t = E[sign(D(x_real))] towards this
    # target (the paper's 0.6; 0 = off, every example augmented), moving by at most 1 in
    # ada_images real images, adjusted every ada_interval steps; p is logged as augment_p.
    ada_target: float = 0.0
    ada_images: int = 100_000  # see ada_target
    ada_interval: int = 4  # see ada_target
    # FreezeD (Mo et al. 2020): the discriminator's first N layers with kernels stay fixed,
    # for fine-tuning a run on small data (--init-from). 0 = off.
    freeze_discriminator_layers: int = 0
    # Progressive growing (Karras et al. 2018) of a style-based generator (model.architecture =
    # "stylegan"): each finer resolution fades in over this many steps, then trains alone as
    # long; 0 = off (gans/progressive.py).
    progressive_steps: int = 0
    # Unrolled discriminator (Metz et al. 2017): G is scored by D after this many
    # differentiable SGD steps of `unrolled_learning_rate` (0 = off).
    unrolled_steps: int = 0
    unrolled_learning_rate: float = 0.01  # see unrolled_steps
    # "none"; "linear": constant, then linear decay to 0 from `decay_start` (a fraction
    # of the run) to the end, as CycleGAN does; "annealed": lr / (1 + 10 p)^0.75 over the
    # run's progress p, as DANN does; "cosine": constant, then half a cosine from
    # `decay_start` to the end (R3GAN, Huang et al. 2024). Linear and cosine end at
    # decay_final_fraction x the initial rate (R3GAN: 5e-5 / 2e-4 = 0.25).
    learning_rate_decay: str = "none"
    decay_start: float = 0.5  # see learning_rate_decay
    decay_final_fraction: float = 0.0  # see learning_rate_decay
    # Along the same "linear" or "cosine" schedule: Adam's beta_2 moves from the optimizers'
    # beta_2 to this (0 = constant), and the gradient penalties' weights (loss.r1_weight,
    # r2_weight, gradient_penalty_weight) from their values to this fraction of them (1 =
    # constant). R3GAN anneals beta_2 up and gamma down with the learning rate (Huang et al.
    # 2024, sec. 4; their configurations: beta_2 0.9 -> 0.99, gamma to a tenth).
    beta_2_final: float = 0.0
    penalty_final_fraction: float = 1.0  # see beta_2_final
    # Lean step (needs discriminator_steps = 1): G's update reuses the D update's noise and
    # generated batch instead of drawing fresh noise as Algorithm 1 does.
    reuse_fakes: bool = False
    # Top-k training (Sinha et al. 2020): G's update uses only the k fakes of its batch that
    # D rates most real; k starts at the batch and shrinks by top_k_decay per epoch down to
    # top_k_min_fraction of it (the paper: 0.99 and 0.5). 1.0 = off, every fake counts.
    top_k_min_fraction: float = 1.0
    top_k_decay: float = 0.99  # see top_k_min_fraction
    # Lean step: D's update scores the real and the fake batch in one call on both together.
    # Needs a discriminator with no layer that mixes a batch's examples (batch norm, minibatch
    # stddev) or advances per call (spectral norm): model.discriminator_norm "none" or "layer".
    joint_discriminator_pass: bool = False
    # "float32", "mixed_bfloat16" or "mixed_float16" (with loss scaling): compute in 16 bits,
    # keep the weights, the losses and D's outputs in float32. Exports are float32 always.
    # "auto": mixed_bfloat16 where the hardware computes bfloat16 natively, else float32
    # (the run's config.json records which).
    precision: str = "float32"
    # What a NaN or Inf loss or weight does: "stop" (exit 1, the last good checkpoint kept)
    # or "rollback": restore the last checkpoint (finite: checked before it was written),
    # multiply both learning rates by rollback_factor and go on, at most max_rollbacks times.
    on_non_finite: str = "stop"
    rollback_factor: float = 0.5  # see on_non_finite
    max_rollbacks: int = 3  # see on_non_finite
    # The losses are checked every this many steps (and before every checkpoint): the
    # running means in the logs turn NaN at the first bad step, so none is missed, and the
    # check costs one device-to-host copy per interval, not per step.
    non_finite_check_every: int = 10
    # Warn (log and run.json) when D's loss was under the loss's separation level
    # (losses.AdversarialLoss.separated_below) in the log windows of at least 80% of the
    # last this many steps: D tells every real image from every generated one, and G seldom
    # recovers. 0 = off.
    discriminator_wins_warning_steps: int = 1000
    # Training steps per call of the compiled step function (Keras' steps_per_execution):
    # less Python and dispatch per step. Callbacks (logs, checkpoints, samples) then run
    # after every N steps, at the first call past each multiple of their interval. Single
    # device only; with several replicas it is 1.
    steps_per_execution: int = 1


@dataclasses.dataclass
class SamplingConfig:
    every: int = 500  # steps between sample grids (samples/, TensorBoard)
    num_samples: int = 64  # images in a grid (or points in a toy plot, see toy_points)
    toy_points: int = 2000  # points in a toy data plot


@dataclasses.dataclass
class EvaluationConfig:
    # Evaluate the generator every N steps while training (0: never) and keep the best
    # checkpoint by `metric` in checkpoints/best/.
    every: int = 0
    # Empty: fid for images, reverse_kl for the ring/grid, ks_statistic for 1-D data.
    metric: str = ""
    num_samples: int = 2000  # samples per periodic evaluation
    # Domain classifier folder for image metrics; empty: the pinned one shipped for the dataset
    # (Fashion-MNIST, emoji), else the self-trained one in the cache.
    classifier: str = ""


@dataclasses.dataclass
class ExportConfig:
    # Export the generator when `train` completes (the last stage of a pipeline).
    enabled: bool = True
    # Model name under `out`; empty means the pipeline file's name.
    name: str = ""
    # Comma-separated: "savedmodel", "onnx", "web" (a page that runs the ONNX model in the
    # browser: needs onnx; its runtime comes from npm once).
    formats: str = "savedmodel,onnx,web"
    out: str = "saved_models"  # the folder of exported models (TF Serving's model_base_path's parent)
    onnx_opset: int = 17  # ONNX opset of the export (>= 17)
    # "latest" checkpoint, or "best" by the periodic evaluation's metric.
    checkpoint: str = "latest"
    # Largest tolerated |Keras - export| difference on the parity inputs.
    tolerance: float = 1e-4
    # Standing statistics (Brock et al. 2019, appendix C): where a run's generator is loaded
    # for export or `evaluate --run`, its batch-norm statistics are re-estimated as the mean
    # over this many batches of noise (0 = off: the moving averages of training, which with
    # momentum 0.9 remember about the last 10 batches). Noise-to-image families.
    standing_statistics: int = 0


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
    # Set by the loader: the family's own section (its dataclass, see gans.registry),
    # written as [<model.family>] in pipeline files and config.json. Not a user key.
    family_settings: Any = None

    def to_dict(self) -> dict[str, Any]:
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        settings = values.pop("family_settings")
        values = {key: dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value for key, value in values.items()}
        if settings is not None:
            values[self.model.family] = dataclasses.asdict(settings)
        return values


_LOADER_FIELDS = ("pipeline", "family_settings")  # set by the loader, never by a user


# What the loader needs to know of the families, from the layer that knows them
# (``gans.registry.FAMILY_SECTIONS``): family name -> the dataclass of its own section. Looking
# a name up may import that family's module; ``in`` and iteration over names import nothing.
FamilySections = Mapping[str, type]
NO_FAMILY_SECTIONS: FamilySections = {}


def section_type(sections: FamilySections, family: str) -> type:
    """The dataclass of ``family``'s section; ConfigError when no family has that name or
    its module does not import (the registry's message names the module)."""
    if family not in sections:
        raise ConfigError(f"model.family = {family!r}; choose one of {sorted(sections)}")
    try:
        return sections[family]
    except KeyError as error:
        raise ConfigError(str(error)) from None


def with_family_settings(config: Config, sections: FamilySections) -> Any:
    """The config's family section, made with its defaults when it is missing or belongs
    to another family (a Config built in code, or whose model.family was changed)."""
    settings = section_type(sections, config.model.family)
    if type(config.family_settings) is not settings:
        config.family_settings = settings()
    return config.family_settings


def _moved_key_hint(path: str, sections: FamilySections) -> str:
    """For a key that left a shared section for a family's: where it lives now (an error's
    hint: it reads every family's section)."""
    leaf = path.rsplit(".", 1)[-1]
    homes = []
    for name in sorted(sections):
        try:
            if leaf in {field.name for field in dataclasses.fields(sections[name])}:
                homes.append(name)
        except KeyError:  # a family whose module does not import has no fields to offer
            continue
    if not homes:
        return ""
    where = ", ".join(f"[{name}] {leaf}" for name in homes)
    return f"; it moved to the family's own section: {where} (e.g. --set {homes[0]}.{leaf}=...)"


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


def merge_values(target: Any, values: dict[str, Any], prefix: str, origin: str,
                 sections: FamilySections = NO_FAMILY_SECTIONS) -> None:
    """Write ``values`` into the dataclass ``target`` in place, checking every key and type;
    ``origin`` (a file, ``--set ...``) and ``prefix`` (``train.``) name a wrong key."""
    hints = typing.get_type_hints(type(target))
    fields = {f.name for f in dataclasses.fields(target) if f.name not in _LOADER_FIELDS}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(
                f"{origin}: unknown key '{path}'{_moved_key_hint(path, sections) if prefix else ''}; "
                f"known keys here: {', '.join(sorted(fields))}"
            )
        expected = hints[key]
        if dataclasses.is_dataclass(expected):
            if not isinstance(value, dict):
                raise ConfigError(f"{origin}: '{path}' is a section, got {value!r}")
            merge_values(getattr(target, key), value, f"{path}.", origin, sections)
        else:
            setattr(target, key, _coerce(value, expected, path, origin))


def _field_type(path: str, sections: FamilySections) -> type:
    """The declared type of a dotted key, or ConfigError if the path names nothing."""
    node: Any = Config
    parts = path.split(".")
    if len(parts) > 1 and parts[0] in sections:
        node, parts = section_type(sections, parts[0]), parts[1:]
    for depth, part in enumerate(parts):
        hints = typing.get_type_hints(node) if dataclasses.is_dataclass(node) else {}
        if part not in hints or part in _LOADER_FIELDS:
            known = ", ".join(sorted(k for k in hints if k not in _LOADER_FIELDS))
            where = ".".join(path.split(".")[: len(path.split(".")) - len(parts) + depth]) or "top level"
            hint = _moved_key_hint(path, sections) if depth else ""
            raise ConfigError(f"--set {path}: unknown key '{part}' in {where}{hint}; known: {known}")
        node = hints[part]
    if dataclasses.is_dataclass(node):
        raise ConfigError(f"--set {path}: '{path}' is a section; set one of its keys")
    return node


def parse_override(text: str, sections: FamilySections = NO_FAMILY_SECTIONS) -> dict[str, Any]:
    """Turn ``a.b=value`` into ``{"a": {"b": value}}`` with value typed by the field.

    Values are read as TOML literals (``10``, ``1e-4``, ``true``, ``"text"``); a bare word
    is accepted for string fields so ``--set data.name=mnist`` works without quotes.
    """
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. train.steps=200")
    path, raw = (part.strip() for part in text.split("=", 1))
    expected = _field_type(path, sections)
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
    """Resolve a pipeline to a file: a name (``fashion_mnist_dcgan``) is a shipped pipeline;
    a path (it has a folder part or a suffix) is the user's file. A ``pipelines/`` folder in
    the working directory never stands in for a shipped pipeline: give its files as paths."""
    candidate = Path(name_or_path)
    is_path = candidate.suffix != "" or len(candidate.parts) > 1
    if not is_path:
        for suffix in (".toml", ".json"):
            path = PIPELINES_DIR / f"{name_or_path}{suffix}"
            if path.is_file():
                return path
        if candidate.is_dir():
            raise ConfigError(f"--pipeline {name_or_path}: a folder, not a pipeline file; give a .toml or .json file or a pipeline name")
        raise ConfigError(
            f"pipeline {name_or_path!r} is not a shipped pipeline (a file of yours is given as a path, e.g. "
            f"./{name_or_path}.toml); available: {', '.join(available_pipelines())}"
        )
    if candidate.is_dir():
        raise ConfigError(f"--pipeline {name_or_path}: a folder, not a pipeline file; give a .toml or .json file or a pipeline name")
    if not candidate.is_file():
        raise ConfigError(f"--pipeline {name_or_path}: no such file; available pipeline names: {', '.join(available_pipelines())}")
    if candidate.suffix not in (".toml", ".json"):
        raise ConfigError(
            f"--pipeline {name_or_path}: a pipeline file is .toml or .json (got {candidate.suffix or 'no suffix'}); "
            "rename it or give a pipeline name"
        )
    return candidate


def available_pipelines() -> list[str]:
    return sorted(p.stem for p in PIPELINES_DIR.glob("*.toml"))


def read_config(name_or_path: str, overrides: Sequence[str], sections: FamilySections) -> Config:
    """Defaults <- pipeline file <- ``--set`` overrides, each step checked, with the family's
    own section from ``sections``. The checks that need the family's code (the switches it
    honours, its own ``validate``) are the registry's: ``gans.registry.load_config`` is this
    and those."""
    path = find_pipeline(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
        values = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset {error.start}); save it as UTF-8"
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error}); check its permissions") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a pipeline is a table of sections, got {type(values).__name__}")
    config = Config()
    # A run's saved config.json names the pipeline file it was resolved from: keep that.
    origin = values.pop("pipeline", "") or str(path)
    # Family sections are merged once the family is known (a --set may change it).
    family_values: list[tuple[str, dict, str]] = []

    def merge(values: dict, where: str) -> None:
        for name in [key for key in values if key in sections]:
            section = values.pop(name)
            if not isinstance(section, dict):
                raise ConfigError(f"{where}: '{name}' is a section (the settings of model.family '{name}'), got {section!r}")
            family_values.append((name, section, where))
        merge_values(config, values, "", where, sections)

    merge(values, str(path))
    for text in overrides:
        merge(parse_override(text, sections), f"--set {text}")
    family = config.model.family
    with_family_settings(config, sections)
    for name, section, where in family_values:
        if name != family and section:
            raise ConfigError(
                f"{where}: [{name}] holds the settings of model.family {name!r}, but this pipeline trains "
                f"model.family {family!r}; remove the section or change model.family"
            )
        if name == family:
            merge_values(config.family_settings, section, f"{name}.", where, sections)
    config.pipeline = origin
    validate(config)
    return config


def ema_decay_of(train: "TrainConfig") -> float:
    """The EMA decay per step: ``train.ema_decay``, or from ``train.ema_half_life_images``
    when that is set (0.5 ^ (batch_size / half-life): the weight of a step's update halves
    after that many real images, whatever the batch size)."""
    if train.ema_half_life_images > 0:
        return 0.5 ** (train.batch_size / train.ema_half_life_images)
    return train.ema_decay


_CHOICES = {
    "model.architecture": ("dcgan", "stylegan", "r3gan", "mlp"),
    "model.discriminator_norm": ("batch", "layer", "none"),
    "train.learning_rate_decay": ("none", "linear", "cosine", "annealed"),
    "train.precision": ("float32", "mixed_bfloat16", "mixed_float16", "auto"),
    "train.on_non_finite": ("stop", "rollback"),
    "loss.name": ("non_saturating", "minimax", "wasserstein", "least_squares", "hinge", "relativistic"),
    "data.on_bad_image": ("error", "skip"),
    "data.vendor": ("google", "twitter"),
    "data.emoji_labels": ("category", "subcategory"),
    "export.checkpoint": ("latest", "best"),
    "evaluation.metric": (
        "", "fid", "kid", "precision", "recall", "classifier_score", "modes_covered",
        "high_quality", "reverse_kl", "ks_statistic", "wasserstein_1",
    ),
    "optimizer.generator.name": ("adam", "rmsprop", "sgd"),
    "optimizer.discriminator.name": ("adam", "rmsprop", "sgd"),
}

EXPORT_FORMATS = ("savedmodel", "onnx", "web")


def export_formats(text: str) -> tuple[str, ...]:
    """``"savedmodel, onnx"`` -> ("savedmodel", "onnx"); unknown names are left for the caller to refuse."""
    return tuple(part.strip() for part in text.split(","))

_POSITIVE = (
    "train.batch_size", "train.discriminator_steps", "train.log_every",
    "train.checkpoint_every", "train.keep_checkpoints", "sampling.every",
    "sampling.num_samples", "model.latent_dim", "model.packing",
    "data.sequence_length", "data.sequence_features", "data.audio_samples", "data.audio_rate", "data.text_length",
    "data.video_frames", "data.video_size", "data.video_item", "data.video_items", "data.video_clips",
    "train.steps_per_execution",
    "train.non_finite_check_every", "train.ada_images", "train.ada_interval", "loss.penalty_every",
)
_NOT_NEGATIVE = (
    "loss.r1_weight", "loss.r2_weight", "loss.feature_matching_weight", "train.unrolled_steps",
    "loss.gradient_penalty_weight", "loss.weight_clip", "train.max_rollbacks",
    "train.freeze_discriminator_layers", "train.discriminator_wins_warning_steps",
)


def _get(config: Config, path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _non_finite_fields(section: Any, prefix: str = "") -> list[str]:
    """The float fields holding NaN or Inf, nested sections included (every range check
    below is a comparison, and NaN passes them all)."""
    found = []
    for field in dataclasses.fields(section):
        value = getattr(section, field.name)
        if field.name == "family_settings":
            continue  # named by the family: checked on its own below
        if dataclasses.is_dataclass(value):
            found += _non_finite_fields(value, f"{prefix}{field.name}.")
        elif isinstance(value, float) and not math.isfinite(value):
            found.append(f"{prefix}{field.name} = {value}")
    return found


def validate(config: Config) -> None:
    """Checks that need more than a type: choices and ranges."""
    non_finite = _non_finite_fields(config)
    if dataclasses.is_dataclass(config.family_settings):
        non_finite += _non_finite_fields(config.family_settings, f"{config.model.family}.")
    if non_finite:
        raise ConfigError(f"{', '.join(non_finite)}: a setting must be a finite number")
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
    if config.export.standing_statistics < 0:
        raise ConfigError(f"export.standing_statistics must be >= 0 (batches; 0 = off), got {config.export.standing_statistics}")
    if config.export.onnx_opset < 17:
        raise ConfigError(f"export.onnx_opset must be >= 17, got {config.export.onnx_opset}")
    if config.data.channels not in (0, 1, 3):
        raise ConfigError(f"data.channels must be 0 (keep), 1 or 3, got {config.data.channels}")
    for path in _NOT_NEGATIVE:
        if _get(config, path) < 0:
            raise ConfigError(f"{path} must be >= 0, got {_get(config, path)}")
    if not 0.0 <= config.train.ema_decay < 1.0:
        raise ConfigError(f"train.ema_decay must be in [0, 1), got {config.train.ema_decay}")
    if not 0.0 <= config.train.decay_final_fraction <= 1.0:
        raise ConfigError(f"train.decay_final_fraction must be in [0, 1], got {config.train.decay_final_fraction}")
    if config.train.ema_half_life_images < 0:
        raise ConfigError(f"train.ema_half_life_images must be >= 0 (0 = use train.ema_decay), got {config.train.ema_half_life_images}")
    if not 0.0 <= config.train.decay_start < 1.0:
        raise ConfigError(f"train.decay_start must be in [0, 1), got {config.train.decay_start}")
    if not 0.0 <= config.train.beta_2_final < 1.0:
        raise ConfigError(f"train.beta_2_final must be in [0, 1) (0 = beta_2 constant), got {config.train.beta_2_final}")
    penalties = config.loss.r1_weight or config.loss.r2_weight or config.loss.gradient_penalty_weight
    if config.loss.penalty_every > 1 and not penalties:
        raise ConfigError(
            f"loss.penalty_every = {config.loss.penalty_every} schedules gradient penalties, but none is on: "
            "set loss.r1_weight, loss.r2_weight or loss.gradient_penalty_weight, or leave penalty_every at 1"
        )
    if not 0.0 <= config.train.penalty_final_fraction <= 1.0:
        raise ConfigError(f"train.penalty_final_fraction must be in [0, 1] (1 = constant), got {config.train.penalty_final_fraction}")
    scheduled = [name for name, on in (("train.beta_2_final", config.train.beta_2_final != 0.0),
                                       ("train.penalty_final_fraction", config.train.penalty_final_fraction != 1.0)) if on]
    if scheduled and config.train.learning_rate_decay not in ("linear", "cosine"):
        raise ConfigError(
            f"{' and '.join(scheduled)} follow the learning-rate schedule: set train.learning_rate_decay = "
            f"'cosine' or 'linear' (it is {config.train.learning_rate_decay!r})"
        )
    if config.train.beta_2_final and "adam" not in (config.optimizer.generator.name, config.optimizer.discriminator.name):
        raise ConfigError("train.beta_2_final schedules Adam's beta_2; neither optimizer is adam")
    try:
        parse_augmentations(config.train.augment)
    except ValueError as error:
        raise ConfigError(f"train.augment = {config.train.augment!r}: {error}") from None
    if not 0.0 <= config.train.ada_target < 1.0:
        raise ConfigError(f"train.ada_target must be in [0, 1) (0 = off; the paper uses 0.6), got {config.train.ada_target}")
    if config.train.ada_target and not config.train.augment:
        raise ConfigError("train.ada_target gates the augmentations: set train.augment too (e.g. color,translation,cutout)")
    if not 0.0 < config.train.rollback_factor < 1.0:
        raise ConfigError(f"train.rollback_factor must be in (0, 1), got {config.train.rollback_factor}")
    if config.train.on_non_finite == "rollback" and config.train.learning_rate_decay != "none":
        raise ConfigError(
            "train.on_non_finite = 'rollback' lowers constant learning rates; it does not combine with "
            f"train.learning_rate_decay = {config.train.learning_rate_decay!r}"
        )
    for which in ("generator", "discriminator"):
        optimizer = getattr(config.optimizer, which)
        if optimizer.learning_rate <= 0:
            raise ConfigError(f"optimizer.{which}.learning_rate must be > 0, got {optimizer.learning_rate}")
    train, model = config.train, config.model
    if train.batch_size % model.packing:
        raise ConfigError(f"train.batch_size {train.batch_size} is not a multiple of model.packing {model.packing}")
    if train.reuse_fakes and train.discriminator_steps != 1:
        raise ConfigError("train.reuse_fakes needs train.discriminator_steps = 1")
    if not 0.0 < train.top_k_min_fraction <= 1.0:
        raise ConfigError(f"train.top_k_min_fraction must be in (0, 1] (1 = off; the paper's 0.5), got {train.top_k_min_fraction}")
    if not 0.0 < train.top_k_decay <= 1.0:
        raise ConfigError(f"train.top_k_decay must be in (0, 1] per epoch (the paper's 0.99), got {train.top_k_decay}")
    if dataclasses.is_dataclass(config.family_settings):
        validate_section(config.family_settings, f"{config.model.family}.")


def validate_section(section: Any, prefix: str) -> None:
    """The ranges and choices a family section declares in its fields' metadata
    (``{"min": 0}``, ``{"choices": (...)}``), nested sections included."""
    for field in dataclasses.fields(section):
        value, path = getattr(section, field.name), f"{prefix}{field.name}"
        if dataclasses.is_dataclass(value):
            validate_section(value, f"{path}.")
            continue
        if "choices" in field.metadata and value not in field.metadata["choices"]:
            raise ConfigError(f"{path} = {value!r}; choose one of {list(field.metadata['choices'])}")
        if "min" in field.metadata and value < field.metadata["min"]:
            raise ConfigError(f"{path} must be >= {field.metadata['min']}, got {value}")


AUGMENTATIONS = ("color", "translation", "cutout")


def parse_augmentations(text: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"); ValueError naming an unknown one."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation(s) {unknown}; choose from {list(AUGMENTATIONS)}")
    return names


def save_config(config: Config, path: Path) -> None:
    path.write_text(json.dumps(config.to_dict(), indent=2) + "\n")
