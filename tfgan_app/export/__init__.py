"""Export stage: a run's (or a Python-trained model's) generator -> TF Serving SavedModel +
ONNX, verified. The names below are imported on first use, so ``python -m tfgan_app.export``
starts TensorFlow only after its quiet start-up."""

import importlib

_LAZY = {name: "tfgan_app.export.exporter"
         for name in ("ExportError", "ExportResult", "export_generator", "export_model", "export_run")}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'tfgan_app.export' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)
