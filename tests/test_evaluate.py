"""Feature extractors and `python -m tfgan_app.evaluate` on runs, exports and toy runs."""

import json
import os

import numpy as np
import pytest

from tests.helpers import tiny_config
from tests.test_export import exported, trained_run  # noqa: F401 (module fixtures)
from tfgan_app import evaluate as evaluate_cli
from tfgan_app.config import DataConfig
from tfgan_app.data import load_source
from tfgan_app.metrics.features import ExtractorError, load_domain_classifier, load_inception, train_classifier
from tfgan_app.training.trainer import train


@pytest.fixture(scope="module")
def classifier(trained_run):  # noqa: F811
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
    extractor, loaded_info = load_domain_classifier(folder)
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


def test_inception_never_downloads(tmp_path):
    with pytest.raises(ExtractorError, match="no internet.*--inception-weights"):
        load_inception(tmp_path / "missing.h5")
    (tmp_path / "bad.h5").write_bytes(b"not weights")
    with pytest.raises(ExtractorError, match="not InceptionV3"):
        load_inception(tmp_path / "bad.h5")


def test_evaluate_a_run_with_real_floor(trained_run, classifier, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "eval.json"
    code = evaluate_cli.main(["--run", str(trained_run), "--classifier", str(classifier[0]),
                              "--num", "200", "--real-floor", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "real floor" in printed and "domain_classifier[fashion_mnist]" in printed
    result = json.loads(out.read_text())
    metrics = {row["metric"]: row for row in result["metrics"]}
    assert {"fid", "kid", "precision", "recall", "classifier_score"} <= set(metrics)
    assert metrics["fid"]["num_real"] == 200 and metrics["fid"]["num_fake"] == 200
    assert metrics["fid"]["layer"] == "features"
    floor = {row["metric"]: row["value"] for row in result["real_floor"]}
    # A 6-step generator is far from the data; two real splits are close.
    assert floor["fid"] < metrics["fid"]["value"] / 5
    assert floor["recall"] > metrics["recall"]["value"]


def test_evaluate_an_export(exported, classifier, tmp_path):  # noqa: F811
    result, out = exported
    target = tmp_path / "eval.json"
    assert evaluate_cli.main(["--model", str(out / "tiny_dcgan"), "--classifier", str(classifier[0]),
                              "--num", "100", "--json", str(target)]) == 0
    rows = json.loads(target.read_text())
    assert rows["source"].startswith("export") and rows["metrics"][0]["metric"] == "fid"


def test_evaluate_a_toy_run(tmp_path, capsys):
    config = tiny_config(data={"name": "ring"}, model={"architecture": "mlp", "latent_dim": 2},
                         train={"steps": 4})
    train(config, tmp_path / "ring", progress_stream=open(os.devnull, "w"))
    assert evaluate_cli.main(["--run", str(tmp_path / "ring"), "--json", str(tmp_path / "e.json")]) == 0
    rows = {row["metric"]: row for row in json.loads((tmp_path / "e.json").read_text())["metrics"]}
    assert set(rows) == {"modes_covered", "high_quality", "reverse_kl"}
    assert rows["modes_covered"]["num_fake"] == 2500 and 0 <= rows["modes_covered"]["value"] <= 8


def test_evaluate_without_classifier_says_how_to_get_one(trained_run, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TFGAN_APP_CACHE", str(tmp_path))
    assert evaluate_cli.main(["--run", str(trained_run), "--num", "50"]) == 2
    assert "train-classifier" in capsys.readouterr().err
