"""TimeGAN's two scores for synthetic time series (Yoon et al. 2019, sec. 5.2), each a
post-hoc recurrent network trained from scratch:

- discriminative score: a GRU classifier learns real vs synthetic on 80% of both sets;
  score = |accuracy - 0.5| on the other 20% (0 = indistinguishable, 0.5 = trivially told apart);
- predictive score ("train on synthetic, test on real"): a GRU learns to predict the next
  step's last feature from the previous steps' other features on synthetic data; score =
  its mean absolute error on the real data (lower is better; compare with the same model
  trained on real data).

Sequences are [n, length, features] in [0, 1]. The networks follow the paper's: one GRU
layer of features // 2 units (at least 1); the iteration counts are arguments because on a
CPU the paper's 2,000 and 5,000 iterations take minutes.
"""

from __future__ import annotations

import numpy as np

from tfgan_app.losses import batch_correlations


def _gru_network(length: int, features: int, per_step: bool):
    import keras

    inputs = keras.Input((length, features))
    hidden = keras.layers.GRU(max(features // 2, 1), return_sequences=per_step)(inputs)
    outputs = keras.layers.Dense(1, activation=None if not per_step else "sigmoid")(hidden)
    return keras.Model(inputs, outputs)


def discriminative_score(
    real: np.ndarray, fake: np.ndarray, iterations: int = 2000, batch_size: int = 128, seed: int = 0
) -> float:
    """|test accuracy - 0.5| of a post-hoc GRU classifier of real vs synthetic."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    count = min(len(real), len(fake))
    data = np.concatenate([real[:count], fake[:count]]).astype(np.float32)
    labels = np.concatenate([np.ones(count), np.zeros(count)]).astype(np.float32)
    order = rng.permutation(len(data))
    cut = int(0.8 * len(data))
    train, test = order[:cut], order[cut:]
    model = _gru_network(data.shape[1], data.shape[2], per_step=False)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    epochs = max(1, round(iterations * batch_size / len(train)))
    model.fit(data[train], labels[train], batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    predicted = np.asarray(model.predict(data[test], batch_size=1024, verbose=0))[:, 0] > 0
    accuracy = float(np.mean(predicted == (labels[test] > 0.5)))
    return abs(accuracy - 0.5)


def predictive_score(
    train_on: np.ndarray, real: np.ndarray, iterations: int = 5000, batch_size: int = 128, seed: int = 0
) -> float:
    """MAE on ``real`` of a GRU trained on ``train_on`` to predict feature -1 at step t + 1
    from features :-1 at steps <= t. ``train_on`` = synthetic data gives TimeGAN's
    predictive score; ``train_on`` = real data gives the reference it is read against."""
    import keras

    if real.shape[2] < 2:
        raise ValueError("the predictive score needs at least 2 features (it predicts one from the others)")
    keras.utils.set_random_seed(seed)

    def split(sequences):
        return sequences[:, :-1, :-1].astype(np.float32), sequences[:, 1:, -1:].astype(np.float32)

    model = _gru_network(real.shape[1] - 1, real.shape[2] - 1, per_step=True)
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.MeanAbsoluteError())
    inputs, targets = split(train_on)
    epochs = max(1, round(iterations * batch_size / len(inputs)))
    model.fit(inputs, targets, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=True)
    test_inputs, test_targets = split(real)
    predicted = np.asarray(model.predict(test_inputs, batch_size=1024, verbose=0))
    return float(np.mean(np.abs(predicted - test_targets)))


def feature_correlation(sequences: np.ndarray) -> float:
    """Mean |Pearson correlation| between distinct features across the examples, averaged over
    the steps: how much the features move together. It explains a predictive score above
    the real data's when the generated marginals are right: the post-hoc GRU reads the last
    feature from the others, which works only where they are related (TimeGAN's sines have
    independent features, 0.02)."""
    features = sequences.shape[2]
    if features < 2:
        raise ValueError("feature correlation needs at least 2 features")
    correlations = batch_correlations(sequences).numpy()
    return float(np.mean(np.abs(correlations[:, ~np.eye(features, dtype=bool)])))
