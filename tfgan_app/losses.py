"""GAN losses as plain functions.

Every loss returns one value per example (shape ``[batch]``), never a batch mean: the
caller averages over the *global* batch (``tf.nn.compute_average_loss``), which is what
makes the same code correct on one device and under ``tf.distribute`` strategies.

Inputs named ``*_logits`` are the discriminator's raw outputs before the sigmoid
(D(x) = sigmoid(logit)); inputs named ``*_scores`` are unbounded critic outputs.
Cross-entropies are written with softplus, the numerically stable form of
``-log sigmoid(l) = softplus(-l)`` and ``-log(1 - sigmoid(l)) = softplus(l)``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import tensorflow as tf


def _flat(values: tf.Tensor) -> tf.Tensor:
    """[batch, ...] -> [batch]: PatchGAN-style outputs are averaged per example."""
    values = tf.convert_to_tensor(values)
    if values.shape.rank is not None and values.shape.rank > 1:
        return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)
    return values


def discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, label_smoothing: float = 0.0
) -> tf.Tensor:
    """Discriminator cross-entropy, with optional one-sided label smoothing.

    Goodfellow et al. 2014, "Generative Adversarial Nets", eq. 1: D maximises
    ``log D(x) + log(1 - D(G(z)))``; we minimise its negative,
    ``-[t log D(x) + (1 - t) log(1 - D(x))] - log(1 - D(G(z)))`` with real target
    ``t = 1 - label_smoothing``. Smoothing only the real side is the one-sided label
    smoothing of Salimans et al. 2016, "Improved Techniques for Training GANs", sec. 3.4:
    smoothing the fake target too would reward D for keeping fakes near 0.1 and lock in
    the generator's mistakes.
    """
    real_logits, fake_logits = _flat(real_logits), _flat(fake_logits)
    real_target = 1.0 - label_smoothing
    real_term = tf.nn.softplus(real_logits) - real_target * real_logits
    fake_term = tf.nn.softplus(fake_logits)
    return real_term + fake_term


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Saturating generator loss ``log(1 - D(G(z)))`` (Goodfellow et al. 2014, eq. 1).

    The generator minimises the same value function the discriminator maximises. Its
    gradient vanishes when D confidently rejects the fakes (D(G(z)) -> 0), which is
    exactly the situation early in training.
    """
    return -tf.nn.softplus(_flat(fake_logits))


def non_saturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss ``-log D(G(z))`` (Goodfellow et al. 2014, sec. 3).

    Same fixed point as the minimax loss, but "provides much stronger gradients early in
    learning": d/dl of softplus(-l) is -(1 - sigmoid(l)) -> -1 when D(G(z)) -> 0.
    """
    return tf.nn.softplus(-_flat(fake_logits))


def top_k_generator_loss(generator_losses: tf.Tensor, k: tf.Tensor | int) -> tf.Tensor:
    """The ``k`` lowest of G's per-example losses: its update from the fakes D rates most
    real, the rest of the batch left out.

    Sinha et al. 2020, "Top-k Training of GANs: Improving GAN Performance by Throwing Away
    Bad Samples": G minimises the loss of only the top-k fakes by D's score, since the
    gradients of the worst-rated ones tend to point away from the data's modes. For the
    cross-entropy, Wasserstein and hinge losses, which fall as D's score rises, the lowest
    losses are the highest scores; least squares keeps the fakes nearest its target.
    Returns ``[k]``: averaged by the caller like any per-example loss.
    """
    return -tf.math.top_k(-_flat(generator_losses), k=k, sorted=False).values


def wasserstein_critic_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """WGAN critic loss ``f(G(z)) - f(x)`` (Arjovsky et al. 2017, "Wasserstein GAN", eq. 3).

    Minimising it maximises ``E f(x) - E f(G(z))``, an estimate of the Earth-Mover
    distance when f is 1-Lipschitz (kept so by ``clip_weights`` or ``gradient_penalty``).
    """
    return _flat(fake_scores) - _flat(real_scores)


def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """WGAN generator loss ``-f(G(z))`` (Arjovsky et al. 2017, Algorithm 1, line 10)."""
    return -_flat(fake_scores)


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    interpolation: tf.Tensor,
) -> tf.Tensor:
    """WGAN-GP penalty ``(||grad_x_hat f(x_hat)||_2 - 1)^2`` per example.

    Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", eq. 3 and Algorithm 1:
    ``x_hat = eps x + (1 - eps) G(z)`` with ``eps ~ U[0, 1]`` per example, passed in as
    ``interpolation`` (shape [batch]) so the caller controls randomness. The caller
    multiplies by lambda (10 in the paper).
    """
    epsilon = tf.reshape(interpolation, [-1] + [1] * (len(real.shape) - 1))
    mixed = epsilon * real + (1.0 - epsilon) * fake
    return tf.square(_input_gradient_norms(critic, mixed) - 1.0)


def input_gradients(critic: Callable[[tf.Tensor], tf.Tensor], points: tf.Tensor) -> tf.Tensor:
    """d critic(x) / dx at every example: the gradient of the summed scores, which is each
    example's own where the critic scores examples one by one (with batch norm it includes
    the batch statistics' terms)."""
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = summed_scores(critic(points))
    return tape.gradient(scores, points)


def summed_scores(scores: tf.Tensor) -> tf.Tensor:
    """The sum of a critic's per-example scores: the scalar whose input gradient is each
    example's own (PatchGAN-style outputs averaged per example first, as the losses do)."""
    return tf.reduce_sum(_flat(scores))


def _input_gradient_norms(critic: Callable[[tf.Tensor], tf.Tensor], points: tf.Tensor) -> tf.Tensor:
    """||d critic(x) / dx||_2 per example."""
    return tf.sqrt(_squared_norms(input_gradients(critic, points)) + 1e-12)


def _squared_norms(gradients: tf.Tensor) -> tf.Tensor:
    """||g||^2 per example of [batch, ...] gradients."""
    return tf.reduce_sum(tf.square(tf.reshape(gradients, [tf.shape(gradients)[0], -1])), 1)


def zero_centred_penalty(gradients: tf.Tensor) -> tf.Tensor:
    """``1/2 ||g||^2`` per example of the critic's input gradients ``g``: R1 at real data,
    R2 at generated data. Takes the gradients rather than the critic so a caller that has
    them from the loss's own forward pass (R3GAN's code does) need not run D again."""
    return 0.5 * _squared_norms(gradients)


def r1_penalty(critic: Callable[[tf.Tensor], tf.Tensor], real: tf.Tensor) -> tf.Tensor:
    """R1 regulariser ``1/2 ||grad_x D(x)||^2`` on real data, per example.

    Mescheder et al. 2018, "Which Training Methods for GANs do actually Converge?", eq. 9:
    penalising D's gradient on the data manifold makes the game locally convergent. The
    caller multiplies by gamma.
    """
    return zero_centred_penalty(input_gradients(critic, real))


def r2_penalty(critic: Callable[[tf.Tensor], tf.Tensor], fake: tf.Tensor) -> tf.Tensor:
    """R2 regulariser ``1/2 ||grad_x D(x)||^2`` at generated data, per example: R1's
    zero-centred penalty on the fakes (Roth et al. 2017; Huang et al. 2024, eq. 4 and sec.
    2.2 show R1 + R2 together make the relativistic pairing game locally convergent)."""
    return r1_penalty(critic, fake)


def clip_weights(variables: Sequence[tf.Variable], clip_value: float) -> None:
    """Clip each weight to ``[-c, c]`` after a critic update.

    Arjovsky et al. 2017, Algorithm 1, line 7 (c = 0.01): a crude way to keep the critic
    K-Lipschitz. Not a loss, but it belongs with the WGAN objective it enforces.
    """
    for variable in variables:
        variable.assign(tf.clip_by_value(variable, -clip_value, clip_value))


def least_squares_discriminator_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """LSGAN discriminator loss ``1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2``.

    Mao et al. 2017, "Least Squares Generative Adversarial Networks", eq. 2 with the 0-1
    coding a = 0 (fake), b = 1 (real) of eq. 9.
    """
    return 0.5 * tf.square(_flat(real_scores) - 1.0) + 0.5 * tf.square(_flat(fake_scores))


def least_squares_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """LSGAN generator loss ``1/2 (D(G(z)) - 1)^2`` (Mao et al. 2017, eq. 2 and 9, c = 1)."""
    return 0.5 * tf.square(_flat(fake_scores) - 1.0)


def hinge_discriminator_loss(real_scores: tf.Tensor, fake_scores: tf.Tensor) -> tf.Tensor:
    """Hinge loss ``max(0, 1 - D(x)) + max(0, 1 + D(G(z)))``.

    Lim & Ye 2017, "Geometric GAN"; used with spectral normalisation by Miyato et al. 2018,
    "Spectral Normalization for GANs", eq. 16.
    """
    return tf.nn.relu(1.0 - _flat(real_scores)) + tf.nn.relu(1.0 + _flat(fake_scores))


def hinge_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """Hinge generator loss ``-D(G(z))`` (Miyato et al. 2018, eq. 17)."""
    return -_flat(fake_scores)


def relativistic_discriminator_loss(real_logits: tf.Tensor, fake_logits: tf.Tensor) -> tf.Tensor:
    """The relativistic pairing loss for D, per pair (RpGAN).

    Jolicoeur-Martineau 2019, "The relativistic discriminator", and Huang et al. 2024, "The
    GAN is dead; long live the GAN! A modern GAN baseline", eq. 2:
    ``softplus(-(D(x) - D(G(z))))`` with x and z paired. D judges whether a real example is
    more real than a fake one; the paper shows the paired form has no mode-dropping local
    minima of the non-saturating loss's kind (sec. 2.1).
    """
    return tf.nn.softplus(_flat(fake_logits) - _flat(real_logits))


def relativistic_generator_loss(fake_logits: tf.Tensor, real_logits: tf.Tensor) -> tf.Tensor:
    """The relativistic pairing loss for G, per pair: ``softplus(-(D(G(z)) - D(x)))``, the
    mirror of D's (Huang et al. 2024, eq. 2). G needs D's scores of the real examples too."""
    return tf.nn.softplus(_flat(real_logits) - _flat(fake_logits))


def feature_matching_loss(real_features: tf.Tensor, fake_features: tf.Tensor) -> tf.Tensor:
    """Feature matching ``|| E f(x) - E f(G(z)) ||_2^2`` (Salimans et al. 2016, sec. 3.1).

    f is an intermediate layer of the discriminator. The expectation is over the batch, so
    unlike the other losses this one is a batch statistic: it returns a scalar.
    """
    real_mean = tf.reduce_mean(tf.reshape(real_features, [tf.shape(real_features)[0], -1]), 0)
    fake_mean = tf.reduce_mean(tf.reshape(fake_features, [tf.shape(fake_features)[0], -1]), 0)
    return tf.reduce_sum(tf.square(real_mean - fake_mean))


def next_step_loss(latent: tf.Tensor, predicted: tf.Tensor) -> tf.Tensor:
    """TimeGAN's supervised loss ``L_S = E sum_t || h_t - g(h_{t-1}, z_t) ||_2^2`` (Yoon et al.
    2019, eq. 7), per example: ``predicted`` [b, T, H] is the supervisor's output for the
    real latent sequence ``latent`` [b, T, H], whose step t is the prediction of step t + 1.
    It is the stepwise transition of the data that the adversarial loss alone (judging whole
    sequences) does not teach. The mean over steps and units replaces the sum (a constant)."""
    error = tf.square(tf.cast(latent[:, 1:], tf.float32) - tf.cast(predicted[:, :-1], tf.float32))
    return tf.reduce_mean(tf.reshape(error, [tf.shape(error)[0], -1]), axis=1)


def moment_matching_loss(real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """Mean |std(fake) - std(real)| + mean |mean(fake) - mean(real)|, the batch moments per
    step and feature: the "G_loss_V" term of TimeGAN's reference code (Yoon et al. 2019,
    github.com/jsyoon0823/TimeGAN, timegan.py), not in the paper's equations. A batch
    statistic, like ``feature_matching_loss``: it returns a scalar."""
    real, fake = tf.cast(real, tf.float32), tf.cast(fake, tf.float32)
    real_mean, real_variance = tf.nn.moments(real, axes=[0])
    fake_mean, fake_variance = tf.nn.moments(fake, axes=[0])
    spread = tf.reduce_mean(tf.abs(tf.sqrt(fake_variance + 1e-6) - tf.sqrt(real_variance + 1e-6)))
    return spread + tf.reduce_mean(tf.abs(fake_mean - real_mean))


def batch_correlations(sequences: tf.Tensor) -> tf.Tensor:
    """The Pearson correlations between features across the batch at each step, [b, T, F]
    -> [T, F, F] (a constant feature correlates 0 with the others)."""
    values = tf.cast(sequences, tf.float32)
    centred = values - tf.reduce_mean(values, axis=0)
    scaled = centred * tf.math.rsqrt(tf.reduce_mean(tf.square(centred), axis=0) + 1e-6)
    return tf.einsum("btf,btg->tfg", scaled, scaled) / tf.cast(tf.shape(scaled)[0], tf.float32)


def correlation_matching_loss(real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
    """Mean |corr(fake) - corr(real)| over the batch correlation matrices of the features at
    each step (``batch_correlations``), [b, T, F] -> a scalar. ``moment_matching_loss``
    matches each feature's mean and spread but not how features move together: a generator
    can match every marginal while its features rise and fall in unison (TimeGAN's sines
    have independent features; an unmatched generator's were correlated about 0.5). The
    joint second moments are what TimeGAN's predictive score reads (Yoon et al. 2019, sec.
    5.2). Not in TimeGAN; a batch statistic, like ``moment_matching_loss``."""
    return tf.reduce_mean(tf.abs(batch_correlations(fake) - batch_correlations(real)))


def paired_feature_matching_loss(real_features: list[tf.Tensor], fake_features: list[tf.Tensor]) -> tf.Tensor:
    """Feature matching between paired examples, per example: the mean over D's layers of
    mean |D_i(x) - D_i(G(z))|, G(z) generated from x's condition.

    Wang et al. 2018 (pix2pixHD), eq. 4, as SPADE uses it (Park et al. 2019, appendix A,
    lambda_FM = 10). Unlike ``feature_matching_loss`` (batch means, Salimans et al.) each
    generated example is compared with the real example it was made for. D's features of
    the real examples are constants for G.
    """
    terms = [
        tf.reduce_mean(tf.abs(tf.reshape(tf.stop_gradient(real) - fake, [tf.shape(fake)[0], -1])), 1)
        for real, fake in zip(real_features, fake_features)
    ]
    return tf.add_n(terms) / len(terms)


def kl_to_standard_normal(mean: tf.Tensor, log_variance: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, diag(exp(log_variance))) || N(0, I)) per example, the conditioning
    augmentation's regulariser (Zhang et al. 2017, StackGAN, sec. 3.1, eq. 3's last term):
    1/2 sum(sigma^2 + mu^2 - 1 - log sigma^2)."""
    return 0.5 * tf.reduce_sum(tf.exp(log_variance) + tf.square(mean) - 1.0 - log_variance, axis=-1)


def orthogonal_regularization(kernels: list[tf.Tensor]) -> tf.Tensor:
    """BigGAN's orthogonal regularisation, a scalar (Brock et al. 2019, eq. 3):

        R(W) = || W^T W (.) (1 - I) ||_F^2

    summed over the kernels, each reshaped to [fan_in, filters]: the filters' pairwise
    inner products are pushed to 0 while their norms are left free (unlike Brock et al.
    2017's full orthogonality, which also fixes the norms). Multiply by beta (1e-4 there).
    """
    total = tf.constant(0.0)
    for kernel in kernels:
        matrix = tf.reshape(tf.cast(kernel, tf.float32), [-1, kernel.shape[-1]])
        gram = tf.matmul(matrix, matrix, transpose_a=True)
        off_diagonal = gram * (1.0 - tf.eye(kernel.shape[-1]))
        total += tf.reduce_sum(tf.square(off_diagonal))
    return total


def auxiliary_classifier_loss(class_logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """AC-GAN's class term, as a loss, per example.

    Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs", eq. 2:
    ``L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)]``; D maximises L_S + L_C and G
    maximises L_C - L_S, so both minimise the cross-entropy of the class c a fake was made
    for, and D also that of the real examples' classes. ``class_logits`` [m, classes] are D's
    auxiliary head, ``labels`` [m] int the classes.
    """
    return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), class_logits)


def information_loss(
    q_outputs: tf.Tensor, categorical_code: tf.Tensor, continuous_code: tf.Tensor
) -> tf.Tensor:
    """InfoGAN's variational mutual-information term, as a loss, per example.

    Chen et al. 2016, "InfoGAN", eq. 4-5: maximise ``L_I = E[log Q(c | G(z, c))] + H(c)``.
    H(c) is a constant, so we minimise ``-log Q(c|x)``: the cross-entropy of the categorical
    code (``q_outputs[:, :C]`` are its logits, ``categorical_code`` the one-hot code) plus,
    for the continuous codes, the negative log-likelihood of a unit-variance Gaussian whose
    mean is ``q_outputs[:, C:]`` (up to a constant: half the squared error), as in sec. 6.
    """
    categories = categorical_code.shape[-1]
    categorical = tf.nn.softmax_cross_entropy_with_logits(categorical_code, q_outputs[:, :categories])
    continuous = 0.5 * tf.reduce_sum(tf.square(q_outputs[:, categories:] - continuous_code), axis=-1)
    return categorical + continuous


def l1_loss(target: tf.Tensor, output: tf.Tensor) -> tf.Tensor:
    """Mean absolute error per example: pix2pix's ``L_L1(G) = E ||y - G(x)||_1`` (Isola et
    al. 2017, eq. 3) and CycleGAN's cycle-consistency and identity losses (Zhu et al. 2017,
    eq. 2 and sec. 5.2), which are L1 distances between images."""
    return _flat(tf.abs(target - output))


def squared_error(target: tf.Tensor, output: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
    """Mean squared error per example: SRGAN's pixel-wise MSE content loss and, on network
    features, its perceptual loss (Ledig et al. 2017, eq. 4 and 5). With a ``mask`` (1 where
    the loss counts, broadcast over channels) the mean is over the masked pixels only: the
    context encoder's reconstruction loss ``||M * (x - F((1 - M) * x))||^2`` (Pathak et al.
    2016, eq. 1), normalised by the hole's size."""
    error = tf.square(tf.cast(target, tf.float32) - tf.cast(output, tf.float32))
    if mask is None:
        return _flat(error)
    mask = tf.broadcast_to(tf.cast(mask, tf.float32), tf.shape(error))
    axes = list(range(1, error.shape.rank))
    return tf.reduce_sum(error * mask, axis=axes) / tf.maximum(tf.reduce_sum(mask, axis=axes), 1.0)


class AdversarialLoss(NamedTuple):
    """A discriminator loss and the generator loss it is paired with."""

    discriminator: Callable[..., tf.Tensor]
    # generator(fake logits), or generator(fake logits, real logits) when ``relativistic``.
    generator: Callable[..., tf.Tensor]
    # True when D's output is a logit of "real" (so sigmoid(D) is a probability).
    outputs_logits: bool
    # G's loss compares each fake with a real example: the G update also scores real data.
    relativistic: bool = False
    # D's mean loss under which D tells (nearly) every real example from every fake one, or
    # None where the loss has no floor (the Wasserstein critic's). The others reach 0 only at
    # perfect separation. At 0.05: the softplus losses' mean margins are 3-3.7 logits (the
    # cross-entropy's D(x) about 0.975, D(G(z)) 0.025), least squares' scores are within
    # about 0.22 of their targets, and nearly all hinge margins are met.
    separated_below: float | None = 0.05


ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
    "non_saturating": AdversarialLoss(discriminator_loss, non_saturating_generator_loss, True),
    "minimax": AdversarialLoss(discriminator_loss, minimax_generator_loss, True),
    "wasserstein": AdversarialLoss(wasserstein_critic_loss, wasserstein_generator_loss, False, separated_below=None),
    "least_squares": AdversarialLoss(
        least_squares_discriminator_loss, least_squares_generator_loss, False
    ),
    "hinge": AdversarialLoss(hinge_discriminator_loss, hinge_generator_loss, False),
    "relativistic": AdversarialLoss(relativistic_discriminator_loss, relativistic_generator_loss, False, True),
}


def get_adversarial_loss(name: str) -> AdversarialLoss:
    try:
        return ADVERSARIAL_LOSSES[name]
    except KeyError:
        raise ValueError(
            f"unknown loss {name!r}; choose one of {sorted(ADVERSARIAL_LOSSES)}"
        ) from None
