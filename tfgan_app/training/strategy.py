"""Choosing a ``tf.distribute`` strategy from the CLI's ``--strategy``."""

from __future__ import annotations

import functools
import json
import os

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
    import tensorflow as tf

    if name == "multiworker":  # before anything initialises TensorFlow's context
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--strategy multiworker reads the cluster from TF_CONFIG, which is not set; e.g. "
                'TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}\''
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run directory: the "chief" task, or worker 0 of a
    cluster without one (TensorFlow's convention); always true outside multi-worker."""
    if not is_multi_worker(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    has_chief = "chief" in json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    return task_type == "worker" and task_id == 0 and not has_chief


def task_name(strategy: tf.distribute.Strategy) -> str:
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type}-{resolver.task_id}"


def worker_count(strategy: tf.distribute.Strategy) -> int:
    """The processes taking part: the chief and workers of the cluster spec (1 outside
    multi-worker training)."""
    if not is_multi_worker(strategy):
        return 1
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return len(cluster.get("chief", [])) + len(cluster.get("worker", []))
