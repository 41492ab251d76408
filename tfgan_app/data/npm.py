"""Packages from the npm registry, fetched with the ordinary npm client (whatever registry npm
is set up for) and checked against the SHA-1 the registry publishes for the tarball (its
``dist.shasum``): the emoji images and the browser runtime of the web export."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path


class NpmError(ValueError):
    """A package cannot be fetched; the message says what to do (exit code 2 in the commands)."""


def npm_pack(spec: str, destination: Path, sha1: str, purpose: str, npm: str = "npm") -> Path:
    """``npm pack spec`` into ``destination``; the tarball, after checking its SHA-1.
    ``purpose`` says what the package is for, in the messages."""
    if shutil.which(npm) is None:
        raise NpmError(f"'{npm}' is not installed: {purpose} comes through the npm client "
                       "(Debian: apt-get install npm; or install Node.js)")
    done = subprocess.run(
        [npm, "pack", spec, "--pack-destination", str(destination), "--silent"],
        capture_output=True, text=True, cwd=destination,
    )
    archives = sorted(Path(destination).glob("*.tgz"))
    if done.returncode != 0 or not archives:
        raise NpmError(f"npm pack {spec} failed ({purpose}): {(done.stderr or done.stdout).strip()[-500:]}")
    digest = hashlib.sha1(archives[0].read_bytes()).hexdigest()
    if digest != sha1:
        raise NpmError(f"{archives[0].name}: SHA-1 {digest} is not the pinned {sha1}; the registry served another "
                       "file. Nothing was unpacked")
    return archives[0]


def staging_folder(folder: Path) -> Path:
    """A fresh folder beside ``folder`` to unpack into before it is renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))


def replace_with(staging: Path, folder: Path) -> None:
    """``staging`` becomes ``folder`` (an incomplete earlier copy is removed first)."""
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
