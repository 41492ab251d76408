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
# # 1. The game: a generator and a discriminator on one and two dimensions
#
# A GAN is a two-player game (Goodfellow et al. 2014). The discriminator D reads a sample and
# says how likely it is to be real; the generator G turns noise z into samples and wins when D
# mistakes them for real ones:
#
# $$\min_G \max_D \; \mathbb{E}_{x}[\log D(x)] + \mathbb{E}_{z}[\log(1 - D(G(z)))]$$
#
# Algorithm 1 of the paper alternates the players: k gradient steps on D, then one on G.
# `tfgan_app.GAN` is that algorithm as a Keras model: you give it any G and D, `compile` it
# with two optimizers and a loss, and `fit` it on data.
#
# This tutorial trains it where you can see everything: a 1-D Gaussian (D's opinion is a curve)
# and a ring of eight Gaussians (D's opinion is a surface). It takes about two minutes on a
# 2-core CPU.

# %%
import os
import subprocess
import sys

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tfgan_app
from tfgan_app import losses
from tfgan_app.data.toy import TOY_DISTRIBUTIONS
from tfgan_app.metrics import ks_statistic
from tfgan_app.networks.mlp import mlp_discriminator, mlp_generator

# The share of the full training steps to run: the test suite runs every tutorial at a small one.
BUDGET = float(os.environ.get("TUTORIAL_BUDGET", "1"))
plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3})
keras.utils.set_random_seed(0)


def steps(full: int) -> int:
    return max(2, int(full * BUDGET))


# %% [markdown]
# ## The data: samples of N(4, 0.5)
#
# The project's toy distributions are mixtures of Gaussians; `sample(seed, count)` is a pure
# function of the seed, so every run of this notebook sees the same data.

# %%
gaussian = TOY_DISTRIBUTIONS["gaussian_1d"]
real = gaussian.sample(tf.constant([0, 1]), 64_000).numpy()  # [64000, 1]
dataset = tf.data.Dataset.from_tensor_slices(real).shuffle(64_000, seed=0).batch(128, drop_remainder=True).repeat()
print(f"{len(real)} samples, mean {real.mean():.3f}, standard deviation {real.std():.3f}")

# %% [markdown]
# ## The players
#
# Two small multilayer perceptrons. G maps 8 noise numbers to one number; D maps one number to
# one logit (its probability of "real" is the sigmoid of the logit).

# %%
LATENT = 8


def players():
    return mlp_generator(LATENT, 1, hidden_units=64), mlp_discriminator(1, hidden_units=64)


generator, discriminator = players()
generator.summary(line_length=80)

# %% [markdown]
# ## Watching Algorithm 1
#
# A Keras callback looks at the game every few steps: G's samples as a histogram, and D's
# probability of "real" along the line. `discriminator_steps` is the paper's k.

# %%
GRID = np.linspace(0, 8, 400, dtype=np.float32)[:, None]
Z_FIXED = np.random.default_rng(1).standard_normal((4000, LATENT)).astype(np.float32)


class Snapshots(keras.callbacks.Callback):
    """At the given steps, keeps ``look(gan)``: what to draw of the game at that moment."""

    def __init__(self, at, look):
        super().__init__()
        self.at, self.look, self.taken = set(at), look, {}

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.step.numpy())
        if step in self.at:
            self.taken[step] = self.look(self.model)


def look_1d(gan):
    """G's samples for a fixed batch of noise, and D's probability of "real" along GRID."""
    return gan.generator(Z_FIXED).numpy()[:, 0], tf.sigmoid(gan.discriminator(GRID)["logit"]).numpy()[:, 0]


def train_1d(loss="non_saturating", k=1, total=2000, at=(), optimizer=lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)):
    keras.utils.set_random_seed(0)
    generator, discriminator = players()
    gan = tfgan_app.GAN(generator, discriminator, discriminator_steps=k)
    gan.compile(generator_optimizer=optimizer(), discriminator_optimizer=optimizer(), loss=loss)
    snapshots = Snapshots(at, look_1d)
    # With k D updates per step, each step reads k batches: the dataset's batch is k x 128.
    data = tf.data.Dataset.from_tensor_slices(real).shuffle(64_000, seed=0).repeat().batch(128 * k, drop_remainder=True)
    # Epochs of 100 steps: Keras logs each epoch's mean D(x) and D(G(z)), so the history is a curve.
    history = gan.fit(data, steps_per_epoch=min(100, total), epochs=max(1, total // 100), verbose=0, callbacks=[snapshots])
    return gan, snapshots, history.history


TOTAL = steps(2000)
moments = [1, TOTAL // 20, TOTAL // 4, TOTAL]
gan, snapshots, history = train_1d(total=TOTAL, at=moments)

figure, axes = plt.subplots(1, len(moments), figsize=(16, 3.2), sharey=True)
density = np.exp(-0.5 * ((GRID[:, 0] - 4) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))
for axis, step in zip(axes, moments):
    samples, d_of_x = snapshots.taken[step]
    axis.plot(GRID[:, 0], density, "k--", label="data density")
    axis.hist(samples, bins=60, range=(0, 8), density=True, alpha=0.5, color="tab:green", label="G's samples")
    axis.plot(GRID[:, 0], d_of_x, color="tab:blue", label="D(x)")
    axis.set_title(f"step {step}")
    axis.set_xlabel("x")
axes[0].legend(loc="upper left")
plt.suptitle("G's samples move towards the data while D's curve flattens towards 1/2")
plt.tight_layout()
plt.show()

# %% [markdown]
# **What to notice.** At first G's samples sit near 0 and D says "real" to the right of them.
# G follows D's slope to the data; at the end the histogram covers the dashed density and D's
# curve is nearly flat near 1/2 where the data lives: it can no longer tell real from fake,
# which is the equilibrium the paper proves ($D^* = 1/2$ when $p_g = p_{data}$).
#
# The Kolmogorov-Smirnov statistic (the largest gap between the two cumulative distributions,
# 0 for a perfect fit) measures it with a number, and the logs show the mean D(x) and D(G(z))
# heading to 1/2:

# %%
final = gan.generator(Z_FIXED).numpy()
print(f"KS statistic of G against N(4, 0.5): {ks_statistic(final, gaussian.modes, gaussian.sigma):.3f}")
print(f"over the last 100 steps: mean D(x) {history['d_real'][-1]:.3f}, mean D(G(z)) {history['d_fake'][-1]:.3f}")

# %% [markdown]
# ## k: how many D steps per G step
#
# Algorithm 1 takes k D steps before each G step, so that G always learns from a D near its
# best answer. Here k = 1 and k = 3 at the same number of G steps:

# %%
for k in (1, 3):
    trained, _, _ = train_1d(k=k, total=steps(1000))
    samples = trained.generator(Z_FIXED).numpy()
    print(f"k = {k}: KS {ks_statistic(samples, gaussian.modes, gaussian.sigma):.3f} after {steps(1000)} G steps")

# %% [markdown]
# **What to notice.** With k = 3, G fits better after the same 1,000 G steps (KS 0.16 against
# 0.21 in the run shown): each G step follows a D closer to its best response. The cost is
# three D updates per G step, so with a budget in minutes rather than steps k = 1 is the
# usual choice for this loss (the project's default); Wasserstein critics need k = 5
# (tutorial 4).
#
# ## Why G minimises $-\log D(G(z))$: the saturating minimax loss
#
# The minimax game asks G to minimise $\log(1 - D(G(z)))$. Early in training D rejects G's
# samples easily, $D(G(z)) \approx 0$, and there this loss is flat: its gradient with respect
# to D's logit $\ell$ is $-\sigma(\ell)$, nearly 0. The paper's fix, the *non-saturating* loss,
# has G maximise $\log D(G(z))$ instead: the same fixed point, but a gradient $-(1-\sigma(\ell))$
# that is largest exactly when G is worst.

# %%
probability = np.linspace(0.001, 0.999, 400)
figure, axis = plt.subplots(figsize=(6, 3.5))
axis.plot(probability, np.log(1 - probability), label=r"minimax: $\log(1 - D(G(z)))$")
axis.plot(probability, -np.log(probability), label=r"non-saturating: $-\log D(G(z))$")
axis.set_xlabel("D(G(z))")
axis.set_ylabel("G's loss")
axis.legend()
axis.set_title("Both losses fall as G fools D; only one is steep where G starts")
plt.show()

# %% [markdown]
# To see it happen, D first learns to reject an untrained G (300 steps of D alone), then G
# trains with each loss with plain SGD. The callback records the norm of G's gradient and
# the mean of its samples.

# %%
class GradientNorms(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rows = []

    def on_train_batch_end(self, batch, logs=None):
        generator, discriminator = self.model.generator, self.model.discriminator
        with tf.GradientTape(persistent=True) as tape:
            logits = discriminator(generator(Z_FIXED[:512]))["logit"]
            minimax = losses.minimax_generator_loss(logits)
            non_saturating = losses.non_saturating_generator_loss(logits)
        norm = lambda loss: float(tf.linalg.global_norm(tape.gradient(loss, generator.trainable_variables)))
        self.rows.append((norm(minimax), norm(non_saturating), float(generator(Z_FIXED[:512]).numpy().mean())))


def strong_discriminator_then_g(loss):
    keras.utils.set_random_seed(0)
    generator, discriminator = players()
    optimizer = keras.optimizers.Adam(1e-3)
    for real_batch in dataset.take(300):
        with tf.GradientTape() as tape:
            fake = generator(tf.random.normal([128, LATENT]))
            d_loss = losses.discriminator_loss(discriminator(real_batch)["logit"], discriminator(fake)["logit"])
        optimizer.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                                      discriminator.trainable_variables))
    gan = tfgan_app.GAN(generator, discriminator)
    gan.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01), loss=loss)
    norms = GradientNorms()
    gan.fit(dataset, steps_per_epoch=steps(600), epochs=1, verbose=0, callbacks=[norms])
    return np.array(norms.rows)


runs = {loss: strong_discriminator_then_g(loss) for loss in ("minimax", "non_saturating")}
figure, (left, right) = plt.subplots(1, 2, figsize=(13, 3.5))
left.semilogy(runs["minimax"][:, 0], label="minimax loss's gradient")
left.semilogy(runs["minimax"][:, 1], label="non-saturating loss's gradient")
left.set_title("G's gradient norm, both losses, along the minimax run")
left.set_xlabel("G step")
left.legend()
for loss, rows in runs.items():
    right.plot(rows[:, 2], label=f"trained with {loss}")
right.axhline(4, color="k", ls="--", label="data mean")
right.set_title("mean of G's samples")
right.set_xlabel("G step")
right.legend()
plt.tight_layout()
plt.show()
print(f"at the first step the minimax gradient is {runs['minimax'][0, 1] / runs['minimax'][0, 0]:.0f}x "
      "smaller than the non-saturating one")

# %% [markdown]
# **What to notice.** Against a confident D the minimax gradient is orders of magnitude
# smaller: with SGD, G trained on it barely moves, while the non-saturating G walks to the
# data. (Adam rescales gradients and hides part of this, one reason it became the default.)
# `tfgan_app.GAN` uses `loss="non_saturating"` unless told otherwise.
#
# ## Two dimensions: D's decision surface
#
# On a ring of eight Gaussians D's opinion is a surface. The colours are D(x); the white points
# are real samples, the red ones G's.

# %%
ring = TOY_DISTRIBUTIONS["ring"]
ring_data = ring.sample(tf.constant([0, 2]), 100_000).numpy()
ring_dataset = tf.data.Dataset.from_tensor_slices(ring_data).shuffle(100_000, seed=0).repeat().batch(256)
xs, ys = np.meshgrid(np.linspace(-1.6, 1.6, 120), np.linspace(-1.6, 1.6, 120))
PLANE = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float32)
Z_RING = np.random.default_rng(2).standard_normal((1000, 2)).astype(np.float32)


def look_2d(gan):
    """D's probability of "real" over the plane, and G's samples."""
    return tf.sigmoid(gan.discriminator(PLANE)["logit"]).numpy().reshape(xs.shape), gan.generator(Z_RING).numpy()


keras.utils.set_random_seed(0)
ring_gan = tfgan_app.GAN(mlp_generator(2, 2, hidden_units=128, hidden_layers=3),
                         mlp_discriminator(2, hidden_units=128, hidden_layers=3))
ring_gan.compile(keras.optimizers.Adam(5e-4, beta_1=0.5), keras.optimizers.Adam(5e-4, beta_1=0.5))
RING_STEPS = steps(3000)
ring_moments = [1, RING_STEPS // 6, RING_STEPS // 2, RING_STEPS]
surfaces = Snapshots(ring_moments, look_2d)
ring_gan.fit(ring_dataset, steps_per_epoch=RING_STEPS, epochs=1, verbose=0, callbacks=[surfaces])

figure, axes = plt.subplots(1, len(ring_moments), figsize=(16, 4))
for axis, step in zip(axes, ring_moments):
    surface, fake = surfaces.taken[step]
    axis.contourf(xs, ys, surface, levels=20, cmap="viridis", vmin=0, vmax=1)
    axis.scatter(*ring_data[:500].T, s=2, c="white")
    axis.scatter(*fake[:500].T, s=2, c="red")
    axis.set_title(f"step {step}")
    axis.set_aspect("equal")
plt.suptitle("D (colour: yellow = 'real') pushes G's samples (red) towards the modes (white)")
plt.tight_layout()
plt.show()

# %% [markdown]
# **What to notice.** D draws bright regions where real samples are and G is not; G's points
# flow up that slope until D's surface is dark everywhere except on the modes, where real and
# fake now mix. A few red points still bridge two modes: G is continuous, so it must cross the
# gaps between them (a reason its samples are never exactly the data's). Here G reaches all
# eight modes; on harder data it often covers some and misses others. That is *mode
# collapse*, the subject of the next tutorial.
#
# ## Ship it
#
# Any trained `GAN` exports the same way as a pipeline's: a SavedModel for TF Serving, ONNX,
# and a web page, each checked against Keras before it is kept. `generate` then draws from
# the export alone, with no training code.

# %%
[savedmodel, *_] = tfgan_app.export_generator(gan, "saved_models/gaussian_1d")
print("exported to", savedmodel.path)
subprocess.run([sys.executable, "-m", "tfgan_app.generate", "--model", "saved_models/gaussian_1d",
                "--num", "2000", "--out", "samples.npy", "--overwrite"], check=True)
samples = np.load("samples.npy")
plt.figure(figsize=(5, 3))
plt.hist(samples[:, 0], bins=60, density=True, alpha=0.6, color="tab:green", label="from the export")
plt.plot(GRID[:, 0], density, "k--", label="N(4, 0.5)")
plt.legend()
plt.title("2,000 samples drawn from the exported SavedModel")
plt.show()
