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


def to_mode(image: Image.Image, channels: int) -> Image.Image:
    """8-bit grayscale (1) or RGB (3), with explicit conversions where PIL's own would lose
    the picture: 16-bit values are scaled to 8 bits (``convert`` clips them at 255), and
    transparency is composited on white (``convert("RGB")`` drops alpha and shows whatever
    colour the transparent pixels hold)."""
    if image.mode.startswith("I"):  # "I;16", "I;16B", ... and "I" (32-bit ints, 16-bit PNGs)
        values = np.asarray(image).astype(np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(np.rint(values * 255.0 / peak), 0, 255).astype(np.uint8), "L")
    elif image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), image)
    return image.convert("L" if channels == 1 else "RGB")


def load_image(path: Path, image_size: int, channels: int) -> np.ndarray:
    """Decode, convert to grayscale (1) or RGB (3), centre-crop to a square, resize.

    Cropping before resizing keeps the aspect ratio: a 640x480 photo loses its side
    margins instead of being squashed.
    """
    with Image.open(path) as image:
        image = to_mode(image, channels)
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        if side != image_size:
            image = image.resize((image_size, image_size), Image.Resampling.BICUBIC)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels[..., None] if channels == 1 else pixels


def folder_files(root: Path, image_size: int, channels: int, limit: int = 0) -> list[Path]:
    """The image files under ``root`` (sorted), after checking the folder and the settings."""
    if not root.is_dir():
        raise ImageFolderError(f"image folder {root} does not exist or is not a directory")
    if image_size < 1:
        raise ImageFolderError("data.image_size must be set for image folders (e.g. 64)")
    if channels not in (1, 3):
        raise ImageFolderError(f"data.channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    files = list_images(root)[: limit or None]
    if not files:
        raise ImageFolderError(f"image folder {root} holds no {'/'.join(IMAGE_SUFFIXES)} files")
    return files


def load_images(
    files: list[Path], image_size: int, channels: int, on_bad_image: str = "error", split: bool = False
) -> tuple[np.ndarray, list[Path], list[Path]]:
    """Decode ``files`` (``load_image``; with ``split``, each file's left and right halves
    as two images, for side-by-side pairs). Returns (images [N, (2,) size, size, C],
    files read, files skipped). An unreadable file raises unless ``on_bad_image`` is "skip"."""
    images, kept, skipped = [], [], []
    for path in files:
        try:
            images.append(load_side_by_side(path, image_size, channels) if split else load_image(path, image_size, channels))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
            if on_bad_image != "skip":
                reason = (
                    f"it has more pixels than PIL's decompression-bomb limit ({error})"
                    if isinstance(error, Image.DecompressionBombError) else str(error)
                )
                raise ImageFolderError(
                    f"cannot read image {path}: {reason} "
                    "(set data.on_bad_image=skip to skip unreadable files)"
                ) from None
            skipped.append(path)
            continue
        kept.append(path)
    if skipped:
        log.warning("skipped %d unreadable image(s) of %d, first: %s", len(skipped), len(files), skipped[0])
    shape = (0, *((2,) if split else ()), image_size, image_size, channels)
    return (np.stack(images) if images else np.zeros(shape, np.uint8)), kept, skipped


def load_side_by_side(path: Path, image_size: int, channels: int) -> np.ndarray:
    """A pix2pix-style pair file, input | target side by side -> [2, size, size, C]."""
    with Image.open(path) as image:
        image = to_mode(image, channels)
        width, height = image.size
        if width < 2 or width % 2:
            raise ValueError(f"a side-by-side pair needs an even width (input | target), got {width}x{height}")
        halves = [image.crop((0, 0, width // 2, height)), image.crop((width // 2, 0, width, height))]
        pixels = [
            np.asarray(half.resize((image_size, image_size), Image.Resampling.BICUBIC), dtype=np.uint8)
            for half in halves
        ]
    stacked = np.stack(pixels)
    return stacked[..., None] if channels == 1 else stacked


def load_image_folder(
    root: str | Path, image_size: int, channels: int, on_bad_image: str = "error", limit: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str], list[Path]]:
    """Load every image under ``root`` into memory.

    Returns (images uint8 [N, size, size, channels], labels int32 [N], class names,
    skipped files). Images directly in ``root`` form one class named after the folder;
    otherwise each first-level subfolder is a class (sorted by name).
    """
    root = Path(root)
    files = folder_files(root, image_size, channels, limit)
    classes = sorted({path.relative_to(root).parts[0] for path in files if path.parent != root})
    if any(path.parent == root for path in files):
        classes = sorted(set(classes) | {root.name})
    class_index = {name: index for index, name in enumerate(classes)}
    images, kept, skipped = load_images(files, image_size, channels, on_bad_image)
    labels = [
        class_index[path.relative_to(root).parts[0] if path.parent != root else root.name] for path in kept
    ]
    if not images.size:
        raise ImageFolderError(f"image folder {root}: none of its {len(files)} files could be read")
    return images, np.array(labels, np.int32), classes, skipped


def load_paired_folders(
    folder_a: Path, folder_b: Path, image_size: int, channels: int, on_bad_image: str = "error", limit: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (input from ``folder_a``, target from ``folder_b``) matched by relative path
    without suffix (``a/x.png`` pairs with ``b/x.jpg``). Every file needs its partner: a
    pair missing a side is an error naming the files, since training on the wrong pairs
    would teach the wrong mapping. Returns two uint8 arrays [N, size, size, C]."""
    files_a = folder_files(folder_a, image_size, channels)
    files_b = folder_files(folder_b, image_size, channels)
    key = lambda root, path: str(path.relative_to(root).with_suffix(""))  # noqa: E731
    by_key_a = {key(folder_a, path): path for path in files_a}
    by_key_b = {key(folder_b, path): path for path in files_b}
    only_a, only_b = sorted(set(by_key_a) - set(by_key_b)), sorted(set(by_key_b) - set(by_key_a))
    if only_a or only_b:
        raise ImageFolderError(
            f"unpaired files: {len(only_a)} in {folder_a} without a partner in {folder_b} "
            f"(e.g. {only_a[:3]}), {len(only_b)} in {folder_b} without one in {folder_a} (e.g. {only_b[:3]})"
        )
    keys = sorted(by_key_a)[: limit or None]
    images_a, kept_a, _ = load_images([by_key_a[k] for k in keys], image_size, channels, on_bad_image)
    images_b, kept_b, _ = load_images([by_key_b[k] for k in keys], image_size, channels, on_bad_image)
    # A skipped file drops its partner too. Both kept lists follow the order of ``keys``.
    read_a = [key(folder_a, path) for path in kept_a]
    read_b = [key(folder_b, path) for path in kept_b]
    paired = set(read_a) & set(read_b)
    if not paired:
        raise ImageFolderError(f"no readable pairs in {folder_a} and {folder_b}")
    return (
        images_a[np.array([k in paired for k in read_a], bool)],
        images_b[np.array([k in paired for k in read_b], bool)],
    )
