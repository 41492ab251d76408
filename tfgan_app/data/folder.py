"""Users' own images: a folder tree of PNG/JPEG files, labels from subfolder names."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


class ImageFolderError(ValueError):
    """A folder or an image in it cannot be used; the message names it."""


def list_images(root: Path) -> list[Path]:
    return sorted(
        path for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )


def load_image(path: Path, image_size: int, channels: int) -> np.ndarray:
    """Decode, convert to grayscale (1) or RGB (3), centre-crop to a square, resize.

    Cropping before resizing keeps the aspect ratio: a 640x480 photo loses its side
    margins instead of being squashed.
    """
    with Image.open(path) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        if side != image_size:
            image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels[..., None] if channels == 1 else pixels


def load_image_folder(
    root: str | Path, image_size: int, channels: int, on_bad_image: str = "error", limit: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str], list[Path]]:
    """Load every image under ``root`` into memory.

    Returns (images uint8 [N, size, size, channels], labels int32 [N], class names,
    skipped files). Images directly in ``root`` form one class named after the folder;
    otherwise each first-level subfolder is a class (sorted by name).
    """
    root = Path(root)
    if not root.is_dir():
        raise ImageFolderError(f"image folder {root} does not exist or is not a directory")
    if image_size < 1:
        raise ImageFolderError("data.image_size must be set for image folders (e.g. 64)")
    if channels not in (1, 3):
        raise ImageFolderError(f"data.channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    files = list_images(root)
    if limit:
        files = files[:limit]
    if not files:
        raise ImageFolderError(f"image folder {root} holds no {'/'.join(IMAGE_SUFFIXES)} files")
    classes = sorted({path.relative_to(root).parts[0] for path in files if path.parent != root})
    if any(path.parent == root for path in files):
        classes = sorted(set(classes) | {root.name})
    class_index = {name: index for index, name in enumerate(classes)}
    images, labels, skipped = [], [], []
    for path in files:
        try:
            images.append(load_image(path, image_size, channels))
        except (UnidentifiedImageError, OSError, ValueError) as error:
            if on_bad_image != "skip":
                raise ImageFolderError(
                    f"cannot read image {path}: {error} "
                    "(set data.on_bad_image=skip to skip unreadable files)"
                ) from None
            skipped.append(path)
            continue
        top = path.relative_to(root).parts[0] if path.parent != root else root.name
        labels.append(class_index[top])
    if skipped:
        log.warning("skipped %d unreadable image(s) in %s, first: %s", len(skipped), root, skipped[0])
    if not images:
        raise ImageFolderError(f"image folder {root}: none of its {len(files)} files could be read")
    return np.stack(images), np.array(labels, np.int32), classes, skipped
