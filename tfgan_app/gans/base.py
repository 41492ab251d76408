"""What every family's ``keras.Model`` shares, and the interface the rest of the product calls.

The trainer, the exporter, ``evaluate`` and ``generate`` talk to a family model only through
``AdversarialModel``: the abstract methods below are what a family must write, the others
have defaults. Shared concerns live here once:

- ``optimizer_step``: loss scaling (mixed_float16) and the optimizer update, for every
  family and every optimizer; ``global_mean`` averages per-example losses over the global
  batch, so N replicas compute the update one device would;
- the EMA of the generators (``train.ema_decay``), for any family that names its generators;
- generator-side regularisers (``generator_regularizers``), as D has its penalties;
- the running means for the logs and the step counter.
"""

from __future__ import annotations

import abc
from typing import Any, Callable

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import losses
from tfgan_app.data.pipeline import as_batch_type
from tfgan_app.inputs import Image, InputKind, Noise
from tfgan_app.networks.layers import all_layers


def global_mean(per_example: tf.Tensor) -> tf.Tensor:
    """Per-example losses [m] -> their sum over this replica / the *global* batch size.
    Keras optimizers sum gradients over replicas, so the update equals one device's."""
    return tf.nn.compute_average_loss(per_example)


def optimizer_step(optimizer: keras.optimizers.Optimizer, tape: tf.GradientTape, loss: tf.Tensor, variables: list) -> None:
    """One update of ``variables`` descending ``loss`` (a scalar recorded by ``tape``).

    Under mixed_float16 the optimizer is a ``LossScaleOptimizer``: the gradient is taken of
    loss x scale (as ``output_gradients``, the same product the chain rule would form),
    so small float16 gradients do not flush to zero, and ``apply_gradients`` unscales it and
    skips a step whose gradients are not finite (Micikevicius et al. 2018). Elsewhere the
    scale is 1. A tape that feeds several optimizers must be ``persistent``.
    """
    scale = optimizer.scale_loss(tf.ones_like(loss))
    gradients = tape.gradient(loss, variables, output_gradients=scale)
    optimizer.apply_gradients(zip(gradients, variables))


class ExponentialMovingAverage(tf.Module):
    """Polyak averaging of a network's weights (Karras et al. 2018; Yazici et al. 2019): a
    copy that trails it, used for samples, evaluation and export, never for training.

    A network with batch norm needs statistics of the averaged weights: the online
    network's moving statistics describe other weights (FID 68.2 with copied statistics,
    61.6 with its own, Fashion-MNIST DCGAN after 4 epochs), so
    ``update`` runs the copy once in training mode on the step's generator input.

    With ``updates`` (the count of G's updates so far, a checkpointed variable) the decay
    warms up as TensorFlow's ``tf.train.ExponentialMovingAverage`` does with
    ``num_updates``: min(decay, (1 + t) / (10 + t)). Without it the copy keeps decay^t of
    the initial weights: 15% after 1,874 steps at 0.999 (the BigGAN pipeline), 39% after
    937 (SPADE's), so its samples are part noise. The
    warm-up ends after 9 / (1 - decay) - 10 updates (1,790 at 0.995), so a long run ends
    with the plain average.
    """

    def __init__(self, network: keras.Model, decay: float, updates: tf.Variable | None = None):
        super().__init__(name=f"ema_{network.name}")
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
        self.network, self.decay, self.updates = network, decay, updates
        self.average = keras.models.clone_model(network)
        self.average.set_weights(network.get_weights())

    def current_decay(self) -> tf.Tensor | float:
        """The decay of this update: ``decay``, or its warm-up value while ``updates`` is small."""
        if self.updates is None:
            return self.decay
        updates = tf.cast(self.updates, tf.float32)
        return tf.minimum(self.decay, (1.0 + updates) / (10.0 + updates))

    def update(self, inputs: Any = None) -> None:
        """shadow <- decay * shadow + (1 - decay) * weight, then the statistics pass.

        The average is taken in cross-replica context (``merge_call``), as optimizers apply
        their updates: assigning a mirrored variable from replica context is refused.
        """
        decay = self.current_decay()
        pairs = list(zip(self.average.trainable_variables, self.network.trainable_variables))

        def average(shadow, value):
            rate = tf.cast(decay, shadow.dtype)
            return shadow.assign(rate * shadow + (1.0 - rate) * value)

        def update(strategy, *values):
            for (shadow, _), value in zip(pairs, values):
                strategy.extended.update(shadow.value, average, args=(value,), group=False)

        tf.distribute.get_replica_context().merge_call(update, args=tuple(value.value for _, value in pairs))
        if self.average.non_trainable_variables and inputs is not None:
            self.average(inputs, training=True)


class RandomLayerStates(tf.Module):
    """The generator states of a network's random layers (dropout, Gaussian noise).

    Keras keeps them in ``network.variables`` but out of what ``tf.train.Checkpoint`` saves
    of the network, so a resumed run would draw other dropout masks than the uninterrupted
    one; checkpointed beside the network, resuming stays exact.
    """

    def __init__(self, network: keras.Model):
        super().__init__(name=f"{network.name}_random_state")
        self.states = self.of(network)

    @staticmethod
    def of(network: keras.Model) -> list[tf.Variable]:
        generators = [getattr(layer, "seed_generator", None) for layer in all_layers(network)]
        return [generator.state for generator in generators if isinstance(generator, keras.random.SeedGenerator)]


class AdversarialModel(keras.Model, metaclass=abc.ABCMeta):
    """Base of the families: networks on a generator side and a discriminator side, one
    optimizer each.

    A family subclass writes ``adversarial_step`` (its algorithm), ``networks``,
    ``exports``, ``preview_inputs`` and ``preview``, sets ``batch_type`` (the NamedTuple its
    step takes, filled by ``data.pipeline``), and says what noise it draws (``noise_dim``).
    """

    # The typed batch ``train_step`` receives (a NamedTuple; see ``data.pipeline`` for the
    # fields the pipeline can fill). Families set their own.
    batch_type: type = tuple
    # Standard-normal numbers per example that the pipeline draws for each update (G's
    # latent input, or other randomness the step consumes); 0: the family uses none.
    noise_dim: int = 0
    # Whether G's update can give the loss D's scores of real examples (relativistic losses).
    scores_real_in_generator_step: bool = False
    # Samples per second of the sounds a family makes (``preview_audio``); 0: it makes none.
    sample_rate: int = 0

    def __init__(self, metric_names: tuple[str, ...], ema_decay: float = 0.0, ema_warmup: bool = True, **kwargs):
        super().__init__(**kwargs)
        # Running means reported by fit(): reset at each log window, read only when logged.
        self.trackers = {name: keras.metrics.Mean(name=name) for name in metric_names}
        self.ema_decay, self.ema_warmup = ema_decay, ema_warmup
        self.averages: dict[str, ExponentialMovingAverage] = {}
        self.generator_regularizers: list[Callable[[Any, tf.Tensor], tf.Tensor]] = []
        # Keras 3 would otherwise try to build the model by calling it on the first batch.
        self.built = True

    # --- what a family must provide ------------------------------------------------------

    @abc.abstractmethod
    def adversarial_step(self, batch) -> dict[str, Any]:
        """One training step of the family's algorithm on a ``batch_type`` batch. Returns,
        per generator name (see ``generators``), the input of its last update: the EMA copy
        computes its batch-norm statistics on it. Families without generators return {}."""

    @abc.abstractmethod
    def networks(self) -> dict[str, keras.Model]:
        """Every trained network by a stable name: what checkpoints hold (the names are the
        checkpoint keys, so renaming one breaks resuming old runs)."""

    @abc.abstractmethod
    def exports(self) -> dict[str, keras.Model]:
        """The deployable networks by name suffix ("" = the model's own name; CycleGAN's
        "a2b" and "b2a"). Their input names are the exported signature's inputs."""

    @abc.abstractmethod
    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        """The fixed inputs of the sample grids written during training: from noise drawn
        with ``seed``, or from ``examples`` (the first data examples, ``example_batch``)."""

    @abc.abstractmethod
    def preview(self, inputs: dict) -> tuple[np.ndarray, int | None]:
        """(images in [-1, 1], grid columns or None for a square grid) from ``preview_inputs``."""

    # --- optional ------------------------------------------------------------------------

    def generators(self) -> dict[str, keras.Model]:
        """The generator networks by name (a subset of ``networks``): those an EMA copy can
        average. Families without a generator (classifiers, scorers) keep {}."""
        return {}

    def preview_audio(self, inputs: dict) -> np.ndarray | None:
        """The ``preview_inputs``' samples as sounds [N, samples] in [-1, 1] at
        ``sample_rate``, for the families that make sound; None for the others."""
        return None

    def preview_text(self, inputs: dict) -> list[str] | None:
        """The ``preview_inputs``' samples as text, for the families that write text; None
        for the others."""
        return None

    def discriminator_separated_below(self) -> float | None:
        """The logged ``d_loss`` under which D separates real from generated examples
        (see ``losses.AdversarialLoss.separated_below``), or None: not watched. A family
        opts in where its d_loss is the adversarial loss plus non-negative terms."""
        return None

    def input_kinds(self) -> dict[str, InputKind]:
        """The kind of every input of the exported networks, by input name (see
        ``tfgan_app.inputs``). By default a vector is noise and an image an image; a family
        declares what differs (the conditional GAN's ``{"label": Label(classes=C)}``)."""
        return {
            tensor.name: (Image() if len(tensor.shape) == 4 else Noise())
            for network in self.exports().values() for tensor in network.inputs
        }

    # --- shared machinery ----------------------------------------------------------------

    def compile_adversarial(
        self,
        generator_optimizer: keras.optimizers.Optimizer,
        discriminator_optimizer: keras.optimizers.Optimizer,
        generator_variables: list,
        discriminator_variables: list,
        loss: str,
        **kwargs,
    ) -> None:
        """Attach both optimizers and the adversarial loss (a name in
        ``losses.ADVERSARIAL_LOSSES``), and start the EMA copies when ``ema_decay`` is set;
        the families' ``compile`` methods call this."""
        super().compile(optimizer=None, **kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        # Built here, not lazily in the first step: under a distribution strategy the slot
        # variables must be created in the strategy's scope, outside replica context.
        generator_optimizer.build(generator_variables)
        discriminator_optimizer.build(discriminator_variables)
        self.adversarial_loss = losses.get_adversarial_loss(loss)
        if self.adversarial_loss.relativistic and not self.scores_real_in_generator_step:
            raise ValueError(
                f"loss {loss!r} compares each fake with a real example in G's update, which {type(self).__name__} "
                "does not score; use it with the gan-family models (gan, cgan, acgan, infogan, sequence)"
            )
        if self.ema_decay and not self.averages:
            if not self.generators():
                raise ValueError(f"{type(self).__name__} has no generator to average: ema_decay does not apply")
            updates = self.step if self.ema_warmup else None
            self.averages = {
                name: ExponentialMovingAverage(network, self.ema_decay, updates)
                for name, network in self.generators().items()
            }

    def train_step(self, batch) -> dict[str, tf.Tensor]:
        """The family's step, then the EMA updates; the logs for ``fit``."""
        generator_inputs = self.adversarial_step(self.typed_batch(batch))
        for name, average in self.averages.items():
            average.update(generator_inputs.get(name))
        return {metric.name: metric.result() for metric in self.metrics}

    def typed_batch(self, batch):
        """A ``batch_type`` batch from what ``fit`` was given: the batch itself, or the
        fields of a dict of the pipeline's streams (``make_train_dataset`` without a type)."""
        if isinstance(batch, dict) and self.batch_type is not tuple:
            return as_batch_type(self.batch_type, batch, f"the batches given to {type(self).__name__}.fit")
        return batch

    def averaged(self, name: str = "generator") -> keras.Model:
        """The network used for samples, evaluation and export: the EMA copy when kept."""
        average = self.averages.get(name)
        return average.average if average is not None else self.generators()[name]

    def regularize_generator(self, inputs: Any, fake: tf.Tensor) -> tf.Tensor | None:
        """Sum of the generator-side regularisers on this update's input and output
        (per example), or None: the hook a path-length or R2-style term plugs into."""
        terms = [regularizer(inputs, fake) for regularizer in self.generator_regularizers]
        return tf.add_n(terms) if terms else None

    def with_generator_regularizers(self, per_example: tf.Tensor, inputs: Any, fake: tf.Tensor) -> tf.Tensor:
        """G's per-example loss plus ``regularize_generator`` (unchanged when there is none)."""
        regularizer = self.regularize_generator(inputs, fake)
        return per_example if regularizer is None else per_example + regularizer

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so fit() resets them at each epoch and reports their results.
        return list(self.trackers.values())

    @property
    def step(self) -> tf.Variable:
        """Generator updates so far: the training step a checkpoint resumes at."""
        return self.generator_optimizer.iterations

    def optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """The optimizers by checkpoint name."""
        return {"generator_optimizer": self.generator_optimizer, "discriminator_optimizer": self.discriminator_optimizer}

    def checkpoint_objects(self) -> dict:
        """What a checkpoint holds: the networks, their EMA copies, the optimizers, and the
        states of the networks' random layers (see ``RandomLayerStates``)."""
        averages = {f"ema_{name}": average.average for name, average in self.averages.items()}
        random_states = {
            f"{name}_random_state": RandomLayerStates(network) for name, network in self.networks().items()
            if RandomLayerStates.of(network)
        }
        return {**self.networks(), **averages, **self.optimizers(), **random_states}

    def discriminator_update(
        self, discriminator: keras.Model, real_inputs, fake_inputs, loss_weight: float = 1.0,
    ) -> None:
        """One optimizer update of ``discriminator`` on real against fake inputs (fakes
        already generated, outside the tape) with the adversarial loss x ``loss_weight``;
        logs d_loss, d_real and d_fake. Families whose D needs no extra terms use it."""
        with tf.GradientTape() as tape:
            real_logits = logit_of(discriminator(real_inputs, training=True))
            fake_logits = logit_of(discriminator(fake_inputs, training=True))
            per_example = loss_weight * self.adversarial_loss.discriminator(real_logits, fake_logits)
            loss = global_mean(per_example)
        optimizer_step(self.discriminator_optimizer, tape, loss, discriminator.trainable_variables)
        self.trackers["d_loss"].update_state(tf.reduce_mean(per_example))
        self.trackers["d_real"].update_state(readout(self.adversarial_loss, real_logits))
        self.trackers["d_fake"].update_state(readout(self.adversarial_loss, fake_logits))


class GeneratorDiscriminatorModel(AdversarialModel):
    """A family with one generator and one discriminator (most of them): both are its
    networks, the generator is what an EMA averages, and its (averaged) generator is what
    it exports."""

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, metric_names: tuple[str, ...],
        ema_decay: float = 0.0, **kwargs,
    ):
        for role, network in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(network, keras.Model):
                raise TypeError(
                    f"{type(self).__name__}(generator, discriminator): the {role} must be a keras.Model "
                    f"(e.g. keras.Sequential or a functional model), got {type(network).__name__} {network!r:.60}"
                )
        super().__init__(metric_names, ema_decay=ema_decay, **kwargs)
        self.generator, self.discriminator = generator, discriminator

    def generators(self) -> dict[str, keras.Model]:
        return {"generator": self.generator}

    def networks(self) -> dict[str, keras.Model]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def exports(self) -> dict[str, keras.Model]:
        return {"": self.averaged()}


def logit_of(outputs) -> tf.Tensor:
    """A discriminator's score: its output itself, or the ``logit`` entry of a dict output
    (the project's builders also return ``features`` and InfoGAN's ``q``)."""
    return outputs["logit"] if isinstance(outputs, dict) else outputs


def readout(adversarial_loss: losses.AdversarialLoss, outputs: tf.Tensor) -> tf.Tensor:
    """Mean D(x) for the logs: a probability for cross-entropy losses, else the raw score."""
    if adversarial_loss.outputs_logits:
        return tf.reduce_mean(tf.sigmoid(outputs))
    return tf.reduce_mean(outputs)


def run_without_state_updates(model: keras.Model, inputs) -> tf.Tensor:
    """``model(inputs, training=True)`` that leaves non-trainable state as it was.

    Batch norm then normalises with the batch's statistics (the function the network is
    trained as) while its moving averages, and spectral norm's power-iteration vectors,
    change only when that network itself is updated.
    """
    outputs, _ = model.stateless_call(
        [variable.value for variable in model.trainable_variables],
        [variable.value for variable in model.non_trainable_variables],
        inputs,
        training=True,
    )
    return outputs
