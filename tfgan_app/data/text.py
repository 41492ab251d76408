"""Text data: English quotations from Debian's ``fortunes`` collections and users' UTF-8
files, as fixed-length windows of character ids.

The vocabulary is fixed: the 95 printable ASCII characters, and id 0 for every other one
(decoded as U+FFFD), so a model trained on one text reads any other. Whitespace runs become
one space. A fortune collection is a file of quotations separated by lines holding "%"; the
test split holds out whole collections (every ``TEST_EVERY``-th file in name order), as the
notes hold out instruments. ``ascii-art`` is left out: it is pictures, not text.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

FORTUNES_DIR = Path("/usr/share/games/fortunes")
WORDS_FILE = Path("/usr/share/dict/american-english")
WINDOW = 32  # characters per example (Gulrajani et al. 2017, sec. 5)
VOCABULARY = "".join(chr(code) for code in range(32, 127))
UNKNOWN = "\ufffd"  # what id 0 decodes to
VOCABULARY_SIZE = len(VOCABULARY) + 1
TEST_EVERY = 5
NOT_TEXT = {"ascii-art"}
_IDS = {character: index + 1 for index, character in enumerate(VOCABULARY)}
_WHITESPACE = re.compile(r"\s+")


class TextError(ValueError):
    """Text that cannot be read; the message names the file and what to do."""


def read_utf8(path: Path) -> str:
    """The text of a UTF-8 file; TextError naming the file and the first byte that is not UTF-8."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise TextError(
            f"{path}: byte {error.start} ({data[error.start:error.start + 1]!r}) is not UTF-8 ({error.reason}); "
            "save the file as UTF-8"
        ) from None


def normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def encode(text: str) -> np.ndarray:
    """int32 ids of ``text``'s characters (0 for those outside the vocabulary)."""
    return np.fromiter((_IDS.get(character, 0) for character in text), np.int32, len(text))


def decode(ids) -> str:
    return "".join(VOCABULARY[index - 1] if 0 < index <= len(VOCABULARY) else UNKNOWN for index in np.asarray(ids).tolist())


def windows(texts: list[str], length: int = WINDOW) -> np.ndarray:
    """int32 [N, length]: consecutive non-overlapping windows of the texts joined by spaces."""
    ids = encode(" ".join(normalise(text) for text in texts if text.strip()))
    count = len(ids) // length
    return ids[: count * length].reshape(count, length)


def fortune_files(folder: Path = FORTUNES_DIR) -> list[Path]:
    """The collections of quotations (the files without a suffix; ``.dat`` and ``.u8`` are
    fortune's indexes and links)."""
    if not Path(folder).is_dir():
        raise TextError(f"{folder}: no fortune collections there; sudo apt-get install fortunes (or make data)")
    return sorted(path for path in Path(folder).iterdir()
                  if path.is_file() and not path.suffix and path.name not in NOT_TEXT)


def fortunes(path: Path) -> list[str]:
    """The quotations of one collection."""
    return [part for part in re.split(r"^%\s*$", read_utf8(path), flags=re.MULTILINE) if part.strip()]


def fortune_windows(split: str = "train", length: int = WINDOW, folder: Path = FORTUNES_DIR) -> np.ndarray:
    """Windows of the fortunes of ``split``: "train", "test" (every ``TEST_EVERY``-th
    collection) or "all"."""
    if split not in ("train", "test", "all"):
        raise TextError(f"split {split!r}: the fortunes have 'train', 'test' (held-out collections) and 'all'")
    files = fortune_files(folder)
    chosen = [path for index, path in enumerate(files)
              if split == "all" or (index % TEST_EVERY == 0) == (split == "test")]
    return windows([quote for path in chosen for quote in fortunes(path)], length)


def text_windows(path: Path, length: int = WINDOW) -> np.ndarray:
    """Windows of a UTF-8 text file, or of every ``.txt`` file under a folder (name order)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(file for file in path.rglob("*.txt") if file.is_file())
        if not files:
            raise TextError(f"{path}: no .txt files in it (or its subfolders)")
    elif path.is_file():
        files = [path]
    else:
        raise TextError(f"{path}: no such file or folder of text")
    ids = windows([read_utf8(file) for file in files], length)
    if not len(ids):
        raise TextError(f"{path}: fewer than {length} characters of text")
    return ids


def dictionary(path: Path = WORDS_FILE) -> set[str]:
    """The lower-cased words of a word list (Debian's ``wamerican``)."""
    if not Path(path).is_file():
        raise TextError(f"{path}: no word list there; sudo apt-get install wamerican (or make data)")
    return {line.strip().lower() for line in read_utf8(path).splitlines() if line.strip()}
