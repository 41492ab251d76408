"""Mode coverage on the toy ring (8 modes) and grid (25 modes), several seeds, in the
columns of PacGAN's Table 1 (Lin et al. 2018): modes covered, high-quality share, reverse KL.

    python benchmarks/toy_modes.py [--seeds 10] [--first-seed 0] [--pipelines toy_ring_mlp,toy_grid_mlp]
        [--set KEY=VALUE ...] [--json results.json]

Each seed trains the pipeline from scratch (in this process) and evaluates 2,500 samples with
the PacGAN protocol. Prints mean and standard error per pipeline beside the published rows.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PUBLISHED = {  # PacGAN, Table 1: modes, high-quality %, reverse KL
    "ring": [("GAN (published)", 6.3, 98.2, 0.45), ("PacGAN2 (published)", 7.9, 95.6, 0.07)],
    "grid": [("GAN (published)", 17.3, 94.8, 0.70), ("PacGAN4 (published)", 24.8, 93.6, 0.04)],
}


def mean_and_error(values: list[float]) -> tuple[float, float]:
    values = np.asarray(values, np.float64)
    error = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return float(values.mean()), float(error)


def run_seed(pipeline: str, seed: int, overrides: list[str], workdir: Path) -> dict:
    import tensorflow as tf

    from tfgan_app.gans.registry import load_config
    from tfgan_app.data import TOY_DISTRIBUTIONS
    from tfgan_app.training.restore import load_run_model
    from tfgan_app.metrics import mode_metrics
    from tfgan_app.training.trainer import train

    config = load_config(pipeline, [*overrides, f"seed={seed}", "export.enabled=false", "sampling.every=1000000"])
    started = time.perf_counter()
    train(config, workdir / f"{pipeline}-{seed}", progress_stream=open(os.devnull, "w"))
    seconds = time.perf_counter() - started
    model = load_run_model(workdir / f"{pipeline}-{seed}")[0]
    z = tf.random.stateless_normal([2500, model.noise_dim], [seed, 2024])
    toy = TOY_DISTRIBUTIONS[config.data.name]
    result = mode_metrics(model.generate(z).numpy(), toy.modes, toy.sigma)
    return {"seed": seed, "modes": result.modes_covered, "high_quality": result.high_quality,
            "reverse_kl": result.reverse_kl, "far_from_modes": result.far_from_modes,
            "steps": config.train.steps, "seconds": seconds, "data": config.data.name}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--pipelines", default="toy_ring_mlp,toy_grid_mlp")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for pipeline in args.pipelines.split(","):
            results[pipeline] = [run_seed(pipeline, seed, args.overrides, Path(workdir))
                                 for seed in range(args.first_seed, args.first_seed + args.seeds)]
    print("| pipeline | seeds | steps | modes | high quality % | reverse KL | s per run |")
    print("|---|---:|---:|---|---|---|---:|")
    for pipeline, rows in results.items():
        data = rows[0]["data"]
        modes = mean_and_error([r["modes"] for r in rows])
        quality = mean_and_error([100 * r["high_quality"] for r in rows])
        finite_kl = [r["reverse_kl"] for r in rows if math.isfinite(r["reverse_kl"])]
        kl = mean_and_error(finite_kl) if finite_kl else (math.inf, 0.0)
        seconds = np.mean([r["seconds"] for r in rows])
        print(f"| {pipeline} ({data}) | {len(rows)} | {rows[0]['steps']} | {modes[0]:.2f} ± {modes[1]:.2f} "
              f"| {quality[0]:.1f} ± {quality[1]:.1f} | {kl[0]:.3f} ± {kl[1]:.3f} | {seconds:.0f} |")
        print("|   per seed: modes " + " ".join(str(r["modes"]) for r in rows) + "; high quality "
              + " ".join(f"{100 * r['high_quality']:.1f}" for r in rows) + "; samples > 6 sigma from every mode "
              + " ".join(f"{100 * r['far_from_modes']:.1f}%" for r in rows) + " | | | | | | |")
        for name, published_modes, published_quality, published_kl in PUBLISHED.get(data, []):
            print(f"| {name} | | | {published_modes} | {published_quality} | {published_kl} | |")
    if args.json:
        args.json.write_text(json.dumps({"overrides": args.overrides, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
