"""The run directory's safety: a run is recognised by its marker, one process at a time
holds it, and resuming picks the newest checkpoint that restores completely and is finite.

Nothing here deletes a user's file: a folder that is not a run is refused, a broken
checkpoint is moved aside into ``checkpoints/broken/`` (and named), and only the trainer's
own leftovers of a killed run (``ckpt-N_temp`` folders) are removed, under the lock.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MARKER = ".tfgan_app_run"  # written first into every run directory
LOCK = ".lock"  # flock'ed by the process that trains or exports the run
BROKEN = "broken"  # checkpoints/broken/: checkpoints that did not restore
_CHECKPOINT_FILE = re.compile(r"^ckpt-(\d+)\.(index|data-\d+-of-\d+)$")


class RunDirError(RuntimeError):
    """The run directory cannot be used as asked (it would lose or mix up data)."""


def _listing(folder: Path, count: int = 5) -> str:
    names = sorted(path.name for path in folder.iterdir())
    more = f" and {len(names) - count} more" if len(names) > count else ""
    return ", ".join(names[:count]) + more


def prepare(run_dir: Path, resume: bool) -> None:
    """Check ``run_dir`` for a new run or a resume and create it with its marker.

    Refused: a path that is a file or lies under one, a non-empty folder without the
    marker (the user's files would be overwritten), an existing run without ``resume``,
    ``resume`` on a folder that holds no run, a folder this user cannot write.
    """
    for parent in [run_dir, *run_dir.parents]:
        if parent.exists() and not parent.is_dir():
            where = "is a file" if parent == run_dir else f"lies under the file {parent}"
            raise RunDirError(f"--out {run_dir} {where}; choose a folder for the run")
    is_run = (run_dir / MARKER).is_file()
    if resume and not is_run:
        raise RunDirError(
            f"--resume: {run_dir} holds no run (no {MARKER} marker); check the path, or drop --resume "
            "to start a new run there"
        )
    if run_dir.is_dir() and not is_run and any(run_dir.iterdir()):
        raise RunDirError(
            f"--out {run_dir} is a folder with other files in it ({_listing(run_dir)}) and not a run "
            "directory; training would overwrite them. Choose an empty or new folder"
        )
    if is_run and not resume and has_checkpoints(run_dir / "checkpoints"):
        raise RunDirError(
            f"{run_dir} already holds a run with checkpoints; pass --resume to continue it or choose another --out"
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not is_run:
            (run_dir / MARKER).write_text(json.dumps({"created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}) + "\n")
    except OSError as error:
        raise RunDirError(f"cannot write the run directory {run_dir}: {error.strerror or error}") from None


def has_checkpoints(folder: Path) -> bool:
    return folder.is_dir() and any(_CHECKPOINT_FILE.match(path.name) for path in folder.iterdir())


class RunLock:
    """An exclusive lock on a run directory for the life of a process's use of it.

    ``flock`` on ``.lock``: released when the process ends, however it ends, so a killed
    trainer never leaves a stale lock. A second holder fails at once with the first's pid
    and start time.
    """

    def __init__(self, run_dir: Path, purpose: str):
        self.path, self.purpose = Path(run_dir) / LOCK, purpose
        self.handle = None

    def __enter__(self) -> "RunLock":
        try:
            handle = open(self.path, "a+")
        except OSError as error:
            raise RunDirError(f"cannot lock {self.path.parent}: {error.strerror or error}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunDirError(
                f"{self.path.parent} is in use by {holder}; wait for it to finish or stop it "
                "(one trainer or exporter per run directory)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} ({self.purpose}, started {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc) -> bool:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
        return False


def remove_leftovers(checkpoint_dir: Path) -> list[Path]:
    """The ``ckpt-N_temp`` folders a killed checkpoint write leaves (call under the lock)."""
    removed = []
    if checkpoint_dir.is_dir():
        for path in checkpoint_dir.glob("*_temp*"):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("removed %d leftover temporary checkpoint folder(s) of an interrupted write", len(removed))
    return removed


def checkpoint_steps(checkpoint_dir: Path) -> list[int]:
    """Steps of the checkpoints with any file in ``checkpoint_dir``, newest first."""
    if not checkpoint_dir.is_dir():
        return []
    steps = {int(match.group(1)) for path in checkpoint_dir.iterdir() if (match := _CHECKPOINT_FILE.match(path.name))}
    return sorted(steps, reverse=True)


def move_aside(checkpoint_dir: Path, step: int) -> Path:
    """Move checkpoint ``step``'s files into ``checkpoints/broken/`` (never deleted)."""
    target = checkpoint_dir / BROKEN
    target.mkdir(exist_ok=True)
    for path in checkpoint_dir.glob(f"ckpt-{step}.*"):
        path.rename(target / path.name)
    return target


def non_finite_objects(objects: dict) -> list[str]:
    """Names of the checkpointed objects holding a NaN or Inf value (weights, optimizer
    moments, EMA copies); empty when everything is finite."""
    bad = []
    for name, value in objects.items():
        variables = [value] if hasattr(value, "numpy") and not hasattr(value, "variables") else getattr(value, "variables", [])
        for variable in variables:
            array = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                bad.append(name)
                break
    return bad


def restore_newest_good(objects: dict, checkpoint_dir: Path, owner: bool = True) -> int | None:
    """Restore the newest checkpoint that restores completely with finite values; move
    each broken one aside with a warning (only the ``owner`` of the folder moves files and
    rewrites its index: the other workers of a multi-worker run skip them). None when there
    is no checkpoint at all; RunDirError when there are some and none is usable."""
    import tensorflow as tf

    steps = checkpoint_steps(checkpoint_dir)
    problems = []
    for step in steps:
        prefix = str(checkpoint_dir / f"ckpt-{step}")
        try:
            if not Path(prefix + ".index").is_file():
                raise ValueError("its .index file is missing")
            # A fresh Checkpoint per try: a failed restore leaves its object bound to that file.
            tf.train.Checkpoint(**objects).restore(prefix).assert_existing_objects_matched()
            bad = non_finite_objects(objects)
            if bad:
                raise ValueError(f"it holds NaN or Inf values in {', '.join(bad)}")
        except Exception as error:  # noqa: BLE001 - damaged files raise OpError, IndexError, ValueError...
            reason = getattr(error, "message", None) or str(error)
            folder = move_aside(checkpoint_dir, step) if owner else checkpoint_dir
            log.warning("checkpoint step %d cannot be used (%s); moved it to %s", step, reason.splitlines()[0], folder)
            problems.append(f"step {step}: {reason.splitlines()[0]}")
            continue
        good = [s for s in checkpoint_steps(checkpoint_dir) if s <= step]
        if owner:  # the manager's index then lists only what exists, newest = the one resumed
            tf.compat.v1.train.update_checkpoint_state(
                str(checkpoint_dir), prefix,
                all_model_checkpoint_paths=[str(checkpoint_dir / f"ckpt-{s}") for s in sorted(good)],
            )
        if problems:
            log.warning("resuming from step %d, the newest usable checkpoint", step)
        return step
    if problems:
        raise RunDirError(
            f"no checkpoint in {checkpoint_dir} can be restored ({'; '.join(problems)}); they were moved to "
            f"{checkpoint_dir / BROKEN}. Start a new run, or restore the files by hand"
        )
    return None
