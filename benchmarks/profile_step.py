"""Where the training step's time goes: the TensorFlow profiler's per-op self-times for a
pipeline's compiled step, grouped by network, layer and kind of work.

    python benchmarks/profile_step.py [--pipeline fashion_mnist_dcgan] [--steps 80]
        [--warmup 40] [--set KEY=VALUE ...] [--top 25] [--floor] [--json F]

The pipeline's model trains as ``benchmarks/throughput.py``'s shipped row does (its own
precision and steps per call, the tf.data pipeline); after ``--warmup`` steps,
``--steps`` more run under ``tf.profiler``. The profile's "framework op stats" give each
op's self-time on the host (the CPU's inter-op threads: their sum can exceed the wall time);
the script sums them per step and prints

- by kind: convolution forward / input gradient / filter gradient (a transposed
  convolution's forward pass is an input gradient, its backward a forward convolution and
  a filter gradient), matmul, batch norm, activations, casts (bfloat16 <-> float32),
  optimizer and EMA updates, other element-wise work;
- by layer: the network and layer each op belongs to (from its name scope), with its kinds;
- the step's wall time beside the summed op time (their ratio shows how busy the two
  cores were) and the time no op ran (dispatch, waiting);
- with ``--floor``, the work floor: every convolution kernel of one step of Algorithm 1
  (forward, input gradient, filter gradient, as many times as the step runs each) timed on
  its own at the step's shapes and precision, summed, plus the profile's op time for
  everything else, divided by the cores. No implementation of the same step on these
  kernels runs faster than that (it would need more than every core busy all the time),
  so it bounds the images/s of any framework that does this step's work here.
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# (kind, pattern on the op type), first match wins.
KINDS = (
    ("conv filter gradient", r"Conv2DBackpropFilter"),
    ("conv input gradient", r"Conv2DBackpropInput"),
    ("conv forward", r"Conv2D"),
    ("matmul", r"MatMul"),
    ("batch norm", r"BatchNorm"),
    ("activation", r"Relu|LeakyRelu|Tanh|Sigmoid|Softplus"),
    ("cast", r"^Cast$"),
    ("variable update", r"Apply|Assign"),
)


def kind_of(op_type: str, name: str) -> str:
    for kind, pattern in KINDS:
        if re.search(pattern, op_type):
            return kind
    # Adam's and the EMA's arithmetic runs as element-wise ops under the optimizer's scope.
    if re.search(r"(?i)adam|optimizer|moving_average|ema", name):
        return "variable update"
    return "other element-wise"


def layer_of(name: str) -> str:
    """'network/layer' from an op's name scope ('gradient_tape/dcgan_generator_1/up_0_1/...'
    -> 'dcgan_generator/up_0'), or the first scope that is not a control-flow wrapper."""
    parts = [part for part in name.split("/") if not re.match(
        r"^(while|body|cond|then|else|_\d+|StatefulPartitionedCall|PartitionedCall|gradient_tape|Adam|SGD)$", part)]
    for index, part in enumerate(parts):
        if re.search(r"(generator|discriminator)", part):
            network = re.sub(r"_\d+$", "", part)
            layer = re.sub(r"_\d+$", "", parts[index + 1]) if index + 1 < len(parts) else ""
            return f"{network}/{layer}"
    # Inside a nested call the network's own scope can be missing: the layer alone.
    return re.sub(r"_\d+$", "", parts[0]) if parts else name


def kernel_counts(layer_network: str, first_layer: bool, reuse_fakes: bool) -> dict[str, int]:
    """How often one step of Algorithm 1 (one D update, then one G update) runs each kernel
    of a convolution layer: D's layers run forward on real and fake in D's update and on the
    fakes in G's; their filter gradients in D's update only; their input gradients in D's
    update except the first layer's (the images need none), and in G's update. G's layers
    run forward for D's fakes and again for G's update (once with ``reuse_fakes``), and
    backward once. Steps that do more (several D updates, gradient penalties, a relativistic
    G loss that also scores real data) run these kernels more often: for them the counts are
    low, and the floor is still a bound, only a looser one."""
    if layer_network == "discriminator":
        return {"forward": 3, "filter gradient": 2, "input gradient": 1 if first_layer else 3}
    return {"forward": 1 if reuse_fakes else 2, "filter gradient": 1, "input gradient": 1}


def convolution_kernels(layer, inputs, upstream, kernel) -> dict[str, Callable]:
    """The forward, input-gradient and filter-gradient kernels TensorFlow runs for a Conv2D
    or Conv2DTranspose ``layer`` (no bias) on ``inputs``, with ``upstream`` the gradient
    arriving at its output and ``kernel`` its weights, as functions of no arguments. A
    transposed convolution's forward pass is a convolution's input gradient, and its input
    gradient a forward convolution."""
    import keras
    import tensorflow as tf

    options = dict(strides=[1, *layer.strides, 1], padding=layer.padding.upper())
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return {
            "forward": lambda: tf.raw_ops.Conv2DBackpropInput(
                input_sizes=tf.shape(upstream), filter=kernel, out_backprop=inputs, **options),
            "input gradient": lambda: tf.raw_ops.Conv2D(input=upstream, filter=kernel, **options),
            "filter gradient": lambda: tf.raw_ops.Conv2DBackpropFilter(
                input=upstream, filter_sizes=tf.shape(kernel), out_backprop=inputs, **options),
        }
    return {
        "forward": lambda: tf.raw_ops.Conv2D(input=inputs, filter=kernel, **options),
        "input gradient": lambda: tf.raw_ops.Conv2DBackpropInput(
            input_sizes=tf.shape(inputs), filter=kernel, out_backprop=upstream, **options),
        "filter gradient": lambda: tf.raw_ops.Conv2DBackpropFilter(
            input=inputs, filter_sizes=tf.shape(kernel), out_backprop=upstream, **options),
    }


def convolution_kernel_time(model, batch: int, dtype, reuse_fakes: bool, repeats: int = 30) -> tuple[float, list]:
    """(ms per step, rows): the step's convolution kernels run one after another, for a
    generator/discriminator model: each Conv2D and Conv2DTranspose kernel timed alone (median
    of ``repeats`` calls of a compiled function), times its count per step. Other layer types
    are not counted (the profile's op time covers them in the work floor)."""
    import keras
    import tensorflow as tf

    rows, total = [], 0.0
    for network_name, network in (("generator", model.generator), ("discriminator", model.discriminator)):
        convolutions = [layer for layer in network.layers
                        if type(layer) in (keras.layers.Conv2D, keras.layers.Conv2DTranspose)]
        for index, layer in enumerate(convolutions):
            counts = kernel_counts(network_name, index == 0, reuse_fakes)
            inputs = tf.cast(tf.random.normal([batch, *layer.input.shape[1:]]), dtype)
            upstream = tf.cast(tf.random.normal([batch, *layer.output.shape[1:]]), dtype)
            kernels = convolution_kernels(layer, inputs, upstream, tf.cast(layer.kernel, dtype))
            for kind, function in kernels.items():
                compiled = tf.function(function)
                for _ in range(3):
                    compiled().numpy()
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    compiled().numpy()
                    times.append(time.perf_counter() - started)
                milliseconds = sorted(times)[len(times) // 2] * 1e3
                total += milliseconds * counts[kind]
                rows.append((f"{network_name}/{layer.name}", kind, counts[kind], milliseconds))
    return total, rows


def op_stats(logdir: str) -> list[dict]:
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as profiler_plugin

    [path] = sorted(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True))[-1:]
    data, _ = profiler_plugin.xspace_to_tools_data([path], "framework_op_stats", {})
    table = json.loads(data)[0]
    columns = [column["id"] for column in table["cols"]]
    return [dict(zip(columns, [cell.get("v") for cell in row["c"]])) for row in table["rows"]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pipeline", default="fashion_mnist_dcgan")
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--warmup", type=int, default=40)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--top", type=int, default=25, help="layers listed")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--floor", action="store_true", help="also time the step's convolution kernels alone: the work floor")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from tfgan_app.gans.registry import family_source, load_config
    from tfgan_app.data import make_train_dataset
    from tfgan_app.gans import build_model

    config = load_config(args.pipeline, args.set)
    source = family_source(config)
    keras.utils.set_random_seed(0)
    model = build_model(config, source.element_shape, source.num_classes)
    model.steps_per_execution = config.train.steps_per_execution  # as the trainer sets it
    per_call = config.train.steps_per_execution
    steps = max(per_call, args.steps // per_call * per_call)
    batch = config.train.batch_size
    dataset = make_train_dataset(
        source, batch, config.train.discriminator_steps, model.noise_dim, config.seed, batch_type=model.batch_type
    )
    model.fit(dataset, steps_per_epoch=max(per_call, args.warmup), epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        started = time.perf_counter()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
        wall = time.perf_counter() - started
        tf.profiler.experimental.stop()
        rows = op_stats(logdir)

    idle = sum(row["total_self_time"] for row in rows if row["type"] == "IDLE") / 1e3 / steps
    busy = [row for row in rows if row["type"] != "IDLE"]
    total = sum(row["total_self_time"] for row in busy) / 1e3 / steps  # ms per step
    by_kind: dict[str, float] = collections.Counter()
    by_layer: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for row in busy:
        milliseconds = row["total_self_time"] / 1e3 / steps
        kind = kind_of(row["type"], row["operation"])
        by_kind[kind] += milliseconds
        by_layer[layer_of(row["operation"])][kind] += milliseconds

    step_ms = wall / steps * 1e3
    print(f"{args.pipeline}: {steps} profiled steps of batch {batch} ({per_call} per call), "
          f"{step_ms:.1f} ms per step wall ({batch / step_ms * 1e3:.0f} images/s under the profiler)")
    print(f"summed op self-time {total:.1f} ms per step ({total / step_ms:.2f} cores busy); "
          f"no op running: {idle:.1f} ms per step, summed over threads")
    print(f"\n{'kind':<24} {'ms/step':>8} {'share':>6}")
    for kind, milliseconds in sorted(by_kind.items(), key=lambda item: -item[1]):
        print(f"{kind:<24} {milliseconds:8.2f} {milliseconds / total:6.1%}")
    print(f"\n{'layer':<44} {'ms/step':>8} {'share':>6}  kinds (ms/step)")
    layers = sorted(by_layer.items(), key=lambda item: -sum(item[1].values()))
    for layer, kinds in layers[: args.top]:
        milliseconds = sum(kinds.values())
        detail = ", ".join(f"{kind} {value:.2f}" for kind, value in kinds.most_common(3))
        print(f"{layer[:44]:<44} {milliseconds:8.2f} {milliseconds / total:6.1%}  {detail}")
    floor = None
    if args.floor:
        dtype = tf.bfloat16 if keras.mixed_precision.global_policy().compute_dtype == "bfloat16" else tf.float32
        convolutions, floor_rows = convolution_kernel_time(model, batch, dtype, config.train.reuse_fakes)
        print(f"\nthe step's convolution kernels alone ({dtype.name}, median of 30 calls each):")
        print(f"{'layer':<32} {'kernel':<16} {'per step':>8} {'ms':>7}")
        for layer, kind, count, milliseconds in floor_rows:
            print(f"{layer:<32} {kind:<16} {count:>8} {milliseconds:7.2f}")
        rest = total - sum(by_kind[kind] for kind in ("conv forward", "conv input gradient", "conv filter gradient"))
        cores = os.cpu_count() or 1
        floor = (convolutions + rest) / cores
        print(f"convolutions one after another: {convolutions:.1f} ms per step; the rest of the step's ops "
              f"(profile): {rest:.1f} ms; on {cores} cores always busy at least {floor:.1f} ms per step, "
              f"so at most {batch / floor * 1e3:.0f} images/s for this step's work (measured: {step_ms:.1f} ms)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "pipeline": args.pipeline, "overrides": args.set, "steps": steps, "batch": batch,
            "wall_ms_per_step": step_ms, "op_ms_per_step": total, "idle_ms_per_step": idle,
            "by_kind": dict(by_kind), "by_layer": {layer: dict(kinds) for layer, kinds in layers},
            "work_floor_ms_per_step": floor,
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
