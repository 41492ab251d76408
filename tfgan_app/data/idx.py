"""Reader for the IDX format of (Fashion-)MNIST (http://yann.lecun.com/exdb/mnist/).

An IDX file is: two zero bytes, a type code, the number of dimensions, one big-endian
uint32 per dimension, then the values in row-major order. Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

_TYPES = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


class IdxError(ValueError):
    """An IDX file is malformed; the message names the file."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read a (possibly gzipped) IDX file into a numpy array of its declared shape."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as error:
        raise IdxError(f"{path}: cannot read IDX file: {error}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise IdxError(f"{path}: not an IDX file (bad magic number {data[:4].hex()})")
    type_code, rank = data[2], data[3]
    if type_code not in _TYPES:
        raise IdxError(f"{path}: unknown IDX type code 0x{type_code:02x}")
    header = 4 + 4 * rank
    if len(data) < header:
        raise IdxError(f"{path}: truncated header")
    shape = struct.unpack(f">{rank}I", data[4:header])
    dtype = _TYPES[type_code]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxError(
            f"{path}: header declares shape {shape} ({expected} bytes) "
            f"but the file holds {len(data) - header} bytes of data"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def find_idx_pair(folder: str | Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of a split in an MNIST-style folder, gzipped or not."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        return None
    found = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        names = [Path(folder) / f"{prefix}-{kind}{ext}" for ext in ("", ".gz")]
        existing = [name for name in names if name.is_file()]
        if not existing:
            return None
        found.append(existing[0])
    return found[0], found[1]
