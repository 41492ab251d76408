"""From a config to a compiled family model: networks, optimizers, losses, switches."""

from __future__ import annotations

from pathlib import Path

import keras

from tfgan_app.config import Config, OptimizerConfig, parse_augmentations
from tfgan_app.gans.conditional import ConditionalGAN
from tfgan_app.gans.cyclegan import CycleGAN
from tfgan_app.gans.gan import GAN
from tfgan_app.gans.infogan import InfoGAN
from tfgan_app.gans.pix2pix import Pix2Pix
from tfgan_app.networks import build_networks
from tfgan_app.gans.domain_adaptation import ADDA, DANN
from tfgan_app.gans.sequence import SequenceGAN
from tfgan_app.networks.adaptation import domain_discriminator, feature_extractor, label_classifier
from tfgan_app.networks.sequence import recurrent_discriminator, recurrent_generator
from tfgan_app.gans.restoration import RestorationGAN, perceptual_features
from tfgan_app.gans.anomaly import EGBAD
from tfgan_app.networks.anomaly import bigan_discriminator, bigan_encoder
from tfgan_app.networks.dcgan import dcgan_discriminator, dcgan_generator
from tfgan_app.networks.restoration import inpainting_generator, srresnet_generator
from tfgan_app.networks.translation import patchgan_discriminator, resnet_generator, unet_generator


@keras.saving.register_keras_serializable(package="tfgan_app")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``initial`` until ``start`` updates, then linearly to 0 at ``end`` (CycleGAN:
    100 epochs constant, 100 decaying)."""

    def __init__(self, initial: float, start: int, end: int):
        self.initial, self.start, self.end = initial, start, end

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        fraction = (step - self.start) / max(self.end - self.start, 1)
        return self.initial * keras.ops.clip(1.0 - fraction, 0.0, 1.0)

    def get_config(self):
        return {"initial": self.initial, "start": self.start, "end": self.end}


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
    config: OptimizerConfig, schedule: tuple[str, int, int] | None = None, loss_scaling: bool = False
) -> keras.optimizers.Optimizer:
    """An optimizer from its config; ``schedule`` = ("linear" or "annealed", decay start,
    end) in its own updates; ``loss_scaling`` wraps it for float16 training (Micikevicius
    et al. 2018)."""
    rate = config.learning_rate
    if schedule is not None and schedule[0] == "linear":
        rate = LinearDecay(config.learning_rate, *schedule[1:])
    elif schedule is not None:
        rate = AnnealedDecay(config.learning_rate, schedule[2])
    if config.name == "adam":
        optimizer = keras.optimizers.Adam(rate, beta_1=config.beta_1, beta_2=config.beta_2)
    elif config.name == "rmsprop":
        optimizer = keras.optimizers.RMSprop(rate, momentum=config.momentum)
    elif config.name == "sgd":
        optimizer = keras.optimizers.SGD(rate, momentum=config.momentum)
    else:
        raise ValueError(f"unknown optimizer {config.name!r}; choose adam, rmsprop or sgd")
    return keras.optimizers.LossScaleOptimizer(optimizer) if loss_scaling else optimizer


def _optimizers(config: Config, total_steps: int) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
    def schedule(updates_per_step: int):
        if config.train.learning_rate_decay == "none":
            return None
        end = total_steps * updates_per_step
        return config.train.learning_rate_decay, int(config.train.decay_start * end), end

    scaling = resolve_precision(config.train.precision) == "mixed_float16"
    return (
        make_optimizer(config.optimizer.generator, schedule(1), scaling),
        make_optimizer(config.optimizer.discriminator, schedule(config.train.discriminator_steps), scaling),
    )


def build_model(
    config: Config,
    element_shape: tuple[int, ...],
    num_classes: int = 0,
    replicas: int = 1,
    total_steps: int = 1,
) -> keras.Model:
    """The compiled model of ``config.model.family``; call inside the strategy's scope.

    ``total_steps`` matters only for a learning-rate decay schedule and DANN's schedule.
    """
    model_cfg, loss, train = config.model, config.loss, config.train
    family = model_cfg.family
    # Layers take the global policy when they are built; outputs that feed losses are
    # declared float32 in the builders.
    keras.mixed_precision.set_global_policy(resolve_precision(train.precision))
    generator_optimizer, discriminator_optimizer = _optimizers(config, total_steps)
    if family == "pix2pix":
        model = Pix2Pix(
            unet_generator(element_shape, element_shape[-1], model_cfg.generator_width, model_cfg.unet_depth),
            patchgan_discriminator(element_shape, element_shape[-1], model_cfg.discriminator_width, model_cfg.patch_layers),
            discriminator_steps=train.discriminator_steps,
        )
        model.compile(generator_optimizer, discriminator_optimizer, loss.name, l1_weight=loss.l1_weight)
        return model
    if family == "cyclegan":
        def generator():
            return resnet_generator(element_shape, None, model_cfg.generator_width, model_cfg.residual_blocks)

        def discriminator():
            return patchgan_discriminator(element_shape, 0, model_cfg.discriminator_width, model_cfg.patch_layers)

        model = CycleGAN(generator(), generator(), discriminator(), discriminator(), pool_size=train.image_pool)
        model.compile(
            generator_optimizer, discriminator_optimizer, loss.name,
            cycle_weight=loss.cycle_weight, identity_weight=loss.identity_weight,
        )
        return model

    if family == "adda" and replicas > 1:
        raise ValueError(
            f"ADDA switches from its source phase to its adversarial phase inside the step (tf.cond "
            f"around optimizer updates), which MirroredStrategy cannot run; train it on one device "
            f"(--strategy one_device), not {replicas} replicas"
        )
    if family in APPLICATION_BUILDERS:
        return APPLICATION_BUILDERS[family](
            config, element_shape, num_classes, total_steps, generator_optimizer, discriminator_optimizer
        )
    if family == "cgan" and num_classes < 2:
        raise ValueError(f"the conditional GAN needs labelled data with at least 2 classes, got {num_classes}")
    code_dim = model_cfg.categorical_code + model_cfg.continuous_codes if family == "infogan" else 0
    if family == "sequence":
        length, features = element_shape
        cell = (model_cfg.recurrent_units, model_cfg.recurrent_layers, model_cfg.cell)
        generator = recurrent_generator(length, model_cfg.latent_dim, features, *cell)
        discriminator = recurrent_discriminator(length, features, *cell, model_cfg.minibatch_stddev)
    else:
        generator, discriminator = build_networks(
            model_cfg, element_shape, synchronized_batch_norm=replicas > 1,
            num_classes=num_classes if family == "cgan" else 0, code_dim=code_dim,
        )
    switches = dict(
        discriminator_steps=train.discriminator_steps, packing=model_cfg.packing, ema_decay=train.ema_decay,
        augmentations=parse_augmentations(train.augment), unrolled_steps=train.unrolled_steps,
        unrolled_learning_rate=train.unrolled_learning_rate, reuse_fakes=train.reuse_fakes,
        joint_discriminator_pass=train.joint_discriminator_pass,
    )
    if family == "cgan":
        model = ConditionalGAN(generator, discriminator, num_classes, **switches)
    elif family == "infogan":
        model = InfoGAN(
            generator, discriminator, model_cfg.categorical_code, model_cfg.continuous_codes,
            loss.information_weight, **switches,
        )
    elif family == "sequence":
        model = SequenceGAN(generator, discriminator, **switches)
    else:
        model = GAN(generator, discriminator, **switches)
    model.compile(
        generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer,
        loss=loss.name,
        label_smoothing=loss.label_smoothing,
        gradient_penalty_weight=loss.gradient_penalty_weight,
        weight_clip=loss.weight_clip,
        r1_weight=loss.r1_weight,
        feature_matching_weight=loss.feature_matching_weight,
    )
    return model


def _restoration(config: Config, element_shape, num_classes, total_steps, generator_optimizer, discriminator_optimizer) -> keras.Model:
    """SRGAN or the inpainting context encoder (``gans.restoration``)."""
    model_cfg, loss = config.model, config.loss
    if model_cfg.family == "srgan":
        scale = config.data.scale
        low = (element_shape[0] // scale, element_shape[1] // scale, element_shape[2])
        generator = srresnet_generator(low, scale, model_cfg.generator_width, model_cfg.residual_blocks)
    else:
        generator = inpainting_generator(element_shape, model_cfg.generator_width, model_cfg.unet_depth)
    discriminator = dcgan_discriminator(
        element_shape, model_cfg.discriminator_width, model_cfg.spectral_norm,
        norm=model_cfg.discriminator_norm,
    )
    perceptual = None
    if loss.perceptual_weight:
        from tfgan_app.metrics.features import cache_dir

        folder = loss.perceptual_classifier or str(cache_dir() / config.data.name)
        perceptual = perceptual_features(folder, element_shape)
    model = RestorationGAN(generator, discriminator, perceptual, config.train.discriminator_steps)
    model.compile(
        generator_optimizer, discriminator_optimizer, loss.name,
        adversarial_weight=loss.adversarial_weight, perceptual_weight=loss.perceptual_weight,
    )
    return model


def _adaptation(config: Config, element_shape, num_classes, total_steps, generator_optimizer, discriminator_optimizer) -> keras.Model:
    """DANN or ADDA (``gans.domain_adaptation``) on RGB images of ``element_shape``."""
    width, units = config.model.discriminator_width, config.model.hidden_units
    extractor = feature_extractor(element_shape, width)
    feature_dim = extractor.output_shape[-1]
    classifier = label_classifier(feature_dim, num_classes, units)
    discriminator = domain_discriminator(feature_dim, units)
    if config.model.family == "dann":
        model = DANN(extractor, classifier, discriminator, total_steps, config.loss.adaptation_weight)
        model.compile(generator_optimizer, discriminator_optimizer, config.loss.name)
        return model
    target = feature_extractor(element_shape, width, name="target_extractor")
    model = ADDA(extractor, target, classifier, discriminator, config.train.pretrain_steps)
    model.compile(
        generator_optimizer, discriminator_optimizer, config.loss.name,
        classifier_optimizer=make_optimizer(config.optimizer.classifier),
    )
    return model


def _anomaly(config: Config, element_shape, num_classes, total_steps, generator_optimizer, discriminator_optimizer) -> keras.Model:
    """EGBAD (``gans.anomaly``): the DCGAN generator, an encoder and a joint discriminator."""
    model_cfg = config.model
    generator = dcgan_generator(model_cfg.latent_dim, element_shape, model_cfg.generator_width, model_cfg.batch_norm_momentum)
    encoder = bigan_encoder(element_shape, model_cfg.latent_dim, model_cfg.discriminator_width)
    discriminator = bigan_discriminator(element_shape, model_cfg.latent_dim, model_cfg.discriminator_width)
    model = EGBAD(generator, encoder, discriminator, config.loss.anomaly_weight)
    model.compile(generator_optimizer, discriminator_optimizer, config.loss.name)
    return model


APPLICATION_BUILDERS = {
    "anomaly": _anomaly,
    "srgan": _restoration, "inpainting": _restoration, "dann": _adaptation, "adda": _adaptation,
}
