"""From a config to a compiled family model: the optimizers and the precision here, the rest
from the family's own ``build`` (``gans.registry``)."""

from __future__ import annotations

import math
from pathlib import Path

import keras

from tfgan_app.config import Config, OptimizerConfig, ema_decay_of
from tfgan_app.gans.registry import BuildContext, family_settings, get_family


@keras.saving.register_keras_serializable(package="tfgan_app")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``initial`` until ``start`` updates, then linearly to ``final_fraction`` x
    ``initial`` at ``end`` (CycleGAN: 100 epochs constant, 100 decaying to 0); with
    ``cosine``, along half a cosine instead (R3GAN, Huang et al. 2024)."""

    def __init__(self, initial: float, start: int, end: int, final_fraction: float = 0.0, cosine: bool = False):
        self.initial, self.start, self.end = initial, start, end
        self.final_fraction, self.cosine = final_fraction, cosine

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        progress = keras.ops.clip((step - self.start) / max(self.end - self.start, 1), 0.0, 1.0)
        remaining = 0.5 * (1.0 + keras.ops.cos(math.pi * progress)) if self.cosine else 1.0 - progress
        return self.initial * (self.final_fraction + (1.0 - self.final_fraction) * remaining)

    def get_config(self):
        return {"initial": self.initial, "start": self.start, "end": self.end,
                "final_fraction": self.final_fraction, "cosine": self.cosine}


class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam with each variable's update as one kernel, TensorFlow's
    ``ResourceApplyAdam``, the one tf.keras 2 used. Keras 3 writes the update as about ten
    element-wise ops per variable: for the default pipeline's 16 variables it takes about
    twice the fused kernels' time on this CPU (1.2-1.9 ms against 0.5-0.6 ms per update;
    benchmarks/optimizer_step.py). The
    kernel computes Keras' own formula (Kingma and Ba 2015, Algorithm 1, with the bias
    correction folded into the step size) on Keras' own slot variables (the private
    ``_momentums`` and ``_velocities`` that Keras' Adam reads too), so checkpoints are
    interchangeable. Sparse gradients and AMSGrad take Keras' path."""

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        if self.amsgrad or isinstance(gradient, tf.IndexedSlices) or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = keras.ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = keras.ops.cast(self.beta_1, dtype), keras.ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)

        def handle(value):  # a Keras variable wraps the tf.Variable whose handle the kernel takes
            return (value.value if isinstance(value, keras.Variable) else value).handle

        tf.raw_ops.ResourceApplyAdam(
            var=handle(variable), m=handle(self._momentums[index]), v=handle(self._velocities[index]),
            beta1_power=keras.ops.power(beta_1, step), beta2_power=keras.ops.power(beta_2, step),
            lr=keras.ops.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=keras.ops.cast(self.epsilon, dtype), grad=keras.ops.cast(gradient, dtype),
        )


class ScheduledBeta2Adam(FusedAdam):
    """Adam whose beta_2 is a function of its own update count (R3GAN raises it from 0.9 to
    0.99 as the learning rate decays, Huang et al. 2024). Keras' Adam reads ``self.beta_2``
    in each update, so a property computed from ``iterations`` schedules it with no state
    of its own: a resumed run continues exactly. The bias correction uses the current value
    (beta_2(t)^t), as PyTorch does when beta_2 is changed during training."""

    def __init__(self, *args, beta_2_schedule: LinearDecay, **kwargs):
        super().__init__(*args, **kwargs)
        self.beta_2_schedule = beta_2_schedule

    @property
    def beta_2(self):
        return self.beta_2_schedule(self.iterations)

    @beta_2.setter
    def beta_2(self, value) -> None:  # Adam.__init__ sets it; the schedule starts there
        pass

    def get_config(self):
        return {**super().get_config(), "beta_2": self.beta_2_schedule.initial}


@keras.saving.register_keras_serializable(package="tfgan_app")
class AnnealedDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``initial / (1 + 10 p)^0.75`` with p = update / ``end`` (Ganin et al. 2016, sec.
    5.2.2: the annealing DANN is trained with)."""

    def __init__(self, initial: float, end: int):
        self.initial, self.end = initial, end

    def __call__(self, step):
        progress = keras.ops.cast(step, "float32") / max(self.end, 1)
        return self.initial / (1.0 + 10.0 * progress) ** 0.75

    def get_config(self):
        return {"initial": self.initial, "end": self.end}


def bfloat16_is_fast() -> bool:
    """Whether this machine computes bfloat16 natively: a GPU of compute capability 8.0+
    (Ampere and later), or a CPU with AVX-512 BF16 or AMX. Elsewhere bfloat16 is emulated
    and slower than float32."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
        return capability is not None and tuple(capability) >= (8, 0)
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str) -> str:
    """``auto`` -> ``mixed_bfloat16`` where bfloat16 is native (measured on this project's
    CPU: 1.15-1.36x the float32 step, same FID after the same images), else ``float32``."""
    if precision != "auto":
        return precision
    return "mixed_bfloat16" if bfloat16_is_fast() else "float32"


def make_optimizer(
    config: OptimizerConfig, schedule: tuple[str, int, int] | None = None, loss_scaling: bool = False,
    final_fraction: float = 0.0, beta_2_final: float = 0.0,
) -> keras.optimizers.Optimizer:
    """An optimizer from its config; ``schedule`` = ("linear", "cosine" or "annealed", decay
    start, end) in its own updates, the first two ending at ``final_fraction`` x the rate
    (and, for Adam with ``beta_2_final``, beta_2 moving to that value along the same curve);
    ``loss_scaling`` wraps it for float16 training (Micikevicius et al. 2018)."""
    rate = config.learning_rate
    if schedule is not None and schedule[0] in ("linear", "cosine"):
        rate = LinearDecay(config.learning_rate, *schedule[1:], final_fraction, cosine=schedule[0] == "cosine")
    elif schedule is not None:
        rate = AnnealedDecay(config.learning_rate, schedule[2])
    if config.name == "adam" and beta_2_final and isinstance(rate, LinearDecay):
        beta_2 = LinearDecay(config.beta_2, rate.start, rate.end, beta_2_final / config.beta_2, rate.cosine)
        optimizer = ScheduledBeta2Adam(rate, beta_1=config.beta_1, beta_2=config.beta_2, beta_2_schedule=beta_2)
    elif config.name == "adam":
        optimizer = FusedAdam(rate, beta_1=config.beta_1, beta_2=config.beta_2)
    elif config.name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(rate, momentum=config.momentum)
    elif config.name == "sgd":
        optimizer = keras.optimizers.SGD(rate, momentum=config.momentum)
    else:
        raise ValueError(f"unknown optimizer {config.name!r}; choose adam, rmsprop or sgd")
    return keras.optimizers.LossScaleOptimizer(optimizer) if loss_scaling else optimizer


def _schedule(config: Config, total_steps: int, updates_per_step: int) -> tuple[str, int, int] | None:
    """(kind, start, end) of ``train.learning_rate_decay`` in updates, or None."""
    if config.train.learning_rate_decay == "none":
        return None
    end = total_steps * updates_per_step
    return config.train.learning_rate_decay, int(config.train.decay_start * end), end


def penalty_schedule(config: Config, total_steps: int) -> LinearDecay | None:
    """The factor of the gradient penalties' weights by generator step (1 -> ``train.
    penalty_final_fraction`` along the learning-rate curve), or None when they are constant."""
    schedule = _schedule(config, total_steps, 1)
    if config.train.penalty_final_fraction == 1.0 or schedule is None:
        return None
    return LinearDecay(1.0, schedule[1], schedule[2], config.train.penalty_final_fraction, schedule[0] == "cosine")


def _optimizers(config: Config, total_steps: int) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
    scaling = resolve_precision(config.train.precision) == "mixed_float16"
    final, beta_2_final = config.train.decay_final_fraction, config.train.beta_2_final
    return (
        make_optimizer(config.optimizer.generator, _schedule(config, total_steps, 1), scaling, final, beta_2_final),
        make_optimizer(
            config.optimizer.discriminator, _schedule(config, total_steps, config.train.discriminator_steps), scaling,
            final, beta_2_final,
        ),
    )


def build_model(
    config: Config,
    element_shape: tuple[int, ...],
    num_classes: int = 0,
    replicas: int = 1,
    total_steps: int = 1,
    class_names: tuple[str, ...] = (),
    steps_per_epoch: int = 0,
) -> keras.Model:
    """The compiled model of ``config.model.family``; call inside the strategy's scope.

    ``total_steps`` matters only for a learning-rate decay schedule and DANN's schedule;
    ``class_names`` (the source's, recorded in run.json) only for text-to-image, whose
    texts they are; ``steps_per_epoch`` only for schedules counted in epochs (top-k).
    """
    # Layers take the global policy when they are built; outputs that feed losses are
    # declared float32 in the builders.
    keras.mixed_precision.set_global_policy(resolve_precision(config.train.precision))
    if config.train.ema_half_life_images > 0:  # the EMA by half-life: every family reads ema_decay
        import dataclasses

        config = dataclasses.replace(config, train=dataclasses.replace(config.train, ema_decay=ema_decay_of(config.train)))
    generator_optimizer, discriminator_optimizer = _optimizers(config, total_steps)
    family = get_family(config.model.family)
    return family.build(BuildContext(
        config, family_settings(config), tuple(element_shape), num_classes, replicas, total_steps,
        generator_optimizer, discriminator_optimizer, tuple(class_names), steps_per_epoch,
    ))
