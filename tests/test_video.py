"""Video: Moving Fashion-MNIST, users' clip folders, the two video families end to end, the
video measures."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from tfgan_app.data.video import (
    VideoError, bounce, clip_paths, load_video_folder, moving_clips, read_clip, write_gif, write_mp4,
)
from tfgan_app.metrics.video import content_consistency, held_content_agreement, video_rows

needs_imageio = pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is None,
                                   reason="imageio-ffmpeg (the video extra) is not installed")


def garments(count: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, 4:24, 6:22] = rng.integers(100, 255, (count, 20, 16))
    return images, np.arange(count, dtype=np.int32) % 10


def test_bouncing_paths_stay_inside_and_reflect_at_the_edges():
    positions = bounce(np.array([[0.0, 10.0]]), np.array([[3.0, -4.0]]), frames=8, span=10)
    assert positions.min() >= 0 and positions.max() <= 10
    np.testing.assert_array_equal(positions[0, :, 0], [0, 3, 6, 9, 8, 5, 2, 1])  # x turns back at 10
    np.testing.assert_array_equal(positions[0, :, 1], [10, 6, 2, 2, 6, 10, 6, 2])  # y bounces at 0 and 10


def test_moving_clips_are_reproducible_move_and_are_labelled_by_item_and_direction():
    images, classes = garments()
    made = moving_clips(images, classes, count=12, seed=3, frames=8, size=32, item_size=16)
    again = moving_clips(images, classes, count=12, seed=3, frames=8, size=32, item_size=16)
    np.testing.assert_array_equal(made.clips, again.clips)
    assert made.clips.shape == (12, 8, 32, 32, 1) and made.clips.dtype == np.uint8
    # One item of 16x16 per frame, moved between frames: the bright area keeps its size,
    # its centre changes.
    bright = made.clips[..., 0] > 0
    assert np.all(bright.sum((2, 3)) <= 16 * 16)
    centres = [np.argwhere(frame).mean(0) for frame in bright[0]]
    assert np.linalg.norm(centres[-1] - centres[0]) > 1.0
    assert made.labels.min() >= 0 and made.labels.max() < 40
    np.testing.assert_array_equal(made.labels // 4, made.items[:, 0])
    other = moving_clips(images, classes, count=12, seed=4, frames=8, size=32, item_size=16)
    assert not np.array_equal(made.clips, other.clips)
    with pytest.raises(VideoError, match="video_item = 40 is larger"):
        moving_clips(images, classes, 1, 0, size=32, item_size=40)


def test_a_folder_of_gifs_videos_and_frame_folders_becomes_clips_and_a_broken_file_is_named(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    root = tmp_path / "clips"
    (root / "walk").mkdir(parents=True)
    write_gif(root / "a.gif", rng.integers(0, 255, (6, 20, 24, 3), dtype=np.uint8))
    for index in range(5):  # a folder of frames is one clip
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(root / "walk" / f"{index:03d}.png")
    clips, skipped = load_video_folder(root, frames=4, size=8, channels=1)
    assert clips.shape == (2, 4, 8, 8, 1) and clips.dtype == np.uint8 and not skipped
    assert [path.name for path in clip_paths(root)] == ["a.gif", "walk"]
    (root / "broken.gif").write_bytes(b"GIF89a not really")
    with pytest.raises(VideoError, match=r"broken\.gif: not a readable clip.*skip"):
        load_video_folder(root, frames=4, size=8, channels=1)
    clips, skipped = load_video_folder(root, frames=4, size=8, channels=3, on_bad="skip")
    assert clips.shape == (2, 4, 8, 8, 3) and [path.name for path, _ in skipped] == ["broken.gif"]
    with pytest.raises(VideoError, match=r"5 frames, fewer than data.video_frames = 6"):
        read_clip(root / "walk", frames=6, size=8, channels=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoError, match="holds no clips"):
        clip_paths(tmp_path / "empty")


@needs_imageio
def test_an_mp4_clip_is_written_and_read_back(tmp_path):
    clip = np.zeros((8, 32, 32, 1), np.uint8)
    for frame in range(8):
        clip[frame, 8:24, 2 + 2 * frame : 10 + 2 * frame] = 255
    write_mp4(tmp_path / "moving.mp4", clip)
    read = read_clip(tmp_path / "moving.mp4", frames=8, size=32, channels=1)
    assert read.shape == (8, 32, 32, 1)
    # Lossy, but the bright bar is where it was drawn in every frame.
    assert np.abs(read.astype(int) - clip.astype(int)).mean() < 12


def test_content_consistency_counts_the_frames_in_each_clips_most_frequent_class():
    assert content_consistency(np.array([[3, 3, 3, 3], [1, 1, 2, 1]])) == pytest.approx((1.0 + 0.75) / 2)


class _FakeExtractor:
    """Features: the mean pixel of each example and its square; classes: the sign of its mean."""

    name, layer = "fake", "features"

    def run(self, data):
        means = data.reshape(len(data), -1).mean(1)
        features = np.stack([means, means**2, np.sin(means)], 1)
        probabilities = np.stack([means < 0, means >= 0], 1).astype(float)
        return features, probabilities


def test_video_rows_are_zero_for_the_same_clips_and_grow_with_a_shift():
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (200, 4, 8, 8, 1)).astype(np.float32)
    same = {row["metric"]: row["value"] for row in video_rows(real, real, _FakeExtractor(), _FakeExtractor())}
    assert same["fvd"] == pytest.approx(0.0, abs=1e-9) and same["frame_fid"] == pytest.approx(0.0, abs=1e-9)
    shifted = {row["metric"]: row["value"] for row in video_rows(real, real + 0.3, _FakeExtractor(), _FakeExtractor())}
    assert shifted["fvd"] > 0.05 and shifted["frame_fid"] > 0.05
    # Frames whose brightness flips sign within a clip are inconsistent.
    flicker = np.concatenate([np.full((10, 2, 8, 8, 1), -0.5), np.full((10, 2, 8, 8, 1), 0.5)], axis=1)
    assert {row["metric"]: row["value"] for row in video_rows(real[:10], flicker, _FakeExtractor(), _FakeExtractor())}[
        "content_consistency"] == pytest.approx(0.5)


def test_held_content_agreement_compares_the_pairs_majority_classes():
    bright, dark = np.full((1, 3, 4, 4, 1), 0.5), np.full((1, 3, 4, 4, 1), -0.5)
    first = np.concatenate([bright, bright, dark, dark])
    second = np.concatenate([bright, dark, dark, bright])
    assert held_content_agreement(first, second, _FakeExtractor()) == pytest.approx(0.5)
    assert held_content_agreement(first, first, _FakeExtractor()) == 1.0


SMALL = ["data.video_frames=8", "data.video_size=16", "data.video_item=8", "data.limit=24", "train.batch_size=4",
         "train.steps=4", "train.checkpoint_every=2", "train.log_every=2", "sampling.every=2", "sampling.num_samples=3",
         "train.steps_per_execution=1", "model.latent_dim=6"]


@pytest.mark.parametrize("pipeline, width", [("moving_fashion_mnist_mocogan", "mocogan.width=4"),
                                             ("moving_fashion_mnist_video", "video.width=4")])
def test_the_video_pipelines_train_resume_export_serve_and_generate_gifs(pipeline, width, tmp_path, capsys):
    from PIL import Image

    from tests import serving_double
    from tests.helpers import assert_resumes_exactly
    from tfgan_app import generate as generate_cli
    from tfgan_app.export import export_run
    from tfgan_app.gans.registry import family_source, load_config
    from tfgan_app.serving import RestClient

    config = load_config(pipeline, [*SMALL, width])
    source = family_source(config)
    assert source.element_shape == (8, 16, 16, 1) and source.images.shape == (24, 8, 16, 16, 1)
    run = assert_resumes_exactly(config, tmp_path / "runs", stop_step=2)
    sheet = np.asarray(Image.open(run / "samples" / "step_00000004.png"))
    assert sheet.shape[1] > 7 * 16 > sheet.shape[0]  # 3 clips as rows of 8 frames
    [export] = export_run(run, tmp_path / "models", formats=("savedmodel", "onnx"))
    manifest = export.manifest
    assert manifest["output"] == "video" and manifest["output_shape"] == [8, 16, 16, 1]
    inputs = {entry["name"]: entry["shape"] for entry in manifest["inputs"]}
    rng = np.random.default_rng(0)
    request = {name: rng.standard_normal((2, *shape)).astype(np.float32) for name, shape in inputs.items()}
    server, url = serving_double.start_rest(serving_double.ModelRepository({pipeline: tmp_path / "models" / pipeline}))
    try:
        video = RestClient(url).predict(pipeline, request, output_name="video")["video"]
    finally:
        server.shutdown()
    assert video.shape == (2, 8, 16, 16, 1) and np.abs(video).max() <= 1.0
    out = tmp_path / "clips"
    for runtime in ("tf", "onnx"):
        assert generate_cli.main(["--model", str(tmp_path / "models" / pipeline), "--runtime", runtime, "--num", "3",
                                  "--out", str(out), "--overwrite"]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["000000.gif", "000001.gif", "000002.gif", "contact_sheet.png"]
    with Image.open(out / "000001.gif") as gif:
        assert gif.n_frames == 8 and gif.size == (16, 16)
    assert generate_cli.main(["--model", str(tmp_path / "models" / pipeline), "--num", "3",
                              "--out", str(tmp_path / "sheet.png")]) == 0
    assert np.asarray(Image.open(tmp_path / "sheet.png")).shape[:2] == sheet.shape[:2]  # 3 clips of 8 frames
    assert generate_cli.main(["--model", str(tmp_path / "models" / pipeline), "--num", "2",
                              "--out", str(tmp_path / "one.gif")]) == 2
    assert "one .gif holds one clip" in capsys.readouterr().err


def test_mocogan_holds_the_content_code_across_frames_and_the_motion_codes_move_it(tmp_path):
    """The exported generator's contract: its inputs are the content code and the per-frame
    motion noise; the same codes give the same clip, and new motion noise under the same
    content changes the clip frame by frame."""
    from tfgan_app.export import export_run
    from tfgan_app.gans.registry import load_config
    from tfgan_app.training.trainer import train

    config = load_config("moving_fashion_mnist_mocogan", [*SMALL, "mocogan.width=4", "train.steps=2"])
    import os

    train(config, tmp_path / "run", progress_stream=open(os.devnull, "w"))
    [export] = export_run(tmp_path / "run", tmp_path / "models", formats=("savedmodel",))
    assert [entry["name"] for entry in export.manifest["inputs"]] == ["z_content", "z_motion"]
    assert export.manifest["inputs"][1]["shape"] == [8, 10]
    import tensorflow as tf

    serve = tf.saved_model.load(str(export.path)).signatures["serving_default"]
    rng = np.random.default_rng(0)
    content = tf.constant(np.repeat(rng.standard_normal((1, 6)), 2, 0), tf.float32)
    motion = rng.standard_normal((2, 8, 10)).astype(np.float32)
    first = serve(z_content=content, z_motion=tf.constant(motion))["video"].numpy()
    again = serve(z_content=content, z_motion=tf.constant(motion))["video"].numpy()
    np.testing.assert_array_equal(first, again)
    assert np.abs(first[0] - first[1]).max() > 1e-4  # same content, other motion: other frames
    # Motion noise after frame t does not change frames up to t (the GRU is causal).
    later = motion.copy()
    later[:, 5:] = rng.standard_normal((2, 3, 10))
    changed = serve(z_content=content, z_motion=tf.constant(later))["video"].numpy()
    np.testing.assert_allclose(changed[:, :5], first[:, :5], atol=1e-6)
    assert np.abs(changed[:, 5:] - first[:, 5:]).max() > 1e-4


def test_the_video_families_refuse_image_data_and_odd_clip_sizes():
    from tfgan_app.data import DataError
    from tfgan_app.gans.build import build_model
    from tfgan_app.gans.registry import family_source, load_config

    with pytest.raises(DataError, match="the video families train on moving_fashion_mnist or video_folder"):
        family_source(load_config("moving_fashion_mnist_video", ["data.name=fashion_mnist"]))
    config = load_config("moving_fashion_mnist_video", [*SMALL, "data.video_size=12", "data.video_item=8"])
    with pytest.raises(ValueError, match="data.video_size = 12: the video networks take multiples of 8"):
        build_model(config, family_source(config).element_shape)


def test_evaluate_measures_a_video_generator_on_the_pinned_classifiers_and_refuses_other_clips(tmp_path, capsys):
    import json
    import os

    from tfgan_app import evaluate as evaluate_cli
    from tfgan_app.gans.registry import load_config
    from tfgan_app.training.trainer import train

    config = load_config("moving_fashion_mnist_mocogan", ["data.limit=8", "train.batch_size=2", "train.steps=1",
                                                          "mocogan.width=2", "model.latent_dim=4",
                                                          "train.steps_per_execution=1"])
    train(config, tmp_path / "run", progress_stream=open(os.devnull, "w"))
    assert evaluate_cli.main(["--run", str(tmp_path / "run"), "--num", "60", "--real-floor",
                              "--json", str(tmp_path / "m.json")]) == 0
    result = json.loads((tmp_path / "m.json").read_text())
    generated = {row["metric"]: row for row in result["metrics"]}
    floor = {row["metric"]: row["value"] for row in result["real_floor"]}
    assert set(generated) == {"fvd", "frame_fid", "content_consistency"}
    assert generated["fvd"]["extractor"] == "pinned_classifier[moving_fashion_mnist]/v1"
    assert generated["frame_fid"]["extractor"] == "pinned_classifier[moving_fashion_mnist_frames]/v1"
    assert generated["frame_fid"]["num_fake"] == 60 * 16  # every frame
    # One step of training is far from the clips; real clips agree with each other.
    assert floor["fvd"] < generated["fvd"]["value"] and floor["frame_fid"] < generated["frame_fid"]["value"]
    assert 0.8 < floor["content_consistency"] <= 1.0
    small = load_config("moving_fashion_mnist_video", ["data.limit=8", "train.batch_size=2", "train.steps=1",
                                                       "video.width=2", "data.video_frames=8", "data.video_size=16",
                                                       "data.video_item=8", "train.steps_per_execution=1"])
    train(small, tmp_path / "small", progress_stream=open(os.devnull, "w"))
    assert evaluate_cli.main(["--run", str(tmp_path / "small"), "--num", "10"]) == 2
    assert "no clip classifier exists" in capsys.readouterr().err
