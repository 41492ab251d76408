"""Networks of the text-to-image family: a small text encoder, StackGAN's conditioning
augmentation (Zhang et al. 2017, sec. 3.1), a DCGAN generator taking the condition as its
code input, and a DCGAN discriminator with a projection of the text features (Miyato &
Koyama 2018, with the text's features in place of a class embedding).

Text: lower-cased, punctuation stripped, split on white space, each word looked up in the
training names' vocabulary (``keras.layers.TextVectorization``; unknown words share one
id), padded or cut to ``max_words``. The exported model takes the string and tokenises it
inside the SavedModel.
"""

from __future__ import annotations

import keras

from tfgan_app.networks.dcgan import dcgan_discriminator, dcgan_generator


def text_vectorizer(vocabulary: list[str], max_words: int) -> keras.layers.TextVectorization:
    return keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation", split="whitespace", vocabulary=vocabulary,
        output_mode="int", output_sequence_length=max_words, name="tokenize",
    )


def text_encoder(vocabulary_size: int, max_words: int, embedding_dim: int) -> keras.Model:
    """token ids [L] (0 = padding) -> the text's features [2 * embedding_dim]: word
    embeddings, their masked mean, a hidden layer. Trained by D's matching-aware loss (the
    role of StackGAN's pretrained char-CNN-RNN, itself trained to match texts with images)."""
    tokens = keras.Input((max_words,), dtype="int32", name="tokens")
    embedded = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="word_embedding")(tokens)
    pooled = keras.layers.GlobalAveragePooling1D(name="mean_of_words")(embedded)
    features = keras.layers.Dense(2 * embedding_dim, activation="relu", dtype="float32", name="text_features")(pooled)
    return keras.Model(tokens, features, name="text_encoder")


def conditioning_augmentation(feature_dim: int, condition_dim: int) -> keras.Model:
    """text features -> {"mean", "log_variance"} [condition_dim] of the condition's Gaussian
    (StackGAN eq. 1: c ~ N(mu(phi_t), Sigma(phi_t))); trained by G's loss and the KL term."""
    features = keras.Input((feature_dim,), name="text_features")
    mean = keras.layers.Dense(condition_dim, dtype="float32", name="mean")(features)
    log_variance = keras.layers.Dense(condition_dim, dtype="float32", name="log_variance")(features)
    return keras.Model(features, {"mean": mean, "log_variance": log_variance}, name="conditioning_augmentation")


def conditioned_generator(latent_dim: int, image_shape: tuple[int, int, int], condition_dim: int, width: int) -> keras.Model:
    """[z, condition] -> images: the DCGAN generator with the condition as its code input."""
    return dcgan_generator(latent_dim, image_shape, width, code_dim=condition_dim)


def conditioned_discriminator(image_shape: tuple[int, int, int], condition_dim: int, width: int) -> keras.Model:
    """[image, condition] -> {"logit"}: the DCGAN discriminator's logit plus
    <W condition, features> (a projection discriminator for a continuous condition)."""
    body = dcgan_discriminator(image_shape, width)
    image = keras.Input(image_shape, name="data")
    condition = keras.Input((condition_dim,), name="condition")
    outputs = body(image)
    features = outputs["features"]
    projected = keras.layers.Dense(features.shape[-1], use_bias=False, dtype="float32", name="condition_projection")(condition)
    projection = keras.layers.Dot(axes=1, dtype="float32", name="projection")([projected, features])
    logit = keras.layers.Add(dtype="float32", name="conditional_logit")([outputs["logit"], projection])
    return keras.Model([image, condition], {"logit": logit}, name="text_conditioned_discriminator")
