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
    words = {"the", "cat", "sat"}
    assert dictionary_share(["xx the cat sat yy"], words) == 1.0
    assert dictionary_share(["xx the qzx sat yy"], words) == pytest.approx(2 / 3)


def test_bleu_and_self_bleu():
    references = ["the cat sat on the mat today", "a dog ran in the park"]
    assert bleu(["the cat sat on the mat today"], references) == pytest.approx(1.0)
    assert bleu(["zebra quartz jumps vexingly over fjords"], references) == 0.0
    assert self_bleu(["one two three four five"] * 3) == pytest.approx(1.0)
    assert self_bleu(["one two three four five", "six seven eight nine ten"]) == 0.0
