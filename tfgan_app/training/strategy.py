"""Choosing a ``tf.distribute`` strategy from the CLI's ``--strategy``."""

from __future__ import annotations

import functools

import tensorflow as tf

STRATEGIES = ("auto", "mirrored", "multiworker", "one_device")


@functools.cache
def make_strategy(name: str) -> tf.distribute.Strategy:
    """One strategy per kind and process.

    Cached because a second MirroredStrategy in the same process reuses collective-op
    instance keys of the first, and synchronized batch norm then fails with "Shape mismatch
    in the collective instance" (seen with TF 2.21 when training twice in one process).

``auto``: MirroredStrategy over the GPUs when there are several, else the default.

    ``mirrored`` on a machine without GPUs mirrors over the logical CPU devices (one unless
    they were split with ``tf.config.set_logical_device_configuration``), which is how the
    multi-replica code is tested on CPU.
    """
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "multiworker":
        # Keras 3's fit() fails under MultiWorkerMirroredStrategy (keras-team/keras#20585);
        # multi-worker training needs its own loop, which is not built yet.
        raise NotImplementedError(
            "--strategy multiworker is not available yet: Keras 3 fit() fails under "
            "MultiWorkerMirroredStrategy (keras-team/keras#20585) and the project's own "
            "multi-worker loop is still to be built"
        )
    raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
