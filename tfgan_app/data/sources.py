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

from tfgan_app.config import AUDIO_SOURCES, TEXT_SOURCES, VIDEO_SOURCES, DataConfig
from tfgan_app.data.emoji import default_root, load_emoji
from tfgan_app.data.folder import (
    folder_files, load_image_folder, load_images, load_paired_folders,
)
from tfgan_app.data.idx import find_idx_pair, read_idx
from tfgan_app.data.tasks import make_deriver, read_csv_series, series_windows, sine_waves
from tfgan_app.data.toy import TOY_DISTRIBUTIONS

log = logging.getLogger(__name__)

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# Datasets whose TFDS files are the same IDX files the Debian/Yann LeCun archives ship.
IDX_DATASETS = {"fashion_mnist": FASHION_MNIST_CLASSES, "mnist": [str(d) for d in range(10)]}
LOCAL_SOURCES = ("image_folder", "prepared", "emoji", "stacked_fashion_mnist", *AUDIO_SOURCES, *TEXT_SOURCES,
                 *VIDEO_SOURCES, *TOY_DISTRIBUTIONS)
SEQUENCE_SOURCES = ("sines", "csv")


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
    # pix2pix: uint8 input images aligned with `images` (the targets), unless `derive`
    # computes the inputs from the targets in the pipeline.
    conditions: np.ndarray | None = None
    # CycleGAN: the second domain's uint8 images (unpaired with `images`, domain A); domain
    # adaptation: the images the target domain is made from.
    images_b: np.ndarray | None = None
    # (batch, seed) -> batch with the inputs a task derives from the examples (tasks.py).
    derive: Callable[[dict, tf.Tensor], dict] | None = None

    def transform_real(self, element_shape: tuple[int, ...], transform: Callable[[tf.Tensor], tf.Tensor],
                       note: str = "") -> "Source":
        """This source with each batch's real examples transformed in the input pipeline
        (clips to spectrograms, ids to one-hot rows): a family trains on what it models
        while the source keeps the compact form in memory."""
        self.element_shape = tuple(element_shape)
        self.derive = lambda batch, seed: {**batch, "real": transform(batch["real"])}
        self.description += note
        return self

    @property
    def num_examples(self) -> int | None:
        return None if self.images is None else len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.labels is not None else 0


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


def emoji_root(config: DataConfig) -> Path:
    return Path(config.cache_dir).expanduser() if config.cache_dir else default_root()


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


def anomaly_training_data(source: Source, spec: str, key: str, keep: bool) -> Source:
    """The normal data anomaly detection trains on: class ``spec`` alone (``keep``: the
    one-class protocol, every other class is an anomaly) or every class but ``spec`` (it is
    the anomaly). ``spec`` is an index or a name; ``key`` names the setting in errors."""
    if source.labels is None:
        raise DataError(f"{key} needs labelled data to select classes; {source.description} has no labels")
    chosen = _class_index(spec, source.class_names, key, source.description)
    normal = (source.labels == chosen) if keep else (source.labels != chosen)
    source.images, source.labels = source.images[normal], None
    role = "only (the normal class)" if keep else "left out (the anomaly)"
    source.description += f", class {source.class_names[chosen]!r} {role}"
    return source


def load_sequences(config: DataConfig) -> Source:
    """Sequences in [0, 1]: TimeGAN's sine waves (sampled forever) or windows of a CSV file."""
    length = config.sequence_length
    if config.name not in SEQUENCE_SOURCES:
        raise DataError(
            f"data.name {config.name!r}: the sequence family trains on data.name 'sines' or 'csv' (sequences)"
        )
    if config.name == "sines":
        features = config.sequence_features
        return Source(
            f"sine waves, {features} features x {length} steps", (length, features),
            sampler=lambda seed, count: sine_waves(seed, count, length, features),
        )
    if not config.file:
        raise DataError("data.name = 'csv' needs data.file: a CSV of numbers, one row per time step")
    try:
        values, columns = read_csv_series(Path(config.file))
        windows = series_windows(values, length)[0]
    except ValueError as error:
        raise DataError(str(error)) from None
    windows = windows[: config.limit or None]
    description = f"CSV {config.file}: {len(values)} rows x {len(columns)} columns ({', '.join(columns[:8])}), windows of {length}"
    log.info("data: %s, %d windows", description, len(windows))
    return Source(description, windows.shape[1:], windows)


def notes_root(config: DataConfig) -> Path:
    """Where ``python -m tfgan_app.data fetch notes`` renders the notes for this config."""
    return (Path(config.cache_dir).expanduser() if config.cache_dir else default_root()) / "notes"


def load_audio(config: DataConfig) -> Source:
    """Mono clips in [-1, 1], float32 [N, audio_samples] at ``audio_rate``, labelled: the
    rendered notes by pitch (classes "C1" ... "C6"), or a folder of WAV files by subfolder."""
    from tfgan_app.data.audio import PITCHES, RATE, AudioError, fit_length, load_audio_folder, load_notes, pitch_name, resample

    samples, rate = config.audio_samples, config.audio_rate
    try:
        if config.name == "notes":
            notes = load_notes(notes_root(config), config.split)
            clips = np.stack([fit_length(resample(clip, RATE, rate), samples) for clip in notes.audio])
            labels = (notes.pitch - PITCHES.start).astype(np.int32)
            classes = [pitch_name(pitch) for pitch in PITCHES]
            description = f"instrument notes (Fluid R3 GM), split {config.split!r}"
        elif config.name == "audio_folder":
            if not config.folder:
                raise DataError("data.name = 'audio_folder' needs data.folder: a folder of .wav or .flac files (a subfolder per class)")
            clips, labels, classes, _, skipped = load_audio_folder(Path(config.folder), rate, samples, config.on_bad_image)
            if skipped:
                log.warning("data: %d unreadable audio files skipped (first: %s)", len(skipped), skipped[0][1])
            description = f"audio folder {config.folder}"
        else:
            raise DataError(f"data.name {config.name!r}: the audio families train on {' or '.join(AUDIO_SOURCES)} "
                            "(clips of sound)")
    except AudioError as error:
        raise DataError(str(error)) from None
    if config.limit:
        clips, labels = clips[: config.limit], None if labels is None else labels[: config.limit]
    log.info("data: %s, %d clips of %d samples at %d Hz", description, len(clips), samples, rate)
    return Source(description, (samples,), clips.astype(np.float32), labels, list(classes) if labels is not None else [])


def load_text(config: DataConfig) -> Source:
    """Windows of ``text_length`` character ids (int32 [N, length], ``data.text``): the
    fortunes of ``split``, or the UTF-8 text of ``file``."""
    from tfgan_app.data.text import TextError, fortune_windows, text_windows

    try:
        if config.name == "fortunes":
            ids, description = fortune_windows(config.split, config.text_length), f"fortunes, split {config.split!r}"
        elif config.name == "text_file":
            if not config.file:
                raise DataError("data.name = 'text_file' needs data.file: a UTF-8 text file, or a folder of .txt files")
            ids, description = text_windows(Path(config.file), config.text_length), f"text {config.file}"
        else:
            raise DataError(f"data.name {config.name!r}: the text families train on {' or '.join(TEXT_SOURCES)} (text)")
    except TextError as error:
        raise DataError(str(error)) from None
    ids = ids[: config.limit or None]
    log.info("data: %s, %d windows of %d characters", description, len(ids), config.text_length)
    return Source(f"{description}, windows of {config.text_length} characters", (config.text_length,), ids)


def load_video(config: DataConfig) -> Source:
    """Clips, uint8 [N, video_frames, video_size, video_size, C]: Moving Fashion-MNIST made
    from the Fashion-MNIST ``split`` (labelled by item class and direction, ``data.video``),
    or a folder of the user's clips (unlabelled)."""
    from tfgan_app.data.video import SPLIT_SEEDS, VideoError, clip_class_names, load_video_folder, moving_clips

    frames, size = config.video_frames, config.video_size
    try:
        if config.name == "moving_fashion_mnist":
            if config.split not in SPLIT_SEEDS:
                raise DataError(f"data.split = {config.split!r}: Moving Fashion-MNIST has the splits {', '.join(SPLIT_SEEDS)}")
            if config.channels not in (0, 1):
                raise DataError(f"data.channels = {config.channels}: Moving Fashion-MNIST is grayscale; drop data.channels")
            garments = load_source(dataclasses.replace(config, name="fashion_mnist", limit=0, image_size=0, channels=0))
            count = config.limit or config.video_clips
            made = moving_clips(garments.images[..., 0], garments.labels, count, SPLIT_SEEDS[config.split], frames, size,
                                config.video_item, config.video_items)
            clips, labels, classes = made.clips, made.labels, clip_class_names(garments.class_names)
            description = (f"Moving Fashion-MNIST, split {config.split!r}, {config.video_items} item(s) of "
                           f"{config.video_item}px")
        elif config.name == "video_folder":
            if not config.folder:
                raise DataError("data.name = 'video_folder' needs data.folder: a folder of GIF/MP4 clips or of frame folders")
            clips, skipped = load_video_folder(Path(config.folder), frames, size, config.channels or 3, config.on_bad_image)
            if skipped:
                log.warning("data: %d unreadable clips skipped (first: %s)", len(skipped), skipped[0][1])
            clips, labels, classes = clips[: config.limit or None], None, []
            description = f"video folder {config.folder}"
        else:
            raise DataError(f"data.name {config.name!r}: the video families train on {' or '.join(VIDEO_SOURCES)} (clips)")
    except VideoError as error:
        raise DataError(str(error)) from None
    log.info("data: %s, %d clips of %d frames at %dx%d", description, len(clips), frames, size, size)
    return Source(f"{description}, {frames} frames of {size}x{size}", tuple(clips.shape[1:]), clips, labels, classes)


def _refuse_fixed_size_change(config: DataConfig, shape: tuple, what: str, remedy: str) -> None:
    """Sources stored at one size are not resized: a ``data.image_size`` or ``data.channels``
    that differs is refused rather than ignored."""
    height, width, channels = shape
    if config.image_size and (height, width) != (config.image_size, config.image_size):
        raise DataError(
            f"data.image_size = {config.image_size}, but {what} holds {height}x{width} images and is not resized; "
            f"drop data.image_size ({remedy})"
        )
    if config.channels and channels != config.channels:
        raise DataError(
            f"data.channels = {config.channels}, but {what} has {channels} channel(s) and is not converted; "
            f"drop data.channels ({remedy})"
        )


def load_source(config: DataConfig) -> Source:
    """Load the examples a data config names, preferring what is already on this machine
    (a pipeline's data, as its family needs it, is ``gans.registry.family_source``).

    Order for TFDS names: a prepared TFDS copy in ``data_dir``; for fashion_mnist / mnist,
    IDX files in ``idx_dir``; a TFDS download only when ``allow_download`` is true.
    """
    if not isinstance(config, DataConfig):
        raise TypeError(f"load_source takes a DataConfig (config.data), got {type(config).__name__}; "
                        "the data a whole pipeline trains on is tfgan_app.gans.registry.family_source(config)")
    name = config.name
    if name == "prepared":
        from tfgan_app.data.tool import load_prepared

        images, labels, classes, manifest = load_prepared(Path(config.folder), config.limit)
        _refuse_fixed_size_change(config, images.shape[1:], f"the prepared data in {config.folder}",
                                  f"prepare it again with --size {config.image_size or images.shape[1]} --channels "
                                  f"{config.channels or images.shape[3]}")
        source = Source(f"prepared {config.folder} (from {manifest['source']})", tuple(images.shape[1:]),
                        np.asarray(images), labels, classes)
        log.info("data: %s, %d images of shape %s", source.description, len(images), source.element_shape)
        return source
    if name == "emoji":
        images, _, labels, categories = load_emoji(
            emoji_root(config), config.vendor, config.split, limit=config.limit, label_by=config.emoji_labels
        )
        _refuse_fixed_size_change(config, images.shape[1:], f"the {config.vendor} emoji", "the emoji pipelines train at 64x64 RGB")
        source = Source(f"{config.vendor} emoji (npm), split {config.split!r}", tuple(images.shape[1:]), images, labels, categories)
        log.info("data: %s, %d images of shape %s", source.description, len(images), source.element_shape)
        return source
    if name == "stacked_fashion_mnist":
        return stacked_source(load_source(dataclasses.replace(config, name="fashion_mnist", limit=0)), config.limit)
    if name in SEQUENCE_SOURCES:
        raise DataError(f"data.name {name!r} is a source of sequences: train it with model.family 'sequence'")
    if name in AUDIO_SOURCES:
        return load_audio(config)
    if name in TEXT_SOURCES:
        return load_text(config)
    if name in VIDEO_SOURCES:
        return load_video(config)
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


STACKED_SEED = 1234  # the fixed draw of the triples: the same dataset on every machine


def stacked_source(base: Source, limit: int = 0) -> Source:
    """Stacked Fashion-MNIST: three images of ``base`` as the three channels of one, drawn
    independently (a fixed permutation of the split per channel), so the 10^3 class triples
    are 1,000 equally likely modes (the Stacked MNIST of Metz et al. 2017 and PacGAN, with
    Fashion-MNIST). As many examples as the split has; the label is 100 a + 10 b + c."""
    rng = np.random.default_rng(STACKED_SEED)
    count = len(base.images)
    order = np.stack([np.arange(count), rng.permutation(count), rng.permutation(count)])[:, : limit or count]
    images = np.concatenate([base.images[index] for index in order], axis=-1)
    labels = (100 * base.labels[order[0]] + 10 * base.labels[order[1]] + base.labels[order[2]]).astype(np.int64)
    names = [f"{a}/{b}/{c}" for a in range(10) for b in range(10) for c in range(10)]
    source = Source(f"stacked Fashion-MNIST (3 images as RGB channels, from {base.description})",
                    tuple(images.shape[1:]), images, labels, names)
    log.info("data: %s, %d images of shape %s", source.description, len(images), source.element_shape)
    return source


def _class_index(spec: str, class_names: list[str], key: str, description: str) -> int:
    if spec.isdigit() and int(spec) < len(class_names):
        return int(spec)
    if spec in class_names:
        return class_names.index(spec)
    choices = ", ".join(f"{index}={name}" for index, name in enumerate(class_names))
    raise DataError(f"{key} = {spec!r} is not a class of {description}; choose an index or a name: {choices}")


def load_unpaired(config: DataConfig, domain_a: str = "", domain_b: str = "") -> Source:
    """CycleGAN's two domains: folders (``<split>A``/``<split>B``), TFDS cycle_gan splits, or
    two classes of a labelled dataset (the offline demo: two Fashion-MNIST classes)."""
    name_a, name_b = domain_a or f"{config.split}A", domain_b or f"{config.split}B"
    if config.name == "image_folder":
        root = Path(config.folder)
        domains = []
        for key, name in (("cyclegan.domain_a", name_a), ("cyclegan.domain_b", name_b)):
            if not (root / name).is_dir():
                raise DataError(
                    f"CycleGAN domain folder {root / name} is missing ({key}); an unpaired image "
                    f"folder holds {config.split}A/ and {config.split}B/ (set cyclegan.domain_a/domain_b for other names)"
                )
            files = folder_files(root / name, config.image_size, config.channels or 3, config.limit)
            domains.append(load_images(files, config.image_size, config.channels or 3, config.on_bad_image)[0])
        images_a, images_b = domains
        description = f"image folders {root / name_a} and {root / name_b}"
    elif config.name == "emoji":  # the two styles, each in its own random order: unpaired
        root = emoji_root(config)
        images_a = load_emoji(root, "google", config.split, limit=config.limit)[0]
        images_b = load_emoji(root, "twitter", config.split, limit=config.limit)[0]
        description = f"emoji, domain A = Google style, domain B = Twitter style, split {config.split!r}"
    elif config.name.startswith("cycle_gan"):
        data_dir = tfds_data_dir(config)
        if not tfds_prepared(config.name, data_dir) and not config.allow_download:
            raise DataError(
                f"TFDS dataset {config.name!r} is not prepared in {data_dir}; prepare it (tfds build "
                f"{config.name}), or use image folders trainA/ and trainB/ (data.name=image_folder)"
            )
        images_a = _load_tfds(dataclasses.replace(config, split=name_a), data_dir).images
        images_b = _load_tfds(dataclasses.replace(config, split=name_b), data_dir).images
        description = f"TFDS {config.name} splits {name_a!r} and {name_b!r}"
    else:
        source = load_source(dataclasses.replace(config, limit=0))
        if source.labels is None or not (domain_a and domain_b):
            raise DataError(
                f"CycleGAN on {source.description} needs cyclegan.domain_a and cyclegan.domain_b: two of its classes "
                f"({', '.join(source.class_names) or 'it has no labels'})"
            )
        index_a = _class_index(domain_a, source.class_names, "cyclegan.domain_a", source.description)
        index_b = _class_index(domain_b, source.class_names, "cyclegan.domain_b", source.description)
        if index_a == index_b:
            raise DataError(f"cyclegan.domain_a and cyclegan.domain_b are the same class ({source.class_names[index_a]})")
        images_a = source.images[source.labels == index_a][: config.limit or None]
        images_b = source.images[source.labels == index_b][: config.limit or None]
        description = (
            f"{source.description}, domain A = class {source.class_names[index_a]!r}, "
            f"domain B = class {source.class_names[index_b]!r}"
        )
    if images_a.shape[1:] != images_b.shape[1:]:
        raise DataError(f"the domains' images differ in shape: {images_a.shape[1:]} vs {images_b.shape[1:]}")
    log.info("data: %s, %d + %d unpaired images of shape %s", description, len(images_a), len(images_b), images_a.shape[1:])
    return Source(description, tuple(images_a.shape[1:]), images_a, images_b=images_b)


def load_derived(config: DataConfig, task: str, what: str, needed_by: str = "") -> Source:
    """Images whose model inputs a task derives per batch from each image (``tasks.make_deriver``):
    pix2pix's edge maps, SPADE's label maps. Labels are dropped: the derived input is the condition."""
    source = load_source(config)
    if source.sampler is not None:
        raise DataError(f"{needed_by or task} needs images, not {source.description}")
    source.labels, source.class_names = None, []
    source.derive = make_deriver(task)
    source.description += f", {what}"
    return source


def load_paired(config: DataConfig, pairs: str = "edges") -> Source:
    """pix2pix pairs: edge maps of any image source, or a folder of pairs."""
    if pairs == "edges":
        return load_derived(config, "edges", "inputs = their edge maps", "pix2pix.pairs = 'edges'")
    if pairs == "styles" or config.name == "emoji":
        if pairs != "styles" or config.name != "emoji":
            raise DataError("pix2pix.pairs = 'styles' and data.name = 'emoji' go together (Google -> Twitter emoji)")
        root = emoji_root(config)
        inputs, names, _, _ = load_emoji(root, "google", config.split, limit=config.limit)
        targets = load_emoji(root, "twitter", config.split, names=names)[0]
        description = f"emoji pairs, Google -> Twitter style, split {config.split!r}"
        log.info("data: %s, %d pairs", description, len(targets))
        return Source(description, tuple(targets.shape[1:]), targets, conditions=inputs)
    if config.name != "image_folder":
        raise DataError(f"pix2pix.pairs = {pairs!r} reads image folders: set data.name = 'image_folder'")
    root, channels = Path(config.folder), config.channels or 3
    if pairs == "folders":
        inputs, targets = load_paired_folders(
            root / f"{config.split}A", root / f"{config.split}B", config.image_size, channels,
            config.on_bad_image, config.limit,
        )
        description = f"paired folders {root / (config.split + 'A')} -> {root / (config.split + 'B')}"
    else:
        folder = root / config.split if (root / config.split).is_dir() else root
        files = folder_files(folder, config.image_size, channels, config.limit)
        pairs = load_images(files, config.image_size, channels, config.on_bad_image, split=True)[0]
        inputs, targets = pairs[:, 0], pairs[:, 1]
        description = f"side-by-side pairs (input | target) in {folder}"
    log.info("data: %s, %d pairs of shape %s", description, len(targets), targets.shape[1:])
    return Source(description, tuple(targets.shape[1:]), targets, conditions=inputs)
