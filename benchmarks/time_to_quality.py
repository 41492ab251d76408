"""Time to quality: FID (domain classifier, 10,000 samples) against training wall-clock time.

    python benchmarks/time_to_quality.py --minutes 2.5,5,10 [--pipeline fashion_mnist_dcgan
        --set KEY=VALUE ...] [--pipeline fashion_mnist_r3gan ...] [--keras-io]
        [--num 10000] [--json ttq.json] [--plot ttq.png]

Each ``--pipeline`` (with the ``--set`` overrides that follow it) trains in this process with
the trainer's own model, data pipeline, precision and steps per call; ``--keras-io`` adds the
plain keras.io-style DCGAN of ``benchmarks/throughput.py`` (mixed_bfloat16, as a Keras user
on this CPU would run it). At each mark of ``--minutes`` the clock stops, the sampling
generator (the EMA copy where the pipeline has one) draws ``--num`` images and their FID
against as many test images is computed, and the clock starts again: the times are training
time only. A pipeline stops at its own last step (its schedules span its configured budget)
or at the last mark, whichever is first; set ``train.epochs`` to make it last. Prints a table
and, with ``--plot``, writes FID against minutes (log scale). Needs the domain classifier
(``python -m tfgan_app.evaluate train-classifier``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_arguments(argv=None):
    """(args, [(pipeline, overrides)]): each --set belongs to the --pipeline before it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", default="2.5,5,10")
    parser.add_argument("--pipeline", action="append", default=[])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--keras-io", action="store_true")
    parser.add_argument("--num", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args(argv)
    runs, argv = [], list(sys.argv[1:] if argv is None else argv)
    for index, token in enumerate(argv):
        if token == "--pipeline":
            runs.append((argv[index + 1], []))
        elif token == "--set":
            if not runs:
                parser.error("--set belongs to the --pipeline before it")
            runs[-1][1].append(argv[index + 1])
    return args, runs


class Marks:
    """A Keras callback that stops the training clock at each mark, measures, and goes on."""

    def __init__(self, minutes: list[float], measure, last_step: int | None = None):
        import keras

        marks, rows = sorted(minutes), []

        class Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.trained, self.started, self.steps = 0.0, time.perf_counter(), 0

            def on_train_batch_end(self, index, logs=None):
                self.steps = index + 1
                elapsed = self.trained + time.perf_counter() - self.started
                finished = last_step is not None and self.steps >= last_step
                reached = []
                while marks and elapsed >= marks[0] * 60:
                    reached.append(marks.pop(0))
                if reached or finished:
                    self.trained = elapsed
                    rows.append({"minutes": elapsed / 60, "mark": reached[-1] if reached else None,
                                 "steps": self.steps, "fid": measure()})
                    print(f"  {elapsed / 60:6.2f} min  step {self.steps:6d}  FID {rows[-1]['fid']:.2f}", flush=True)
                    self.started = time.perf_counter()
                if not marks or finished:
                    self.model.stop_training = True

        self.callback, self.rows = Callback(), rows


def fid_of(generate, latent: int, num: int, extractor, real_statistics) -> float:
    from tfgan_app.metrics.distances import feature_statistics, frechet_distance
    from tfgan_app.metrics.report import in_batches

    z = np.random.default_rng(0).standard_normal((num, latent)).astype(np.float32)
    fake = np.clip(in_batches(generate, z), -1.0, 1.0)
    return float(frechet_distance(real_statistics, feature_statistics(extractor.run(fake)[0])))


def run_pipeline(name: str, overrides: list[str], minutes: list[float], measurement, real_statistics, num: int) -> dict:
    import keras

    from tfgan_app.gans.registry import load_config
    from tfgan_app.data import load_source, make_train_dataset
    from tfgan_app.gans import build_model
    from tfgan_app.training.trainer import total_steps

    config = load_config(name, overrides)
    keras.utils.set_random_seed(config.seed)
    source = load_source(config.data)
    steps = total_steps(config, source)
    model = build_model(config, source.element_shape, source.num_classes, total_steps=steps, class_names=source.class_names)
    model.steps_per_execution = config.train.steps_per_execution
    data = make_train_dataset(
        source, config.train.batch_size, config.train.discriminator_steps, model.noise_dim, config.seed,
        batch_type=model.batch_type,
    )
    marks = Marks(minutes, lambda: fid_of(lambda z: model.generate(z).numpy(), model.noise_dim, num,
                                          measurement.extractor, real_statistics), last_step=steps)
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[marks.callback])
    keras.mixed_precision.set_global_policy("float32")
    label = " ".join([name, *overrides])
    return {"run": label, "configured_steps": steps, "rows": marks.rows}


def run_keras_io(minutes: list[float], measurement, real_statistics, num: int) -> dict:
    import keras

    from benchmarks.throughput import LATENT, keras_io_gan, real_batches
    from tfgan_app.data import to_model_range

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = keras_io_gan()
    marks = Marks(minutes, lambda: fid_of(lambda z: np.asarray(model.generator(z, training=False), np.float32), LATENT,
                                          num, measurement.extractor, real_statistics))
    data = real_batches(to_model_range(measurement.train_source.images).numpy(), 64)
    model.fit(data, steps_per_epoch=10**7, epochs=1, verbose=0, callbacks=[marks.callback])
    keras.mixed_precision.set_global_policy("float32")
    return {"run": "keras.io-style DCGAN (mixed_bfloat16, Adam 2e-4)", "configured_steps": None, "rows": marks.rows}


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for result in results:
        axes.plot([r["minutes"] for r in result["rows"]], [r["fid"] for r in result["rows"]], marker="o", label=result["run"][:60])
    axes.set_xlabel("training wall-clock time (minutes)")
    axes.set_ylabel("FID (domain classifier, lower is better)")
    axes.set_yscale("log")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None) -> int:
    args, runs = parse_arguments(argv)
    from benchmarks.families import Measurement
    from benchmarks.export_latency import machine
    from tfgan_app.metrics.distances import feature_statistics
    from tfgan_app.metrics.report import real_subset

    minutes = [float(m) for m in args.minutes.split(",")]
    measurement = Measurement()
    real_statistics = feature_statistics(measurement.extractor.run(real_subset(measurement.test_source.images, args.num, 0))[0])
    results = []
    for name, overrides in runs or [("fashion_mnist_dcgan", [])]:
        print(f"{name} {' '.join(overrides)}", flush=True)
        results.append(run_pipeline(name, overrides, minutes, measurement, real_statistics, args.num))
    if args.keras_io:
        print("keras.io-style DCGAN", flush=True)
        results.append(run_keras_io(minutes, measurement, real_statistics, args.num))
    print(f"\nmachine: {machine()}; FID on {measurement.extractor.name}")
    print("| run | " + " | ".join(f"{m:g} min" for m in minutes) + " | at its last step |\n|---|" + "---:|" * (len(minutes) + 1))
    for result in results:
        by_mark = {r["mark"]: r for r in result["rows"] if r["mark"] is not None}
        cells = [f"{by_mark[m]['fid']:.1f} ({by_mark[m]['steps']} steps)" if m in by_mark else "-" for m in minutes]
        last = result["rows"][-1]
        cells.append(f"{last['fid']:.1f} ({last['steps']} steps, {last['minutes']:.1f} min)")
        print(f"| {result['run']} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "extractor": measurement.extractor.name, "minutes": minutes, "results": results}, indent=2) + "\n")
    if args.plot:
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
