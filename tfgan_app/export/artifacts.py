"""The exported files: a SavedModel for TF Serving and an ONNX model, and how to run each.

Contract (both formats): the inputs are the Keras network's own named inputs, batch
dynamic, each of a declared kind (``tfgan_app.inputs``; its name in ``export.json``):
- ``z`` (noise) float32 [batch, latent_dim], for the noise-to-image families;
- ``label`` (label) int32 [batch]: the class, for the class-conditional families;
- ``truncation`` (truncation) float32 [batch] in (0, 1], for BigGAN-style and style-based exports;
- ``code`` (code) float32 [batch, C + K]: InfoGAN's one-hot categorical code then its continuous codes;
- ``image`` (image) float32 [batch, H, W, C] in [-1, 1]: the input of image-to-image translators,
  super-resolution (at the low resolution), inpainting and the image classifiers/scorers;
- ``mask`` (mask) float32 [batch, H, W, 1]: inpainting's hole, 1 = missing;
- ``segmentation`` (label_map) int32 [batch, H, W]: SPADE's label map (class ids, ``classes``);
- ``text`` (text) string [batch]: the text-to-image family's prompt, tokenised inside the SavedModel.
The output is ``images`` float32 [batch, H, W, C] in [-1, 1] for image generators,
``samples`` [batch, D] for vector generators, ``sequences`` [batch, T, F] in [0, 1] for
sequence generators, ``probabilities`` [batch, K] for the domain-adapted classifiers and
``scores`` [batch] for anomaly scorers. The SavedModel's ``serving_default``
signature uses the predict method, so TF Serving's REST and gRPC Predict APIs serve it as
is; a second signature, ``uint8_pixels``, returns ``pixels`` uint8 in [0, 255] for images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tfgan_app.inputs import InputKind, describe

SERVING_SIGNATURE = "serving_default"
PIXELS_SIGNATURE = "uint8_pixels"
TEXT_SIGNATURE = "text"  # text generators: each position's likeliest character, as ids and as strings
ONNX_FILE = "model.onnx"


def versions(model_dir: Path) -> list[int]:
    """The numeric version folders under ``saved_models/<name>`` (what TF Serving loads), sorted."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


OUTPUT_NAMES = ("images", "samples", "sequences", "audio", "characters", "video", "probabilities", "scores")


def output_name(network) -> str:
    """The serving output's name: the network's last layer's name when it is one of
    ``OUTPUT_NAMES``, else ``images`` for [batch, H, W, C] outputs and ``samples`` otherwise."""
    last = network.layers[-1].name
    if last in OUTPUT_NAMES:
        return last
    return "images" if len(network.output_shape) == 4 else "samples"


def describe_inputs(network, kinds: dict[str, InputKind], class_names: tuple[str, ...] = ()) -> list[dict]:
    """The manifest's description of a network's inputs: name, dtype, shape without the
    batch axis, and the input's kind with the facts a caller needs to fill it (``kinds``: the
    family model's ``input_kinds``; ``class_names``: the data's, for inputs that take classes)."""
    missing = [tensor.name for tensor in network.inputs if tensor.name not in kinds]
    if missing:
        raise ValueError(f"inputs {missing} of {network.name} have no declared kind (the family's input_kinds)")
    return [describe(tensor.name, str(tensor.dtype), list(tensor.shape[1:]), kinds[tensor.name].named(tuple(class_names)))
            for tensor in network.inputs]


def _serving_functions(network):
    import tensorflow as tf

    specs = [
        tf.TensorSpec([None, *tensor.shape[1:]], tensor.dtype, name=tensor.name) for tensor in network.inputs
    ]
    name = output_name(network)

    def call(args):
        return network(args[0] if len(args) == 1 else list(args), training=False)

    def serve(*args):
        return {name: call(args)}

    def pixels(*args):
        images = call(args)
        return {"pixels": tf.cast(tf.round((tf.clip_by_value(images, -1.0, 1.0) + 1.0) * 127.5), tf.uint8)}

    return specs, serve, (pixels if name == "images" else None)


def write_savedmodel(network, path: Path, vocabulary: str = "") -> None:
    """Write the network (inference mode: batch norm uses its moving averages) to ``path``.
    With a ``vocabulary`` (a text generator's characters of ids 1, 2, ...; id 0 is any other)
    a ``text`` signature also returns ``ids`` [N, length] and ``text`` (a string per sample)."""
    import keras
    import tensorflow as tf

    specs, serve, pixels = _serving_functions(network)
    archive = keras.export.ExportArchive()
    archive.track(network)
    archive.add_endpoint(name=SERVING_SIGNATURE, fn=serve, input_signature=specs)
    if pixels is not None:
        archive.add_endpoint(name=PIXELS_SIGNATURE, fn=pixels, input_signature=specs)
    if vocabulary:
        characters = tf.constant(["\ufffd", *vocabulary])

        def text(*args):
            ids = tf.argmax(next(iter(serve(*args).values())), axis=-1, output_type=tf.int32)
            return {"ids": ids, "text": tf.strings.reduce_join(tf.gather(characters, ids), axis=-1)}

        archive.add_endpoint(name=TEXT_SIGNATURE, fn=text, input_signature=specs)
    archive.write_out(str(path), verbose=False)


def write_onnx(network, path: Path, opset: int = 17, rewrite: bool = True) -> int:
    """Convert the same serving function with tf2onnx (its ``from_keras`` is broken on TF >= 2.16);
    with ``rewrite``, stride-2 transposed convolutions become the phase convolutions ONNX
    Runtime runs faster (``onnx_rewrite``, exact). Returns how many were rewritten."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    from tfgan_app.export.onnx_rewrite import rewrite_transposed_convolutions

    specs, serve, _ = _serving_functions(network)
    model, _ = tf2onnx.convert.from_function(tf.function(serve), input_signature=specs, opset=opset)
    rewritten = rewrite_transposed_convolutions(model) if rewrite else 0
    onnx.save(model, str(path))
    return rewritten


def check_onnx(path: Path) -> None:
    import onnx

    onnx.checker.check_model(str(path), full_check=True)


def onnx_session(path: Path):
    """An ONNX Runtime CPU session with all graph optimisations (the NCHWc layout and the
    convolution fusions the export's rewrite relies on; ORT's default level already enables
    them, set here so a changed default cannot slow exports down silently)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, inputs: dict[str, np.ndarray]) -> np.ndarray:
    return session.run(None, {name: np.asarray(value) for name, value in inputs.items()})[0]


def load_savedmodel_signature(path: Path):
    import tensorflow as tf

    return tf.saved_model.load(str(path)).signatures[SERVING_SIGNATURE]


def run_savedmodel(signature, inputs: dict[str, np.ndarray]) -> np.ndarray:
    import tensorflow as tf

    outputs = signature(**{name: tf.constant(value) for name, value in inputs.items()})
    return next(iter(outputs.values())).numpy()


def run_keras(network, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The Keras network on named inputs, the way the exported signature calls it."""
    values = [inputs[tensor.name] for tensor in network.inputs]
    return np.asarray(network(values[0] if len(values) == 1 else values, training=False))
