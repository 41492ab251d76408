"""Text data (fortunes and users' UTF-8 files as windows of character ids) and the text
measures on known distributions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tfgan_app.data import text
from tfgan_app.data.text import TextError
from tfgan_app.metrics.text import bleu, dictionary_share, ngram_jsd, self_bleu

needs_fortunes = pytest.mark.skipif(not text.FORTUNES_DIR.is_dir(), reason="Debian's fortunes is not installed (make data)")


def test_ids_round_trip_and_unknown_characters_decode_as_the_replacement_character():
    ids = text.encode("Hello, world~ é")
    assert ids.dtype == np.int32 and ids.max() < text.VOCABULARY_SIZE and ids[-1] == 0
    assert text.decode(ids) == "Hello, world~ \ufffd"


def test_windows_join_normalise_and_cut_text():
    ids = text.windows(["a  b\n\tc", "", "defghij"], length=4)
    assert [text.decode(row) for row in ids] == ["a b ", "c de", "fghi"]


def test_a_folder_of_text_files_and_a_file_that_is_not_utf8(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "one.txt").write_text("The quick brown fox jumps over the lazy dog. " * 3)
    (tmp_path / "notes" / "ignored.md").write_text("not read")
    assert text.text_windows(tmp_path / "notes", 8).shape == (16, 8)
    (tmp_path / "notes" / "two.txt").write_bytes(b"caf\xe9 latin-1")
    with pytest.raises(TextError, match=r"two.txt: byte 3 \(b'\\xe9'\) is not UTF-8"):
        text.text_windows(tmp_path / "notes")
    with pytest.raises(TextError, match="no such file"):
        text.text_windows(tmp_path / "missing")


@needs_fortunes
def test_the_fortunes_split_by_collection_into_train_and_test():
    files = text.fortune_files()
    assert "ascii-art" not in {path.name for path in files} and len(files) > 20
    train, test = text.fortune_windows("train"), text.fortune_windows("test")
    assert train.shape[1] == test.shape[1] == 32 and len(train) > 3 * len(test) > 0
    assert (train == 0).mean() < 0.01  # nearly all of it is printable ASCII
    with pytest.raises(TextError, match="split 'validation'"):
        text.fortune_windows("validation")


def test_ngram_jsd_is_zero_for_the_same_text_and_log_2_for_disjoint_alphabets():
    assert ngram_jsd(["abcabc", "cab"], ["abcabc", "cab"], 2) == pytest.approx(0.0, abs=1e-12)
    assert ngram_jsd(["aaaa"], ["bbbb"], 1) == pytest.approx(math.log(2))
    assert 0 < ngram_jsd(["abab"], ["abba"], 2) < math.log(2)


def test_dictionary_share_counts_the_words_inside_each_window():
    words = {"the", "cat", "sat", "a"}
    assert dictionary_share(["xxx the cat sat yyy"], words) == 1.0
    assert dictionary_share(["xxx the qzx sat a yyy"], words) == pytest.approx(2 / 3)  # "a" is too short to count


def test_bleu_and_self_bleu():
    references = ["the cat sat on the mat today", "a dog ran in the park"]
    assert bleu(["the cat sat on the mat today"], references) == pytest.approx(1.0)
    assert bleu(["zebra quartz jumps vexingly over fjords"], references) == 0.0
    assert self_bleu(["one two three four five"] * 3) == pytest.approx(1.0)
    assert self_bleu(["one two three four five", "six seven eight nine ten"]) == 0.0


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_the_language_models_sampler_steps_its_cells_as_the_full_window_model_reads_the_sample(cell):
    """Each sampled character is the one the teacher-forced model, reading the sample's own
    earlier characters, picks with the same uniform: the stepped cells carry the state right."""
    import keras
    from tfgan_app.networks.text import autoregressive_sampler, char_language_model

    keras.utils.set_random_seed(3)
    length, vocabulary = 12, 7
    model = char_language_model(length, vocabulary, units=16, layers=2, cell=cell)
    for weight in model.weights:  # larger weights than the initialiser's: peaked, varied distributions
        weight.assign(np.random.default_rng(len(weight.path)).normal(0, 0.8, weight.shape))
    z = np.random.default_rng(0).standard_normal((64, length)).astype(np.float32)
    sampled = np.asarray(autoregressive_sampler(model)(z))
    assert sampled.shape == (64, length, vocabulary) and np.all(sampled.sum(-1) == 1)
    previous = np.concatenate([np.zeros_like(sampled[:, :1]), sampled[:, :-1]], axis=1)
    logits = np.asarray(model(previous), np.float64)
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    cumulative = np.cumsum(probabilities / probabilities.sum(-1, keepdims=True), axis=-1)
    expected = np.minimum((cumulative < 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))[..., None]).sum(-1), vocabulary - 1)
    assert np.mean(sampled.argmax(-1) == expected) > 0.995  # a uniform on a bin edge may round either way
    assert len(np.unique(sampled.argmax(-1))) == vocabulary  # and the samples use the whole vocabulary


@pytest.mark.parametrize("pipeline", ["fortunes_wgan_gp_text", "fortunes_char_lm"])
def test_the_text_pipelines_train_resume_export_serve_and_generate_writes_their_lines(pipeline, tmp_path, capsys):
    import json

    from tests import serving_double
    from tests.helpers import assert_resumes_exactly
    from tfgan_app import generate as generate_cli
    from tfgan_app.export import export_run
    from tfgan_app.gans.registry import family_source, load_config
    from tfgan_app.serving import RestClient

    (tmp_path / "corpus.txt").write_text("Whatever you do, do it well. " * 60)
    small = (["text.width=8", "text.blocks=1", "train.discriminator_steps=2", "model.latent_dim=8"]
             if pipeline == "fortunes_wgan_gp_text" else ["char_lm.units=8"])
    config = load_config(pipeline, [
        "data.name=text_file", f"data.file={tmp_path / 'corpus.txt'}", "data.text_length=16", "train.batch_size=4",
        "train.steps=4", "train.checkpoint_every=2", "train.log_every=2", "sampling.every=2",
        "train.steps_per_execution=1", *small,
    ])
    source = family_source(config)
    assert source.element_shape == (16, text.VOCABULARY_SIZE) and source.images.shape[1] == 16
    run = assert_resumes_exactly(config, tmp_path / "runs", stop_step=2)
    lines = (run / "samples" / "step_00000004.txt").read_text().splitlines()
    assert len(lines) == 16 and all(len(line) == 16 for line in lines)
    [export] = export_run(run, tmp_path / "models", formats=("savedmodel", "onnx"))
    assert export.manifest["output"] == "characters" and export.manifest["vocabulary"] == text.VOCABULARY
    assert export.manifest["output_shape"] == [16, text.VOCABULARY_SIZE]
    name = pipeline
    latent = export.manifest["inputs"][0]["shape"][0]
    server, url = serving_double.start_rest(serving_double.ModelRepository({name: tmp_path / "models" / name}))
    try:
        z = np.random.default_rng(0).standard_normal((2, latent)).astype(np.float32)
        characters = RestClient(url).predict(name, {"z": z}, output_name="characters")["characters"]
    finally:
        server.shutdown()
    assert characters.shape == (2, 16, text.VOCABULARY_SIZE)
    np.testing.assert_allclose(characters.sum(-1), 1.0, atol=1e-5)
    # The SavedModel's text signature decodes on the server: ids and one string per sample.
    import tensorflow as tf

    assert export.manifest["signatures"] == ["serving_default", "text"]
    decoded = tf.saved_model.load(str(export.path)).signatures["text"](z=tf.constant(z))
    assert decoded["ids"].shape == (2, 16) and decoded["ids"].dtype == tf.int32
    strings = [value.decode("utf-8") for value in decoded["text"].numpy()]
    assert strings == [text.decode(row) for row in decoded["ids"].numpy()]
    out = tmp_path / "samples.txt"
    for runtime in ("tf", "onnx"):
        assert generate_cli.main(["--model", str(tmp_path / "models" / name), "--runtime", runtime, "--num", "5",
                                  "--out", str(out), "--overwrite"]) == 0
        written = out.read_text(encoding="utf-8").splitlines()
        assert len(written) == 5 and all(len(line) == 16 for line in written)
    assert generate_cli.main(["--model", str(tmp_path / "models" / name), "--out", str(tmp_path / "x.png")]) == 2
    assert "text samples are written to a .txt file" in capsys.readouterr().err
    assert json.loads((run / "run.json").read_text())["family"] == config.model.family


@needs_fortunes
def test_evaluate_reports_the_text_measures_and_the_real_floor(tmp_path):
    import json

    from tfgan_app import evaluate as evaluate_cli
    from tfgan_app.gans.registry import load_config
    from tfgan_app.training.trainer import train

    config = load_config("fortunes_wgan_gp_text", ["text.width=8", "text.blocks=1", "train.batch_size=4",
                                                   "train.discriminator_steps=1", "train.steps=1", "model.latent_dim=8"])
    train(config, tmp_path / "run", progress_stream=open("/dev/null", "w"))
    assert evaluate_cli.main(["--run", str(tmp_path / "run"), "--num", "200", "--real-floor",
                              "--json", str(tmp_path / "m.json")]) == 0
    result = json.loads((tmp_path / "m.json").read_text())
    generated = {row["metric"]: row["value"] for row in result["metrics"]}
    floor = {row["metric"]: row["value"] for row in result["real_floor"]}
    assert set(generated) == {"jsd_1", "jsd_2", "jsd_3", "jsd_4", "dictionary_share", "bleu_4", "self_bleu_4"}
    assert floor["jsd_4"] < generated["jsd_4"] <= math.log(2) + 1e-9  # one step of training is far from the text
    assert floor["dictionary_share"] > 0.9 > generated["dictionary_share"]
    assert len(result["samples"]) == 10
