"""The emoji data: 64x64 colour images from the npm registry, two styles of the same emoji.

``emoji-datasource-google@16.0.0`` (Noto Emoji, Apache-2.0) and
``emoji-datasource-twitter@16.0.0`` (Twemoji graphics, CC-BY 4.0) each ship 3,786 RGBA
PNGs (``img/<vendor>/64/<code point>.png``: 1,911 emoji and their skin-tone variations)
and ``emoji.json`` (name, short names, category, subcategory). That is an unconditional
set, a labelled one (10 categories) and a paired image-to-image one (Google -> Twitter).

``fetch`` runs ``npm pack`` (the ordinary client, whatever registry npm is set up for),
checks each archive's SHA-1 against the pinned one, and unpacks the 64 px images,
``emoji.json`` and the licences into ``<root>/emoji/<vendor>/``; a complete copy is not
fetched again. The test split is fixed: the Google file names sorted, every 10th (index 0,
10, 20, ...) is test, never trained on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from tfgan_app.data.folder import load_images
from tfgan_app.data.npm import NpmError, npm_pack, replace_with, staging_folder

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EmojiPackage:
    vendor: str
    package: str
    version: str
    sha1: str  # of the npm tarball, as the registry's dist.shasum states it
    licence: str


PACKAGES = {
    "google": EmojiPackage(
        "google", "emoji-datasource-google", "16.0.0", "a80ac3e8106cbd4d8648ce758aa099e8827b6157",
        "Noto Emoji images, Apache License 2.0 (https://github.com/googlefonts/noto-emoji)",
    ),
    "twitter": EmojiPackage(
        "twitter", "emoji-datasource-twitter", "16.0.0", "e2bd39a8acb77e158106f8249dd7b4cd93fa1b14",
        "Twemoji graphics, Creative Commons Attribution 4.0 (https://github.com/twitter/twemoji)",
    ),
}
COMPLETE = ".complete"  # written last: its presence means the folder is whole
TEST_EVERY = 10


class EmojiDataError(ValueError):
    """The emoji data cannot be fetched or is not there; the message says what to do
    (a ValueError: the commands report it as bad input, exit code 2)."""


def default_root() -> Path:
    """``$TFGAN_APP_DATA`` or ``~/.cache/tfgan_app/data``."""
    return Path(os.environ.get("TFGAN_APP_DATA", "~/.cache/tfgan_app/data")).expanduser()


def vendor_dir(root: Path, vendor: str) -> Path:
    return Path(root) / "emoji" / vendor


def is_fetched(root: Path, vendor: str) -> bool:
    marker = vendor_dir(root, vendor) / COMPLETE
    return marker.is_file() and marker.read_text().strip() == PACKAGES[vendor].sha1


def fetch(root: Path | None = None, vendors: tuple[str, ...] = ("google", "twitter"), npm: str = "npm") -> list[Path]:
    """Fetch and unpack each vendor's package into ``root/emoji/<vendor>`` (idempotent)."""
    root = Path(root or default_root())
    folders = []
    for vendor in vendors:
        if vendor not in PACKAGES:
            raise EmojiDataError(f"unknown emoji vendor {vendor!r}; choose from {sorted(PACKAGES)}")
        folder = vendor_dir(root, vendor)
        if is_fetched(root, vendor):
            log.info("%s: already fetched", folder)
            folders.append(folder)
            continue
        package = PACKAGES[vendor]
        with tempfile.TemporaryDirectory() as scratch:
            try:
                archive = npm_pack(f"{package.package}@{package.version}", Path(scratch), package.sha1,
                                   "the emoji data", npm)
            except NpmError as error:
                raise EmojiDataError(str(error)) from None
            _unpack(archive, package, folder)
        log.info("%s: fetched %s@%s", folder, package.package, package.version)
        folders.append(folder)
    return folders


def _unpack(archive: Path, package: EmojiPackage, folder: Path) -> None:
    """The 64 px images, emoji.json and the licences, into ``folder`` (atomically)."""
    prefix = f"package/img/{package.vendor}/64/"
    staging = staging_folder(folder)
    try:
        (staging / "64").mkdir()
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                name = member.name
                if name.startswith(prefix) and name.endswith(".png") and member.isfile():
                    target = staging / "64" / Path(name).name
                elif name in ("package/emoji.json", "package/LICENSE", "package/README.md"):
                    target = staging / Path(name).name
                else:
                    continue
                with tar.extractfile(member) as source:
                    target.write_bytes(source.read())
        (staging / "LICENCES.txt").write_text(
            f"Images: {package.licence}.\nPackaging and emoji.json: {package.package}@{package.version} "
            "(MIT licence, see LICENSE).\n"
        )
        (staging / COMPLETE).write_text(package.sha1 + "\n")
        replace_with(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def catalogue(folder: Path) -> dict[str, dict]:
    """image file name -> {"name", "short_names", "category", "subcategory"}, skin-tone
    variations included (their category is their base emoji's)."""
    entries = json.loads((folder / "emoji.json").read_text())
    found = {}
    for entry in entries:
        facts = {
            "name": (entry.get("name") or entry.get("short_name") or "").lower(),
            "short_names": entry.get("short_names", []),
            "category": entry["category"], "subcategory": entry.get("subcategory", ""),
        }
        found[entry["image"]] = facts
        for variation in (entry.get("skin_variations") or {}).values():
            found[variation["image"]] = facts
    return found


def split_files(files: list[str], split: str) -> list[str]:
    """The fixed split: sorted names, every 10th (index 0, 10, ...) is test."""
    ordered = sorted(files)
    if split == "test":
        return ordered[::TEST_EVERY]
    if split == "train":
        return [name for index, name in enumerate(ordered) if index % TEST_EVERY]
    if split == "all":
        return ordered
    raise EmojiDataError(f"data.split {split!r} for emoji: choose train, test or all")


def emoji_texts(root: Path, vendor: str, files: list[str]) -> list[str]:
    """The names of the emoji in ``files`` (``load_emoji``'s file names) as text, e.g.
    "grinning face": the text-image pairs of the text-to-image family."""
    info = catalogue(vendor_dir(root, vendor))
    texts = []
    for name in files:
        facts = info.get(name, {})
        texts.append(facts.get("name") or " ".join(facts.get("short_names", [])[:1]).replace("_", " ") or Path(name).stem)
    return texts


def load_emoji(
    root: Path, vendor: str, split: str, names: list[str] | None = None, limit: int = 0, label_by: str = "category",
):
    """(images uint8 [N, 64, 64, 3] composited on white, file names, labels [N], label
    names) of one vendor; labels by ``category`` (10) or ``subcategory`` (about 100).
    ``names``: these files (the split is then theirs)."""
    if label_by not in ("category", "subcategory"):
        raise EmojiDataError(f"emoji labels by {label_by!r}: choose category or subcategory")
    folder = vendor_dir(root, vendor)
    if not is_fetched(root, vendor):
        raise EmojiDataError(
            f"the {vendor} emoji are not in {folder}: fetch them with `python -m tfgan_app.data fetch emoji` "
            f"(or `make data`), or point data.data_dir at a folder holding emoji/{vendor}/"
        )
    info = catalogue(folder)
    available = sorted(path.name for path in (folder / "64").glob("*.png"))
    chosen = names if names is not None else split_files(available, split)
    chosen = chosen[: limit or None]
    missing = [name for name in chosen if not (folder / "64" / name).is_file()]
    if missing:
        raise EmojiDataError(f"{folder / '64'} lacks {len(missing)} image(s) of the pairs, e.g. {missing[:3]}")
    images, _, _ = load_images([folder / "64" / name for name in chosen], 64, 3)
    classes = sorted({facts[label_by] for facts in info.values()})
    labels = np.array([classes.index(info[name][label_by]) if name in info else 0 for name in chosen], np.int32)
    return images, chosen, labels, classes
