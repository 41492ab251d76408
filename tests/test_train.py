"""The training run end to end: run directory, resume, NaN guard, kill and Ctrl-C."""

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

from tests.helpers import tiny_config
from tfgan_app import train as train_cli
from tfgan_app.training.trainer import RunDirError, train

REPO = Path(__file__).resolve().parent.parent


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def checkpoint_steps(run_dir):
    state = tf.train.get_checkpoint_state(str(run_dir / "checkpoints"))
    return [int(path.rsplit("-", 1)[1]) for path in state.all_model_checkpoint_paths]


def checkpoint_values(run_dir):
    path = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    return {name: tf.train.load_variable(path, name)
            for name, _ in tf.train.list_variables(path) if name.startswith(("generator/", "discriminator/"))}


@pytest.fixture
def dcgan_config(idx_dir, tmp_path):
    return tiny_config(data={"idx_dir": str(idx_dir), "data_dir": str(tmp_path / "tfds")})


def test_run_directory_holds_everything(dcgan_config, tmp_path):
    run_dir = tmp_path / "run"
    result = train(dcgan_config, run_dir, progress_stream=open(os.devnull, "w"))
    assert result.status == "completed" and result.step == 6
    assert json.loads((run_dir / "config.json").read_text())["train"]["steps"] == 6
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "completed" and info["step"] == 6 and "IDX" in info["data"]
    lines = read_jsonl(run_dir / "metrics.jsonl")
    assert [line["step"] for line in lines] == [2, 4, 6]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "images_per_sec"} <= set(lines[0])
    assert lines[0]["d_loss"] != lines[-1]["d_loss"]  # the losses move
    assert checkpoint_steps(run_dir) == [3, 6]
    samples = sorted(path.name for path in (run_dir / "samples").glob("*.png"))
    assert samples == ["step_00000003.png", "step_00000006.png"]
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    with pytest.raises(RunDirError, match="--resume"):
        train(dcgan_config, run_dir)


def test_resume_continues_at_the_checkpoint_step_and_matches_an_uninterrupted_run(tmp_path):
    config = tiny_config(data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
                         train={"steps": 10, "checkpoint_every": 4, "log_every": 2})
    quiet = open(os.devnull, "w")
    train(config, tmp_path / "whole", progress_stream=quiet)
    config.train.steps = 6
    train(config, tmp_path / "split", progress_stream=quiet)
    config.train.steps = 10
    resumed = train(config, tmp_path / "split", resume=True, progress_stream=quiet)
    assert resumed.start_step == 6 and resumed.step == 10
    assert [line["step"] for line in read_jsonl(tmp_path / "split" / "metrics.jsonl")] == [2, 4, 6, 8, 10]
    whole, split = checkpoint_values(tmp_path / "whole"), checkpoint_values(tmp_path / "split")
    assert whole.keys() == split.keys()
    for name in whole:
        np.testing.assert_allclose(split[name], whole[name], atol=1e-6, err_msg=name)


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    config = tiny_config(data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
                         train={"steps": 4, "checkpoint_every": 4, "log_every": 1})
    quiet = open(os.devnull, "w")
    train(config, tmp_path, progress_stream=quiet)
    good = checkpoint_values(tmp_path)
    config.train.steps = 40
    config.optimizer.discriminator.learning_rate = config.optimizer.generator.learning_rate = 1e30
    result = train(config, tmp_path, resume=True, progress_stream=quiet)
    assert result.status == "non_finite" and result.step < 40
    assert result.last_checkpoint_step == 4 and checkpoint_steps(tmp_path) == [4]
    assert "last good checkpoint is step 4" in result.message
    for name, value in checkpoint_values(tmp_path).items():
        np.testing.assert_array_equal(value, good[name])
    assert json.loads((tmp_path / "run.json").read_text())["status"] == "non_finite"


def test_cli_rejects_bad_config_with_key_path(capsys, tmp_path):
    assert train_cli.main(["--pipeline", "toy_ring_mlp", "--set", "train.bach_size=3"]) == 2
    assert "train.bach_size" in capsys.readouterr().err
    assert train_cli.main(["--pipeline", "no_such_pipeline"]) == 2
    assert "available" in capsys.readouterr().err
    assert train_cli.main(["--resume"]) == 2
    (tmp_path / "config.json").write_text("{}")
    assert train_cli.main(["--resume", "--out", str(tmp_path), "--pipeline", "gaussian_1d"]) == 2
    assert "drop --pipeline" in capsys.readouterr().err


def _start(out, *extra):
    pipeline = [] if "--resume" in extra else ["--pipeline", "toy_ring_mlp"]
    command = [sys.executable, "-m", "tfgan_app.train", *pipeline, "--out", str(out), *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_checkpoint(process, run_dir, minimum, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = tf.train.get_checkpoint_state(str(run_dir / "checkpoints"))
        if state and int(state.model_checkpoint_path.rsplit("-", 1)[1]) >= minimum:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    raise AssertionError("no checkpoint appeared")


# A small network keeps these subprocess runs fast whatever the pipeline's default size.
SCHEDULE = ["--steps", "1500", "--set", "train.checkpoint_every=100", "--set", "sampling.every=100000",
            "--set", "export.enabled=false", "--set", "model.hidden_units=128",
            "--set", "model.hidden_layers=2", "--set", "train.batch_size=256"]


def test_sigkill_then_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    process = _start(tmp_path / "killed", *SCHEDULE)
    _wait_for_checkpoint(process, tmp_path / "killed", 200)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = checkpoint_steps(tmp_path / "killed")[-1]
    assert killed_at < 1500
    resumed = _start(tmp_path / "killed", "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    info = json.loads((tmp_path / "killed" / "run.json").read_text())
    assert info["start_step"] == killed_at and info["step"] == 1500 and info["status"] == "completed"
    assert checkpoint_steps(tmp_path / "killed")[-1] == 1500
    whole = _start(tmp_path / "whole", *SCHEDULE)
    whole.communicate(timeout=300)
    expected, got = checkpoint_values(tmp_path / "whole"), checkpoint_values(tmp_path / "killed")
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-5, err_msg=name)


def test_ctrl_c_writes_a_checkpoint_and_exits_cleanly(tmp_path):
    process = _start(tmp_path, *SCHEDULE)
    _wait_for_checkpoint(process, tmp_path, 100)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted at step" in out
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["status"] == "interrupted"
    assert checkpoint_steps(tmp_path)[-1] == info["step"]


FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


@pytest.mark.skipif(
    not FASHION_MNIST.exists() and not os.environ.get("CI"),
    reason="Debian package dataset-fashion-mnist not installed (CI installs it)",
)
def test_default_pipeline_trains_on_real_fashion_mnist(tmp_path, capsys):
    """The README's default job, shortened: real data through the CLI, every output written."""
    code = train_cli.main(["--steps", "40", "--out", str(tmp_path), "--set", "train.log_every=20",
                           "--set", "sampling.every=20", "--set", "train.checkpoint_every=20",
                           "--set", f"data.data_dir={tmp_path / 'no_tfds'}",
                           "--set", f"export.out={tmp_path / 'saved_models'}"])
    assert code == 0
    out = capsys.readouterr().out
    assert "trained to step 40" in out and str(tmp_path) in out
    info = json.loads((tmp_path / "run.json").read_text())
    assert "fashion-mnist" in info["data"] and info["element_shape"] == [28, 28, 1]
    lines = read_jsonl(tmp_path / "metrics.jsonl")
    assert [line["step"] for line in lines] == [20, 40]
    assert lines[0]["g_loss"] != lines[1]["g_loss"]
    assert checkpoint_steps(tmp_path) == [20, 40]
    assert (tmp_path / "samples" / "step_00000040.png").exists()
    # The pipeline's export stage ran: version 1 with both formats and a manifest.
    export = tmp_path / "saved_models" / "fashion_mnist_dcgan" / "1"
    assert {"saved_model.pb", "model.onnx", "export.json"} <= {p.name for p in export.iterdir()}
    assert json.loads((export / "export.json").read_text())["step"] == 40


def test_steps_per_execution_trains_the_same_weights_and_runs_callbacks_past_each_interval(tmp_path):
    from tests.helpers import write_idx_dataset

    idx = write_idx_dataset(tmp_path / "idx", 512)
    results = {}
    for per_call in (1, 4):
        config = tiny_config(
            data={"idx_dir": str(idx), "data_dir": str(tmp_path / "tfds")}, export={"enabled": False},
            train={"steps": 22, "steps_per_execution": per_call, "log_every": 5, "checkpoint_every": 10},
            sampling={"every": 8},
        )
        run_dir = tmp_path / f"run{per_call}"
        result = train(config, run_dir, progress_stream=open(os.devnull, "w"))
        logged = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        samples = sorted(path.name for path in (run_dir / "samples").glob("*.png"))
        checkpoints = sorted(int(path.stem.split("-")[1]) for path in (run_dir / "checkpoints").glob("ckpt-*.index"))
        results[per_call] = (result, logged, samples, checkpoints)
    (one, logged_one, samples_one, checkpoints_one), (four, logged_four, samples_four, checkpoints_four) = results[1], results[4]
    assert one.step == four.step == 22  # 22 is not a multiple of 4: the last call runs 2 steps
    assert one.weights_fingerprint == four.weights_fingerprint
    assert logged_one == [5, 10, 15, 20, 22] and logged_four == [8, 12, 16, 20, 22]
    assert checkpoints_one == [10, 20, 22] and checkpoints_four == [12, 20, 22]
    assert samples_one == samples_four == ["step_00000008.png", "step_00000016.png", "step_00000022.png"]
