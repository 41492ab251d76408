"""Export stage: a run's generator -> TF Serving SavedModel + ONNX, verified."""

from tfgan_app.export.exporter import ExportError, ExportResult, export_run

__all__ = ["ExportError", "ExportResult", "export_run"]
