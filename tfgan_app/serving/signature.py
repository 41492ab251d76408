"""The SignatureDef of an export, read from saved_model.pb as TF Serving reads it."""

from __future__ import annotations

from pathlib import Path


def read_signature_def(model_dir: Path, name: str = "serving_default") -> dict:
    """{"method_name", "inputs": {key: {"dtype", "shape"}}, "outputs": {...}} from the proto."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((Path(model_dir) / "saved_model.pb").read_bytes())
    graphs = [graph for graph in saved_model.meta_graphs if "serve" in graph.meta_info_def.tags]
    if not graphs:
        raise ValueError(f"{model_dir}: no MetaGraph tagged 'serve' (TF Serving loads that one)")
    signatures = graphs[0].signature_def
    if name not in signatures:
        raise ValueError(f"{model_dir}: no signature {name!r}; it has {sorted(signatures)}")
    signature = signatures[name]

    def describe(tensors):
        return {
            key: {
                "dtype": tf.dtypes.as_dtype(info.dtype).name,  # DT_FLOAT -> "float32"
                "shape": [dim.size for dim in info.tensor_shape.dim],
            }
            for key, info in tensors.items()
        }

    return {
        "method_name": signature.method_name,
        "inputs": describe(signature.inputs),
        "outputs": describe(signature.outputs),
    }
