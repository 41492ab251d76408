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
    """Move checkpoint ``step``'s files into ``checkpoints/broken/`` (never deleted). A name
    already quarantined is kept: the later one gets the prefix ``ckpt-N~2`` (then ``~3``...),
    still a checkpoint prefix that ``tf.train.Checkpoint.restore`` reads."""
    target = checkpoint_dir / BROKEN
    target.mkdir(exist_ok=True)
    files = sorted(checkpoint_dir.glob(f"ckpt-{step}.*"))
    prefix, copy = f"ckpt-{step}", 1
    while any((target / (prefix + path.name[len(f"ckpt-{step}"):])).exists() for path in files):
        copy += 1
        prefix = f"ckpt-{step}~{copy}"
    for path in files:
        path.rename(target / (prefix + path.name[len(f"ckpt-{step}"):]))
    return target


def quarantined_steps(checkpoint_dir: Path) -> list[str]:
    """The checkpoint prefixes in ``checkpoints/broken/`` (``ckpt-6``, ``ckpt-6~2``), sorted."""
    folder = checkpoint_dir / BROKEN
    if not folder.is_dir():
        return []
    return sorted({path.name.split(".", 1)[0] for path in folder.iterdir() if path.name.startswith("ckpt-")})


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


class CheckpointMismatch(RunDirError):
    """An intact checkpoint that does not fit the model the current config builds: the
    config changed, the files are fine. Nothing is moved."""


def checkpoint_damage(prefix: str) -> str | None:
    """Why the checkpoint files at ``prefix`` are damaged, or None when they are intact.

    Every tensor is read: TensorFlow checks each one's CRC32C as it reads, so a truncated
    or altered data file fails here, whatever the model that would restore it."""
    import tensorflow as tf

    if not Path(prefix + ".index").is_file():
        return "its .index file is missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except Exception as error:  # noqa: BLE001 - damaged files raise DataLossError, OutOfRangeError, ...
        return (getattr(error, "message", None) or str(error) or type(error).__name__).splitlines()[0]
    return None


def _mismatch_detail(error: Exception) -> str:
    text = (getattr(error, "message", None) or str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    shape = next((line for line in lines if "shape" in line), None)
    return (shape or (lines[0] if lines else type(error).__name__))[:300]


def restore_newest_good(objects: dict, checkpoint_dir: Path, owner: bool = True) -> int | None:
    """Restore the newest checkpoint that restores completely with finite values.

    A checkpoint damaged in itself (missing index, a tensor that fails its checksum, NaN or
    Inf values) is moved aside into ``checkpoints/broken/`` with a warning, and the previous
    one is tried; only the ``owner`` of the folder moves files and rewrites its index (the
    other workers of a multi-worker run skip them). An intact checkpoint that does not fit
    the model (the config changed what it holds) raises ``CheckpointMismatch`` and nothing is
    moved. None when there is no checkpoint at all; RunDirError when there are some and none
    is usable."""
    import tensorflow as tf

    steps = checkpoint_steps(checkpoint_dir)
    problems = []
    for step in steps:
        prefix = str(checkpoint_dir / f"ckpt-{step}")
        reason, status = None, None
        try:
            # A fresh Checkpoint per try: a failed restore leaves its object bound to that file.
            status = tf.train.Checkpoint(**objects).restore(prefix)
            status.assert_existing_objects_matched()
        except Exception as error:  # noqa: BLE001 - damage and mismatches raise several types
            if status is not None:
                status.expect_partial()  # no second warning about unrestored values as it is deleted
            # Only a failed restore reads the files again, to tell damage from a changed config.
            reason = checkpoint_damage(prefix)
            if reason is None:
                raise CheckpointMismatch(
                    f"checkpoint step {step} in {checkpoint_dir} is intact but does not fit the model this config "
                    f"builds ({_mismatch_detail(error)})"
                ) from None
        if reason is None:
            bad = non_finite_objects(objects)
            if bad:
                reason = f"it holds NaN or Inf values in {', '.join(bad)}"
        if reason is not None:
            folder = move_aside(checkpoint_dir, step) if owner else checkpoint_dir
            log.warning("checkpoint step %d cannot be used (%s); moved it to %s", step, reason, folder)
            problems.append(f"step {step}: {reason}")
            continue
        good = sorted(s for s in checkpoint_steps(checkpoint_dir) if s <= step)
        if owner:
            _write_checkpoint_index(checkpoint_dir, step, good)
        if problems:
            log.warning("resuming from step %d, the newest usable checkpoint", step)
        return step
    if problems:
        raise RunDirError(
            f"no checkpoint in {checkpoint_dir} can be restored ({'; '.join(problems)}); they were moved to "
            f"{checkpoint_dir / BROKEN}. Nothing else was changed: start a new run with another --out, or "
            "restore the files by hand"
        )
    return None


def _write_checkpoint_index(checkpoint_dir: Path, step: int, steps: list[int]) -> None:
    """The ``checkpoint`` index file that ``tf.train.CheckpointManager`` reads (a text
    ``CheckpointState`` protocol buffer): newest = the one resumed, all = ``steps`` with
    their files' times. The times matter: the manager prunes only the checkpoints whose time
    is after ``last_preserved_timestamp``, so without them a resumed run would keep every
    older checkpoint past ``keep_checkpoints``. Written here because TensorFlow 2's public
    API has no writer for it (``tf.compat.v1.train.update_checkpoint_state`` warns)."""
    times = [(checkpoint_dir / f"ckpt-{s}.index").stat().st_mtime for s in steps]
    lines = [f'model_checkpoint_path: "ckpt-{step}"']
    lines += [f'all_model_checkpoint_paths: "ckpt-{s}"' for s in steps]
    lines += [f"all_model_checkpoint_timestamps: {t!r}" for t in times]
    lines.append(f"last_preserved_timestamp: {min(times, default=1.0) - 1.0!r}")
    temporary = checkpoint_dir / "checkpoint.tmp"
    temporary.write_text("\n".join(lines) + "\n")
    temporary.replace(checkpoint_dir / "checkpoint")
