"""TF Serving's ``--model_config_file`` (text protobuf ModelServerConfig) for several exports."""

from __future__ import annotations

from pathlib import Path

from tfgan_app.export.artifacts import versions


def models_config_text(models: dict[str, Path]) -> str:
    """``{name: saved_models/NAME}`` -> the text of a models.config serving all their versions'
    latest (TF Serving's default version policy)."""
    entries = []
    for name, base_path in sorted(models.items()):
        if not name or any(char in name for char in "'\"\\\n"):
            raise ValueError(f"invalid model name {name!r}")
        path = Path(base_path).resolve()
        if not versions(path):
            raise ValueError(f"{path} holds no numeric version folder: not a TF Serving model base path")
        entries.append(
            "  config {\n"
            f"    name: '{name}'\n"
            f"    base_path: '{path}'\n"
            "    model_platform: 'tensorflow'\n"
            "  }\n"
        )
    return "model_config_list {\n" + "".join(entries) + "}\n"


def write_models_config(path: Path, models: dict[str, Path]) -> Path:
    """Write the config atomically (the server may be polling it)."""
    text = models_config_text(models)
    temporary = Path(path).with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return Path(path)


def discover_models(saved_models: Path) -> dict[str, Path]:
    """Every exported model under ``saved_models``, by folder name."""
    return {
        folder.name: folder for folder in sorted(Path(saved_models).iterdir())
        if not folder.name.startswith(".") and versions(folder)
    }
