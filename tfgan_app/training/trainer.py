"""One training run: config -> data + networks -> GAN -> fit with callbacks -> run directory.

A run directory holds everything needed to inspect, resume or export the run::

    config.json      the resolved pipeline config
    run.json         status, steps, timings, data source, strategy, library versions, rollbacks, warnings
    metrics.jsonl    one line per log window: losses, D(x), D(G(z)), steps/s, images/s
    checkpoints/     tf.train checkpoints: both networks, both optimizers, the step
    samples/         step_NNNNNNNN.png grids from a fixed noise batch
    tensorboard/     scalars and sample images
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.config import Config, save_config
from tfgan_app.data import Source, make_train_dataset, steps_per_epoch
from tfgan_app.data.pipeline import example_batch, stream_seed
from tfgan_app.gans import build_model
from tfgan_app.gans.build import resolve_precision
from tfgan_app.gans.registry import family_source
from tfgan_app.networks import weights_sha256
from tfgan_app.plots import toy_plot
from tfgan_app.training import rundir
from tfgan_app.training.callbacks import DiscriminatorWinsWatch, Rendered, RunState, preview_rendering, run_callbacks
from tfgan_app.training.evaluation import BEST_DIR, GeneratorEvaluator, PeriodicEvaluation
from tfgan_app.training.restore import build_run_model
from tfgan_app.training.rundir import RunDirError
from tfgan_app.training.strategy import is_chief, is_multi_worker, make_strategy, task_name, worker_count

log = logging.getLogger(__name__)

_SAMPLE_NOISE, _SAMPLE_REAL = 3, 4  # random streams for the fixed sample batch


@dataclasses.dataclass
class TrainResult:
    run_dir: Path
    status: str  # "completed", "interrupted" or "non_finite"
    start_step: int
    step: int
    total_steps: int
    last_checkpoint_step: int | None
    wall_time_s: float
    images_per_sec: float | None
    message: str = ""
    chief: bool = True  # False on the other workers of a multi-worker run
    weights_fingerprint: str = ""


def make_checkpoint(model: keras.Model) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(**model.checkpoint_objects())


def _apply_learning_rates(model: keras.Model, config: Config) -> None:
    """The checkpoint restores the optimizers' learning rates; the config given for the
    resumed run wins, so "lower the learning rate and resume" does what it says. (A decay
    schedule is rebuilt from the config anyway.)"""
    if config.train.learning_rate_decay != "none":
        return
    pairs = (
        (model.generator_optimizer, config.optimizer.generator),
        (model.discriminator_optimizer, config.optimizer.discriminator),
    )
    for optimizer, settings in pairs:
        restored = float(optimizer.learning_rate.numpy())
        if restored != settings.learning_rate:
            log.info("learning rate %g from the config (the checkpoint held %g)", settings.learning_rate, restored)
            optimizer.learning_rate = settings.learning_rate


def total_steps(config: Config, source: Source) -> int:
    per_epoch = steps_per_epoch(source, config.train.batch_size, config.train.discriminator_steps)
    if config.train.top_k_min_fraction < 1.0 and per_epoch is None:
        raise ValueError(f"{source.description} is an endless sampler: train.top_k_min_fraction decays per epoch; set it to 1")
    if config.train.epochs:
        if per_epoch is None:
            raise ValueError(f"{source.description} is an endless sampler: use train.steps, not epochs")
        return max(1, round(config.train.epochs * per_epoch))
    return config.train.steps


def sample_renderer(config: Config, source: Source, model: keras.Model):
    """A function (model, step) -> RGB/gray picture of samples from fixed inputs: a scatter
    or histogram for toy data, else the family's grid (``preview``)."""
    seed = stream_seed(config.seed, _SAMPLE_NOISE, 0)
    if source.sampler is not None and len(source.element_shape) == 1:
        count = config.sampling.toy_points
        z = model.preview_inputs(count, seed)["z"]
        real = source.sampler(stream_seed(config.seed, _SAMPLE_REAL, 0), count).numpy()
        return lambda model, step: Rendered(toy_plot(model.generate(z).numpy(), real, f"step {step}"))
    examples = example_batch(source, config.sampling.num_samples) if source.images is not None else None
    inputs = model.preview_inputs(config.sampling.num_samples, seed, examples)

    def render(model, step):
        return preview_rendering(model, inputs)

    return render


def _keep_metrics_up_to(path: Path, step: int) -> None:
    """After a crash the JSONL may hold windows past the checkpoint; they will be redone."""
    if not path.exists():
        return
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    kept = [line for line in lines if json.loads(line)["step"] <= step]
    if len(kept) != len(lines):
        path.write_text("".join(line + "\n" for line in kept))


def _write_run_json(run_dir: Path, info: dict) -> None:
    temporary = run_dir / "run.json.tmp"
    temporary.write_text(json.dumps(info, indent=2) + "\n")
    temporary.replace(run_dir / "run.json")


def train(
    config: Config, run_dir: Path, resume: bool = False, strategy_name: str = "auto",
    progress_stream=None, init_from: Path | None = None,
) -> TrainResult:
    """Train (or resume) the run in ``run_dir``; see the module docstring for its layout.

    The chief checks and marks the folder (``rundir.prepare``) and holds its lock for the
    whole run; ``run.json`` ends in a final status whatever happens (``failed`` with the
    message when an error escapes). A start that fails before anything of the run was
    written leaves no folder behind.
    """
    run_dir = Path(run_dir)
    # The run resolves the precision and may lower the learning rates (rollbacks): on its own
    # copy, so the caller's Config is left as it was given.
    config = copy.deepcopy(config)
    # First: MultiWorkerMirroredStrategy must configure collectives before TF runs any op.
    strategy = make_strategy(strategy_name)
    chief = is_chief(strategy)
    if resume and init_from is not None:
        raise RunDirError(
            f"--init-from {init_from} starts a new run from another run's networks, --resume continues the run in "
            f"{run_dir}: give one of them"
        )
    if not chief:
        return _train(config, run_dir, strategy, progress_stream, init_from, resume)
    created = not run_dir.exists()
    rundir.prepare(run_dir, resume)
    try:
        with rundir.RunLock(run_dir, "training"):
            return _train(config, run_dir, strategy, progress_stream, init_from, resume)
    except BaseException:
        if created and {path.name for path in run_dir.iterdir()} <= {rundir.MARKER, rundir.LOCK}:
            shutil.rmtree(run_dir, ignore_errors=True)  # only what this call made
        raise


def _train(
    config: Config, run_dir: Path, strategy, progress_stream, init_from: Path | None = None, resume: bool = False,
) -> TrainResult:
    keras.utils.set_random_seed(config.seed)
    chief = is_chief(strategy)
    checkpoint_dir = run_dir / "checkpoints"
    # A multi-worker run: every worker saves checkpoints (saving takes part in collectives)
    # and runs the same callbacks, so all stop at the same step, but only the chief writes
    # the run directory; the others write to a scratch folder removed at the end, and
    # restore from the chief's checkpoints (TensorFlow's multi-worker guide does the same).
    write_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix=f"tfgan_app-{task_name(strategy)}-"))
    replicas = strategy.num_replicas_in_sync
    if config.train.batch_size % replicas:
        raise ValueError(
            f"train.batch_size {config.train.batch_size} does not split over {replicas} replicas"
        )
    config.train.precision = resolve_precision(config.train.precision)  # recorded as resolved
    if config.data.image_size:  # before loading: resizing to a giant size would exhaust memory first
        check_batch_fits(config, (config.data.image_size, config.data.image_size, config.data.channels or 3))
    source = family_source(config)
    steps = total_steps(config, source)
    check_batch_fits(config, source.element_shape)
    with strategy.scope():
        model = build_model(
            config, source.element_shape, source.num_classes, replicas, steps, source.class_names,
            steps_per_epoch(source, config.train.batch_size, config.train.discriminator_steps) or 0,
        )
    checkpoint = make_checkpoint(model)
    if chief:
        rundir.remove_leftovers(checkpoint_dir)
    try:
        restored = rundir.restore_newest_good(model.checkpoint_objects(), checkpoint_dir, owner=chief)
    except rundir.CheckpointMismatch as error:
        raise rundir.CheckpointMismatch(f"--resume: {error}. {_config_changes(run_dir, config)}") from None
    if restored is None and resume:
        _refuse_a_restart(run_dir)
    if restored is not None:
        log.info("resumed from %s", checkpoint_dir / f"ckpt-{restored}")
        _apply_learning_rates(model, config)
    elif init_from is not None:
        init_networks(model, Path(init_from))
    manager = tf.train.CheckpointManager(
        checkpoint, str(write_dir / "checkpoints"), max_to_keep=config.train.keep_checkpoints
    )
    start_step = int(model.step.numpy())
    if steps == 0 and start_step == 0:
        raise ValueError("train.steps = 0: nothing to train and no checkpoint to export; set --steps N (N >= 1)")
    if steps < start_step:
        raise ValueError(
            f"--resume: {run_dir} is already at step {start_step}, past train.steps = {steps}; nothing would be "
            f"trained. Give --steps N with N > {start_step} to train on"
        )
    # Built before anything is written: a missing classifier fails here, not mid-run.
    evaluator = _make_evaluator(config, source, model.noise_dim)
    save_config(config, write_dir / "config.json")
    _keep_metrics_up_to(write_dir / "metrics.jsonl", start_step)
    log.info(
        "strategy %s: %d replica(s), global batch %d, per-replica batch %d; steps %d -> %d; %s",
        type(strategy).__name__, replicas, config.train.batch_size,
        config.train.batch_size // replicas, start_step, steps, config.train.precision,
    )
    info = {
        "status": "running", "pipeline": config.pipeline, "family": config.model.family,
        "data": source.description, "class_names": source.class_names,
        "num_classes": source.num_classes, "element_shape": list(source.element_shape),
        "strategy": type(strategy).__name__, "replicas": replicas,
        "workers": worker_count(strategy),
        "global_batch": config.train.batch_size,
        "per_replica_batch": config.train.batch_size // replicas,
        "start_step": start_step, "total_steps": steps, "rollbacks": [],
        "evaluation_extractor": evaluator.measured_by if evaluator is not None else None,
        "versions": {
            "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
    }
    _write_run_json(write_dir, info)
    began = time.perf_counter()
    try:
        state = _fit_with_rollbacks(
            config, model, strategy, source, checkpoint, manager, evaluator, write_dir, steps, start_step,
            info, progress_stream,
        )
    except BaseException as error:
        interrupted = isinstance(error, KeyboardInterrupt)
        info.update(
            status="interrupted" if interrupted else "failed",
            message="aborted by a second interrupt" if interrupted else f"{type(error).__name__}: {error}",
            wall_time_s=round(time.perf_counter() - began, 2),
            last_checkpoint_step=_latest_step(manager),
        )
        try:
            _write_run_json(write_dir, info)
        except OSError:  # a full disk may refuse even this; the message reaches the user anyway
            pass
        raise
    status = state.stop_reason or "completed"
    wall = time.perf_counter() - began
    last = _latest_step(manager)
    message = {
        "completed": f"trained to step {state.step}",
        "interrupted": f"interrupted at step {state.step}; checkpoint saved, continue with --resume",
        "non_finite": _non_finite_message(config, state, last, checkpoint_dir, len(info["rollbacks"])),
    }[status]
    result = TrainResult(
        run_dir, status, start_step, state.step, steps, last, wall,
        state.steady_images_per_second(), message, chief, weights_fingerprint(model),
    )
    info.update(
        status=status, step=state.step, last_checkpoint_step=last, wall_time_s=round(wall, 2),
        images_per_sec=result.images_per_sec, message=message,
        weights_fingerprint=result.weights_fingerprint,
    )
    _write_run_json(write_dir, info)
    if not chief:
        shutil.rmtree(write_dir, ignore_errors=True)
    return result


def _non_finite_message(config: Config, state: RunState, last: int | None, checkpoint_dir: Path, rollbacks: int) -> str:
    """What stopped the run and what to do: lower the learning rates and resume, and the
    rollback setting only where it is not already spent."""
    stopped = f"stopped at step {state.step}: non-finite values {state.non_finite}. "
    if last is None:
        return stopped + "No checkpoint was written yet: start again with lower learning rates"
    rates = f"{config.optimizer.generator.learning_rate:g} and {config.optimizer.discriminator.learning_rate:g}"
    if config.train.on_non_finite == "rollback":
        advice = (f"{rollbacks} rollback(s) with lower learning rates (now {rates}) did not help: lower them much more "
                  "with --set optimizer.generator.learning_rate=... and optimizer.discriminator.learning_rate=..., "
                  "or check the data and the loss settings, then --resume")
    else:
        advice = (f"lower the learning rates (now {rates}) with --set, then --resume; or set "
                  "train.on_non_finite=rollback")
    return (stopped + f"The last good checkpoint is step {last} in {checkpoint_dir} (its values were checked finite "
            f"before it was written): {advice}")


def _flat(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# Fields that change how long a run trains, not what a checkpoint holds.
_LENGTH_FIELDS = ("pipeline", "train.steps", "train.epochs")


def _config_changes(run_dir: Path, config: Config) -> str:
    """What to do about a checkpoint that does not fit: the fields of ``config`` that differ
    from the run's own ``config.json`` (a ``--set`` given with ``--resume``), named."""
    try:
        saved = _flat(json.loads((run_dir / "config.json").read_text()))
    except (OSError, ValueError):
        saved = {}
    current = _flat(config.to_dict())
    changed = [
        f"{key} {saved.get(key)!r} -> {current.get(key)!r}" for key in sorted(set(saved) | set(current))
        if key not in _LENGTH_FIELDS and saved.get(key) != current.get(key)
    ]
    where = f"The config differs from the run's in {', '.join(changed)}. " if changed else ""
    return (
        f"{where}Nothing was moved or changed: resume without the --set that changes the networks or optimizers, "
        f"or start a new run (--out NEW_DIR; --init-from {run_dir} keeps the trained weights when the networks keep "
        "their shapes)"
    )


def _refuse_a_restart(run_dir: Path) -> None:
    """``--resume`` found no usable checkpoint: training from step 0 would silently replace a
    run that had trained. Refused when its checkpoints were quarantined or ``run.json``
    records one; a run stopped before its first checkpoint starts again from step 0."""
    quarantined = rundir.quarantined_steps(run_dir / "checkpoints")
    try:
        recorded = json.loads((run_dir / "run.json").read_text()).get("last_checkpoint_step")
    except (OSError, ValueError):
        recorded = None
    if not quarantined and recorded is None:
        return
    left = (f"{len(quarantined)} checkpoint(s) that could not be restored are in {run_dir / 'checkpoints' / rundir.BROKEN} "
            f"({', '.join(quarantined)})" if quarantined else
            f"run.json records a checkpoint at step {recorded}, but {run_dir / 'checkpoints'} holds none")
    raise RunDirError(
        f"--resume: {run_dir} has no usable checkpoint, and training would restart it from step 0. {left}. "
        "Nothing was changed: restore the files by hand, or start a new run with another --out"
    )


def _latest_step(manager: tf.train.CheckpointManager) -> int | None:
    return int(manager.latest_checkpoint.rsplit("-", 1)[1]) if manager.latest_checkpoint else None


def _fit_with_rollbacks(
    config, model, strategy, source, checkpoint, manager, evaluator, write_dir, steps, start_step, info,
    progress_stream,
) -> RunState:
    """``fit`` from ``start_step`` to ``steps``; with ``train.on_non_finite = rollback``, a
    non-finite stop restores the last checkpoint (finite: checked before it was written),
    multiplies both learning rates by ``train.rollback_factor`` and continues from there, at
    most ``train.max_rollbacks`` times; each rollback is logged in metrics.jsonl and run.json."""
    writer = tf.summary.create_file_writer(str(write_dir / "tensorboard"))
    images_per_step = config.train.batch_size * config.train.discriminator_steps
    replicas = strategy.num_replicas_in_sync
    while True:
        state = RunState(total_steps=steps, images_per_step=images_per_step, start_step=start_step)
        state.step = start_step
        if start_step >= steps:
            return state
        callbacks = run_callbacks(
            state, write_dir, writer, manager, sample_renderer(config, source, model),
            config.train.log_every, config.train.checkpoint_every, config.sampling.every,
            progress_stream or sys.stderr,
            extra=tuple(_evaluation_callbacks(config, evaluator, state, checkpoint, writer, write_dir)),
            non_finite_check_every=config.train.non_finite_check_every,
            watch=_discriminator_wins_watch(config, model, write_dir, info),
        )
        dataset = make_train_dataset(
            source, config.train.batch_size, config.train.discriminator_steps,
            model.noise_dim, config.seed, start_step, batch_type=model.batch_type,
        )
        with _interrupts_request_stop(state):
            if is_multi_worker(strategy):
                fit_multi_worker(model, strategy, dataset, steps - start_step, callbacks)
            else:
                # Keras' multi-step execution is not supported under MirroredStrategy here.
                model.steps_per_execution = config.train.steps_per_execution if replicas == 1 else 1
                # Finite, so that the last execution stops at the last step, not N past it.
                model.fit(
                    dataset.take(steps - start_step), epochs=1, steps_per_epoch=steps - start_step,
                    shuffle=False, verbose=0, callbacks=callbacks,
                )
        writer.flush()
        rollbacks = info["rollbacks"]
        last = _latest_step(manager)
        if (state.stop_reason != "non_finite" or config.train.on_non_finite != "rollback"
                or len(rollbacks) >= config.train.max_rollbacks or last is None):
            return state
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        for which in (config.optimizer.generator, config.optimizer.discriminator):
            which.learning_rate *= config.train.rollback_factor
        _apply_learning_rates(model, config)
        # Logged at the step training continues from: the lines past it are redone.
        event = {
            "step": last, "at_step": state.step, "rollback": len(rollbacks) + 1, "to_step": last,
            "non_finite": state.non_finite,
            "learning_rates": [config.optimizer.generator.learning_rate, config.optimizer.discriminator.learning_rate],
        }
        rollbacks.append(event)
        log.warning(
            "non-finite values at step %d: rolled back to step %d, learning rates x%g (rollback %d of %d)",
            state.step, last, config.train.rollback_factor, len(rollbacks), config.train.max_rollbacks,
        )
        _keep_metrics_up_to(write_dir / "metrics.jsonl", last)
        with (write_dir / "metrics.jsonl").open("a") as handle:
            handle.write(json.dumps(event) + "\n")
        save_config(config, write_dir / "config.json")
        _write_run_json(write_dir, info)
        start_step = int(model.step.numpy())


def init_networks(model: keras.Model, other_run: Path) -> None:
    """Start from another run's trained networks (fine-tuning, what StyleGAN2-ADA and
    StudioGAN users do most with small data): every network and EMA copy of ``model`` takes
    the weights of ``other_run``'s latest checkpoint; the optimizers and the step start
    fresh. Networks that differ are refused with the first mismatching layer named."""
    other_run = Path(other_run)
    checkpoint = tf.train.latest_checkpoint(str(other_run / "checkpoints"))
    if not (other_run / "config.json").is_file() or not (other_run / "run.json").is_file() or checkpoint is None:
        raise RunDirError(f"--init-from {other_run}: not a run with a checkpoint (config.json, run.json, checkpoints/)")
    policy = keras.mixed_precision.global_policy()
    try:
        other = build_run_model(other_run)[0]
    finally:
        keras.mixed_precision.set_global_policy(policy)
    networks = {name: value for name, value in model.checkpoint_objects().items() if isinstance(value, keras.Model)}
    theirs = {name: value for name, value in other.checkpoint_objects().items() if isinstance(value, keras.Model)}
    tf.train.Checkpoint(**theirs).restore(checkpoint).expect_partial()
    for name, network in networks.items():
        source = theirs.get(name) or theirs.get(name.removeprefix("ema_"))
        if source is None:
            raise RunDirError(f"--init-from {other_run}: it has no network {name!r} (it has {sorted(theirs)})")
        ours, their_weights = network.weights, source.weights
        for mine, other_weight in zip(ours, their_weights):
            if tuple(mine.shape) != tuple(other_weight.shape):
                raise RunDirError(
                    f"--init-from {other_run}: {name} differs at {mine.path}: shape {tuple(mine.shape)} here, "
                    f"{tuple(other_weight.shape)} in that run (the same architecture and data shape are needed)"
                )
        if len(ours) != len(their_weights):
            raise RunDirError(f"--init-from {other_run}: {name} has {len(ours)} weights here, {len(their_weights)} there")
        for mine, other_weight in zip(ours, their_weights):
            mine.assign(other_weight)
    log.info("networks initialised from %s (%s); optimizers and step start fresh", checkpoint, ", ".join(networks))


def check_batch_fits(config: Config, element_shape: tuple[int, ...]) -> None:
    """Refuse, before anything is allocated, a batch whose inputs alone would take more
    than half of this machine's memory (a batch of 10^8 once ended in a segmentation fault;
    ``data.image_size = 100000`` is checked before the images are resized)."""
    element = int(np.prod(element_shape))
    per_step = config.train.batch_size * (config.train.discriminator_steps + 1) * (element + 1024) * 4
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    if per_step > memory // 2:
        raise ValueError(
            f"train.batch_size {config.train.batch_size} of {'x'.join(map(str, element_shape))} examples: one step's "
            f"inputs alone need about {per_step / 2**30:.1f} GiB, more than half of this machine's "
            f"{memory / 2**30:.1f} GiB; choose a smaller batch or data.image_size"
        )


def weights_fingerprint(model: keras.Model) -> str:
    """SHA-256 of every network weight: equal on all workers of a run, and between runs
    that trained identically."""
    return weights_sha256(*(value for value in model.checkpoint_objects().values() if isinstance(value, keras.Model)))


def fit_multi_worker(
    model: keras.Model, strategy: tf.distribute.Strategy, dataset: tf.data.Dataset, steps: int, callbacks: list
) -> None:
    """``fit`` for MultiWorkerMirroredStrategy, where Keras 3's own fails
    (keras-team/keras#20585): the same ``train_step`` through ``strategy.run``, the same
    callbacks. Each worker reads its replicas' slices of the same global batches, so the
    run equals a single-process run on the whole batch."""
    replicas = strategy.num_replicas_in_sync

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * local

        def this_workers_slices(batch):
            per_replica = tf.nest.map_structure(
                lambda value: tf.reshape(value, [replicas, -1, *value.shape[1:]])[first : first + local], batch
            )
            return tf.data.Dataset.from_tensor_slices(per_replica)

        return dataset.flat_map(this_workers_slices)

    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    batches = iter(strategy.distribute_datasets_from_function(dataset_fn, options))

    @tf.function
    def step(batch):
        strategy.run(model.train_step, args=(batch,))
        # The logs, read in the same graph as fit() does: no eager ops per step.
        return {metric.name: metric.result() for metric in model.metrics}

    callback_list = keras.callbacks.CallbackList(callbacks, model=model)
    model.stop_training = False
    callback_list.on_train_begin()
    for index in range(steps):
        callback_list.on_train_batch_end(index, step(next(batches)))
        if model.stop_training:
            break
    callback_list.on_train_end()


def _make_evaluator(config: Config, source: Source, noise_dim: int):
    if not config.evaluation.every:
        return None
    return GeneratorEvaluator(config, source, noise_dim)


def _evaluation_callbacks(config, evaluator, state, checkpoint, writer, run_dir) -> list:
    if evaluator is None:
        return []
    best = tf.train.CheckpointManager(checkpoint, str(run_dir / "checkpoints" / BEST_DIR), max_to_keep=1)
    return [PeriodicEvaluation(
        state, evaluator, config.evaluation.every, writer, run_dir / "metrics.jsonl", best,
    )]


def _discriminator_wins_watch(config, model, run_dir, info) -> DiscriminatorWinsWatch | None:
    """The watch of ``train.discriminator_wins_warning_steps``, where the family's d_loss has
    a separation level; its report is logged and kept in run.json's ``warnings``."""
    level = model.discriminator_separated_below()
    patience = config.train.discriminator_wins_warning_steps
    if level is None or not patience:
        return None

    def report(step: int, since: int, d_loss: float) -> None:
        penalties = f"loss.r1_weight {config.loss.r1_weight}, loss.r2_weight {config.loss.r2_weight}"
        message = (
            f"D has told every real image from every generated one since step {since} (d_loss under {level} "
            f"in most log windows; {d_loss:.4f} in the last): G seldom recovers from this. Raise the gradient penalties "
            f"({penalties}), lower optimizer.discriminator.learning_rate "
            f"({config.optimizer.discriminator.learning_rate:g}) or set train.augment (e.g. translation,cutout), and start again"
        )
        log.warning("warning at step %d: %s", step, message)
        info.setdefault("warnings", []).append({"step": step, "discriminator_wins_since": since, "message": message})
        _write_run_json(run_dir, info)

    return DiscriminatorWinsWatch(level, patience, report)


class _interrupts_request_stop:
    """Ctrl-C (SIGINT) or SIGTERM asks the callbacks to checkpoint and stop after the
    current step; a second Ctrl-C interrupts at once."""

    def __init__(self, state: RunState):
        self.state = state

    def __enter__(self):
        self.previous = {}
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may install signal handlers
        self.previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def request_stop(signum, frame):
            if self.state.interrupt_requested:
                raise KeyboardInterrupt
            self.state.interrupt_requested = True
            print("\nstopping after this step: writing a checkpoint (Ctrl-C again to abort)",
                  file=sys.stderr, flush=True)

        for sig in self.previous:
            signal.signal(sig, request_stop)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False
