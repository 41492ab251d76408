"""Generator latency (batch 1) and throughput (batch 256): Keras vs reloaded SavedModel vs
ONNX Runtime, for an export made by ``python -m tfgan_app.export``.

    python benchmarks/export_latency.py --model saved_models/fashion_mnist_dcgan [--run RUN_DIR]
        [--json results.json]

With --run, the Keras generator is restored from that run (else the Keras row is left out).
Prints a table with the machine's details; every figure is the median of timed repetitions
after warm-up, each runtime measured one after another in this one process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def median_seconds(function, z: np.ndarray, repeats: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        function(z)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(z)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="saved_models/NAME")
    parser.add_argument("--version", type=int)
    parser.add_argument("--run", type=Path, help="run directory, for the Keras row")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    import keras
    import onnxruntime
    import tensorflow as tf

    from tfgan_app.export import artifacts
    from tfgan_app.export.exporter import load_run_model
    from tfgan_app.generate import resolve_version

    version_dir = resolve_version(args.model, args.version)
    manifest = json.loads((version_dir / "export.json").read_text())
    runtimes = {}
    if args.run:
        generator = load_run_model(args.run)[0].sampling_generator
        predict = tf.function(lambda z: generator(z, training=False))
        runtimes["Keras (tf.function)"] = lambda z: predict(tf.constant(z)).numpy()
    signature = artifacts.load_savedmodel_signature(version_dir)
    runtimes["SavedModel (reloaded)"] = lambda z: artifacts.run_savedmodel(signature, {"z": z})
    session = artifacts.onnx_session(version_dir / artifacts.ONNX_FILE)
    runtimes["ONNX Runtime"] = lambda z: artifacts.run_onnx(session, {"z": z})

    rng = np.random.default_rng(0)
    rows = []
    for name, function in runtimes.items():
        single = median_seconds(function, rng.standard_normal((1, manifest["latent_dim"])).astype(np.float32), args.repeats * 3)
        batch = median_seconds(function, rng.standard_normal((256, manifest["latent_dim"])).astype(np.float32), args.repeats)
        rows.append({"runtime": name, "batch1_latency_ms": single * 1e3, "batch256_images_per_s": 256 / batch})

    print(f"model: {version_dir} (latent {manifest['latent_dim']}, output {manifest['output_shape']})")
    print(f"machine: {machine()}")
    print(f"versions: TensorFlow {tf.__version__}, Keras {keras.__version__}, ONNX Runtime {onnxruntime.__version__}")
    print("\n| runtime | batch 1 latency (ms) | batch 256 throughput (images/s) |\n|---|---:|---:|")
    for row in rows:
        print(f"| {row['runtime']} | {row['batch1_latency_ms']:.2f} | {row['batch256_images_per_s']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"model": str(version_dir), "machine": machine(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
