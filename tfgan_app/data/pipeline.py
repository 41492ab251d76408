"""``tf.data`` input pipelines for GAN training.

The pipeline makes the streams below; a family's typed batch (its model's ``batch_type``, a
NamedTuple) takes the fields it names, checked once when the dataset is made:
- ``real``: [batch, discriminator_steps, *element_shape] float32, images scaled to [-1, 1];
  slice ``i`` of axis 1 is the real minibatch of the i-th discriminator update, so each of
  the k updates of Algorithm 1 sees fresh data;
- ``label``: [batch, discriminator_steps] int32, when the source has labels;
- ``condition``: pix2pix's input images (paired with ``real``, the targets), or inputs a
  task derives from ``real`` (``tasks``: downsampled images, images with holes and their
  ``mask``);
- ``real_b``: like ``real``, CycleGAN's second domain, drawn independently of ``real``;
- ``z_discriminator``: [batch, discriminator_steps, noise_dim] and ``z_generator``:
  [batch, noise_dim], the noise of Algorithm 1 (noise_dim: what the model asks for; none
  when it is 0);
- ``epsilon``: [batch, discriminator_steps] uniform in [0, 1), the interpolation factors of a
  gradient penalty (Gulrajani et al. 2017), drawn here so that a step has no hidden RNG;
- ``augment``: [batch, discriminator_steps + 1, 2, 8] uniforms for differentiable
  augmentation (real and fake, per D step and the G step).

Everything, data order and noise, is a pure function of (seed, step): a run resumed at step
s sees exactly the batches an uninterrupted run sees from step s on, and a distribution
strategy that splits the batch axis hands each replica its slice of the same global batch.
"""

from __future__ import annotations

import tensorflow as tf

from tfgan_app.data.sources import DataError, Source

_DATA_ORDER, _NOISE, _DATA_ORDER_B, _DERIVED = 1, 2, 7, 8  # independent random streams from the run seed
AUGMENT_UNIFORMS = 8


def stream_seed(seed: int, stream: int, counter: tf.Tensor) -> tf.Tensor:
    """A [2] stateless seed for (run seed, stream, counter), e.g. counter = epoch or step."""
    base = tf.random.experimental.stateless_fold_in(tf.constant([0, seed], tf.int64), stream)
    return tf.random.experimental.stateless_fold_in(base, tf.cast(counter, tf.int64))


def steps_per_epoch(source: Source, batch_size: int, discriminator_steps: int) -> int | None:
    if source.num_examples is None:
        return None
    steps = source.num_examples // (batch_size * discriminator_steps)
    if steps == 0:
        raise DataError(
            f"{source.description} has {source.num_examples} examples, fewer than one step needs "
            f"(batch_size {batch_size} x discriminator_steps {discriminator_steps})"
        )
    return steps


def to_model_range(values: tf.Tensor) -> tf.Tensor:
    """uint8 pixels -> float32 in [-1, 1]; float data passes through."""
    if values.dtype == tf.uint8:
        return tf.cast(values, tf.float32) / 127.5 - 1.0
    return tf.cast(values, tf.float32)


def derive_inputs(batch: dict, source: Source, seed: tf.Tensor) -> dict:
    """Add the inputs a task derives from the examples (``Source.derive``, see ``tasks``)."""
    return batch if source.derive is None else source.derive(batch, seed)


def _index_batches(
    count: int, per_epoch: int, batch_size: int, discriminator_steps: int, seed: int, stream: int, start_step: int
) -> tf.data.Dataset:
    """Index batches [batch, k] of per-epoch permutations of ``count`` examples, forever."""
    used = per_epoch * batch_size * discriminator_steps

    def epoch_indices(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(count), stream_seed(seed, stream, epoch))
        # A second domain smaller than an epoch's draw wraps around its permutation.
        order = tf.tile(order, [used // count + 1])[:used]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(order, [per_epoch, batch_size, discriminator_steps]))

    start_epoch, offset = divmod(start_step, per_epoch)
    return tf.data.Dataset.range(start_epoch, 2**62).flat_map(epoch_indices).skip(offset)


def _finite_batches(
    source: Source, batch_size: int, discriminator_steps: int, seed: int, start_step: int
) -> tf.data.Dataset:
    """Batches of in-memory examples; CycleGAN's second domain in its own random order."""
    per_epoch = steps_per_epoch(source, batch_size, discriminator_steps)
    images = tf.constant(source.images)
    labels = None if source.labels is None else tf.constant(source.labels)
    conditions = None if source.conditions is None else tf.constant(source.conditions)
    indices = _index_batches(source.num_examples, per_epoch, batch_size, discriminator_steps, seed, _DATA_ORDER, start_step)

    def gather(index):
        batch = {"real": to_model_range(tf.gather(images, index))}
        if labels is not None:
            batch["label"] = tf.gather(labels, index)
        if conditions is not None:
            batch["condition"] = to_model_range(tf.gather(conditions, index))
        return batch

    if source.images_b is None:
        return indices.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    images_b = tf.constant(source.images_b)
    indices_b = _index_batches(
        len(source.images_b), per_epoch, batch_size, discriminator_steps, seed, _DATA_ORDER_B, start_step
    )
    return tf.data.Dataset.zip(indices, indices_b).map(
        lambda index, index_b: {**gather(index), "real_b": to_model_range(tf.gather(images_b, index_b))},
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def example_batch(source: Source, count: int) -> dict:
    """The first ``count`` examples in model range (with inputs / second domain): the fixed
    examples of the translation families' sample grids."""
    batch = {"real": to_model_range(source.images[:count])}
    if source.conditions is not None:
        batch["condition"] = to_model_range(source.conditions[:count])
    if source.images_b is not None:
        batch["real_b"] = to_model_range(source.images_b[:count])
    batch = derive_inputs(batch, source, stream_seed(0, _DERIVED, 0))
    return {key: value.numpy() for key, value in batch.items()}


def _sampled_batches(
    source: Source, batch_size: int, discriminator_steps: int, seed: int, start_step: int
) -> tf.data.Dataset:
    def sample(step):
        values = source.sampler(stream_seed(seed, _DATA_ORDER, step), batch_size * discriminator_steps)
        return {"real": tf.reshape(values, [batch_size, discriminator_steps, *source.element_shape])}

    return tf.data.Dataset.range(start_step, 2**62).map(sample, num_parallel_calls=tf.data.AUTOTUNE)


def step_randomness(
    seed: int, step, count, discriminator_steps: int, noise_dim: int, augment: bool = True,
) -> dict[str, tf.Tensor]:
    """The random numbers of one training step, a pure function of (seed, step): the noise
    ``z_discriminator`` / ``z_generator`` (when ``noise_dim``), the gradient penalty's
    ``epsilon`` and the augmentation uniforms ``augment`` (see the module docstring).
    ``count``: the examples per step (an int, or a tensor for batches of unknown size)."""
    noise_seed = stream_seed(seed, _NOISE, step)
    streams = {}
    if noise_dim:
        noise = tf.random.stateless_normal([count, discriminator_steps + 1, noise_dim], noise_seed)
        streams.update(z_discriminator=noise[:, :discriminator_steps], z_generator=noise[:, discriminator_steps])
    streams["epsilon"] = tf.random.stateless_uniform(
        [count, discriminator_steps], tf.random.experimental.stateless_fold_in(noise_seed, 1)
    )
    if augment:
        streams["augment"] = tf.random.stateless_uniform(
            [count, discriminator_steps + 1, 2, AUGMENT_UNIFORMS], tf.random.experimental.stateless_fold_in(noise_seed, 2)
        )
    return streams


def as_batch_type(batch_type: type, streams: dict, provider: str):
    """The ``batch_type`` NamedTuple of the named ``streams``; a DataError naming the
    missing fields and what ``provider`` (the data, or the batches given to ``fit``) holds."""
    missing = [name for name in batch_type._fields if name not in streams]
    if missing:
        raise DataError(
            f"the model's batch ({batch_type.__name__}) needs {missing}, which {provider} does not provide "
            f"(it provides {sorted(streams)}); check that the data suits model.family"
        )
    return batch_type(**{name: streams[name] for name in batch_type._fields})


def make_train_dataset(
    source: Source,
    batch_size: int,
    discriminator_steps: int,
    noise_dim: int,
    seed: int,
    start_step: int = 0,
    batch_type: type | None = None,
) -> tf.data.Dataset:
    """An infinite dataset of training batches (see the module docstring), from
    ``start_step``: instances of ``batch_type`` (a NamedTuple), or dicts of every stream
    when it is None."""
    make = _sampled_batches if source.sampler is not None else _finite_batches
    batches = make(source, batch_size, discriminator_steps, seed, start_step)
    wanted = None if batch_type is None else set(batch_type._fields)

    def add_streams(step, batch):
        batch = {
            **batch,
            **step_randomness(seed, step, batch_size, discriminator_steps, noise_dim,
                              augment=wanted is None or "augment" in wanted),
        }
        batch = derive_inputs(batch, source, stream_seed(seed, _DERIVED, step))
        return batch if batch_type is None else as_batch_type(batch_type, batch, source.description)

    return (
        batches.enumerate(start=start_step)
        .map(add_streams, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
