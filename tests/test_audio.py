"""Audio data: WAV files read and written, user folders of clips, and notes rendered from the
Fluid R3 SoundFont by fluidsynth (skipped where fluidsynth is not installed: make data
installs it)."""

from __future__ import annotations

import shutil
import wave

import numpy as np
import pytest

from tfgan_app.data import audio
from tfgan_app.data.audio import AudioError


def write_pcm(path, samples: np.ndarray, rate: int, width: int) -> None:
    """A PCM WAV file of int samples [frames, channels] with ``width`` bytes each."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(samples.shape[1])
        handle.setsampwidth(width)
        handle.setframerate(rate)
        data = samples.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :width] if width > 1 else \
            (samples + 128).astype(np.uint8)
        handle.writeframes(np.ascontiguousarray(data).tobytes())


def dominant_frequency(clip: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(clip * np.hanning(len(clip))))
    return float(np.argmax(spectrum) * rate / len(clip))


def test_a_wav_written_reads_back_at_its_rate_and_length(tmp_path):
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    audio.write_wav(tmp_path / "tone.wav", tone, 8000)
    read, rate = audio.read_wav(tmp_path / "tone.wav")
    assert rate == 8000 and read.shape == (8000,) and read.dtype == np.float32
    np.testing.assert_allclose(read, tone, atol=1 / 32767)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_pcm_of_every_width_is_read_and_stereo_is_averaged(tmp_path, width):
    full = 2 ** (8 * width - 1) - 1
    left = np.array([full // 2, -full // 2, 0, full])
    right = np.array([full // 2, full // 2, 0, -full])
    write_pcm(tmp_path / "s.wav", np.stack([left, right], 1), 22050, width)
    read, rate = audio.read_wav(tmp_path / "s.wav")
    assert rate == 22050
    np.testing.assert_allclose(read, [0.5, 0.0, 0.0, 0.0], atol=2 / 2 ** (8 * width - 1) + 1e-6)


def test_resampling_keeps_the_pitch_and_sets_the_length():
    tone = np.sin(2 * np.pi * 1000 * np.arange(22050) / 22050)  # 1 s at 22.05 kHz
    resampled = audio.resample(tone, 22050, 16000)
    assert resampled.shape == (16000,)
    assert abs(dominant_frequency(resampled, 16000) - 1000) < 2
    assert abs(np.abs(resampled).max() - 1.0) < 0.02


def test_a_folder_of_clips_becomes_classes_and_a_broken_file_is_named(tmp_path):
    for name, frequency in (("low", 220), ("high", 880)):
        (tmp_path / name).mkdir()
        for index in range(2):
            audio.write_wav(tmp_path / name / f"{index}.wav", 0.3 * np.sin(2 * np.pi * frequency * np.arange(12000) / 8000), 8000)
    clips, labels, classes, files, skipped = audio.load_audio_folder(tmp_path, rate=16000, samples=16000)
    assert classes == ["high", "low"] and labels.tolist() == [0, 0, 1, 1] and clips.shape == (4, 16000)
    assert abs(dominant_frequency(clips[0][:20000], 16000) - 880) < 5  # 1.5 s at 8 kHz -> the first 1 s at 16 kHz
    (tmp_path / "low" / "broken.wav").write_bytes(b"RIFF\x00\x00not a wave file")
    with pytest.raises(AudioError, match=r"low/broken.wav: not a readable WAV file"):
        audio.load_audio_folder(tmp_path)
    clips, labels, _, files, skipped = audio.load_audio_folder(tmp_path, on_bad="skip")
    assert len(clips) == 4 and [path.name for path, _ in skipped] == ["broken.wav"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(AudioError, match="empty: no .wav or .flac files"):
        audio.load_audio_folder(tmp_path / "empty")
    with pytest.raises(AudioError, match="none: no such folder"):
        audio.load_audio_folder(tmp_path / "none")


def test_a_short_clip_is_padded_and_a_long_one_cut():
    assert audio.fit_length(np.ones(3), 5).tolist() == [1, 1, 1, 0, 0]
    assert audio.fit_length(np.arange(10.0), 4).tolist() == [0, 1, 2, 3]


def test_the_midi_file_holds_one_note_per_slot():
    midi = audio.notes_midi(5, [60, 64])
    assert midi[:4] == b"MThd" and b"MTrk" in midi
    assert bytes([0xC0, 5]) in midi  # the program
    assert bytes([0x90, 60, 100]) in midi and bytes([0x80, 64, 0]) in midi


needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not audio.SOUNDFONT.is_file(),
    reason="fluidsynth and fluid-soundfont-gm are not installed (make data installs them)",
)


@needs_fluidsynth
def test_rendered_notes_sound_at_their_pitch_split_by_instrument_and_render_the_same_twice(tmp_path):
    # Piano (0, a test instrument) and flute (73), A3 and A4.
    folder = audio.render_notes(tmp_path / "notes", programs=[0, 73], pitches=[57, 69])
    notes = audio.load_notes(folder, "all")
    assert notes.audio.shape == (4, audio.RATE) and notes.pitch.tolist() == [57, 69, 57, 69]
    for clip, pitch in zip(notes.audio, notes.pitch):
        assert np.abs(clip).max() > 0.01  # sound, not silence
        expected = audio.pitch_frequency(int(pitch))
        found = dominant_frequency(clip[: audio.RATE // 2], audio.RATE)
        # The strongest partial is the fundamental or a harmonic of it.
        assert min(abs(found / expected - round(found / expected)), 1) < 0.03 and round(found / expected) >= 1, \
            (pitch, found, expected)
    assert audio.load_notes(folder, "test").program.tolist() == [0, 0]  # program 0 is held out
    assert audio.load_notes(folder, "train").program.tolist() == [73, 73]
    again = audio.render_notes(tmp_path / "again", programs=[0, 73], pitches=[57, 69])
    np.testing.assert_array_equal(audio.load_notes(again, "all").audio, notes.audio)
    audio.write_wav(tmp_path / "a4.wav", notes.audio[1])
    assert audio.read_wav(tmp_path / "a4.wav")[0].shape == (audio.RATE,)


def test_flac_files_are_read_beside_wav_files_and_a_broken_one_is_named(tmp_path):
    soundfile = pytest.importorskip("soundfile")
    tone = 0.4 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    (tmp_path / "a").mkdir()
    soundfile.write(tmp_path / "a" / "tone.flac", np.stack([tone, tone], 1), 22050, subtype="PCM_16")
    audio.write_wav(tmp_path / "a" / "tone.wav", tone, 22050)
    clips, labels, classes, files, _ = audio.load_audio_folder(tmp_path, rate=16000, samples=16000)
    assert [path.name for path in files] == ["tone.flac", "tone.wav"] and clips.shape == (2, 16000)
    np.testing.assert_allclose(clips[0], clips[1], atol=2e-4)  # the same tone, stereo averaged
    (tmp_path / "a" / "broken.flac").write_bytes(b"fLaC not really")
    with pytest.raises(AudioError, match=r"a/broken.flac: not a readable FLAC file"):
        audio.load_audio_folder(tmp_path)
