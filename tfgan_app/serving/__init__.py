"""Serving exported generators with TF Serving: clients and the models.config writer."""

from tfgan_app.serving.client import GrpcClient, RestClient, ServingError, check_inputs
from tfgan_app.serving.model_config import discover_models, models_config_text, write_models_config
from tfgan_app.serving.signature import read_signature_def

__all__ = [
    "GrpcClient", "RestClient", "ServingError", "check_inputs", "discover_models",
    "models_config_text", "read_signature_def", "write_models_config",
]
