"""Networks of adversarial domain adaptation: a convolutional feature extractor, a label
classifier on its features and a domain discriminator on the same features (Ganin et al.
2016's MNIST architecture, widths configurable)."""

from __future__ import annotations

import keras


def feature_extractor(image_shape: tuple[int, int, int], width: int = 32, name: str = "feature_extractor") -> keras.Model:
    """``image`` -> features: [Conv 5x5, max-pool 2, ReLU] with width and 1.5 x width
    filters (Ganin et al.: 32 and 48), flattened."""
    image = keras.Input(image_shape, name="image")
    x = image
    for index, filters in enumerate((width, width * 3 // 2)):
        x = keras.layers.Conv2D(filters, 5, padding="same", name=f"conv_{index}")(x)
        x = keras.layers.ReLU()(keras.layers.MaxPooling2D(name=f"pool_{index}")(x))
    features = keras.layers.Flatten(dtype="float32", name="features")(x)
    return keras.Model(image, features, name=name)


def label_classifier(feature_dim: int, num_classes: int, hidden_units: int = 100) -> keras.Model:
    """features -> class logits: two hidden ReLU layers (Ganin et al.: 100 units)."""
    features = keras.Input((feature_dim,), name="features")
    x = features
    for index in range(2):
        x = keras.layers.Dense(hidden_units, activation="relu", name=f"hidden_{index}")(x)
    logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(features, logits, name="label_classifier")


def domain_discriminator(feature_dim: int, hidden_units: int = 100) -> keras.Model:
    """features -> {"logit"}: the logit of "from the source domain"."""
    features = keras.Input((feature_dim,), name="features")
    x = features
    for index in range(2):
        x = keras.layers.Dense(hidden_units, name=f"hidden_{index}")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(features, {"logit": logit}, name="domain_discriminator")


def deployed_classifier(extractor: keras.Model, classifier: keras.Model) -> keras.Model:
    """``image`` -> ``probabilities``: the network a domain-adapted model exports."""
    image = keras.Input(extractor.input_shape[1:], name="image")
    logits = classifier(extractor(image))
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(logits)
    return keras.Model(image, probabilities, name="adapted_classifier")
