"""Seconds per forward and backward pass of the audio networks' G and D at batch 32, in
float32 and in mixed bfloat16, each precision in its own process (Keras' policy is global).

    python benchmarks/audio_step.py

Prints one line per network pair and precision, and the bfloat16 / float32 ratio.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def measure(precision: str) -> dict[str, float]:
    import keras
    import tensorflow as tf

    from tfgan_app.data.spectral import spectrogram_shape
    from tfgan_app.networks.audio import spectral_discriminator, spectral_generator, wavegan_discriminator, wavegan_generator

    keras.mixed_precision.set_global_policy(precision)
    shape = spectrogram_shape(16384)
    pairs = {
        "gansynth": (spectral_generator(128, shape, 61, 16), spectral_discriminator(shape, 61, 16)),
        "wavegan": (wavegan_generator(128, 16384, 61, 16), wavegan_discriminator(16384, 61, 16)),
    }
    z, pitch = tf.random.normal([32, 128]), tf.zeros([32], tf.int32)
    seconds = {}
    for name, (generator, discriminator) in pairs.items():
        variables = generator.trainable_variables + discriminator.trainable_variables

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                outputs = discriminator(generator([z, pitch], training=True), training=True)
                loss = tf.reduce_mean(outputs["logit"]) + tf.reduce_mean(outputs["q"])
            return tape.gradient(loss, variables)

        step()
        started = time.perf_counter()
        for _ in range(3):
            step()
        seconds[name] = (time.perf_counter() - started) / 3
    return seconds


def main() -> int:
    if len(sys.argv) > 1:
        for name, value in measure(sys.argv[1]).items():
            print(f"{name} {value:.4f}")
        return 0
    results = {}
    for precision in ("float32", "mixed_bfloat16"):
        done = subprocess.run([sys.executable, __file__, precision], capture_output=True, text=True, check=True)
        results[precision] = dict((line.split()[0], float(line.split()[1])) for line in done.stdout.splitlines())
    for name in results["float32"]:
        f32, bf16 = results["float32"][name], results["mixed_bfloat16"][name]
        print(f"{name}: float32 {f32:.2f} s, mixed_bfloat16 {bf16:.2f} s per G+D pass at batch 32: {bf16 / f32:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
