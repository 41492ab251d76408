"""Adversarial domain adaptation: a classifier trained on a labelled source domain made to
work on an unlabelled target domain by making the two domains' features indistinguishable
to a domain discriminator.

- DANN (Ganin et al. 2016, "Domain-Adversarial Training of Neural Networks"): one feature
  extractor F for both domains; the label classifier C learns on source features; the
  domain discriminator D learns source vs target on features that pass a gradient reversal
  layer, so the same backward pass trains D to tell the domains apart and F to confuse it
  (eq. 9-13). The reversal weight follows lambda_p = 2 / (1 + exp(-10 p)) - 1 over the
  training progress p (sec. 5.2.2), times ``adaptation_weight`` (0 = source-only training).
- ADDA (Tzeng et al. 2017, "Adversarial Discriminative Domain Adaptation"): first a source
  encoder F_s and C are trained on the source labels; then a target encoder F_t, starting
  as a copy of F_s, is trained as a GAN generator against D, which tells F_s(source) from
  F_t(target); F_s and C stay fixed; the target classifier is C(F_t(x)) (sec. 4, eq. 5-7).

Batches: ``real`` [m, k, H, W, 3] source images with ``label`` [m, k], and ``real_b``
[m, k, H, W, 3] target images (their labels are never in a batch).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.config import ConfigError, OptimizerConfig
from tfgan_app.data.tasks import make_deriver
from tfgan_app.gans.base import AdversarialModel, global_mean, logit_of, optimizer_step
from tfgan_app.gans.build import make_optimizer, resolve_precision
from tfgan_app.gans.registry import BuildContext, DataNeeds, Family
from tfgan_app.networks.adaptation import deployed_classifier, domain_discriminator, feature_extractor, label_classifier


@dataclasses.dataclass
class DANNSettings:
    """``[dann]``"""

    # lambda: the domain loss weight reached by Ganin et al.'s schedule (0: source only).
    adaptation_weight: float = dataclasses.field(default=1.0, metadata={"min": 0})


@dataclasses.dataclass
class ADDASettings:
    """``[adda]``"""

    # Steps of source-only classifier training before the adversarial phase (>= 1).
    pretrain_steps: int = 0
    # The source phase's optimizer (encoder + classifier on the source labels).
    classifier_optimizer: OptimizerConfig = dataclasses.field(
        default_factory=lambda: OptimizerConfig(learning_rate=1e-3, beta_1=0.9)
    )


class AdaptationBatch(NamedTuple):
    real: tf.Tensor  # [m, k, H, W, 3]: source images
    label: tf.Tensor  # [m, k]: their classes
    real_b: tf.Tensor  # [m, k, H, W, 3]: target images (their labels are never in a batch)


@tf.custom_gradient
def reverse_gradient(features: tf.Tensor, weight: tf.Tensor):
    """Identity forward; the gradient times -weight backward (Ganin et al., eq. 12-13)."""

    def backward(upstream):
        return -weight * upstream, tf.zeros_like(weight)

    return tf.identity(features), backward


def classification_loss(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), logits)


def _accuracy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(labels, tf.int32)), tf.float32))


class _Adaptation(AdversarialModel):
    """What DANN and ADDA share: the batch layout, the deployed classifier, the preview."""

    batch_type = AdaptationBatch

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.deployed}

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"real": examples["real"][:count], "real_b": examples["real_b"][:count]}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Source examples, then as many target examples, as the classifier sees them."""
        return np.concatenate([np.asarray(inputs["real"]), np.asarray(inputs["real_b"])]), 8

    @staticmethod
    def _domains(batch: AdaptationBatch) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        return batch.real[:, 0], batch.label[:, 0], batch.real_b[:, 0]


class DANN(_Adaptation):
    def __init__(
        self,
        extractor: keras.Model,
        classifier: keras.Model,
        domain_discriminator: keras.Model,
        total_steps: int,
        adaptation_weight: float = 1.0,
        **kwargs,
    ):
        super().__init__(("class_loss", "domain_loss", "source_accuracy", "domain_accuracy", "adaptation"), **kwargs)
        self.extractor, self.classifier, self.domain_discriminator = extractor, classifier, domain_discriminator
        self.total_steps, self.adaptation_weight = max(int(total_steps), 1), adaptation_weight
        self.deployed = deployed_classifier(extractor, classifier)
        self.label_variables = extractor.trainable_variables + classifier.trainable_variables

    def compile(self, generator_optimizer, discriminator_optimizer, loss: str = "non_saturating", **kwargs) -> None:
        """``generator_optimizer`` updates F and C, ``discriminator_optimizer`` updates D."""
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.label_variables,
            self.domain_discriminator.trainable_variables, loss, **kwargs,
        )

    def networks(self) -> dict[str, keras.Model]:
        return {"extractor": self.extractor, "classifier": self.classifier, "domain_discriminator": self.domain_discriminator}

    def adaptation_schedule(self) -> tf.Tensor:
        progress = tf.cast(self.step, tf.float32) / self.total_steps
        return self.adaptation_weight * (2.0 / (1.0 + tf.exp(-10.0 * progress)) - 1.0)

    def adversarial_step(self, batch: AdaptationBatch) -> dict[str, Any]:
        source, labels, target = self._domains(batch)
        weight = self.adaptation_schedule()
        # One backward pass trains both sides: the reversal layer flips D's gradient for F.
        with tf.GradientTape(persistent=True) as tape:
            source_features = self.extractor(source, training=True)
            target_features = self.extractor(target, training=True)
            logits = self.classifier(source_features, training=True)
            class_loss = classification_loss(logits, labels)
            source_domain = logit_of(self.domain_discriminator(reverse_gradient(source_features, weight), training=True))
            target_domain = logit_of(self.domain_discriminator(reverse_gradient(target_features, weight), training=True))
            # Source plays "real" (1), target "fake" (0) for the domain discriminator.
            domain_loss = self.adversarial_loss.discriminator(source_domain, target_domain)
            total = global_mean(class_loss + domain_loss)
        optimizer_step(self.generator_optimizer, tape, total, self.label_variables)
        optimizer_step(self.discriminator_optimizer, tape, total, self.domain_discriminator.trainable_variables)
        del tape
        self.trackers["class_loss"].update_state(tf.reduce_mean(class_loss))
        self.trackers["domain_loss"].update_state(tf.reduce_mean(domain_loss))
        self.trackers["source_accuracy"].update_state(_accuracy(logits, labels))
        correct = tf.concat([tf.cast(source_domain > 0, tf.float32), tf.cast(target_domain <= 0, tf.float32)], 0)
        self.trackers["domain_accuracy"].update_state(tf.reduce_mean(correct))
        self.trackers["adaptation"].update_state(weight)
        return {}


class ADDA(_Adaptation):
    def __init__(
        self,
        source_extractor: keras.Model,
        target_extractor: keras.Model,
        classifier: keras.Model,
        domain_discriminator: keras.Model,
        pretrain_steps: int,
        **kwargs,
    ):
        super().__init__(("class_loss", "source_accuracy", "d_loss", "g_loss", "d_real", "d_fake"), **kwargs)
        self.source_extractor, self.target_extractor = source_extractor, target_extractor
        self.classifier, self.domain_discriminator = classifier, domain_discriminator
        self.pretrain_steps = pretrain_steps
        self.deployed = deployed_classifier(target_extractor, classifier)
        # Updates of all three optimizers together: the step a checkpoint resumes at.
        self.steps_done = tf.Variable(
            0, dtype=tf.int64, trainable=False, name="steps_done",
            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
        )

    def compile(
        self, generator_optimizer, discriminator_optimizer, loss: str = "non_saturating",
        classifier_optimizer: keras.optimizers.Optimizer | None = None, **kwargs,
    ) -> None:
        """``classifier_optimizer``: F_s and C in the source phase; ``generator_optimizer``:
        F_t and ``discriminator_optimizer``: D in the adversarial phase."""
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.target_extractor.trainable_variables,
            self.domain_discriminator.trainable_variables, loss, **kwargs,
        )
        self.classifier_optimizer = classifier_optimizer
        self.source_variables = self.source_extractor.trainable_variables + self.classifier.trainable_variables
        classifier_optimizer.build(self.source_variables)

    @property
    def step(self) -> tf.Variable:
        return self.steps_done

    def networks(self) -> dict[str, keras.Model]:
        return {
            "source_extractor": self.source_extractor, "target_extractor": self.target_extractor,
            "classifier": self.classifier, "domain_discriminator": self.domain_discriminator,
        }

    def optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        return {**super().optimizers(), "classifier_optimizer": self.classifier_optimizer}

    def checkpoint_objects(self) -> dict:
        return {**super().checkpoint_objects(), "steps_done": self.steps_done}

    def adversarial_step(self, batch: AdaptationBatch) -> dict[str, Any]:
        source, labels, target = self._domains(batch)
        tf.cond(
            self.steps_done < self.pretrain_steps,
            lambda: self.source_step(source, labels),
            lambda: self.adaptation_step(source, target),
        )
        self.steps_done.assign_add(1)
        return {}

    def source_step(self, source: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """Pre-training: F_s and C on the source labels; F_t follows F_s, so the adversarial
        phase starts from the trained source encoder."""
        with tf.GradientTape() as tape:
            logits = self.classifier(self.source_extractor(source, training=True), training=True)
            class_loss = classification_loss(logits, labels)
            loss = global_mean(class_loss)
        optimizer_step(self.classifier_optimizer, tape, loss, self.source_variables)
        for copy, original in zip(self.target_extractor.weights, self.source_extractor.weights):
            copy.assign(original)
        self.trackers["class_loss"].update_state(tf.reduce_mean(class_loss))
        self.trackers["source_accuracy"].update_state(_accuracy(logits, labels))
        return tf.constant(0)

    def adaptation_step(self, source: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        """One D update on (F_s(source) real, F_t(target) fake), then one F_t update."""
        source_features = self.source_extractor(source, training=False)
        target_features = self.target_extractor(target, training=True)
        self.discriminator_update(self.domain_discriminator, source_features, target_features)
        with tf.GradientTape() as tape:
            fake_logits = logit_of(self.domain_discriminator(self.target_extractor(target, training=True), training=False))
            g_loss = self.adversarial_loss.generator(fake_logits)
            loss = global_mean(g_loss)
        optimizer_step(self.generator_optimizer, tape, loss, self.target_extractor.trainable_variables)
        self.trackers["g_loss"].update_state(tf.reduce_mean(g_loss))
        return tf.constant(0)


def _networks(context: BuildContext):
    """(feature extractor, label classifier, domain discriminator) for RGB images."""
    width, units = context.config.model.discriminator_width, context.config.model.hidden_units
    extractor = feature_extractor(context.element_shape, width)
    feature_dim = extractor.output_shape[-1]
    return extractor, label_classifier(feature_dim, context.num_classes, units), domain_discriminator(feature_dim, units)


def build_dann(context: BuildContext) -> DANN:
    extractor, classifier, discriminator = _networks(context)
    model = DANN(extractor, classifier, discriminator, context.total_steps, context.settings.adaptation_weight)
    model.compile(context.generator_optimizer, context.discriminator_optimizer, context.config.loss.name)
    return model


def build_adda(context: BuildContext) -> ADDA:
    if context.replicas > 1:
        raise ValueError(
            f"ADDA switches from its source phase to its adversarial phase inside the step (tf.cond "
            f"around optimizer updates), which MirroredStrategy cannot run; train it on one device "
            f"(--strategy one_device), not {context.replicas} replicas"
        )
    extractor, classifier, discriminator = _networks(context)
    target = feature_extractor(context.element_shape, context.config.model.discriminator_width, name="target_extractor")
    model = ADDA(extractor, target, classifier, discriminator, context.settings.pretrain_steps)
    scaling = resolve_precision(context.config.train.precision) == "mixed_float16"
    model.compile(
        context.generator_optimizer, context.discriminator_optimizer, context.config.loss.name,
        classifier_optimizer=make_optimizer(context.settings.classifier_optimizer, loss_scaling=scaling),
    )
    return model


def _prepare(source, config):
    """The target domain is made from the same images in their own order, blended with
    colour backgrounds; its labels are never put in a batch (they serve the evaluation)."""
    source.images_b = source.images
    source.derive = make_deriver("domain_shift")
    source.element_shape = (*source.element_shape[:2], 3)
    source.description += ", target domain = the same images blended with colour backgrounds (MNIST-M style)"
    return source


def _validate_adda(config) -> None:
    if config.family_settings.pretrain_steps < 1:
        raise ConfigError("ADDA needs adda.pretrain_steps >= 1: source training comes before adaptation")


FAMILIES = (
    Family(
        name="dann",
        summary="DANN (Ganin et al. 2016): domain-adversarial training through gradient reversal",
        build=build_dann,
        settings=DANNSettings,
        data=DataNeeds(labels=True, images=True, prepare=_prepare),
    ),
    Family(
        name="adda",
        summary="ADDA (Tzeng et al. 2017): source pre-training, then a target encoder against a domain D",
        build=build_adda,
        settings=ADDASettings,
        data=DataNeeds(labels=True, images=True, prepare=_prepare),
        validate=_validate_adda,
    ),
)
