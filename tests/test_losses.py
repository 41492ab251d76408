import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgan_app import losses


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


REAL = np.array([2.0, -1.0, 0.5], np.float32)
FAKE = np.array([-3.0, 0.0, 1.5], np.float32)


def test_discriminator_cross_entropy_matches_hand_computation():
    expected = [
        -math.log(sigmoid(r)) - math.log(1 - sigmoid(f)) for r, f in zip(REAL, FAKE)
    ]
    np.testing.assert_allclose(losses.discriminator_loss(REAL, FAKE), expected, rtol=1e-5)


def test_one_sided_label_smoothing_changes_only_the_real_target():
    smoothing = 0.1
    expected = [
        -(0.9 * math.log(sigmoid(r)) + 0.1 * math.log(1 - sigmoid(r))) - math.log(1 - sigmoid(f))
        for r, f in zip(REAL, FAKE)
    ]
    np.testing.assert_allclose(losses.discriminator_loss(REAL, FAKE, smoothing), expected, rtol=1e-5)
    # The fake term is unchanged: with identical real logits the difference is the fake part only.
    plain = losses.discriminator_loss(REAL, FAKE) - losses.discriminator_loss(REAL, FAKE * 0)
    smooth = losses.discriminator_loss(REAL, FAKE, smoothing) - losses.discriminator_loss(REAL, FAKE * 0, smoothing)
    np.testing.assert_allclose(plain, smooth, rtol=1e-5)


def test_generator_losses_match_hand_computation():
    np.testing.assert_allclose(
        losses.minimax_generator_loss(FAKE), [math.log(1 - sigmoid(f)) for f in FAKE], rtol=1e-5
    )
    np.testing.assert_allclose(
        losses.non_saturating_generator_loss(FAKE), [-math.log(sigmoid(f)) for f in FAKE], rtol=1e-5
    )


def test_non_saturating_loss_gives_much_larger_gradient_when_discriminator_rejects_fakes():
    # D(G(z)) = sigmoid(-8) ~ 3e-4: the discriminator confidently rejects the fakes.
    logits = tf.Variable([-8.0])
    grads = {}
    for name, loss in (("minimax", losses.minimax_generator_loss),
                       ("non_saturating", losses.non_saturating_generator_loss)):
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(loss(logits))
        grads[name] = abs(float(tape.gradient(value, logits)[0]))
    # d/dl log(1 - s(l)) = -s(l) ~ 3e-4 ; d/dl -log s(l) = -(1 - s(l)) ~ -1
    assert grads["minimax"] == pytest.approx(sigmoid(-8.0), rel=1e-4)
    assert grads["non_saturating"] == pytest.approx(1 - sigmoid(-8.0), rel=1e-4)
    assert grads["non_saturating"] > 1000 * grads["minimax"]


def test_wasserstein_least_squares_and_hinge_losses():
    np.testing.assert_allclose(losses.wasserstein_critic_loss(REAL, FAKE), FAKE - REAL)
    np.testing.assert_allclose(losses.wasserstein_generator_loss(FAKE), -FAKE)
    np.testing.assert_allclose(
        losses.least_squares_discriminator_loss(REAL, FAKE),
        0.5 * (REAL - 1) ** 2 + 0.5 * FAKE**2, rtol=1e-6,
    )
    np.testing.assert_allclose(losses.least_squares_generator_loss(FAKE), 0.5 * (FAKE - 1) ** 2, rtol=1e-6)
    np.testing.assert_allclose(
        losses.hinge_discriminator_loss(REAL, FAKE),
        np.maximum(0, 1 - REAL) + np.maximum(0, 1 + FAKE), rtol=1e-6,
    )
    np.testing.assert_allclose(losses.hinge_generator_loss(FAKE), -FAKE)


def test_patch_outputs_are_averaged_per_example():
    patches = tf.reshape(tf.range(8, dtype=tf.float32), [2, 2, 2, 1])
    np.testing.assert_allclose(losses.wasserstein_generator_loss(patches), [-1.5, -5.5])


def test_gradient_penalty_of_linear_critic():
    # f(x) = w . x has gradient w everywhere, so the penalty is (|w| - 1)^2 for every example.
    w = tf.constant([[3.0], [4.0]])
    critic = lambda x: tf.matmul(x, w)  # noqa: E731
    real = tf.random.normal([5, 2])
    fake = tf.random.normal([5, 2])
    penalty = losses.gradient_penalty(critic, real, fake, tf.random.uniform([5]))
    np.testing.assert_allclose(penalty, np.full(5, (5.0 - 1.0) ** 2), rtol=1e-5)


def test_gradient_penalty_interpolates_between_real_and_fake():
    # f(x) = sum(x^2)/2 has gradient x: at epsilon=1 the point is the real example.
    critic = lambda x: 0.5 * tf.reduce_sum(tf.square(x), axis=1)  # noqa: E731
    real = tf.constant([[3.0, 4.0]])
    fake = tf.constant([[0.0, 0.0]])
    np.testing.assert_allclose(losses.gradient_penalty(critic, real, fake, tf.constant([1.0])), [16.0], rtol=1e-5)
    np.testing.assert_allclose(losses.gradient_penalty(critic, real, fake, tf.constant([0.5])), [2.25], rtol=1e-5)


def test_clip_weights():
    variable = tf.Variable([-0.5, 0.005, 0.3])
    losses.clip_weights([variable], 0.01)
    np.testing.assert_allclose(variable.numpy(), [-0.01, 0.005, 0.01])


def test_feature_matching_is_squared_distance_of_batch_means():
    real = tf.constant([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = tf.constant([[0.0, 0.0], [2.0, 2.0]])  # mean (1, 1)
    assert float(losses.feature_matching_loss(real, fake)) == pytest.approx(1.0 + 4.0)


def test_unknown_loss_name_lists_choices():
    with pytest.raises(ValueError, match="hinge"):
        losses.get_adversarial_loss("wasserstien")


def test_relativistic_pairing_losses_match_hand_computation():
    """Huang et al. 2024, eq. 2: D minimises softplus(-(D(x) - D(G(z)))), G the mirror."""
    real, fake = tf.constant([[2.0], [0.0]]), tf.constant([[1.0], [3.0]])
    d_loss = losses.relativistic_discriminator_loss(real, fake).numpy()
    g_loss = losses.relativistic_generator_loss(fake, real).numpy()
    np.testing.assert_allclose(d_loss, [math.log1p(math.exp(-1.0)), math.log1p(math.exp(3.0))], rtol=1e-6)
    np.testing.assert_allclose(g_loss, [math.log1p(math.exp(1.0)), math.log1p(math.exp(-3.0))], rtol=1e-6)
    # Only the difference matters: shifting every score leaves both losses unchanged.
    np.testing.assert_allclose(losses.relativistic_discriminator_loss(real + 5, fake + 5).numpy(), d_loss, rtol=1e-6)
    assert losses.get_adversarial_loss("relativistic").relativistic


def test_r2_is_the_zero_centred_penalty_at_the_fakes():
    weights = tf.constant([[3.0], [4.0]])
    critic = lambda x: tf.matmul(x, weights)  # noqa: E731 - gradient norm 5 everywhere
    fake = tf.random.normal([4, 2], seed=0)
    np.testing.assert_allclose(losses.r2_penalty(critic, fake).numpy(), [12.5] * 4, rtol=1e-6)
def test_orthogonal_regularization_penalises_only_the_filters_inner_products():
    """Brock et al. 2019, eq. 3: ||W^T W (.) (1 - I)||_F^2, W reshaped to [fan_in, filters]."""
    orthogonal = tf.constant([[3.0, 0.0], [0.0, 0.5]])  # orthogonal columns of any norms: 0
    assert float(losses.orthogonal_regularization([orthogonal])) == 0.0
    matrix = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    inner = float(matrix[:, 0] @ matrix[:, 1])  # 14: the off-diagonal entry, twice
    assert float(losses.orthogonal_regularization([tf.constant(matrix)])) == pytest.approx(2 * inner**2)
    kernel = tf.random.normal([3, 3, 4, 5], seed=0)  # a conv kernel: [3*3*4, 5] filters
    flat = tf.reshape(kernel, [-1, 5]).numpy()
    gram = flat.T @ flat
    expected = float(np.sum((gram * (1 - np.eye(5))) ** 2)) + 2 * inner**2
    assert float(losses.orthogonal_regularization([kernel, tf.constant(matrix)])) == pytest.approx(expected, rel=1e-5)


def test_paired_feature_matching_and_kl_match_hand_computation():
    real = [tf.constant([[1.0, 3.0], [0.0, 0.0]]), tf.constant([[2.0], [4.0]])]
    fake = [tf.constant([[0.0, 0.0], [0.0, 2.0]]), tf.constant([[2.0], [1.0]])]
    # Per example: mean over layers of mean |real - fake|: (2 + 0) / 2, (1 + 3) / 2.
    np.testing.assert_allclose(losses.paired_feature_matching_loss(real, fake).numpy(), [1.0, 2.0])
    mean, log_variance = tf.constant([[0.0, 0.0], [1.0, 0.0]]), tf.constant([[0.0, 0.0], [0.0, np.log(2.0)]])
    # 1/2 sum(sigma^2 + mu^2 - 1 - log sigma^2): 0 at the prior; 1/2 (1 + 1 - log 2).
    np.testing.assert_allclose(losses.kl_to_standard_normal(mean, log_variance).numpy(), [0.0, 0.5 * (2 - np.log(2.0))], atol=1e-6)


def test_correlation_matching_sees_features_that_move_together_and_teaches_them_apart():
    """The per-feature moments of TimeGAN's moment loss cannot tell independent features from
    copies of one; the batch correlations can, and their gradient separates the copies."""
    independent = tf.random.stateless_normal([512, 4, 3], [1, 2])
    copies = tf.tile(tf.random.stateless_normal([512, 4, 1], [3, 4]), [1, 1, 3])
    assert float(losses.moment_matching_loss(independent, copies)) < 0.1
    # Three copies: correlation 1 where the data has 0, on 6 of the 9 entries per step.
    assert float(losses.correlation_matching_loss(independent, copies)) == pytest.approx(6 / 9, abs=0.05)
    other = tf.random.stateless_normal([512, 4, 3], [5, 6])
    assert float(losses.correlation_matching_loss(independent, other)) < 0.05
    # Learning signal: a mixing matrix applied to independent noise, started near all-copies.
    mixing = tf.Variable(tf.ones([3, 3]) + 0.1 * tf.eye(3))
    optimizer = keras.optimizers.SGD(0.5)
    fake = lambda: tf.einsum("btf,fg->btg", other, mixing)  # noqa: E731
    start = float(losses.correlation_matching_loss(independent, fake()))
    for _ in range(100):
        with tf.GradientTape() as tape:
            loss = losses.correlation_matching_loss(independent, fake())
        optimizer.apply_gradients([(tape.gradient(loss, mixing), mixing)])
    assert float(losses.correlation_matching_loss(independent, fake())) < 0.3 * start


def test_top_k_generator_loss_keeps_the_lowest_losses_and_only_their_gradients():
    logits = tf.Variable([2.0, -3.0, 0.5, -1.0, 4.0])
    with tf.GradientTape() as tape:
        per_example = losses.non_saturating_generator_loss(logits)
        kept = losses.top_k_generator_loss(per_example, 2)
        loss = tf.reduce_mean(kept)
    # The two fakes D rates most real (logits 4.0 and 2.0) have the two lowest losses.
    np.testing.assert_allclose(np.sort(kept.numpy()), np.log1p(np.exp(-np.array([4.0, 2.0]))), rtol=1e-6)
    gradient = tape.gradient(loss, logits).numpy()
    assert np.all(gradient[[1, 2, 3]] == 0.0) and np.all(gradient[[0, 4]] < 0.0)
