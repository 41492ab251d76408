"""AC-GAN (Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs").

G(z, c) is the conditional GAN's generator. D sees the image alone and has two outputs: the
source (real or fake, the GAN's logit) and the class, an auxiliary classifier head over the
C classes (``q``). Sec. 3 of the paper: with the source loss ``L_S`` and the class loss

    L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)]

D maximises L_S + L_C and G maximises L_C - L_S. Here L_S is the configured adversarial
loss (non-saturating by default, as in the paper's code), and L_C enters both players'
losses as the cross-entropy ``losses.auxiliary_classifier_loss`` weighted by
``class_weight``: D on the real examples (their data labels) and on the fakes (the labels
they were made for), G on its fakes. Fakes in a D step carry the labels of that step's real
minibatch, as in the conditional GAN, so the class mix follows the data.

With ``classify_fakes = false`` D's class head learns from the real examples alone: G's class
loss then asks for fakes that a classifier of the data recognises, and D cannot satisfy it by
learning how G marks its fakes (the weakness of AC-GAN that Shu et al. 2017 and Gong et al.
2019, "Twin Auxiliary Classifiers GAN", trace to the fake term of L_C).

Unlike the projection discriminator of ``cgan``, the class head also makes D a classifier of
real images; its accuracy on the real minibatch is logged (``class_accuracy``).
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.gans.conditional import ConditionalGAN, validate_conditional
from tfgan_app.gans.gan import Minibatch, compile_noise_model, image_networks, noise_model_options
from tfgan_app.gans.registry import NOISE_TO_IMAGE_SWITCHES, BuildContext, DataNeeds, Family


@dataclasses.dataclass
class ACGANSettings:
    """``[acgan]``: the weight of the class loss L_C against the source loss L_S."""

    class_weight: float = dataclasses.field(default=1.0, metadata={"min": 0})  # weight of the auxiliary class loss in both players' losses
    classify_fakes: bool = True  # D's class head also learns the fakes' labels (the paper); false: the real examples only


class ACGAN(ConditionalGAN):
    discriminator_takes_label = False

    def __init__(self, generator: keras.Model, discriminator: keras.Model, num_classes: int,
                 class_weight: float = 1.0, classify_fakes: bool = True, **kwargs):
        self.class_weight, self.classify_fakes = class_weight, classify_fakes
        super().__init__(generator, discriminator, num_classes, **kwargs)
        outputs = self.discriminator.output
        head = outputs.get("q") if isinstance(outputs, dict) else None
        if head is None or head.shape[-1] != num_classes:
            raise ValueError(
                f"the AC-GAN discriminator {discriminator.name!r} needs a 'q' output of {num_classes} class logits "
                f"beside its 'logit'; it has {None if head is None else tuple(head.shape)}"
            )

    @classmethod
    def metric_names(cls) -> tuple[str, ...]:
        # class_loss: the cross-entropy on real examples; class_accuracy: D as a classifier of them.
        return super().metric_names() + ("class_loss", "class_accuracy")

    def auxiliary_loss(self, fake_outputs: dict, minibatch: Minibatch) -> tf.Tensor:
        return self.class_weight * losses.auxiliary_classifier_loss(fake_outputs["q"], minibatch.label)

    def discriminator_auxiliary_loss(self, fake_outputs: dict, minibatch: Minibatch) -> tf.Tensor | None:
        return self.auxiliary_loss(fake_outputs, minibatch) if self.classify_fakes else None

    def real_auxiliary_loss(self, real_outputs: dict, minibatch: Minibatch) -> tf.Tensor:
        class_loss = losses.auxiliary_classifier_loss(real_outputs["q"], minibatch.label)
        correct = tf.cast(tf.argmax(real_outputs["q"], -1, output_type=tf.int32) == tf.cast(minibatch.label, tf.int32), tf.float32)
        self.trackers["class_loss"].update_state(tf.reduce_mean(class_loss))
        self.trackers["class_accuracy"].update_state(tf.reduce_mean(correct))
        return self.class_weight * class_loss


def build_acgan(context: BuildContext) -> ACGAN:
    if context.num_classes < 2:
        raise ValueError(f"AC-GAN needs labelled data with at least 2 classes, got {context.num_classes}")
    settings: ACGANSettings = context.settings
    generator, discriminator = image_networks(context, num_classes=context.num_classes, class_head=True)
    model = ACGAN(generator, discriminator, context.num_classes, settings.class_weight, settings.classify_fakes,
                  **noise_model_options(context))
    return compile_noise_model(model, context)


FAMILIES = (
    Family(
        name="acgan",
        summary="AC-GAN (Odena et al. 2017): G(z, y), D predicts real/fake and the class",
        build=build_acgan,
        settings=ACGANSettings,
        data=DataNeeds(labels=True),
        switches=NOISE_TO_IMAGE_SWITCHES,
        validate=validate_conditional,
    ),
)
