"""A recurrent GAN for multivariate time series: Algorithm 1 with GRU/LSTM networks over
sequences (as in C-RNN-GAN, Mogren 2016, and the adversarial part of TimeGAN, Yoon et al.
2019), judged per time step. Everything else (losses, k, EMA...) is ``GAN``'s.

The pipeline draws ``length * noise_features`` normal numbers per example; G reads them as
noise at every time step, [length, noise_features].

``sequence.timegan = true`` adds what TimeGAN (Yoon et al. 2019, sec. 4) adds to it: the
game is played in a learned latent space, and a supervised loss teaches the step-to-step
transition. Per step, on real sequences x and noise z:

    h = E(x)                                    embedding;     R(h) recovers x
    e = G(z), h_hat = S(e), x_hat = R(h_hat)    G proposes latent steps, S makes them follow
                                                the data's transition, R decodes them
    E, R:  min L_R + lambda L_S                 eq. 8 (L_R: |x - R(E(x))|^2; L_S: eq. 7)
    G, S:  min L_U(G) + eta L_S [+ moments]     eq. 9 (L_U: the adversarial loss on D(h_hat)
                                                and D(e); L_S on S(h) for the real h)
    D:     max L_U                              real h against h_hat and e

The weights and forms are the reference code's (github.com/jsyoon0823/TimeGAN, timegan.py),
which produced the paper's numbers, rather than the equations' nominal lambda = 1, eta = 10:
E and R minimise 10 sqrt(L_R) + 0.1 L_S, G and S 100 sqrt(L_S) (+ 100 x the moments). The
roots matter: with the squared losses and lambda = 1, E learns a constant embedding (L_S = 0
for free) and R the data's mean sequence, and the game has nothing to imitate.

``sequence.correlation_weight`` adds what neither the paper nor its code has: G and S also
match the batch correlations between the features of R(S(G(z))) to the data's
(``losses.correlation_matching_loss``). The reference's moments are per feature, and
without this the sines' independent features came out correlated about 0.5 after the
committed budget, which TimeGAN's predictive score reads as a wrong next-step relation.

The first ``sequence.embedding_steps`` steps are the reference code's embedding and
supervised phases run together: E and R on the reconstruction alone, S on the next-step loss
alone; the adversarial terms and E's L_S term are weighted 0. The phase is a function of the
step, so resuming is exact on any strategy. As in the reference code,
``sequence.generator_steps`` E/R and G/S updates can precede each D update, and D can sit out
a step where its loss is already below ``discriminator_threshold``. The export is the
synthesis R(S(G(z))).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.config import ConfigError
from tfgan_app.data.sources import load_sequences
from tfgan_app.gans.base import global_mean, logit_of, optimizer_step, readout
from tfgan_app.gans.build import make_optimizer, resolve_precision
from tfgan_app.gans.gan import GAN, compile_noise_model, noise_model_options
from tfgan_app.gans.registry import SWITCHES, BuildContext, DataNeeds, Family
from tfgan_app.networks.sequence import recurrent_discriminator, recurrent_generator, recurrent_network
from tfgan_app.plots import sequence_plot


@dataclasses.dataclass
class SequenceSettings:
    """``[sequence]``: the recurrent networks."""

    cell: str = dataclasses.field(default="gru", metadata={"choices": ("gru", "lstm")})  # the recurrent cell of every network
    recurrent_units: int = dataclasses.field(default=24, metadata={"min": 1})  # units per recurrent layer
    recurrent_layers: int = dataclasses.field(default=3, metadata={"min": 1})  # stacked recurrent layers per network
    # TimeGAN (see the module docstring): embedding, recovery and supervisor networks of the
    # same cell, the latent space as wide as recurrent_units.
    timegan: bool = False
    # Steps at the start that train E, R and S only (TimeGAN's pretraining).
    embedding_steps: int = dataclasses.field(default=1000, metadata={"min": 0})
    # E and R's learning rate (0 = optimizer.generator's; their optimizer is otherwise G's).
    # An autoencoder takes a faster rate than the game: at 1e-3 the sines' embedding is still
    # near the data's mean sequence after 1,000 steps.
    embedding_learning_rate: float = dataclasses.field(default=0.0, metadata={"min": 0.0})
    # The weights of the three losses, in the reference code's forms (module docstring):
    # 10 x the root-mean-square reconstruction error in E and R's loss ...
    reconstruction_weight: float = dataclasses.field(default=10.0, metadata={"min": 0.0})
    # ... eta, 100 x the root-mean-square next-step error in G and S's loss (eq. 9) ...
    supervised_weight: float = dataclasses.field(default=100.0, metadata={"min": 0.0})
    # ... and lambda, 0.1 x the mean squared next-step error in E and R's (eq. 8).
    embedding_supervised_weight: float = dataclasses.field(default=0.1, metadata={"min": 0.0})
    # Batch moments of R(S(G(z))) matched to the data's (the reference code's 100; 0 = off).
    moment_weight: float = dataclasses.field(default=0.0, metadata={"min": 0.0})
    # Batch correlations between the features of R(S(G(z))) matched to the data's, per step
    # (losses.correlation_matching_loss; not in TimeGAN; 0 = off).
    correlation_weight: float = dataclasses.field(default=0.0, metadata={"min": 0.0})
    # Updates of E/R and G/S per D update in the joint phase (the reference code's 2), on
    # the step's batch ...
    generator_steps: int = dataclasses.field(default=1, metadata={"min": 1})
    # ... and D is updated only while its loss on the batch is above this (the reference
    # code's 0.15; 0 = always), so it does not run away from G and S.
    discriminator_threshold: float = dataclasses.field(default=0.0, metadata={"min": 0.0})


class SequenceGAN(GAN):
    noise_rank = 3
    @property
    def noise_dim(self) -> int:
        length, noise_features = self.generator.inputs[0].shape[1:]
        return int(length * noise_features)

    def generator_inputs(self, z: tf.Tensor, label: tf.Tensor | None):
        return tf.reshape(z, [-1, *self.generator.inputs[0].shape[1:]])

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """One picture: each feature of a few generated sequences over time."""
        picture = sequence_plot(self.generate(inputs["z"]).numpy()[:6])
        return picture[None].astype(np.float32) / 127.5 - 1.0, 1


class TimeGAN(SequenceGAN):
    """The recurrent GAN with TimeGAN's embedding, recovery and supervisor (module docstring).
    ``generator`` maps noise to latent steps and ``discriminator`` judges latent sequences."""

    # G's loss does not score real latents against its fakes pairwise.
    scores_real_in_generator_step = False

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, embedder: keras.Model, recovery: keras.Model,
        supervisor: keras.Model, embedding_optimizer: keras.optimizers.Optimizer, settings: SequenceSettings,
        **kwargs,
    ):
        super().__init__(generator, discriminator, **kwargs)
        self.embedder, self.recovery, self.supervisor = embedder, recovery, supervisor
        if self.discriminator_steps != 1 or self.reuse_fakes or self.unrolled_steps or self.ema_decay:
            raise ValueError(
                "sequence.timegan trains D once per step with its own G, S, E and R updates: it does not take "
                "train.discriminator_steps > 1, reuse_fakes, unrolled_steps or ema_decay"
            )
        self.embedding_optimizer = embedding_optimizer
        self.embedding_steps = settings.embedding_steps
        self.reconstruction_weight = settings.reconstruction_weight
        self.supervised_weight = settings.supervised_weight
        self.embedding_supervised_weight = settings.embedding_supervised_weight
        self.moment_weight = settings.moment_weight
        self.correlation_weight = settings.correlation_weight
        self.generator_steps = settings.generator_steps
        self.discriminator_threshold = settings.discriminator_threshold
        z = keras.Input(generator.inputs[0].shape[1:], name="z")
        # Named so the export's output is called "sequences", as the plain recurrent GAN's.
        sequences = keras.layers.Identity(dtype="float32", name="sequences")(recovery(supervisor(generator(z))))
        self.synthesis = keras.Model(z, sequences, name="timegan_synthesis")

    @classmethod
    def metric_names(cls) -> tuple[str, ...]:
        return ("d_loss", "g_loss", "d_real", "d_fake", "reconstruction", "supervised")

    def discriminator_separated_below(self) -> float | None:
        # Its first phases train no D (d_loss reads 0 there), and D skips its update while
        # its loss is under discriminator_threshold: a low d_loss is part of the algorithm.
        return None

    @property
    def generator_variables(self) -> list:
        return self.generator.trainable_variables + self.supervisor.trainable_variables

    @property
    def step(self):
        """Training steps so far: G is updated ``generator_steps`` times in each."""
        iterations = self.generator_optimizer.iterations
        return iterations if self.generator_steps == 1 else iterations // self.generator_steps

    @property
    def sampling_generator(self) -> keras.Model:
        return self.synthesis

    def compile(self, generator_optimizer, discriminator_optimizer, loss: str = "non_saturating", **kwargs) -> None:
        super().compile(generator_optimizer, discriminator_optimizer, loss, **kwargs)
        self.embedding_optimizer.build(self.embedding_variables)

    @property
    def embedding_variables(self) -> list:
        return self.embedder.trainable_variables + self.recovery.trainable_variables

    def networks(self) -> dict[str, keras.Model]:
        return {
            **super().networks(), "embedder": self.embedder, "recovery": self.recovery, "supervisor": self.supervisor,
        }

    def optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        return {**super().optimizers(), "embedding_optimizer": self.embedding_optimizer}

    def adversarial_step(self, batch) -> dict[str, Any]:
        real = batch.real[:, 0]
        z = self.generator_inputs(batch.z_generator, None)
        # 0 while E, R and S pretrain, then 1: the adversarial terms' weight.
        adversarial = tf.cast(self.step >= self.embedding_steps, tf.float32)
        for _ in range(self.generator_steps):
            latent, fakes = self.embedding_and_generator_updates(real, z, adversarial)
        # D: real latents against both kinds of fake (averaged over the two).
        with tf.GradientTape() as tape:
            real_logits = logit_of(self.discriminator(latent, training=True))
            # Each kind of fake in its own batch, as in G's update: with model.minibatch_stddev
            # a mixed batch's spread would tell D "fake" whatever the samples look like.
            fake_logits = tf.concat([logit_of(self.discriminator(kind, training=True)) for kind in fakes], axis=0)
            real_twice = tf.concat([real_logits, real_logits], axis=0)
            d_loss = self.discriminator_loss(real_twice, fake_logits)
            loss = global_mean(adversarial * d_loss)
        # The same decision on every replica: the global batch's mean loss against the threshold.
        mean_loss = tf.distribute.get_replica_context().all_reduce("sum", global_mean(d_loss))
        tf.cond(
            tf.logical_and(adversarial > 0, mean_loss > self.discriminator_threshold),
            lambda: optimizer_step(self.discriminator_optimizer, tape, loss, self.discriminator.trainable_variables),
            lambda: None,
        )
        self.trackers["d_loss"].update_state(tf.reduce_mean(d_loss))
        self.trackers["d_real"].update_state(readout(self.adversarial_loss, real_logits))
        self.trackers["d_fake"].update_state(readout(self.adversarial_loss, fake_logits))
        return {}

    def embedding_and_generator_updates(
        self, real: tf.Tensor, z: tf.Tensor, adversarial: tf.Tensor
    ) -> tuple[tf.Tensor, tuple[tf.Tensor, tf.Tensor]]:
        """One E/R update (eq. 8) and one G/S update (eq. 9); returns the real latents and
        the two kinds of fake for D, S(G(z)) and G(z)."""
        # E and R: reconstruction, and (in the game) an embedding whose transition S can predict (eq. 8).
        with tf.GradientTape() as tape:
            latent = self.embedder(real, training=True)
            reconstruction = losses.squared_error(real, self.recovery(latent, training=True))
            supervised = losses.next_step_loss(latent, self.supervisor(latent, training=True))
            loss = global_mean(
                self.reconstruction_weight * root(reconstruction)
                + adversarial * self.embedding_supervised_weight * supervised
            )
        optimizer_step(self.embedding_optimizer, tape, loss, self.embedding_variables)
        latent = tf.stop_gradient(self.embedder(real, training=True))
        # G and S: fool D with S(G(z)) and G(z), learn the real transition (eq. 9).
        with tf.GradientTape() as tape:
            proposed = self.generator(z, training=True)
            supervised_fake = self.supervisor(proposed, training=True)
            supervised = losses.next_step_loss(latent, self.supervisor(latent, training=True))
            adversarial_loss = (
                self.adversarial_loss.generator(logit_of(self.discriminator(supervised_fake, training=True)))
                + self.adversarial_loss.generator(logit_of(self.discriminator(proposed, training=True)))
            )
            loss = global_mean(adversarial * adversarial_loss + self.supervised_weight * root(supervised))
            # Only the statistics that are switched on are computed: this is every G step.
            weighted = [
                (weight, statistic) for weight, statistic in (
                    (self.moment_weight, losses.moment_matching_loss),
                    (self.correlation_weight, losses.correlation_matching_loss),
                ) if weight
            ]
            if weighted:
                sequences = self.recovery(supervised_fake, training=False)
                statistics = tf.add_n([weight * statistic(real, sequences) for weight, statistic in weighted])
                # Batch statistics per replica: divided so the summed gradient is their mean.
                loss += adversarial * statistics / tf.distribute.get_strategy().num_replicas_in_sync
        optimizer_step(self.generator_optimizer, tape, loss, self.generator_variables)
        self.trackers["g_loss"].update_state(tf.reduce_mean(adversarial_loss))
        self.trackers["reconstruction"].update_state(tf.reduce_mean(reconstruction))
        self.trackers["supervised"].update_state(tf.reduce_mean(supervised))
        return latent, (tf.stop_gradient(supervised_fake), tf.stop_gradient(proposed))


def root(mean_square: tf.Tensor) -> tf.Tensor:
    """The root of a per-example mean square; the small floor keeps its gradient finite at 0."""
    return tf.sqrt(mean_square + 1e-12)


def build_sequence(context: BuildContext) -> SequenceGAN:
    settings: SequenceSettings = context.settings
    length, features = context.element_shape
    cell = (settings.recurrent_units, settings.recurrent_layers, settings.cell)
    options = noise_model_options(context)
    if not settings.timegan:
        generator = recurrent_generator(length, context.config.model.latent_dim, features, *cell)
        discriminator = recurrent_discriminator(length, features, *cell, context.config.model.minibatch_stddev)
        return compile_noise_model(SequenceGAN(generator, discriminator, **options), context)
    hidden, layers = settings.recurrent_units, settings.recurrent_layers
    network = lambda inputs, outputs, depth, name, input_name, output_name: recurrent_network(  # noqa: E731
        length, inputs, outputs, hidden, depth, settings.cell, name, input_name, output_name,
    )
    generator = network(context.config.model.latent_dim, hidden, layers, "timegan_generator", "z", "latent")
    embedder = network(features, hidden, layers, "timegan_embedder", "sequences", "latent")
    recovery = network(hidden, features, layers, "timegan_recovery", "latent", "sequences")
    # One layer fewer, as in the reference code: it predicts one step ahead in latent space.
    supervisor = network(hidden, hidden, max(layers - 1, 1), "timegan_supervisor", "latent", "next_latent")
    discriminator = recurrent_discriminator(length, hidden, *cell, context.config.model.minibatch_stddev)
    scaling = resolve_precision(context.config.train.precision) == "mixed_float16"
    embedding_config = context.config.optimizer.generator
    if settings.embedding_learning_rate:
        embedding_config = dataclasses.replace(embedding_config, learning_rate=settings.embedding_learning_rate)
    embedding_optimizer = make_optimizer(embedding_config, loss_scaling=scaling)
    model = TimeGAN(generator, discriminator, embedder, recovery, supervisor, embedding_optimizer, settings, **options)
    return compile_noise_model(model, context)


# The settings of the plain recurrent GAN; the others are TimeGAN's.
PLAIN_SETTINGS = frozenset({"cell", "recurrent_units", "recurrent_layers", "timegan"})


def _validate(config) -> None:
    settings: SequenceSettings = config.family_settings
    if not settings.timegan:
        # The TimeGAN settings would be silently ignored by the plain recurrent GAN.
        defaults = SequenceSettings()
        changed = [
            f"sequence.{field.name} = {getattr(settings, field.name)!r}" for field in dataclasses.fields(SequenceSettings)
            if field.name not in PLAIN_SETTINGS and getattr(settings, field.name) != getattr(defaults, field.name)
        ]
        if changed:
            raise ConfigError(
                f"{', '.join(changed)}: TimeGAN's settings act only with sequence.timegan = true; set it, or remove them"
            )
        return
    train = config.train
    taken = [
        name for name, value in (
            ("train.discriminator_steps > 1", train.discriminator_steps > 1), ("train.reuse_fakes", train.reuse_fakes),
            ("train.unrolled_steps", train.unrolled_steps), ("train.ema_decay", train.ema_decay or train.ema_half_life_images),
            ("a relativistic loss", losses.get_adversarial_loss(config.loss.name).relativistic),
        ) if value
    ]
    if taken:
        raise ConfigError(
            "sequence.timegan trains D once per step beside its own G, S, E and R updates and samples through "
            f"R(S(G(z))): it does not take {', '.join(taken)}; remove them or set sequence.timegan = false"
        )


def _load(data, settings):
    return load_sequences(data)


FAMILIES = (
    Family(
        name="sequence",
        summary="recurrent GAN for time series (GRU/LSTM G and per-step D)",
        build=build_sequence,
        settings=SequenceSettings,
        data=DataNeeds(load=_load, sequences=True),
        validate=_validate,
        switches=frozenset(SWITCHES) - {
            "train.augment", "train.ada_target", "model.packing", "train.unrolled_steps",
            "train.freeze_discriminator_layers",
        },
    ),
)
