"""Audio GANs: pitch-conditioned notes as waveforms (WaveGAN, Donahue et al. 2019) and as
spectrograms (GANSynth, Engel et al. 2019).

Both are AC-GANs over the pitch, as GANSynth conditions its generator on a one-hot pitch and
gives its discriminator an auxiliary pitch classifier (sec. 3); WaveGAN is conditioned the
same way here so the two differ only in what they generate:

- ``wavegan``: G makes the waveform [samples] with 1-D transposed convolutions, D judges it
  with 1-D convolutions and phase shuffle (``networks.audio``).
- ``gansynth``: G makes the (log magnitude, instantaneous frequency) spectrogram
  (``data.spectral``), D judges spectrograms; the real notes are transformed in the input
  pipeline, and the exported model runs G and the inverse transform, so both exports take
  ``z`` and ``pitch`` and serve ``audio`` [samples] in [-1, 1].

Sample grids are spectrograms (log magnitude, low frequencies at the bottom); TensorBoard
also gets the notes as audio.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.data.audio import AudioError, midi_of, pitch_frequency
from tfgan_app.data.sources import load_audio
from tfgan_app.data.spectral import FRAME, HOP, spectrogram_pictures, spectrogram_shape, waveform_to_spectrogram
from tfgan_app.gans.acgan import ACGAN
from tfgan_app.gans.gan import compile_noise_model, named_inputs, noise_model_options
from tfgan_app.gans.registry import NOT_IMAGE_SWITCHES, BuildContext, DataNeeds, Family
from tfgan_app.inputs import InputKind, Label, Noise
from tfgan_app.networks.audio import (
    PitchExcitation, ToneExcitation, spectral_discriminator, spectral_generator, waveform_synthesis, wavegan_discriminator, wavegan_generator,
)

PREVIEW_ROWS = 6  # pitches shown in a sample grid (C1 ... C6 for the notes)
PREVIEW_COLUMNS = 4


@dataclasses.dataclass
class WaveGANSettings:
    """``[wavegan]``: the waveform networks."""

    width: int = dataclasses.field(default=16, metadata={"min": 1})  # d of the paper's Tables 2-3 (64 there)
    phase_shuffle: int = dataclasses.field(default=2, metadata={"min": 0})  # D's phase shuffle radius n in samples (0 = off)
    class_weight: float = dataclasses.field(default=1.0, metadata={"min": 0})  # weight of the pitch head's loss (AC-GAN)
    classify_fakes: bool = True  # D's pitch head also learns the fakes' pitches (AC-GAN); false: real notes only
    excitation: bool = False  # G also reads a harmonic tone at the pitch (classes named C4, A#3, ...)
    discriminator_excitation: bool = False  # D also reads the tone beside the waveform (a conditional D)


@dataclasses.dataclass
class GANSynthSettings:
    """``[gansynth]``: the spectrogram networks."""

    width: int = dataclasses.field(default=16, metadata={"min": 1})  # channels at full resolution x 2; 8 x width at most
    class_weight: float = dataclasses.field(default=1.0, metadata={"min": 0})  # weight of the pitch head's loss (AC-GAN)
    classify_fakes: bool = True  # D's pitch head also learns the fakes' pitches (AC-GAN); false: real notes only
    excitation: bool = False  # G also reads a harmonic tone's spectrogram at the pitch (classes named C4, A#3, ...)
    discriminator_excitation: bool = False  # D also reads it beside the spectrogram (a conditional D)


class AudioGAN(ACGAN):
    """A pitch-conditioned AC-GAN whose samples are sounds (see the module docstring)."""

    export_input_names = ("z", "pitch")

    def __init__(
        self, generator: keras.Model, discriminator: keras.Model, num_classes: int, samples: int, sample_rate: int,
        **kwargs,
    ):
        self.samples, self.sample_rate = samples, sample_rate
        # A D that reads the pitch's excitation takes [data, pitch].
        self.discriminator_takes_label = len(discriminator.inputs) == 2
        super().__init__(generator, discriminator, num_classes, **kwargs)

    def generate(self, z: tf.Tensor, label: tf.Tensor | None = None) -> tf.Tensor:
        """Sounds [N, samples] for noise ``z`` at the pitches ``label`` (by default the
        pitches in turn, ``sample_labels``): what ``evaluate`` measures."""
        z = tf.convert_to_tensor(z, tf.float32)
        label = self.sample_labels(z) if label is None else tf.convert_to_tensor(label, tf.int32)
        return self.waveforms({"z": z, "label": label})

    def waveforms(self, inputs: dict) -> tf.Tensor:
        """[N, samples] from the (averaged) generator for {"z", "label"}."""
        return self.exports()[""]([inputs["z"], inputs["label"]], training=False)

    def spectrograms(self, inputs: dict) -> tf.Tensor:
        """[N, frames, bins, 2] of the samples for {"z", "label"}."""
        return waveform_to_spectrogram(self.waveforms(inputs))

    def input_kinds(self) -> dict[str, InputKind]:
        return {"z": Noise(), "pitch": Label(classes=self.num_classes)}

    def preview_inputs(self, count: int, seed: tf.Tensor, examples: dict | None = None) -> dict:
        """``PREVIEW_ROWS`` pitches spread over the range, one per row, the same noise down
        each column."""
        rows = np.unique(np.linspace(0, self.num_classes - 1, min(PREVIEW_ROWS, self.num_classes)).round().astype(np.int32))
        columns = max(1, min(PREVIEW_COLUMNS, count // len(rows)))
        z = tf.random.stateless_normal([columns, self.noise_dim], seed)
        return {"z": tf.tile(z, [len(rows), 1]), "label": tf.constant(np.repeat(rows, columns))}

    def preview(self, inputs: dict) -> tuple[np.ndarray, int]:
        """Log-magnitude spectrograms as pictures: time across, frequency up."""
        pictures = spectrogram_pictures(self.spectrograms(inputs).numpy())
        return pictures, len(pictures) // len(np.unique(inputs["label"]))

    def preview_audio(self, inputs: dict) -> np.ndarray:
        """The preview's notes, [N, samples], for TensorBoard and the run's WAV file."""
        return self.waveforms(inputs).numpy()


class WaveGAN(AudioGAN):
    """G and D on raw waveforms; the export is G."""

    def exports(self) -> dict[str, keras.Model]:
        return {"": named_inputs(self.sampling_generator, self.export_input_names)}


class GANSynth(AudioGAN):
    """G and D on spectrograms; the export is the inverse transform of G's output."""

    def exports(self) -> dict[str, keras.Model]:
        generator = named_inputs(self.sampling_generator, self.export_input_names)
        return {"": waveform_synthesis(generator, self.samples, FRAME, HOP)}

    def spectrograms(self, inputs: dict) -> tf.Tensor:
        return self.sampling_generator([inputs["z"], inputs["label"]], training=False)


def _check_classes(context: BuildContext, family: str) -> None:
    if context.num_classes < 2:
        raise ValueError(f"{family} is conditioned on the pitch: it needs labelled clips of at least 2 classes, "
                         f"got {context.num_classes}")


def _excitation(context: BuildContext, family: str, wanted: bool, make):
    """``make(frequencies)`` when ``wanted``: an excitation layer playing each class's pitch,
    read from its name (C4, A#3); else None."""
    if not wanted:
        return None
    try:
        return make([pitch_frequency(midi_of(name)) for name in context.class_names])
    except AudioError as error:
        raise ValueError(f"{family}.excitation = true needs classes named by pitch: {error}; rename the class "
                         f"folders or set {family}.excitation=false") from None


def build_wavegan(context: BuildContext) -> WaveGAN:
    _check_classes(context, "wavegan")
    settings: WaveGANSettings = context.settings
    (samples,) = context.element_shape
    latent = context.config.model.latent_dim

    def tone(frequencies):
        return ToneExcitation(frequencies, samples, context.config.data.audio_rate, name="excitation")

    generator = wavegan_generator(latent, samples, context.num_classes, settings.width,
                                  _excitation(context, "wavegan", settings.excitation, tone))
    discriminator = wavegan_discriminator(samples, context.num_classes, settings.width, settings.phase_shuffle,
                                          context.config.model.minibatch_stddev,
                                          _excitation(context, "wavegan", settings.discriminator_excitation, tone))
    model = WaveGAN(generator, discriminator, context.num_classes, samples, context.config.data.audio_rate,
                    class_weight=settings.class_weight, classify_fakes=settings.classify_fakes,
                    **noise_model_options(context))
    return compile_noise_model(model, context)


def build_gansynth(context: BuildContext) -> GANSynth:
    _check_classes(context, "gansynth")
    settings: GANSynthSettings = context.settings
    shape = tuple(context.element_shape)

    def spectrum(frequencies):
        return PitchExcitation(frequencies, shape[0], context.config.data.audio_rate, FRAME, HOP, name="excitation")

    generator = spectral_generator(context.config.model.latent_dim, shape, context.num_classes, settings.width,
                                   _excitation(context, "gansynth", settings.excitation, spectrum))
    discriminator = spectral_discriminator(shape, context.num_classes, settings.width, context.config.model.minibatch_stddev,
                                           _excitation(context, "gansynth", settings.discriminator_excitation, spectrum))
    model = GANSynth(generator, discriminator, context.num_classes, context.config.data.audio_samples,
                     context.config.data.audio_rate,
                     class_weight=settings.class_weight, classify_fakes=settings.classify_fakes,
                     **noise_model_options(context))
    return compile_noise_model(model, context)


def _load(data, settings):
    return load_audio(data)  # which refuses a data.name that is not a sound source


def _as_spectrograms(source, config):
    """GANSynth trains on spectrograms: the pipeline transforms each batch of real clips."""
    (samples,) = source.element_shape
    shape = spectrogram_shape(samples, FRAME, HOP)
    return source.transform_real(shape, lambda clips: waveform_to_spectrogram(clips, FRAME, HOP),
                                 f", as (log magnitude, IF) spectrograms {'x'.join(map(str, shape))}")

FAMILIES = (
    Family(
        name="wavegan",
        summary="WaveGAN (Donahue et al. 2019): 1-D convolutions on waveforms, phase shuffle, pitch head",
        build=build_wavegan,
        settings=WaveGANSettings,
        data=DataNeeds(load=_load, labels=True),
        switches=NOT_IMAGE_SWITCHES,
    ),
    Family(
        name="gansynth",
        summary="GANSynth (Engel et al. 2019): log-magnitude + IF spectrograms, pitch head, waveform export",
        build=build_gansynth,
        settings=GANSynthSettings,
        data=DataNeeds(load=_load, labels=True, prepare=_as_spectrograms),
        switches=NOT_IMAGE_SWITCHES,
    ),
)
