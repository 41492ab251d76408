"""Generator latency (batch 1) and throughput (batch 256): Keras vs reloaded SavedModel vs
ONNX Runtime, for an export made by ``python -m tfgan_app.export``.

    python benchmarks/export_latency.py --model saved_models/fashion_mnist_dcgan [--run RUN_DIR]
        [--json results.json]

With --run, the Keras generator is restored from that run (else the Keras row is left out),
and a second ONNX model is converted from it without the export's rewrite of transposed
convolutions (``tfgan_app/export/onnx_rewrite.py``), to show what the rewrite gives.
Prints a table with the machine's details. Every runtime is timed in a fresh process of its
own (TensorFlow's and ONNX Runtime's thread pools keep spinning after a call and slow down
whatever runs next in the same process), one after another, for ``--rounds`` rounds; each
figure is the median over the rounds of the median of timed calls after warm-up.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def median_seconds(function, inputs: dict, repeats: int, warmup: int = 5) -> float:
    for _ in range(warmup):
        function(inputs)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(inputs)
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


ROWS = ("Keras (tf.function)", "SavedModel (reloaded)", "ONNX Runtime (as exported)", "ONNX Runtime (ConvTranspose kept)")


def time_row(row: str, version_dir: Path, run: Path | None, plain_onnx: Path | None, manifest: dict, repeats: int) -> dict:
    """Time one runtime (called in its own process) on the export's inputs (``z``, and a
    ``truncation`` of 1 where the export has one)."""
    from tfgan_app.export import artifacts
    from tfgan_app.inputs import sample_inputs

    if row == ROWS[0]:
        import tensorflow as tf

        from tfgan_app.training.restore import load_run_model

        generator = load_run_model(run)[0].sampling_generator
        predict = tf.function(lambda z: generator(z, training=False))
        function = lambda inputs: predict(tf.constant(inputs["z"])).numpy()  # noqa: E731
    elif row == ROWS[1]:
        signature = artifacts.load_savedmodel_signature(version_dir)
        function = lambda inputs: artifacts.run_savedmodel(signature, inputs)  # noqa: E731
    else:
        session = artifacts.onnx_session(version_dir / artifacts.ONNX_FILE if row == ROWS[2] else plain_onnx)
        function = lambda inputs: artifacts.run_onnx(session, inputs)  # noqa: E731
    rng = np.random.default_rng(0)
    single = median_seconds(function, sample_inputs(manifest["inputs"], 1, rng), repeats * 3)
    batch = median_seconds(function, sample_inputs(manifest["inputs"], 256, rng), repeats)
    return {"runtime": row, "batch1_latency_ms": single * 1e3, "batch256_images_per_s": 256 / batch}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="saved_models/NAME")
    parser.add_argument("--version", type=int)
    parser.add_argument("--run", type=Path, help="run directory, for the Keras and ConvTranspose-kept rows")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--row", choices=ROWS, help=argparse.SUPPRESS)  # internal: time one row
    parser.add_argument("--plain-onnx", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from tfgan_app.export import artifacts
    from tfgan_app.inputs import sample_inputs
    from tfgan_app.generate import resolve_version

    version_dir = resolve_version(args.model, args.version)
    manifest = json.loads((version_dir / "export.json").read_text())
    if args.row:
        row = time_row(args.row, version_dir, args.run, args.plain_onnx, manifest, args.repeats)
        print(json.dumps(row))
        return 0

    import keras
    import onnxruntime
    import tensorflow as tf

    rows = [ROWS[1], ROWS[2]]
    with tempfile.TemporaryDirectory() as scratch:
        plain = Path(scratch) / "plain.onnx"
        if args.run:
            from tfgan_app.training.restore import load_run_model

            artifacts.write_onnx(load_run_model(args.run)[0].exports()[""], plain, manifest.get("onnx_opset") or 17, rewrite=False)
            rows = [ROWS[0], *rows, ROWS[3]]
        results: dict[str, list[dict]] = {row: [] for row in rows}
        for _ in range(args.rounds):
            for row in rows:
                command = [sys.executable, __file__, "--model", str(args.model), "--row", row, "--repeats", str(args.repeats),
                           "--plain-onnx", str(plain)] + (["--version", str(args.version)] if args.version else []) \
                    + (["--run", str(args.run)] if args.run else [])
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                results[row].append(json.loads(done.stdout.strip().splitlines()[-1]))
    table = [
        {"runtime": row, **{key: statistics.median(r[key] for r in runs) for key in ("batch1_latency_ms", "batch256_images_per_s")},
         "rounds": runs}
        for row, runs in results.items()
    ]
    print(f"model: {version_dir} (latent {manifest['latent_dim']}, output {manifest['output_shape']}; "
          f"{manifest.get('onnx_rewritten_transposed_convolutions')} transposed convolutions rewritten in its ONNX model)")
    print(f"machine: {machine()}")
    print(f"versions: TensorFlow {tf.__version__}, Keras {keras.__version__}, ONNX Runtime {onnxruntime.__version__}")
    print(f"\n| runtime | batch 1 latency (ms) | batch 256 throughput (images/s) |\n|---|---:|---:|")
    for row in table:
        print(f"| {row['runtime']} | {row['batch1_latency_ms']:.2f} | {row['batch256_images_per_s']:.0f} |")
    by_name = {row["runtime"]: row for row in table}
    saved, exported = by_name[ROWS[1]], by_name[ROWS[2]]
    print(f"\nONNX / SavedModel at batch 256: {exported['batch256_images_per_s'] / saved['batch256_images_per_s']:.2f}x; "
          f"batch-1 latency SavedModel / ONNX: {saved['batch1_latency_ms'] / exported['batch1_latency_ms']:.1f}x")
    if args.json:
        args.json.write_text(json.dumps({"model": str(version_dir), "machine": machine(), "rows": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
