"""Waveforms <-> GANSynth's spectral representation (Engel et al. 2019, sec. 2.2): per STFT
frame and frequency bin, the log magnitude and the instantaneous frequency (IF, the time
derivative of the unwrapped phase), both scaled to [-1, 1] so a tanh generator can make them.

The frequency axis is linear, not mel: the inverse is then the exact inverse STFT, one
constant matrix per frame and an overlap-add, which export to ONNX as plain MatMul, Pad and
Add (GANSynth's best model, IF-Mel, needs a pseudo-inverse of the mel matrix and trades
resolution at low pitches for a smaller image; at 1 s and 16 kHz the linear image is already
small enough for a 2-core CPU).

Frames of ``FRAME`` samples (a periodic Hann window) every ``HOP`` samples; the Nyquist bin
is dropped so the image has ``FRAME // 2`` bins (GANSynth drops it likewise). The forward
transform is ``tf.signal.stft`` (training only); the inverse (``spectrogram_to_waveform``)
is written with matrix products so the exported generator converts to ONNX.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

FRAME = 512  # samples per STFT frame: 32 ms at 16 kHz, 31.25 Hz per bin
HOP = 128  # 75% overlap, as GANSynth's
# log|X| is clipped at log(MAGNITUDE_FLOOR) and mapped from [log floor, LOG_MAGNITUDE_TOP] to
# [-1, 1]; a full-scale sine peaks near log(FRAME / 4) = 4.9.
MAGNITUDE_FLOOR = 1e-5
LOG_MAGNITUDE_TOP = 6.0
_LOG_FLOOR = math.log(MAGNITUDE_FLOOR)
_CENTRE = (LOG_MAGNITUDE_TOP + _LOG_FLOOR) / 2
_HALF_RANGE = (LOG_MAGNITUDE_TOP - _LOG_FLOOR) / 2


def spectrogram_shape(samples: int, frame: int = FRAME, hop: int = HOP) -> tuple[int, int, int]:
    """(frames, bins, 2) of a waveform of ``samples`` samples: one frame per hop."""
    return (math.ceil(samples / hop), frame // 2, 2)


def _edge(frame: int, hop: int) -> int:
    """Zeros padded before the waveform (and at least as many after): every sample then lies
    well inside two or more frames, so the inverse never divides by a window's near-zero
    tail (``tf.signal.stft``'s frames start at sample 0 and cover it with weight ~0)."""
    return (frame - hop) // 2


def waveform_to_spectrogram(audio: tf.Tensor, frame: int = FRAME, hop: int = HOP) -> tf.Tensor:
    """[..., samples] in [-1, 1] -> [..., frames, bins, 2]: scaled log magnitude, scaled IF."""
    samples = audio.shape[-1]
    frames = math.ceil(samples / hop)
    edge = _edge(frame, hop)
    after = (frames - 1) * hop + frame - edge - samples
    padding = [[0, 0]] * (len(audio.shape) - 1) + [[edge, after]]
    stft = tf.signal.stft(tf.pad(audio, padding), frame, hop, fft_length=frame, window_fn=tf.signal.hann_window)
    stft = stft[..., : frame // 2]
    log_magnitude = tf.math.log(tf.maximum(tf.abs(stft), MAGNITUDE_FLOOR))
    phase = tf.math.angle(stft)
    # IF: the phase advance from the previous frame, wrapped into [-pi, pi) (the finite
    # difference of the unwrapped phase), divided by pi; the first frame keeps its phase.
    advance = phase[..., 1:, :] - phase[..., :-1, :]
    advance = tf.math.floormod(advance + math.pi, 2 * math.pi) - math.pi
    frequency = tf.concat([phase[..., :1, :], advance], axis=-2) / math.pi
    magnitude = tf.clip_by_value((log_magnitude - _CENTRE) / _HALF_RANGE, -1.0, 1.0)
    return tf.stack([magnitude, frequency], axis=-1)


def hann(frame: int) -> np.ndarray:
    """The periodic Hann window ``tf.signal.hann_window`` makes, as a constant."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)).astype(np.float32)


def _inverse_dft_basis(frame: int) -> np.ndarray:
    """[2 * bins, frame]: real and imaginary parts of bins 0..frame/2-1 -> one real frame,
    x[n] = (1/N) (Re X_0 + 2 sum_k (Re X_k cos(2 pi k n / N) - Im X_k sin(2 pi k n / N)))
    (the real inverse DFT with the Nyquist bin taken as 0)."""
    bins = frame // 2
    k, n = np.arange(bins)[:, None], np.arange(frame)[None, :]
    weight = np.where(k == 0, 1.0, 2.0) / frame
    angle = 2 * np.pi * k * n / frame
    return np.concatenate([weight * np.cos(angle), -weight * np.sin(angle)]).astype(np.float32)


def _window_sum(frames: int, frame: int, hop: int) -> np.ndarray:
    """The overlap-added squared synthesis window, [(frames - 1) * hop + frame]: what the
    least-squares inverse STFT divides by (floored where no frame reaches)."""
    window = np.square(hann(frame).astype(np.float64))
    total = np.zeros((frames - 1) * hop + frame)
    for index in range(frames):
        total[index * hop : index * hop + frame] += window
    return np.maximum(total, 1e-3).astype(np.float32)


def spectrogram_to_waveform(spectrogram: tf.Tensor, samples: int, frame: int = FRAME, hop: int = HOP) -> tf.Tensor:
    """[batch, frames, bins, 2] (``waveform_to_spectrogram``'s scaling) -> [batch, samples].

    Magnitude from the log scale, phase as the running sum of IF over frames, then each
    frame's inverse DFT (a matrix product), the Hann synthesis window and an overlap-add
    divided by the summed squared window (Griffin & Lim 1984's least-squares inverse,
    exact for an unmodified STFT). The overlap-add is ``frame / hop`` shifted sums of the
    frames' ``hop``-sample pieces, so only Pad, Slice, Add and Reshape appear in the graph.
    """
    if frame % hop:
        raise ValueError(f"the frame ({frame}) must be a multiple of the hop ({hop})")
    frames, bins = spectrogram.shape[1], spectrogram.shape[2]
    magnitude = tf.exp(spectrogram[..., 0] * _HALF_RANGE + _CENTRE)
    # Bins left at the floor are silence: their magnitude is set to 0, not 1e-5.
    magnitude = magnitude * tf.cast(spectrogram[..., 0] > -1.0 + 1e-4, magnitude.dtype)
    phase = tf.cumsum(spectrogram[..., 1] * math.pi, axis=1)
    parts = tf.concat([magnitude * tf.cos(phase), magnitude * tf.sin(phase)], axis=-1)  # [batch, frames, 2 * bins]
    window = tf.constant(hann(frame)[None, None, :])
    pieces_per_frame = frame // hop
    framed = tf.matmul(parts, tf.constant(_inverse_dft_basis(frame))) * window  # [batch, frames, frame]
    pieces = tf.reshape(framed, [-1, frames, pieces_per_frame, hop])
    total = tf.add_n([
        tf.pad(pieces[:, :, shift], [[0, 0], [shift, pieces_per_frame - 1 - shift], [0, 0]])
        for shift in range(pieces_per_frame)
    ])  # [batch, frames + pieces - 1, hop]
    audio = tf.reshape(total, [-1, (frames + pieces_per_frame - 1) * hop]) / tf.constant(_window_sum(frames, frame, hop))
    edge = _edge(frame, hop)
    return audio[:, edge : edge + samples]


def spectrogram_pictures(spectrograms: np.ndarray) -> np.ndarray:
    """[N, frames, bins, 2] -> [N, bins, frames, 1] in [-1, 1]: the log magnitude as pictures,
    time across and the lowest frequency on the bottom row."""
    return np.transpose(np.asarray(spectrograms)[..., :1], (0, 2, 1, 3))[:, ::-1]
