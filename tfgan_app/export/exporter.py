"""Export a run's generator: versioned, verified, atomic.

Layout (``saved_models/<name>`` is TF Serving's ``model_base_path`` as is)::

    saved_models/<name>/<version>/saved_model.pb, variables/, assets/   the SavedModel
                                  model.onnx                             the ONNX model
                                  export.json                            the manifest

TF Serving reads only the SavedModel files of numeric version folders; the ONNX model and
the manifest sit beside them. Everything is written and verified in a staging folder first
and renamed into place, so a crash or a failed check never leaves a half-written version
where TF Serving would load it, and an existing version is never overwritten.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tfgan_app.config import EXPORT_FORMATS, Config, export_formats
from tfgan_app.data.npm import NpmError
from tfgan_app.export import artifacts, contract, web
from tfgan_app.inputs import sample_inputs
from tfgan_app.training.restore import load_run_model
from tfgan_app.training.rundir import RunDirError, RunLock

PARITY_BATCHES = (1, 7)
VERIFY_SCRIPT = Path(__file__).with_name("verify_savedmodel.py")


class ExportError(RuntimeError):
    """The export cannot be made or failed its checks; nothing was left in place."""


@dataclasses.dataclass
class ExportResult:
    name: str
    version: int
    path: Path
    manifest: dict


def next_version(model_dir: Path) -> int:
    return max(artifacts.versions(model_dir), default=0) + 1


def parity_inputs(inputs: list[dict]) -> dict[str, dict[str, np.ndarray]]:
    rng = np.random.default_rng(1234)
    return {f"batch_{n}": sample_inputs(inputs, n, rng) for n in PARITY_BATCHES}


def max_differences(expected: dict, got: dict) -> dict[str, float]:
    return {key: float(np.max(np.abs(expected[key] - got[key]))) for key in expected}


def verify_in_fresh_process(model_dir: Path, cases: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    model_dir = Path(model_dir).resolve()  # the check runs in a scratch working directory
    with tempfile.TemporaryDirectory() as scratch:
        inputs_path, outputs_path = Path(scratch) / "in.npz", Path(scratch) / "out.npz"
        np.savez(inputs_path, **{f"{case}/{name}": value for case, inputs in cases.items() for name, value in inputs.items()})
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ""}
        done = subprocess.run(
            [sys.executable, str(VERIFY_SCRIPT), str(model_dir), str(inputs_path), str(outputs_path)],
            capture_output=True, text=True, env=env, cwd=scratch,
        )
        if done.returncode != 0:
            raise ExportError(f"the SavedModel does not load in a fresh process:\n{done.stderr[-2000:]}")
        with np.load(outputs_path) as outputs:
            return {key: outputs[key] for key in outputs.files}


def _check_parity(label: str, expected: dict, got: dict, tolerance: float) -> dict[str, float]:
    differences = max_differences(expected, got)
    if max(differences.values()) > tolerance:
        raise ExportError(
            f"{label} differs from the Keras generator: max |difference| per batch "
            f"{differences} exceeds the tolerance {tolerance}"
        )
    return differences


def export_run(
    run_dir: Path,
    out: Path = Path("saved_models"),
    name: str = "",
    version: int | None = None,
    formats: tuple[str, ...] = ("savedmodel", "onnx", "web"),
    onnx_opset: int = 17,
    tolerance: float = 1e-4,
    checkpoint: str = "latest",
) -> list[ExportResult]:
    """Export the run's deployable networks (its latest or best checkpoint) to
    ``out/name/version`` and verify every artifact. One network for most families; CycleGAN
    has two, exported as ``name_a2b`` and ``name_b2a``."""
    if not Path(run_dir).is_dir():
        raise ExportError(f"{run_dir} is not a run directory (it does not exist)")
    try:
        with RunLock(Path(run_dir), "export"):  # not while a trainer writes its checkpoints
            model, config, step, info = load_run_model(Path(run_dir), checkpoint)
    except RunDirError as error:
        raise ExportError(str(error)) from None
    source = {
        "source_run": str(Path(run_dir).resolve()), "step": step, "checkpoint": checkpoint,
        "pipeline": config.pipeline, "family": config.model.family,
        "class_names": info.get("class_names", []),
    }
    return export_model(model, Path(out), name or Path(config.pipeline).stem, version, formats, onnx_opset, tolerance, source)


def export_model(
    model,
    out: Path,
    name: str,
    version: int | None = None,
    formats: tuple[str, ...] = ("savedmodel", "onnx", "web"),
    onnx_opset: int = 17,
    tolerance: float = 1e-4,
    source: dict | None = None,
) -> list[ExportResult]:
    """Export a family model's deployable networks (``model.exports()``) to
    ``out/<name>[_suffix]/<version>``, each verified; ``source`` goes into the manifests."""
    unknown = set(formats) - set(EXPORT_FORMATS)
    if unknown or not formats:
        raise ExportError(f"unknown export formats {sorted(unknown) or formats}; use {', '.join(EXPORT_FORMATS)}")
    if "web" in formats and "onnx" not in formats:
        raise ExportError("the web format is a page that runs the ONNX model: export with onnx too "
                          "(--formats savedmodel,onnx,web), or leave web out")
    if not name or "/" in name or name.startswith("."):
        raise ExportError(f"invalid model name {name!r}")
    networks = {f"{name}_{suffix}" if suffix else name: network for suffix, network in model.exports().items()}
    targets = {}
    for model_name in networks:  # every target checked before anything is written
        model_dir = Path(out) / model_name
        number = version if version is not None else next_version(model_dir)
        if number < 1:
            raise ExportError(f"versions are positive integers, got {number}")
        if (model_dir / str(number)).exists():
            raise ExportError(
                f"{model_dir / str(number)} already exists; versions are never overwritten (omit --version for the next)"
            )
        targets[model_name] = number
    kinds = model.input_kinds()
    class_names = tuple((source or {}).get("class_names") or ())
    text_inputs = [tensor.name for network in networks.values() for tensor in network.inputs if tensor.dtype == "string"]
    if "onnx" in formats and text_inputs:
        raise ExportError(
            f"{name} takes text ({', '.join(text_inputs)}: tokenised inside the model), which ONNX has no operators for; "
            "export with --formats savedmodel (export.formats = \"savedmodel\")"
        )
    return [
        _export_network(
            network, Path(out), model_name, targets[model_name], formats, onnx_opset, tolerance,
            {**(source or {}), "inputs": artifacts.describe_inputs(network, kinds, class_names),
             # Sound: the samples per second of the waveform output; text: the characters of ids 1, 2, ...
             **({"sample_rate": int(model.sample_rate)} if getattr(model, "sample_rate", None) else {}),
             **({"vocabulary": model.vocabulary} if getattr(model, "vocabulary", None) else {})},
            take_next=version is None,
        )
        for model_name, network in networks.items()
    ]


def export_generator(
    model, path: str | Path, version: int | None = None, formats: tuple[str, ...] = ("savedmodel", "onnx", "web"),
) -> list[ExportResult]:
    """The Python API's export: a model trained with ``fit`` (``tfgan_app.GAN`` or any
    family model) to ``path/<version>`` (``path`` is TF Serving's model_base_path), with the
    same verification and manifest as a run's export."""
    path = Path(path)
    source = {"source_run": None, "step": int(model.step.numpy()), "family": type(model).__name__, "class_names": []}
    return export_model(model, path.parent, path.name, version, formats, source=source)


def _export_network(
    network, out: Path, name: str, version: int, formats: tuple[str, ...], onnx_opset: int,
    tolerance: float, details: dict, take_next: bool = False,
) -> ExportResult:
    """Write, verify and move one network into ``out/name/version`` (see the module
    docstring). ``take_next``: the version was chosen as the next free one, so when another
    export takes it meanwhile, this one takes the next instead of failing."""
    import keras
    import tensorflow as tf

    target = out / name / str(version)
    cases = parity_inputs(details["inputs"])
    expected = {case: artifacts.run_keras(network, inputs) for case, inputs in cases.items()}
    staging_root = out / ".staging"
    staging_root.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(staging_root)
    # The pid in the name lets a later export tell a killed export's leftovers from a live one's.
    staging = Path(tempfile.mkdtemp(prefix=f"{name}-{version}-pid{os.getpid()}-", dir=staging_root))
    started = time.perf_counter()
    try:
        parity: dict[str, dict[str, float]] = {}
        files, onnx_rewrites = [], None
        if "savedmodel" in formats:
            artifacts.write_savedmodel(network, staging, details.get("vocabulary", ""))
            parity["savedmodel_fresh_process"] = _check_parity(
                "the reloaded SavedModel", expected, verify_in_fresh_process(staging, cases), tolerance
            )
            files += ["saved_model.pb", "variables/"]
        if "onnx" in formats:
            onnx_path = staging / artifacts.ONNX_FILE
            onnx_rewrites = artifacts.write_onnx(network, onnx_path, onnx_opset)
            artifacts.check_onnx(onnx_path)
            session = artifacts.onnx_session(onnx_path)
            got = {case: artifacts.run_onnx(session, inputs) for case, inputs in cases.items()}
            parity["onnx"] = _check_parity("the ONNX model", expected, got, tolerance)
            files.append(artifacts.ONNX_FILE)
        output_rank = len(network.output_shape)
        latent = next((entry["shape"][0] for entry in details["inputs"] if entry["name"] == "z"), None)
        manifest = {
            "name": name, "version": version, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **details,
            "latent_dim": latent,
            "conditional": any(entry.get("kind") == "label" for entry in details["inputs"]),
            "output_shape": [int(d) for d in network.output_shape[1:]],
            "output": artifacts.output_name(network),
            "signatures": [artifacts.SERVING_SIGNATURE] + ([artifacts.PIXELS_SIGNATURE] if output_rank == 4 else [])
            + ([artifacts.TEXT_SIGNATURE] if details.get("vocabulary") and "savedmodel" in formats else []),
            "formats": list(formats), "files": files, "onnx_opset": onnx_opset if "onnx" in formats else None,
            # Transposed convolutions the ONNX model runs as phase convolutions (exact; onnx_rewrite.py).
            "onnx_rewritten_transposed_convolutions": onnx_rewrites,
            "parity": {"batches": list(PARITY_BATCHES), "tolerance": tolerance, "max_abs_difference": parity},
            "versions": {
                "python": platform.python_version(), "tensorflow": tf.__version__,
                "keras": keras.__version__, **_optional_versions(),
            },
            "export_seconds": round(time.perf_counter() - started, 2),
        }
        if "web" in formats:
            try:
                written = web.write_web(staging, staging / artifacts.ONNX_FILE, manifest)
            except NpmError as error:
                raise ExportError(f"{error}; export without the page with --formats savedmodel,onnx "
                                  "(export.formats = \"savedmodel,onnx\")") from None
            manifest["files"].append(f"{web.WEB_DIR}/")
            manifest["web"] = {"files": written, "runtime": f"{web.PACKAGE}@{web.VERSION}",
                               "serve": f"tfgan serve --web {out / name}"}
        manifest["sha256"] = contract.file_hashes(staging)  # every file but export.json, checked at load
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = 0o777 & ~_umask()  # mkdtemp makes 0700: a serving user must be able to read it
        for folder in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            folder.chmod(mode)
        while True:
            (staging / "export.json").write_text(json.dumps(manifest, indent=2) + "\n")
            try:
                if target.exists():
                    raise FileExistsError(errno.EEXIST, "exists", str(target))
                staging.rename(target)  # atomic; refused when another export made the folder
                break
            except OSError as error:
                if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
                if not take_next:  # another export took this version meanwhile
                    raise ExportError(f"{target} appeared during the export; nothing was overwritten") from None
                version = next_version(out / name)
                target, manifest["version"] = out / name / str(version), version
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if staging_root.is_dir() and not any(staging_root.iterdir()):
            staging_root.rmdir()
    return ExportResult(name, version, target, manifest)


def _remove_stale_staging(staging_root: Path) -> None:
    """Remove the staging folders of exports that were killed (their process is gone)."""
    for folder in staging_root.iterdir():
        match = re.search(r"-pid(\d+)-", folder.name)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's
            pass


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _optional_versions() -> dict[str, str]:
    found = {}
    for module in ("tf2onnx", "onnx", "onnxruntime"):
        try:
            found[module] = __import__(module).__version__
        except ImportError:
            pass
    return found


def export_from_config(config: Config, run_dir: Path) -> list[ExportResult]:
    """The ``export`` stage of a pipeline, as the trainer runs it after training."""
    return export_run(
        run_dir, Path(config.export.out), config.export.name,
        formats=export_formats(config.export.formats),
        onnx_opset=config.export.onnx_opset, tolerance=config.export.tolerance,
        checkpoint=config.export.checkpoint,
    )
