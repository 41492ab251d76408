"""The GAN: Algorithm 1 of Goodfellow et al. 2014 as a ``keras.Model``.

    for each training iteration:
        for k = discriminator_steps times:
            take m real examples x and m noise vectors z
            update D by descending the gradient of its loss on (x, G(z))
        take m noise vectors z
        update G by descending the gradient of its loss on D(G(z)), D held fixed

``GAN`` is the unconditional model and the base of the noise-to-image families: the
conditional GAN and InfoGAN override only how G's inputs are made from a minibatch
(``generator_inputs``), what D is shown (``discriminate``) and an extra loss term
(``auxiliary_loss``). The stabilisers are switches here, so every such family gets them:
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

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.gans.augment import diff_augment
from tfgan_app.gans.base import AdversarialModel, apply_gradients, readout
from tfgan_app.networks.layers import MinibatchStddev

Minibatch = dict  # "real", "label", "z", "epsilon", "augment_real", "augment_fake" (some None)


class GAN(AdversarialModel):
    """A generator and a discriminator trained against each other.

    Batches are dicts with ``real`` [m, k, ...], ``z_discriminator`` [m, k, noise_dim],
    ``z_generator`` [m, noise_dim] and optionally ``label`` [m, k], ``epsilon`` [m, k] and
    ``augment`` [m, k + 1, 2, 8] (see the data pipeline). The discriminator returns a dict
    with ``logit`` and ``features`` (and InfoGAN's ``q``), see ``networks.layers``.
    """

    conditional = False  # whether G and D take the label

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
        **kwargs,
    ):
        # Mean D(x) and D(G(z)) in the logs: probabilities for cross-entropy losses (both
        # tend to 0.5 at the equilibrium), raw scores for critics (Wasserstein, LS, hinge).
        super().__init__(("d_loss", "g_loss", "d_real", "d_fake"), **kwargs)
        if reuse_fakes and discriminator_steps != 1:
            raise ValueError("reuse_fakes needs discriminator_steps = 1 (one batch of fakes per step)")
        if discriminator_steps < 1:
            raise ValueError(f"discriminator_steps must be >= 1, got {discriminator_steps}")
        if packing < 1:
            raise ValueError(f"packing must be >= 1, got {packing}")
        if not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.generator = generator
        self.discriminator = discriminator
        self.discriminator_steps = discriminator_steps
        self.packing = packing
        self.augmentations = tuple(augmentations)
        self.unrolled_steps = unrolled_steps
        self.unrolled_learning_rate = unrolled_learning_rate
        # The lean variant of Algorithm 1: G's update reuses the noise and the forward pass
        # of the D update's fakes instead of drawing new ones (one G forward pass less).
        self.reuse_fakes = reuse_fakes
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
        self.ema_decay = ema_decay
        # Polyak averaging of G's weights (Karras et al. 2018; Yazici et al. 2019): a copy
        # that trails G; samples, evaluation and export use it, training never does.
        self.ema_generator = None
        if ema_decay:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.latent_dim = int(_input(generator, "z").shape[-1])

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str = "non_saturating",
        label_smoothing: float = 0.0,
        gradient_penalty_weight: float = 0.0,
        weight_clip: float = 0.0,
        r1_weight: float = 0.0,
        feature_matching_weight: float = 0.0,
        **kwargs,
    ) -> None:
        """Set the optimizers, the adversarial loss (a name in ``losses.ADVERSARIAL_LOSSES``)
        and the weights of the optional penalty terms (0 = off)."""
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator.trainable_variables,
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
        self.feature_matching_weight = feature_matching_weight

    @property
    def noise_dim(self) -> int:
        """Standard-normal numbers per example the pipeline must draw for one G input."""
        return self.latent_dim

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator used for samples, evaluation and export: the EMA copy when kept."""
        return self.ema_generator or self.generator

    def exports(self) -> dict[str, keras.Model]:
        """Deployable networks by name suffix ("" = the model's own name)."""
        return {"": self.sampling_generator}

    def checkpoint_objects(self) -> dict:
        objects = {"generator": self.generator, "discriminator": self.discriminator, **super().checkpoint_objects()}
        if self.ema_generator is not None:
            objects["ema_generator"] = self.ema_generator
        return objects

    def call(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(self.generator_inputs(z, None), training=training)

    def generate(self, z: tf.Tensor) -> tf.Tensor:
        """Samples for viewing, evaluation or export: G (its EMA copy) in inference mode."""
        z = tf.convert_to_tensor(z, tf.float32)  # numpy noise and tensor labels do not mix in Keras
        return self.sampling_generator(self.generator_inputs(z, self.sample_labels(z)), training=False)

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

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        minibatches = [self._minibatch(batch, index) for index in range(self.discriminator_steps)]
        if self.reuse_fakes:
            [minibatch] = minibatches
            generator_minibatch = {**self._generator_minibatch(batch), "z": minibatch["z"]}
            self.generator_step(
                generator_minibatch, minibatches,
                update_discriminator=lambda fake: self.discriminator_step(minibatch, fake),
            )
        else:
            for minibatch in minibatches:
                self.discriminator_step(minibatch)
            generator_minibatch = self._generator_minibatch(batch)
            self.generator_step(generator_minibatch, minibatches)
        if self.ema_generator is not None:
            self._update_ema(generator_minibatch)
        return {metric.name: metric.result() for metric in self.metrics}

    def discriminator_step(self, minibatch: Minibatch, fake: tf.Tensor | None = None) -> None:
        """One update of D on real examples and G(z) (or the given fakes); G is not changed."""
        real, label = minibatch["real"], minibatch.get("label")
        if fake is None:
            fake = _run_without_state_updates(self.generator, self.generator_inputs(minibatch["z"], label))
        fake = tf.stop_gradient(fake)
        with tf.GradientTape() as tape:
            real_outputs, fake_outputs = self.discriminate_pair(
                real, fake, label, minibatch.get("augment_real"), minibatch.get("augment_fake")
            )
            adversarial = self.discriminator_loss(real_outputs["logit"], fake_outputs["logit"])
            # Each term is averaged on its own: with packing, D's outputs are per pack while
            # the penalties are per example.
            terms = [adversarial]
            critic = lambda images: self.discriminate(images, label, None)["logit"]  # noqa: E731
            if self.gradient_penalty_weight:
                if minibatch.get("epsilon") is None:
                    raise ValueError("a gradient penalty needs 'epsilon' in the batch")
                terms.append(self.gradient_penalty_weight * losses.gradient_penalty(
                    critic, real, fake, minibatch["epsilon"]
                ))
            if self.r1_weight:
                terms.append(self.r1_weight * losses.r1_penalty(critic, real))
            auxiliary = self.auxiliary_loss(fake_outputs, minibatch["z"])
            if auxiliary is not None:
                terms.append(auxiliary)
            loss = tf.add_n([tf.nn.compute_average_loss(term) for term in terms])
            scaled = self.discriminator_optimizer.scale_loss(loss)
        variables = self.discriminator.trainable_variables
        apply_gradients(self.discriminator_optimizer, tape, scaled, variables)
        if self.weight_clip:
            losses.clip_weights(variables, self.weight_clip)
        self.trackers["d_loss"].update_state(tf.add_n([tf.reduce_mean(term) for term in terms]))
        self.trackers["d_real"].update_state(readout(self.adversarial_loss, real_outputs["logit"]))
        self.trackers["d_fake"].update_state(readout(self.adversarial_loss, fake_outputs["logit"]))

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
        label = minibatch.get("label")
        with tf.GradientTape() as tape:
            fake = self.generator(self.generator_inputs(minibatch["z"], label), training=True)
            if update_discriminator is not None:
                with tape.stop_recording():
                    update_discriminator(fake)
            weights = self._discriminator_weights()
            if self.unrolled_steps:
                weights = self._unroll(weights, fake, label, unroll_minibatches or [minibatch])
            fake_outputs = self.discriminate(fake, label, minibatch.get("augment_fake"), weights)
            terms = [self.adversarial_loss.generator(fake_outputs["logit"])]
            auxiliary = self.auxiliary_loss(fake_outputs, minibatch["z"])
            if auxiliary is not None:
                terms.append(auxiliary)
            loss = tf.add_n([tf.nn.compute_average_loss(term) for term in terms])
            if self.feature_matching_weight:
                real_outputs = self.discriminate(minibatch["real"], label, minibatch.get("augment_real"), weights)
                matching = losses.feature_matching_loss(real_outputs["features"], fake_outputs["features"])
                # A batch statistic per replica; dividing by the replica count makes the
                # summed gradient their mean.
                replicas = tf.distribute.get_strategy().num_replicas_in_sync
                loss += self.feature_matching_weight * matching / replicas
                terms.append(self.feature_matching_weight * matching[None])
            scaled = self.generator_optimizer.scale_loss(loss)
        apply_gradients(self.generator_optimizer, tape, scaled, self.generator.trainable_variables)
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
        split = {name: tf.split(value, 2, axis=0) for name, value in outputs.items()}
        return ({name: parts[0] for name, parts in split.items()}, {name: parts[1] for name, parts in split.items()})

    def auxiliary_loss(self, fake_outputs: dict, z: tf.Tensor) -> tf.Tensor | None:
        """A per-example term both players minimise (InfoGAN's information loss)."""
        return None

    # --- helpers ------------------------------------------------------------------------

    def _minibatch(self, batch: dict, index: int) -> Minibatch:
        augment = batch.get("augment")
        return {
            "real": batch["real"][:, index],
            "label": batch["label"][:, index] if "label" in batch else None,
            "z": batch["z_discriminator"][:, index],
            "epsilon": batch["epsilon"][:, index] if "epsilon" in batch else None,
            "augment_real": None if augment is None else augment[:, index, 0],
            "augment_fake": None if augment is None else augment[:, index, 1],
        }

    def _generator_minibatch(self, batch: dict) -> Minibatch:
        augment = batch.get("augment")
        last = self.discriminator_steps
        return {
            # Labels and real data of the first D minibatch: the class mix G is trained on
            # follows the data, and feature matching compares against real examples.
            "real": batch["real"][:, 0],
            "label": batch["label"][:, 0] if "label" in batch else None,
            "z": batch["z_generator"],
            "augment_real": None if augment is None else augment[:, last, 0],
            "augment_fake": None if augment is None else augment[:, last, 1],
        }

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
                real_logits = self.discriminate(minibatch["real"], label, None, (trainable, non_trainable))["logit"]
                fake_logits = self.discriminate(fake, label, None, (trainable, non_trainable))["logit"]
                loss = tf.nn.compute_average_loss(self.discriminator_loss(real_logits, fake_logits))
            gradients = inner.gradient(loss, trainable)
            trainable = [w - self.unrolled_learning_rate * g for w, g in zip(trainable, gradients)]
        return trainable, non_trainable

    def _discriminator_inputs(self, data: tf.Tensor, label: tf.Tensor | None, augment: tf.Tensor | None):
        """What D is called with: ``data`` augmented (when on) and packed (when on), with the label."""
        if self.augmentations and augment is not None:
            data = diff_augment(data, augment, self.augmentations)
        data = self._pack(data)
        return [data, label] if self.conditional else data

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

    def _update_ema(self, minibatch: Minibatch) -> None:
        """shadow <- decay * shadow + (1 - decay) * weight; then, when G has batch norm, one
        forward pass of the shadow in training mode on this step's G input.

        The averaged weights need batch-norm statistics of their own: the online G's moving
        statistics describe other weights. Sampling the EMA generator with copied statistics
        gave FID 68.2 on Fashion-MNIST after 4 epochs, with its own 61.6 (benchmarks/RESULTS.md).
        The average is done in cross-replica context (``merge_call``), as optimizers apply
        their updates: assigning a mirrored variable from replica context is refused.
        """
        decay = self.ema_decay
        pairs = list(zip(self.ema_generator.trainable_variables, self.generator.trainable_variables))

        def average(shadow, value):
            return shadow.assign(decay * shadow + (1.0 - decay) * value)

        def update(strategy, *values):
            for (shadow, _), value in zip(pairs, values):
                strategy.extended.update(shadow.value, average, args=(value,), group=False)

        tf.distribute.get_replica_context().merge_call(update, args=tuple(value.value for _, value in pairs))
        if self.ema_generator.non_trainable_variables:
            self.ema_generator(self.generator_inputs(minibatch["z"], minibatch.get("label")), training=True)


def batch_dependent_layers(model: keras.Model) -> list[str]:
    """Names of the layers whose output for one example depends on the rest of its batch in
    training mode (batch norm, minibatch stddev) or on the call (spectral norm's power
    iteration advances once per call), nested models included."""
    kinds = (keras.layers.BatchNormalization, keras.layers.SpectralNormalization, MinibatchStddev)
    return [layer.name for layer in model._flatten_layers(include_self=False) if isinstance(layer, kinds)]


def _input(model: keras.Model, name: str):
    """A functional model's input tensor by name."""
    for tensor in model.inputs:
        if tensor.name == name:
            return tensor
    raise ValueError(f"{model.name} has no input named {name!r} (inputs: {[t.name for t in model.inputs]})")


def uniform_from_normal(z: tf.Tensor) -> tf.Tensor:
    """Standard-normal numbers -> Uniform(0, 1) numbers (the normal CDF), so families that
    need uniform randomness can take it from the pipeline's noise."""
    return 0.5 * (1.0 + tf.math.erf(z / math.sqrt(2.0)))


def _run_without_state_updates(model: keras.Model, inputs) -> tf.Tensor:
    """``model(inputs, training=True)`` that leaves non-trainable state as it was.

    Batch norm then normalises with the batch's statistics (the function the network is
    trained as) while its moving averages, and spectral norm's power-iteration vectors,
    change only when that network itself is updated.
    """
    outputs, _ = model.stateless_call(
        [variable.value for variable in model.trainable_variables],
        [variable.value for variable in model.non_trainable_variables],
        inputs,
        training=True,
    )
    return outputs
