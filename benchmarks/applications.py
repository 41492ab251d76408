"""The applications' tables: each trains its pipeline (in this process, through the same
trainer as ``python -m tfgan_app.train``) and measures it on held-out data against the
baseline its task is read against.

    python benchmarks/applications.py TASK [--steps N] [--out runs/applications] [--json F]

TASK is one of
- ``super_resolution``: fashion_mnist_srgan at x2 and x4 (and x4 with the perceptual loss
  when the domain classifier is cached); PSNR/SSIM on the 10,000 test images vs bicubic
  upsampling;
- ``inpainting``: fashion_mnist_inpainting; L1 and PSNR inside the holes of the test
  images vs the blur fill;
- ``adaptation``: target-domain (and source) test accuracy of source-only training
  (fashion_mnist_dann with adaptation_weight 0), DANN and ADDA;
- ``anomaly``: fashion_mnist_anomaly (``--methods``: EGBAD and the autoencoder baseline,
  the same encoder, decoder and steps, scored by reconstruction error); ``--protocol
  one_class``: each class in turn is the only normal class and the nine others the
  anomalies; ``leave_out``: each class in turn is the anomaly (10% of the test split);
  AUROC and AUPRC on the test split, and their means;
- ``semi_supervised``: fashion_mnist_ssgan with 100 and 1,000 labels (10 / 100 per class;
  ``--labels`` picks either; each ``--label-seeds`` draw) against the same classifier
  trained on those labelled examples alone (``ssgan.unsupervised_weight=0``) for the same
  steps; accuracy on the 10,000 test images;
- ``spade``: fashion_mnist_spade; for the label maps of the 10,000 test images, the FID of
  the generated images against the test images and how well they respect their maps (the
  map recomputed from each output: pixel accuracy, mean IoU), beside the map drawn as flat
  grey levels (respects it by construction) and the same generator untrained;
- ``text2image``: emoji_text2image; for each held-out name (the emoji test split, 379), one
  image from the name; retrieval by the emoji domain classifier's features: the rank of the
  named emoji's real image among all test images by distance to the generated one (top-1,
  top-5, median rank), beside the same generator given another example's name (what an
  unconditional model scores: chance);
- ``sequence``: sines_sequence and sines_timegan (the TimeGAN options); TimeGAN's
  discriminative and predictive scores of 3,000 generated sequences vs 3,000 fresh real
  ones (mean and standard deviation over ``--score-repeats`` post-hoc networks), beside an
  untrained generator and the real data's own predictive score; and the mean |correlation|
  between the features (``feature_correlation``: the sines' are independent, and a
  generator whose features move together loses predictive score).
``--steps`` overrides the pipelines' train.steps (ADDA's pretrain_steps become 2/3 of it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def train_run(pipeline: str, out: Path, overrides: list[str]) -> tuple[object, dict]:
    """Train ``pipeline`` into ``out`` (replacing it); (the restored model, its run.json)."""
    from tfgan_app.gans.registry import load_config
    from tfgan_app.training.restore import load_run_model
    from tfgan_app.training.trainer import train

    shutil.rmtree(out, ignore_errors=True)
    config = load_config(pipeline, ["export.enabled=false", *overrides])
    result = train(config, out, progress_stream=open(os.devnull, "w"))
    if result.status != "completed":
        raise RuntimeError(f"{pipeline}: {result.message}")
    model, _, _, info = load_run_model(out)
    return model, info


def test_images(labels: bool = False, name: str = "fashion_mnist"):
    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source, to_model_range

    source = load_source(DataConfig(name=name, split="test"))
    images = to_model_range(source.images).numpy()
    return (images, source.labels, source.class_names) if labels else images


def steps_overrides(steps: int | None) -> list[str]:
    return [] if steps is None else [f"train.steps={steps}"]


def super_resolution(args) -> list[dict]:
    from tfgan_app.metrics.applications import super_resolution_scores

    from tfgan_app.metrics.features import classifier_folder

    images, rows = test_images(), []
    variants = [("x2", 2, []), ("x4", 4, [])]
    if (classifier_folder("fashion_mnist") / "classifier.json").is_file():
        variants.append(("x4 + perceptual", 4, [f"loss.perceptual_weight={args.perceptual_weight}"]))
    for name, scale, extra in variants:
        run_dir = args.out / ("srgan_" + name.replace(" + ", "_").replace(" ", "_"))
        model, info = train_run("fashion_mnist_srgan", run_dir, [f"srgan.scale={scale}", *extra, *args.overrides])
        scores = super_resolution_scores(lambda low: model.generator(low, training=False), images, scale)
        rows.append({"scale": name, **scores, "steps": info["step"], "train_s": info["wall_time_s"]})
    return rows


def inpainting(args) -> list[dict]:
    from tfgan_app.metrics.applications import inpainting_scores

    model, info = train_run("fashion_mnist_inpainting", args.out / "inpainting", args.overrides)
    fraction = model_config(args.out / "inpainting").family_settings.mask_fraction
    scores = inpainting_scores(lambda holed, masks: model.generator([holed, masks], training=False), test_images(), fraction)
    return [{"mask_fraction": fraction, **scores, "steps": info["step"], "train_s": info["wall_time_s"]}]


def model_config(run_dir: Path):
    from tfgan_app.gans.registry import load_config

    return load_config(str(run_dir / "config.json"))


def adaptation(args) -> list[dict]:
    from tfgan_app.metrics.applications import accuracy, shifted_test_set

    images, labels, _ = test_images(labels=True)
    source, target = shifted_test_set(images)
    adda = [] if args.steps is None else [f"adda.pretrain_steps={2 * args.steps // 3}"]
    variants = [
        ("source only", "fashion_mnist_dann", ["dann.adaptation_weight=0"]),
        ("DANN", "fashion_mnist_dann", []),
        ("ADDA", "fashion_mnist_adda", adda),
    ]
    rows = []
    for name, pipeline, extra in variants:
        model, info = train_run(pipeline, args.out / name.replace(" ", "_").lower(), [*args.overrides, *extra])

        def probabilities(batch):
            return model.deployed(batch, training=False)

        rows.append({
            "method": name, "target_accuracy": accuracy(probabilities, target, labels),
            "source_accuracy": accuracy(probabilities, source, labels), "steps": info["step"],
            "train_s": info["wall_time_s"],
        })
    return rows


def semi_supervised(args) -> list[dict]:
    from tfgan_app.metrics.applications import accuracy

    images, labels, _ = test_images(labels=True)
    rows = []
    for per_class in (labels // 10 for labels in args.labels):
        for seed in args.label_seeds:
            for method, weight in (("labelled only", 0), ("semi-supervised GAN", 1)):
                settings = [f"ssgan.labels_per_class={per_class}", f"ssgan.labelled_seed={seed}",
                            f"ssgan.unsupervised_weight={weight}"]
                run = args.out / f"ssgan_{per_class * 10}_seed{seed}_w{weight}"
                model, info = train_run("fashion_mnist_ssgan", run, [*settings, *args.overrides])
                rows.append({
                    "labels": per_class * 10, "label_seed": seed, "method": method,
                    "test_accuracy": accuracy(model.classify, images, labels), "steps": info["step"],
                    "train_s": info["wall_time_s"],
                })
    return rows


def anomaly(args) -> list[dict]:
    """One row per (method, class): ``--protocol one_class`` trains on that class alone and
    scores every other test image as an anomaly (chance: AUROC 0.5, AUPRC 0.9);
    ``leave_out`` trains on the nine others and scores that class (chance AUPRC 0.1)."""
    from tfgan_app.metrics.applications import auprc, auroc
    from tfgan_app.metrics.report import in_batches

    images, labels, class_names = test_images(labels=True)
    setting = {"one_class": "normal_class", "leave_out": "anomaly_class"}[args.protocol]
    rows = []
    for method in args.methods:
        method_rows = []
        for index, name in enumerate(class_names):
            overrides = [f"anomaly.{setting}={index}", f"anomaly.method={method}", *args.overrides]
            if args.protocol == "one_class":
                overrides.append('anomaly.anomaly_class=""')
            model, info = train_run("fashion_mnist_anomaly", args.out / f"anomaly_{args.protocol}_{method}_{index}", overrides)
            scores = in_batches(lambda chunk: model.score(chunk).numpy(), images, batch=1000)
            is_anomaly = labels != index if args.protocol == "one_class" else labels == index
            method_rows.append({
                "method": method, "class": name, "auroc": auroc(scores, is_anomaly), "auprc": auprc(scores, is_anomaly),
                "steps": info["step"], "train_s": info["wall_time_s"],
            })
            print(method_rows[-1], flush=True)
        method_rows.append({
            "method": method, "class": "mean", "auroc": float(np.mean([row["auroc"] for row in method_rows])),
            "auprc": float(np.mean([row["auprc"] for row in method_rows])), "steps": method_rows[0]["steps"],
            "train_s": round(sum(row["train_s"] for row in method_rows), 1),
        })
        rows += method_rows
    return rows


def sequence(args) -> list[dict]:
    import tensorflow as tf

    from tfgan_app.data.tasks import sine_waves
    from tfgan_app.metrics.sequence import discriminative_score, feature_correlation, predictive_score

    count = 3000
    trained = []
    for name, pipeline in (("recurrent GAN (tfgan_app)", "sines_sequence"), ("TimeGAN options (tfgan_app)", "sines_timegan")):
        if pipeline in args.skip:
            continue
        model, info = train_run(pipeline, args.out / pipeline, args.overrides)
        length, features = info["element_shape"]
        noise = tf.random.stateless_normal([count, model.noise_dim], tf.constant([5, 6], tf.int64))
        trained.append((name, model.generate(noise).numpy(), info["step"], info["wall_time_s"]))
        if pipeline == "sines_sequence":
            untrained = build_untrained(args.out / pipeline, info).generate(noise).numpy()
    real = sine_waves(tf.constant([123, 4], tf.int64), count, length, features).numpy()
    rows = []
    references = [("real data (reference)", sine_waves(tf.constant([7, 8], tf.int64), count, length, features).numpy(), None, None)]
    if "sines_sequence" not in args.skip:
        references.insert(0, ("untrained generator", untrained, 0, 0.0))
    seeds = range(args.score_repeats)
    for name, data, steps, seconds in (*trained, *references):
        # The post-hoc GRUs' own training varies (one seed's discriminative score of the same
        # samples ranged 0.01-0.19): as TimeGAN's Table 2, the mean and spread over repeats.
        discriminative = [discriminative_score(real, data, iterations=args.score_iterations, seed=seed) for seed in seeds]
        predictive = [predictive_score(data, real, iterations=args.score_iterations, seed=seed) for seed in seeds]
        rows.append({
            "data": name, "discriminative": float(np.mean(discriminative)), "discriminative_std": float(np.std(discriminative)),
            "predictive": float(np.mean(predictive)), "predictive_std": float(np.std(predictive)),
            "feature_correlation": feature_correlation(data),
            "steps": steps, "train_s": seconds,
        })
        print(rows[-1], flush=True)
    return rows


def spade(args) -> list[dict]:
    from benchmarks.families import Measurement, fid
    from tfgan_app.data.tasks import map_as_image, segmentation_maps
    from tfgan_app.gans import build_model
    from tfgan_app.metrics.applications import map_agreement
    from tfgan_app.metrics.report import in_batches

    model, info = train_run("fashion_mnist_spade", args.out / "spade", args.overrides)
    untrained = build_model(model_config(args.out / "spade"), tuple(info["element_shape"]))
    measurement, images = Measurement(), test_images()
    maps = segmentation_maps(images).numpy()
    z = np.random.default_rng(0).standard_normal((len(images), model.noise_dim)).astype(np.float32)
    rows = []
    for name, draw, steps in (
        ("SPADE", lambda batch: model.generate(*batch).numpy(), info["step"]),
        ("SPADE untrained", lambda batch: untrained.generate(*batch).numpy(), 0),
        ("the map as flat grey levels", lambda batch: map_as_image(batch[1], model.classes, images.shape[-1]).numpy(), 0),
    ):
        outputs = in_batches(lambda chunk: draw((chunk["z"], chunk["segmentation"])), {"z": z, "segmentation": maps})
        agreement = map_agreement(maps, segmentation_maps(outputs).numpy(), model.classes)
        rows.append({"images from the test maps": name, "fid": fid(measurement.extractor, images, outputs), **agreement,
                     "steps": steps, "train_s": info["wall_time_s"] if steps else 0.0})
    return rows


def text2image(args) -> list[dict]:
    model, info = train_run("emoji_text2image", args.out / "text2image", args.overrides)
    rows = text2image_retrieval(model, model_config(args.out / "text2image").data)
    return [{**row, "steps": info["step"], "train_s": info["wall_time_s"]} for row in rows]


def text2image_retrieval(model, data) -> list[dict]:
    """Retrieval of the held-out (test) emoji by images generated from their names, on the
    pinned emoji extractor: each generated image's rank among all test emoji by feature
    distance to its own name's emoji (top-1, top-5, median), and the same with every image
    generated from another example's name (the chance level)."""
    from tfgan_app.data import to_model_range
    from tfgan_app.data.emoji import emoji_texts, load_emoji
    from tfgan_app.data.sources import emoji_root
    from tfgan_app.metrics.applications import retrieval_ranks
    from tfgan_app.metrics.features import classifier_folder, load_domain_classifier

    images, files, _, _ = load_emoji(emoji_root(data), data.vendor, "test")
    real = to_model_range(images).numpy()
    texts = emoji_texts(emoji_root(data), data.vendor, files)
    extractor, _ = load_domain_classifier(classifier_folder("emoji"))
    real_features = extractor.run(real)[0]
    z = np.random.default_rng(0).standard_normal((len(texts), model.latent_dim)).astype(np.float32)
    rows = []
    for name, prompts in (("from its name", texts), ("from another example's name (chance)", texts[1:] + texts[:1])):
        fake = np.concatenate([model.generate_from_text(z[i : i + 64], prompts[i : i + 64]).numpy() for i in range(0, len(texts), 64)])
        ranks = retrieval_ranks(extractor.run(np.clip(fake, -1, 1))[0], real_features)
        rows.append({"images of the held-out names": name, "top1": float(np.mean(ranks == 0)), "top5": float(np.mean(ranks < 5)),
                     "median_rank": float(np.median(ranks) + 1), "candidates": len(texts), "extractor": extractor.name})
    return rows


def build_untrained(run_dir: Path, info: dict):
    from tfgan_app.gans import build_model

    return build_model(model_config(run_dir), tuple(info["element_shape"]))


TASKS = {
    "super_resolution": super_resolution, "inpainting": inpainting, "adaptation": adaptation,
    "anomaly": anomaly, "sequence": sequence, "semi_supervised": semi_supervised, "spade": spade,
    "text2image": text2image,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--steps", type=int)
    parser.add_argument("--out", type=Path, default=Path("runs/applications"))
    parser.add_argument("--score-iterations", type=int, default=2000, help="TimeGAN scores' post-hoc training")
    parser.add_argument("--score-repeats", type=int, default=5,
                        help="sequence: post-hoc networks trained per score (seeds 0..N-1); the table has their mean and std")
    parser.add_argument("--perceptual-weight", type=float, default=0.01,
                        help="super_resolution: the weight of the x4 + perceptual row (run when the classifier is cached)")
    parser.add_argument("--labels", type=int, nargs="+", default=[100, 1000], choices=[100, 1000],
                        help="semi_supervised: the labelled set sizes (10 or 100 per class)")
    parser.add_argument("--label-seeds", type=int, nargs="+", default=[0],
                        help="semi_supervised: the ssgan.labelled_seed draws of the labelled examples")
    parser.add_argument("--protocol", choices=("one_class", "leave_out"), default="one_class",
                        help="anomaly: one class normal, the rest anomalies (default); or one class left out")
    parser.add_argument("--methods", nargs="+", choices=("egbad", "autoencoder"), default=["egbad", "autoencoder"],
                        help="anomaly: EGBAD and/or the reconstruction autoencoder baseline")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override for every run of the task (as train's --set)")
    parser.add_argument("--skip", nargs="+", default=[], metavar="PIPELINE",
                        help="sequence: leave out sines_sequence or sines_timegan")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.overrides = steps_overrides(args.steps) + args.set
    started = time.perf_counter()
    rows = TASKS[args.task](args)
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(f"{value:.4f}" if isinstance(value, float) else str(value) for value in row.values()))
    print(f"({time.perf_counter() - started:.0f} s in all)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"task": args.task, "steps": args.steps, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
