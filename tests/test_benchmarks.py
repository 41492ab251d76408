"""The benchmark scripts' own logic (their figures are in benchmarks/RESULTS.md)."""

import json

from tfgan_app.config import load_config, save_config


def test_quality_reuses_only_a_completed_run_of_exactly_the_pipelines_config(tmp_path):
    from benchmarks.quality import reusable
    from tfgan_app.gans.build import resolve_precision

    run = tmp_path / "fashion_mnist_lsgan"
    run.mkdir()
    config = load_config("fashion_mnist_lsgan", ["export.enabled=false"])
    config.train.precision = resolve_precision(config.train.precision)  # as the trainer records it
    save_config(config, run / "config.json")
    (run / "run.json").write_text(json.dumps({"status": "completed"}))
    assert reusable("fashion_mnist_lsgan", run, [])
    assert not reusable("fashion_mnist_lsgan", run, ["train.steps=10"])  # another budget
    assert not reusable("fashion_mnist_hinge_sn", run, [])  # another pipeline
    (run / "run.json").write_text(json.dumps({"status": "stopped"}))
    assert not reusable("fashion_mnist_lsgan", run, [])  # not finished
    (run / "run.json").unlink()
    assert not reusable("fashion_mnist_lsgan", run, [])


def test_quality_compares_a_figure_only_with_the_classifier_that_measured_it():
    from benchmarks.quality import PREVIOUS, previous_figure

    assert previous_figure({"fid": 11.1, "classifier": "abc"}, "fid", "abc") == (11.1, True)
    assert previous_figure({"fid": 11.1, "classifier": "abc"}, "fid", "def") == (11.1, False)
    assert previous_figure({"fid": 14.75}, "fid", "abc") == (14.75, False)  # classifier not recorded
    assert previous_figure({"test_accuracy": 0.73}, "test_accuracy", "abc") == (0.73, True)  # no features involved
    assert previous_figure({}, "fid", "abc") == (None, False)
    recorded = [entry["classifier"] for entry in json.loads(PREVIOUS.read_text())["figures"].values() if "classifier" in entry]
    assert recorded and all(len(sha) == 64 for sha in recorded)


def test_benchmarks_measure_the_checkpoint_the_pipeline_ships(tmp_path):
    import os

    from benchmarks.families import load_shipped_model
    from tests.helpers import tiny_config
    from tfgan_app.training.trainer import train

    quiet = open(os.devnull, "w")
    config = tiny_config(
        data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
        train={"steps": 60, "log_every": 20, "checkpoint_every": 20, "batch_size": 128},
        sampling={"every": 1000}, evaluation={"every": 20, "num_samples": 500}, export={"checkpoint": "best"},
    )
    train(config, tmp_path / "run", progress_stream=quiet)
    # Train on past the last evaluation, so the latest checkpoint cannot be the best one.
    config.train.steps, config.evaluation.every = 80, 0
    train(config, tmp_path / "run", resume=True, progress_stream=quiet)
    best = json.loads((tmp_path / "run" / "checkpoints" / "best" / "best.json").read_text())
    assert best["step"] in (20, 40, 60)
    assert load_shipped_model(tmp_path / "run")[2] == best["step"]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    saved["export"]["checkpoint"] = "latest"
    (tmp_path / "run" / "config.json").write_text(json.dumps(saved))
    assert load_shipped_model(tmp_path / "run")[2] == 80
