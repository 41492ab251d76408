"""Mode coverage on Stacked Fashion-MNIST (1,000 modes): modes covered and reverse KL.

    python -m tfgan_app.train --pipeline stacked_fashion_mnist_best --out runs/stacked_best
    python benchmarks/stacked_modes.py --run runs/stacked_best [--run runs/stacked_dcgan ...]
        [--samples 26000] [--json modes.json]

For each run, ``--samples`` images from its sampling generator (the EMA copy where kept);
the Fashion-MNIST domain classifier (``python -m tfgan_app.evaluate train-classifier``)
classifies each channel, the triple of classes is the sample's mode, and the table gives
the modes with at least one sample (of 1,000) and KL(p_hat || uniform) (PacGAN, Lin et al.
2018, sec. 5.2, with 26,000 samples as there). The first row applies the same count to as
many real stacked test images: what a perfect generator would score with this classifier.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def channel_classes(extractor, images: np.ndarray) -> np.ndarray:
    """[n, 3] the domain classifier's class of each channel of [n, H, W, 3] images in [-1, 1]."""
    return np.stack([np.argmax(extractor.run(images[..., [channel]])[1], axis=1) for channel in range(images.shape[-1])], 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, action="append", default=[])
    parser.add_argument("--samples", type=int, default=26_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source, to_model_range
    from tfgan_app.training.restore import load_run_model
    from tfgan_app.metrics.features import classifier_folder, load_domain_classifier
    from tfgan_app.metrics.report import in_batches
    from tfgan_app.metrics.toy import stacked_modes

    extractor, _ = load_domain_classifier(classifier_folder("fashion_mnist"))
    real = load_source(DataConfig(name="stacked_fashion_mnist", split="test"))
    real_images = to_model_range(real.images[np.random.default_rng(0).integers(0, len(real.images), args.samples)]).numpy()
    rows = [{"run": "real stacked test images (resampled)", "steps": 0, "train_s": 0.0,
             **vars(stacked_modes(channel_classes(extractor, real_images)))}]
    for run_dir in args.run:
        model, config, step, info = load_run_model(run_dir)
        z = np.random.default_rng(0).standard_normal((args.samples, model.noise_dim)).astype(np.float32)
        images = np.clip(in_batches(lambda chunk: model.generate(chunk).numpy(), z), -1, 1)
        rows.append({"run": f"{run_dir} ({Path(config.pipeline).stem})", "steps": step, "train_s": info.get("wall_time_s"),
                     **vars(stacked_modes(channel_classes(extractor, images)))})
    print(f"modes counted by {extractor.name} on each channel")
    print("| run | steps | train s | modes covered (of 1000) | reverse KL |\n|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['run']} | {row['steps']} | {row['train_s'] or 0:.0f} | {row['modes_covered']} | {row['reverse_kl']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
