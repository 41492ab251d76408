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
