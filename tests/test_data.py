import gzip
import logging

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.helpers import idx_bytes
from tfgan_app.config import DataConfig
from tfgan_app.data import (
    TOY_DISTRIBUTIONS, DataError, IdxError, ImageFolderError, load_image_folder, load_source,
    make_train_dataset, read_idx, steps_per_epoch,
)
from tfgan_app.data import sources


# --- IDX ---------------------------------------------------------------------------------

def test_read_idx_plain_and_gzip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a-idx3-ubyte").write_bytes(idx_bytes(array))
    with gzip.open(tmp_path / "a-idx3-ubyte.gz", "wb") as handle:
        handle.write(idx_bytes(array))
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz"), array)
    ints = np.array([1, -2, 70000], dtype=">i4")
    (tmp_path / "i").write_bytes(idx_bytes(ints))
    np.testing.assert_array_equal(read_idx(tmp_path / "i"), [1, -2, 70000])


def test_read_idx_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad-magic"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(IdxError, match="bad-magic.*magic"):
        read_idx(bad)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(idx_bytes(np.zeros((4, 2), np.uint8))[:-3])
    with pytest.raises(IdxError, match="truncated.*declares shape"):
        read_idx(truncated)
    with pytest.raises(IdxError, match="missing"):
        read_idx(tmp_path / "missing")


def test_idx_source_is_used_when_tfds_has_nothing(idx_dir, tmp_path, caplog):
    config = DataConfig(name="fashion_mnist", idx_dir=str(idx_dir), data_dir=str(tmp_path / "tfds"))
    with caplog.at_level(logging.INFO):
        source = load_source(config)
    assert "reading IDX files" in caplog.text
    assert source.images.shape == (512, 28, 28, 1) and source.images.dtype == np.uint8
    assert source.class_names[0] == "T-shirt/top" and len(source.class_names) == 10
    test_split = load_source(DataConfig(name="fashion_mnist", split="test", idx_dir=str(idx_dir),
                                        data_dir=str(tmp_path / "tfds"), limit=100))
    assert len(test_split.images) == 100


def test_idx_source_resizes_and_converts(idx_dir, tmp_path):
    config = DataConfig(name="mnist", idx_dir=str(idx_dir), data_dir=str(tmp_path),
                        image_size=32, channels=3)
    source = load_source(config)
    assert source.element_shape == (32, 32, 3)


def test_missing_data_says_how_to_get_it(tmp_path):
    config = DataConfig(name="fashion_mnist", idx_dir=str(tmp_path / "none"), data_dir=str(tmp_path))
    with pytest.raises(DataError, match="dataset-fashion-mnist"):
        load_source(config)


def test_unknown_dataset_lists_choices(tmp_path):
    with pytest.raises(DataError, match="unknown dataset 'fashon_mnist'.*image_folder.*ring"):
        load_source(DataConfig(name="fashon_mnist", data_dir=str(tmp_path)))


def test_tfds_not_prepared_is_refused_without_network(tmp_path):
    with pytest.raises(DataError, match="not prepared"):
        load_source(DataConfig(name="cifar10", data_dir=str(tmp_path)))


def test_prepared_tfds_dataset_is_read_through_tfds(tmp_path):
    """A real TFDS dataset, prepared offline in the test, goes through tfds.load."""
    import tensorflow_datasets as tfds

    class TinyStripes(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 1)),
                "label": tfds.features.ClassLabel(names=["dark", "light"]),
            }))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for index in range(24):
                yield index, {"image": np.full((8, 8, 1), index * 10, np.uint8), "label": index % 2}

    TinyStripes(data_dir=str(tmp_path)).download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False)
    )
    assert sources.tfds_prepared("tiny_stripes", tmp_path)
    source = load_source(DataConfig(name="tiny_stripes", data_dir=str(tmp_path), image_size=16))
    assert source.description.startswith("TFDS tiny_stripes")
    assert source.images.shape == (24, 16, 16, 1) and source.labels.shape == (24,)
    assert source.class_names == ["dark", "light"]


# --- image folders -------------------------------------------------------------------------

def _write(path, size, mode="RGB", color=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_image_folder_labels_sizes_and_modes(tmp_path):
    _write(tmp_path / "cats" / "a.png", (40, 30), "RGB", (255, 0, 0))
    _write(tmp_path / "cats" / "nested" / "b.JPG", (64, 64), "L", 200)
    _write(tmp_path / "dogs" / "c.png", (20, 50), "RGBA", (0, 0, 255, 255))
    _write(tmp_path / "dogs" / "d.jpeg", (20, 50), "RGB", (0, 255, 0))
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    images, labels, classes, skipped = load_image_folder(tmp_path, 16, 3)
    assert classes == ["cats", "dogs"]
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.uint8
    assert sorted(labels.tolist()) == [0, 0, 1, 1]
    assert skipped == []
    gray, _, _, _ = load_image_folder(tmp_path, 8, 1)
    assert gray.shape == (4, 8, 8, 1)
    # Red converts to luma 0.299 * 255.
    assert abs(int(gray[0, 4, 4, 0]) - 76) <= 1


def test_image_folder_bad_image_error_names_file_or_is_skipped(tmp_path):
    _write(tmp_path / "good.png", (8, 8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ImageFolderError, match="broken.png"):
        load_image_folder(tmp_path, 8, 3)
    images, _, _, skipped = load_image_folder(tmp_path, 8, 3, on_bad_image="skip")
    assert len(images) == 1 and [path.name for path in skipped] == ["broken.png"]


def test_image_folder_empty_or_missing(tmp_path):
    with pytest.raises(ImageFolderError, match="holds no"):
        load_image_folder(tmp_path, 8, 3)
    with pytest.raises(ImageFolderError, match="does not exist"):
        load_image_folder(tmp_path / "nope", 8, 3)
    _write(tmp_path / "x.png", (8, 8))
    with pytest.raises(ImageFolderError, match="image_size"):
        load_source(DataConfig(name="image_folder", folder=str(tmp_path)))


# --- toy distributions ---------------------------------------------------------------------

def test_gaussian_1d_moments():
    samples = TOY_DISTRIBUTIONS["gaussian_1d"].sample(tf.constant([1, 2], tf.int64), 20000).numpy()
    assert samples.shape == (20000, 1)
    assert samples.mean() == pytest.approx(4.0, abs=0.02)
    assert samples.std() == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize("name,modes,sigma", [("ring", 8, 0.01), ("grid", 25, 0.05)])
def test_mixtures_cover_modes_with_right_spread(name, modes, sigma):
    toy = TOY_DISTRIBUTIONS[name]
    samples = toy.sample(tf.constant([3, 4], tf.int64), 25000).numpy()
    distances = np.linalg.norm(samples[:, None] - toy.modes[None], axis=2)
    nearest = distances.argmin(1)
    counts = np.bincount(nearest, minlength=modes)
    assert len(toy.modes) == modes and counts.min() > 0.7 * len(samples) / modes
    offsets = samples - toy.modes[nearest]
    assert offsets.std() == pytest.approx(sigma, rel=0.05)
    if name == "ring":
        np.testing.assert_allclose(np.linalg.norm(toy.modes, axis=1), 1.0)
    else:
        assert set(toy.modes.ravel()) == {-4.0, -2.0, 0.0, 2.0, 4.0}


# --- tf.data pipeline ----------------------------------------------------------------------

def _batches(dataset, count):
    return [{key: value.numpy() for key, value in batch.items()} for batch, _ in zip(dataset, range(count))]


def test_pipeline_layout_range_and_determinism(idx_dir, tmp_path):
    source = load_source(DataConfig(idx_dir=str(idx_dir), data_dir=str(tmp_path)))
    first = _batches(make_train_dataset(source, 8, 3, 5, seed=1), 2)
    again = _batches(make_train_dataset(source, 8, 3, 5, seed=1), 2)
    other = _batches(make_train_dataset(source, 8, 3, 5, seed=2), 1)
    batch = first[0]
    assert batch["real"].shape == (8, 3, 28, 28, 1) and batch["real"].dtype == np.float32
    assert batch["real"].min() >= -1.0 and batch["real"].max() <= 1.0
    assert batch["label"].shape == (8, 3)
    assert batch["z_discriminator"].shape == (8, 3, 5) and batch["z_generator"].shape == (8, 5)
    assert batch["epsilon"].shape == (8, 3)
    for key in batch:
        np.testing.assert_array_equal(first[0][key], again[0][key])
    assert not np.array_equal(first[0]["real"], other[0]["real"])
    assert not np.array_equal(first[0]["z_generator"], first[1]["z_generator"])


def test_pipeline_epochs_are_permutations_and_resume_is_exact(idx_dir, tmp_path):
    source = load_source(DataConfig(idx_dir=str(idx_dir), data_dir=str(tmp_path), limit=100))
    per_epoch = steps_per_epoch(source, 16, 2)
    assert per_epoch == 3  # 100 // 32: drop_remainder
    labels_seen = _batches(make_train_dataset(source, 16, 2, 4, seed=0), per_epoch)
    flat = np.concatenate([b["real"].reshape(32, -1) for b in labels_seen])
    assert len(np.unique(flat, axis=0)) == 96  # no example twice within an epoch
    full = _batches(make_train_dataset(source, 16, 2, 4, seed=0), 8)
    resumed = _batches(make_train_dataset(source, 16, 2, 4, seed=0, start_step=5), 3)
    for expected, got in zip(full[5:], resumed):
        for key in expected:
            np.testing.assert_array_equal(expected[key], got[key])


def test_pipeline_refuses_dataset_smaller_than_a_step(idx_dir, tmp_path):
    source = load_source(DataConfig(idx_dir=str(idx_dir), data_dir=str(tmp_path), limit=10))
    with pytest.raises(DataError, match="fewer than one step"):
        make_train_dataset(source, 8, 2, 4, seed=0)


def test_toy_pipeline_is_endless_and_resumable():
    source = load_source(DataConfig(name="ring"))
    assert source.num_examples is None and source.element_shape == (2,)
    full = _batches(make_train_dataset(source, 4, 1, 2, seed=0), 4)
    resumed = _batches(make_train_dataset(source, 4, 1, 2, seed=0, start_step=3), 1)
    np.testing.assert_array_equal(full[3]["real"], resumed[0]["real"])


def test_stacked_fashion_mnist_stacks_three_independent_images_with_the_triple_as_label(tmp_path):
    from tests.helpers import write_idx_dataset
    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source

    idx = write_idx_dataset(tmp_path / "idx", count=200)
    base = load_source(DataConfig(name="fashion_mnist", idx_dir=str(idx), data_dir=str(tmp_path / "tfds")))
    stacked = load_source(DataConfig(name="stacked_fashion_mnist", idx_dir=str(idx), data_dir=str(tmp_path / "tfds")))
    assert stacked.images.shape == (200, 28, 28, 3) and stacked.element_shape == (28, 28, 3)
    np.testing.assert_array_equal(stacked.images[..., 0], base.images[..., 0])  # channel 0 in order
    assert not np.array_equal(stacked.images[..., 1], stacked.images[..., 2])  # the others drawn independently
    for index in (0, 17, 199):
        a, b, c = (int(stacked.labels[index]) // 100, int(stacked.labels[index]) // 10 % 10, int(stacked.labels[index]) % 10)
        for channel, label in enumerate((a, b, c)):
            match = np.where((base.images[..., 0] == stacked.images[index, ..., channel]).all(axis=(1, 2)))[0]
            assert label in base.labels[match]
    again = load_source(DataConfig(name="stacked_fashion_mnist", idx_dir=str(idx), data_dir=str(tmp_path / "tfds"), limit=50))
    np.testing.assert_array_equal(again.images, stacked.images[:50])  # a fixed draw
    assert len(stacked.class_names) == 1000
