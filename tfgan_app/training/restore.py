"""A run's model back from its directory: rebuilt from ``config.json`` and ``run.json``,
its networks restored from a checkpoint. Used by the trainer (``--init-from``), the exporter,
``evaluate`` and the benchmarks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.gans.build import build_model
from tfgan_app.gans.registry import load_config
from tfgan_app.training.evaluation import BEST_DIR
from tfgan_app.training.rundir import BROKEN, RunDirError, checkpoint_steps, quarantined_steps


def build_run_model(run_dir: Path) -> tuple[keras.Model, Config, dict]:
    """(a freshly built float32 model of the run's family and networks, its config, its
    run.json). Weights are float32 whatever the training precision, so exports and
    fine-tuning start from float32 networks."""
    config = load_config(str(Path(run_dir) / "config.json"))
    info = json.loads((Path(run_dir) / "run.json").read_text())
    float32 = dataclasses.replace(config, train=dataclasses.replace(config.train, precision="float32"))
    model = build_model(float32, tuple(info["element_shape"]), info.get("num_classes", 0),
                        class_names=tuple(info.get("class_names", [])))
    return model, config, info


def load_run_model(run_dir: Path, which: str = "latest") -> tuple[keras.Model, Config, int, dict]:
    """(the run's family model with its deployed networks restored from the latest or best
    checkpoint, or the one of a step number, config, step, run info). Only what is exported
    and sampled is restored."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or not (run_dir / "run.json").is_file():
        raise RunDirError(f"{run_dir} is not a run directory (no config.json / run.json)")
    which = str(which)
    if which not in ("latest", "best") and not which.isdigit():
        raise RunDirError(f"checkpoint must be 'latest', 'best' or a step number, got {which!r}")
    folder = run_dir / "checkpoints"
    if which == "best":
        folder = folder / BEST_DIR
    if which.isdigit():
        checkpoint = str(folder / f"ckpt-{int(which)}")
        if not Path(checkpoint + ".index").is_file():
            raise RunDirError(f"{run_dir} has no checkpoint at step {int(which)}; it has steps "
                              f"{sorted(checkpoint_steps(folder)) or 'none'}")
    else:
        checkpoint = tf.train.latest_checkpoint(str(folder))
    if checkpoint is None and which == "best":
        raise RunDirError(f"{run_dir} has no best checkpoint: it was trained without evaluation.every")
    if checkpoint is None:
        quarantined = quarantined_steps(run_dir / "checkpoints")
        if quarantined:
            raise RunDirError(
                f"{run_dir} has no usable checkpoint to export: its checkpoints ({', '.join(quarantined)}) could not be "
                f"restored and are in {run_dir / 'checkpoints' / BROKEN}; restore them by hand or train a new run"
            )
        raise RunDirError(f"{run_dir} has no checkpoint to export; train it first")
    model, config, info = build_run_model(run_dir)
    # Only the networks that are deployed: the optimizers may differ (a LossScaleOptimizer
    # under float16), and a change to the discriminator's layers must not block an export.
    # A checkpointed network is restored when it holds a variable of a deployed network: the
    # deployed network is it, or is composed of some (DANN's classifier = extractor + label
    # classifier; EGBAD's scorer = encoder + generator + discriminator; a style-based
    # generator's mapping and synthesis), or steps its layers (the language model's sampler).
    deployed = {id(variable) for network in model.exports().values() for variable in network.weights}
    networks = {
        name: value for name, value in model.checkpoint_objects().items()
        if isinstance(value, keras.Model) and any(id(variable) in deployed for variable in value.weights)
    }
    if not networks:
        raise RunDirError(f"{run_dir}: none of the checkpointed networks is part of what {config.model.family!r} exports")
    status = tf.train.Checkpoint(**networks).restore(checkpoint)
    status.assert_existing_objects_matched().expect_partial()
    if config.export.standing_statistics:
        model.refresh_sampling_statistics(config.export.standing_statistics, config.train.batch_size, config.seed)
    return model, config, int(checkpoint.rsplit("-", 1)[1]), info
