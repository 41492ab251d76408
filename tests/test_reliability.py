"""A resume that cannot lose a run, artifacts that prove their integrity, user files that
are never overwritten, one input contract for every runtime, and clear refusals of the
settings and data that would otherwise be ignored or trained on silently wrong."""

import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import tiny_config, write_idx_dataset
from tfgan_app import evaluate as evaluate_cli
from tfgan_app import generate as generate_cli
from tfgan_app import train as train_cli
from tfgan_app.config import ConfigError
from tfgan_app.gans.registry import load_config
from tfgan_app.data import DataError
from tfgan_app.export import ExportError, export_run
from tfgan_app.export import __main__ as export_cli
from tfgan_app.export.contract import ContractError, check_inputs, signature_of
from tfgan_app.serving import ServingError
from tfgan_app.serving import check_inputs as serving_check_inputs
from tfgan_app.serving import read_signature_def
from tfgan_app.training import rundir
from tfgan_app.training.trainer import RunDirError, train

QUIET = open(os.devnull, "w")
RING = ["--pipeline", "toy_ring_mlp", "--set", "export.enabled=false", "--set", "train.checkpoint_every=10"]


def ring_config(**train_settings):
    return tiny_config(data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
                       train={"steps": 6, "checkpoint_every": 2, "log_every": 2, "keep_checkpoints": 5,
                              **train_settings},
                       export={"enabled": False})


def checkpoint_files(run: Path) -> dict[str, bytes]:
    folder = run / "checkpoints"
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.name.startswith("ckpt-")}


# --- 1. a resume never discards good checkpoints or silently restarts -----------------------


def test_a_resume_whose_set_changes_the_networks_moves_nothing_and_names_the_change(tmp_path, capsys):
    """The issue's three commands: the first trains, the second (a --set that changes what a
    checkpoint holds) and the third (a plain --resume to a later step) must not lose it."""
    run = str(tmp_path / "r")
    assert train_cli.main([*RING, "--steps", "20", "--out", run]) == 0
    before = checkpoint_files(tmp_path / "r")
    assert set(before) >= {"ckpt-10.index", "ckpt-20.index"}
    capsys.readouterr()
    assert train_cli.main(["--resume", "--out", run, "--steps", "40", "--set", "model.hidden_units=128"]) == 2
    err = capsys.readouterr().err
    assert "intact but does not fit" in err and "model.hidden_units 256 -> 128" in err and "Nothing was moved" in err
    assert checkpoint_files(tmp_path / "r") == before and not (tmp_path / "r" / "checkpoints" / rundir.BROKEN).exists()
    assert json.loads((tmp_path / "r" / "config.json").read_text())["model"]["hidden_units"] == 256
    # The optimizer's structure changes too (a schedule has no learning-rate variable).
    assert train_cli.main(["--resume", "--out", run, "--steps", "40", "--set", "train.learning_rate_decay=none"]) == 2
    assert "train.learning_rate_decay 'linear' -> 'none'" in capsys.readouterr().err
    assert checkpoint_files(tmp_path / "r") == before
    # The original checkpoints are still usable: a plain resume continues from step 20.
    assert train_cli.main(["--resume", "--out", run, "--steps", "40"]) == 0
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert (info["start_step"], info["step"], info["status"]) == (20, 40, "completed")


def test_a_run_whose_checkpoints_were_all_quarantined_is_never_restarted_from_step_zero(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=4), run, progress_stream=QUIET)
    for step in (2, 4):
        (run / "checkpoints" / f"ckpt-{step}.index").unlink()
    with pytest.raises(RunDirError, match="no checkpoint .* can be restored"):
        train(ring_config(steps=8), run, resume=True, progress_stream=QUIET)
    metrics = (run / "metrics.jsonl").read_text()
    with pytest.raises(RunDirError, match=r"no usable checkpoint, and training would restart it from step 0.*ckpt-2, ckpt-4"):
        train(ring_config(steps=8), run, resume=True, progress_stream=QUIET)
    assert (run / "metrics.jsonl").read_text() == metrics  # nothing rewritten from step 0
    assert rundir.checkpoint_steps(run / "checkpoints") == []
    with pytest.raises(ExportError, match=r"no usable checkpoint to export.*ckpt-2, ckpt-4"):
        export_run(run, tmp_path / "models")


def test_a_quarantined_name_is_never_overwritten_by_a_later_one(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=6), run, progress_stream=QUIET)
    first = (run / "checkpoints" / "ckpt-6.index").read_bytes()
    (run / "checkpoints" / "ckpt-6.index").write_bytes(first)  # intact index ...
    data = next((run / "checkpoints").glob("ckpt-6.data-*"))
    data.write_bytes(data.read_bytes()[:8])  # ... truncated data
    assert train(ring_config(steps=6), run, resume=True, progress_stream=QUIET).start_step == 4
    damaged_again = next((run / "checkpoints").glob("ckpt-6.data-*"))
    damaged_again.write_bytes(damaged_again.read_bytes()[:8])
    assert train(ring_config(steps=6), run, resume=True, progress_stream=QUIET).start_step == 4
    assert rundir.quarantined_steps(run / "checkpoints") == ["ckpt-6", "ckpt-6~2"]
    assert (run / "checkpoints" / rundir.BROKEN / "ckpt-6.index").read_bytes() == first


def test_pruning_keeps_keep_checkpoints_across_resumes(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=6, keep_checkpoints=2), run, progress_stream=QUIET)
    assert rundir.checkpoint_steps(run / "checkpoints") == [6, 4]
    train(ring_config(steps=12, keep_checkpoints=2), run, resume=True, progress_stream=QUIET)
    assert rundir.checkpoint_steps(run / "checkpoints") == [12, 10]
    train(ring_config(steps=14, keep_checkpoints=3), run, resume=True, progress_stream=QUIET)
    assert rundir.checkpoint_steps(run / "checkpoints") == [14, 12, 10]


def test_resume_to_an_earlier_step_or_with_init_from_is_refused(tmp_path, capsys):
    run = str(tmp_path / "r")
    assert train_cli.main([*RING, "--steps", "20", "--out", run]) == 0
    capsys.readouterr()
    assert train_cli.main(["--resume", "--out", run, "--steps", "10"]) == 2
    assert "already at step 20, past train.steps = 10" in capsys.readouterr().err
    assert train_cli.main(["--resume", "--out", run, "--steps", "30", "--init-from", run]) == 2
    assert "give one of them" in capsys.readouterr().err
    assert json.loads((tmp_path / "r" / "run.json").read_text())["step"] == 20


# --- 5, 9, 10. settings that were ignored, tracebacks, misleading messages -------------------


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs 0.0: give a number of passes"),
    (["--epochs", "nan"], "--epochs nan"),
    (["--steps", "-3"], "--steps -3: nothing to train"),
    (["--set", "optimizer.generator.learning_rate=nan"], "optimizer.generator.learning_rate = nan: a setting must be a finite number"),
    (["--set", "optimizer.discriminator.learning_rate=inf"], "optimizer.discriminator.learning_rate = inf"),
])
def test_flags_and_settings_that_would_be_ignored_or_poison_training_are_refused(tmp_path, capsys, flags, message):
    assert train_cli.main(["--pipeline", "toy_ring_mlp", "--out", str(tmp_path / "r"), *flags]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_pipeline_files_that_cannot_be_read_get_a_message(tmp_path):
    binary = tmp_path / "latin1.toml"
    binary.write_bytes(b"# caf\xe9\nseed = 1\n")
    with pytest.raises(ConfigError, match=r"latin1.toml: not UTF-8 text \(byte 0xe9 at offset 5\)"):
        load_config(str(binary))
    if os.geteuid() != 0:  # root reads any file
        locked = tmp_path / "locked.toml"
        locked.write_text("seed = 1\n")
        locked.chmod(0)
        with pytest.raises(ConfigError, match="cannot be read"):
            load_config(str(locked))
    with pytest.raises(ConfigError, match="a folder, not a pipeline file"):
        load_config(str(tmp_path))
    notes = tmp_path / "notes.txt"
    notes.write_text("seed = 1\n")
    with pytest.raises(ConfigError, match=r"a pipeline file is .toml or .json \(got .txt\)"):
        load_config(str(notes))


def test_an_unreadable_pipeline_file_is_a_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    pipeline = tmp_path / "mine.toml"
    pipeline.write_text("seed = 1\n")
    real_read_text = Path.read_text

    def denied(self, *args, **kwargs):
        if self == pipeline:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", denied)
    assert train_cli.main(["--pipeline", str(pipeline), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "mine.toml: cannot be read (Permission denied)" in err and "Traceback" not in err


def test_prepared_data_refuses_an_image_size_it_would_ignore(tmp_path):
    from PIL import Image

    from tfgan_app.data import load_source
    from tfgan_app.data.tool import PrepareSettings, prepare_folder

    (tmp_path / "images" / "a").mkdir(parents=True)
    for index in range(4):
        Image.fromarray(np.full((20, 20, 3), index * 40, np.uint8)).save(tmp_path / "images" / "a" / f"{index}.png")
    prepare_folder(tmp_path / "images", tmp_path / "prepared", PrepareSettings(image_size=16))
    config = tiny_config(data={"name": "prepared", "folder": str(tmp_path / "prepared")})
    assert load_source(config.data).element_shape == (16, 16, 3)
    config.data.image_size = 32
    with pytest.raises(DataError, match="data.image_size = 32, but the prepared data .* holds 16x16 images"):
        load_source(config.data)


def test_the_memory_guard_refuses_a_giant_image_size_before_resizing(tmp_path, capsys):
    assert train_cli.main(["--pipeline", "fashion_mnist_dcgan", "--out", str(tmp_path / "r"),
                           "--set", "data.image_size=100000"]) == 2
    err = capsys.readouterr().err
    assert "100000x100000x3 examples" in err and "choose a smaller batch or data.image_size" in err
    assert not (tmp_path / "r").exists()


def test_after_spent_rollbacks_the_message_does_not_suggest_rollback_again(tmp_path):
    run = tmp_path / "run"
    train(ring_config(steps=4), run, progress_stream=QUIET)
    config = ring_config(steps=40, on_non_finite="rollback", max_rollbacks=2, non_finite_check_every=1)
    config.optimizer.generator.learning_rate = config.optimizer.discriminator.learning_rate = 1e30
    result = train(config, run, resume=True, progress_stream=QUIET)
    assert result.status == "non_finite" and "2 rollback(s) with lower learning rates" in result.message
    assert "on_non_finite=rollback" not in result.message


def test_export_refuses_an_opset_onnx_runtime_cannot_run(tmp_path, capsys):
    assert export_cli.main(["--run", str(tmp_path), "--opset", "5"]) == 2
    assert "--opset 5: the export needs ONNX opset 17 or newer" in capsys.readouterr().err


def test_data_inspect_refuses_an_empty_folder_and_names_undecodable_files(tmp_path, capsys):
    from tfgan_app.data import __main__ as data_cli

    (tmp_path / "empty").mkdir()
    assert data_cli.main(["inspect", str(tmp_path / "empty")]) == 2
    assert "holds no images" in capsys.readouterr().err
    (tmp_path / "some").mkdir()
    (tmp_path / "some" / "fake.png").write_bytes(b"this is text")
    assert data_cli.main(["inspect", str(tmp_path / "some")]) == 0
    out = capsys.readouterr().out
    assert "fake.png: not an image format Pillow can read" in out and "BytesIO" not in out


# --- 8. the Python API ------------------------------------------------------------------------


def api_gan():
    import tfgan_app
    from tests.user_networks import discriminator, generator

    gan = tfgan_app.GAN(generator(), discriminator())
    gan.compile(generator_optimizer=keras.optimizers.Adam(2e-4), discriminator_optimizer=keras.optimizers.Adam(2e-4),
                loss="non_saturating")
    return gan


@pytest.mark.parametrize("data, message", [
    (np.full((32, 28, 28, 1), 200, np.int32), "the samples are int32; give uint8 pixels"),
    (np.full((32, 28, 28, 1), 200.0, np.float32), r"range over \[200, 200\].*0..255 pixel values"),
    (np.full((32, 28, 28, 1), np.nan, np.float32), "NaN or Inf"),
    (tf.data.Dataset.from_tensor_slices(np.zeros((32, 28, 28, 1), np.float32)), "single samples of shape .* batch it first"),
    (tf.data.Dataset.from_tensor_slices(np.full((32, 28, 28, 1), 255.0, np.float32)).batch(8), "0..255 pixel values"),
])
def test_the_python_api_refuses_data_it_would_train_on_silently_wrong(data, message):
    gan = api_gan()
    with pytest.raises(ValueError, match=message):
        gan.fit(data, epochs=1, verbose=0)
    assert int(gan.step.numpy()) == 0


def test_the_python_api_accepts_uint8_and_names_a_network_that_is_not_a_model():
    import tfgan_app

    gan = api_gan()
    gan.fit(tf.data.Dataset.from_tensor_slices(np.full((16, 28, 28, 1), 200, np.uint8)).batch(8), epochs=1, verbose=0)
    assert int(gan.step.numpy()) == 2
    with pytest.raises(TypeError, match="the generator must be a keras.Model .* got str"):
        tfgan_app.GAN("generator", None)
    with pytest.raises(TypeError, match="the discriminator must be a keras.Model .* got NoneType"):
        tfgan_app.GAN(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), None)


# --- 2, 3, 4. exports: hashes, user files, one input contract ---------------------------------


@pytest.fixture(scope="module")
def conditional_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    idx = write_idx_dataset(root / "idx", count=128)
    config = tiny_config(data={"idx_dir": str(idx), "data_dir": str(root / "tfds")}, model={"family": "cgan"},
                         train={"steps": 2, "checkpoint_every": 2})
    config.pipeline = "tiny_cgan.toml"
    train(config, root / "run", progress_stream=QUIET)
    [result] = export_run(root / "run", root / "models")
    return result


def fresh_copy(result, tmp_path) -> Path:
    copy = tmp_path / "models" / result.name
    shutil.copytree(result.path.parent, copy)
    return copy


def test_export_json_records_every_file_hash_and_a_flipped_onnx_byte_is_refused(conditional_export, tmp_path, capsys):
    manifest = conditional_export.manifest
    files = sorted(str(path.relative_to(conditional_export.path)) for path in conditional_export.path.rglob("*")
                   if path.is_file() and path.name != "export.json")
    assert sorted(manifest["sha256"]) == files and "model.onnx" in files and "saved_model.pb" in files
    model = fresh_copy(conditional_export, tmp_path)
    onnx_file = model / "1" / "model.onnx"
    raw = bytearray(onnx_file.read_bytes())
    for offset in range(len(raw) // 2, len(raw) // 2 + 2000):  # the 2,000 flipped bytes
        raw[offset] ^= 0x01
    onnx_file.write_bytes(bytes(raw))
    out = tmp_path / "g.png"
    assert generate_cli.main(["--model", str(model), "--runtime", "onnx", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "model.onnx is damaged or was altered" in err and "--runtime tf" in err and not out.exists()
    # The SavedModel is intact: the other runtime still works, and serving reads its signature.
    assert generate_cli.main(["--model", str(model), "--runtime", "tf", "--out", str(out)]) == 0
    variables = next((model / "1" / "variables").glob("variables.data-*"))
    variables.write_bytes(variables.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    with pytest.raises(ValueError, match="variables.data-.* is damaged or was altered"):
        read_signature_def(model / "1")


def test_no_command_overwrites_a_users_file_unless_asked(conditional_export, tmp_path, capsys):
    model = str(conditional_export.path.parent)
    grid = tmp_path / "grid.png"
    grid.write_bytes(b"my picture")
    assert generate_cli.main(["--model", model, "--out", str(grid)]) == 2
    assert "exists; nothing is overwritten" in capsys.readouterr().err and grid.read_bytes() == b"my picture"
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "000000.png").write_bytes(b"mine")
    assert generate_cli.main(["--model", model, "--num", "2", "--out", str(folder)]) == 2
    assert "a folder with files in it (000000.png)" in capsys.readouterr().err
    assert (folder / "000000.png").read_bytes() == b"mine"
    arrays = tmp_path / "data.npz"
    arrays.write_bytes(b"user data")
    assert generate_cli.main(["--model", model, "--out", str(arrays)]) == 2 and arrays.read_bytes() == b"user data"
    assert generate_cli.main(["--model", model, "--out", str(grid), "--overwrite"]) == 0
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    report = tmp_path / "report.json"
    report.write_text("keep")
    assert evaluate_cli.main(["--model", model, "--json", str(report)]) == 2
    assert "--json" in capsys.readouterr().err and report.read_text() == "keep"


@pytest.mark.parametrize("runtime", ["tf", "onnx"])
def test_both_runtimes_refuse_the_same_out_of_range_inputs(conditional_export, runtime):
    run, _ = generate_cli.load_runner(conditional_export.path, runtime)
    z = np.zeros((2, 16), np.float32)
    assert run({"z": z, "label": np.array([0, 9], np.int32)}).shape == (2, 28, 28, 1)
    for labels, message in [([-1, 0], "class -1, outside 0..9"), ([55, 0], "class 55, outside 0..9")]:
        with pytest.raises(generate_cli.GenerateError, match=message):
            run({"z": z, "label": np.array(labels, np.int32)})
    with pytest.raises(generate_cli.GenerateError, match="batch sizes differ"):
        run({"z": z, "label": np.zeros(5, np.int32)})


def test_the_serving_check_uses_the_same_contract(conditional_export):
    signature = signature_of(conditional_export.manifest["inputs"])
    z = np.zeros((2, 16), np.float32)
    with pytest.raises(ServingError, match="class 55, outside 0..9"):
        serving_check_inputs({"z": z, "label": np.array([55, 1])}, signature)
    with pytest.raises(ServingError, match="batch sizes differ"):
        serving_check_inputs({"z": z, "label": np.zeros(5, np.int32)}, signature)
    truncation = {"z": {"dtype": "float32", "shape": [-1, 4]}, "truncation": {"dtype": "float32", "shape": [-1, 1],
                                                                              "interval": "(0, 1]"}}
    with pytest.raises(ContractError, match=r"holds 0.0, outside \(0, 1\]"):
        check_inputs({"z": np.zeros((1, 4)), "truncation": np.zeros((1, 1))}, truncation)
    assert check_inputs({"z": np.zeros((1, 4)), "truncation": np.ones((1, 1))}, truncation)["z"].dtype == np.float32


# --- the run's config and the checkpoint evaluate measures --------------------------------------


def test_train_leaves_the_callers_config_unchanged(tmp_path):
    config = ring_config(steps=4, precision="auto", on_non_finite="rollback", non_finite_check_every=1)
    config.optimizer.generator.learning_rate = config.optimizer.discriminator.learning_rate = 1e30
    before = json.dumps(config.to_dict(), sort_keys=True)
    train(config, tmp_path / "run", progress_stream=QUIET)
    assert json.dumps(config.to_dict(), sort_keys=True) == before


def test_evaluate_measures_the_checkpoint_export_would_ship(tmp_path):
    from tfgan_app.evaluate import generator_samples

    config = tiny_config(
        data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
        train={"steps": 60, "log_every": 20, "checkpoint_every": 20, "batch_size": 128, "keep_checkpoints": 10},
        sampling={"every": 1000}, evaluation={"every": 20, "num_samples": 500}, export={"checkpoint": "best"},
    )
    train(config, tmp_path / "run", progress_stream=QUIET)
    config.train.steps, config.evaluation.every = 80, 0
    train(config, tmp_path / "run", resume=True, progress_stream=QUIET)
    best = json.loads((tmp_path / "run" / "checkpoints" / "best" / "best.json").read_text())["step"]
    described = {which: generator_samples(tmp_path / "run", None, None, 50, 0, checkpoint=which)[2]
                 for which in (None, "latest", "40")}
    assert described[None].endswith(f"step {best}") and described["latest"].endswith("step 80")
    assert described["40"].endswith("step 40")
    with pytest.raises(RunDirError, match="no checkpoint at step 7"):
        generator_samples(tmp_path / "run", None, None, 50, 0, checkpoint="7")
