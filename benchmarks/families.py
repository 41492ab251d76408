"""Fashion-MNIST family table: every image pipeline's run measured the same way.

    python benchmarks/families.py --runs RUNS_DIR [--num 10000] [--json results.json]

RUNS_DIR holds one run directory per pipeline, named after it without the
``fashion_mnist_`` prefix (``runs/cgan``, ``runs/pix2pix``, ...), e.g. made with
``python -m tfgan_app.train --pipeline fashion_mnist_cgan --out RUNS_DIR/cgan``. Needs the
domain classifier (``python -m tfgan_app.evaluate train-classifier``).

- noise-to-image families: FID and KID (domain-classifier features) of ``--num`` samples
  against as many test images, beside the real floor (train vs test);
- pix2pix: mean L1 and FID of its outputs for the test split's edge maps, against the
  targets; the identity (edge map itself) as the floor a useless model gets;
- CycleGAN: FID of G(test A) against test B and of F(test B) against test A, beside the
  FID of the untranslated images (A against B), which translation must lower.
Also the steps and the training wall time from each run's ``run.json``. With
``--baseline-seconds S`` a baseline row: the plain keras.io-style DCGAN of
``benchmarks/throughput.py`` trained for S seconds (give it the default run's training time).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tfgan_app and benchmarks


def fid(extractor, real: np.ndarray, fake: np.ndarray) -> float:
    from tfgan_app.metrics.distances import feature_statistics, frechet_distance

    return float(frechet_distance(
        feature_statistics(extractor.run(real)[0]), feature_statistics(extractor.run(fake)[0])
    ))


def fit_for_seconds(model, data, seconds: float) -> tuple[int, float]:
    """``model.fit`` on endless ``data`` until ``seconds`` of wall time have passed (the
    baselines get the training time of the run they are compared with); (steps, seconds)."""
    import time

    import keras

    deadline, steps = time.perf_counter() + seconds, 0

    class StopAtDeadline(keras.callbacks.Callback):
        def on_train_batch_end(self, index, logs=None):
            nonlocal steps
            steps += 1
            if time.perf_counter() >= deadline:
                self.model.stop_training = True

    started = time.perf_counter()
    model.fit(data, steps_per_epoch=10**7, epochs=1, verbose=0, callbacks=[StopAtDeadline()])
    return steps, time.perf_counter() - started


def keras_io_baseline(seconds: float, train_source, test_source, extractor, num: int) -> dict:
    """The plain keras.io-style DCGAN, trained on the train split for ``seconds`` of wall
    time (batch 64), then measured like the noise-to-image families."""
    import keras

    from benchmarks.throughput import LATENT, keras_io_gan, real_batches
    from tfgan_app.data import to_model_range
    from tfgan_app.metrics.report import image_rows, in_batches, real_subset

    keras.utils.set_random_seed(0)
    model = keras_io_gan()
    steps, trained = fit_for_seconds(model, real_batches(to_model_range(train_source.images).numpy(), 64), seconds)
    z = np.random.default_rng(0).standard_normal((num, LATENT)).astype(np.float32)
    fake = in_batches(lambda chunk: model.generator(chunk, training=False).numpy(), z)
    real_features = extractor.run(real_subset(test_source.images, num, 0))[0]
    measured = {r["metric"]: r["value"] for r in image_rows(real_features, fake, extractor, False)}
    return {"pipeline": "keras.io-style DCGAN (baseline)", "family": "gan", "steps": steps,
            "train_seconds": trained, "images_per_sec": steps * 64 / trained,
            "fid": measured["fid"], "kid": measured["kid"]}


class Measurement:
    """What measuring Fashion-MNIST runs needs once: the domain classifier and the splits."""

    def __init__(self, classifier: Path | None = None, data_config=None):
        from tfgan_app.config import DataConfig
        from tfgan_app.data import load_source
        from tfgan_app.metrics.features import classifier_folder, load_domain_classifier

        self.extractor, self.info = load_domain_classifier(classifier_folder("fashion_mnist", classifier))
        test_config = dataclasses.replace(data_config or DataConfig(), split="test", limit=0)
        self.test_source = load_source(test_config)
        self.train_source = load_source(dataclasses.replace(test_config, split="train"))
        self._train_features = None

    @property
    def train_features(self) -> np.ndarray:
        """Features of every training image (memorisation searches them), computed once."""
        from tfgan_app.data.pipeline import to_model_range

        if self._train_features is None:
            self._train_features = self.extractor.run(to_model_range(self.train_source.images).numpy())[0]
        return self._train_features


def load_shipped_model(run_dir: Path):
    """``load_run_model`` at the checkpoint the run's pipeline exports (``export.checkpoint``):
    its last, or the best one its periodic evaluation kept; what a user of the pipeline gets."""
    from tfgan_app.gans.registry import load_config
    from tfgan_app.training.restore import load_run_model

    return load_run_model(run_dir, load_config(str(Path(run_dir) / "config.json")).export.checkpoint)


def measure_run(run_dir: Path, measurement: Measurement, num: int) -> dict:
    """One run's row: steps and wall time from ``run.json``; FID and KID for a
    noise-to-image family, L1 and FID (with the identity's) for pix2pix, both directions'
    FID (with the untranslated one's) for CycleGAN."""
    from tfgan_app.data.pipeline import to_model_range
    from tfgan_app.data.tasks import edge_maps
    from tfgan_app.metrics.report import image_rows, in_batches, real_subset

    extractor, test_source = measurement.extractor, measurement.test_source
    model, config, step, run = load_shipped_model(run_dir)
    family = config.model.family
    row = {"pipeline": Path(config.pipeline).stem, "family": family, "steps": step,
           "train_seconds": run.get("wall_time_s"), "images_per_sec": run.get("images_per_sec")}
    if hasattr(model, "generate"):  # the noise-to-image families
        real_features = extractor.run(real_subset(test_source.images, num, 0))[0]
        z = np.random.default_rng(0).standard_normal((num, model.noise_dim)).astype(np.float32)
        fake = in_batches(lambda chunk: model.generate(chunk).numpy(), z)
        measured = {r["metric"]: r["value"] for r in image_rows(real_features, fake, extractor, False,
                                                                 train_features=measurement.train_features)}
        row.update(fid=measured["fid"], kid=measured["kid"], memorised_share=measured["memorised_share"],
                   memorised_heldout=measured["  held-out share"])
    elif family == "pix2pix":
        targets = real_subset(test_source.images, min(num, len(test_source.images)), 0)
        inputs = edge_maps(targets).numpy()
        outputs = in_batches(lambda chunk: model.generator(chunk, training=False).numpy(), inputs)
        row.update(l1=float(np.abs(outputs - targets).mean()), identity_l1=float(np.abs(inputs - targets).mean()),
                   fid=fid(extractor, targets, outputs), identity_fid=fid(extractor, targets, inputs))
    elif family == "cyclegan":
        names = test_source.class_names
        a_index, b_index = (names.index(c) if c in names else int(c) for c in (config.family_settings.domain_a, config.family_settings.domain_b))
        test_a = to_model_range(test_source.images[test_source.labels == a_index]).numpy()
        test_b = to_model_range(test_source.images[test_source.labels == b_index]).numpy()
        to_b = in_batches(lambda chunk: model.generator_ab(chunk, training=False).numpy(), test_a)
        to_a = in_batches(lambda chunk: model.generator_ba(chunk, training=False).numpy(), test_b)
        row.update(fid_a2b=fid(extractor, test_b, to_b), fid_b2a=fid(extractor, test_a, to_a),
                   fid_untranslated=fid(extractor, test_b, test_a))
    else:
        raise ValueError(f"{run_dir}: family {family!r} is not measured here (see benchmarks/applications.py)")
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--num", type=int, default=10_000)
    parser.add_argument("--classifier", type=Path)
    parser.add_argument("--baseline-seconds", type=float, default=0.0,
                        help="also train the keras.io-style DCGAN (benchmarks/throughput.py) for this long")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from tfgan_app.metrics.report import real_subset

    measurement = Measurement(args.classifier)
    extractor, info = measurement.extractor, measurement.info
    test_source, train_source = measurement.test_source, measurement.train_source
    rows = [measure_run(run_dir, measurement, args.num)
            for run_dir in sorted(path for path in args.runs.iterdir() if (path / "run.json").is_file())]
    if args.baseline_seconds:
        rows.append(keras_io_baseline(args.baseline_seconds, train_source, test_source, extractor, args.num))
    floor = fid(extractor, real_subset(test_source.images, args.num, 0), real_subset(train_source.images, args.num, 1))
    print(f"extractor: {extractor.name} / {extractor.layer} (test accuracy {info.get('test_accuracy', float('nan')):.3f}); "
          f"real floor (train vs test, {args.num} each): FID {floor:.2f}")
    for row in rows:
        numbers = ", ".join(f"{key} {value:.3f}" for key, value in row.items()
                            if isinstance(value, float) and key not in ("train_seconds", "images_per_sec"))
        print(f"{row['pipeline']:<26} {row['family']:<9} steps {row['steps']:>5}  train {row['train_seconds']:>6.0f} s  {numbers}")
    if args.json:
        args.json.write_text(json.dumps({"real_floor_fid": floor, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
