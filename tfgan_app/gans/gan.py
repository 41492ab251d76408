"""The GAN: Algorithm 1 of Goodfellow et al. 2014 as a ``keras.Model``.

    for each training iteration:
        for k = discriminator_steps times:
            take m real examples x and m noise vectors z
            update D by descending the gradient of its loss on (x, G(z))
        take m noise vectors z
        update G by descending the gradient of its loss on D(G(z)), D held fixed

``GAN`` is the unconditional model and the base of the noise-to-image families: the
conditional GAN, AC-GAN and InfoGAN override only how G's inputs are made from a minibatch
(``generator_inputs``), what D is shown (``discriminate``) and extra loss terms
(``auxiliary_loss`` on the fakes, ``real_auxiliary_loss`` on the data). The stabilisers are switches here, so every such family gets them:
EMA of G's weights, differentiable augmentation, R1 and gradient penalties, weight clipping,
feature matching, an unrolled discriminator and PacGAN packing.

All randomness (noise, interpolation factors, augmentation parameters) arrives in the batch
from the input pipeline (``tfgan_app.data.pipeline``), so a step is a pure function of its
batch and the weights: distributed, resumed and single-device runs agree exactly.

Losses are averaged over the *global* batch (``compute_average_loss``); Keras optimizers
sum gradients across replicas, so N replicas compute the same update as one device.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.config import ConfigError, parse_augmentations
from tfgan_app.data.pipeline import step_randomness, to_model_range
from tfgan_app.gans.augment import AdaptiveAugment, diff_augment
from tfgan_app.gans.base import (
    GeneratorDiscriminatorModel, global_mean, logit_of, optimizer_step, readout, run_without_state_updates,
)
from tfgan_app.gans.build import penalty_schedule
from tfgan_app.gans.progressive import ProgressiveGrowing
from tfgan_app.gans.registry import NOISE_TO_IMAGE_SWITCHES, BuildContext, Family
from tfgan_app.inputs import InputKind, Truncation
from tfgan_app.networks import build_networks
from tfgan_app.networks.layers import MinibatchStddev, SpectralNorm, all_layers, freeze_first_layers
from tfgan_app.networks.stylegan import is_style_based, progressive_gates, with_style_truncation


class NoiseBatch(NamedTuple):
    """One step of Algorithm 1, filled by ``data.pipeline`` (k = discriminator_steps)."""

    real: tf.Tensor  # [m, k, ...] in [-1, 1]: the real minibatch of each D update
    z_discriminator: tf.Tensor  # [m, k, noise_dim]: the noise of each D update
    z_generator: tf.Tensor  # [m, noise_dim]: the noise of the G update
    epsilon: tf.Tensor  # [m, k] uniforms: a gradient penalty's interpolation factors
    augment: tf.Tensor  # [m, k + 1, 2, AUGMENT_UNIFORMS] uniforms: differentiable augmentation


class LabelledNoiseBatch(NamedTuple):
    """``NoiseBatch`` with the class of every real example (conditional models)."""

    real: tf.Tensor
    label: tf.Tensor  # [m, k] int32
    z_discriminator: tf.Tensor
    z_generator: tf.Tensor
    epsilon: tf.Tensor
    augment: tf.Tensor


class Minibatch(NamedTuple):
    """What one D or G update of Algorithm 1 uses: slice i of a ``NoiseBatch``."""

    real: tf.Tensor
    label: tf.Tensor | None
    z: tf.Tensor
    epsilon: tf.Tensor | None
    augment_real: tf.Tensor | None
    augment_fake: tf.Tensor | None


def summed_means(terms: list[tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor]:
    """(loss, logged value) of per-example loss terms: each term averaged on its own (with
    packing, D's outputs are per pack while the penalties are per example), over the global
    batch for the loss (``global_mean``) and over this replica's for the logs, then summed."""
    return tf.add_n([global_mean(term) for term in terms]), tf.add_n([tf.reduce_mean(term) for term in terms])


class GAN(GeneratorDiscriminatorModel):
    """A generator and a discriminator trained against each other.

    Any Keras models work: G maps a noise vector (its first input) to a sample, D maps a
    sample to one logit per example, as a tensor or as a dict with ``logit`` (and
    ``features`` for feature matching); the project's builders return such dicts.

    ``fit`` takes the pipeline's typed ``NoiseBatch`` (what ``python -m tfgan_app.train``
    feeds), or plain data as the Keras GAN examples do: a dataset of sample batches
    (scaled to [-1, 1]), or of (samples, labels) for the conditional GAN. The noise of
    plain batches is drawn from (``seed``, step), so a run is reproducible and resumes
    exactly.
    """

    batch_type = NoiseBatch
    scores_real_in_generator_step = True
    conditional = False  # whether the batches carry labels and G takes them
    discriminator_takes_label = True  # with ``conditional``: D(x, y) (AC-GAN's D predicts y instead)

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        discriminator_steps: int = 1,
        packing: int = 1,
        ema_decay: float = 0.0,
        augmentations: tuple[str, ...] = (),
        unrolled_steps: int = 0,
        unrolled_learning_rate: float = 0.01,
        reuse_fakes: bool = False,
        joint_discriminator_pass: bool = False,
        seed: int = 0,
        adaptive_augment: AdaptiveAugment | None = None,
        progressive_steps: int = 0,
        top_k: "TopK | None" = None,
        **kwargs,
    ):
        # Mean D(x) and D(G(z)) in the logs: probabilities for cross-entropy losses (both
        # tend to 0.5 at the equilibrium), raw scores for critics (Wasserstein, LS, hinge).
        names = self.metric_names() + (("augment_p",) if adaptive_augment is not None else ())
        super().__init__(generator, discriminator, names, ema_decay=ema_decay, **kwargs)
        if reuse_fakes and discriminator_steps != 1:
            raise ValueError("reuse_fakes needs discriminator_steps = 1 (one batch of fakes per step)")
        if discriminator_steps < 1:
            raise ValueError(f"discriminator_steps must be >= 1, got {discriminator_steps}")
        if packing < 1:
            raise ValueError(f"packing must be >= 1, got {packing}")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.discriminator_steps = discriminator_steps
        self.packing = packing
        self.augmentations = tuple(augmentations)
        # ADA: the augmentations applied with an adaptive probability (Karras et al. 2020).
        if adaptive_augment is not None and not self.augmentations:
            raise ValueError("adaptive augmentation gates the augmentations: name some (augmentations=...)")
        self.adaptive_augment = adaptive_augment
        # Progressive growing of a style-based generator (gans/progressive.py): the level of
        # its gates and of the real images, from the step.
        self.progressive = None
        if progressive_steps:
            gates = progressive_gates(generator)
            if not gates:
                raise ValueError("progressive growing needs a generator with resolution gates: model.architecture = 'stylegan'")
            self.progressive = ProgressiveGrowing(progressive_steps, len(gates))
        self.unrolled_steps = unrolled_steps
        self.unrolled_learning_rate = unrolled_learning_rate
        self.seed = seed
        # The lean variant of Algorithm 1: G's update reuses the noise and the forward pass
        # of the D update's fakes instead of drawing new ones (one G forward pass less).
        self.reuse_fakes = reuse_fakes
        self.top_k = top_k
        # D's update scores real and fake examples in one call on their concatenation: one
        # larger convolution per layer instead of two, the same function only when no layer
        # of D mixes examples of a batch (refused otherwise).
        if joint_discriminator_pass:
            mixing = batch_dependent_layers(discriminator)
            if mixing:
                raise ValueError(
                    "joint_discriminator_pass needs a discriminator whose outputs for one example do not "
                    f"depend on the others in its batch; {discriminator.name} has {', '.join(mixing)}"
                )
        self.joint_discriminator_pass = joint_discriminator_pass
        noise_input = generator.inputs[0] if getattr(generator, "inputs", None) else None
        if noise_input is None or len(noise_input.shape) != self.noise_rank:
            shape = None if noise_input is None else tuple(noise_input.shape)
            raise ValueError(
                f"the generator {generator.name!r} must take noise of rank {self.noise_rank} ([batch, latent_dim]) "
                f"as its first input; it takes {shape} (build it with keras.Input((latent_dim,)))"
            )
        self.latent_dim = int(noise_input.shape[-1])
        self._check_networks()

    # The rank of G's noise input, batch axis included (sequence generators take [batch, T, F]).
    noise_rank = 2

    @classmethod
    def metric_names(cls) -> tuple[str, ...]:
        return ("d_loss", "g_loss", "d_real", "d_fake")

    def discriminator_separated_below(self) -> float | None:
        # One-sided label smoothing keeps D's loss above the level even at perfect separation.
        if self.discriminator_loss is not self.adversarial_loss.discriminator:
            return None
        return self.adversarial_loss.separated_below

    def _check_networks(self) -> None:
        """Run G and D once on a tiny batch: a pair that cannot train together is refused
        here, with the shapes, rather than deep inside the first step."""
        count = 2 * self.packing
        z = tf.zeros([count, self.noise_dim])
        label = tf.zeros([count], tf.int32) if self.conditional else None
        try:
            fake = self.generator(self.generator_inputs(z, label), training=False)
        except Exception as error:  # noqa: BLE001 - any failure here is a network that does not fit
            raise ValueError(f"the generator {self.generator.name!r} cannot be called on noise [batch, {self.latent_dim}]: {error}") from None
        if isinstance(fake, (dict, list, tuple)):
            raise ValueError(f"the generator {self.generator.name!r} must return one tensor of samples, got {type(fake).__name__}")
        try:
            outputs = self.discriminator(self._discriminator_inputs(fake, label, None), training=False)
        except Exception as error:  # noqa: BLE001
            raise ValueError(
                f"the discriminator {self.discriminator.name!r} cannot take the generator's samples of shape "
                f"{tuple(fake.shape[1:])}: {error}"
            ) from None
        if isinstance(outputs, dict) and "logit" not in outputs:
            raise ValueError(f"the discriminator {self.discriminator.name!r} returns a dict without 'logit': {sorted(outputs)}")
        logit = logit_of(outputs)
        packs = count // self.packing
        if logit.shape[0] != packs or (len(logit.shape) > 1 and logit.shape[-1] != 1):
            raise ValueError(
                f"the discriminator {self.discriminator.name!r} must return one logit per example ([batch] or "
                f"[batch, 1]), or a map of them ([batch, ..., 1]: patches, time steps); for {packs} inputs it "
                f"returned {tuple(logit.shape)}"
            )

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str = "non_saturating",
        label_smoothing: float = 0.0,
        gradient_penalty_weight: float = 0.0,
        weight_clip: float = 0.0,
        r1_weight: float = 0.0,
        r2_weight: float = 0.0,
        feature_matching_weight: float = 0.0,
        penalty_schedule: Callable[[tf.Tensor], tf.Tensor] | None = None,
        penalty_every: int = 1,
        **kwargs,
    ) -> None:
        """Set the optimizers, the adversarial loss (a name in ``losses.ADVERSARIAL_LOSSES``)
        and the weights of the optional penalty terms (0 = off); ``penalty_schedule(step)``
        scales the gradient penalties' weights (GP, R1, R2) by generator step, and
        ``penalty_every`` N > 1 applies them N times as strong in one step of N."""
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator_variables,
            self.discriminator.trainable_variables, loss, **kwargs,
        )
        self.discriminator_loss = self.adversarial_loss.discriminator
        if label_smoothing:
            if self.adversarial_loss.discriminator is not losses.discriminator_loss:
                raise ValueError(f"label_smoothing applies to cross-entropy losses, not {loss!r}")
            self.discriminator_loss = functools.partial(
                losses.discriminator_loss, label_smoothing=label_smoothing
            )
        self.gradient_penalty_weight = gradient_penalty_weight
        self.weight_clip = weight_clip
        self.r1_weight = r1_weight
        self.r2_weight = r2_weight
        self.feature_matching_weight = feature_matching_weight
        self.penalty_schedule = penalty_schedule
        if penalty_every < 1:
            raise ValueError(f"penalty_every must be at least 1, got {penalty_every}")
        self.penalty_every = penalty_every

    def penalty_scale(self) -> tf.Tensor | float:
        """This step's factor of the gradient penalties' weights (1 without a schedule)."""
        return 1.0 if self.penalty_schedule is None else self.penalty_schedule(self.step)

    @property
    def noise_dim(self) -> int:
        """Standard-normal numbers per example the pipeline must draw for one G input."""
        return self.latent_dim

    @property
    def generator_variables(self) -> list:
        """What G's optimizer updates (TimeGAN adds its supervisor)."""
        return self.generator.trainable_variables

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator used for samples, evaluation and export: the EMA copy when kept."""
        return self.averaged("generator")

    @property
    def ema_generator(self) -> keras.Model | None:
        return self.averaged("generator") if self.averages else None

    def checkpoint_objects(self) -> dict:
        objects = super().checkpoint_objects()
        if self.adaptive_augment is not None:
            objects["adaptive_augment"] = self.adaptive_augment
        return objects

    # The exported signature's input names, in G's input order.
    export_input_names: tuple[str, ...] = ("z",)

    def exports(self) -> dict[str, keras.Model]:
        if is_style_based(self.sampling_generator):  # the truncation trick as an input
            return {"": with_style_truncation(self.sampling_generator)}
        return {"": named_inputs(self.sampling_generator, self.export_input_names)}

    def input_kinds(self) -> dict[str, InputKind]:
        return {**super().input_kinds(), **({"truncation": Truncation()} if is_style_based(self.generator) else {})}

    def call(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(self.generator_inputs(z, None), training=training)

    def generate(self, z: tf.Tensor, label: tf.Tensor | None = None) -> tf.Tensor:
        """Samples for viewing, evaluation or export: G (its EMA copy) in inference mode; a
        conditional G makes ``label`` (by default the classes in turn, ``sample_labels``)."""
        z = tf.convert_to_tensor(z, tf.float32)  # numpy noise and tensor labels do not mix in Keras
        label = self.sample_labels(z) if label is None else tf.convert_to_tensor(label, tf.int32)
        return self.sampling_generator(self.generator_inputs(z, label), training=False)

    def refresh_sampling_statistics(self, batches: int, batch_size: int, seed: int = 0) -> None:
        """Standing statistics (Brock et al. 2019, appendix C): the sampling generator's
        batch-norm statistics become the mean of ``batches`` batches' own statistics on
        fresh noise, in place of the moving averages of training, which with momentum 0.9
        hold about the last 10 batches. Deterministic in ``seed``."""
        network = self.sampling_generator
        norms = [layer for layer in all_layers(network) if isinstance(layer, keras.layers.BatchNormalization)]
        if not norms or batches <= 0:
            return
        momenta = [layer.momentum for layer in norms]
        sums = [[np.zeros(layer.moving_mean.shape), np.zeros(layer.moving_variance.shape)] for layer in norms]
        try:
            for layer in norms:  # each training-mode call then leaves its batch's statistics
                layer.momentum = 0.0
            for index in range(batches):
                z = tf.random.stateless_normal([batch_size, self.noise_dim], [seed, index])
                network(self.generator_inputs(z, self.sample_labels(z)), training=True)
                for layer, (mean, variance) in zip(norms, sums):
                    mean += np.asarray(layer.moving_mean) / batches
                    variance += np.asarray(layer.moving_variance) / batches
            for layer, (mean, variance) in zip(norms, sums):
                layer.moving_mean.assign(mean.astype(np.float32))
                layer.moving_variance.assign(variance.astype(np.float32))
        finally:
            for layer, momentum in zip(norms, momenta):
                layer.momentum = momentum

    def sample_labels(self, z: tf.Tensor) -> tf.Tensor | None:
        """Labels for unlabelled sampling (conditional models cycle through the classes)."""
        return None

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        """The fixed inputs of the sample grids written during training."""
        return {"z": tf.random.stateless_normal([count, self.noise_dim], seed)}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int | None]:
        """(samples, grid columns or None for a square grid) from ``preview_inputs``."""
        return self.generate(inputs["z"]).numpy(), None

    # --- Algorithm 1 ---------------------------------------------------------------------

    def adversarial_step(self, batch) -> dict[str, Any]:
        if self.progressive is not None:
            batch = self.grow(batch)
        minibatches = [self._minibatch(batch, index) for index in range(self.discriminator_steps)]
        if self.reuse_fakes:
            [minibatch] = minibatches
            generator_minibatch = self._generator_minibatch(batch)._replace(z=minibatch.z)
            self.generator_step(
                generator_minibatch, minibatches,
                update_discriminator=lambda fake: self.discriminator_step(minibatch, fake),
            )
        else:
            for minibatch in minibatches:
                self.discriminator_step(minibatch)
            generator_minibatch = self._generator_minibatch(batch)
            self.generator_step(generator_minibatch, minibatches)
        if self.adaptive_augment is not None:
            # Real images this step, all replicas: [m, k, ...] per replica.
            real_images = tf.shape(batch.real)[0] * self.discriminator_steps * tf.distribute.get_strategy().num_replicas_in_sync
            self.adaptive_augment.step(real_images)
            self.trackers["augment_p"].update_state(self.adaptive_augment.probability)
        return {"generator": self.generator_inputs(generator_minibatch.z, generator_minibatch.label)}

    def grow(self, batch):
        """Progressive growing: set the generators' resolution gates (the EMA copy's too)
        to this step's level, and bring the real images to the same resolution."""
        level = self.progressive.level(self.step)
        for network in [self.generator, *(average.average for average in self.averages.values())]:
            for gate in progressive_gates(network):
                gate.assign(tf.cast(level, gate.dtype))
        real = batch.real
        flat = tf.reshape(real, [-1, *real.shape[2:]])
        grown = tf.reshape(self.progressive.real_images(flat, level), tf.shape(real))
        return batch._replace(real=grown)

    def discriminator_step(self, minibatch: Minibatch, fake: tf.Tensor | None = None) -> None:
        """One update of D on real examples and G(z) (or the given fakes); G is not changed."""
        label = minibatch.label
        if fake is None:
            fake = run_without_state_updates(self.generator, self.generator_inputs(minibatch.z, label))
        fake = tf.stop_gradient(fake)
        with tf.GradientTape() as tape:
            real_outputs, fake_outputs, penalty = self.scored_pair(minibatch, fake)
            adversarial = self.discriminator_loss(logit_of(real_outputs), logit_of(fake_outputs))
            terms = [adversarial]
            for auxiliary in (self.discriminator_auxiliary_loss(fake_outputs, minibatch),
                              self.real_auxiliary_loss(real_outputs, minibatch)):
                if auxiliary is not None:
                    terms.append(auxiliary)
            loss, logged = summed_means(terms)
            if penalty is not None:
                loss, logged = loss + tf.cast(penalty[0], loss.dtype), logged + tf.cast(penalty[1], logged.dtype)
        variables = self.discriminator.trainable_variables
        optimizer_step(self.discriminator_optimizer, tape, loss, variables)
        if self.weight_clip:
            losses.clip_weights(variables, self.weight_clip)
        if self.adaptive_augment is not None:
            self.adaptive_augment.observe(logit_of(real_outputs))
        self.trackers["d_loss"].update_state(logged)
        self.trackers["d_real"].update_state(readout(self.adversarial_loss, logit_of(real_outputs)))
        self.trackers["d_fake"].update_state(readout(self.adversarial_loss, logit_of(fake_outputs)))

    def scored_pair(self, minibatch: Minibatch, fake: tf.Tensor) -> tuple[dict, dict, tuple[tf.Tensor, tf.Tensor] | None]:
        """D's outputs for the real examples and the fakes, and when a gradient penalty is on
        its (loss term, logged mean): every step, or with ``penalty_every`` N > 1 in the steps
        whose number divides by N, weighted N times (lazy regularisation, Karras et al. 2020,
        sec. 3.1), and zero in the others."""

        def unpenalised() -> tuple[dict, dict]:
            return self.discriminate_pair(minibatch.real, fake, minibatch.label, minibatch.augment_real, minibatch.augment_fake)

        if not (self.gradient_penalty_weight or self.r1_weight or self.r2_weight):
            return (*unpenalised(), None)

        def penalised(factor: float):
            real_outputs, fake_outputs, terms = self.penalised_pair(minibatch, fake)
            penalty, logged = summed_means(terms)
            # float32 in both branches of the cond below.
            return real_outputs, fake_outputs, (factor * tf.cast(penalty, tf.float32), factor * tf.cast(logged, tf.float32))

        if self.penalty_every == 1:
            return penalised(1.0)
        # Only the branch taken runs: the steps in between skip the double backward pass.
        return tf.cond(
            tf.equal(self.step % self.penalty_every, 0),
            lambda: penalised(float(self.penalty_every)),
            lambda: (*unpenalised(), (tf.zeros([]), tf.zeros([]))),
        )

    def penalised_pair(self, minibatch: Minibatch, fake: tf.Tensor) -> tuple[dict, dict, list[tf.Tensor]]:
        """D's outputs for the real examples and the fakes, and the weighted per-example
        gradient penalty terms of D's loss this step (WGAN-GP's on interpolates, R1 on the
        real examples, R2 on the fakes).

        Without augmentation R1 and R2 are the input gradients of the very forward passes
        the adversarial loss scores, as R3GAN's code takes them: D runs on each batch once,
        not twice. With augmentation the penalties are at the un-augmented examples, so
        they need passes of their own."""
        real, label = minibatch.real, minibatch.label
        critic = lambda images: logit_of(self.discriminate(images, label, None))  # noqa: E731
        scale = self.penalty_scale()
        terms = []
        if self.gradient_penalty_weight:
            terms.append(scale * self.gradient_penalty_weight * losses.gradient_penalty(critic, real, fake, minibatch.epsilon))
        zero_centred = [(weight, points) for weight, points in ((self.r1_weight, real), (self.r2_weight, fake)) if weight]
        if zero_centred and not self.augmentations:
            with tf.GradientTape() as inner:
                inner.watch([real, fake])
                real_outputs, fake_outputs = self.discriminate_pair(real, fake, label, None, None)
                # The real scores do not depend on the fakes nor the fake scores on the real
                # examples (two calls; the joint pass refuses batch-mixing layers), so one
                # sum's gradient holds each batch's own.
                scores = losses.summed_scores(logit_of(real_outputs)) + losses.summed_scores(logit_of(fake_outputs))
            gradients = inner.gradient(scores, [points for _, points in zero_centred])
            terms += [scale * weight * losses.zero_centred_penalty(g) for (weight, _), g in zip(zero_centred, gradients)]
            return real_outputs, fake_outputs, terms
        terms += [scale * weight * losses.r1_penalty(critic, points) for weight, points in zero_centred]
        real_outputs, fake_outputs = self.discriminate_pair(real, fake, label, minibatch.augment_real, minibatch.augment_fake)
        return real_outputs, fake_outputs, terms

    def generator_step(
        self, minibatch: Minibatch, unroll_minibatches: list[Minibatch] = (), update_discriminator=None
    ) -> None:
        """One update of G through D; D's weights, batch-norm statistics included, stay fixed.

        ``update_discriminator(fake)``, when given, runs between G's forward pass and its
        loss, outside the gradient tape: D is updated on these fakes first (``reuse_fakes``).

        With ``unrolled_steps`` (Metz et al. 2017, eq. 6-7) G is scored by the D that
        ``unrolled_steps`` SGD updates would produce, and its gradient flows through those
        updates, so G is penalised for moves D could answer at once (mode hopping).
        """
        label = minibatch.label
        with tf.GradientTape() as tape:
            inputs = self.generator_inputs(minibatch.z, label)
            fake = self.generator(inputs, training=True)
            if update_discriminator is not None:
                with tape.stop_recording():
                    update_discriminator(fake)
            weights = self._discriminator_weights()
            if self.unrolled_steps:
                weights = self._unroll(weights, fake, label, unroll_minibatches or [minibatch])
            fake_outputs = self.discriminate(fake, label, minibatch.augment_fake, weights)
            real_outputs = None
            if self.adversarial_loss.relativistic or self.feature_matching_weight:
                real_outputs = self.discriminate(minibatch.real, label, minibatch.augment_real, weights)
            if self.adversarial_loss.relativistic:
                adversarial = self.adversarial_loss.generator(logit_of(fake_outputs), logit_of(real_outputs))
            else:
                adversarial = self.adversarial_loss.generator(logit_of(fake_outputs))
            if self.top_k is not None:
                adversarial = losses.top_k_generator_loss(adversarial, self.top_k.count(tf.shape(adversarial)[0], self.step))
            terms = [adversarial]
            auxiliary = self.auxiliary_loss(fake_outputs, minibatch)
            if auxiliary is not None:
                terms.append(auxiliary)
            regularizer = self.regularize_generator(inputs, fake)
            if regularizer is not None:
                terms.append(regularizer)
            loss = tf.add_n([global_mean(term) for term in terms])
            if self.feature_matching_weight:
                matching = losses.feature_matching_loss(real_outputs["features"], fake_outputs["features"])
                # A batch statistic per replica; dividing by the replica count makes the
                # summed gradient their mean.
                replicas = tf.distribute.get_strategy().num_replicas_in_sync
                loss += self.feature_matching_weight * matching / replicas
                terms.append(self.feature_matching_weight * matching[None])
        optimizer_step(self.generator_optimizer, tape, loss, self.generator_variables)
        self.trackers["g_loss"].update_state(tf.add_n([tf.reduce_mean(term) for term in terms]))

    # --- hooks for the families ---------------------------------------------------------

    def generator_inputs(self, z: tf.Tensor, label: tf.Tensor | None):
        """What G is called with for noise ``z`` (and a label, for conditional models)."""
        return z

    def discriminate(
        self, data: tf.Tensor, label: tf.Tensor | None, augment: tf.Tensor | None,
        weights: tuple[list, list] | None = None,
    ) -> dict[str, tf.Tensor]:
        """D's outputs for ``data``: augmented (when on), packed (when on), then D in training
        mode; with ``weights`` (trainable, non-trainable values) D runs statelessly on them."""
        inputs = self._discriminator_inputs(data, label, augment)
        if weights is None:
            return self.discriminator(inputs, training=True)
        outputs, _ = self.discriminator.stateless_call(*weights, inputs, training=True)
        return outputs

    def discriminate_pair(
        self, real: tf.Tensor, fake: tf.Tensor, label: tf.Tensor | None,
        augment_real: tf.Tensor | None, augment_fake: tf.Tensor | None,
    ) -> tuple[dict, dict]:
        """D's outputs for real and for fake data: two calls, or one on both together
        (``joint_discriminator_pass``), split back into the two halves."""
        if not self.joint_discriminator_pass:
            return self.discriminate(real, label, augment_real), self.discriminate(fake, label, augment_fake)
        halves = [self._discriminator_inputs(real, label, augment_real), self._discriminator_inputs(fake, label, augment_fake)]
        inputs = tf.nest.map_structure(lambda *parts: tf.concat(parts, axis=0), *halves)
        outputs = self.discriminator(inputs, training=True)
        first = tf.nest.map_structure(lambda value: tf.split(value, 2, axis=0)[0], outputs)
        second = tf.nest.map_structure(lambda value: tf.split(value, 2, axis=0)[1], outputs)
        return first, second

    def auxiliary_loss(self, fake_outputs: dict, minibatch: Minibatch) -> tf.Tensor | None:
        """A per-example term on the fakes that both players minimise (InfoGAN's information
        loss, AC-GAN's class loss on generated images)."""
        return None

    def discriminator_auxiliary_loss(self, fake_outputs: dict, minibatch: Minibatch) -> tf.Tensor | None:
        """The term on the fakes in D's loss: ``auxiliary_loss`` unless a family keeps D's
        auxiliary head to the real examples."""
        return self.auxiliary_loss(fake_outputs, minibatch)

    def real_auxiliary_loss(self, real_outputs: dict, minibatch: Minibatch) -> tf.Tensor | None:
        """A per-example term on the real examples that D alone minimises (AC-GAN's class
        loss on the data)."""
        return None

    # --- helpers ------------------------------------------------------------------------

    def fit(self, x=None, *args, **kwargs):
        """Keras' ``fit``; plain data (``gan.fit(images)``) is checked first (``check_plain_data``)."""
        check_plain_data(x, tuple(self.generator.output_shape[1:]), type(self).__name__)
        if isinstance(x, tf.data.Dataset):
            # Keras ignores ``shuffle`` for a dataset (it is shuffled in the pipeline, if at
            # all) but warns that its default was passed.
            kwargs.setdefault("shuffle", False)
        return super().fit(x, *args, **kwargs)

    def typed_batch(self, batch):
        """The step's typed batch: the pipeline's (see ``AdversarialModel.typed_batch``), or
        one made from plain data (the Keras-native use, ``gan.fit(images)``): the samples
        split into the k D updates' minibatches, the step's random numbers drawn from
        (``seed``, step) as the pipeline draws them."""
        if isinstance(batch, (self.batch_type, dict)):
            return super().typed_batch(batch)
        if isinstance(batch, (tuple, list)):
            if not 1 <= len(batch) <= 2:
                raise ValueError(f"{type(self).__name__}.fit takes samples or (samples, labels), got {len(batch)} parts")
            real, labels = batch[0], (batch[1] if len(batch) == 2 else None)
        else:
            real, labels = batch, None
        if self.conditional and labels is None:
            raise ValueError(f"{type(self).__name__}.fit needs (samples, labels) batches")
        steps = self.discriminator_steps
        real = to_model_range(tf.convert_to_tensor(real))
        real = tf.reshape(real, [-1, steps, *real.shape[1:]])
        values = {"real": real, **step_randomness(self.seed, self.step, tf.shape(real)[0], steps, self.noise_dim)}
        if self.conditional:
            values["label"] = tf.reshape(tf.cast(labels, tf.int32), [-1, steps])
        return self.batch_type(**values)

    def _minibatch(self, batch, index: int) -> Minibatch:
        """The real data and noise of the ``index``-th D update."""
        return Minibatch(
            real=batch.real[:, index],
            label=batch.label[:, index] if self.conditional else None,
            z=batch.z_discriminator[:, index],
            epsilon=batch.epsilon[:, index],
            augment_real=batch.augment[:, index, 0],
            augment_fake=batch.augment[:, index, 1],
        )

    def _generator_minibatch(self, batch) -> Minibatch:
        """The G update's noise, with the labels and real data of the first D minibatch:
        the class mix G is trained on follows the data, and feature matching compares
        against real examples."""
        last = self.discriminator_steps
        return Minibatch(
            real=batch.real[:, 0],
            label=batch.label[:, 0] if self.conditional else None,
            z=batch.z_generator,
            epsilon=None,
            augment_real=batch.augment[:, last, 0],
            augment_fake=batch.augment[:, last, 1],
        )

    def _discriminator_weights(self) -> tuple[list, list]:
        return (
            [variable.value for variable in self.discriminator.trainable_variables],
            [variable.value for variable in self.discriminator.non_trainable_variables],
        )

    def _unroll(self, weights, fake, label, minibatches: list[Minibatch]) -> tuple[list, list]:
        """D's weights after ``unrolled_steps`` differentiable SGD steps on (real, fake)."""
        trainable, non_trainable = weights
        for index in range(self.unrolled_steps):
            minibatch = minibatches[index % len(minibatches)]
            with tf.GradientTape() as inner:
                inner.watch(trainable)
                real_logits = logit_of(self.discriminate(minibatch.real, label, None, (trainable, non_trainable)))
                fake_logits = logit_of(self.discriminate(fake, label, None, (trainable, non_trainable)))
                loss = tf.nn.compute_average_loss(self.discriminator_loss(real_logits, fake_logits))
            gradients = inner.gradient(loss, trainable)
            trainable = [w - self.unrolled_learning_rate * g for w, g in zip(trainable, gradients)]
        return trainable, non_trainable

    def _discriminator_inputs(self, data: tf.Tensor, label: tf.Tensor | None, augment: tf.Tensor | None):
        """What D is called with: ``data`` augmented (when on) and packed (when on), with the label."""
        if self.augmentations and augment is not None:
            augmented = diff_augment(data, augment, self.augmentations)
            data = augmented if self.adaptive_augment is None else self.adaptive_augment.apply(data, augmented, augment)
        data = self._pack(data)
        return [data, label] if self.conditional and self.discriminator_takes_label else data

    def _pack(self, data: tf.Tensor) -> tf.Tensor:
        """PacGAN (Lin et al. 2018): m consecutive examples -> one input, joined on the last axis."""
        if self.packing == 1:
            return data
        shape = data.shape[1:]
        grouped = tf.reshape(data, [-1, self.packing, *shape])
        rank = len(shape)
        # [packs, m, ..., C] -> [packs, ..., m, C] -> [packs, ..., m*C]
        grouped = tf.transpose(grouped, [0, *range(2, rank + 1), 1, rank + 1])
        return tf.reshape(grouped, [-1, *shape[:-1], shape[-1] * self.packing])


class TopK(NamedTuple):
    """The schedule of top-k training (Sinha et al. 2020): G's update keeps the k
    best-rated fakes of its batch, k = batch x max(min_fraction, decay^epoch), so it starts
    with every fake (D's ratings mean little early on) and ends with the best part."""

    min_fraction: float
    decay: float  # per epoch
    steps_per_epoch: int

    def count(self, batch: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        """k for G's update ``step`` on a batch of ``batch`` fakes (at least 1)."""
        if self.steps_per_epoch <= 0:
            raise ValueError("top-k training decays per epoch: the model needs steps_per_epoch (train on a finite dataset)")
        epoch = tf.cast(step, tf.float32) / float(self.steps_per_epoch)
        fraction = tf.maximum(self.min_fraction, tf.pow(self.decay, epoch))
        return tf.maximum(1, tf.cast(tf.math.ceil(fraction * tf.cast(batch, tf.float32)), tf.int32))


def batch_dependent_layers(model: keras.Model) -> list[str]:
    """Names of the layers whose output for one example depends on the rest of its batch in
    training mode (batch norm, minibatch stddev) or on the call (spectral norm's power
    iteration advances once per call), nested models included."""
    kinds = (keras.layers.BatchNormalization, keras.layers.SpectralNormalization, SpectralNorm, MinibatchStddev)
    return [layer.name for layer in all_layers(model) if isinstance(layer, kinds)]


def named_inputs(network: keras.Model, names: tuple[str, ...]) -> keras.Model:
    """``network`` with its inputs called ``names`` (the serving signature's input names):
    itself when they already are, else a functional wrapper sharing its weights (a user's
    G built with ``keras.Input((100,))`` has an input called ``input_layer``)."""
    if tuple(tensor.name for tensor in network.inputs) == tuple(names):
        return network
    if len(names) != len(network.inputs):
        raise ValueError(f"{network.name} has {len(network.inputs)} inputs; the export names {len(names)}: {names}")
    inputs = [
        keras.Input(tuple(tensor.shape[1:]), dtype=tensor.dtype, name=name) for tensor, name in zip(network.inputs, names)
    ]
    outputs = network(inputs[0] if len(inputs) == 1 else inputs, training=False)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs, name=f"{network.name}_serving")


def uniform_from_normal(z: tf.Tensor) -> tf.Tensor:
    """Standard-normal numbers -> Uniform(0, 1) numbers (the normal CDF), so families that
    need uniform randomness can take it from the pipeline's noise."""
    return 0.5 * (1.0 + tf.math.erf(z / math.sqrt(2.0)))


# --- the family declarations ----------------------------------------------------------


def noise_model_options(context: BuildContext) -> dict:
    """The switches of Algorithm 1 from the build context's config: the keyword arguments of ``GAN``."""
    config = context.config
    model, train = config.model, config.train
    return dict(
        discriminator_steps=train.discriminator_steps, packing=model.packing, ema_decay=train.ema_decay,
        augmentations=parse_augmentations(train.augment), unrolled_steps=train.unrolled_steps,
        unrolled_learning_rate=train.unrolled_learning_rate, reuse_fakes=train.reuse_fakes,
        joint_discriminator_pass=train.joint_discriminator_pass, seed=config.seed,
        adaptive_augment=AdaptiveAugment(train.ada_target, train.ada_images, train.ada_interval) if train.ada_target else None,
        progressive_steps=train.progressive_steps,
        top_k=TopK(train.top_k_min_fraction, train.top_k_decay, context.steps_per_epoch) if train.top_k_min_fraction < 1.0 else None,
    )


def compile_noise_model(model: GAN, context: BuildContext) -> GAN:
    """Compile a ``GAN`` (or subclass) with the optimizers and the loss section."""
    loss = context.config.loss
    model.compile(
        generator_optimizer=context.generator_optimizer,
        discriminator_optimizer=context.discriminator_optimizer,
        loss=loss.name,
        label_smoothing=loss.label_smoothing,
        gradient_penalty_weight=loss.gradient_penalty_weight,
        weight_clip=loss.weight_clip,
        r1_weight=loss.r1_weight,
        r2_weight=loss.r2_weight,
        feature_matching_weight=loss.feature_matching_weight,
        penalty_schedule=penalty_schedule(context.config, context.total_steps),
        penalty_every=loss.penalty_every,
    )
    return model


def image_networks(
    context: BuildContext, num_classes: int = 0, code_dim: int = 0, class_head: bool = False,
) -> tuple[keras.Model, keras.Model]:
    """(G, D) of ``model.architecture`` (or the user's builders, ``model.generator`` and
    ``model.discriminator``) for the noise-to-sample families (see ``build_networks``)."""
    generator, discriminator = build_networks(
        context.config.model, context.element_shape, synchronized_batch_norm=context.replicas > 1,
        num_classes=num_classes, code_dim=code_dim, class_head=class_head,
    )
    freeze_first_layers(discriminator, context.config.train.freeze_discriminator_layers)
    return generator, discriminator


def validate_noise_family(config) -> None:
    """Stabilisers that do not combine with the chosen networks."""
    model = config.model
    if config.loss.gradient_penalty_weight and model.discriminator_norm == "batch" and not model.spectral_norm \
            and model.architecture == "dcgan":
        raise ConfigError(
            "loss.gradient_penalty_weight with model.discriminator_norm = 'batch': the penalty is per example "
            "and batch norm mixes examples; use discriminator_norm 'layer' or 'none' (Gulrajani et al. 2017, sec. 4)"
        )
    if config.train.unrolled_steps and model.architecture != "mlp":
        raise ConfigError("train.unrolled_steps is implemented for the mlp architecture (second-order "
                          "gradients through batch norm are not supported)")


def build_gan(context: BuildContext) -> GAN:
    return compile_noise_model(GAN(*image_networks(context), **noise_model_options(context)), context)


FAMILIES = (
    Family(
        name="gan",
        summary="unconditional GAN (Goodfellow et al. 2014): noise -> sample, with the stabilisers",
        build=build_gan,
        switches=NOISE_TO_IMAGE_SWITCHES,
        validate=validate_noise_family,
    ),
)


def check_plain_data(data, sample_shape: tuple, owner: str = "GAN") -> None:
    """Refuse, with what to do, the plain data a GAN would train on silently wrong: an
    unbatched dataset (each element one sample), integer images other than uint8 (uint8
    pixels are scaled to [-1, 1]), float images outside [-1, 1] (e.g. 0..255 pixel values),
    NaN or Inf (the range is checked for images only). A ``tf.data.Dataset`` is judged by its first batch; the trainer's typed
    batches pass through."""
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        first = spec[0] if type(spec) is tuple else spec  # a NamedTuple is a typed batch, not (samples, labels)
        if not isinstance(first, tf.TensorSpec):
            return  # typed batches or dicts: the pipeline's own, already checked
        if first.shape.rank is not None and first.shape.rank == len(sample_shape):
            raise ValueError(
                f"{owner}.fit: the dataset yields single samples of shape {tuple(first.shape)}, not batches; "
                "batch it first, e.g. dataset.batch(64)"
            )
        sample = next(iter(data.take(1)), None)
        if sample is None:
            raise ValueError(f"{owner}.fit: the dataset is empty")
        values = (sample[0] if type(sample) is tuple else sample).numpy()
    elif isinstance(data, (np.ndarray, tf.Tensor)):
        values = np.asarray(data)
    elif isinstance(data, (tuple, list)) and data and isinstance(data[0], (np.ndarray, tf.Tensor)):
        values = np.asarray(data[0])
    else:
        return
    if values.dtype.kind in "iu" and values.dtype != np.uint8:
        raise ValueError(
            f"{owner}.fit: the samples are {values.dtype}; give uint8 pixels (scaled to [-1, 1] for you) or "
            "floats in [-1, 1] (e.g. images / 127.5 - 1)"
        )
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise ValueError(f"{owner}.fit: the samples hold NaN or Inf values; clean the data first")
        if len(sample_shape) != 3:
            return  # vectors and sequences: their range is the data's own
        low, high = float(values.min()), float(values.max())
        if low < -1.01 or high > 1.01:
            hint = " (they look like 0..255 pixel values: use images / 127.5 - 1, or pass uint8)" if high > 2 else ""
            raise ValueError(
                f"{owner}.fit: the samples range over [{low:g}, {high:g}]; the generator's tanh output is in [-1, 1], "
                f"so scale the data to [-1, 1]{hint}"
            )
