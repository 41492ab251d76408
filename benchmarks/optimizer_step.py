"""Adam's update alone: Keras 3's Adam against the project's ``FusedAdam`` (one
``ResourceApplyAdam`` kernel per variable) on a pipeline's G and D variables.

    python benchmarks/optimizer_step.py [--pipeline fashion_mnist_dcgan] [--calls 300] [--rounds 3]

Each round times ``--calls`` compiled calls of ``optimizer.apply`` (random gradients, fixed)
for each optimizer in turn and prints the mean milliseconds per call.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", default="fashion_mnist_dcgan")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from tfgan_app.gans.registry import load_config
    from tfgan_app.data import load_source
    from tfgan_app.gans import build_model
    from tfgan_app.gans.build import FusedAdam

    config = load_config(args.pipeline)
    model = build_model(config, load_source(config.data).element_shape)
    variables = [*model.generator.trainable_variables, *model.discriminator.trainable_variables]
    gradients = [tf.random.normal(variable.shape, stddev=1e-3) for variable in variables]
    print(f"{args.pipeline}: {len(variables)} variables, {sum(int(np.prod(v.shape)) for v in variables):,} weights")
    applies = {}
    for name, kind in (("Keras Adam", keras.optimizers.Adam), ("FusedAdam", FusedAdam)):
        optimizer = kind(1e-4, beta_1=0.5)
        optimizer.build(variables)
        applies[name] = tf.function(lambda optimizer=optimizer: optimizer.apply(gradients, variables))
        applies[name]()  # trace
    for round_index in range(args.rounds):
        for name, apply in applies.items():
            started = time.perf_counter()
            for _ in range(args.calls):
                apply()
            print(f"round {round_index + 1}  {name:<11} {(time.perf_counter() - started) / args.calls * 1e3:.3f} ms per update")
    return 0


if __name__ == "__main__":
    sys.exit(main())
