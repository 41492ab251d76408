"""The character-level networks of Gulrajani et al. 2017 (sec. 5 and appendix: the WGAN-GP
language model): 1-D convolutional residual stacks. G maps noise to a softmax over the
vocabulary at every position; D reads such distributions (one-hot for real text) directly,
so no sampling sits between them and the gradient flows through G's softmax. Beside them,
the maximum-likelihood baseline: a recurrent character language model and its sampler."""

from __future__ import annotations

import keras

RESIDUAL_SCALE = 0.3  # the reference code scales each block's branch by 0.3
KERNEL = 5


def residual_stack(x: keras.KerasTensor, width: int, blocks: int, name: str) -> keras.KerasTensor:
    """``blocks`` x [ReLU, Conv1D(k=5), ReLU, Conv1D(k=5)] + 0.3 x branch."""
    for index in range(blocks):
        branch = keras.layers.ReLU()(x)
        branch = keras.layers.Conv1D(width, KERNEL, padding="same", name=f"{name}_{index}_a")(branch)
        branch = keras.layers.ReLU()(branch)
        branch = keras.layers.Conv1D(width, KERNEL, padding="same", name=f"{name}_{index}_b")(branch)
        x = keras.layers.Add()([x, keras.layers.Rescaling(RESIDUAL_SCALE)(branch)])
    return x


def text_generator(latent_dim: int, length: int, vocabulary: int, width: int = 128, blocks: int = 5) -> keras.Model:
    """``z`` -> Dense(length x width) -> residual stack -> Conv1D(vocabulary, 1) -> softmax:
    ``characters`` [length, vocabulary], a distribution over the characters at each position."""
    z = keras.Input((latent_dim,), name="z")
    x = keras.layers.Dense(length * width, name="project")(z)
    x = keras.layers.Reshape((length, width))(x)
    x = residual_stack(x, width, blocks, "generator_block")
    x = keras.layers.Conv1D(vocabulary, 1, name="to_characters")(x)
    characters = keras.layers.Softmax(axis=-1, dtype="float32", name="characters")(x)
    return keras.Model(z, characters, name="text_generator")


def text_discriminator(length: int, vocabulary: int, width: int = 128, blocks: int = 5) -> keras.Model:
    """characters [length, vocabulary] -> Conv1D(width, 1) -> residual stack -> Dense(1):
    the critic's score (no normalisation: the gradient penalty is per example)."""
    data = keras.Input((length, vocabulary), name="data")
    x = keras.layers.Conv1D(width, 1, name="from_characters")(data)
    x = residual_stack(x, width, blocks, "critic_block")
    features = keras.layers.Flatten(name="features")(x)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(features)
    return keras.Model(data, {"logit": logit, "features": features}, name="text_discriminator")


def char_language_model(length: int, vocabulary: int, units: int = 256, layers: int = 1, cell: str = "gru") -> keras.Model:
    """The maximum-likelihood baseline: ``previous`` [length, vocabulary] (the one-hot
    characters before each position, zeros at the first) -> stacked GRU/LSTM -> ``logits``
    [length, vocabulary] of the next character. Causal, so position t sees characters < t."""
    previous = keras.Input((length, vocabulary), name="previous")
    x = previous
    recurrent = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    for index in range(layers):
        x = recurrent(units, return_sequences=True, name=f"language_model_{cell}_{index}")(x)
    logits = keras.layers.Dense(vocabulary, dtype="float32", name="logits")(x)
    return keras.Model(previous, logits, name="char_language_model")


def batch_zeros(batch_like: keras.KerasTensor, width: int) -> keras.KerasTensor:
    """Zeros [N, width] with the batch size N of ``batch_like``, kept symbolic in a model."""
    return keras.ops.zeros_like(keras.ops.repeat(batch_like[:, :1], width, axis=1))


class RecurrentStep(keras.layers.Layer):
    """One time step of a trained recurrent layer: (input [N, features], its states) ->
    (output [N, units], the new states), through the layer's own cell and weights. A layer of
    its own because the functional API needs one name per operation, and stacked GRUs' cells
    are all called ``gru_cell``."""

    def __init__(self, recurrent: keras.layers.RNN, **kwargs):
        super().__init__(name=f"{recurrent.name}_step", **kwargs)
        self.recurrent = recurrent

    def initial_states(self, batch_like: keras.KerasTensor) -> list:
        """Zero states [N, units] for each of the cell's states (one for a GRU, two for an LSTM)."""
        sizes = self.recurrent.cell.state_size
        zeros = batch_zeros(batch_like, self.recurrent.cell.units)
        return [zeros for _ in sizes] if isinstance(sizes, (list, tuple)) else [zeros]

    def call(self, inputs, states):
        output, new_states = self.recurrent.cell(inputs, states)
        return output, list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]


def autoregressive_sampler(language_model: keras.Model) -> keras.Model:
    """``z`` [length] -> ``characters`` [length, vocabulary]: a window sampled from a causal
    language model one position at a time. The noise (standard normal, mapped to uniforms by
    the normal CDF) picks each character by inverting the cumulative softmax, so a sample is
    a function of ``z`` and an export takes it as a GAN's export does. The model's own
    recurrent cells are stepped with their state carried (one cell step per position and
    layer, the same weights): what the full-window model computes at position t, at a
    length-th of its cost. The characters come out one-hot, the shape of the GAN's
    ``characters``."""
    ops = keras.ops
    length, vocabulary = language_model.inputs[0].shape[1:]
    steps = [RecurrentStep(layer) for layer in language_model.layers if isinstance(layer, keras.layers.RNN)]
    readout = language_model.get_layer("logits")
    z = keras.Input((length,), name="z")
    uniforms = 0.5 * (1.0 + ops.erf(z / 2.0**0.5))

    states = [step.initial_states(z) for step in steps]
    previous = batch_zeros(z, vocabulary)  # the first position sees no character
    chosen = []
    for position in range(length):
        x = previous
        for index, step in enumerate(steps):
            x, states[index] = step(x, states[index])
        cumulative = ops.cumsum(ops.softmax(readout(x), axis=-1), axis=-1)
        index = ops.sum(ops.cast(cumulative < uniforms[:, position : position + 1], "int32"), axis=-1)
        previous = ops.one_hot(ops.minimum(index, vocabulary - 1), vocabulary)
        chosen.append(ops.expand_dims(previous, 1))
    characters = keras.layers.Identity(dtype="float32", name="characters")(ops.concatenate(chosen, axis=1))
    return keras.Model(z, characters, name="char_lm_sampler")
