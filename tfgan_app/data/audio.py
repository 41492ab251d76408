"""Audio data: notes rendered from real sampled instruments, and folders of WAV clips.

**Notes** (in the manner of NSynth, Engel et al. 2017): each melodic General MIDI program
(0-111) of the Fluid R3 SoundFont (Debian's ``fluid-soundfont-gm``) played by ``fluidsynth``
at every MIDI pitch of ``PITCHES``, velocity 100, cut to 1 s at 16 kHz mono: the note held
0.75 s, then the start of its release. Each note has a 2 s slot in the rendering, so a long
release never reaches the next note. Reverb and chorus are off: a note is the instrument's
own sound, and rendering is deterministic (the manifest records the SoundFont's SHA-256 and
the fluidsynth version). The test split holds out whole instruments (every 8th program), as
NSynth holds out instruments.

**Folders**: ``load_audio_folder`` reads the WAV files (PCM, 8-32 bit, any rate and channel
count) and FLAC files (through the ``soundfile`` package, libsndfile's binding: ``pip
install tfgan_app[audio]``) under a folder, one class per subfolder, as mono clips at the
pipeline's rate (band-limited resampling), cut or zero-padded to its length. A file that
cannot be read is named in the error, as the image folders do.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import struct
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from tfgan_app.checksums import sha256_of_file

RATE = 16_000  # samples per second
NOTE_SECONDS = 1.0  # the length of a note
HELD_SECONDS = 0.75  # note-on to note-off
SLOT_SECONDS = 2.0  # each note's slot in the rendering: its release dies out before the next
VELOCITY = 100
PITCHES = range(24, 85)  # MIDI 24 (C1) to 84 (C6), NSynth's range for most instruments
MELODIC_PROGRAMS = range(112)  # General MIDI 0-111; 112-127 are percussion and sound effects
TEST_EVERY = 8  # programs 0, 8, 16, ... are the test split's instruments
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


class AudioError(ValueError):
    """Audio that cannot be read or rendered; the message names the file and what to do."""


def pitch_name(midi: int) -> str:
    """MIDI 60 -> "C4" (middle C), 69 -> "A4" (440 Hz)."""
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def pitch_frequency(midi: int) -> float:
    """Equal temperament, A4 = 440 Hz."""
    return 440.0 * 2.0 ** ((midi - 69) / 12)


def midi_of(name: str) -> int:
    """"C4" -> 60, "A#3" -> 58: the inverse of ``pitch_name``; AudioError for a name that is
    not a note name followed by an octave number."""
    letters = name[:2] if name[1:2] == "#" else name[:1]
    octave = name[len(letters):]
    if letters not in NOTE_NAMES or not octave.lstrip("-").isdigit():
        raise AudioError(f"class {name!r} is not a pitch name such as C4 or A#3")
    return NOTE_NAMES.index(letters) + 12 * (int(octave) + 1)


# --- WAV files ------------------------------------------------------------------------


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(float32 mono samples in [-1, 1], sample rate) of a PCM WAV file; channels are
    averaged. AudioError naming the file when it is not a readable PCM WAV file."""
    try:
        with wave.open(str(path), "rb") as handle:
            channels, width, rate = handle.getnchannels(), handle.getsampwidth(), handle.getframerate()
            frames = handle.readframes(handle.getnframes())
    except (wave.Error, EOFError, OSError) as error:
        raise AudioError(f"{path}: not a readable WAV file ({error}); fix or remove it") from None
    if width not in (1, 2, 3, 4):
        raise AudioError(f"{path}: {8 * width}-bit samples; WAV files of 8, 16, 24 or 32-bit PCM are read")
    raw = np.frombuffer(frames[: len(frames) // (width * channels) * width * channels], np.uint8)
    if width == 1:  # 8-bit WAV is unsigned
        values = raw.astype(np.float32) / 128.0 - 1.0
    else:
        # Little-endian signed integers of ``width`` bytes, widened to int32 (24-bit included).
        padded = np.zeros((len(raw) // width, 4), np.uint8)
        padded[:, 4 - width :] = raw.reshape(-1, width)
        values = padded.view("<i4").reshape(-1).astype(np.float32) / 2.0**31
    if not len(values):
        raise AudioError(f"{path}: a WAV file without samples; remove it")
    return values.reshape(-1, channels).mean(axis=1), rate


AUDIO_SUFFIXES = (".wav", ".flac")


def read_flac(path: Path) -> tuple[np.ndarray, int]:
    """(float32 mono samples in [-1, 1], sample rate) of a FLAC file, through ``soundfile``."""
    try:
        import soundfile
    except ImportError:
        raise AudioError(f"{path}: FLAC files are read with the soundfile package (pip install soundfile, or "
                         "pip install tfgan_app[audio]); or convert them to WAV") from None
    try:
        values, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as error:  # soundfile's LibsndfileError is a RuntimeError
        raise AudioError(f"{path}: not a readable FLAC file ({error}); fix or remove it") from None
    if not len(values):
        raise AudioError(f"{path}: a FLAC file without samples; remove it")
    return values.mean(axis=1), int(rate)


def read_clip(path: Path) -> tuple[np.ndarray, int]:
    """A WAV or FLAC file by its suffix (see ``read_wav``, ``read_flac``)."""
    return read_flac(path) if Path(path).suffix.lower() == ".flac" else read_wav(path)


def write_wav(path: Path, audio: np.ndarray, rate: int = RATE) -> None:
    """Write mono float samples (clipped to [-1, 1]) as a 16-bit PCM WAV file."""
    pcm = np.round(np.clip(np.asarray(audio, np.float64), -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited resampling by the Fourier method: the spectrum cut (downsampling, which
    removes what the new rate cannot hold) or zero-padded (upsampling)."""
    if rate == target:
        return audio.astype(np.float32)
    count = max(1, round(len(audio) * target / rate))
    spectrum = np.fft.rfft(audio)
    bins = count // 2 + 1
    spectrum = spectrum[:bins] if len(spectrum) >= bins else np.pad(spectrum, (0, bins - len(spectrum)))
    return (np.fft.irfft(spectrum, count) * (count / len(audio))).astype(np.float32)


def fit_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """The first ``samples`` samples, zero-padded at the end when the clip is shorter."""
    return np.pad(audio[:samples], (0, max(0, samples - len(audio)))).astype(np.float32)


def load_audio_folder(folder: Path, rate: int = RATE, samples: int = RATE, on_bad: str = "error"):
    """(clips float32 [N, samples] at ``rate``, labels int32 [N] or None, class names, files)
    of the WAV and FLAC files under ``folder``: one class per subfolder (labels only when there are
    subfolders). ``on_bad = "skip"`` leaves unreadable files out (they are returned last,
    as a list of (file, reason)); "error" stops at the first, naming it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioError(f"{folder}: no such folder of WAV files")
    files = sorted(path for path in folder.rglob("*") if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file())
    if not files:
        raise AudioError(f"{folder}: no .wav or .flac files in it (or its subfolders)")
    classes = sorted({path.relative_to(folder).parts[0] for path in files if len(path.relative_to(folder).parts) > 1})
    clips, labels, kept, skipped = [], [], [], []
    for path in files:
        try:
            audio, file_rate = read_clip(path)
        except AudioError as error:
            if on_bad != "skip":
                raise
            skipped.append((path, str(error)))
            continue
        clips.append(fit_length(resample(audio, file_rate, rate), samples))
        parts = path.relative_to(folder).parts
        labels.append(classes.index(parts[0]) if len(parts) > 1 else -1)
        kept.append(path)
    if not clips:
        raise AudioError(f"{folder}: none of its {len(files)} audio files could be read (first: {skipped[0][1]})")
    labels_array = np.asarray(labels, np.int32) if classes and min(labels) >= 0 else None
    return np.stack(clips), labels_array, classes, kept, skipped


# --- rendered notes -------------------------------------------------------------------


def _variable_length(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def notes_midi(program: int, pitches: list[int], velocity: int = VELOCITY) -> bytes:
    """A Standard MIDI File (format 0, 1 tick = 1 ms) playing ``pitches`` in turn on
    ``program``, each from the start of its ``SLOT_SECONDS`` slot, held ``HELD_SECONDS``."""
    held, slot = round(HELD_SECONDS * 1000), round(SLOT_SECONDS * 1000)
    events = _variable_length(0) + bytes([0xFF, 0x51, 0x03]) + (1_000_000).to_bytes(3, "big")  # 1 s per quarter
    events += _variable_length(0) + bytes([0xC0, program])
    for index, pitch in enumerate(pitches):
        events += _variable_length(0 if index == 0 else slot - held) + bytes([0x90, pitch, velocity])
        events += _variable_length(held) + bytes([0x80, pitch, 0])
    events += _variable_length(slot - held) + bytes([0xFF, 0x2F, 0x00])
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 1000)
    return header + b"MTrk" + struct.pack(">I", len(events)) + events


def fluidsynth_version() -> str:
    if shutil.which("fluidsynth") is None:
        raise AudioError("fluidsynth is not installed: sudo apt-get install fluidsynth fluid-soundfont-gm (or make data)")
    done = subprocess.run(["fluidsynth", "--version"], capture_output=True, text=True)
    return done.stdout.splitlines()[0].strip() if done.stdout else "unknown"


def render_program(program: int, pitches: list[int], soundfont: Path = SOUNDFONT) -> np.ndarray:
    """float32 [len(pitches), RATE * NOTE_SECONDS]: ``program``'s notes, mono, as fluidsynth
    plays them from ``soundfont`` (reverb and chorus off)."""
    fluidsynth_version()
    if not Path(soundfont).is_file():
        raise AudioError(f"{soundfont}: no SoundFont there; sudo apt-get install fluid-soundfont-gm (or make data)")
    with tempfile.TemporaryDirectory() as scratch:
        midi, wav = Path(scratch) / "notes.mid", Path(scratch) / "notes.wav"
        midi.write_bytes(notes_midi(program, pitches))
        done = subprocess.run(
            ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(RATE), "-F", str(wav),
             str(soundfont), str(midi)], capture_output=True, text=True,
        )
        if done.returncode != 0 or not wav.is_file():
            raise AudioError(f"fluidsynth failed on program {program}: {done.stderr.strip()[-500:]}")
        audio, rate = read_wav(wav)
    if rate != RATE:
        raise AudioError(f"fluidsynth wrote {rate} Hz, not the {RATE} Hz asked for")
    slot, length = round(SLOT_SECONDS * RATE), round(NOTE_SECONDS * RATE)
    audio = np.pad(audio, (0, max(0, slot * len(pitches) - len(audio))))
    return np.stack([audio[index * slot : index * slot + length] for index in range(len(pitches))])


@dataclasses.dataclass
class Notes:
    """Rendered notes: waveforms float32 [N, samples], MIDI pitch and GM program per note."""

    audio: np.ndarray
    pitch: np.ndarray
    program: np.ndarray


def render_notes(out: Path, programs=MELODIC_PROGRAMS, pitches=PITCHES, soundfont: Path = SOUNDFONT) -> Path:
    """Render every (program, pitch) note into ``out`` once: ``notes.npz`` (int16 audio, pitch,
    program) and ``manifest.json`` (what made it). Written to a temporary name and renamed, so
    an interrupted rendering leaves nothing that looks complete; an existing complete
    rendering of the same notes is kept."""
    out = Path(out)
    programs, pitches = list(programs), list(pitches)
    manifest = {
        "soundfont": str(soundfont), "soundfont_sha256": sha256_of_file(Path(soundfont)) if Path(soundfont).is_file() else "",
        "fluidsynth": fluidsynth_version(), "rate": RATE, "note_seconds": NOTE_SECONDS, "held_seconds": HELD_SECONDS,
        "velocity": VELOCITY, "programs": programs, "pitches": pitches, "test_every": TEST_EVERY,
    }
    if (out / "manifest.json").is_file() and (out / "notes.npz").is_file():
        if json.loads((out / "manifest.json").read_text()) == manifest:
            return out
    out.mkdir(parents=True, exist_ok=True)
    audio = np.concatenate([render_program(program, pitches, soundfont) for program in programs])
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    partial = out / "notes.partial.npz"
    np.savez_compressed(partial, audio=pcm, pitch=np.tile(np.asarray(pitches, np.int32), len(programs)),
                        program=np.repeat(np.asarray(programs, np.int32), len(pitches)))
    partial.rename(out / "notes.npz")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def load_notes(folder: Path, split: str = "train") -> Notes:
    """The rendered notes of ``split``: "train" (the instruments not held out), "test" (every
    ``TEST_EVERY``-th program) or "all"."""
    path = Path(folder) / "notes.npz"
    if not path.is_file():
        raise AudioError(f"{folder}: no rendered notes (notes.npz); render them with make data")
    if split not in ("train", "test", "all"):
        raise AudioError(f"split {split!r}: the notes have 'train', 'test' (held-out instruments) and 'all'")
    with np.load(path) as data:
        audio, pitch, program = data["audio"], data["pitch"], data["program"]
    held_out = program % TEST_EVERY == 0
    keep = np.ones_like(held_out) if split == "all" else (held_out if split == "test" else ~held_out)
    return Notes(audio[keep].astype(np.float32) / 32767.0, pitch[keep], program[keep])
