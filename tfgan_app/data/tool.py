"""The dataset tool for users' own image folders: look before training (``inspect``), then
convert once (``prepare``) into a validated, cached form that training reads directly.

``inspect`` reports what a folder really holds: how many images, their modes (RGB, RGBA,
palette, grayscale, 16-bit), sizes and aspect ratios, unreadable files, exact duplicates,
and the label distribution (from subfolders, or a CSV/JSON file naming each file's label).

``prepare`` converts every readable image once (alpha composited on white, palette, gray
and 16-bit to the asked channels, non-square images cropped or padded, resized with the
named filter) into ``images.npy`` (uint8, memory-mapped when training reads it),
``labels.npy`` and ``manifest.json`` (source, settings, counts, skipped files with the
reason, class names, SHA-256 of the arrays). Nothing in the user's folder is modified.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from tfgan_app.data.folder import IMAGE_SUFFIXES, ImageFolderError, list_images, to_mode

FILTERS = {
    "nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS, "box": Image.Resampling.BOX,
}
MANIFEST = "manifest.json"


def read_labels(folder: Path, files: list[Path], label_file: Path | None) -> tuple[list[str] | None, list[str]]:
    """Each file's label: from ``label_file`` (CSV ``file,label`` or JSON ``{file: label}``,
    file names relative to ``folder``), else the first-level subfolder; None when the files
    lie directly in ``folder`` with no label file. Returns (labels, problems)."""
    problems = []
    if label_file is not None:
        if label_file.suffix.lower() == ".json":
            table = {str(key): str(value) for key, value in json.loads(label_file.read_text()).items()}
        else:
            with label_file.open(newline="") as handle:
                rows = [row for row in csv.reader(handle) if row]
            if rows and rows[0][:2] in (["file", "label"], ["filename", "label"]):
                rows = rows[1:]
            table = {row[0].strip(): row[1].strip() for row in rows if len(row) >= 2}
        labels = []
        for path in files:
            key = str(path.relative_to(folder))
            if key not in table and path.name not in table:
                problems.append(f"{key}: no label in {label_file.name}")
            labels.append(table.get(key, table.get(path.name, "")))
        return labels, problems
    if all(path.parent == folder for path in files):
        return None, problems
    return [path.relative_to(folder).parts[0] if path.parent != folder else folder.name for path in files], problems


def unreadable_reason(error: Exception) -> str:
    """PIL's message for a file it cannot decode, without the in-memory buffer's repr it
    names when the bytes were opened from memory ("cannot identify image file <_io.BytesIO ...>")."""
    if isinstance(error, UnidentifiedImageError):
        return "not an image format Pillow can read (unknown or damaged header)"
    return str(error).splitlines()[0] or type(error).__name__


def inspect_folder(folder: Path, label_file: Path | None = None) -> dict:
    """What a folder of images holds (see the module docstring); reads headers and bytes only."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageFolderError(f"{folder} does not exist or is not a folder")
    files = list_images(folder)
    if not files:
        raise ImageFolderError(
            f"{folder} holds no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))} files, subfolders included)"
        )
    others = sorted(
        str(path.relative_to(folder)) for path in folder.rglob("*")
        if path.is_file() and path.suffix.lower() not in IMAGE_SUFFIXES and path != label_file
    )
    modes, sizes, aspects, unreadable = collections.Counter(), collections.Counter(), collections.Counter(), []
    by_digest: dict[str, list[str]] = collections.defaultdict(list)
    readable = []
    for path in files:
        relative = str(path.relative_to(folder))
        data = path.read_bytes()  # read once: hashed, then decoded from memory
        by_digest[hashlib.sha256(data).hexdigest()].append(relative)
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()  # after verify() PIL needs the file opened again
            with Image.open(io.BytesIO(data)) as image:
                mode = "16-bit" if image.mode.startswith("I;16") or image.mode == "I" else image.mode
                if image.mode == "P" and "transparency" in image.info:
                    mode = "P (transparent)"
                width, height = image.size
        except Exception as error:  # noqa: BLE001 - PIL raises many types for damaged files
            unreadable.append(f"{relative}: {unreadable_reason(error)}")
            continue
        readable.append(path)
        modes[mode] += 1
        sizes[f"{width}x{height}"] += 1
        ratio = width / height
        aspects["square" if abs(ratio - 1) < 1e-6 else ("wider" if ratio > 1 else "taller")] += 1
    labels, problems = read_labels(folder, readable, label_file)
    return {
        "folder": str(folder), "images": len(files), "readable": len(readable), "unreadable": unreadable,
        "other_files": others, "modes": dict(modes), "sizes": dict(sizes.most_common(10)),
        "distinct_sizes": len(sizes), "aspect": dict(aspects),
        "duplicates": [group for group in by_digest.values() if len(group) > 1],
        "labels": dict(collections.Counter(labels)) if labels is not None else None,
        "label_problems": problems,
    }


def format_report(report: dict) -> str:
    lines = [f"{report['folder']}: {report['images']} images, {report['readable']} readable"]
    lines.append("modes: " + ", ".join(f"{mode} {count}" for mode, count in sorted(report["modes"].items())))
    lines.append(f"sizes ({report['distinct_sizes']} distinct): "
                 + ", ".join(f"{size} x{count}" for size, count in report["sizes"].items()))
    lines.append("aspect: " + ", ".join(f"{kind} {count}" for kind, count in sorted(report["aspect"].items())))
    for title, items in (("unreadable", report["unreadable"]), ("not images", report["other_files"])):
        if items:
            lines.append(f"{title} ({len(items)}): " + "; ".join(items[:10]) + (" ..." if len(items) > 10 else ""))
    if report["duplicates"]:
        lines.append(f"exact duplicates ({len(report['duplicates'])} groups): "
                     + "; ".join(" = ".join(group) for group in report["duplicates"][:10]))
    if report["labels"] is None:
        lines.append("labels: none (files directly in the folder; use class subfolders or --labels FILE)")
    else:
        lines.append(f"labels ({len(report['labels'])} classes): "
                     + ", ".join(f"{name} {count}" for name, count in sorted(report["labels"].items())))
    for problem in report["label_problems"][:10]:
        lines.append(f"label problem: {problem}")
    return "\n".join(lines)


@dataclasses.dataclass
class PrepareSettings:
    image_size: int = 64
    channels: int = 3
    square: str = "crop"  # "crop" (centre) or "pad" (with the background)
    resize_filter: str = "lanczos"
    skip_duplicates: bool = True


def _square(image: Image.Image, how: str) -> Image.Image:
    width, height = image.size
    side = min(width, height) if how == "crop" else max(width, height)
    if how == "crop":
        left, top = (width - side) // 2, (height - side) // 2
        return image.crop((left, top, left + side, top + side))
    canvas = Image.new(image.mode, (side, side), 255 if image.mode == "L" else (255, 255, 255))
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas


def prepare_folder(folder: Path, out: Path, settings: PrepareSettings, label_file: Path | None = None) -> dict:
    """Convert ``folder`` into ``out`` (see the module docstring); returns the manifest."""
    folder, out = Path(folder), Path(out)
    if settings.square not in ("crop", "pad"):
        raise ImageFolderError(f"square = {settings.square!r}; choose crop or pad")
    if settings.resize_filter not in FILTERS:
        raise ImageFolderError(f"resize filter {settings.resize_filter!r}; choose one of {sorted(FILTERS)}")
    if settings.channels not in (1, 3) or settings.image_size < 1:
        raise ImageFolderError("channels must be 1 or 3 and image_size >= 1")
    if out.exists() and any(out.iterdir()):
        raise ImageFolderError(f"{out} is not empty; prepare into a new folder (nothing is overwritten)")
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents:
        raise ImageFolderError(f"{out} lies inside {folder}: prepare into a folder outside the source")
    files = list_images(folder)
    if not files:
        raise ImageFolderError(f"{folder} holds no {'/'.join(IMAGE_SUFFIXES)} files")
    labels, problems = read_labels(folder, files, label_file)
    if problems:
        raise ImageFolderError(f"{len(problems)} file(s) without a label, e.g. {problems[:3]}")
    images, kept_labels, kept, skipped, seen = [], [], [], [], {}
    for index, path in enumerate(files):
        relative = str(path.relative_to(folder))
        data = path.read_bytes()  # read once: hashed, then decoded from memory
        digest = hashlib.sha256(data).hexdigest()
        if settings.skip_duplicates and digest in seen:
            skipped.append({"file": relative, "reason": f"exact duplicate of {seen[digest]}"})
            continue
        try:
            with Image.open(io.BytesIO(data)) as image:
                converted = _square(to_mode(image, settings.channels), settings.square)
                converted = converted.resize((settings.image_size,) * 2, FILTERS[settings.resize_filter])
                pixels = np.asarray(converted, dtype=np.uint8)
        except Exception as error:  # noqa: BLE001 - PIL raises many types for damaged files
            skipped.append({"file": relative, "reason": unreadable_reason(error)})
            continue
        seen[digest] = relative
        images.append(pixels[..., None] if settings.channels == 1 else pixels)
        kept.append(relative)
        if labels is not None:
            kept_labels.append(labels[index])
    if not images:
        raise ImageFolderError(f"none of the {len(files)} files in {folder} could be converted: {skipped[:3]}")
    classes = sorted(set(kept_labels)) if labels is not None else []
    array = np.stack(images)
    label_array = np.array([classes.index(label) for label in kept_labels], np.int32) if classes else None
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "images.npy", array)
    if label_array is not None:
        np.save(out / "labels.npy", label_array)
    manifest = {
        "source": str(folder.resolve()), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settings": dataclasses.asdict(settings), "count": len(array), "shape": list(array.shape[1:]),
        "files": kept, "skipped": skipped, "class_names": classes,
        "sha256": {"images.npy": hashlib.sha256((out / "images.npy").read_bytes()).hexdigest()},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def load_prepared(folder: Path, limit: int = 0) -> tuple[np.ndarray, np.ndarray | None, list[str], dict]:
    """(images uint8, memory-mapped; labels or None; class names; manifest) of a prepared
    folder, its checksum checked."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ImageFolderError(
            f"{folder} is not a prepared dataset (no {MANIFEST}); make one with "
            "`python -m tfgan_app.data prepare SOURCE_FOLDER --out FOLDER`"
        )
    manifest = json.loads(manifest_path.read_text())
    digest = hashlib.sha256((folder / "images.npy").read_bytes()).hexdigest()
    if digest != manifest["sha256"]["images.npy"]:
        raise ImageFolderError(f"{folder / 'images.npy'} does not match its manifest's SHA-256; prepare it again")
    images = np.load(folder / "images.npy", mmap_mode="r")[: limit or None]
    labels = np.load(folder / "labels.npy")[: limit or None] if (folder / "labels.npy").is_file() else None
    return images, labels, manifest["class_names"], manifest
