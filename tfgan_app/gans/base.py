"""What every family's ``keras.Model`` shares: running means for the logs, the two
optimizers built at compile time, the adversarial loss, the step counter."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app import losses


class AdversarialModel(keras.Model):
    """Base of the families: a generator side and a discriminator side, one optimizer each."""

    def __init__(self, metric_names: tuple[str, ...], **kwargs):
        super().__init__(**kwargs)
        # Running means reported by fit(): reset at each log window, read only when logged.
        self.trackers = {name: keras.metrics.Mean(name=name) for name in metric_names}
        # Keras 3 would otherwise try to build the model by calling it on the first batch.
        self.built = True

    def compile_adversarial(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        generator_variables: list,
        discriminator_variables: list,
        loss: str,
        **kwargs,
    ) -> None:
        """Attach both optimizers and the adversarial loss (a name in
        ``losses.ADVERSARIAL_LOSSES``); the families' ``compile`` methods call this."""
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        # Built here, not lazily in the first step: under a distribution strategy the slot
        # variables must be created in the strategy's scope, outside replica context.
        generator_optimizer.build(generator_variables)
        discriminator_optimizer.build(discriminator_variables)
        self.adversarial_loss = losses.get_adversarial_loss(loss)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so fit() resets them at each epoch and reports their results.
        return list(self.trackers.values())

    @property
    def step(self) -> tf.Variable:
        """Generator updates so far: the training step a checkpoint resumes at."""
        return self.generator_optimizer.iterations

    def discriminator_update(
        self, discriminator: keras.Model, real_inputs, fake_inputs, loss_weight: float = 1.0,
    ) -> None:
        """One optimizer update of ``discriminator`` on real against fake inputs (fakes
        already generated, outside the tape) with the adversarial loss x ``loss_weight``;
        logs d_loss, d_real and d_fake. Families whose D needs no extra terms use it."""
        with tf.GradientTape() as tape:
            real_logits = discriminator(real_inputs, training=True)["logit"]
            fake_logits = discriminator(fake_inputs, training=True)["logit"]
            per_example = loss_weight * self.adversarial_loss.discriminator(real_logits, fake_logits)
            scaled = self.discriminator_optimizer.scale_loss(tf.nn.compute_average_loss(per_example))
        apply_gradients(self.discriminator_optimizer, tape, scaled, discriminator.trainable_variables)
        self.trackers["d_loss"].update_state(tf.reduce_mean(per_example))
        self.trackers["d_real"].update_state(readout(self.adversarial_loss, real_logits))
        self.trackers["d_fake"].update_state(readout(self.adversarial_loss, fake_logits))

    def checkpoint_objects(self) -> dict:
        """What a checkpoint holds; the families add their networks."""
        return {
            "generator_optimizer": self.generator_optimizer,
            "discriminator_optimizer": self.discriminator_optimizer,
        }


def apply_gradients(optimizer: keras.optimizers.Optimizer, tape: tf.GradientTape, scaled_loss, variables) -> None:
    """One optimizer update. ``scaled_loss`` is ``optimizer.scale_loss(loss)``, taken inside
    the tape: the identity in float32, the loss scale under mixed_float16 (the optimizer is
    then a ``LossScaleOptimizer``, which unscales the gradients and skips non-finite ones)."""
    optimizer.apply_gradients(zip(tape.gradient(scaled_loss, variables), variables))


def readout(adversarial_loss: losses.AdversarialLoss, outputs: tf.Tensor) -> tf.Tensor:
    """Mean D(x) for the logs: a probability for cross-entropy losses, else the raw score."""
    if adversarial_loss.outputs_logits:
        return tf.reduce_mean(tf.sigmoid(outputs))
    return tf.reduce_mean(outputs)
