"""The exported files: a SavedModel for TF Serving and an ONNX model, and how to run each.

Contract (both formats): input ``z`` float32 [batch, latent_dim] (batch dynamic), output
``images`` float32 [batch, H, W, C] in [-1, 1] for image generators, ``samples`` [batch, D]
for vector generators. The SavedModel's ``serving_default`` signature uses the predict
method, so TF Serving's REST and gRPC Predict APIs serve it as is; a second signature,
``uint8_pixels``, returns ``pixels`` uint8 in [0, 255] for image generators.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SERVING_SIGNATURE = "serving_default"
PIXELS_SIGNATURE = "uint8_pixels"
INPUT_NAME = "z"
ONNX_FILE = "model.onnx"


def versions(model_dir: Path) -> list[int]:
    """The numeric version folders under ``saved_models/<name>`` (what TF Serving loads), sorted."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def output_name(output_rank: int) -> str:
    """``images`` for [batch, H, W, C] outputs, ``samples`` for [batch, D]."""
    return "images" if output_rank == 4 else "samples"


def _serving_functions(generator):
    import tensorflow as tf

    latent_dim = generator.input_shape[-1]
    name = output_name(len(generator.output_shape))
    spec = tf.TensorSpec([None, latent_dim], tf.float32, name=INPUT_NAME)

    def serve(z):
        return {name: generator(z, training=False)}

    def pixels(z):
        images = generator(z, training=False)
        return {"pixels": tf.cast(tf.round((tf.clip_by_value(images, -1.0, 1.0) + 1.0) * 127.5), tf.uint8)}

    return spec, serve, (pixels if name == "images" else None)


def write_savedmodel(generator, path: Path) -> None:
    """Write the generator (inference mode: batch norm uses its moving averages) to ``path``."""
    import keras

    spec, serve, pixels = _serving_functions(generator)
    archive = keras.export.ExportArchive()
    archive.track(generator)
    archive.add_endpoint(name=SERVING_SIGNATURE, fn=serve, input_signature=[spec])
    if pixels is not None:
        archive.add_endpoint(name=PIXELS_SIGNATURE, fn=pixels, input_signature=[spec])
    archive.write_out(str(path), verbose=False)


def write_onnx(generator, path: Path, opset: int = 17) -> None:
    """Convert the same serving function with tf2onnx (its ``from_keras`` is broken on TF >= 2.16)."""
    import tensorflow as tf
    import tf2onnx

    spec, serve, _ = _serving_functions(generator)
    tf2onnx.convert.from_function(
        tf.function(serve), input_signature=[spec], opset=opset, output_path=str(path)
    )


def check_onnx(path: Path) -> None:
    import onnx

    onnx.checker.check_model(str(path), full_check=True)


def onnx_session(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, z: np.ndarray) -> np.ndarray:
    return session.run(None, {INPUT_NAME: np.asarray(z, np.float32)})[0]


def load_savedmodel_signature(path: Path):
    import tensorflow as tf

    return tf.saved_model.load(str(path)).signatures[SERVING_SIGNATURE]


def run_savedmodel(signature, z: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    outputs = signature(**{INPUT_NAME: tf.constant(np.asarray(z, np.float32))})
    return next(iter(outputs.values())).numpy()
