"""The audio networks: WaveGAN's 1-D convolutions on raw waveforms (Donahue et al. 2019) and
a GANSynth-style 2-D convolutional pair on (log magnitude, IF) spectrograms (Engel et al.
2019), both conditioned on a class (the pitch) and sized for a CPU by ``width``.

Both generators take ``z`` and ``pitch`` (an int32 class index) and join a learned pitch
embedding to z; both discriminators end in ``discriminator_heads`` with the auxiliary class
head ``q`` (AC-GAN, as GANSynth conditions on pitch). The waveform the export serves is the
output ``audio``: WaveGAN's generator makes it directly, the spectral generator through
``SpectrogramToWaveform`` (``data.spectral``), inside the exported model.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.data.spectral import FRAME, HOP, hann, spectrogram_to_waveform, waveform_to_spectrogram
from tfgan_app.networks.layers import MinibatchStddev, classifier_head, discriminator_heads

WAVEGAN_KERNEL = 25  # the paper's length-25 filters ...
WAVEGAN_STRIDE = 4  # ... with stride 4 (sec. 3.1)
WAVEGAN_LAYERS = 5  # 16 -> 16,384 samples in five x4 steps


def pitch_inputs(latent_dim: int, num_classes: int) -> tuple[list[keras.KerasTensor], keras.KerasTensor]:
    """([z, pitch], z joined with the pitch's learned embedding)."""
    z = keras.Input((latent_dim,), name="z")
    pitch = keras.Input((), dtype="int32", name="pitch")
    embedded = keras.layers.Embedding(num_classes, min(64, 2 * num_classes), name="pitch_embedding")(pitch)
    return [z, pitch], keras.layers.Concatenate(name="joined_inputs")([z, embedded])


@keras.saving.register_keras_serializable(package="tfgan_app")
class PhaseShuffle(keras.layers.Layer):
    """WaveGAN's phase shuffle (Donahue et al. 2019, sec. 3.3): in training, the feature maps
    shifted in time by a random whole number of samples in [-radius, radius] (one draw per
    batch, as in the paper's code), the edges filled by reflection, so D cannot tell real
    from fake by the phase of the periodic artefacts of transposed convolutions. The draws
    come from a ``SeedGenerator``, whose state a checkpoint keeps (``RandomLayerStates``)."""

    def __init__(self, radius: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.radius = radius
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training: bool = False):
        if not training or not self.radius:
            return x
        length = tf.shape(x)[1]
        shift = keras.random.randint((), -self.radius, self.radius + 1, seed=self.seed_generator)
        padded = tf.pad(x, [[0, 0], [self.radius, self.radius], [0, 0]], mode="REFLECT")
        return padded[:, self.radius - shift : self.radius - shift + length]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "radius": self.radius}


def wavegan_generator(
    latent_dim: int, samples: int, num_classes: int, width: int = 16, excitation: "ToneExcitation | None" = None,
) -> keras.Model:
    """[z, pitch] -> Dense(16 x 16 width) -> [Conv1DTranspose(k=25, stride 4), ReLU] x 4 ->
    Conv1DTranspose(1) -> tanh: ``audio`` [samples] (WaveGAN's generator, Table 2, with
    ``width`` for its d = 64). With an ``excitation`` (the pitch's harmonic tone, as the
    spectral generator gets its spectrogram), the last transposed convolution makes width / 2
    features, joined with the tone, and a length-25 convolution makes the waveform."""
    start = samples // WAVEGAN_STRIDE**WAVEGAN_LAYERS
    if start * WAVEGAN_STRIDE**WAVEGAN_LAYERS != samples:
        raise ValueError(f"WaveGAN makes {WAVEGAN_STRIDE}^{WAVEGAN_LAYERS} x n samples (16384 for n = 16); got {samples}")
    inputs, x = pitch_inputs(latent_dim, num_classes)
    x = keras.layers.Dense(start * 16 * width, name="project")(x)
    x = keras.layers.Reshape((start, 16 * width))(x)
    x = keras.layers.ReLU()(x)
    for index in range(WAVEGAN_LAYERS - 1):
        x = keras.layers.Conv1DTranspose(
            8 * width // 2**index, WAVEGAN_KERNEL, strides=WAVEGAN_STRIDE, padding="same", name=f"up_{index}",
        )(x)
        x = keras.layers.ReLU()(x)
    if excitation is None:
        x = keras.layers.Conv1DTranspose(1, WAVEGAN_KERNEL, strides=WAVEGAN_STRIDE, padding="same", name="to_audio")(x)
    else:
        x = keras.layers.Conv1DTranspose(max(width // 2, 1), WAVEGAN_KERNEL, strides=WAVEGAN_STRIDE, padding="same",
                                         name=f"up_{WAVEGAN_LAYERS - 1}")(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.Concatenate(name="with_excitation")([x, excitation(inputs[1])])
        x = keras.layers.Conv1D(1, WAVEGAN_KERNEL, padding="same", name="to_audio")(x)
    x = keras.layers.Reshape((samples,))(x)
    audio = keras.layers.Activation("tanh", dtype="float32", name="audio")(x)
    return keras.Model(inputs, audio, name="wavegan_generator")


def wavegan_discriminator(
    samples: int, num_classes: int, width: int = 16, phase_shuffle: int = 2, minibatch_stddev: bool = False,
    excitation: "ToneExcitation | None" = None,
) -> keras.Model:
    """audio [samples] -> [Conv1D(k=25, stride 4), LeakyReLU 0.2, phase shuffle] x 5 ->
    heads (the logit and the pitch head ``q``). WaveGAN's discriminator (Table 3). With an
    ``excitation`` D takes [data, pitch] and reads the pitch's tone beside the waveform (as
    the spectral discriminator reads its spectrogram)."""
    audio = keras.Input((samples,), name="data")
    inputs, x = audio, keras.layers.Reshape((samples, 1))(audio)
    if excitation is not None:
        pitch = keras.Input((), dtype="int32", name="pitch")
        inputs, x = [audio, pitch], keras.layers.Concatenate(name="with_excitation")([x, excitation(pitch)])
    for index in range(WAVEGAN_LAYERS):
        x = keras.layers.Conv1D(width * 2**index, WAVEGAN_KERNEL, strides=WAVEGAN_STRIDE, padding="same",
                                name=f"down_{index}")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
        if index < WAVEGAN_LAYERS - 1 and phase_shuffle:
            x = PhaseShuffle(phase_shuffle, name=f"phase_shuffle_{index}")(x)
    if minibatch_stddev:
        x = MinibatchStddev(name="minibatch_stddev")(x)
    x = keras.layers.Flatten(name="features")(x)
    return keras.Model(inputs, discriminator_heads(x, auxiliary_outputs=num_classes), name="wavegan_discriminator")


def harmonic_tone(frequency: float, samples: int, rate: int) -> np.ndarray:
    """A steady tone of every harmonic of ``frequency`` below the Nyquist frequency, the k-th
    at amplitude 1/k (a band-limited sawtooth), peaking near 0.5: the excitation of a
    source-filter model of a pitched note."""
    time = np.arange(samples) / rate
    harmonics = np.arange(1, int(rate / 2 / frequency) + 1)
    tone = np.sum(np.sin(2 * np.pi * frequency * harmonics[:, None] * time) / harmonics[:, None], axis=0)
    return (0.5 * tone / np.max(np.abs(tone))).astype(np.float32)


@keras.saving.register_keras_serializable(package="tfgan_app")
class PitchExcitation(keras.layers.Layer):
    """pitch [N] (class index) -> [N, frames, bins, 2]: the (log magnitude, IF) spectrogram
    frame of a harmonic tone at the class's frequency (``harmonic_tone``), the same in every
    frame. The spectral generator reads it beside its last features, so the pitch reaches G
    where the partials are drawn: as the bins they fall in and their exact frequencies (IF),
    the source of a source-filter model (the sine excitation of neural source-filter models,
    Wang et al. 2019; the harmonic oscillator of DDSP, Engel et al. 2020) that G learns to
    filter and shape in time."""

    def __init__(self, frequencies: list[float], frames: int, rate: int, frame: int = FRAME, hop: int = HOP, **kwargs):
        super().__init__(**kwargs)
        self.frequencies, self.frames, self.rate, self.frame, self.hop = list(frequencies), frames, rate, frame, hop
        tones = np.stack([harmonic_tone(frequency, 8 * frame, rate) for frequency in self.frequencies])
        middle = waveform_to_spectrogram(tf.constant(tones), frame, hop).numpy()[:, 4 * frame // hop]
        # NumPy, made a constant in call: a tensor held by the layer would become an input
        # of the traced export, which ONNX then asks for.
        self.table = middle  # [classes, bins, 2]

    def call(self, pitch):
        steady = tf.gather(tf.constant(self.table), tf.cast(pitch, tf.int32))[:, None]
        return tf.cast(tf.tile(steady, [1, self.frames, 1, 1]), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.frames, self.frame // 2, 2)

    def get_config(self):
        return {**super().get_config(), "frequencies": self.frequencies, "frames": self.frames, "rate": self.rate,
                "frame": self.frame, "hop": self.hop}


@keras.saving.register_keras_serializable(package="tfgan_app")
class ToneExcitation(keras.layers.Layer):
    """pitch [N] (class index) -> [N, samples, 1]: the harmonic tone at the class's frequency
    (``harmonic_tone``), the waveform generator's excitation (``PitchExcitation`` is the
    spectral generator's)."""

    def __init__(self, frequencies: list[float], samples: int, rate: int, **kwargs):
        super().__init__(**kwargs)
        self.frequencies, self.samples, self.rate = list(frequencies), samples, rate
        self.table = np.stack([harmonic_tone(frequency, samples, rate) for frequency in self.frequencies])  # see PitchExcitation

    def call(self, pitch):
        return tf.cast(tf.gather(tf.constant(self.table), tf.cast(pitch, tf.int32))[..., None], self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.samples, 1)

    def get_config(self):
        return {**super().get_config(), "frequencies": self.frequencies, "samples": self.samples, "rate": self.rate}


def spectral_plan(frames: int, bins: int) -> tuple[int, int, int]:
    """(start frames, start bins, doublings): the coarsest grid the 2-D networks grow from,
    4 frames high, doubled until the image's size."""
    steps = 0
    while frames % 2 ** (steps + 1) == 0 and frames // 2 ** (steps + 1) >= 4:
        steps += 1
    if bins % 2**steps:
        raise ValueError(f"a {frames} x {bins} spectrogram does not halve {steps} times in both axes")
    return frames // 2**steps, bins // 2**steps, steps


def _channels(width: int, level: int, steps: int) -> int:
    """Channels at ``level`` doublings from the image's size: width / 2 at full size, doubling
    towards the coarse grid, at most 8 x width (GANSynth's 256 -> 32 taper, scaled)."""
    return min(8 * width, max(width // 2, 1) * 2 ** (steps - level))


def spectral_generator(
    latent_dim: int, shape: tuple[int, int, int], num_classes: int, width: int = 16,
    excitation: PitchExcitation | None = None,
) -> keras.Model:
    """[z, pitch] -> Dense(start grid) -> [ConvTranspose 4x4 stride 2, batch norm, LeakyReLU]
    x (doublings - 1) -> ConvTranspose to 2 channels -> tanh: ``spectrogram`` [frames, bins, 2]
    (log magnitude, IF). GANSynth's generator (Engel et al. 2019, Table 3) without
    progressive growing, and with DCGAN's transposed convolutions for its upsampling and
    3x3 convolutions: 1.7x faster per step on a 2-core CPU at the same widths. With an
    ``excitation``, the last transposed convolution makes width / 2 features at full size,
    joined with the pitch's excitation spectrogram, and a 3x3 convolution makes the output."""
    frames, bins, channels = shape
    start_frames, start_bins, steps = spectral_plan(frames, bins)
    inputs, x = pitch_inputs(latent_dim, num_classes)
    top = _channels(width, 0, steps)
    x = keras.layers.Dense(start_frames * start_bins * top, name="project")(x)
    x = keras.layers.Reshape((start_frames, start_bins, top))(x)
    x = keras.layers.BatchNormalization(name="project_bn")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    for index in range(steps - 1):
        x = keras.layers.Conv2DTranspose(
            _channels(width, index + 1, steps), 4, strides=2, padding="same", use_bias=False, name=f"up_{index}",
        )(x)
        x = keras.layers.BatchNormalization(name=f"up_{index}_bn")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    if excitation is None:
        x = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="to_spectrogram")(x)
    else:
        x = keras.layers.Conv2DTranspose(_channels(width, steps, steps), 4, strides=2, padding="same", use_bias=False,
                                         name=f"up_{steps - 1}")(x)
        x = keras.layers.LeakyReLU(0.2)(keras.layers.BatchNormalization(name=f"up_{steps - 1}_bn")(x))
        x = keras.layers.Concatenate(name="with_excitation")([x, excitation(inputs[1])])
        x = keras.layers.Conv2D(channels, 3, padding="same", name="to_spectrogram")(x)
    spectrogram = keras.layers.Activation("tanh", dtype="float32", name="spectrogram")(x)
    return keras.Model(inputs, spectrogram, name="spectral_generator")


def spectral_discriminator(
    shape: tuple[int, int, int], num_classes: int, width: int = 16, minibatch_stddev: bool = True,
    excitation: PitchExcitation | None = None,
) -> keras.Model:
    """spectrogram -> Conv 1x1 -> [Conv 3x3 stride 2, LeakyReLU] x doublings -> minibatch
    stddev -> heads (the logit and the pitch head ``q``): GANSynth's discriminator, with
    strided convolutions for its average pooling. With an ``excitation`` D takes [data,
    pitch] and reads the pitch's excitation spectrogram beside the data (a conditional D in
    the manner of pix2pix's, which sees its input beside the output), so it can judge whether
    the partials sit where the pitch puts them."""
    frames, bins, _ = shape
    _, _, steps = spectral_plan(frames, bins)
    data = keras.Input(shape, name="data")
    inputs, x = data, data
    if excitation is not None:
        pitch = keras.Input((), dtype="int32", name="pitch")
        inputs, x = [data, pitch], keras.layers.Concatenate(name="with_excitation")([data, excitation(pitch)])
    x = keras.layers.Conv2D(_channels(width, steps, steps), 1, name="from_spectrogram")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    for index in range(steps):
        level = steps - index - 1
        x = keras.layers.Conv2D(_channels(width, level, steps), 3, strides=2, padding="same", name=f"down_{index}")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    if minibatch_stddev:
        x = MinibatchStddev(name="minibatch_stddev")(x)
    x = keras.layers.Flatten(name="features")(x)
    return keras.Model(inputs, discriminator_heads(x, auxiliary_outputs=num_classes), name="spectral_discriminator")


@keras.saving.register_keras_serializable(package="tfgan_app")
class SpectrogramToWaveform(keras.layers.Layer):
    """(log magnitude, IF) spectrograms -> waveforms of ``samples`` samples (see
    ``data.spectral.spectrogram_to_waveform``), in [-1, 1]."""

    def __init__(self, samples: int, frame: int = FRAME, hop: int = HOP, **kwargs):
        super().__init__(**kwargs)
        self.samples, self.frame, self.hop = samples, frame, hop

    def call(self, spectrogram):
        audio = spectrogram_to_waveform(tf.cast(spectrogram, tf.float32), self.samples, self.frame, self.hop)
        return tf.clip_by_value(audio, -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.samples)

    def get_config(self):
        return {**super().get_config(), "samples": self.samples, "frame": self.frame, "hop": self.hop}


def waveform_synthesis(generator: keras.Model, samples: int, frame: int = FRAME, hop: int = HOP) -> keras.Model:
    """[z, pitch] -> ``audio`` [samples]: a spectral generator followed by its inverse."""
    inputs = [keras.Input(tensor.shape[1:], dtype=tensor.dtype, name=tensor.name) for tensor in generator.inputs]
    spectrogram = generator(inputs)
    audio = SpectrogramToWaveform(samples, frame, hop, dtype="float32", name="audio")(spectrogram)
    return keras.Model(inputs, audio, name=f"{generator.name}_waveform")


# The pitch classifier's analysis: 2,048-sample frames (7.8 Hz per bin at 16 kHz, finer than
# a semitone above MIDI 43 and resolving the harmonic comb below) every 512 samples.
CLASSIFIER_FRAME = 2048
CLASSIFIER_HOP = 512


@keras.saving.register_keras_serializable(package="tfgan_app")
class LogSpectrum(keras.layers.Layer):
    """Waveforms [N, samples] -> the log magnitude spectrum averaged over time [N, bins, 1]:
    the pitch classifier's view of a note (its harmonics), independent of when they sound."""

    def __init__(self, frame: int = CLASSIFIER_FRAME, hop: int = CLASSIFIER_HOP, **kwargs):
        super().__init__(**kwargs)
        self.frame, self.hop = frame, hop

    def call(self, audio):
        window = tf.constant(hann(self.frame))
        frames = tf.signal.frame(tf.cast(audio, tf.float32), self.frame, self.hop, pad_end=True) * window
        magnitude = tf.abs(tf.signal.rfft(frames))[..., : self.frame // 2]
        return tf.reduce_mean(tf.math.log(magnitude + 1e-4), axis=1)[..., None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.frame // 2, 1)

    def get_config(self):
        return {**super().get_config(), "frame": self.frame, "hop": self.hop}


def pitch_classifier(samples: int, num_classes: int, feature_layer: str = "features") -> keras.Model:
    """audio [samples] -> ``LogSpectrum`` -> [Conv1D(k=9) x 2, max pool] x 3 over frequency ->
    Dense(128) ``features`` -> Dense(classes) logits: the notes' pitch classifier, whose
    features the audio FID and NDB are computed on (GANSynth measures with a pitch
    classifier trained on NSynth, Engel et al. 2019, sec. 4.2)."""
    audio = keras.Input((samples,), name="audio")
    x = LogSpectrum(name="log_spectrum")(audio)
    for filters in (16, 32, 64):
        for _ in range(2):
            x = keras.layers.Conv1D(filters, 9, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling1D(4 if filters < 64 else 2)(x)
    x = keras.layers.Dropout(0.25)(x)
    return keras.Model(audio, classifier_head(x, num_classes, feature_layer), name="pitch_classifier")
