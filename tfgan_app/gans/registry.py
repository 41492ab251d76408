"""The family registry: ``model.family`` -> the module that declares everything about it,
and the two things that need a family below the model: a pipeline's config (``load_config``)
and its data (``family_source``).

A family module ends with ``FAMILIES = (Family(...), ...)``: its name, its own config
section (a dataclass; ``[name]`` in a pipeline file), the data it needs, the typed batch its
``train_step`` takes, how its networks and model are built, and the checks that span
sections. The config loader, ``build_model``, ``family_source`` and the exporter look a
family up here and never branch on its name, so adding a family is one module and its line
in ``BUILT_IN`` (see ``template.py`` and docs/adding-a-family.md), or, outside this package,
a plugin that names its module under the ``tfgan_app.families`` entry points.

A family is imported when it is named, alone, the way pytorch-CycleGAN-and-pix2pix imports
``<name>_model.py``: a module that fails to import breaks only its own families.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Sequence

from tfgan_app.config import (
    DEFAULT_PIPELINE, Config, ConfigError, FamilySections, read_config, with_family_settings,
)
from tfgan_app.data.sources import DataError, Source, load_source

if TYPE_CHECKING:
    import keras


@dataclasses.dataclass
class NoSettings:
    """The config section of a family with no fields of its own."""


# Shared switches a family may honour. Each is refused, naming the key, for a family that
# does not list it in ``Family.switches`` (a value of 0 / "" / false is "off").
SWITCHES: dict[str, Callable[["Config"], Any]] = {
    "train.ema_decay": lambda config: config.train.ema_decay,
    "train.augment": lambda config: config.train.augment,
    "train.ada_target": lambda config: config.train.ada_target,
    "train.freeze_discriminator_layers": lambda config: config.train.freeze_discriminator_layers,
    "train.unrolled_steps": lambda config: config.train.unrolled_steps,
    "train.progressive_steps": lambda config: config.train.progressive_steps,
    "model.packing": lambda config: config.model.packing > 1,
    "train.reuse_fakes": lambda config: config.train.reuse_fakes,
    "train.top_k_min_fraction": lambda config: config.train.top_k_min_fraction < 1.0,
    "train.joint_discriminator_pass": lambda config: config.train.joint_discriminator_pass,
    "evaluation.every": lambda config: config.evaluation.every,
    "export.standing_statistics": lambda config: config.export.standing_statistics,
    "loss.feature_matching_weight": lambda config: config.loss.feature_matching_weight,
    "loss.r1_weight": lambda config: config.loss.r1_weight,
    "loss.r2_weight": lambda config: config.loss.r2_weight,
    "loss.gradient_penalty_weight": lambda config: config.loss.gradient_penalty_weight,
    "loss.penalty_every": lambda config: config.loss.penalty_every > 1,
}
NOISE_TO_IMAGE_SWITCHES = frozenset(SWITCHES)
# What families of sound and text do not take: image augmentations, packing, progressive
# growing, unrolling (the mlp networks' only) and the image metrics during training.
NOT_IMAGE_SWITCHES = NOISE_TO_IMAGE_SWITCHES - {
    "train.augment", "train.ada_target", "model.packing", "train.progressive_steps", "train.unrolled_steps",
    "evaluation.every",
}


@dataclasses.dataclass(frozen=True)
class DataNeeds:
    """What a family trains on; ``data.sources.load_source`` provides and checks it."""

    # (data config, family settings) -> Source; None: one set of examples (``load_source``).
    load: Callable[[Any, Any], "Source"] | None = None
    labels: bool = False  # labelled data with at least 2 classes
    images: bool = False  # images, not vectors drawn from a toy distribution
    sequences: bool = False  # trains on the sequence sources (data.name "sines" or "csv")
    # (source, config) -> source: the family's own change to the loaded data (inputs derived
    # per batch, a class left out, labels dropped). Runs after the checks above.
    prepare: Callable[["Source", "Config"], "Source"] | None = None


class BuildContext(NamedTuple):
    """Everything ``Family.build`` may use; the optimizers come made from the config."""

    config: "Config"
    settings: Any  # the family's own section, ``config.family_settings``
    element_shape: tuple[int, ...]
    num_classes: int
    replicas: int
    total_steps: int
    generator_optimizer: "keras.optimizers.Optimizer"
    discriminator_optimizer: "keras.optimizers.Optimizer"
    class_names: tuple[str, ...] = ()  # the data's class names (text-to-image: its texts)
    steps_per_epoch: int = 0  # generator steps per pass over the data; 0: unknown (export, endless samplers)


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    summary: str  # one line, for listings and errors
    # BuildContext -> the compiled family model (a ``gans.base.AdversarialModel``).
    build: Callable[[BuildContext], "keras.Model"]
    settings: type = NoSettings  # the dataclass of the ``[name]`` section
    data: DataNeeds = DataNeeds()
    # The shared switches (keys of ``SWITCHES``) this family honours.
    switches: frozenset[str] = frozenset()
    # Config -> None, raising ConfigError: checks that span the family's and shared sections.
    validate: Callable[["Config"], None] | None = None


# The package's own families: name -> the module that declares it. A family is looked up by
# name and imports its module alone (``tests/test_plugins.py`` holds this list to the modules'
# ``FAMILIES``). Installed plugins add theirs through the ``tfgan_app.families`` entry-point
# group (``name = "package.module"``, see docs/adding-a-family.md).
BUILT_IN: dict[str, str] = {
    "gan": "tfgan_app.gans.gan",
    "cgan": "tfgan_app.gans.conditional",
    "acgan": "tfgan_app.gans.acgan",
    "biggan": "tfgan_app.gans.biggan",
    "infogan": "tfgan_app.gans.infogan",
    "ssgan": "tfgan_app.gans.semi_supervised",
    "pix2pix": "tfgan_app.gans.pix2pix",
    "cyclegan": "tfgan_app.gans.cyclegan",
    "spade": "tfgan_app.gans.spade",
    "srgan": "tfgan_app.gans.restoration",
    "inpainting": "tfgan_app.gans.restoration",
    "dann": "tfgan_app.gans.domain_adaptation",
    "adda": "tfgan_app.gans.domain_adaptation",
    "anomaly": "tfgan_app.gans.anomaly",
    "sequence": "tfgan_app.gans.sequence",
    "text2image": "tfgan_app.gans.text2image",
    "wavegan": "tfgan_app.gans.audio",
    "gansynth": "tfgan_app.gans.audio",
    "text": "tfgan_app.gans.text",
    "char_lm": "tfgan_app.gans.text",
    "mocogan": "tfgan_app.gans.video",
    "video": "tfgan_app.gans.video",
    "template": "tfgan_app.gans.template",
}
ENTRY_POINT_GROUP = "tfgan_app.families"


class FamilyError(KeyError):
    """A family name that nothing declares, or whose module does not import."""

    def __str__(self) -> str:
        return str(self.args[0])


@functools.cache  # the installed distributions are read once per process
def family_modules() -> dict[str, str]:
    """Every known family's name -> its module: the built-in ones, then the plugins'
    (a plugin may not take a built-in name)."""
    from importlib.metadata import entry_points

    found = dict(BUILT_IN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.value)
    return found


_LOADED: dict[str, Family] = {}


def get_family(name: str) -> Family:
    """The family called ``name``, importing its module alone; FamilyError naming the known
    ones, or the module's own error when it does not import."""
    if name in _LOADED:
        return _LOADED[name]
    modules = family_modules()
    if name not in modules:
        raise FamilyError(f"model.family = {name!r}; choose one of {sorted(modules)}")
    try:
        module = importlib.import_module(modules[name])
    except Exception as error:  # a plugin's bug must not read as ours: name its module
        raise FamilyError(f"model.family {name!r}: its module {modules[name]} does not import "
                          f"({type(error).__name__}: {error})") from error
    declared = {family.name: family for family in getattr(module, "FAMILIES", ())}
    if name not in declared:
        raise FamilyError(f"model.family {name!r}: its module {modules[name]} declares no such family in FAMILIES "
                          f"(it declares {sorted(declared) or 'none'})")
    _LOADED[name] = declared[name]
    return declared[name]


def families() -> dict[str, Family]:
    """Every family that imports, by name (listings and docs). A module that fails to import
    is left out with a warning naming it; the others are unaffected."""
    found = {}
    for name in family_modules():
        try:
            found[name] = get_family(name)
        except FamilyError as error:
            warnings.warn(str(error), stacklevel=2)
    return found


class _Sections(Mapping):
    """family name -> its settings dataclass, for ``config.read_config``: membership and
    iteration know the names only; looking one up imports that family's module."""

    def __getitem__(self, name: str) -> type:
        if name not in family_modules():
            raise KeyError(name)
        return get_family(name).settings

    def __iter__(self):
        return iter(family_modules())

    def __len__(self) -> int:
        return len(family_modules())

    def __contains__(self, name: object) -> bool:
        return name in family_modules()


FAMILY_SECTIONS: FamilySections = _Sections()


def family_settings(config: Config) -> Any:
    """The config's family section, made with its defaults when it is missing or belongs to
    another family (a Config built in code, or whose model.family was changed)."""
    return with_family_settings(config, FAMILY_SECTIONS)


def load_config(name_or_path: str = DEFAULT_PIPELINE, overrides: Sequence[str] = ()) -> Config:
    """A pipeline (a shipped name, or a path to a .toml file or a run's config.json) with
    ``--set`` overrides: defaults <- file <- overrides, every key and value checked, then the
    family's own checks (``validate_family``). ConfigError names the key and the file."""
    config = read_config(name_or_path, overrides, FAMILY_SECTIONS)
    validate_family(config)
    return config


def validate_family(config: Config) -> None:
    """The shared switches the family does not honour, the data kind it trains on, and its
    own checks (``Family.validate``)."""
    try:
        family = get_family(config.model.family)
    except FamilyError as error:
        raise ConfigError(str(error)) from None
    family_settings(config)
    used = [key for key, is_on in SWITCHES.items() if is_on(config) and key not in family.switches]
    if used:
        honoured = ", ".join(sorted(family.switches)) or "none of them"
        raise ConfigError(
            f"{', '.join(used)}: not available for model.family {family.name!r} (it honours {honoured}); "
            "switch them off with --set, or start from a pipeline of that family (tfgan train --help lists them)"
        )
    if family.data.sequences != (config.data.name in ("sines", "csv")):
        raise ConfigError(
            f"data.name {config.data.name!r} with model.family {family.name!r}: the sequence family trains on "
            "data.name 'sines' or 'csv', and those sources are sequences"
        )
    if family.validate is not None:
        family.validate(config)


def family_source(config: Config) -> Source:
    """The data a pipeline trains on: what its family declares it needs (``Family.data``: a
    loader, labels, images, the family's own preparation), checked."""
    family = get_family(config.model.family)
    settings = family_settings(config)
    needs = family.data
    source = needs.load(config.data, settings) if needs.load is not None else load_source(config.data)
    if needs.labels and (source.labels is None or len(source.class_names) < 2):
        raise DataError(
            f"model.family {family.name!r} needs labelled data with at least 2 classes; {source.description} "
            "has none (image folders get labels from class subfolders)"
        )
    if needs.images and source.images is None:
        raise DataError(f"model.family {family.name!r} needs images, not {source.description}")
    return needs.prepare(source, config) if needs.prepare is not None else source
