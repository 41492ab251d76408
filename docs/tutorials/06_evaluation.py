# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Evaluation: what FID, KID, precision and recall each see
#
# A GAN has no likelihood to report, so it is judged by comparing its samples with real data
# in the feature space of a classifier:
#
# - **FID** (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to the real
#   and the generated features. One number for quality and variety together; biased upwards
#   for small sample counts.
# - **KID** (Bińkowski et al. 2018): a kernel two-sample distance (squared MMD with a
#   polynomial kernel) on the same features; unbiased, so it can be compared across sample
#   counts.
# - **Precision and recall** (Kynkäänniemi et al. 2019): the share of generated samples that
#   fall inside the real data's manifold (quality), and the share of real samples inside the
#   generated one (coverage), each manifold a union of k-nearest-neighbour balls.
#
# The lectures use Inception-v3 features. No ImageNet weights are reachable offline here, so
# the project ships a Fashion-MNIST classifier of its own, checked by SHA-256 when it loads:
# every machine computes the same features, so an FID means the same everywhere (not
# comparable with papers' Inception FIDs, which measure other features).
#
# Instead of training generators with known faults, this tutorial *builds* sample sets with
# known faults from real images and watches what each measure sees. Then it measures a real
# GAN after a short training run, puts it on the same scale, and asks the question none of
# these measures answers: are the samples copies of training images? About three minutes on a
# 2-core CPU.

# %%
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from tfgan_app.config import DataConfig
from tfgan_app.data import load_source, to_model_range
from tfgan_app.export.exporter import export_run
from tfgan_app.gans.registry import load_config
from tfgan_app.metrics import copying, feature_statistics, frechet_distance, kernel_distance, precision_recall
from tfgan_app.metrics.features import pinned_extractor
from tfgan_app.plots import image_grid
from tfgan_app.training.trainer import train

BUDGET = float(os.environ.get("TUTORIAL_BUDGET", "1"))  # the test suite runs a small share
plt.rcParams.update({"figure.dpi": 80})
rng = np.random.default_rng(0)

# %% [markdown]
# ## Real images and the pinned extractor

# %%
train_set = load_source(DataConfig(name="fashion_mnist", split="train"))
test_set = load_source(DataConfig(name="fashion_mnist", split="test"))
train_images = to_model_range(train_set.images).numpy()  # [60000, 28, 28, 1] in [-1, 1]
test_images = to_model_range(test_set.images).numpy()
extractor = pinned_extractor("fashion_mnist")
print("extractor:", extractor.name)

COUNT = 4000 if BUDGET >= 0.5 else 1000
reference = extractor.run(test_images[:COUNT])[0]  # the real features every set is compared with
print("features per image:", reference.shape[1])


def scores(images):
    features = extractor.run(images)[0]
    fid = frechet_distance(feature_statistics(reference), feature_statistics(features))
    kid, _ = kernel_distance(reference, features)
    precision, recall = precision_recall(reference, features, k=3)
    return {"FID": fid, "KID": kid, "precision": precision, "recall": recall}


# %% [markdown]
# ## Sample sets with known faults
#
# - **real (train split)**: other real images, the best any generator can score (the floor);
# - **two classes only**: perfect images of T-shirts and trousers, nothing else (mode collapse);
# - **50 images, repeated**: a generator that memorised a handful of training images;
# - **blurred**: every real image blurred (the classic fault of a model trained on pixel error);
# - **noisy**: every real image with Gaussian noise of standard deviation 0.3.

# %%
def blur(images, sigma=1.2):
    radius = np.arange(-3, 4)
    kernel = np.exp(-0.5 * (radius / sigma) ** 2)
    kernel = (np.outer(kernel, kernel) / kernel.sum() ** 2).astype(np.float32)[:, :, None, None]
    return tf.nn.conv2d(tf.pad(images, [[0, 0], [3, 3], [3, 3], [0, 0]], "SYMMETRIC"), kernel, 1, "VALID").numpy()


picked = rng.choice(len(train_images), COUNT, replace=False)
real_other = train_images[picked]
two_classes = train_images[np.isin(train_set.labels, [0, 1])][:COUNT]
memorised = np.tile(train_images[picked[:50]], (COUNT // 50, 1, 1, 1))
blurred = blur(real_other)
noisy = np.clip(real_other + 0.3 * rng.standard_normal(real_other.shape).astype(np.float32), -1, 1)

sets = {"real (train split)": real_other, "two classes only": two_classes, "50 images, repeated": memorised,
        "blurred": blurred, "noisy": noisy}
figure, axes = plt.subplots(1, len(sets), figsize=(16, 3.6))
for axis, (name, images) in zip(axes, sets.items()):
    axis.imshow(image_grid(images[rng.choice(len(images), 16, replace=False)], columns=4), cmap="gray")
    axis.set_title(name)
    axis.axis("off")
plt.show()

# %%
table = {name: scores(images) for name, images in sets.items()}
print(f"{'sample set':24s}" + "".join(f"{metric:>12s}" for metric in table["blurred"]))
for name, row in table.items():
    print(f"{name:24s}" + "".join(f"{value:12.3f}" for value in row.values()))

# %%
figure, axes = plt.subplots(1, 4, figsize=(16, 3.4))
for axis, metric in zip(axes, table["blurred"]):
    axis.barh(list(table), [row[metric] for row in table.values()], color="tab:purple")
    axis.set_title(metric)
    axis.invert_yaxis()
for axis in axes[1:]:
    axis.set_yticklabels([])
plt.suptitle("Lower FID and KID are better; higher precision and recall are better")
plt.tight_layout()
plt.show()

# %% [markdown]
# **What to notice** (in the run shown here).
#
# - **The floor.** Other real images score an FID below 1 and precision and recall near
#   0.88, not 1: the k-nearest-neighbour manifolds of a few thousand images are
#   approximate. Judge a generator against this floor, never against 0 and 1.
# - **Two classes only**: perfect images, so precision stays at the floor, but recall halves
#   and FID is the worst of all: the feature statistics of two classes are far from ten.
# - **50 images, repeated** is the lesson in one row: its FID is *modest* (the 50 images span
#   the classes, so the feature mean and covariance come out roughly right) while its recall
#   is 0 (fifty points cover nothing of the real manifold). FID alone would rank this
#   memoriser close to a decent generator; recall exposes it.
# - **Blurred** and **noisy** images keep most of their precision on this extractor (a
#   blurred coat is still a coat to a classifier) but their recall collapses: every image
#   lands in the same smooth region of feature space, so the variety of real garments is
#   missing.
# - One number hides the kind of failure; precision and recall split it into quality and
#   coverage.
#
# ## Sample counts: FID is biased, KID is not
#
# The same two real sets compared at different sample counts: FID falls as the count grows
# (its bias is about 1/N), KID stays put. Compare FIDs only at the same count (the zoo uses
# 10,000), and prefer KID when sets are small.

# %%
counts = [n for n in (250, 500, 1000, 2000, 4000) if n <= COUNT]
fids, kids = [], []
other_features = extractor.run(real_other)[0]
for n in counts:
    fids.append(frechet_distance(feature_statistics(reference[:n]), feature_statistics(other_features[:n])))
    kids.append(kernel_distance(reference[:n], other_features[:n])[0])
figure, axis = plt.subplots(figsize=(6, 3.5))
axis.plot(counts, fids, "o-", label="FID")
axis.plot(counts, kids, "s-", label="KID")
axis.set_xscale("log")
axis.set_xlabel("images per set")
axis.axhline(0, color="k", lw=0.5)
axis.legend()
axis.set_title("Real against real: FID shrinks with more samples, KID does not")
plt.show()

# %% [markdown]
# ## A real generator on the same scale
#
# The default pipeline, `fashion_mnist_dcgan`, trained for a short while through the same
# trainer and export as `python -m tfgan_app.train`, then sampled with `generate` from the
# export alone.

# %%
steps = max(100, int(1000 * BUDGET) // 100 * 100)
# The pipeline trains for 12 epochs; epochs=0 lets train.steps decide.
config = load_config("fashion_mnist_dcgan", [f"train.steps={steps}", "train.epochs=0"])
shutil.rmtree("runs/dcgan_short", ignore_errors=True)  # a fresh run each time the notebook runs
result = train(config, "runs/dcgan_short", progress_stream=open(os.devnull, "w"))
print(result.status, "after", steps, "steps")
export_run(Path("runs/dcgan_short"), Path("saved_models"), name="dcgan_short")  # what `tfgan train` does last
subprocess.run([sys.executable, "-m", "tfgan_app.generate", "--model", "saved_models/dcgan_short",
                "--num", str(COUNT), "--out", "dcgan_samples.npz", "--overwrite"], check=True)
generated = np.load("dcgan_samples.npz")["samples"]
table[f"DCGAN, {steps} steps"] = scores(generated)
for name in ("real (train split)", "blurred", f"DCGAN, {steps} steps"):
    print(f"{name:24s}" + "".join(f"{metric} {value:.3f}   " for metric, value in table[name].items()))
plt.figure(figsize=(4, 4))
plt.imshow(image_grid(generated[:36], columns=6), cmap="gray")
plt.axis("off")
plt.title(f"the export, after {steps} steps")
plt.show()

# %% [markdown]
# **What to notice.** The short DCGAN run's recall sits between the floor and the faulty
# sets, and its precision is lower than theirs: its images are less real than real images
# with faults. Unlike every faulty set it is *balanced*, moderate precision with moderate
# recall; training longer raises both (the default pipeline's full run is the zoo's FID 13.2).
#
# ## Memorisation: nearer to a training image than new images are
#
# Recall exposed the memoriser above only because it repeats 50 images. A generator that
# copied 4,000 *different* training images would score like the real floor on FID, precision
# and recall: the "real (train split)" set *is* such a generator. What gives a copy away is
# its distance to the **training** set: a copy sits on a training image, a new image of the
# same distribution does not. `copying` (what `evaluate` reports as `memorised_share`) takes
# the nearest-training distances of held-out test images, sets a threshold at the nearest
# tenth of them, and counts the samples under it: about 0.1 for a generator that makes new
# images (the unseen test images' own share), up to 1 for one that copies. Meehan et al.
# 2020's $Z_U$ compares the two sets of distances as a whole: strongly negative when samples
# sit nearer to the training set than new data does, positive when they sit farther.

# %%
# All 60,000 (a copy of any of them counts); a sixth of them at a small budget.
train_features = extractor.run(train_images if BUDGET >= 0.5 else train_images[:10_000])[0]
heldout = extractor.run(test_images[COUNT:])[0]  # test images the sets above were not compared with
print(f"{'sample set':24s}{'memorised share':>17s}{'Z_U':>10s}")
for name, images in {**sets, f"DCGAN, {steps} steps": generated}.items():
    result = copying(train_features, heldout, extractor.run(images)[0])
    print(f"{name:24s}{result.share:17.3f}{result.z_u:10.1f}")
print(f"{'unseen test images':24s}{result.real_share:17.3f}")

# %% [markdown]
# **What to notice** (in the run shown here).
#
# - Every set made of training images as they are (the train split, two classes, the 50
#   repeated) scores 1.0: each sample sits on a training image, and $Z_U$ is at its most
#   negative. The first of them scored like new data on FID, precision and recall; only this
#   measure calls it what it is.
# - Blurred and noisy training images score 0: the blur and the noise move them farther from
#   their originals in feature space than new garments are from their nearest training
#   image. The measure judges closeness in the extractor's features, not where an image came
#   from.
# - The short DCGAN run scores 0.011, below the unseen test images' 0.099: its samples are not
#   copies. Its $Z_U$ of +51 says they sit *farther* from the training set than new real
#   images do, the quality gap FID and precision already showed. A generator that improves
#   approaches the unseen images' share from below; a share well above it means copying.
#
# The command line reports the same measures for any run or export (`python -m
# tfgan_app.evaluate --run runs/dcgan_short --real-floor`), and the model zoo lists every
# pipeline's figure on this same extractor.
