"""Training throughput: tfgan_app's trainer vs a plain keras.io-style ``train_step`` vs
PyTorch, on the default pipeline's DCGAN networks (Fashion-MNIST 28x28, the pipeline's
latent size and width), one after another in this process.

The peers are configured as their users would: the keras.io step in float32 and under
Keras' ``mixed_bfloat16`` policy; PyTorch eager in float32 and with bfloat16 autocast, and
``torch.compile`` with autocast (left out, with the reason, where it does not compile). The
script prints the ratio of the default pipeline as shipped to the best peer row, and the
bfloat16 limit of the step (bfloat16 matmul peak / FLOPs per image).

    python benchmarks/throughput.py [--batches 64,256] [--windows 5] [--window-steps 20]
        [--rounds 1] [--json results.json]

Every figure is real images per second, the median of ``--windows`` timed windows after a
warm-up (with ``--rounds`` N, every implementation is measured N times in turn and the median
of its rounds is reported, which evens out drift in a shared machine's speed); each row also
shows the achieved GFLOP/s (from a FLOP count of the step: see ``step_flops``) and its share
of a float32 matmul's peak measured here. Data come from an in-memory tensor, so the input
pipeline is not what is measured; tfgan_app's row runs its own ``tf.data`` pipeline, as
training does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

def _default_network_sizes() -> tuple[int, int]:
    """(latent size, width) of the default pipeline, so every row trains the networks it ships."""
    from tfgan_app.gans.registry import load_config

    model = load_config("fashion_mnist_dcgan").model
    if model.generator_width != model.discriminator_width:
        raise AssertionError("the peers' networks assume one width for G and D")
    return model.latent_dim, model.generator_width


(LATENT, WIDTH), SIDE = _default_network_sizes(), 28


# --- FLOPs ----------------------------------------------------------------------------


def forward_flops(batch: int) -> tuple[float, float]:
    """(generator, discriminator) forward FLOPs (2 per multiply-add) at ``batch``, for the
    DCGAN of ``tfgan_app.networks.dcgan`` at 28x28 with width 64 (convolutions and dense
    layers; normalisation and activations are a few per cent and left out)."""
    top = WIDTH * 2  # 7x7x128 after the projection
    generator = (
        LATENT * 7 * 7 * top                       # project
        + 7 * 7 * 4 * 4 * top * WIDTH              # ConvT 7->14, 128->64: input pixels x taps x Cin x Cout
        + 14 * 14 * 4 * 4 * WIDTH * 1              # ConvT 14->28, 64->1
    )
    discriminator = (
        14 * 14 * 4 * 4 * 1 * WIDTH                # conv 28->14, 1->64: output pixels x taps x Cin x Cout
        + 7 * 7 * 4 * 4 * WIDTH * top              # conv 14->7, 64->128
        + 7 * 7 * top                              # logit
    )
    return 2.0 * generator * batch, 2.0 * discriminator * batch


def step_flops(batch: int) -> float:
    """FLOPs of one step of Algorithm 1 with k = 1, backward = 2x forward: D step = G forward
    on m + D forward and backward on 2m; G step = G forward and backward on m + D forward and
    backward (input gradients) on m. The same count for every implementation below: the rows
    whose G update reuses D's fakes (the shipped default, PyTorch's example) run one G
    forward pass less, so theirs is an Algorithm-1-equivalent rate."""
    generator, discriminator = forward_flops(batch)
    return generator * (1 + 3) + discriminator * (2 * 3 + 3)


def matmul_peak_gflops(size: int = 4096, repeats: int = 10, dtype: str = "float32") -> float:
    import tensorflow as tf

    a = tf.cast(tf.random.normal([size, size]), dtype)
    b = tf.cast(tf.random.normal([size, size]), dtype)
    product = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b), tf.float32)))  # a scalar back: no copy timed
    product().numpy()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        product().numpy()
        times.append(time.perf_counter() - started)
    return 2 * size**3 / min(times) / 1e9


# --- (a) tfgan_app --------------------------------------------------------------------


def measure_keras_model(model, dataset, batch: int, windows: int, window_steps: int, warmup: int) -> float:
    """Median images/s of ``fit`` over timed windows of at least ``window_steps`` steps
    (callback clock, after warm-up). Keras calls the callback after every
    ``steps_per_execution`` steps, so windows are measured in the steps between calls."""
    import keras

    marks: list[tuple[int, float]] = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, index, logs=None):
            if index >= warmup and (not marks or index - marks[-1][0] >= window_steps):
                marks.append((index, time.perf_counter()))

    per_call = getattr(model, "steps_per_execution", 1) or 1
    model.fit(dataset, steps_per_epoch=warmup + (windows + 1) * max(window_steps, per_call) + per_call, epochs=1,
              verbose=0, callbacks=[Clock()], shuffle=False)
    rates = [(j - i) * batch / (b - a) for (i, a), (j, b) in zip(marks, marks[1:])]
    return statistics.median(rates[:windows])


def tfgan_app_rate(
    batch: int, precision: str, source, reuse_fakes: bool = False, steps_per_execution: int = 1,
    overrides: tuple[str, ...] = (), as_shipped: bool = False, **timing
) -> float:
    """``as_shipped``: the default pipeline's own precision, reuse_fakes and steps per call."""
    import keras

    from tfgan_app.gans.registry import load_config
    from tfgan_app.data import make_train_dataset
    from tfgan_app.gans import build_model

    switches = [] if as_shipped else [f"train.precision={precision}", f"train.reuse_fakes={str(reuse_fakes).lower()}"]
    config = load_config("fashion_mnist_dcgan", [f"train.batch_size={batch}", *switches, *overrides])
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape)
    # As the trainer sets it.
    model.steps_per_execution = config.train.steps_per_execution if as_shipped else steps_per_execution
    dataset = make_train_dataset(source, batch, 1, model.noise_dim, seed=0, batch_type=model.batch_type)
    rate = measure_keras_model(model, dataset, batch, **timing)
    keras.mixed_precision.set_global_policy("float32")
    return rate


def pipeline_rate(batch: int, source, batches: int = 200) -> float:
    """Real images/s the input pipeline alone delivers (what training could at most consume):
    far above the training rate means training never waits for data."""
    from tfgan_app.data import make_train_dataset

    iterator = iter(make_train_dataset(source, batch, 1, LATENT, seed=0))
    for _ in range(10):
        next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch / (time.perf_counter() - started)


# --- (b) plain keras.io-style -----------------------------------------------------------


def keras_io_networks():
    """The default pipeline's DCGAN (``tfgan_app.networks.dcgan`` at width 64) written with
    stock Keras layers only, as a user of plain Keras would: the same layers, shapes and
    parameter counts (checked against tfgan_app's builders), but Keras' own batch norm
    where tfgan_app's runs TensorFlow's fused kernel."""
    import keras

    from tfgan_app.networks import dcgan_discriminator, dcgan_generator

    layers = keras.layers
    top = WIDTH * 2
    z = keras.Input((LATENT,), name="z")
    x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(layers.Dense(7 * 7 * top, use_bias=False)(z)))
    x = layers.Reshape((7, 7, top))(x)
    x = layers.Conv2DTranspose(WIDTH, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization(momentum=0.9)(x))
    x = layers.Conv2DTranspose(1, 4, strides=2, padding="same")(x)
    generator = keras.Model(z, layers.Activation("tanh", dtype="float32")(x))
    image = keras.Input((SIDE, SIDE, 1), name="image")
    x = layers.LeakyReLU(0.2)(layers.Conv2D(WIDTH, 4, strides=2, padding="same")(image))
    x = layers.Conv2D(top, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(layers.BatchNormalization(momentum=0.9)(x))
    logit = layers.Dense(1, dtype="float32")(layers.Flatten()(x))
    discriminator = keras.Model(image, {"logit": logit})
    for plain, ours in ((generator, dcgan_generator(LATENT, (SIDE, SIDE, 1), WIDTH)),
                        (discriminator, dcgan_discriminator((SIDE, SIDE, 1), WIDTH))):
        if plain.count_params() != ours.count_params():
            raise AssertionError(f"{ours.name}: {plain.count_params()} parameters, tfgan_app's {ours.count_params()}")
    return generator, discriminator


def keras_io_gan():
    """The keras.io DCGAN example's ``train_step`` (one D update on real and fake together
    with noisy labels, then one G update with fresh noise), float32, no XLA, on the default
    pipeline's networks. A compiled ``keras.Model``; ``fit`` it on batches of real images."""
    import keras
    import tensorflow as tf

    class PlainGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator = keras_io_networks()
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
            self.g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
            self.d_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
            self.built = True

        def train_step(self, real):
            size = tf.shape(real)[0]
            z = tf.random.normal([size, LATENT])
            fake = self.generator(z)
            combined = tf.concat([fake, real], axis=0)
            labels = tf.concat([tf.ones([size, 1]), tf.zeros([size, 1])], axis=0)
            labels += 0.05 * tf.random.uniform(tf.shape(labels))
            with tf.GradientTape() as tape:
                d_loss = self.loss_fn(labels, self.discriminator(combined)["logit"])
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            z = tf.random.normal([size, LATENT])
            with tf.GradientTape() as tape:
                g_loss = self.loss_fn(tf.zeros([size, 1]), self.discriminator(self.generator(z))["logit"])
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            return {"d_loss": d_loss, "g_loss": g_loss}

    model = PlainGAN()
    model.compile()
    return model


def real_batches(images: np.ndarray, batch: int):
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(images).repeat().batch(batch, drop_remainder=True).prefetch(2)


def keras_io_rate(batch: int, images: np.ndarray, policy: str = "float32", **timing) -> float:
    """``policy``: Keras' global dtype policy while the networks are built ("mixed_bfloat16"
    is what a Keras user switches on for bfloat16; the logit and image layers stay float32)."""
    import keras

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy(policy)
    try:
        return measure_keras_model(keras_io_gan(), real_batches(images, batch), batch, **timing)
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --- (c) PyTorch eager ------------------------------------------------------------------


SKIPPED: dict[str, str] = {}  # row -> why it was left out
PYTORCH = ("PyTorch eager (float32, channels-last)", "PyTorch eager (bf16 autocast, channels-last)",
           "PyTorch torch.compile (bf16 autocast)")


def torch_rate(
    batch: int, images: np.ndarray, windows: int, window_steps: int, warmup: int,
    bfloat16: bool = False, compiled: bool = False, row: str = "",
) -> float | None:
    """PyTorch's step on the same networks, as PyTorch's DCGAN example writes it (G's update
    scores the fakes D was just updated on); ``bfloat16``: the forward passes under
    ``torch.autocast("cpu", dtype=torch.bfloat16)``; ``compiled``: both networks through
    ``torch.compile`` (None, with the reason in SKIPPED, when it fails here)."""
    import contextlib

    try:
        import torch
        from torch import nn
    except ImportError:
        SKIPPED[row] = "PyTorch is not installed (pip install torch)"
        return None
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    top = WIDTH * 2

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Sequential(nn.Linear(LATENT, 7 * 7 * top, bias=False), nn.BatchNorm1d(7 * 7 * top), nn.ReLU())
            self.up = nn.Sequential(
                nn.ConvTranspose2d(top, WIDTH, 4, 2, 1, bias=False), nn.BatchNorm2d(WIDTH), nn.ReLU(),
                nn.ConvTranspose2d(WIDTH, 1, 4, 2, 1), nn.Tanh(),
            )

        def forward(self, z):
            return self.up(self.project(z).view(-1, top, 7, 7).contiguous(memory_format=torch.channels_last))

    discriminator = nn.Sequential(
        nn.Conv2d(1, WIDTH, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(WIDTH, top, 4, 2, 1), nn.BatchNorm2d(top), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(7 * 7 * top, 1),
    ).to(memory_format=torch.channels_last)
    generator = Generator().to(memory_format=torch.channels_last)
    if compiled:
        generator, discriminator = torch.compile(generator), torch.compile(discriminator)
    autocast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bfloat16 else contextlib.nullcontext
    g_optimizer = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
    d_optimizer = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    loss_fn = nn.BCEWithLogitsLoss()
    data = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step(index):
        start = (index * batch) % (len(data) - batch)
        real = data[start : start + batch]
        with autocast():
            fake = generator(torch.randn(batch, LATENT))
            d_loss = loss_fn(discriminator(real).float(), ones) + loss_fn(discriminator(fake.detach()).float(), zeros)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        # G's update scores the same fakes, as PyTorch's DCGAN example does (its users' step).
        with autocast():
            g_loss = loss_fn(discriminator(fake).float(), ones)
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        g_optimizer.step()

    try:
        for index in range(warmup):
            step(index)
    except Exception as error:  # torch.compile needs a working C++ toolchain and may fail
        if not compiled:
            raise
        SKIPPED[row] = f"torch.compile failed here: {type(error).__name__}: {str(error).splitlines()[0][:200]}"
        return None
    rates = []
    for window in range(windows):
        started = time.perf_counter()
        for index in range(window_steps):
            step(warmup + window * window_steps + index)
        rates.append(window_steps * batch / (time.perf_counter() - started))
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--window-steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only-peers", action="store_true",
                        help="measure the shipped default and the peer rows only")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from tfgan_app.config import DataConfig
    from tfgan_app.data import load_source, to_model_range

    source = load_source(DataConfig())
    images = to_model_range(source.images[:20_000]).numpy()
    timing = dict(windows=args.windows, window_steps=args.window_steps, warmup=args.warmup)
    peak = matmul_peak_gflops()
    bfloat16_peak = matmul_peak_gflops(dtype="bfloat16")
    shipped = "tfgan_app default pipeline as shipped"
    fresh_noise = "tfgan_app as shipped, G on fresh noise"  # what reuse_fakes gives, measured
    peers = {
        "keras.io-style train_step (float32)": lambda batch: keras_io_rate(batch, images, **timing),
        "keras.io-style train_step (mixed_bfloat16)": lambda batch: keras_io_rate(batch, images, "mixed_bfloat16", **timing),
        "PyTorch eager (float32, channels-last)": lambda batch: torch_rate(batch, images, **timing, row=PYTORCH[0]),
        "PyTorch eager (bf16 autocast, channels-last)": lambda batch: torch_rate(
            batch, images, **timing, bfloat16=True, row=PYTORCH[1]),
        "PyTorch torch.compile (bf16 autocast)": lambda batch: torch_rate(
            batch, images, **timing, bfloat16=True, compiled=True, row=PYTORCH[2]),
    }
    rows, pipelines = [], {}
    for batch in (int(b) for b in args.batches.split(",")):
        pipelines[batch] = pipeline_rate(batch, source)
        implementations = {
            shipped: lambda: tfgan_app_rate(batch, "auto", source, as_shipped=True, **timing),
            fresh_noise: lambda: tfgan_app_rate(
                batch, "auto", source, as_shipped=True, overrides=("train.reuse_fakes=false",), **timing),
            "tfgan_app float32": lambda: tfgan_app_rate(batch, "float32", source, **timing),
            "tfgan_app float32 reuse_fakes": lambda: tfgan_app_rate(batch, "float32", source, True, **timing),
            "tfgan_app mixed_bfloat16": lambda: tfgan_app_rate(batch, "mixed_bfloat16", source, **timing),
            "tfgan_app mixed_bfloat16 reuse_fakes": lambda: tfgan_app_rate(
                batch, "mixed_bfloat16", source, True, **timing
            ),
            "tfgan_app mixed_bfloat16 reuse_fakes spe=8": lambda: tfgan_app_rate(
                batch, "mixed_bfloat16", source, True, steps_per_execution=8, **timing
            ),
            **{name: (lambda measure=measure: measure(batch)) for name, measure in peers.items()},
        }
        if args.only_peers:
            implementations = {name: implementations[name] for name in (shipped, fresh_noise, *peers)}
        rounds = {name: [] for name in implementations}
        for _ in range(args.rounds):
            for name, measure in implementations.items():
                rounds[name].append(measure())
        measured = {name: None if None in rates else statistics.median(rates) for name, rates in rounds.items()}
        flops_per_image = step_flops(batch) / batch
        for name, rate in measured.items():
            if rate is None:
                continue
            gflops = rate * flops_per_image / 1e9
            rows.append({"batch": batch, "implementation": name, "images_per_s": rate,
                         "gflops": gflops, "share_of_peak": gflops / peak})
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} cores; TensorFlow {tf.__version__}, Keras {keras.__version__}"
          + (f", PyTorch {__import__('torch').__version__}" if any("PyTorch" in r["implementation"] for r in rows) else ""))
    flops_per_image = step_flops(64) / 64
    print(f"matmul peak (4096^2, best of 10): float32 {peak:.0f} GFLOP/s, bfloat16 {bfloat16_peak:.0f} GFLOP/s; "
          f"step FLOPs per real image: {flops_per_image / 1e6:.1f} MFLOP; bfloat16 limit of the step "
          f"{bfloat16_peak * 1e9 / flops_per_image:.0f} images/s")
    print(f"{'batch':>5}  {'implementation':<46}{'images/s':>10}{'GFLOP/s':>9}{'of fp32 peak':>13}")
    for row in rows:
        print(f"{row['batch']:>5}  {row['implementation']:<46}{row['images_per_s']:>10.0f}"
              f"{row['gflops']:>9.1f}{row['share_of_peak']:>12.1%}")
    for name, why in SKIPPED.items():
        print(f"left out: {name}: {why}")
    for batch, rate in pipelines.items():
        print(f"batch {batch}: the input pipeline alone delivers {rate:.0f} images/s")
    for batch in sorted({row["batch"] for row in rows}):
        by_name = {row["implementation"]: row["images_per_s"] for row in rows if row["batch"] == batch}
        measured_peers = {name: by_name[name] for name in peers if name in by_name}
        best_peer = max(measured_peers, key=measured_peers.get)
        print(f"batch {batch}: shipped default {by_name[shipped]:.0f} images/s = "
              f"{by_name[shipped] / measured_peers[best_peer]:.2f}x the best peer ({best_peer}, "
              f"{measured_peers[best_peer]:.0f}); {by_name[shipped] * flops_per_image / 1e9 / bfloat16_peak:.0%} "
              f"of the bfloat16 limit")
    if args.json:
        args.json.write_text(json.dumps({"peak_gflops": peak, "bfloat16_peak_gflops": bfloat16_peak, "skipped": SKIPPED,
                                         "rows": rows, "pipeline_images_per_s": pipelines}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
