"""Weights fingerprints of a few families after a few steps: run it at two commits to show
that a change which should not alter training (a move, a refactor) does not.

    python benchmarks/fingerprints.py [--out runs/fingerprints] > fingerprints.txt
    (at another commit) python benchmarks/fingerprints.py > other.txt; diff fingerprints.txt other.txt

Each pipeline trains through ``python -m tfgan_app.train`` on one thread (multi-threaded
kernels may sum in another order), export off; the line is the SHA-256 of every network
weight that ``run.json`` records (``weights_fingerprint``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# One pipeline per kind of family: noise-to-image, conditional, image-to-image (two
# generators), label maps, the template on toy data, sequences.
PIPELINES = {
    "fashion_mnist_dcgan": ["data.limit=512", "train.batch_size=32"],
    "fashion_mnist_cgan": ["data.limit=512", "train.batch_size=32"],
    "fashion_mnist_cyclegan": ["data.limit=256", "train.batch_size=4"],
    "fashion_mnist_spade": ["data.limit=256", "train.batch_size=8"],
    "toy_ring_template": ["train.batch_size=64"],
    "sines_timegan": ["train.batch_size=32"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/fingerprints"), help="scratch folder for the runs")
    parser.add_argument("--steps", type=int, default=8, help="training steps per pipeline")
    args = parser.parse_args(argv)
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": str(REPO)}
    for pipeline, overrides in PIPELINES.items():
        run = args.out / pipeline
        shutil.rmtree(run, ignore_errors=True)
        sets = [item for value in [*overrides, "export.enabled=false", "evaluation.every=0", "sampling.every=1000"]
                for item in ("--set", value)]
        done = subprocess.run([sys.executable, "-m", "tfgan_app.train", "--pipeline", pipeline, "--steps",
                               str(args.steps), "--out", str(run), *sets], cwd=REPO, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{pipeline}: failed\n{done.stderr[-1500:]}", file=sys.stderr)
            return 1
        print(f"{pipeline} {json.loads((run / 'run.json').read_text())['weights_fingerprint']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
