"""The SignatureDef of an export, read from saved_model.pb as TF Serving reads it."""

from __future__ import annotations

from pathlib import Path


def read_signature_def(model_dir: Path, name: str = "serving_default") -> dict:
    """{"method_name", "inputs": {key: {"dtype", "shape"}}, "outputs": {...}} from the proto.
    When the version has an ``export.json``, the SavedModel's files are first checked against
    the hashes it records (ValueError naming a damaged file)."""
    import json

    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    from tfgan_app.export.contract import ContractError, runtime_files, verify_files

    manifest_path = Path(model_dir) / "export.json"
    if manifest_path.is_file():
        try:
            verify_files(model_dir, json.loads(manifest_path.read_text()), runtime_files("tf"))
        except (ContractError, json.JSONDecodeError) as error:
            raise ValueError(f"{model_dir}: {error}") from None

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
