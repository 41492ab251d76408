"""``python -m tfgan_app.generate``: samples from an exported model, no training code.

    python -m tfgan_app.generate --model saved_models/fashion_mnist_dcgan [--version V]
        [--runtime tf|onnx] [--num 64] [--seed S] [--label L] --out grid.png
    python -m tfgan_app.generate --model saved_models/fashion_mnist_cyclegan_a2b
        --input photos/ --out translated/
    python -m tfgan_app.generate --model saved_models/fashion_mnist_spade --input maps/ --out images/
    python -m tfgan_app.generate --model saved_models/notes_gansynth --label C4 --num 8 --out notes/
    python -m tfgan_app.generate --model saved_models/moving_fashion_mnist_mocogan --num 16 --out clips/

Noise-to-image models write a PNG grid (a conditional model without --label: one row per
class), one PNG per sample into a folder (--out without a suffix) or an array (.npz); the
model runs in batches of 256, so any --num fits in memory; vector generators write .png (scatter/histogram), .csv or .npy by the --out
suffix. Image-to-image models translate every image of --input (a file or a folder) into
the --out folder under the same relative names, plus ``grid.png`` (input | output pairs);
a label-map-to-image model (SPADE) does the same for the label maps of --input
(single-channel PNGs whose pixel values are class ids). Sound generators (the notes
pipelines) write a folder of WAV files with ``spectrograms.png``, one .wav (--num 1) or .npz;
text generators write a .txt file, one sample per line; video generators a folder of GIFs
with ``contact_sheet.png``, the contact sheet alone (.png), one .gif or .mp4 (--num 1) or .npz.
Reads the export's manifest (export.json) for the inputs, their kinds and shapes: each input
is filled by its kind (``tfgan_app.inputs``), from the options or from --input files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tfgan_app.inputs import InputError, InputKind, kind_of, sample_inputs
from tfgan_app.metrics.report import in_batches


class GenerateError(ValueError):
    pass


BATCH = 256  # samples per call of the exported model
MAX_GRID = 1024  # images in one grid PNG; more go to a folder or an .npz
MAX_AUDIO_GRID = 64  # spectrograms in a sound folder's spectrograms.png


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


def file_inputs(manifest: dict) -> list[tuple[dict, InputKind]]:
    """The inputs an export reads from ``--input`` files (images, label maps), with their kinds."""
    return [(entry, kind) for entry in manifest["inputs"] for kind in [kind_of(entry)] if kind.from_files]


def chosen_values(manifest: dict, label: str | int | None = None, truncation: float | None = None,
                  text: str | None = None) -> dict[str, Any]:
    """The values a user chose, by input kind, each checked by the kind its option sets; an
    option no input takes is refused, and an input that needs its option asks for it."""
    takes = {kind.option: kind for entry in manifest["inputs"] for kind in [kind_of(entry)] if kind.option}
    chosen = {}
    for option, value in (("--label", label), ("--truncation", truncation), ("--text", text)):
        if value is None:
            continue
        if option not in takes:
            raise GenerateError(f"{manifest['name']} takes no {option} (inputs {input_names(manifest)}): omit {option}")
        try:
            chosen[takes[option].kind] = takes[option].choose(value, manifest["name"])
        except InputError as error:
            raise GenerateError(str(error)) from None
    for option, kind in takes.items():
        if kind.required and kind.kind not in chosen:
            raise GenerateError(f"{manifest['name']} takes a {kind.kind}: pass {option} \"...\"")
    return chosen


def noise_inputs(
    manifest: dict, num: int, seed: int, label: str | int | None = None, truncation: float | None = None,
    text: str | None = None,
) -> tuple[dict, int | None]:
    """(named inputs for ``num`` samples, grid columns): every input sampled by its kind, with
    the values chosen by ``--label`` (index or class name), ``--truncation`` and ``--text``. A
    conditional model without a label gets one grid row per class."""
    from_files = file_inputs(manifest)
    if from_files:
        entry, kind = from_files[0]
        raise GenerateError(f"{manifest['name']} makes its outputs from {kind.files_hint}: pass --input")
    chosen = chosen_values(manifest, label, truncation, text)
    inputs = sample_inputs(manifest["inputs"], num, np.random.default_rng(seed), chosen)
    layouts = [kind.columns(num, chosen.get(kind.kind)) for kind in map(kind_of, manifest["inputs"])]
    return inputs, next((columns for columns in layouts if columns), None)


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


def translate(
    version_dir: Path, runtime: str, source: Path, seed: int = 0, label: str | int | None = None,
    truncation: float | None = None, text: str | None = None,
) -> tuple[np.ndarray, np.ndarray, list[Path], dict, float]:
    """(the inputs as pictures, outputs, files, manifest, seconds): an export that reads one
    input from files (a translator, a super-resolution model, a classifier or a scorer from
    images; SPADE from label maps) over a file or folder, its other inputs sampled by kind
    (noise from ``seed``)."""
    run, manifest = load_runner(version_dir, runtime)
    from_files = file_inputs(manifest)
    if not from_files:
        raise GenerateError(f"{manifest['name']} reads no files (inputs {input_names(manifest)}); omit --input")
    if len(from_files) > 1:
        names = ", ".join(f"{entry['name']} ({kind.kind})" for entry, kind in from_files)
        raise GenerateError(f"{manifest['name']} takes {names} together and generate reads one --input; send them to "
                            "the SavedModel (TF Serving's Predict API or tfgan_app.export.artifacts.run_savedmodel)")
    entry, kind = from_files[0]
    try:
        values, files = kind.read(source, tuple(entry["shape"]))
    except InputError as error:
        raise GenerateError(str(error)) from None
    others = [other for other in manifest["inputs"] if other is not entry]
    inputs = sample_inputs(others, len(files), np.random.default_rng(seed), chosen_values(manifest, label, truncation, text))
    inputs[entry["name"]] = values
    started = time.perf_counter()
    outputs = in_batches(run, inputs, BATCH)
    seconds = time.perf_counter() - started
    return kind.picture(values, outputs.shape[-1]), outputs, files, manifest, seconds


def write_samples(samples: np.ndarray, out: Path, columns: int | None = None) -> None:
    from tfgan_app.plots import image_grid, save_png, toy_plot

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


def write_audio(samples: np.ndarray, out: Path, columns: int | None, rate: int) -> None:
    """Sounds [N, samples]: a folder of 16-bit WAV files and ``spectrograms.png`` (the first
    ``MAX_AUDIO_GRID``, one row per pitch without --label), one .wav for --num 1, or .npz."""
    from tfgan_app.data.audio import write_wav
    from tfgan_app.data.spectral import spectrogram_pictures, waveform_to_spectrogram
    from tfgan_app.plots import image_grid, save_png

    suffix = out.suffix.lower()
    if suffix == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out, audio=samples, sample_rate=rate)
    elif suffix == ".wav":
        if len(samples) != 1:
            raise GenerateError(f"--out {out}: one .wav holds one sound; write {len(samples)} into a folder "
                                f"(--out {out.with_suffix('')}) or pass --num 1")
        out.parent.mkdir(parents=True, exist_ok=True)
        write_wav(out, samples[0], rate)
    elif not suffix:
        out.mkdir(parents=True, exist_ok=True)
        for index, sound in enumerate(samples):
            write_wav(out / f"{index:06d}.wav", sound, rate)
        shown = samples[:MAX_AUDIO_GRID]
        pictures = spectrogram_pictures(waveform_to_spectrogram(shown).numpy())
        save_png(image_grid(pictures, columns if columns and len(shown) == len(samples) else None), out / "spectrograms.png")
    else:
        raise GenerateError(f"--out {out}: sounds are written into a folder (WAV files and spectrograms.png), "
                            "as one .wav (--num 1) or as an .npz")


MAX_CONTACT_SHEET = 16  # clips shown in a folder's contact_sheet.png


def write_video(samples: np.ndarray, out: Path) -> None:
    """Clips [N, frames, H, W, C] in [-1, 1]: a folder of looping GIFs and ``contact_sheet.png``
    (the first ``MAX_CONTACT_SHEET`` clips, one per row, frames across), the contact sheet
    alone (.png), one .gif or .mp4 for --num 1, or .npz (uint8)."""
    from tfgan_app.data.video import VideoError, contact_sheet, write_gif, write_mp4
    from tfgan_app.plots import image_grid, save_png, to_pixels

    def save_sheet(shown: np.ndarray, path: Path) -> None:
        save_png(image_grid(contact_sheet(shown), shown.shape[1]), path)

    suffix, clips = out.suffix.lower(), to_pixels(samples)
    if suffix in (".gif", ".mp4"):
        if len(clips) != 1:
            raise GenerateError(f"--out {out}: one {suffix} holds one clip; write {len(clips)} into a folder "
                                f"(--out {out.with_suffix('')}) or pass --num 1")
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            (write_gif if suffix == ".gif" else write_mp4)(out, clips[0])
        except VideoError as error:
            raise GenerateError(str(error)) from None
    elif suffix == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out, video=clips)
    elif suffix == ".png":
        if len(samples) > MAX_CONTACT_SHEET:
            raise GenerateError(f"--out {out}: a contact sheet shows at most {MAX_CONTACT_SHEET} clips; "
                                f"write {len(samples)} into a folder (--out {out.with_suffix('')})")
        out.parent.mkdir(parents=True, exist_ok=True)
        save_sheet(samples, out)
    elif not suffix:
        out.mkdir(parents=True, exist_ok=True)
        for index, clip in enumerate(clips):
            write_gif(out / f"{index:06d}.gif", clip)
        save_sheet(samples[:MAX_CONTACT_SHEET], out / "contact_sheet.png")
    else:
        raise GenerateError(f"--out {out}: clips are written into a folder (GIFs and contact_sheet.png), "
                            "as a contact sheet (.png), one .gif or .mp4 (--num 1) or as an .npz")


def write_text(samples: np.ndarray, out: Path, vocabulary: str) -> list[str]:
    """Character distributions [N, length, vocabulary + 1] -> the texts (each position's most
    likely character; id 0, outside the vocabulary, as U+FFFD), one per line in a .txt file."""
    if out.suffix.lower() != ".txt":
        raise GenerateError(f"--out {out}: text samples are written to a .txt file, one per line")
    texts = ["".join(vocabulary[index - 1] if index > 0 else "\ufffd" for index in row)
             for row in np.argmax(samples, axis=-1).tolist()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return texts


def write_translations(inputs: np.ndarray, outputs: np.ndarray, files: list[Path], root: Path, out: Path) -> None:
    """One PNG per input under ``out`` (same relative name), and ``grid.png`` of pairs."""
    from tfgan_app.plots import image_grid, save_png

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
    parser.add_argument("--input", type=Path,
                        help="a file or folder of what the model reads: images (translators, classifiers, scorers) or "
                        "label maps (SPADE: PNGs of class ids)")
    parser.add_argument("--out", type=Path, required=True,
                        help="a .png grid, a folder (one PNG per sample; sounds: WAV files), .npz, .csv/.npy for vector samples, "
                        ".wav for one sound, .txt for text, .gif/.mp4 for one clip")
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
        from_files = file_inputs(read_manifest(version_dir))  # known before a model is loaded
        if args.input is not None or from_files:
            if args.input is None:
                entry, kind = from_files[0]
                raise GenerateError(f"{args.model} makes its outputs from {kind.files_hint}: pass --input")
            inputs, outputs, files, manifest, seconds = translate(
                version_dir, args.runtime, args.input, args.seed, args.label, args.truncation, args.text
            )
            if manifest.get("output") == "probabilities":
                write_predictions(outputs, files, args.input, manifest, args.out)
                what = f"classified {len(files)} images"
            else:
                write_translations(inputs, outputs, files, args.input, args.out)
                what = f"translated {len(files)} files"
        else:
            samples, manifest, seconds, columns = generate(
                version_dir, args.runtime, args.num, args.seed, args.label, args.truncation, args.text
            )
            if manifest.get("output") == "audio":
                write_audio(samples, args.out, columns, int(manifest.get("sample_rate") or 16000))
            elif manifest.get("output") == "characters":
                write_text(samples, args.out, manifest["vocabulary"])
            elif manifest.get("output") == "video":
                write_video(samples, args.out)
            else:
                write_samples(samples, args.out, columns)
            what = f"{args.num} samples"
    except (GenerateError, FileNotFoundError, ImageFolderError, OutputExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{what} from {manifest['name']} v{manifest['version']} ({args.runtime}) in {seconds * 1000:.1f} ms -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
