"""``python -m tfgan_app.generate``: samples from an exported model, no training code.

    python -m tfgan_app.generate --model saved_models/fashion_mnist_dcgan [--version V]
        [--runtime tf|onnx] [--num 64] [--seed S] [--label L] --out grid.png
    python -m tfgan_app.generate --model saved_models/fashion_mnist_cyclegan_a2b
        --input photos/ --out translated/
    python -m tfgan_app.generate --model saved_models/fashion_mnist_spade --input maps/ --out images/

Noise-to-image models write a PNG grid (a conditional model without --label: one row per
class), one PNG per sample into a folder (--out without a suffix) or an array (.npz); the
model runs in batches of 256, so any --num fits in memory; vector generators write .png (scatter/histogram), .csv or .npy by the --out
suffix. Image-to-image models translate every image of --input (a file or a folder) into
the --out folder under the same relative names, plus ``grid.png`` (input | output pairs);
a label-map-to-image model (SPADE) does the same for the label maps of --input
(single-channel PNGs whose pixel values are class ids).
Reads the export's manifest (export.json) for the inputs and shapes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from tfgan_app.metrics.report import in_batches



class GenerateError(ValueError):
    pass


BATCH = 256  # samples per call of the exported model
MAX_GRID = 1024  # images in one grid PNG; more go to a folder or an .npz


def resolve_version(model: Path, version: int | None) -> Path:
    from tfgan_app.export.artifacts import versions as list_versions

    if not model.is_dir():
        raise GenerateError(f"{model} is not an exported model folder (saved_models/NAME)")
    versions = list_versions(model)
    if not versions:
        raise GenerateError(f"{model} holds no numeric version folders; export a run first")
    if version is None:
        return model / str(versions[-1])
    if version not in versions:
        raise GenerateError(f"{model} has no version {version}; it has {versions}")
    return model / str(version)


def read_manifest(version_dir: Path) -> dict:
    """The export's ``export.json``, checked: GenerateError naming the file when it is missing or damaged."""
    manifest_path = version_dir / "export.json"
    if not manifest_path.is_file():
        raise GenerateError(
            f"{version_dir} is not a complete export: it has no export.json (the manifest every export writes); "
            "export the run again with python -m tfgan_app.export"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        manifest["formats"], manifest["inputs"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise GenerateError(f"{manifest_path} is damaged ({error}); export the run again") from None
    return manifest


def has_runtime(formats: list[str], runtime: str) -> bool:
    """Whether an export of ``formats`` runs on ``runtime`` ("tf" runs the "savedmodel" format)."""
    return runtime in formats or (runtime == "tf" and "savedmodel" in formats)


def load_runner(version_dir: Path, runtime: str, can_switch: bool = True):
    """(function named inputs -> outputs for the chosen runtime, manifest). The runtime's
    files are checked against the hashes export.json records before anything loads them,
    and every call's inputs against the export's contract (``export.contract``), so both
    runtimes refuse the same bad input. ``can_switch``: the command has ``--runtime``, so a
    message may suggest the other one."""
    from tfgan_app.export import artifacts, contract

    manifest = read_manifest(version_dir)
    formats = manifest["formats"]
    if not has_runtime(formats, runtime):
        raise GenerateError(f"{version_dir} has no {runtime} export (formats: {formats})")
    other = "tf" if runtime == "onnx" else "onnx"
    alternative = f"--runtime {other} or " if can_switch and has_runtime(formats, other) else ""
    if runtime == "onnx" and not (version_dir / artifacts.ONNX_FILE).is_file():
        raise GenerateError(f"{version_dir / artifacts.ONNX_FILE} is missing; use {alternative}export the run again")
    try:
        contract.verify_files(version_dir, manifest, contract.runtime_files(runtime))
    except contract.ContractError as error:
        raise GenerateError(f"{error}" + (f"; {alternative.removesuffix(' or ')} may still work" if alternative else "")) from None
    signature = contract.signature_of(manifest["inputs"])

    def checked(inputs: dict) -> dict:
        try:
            return contract.check_inputs(inputs, signature)
        except contract.ContractError as error:
            raise GenerateError(f"{manifest['name']}: {error}") from None

    if runtime == "onnx":
        onnx_path = version_dir / artifacts.ONNX_FILE
        try:
            session = artifacts.onnx_session(onnx_path)
        except Exception as error:  # noqa: BLE001 - ONNX Runtime raises its own exception types
            raise GenerateError(
                f"{onnx_path} cannot be loaded ({str(error).splitlines()[0]}); use {alternative}export the run again"
            ) from None
        return (lambda inputs: artifacts.run_onnx(session, checked(inputs))), manifest
    try:
        serving = artifacts.load_savedmodel_signature(version_dir)
    except Exception as error:  # noqa: BLE001 - TensorFlow and protobuf raise many types here
        raise GenerateError(
            f"the SavedModel in {version_dir} cannot be loaded ({type(error).__name__}: {str(error).splitlines()[0]}); "
            f"use {alternative}export the run again"
        ) from None
    return (lambda inputs: artifacts.run_savedmodel(serving, checked(inputs))), manifest


def input_names(manifest: dict) -> list[str]:
    return [entry["name"] for entry in manifest["inputs"]]


def label_index(manifest: dict, label: str | int) -> int:
    """The class index ``--label`` names: an index, or a class name of the export's manifest
    (case-insensitive, e.g. ``--label "Animals & Nature"`` for emoji_cgan)."""
    label_entry = next((entry for entry in manifest["inputs"] if entry["name"] == "label"), None)
    if label_entry is None:
        raise GenerateError(f"{manifest['name']} is an unconditional generator: --label does not apply")
    classes, names = label_entry["classes"], manifest.get("class_names") or []
    listing = ", ".join(f"{i}={n}" for i, n in enumerate(names)) if names else f"0..{classes - 1}"
    text = str(label).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < classes:
            raise GenerateError(f"--label {index} is outside the {classes} classes of {manifest['name']} ({listing})")
        return index
    folded = [name.casefold() for name in names]
    if text.casefold() in folded:
        return folded.index(text.casefold())
    raise GenerateError(f"--label {text!r} is not a class of {manifest['name']}; use an index or a name ({listing})")


def noise_inputs(
    manifest: dict, num: int, seed: int, label: str | int | None = None, truncation: float | None = None,
    text: str | None = None,
) -> tuple[dict, int | None]:
    """(named inputs for ``num`` samples, grid columns). A label (index or class name) is
    checked against the model's classes; a conditional model without one gets one grid row
    per class. ``truncation`` fills the input of that name (the export's default when None)."""
    from tfgan_app.export import artifacts

    if "image" in input_names(manifest):
        raise GenerateError(f"{manifest['name']} translates images: pass --input FOLDER, not noise options")
    if truncation is not None:
        if "truncation" not in input_names(manifest):
            raise GenerateError(f"{manifest['name']} has no truncation input (inputs {input_names(manifest)}): omit --truncation")
        if not 0.0 < truncation <= 1.0:
            raise GenerateError(f"--truncation {truncation}: use a value in (0, 1] (1 = the generator as trained)")
    label_entry = next((entry for entry in manifest["inputs"] if entry["name"] == "label"), None)
    if label is not None:
        label = label_index(manifest, label)
    inputs = artifacts.random_inputs(manifest["inputs"], num, np.random.default_rng(seed), label, truncation)
    text_entry = next((entry for entry in manifest["inputs"] if entry["name"] == "text"), None)
    if (text is not None) != (text_entry is not None):
        raise GenerateError(f"{manifest['name']} takes a text: pass --text \"...\"" if text_entry else
                            f"{manifest['name']} takes no text (inputs {input_names(manifest)}): omit --text")
    if text_entry is not None:
        if not str(text).strip():
            raise GenerateError("--text is empty: give the words of the image to draw (e.g. --text \"red apple\")")
        inputs["text"] = np.array([str(text)] * num)
    if label_entry is None or label is not None:
        return inputs, None
    classes = label_entry["classes"]
    columns = math.ceil(num / classes)
    inputs["label"] = np.repeat(np.arange(classes), columns)[:num].astype(np.int32)
    return inputs, columns


def generate(
    version_dir: Path, runtime: str, num: int, seed: int, label: str | int | None = None,
    truncation: float | None = None, text: str | None = None,
) -> tuple[np.ndarray, dict, float, int | None]:
    """(samples, manifest, seconds spent generating excluding model loading, grid columns)."""
    run, manifest = load_runner(version_dir, runtime)
    inputs, columns = noise_inputs(manifest, num, seed, label, truncation, text)
    started = time.perf_counter()
    # Bounded batches: memory stays that of BATCH samples, whatever --num is.
    samples = in_batches(run, inputs, BATCH)
    return samples, manifest, time.perf_counter() - started, columns


def translate(version_dir: Path, runtime: str, source: Path) -> tuple[np.ndarray, np.ndarray, list[Path], dict, float]:
    """(inputs, outputs, files, manifest, seconds): an export with one ``image`` input (a
    translator, a super-resolution model, a classifier or a scorer) over a file or folder."""
    from tfgan_app.data.folder import folder_files, load_images
    from tfgan_app.data.pipeline import to_model_range

    run, manifest = load_runner(version_dir, runtime)
    if input_names(manifest) != ["image"]:
        raise GenerateError(f"{manifest['name']} does not take images alone (inputs {input_names(manifest)}); omit --input")
    height, width, channels = next(entry["shape"] for entry in manifest["inputs"])
    if source.is_file():
        files = [source]
    else:
        files = folder_files(source, height, channels)
    pixels, files, _ = load_images(files, height, channels, on_bad_image="skip")
    if not files:
        raise GenerateError(f"no readable images in {source}")
    images = to_model_range(pixels).numpy()
    started = time.perf_counter()
    outputs = in_batches(lambda chunk: run({"image": chunk}), images, 64)
    return images, outputs, files, manifest, time.perf_counter() - started


def read_label_maps(source: Path, entry: dict) -> tuple[np.ndarray, list[Path]]:
    """int32 [n, H, W] class ids from the PNGs of ``source`` (a file or a folder): single-channel
    images whose pixel values are the class ids (what ``--input`` takes for a SPADE export).
    Maps are never resized (interpolated ids would be other classes): a wrong size, a colour
    image or an id outside the export's classes is refused, naming the file."""
    from PIL import Image, UnidentifiedImageError

    height, width = entry["shape"]
    files = [source] if source.is_file() else sorted(
        path for path in source.rglob("*") if path.suffix.lower() in (".png", ".bmp", ".gif", ".tif", ".tiff")
    )
    if not files:
        raise GenerateError(f"no label maps (.png) in {source}")
    maps = []
    for path in files:
        try:
            with Image.open(path) as image:
                if image.mode not in ("L", "P", "I", "I;16"):
                    raise GenerateError(f"{path}: a label map is a single-channel image of class ids, got mode {image.mode}")
                values = np.asarray(image).astype(np.int64)
        except (OSError, UnidentifiedImageError) as error:
            raise GenerateError(f"{path}: not a readable image ({error})") from None
        if values.shape != (height, width):
            raise GenerateError(f"{path}: a {values.shape[0]}x{values.shape[1]} map; {entry.get('name')} takes {height}x{width} (maps are not resized)")
        if values.max() >= entry["classes"]:
            names = entry.get("class_names") or []
            listing = ", ".join(f"{i}={n}" for i, n in enumerate(names)) or f"0..{entry['classes'] - 1}"
            raise GenerateError(f"{path}: class id {values.max()} is outside the {entry['classes']} classes ({listing})")
        maps.append(values.astype(np.int32))
    return np.stack(maps), files


def synthesize(version_dir: Path, runtime: str, source: Path, seed: int) -> tuple[np.ndarray, np.ndarray, list[Path], dict, float]:
    """(maps as images, outputs, files, manifest, seconds): a label-map-to-image export
    (inputs ``z`` and ``segmentation``) over the maps of ``source``, noise from ``seed``."""
    from tfgan_app.data.tasks import map_as_image
    from tfgan_app.export import artifacts

    run, manifest = load_runner(version_dir, runtime)
    entry = next(entry for entry in manifest["inputs"] if entry["name"] == "segmentation")
    maps, files = read_label_maps(source, entry)
    inputs = artifacts.random_inputs(manifest["inputs"], len(maps), np.random.default_rng(seed))
    inputs["segmentation"] = maps
    started = time.perf_counter()
    outputs = in_batches(run, inputs, BATCH)
    seconds = time.perf_counter() - started
    return map_as_image(maps, entry["classes"], outputs.shape[-1]).numpy(), outputs, files, manifest, seconds


def write_samples(samples: np.ndarray, out: Path, columns: int | None = None) -> None:
    from tfgan_app.training.plots import image_grid, save_png, toy_plot

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npz":
        np.savez_compressed(out, samples=samples)
    elif samples.ndim == 4 and not out.suffix:
        out.mkdir(exist_ok=True)
        for index, image in enumerate(samples):
            save_png(image_grid(image[None], padding=0), out / f"{index:06d}.png")
    elif samples.ndim == 4:
        if out.suffix.lower() != ".png":
            raise GenerateError(f"--out {out}: image samples are written as a .png grid, a folder or an .npz")
        if len(samples) > MAX_GRID:
            raise GenerateError(
                f"--num {len(samples)} is too many for one grid picture (at most {MAX_GRID}); write them as a "
                f"folder of PNGs (--out {out.with_suffix('')}) or as an array (--out {out.with_suffix('.npz')})"
            )
        save_png(image_grid(samples, columns), out)
    elif out.suffix.lower() == ".npy":
        np.save(out, samples)
    elif out.suffix.lower() == ".csv":
        np.savetxt(out, samples, delimiter=",")
    elif out.suffix.lower() == ".png":
        save_png(toy_plot(samples, None, "generated"), out)
    else:
        raise GenerateError(f"--out {out}: use .png, .csv or .npy for vector samples")


def write_translations(inputs: np.ndarray, outputs: np.ndarray, files: list[Path], root: Path, out: Path) -> None:
    """One PNG per input under ``out`` (same relative name), and ``grid.png`` of pairs."""
    from tfgan_app.training.plots import image_grid, save_png

    for image, path in zip(outputs, files):
        relative = path.name if path == root else path.relative_to(root)
        save_png(image_grid(image[None], padding=0), (out / relative).with_suffix(".png"))
    pairs = np.stack([inputs[:32], outputs[:32]], axis=1).reshape(-1, *outputs.shape[1:])
    save_png(image_grid(pairs, 8), out / "grid.png")


def write_predictions(outputs: np.ndarray, files: list[Path], root: Path, manifest: dict, out: Path) -> None:
    """A classifier's outputs as CSV: file, predicted class (its name when the export has
    class names), and the probability of every class."""
    if out.suffix.lower() != ".csv":
        raise GenerateError(f"--out {out}: {manifest['name']} is a classifier; its predictions are written as a .csv")
    names = manifest.get("class_names") or [str(index) for index in range(outputs.shape[1])]
    lines = [",".join(["file", "predicted", *(f"p_{name}" for name in names)])]
    for path, probabilities in zip(files, outputs):
        relative = path.name if path == root else path.relative_to(root)
        cells = [str(relative), names[int(np.argmax(probabilities))], *(f"{value:.6g}" for value in probabilities)]
        lines.append(",".join(f'"{cell}"' if "," in cell else cell for cell in cells))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def build_parser(prog: str = "python -m tfgan_app.generate") -> argparse.ArgumentParser:
    usage_and_examples = __doc__.split("\n\n")[1]
    parser = argparse.ArgumentParser(
        prog=prog, description="Samples (or translations, or predictions) from an exported model, no training code.",
        epilog="examples:\n" + usage_and_examples.replace("python -m tfgan_app.generate", prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, required=True, help="an exported model folder: saved_models/NAME")
    parser.add_argument("--version", type=int, help="the version to read (default: the newest)")
    parser.add_argument("--runtime", choices=("tf", "onnx"), default="tf", help="tf: the SavedModel; onnx: ONNX Runtime (default tf)")
    parser.add_argument("--num", type=int, default=64, help="samples to draw (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    parser.add_argument("--label", help="class index or name (export.json's class_names), for conditional generators")
    parser.add_argument("--truncation", type=float,
                        help="in (0, 1], for exports with a truncation input (BigGAN-style): smaller trades variety for fidelity")
    parser.add_argument("--text", help="the words to draw, for text-to-image exports (e.g. \"red apple\")")
    parser.add_argument("--input", type=Path, help="image file or folder, for image-to-image models and classifiers")
    parser.add_argument("--out", type=Path, required=True,
                        help="a .png grid, a folder (one PNG per sample), .npz, or .csv/.npy for vector samples")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file or write into a non-empty folder")
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m tfgan_app.generate") -> int:
    from tfgan_app import quiet

    quiet.install(debug=False)  # before TensorFlow starts: its chatter is not the command's output
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.num < 1:
        print("error: --num must be >= 1", file=sys.stderr)
        return 2
    from tfgan_app.data.folder import ImageFolderError
    from tfgan_app.outputs import OutputExistsError, refuse_existing

    try:
        refuse_existing(args.out, "--out", args.overwrite)
        version_dir = resolve_version(args.model, args.version)
        if "segmentation" in input_names(read_manifest(version_dir)):
            if args.input is None:
                raise GenerateError(f"{args.model} draws images from label maps: pass --input MAPS (PNG files of class ids)")
            inputs, outputs, files, manifest, seconds = synthesize(version_dir, args.runtime, args.input, args.seed)
            write_translations(inputs, outputs, files, args.input, args.out)
            what = f"{len(files)} images from label maps"
        elif args.input is not None:
            inputs, outputs, files, manifest, seconds = translate(version_dir, args.runtime, args.input)
            if manifest.get("output") == "probabilities":
                write_predictions(outputs, files, args.input, manifest, args.out)
                what = f"classified {len(files)} images"
            else:
                write_translations(inputs, outputs, files, args.input, args.out)
                what = f"translated {len(files)} images"
        else:
            samples, manifest, seconds, columns = generate(
                version_dir, args.runtime, args.num, args.seed, args.label, args.truncation, args.text
            )
            write_samples(samples, args.out, columns)
            what = f"{args.num} samples"
    except (GenerateError, FileNotFoundError, ImageFolderError, OutputExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{what} from {manifest['name']} v{manifest['version']} ({args.runtime}) in {seconds * 1000:.1f} ms -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
