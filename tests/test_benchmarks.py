"""The benchmark scripts' own logic (their figures are in benchmarks/README.md and benchmarks/zoo.md)."""

import json

from tfgan_app.config import save_config
from tfgan_app.gans.registry import load_config


def test_the_zoo_reuses_only_a_completed_run_of_exactly_the_pipelines_config(tmp_path):
    from benchmarks.zoo import reusable
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
    # The same pipeline file read from another checkout (a clone, a worktree) trains the same thing.
    recorded = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**recorded, "pipeline": "/elsewhere/fashion_mnist_lsgan.toml"}))
    assert reusable("fashion_mnist_lsgan", run, [])
    (run / "config.json").write_text(json.dumps({**recorded, "pipeline": "/elsewhere/fashion_mnist_lsgan.toml",
                                                 "seed": recorded["seed"] + 1}))
    assert not reusable("fashion_mnist_lsgan", run, [])  # a setting differs
    # A run recorded before a field existed trained with that field's default.
    older = {**recorded, "data": {key: value for key, value in recorded["data"].items() if key != "text_length"}}
    (run / "config.json").write_text(json.dumps(older))
    assert reusable("fashion_mnist_lsgan", run, [])
    (run / "config.json").write_text(json.dumps(recorded))
    (run / "run.json").write_text(json.dumps({"status": "stopped"}))
    assert not reusable("fashion_mnist_lsgan", run, [])  # not finished
    (run / "run.json").unlink()
    assert not reusable("fashion_mnist_lsgan", run, [])


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


def test_work_floor_times_the_kernels_each_layer_runs():
    """profile_step's work floor is only a bound if its kernels are the layers' own passes:
    forward = the layer's output, input/filter gradients = the tape's, for a convolution
    and a transposed convolution; and it counts them as one step of Algorithm 1 runs them."""
    import keras
    import numpy as np
    import tensorflow as tf

    from benchmarks.profile_step import convolution_kernels, kernel_counts

    keras.utils.set_random_seed(0)
    for layer_type, shape in ((keras.layers.Conv2D, (8, 8, 3)), (keras.layers.Conv2DTranspose, (4, 4, 5))):
        inputs = keras.Input(shape)
        layer = layer_type(6, 4, strides=2, padding="same", use_bias=False)
        keras.Model(inputs, layer(inputs))
        x = tf.random.normal([2, *shape])
        upstream = tf.random.normal([2, *layer.output.shape[1:]])
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            total = tf.reduce_sum(y * upstream)
        input_gradient, filter_gradient = tape.gradient(total, [x, layer.kernel])
        kernels = convolution_kernels(layer, x, upstream, layer.kernel)
        np.testing.assert_allclose(kernels["forward"](), y, atol=1e-4)
        np.testing.assert_allclose(kernels["input gradient"](), input_gradient, atol=1e-4)
        np.testing.assert_allclose(kernels["filter gradient"](), filter_gradient, atol=1e-4)
    assert kernel_counts("discriminator", True, False) == {"forward": 3, "filter gradient": 2, "input gradient": 1}
    assert kernel_counts("generator", False, True)["forward"] == 1


def test_the_zoo_covers_every_shipped_pipeline_and_the_readme_shows_its_table():
    from benchmarks import zoo

    shipped = {path.stem for path in (zoo.REPO / "pipelines").glob("*.toml")}
    assert set(zoo.ENTRIES) == shipped
    committed = json.loads(zoo.ZOO_JSON.read_text())
    expected = zoo.render_table(committed) + "\n\n" + zoo.render_notes(committed)
    assert zoo.readme_table() == expected, "README's zoo table differs from zoo.json: run python benchmarks/zoo.py --render"
    assert zoo.ZOO_MD.read_text().count(zoo.render_table(committed)) == 1


def test_every_zoo_figure_names_its_machine_commit_and_a_pinned_or_no_extractor():
    from benchmarks import zoo

    rows = json.loads(zoo.ZOO_JSON.read_text())["rows"]
    assert rows, "the zoo has no measured row"
    for name, row in rows.items():
        metric = zoo.ENTRIES[name].metric
        assert row[metric] is not None and row["machine"] and row["commit"] and row["date"], name
        assert row["extractor"].startswith(("pinned_classifier[", "none")), (name, row["extractor"])
        assert row["command"] == (zoo.ENTRIES[name].other_command or f"python benchmarks/zoo.py --only {name}")


def test_a_contest_with_changed_settings_passes_them_to_each_run_and_stays_out_of_the_zoo(tmp_path, monkeypatch):
    from benchmarks import baselines

    trained, recorded = [], []

    def train(pipeline, run_dir, minutes, overrides=()):
        trained.append((pipeline, minutes, list(overrides)))
        run_dir.mkdir(parents=True)
        (run_dir / "run.json").write_text(json.dumps({"step": 7}))
        return 2.5

    def evaluate(run_dir, num, out, floor):
        return {"metrics": [{"metric": "fid", "value": 3.0, "extractor": "pinned"}],
                "real_floor": [{"metric": "fid", "value": 1.0}]}

    monkeypatch.setattr(baselines, "train", train)
    monkeypatch.setattr(baselines, "evaluate", evaluate)
    monkeypatch.setattr(baselines, "write_samples", lambda *args: None)
    monkeypatch.setattr(baselines, "record_in_zoo", recorded.append)
    out = tmp_path / "contest"
    assert baselines.main(["audio", "--out", str(out), "--set", "gansynth.discriminator_excitation=true",
                           "--baseline-set", "wavegan.discriminator_excitation=true"]) == 0
    assert trained == [("notes_gansynth", None, ["gansynth.discriminator_excitation=true"]),
                       ("notes_wavegan", 2.5, ["wavegan.discriminator_excitation=true"])]
    results = json.loads((out / "results.json").read_text())
    assert results["command"] == ("python benchmarks/baselines.py audio --set gansynth.discriminator_excitation=true "
                                  "--baseline-set wavegan.discriminator_excitation=true")
    assert set(results["rows"]) == {"notes_gansynth", "notes_wavegan"} and recorded == []
