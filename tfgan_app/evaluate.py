"""``python -m tfgan_app.evaluate``: measure a generator, offline.

    python -m tfgan_app.evaluate --run RUN_DIR | --model saved_models/NAME [--version V]
        [--num N] [--truncation T] [--json F] [--real-floor] [--classifier DIR | --inception-weights F.h5]
    python -m tfgan_app.evaluate train-classifier [--dataset fashion_mnist] [--epochs 8]
    python -m tfgan_app.evaluate score --model saved_models/NAME --input FOLDER [--csv F]

Text generators: the character n-gram JSDs, the dictionary-word share, BLEU-4 and self-BLEU
(``tfgan_app.metrics.text``). Sound generators (the notes pipelines): pitch accuracy, pitch entropy, FID and NDB (K = 50)
on the pinned pitch classifier against the real clips (``tfgan_app.metrics.audio``).
Image generators: FID, KID, classifier score and precision/recall on features of the
project's domain classifier (or InceptionV3 from a local weights file) against the real
test split, and memorisation (the share of samples nearer to a training image than nine in
ten test images are, beside the test images' own share; ``metrics.distances.copying``);
``--real-floor`` adds the same metrics between the train and test splits, the
floor a generator is measured against. Conditional generators add the class agreement (the
fraction of samples the classifier assigns to the class asked for, overall and per class);
InfoGAN adds code-to-class accuracy (each categorical code value mapped to a class by the
best one-to-one mapping), see ``tfgan_app.metrics.conditioning``. ``--truncation`` measures
an export with a truncation input at that value. Toy generators: the PacGAN mode metrics (2-D) or the
KS statistic and Wasserstein-1 distance (1-D). Every number carries the extractor, layer
and sample counts; the table is printed and, with --json, written. ``score`` runs an
exported anomaly scorer over a folder of images and lists the scores.
The applications' task metrics (PSNR/SSIM, hole error, target accuracy, AUROC, TimeGAN's
scores) are in ``tfgan_app.metrics.applications`` / ``.sequence`` and
``benchmarks/applications.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from tfgan_app.config import AUDIO_SOURCES, TEXT_SOURCES, VIDEO_SOURCES
from tfgan_app.inputs import kind_of



class EvaluateError(ValueError):
    pass


# Training images an image generator's samples are searched for copies of (all of
# Fashion-MNIST's 60,000 and of the emoji's; a random subset of a larger set).
MEMORISATION_TRAIN = 60_000


def generator_samples(
    run: Path | None, model: Path | None, version: int | None, num: int, seed: int, truncation: float | None = None,
    checkpoint: str | None = None,
):
    """(samples [num, ...] float32, data config, description, conditions) from a run or an
    export; ``conditions`` holds what each sample was generated for: ``label`` (a
    conditional model) or ``category`` (InfoGAN's categorical code value). ``truncation``
    fills an export's input of that name (BigGAN-style and style-based exports), so the
    fidelity / variety trade-off a deployment would choose can be measured (Brock et al.
    2019, fig. 4a); a run's checkpoint has no such input."""
    from tfgan_app.gans.registry import load_config
    from tfgan_app.metrics.report import in_batches

    if run is not None and truncation is not None:
        raise EvaluateError(f"--truncation is an input of an export, not of a run's checkpoint: export {run} "
                            f"(python -m tfgan_app.export --run {run}) and pass --model")
    if run is not None:
        from tfgan_app.training.restore import load_run_model

        if checkpoint is None and (Path(run) / "config.json").is_file():  # what `export` ships
            checkpoint = json.loads((Path(run) / "config.json").read_text()).get("export", {}).get("checkpoint")
        model, config, step, _ = load_run_model(run, checkpoint or "latest")
        if not hasattr(model, "generate"):
            raise EvaluateError(f"{run} is a {config.model.family} run: evaluate measures noise-to-image generators")
        z = np.random.default_rng(seed).standard_normal((num, model.noise_dim)).astype(np.float32)
        conditions = {}
        if getattr(model, "num_classes", 0):
            # The classes in turn over all the samples, handed to each chunk with its noise
            # (a chunk left to draw its own would start again at class 0).
            conditions["label"] = np.asarray(model.sample_labels(z))
            samples = in_batches(lambda chunk: model.generate(chunk["z"], chunk["label"]).numpy(),
                                 {"z": z, "label": conditions["label"]})
        else:
            samples = in_batches(lambda chunk: model.generate(chunk).numpy(), z)
        if hasattr(model, "codes"):
            conditions["category"] = np.argmax(np.asarray(model.codes(z)[0]), axis=1)
        return samples, config, f"run {run} step {step}", conditions
    from tfgan_app.generate import load_runner, noise_inputs, resolve_version

    version_dir = resolve_version(model, version)
    runner, manifest = load_runner(version_dir, "tf", can_switch=False)
    source_config = Path(manifest["source_run"]) / "config.json"
    if not source_config.is_file():
        raise EvaluateError(f"{version_dir}: its source run {manifest['source_run']} is gone; pass --pipeline for the data")
    inputs, _ = noise_inputs(manifest, num, seed, truncation=truncation)
    samples = in_batches(runner, inputs)
    # What each sample was conditioned on, as its input's kind reads it (a label; a code's category).
    conditions = dict(filter(None, (kind_of(entry).condition(inputs[entry["name"]]) for entry in manifest["inputs"])))
    description = f"export {version_dir} step {manifest['step']}" + ("" if truncation is None else f" truncation {truncation:g}")
    return samples, load_config(str(source_config)), description, conditions


def conditioning_rows(samples: np.ndarray, conditions: dict, extractor, classifier_classes: list[str],
                      data_classes: list[str], num_codes: int) -> list[dict]:
    """Class agreement (conditional models) or code-to-class accuracy (InfoGAN), by the domain
    classifier; nothing when the classifier does not know the data's classes."""
    from tfgan_app.metrics.conditioning import class_agreement, code_to_class
    from tfgan_app.metrics.report import row

    if not conditions or not classifier_classes:
        return []
    _, probabilities = extractor.run(samples)
    predicted = probabilities.argmax(1)
    meta = dict(extractor=extractor.name, layer="logits", num_real=0, num_fake=len(samples))
    if "label" in conditions:
        if list(data_classes) != list(classifier_classes):
            return []  # e.g. emoji categories judged by a subcategory classifier
        agreement, per_class = class_agreement(predicted, conditions["label"], len(classifier_classes))
        return [row("class_agreement", agreement, **meta)] + [
            row(f"  {name[:16]}", value, **meta) for name, value in zip(classifier_classes, per_class)
        ]
    accuracy, mapping = code_to_class(predicted, conditions["category"], num_codes, len(classifier_classes))
    rows = [row("code_to_class", accuracy, **meta)]
    for code, target in enumerate(mapping):
        rows.append(row(f"  code {code} ->", float(target), **{**meta, "layer": classifier_classes[target] if target >= 0 else "no class"}))
    return rows


def labelled_subset(data_config, split: str, num: int, seed: int) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """(up to ``num`` random real examples of the split in the generator's range, their
    labels or None, the data's class names)."""
    from tfgan_app.data import load_source, to_model_range
    from tfgan_app.metrics.report import subset_order

    source = load_source(dataclasses.replace(data_config, split=split, limit=0))
    order = subset_order(len(source.images), num, seed)
    labels = None if source.labels is None else source.labels[order]
    return to_model_range(source.images[order]).numpy(), labels, source.class_names


def real_images(data_config, split: str, num: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """(up to ``num`` real images of the split, the data's class names)."""
    images, _, class_names = labelled_subset(data_config, split, num, seed)
    return images, class_names


def make_extractor(args, dataset: str):
    """(extractor, the classes it predicts: none for Inception, whose ImageNet classes are
    not the data's)."""
    from tfgan_app.metrics.features import classifier_folder, load_domain_classifier, load_inception

    if args.inception_weights:
        return load_inception(args.inception_weights), []
    extractor, info = load_domain_classifier(classifier_folder(dataset, args.classifier))
    return extractor, list(info.get("class_names", []))


def format_table(rows: list[dict], title: str) -> str:
    lines = [title, f"{'metric':<18}{'value':>12}{'std':>10}  {'extractor / layer':<58}{'real':>7}{'fake':>7}"]
    for row in rows:
        std = "" if row["std"] is None else f"{row['std']:.4f}"
        lines.append(
            f"{row['metric']:<18}{row['value']:>12.4f}{std:>10}  "
            f"{(row['extractor'] + ' / ' + row['layer'])[:58]:<58}{row['num_real']:>7}{row['num_fake']:>7}"
        )
    return "\n".join(lines)


def evaluate(args) -> dict:
    from tfgan_app.data import TOY_DISTRIBUTIONS
    from tfgan_app.metrics.report import image_rows, toy_rows

    toy_default, image_default = 2500, 10000
    num = args.num or image_default
    samples, config, description, conditions = generator_samples(
        args.run, args.model, args.version, num, args.seed, args.truncation, args.checkpoint,
    )
    if config.data.name in AUDIO_SOURCES:
        return evaluate_sounds(args, samples, config, description, conditions)
    if config.data.name in TEXT_SOURCES:
        return evaluate_text(args, samples, config, description)
    if config.data.name in VIDEO_SOURCES:
        return evaluate_video(args, samples, config, description)
    if config.data.name in TOY_DISTRIBUTIONS:
        import tensorflow as tf

        toy = TOY_DISTRIBUTIONS[config.data.name]
        reference = toy.sample(tf.constant([args.seed, 99], tf.int64), 100_000).numpy()
        samples = samples if args.num else samples[:toy_default]
        return {"source": description, "metrics": toy_rows(samples, toy, reference)}
    extractor, classifier_classes = make_extractor(args, config.data.name)
    real, data_classes = real_images(config.data, args.real_split, num, args.seed)
    real_features = extractor.run(real)[0]
    train_features = None
    if args.real_split != "train" and len(real) >= 4:  # memorisation: the samples' distance to the training images
        train_features = extractor.run(real_images(config.data, "train", MEMORISATION_TRAIN, args.seed + 2)[0])[0]
    result = {"source": description,
              "metrics": image_rows(real_features, samples[: len(real)], extractor, train_features=train_features)}
    if conditions:
        from tfgan_app.gans.registry import family_settings

        settings = family_settings(config)
        result["metrics"] += conditioning_rows(
            samples, conditions, extractor, classifier_classes, data_classes,
            getattr(settings, "categorical_code", 0),
        )
    if args.real_floor:
        train, _ = real_images(config.data, "train", len(real), args.seed + 1)
        result["real_floor"] = image_rows(real_features, train, extractor)
    return result


def evaluate_sounds(args, samples: np.ndarray, config, description: str, conditions: dict) -> dict:
    """A sound generator's table (``metrics.audio``) against the real clips of
    ``--real-split``; ``--real-floor`` measures those real clips the same way against as
    many training clips (their pitch accuracy and entropy; FID and NDB between the splits)."""
    from tfgan_app.metrics.audio import audio_rows

    extractor, _ = make_extractor(args, config.data.name)
    real, real_labels, _ = labelled_subset(config.data, args.real_split, len(samples), args.seed)
    result = {"source": description, "metrics": audio_rows(real, samples, conditions.get("label"), extractor)}
    if args.real_floor:
        train, _, _ = labelled_subset(config.data, "train", len(real), args.seed + 1)
        result["real_floor"] = audio_rows(train, real, real_labels, extractor)
    return result


def evaluate_video(args, samples: np.ndarray, config, description: str) -> dict:
    """A video generator's table (``metrics.video``): the FVD-style distance on the clip
    classifier, the per-frame FID and the content consistency on the frame classifier, against
    the real clips of ``--real-split``; ``--real-floor`` measures as many training clips the
    same way. The classifiers are the pinned Moving Fashion-MNIST ones (``--classifier`` names
    another clip classifier)."""
    from tfgan_app.metrics.features import classifier_folder, load_domain_classifier
    from tfgan_app.metrics.video import video_rows

    frame_extractor, frame_info = load_domain_classifier(classifier_folder(FRAMES_DATASET))
    pinned_shape = tuple(frame_info["image_shape"])
    if config.data.name != "moving_fashion_mnist" or tuple(samples.shape[2:]) != pinned_shape:
        raise EvaluateError(
            f"the video measures read Moving Fashion-MNIST clips of {pinned_shape[0]}x{pinned_shape[1]} frames "
            f"(data.name moving_fashion_mnist); {description} makes {config.data.name} clips of "
            f"{'x'.join(map(str, samples.shape[1:]))}, for which no clip classifier exists"
        )
    clip_extractor, _ = make_extractor(args, config.data.name)
    real, _, _ = labelled_subset(config.data, args.real_split, len(samples), args.seed)
    result = {"source": description, "metrics": video_rows(real, samples, clip_extractor, frame_extractor)}
    if args.real_floor:
        train, _, _ = labelled_subset(config.data, "train", len(real), args.seed + 1)
        result["real_floor"] = video_rows(real, train, clip_extractor, frame_extractor)
    return result


def evaluate_text(args, samples: np.ndarray, config, description: str) -> dict:
    """A text generator's table (``metrics.text``): the n-gram JSDs (n = 1-4), the dictionary
    share, BLEU-4 against the real windows of ``--real-split`` and self-BLEU (on at most 1,000
    samples: it compares every pair); ``--real-floor`` measures as many real training
    windows the same way (the dictionary share's ceiling)."""
    from tfgan_app.data import load_source
    from tfgan_app.data.text import decode, dictionary
    from tfgan_app.metrics.report import row, subset_order
    from tfgan_app.metrics.text import bleu, dictionary_share, ngram_jsd, self_bleu

    def texts_of(split: str, seed: int) -> list[str]:
        ids = load_source(dataclasses.replace(config.data, split=split, limit=0)).images
        return [decode(window) for window in ids[subset_order(len(ids), len(samples), seed)]]

    def rows(texts: list[str], reference: list[str]) -> list[dict]:
        meta = dict(extractor="none (the text itself)", layer="characters", num_real=len(reference), num_fake=len(texts))
        measured = [row(f"jsd_{n}", ngram_jsd(texts, reference, n), **meta) for n in range(1, 5)]
        measured.append(row("dictionary_share", dictionary_share(texts, words), **{**meta, "layer": "wamerican words"}))
        measured.append(row("bleu_4", bleu(texts[:1000], reference), **{**meta, "layer": "words"}))
        measured.append(row("self_bleu_4", self_bleu(texts[:1000]), **{**meta, "layer": "words", "num_real": 0}))
        return measured

    words = dictionary()
    generated = [decode(row_ids) for row_ids in np.argmax(samples, axis=-1)]
    real = texts_of(args.real_split, args.seed)
    result = {"source": description, "metrics": rows(generated, real), "samples": generated[:10]}
    if args.real_floor:
        result["real_floor"] = rows(texts_of("train", args.seed + 1)[: len(real)], real)
    return result


def build_train_classifier_parser(prog: str = "python -m tfgan_app.evaluate train-classifier") -> argparse.ArgumentParser:
    from tfgan_app.config import DataConfig

    parser = argparse.ArgumentParser(
        prog=prog, description="Train a self-trained domain classifier (feature extractor) for a dataset without "
        "a pinned one; Fashion-MNIST and the emoji ship with theirs.",
        epilog="example:\n  %(prog)s --dataset mnist --epochs 5", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", default="fashion_mnist", help="data.name of the dataset, or emoji (default fashion_mnist)")
    parser.add_argument("--idx-dir", default=DataConfig.idx_dir, help="where IDX files are looked for (data.idx_dir)")
    parser.add_argument("--data-dir", default="", help="TFDS data directory (data.data_dir)")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the train split (default 5)")
    parser.add_argument("--out", type=Path, help="default: the cache folder for the dataset")
    return parser


def train_classifier_command(argv: list[str], prog: str = "python -m tfgan_app.evaluate train-classifier") -> int:
    from tfgan_app.config import DataConfig
    from tfgan_app.data import DataError, load_source
    from tfgan_app.metrics.features import CLASSIFIER_THREADS, classifier_folder, pin_training_threads, train_classifier

    args = build_train_classifier_parser(prog).parse_args(argv)
    if not pin_training_threads():
        print(f"warning: TensorFlow was already running on other thread settings, so this classifier is not "
              f"trained on {CLASSIFIER_THREADS} threads and may differ from one trained by the command alone",
              file=sys.stderr)
    try:
        if args.dataset == "emoji":
            train, test = (_emoji_classifier_split(split) for split in ("train", "test"))
        elif args.dataset == FRAMES_DATASET:
            train, test = (_frames_classifier_split(split) for split in ("train", "test"))
        else:
            train, test = (load_source(DataConfig(name=args.dataset, split=split, idx_dir=args.idx_dir,
                                                  data_dir=args.data_dir)) for split in ("train", "test"))
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if train.labels is None or not train.class_names:
        print(f"error: {args.dataset} has no class labels to train a classifier on", file=sys.stderr)
        return 2
    out = classifier_folder(args.dataset, args.out)
    info = train_classifier((train.images, train.labels), (test.images, test.labels), train.class_names,
                            out, args.dataset, epochs=args.epochs)
    print(f"domain classifier for {args.dataset}: test accuracy {info['test_accuracy']:.4f} "
          f"after {args.epochs} epochs on {info['train_threads']} threads ({info['train_seconds']} s), "
          f"weights {info['weights_sha256'][:12]} -> {out}")
    return 0


FRAMES_DATASET = "moving_fashion_mnist_frames"  # the frame classifier of the video metrics
FRAME_STRIDE = 5  # frames 0, 5, 10, 15 of each clip train the frame classifier


def _frames_classifier_split(split: str):
    """Single frames of Moving Fashion-MNIST clips labelled by their item's class: the frame
    classifier behind the per-frame FID and the content consistency of generated clips."""
    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source
    from tfgan_app.data.sources import FASHION_MNIST_CLASSES
    from tfgan_app.data.video import DIRECTIONS

    source = load_source(DataConfig(name="moving_fashion_mnist", split=split))
    picked = source.images[:, ::FRAME_STRIDE]
    source.images = picked.reshape(-1, *picked.shape[2:])
    source.labels = np.repeat(source.labels // len(DIRECTIONS), picked.shape[1]).astype(np.int32)
    source.class_names = list(FASHION_MNIST_CLASSES)
    return source


def _emoji_classifier_split(split: str):
    """The emoji feature extractor learns the ~100 subcategories on both styles, so its
    features serve Google-style samples, Twitter-style ones and translations alike."""
    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source

    google, twitter = (
        load_source(DataConfig(name="emoji", vendor=vendor, split=split, emoji_labels="subcategory"))
        for vendor in ("google", "twitter")
    )
    google.images = np.concatenate([google.images, twitter.images])
    google.labels = np.concatenate([google.labels, twitter.labels])
    google.description = f"emoji, both styles, split {split!r}, by subcategory"
    return google


def build_score_parser(prog: str = "python -m tfgan_app.evaluate score") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Anomaly scores of every image in a folder with an exported scorer, as CSV.",
        epilog="example:\n  %(prog)s --model saved_models/fashion_mnist_anomaly --input photos/ --csv scores.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, required=True, help="an exported anomaly scorer: saved_models/NAME")
    parser.add_argument("--version", type=int, help="the version to read (default: the newest)")
    parser.add_argument("--runtime", choices=("tf", "onnx"), default="tf", help="tf: the SavedModel; onnx: ONNX Runtime (default tf)")
    parser.add_argument("--input", type=Path, required=True, help="an image file or a folder of images")
    parser.add_argument("--csv", type=Path, help="write file,score rows here (default: print them)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --csv file")
    return parser


def score_command(argv: list[str], prog: str = "python -m tfgan_app.evaluate score") -> int:
    """Anomaly scores of every image in a folder with an exported scorer, as CSV."""
    from tfgan_app.data.folder import ImageFolderError
    from tfgan_app.generate import GenerateError, resolve_version, translate

    args = build_score_parser(prog).parse_args(argv)
    from tfgan_app.outputs import OutputExistsError, refuse_existing

    try:
        if args.csv:
            refuse_existing(args.csv, "--csv", args.overwrite)
        version_dir = resolve_version(args.model, args.version)
        _, scores, files, manifest, _ = translate(version_dir, args.runtime, args.input)
        if manifest.get("output") != "scores":
            raise GenerateError(f"{manifest['name']} is not an anomaly scorer (its output is {manifest.get('output')!r})")
    except (GenerateError, FileNotFoundError, ImageFolderError, OutputExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    root = args.input if args.input.is_dir() else args.input.parent
    lines = ["file,score"] + [f"{path.relative_to(root)},{float(score):.6g}" for path, score in zip(files, scores)]
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        args.csv.write_text("\n".join(lines) + "\n")
        print(f"scored {len(files)} images with {manifest['name']} v{manifest['version']} -> {args.csv}")
    else:
        print("\n".join(lines))
    return 0


def build_parser(prog: str = "python -m tfgan_app.evaluate") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Measure a generator, offline: FID, KID, precision/recall, class agreement, modes.",
        epilog=(
            "examples:\n"
            f"  {prog} --run runs/cgan --real-floor\n"
            f"  {prog} --model saved_models/fashion_mnist_biggan --truncation 0.5 --json biggan.json\n\n"
            "two more commands:\n"
            f"  {prog} train-classifier --dataset NAME    a self-trained extractor for other data\n"
            f"  {prog} score --model M --input FOLDER     anomaly scores of images (--help for each)"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", type=Path, help="a run directory (the checkpoint its export ships, see --checkpoint)")
    what.add_argument("--model", type=Path, help="an export: saved_models/NAME")
    parser.add_argument("--version", type=int, help="with --model: the version to read (default: the newest)")
    parser.add_argument("--checkpoint", metavar="latest|best|STEP",
                        help="with --run: which checkpoint (default: the run's export.checkpoint, what export ships)")
    parser.add_argument("--num", type=int, help="samples (default 10000 images or sounds, 2500 toy points)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    parser.add_argument("--truncation", type=float,
                        help="in (0, 1], for an export with a truncation input: measure it at that value (default: its own)")
    parser.add_argument("--real-split", default="test", help="the real split measured against (default test)")
    parser.add_argument("--real-floor", action="store_true", help="also measure train vs test split")
    parser.add_argument("--classifier", type=Path, help="domain classifier folder (default: the pinned one)")
    parser.add_argument("--inception-weights", type=Path, help="InceptionV3 no-top weights (.h5)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m tfgan_app.evaluate") -> int:
    from tfgan_app import quiet

    quiet.install(debug=False)  # before TensorFlow starts: its chatter is not the command's output
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train-classifier"]:
        return train_classifier_command(argv[1:], f"{prog} train-classifier")
    if argv[:1] == ["score"]:
        return score_command(argv[1:], f"{prog} score")
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.num is not None and args.num < 2:
        print(f"error: --num {args.num}: metrics need at least 2 samples (default 10000 images, 2500 toy points)",
              file=sys.stderr)
        return 2

    from tfgan_app.data import DataError
    from tfgan_app.export.exporter import ExportError
    from tfgan_app.generate import GenerateError
    from tfgan_app.metrics.features import ExtractorError
    from tfgan_app.outputs import OutputExistsError, refuse_existing
    from tfgan_app.training.rundir import RunDirError

    try:
        if args.json:
            refuse_existing(args.json, "--json", args.overwrite)
        result = evaluate(args)
    except (EvaluateError, ExportError, GenerateError, ExtractorError, DataError, OutputExistsError, RunDirError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(result["metrics"], f"generator: {result['source']}"))
    if "real_floor" in result:
        print(format_table(result["real_floor"], "real floor: train split vs test split"))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
