"""Where training data comes from: TFDS, IDX files, image folders, toy distributions.

Every source ends as a ``Source``: either finite arrays held in memory (images as uint8
NHWC, which makes shuffling a pure function of the seed and resuming exact) or a sampler
for an infinite toy distribution.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf

from tfgan_app.config import DataConfig
from tfgan_app.data.folder import load_image_folder
from tfgan_app.data.idx import find_idx_pair, read_idx
from tfgan_app.data.toy import TOY_DISTRIBUTIONS

log = logging.getLogger(__name__)

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# Datasets whose TFDS files are the same IDX files the Debian/Yann LeCun archives ship.
IDX_DATASETS = {"fashion_mnist": FASHION_MNIST_CLASSES, "mnist": [str(d) for d in range(10)]}
LOCAL_SOURCES = ("image_folder", *TOY_DISTRIBUTIONS)


class DataError(ValueError):
    """The configured data cannot be loaded; the message says what to do."""


@dataclasses.dataclass
class Source:
    description: str  # which source was used, for the log and the run directory
    element_shape: tuple[int, ...]
    images: np.ndarray | None = None  # uint8 [N, H, W, C] images or float32 [N, D] vectors
    labels: np.ndarray | None = None  # int32 [N]
    class_names: list[str] = dataclasses.field(default_factory=list)
    sampler: Callable[[tf.Tensor, int], tf.Tensor] | None = None  # (seed [2], count) -> data

    @property
    def num_examples(self) -> int | None:
        return None if self.images is None else len(self.images)


def _conform(images: np.ndarray, image_size: int, channels: int) -> np.ndarray:
    """Resize/convert source images when the config asks for another size or channel count."""
    if channels and images.shape[-1] != channels:
        if channels == 3:
            images = np.repeat(images, 3, axis=-1)
        else:  # ITU-R BT.601 luma, as PIL's "L" conversion uses
            luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            images = np.clip(np.rint(luma), 0, 255).astype(np.uint8)[..., None]
    if image_size and images.shape[1:3] != (image_size, image_size):
        resized = tf.image.resize(images, (image_size, image_size), antialias=True)
        images = np.clip(np.rint(resized.numpy()), 0, 255).astype(np.uint8)
    return images


def tfds_data_dir(config: DataConfig) -> Path:
    return Path(config.data_dir or os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


def tfds_prepared(name: str, data_dir: Path) -> bool:
    """Whether TFDS has ``name`` on disk, decided without touching the network.

    Constructing a TFDS builder for data that is not there asks Google Cloud Storage for
    its metadata; offline that costs minutes of DNS retries, so we look at the files.
    """
    return any((data_dir / name).glob("**/dataset_info.json"))


def _load_tfds(config: DataConfig, data_dir: Path) -> Source:
    import tensorflow_datasets as tfds

    data, info = tfds.load(
        config.name, split=config.split, data_dir=str(data_dir), batch_size=-1,
        download=config.allow_download, with_info=True,
    )
    data = tfds.as_numpy(data)
    image_key = "image" if "image" in data else next(
        (key for key, value in data.items() if getattr(value, "ndim", 0) == 4), None
    )
    if image_key is None:
        raise DataError(f"TFDS dataset {config.name!r} has no image feature (keys: {sorted(data)})")
    label_feature = info.features["label"] if "label" in data else None
    class_names = list(getattr(label_feature, "names", []) or [])
    images = _conform(data[image_key].astype(np.uint8), config.image_size, config.channels)
    labels = data["label"].astype(np.int32) if "label" in data else None
    return Source(
        f"TFDS {config.name} split {config.split!r} from {data_dir}",
        tuple(images.shape[1:]), images, labels, class_names,
    )


def _load_idx(config: DataConfig, files: tuple[Path, Path]) -> Source:
    images, labels = (read_idx(path) for path in files)
    if images.ndim != 3 or len(images) != len(labels):
        raise DataError(f"{files[0]}: expected [N, H, W] images matching {files[1]}")
    images = _conform(images[..., None].astype(np.uint8), config.image_size, config.channels)
    return Source(
        f"IDX files {files[0]} and {files[1]}", tuple(images.shape[1:]), images,
        labels.astype(np.int32), IDX_DATASETS[config.name],
    )


def _known_tfds_names() -> list[str]:
    import tensorflow_datasets as tfds

    return tfds.list_builders(with_community_datasets=False)


def load_source(config: DataConfig) -> Source:
    """Load the data a config names, preferring what is already on this machine.

    Order for TFDS names: a prepared TFDS copy in ``data_dir``; for fashion_mnist / mnist,
    IDX files in ``idx_dir``; a TFDS download only when ``allow_download`` is true.
    """
    name = config.name
    if name in TOY_DISTRIBUTIONS:
        toy = TOY_DISTRIBUTIONS[name]
        return Source(f"toy distribution {name}", (toy.dim,), sampler=toy.sample)
    if name == "image_folder":
        images, labels, classes, _ = load_image_folder(
            config.folder, config.image_size, config.channels or 3, config.on_bad_image, config.limit
        )
        return Source(f"image folder {config.folder}", tuple(images.shape[1:]), images, labels, classes)

    data_dir = tfds_data_dir(config)
    if tfds_prepared(name, data_dir):
        source = _load_tfds(config, data_dir)
    elif name in IDX_DATASETS and (files := find_idx_pair(config.idx_dir, config.split)):
        log.info("TFDS has not prepared %s in %s; reading IDX files from %s", name, data_dir, config.idx_dir)
        source = _load_idx(config, files)
    elif config.allow_download and name in _known_tfds_names():
        source = _load_tfds(config, data_dir)
    elif name in IDX_DATASETS:
        raise DataError(
            f"dataset {name!r} split {config.split!r} not found: TFDS has not prepared it in "
            f"{data_dir} and {config.idx_dir} has no IDX files for that split. Install the "
            "Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), set "
            "data.idx_dir to a folder of IDX files, or set data.allow_download=true."
        )
    elif name in _known_tfds_names():
        raise DataError(
            f"TFDS dataset {name!r} is not prepared in {data_dir}; prepare it there (tfds build "
            f"{name}), point data.data_dir at a prepared copy, or set data.allow_download=true"
        )
    else:
        raise DataError(
            f"unknown dataset {name!r}; choose one of {', '.join(LOCAL_SOURCES)}, "
            f"{', '.join(IDX_DATASETS)}, or any TFDS name (e.g. cifar10, celeb_a)"
        )
    if config.limit:
        source.images = source.images[: config.limit]
        source.labels = None if source.labels is None else source.labels[: config.limit]
    log.info("data: %s, %d examples of shape %s", source.description, len(source.images), source.element_shape)
    return source
