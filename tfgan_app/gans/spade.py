"""Semantic image synthesis with SPADE (Park et al. 2019, "Semantic Image Synthesis with
Spatially-Adaptive Normalization"): an image generated from a label map.

    min_G max_D  L_hinge(G, D) + lambda_FM L_FM(G, D)          (sec. 3, appendix A; lambda_FM = 10)

G is normalised by SPADE layers that read the label map at every resolution; D, a
spectrally normalised PatchGAN, judges (image, map) pairs; the feature-matching loss is the
L1 distance between D's intermediate activations on the real image and on the image
generated from its map. Park et al. add a VGG perceptual loss; no ImageNet weights are
reachable here, so it is left out (their ablation, Table 5, shows it helps FID but is not
what makes SPADE work).

Data: the label map of each real image is made in the input pipeline from the image
itself (``data.tasks.segmentation_maps``: the background and the item's silhouette split
into four quadrants about its centre: shape and layout, not shading or texture), so any image set serves. The map respects the output when the map recomputed from
the generated image equals the input map (pixel accuracy, mean IoU:
``benchmarks/applications.py spade``).

Batches: ``real`` [m, k, H, W, C], ``condition`` [m, k, H, W] int32 (its label map) and the
noise of each update. Export: inputs ``z`` and ``segmentation`` (int32 [batch, H, W]).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.data.sources import load_derived
from tfgan_app.data.tasks import SEGMENT_NAMES, map_as_image
from tfgan_app.gans.base import (
    GeneratorDiscriminatorModel, global_mean, logit_of, optimizer_step, run_without_state_updates,
)
from tfgan_app.gans.registry import BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, LabelMap
from tfgan_app.networks.spade import spade_discriminator, spade_generator
from tfgan_app.plots import triples_grid


@dataclasses.dataclass
class SpadeSettings:
    """``[spade]``: the feature-matching weight and the networks' sizes."""

    # lambda_FM of Park et al. (10); 0 trains with the adversarial loss alone.
    feature_matching_weight: float = dataclasses.field(default=10.0, metadata={"min": 0})
    # Channels of each SPADE layer's shared convolution (Park et al. use 128).
    spade_hidden: int = dataclasses.field(default=64, metadata={"min": 1})
    # The PatchGAN's 4x4 convolutions (all but the last stride 2).
    patch_layers: int = dataclasses.field(default=3, metadata={"min": 2})
    # The PatchGAN's normalisation after its first layer: "instance" as in the reference
    # code's spectralinstance D; "none" leaves spectral norm alone.
    discriminator_norm: str = dataclasses.field(default="instance", metadata={"choices": ("instance", "none")})


class SegmentationBatch(NamedTuple):
    real: tf.Tensor  # [m, k, H, W, C] in [-1, 1]
    condition: tf.Tensor  # [m, k, H, W] int32: each real image's label map
    z_discriminator: tf.Tensor  # [m, k, noise_dim]
    z_generator: tf.Tensor  # [m, noise_dim]


class SPADEGAN(GeneratorDiscriminatorModel):
    batch_type = SegmentationBatch

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, classes: int, discriminator_steps: int = 1,
        ema_decay: float = 0.0, **kwargs,
    ):
        super().__init__(generator, discriminator, ("d_loss", "g_loss", "feature_matching", "d_real", "d_fake"), ema_decay, **kwargs)
        self.classes, self.discriminator_steps = classes, discriminator_steps
        self.noise_dim = int(generator.inputs[0].shape[-1])

    def compile(self, generator_optimizer, discriminator_optimizer, loss: str = "hinge", feature_matching_weight: float = 10.0, **kwargs):
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator.trainable_variables,
            self.discriminator.trainable_variables, loss, **kwargs,
        )
        self.feature_matching_weight = feature_matching_weight

    def call(self, inputs, training: bool = False) -> tf.Tensor:
        return self.generator(inputs, training=training)

    def adversarial_step(self, batch: SegmentationBatch) -> dict[str, Any]:
        for index in range(self.discriminator_steps):
            self.discriminator_step(batch.real[:, index], batch.condition[:, index], batch.z_discriminator[:, index])
        self.generator_step(batch.real[:, 0], batch.condition[:, 0], batch.z_generator)
        return {"generator": [batch.z_generator, batch.condition[:, 0]]}

    def discriminator_step(self, real: tf.Tensor, segmentation: tf.Tensor, z: tf.Tensor) -> None:
        fake = tf.stop_gradient(run_without_state_updates(self.generator, [z, segmentation]))
        self.discriminator_update(self.discriminator, [real, segmentation], [fake, segmentation])

    def generator_step(self, real: tf.Tensor, segmentation: tf.Tensor, z: tf.Tensor) -> None:
        real_outputs = run_without_state_updates(self.discriminator, [real, segmentation])
        with tf.GradientTape() as tape:
            fake = self.generator([z, segmentation], training=True)
            fake_outputs = run_without_state_updates(self.discriminator, [fake, segmentation])
            adversarial = self.adversarial_loss.generator(logit_of(fake_outputs))
            layers = sorted(name for name in real_outputs if name.startswith("layer_"))
            matching = losses.paired_feature_matching_loss(
                [real_outputs[name] for name in layers], [fake_outputs[name] for name in layers]
            )
            per_example = self.with_generator_regularizers(
                adversarial + self.feature_matching_weight * matching, [z, segmentation], fake
            )
            loss = global_mean(per_example)
        optimizer_step(self.generator_optimizer, tape, loss, self.generator.trainable_variables)
        self.trackers["g_loss"].update_state(tf.reduce_mean(per_example))
        self.trackers["feature_matching"].update_state(tf.reduce_mean(matching))

    def generate(self, z: tf.Tensor, segmentation: tf.Tensor) -> tf.Tensor:
        """Images for label maps: the (averaged) generator in inference mode."""
        return self.averaged()([tf.convert_to_tensor(z, tf.float32), tf.convert_to_tensor(segmentation, tf.int32)], training=False)

    def input_kinds(self) -> dict[str, InputKind]:
        names = tuple(SEGMENT_NAMES) if len(SEGMENT_NAMES) == self.classes else ()
        return {**super().input_kinds(), "segmentation": LabelMap(classes=self.classes, class_names=names)}

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        z = tf.random.stateless_normal([count, self.noise_dim], seed)
        return {"condition": examples["condition"][:count], "real": examples["real"][:count], "z": z}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Rows of (label map, output, the real image the map came from)."""
        real = inputs["real"]
        return triples_grid(
            map_as_image(inputs["condition"], self.classes, real.shape[-1]),
            self.generate(inputs["z"], inputs["condition"]), real,
        )


def build_spade(context: BuildContext) -> SPADEGAN:
    settings: SpadeSettings = context.settings
    config, shape = context.config, context.element_shape
    classes = len(SEGMENT_NAMES)
    model = SPADEGAN(
        spade_generator(config.model.latent_dim, shape, classes, config.model.generator_width, settings.spade_hidden,
                        synchronized_batch_norm=context.replicas > 1),
        spade_discriminator(shape, classes, config.model.discriminator_width, settings.patch_layers,
                            settings.discriminator_norm),
        classes, discriminator_steps=config.train.discriminator_steps, ema_decay=config.train.ema_decay,
    )
    model.compile(context.generator_optimizer, context.discriminator_optimizer, config.loss.name,
                  feature_matching_weight=settings.feature_matching_weight)
    return model


def _load(data, settings: SpadeSettings):
    return load_derived(data, "segmentation", "inputs = their label maps (background, the silhouette's four quadrants)")


FAMILIES = (
    Family(
        name="spade",
        summary="SPADE (Park et al. 2019): semantic image synthesis from a label map, spatially-adaptive normalisation",
        build=build_spade,
        settings=SpadeSettings,
        data=DataNeeds(load=_load, images=True),
        switches=frozenset({"train.ema_decay"}),
    ),
)
