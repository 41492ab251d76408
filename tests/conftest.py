"""Test setup: split the CPU into 2 logical devices before TensorFlow initialises, so the
multi-replica tests can run MirroredStrategy on a machine without GPUs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Under pytest-xdist each worker takes its share of the cores for TensorFlow's op threads
# (TEST_OP_THREADS overrides; 0 leaves TensorFlow's default of every core per worker).
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
_op_threads = int(os.environ.get("TEST_OP_THREADS", max(1, (os.cpu_count() or 1) // _workers)))
if _workers > 1 and _op_threads > 0:
    tf.config.threading.set_intra_op_parallelism_threads(_op_threads)

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)


@pytest.fixture(autouse=True)
def float32_policy_after_each_test():
    """``build_model`` sets Keras' global precision policy from the config: a test that
    trains in bfloat16 must not leave the next test in its process computing in it."""
    yield
    import keras

    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def idx_dir(tmp_path: Path):
    """A small Fashion-MNIST-like IDX folder written by the test (no download, no apt)."""
    from tests.helpers import write_idx_dataset

    return write_idx_dataset(tmp_path / "idx", count=512)


# A tiny trained DCGAN run and its export, shared by the export, serving and evaluation tests
# (trained once per session).
@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    import os

    from tests.helpers import tiny_config, write_idx_dataset
    from tfgan_app.training.trainer import train

    root = tmp_path_factory.mktemp("run")
    idx = write_idx_dataset(root / "idx", count=256)
    config = tiny_config(data={"idx_dir": str(idx), "data_dir": str(root / "tfds")})
    config.pipeline = "tiny_dcgan.toml"
    train(config, root / "run", progress_stream=open(os.devnull, "w"))
    return root / "run"


@pytest.fixture(scope="session")
def exported(trained_run, tmp_path_factory):
    from tfgan_app.export import export_run

    out = tmp_path_factory.mktemp("saved_models")
    return export_run(trained_run, out)[0], out
