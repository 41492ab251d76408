"""The kinds of input an exported network takes, each with its dtype, how to sample it, how
to check a value a user chose, and (for the kinds that come from files) how to read it.

A family declares the kind of each of its exported inputs (``AdversarialModel.input_kinds``:
``{"z": Noise(), "label": Label(classes=10)}``); the exporter writes the kind and its facts
into ``export.json`` beside the input's name, dtype and shape, and every consumer goes through
the kind: the exporter's parity inputs, ``generate`` (noise, ``--label``, ``--truncation``,
``--text``, ``--input`` files), ``evaluate`` (what each sample was conditioned on) and the
input contract (class ranges, intervals). A family with a new kind of input defines a subclass
in its own module and registers it with ``@input_kind``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class InputError(ValueError):
    """A value chosen for an input, or a file read for one, does not fit it; the message says
    which and what to do."""


@dataclasses.dataclass(frozen=True)
class InputKind:
    """One kind of exported input. The dataclass fields are the facts a caller needs to fill
    it (written to the manifest); the class attributes say how ``generate`` sets it."""

    kind: ClassVar[str]
    dtype: ClassVar[str] = "float32"
    option: ClassVar[str] = ""  # the generate option that sets it ("--label"); "" = always sampled
    required: ClassVar[bool] = False  # generate needs the option (a text-to-image prompt)
    from_files: ClassVar[bool] = False  # read from generate's --input files, not sampled
    files_hint: ClassVar[str] = ""  # what those files are, for a message

    def facts(self) -> dict[str, Any]:
        """The manifest's facts of this input (beyond name, dtype, shape), ``kind`` first."""
        return {"kind": self.kind, **{key: list(value) if isinstance(value, tuple) else value
                                      for key, value in dataclasses.asdict(self).items()}}

    def sample(self, shape: tuple[int, ...], count: int, rng: np.random.Generator, chosen: Any = None) -> np.ndarray:
        """``count`` values of ``shape`` (without the batch axis): the chosen one (see
        ``choose``) for every row, or drawn from ``rng``."""
        return rng.standard_normal((count, *shape)).astype(self.dtype)

    def choose(self, text: Any, model: str) -> Any:
        """A user's value for this input (from ``option``), checked; InputError otherwise."""
        raise InputError(f"{model}'s {self.kind} input is not set by an option")

    def check(self) -> dict[str, Any]:
        """The input contract's range facts ({"classes": n} or {"interval": "(0, 1]"})."""
        return {}

    def condition(self, values: np.ndarray) -> tuple[str, np.ndarray] | None:
        """(what a sample was conditioned on, per sample) for evaluate's conditioning metrics."""
        return None

    def read(self, source: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, list[Path]]:
        """(values [n, *shape], the files read) from a file or folder (``from_files`` kinds)."""
        raise InputError(f"a {self.kind} input is not read from files")

    def picture(self, values: np.ndarray, channels: int) -> np.ndarray:
        """Values read from files as images in [-1, 1], shown beside the outputs."""
        return values

    def columns(self, count: int, chosen: Any = None) -> int | None:
        """Grid columns that ``sample`` lays out (one row per class), or None: no layout."""
        return None

    def named(self, class_names: tuple[str, ...]) -> InputKind:
        """This kind with the data's class names, where it takes classes and has no names."""
        return self


KINDS: dict[str, type[InputKind]] = {}


def input_kind(cls: type[InputKind]) -> type[InputKind]:
    """Register a kind under ``cls.kind`` (a class decorator), so manifests can name it."""
    if cls.kind in KINDS and KINDS[cls.kind] is not cls:
        raise ValueError(f"input kind {cls.kind!r} is registered twice ({KINDS[cls.kind].__module__}, {cls.__module__})")
    KINDS[cls.kind] = cls
    return cls


@input_kind
@dataclasses.dataclass(frozen=True)
class Noise(InputKind):
    """Standard normal noise, the latent input of a generator."""

    kind: ClassVar[str] = "noise"


@input_kind
@dataclasses.dataclass(frozen=True)
class Label(InputKind):
    """A class index, int32 [batch]. Unchosen: every class in turn, in blocks, so a grid
    shows one row per class."""

    kind: ClassVar[str] = "label"
    dtype: ClassVar[str] = "int32"
    option: ClassVar[str] = "--label"
    classes: int = 0
    class_names: tuple[str, ...] = ()

    def sample(self, shape, count, rng, chosen=None):
        if chosen is not None:
            return np.full(count, chosen, np.int32)
        return np.repeat(np.arange(self.classes), self.columns(count))[:count].astype(np.int32)

    def columns(self, count, chosen=None):
        return math.ceil(count / self.classes) if chosen is None else None

    def choose(self, text, model):
        """An index, or a class name (case-insensitive, e.g. "Animals & Nature")."""
        listing = ", ".join(f"{i}={n}" for i, n in enumerate(self.class_names)) or f"0..{self.classes - 1}"
        text = str(text).strip()
        if text.lstrip("-").isdigit():
            index = int(text)
            if not 0 <= index < self.classes:
                raise InputError(f"--label {index} is outside the {self.classes} classes of {model} ({listing})")
            return index
        folded = [name.casefold() for name in self.class_names]
        if text.casefold() in folded:
            return folded.index(text.casefold())
        raise InputError(f"--label {text!r} is not a class of {model}; use an index or a name ({listing})")

    def check(self):
        return {"classes": int(self.classes)} if self.classes else {}

    def condition(self, values):
        return "label", np.asarray(values)

    def named(self, class_names):
        if self.class_names or len(class_names) != self.classes:
            return self
        return dataclasses.replace(self, class_names=tuple(class_names))


@input_kind
@dataclasses.dataclass(frozen=True)
class Code(InputKind):
    """InfoGAN's code, float32 [batch, C + K]: a one-hot categorical code then continuous
    codes in [-1, 1] (Chen et al. 2016)."""

    kind: ClassVar[str] = "code"
    categorical: int = 0

    def sample(self, shape, count, rng, chosen=None):
        code = rng.uniform(-1.0, 1.0, (count, *shape)).astype(np.float32)
        code[:, : self.categorical] = np.eye(self.categorical, dtype=np.float32)[rng.integers(0, self.categorical, count)]
        return code

    def condition(self, values):
        return "category", np.argmax(np.asarray(values)[:, : self.categorical], axis=1)


@input_kind
@dataclasses.dataclass(frozen=True)
class Truncation(InputKind):
    """The truncation trick's strength, float32 [batch, 1] in (0, 1]: 1 is the generator as
    trained, smaller trades variety for fidelity (Brock et al. 2019; Karras et al. 2019)."""

    kind: ClassVar[str] = "truncation"
    option: ClassVar[str] = "--truncation"
    default: float = 1.0

    def sample(self, shape, count, rng, chosen=None):
        return np.full((count, *shape), self.default if chosen is None else chosen, np.float32)

    def choose(self, text, model):
        value = float(text)
        if not 0.0 < value <= 1.0:
            raise InputError(f"--truncation {value}: use a value in (0, 1] (1 = the generator as trained)")
        return value

    def check(self):
        return {"interval": "(0, 1]"}


@input_kind
@dataclasses.dataclass(frozen=True)
class Text(InputKind):
    """A prompt, string [batch], tokenised inside the SavedModel. ``examples`` are texts the
    model was trained on (parity checks sample them)."""

    kind: ClassVar[str] = "text"
    dtype: ClassVar[str] = "string"
    option: ClassVar[str] = "--text"
    required: ClassVar[bool] = True
    examples: tuple[str, ...] = ()

    def sample(self, shape, count, rng, chosen=None):
        if chosen is not None:
            return np.array([chosen] * count)
        return np.array([self.examples[i] for i in rng.integers(0, len(self.examples), count)])

    def choose(self, text, model):
        if not str(text).strip():
            raise InputError("--text is empty: give the words of the image to draw (e.g. --text \"red apple\")")
        return str(text)


@input_kind
@dataclasses.dataclass(frozen=True)
class Image(InputKind):
    """An image, float32 [batch, H, W, C] in [-1, 1]: the input of translators, super-resolution,
    inpainting and the image classifiers and scorers. Read from image files (resized to fit)."""

    kind: ClassVar[str] = "image"
    option: ClassVar[str] = "--input"
    from_files: ClassVar[bool] = True
    files_hint: ClassVar[str] = "an image file or a folder of them"

    def sample(self, shape, count, rng, chosen=None):
        return rng.uniform(-1.0, 1.0, (count, *shape)).astype(np.float32)

    def read(self, source, shape):
        from tfgan_app.data.folder import folder_files, load_images

        height, _, channels = shape
        files = [source] if source.is_file() else folder_files(source, height, channels)
        pixels, files, _ = load_images(files, height, channels, on_bad_image="skip")
        if not files:
            raise InputError(f"no readable images in {source}")
        return pixels.astype(np.float32) / 127.5 - 1.0, files


@input_kind
@dataclasses.dataclass(frozen=True)
class Mask(InputKind):
    """Inpainting's hole, float32 [batch, H, W, 1], 1 = missing; it goes with an image whose
    hole is already cut (set to 0). Sampled as a square hole of ``fraction`` of the side at a
    random position, Pathak et al.'s random-block masks that the family trains on."""

    kind: ClassVar[str] = "mask"
    option: ClassVar[str] = "--input"
    from_files: ClassVar[bool] = True
    files_hint: ClassVar[str] = "masks (1 = missing)"
    fraction: float = 0.5

    def sample(self, shape, count, rng, chosen=None):
        height, width = shape[0], shape[1]
        hole = max(1, round(self.fraction * min(height, width)))
        mask = np.zeros((count, *shape), np.float32)
        for row, (top, left) in enumerate(rng.integers(0, [height - hole + 1, width - hole + 1], (count, 2))):
            mask[row, top : top + hole, left : left + hole] = 1.0
        return mask


@input_kind
@dataclasses.dataclass(frozen=True)
class LabelMap(InputKind):
    """A label map, int32 [batch, H, W] of class ids (SPADE's input). Read from single-channel
    images whose pixel values are the ids; never resized (interpolated ids are other classes)."""

    kind: ClassVar[str] = "label_map"
    dtype: ClassVar[str] = "int32"
    option: ClassVar[str] = "--input"
    from_files: ClassVar[bool] = True
    files_hint: ClassVar[str] = "label maps: PNG files of class ids, or a folder of them"
    classes: int = 0
    class_names: tuple[str, ...] = ()

    def sample(self, shape, count, rng, chosen=None):
        return rng.integers(0, self.classes, (count, *shape)).astype(np.int32)

    def check(self):
        return {"classes": int(self.classes)} if self.classes else {}

    def read(self, source, shape):
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError

        height, width = shape
        files = [source] if source.is_file() else sorted(
            path for path in source.rglob("*") if path.suffix.lower() in (".png", ".bmp", ".gif", ".tif", ".tiff")
        )
        if not files:
            raise InputError(f"no label maps (.png) in {source}")
        maps = []
        for path in files:
            try:
                with PILImage.open(path) as image:
                    if image.mode not in ("L", "P", "I", "I;16"):
                        raise InputError(f"{path}: a label map is a single-channel image of class ids, got mode {image.mode}")
                    values = np.asarray(image).astype(np.int64)
            except (OSError, UnidentifiedImageError) as error:
                raise InputError(f"{path}: not a readable image ({error})") from None
            if values.shape != (height, width):
                raise InputError(f"{path}: a {values.shape[0]}x{values.shape[1]} map; the model takes {height}x{width} "
                                 "(maps are not resized)")
            if values.max() >= self.classes:
                listing = ", ".join(f"{i}={n}" for i, n in enumerate(self.class_names)) or f"0..{self.classes - 1}"
                raise InputError(f"{path}: class id {values.max()} is outside the {self.classes} classes ({listing})")
            maps.append(values.astype(np.int32))
        return np.stack(maps), files

    def picture(self, values, channels):
        from tfgan_app.data.tasks import map_as_image

        return np.asarray(map_as_image(values, self.classes, channels))


# Manifests written without a kind per input name them by their role.
_KIND_OF_NAME = {"label": "label", "code": "code", "truncation": "truncation", "text": "text", "image": "image",
                 "mask": "mask", "segmentation": "label_map"}


def kind_of(entry: dict) -> InputKind:
    """The kind of a manifest's input entry, with its facts."""
    name = entry.get("kind") or _KIND_OF_NAME.get(entry["name"], "noise")
    if name not in KINDS:
        raise InputError(f"input {entry['name']!r} is of kind {name!r}, which this installation does not know "
                         f"(known: {', '.join(sorted(KINDS))}); install the package that defines it")
    cls = KINDS[name]
    facts = {field.name: entry[field.name] for field in dataclasses.fields(cls) if field.name in entry}
    return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in facts.items()})


def describe(name: str, dtype: str, shape: list[int], kind: InputKind) -> dict[str, Any]:
    """A manifest's entry for one input: name, dtype, shape without the batch axis, kind, facts."""
    return {"name": name, "dtype": dtype, "shape": [int(d) for d in shape], **kind.facts()}


def sample_inputs(entries: list[dict], count: int, rng: np.random.Generator,
                  chosen: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Values for ``count`` samples of every input a manifest lists; ``chosen`` holds the
    values a user chose, by kind (``{"label": 3}``)."""
    chosen = chosen or {}
    values = {}
    for entry in entries:
        kind = kind_of(entry)
        values[entry["name"]] = kind.sample(tuple(entry["shape"]), count, rng, chosen.get(kind.kind))
    return values
