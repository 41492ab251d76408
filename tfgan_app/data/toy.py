"""Toy distributions for 1-D and 2-D GAN experiments.

Mixtures of Gaussians with equal weights. The ring and grid follow the mode-collapse
benchmarks of Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class ToyDistribution:
    name: str
    modes: np.ndarray  # [num_modes, dim]
    sigma: float  # standard deviation of each component, per coordinate

    @property
    def dim(self) -> int:
        return self.modes.shape[1]

    def sample(self, seed: tf.Tensor, count: int) -> tf.Tensor:
        """``count`` samples as float32 [count, dim]; a pure function of the [2] seed."""
        mode_seed = tf.random.experimental.stateless_fold_in(seed, 0)
        noise_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        which = tf.random.stateless_uniform(
            [count], mode_seed, minval=0, maxval=len(self.modes), dtype=tf.int32
        )
        centres = tf.gather(tf.constant(self.modes, tf.float32), which)
        return centres + self.sigma * tf.random.stateless_normal([count, self.dim], noise_seed)


def _ring(num_modes: int = 8, radius: float = 1.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def _grid(values=(-4.0, -2.0, 0.0, 2.0, 4.0)) -> np.ndarray:
    return np.array([(x, y) for x in values for y in values])


TOY_DISTRIBUTIONS: dict[str, ToyDistribution] = {
    # N(4, 0.5): mean 4, standard deviation 0.5.
    "gaussian_1d": ToyDistribution("gaussian_1d", np.array([[4.0]]), 0.5),
    "ring": ToyDistribution("ring", _ring(), 0.01),
    "grid": ToyDistribution("grid", _grid(), 0.05),
}
