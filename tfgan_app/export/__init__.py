"""Export stage: a run's (or a Python-trained model's) generator -> TF Serving SavedModel +
ONNX, verified."""

from tfgan_app.export.exporter import ExportError, ExportResult, export_generator, export_model, export_run

__all__ = ["ExportError", "ExportResult", "export_generator", "export_model", "export_run"]
