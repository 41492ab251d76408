"""The audio families end to end: the spectral transform and its exported inverse, WaveGAN's
phase shuffle, and both notes pipelines rendered from real instruments, trained, resumed
exactly, exported, served and written as WAV files."""

from __future__ import annotations

import json
import os
import shutil
import wave

import numpy as np
import pytest
import tensorflow as tf

from tests import serving_double
from tests.helpers import assert_resumes_exactly, tiny_config, tone, write_tone_folder
from tfgan_app.data import audio
from tfgan_app.data.sources import DataError
from tfgan_app.data.spectral import spectrogram_shape, spectrogram_to_waveform, waveform_to_spectrogram
from tfgan_app.gans.registry import family_source, load_config
from tfgan_app.networks.audio import PhaseShuffle, wavegan_discriminator
from tfgan_app.serving import RestClient

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not audio.SOUNDFONT.is_file(),
    reason="fluidsynth and fluid-soundfont-gm are not installed (make data installs them)",
)


def test_the_spectrogram_inverts_to_the_waveform_within_a_thousandth():
    clips = np.stack([tone(frequency, 4096) for frequency in (110.0, 440.0, 1234.5)])
    spectrogram = waveform_to_spectrogram(tf.constant(clips))
    assert spectrogram.shape == (3, *spectrogram_shape(4096)) == (3, 32, 256, 2)
    assert float(tf.reduce_min(spectrogram)) >= -1.0 and float(tf.reduce_max(spectrogram)) <= 1.0
    rebuilt = spectrogram_to_waveform(spectrogram, 4096).numpy()
    relative = np.sqrt(np.mean((rebuilt - clips) ** 2)) / np.sqrt(np.mean(clips**2))
    assert relative < 1e-3, relative
    # The louder bins of the 440 Hz tone sit at 440 / 31.25 = bin 14.
    assert int(np.argmax(spectrogram[1, 8, :, 0])) == 14


def test_phase_shuffle_shifts_in_training_only_and_its_draws_resume_from_the_checkpoint(tmp_path):
    layer = PhaseShuffle(2, seed=3)
    x = tf.reshape(tf.range(2 * 10 * 1, dtype=tf.float32), [2, 10, 1])
    np.testing.assert_array_equal(layer(x, training=False), x)
    shifts = set()
    for _ in range(20):
        shifted = layer(x, training=True).numpy()[0, :, 0]
        middle = x.numpy()[0, 2:8, 0]
        shift = next(s for s in range(-2, 3) if np.array_equal(shifted[2 - s : 8 - s], middle))
        shifts.add(shift)
    assert shifts == {-2, -1, 0, 1, 2}
    # The state is a checkpointed variable: a restored layer draws what the original draws next.
    discriminator = wavegan_discriminator(1024, 3, width=2, phase_shuffle=2)
    from tfgan_app.gans.base import RandomLayerStates

    states = RandomLayerStates(discriminator)
    assert len(states.states) == 4  # one per layer but the last
    path = tf.train.Checkpoint(states=states).write(str(tmp_path / "ckpt"))
    data = tf.random.normal([2, 1024], seed=1)
    expected = discriminator(data, training=True)["logit"].numpy()
    tf.train.Checkpoint(states=states).read(path).assert_consumed()
    np.testing.assert_array_equal(discriminator(data, training=True)["logit"].numpy(), expected)


def test_a_folder_of_wav_files_trains_wavegan_and_a_broken_file_is_named(tmp_path, capsys):
    from tfgan_app import train as train_cli

    write_tone_folder(tmp_path / "clips")
    config = tiny_config(data={"name": "audio_folder", "folder": str(tmp_path / "clips"), "audio_samples": 1024},
                         model={"family": "wavegan", "latent_dim": 8}, train={"batch_size": 4}, wavegan={"width": 2})
    source = family_source(config)
    assert source.element_shape == (1024,) and source.class_names == ["high", "low"] and source.images.shape == (8, 1024)
    (tmp_path / "clips" / "low" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    with pytest.raises(DataError, match=r"low/broken.wav: not a readable WAV file"):
        family_source(config)
    code = train_cli.main(["--pipeline", "notes_wavegan", "--out", str(tmp_path / "run"), "--steps", "1",
                           "--set", "data.name=audio_folder", "--set", f"data.folder={tmp_path / 'clips'}"])
    assert code == 2
    error = capsys.readouterr().err
    assert "broken.wav: not a readable WAV file" in error and "Traceback" not in error
    assert not (tmp_path / "run" / "checkpoints").exists()
    # The notes pipelines play each class's pitch to G: classes named high and low have none.
    (tmp_path / "clips" / "low" / "broken.wav").unlink()
    code = train_cli.main(["--pipeline", "notes_wavegan", "--out", str(tmp_path / "run"), "--steps", "1",
                           "--set", "data.name=audio_folder", "--set", f"data.folder={tmp_path / 'clips'}",
                           "--set", "data.audio_samples=1024", "--set", "train.batch_size=4"])
    error = capsys.readouterr().err
    assert code == 2 and "class 'high' is not a pitch name" in error and "wavegan.excitation=false" in error
    assert "Traceback" not in error


def test_pitch_names_and_the_excitation_sounds_each_partial_at_its_frequency():
    from tfgan_app.data.spectral import HOP
    from tfgan_app.networks.audio import PitchExcitation, ToneExcitation

    assert [audio.midi_of(audio.pitch_name(midi)) for midi in range(128)] == list(range(128))
    assert audio.midi_of("C4") == 60 and audio.midi_of("A#3") == 58
    with pytest.raises(audio.AudioError, match="'piano' is not a pitch name"):
        audio.midi_of("piano")
    frequencies = [audio.pitch_frequency(60), audio.pitch_frequency(69)]
    table = PitchExcitation(frequencies, frames=4, rate=16000)(np.array([1, 0]))
    assert table.shape == (2, 4, 256, 2)
    np.testing.assert_array_equal(table[:, 0], table[:, 3])  # a steady tone: every frame alike
    magnitude, frequency = table[0, 0, :, 0].numpy(), table[0, 0, :, 1].numpy()  # A4, 440 Hz
    bin_width = 16000 / 512
    for harmonic in (1, 2, 3):
        nearest = round(harmonic * 440 / bin_width)
        assert magnitude[nearest] > magnitude[nearest + 4 : nearest + 8].max() + 0.2
        # IF: the phase a partial advances in one hop, wrapped, over pi.
        advance = (2 * np.pi * harmonic * 440 * HOP / 16000 + np.pi) % (2 * np.pi) - np.pi
        assert frequency[nearest] == pytest.approx(advance / np.pi, abs=0.01)
    tone = ToneExcitation(frequencies, samples=16000, rate=16000)(np.array([0]))[0, :, 0].numpy()
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.argmax(spectrum) == round(audio.pitch_frequency(60)) and np.abs(tone).max() == pytest.approx(0.5)


def test_the_audio_families_refuse_image_data():
    config = load_config("notes_wavegan", ["data.name=fashion_mnist"])
    with pytest.raises(DataError, match="the audio families train on notes or audio_folder"):
        family_source(config)


@pytest.fixture(scope="module")
def notes_cache(tmp_path_factory):
    """A handful of real notes: 9 programs (0 and 8 held out for test) x 3 pitches, rendered once."""
    root = tmp_path_factory.mktemp("data")
    audio.render_notes(root / "notes", programs=range(9), pitches=[48, 60, 72])
    return root


NOTES_SETTINGS = [
    "train.batch_size=4", "train.epochs=0", "train.steps=4", "train.checkpoint_every=2", "train.log_every=2", "sampling.every=2",
    "sampling.num_samples=4", "model.latent_dim=8", "train.steps_per_execution=1",
]


@needs_fluidsynth
@pytest.mark.parametrize("pipeline", ["notes_wavegan", "notes_gansynth"])
def test_the_notes_pipelines_train_resume_export_serve_and_write_wav_files(notes_cache, pipeline, tmp_path):
    from tfgan_app import generate as generate_cli
    from tfgan_app.export import export_run

    family = pipeline.split("_")[1]
    config = load_config(pipeline, [*NOTES_SETTINGS, f"data.cache_dir={notes_cache}", f"{family}.width=2",
                                    f"export.out={tmp_path / 'unused'}"])
    source = family_source(config)
    assert source.num_examples == 21 and source.num_classes == 61 and source.class_names[36] == "C4"
    assert sorted(set(source.labels.tolist())) == [24, 36, 48]  # MIDI 48, 60, 72
    run = assert_resumes_exactly(config, tmp_path / "runs", stop_step=2)
    assert (run / "samples" / "step_00000004.png").is_file()
    with wave.open(str(run / "samples" / "step_00000004.wav")) as preview:
        assert preview.getframerate() == 16000 and preview.getnframes() > 4 * 16384
    events = [tf.compat.v1.Event.FromString(record.numpy())
              for path in (run / "tensorboard").rglob("events.out.tfevents.*") for record in tf.data.TFRecordDataset(str(path))]
    audio_summaries = [value for event in events for value in event.summary.value
                       if value.tag == "samples" and value.metadata.plugin_data.plugin_name == "audio"]
    assert audio_summaries, "no TensorBoard audio summary of the samples"

    [export] = export_run(run, tmp_path / "models", formats=("savedmodel", "onnx"))
    manifest = export.manifest
    assert manifest["output"] == "audio" and manifest["output_shape"] == [16384] and manifest["sample_rate"] == 16000
    assert [(entry["name"], entry["kind"]) for entry in manifest["inputs"]] == [("z", "noise"), ("pitch", "label")]
    assert set(manifest["parity"]["max_abs_difference"]) == {"savedmodel_fresh_process", "onnx"}

    repository = serving_double.ModelRepository({pipeline: tmp_path / "models" / pipeline})
    server, base_url = serving_double.start_rest(repository)
    try:
        z = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
        outputs = RestClient(base_url).predict(pipeline, {"z": z, "pitch": np.array([36, 12], np.int32)},
                                              output_name="audio")
    finally:
        server.shutdown()
    sounds = outputs["audio"]
    assert sounds.shape == (2, 16384) and np.abs(sounds).max() <= 1.0

    out = tmp_path / "generated"
    assert generate_cli.main(["--model", str(tmp_path / "models" / pipeline), "--label", "C4", "--num", "3",
                              "--out", str(out)]) == 0
    files = sorted(out.glob("*.wav"))
    assert len(files) == 3 and (out / "spectrograms.png").is_file()
    for path in files:
        with wave.open(str(path)) as handle:  # the standard library's reader
            assert (handle.getframerate(), handle.getnframes(), handle.getnchannels(), handle.getsampwidth()) == \
                (16000, 16384, 1, 2)
    single = tmp_path / "one.wav"
    assert generate_cli.main(["--model", str(tmp_path / "models" / pipeline), "--runtime", "onnx", "--num", "1",
                              "--out", str(single)]) == 0
    assert audio.read_wav(single)[0].shape == (16384,)
    assert generate_cli.main(["--model", str(tmp_path / "models" / pipeline), "--num", "2",
                              "--out", str(tmp_path / "two.wav")]) == 2


def test_the_gansynth_export_is_its_generator_then_the_inverse_transform(tmp_path):
    from tfgan_app.gans import build_model

    config = tiny_config(data={"name": "audio_folder", "audio_samples": 1024},
                         model={"family": "gansynth", "latent_dim": 8}, gansynth={"width": 2})
    shape = spectrogram_shape(1024)
    model = build_model(config, shape, 3)
    export = model.exports()[""]
    assert [tensor.name for tensor in export.inputs] == ["z", "pitch"] and export.output_shape == (None, 1024)
    z, pitch = np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32), np.array([0, 2], np.int32)
    spectrogram = model.sampling_generator([z, pitch], training=False)
    np.testing.assert_allclose(export([z, pitch]).numpy(),
                               np.clip(spectrogram_to_waveform(spectrogram, 1024).numpy(), -1, 1), atol=1e-6)


def test_ndb_counts_the_bins_a_generator_over_or_under_fills():
    from tfgan_app.metrics.audio import different_bins, pitch_entropy

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 4)) * 10
    real = np.concatenate([centre + rng.normal(size=(100, 4)) for centre in centres])
    same = np.concatenate([centre + rng.normal(size=(100, 4)) for centre in centres])
    count, z = different_bins(real, same, bins=10)
    assert count <= 1 and z.shape == (10,)
    # Two of the ten clusters missing from the samples: at least their two bins differ.
    missing = np.concatenate([centre + rng.normal(size=(125, 4)) for centre in centres[2:]])
    assert different_bins(real, missing, bins=10)[0] >= 2
    assert pitch_entropy(np.eye(5)) == pytest.approx(0.0, abs=1e-9)
    assert pitch_entropy(np.full((3, 4), 0.25)) == pytest.approx(np.log(4))


def test_evaluate_measures_a_sound_generator_with_a_pitch_classifier(tmp_path, capsys):
    """A pitch classifier trained on the tone folder judges a few-step WaveGAN run: every
    audio figure is reported, and the real clips' floor hears their pitch."""
    from tfgan_app import evaluate as evaluate_cli
    from tfgan_app.data import load_source
    from tfgan_app.metrics.features import train_classifier
    from tfgan_app.training.trainer import train

    folder = write_tone_folder(tmp_path / "clips", per_class=12)
    config = tiny_config(data={"name": "audio_folder", "folder": str(folder), "audio_samples": 1024},
                         model={"family": "wavegan", "latent_dim": 8}, train={"batch_size": 4, "steps": 2},
                         wavegan={"width": 2})
    source = load_source(config.data)
    info = train_classifier((source.images, source.labels), (source.images, source.labels), source.class_names,
                            tmp_path / "classifier", "tones", epochs=30, batch_size=8)
    assert info["image_shape"] == [1024] and info["test_accuracy"] == 1.0
    train(config, tmp_path / "run", progress_stream=open(os.devnull, "w"))
    code = evaluate_cli.main(["--run", str(tmp_path / "run"), "--num", "24", "--real-split", "train", "--real-floor",
                              "--classifier", str(tmp_path / "classifier"), "--json", str(tmp_path / "m.json")])
    assert code == 0, capsys.readouterr().err
    result = json.loads((tmp_path / "m.json").read_text())
    measured = {row["metric"]: row["value"] for row in result["metrics"]}
    assert {"fid", "kid", "pitch_accuracy", "pitch_entropy", "ndb", "ndb/k"} <= set(measured)
    floor = {row["metric"]: row["value"] for row in result["real_floor"]}
    assert floor["pitch_accuracy"] == 1.0 and floor["pitch_entropy"] < 0.35
    assert [row["layer"] for row in result["metrics"] if row["metric"] == "ndb"] == ["features, K=2"]
    assert result["metrics"][0]["extractor"].startswith("self_trained_classifier[tones]#")


@pytest.mark.parametrize("family", ["gansynth", "wavegan"])
def test_a_discriminator_reading_the_excitation_judges_the_sound_against_the_pitch(family):
    from tfgan_app.gans import build_model
    from tfgan_app.gans.gan import Minibatch

    config = tiny_config(data={"name": "audio_folder", "audio_samples": 1024}, model={"family": family, "latent_dim": 8},
                         **{family: {"width": 2, "excitation": True, "discriminator_excitation": True}})
    shape = spectrogram_shape(1024) if family == "gansynth" else (1024,)
    model = build_model(config, shape, 3, class_names=("C4", "E4", "G4"))
    assert [tensor.name for tensor in model.discriminator.inputs] == ["data", "pitch"]
    sound = tf.random.stateless_uniform([1, *shape], [0, 1], -1, 1)
    verdicts = [float(model.discriminator([sound, tf.constant([pitch])])["logit"][0, 0]) for pitch in range(3)]
    assert len(set(verdicts)) == 3  # the same sound judged against three pitches
    minibatch = Minibatch(real=tf.repeat(sound, 4, axis=0), label=tf.constant([0, 1, 2, 0]), z=tf.random.normal([4, 8]),
                          epsilon=None, augment_real=None, augment_fake=None)
    before = [weight.numpy() for weight in model.discriminator.trainable_weights]
    model.discriminator_step(minibatch)
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.discriminator.trainable_weights))
