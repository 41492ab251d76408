"""Fault injection: the faults a long training job meets (a typo, a full disk, a second
terminal, a killed process, a corrupted file, a diverging run) end in a clear message or
a correct result, and no file of the user's is lost or overwritten."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.helpers import tiny_config
from tfgan_app import evaluate as evaluate_cli
from tfgan_app import generate as generate_cli
from tfgan_app import train as train_cli
from tfgan_app.config import ConfigError
from tfgan_app.gans.registry import load_config
from tfgan_app.data.folder import ImageFolderError, load_image_folder
from tfgan_app.data.tasks import TaskDataError, read_csv_series
from tfgan_app.export import ExportError, export_run
from tfgan_app.training import rundir
from tfgan_app.training.trainer import RunDirError, train

QUIET = open(os.devnull, "w")
REPO = Path(__file__).resolve().parent.parent


def ring_config(**train_settings):
    return tiny_config(data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
                       train={"steps": 6, "checkpoint_every": 2, "log_every": 2, "keep_checkpoints": 5,
                              **train_settings},
                       export={"enabled": False})


def steps_on_disk(run_dir):
    return sorted(rundir.checkpoint_steps(run_dir / "checkpoints"))


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- 1. a folder that is not a run ------------------------------------------------------


def test_out_on_a_folder_of_user_files_is_refused_and_nothing_is_touched(tmp_path):
    folder = tmp_path / "mine"
    (folder / "samples").mkdir(parents=True)
    files = {"config.json": "{\"mine\": 1}", "run.json": "keep", "samples/step_00000005.png": "png"}
    for name, text in files.items():
        (folder / name).write_text(text)
    with pytest.raises(RunDirError, match=r"mine is a folder with other files in it \(config.json, run.json, samples\)"):
        train(ring_config(), folder, progress_stream=QUIET)
    assert {name: (folder / name).read_text() for name in files} == files
    assert not (folder / rundir.MARKER).exists()


# --- 2, 3. a broken newest checkpoint -----------------------------------------------------


@pytest.mark.parametrize("damage", ["missing_index", "truncated", "bit_flip"])
def test_resume_falls_back_past_a_broken_newest_checkpoint_and_keeps_the_older_ones(tmp_path, damage):
    run = tmp_path / "run"
    train(ring_config(), run, progress_stream=QUIET)
    assert steps_on_disk(run) == [2, 4, 6]
    data = next((run / "checkpoints").glob("ckpt-6.data-*"))
    if damage == "missing_index":
        (run / "checkpoints" / "ckpt-6.index").unlink()
    elif damage == "truncated":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    else:
        raw = bytearray(data.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        data.write_bytes(bytes(raw))
    result = train(ring_config(steps=8), run, resume=True, progress_stream=QUIET)
    assert result.start_step == 4 and result.step == 8 and result.status == "completed"
    assert 2 in steps_on_disk(run) and 4 in steps_on_disk(run)  # nothing older was deleted
    broken = sorted(path.name for path in (run / "checkpoints" / rundir.BROKEN).iterdir())
    assert broken and all(name.startswith("ckpt-6.") for name in broken)  # moved aside, not deleted


def test_a_run_whose_checkpoints_are_all_broken_is_not_silently_restarted(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=2), run, progress_stream=QUIET)
    (run / "checkpoints" / "ckpt-2.index").unlink()
    with pytest.raises(RunDirError, match=r"no checkpoint .* can be restored \(step 2: its .index file is missing\)"):
        train(ring_config(), run, resume=True, progress_stream=QUIET)
    assert (run / "checkpoints" / rundir.BROKEN).is_dir()


def test_leftover_temporary_checkpoint_folders_are_cleaned_at_the_next_start(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=2), run, progress_stream=QUIET)
    leftover = run / "checkpoints" / "ckpt-4_temp"
    leftover.mkdir()
    (leftover / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"half")
    train(ring_config(steps=4), run, resume=True, progress_stream=QUIET)
    assert not leftover.exists() and steps_on_disk(run) == [2, 4]


# --- 4. two processes on one run ---------------------------------------------------------


def test_a_second_trainer_or_exporter_on_a_run_in_use_fails_at_once_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=2), run, progress_stream=QUIET)
    config_before = (run / "config.json").read_text()
    with rundir.RunLock(run, "training"):
        started = time.perf_counter()
        with pytest.raises(RunDirError, match=rf"in use by process {os.getpid()} \(training, started"):
            train(ring_config(steps=4), run, resume=True, progress_stream=QUIET)
        with pytest.raises(ExportError, match=rf"in use by process {os.getpid()}"):
            export_run(run, tmp_path / "models")
        assert time.perf_counter() - started < 30
    assert (run / "config.json").read_text() == config_before and steps_on_disk(run) == [2]
    # Released on exit: the run continues.
    assert train(ring_config(steps=4), run, resume=True, progress_stream=QUIET).step == 4


def test_the_lock_dies_with_its_process(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    code = f"from tfgan_app.training.rundir import RunLock; l = RunLock(__import__('pathlib').Path({str(run)!r}), 't').__enter__(); print('held', flush=True); import time; time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunDirError, match=rf"process {holder.pid}"):
            rundir.RunLock(run, "second").__enter__()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with rundir.RunLock(run, "after the kill"):
        pass


# --- 5. non-finite values ------------------------------------------------------------------


def test_rollback_restores_the_last_finite_checkpoint_with_lower_rates_and_logs_it(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=4), run, progress_stream=QUIET)
    config = ring_config(steps=40, on_non_finite="rollback", rollback_factor=0.5, max_rollbacks=2,
                         non_finite_check_every=1)
    config.optimizer.generator.learning_rate = config.optimizer.discriminator.learning_rate = 1e30
    result = train(config, run, resume=True, progress_stream=QUIET)
    assert result.status == "non_finite" and result.last_checkpoint_step == 4  # 1e30 / 4 still diverges
    info = json.loads((run / "run.json").read_text())
    assert [event["to_step"] for event in info["rollbacks"]] == [4, 4]
    assert [event["learning_rates"] for event in info["rollbacks"]] == [[5e29, 5e29], [2.5e29, 2.5e29]]
    logged = [line for line in read_jsonl(run / "metrics.jsonl") if "rollback" in line]
    assert [line["rollback"] for line in logged] == [1, 2]
    assert steps_on_disk(run) == [2, 4]  # nothing non-finite was written
    assert "last good checkpoint is step 4" in result.message


def test_a_checkpoint_is_never_written_with_non_finite_state_and_never_named_good(tmp_path, monkeypatch):
    """Finite losses can hide an Inf in an EMA copy or an optimizer moment."""
    config = ring_config(steps=4, ema_decay=0.9)
    from tfgan_app.gans.base import ExponentialMovingAverage

    original = ExponentialMovingAverage.update

    def poisoned(self, inputs=None):
        original(self, inputs)
        self.average.trainable_variables[0].assign(tf.fill(self.average.trainable_variables[0].shape, np.inf))

    monkeypatch.setattr(ExponentialMovingAverage, "update", poisoned)
    result = train(config, tmp_path / "run", progress_stream=QUIET)
    assert result.status == "non_finite" and "checkpoint state (ema_generator)" in result.message
    assert steps_on_disk(tmp_path / "run") == [] and "No checkpoint was written yet" in result.message


def test_resume_skips_a_checkpoint_holding_non_finite_values(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=4), run, progress_stream=QUIET)
    # Make step 6 by hand with an Inf in the generator optimizer's moments.
    from tfgan_app.gans import build_model
    from tfgan_app.training.trainer import make_checkpoint

    config = ring_config(steps=4)
    model = build_model(config, (2,))
    checkpoint = make_checkpoint(model)
    checkpoint.restore(str(run / "checkpoints" / "ckpt-4")).assert_existing_objects_matched()
    moment = next(v for v in model.generator_optimizer.variables if len(v.shape) >= 1)  # a moment, not a counter
    moment.assign(tf.fill(moment.shape, np.inf))
    checkpoint.write(str(run / "checkpoints" / "ckpt-6"))
    result = train(ring_config(steps=8), run, resume=True, progress_stream=QUIET)
    assert result.start_step == 4 and result.status == "completed"
    assert (run / "checkpoints" / rundir.BROKEN / "ckpt-6.index").is_file()


# --- 5b. a discriminator that wins outright ------------------------------------------------


def watch_reports(windows, patience=1000, every=100):
    """The steps at which a DiscriminatorWinsWatch reports, fed these window means of d_loss."""
    from tfgan_app.training.callbacks import DiscriminatorWinsWatch

    reports = []
    watch = DiscriminatorWinsWatch(0.05, patience, lambda step, since, d_loss: reports.append((step, since)))
    for index, d_loss in enumerate(windows):
        watch.observe(every * index, every * (index + 1), d_loss)
    return reports


def test_the_watch_reports_a_long_spell_of_separation_once_despite_spikes_and_not_a_short_one():
    # The d_loss windows of an R3GAN run at gamma 0.05 that D won (Stacked Fashion-MNIST, to step 1,700).
    failed = [0.073, 0.0198, 0.0036, 0.0026, 0.002, 0.1451, 0.0062, 0.0031, 0.0022, 0.0018, 0.0016,
              0.0016, 0.2993, 0.0042, 0.0027, 0.0022, 0.002]
    assert watch_reports(failed) == [(1000, 100)]
    # Seed 1 of the same study: 300 steps under the level, then D and G traded again.
    recovered = [0.4, 0.3, 0.2, 0.1, 0.04, 0.03, 0.02, 0.3, 0.4] + [0.5] * 10
    assert watch_reports(recovered) == []
    assert watch_reports([0.01] * 9) == []  # 900 steps: not yet
    assert watch_reports([0.01] * 30) == [(1000, 0)]  # once


def test_a_run_whose_discriminator_wins_outright_is_warned_in_the_log_and_run_json(tmp_path, caplog):
    import logging

    config = ring_config(steps=160, log_every=10, checkpoint_every=80, discriminator_wins_warning_steps=60)
    config.optimizer.generator.learning_rate = 1e-9  # G stays where it started: D soon separates
    config.optimizer.discriminator.learning_rate = 1e-2
    with caplog.at_level(logging.WARNING):
        result = train(config, tmp_path / "run", progress_stream=QUIET)
    assert result.status == "completed"  # a warning, not a stop
    warnings = json.loads((tmp_path / "run" / "run.json").read_text())["warnings"]
    assert len(warnings) == 1 and 60 <= warnings[0]["step"] <= 160, warnings
    assert "loss.r1_weight 0.0" in warnings[0]["message"] and "learning_rate (0.01)" in warnings[0]["message"]
    assert "D has told every real image" in caplog.text
    # The Wasserstein critic's loss has no floor: not watched.
    config.loss.name = "wasserstein"
    train(config, tmp_path / "critic", progress_stream=QUIET)
    assert "warnings" not in json.loads((tmp_path / "critic" / "run.json").read_text())


# --- 6, 8. bad input and failures end in one message, run.json in a final status ----------


def test_a_batch_that_cannot_fit_is_refused_before_anything_is_allocated(tmp_path, capsys):
    code = train_cli.main(["--pipeline", "toy_ring_mlp", "--set", "train.batch_size=100000000", "--steps", "2",
                           "--out", str(tmp_path / "run")])
    assert code == 2 and "train.batch_size 100000000" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # a failed start leaves no folder behind


def test_a_folder_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    """What a read-only --out does (the tests run as root, for whom no folder is read-only)."""
    def refused(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refused)
    with pytest.raises(RunDirError, match=r"cannot write the run directory .*: Permission denied"):
        train(ring_config(), tmp_path / "locked" / "run", progress_stream=QUIET)


@pytest.mark.parametrize("where", ["is_a_file", "under_a_file"])
def test_out_that_is_or_lies_under_a_file_is_named(tmp_path, capsys, where):
    (tmp_path / "file").write_text("mine")
    out = tmp_path / "file" if where == "is_a_file" else tmp_path / "file" / "run"
    assert train_cli.main(["--pipeline", "gaussian_1d", "--steps", "2", "--out", str(out)]) == 2
    message = capsys.readouterr().err
    assert ("is a file" if where == "is_a_file" else "lies under the file") in message and "Traceback" not in message
    assert (tmp_path / "file").read_text() == "mine"


def test_a_full_disk_ends_in_one_message_and_a_failed_run_json(tmp_path, capsys, monkeypatch):
    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "checkpoints"))

    monkeypatch.setattr(tf.train.CheckpointManager, "save", full)
    code = train_cli.main(["--pipeline", "gaussian_1d", "--steps", "4", "--set", "train.checkpoint_every=2",
                           "--set", "export.enabled=false", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1 and "No space left on device" in err and "Traceback" not in err
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "failed" and "No space left" in info["message"]


def test_a_second_interrupt_aborts_with_a_message_and_an_interrupted_run_json(tmp_path, capsys, monkeypatch):
    import keras

    def aborted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "fit", aborted)
    code = train_cli.main(["--pipeline", "gaussian_1d", "--steps", "4", "--out", str(tmp_path / "run")])
    assert code == 130 and "aborted by a second interrupt" in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "interrupted"


def test_cli_input_mistakes_get_one_message(tmp_path, capsys):
    run = tmp_path / "run"
    assert train_cli.main(["--pipeline", "gaussian_1d", "--steps", "2", "--out", str(run),
                           "--set", "export.enabled=false"]) == 0
    capsys.readouterr()
    # A mistyped --resume directory does not start the default pipeline from scratch.
    assert train_cli.main(["--resume", "--out", str(tmp_path / "rn")]) == 2
    assert "holds no run" in capsys.readouterr().err and not (tmp_path / "rn").exists()
    # Rerunning the same command plus --resume is accepted; another pipeline is not.
    assert train_cli.main(["--pipeline", "gaussian_1d", "--steps", "4", "--out", str(run), "--resume",
                           "--set", "export.enabled=false"]) == 0
    assert train_cli.main(["--pipeline", "toy_ring_mlp", "--out", str(run), "--resume"]) == 2
    assert "another pipeline" in capsys.readouterr().err
    # Nothing to train.
    assert train_cli.main(["--pipeline", "gaussian_1d", "--steps", "0", "--out", str(tmp_path / "zero")]) == 2
    assert "nothing to train" in capsys.readouterr().err and not (tmp_path / "zero").exists()
    with pytest.raises(ConfigError, match="optimizer.generator.learning_rate must be > 0, got -0.001"):
        load_config("gaussian_1d", ["optimizer.generator.learning_rate=-1e-3"])
    with pytest.raises(ConfigError, match="rollback.*learning_rate_decay"):
        load_config("fashion_mnist_cyclegan", ["train.on_non_finite=rollback"])


# --- 7. users' odd images ----------------------------------------------------------------


def test_16_bit_images_are_scaled_and_oversized_images_are_named_or_skipped(tmp_path, monkeypatch):
    gradient = (np.arange(16 * 16).reshape(16, 16) * 257).astype(np.uint16)  # 0 .. 65535
    (tmp_path / "a").mkdir()
    Image.fromarray(gradient).save(tmp_path / "a" / "deep.png")
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "a" / "plain.png")
    images, _, _, _ = load_image_folder(tmp_path, 16, 1)
    deep = images[0, ..., 0]
    np.testing.assert_array_equal(deep.ravel(), np.arange(256))  # 16-bit / 257 = the 8-bit ramp, not clipped
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 16x16 = 256 > 2 x 100: a "bomb"
    with pytest.raises(ImageFolderError, match=r"deep.png: it has more pixels than PIL's decompression-bomb limit"):
        load_image_folder(tmp_path, 16, 1)
    with pytest.raises(ImageFolderError, match="none of its 2 files could be read"):
        load_image_folder(tmp_path, 16, 1, on_bad_image="skip")


def test_transparent_images_are_composited_on_white():
    from tfgan_app.data.folder import to_mode

    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200  # red where opaque, random-looking where transparent
    rgba[:2, :, 3] = 255
    converted = np.asarray(to_mode(Image.fromarray(rgba, "RGBA"), 3))
    assert (converted[:2] == [200, 0, 0]).all() and (converted[2:] == 255).all()


def test_a_headerless_csv_whose_first_row_holds_text_is_an_error(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("1.0,abc\n2.0,3.0\n")
    with pytest.raises(TaskDataError, match="row 1 mixes numbers and text"):
        read_csv_series(path)
    path.write_text("a,b\n1.0,2.0\n")
    assert read_csv_series(path)[1] == ["a", "b"]


# --- exports, generate, evaluate ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    config = tiny_config(data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
                         train={"steps": 2, "checkpoint_every": 2}, export={"enabled": False})
    config.pipeline = "ring.toml"
    train(config, root / "run", progress_stream=QUIET)
    return root


def test_a_second_export_racing_the_first_takes_the_next_version(tiny_export, monkeypatch):
    from tfgan_app.export import artifacts

    out = tiny_export / "race"
    original = artifacts.check_onnx

    def another_export_lands_meanwhile(path):
        (out / "ring" / "1").mkdir(parents=True, exist_ok=True)
        return original(path)

    monkeypatch.setattr(artifacts, "check_onnx", another_export_lands_meanwhile)
    [result] = export_run(tiny_export / "run", out)
    assert result.version == 2 and json.loads((out / "ring" / "2" / "export.json").read_text())["version"] == 2
    assert not (out / ".staging").exists()


@pytest.mark.parametrize("kill_when", ["*", "*/saved_model.pb", "*/model.onnx"])
def test_a_killed_export_leaves_no_version_and_its_staging_is_cleaned_next_time(tiny_export, kill_when):
    """Killed as the staging folder appears, after the SavedModel is written (during its
    verification), and after the ONNX model is written (during its check)."""
    out = tiny_export / f"killed{len(kill_when)}"
    process = subprocess.Popen(
        [sys.executable, "-m", "tfgan_app.export", "--run", str(tiny_export / "run"), "--out", str(out)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not any((out / ".staging").glob(kill_when)) and process.poll() is None:
        time.sleep(0.02)
    assert process.poll() is None, "the export finished before the kill point"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "ring" / "1").exists()
    [result] = export_run(tiny_export / "run", out)
    assert result.version == 1 and not (out / ".staging").exists()


def test_generate_on_damaged_exports_names_the_problem(tiny_export, capsys):
    import shutil

    [result] = export_run(tiny_export / "run", tiny_export / "damaged")
    version = result.path
    cases = {
        "export.json": (lambda: (version / "export.json").unlink(), "tf", "has no export.json"),
        "onnx missing": (lambda: (version / "model.onnx").unlink(), "onnx", "model.onnx is missing"),
        "onnx truncated": (lambda: (version / "model.onnx").write_bytes(b"\x08\x07garbage"), "onnx",
                           "model.onnx is damaged or was altered.*--runtime tf may still work"),
        "pb corrupt": (lambda: (version / "saved_model.pb").write_bytes(b"not a protobuf"), "tf",
                       "saved_model.pb is damaged or was altered"),
        # A manifest without hashes: the runtimes' own checks still name the file.
        "onnx truncated, no hashes": (lambda: (without_hashes(), (version / "model.onnx").write_bytes(b"\x08\x07garbage")),
                                      "onnx", "model.onnx cannot be loaded"),
        "pb corrupt, no hashes": (lambda: (without_hashes(), (version / "saved_model.pb").write_bytes(b"not a protobuf")),
                                  "tf", "SavedModel .* cannot be loaded"),
    }

    def without_hashes():
        manifest = json.loads((version / "export.json").read_text())
        del manifest["sha256"]
        (version / "export.json").write_text(json.dumps(manifest))

    pristine = tiny_export / "pristine"
    shutil.copytree(version, pristine)
    for name, (damage, runtime, message) in cases.items():
        shutil.rmtree(version)
        shutil.copytree(pristine, version)
        damage()
        code = generate_cli.main(["--model", str(version.parent), "--runtime", runtime, "--out", str(tiny_export / "x.png")])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, (name, err)
        assert __import__("re").search(message, err), (name, err)


def test_generate_works_in_bounded_batches_and_refuses_a_giant_grid(tmp_path, exported, capsys):
    result, _ = exported
    assert generate_cli.main(["--model", str(result.path.parent), "--num", "1500", "--out", str(tmp_path / "g.png")]) == 2
    assert "too many for one grid picture" in capsys.readouterr().err
    assert generate_cli.main(["--model", str(result.path.parent), "--num", "1500", "--out", str(tmp_path / "s.npz")]) == 0
    assert np.load(tmp_path / "s.npz")["samples"].shape[0] == 1500
    assert generate_cli.main(["--model", str(result.path.parent), "--num", "3", "--out", str(tmp_path / "folder")]) == 0
    assert sorted(path.name for path in (tmp_path / "folder").iterdir()) == ["000000.png", "000001.png", "000002.png"]


def test_evaluate_refuses_num_zero(capsys, tmp_path):
    assert evaluate_cli.main(["--run", str(tmp_path), "--num", "0"]) == 2
    assert "--num 0" in capsys.readouterr().err
