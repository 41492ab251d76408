"""Cross-step pipelining of the default step: an experiment, not a feature (no gain measured).

With G's update on D's fakes (``reuse_fakes``), D's gradient on the *next* step's real batch
needs only D after this step's update, not G's update; so it can run beside G's update, the
part of the step that keeps the second core idle (the profile shows 1.6 of 2 cores
busy). This script times the default pipeline's networks (``throughput.keras_io_networks``,
``mixed_bfloat16``) with ``--per-call`` steps per compiled call, two ways:

- sequential: each step computes D's real-batch gradient, then G forward, D's fake-batch
  gradient, D's update, G's update through the updated D (Algorithm 1, G on D's fakes);
- pipelined: the same updates, with each step's real-batch gradient computed in the step
  before, right after D's update there, and carried to the next call in variables.

    python benchmarks/pipelined_step.py [--batch 64] [--intra-op N --inter-op M]

Prints images/s (median of timed windows) for both, two rounds each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--per-call", type=int, default=4)
    parser.add_argument("--intra-op", type=int, default=0, help="threads per op (0: TensorFlow's default)")
    parser.add_argument("--inter-op", type=int, default=0, help="ops at once (0: TensorFlow's default)")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    if args.intra_op or args.inter_op:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    from throughput import LATENT, keras_io_networks

    keras.utils.set_random_seed(0)
    generator, discriminator = keras_io_networks()
    g_optimizer, d_optimizer = keras.optimizers.Adam(8e-4, beta_1=0.5), keras.optimizers.Adam(8e-4, beta_1=0.5)
    g_optimizer.build(generator.trainable_variables)
    d_optimizer.build(discriminator.trainable_variables)
    d_weights, g_weights = discriminator.trainable_variables, generator.trainable_variables
    carried = [tf.Variable(tf.zeros_like(w), trainable=False) for w in d_weights]
    steps = args.per_call

    def cross_entropy(logits, target: float):
        logits = tf.cast(logits, tf.float32)
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), target), logits))

    def real_gradients(real):
        with tf.GradientTape() as tape:
            loss = cross_entropy(discriminator(real, training=True)["logit"], 1.0)
        return tape.gradient(loss, d_weights)

    def step(z, real_grads, after_discriminator_update):
        """One step given D's real-batch gradient; returns what ``after_discriminator_update``
        computes between D's update and G's."""
        with tf.GradientTape() as g_tape:
            fake = generator(z, training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as tape:
                    loss = cross_entropy(discriminator(tf.stop_gradient(fake), training=True)["logit"], 0.0)
                fake_grads = tape.gradient(loss, d_weights)
                d_optimizer.apply_gradients(zip([r + f for r, f in zip(real_grads, fake_grads)], d_weights))
                ahead = after_discriminator_update()
            g_loss = cross_entropy(discriminator(fake, training=True)["logit"], 1.0)
        g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_weights), g_weights))
        return ahead

    @tf.function
    def sequential(images, z):
        for index in range(steps):
            step(z[index], real_gradients(images[index]), lambda: None)

    @tf.function
    def pipelined(images, z):
        grads = [variable.read_value() for variable in carried]
        for index in range(steps):
            grads = step(z[index], grads, lambda index=index: real_gradients(images[index + 1]))
        for variable, value in zip(carried, grads):
            variable.assign(value)

    images = tf.random.uniform([steps + 1, args.batch, 28, 28, 1], -1.0, 1.0)
    z = tf.random.normal([steps, args.batch, LATENT])

    def rate(function, calls: int = 30, windows: int = 5) -> float:
        for _ in range(5):
            function(images, z)
        rates = []
        for _ in range(windows):
            started = time.perf_counter()
            for _ in range(calls // windows):
                function(images, z)
            d_weights[0].numpy()  # wait for the last call
            rates.append(calls // windows * steps * args.batch / (time.perf_counter() - started))
        return statistics.median(rates)

    for round_index in range(2):
        for name, function in (("sequential", sequential), ("pipelined", pipelined)):
            print(f"batch {args.batch}, round {round_index}: {name} {rate(function):.0f} images/s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
