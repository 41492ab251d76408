"""The pinned feature extractors: shipped with the package, checked by SHA-256, the same
features and the same FID on any machine and thread count within the stated tolerance."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfgan_app.metrics.features import (
    FEATURE_TOLERANCE, ExtractorError, classifier_folder, load_domain_classifier, pinned_folder,
)

REPO = Path(__file__).resolve().parent.parent
# The weights of the pinned classifiers (SHA-256 of their arrays): a change here changes every
# figure of the zoo, so it is a deliberate act (benchmarks/pin_extractors.py, then the zoo).
PINNED_WEIGHTS = {
    "fashion_mnist": "2acc08b9acbcd66d2d7091691ad3b553e1510c8c97406e1f11502253778f3a78",
    "emoji": "f7c95a18631764959f15a1bb765f0bb8fd3dd9bd9699d160504302b7f3b694a9",
    "notes": "d47fd6f4dcaae1d24544c3a0b194776baca11fce4e31812127396676fe5edbab",
    "moving_fashion_mnist": "7f55a16ef41c79e768b1d92b7e1bfb3d6a3f3c0195ac23c7fc19e24019b7c8d4",
    "moving_fashion_mnist_frames": "786b33227be72974055bf1478b86b8c645adb33b4f9fdda79cac71a04cd00e00",
}

# One process per thread count: TensorFlow fixes its threads at start-up.
PROBE = """
import json, os, sys
import numpy as np
import tensorflow as tf
threads = int(sys.argv[2])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
from tfgan_app.metrics.distances import feature_statistics, frechet_distance
from tfgan_app.metrics.features import load_domain_classifier, reference_batch, reference_difference
folder = sys.argv[1]
extractor, info = load_domain_classifier(folder)
shape = tuple(info["image_shape"])
real = extractor.run(reference_batch(shape, 512, seed=1))[0]
fake = extractor.run(reference_batch(shape, 512, seed=2))[0]
fid = frechet_distance(feature_statistics(real), feature_statistics(fake))
print(json.dumps({"difference": reference_difference(folder), "fid": float(fid)}))
"""


@pytest.mark.parametrize("dataset", sorted(PINNED_WEIGHTS))
def test_the_pinned_extractor_ships_with_its_hashes(dataset):
    folder = pinned_folder(dataset)
    assert folder is not None and classifier_folder(dataset) == folder
    info = json.loads((folder / "classifier.json").read_text())
    assert hashlib.sha256((folder / "classifier.keras").read_bytes()).hexdigest() == info["sha256"]
    assert info["weights_sha256"] == PINNED_WEIGHTS[dataset]
    extractor, loaded = load_domain_classifier(folder)
    assert extractor.name == f"pinned_classifier[{dataset}]/v1" and loaded["pinned"] == 1
    assert info["made_on"] and info["command"].startswith("python -m tfgan_app.evaluate train-classifier")


@pytest.mark.parametrize("dataset", sorted(PINNED_WEIGHTS))
def test_features_and_fid_agree_on_one_thread_and_two(dataset):
    folder = str(pinned_folder(dataset))
    results = []
    for threads in (1, 2):
        out = subprocess.run([sys.executable, "-c", PROBE, folder, str(threads)], cwd=REPO, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for result in results:
        assert result["difference"] <= FEATURE_TOLERANCE, result  # against the stored features
    assert abs(results[0]["fid"] - results[1]["fid"]) <= 1e-3, results
    assert results[0]["fid"] > 0.1  # two different batches: a distance that can move


def test_a_damaged_pinned_file_is_refused(tmp_path):
    import shutil

    copy = tmp_path / "fashion_mnist"
    shutil.copytree(pinned_folder("fashion_mnist"), copy)
    raw = bytearray((copy / "classifier.keras").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (copy / "classifier.keras").write_bytes(bytes(raw))
    with pytest.raises(ExtractorError, match="does not match the SHA-256"):
        load_domain_classifier(copy)


def test_a_self_trained_classifier_says_it_is_not_the_pinned_one(tmp_path):
    from tfgan_app.metrics.features import extractor_name

    assert extractor_name({"dataset": "mnist", "weights_sha256": "ab" * 32}) == "self_trained_classifier[mnist]#abababab"
    assert classifier_folder("mnist") != pinned_folder("fashion_mnist")
    assert pinned_folder("mnist") is None
