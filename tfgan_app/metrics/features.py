"""Feature extractors for the metrics: the project's domain classifiers and InceptionV3.

An extractor maps images in [-1, 1] (NHWC) to features [N, D] and, where it classifies,
to class probabilities [N, K]. Its ``name`` and ``layer`` go with every number reported.

The domain classifiers for Fashion-MNIST and the emoji ship with the package
(``metrics/pinned/<dataset>/``, made by ``benchmarks/pin_extractors.py``), the way
pytorch-fid and torch-fidelity ship their Inception weights: trained once, checked by
SHA-256 at every load, so an FID means the same on every machine. Their features of a
fixed batch are stored beside them and checked by the test suite; across CPUs and thread
counts they agree to ``FEATURE_TOLERANCE`` (float32 kernels that sum in another order),
which moves an FID by far less than its last printed digit.

For another dataset, ``python -m tfgan_app.evaluate train-classifier`` trains one into the
cache; its name says it is self-trained and carries its weights' hash, so figures measured
with it are never mistaken for figures on the pinned extractor.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

from tfgan_app.checksums import sha256_of_file
from tfgan_app.data import to_model_range
from tfgan_app.networks import weights_sha256
# Also registers the pitch classifier's LogSpectrum layer, which loading its archive needs.
from tfgan_app.networks.audio import pitch_classifier
from tfgan_app.networks.layers import classifier_head
from tfgan_app.networks.video import clip_classifier

FEATURE_LAYER = "features"
# Threads a classifier trains on, whatever the machine's cores: one thread and two give
# different classifiers (the kernels sum in another order), two runs on two give the same.
CLASSIFIER_THREADS = 2
# The largest |difference| between features of one batch computed on different CPUs or
# thread counts that the pinned extractors' check accepts (features are O(1)).
FEATURE_TOLERANCE = 1e-4
PINNED_DIR = Path(__file__).with_name("pinned")


def cache_dir() -> Path:
    return Path(os.environ.get("TFGAN_APP_CACHE", "~/.cache/tfgan_app")).expanduser() / "classifiers"


def pinned_folder(dataset: str) -> Path | None:
    """The shipped classifier of ``dataset`` (``fashion_mnist``, ``emoji``), or None."""
    folder = PINNED_DIR / dataset
    return folder if (folder / "classifier.json").is_file() else None


def classifier_folder(dataset: str, explicit: str | Path | None = None) -> Path:
    """Where a dataset's domain classifier lives: ``explicit`` when the user names one
    (``--classifier``, ``evaluation.classifier``), else the pinned one shipped with the
    package, else the cache's folder for ``dataset`` (``train-classifier`` writes there)."""
    if explicit:
        return Path(explicit).expanduser()
    return pinned_folder(dataset) or cache_dir() / dataset


class ExtractorError(ValueError):
    """An extractor cannot be built or loaded; the message says how to provide it."""


def build_classifier(image_shape: tuple[int, ...], num_classes: int):
    """Conv(32)-Conv(32)-pool, Conv(64)-Conv(64)-pool, Dense(128) "features", Dense(K) logits;
    for sounds ([samples]), the pitch classifier (``networks.audio.pitch_classifier``); for
    clips ([frames, H, W, C]), the clip classifier (``networks.video.clip_classifier``)."""
    import keras

    if len(image_shape) == 1:
        return pitch_classifier(image_shape[0], num_classes, FEATURE_LAYER)
    if len(image_shape) == 4:
        return clip_classifier(tuple(image_shape), num_classes, FEATURE_LAYER)

    inputs = keras.Input(image_shape, name="image")
    x = inputs
    for filters in (32, 64):
        for _ in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
        x = keras.layers.Dropout(0.25)(x)
    return keras.Model(inputs, classifier_head(x, num_classes, FEATURE_LAYER), name="domain_classifier")


def pin_training_threads(threads: int = CLASSIFIER_THREADS) -> bool:
    """Run TensorFlow's kernels on ``threads`` threads (intra- and inter-op), so the classifier
    trained here is the one trained on any machine with the same instruction set. False when
    TensorFlow has already started in this process and the setting can no longer change."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        return tf.config.threading.get_intra_op_parallelism_threads() == threads
    return True


def train_classifier(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    class_names: list[str],
    out_dir: Path,
    dataset: str,
    epochs: int = 5,
    batch_size: int = 128,
    seed: int = 0,
) -> dict:
    """Train on uint8 images (or float32 sounds), evaluate on the test split, save weights +
    metadata in out_dir."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    (train_x, train_y), (test_x, test_y) = train, test
    model = build_classifier(tuple(train_x.shape[1:]), len(class_names))
    model.compile(
        keras.optimizers.Adam(1e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )

    def dataset_of(x, y, shuffle):
        data = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            data = data.shuffle(len(x), seed=seed)
        return data.batch(batch_size).map(lambda i, l: (to_model_range(i), l)).prefetch(tf.data.AUTOTUNE)

    started = time.perf_counter()
    model.fit(dataset_of(train_x, train_y, True), epochs=epochs, verbose=0, shuffle=False)
    _, accuracy = model.evaluate(dataset_of(test_x, test_y, False), verbose=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "classifier.keras"
    model.save(weights)
    info = {
        "dataset": dataset, "test_accuracy": float(accuracy), "train_examples": len(train_x),
        "test_examples": len(test_x), "epochs": epochs, "image_shape": [int(d) for d in train_x.shape[1:]],
        "class_names": class_names, "feature_layer": FEATURE_LAYER, "sha256": sha256_of_file(weights),
        "weights_sha256": weights_sha256(model),
        # 0 when not pinned: TensorFlow's default (the cores, or TF_NUM_INTRAOP_THREADS).
        "train_threads": tf.config.threading.get_intra_op_parallelism_threads() or "default",
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    (out_dir / "classifier.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


@dataclasses.dataclass
class Extractor:
    name: str
    layer: str
    model: object  # keras.Model: images -> (features, logits or None)
    input_size: int | None = None  # resize side (InceptionV3: 299)
    channels: int | None = None
    batch_size: int = 256

    def _prepare(self, images: np.ndarray):
        import tensorflow as tf

        images = tf.convert_to_tensor(images, tf.float32)
        if self.channels == 3 and images.shape[-1] == 1:
            images = tf.tile(images, [1, 1, 1, 3])
        if self.input_size and images.shape[1] != self.input_size:
            images = tf.image.resize(images, (self.input_size, self.input_size), method="bilinear")
        return images

    def run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(features [N, D], probabilities [N, K] or None) for images in [-1, 1]."""
        from keras import ops

        features, logits = [], []
        for start in range(0, len(images), self.batch_size):
            out_features, out_logits = self.model(self._prepare(images[start : start + self.batch_size]), training=False)
            features.append(ops.convert_to_numpy(out_features))
            if out_logits is not None:
                logits.append(ops.convert_to_numpy(out_logits))
        probabilities = None
        if logits:
            stacked = np.concatenate(logits).astype(np.float64)
            stacked -= stacked.max(1, keepdims=True)
            probabilities = np.exp(stacked) / np.exp(stacked).sum(1, keepdims=True)
        return np.concatenate(features), probabilities


def load_domain_classifier(folder: Path) -> tuple[Extractor, dict]:
    """The classifier in ``folder`` (pinned or self-trained), after checking its file's
    SHA-256 (the file is intact) and its weight arrays' SHA-256 (which classifier it is; the
    two differ because a ``.keras`` archive records its save time). Its name is
    ``extractor_name``."""
    import keras


    folder = Path(folder)
    meta_path, weights = folder / "classifier.json", folder / "classifier.keras"
    if not meta_path.is_file() or not weights.is_file():
        raise ExtractorError(
            f"no domain classifier in {folder}; Fashion-MNIST and the emoji have pinned ones shipped with the "
            "package; for other data train one with `python -m tfgan_app.evaluate train-classifier --dataset NAME` "
            "(offline, a few minutes)"
        )
    info = json.loads(meta_path.read_text())
    if sha256_of_file(weights) != info["sha256"]:
        raise ExtractorError(
            f"{weights} does not match the SHA-256 in {meta_path}: the file is damaged; reinstall the package "
            "(pinned classifiers) or retrain it with train-classifier"
        )
    classifier = keras.models.load_model(weights)
    identity = weights_sha256(classifier)
    if info.setdefault("weights_sha256", identity) != identity:
        raise ExtractorError(
            f"the weights in {weights} are not the ones {meta_path} records (weights_sha256 "
            f"{info['weights_sha256'][:12]}..., found {identity[:12]}...): retrain the classifier"
        )
    two_heads = keras.Model(
        classifier.inputs, [classifier.get_layer(FEATURE_LAYER).output, classifier.outputs[0]]
    )
    return Extractor(extractor_name(info), FEATURE_LAYER, two_heads), info


def pinned_extractor(dataset: str) -> Extractor:
    """The extractor shipped for ``dataset`` (``fashion_mnist``, ``emoji``, ...; hash-checked
    as ``load_domain_classifier`` does): the one ``evaluate`` uses by default, for FID, KID
    and precision/recall from Python (``extractor.run(images)`` gives the features)."""
    folder = pinned_folder(dataset)
    if folder is None:
        shipped = sorted(path.name for path in PINNED_DIR.iterdir() if (path / "classifier.json").is_file())
        raise ExtractorError(f"no pinned extractor for {dataset!r}; the package ships: {', '.join(shipped)}")
    return load_domain_classifier(folder)[0]


def reference_batch(image_shape: tuple[int, ...], count: int = 32, seed: int = 20261206) -> np.ndarray:
    """A fixed batch of images in [-1, 1]: smooth random blobs drawn from NumPy's PCG64 with
    a fixed seed (the same numbers on every platform), on which the pinned extractors'
    stored features are checked; for sounds ([samples]), decaying tones of random pitch with
    a few harmonics; for clips ([frames, H, W, C]), such images drifting a pixel per frame."""
    rng = np.random.default_rng(seed)
    if len(image_shape) == 4:
        frames, *frame_shape = image_shape
        first = reference_batch(tuple(frame_shape), count, seed)
        steps = rng.integers(-1, 2, size=(count, 2))
        return np.stack([np.stack([np.roll(image, tuple(step * t), axis=(0, 1)) for t in range(frames)])
                         for image, step in zip(first, steps)]).astype(np.float32)
    if len(image_shape) == 1:
        time_axis = np.arange(image_shape[0]) / 16000.0
        sounds = np.zeros((count, image_shape[0]), np.float64)
        for index in range(count):
            frequency, decay = 440.0 * 2 ** rng.uniform(-3.75, 1.25), rng.uniform(1, 6)
            for harmonic in range(1, 5):
                sounds[index] += rng.uniform(0, 0.3) / harmonic * np.sin(2 * np.pi * harmonic * frequency * time_axis)
            sounds[index] *= np.exp(-decay * time_axis)
        return np.clip(sounds, -1.0, 1.0).astype(np.float32)
    height, width, channels = image_shape
    rows, columns = np.mgrid[0:height, 0:width] / max(height, width)
    images = np.zeros((count, height, width, channels), np.float32)
    for index in range(count):
        for _ in range(4):
            y, x, radius = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.3)
            blob = np.exp(-((rows - y) ** 2 + (columns - x) ** 2) / (2 * radius**2))
            images[index] += blob[..., None] * rng.uniform(-1, 1, channels)
    return np.clip(images, -1.0, 1.0).astype(np.float32)


def reference_difference(folder: Path) -> float:
    """max |features of ``reference_batch`` here - those stored with the pinned extractor|."""
    extractor, info = load_domain_classifier(folder)
    features, _ = extractor.run(reference_batch(tuple(info["image_shape"])))
    return float(np.max(np.abs(features - np.load(Path(folder) / "reference_features.npy"))))


def extractor_name(info: dict) -> str:
    """``pinned_classifier[fashion_mnist]/v1`` for a shipped classifier (its ``pinned``
    version in classifier.json), ``self_trained_classifier[DATASET]#<8 hex digits of its
    weights' SHA-256>`` for any other: a figure's extractor says which one measured it."""
    if info.get("pinned"):
        return f"pinned_classifier[{info['dataset']}]/v{info['pinned']}"
    return f"self_trained_classifier[{info['dataset']}]#{info['weights_sha256'][:8]}"


def load_inception(weights_path: Path) -> Extractor:
    """InceptionV3 2048-d average-pool features (the standard FID layer) from a local weights file.

    Images in [-1, 1] are what InceptionV3's preprocessing produces; grayscale is repeated to
    three channels and every image is resized to 299x299 bilinearly (tf.image.resize). Nothing
    is downloaded: without a file this fails and says how to provide one.
    """
    import keras

    weights_path = Path(weights_path)
    if not weights_path.is_file():
        raise ExtractorError(
            f"InceptionV3 weights {weights_path} not found. This machine has no internet: copy "
            "Keras's inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5 here from a machine "
            "that has it (keras.applications.InceptionV3(include_top=False) saves it in "
            "~/.keras/models/) and pass --inception-weights PATH"
        )
    model = keras.applications.InceptionV3(include_top=False, pooling="avg", weights=None, input_shape=(299, 299, 3))
    try:
        model.load_weights(str(weights_path))
    except (ValueError, OSError) as error:
        raise ExtractorError(f"{weights_path}: not InceptionV3 (no-top) weights: {error}") from None

    def features_only(images, training=False):
        return model(images, training=training), None

    return Extractor("inception_v3", "avg_pool (2048)", features_only, input_size=299, channels=3, batch_size=64)
