"""The emoji benchmarks (64x64 RGB): generators against the standard DCGAN-64, translators
against the identity mapping.

    python benchmarks/emoji.py generator --run RUN_DIR [--baseline-seconds S] [--num 5000] [--reference twitter]
    python benchmarks/emoji.py translator --run RUN_DIR [--run-l1 RUN_DIR]
    python benchmarks/emoji.py subset --vendor twitter --count 200 --out DIR

``generator``: FID, KID and precision/recall of ``--num`` samples of the run (its EMA
generator) against all 3,786 emoji of ``--reference`` (Google by default), with the emoji
feature extractor (``python -m tfgan_app.evaluate train-classifier --dataset emoji``). A
conditional run's labels are drawn with the categories' frequencies in the data, so its
samples and the reference have the same mix. With
``--baseline-seconds S`` a baseline row: the standard DCGAN-64 of Radford et al. 2016
(ngf = ndf = 64, batch norm, Adam 2e-4 with beta_1 0.5, batch 64) written as a plain Keras
``train_step`` under the ``mixed_bfloat16`` policy, as its users would run it here, trained
for S seconds of wall time on the same train split (give it the run's training time).

``translator``: PSNR, SSIM and L1 of a pix2pix or CycleGAN (its A -> B generator) run's
outputs on the test split (Google -> Twitter, every 10th sorted file name), against the
identity mapping (the Google image as the prediction) and optionally another run (the same
U-Net trained with L1 alone), and the FID of the translated test images against the real
Twitter test images.

``subset``: copy ``--count`` PNGs of a vendor's train split, evenly spaced over the sorted
names (so every category is present), into a folder: the small user folder of the
fine-tuning benchmark (``--init-from``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def dcgan64_baseline():
    """Radford et al. 2016's DCGAN at 64x64: G 100 -> 4x4x512 -> ... -> 64x64x3 (ngf 64),
    D 64x64x3 -> ... -> 4x4x512 -> 1 (ndf 64), batch norm, ReLU / LeakyReLU(0.2)."""
    import keras
    import tensorflow as tf

    def generator():
        z = keras.Input((100,))
        x = keras.layers.Dense(4 * 4 * 512, use_bias=False)(z)
        x = keras.layers.Reshape((4, 4, 512))(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        for filters in (256, 128, 64):
            x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
            x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
        x = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same")(x)
        return keras.Model(z, keras.layers.Activation("tanh", dtype="float32")(x))

    def discriminator():
        image = keras.Input((64, 64, 3))
        x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(64, 4, strides=2, padding="same")(image))
        for filters in (128, 256, 512):
            x = keras.layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=False)(x)
            x = keras.layers.LeakyReLU(0.2)(keras.layers.BatchNormalization()(x))
        x = keras.layers.Flatten()(x)
        return keras.Model(image, keras.layers.Dense(1, dtype="float32")(x))

    class DCGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator = generator(), discriminator()
            self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
            self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
            self.loss = keras.losses.BinaryCrossentropy(from_logits=True)

        def train_step(self, real):
            batch = tf.shape(real)[0]
            z = tf.random.normal([batch, 100])
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                real_logits, fake_logits = self.discriminator(real, training=True), self.discriminator(fake, training=True)
                d_loss = self.loss(tf.ones_like(real_logits), real_logits) + self.loss(tf.zeros_like(fake_logits), fake_logits)
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            z = tf.random.normal([batch, 100])
            with tf.GradientTape() as tape:
                fake_logits = self.discriminator(self.generator(z, training=True), training=True)
                g_loss = self.loss(tf.ones_like(fake_logits), fake_logits)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            return {"d_loss": d_loss, "g_loss": g_loss}

    model = DCGAN()
    model.compile()
    return model


def train_baseline(images: np.ndarray, seconds: float):
    import keras
    import tensorflow as tf

    from benchmarks.families import fit_for_seconds

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    model = dcgan64_baseline()
    data = tf.data.Dataset.from_tensor_slices(images.astype(np.float32) / 127.5 - 1.0)
    data = data.shuffle(len(images), seed=0).repeat().batch(64, drop_remainder=True).prefetch(4)
    steps, trained = fit_for_seconds(model, data, seconds)
    keras.mixed_precision.set_global_policy("float32")
    return (lambda z: model.generator(z, training=False).numpy()), steps, trained


def reference_emoji(vendor: str, classifier: Path | None = None):
    """(the emoji extractor (the pinned one unless ``classifier``), its info, every emoji of
    ``vendor`` as a Source, their features)."""
    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source
    from tfgan_app.metrics.features import classifier_folder, load_domain_classifier

    extractor, info = load_domain_classifier(classifier_folder("emoji", classifier))
    every = load_source(DataConfig(name="emoji", vendor=vendor, split="all"))
    return extractor, info, every, extractor.run(every.images.astype(np.float32) / 127.5 - 1.0)[0]


def google_split_images() -> tuple[np.ndarray, np.ndarray]:
    """(the Google emoji the generators train on, the held-out ones) in [-1, 1]: what
    memorisation compares samples with."""
    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source

    return tuple(load_source(DataConfig(name="emoji", vendor="google", split=split)).images.astype(np.float32) / 127.5 - 1.0
                 for split in ("train", "test"))


def generated_emoji(model, num: int, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``num`` samples of a generator run's model; a conditional one's labels are drawn from
    ``labels`` (the categories' own frequencies: cycling through them uniformly would score
    the mix, Flags as often as People & Body, not the images)."""
    from tfgan_app.metrics.report import in_batches

    z = rng.standard_normal((num, model.noise_dim)).astype(np.float32)
    if not getattr(model, "num_classes", 0):
        return in_batches(lambda chunk: model.generate(chunk).numpy(), z)
    chosen, network = rng.choice(labels, num).astype(np.int32), model.averaged()
    return np.concatenate([
        network(model.generator_inputs(z[start : start + 256], chosen[start : start + 256]), training=False).numpy()
        for start in range(0, num, 256)
    ])


def translation_pairs():
    """(Google test emoji, their Twitter versions) in [-1, 1]: the translators' test split."""
    from tfgan_app.config import DataConfig
    from tfgan_app.data.emoji import load_emoji
    from tfgan_app.data.sources import emoji_root

    root = emoji_root(DataConfig())
    inputs, names, _, _ = load_emoji(root, "google", "test")
    targets = load_emoji(root, "twitter", "test", names=names)[0]
    return tuple(array.astype(np.float32) / 127.5 - 1.0 for array in (inputs, targets))


def translation_scores(extractor, targets: np.ndarray, outputs: np.ndarray) -> dict:
    """PSNR, SSIM, L1 and FID of translated images against their targets."""
    import tensorflow as tf

    from benchmarks.families import fid

    outputs = np.clip(outputs, -1.0, 1.0)
    return {"psnr": float(tf.reduce_mean(tf.image.psnr(targets, outputs, 2.0))),
            "ssim": float(tf.reduce_mean(tf.image.ssim(targets, outputs, 2.0))),
            "l1": float(np.abs(outputs - targets).mean()), "fid": fid(extractor, targets, outputs)}


def translated(model, inputs: np.ndarray) -> np.ndarray:
    """A pix2pix or CycleGAN (its A -> B generator) run's outputs for ``inputs``."""
    from tfgan_app.metrics.report import in_batches

    translator = model.exports().get("a2b") or model.averaged()  # CycleGAN: A (Google) -> B (Twitter)
    return in_batches(lambda chunk: translator(chunk, training=False).numpy(), inputs)


def generator_table(args) -> list[dict]:
    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source
    from tfgan_app.metrics.report import image_rows, in_batches
    from tfgan_app.training.restore import load_run_model

    extractor, info, every, real_features = reference_emoji(args.reference, args.classifier)
    rng, rows = np.random.default_rng(0), []
    if args.run:
        model, config, step, run = load_run_model(args.run)
        fake = generated_emoji(model, args.num, every.labels, rng)
        rows.append({"row": Path(config.pipeline).stem, "steps": step, "train_seconds": run.get("wall_time_s"),
                     **{r["metric"]: r["value"] for r in image_rows(real_features, fake, extractor, True)}})
    if args.baseline_seconds:
        train = load_source(DataConfig(name="emoji", vendor="google", split="train"))
        generate, steps, seconds = train_baseline(train.images, args.baseline_seconds)
        z = rng.standard_normal((args.num, 100)).astype(np.float32)
        fake = in_batches(generate, z)
        rows.append({"row": "DCGAN-64 baseline (plain Keras, mixed_bfloat16)", "steps": steps, "train_seconds": round(seconds, 1),
                     **{r["metric"]: r["value"] for r in image_rows(real_features, fake, extractor, True)}})
    print(f"extractor: {extractor.name} / {extractor.layer} (test accuracy {info.get('test_accuracy', float('nan')):.3f}); "
          f"{args.num} samples against all {len(every.images)} {args.reference} emoji")
    return rows


def translator_table(args) -> list[dict]:
    from tfgan_app.metrics.features import classifier_folder, load_domain_classifier
    from tfgan_app.training.restore import load_run_model

    inputs, targets = translation_pairs()
    extractor, _ = load_domain_classifier(classifier_folder("emoji", args.classifier))
    rows = [{"row": "identity (the Google image)", **translation_scores(extractor, targets, inputs)}]
    for run in [args.run, args.run_l1]:
        if run:
            model, config, step, _ = load_run_model(run)
            rows.append({"row": f"{Path(config.pipeline).stem} ({run.name}, step {step})",
                         **translation_scores(extractor, targets, translated(model, inputs))})
    print(f"test split: {len(targets)} Google -> Twitter pairs")
    return rows


def write_subset(args) -> list[dict]:
    import shutil

    from tfgan_app.config import DataConfig
    from tfgan_app.data.emoji import split_files, vendor_dir
    from tfgan_app.data.sources import emoji_root

    folder = vendor_dir(emoji_root(DataConfig()), args.vendor) / "64"
    train = split_files(sorted(path.name for path in folder.glob("*.png")), "train")
    chosen = [train[index] for index in np.linspace(0, len(train) - 1, args.count).round().astype(int)]
    args.out.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        shutil.copyfile(folder / name, args.out / name)
    return [{"row": f"{args.count} {args.vendor} train-split emoji -> {args.out}", "files": len(chosen)}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("table", choices=("generator", "translator", "subset"))
    parser.add_argument("--run", type=Path)
    parser.add_argument("--run-l1", type=Path, help="translator: the L1-only run")
    parser.add_argument("--baseline-seconds", type=float, default=0.0)
    parser.add_argument("--num", type=int, default=5000)
    parser.add_argument("--classifier", type=Path)
    parser.add_argument("--reference", choices=("google", "twitter"), default="google", help="generator: the real set")
    parser.add_argument("--vendor", choices=("google", "twitter"), default="twitter", help="subset: whose emoji")
    parser.add_argument("--count", type=int, default=200, help="subset: how many")
    parser.add_argument("--out", type=Path, help="subset: the folder to write")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {"generator": generator_table, "translator": translator_table, "subset": write_subset}[args.table](args)
    columns = [key for key in rows[0] if key != "row"]
    print(f"{'row':<52}" + "".join(f"{key:>14}" for key in columns))
    for row in rows:
        print(f"{row['row'][:51]:<52}" + "".join(
            f"{row[key]:>14.4f}" if isinstance(row.get(key), float) else f"{str(row.get(key)):>14}" for key in columns))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
