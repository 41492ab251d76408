"""Text-to-image synthesis with StackGAN's conditioning augmentation (Zhang et al. 2017,
"StackGAN: Text to Photo-realistic Image Synthesis with Stacked GANs", sec. 3.1 and 4.1;
the matching-aware discriminator of Reed et al. 2016, "Generative Adversarial Text to
Image Synthesis", sec. 4.2), one stage, on the emoji and their names ("grinning face",
"red apple", ...: ``emoji.json``'s names of the training split).

    c = mu(t) + sigma(t) * eps                        (conditioning augmentation)
    L_D = -log D(x, c) - 1/2 log(1 - D(x, c')) - 1/2 log(1 - D(G(z, c), c))   (GAN-CLS; c' a wrong text)
    L_G = -log D(G(z, c), c) + lambda KL(N(mu, sigma) || N(0, I))            (lambda = 2 in StackGAN)

The text encoder (``networks.text2image``: word embeddings, their mean, a hidden layer)
is trained with D, by its matching-aware loss: D judges (image, text features) and must
tell a real image with its own text from one with another's, which makes the features
tell texts apart (StackGAN's encoder was pretrained on such a matching objective; trained
from G's side instead, the features collapsed to the KL prior and D ignored them: real and
wrong-text scores equal to three decimals in every run tried). The conditioning
augmentation heads are trained with G, from G's loss and the KL term, on the features
without gradient into the encoder. The losses are the pipeline's ``loss.name`` (non-saturating
above), through the same per-example functions as every family.

Texts: each emoji's name (skin-tone variants share their base emoji's), or for any other
labelled data each example's class name ("ankle boot"). Batches: the images and, as their
label, the index of their text: the model holds the texts' token table and looks the text
up (the pipeline stays that of the conditional families). The noise has latent_dim + condition_dim values per example: z, then eps.
Export: inputs ``z`` and ``text`` (a string; tokenised inside the SavedModel, the
condition's mean as the condition). ONNX has no string tokeniser: the export is a
SavedModel only (the exporter says so if ONNX is asked for).
"""

from __future__ import annotations

import collections
import dataclasses
import re
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.data.emoji import emoji_texts, load_emoji
from tfgan_app.data.sources import DataError, Source, emoji_root, load_source
from tfgan_app.gans.base import (
    GeneratorDiscriminatorModel, global_mean, logit_of, optimizer_step, readout, run_without_state_updates,
)
from tfgan_app.gans.gan import LabelledNoiseBatch
from tfgan_app.gans.registry import BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, Text
from tfgan_app.networks.text2image import (
    conditioned_discriminator, conditioned_generator, conditioning_augmentation, text_encoder, text_vectorizer,
)

PREVIEW_ROWS = 8  # texts in the sample grids written during training
# What keras.layers.TextVectorization's "lower_and_strip_punctuation" removes.
PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')


@dataclasses.dataclass
class TextToImageSettings:
    """``[text2image]``: the text encoder, the condition, the KL weight, the preview texts."""

    max_words: int = dataclasses.field(default=8, metadata={"min": 1})  # words of a text kept (longer texts are cut)
    embedding_dim: int = dataclasses.field(default=64, metadata={"min": 1})  # width of the word embeddings
    condition_dim: int = dataclasses.field(default=32, metadata={"min": 1})  # width of the conditioning-augmentation output c
    # lambda of the KL term (StackGAN uses 2).
    kl_weight: float = dataclasses.field(default=2.0, metadata={"min": 0})


def words(text: str) -> list[str]:
    return PUNCTUATION.sub("", text.lower()).split()


def vocabulary_of(texts: list[str]) -> list[str]:
    """Every word of ``texts``, most frequent first, ties alphabetical: the same list on
    every build from the same data (a run's export rebuilds it from its config)."""
    counts = collections.Counter(word for text in texts for word in words(text))
    return [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


@keras.saving.register_keras_serializable(package="tfgan_app")
class ConditionMean(keras.layers.Layer):
    """The text encoder's output dict -> its mean (the exported condition)."""

    def call(self, outputs):
        return outputs["mean"]


class TextToImageGAN(GeneratorDiscriminatorModel):
    batch_type = LabelledNoiseBatch

    def __init__(
        self, text_encoder: keras.Model, conditioning: keras.Model, generator: keras.Model, discriminator: keras.Model,
        texts: list[str], vocabulary: list[str], max_words: int, kl_weight: float = 2.0,
        discriminator_steps: int = 1, ema_decay: float = 0.0, **kwargs,
    ):
        super().__init__(generator, discriminator, ("d_loss", "g_loss", "kl", "d_real", "d_fake", "d_wrong"), ema_decay, **kwargs)
        # The distinct texts of the data (its class names), indexed by the batch's labels.
        self.text_encoder, self.conditioning, self.texts = text_encoder, conditioning, list(texts)
        self.kl_weight, self.discriminator_steps = kl_weight, discriminator_steps
        self.vectorizer = text_vectorizer(vocabulary, max_words)
        # The texts as token ids, looked up by the batch's labels.
        self.token_table = tf.constant(self.vectorizer(tf.constant(self.texts)).numpy().astype(np.int32))
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.condition_dim = int(conditioning.output["mean"].shape[-1])
        self.noise_dim = self.latent_dim + self.condition_dim

    def compile(self, generator_optimizer, discriminator_optimizer, loss: str = "non_saturating", **kwargs):
        self.compile_adversarial(
            generator_optimizer, discriminator_optimizer, self.generator_side_variables(), self.discriminator_side_variables(),
            loss, **kwargs,
        )

    def generator_side_variables(self) -> list:
        return self.generator.trainable_variables + self.conditioning.trainable_variables

    def discriminator_side_variables(self) -> list:
        return self.discriminator.trainable_variables + self.text_encoder.trainable_variables

    def networks(self) -> dict[str, keras.Model]:
        return {**super().networks(), "text_encoder": self.text_encoder, "conditioning": self.conditioning}

    def text_features(self, labels: tf.Tensor, training: bool) -> tf.Tensor:
        return self.text_encoder(tf.gather(self.token_table, labels), training=training)

    def condition(self, features: tf.Tensor, eps: tf.Tensor, training: bool) -> tuple[tf.Tensor, tf.Tensor]:
        """(c = mu + sigma * eps, KL per example) from the texts' features."""
        outputs = self.conditioning(features, training=training)
        mean, log_variance = outputs["mean"], outputs["log_variance"]
        return mean + tf.exp(0.5 * log_variance) * eps, losses.kl_to_standard_normal(mean, log_variance)

    def adversarial_step(self, batch: LabelledNoiseBatch) -> dict[str, Any]:
        for index in range(self.discriminator_steps):
            self.discriminator_step(batch.real[:, index], batch.label[:, index], batch.z_discriminator[:, index])
        generator_inputs = self.generator_step(batch.label[:, 0], batch.z_generator)
        return {"generator": generator_inputs}

    def discriminator_step(self, real: tf.Tensor, labels: tf.Tensor, noise: tf.Tensor) -> None:
        """GAN-CLS: real with its text, real with another's, G(z, c) with its text."""
        z, eps = noise[:, : self.latent_dim], noise[:, self.latent_dim :]
        with tf.GradientTape() as tape:
            features = self.text_features(labels, training=True)
            condition = tf.stop_gradient(self.condition(features, eps, training=False)[0])
            fake = tf.stop_gradient(run_without_state_updates(self.generator, [z, condition]))
            wrong = tf.roll(features, shift=1, axis=0)  # another example's text
            real_logits = logit_of(self.discriminator([real, features], training=True))
            fake_logits = logit_of(self.discriminator([fake, features], training=True))
            wrong_logits = logit_of(self.discriminator([real, wrong], training=True))
            discriminate = self.adversarial_loss.discriminator
            per_example = 0.5 * discriminate(real_logits, fake_logits) + 0.5 * discriminate(real_logits, wrong_logits)
            loss = global_mean(per_example)
        optimizer_step(self.discriminator_optimizer, tape, loss, self.discriminator_side_variables())
        self.trackers["d_loss"].update_state(tf.reduce_mean(per_example))
        for name, logits in (("d_real", real_logits), ("d_fake", fake_logits), ("d_wrong", wrong_logits)):
            self.trackers[name].update_state(readout(self.adversarial_loss, logits))

    def generator_step(self, labels: tf.Tensor, noise: tf.Tensor) -> list[tf.Tensor]:
        z, eps = noise[:, : self.latent_dim], noise[:, self.latent_dim :]
        features = tf.stop_gradient(self.text_features(labels, training=False))
        with tf.GradientTape() as tape:
            condition, kl = self.condition(features, eps, training=True)
            fake = self.generator([z, condition], training=True)
            fake_logits = logit_of(run_without_state_updates(self.discriminator, [fake, features]))
            per_example = self.adversarial_loss.generator(fake_logits) + self.kl_weight * kl
            per_example = self.with_generator_regularizers(per_example, [z, condition], fake)
            loss = global_mean(per_example)
        optimizer_step(self.generator_optimizer, tape, loss, self.generator_side_variables())
        self.trackers["g_loss"].update_state(tf.reduce_mean(per_example))
        self.trackers["kl"].update_state(tf.reduce_mean(kl))
        return [z, condition]

    def text_to_image(self) -> keras.Model:
        """[z, text] -> images: tokenise, the condition's mean, the (averaged) generator."""
        z = keras.Input((self.latent_dim,), name="z")
        text = keras.Input((), dtype="string", name="text")
        condition = ConditionMean(name="condition")(self.conditioning(self.text_encoder(self.vectorizer(text))))
        return keras.Model([z, text], self.averaged()([z, condition]), name="text_to_image")

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.text_to_image()}

    def generate_from_text(self, z: tf.Tensor, texts) -> tf.Tensor:
        """Images for ``texts`` (what the export computes, without building its model)."""
        tokens = self.vectorizer(tf.constant(list(texts)))
        condition = self.conditioning(self.text_encoder(tokens, training=False), training=False)["mean"]
        return self.averaged()([tf.convert_to_tensor(z, tf.float32), condition], training=False)

    def input_kinds(self) -> dict[str, InputKind]:
        return {**super().input_kinds(), "text": Text(examples=tuple(self.texts[:: max(1, len(self.texts) // 20)][:20]))}

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        """``PREVIEW_ROWS`` of the texts, one per row, the same noise down each column."""
        rows = min(PREVIEW_ROWS, count)
        columns = max(1, count // rows)
        chosen = np.linspace(0, len(self.texts) - 1, rows).astype(np.int32)
        z = tf.random.stateless_normal([columns, self.latent_dim], seed)
        return {"z": tf.tile(z, [rows, 1]), "label": tf.constant(np.repeat(chosen, columns))}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        condition = self.conditioning(self.text_features(inputs["label"], training=False), training=False)["mean"]
        images = self.averaged()([inputs["z"], condition], training=False).numpy()
        return images, len(images) // min(PREVIEW_ROWS, len(images))


def build_text2image(context: BuildContext) -> TextToImageGAN:
    settings: TextToImageSettings = context.settings
    config, shape = context.config, context.element_shape
    texts = list(context.class_names)
    if len(texts) < 2:
        raise ValueError(
            "text2image needs texts: data.name = 'emoji' (each emoji's name) or labelled data with class names "
            f"(each example's class name as its text); got {len(texts)}"
        )
    vocabulary = vocabulary_of(texts)
    encoder = text_encoder(len(vocabulary) + 2, settings.max_words, settings.embedding_dim)
    feature_dim = int(encoder.output.shape[-1])
    model = TextToImageGAN(
        encoder, conditioning_augmentation(feature_dim, settings.condition_dim),
        conditioned_generator(config.model.latent_dim, shape, settings.condition_dim, config.model.generator_width),
        conditioned_discriminator(shape, feature_dim, config.model.discriminator_width),
        texts, vocabulary, settings.max_words, settings.kl_weight,
        discriminator_steps=config.train.discriminator_steps, ema_decay=config.train.ema_decay,
    )
    model.compile(context.generator_optimizer, context.discriminator_optimizer, config.loss.name)
    return model


def _load(data, settings: TextToImageSettings):
    """The emoji with their names, or any labelled images with their class names, as
    (image, text) pairs: the label is the index of the text in the source's class names."""
    if data.name != "emoji":
        source = load_source(data)
        if source.labels is None or len(source.class_names) < 2:
            raise DataError(f"text2image needs a text per image: {source.description} has no class names to use; "
                            "use data.name = 'emoji' (their names) or labelled data")
        return source
    root = emoji_root(data)
    images, files, _, _ = load_emoji(root, data.vendor, data.split, limit=data.limit)
    texts = emoji_texts(root, data.vendor, files)
    distinct = sorted(set(texts))  # skin-tone variants share their base emoji's name
    index = {text: position for position, text in enumerate(distinct)}
    labels = np.array([index[text] for text in texts], np.int64)
    return Source(f"{data.vendor} emoji with their names, split {data.split!r}", tuple(images.shape[1:]), images,
                  labels, distinct)


FAMILIES = (
    Family(
        name="text2image",
        summary="text-to-image (StackGAN conditioning augmentation, GAN-CLS D): emoji from their names",
        build=build_text2image,
        settings=TextToImageSettings,
        data=DataNeeds(load=_load),
        switches=frozenset({"train.ema_decay"}),
    ),
)
