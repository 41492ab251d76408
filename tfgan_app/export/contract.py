"""What an export promises and what a caller must give it, checked the same way for every
runtime (the SavedModel, ONNX Runtime, TF Serving's clients).

- ``export.json`` records the SHA-256 of every file of the version; ``verify_files`` reads
  them back before a runtime loads anything, so a damaged or altered file is refused by name
  (an altered ``model.onnx`` would otherwise load and compute other numbers).
- ``check_inputs`` refuses what the two runtimes would treat differently: a label outside
  the classes (ONNX's Gather wraps -1 to the last class where TensorFlow refuses it), a
  truncation outside (0, 1], inputs whose batch sizes differ, a wrong shape or dtype.

NumPy only: no TensorFlow, so a serving client can use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from tfgan_app.checksums import sha256_of_file
from tfgan_app.inputs import kind_of

MANIFEST_FILE = "export.json"


class ContractError(ValueError):
    """An export's files or a caller's inputs break the export's contract."""


def file_hashes(version_dir: Path) -> dict[str, str]:
    """{relative POSIX path: SHA-256} of every file of an export version but its manifest."""
    version_dir = Path(version_dir)
    return {
        path.relative_to(version_dir).as_posix(): sha256_of_file(path)
        for path in sorted(version_dir.rglob("*")) if path.is_file() and path.name != MANIFEST_FILE
    }


def verify_files(version_dir: Path, manifest: Mapping, only: tuple[str, ...] = ()) -> list[str]:
    """Check the files the manifest's ``sha256`` lists (those under ``only``'s prefixes when
    given); ContractError naming the first missing or altered one. Returns the names checked
    (empty for a manifest that records no hashes)."""
    recorded = manifest.get("sha256") or {}
    names = [name for name in recorded if not only or any(name == p or name.startswith(p) for p in only)]
    for name in names:
        path = Path(version_dir) / name
        if not path.is_file():
            raise ContractError(f"{path} is missing (export.json lists it); export the run again")
        if sha256_of_file(path) != recorded[name]:
            raise ContractError(
                f"{path} is damaged or was altered: its SHA-256 differs from the one export.json records; "
                "export the run again (or restore the file)"
            )
    return names


def runtime_files(runtime: str) -> tuple[str, ...]:
    """The files (prefixes) one runtime reads: the SavedModel's or the ONNX model."""
    return ("model.onnx",) if runtime == "onnx" else ("saved_model.pb", "variables/", "assets/", "fingerprint.pb")


def signature_of(manifest_inputs: list[dict]) -> dict[str, dict]:
    """The checkable signature of an export's inputs: {name: {"dtype", "shape" with the batch
    axis as -1, and the value range where the manifest gives one}}."""
    return {entry["name"]: {"dtype": entry["dtype"], "shape": [-1, *entry["shape"]], **kind_of(entry).check()}
            for entry in manifest_inputs}


def check_inputs(inputs: Mapping[str, np.ndarray], signature: Mapping[str, dict]) -> dict[str, np.ndarray]:
    """``inputs`` checked against ``signature`` ({name: {"dtype", "shape", optional "classes"
    or "interval"}}) and cast to its dtypes; ContractError naming the input otherwise."""
    missing, extra = set(signature) - set(inputs), set(inputs) - set(signature)
    if missing or extra:
        raise ContractError(f"inputs {sorted(inputs)} do not match the signature's {sorted(signature)}")
    checked, batches = {}, {}
    for name, spec in signature.items():
        value = np.asarray(inputs[name])
        if spec["dtype"] == "string":  # text prompts: TensorFlow's strings, NumPy's str or bytes arrays
            if value.dtype.kind not in "USO":
                raise ContractError(f"input {name!r} has dtype {value.dtype}, the signature wants strings")
            dtype = value.dtype
        else:
            dtype = np.dtype(spec["dtype"])
        if value.dtype != dtype and not np.can_cast(value.dtype, dtype, casting="same_kind"):
            raise ContractError(f"input {name!r} has dtype {value.dtype}, the signature wants {dtype}")
        shape = spec["shape"]
        if value.ndim != len(shape) or any(d not in (-1, None) and d != v for d, v in zip(shape, value.shape)):
            raise ContractError(f"input {name!r} has shape {list(value.shape)}, the signature wants {shape}")
        if value.ndim:
            batches[name] = value.shape[0]
        if "classes" in spec and value.size and (value.min() < 0 or value.max() >= spec["classes"]):
            bad = value.min() if value.min() < 0 else value.max()
            raise ContractError(f"input {name!r} holds class {bad}, outside 0..{spec['classes'] - 1}")
        if spec.get("interval") == "(0, 1]" and value.size and not ((value > 0) & (value <= 1)).all():
            raise ContractError(f"input {name!r} holds {value[~((value > 0) & (value <= 1))].flat[0]}, outside (0, 1]")
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ContractError(f"input {name!r} holds NaN or Inf")
        checked[name] = value.astype(dtype)
    if len(set(batches.values())) > 1:
        raise ContractError(f"the inputs' batch sizes differ: {batches}; give every input the same number of rows")
    return checked
