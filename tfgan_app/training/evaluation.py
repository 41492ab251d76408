"""Evaluation while training: a metric every N steps, logged, and the best checkpoint kept.

Real-data features are computed once at the start (the expensive half of FID); each
evaluation then generates ``num_samples`` images from a fixed noise batch and compares.
The best value survives a resume through ``checkpoints/best/best.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.data import TOY_DISTRIBUTIONS, Source
from tfgan_app.data.pipeline import stream_seed
from tfgan_app.metrics.features import classifier_folder, load_domain_classifier
from tfgan_app.metrics.report import LOWER_IS_BETTER, image_rows, in_batches, real_subset, toy_measure_name, toy_rows
from tfgan_app.training.callbacks import RunState, StepCallback

_EVALUATION_NOISE, _EVALUATION_REAL = 5, 6
BEST_DIR = "best"


def default_metric(source: Source) -> str:
    if source.sampler is None:
        return "fid"
    return "ks_statistic" if source.element_shape == (1,) else "reverse_kl"


class GeneratorEvaluator:
    """Callable: generate (noise -> samples) -> {metric: value} on a fixed noise batch."""

    def __init__(self, config: Config, source: Source, noise_dim: int):
        self.metric = config.evaluation.metric or default_metric(source)
        count = config.evaluation.num_samples
        self.z = tf.random.stateless_normal(
            [count, noise_dim], stream_seed(config.seed, _EVALUATION_NOISE, 0)
        )
        self.toy = TOY_DISTRIBUTIONS.get(config.data.name) if source.sampler is not None else None
        if self.toy is not None:
            self.reference = source.sampler(stream_seed(config.seed, _EVALUATION_REAL, 0), 20_000).numpy()
            return
        folder = classifier_folder(config.data.name, config.evaluation.classifier)
        self.extractor, _ = load_domain_classifier(folder)
        self.real_features = self.extractor.run(real_subset(source.images, count, config.seed))[0]

    @property
    def measured_by(self) -> str:
        """The extractor the metrics name (run.json records it: periodic FIDs compare only
        under the same classifier)."""
        return toy_measure_name(self.toy) if self.toy is not None else self.extractor.name

    def __call__(self, generate) -> dict[str, float]:
        samples = in_batches(lambda chunk: generate(chunk).numpy(), self.z)
        if self.toy is not None:
            rows = toy_rows(samples, self.toy, self.reference)
        else:
            # Precision/recall are O(N^2): kept for the evaluate command, not every N steps.
            rows = image_rows(self.real_features, samples, self.extractor, precision_and_recall=False)
        return {entry["metric"]: entry["value"] for entry in rows}


def is_better(metric: str, value: float, best: float | None) -> bool:
    if best is None or not np.isfinite(best):
        return bool(np.isfinite(value))
    return value < best if metric in LOWER_IS_BETTER else value > best


class PeriodicEvaluation(StepCallback):
    """Every ``every`` steps: evaluate, log to the JSONL and TensorBoard (``eval/<metric>``),
    and save the checkpoint to ``checkpoints/best/`` when the chosen metric improves."""

    def __init__(self, state: RunState, evaluator: GeneratorEvaluator, every: int, writer, jsonl_path: Path,
                 best_manager: tf.train.CheckpointManager):
        super().__init__(state)
        self.evaluator, self.every, self.writer, self.jsonl_path = evaluator, every, writer, jsonl_path
        self.best_manager = best_manager
        self.best_path = Path(best_manager.directory) / "best.json"
        self.best = None
        if self.best_path.is_file():
            previous = json.loads(self.best_path.read_text())
            # A resumed run evaluating another metric starts its own record.
            if previous["metric"] == evaluator.metric:
                self.best = previous["value"]

    def on_step_end(self, step, logs):
        if not self.due(step, self.every) or self.state.stop_reason == "non_finite":
            return
        values = self.evaluator(self.model.generate)
        with self.jsonl_path.open("a") as handle:
            # Strict JSON: an infinite reverse KL (no high-quality sample) is written as null.
            record = {f"eval_{k}": (v if np.isfinite(v) else None) for k, v in values.items()}
            handle.write(json.dumps({"step": step, **record}) + "\n")
        with self.writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"eval/{name}", value)
        metric = self.evaluator.metric
        if is_better(metric, values[metric], self.best):
            self.best = values[metric]
            self.best_manager.save(checkpoint_number=step)
            self.best_path.write_text(json.dumps({"metric": metric, "value": self.best, "step": step}) + "\n")
