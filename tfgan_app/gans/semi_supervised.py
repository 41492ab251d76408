"""The semi-supervised GAN (Salimans et al. 2016, "Improved Techniques for Training GANs",
sec. 5): a classifier trained on a few labelled examples and many unlabelled ones, with a
generator as the source of "fake" examples.

D is a K-way classifier with logits l_1..l_K; the fake class K+1 has its logit fixed at 0,
so D(x) = Z(x) / (Z(x) + 1), Z(x) = sum_k exp(l_k(x)), the sigmoid of log Z(x). Its loss is

    L = L_supervised + L_unsupervised
    L_supervised   = -E_{x,y ~ labelled} log p(y | x, y < K+1)           (cross-entropy on K)
    L_unsupervised = -E_{x ~ unlabelled} log D(x) - E_{z} log(1 - D(G(z)))

and G minimises feature matching, ||E f(x) - E f(G(z))||^2 on D's last hidden layer
(sec. 3.1), which the paper found better than the adversarial loss for the classifier.

    for each training iteration:
        for k = discriminator_steps times:
            take m labelled (x, y), m unlabelled x and m noise vectors z
            update D by descending L_supervised + unsupervised_weight * L_unsupervised
        take m unlabelled x and m noise vectors z
        update G by descending the feature-matching loss, D held fixed

What the family exports is the classifier (``image`` -> ``probabilities``), not G.
``unsupervised_weight = 0`` is the baseline of the same network trained on the labelled
examples alone: no fakes are made and G is not trained.

Batches: ``real`` / ``label`` are the labelled examples (``labels_per_class`` of each
class, drawn once with ``labelled_seed``), ``real_b`` every training image, unlabelled,
in its own order.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.data.sources import DataError
from tfgan_app.gans.base import GeneratorDiscriminatorModel, global_mean, optimizer_step, run_without_state_updates
from tfgan_app.gans.registry import BuildContext, DataNeeds, Family
from tfgan_app.networks.dcgan import dcgan_generator
from tfgan_app.networks.semi_supervised import (
    class_probabilities, mlp_semi_supervised_discriminator, semi_supervised_discriminator,
)


@dataclasses.dataclass
class SemiSupervisedSettings:
    """``[ssgan]``: which examples keep their labels, and the weight of the GAN's term."""

    # N = labels_per_class x K labelled examples, drawn per class with labelled_seed; every
    # training image is also used unlabelled. (Salimans et al.: 100 labels on MNIST.)
    labels_per_class: int = dataclasses.field(default=10, metadata={"min": 1})
    labelled_seed: int = 0
    # The weight of L_unsupervised; 0 trains the classifier on the labelled examples alone.
    unsupervised_weight: float = dataclasses.field(default=1.0, metadata={"min": 0})
    # Dropout after every layer of the convolutional D (and 0.2 on its input).
    dropout: float = dataclasses.field(default=0.5, metadata={"min": 0, "max": 0.9})
    # "convolutional": the DCGAN discriminator's body with dropout; "mlp": the paper's MNIST
    # discriminator (a perceptron with Gaussian noise on every layer).
    discriminator: str = dataclasses.field(default="convolutional", metadata={"choices": ("convolutional", "mlp")})


class SemiSupervisedBatch(NamedTuple):
    real: tf.Tensor  # [m, k, ...]: the labelled examples of each D update
    label: tf.Tensor  # [m, k] int32: their classes
    real_b: tf.Tensor  # [m, k, ...]: unlabelled examples (every training image, own order)
    z_discriminator: tf.Tensor  # [m, k, noise_dim]
    z_generator: tf.Tensor  # [m, noise_dim]


class SemiSupervisedGAN(GeneratorDiscriminatorModel):
    batch_type = SemiSupervisedBatch

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, num_classes: int,
        unsupervised_weight: float = 1.0, discriminator_steps: int = 1, **kwargs,
    ):
        # The baseline (unsupervised_weight 0) has no fakes and no G update to log.
        adversarial = ("g_loss", "d_real", "d_fake") if unsupervised_weight else ()
        super().__init__(
            generator, discriminator, ("d_loss", "supervised_loss", "labelled_accuracy", *adversarial), **kwargs,
        )
        head = discriminator.output.get("class_logits") if isinstance(discriminator.output, dict) else None
        if head is None or head.shape[-1] != num_classes:
            raise ValueError(
                f"the semi-supervised discriminator {discriminator.name!r} needs a 'class_logits' output of "
                f"{num_classes} logits; it has {None if head is None else tuple(head.shape)}"
            )
        self.num_classes = num_classes
        self.unsupervised_weight = unsupervised_weight
        self.discriminator_steps = discriminator_steps
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.classifier = class_probabilities(discriminator)

    def compile(self, generator_optimizer, discriminator_optimizer, **kwargs) -> None:
        # L_unsupervised is the cross-entropy GAN loss on log Z(x): no other loss applies.
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator.trainable_variables,
            self.discriminator.trainable_variables, "non_saturating", **kwargs,
        )

    @property
    def noise_dim(self) -> int:
        return self.latent_dim

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.classifier}

    def classify(self, images: tf.Tensor) -> tf.Tensor:
        """Class probabilities [batch, K] of images in [-1, 1]."""
        return self.classifier(images, training=False)

    def adversarial_step(self, batch: SemiSupervisedBatch) -> dict[str, Any]:
        for index in range(self.discriminator_steps):
            self.discriminator_step(
                batch.real[:, index], batch.label[:, index], batch.real_b[:, index], batch.z_discriminator[:, index]
            )
        if self.unsupervised_weight:
            self.generator_step(batch.real_b[:, 0], batch.z_generator)
        return {"generator": batch.z_generator}

    def discriminator_step(self, labelled: tf.Tensor, label: tf.Tensor, unlabelled: tf.Tensor, z: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            class_logits = self.discriminator(labelled, training=True)["class_logits"]
            supervised = losses.auxiliary_classifier_loss(class_logits, label)
            per_example = supervised
            if self.unsupervised_weight:
                fake = tf.stop_gradient(run_without_state_updates(self.generator, z))
                real_logit = self.discriminator(unlabelled, training=True)["logit"]
                fake_logit = self.discriminator(fake, training=True)["logit"]
                per_example += self.unsupervised_weight * losses.discriminator_loss(real_logit, fake_logit)
                self.trackers["d_real"].update_state(tf.reduce_mean(tf.sigmoid(real_logit)))
                self.trackers["d_fake"].update_state(tf.reduce_mean(tf.sigmoid(fake_logit)))
            loss = global_mean(per_example)
        optimizer_step(self.discriminator_optimizer, tape, loss, self.discriminator.trainable_variables)
        correct = tf.argmax(class_logits, -1, output_type=tf.int32) == tf.cast(label, tf.int32)
        self.trackers["d_loss"].update_state(tf.reduce_mean(per_example))
        self.trackers["supervised_loss"].update_state(tf.reduce_mean(supervised))
        self.trackers["labelled_accuracy"].update_state(tf.reduce_mean(tf.cast(correct, tf.float32)))

    def generator_step(self, unlabelled: tf.Tensor, z: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            fake_features = self.discriminator(fake, training=True)["features"]
            real_features = tf.stop_gradient(self.discriminator(unlabelled, training=True)["features"])
            matching = losses.feature_matching_loss(real_features, fake_features)
            # A batch statistic per replica: dividing by the replica count makes the summed
            # gradient their mean.
            loss = matching / tf.distribute.get_strategy().num_replicas_in_sync
            regularizer = self.regularize_generator(z, fake)
            if regularizer is not None:
                loss += global_mean(regularizer)
        optimizer_step(self.generator_optimizer, tape, loss, self.generator.trainable_variables)
        self.trackers["g_loss"].update_state(matching)

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {"z": tf.random.stateless_normal([count, self.noise_dim], seed)}

    def preview(self, inputs: dict) -> tuple[np.ndarray, None]:
        """G's samples: the "fake class" the classifier learns to reject."""
        return self.averaged()(inputs["z"], training=False).numpy(), None


def build_ssgan(context: BuildContext) -> SemiSupervisedGAN:
    if context.num_classes < 2:
        raise ValueError(f"the semi-supervised GAN needs labelled data with at least 2 classes, got {context.num_classes}")
    settings: SemiSupervisedSettings = context.settings
    config = context.config
    # G first: the order the networks draw their initial weights in.
    generator = dcgan_generator(config.model.latent_dim, context.element_shape, config.model.generator_width,
                                config.model.batch_norm_momentum)
    if settings.discriminator == "mlp":
        discriminator = mlp_semi_supervised_discriminator(context.element_shape, context.num_classes)
    else:
        discriminator = semi_supervised_discriminator(
            context.element_shape, context.num_classes, config.model.discriminator_width, settings.dropout)
    model = SemiSupervisedGAN(
        generator,
        discriminator,
        context.num_classes, settings.unsupervised_weight, config.train.discriminator_steps,
        ema_decay=config.train.ema_decay,
    )
    model.compile(context.generator_optimizer, context.discriminator_optimizer)
    return model


def labelled_subset(labels: np.ndarray, labels_per_class: int, seed: int, num_classes: int) -> np.ndarray:
    """Sorted indices of ``labels_per_class`` examples of each class, drawn with ``seed``:
    the same examples on every machine and in every run with that seed."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)
        if len(members) < labels_per_class:
            raise ValueError(f"class {label} has {len(members)} examples, fewer than ssgan.labels_per_class = {labels_per_class}")
        chosen.append(rng.choice(members, labels_per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def _prepare(source, config):
    settings: SemiSupervisedSettings = config.family_settings
    try:
        chosen = labelled_subset(source.labels, settings.labels_per_class, settings.labelled_seed, source.num_classes)
    except ValueError as error:
        raise DataError(f"{source.description}: {error}") from None
    source.images_b = source.images  # every image, unlabelled
    source.images, source.labels = source.images[chosen], source.labels[chosen]
    source.description += (
        f", {len(chosen)} labelled ({settings.labels_per_class} per class, seed {settings.labelled_seed}) "
        f"+ all {len(source.images_b)} unlabelled"
    )
    return source


FAMILIES = (
    Family(
        name="ssgan",
        summary="semi-supervised GAN (Salimans et al. 2016): a K+1-way D from few labels; exports the classifier",
        build=build_ssgan,
        settings=SemiSupervisedSettings,
        data=DataNeeds(labels=True, images=True, prepare=_prepare),
        switches=frozenset({"train.ema_decay"}),
    ),
)
