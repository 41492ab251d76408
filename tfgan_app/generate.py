"""``python -m tfgan_app.generate``: samples from an exported generator, no training code.

    python -m tfgan_app.generate --model saved_models/fashion_mnist_dcgan [--version V]
        [--runtime tf|onnx] [--num 64] [--seed S] [--label L] --out grid.png

Image generators write a PNG grid; vector generators write .png (scatter/histogram),
.csv or .npy by the --out suffix. Reads the export's manifest (export.json) for the shapes.
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


class GenerateError(ValueError):
    pass


def resolve_version(model: Path, version: int | None) -> Path:
    from tfgan_app.export.artifacts import versions as list_versions

    if not model.is_dir():
        raise GenerateError(f"{model} is not an exported model folder (saved_models/NAME)")
    versions = list_versions(model)
    if not versions:
        raise GenerateError(f"{model} holds no numeric version folders; export a run first")
    if version is None:
        return model / str(versions[-1])
    if version not in versions:
        raise GenerateError(f"{model} has no version {version}; it has {versions}")
    return model / str(version)


def generate(
    version_dir: Path, runtime: str, num: int, seed: int, label: int | None = None
) -> tuple[np.ndarray, dict, float]:
    """(samples, manifest, seconds spent generating, excluding model loading)."""
    from tfgan_app.export import artifacts

    manifest = json.loads((version_dir / "export.json").read_text())
    if label is not None and not manifest.get("conditional"):
        raise GenerateError(f"{version_dir} is an unconditional generator: --label does not apply")
    if runtime not in manifest["formats"] and not (runtime == "tf" and "savedmodel" in manifest["formats"]):
        raise GenerateError(f"{version_dir} has no {runtime} export (formats: {manifest['formats']})")
    z = np.random.default_rng(seed).standard_normal((num, manifest["latent_dim"])).astype(np.float32)
    if runtime == "onnx":
        session = artifacts.onnx_session(version_dir / artifacts.ONNX_FILE)
        started = time.perf_counter()
        samples = artifacts.run_onnx(session, z)
    else:
        signature = artifacts.load_savedmodel_signature(version_dir)
        started = time.perf_counter()
        samples = artifacts.run_savedmodel(signature, z)
    return samples, manifest, time.perf_counter() - started


def write_samples(samples: np.ndarray, out: Path) -> None:
    from tfgan_app.training.plots import image_grid, save_png, toy_plot

    out.parent.mkdir(parents=True, exist_ok=True)
    if samples.ndim == 4:
        if out.suffix.lower() != ".png":
            raise GenerateError(f"image samples are written as PNG, not {out.suffix!r}")
        save_png(image_grid(samples), out)
    elif out.suffix.lower() == ".npy":
        np.save(out, samples)
    elif out.suffix.lower() == ".csv":
        np.savetxt(out, samples, delimiter=",")
    elif out.suffix.lower() == ".png":
        save_png(toy_plot(samples, None, "generated"), out)
    else:
        raise GenerateError(f"--out {out}: use .png, .csv or .npy for vector samples")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfgan_app.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="saved_models/NAME")
    parser.add_argument("--version", type=int, help="default: the newest version")
    parser.add_argument("--runtime", choices=("tf", "onnx"), default="tf")
    parser.add_argument("--num", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", type=int, help="class label, for conditional generators")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.num < 1:
        print("error: --num must be >= 1", file=sys.stderr)
        return 2
    try:
        version_dir = resolve_version(args.model, args.version)
        samples, manifest, seconds = generate(version_dir, args.runtime, args.num, args.seed, args.label)
        write_samples(samples, args.out)
    except (GenerateError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"{args.num} samples from {manifest['name']} v{manifest['version']} ({args.runtime}) "
        f"in {seconds * 1000:.1f} ms -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
