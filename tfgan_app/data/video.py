"""Video data: Moving Fashion-MNIST, made procedurally from the Fashion-MNIST files, and folders
of a user's clips (GIF, MP4 and other ffmpeg formats, or folders of frame images).

Moving Fashion-MNIST follows Moving MNIST (Srivastava et al. 2015): each clip places one or
two items on a black canvas and moves them in a straight line at a constant speed, bouncing
off the edges; where items overlap the brighter pixel shows. The default is 16 frames of
32x32 with the 28x28 garments shrunk to 16x16, which a 2-core CPU trains in minutes (64x64
with full-size items is ``data.video_size = 64`` with ``data.video_item = 28``). A clip's
label is its first item's class x 4 + the quadrant of its first direction (right-down,
left-down, left-up, right-up): content and motion, which the pinned video classifier learns.
The draw is a pure function of the seed and the split, so every machine makes the same clips.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

DIRECTIONS = ("right-down", "left-down", "left-up", "right-up")  # quadrants of the first velocity
SPEED = (1.0, 2.5)  # pixels per frame at 32x32, scaled with the canvas
CLIP_SUFFIXES = (".gif", ".mp4", ".webm", ".avi", ".mov", ".mkv")
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
SPLIT_SEEDS = {"train": 20261207, "test": 20261208}


class VideoError(ValueError):
    """A clip cannot be read or made; the message names the file and what to do."""


class MovingClips(NamedTuple):
    clips: np.ndarray  # uint8 [N, frames, size, size, 1]
    items: np.ndarray  # int32 [N, items]: the Fashion-MNIST class of each item
    directions: np.ndarray  # int32 [N]: the quadrant of the first item's first velocity (DIRECTIONS)

    @property
    def labels(self) -> np.ndarray:
        """The clip classes the video classifier learns: first item's class x 4 + direction."""
        return (self.items[:, 0] * len(DIRECTIONS) + self.directions).astype(np.int32)


def clip_class_names(item_names: list[str]) -> list[str]:
    return [f"{item}, {direction}" for item in item_names for direction in DIRECTIONS]


def shrink(images: np.ndarray, side: int) -> np.ndarray:
    """uint8 [N, H, W] -> uint8 [N, side, side] (area averaging through TensorFlow's antialiased resize)."""
    if images.shape[1:] == (side, side):
        return images
    import tensorflow as tf

    resized = tf.image.resize(images[..., None], (side, side), antialias=True).numpy()[..., 0]
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8)


def bounce(start: np.ndarray, velocity: np.ndarray, frames: int, span: int) -> np.ndarray:
    """Positions [N, frames, 2] of points moving from ``start`` at ``velocity`` and reflected at
    0 and ``span``: the path folded into [0, span], in whole pixels."""
    times = np.arange(frames)[None, :, None]
    travelled = start[:, None, :] + velocity[:, None, :] * times
    period = 2.0 * span
    folded = np.mod(travelled, period)
    folded = np.where(folded > span, period - folded, folded)
    return np.rint(folded).astype(np.int64)


def moving_clips(
    images: np.ndarray, classes: np.ndarray, count: int, seed: int, frames: int = 16, size: int = 32,
    item_size: int = 16, items: int = 1,
) -> MovingClips:
    """``count`` clips of ``items`` garments (uint8 images [N, 28, 28] with their ``classes``)
    bouncing on a ``size`` x ``size`` canvas for ``frames`` frames."""
    if item_size > size:
        raise VideoError(f"data.video_item = {item_size} is larger than data.video_size = {size}")
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, len(images), size=(count, items))
    sprites = shrink(images, item_size)
    span = size - item_size
    clips = np.zeros((count, frames, size, size), np.uint8)
    directions = np.zeros(count, np.int32)
    for item in range(items):
        start = rng.uniform(0, span, size=(count, 2)) if span else np.zeros((count, 2))
        angle = rng.uniform(0, 2 * math.pi, size=count)
        speed = rng.uniform(*SPEED, size=count) * size / 32
        velocity = np.stack([np.cos(angle), np.sin(angle)], axis=1) * speed[:, None]  # (x, y): right, down
        if item == 0:
            directions = (np.floor(angle / (math.pi / 2)).astype(np.int32) % 4)
        positions = bounce(start, velocity, frames, span)
        for index in range(count):
            sprite = sprites[chosen[index, item]]
            for frame in range(frames):
                x, y = positions[index, frame]
                window = clips[index, frame, y : y + item_size, x : x + item_size]
                np.maximum(window, sprite, out=window)
    return MovingClips(clips[..., None], classes[chosen].astype(np.int32), directions)


# --- a user's clips --------------------------------------------------------------------------


def _frames_of_file(path: Path) -> list[np.ndarray]:
    """Every frame of a GIF (Pillow) or of a video file (imageio with its ffmpeg), as arrays."""
    if path.suffix.lower() == ".gif":
        from PIL import Image, ImageSequence

        with Image.open(path) as image:
            return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image)]
    try:
        import imageio.v3 as iio
    except ImportError:
        raise VideoError(f"{path}: reading {path.suffix} clips needs imageio and imageio-ffmpeg "
                         "(pip install 'tfgan_app[video]'); GIFs and frame folders need nothing more") from None
    return [np.asarray(frame) for frame in iio.imiter(path, plugin="FFMPEG")]


def _frames_of_folder(folder: Path) -> list[np.ndarray]:
    from PIL import Image

    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in FRAME_SUFFIXES)
    frames = []
    for path in files:
        with Image.open(path) as image:
            frames.append(np.asarray(image.convert("RGB")))
    return frames


def clip_paths(root: Path) -> list[Path]:
    """The clips under ``root``: video files, and folders holding frame images (one clip each)."""
    if not root.is_dir():
        raise VideoError(f"data.folder {root} is not a folder; point it at a folder of clips "
                         f"({', '.join(CLIP_SUFFIXES)}) or of frame folders")
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in CLIP_SUFFIXES:
            found.append(path)
        elif path.is_dir() and any(child.suffix.lower() in FRAME_SUFFIXES for child in path.iterdir()):
            found.append(path)
    if not found:
        raise VideoError(f"{root} holds no clips: no {', '.join(CLIP_SUFFIXES)} files and no folders of frame images")
    return found


def read_clip(path: Path, frames: int, size: int, channels: int) -> np.ndarray:
    """uint8 [frames, size, size, channels]: the first ``frames`` frames of the clip at ``path``,
    each resized to ``size`` x ``size`` (antialiased) and converted to ``channels``. A clip
    shorter than ``frames`` is refused, naming it (nothing is invented)."""
    import tensorflow as tf

    try:
        read = _frames_of_folder(path) if path.is_dir() else _frames_of_file(path)
    except VideoError:
        raise
    except Exception as error:  # noqa: BLE001 - any decoder failure is this file's problem
        raise VideoError(f"{path}: not a readable clip ({type(error).__name__}: {error})") from None
    if len(read) < frames:
        raise VideoError(f"{path}: {len(read)} frames, fewer than data.video_frames = {frames}; "
                         "lower data.video_frames or remove the clip")
    shapes = {frame.shape for frame in read[:frames]}
    if len(shapes) != 1:
        raise VideoError(f"{path}: its frames differ in size ({sorted(shapes)})")
    clip = np.stack(read[:frames])[..., :3]
    resized = tf.image.resize(clip, (size, size), antialias=True).numpy()
    if channels == 1:  # ITU-R BT.601 luma
        resized = resized @ np.array([0.299, 0.587, 0.114], np.float32)[:, None]
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8)


def load_video_folder(root: Path, frames: int, size: int, channels: int, on_bad: str = "error") -> tuple[np.ndarray, list]:
    """(uint8 clips [N, frames, size, size, channels], [(path, reason)] of the clips skipped)."""
    clips, skipped = [], []
    for path in clip_paths(root):
        try:
            clips.append(read_clip(path, frames, size, channels))
        except VideoError as error:
            if on_bad != "skip":
                raise VideoError(f"{error} (data.on_bad_image = 'skip' skips such clips)") from None
            skipped.append((path, str(error)))
    if not clips:
        raise VideoError(f"no readable clips in {root} ({len(skipped)} skipped; first: {skipped[0][1]})")
    return np.stack(clips), skipped


# --- writing clips -----------------------------------------------------------------------------


def write_gif(path: Path, clip: np.ndarray, fps: int = 8) -> None:
    """One clip (uint8 [frames, H, W, C]) as a looping GIF (Pillow)."""
    from PIL import Image

    mode = "L" if clip.shape[-1] == 1 else "RGB"
    pictures = [Image.fromarray(frame[..., 0] if mode == "L" else frame, mode) for frame in clip]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=round(1000 / fps), loop=0)


def write_mp4(path: Path, clip: np.ndarray, fps: int = 8) -> None:
    """One clip as H.264 MP4 (imageio-ffmpeg); frames are enlarged to a multiple of 16 pixels,
    which the encoder needs."""
    try:
        import imageio.v3 as iio
    except ImportError:
        raise VideoError("writing MP4 needs imageio and imageio-ffmpeg (pip install 'tfgan_app[video]'); "
                         "GIFs need nothing more") from None
    scale = max(1, math.ceil(16 / clip.shape[1]))
    frames = np.repeat(np.repeat(clip, scale, axis=1), scale, axis=2)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    iio.imwrite(path, frames, plugin="FFMPEG", fps=fps, codec="libx264", macro_block_size=16)


def contact_sheet(clips: np.ndarray) -> np.ndarray:
    """Clips [N, frames, H, W, C] -> frames [N * frames, H, W, C] for a grid of one clip per row."""
    return clips.reshape(-1, *clips.shape[2:])
