"""One quality table: train shipped pipelines at their default budgets and measure each the
way its kind is measured, beside the figure committed for it before.

    python benchmarks/quality.py [--only fashion_mnist_cgan fashion_mnist_wgan ...]
        [--out runs/quality] [--num 10000] [--steps N] [--json F]

Each pipeline trains through the same trainer as ``python -m tfgan_app.train`` (export
off) into ``--out/<pipeline>``, then is measured at the checkpoint the pipeline exports
(``export.checkpoint``: its last, or the best one its periodic evaluation kept) on the
Fashion-MNIST test split with the domain classifier (``python -m tfgan_app.evaluate
train-classifier``):
- noise-to-image families: FID of ``--num`` samples (and KID), and FID as a multiple of the
  default pipeline's when it is in the same table (issue 18's target: at most 2x);
- pix2pix: FID of its outputs for the test edge maps; CycleGAN: FID of A -> B;
- the semi-supervised GAN: the classifier's test accuracy.
``previous`` is the figure in ``benchmarks/quality.json`` (where it came from is noted
there); ``change`` is new against previous, computed only where the figure was measured with
this machine's domain classifier (the SHA-256 of its weight arrays recorded beside the
figure; figures before session 27 recorded the SHA-256 of the classifier's file, which
never matches): the classifier is retrained per machine, its weights differ with the CPU's
rounding, and its FIDs with them (the same run scored 88.0 and 56.7 under two of them,
RESULTS session 15). Other figures are
printed with ``*`` and no change. ``--steps`` overrides every budget (a smoke
run: the figures then do not compare with ``previous``). ``--reuse`` measures a run already
in ``--out/<pipeline>`` instead of training it again, when it completed with exactly the
config this command would train (its saved ``config.json`` against the pipeline's resolved
config); any other run there is retrained. The other pipelines (toys,
applications, emoji) have their own benchmark scripts; they are refused here by name.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PREVIOUS = Path(__file__).resolve().parent / "quality.json"
DEFAULT = "fashion_mnist_dcgan"
# The pipelines this table measures, by the figure that judges them.
MEASURED = {
    "fashion_mnist_dcgan": "fid", "fashion_mnist_cgan": "fid", "fashion_mnist_acgan": "fid",
    "fashion_mnist_wgan": "fid", "fashion_mnist_wgan_gp": "fid", "fashion_mnist_lsgan": "fid",
    "fashion_mnist_hinge_sn": "fid", "fashion_mnist_infogan": "fid", "fashion_mnist_pix2pix": "fid",
    "fashion_mnist_cyclegan": "fid_a2b", "fashion_mnist_ssgan": "test_accuracy",
    "fashion_mnist_biggan": "fid", "fashion_mnist_r3gan": "fid", "fashion_mnist_stylegan": "fid",
    "fashion_mnist_progressive": "fid", "fashion_mnist_best": "fid",
}


def quality_row(pipeline: str, run_dir: Path, measurement, num: int) -> dict:
    """(pipeline, steps, seconds, metric, value) of a trained run."""
    from benchmarks.families import load_shipped_model, measure_run

    metric = MEASURED[pipeline]
    if metric == "test_accuracy":
        from tfgan_app.data import to_model_range
        from tfgan_app.metrics.applications import accuracy

        model, _, step, run = load_shipped_model(run_dir)
        test = measurement.test_source
        value = accuracy(model.classify, to_model_range(test.images).numpy(), test.labels)
        return {"pipeline": pipeline, "steps": step, "train_seconds": run.get("wall_time_s"), "metric": metric, "value": value}
    row = measure_run(run_dir, measurement, num)
    return {"pipeline": pipeline, "steps": row["steps"], "train_seconds": row["train_seconds"], "metric": metric,
            "value": row[metric]}


def previous_figure(entry: dict, metric: str, classifier: str) -> tuple[float | None, bool]:
    """(the committed figure for ``metric``, whether it compares with a measurement by the
    classifier of SHA-256 ``classifier``): a test accuracy always does; a feature-based
    figure only when it records that classifier."""
    value = entry.get(metric)
    if value is None:
        return None, False
    return value, metric == "test_accuracy" or entry.get("classifier") == classifier


def reusable(pipeline: str, run_dir: Path, overrides: list[str]) -> bool:
    """Whether ``run_dir`` holds a completed run of exactly what ``train_run(pipeline, run_dir,
    overrides)`` would train: same resolved config, every field."""
    from tfgan_app.config import load_config
    from tfgan_app.gans.build import resolve_precision

    run, saved = run_dir / "run.json", run_dir / "config.json"
    if not (run.exists() and saved.exists()) or json.loads(run.read_text()).get("status") != "completed":
        return False
    expected = load_config(pipeline, ["export.enabled=false", *overrides]).to_dict()
    # A run records the precision it resolved "auto" to.
    expected["train"]["precision"] = resolve_precision(expected["train"]["precision"])
    return json.loads(saved.read_text()) == json.loads(json.dumps(expected))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="PIPELINE", help=f"a subset of: {', '.join(MEASURED)}")
    parser.add_argument("--out", type=Path, default=Path("runs/quality"))
    parser.add_argument("--num", type=int, default=10_000)
    parser.add_argument("--steps", type=int, help="override every budget (smoke runs)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure runs already in --out trained with exactly the pipeline's config")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pipelines = args.only or list(MEASURED)
    unknown = [name for name in pipelines if name not in MEASURED]
    if unknown:
        print(f"error: {', '.join(unknown)}: not measured by this table; choose from {', '.join(MEASURED)} "
              "(toys: benchmarks/toy_modes.py, applications: benchmarks/applications.py, emoji: benchmarks/emoji.py)",
              file=sys.stderr)
        return 2

    from benchmarks.applications import train_run
    from benchmarks.families import Measurement

    previous = json.loads(PREVIOUS.read_text())["figures"]
    measurement = Measurement()
    overrides = [] if args.steps is None else [f"train.steps={args.steps}", "train.epochs=0"]
    rows, started = [], time.perf_counter()
    for pipeline in pipelines:
        if args.reuse and reusable(pipeline, args.out / pipeline, overrides):
            print(f"{pipeline}: measuring the completed run in {args.out / pipeline} (same config)", flush=True)
        else:
            train_run(pipeline, args.out / pipeline, overrides)
        row = quality_row(pipeline, args.out / pipeline, measurement, args.num)
        before, comparable = previous_figure(previous.get(pipeline, {}), row["metric"], measurement.info["weights_sha256"])
        row.update(previous=before, previous_other_classifier=before is not None and not comparable,
                   change=row["value"] - before if comparable else None, classifier=measurement.info["weights_sha256"])
        rows.append(row)
    default_fid = next((row["value"] for row in rows if row["pipeline"] == DEFAULT), None)
    header = f"{'pipeline':<26} {'steps':>6} {'train s':>8} {'metric':<14} {'value':>9} {'previous':>9} {'change':>9} {'x default':>9}"
    print(header)
    for row in rows:
        ratio = row["value"] / default_fid if default_fid and row["metric"].startswith("fid") else None
        row["times_default"] = ratio
        cells = [f"{row['value']:9.3f}"] + [f"{value:9.3f}" if value is not None else f"{'-':>9}"
                                            for value in (row["previous"], row["change"], ratio)]
        if row["previous_other_classifier"]:
            cells[1] = f"{row['previous']:8.3f}*"
        print(f"{row['pipeline']:<26} {row['steps']:>6} {row['train_seconds'] or 0:>8.0f} {row['metric']:<14} {' '.join(cells)}")
    if any(row["previous_other_classifier"] for row in rows):
        print(f"* measured with another domain classifier than this one (weights {measurement.info['weights_sha256'][:12]}...): "
              "a different scale, so no change is given")
    print(f"({time.perf_counter() - started:.0f} s in all; {args.num} samples per FID"
          + ("; smoke budgets: do not compare with previous" if args.steps else "") + ")")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"steps_override": args.steps, "num": args.num, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
