"""SHA-256 of files: what the exports, the pinned extractors and the rendered data record
and check. Standard library only, so every layer can use it."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_of_file(path: Path) -> str:
    """The file's SHA-256, read in 1 MiB blocks (exports and SoundFonts run to hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
