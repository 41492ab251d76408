"""Keras callbacks that watch a GAN train: progress, logs, checkpoints, samples.

They count steps globally (a resumed run continues at the checkpoint's step) and share a
``RunState`` so that a non-finite loss seen by one stops the others from saving it.
Metrics are read only when a callback acts, so most steps need no device-to-host copy.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple, TextIO

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.data.audio import write_wav
from tfgan_app.plots import image_grid, save_png
from tfgan_app.training.rundir import non_finite_objects

LABELS = {"d_loss": "d_loss", "g_loss": "g_loss", "d_real": "D(x)", "d_fake": "D(G(z))"}


@dataclasses.dataclass
class RunState:
    """What the callbacks of one run share."""

    total_steps: int
    images_per_step: int  # real images consumed per step: batch_size x discriminator_steps
    start_step: int = 0
    step: int = 0
    interrupt_requested: bool = False
    stop_reason: str = ""  # "", "interrupted" or "non_finite"
    non_finite: dict[str, float] = dataclasses.field(default_factory=dict)
    last_checkpoint_step: int | None = None
    started: float = 0.0  # perf_counter at the start of fit
    first_step_done: float | None = None  # after tracing: throughput is measured from here
    finished: float | None = None

    def steady_images_per_second(self) -> float | None:
        steps = self.step - self.start_step - 1
        if self.first_step_done is None or self.finished is None or steps < 1:
            return None
        return steps * self.images_per_step / (self.finished - self.first_step_done)


def read_logs(logs: dict) -> dict[str, float]:
    return {name: float(value) for name, value in (logs or {}).items()}


def stop_if_not_finite(state: RunState, model: keras.Model, values: dict[str, float]) -> bool:
    """Record a NaN/Inf metric and stop training; True when all values are finite."""
    bad = {name: value for name, value in values.items() if not math.isfinite(value)}
    if bad and state.stop_reason != "non_finite":
        state.stop_reason, state.non_finite = "non_finite", bad
        model.stop_training = True
    return not bad and state.stop_reason != "non_finite"


class StepCallback(keras.callbacks.Callback):
    """Calls ``on_step_end(step, logs)`` with the global step; keeps ``RunState`` current."""

    def __init__(self, state: RunState):
        super().__init__()
        self.state = state
        self.previous_step: int | None = None

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # With steps_per_execution = N, Keras calls this after every N steps, and after the
        # last, shorter execution still with the index N - 1 past its start.
        step = min(self.state.start_step + batch + 1, self.state.total_steps)
        self.on_step_end(step, logs or {})
        self.previous_step = step

    def due(self, step: int, every: int) -> bool:
        """Whether a multiple of ``every`` was reached since the previous call: at every
        multiple when called each step, at the first call past it when called every N."""
        previous = self.state.start_step if self.previous_step is None else self.previous_step
        return step // every > previous // every

    def on_step_end(self, step: int, logs: dict) -> None:
        raise NotImplementedError


class StepClock(StepCallback):
    """Keeps the step and the timings in ``RunState``; goes first in the callback list."""

    def on_train_begin(self, logs=None):
        self.state.started = time.perf_counter()

    def on_step_end(self, step, logs):
        self.state.step = step
        if self.state.first_step_done is None:
            self.state.first_step_done = time.perf_counter()

    def on_train_end(self, logs=None):
        self.state.finished = time.perf_counter()


class DiscriminatorWinsWatch:
    """Reports once when D has told (nearly) every real example from every generated one
    for ``patience`` steps: D's loss, the log window's mean, was under ``separated_below``
    (the loss's level for that, ``losses.AdversarialLoss.separated_below``) in at least
    ``share`` of the steps' windows. Not in all of them: one step where D misjudges a
    batch lifts its window's mean (in an R3GAN run at gamma 0.05 that D won, 2 windows of 16).

    Training seldom recovers from there: G's updates push its samples to the extremes of
    its output range (black images, in that run at too small an R1/R2 weight). Shorter
    spells are normal early on. ``report(step, since, d_loss)`` is called once; the trainer
    logs it and records it in run.json. ``MetricsLogger`` feeds it each log window."""

    def __init__(
        self, separated_below: float, patience: int, report: Callable[[int, int, float], None], share: float = 0.8,
    ):
        self.separated_below, self.patience, self.share, self.report = separated_below, patience, share, report
        self.windows: collections.deque[tuple[int, int, bool]] = collections.deque()  # (start, end, under)
        self.reported = False

    def observe(self, start: int, end: int, d_loss: float) -> None:
        """One log window, steps (start, end], and its mean d_loss."""
        if self.reported:
            return
        self.windows.append((start, end, d_loss < self.separated_below))
        while self.windows[0][1] <= end - self.patience:
            self.windows.popleft()
        span_start = self.windows[0][0]
        under = sum(stop - begin for begin, stop, below in self.windows if below)
        if end - span_start >= self.patience and under >= self.share * (end - span_start):
            self.reported = True
            first_under = next(begin for begin, _, below in self.windows if below)
            self.report(end, first_under, d_loss)


class MetricsLogger(StepCallback):
    """Every ``every`` steps: check the losses are finite, append to the JSONL file, write
    TensorBoard scalars, and reset the running means so each line covers its own window."""

    def __init__(
        self, state: RunState, jsonl_path: Path, writer, every: int, watch: DiscriminatorWinsWatch | None = None,
    ):
        super().__init__(state)
        self.jsonl_path, self.writer, self.every, self.watch = jsonl_path, writer, every, watch
        self.window_start: tuple[int, float] | None = None

    def on_train_begin(self, logs=None):
        self.window_start = (self.state.start_step, time.perf_counter())

    def on_step_end(self, step, logs):
        if not self.due(step, self.every) and step != self.state.total_steps:
            return
        values = read_logs(logs)
        stop_if_not_finite(self.state, self.model, values)
        now = time.perf_counter()
        window_steps, window_time = step - self.window_start[0], now - self.window_start[1]
        if self.watch is not None and "d_loss" in values:
            self.watch.observe(self.window_start[0], step, values["d_loss"])
        self.window_start = (step, now)
        rate = window_steps / window_time if window_time > 0 else 0.0
        record = {
            "step": step, "time": round(now - self.state.started, 3), **values,
            "steps_per_sec": rate, "images_per_sec": rate * self.state.images_per_step,
        }
        with self.jsonl_path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        with self.writer.as_default(step=step):
            for name, value in record.items():
                if name not in ("step", "time"):
                    tf.summary.scalar(name, value)
        self.model.reset_metrics()


class Checkpointer(StepCallback):
    """Saves both networks, both optimizers and the step every ``every`` steps, at the end,
    and when an interrupt was requested; never saves weights of a non-finite step."""

    def __init__(self, state: RunState, manager: tf.train.CheckpointManager, every: int):
        super().__init__(state)
        self.manager, self.every = manager, every

    def on_step_end(self, step, logs):
        if self.state.interrupt_requested and not self.state.stop_reason:
            self.state.stop_reason = "interrupted"
            self.model.stop_training = True
        elif not self.due(step, self.every):
            return
        self.save(step, logs)

    def on_train_end(self, logs=None):
        if self.state.last_checkpoint_step != self.state.step:
            self.save(self.state.step, logs)

    def save(self, step: int, logs: dict) -> None:
        if not stop_if_not_finite(self.state, self.model, read_logs(logs)):
            return
        # Finite losses can hide an Inf in an optimizer moment or an EMA copy: a checkpoint
        # is written only when every value it would hold is finite.
        bad = non_finite_objects(self.model.checkpoint_objects())
        if bad:
            stop_if_not_finite(self.state, self.model, {f"checkpoint state ({', '.join(bad)})": math.nan})
            return
        if step > self.state.start_step:
            self.manager.save(checkpoint_number=step)
            self.state.last_checkpoint_step = step


class NonFiniteGuard(StepCallback):
    """Every ``every`` steps: stop when a loss in the logs is NaN or Inf. The logs are the
    log window's running means, so one bad step turns them non-finite until the window
    ends: no step escapes the check, and it costs one read per ``every`` steps."""

    def __init__(self, state: RunState, every: int):
        super().__init__(state)
        self.every = every

    def on_step_end(self, step, logs):
        if self.due(step, self.every):
            stop_if_not_finite(self.state, self.model, read_logs(logs))


class Rendered(NamedTuple):
    """What a sample renderer makes of the fixed preview inputs."""

    picture: np.ndarray  # uint8 [H, W, C]: the grid (or plot) of samples
    audio: np.ndarray | None = None  # [N, samples] in [-1, 1]: the samples as sounds, for audio families
    sample_rate: int = 0  # of ``audio``
    text: list[str] | None = None  # the samples as text, for text families


def preview_rendering(model: keras.Model, inputs: dict) -> Rendered:
    """The family's grid of ``inputs`` (``preview``), with its sounds when it makes sound."""
    audio = model.preview_audio(inputs)
    return Rendered(image_grid(*model.preview(inputs)), audio, model.sample_rate if audio is not None else 0,
                    model.preview_text(inputs))


class SampleWriter(StepCallback):
    """Every ``every`` steps and at the end: render samples from a fixed noise batch to
    ``samples/step_NNNNNNNN.png`` and to TensorBoard (sounds also as ``step_NNNNNNNN.wav``,
    the notes one after another, and as TensorBoard audio; text as ``step_NNNNNNNN.txt``
    and TensorBoard text)."""

    def __init__(
        self, state: RunState, folder: Path, writer, every: int,
        render: Callable[[keras.Model, int], Rendered],
    ):
        super().__init__(state)
        self.folder, self.writer, self.every, self.render = folder, writer, every, render
        self.last_written: int | None = None

    def on_step_end(self, step, logs):
        if self.due(step, self.every):
            self.write(step)

    def on_train_end(self, logs=None):
        if self.state.stop_reason != "non_finite" and self.last_written != self.state.step:
            self.write(self.state.step)

    def write(self, step: int) -> None:
        rendered = self.render(self.model, step)
        save_png(rendered.picture, self.folder / f"step_{step:08d}.png")
        with self.writer.as_default(step=step):
            tf.summary.image("samples", rendered.picture[None].astype(np.float32) / 255.0)
            if rendered.audio is not None:
                tf.summary.audio("samples", rendered.audio[..., None], rendered.sample_rate, max_outputs=len(rendered.audio))
            if rendered.text is not None:
                tf.summary.text("samples", tf.constant(rendered.text))
        if rendered.text is not None:
            (self.folder / f"step_{step:08d}.txt").write_text("\n".join(rendered.text) + "\n")
        if rendered.audio is not None:
            gap = np.zeros((len(rendered.audio), rendered.sample_rate // 4), np.float32)
            write_wav(self.folder / f"step_{step:08d}.wav", np.concatenate([rendered.audio, gap], axis=1).reshape(-1),
                      rendered.sample_rate)
        self.last_written = step


class ProgressBar(StepCallback):
    """One line with step, steps/s, images/s, ETA and the losses.

    On a terminal it redraws in place a few times a second; in a log file (CI) it prints a
    line every ``log_interval`` seconds.
    """

    def __init__(self, state: RunState, stream: TextIO = sys.stderr, log_interval: float = 15.0):
        super().__init__(state)
        self.stream = stream
        self.interactive = stream.isatty()
        self.interval = 0.25 if self.interactive else log_interval
        self.last_print = 0.0
        self.rate_mark: tuple[int, float] | None = None
        self.rate = 0.0

    def on_train_begin(self, logs=None):
        self.rate_mark = (self.state.start_step, time.perf_counter())

    def on_step_end(self, step, logs):
        now = time.perf_counter()
        if now - self.last_print < self.interval and step != self.state.total_steps:
            return
        self.last_print = now
        done, elapsed = step - self.rate_mark[0], now - self.rate_mark[1]
        # The window that holds the first step also holds tracing: no rate from it.
        if done > 0 and elapsed > 0 and self.rate_mark[0] > self.state.start_step:
            # Exponential smoothing: stable enough to read, quick to follow a slow-down.
            rate = done / elapsed
            self.rate = rate if self.rate == 0 else 0.7 * self.rate + 0.3 * rate
        self.rate_mark = (step, now)
        total = self.state.total_steps
        eta = (total - step) / self.rate if self.rate else float("nan")
        width = 24
        filled = int(width * step / total) if total else width
        values = read_logs(logs)
        ordered = [name for name in LABELS if name in values] + sorted(set(values) - set(LABELS))
        metrics = " ".join(f"{LABELS.get(name, name)} {values[name]:.3f}" for name in ordered)
        line = (
            f"step {step}/{total} [{'=' * filled}{'.' * (width - filled)}] "
            f"{self.rate:.1f} step/s {self.rate * self.state.images_per_step:.0f} img/s "
            f"ETA {format_duration(eta)} {metrics}"
        )
        if self.interactive:
            self.stream.write("\r" + line.ljust(140))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def on_train_end(self, logs=None):
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--"
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


def run_callbacks(
    state: RunState, run_dir: Path, writer, manager: tf.train.CheckpointManager,
    render: Callable[[keras.Model, int], Rendered], log_every: int, checkpoint_every: int, sample_every: int,
    progress_stream: TextIO = sys.stderr, extra: tuple[keras.callbacks.Callback, ...] = (),
    non_finite_check_every: int = 10, watch: DiscriminatorWinsWatch | None = None,
) -> list[keras.callbacks.Callback]:
    """The callbacks of a run, in the order they must act on a step: the clock, the
    non-finite guard, the logs (which feed ``watch`` each window), the checkpoint,
    ``extra`` (periodic evaluation), the samples, the progress line."""
    return [
        StepClock(state),
        NonFiniteGuard(state, non_finite_check_every),
        MetricsLogger(state, run_dir / "metrics.jsonl", writer, log_every, watch),
        Checkpointer(state, manager, checkpoint_every),
        *extra,
        SampleWriter(state, run_dir / "samples", writer, sample_every, render),
        ProgressBar(state, progress_stream),
    ]


def training_callbacks(
    model: keras.Model, run_dir: str | Path, steps: int, batch_size: int, log_every: int = 50,
    checkpoint_every: int = 500, sample_every: int = 500, num_samples: int = 64, keep_checkpoints: int = 3,
    seed: int = 0, progress_stream: TextIO = sys.stderr,
) -> list[keras.callbacks.Callback]:
    """The trainer's callbacks for a model trained from Python with ``fit`` (noise-to-sample
    models): progress line, ``metrics.jsonl`` and TensorBoard logs, checkpoints of
    ``model.checkpoint_objects()`` and sample grids from fixed noise, in ``run_dir``.
    Pass ``steps`` = the steps ``fit`` will run."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = int(model.step.numpy())
    state = RunState(total_steps=start + steps, images_per_step=batch_size, start_step=start)
    state.step = start
    manager = tf.train.CheckpointManager(
        tf.train.Checkpoint(**model.checkpoint_objects()), str(run_dir / "checkpoints"), max_to_keep=keep_checkpoints
    )
    inputs = model.preview_inputs(num_samples, tf.constant([0, seed], tf.int64))

    def render(model, step):
        return preview_rendering(model, inputs)

    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard"))
    return run_callbacks(
        state, run_dir, writer, manager, render, log_every, checkpoint_every, sample_every, progress_stream,
    )
