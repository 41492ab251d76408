"""Make the pinned feature extractors that ship with the package.

    python benchmarks/pin_extractors.py [--datasets fashion_mnist emoji] [--from DIR]

For each dataset, train the domain classifier once (``python -m tfgan_app.evaluate
train-classifier``: 5 epochs for Fashion-MNIST, 8 for the emoji subcategories, 15 for the
notes' pitches, 6 for the Moving Fashion-MNIST clips (item x direction), 3 for their frames (item), 2 threads)
or take the one already trained in ``--from DIR/<dataset>``, and write into
``tfgan_app/metrics/pinned/<dataset>/``:

- ``classifier.keras`` and ``classifier.json`` (test accuracy, SHA-256 of the file and of
  the weight arrays, ``pinned`` version, the machine and the command that made it);
- ``reference_features.npy``: its features of ``reference_batch`` (a fixed batch drawn from
  NumPy's PCG64, the same on every platform), which the test suite compares on the machine
  it runs on, with one thread and with two (``FEATURE_TOLERANCE``).

A new pinned version changes every figure measured on it: bump ``PINNED_VERSION`` and
re-measure the zoo (``python benchmarks/zoo.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PINNED_VERSION = 1
EPOCHS = {"fashion_mnist": 5, "emoji": 8, "notes": 15, "moving_fashion_mnist": 6, "moving_fashion_mnist_frames": 3}


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(EPOCHS), choices=list(EPOCHS),
                        help="which extractors to make (default: all)")
    parser.add_argument("--from", dest="source", type=Path,
                        help="take the classifiers already trained in DIR/<dataset> instead of training them")
    args = parser.parse_args(argv)
    from tfgan_app.metrics.features import PINNED_DIR, load_domain_classifier, reference_batch

    for dataset in args.datasets:
        command = [sys.executable, "-m", "tfgan_app.evaluate", "train-classifier", "--dataset", dataset,
                   "--epochs", str(EPOCHS[dataset])]
        trained = (args.source / dataset) if args.source else REPO / "runs" / "pinned" / dataset
        if args.source is None:
            shutil.rmtree(trained, ignore_errors=True)
            subprocess.run([*command, "--out", str(trained)], check=True, cwd=REPO)
        target = PINNED_DIR / dataset
        target.mkdir(parents=True, exist_ok=True)
        info = json.loads((trained / "classifier.json").read_text())
        # The weights alone (an uncompiled copy): a third of the archive with Adam's moments.
        import keras

        from tfgan_app.checksums import sha256_of_file
        from tfgan_app.metrics.features import build_classifier

        trained_model = keras.models.load_model(trained / "classifier.keras")
        shipped = build_classifier(tuple(info["image_shape"]), len(info["class_names"]))
        shipped.set_weights(trained_model.get_weights())
        shipped.save(target / "classifier.keras")
        info["sha256"] = sha256_of_file(target / "classifier.keras")
        info.update(
            pinned=PINNED_VERSION, made_on=f"{cpu_model()}, {os.cpu_count()} cores", made=time.strftime("%Y-%m-%d"),
            command="python -m tfgan_app.evaluate " + " ".join(command[3:]),
        )
        (target / "classifier.json").write_text(json.dumps(info, indent=2) + "\n")
        extractor, info = load_domain_classifier(target)
        import numpy as np

        features, _ = extractor.run(reference_batch(tuple(info["image_shape"])))
        np.save(target / "reference_features.npy", features.astype(np.float32))
        print(f"{extractor.name}: test accuracy {info['test_accuracy']:.4f}, "
              f"{(target / 'classifier.keras').stat().st_size / 2**20:.1f} MiB -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
