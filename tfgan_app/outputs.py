"""The one rule for every path a command writes that the user names (``--out``, ``--json``,
``--csv``): an existing file, or a folder with files in it, is never replaced unless the user
says ``--overwrite``."""

from __future__ import annotations

from pathlib import Path


class OutputExistsError(ValueError):
    """The path a command would write already holds the user's data."""


def refuse_existing(path: Path, flag: str, overwrite: bool = False) -> None:
    """OutputExistsError when ``path`` is an existing file, or a folder that is not empty,
    and ``overwrite`` is false."""
    path = Path(path)
    if overwrite:
        return
    if path.is_dir():
        names = sorted(child.name for child in path.iterdir())
        if names:
            listing = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            raise OutputExistsError(
                f"{flag} {path} is a folder with files in it ({listing}); nothing is overwritten: name a new "
                "or empty folder, or pass --overwrite to write into it"
            )
    elif path.exists() or path.is_symlink():
        raise OutputExistsError(
            f"{flag} {path} exists; nothing is overwritten: name a new file, or pass --overwrite to replace it"
        )
