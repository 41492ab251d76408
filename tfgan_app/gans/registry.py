"""The family registry: ``model.family`` -> the module that declares everything about it.

A family module in ``tfgan_app/gans/`` ends with ``FAMILIES = (Family(...), ...)``: its
name, its own config section (a dataclass; ``[name]`` in a pipeline file), the data it
needs, the typed batch its ``train_step`` takes, how its networks and model are built, and
the checks that span sections. The config loader, ``build_model``, ``load_source`` and the
exporter look a family up here and never branch on its name, so adding a family is adding
one module (see ``template.py`` and the README's "Adding a family").

The registry imports every module of this package once, on first use, the way
pytorch-CycleGAN-and-pix2pix finds ``<name>_model.py`` by name: nothing lists the families.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

if TYPE_CHECKING:
    import keras

    from tfgan_app.config import Config
    from tfgan_app.data.sources import Source


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


@dataclasses.dataclass(frozen=True)
class DataNeeds:
    """What a family trains on; ``data.sources.load_source`` provides and checks it."""

    # (data config, family settings) -> Source; None: one set of examples (``load_single``).
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


_FAMILIES: dict[str, Family] = {}


def families() -> dict[str, Family]:
    """Every family declared by a module of ``tfgan_app.gans``, by name."""
    if not _FAMILIES:
        import tfgan_app.gans as package

        found: dict[str, Family] = {}
        for module_info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{module_info.name}")
            for family in getattr(module, "FAMILIES", ()):
                if family.name in found:
                    raise RuntimeError(f"family {family.name!r} is declared twice (in {module.__name__})")
                found[family.name] = family
        _FAMILIES.update(found)
    return _FAMILIES


def get_family(name: str) -> Family:
    """The family called ``name``; KeyError listing the known ones otherwise."""
    known = families()
    if name not in known:
        raise KeyError(f"model.family = {name!r}; choose one of {sorted(known)}")
    return known[name]
