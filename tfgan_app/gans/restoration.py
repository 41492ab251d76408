"""Restoration GANs: a generator undoes a known degradation, trained with a content loss
plus a small adversarial term that pulls its outputs towards the data's manifold.

- SRGAN (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a GAN"):
  input = the image downsampled; perceptual loss l^SR = l_content + 10^-3 l_Gen (eq. 3),
  l_content the MSE of pixels and/or of a network's features (eq. 4, 5).
- Context encoder (Pathak et al. 2016, "Context Encoders: Feature Learning by Inpainting"):
  input = the image with a hole and the hole's mask; L = lambda_rec L_rec + lambda_adv
  L_adv (eq. 3; 0.999 and 0.001), L_rec the squared error inside the hole (eq. 1).

    for each training iteration:
        degrade m real images x into inputs y (in the data pipeline)
        update D on x (real) and G(y) (fake)
        update G on content(x, G(y)) + perceptual_weight * features(x, G(y))
                    + adversarial_weight * generator_loss(D(G(y))), D held fixed

Batches: ``real`` [m, k, H, W, C] targets, ``condition`` [m, k, ...] the degraded inputs
and, for inpainting, ``mask`` [m, k, H, W, 1] (1 = missing).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.gans.base import AdversarialModel, apply_gradients
from tfgan_app.gans.gan import _run_without_state_updates
from tfgan_app.training.plots import triples_grid

# Generator input name -> batch key.
_INPUT_KEYS = {"image": "condition", "mask": "mask"}


class RestorationGAN(AdversarialModel):
    noise_dim = 1  # no noise is used; the pipeline's is ignored

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        perceptual_network: keras.Model | None = None,
        discriminator_steps: int = 1,
        **kwargs,
    ):
        super().__init__(("d_loss", "g_loss", "content", "psnr", "d_real", "d_fake"), **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.perceptual_network = perceptual_network
        if perceptual_network is not None:
            perceptual_network.trainable = False
        self.discriminator_steps = discriminator_steps
        self.input_names = [tensor.name for tensor in generator.inputs]
        self.masked = "mask" in self.input_names

    def compile(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        loss: str = "non_saturating",
        adversarial_weight: float = 1e-3,
        perceptual_weight: float = 0.0,
        **kwargs,
    ) -> None:
        if perceptual_weight and self.perceptual_network is None:
            raise ValueError("perceptual_weight > 0 needs a perceptual_network")
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator.trainable_variables,
            self.discriminator.trainable_variables, loss, **kwargs,
        )
        self.adversarial_weight, self.perceptual_weight = adversarial_weight, perceptual_weight

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.generator}

    def checkpoint_objects(self) -> dict:
        return {"generator": self.generator, "discriminator": self.discriminator, **super().checkpoint_objects()}

    def generator_inputs(self, batch: dict, index: int | None = None) -> list | tf.Tensor:
        """G's inputs from a batch: [n, ...] tensors, or slice ``index`` of [m, k, ...] ones."""
        values = [batch[_INPUT_KEYS[name]] for name in self.input_names]
        if index is not None:
            values = [value[:, index] for value in values]
        return values[0] if len(values) == 1 else values

    def restore(self, batch: dict) -> tf.Tensor:
        """G's output in inference mode for a batch with ``condition`` (and ``mask``) [n, ...]."""
        return self.generator(self.generator_inputs(batch), training=False)

    def train_step(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        for index in range(self.discriminator_steps):
            self.discriminator_step(self.generator_inputs(batch, index), batch["real"][:, index])
        self.generator_step(
            self.generator_inputs(batch, 0), batch["real"][:, 0], batch["mask"][:, 0] if self.masked else None
        )
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def discriminator_step(self, inputs, target: tf.Tensor) -> None:
        fake = tf.stop_gradient(_run_without_state_updates(self.generator, inputs))
        self.discriminator_update(self.discriminator, target, fake)

    def generator_step(self, inputs, target: tf.Tensor, mask: tf.Tensor | None) -> None:
        with tf.GradientTape() as tape:
            fake = self.generator(inputs, training=True)
            content = losses.squared_error(target, fake, mask)
            total = content + self.adversarial_weight * self.adversarial_loss.generator(
                _run_without_state_updates(self.discriminator, fake)["logit"]
            )
            if self.perceptual_weight:
                total += self.perceptual_weight * losses.squared_error(
                    self.perceptual_network(target, training=False), self.perceptual_network(fake, training=False)
                )
            scaled = self.generator_optimizer.scale_loss(tf.nn.compute_average_loss(total))
        apply_gradients(self.generator_optimizer, tape, scaled, self.generator.trainable_variables)
        self.trackers["g_loss"].update_state(tf.reduce_mean(total))
        self.trackers["content"].update_state(tf.reduce_mean(content))
        self.trackers["psnr"].update_state(tf.reduce_mean(tf.image.psnr(target, tf.clip_by_value(fake, -1.0, 1.0), 2.0)))

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        return {key: value[:count] for key, value in examples.items() if key in ("real", "condition", "mask")}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Rows of (input, output, target) triples; small inputs are shown enlarged."""
        output = np.clip(self.restore(inputs).numpy(), -1.0, 1.0)
        shown = np.asarray(inputs["condition"])
        if shown.shape[1] != output.shape[1]:
            factor = output.shape[1] // shown.shape[1]
            shown = shown.repeat(factor, axis=1).repeat(factor, axis=2)
        return triples_grid(shown, output, inputs["real"])


def perceptual_features(classifier_dir: str, image_shape: tuple[int, ...]) -> keras.Model:
    """The domain classifier's penultimate features, images in [-1, 1] -> [n, 128]: the
    stand-in for SRGAN's VGG features where no ImageNet weights are available."""
    from tfgan_app.metrics.features import FEATURE_LAYER, load_domain_classifier

    extractor, info = load_domain_classifier(classifier_dir)
    if tuple(info["image_shape"]) != tuple(image_shape):
        raise ValueError(
            f"the classifier in {classifier_dir} takes images of {info['image_shape']}, the data has {list(image_shape)}"
        )
    model = extractor.model
    return keras.Model(model.inputs, model.outputs[0], name=f"perceptual_{FEATURE_LAYER}")
