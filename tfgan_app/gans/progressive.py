"""Progressive growing (Karras et al. 2018, "Progressive Growing of GANs for Improved
Quality, Stability, and Variation", sec. 3) as a training schedule of the style-based
generator (``networks.stylegan``), whose resolutions are gated image terms.

Training starts at the base resolution; each finer one is faded in linearly over
``phase_steps`` steps and then trained as long before the next. G's gates read a ``level``
(0 = the base only, l + f = level l + 1 fading in at f); D keeps its full-resolution
layers (the networks do not change shape), and the real images it sees are blended to the
same resolution: each level's detail (the image average-pooled to that level's size,
minus the coarser one, upsampled by repetition) enters with the same gate as G's term, so
D never sees detail G cannot yet draw. The level is a pure function of the step, set
before every update: a run resumed mid-fade continues exactly (tested).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class ProgressiveGrowing:
    phase_steps: int  # steps of each fade-in, and of each stable phase after it
    levels: int  # resolutions above the base (the generator's gates)

    def level(self, step: tf.Tensor) -> tf.Tensor:
        """0 in the first stable phase, then l - 1 + f while level l fades in, l while it is stable."""
        t = tf.cast(step, tf.float32) / float(self.phase_steps)
        level = tf.floor(t / 2.0) + tf.clip_by_value(tf.math.floormod(t, 2.0) - 1.0, 0.0, 1.0)
        return tf.minimum(level, float(self.levels))

    def real_images(self, images: tf.Tensor, level: tf.Tensor) -> tf.Tensor:
        """``images`` [b, H, W, C] at the resolution of ``level`` (see the module docstring)."""
        side = images.shape[1]

        def at_level(index: int) -> tf.Tensor:
            factor = 2 ** (self.levels - index)
            if factor == 1:
                return images
            pooled = tf.nn.avg_pool2d(images, factor, factor, "VALID")
            return tf.repeat(tf.repeat(pooled, factor, axis=1), factor, axis=2)[:, :side, :side]

        blended = at_level(0)
        for index in range(1, self.levels + 1):
            gate = tf.clip_by_value(level - (index - 1), 0.0, 1.0)
            blended += tf.cast(gate, images.dtype) * (at_level(index) - at_level(index - 1))
        return blended
