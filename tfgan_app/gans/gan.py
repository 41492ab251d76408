"""The unconditional GAN: Algorithm 1 of Goodfellow et al. 2014 as a ``keras.Model``.

    for each training iteration:
        for k = discriminator_steps times:
            take m real examples x and m noise vectors z
            update D by descending the gradient of its loss on (x, G(z))
        take m noise vectors z
        update G by descending the gradient of its loss on D(G(z)), D held fixed

All randomness (noise, and the interpolation factors of a gradient penalty) arrives in the
batch from the input pipeline (``tfgan_app.data.pipeline``), so a step is a pure function of
its batch and the weights: distributed, resumed and single-device runs agree exactly.

Losses are per example and averaged over the *global* batch (``compute_average_loss``);
Keras optimizers sum gradients across replicas, so N replicas compute the same update as one
device with the whole batch.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from tfgan_app import losses


class GAN(keras.Model):
    """A generator and a discriminator trained against each other.

    Batches are dicts with ``real`` [m, k, ...], ``z_discriminator`` [m, k, latent_dim],
    ``z_generator`` [m, latent_dim] and optionally ``epsilon`` [m, k] (see the data pipeline).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        discriminator_steps: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if discriminator_steps < 1:
            raise ValueError(f"discriminator_steps must be >= 1, got {discriminator_steps}")
        self.generator = generator
        self.discriminator = discriminator
        self.discriminator_steps = discriminator_steps
        self.latent_dim = generator.input_shape[-1]
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        # Mean D(x) and D(G(z)): probabilities for cross-entropy losses (both tend to 0.5 at
        # the equilibrium), raw scores for critics (Wasserstein, least squares, hinge).
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        # Keras 3 would otherwise try to build the model by calling it on the first batch.
        self.built = True

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str = "non_saturating",
        label_smoothing: float = 0.0,
        gradient_penalty_weight: float = 0.0,
        weight_clip: float = 0.0,
        **kwargs,
    ) -> None:
        """Set the optimizers and the adversarial loss (a name in ``losses.ADVERSARIAL_LOSSES``)."""
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        # Built here, not lazily in the first step: under a distribution strategy the slot
        # variables must be created in the strategy's scope, outside replica context.
        generator_optimizer.build(self.generator.trainable_variables)
        discriminator_optimizer.build(self.discriminator.trainable_variables)
        self.adversarial_loss = losses.get_adversarial_loss(loss)
        self.discriminator_loss = self.adversarial_loss.discriminator
        if label_smoothing:
            if self.adversarial_loss.discriminator is not losses.discriminator_loss:
                raise ValueError(f"label_smoothing applies to cross-entropy losses, not {loss!r}")
            self.discriminator_loss = functools.partial(
                losses.discriminator_loss, label_smoothing=label_smoothing
            )
        self.gradient_penalty_weight = gradient_penalty_weight
        self.weight_clip = weight_clip

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so fit() resets them at each epoch and reports their results.
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    @property
    def step(self) -> tf.Variable:
        """Generator updates so far: the training step a checkpoint resumes at."""
        return self.generator_optimizer.iterations

    def call(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(z, training=training)

    def generate(self, z: tf.Tensor) -> tf.Tensor:
        """Samples for viewing or export: the generator in inference mode."""
        return self.generator(z, training=False)

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        for index in range(self.discriminator_steps):
            self.discriminator_step(
                batch["real"][:, index],
                batch["z_discriminator"][:, index],
                batch["epsilon"][:, index] if "epsilon" in batch else None,
            )
        self.generator_step(batch["z_generator"])
        return {metric.name: metric.result() for metric in self.metrics}

    def discriminator_outputs(self, images: tf.Tensor) -> tf.Tensor:
        return self.discriminator(images, training=True)

    def discriminator_step(
        self, real: tf.Tensor, z: tf.Tensor, epsilon: tf.Tensor | None = None
    ) -> None:
        """One update of D on real examples and G(z); G is not changed."""
        fake = tf.stop_gradient(_run_without_state_updates(self.generator, z))
        with tf.GradientTape() as tape:
            real_outputs = self.discriminator_outputs(real)
            fake_outputs = self.discriminator_outputs(fake)
            per_example = self.discriminator_loss(real_outputs, fake_outputs)
            if self.gradient_penalty_weight:
                if epsilon is None:
                    raise ValueError("a gradient penalty needs 'epsilon' in the batch")
                per_example += self.gradient_penalty_weight * losses.gradient_penalty(
                    self.discriminator_outputs, real, fake, epsilon
                )
            loss = tf.nn.compute_average_loss(per_example)
        variables = self.discriminator.trainable_variables
        self.discriminator_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        if self.weight_clip:
            losses.clip_weights(variables, self.weight_clip)
        self.d_loss_tracker.update_state(tf.reduce_mean(per_example))
        self.d_real_tracker.update_state(self._readout(real_outputs))
        self.d_fake_tracker.update_state(self._readout(fake_outputs))

    def generator_step(self, z: tf.Tensor) -> None:
        """One update of G through D; D's weights, batch-norm statistics included, stay fixed."""
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            fake_outputs = _run_without_state_updates(self.discriminator, fake)
            per_example = self.adversarial_loss.generator(fake_outputs)
            loss = tf.nn.compute_average_loss(per_example)
        variables = self.generator.trainable_variables
        self.generator_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.g_loss_tracker.update_state(tf.reduce_mean(per_example))

    def _readout(self, outputs: tf.Tensor) -> tf.Tensor:
        if self.adversarial_loss.outputs_logits:
            return tf.reduce_mean(tf.sigmoid(outputs))
        return tf.reduce_mean(outputs)


def _run_without_state_updates(model: keras.Model, inputs: tf.Tensor) -> tf.Tensor:
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
