"""Feature extractors and `python -m tfgan_app.evaluate` on runs, exports and toy runs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import tiny_config
from tfgan_app import evaluate as evaluate_cli
from tfgan_app.config import DataConfig
from tfgan_app.data import load_source
from tfgan_app.metrics.features import (
    ExtractorError, build_classifier, classifier_folder, load_domain_classifier, load_inception, train_classifier,
)
from tfgan_app.networks import weights_sha256
from tfgan_app.training.trainer import train


@pytest.fixture(scope="module")
def classifier(trained_run):
    config = json.loads((trained_run / "config.json").read_text())["data"]
    splits = [load_source(DataConfig(**{**config, "split": split})) for split in ("train", "test")]
    train_split, test_split = splits
    folder = trained_run.parent / "classifier"
    info = train_classifier((train_split.images, train_split.labels), (test_split.images, test_split.labels),
                            train_split.class_names, folder, "fashion_mnist", epochs=3, batch_size=64)
    return folder, info


def test_classifier_trains_offline_and_is_cached_with_accuracy_and_hash(classifier):
    folder, info = classifier
    # The test's IDX data (one bright bar per class) is easy: well above chance (10%).
    assert info["test_accuracy"] > 0.9
    assert len(info["sha256"]) == 64 and info["feature_layer"] == "features"
    # Trained in this process, whose TensorFlow threads were set before (tests/conftest.py):
    # the record names what it ran on.
    threads = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    assert len(info["weights_sha256"]) == 64 and info["train_threads"] == threads
    extractor, loaded_info = load_domain_classifier(folder)
    # Every number measured with it names the classifier by its weights.
    assert extractor.name == f"self_trained_classifier[fashion_mnist]#{info['weights_sha256'][:8]}"
    assert loaded_info["weights_sha256"] == info["weights_sha256"]
    features, probabilities = extractor.run(np.zeros((5, 28, 28, 1), np.float32))
    assert features.shape == (5, 128) and probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-6)


def test_tampered_or_missing_classifier_is_refused(classifier, tmp_path):
    folder, _ = classifier
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("classifier.json", "classifier.keras"):
        (copy / name).write_bytes((folder / name).read_bytes())
    with open(copy / "classifier.keras", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ExtractorError, match="SHA-256"):
        load_domain_classifier(copy)
    with pytest.raises(ExtractorError, match="train-classifier"):
        load_domain_classifier(tmp_path / "none")


def test_weights_hash_names_the_weights_not_the_file_or_the_layer_names(classifier, tmp_path):
    import keras

    def built():
        keras.utils.set_random_seed(3)
        return build_classifier((28, 28, 1), 10)

    first, second = built(), built()
    assert [w.path for w in first.weights] != [w.path for w in second.weights]  # Keras numbered them on
    assert weights_sha256(first) == weights_sha256(second)
    second.weights[-1].assign(second.weights[-1] + 1e-3)
    assert weights_sha256(first) != weights_sha256(second)
    # Saved again, the archive differs (it records when), the weights' hash does not.
    folder, info = classifier
    model = keras.models.load_model(folder / "classifier.keras")
    model.save(tmp_path / "again.keras")
    assert weights_sha256(keras.models.load_model(tmp_path / "again.keras")) == info["weights_sha256"]


def test_a_classifier_whose_weights_are_not_the_recorded_ones_is_refused(classifier, tmp_path):
    import hashlib

    import keras

    folder, info = classifier
    other = keras.models.load_model(folder / "classifier.keras")
    other.weights[0].assign(other.weights[0] * 0.5)
    copy = tmp_path / "other"
    copy.mkdir()
    other.save(copy / "classifier.keras")
    # The file's hash is made to match, as when one classifier's file replaces another's with its JSON edited.
    meta = {**info, "sha256": hashlib.sha256((copy / "classifier.keras").read_bytes()).hexdigest()}
    (copy / "classifier.json").write_text(json.dumps(meta))
    with pytest.raises(ExtractorError, match=f"weights_sha256 {info['weights_sha256'][:12]}"):
        load_domain_classifier(copy)
    # A classifier cached before the weights' hash was recorded still loads, and gets it.
    del meta["weights_sha256"]
    (copy / "classifier.json").write_text(json.dumps(meta))
    extractor, loaded = load_domain_classifier(copy)
    assert loaded["weights_sha256"] == weights_sha256(other) != info["weights_sha256"]
    assert extractor.name.endswith(loaded["weights_sha256"][:8])


def test_classifier_training_pins_its_threads_in_a_fresh_process_only():
    from tfgan_app.metrics.features import CLASSIFIER_THREADS, pin_training_threads

    code = ("import tensorflow as tf; from tfgan_app.metrics.features import pin_training_threads as pin; "
            "print(pin(), tf.config.threading.get_intra_op_parallelism_threads(), "
            "tf.config.threading.get_inter_op_parallelism_threads())")
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                         env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", str(CLASSIFIER_THREADS), str(CLASSIFIER_THREADS)]
    # Here TensorFlow already runs (the fixtures trained on it): the setting can no longer
    # change, and the function says so unless it already holds.
    import tensorflow as tf

    tf.constant(1.0) + 1.0
    already = tf.config.threading.get_intra_op_parallelism_threads() == CLASSIFIER_THREADS
    assert pin_training_threads() is already


def test_inception_never_downloads(tmp_path):
    with pytest.raises(ExtractorError, match="no internet.*--inception-weights"):
        load_inception(tmp_path / "missing.h5")
    (tmp_path / "bad.h5").write_bytes(b"not weights")
    with pytest.raises(ExtractorError, match="not InceptionV3"):
        load_inception(tmp_path / "bad.h5")


def test_evaluate_a_run_with_real_floor(trained_run, classifier, tmp_path, capsys):
    out = tmp_path / "eval.json"
    code = evaluate_cli.main(["--run", str(trained_run), "--classifier", str(classifier[0]),
                              "--num", "200", "--real-floor", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "real floor" in printed and "self_trained_classifier[fashion_mnist]" in printed
    result = json.loads(out.read_text())
    metrics = {row["metric"]: row for row in result["metrics"]}
    assert {"fid", "kid", "precision", "recall", "classifier_score"} <= set(metrics)
    assert metrics["fid"]["num_real"] == 200 and metrics["fid"]["num_fake"] == 200
    assert metrics["fid"]["layer"] == "features"
    # Memorisation: against every training image, the test images setting what "near" is.
    train_count = len(load_source(DataConfig(**{**json.loads((trained_run / "config.json").read_text())["data"],
                                                "split": "train"})).images)
    assert metrics["memorised_share"]["num_real"] == train_count and metrics["memorised_share"]["num_fake"] == 200
    # This data's test split repeats its train split: every test image is a training image
    # (held-out share 1); a 6-step generator's samples are none of them.
    assert metrics["  held-out share"]["value"] == 1.0 and metrics["memorised_share"]["value"] == 0.0
    assert np.isfinite(metrics["copying_z_u"]["value"])
    floor = {row["metric"]: row["value"] for row in result["real_floor"]}
    # A 6-step generator is far from the data; two real splits are close.
    assert floor["fid"] < metrics["fid"]["value"] / 5
    assert floor["recall"] > metrics["recall"]["value"]


def test_evaluate_an_export(exported, classifier, tmp_path):
    result, out = exported
    target = tmp_path / "eval.json"
    assert evaluate_cli.main(["--model", str(out / "tiny_dcgan"), "--classifier", str(classifier[0]),
                              "--num", "100", "--json", str(target)]) == 0
    rows = json.loads(target.read_text())
    assert rows["source"].startswith("export") and rows["metrics"][0]["metric"] == "fid"


def test_evaluate_measures_an_export_at_the_truncation_asked_and_refuses_it_elsewhere(
    trained_run, exported, classifier, tmp_path, capsys,
):
    from tfgan_app.export import export_run

    data = json.loads((trained_run / "config.json").read_text())["data"]
    config = tiny_config(data=data, model={"family": "biggan"}, loss={"name": "hinge"}, biggan={"embedding_dim": 8})
    config.pipeline = "tiny_biggan.toml"
    train(config, tmp_path / "run", progress_stream=open(os.devnull, "w"))
    export_run(tmp_path / "run", tmp_path / "models")
    sources, fids = {}, {}
    for truncation in ("1", "0.2"):
        target = tmp_path / f"eval_{truncation}.json"
        assert evaluate_cli.main(["--model", str(tmp_path / "models" / "tiny_biggan"), "--classifier", str(classifier[0]),
                                  "--num", "200", "--truncation", truncation, "--json", str(target)]) == 0
        result = json.loads(target.read_text())
        sources[truncation], fids[truncation] = result["source"], result["metrics"][0]["value"]
    assert sources["0.2"].endswith("truncation 0.2") and sources["1"].endswith("truncation 1")
    assert fids["0.2"] != fids["1"]  # the same z and labels: only the truncation input differs
    capsys.readouterr()
    assert evaluate_cli.main(["--model", str(exported[1] / "tiny_dcgan"), "--classifier", str(classifier[0]),
                              "--truncation", "0.5"]) == 2
    assert "takes no --truncation" in capsys.readouterr().err
    assert evaluate_cli.main(["--model", str(tmp_path / "models" / "tiny_biggan"), "--truncation", "1.5"]) == 2
    assert "(0, 1]" in capsys.readouterr().err
    assert evaluate_cli.main(["--run", str(tmp_path / "run"), "--truncation", "0.5"]) == 2
    assert "python -m tfgan_app.export --run" in capsys.readouterr().err


def test_evaluate_a_toy_run(tmp_path, capsys):
    config = tiny_config(data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
                         train={"steps": 4})
    train(config, tmp_path / "ring", progress_stream=open(os.devnull, "w"))
    assert evaluate_cli.main(["--run", str(tmp_path / "ring"), "--json", str(tmp_path / "e.json")]) == 0
    rows = {row["metric"]: row for row in json.loads((tmp_path / "e.json").read_text())["metrics"]}
    assert set(rows) == {"modes_covered", "high_quality", "reverse_kl"}
    assert rows["modes_covered"]["num_fake"] == 2500 and 0 <= rows["modes_covered"]["value"] <= 8


def test_classifier_folder_is_the_one_named_else_the_pinned_one_else_the_cache(tmp_path, monkeypatch):
    from tfgan_app.metrics.features import PINNED_DIR

    monkeypatch.setenv("TFGAN_APP_CACHE", str(tmp_path))
    assert classifier_folder("emoji") == PINNED_DIR / "emoji"
    assert classifier_folder("fashion_mnist", "") == PINNED_DIR / "fashion_mnist"
    assert classifier_folder("cifar10") == tmp_path / "classifiers" / "cifar10"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert classifier_folder("emoji", "~/mine") == tmp_path / "home" / "mine"
    assert classifier_folder("emoji", tmp_path / "other") == tmp_path / "other"


def test_evaluate_without_classifier_says_how_to_get_one(trained_run, tmp_path, capsys):
    assert evaluate_cli.main(["--run", str(trained_run), "--num", "50", "--classifier", str(tmp_path / "none")]) == 2
    assert "train-classifier" in capsys.readouterr().err


def _ring_config(steps, **evaluation):
    return tiny_config(
        data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
        train={"steps": steps, "log_every": 20, "checkpoint_every": 20, "batch_size": 128},
        sampling={"every": 1000}, evaluation={"every": 20, "num_samples": 500, **evaluation},
        optimizer={"generator": {"learning_rate": 1e-3}, "discriminator": {"learning_rate": 1e-3}},
    )


def test_periodic_evaluation_logs_and_keeps_the_best_checkpoint(tmp_path):
    from tfgan_app.export import export_run
    from tfgan_app.metrics.report import LOWER_IS_BETTER

    quiet = open(os.devnull, "w")
    config = _ring_config(60, metric="high_quality")
    train(config, tmp_path / "run", progress_stream=quiet)
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evaluations = [line for line in lines if "eval_high_quality" in line]
    assert [line["step"] for line in evaluations] == [20, 40, 60]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["evaluation_extractor"] == "toy:ring"
    assert {"eval_modes_covered", "eval_reverse_kl"} <= set(evaluations[0])
    best = json.loads((tmp_path / "run" / "checkpoints" / "best" / "best.json").read_text())
    assert "high_quality" not in LOWER_IS_BETTER
    expected = max(evaluations, key=lambda line: line["eval_high_quality"])  # first of equal maxima
    assert best["metric"] == "high_quality" and best["value"] == expected["eval_high_quality"]
    assert best["step"] == expected["step"]
    # Resuming keeps the best value; export can pick the best checkpoint.
    config.train.steps = 80
    train(config, tmp_path / "run", resume=True, progress_stream=quiet)
    again = json.loads((tmp_path / "run" / "checkpoints" / "best" / "best.json").read_text())
    assert again["value"] >= best["value"]
    [result] = export_run(tmp_path / "run", tmp_path / "models", formats=("savedmodel",), checkpoint="best")
    assert result.manifest["checkpoint"] == "best" and result.manifest["step"] == again["step"]


def test_best_checkpoint_export_needs_evaluation(trained_run, tmp_path):
    from tfgan_app.export import ExportError, export_run

    with pytest.raises(ExportError, match="no best checkpoint"):
        export_run(trained_run, tmp_path, checkpoint="best")


def test_image_evaluation_without_classifier_fails_before_training(trained_run, tmp_path):
    config = tiny_config(data=json.loads((trained_run / "config.json").read_text())["data"],
                         evaluation={"every": 2, "num_samples": 64, "classifier": str(tmp_path / "none")})
    with pytest.raises(ExtractorError, match="train-classifier"):
        train(config, tmp_path / "run", progress_stream=open(os.devnull, "w"))
    assert not (tmp_path / "run" / "run.json").exists() and not (tmp_path / "run" / "checkpoints").exists()


def test_image_evaluation_during_training(trained_run, classifier, tmp_path):
    config = tiny_config(data=json.loads((trained_run / "config.json").read_text())["data"],
                         evaluation={"every": 3, "num_samples": 64, "classifier": str(classifier[0])})
    train(config, tmp_path / "run", progress_stream=open(os.devnull, "w"))
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evaluations = [line for line in lines if "eval_fid" in line]
    assert [line["step"] for line in evaluations] == [3, 6]
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["evaluation_extractor"] == f"self_trained_classifier[fashion_mnist]#{classifier[1]['weights_sha256'][:8]}"
    assert {"eval_kid", "eval_classifier_score"} <= set(evaluations[0])
    assert (tmp_path / "run" / "checkpoints" / "best" / "best.json").is_file()


def test_best_assignment_is_the_best_one_to_one_mapping():
    import itertools

    from tfgan_app.metrics.conditioning import best_assignment

    rng = np.random.default_rng(0)
    for _ in range(100):
        rows = int(rng.integers(1, 6))
        scores = rng.integers(0, 20, (rows, int(rng.integers(rows, 7)))).astype(float)
        assignment = best_assignment(scores)
        assert len(set(assignment)) == rows  # one-to-one
        best = max(sum(scores[r, p[r]] for r in range(rows))
                   for p in itertools.permutations(range(scores.shape[1]), rows))
        assert sum(scores[r, assignment[r]] for r in range(rows)) == best
    with pytest.raises(ValueError, match="one-to-one"):
        best_assignment(np.zeros((3, 2)))


def test_code_to_class_finds_a_permuted_code_and_counts_misses():
    from tfgan_app.metrics.conditioning import class_agreement, code_to_class

    codes = np.repeat(np.arange(4), 25)
    permutation = np.array([2, 0, 3, 1])
    predicted = permutation[codes].copy()
    predicted[:5] = 1  # five samples of code 0 land elsewhere
    accuracy, mapping = code_to_class(predicted, codes, 4, 4)
    assert mapping.tolist() == permutation.tolist() and accuracy == pytest.approx(0.95)
    accuracy, mapping = code_to_class(predicted % 2, codes, 4, 2)  # more code values than classes
    assert sorted(mapping.tolist()).count(-1) == 2 and accuracy == 0.5  # two values fill the two classes
    agreement, per_class = class_agreement(np.array([0, 1, 1, 1]), np.array([0, 1, 1, 0]), 3)
    assert agreement == 0.75 and per_class[:2].tolist() == [0.5, 1.0] and np.isnan(per_class[2])


def test_conditioning_rows_judge_the_samples_by_the_classifier(trained_run, classifier):
    """Real test images with their true labels obey their 'conditioning'; the same images
    with labels shifted by one do not: the figure follows the images, not the labels."""
    folder, info = classifier
    extractor, _ = load_domain_classifier(folder)
    config = json.loads((trained_run / "config.json").read_text())["data"]
    test = load_source(DataConfig(**{**config, "split": "test"}))
    images = test.images.astype(np.float32) / 127.5 - 1.0
    names = info["class_names"]
    good = evaluate_cli.conditioning_rows(images, {"label": test.labels}, extractor, names, names, 0)
    shifted = evaluate_cli.conditioning_rows(images, {"label": (test.labels + 1) % 10}, extractor, names, names, 0)
    assert good[0]["metric"] == "class_agreement" and len(good) == 11  # overall and per class
    assert good[0]["value"] > 0.9 and shifted[0]["value"] < 0.2
    permuted = evaluate_cli.conditioning_rows(images, {"category": (test.labels * 3) % 10}, extractor, names, names, 10)
    assert permuted[0]["metric"] == "code_to_class" and permuted[0]["value"] > 0.9
    assert evaluate_cli.conditioning_rows(images, {"label": test.labels}, extractor, names, names[::-1], 0) == []


@pytest.mark.parametrize("family", ["cgan", "infogan"])
def test_evaluate_prints_what_a_conditional_run_obeys(trained_run, classifier, tmp_path, capsys, family):
    config = json.loads((trained_run / "config.json").read_text())["data"]
    run_config = tiny_config(data=config, model={"family": family}, train={"steps": 2, "checkpoint_every": 2})
    run_config.pipeline = f"tiny_{family}.toml"
    train(run_config, tmp_path / "run", progress_stream=open(os.devnull, "w"))
    out = tmp_path / "eval.json"
    assert evaluate_cli.main(["--run", str(tmp_path / "run"), "--classifier", str(classifier[0]),
                              "--num", "100", "--json", str(out)]) == 0
    metric = "class_agreement" if family == "cgan" else "code_to_class"
    assert metric in capsys.readouterr().out
    rows = {row["metric"]: row for row in json.loads(out.read_text())["metrics"]}
    assert 0.0 <= rows[metric]["value"] <= 1.0 and rows[metric]["num_fake"] == 100


def test_a_conditional_run_is_sampled_at_the_labels_evaluate_records(trained_run, tmp_path, monkeypatch):
    """Chunks of the samples get their own slice of the labels: a chunk that drew its own
    classes in turn would start again at class 0, and the figures would compare samples
    with labels they were not made for (chunks of 3 against 10 classes show it)."""
    from tfgan_app.metrics import report
    from tfgan_app.training.restore import load_run_model

    config = json.loads((trained_run / "config.json").read_text())["data"]
    run_config = tiny_config(data=config, model={"family": "cgan"}, train={"steps": 2, "checkpoint_every": 2})
    run_config.pipeline = "tiny_cgan.toml"
    train(run_config, tmp_path / "run", progress_stream=open(os.devnull, "w"))
    chunked = report.in_batches
    monkeypatch.setattr(report, "in_batches", lambda generate, inputs: chunked(generate, inputs, batch=3))
    samples, _, _, conditions = evaluate_cli.generator_samples(tmp_path / "run", None, None, 20, seed=0)
    np.testing.assert_array_equal(conditions["label"], np.arange(20) % 10)
    model = load_run_model(tmp_path / "run")[0]
    z = np.random.default_rng(0).standard_normal((20, model.noise_dim)).astype(np.float32)
    np.testing.assert_allclose(samples, model.generate(z, conditions["label"]).numpy(), atol=1e-5)
