"""Pictures of samples: image grids for images, scatter/histogram plots for toy data."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image


def to_pixels(values: np.ndarray) -> np.ndarray:
    """Samples in [-1, 1] (images, clips) -> uint8 pixels, rounded and clipped."""
    return np.clip(np.rint((np.asarray(values) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """[N, H, W, C] images in [-1, 1] -> one uint8 [rows*H, columns*W, C] grid image."""
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    pixels = to_pixels(images)
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
        255, np.uint8,
    )
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + column * (width + padding)
        grid[top : top + height, left : left + width] = pixels[index]
    return grid


def triples_grid(inputs, outputs, targets) -> tuple[np.ndarray, int]:
    """(images, columns) for ``image_grid``: two (input, output, target) triples per row,
    the sample grids of the image-to-image and restoration models."""
    triples = np.stack([np.asarray(inputs), np.asarray(outputs), np.asarray(targets)], axis=1)
    return triples.reshape(-1, *triples.shape[2:]), 6


def toy_plot(fake: np.ndarray, real: np.ndarray | None, title: str = "") -> np.ndarray:
    """Generated (vs real) samples: a scatter plot for 2-D data, histograms for 1-D."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
    series = ([("real", real)] if real is not None else []) + [("generated", fake)]
    if fake.shape[1] == 1:
        everything = np.concatenate([values[:, 0] for _, values in series])
        bins = np.linspace(everything.min(), everything.max(), 60)
        for label, values in series:
            axes.hist(values[:, 0], bins=bins, alpha=0.5, density=True, label=label)
    else:
        for label, values in series:
            axes.scatter(values[:, 0], values[:, 1], s=2, alpha=0.4, label=label)
        axes.set_aspect("equal")
    axes.legend(loc="upper right")
    axes.set_title(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def save_png(picture: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture).save(path)


def sequence_plot(sequences: np.ndarray, title: str = "") -> np.ndarray:
    """[n, length, features] sequences -> one RGB picture, a panel per sequence with every
    feature drawn over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(3, len(sequences))
    rows = math.ceil(len(sequences) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3 * columns, 2 * rows), dpi=80, squeeze=False)
    for index, axis in enumerate(axes.flat):
        if index < len(sequences):
            axis.plot(sequences[index])
        axis.set_xticks([])
        axis.set_yticks([])
    if title:
        figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def text_picture(lines: list[str]) -> np.ndarray:
    """uint8 [H, W, 1]: the lines in PIL's built-in bitmap font, black on white (the sample
    grid of text generators)."""
    from PIL import ImageDraw, ImageFont

    font = ImageFont.load_default()
    left, top, right, bottom = font.getbbox("M" * max(1, max(len(line) for line in lines)))
    height = bottom + 4
    image = Image.new("L", (right + 8, height * len(lines) + 8), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((4, 4 + index * height), line, fill=0, font=font)
    return np.asarray(image)[..., None]
